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
from collections.abc import Sequence, Set
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.backends.reference import NodeImplementation
from jitgraph.config import config
from jitgraph.ir.graph import Const, Graph, Node, Var, graph_inputs
from jitgraph.ir.rebuild import replace
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import DISCONNECTED, Disconnected, GradTerm, Undefined
from jitgraph.ops.control import InnerGraph, InnerGraphOp
from jitgraph.ops.shape import int64_constant, shape_scalars

__all__ = ["IfElse", "build_ifelse", "check_branch_types", "hoist_computed", "joined_type"]


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
    """Whether a value of type ``value`` can feed an inner input of type ``placeholder``:
    the same dtype, ndim and broadcastable dims, and no static size in conflict. A value
    may know less than the placeholder (other than its 1s): rewrites replace variables by
    equal values that keep only the broadcastable pattern, e.g. a gradient seed."""
    return (
        value.dtype == placeholder.dtype
        and value.broadcastable == placeholder.broadcastable
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
            taken = branches[0] if _truth(condition) else branches[1]
            return owned_results(taken.program(backend).run(values), values)

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
        """Each value gets ``ifelse(condition, vjp of the then branch, vjp of the else
        branch)``, all of them from one gradient ifelse. The condition gets zeros, as in
        Theano: it is connected (it picks the outputs), but a small change of it is
        taken to pick the same branch."""
        from jitgraph.tensor.creation import zeros_like

        condition, *values = node.inputs
        then_graph, else_graph = self.then_graph.graph, self.else_graph.graph
        seeded = [i for i, out in enumerate(node.outputs) if is_continuous(out.type.dtype)]
        seeds = [output_grads[i].type.make_variable(f"d_out{i}") for i in seeded]
        then_terms = branch_vjp(then_graph, seeded, seeds)
        else_terms = branch_vjp(else_graph, seeded, seeds)
        float_dtype = condition.type.dtype if is_continuous(condition.type.dtype) else None
        terms: list[GradTerm] = [zeros_like(condition, dtype=float_dtype or config.floatX)]
        chosen: dict[int, tuple[Var, Var]] = {}  # input position -> (then term, else term)
        for k, value in enumerate(values):
            term = _settled_term(value, then_terms[k], else_terms[k])
            if term is None:  # a branch the value does not reach contributes zeros
                chosen[1 + k] = (
                    _term_or_zeros(then_terms[k], then_graph.inputs[k]),
                    _term_or_zeros(else_terms[k], else_graph.inputs[k]),
                )
            terms.append(DISCONNECTED if term is None else term)
        if chosen:
            gradients = build_ifelse(
                condition,
                [*values, *(output_grads[i] for i in seeded)],
                ([*then_graph.inputs, *seeds], [pair[0] for pair in chosen.values()]),
                ([*else_graph.inputs, *seeds], [pair[1] for pair in chosen.values()]),
                f"grad of {self.name}" if self.name else "grad",
            )
            for position, gradient in zip(chosen, gradients, strict=True):
                terms[position] = gradient
        return terms

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
    from jitgraph.backends.cuda.runtime import as_array, is_writeable, may_share_memory

    owned: list[np.ndarray] = []
    for result in results:
        array = as_array(result)  # a GPU branch's results stay on the GPU
        if not is_writeable(array) or any(
            may_share_memory(array, other) for other in (*values, *owned)
        ):
            array = array.copy()
        owned.append(array)
    return owned


def _truth(condition: Any) -> bool:
    """The condition's truth: a host value's, or a GPU scalar's (read back: the branch
    to run is chosen on the host)."""
    from jitgraph.backends.cuda.runtime import is_device_array

    return bool(condition.get() if is_device_array(condition) else np.asarray(condition))


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


def hoist_computed(node: Node, computed: Set[int]) -> list[Var] | None:
    """The outputs of an IfElse equivalent to ``node`` whose branches take, as extra
    values, what they would otherwise recompute although the outer graph computes it
    anyway; None when they recompute nothing. ``computed``: the ids of the outer variables
    computed unconditionally (in an outer ``Graph``, the outputs of all its nodes).

    A branch's expression is matched by rebuilding it on the node's values: hash-consing
    returns the outer graph's own node when it computes the same thing (of the same type,
    so the outputs keep theirs). For a pass::

        computed = {id(v) for n in graph.nodes for v in n.outputs}
        replacement = hoist_computed(ifelse_node, computed)
    """
    op = node.op
    if not isinstance(op, IfElse):
        raise TypeError(f"hoist_computed takes an IfElse node, got a node of {op}")
    condition, values = node.inputs[0], list(node.inputs[1:])
    extra: dict[int, Var] = {}  # id(outer variable) -> the variable, in order of discovery
    hits: list[dict[Var, Var]] = []  # per branch: inner variable -> its outer equivalent
    for graph in (op.then_graph.graph, op.else_graph.graph):
        outer = outer_equivalents(graph, values)
        found = {
            var: outer[id(var)]
            for inner in graph.nodes
            for var in inner.outputs
            if id(outer[id(var)]) in computed and outer[id(var)].type == var.type
        }
        for equivalent in found.values():
            extra.setdefault(id(equivalent), equivalent)
        hits.append(found)
    if not extra:
        return None
    branches: list[Branch] = []
    for graph, found in zip((op.then_graph.graph, op.else_graph.graph), hits, strict=True):
        stand_ins = {key: var.type.make_variable(var.name) for key, var in extra.items()}
        outputs = replace(graph.outputs, {v: stand_ins[id(o)] for v, o in found.items()})
        branches.append(([*graph.inputs, *stand_ins.values()], outputs))
    return build_ifelse(condition, [*values, *extra.values()], branches[0], branches[1], op.name)


def outer_equivalents(graph: Graph, values: Sequence[Var]) -> dict[int, Var]:
    """id(inner variable) -> the same expression built on ``values`` (the outer values
    of the graph's inputs); equal expressions are the same node (hash-consing)."""
    outer: dict[int, Var] = {id(p): v for p, v in zip(graph.inputs, values, strict=True)}
    for inner in graph.nodes:
        args = [v if isinstance(v, Const) else outer[id(v)] for v in inner.inputs]
        rebuilt = inner.op.make_node(*args)
        outer.update((id(old), new) for old, new in zip(inner.outputs, rebuilt.outputs))
    return outer


# ----------------------------------------------------------------------------- gradients
def is_continuous(dtype: str) -> bool:
    return dtypes.is_float(dtype) or dtypes.is_complex(dtype)


def branch_vjp(graph: Graph, seeded: Sequence[int], seeds: Sequence[Var]) -> list[GradTerm]:
    """For each input of ``graph``: the vector-Jacobian product of the outputs at
    positions ``seeded`` with ``seeds``, i.e. the gradient of ``sum(output * seed)``.

    Seeds ADD to what flows into their output from the other outputs (Lop's semantics,
    not ``grad``'s ``known_grads``, which would drop it): a branch may return ``y`` and
    ``2 * y``. An input the outputs do not reach is DISCONNECTED; an undefined gradient is
    returned as ``Undefined`` (the outer driver raises only if the cost needs it).
    """
    from jitgraph.gradient import _grad, _GradOptions

    known: dict[Var, Var] = {}
    for position, seed in zip(seeded, seeds, strict=True):
        out = graph.outputs[position]
        if not isinstance(out, Const):
            known[out] = known[out] + seed if out in known else seed  # type: ignore[operator]
    wrt = [v for v in graph.inputs if is_continuous(v.type.dtype)]
    terms: dict[int, GradTerm] = {}
    if known and wrt:
        options = _GradOptions(
            disconnected_inputs="ignore",
            return_disconnected="Disconnected",
            null_gradients="return",
            add_names=False,
            additive_seeds=True,
        )
        terms = dict(zip(map(id, wrt), _grad(None, wrt, None, known, options), strict=True))
    return [terms.get(id(v), DISCONNECTED) for v in graph.inputs]


def _settled_term(value: Var, then_term: GradTerm, else_term: GradTerm) -> GradTerm | None:
    """The gradient term of ``value`` when it needs no gradient ifelse, else None."""
    from jitgraph.tensor.creation import zeros_like

    if not is_continuous(value.type.dtype):
        # Integer values have zero gradients (the driver's convention for every op).
        return zeros_like(value, dtype=config.floatX)
    for term in (then_term, else_term):
        if isinstance(term, Undefined):
            return term
    if isinstance(then_term, Disconnected) and isinstance(else_term, Disconnected):
        return DISCONNECTED
    return None


def _term_or_zeros(term: GradTerm, placeholder: Var) -> Var:
    from jitgraph.tensor.creation import zeros_like

    return term if isinstance(term, Var) else zeros_like(placeholder)
