"""Reductions and statistics of ``jitgraph.numpy`` (sorting, searching and set functions:
``_sorting``).

Each function takes NumPy's keywords and the Array API's (``correction=`` besides
``ddof=``, ``descending=``/``stable=`` besides ``kind=``) and gives NumPy 2's dtypes:
sums and products of bool and signed ints are int64, of unsigned ints uint64; means and
variances of ints are float64; float16 means are computed in float32. Reductions build
graph nodes (``jitgraph.tensor``) and compute nothing until a value is needed.

Functions whose output shape depends on the values (``unique*``) and the checks NumPy makes
on values (``nanargmax`` of an all-NaN slice) compute the input first; under ``@jit`` they
raise ``TracerError``.

>>> import jitgraph.numpy as jnp
>>> x = jnp.asarray([[1, 2], [3, 4]], dtype=jnp.int8)
>>> jnp.sum(x, axis=0).dtype, float(jnp.mean(x))
(dtype('int64'), 2.5)
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import jitgraph.tensor
from jitgraph.ir.graph import Var
from jitgraph.numpy import _core

ndarray = _core.ndarray
# The Theano front end; many of its functions are generated from the op tables, which
# mypy cannot see.
T: Any = jitgraph.tensor


# ----------------------------------------------------------------------------- helpers
def _axes(axis: Any, ndim: int, zero_d_axis: bool = True) -> tuple[int, ...]:
    """``axis`` (None, int or tuple; negatives allowed) as a sorted tuple of axes. A 0-d
    array accepts axis 0/-1 and reduces nothing, as NumPy's ufunc reductions do; with
    ``zero_d_axis=False`` it is an AxisError there, as NumPy's mean, var and median."""
    if ndim:
        axes = _core.normalize_axis(axis, ndim)
        return tuple(range(ndim)) if axes is None else axes
    items = () if axis is None else axis if isinstance(axis, (tuple, list)) else (axis,)
    for a in items:
        if not zero_d_axis or a not in (0, -1):
            raise np.exceptions.AxisError(int(a), 0)
    return ()


def _single_axis(name: str, axis: Any, ndim: int) -> int | None:
    """One axis (or None) for the functions along an axis (cumsum, sort, ...)."""
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: axis must be None or an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(int(axis), ndim)
    return int(axis) % ndim


def _static_sizes(x: Var, axes: tuple[int, ...]) -> list[int | None]:
    return [x.type.shape[a] for a in axes]


def _count(x: Var, axes: tuple[int, ...]) -> Var:
    """The number of values reduced over ``axes`` (int64 scalar; a constant when known)."""
    known = _static_count(x, axes)
    if known is not None:
        return T.constant(known, dtype="int64")
    total: Var = T.constant(1, dtype="int64")
    for a in axes:
        total = T.mul(total, T.shape(x)[a])
    return total


def _static_count(x: Var, axes: tuple[int, ...]) -> int | None:
    """The number of values over ``axes`` when the static shape knows it."""
    total = 1
    for n in _static_sizes(x, axes):
        if n is None:
            return None
        total *= n
    return total


def _shape_list(x: Var) -> list[Any]:
    """``x``'s shape: ints where static, symbolic int64 scalars elsewhere."""
    return [d if d is not None else T.shape(x)[i] for i, d in enumerate(x.type.shape)]


def _is_empty(x: Var, axes: tuple[int, ...]) -> bool:
    return 0 in _static_sizes(x, axes)


def _check_not_empty(x: Var, axes: tuple[int, ...], ufunc_name: str) -> None:
    if _is_empty(x, axes):
        raise ValueError(
            f"zero-size array to reduction operation {ufunc_name} which has no identity"
        )


def _kind(x: Var) -> str:
    return str(x.type.numpy_dtype.kind)


def _const(value: Any, dtype: Any) -> Var:
    with np.errstate(invalid="ignore", over="ignore"):
        return T.constant(np.asarray(value, dtype=np.dtype(dtype)))


def _cast(x: Var, dtype: Any) -> Var:
    name = np.dtype(dtype).name
    return x if x.type.dtype == name else T.cast(x, name)


def _divide(total: Var, count: Var) -> Var:
    """``total / count`` in ``total``'s dtype (a float or complex)."""
    dtype = total.type.numpy_dtype
    real = np.finfo(dtype).dtype if dtype.kind == "c" else dtype
    return _cast(T.true_div(total, _cast(count, real)), dtype)


def _with_numpy(name: str, function: Any, *arrays: Any) -> ndarray:
    """``function`` on the NumPy values of ``arrays`` (what jitgraph has no op for)."""
    values = [_core.concrete(a, name) if isinstance(a, ndarray) else a for a in arrays]
    # On the host; the result goes back to the GPU when an input is there.
    return _core.wrap_value(np.asarray(function(*values)), _core.device_of(*arrays))


def _nan_mask(x: Var) -> Var | None:
    """True where ``x`` is NaN (None for dtypes without NaN)."""
    return T.isnan(x) if _kind(x) in "fc" else None


def _replace_nan(x: Var, value: Any) -> Var:
    mask = _nan_mask(x)
    return x if mask is None else T.switch(mask, _const(value, x.type.dtype), x)


# ----------------------------------------------------------------------------- sum, prod
def _sum_or_prod(kind: str, a: Any, axis: Any, dtype: Any, keepdims: bool, initial: Any) -> ndarray:
    x = _core.as_var(a)
    axes = _axes(axis, x.type.ndim)
    out_dtype = None if dtype is None else np.dtype(dtype).name
    reduce = T.sum if kind == "sum" else T.prod
    result = reduce(x, axes, dtype=out_dtype, keepdims=bool(keepdims))
    if initial is not None:
        combine = "add" if kind == "sum" else "multiply"
        return _core.elementwise(combine, _core.wrap(result), _as_dtype(initial, result))
    return _core.wrap(result)


def _as_dtype(initial: Any, like: Var) -> np.ndarray:
    """A reduction's ``initial`` in the reduction's dtype (NumPy casts it so)."""
    with np.errstate(all="ignore"):
        return np.asarray(np.asarray(initial).astype(like.type.numpy_dtype))


def sum(  # noqa: A001 - NumPy's name
    a: Any, axis: Any = None, dtype: Any = None, *, keepdims: bool = False, initial: Any = None
) -> ndarray:
    """Sum over ``axis`` (None: all). Bool and signed ints give int64, unsigned uint64;
    ``dtype`` sums in that dtype; an empty sum is 0.

    >>> import jitgraph.numpy as jnp
    >>> jnp.sum(jnp.asarray([True, True])).dtype
    dtype('int64')
    """
    return _sum_or_prod("sum", a, axis, dtype, keepdims, initial)


def prod(
    a: Any, axis: Any = None, dtype: Any = None, *, keepdims: bool = False, initial: Any = None
) -> ndarray:
    """Product over ``axis``; dtypes as ``sum``; an empty product is 1.

    >>> import jitgraph.numpy as jnp
    >>> int(jnp.prod(jnp.asarray([2, 3, 4])))
    24
    """
    return _sum_or_prod("prod", a, axis, dtype, keepdims, initial)


# ----------------------------------------------------------------------------- max, min
_EXTREMA = {"max": ("maximum", T.max), "min": ("minimum", T.min)}


def _extremum(kind: str, a: Any, axis: Any, keepdims: bool, initial: Any) -> ndarray:
    ufunc_name, reduce = _EXTREMA[kind]
    x = _core.as_var(a)
    axes = _axes(axis, x.type.ndim)
    if _kind(x) == "c":
        function = getattr(np, kind)
        return _with_numpy(
            f"{kind} of a complex array",
            lambda v: function(v, axis=axis, keepdims=keepdims, **_initial_kw(initial)),
            a,
        )
    if initial is not None and _is_empty(x, axes):
        shape = [1 if i in axes else n for i, n in enumerate(x.type.shape)]
        if not keepdims:
            shape = [n for i, n in enumerate(shape) if i not in axes]
        full = T.alloc(_core.as_var(_as_dtype(initial, x)), *shape)
        return _core.wrap(full)
    if initial is None:
        _check_not_empty(x, axes, ufunc_name)
    result = reduce(x, axes, keepdims=bool(keepdims))
    if initial is not None:
        return _core.elementwise(ufunc_name, _core.wrap(result), _as_dtype(initial, result))
    return _core.wrap(result)


def _initial_kw(initial: Any) -> dict[str, Any]:
    return {} if initial is None else {"initial": initial}


def max(  # noqa: A001 - NumPy's name
    a: Any, axis: Any = None, *, keepdims: bool = False, initial: Any = None
) -> ndarray:
    """Maximum over ``axis``; NaN propagates; an empty axis is a ValueError unless
    ``initial`` is given.

    >>> import jitgraph.numpy as jnp
    >>> float(jnp.max(jnp.asarray([1.0, 3.0, 2.0])))
    3.0
    """
    return _extremum("max", a, axis, keepdims, initial)


def min(  # noqa: A001 - NumPy's name
    a: Any, axis: Any = None, *, keepdims: bool = False, initial: Any = None
) -> ndarray:
    """Minimum over ``axis``; see ``max``.

    >>> import jitgraph.numpy as jnp
    >>> float(jnp.min(jnp.asarray([1.0, 3.0, 2.0])))
    1.0
    """
    return _extremum("min", a, axis, keepdims, initial)


amax = max
amin = min


def ptp(a: Any, axis: Any = None, *, keepdims: bool = False) -> ndarray:
    """``max - min`` over ``axis`` in the input's dtype (integers wrap, as NumPy).

    >>> import jitgraph.numpy as jnp
    >>> int(jnp.ptp(jnp.asarray([4, 9, 2])))
    7
    """
    high = max(a, axis, keepdims=keepdims)
    low = min(a, axis, keepdims=keepdims)
    return _core.elementwise("subtract", high, low)


# ----------------------------------------------------------------------------- all, any
def all(a: Any, axis: Any = None, *, keepdims: bool = False) -> ndarray:  # noqa: A001
    """True where every value over ``axis`` is non-zero (True for an empty axis).

    >>> import jitgraph.numpy as jnp
    >>> bool(jnp.all(jnp.asarray([1, 2, 0])))
    False
    """
    x = _core.as_var(a)
    return _core.wrap(T.all(x, _axes(axis, x.type.ndim), keepdims=bool(keepdims)))


def any(a: Any, axis: Any = None, *, keepdims: bool = False) -> ndarray:  # noqa: A001
    """True where some value over ``axis`` is non-zero (False for an empty axis).

    >>> import jitgraph.numpy as jnp
    >>> bool(jnp.any(jnp.asarray([0.0, 0.5])))
    True
    """
    x = _core.as_var(a)
    return _core.wrap(T.any(x, _axes(axis, x.type.ndim), keepdims=bool(keepdims)))


def count_nonzero(a: Any, axis: Any = None, *, keepdims: bool = False) -> ndarray:
    """The number of non-zero values over ``axis`` (int64).

    >>> import jitgraph.numpy as jnp
    >>> int(jnp.count_nonzero(jnp.asarray([0, 1, 2, 0])))
    2
    """
    x = _core.as_var(a)
    nonzero = x if _kind(x) == "b" else T.neq(x, _const(0, x.type.dtype))
    axes = _axes(axis, x.type.ndim)
    return _core.wrap(T.sum(nonzero, axes, dtype="int64", keepdims=bool(keepdims)))


# ----------------------------------------------------------------------------- moments
def _mean_dtype(x: Var, dtype: Any) -> tuple[str, str]:
    """(the dtype NumPy sums in, the result's dtype) for a mean of ``x``."""
    if dtype is not None:
        name = np.dtype(dtype).name
        return name, name
    if _kind(x) in "biu":
        return "float64", "float64"
    if x.type.dtype == "float16":
        return "float32", "float16"
    return x.type.dtype, x.type.dtype


def _mean_var(x: Var, axes: tuple[int, ...], dtype: Any, keepdims: bool) -> Var:
    sum_dtype, out_dtype = _mean_dtype(x, dtype)
    total = T.sum(x, axes, dtype=sum_dtype, keepdims=keepdims)
    if np.dtype(sum_dtype).kind in "fc":
        return _cast(_divide(total, _count(x, axes)), out_dtype)
    quotient = T.true_div(total, _cast(_count(x, axes), "float64"))
    return _cast(quotient, out_dtype)


def _warn_if_empty(x: Var, axes: tuple[int, ...]) -> None:
    if _is_empty(x, axes):
        warnings.warn("Mean of empty slice", RuntimeWarning, stacklevel=3)


def mean(a: Any, axis: Any = None, dtype: Any = None, *, keepdims: bool = False) -> ndarray:
    """Arithmetic mean over ``axis``. Ints and bool give float64; float16 is summed in
    float32; an empty axis gives NaN with a RuntimeWarning.

    >>> import jitgraph.numpy as jnp
    >>> float(jnp.mean(jnp.asarray([1, 2, 4])))
    2.3333333333333335
    """
    x = _core.as_var(a)
    axes = _axes(axis, x.type.ndim, zero_d_axis=False)
    _warn_if_empty(x, axes)
    return _core.wrap(_mean_var(x, axes, dtype, bool(keepdims)))


def _dof(name: str, ddof: Any, correction: Any) -> Any:
    if correction is not None:
        if ddof not in (0, None):
            raise ValueError(f"{name}: ddof and correction can't be provided simultaneously.")
        ddof = correction
    ddof = 0 if ddof is None else ddof
    if isinstance(ddof, (bool, np.bool_)) or not isinstance(ddof, (int, float, np.number)):
        raise TypeError(f"{name}: ddof/correction must be a real number, got {ddof!r}")
    return ddof


def _abs_square(x: Var) -> Var:
    if _kind(x) == "c":
        return T.add(T.sqr(T.real(x)), T.sqr(T.imag(x)))
    return T.sqr(x)


def _squared_deviations(x: Var, axes: tuple[int, ...], work: str | None, mask: Var | None) -> Var:
    """``|x - mean|**2`` (``mask``: True where a value is left out, as NaN for nanvar)."""
    values = x if mask is None else _replace_nan(x, 0)
    center = T.sum(values, axes, dtype=work, keepdims=True)
    count = _count(x, axes) if mask is None else _kept_count(mask, axes, True)
    center = _cast(_divide(center, count) if _kind(center) in "fc" else center, center.type.dtype)
    promoted = np.result_type(x.type.numpy_dtype, center.type.numpy_dtype).name
    deviation = T.sub(_cast(values, promoted), _cast(center, promoted))
    squares = _abs_square(deviation)
    if mask is not None:
        squares = T.switch(mask, _const(0, squares.type.dtype), squares)
    return squares


def _kept_count(mask: Var, axes: tuple[int, ...], keepdims: bool) -> Var:
    return T.sum(T.invert(mask), axes, dtype="int64", keepdims=keepdims)


def _variance(
    x: Var, axes: tuple[int, ...], dtype: Any, ddof: Any, keepdims: bool, nan: bool
) -> Var:
    """NumPy's ``_var``: the mean in the working dtype, squared deviations, their sum
    divided by ``max(N - ddof, 0)``."""
    work = np.dtype(dtype).name if dtype is not None else None
    if work is None and _kind(x) in "biu":
        work = "float64"
    mask = _nan_mask(x) if nan else None
    squares = _squared_deviations(x, axes, work, mask)
    total = T.sum(squares, axes, dtype=work if _kind(squares) != "f" else None, keepdims=keepdims)
    count = _count(x, axes) if mask is None else _kept_count(mask, axes, keepdims)
    dof_dtype = "float64" if isinstance(ddof, (float, np.floating)) else "int64"
    dof = T.maximum(T.sub(_cast(count, dof_dtype), _const(ddof, dof_dtype)), _const(0, dof_dtype))
    if _kind(total) not in "fc":
        return _cast(T.true_div(total, _cast(dof, "float64")), total.type.dtype)
    return _divide(total, dof)


def _var_or_std(
    name: str, a: Any, axis: Any, dtype: Any, ddof: Any, keepdims: bool, correction: Any
) -> ndarray:
    x = _core.as_var(a)
    axes = _axes(axis, x.type.ndim, zero_d_axis=False)
    ddof = _dof(name, ddof, correction)
    count = _static_count(x, axes)
    if count is not None and ddof >= count:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=3)
    result = _variance(x, axes, dtype, ddof, bool(keepdims), nan=False)
    return _core.wrap(T.sqrt(result) if name == "std" else result)


def var(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    *,
    ddof: Any = 0,
    keepdims: bool = False,
    correction: Any = None,
) -> ndarray:
    """Variance ``sum(|x - mean|**2) / max(N - ddof, 0)`` over ``axis`` (``correction`` is
    the Array API's name for ``ddof``). Ints give float64, complex its real dtype.

    >>> import jitgraph.numpy as jnp
    >>> float(jnp.var(jnp.asarray([1.0, 2.0, 3.0]), correction=1))
    1.0
    """
    return _var_or_std("var", a, axis, dtype, ddof, keepdims, correction)


def std(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    *,
    ddof: Any = 0,
    keepdims: bool = False,
    correction: Any = None,
) -> ndarray:
    """Standard deviation: ``sqrt(var(...))``; see ``var``.

    >>> import jitgraph.numpy as jnp
    >>> float(jnp.std(jnp.asarray([1.0, 3.0])))
    1.0
    """
    return _var_or_std("std", a, axis, dtype, ddof, keepdims, correction)


def average(
    a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *, keepdims: bool = False
) -> Any:
    """Weighted mean ``sum(a * w) / sum(w)`` over ``axis`` (NumPy's ``average``; 1-d
    ``weights`` with an int ``axis`` weigh along that axis). ``returned`` also gives the
    sum of the weights. A zero weight sum is not checked (NumPy raises ZeroDivisionError).

    >>> import jitgraph.numpy as jnp
    >>> float(jnp.average(jnp.asarray([1.0, 3.0]), weights=jnp.asarray([3.0, 1.0])))
    1.5
    """
    if weights is None:
        avg = mean(a, axis, keepdims=keepdims)
        if not returned:
            return avg
        x = _core.as_var(a)
        count = _count(x, _axes(axis, x.type.ndim))
        return avg, _core.wrap(T.alloc(_cast(count, avg.dtype), *T.shape(avg._variable)))
    x, w = _core.as_var(a), _core.as_var(weights)
    axes = _axes(axis, x.type.ndim)
    promoted = [x.type.numpy_dtype, w.type.numpy_dtype]
    if _kind(x) in "biu":
        promoted.append(np.dtype("float64"))
    result_dtype = np.result_type(*promoted).name
    if w.type.ndim != x.type.ndim:
        w = _weights_along(w, x, axis)
    x, w = _cast(x, result_dtype), _cast(w, result_dtype)
    w = T.second(x, w)  # broadcast to a's shape
    scale = T.sum(w, axes, keepdims=bool(keepdims))
    avg = T.true_div(T.sum(T.mul(x, w), axes, keepdims=bool(keepdims)), scale)
    if returned:
        return _core.wrap(avg), _core.wrap(T.second(avg, scale))
    return _core.wrap(avg)


def _weights_along(w: Var, x: Var, axis: Any) -> Var:
    if axis is None:
        raise TypeError("average: axis must be specified when shapes of a and weights differ.")
    if not isinstance(axis, (int, np.integer)) or w.type.ndim != 1:
        raise TypeError("average: 1D weights expected when shapes of a and weights differ.")
    axis = int(axis) % x.type.ndim
    if None not in (w.type.shape[0], x.type.shape[axis]) and w.type.shape[0] != x.type.shape[axis]:
        raise ValueError("average: length of weights not compatible with specified axis.")
    pattern: list[Any] = ["x"] * x.type.ndim
    pattern[axis] = 0
    return T.dimshuffle(w, *pattern)


# ----------------------------------------------------------------------------- argmax
def _arg_extremum(kind: str, a: Any, axis: Any, keepdims: bool) -> ndarray:
    x = _core.as_var(a)
    ndim = x.type.ndim
    if ndim == 0:
        _single_axis(kind, axis, 1)  # NumPy accepts 0 and -1 here
        single = None
    else:
        single = _single_axis(kind, axis, ndim)
    axes = tuple(range(ndim)) if single is None else (single,)
    if _is_empty(x, axes):
        raise ValueError(f"attempt to get {kind} of an empty sequence")
    if _kind(x) == "c":
        function = getattr(np, kind)
        return _with_numpy(
            f"{kind} of a complex array",
            lambda v: function(v, axis=axis, keepdims=keepdims),
            a,
        )
    reduce = T.argmax if kind == "argmax" else T.argmin
    return _core.wrap(reduce(x, None if single is None else (single,), keepdims=bool(keepdims)))


def argmax(a: Any, axis: Any = None, *, keepdims: bool = False) -> ndarray:
    """Index (int64) of the first maximum along ``axis`` (None: of the flattened array);
    the first NaN wins, as NumPy.

    >>> import jitgraph.numpy as jnp
    >>> int(jnp.argmax(jnp.asarray([1.0, 5.0, 5.0])))
    1
    """
    return _arg_extremum("argmax", a, axis, keepdims)


def argmin(a: Any, axis: Any = None, *, keepdims: bool = False) -> ndarray:
    """Index (int64) of the first minimum along ``axis``; see ``argmax``.

    >>> import jitgraph.numpy as jnp
    >>> int(jnp.argmin(jnp.asarray([3, 1, 1])))
    1
    """
    return _arg_extremum("argmin", a, axis, keepdims)


# ----------------------------------------------------------------------------- cumulative
def _cumulative(kind: str, a: Any, axis: Any, dtype: Any) -> Var:
    x = _core.as_var(a)
    if x.type.ndim == 0 and axis is not None:
        _single_axis(f"cum{kind}", axis, 1)  # NumPy accepts 0 and -1 here
        x, axis = T.flatten(x), 0
    along = _single_axis(f"cum{kind}", axis, x.type.ndim)
    if dtype is not None:
        x = _cast(x, dtype)
    op = T.cumsum if kind == "sum" else T.cumprod
    result = op(x, along)
    return result if dtype is None else _cast(result, dtype)


def cumsum(a: Any, axis: Any = None, dtype: Any = None) -> ndarray:
    """Cumulative sum along ``axis`` (None: of the flattened array). Dtypes as ``sum``.

    >>> import jitgraph.numpy as jnp
    >>> jnp.cumsum(jnp.asarray([1, 2, 3])).tolist()
    [1, 3, 6]
    """
    return _core.wrap(_cumulative("sum", a, axis, dtype))


def cumprod(a: Any, axis: Any = None, dtype: Any = None) -> ndarray:
    """Cumulative product along ``axis``; see ``cumsum``.

    >>> import jitgraph.numpy as jnp
    >>> jnp.cumprod(jnp.asarray([1, 2, 3])).tolist()
    [1, 2, 6]
    """
    return _core.wrap(_cumulative("prod", a, axis, dtype))


def _cumulative_api(kind: str, x: Any, axis: Any, dtype: Any, include_initial: bool) -> ndarray:
    var = _core.as_var(x)
    ndim = var.type.ndim
    if axis is None:
        if ndim > 1:
            raise ValueError(
                f"cumulative_{kind}: axis must be given for an array of more than one "
                f"dimension (got a {ndim}-d array)"
            )
        axis = 0
    if ndim == 0:
        var, ndim = T.flatten(var), 1
    along = _single_axis(f"cumulative_{kind}", axis, ndim)
    assert along is not None
    result = _cumulative(kind, var, along, dtype)
    if include_initial:
        shape = _shape_list(result)
        shape[along] = 1
        start = T.alloc(_const(0 if kind == "sum" else 1, result.type.dtype), *shape)
        result = T.concatenate([start, result], axis=along)
    return _core.wrap(result)


def cumulative_sum(
    x: Any, /, *, axis: Any = None, dtype: Any = None, include_initial: bool = False
) -> ndarray:
    """The Array API's cumulative sum along ``axis`` (required for more than one
    dimension); ``include_initial`` starts with the 0 of the empty sum.

    >>> import jitgraph.numpy as jnp
    >>> jnp.cumulative_sum(jnp.asarray([1, 2]), include_initial=True).tolist()
    [0, 1, 3]
    """
    return _cumulative_api("sum", x, axis, dtype, include_initial)


def cumulative_prod(
    x: Any, /, *, axis: Any = None, dtype: Any = None, include_initial: bool = False
) -> ndarray:
    """The Array API's cumulative product; see ``cumulative_sum``.

    >>> import jitgraph.numpy as jnp
    >>> jnp.cumulative_prod(jnp.asarray([2, 3]), include_initial=True).tolist()
    [1, 2, 6]
    """
    return _cumulative_api("prod", x, axis, dtype, include_initial)


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> ndarray:
    """The ``n``-th difference along ``axis`` (bool: ``!=``), after joining ``prepend`` and
    ``append`` (scalars are broadcast; their dtypes promote as arrays, as NumPy).

    >>> import jitgraph.numpy as jnp
    >>> jnp.diff(jnp.asarray([1, 4, 9])).tolist()
    [3, 5]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"diff: order must be a non-negative integer, got n={n!r}")
    x = _core.as_var(a)
    if x.type.ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    along = _single_axis("diff", axis, x.type.ndim)
    assert along is not None
    if n == 0:
        return a if isinstance(a, ndarray) else _core.wrap(x)
    x = _join_ends(x, along, prepend, append)
    result = _core.wrap(x)
    head = (slice(None),) * along
    for _ in range(int(n)):
        later = _core.wrap(T.getitem(result._variable, head + (slice(1, None),)))
        earlier = _core.wrap(T.getitem(result._variable, head + (slice(None, -1),)))
        name = "not_equal" if result.dtype.kind == "b" else "subtract"
        result = _core.elementwise(name, later, earlier)
    return result


def _join_ends(x: Var, along: int, prepend: Any, append: Any) -> Var:
    if prepend is None and append is None:
        return x
    ends = [v for v in (prepend, append) if v is not None]
    dtype = np.result_type(x.type.numpy_dtype, *[_core.dtype_of(v) for v in ends])
    pieces: list[Var] = [_cast(x, dtype)]
    if prepend is not None:
        pieces.insert(0, _end_piece(x, along, prepend, dtype))
    if append is not None:
        pieces.append(_end_piece(x, along, append, dtype))
    return T.concatenate(pieces, axis=along)


def _end_piece(x: Var, along: int, value: Any, dtype: Any) -> Var:
    """``value`` for ``diff``'s prepend/append: a scalar is broadcast to ``x``'s shape with
    length 1 along the axis."""
    end = _cast(_core.as_var(value), dtype)
    if end.type.ndim:
        return end
    shape = _shape_list(x)
    shape[along] = 1
    return T.alloc(end, *shape)


def median(
    a: Any, axis: Any = None, *, overwrite_input: bool = False, keepdims: bool = False
) -> ndarray:
    """The median over ``axis`` (the mean of the two middle values of an even count);
    NaN in a slice gives NaN; an empty slice gives NaN with a RuntimeWarning.

    >>> import jitgraph.numpy as jnp
    >>> float(jnp.median(jnp.asarray([4, 1, 3, 2])))
    2.5
    """
    x = _core.as_var(a)
    ndim = x.type.ndim
    axes = _axes(axis, ndim, zero_d_axis=False)
    sum_dtype, out_dtype = _mean_dtype(x, None)
    if _is_empty(x, axes):
        _warn_if_empty(x, axes)
        return _core.wrap(_mean_var(x, axes, None, bool(keepdims)))
    kept = [i for i in range(ndim) if i not in axes]
    shape = _shape_list(x)
    count = _count(x, axes)
    known = _static_count(x, axes)
    lane = count if known is None else known
    lanes = T.reshape(T.transpose(x, kept + list(axes)), [shape[i] for i in kept] + [lane])
    ordered = T.sort(lanes, -1)
    lead = (slice(None),) * len(kept)
    low_index = T.int_div(T.sub(count, _const(1, "int64")), _const(2, "int64"))
    high_index = T.int_div(count, _const(2, "int64"))
    low = _cast(T.getitem(ordered, lead + (low_index,)), sum_dtype)
    high = _cast(T.getitem(ordered, lead + (high_index,)), sum_dtype)
    two = _const(2, sum_dtype)
    middle = T.true_div(T.add(low, high), two)
    result = _cast(T.switch(T.eq(low_index, high_index), low, middle), out_dtype)
    if _kind(x) in "fc":
        last = T.getitem(ordered, lead + (-1,))
        result = T.switch(T.isnan(last), _const(np.nan, out_dtype), result)
    if keepdims:
        result = T.reshape(result, [1 if i in axes else shape[i] for i in range(ndim)])
    return _core.wrap(result)


# ----------------------------------------------------------------------------- NaN-ignoring
def nansum(
    a: Any, axis: Any = None, dtype: Any = None, *, keepdims: bool = False, initial: Any = None
) -> ndarray:
    """``sum`` treating NaN as 0.

    >>> import jitgraph.numpy as jnp
    >>> float(jnp.nansum(jnp.asarray([1.0, float("nan")])))
    1.0
    """
    return sum(_replace_nan(_core.as_var(a), 0), axis, dtype, keepdims=keepdims, initial=initial)


def nanprod(
    a: Any, axis: Any = None, dtype: Any = None, *, keepdims: bool = False, initial: Any = None
) -> ndarray:
    """``prod`` treating NaN as 1.

    >>> import jitgraph.numpy as jnp
    >>> float(jnp.nanprod(jnp.asarray([2.0, float("nan")])))
    2.0
    """
    return prod(_replace_nan(_core.as_var(a), 1), axis, dtype, keepdims=keepdims, initial=initial)


def nancumsum(a: Any, axis: Any = None, dtype: Any = None) -> ndarray:
    """``cumsum`` treating NaN as 0."""
    return cumsum(_replace_nan(_core.as_var(a), 0), axis, dtype)


def nancumprod(a: Any, axis: Any = None, dtype: Any = None) -> ndarray:
    """``cumprod`` treating NaN as 1."""
    return cumprod(_replace_nan(_core.as_var(a), 1), axis, dtype)


def nanmean(a: Any, axis: Any = None, dtype: Any = None, *, keepdims: bool = False) -> ndarray:
    """The mean of the non-NaN values over ``axis`` (NaN where there are none; NumPy also
    warns then, which needs the values: jitgraph does not warn).

    >>> import jitgraph.numpy as jnp
    >>> float(jnp.nanmean(jnp.asarray([1.0, float("nan"), 3.0])))
    2.0
    """
    x = _core.as_var(a)
    mask = _nan_mask(x)
    if mask is None:
        return mean(x, axis, dtype, keepdims=keepdims)
    axes = _axes(axis, x.type.ndim)
    _warn_if_empty(x, axes)
    total = T.sum(_replace_nan(x, 0), axes, dtype=dtype, keepdims=bool(keepdims))
    return _core.wrap(_divide(total, _kept_count(mask, axes, bool(keepdims))))


def _nan_var_or_std(
    name: str, a: Any, axis: Any, dtype: Any, ddof: Any, keepdims: bool, correction: Any
) -> ndarray:
    x = _core.as_var(a)
    mask = _nan_mask(x)
    if mask is None:
        return _var_or_std(name[3:], x, axis, dtype, ddof, keepdims, correction)
    axes = _axes(axis, x.type.ndim)
    ddof = _dof(name, ddof, correction)
    result = _variance(x, axes, dtype, ddof, bool(keepdims), nan=True)
    # NumPy's nanvar gives NaN (not inf) where N - ddof <= 0.
    dof = T.sub(_cast(_kept_count(mask, axes, bool(keepdims)), "float64"), _const(ddof, "float64"))
    result = T.switch(T.le(dof, _const(0, "float64")), _const(np.nan, result.type.dtype), result)
    return _core.wrap(T.sqrt(result) if name == "nanstd" else result)


def nanvar(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    *,
    ddof: Any = 0,
    keepdims: bool = False,
    correction: Any = None,
) -> ndarray:
    """``var`` of the non-NaN values (NaN where ``N - ddof <= 0``)."""
    return _nan_var_or_std("nanvar", a, axis, dtype, ddof, keepdims, correction)


def nanstd(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    *,
    ddof: Any = 0,
    keepdims: bool = False,
    correction: Any = None,
) -> ndarray:
    """``std`` of the non-NaN values; see ``nanvar``."""
    return _nan_var_or_std("nanstd", a, axis, dtype, ddof, keepdims, correction)


def _nan_extremum(kind: str, a: Any, axis: Any, keepdims: bool) -> ndarray:
    x = _core.as_var(a)
    mask = _nan_mask(x)
    _check_not_empty(x, _axes(axis, x.type.ndim), "fmax" if kind == "max" else "fmin")
    if mask is None or _kind(x) == "c":
        if mask is not None:
            function = getattr(np, f"nan{kind}")
            return _with_numpy(
                f"nan{kind} of a complex array",
                lambda v: function(v, axis=axis, keepdims=keepdims),
                a,
            )
        return _extremum(kind, x, axis, keepdims, None)
    axes = _axes(axis, x.type.ndim)
    _check_not_empty(x, axes, "fmax" if kind == "max" else "fmin")
    fill = -np.inf if kind == "max" else np.inf
    reduce = T.max if kind == "max" else T.min
    result = reduce(_replace_nan(x, fill), axes, keepdims=bool(keepdims))
    all_nan = T.all(mask, axes, keepdims=bool(keepdims))
    return _core.wrap(T.switch(all_nan, _const(np.nan, x.type.dtype), result))


def nanmax(a: Any, axis: Any = None, *, keepdims: bool = False) -> ndarray:
    """``max`` ignoring NaN (NaN for an all-NaN slice; NumPy also warns there, which
    needs the values: jitgraph does not warn).

    >>> import jitgraph.numpy as jnp
    >>> float(jnp.nanmax(jnp.asarray([1.0, float("nan")])))
    1.0
    """
    return _nan_extremum("max", a, axis, keepdims)


def nanmin(a: Any, axis: Any = None, *, keepdims: bool = False) -> ndarray:
    """``min`` ignoring NaN; see ``nanmax``."""
    return _nan_extremum("min", a, axis, keepdims)


def _nan_arg_extremum(kind: str, a: Any, axis: Any, keepdims: bool) -> ndarray:
    x = _core.as_var(a)
    mask = _nan_mask(x)
    if mask is None:
        return _arg_extremum(kind, x, axis, keepdims)
    if _kind(x) == "c":
        function = getattr(np, f"nan{kind}")
        return _with_numpy(
            f"nan{kind} of a complex array", lambda v: function(v, axis=axis, keepdims=keepdims), a
        )
    all_nan = _core.wrap(T.all(mask, _axes(axis, x.type.ndim) if axis is not None else None))
    if np.any(_core.concrete(all_nan, f"nan{kind} (it raises on an all-NaN slice)")):
        raise ValueError("All-NaN slice encountered")
    fill = -np.inf if kind == "argmax" else np.inf
    return _arg_extremum(kind, _replace_nan(x, fill), axis, keepdims)


def nanargmax(a: Any, axis: Any = None, *, keepdims: bool = False) -> ndarray:
    """``argmax`` ignoring NaN; an all-NaN slice is a ValueError (this needs the values,
    so under ``@jit`` it raises TracerError).

    >>> import jitgraph.numpy as jnp
    >>> int(jnp.nanargmax(jnp.asarray([float("nan"), 2.0, 1.0])))
    1
    """
    return _nan_arg_extremum("argmax", a, axis, keepdims)


def nanargmin(a: Any, axis: Any = None, *, keepdims: bool = False) -> ndarray:
    """``argmin`` ignoring NaN; see ``nanargmax``."""
    return _nan_arg_extremum("argmin", a, axis, keepdims)


__all__ = [
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "average",
    "count_nonzero",
    "cumprod",
    "cumsum",
    "cumulative_prod",
    "cumulative_sum",
    "diff",
    "max",
    "mean",
    "median",
    "min",
    "nanargmax",
    "nanargmin",
    "nancumprod",
    "nancumsum",
    "nanmax",
    "nanmean",
    "nanmin",
    "nanprod",
    "nanstd",
    "nansum",
    "nanvar",
    "prod",
    "ptp",
    "std",
    "sum",
    "var",
]
