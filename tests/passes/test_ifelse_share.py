"""The ifelse_share pass: a branch reads what the graph computes anyway."""

from __future__ import annotations

import numpy as np

import jitgraph
import jitgraph.tensor as T
from jitgraph.ifelse import IfElse, ifelse
from jitgraph.ir.graph import Graph
from jitgraph.passes.ifelse import share_computed


def _ifelse_ops(graph: Graph) -> list[IfElse]:
    return [node.op for node in graph.nodes if isinstance(node.op, IfElse)]


def test_a_branch_takes_the_value_the_graph_computes_anyway() -> None:
    a, b = T.dscalars("a", "b")
    x = T.dvector("x")
    total = T.exp(x).sum()
    chosen = ifelse(T.lt(a, b), T.exp(x).sum() * 2, a)
    before = Graph([a, b, x], [chosen, total])
    after = share_computed(before)
    (op,) = _ifelse_ops(after)
    then_nodes = [str(n.op) for n in op.then_graph.graph.nodes]
    assert not any("exp" in name or "Sum" in name for name in then_nodes), then_nodes
    f = jitgraph.function([a, b, x], [chosen, total])
    values = np.array([0.0, 1.0, -1.0])
    expected = np.exp(values).sum()
    np.testing.assert_allclose(f(1.0, 2.0, values), [2 * expected, expected])
    np.testing.assert_allclose(f(3.0, 2.0, values), [3.0, expected])


def test_a_value_only_the_branch_needs_stays_lazy() -> None:
    a, b = T.dscalars("a", "b")
    x = T.dvector("x")
    chosen = ifelse(T.lt(a, b), T.exp(x).sum(), a)
    graph = Graph([a, b, x], [chosen])
    assert share_computed(graph) is graph
