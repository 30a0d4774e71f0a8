"""Shape manipulation functions of the Theano front end (creation functions live in
jitgraph.tensor.creation and are re-exported here).

Shape arguments may mix Python ints with symbolic integer scalars (``x.shape[0]``,
``T.iscalar()``), or be an integer vector of known length.

>>> import jitgraph.tensor as T
>>> T.dmatrix().T.type
TensorType(float64, matrix)
>>> T.reshape(T.dtensor3("x"), (T.lscalar("n"), -1)).type
TensorType(float64, matrix)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph.ir.graph import Const, Var
from jitgraph.ops.joining import Join, Repeat, Roll, Split, Tile
from jitgraph.ops.reduce import REDUCTIONS, Reduce
from jitgraph.ops.shape import (
    DimShuffle,
    Rebroadcast,
    Reshape,
    Shape,
    SpecifyShape,
    TensorCopy,
    as_shape_scalars,
    int64_constant,
    multiply,
    shape_scalars,
)
from jitgraph.tensor import creation as _creation
from jitgraph.tensor.basic import as_tensor_variable
from jitgraph.tensor.creation import *  # noqa: F403 - re-exported: jitgraph.tensor star-imports us


def _axis(axis: Any, ndim: int, what: str) -> int:
    """``axis`` (an int, possibly negative, or an integer constant) in ``[0, ndim)``."""
    if isinstance(axis, Const) and axis.data.ndim == 0:
        axis = axis.data.item()
    if isinstance(axis, Var):
        raise TypeError(f"{what}: axis must be a Python int, got the symbolic {axis.describe()}")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{what}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for a {ndim}-d tensor")
    return int(axis) % ndim


def _axes(axis: Any, ndim: int, what: str) -> tuple[int, ...]:
    items = axis if isinstance(axis, (tuple, list)) else [axis]
    axes = tuple(_axis(a, ndim, what) for a in items)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{what}: axis {axis!r} repeats an axis")
    return axes


# ----------------------------------------------------------------------------- shape queries
def shape(x: Any) -> Var:
    """The symbolic shape of ``x``: an int64 vector of length ``x.ndim``.

    >>> import jitgraph.tensor as T
    >>> T.shape(T.dmatrix()).type.shape
    (2,)
    """
    return Shape()(as_tensor_variable(x))


def shape_i(x: Any, i: int) -> Var:
    """``x.shape[i]`` as an int64 scalar (a constant when the static shape knows it).

    >>> import jitgraph.tensor as T
    >>> shape_i(T.tensor("float64", (None, 3)), 1).data
    array(3)
    """
    x = as_tensor_variable(x)
    return shape_scalars(x)[_axis(i, x.type.ndim, "shape_i")]


def size(x: Any) -> Var:
    """The number of elements of ``x`` (the product of its shape), an int64 scalar.

    >>> import jitgraph.tensor as T
    >>> T.size(T.dmatrix()).type
    TensorType(int64, scalar)
    """
    x = as_tensor_variable(x)
    dims = x.type.shape
    if None not in dims:
        return int64_constant(math.prod(dims))
    return Reduce(REDUCTIONS["prod"], (0,))(shape(x))


# ----------------------------------------------------------------------------- reshape family
def reshape(x: Any, newshape: Any, ndim: int | None = None) -> Var:
    """``x`` with shape ``newshape``: ints, symbolic int scalars or -1 (inferred once), or an
    int vector (give ``ndim`` when its length is not static). A size mismatch raises
    ValueError when the graph is built (static sizes) or when it runs.

    >>> import jitgraph.tensor as T
    >>> T.reshape(T.tensor("float64", (2, 6)), (3, -1)).type
    TensorType(float64, (3, 4))
    """
    x = as_tensor_variable(x)
    sizes = as_shape_scalars(newshape, "reshape: newshape", ndim)
    if ndim is not None and len(sizes) != ndim:
        raise ValueError(f"reshape: newshape has {len(sizes)} entries but ndim={ndim}")
    return Reshape(len(sizes))(x, *sizes)


def flatten(x: Any, ndim: int = 1, outdim: int | None = None) -> Var:
    """Theano's flatten: keep the first ``ndim - 1`` axes, merge the rest into one.
    (``outdim`` is Theano's older name of ``ndim``.)

    >>> import jitgraph.tensor as T
    >>> T.flatten(T.tensor("float64", (2, 3, 4)), 2).type
    TensorType(float64, (2, 12))
    """
    x = as_tensor_variable(x)
    ndim = ndim if outdim is None else outdim
    have = x.type.ndim
    if (
        isinstance(ndim, bool)
        or not isinstance(ndim, (int, np.integer))
        or not 1 <= ndim <= max(have, 1)
    ):
        raise ValueError(f"flatten: ndim must be an int in [1, {max(have, 1)}], got {ndim!r}")
    dims = shape_scalars(x)
    last = int64_constant(1)
    for size_var in dims[ndim - 1 :]:
        last = multiply(last, size_var)
    return Reshape(ndim)(x, *dims[: ndim - 1], last)


def dimshuffle(x: Any, *pattern: Any) -> Var:
    """Reorder axes and insert ('x') or drop broadcastable ones: ``x.dimshuffle(1, 'x', 0)``."""
    x = as_tensor_variable(x)
    if len(pattern) == 1 and isinstance(pattern[0], (tuple, list)):
        pattern = tuple(pattern[0])
    return DimShuffle(x.type.ndim, tuple(pattern))(x)


def transpose(x: Any, axes: Any = None) -> Var:
    """Permute the axes (reverse them when ``axes`` is None)."""
    x = as_tensor_variable(x)
    ndim = x.type.ndim
    order = tuple(reversed(range(ndim))) if axes is None else tuple(int(a) % ndim for a in axes)
    if sorted(order) != list(range(ndim)):
        raise ValueError(f"transpose axes {axes!r} are not a permutation of {ndim} axes")
    return DimShuffle(ndim, order)(x)


def swapaxes(x: Any, axis1: int, axis2: int) -> Var:
    """``x`` with axes ``axis1`` and ``axis2`` exchanged (NumPy's swapaxes).

    >>> import jitgraph.tensor as T
    >>> T.swapaxes(T.tensor("float64", (2, 3, 4)), 0, -1).type
    TensorType(float64, (4, 3, 2))
    """
    x = as_tensor_variable(x)
    ndim = x.type.ndim
    a, b = _axis(axis1, ndim, "swapaxes"), _axis(axis2, ndim, "swapaxes")
    order: list[int | str] = list(range(ndim))
    order[a], order[b] = b, a
    return DimShuffle(ndim, tuple(order))(x)


def squeeze(x: Any, axis: Any = None) -> Var:
    """Drop axes of size 1. ``axis=None`` drops the static-1 (broadcastable) axes; named
    axes must have size 1 (statically, or checked at run time when their size is unknown).

    >>> import jitgraph.tensor as T
    >>> T.squeeze(T.tensor("float64", (1, 3, 1))).type.shape
    (3,)
    """
    x = as_tensor_variable(x)
    xshape = x.type.shape
    if axis is None:
        axes = tuple(a for a, n in enumerate(xshape) if n == 1)
    else:
        axes = _axes(axis, len(xshape), "squeeze")
    for a in axes:
        if xshape[a] not in (None, 1):
            raise ValueError(
                f"squeeze: cannot drop axis {a} of {x.describe()}: its static size is "
                f"{xshape[a]}, not 1"
            )
    unknown = tuple(a for a in axes if xshape[a] is None)
    if unknown:
        x = addbroadcast(x, *unknown)
    keep = tuple(a for a in range(len(xshape)) if a not in axes)
    return DimShuffle(len(xshape), keep)(x)


def expand_dims(x: Any, axis: Any) -> Var:
    """Insert broadcastable axes at positions ``axis`` of the result (NumPy's rule).

    >>> import jitgraph.tensor as T
    >>> T.expand_dims(T.dvector(), (0, -1)).type
    TensorType(float64, (1, ?, 1))
    """
    x = as_tensor_variable(x)
    ndim = x.type.ndim
    count = len(axis) if isinstance(axis, (tuple, list)) else 1
    axes = _axes(axis, ndim + count, "expand_dims")
    source = iter(range(ndim))
    order = tuple("x" if a in axes else next(source) for a in range(ndim + count))
    return DimShuffle(ndim, order)(x)


def shape_padleft(x: Any, n_ones: int = 1) -> Var:
    """Prepend ``n_ones`` broadcastable axes.

    >>> import jitgraph.tensor as T
    >>> T.shape_padleft(T.dvector(), 2).type
    TensorType(float64, (1, 1, ?))
    """
    x = as_tensor_variable(x)
    ndim = x.type.ndim
    return DimShuffle(ndim, ("x",) * n_ones + tuple(range(ndim)))(x)


def shape_padright(x: Any, n_ones: int = 1) -> Var:
    """Append ``n_ones`` broadcastable axes.

    >>> import jitgraph.tensor as T
    >>> T.shape_padright(T.dvector()).type
    TensorType(float64, col)
    """
    x = as_tensor_variable(x)
    ndim = x.type.ndim
    return DimShuffle(ndim, tuple(range(ndim)) + ("x",) * n_ones)(x)


def shape_padaxis(x: Any, axis: int) -> Var:
    """Insert one broadcastable axis at ``axis`` (in ``[-ndim - 1, ndim]``).

    >>> import jitgraph.tensor as T
    >>> T.shape_padaxis(T.dmatrix(), 1).type
    TensorType(float64, (?, 1, ?))
    """
    return expand_dims(x, axis)


# ----------------------------------------------------------------------------- static types
def addbroadcast(x: Any, *axes: int) -> Var:
    """Declare ``axes`` broadcastable (static size 1), checked when the function runs.

    >>> import jitgraph.tensor as T
    >>> T.addbroadcast(T.dmatrix(), 0).type
    TensorType(float64, row)
    """
    return patternbroadcast(x, _pattern(x, axes, True))


def unbroadcast(x: Any, *axes: int) -> Var:
    """Forget that ``axes`` are broadcastable (their static size 1 becomes unknown).

    >>> import jitgraph.tensor as T
    >>> T.unbroadcast(T.drow(), 0).type
    TensorType(float64, matrix)
    """
    return patternbroadcast(x, _pattern(x, axes, False))


def _pattern(x: Any, axes: Sequence[int], flag: bool) -> list[bool]:
    x = as_tensor_variable(x)
    pattern = list(x.type.broadcastable)
    for a in _axes(list(axes), len(pattern), "addbroadcast" if flag else "unbroadcast"):
        pattern[a] = flag
    return pattern


def patternbroadcast(x: Any, broadcastable: Sequence[bool]) -> Var:
    """``x`` with the broadcastable pattern ``broadcastable`` (one bool per axis).

    >>> import jitgraph.tensor as T
    >>> T.patternbroadcast(T.dmatrix(), (False, True)).type
    TensorType(float64, col)
    """
    x = as_tensor_variable(x)
    have = x.type.broadcastable
    if len(broadcastable) != len(have):
        raise ValueError(
            f"patternbroadcast: {x.describe()} is {len(have)}-d but the pattern "
            f"{tuple(broadcastable)} has {len(broadcastable)} entries"
        )
    changes = tuple((a, bool(b)) for a, b in enumerate(broadcastable) if bool(b) != have[a])
    return Rebroadcast(changes)(x) if changes else x


def specify_shape(x: Any, shape: Any) -> Var:
    """``x`` with its shape asserted when the function runs; the static type gains the
    sizes known when the graph is built. Entries may be None (not checked).

    >>> import jitgraph.tensor as T
    >>> T.specify_shape(T.dmatrix(), (2, None)).type
    TensorType(float64, (2, ?))
    """
    x = as_tensor_variable(x)
    ndim = x.type.ndim
    if isinstance(shape, (list, tuple)):
        axes = tuple(a for a, s in enumerate(shape) if s is not None)
        sizes = as_shape_scalars([s for s in shape if s is not None], "specify_shape: shape")
        count = len(shape)
    else:
        sizes = as_shape_scalars(shape, "specify_shape: shape", ndim)
        axes, count = tuple(range(len(sizes))), len(sizes)
    if count != ndim:
        raise ValueError(
            f"specify_shape: {x.describe()} is {ndim}-d but the shape has {count} entries"
        )
    return SpecifyShape(axes)(x, *sizes) if axes else x


def tensor_copy(x: Any, name: str | None = None) -> Var:
    """A new variable holding a copy of ``x``'s value.

    >>> import jitgraph.tensor as T
    >>> T.tensor_copy(T.dvector(), name="c").name
    'c'
    """
    out = TensorCopy()(as_tensor_variable(x))
    if name is not None:
        out.name = name
    return out


# ----------------------------------------------------------------------------- joining
def join(axis: Any, *tensors: Any) -> Var:
    """Concatenate ``tensors`` (equal ndim) along ``axis`` (Theano's argument order); the
    dtype is their upcast. One tensor is returned as it is.

    >>> import jitgraph.tensor as T
    >>> T.join(0, T.tensor("int8", (2, 3)), T.tensor("float32", (None, 3))).type
    TensorType(float32, (?, 3))
    """
    if not tensors:
        raise ValueError("join needs at least one tensor")
    ins = [as_tensor_variable(t) for t in tensors]
    ndim = ins[0].type.ndim
    if ndim == 0:
        raise TypeError("join: 0-d tensors cannot be joined along an axis (use stack)")
    op = Join(_axis(axis, ndim, "join"))
    return ins[0] if len(ins) == 1 else op(*ins)


def concatenate(tensor_list: Sequence[Any], axis: int = 0) -> Var:
    """Concatenate a list of tensors along ``axis`` (NumPy's argument order).

    >>> import jitgraph.tensor as T
    >>> T.concatenate([T.dvector(), T.dvector()]).type
    TensorType(float64, vector)
    """
    if not isinstance(tensor_list, (list, tuple)):
        raise TypeError(
            "concatenate takes a list or tuple of tensors as its first argument, got "
            f"{type(tensor_list).__name__} (did you mean concatenate([a, b])?)"
        )
    return join(axis, *tensor_list)


def stack(*tensors: Any, axis: int = 0) -> Var:
    """Join tensors of equal ndim along a new axis ``axis``. Theano's forms work:
    ``stack([a, b])``, ``stack([a, b], 1)`` and ``stack(a, b)``.

    >>> import jitgraph.tensor as T
    >>> T.stack([T.dvector(), T.dvector()], axis=1).type
    TensorType(float64, (?, 2))
    """
    items: Sequence[Any] = tensors
    if tensors and isinstance(tensors[0], (list, tuple)):
        if len(tensors) > 2:
            raise TypeError("stack takes a list of tensors and an optional axis")
        items, axis = tensors[0], (tensors[1] if len(tensors) == 2 else axis)
    if not items:
        raise ValueError("stack needs at least one tensor")
    ins = [as_tensor_variable(t) for t in items]
    ndim = ins[0].type.ndim
    for position, var in enumerate(ins):
        if var.type.ndim != ndim:
            raise TypeError(
                f"stack: all tensors must have the same ndim; tensor 0 is {ndim}-d but tensor "
                f"{position} ({var.describe()}) is {var.type.ndim}-d"
            )
    new_axis = _axis(axis, ndim + 1, "stack")
    padded = [expand_dims(var, new_axis) for var in ins]
    return Join(new_axis)(*padded)


def stacklists(arg: Any) -> Any:
    """Stack nested lists of tensors into one tensor (the nesting gives the leading axes).

    >>> import jitgraph.tensor as T
    >>> a, b, c, d = T.scalars("a", "b", "c", "d")
    >>> T.stacklists([[a, b], [c, d]]).ndim
    2
    """
    if isinstance(arg, (tuple, list)):
        return stack([stacklists(item) for item in arg])
    return arg


def split(x: Any, splits_size: Any, n_splits: int, axis: int = 0) -> list[Var]:
    """Split ``x`` along ``axis`` into ``n_splits`` pieces of sizes ``splits_size`` (an int
    vector summing to the axis' size); returns a list of ``n_splits`` variables.

    >>> import jitgraph.tensor as T
    >>> [p.type.shape for p in T.split(T.tensor("float64", (5,)), [2, 3], 2)]
    [(2,), (3,)]
    """
    x = as_tensor_variable(x)
    ndim = x.type.ndim
    if ndim == 0:
        raise TypeError(f"split: {x.describe()} is 0-d; it has no axis to split")
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)):
        raise TypeError(f"split: n_splits must be a Python int, got {n_splits!r}")
    node = Split(int(n_splits), _axis(axis, ndim, "split")).make_node(x, splits_size)
    return list(node.outputs)


# ----------------------------------------------------------------------------- repetition
def tile(x: Any, reps: Any, ndim: int | None = None) -> Var:
    """NumPy's tile: ``x`` repeated ``reps[i]`` times along each axis. ``reps`` is ints and
    int scalars, or an int vector (of static length, or of length ``ndim``). The result
    has ``max(x.ndim, len(reps))`` axes (``ndim`` may ask for more).

    >>> import jitgraph.tensor as T
    >>> T.tile(T.tensor("float64", (2, 3)), (2, 1)).type
    TensorType(float64, (4, 3))
    """
    x = as_tensor_variable(x)
    have = x.type.ndim
    if ndim is not None and ndim < have:
        raise ValueError(f"tile: ndim={ndim} is less than the ndim of {x.describe()} ({have})")
    counts = as_shape_scalars(reps, "tile: reps", ndim if _is_vector(reps) else None)
    out_ndim = max(have, len(counts), ndim or 0)
    counts = [int64_constant(1)] * (out_ndim - len(counts)) + counts
    x = DimShuffle(have, ("x",) * (out_ndim - have) + tuple(range(have)))(x)
    return Tile()(x, *counts)


def _is_vector(value: Any) -> bool:
    return isinstance(value, Var) and value.type.ndim == 1


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Var:
    """NumPy's repeat: each element repeated ``repeats`` times along ``axis`` (None: of the
    flattened ``x``). ``repeats`` is an int scalar or one count per element of the axis.

    >>> import jitgraph.tensor as T
    >>> T.repeat(T.tensor("float64", (2, 3)), 2, axis=1).type
    TensorType(float64, (2, 6))
    """
    x = as_tensor_variable(x)
    if axis is None:
        x, axis = flatten(x, 1), 0
    if x.type.ndim == 0:
        raise TypeError(f"repeat: {x.describe()} is 0-d; give axis=None")
    return Repeat(_axis(axis, x.type.ndim, "repeat"))(x, repeats)


def roll(x: Any, shift: Any, axis: Any = None) -> Var:
    """NumPy's roll: elements shifted by ``shift`` along ``axis`` (None: the flattened array,
    shape kept). ``shift`` and ``axis`` may be equal-length tuples.

    >>> import jitgraph.tensor as T
    >>> T.roll(T.dmatrix(), 1, axis=-1).type
    TensorType(float64, matrix)
    """
    x = as_tensor_variable(x)
    if isinstance(shift, (tuple, list)) or isinstance(axis, (tuple, list)):
        shifts = list(shift) if isinstance(shift, (tuple, list)) else [shift] * len(axis)
        axes = list(axis) if isinstance(axis, (tuple, list)) else [axis] * len(shifts)
        if len(shifts) != len(axes):
            raise ValueError(f"roll: shift {shift!r} and axis {axis!r} differ in length")
        for one_shift, one_axis in zip(shifts, axes):
            x = roll(x, one_shift, one_axis)
        return x
    if axis is not None:
        axis = _axis(axis, x.type.ndim, "roll")
    return Roll(axis)(x, shift)


def flip(x: Any, axis: Any = None) -> Var:
    """NumPy's flip: the order of elements reversed along ``axis`` (None: every axis).

    >>> import jitgraph.tensor as T
    >>> T.flip(T.dmatrix(), 0).type
    TensorType(float64, matrix)
    """
    from jitgraph.tensor.subtensor import getitem

    x = as_tensor_variable(x)
    ndim = x.type.ndim
    axes = tuple(range(ndim)) if axis is None else _axes(axis, ndim, "flip")
    if not axes:
        return x
    key = tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(ndim))
    return getitem(x, key)


__all__ = [
    "addbroadcast",
    "concatenate",
    "dimshuffle",
    "expand_dims",
    "flatten",
    "flip",
    "join",
    "patternbroadcast",
    "repeat",
    "reshape",
    "roll",
    "shape",
    "shape_i",
    "shape_padaxis",
    "shape_padleft",
    "shape_padright",
    "size",
    "specify_shape",
    "split",
    "squeeze",
    "stack",
    "stacklists",
    "swapaxes",
    "tensor_copy",
    "tile",
    "transpose",
    "unbroadcast",
    *_creation.__all__,
]
