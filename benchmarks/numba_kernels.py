"""Hand-written Numba versions of the workloads: ``@njit(parallel=True, fastmath=True)`` loops
over ``prange``, outputs allocated with NumPy outside the kernel (as a Numba user would write
them, and as the issue's reference figures were taken).

Importing this module imports Numba; :mod:`benchmarks.peers` imports it only when Numba is
installed and selected. Each ``build_*`` takes (workload, inputs) and returns the zero-argument
call that the suite times; its first call compiles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit, prange

from benchmarks.workloads import Inputs, Workload

PARALLEL = {"parallel": True, "fastmath": True}


def build_logistic(workload: Workload, inputs: Inputs) -> Callable[[], Any]:
    x = inputs["x"]
    one = x.dtype.type(1)  # a closure constant keeps float32 arithmetic in float32

    @njit(**PARALLEL)
    def kernel(x: np.ndarray, out: np.ndarray) -> None:
        for i in prange(x.size):
            out[i] = one / (one + np.exp(-x[i]))

    def call() -> np.ndarray:
        out = np.empty_like(x)
        kernel(x, out)
        return out

    return call


@njit(**PARALLEL)
def _arithmetic(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, out: np.ndarray
) -> None:
    for i in prange(a.size):
        out[i] = a[i] * b[i] + c[i] * d[i] - 2.5 * a[i] / (b[i] + 1.0)


def build_arithmetic(workload: Workload, inputs: Inputs) -> Callable[[], Any]:
    a, b, c, d = (inputs[name] for name in "abcd")

    def call() -> np.ndarray:
        out = np.empty_like(a)
        _arithmetic(a, b, c, d, out)
        return out

    return call


@njit(**PARALLEL)
def _tanh_sigmoid(x: np.ndarray, out: np.ndarray) -> None:
    for i in prange(x.size):
        out[i] = (1.0 + np.tanh(x[i] / 2.0)) / 2.0


def build_tanh_sigmoid(workload: Workload, inputs: Inputs) -> Callable[[], Any]:
    x = inputs["x"]

    def call() -> np.ndarray:
        out = np.empty_like(x)
        _tanh_sigmoid(x, out)
        return out

    return call


@njit(**PARALLEL)
def _sum_of_squares(x: np.ndarray, c: float) -> float:
    total = 0.0
    for i in prange(x.size):
        difference = x[i] - c
        total += difference * difference
    return total


def build_sum_of_squares(workload: Workload, inputs: Inputs) -> Callable[[], Any]:
    x, c = inputs["x"], float(inputs["c"])
    return lambda: np.float64(_sum_of_squares(x, c))


@njit(**PARALLEL)
def _row_norms(matrix: np.ndarray, out: np.ndarray) -> None:
    for row in prange(matrix.shape[0]):
        total = 0.0
        for column in range(matrix.shape[1]):
            total += matrix[row, column] * matrix[row, column]
        out[row] = np.sqrt(total)


def build_row_norms(workload: Workload, inputs: Inputs) -> Callable[[], Any]:
    matrix = inputs["X"]

    def call() -> np.ndarray:
        out = np.empty(matrix.shape[0])
        _row_norms(matrix, out)
        return out

    return call


# Not parallel: the loop runs over 400 samples, too few to pay for a parallel region; the two
# matrix-vector products go to BLAS, which has threads of its own.
@njit(fastmath=True)
def _logistic_regression_step(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, prediction: np.ndarray, xent: np.ndarray
) -> tuple[np.ndarray, float]:
    """Fills prediction and xent; returns the updated (w, b). x.T @ (p - y) / n is the
    gradient of mean(xent); 0.02*w that of 0.01*sum(w**2)."""
    samples = x.shape[0]
    activation = np.dot(x, w)
    residual = np.empty(samples)
    for i in range(samples):
        probability = 1.0 / (1.0 + np.exp(-(activation[i] + b)))
        prediction[i] = probability > 0.5
        xent[i] = -y[i] * np.log(probability) - (1.0 - y[i]) * np.log(1.0 - probability)
        residual[i] = (probability - y[i]) / samples
    gradient_w = np.dot(x.T, residual) + 0.02 * w
    return w - 0.1 * gradient_w, b - 0.1 * residual.sum()


def build_logistic_regression(workload: Workload, inputs: Inputs) -> Callable[[], Any]:
    x, y = inputs["x"], inputs["y"]
    weights, bias = inputs["w"].copy(), float(inputs["b"])

    def call() -> tuple[np.ndarray, ...]:
        nonlocal weights, bias
        prediction = np.empty(x.shape[0], dtype=np.bool_)
        xent = np.empty(x.shape[0])
        weights, bias = _logistic_regression_step(x, y, weights, bias, prediction, xent)
        return prediction, xent, weights, np.array(bias)

    return call


@njit
def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a + b


def build_add(workload: Workload, inputs: Inputs) -> Callable[[], Any]:
    """Plain ``@njit``: a parallel region would only add thread start-up to a 0-d add."""
    a, b = inputs["a"], inputs["b"]
    return lambda: _add(a, b)


BUILDERS: dict[str, Callable[[Workload, Inputs], Callable[[], Any]]] = {
    "logistic_f64": build_logistic,
    "logistic_f32": build_logistic,
    "arith_f64": build_arithmetic,
    "tanh_f64": build_tanh_sigmoid,
    "sumsq_f64": build_sum_of_squares,
    "rownorm_f64": build_row_norms,
    "logreg_step": build_logistic_regression,
    "call_overhead": build_add,
}
