"""Indexing of ``jitgraph.numpy`` arrays: ``x[key]``, ``x[key] = value`` and the
functions that select elements (take, take_along_axis, nonzero, where, select, ...).

Every index kind of NumPy works: integers, slices, ``...``, ``None``, integer arrays
(advanced indexing, with NumPy's placement of the advanced dims), boolean masks, 0-d
booleans, lists, and under ``@jit`` traced 0-d integers and integer arrays.

How an index is applied:

- ``x`` concrete and the index concrete: NumPy indexes the value (exact NumPy results and
  errors, no compilation). Basic indexing gives a view, recorded with ``_core.as_view``.
- ``x`` pending (lazy): the index is first checked on a zero-strided stand-in of ``x``'s
  shape, so errors are NumPy's and come before anything runs; boolean masks become their
  ``nonzero()`` integer arrays and index arrays become graph leaves (so programs are reused
  for new index values of the same kind).
- Traced index arrays (``@jit``): they stay symbolic and are checked when the program runs;
  a traced boolean mask has a data-dependent shape and raises ``TracerError``.
- ``x`` on 'cuda': basic indexing takes a view of the CuPy value; any other index runs as
  a program on the GPU. Index arrays and boolean masks are read on the host (a mask's
  values decide the result's shape), then go to the GPU as program inputs. ``nonzero``
  and its kin compute on the host and put their result on ``x``'s device.

>>> import jitgraph.numpy as jnp
>>> x = jnp.arange(12).reshape(3, 4)
>>> x[1:, [0, 3]].tolist()
[[4, 7], [8, 11]]
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from jitgraph.backends.cuda import runtime
from jitgraph.ir.graph import Var
from jitgraph.numpy import _core

__all__ = [
    "argwhere",
    "compress",
    "extract",
    "flatnonzero",
    "getitem",
    "indices",
    "ix_",
    "nonzero",
    "select",
    "setitem",
    "take",
    "take_along_axis",
    "where",
]

_VALID_INDICES = (
    "only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or "
    "boolean arrays are valid indices"
)
_ARRAY_KIND = "arrays used as indices must be of integer (or boolean) type"
_MASK_NEEDS_VALUE = "boolean mask indexing (its result's shape depends on the mask's values)"


# ----------------------------------------------------------------------------- the key
def _is_symbolic(item: Any) -> bool:
    if isinstance(item, Var):
        return True
    if isinstance(item, slice):
        return any(isinstance(b, Var) for b in (item.start, item.stop, item.step))
    return False


def _plain(value: Any) -> Any:
    """``value`` with concrete jnp arrays (also inside lists) replaced by NumPy values."""
    if isinstance(value, _core.ndarray):
        return _core.concrete(value, "an index or value")
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _has_traced(value: Any) -> bool:
    if isinstance(value, _core.ndarray):
        return _core.is_traced(value)
    if isinstance(value, (list, tuple)):
        return any(_has_traced(v) for v in value)
    return isinstance(value, Var)


def _array_item(value: np.ndarray | Var) -> np.ndarray | Var:
    dtype = value.type.numpy_dtype if isinstance(value, Var) else value.dtype
    if dtype.kind == "b":
        if isinstance(value, Var):
            raise AssertionError("traced masks are made concrete before this point")
        return value
    if dtype.kind not in "iu":
        raise IndexError(_ARRAY_KIND)
    return value


def _slice_bound(bound: Any) -> Any:
    if bound is None or isinstance(bound, Var):
        return bound
    if isinstance(bound, _core.ndarray) and _core.is_traced(bound):
        if bound.ndim != 0 or bound.dtype.kind not in "iu":
            raise TypeError(
                f"slice indices must be integers or None, got a traced {bound.ndim}-d "
                f"{bound.dtype} array"
            )
        return bound._variable
    if isinstance(bound, (bool, np.bool_)):
        return int(bound)  # NumPy reads a boolean slice bound as 0 or 1
    try:
        import operator

        return operator.index(bound)
    except TypeError:
        raise TypeError(
            "slice indices must be integers or None or have an __index__ method"
        ) from None


def _item(item: Any) -> Any:
    """One entry of an index in a normal form: None, Ellipsis, int, bool, a slice (int or
    Var bounds), a NumPy integer/boolean array, or a Var (traced integer array)."""
    if item is None or item is Ellipsis:
        return item
    if isinstance(item, slice):
        return slice(_slice_bound(item.start), _slice_bound(item.stop), _slice_bound(item.step))
    if isinstance(item, (bool, np.bool_)):
        return bool(item)
    if isinstance(item, (int, np.integer)):
        return int(item)
    if isinstance(item, _core.ndarray):
        if item.dtype.kind == "b":
            return _core.concrete(item, _MASK_NEEDS_VALUE)
        if _core.is_traced(item):
            return _array_item(item._variable)
        return _array_item(_core.concrete(item, "indexing"))
    if isinstance(item, Var):
        return _array_item(item)
    if isinstance(item, (list, tuple)):
        if _has_traced(item):
            return _array_item(_core.as_var(item))
        array = np.asarray(_plain(item))
        if array.size == 0 and array.dtype.kind == "f":
            array = array.astype(np.intp)  # NumPy reads an empty list as integer indices
        if array.dtype.kind == "b":
            return array
        if array.dtype.kind not in "iu":
            raise IndexError(_VALID_INDICES if array.dtype == object else _ARRAY_KIND)
        return array
    if isinstance(item, np.ndarray):
        return _array_item(item)
    raise IndexError(_VALID_INDICES)


def _normalize(key: Any) -> list[Any]:
    items = list(key) if isinstance(key, tuple) else [key]
    return [_item(i) for i in items]


def _is_basic(items: list[Any]) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, slice) or type(i) is int for i in items)


def _returns_array(items: list[Any], ndim: int) -> bool:
    """Whether NumPy's basic indexing gives an array (a view), not a scalar."""
    ints = sum(type(i) is int for i in items)
    return ints < ndim or any(i is None or i is Ellipsis for i in items)


def _static_shape(x: _core.ndarray) -> tuple[int, ...] | None:
    if x._value is not None:
        return x._value.shape
    shape = x._variable.type.shape
    return None if None in shape else tuple(int(d or 0) for d in shape)


def _check(shape: tuple[int, ...], items: list[Any]) -> None:
    """NumPy's own checks of the index (bounds, masks, counts), on a zero-strided stand-in
    of the array: the same errors NumPy gives, before anything runs."""
    stand_in = np.broadcast_to(np.zeros((), dtype=bool), shape)
    stand_in[tuple(items)]


def _graph_key(items: list[Any], checked: bool) -> tuple[Any, ...]:
    """The index in the form jitgraph.tensor's getitem takes. Once checked, integers and
    index arrays become graph leaves, so one program serves any of their values (``x[i]``
    in a loop compiles once); unchecked ones stay constants, which the op checks."""
    out: list[Any] = []
    for i in items:
        if isinstance(i, np.ndarray) and i.ndim == 0:
            i = bool(i) if i.dtype.kind == "b" else int(i)
        if type(i) is int and checked:
            out.append(_core.as_var(np.asarray(i, dtype=np.int64)))
        elif isinstance(i, np.ndarray) and i.dtype.kind == "b" and checked:
            out.extend(_core.as_var(k.astype(np.int64)) for k in np.nonzero(i))
        elif isinstance(i, np.ndarray) and checked:
            out.append(_core.as_var(i))
        else:
            out.append(i)
    return tuple(out)


def _index_var(x: _core.ndarray, items: list[Any]) -> Var:
    from jitgraph.tensor.subtensor import getitem as tensor_getitem

    shape = _static_shape(x)
    checked = shape is not None and not any(_is_symbolic(i) for i in items)
    if checked:
        _check(shape, items)  # type: ignore[arg-type]
    return tensor_getitem(x._variable, _graph_key(items, checked))


def _as_array(x: Any) -> _core.ndarray:
    return x if isinstance(x, _core.ndarray) else _core.wrap(_core.as_var(x))


def _select(x: Any, key: Any) -> tuple[_core.ndarray, bool]:
    """``x[key]`` and whether NumPy's result is a view of ``x``."""
    x = _as_array(x)
    items = _normalize(key)
    view = _is_basic(items) and _returns_array(items, x.ndim)
    if x._value is not None and not any(_is_symbolic(i) for i in items):
        if not runtime.is_device_array(x._value):
            return _core.wrap_value(np.asarray(x._value[tuple(items)])), view
        if _is_basic(items):  # a view of the CuPy value, on the GPU
            return _core.wrap_value(x._value[tuple(items)]), view
    return _core.wrap(_index_var(x, items)), view


def getitem(x: Any, key: Any) -> _core.ndarray:
    """``x[key]`` with NumPy's semantics (what ``x[key]`` calls).

    >>> import jitgraph.numpy as jnp
    >>> jnp.arange(6).reshape(2, 3)[..., None, -1].shape
    (2, 1)
    """
    result, view = _select(x, key)
    return _core.as_view(result, x) if view else result


# ----------------------------------------------------------------------------- assignment
def _cast_concrete(value: Any, dtype: np.dtype[Any]) -> np.ndarray:
    """``value`` converted to ``dtype`` as NumPy's item assignment converts it (Python and
    NumPy scalars by value: OverflowError, NaN to int ValueError; arrays cast unsafely)."""
    target = np.empty(np.shape(value), dtype=dtype)
    target[...] = value
    return target


def _value_var(value: Any, dtype: np.dtype[Any]) -> Var:
    """``value`` as a graph variable of ``dtype``, converted as NumPy's item assignment
    converts it (Python and NumPy scalars by value: OverflowError, NaN into an integer
    array ValueError; arrays cast unsafely). A lazy value is cast in the graph."""
    from jitgraph.tensor.math import cast

    if isinstance(value, Var):
        return value if value.type.numpy_dtype == dtype else cast(value, dtype.name)
    target = np.empty(np.shape(value), dtype=dtype)
    target[...] = value
    return _core.as_var(target)


def _real_part(value: Any, dtype: np.dtype[Any]) -> Any:
    """``value`` without its imaginary part when it is a complex array or NumPy scalar
    stored into a real array, with NumPy's ComplexWarning at the caller's line. (A Python
    complex raises TypeError there, as in NumPy.)"""
    from jitgraph.tensor.basic import elemwise

    source = value.type.numpy_dtype if isinstance(value, Var) else getattr(value, "dtype", None)
    if source is None or source.kind != "c" or dtype.kind == "c":
        return value
    warnings.warn(
        "Casting complex values to real discards the imaginary part",
        np.exceptions.ComplexWarning,
        stacklevel=4,
    )
    return elemwise("real", value) if isinstance(value, Var) else value.real


def _fit(value: Var, target: tuple[int | None, ...], advanced: bool) -> Var:
    """``value`` with its leading length-1 dims beyond ``target``'s rank dropped, after
    checking that it broadcasts to ``target`` (NumPy's errors)."""
    from jitgraph.tensor.shape import dimshuffle

    shape = value.type.shape
    extra = len(shape) - len(target)
    tail = shape[max(extra, 0) :]
    lead_ok = all(d == 1 for d in shape[: max(extra, 0)])
    aligned = target[len(target) - len(tail) :]
    fits = all(v is None or t is None or v in (1, t) for v, t in zip(tail, aligned, strict=True))
    if not (lead_ok and fits):
        got = _shape_text(shape)
        want = _shape_text(target)
        if advanced:
            raise ValueError(
                f"shape mismatch: value array of shape {got} could not be broadcast to "
                f"indexing result of shape {want}"
            )
        raise ValueError(f"could not broadcast input array from shape {got} into shape {want}")
    if extra > 0:
        value = dimshuffle(value, *range(extra, len(shape)))
    return value


def _shape_text(shape: tuple[int | None, ...]) -> str:
    dims = ["?" if d is None else str(d) for d in shape]
    return "(" + ",".join(dims) + ("," if len(dims) == 1 else "") + ")"


def setitem(x: Any, key: Any, value: Any) -> _core.ndarray:
    """A new array: ``x`` with ``x[key] = value`` applied as NumPy applies it (``value``
    broadcast to the indexed shape and converted to ``x``'s dtype; with repeated advanced
    indices the last write wins). The core rebinds ``x`` to it.

    >>> import jitgraph.numpy as jnp
    >>> jnp.setitem(jnp.zeros(4, dtype=jnp.int64), slice(1, 3), 2.7).tolist()
    [0, 2, 2, 0]
    """
    from jitgraph.tensor.subtensor import set_subtensor

    x = _as_array(x)
    items = _normalize(key)
    lazy = _has_traced(value) or (isinstance(value, _core.ndarray) and value._value is None)
    value = _real_part(_core.as_var(value) if lazy else _plain(value), x.dtype)
    on_host = x._value is not None and not runtime.is_device_array(x._value)
    if on_host and not lazy and not any(_is_symbolic(i) for i in items):
        out = np.array(x._value, copy=True)
        out[tuple(items)] = value
        return _core.wrap_value(out)
    indexed = _index_var(x, items)
    fitted = _fit(_value_var(value, x.dtype), indexed.type.shape, not _is_basic(items))
    return _core.wrap(set_subtensor(indexed, fitted))


# ----------------------------------------------------------------------------- take
def _ravel(x: _core.ndarray) -> _core.ndarray:
    from jitgraph.tensor import flatten

    if x.ndim == 1:
        return x
    if x._value is not None:
        return _core.wrap_value(x._value.reshape(-1))
    return _core.wrap(flatten(x._variable, 1))


def _one_axis(axis: Any, ndim: int) -> int:
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {axis!r}")
    normal = _core.normalize_axis(int(axis), ndim)
    return normal[0] if normal else 0


def _index_array(indices: Any) -> np.ndarray | Var:
    if _has_traced(indices):
        return _core.as_var(indices)
    return np.asarray(_plain(indices))


def take(
    a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise"
) -> _core.ndarray:
    """Elements of ``a`` at ``indices`` along ``axis`` (``np.take``; ``axis=None``: of the
    flattened ``a``). ``mode``: 'raise' (IndexError), 'wrap' or 'clip'.

    >>> import jitgraph.numpy as jnp
    >>> jnp.take(jnp.arange(6).reshape(2, 3), [2, 0], axis=1).tolist()
    [[2, 0], [5, 3]]
    """
    if out is not None:
        raise TypeError("take(out=...) is not supported by jitgraph.numpy; use the result")
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    x = _as_array(a)
    if axis is None:
        x, axis = _ravel(x), 0
    axis = _one_axis(axis, x.ndim)
    index = _index_array(indices)
    kind = index.type.numpy_dtype.kind if isinstance(index, Var) else index.dtype.kind
    if kind not in "iu":
        if isinstance(index, Var) or kind not in "bf":
            raise TypeError(f"take: indices must be integers, got dtype {kind!r} values")
        index = index.astype(np.int64)  # NumPy casts them (1.0 -> 1)
    if mode != "raise":
        index = _wrap_or_clip(index, x.shape[axis], mode)
    result, _ = _select(x, (slice(None),) * axis + (index,))
    return result


def _wrap_or_clip(index: np.ndarray | Var, size: Any, mode: str) -> np.ndarray | Var:
    if isinstance(size, int) and size == 0:
        raise IndexError("cannot do a non-empty take from an empty axes.")
    if isinstance(index, np.ndarray) and isinstance(size, int):
        return index % size if mode == "wrap" else np.clip(index, 0, size - 1)
    if mode == "wrap":
        return _core.elementwise("remainder", _core.wrap(_core.as_var(index)), size)._variable
    low = _core.elementwise("maximum", _core.wrap(_core.as_var(index)), 0)
    return _core.elementwise("minimum", low, size - 1)._variable


def _grid(x: _core.ndarray, d: int, ndim: int) -> np.ndarray | Var:
    """``arange(x.shape[d])`` shaped to broadcast along dim ``d`` of ``ndim``."""
    from jitgraph.tensor.creation import arange
    from jitgraph.tensor.shape import dimshuffle

    shape = [1] * ndim
    size = x.shape[d]
    if isinstance(size, _core.ndarray):
        pattern: list[Any] = ["x"] * ndim
        pattern[d] = 0
        return dimshuffle(arange(size._variable), *pattern)
    shape[d] = int(size)
    return np.arange(int(size)).reshape(shape)


def take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> _core.ndarray:
    """Values of ``arr`` at ``indices`` along ``axis``, matched along the other axes
    (``np.take_along_axis``; Array API ``take_along_axis(x, indices, /, *, axis=-1)``).

    >>> import jitgraph.numpy as jnp
    >>> jnp.take_along_axis(jnp.asarray([[3, 1], [0, 2]]), jnp.asarray([[1], [0]]), 1).tolist()
    [[1], [0]]
    """
    x = _as_array(arr)
    index = _index_array(indices)
    index_ndim = index.type.ndim if isinstance(index, Var) else index.ndim
    kind = index.type.numpy_dtype.kind if isinstance(index, Var) else index.dtype.kind
    if kind not in "iu":
        raise IndexError("`indices` must be an integer array")
    if axis is None:
        if index_ndim != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        x, axis = _ravel(x), 0
    axis = _one_axis(axis, x.ndim)
    if index_ndim != x.ndim:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    key = tuple(index if d == axis else _grid(x, d, x.ndim) for d in range(x.ndim))
    result, _ = _select(x, key)
    return result


# ----------------------------------------------------------------------------- data-dependent
def _values(x: Any, what: str) -> np.ndarray:
    return np.asarray(_core.concrete(_plain_or_self(x), what))


def _plain_or_self(x: Any) -> Any:
    return x if isinstance(x, _core.ndarray) else np.asarray(_plain(x))


def nonzero(x: Any) -> tuple[_core.ndarray, ...]:
    """Indices of the nonzero elements: one int64 array per dim (``np.nonzero``). Its
    length depends on the values, so under ``@jit`` it raises TracerError.

    >>> import jitgraph.numpy as jnp
    >>> [i.tolist() for i in jnp.nonzero(jnp.asarray([[0, 1], [2, 0]]))]
    [[0, 1], [1, 0]]
    """
    value = _values(x, "nonzero (its result's length depends on the values)")
    device = _core.device_of(x)
    return tuple(_core.wrap_value(i.astype(np.int64), device) for i in np.nonzero(value))


def flatnonzero(a: Any) -> _core.ndarray:
    """Indices of the nonzero elements of the flattened ``a`` (int64)."""
    value = _values(a, "flatnonzero (its result's length depends on the values)")
    return _core.wrap_value(np.flatnonzero(value).astype(np.int64), _core.device_of(a))


def argwhere(a: Any) -> _core.ndarray:
    """Indices of the nonzero elements as an int64 ``(count, ndim)`` array."""
    value = _values(a, "argwhere (its result's length depends on the values)")
    return _core.wrap_value(np.argwhere(value).astype(np.int64), _core.device_of(a))


def where(condition: Any, x: Any = None, y: Any = None, /) -> Any:
    """``x`` where ``condition`` holds, else ``y`` (broadcast; NumPy 2 promotion with weak
    Python scalars). With only ``condition``: ``nonzero(condition)``.

    >>> import jitgraph.numpy as jnp
    >>> jnp.where(jnp.asarray([True, False]), 1, 2.5).tolist()
    [1.0, 2.5]
    """
    from jitgraph.tensor.math import cast, switch

    if x is None and y is None:
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("either both or neither of x and y should be given")
    common = _core.result_type(x, y)
    xv, yv = (_where_operand(v, common) for v in (x, y))
    cond = _core.as_var(condition)
    if cond.type.dtype != "bool":
        cond = cast(cond, "bool")
    return _core.wrap(switch(cond, xv, yv))


def _where_operand(value: Any, dtype: np.dtype[Any]) -> Var:
    """An operand of ``where`` in the common dtype. NumPy casts a Python scalar that does
    not fit unsafely here (``where(c, int8_array, 1000)`` holds -24), unlike arithmetic."""
    if type(value) in _core.PYTHON_SCALARS:
        data = np.asarray(value)
        if data.dtype != object:
            return _core.as_var(data.astype(dtype))
    return _core.as_var(value, dtype=dtype)


def select(condlist: Any, choicelist: Any, default: Any = 0) -> _core.ndarray:
    """The element of the first choice whose condition holds, else ``default``
    (``np.select``).

    >>> import jitgraph.numpy as jnp
    >>> x = jnp.arange(4)
    >>> jnp.select([x < 1, x > 2], [x, x * 10], -1).tolist()
    [0, -1, -1, 30]
    """
    from jitgraph.tensor.math import switch

    conds, choices = list(condlist), list(choicelist)
    if len(conds) != len(choices):
        raise ValueError("list of cases must be same length as list of conditions")
    if not conds:
        raise ValueError("select with an empty condition list is not possible")
    cond_vars = []
    for i, c in enumerate(conds):
        var = c._variable if isinstance(c, _core.ndarray) else _core.as_var(_plain(c))
        if var.type.dtype != "bool":
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
        cond_vars.append(var)
    values, _ = _core.operands(*choices, default)
    result = values[-1]
    for cond, choice in zip(reversed(cond_vars), reversed(values[:-1]), strict=True):
        result = switch(cond, choice, result)
    return _core.wrap(result)


def compress(condition: Any, a: Any, axis: Any = None, out: Any = None) -> _core.ndarray:
    """The slices of ``a`` along ``axis`` where ``condition`` (1-d) is true."""
    if out is not None:
        raise TypeError("compress(out=...) is not supported by jitgraph.numpy; use the result")
    cond = _values(condition, "compress (its result's length depends on the condition)")
    if cond.ndim != 1:
        raise ValueError("condition must be a 1-d array")
    return take(a, np.nonzero(cond)[0].astype(np.int64), axis=axis)


def extract(condition: Any, arr: Any) -> _core.ndarray:
    """The elements of ``arr`` (flattened) where ``condition`` (flattened) is true."""
    cond = _values(condition, "extract (its result's length depends on the condition)")
    return take(_ravel(_as_array(arr)), np.nonzero(cond.reshape(-1))[0].astype(np.int64))


def ix_(*args: Any) -> tuple[_core.ndarray, ...]:
    """Open-mesh index arrays from 1-d sequences (booleans become their nonzero indices).

    >>> import jitgraph.numpy as jnp
    >>> [a.shape for a in jnp.ix_([0, 1], [2, 0, 1])]
    [(2, 1), (1, 3)]
    """
    from jitgraph.tensor.shape import dimshuffle

    n = len(args)
    out: list[_core.ndarray] = []
    for k, seq in enumerate(args):
        if _has_traced(seq):
            var = _core.as_var(seq)
            if var.type.dtype == "bool":
                _core.concrete(_core.wrap(var), "ix_ of a boolean array")
            if var.type.ndim != 1:
                raise ValueError("Cross index must be 1 dimensional")
            pattern: list[Any] = ["x"] * n
            pattern[k] = 0
            out.append(_core.wrap(dimshuffle(var, *pattern)))
            continue
        value = np.asarray(_plain(seq))
        if value.size == 0 and not isinstance(seq, np.ndarray):
            value = value.astype(np.int64)  # an empty list: integer indices
        if value.ndim != 1:
            raise ValueError("Cross index must be 1 dimensional")
        if value.dtype.kind == "b":
            value = np.nonzero(value)[0].astype(np.int64)
        shape = [1] * n
        shape[k] = value.size
        out.append(_core.wrap_value(value.reshape(shape)))
    return tuple(out)


def indices(dimensions: Any, dtype: Any = int, sparse: bool = False) -> Any:
    """An array (or with ``sparse`` a tuple of arrays) of grid indices (``np.indices``)."""
    dims = tuple(int(d) for d in _core.shape_entries(dimensions, "dimensions"))
    result: Any = np.indices(dims, dtype=dtype, sparse=sparse)  # type: ignore[call-overload]
    if sparse:
        return tuple(_core.wrap_value(r) for r in result)
    return _core.wrap_value(result)
