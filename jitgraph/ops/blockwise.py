"""Blockwise: any op applied to each element of a leading batch axis.

``Blockwise(core_op, batched)`` takes the core op's inputs, where ``batched[i]`` says that
input ``i`` carries one extra leading axis (the batch); unbatched inputs are passed as they
are to every element. It is the generic fallback of graph vectorization
(``jitgraph.ir.vectorize``) for ops whose ``vectorize_node`` declines: correct for every op,
but its reference implementation is a Python loop over the batch.

The per-element computation is a *core node*: the core op applied to one element's worth of
inputs (fresh variables of the element types for the batched inputs, the real variables for
the unbatched ones, so constant sizes and indices stay visible to the core op).

>>> import jitgraph.tensor as T
>>> from jitgraph.ops.reduce import Sort
>>> xs = T.dmatrix("xs")
>>> Blockwise(Sort(0), (True,))(xs).type
TensorType(float64, matrix)
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph.ir.graph import Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import GradTerm, Op

# The core node of each Blockwise node, built by make_node (weak: dies with the node).
_core_nodes: weakref.WeakKeyDictionary[Node, Node] = weakref.WeakKeyDictionary()


def element_type(var: Var) -> TensorType:
    """The type of one element of a batched variable: its type without the leading axis."""
    vtype: TensorType = var.type
    return TensorType(vtype.dtype, vtype.shape[1:])


def common_batch_size(batched_inputs: Sequence[Var], what: str) -> int | None:
    """The static size of the batch axis that ``batched_inputs`` share (None: unknown).

    Raises ValueError when two known static sizes differ.
    """
    sizes = {v.type.shape[0] for v in batched_inputs} - {None}
    if len(sizes) > 1:
        described = ", ".join(f"{v.describe()} ({v.type.shape})" for v in batched_inputs)
        raise ValueError(f"{what}: the batched inputs have different batch sizes: {described}")
    return sizes.pop() if sizes else None


@dataclasses.dataclass(frozen=True)
class Blockwise(Op):
    """``core_op`` mapped over the leading axis of the inputs flagged in ``batched``."""

    core_op: Op
    batched: tuple[bool, ...]

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        variables = [as_tensor_variable(v) for v in inputs]
        self._check_inputs(variables)
        core = self._build_core_node(variables)
        variables = self._converted_inputs(variables, core)
        batched_inputs = [v for v, b in zip(variables, self.batched) if b]
        batch = common_batch_size(batched_inputs, str(self))
        out_types = [TensorType(out.type.dtype, (batch, *out.type.shape)) for out in core.outputs]
        node = self.make_apply(variables, out_types)
        _core_nodes.setdefault(node, core)
        return node

    def _check_inputs(self, variables: Sequence[Var]) -> None:
        if len(variables) != len(self.batched):
            raise TypeError(
                f"{self} takes {len(self.batched)} inputs (one per batched flag), "
                f"got {len(variables)}"
            )
        if not any(self.batched):
            raise ValueError(f"{self}: at least one input must be batched")
        for position, (var, flag) in enumerate(zip(variables, self.batched)):
            if flag and var.type.ndim == 0:
                raise TypeError(
                    f"{self}: input {position} ({var.describe()}) is marked batched but is "
                    "0-d: a batched input needs a leading batch axis"
                )

    def _build_core_node(self, variables: Sequence[Var]) -> Node:
        core_inputs = [
            element_type(v).make_variable() if flag else v
            for v, flag in zip(variables, self.batched)
        ]
        return self.core_op.make_node(*core_inputs)

    def _converted_inputs(self, variables: Sequence[Var], core: Node) -> list[Var]:
        """The inputs as the core op converted them (a Python int becomes an int64
        constant): the core node's inputs must be the node's inputs or their elements."""
        converted = []
        for position, (var, core_input, flag) in enumerate(
            zip(variables, core.inputs, self.batched)
        ):
            if not flag:
                converted.append(core_input)
            elif core_input.owner is not None:
                raise TypeError(
                    f"{self}: input {position} ({var.describe()}) has elements of type "
                    f"{element_type(var)}, which {self.core_op} converts; pass elements of "
                    "the type it takes"
                )
            else:
                converted.append(var)
        return converted

    def core_node(self, node: Node) -> Node:
        """The per-element node of ``node`` (rebuilt if ``node`` was not made by make_node)."""
        core = _core_nodes.get(node)
        if core is None:
            core = self._build_core_node(node.inputs)
            _core_nodes[node] = core
        return core

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        core = self.core_node(node)
        size = self._runtime_batch_size(node, inputs)
        if size == 0:
            return self._empty_outputs(core)
        per_output: list[list[np.ndarray]] = [[] for _ in core.outputs]
        for element in range(size):
            args = [v[element] if flag else v for v, flag in zip(inputs, self.batched)]
            for results, value in zip(per_output, self.core_op.perform(core, args)):
                results.append(np.asarray(value))
        return [self._stack(position, values) for position, values in enumerate(per_output)]

    def _runtime_batch_size(self, node: Node, inputs: Sequence[np.ndarray]) -> int:
        sizes = {v.shape[0] for v, flag in zip(inputs, self.batched) if flag}
        if len(sizes) > 1:
            shapes = [v.shape for v, flag in zip(inputs, self.batched) if flag]
            raise ValueError(
                f"{self}: the batched inputs have different batch sizes at run time "
                f"(shapes {shapes})"
            )
        return sizes.pop()

    def _empty_outputs(self, core: Node) -> list[np.ndarray]:
        outputs = []
        for out in core.outputs:
            shape = out.type.shape
            if None in shape:
                raise ValueError(
                    f"{self}: the batch is empty and the per-element output shape "
                    f"{shape} is not known statically, so the result's shape is "
                    "undefined"
                )
            sizes = [int(n) for n in shape if n is not None]
            outputs.append(np.empty((0, *sizes), dtype=out.type.dtype))
        return outputs

    def _stack(self, position: int, values: list[np.ndarray]) -> np.ndarray:
        shapes = {v.shape for v in values}
        if len(shapes) > 1:
            raise ValueError(
                f"{self}: output {position} of {self.core_op} has a different shape for "
                f"different batch elements ({sorted(shapes)}), so the results cannot be "
                "stacked along the batch axis"
            )
        return np.stack(values)

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        from jitgraph.ir.rebuild import replace
        from jitgraph.tensor.basic import constant

        core = self.core_node(node)
        core_shapes = [
            tuple(shape[1:]) if flag else tuple(shape)
            for shape, flag in zip(input_shapes, self.batched)
        ]
        batch = next(shape[0] for shape, flag in zip(input_shapes, self.batched) if flag)
        shapes = core.op.infer_shape(core, core_shapes)
        # A core shape may read a batched input's value (an index, a size): every element
        # gives the same shape (else perform fails), so element 0 stands for them all.
        first = {
            core_input: var[constant(0, dtype="int64")]  # type: ignore[index]
            for core_input, var, flag in zip(core.inputs, node.inputs, self.batched)
            if flag
        }
        return [(batch, *replace(list(shape), first)) for shape in shapes]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """The core op's gradient graph, vectorized over the batch; an unbatched input's
        gradient is summed over the batch (it is used by every element)."""
        from jitgraph.ir.vectorize import vectorize_graph
        from jitgraph.tensor.reduction import sum as tensor_sum

        core = self.core_node(node)
        core_grads = [element_type(g).make_variable() for g in output_grads]
        terms = core.op.grad(core, core_grads)
        mapping = {c: v for c, v, flag in zip(core.inputs, node.inputs, self.batched) if flag}
        mapping.update(zip(core_grads, output_grads))
        positions = [i for i, term in enumerate(terms) if isinstance(term, Var)]
        vectorized = vectorize_graph([terms[i] for i in positions], mapping)  # type: ignore[misc]
        result: list[GradTerm] = list(terms)
        for position, term in zip(positions, vectorized):
            batched = self.batched[position]
            result[position] = term if batched else tensor_sum(term, axis=0)
        return result

    def __str__(self) -> str:
        flags = "".join("b" if flag else "." for flag in self.batched)
        return f"Blockwise{{{self.core_op}, {flags}}}"

    def short_description(self) -> str:
        return f"{self.core_op.short_description()} over a batch"
