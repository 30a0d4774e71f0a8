"""Gradients of the reductions and the ops along an axis (jitgraph/ops/reduce.py):
``Reduce`` (sum, prod, max, min, all, any), ``Argmax``/``Argmin``, ``CumOp``, ``Sort``,
``Argsort``, ``SumTo``, and the front-end compositions (mean, var, std, norm, logsumexp).

Each op's ``grad`` is called on its node with a symbolic output gradient ``g``; the
compiled result is compared with central finite differences of ``sum(out * g)``, and
the same check runs through the driver with ``jitgraph.gradient.verify_grad``
(``check_op_grad``). Theano's conventions are checked against closed forms: all ties of
max receive the gradient, prod's gradient at zeros is the product of the others, argmax
and argsort give zeros.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
from jitgraph.ops.reduce import SumTo
from jitgraph.testing import assert_infer_shape


# ----------------------------------------------------------------------------- helpers
def symbolic(value: np.ndarray, name: str) -> Var:
    return T.tensor(value.dtype.name, shape=(None,) * value.ndim, name=name)


def op_grads(build: Callable[..., Any], values: Sequence[np.ndarray], g_values: Any = None):
    """The node built by ``build`` from symbolic inputs, its output values, the output
    gradients used, and the compiled gradient terms w.r.t. the inputs (None where the op
    says DISCONNECTED)."""
    variables = [symbolic(v, f"x{i}") for i, v in enumerate(values)]
    result = build(*variables)
    outputs = list(result) if isinstance(result, (list, tuple)) else [result]
    node = outputs[0].owner
    out_values = jitgraph.function(variables, outputs)(*values)
    rng = np.random.default_rng(0)
    if g_values is None:
        g_values = [rng.standard_normal(np.shape(v)) for v in out_values]
    grads = [
        T.tensor("float64", shape=(None,) * o.type.ndim, name=f"g{i}")
        for i, o in enumerate(outputs)
    ]
    terms = node.op.grad(node, grads)
    wanted = [terms[node.inputs.index(v)] for v in variables]
    connected = [t for t in wanted if t is not DISCONNECTED]
    computed = iter(
        jitgraph.function(variables + grads, connected, on_unused_input="ignore")(
            *values, *g_values
        )
    )
    return out_values, g_values, [None if t is DISCONNECTED else next(computed) for t in wanted]


def numeric_grads(
    build: Callable[..., Any], values: Sequence[np.ndarray], g_values: Sequence[np.ndarray]
) -> list[np.ndarray]:
    """Central differences of ``sum(out * g)`` w.r.t. every element of every input."""
    variables = [symbolic(v, f"x{i}") for i, v in enumerate(values)]
    result = build(*variables)
    outputs = list(result) if isinstance(result, (list, tuple)) else [result]
    forward = jitgraph.function(variables, outputs)

    def cost(point: list[np.ndarray]) -> float:
        return sum(float(np.sum(o * g)) for o, g in zip(forward(*point), g_values))

    eps = 1e-6
    grads = []
    for position, value in enumerate(values):
        grad = np.zeros(value.shape)
        for index in np.ndindex(value.shape):
            point = [v.copy() for v in values]
            point[position][index] += eps
            up = cost(point)
            point[position][index] -= 2 * eps
            grad[index] = (up - cost(point)) / (2 * eps)
        grads.append(grad)
    return grads


def check_op_grad(build: Callable[..., Any], *values: np.ndarray, tol: float = 1e-6) -> None:
    """The op's gradient agrees with finite differences and has each input's shape, both
    called directly on the node and through the driver (``verify_grad``)."""
    verify_grad(build, list(values), rng=np.random.RandomState(0), abs_tol=tol, rel_tol=tol)
    _, g_values, analytic = op_grads(build, values)
    numeric = numeric_grads(build, values, g_values)
    for got, expected, value in zip(analytic, numeric, values):
        assert got is not None
        assert got.shape == value.shape
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def lane_data(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Distinct values (no ties, so max and sort are differentiable), away from zero."""
    rng = np.random.default_rng(seed)
    values = rng.permutation(np.arange(1, int(np.prod(shape)) + 1)).reshape(shape)
    return (values * 0.37 + rng.uniform(0, 0.1, shape)) * rng.choice([-1, 1], shape)


shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)


@st.composite
def shape_and_axis(draw: Any) -> tuple[tuple[int, ...], Any]:
    shape = draw(shapes)
    axes = draw(
        st.lists(st.integers(-len(shape), len(shape) - 1), unique_by=lambda a: a % len(shape))
    )
    axis = draw(st.sampled_from([None, tuple(axes)] + ([axes[0]] if axes else [])))
    return shape, axis


# ----------------------------------------------------------------------------- Reduce
@pytest.mark.parametrize("kind", ["sum", "prod", "max", "min"])
@given(shape_axis=shape_and_axis(), keepdims=st.booleans())
@settings()
def test_reduce_grad_matches_finite_differences(kind: str, shape_axis: Any, keepdims: bool) -> None:
    shape, axis = shape_axis
    reduce = getattr(T, kind)
    check_op_grad(lambda x: reduce(x, axis=axis, keepdims=keepdims), lane_data(shape))


def test_sum_grad_broadcasts_g_over_the_reduced_axes() -> None:
    x = np.arange(6.0).reshape(2, 3)
    _, (g,), (grad,) = op_grads(lambda v: T.sum(v, axis=1), [x])
    np.testing.assert_array_equal(grad, np.repeat(g[:, None], 3, axis=1))


def test_max_ties_all_receive_the_gradient_as_in_theano() -> None:
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [np.nan, 1.0, 0.0]])
    g = np.array([10.0, 20.0, 30.0])
    _, _, (grad,) = op_grads(lambda v: T.max(v, axis=1), [x], [g])
    expected = np.array([[0.0, 10.0, 10.0], [20.0, 20.0, 20.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(grad, expected)


def test_min_ties_with_keepdims() -> None:
    x = np.array([[1.0, 1.0], [0.0, 5.0]])
    g = np.array([[2.0, 3.0]])
    _, _, (grad,) = op_grads(lambda v: T.min(v, axis=0, keepdims=True), [x], [g])
    np.testing.assert_array_equal(grad, [[0.0, 3.0], [2.0, 0.0]])


def product_of_others(x: np.ndarray, axis: int) -> np.ndarray:
    """d prod / d x by brute force: the product of the lane without each element."""
    out = np.empty_like(x)
    for index in np.ndindex(x.shape):
        lane = list(index)
        lane[axis] = slice(None)
        values = np.delete(x[tuple(lane)], index[axis])
        out[index] = np.prod(values)
    return out


@given(
    x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=4),
                 elements=st.sampled_from([0.0, 0.0, 1.5, -2.0, 0.5, 3.0])),
    axis=st.sampled_from([0, 1]),
)  # fmt: skip
@settings()
def test_prod_grad_with_zeros_is_the_product_of_the_others(x: np.ndarray, axis: int) -> None:
    g = np.ones(np.delete(x.shape, axis))
    _, _, (grad,) = op_grads(lambda v: T.prod(v, axis=axis), [x], [g])
    np.testing.assert_allclose(grad, product_of_others(x, axis), rtol=1e-12)
    assert np.isfinite(grad).all()


def test_prod_grad_zeros_finite_differences() -> None:
    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]])
    check_op_grad(lambda v: T.prod(v, axis=1), x)
    check_op_grad(lambda v: T.prod(v), x)


@pytest.mark.parametrize("kind", ["sum", "prod"])
def test_reduce_with_dtype_gives_gradient_in_input_dtype(kind: str) -> None:
    x = T.fmatrix("x")
    for options in ({"dtype": "float64"}, {"acc_dtype": "float64"}):
        out = getattr(T, kind)(x, axis=0, **options)
        g = out.type("g")
        (term,) = out.owner.op.grad(out.owner, [g])
        assert term.type.dtype == "float32"
        values = np.arange(1.0, 7.0, dtype="float32").reshape(2, 3)
        got = jitgraph.function([x, g], term)(values, np.ones(3, out.type.dtype))
        expected = np.ones((2, 3)) if kind == "sum" else values[::-1]
        np.testing.assert_allclose(got, expected)


@pytest.mark.parametrize("kind", ["all", "any"])
def test_all_any_gradient_is_zero_as_in_theano(kind: str) -> None:
    x = T.dmatrix("x")
    out = getattr(T, kind)(x, axis=1)
    (term,) = out.owner.op.grad(out.owner, [T.dvector("g")])
    assert term.type.dtype == "float64"
    value = jitgraph.function([x], term)(np.ones((2, 3)))
    np.testing.assert_array_equal(value, np.zeros((2, 3)))


# ----------------------------------------------------------------------------- arg reductions
@pytest.mark.parametrize("function", [T.argmax, T.argmin, T.argsort])
def test_index_outputs_have_zero_gradient(function: Any) -> None:
    x = T.fmatrix("x")
    out = function(x, axis=0)
    (term,) = out.owner.op.grad(out.owner, [T.dmatrix("g")[0] if out.ndim == 1 else T.dmatrix("g")])
    assert term.type.dtype == "float32"
    value = jitgraph.function([x], term, on_unused_input="ignore")(np.ones((2, 3), "float32"))
    np.testing.assert_array_equal(value, np.zeros((2, 3)))


def test_argmax_of_integers_gives_a_floatx_zero_gradient() -> None:
    x = T.imatrix("x")
    out = T.argmax(x, axis=1)
    (term,) = out.owner.op.grad(out.owner, [T.dvector("g")])
    assert term.type.dtype == jitgraph.config.floatX


# ----------------------------------------------------------------------------- along an axis
@given(shape=shapes, data=st.data())
@settings()
def test_cumsum_and_sort_grads(shape: tuple[int, ...], data: Any) -> None:
    axis = data.draw(st.sampled_from([None, *range(-len(shape), len(shape))]))
    x = lane_data(shape, seed=1)
    check_op_grad(lambda v: T.cumsum(v, axis=axis), x)
    check_op_grad(lambda v: T.sort(v, axis=axis), x)


@given(shape=shapes, data=st.data())
@settings()
def test_cumprod_grad_for_nonzero_inputs(shape: tuple[int, ...], data: Any) -> None:
    axis = data.draw(st.sampled_from([None, *range(len(shape))]))
    x = lane_data(shape, seed=2) / 4.0
    check_op_grad(lambda v: T.cumprod(v, axis=axis), x, tol=1e-5)


def test_cumsum_grad_is_the_reversed_cumsum() -> None:
    _, _, (grad,) = op_grads(lambda v: T.cumsum(v), [np.zeros(4)], [np.array([1.0, 2, 3, 4])])
    np.testing.assert_array_equal(grad, [10.0, 9.0, 7.0, 4.0])


def test_sort_grad_scatters_back_to_the_original_positions() -> None:
    x = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, -1.0]])
    g = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])
    _, _, (grad,) = op_grads(lambda v: T.sort(v, axis=1), [x], [g])
    np.testing.assert_array_equal(grad, [[30.0, 10.0, 20.0], [50.0, 60.0, 40.0]])


def test_sort_grad_with_ties_conserves_the_gradient() -> None:
    x = np.array([2.0, 1.0, 2.0, 1.0])
    g = np.array([1.0, 2.0, 3.0, 4.0])
    _, _, (grad,) = op_grads(lambda v: T.sort(v, kind="stable"), [x], [g])
    np.testing.assert_array_equal(grad, [3.0, 1.0, 4.0, 2.0])


# ----------------------------------------------------------------------------- SumTo
@pytest.mark.parametrize(
    ("value_shape", "target"),
    [((2, 3), (2, 3)), ((4, 2, 3), (1, 3)), ((2, 3), (2, 1)), ((5, 2, 3), (3,)), ((2, 3), ())],
)
def test_sum_to_values_shapes_and_grad(
    value_shape: tuple[int, ...], target: tuple[int, ...]
) -> None:
    x = np.arange(float(np.prod(value_shape))).reshape(value_shape)
    v = symbolic(x, "v")
    out = SumTo()(v, *target)
    got = jitgraph.function([v], out)(x)
    lead = x.ndim - len(target)
    expected = x.sum(axis=tuple(range(lead)))
    ones = tuple(a for a, n in enumerate(target) if n == 1 and expected.shape[a] != 1)
    expected = expected.sum(axis=ones, keepdims=True)
    np.testing.assert_array_equal(got, expected)
    assert out.type.shape == target
    assert_infer_shape(out, [v], [x])
    check_op_grad(lambda w: SumTo()(w, *target), x)


def test_sum_to_rejects_a_shape_it_was_not_broadcast_from() -> None:
    v = T.dmatrix("v")
    f = jitgraph.function([v], SumTo()(v, 2, 2))
    with pytest.raises(ValueError, match=r"shape \(2, 3\) was not broadcast from shape \(2, 2\)"):
        f(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="cannot sum .* a 2-d tensor, to 3 dims"):
        SumTo()(v, 1, 2, 3)


# ----------------------------------------------------------------------------- compositions
def driver_grad_check(
    function: Callable[[Var], Var], x: np.ndarray, tol: float = 1e-6
) -> np.ndarray:
    """jitgraph.grad of sum(function(x) * g) against finite differences; returns it."""
    v = symbolic(x, "x")
    out = function(v)
    g = np.random.default_rng(3).standard_normal(jitgraph.function([v], out)(x).shape)
    cost = T.sum(out * g)
    got = jitgraph.function([v], jitgraph.grad(cost, v))(x)
    expected = numeric_grads(function, [x], [g])[0]
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
    return got


@pytest.mark.parametrize(
    "function",
    [
        lambda v: T.mean(v, axis=1),
        lambda v: T.var(v, axis=0, ddof=1),
        lambda v: T.var(v, axis=None, corrected=True),
        lambda v: T.std(v, axis=1, keepdims=True),
        lambda v: T.norm(v, 2, axis=0),
        lambda v: T.norm(v, 1, axis=1),
        lambda v: T.norm(v, 3),
        lambda v: T.norm(v, np.inf, axis=1),
        lambda v: T.logsumexp(v, axis=1),
        lambda v: T.logsumexp(v, axis=None, keepdims=True),
    ],
)
def test_front_end_compositions_differentiate_through_their_parts(function: Any) -> None:
    driver_grad_check(function, lane_data((3, 4), seed=4))


@pytest.mark.parametrize(("dtype", "scale"), [("float64", 1e3), ("float32", 80.0)])
def test_logsumexp_gradient_is_a_stable_softmax(dtype: str, scale: float) -> None:
    x = np.array([[-1.0, 0.0, 1.0], [1.0, 1.0, -1.0]], dtype=dtype) * scale
    v = T.tensor(dtype, shape=(None, None), name="x")
    got = jitgraph.function([v], jitgraph.grad(T.sum(T.logsumexp(v, axis=1)), v))(x)
    shifted = np.exp(x.astype("float64") - x.max(axis=1, keepdims=True))
    expected = shifted / shifted.sum(axis=1, keepdims=True)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, atol=1e-6 if dtype == "float64" else 1e-4)


# ----------------------------------------------------------------------------- second order
@pytest.mark.parametrize(
    "function",
    [
        lambda v: T.prod(v),
        lambda v: T.max(v) ** 2,
        lambda v: T.sum(T.sort(v) * T.arange(4.0) ** 2),
        lambda v: T.sum(T.cumprod(v)),
        lambda v: T.sum(T.cumsum(v) ** 2),
        lambda v: T.logsumexp(v),
        lambda v: T.std(v, ddof=1),
        lambda v: T.sum(SumTo()(T.alloc(v, 3, 4), 1, 4) ** 3),
    ],
)
def test_gradients_of_gradients(function: Any) -> None:
    x = np.array([0.5, -1.2, 2.0, 0.7])
    verify_grad(lambda v: jitgraph.grad(function(v), v), [x], rng=np.random.RandomState(0))


@pytest.mark.parametrize(
    "function",
    [
        lambda v: T.sum(v, axis=0),
        lambda v: T.prod(v, axis=1, keepdims=True),
        lambda v: T.max(v),
        lambda v: T.cumsum(v, axis=0),
        lambda v: T.cumprod(v),
        lambda v: T.sort(v, axis=None),
        lambda v: SumTo()(v, 1, 3),
    ],
)
def test_float32_gradients_stay_float32(function: Any) -> None:
    x = T.fmatrix("x")
    out = function(x)
    terms = out.owner.op.grad(out.owner, [out.type("g")])
    assert terms[0].type.dtype == "float32"
    value = np.arange(1.0, 7.0, dtype="float32").reshape(2, 3)
    g = jitgraph.function([x], jitgraph.grad(T.sum(out * out), x))(value)
    assert g.dtype == np.float32
