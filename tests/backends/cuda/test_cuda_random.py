"""Philox draws on the GPU (jitgraph.backends.cuda.random): the same values as the NumPy
reference ``philox_values``, bit for bit, for every distribution.

Without a GPU: each distribution's kernel source compiles with nvcc, and its
``__host__ __device__`` functions, compiled by nvcc into ONE host program (all
distributions in one translation unit, so the include guards are exercised too), give the
reference's bytes for many keys, counters (up to the 2**32 carry and the 2**64 wrap) and
sizes (partial last blocks, 0); the same host program stands in for the kernel launch to
check ``native_step``'s arguments. With a GPU: ``native_step`` against ``perform``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import jitgraph.tensor as T
from jitgraph.backends.cuda import cuda_status
from jitgraph.backends.cuda import random as cuda_random
from jitgraph.backends.cuda.codegen import BLOCK
from jitgraph.backends.cuda.compile import NVCC_FLAGS, nvcc_path
from jitgraph.backends.cuda.launch import MAX_GRID
from jitgraph.backends.cuda.random import kernel_name, native_step, philox_fill, philox_source
from jitgraph.ir.types import TensorType
from jitgraph.ops.random import DISTRIBUTIONS, PhiloxBits, philox_values

MAX = 0xFFFFFFFF
KEYS = [(0, 0), (MAX, MAX), (0xA4093822, 0x299F31D0)]
COUNTERS = [0, 5, 2**32 - 3, 2**32 - 1, 2**64 - 5, 2**64 - 1]
SIZES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1000, 4099]
NO_GPU = cuda_status()


def nvcc() -> str:
    path = nvcc_path()
    if path is None:
        pytest.skip("nvcc is not on PATH (CUDA C compile test)")
    return path


# ============================================================================ the host program
def harness_source() -> str:
    """A host program: per stdin line ``distribution k0 k1 counter size``, it fills a draw
    block by block with ``jg_philox_<distribution>_fill_block`` (what each kernel thread
    iteration runs) into a buffer pre-filled with 0xAB, and prints ``ok`` (or
    ``overrun``: a byte past the draw changed) and the draw's bytes in hex."""
    branches = "\n".join(
        f'        else if (strcmp(name, "{d}") == 0) '
        f"draw<{cuda_random.CONVERSIONS[d].c_type}, {cuda_random.per_block(d)}>"
        f"(jg_philox_{d}_fill_block, size, counter, k0, k1);"
        for d in DISTRIBUTIONS
    )
    sources = "\n".join(philox_source(d) for d in DISTRIBUTIONS)
    return f"""\
#include <cstdio>
#include <cstdlib>
#include <cstring>
{sources}
template <typename T, int PER_BLOCK>
static void draw(void (*fill)(T*, long long, unsigned long long, unsigned int, unsigned int,
                              long long),
                 long long size, unsigned long long counter, unsigned int k0, unsigned int k1) {{
    const size_t used = (size_t)size * sizeof(T), allocated = (used / 16 + 2) * 16;
    unsigned char* buffer = static_cast<unsigned char*>(aligned_alloc(16, allocated));
    memset(buffer, 0xAB, allocated);
    for (long long j = 0; j * PER_BLOCK < size; ++j) {{
        fill(reinterpret_cast<T*>(buffer), size, counter, k0, k1, j);
    }}
    bool overrun = false;
    for (size_t b = used; b < allocated; ++b) overrun = overrun || buffer[b] != 0xAB;
    printf("%s ", overrun ? "overrun" : "ok");
    for (size_t b = 0; b < used; ++b) printf("%02x", buffer[b]);
    printf("\\n");
    free(buffer);
}}

int main() {{
    char name[64];
    unsigned int k0, k1;
    unsigned long long counter;
    long long size;
    while (scanf("%63s %u %u %llu %lld", name, &k0, &k1, &counter, &size) == 5) {{
        if (false) {{}}
{branches}
        else {{ printf("unknown\\n"); }}
        fflush(stdout);
    }}
    return 0;
}}
"""


@pytest.fixture(scope="module")
def host_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The host program of ``harness_source``, compiled once by nvcc."""
    directory = tmp_path_factory.mktemp("philox-host")
    source, program = directory / "harness.cu", directory / "harness"
    source.write_text(harness_source())
    command = [nvcc(), *NVCC_FLAGS, "-Xcompiler", "-fno-strict-aliasing", str(source)]
    result = subprocess.run([*command, "-o", str(program)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail("nvcc failed on the host program:\n" + (result.stderr + result.stdout)[-4000:])
    return program


Request = tuple[str, tuple[int, int], int, int]  # distribution, key, counter, size


def run_host(program: Path, requests: list[Request]) -> list[np.ndarray]:
    """The host program's draws for ``requests``, as arrays of each distribution's dtype."""
    lines = [f"{d} {k[0]} {k[1]} {counter} {size}\n" for d, k, counter, size in requests]
    result = subprocess.run(
        [str(program)], input="".join(lines), capture_output=True, text=True, check=True
    )
    answers = result.stdout.splitlines()
    assert len(answers) == len(requests), result.stdout[-500:]
    draws = []
    for (distribution, *_), answer in zip(requests, answers):
        status, _, data = answer.partition(" ")
        assert status == "ok", f"{distribution}: the host program wrote past the draw"
        draws.append(np.frombuffer(bytes.fromhex(data), DISTRIBUTIONS[distribution].dtype))
    return draws


def assert_same_bytes(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert got.dtype == expected.dtype and got.shape == expected.shape, what
    if got.tobytes() != expected.tobytes():
        first = int(np.flatnonzero(got.view(np.uint8) != expected.view(np.uint8))[0])
        index = first // got.itemsize
        pytest.fail(f"{what}: element {index} is {got[index]!r}, expected {expected[index]!r}")


# ============================================================================ the source
@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_the_kernel_source_compiles(distribution: str, tmp_path: Path) -> None:
    source = tmp_path / "philox.cu"
    source.write_text(philox_source(distribution))
    cubin = tmp_path / "philox.cubin"
    command = [nvcc(), "-cubin", "-arch=sm_80", *NVCC_FLAGS, str(source), "-o", str(cubin)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + result.stdout
    code = cubin.read_bytes()
    assert code[:4] == b"\x7fELF"
    assert kernel_name(distribution).encode() + b"\0" in code  # the unmangled entry point


def test_an_unknown_distribution_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown distribution 'normal'"):
        philox_source("normal")


# ============================================================================ bits on the host
def test_known_answer_of_random123(host_program: Path) -> None:
    """Random123's known-answer vector of philox4x32_10 (zero counter, zero key)."""
    [words] = run_host(host_program, [("bits", (0, 0), 0, 4)])
    assert words.tolist() == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_host_draws_match_the_reference(host_program: Path, distribution: str) -> None:
    requests = [
        (distribution, key, counter, size) for key in KEYS for counter in COUNTERS for size in SIZES
    ]
    requests.append((distribution, KEYS[2], 2**64 - 7, 2**17 + 3))  # wraps mid-draw
    for (_, key, counter, size), got in zip(requests, run_host(host_program, requests)):
        expected = philox_values(np.array(key, np.uint32), counter, 0, size, distribution)
        assert_same_bytes(got, expected, f"{distribution} key={key} counter={counter} n={size}")


def test_uniforms_are_in_the_unit_interval(host_program: Path) -> None:
    for distribution in ("uniform32", "uniform64"):
        [values] = run_host(host_program, [(distribution, KEYS[2], 99, 10**5)])
        assert values.min() >= 0.0 and values.max() < 1.0
        assert abs(float(values.mean()) - 0.5) < 0.01


# ============================================================== native_step's arguments
class HostArray:
    """A stand-in device array over a NumPy array (what ``philox_fill`` reads of one)."""

    def __init__(self, array: np.ndarray, offset: int = 0) -> None:
        self.array = array
        self.shape, self.dtype, self.size = array.shape, array.dtype, array.size
        self.flags = array.flags
        self.data = SimpleNamespace(ptr=array.ctypes.data + offset)


@pytest.fixture
def host_launches(
    host_program: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[tuple[Any, ...]]]:
    """Kernel launches replaced by the host program (given the launch's arguments), and a
    CuPy whose ``empty`` makes ``HostArray``s: the launches made are recorded."""
    launches: list[tuple[Any, ...]] = []

    def kernel(distribution: str, entry: str) -> Callable[..., None]:
        assert entry == kernel_name(distribution)  # host key and counter: the scalar entry

        def run(grid: tuple[int, ...], block: tuple[int, ...], arguments: tuple[Any, ...]) -> None:
            out, size, counter, k0, k1 = arguments
            assert isinstance(size, np.int64) and isinstance(counter, np.uint64)
            assert isinstance(k0, np.uint32) and isinstance(k1, np.uint32)
            launches.append((distribution, grid, block, int(size)))
            request = (distribution, (int(k0), int(k1)), int(counter), int(size))
            out.array.reshape(-1)[:] = run_host(host_program, [request])[0]

        return run

    fake_cupy = SimpleNamespace(empty=lambda shape, dtype: HostArray(np.empty(shape, dtype)))
    monkeypatch.setattr(cuda_random, "_kernel", kernel)
    monkeypatch.setattr(cuda_random, "_cupy", lambda: fake_cupy)
    yield launches


def philox_node(distribution: str, ndim: int) -> Any:
    key = TensorType("uint32", (2,))("key")
    counter = T.scalar("counter", dtype="uint64")
    shape = [T.lscalar(f"n{axis}") for axis in range(ndim)] or np.zeros(0, dtype=np.int64)
    return PhiloxBits(distribution)(key, counter, shape).owner


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 5), (2, 0, 3), (513, 9)])
def test_native_step_launches_the_draw_perform_computes(
    host_launches: list[tuple[Any, ...]], distribution: str, shape: tuple[int, ...]
) -> None:
    node = philox_node(distribution, len(shape))
    step = native_step(node)
    assert step is not None
    key = np.array([0xDEADBEEF, 7], dtype=np.uint32)
    for counter in (np.uint64(11), np.uint64(2**64 - 1)):
        arguments = [key, counter, np.array(shape, dtype=np.int64)]
        [out] = step(arguments)
        [expected] = node.op.perform(node, arguments)
        assert_same_bytes(out.array, expected, f"{distribution} {shape}")
    size = int(np.prod(shape, dtype=np.int64))
    if size == 0:
        assert host_launches == []  # nothing to draw: no launch
        return
    assert len(host_launches) == 2
    _, (grid, _, _), (threads, _, _), launched = host_launches[0]
    assert launched == size and threads == BLOCK and 1 <= grid <= MAX_GRID
    assert grid * threads * cuda_random.per_block(distribution) >= size  # a block per thread


def test_native_step_is_for_philox_nodes_only() -> None:
    assert native_step(T.exp(T.vector("x")).owner) is None


def test_fill_refuses_unsuitable_outputs() -> None:
    key = np.zeros(2, dtype=np.uint32)
    with pytest.raises(ValueError, match="C-contiguous float32"):
        philox_fill(HostArray(np.empty(8, np.float64)), key, 0, "uniform32")
    with pytest.raises(ValueError, match="C-contiguous uint32"):
        philox_fill(HostArray(np.empty((4, 4), np.uint32).T), key, 0, "bits")
    with pytest.raises(ValueError, match="16-byte aligned"):
        philox_fill(HostArray(np.empty(8, np.uint32), offset=4), key, 0, "bits")


def test_negative_sizes_are_refused(host_launches: list[tuple[Any, ...]]) -> None:
    step = native_step(philox_node("bits", 2))
    assert step is not None
    with pytest.raises(ValueError, match="negative size"):
        step([np.zeros(2, np.uint32), np.uint64(0), np.array([3, -2])])


# ============================================================================ on a GPU
@pytest.mark.cuda
@pytest.mark.skipif(NO_GPU is not None, reason=f"needs CuPy and a GPU: {NO_GPU}")
@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_gpu_draws_match_perform(distribution: str) -> None:
    import cupy

    from jitgraph.backends.cuda.runtime import is_device_array

    for shape in [(), (0,), (1,), (5,), (3, 7), (1000,), (257, 129), (2**20 + 3,)]:
        node = philox_node(distribution, len(shape))
        step = native_step(node)
        assert step is not None
        for counter in (0, 2**32 - 2, 2**64 - 3):
            key = np.array(KEYS[2], dtype=np.uint32)
            host_arguments = [key, np.uint64(counter), np.array(shape, dtype=np.int64)]
            [expected] = node.op.perform(node, host_arguments)
            device_key, device_counter = cupy.asarray(key), cupy.asarray(np.uint64(counter))
            device_arguments = [device_key, device_counter, host_arguments[2]]
            for arguments in (host_arguments, device_arguments):
                [out] = step(arguments)
                assert is_device_array(out) and out.flags.c_contiguous
                assert_same_bytes(out.get(), expected, f"{distribution} {shape} {counter}")


@pytest.mark.cuda
@pytest.mark.skipif(NO_GPU is not None, reason=f"needs CuPy and a GPU: {NO_GPU}")
@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_any_grid_gives_the_same_draw(distribution: str) -> None:
    """A grid smaller than the draw: the grid-stride loop covers every block."""
    import cupy

    key = np.array(KEYS[1], dtype=np.uint32)
    size = 3 * BLOCK * cuda_random.per_block(distribution) + 5
    expected = philox_values(key, 2**64 - 2, 0, size, distribution)
    for grid in (1, 2, 7):
        out = cupy.empty(size, dtype=DISTRIBUTIONS[distribution].dtype)
        philox_fill(out, key, 2**64 - 2, distribution, grid=grid)
        assert_same_bytes(out.get(), expected, f"{distribution} grid={grid}")
