"""``jitgraph.grad(fn)`` / ``jitgraph.value_and_grad(fn)`` of Python functions, against
central finite differences; composition with ``jit``; the errors users see."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose

import jitgraph
import jitgraph.numpy as jnp
import jitgraph.tensor as T


def numeric_grad(fn, x, eps=1e-6):
    """Central differences of the scalar ``fn`` at the float64 array ``x``."""
    x = np.array(x, dtype=np.float64)
    out = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        out[index] = (float(fn(x + step)) - float(fn(x - step))) / (2 * eps)
    return out


def loss(w):
    return jnp.sum(jnp.tanh(w) * w + jnp.exp(-w * w))


def loss_numpy(w):
    return np.sum(np.tanh(w) * w + np.exp(-w * w))


_GRAD_LOSS = jitgraph.grad(loss)


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4), elements=st.floats(-2, 2)))
def test_grad_matches_finite_differences(w):
    assert_allclose(_GRAD_LOSS(w), numeric_grad(loss_numpy, w), rtol=1e-5, atol=1e-7)
    assert _GRAD_LOSS.cache_info()["traces"] <= 2**2 + 2  # per rank and pattern, not size


def test_value_and_grad():
    w = np.array([0.3, -1.2, 2.0])
    value, gradient = jitgraph.value_and_grad(loss)(w)
    assert_allclose(value, loss_numpy(w))
    assert value.shape == ()
    assert_allclose(gradient, numeric_grad(loss_numpy, w), rtol=1e-6)


def test_argnums_tuple_and_python_scalars():
    def f(x, y, z):
        return jnp.sum(x * y * y) + z

    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    gx, gy = jitgraph.grad(f, argnums=(0, 1))(x, y, 5.0)
    assert_allclose(gx, y * y)
    assert_allclose(gy, 2 * x * y)
    assert_allclose(jitgraph.grad(f, 2)(x, y, 5.0), 1.0)  # grad(fn, 1) means argnums=1
    assert_allclose(jitgraph.grad(lambda s: s * s * s)(2.0), 12.0)


def test_tree_arguments_give_tree_gradients():
    def f(params, x):
        return jnp.sum((params["w"] * x + params["b"]) ** 2)

    params = {"w": np.array([1.0, 2.0]), "b": np.array(0.5)}
    x = np.array([3.0, -1.0])
    g = jitgraph.grad(f)(params, x)
    residual = params["w"] * x + params["b"]
    assert set(g) == {"w", "b"}
    assert_allclose(g["w"], 2 * residual * x)
    assert_allclose(g["b"], np.sum(2 * residual))


def test_has_aux():
    def f(x):
        y = x * x
        return jnp.sum(y), {"y": y}

    x = np.array([1.0, 3.0])
    gradient, aux = jitgraph.grad(f, has_aux=True)(x)
    assert_allclose(gradient, 2 * x)
    assert_allclose(aux["y"], x * x)
    (value, aux2), gradient2 = jitgraph.value_and_grad(f, has_aux=True)(x)
    assert_allclose(value, 10.0)
    assert_allclose(gradient2, 2 * x)
    assert_allclose(aux2["y"], x * x)


def test_jit_of_grad_traces_through():
    g = jitgraph.grad(loss)
    f = jitgraph.jit(g)
    w = np.array([0.5, -0.25])
    assert_allclose(f(w), numeric_grad(loss_numpy, w), rtol=1e-6)
    assert g.cache_info()["traces"] == 0  # jit traced through grad: grad compiled nothing
    step = jitgraph.jit(lambda w, lr: w - lr * jitgraph.grad(loss)(w))
    assert_allclose(step(w, 0.1), w - 0.1 * numeric_grad(loss_numpy, w), rtol=1e-6)


def test_grad_of_jit_and_second_derivative():
    cube = jitgraph.jit(lambda x: x * x * x)
    assert_allclose(jitgraph.grad(cube)(2.0), 12.0)
    second = jitgraph.grad(jitgraph.grad(lambda x: x * x * x))
    assert_allclose(second(2.0), 12.0)


def test_disconnected_argument_has_zero_gradient():
    g = jitgraph.grad(lambda x, y: jnp.sum(x * 2), argnums=1)(np.ones(2), np.ones(3))
    assert_allclose(g, np.zeros(3))


def test_non_scalar_output_is_an_error():
    with pytest.raises(TypeError, match=r"scalar-output functions; the output has shape \(\?,\)"):
        jitgraph.grad(lambda x: x * 2)(np.ones(3))


def test_integer_inputs_are_an_error():
    with pytest.raises(
        TypeError,
        match="requires real-valued floating-point inputs, but argument 0 has dtype int64",
    ):
        jitgraph.grad(lambda x: jnp.sum(x * 2))(np.arange(3))
    with pytest.raises(TypeError, match="argument 0 has dtype int64"):
        jitgraph.grad(lambda x: x * 2.0)(3)


def test_integer_output_is_an_error():
    with pytest.raises(TypeError, match="requires a real floating-point output, got dtype"):
        jitgraph.grad(lambda x: jnp.sum(x > 0))(np.ones(2))


def test_has_aux_needs_a_pair():
    with pytest.raises(TypeError, match=r"has_aux=True needs the function to return a pair"):
        jitgraph.grad(lambda x: x * x, has_aux=True)(1.0)


def test_symbolic_grad_still_works():
    x = T.dscalar("x")
    assert float(jitgraph.function([x], jitgraph.grad(x**2, x))(3.0)) == 6.0
    with pytest.raises(TypeError, match="missing the argument 'wrt'"):
        jitgraph.grad(x**2)
