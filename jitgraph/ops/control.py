"""Ops that carry graphs of their own (scan's step, ifelse's branches): the shared parts.

An ``InnerGraph`` wraps a ``Graph`` so that it can be a field of a frozen op dataclass: it
compares and hashes by the graph's structural hash, so two ops built from equal inner
graphs are equal (hash-consing and CSE treat them as one computation), and it keeps the
programs compiled from the graph, one per backend, so that they are built once.

``compile_inner(graph, backend)`` is how an op runs its inner graph: the reference
backend interprets it as written (the oracle); the LLVM backend optimizes it with the
full pipeline and compiles its kernels like any function's graph.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from jitgraph.ir.graph import Graph, Node
from jitgraph.ops.base import Op

if TYPE_CHECKING:
    from jitgraph.backends.reference import NodeImplementation, Program


class InnerGraph:
    """A graph held by an op: equal by structure, with its compiled programs cached."""

    __slots__ = ("graph", "_programs", "_shape_programs", "_lock")

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._programs: dict[str, Program] = {}
        self._shape_programs: dict[str, Program | None] = {}
        self._lock = threading.Lock()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InnerGraph) and other.graph.hash == self.graph.hash

    def __hash__(self) -> int:
        return hash(self.graph.hash)

    def signature(self) -> str:
        """The structural hash: what the enclosing op contributes to its graph's hash."""
        return f"graph:{self.graph.hash}"

    def program(self, backend: str) -> Program:
        """The graph compiled for ``backend`` ('reference' or 'llvm'), built once."""
        with self._lock:
            program = self._programs.get(backend)
            if program is None:
                program = compile_inner(self.graph, backend)
                self._programs[backend] = program
            return program

    def shape_program(self, output: int, value_inputs: Sequence[int]) -> Program | None:
        """A program computing the shape of output ``output`` from the graph's inputs,
        which reads only their shapes, except the inputs at ``value_inputs``; None where
        the shape needs other values (it is then data-dependent)."""
        key = f"shape:{output}:{tuple(value_inputs)}"
        with self._lock:
            if key not in self._shape_programs:
                self._shape_programs[key] = _shape_program(self.graph, output, value_inputs)
            return self._shape_programs[key]

    def compiled(self, backend: str) -> Program | None:
        """The program already compiled for ``backend``, or None (compiles nothing)."""
        return self._programs.get(backend)

    def __repr__(self) -> str:
        graph = self.graph
        return f"<graph {graph.hash[:8]}: {len(graph.inputs)} in, {len(graph.nodes)} nodes>"

    __str__ = __repr__


def compile_inner(graph: Graph, backend: str) -> Program:
    """``graph`` ready to run on ``backend``: as written for the reference interpreter,
    optimized (every rewrite, fusion, a memory plan) for the LLVM backend."""
    from jitgraph.compile.function_graph import backend_compiler
    from jitgraph.passes.memory import plan_memory
    from jitgraph.passes.pipeline import optimize

    if backend == "reference":
        return backend_compiler("reference")(graph, None)
    optimized = optimize(graph, "FAST_RUN").graph
    return backend_compiler(backend)(optimized, plan_memory(optimized, {}))


def _shape_program(graph: Graph, output: int, value_inputs: Sequence[int]) -> Program | None:
    from jitgraph.backends.reference import compile_graph
    from jitgraph.ops.shape import Shape
    from jitgraph.passes.pipeline import optimize

    shapes = optimize(Graph(graph.inputs, [Shape()(graph.outputs[output])]), "FAST_RUN").graph
    allowed = {id(graph.inputs[i]) for i in value_inputs}
    inputs = {id(v) for v in graph.inputs}
    for node in shapes.nodes:
        if isinstance(node.op, Shape):
            continue
        if any(id(v) in inputs and id(v) not in allowed for v in node.inputs):
            return None
    if any(id(v) in inputs and id(v) not in allowed for v in shapes.outputs):
        return None
    return compile_graph(shapes)


class InnerGraphOp(Op):
    """An op that runs graphs of its own. Subclasses give ``implementation``: how the node
    runs on a backend; ``perform`` (the reference implementation) is the reference
    backend's. The LLVM program asks every such node for its ``'llvm'`` implementation."""

    def implementation(self, node: Node, backend: str) -> NodeImplementation:
        raise NotImplementedError

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return list(self.implementation(node, "reference").perform(list(inputs)))

    def do_constant_folding(self, node: Node) -> bool:
        # A loop or a branch is run when the function runs, not by the optimizer.
        return False
