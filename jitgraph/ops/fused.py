"""Fused: a kernel (``jitgraph.backends.kernel.Kernel``) as an op of the graph.

The fusion pass (``jitgraph.passes.fuse``) replaces connected elementwise nodes, and the
reductions they feed, by one ``Fused`` node; backends lower its kernel, and the reference
backend runs ``perform`` (the kernel's NumPy interpretation, equal bit for bit to the
unfused nodes).

>>> import jitgraph.tensor as T
>>> from jitgraph.ir.graph import Graph
>>> from jitgraph.passes.fuse import fuse
>>> a, b = T.dmatrices("a", "b")
>>> diff = a - b
>>> graph = fuse(Graph([a, b], [diff, abs(diff), diff**2]))
>>> [str(node.op) for node in graph.nodes]
['Fused{subtract,absolute,power}']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph.backends.kernel import (
    CONSTANT,
    INPUT,
    TEMP,
    Kernel,
    KernelOutput,
    Slot,
    compute_body,
    output_value,
)
from jitgraph.ir.graph import Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import GradTerm, NoGradientError, Op
from jitgraph.ops.elemwise import broadcast_static_shapes, loop_extents

_NAMES_SHOWN = 8  # ops listed in Fused{...} before "...": long kernels stay one short line

StaticShape = tuple[int | None, ...]


@dataclasses.dataclass(frozen=True)
class Fused(Op):
    """One fused kernel: its inputs are the kernel's inputs, its outputs the kernel's."""

    kernel: Kernel

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        kernel = self.kernel
        if len(inputs) != len(kernel.inputs):
            raise TypeError(f"{self} takes {len(kernel.inputs)} inputs, got {len(inputs)}")
        variables = [as_tensor_variable(x) for x in inputs]
        for position, (var, expected) in enumerate(zip(variables, kernel.inputs, strict=True)):
            vtype: TensorType = var.type
            if vtype.dtype != expected.dtype or vtype.broadcastable != expected.broadcastable:
                raise TypeError(
                    f"{self}: input {position} is {var.describe()} of type {vtype}; the kernel "
                    f"expects {expected.dtype} with broadcast pattern {expected.broadcastable}"
                )
        shapes = slot_static_shapes(kernel, [v.type.shape for v in variables])
        types = [
            TensorType(output.dtype, output_shape(output, shapes[output.slot], 1))
            for output in kernel.outputs
        ]
        return self.make_apply(variables, types)

    def runtime_output_shapes(
        self, node: Node, inputs: Sequence[np.ndarray]
    ) -> list[tuple[int, ...]]:
        """Each output's shape for ``inputs``, after the checks ``perform`` makes (the
        inputs agree on the loop domain; no max/min of an empty axis). Writes nothing."""
        extents = check_fused_broadcast(node, inputs)
        kernel = self.kernel
        shapes = []
        for output in kernel.outputs:
            pattern = kernel.slot_broadcastable(output.slot)
            value_shape = tuple(1 if b else n for b, n in zip(pattern, extents, strict=True))
            if output.reduction is not None and output.reduction.identity is None:
                if any(value_shape[a] == 0 for a in output.axes):
                    raise ValueError(
                        f"{output.reduction} of an empty axis: axes {output.axes} of a value "
                        f"of shape {value_shape} ({output.reduction} has no identity)"
                    )
            shapes.append(output_shape(output, value_shape, 1))
        return shapes

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return self.perform_into(node, inputs, [None] * len(self.kernel.outputs))

    def perform_into(
        self, node: Node, inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray | None]
    ) -> list[np.ndarray]:
        """The outputs, output ``k`` written into ``outputs[k]`` where that is an array
        (of the output's dtype and run-time shape) and freshly allocated where it is None.

        An elementwise output computed by a NumPy ufunc whose loop gives the output's
        dtype is written with ``out=``, unless its buffer may overlap an input (an in-place
        update: later instructions may still read that input); every other given buffer
        receives its value once the whole kernel has run, so a failure never leaves an
        input half overwritten. Results never share memory with the inputs."""
        self.runtime_output_shapes(node, inputs)
        buffers = self._direct_buffers(inputs, outputs)
        with np.errstate(all="ignore"):
            values = compute_body(self.kernel, inputs, buffers)
            results = [output_value(self.kernel, out, values) for out in self.kernel.outputs]
        results = _fresh(results, inputs, outputs)
        for buffer, result in zip(outputs, results, strict=True):
            if buffer is not None and result is not buffer:
                np.copyto(buffer, result)
        return [r if b is None else b for b, r in zip(outputs, results, strict=True)]

    def _direct_buffers(
        self, inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray | None]
    ) -> dict[int, np.ndarray]:
        """Instruction position -> the output buffer it writes with ``out=``."""
        kernel = self.kernel
        chosen: dict[int, np.ndarray] = {}
        for output, buffer in zip(kernel.outputs, outputs, strict=True):
            if buffer is None or output.reduction is not None:
                continue
            position = output.slot.position
            if position in chosen or not _ufunc_writes_exactly(kernel, position, buffer):
                continue
            if not any(np.may_share_memory(value, buffer) for value in inputs):
                chosen[position] = buffer
        return chosen

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        from jitgraph.tensor.basic import constant

        one = constant(1, dtype="int64")
        static = slot_static_shapes(self.kernel, [v.type.shape for v in node.inputs])
        symbolic = _slot_symbolic_shapes(self.kernel, static, input_shapes, one)
        return [output_shape(output, symbolic[output.slot], one) for output in self.kernel.outputs]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        raise NoGradientError(
            f"{self} has no gradient: fusion runs after differentiation (take gradients of "
            "the unoptimized graph)"
        )

    def inner_text(self) -> str:
        """The kernel listing, shown under the graph by ``debugprint``."""
        return self.kernel.as_text()

    def signature(self) -> str:
        return f"{type(self).__module__}.Fused({self.kernel.signature()})"

    def short_description(self) -> str:
        names = self.kernel.op_names()
        if len(names) == 1:
            return f"elementwise {names[0]}"
        return f"fused elementwise kernel ({', '.join(names)})"

    def __str__(self) -> str:
        names = self.kernel.op_names()
        if len(names) > _NAMES_SHOWN:
            names = [*names[: _NAMES_SHOWN - 1], f"...+{len(names) - _NAMES_SHOWN + 1}"]
        return f"Fused{{{','.join(names)}}}"


def _ufunc_writes_exactly(kernel: Kernel, position: int, buffer: np.ndarray) -> bool:
    """Whether instruction ``position`` is a one-output ufunc whose loop, for its compute
    dtypes, gives ``buffer``'s dtype, the instruction's: ``out=buffer`` runs that loop."""
    instruction = kernel.body[position]
    impl = instruction.op.impl
    if not isinstance(impl, np.ufunc) or impl.nout != 1 or buffer.dtype != instruction.dtype:
        return False
    compute = kernel.compute_dtypes(instruction)
    try:
        loop = impl.resolve_dtypes((*(np.dtype(d) for d in compute), None))
    except (TypeError, ValueError):  # NumPy has no loop for these dtypes
        return False
    return bool(loop[-1] == buffer.dtype)


def _fresh(
    results: list[np.ndarray],
    inputs: Sequence[np.ndarray],
    buffers: Sequence[np.ndarray | None],
) -> list[np.ndarray]:
    """``results`` with a copy in place of any (but a buffer written directly) that may
    share memory with an input, a given buffer or an earlier result: ``real`` of a real
    array is that array, and two outputs may hold the same value."""
    fresh: list[np.ndarray] = []
    for result, own in zip(results, buffers, strict=True):
        if result is not own:
            others = [*inputs, *(b for b in buffers if b is not None), *fresh]
            if any(np.may_share_memory(result, other) for other in others):
                result = result.copy()
        fresh.append(result)
    return fresh


def slot_static_shapes(
    kernel: Kernel, input_shapes: Sequence[StaticShape]
) -> dict[Slot, StaticShape]:
    """The static shape of every value of ``kernel`` given its inputs' static shapes
    (constants are all 1; results broadcast as ``Elemwise``'s do)."""
    shapes: dict[Slot, StaticShape] = {}
    for position, shape in enumerate(input_shapes):
        shapes[Slot(INPUT, position)] = tuple(shape)
    for position in range(len(kernel.constants)):
        shapes[Slot(CONSTANT, position)] = (1,) * kernel.ndim
    for position, instruction in enumerate(kernel.body):
        shapes[Slot(TEMP, position)] = broadcast_static_shapes(
            [shapes[s] for s in instruction.args], f"the arguments of {instruction.op}"
        )
    return shapes


def _slot_symbolic_shapes(
    kernel: Kernel,
    static: dict[Slot, StaticShape],
    input_shapes: Sequence[tuple[Var, ...]],
    one: Var,
) -> dict[Slot, tuple[Var, ...]]:
    """Symbolic shapes of every value: a dim is the first argument's that does not
    broadcast there, else 1 (``Elemwise.infer_shape``'s rule)."""
    shapes: dict[Slot, tuple[Var, ...]] = {}
    for position, shape in enumerate(input_shapes):
        shapes[Slot(INPUT, position)] = tuple(shape)
    for position in range(len(kernel.constants)):
        shapes[Slot(CONSTANT, position)] = (one,) * kernel.ndim
    for position, instruction in enumerate(kernel.body):
        dims = []
        for axis in range(kernel.ndim):
            candidates = [shapes[s][axis] for s in instruction.args if static[s][axis] != 1]
            dims.append(candidates[0] if candidates else one)
        shapes[Slot(TEMP, position)] = tuple(dims)
    return shapes


def output_shape(output: KernelOutput, shape: tuple[Any, ...], one: Any) -> tuple[Any, ...]:
    """An output's shape from its value's: the value's, or with the reduced axes removed
    (``one`` in their place with keepdims)."""
    if output.reduction is None:
        return tuple(shape)
    if output.keepdims:
        return tuple(one if a in output.axes else n for a, n in enumerate(shape))
    return tuple(n for a, n in enumerate(shape) if a not in output.axes)


def check_fused_broadcast(node: Node, inputs: Sequence[np.ndarray]) -> tuple[int, ...]:
    """The loop's extents for ``inputs``; GraphError naming the inputs when their
    run-time shapes break the kernel's loop domain."""
    kernel: Kernel = node.op.kernel  # type: ignore[attr-defined]
    patterns = [spec.broadcastable for spec in kernel.inputs]
    return loop_extents(node, inputs, patterns, kernel.ndim)
