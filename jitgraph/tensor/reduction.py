"""Reductions of the Theano front end: sum, prod, mean, var, std, max, min, argmax,
argmin, all, any, norm, logsumexp, and the ops along an axis (cumsum, cumprod, sort,
argsort).

``axis`` is None (all axes), an int (negative counts from the end), or a tuple or list
of ints. Dtypes follow Theano: sum/prod of ints give int64 (uint64 for unsigned), of
bool int64; mean of ints gives float64; floats keep their dtype. Values are NumPy's
(float32 sums accumulate in float32 with NumPy's pairwise summation).

>>> import jitgraph.tensor as T
>>> T.mean(T.imatrix("m"), axis=0).dtype
'float64'
"""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.ir.graph import Var
from jitgraph.ops.reduce import (
    REDUCTIONS,
    Argmax,
    Argmin,
    Argsort,
    CumOp,
    Reduce,
    Sort,
    normalize_axis,
    normalize_single_axis,
)
from jitgraph.ops.shape import DimShuffle
from jitgraph.tensor.basic import as_tensor_variable, constant, elemwise
from jitgraph.tensor.math import cast


def _reduce(
    kind: str, x: Any, axis: Any, keepdims: bool, dtype: Any = None, acc_dtype: Any = None
) -> Var:
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.type.ndim)
    reduction = REDUCTIONS[kind]
    out_dtype = None if dtype is None else dtypes.canonical(dtype)
    if out_dtype == reduction.out_dtype(x.type.dtype) and acc_dtype is None:
        out_dtype = None  # the default: one op, so equal graphs stay equal
    accumulator = None if acc_dtype is None else dtypes.canonical(acc_dtype)
    return Reduce(reduction, axes, bool(keepdims), out_dtype, accumulator)(x)


def sum(  # noqa: A001 - Theano's name
    input: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, acc_dtype: Any = None
) -> Var:
    """Sum over ``axis`` (None: all). Ints and bool give int64, unsigned ints uint64;
    ``dtype`` accumulates and outputs in that dtype, ``acc_dtype`` accumulates in it.

    >>> import jitgraph, numpy as np, jitgraph.tensor as T
    >>> x = T.bmatrix("x")
    >>> jitgraph.function([x], sum(x, axis=-1))(np.full((2, 3), 100, "int8"))
    array([300, 300])
    """
    return _reduce("sum", input, axis, keepdims, dtype, acc_dtype)


def prod(
    input: Any,
    axis: Any = None,
    dtype: Any = None,
    keepdims: bool = False,
    acc_dtype: Any = None,
    no_zeros_in_input: bool = False,
) -> Var:
    """Product over ``axis``; dtypes as ``sum``. ``no_zeros_in_input`` (Theano's gradient
    hint) is accepted and changes nothing here.

    >>> import jitgraph.tensor as T
    >>> prod(T.ivector("v")).dtype
    'int64'
    """
    return _reduce("prod", input, axis, keepdims, dtype, acc_dtype)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Var:  # noqa: A001
    """Maximum over ``axis``; NaN propagates; an empty axis is a ValueError (as NumPy).

    >>> import jitgraph.tensor as T
    >>> max(T.dmatrix("m"), axis=0).ndim
    1
    """
    return _reduce("max", x, axis, keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Var:  # noqa: A001
    """Minimum over ``axis``; see ``max``.

    >>> import jitgraph.tensor as T
    >>> min(T.dmatrix("m"), axis=(0, 1), keepdims=True).broadcastable
    (True, True)
    """
    return _reduce("min", x, axis, keepdims)


def all(x: Any, axis: Any = None, keepdims: bool = False) -> Var:  # noqa: A001
    """True where every value over ``axis`` is non-zero (bool output).

    >>> import jitgraph.tensor as T
    >>> all(T.dvector("v")).dtype
    'bool'
    """
    return _reduce("all", x, axis, keepdims)


def any(x: Any, axis: Any = None, keepdims: bool = False) -> Var:  # noqa: A001
    """True where some value over ``axis`` is non-zero (bool output).

    >>> import jitgraph.tensor as T
    >>> any(T.dvector("v")).dtype
    'bool'
    """
    return _reduce("any", x, axis, keepdims)


# ----------------------------------------------------------------------------- moments
def _count(x: Var, axes: tuple[int, ...]) -> Var:
    """The number of values reduced over ``axes``, an int64 scalar (a constant when the
    static shape knows it)."""
    static = [x.type.shape[a] for a in axes]
    if builtins.all(n is not None for n in static):
        return constant(math.prod(static), dtype="int64")
    from jitgraph.tensor.math import mul  # type: ignore[attr-defined]

    shape = x.shape  # type: ignore[attr-defined]
    total: Var = constant(1, dtype="int64")
    for a in axes:
        total = mul(total, shape[a])
    return total


def _divide(total: Var, count: Var) -> Var:
    """``total / count`` with the count in float32 for float32/float16/complex64 totals
    (keeping them single precision, as Theano does), else float64."""
    from jitgraph.tensor.math import true_div  # type: ignore[attr-defined]

    single = total.type.dtype in ("float16", "float32", "complex64")
    return true_div(total, cast(count, "float32" if single else "float64"))


def mean(
    input: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, acc_dtype: Any = None
) -> Var:
    """Arithmetic mean over ``axis``; integer inputs are summed and divided in float64; an
    empty axis gives NaN (0/0, as NumPy). ``dtype`` sums and divides in that dtype.

    >>> import jitgraph, numpy as np, jitgraph.tensor as T
    >>> m = T.imatrix("m")
    >>> jitgraph.function([m], mean(m, axis=1))(np.array([[1, 2], [3, 5]], "int32"))
    array([1.5, 4. ])
    """
    x = as_tensor_variable(input)
    axes = normalize_axis(axis, x.type.ndim)
    sum_dtype = dtype
    if dtype is None and x.type.dtype == "float16":
        sum_dtype = "float32"  # float16 sums overflow too easily
    elif dtype is None and dtypes.kind(x.type.dtype) in "biu":
        sum_dtype = "float64"  # as NumPy: an integer sum could wrap before the division
    total = sum(x, axes, dtype=sum_dtype, keepdims=keepdims, acc_dtype=acc_dtype)
    out = _divide(total, _count(x, axes))
    if dtype is not None:
        return cast(out, dtype)
    return cast(out, "float16") if x.type.dtype == "float16" else out


def _check_ddof(ddof: Any) -> int:
    if isinstance(ddof, (bool, np.bool_)):
        raise ValueError(
            "var/std: ddof must be an int, got a bool (keepdims is now the 4th argument: "
            "(x, axis=None, ddof=0, keepdims=False, corrected=False))"
        )
    if not isinstance(ddof, (int, np.integer)):
        raise TypeError(f"var/std: ddof must be an int, got {ddof!r}")
    return int(ddof)


def _squared_magnitude(x: Var) -> Var:
    if dtypes.is_complex(x.type.dtype):
        x = elemwise("absolute", x)
    return elemwise("square", x)


def var(
    x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False, corrected: bool = False
) -> Var:
    """Variance over ``axis``: ``sum(|x - mean|**2) / (N - ddof)`` (N values reduced; as
    NumPy). ``corrected`` subtracts the two-pass correction term ``(sum(x - mean))**2 /
    (N (N - ddof))`` (Theano's 'corrected two pass' algorithm). Integers give float64.

    >>> import jitgraph, numpy as np, jitgraph.tensor as T
    >>> v = T.dvector("v")
    >>> jitgraph.function([v], var(v, ddof=1))(np.array([1.0, 2.0, 3.0]))
    array(1.)
    """
    from jitgraph.tensor.math import mul, sub, true_div  # type: ignore[attr-defined]

    x = as_tensor_variable(x)
    ddof = _check_ddof(ddof)
    axes = normalize_axis(axis, x.type.ndim)
    centered = sub(x, mean(x, axes, keepdims=True))
    squares = sum(_squared_magnitude(centered), axes, keepdims=keepdims)
    count = _count(x, axes)
    dof = _degrees_of_freedom(count, ddof)
    result = _divide(squares, dof)
    if corrected:
        drift = _squared_magnitude(sum(centered, axes, keepdims=keepdims))
        result = sub(result, true_div(drift, cast(mul(count, dof), result.type.dtype)))
    return result


def _degrees_of_freedom(count: Var, ddof: int) -> Var:
    """``max(count - ddof, 0)`` (NumPy clamps: too large a ddof gives inf/NaN, not a
    negative variance)."""
    if not ddof:
        return count
    from jitgraph.ir.graph import Const
    from jitgraph.tensor.math import gt, sub, switch  # type: ignore[attr-defined]

    if isinstance(count, Const):
        return constant(builtins.max(int(count.data) - ddof, 0), dtype="int64")
    dof = sub(count, constant(ddof, dtype="int64"))
    return switch(gt(dof, 0), dof, constant(0, dtype="int64"))


def std(
    x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False, corrected: bool = False
) -> Var:
    """Standard deviation: ``sqrt(var(x, axis, ddof, keepdims, corrected))``.

    >>> import jitgraph, numpy as np, jitgraph.tensor as T
    >>> v = T.dvector("v")
    >>> jitgraph.function([v], std(v))(np.array([1.0, 3.0]))
    array(1.)
    """
    return elemwise("sqrt", var(x, axis, ddof, keepdims, corrected))


# ----------------------------------------------------------------------------- argmax
def _arg_axes(x: Var, axis: Any) -> tuple[int, ...] | None:
    return None if axis is None else normalize_axis(axis, x.type.ndim)


def argmax(x: Any, axis: Any = None, keepdims: bool = False) -> Var:
    """Index (int64) of the maximum over ``axis``: None flattens; a tuple of axes is
    flattened in C order (Theano's rule). The first NaN wins, as in NumPy.

    >>> import jitgraph, numpy as np, jitgraph.tensor as T
    >>> m = T.dmatrix("m")
    >>> jitgraph.function([m], argmax(m, axis=-1))(np.array([[1.0, 3.0], [5.0, 4.0]]))
    array([1, 0])
    """
    x = as_tensor_variable(x)
    return Argmax(_arg_axes(x, axis), bool(keepdims))(x)


def argmin(x: Any, axis: Any = None, keepdims: bool = False) -> Var:
    """Index (int64) of the minimum over ``axis``; see ``argmax``.

    >>> import jitgraph.tensor as T
    >>> argmin(T.dmatrix("m"), axis=(0, 1)).type
    TensorType(int64, scalar)
    """
    x = as_tensor_variable(x)
    return Argmin(_arg_axes(x, axis), bool(keepdims))(x)


def max_and_argmax(a: Any, axis: Any = None, keepdims: bool = False) -> list[Var]:
    """``[max(a, axis), argmax(a, axis)]`` (Theano's ``max_and_argmax``).

    >>> import jitgraph.tensor as T
    >>> [v.dtype for v in max_and_argmax(T.fvector("v"))]
    ['float32', 'int64']
    """
    return [max(a, axis, keepdims), argmax(a, axis, keepdims)]


# ----------------------------------------------------------------------------- norms
def _as_inexact(x: Var) -> Var:
    """Integers and bool as float64 (NumPy's norm does the same)."""
    return cast(x, "float64") if dtypes.kind(x.type.dtype) in "biu" else x


def norm(x: Any, L: float = 2, axis: Any = None, keepdims: bool = False) -> Var:
    """The L-norm over ``axis`` (None: all values as one vector): L=2 Euclidean, L=1 sum
    of magnitudes, L=inf (-inf) the largest (smallest) magnitude, L=0 the number of
    non-zeros, other L ``sum(|x|**L)**(1/L)``. Integers give float64, complex a real.

    >>> import jitgraph, numpy as np, jitgraph.tensor as T
    >>> v = T.dvector("v")
    >>> jitgraph.function([v], norm(v, 1))(np.array([3.0, -4.0]))
    array(7.)
    """
    from jitgraph.tensor.math import eq, switch  # type: ignore[attr-defined]

    if isinstance(L, (bool, np.bool_)) or not isinstance(L, (int, float, np.number)):
        raise TypeError(f"norm: L must be a number, got {L!r}")
    x = _as_inexact(as_tensor_variable(x))
    magnitude = elemwise("absolute", x)
    real_dtype = magnitude.type.dtype
    if L == 2:
        squares = _squared_magnitude(x)
        return elemwise("sqrt", sum(squares, axis, keepdims=keepdims))
    if L == 1:
        return sum(magnitude, axis, keepdims=keepdims)
    if L == np.inf:
        return max(magnitude, axis, keepdims)
    if L == -np.inf:
        return min(magnitude, axis, keepdims)
    if L == 0:
        nonzero = switch(eq(x, 0), constant(0, dtype=real_dtype), constant(1, dtype=real_dtype))
        return sum(nonzero, axis, keepdims=keepdims)
    powers = elemwise("power", magnitude, constant(L, dtype=real_dtype))
    total = sum(powers, axis, keepdims=keepdims)
    return elemwise("power", total, constant(1.0 / L, dtype=real_dtype))


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Var:
    """``log(sum(exp(x), axis))`` without overflow: the maximum is shifted out first (and
    left out when it is infinite, so all -inf gives -inf and +inf gives +inf). Integer
    inputs are upgraded to float (int8 -> float32, int32 -> float64); an empty axis is a
    ValueError (from the maximum).

    >>> import jitgraph, numpy as np, jitgraph.tensor as T
    >>> v = T.dvector("v")
    >>> float(jitgraph.function([v], logsumexp(v))(np.array([1000.0, 1000.0])))
    1000.6931471805599
    """
    from jitgraph.tensor.math import add, gt, sub, switch  # type: ignore[attr-defined]

    x = as_tensor_variable(x)
    dtype = dtypes.upgrade_to_float(x.type.dtype)
    if dtypes.is_complex(dtype):
        raise TypeError(f"logsumexp: {x.describe()} is complex; expected a real tensor")
    x = cast(x, dtype)
    ndim = x.type.ndim
    axes = normalize_axis(axis, ndim)
    peak = max(x, axes, keepdims=True)
    finite = gt(constant(np.inf, dtype=dtype), elemwise("absolute", peak))
    shift = switch(finite, peak, constant(0, dtype=dtype))
    total = sum(elemwise("exp", sub(x, shift)), axes, keepdims=keepdims)
    if not keepdims:
        shift = DimShuffle(ndim, tuple(a for a in range(ndim) if a not in axes))(shift)
    return add(elemwise("log", total), shift)


# ----------------------------------------------------------------------------- along an axis
def cumsum(x: Any, axis: Any = None) -> Var:
    """Cumulative sum along ``axis`` (None: of the flattened input, a vector). Dtypes as
    ``sum`` (ints accumulate in int64).

    >>> import jitgraph, numpy as np, jitgraph.tensor as T
    >>> v = T.ivector("v")
    >>> jitgraph.function([v], cumsum(v))(np.array([1, 2, 3], "int32"))
    array([1, 3, 6])
    """
    x = as_tensor_variable(x)
    return CumOp(normalize_single_axis(axis, x.type.ndim), "sum")(x)


def cumprod(x: Any, axis: Any = None) -> Var:
    """Cumulative product along ``axis``; see ``cumsum``.

    >>> import jitgraph.tensor as T
    >>> cumprod(T.dmatrix("m")).ndim
    1
    """
    x = as_tensor_variable(x)
    return CumOp(normalize_single_axis(axis, x.type.ndim), "prod")(x)


def _sort_axis(what: str, x: Var, axis: Any, order: Any) -> int | None:
    if order is not None:
        raise NotImplementedError(f"{what}: order= (structured arrays) is not supported")
    return normalize_single_axis(axis, x.type.ndim)


def sort(a: Any, axis: Any = -1, kind: str = "quicksort", order: Any = None) -> Var:
    """``numpy.sort`` along ``axis`` (None: the flattened input); NaN sorts last.

    >>> import jitgraph, numpy as np, jitgraph.tensor as T
    >>> v = T.dvector("v")
    >>> jitgraph.function([v], sort(v))(np.array([3.0, np.nan, 1.0]))
    array([ 1.,  3., nan])
    """
    a = as_tensor_variable(a)
    return Sort(_sort_axis("sort", a, axis, order), kind)(a)


def argsort(a: Any, axis: Any = -1, kind: str = "quicksort", order: Any = None) -> Var:
    """``numpy.argsort`` along ``axis``: int64 indices (ties in NumPy's order for
    ``kind``; 'stable' keeps the input order).

    >>> import jitgraph, numpy as np, jitgraph.tensor as T
    >>> v = T.dvector("v")
    >>> jitgraph.function([v], argsort(v))(np.array([3.0, 1.0, 2.0]))
    array([1, 2, 0])
    """
    a = as_tensor_variable(a)
    return Argsort(_sort_axis("argsort", a, axis, order), kind)(a)


__all__ = [
    "all",
    "any",
    "argmax",
    "argmin",
    "argsort",
    "cumprod",
    "cumsum",
    "logsumexp",
    "max",
    "max_and_argmax",
    "mean",
    "min",
    "norm",
    "prod",
    "sort",
    "std",
    "sum",
    "var",
]
