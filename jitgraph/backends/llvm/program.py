"""The LLVM backend's program: an optimized graph with its nodes run natively.

``compile_graph(graph, plan)`` returns an ``LLVMProgram``, the reference ``Program``
(slots, memory plan, in-place updates, error reporting) with each node it can lower run
by native code:

- a ``Fused`` node, and a lone ``Reduce``, by its kernel compiled to machine code
  (``launch.compile_kernels``: every kernel of the program in one LLVM module, through
  the on-disk cache);
- ``Dot``, ``Matmul`` and the BLAS ops by BLAS (``blas.native_step``);
- ``PhiloxBits`` (random bits) by native Philox code (``random.native_step``);
- ops that only make views or read metadata (``DimShuffle``, ``Reshape``, ``Shape``,
  basic indexing, ...) by NumPy, which does no loop for them;
- any other op by its reference implementation. Those are listed by ``fallbacks()`` and
  by ``debugprint`` of the function: each one is a lowering still to write.

>>> import jitgraph.tensor as T
>>> from jitgraph.ir.graph import Graph
>>> from jitgraph.passes.fuse import fuse
>>> import numpy as np
>>> x = T.dvector("x")
>>> program = compile_graph(fuse(Graph([x], [T.exp(x) * 2])))
>>> program.run([np.zeros(3)])
[array([2., 2., 2.])]
>>> program.describe_node(program.graph.nodes[0])
'LLVM kernel'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.backends.kernel import (
    CONSTANT,
    INPUT,
    Kernel,
    KernelError,
    KernelInput,
    KernelOutput,
    Slot,
)
from jitgraph.backends.llvm import launch
from jitgraph.backends.reference import NodeImplementation, Program
from jitgraph.ir.graph import Graph, Node
from jitgraph.ops.control import InnerGraphOp
from jitgraph.passes.memory import MemoryPlan

__all__ = ["LLVMProgram", "compile_graph"]


class KernelWriter:
    """A kernel node written into given buffers (the memory plan's reuse and in-place
    updates): ``shapes`` checks, ``write`` runs."""

    def __init__(self, node: Node, compiled: launch.CompiledKernel) -> None:
        self.node = node
        self.compiled = compiled

    def shapes(self, args: Sequence[np.ndarray]) -> list[tuple[int, ...]]:
        try:
            extents = self.compiled.check(args)
        except ValueError:
            self._raise_in_user_terms(args)
            raise
        return self.compiled.output_shapes(extents)

    def write(
        self, args: Sequence[np.ndarray], buffers: Sequence[np.ndarray | None] | None
    ) -> list[np.ndarray]:
        # Values inside a program have their declared types, as the direct entry needs; it
        # checks the inputs before it writes anything (it declines when they disagree, and
        # ``run`` then raises).
        results = self.compiled.run_direct(args, buffers)
        if results is not None:
            return results
        try:  # ``run`` checks the inputs first: nothing is written when they disagree
            return self.compiled.run(args, buffers, launch.thread_count())
        except ValueError:
            self._raise_in_user_terms(args)
            raise

    def _raise_in_user_terms(self, args: Sequence[np.ndarray]) -> None:
        """The op's own check raises the error naming the graph's inputs, where it has one."""
        shapes_of = getattr(self.node.op, "runtime_output_shapes", None)
        if shapes_of is not None:
            shapes_of(self.node, args)

    def perform(self, args: list[Any]) -> list[np.ndarray]:
        return self.write(args, None)


class LLVMProgram(Program):
    """A program whose nodes run natively where a lowering exists (module docstring)."""

    def lower_nodes(self, graph: Graph) -> dict[int, NodeImplementation]:
        self.descriptions: dict[int, str] = {}
        lowered: dict[int, NodeImplementation] = {}
        kernel_nodes = [(node, kernel) for node in graph.nodes if (kernel := node_kernel(node))]
        if kernel_nodes:
            compiled = launch.compile_kernels([k for _, k in kernel_nodes])
            for (node, _), native in zip(kernel_nodes, compiled, strict=True):
                writer = KernelWriter(node, native)
                lowered[id(node)] = NodeImplementation(
                    writer.perform, writer, "LLVM kernel", trusted=True, silent=True
                )
        for node in graph.nodes:
            if id(node) in lowered:
                continue
            if isinstance(node.op, InnerGraphOp):  # scan, ifelse: they compile their graphs
                lowered[id(node)] = node.op.implementation(node, "llvm")
                continue
            step = _blas_step(node)
            if step is not None:
                lowered[id(node)] = NodeImplementation(step, None, "BLAS")
                continue
            random_step = _random_step(node)
            if random_step is not None:
                lowered[id(node)] = NodeImplementation(random_step, None, "LLVM Philox")
        for node in graph.nodes:
            implementation = lowered.get(id(node))
            self.descriptions[id(node)] = (
                implementation.description
                if implementation is not None
                else _unlowered_description(node)
            )
        return lowered

    def single_kernel(self) -> tuple[Node, launch.CompiledKernel] | None:
        """The node and its compiled kernel when the whole program is that one kernel
        (no other step, no in-place update): what ``Function``'s short call path runs."""
        if len(self.steps) != 1 or self.inplace_steps or self.constants:
            return None
        node = self.steps[0][0]
        native = self.native.get(id(node))
        if native is None or not isinstance(native.writer, KernelWriter):
            return None
        return node, native.writer.compiled

    def describe_node(self, node: Node) -> str:
        """How ``node`` runs: 'LLVM kernel', 'BLAS', 'NumPy view', or 'reference fallback'."""
        return self.descriptions[id(node)]

    def fallbacks(self) -> list[Node]:
        """The nodes run by their reference implementation for want of a lowering."""
        return [n for n in self.graph.nodes if self.descriptions[id(n)] == REFERENCE_FALLBACK]


REFERENCE_FALLBACK = "reference fallback (no LLVM lowering yet)"


def _unlowered_description(node: Node) -> str:
    if node.op.only_views:
        return "NumPy view"
    return REFERENCE_FALLBACK


def node_kernel(node: Node) -> Kernel | None:
    """The kernel a node runs: a ``Fused`` node's, or the one-reduction kernel of a
    lone ``Reduce`` (None for anything else, and for a reduction over no axis)."""
    kernel = getattr(node.op, "kernel", None)
    if isinstance(kernel, Kernel):
        return None if _raises_at_run_time(kernel) else kernel
    from jitgraph.ops.reduce import Reduce

    op = node.op
    if not isinstance(op, Reduce) or not op.axis:
        return None
    value, out = node.inputs[0], node.outputs[0]
    acc = op.accumulator_dtype(value.type.dtype) if op.kind.takes_dtype else None
    try:
        return Kernel(
            value.type.ndim,
            (KernelInput(value.type.dtype, value.type.broadcastable),),
            (),
            (),
            (KernelOutput(Slot(INPUT, 0), out.type.dtype, op.kind, op.axis, op.keepdims, acc),),
        )
    except KernelError:  # a reduction the kernel model does not express
        return None


def _raises_at_run_time(kernel: Kernel) -> bool:
    """Whether an instruction may hit an input its reference refuses with an error
    (``ScalarOp.negative_integer_error``: a negative integer power), which compiled loops
    cannot raise yet: such a kernel runs by its reference implementation (a tracked gap)."""
    for instruction in kernel.body:
        position = instruction.op.negative_integer_error
        if position is None or dtypes.kind(instruction.dtype) not in "iu":
            continue
        argument = instruction.args[position]
        if dtypes.kind(kernel.slot_dtype(argument)) != "i":
            continue  # unsigned and bool values are never negative
        if argument.kind != CONSTANT or kernel.constants[argument.position].value < 0:
            return True
    return False


def _blas_step(node: Node) -> Any:
    try:
        from jitgraph.backends.llvm import blas
    except ImportError:  # pragma: no cover - blas.py is part of the package
        return None
    return blas.native_step(node)


def _random_step(node: Node) -> Any:
    """Native Philox bits for a ``PhiloxBits`` node (jitgraph.backends.llvm.random)."""
    from jitgraph.ops.random import PhiloxBits

    if not isinstance(node.op, PhiloxBits):
        return None
    from jitgraph.backends.llvm import random

    return random.native_step(node)


def compile_graph(graph: Graph, plan: MemoryPlan | None = None) -> LLVMProgram:
    """The graph as an ``LLVMProgram`` following ``plan`` (``plan_memory``) if given."""
    return LLVMProgram(graph, plan)
