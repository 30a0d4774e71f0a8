"""Linear algebra of the Theano front end: dot, matmul (``@``), outer, tensordot,
batched_dot, diagonal and trace.

Output dtypes are Theano's upcast of the operands (bool . bool stays bool), with NumPy's
values (int8 products wrap in int8, as ``numpy.dot`` does).

>>> import jitgraph.tensor as T
>>> T.dot(T.dmatrix(), T.dmatrix()).ndim
2
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jitgraph.ir.graph import Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.linalg import BatchedDot, Diagonal, Dot, Matmul, TensorDot
from jitgraph.ops.reduce import normalize_axis
from jitgraph.ops.shape import DimShuffle
from jitgraph.tensor.basic import as_tensor_variable


def _ndim(x: Var) -> int:
    ttype: TensorType = x.type
    return ttype.ndim


def dot(a: Any, b: Any) -> Var:
    """``numpy.dot`` semantics for every rank (0-d operands multiply).

    >>> import jitgraph, numpy as np, jitgraph.tensor as T
    >>> m, v = T.dmatrix("m"), T.dvector("v")
    >>> jitgraph.function([m, v], dot(m, v))(np.eye(2), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    return Dot()(as_tensor_variable(a), as_tensor_variable(b))


def matmul(a: Any, b: Any) -> Var:
    """``numpy.matmul`` (the ``@`` operator): batch dims broadcast, a 1-d operand is
    promoted to a matrix and its unit dim dropped from the result, 0-d is an error.

    >>> import jitgraph.tensor as T
    >>> matmul(T.dtensor3("s"), T.dmatrix("m")).ndim, matmul(T.dvector(), T.dmatrix()).ndim
    (3, 1)
    """
    return Matmul()(as_tensor_variable(a), as_tensor_variable(b))


def _flat(x: Var) -> Var:
    if _ndim(x) == 1:
        return x
    import jitgraph.tensor as T

    return T.flatten(x)


def outer(x: Any, y: Any) -> Var:
    """The outer product ``x[i] * y[j]`` (inputs of other ranks are flattened first).

    >>> import jitgraph.tensor as T
    >>> outer(T.dvector("x"), T.fvector("y")).type
    TensorType(float64, matrix)
    """
    x, y = _flat(as_tensor_variable(x)), _flat(as_tensor_variable(y))
    column = DimShuffle(1, (0, "x"))(x)
    row = DimShuffle(1, ("x", 0))(y)
    return dot(column, row)


def _ordered_axes(spec: Any, ndim: int, what: str) -> tuple[int, ...]:
    """Axes in the order given (tensordot pairs them positionally), normalized."""
    items = [spec] if isinstance(spec, (int, np.integer)) else list(spec)
    axes = tuple(normalize_axis(int(a), ndim, what)[0] for a in items)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{what} {tuple(items)} repeats an axis (of a {ndim}-d tensor)")
    return axes


def _tensordot_axes(axes: Any, ndim_a: int, ndim_b: int) -> tuple[tuple[int, ...], ...]:
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(ndim_a, ndim_b):
            raise ValueError(
                f"tensordot: axes={axes} must be in [0, {min(ndim_a, ndim_b)}] for "
                f"operands of {ndim_a} and {ndim_b} dims"
            )
        return tuple(range(ndim_a - axes, ndim_a)), tuple(range(axes))
    if not isinstance(axes, (tuple, list)) or len(axes) != 2:
        raise TypeError(
            f"tensordot: axes must be an int or a pair (axes of a, axes of b), got {axes!r}"
        )
    axes_a = _ordered_axes(axes[0], ndim_a, "tensordot: axis of a")
    axes_b = _ordered_axes(axes[1], ndim_b, "tensordot: axis of b")
    if len(axes_a) != len(axes_b):
        raise ValueError(
            f"tensordot: {len(axes_a)} axes of a {tuple(axes_a)} paired with {len(axes_b)} "
            f"axes of b {tuple(axes_b)}; the lists must have equal lengths"
        )
    return axes_a, axes_b


def tensordot(a: Any, b: Any, axes: Any = 2) -> Var:
    """``numpy.tensordot``: an int N contracts the last N axes of ``a`` with the first N
    of ``b``; a pair of lists contracts those axes pairwise.

    >>> import jitgraph.tensor as T
    >>> tensordot(T.dtensor3("a"), T.dmatrix("b"), axes=[[1, 2], [0, 1]]).ndim
    1
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    axes_a, axes_b = _tensordot_axes(axes, _ndim(a), _ndim(b))
    return TensorDot(axes_a, axes_b)(a, b)


def batched_dot(a: Any, b: Any) -> Var:
    """Theano's batched_dot: ``out[i] = dot(a[i], b[i])`` over the first axis (3-d x 3-d
    is a batched matrix product, 2-d x 2-d a row-wise inner product).

    >>> import jitgraph.tensor as T
    >>> batched_dot(T.dtensor3("a"), T.dtensor3("b")).ndim
    3
    >>> batched_dot(T.dmatrix("a"), T.dmatrix("b")).ndim
    1
    """
    return BatchedDot()(as_tensor_variable(a), as_tensor_variable(b))


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Var:
    """``numpy.diagonal``: the diagonal at ``offset`` of each (axis1, axis2) plane, as
    the last axis of the result.

    >>> import jitgraph, numpy as np, jitgraph.tensor as T
    >>> m = T.dmatrix("m")
    >>> jitgraph.function([m], diagonal(m, 1))(np.arange(9.0).reshape(3, 3))
    array([1., 5.])
    """
    x = as_tensor_variable(x)
    ndim = _ndim(x)
    if ndim < 2:
        raise ValueError(f"diagonal needs at least 2 dims; {x.describe()} is {ndim}-d")
    first = normalize_axis(axis1, ndim, "diagonal: axis1")[0]
    second = normalize_axis(axis2, ndim, "diagonal: axis2")[0]
    if not isinstance(offset, (int, np.integer)) or isinstance(offset, bool):
        raise TypeError(f"diagonal: offset must be an int, got {offset!r}")
    return Diagonal(int(offset), first, second)(x)


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Var:
    """The sum of the diagonal (``numpy.trace``; Theano's ``nlinalg.trace`` for matrices).
    Integer inputs sum in int64, as ``sum`` does.

    >>> import jitgraph, numpy as np, jitgraph.tensor as T
    >>> m = T.dmatrix("m")
    >>> jitgraph.function([m], trace(m))(np.arange(4.0).reshape(2, 2))
    array(3.)
    """
    from jitgraph.tensor.reduction import sum as reduce_sum

    return reduce_sum(diagonal(x, offset, axis1, axis2), axis=-1)


__all__ = ["batched_dot", "diagonal", "dot", "matmul", "outer", "tensordot", "trace"]
