"""Distributions as graphs over a counter-based stream (the math behind RandomStreams).

Every function here takes the stream's ``key`` (uint32 vector of 2 words) and ``counter``
(uint64 scalar: the first 128-bit block to use), the output ``shape`` (a list of ints and
integer scalar variables, from ``normalize_size``) and the distribution's parameters, and
returns ``(values, blocks)``: the draw and the number of blocks it consumed (uint64 scalar),
so that the caller can advance its state. Each draw is one ``draw_uniform`` call
(jitgraph.ops.random): the bits depend only on (key, counter, element index), identical in
every backend.

How each distribution is made from uniforms ``u`` in [0, 1):

- uniform: ``low + (high - low) * u``.
- normal: Box-Muller, ``sqrt(-2 log(1 - u1)) * cos(2 pi u2)`` from two uniforms per value
  (``1 - u1`` is never 0; the sine half of the pair is not used).
- binomial: ``n == 1``: ``u < p``; otherwise the count of ``u < p`` over an extra axis of
  ``n`` uniforms per value (O(n) work per value).
- integers in [low, high): ``low + min(floor(u * (high - low)), high - low - 1)`` with
  53-bit float64 ``u``: each value's probability is within a relative ``range / 2**53`` of
  ``1 / range`` (at most ``2**-21``: constant ranges above ``2**32`` are refused, where
  the bias would start to show; NumPy's ``integers`` is exact for any range).
- choice with replacement: uniform integers (``p=None``) or the inverse CDF, the count of
  ``cumsum(p) / sum(p) <= u``; without replacement: the first entries of the argsort of
  uniforms (``p=None``) or of exponential keys ``-log(1 - u) / p`` (the exponential race:
  the same distribution as drawing one at a time without replacement).
- permutation: the argsort of ``n`` uniforms per row.
- multinomial: ``n`` categorical draws (inverse CDF) counted per category (O(n k) work).

Parameters may be symbolic; constant ones are checked when the graph is built (a
symbolic ``p`` outside [0, 1] gives NaN-free but meaningless draws: there is no run-time
assertion op).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np

import jitgraph.tensor as _tensor_module
from jitgraph.ir.graph import Const, Var
from jitgraph.ops.random import draw_uniform
from jitgraph.tensor.basic import as_tensor_variable
from jitgraph.tensor.shape import reshape, shape_padright, stack

__all__ = [
    "binomial",
    "choice",
    "integers",
    "multinomial",
    "normal",
    "normalize_size",
    "permutation",
    "uniform",
]

# A symbolic tensor: a Var with TensorVariable's operators. Typed loosely, as the front
# end's elementwise functions (T.log1p, T.lt, ...) are generated at import time.
Sym: TypeAlias = Any
T: Any = _tensor_module
Draw: TypeAlias = tuple[Sym, Sym]
# A size entry: an int >= 0 or an integer scalar variable.
Entry: TypeAlias = Any
# Integer ranges above this would show the bias of integers' float64 formula.
MAX_EXACT_RANGE = 2**32


def _sym(value: Any) -> Sym:
    return as_tensor_variable(value)


def _uniforms(key: Sym, counter: Sym, shape: tuple[Entry, ...], dtype: str) -> Draw:
    return draw_uniform(key, counter, shape, dtype)


# ---------------------------------------------------------------------------- sizes
def normalize_size(size: Any, ndim: int | None, params: Sequence[Sym], where: str) -> list[Entry]:
    """The output shape ``size`` asks for, as a list of ints (>= 0) and integer scalar
    variables. ``size`` is a tuple/list of ints and integer scalars, an int, or an integer
    vector variable (``W[1].shape``; of static length, or ``ndim`` gives it). ``None`` or
    ``()`` means the broadcast shape of ``params``. ``ndim`` (optional) must agree; no
    parameter may have more dimensions than the result. Errors name ``where``."""
    if size is None or (isinstance(size, (tuple, list)) and len(size) == 0):
        entries = _broadcast_entries(params)
    elif isinstance(size, (tuple, list)):
        entries = [_size_entry(value, f"{where}: size[{i}]") for i, value in enumerate(size)]
    elif isinstance(size, (int, np.integer)):
        entries = [_size_entry(size, f"{where}: size")]
    else:
        entries = _vector_entries(size, ndim, where)
    if ndim is not None and ndim != len(entries):
        raise ValueError(f"{where}: ndim={ndim} but size {_show(size)} has {len(entries)} entries")
    for param in params:
        if param.type.ndim > len(entries):
            raise ValueError(
                f"{where}: a parameter has {param.type.ndim} dimensions, more than the "
                f"{len(entries)} of size {_show(size)}"
            )
    return entries


def _show(size: Any) -> str:
    return size.describe() if isinstance(size, Var) else repr(size)


def _size_entry(value: Any, label: str) -> Entry:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{label} must be an int or an integer scalar, got {value!r}")
    if isinstance(value, (int, np.integer)):
        if value < 0:
            raise ValueError(f"{label} is {int(value)}; sizes must be >= 0")
        return int(value)
    if isinstance(value, Var):
        if value.type.ndim != 0 or value.type.dtype[0] not in "iu":
            raise TypeError(
                f"{label} must be an int or an integer scalar, got {value.describe()} "
                f"({value.type})"
            )
        if isinstance(value, Const):
            return _size_entry(int(value.data), label)
        return value
    raise TypeError(f"{label} must be an int or an integer scalar, got {type(value).__name__}")


def _vector_entries(size: Any, ndim: int | None, where: str) -> list[Entry]:
    vector = _sym(size)
    if vector.type.ndim == 0:
        return [_size_entry(vector, f"{where}: size")]
    if vector.type.ndim != 1 or vector.type.dtype[0] not in "iu":
        raise TypeError(
            f"{where}: size must be a tuple or an integer vector, got {vector.describe()} "
            f"({vector.type})"
        )
    length = vector.type.shape[0] if vector.type.shape[0] is not None else ndim
    if length is None:
        raise ValueError(
            f"{where}: the length of size {vector.describe()} is unknown when the graph is "
            "built; pass ndim="
        )
    return [_size_entry(vector[i], f"{where}: size[{i}]") for i in range(length)]


def _broadcast_entries(params: Sequence[Sym]) -> list[Entry]:
    ndim = max((p.type.ndim for p in params), default=0)
    if ndim == 0:
        return []
    template = params[0]
    for param in params[1:]:
        template = template + T.cast(param, template.type.dtype)
    return [template.shape[i] for i in range(ndim)]


# ---------------------------------------------------------------------------- helpers
def _constant_value(value: Any) -> np.ndarray | None:
    """The value of a constant parameter (Python number, array, Const), else None."""
    if isinstance(value, Const):
        return np.asarray(value.data)
    if isinstance(value, Var):
        return None
    return np.asarray(value)


def _float_param(value: Any, name: str, where: str) -> Sym:
    variable = _sym(value)
    if variable.type.dtype[0] not in "biuf":
        raise TypeError(f"{where}: {name} must be real numbers, got {variable.type}")
    return variable


def _int_scalar(value: Any, name: str, where: str, minimum: int) -> Entry:
    """A count parameter (n): an int >= ``minimum`` or an integer scalar variable."""
    constant = _constant_value(value)
    if constant is not None:
        if constant.ndim != 0 or constant.dtype.kind not in "iu":
            raise TypeError(f"{where}: {name} must be an int, got {constant!r}")
        if int(constant) < minimum:
            raise ValueError(f"{where}: {name} must be >= {minimum}, got {int(constant)}")
        return int(constant)
    return _size_entry(value, f"{where}: {name}")


def _check_probabilities(value: Any, name: str, where: str) -> None:
    constant = _constant_value(value)
    if constant is None:
        return
    if constant.dtype.kind not in "biuf":
        raise TypeError(f"{where}: {name} must be probabilities, got dtype {constant.dtype}")
    if constant.size and not ((constant >= 0) & (constant <= 1)).all():
        raise ValueError(f"{where}: {name} must be in [0, 1], got {constant.tolist()!r}")


def _padright(value: Sym) -> Sym:
    return shape_padright(value)


def _normalized_cdf(p: Sym) -> Sym:
    """``cumsum(p) / sum(p)`` along the last axis: its last entry is exactly 1."""
    total = T.cumsum(p, axis=-1)
    last = total[(*([slice(None)] * (p.type.ndim - 1)), -1)]
    return total / _padright(last)


# ---------------------------------------------------------------------------- distributions
def uniform(key: Sym, counter: Sym, shape: list[Entry], low: Any, high: Any, dtype: str) -> Draw:
    """Uniform in [low, high) (module docstring)."""
    u, blocks = _uniforms(key, counter, tuple(shape), dtype)
    low_var = _float_param(low, "low", "uniform")
    high_var = _float_param(high, "high", "uniform")
    return T.cast(low_var + (high_var - low_var) * u, dtype), blocks


def normal(key: Sym, counter: Sym, shape: list[Entry], avg: Any, std: Any, dtype: str) -> Draw:
    """Normal(avg, std) by Box-Muller (module docstring)."""
    u, blocks = _uniforms(key, counter, (2, *shape), dtype)
    radius = T.sqrt(-2.0 * T.log1p(-u[0]))
    standard = radius * T.cos((2 * np.pi) * u[1])
    avg_var = _float_param(avg, "avg", "normal")
    std_var = _float_param(std, "std", "normal")
    return T.cast(avg_var + std_var * standard, dtype), blocks


def binomial(key: Sym, counter: Sym, shape: list[Entry], n: Any, p: Any, dtype: str) -> Draw:
    """Binomial(n, p) (module docstring); ``n`` is an int >= 0 or an integer scalar."""
    count = _int_scalar(n, "n", "binomial", 0)
    _check_probabilities(p, "p", "binomial")
    p_var = _float_param(p, "p", "binomial")
    if count == 1:
        u, blocks = _uniforms(key, counter, tuple(shape), "float64")
        return T.cast(T.lt(u, p_var), dtype), blocks
    u, blocks = _uniforms(key, counter, (*shape, count), "float64")
    successes = T.sum(T.lt(u, _padright(p_var)), axis=-1)
    return T.cast(successes, dtype), blocks


def integers(key: Sym, counter: Sym, shape: list[Entry], low: Any, high: Any, dtype: str) -> Draw:
    """Integers uniform in [low, high) (``high`` exclusive; module docstring for the bias)."""
    low_constant, high_constant = _constant_value(low), _constant_value(high)
    for name, constant in (("low", low_constant), ("high", high_constant)):
        if constant is not None and constant.dtype.kind not in "biu":
            raise TypeError(f"integers: {name} must be integers, got {constant.tolist()!r}")
    if low_constant is not None and high_constant is not None:
        if (high_constant <= low_constant).any():
            raise ValueError(
                f"integers: high ({high_constant.tolist()}) must be greater than low "
                f"({low_constant.tolist()})"
            )
        span = high_constant.astype(object) - low_constant.astype(object)
        if np.any(np.asarray(span > MAX_EXACT_RANGE)):
            raise ValueError(
                f"integers: the range high - low must be at most 2**32, got "
                f"{np.max(np.asarray(span, dtype=object))} (wider ranges are not supported)"
            )
    low_var = T.cast(_sym(low), "int64")
    span = T.cast(_sym(high), "int64") - low_var
    u, blocks = _uniforms(key, counter, tuple(shape), "float64")
    offset = T.minimum(T.floor(u * T.cast(span, "float64")), span - 1)
    return T.cast(low_var + T.cast(offset, "int64"), dtype), blocks


def categorical(u: Sym, p: Sym) -> Sym:
    """Inverse CDF: for each uniform in ``u``, the category (int64) of probabilities ``p``
    (last axis; broadcast against ``u``'s leading axes)."""
    cdf = _normalized_cdf(p)
    return T.sum(T.le(cdf, _padright(u)), axis=-1)


def choice(
    key: Sym,
    counter: Sym,
    shape: list[Entry],
    a: Any,
    replace: bool,
    p: Any,
    dtype: str,
) -> Draw:
    """Samples of ``a`` (an int n: range(n); or a vector), with or without replacement,
    uniformly or with probabilities ``p`` (module docstring). Cast to ``dtype``, as
    Theano's choice does."""
    population, n = _population(a)
    p_var = None if p is None else _probabilities(p, n)
    if replace:
        if p_var is None:
            index, blocks = integers(key, counter, shape, 0, n, "int64")
        else:
            u, blocks = _uniforms(key, counter, tuple(shape), "float64")
            index = categorical(u, p_var)
    else:
        index, blocks = _without_replacement(key, counter, shape, n, p_var, p)
    values = index if population is None else population[index]
    return T.cast(values, dtype), blocks


def _population(a: Any) -> tuple[Sym | None, Entry]:
    constant = _constant_value(a)
    if constant is not None and constant.ndim == 0:
        if constant.dtype.kind not in "iu" or int(constant) < 1:
            raise ValueError(f"choice: a must be an int >= 1 or a vector, got {constant!r}")
        return None, int(constant)
    population = _sym(a)
    if population.type.ndim == 0:
        return None, _int_scalar(population, "a", "choice", 1)
    if population.type.ndim != 1:
        raise ValueError(f"choice: a must be an int or a vector, got {population.type}")
    length = population.type.shape[0]
    return population, length if length is not None else population.shape[0]


def _probabilities(p: Any, n: Entry) -> Sym:
    _check_probabilities(p, "p", "choice")
    constant = _constant_value(p)
    if constant is not None:
        if constant.ndim != 1:
            raise ValueError(f"choice: p must be a vector, got shape {constant.shape}")
        if isinstance(n, int) and constant.shape[0] != n:
            raise ValueError(f"choice: p has {constant.shape[0]} entries, a has {n}")
        if abs(float(constant.sum()) - 1) > 1e-6:
            raise ValueError(f"choice: p must sum to 1, got sum {float(constant.sum())!r}")
    return _float_param(p, "p", "choice")


def _without_replacement(
    key: Sym, counter: Sym, shape: list[Entry], n: Entry, p_var: Sym | None, p: Any
) -> Draw:
    count = _product(shape)
    if isinstance(count, int) and isinstance(n, int) and count > n:
        raise ValueError(
            f"choice: cannot take {count} samples without replacement from a population "
            f"of {n} (replace=False)"
        )
    constant = _constant_value(p) if p is not None else None
    if constant is not None and isinstance(count, int) and int((constant > 0).sum()) < count:
        raise ValueError(
            f"choice: p has {int((constant > 0).sum())} non-zero entries, fewer than the "
            f"{count} samples asked for without replacement"
        )
    u, blocks = _uniforms(key, counter, (n,), "float64")
    if p_var is None:
        keys = u
    else:  # the exponential race: the smallest Exp(1) / p comes first
        exponential = -T.log1p(-u)
        keys = T.switch(T.gt(p_var, 0), exponential / p_var, np.inf)
    order = T.argsort(keys)
    if not shape:
        return order[0], blocks
    dims = stack([T.cast(_sym(e), "int64") for e in shape])
    return reshape(order[:count], dims), blocks


def _product(shape: list[Entry]) -> Entry:
    """The number of elements of ``shape``: an int when every entry is one."""
    if all(isinstance(entry, int) for entry in shape):
        return int(np.prod(shape, dtype=np.int64))
    count: Sym = _sym(np.int64(1))
    for entry in shape:
        count = count * T.cast(_sym(entry), "int64")
    return count


def permutation(key: Sym, counter: Sym, shape: list[Entry], n: Any, dtype: str) -> Draw:
    """Permutations of range(n): shape ``shape + (n,)`` (module docstring)."""
    count = _int_scalar(n, "n", "permutation", 0)
    u, blocks = _uniforms(key, counter, (*shape, count), "float64")
    return T.cast(T.argsort(u, axis=-1), dtype), blocks


def multinomial(key: Sym, counter: Sym, shape: list[Entry], n: Any, pvals: Any, dtype: str) -> Draw:
    """Counts of ``n`` draws over the categories of ``pvals`` (last axis): shape
    ``shape + (k,)`` (module docstring)."""
    count = _int_scalar(n, "n", "multinomial", 0)
    _check_probabilities(pvals, "pvals", "multinomial")
    constant = _constant_value(pvals)
    if constant is not None:
        if constant.ndim < 1:
            raise ValueError("multinomial: pvals must be a vector (or an array of vectors)")
        sums = constant.sum(axis=-1)
        if (np.abs(sums - 1) > 1e-5).any():
            raise ValueError(f"multinomial: pvals must sum to 1, got sum(s) {sums.tolist()!r}")
    p_var = _float_param(pvals, "pvals", "multinomial")
    if p_var.type.ndim < 1:
        raise ValueError(f"multinomial: pvals must be a vector, got {p_var.type}")
    u, blocks = _uniforms(key, counter, (*shape, count), "float64")
    # pvals (..., k) -> (..., 1, k): broadcast against the n draws of each row
    axes: list[Any] = [*range(p_var.type.ndim - 1), "x", p_var.type.ndim - 1]
    category = categorical(u, p_var.dimshuffle(*axes))
    categories = T.arange(p_var.shape[-1])
    counts = T.sum(T.eq(_padright(category), categories), axis=-2)
    return T.cast(counts, dtype), blocks
