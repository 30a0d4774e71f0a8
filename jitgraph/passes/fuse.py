"""The ``fuse`` pass: elementwise work and the reductions it feeds, as fused kernels.

After ``fuse``, the graph has no ``Elemwise`` node: every one is inside a ``Fused`` node
(``jitgraph.ops.fused``) whose ``Kernel`` (``jitgraph.backends.kernel``) the backends
lower. A lone elementwise node becomes a one-instruction kernel, so that backends handle
one construct only. Kernels are grown greedily, in three phases:

1. producer into consumer: an elementwise node joins the kernel of each elementwise node
   that produces one of its inputs;
2. siblings: kernels that read the same variable become one (one pass over that memory);
   then a 0-d kernel whose values are read only through ``DimShuffle``s padding them with
   broadcast dims, all into one kernel, joins that kernel (its inputs are read padded: the
   scalar work is done in the loop, over broadcast dims, not written out);
3. reductions: a ``Reduce`` of a kernel's value joins that kernel (the value need not be
   written out, unless something else reads it).

Two kernels merge only when the result is still a valid kernel and a valid graph:

- one loop domain: same rank, and along each axis the values that do not broadcast are
  tied to the same length by the graph's own elementwise nodes (so the kernel's single
  run-time shape check is exactly the unfused graph's checks);
- nothing is computed twice: a value of the kernel that something outside reads is an
  output of the kernel, never recomputed;
- convexity: no path leaves the kernel and comes back (that would be a cycle), counting
  paths through other kernels: a path may enter a kernel at one member and leave it at
  another that does not depend on the first. The planner therefore keeps the contracted
  graph (each kernel one vertex) and refuses a merge of two vertices joined by a path
  through a third; a topological rank per vertex, maintained as merges rewire the edges
  (Pearce and Kelly's dynamic topological order), bounds each search to the vertices
  ranked between the two, and a budget linear in the graph's size bounds them all (past
  it, a merge that needs a search is refused);
- at most ``MAX_KERNEL_ARITY`` inputs plus outputs.

A reduction joins only when its value is an elementwise value of the kernel spanning its
whole loop domain (never another reduction's output), over one axis or more (over none,
it is a cast and stays a ``Reduce``), and joins last: a kernel with a reduction takes no
more elementwise nodes. Single-valued constants
(0-d, or every dim a static 1, possibly padded by a ``DimShuffle``) are inlined.

>>> import jitgraph.tensor as T
>>> from jitgraph.ir.graph import Graph
>>> x, c = T.dmatrix("x"), T.dscalar("c")
>>> graph = fuse(Graph([x, c], [T.sum((x - c) ** 2)]))
>>> [str(node.op) for node in graph.nodes]
['DimShuffle{x,x}', 'Fused{subtract,power,sum}']
>>> print(kernels(graph)[0].as_text())
kernel(rank 2; in0: float64[?, ?], in1: float64[1, 1]) {
  c0: int8 = 2
  t0: float64 = subtract(in0, in1)
  t1: float64 = power(t0, c0)
  out0: float64 = sum(t1, axes=(0, 1))
}
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

from jitgraph.backends.kernel import (
    CONSTANT,
    INPUT,
    TEMP,
    Instruction,
    Kernel,
    KernelConstant,
    KernelInput,
    KernelOutput,
    Slot,
)
from jitgraph.ir.graph import Const, Graph, Node, Var
from jitgraph.ir.rebuild import inherit_origin
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.fused import Fused
from jitgraph.ops.reduce import Reduce
from jitgraph.ops.shape import DimShuffle

__all__ = ["MAX_KERNEL_ARITY", "fuse", "kernels"]

MAX_KERNEL_ARITY = 32  # inputs + outputs of one kernel (a launch's argument count stays small)

Domain = tuple[int | None, ...]  # per axis: the tie class of its length, None if all broadcast


def fuse(graph: Graph) -> Graph:
    """``graph`` with its elementwise nodes and the reductions they feed replaced by
    ``Fused`` kernels (see the module docstring). Invariant established: no ``Elemwise``
    node remains; values are unchanged bit for bit on the reference backend.

    >>> import jitgraph.tensor as T
    >>> x = T.dmatrix("x")
    >>> before = Graph([x], [1 / (1 + T.exp(-x))])
    >>> [str(n.op) for n in before.nodes]  # doctest: +NORMALIZE_WHITESPACE
    ['DimShuffle{x,x}', 'Elemwise{neg}', 'Elemwise{exp}', 'Elemwise{add}',
     'Elemwise{true_div}']
    >>> [str(n.op) for n in fuse(before).nodes]
    ['Fused{negative,exp,add,true_divide}']
    """
    planner = _Planner(graph)
    groups = planner.plan()
    if not groups:
        return graph
    return _rebuild(graph, groups)


def kernels(graph: Graph) -> list[Kernel]:
    """The kernels of ``graph``'s ``Fused`` nodes, in execution order (``f.kernels``).

    >>> import jitgraph.tensor as T
    >>> a, b = T.dmatrices("a", "b")
    >>> diff = a - b
    >>> len(kernels(fuse(Graph([a, b], [diff, abs(diff), diff**2]))))
    1
    """
    return [node.op.kernel for node in graph.nodes if isinstance(node.op, Fused)]


# ============================================================================ inlining
def inline_value(var: Var, graph_inputs: set[int]) -> np.ndarray | None:
    """The single value of ``var`` when it is a constant the kernel can inline: a
    constant holding one element (not a graph input: a caller may feed those), or such a
    constant padded with broadcast dims by a ``DimShuffle``."""
    if var.owner is not None and isinstance(var.owner.op, DimShuffle):
        var = var.owner.inputs[0]
    if isinstance(var, Const) and id(var) not in graph_inputs and var.data.size == 1:
        return var.data
    return None


# ============================================================================ planning
@dataclasses.dataclass(eq=False)
class _Group:
    """A kernel being grown: its member nodes (graph positions), its vertex in the
    contracted graph, its loop domain, the variables it reads from outside and the ones
    read outside it."""

    members: list[int]
    vertex: int
    ndim: int
    domain: Domain
    inputs: dict[int, Var]
    outputs: dict[int, Var]
    closed: bool = False  # holds a reduction: takes no more elementwise nodes


class _Planner:
    """The grouping of one graph's nodes into kernels (no graph is built here)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.nodes = graph.nodes
        self.position = {id(node): i for i, node in enumerate(graph.nodes)}
        self.graph_inputs = {id(v) for v in graph.inputs}
        self.graph_outputs = {id(v) for v in graph.outputs}
        self.clients: dict[int, list[int]] = {}
        for i, node in enumerate(graph.nodes):
            for v in node.inputs:
                self.clients.setdefault(id(v), []).append(i)
        self.contracted = _ContractedGraph(len(graph.nodes), self._edges())
        self.ties = _Ties(graph)
        self.group_of: dict[int, _Group] = {}
        self.inside_until: dict[int, int] = {}  # per variable: see _used_outside

    def plan(self) -> list[_Group]:
        for i, node in enumerate(self.nodes):
            if isinstance(node.op, Elemwise):
                self.group_of[i] = self._singleton(i, node)
        for i, node in enumerate(self.nodes):  # 1. producers into consumers
            if isinstance(node.op, Elemwise):
                for v in node.inputs:
                    producer = self._producer(v)
                    if producer in self.group_of:
                        self._merge(self.group_of[producer], self.group_of[i])
        for var_id, users in self.clients.items():  # 2. siblings
            self._merge_siblings(var_id, users)
        for group in list({id(g): g for g in self.group_of.values()}.values()):
            if group.ndim == 0:  # 2b. scalar kernels padded into one kernel
                self._absorb_scalar_group(group)
        for i, node in enumerate(self.nodes):  # 3. reductions
            if isinstance(node.op, Reduce):
                self._add_reduction(i, node)
        unique = list({id(g): g for g in self.group_of.values()}.values())
        for group in unique:
            group.members.sort()  # execution order: the kernel's instruction order
        return sorted(unique, key=lambda g: g.members[0])

    # ---- facts about the graph
    def _edges(self) -> list[tuple[int, int]]:
        """The graph's edges as (producer position, consumer position) pairs, less the
        edges out of the nodes that no path goes through: a node that joins no kernel
        and reads no node (a ``DimShuffle`` of a constant, a ``Shape`` of an input)
        never gains a predecessor, and dropping them keeps a value read by many such
        nodes' consumers from making every search scan them."""
        edges: list[tuple[int, int]] = []
        has_predecessor = [False] * len(self.nodes)
        for i, node in enumerate(self.nodes):
            for v in node.inputs:
                producer = self._producer(v)
                if producer is None:
                    continue
                has_predecessor[i] = True
                if has_predecessor[producer] or isinstance(self.nodes[producer].op, Elemwise):
                    edges.append((producer, i))
        return edges

    def _producer(self, var: Var) -> int | None:
        """The graph position of the node producing ``var`` (None for roots)."""
        if var.owner is None or id(var) in self.graph_inputs:
            return None
        return self.position.get(id(var.owner))

    def _group_producing(self, var: Var) -> _Group | None:
        """The group of the node producing ``var``, if that node is in one."""
        producer = self._producer(var)
        return None if producer is None else self.group_of.get(producer)

    def _used_outside(self, var: Var, groups: tuple[_Group, ...], extra: int = -1) -> bool:
        """Whether something other than the members of ``groups`` (and the node at
        position ``extra``) reads ``var``: a graph output, or another node.

        The readers already in ``var``'s own kernel stay in it (kernels only grow), so
        the scan skips that prefix of the readers for good: a value with many readers
        costs about its number of readers over all the merges."""
        if id(var) in self.graph_outputs:
            return True
        users = self.clients.get(id(var), [])
        own = self._group_producing(var)
        start = self.inside_until.get(id(var), 0)
        while start < len(users) and own is not None and self.group_of.get(users[start]) is own:
            start += 1
        self.inside_until[id(var)] = start
        return any(
            users[k] != extra and self.group_of.get(users[k]) not in groups
            for k in range(start, len(users))
        )

    def _singleton(self, i: int, node: Node) -> _Group:
        out = node.outputs[0]
        inputs = {id(v): v for v in node.inputs if inline_value(v, self.graph_inputs) is None}
        outputs = {id(out): out} if self._used_outside(out, (), extra=i) else {}
        domain = self.ties.domain_of(out)
        return _Group([i], i, out.type.ndim, domain, inputs, outputs)

    # ---- merging
    def _merge(self, first: _Group, second: _Group) -> bool:
        """Merge ``second`` into ``first`` (or the reverse) if the result is a valid,
        acyclic kernel; whether they merged."""
        if first is second or first.closed or second.closed or first.ndim != second.ndim:
            return False
        domain = _joined_domain(first.domain, second.domain)
        if domain is None:
            return False
        inputs = {
            k: v
            for k, v in (*first.inputs.items(), *second.inputs.items())
            if self._group_producing(v) not in (first, second)
        }
        outputs = {
            k: v
            for k, v in (*first.outputs.items(), *second.outputs.items())
            if self._used_outside(v, (first, second))
        }
        if len(inputs) + len(outputs) > MAX_KERNEL_ARITY:
            return False
        vertex = self.contracted.merge(first.vertex, second.vertex)
        if vertex is None:  # a path through other nodes joins them: not convex
            return False
        big, small = (
            (first, second) if len(first.members) >= len(second.members) else (second, first)
        )
        for member in small.members:
            self.group_of[member] = big
        big.members.extend(small.members)  # sorted once, in plan()
        big.vertex, big.domain, big.inputs, big.outputs = vertex, domain, inputs, outputs
        return True

    def _merge_siblings(self, var_id: int, users: list[int]) -> None:
        """Merge the kernels that read the variable ``var_id`` from outside."""
        readers = [u for u in users if u in self.group_of and var_id in self.group_of[u].inputs]
        if not readers:
            return
        current = self.group_of[readers[0]]
        for other in readers[1:]:
            # Each reader tries the kernel of the nearest reader before it, not the first:
            # in a chain of readers that depend on each other, refusing costs a short search.
            if self.group_of[other] is not current:
                self._merge(current, self.group_of[other])
            current = self.group_of[other]

    def _absorb_scalar_group(self, scalar: _Group) -> None:
        """Join the 0-d kernel ``scalar`` to the kernel that reads all its values, when
        each is read only through ``DimShuffle``s padding it with broadcast dims (the
        padded value then is a loop value of that kernel, the same at every element).
        Refused when a value (or a padding) is read anywhere else: it would have to be
        written out, and a kernel writes loop-shaped values only."""
        pads = self._padding_readers(scalar)
        if not pads:
            return
        target = self.group_of.get(self.clients[id(self.nodes[pads[0]].outputs[0])][0])
        if target is None or target.closed or target is scalar:
            return
        for pad in pads:
            users = self.clients[id(self.nodes[pad].outputs[0])]
            if any(self.group_of.get(u) is not target for u in users):
                return
        inside = {id(self.nodes[p].outputs[0]) for p in pads}
        inputs = {**target.inputs, **scalar.inputs}
        inputs = {k: v for k, v in inputs.items() if k not in inside}
        if len(inputs) + len(target.outputs) > MAX_KERNEL_ARITY:
            return
        vertex: int | None = target.vertex
        for other in (*pads, scalar.vertex):
            vertex = self.contracted.merge(target.vertex, other)
            if vertex is None:  # cannot happen: the scalar kernel leads only to the target
                raise AssertionError("fuse: absorbing a scalar kernel made a cycle")
            target.vertex = vertex
        for member in (*scalar.members, *pads):
            self.group_of[member] = target
        target.members.extend((*scalar.members, *pads))
        target.inputs = inputs

    def _padding_readers(self, scalar: _Group) -> list[int]:
        """The positions of the ``DimShuffle``s (inserting broadcast dims only) through
        which everything outside ``scalar`` reads its values; empty when something else
        reads one, or a graph output is one."""
        pads: list[int] = []
        for var in scalar.outputs.values():
            if id(var) in self.graph_outputs:
                return []
            for user in self.clients.get(id(var), []):
                if self.group_of.get(user) is scalar:
                    continue
                op = self.nodes[user].op
                out = self.nodes[user].outputs[0]
                if not isinstance(op, DimShuffle) or any(e != "x" for e in op.new_order):
                    return []
                if id(out) in self.graph_outputs or not self.clients.get(id(out)):
                    return []
                pads.append(user)
        return sorted(set(pads))

    def _add_reduction(self, i: int, node: Node) -> None:
        """Join the reduction at position ``i`` to the kernel of its input, when that input
        is an elementwise value of the kernel spanning its loop. A reduction of another
        reduction's output (a kernel output, not a value of the loop) or over no axis (a
        mere cast: the kernel's reductions reduce one axis or more) stays a ``Reduce``."""
        op: Reduce = node.op  # type: ignore[assignment]
        if not op.axis:
            return
        value = node.inputs[0]
        producer = self._producer(value)
        if producer is None or not isinstance(self.nodes[producer].op, Elemwise):
            return  # only an instruction's result is a value in the loop
        group = self.group_of.get(producer)
        if group is None:
            return
        loop_pattern = tuple(d is None for d in group.domain)
        if value.type.broadcastable != loop_pattern:
            return  # the value broadcasts inside the loop: it stays a separate Reduce
        outputs = {k: v for k, v in group.outputs.items() if self._used_outside(v, (group,), i)}
        outputs[id(node.outputs[0])] = node.outputs[0]
        if len(group.inputs) + len(outputs) > MAX_KERNEL_ARITY:
            return
        vertex = self.contracted.merge(group.vertex, i)
        if vertex is None:  # cannot happen (the group makes the reduction's only input)
            return
        group.members.append(i)
        group.vertex, group.outputs, group.closed = vertex, outputs, True
        self.group_of[i] = group


class _ContractedGraph:
    """The graph with each kernel contracted to one vertex, kept acyclic.

    Vertices are node positions (a kernel's vertex is one of its members'). ``rank`` is a
    topological order of the vertices: every edge goes from a lower to a higher rank, so
    a search for a path between two vertices only visits the vertices ranked between
    them. Merging two vertices rewires the survivor's edges one at a time; an edge that
    goes against the ranks re-ranks only the vertices between its ends that it affects
    (Pearce and Kelly, "A dynamic topological sort algorithm for directed acyclic
    graphs", 2006), so a merge costs about the size of the region it disturbs.

    >>> graph = _ContractedGraph(4, [(0, 1), (1, 2), (0, 3), (3, 2)])
    >>> graph.merge(0, 2) is None  # 0 -> 1 -> 2: a merged {0, 2} would be a cycle
    True
    >>> graph.merge(1, 3) in (1, 3)  # independent: they merge
    True
    """

    def __init__(self, size: int, edges: Sequence[tuple[int, int]]) -> None:
        self.rank = list(range(size))  # the nodes' positions are a topological order
        self.successors: list[set[int]] = [set() for _ in range(size)]
        self.predecessors: list[set[int]] = [set() for _ in range(size)]
        for source, target in edges:
            self.successors[source].add(target)
            self.predecessors[target].add(source)
        # Searches look at this many edges in all, a few times the graph's size; past
        # that, a merge that needs a search is refused (refusing is always safe), so the
        # planning stays linear whatever the graph.
        self.search_budget = 16 * (size + len(edges)) + 4096

    def merge(self, first: int, second: int) -> int | None:
        """Contract the vertices ``first`` and ``second`` into one and return it, or
        return None (changing nothing) when that would make a cycle: when a path of two
        edges or more joins them."""
        if self.rank[first] > self.rank[second]:
            first, second = second, first
        if self._joined_through_others(first, second):
            return None
        keep, gone = first, second
        if self._degree(gone) > self._degree(keep):
            keep, gone = gone, keep  # rewire the fewer edges
        sources, targets = self.predecessors[gone], self.successors[gone]
        self.predecessors[gone], self.successors[gone] = set(), set()
        for source in sources:
            self.successors[source].discard(gone)
        for target in targets:
            self.predecessors[target].discard(gone)
        for source in sources - {keep}:
            self._insert_edge(source, keep)
        for target in targets - {keep}:
            self._insert_edge(keep, target)
        return keep

    def _degree(self, vertex: int) -> int:
        return len(self.predecessors[vertex]) + len(self.successors[vertex])

    def _joined_through_others(self, low: int, high: int) -> bool:
        """Whether a path of two edges or more goes from ``low`` to ``high`` (ranked
        after it; no path goes back). Such a path ends with an edge from one of
        ``high``'s other predecessors: a search forward from ``low`` and one backward
        from those, both kept between their ranks, meet exactly when it exists."""
        goals = self.predecessors[high] - {low}
        if not goals:
            return False
        floor, ceiling = self.rank[low], max(self.rank[v] for v in goals)
        if ceiling < floor:
            return False
        forward = _Search({low}, self.successors, lambda v: self.rank[v] <= ceiling)
        backward = _Search(goals, self.predecessors, lambda v: self.rank[v] >= floor)
        joined = forward.meets(backward, self.search_budget)
        self.search_budget -= forward.cost + backward.cost
        return joined

    def _insert_edge(self, source: int, target: int) -> None:
        """Add the edge ``source -> target``, re-ranking if it goes against the ranks."""
        if target in self.successors[source]:
            return
        self.successors[source].add(target)
        self.predecessors[target].add(source)
        low, high = self.rank[target], self.rank[source]
        if low < high:
            self._reorder(source, target, low, high)

    def _reorder(self, source: int, target: int, low: int, high: int) -> None:
        """Re-rank after a new edge ``source -> target`` with ``rank[target] == low <
        high == rank[source]``: what ``target`` reaches below ``high`` moves after what
        reaches ``source`` above ``low``, in the same ranks."""
        after = self._search(target, self.successors, lambda v: self.rank[v] <= high)
        if source in after:
            raise AssertionError("fuse: merging made a cycle (a convexity bug)")
        before = self._search(source, self.predecessors, lambda v: self.rank[v] > low)
        moved = sorted(before, key=self.rank.__getitem__) + sorted(after, key=self.rank.__getitem__)
        for vertex, rank in zip(moved, sorted(self.rank[v] for v in moved), strict=True):
            self.rank[vertex] = rank

    def _search(self, start: int, edges: list[set[int]], keep: Callable[[int], bool]) -> set[int]:
        """The vertices reachable from ``start`` along ``edges`` through vertices that
        ``keep`` accepts (``start`` included)."""
        return _Search({start}, edges, keep).run()


class _Search:
    """A depth-first search that advances one vertex at a time, so that two searches can
    run side by side."""

    def __init__(
        self, starts: set[int], edges: list[set[int]], keep: Callable[[int], bool]
    ) -> None:
        self.seen = set(starts)
        self.stack = list(starts)
        self.edges = edges
        self.keep = keep  # the vertices it may go through
        self.cost = 0  # edges looked at so far

    def run(self) -> set[int]:
        """Everything reachable from the starts."""
        while self.stack:
            self.step(None)
        return self.seen

    def step(self, other: _Search | None) -> bool:
        """Expand one vertex; whether it leads to a vertex that ``other`` has seen."""
        neighbours = self.edges[self.stack.pop()]
        self.cost += len(neighbours) + 1
        for vertex in neighbours:
            if other is not None and vertex in other.seen:
                return True
            if vertex not in self.seen and self.keep(vertex):
                self.seen.add(vertex)
                self.stack.append(vertex)
        return False

    def meets(self, other: _Search, budget: int) -> bool:
        """Whether this search and ``other`` (going the opposite way) meet, or may meet:
        True too when they look at ``budget`` edges without deciding. Each step advances
        the one that has looked at fewer edges; the first to run out answers no, since
        the other's starts lie on every path between them. So the cost is about twice
        that of the cheaper search."""
        if not self.seen.isdisjoint(other.seen):
            return True
        while self.stack and other.stack:
            if self.cost + other.cost > budget:
                return True
            first, second = (self, other) if self.cost <= other.cost else (other, self)
            if first.step(second):
                return True
        return False


def _joined_domain(first: Domain, second: Domain) -> Domain | None:
    """The domain of a kernel holding both, or None where an axis would have two
    lengths the graph does not tie together."""
    joined: list[int | None] = []
    for a, b in zip(first, second, strict=True):
        if a is not None and b is not None and a != b:
            return None
        joined.append(a if a is not None else b)
    return tuple(joined)


class _Ties:
    """Union-find over (variable, axis): an elementwise node ties the lengths of its
    non-broadcasting inputs and output along each axis (its run-time check makes them
    equal). Two values with tied lengths can share a loop."""

    def __init__(self, graph: Graph) -> None:
        self.parent: dict[tuple[int, int], tuple[int, int]] = {}
        self.class_ids: dict[tuple[int, int], int] = {}
        for node in graph.nodes:
            if not isinstance(node.op, Elemwise):
                continue
            out = node.outputs[0]
            for axis in range(out.type.ndim):
                tied = [(id(v), axis) for v in (*node.inputs, out) if v.type.shape[axis] != 1]
                for key in tied[1:]:
                    self._union(tied[0], key)

    def _find(self, key: tuple[int, int]) -> tuple[int, int]:
        root = key
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while key != root:  # path compression
            self.parent[key], key = root, self.parent[key]
        return root

    def _union(self, a: tuple[int, int], b: tuple[int, int]) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self.parent[ra] = rb

    def domain_of(self, var: Var) -> Domain:
        """Per axis, an id of the tie class of ``var``'s length (None: broadcasts)."""
        result: list[int | None] = []
        for axis, size in enumerate(var.type.shape):
            if size == 1:
                result.append(None)
                continue
            root = self._find((id(var), axis))
            result.append(self.class_ids.setdefault(root, len(self.class_ids)))
        return tuple(result)


# ============================================================================ building
@dataclasses.dataclass
class _KernelBuilder:
    """Turns a group's nodes (in execution order) into a Kernel, its input variables and
    the variables its outputs replace."""

    graph_inputs: set[int]
    ndim: int
    slots: dict[int, Slot] = dataclasses.field(default_factory=dict)
    input_vars: list[Var] = dataclasses.field(default_factory=list)
    constants: dict[KernelConstant, int] = dataclasses.field(default_factory=dict)
    body: list[Instruction] = dataclasses.field(default_factory=list)
    outputs: list[KernelOutput] = dataclasses.field(default_factory=list)
    replaced: list[Var] = dataclasses.field(default_factory=list)

    def slot(self, var: Var) -> Slot:
        if id(var) in self.slots:
            return self.slots[id(var)]
        value = inline_value(var, self.graph_inputs)
        if value is not None:
            constant = KernelConstant.of(value, var.type.dtype)
            return Slot(CONSTANT, self.constants.setdefault(constant, len(self.constants)))
        self.slots[id(var)] = Slot(INPUT, len(self.input_vars))
        self.input_vars.append(var)
        return self.slots[id(var)]

    def add_padding(self, node: Node) -> None:
        """A ``DimShuffle`` inserting broadcast dims: in the loop, its input's value."""
        self.slots[id(node.outputs[0])] = self.slot(node.inputs[0])

    def add_elementwise(self, node: Node, is_output: bool) -> None:
        out = node.outputs[0]
        args = tuple(self.slot(v) for v in node.inputs)
        op: Elemwise = node.op  # type: ignore[assignment]
        self.slots[id(out)] = Slot(TEMP, len(self.body))
        self.body.append(Instruction(op.scalar_op, args, out.type.dtype))
        if is_output:
            self.outputs.append(KernelOutput(self.slots[id(out)], out.type.dtype))
            self.replaced.append(out)

    def add_reduction(self, node: Node) -> None:
        op: Reduce = node.op  # type: ignore[assignment]
        value, out = node.inputs[0], node.outputs[0]
        slot = self.slots.get(id(value))
        if slot is None or slot.kind != TEMP:  # the planner joins only such reductions
            raise AssertionError(f"fuse: {op} reduces {value.describe()}, not a loop value")
        acc = op.accumulator_dtype(value.type.dtype) if op.kind.takes_dtype else None
        output = KernelOutput(slot, out.type.dtype, op.kind, op.axis, op.keepdims, acc)
        self.outputs.append(output)
        self.replaced.append(out)

    def kernel(self) -> Kernel:
        inputs = tuple(
            KernelInput(v.type.dtype, pad_pattern(v, self.ndim)) for v in self.input_vars
        )
        body, outputs = tuple(self.body), tuple(self.outputs)
        return Kernel(self.ndim, inputs, tuple(self.constants), body, outputs)


def pad_pattern(var: Var, ndim: int) -> tuple[bool, ...]:
    """``var``'s broadcast pattern left-padded with broadcast dims to ``ndim``."""
    return (True,) * (ndim - var.type.ndim) + tuple(var.type.broadcastable)


def padded(var: Var, ndim: int) -> Var:
    """``var`` left-padded with broadcast dims to ``ndim`` (a kernel of a scalar kernel
    absorbed reads the scalar's inputs so)."""
    missing = ndim - var.type.ndim
    if missing == 0:
        return var
    return DimShuffle(var.type.ndim, ("x",) * missing + tuple(range(var.type.ndim)))(var)


def build_kernel(
    nodes: Sequence[Node], ndim: int, outputs: set[int], graph_inputs: set[int]
) -> tuple[Kernel, list[Var], list[Var]]:
    """The kernel of ``nodes`` (elementwise and reductions, in execution order): the
    kernel, the variables it reads, and the variables its outputs stand for. ``outputs``:
    ids of the elementwise values something outside reads."""
    builder = _KernelBuilder(graph_inputs, ndim)
    for node in nodes:
        if isinstance(node.op, Reduce):
            builder.add_reduction(node)
        elif isinstance(node.op, DimShuffle):
            builder.add_padding(node)
        else:
            builder.add_elementwise(node, id(node.outputs[0]) in outputs)
    return builder.kernel(), builder.input_vars, builder.replaced


# ============================================================================ rebuilding
Unit = tuple[str, int]  # ("g", group index) or ("n", node position)


def _rebuild(graph: Graph, groups: list[_Group]) -> Graph:
    """The graph with each group replaced by one Fused node. Units (a group, or a node
    outside every group) are rebuilt in a topological order of the contracted graph,
    which exists because every group is convex."""
    group_index = {m: g for g, group in enumerate(groups) for m in group.members}
    units: list[Unit] = [
        ("g", group_index[i]) if i in group_index else ("n", i) for i in range(len(graph.nodes))
    ]
    graph_inputs = {id(v) for v in graph.inputs}
    new: dict[int, Var] = {}
    for kind, index in _unit_order(graph, units):
        if kind == "n":
            _rebuild_node(graph.nodes[index], new)
            continue
        group = groups[index]
        nodes = [graph.nodes[m] for m in group.members]
        kernel, reads, replaced = build_kernel(nodes, group.ndim, set(group.outputs), graph_inputs)
        fused = Fused(kernel).make_node(*[padded(new.get(id(v), v), group.ndim) for v in reads])
        for old, fresh in zip(replaced, fused.outputs, strict=True):
            new[id(old)] = fresh
            inherit_origin(old, fresh)
    return Graph(graph.inputs, [new.get(id(v), v) for v in graph.outputs])


def _unit_order(graph: Graph, units: list[Unit]) -> list[Unit]:
    """The units in a topological order (Kahn's algorithm, ties by first position)."""
    position = {id(node): i for i, node in enumerate(graph.nodes)}
    graph_inputs = {id(v) for v in graph.inputs}
    successors: dict[Unit, set[Unit]] = {unit: set() for unit in units}
    pending: dict[Unit, int] = dict.fromkeys(units, 0)
    for i, node in enumerate(graph.nodes):
        for v in node.inputs:
            if v.owner is None or id(v) in graph_inputs or id(v.owner) not in position:
                continue
            source, target = units[position[id(v.owner)]], units[i]
            if source != target and target not in successors[source]:
                successors[source].add(target)
                pending[target] += 1
    ready = deque(unit for unit in dict.fromkeys(units) if pending[unit] == 0)
    order: list[Unit] = []
    while ready:
        unit = ready.popleft()
        order.append(unit)
        for successor in sorted(successors[unit]):
            pending[successor] -= 1
            if pending[successor] == 0:
                ready.append(successor)
    if len(order) != len(pending):
        raise AssertionError("fuse: the kernels form a cycle (a convexity bug)")
    return order


def _rebuild_node(node: Node, new: dict[int, Var]) -> None:
    """A node outside every kernel, re-made on its inputs' new variables if any changed."""
    inputs = [new.get(id(v), v) for v in node.inputs]
    if all(a is b for a, b in zip(inputs, node.inputs, strict=True)):
        return
    rebuilt = node.op.make_node(*inputs)
    for old, fresh in zip(node.outputs, rebuilt.outputs, strict=True):
        new[id(old)] = fresh
        inherit_origin(old, fresh)
