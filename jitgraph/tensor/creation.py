"""Array creation functions of the Theano front end: alloc, zeros, ones, fill, arange,
eye, mgrid, ... (re-exported by jitgraph.tensor.shape, so ``T.zeros`` works).

Shapes may mix Python ints with symbolic integer scalars, or be an int vector of known
length. Dtype rules, where Theano and NumPy differ, are stated on each function.

>>> import jitgraph.tensor as T
>>> T.zeros((2, T.lscalar("n")), dtype="int32").type
TensorType(int32, (2, ?))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.config import config
from jitgraph.ir.graph import Var
from jitgraph.ops.creation import Alloc, ARange, Eye, Tri
from jitgraph.ops.shape import DimShuffle, as_int_scalar, as_shape_scalars, shape_scalars
from jitgraph.tensor.basic import as_tensor_variable, constant


def _dtype(dtype: Any, default: str) -> str:
    return default if dtype is None else dtypes.canonical(dtype)


def _shape_arguments(shape: Sequence[Any], what: str) -> list[Var]:
    """``*shape`` of alloc: scalars, or a single sequence or vector holding them."""
    if len(shape) == 1 and not np.isscalar(shape[0]):
        single = shape[0]
        if isinstance(single, (list, tuple, np.ndarray)) or as_tensor_variable(single).type.ndim:
            return as_shape_scalars(single, what)
    return [as_int_scalar(s, f"{what}[{i}]") for i, s in enumerate(shape)]


# ----------------------------------------------------------------------------- alloc family
def alloc(value: Any, *shape: Any) -> Var:
    """An array of shape ``shape`` filled with ``value`` (broadcast NumPy-style: its dims
    align to the right and must be 1 or equal). The dtype is ``value``'s (Python scalars
    get Theano's autocast dtype: ``alloc(0, 3)`` is int8).

    >>> import jitgraph.tensor as T
    >>> T.alloc(T.dvector("v"), 4, 3).type
    TensorType(float64, (4, 3))
    """
    return Alloc()(as_tensor_variable(value), *_shape_arguments(shape, "alloc: shape"))


def broadcast_to(x: Any, shape: Any) -> Var:
    """NumPy's broadcast_to: ``x`` repeated along new leading axes and its size-1 axes to
    reach ``shape`` (the result is a fresh array).

    >>> import jitgraph.tensor as T
    >>> T.broadcast_to(T.drow(), (5, 3)).type
    TensorType(float64, (5, 3))
    """
    return Alloc()(as_tensor_variable(x), *as_shape_scalars(shape, "broadcast_to: shape"))


def fill(model: Any, value: Any) -> Var:
    """Theano's fill (``second``): ``value`` broadcast to the shape of ``model`` (both
    broadcast together NumPy-style). The dtype is ``value``'s, as in Theano, so
    ``x.fill(0)`` is int8: pass a typed value (``np.float64(0)``) to choose it.

    >>> import jitgraph.tensor as T
    >>> T.fill(T.dmatrix(), T.fscalar()).type
    TensorType(float32, matrix)
    """
    model, value = as_tensor_variable(model), as_tensor_variable(value)
    ndim = max(model.type.ndim, value.type.ndim)
    model_dims = [None] * (ndim - model.type.ndim) + shape_scalars(model)
    value_dims = [None] * (ndim - value.type.ndim) + shape_scalars(value)
    model_shape = (1,) * (ndim - model.type.ndim) + model.type.shape
    # Where the model is broadcastable, the value's size decides (as in Elemwise).
    sizes = [
        value_dims[a] if model_shape[a] == 1 and value_dims[a] is not None else model_dims[a]
        for a in range(ndim)
    ]
    sizes = [s if s is not None else constant(1, dtype="int64") for s in sizes]
    return Alloc()(value, *sizes)


second = fill


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Var:
    """NumPy's full: an array of ``shape`` filled with ``fill_value``; the dtype defaults
    to NumPy's for the value (int64 for a Python int, float64 for a float).

    >>> import jitgraph.tensor as T
    >>> T.full((2, 2), 7).type
    TensorType(int64, (2, 2))
    """
    value = _fill_value(fill_value, dtype)
    return Alloc()(value, *as_shape_scalars(shape, "full: shape"))


def _fill_value(fill_value: Any, dtype: Any) -> Var:
    from jitgraph.tensor.math import cast

    if isinstance(fill_value, Var):
        return fill_value if dtype is None else cast(fill_value, dtype)
    data = np.asarray(fill_value)
    return constant(data, dtype=data.dtype if dtype is None else dtype)


def zeros(shape: Any, dtype: Any = None) -> Var:
    """An array of zeros of ``shape`` (an int, ints and int scalars, or an int vector);
    the dtype defaults to config.floatX.

    >>> import jitgraph.tensor as T
    >>> T.zeros(3).type.shape
    (3,)
    """
    value = constant(0, dtype=_dtype(dtype, config.floatX))
    return Alloc()(value, *as_shape_scalars(shape, "zeros: shape"))


def ones(shape: Any, dtype: Any = None) -> Var:
    """An array of ones of ``shape``; the dtype defaults to config.floatX.

    >>> import jitgraph.tensor as T
    >>> T.ones((2, 3), dtype="int8").type
    TensorType(int8, (2, 3))
    """
    value = constant(1, dtype=_dtype(dtype, config.floatX))
    return Alloc()(value, *as_shape_scalars(shape, "ones: shape"))


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Var:
    """An array shaped like ``x`` filled with ``fill_value``, of ``x``'s dtype by default.

    >>> import jitgraph.tensor as T
    >>> T.full_like(T.imatrix(), 2.5, dtype="float32").type
    TensorType(float32, matrix)
    """
    x = as_tensor_variable(x)
    target = _dtype(dtype, x.type.dtype)
    return Alloc()(_fill_value(fill_value, target), *shape_scalars(x))


def zeros_like(x: Any, dtype: Any = None) -> Var:
    """Zeros shaped like ``x`` (static shape kept), of ``x``'s dtype by default.

    >>> import jitgraph.tensor as T
    >>> T.zeros_like(T.frow()).type
    TensorType(float32, row)
    """
    return full_like(x, 0, dtype)


def ones_like(x: Any, dtype: Any = None) -> Var:
    """Ones shaped like ``x``, of ``x``'s dtype by default.

    >>> import jitgraph.tensor as T
    >>> T.ones_like(T.bvector(), dtype="float64").type
    TensorType(float64, vector)
    """
    return full_like(x, 1, dtype)


# ----------------------------------------------------------------------------- ranges
def _bound(value: Any, what: str) -> Var:
    """An arange bound; Python numbers take NumPy's dtype (int64, float64)."""
    if _is_python_number(value):
        value = np.asarray(value)
    var = as_tensor_variable(value)
    vtype = var.type
    if vtype.ndim != 0 or vtype.dtype in dtypes.COMPLEX:
        raise TypeError(
            f"arange: {what} must be a real scalar, got {var.describe()} ({vtype.describe()})"
        )
    return var


def arange_dtype(bounds: Sequence[tuple[str, bool]]) -> str:
    """The default dtype of arange from ``(dtype, weak)`` bounds (weak: a Python number,
    counted as int64/float64). Promotion is NEP 50's (a Python number raises the kind,
    not the width, of symbolic bounds); integers are then widened to int64 (uint64 for
    unsigned) as Theano does, so ``arange(n)`` never overflows a small int.

    >>> arange_dtype([("int8", False), ("int64", True)])
    'int64'
    >>> arange_dtype([("int64", True), ("float32", False), ("float64", True)])
    'float32'
    """
    result = dtypes.result_dtype(bounds)
    if result == "bool" or result in dtypes.SIGNED:
        return "int64"
    if result in dtypes.UNSIGNED:
        return "uint64"
    return result


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> Var:
    """NumPy's arange with symbolic bounds allowed. The default dtype is
    ``arange_dtype`` of the bounds: ``arange(10)`` is int64, ``arange(0.5)`` float64,
    ``arange(T.fscalar())`` and ``arange(0, T.fscalar(), 0.5)`` float32,
    ``arange(T.iscalar())`` int64.

    >>> import jitgraph.tensor as T
    >>> T.arange(2, 10, 3).type.shape, T.arange(2, 10, 3).dtype
    ((3,), 'int64')
    """
    if stop is None:
        start, stop = 0, start
    given = ((start, "start"), (stop, "stop"), (step, "step"))
    weak = [_is_python_number(value) for value, _ in given]
    bounds = [_bound(value, what) for value, what in given]
    if dtype is None:
        out_dtype = arange_dtype([(b.type.dtype, w) for b, w in zip(bounds, weak)])
    else:
        out_dtype = dtypes.canonical(dtype)
    return ARange(out_dtype)(*bounds)


def _is_python_number(value: Any) -> bool:
    return isinstance(value, (bool, int, float)) and not isinstance(value, np.generic)


class _NdGrid:
    """``mgrid`` / ``ogrid``: index with slices of (symbolic) ints to get the grids, as a
    list of ndim arrays (Theano returns a list where NumPy stacks them)."""

    def __init__(self, sparse: bool) -> None:
        self.sparse = sparse

    def __getitem__(self, key: Any) -> list[Var]:
        slices = key if isinstance(key, tuple) else (key,)
        for item in slices:
            if not isinstance(item, slice) or item.stop is None:
                raise TypeError(f"{self} takes slices with a stop, like [0:5, 0:3], got {item!r}")
            if isinstance(item.step, complex):
                raise NotImplementedError(f"{self}: complex steps (point counts) are not supported")
        ndim = len(slices)
        ranges = [
            arange(
                s.start if s.start is not None else 0, s.stop, s.step if s.step is not None else 1
            )
            for s in slices
        ]
        grids = []
        for axis, values in enumerate(ranges):
            order = tuple(0 if a == axis else "x" for a in range(ndim))
            grids.append(DimShuffle(1, order)(values))
        if self.sparse:
            return grids
        full_shape = [shape_scalars(values)[0] for values in ranges]
        return [Alloc()(grid, *full_shape) for grid in grids]

    def __repr__(self) -> str:
        return "ogrid" if self.sparse else "mgrid"


mgrid = _NdGrid(sparse=False)
ogrid = _NdGrid(sparse=True)


# ----------------------------------------------------------------------------- matrices
def eye(n: Any, m: Any = None, k: Any = 0, dtype: Any = None) -> Var:
    """An ``n`` x ``m`` matrix with ones on the ``k``-th diagonal (sizes may be symbolic);
    the dtype defaults to config.floatX.

    >>> import jitgraph.tensor as T
    >>> T.eye(3, k=1).type
    TensorType(float64, (3, 3))
    """
    target = _dtype(dtype, config.floatX)
    return Eye(target)(n, n if m is None else m, k)


def identity_like(x: Any) -> Var:
    """The identity matrix shaped like the matrix ``x``, of ``x``'s dtype.

    >>> import jitgraph.tensor as T
    >>> T.identity_like(T.imatrix()).type
    TensorType(int32, matrix)
    """
    x = as_tensor_variable(x)
    if x.type.ndim != 2:
        raise TypeError(f"identity_like: {x.describe()} must be a matrix, got {x.type.describe()}")
    rows, columns = shape_scalars(x)
    return Eye(x.type.dtype)(rows, columns, 0)


def tri(N: Any, M: Any = None, k: Any = 0, dtype: Any = None) -> Var:  # noqa: N803 - NumPy's names
    """NumPy's tri: ones at and below the ``k``-th diagonal of an ``N`` x ``M`` matrix;
    the dtype defaults to config.floatX.

    >>> import jitgraph.tensor as T
    >>> T.tri(3, 4).type
    TensorType(float64, (3, 4))
    """
    target = _dtype(dtype, config.floatX)
    return Tri(target)(N, N if M is None else M, k)


__all__ = [
    "alloc",
    "arange",
    "broadcast_to",
    "eye",
    "fill",
    "full",
    "full_like",
    "identity_like",
    "mgrid",
    "ogrid",
    "ones",
    "ones_like",
    "second",
    "tri",
    "zeros",
    "zeros_like",
]
