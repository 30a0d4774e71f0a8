"""Shape manipulation and creation functions of the Theano front end.

>>> import jitgraph.tensor as T
>>> T.dmatrix().T.type
TensorType(float64, matrix)
"""

from __future__ import annotations

from typing import Any

from jitgraph.ir.graph import Var
from jitgraph.ops.shape import DimShuffle, Shape
from jitgraph.tensor.basic import as_tensor_variable


def shape(x: Any) -> Var:
    """The symbolic shape of ``x``: an int64 vector of length ``x.ndim``."""
    return Shape()(as_tensor_variable(x))  # type: ignore[no-any-return]


def dimshuffle(x: Any, *pattern: Any) -> Var:
    """Reorder axes and insert ('x') or drop broadcastable ones: ``x.dimshuffle(1, 'x', 0)``."""
    x = as_tensor_variable(x)
    if len(pattern) == 1 and isinstance(pattern[0], (tuple, list)):
        pattern = tuple(pattern[0])
    return DimShuffle(x.type.ndim, tuple(pattern))(x)  # type: ignore[attr-defined, no-any-return]


def transpose(x: Any, axes: Any = None) -> Var:
    """Permute the axes (reverse them when ``axes`` is None)."""
    x = as_tensor_variable(x)
    ndim = x.type.ndim  # type: ignore[attr-defined]
    order = tuple(reversed(range(ndim))) if axes is None else tuple(int(a) % ndim for a in axes)
    if sorted(order) != list(range(ndim)):
        raise ValueError(f"transpose axes {axes!r} are not a permutation of {ndim} axes")
    return DimShuffle(ndim, order)(x)  # type: ignore[no-any-return]


__all__ = ["dimshuffle", "shape", "transpose"]
