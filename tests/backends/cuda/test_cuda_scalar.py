"""The CUDA C lowering of every entry of THE elementwise table, against NumPy.

The cases are those of tests/backends/llvm/test_scalar.py (every op, every accepted dtype,
the same mixed-dtype combinations), float16 included. Each case becomes one function
``extern "C" __global__ void case_<n>(const T0* a, ..., TOUT* out, long long n)`` of ONE
translation unit (``cases_source``), compiled once with nvcc (a compile error names the cases
on the failing lines). Where CuPy and a GPU are present, every case runs on the arguments of
the LLVM test (random values of the op's domain plus edge values) and is compared with NumPy
as that test compares: exact ops bit for bit, the others within ``ULPS`` (NumPy's error plus
CUDA's documented maximum errors: expf 2, tanf 4, powf 4, erfcf 4, acoshf 4 ulp...).
"""

from __future__ import annotations

import functools
import importlib.util
import re
import subprocess
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from jitgraph.backends.cuda import cuda_status
from jitgraph.backends.cuda import scalar as cuda_scalar
from jitgraph.backends.cuda.compile import compile_source, nvcc_path
from jitgraph.backends.cuda.scalar import C_TYPES, PRELUDE, CudaLoweringError, lower
from jitgraph.ops.scalar import SCALAR_OPS, ScalarOp

ULPS = {"float16": 1, "float32": 8, "float64": 4}
# Complex functions whose C99 special values (infinite or NaN parts) the prelude does not
# follow (textbook formulas): compared on finite arguments with finite results only.
COMPLEX_SPECIAL_VALUES_UNCHECKED = frozenset(
    {"sin", "cos", "tan", "sinh", "cosh", "tanh", "arcsin", "arccos", "arctan", "arcsinh",
     "arccosh", "arctanh", "power", "expm1", "log1p"}
)  # fmt: skip
# ... and compared within a relative error of the result's modulus: the textbook formulas
# lose accuracy to cancellation in small parts (and NumPy's complex64 power multiplies in
# float32: it is the less accurate one there).
TEXTBOOK_RELATIVE = {"complex64": 1e-4, "complex128": 1e-13}
# CUDA's tgamma/lgamma in float64 are ~10 ulp off SciPy (more near lgamma's roots); the
# prelude's psi ~1e-15 relative, ~1e-12 next to its positive root (cancellation).
REFERENCE_ERROR = {
    ("gamma", "float64"): 1e-13,
    ("gammaln", "float64"): 1e-13,
    ("psi", "float64"): 1e-11,
}
EXPECTED_UNSUPPORTED = {"polygamma"}
# (op, argument dtypes) whose GPU results are known to differ from NumPy's, each with the
# reason. The GPU test asserts this exactly: a listed case that matches fails it, as does
# any unlisted case that differs.
KNOWN_GPU_DIFFERENCES: dict[tuple[str, tuple[str, ...]], str] = {}


@functools.cache
def llvm_test_helpers() -> ModuleType:
    """tests/backends/llvm/test_scalar.py, for its argument generation and comparison."""
    path = Path(__file__).parents[1] / "llvm" / "test_scalar.py"
    spec = importlib.util.spec_from_file_location("llvm_test_scalar_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dtype_cases(op: ScalarOp) -> list[tuple[str, ...]]:
    helpers = llvm_test_helpers()
    uniform = [(d,) * op.arity for d in op.supported_dtypes()]
    mixed = [combo for combo in helpers.MIXED.get(op.arity, []) if helpers._accepted(op, combo)]
    return uniform + mixed


def all_cases() -> list[tuple[ScalarOp, tuple[str, ...]]]:
    return [
        (SCALAR_OPS[name], combo)
        for name in sorted(SCALAR_OPS)
        if name not in EXPECTED_UNSUPPORTED
        for combo in dtype_cases(SCALAR_OPS[name])
    ]


def case_function(index: int, op: ScalarOp, arg_dtypes: tuple[str, ...]) -> str:
    """``case_<index>``: out[i] = op(a[i], ...) with the arguments cast to compute dtypes."""
    compute, out = op.dtype_rule(arg_dtypes)
    names = "abc"[: op.arity]
    params = [f"const {C_TYPES[d]}* {name}" for d, name in zip(arg_dtypes, names)]
    values = [
        cuda_scalar.cast(f"{name}[i]", d, c) for name, d, c in zip(names, arg_dtypes, compute)
    ]
    expression = lower(op, values, compute, out)
    return (
        f"// case {index}: {op.name}{arg_dtypes}\n"
        f'extern "C" __global__ void case_{index}({", ".join(params)}, {C_TYPES[out]}* out, '
        "long long n) {\n"
        "  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;\n"
        "       i += (long long)gridDim.x * blockDim.x) {\n"
        f"    out[i] = {expression};\n"
        "  }\n}\n"
    )


@functools.cache
def cases_source() -> tuple[str, dict[int, str]]:
    """The translation unit, and the case named on each of its lines."""
    lines = PRELUDE.splitlines()
    owners: dict[int, str] = {}
    for index, (op, combo) in enumerate(all_cases()):
        text = case_function(index, op, combo).splitlines()
        for offset in range(len(text)):
            owners[len(lines) + offset + 1] = f"{op.name}{combo}"
        lines += text
    return "\n".join(lines) + "\n", owners


def compile_error_cases(output: str, owners: dict[int, str]) -> list[str]:
    """nvcc's error messages, each with the case its line belongs to."""
    found = []
    for match in re.finditer(r"\((\d+)\): error: (.*)", output):
        line = int(match.group(1))
        found.append(f"line {line} [{owners.get(line, 'prelude')}]: {match.group(2)}")
    return found


def nvcc() -> str:
    path = nvcc_path()
    if path is None:
        pytest.skip("nvcc is not on PATH (CUDA C compile test)")
    return path


# ============================================================================ generation
def test_every_op_lowers_or_is_listed_unsupported() -> None:
    assert cuda_scalar.UNSUPPORTED == EXPECTED_UNSUPPORTED
    assert set(cuda_scalar.LOWERINGS) | EXPECTED_UNSUPPORTED == set(SCALAR_OPS)
    for name in EXPECTED_UNSUPPORTED:
        op = SCALAR_OPS[name]
        compute, out = op.dtype_rule(("float64",) * op.arity)
        with pytest.raises(CudaLoweringError, match=repr(name)):
            lower(op, ["a"] * op.arity, compute, out)
    failures = []
    for op, combo in all_cases():
        compute, out = op.dtype_rule(combo)
        try:
            expression = lower(op, ["a", "b", "c"][: op.arity], compute, out)
        except CudaLoweringError as exc:
            failures.append(f"{op.name}{combo}: {exc}")
            continue
        assert isinstance(expression, str) and expression
    assert not failures, "\n".join(failures)


def test_literals_are_exact() -> None:
    assert cuda_scalar.literal(np.float32(0.1), "float32") == "0x1.99999a0000000p-4f"
    assert cuda_scalar.literal(np.float64(-0.0), "float64") == "-0x0.0p+0"
    assert cuda_scalar.literal(np.nan, "float64") == "__longlong_as_double(9221120237041090560LL)"
    assert cuda_scalar.literal(np.iinfo(np.int64).min, "int64") == "(-9223372036854775807LL - 1)"


# ============================================================================ compilation
@functools.cache
def compiled_cases() -> tuple[bytes, float]:
    """The cubin of every case (one nvcc call), and the seconds it took."""
    source, owners = cases_source()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "cases.cu"
        path.write_text(source)
        start = time.perf_counter()
        result = subprocess.run(
            [nvcc(), "-arch=sm_80", "-cubin", "-fmad=false", "-o", str(path.with_suffix(".cubin")),
             str(path)],
            capture_output=True,
            text=True,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        output = result.stdout + result.stderr
        if result.returncode != 0:
            errors = compile_error_cases(output, owners) or [output[-3000:]]
            pytest.fail("nvcc failed:\n" + "\n".join(errors[:40]))
        return path.with_suffix(".cubin").read_bytes(), seconds


def test_every_case_compiles_in_one_translation_unit() -> None:
    cubin, seconds = compiled_cases()
    assert cubin[:4] == b"\x7fELF"
    print(f"{len(all_cases())} cases compiled in {seconds:.1f} s")


def test_a_compile_error_names_its_case() -> None:
    source, owners = cases_source()
    line = next(number for number, case in owners.items() if case.startswith("add("))
    output = f'/tmp/x/cases.cu({line}): error: identifier "oops" is undefined\n'
    assert "[add(" in compile_error_cases(output, owners)[0]


# ============================================================================ execution
def run_all_cases_on_gpu() -> dict[tuple[str, tuple[str, ...]], str]:
    """Every case on the GPU against NumPy: the cases that differ, (op name, argument
    dtypes) -> the differences (empty: all match). Call it where ``cuda_status()`` is None."""
    import cupy

    module = gpu_module(cases_source()[0])
    helpers = llvm_test_helpers()
    failures = {}
    for index, (op, combo) in enumerate(all_cases()):
        columns = helpers.arguments(op, combo, index)
        _, out_dtype = op.dtype_rule(combo)
        inputs = [cupy.asarray(np.ascontiguousarray(column)) for column in columns]
        out = cupy.zeros(len(columns[0]), dtype=out_dtype)
        kernel = module.get_function(f"case_{index}")  # type: ignore[attr-defined]
        kernel((64,), (128,), (*inputs, out, np.int64(len(out))))
        got = cupy.asnumpy(out)
        expected = helpers.reference(op, combo, columns)
        bad = mismatches(op, combo, columns, got, expected)
        if bad.any():
            failures[op.name, combo] = helpers.describe(columns, got, expected, bad)
    return failures


def gpu_module(source: str) -> object:
    """``source`` compiled for this GPU (jitgraph's CUDA compiler: IEEE flags, no
    flush-to-zero) and loaded."""
    import cupy
    from cupy.cuda import function

    arch = f"sm_{cupy.cuda.Device().compute_capability}"
    module = function.Module()
    module.load(compile_source(source, arch))
    return module


def mismatches(
    op: ScalarOp,
    combo: tuple[str, ...],
    columns: list[np.ndarray],
    got: np.ndarray,
    expected: np.ndarray,
) -> np.ndarray:
    """The LLVM test's comparison with the CUDA tolerances (module docstring)."""
    helpers = llvm_test_helpers()
    helpers.ULPS.update(ULPS)
    helpers.REFERENCE_ERROR.update(REFERENCE_ERROR)
    bad = helpers.mismatches(op, got, expected)
    compute, _ = op.dtype_rule(combo)
    complex_compute = compute[-1] if compute[-1].startswith("complex") else None
    if op.name in COMPLEX_SPECIAL_VALUES_UNCHECKED and complex_compute:
        finite = np.all([np.isfinite(column) for column in columns], axis=0)
        bad &= finite & np.isfinite(expected)
        with np.errstate(invalid="ignore", over="ignore"):
            close = np.abs(got - expected) <= TEXTBOOK_RELATIVE[complex_compute] * np.abs(expected)
        bad &= ~close
    return bad


def test_known_gpu_differences_name_real_cases() -> None:
    cases = {(op.name, combo) for op, combo in all_cases()}
    assert set(KNOWN_GPU_DIFFERENCES) <= cases
    assert all(reason.strip() for reason in KNOWN_GPU_DIFFERENCES.values())


def unexpected_gpu_results(
    failures: dict[tuple[str, tuple[str, ...]], str],
    known: dict[tuple[str, tuple[str, ...]], str] = KNOWN_GPU_DIFFERENCES,
    listing: str = "KNOWN_GPU_DIFFERENCES",
) -> list[str]:
    """What the GPU test fails on: differences not listed in ``known``, and listed cases
    that match NumPy now (remove them from the list)."""
    problems = [
        f"{name}{combo}: {description}"
        for (name, combo), description in failures.items()
        if (name, combo) not in known
    ]
    problems += [
        f"{name}{combo}: listed in {listing} but matches NumPy now"
        for name, combo in known
        if (name, combo) not in failures
    ]
    return problems


def test_known_differences_are_asserted_exactly() -> None:
    known = dict(KNOWN_GPU_DIFFERENCES)
    try:
        KNOWN_GPU_DIFFERENCES.clear()
        KNOWN_GPU_DIFFERENCES["sqrt", ("complex64",)] = "example"
        assert unexpected_gpu_results({("sqrt", ("complex64",)): "1 of 400 differ"}) == []
        assert "matches NumPy now" in unexpected_gpu_results({})[0]
        assert unexpected_gpu_results({("log1p", ("complex128",)): "9 of 400 differ"})
    finally:
        KNOWN_GPU_DIFFERENCES.clear()
        KNOWN_GPU_DIFFERENCES.update(known)


@pytest.mark.cuda
def test_every_case_matches_numpy_on_the_gpu() -> None:
    status = cuda_status()
    if status is not None:
        pytest.skip(status)
    problems = unexpected_gpu_results(run_all_cases_on_gpu())
    assert not problems, f"{len(problems)} unexpected GPU results:\n" + "\n".join(problems)
