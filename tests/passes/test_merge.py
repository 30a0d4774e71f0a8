"""The merge pass: equal constants become one variable, and equal nodes then merge."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import jitgraph.tensor as T
from jitgraph.backends.reference import compile_graph
from jitgraph.config import config
from jitgraph.ir.graph import Const, Graph
from jitgraph.ir.verify import verify
from jitgraph.passes.merge import duplicate_constants, merge

BIG = 2000  # elements: above the interning cap, so equal constants are distinct variables


@pytest.fixture(autouse=True)
def check_passes() -> Iterator[None]:
    with config.change_flags(check_passes=True):
        yield


def merged(graph: Graph) -> Graph:
    new = merge(graph)
    verify(new)
    return new


def test_equal_large_constants_become_one() -> None:
    x = T.dvector("x")
    a, b = T.constant(np.arange(BIG, dtype="float64")), T.constant(np.arange(BIG, dtype="float64"))
    assert a is not b
    graph = Graph([x], [T.dot(x, a), T.dot(x, b)])
    assert len(graph.nodes) == 2
    new = merged(graph)
    assert len(new.nodes) == 1
    assert new.outputs[0] is new.outputs[1] is T.dot(x, a)


def test_merging_propagates_to_the_nodes_downstream() -> None:
    x = T.dvector("x")
    a, b = T.constant(np.ones(BIG)), T.constant(np.ones(BIG))
    left = T.exp(x * a).sum()
    right = T.exp(x * b).sum()
    new = merged(Graph([x], [left + right]))
    assert new.outputs[0] is left + left
    assert len(new.nodes) == 4  # mul, exp, sum, add


def test_constants_that_differ_stay_apart() -> None:
    x = T.dvector("x")
    zeros = np.zeros(BIG)
    same_bytes_other_dtype = T.constant(np.zeros(BIG, dtype="int64"))
    same_bytes_other_shape = T.constant(zeros.reshape(BIG // 2, 2))
    other_value = T.constant(np.concatenate([zeros[:-1], [1.0]]))
    base = T.constant(zeros)
    outputs = [
        T.dot(x, base),
        T.dot(x, other_value),
        T.dot(x, same_bytes_other_dtype),
        T.dot(x[:2], same_bytes_other_shape.T),
    ]
    graph = Graph([x], outputs)
    assert duplicate_constants(graph) == {}
    assert merge(graph) is graph


def test_named_and_output_constants_are_merged() -> None:
    a = T.constant(np.full(3, 2.0), name="a")  # named constants are not interned
    b = T.constant(np.full(3, 2.0), name="b")
    assert a is not b
    new = merged(Graph([], [a, b, a + b]))
    assert new.outputs[0] is new.outputs[1] is a
    assert new.outputs[2] is a + a


def test_constant_graph_inputs_are_left_alone() -> None:
    a, b = T.constant(np.ones(BIG)), T.constant(np.ones(BIG))
    graph = Graph([a], [a + b])
    assert merge(graph) is graph


def test_unchanged_graph_is_returned_as_is() -> None:
    x = T.dvector("x")
    graph = Graph([x], [x * 2 + 1])
    assert merge(graph) is graph


def test_values_are_unchanged() -> None:
    x = T.dvector("x")
    data = np.linspace(-1.0, 1.0, BIG)
    a, b = T.constant(data), T.constant(data.copy())
    graph = Graph([x], [T.tanh(x * a) + T.tanh(x * b), T.dot(x, b)])
    new = merged(graph)
    assert sum(isinstance(v, Const) and v.data.size == BIG for v in new.variables()) == 1
    value = np.random.default_rng(0).normal(size=BIG)
    expected = compile_graph(graph).run([value])
    got = compile_graph(new).run([value])
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_array_equal(g, e)
