"""Gradients of the linear-algebra ops (jitgraph/ops/linalg.py): dot for every rank pair
numpy.dot supports, matmul with vector promotion and batch broadcasting (static and at
run time), tensordot with permuted axes, batched_dot, diagonal, and the compositions
outer and trace.

Every check compares with central finite differences, through the driver
(``jitgraph.gradient.verify_grad``) and by calling the op's ``grad`` on its node.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.gradient import hessian, verify_grad
from jitgraph.ir.graph import Var
from jitgraph.ops.linalg import BatchedDot, Dot, Matmul


def symbolic(value: np.ndarray, name: str, static: bool = False) -> Var:
    shape = value.shape if static else (None,) * value.ndim
    return T.tensor(value.dtype.name, shape=shape, name=name)


def direct_grads(build: Callable[..., Var], values: Sequence[np.ndarray], static: bool) -> None:
    """Call the op's grad on its node and compare with finite differences of
    ``sum(out * g)``; also check each term's shape and static type."""
    variables = [symbolic(v, f"x{i}", static) for i, v in enumerate(values)]
    out = build(*variables)
    node = out.owner
    forward = jitgraph.function(variables, out)
    g_value = np.random.default_rng(1).standard_normal(np.shape(forward(*values)))
    g = T.tensor("float64", shape=(None,) * out.type.ndim, name="g")
    terms = node.op.grad(node, [g])
    for term, var in zip(terms, node.inputs, strict=True):
        assert term.type.ndim == var.type.ndim
        assert all(
            h is None or w is None or h == w for h, w in zip(term.type.shape, var.type.shape)
        )
    analytic = jitgraph.function(variables + [g], terms)(*values, g_value)
    eps = 1e-6
    for position, value in enumerate(values):
        numeric = np.zeros(value.shape)
        for index in np.ndindex(value.shape):
            point = [v.copy() for v in values]
            point[position][index] += eps
            up = np.sum(forward(*point) * g_value)
            point[position][index] -= 2 * eps
            numeric[index] = (up - np.sum(forward(*point) * g_value)) / (2 * eps)
        assert analytic[position].shape == value.shape
        np.testing.assert_allclose(analytic[position], numeric, rtol=1e-6, atol=1e-6)


def check(build: Callable[..., Var], *values: np.ndarray, static: bool = False) -> None:
    """Finite differences through the driver (all dims unknown) and directly on the op's
    node (``static``: the inputs' static shapes are their values' shapes)."""
    verify_grad(build, list(values), rng=np.random.RandomState(0))
    direct_grads(build, values, static)


def data(shape: Sequence[int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(tuple(shape))


sizes = st.integers(1, 3)


# ----------------------------------------------------------------------------- dot
@st.composite
def dot_operands(draw: Any, rank_a: int, rank_b: int) -> tuple[np.ndarray, np.ndarray]:
    inner = draw(sizes)
    shape_a = [draw(sizes) for _ in range(rank_a)]
    shape_b = [draw(sizes) for _ in range(rank_b)]
    if rank_a and rank_b:
        shape_a[-1] = inner
        shape_b[-2 if rank_b >= 2 else 0] = inner
    return data(shape_a, 0), data(shape_b, 1)


@pytest.mark.parametrize("rank_b", [0, 1, 2, 3])
@pytest.mark.parametrize("rank_a", [0, 1, 2, 3])
@given(st.data())
@settings(max_examples=5)
def test_dot_grad_every_rank_pair(rank_a: int, rank_b: int, draw: Any) -> None:
    a, b = draw.draw(dot_operands(rank_a, rank_b))
    check(T.dot, a, b)


def test_dot_grad_keeps_float32_and_static_shapes() -> None:
    a, b = T.tensor("float32", (2, 3), "a"), T.tensor("float32", (3, 4), "b")
    out = T.dot(a, b)
    grads = out.owner.op.grad(out.owner, [T.tensor("float32", (2, 4), "g")])
    assert [(g.type.dtype, g.type.shape) for g in grads] == [
        ("float32", (2, 3)),
        ("float32", (3, 4)),
    ]
    assert all(isinstance(g.owner.op, Dot) for g in grads)  # BLAS-shaped, not tensordot


def test_dot_hessian_of_a_quadratic_form() -> None:
    x = T.dvector("x")
    m = np.array([[2.0, 1.0], [0.5, 3.0]])
    cost = T.dot(x, T.dot(m, x))
    h = jitgraph.function([x], hessian(cost, x), on_unused_input="ignore")(np.ones(2))
    np.testing.assert_allclose(h, m + m.T)


# ----------------------------------------------------------------------------- matmul
MATMUL_CASES = [
    ((3,), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),  # b broadcast over a batch
    ((2, 3), (5, 3, 4)),
    ((3,), (5, 3, 4)),
    ((5, 2, 3), (3,)),
    ((1, 2, 3), (4, 3, 2)),  # run-time broadcast of an unknown dim of size 1
    ((4, 1, 2, 3), (5, 3, 2)),
    ((2, 1, 2, 3), (1, 3, 3, 2)),
]


@pytest.mark.parametrize("static", [False, True])
@pytest.mark.parametrize(("shape_a", "shape_b"), MATMUL_CASES)
def test_matmul_grad_with_promotion_and_batch_broadcasting(
    shape_a: tuple[int, ...], shape_b: tuple[int, ...], static: bool
) -> None:
    check(T.matmul, data(shape_a, 2), data(shape_b, 3), static=static)


def test_matmul_grad_sums_a_broadcast_batch_to_the_operand_shape() -> None:
    a, b = T.dtensor3("a"), T.dmatrix("b")
    f = jitgraph.function([a, b], jitgraph.grad(T.sum(T.matmul(a, b)), b))
    got = f(np.ones((4, 2, 3)), np.zeros((3, 5)))
    np.testing.assert_array_equal(got, np.full((3, 5), 8.0))


def test_matmul_grad_without_batch_dims_uses_no_sum() -> None:
    a, b = T.dmatrix("a"), T.dmatrix("b")
    out = T.matmul(a, b)
    grads = out.owner.op.grad(out.owner, [T.dmatrix("g")])
    assert all(isinstance(g.owner.op, Matmul) for g in grads)


# ----------------------------------------------------------------------------- tensordot
TENSORDOT_CASES = [
    ((2, 3, 4), (3, 4, 5), 2),
    ((2, 3), (3, 2), 1),
    ((2, 3), (4,), 0),
    ((2, 3, 4), (4, 2), [[2, 0], [0, 1]]),
    ((3, 2, 4), (4, 5, 3), [[0, 2], [2, 0]]),
    ((2, 3, 4), (2, 4, 3), [[1, 0, 2], [2, 0, 1]]),
    ((4, 2), (2, 4), [[1], [0]]),
]


@pytest.mark.parametrize(("shape_a", "shape_b", "axes"), TENSORDOT_CASES)
def test_tensordot_grad(shape_a: tuple[int, ...], shape_b: tuple[int, ...], axes: Any) -> None:
    check(lambda a, b: T.tensordot(a, b, axes), data(shape_a, 4), data(shape_b, 5))


# ----------------------------------------------------------------------------- batched dot
BATCHED_CASES = [
    ((3, 2, 4), (3, 4, 5)),
    ((3, 4), (3, 4)),
    ((3, 4), (3, 4, 2)),
    ((3, 2, 4), (3, 4)),
    ((3,), (3,)),
    ((3,), (3, 2, 2)),
    ((3, 2, 2), (3,)),
    ((2, 2, 3, 4), (2, 4, 2)),
    ((2, 3, 4), (2, 2, 4, 3)),
]


@pytest.mark.parametrize(("shape_a", "shape_b"), BATCHED_CASES)
def test_batched_dot_grad(shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> None:
    check(T.batched_dot, data(shape_a, 6), data(shape_b, 7))


def test_batched_dot_of_matrices_stays_batched_dot() -> None:
    a, b = T.dtensor3("a"), T.dtensor3("b")
    out = T.batched_dot(a, b)
    grads = out.owner.op.grad(out.owner, [T.dtensor3("g")])
    assert all(isinstance(g.owner.op, BatchedDot) for g in grads)


# ----------------------------------------------------------------------------- diagonal
@pytest.mark.parametrize(
    ("shape", "offset", "axis1", "axis2"),
    [
        ((3, 3), 0, 0, 1),
        ((3, 4), 1, 0, 1),
        ((4, 3), -2, 0, 1),
        ((3, 2), 5, 0, 1),  # an empty diagonal
        ((2, 3, 4), 0, 0, 2),
        ((2, 3, 4), 1, 2, 1),
        ((2, 3, 4), -1, 1, 0),
    ],
)
def test_diagonal_grad_scatters_into_zeros(
    shape: tuple[int, ...], offset: int, axis1: int, axis2: int
) -> None:
    check(lambda x: T.diagonal(x, offset, axis1, axis2), data(shape, 8))


def test_diagonal_grad_places_g_on_the_diagonal_only() -> None:
    x, g = T.dmatrix("x"), T.dvector("g")
    out = T.diagonal(x, 1)
    (term,) = out.owner.op.grad(out.owner, [g])
    value = jitgraph.function([x, g], term)(np.zeros((3, 3)), np.array([1.0, 2.0]))
    np.testing.assert_array_equal(value, [[0, 1, 0], [0, 0, 2], [0, 0, 0]])


# ----------------------------------------------------------------------------- compositions
@pytest.mark.parametrize(
    ("function", "shapes"),
    [
        (T.outer, [(3,), (2,)]),
        (T.outer, [(2, 2), (3,)]),
        (lambda x: T.trace(x), [(3, 3)]),
        (lambda x: T.trace(x, 1, 1, 2), [(2, 3, 4)]),
    ],
)
def test_outer_and_trace_differentiate_through_their_parts(function: Any, shapes: Any) -> None:
    verify_grad(function, [data(s, i) for i, s in enumerate(shapes)], rng=np.random.RandomState(0))


@pytest.mark.parametrize(
    "function",
    [
        lambda v: T.sum(T.matmul(T.reshape(v, (2, 1, 2)), T.reshape(v, (2, 2))) ** 2),
        lambda v: T.sum(T.dot(T.reshape(v, (1, 2, 2)), T.reshape(v, (2, 2, 1))) ** 2),
        lambda v: T.sum(T.tensordot(T.reshape(v, (2, 2)), T.reshape(v, (2, 2)), [[1, 0], [0, 1]])),
        lambda v: T.sum(T.batched_dot(T.reshape(v, (2, 2)), T.reshape(v, (2, 2, 1))) ** 2),
        lambda v: T.sum(T.diagonal(T.outer(v, v), 1) ** 2),
    ],
)
def test_gradients_of_gradients(function: Any) -> None:
    x = np.array([0.5, -1.2, 2.0, 0.7])
    verify_grad(lambda v: jitgraph.grad(function(v), v), [x], rng=np.random.RandomState(0))


@pytest.mark.parametrize(
    ("function", "ranks"),
    [
        (T.dot, (3, 1)),
        (T.dot, (2, 2)),
        (T.matmul, (3, 2)),
        (T.matmul, (1, 3)),
        (lambda a, b: T.tensordot(a, b, [[0], [1]]), (2, 2)),
        (T.batched_dot, (3, 3)),
        (T.batched_dot, (2, 3)),
        (T.diagonal, (3,)),
    ],
)
def test_float32_gradients_stay_float32(function: Any, ranks: tuple[int, ...]) -> None:
    """The op's own terms are float32 (not only after the driver's cast)."""
    inputs = [T.tensor("float32", (None,) * r) for r in ranks]
    out = function(*inputs)
    for term in out.owner.op.grad(out.owner, [out.type("g")]):
        assert term.type.dtype == "float32"
