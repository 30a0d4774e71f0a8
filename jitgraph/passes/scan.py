"""Rewrites of scan loops.

``save_memory``: a loop output read only as ``result[-1]`` keeps only the rows its taps
need (a ring of ``max_back + 1`` rows) instead of every step's value: the power example of
Theano's tutorial (``result[-1]`` of ``k`` steps) then uses O(1) memory in ``k``.
"""

from __future__ import annotations

import dataclasses

from jitgraph.ir.graph import Graph, Node, Var
from jitgraph.ir.rebuild import replace
from jitgraph.ops.indexing import Subtensor
from jitgraph.ops.scan import KEEP_ALL, KEEP_LAST_STEP, Scan
from jitgraph.passes.fold import constant_position


def save_memory(graph: Graph) -> Graph:
    """``graph`` with each scan output that is only read as ``result[-1]`` kept as its
    last value (module docstring)."""
    clients = graph.clients()
    returned = {id(v) for v in graph.outputs}
    mapping: dict[Var, Var] = {}
    for node in graph.nodes:
        if isinstance(node.op, Scan):
            mapping.update(_last_values(node, clients, returned))
    if not mapping:
        return graph
    return Graph(graph.inputs, replace(list(graph.outputs), mapping))


def _last_values(
    node: Node, clients: dict[int, list[tuple[Node, int]]], returned: set[int]
) -> dict[Var, Var]:
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
