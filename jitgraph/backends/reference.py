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

import dataclasses
import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
from numpy.lib.array_utils import byte_bounds

from jitgraph.backends.cuda.runtime import is_device_array
from jitgraph.ir.graph import Const, Graph, Node
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import GraphError
from jitgraph.ops.elemwise import check_runtime_broadcast
from jitgraph.passes.memory import MemoryPlan, WritesIntoBuffers, elementwise_ufunc, is_kernel


class Program:
    """A graph ready to run: ``run(input_values) -> output_values``.

    With a ``MemoryPlan`` (jitgraph/passes/memory.py), nodes write into the buffers of
    dead intermediates where the plan says so, and the planned in-place nodes run last:
    each is validated before the first write, and writes into its input's buffer when the
    run-time checks pass (a fresh buffer otherwise). The output of a planned in-place
    update may then BE that input's array, already updated.
    """

    def __init__(self, graph: Graph, plan: MemoryPlan | None = None) -> None:
        self.graph = graph
        self.native: dict[int, NodeImplementation] = self.lower_nodes(graph)
        slot: dict[int, int] = {}
        for var in graph.variables():
            slot[id(var)] = len(slot)
        self.n_slots = len(slot)
        self.input_slots = [slot[id(v)] for v in graph.inputs]
        self.constants = [(slot[id(v)], v.data) for v in graph.variables() if isinstance(v, Const)]
        self.output_slots = [slot[id(v)] for v in graph.outputs]
        order = plan.order if plan is not None else tuple(graph.nodes)
        n_first = len(order) - (plan.n_inplace_nodes if plan is not None else 0)
        reuse = {id(w): slot[id(d)] for w, d in plan.reuse.items()} if plan is not None else {}
        self.steps = self._first_steps(order, n_first, slot, reuse)
        self.inplace_steps = [
            self._inplace_step(graph, slot, k, j) for k, j in (plan.inplace if plan else {}).items()
        ]
        # Whether a step runs NumPy arithmetic, whose floating-point warnings and
        # ComplexWarning ``run`` silences (a backend's own code and views raise none).
        self.may_warn = any(
            not node.op.only_views
            and (id(node) not in self.native or not self.native[id(node)].silent)
            for node in graph.nodes
        )

    def _first_steps(
        self, order: Sequence[Node], n_first: int, slot: dict[int, int], reuse: dict[int, int]
    ) -> list[Step]:
        """One step per node of ``order[:n_first]`` (the in-place nodes run apart), with
        the slots it frees and, where the plan says so, the slots of the dead buffers it
        writes into (a donor slot is freed by its taker, not at its last use)."""
        keep = set(self.output_slots)
        donors = set(reuse.values())
        last_use: dict[int, int] = {}
        for step, node in enumerate(order):
            for v in (*node.outputs, *node.inputs):  # an output nobody reads dies at once
                last_use[slot[id(v)]] = step
        steps: list[Step] = []
        for step, node in enumerate(order[:n_first]):
            ins = [slot[id(v)] for v in node.inputs]
            outs = [slot[id(v)] for v in node.outputs]
            dying = {s for s in (*ins, *outs) if last_use.get(s) == step and s not in keep}
            taken = [reuse.get(id(v), -1) for v in node.outputs]
            into = None
            if any(d >= 0 for d in taken):
                into = (self.writer_for(node), taken)
                dying |= {d for d in taken if d >= 0}
            perform = self.performer(node)
            freed = sorted(dying - (donors - set(taken)))
            steps.append((node, perform, ins, outs, freed, into, self.checks_results(node)))
        return steps

    # ---- what runs each node: a backend overrides ``lower_nodes``
    def lower_nodes(self, graph: Graph) -> dict[int, NodeImplementation]:
        """Native implementations by node id; the nodes left out run their op's
        ``perform`` (the reference backend lowers nothing)."""
        return {}

    def performer(self, node: Node) -> Callable[[list[Any]], Sequence[Any]]:
        native = self.native.get(id(node))
        if native is not None:
            return native.perform
        return functools.partial(node.op.perform, node)

    def checks_results(self, node: Node) -> bool:
        """Whether the node's results are checked against their declared types: always for
        reference implementations (a wrong one fails loudly); a backend's own code that
        allocates its outputs from the declared types is trusted."""
        native = self.native.get(id(node))
        return native is None or not native.trusted

    def writer_for(self, node: Node) -> Writer:
        native = self.native.get(id(node))
        if native is not None and native.writer is not None:
            return native.writer
        return _writer_for(node)

    def _inplace_step(self, graph: Graph, slot: dict[int, int], k: int, j: int) -> InplaceStep:
        node, output_index = graph.outputs[k].owner, graph.outputs[k].index
        assert node is not None and output_index is not None
        return InplaceStep(
            node=node,
            ins=[slot[id(v)] for v in node.inputs],
            outs=[slot[id(v)] for v in node.outputs],
            output_index=output_index,
            target=self.input_slots[j],
            target_position=j,
            writer=self.writer_for(node),
            check=self.checks_results(node),
        )

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        if not self.may_warn:  # no NumPy arithmetic: nothing to silence
            return self.run_quietly(inputs)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            return self.run_quietly(inputs)

    def run_quietly(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """``run`` for a caller that has silenced NumPy's floating-point warnings and
        ComplexWarning already (a loop running the program at every step)."""
        storage: list[Any] = [None] * self.n_slots
        for s, value in zip(self.input_slots, inputs, strict=True):
            storage[s] = value
        for s, data in self.constants:
            storage[s] = data
        for node, perform, ins, outs, free, into, check in self.steps:
            args = [storage[s] for s in ins]
            try:
                if into is None:
                    results = perform(args)
                else:
                    donated = [storage[d] if d >= 0 else None for d in into[1]]
                    results = _perform_reusing(into[0], args, donated)
            except Exception as exc:  # noqa: BLE001 - re-raised with the node named
                raise node_error(node, args, exc) from exc
            if check:
                _store(storage, node, outs, results)
            else:
                for s, value in zip(outs, results):
                    storage[s] = value
            for s in free:
                storage[s] = None
        if self.inplace_steps:
            _run_inplace(self.inplace_steps, storage, inputs)
        return [storage[s] for s in self.output_slots]


def compile_graph(graph: Graph, plan: MemoryPlan | None = None) -> Program:
    """The graph as a ``Program`` of the reference interpreter, following ``plan`` (from
    ``jitgraph.passes.memory.plan_memory``) when one is given."""
    return Program(graph, plan)


def _store(storage: list[Any], node: Node, outs: Sequence[int], results: Sequence[Any]) -> None:
    if len(results) != len(outs):
        raise GraphError(
            f"internal error: {node.op} returned {len(results)} result(s) for "
            f"{len(outs)} output(s); please report this"
        )
    for s, var, value in zip(outs, node.outputs, results, strict=True):
        storage[s] = check_result(node, var.type, value)


# ---- writing into given buffers


class _UfuncWriter:
    """An Elemwise node whose ufunc writes into a given buffer (``Elemwise.perform_into``)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        # Each output dim takes its size from the first input that does not broadcast there.
        self.size_from = [
            next((i for i, v in enumerate(node.inputs) if v.type.shape[axis] != 1), -1)
            for axis in range(node.outputs[0].type.ndim)
        ]

    def shapes(self, args: Sequence[np.ndarray]) -> list[tuple[int, ...]]:
        check_runtime_broadcast(self.node, args)
        return [tuple(1 if i < 0 else args[i].shape[a] for a, i in enumerate(self.size_from))]

    def write(
        self, args: Sequence[np.ndarray], buffers: Sequence[np.ndarray | None]
    ) -> list[np.ndarray]:
        return self.node.op.perform_into(self.node, args, buffers)  # type: ignore[attr-defined]


class _KernelWriter:
    """A node whose op implements ``WritesIntoBuffers`` (a fused kernel)."""

    def __init__(self, node: Node, op: WritesIntoBuffers) -> None:
        self.node = node
        self.op = op

    def shapes(self, args: Sequence[np.ndarray]) -> list[tuple[int, ...]]:
        return self.op.runtime_output_shapes(self.node, args)

    def write(
        self, args: Sequence[np.ndarray], buffers: Sequence[np.ndarray | None]
    ) -> list[np.ndarray]:
        return self.op.perform_into(self.node, args, buffers)


class BufferWriter(Protocol):
    """Computes a node's outputs into given buffers: ``shapes`` checks the arguments and
    gives the output shapes (writing nothing), ``write`` computes (a None buffer: fresh)."""

    def shapes(self, args: Sequence[np.ndarray]) -> list[tuple[int, ...]]: ...

    def write(
        self, args: Sequence[np.ndarray], buffers: Sequence[np.ndarray | None]
    ) -> list[np.ndarray]: ...


@dataclasses.dataclass(frozen=True)
class NodeImplementation:
    """How a backend runs one node: ``perform(args) -> results`` and, for a node the
    memory plan may write into buffers, a ``writer``."""

    perform: Callable[[list[Any]], Sequence[Any]]
    writer: BufferWriter | None = None
    description: str = ""  # e.g. "LLVM kernel", "BLAS dgemm"
    # Its results have their declared types by construction (outputs allocated from them):
    # the per-call type check of each result is skipped.
    trusted: bool = False
    # It does no NumPy arithmetic outside a warning context of its own (compiled code): a
    # program of such steps and views needs no silencing of NumPy's warnings.
    silent: bool = False


Writer = _UfuncWriter | _KernelWriter | BufferWriter
Step = tuple[
    Node,
    Callable[[list[Any]], Sequence[Any]],
    list[int],
    list[int],
    list[int],
    tuple[Writer, list[int]] | None,
    bool,  # check the results against their types
]


def _writer_for(node: Node) -> Writer:
    if elementwise_ufunc(node) is not None:
        return _UfuncWriter(node)
    if is_kernel(node.op):
        return _KernelWriter(node, node.op)  # type: ignore[arg-type]
    raise GraphError(f"internal error: the memory plan writes {node.op} into a buffer")


def _perform_reusing(
    writer: Writer, args: Sequence[np.ndarray], donated: Sequence[np.ndarray | None]
) -> list[np.ndarray]:
    """The node's results, written into the donated buffers that have the right shape."""
    shapes = writer.shapes(args)
    buffers = [
        buffer if buffer is not None and buffer.shape == shape and buffer.flags.writeable else None
        for buffer, shape in zip(donated, shapes, strict=True)
    ]
    return writer.write(args, buffers)


@dataclasses.dataclass(frozen=True)
class InplaceStep:
    node: Node
    ins: list[int]
    outs: list[int]
    output_index: int  # the output written into the target's buffer
    target: int  # the input slot overwritten
    target_position: int  # its position among the inputs
    writer: Writer
    check: bool = True  # check the results against their types


def _run_inplace(steps: Sequence[InplaceStep], storage: list[Any], inputs: Sequence[Any]) -> None:
    """Run the in-place nodes: validate all of them, compute those that fall back to a
    fresh buffer, then write. Nothing is written before every check has passed, and a
    validated write cannot fail, so a failing call changes no input."""
    entangled = _overlapping(inputs)
    checked: list[tuple[InplaceStep, list[Any], bool]] = []
    for step in steps:
        args = [storage[s] for s in step.ins]
        try:
            shapes = step.writer.shapes(args)
        except Exception as exc:  # noqa: BLE001 - re-raised with the node named
            raise node_error(step.node, args, exc) from exc
        overwrite = step.target_position not in entangled and _can_overwrite(
            step, shapes[step.output_index], storage[step.target]
        )
        checked.append((step, args, overwrite))
    for step, args, overwrite in checked:
        if not overwrite:
            results = step.writer.write(args, [None] * len(step.outs))
            _store_results(storage, step, results)
    for step, args, overwrite in checked:
        if overwrite:
            buffers: list[np.ndarray | None] = [None] * len(step.outs)
            buffers[step.output_index] = storage[step.target]
            _store_results(storage, step, step.writer.write(args, buffers))


def _store_results(storage: list[Any], step: InplaceStep, results: Sequence[Any]) -> None:
    if step.check:
        _store(storage, step.node, step.outs, results)
    else:
        for s, value in zip(step.outs, results, strict=True):
            storage[s] = value


def _can_overwrite(step: InplaceStep, shape: tuple[int, ...], target: Any) -> bool:
    """Whether the target input's array can take the output: the output's dtype and
    shape, writeable, and without internal overlap."""
    dtype = step.node.outputs[step.output_index].type.numpy_dtype
    return (
        isinstance(target, np.ndarray)
        and target.dtype == dtype
        and target.shape == shape
        and target.flags.writeable
        and (target.flags.c_contiguous or target.flags.f_contiguous)
    )


def _overlapping(inputs: Sequence[Any]) -> set[int]:
    """The positions of the input arrays whose memory range overlaps another input's
    (the caller passing a shared variable's array, two shared variables given one
    array): ``np.may_share_memory`` for every pair, in O(n log n)."""
    ranges = sorted(
        (*byte_bounds(value), position)
        for position, value in enumerate(inputs)
        if isinstance(value, np.ndarray) and value.size
    )
    result: set[int] = set()
    furthest_end, furthest_position = -1, -1  # the range reaching furthest so far
    for start, end, position in ranges:
        if start < furthest_end:
            result.update((position, furthest_position))
        if end > furthest_end:
            furthest_end, furthest_position = end, position
    return result


def check_result(node: Node, ttype: TensorType, value: Any) -> np.ndarray:
    """An op's result, verified against its declared type (a bug report if not)."""
    if not isinstance(value, np.ndarray) and not is_device_array(value):
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
