"""Shape manipulation functions of ``jitgraph.numpy`` (Array API names plus NumPy's).

Each builds graph nodes through ``jitgraph.tensor`` (reshape, dimshuffle, join, alloc,
tile, repeat, roll, indexing). Results that NumPy returns as views of their input
(reshape, transpose, squeeze, expand_dims, swapaxes, moveaxis, broadcast_to, flip, split,
unstack, ravel) are recorded as views, so an in-place write to either raises instead of
silently not reaching the other. Joining promotes with NumPy's ``result_type``.

>>> import jitgraph.numpy as jnp
>>> jnp.concat([jnp.zeros(2, dtype="float32"), jnp.arange(2)]).dtype
dtype('float64')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import jitgraph.tensor as T
from jitgraph.ir.graph import Var
from jitgraph.numpy import _core
from jitgraph.numpy._core import ndarray
from jitgraph.numpy._creation import _cast, asarray
from jitgraph.ops.creation import Alloc
from jitgraph.ops.joining import Join
from jitgraph.ops.shape import DimShuffle
from jitgraph.tensor.math import cast
from jitgraph.tensor.subtensor import getitem

AxisError = np.exceptions.AxisError


# ----------------------------------------------------------------------------- helpers
def _array(x: Any) -> ndarray:
    return x if isinstance(x, ndarray) else asarray(x)


def _axis(axis: Any, ndim: int, argname: str = "axis") -> int:
    """One axis in ``[-ndim, ndim)`` as a non-negative int (AxisError otherwise)."""
    if isinstance(axis, ndarray):
        axis = int(axis)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{argname} must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise AxisError(int(axis), ndim, argname)
    return int(axis) % ndim


def _axes(axis: Any, ndim: int, argname: str = "axis") -> tuple[int, ...]:
    """An int or a sequence of ints as distinct non-negative axes, in the given order."""
    items = list(axis) if isinstance(axis, (tuple, list)) else [axis]
    out = tuple(_axis(a, ndim, argname) for a in items)
    if len(set(out)) != len(out):
        raise ValueError(f"{argname}: repeated axis in {axis!r}")
    return out


def _dims(x: ndarray) -> list[Any]:
    """``x``'s shape as ints (static) and int64 Vars (known only to the graph)."""
    var = x._variable
    return [d if d is not None else T.shape_i(var, i) for i, d in enumerate(var.type.shape)]


def _concrete_dim(x: ndarray, axis: int, what: str) -> int:
    static = x._variable.type.shape[axis]
    if static is not None:
        return int(static)
    size = x.shape[axis]
    return int(_core.concrete(size, what) if isinstance(size, ndarray) else size)


def _view(var: Var, base: Any) -> ndarray:
    return _core.as_view(_core.wrap(var), base)


def _shuffle(x: ndarray, order: Sequence[Any], base: Any) -> ndarray:
    result = DimShuffle(x.ndim, tuple(order))(x._variable)
    return _view(result, base)


# ----------------------------------------------------------------------------- reshape family
def reshape(
    a: Any,
    /,
    shape: Any = None,
    order: str = "C",
    *,
    newshape: Any = None,
    copy: bool | None = None,
) -> ndarray:
    """``a`` with a new shape (one entry may be -1: inferred). NumPy's errors.

    >>> import jitgraph.numpy as jnp
    >>> jnp.reshape(jnp.arange(6), (2, -1)).shape
    (2, 3)
    """
    if newshape is not None:
        if shape is not None:
            raise TypeError("reshape: give shape or newshape, not both")
        shape = newshape
    if shape is None:
        raise TypeError("reshape() missing the required argument 'shape'")
    x = _array(a)
    if order == "F":
        back = reshape(transpose(x), tuple(reversed(_reshape_entries(shape, x))))
        return _fresh_or_view(transpose(back), a, copy)
    if order not in ("C", "A"):
        raise ValueError(f"reshape: order must be 'C', 'F' or 'A', got {order!r}")
    result = T.reshape(x._variable, _reshape_entries(shape, x))
    return _fresh_or_view(_core.wrap(result), a, copy)


def _fresh_or_view(result: ndarray, base: Any, copy: bool | None) -> ndarray:
    return result if copy else _core.as_view(result, base)


def _reshape_entries(shape: Any, x: ndarray) -> list[Any]:
    if isinstance(shape, (int, np.integer, ndarray)):
        shape = (shape,)
    entries: list[Any] = []
    for d in shape:
        if _core.is_traced(d):
            entries.append(d._variable)
            continue
        if isinstance(d, ndarray):
            d = int(d)
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"reshape: shape entries must be integers, got {d!r}")
        if d < -1:
            raise ValueError(f"reshape: negative dimensions are not allowed (shape {shape!r})")
        entries.append(int(d))
    if entries.count(-1) > 1:
        raise ValueError(f"reshape: can only specify one unknown dimension (shape {shape!r})")
    return _infer_unknown(entries, x)


def _infer_unknown(entries: list[Any], x: ndarray) -> list[Any]:
    """Check the sizes and fill in the -1 where everything is static."""
    static = x._variable.type.shape
    if None in static or any(isinstance(d, Var) for d in entries):
        return entries
    size = math.prod(d for d in static if d is not None)
    known = math.prod(d for d in entries if d != -1)
    shown = tuple("-1" if d == -1 else d for d in entries)
    if -1 in entries:
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape array of size {size} into shape {shown}")
        return [size // known if d == -1 else d for d in entries]
    if known != size:
        raise ValueError(f"cannot reshape array of size {size} into shape {tuple(entries)}")
    return entries


def ravel(a: Any, order: str = "C") -> ndarray:
    """``a`` flattened (a view of a contiguous jnp array, as NumPy)."""
    x = _array(a)
    flat = reshape(x, -1, order="F" if order == "F" else "C", copy=True)
    # Only an array that is not itself a (possibly strided) view is contiguous for sure.
    return _core.as_view(flat, a) if getattr(a, "_base", True) is None else flat


def flatten(a: Any, order: str = "C") -> ndarray:
    """``a.flatten()``: a flattened copy."""
    return reshape(_array(a), -1, order="F" if order == "F" else "C", copy=True)


def transpose(a: Any, axes: Any = None) -> ndarray:
    """``a`` with its axes permuted (reversed when ``axes`` is None)."""
    x = _array(a)
    if axes is None:
        return _shuffle(x, tuple(reversed(range(x.ndim))), a)
    order = _axes(axes, x.ndim, "axes")
    if len(order) != x.ndim:
        raise ValueError(f"transpose: axes {axes!r} don't match the array's {x.ndim} axes")
    return _shuffle(x, order, a)


def permute_dims(x: Any, /, axes: Any) -> ndarray:
    """Array API: ``x`` with its axes permuted to ``axes``."""
    return transpose(x, axes)


def matrix_transpose(x: Any, /) -> ndarray:
    """The transpose of the last two axes (``x.mT``); ``x`` must be at least 2-d."""
    array = _array(x)
    if array.ndim < 2:
        raise ValueError(
            f"matrix_transpose: x must be at least 2-dimensional, got a {array.ndim}-d array"
        )
    order = list(range(array.ndim))
    order[-2:] = order[-1], order[-2]
    return _shuffle(array, order, x)


def swapaxes(a: Any, axis1: Any, axis2: Any) -> ndarray:
    """``a`` with ``axis1`` and ``axis2`` exchanged."""
    x = _array(a)
    first, second = _axis(axis1, x.ndim, "axis1"), _axis(axis2, x.ndim, "axis2")
    order = list(range(x.ndim))
    order[first], order[second] = second, first
    return _shuffle(x, order, a)


def moveaxis(a: Any, source: Any, destination: Any) -> ndarray:
    """``a`` with the axes ``source`` moved to positions ``destination``."""
    x = _array(a)
    sources = _axes(source, x.ndim, "source")
    targets = _axes(destination, x.ndim, "destination")
    if len(sources) != len(targets):
        raise ValueError(
            "moveaxis: `source` and `destination` arguments must have the same number of "
            f"elements, got {source!r} and {destination!r}"
        )
    order = [n for n in range(x.ndim) if n not in sources]
    for target, src in sorted(zip(targets, sources)):
        order.insert(target, src)
    return _shuffle(x, order, a)


def expand_dims(a: Any, axis: Any) -> ndarray:
    """``a`` with new axes of size 1 at positions ``axis`` (of the result)."""
    x = _array(a)
    count = len(axis) if isinstance(axis, (tuple, list)) else 1
    axes = _axes(axis, x.ndim + count)
    source = iter(range(x.ndim))
    order = ["x" if n in axes else next(source) for n in range(x.ndim + count)]
    return _shuffle(x, order, a)


def squeeze(a: Any, axis: Any = None) -> ndarray:
    """``a`` without its axes of size 1 (``axis``: only those, which must have size 1).
    Under ``@jit`` ``axis=None`` drops the axes known to have size 1 when tracing."""
    x = _array(a)
    static = x._variable.type.shape
    if axis is None:
        shape = static if (None not in static or _core.is_traced(x)) else x.shape
        axes = tuple(n for n, d in enumerate(shape) if d == 1)
    elif x.ndim == 0:
        # NumPy accepts the int axis 0 or -1 of a 0-d array, but no tuple of axes.
        _axes(axis, 0 if isinstance(axis, (tuple, list)) else 1)
        axes = ()
    else:
        axes = _axes(axis, x.ndim)
        for n in axes:
            size = static[n]
            if size is None and not _core.is_traced(x):
                size = x.shape[n]
            if size not in (None, 1):
                raise ValueError(
                    "cannot select an axis to squeeze out which has size not equal to one "
                    f"(axis {n} has size {size})"
                )
    return _view(T.squeeze(x._variable, axes), a)


# ----------------------------------------------------------------------------- broadcasting
def broadcast_shapes(*shapes: Any) -> tuple[int, ...]:
    """NumPy's broadcast_shapes of int shapes."""
    concrete = [
        tuple(int(d) for d in _core.shape_entries(s, "broadcast_shapes: shape")) for s in shapes
    ]
    return tuple(np.broadcast_shapes(*concrete))


def _broadcast_dims(arrays: Sequence[ndarray]) -> list[Any]:
    """The broadcast shape of ``arrays``: static sizes checked as NumPy does, an unknown
    size taken from the graph (checked when it runs)."""
    ndim = max((x.ndim for x in arrays), default=0)
    dims: list[Any] = [1] * ndim
    for x in arrays:
        padded = [None] * (ndim - x.ndim) + _dims(x)
        for n, d in enumerate(padded):
            if d is None or isinstance(d, int) and d == 1:
                continue
            have = dims[n]
            if isinstance(have, int) and have == 1:
                dims[n] = d
            elif isinstance(have, int) and isinstance(d, int) and have != d:
                shapes = " ".join(str(tuple(a.shape)) for a in arrays)
                raise ValueError(
                    f"shape mismatch: objects cannot be broadcast to a single shape (shapes "
                    f"{shapes} differ at axis {n})"
                )
    return dims


def broadcast_to(array: Any, /, shape: Any, subok: bool = False) -> ndarray:
    """``array`` broadcast to ``shape`` (a read-only view in NumPy: writes raise)."""
    x = _array(array)
    entries = _core.shape_entries(shape, "shape")
    if len(entries) < x.ndim:
        raise ValueError(
            f"broadcast_to: cannot broadcast a {x.ndim}-d array to the {len(entries)}-d shape "
            f"{tuple(shape) if isinstance(shape, (tuple, list)) else shape!r}"
        )
    padded = [1] * (len(entries) - x.ndim) + list(x._variable.type.shape)
    for n, (have, want) in enumerate(zip(padded, entries)):
        if have is not None and have != 1 and isinstance(want, int) and want != have:
            raise ValueError(
                f"operands could not be broadcast together: input shape {x.shape} cannot be "
                f"broadcast to shape {tuple(entries)} (axis {n})"
            )
    return _view(Alloc()(x._variable, *entries), array)


def broadcast_arrays(*args: Any, subok: bool = False) -> tuple[ndarray, ...]:
    """The arrays broadcast against each other (views, a tuple as NumPy 2)."""
    arrays = [_array(a) for a in args]
    dims = _broadcast_dims(arrays)
    out = []
    for x, original in zip(arrays, args):
        if list(x._variable.type.shape) == dims:
            out.append(_view(x._variable, original))
        else:
            out.append(_view(Alloc()(x._variable, *dims), original))
    return tuple(out)


# ----------------------------------------------------------------------------- joining
def _sequence(arrays: Any, what: str) -> list[ndarray]:
    if not isinstance(arrays, (Sequence, ndarray, np.ndarray)):
        raise TypeError(
            f"{what}: arrays must be passed as a sequence (list or tuple), got "
            f"{type(arrays).__name__}"
        )
    items = list(arrays)
    if not items:
        raise ValueError(f"{what}: need at least one array to {what}")
    return [x if isinstance(x, ndarray) else _core.wrap(_core.as_var(x)) for x in items]


def _common(arrays: list[ndarray], dtype: Any, casting: str, what: str) -> list[Var]:
    common = np.result_type(*(x.dtype for x in arrays))
    if dtype is not None:
        target = np.dtype(dtype)
        if not np.can_cast(common, target, casting=casting):  # type: ignore[arg-type]
            raise TypeError(
                f"{what}: cannot cast array data from {common} to {target} according to the "
                f"rule {casting!r}"
            )
        common = target
    return [_cast(x, common)._variable for x in arrays]


def concat(
    arrays: Any, /, axis: Any = 0, *, dtype: Any = None, casting: str = "same_kind"
) -> ndarray:
    """Join ``arrays`` along an existing ``axis`` (None: flatten them first).

    >>> import jitgraph.numpy as jnp
    >>> jnp.concat([jnp.ones((1, 2)), jnp.zeros((2, 2))]).shape
    (3, 2)
    """
    items = _sequence(arrays, "concatenate")
    if axis is None:
        items = [reshape(x, -1, copy=True) for x in items]
        axis = 0
    ndim = items[0].ndim
    if ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    for position, x in enumerate(items):
        if x.ndim != ndim:
            raise ValueError(
                "all the input arrays must have same number of dimensions, but the array at "
                f"index 0 has {ndim} dimension(s) and the array at index {position} has "
                f"{x.ndim} dimension(s)"
            )
    along = _axis(axis, ndim)
    _check_sizes(items, along)
    variables = _common(items, dtype, casting, "concatenate")
    if len(variables) == 1:
        return _core.wrap(T.tensor_copy(variables[0]))
    return _core.wrap(Join(along)(*variables))


def _check_sizes(items: list[ndarray], along: int) -> None:
    first = items[0]._variable.type.shape
    for position, x in enumerate(items[1:], start=1):
        for n, (a, b) in enumerate(zip(first, x._variable.type.shape)):
            if n != along and a is not None and b is not None and a != b:
                raise ValueError(
                    "all the input array dimensions except for the concatenation axis must "
                    f"match exactly, but along dimension {n}, the array at index 0 has size "
                    f"{a} and the array at index {position} has size {b}"
                )


def concatenate(
    arrays: Any, /, axis: Any = 0, *, dtype: Any = None, casting: str = "same_kind"
) -> ndarray:
    """NumPy's name of ``concat``."""
    return concat(arrays, axis, dtype=dtype, casting=casting)


def stack(
    arrays: Any, /, axis: Any = 0, *, dtype: Any = None, casting: str = "same_kind"
) -> ndarray:
    """Join equally shaped ``arrays`` along a new ``axis``.

    >>> import jitgraph.numpy as jnp
    >>> jnp.stack([jnp.arange(3), jnp.arange(3)], axis=1).shape
    (3, 2)
    """
    items = _sequence(arrays, "stack")
    shape = items[0]._variable.type.shape
    for x in items[1:]:
        other = x._variable.type.shape
        if len(other) != len(shape) or any(
            a is not None and b is not None and a != b for a, b in zip(shape, other)
        ):
            raise ValueError(
                f"all input arrays must have the same shape, got {items[0].shape} and {x.shape}"
            )
    along = _axis(axis, len(shape) + 1)
    variables = _common(items, dtype, casting, "stack")
    padded = [T.expand_dims(v, along) for v in variables]
    return _core.wrap(Join(along)(*padded))


def unstack(x: Any, /, *, axis: int = 0) -> tuple[ndarray, ...]:
    """The slices of ``x`` along ``axis`` (views), as a tuple."""
    array = _array(x)
    if array.ndim == 0:
        raise ValueError("unstack: x must be at least 1-dimensional, got a 0-d array")
    along = _axis(axis, array.ndim)
    count = _concrete_dim(array, along, "unstack")
    head = (slice(None),) * along
    return tuple(_view(getitem(array._variable, head + (i,)), x) for i in range(count))


def atleast_1d(*arys: Any) -> Any:
    """Each input with at least one axis (the input itself when it has)."""
    return _atleast(arys, 1)


def atleast_2d(*arys: Any) -> Any:
    """Each input with at least two axes (a 1-d ``(N,)`` becomes ``(1, N)``)."""
    return _atleast(arys, 2)


def atleast_3d(*arys: Any) -> Any:
    """Each input with at least three axes (``(N,)`` -> ``(1, N, 1)``, ``(M, N)`` ->
    ``(M, N, 1)``)."""
    return _atleast(arys, 3)


_ATLEAST = {
    (1, 0): (1,),
    (2, 0): (1, 1),
    (2, 1): ("x", 0),
    (3, 0): (1, 1, 1),
    (3, 1): ("x", 0, "x"),
    (3, 2): (0, 1, "x"),
}


def _atleast(arys: Sequence[Any], ndim: int) -> Any:
    out = []
    for a in arys:
        x = _array(a)
        if x.ndim >= ndim:
            out.append(x)
            continue
        order = _ATLEAST[(ndim, x.ndim)]
        if x.ndim == 0:
            out.append(_view(T.reshape(x._variable, order), a))
        else:
            out.append(_shuffle(x, order, a))
    return out[0] if len(out) == 1 else tuple(out)


def _tuple_of_arrays(tup: Any, what: str) -> list[Any]:
    if not isinstance(tup, Sequence) and not isinstance(tup, (ndarray, np.ndarray)):
        raise TypeError(
            f"{what}: arrays to stack must be passed as a sequence (list or tuple), got "
            f"{type(tup).__name__}"
        )
    return list(tup)


def _as_list(result: Any) -> list[ndarray]:
    return list(result) if isinstance(result, tuple) else [result]


def hstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> ndarray:
    """Stack horizontally: along axis 1, or axis 0 for 1-d arrays."""
    arrays = _as_list(atleast_1d(*_tuple_of_arrays(tup, "hstack")))
    axis = 0 if arrays and arrays[0].ndim == 1 else 1
    return concat(arrays, axis, dtype=dtype, casting=casting)


def vstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> ndarray:
    """Stack vertically: along axis 0 of the arrays made at least 2-d."""
    arrays = _as_list(atleast_2d(*_tuple_of_arrays(tup, "vstack")))
    return concat(arrays, 0, dtype=dtype, casting=casting)


row_stack = vstack


def dstack(tup: Any) -> ndarray:
    """Stack along the third axis of the arrays made at least 3-d."""
    arrays = _as_list(atleast_3d(*_tuple_of_arrays(tup, "dstack")))
    return concat(arrays, 2)


def column_stack(tup: Any) -> ndarray:
    """1-d arrays as columns of a 2-d array (2-d arrays as they are), side by side."""
    arrays = []
    for a in _tuple_of_arrays(tup, "column_stack"):
        x = _array(a)
        if x.ndim < 2:
            x = _shuffle(x, (0, "x") if x.ndim == 1 else ("x", "x"), a)
        arrays.append(x)
    return concat(arrays, 1)


# ----------------------------------------------------------------------------- splitting
def array_split(ary: Any, indices_or_sections: Any, axis: Any = 0) -> list[ndarray]:
    """Split into sections along ``axis`` (sizes differ by at most one; the first larger),
    or at the given indices. The pieces are views."""
    x = _array(ary)
    along = _axis(axis, x.ndim)
    if isinstance(indices_or_sections, (int, np.integer)) and not isinstance(
        indices_or_sections, bool
    ):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("array_split: number sections must be larger than 0.")
        points = _section_points(x, along, sections)
    else:
        indices = [int(i) for i in np.asarray(_core.concrete(indices_or_sections, "split"))]
        points = [0, *indices, None]
    head = (slice(None),) * along
    return [
        _view(getitem(x._variable, head + (slice(start, stop),)), ary)
        for start, stop in zip(points[:-1], points[1:])
    ]


def _section_points(x: ndarray, along: int, sections: int) -> list[Any]:
    """Where ``sections`` near-equal pieces of axis ``along`` start (the first ones one
    larger), and the end; symbolic when the size is known only to a traced graph."""
    static = x._variable.type.shape[along]
    if static is not None or not _core.is_traced(x):
        total = _concrete_dim(x, along, "array_split")
        each, extra = divmod(total, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        return [0, *np.cumsum(sizes).tolist()]
    size = _core.wrap(T.shape_i(x._variable, along))
    part = _core.elementwise("floor_divide", size, sections)
    rest = _core.elementwise("remainder", size, sections)
    points: list[Any] = []
    for i in range(sections + 1):
        start = _core.elementwise(
            "add", _core.elementwise("multiply", part, i), _core.elementwise("minimum", rest, i)
        )
        points.append(start._variable)
    return points


def split(ary: Any, indices_or_sections: Any, axis: Any = 0) -> list[ndarray]:
    """Split into equal sections (ValueError if they cannot be) or at the given indices."""
    x = _array(ary)
    if isinstance(indices_or_sections, (int, np.integer)) and not isinstance(
        indices_or_sections, bool
    ):
        along = _axis(axis, x.ndim)
        if x._variable.type.shape[along] is None and _core.is_traced(x):
            return array_split(ary, indices_or_sections, axis)  # the size is unknown here
        total = _concrete_dim(x, along, "split")
        if indices_or_sections > 0 and total % int(indices_or_sections):
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


# ----------------------------------------------------------------------------- repetition
def tile(A: Any, reps: Any) -> ndarray:  # noqa: N803 - NumPy's name
    """``A`` repeated ``reps[i]`` times along each axis (NumPy's rank rules).

    >>> import jitgraph.numpy as jnp
    >>> jnp.tile(jnp.arange(2), (2, 2)).tolist()
    [[0, 1, 0, 1], [0, 1, 0, 1]]
    """
    x = _array(A)
    counts = _core.shape_entries(reps, "reps")
    return _core.wrap(T.tile(x._variable, counts))


def repeat(a: Any, repeats: Any, axis: Any = None) -> ndarray:
    """Each element repeated ``repeats`` times (one count, or one per element) along
    ``axis`` (None: of the flattened array)."""
    x = _array(a)
    counts = _repeat_counts(repeats)
    if axis is None or x.ndim == 0:
        if axis is not None:
            _axis(axis, 1)
        flat = T.reshape(x._variable, (-1,))
        return _core.wrap(T.repeat(flat, counts, axis=0))
    return _core.wrap(T.repeat(x._variable, counts, axis=_axis(axis, x.ndim)))


def _repeat_counts(repeats: Any) -> Any:
    if _core.is_traced(repeats):
        var = repeats._variable
        if var.type.numpy_dtype.kind not in "iu":
            raise TypeError(f"repeat: repeats must be integers, got {var.type.numpy_dtype}")
        return cast(var, "int64")
    counts = np.asarray(_core.concrete(repeats, "repeat: repeats"))
    if counts.dtype.kind not in "biu":
        raise TypeError(
            f"repeat: Cannot cast repeats from dtype('{counts.dtype}') to dtype('int64') "
            "according to the rule 'safe'"
        )
    if counts.ndim > 1:
        raise ValueError(f"repeat: repeats must be an int or a 1-d sequence, got {counts.ndim}-d")
    if (counts < 0).any():
        raise ValueError("repeat: repeats may not contain negative values")
    return _core.as_var(counts.astype("int64"))


def roll(a: Any, shift: Any, axis: Any = None) -> ndarray:
    """Elements shifted by ``shift`` along ``axis`` (None: the flattened array), wrapping.

    >>> import jitgraph.numpy as jnp
    >>> jnp.roll(jnp.arange(4), 1).tolist()
    [3, 0, 1, 2]
    """
    x = _array(a)
    var = x._variable
    shifts = list(shift) if isinstance(shift, (tuple, list)) else [shift]
    if axis is None:
        total = sum(_shift(s) for s in shifts)
        return _core.wrap(T.roll(var, total, None))
    axes = list(axis) if isinstance(axis, (tuple, list)) else [axis]
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    elif len(axes) == 1:
        axes = axes * len(shifts)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: shift {shift!r} and axis {axis!r} cannot be broadcast together")
    for one_shift, one_axis in zip(shifts, axes):
        var = T.roll(var, _shift(one_shift), _axis(one_axis, x.ndim))
    return _core.wrap(var)


def _shift(value: Any) -> Any:
    if _core.is_traced(value):
        return value._variable
    if isinstance(value, ndarray):
        value = _core.concrete(value, "roll: shift")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, np.ndarray)):
        raise TypeError(f"roll: shift must be an integer, got {value!r}")
    return int(value)


def flip(m: Any, axis: Any = None) -> ndarray:
    """``m`` with the order of elements reversed along ``axis`` (None: all axes); a view."""
    x = _array(m)
    axes = range(x.ndim) if axis is None else _axes(axis, x.ndim)
    key = tuple(slice(None, None, -1) if n in axes else slice(None) for n in range(x.ndim))
    return _view(getitem(x._variable, key), m)


def fliplr(m: Any) -> ndarray:
    """``m`` reversed along axis 1 (at least 2-d)."""
    if _array(m).ndim < 2:
        raise ValueError("fliplr: the input must be at least 2-d")
    return flip(m, 1)


def flipud(m: Any) -> ndarray:
    """``m`` reversed along axis 0 (at least 1-d)."""
    if _array(m).ndim < 1:
        raise ValueError("flipud: the input must be at least 1-d")
    return flip(m, 0)


# ----------------------------------------------------------------------------- padding
_INDEX_MODES = ("edge", "reflect", "symmetric", "wrap")


def pad(array: Any, pad_width: Any, mode: Any = "constant", **kwargs: Any) -> ndarray:
    """``array`` padded by ``pad_width`` (NumPy's forms: an int, a pair, one pair per
    axis). Modes: 'constant' (``constant_values``), 'empty' (zeros here), 'edge',
    'reflect', 'symmetric' and 'wrap' (``reflect_type='even'``).

    >>> import jitgraph.numpy as jnp
    >>> jnp.pad(jnp.arange(3), 1, mode="edge").tolist()
    [0, 0, 1, 2, 2]
    """
    x = _array(array)
    widths = _pairs(pad_width, x.ndim, "pad_width")
    if (widths < 0).any():
        raise ValueError("pad: pad_width can't contain negative values")
    if mode in ("constant", "empty"):
        values = _pairs(kwargs.pop("constant_values", 0), x.ndim, "constant_values", False)
        _no_options(kwargs, mode)
        return _pad_constant(x, widths, values)
    if mode in _INDEX_MODES:
        if kwargs.pop("reflect_type", "even") != "even":
            raise NotImplementedError("pad: only reflect_type='even' is supported")
        _no_options(kwargs, mode)
        return _pad_by_index(x, widths, mode)
    raise NotImplementedError(
        f"pad: mode {mode!r} is not supported by jitgraph.numpy (supported: 'constant', "
        "'empty', 'edge', 'reflect', 'symmetric', 'wrap')"
    )


def _no_options(kwargs: dict[str, Any], mode: str) -> None:
    if kwargs:
        raise ValueError(f"pad: unsupported keyword arguments for mode {mode!r}: {set(kwargs)}")


def _pairs(value: Any, ndim: int, what: str, as_int: bool = True) -> np.ndarray:
    """NumPy's ``(before, after)`` pair per axis from a scalar, a pair or a pair per axis."""
    data = np.asarray(_core.concrete(value, f"pad: {what}"))
    if as_int:
        if data.dtype.kind not in "biu":
            raise TypeError(f"pad: {what} must be of integral type, got {data.dtype}")
        data = data.astype(np.int64)
    try:
        return np.broadcast_to(data, (ndim, 2))
    except ValueError:
        raise ValueError(
            f"pad: {what} of shape {data.shape} cannot be broadcast to ({ndim}, 2)"
        ) from None


def _pad_constant(x: ndarray, widths: np.ndarray, values: np.ndarray) -> ndarray:
    var = x._variable
    for n in range(x.ndim):
        before, after = (int(w) for w in widths[n])
        if not before and not after:
            continue
        dims = [d if d is not None else T.shape_i(var, i) for i, d in enumerate(var.type.shape)]
        pieces = []
        for width, value in ((before, values[n][0]), (after, values[n][1])):
            fill = np.empty((), dtype=x.dtype)
            fill[()] = value
            sizes = [*dims[:n], width, *dims[n + 1 :]]
            pieces.append(Alloc()(_core.as_var(fill), *sizes))
        var = Join(n)(pieces[0], var, pieces[1])
    return _core.wrap(var)


def _pad_by_index(x: ndarray, widths: np.ndarray, mode: str) -> ndarray:
    var = x._variable
    for n in range(x.ndim):
        before, after = (int(w) for w in widths[n])
        if not before and not after:
            continue
        size = _concrete_dim(x, n, "pad")
        if size == 0:
            raise ValueError(
                f"can't extend empty axis {n} using modes other than 'constant' or 'empty'"
            )
        index = np.pad(np.arange(size), (before, after), mode=mode)  # type: ignore[call-overload]
        var = getitem(var, (slice(None),) * n + (index,))
    return _core.wrap(var)


__all__ = [
    "array_split",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "broadcast_arrays",
    "broadcast_shapes",
    "broadcast_to",
    "column_stack",
    "concat",
    "concatenate",
    "dstack",
    "expand_dims",
    "flatten",
    "flip",
    "fliplr",
    "flipud",
    "hstack",
    "matrix_transpose",
    "moveaxis",
    "pad",
    "permute_dims",
    "ravel",
    "repeat",
    "reshape",
    "roll",
    "row_stack",
    "split",
    "squeeze",
    "stack",
    "swapaxes",
    "tile",
    "transpose",
    "unstack",
    "vstack",
]
