"""Tests of jitgraph/ir/vectorize.py and jitgraph/ops/blockwise.py.

The oracle: the unbatched graph compiled once and called on each batch element in a Python
loop, the results stacked. The vectorized graph must agree with it, for graphs built from
every op with a batching rule and for ops that fall back to Blockwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.ir.graph import Node, Var, toposort
from jitgraph.ir.types import TensorType
from jitgraph.ir.vectorize import vectorize_graph
from jitgraph.ops.base import GradTerm, Op
from jitgraph.ops.blockwise import Blockwise
from jitgraph.ops.indexing import AdvancedIncSubtensor, AdvancedSubtensor
from jitgraph.ops.linalg import Dot
from jitgraph.ops.reduce import Sort
from jitgraph.ops.shape import Shape
from jitgraph.testing import assert_infer_shape

BATCH = 3
RNG = np.random.default_rng(0)


def loop_oracle(
    inputs: Sequence[Var], outputs: Sequence[Var], batched: Sequence[bool], values: Sequence[Any]
) -> list[np.ndarray]:
    """The unbatched graph evaluated on each batch element, stacked along a new axis 0."""
    single = jitgraph.function(list(inputs), list(outputs), on_unused_input="ignore")
    size = next(len(v) for v, flag in zip(values, batched) if flag)
    rows = [single(*[v[i] if flag else v for v, flag in zip(values, batched)]) for i in range(size)]
    return [np.stack([row[k] for row in rows]) for k in range(len(outputs))]


def check_vectorized(
    inputs: Sequence[Var],
    outputs: Sequence[Var],
    batched: Sequence[bool],
    values: Sequence[Any],
) -> list[Var]:
    """Vectorize ``outputs`` over the flagged inputs and compare with the loop oracle."""
    batched_vars = {
        x: TensorType(x.type.dtype, (None, *x.type.shape))(f"{x.name}s")
        for x, flag in zip(inputs, batched)
        if flag
    }
    vectorized = vectorize_graph(outputs, batched_vars)
    new_inputs = [batched_vars.get(x, x) for x in inputs]
    results = jitgraph.function(new_inputs, vectorized, on_unused_input="ignore")(*values)
    expected = loop_oracle(inputs, outputs, batched, values)
    for old, var, got, want in zip(outputs, vectorized, results, expected):
        assert var.type.dtype == old.type.dtype
        assert got.dtype == want.dtype and got.shape == want.shape, (got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    return vectorized


def random(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def ops_in(outputs: Sequence[Var]) -> list[type]:
    return [type(node.op) for node in toposort(list(outputs))]


# ----------------------------------------------------------------------------- random graphs
# Each transform maps the current (2, 3) matrix to a new (2, 3) matrix; ``env`` holds the
# unbatched inputs W (3, 3), R (2, 2), v (3,) and c (scalar).
Transform = Callable[[Var, dict[str, Var]], Var]
TRANSFORMS: dict[str, Transform] = {
    "exp-tanh": lambda m, e: T.exp(T.tanh(m)),
    "times-row": lambda m, e: m * e["v"] + e["c"],
    "center": lambda m, e: m - m.sum(axis=0, keepdims=True),
    "scale-by-max": lambda m, e: m * m.max(axis=1).dimshuffle(0, "x"),
    "mean-all": lambda m, e: m + T.mean(m),
    "argmax": lambda m, e: m + T.argmax(m, axis=1).dimshuffle(0, "x"),
    "dot-right": lambda m, e: T.dot(m, e["W"]),
    "dot-left": lambda m, e: T.dot(e["R"], m),
    "dot-gram": lambda m, e: T.dot(m, T.dot(m.T, m)) * 0.1,
    "dot-vector-matrix": lambda m, e: m + T.dot(m[0], e["W"]),
    "dot-matrix-vector": lambda m, e: m + T.dot(m, e["v"]).dimshuffle(0, "x"),
    "dot-vectors": lambda m, e: m + T.dot(m[0], m[1]),
    "dot-vector-own-matrix": lambda m, e: m + T.dot(m[0], T.dot(m.T, m)),
    "dot-scalar": lambda m, e: T.dot(m.sum(), m),
    "transpose": lambda m, e: (m.T * e["v"].dimshuffle(0, "x")).T,
    "reshape": lambda m, e: m.reshape((3, 2))[::-1].reshape((2, 3)),
    "flatten": lambda m, e: T.flatten(m).reshape((2, -1)),
    "reshape-symbolic": lambda m, e: m.reshape((m.shape[1], m.shape[0])).T.reshape(m.shape),
    "index": lambda m, e: T.concatenate([m[1:], m[:1] * 2], axis=0),
    "index-column": lambda m, e: T.concatenate([m[:, 1:], m[:, :1]], axis=1),
    "alloc": lambda m, e: T.alloc(m[0], 2, 3) + m,
    "alloc-symbolic": lambda m, e: m + T.alloc(m.sum(), m.shape[0], 3),
    "alloc-unbatched-value": lambda m, e: m + T.alloc(e["c"], m.shape[0], m.shape[1]),
    "join-unbatched": lambda m, e: T.concatenate([m[:, :1], e["W"][:2, :2]], axis=1),
    "set-row": lambda m, e: T.set_subtensor(m[0], e["v"]),
    "inc-column": lambda m, e: T.inc_subtensor(m[:, 1], m[:, 0]),
    "inc-scalar": lambda m, e: T.inc_subtensor(m[1, 2], m.sum()),
    "sort": lambda m, e: T.sort(m, axis=1),
    "cumsum": lambda m, e: T.cumsum(m, axis=None).reshape((2, 3)),
    "cumprod-axis": lambda m, e: T.cumprod(m, axis=1) * 0.5,
    "repeat": lambda m, e: T.repeat(m, 2, axis=1)[:, ::2],
    "roll": lambda m, e: T.roll(m, 1, axis=0) + T.roll(m, -1, axis=1),
    "split": lambda m, e: T.concatenate(T.split(m, [1, 2], 2, axis=1)[::-1], axis=1),
    "specify-shape": lambda m, e: T.specify_shape(m, (2, 3)) * 2,
    "rebroadcast": lambda m, e: m + T.addbroadcast(m[:1], 0),
    "copy": lambda m, e: T.tensor_copy(m) - 1,
}


def environment() -> tuple[dict[str, Var], dict[str, np.ndarray]]:
    env = {
        "W": T.dmatrix("W"),
        "R": T.dmatrix("R"),
        "v": T.dvector("v"),
        "c": T.dscalar("c"),
    }
    values = {"W": random(3, 3), "R": random(2, 2), "v": random(3), "c": np.asarray(0.5)}
    return env, values


@settings()
@given(st.lists(st.sampled_from(sorted(TRANSFORMS)), min_size=1, max_size=3))
def test_random_graphs_match_the_loop(names: list[str]) -> None:
    env, env_values = environment()
    x = T.dmatrix("x")
    out = x
    for name in names:
        out = TRANSFORMS[name](out, env)
    inputs = [x, *env.values()]
    values = [random(BATCH, 2, 3), *env_values.values()]
    check_vectorized(inputs, [out], [True, False, False, False, False], values)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_each_transform_matches_the_loop(name: str) -> None:
    env, env_values = environment()
    x = T.dmatrix("x")
    out = TRANSFORMS[name](x, env)
    values = [random(BATCH, 2, 3), *env_values.values()]
    check_vectorized([x, *env.values()], [out], [True] + [False] * 4, values)


@pytest.mark.parametrize("name", ["times-row", "dot-right", "join-unbatched", "set-row"])
def test_batching_an_unbatched_side_input(name: str) -> None:
    """The environment input is batched instead of (or as well as) x."""
    env, env_values = environment()
    x = T.dmatrix("x")
    out = TRANSFORMS[name](x, env)
    inputs = [x, *env.values()]
    values: list[Any] = [random(2, 3), *env_values.values()]
    for flags in ([False, True, False, True, False], [True, True, True, True, True]):
        batched_values = [
            np.stack([v * (i + 1) for i in range(BATCH)]) if flag else v
            for v, flag in zip(values, flags)
        ]
        check_vectorized(inputs, [out], flags, batched_values)


# ----------------------------------------------------------------------------- rules
def test_rules_avoid_the_blockwise_loop() -> None:
    env, _ = environment()
    x = T.dmatrix("x")
    no_fallback = [n for n in TRANSFORMS if n not in ("sort", "cumsum")]
    outputs = [TRANSFORMS[name](x, env) for name in no_fallback]
    vectorized = vectorize_graph(outputs, {x: T.dtensor3("xs")})
    assert Blockwise not in ops_in(vectorized)


@pytest.mark.parametrize("a_ndim", [0, 1, 2, 3])
@pytest.mark.parametrize("b_ndim", [0, 1, 2, 3])
@pytest.mark.parametrize("flags", [(True, False), (False, True), (True, True)])
def test_dot_every_rank(a_ndim: int, b_ndim: int, flags: tuple[bool, bool]) -> None:
    # The contracted size is 2: a's last axis, b's second-to-last (its only one if 1-d).
    a_shape = {0: (), 1: (2,), 2: (4, 2), 3: (3, 4, 2)}[a_ndim]
    b_shape = {0: (), 1: (2,), 2: (2, 5), 3: (3, 2, 5)}[b_ndim]
    a = TensorType("float64", (None,) * a_ndim)("a")
    b = TensorType("float64", (None,) * b_ndim)("b")
    out = T.dot(a, b)
    values = [
        random(BATCH, *shape) if flag else random(*shape)
        for shape, flag in zip((a_shape, b_shape), flags)
    ]
    vectorized = check_vectorized([a, b], [out], flags, values)
    assert Blockwise not in ops_in(vectorized)


def test_dot_integer_dtype_is_kept() -> None:
    a, b = T.bvector("a"), T.bmatrix("b")
    values = [RNG.integers(-5, 5, (BATCH, 3)).astype("int8"), np.ones((3, 2), "int8")]
    check_vectorized([a, b], [T.dot(a, b), T.dot(a, a)], [True, False], values)
    scalar = T.bscalar("s")
    check_vectorized(
        [scalar, b], [T.dot(scalar, b)], [True, False], [np.arange(3, dtype="int8"), values[1]]
    )


def test_shape_of_a_batched_input_is_the_element_shape() -> None:
    x = T.dmatrix("x")
    shape = T.shape(x)
    (batched_shape,) = vectorize_graph([shape], {x: T.dtensor3("xs")})
    assert batched_shape.type.shape == (None, 2)
    check_vectorized([x], [shape, x.shape[1] * x.sum()], [True], [random(BATCH, 2, 4)])


def test_shape_of_a_static_element_is_a_constant() -> None:
    x = TensorType("float64", (2, 4))("x")
    xs = TensorType("float64", (None, 2, 4))("xs")
    (batched_shape,) = vectorize_graph([T.shape(x)], {x: xs})
    # The element's shape is a constant: only the batch size is read from xs.
    shaped = [node.inputs[0] for node in toposort([batched_shape]) if isinstance(node.op, Shape)]
    assert shaped == [xs]
    value = jitgraph.function([xs], batched_shape)(np.zeros((3, 2, 4)))
    np.testing.assert_array_equal(value, [[2, 4]] * 3)


def test_elementwise_on_int_and_bool() -> None:
    x, y = T.ivector("x"), T.bvector("y")
    outputs = [x * y + 1, T.gt(x, y), (x // 3) % 2]
    values = [RNG.integers(-9, 9, (BATCH, 4)).astype("int32"), np.arange(4, dtype="int8")]
    check_vectorized([x, y], outputs, [True, False], values)


def test_zero_size_and_zero_d_elements() -> None:
    x = T.dvector("x")
    check_vectorized([x], [T.exp(x), x.sum()], [True], [random(BATCH, 0)])
    s = T.dscalar("s")
    check_vectorized([s], [s * 2, T.alloc(s, 2)], [True], [random(BATCH)])


def test_a_batch_of_zero_elements() -> None:
    x = T.dvector("x")
    xs = T.dmatrix("xs")
    (out,) = vectorize_graph([T.dot(T.exp(x), x) + x.sum()], {x: xs})
    assert jitgraph.function([xs], out)(np.zeros((0, 4))).shape == (0,)


def test_several_replacements_and_multiple_outputs() -> None:
    x, y = T.dvector("x"), T.dvector("y")
    outputs = [x + y, T.dot(x, y), (x * 2).sum()]
    check_vectorized([x, y], outputs, [True, True], [random(BATCH, 4), random(BATCH, 4)])


def test_unbatched_nodes_are_shared() -> None:
    x, w = T.dvector("x"), T.dvector("w")
    heavy = T.exp(w).sum()
    (out,) = vectorize_graph([x * heavy], {x: T.dmatrix("xs")})
    assert any(node is heavy.owner for node in toposort([out]))


# ----------------------------------------------------------------------------- broadcasting
def test_outputs_independent_of_the_batch_are_broadcast() -> None:
    x, w, c = T.dvector("x"), T.dmatrix("w"), T.dscalar("c")
    xs = T.dmatrix("xs")
    outputs = vectorize_graph([w * 2, c, T.constant(1.5), x], {x: xs})
    assert [v.type.ndim for v in outputs] == [3, 1, 1, 2]
    assert outputs[3] is xs
    wv, cv, xv = random(2, 3), np.asarray(0.25), random(BATCH, 5)
    got = jitgraph.function([xs, w, c], outputs)(xv, wv, cv)
    np.testing.assert_array_equal(got[0], np.broadcast_to(wv * 2, (BATCH, 2, 3)))
    np.testing.assert_array_equal(got[1], [0.25] * BATCH)
    np.testing.assert_array_equal(got[2], [1.5] * BATCH)
    np.testing.assert_array_equal(got[3], xv)


def test_static_batch_size_comes_through() -> None:
    x = T.dvector("x")
    xs = TensorType("float64", (3, None))("xs")
    outputs = vectorize_graph([T.exp(x), T.constant(1.0), T.sort(x)], {x: xs})
    assert [v.type.shape[0] for v in outputs] == [3, 3, 3]


# ----------------------------------------------------------------------------- Blockwise
def test_sort_falls_back_to_blockwise() -> None:
    x = T.dmatrix("x")
    vectorized = check_vectorized([x], [T.sort(x, axis=0), T.argsort(x)], [True], [random(3, 4, 5)])
    assert Blockwise in ops_in(vectorized)
    assert Sort.vectorize_node is Op.vectorize_node  # no rule of its own: the default
    node = T.sort(x).owner
    assert node.op.vectorize_node(node, [True], [T.dtensor3("xs")]) is None


def test_advanced_indexing_does_not_inherit_the_basic_rule() -> None:
    """AdvancedSubtensor subclasses Subtensor but declines: with non-adjacent array indices
    NumPy moves the indexed axes first, so the basic rule's leading full slice is wrong."""
    x, y = T.dtensor3("x"), T.dvector("y")
    rows, cols = np.array([0, 1]), np.array([2, 0])
    outputs = [x[rows, :, cols], T.inc_subtensor(x[rows, 1, cols], y)]
    assert isinstance(outputs[0].owner.op, AdvancedSubtensor)
    assert isinstance(outputs[1].owner.op, AdvancedIncSubtensor)
    values = [random(BATCH, 2, 3, 4), random(BATCH, 2)]
    vectorized = check_vectorized([x, y], outputs, [True, True], values)
    assert ops_in(vectorized).count(Blockwise) == 2


def test_blockwise_with_a_batched_index() -> None:
    """An index that varies per element: each element is indexed by its own integer."""
    x, i = T.dmatrix("x"), T.lscalar("i")
    outputs = [x[i], x[:, i] * 2]
    values = [random(BATCH, 4, 5), np.array([0, 3, -1])]
    vectorized = check_vectorized([x, i], outputs, [True, True], values)
    assert Blockwise in ops_in(vectorized)
    check_vectorized([x, i], outputs, [False, True], [random(4, 5), values[1]])


def test_blockwise_outputs_of_varying_shape_raise() -> None:
    x, i = T.dvector("x"), T.lscalar("i")
    xs, indices = T.dmatrix("xs"), T.lvector("indices")
    (out,) = vectorize_graph([x[i:]], {x: xs, i: indices})
    f = jitgraph.function([xs, indices], out)
    with pytest.raises(ValueError, match=r"Blockwise.*different shape.*cannot be stacked"):
        f(np.zeros((2, 5)), np.array([1, 2]))
    np.testing.assert_array_equal(f(np.ones((2, 5)), np.array([1, 1])), np.ones((2, 4)))


def test_blockwise_empty_batch() -> None:
    x = TensorType("float64", (4,))("x")
    xs = TensorType("float64", (None, 4))("xs")
    (out,) = vectorize_graph([T.sort(x)], {x: xs})
    assert jitgraph.function([xs], out)(np.zeros((0, 4))).shape == (0, 4)
    y = T.dvector("y")
    (unknown,) = vectorize_graph([T.sort(y)], {y: T.dmatrix("ys")})
    with pytest.raises(ValueError, match="batch is empty"):
        jitgraph.function(list(unknown.owner.inputs), unknown)(np.zeros((0, 4)))


def test_blockwise_make_node_errors() -> None:
    xs = T.dmatrix("xs")
    with pytest.raises(TypeError, match=r"takes 2 inputs \(one per batched flag\), got 1"):
        Blockwise(Sort(0), (True, False))(xs)
    with pytest.raises(ValueError, match="at least one input must be batched"):
        Blockwise(Sort(0), (False,))(xs)
    with pytest.raises(TypeError, match="marked batched but is 0-d"):
        Blockwise(Sort(None), (True,))(T.dscalar("s"))
    with pytest.raises(ValueError, match="different batch sizes"):
        Blockwise(Dot(), (True, True))(
            TensorType("float64", (2, 3))("a"), TensorType("float64", (4, 3))("b")
        )


def test_blockwise_runtime_batch_sizes_differ() -> None:
    a, b = T.dmatrix("a"), T.dmatrix("b")
    out = Blockwise(Dot(), (True, True))(a, b)
    with pytest.raises(ValueError, match="different batch sizes at run time"):
        jitgraph.function([a, b], out)(np.zeros((2, 3)), np.zeros((3, 3)))


def test_blockwise_infer_shape() -> None:
    x, i = T.dtensor3("x"), T.lvector("i")
    xs = T.dtensor3("xs")
    assert_infer_shape(Blockwise(Sort(1), (True,))(xs), [xs], [random(3, 4, 5)])
    # The core shape reads the batched index (element 0 stands for every element).
    from jitgraph.ops.indexing import Subtensor

    sliced = Blockwise(Subtensor((("s", True, False, False),)), (False, True))(T.dvector("v"), i)
    v = sliced.owner.inputs[0]
    assert_infer_shape(sliced, [v, i], [random(6), np.array([2, 2, 2])])
    w = T.dvector("w")
    product = Blockwise(Dot(), (True, False))(x, w)
    assert_infer_shape(product, [x, w], [random(2, 3, 4), random(4)])


def test_blockwise_str() -> None:
    out = Blockwise(Dot(), (True, False))(T.dtensor3("a"), T.dvector("w"))
    assert str(out.owner.op) == "Blockwise{Dot, b.}"


@dataclasses.dataclass(frozen=True)
class ScaleBy(Op):
    """A test op without a batching rule: ``x * w`` for x, w of one shape, with a gradient."""

    def make_node(self, *inputs: Any) -> Node:
        x, w = (T.as_tensor_variable(v) for v in inputs)
        return self.make_apply([x, w], [x.type])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [inputs[0] * inputs[1]]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        x, w = node.inputs
        (g,) = output_grads
        return [g * w, g * x]


def test_blockwise_grad_vectorizes_the_core_gradient() -> None:
    xs, w, g = T.dmatrix("xs"), T.dvector("w"), T.dmatrix("g")
    node = Blockwise(ScaleBy(), (True, False))(xs, w).owner
    grad_x, grad_w = node.op.grad(node, [g])
    assert isinstance(grad_x, Var) and isinstance(grad_w, Var)
    assert grad_x.type.ndim == 2 and grad_w.type.ndim == 1
    xv, wv, gv = random(BATCH, 4), random(4), random(BATCH, 4)
    got_x, got_w = jitgraph.function([xs, w, g], [grad_x, grad_w])(xv, wv, gv)
    np.testing.assert_allclose(got_x, gv * wv)
    np.testing.assert_allclose(got_w, (gv * xv).sum(axis=0))


def test_blockwise_fallback_for_an_op_without_rule() -> None:
    x, w = T.dvector("x"), T.dvector("w")
    out = ScaleBy()(x, w)
    vectorized = check_vectorized([x, w], [out], [True, False], [random(BATCH, 4), random(4)])
    assert ops_in(vectorized) == [Blockwise]


# ----------------------------------------------------------------------------- protocol
@dataclasses.dataclass(frozen=True)
class Doubler(Op):
    """A test op with its own ``vectorize_node`` (which the driver must prefer)."""

    def make_node(self, *inputs: Any) -> Node:
        x = T.as_tensor_variable(inputs[0])
        return self.make_apply([x], [x.type])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [inputs[0] * 2]

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var]:
        return [self(inputs[0])]


@dataclasses.dataclass(frozen=True)
class DecliningDoubler(Doubler):
    """Doubler whose batching rule declines: the driver must fall back to Blockwise."""

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        return None


def test_an_op_method_wins_over_the_fallback() -> None:
    x = T.dvector("x")
    vectorized = check_vectorized([x], [Doubler()(x) + 1], [True], [random(BATCH, 4)])
    assert Blockwise not in ops_in(vectorized) and Doubler in ops_in(vectorized)


def test_a_declining_method_falls_back_to_blockwise() -> None:
    x = T.dvector("x")
    vectorized = check_vectorized([x], [DecliningDoubler()(x)], [True], [random(BATCH, 4)])
    assert ops_in(vectorized) == [Blockwise]


# ----------------------------------------------------------------------------- errors
def test_replacement_with_wrong_ndim() -> None:
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"replacement of 'x'.*one more \(leading\) axis.*'xs'"):
        vectorize_graph([x * 2], {x: T.dvector("xs")})
    with pytest.raises(TypeError, match="replacement of 'x'"):
        vectorize_graph([x * 2], {x: T.dtensor3("xs")})


def test_replacement_with_wrong_dtype() -> None:
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"'x' .*\(float64 1-d.*'xs' .*\(float32 2-d"):
        vectorize_graph([x * 2], {x: T.fmatrix("xs")})


def test_replacement_with_wrong_static_shape() -> None:
    x = TensorType("float64", (3,))("x")
    with pytest.raises(
        ValueError, match=r"elements of 'xs' .*\(static shape \(4,\)\) do not fit 'x'"
    ):
        vectorize_graph([x * 2], {x: TensorType("float64", (None, 4))("xs")})


def test_replacements_needed_and_batch_sizes_agree() -> None:
    x, y = T.dvector("x"), T.dvector("y")
    with pytest.raises(ValueError, match="at least one replacement"):
        vectorize_graph([x], {})
    with pytest.raises(ValueError, match="different batch sizes"):
        vectorize_graph(
            [x + y],
            {
                x: TensorType("float64", (2, None))("xs"),
                y: TensorType("float64", (3, None))("ys"),
            },
        )


# ----------------------------------------------------------------------------- jacobian
def test_vectorizing_twice_nests_the_batch_axes() -> None:
    """A vectorized graph vectorized again (a hessian is a jacobian of a jacobian)."""
    x = T.dvector("x")
    out = T.sort(x) * T.exp(x).sum() + T.dot(x, x)
    xs, xss = T.dmatrix("xs"), T.dtensor3("xss")
    (once,) = vectorize_graph([out], {x: xs})
    (twice,) = vectorize_graph([once], {xs: xss})
    value = random(2, 3, 4)
    expected = np.sort(value, axis=-1) * np.exp(value).sum(-1, keepdims=True)
    expected += (value * value).sum(-1, keepdims=True)
    np.testing.assert_allclose(jitgraph.function([xss], twice)(value), expected)


def test_jacobian_of_a_hand_written_gradient() -> None:
    """The pattern jitgraph.gradient uses: the gradient of sum(y * u) w.r.t. x, vectorized
    over u = eye(m), is the jacobian. Here y = exp(x) * sum(x), whose gradient graph is
    written by hand: g = u * exp(x) * sum(x) + sum(u * exp(x))."""
    x, u = T.dvector("x"), T.dvector("u")
    g = u * T.exp(x) * x.sum() + (u * T.exp(x)).sum()
    (jacobian,) = vectorize_graph([g], {u: T.eye(4)})
    assert jacobian.type.shape[0] == 4
    xv = random(4)
    expected = np.diag(np.exp(xv) * xv.sum()) + np.exp(xv)[:, None]
    np.testing.assert_allclose(jitgraph.function([x], jacobian)(xv), expected)


def finite_difference_jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> Any:
    eps = 1e-6
    columns = [(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(len(x))]
    return np.stack(columns, axis=1)


def test_jacobian_as_one_graph() -> None:
    """jacobian(y, x) = the gradient of sum(y * u) w.r.t. x, vectorized over u = eye(m)."""
    x, w = T.dvector("x"), T.dmatrix("w")
    pieces = [
        T.exp(x) * x.sum(),
        T.dot(w, x),
        x[::-1] ** 2,
        T.tanh(x).reshape((2, 2)).sum(axis=0),
        T.cumsum(x),
    ]
    y = T.concatenate(pieces)
    u = T.dvector("u")
    g = jitgraph.grad((y * u).sum(), x)
    m = 4 + 3 + 4 + 2 + 4
    (jacobian,) = vectorize_graph([g], {u: T.eye(m)})
    assert Blockwise not in ops_in([jacobian])
    xv, wv = random(4), random(3, 4)
    got = jitgraph.function([x, w], jacobian)(xv, wv)
    f = jitgraph.function([x, w], y)
    expected = finite_difference_jacobian(lambda point: f(point, wv), xv)
    assert got.shape == (m, 4)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_hessian_as_one_graph() -> None:
    """The jacobian of the gradient, vectorized over eye(n); sort's gradient (an indexing
    by argsort) has no batching rule, so Blockwise runs inside the hessian."""
    x, w = T.dvector("x"), T.dmatrix("w")
    cost = (T.exp(x) * T.dot(w, x).sum() + T.sort(x) * x).sum()
    gradient = jitgraph.grad(cost, x)
    v = T.dvector("v")
    hessian_vector_product = jitgraph.grad((gradient * v).sum(), x)
    (hessian,) = vectorize_graph([hessian_vector_product], {v: T.eye(4)})
    xv, wv = random(4), random(3, 4)
    f = jitgraph.function([x, w], gradient)
    expected = finite_difference_jacobian(lambda point: f(point, wv), xv)
    got = jitgraph.function([x, w], hessian)(xv, wv)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
