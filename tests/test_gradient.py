"""jitgraph.gradient: grad, Lop, Rop, jacobian, hessian, verify_grad (values and structure).

The error cases users see live in test_gradient_errors.py.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph import gradient
from jitgraph.gradient import (
    DISCONNECTED,
    GradientError,
    Lop,
    Rop,
    consider_constant,
    disconnected_grad,
    grad,
    hessian,
    jacobian,
    numeric_grad,
    verify_grad,
    zero_grad,
)
from jitgraph.ir.graph import graph_inputs, toposort

HAVE_VECTORIZE = importlib.util.find_spec("jitgraph.ir.vectorize") is not None


def evaluate(inputs, outputs, *values):
    return jitgraph.function(inputs, outputs, on_unused_input="ignore")(*values)


def finite_jacobian(func, point, eps=1e-6):
    """d func(point) / d point by central differences: shape func.shape + point.shape."""
    point = np.asarray(point, dtype=np.float64)
    base = np.asarray(func(point))
    result = np.zeros(base.shape + point.shape)
    for index in np.ndindex(*point.shape):
        step = np.zeros_like(point)
        step[index] = eps
        diff = (np.asarray(func(point + step)) - np.asarray(func(point - step))) / (2 * eps)
        result[(...,) + index] = diff
    return result


# ----------------------------------------------------------------------------- seed programs
def test_seed_s3_grad():
    x, y = T.dscalars("x", "y")
    z = (x + 2 * y) ** 2
    gy = T.grad(z, y)
    assert repr(jitgraph.function([x, y], gy)(1, 2)) == "array(20.)"
    assert float(evaluate([x, y], T.grad(z, x), 1, 2)) == 10.0


def test_seed_s3_gradient_descent_sequence():
    x = T.dvector("x")
    c = jitgraph.shared(0.0)
    y = T.sum((x - c) ** 2)
    gc = T.grad(y, c)
    d2 = jitgraph.function([x], y, updates={c: c - 0.05 * gc})
    seen = [(float(d2([1, 2, 3, 4, 5])), float(c.get_value())) for _ in range(3)]
    assert seen == [(55.0, 1.5), (21.25, 2.25), (12.8125, 2.625)]


def test_seed_s1_training():
    x = T.fvector("x")
    target = T.fscalar("target")
    W = jitgraph.shared(np.asarray([0.1, 0.25, 0.15, 0.3]), "W")
    y = (x * W).sum()
    cost = T.sqr(target - y)
    gradients = T.grad(cost, [W])
    assert isinstance(gradients, list) and gradients[0].dtype == "float64"
    f = jitgraph.function([x, target], y, updates=[(W, W - (0.1 * gradients[0]))])
    output = f([1.0, 1.0, 1.0, 1.0], 100.0)
    np.testing.assert_allclose(W.get_value(), [19.94, 20.09, 19.99, 20.14])
    np.testing.assert_allclose(output, 0.8)
    np.testing.assert_allclose(f([1.0, 1.0, 1.0, 1.0], 100.0), 80.16)
    np.testing.assert_allclose(W.get_value(), [23.908, 24.058, 23.958, 24.108])


# ----------------------------------------------------------------------------- values
CASES = {
    "polynomial": (lambda a: (3 * a**3 - 2 * a**2 + a - 7).sum(), lambda a: 9 * a**2 - 4 * a + 1),
    "exp": (lambda a: T.exp(a).sum(), np.exp),
    "log": (lambda a: T.log(a).sum(), lambda a: 1 / a),
    "mean": (lambda a: a.mean(), lambda a: np.full_like(a, 1 / a.size)),
    "product_rule": (lambda a: (a * T.sin(a)).sum(), lambda a: np.sin(a) + a * np.cos(a)),
    "quotient": (lambda a: (1 / (1 + a**2)).sum(), lambda a: -2 * a / (1 + a**2) ** 2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_grad_matches_analytic(name):
    build, derivative = CASES[name]
    a = T.dvector("a")
    point = np.array([0.5, 1.25, 2.0])
    np.testing.assert_allclose(evaluate([a], grad(build(a), a), point), derivative(point))


def test_grad_of_dot_chain():
    W, x = T.dmatrix("W"), T.dvector("x")
    cost = T.tanh(T.dot(W, x)).sum()
    w_value, x_value = np.arange(6.0).reshape(2, 3) / 10, np.array([1.0, -2.0, 0.5])
    gW, gx = evaluate([W, x], grad(cost, [W, x]), w_value, x_value)
    d = 1 - np.tanh(w_value @ x_value) ** 2
    np.testing.assert_allclose(gW, np.outer(d, x_value))
    np.testing.assert_allclose(gx, w_value.T @ d)


def test_variable_used_twice_sums_its_terms():
    x = T.dscalar("x")
    cost = x * x + T.exp(x) * x
    value = 0.7
    expected = 2 * value + np.exp(value) * (1 + value)
    np.testing.assert_allclose(evaluate([x], grad(cost, x), value), expected)


@settings()
@given(
    shape=st.sampled_from([(), (3,), (2, 3), (1, 4), (0, 2)]),
    seed=st.integers(0, 2**16),
)
def test_grad_matches_finite_differences(shape, seed):
    rng = np.random.default_rng(seed)
    a, b = T.tensor("float64", (None,) * len(shape), name="a"), T.dscalar("b")
    cost = (T.sin(a) * b + a**2 / (1 + b**2)).sum()
    point, scale = rng.uniform(-2, 2, shape), rng.uniform(0.5, 2)
    ga, gb = evaluate([a, b], grad(cost, [a, b]), point, scale)
    np.testing.assert_allclose(ga, np.cos(point) * scale + 2 * point / (1 + scale**2))
    numeric = finite_jacobian(lambda s: (np.sin(point) * s + point**2 / (1 + s**2)).sum(), scale)
    np.testing.assert_allclose(gb, numeric, rtol=1e-6, atol=1e-8)


def test_broadcast_input_gets_summed_gradient_of_its_shape():
    m, r = T.dmatrix("m"), T.drow("r")
    g = grad((m * r).sum(), r)
    assert g.type.ndim == 2
    value = evaluate([m, r], g, np.arange(6.0).reshape(2, 3), np.ones((1, 3)))
    np.testing.assert_allclose(value, [[3.0, 5.0, 7.0]])


# ----------------------------------------------------------------------------- wrt forms, dtypes
def test_result_mirrors_wrt():
    x, y = T.dscalars("x", "y")
    cost = x * y
    assert isinstance(grad(cost, x), jitgraph.Var)
    assert isinstance(grad(cost, [x, y]), list)
    as_tuple = grad(cost, (x, y))
    assert isinstance(as_tuple, tuple) and len(as_tuple) == 2
    assert evaluate([x, y], list(as_tuple), 2.0, 3.0) == [3.0, 2.0]


def test_shared_variable_gradient():
    w = jitgraph.shared(np.array([1.0, 2.0]), name="w")
    x = T.dvector("x")
    g = grad(((w * x) ** 2).sum(), w)
    np.testing.assert_allclose(evaluate([x], g, [3.0, 1.0]), 2 * np.array([1.0, 2.0]) * [9, 1])


def test_grad_of_cost_with_respect_to_itself_is_one():
    x = T.dscalar("x")
    cost = x * 2
    assert float(evaluate([x], grad(cost, cost), 1.0)) == 1.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient_has_the_dtype_of_float_inputs(dtype):
    x = T.vector("x", dtype=dtype)
    g = grad((x * 2.5).sum() + T.constant(1.0), x)  # the float64 constant upcasts the cost
    assert g.dtype == dtype
    assert evaluate([x], g, np.ones(2, dtype)).dtype == dtype


def test_integer_wrt_gets_float_zeros():
    i, x = T.ivector("i"), T.dvector("x")
    g = grad((i * x).sum(), i)
    assert g.dtype == jitgraph.config.floatX
    np.testing.assert_array_equal(evaluate([i, x], g, [1, 2], [3.0, 4.0]), [0.0, 0.0])


def test_integer_cost_has_zero_gradient():
    x = T.dvector("x")
    cost = T.cast(x, "int32").sum()
    g = grad(cost, x)
    np.testing.assert_array_equal(evaluate([x], g, [1.5, 2.5]), [0.0, 0.0])
    i = T.ivector("i")
    np.testing.assert_array_equal(evaluate([i], grad(i.sum(), i), [1, 2]), [0.0, 0.0])


def test_comparison_and_argmax_give_zero():
    x = T.dvector("x")
    cost = (x > 0).sum() + T.argmax(x) + x.sum()
    np.testing.assert_array_equal(evaluate([x], grad(cost, x), [1.0, -2.0]), [1.0, 1.0])


def test_add_names():
    x = T.dscalar("x")
    cost = x**2
    cost.name = "cost"
    assert grad(cost, x).name == "(dcost/dx)"
    other = T.exp(x)
    other.name = "other"
    assert grad(other, x, add_names=False).name is None


# ----------------------------------------------------------------------------- stopping gradients
def test_consider_constant_argument_stops_propagation():
    x = T.dscalar("x")
    y = x**2
    cost = y * x
    np.testing.assert_allclose(evaluate([x], grad(cost, x), 3.0), 27.0)
    np.testing.assert_allclose(evaluate([x], grad(cost, x, consider_constant=[y]), 3.0), 9.0)


def test_consider_constant_keeps_gradient_of_the_constant_itself():
    x = T.dscalar("x")
    y = x**2
    cost = 3 * y
    gy = grad(cost, y, consider_constant=[y])
    assert float(evaluate([x], gy, 2.0)) == 3.0


@pytest.mark.parametrize("stop", [consider_constant, zero_grad, disconnected_grad])
def test_stop_ops_are_identity_forward_and_block_backward(stop):
    x = T.dvector("x")
    held = stop(x)
    np.testing.assert_array_equal(evaluate([x], held, [1.0, 2.0]), [1.0, 2.0])
    g = grad((held * x).sum(), x)
    np.testing.assert_array_equal(evaluate([x], g, [1.0, 2.0]), [1.0, 2.0])


def test_zero_grad_is_connected_and_disconnected_grad_is_not():
    x = T.dscalar("x")
    assert float(evaluate([x], grad(zero_grad(x), x), 1.0)) == 0.0
    assert (
        grad(
            disconnected_grad(x) * 2,
            x,
            disconnected_inputs="ignore",
            return_disconnected="Disconnected",
        )
        is DISCONNECTED
    )


# ----------------------------------------------------------------------------- known_grads
def test_known_grads_without_cost():
    x = T.dvector("x")
    y = T.exp(x)
    seed = T.dvector("seed")
    g = grad(None, x, known_grads={y: seed})
    np.testing.assert_allclose(evaluate([x, seed], g, [0.0, 1.0], [2.0, 3.0]), [2.0, 3 * np.e])


def test_known_grads_override_what_the_cost_would_give():
    x = T.dscalar("x")
    y = x * 3
    cost = y**2
    g = grad(cost, x, known_grads={y: T.constant(1.0)})
    assert float(evaluate([x], g, 5.0)) == 3.0


def test_known_grads_on_wrt_is_returned():
    x = T.dscalar("x")
    seed = T.dscalar("s")
    g = grad(None, x, known_grads={x: seed})
    assert g is seed


# ----------------------------------------------------------------------------- second order
def test_grad_of_grad():
    x = T.dscalar("x")
    first = grad(x**4, x)
    second = grad(first, x)
    assert float(evaluate([x], second, 2.0)) == 48.0


# ----------------------------------------------------------------------------- Lop and Rop
def _lop_rop_setup():
    W, x = T.dmatrix("W"), T.dvector("x")
    f = T.tanh(T.dot(W, x)) * x[:2] ** 2
    values = (np.arange(6.0).reshape(2, 3) / 7 - 0.3, np.array([0.5, -1.0, 2.0]))
    return W, x, f, values


def test_lop_is_vector_times_jacobian():
    W, x, f, (w_value, x_value) = _lop_rop_setup()
    v = T.dvector("v")
    lop = evaluate([W, x, v], Lop(f, x, v), w_value, x_value, [1.5, -0.5])

    def forward(point):
        return np.tanh(w_value @ point) * point[:2] ** 2

    numeric = np.array([1.5, -0.5]) @ finite_jacobian(forward, x_value)
    np.testing.assert_allclose(lop, numeric, rtol=1e-6)


def test_lop_of_outputs_depending_on_each_other_adds_up():
    x, u0, u1 = T.dvector("x"), T.dvector("u0"), T.dvector("u1")
    y = x**2
    both = Lop([y, x], x, [u0, u1])
    value = evaluate([x, u0, u1], both, [1.0, 3.0], [1.0, 2.0], [10.0, 10.0])
    np.testing.assert_allclose(value, [12.0, 22.0])


def test_rop_is_jacobian_times_vector():
    W, x, f, (w_value, x_value) = _lop_rop_setup()
    v = T.dvector("v")
    rop = evaluate([W, x, v], Rop(f, x, v), w_value, x_value, [1.0, 2.0, -1.0])

    def forward(point):
        return np.tanh(w_value @ point) * point[:2] ** 2

    numeric = finite_jacobian(forward, x_value) @ np.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(rop, numeric, rtol=1e-6)


def test_rop_over_several_wrt_and_outputs():
    W, x, f, (w_value, x_value) = _lop_rop_setup()
    vw, vx = T.dmatrix("vw"), T.dvector("vx")
    g = (W**2).sum(axis=1)
    rop_f, rop_g = Rop([f, g], [W, x], [vw, vx])
    dw, dx = np.ones((2, 3)) * 0.1, np.array([0.2, 0.0, -0.3])
    got = evaluate([W, x, vw, vx], [rop_f, rop_g], w_value, x_value, dw, dx)
    eps = 1e-6

    def forward(scale):
        w, p = w_value + scale * dw, x_value + scale * dx
        return np.concatenate([np.tanh(w @ p) * p[:2] ** 2, (w**2).sum(axis=1)])

    numeric = (forward(eps) - forward(-eps)) / (2 * eps)
    np.testing.assert_allclose(np.concatenate(got), numeric, rtol=1e-6, atol=1e-9)


def test_rop_leaves_no_seed_in_the_graph():
    _, x, f, _ = _lop_rop_setup()
    result = Rop(f, x, T.dvector("v"))
    assert not any((v.name or "").startswith("rop_seed") for v in graph_inputs([result]))


def test_rop_same_output_twice_and_output_is_wrt():
    x, v = T.dvector("x"), T.dvector("v")
    y = x**2
    first, second, itself = Rop([y, y, x], x, v)
    values = evaluate([x, v], [first, second, itself], [1.0, 3.0], [1.0, 1.0])
    np.testing.assert_allclose(values[0], [2.0, 6.0])
    np.testing.assert_allclose(values[1], [2.0, 6.0])
    np.testing.assert_allclose(values[2], [1.0, 1.0])


def test_rop_of_a_matrix_output_wrt_shared():
    w = jitgraph.shared(np.array([[1.0, 2.0], [3.0, 4.0]]), name="w")
    v = T.dmatrix("v")
    result = evaluate([v], Rop(T.dot(w, w), w, v), np.eye(2))
    np.testing.assert_allclose(result, 2 * np.array([[1.0, 2.0], [3.0, 4.0]]))


def test_rop_and_lop_agree_with_the_jacobian():
    W, x, f, (w_value, x_value) = _lop_rop_setup()
    u, v = T.dvector("u"), T.dvector("v")
    J, lop, rop = evaluate(
        [W, x, u, v],
        [jacobian(f, x), Lop(f, x, u), Rop(f, x, v)],
        w_value,
        x_value,
        [2.0, -1.0],
        [0.3, 0.2, 0.1],
    )
    np.testing.assert_allclose(rop, J @ [0.3, 0.2, 0.1])
    np.testing.assert_allclose(lop, np.array([2.0, -1.0]) @ J)


# ----------------------------------------------------------------------------- jacobian, hessian
def test_jacobian_vs_finite_differences():
    x = T.dvector("x")
    f = T.exp(x) * x.sum() + x[::-1]
    point = np.array([0.1, -0.4, 0.9])
    J = evaluate([x], jacobian(f, x), point)
    numeric = finite_jacobian(lambda p: np.exp(p) * p.sum() + p[::-1], point)
    np.testing.assert_allclose(J, numeric, rtol=1e-6, atol=1e-9)


def test_jacobian_shapes_for_matrices_and_lists():
    A, x = T.dmatrix("A"), T.dvector("x")
    f = T.dot(A, x) ** 2  # (2,)
    jA, jx = jacobian(f, [A, x])
    a_value, x_value = np.arange(6.0).reshape(2, 3), np.array([1.0, 0.0, -1.0])
    jA_value, jx_value = evaluate([A, x], [jA, jx], a_value, x_value)
    assert jA_value.shape == (2, 2, 3) and jx_value.shape == (2, 3)
    numeric = finite_jacobian(lambda p: (p @ x_value) ** 2, a_value)
    np.testing.assert_allclose(jA_value, numeric, rtol=1e-6, atol=1e-8)
    M = evaluate([A], jacobian(A**2, A), a_value)  # a matrix expression: shape (2, 3, 2, 3)
    np.testing.assert_allclose(M, finite_jacobian(lambda p: p**2, a_value), atol=1e-6)


def test_jacobian_is_one_graph_whatever_the_size():
    def node_count(size):
        x = T.tensor("float64", (size,), name="x")
        return len(toposort([jacobian(T.tanh(x) * x.sum(), x)]))

    assert node_count(3) == node_count(40)


def test_jacobian_of_scalar_is_grad_and_disconnected_is_zero():
    x, y = T.dvector("x"), T.dvector("y")
    np.testing.assert_allclose(evaluate([x], jacobian((x**2).sum(), x), [1.0, 2.0]), [2.0, 4.0])
    J = jacobian(x * 2, y, disconnected_inputs="ignore")
    np.testing.assert_array_equal(
        evaluate([x, y], J, [1.0, 2.0], [0.0, 0.0, 0.0]), np.zeros((2, 3))
    )


def test_hessian_values():
    x, y = T.dvector("x"), T.dscalar("y")
    cost = (x**3).sum() * y + (x[0] * x[1])
    H = evaluate([x, y], hessian(cost, x), [1.0, 2.0], 2.0)
    np.testing.assert_allclose(H, [[12.0, 1.0], [1.0, 24.0]])
    Hx, Hy = evaluate([x, y], hessian(cost, [x, y]), [1.0, 2.0], 2.0)
    np.testing.assert_allclose(Hx, [[12.0, 1.0], [1.0, 24.0]])
    assert float(Hy) == 0.0


def test_hessian_of_a_linear_cost_is_zero():
    x = T.dvector("x")
    np.testing.assert_array_equal(
        evaluate([x], hessian((2 * x).sum(), x), [1.0, 2.0]), np.zeros((2, 2))
    )


# ----------------------------------------------------------------------------- verify_grad
def test_verify_grad_accepts_correct_gradients():
    rng = np.random.RandomState(0)
    verify_grad(lambda a, b: T.dot(a, b) * T.exp(b).sum(), [rng.rand(2, 3), rng.rand(3)], rng=rng)
    verify_grad(lambda a: T.tanh(a), [rng.rand(3).astype("float32")], rng=rng)
    verify_grad(lambda a: a.sum() * 2, [np.array(1.5)], rng=np.random.default_rng(0))


def test_verify_grad_reports_the_worst_element():
    rng = np.random.RandomState(0)
    mask = np.array([0.0, 0.0, 1.0])

    def fun(a):  # forward a**2; the gradient wrongly ignores the last element
        return zero_grad(a**2) * mask + a**2 * (1 - mask)

    with pytest.raises(GradientError) as info:
        verify_grad(fun, [np.array([1.0, 2.0, 3.0])], rng=rng)
    error = info.value
    assert (error.arg, error.err_pos, error.shape) == (0, 2, (3,))
    assert error.val1 == 0.0 and error.val2 > 1.0
    assert "disagree at element (2,) of input 0 (shape (3,))" in str(error)


def test_numeric_grad_helper():
    g = numeric_grad(lambda a, b: (a * b).sum(), [np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    np.testing.assert_allclose(g.gf[0], [3.0, 4.0])
    np.testing.assert_allclose(g.gf[1], [1.0, 2.0])
    abs_err, rel_err = numeric_grad.abs_rel_err(np.array([1.0, np.inf]), np.array([1.5, np.inf]))
    np.testing.assert_allclose(abs_err, [0.5, 0.0])
    np.testing.assert_allclose(rel_err, [0.2, 0.0])


def test_module_exports():
    assert jitgraph.grad is grad and T.grad is grad
    assert T.Lop is Lop and T.Rop is Rop and T.jacobian is jacobian and T.hessian is hessian
    assert jitgraph.gradient is gradient
