"""Tests of jitgraph/ir/verify.py: each invariant, broken on purpose, gives its own error.

Graphs and nodes are immutable through their public API, so the broken structures are
made with ``object.__setattr__`` (or by assigning a Var's attributes) on variables that
only this test uses.
"""

from __future__ import annotations

import numpy as np
import pytest

import jitgraph.tensor as T
from jitgraph.ir.graph import Graph, Node, make_constant
from jitgraph.ir.types import TensorType
from jitgraph.ir.verify import VerifyError, verify


def two_node_graph() -> tuple[Graph, Node, Node]:
    x = T.dvector("x")
    e = T.exp(x)
    out = T.tanh(e)
    graph = Graph([x], [out])
    assert e.owner is not None and out.owner is not None
    return graph, e.owner, out.owner


def test_graphs_from_the_front_end_verify() -> None:
    x, y = T.dmatrices("x", "y")
    v = T.dvector("v")
    outputs = [
        (T.exp(x) * 2 + v).sum(axis=0),
        x[0],
        x.shape,
        T.mean(x, axis=1),
        T.dot(x, v),
        x.T,
        T.switch(T.gt(x, 0), x, y),
        T.cast(x, "int8"),
        abs(x),
        T.constant(3.0),
        x,
    ]
    verify(Graph([x, y, v], outputs))


def test_verify_error_is_an_assertion_error() -> None:
    assert issubclass(VerifyError, AssertionError)


def test_nodes_out_of_topological_order() -> None:
    graph, first, second = two_node_graph()
    object.__setattr__(graph, "nodes", (second, first))
    with pytest.raises(
        VerifyError, match="not in topological order: node 0 .*node 1 produces later"
    ):
        verify(graph)


def test_node_input_from_nowhere() -> None:
    graph, first, second = two_node_graph()
    object.__setattr__(graph, "nodes", (second,))
    with pytest.raises(VerifyError, match="input 0 .* is neither a graph input, a constant"):
        verify(graph)


def test_output_with_the_wrong_owner() -> None:
    graph, first, _ = two_node_graph()
    first.outputs[0].owner = None
    with pytest.raises(VerifyError, match="node 0 .*has owner no node, not this node"):
        verify(graph)


def test_output_with_the_wrong_index() -> None:
    graph, first, _ = two_node_graph()
    first.outputs[0].index = 3
    with pytest.raises(VerifyError, match="has index 3, expected 0"):
        verify(graph)


def test_variable_produced_twice() -> None:
    graph, first, second = two_node_graph()
    object.__setattr__(graph, "nodes", (first, first, second))
    with pytest.raises(VerifyError, match="node 1 .*produced twice \\(already output 0 of node 0"):
        verify(graph)


def test_graph_input_also_produced_by_a_node() -> None:
    x = T.dvector("x")
    e = T.exp(x)
    out = e * 2
    graph = Graph([x, e], [out])  # e is a blocker: its node is not in the graph
    verify(graph)
    assert e.owner is not None
    object.__setattr__(graph, "nodes", (e.owner, *graph.nodes))
    with pytest.raises(VerifyError, match="graph input 1 .*must be a blocker"):
        verify(graph)


def test_duplicate_graph_input() -> None:
    graph, _, _ = two_node_graph()
    object.__setattr__(graph, "inputs", (graph.inputs[0], graph.inputs[0]))
    with pytest.raises(VerifyError, match="graph input 1 .*appears twice"):
        verify(graph)


def test_stale_output_type() -> None:
    graph, first, _ = two_node_graph()
    first.outputs[0].type = TensorType("float32", (None,))
    with pytest.raises(
        VerifyError, match="output types .*float32.* are stale; make_node .*float64"
    ):
        verify(graph)


def test_stale_static_shape() -> None:
    graph, first, _ = two_node_graph()
    first.outputs[0].type = TensorType("float64", (3,))
    with pytest.raises(VerifyError, match="are stale"):
        verify(graph)


def test_make_node_rejecting_the_nodes_inputs() -> None:
    x = T.dmatrix("x")
    out = x.T
    graph = Graph([x], [out])
    assert out.owner is not None
    vector = T.dvector("v")
    object.__setattr__(out.owner, "inputs", (vector,))
    object.__setattr__(graph, "inputs", (vector,))
    with pytest.raises(VerifyError, match="make_node rejects the node's own inputs: TypeError"):
        verify(graph)


def test_constant_whose_data_does_not_match_its_type() -> None:
    x = T.dvector("x")
    const = make_constant(np.arange(3.0), name="three")
    graph = Graph([x], [x + const])
    verify(graph)
    const.data = np.arange(3.0, dtype="float32")
    const.data.setflags(write=False)
    with pytest.raises(VerifyError, match="constant three holds data of dtype float32"):
        verify(graph)
    const.data = np.arange(4.0)
    const.data.setflags(write=False)
    with pytest.raises(VerifyError, match="shape \\(4,\\), but its type is"):
        verify(graph)


def test_constant_with_writeable_data() -> None:
    const = make_constant(np.arange(3.0), name="c")
    graph = Graph([], [const])
    verify(graph)
    const.data = np.arange(3.0)
    with pytest.raises(VerifyError, match="writeable"):
        verify(graph)


def test_unreachable_graph_output() -> None:
    graph, _, _ = two_node_graph()
    object.__setattr__(graph, "nodes", ())
    object.__setattr__(graph, "outputs", (graph.outputs[0],))
    with pytest.raises(VerifyError, match="graph output 0 .*not reachable"):
        verify(graph)


def test_verify_does_not_disturb_hash_consing() -> None:
    x = T.dvector("x")
    out = T.exp(x)
    verify(Graph([x], [out]))
    assert T.exp(x) is out
