"""The workloads of the suite: their inputs, their formula, and how a result is checked.

A workload is data: a name, how to make its inputs, a formula written once over a
NumPy-like namespace (``numpy``, ``jax.numpy``, ``jitgraph.tensor`` and ``pytensor.tensor``
all evaluate it), and the tolerance a result must meet against NumPy's. Systems that cannot
run the generic formula (NumExpr strings, Numba loops, the hand-written training steps) keep
their own table in :mod:`benchmarks.peers`, keyed by the workload's name.

>>> names = [workload.name for workload in workloads(TINY)]
>>> names[:3]
['logistic_f64', 'logistic_f32', 'arith_f64']
>>> check_result(np.ones(3), np.ones(3), rtol=1e-9, atol=0.0) is None
True
>>> check_result(np.ones(3), np.full(3, 1.5), rtol=1e-9, atol=0.0)
'max abs error 0.5 at index (0,) (expected 1, got 1.5)'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Inputs = dict[str, np.ndarray]

# Relative and absolute tolerance per result dtype. Elementwise results of a correct system
# differ from NumPy's by a few ulps (other exp/tanh implementations, fused multiply-adds);
# sums differ by their summation order, hence the per-workload override for reductions.
TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-9, 1e-12),
    "float32": (2e-5, 1e-6),
}


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Problem sizes: ``elements`` for the 1-d workloads, ``matrix`` for row norms,
    ``samples``/``features`` for the logistic-regression step."""

    elements: int
    matrix: tuple[int, int]
    samples: int
    features: int


FULL = Sizes(elements=10_000_000, matrix=(4000, 2500), samples=400, features=784)
QUICK = Sizes(elements=1_000_000, matrix=(1000, 1000), samples=400, features=784)
TINY = Sizes(elements=1000, matrix=(20, 30), samples=40, features=30)


@dataclasses.dataclass(frozen=True)
class Workload:
    """One measured computation.

    ``make_inputs(rng)`` gives the named input arrays. ``formula(m, **inputs)`` computes the
    result with the array namespace ``m`` (None for workloads without one: the training
    step). ``kind`` is "array" (one call moves ``traffic_bytes`` through memory, so GB/s is
    reported), "overhead" (a tiny call: time per call of a loop of calls) or "step" (a
    stateful training step: each system starts from the same state, the first step's outputs
    and new state are checked). ``rtol``/``atol`` override the dtype's tolerance.
    """

    name: str
    label: str
    kind: str
    dtype: str
    make_inputs: Callable[[np.random.Generator], Inputs]
    formula: Callable[..., Any] | None = None
    tolerance: tuple[float, float] | None = None

    def tolerances(self) -> tuple[float, float]:
        return self.tolerance or TOLERANCES[self.dtype]

    def traffic_bytes(self, inputs: Inputs, result: Any) -> int | None:
        """Bytes read and written by one call (inputs once, the result once); None when a
        bandwidth figure would mean nothing (tiny calls, the training step)."""
        if self.kind != "array":
            return None
        outputs = result if isinstance(result, tuple | list) else (result,)
        read = sum(array.nbytes for array in inputs.values())
        return read + sum(np.asarray(output).nbytes for output in outputs)


# ------------------------------------------------------------------------------- formulas
def logistic(m: Any, x: Any) -> Any:
    return 1 / (1 + m.exp(-x))


def arithmetic(m: Any, a: Any, b: Any, c: Any, d: Any) -> Any:
    return a * b + c * d - 2.5 * a / (b + 1)


def tanh_sigmoid(m: Any, x: Any) -> Any:
    return (1 + m.tanh(x / 2)) / 2


def sum_of_squares(m: Any, x: Any, c: Any) -> Any:
    return m.sum((x - c) ** 2)


def row_norms(m: Any, X: Any) -> Any:  # noqa: N803 (a matrix is upper case, as in the issue)
    return m.sqrt(m.sum(X**2, axis=1))


def add(m: Any, a: Any, b: Any) -> Any:
    return a + b


# --------------------------------------------------------------------------------- inputs
InputMaker = Callable[[np.random.Generator], Inputs]


def _uniform(
    count: int, dtype: str, names: str, low: float = -5.0, high: float = 5.0
) -> InputMaker:
    def make(rng: np.random.Generator) -> Inputs:
        return {name: rng.uniform(low, high, count).astype(dtype) for name in names}

    return make


def _sum_inputs(count: int) -> InputMaker:
    def make(rng: np.random.Generator) -> Inputs:
        return {"x": rng.standard_normal(count), "c": np.array(0.25)}

    return make


def _matrix_inputs(shape: tuple[int, int]) -> InputMaker:
    def make(rng: np.random.Generator) -> Inputs:
        return {"X": rng.standard_normal(shape)}

    return make


def _scalar_inputs(rng: np.random.Generator) -> Inputs:
    return {"a": np.array(rng.standard_normal()), "b": np.array(rng.standard_normal())}


def logistic_regression_inputs(samples: int, features: int) -> InputMaker:
    """Data and initial state of the Theano tutorial's logistic regression.

    The tutorial draws w from randn; here w starts at 0.01*randn so that p_1 is not
    saturated: a naive ``log(1-p_1)`` (NumPy's hand-written step) and a stabilized one
    (softplus, as graph compilers rewrite it) then agree to rounding, and the check compares
    like with like.
    """

    def make(rng: np.random.Generator) -> Inputs:
        return {
            "x": rng.standard_normal((samples, features)),
            "y": rng.integers(0, 2, samples).astype(np.float64),
            "w": 0.01 * rng.standard_normal(features),
            "b": np.array(0.0),
        }

    return make


def _count(value: int) -> str:
    """1e7 for 10_000_000; plain digits otherwise."""
    exponent = int(np.log10(value)) if value > 0 else 0
    return f"1e{exponent}" if value == 10**exponent and exponent >= 3 else str(value)


def workloads(sizes: Sizes) -> list[Workload]:
    """Every in-process workload at ``sizes``, in table order."""
    n, label_n = sizes.elements, _count(sizes.elements)
    rows, columns = sizes.matrix
    steps = f"{sizes.samples}x{sizes.features}"
    return [
        Workload("logistic_f64", f"1/(1+exp(-x)) f64 {label_n}", "array", "float64",
                 _uniform(n, "float64", "x"), logistic),
        Workload("logistic_f32", f"1/(1+exp(-x)) f32 {label_n}", "array", "float32",
                 _uniform(n, "float32", "x"), logistic),
        Workload("arith_f64", f"a*b+c*d-2.5*a/(b+1) {label_n}", "array", "float64",
                 _uniform(n, "float64", "abcd", low=0.0, high=2.0), arithmetic),
        Workload("tanh_f64", f"(1+tanh(x/2))/2 {label_n}", "array", "float64",
                 _uniform(n, "float64", "x"), tanh_sigmoid),
        Workload("sumsq_f64", f"sum((x-c)**2) {label_n}", "array", "float64",
                 _sum_inputs(n), sum_of_squares, tolerance=(1e-8, 0.0)),
        Workload("rownorm_f64", f"sqrt(sum(X**2,axis=1)) {rows}x{columns}", "array",
                 "float64", _matrix_inputs(sizes.matrix), row_norms, tolerance=(1e-9, 0.0)),
        Workload("logreg_step", f"logistic regression step {steps}", "step", "float64",
                 logistic_regression_inputs(sizes.samples, sizes.features),
                 tolerance=(1e-8, 1e-10)),
        Workload("call_overhead", "call overhead a+b, 0-d f64", "overhead", "float64",
                 _scalar_inputs, add),
    ]  # fmt: skip


# ------------------------------------------------------------------------------ checking
def as_outputs(result: Any) -> list[np.ndarray]:
    """A system's result as a list of NumPy arrays (JAX arrays and scalars converted)."""
    items = result if isinstance(result, tuple | list) else [result]
    return [np.asarray(item) for item in items]


def check_result(expected: Any, actual: Any, rtol: float, atol: float) -> str | None:
    """None when ``actual`` matches NumPy's ``expected``; else why not, in one line.

    Matching means: as many outputs, each of the same shape and dtype, and values within
    ``np.allclose(actual, expected, rtol, atol)`` with NaN equal to NaN.
    """
    expected_outputs, actual_outputs = as_outputs(expected), as_outputs(actual)
    if len(expected_outputs) != len(actual_outputs):
        return f"{len(actual_outputs)} outputs, expected {len(expected_outputs)}"
    for position, (want, got) in enumerate(zip(expected_outputs, actual_outputs, strict=True)):
        reason = _compare_arrays(want, got, rtol, atol)
        if reason is not None:
            prefix = f"output {position}: " if len(expected_outputs) > 1 else ""
            return prefix + reason
    return None


def _compare_arrays(want: np.ndarray, got: np.ndarray, rtol: float, atol: float) -> str | None:
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype}, expected {want.dtype}"
    if want.dtype.kind not in "fc":
        if np.array_equal(got, want):
            return None
        mismatches = int(np.count_nonzero(got != want))
        return f"{mismatches} of {want.size} values differ"
    close = np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    if bool(np.all(close)):
        return None
    error = np.where(close, 0.0, np.abs(got.astype(np.float64) - want.astype(np.float64)))
    error = np.nan_to_num(error, nan=np.inf)
    index = np.unravel_index(int(np.argmax(error)), want.shape)
    return (
        f"max abs error {error[index]:.3g} at index {tuple(int(i) for i in index)} "
        f"(expected {want[index]:.6g}, got {got[index]:.6g})"
    )


def select(all_workloads: Sequence[Workload], substring: str | None) -> list[Workload]:
    """The workloads whose name or label contains ``substring`` (all when None)."""
    if not substring:
        return list(all_workloads)
    return [w for w in all_workloads if substring in w.name or substring in w.label]
