"""Rewrites of lazy conditions.

``share_computed``: a branch of an ``ifelse`` that recomputes something the enclosing graph
computes anyway (unconditionally) takes that value instead, so that laziness never costs a
second evaluation.
"""

from __future__ import annotations

from jitgraph.ir.graph import Graph, Var
from jitgraph.ir.rebuild import replace
from jitgraph.ops.ifelse import IfElse, hoist_computed


def share_computed(graph: Graph) -> Graph:
    """``graph`` with each ifelse's branches reading the values the graph computes
    unconditionally instead of recomputing them (module docstring)."""
    if not any(isinstance(node.op, IfElse) for node in graph.nodes):
        return graph
    computed = {
        id(v) for node in graph.nodes if not isinstance(node.op, IfElse) for v in node.outputs
    }
    mapping: dict[Var, Var] = {}
    for node in graph.nodes:
        if isinstance(node.op, IfElse):
            replacement = hoist_computed(node, computed)
            if replacement is not None:
                mapping.update(zip(node.outputs, replacement, strict=True))
    if not mapping:
        return graph
    return Graph(graph.inputs, replace(list(graph.outputs), mapping))
