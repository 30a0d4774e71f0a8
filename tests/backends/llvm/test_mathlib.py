"""The LLVM math library (jitgraph/backends/llvm/mathlib.py): accuracy in ulps against a
higher-precision reference, special values against NumPy, and vectorization.

Accuracy goes through the same code as ``python -m benchmarks.accuracy`` (which
publishes docs/accuracy.md with 1e6 samples per function); here each function and dtype
gets 20 000 arguments from the same distribution (edge ranges included), with a seed of
its own so that the tests do not merely replay the published run.
"""

from __future__ import annotations

import re

import llvmlite.ir as ir
import numpy as np
import pytest

from benchmarks import accuracy
from jitgraph.backends.llvm import mathlib, target

SAMPLES = 20_000
DTYPES = ("float32", "float64")
REQUIRED = {
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sigmoid",
    "softplus",
    "pow",
    "erf",
    "erfc",
    "arctan",
    "arctan2",
}
CASES = [(case.name, dtype) for case in accuracy.CASES for dtype in DTYPES]


def test_every_required_function_is_provided_and_measured() -> None:
    assert REQUIRED <= mathlib.FUNCTIONS
    assert {case.name for case in accuracy.CASES} == set(mathlib.FUNCTIONS)


@pytest.mark.parametrize(("name", "dtype"), CASES)
def test_accuracy_within_the_published_bound(name: str, dtype: str) -> None:
    measured = accuracy.measure(name, dtype, SAMPLES, seed=12345)
    bound = accuracy.ulp_bound(name, dtype)
    if measured.reference.startswith("float64 ("):
        bound += 1.0  # the reference itself (SciPy in float64) is only within ~1 ulp
    assert measured.max_ulp <= bound, (
        f"{name} {dtype}: {measured.max_ulp:.3f} ulp at {measured.worst_arguments}"
    )


@pytest.mark.parametrize(("name", "dtype"), CASES)
def test_special_values_match_numpy(name: str, dtype: str) -> None:
    assert accuracy.special_value_mismatches(name, dtype) == []


@pytest.mark.parametrize("dtype", DTYPES)
def test_ulp_errors_measure_what_they_claim(dtype: str) -> None:
    exact = np.array([1.0, 1.0, 0.0, np.inf, np.nan, 3.0], dtype=np.float64)
    spacing = float(np.spacing(np.array(1.0, dtype=dtype)))
    result = np.array([1.0 + spacing, 1.0, 0.0, np.inf, np.nan, np.inf], dtype=dtype)
    errors = accuracy.ulp_errors(result, exact, dtype)
    assert errors.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0, np.inf]


def test_a_wrong_result_is_caught() -> None:
    """The harness must be able to fail: exp measured against log's reference."""
    exp = accuracy.compile_function("exp", "float64")
    x = np.linspace(0.5, 2.0, 1000)
    errors = accuracy.ulp_errors(exp(x), np.log(x.astype(np.longdouble)), "float64")
    assert errors.max() > 1e10


@pytest.mark.parametrize("name", ["exp", "sigmoid", "log", "sin", "pow"])
def test_a_loop_calling_the_function_vectorizes(name: str) -> None:
    arity = 2 if name == "pow" else 1
    optimized = target.optimized_ir(accuracy.kernel_ir(name, "float64", arity))
    assert re.search(r"<\d+ x double>", optimized), "the loop was not vectorized"
    # Inlined, and nothing but LLVM intrinsics called (no libm, no jg_ function left).
    assert not re.search(r"call [^@]*@(?!llvm\.)", optimized)


def test_functions_are_defined_once_internal_and_always_inline() -> None:
    module = ir.Module()
    double = ir.DoubleType()
    function = ir.Function(module, ir.FunctionType(double, [double]), "twice")
    builder = ir.IRBuilder(function.append_basic_block())
    first = mathlib.call(builder, "exp", [function.args[0]], "float64")
    second = mathlib.call(builder, "exp", [first], "float64")
    builder.ret(second)
    text = str(module)
    assert text.count('define internal double @"jg_exp_f64"') == 1
    assert re.search(r"attributes #\d+ = \{.*alwaysinline.*\}", text) or "alwaysinline" in text
    assert "readnone" in text
    assert not re.search(r"declare .*@\"?(exp|expf|__svml)", text)


def test_unknown_function_or_dtype_is_refused() -> None:
    module = ir.Module()
    double = ir.DoubleType()
    function = ir.Function(module, ir.FunctionType(double, [double]), "f")
    builder = ir.IRBuilder(function.append_basic_block())
    with pytest.raises(NotImplementedError, match="no gamma"):
        mathlib.call(builder, "gamma", [function.args[0]], "float64")
    with pytest.raises(NotImplementedError, match="int64"):
        mathlib.call(builder, "exp", [function.args[0]], "int64")


@pytest.mark.parametrize("name", ["exp", "sigmoid", "tanh"])
def test_hot_float32_functions_compute_in_float32(name: str) -> None:
    """exp, sigmoid and tanh in float32 use float32 arithmetic (twice the SIMD lanes of
    float64): the vectorized loop has float vectors and no double at all."""
    optimized = target.optimized_ir(accuracy.kernel_ir(name, "float32", 1))
    assert re.search(r"<\d+ x float>", optimized), "the loop was not vectorized"
    assert "double" not in optimized


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_and_tanh_are_odd_symmetric(dtype: str) -> None:
    """sigmoid(-x) = 1 - sigmoid(x) and tanh(-x) = -tanh(x), to within the bounds, over
    both sides of every switch point (the two sides are computed differently)."""
    x = np.linspace(-40.0, 40.0, 20_001).astype(dtype)
    sigmoid = accuracy.compile_function("sigmoid", dtype)
    tanh = accuracy.compile_function("tanh", dtype)
    tolerance = 8 * float(np.finfo(dtype).eps)
    assert np.max(np.abs(sigmoid(x) + sigmoid(-x) - 1.0)) <= tolerance
    assert np.array_equal(tanh(-x), -tanh(x))
