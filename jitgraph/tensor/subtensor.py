"""Indexing in the Theano front end: ``x[...]``, ``set_subtensor``, ``inc_subtensor``,
``take`` and the ``nonzero`` family.

Indices follow NumPy: ints (negative too), slices with any bounds and steps, ``None``,
``Ellipsis``, symbolic integer scalars, integer arrays (lists, NumPy arrays or symbolic)
and boolean masks; advanced indexing always copies.

>>> import jitgraph, numpy as np, jitgraph.tensor as T
>>> x = T.dvector("x")
>>> f = jitgraph.function([x], [x[::-1], x[x > 1.0], T.inc_subtensor(x[[0, 0]], 1.0)])
>>> [r.tolist() for r in f(np.array([1.0, 2.0, 3.0]))]
[[3.0, 2.0, 1.0], [2.0, 3.0], [3.0, 2.0, 3.0]]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.ir.graph import Var
from jitgraph.ops.indexing import (
    Nonzero,
    Subtensor,
    increment_op,
    indexing_op,
    split_index,
)
from jitgraph.tensor.basic import as_tensor_variable, constant

_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def getitem(x: Any, key: Any) -> Var:
    """``x[key]`` with NumPy's semantics (what ``x[...]`` calls).

    >>> import jitgraph.tensor as T
    >>> T.dtensor3("t")[..., None, 0].type.shape
    (None, None, 1)
    """
    x = as_tensor_variable(x)
    pattern, inputs = split_index(key, x)
    return indexing_op(pattern)(x, *inputs)


def inc_subtensor(
    x: Any,
    y: Any,
    inplace: bool = False,
    set_instead_of_inc: bool = False,
    tolerate_inplace_aliasing: bool = False,
) -> Var:
    """The tensor indexed by ``x`` with ``x`` incremented by (or set to) ``y``.

    ``x`` must be the result of indexing, ``a[index]``: the result is a new ``a`` (the
    input is never modified). ``y`` broadcasts to ``x``'s shape and must cast safely to
    its dtype. Repeated advanced indices accumulate, as ``np.add.at``. ``inplace`` and
    ``tolerate_inplace_aliasing`` are accepted for Theano compatibility and ignored.

    >>> import jitgraph.tensor as T
    >>> a = T.dmatrix("a")
    >>> T.inc_subtensor(a[:, [0, 0]], 1.0).type
    TensorType(float64, matrix)
    """
    del inplace, tolerate_inplace_aliasing  # the compiler decides where to work in place
    indexed = as_tensor_variable(x)
    node = indexed.owner
    if node is None or not isinstance(node.op, Subtensor):
        verb = "set_subtensor" if set_instead_of_inc else "inc_subtensor"
        raise TypeError(
            f"{verb} needs the result of indexing as its first argument (like a[1:3]), got "
            f"{indexed.describe()}"
        )
    base, *index_inputs = node.inputs
    value = _increment_value(y, base)
    return increment_op(node.op.index, set_instead_of_inc)(base, value, *index_inputs)


def set_subtensor(
    x: Any, y: Any, inplace: bool = False, tolerate_inplace_aliasing: bool = False
) -> Var:
    """The tensor indexed by ``x`` with ``x`` replaced by ``y`` (``a[index] = y`` as a value).

    >>> import jitgraph.tensor as T
    >>> v = T.dvector("v")
    >>> T.set_subtensor(v[v > 1.0], 0.0).eval({v: [3.0, 1.0]})
    array([0., 1.])
    """
    return inc_subtensor(x, y, inplace, True, tolerate_inplace_aliasing)


def _increment_value(y: Any, base: Var) -> Var:
    """``y`` as a variable. Python literals are weak (they take ``base``'s dtype when
    their kind and value fit), variables and NumPy arrays keep their dtype."""
    if isinstance(y, Var) or isinstance(y, (np.ndarray, np.generic)):
        return as_tensor_variable(y)
    data = np.asarray(y)
    target = base.type.dtype
    if data.dtype.kind not in _KIND_RANK:
        return as_tensor_variable(y)  # let the constant conversion report it
    fits_kind = _KIND_RANK[data.dtype.kind] <= _KIND_RANK[np.dtype(target).kind]
    if fits_kind and (data.dtype.kind not in "iu" or _ints_fit(data, target)):
        return constant(data, dtype=target)
    raise TypeError(
        f"cannot store the value {y!r} in {base.describe()} of dtype {target} without "
        "losing information"
    )


def _ints_fit(data: np.ndarray, dtype: str) -> bool:
    if data.size == 0 or np.dtype(dtype).kind not in "iu":
        return True
    info = np.iinfo(dtype)
    return bool(info.min <= data.min() and data.max() <= info.max)


def take(a: Any, indices: Any, axis: int | None = None, mode: str = "raise") -> Var:
    """``np.take``: elements of ``a`` at ``indices`` along ``axis`` (of the flattened
    ``a`` when ``axis`` is None). Only ``mode='raise'`` is supported.

    >>> import jitgraph.tensor as T
    >>> T.take(T.dmatrix("m"), [[0, 1]], axis=1).ndim
    3
    """
    a = as_tensor_variable(a)
    if mode != "raise":
        raise ValueError(f"take(mode={mode!r}) is not supported; only mode='raise' is")
    index = as_tensor_variable(np.zeros(0, "int64") if _is_empty(indices) else indices)
    if index.type.dtype not in dtypes.INTEGER:
        raise TypeError(f"take needs integer indices, got {index.describe()} of type {index.type}")
    if axis is None:
        a = _tensor_namespace().flatten(a, 1) if a.type.ndim != 1 else a
        axis = 0
    ndim = a.type.ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"take(axis={axis}) is out of range for {a.describe()}, which is {ndim}-d")
    return getitem(a, (slice(None),) * (axis % ndim) + (index,))


def _tensor_namespace() -> Any:
    import jitgraph.tensor

    return jitgraph.tensor


def _is_empty(indices: Any) -> bool:
    return isinstance(indices, (list, tuple)) and len(indices) == 0


def nonzero(a: Any, return_matrix: bool = False) -> Any:
    """Indices of the nonzero elements of ``a``: a tuple of ``a.ndim`` int64 vectors
    (as ``np.nonzero``), or with ``return_matrix`` one int64 matrix of shape
    ``(a.ndim, count)``.

    >>> import jitgraph.tensor as T
    >>> len(T.nonzero(T.dmatrix("m")))
    2
    """
    matrix = Nonzero()(as_tensor_variable(a))
    if return_matrix:
        return matrix
    return tuple(matrix[k] for k in range(matrix.type.shape[0]))


def flatnonzero(a: Any) -> Var:
    """Indices of the nonzero elements of ``a`` flattened (``np.flatnonzero``).

    >>> import jitgraph.tensor as T
    >>> T.flatnonzero(T.dmatrix("m")).type
    TensorType(int64, vector)
    """
    return Nonzero(flat=True)(as_tensor_variable(a))


def nonzero_values(a: Any) -> Var:
    """The nonzero elements of ``a``, in C order (``a.flatten()[flatnonzero(a)]``).

    >>> import jitgraph.tensor as T
    >>> T.nonzero_values(T.imatrix("m")).type
    TensorType(int32, vector)
    """
    a = as_tensor_variable(a)
    if a.type.ndim == 0:
        raise ValueError(f"nonzero_values needs an array of at least 1 dim, got {a.describe()}")
    return getitem(a, nonzero(a))


__all__ = [
    "flatnonzero",
    "getitem",
    "inc_subtensor",
    "nonzero",
    "nonzero_values",
    "set_subtensor",
    "take",
]
