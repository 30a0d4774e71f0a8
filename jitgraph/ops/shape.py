"""Shape ops: dimshuffle, shape, reshape, and the other ops that only move data.

>>> import jitgraph.tensor as T
>>> T.dmatrix("m").dimshuffle(1, "x", 0).type
TensorType(float64, (?, 1, ?))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph.ir.graph import Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import Op


@dataclasses.dataclass(frozen=True)
class DimShuffle(Op):
    """Permute axes, drop static-1 axes and insert new broadcastable ones ('x').

    ``new_order`` lists input axes and 'x'; input axes left out must be broadcastable.
    """

    input_ndim: int
    new_order: tuple[int | str, ...]

    def __post_init__(self) -> None:
        axes = [a for a in self.new_order if a != "x"]
        if any(not isinstance(a, int) or not 0 <= a < self.input_ndim for a in axes):
            raise ValueError(
                f"dimshuffle{self.new_order}: entries must be 'x' or an axis in "
                f"[0, {self.input_ndim}) of the input"
            )
        if len(set(axes)) != len(axes):
            raise ValueError(f"dimshuffle{self.new_order}: an axis appears twice")

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        (x,) = [as_tensor_variable(v) for v in inputs]
        xtype: TensorType = x.type  # type: ignore[assignment]
        if xtype.ndim != self.input_ndim:
            raise TypeError(
                f"dimshuffle expected a {self.input_ndim}-d input, got {x.describe()} "
                f"of ndim {xtype.ndim}"
            )
        dropped = set(range(self.input_ndim)) - set(self.new_order)
        for axis in sorted(dropped):
            if xtype.shape[axis] != 1:
                raise ValueError(
                    f"dimshuffle{self.new_order} drops axis {axis} of {x.describe()}, "
                    f"which is not broadcastable (static shape {xtype.shape})"
                )
        shape = tuple(1 if a == "x" else xtype.shape[a] for a in self.new_order)  # type: ignore[index]
        return self.make_apply([x], [TensorType(xtype.dtype, shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        (x,) = inputs
        keep = [a for a in self.new_order if a != "x"]
        dropped = tuple(a for a in range(self.input_ndim) if a not in keep)
        for axis in dropped:
            if x.shape[axis] != 1:
                raise ValueError(
                    f"dimshuffle{self.new_order}: axis {axis} has size {x.shape[axis]} "
                    "at run time, expected 1"
                )
        y = x.reshape([n for a, n in enumerate(x.shape) if a not in dropped]) if dropped else x
        order = [sorted(keep).index(a) for a in keep]  # type: ignore[arg-type]
        y = np.transpose(y, order)
        shape = list(y.shape)
        full: list[int] = []
        it = iter(shape)
        for a in self.new_order:
            full.append(1 if a == "x" else next(it))
        return [y.reshape(full)]

    def infer_shape(self, node: Node, input_shapes: Sequence[tuple[Var, ...]]) -> list[tuple[Var, ...]]:
        from jitgraph.tensor.basic import constant

        (shp,) = input_shapes
        one = constant(1, dtype="int64")
        return [tuple(one if a == "x" else shp[a] for a in self.new_order)]  # type: ignore[index]

    def __str__(self) -> str:
        return f"DimShuffle{{{','.join(str(a) for a in self.new_order)}}}"

    def short_description(self) -> str:
        return f"dimshuffle{self.new_order}"


@dataclasses.dataclass(frozen=True)
class Shape(Op):
    """The shape of a tensor as an int64 vector (symbolic: usable in expressions)."""

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        (x,) = [as_tensor_variable(v) for v in inputs]
        return self.make_apply([x], [TensorType("int64", (x.type.ndim,))])  # type: ignore[attr-defined]

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(inputs[0].shape, dtype="int64")]

    def infer_shape(self, node: Node, input_shapes: Sequence[tuple[Var, ...]]) -> list[tuple[Var, ...]]:
        from jitgraph.tensor.basic import constant

        return [(constant(node.inputs[0].type.ndim, dtype="int64"),)]  # type: ignore[attr-defined]
