"""Elementwise math of the Theano front end, generated from the scalar op table.

Each table entry is exported under its NumPy name and, where different, its Theano
name (``T.multiply`` and ``T.mul``, ``T.reciprocal`` and ``T.inv``); associative ops
take any number of arguments, as Theano's do (``T.add(a, b, c)``). The functions below
add Theano's argument conventions on top: ``cast``, ``switch``, ``round(x, mode)``,
``iround``, ``largest``/``smallest``, ``isclose``/``allclose``, ...

>>> import jitgraph.tensor as T
>>> T.mul is T.multiply, str(T.exp(T.dvector("v")).owner.op)
(True, 'Elemwise{exp}')
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import Any

from jitgraph import dtypes
from jitgraph.config import config
from jitgraph.ir.graph import Var
from jitgraph.ops.scalar import SCALAR_OPS, ScalarOp
from jitgraph.tensor.basic import as_tensor_variable, constant, elemwise


def _make_wrapper(op: ScalarOp) -> Callable[..., Var]:
    def apply(*args: Any) -> Var:
        if op.associative and len(args) >= 1:
            # Theano's add/mul/maximum/... are n-ary: fold left, pairwise.
            tensors = [as_tensor_variable(a) for a in args]
            return reduce(lambda left, right: elemwise(op.name, left, right), tensors)
        if len(args) != op.arity:
            raise TypeError(f"{op} takes {op.arity} argument(s), got {len(args)}")
        return elemwise(op.name, *args)

    names = op.name if not op.theano_name else f"{op.theano_name}`` / ``{op.name}"
    apply.__name__ = apply.__qualname__ = op.theano_name or op.name
    apply.__doc__ = (
        f"Elementwise ``{names}`` of {op.arity} tensor(s), broadcasting as NumPy does "
        f"(the scalar op table's entry {op.name!r}; NumPy's reference is ``{op.impl}``)."
    )
    return apply


def _exported_name(name: str | None) -> bool:
    return bool(name) and name.isidentifier()  # type: ignore[union-attr]


_GENERATED: dict[str, Callable[..., Var]] = {}
for _op in SCALAR_OPS.values():
    if _op.name.startswith("cast_"):
        continue
    _fn = _make_wrapper(_op)
    for _name in (_op.name, _op.theano_name):
        if _exported_name(_name):
            _GENERATED[_name] = _fn  # type: ignore[index]
globals().update(_GENERATED)
# Theano's second names for the same functions.
floor_div = _GENERATED["floor_divide"]
bitwise_not = _GENERATED["invert"]


# ----------------------------------------------------------------------------- conversion
def cast(x: Any, dtype: Any) -> Var:
    """``x`` converted to ``dtype`` (a no-op when it already has it; ``'floatX'`` means
    ``config.floatX``). Complex to real is refused: say which part you want.

    >>> import jitgraph.tensor as T
    >>> T.cast(T.ivector("i"), "float32").dtype
    'float32'
    """
    x = as_tensor_variable(x)
    target = config.floatX if dtype == "floatX" else dtypes.canonical(dtype)
    source = x.type.dtype
    if source == target:
        return x
    if dtypes.is_complex(source) and not dtypes.is_complex(target):
        raise TypeError(
            f"cast: casting complex to real is ambiguous: use real(), imag(), abs() or "
            f"angle() ({x.describe()} is {source}, the target is {target})"
        )
    return elemwise(f"cast_{target}", x)


def switch(cond: Any, ift: Any, iff: Any) -> Var:
    """Elementwise ``ift if cond else iff`` (NumPy's ``where``).

    >>> import jitgraph.tensor as T
    >>> x = T.dvector("x")
    >>> T.switch(T.gt(x, 0), x, 0).dtype
    'float64'
    """
    return elemwise("where", cond, ift, iff)


def abs_(x: Any) -> Var:
    """Elementwise absolute value; of complex64 it is float32 (Theano's ``abs_``).

    >>> import jitgraph.tensor as T
    >>> T.abs_(T.cvector("z")).dtype
    'float32'
    """
    return elemwise("absolute", x)


# ----------------------------------------------------------------------------- rounding
_ROUND_MODES = {
    "half_to_even": "rint",
    "half_away_from_zero": "round_half_away_from_zero",
}


def round(x: Any, mode: str | None = None) -> Var:  # noqa: A001 - Theano's name
    """Round floats to the nearest integer value, keeping the dtype.

    ``mode`` is ``'half_to_even'`` (the default, NumPy's ``round``: Theano 1.0 chose it
    too) or ``'half_away_from_zero'`` (C's ``round``). Integers are refused, as in Theano.

    >>> import jitgraph.tensor as T
    >>> import numpy as np
    >>> T.round(T.constant(np.array([0.5, 1.5, -2.5]))).eval()
    array([ 0.,  2., -2.])
    >>> T.round(T.constant(np.array([0.5, -2.5])), "half_away_from_zero").eval()
    array([ 1., -3.])
    """
    mode = "half_to_even" if mode is None else mode
    if mode not in _ROUND_MODES:
        raise ValueError(f"round: mode must be one of {sorted(_ROUND_MODES)}, got {mode!r}")
    return elemwise(_ROUND_MODES[mode], x)


def iround(x: Any, mode: str | None = None) -> Var:
    """``round(x, mode)`` as int64 (Theano's ``iround``).

    >>> import jitgraph.tensor as T
    >>> T.iround(T.dvector("x")).dtype
    'int64'
    """
    return cast(round(x, mode), "int64")


# ----------------------------------------------------------------------------- n-ary
def largest(*args: Any) -> Var:
    """The elementwise largest of any number of tensors (Python's ``max`` for arrays).

    >>> import jitgraph.tensor as T
    >>> T.largest(T.dvector("a"), T.dvector("b"), 0).ndim
    1
    """
    if not args:
        raise TypeError("largest() needs at least one argument")
    return reduce(lambda left, right: elemwise("maximum", left, right), args)


def smallest(*args: Any) -> Var:
    """The elementwise smallest of any number of tensors (Python's ``min`` for arrays).

    >>> import jitgraph.tensor as T
    >>> T.smallest(T.ivector("a"), T.ivector("b")).dtype
    'int32'
    """
    if not args:
        raise TypeError("smallest() needs at least one argument")
    return reduce(lambda left, right: elemwise("minimum", left, right), args)


# ----------------------------------------------------------------------------- integer division
def ceil_intdiv(a: Any, b: Any) -> Var:
    """``ceil(a / b)`` for integers, without going through floats (Theano's
    ``ceil_intdiv``).

    >>> import jitgraph.tensor as T
    >>> import numpy as np
    >>> T.ceil_intdiv(T.constant(np.array([7, -7])), 2).eval()
    array([ 4, -3])
    """
    quotient = elemwise("floor_divide", a, b)
    remainder_is_nonzero = elemwise("not_equal", elemwise("remainder", a, b), 0)
    return elemwise("add", quotient, cast(remainder_is_nonzero, quotient.type.dtype))


def divmod(x: Any, y: Any) -> tuple[Var, Var]:  # noqa: A001 - Theano's name
    """``(x // y, x % y)`` with Python's signs.

    >>> import jitgraph.tensor as T
    >>> [v.dtype for v in T.divmod(T.ivector("a"), T.ivector("b"))]
    ['int32', 'int32']
    """
    return elemwise("floor_divide", x, y), elemwise("remainder", x, y)


# ----------------------------------------------------------------------------- complex
def complex_from_polar(modulus: Any, angle: Any) -> Var:
    """The complex numbers ``modulus * exp(1j * angle)``.

    >>> import jitgraph.tensor as T
    >>> T.complex_from_polar(T.dvector("r"), T.dvector("theta")).dtype
    'complex128'
    """
    modulus, angle = as_tensor_variable(modulus), as_tensor_variable(angle)
    real_part = elemwise("multiply", modulus, elemwise("cos", angle))
    imag_part = elemwise("multiply", modulus, elemwise("sin", angle))
    return elemwise("complex", real_part, imag_part)


# ----------------------------------------------------------------------------- closeness
def isclose(
    a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Var:
    """Elementwise ``|a - b| <= atol + rtol * |b|``, with NumPy's treatment of infinities
    (equal only to themselves) and NaN (unequal unless ``equal_nan``).

    >>> import jitgraph.tensor as T
    >>> import numpy as np
    >>> T.isclose(T.constant(np.array([1.0, np.inf, np.nan])), 1.0 + 1e-9).eval()
    array([ True, False, False])
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    common = dtypes.upcast(a.type.dtype, b.type.dtype)
    # NumPy compares integers in float64 (its result_type(y, 1.0)).
    dtype = common if dtypes.kind(common) in "fc" else "float64"
    a, b = cast(a, dtype), cast(b, dtype)
    real_dtype = dtypes.complex_to_real(dtype)
    tolerance = elemwise(
        "add",
        constant(atol, dtype=real_dtype),
        elemwise("multiply", constant(rtol, dtype=real_dtype), abs_(b)),
    )
    within = elemwise("less_equal", abs_(elemwise("subtract", a, b)), tolerance)
    both_finite = elemwise("logical_and", elemwise("isfinite", a), elemwise("isfinite", b))
    close = switch(both_finite, within, elemwise("equal", a, b))
    if equal_nan:
        both_nan = elemwise("logical_and", elemwise("isnan", a), elemwise("isnan", b))
        close = elemwise("logical_or", close, both_nan)
    return close


def allclose(
    a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Var:
    """True (a 0-d bool) when ``isclose(a, b, ...)`` holds everywhere.

    >>> import jitgraph.tensor as T
    >>> T.allclose(T.dvector("a"), T.dvector("b")).ndim
    0
    """
    import jitgraph.tensor as T  # reductions import this module: import them lazily

    return T.all(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


__all__ = sorted(
    {
        *_GENERATED,
        "abs_",
        "allclose",
        "bitwise_not",
        "cast",
        "ceil_intdiv",
        "complex_from_polar",
        "divmod",
        "floor_div",
        "iround",
        "isclose",
        "largest",
        "round",
        "smallest",
        "switch",
    }
)
