"""Gradients through jitgraph.scan (back-propagation through time) against central finite
differences of NumPy loops, in the REFERENCE and the default FAST_RUN mode.

Each test compiles one function returning all the symbolic gradients it checks; the
finite differences run on the NumPy loop (cheap at these sizes). ``truncate_gradient=k``
follows Theano: the backward loop runs over the last k steps only, so earlier steps
contribute nothing (neither their sequence elements nor the initial state get gradient).
"""

from __future__ import annotations

import numpy as np
import pytest

import jitgraph
import jitgraph.tensor as T
from jitgraph.gradient_check import verify_grad

MODES = [pytest.param("REFERENCE", id="REFERENCE"), pytest.param(None, id="FAST_RUN")]
RNG = np.random.default_rng(7)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str | None:
    return request.param


def gradients(cost, wrt, inputs, mode):
    return jitgraph.function(inputs, T.grad(cost, wrt), mode=mode, on_unused_input="ignore")


def finite_differences(loss, values, eps=1e-6):
    """d loss(*values) / d values[i] for every i, by central differences."""
    result = []
    for i, value in enumerate(values):
        grad = np.zeros_like(value, dtype=np.float64)
        for index in np.ndindex(*np.shape(value)):
            plus = [np.array(v, dtype=np.float64) for v in values]
            minus = [np.array(v, dtype=np.float64) for v in values]
            plus[i][index] += eps
            minus[i][index] -= eps
            grad[index] = (loss(*plus) - loss(*minus)) / (2 * eps)
        result.append(grad)
    return result


def assert_gradients_close(got, expected, rtol=1e-5, atol=1e-7):
    assert len(got) == len(expected)
    for position, (g, e) in enumerate(zip(got, expected, strict=True)):
        g = np.asarray(g)
        assert g.shape == np.shape(e), (position, g.shape, np.shape(e))
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=f"gradient {position}")


# ============================================================================ the RNN
def numpy_rnn(W, U, h0, Y, go_backwards=False):
    h, history = h0, []
    for y_t in Y[::-1] if go_backwards else Y:
        h = np.tanh(h @ W + y_t @ U)
        history.append(h)
    return np.array(history)


def rnn_values(steps=4, hidden=3, inputs=2):
    W = RNG.normal(size=(hidden, hidden)) * 0.6
    U = RNG.normal(size=(inputs, hidden))
    return W, U, RNG.normal(size=hidden), RNG.normal(size=(steps, inputs))


def rnn_graph(go_backwards=False, truncate_gradient=-1):
    W, U, h0, Y = T.dmatrix("W"), T.dmatrix("U"), T.dvector("h0"), T.dmatrix("Y")
    hidden, _ = jitgraph.scan(
        lambda y_t, h_tm1, weights, input_weights: T.tanh(
            T.dot(h_tm1, weights) + T.dot(y_t, input_weights)
        ),
        sequences=Y,
        outputs_info=h0,
        non_sequences=[W, U],
        go_backwards=go_backwards,
        truncate_gradient=truncate_gradient,
    )
    return [W, U, h0, Y], hidden


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
def test_rnn_loss_wrt_weights_initial_state_and_sequence(mode, go_backwards):
    inputs, hidden = rnn_graph(go_backwards)
    R = T.dmatrix("R")
    f = gradients((hidden * R).sum(), inputs, [*inputs, R], mode)
    values = rnn_values()
    Rv = RNG.normal(size=(4, 3))
    expected = finite_differences(
        lambda *v: (numpy_rnn(*v, go_backwards=go_backwards) * Rv).sum(), values
    )
    assert_gradients_close(f(*values, Rv), expected)


def test_gradient_of_the_last_value(mode):
    inputs, hidden = rnn_graph()
    r = T.dvector("r")
    f = gradients((hidden[-1] * r).sum(), inputs, [*inputs, r], mode)
    values, rv = rnn_values(steps=5), RNG.normal(size=3)
    expected = finite_differences(lambda *v: (numpy_rnn(*v)[-1] * rv).sum(), values)
    assert_gradients_close(f(*values, rv), expected)


def numpy_truncated_bptt(W, U, h0, Y, R, k):
    """Theano's truncated BPTT of sum(h * R): the backward loop visits only the last k steps.
    Returns the gradients w.r.t. W, U, h0, Y."""
    history = [h0, *numpy_rnn(W, U, h0, Y)]
    steps = len(Y)
    dW, dU, dh0, dY = np.zeros_like(W), np.zeros_like(U), np.zeros_like(h0), np.zeros_like(Y)
    adjoint = np.zeros_like(h0)
    first = 0 if k < 0 else max(steps - k, 0)
    for t in range(steps - 1, first - 1, -1):
        adjoint = adjoint + R[t]
        pre = adjoint * (1 - history[t + 1] ** 2)
        dW += np.outer(history[t], pre)
        dU += np.outer(Y[t], pre)
        dY[t] = pre @ U.T
        adjoint = pre @ W.T
    if first == 0:
        dh0 = adjoint
    return [dW, dU, dh0, dY]


@pytest.mark.parametrize("truncate", [-1, 2, 10])
def test_truncate_gradient(mode, truncate):
    inputs, hidden = rnn_graph(truncate_gradient=truncate)
    R = T.dmatrix("R")
    f = gradients((hidden * R).sum(), inputs, [*inputs, R], mode)
    values, Rv = rnn_values(steps=5), RNG.normal(size=(5, 3))
    expected = numpy_truncated_bptt(*values, Rv, truncate)
    if truncate != 2:  # no truncation within 5 steps: the true gradient
        full = finite_differences(lambda *v: (numpy_rnn(*v) * Rv).sum(), values)
        assert_gradients_close(expected, full)
    else:
        assert np.all(expected[3][:3] == 0) and np.all(expected[2] == 0)
    assert_gradients_close(f(*values, Rv), expected, rtol=1e-9, atol=1e-12)


# ============================================================================ other output kinds
def test_mit_sot_with_sequence_taps(mode):
    y0, x, a, b = T.dvector("y0"), T.dvector("x"), T.dscalar("a"), T.dscalar("b")
    out, _ = jitgraph.scan(
        lambda x_tm1, x_t, y_tm2, y_tm1, alpha, beta: T.tanh(
            alpha * y_tm1 + beta * y_tm2 + x_t * x_tm1
        ),
        sequences=dict(input=x, taps=[-1, 0]),
        outputs_info=dict(initial=y0, taps=[-2, -1]),
        non_sequences=[a, b],
    )
    r = T.dvector("r")
    f = gradients((out * r).sum(), [y0, x, a, b], [y0, x, a, b, r], mode)

    def numpy_loss(y0v, xv, av, bv):
        history = list(y0v)
        for t in range(1, len(xv)):
            history.append(np.tanh(av * history[-1] + bv * history[-2] + xv[t] * xv[t - 1]))
        return (np.array(history[2:]) * rv).sum()

    values = [RNG.normal(size=2), RNG.normal(size=5), np.float64(0.7), np.float64(-0.4)]
    rv = RNG.normal(size=4)
    assert_gradients_close(f(*values, rv), finite_differences(numpy_loss, values))


def test_nit_sot_output_and_closed_over_shared_variable(mode):
    x = T.dvector("x")
    weight = jitgraph.shared(np.float64(0.8), name="weight")
    out, _ = jitgraph.scan(lambda x_t: T.sin(x_t * weight) + x_t**2, sequences=x)
    r = T.dvector("r")
    f = gradients((out * r).sum(), [x, weight], [x, r], mode)
    xv, rv = RNG.normal(size=4), RNG.normal(size=4)

    def numpy_loss(xs, w):
        return ((np.sin(xs * w) + xs**2) * rv).sum()

    assert_gradients_close(f(xv, rv), finite_differences(numpy_loss, [xv, np.float64(0.8)]))


def test_sum_of_several_outputs(mode):
    x, s0, w = T.dvector("x"), T.dscalar("s0"), T.dscalar("w")
    (state, product), _ = jitgraph.scan(
        lambda x_t, s_tm1, weight: [T.tanh(s_tm1 * weight + x_t), s_tm1 * x_t],
        sequences=x,
        outputs_info=[s0, None],
        non_sequences=w,
    )
    r1, r2 = T.dvector("r1"), T.dvector("r2")
    cost = (state * r1).sum() + (product * r2).sum() + state[-1] * 3
    f = gradients(cost, [x, s0, w], [x, s0, w, r1, r2], mode)
    r1v, r2v = RNG.normal(size=4), RNG.normal(size=4)

    def numpy_loss(xs, s, weight):
        states, products = [], []
        for x_t in xs:
            products.append(s * x_t)
            s = np.tanh(s * weight + x_t)
            states.append(s)
        return (np.array(states) * r1v).sum() + (np.array(products) * r2v).sum() + states[-1] * 3

    values = [RNG.normal(size=4), np.float64(0.3), np.float64(0.9)]
    assert_gradients_close(f(*values, r1v, r2v), finite_differences(numpy_loss, values))


def test_verify_grad_through_a_mit_sot_recurrence(mode):
    def recurrence(initial, sequence):
        out, _ = jitgraph.scan(
            lambda x_t, y_tm2, y_tm1: y_tm1 * T.cos(y_tm2) + x_t,
            sequences=sequence,
            outputs_info=dict(initial=initial, taps=[-2, -1]),
        )
        return out

    verify_grad(recurrence, [RNG.normal(size=2), RNG.normal(size=4)], mode=mode)


def test_verify_grad_catches_a_wrong_reference():
    # verify_grad must be able to fail here: a scan whose gradient is blocked by
    # disconnected_grad disagrees with the finite differences of its forward value.
    from jitgraph.gradient import GradientError, disconnected_grad

    def blocked(sequence):
        out, _ = jitgraph.scan(lambda x_t: disconnected_grad(x_t) ** 2, sequences=sequence)
        return out

    with pytest.raises(GradientError):
        verify_grad(blocked, [RNG.normal(size=3) + 2.0], mode="REFERENCE")
