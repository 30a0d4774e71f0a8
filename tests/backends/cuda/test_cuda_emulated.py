"""The generated CUDA kernels RUN without a GPU: the CUDA emulator (emulator.py) compiles
them for the host, and the fixture ``emulated_gpu`` (conftest.py) lets the real
``launch.launch``, ``launch.prepare`` and ``random.philox_fill`` drive them on the stand-in
CuPy's memory. So the kernels' indexing, strides, vector loads and stores, reductions
(shared-memory and warp-shuffle trees, partial passes) and the Philox draw are executed
here, against the NumPy oracle, as tests/backends/cuda/test_cuda_codegen.py and
test_cuda_function.py check them on a GPU (their cases and helpers are imported).

The emulator's math functions are the host's libm (a few approximated), not CUDA's: the
comparisons are those of the GPU tests (exact where the ops are exact, else within their
tolerances). Every test skips, saying why, where there is no host C++ compiler; without a
CUDA toolkit the emulator compiles against its own stand-in headers.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import warnings
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from jitgraph.backends.cuda import codegen
from jitgraph.backends.kernel import Kernel, evaluate
from jitgraph.ops.random import DISTRIBUTIONS, philox_values

HERE = Path(__file__).resolve().parent


@functools.cache
def sibling(name: str) -> ModuleType:
    """tests/backends/cuda/<name>.py, for its cases and helpers (loaded by path)."""
    spec = importlib.util.spec_from_file_location(f"emulated_{name}_helpers", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def codegen_tests() -> ModuleType:
    return sibling("test_cuda_codegen")


def module_name(kernel: Kernel) -> str:
    """The name launch.py gives a kernel's module (so ``preload`` serves its launches)."""
    return "k" + kernel.key()[:16]


@pytest.fixture(scope="module")
def matrix(cuda_emulator: ModuleType) -> dict[str, Kernel]:
    """The kernel matrix of test_cuda_codegen.py, compiled for the emulator as ONE
    translation unit that answers each kernel's own source."""
    kernels = codegen_tests().kernel_matrix()
    pairs = [(k, module_name(k)) for k in kernels.values()]
    cuda_emulator.preload(
        codegen.module_source(pairs), [codegen.kernel_source(k, n) for k, n in pairs]
    )
    return kernels


def defined_entries(emulator: ModuleType, kernel: Kernel) -> set[str]:
    return set(emulator.entries(codegen.kernel_source(kernel, module_name(kernel))))


# ============================================================================ the matrix
@pytest.mark.parametrize("name", list(codegen_tests().kernel_matrix()))
def test_matrix_runs_emulated(
    name: str, matrix: dict[str, Kernel], emulated_gpu: Any, cuda_emulator: ModuleType
) -> None:
    """Every kernel of the matrix through the real launch on every extent of the GPU test
    (broadcast, empty, 0-d) and every layout, against ``kernel.evaluate``; every entry
    point but the partial passes (test below) runs (rank 1 and up)."""
    kernel = matrix[name]
    before = cuda_emulator.launches.copy()
    codegen_tests().check_matrix_kernel(emulated_gpu, name, kernel)
    if kernel.ndim == 0:
        return  # one element: always contiguous, too few for a vector
    ran = set(cuda_emulator.launches - before)
    missing = {e for e in defined_entries(cuda_emulator, kernel) - ran if "_part" not in e}
    assert not missing, f"entries never launched: {sorted(missing)}"


REDUCTIONS = [
    # (shape, dtype, kind, axes): every reduced size crosses its chunk, so partials run
    ((3, 10_000), "float64", "sum", (1,)),
    ((10_000, 3), "float64", "sum", (0,)),
    ((3, 50, 90), "float32", "sum", (0, 1, 2)),
    ((300, 2, 5), "float32", "max", (0,)),
    ((2, 9_000), "int64", "min", (1,)),
    ((5_000, 2), "int32", "sum", (0,)),
    ((9_000,), "bool", "any", (0,)),
    ((2, 5_000), "bool", "all", (1,)),
    ((4_500, 2), "complex128", "sum", (0,)),
    ((2, 4_500), "int32", "prod", (1,)),
    ((70_000, 2), "float32", "sum", (0,)),  # 547 column chunks: a block partial pass
]


@pytest.mark.parametrize("shape, dtype, kind, axes", REDUCTIONS)
def test_large_reductions_run_their_partial_passes(
    shape: tuple[int, ...],
    dtype: str,
    kind: str,
    axes: tuple[int, ...],
    emulated_gpu: Any,
    cuda_emulator: ModuleType,
) -> None:
    from jitgraph.backends.cuda.launch import launch

    cupy, helpers = emulated_gpu, codegen_tests()
    kernel = helpers.reduction(len(shape), dtype, kind, axes)
    rng = np.random.default_rng(zlib.crc32(repr((shape, dtype, kind)).encode()))
    value = helpers.random_input(rng, dtype, shape, kind)
    if kind == "all":
        value[:, : shape[1] // 2] = True  # a long run of True before the first False
    [expected] = evaluate(kernel, [value])
    before = cuda_emulator.launches.copy()
    [first] = launch(kernel, [cupy.asarray(value)])
    assert any("_part" in e for e in cuda_emulator.launches - before), "no partial pass ran"
    [again] = launch(kernel, [codegen_tests().non_contiguous(cupy, value, "transposed")])
    count = math.prod(shape[a] for a in axes)
    for got in (first, again):
        helpers.assert_close(kernel, cupy.asnumpy(got), expected, count, kernel.outputs[0])
    [second] = launch(kernel, [cupy.asarray(value)])
    np.testing.assert_array_equal(cupy.asnumpy(first), cupy.asnumpy(second))  # deterministic


# ============================================================================ the op table
# Cases of test_cuda_scalar.py whose emulated result differs from NumPy, with the reason.
# The emulator runs the prelude's own logic, so a difference here is one a GPU shows too,
# unless the reason names an emulated math function.
KNOWN_EMULATED_DIFFERENCES: dict[tuple[str, tuple[str, ...]], str] = {}


def test_every_op_table_case_runs_emulated(emulated_gpu: Any, cuda_emulator: ModuleType) -> None:
    """Every case of test_cuda_scalar.py (every op, every dtype combination) on the
    emulator, compared with NumPy as the GPU test compares (its own function runs here,
    on the stand-in CuPy); the differences are exactly those listed above."""
    scalar_tests = sibling("test_cuda_scalar")
    cuda_emulator.preload(scalar_tests.cases_source()[0], optimize=False)  # -O0: 2x faster
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        failures = scalar_tests.run_all_cases_on_gpu()
    problems = scalar_tests.unexpected_gpu_results(
        failures, KNOWN_EMULATED_DIFFERENCES, "KNOWN_EMULATED_DIFFERENCES"
    )
    assert not problems, "\n".join(problems)


# ============================================================================ Philox
@pytest.mark.parametrize("state", ["host", "device"])
@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_philox_draws_are_the_reference_values(
    distribution: str, state: str, emulated_gpu: Any, cuda_emulator: ModuleType
) -> None:
    """The draw with the key and counter as launch scalars (host state) or read by the
    kernel from device memory (a stream state on the GPU: the ``_device`` entry)."""
    from jitgraph.backends.cuda.random import kernel_name, philox_fill

    cupy = emulated_gpu
    dtype = DISTRIBUTIONS[distribution].dtype
    key = np.array([0xDEADBEEF, 7], dtype=np.uint32)
    before = cuda_emulator.launches.copy()
    for size, counter, grid in ((1, 0, None), (1001, 2**64 - 3, None), (4099, 11, 1)):
        out = cupy.empty(size, dtype)
        if state == "device":
            philox_fill(
                out, cupy.asarray(key), cupy.asarray(np.uint64(counter)), distribution, grid
            )
        else:
            philox_fill(out, key, counter, distribution, grid=grid)
        expected = philox_values(key, counter, 0, size, distribution)
        np.testing.assert_array_equal(out.get().view(np.uint8), expected.view(np.uint8))
    entry = kernel_name(distribution) + ("_device" if state == "device" else "")
    assert set(cuda_emulator.launches - before) == {entry}


def test_random_streams_draw_on_the_emulated_gpu(
    emulated_gpu: Any, cuda_emulator: ModuleType
) -> None:
    before = cuda_emulator.launches.copy()
    sibling("test_cuda_function").test_random_streams_give_the_cpu_draws(emulated_gpu)
    assert any(e.startswith("philox_") for e in cuda_emulator.launches - before)


# ============================================================================ end to end
@pytest.mark.parametrize(
    "name",
    [
        "test_outputs_stay_on_the_gpu_and_match_the_cpu",
        "test_output_device_cpu_gives_numpy",
        "test_logistic_regression_training_matches_the_cpu",
        "test_ifelse_takes_the_branch_on_the_gpu",
    ],
)
def test_functions_run_their_kernels_emulated(
    name: str, emulated_gpu: Any, cuda_emulator: ModuleType
) -> None:
    """test_cuda_function.py's end-to-end checks with each kernel launch executed."""
    before = cuda_emulator.launches.copy()
    getattr(sibling("test_cuda_function"), name)(emulated_gpu)
    assert cuda_emulator.launches - before, "no kernel ran emulated"


# ============================================================================ the emulator
HANDWRITTEN = r"""
extern "C" __global__ void __launch_bounds__(64) reverse(const int* __restrict__ x,
                                                       int* __restrict__ out,
                                                       const long long n) {
    __shared__ int tile[64];
    for (long long b = blockIdx.x; b * 64 < n; b += gridDim.x) {
        const long long i = b * 64 + threadIdx.x;
        tile[threadIdx.x] = i < n ? x[i] : -1;
        __syncthreads();
        if (i < n) out[i] = tile[63 - threadIdx.x];
        __syncthreads();
    }
}
extern "C" __global__ void shuffle_down(const unsigned int delta, double* __restrict__ out) {
    const unsigned lane = threadIdx.x % 32;
    out[threadIdx.x] = __shfl_down_sync(0xffffffffu, (double)(threadIdx.x * 10), delta);
    (void)lane;
}
extern "C" __global__ void divergent(int* __restrict__ out) {
    if (threadIdx.x != 3) __syncthreads();  // thread 3 never arrives
    out[threadIdx.x] = 1;
}
__device__ void hidden_barrier() { __syncthreads(); }
extern "C" __global__ void hides_its_barrier(int* __restrict__ out) {
    hidden_barrier();
    out[threadIdx.x] = 1;
}
extern "C" __global__ void one_too_far(float* __restrict__ out, const long long n) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n) out[i] = 1.0f;  // the bug: i == n is past the end
}
extern "C" __global__ void specials(const double* __restrict__ x, double* __restrict__ out) {
    const double v = x[threadIdx.x];
    out[4 * threadIdx.x] = erf(erfinv(v));
    out[4 * threadIdx.x + 1] = erfc(erfcinv(1.0 - v));
    out[4 * threadIdx.x + 2] = sinpi(v * 3.0);
    out[4 * threadIdx.x + 3] = __dadd_rn(cospi(v), __longlong_as_double(0LL));
}
"""


@pytest.fixture(scope="module")
def handwritten(cuda_emulator: ModuleType) -> Any:
    return cuda_emulator.load(HANDWRITTEN)


def test_shared_memory_and_barriers_are_per_block(handwritten: Any) -> None:
    x = np.arange(150, dtype=np.int32)
    out = np.zeros(150, dtype=np.int32)
    function = handwritten.get_function("reverse")
    assert function.threaded
    for grid in (1, 2, 3):
        out[:] = 0
        function((grid, 1, 1), (64, 1, 1), (x, out, np.int64(150)))
        padded = np.concatenate([x, np.full(192 - 150, -1, np.int32)])
        expected = padded.reshape(3, 64)[:, ::-1].reshape(-1)[:150]
        np.testing.assert_array_equal(out, expected)


def test_shuffles_read_the_lane_delta_above(handwritten: Any) -> None:
    out = np.zeros(64)
    for delta in (1, 16):
        handwritten.get_function("shuffle_down")((1, 1, 1), (64, 1, 1), (np.uint32(delta), out))
        lanes = np.arange(64)
        source = np.where(lanes % 32 + delta < 32, lanes + delta, lanes)
        np.testing.assert_array_equal(out, source * 10.0)


def test_barriers_not_all_threads_reach_are_errors(handwritten: Any, cuda_emulator: Any) -> None:
    out = np.zeros(64, dtype=np.int32)
    with pytest.raises(cuda_emulator.EmulatorError, match="not all threads"):
        handwritten.get_function("divergent")((1, 1, 1), (64, 1, 1), (out,))
    assert not handwritten.get_function("hides_its_barrier").threaded
    with pytest.raises(cuda_emulator.EmulatorError, match="without threads"):
        handwritten.get_function("hides_its_barrier")((1, 1, 1), (64, 1, 1), (out,))
    handwritten.get_function("reverse")((1, 1, 1), (64, 1, 1), (out, out, np.int64(0)))  # usable


def test_approximated_math_functions_invert_their_counterparts(handwritten: Any) -> None:
    x = np.linspace(-0.99, 0.99, 32)
    out = np.zeros(4 * 32)
    handwritten.get_function("specials")((1, 1, 1), (32, 1, 1), (x, out))
    got = out.reshape(32, 4)
    np.testing.assert_allclose(got[:, 0], x, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got[:, 1], 1.0 - x, rtol=1e-13)
    np.testing.assert_allclose(got[:, 2], np.sin(np.pi * 3 * x), atol=1e-14)
    np.testing.assert_allclose(got[:, 3], np.cos(np.pi * x), atol=1e-14)


def test_arguments_are_checked_as_a_gpu_would_need_them(
    handwritten: Any, emulated_gpu: Any, cuda_emulator: ModuleType
) -> None:
    function = handwritten.get_function("reverse")
    x, out = np.arange(64, dtype=np.int32), np.zeros(64, dtype=np.int32)
    with pytest.raises(TypeError, match="int32 scalar"):
        function((1, 1, 1), (64, 1, 1), (x, out, np.int32(64)))  # 4 bytes for a long long
    with pytest.raises(TypeError, match="takes 3 arguments"):
        function((1, 1, 1), (64, 1, 1), (x, out))
    with pytest.raises(TypeError, match="pointer parameter takes an array"):
        function((1, 1, 1), (64, 1, 1), (x, 5, np.int64(64)))
    module = emulated_gpu.cuda.function.Module()
    module.load(HANDWRITTEN.encode())
    device = module.get_function("reverse")
    with pytest.raises(TypeError, match="host array reached a kernel launch"):
        device((1, 1, 1), (64, 1, 1), (x, emulated_gpu.asarray(out), np.int64(64)))
    result = emulated_gpu.zeros(64, dtype=np.int32)
    device((1, 1, 1), (64, 1, 1), (emulated_gpu.asarray(x), result, 64))  # an int is int64
    np.testing.assert_array_equal(result.get(), x[::-1])


def test_writes_past_a_device_array_are_caught(emulated_gpu: Any) -> None:
    module = emulated_gpu.cuda.function.Module()
    module.load(HANDWRITTEN.encode())
    out = emulated_gpu.empty(10, np.float32)
    assert out.data.ptr % 256 == 0  # aligned as CuPy's allocations
    with pytest.raises(RuntimeError, match="one_too_far wrote outside .* 40 bytes .*offset 40"):
        module.get_function("one_too_far")((1, 1, 1), (64, 1, 1), (out, np.int64(10)))
    fine = emulated_gpu.empty((2, 5), np.float32)
    module.get_function("one_too_far")((1, 1, 1), (64, 1, 1), (fine[0], np.int64(4)))
    np.testing.assert_array_equal(fine.get()[0], 1.0)


def test_compile_errors_raise_with_the_compiler_message(cuda_emulator: ModuleType) -> None:
    with pytest.raises(cuda_emulator.EmulatorError, match="(?s)refused.*missing.*not declared"):
        cuda_emulator.load('extern "C" __global__ void broken(int* x) { x[0] = missing; }')


def test_the_plain_simulated_gpu_still_runs_no_cuda_code(simulated_gpu: Any) -> None:
    with pytest.raises(NotImplementedError, match="runs no CUDA code"):
        simulated_gpu.cuda.function.Module()


# ============================================================================ stand-in headers
_HALF_PROGRAM = r"""
#include <cstdio>
#include <vector>
#include "cuda_fp16.h"
int main() {  /* stdin: n doubles; stdout: their halves' bits, then every half as a float */
  long long n;
  if (std::fread(&n, sizeof n, 1, stdin) != 1) return 1;
  std::vector<double> values(n);
  if (std::fread(values.data(), sizeof(double), n, stdin) != (size_t)n) return 1;
  for (double v : values) {
    unsigned short bits = __half_as_ushort(__double2half(v));
    std::fwrite(&bits, sizeof bits, 1, stdout);
  }
  for (unsigned b = 0; b < 65536; ++b) {
    float f = __half2float(__ushort_as_half((unsigned short)b));
    std::fwrite(&f, sizeof f, 1, stdout);
  }
  return 0;
}
"""


def test_standin_float16_conversions_are_numpys(cuda_emulator: ModuleType, tmp_path: Path) -> None:
    """The float16 of STANDIN_HEADERS (used where no CUDA toolkit is installed): every
    half widens exactly; doubles round to nearest even once, as NumPy's astype does, at
    every halfway point between neighbouring halves and one double ulp either side of it,
    through subnormals, the overflow threshold, infinities and NaN."""
    import subprocess

    for name, text in cuda_emulator.STANDIN_HEADERS.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "half.cpp").write_text(_HALF_PROGRAM)
    program = tmp_path / "half"
    compiler = cuda_emulator.host_compiler()
    subprocess.run(
        [
            compiler,
            "-std=c++17",
            "-O1",
            "-ffp-contract=off",
            "-I",
            str(tmp_path),
            "-o",
            str(program),
            str(tmp_path / "half.cpp"),
        ],
        check=True,
    )
    halves = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)
    finite = np.sort(np.unique(halves[np.isfinite(halves)].astype(np.float64)))
    middles = (finite[:-1] + finite[1:]) / 2  # exact in float64
    doubles = np.concatenate(
        [
            finite,
            middles,
            np.nextafter(middles, np.inf),
            np.nextafter(middles, -np.inf),
            [65504.0, 65519.99, 65520.0, 1e300, -1e300, np.inf, -np.inf, 5e-324, -0.0, 0.0],
            np.random.default_rng(3).standard_normal(10_000)
            * 10.0 ** np.arange(-9, 1).repeat(1000),
        ]
    )
    given = np.int64(doubles.size).tobytes() + doubles.tobytes()
    output = subprocess.run([str(program)], input=given, capture_output=True, check=True).stdout
    rounded = np.frombuffer(output[: 2 * doubles.size], dtype=np.uint16)
    np.testing.assert_array_equal(rounded, doubles.astype(np.float16).view(np.uint16))
    widened = np.frombuffer(output[2 * doubles.size :], dtype=np.float32)
    np.testing.assert_array_equal(widened, halves.astype(np.float32))  # NaNs: as NaNs
    nan_bits = np.frombuffer(
        subprocess.run(
            [str(program)],
            input=np.int64(1).tobytes() + np.array([np.nan]).tobytes(),
            capture_output=True,
            check=True,
        ).stdout[:2],
        dtype=np.uint16,
    )
    assert np.isnan(nan_bits.view(np.float16))[0]
