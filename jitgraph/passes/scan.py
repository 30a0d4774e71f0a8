"""Rewrites of scan loops.

``prune_outputs``: a loop output nobody reads is not computed, unless another output's
step reads it (a recurrent output feeding one that is used); non-sequences the remaining
step does not read are dropped. The gradient of a loop computes every input's gradient;
the ones the cost does not ask for disappear here.

``save_memory``: a loop output read only as ``result[-1]`` keeps only the rows its taps
need (a ring of ``max_back + 1`` rows) instead of every step's value: the power example of
Theano's tutorial (``result[-1]`` of ``k`` steps) then uses O(1) memory in ``k``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from jitgraph.ir.graph import Graph, Node, Var, ancestors
from jitgraph.ir.rebuild import replace
from jitgraph.ops.control import InnerGraph
from jitgraph.ops.indexing import Subtensor
from jitgraph.ops.scan import KEEP_ALL, KEEP_LAST_STEP, Scan
from jitgraph.passes.fold import constant_position

Clients = dict[int, list[tuple[Node, int]]]


def prune_outputs(graph: Graph) -> Graph:
    """``graph`` with each loop computing only the outputs that are read (module
    docstring)."""
    return _rewrite_loops(graph, _pruned)


def _rewrite_loops(
    graph: Graph, rewrite: Callable[[Node, Clients, set[int]], dict[Var, Var]]
) -> Graph:
    """``graph`` with the replacements ``rewrite(scan_node, clients, returned)`` gives for
    each loop (``returned``: ids of the graph's outputs)."""
    clients = graph.clients()
    returned = {id(v) for v in graph.outputs}
    mapping: dict[Var, Var] = {}
    for node in graph.nodes:
        if isinstance(node.op, Scan):
            mapping.update(rewrite(node, clients, returned))
    if not mapping:
        return graph
    return Graph(graph.inputs, replace(list(graph.outputs), mapping))


def _kept_states(op: Scan, used: list[bool]) -> list[bool]:
    """The recurrent outputs to keep: the used ones and those a kept output's step reads."""
    inner = op.inner.graph
    keep = list(used[: op.n_states])
    taps_of = op.state_tap_inputs()
    nits = [op.n_states + j for j in range(op.n_nit) if used[op.n_states + j]]
    rest = list(range(op.n_states + op.n_nit, len(inner.outputs)))  # shared, condition
    while True:
        needed = [inner.outputs[k] for k in range(op.n_states) if keep[k]]
        needed += [inner.outputs[i] for i in (*nits, *rest)]
        reached = {id(v) for v in ancestors(needed)}
        grown = [
            k
            for k in range(op.n_states)
            if not keep[k] and any(id(inner.inputs[p]) in reached for p in taps_of[k])
        ]
        if not grown:
            return keep
        for k in grown:
            keep[k] = True


def _pruned(node: Node, clients: Clients, returned: set[int]) -> dict[Var, Var]:
    op = node.op
    assert isinstance(op, Scan)
    used = [id(v) in returned or bool(clients.get(id(v))) for v in node.outputs]
    keep_state = _kept_states(op, used)
    keep_nit = used[op.n_states : op.n_states + op.n_nit]
    if all(keep_state) and all(keep_nit):
        return {}
    inner = op.inner.graph
    positions = op.inner_positions()
    taps_of = op.state_tap_inputs()
    outputs = [inner.outputs[k] for k in range(op.n_states) if keep_state[k]]
    outputs += [inner.outputs[op.n_states + j] for j in range(op.n_nit) if keep_nit[j]]
    outputs += list(inner.outputs[op.n_states + op.n_nit :])
    reached = {id(v) for v in ancestors(outputs)}
    nonseq_kept = [id(inner.inputs[p]) in reached for p in positions["nonseq"]]
    state_inputs = [
        inner.inputs[p] for k, taps in enumerate(taps_of) if keep_state[k] for p in taps
    ]
    inputs = [
        *(inner.inputs[p] for p in positions["sequences"]),
        *state_inputs,
        *(inner.inputs[p] for p in positions["shared"]),
        *(inner.inputs[p] for p, kept in zip(positions["nonseq"], nonseq_kept) if kept),
    ]
    kept_outputs = [k for k in range(op.n_states) if keep_state[k]]
    kept_outputs += [op.n_states + j for j in range(op.n_nit) if keep_nit[j]]
    new_op = dataclasses.replace(
        op,
        inner=InnerGraph(Graph(inputs, outputs)),
        state_taps=tuple(t for t, kept in zip(op.state_taps, keep_state) if kept),
        n_nit=sum(keep_nit),
        n_nonseq=sum(nonseq_kept),
        keep_last=tuple(op.keep_last[i] for i in kept_outputs),
    )
    outer = op.outer_positions()
    outer_inputs = [
        node.inputs[0],
        *(node.inputs[p] for p in outer["sequences"]),
        *(node.inputs[p] for p, kept in zip(outer["initial"], keep_state) if kept),
        *(node.inputs[p] for p in outer["shared"]),
        *(node.inputs[p] for p, kept in zip(outer["nonseq"], nonseq_kept) if kept),
    ]
    new = new_op.make_node(*outer_inputs)
    old_outputs = [node.outputs[i] for i in kept_outputs]
    old_outputs += list(node.outputs[op.n_states + op.n_nit :])
    return dict(zip(old_outputs, new.outputs, strict=True))


def optimize_loops(graph: Graph) -> Graph:
    """The pipeline's scan pass: ``prune_outputs``, then ``save_memory``."""
    return save_memory(prune_outputs(graph))


def save_memory(graph: Graph) -> Graph:
    """``graph`` with each scan output that is only read as ``result[-1]`` kept as its
    last value (module docstring)."""
    return _rewrite_loops(graph, _last_values)


def _last_values(node: Node, clients: Clients, returned: set[int]) -> dict[Var, Var]:
    op = node.op
    assert isinstance(op, Scan)
    keep = list(op.keep_last)
    readers_of: dict[int, list[Node]] = {}
    for k, output in enumerate(node.outputs[: op.n_states + op.n_nit]):
        readers = [reader for reader, _ in clients.get(id(output), [])]
        if keep[k] != KEEP_ALL or id(output) in returned or not readers:
            continue
        if all(_is_last_row(reader, output) for reader in readers):
            keep[k] = KEEP_LAST_STEP
            readers_of[k] = readers
    if not readers_of:
        return {}
    new = dataclasses.replace(op, keep_last=tuple(keep)).make_node(*node.inputs)
    mapping: dict[Var, Var] = {}
    for k, (old, fresh) in enumerate(zip(node.outputs, new.outputs, strict=True)):
        if k in readers_of:
            for reader in readers_of[k]:
                if reader.outputs[0].type.is_super(fresh.type):
                    mapping[reader.outputs[0]] = fresh
        else:
            mapping[old] = fresh
    return mapping


def _is_last_row(reader: Node, output: Var) -> bool:
    return (
        type(reader.op) is Subtensor
        and reader.inputs[0] is output
        and constant_position(reader) == -1
    )
