"""Reductions: one table entry per reduction kind, one ``Reduce`` op over any axes.

An entry gives the NumPy reference, the identity (None: empty reductions are an
error, as in NumPy), the elementwise combine op (for fusion and the backends) and the
dtype rule (Theano's: sum/prod of ints accumulate in int64/uint64, of bool in int64).

>>> import jitgraph.tensor as T
>>> T.bvector("v").sum().type
TensorType(int64, scalar)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.ir.graph import Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import Op


def _accumulate_rule(dtype: str) -> str:
    if dtype == "bool" or dtype in dtypes.SIGNED:
        return "int64"
    if dtype in dtypes.UNSIGNED:
        return "uint64"
    return dtype


@dataclasses.dataclass(frozen=True, eq=False)
class ReduceKind:
    name: str
    impl: Callable[..., Any]  # numpy reduction: impl(x, axis=tuple, keepdims=bool)
    identity: float | None  # None: reducing an empty axis is an error
    combine: str  # the scalar-table op that combines two partial results
    out_dtype: Callable[[str], str]
    accepts: str = "biufc"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReduceKind) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("ReduceKind", self.name))

    def signature(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


REDUCTIONS: dict[str, ReduceKind] = {}


def register(kind: ReduceKind) -> ReduceKind:
    if kind.name in REDUCTIONS:
        raise ValueError(f"reduction {kind.name!r} registered twice")
    REDUCTIONS[kind.name] = kind
    return kind


register(ReduceKind("sum", np.sum, 0, "add", _accumulate_rule))
register(ReduceKind("prod", np.prod, 1, "multiply", _accumulate_rule))
register(ReduceKind("max", np.max, None, "maximum", lambda d: d, accepts="biuf"))
register(ReduceKind("min", np.min, None, "minimum", lambda d: d, accepts="biuf"))
register(ReduceKind("all", np.all, True, "logical_and", lambda d: "bool"))
register(ReduceKind("any", np.any, False, "logical_or", lambda d: "bool"))


def normalize_axis(axis: Any, ndim: int, what: str = "axis") -> tuple[int, ...]:
    """``axis`` (None, int or sequence) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    items = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    out = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{what} must be None, an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{what} {a} is out of bounds for a {ndim}-d tensor")
        out.append(int(a) % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{what} {axis!r} repeats an axis")
    return tuple(sorted(out))


@dataclasses.dataclass(frozen=True)
class Reduce(Op):
    kind: ReduceKind
    axis: tuple[int, ...]
    keepdims: bool = False

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        (x,) = [as_tensor_variable(v) for v in inputs]
        xtype: TensorType = x.type  # type: ignore[assignment]
        if any(a >= xtype.ndim for a in self.axis):
            raise ValueError(f"{self.kind} over axis {self.axis} of a {xtype.ndim}-d tensor")
        if dtypes.kind(xtype.dtype) not in self.kind.accepts:
            raise TypeError(f"{self.kind} does not support {x.describe()} of dtype {xtype.dtype}")
        if self.keepdims:
            shape = tuple(1 if a in self.axis else n for a, n in enumerate(xtype.shape))
        else:
            shape = tuple(n for a, n in enumerate(xtype.shape) if a not in self.axis)
        return self.make_apply([x], [TensorType(self.kind.out_dtype(xtype.dtype), shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        (x,) = inputs
        out_dtype = node.outputs[0].type.dtype  # type: ignore[attr-defined]
        if self.kind.identity is None and any(x.shape[a] == 0 for a in self.axis):
            raise ValueError(
                f"{self.kind} of an empty axis: axis {self.axis} of an array of shape "
                f"{x.shape} (the reduction has no identity)"
            )
        kwargs: dict[str, Any] = {"axis": self.axis, "keepdims": self.keepdims}
        if self.kind.name in ("sum", "prod"):
            kwargs["dtype"] = out_dtype
        return [np.asarray(self.kind.impl(x, **kwargs)).astype(out_dtype, copy=False)]

    def infer_shape(self, node: Node, input_shapes: Sequence[tuple[Var, ...]]) -> list[tuple[Var, ...]]:
        from jitgraph.tensor.basic import constant

        (shp,) = input_shapes
        if self.keepdims:
            one = constant(1, dtype="int64")
            return [tuple(one if a in self.axis else n for a, n in enumerate(shp))]
        return [tuple(n for a, n in enumerate(shp) if a not in self.axis)]

    def __str__(self) -> str:
        axis = ",".join(map(str, self.axis))
        return f"{self.kind.name.capitalize()}{{axis=({axis}){', keepdims' if self.keepdims else ''}}}"

    def short_description(self) -> str:
        return f"{self.kind.name} over axis {self.axis}"
