"""``jitgraph.tensor.nnet`` (``jitgraph/tensor/nnet/``): activations and losses against
NumPy/SciPy formulas, their dtypes (float32 stays float32), numerical stability on large
inputs, and the errors users see.
"""

from __future__ import annotations

from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
import jitgraph.tensor.nnet
from jitgraph.tensor import nnet

FLOATS = ["float32", "float64"]


def run(inputs: list[Any], output: Any, *values: np.ndarray) -> Any:
    return jitgraph.function(inputs, output)(*values)


def tolerance(dtype: Any) -> float:
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-12


def matrices(dtype: str, magnitude: float = 50.0) -> st.SearchStrategy[np.ndarray]:
    elements = st.floats(-magnitude, magnitude, width=8 * np.dtype(dtype).itemsize)
    shapes = hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=5)
    return hnp.arrays(dtype, shapes, elements=elements)


def test_module_paths() -> None:
    assert jitgraph.tensor.nnet is nnet
    assert nnet.sigmoid is T.sigmoid and nnet.softplus is T.softplus
    assert set(nnet.__all__) <= set(dir(nnet))


# ----------------------------------------------------------------------------- activations
def ultra_fast_sigmoid_reference(x: np.ndarray) -> np.ndarray:
    """Theano's C code for ultra_fast_sigmoid, one value at a time."""

    def one(value: float) -> float:
        half = 0.5 * value
        magnitude = abs(half)
        if magnitude < 1.7:
            z = 1.5 * magnitude / (1 + magnitude)
        elif magnitude < 3:
            z = 0.935409070603099 + 0.0458812946797165 * (magnitude - 1.7)
        else:
            z = 0.99505475368673
        return 0.5 * (1 + (z if half >= 0 else -z))

    return np.vectorize(one)(x)


ACTIVATIONS = [
    ("sigmoid", nnet.sigmoid, scipy.special.expit),
    ("ultra_fast_sigmoid", nnet.ultra_fast_sigmoid, ultra_fast_sigmoid_reference),
    ("hard_sigmoid", nnet.hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1)),
    ("softplus", nnet.softplus, lambda x: np.logaddexp(0, x)),
    ("softsign", nnet.softsign, lambda x: x / (1 + np.abs(x))),
    ("relu", nnet.relu, lambda x: np.maximum(x, 0)),
    ("leaky_relu", lambda x: nnet.relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    ("elu", nnet.elu, lambda x: np.where(x > 0, x, np.expm1(x))),
    ("selu", nnet.selu,
     lambda x: nnet.SELU_SCALE * np.where(x > 0, x, nnet.SELU_ALPHA * np.expm1(x))),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "build", "reference"), ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS]
)
@pytest.mark.parametrize("dtype", FLOATS)
def test_activations_match_formulas(name: str, build: Any, reference: Any, dtype: str) -> None:
    values = np.concatenate([np.linspace(-8, 8, 41), [-1000.0, 1000.0, 0.0, -0.0, 3.4]])
    values = values.astype(dtype)
    x = T.vector("x", dtype=dtype)
    got = run([x], build(x), values[::-1])
    assert got.dtype == np.dtype(dtype), name
    with np.errstate(over="ignore"):  # expm1(1000) in the unused branch of np.where
        expected = reference(values[::-1].astype("float64"))
    np.testing.assert_allclose(got, expected, rtol=10 * tolerance(dtype), atol=1e-6)
    assert np.all(np.isfinite(got)), name
    nan_out = run([x], build(x), np.array([np.nan], dtype=dtype))
    assert np.isnan(nan_out).all(), f"{name} must propagate NaN"


def test_sigmoid_approximations_stay_close() -> None:
    x = T.dvector("x")
    values = np.linspace(-20, 20, 2001)
    exact = scipy.special.expit(values)
    assert np.max(np.abs(run([x], nnet.ultra_fast_sigmoid(x), values) - exact)) < 0.03
    assert np.max(np.abs(run([x], nnet.hard_sigmoid(x), values) - exact)) < 0.1


def test_activation_dtypes() -> None:
    assert nnet.hard_sigmoid(T.bvector()).dtype == "float32"
    assert nnet.sigmoid(T.ivector()).dtype == "float64"
    assert nnet.relu(T.ivector()).dtype == "int32"
    assert nnet.relu(T.ivector(), alpha=0.5).dtype == "float64"
    assert nnet.ultra_fast_sigmoid(T.fmatrix()).dtype == "float32"
    with pytest.raises(TypeError, match=r"softmax: 'z'.* is complex128"):
        nnet.softmax(T.zmatrix("z"))


def test_relu_with_symbolic_alpha() -> None:
    x, alpha = T.dvector("x"), T.dscalar("alpha")
    values = np.array([-2.0, -0.5, 0.0, 3.0])
    got = run([x, alpha], nnet.relu(x, alpha), values, np.array(0.25))
    np.testing.assert_allclose(got, np.where(values > 0, values, 0.25 * values))


# ----------------------------------------------------------------------------- softmax
@pytest.mark.parametrize("dtype", FLOATS)
@settings(max_examples=20)
@given(data=st.data())
def test_softmax_and_log_softmax_match_scipy(dtype: str, data: st.DataObject) -> None:
    values = data.draw(matrices(dtype))
    shift = data.draw(st.sampled_from([0.0, 1000.0, -1000.0]))
    values = (values + shift).astype(dtype)
    x = T.matrix("x", dtype=dtype)
    soft, log_soft = run([x], [nnet.softmax(x), nnet.log_softmax(x)], values.T.copy().T)
    assert soft.dtype == log_soft.dtype == np.dtype(dtype)
    wide = values.astype("float64")
    rtol = 100 * tolerance(dtype)
    np.testing.assert_allclose(soft, scipy.special.softmax(wide, axis=-1), rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(
        log_soft, scipy.special.log_softmax(wide, axis=-1), rtol=rtol, atol=rtol * 1e3
    )
    np.testing.assert_allclose(soft.sum(axis=-1), 1.0, rtol=rtol * 10)


def test_softmax_axes_and_stability() -> None:
    x = T.dtensor3("x")
    values = np.random.default_rng(0).normal(size=(2, 3, 4)) * 300
    for axis in (0, 1, -1, None):
        got = run([x], nnet.softmax(x, axis=axis), values)
        np.testing.assert_allclose(got, scipy.special.softmax(values, axis=axis), rtol=1e-12)
    v = T.dvector("v")
    np.testing.assert_array_equal(run([v], nnet.softmax(v), np.array([1000.0, 1000.0])), [0.5, 0.5])
    np.testing.assert_array_equal(
        run([v], nnet.log_softmax(v), np.array([0.0, -1000.0])), [0.0, -1000.0]
    )
    b = T.dvector("b")
    m = T.dmatrix("m")
    got = run([m, b], nnet.softmax_with_bias(m, b), np.zeros((2, 3)), np.array([0.0, 0.0, 1e3]))
    np.testing.assert_array_equal(got, [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])


# ----------------------------------------------------------------------------- losses
def test_binary_crossentropy() -> None:
    output, target = T.dvector("output"), T.dvector("target")
    p = np.array([0.1, 0.5, 0.9, 0.999])
    t = np.array([0.0, 1.0, 1.0, 0.3])
    expected = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(
        run([output, target], nnet.binary_crossentropy(output, target), p, t), expected, rtol=1e-12
    )
    f32 = T.fvector("f")
    assert nnet.binary_crossentropy(f32, f32).dtype == "float32"


def test_sigmoid_binary_crossentropy_is_stable() -> None:
    logits, target = T.dvector("logits"), T.dvector("target")
    loss = nnet.sigmoid_binary_crossentropy(logits, target)
    x = np.array([-5.0, -0.5, 0.0, 2.0, 7.0])
    t = np.array([0.0, 1.0, 0.5, 1.0, 0.2])
    p = scipy.special.expit(x)
    expected = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(run([logits, target], loss, x, t), expected, rtol=1e-12)
    huge = run([logits, target], loss, np.array([-1000.0, 1000.0]), np.array([1.0, 0.0]))
    np.testing.assert_allclose(huge, [1000.0, 1000.0])
    flags = T.vector("flags", dtype="bool")
    assert nnet.sigmoid_binary_crossentropy(T.fvector(), flags).dtype == "float32"


def test_categorical_crossentropy_one_hot_and_indices() -> None:
    probabilities = np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]])
    indices = np.array([1, 2], dtype="int32")
    one_hot = np.eye(3)[indices]
    expected = -np.log(probabilities[np.arange(2), indices])
    p = T.dmatrix("p")
    got = run([p], nnet.categorical_crossentropy(p, T.constant(one_hot)), probabilities)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    y = T.ivector("y")
    got = run([p, y], nnet.categorical_crossentropy(p, y), probabilities, indices)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    got = run([p, y], nnet.crossentropy_categorical_1hot(p, y), probabilities, indices)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_crossentropy_softmax_1hot() -> None:
    x, y = T.dmatrix("x"), T.lvector("y")
    logits = np.array([[1000.0, 0.0, -1000.0], [0.5, 1.5, 2.5]])
    labels = np.array([2, 0])
    nll, soft = run([x, y], list(nnet.crossentropy_softmax_1hot(x, y)), logits, labels)
    expected = -scipy.special.log_softmax(logits, axis=-1)[np.arange(2), labels]
    np.testing.assert_allclose(nll, expected, rtol=1e-12)
    np.testing.assert_allclose(soft, scipy.special.softmax(logits, axis=-1), rtol=1e-12)


def test_crossentropy_errors() -> None:
    p = T.dmatrix("p")
    with pytest.raises(TypeError, match="rank mismatch"):
        nnet.categorical_crossentropy(p, T.dtensor3("t"))
    with pytest.raises(TypeError, match=r"class indices must be an integer vector.*float64"):
        nnet.categorical_crossentropy(p, T.dvector("labels"))
    with pytest.raises(TypeError, match="must be a matrix"):
        nnet.crossentropy_categorical_1hot(T.dtensor3("q"), T.ivector("y"))
