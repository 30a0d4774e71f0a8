"""benchmarks/workloads.py: the result check that stands between a system and its time."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.workloads import TINY, check_result, select, workloads


def test_equal_results_pass() -> None:
    values = np.linspace(-1, 1, 5)
    assert check_result(values, values.copy(), rtol=1e-9, atol=0.0) is None


def test_rounding_differences_within_tolerance_pass() -> None:
    values = np.linspace(1, 2, 5)
    assert check_result(values, values * (1 + 1e-12), rtol=1e-9, atol=0.0) is None


@pytest.mark.parametrize(
    ("actual", "words"),
    [
        (np.array([1.0, 2.0, 3.5]), "max abs error 0.5 at index (2,)"),
        (np.array([1.0, 2.0, np.nan]), "got nan"),
        (np.array([1.0, 2.0]), "shape (2,), expected (3,)"),
        (np.array([1.0, 2.0, 3.0], dtype=np.float32), "dtype float32, expected float64"),
    ],
)
def test_wrong_results_are_explained(actual: np.ndarray, words: str) -> None:
    reason = check_result(np.array([1.0, 2.0, 3.0]), actual, rtol=1e-9, atol=1e-12)
    assert reason is not None and words in reason


def test_nan_where_numpy_has_nan_passes() -> None:
    values = np.array([1.0, np.nan, np.inf])
    assert check_result(values, values.copy(), rtol=1e-9, atol=0.0) is None


def test_several_outputs_are_compared_one_by_one() -> None:
    expected = (np.array([True, False]), np.array([0.5, 0.25]))
    assert check_result(expected, [np.array([True, False]), np.array([0.5, 0.25])], 1e-9, 0) is None
    flipped = check_result(expected, (np.array([True, True]), np.array([0.5, 0.25])), 1e-9, 0)
    assert flipped == "output 0: 1 of 2 values differ"
    assert check_result(expected, (np.array([True, False]),), 1e-9, 0) == "1 outputs, expected 2"


def test_scalars_compare_as_zero_d_arrays() -> None:
    assert check_result(np.float64(3.0), np.array(3.0), rtol=1e-9, atol=0.0) is None


def test_every_workload_makes_inputs_and_numpy_evaluates_its_formula() -> None:
    for workload in workloads(TINY):
        inputs = workload.make_inputs(np.random.default_rng(0))
        assert inputs, workload.name
        if workload.formula is not None:
            result = np.asarray(workload.formula(np, **inputs))
            assert result.dtype == np.dtype(workload.dtype), workload.name


def test_select_matches_names_and_labels() -> None:
    everything = workloads(TINY)
    assert [w.name for w in select(everything, "logistic_")] == ["logistic_f64", "logistic_f32"]
    assert [w.name for w in select(everything, "tanh(")] == ["tanh_f64"]
    assert select(everything, None) == everything
