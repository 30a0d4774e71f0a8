"""The reference backend: a NumPy interpreter of the IR, and the oracle of every test.

``compile_graph(graph)`` turns a graph into a ``Program``: one step per node with its
input and output slots precomputed, and the slots to free after each step. Running it
checks each op's result against its declared type, so a wrong reference
implementation fails loudly instead of returning garbage.

>>> import jitgraph.tensor as T
>>> from jitgraph.ir.graph import Graph
>>> import numpy as np
>>> x = T.dvector("x")
>>> program = compile_graph(Graph([x], [x * 2]))
>>> program.run([np.arange(3.0)])
[array([0., 2., 4.])]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph.ir.graph import Const, Graph, Node
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import GraphError


class Program:
    """A graph ready to run: ``run(input_values) -> output_values``."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        slot: dict[int, int] = {}
        for var in graph.variables():
            slot[id(var)] = len(slot)
        self.n_slots = len(slot)
        self.input_slots = [slot[id(v)] for v in graph.inputs]
        self.constants = [(slot[id(v)], v.data) for v in graph.variables() if isinstance(v, Const)]
        self.output_slots = [slot[id(v)] for v in graph.outputs]
        keep = set(self.output_slots)
        last_use: dict[int, int] = {}
        for step, node in enumerate(graph.nodes):
            for v in (*node.outputs, *node.inputs):  # an output nobody reads dies at once
                last_use[slot[id(v)]] = step
        # Each step frees the slots it reads (or writes) for the last time, so an
        # intermediate value lives only until its last use.
        self.steps: list[tuple[Node, list[int], list[int], list[int]]] = []
        for step, node in enumerate(graph.nodes):
            ins = [slot[id(v)] for v in node.inputs]
            outs = [slot[id(v)] for v in node.outputs]
            free = sorted({s for s in (*ins, *outs) if last_use.get(s) == step and s not in keep})
            self.steps.append((node, ins, outs, free))

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        storage: list[Any] = [None] * self.n_slots
        for s, value in zip(self.input_slots, inputs, strict=True):
            storage[s] = value
        for s, data in self.constants:
            storage[s] = data
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            for node, ins, outs, free in self.steps:
                args = [storage[s] for s in ins]
                try:
                    results = node.op.perform(node, args)
                except Exception as exc:  # noqa: BLE001 - re-raised with the node named
                    raise node_error(node, args, exc) from exc
                if len(results) != len(outs):
                    raise GraphError(
                        f"internal error: {node.op} returned {len(results)} result(s) for "
                        f"{len(outs)} output(s); please report this"
                    )
                for s, var, value in zip(outs, node.outputs, results, strict=True):
                    storage[s] = check_result(node, var.type, value)
                for s in free:
                    storage[s] = None
        return [storage[s] for s in self.output_slots]


def compile_graph(graph: Graph) -> Program:
    """The graph as a ``Program`` of the reference interpreter."""
    return Program(graph)


def check_result(node: Node, ttype: TensorType, value: Any) -> np.ndarray:
    """An op's result, verified against its declared type (a bug report if not)."""
    if not isinstance(value, np.ndarray):
        value = np.asarray(value)
    if (
        value.dtype != ttype.numpy_dtype
        or value.ndim != ttype.ndim
        or any(s is not None and s != n for s, n in zip(ttype.shape, value.shape, strict=True))
    ):
        raise GraphError(
            f"internal error: {node.op} produced dtype {value.dtype} and shape {value.shape}, "
            f"but its type says {ttype}; please report this"
        )
    return value


def node_error(node: Node, args: Sequence[Any], exc: Exception) -> Exception:
    """``exc`` re-made with the node, its input shapes and the user's lines appended."""
    lines = [str(exc) if str(exc) else type(exc).__name__]
    lines.append(f"  while computing {node.op.short_description()} ({node.op})")
    for i, (var, value) in enumerate(zip(node.inputs, args, strict=True)):
        shape = getattr(value, "shape", None)
        dtype = getattr(value, "dtype", type(value).__name__)
        lines.append(f"  input {i}: {var.describe()}, value of dtype {dtype} and shape {shape}")
    out = node.outputs[0]
    if out.created_at:
        lines.append(f"  the failing expression was created at {out.created_at}")
    message = "\n".join(lines)
    try:
        new = type(exc)(message)
    except Exception:  # noqa: BLE001 - exception types with unusual constructors
        new = GraphError(message)
    return new
