"""Memory planning: which buffers a program may write into instead of allocating.

``plan_memory(graph, inplace_candidates)`` returns a ``MemoryPlan`` that a backend
follows when it runs ``graph``:

- **Buffer reuse.** A node that can write into a given buffer (an elementwise NumPy ufunc,
  or a fused kernel with ``perform_into``) takes the buffer of an intermediate whose
  lifetime has ended: same dtype and ndim, the same run-time shape (the backend checks the
  shape and allocates when it differs). A buffer is given away only when nothing else can
  see it: it was freshly allocated by its producer, it is not a graph output, and every
  node reading it returns fresh arrays too (views such as DimShuffle, Subtensor or Reshape
  outputs may share memory with their input, so a value read by one is never reused).
- **In-place updates.** ``inplace_candidates`` maps an output position (the new value of
  a shared variable) to the input position holding that variable's buffer. The update is
  planned in place when its node can write into a buffer, has the variable's dtype and
  ndim, nothing else reads the new value, and no other output may share the variable's
  memory. In-place nodes run LAST, ordered so that every in-place node reading a buffer
  runs before the node overwriting it (candidates in a read/write cycle are dropped).

The backend keeps failure atomicity: it runs every other node first, validates every
in-place node (shapes, broadcasting, aliasing of the target with other inputs) before
the first write, and falls back to a fresh buffer where a run-time check fails.

>>> import jitgraph.tensor as T
>>> from jitgraph.ir.graph import Graph
>>> x, w = T.dvector("x"), T.dvector("w")
>>> graph = Graph([x, w], [T.exp(x * 2), w - 0.1 * x])
>>> plan = plan_memory(graph, {1: 1})
>>> plan.inplace                      # output 1 is written into input 1's buffer
{1: 1}
>>> [(str(a.owner.op), str(b.owner.op)) for a, b in plan.reuse.items()]
[('Elemwise{exp}', 'Elemwise{mul}')]
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from jitgraph.ir.graph import Graph, Node, Var
from jitgraph.ops.blas import ScaledProduct
from jitgraph.ops.creation import Alloc
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.fused import Fused
from jitgraph.ops.linalg import Dot
from jitgraph.ops.shape import Shape


@runtime_checkable
class WritesIntoBuffers(Protocol):
    """What an op (a fused kernel) offers to take part in memory planning.

    ``runtime_output_shapes`` validates the input values exactly as ``perform`` would
    (raising the same errors) and returns each output's shape; it must not write anything.
    ``perform_into`` computes the outputs, writing output ``i`` into ``outputs[i]`` when it
    is an array (of the output's dtype and the validated shape) and allocating it when it
    is None; it returns the results (the given buffers themselves where given). It must be
    correct whatever the overlap between a given buffer and the inputs (an in-place update
    writes into an input that the kernel may also read through a view), it must not raise
    once the shapes were validated, and its results never share memory with the inputs.
    """

    def runtime_output_shapes(
        self, node: Node, inputs: Sequence[np.ndarray]
    ) -> list[tuple[int, ...]]: ...

    def perform_into(
        self, node: Node, inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray | None]
    ) -> list[np.ndarray]: ...


@dataclasses.dataclass(frozen=True, eq=False)
class MemoryPlan:
    """How to run a graph's nodes with the fewest allocations.

    ``order``: every node, in execution order (the in-place nodes last).
    ``reuse``: node output -> the dead intermediate whose buffer it is written into.
    ``inplace``: output position -> input position whose buffer it overwrites, in the
    order of the writes. ``rejected``: why each other candidate is not in place.
    """

    order: tuple[Node, ...]
    reuse: Mapping[Var, Var]
    inplace: Mapping[int, int]
    rejected: Mapping[int, str]

    @property
    def n_inplace_nodes(self) -> int:
        """How many nodes at the end of ``order`` write in place (one write each)."""
        return len(self.inplace)

    def as_text(self) -> str:
        """One line per reused buffer and per in-place or rejected update."""
        lines = [
            f"reuse: {writer!r} writes into the buffer of {donor!r}"
            for writer, donor in self.reuse.items()
        ]
        lines += [f"in place: output {k} overwrites input {j}" for k, j in self.inplace.items()]
        lines += [f"not in place: output {k}: {why}" for k, why in self.rejected.items()]
        return "\n".join(lines)


def elementwise_ufunc(node: Node) -> np.ufunc | None:
    """The ufunc of an Elemwise node that can write its result into a given buffer: its
    table entry's reference is a single-output ufunc whose loop, for the node's compute
    dtypes, produces exactly the node's output dtype (so ``ufunc(*args, out=buffer)`` runs
    the same loop as ``perform``). None for any other node."""
    op = node.op
    if not isinstance(op, Elemwise):
        return None
    impl = op.scalar_op.impl
    if not isinstance(impl, np.ufunc) or impl.nout != 1:
        return None
    compute, out_dtype = op.scalar_op.dtype_rule(tuple(v.type.dtype for v in node.inputs))
    try:
        loop = impl.resolve_dtypes((*(np.dtype(d) for d in compute), None))
    except (TypeError, ValueError):  # NumPy has no loop for these dtypes
        return None
    return impl if loop[-1] == np.dtype(out_dtype) else None


def is_kernel(op: object) -> bool:
    """Whether the op implements ``WritesIntoBuffers`` (checked by attribute: a
    ``runtime_checkable`` isinstance is slow on every node of a large graph)."""
    return hasattr(op, "perform_into") and hasattr(op, "runtime_output_shapes")


def writes_into(node: Node) -> bool:
    """Whether the node can write its outputs into buffers it is given."""
    return is_kernel(node.op) or elementwise_ufunc(node) is not None


def returns_fresh(node: Node) -> bool:
    """Whether the node's outputs are always newly allocated arrays, sharing no memory
    with its inputs. Any other op may return a view of (or the very array of) an input."""
    op = node.op
    if isinstance(op, Elemwise):
        return isinstance(op.scalar_op.impl, np.ufunc)  # other references may return views
    # Their ``perform`` visibly allocates: np.dot, np.asarray(shape), np.empty + fill; the
    # BLAS ops (Gemm, Gemv, Ger) compute into new arrays, natively and in the reference.
    return isinstance(op, (Dot, ScaledProduct, Shape, Alloc)) or is_kernel(op)


def plan_memory(graph: Graph, inplace_candidates: Mapping[int, int]) -> MemoryPlan:
    """The memory plan of ``graph`` (see the module docstring for the rules).

    ``inplace_candidates`` maps output positions to the input positions whose buffers
    they may overwrite; give only inputs the program owns (shared variables), never the
    caller's arrays.

    >>> import jitgraph.tensor as T
    >>> from jitgraph.ir.graph import Graph
    >>> w, g = T.dvectors("w", "g")
    >>> plan_memory(Graph([w, g], [w - g]), {0: 0}).inplace
    {0: 0}
    """
    facts = _GraphFacts(graph)
    inplace, rejected = _plan_inplace(graph, facts, inplace_candidates)
    inplace_nodes = [_owner(graph.outputs[k]) for k in inplace]
    last = {id(node) for node in inplace_nodes}
    first = [node for node in graph.nodes if id(node) not in last]
    order = (*first, *inplace_nodes)
    reuse = _plan_reuse(graph, facts, order, len(first))
    return MemoryPlan(order, reuse, inplace, rejected)


def _owner(var: Var) -> Node:
    assert var.owner is not None
    return var.owner


class _GraphFacts:
    """Who reads each variable, and which inputs' memory each variable may share."""

    def __init__(self, graph: Graph) -> None:
        # Each node's capabilities, computed once (the dtype resolution is not free).
        self.fresh = {node: returns_fresh(node) for node in graph.nodes}
        self.ufunc = {node: elementwise_ufunc(node) is not None for node in graph.nodes}
        self.into = {node: self.ufunc[node] or is_kernel(node.op) for node in graph.nodes}
        self.readers: dict[Var, list[Node]] = {}
        for node in graph.nodes:
            for var in node.inputs:
                self.readers.setdefault(var, []).append(node)
        # Input positions whose buffer a variable may alias: a fresh producer's outputs
        # alias nothing; any other op's outputs may alias whatever its inputs alias.
        self.aliases: dict[Var, frozenset[int]] = {
            var: frozenset({j}) for j, var in enumerate(graph.inputs)
        }
        for node in graph.nodes:
            shared: frozenset[int] = frozenset()
            if not self.fresh[node]:
                shared = self.inputs_read(node)
            for out in node.outputs:
                self.aliases[out] = shared

    def may_alias(self, var: Var, input_position: int) -> bool:
        return input_position in self.aliases.get(var, frozenset())

    def inputs_read(self, node: Node) -> frozenset[int]:
        """The input positions whose memory the node reads (directly or through views)."""
        return frozenset().union(*(self.aliases.get(v, frozenset()) for v in node.inputs))


# ---- in-place updates


def _plan_inplace(
    graph: Graph, facts: _GraphFacts, candidates: Mapping[int, int]
) -> tuple[dict[int, int], dict[int, str]]:
    """The in-place writes (output -> input, in write order) and the rejected candidates."""
    accepted: dict[int, int] = {}
    rejected: dict[int, str] = {}
    claimed_inputs: set[int] = set()
    claimed_nodes: set[int] = set()
    for k, j in sorted(candidates.items()):
        if not (0 <= k < len(graph.outputs) and 0 <= j < len(graph.inputs)):
            raise ValueError(f"in-place candidate {k} -> {j} is out of range")
        problem = _inplace_problem(graph, facts, k, j)
        if problem is None and j in claimed_inputs:
            problem = f"input {j} is already overwritten by another output"
        if problem is None and id(graph.outputs[k].owner) in claimed_nodes:
            problem = "its node already writes another output in place"
        if problem is not None:
            rejected[k] = problem
            continue
        accepted[k] = j
        claimed_inputs.add(j)
        claimed_nodes.add(id(graph.outputs[k].owner))
    ordered, cyclic = _write_order(graph, facts, accepted)
    for k in cyclic:
        rejected[k] = "its node reads a buffer another in-place node overwrites, and vice versa"
    return ordered, dict(sorted(rejected.items()))


def _inplace_problem(graph: Graph, facts: _GraphFacts, k: int, j: int) -> str | None:
    """Why output ``k`` cannot be written into input ``j``'s buffer, or None if it can."""
    out, target = graph.outputs[k], graph.inputs[j]
    node = out.owner
    if node is None:
        return "it is not computed by a node"
    if not facts.into[node]:
        return f"{node.op} cannot write into a given buffer"
    if out.type.dtype != target.type.dtype or out.type.ndim != target.type.ndim:
        return f"its type {out.type} differs from the input's {target.type}"
    if any(
        a is not None and b is not None and a != b
        for a, b in zip(out.type.shape, target.type.shape, strict=True)
    ):
        return f"its static shape {out.type.shape} differs from the input's {target.type.shape}"
    if any(facts.readers.get(o) for o in node.outputs):
        return "another node reads its node's outputs, so its node cannot run last"
    if sum(o is out for o in graph.outputs) != 1:
        return "it is also returned as another output"
    for position, other in enumerate(graph.outputs):
        if position != k and facts.may_alias(other, j):
            return f"output {position} may share memory with input {j}"
    return None


def _write_order(
    graph: Graph, facts: _GraphFacts, accepted: Mapping[int, int]
) -> tuple[dict[int, int], list[int]]:
    """The accepted writes ordered so that every in-place node reading a buffer runs
    before the node overwriting it (a topological sort, smallest output position first);
    candidates left in a read/write cycle are returned apart (the highest output
    position is dropped first, then the sort goes on)."""
    reads = {k: facts.inputs_read(_owner(graph.outputs[k])) for k in accepted}
    # must_wait[k]: the other candidates reading the buffer that k overwrites.
    must_wait = {k: {r for r in accepted if r != k and j in reads[r]} for k, j in accepted.items()}
    blocks = {k: [w for w in accepted if k in must_wait[w]] for k in accepted}
    remaining = set(accepted)
    ordered: dict[int, int] = {}
    dropped: list[int] = []
    while remaining:
        ready = [k for k in remaining if not must_wait[k]]
        chosen = min(ready) if ready else max(remaining)
        remaining.discard(chosen)
        if ready:
            ordered[chosen] = accepted[chosen]
        else:
            dropped.append(chosen)
        for writer in blocks[chosen]:
            must_wait[writer].discard(chosen)
    return ordered, sorted(dropped)


# ---- buffer reuse


def _plan_reuse(
    graph: Graph, facts: _GraphFacts, order: Sequence[Node], n_first: int
) -> dict[Var, Var]:
    """Writer output -> donor, chosen greedily over the first ``n_first`` nodes of
    ``order`` (the in-place nodes write into their targets, not into donors)."""
    last_use: dict[Var, int] = {}
    for step, node in enumerate(order):
        for var in (*node.inputs, *node.outputs):
            last_use[var] = step
    donatable = _donatable(graph, facts)
    shape_class = _shape_classes(graph)
    # Dead buffers not yet taken, oldest first, by (dtype, shape class): a buffer of the
    # same key has the writer's dtype and, when the graph runs without error, its shape.
    pool: dict[tuple[str, int], deque[Var]] = {}
    reuse: dict[Var, Var] = {}
    for step, node in enumerate(order[:n_first]):
        dying = [v for v in _unique(node.inputs) if v in donatable and last_use[v] == step]
        if facts.ufunc[node]:
            _release(pool, dying, shape_class)  # a ufunc may write over an input it reads
            dying = []
        if facts.into[node]:
            for out in node.outputs:
                waiting = pool.get((out.type.dtype, shape_class[out]))
                if waiting:
                    reuse[out] = waiting.popleft()
        _release(pool, dying, shape_class)
        _release(
            pool, [v for v in node.outputs if v in donatable and last_use[v] == step], shape_class
        )
    return reuse


def _release(
    pool: dict[tuple[str, int], deque[Var]], dead: Sequence[Var], shape_class: Mapping[Var, int]
) -> None:
    for var in dead:
        pool.setdefault((var.type.dtype, shape_class[var]), deque()).append(var)


def _unique(variables: Sequence[Var]) -> list[Var]:
    seen: list[Var] = []
    for var in variables:
        if all(var is not s for s in seen):
            seen.append(var)
    return seen


def _donatable(graph: Graph, facts: _GraphFacts) -> set[Var]:
    """Intermediates whose buffer nothing else can see once they are dead: freshly
    allocated, not a graph output, and read only by nodes that return fresh arrays."""
    outputs = {id(v) for v in graph.outputs}
    result: set[Var] = set()
    for node in graph.nodes:
        if not facts.fresh[node]:
            continue
        for var in node.outputs:
            if id(var) not in outputs and all(facts.fresh[r] for r in facts.readers.get(var, [])):
                result.add(var)
    return result


def _same_shape_pairs(node: Node) -> list[tuple[Var, Var]]:
    """(input, output) pairs of equal run-time shape when the node runs without error:
    an Elemwise output and each input that does not broadcast (no static 1 where the
    output's size may differ); a fused kernel's elementwise output and each input with
    its broadcast pattern (both span the loop domain except along the broadcast dims)."""
    op = node.op
    if isinstance(op, Elemwise):
        out = node.outputs[0]
        return [
            (var, out)
            for var in node.inputs
            if all(i != 1 or o == 1 for i, o in zip(var.type.shape, out.type.shape, strict=True))
        ]
    if isinstance(op, Fused):
        kernel = op.kernel
        return [
            (var, out)
            for output, out in zip(kernel.outputs, node.outputs, strict=True)
            if output.reduction is None
            for var, kernel_input in zip(node.inputs, kernel.inputs, strict=True)
            if kernel_input.broadcastable == kernel.slot_broadcastable(output.slot)
        ]
    return []


def _shape_classes(graph: Graph) -> dict[Var, int]:
    """Variables grouped by run-time shape (when the graph runs without error): the
    pairs of ``_same_shape_pairs``, and equal fully static shapes."""
    parent: dict[Var, Var] = {}

    def find(var: Var) -> Var:
        while parent.setdefault(var, var) is not var:
            parent[var] = parent[parent[var]]  # path halving keeps long chains cheap
            var = parent[var]
        return var

    static: dict[tuple[int | None, ...], Var] = {}
    for var in graph.variables():
        if None not in var.type.shape:
            parent[find(var)] = find(static.setdefault(var.type.shape, var))
    for node in graph.nodes:
        for var, out in _same_shape_pairs(node):
            parent[find(var)] = find(out)
    roots: dict[Var, int] = {}
    return {var: roots.setdefault(find(var), len(roots)) for var in graph.variables()}


__all__ = [
    "MemoryPlan",
    "WritesIntoBuffers",
    "elementwise_ufunc",
    "is_kernel",
    "plan_memory",
    "returns_fresh",
    "writes_into",
]
