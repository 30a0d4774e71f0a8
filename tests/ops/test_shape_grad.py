"""Gradients of the shape ops (jitgraph/ops/shape.py) and the creation ops
(jitgraph/ops/creation.py): dimshuffle, shape, reshape, specify_shape, rebroadcast,
tensor_copy, join, split, tile, repeat, roll, alloc, arange, eye, tri, and the front-end
compositions built on them (flatten, flip, swapaxes, stack, fill, broadcast_to, ...).

Values are checked against central finite differences with the driver's
``jitgraph.gradient.verify_grad``; the terms of shape, size and count arguments are
checked to be DISCONNECTED by calling the op's ``grad`` on its node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.gradient import verify_grad
from jitgraph.ir.graph import Var
from jitgraph.ops.base import DISCONNECTED
from jitgraph.ops.creation import ArangeLength
from jitgraph.ops.shape import DimShuffle, Rebroadcast, ReshapeDim, Shape


def check(function: Callable[..., Var], *values: np.ndarray) -> None:
    verify_grad(function, list(values), rng=np.random.RandomState(0))


def data(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def node_terms(out: Var, g: Var | None = None) -> list[Any]:
    """The op's gradient terms for ``out``'s node with a fresh output gradient."""
    node = out.owner
    grads = [g if g is not None else o.type("g") for o in node.outputs]
    return node.op.grad(node, grads)


def grad_of(cost: Var, wrt: Var, *values: np.ndarray, inputs: list[Var] | None = None) -> Any:
    fn = jitgraph.function(inputs or [wrt], jitgraph.grad(cost, wrt), on_unused_input="ignore")
    return fn(*values)


shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)


# ----------------------------------------------------------------------------- dimshuffle
@given(shape=shapes, data_=st.data())
@settings()
def test_transpose_and_inserted_axes(shape: tuple[int, ...], data_: Any) -> None:
    order = data_.draw(st.permutations(range(len(shape))))
    at = data_.draw(st.integers(0, len(shape)))
    pattern = list(order)
    pattern.insert(at, "x")
    check(lambda x: T.dimshuffle(x, *pattern), data(shape))


def test_dimshuffle_restores_dropped_broadcastable_axes() -> None:
    x = T.tensor("float64", (1, None, 1), "x")
    out = DimShuffle(3, (1,))(x)
    (term,) = node_terms(out)
    assert term.type.shape == (1, None, 1)
    g = T.dvector("g")
    (term,) = node_terms(out, g)
    value = jitgraph.function([g], term)(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(value, [[[1.0], [2.0]]])


def test_dimshuffle_sums_an_inserted_axis_whose_gradient_is_not_static_one() -> None:
    x = T.dvector("x")
    out = DimShuffle(1, ("x", 0))(x)
    g = T.dmatrix("g")  # shape (None, None): a run-time (1, n) gradient
    (term,) = node_terms(out, g)
    np.testing.assert_array_equal(jitgraph.function([g], term)(np.ones((1, 3))), np.ones(3))


def test_squeeze_expand_dims_flip_swapaxes_compositions() -> None:
    x = data((2, 1, 3))
    check(lambda v: T.squeeze(v, 1) * T.arange(3.0), x)
    check(lambda v: T.expand_dims(v, (0, -1)) ** 2, x)
    check(lambda v: T.flip(v, (0, 2)) * np.arange(6.0).reshape(2, 1, 3), x)
    check(lambda v: T.swapaxes(v, 0, 2) ** 3, x)


# ----------------------------------------------------------------------------- shape, reshape
def test_shape_input_is_disconnected() -> None:
    x = T.dmatrix("x")
    assert node_terms(T.shape(x)) == [DISCONNECTED]
    assert node_terms(Shape()(x)) == [DISCONNECTED]


def test_shape_dependent_cost_has_only_the_value_gradient() -> None:
    x = T.dvector("x")
    cost = T.sum(x**2) * T.cast(T.shape(x)[0], "float64")
    np.testing.assert_allclose(grad_of(cost, x, np.array([1.0, 2.0])), [4.0, 8.0])


@given(shape=shapes, flat=st.booleans())
@settings()
def test_reshape_grad(shape: tuple[int, ...], flat: bool) -> None:
    size = int(np.prod(shape))
    target = (size,) if flat else (-1, shape[-1])
    check(lambda v: T.reshape(v, target) ** 2, data(shape))


def test_reshape_size_inputs_are_disconnected() -> None:
    x, n = T.dmatrix("x"), T.lscalar("n")
    out = T.reshape(x, (n, -1))
    terms = node_terms(out)
    assert terms[1:] == [DISCONNECTED, DISCONNECTED]
    assert terms[0].type.ndim == 2
    cost = T.sum(out * T.arange(3.0))
    got = grad_of(cost, x, np.ones((3, 2)), np.int64(2), inputs=[x, n])
    np.testing.assert_array_equal(got, np.tile(np.arange(3.0), 2).reshape(3, 2))


def test_reshape_dim_and_arange_length_are_disconnected() -> None:
    for node, count in (
        (ReshapeDim(2, 0).make_node(2, 3, -1, 3), 4),
        (ArangeLength().make_node(0, 10, 2), 3),
    ):
        assert node.op.grad(node, [T.lscalar()]) == [DISCONNECTED] * count


def test_flatten_grad() -> None:
    check(lambda v: T.flatten(v, 2) ** 2, data((2, 3, 2)))


# ----------------------------------------------------------------------------- type refinements
def test_specify_shape_rebroadcast_and_copy_pass_the_gradient_through() -> None:
    x = data((1, 3))
    check(lambda v: T.specify_shape(v, (1, 3)) ** 2, x)
    check(lambda v: T.addbroadcast(v, 0) ** 2, x)
    check(lambda v: T.unbroadcast(T.addbroadcast(v, 0), 0) ** 2, x)
    check(lambda v: T.tensor_copy(v) ** 2, x)
    sized = T.specify_shape(T.dmatrix("m"), (2, 3))
    assert node_terms(sized)[1:] == [DISCONNECTED, DISCONNECTED]


def test_rebroadcast_grad_gets_the_input_pattern_back() -> None:
    x = T.drow("x")
    out = T.unbroadcast(x, 0)
    (term,) = node_terms(out, T.dmatrix("g"))
    assert term.type.broadcastable == (True, False)
    assert isinstance(term.owner.op, Rebroadcast)


# ----------------------------------------------------------------------------- join and split
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_join_grad_splits_the_gradient(axis: int) -> None:
    a, b, c = data((2, 3), 1), data((2, 3), 2), data((2, 3), 3)
    check(lambda x, y, z: T.concatenate([x, y, z], axis=axis) ** 2, a, b, c)


def test_join_grad_with_static_sizes_and_mixed_dtypes() -> None:
    a, b = T.tensor("float32", (2, None), "a"), T.tensor("float64", (3, None), "b")
    out = T.join(0, a, b)
    terms = node_terms(out)
    assert [t.type.shape[0] for t in terms] == [2, 3]
    cost = T.sum(out * T.arange(5.0).dimshuffle(0, "x"))
    ga, gb = jitgraph.function([a, b], jitgraph.grad(cost, [a, b]))(
        np.ones((2, 2), "float32"), np.ones((3, 2))
    )
    assert ga.dtype == np.float32 and gb.dtype == np.float64
    np.testing.assert_array_equal(ga, [[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(gb, [[2.0, 2.0], [3.0, 3.0], [4.0, 4.0]])


def test_stack_grad() -> None:
    check(lambda x, y: T.stack([x, y], axis=1) ** 2, data((2, 3), 1), data((2, 3), 2))


def test_split_grad_joins_the_pieces_with_zeros_for_unused_ones() -> None:
    x = T.dvector("x")
    first, second, third = T.split(x, [1, 2, 2], 3)
    cost = T.sum(first * 2.0) + T.sum(third**2)
    got = grad_of(cost, x, np.arange(5.0))
    np.testing.assert_array_equal(got, [2.0, 0.0, 0.0, 6.0, 8.0])
    assert node_terms(first)[1] is DISCONNECTED


def test_split_grad_along_an_axis_with_symbolic_sizes() -> None:
    x, sizes = T.dmatrix("x"), T.lvector("sizes")
    left, right = T.split(x, sizes, 2, axis=1)
    cost = T.sum(left**2) + T.sum(right * 3.0)
    value = np.arange(6.0).reshape(2, 3)
    got = grad_of(cost, x, value, np.array([2, 1]), inputs=[x, sizes])
    np.testing.assert_array_equal(got, [[0.0, 2.0, 3.0], [6.0, 8.0, 3.0]])


# ----------------------------------------------------------------------------- tile, repeat, roll
@given(shape=shapes, data_=st.data())
@settings()
def test_tile_grad_sums_over_tiles(shape: tuple[int, ...], data_: Any) -> None:
    reps = tuple(data_.draw(st.lists(st.integers(1, 3), min_size=1, max_size=len(shape) + 1)))
    check(lambda v: T.tile(v, reps) ** 2, data(shape))


def test_tile_reps_are_disconnected() -> None:
    out = T.tile(T.dmatrix("m"), (2, 3))
    assert node_terms(out)[1:] == [DISCONNECTED, DISCONNECTED]


@pytest.mark.parametrize("repeats", [2, [1, 0, 3], [2], np.array(3), np.array([0, 2, 1], "int32")])
@pytest.mark.parametrize("axis", [0, 1, None])
def test_repeat_grad_sums_over_repeats(repeats: Any, axis: int | None) -> None:
    if axis is None and np.ndim(repeats) and len(repeats) == 3:
        repeats = [1, 0, 3, 2, 1, 1]
    check(lambda v: T.repeat(v, repeats, axis=axis) ** 2, data((3, 2) if axis == 0 else (2, 3)))


def test_repeat_symbolic_counts_are_disconnected() -> None:
    x, counts = T.dvector("x"), T.lvector("counts")
    out = T.repeat(x, counts, axis=0)
    assert node_terms(out)[1] is DISCONNECTED
    got = grad_of(
        T.sum(out * T.arange(4.0)), x, np.ones(3), np.array([1, 0, 3]), inputs=[x, counts]
    )
    np.testing.assert_array_equal(got, [0.0, 0.0, 6.0])


@pytest.mark.parametrize(("shift", "axis"), [(1, 0), (-2, 1), (4, None), ((1, 2), (0, 1))])
def test_roll_grad_rolls_back(shift: Any, axis: Any) -> None:
    check(lambda v: T.roll(v, shift, axis) * np.arange(6.0).reshape(2, 3), data((2, 3)))


def test_roll_symbolic_shift_is_disconnected() -> None:
    x, shift = T.dvector("x"), T.lscalar("s")
    out = T.roll(x, shift)
    assert node_terms(out)[1] is DISCONNECTED
    got = grad_of(T.sum(out * T.arange(3.0)), x, np.ones(3), np.int64(1), inputs=[x, shift])
    np.testing.assert_array_equal(got, [1.0, 2.0, 0.0])


# ----------------------------------------------------------------------------- creation
@pytest.mark.parametrize(
    ("value_shape", "target"),
    [((), (2, 3)), ((3,), (2, 3)), ((2, 1), (2, 3)), ((1, 3), (4, 2, 3)), ((2, 3), (2, 3))],
)
def test_alloc_grad_sums_back_to_the_value_shape(
    value_shape: tuple[int, ...], target: tuple[int, ...]
) -> None:
    check(
        lambda v: T.alloc(v, *target) * np.arange(np.prod(target)).reshape(target),
        data(value_shape),
    )


def test_alloc_grad_of_a_run_time_broadcast_value() -> None:
    v, n = T.dvector("v"), T.lscalar("n")  # v of unknown length, 1 at run time
    out = T.alloc(v, n, 3)
    terms = node_terms(out)
    assert terms[1:] == [DISCONNECTED, DISCONNECTED]
    cost = T.sum(out * T.arange(3.0))
    got = grad_of(cost, v, np.ones(1), np.int64(4), inputs=[v, n])
    np.testing.assert_array_equal(got, [12.0])
    got = grad_of(cost, v, np.ones(3), np.int64(2), inputs=[v, n])
    np.testing.assert_array_equal(got, [0.0, 2.0, 4.0])


def test_fill_full_broadcast_to_and_likes() -> None:
    check(lambda v: T.fill(T.zeros((2, 3)), v) * np.arange(6.0).reshape(2, 3), data(()))
    check(lambda v: T.broadcast_to(v, (4, 3)) ** 2, data((1, 3)))
    check(lambda v: T.full((2, 2), v) * np.arange(4.0).reshape(2, 2), data(()))
    x = T.dmatrix("x")
    cost = T.sum(T.zeros_like(x) + T.ones_like(x) * x)
    np.testing.assert_array_equal(grad_of(cost, x, np.zeros((2, 2))), np.ones((2, 2)))


def test_arange_grad_follows_theano() -> None:
    start, step = T.dscalar("start"), T.dscalar("step")
    out = T.arange(start, 10.0, step)
    g_start, g_stop, g_step = node_terms(out)
    assert g_stop is DISCONNECTED
    weights = T.arange(4.0) + 1.0  # 1, 2, 3, 4
    cost = T.sum(out[:4] * weights)
    fn = jitgraph.function([start, step], jitgraph.grad(cost, [start, step]))
    got_start, got_step = fn(np.float64(1.0), np.float64(2.0))  # out = 1, 3, 5, 7, 9
    assert float(got_start) == 10.0  # sum of the weights
    assert float(got_step) == 0 * 1 + 1 * 2 + 2 * 3 + 3 * 4  # sum(i * weight)


def test_integer_arange_gives_zero_gradients() -> None:
    start = T.lscalar("start")
    out = T.arange(start, 10)
    g_start, g_stop, g_step = node_terms(out)
    assert g_stop is DISCONNECTED
    assert g_start.type.dtype == jitgraph.config.floatX


@pytest.mark.parametrize("function", [T.eye, T.tri])
def test_eye_and_tri_sizes_are_disconnected(function: Any) -> None:
    out = function(T.lscalar("n"), T.lscalar("m"), T.lscalar("k"))
    assert node_terms(out) == [DISCONNECTED] * 3


@pytest.mark.parametrize(
    "function",
    [
        lambda v: T.sum(T.tile(v, (2,)) ** 3),
        lambda v: T.sum(T.repeat(v, [1, 2, 0, 1]) ** 3),
        lambda v: T.sum(T.repeat(T.reshape(v, (2, 2)), 2, axis=1) ** 3),
        lambda v: T.sum(T.alloc(v, 3, 4) ** 3),
        lambda v: T.sum(T.concatenate([v, v**2]) ** 2),
        lambda v: T.sum(T.roll(v, 1) * v),
        lambda v: T.sum(T.split(v, [1, 3], 2)[1] ** 3),
        lambda v: T.sum(T.reshape(v, (2, 2)).T.dimshuffle("x", 0, 1) ** 3),
        lambda v: T.sum(T.arange(v[0], 3.0, v[1] + 2.0) ** 2),
    ],
)
def test_gradients_of_gradients(function: Any) -> None:
    x = np.array([0.5, -1.2, 2.0, 0.7])
    verify_grad(lambda v: jitgraph.grad(function(v), v), [x], rng=np.random.RandomState(0))


@pytest.mark.parametrize(
    "function",
    [
        lambda v: T.tile(v, (2, 1)),
        lambda v: T.repeat(v, 2, axis=0),
        lambda v: T.repeat(v, [1, 2], axis=0),
        lambda v: T.alloc(v, 4, 2, 3),
        lambda v: T.join(1, v, v),
        lambda v: T.roll(v, 1),
        lambda v: T.reshape(v, (-1,)),
        lambda v: v.dimshuffle(1, "x", 0),
    ],
)
def test_float32_gradients_stay_float32(function: Any) -> None:
    x = T.fmatrix("x")
    out = function(x)
    terms = out.owner.op.grad(out.owner, [out.type("g")])
    assert all(t is DISCONNECTED or t.type.dtype == "float32" for t in terms)
    g = jitgraph.function([x], jitgraph.grad(T.sum(out * out), x))(np.ones((2, 3), "float32"))
    assert g.dtype == np.float32
