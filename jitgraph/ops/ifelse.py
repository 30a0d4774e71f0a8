"""``IfElse``: a lazy conditional whose two branches are graphs of their own.

The node's inputs are ``[condition, *values]``; ``then_graph`` and ``else_graph`` both take
``values`` (each graph has its own placeholder inputs, one per value, of the values'
types) and give one output per output of the node. When the node runs, the condition is
read first and only the taken branch's program runs: the other branch costs nothing, and
an error it would raise (an index out of range, a failed shape check) does not happen.

Each pair of branch outputs has one dtype and ndim; the node's output has the static
shape both branches agree on (``None`` where they differ). The front end
(jitgraph/ifelse.py, ``ifelse``) finds the values a branch needs and builds the graphs;
``build_ifelse`` here is the one constructor, shared by the front end, ``grad`` (the
gradient of an ifelse is an ifelse of the branches' vector-Jacobian products) and
``infer_shape`` (the output shapes are an ifelse of the branches' shapes).

>>> import jitgraph, numpy as np
>>> import jitgraph.tensor as T
>>> from jitgraph.ifelse import ifelse
>>> a, b = T.dscalars("a", "b")
>>> x = T.dvector("x")
>>> f = jitgraph.function([a, b, x], ifelse(T.lt(a, b), x.sum(), x[5]), mode="REFERENCE")
>>> f(1.0, 2.0, np.ones(3))  # x[5] is out of range, but its branch is not taken
array(3.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.backends.reference import NodeImplementation
from jitgraph.ir.graph import Const, Graph, Node, Var, graph_inputs
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import DISCONNECTED, Disconnected, GradTerm, Undefined
from jitgraph.ops.control import InnerGraph, InnerGraphOp, run_program
from jitgraph.ops.shape import int64_constant, shape_scalars

__all__ = ["IfElse", "build_ifelse", "check_branch_types", "joined_type"]


# ----------------------------------------------------------------------------- types
def joined_type(then_type: TensorType, else_type: TensorType) -> TensorType:
    """The type of an output that is one of two values: the dims both know and agree on
    stay static, the others are ``None`` (the dtype and ndim must already match)."""
    shape = [a if a == b else None for a, b in zip(then_type.shape, else_type.shape, strict=True)]
    return TensorType(then_type.dtype, shape)


def check_branch_types(then_types: Sequence[TensorType], else_types: Sequence[TensorType]) -> None:
    """Raise TypeError unless the branches give as many values, pairwise of one dtype
    and ndim (differing static shapes are fine: the output's shape is their join)."""
    if len(then_types) != len(else_types):
        raise ValueError(
            f"ifelse: the then branch gives {len(then_types)} value(s) and the else branch "
            f"{len(else_types)}; both branches must give the same number of values"
        )
    for position, (then_type, else_type) in enumerate(zip(then_types, else_types, strict=True)):
        if then_type.dtype == else_type.dtype and then_type.ndim == else_type.ndim:
            continue
        which = f"value {position}" if len(then_types) > 1 else "the value"
        raise TypeError(
            f"ifelse: {which} of the then branch is {then_type} and of the else branch "
            f"{else_type}; both branches must give the same dtype and number of dimensions "
            f"(cast one of them, e.g. T.cast(else_value, '{then_type.dtype}'))"
        )


def _compatible(value: TensorType, placeholder: TensorType) -> bool:
    """Whether a value of type ``value`` can feed an inner input of type ``placeholder``."""
    return (
        value.dtype == placeholder.dtype
        and value.ndim == placeholder.ndim
        and all(a is None or b is None or a == b for a, b in zip(value.shape, placeholder.shape))
    )


# ----------------------------------------------------------------------------- the op
@dataclasses.dataclass(frozen=True)
class IfElse(InnerGraphOp):
    """``then_graph``'s outputs if the condition is true (nonzero), else ``else_graph``'s;
    only the taken branch runs. ``name`` labels the op in printouts and takes no part in
    its identity. Build it with ``build_ifelse`` or the front end ``jitgraph.ifelse``."""

    then_graph: InnerGraph
    else_graph: InnerGraph
    name: str | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        then_graph, else_graph = self.then_graph.graph, self.else_graph.graph
        then_inputs = [v.type for v in then_graph.inputs]
        if then_inputs != [v.type for v in else_graph.inputs]:
            raise TypeError("IfElse: the then and else graphs must take inputs of the same types")
        check_branch_types(
            [v.type for v in then_graph.outputs], [v.type for v in else_graph.outputs]
        )

    @property
    def n_outs(self) -> int:
        return len(self.then_graph.graph.outputs)

    def output_types(self) -> list[TensorType]:
        pairs = zip(self.then_graph.graph.outputs, self.else_graph.graph.outputs, strict=True)
        return [joined_type(a.type, b.type) for a, b in pairs]

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        placeholders = self.then_graph.graph.inputs
        if len(inputs) != 1 + len(placeholders):
            raise TypeError(
                f"{self} takes a condition and {len(placeholders)} value(s), got "
                f"{len(inputs)} input(s)"
            )
        condition = as_tensor_variable(inputs[0])
        if condition.type.ndim != 0:
            raise TypeError(
                f"ifelse: the condition must be a scalar, got {condition.describe()} of type "
                f"{condition.type}"
            )
        values = [as_tensor_variable(v) for v in inputs[1:]]
        for position, (value, placeholder) in enumerate(zip(values, placeholders, strict=True)):
            if not _compatible(value.type, placeholder.type):
                raise TypeError(
                    f"{self}: value {position} must be of type {placeholder.type}, got "
                    f"{value.describe()} of type {value.type}"
                )
        return self.make_apply([condition, *values], self.output_types())

    # ---- running
    def implementation(self, node: Node, backend: str) -> NodeImplementation:
        """Reads the condition, then runs only the taken branch's program (compiled for
        ``backend`` the first time that branch is taken)."""
        branches = (self.then_graph, self.else_graph)

        def perform(args: list[Any]) -> list[np.ndarray]:
            condition, values = args[0], args[1:]
            taken = branches[0] if bool(np.asarray(condition)) else branches[1]
            return owned_results(run_program(taken.program(backend), values), values)

        return NodeImplementation(perform, None, f"ifelse: the taken branch runs ({backend})")

    # ---- shapes and gradients
    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        """Static dims as constants; the others are outputs of an ifelse on the same
        condition whose branches compute only the shapes of the branches' outputs."""
        unknown = [
            (i, axis)
            for i, out in enumerate(node.outputs)
            for axis, size in enumerate(out.type.shape)
            if size is None
        ]
        dims: dict[tuple[int, int], Var] = {}
        if unknown:
            branches = [
                (graph.inputs, [shape_scalars(graph.outputs[i])[axis] for i, axis in unknown])
                for graph in (self.then_graph.graph, self.else_graph.graph)
            ]
            name = f"shape of {self.name}" if self.name else "shape"
            outs = build_ifelse(node.inputs[0], node.inputs[1:], branches[0], branches[1], name)
            dims = dict(zip(unknown, outs, strict=True))
        return [
            tuple(
                int64_constant(size) if size is not None else dims[(i, axis)]
                for axis, size in enumerate(out.type.shape)
            )
            for i, out in enumerate(node.outputs)
        ]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """The condition is disconnected; each value gets ``ifelse(condition, vjp of the
        then branch, vjp of the else branch)``, all of them from one gradient ifelse."""
        from jitgraph.ops.ifelse_grad import ifelse_gradient

        return ifelse_gradient(self, node, output_grads)

    # ---- display
    def params(self) -> tuple[tuple[str, Any], ...]:
        return (("then_graph", self.then_graph), ("else_graph", self.else_graph))

    def short_description(self) -> str:
        return f"ifelse {self.name!r}" if self.name else "ifelse"

    def __str__(self) -> str:
        counts = f"then: {_count(self.then_graph)}, else: {_count(self.else_graph)}"
        return f"if{{{self.name}; {counts}}}" if self.name else f"if{{{counts}}}"

    def inner_text(self) -> str:
        """Both branches, printed under the outer graph by ``debugprint``."""
        from jitgraph.printing import debugprint

        lines = []
        for label, inner in (("then", self.then_graph), ("else", self.else_graph)):
            graph = inner.graph
            inputs = ", ".join(repr(v) for v in graph.inputs)
            lines.append(f"{label} branch (inputs: {inputs}):")
            lines.append(debugprint(list(graph.outputs), file="str").rstrip("\n"))
        return "\n".join(lines)


def _count(inner: InnerGraph) -> str:
    n = len(inner.graph.nodes)
    return f"{n} node" if n == 1 else f"{n} nodes"


def owned_results(results: Sequence[Any], values: Sequence[Any]) -> list[np.ndarray]:
    """``results``, each copied where it is read-only (a constant's data) or may share
    memory with an input value or an earlier result: a branch that returns an input (or a
    view of it) unchanged must not hand the outer program an array it may later write
    into while the input is still in use."""
    owned: list[np.ndarray] = []
    for result in results:
        array = np.asarray(result)
        if not array.flags.writeable or any(
            isinstance(other, np.ndarray) and np.may_share_memory(array, other)
            for other in (*values, *owned)
        ):
            array = array.copy()
        owned.append(array)
    return owned


# ----------------------------------------------------------------------------- building
Branch = tuple[Sequence[Var], Sequence[Var]]  # (its placeholder inputs, its outputs)


def build_ifelse(
    condition: Var,
    values: Sequence[Var],
    then_branch: Branch,
    else_branch: Branch,
    name: str | None = None,
) -> list[Var]:
    """The outputs of an ``IfElse`` node choosing between two branches.

    Each branch is (placeholders, outputs): its outputs are computed from its placeholders
    (and constants) only, and placeholder ``k`` of either branch stands for ``values[k]``.
    Placeholders neither branch uses are dropped (with their values), so the node takes
    only what it needs. ``condition`` must be a 0-d tensor.
    """
    then_inputs, then_outputs = then_branch
    else_inputs, else_outputs = else_branch
    used = {id(v) for v in graph_inputs([*then_outputs, *else_outputs]) if not isinstance(v, Const)}
    keep = [
        k
        for k, (a, b) in enumerate(zip(then_inputs, else_inputs, strict=True))
        if id(a) in used or id(b) in used
    ]
    then_graph = Graph([then_inputs[k] for k in keep], then_outputs)
    else_graph = Graph([else_inputs[k] for k in keep], else_outputs)
    op = IfElse(InnerGraph(then_graph), InnerGraph(else_graph), name)
    return list(op.make_node(condition, *[values[k] for k in keep]).outputs)


def is_continuous(dtype: str) -> bool:
    return dtypes.is_float(dtype) or dtypes.is_complex(dtype)


__all__ += ["DISCONNECTED", "Disconnected", "Undefined", "is_continuous"]
