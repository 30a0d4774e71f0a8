"""Gradients of ``jitgraph.tensor.nnet``: values against finite differences
(``verify_grad``), and stability: no NaN or inf in the gradients of the losses and
activations for logits up to 1e3 in float64 and 80 in float32, with the exact values
(``sigmoid(x) - t``, ``softmax(x) - t``, ...) computed here in NumPy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.special
from hypothesis import given
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.gradient import verify_grad
from jitgraph.ir.graph import Var
from jitgraph.ops.elemwise import Elemwise
from jitgraph.tensor import nnet

RNG = np.random.default_rng(0)
TARGETS = np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 0.6]])  # soft and hard binary targets
ONE_HOT = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]])  # a one-hot row and a soft row
CLASSES = np.array([2, 0])


def _logits(shape: tuple[int, ...] = (2, 3)) -> np.ndarray:
    return RNG.uniform(-3, 3, shape)


# Each case: (name, function of one symbolic input, a point). Kinked activations are
# evaluated away from their kinks.
SMOOTH_CASES: list[tuple[str, Callable[[Any], Any], np.ndarray]] = [
    ("sigmoid", nnet.sigmoid, _logits()),
    ("softplus", nnet.softplus, _logits()),
    ("softmax", nnet.softmax, _logits()),
    ("softmax_axis0", lambda x: nnet.softmax(x, axis=0), _logits()),
    ("softmax_vector", nnet.softmax, _logits((4,))),
    ("log_softmax", nnet.log_softmax, _logits()),
    ("log_softmax_axis0", lambda x: nnet.log_softmax(x, axis=0), _logits()),
    ("softsign", nnet.softsign, _logits()),
    ("elu", nnet.elu, np.array([-2.0, -0.5, 0.5, 2.0])),
    ("selu", nnet.selu, np.array([-2.0, -0.5, 0.5, 2.0])),
    ("relu", nnet.relu, np.array([-2.0, -0.5, 0.5, 2.0])),
    ("leaky_relu", lambda x: nnet.relu(x, alpha=0.1), np.array([-2.0, -0.5, 0.5, 2.0])),
    ("hard_sigmoid", nnet.hard_sigmoid, np.array([-3.0, -0.5, 0.5, 3.0])),
    (
        "softmax_with_bias",
        lambda x: nnet.softmax_with_bias(x, np.array([0.5, -1.0, 2.0])),
        _logits(),
    ),
    (
        "sigmoid_binary_crossentropy",
        lambda x: nnet.sigmoid_binary_crossentropy(x, TARGETS),
        _logits(),
    ),
    (
        "binary_crossentropy_of_sigmoid",
        lambda x: nnet.binary_crossentropy(nnet.sigmoid(x), TARGETS),
        _logits(),
    ),
    (
        "binary_crossentropy",
        lambda p: nnet.binary_crossentropy(p, TARGETS),
        RNG.uniform(0.1, 0.9, (2, 3)),
    ),
    (
        "categorical_crossentropy_of_softmax",
        lambda x: nnet.categorical_crossentropy(nnet.softmax(x), ONE_HOT),
        _logits(),
    ),
    (
        "categorical_crossentropy_of_softmax_indices",
        lambda x: nnet.categorical_crossentropy(nnet.softmax(x), CLASSES),
        _logits(),
    ),
    (
        "categorical_crossentropy",
        lambda p: nnet.categorical_crossentropy(p, ONE_HOT),
        RNG.uniform(0.1, 0.9, (2, 3)),
    ),
    (
        "crossentropy_categorical_1hot",
        lambda p: nnet.crossentropy_categorical_1hot(p, CLASSES),
        RNG.uniform(0.1, 0.9, (2, 3)),
    ),
    (
        "crossentropy_softmax_1hot",
        lambda x: nnet.crossentropy_softmax_1hot(x, CLASSES)[0],
        _logits(),
    ),
]


@pytest.mark.parametrize(
    ("function", "point"), [c[1:] for c in SMOOTH_CASES], ids=[c[0] for c in SMOOTH_CASES]
)
def test_gradient_matches_finite_differences(function: Callable[[Any], Any], point: Any) -> None:
    verify_grad(function, [point], rng=np.random.RandomState(42))


@given(
    logits=st.lists(st.floats(-5, 5), min_size=1, max_size=6),
    target=st.floats(0, 1),
)
def test_sigmoid_crossentropy_gradient_is_sigmoid_minus_target(
    logits: list[float], target: float
) -> None:
    x = T.dvector("x")
    cost = T.sum(nnet.binary_crossentropy(nnet.sigmoid(x), target))
    value = np.array(logits)
    got = jitgraph.function([x], jitgraph.grad(cost, x))(value)
    np.testing.assert_allclose(got, scipy.special.expit(value) - target, rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------------- stability
def _extremes(dtype: str) -> np.ndarray:
    """Logits at the stability limits of ``dtype``: 1e3 (float64), 80 (float32)."""
    big = 1e3 if dtype == "float64" else 80.0
    return np.array([[big, -big, 0.0], [-big, -big, big], [big, big, -big]], dtype=dtype)


def _gradient_at(cost_of: Callable[[Var], Var], value: np.ndarray) -> np.ndarray:
    x = T.matrix("x", dtype=value.dtype.name)
    cost = T.sum(cost_of(x))
    return jitgraph.function([x], jitgraph.grad(cost, x))(value)  # type: ignore[no-any-return]


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return scipy.special.softmax(x.astype("float64"), axis=axis)


STABILITY_CASES: list[tuple[str, Callable[[Var], Var], Callable[[np.ndarray], np.ndarray]]] = [
    (
        "log_softmax",
        lambda x: T.mul(nnet.log_softmax(x), T.constant(ONE_HOT[[0, 1, 0]])),
        lambda x: ONE_HOT[[0, 1, 0]] - _softmax(x) * ONE_HOT[[0, 1, 0]].sum(-1, keepdims=True),
    ),
    (
        "softmax",
        lambda x: T.mul(nnet.softmax(x), T.constant(ONE_HOT[[0, 1, 0]])),
        lambda x: (
            _softmax(x)
            * (ONE_HOT[[0, 1, 0]] - (ONE_HOT[[0, 1, 0]] * _softmax(x)).sum(-1, keepdims=True))
        ),
    ),
    ("softplus", nnet.softplus, lambda x: scipy.special.expit(x.astype("float64"))),
    (
        "sigmoid",
        nnet.sigmoid,
        lambda x: scipy.special.expit(x * 1.0) * scipy.special.expit(-x * 1.0),
    ),
    (
        "sigmoid_binary_crossentropy",
        lambda x: nnet.sigmoid_binary_crossentropy(x, T.constant(TARGETS[[0, 1, 0]])),
        lambda x: scipy.special.expit(x * 1.0) - TARGETS[[0, 1, 0]],
    ),
    (
        "binary_crossentropy_of_sigmoid",
        lambda x: nnet.binary_crossentropy(nnet.sigmoid(x), T.constant(TARGETS[[0, 1, 0]])),
        lambda x: scipy.special.expit(x * 1.0) - TARGETS[[0, 1, 0]],
    ),
    (
        "categorical_crossentropy_of_softmax",
        lambda x: nnet.categorical_crossentropy(nnet.softmax(x), T.constant(ONE_HOT[[0, 1, 0]])),
        lambda x: _softmax(x) * ONE_HOT[[0, 1, 0]].sum(-1, keepdims=True) - ONE_HOT[[0, 1, 0]],
    ),
    (
        "categorical_crossentropy_of_softmax_indices",
        lambda x: nnet.categorical_crossentropy(nnet.softmax(x), T.constant(np.array([2, 0, 1]))),
        lambda x: _softmax(x) - np.eye(3)[[2, 0, 1]],
    ),
    (
        "crossentropy_softmax_1hot",
        lambda x: nnet.crossentropy_softmax_1hot(x, T.constant(np.array([2, 0, 1])))[0],
        lambda x: _softmax(x) - np.eye(3)[[2, 0, 1]],
    ),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    ("cost_of", "expected"),
    [c[1:] for c in STABILITY_CASES],
    ids=[c[0] for c in STABILITY_CASES],
)
def test_gradients_stay_finite_for_large_logits(
    cost_of: Callable[[Var], Var], expected: Callable[[np.ndarray], np.ndarray], dtype: str
) -> None:
    value = _extremes(dtype)
    got = _gradient_at(cost_of, value)
    assert got.dtype == np.dtype(dtype)
    assert np.isfinite(got).all(), got
    tolerance = 1e-12 if dtype == "float64" else 1e-6
    np.testing.assert_allclose(got, expected(value), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_losses_stay_finite_for_large_logits(dtype: str) -> None:
    x = T.matrix("x", dtype=dtype)
    value = _extremes(dtype)
    losses = [
        nnet.binary_crossentropy(nnet.sigmoid(x), T.constant(TARGETS[[0, 1, 0]])),
        nnet.categorical_crossentropy(nnet.softmax(x), T.constant(ONE_HOT[[0, 1, 0]])),
        nnet.categorical_crossentropy(nnet.softmax(x), T.constant(np.array([2, 0, 1]))),
        nnet.log_softmax(x),
    ]
    for loss in jitgraph.function([x], losses)(value):
        assert np.isfinite(loss).all(), loss
    # The exact values: e.g. -log(sigmoid(-big)) = big.
    bce = jitgraph.function([x], losses[0])(value)
    expected = TARGETS[[0, 1, 0]] * np.logaddexp(0, -value * 1.0) + (
        1 - TARGETS[[0, 1, 0]]
    ) * np.logaddexp(0, value * 1.0)
    np.testing.assert_allclose(bce, expected, rtol=1e-6)


# ----------------------------------------------------------------------------- structure
def _ops(var: Var) -> set[str]:
    """The scalar-table names of every Elemwise in ``var``'s graph."""
    names, stack, seen = set(), [var], set()
    while stack:
        node = stack.pop().owner
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node.op, Elemwise):
            names.add(node.op.scalar_op.name)
        stack.extend(node.inputs)
    return names


def test_losses_of_sigmoid_and_softmax_are_computed_from_the_logits() -> None:
    x, t = T.dmatrix("x"), T.dmatrix("t")
    bce = nnet.binary_crossentropy(nnet.sigmoid(x), t)
    assert "sigmoid" not in _ops(bce) and "log" not in _ops(bce)
    assert "log" in _ops(nnet.binary_crossentropy(x, t))  # plain probabilities: as written
    cce = nnet.categorical_crossentropy(nnet.softmax(x), t)
    assert cce.owner.inputs[0].owner.inputs[0].owner.inputs[1] is nnet.log_softmax(x)
    assert "true_divide" not in _ops(cce)
    one_hot = nnet.categorical_crossentropy(nnet.softmax(x), T.ivector("y"))
    assert "true_divide" not in _ops(one_hot)
