"""Tests of jitgraph/backends/reference.py: the NumPy interpreter of the IR."""

from __future__ import annotations

import dataclasses
import sys
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import jitgraph
import jitgraph.tensor as T
from jitgraph.backends.reference import compile_graph
from jitgraph.ir.graph import Graph, Node
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import GraphError, Op


@dataclasses.dataclass(frozen=True)
class Probe(Op):
    """Copies its input; records a weak reference to each result and, at each call,
    how many earlier results are still alive (to watch the interpreter free them)."""

    log: list[Any] = dataclasses.field(default_factory=list, compare=False, hash=False)

    def make_node(self, *inputs: Any) -> Node:
        (x,) = inputs
        return self.make_apply([x], [x.type])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        alive = [ref() is not None for ref in self.log if isinstance(ref, weakref.ref)]
        self.log.append(alive)
        out = np.array(inputs[0], copy=True)
        self.log.append(weakref.ref(out))
        return [out]


@dataclasses.dataclass(frozen=True)
class WrongDtype(Op):
    """A deliberately broken op: declares float64, returns float32."""

    def make_node(self, *inputs: Any) -> Node:
        (x,) = inputs
        return self.make_apply([x], [TensorType("float64", x.type.shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [inputs[0].astype("float32")]


@dataclasses.dataclass(frozen=True)
class WrongShape(Op):
    """Declares a static length of 3 and returns whatever it gets."""

    def make_node(self, *inputs: Any) -> Node:
        (x,) = inputs
        return self.make_apply([x], [TensorType(x.type.dtype, (3,))])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [inputs[0]]


@dataclasses.dataclass(frozen=True)
class TooManyResults(Op):
    def make_node(self, *inputs: Any) -> Node:
        (x,) = inputs
        return self.make_apply([x], [x.type])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [inputs[0], inputs[0]]


def test_program_runs_and_returns_outputs_in_order() -> None:
    x, y = T.dvectors("x", "y")
    program = compile_graph(Graph([x, y], [x * y, x + y, x, T.constant(2.0)]))
    a, b = np.arange(3.0), np.ones(3)
    results = program.run([a, b])
    np.testing.assert_array_equal(results[0], a * b)
    np.testing.assert_array_equal(results[1], a + b)
    assert results[2] is a
    assert results[3] == 2.0


def test_intermediates_are_freed_after_their_last_use() -> None:
    probe = Probe()
    x = T.dvector("x")
    first = probe(x)
    second = probe(first)
    third = probe(second)
    fourth = probe(third)
    compile_graph(Graph([x], [fourth])).run([np.arange(3.0)])
    # log: [alive-before-1], ref1, [alive-before-2], ref2, [alive-before-3], ref3, ...
    alive_before_third, alive_before_fourth = probe.log[4], probe.log[6]
    assert alive_before_third == [False, True]  # `first` died after `second` was computed
    assert alive_before_fourth == [False, False, True]


def test_outputs_and_values_used_later_are_kept() -> None:
    probe = Probe()
    x = T.dvector("x")
    first = probe(x)
    second = probe(first)
    third = probe(second)
    results = compile_graph(Graph([x], [third, first])).run([np.arange(3.0)])
    assert probe.log[4] == [True, True]  # `first` is an output: kept
    np.testing.assert_array_equal(results[1], np.arange(3.0))


def test_the_steps_free_lists() -> None:
    x = T.dvector("x")
    e = T.exp(x)
    out = T.tanh(e) + e
    program = compile_graph(Graph([x], [out]))
    freed = [len(free) for _, _, _, _, free, _, _ in program.steps]
    assert sum(freed) >= 2  # x after exp; exp and tanh after the add


def test_wrong_dtype_from_an_op_is_an_internal_error() -> None:
    x = T.dvector("x")
    program = compile_graph(Graph([x], [WrongDtype()(x)]))
    with pytest.raises(GraphError, match="internal error: WrongDtype produced dtype float32"):
        program.run([np.arange(3.0)])


def test_wrong_static_shape_from_an_op_is_an_internal_error() -> None:
    x = T.dvector("x")
    program = compile_graph(Graph([x], [WrongShape()(x)]))
    program.run([np.arange(3.0)])
    with pytest.raises(GraphError, match="internal error: .*shape \\(4,\\).*please report"):
        program.run([np.arange(4.0)])


def test_wrong_number_of_results_is_an_internal_error() -> None:
    x = T.dvector("x")
    program = compile_graph(Graph([x], [TooManyResults()(x)]))
    with pytest.raises(GraphError, match="internal error: TooManyResults returned 2 result"):
        program.run([np.arange(3.0)])


def test_the_internal_error_reaches_function_callers() -> None:
    x = T.dvector("x")
    f = jitgraph.function([x], WrongDtype()(x), mode="REFERENCE")
    with pytest.raises(GraphError, match="internal error"):
        f(np.arange(3.0))


def test_node_errors_name_the_node_the_inputs_and_the_users_line() -> None:
    x, y = T.dvectors("x", "y")
    out = x + y
    line = sys._getframe().f_lineno - 1
    program = compile_graph(Graph([x, y], [out]))
    with pytest.raises(GraphError) as info:
        program.run([np.zeros(3), np.zeros(4)])
    message = str(info.value)
    assert message.startswith("shape mismatch in elementwise add at axis 0")
    assert "while computing elementwise add (Elemwise{add})" in message
    assert "input 1: 'y'" in message and "shape (4,)" in message
    assert f"the failing expression was created at {__file__}:{line}" in message


@dataclasses.dataclass(frozen=True)
class Fails(Op):
    """Raises an exception of the given type from perform."""

    error: type = KeyError

    def make_node(self, *inputs: Any) -> Node:
        (x,) = inputs
        return self.make_apply([x], [x.type])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        raise self.error("boom")


@pytest.mark.parametrize("error", [KeyError, ValueError, ZeroDivisionError, FloatingPointError])
def test_errors_from_perform_keep_their_type_and_gain_the_node(error: type) -> None:
    x = T.dvector("x")
    out = Fails(error)(x)
    program = compile_graph(Graph([x], [out]))
    with pytest.raises(error, match="boom") as info:
        program.run([np.zeros(2)])
    assert "while computing Fails" in str(info.value)
    assert "test_reference.py" in str(info.value)


def test_numpy_warnings_are_silenced_and_ieee_values_returned() -> None:
    x = T.dvector("x")
    program = compile_graph(Graph([x], [x / 0.0]))
    result = program.run([np.array([1.0, -1.0, 0.0])])[0]
    assert result[0] == np.inf and result[1] == -np.inf and np.isnan(result[2])


def test_inputs_are_not_written() -> None:
    x = T.dvector("x")
    data = np.arange(4.0)
    data.setflags(write=False)
    program = compile_graph(Graph([x], [T.exp(x) * 2 - x]))
    program.run([data])
    np.testing.assert_array_equal(data, np.arange(4.0))
