"""Tests of jitgraph/passes/memory.py (the memory plan) and of the reference backend
following it: buffer reuse, in-place updates, their order, and failure atomicity."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.backends.reference import Program, _overlapping, compile_graph
from jitgraph.compile.function import Function
from jitgraph.ir.graph import Graph, Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import GraphError, Op
from jitgraph.ops.elemwise import check_runtime_broadcast
from jitgraph.passes.fuse import fuse
from jitgraph.passes.memory import MemoryPlan, WritesIntoBuffers, plan_memory


def planned_program(graph: Graph, candidates: dict[int, int]) -> tuple[Program, MemoryPlan]:
    plan = plan_memory(graph, candidates)
    return compile_graph(graph, plan), plan


def use_plan(f: Function) -> MemoryPlan:
    """Make ``f`` run with a memory plan whose in-place candidates are its shared-variable
    updates (what compile/function_graph.py does once the plan is wired in)."""
    compiled = f._compiled
    n_out, n_explicit = len(compiled.outputs), len(compiled.specs)
    candidates = {
        n_out + i: n_explicit + target[1]
        for i, target in enumerate(compiled.update_targets)
        if not isinstance(target, int)
    }
    compiled.program, plan = planned_program(compiled.graph, candidates)
    return plan


# ---- plan structure: buffer reuse


def test_a_chain_reuses_the_dead_intermediate() -> None:
    x = T.dvector("x")
    doubled = x * 2
    result = T.exp(doubled)
    plan = plan_memory(Graph([x], [result]), {})
    assert dict(plan.reuse) == {result: doubled}
    assert plan.inplace == {}
    program = compile_graph(Graph([x], [result]), plan)
    value = np.array([0.0, 1.0, -2.0])
    (out,) = program.run([value])
    np.testing.assert_array_equal(out, np.exp(value * 2))
    np.testing.assert_array_equal(value, [0.0, 1.0, -2.0])


def test_a_longer_chain_passes_one_buffer_along() -> None:
    x = T.fmatrix("x")
    a = x + 1
    b = T.sin(a)
    c = T.tanh(b)
    d = c * c
    plan = plan_memory(Graph([x], [d]), {})
    assert dict(plan.reuse) == {b: a, c: b, d: c}


def test_output_buffers_are_never_reused() -> None:
    x = T.dvector("x")
    doubled = x * 2  # returned: its buffer belongs to the caller
    later = T.exp(doubled) + 1
    graph = Graph([x], [doubled, later])
    plan = plan_memory(graph, {})
    assert all(donor is not doubled for donor in plan.reuse.values())
    first, second = compile_graph(graph, plan).run([np.arange(3.0)])
    np.testing.assert_array_equal(first, np.arange(3.0) * 2)
    np.testing.assert_array_equal(second, np.exp(np.arange(3.0) * 2) + 1)
    assert not np.shares_memory(first, second)


def test_a_value_read_through_a_view_is_never_reused() -> None:
    x = T.dvector("x")
    doubled = x * 2
    reversed_view = doubled[::-1]  # Subtensor: a view of doubled's buffer
    result = T.exp(doubled) + reversed_view
    graph = Graph([x], [result])
    plan = plan_memory(graph, {})
    assert all(donor is not doubled for donor in plan.reuse.values())
    value = np.array([1.0, 2.0, 3.0])
    (out,) = compile_graph(graph, plan).run([value])
    np.testing.assert_array_equal(out, np.exp(value * 2) + (value * 2)[::-1])


def test_a_non_ufunc_output_is_not_donated() -> None:
    x = T.dvector("x")
    clipped = T.clip(x, 0.0, 1.0)  # not a ufunc: may return its input's array
    result = T.exp(clipped)
    plan = plan_memory(Graph([x], [result]), {})
    assert dict(plan.reuse) == {}


def test_no_reuse_across_dtypes_or_unrelated_shapes() -> None:
    x, y = T.dvectors("x", "y")
    f = T.fvector("f")
    as_float32 = T.exp(f) * T.cast(T.sum(x * 2), "float32")  # x * 2 is float64: no match
    unrelated = T.sin(y + 1)  # y's length is not known to be x's
    plan = plan_memory(Graph([x, y, f], [as_float32, T.sum(x * 3) + unrelated]), {})
    for writer, donor in plan.reuse.items():
        assert writer.type.dtype == donor.type.dtype
    assert all(donor is not x * 2 for donor in plan.reuse.values())


def test_a_donor_of_another_length_falls_back_to_a_fresh_buffer() -> None:
    """The run-time check: a plan pairing buffers of different lengths still computes
    the right values (the writer allocates)."""
    x, y = T.dvectors("x", "y")
    dead = x * 2
    writer = T.exp(y)
    graph = Graph([x, y], [T.sum(dead), writer])
    order = tuple(graph.nodes)
    summed = graph.outputs[0]
    assert order.index(summed.owner) < order.index(writer.owner)  # the donor is dead
    plan = MemoryPlan(order, {writer: dead}, {}, {})
    program = compile_graph(graph, plan)
    total, result = program.run([np.arange(4.0), np.arange(3.0)])
    np.testing.assert_array_equal(result, np.exp(np.arange(3.0)))
    assert float(total) == 12.0


def test_reuse_with_broadcasting_and_0d_and_empty() -> None:
    x = T.dmatrix("x")
    r = T.drow("r")
    s = T.dscalar("s")
    a = x * r
    b = T.exp(a) - r
    c = T.sqrt(s * s) + 1
    graph = Graph([x, r, s], [b, c])
    program, plan = planned_program(graph, {})
    assert plan.reuse[b.owner.inputs[0]] is a
    for rows, cols in [(2, 3), (0, 3), (3, 0), (1, 1)]:
        xv, rv = np.ones((rows, cols)), np.full((1, cols), 2.0)
        out_b, out_c = program.run([xv, rv, np.array(-3.0)])
        np.testing.assert_array_equal(out_b, np.exp(xv * rv) - rv)
        assert out_c.shape == () and float(out_c) == 4.0


def test_run_time_broadcast_errors_are_reported_on_the_reuse_path() -> None:
    x, y = T.dvectors("x", "y")
    a = x * 2
    b = a + y
    program, plan = planned_program(Graph([x, y], [b]), {})
    assert plan.reuse[b] is a
    with pytest.raises(GraphError, match="shape mismatch in .*add.* at axis 0"):
        program.run([np.ones(3), np.ones(4)])


# ---- plan structure: in-place updates


def test_an_elementwise_update_is_planned_in_place() -> None:
    x = T.dvector("x")
    w = T.dvector("w")
    new_w = w - 0.1 * x
    graph = Graph([x, w], [T.sum(x), new_w])
    program, plan = planned_program(graph, {1: 1})
    assert plan.inplace == {1: 1} and plan.rejected == {}
    assert plan.order[-1] is new_w.owner
    w_value, x_value = np.ones(3), np.arange(3.0)
    total, result = program.run([x_value, w_value])
    assert result is w_value
    np.testing.assert_array_equal(w_value, 1 - 0.1 * np.arange(3.0))
    np.testing.assert_array_equal(x_value, np.arange(3.0))


@pytest.mark.parametrize(
    ("make_outputs", "reason"),
    [
        (lambda w, x: [T.dot(x, w.dimshuffle(0, "x"))[:, 0]], "cannot write into"),
        (lambda w, x: [w > 0], "differs from the input"),
        (lambda w, x: [x * 2], "differs from the input"),
        (lambda w, x: [w + 1, T.sum(w + 1)], "another node reads"),
        (lambda w, x: [w * 2, w], "may share memory with input 0"),
        (lambda w, x: [w * 2, w[::-1]], "may share memory with input 0"),
        (lambda w, x: [w, w], "not computed by a node"),
        (lambda w, x: [T.clip(w, 0, 1)], "cannot write into"),
    ],
)
def test_in_place_is_refused_when_unsafe(make_outputs: Any, reason: str) -> None:
    w, x = T.dvector("w"), T.dmatrix("x")
    outputs = make_outputs(w, x)
    graph = Graph([w, x], outputs)
    plan = plan_memory(graph, {0: 0})
    assert plan.inplace == {}
    assert reason in plan.rejected[0]


def test_an_update_also_returned_is_not_in_place() -> None:
    w = T.dvector("w")
    new_w = w * 2
    plan = plan_memory(Graph([w], [new_w, new_w]), {1: 0})
    assert plan.inplace == {} and "also returned" in plan.rejected[1]


def test_static_shape_mismatch_is_refused() -> None:
    w = TensorType("float64", (3,))("w")
    v = TensorType("float64", (4,))("v")
    plan = plan_memory(Graph([w, v], [v * 2]), {0: 0})
    assert "static shape" in plan.rejected[0]


def test_readers_of_a_buffer_run_before_its_overwrite() -> None:
    a, b = T.dvectors("a", "b")
    new_a = a + b  # reads b
    new_b = b * 2  # overwrites b: must come after new_a
    graph = Graph([a, b], [new_b, new_a])
    program, plan = planned_program(graph, {0: 1, 1: 0})
    assert list(plan.inplace.items()) == [(1, 0), (0, 1)]
    assert plan.order[-2:] == (new_a.owner, new_b.owner)
    av, bv = np.array([1.0, 2.0]), np.array([10.0, 20.0])
    out_b, out_a = program.run([av, bv])
    np.testing.assert_array_equal(out_a, [11.0, 22.0])
    np.testing.assert_array_equal(out_b, [20.0, 40.0])
    assert out_a is av and out_b is bv


def test_a_read_write_cycle_drops_one_update() -> None:
    a, b = T.dvectors("a", "b")
    graph = Graph([a, b], [a + b, b - a])  # a <- a + b, b <- b - a: swap-like
    program, plan = planned_program(graph, {0: 0, 1: 1})
    assert plan.inplace == {0: 0}
    assert "vice versa" in plan.rejected[1]
    av, bv = np.array([1.0, 2.0]), np.array([10.0, 20.0])
    new_a, new_b = program.run([av, bv])
    np.testing.assert_array_equal(new_a, [11.0, 22.0])
    np.testing.assert_array_equal(new_b, [9.0, 18.0])


def test_a_view_of_the_target_read_by_another_update_orders_the_writes() -> None:
    a, b = T.dvectors("a", "b")
    new_a = a * 3
    new_b = b + a[::-1]  # reads a through a view: must run before a is overwritten
    graph = Graph([a, b], [new_a, new_b])
    program, plan = planned_program(graph, {0: 0, 1: 1})
    assert list(plan.inplace) == [1, 0]
    av, bv = np.array([1.0, 2.0, 3.0]), np.zeros(3)
    new_a_value, new_b_value = program.run([av, bv])
    np.testing.assert_array_equal(new_b_value, [3.0, 2.0, 1.0])
    np.testing.assert_array_equal(new_a_value, [3.0, 6.0, 9.0])


def test_an_update_reading_a_view_of_its_own_target() -> None:
    """The ufunc overlap guarantee: ``w <- w + w[::-1]`` written into w is correct."""
    w = T.dvector("w")
    program, plan = planned_program(Graph([w], [w + w[::-1]]), {0: 0})
    assert plan.inplace == {0: 0}
    value = np.array([1.0, 2.0, 4.0])
    (out,) = program.run([value])
    assert out is value
    np.testing.assert_array_equal(value, [5.0, 4.0, 5.0])


def test_as_text_lists_the_decisions() -> None:
    x, w = T.dvectors("x", "w")
    plan = plan_memory(Graph([x, w], [T.exp(x * 2), w - x, T.dot(x, w)]), {1: 1, 2: 1})
    text = plan.as_text()
    assert "writes into the buffer of Elemwise{mul}" in text
    assert "in place: output 1 overwrites input 1" in text
    assert "not in place: output 2: Dot cannot write" in text


def test_out_of_range_candidates_are_a_programming_error() -> None:
    w = T.dvector("w")
    with pytest.raises(ValueError, match="out of range"):
        plan_memory(Graph([w], [w * 2]), {0: 3})


# ---- run-time fallbacks of in-place writes


def test_a_target_of_another_run_time_shape_is_not_overwritten() -> None:
    w, x = T.dvectors("w", "x")
    program, plan = planned_program(Graph([w, x], [x * 2]), {0: 0})
    assert plan.inplace == {0: 0}
    wv = np.ones(2)
    (out,) = program.run([wv, np.arange(3.0)])
    np.testing.assert_array_equal(out, [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(wv, [1.0, 1.0])


@pytest.mark.parametrize(
    "make_target",
    [
        lambda: np.arange(6.0)[::2],  # not contiguous
        lambda: np.broadcast_to(np.arange(1.0, 2.0), (3,)),  # read-only
    ],
)
def test_unusual_target_arrays_are_not_overwritten(make_target: Any) -> None:
    w = T.dvector("w")
    program, _ = planned_program(Graph([w], [w + 1]), {0: 0})
    target = make_target()
    before = target.copy()
    (out,) = program.run([target])
    np.testing.assert_array_equal(out, before + 1)
    np.testing.assert_array_equal(target, before)


def test_a_target_sharing_memory_with_another_input_is_not_overwritten() -> None:
    w, x = T.dvectors("w", "x")
    program, _ = planned_program(Graph([w, x], [w + 1, x * 2]), {0: 0})
    shared_array = np.arange(3.0)
    new_w, doubled = program.run([shared_array, shared_array])
    np.testing.assert_array_equal(shared_array, np.arange(3.0))
    np.testing.assert_array_equal(new_w, np.arange(3.0) + 1)
    np.testing.assert_array_equal(doubled, np.arange(3.0) * 2)


def test_zero_dimensional_update_in_place() -> None:
    b, g = T.fscalars("b", "g")
    program, plan = planned_program(Graph([b, g], [b - 0.5 * g]), {0: 0})
    assert plan.inplace == {0: 0}
    bv = np.array(1.0, dtype="float32")
    (out,) = program.run([bv, np.array(4.0, dtype="float32")])
    assert out is bv and float(bv) == -1.0


# ---- through function(): failure atomicity and the caller's arrays


def logistic_regression_step(mode: str) -> tuple[Function, Any, Any]:
    rng = np.random.default_rng(0)
    x, y = T.dmatrix("x"), T.dvector("y")
    w = jitgraph.shared(0.01 * rng.standard_normal(5), name="w")
    b = jitgraph.shared(0.0, name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w**2).sum()
    gw, gb = T.grad(cost, [w, b])
    updates = [(w, w - 0.1 * gw), (b, b - 0.1 * gb)]
    return jitgraph.function([x, y], xent, updates=updates, mode=mode), w, b


@pytest.mark.parametrize("mode", ["REFERENCE", "FAST_RUN"])
def test_logistic_regression_step_updates_in_place(mode: str) -> None:
    train, w, b = logistic_regression_step(mode)
    plain = compile_graph(train.graph)  # the same graph without a plan: the expected values
    plan = use_plan(train)
    assert plan.inplace == {1: 2, 2: 3}
    if mode == "REFERENCE":  # unfused: many elementwise intermediates
        assert len(plan.reuse) >= 10
    rng = np.random.default_rng(1)
    data = rng.standard_normal((8, 5)), rng.integers(0, 2, 8).astype("float64")
    copies = [d.copy() for d in data]
    state = [w.get_value(), b.get_value()]
    for _ in range(3):
        w_array = w.get_value(borrow=True)
        xent, *state = plain.run([*data, *state])
        np.testing.assert_array_equal(train(*data), xent)
        np.testing.assert_array_equal(w.get_value(), state[0])
        np.testing.assert_array_equal(b.get_value(), state[1])
        np.testing.assert_array_equal(w_array, state[0])  # written in place
    for d, c in zip(data, copies, strict=True):
        np.testing.assert_array_equal(d, c)


def test_a_failing_second_update_leaves_the_first_unchanged() -> None:
    a = jitgraph.shared(np.ones(3), name="a")
    c = jitgraph.shared(np.ones(3), name="c")
    x = T.dvector("x")
    f = jitgraph.function([x], [], updates=[(a, a + 1), (c, c + x)])
    plan = use_plan(f)
    assert plan.inplace == {0: 1, 1: 2}
    a_array = a.get_value(borrow=True)
    with pytest.raises(GraphError, match="shape mismatch"):
        f(np.ones(4))  # c + x fails at run time, after a + 1 could have been written
    np.testing.assert_array_equal(a_array, np.ones(3))
    np.testing.assert_array_equal(a.get_value(), np.ones(3))
    np.testing.assert_array_equal(c.get_value(), np.ones(3))
    f(np.ones(3))
    np.testing.assert_array_equal(a.get_value(), np.full(3, 2.0))
    np.testing.assert_array_equal(c.get_value(), np.full(3, 2.0))


def test_a_failure_before_the_in_place_phase_changes_nothing() -> None:
    w = jitgraph.shared(np.ones(3), name="w")
    x = T.dmatrix("x")
    f = jitgraph.function([x], T.dot(x, w), updates=[(w, w * 2)])
    assert use_plan(f).inplace == {1: 1}
    with pytest.raises(ValueError, match="dot"):
        f(np.ones((2, 4)))
    np.testing.assert_array_equal(w.get_value(), np.ones(3))


def test_the_callers_array_is_never_written_even_when_it_is_the_shared_array() -> None:
    w = jitgraph.shared(np.arange(3.0), name="w")
    x = T.dvector("x")
    f = jitgraph.function([x], [], updates=[(w, w + x)])
    assert use_plan(f).inplace == {0: 1}
    mine = w.get_value(borrow=True)  # the caller passes the shared array itself
    f(mine)
    np.testing.assert_array_equal(mine, np.arange(3.0))
    np.testing.assert_array_equal(w.get_value(), np.arange(3.0) * 2)


def test_two_shared_variables_on_one_array_both_see_the_old_value() -> None:
    data = np.arange(3.0)
    a = jitgraph.shared(data, name="a", borrow=True)
    b = jitgraph.shared(data, name="b", borrow=True)
    f = jitgraph.function([], [], updates=[(a, a + 1), (b, b * 2)])
    use_plan(f)
    f()
    np.testing.assert_array_equal(a.get_value(), np.arange(3.0) + 1)
    np.testing.assert_array_equal(b.get_value(), np.arange(3.0) * 2)


def test_an_output_that_is_the_shared_variable_keeps_the_old_value() -> None:
    w = jitgraph.shared(np.arange(3.0), name="w")
    f = jitgraph.function([], [w, w.T * 1.0], updates=[(w, w + 1)])
    plan = use_plan(f)
    assert plan.inplace == {}
    old, scaled = f()
    np.testing.assert_array_equal(old, np.arange(3.0))
    np.testing.assert_array_equal(scaled, np.arange(3.0))
    np.testing.assert_array_equal(w.get_value(), np.arange(3.0) + 1)


# ---- a fused kernel offering perform_into


@dataclasses.dataclass(frozen=True)
class MulAdd(Op):
    """``a * b + c`` for equal-rank inputs, with the ``WritesIntoBuffers`` protocol."""

    def make_node(self, *inputs: Any) -> Node:
        a, b, c = inputs
        return self.make_apply([a, b, c], [a.type])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return self.perform_into(node, inputs, [None])

    def runtime_output_shapes(
        self, node: Node, inputs: Sequence[np.ndarray]
    ) -> list[tuple[int, ...]]:
        check_runtime_broadcast(node, inputs)
        return [np.broadcast_shapes(*(a.shape for a in inputs))]

    def perform_into(
        self, node: Node, inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray | None]
    ) -> list[np.ndarray]:
        a, b, c = inputs
        result = np.multiply(a, b) + c  # one temporary: safe when outputs[0] is an input
        if outputs[0] is None:
            return [result]
        outputs[0][...] = result
        return [outputs[0]]


def test_a_kernel_with_perform_into_takes_part() -> None:
    assert isinstance(MulAdd(), WritesIntoBuffers)
    # Static shapes: a kernel's outputs are matched with dead buffers by static shape.
    w, g = TensorType("float64", (3,))("w"), TensorType("float64", (3,))("g")
    first = T.exp(g)
    total = T.dot(first, g)  # first dies here, before the kernels run
    fused = MulAdd()(g, g, g)
    update = MulAdd()(fused, g, w)
    graph = Graph([w, g], [total, update])
    program, plan = planned_program(graph, {1: 0})
    assert plan.inplace == {1: 0}
    assert plan.reuse[fused] is first
    wv, gv = np.ones(3), np.arange(3.0)
    total_value, out = program.run([wv, gv])
    assert out is wv
    expected_fused = gv * gv + gv
    np.testing.assert_array_equal(out, expected_fused * gv + 1)
    assert float(total_value) == float(np.dot(np.exp(gv), gv))


def test_a_kernel_reading_a_view_of_its_target_in_place() -> None:
    w = T.dvector("w")
    program, plan = planned_program(Graph([w], [MulAdd()(w[::-1], w, w)]), {0: 0})
    assert plan.inplace == {0: 0}
    value = np.array([1.0, 2.0, 3.0])
    (out,) = program.run([value])
    assert out is value
    np.testing.assert_array_equal(value, [4.0, 6.0, 6.0])


# ---- differential: random elementwise graphs, with and without the plan

UNARY = [T.exp, T.negative, T.sin, T.tanh, T.abs, T.sqrt, T.sqr]
BINARY = [T.add, T.sub, T.mul, T.maximum, T.true_div]


@st.composite
def elementwise_programs(draw: Any) -> tuple[Graph, dict[int, int], list[np.ndarray]]:
    dtype = draw(st.sampled_from(["float32", "float64"]))
    length = draw(st.integers(0, 4))
    explicit = [T.tensor(dtype, shape=(None,), name="x"), T.tensor(dtype, shape=(1,), name="r")]
    state = [T.tensor(dtype, shape=(None,), name=f"s{i}") for i in range(2)]
    values: list[Var] = [*explicit, *state]
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["unary", "binary", "binary", "view", "clip"]))
        a = draw(st.sampled_from(values))
        if kind == "unary":
            values.append(draw(st.sampled_from(UNARY))(a))
        elif kind == "binary":
            values.append(draw(st.sampled_from(BINARY))(a, draw(st.sampled_from(values))))
        elif kind == "view" and a.type.shape != (1,):
            values.append(a[::-1])
        else:
            values.append(T.clip(a, -1.0, 1.0))
    computed = values[4:]
    outputs = draw(st.lists(st.sampled_from(computed), min_size=1, max_size=2))
    updates = [
        draw(st.sampled_from(BINARY))(s, draw(st.sampled_from(values[:1] + computed + state)))
        for s in state
    ]
    updates = [u if u.type.shape == (None,) else s + u for s, u in zip(state, updates, strict=True)]
    graph = Graph([*explicit, *state], [*outputs, *updates])
    candidates = {len(outputs) + i: 2 + i for i in range(2)}
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    arrays = [rng.standard_normal(n).astype(dtype) for n in (length, 1, length, length)]
    return graph, candidates, arrays


@given(elementwise_programs(), st.booleans())
@settings()
def test_plans_never_change_values(
    case: tuple[Graph, dict[int, int], list[np.ndarray]], fused: bool
) -> None:
    """Unfused (Elemwise ufuncs) and fused (kernels' ``perform_into``) graphs alike."""
    graph, candidates, arrays = case
    if fused:
        graph = fuse(graph)
    expected = compile_graph(graph).run([a.copy() for a in arrays])
    program, plan = planned_program(graph, candidates)
    inputs = [a.copy() for a in arrays]
    got = program.run(inputs)
    for value, reference in zip(got, expected, strict=True):
        np.testing.assert_array_equal(value, reference)
    for position in (0, 1):  # the caller's arrays
        np.testing.assert_array_equal(inputs[position], arrays[position])
    for k, j in candidates.items():
        if got[k] is inputs[j]:
            assert plan.inplace.get(k) == j
        else:
            np.testing.assert_array_equal(inputs[j], arrays[j])
    for i, value in enumerate(got):  # the plan makes no outputs share a buffer
        for k in range(i):
            if np.shares_memory(value, got[k]):
                assert np.shares_memory(expected[i], expected[k])


@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 9), st.integers(0, 9), st.integers(1, 3)),
        min_size=0,
        max_size=6,
    )
)
@settings()
def test_the_overlap_check_agrees_with_may_share_memory(views: list[Any]) -> None:
    """The O(n log n) check the in-place phase makes equals the pairwise NumPy check."""
    bases = [np.zeros(10), np.zeros(10), np.zeros((2, 5))]
    arrays: list[Any] = [bases[b].reshape(-1)[start:stop:step] for b, start, stop, step in views]
    arrays.append(3.0)  # not an array: shares nothing
    expected = {
        i
        for i, a in enumerate(arrays)
        for k, other in enumerate(arrays)
        if i != k and np.may_share_memory(a, other)
    }
    assert _overlapping(arrays) == expected
