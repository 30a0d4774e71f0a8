"""Linear algebra ops: dot (Theano's semantics for every rank) and friends.

>>> import jitgraph.tensor as T
>>> T.dot(T.dmatrix("a"), T.dvector("v")).type
TensorType(float64, vector)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.ir.graph import Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import GraphError, Op


@dataclasses.dataclass(frozen=True)
class Dot(Op):
    """numpy.dot: inner product over the last axis of ``a`` and the second-to-last of ``b``
    (the only axis of a vector); 0-d operands multiply."""

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        a, b = [as_tensor_variable(v) for v in inputs]
        at: TensorType = a.type  # type: ignore[assignment]
        bt: TensorType = b.type  # type: ignore[assignment]
        if at.dtype == "bool" and bt.dtype == "bool":
            out_dtype = "bool"
        else:
            out_dtype = dtypes.upcast(at.dtype, bt.dtype)
        if at.ndim == 0 or bt.ndim == 0:
            shape = at.shape or bt.shape
        else:
            ka, kb = at.shape[-1], bt.shape[-2 if bt.ndim >= 2 else 0]
            if ka is not None and kb is not None and ka != kb:
                raise ValueError(
                    f"dot: shapes {at.shape} and {bt.shape} are not aligned: "
                    f"{ka} (last axis of {a.describe()}) != {kb} (of {b.describe()})"
                )
            b_rest = bt.shape[:-2] + bt.shape[-1:] if bt.ndim >= 2 else ()
            shape = at.shape[:-1] + b_rest
        return self.make_apply([a, b], [TensorType(out_dtype, shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        a, b = inputs
        out_dtype = node.outputs[0].type.dtype  # type: ignore[attr-defined]
        if a.ndim and b.ndim:
            ka, kb = a.shape[-1], b.shape[-2 if b.ndim >= 2 else 0]
            if ka != kb:
                raise GraphError(
                    f"dot: shapes {a.shape} and {b.shape} not aligned at run time "
                    f"({node.inputs[0].describe()} and {node.inputs[1].describe()})"
                )
        compute = out_dtype if out_dtype != "bool" else "bool"
        return [np.asarray(np.dot(a.astype(compute, copy=False), b.astype(compute, copy=False)))]

    def infer_shape(self, node: Node, input_shapes: Sequence[tuple[Var, ...]]) -> list[tuple[Var, ...]]:
        sa, sb = input_shapes
        if not sa or not sb:
            return [sa or sb]
        b_rest = sb[:-2] + sb[-1:] if len(sb) >= 2 else ()
        return [tuple(sa[:-1]) + tuple(b_rest)]
