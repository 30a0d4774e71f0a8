"""Philox4x32-10 draws on the GPU for ``PhiloxBits`` nodes (jitgraph.ops.random), bit for
bit the values of the NumPy reference ``philox_values`` (and of the LLVM backend).

``philox_source(distribution)`` is one CUDA C translation unit defining:

- ``jg_philox4x32_10(block, k0, k1, words)``: the four words of Philox4x32-10 of the
  block number ``block`` (counter ``(lo32, hi32, 0, 0)``) under the key ``(k0, k1)``;
- ``jg_philox_<distribution>_element(words)``: one element's value from its words (the
  ``words_to_values`` conversion: every step is exact, so no rounding mode matters);
- ``jg_philox_<distribution>_fill_block(out, size, counter, k0, k1, j)``: the elements of
  draw block ``j`` (``per_block`` = 4 / words-per-element of them, from Philox block
  ``counter + j`` mod 2**64), written to ``out`` with one 16-byte store when the block
  is whole, element by element when it is the last, partial one;
- ``philox_<distribution>(out, size, counter, k0, k1)``: the ``__global__`` kernel, a
  grid-stride loop over the ``ceil(size / per_block)`` draw blocks, one Philox block per
  thread iteration;
- ``philox_<distribution>_device(out, size, counter, key)``: the same kernel reading the
  counter (one uint64) and the key (two uint32) from device memory, for a stream state
  that lives on the GPU: nothing is copied to the host and the launch does not wait.

The first three are ``__host__ __device__`` (the tests compile them into a host program
and compare with the reference) and are guarded, so sources of several distributions may
share one translation unit. ``out`` must be 16-byte aligned (CuPy's allocations are).

``native_step(node)`` runs a ``PhiloxBits`` node on the GPU: it allocates the output with
CuPy (the shape is read to the host, where it is almost always already: a constant) and
launches the kernel, compiled (``compile.compile_source``) and loaded once per process,
distribution and device arch; a key and counter on the device are read by the kernel
(``_device`` entry), host ones are passed as scalars.

>>> source = philox_source("uniform32")
>>> 'extern "C" __global__ void __launch_bounds__(256) philox_uniform32(' in source
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from jitgraph.backends.cuda.codegen import BLOCK
from jitgraph.backends.cuda.compile import compile_source
from jitgraph.backends.cuda.launch import MAX_GRID
from jitgraph.backends.cuda.runtime import is_device_array, to_host
from jitgraph.ir.graph import Node
from jitgraph.ops.random import (
    DISTRIBUTIONS,
    PHILOX_M0,
    PHILOX_M1,
    PHILOX_W0,
    PHILOX_W1,
    ROUNDS,
    PhiloxBits,
    output_shape,
)

__all__ = ["CONVERSIONS", "kernel_name", "native_step", "per_block", "philox_fill", "philox_source"]

BLOCK_BYTES = 16  # one Philox block: 4 words, stored as one 16-byte vector


@dataclasses.dataclass(frozen=True)
class Conversion:
    """How a distribution's element is made in CUDA C: its C type, the 16-byte CUDA vector
    type holding one block's elements, and the C expression of one element from its words
    ``w[0]``, ``w[1]``, ... (``words_to_values``, jitgraph.ops.random)."""

    c_type: str
    vector_type: str
    expression: str


# One entry per distribution of jitgraph.ops.random.DISTRIBUTIONS (checked at import).
CONVERSIONS: dict[str, Conversion] = {
    "bits": Conversion("unsigned int", "uint4", "w[0]"),
    # below 2**24 after the shift: the conversion and the power-of-two scaling are exact
    "uniform32": Conversion("float", "float4", "(float)(w[0] >> 8) * 0x1p-24f"),
    # NumPy's 53-bit integer (w0 >> 5) * 2**26 + (w1 >> 6), converted exactly, then scaled
    "uniform64": Conversion(
        "double",
        "double2",
        "(double)(((unsigned long long)(w[0] >> 5) << 26) | (unsigned long long)(w[1] >> 6))"
        " * 0x1p-53",
    ),
}


def _check_conversions() -> None:
    """Every distribution has a conversion, and one Philox block (4 words) gives 16 bytes
    of its elements (the kernel stores a whole block as one 16-byte vector)."""
    if set(CONVERSIONS) != set(DISTRIBUTIONS):
        raise AssertionError(
            f"jitgraph.backends.cuda.random: CONVERSIONS covers {sorted(CONVERSIONS)}, "
            f"the distributions are {sorted(DISTRIBUTIONS)}"
        )
    for name, distribution in DISTRIBUTIONS.items():
        if 4 // distribution.words * np.dtype(distribution.dtype).itemsize != BLOCK_BYTES:
            raise AssertionError(f"random distribution {name!r}: a block is not 16 bytes")


_check_conversions()

_ROUND_FUNCTION = f"""\
#ifndef JG_PHILOX4X32_10_DEFINED
#define JG_PHILOX4X32_10_DEFINED
// Philox4x32-10 (Salmon et al., SC'11) of the counter (lo32(block), hi32(block), 0, 0).
__host__ __device__ __forceinline__ void jg_philox4x32_10(
    const unsigned long long block, unsigned int k0, unsigned int k1, unsigned int words[4]) {{
    unsigned int c0 = (unsigned int)block, c1 = (unsigned int)(block >> 32), c2 = 0u, c3 = 0u;
#pragma unroll
    for (int round = 0; round < {ROUNDS}; ++round) {{
        if (round > 0) {{  // the key is bumped between rounds
            k0 += {PHILOX_W0:#010x}u;
            k1 += {PHILOX_W1:#010x}u;
        }}
        const unsigned long long product0 = (unsigned long long)c0 * {PHILOX_M0:#010x}u;
        const unsigned long long product1 = (unsigned long long)c2 * {PHILOX_M1:#010x}u;
        c0 = (unsigned int)(product1 >> 32) ^ c1 ^ k0;
        c1 = (unsigned int)product1;
        c2 = (unsigned int)(product0 >> 32) ^ c3 ^ k1;
        c3 = (unsigned int)product0;
    }}
    words[0] = c0;
    words[1] = c1;
    words[2] = c2;
    words[3] = c3;
}}
#endif
"""


def kernel_name(distribution: str) -> str:
    """The ``__global__`` function of ``distribution``'s source: ``philox_<distribution>``."""
    return f"philox_{distribution}"


def per_block(distribution: str) -> int:
    """Elements of ``distribution`` one Philox block (4 words) gives."""
    return 4 // DISTRIBUTIONS[distribution].words


def _block_functions(distribution: str) -> str:
    """The ``__host__ __device__`` element and block functions of ``distribution``."""
    conversion = CONVERSIONS[distribution]
    count, width = per_block(distribution), DISTRIBUTIONS[distribution].words
    t, prefix = conversion.c_type, f"jg_philox_{distribution}"
    values = ", ".join(f"values[{p}]" for p in range(count))
    guard = f"JG_PHILOX_{distribution.upper()}_DEFINED"
    return f"""\
#ifndef {guard}
#define {guard}
__host__ __device__ __forceinline__ {t} {prefix}_element(const unsigned int* w) {{
    return {conversion.expression};
}}

// Elements {count} * j ... of the draw (key, counter): Philox block counter + j (mod 2**64).
__host__ __device__ __forceinline__ void {prefix}_fill_block(
    {t}* __restrict__ out, const long long size, const unsigned long long counter,
    const unsigned int k0, const unsigned int k1, const long long j) {{
    unsigned int words[4];
    jg_philox4x32_10(counter + (unsigned long long)j, k0, k1, words);
    {t} values[{count}];
    for (int p = 0; p < {count}; ++p) values[p] = {prefix}_element(words + {width} * p);
    const long long first = {count} * j;
    if (first + {count} <= size) {{  // a whole block: one 16-byte store
        *reinterpret_cast<{conversion.vector_type}*>(out + first) =
            make_{conversion.vector_type}({values});
    }} else {{
        for (long long i = first; i < size; ++i) out[i] = values[i - first];
    }}
}}
#endif
"""


def philox_source(distribution: str) -> str:
    """The CUDA C translation unit of ``distribution``'s draw kernel (module docstring)."""
    if distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"philox_source: unknown distribution {distribution!r} "
            f"(one of {', '.join(sorted(DISTRIBUTIONS))})"
        )
    t, count = CONVERSIONS[distribution].c_type, per_block(distribution)
    kernel = f"""\
extern "C" __global__ void __launch_bounds__({BLOCK}) {kernel_name(distribution)}(
    {t}* __restrict__ out, const long long size, const unsigned long long counter,
    const unsigned int k0, const unsigned int k1) {{
    const long long blocks = (size + {count - 1}) / {count};
    const long long step = (long long)gridDim.x * blockDim.x;
    for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j < blocks; j += step) {{
        jg_philox_{distribution}_fill_block(out, size, counter, k0, k1, j);
    }}
}}
"""
    kernel += f"""
extern "C" __global__ void __launch_bounds__({BLOCK}) {kernel_name(distribution)}_device(
    {t}* __restrict__ out, const long long size,
    const unsigned long long* __restrict__ counter, const unsigned int* __restrict__ key) {{
    const unsigned long long start = *counter;
    const unsigned int k0 = key[0], k1 = key[1];
    const long long blocks = (size + {count - 1}) / {count};
    const long long step = (long long)gridDim.x * blockDim.x;
    for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j < blocks; j += step) {{
        jg_philox_{distribution}_fill_block(out, size, start, k0, k1, j);
    }}
}}
"""
    header = f"// jitgraph: Philox4x32-10 draw, distribution {distribution!r}\n"
    return header + _ROUND_FUNCTION + "\n" + _block_functions(distribution) + "\n" + kernel


# ============================================================================ running it
_kernels: dict[tuple[str, int], Any] = {}


def _cupy() -> Any:
    from jitgraph.backends.cuda.runtime import cupy_module

    return cupy_module()


def _kernel(distribution: str, entry: str) -> Any:
    """The loaded kernel ``entry`` of ``distribution``'s module on the current device
    (compiled once per arch, loaded once per process and device: a module belongs to one
    device's context)."""
    cupy = _cupy()
    device = cupy.cuda.Device()
    if (distribution, device.id) not in _kernels:
        module = cupy.cuda.function.Module()
        module.load(compile_source(philox_source(distribution), "sm_" + device.compute_capability))
        # the module stays referenced with its functions: unloading it would free the code
        _kernels[(distribution, device.id)] = module
    return _kernels[(distribution, device.id)].get_function(entry)


def philox_fill(
    out: Any, key: Any, counter: Any, distribution: str = "bits", grid: int | None = None
) -> None:
    """Write elements ``0 <= i < out.size`` of the ``distribution`` draw (``key``: two
    words, ``counter``: taken mod 2**64) into ``out``, a C-contiguous, 16-byte aligned CuPy
    array of the distribution's dtype. ``key`` and ``counter`` are host values, or both
    CuPy arrays (uint32 of shape (2,), uint64 of shape ()), which the kernel reads on the
    device. ``grid`` (blocks of ``BLOCK`` threads) defaults to enough for one Philox block
    per thread, at most ``MAX_GRID``; any grid gives the same values (the kernel's loop is
    grid-stride)."""
    dtype = np.dtype(DISTRIBUTIONS[distribution].dtype)
    if out.dtype != dtype or not out.flags.c_contiguous:
        raise ValueError(
            f"philox_fill: out must be a C-contiguous {dtype} array, got {out.dtype} "
            f"({'C-contiguous' if out.flags.c_contiguous else 'not C-contiguous'})"
        )
    if out.size == 0:
        return
    if out.data.ptr % BLOCK_BYTES:
        raise ValueError(f"philox_fill: out must be {BLOCK_BYTES}-byte aligned")
    blocks = -(-out.size // per_block(distribution))
    if grid is None:
        grid = min(-(-blocks // BLOCK), MAX_GRID)
    if is_device_array(key) and is_device_array(counter):
        cupy = _cupy()
        state = (
            cupy.ascontiguousarray(counter.astype(np.uint64, copy=False)).reshape(()),
            cupy.ascontiguousarray(key.astype(np.uint32, copy=False)).reshape(2),
        )
        arguments: tuple[Any, ...] = (out, np.int64(out.size), *state)
        entry = kernel_name(distribution) + "_device"
    else:
        key, counter = to_host(key), to_host(counter)
        words = (np.uint32(int(key[0]) & 0xFFFFFFFF), np.uint32(int(key[1]) & 0xFFFFFFFF))
        arguments = (out, np.int64(out.size), np.uint64(int(counter) % 2**64), *words)
        entry = kernel_name(distribution)
    _kernel(distribution, entry)((grid, 1, 1), (BLOCK, 1, 1), arguments)


def native_step(node: Node) -> Callable[[list[Any]], list[Any]] | None:
    """The GPU computation of a ``PhiloxBits`` node (None for any other node): a step
    taking the values of (key, counter, shape), NumPy or CuPy, and returning the draw as a
    new CuPy array of the node's output dtype. A key and counter on the device stay there
    (the kernel reads them); the shape is read to the host (it sizes the output)."""
    if not isinstance(node.op, PhiloxBits):
        return None
    distribution = node.op.distribution
    dtype = np.dtype(DISTRIBUTIONS[distribution].dtype)

    def step(arguments: list[Any]) -> list[Any]:
        key, counter, shape = arguments
        out = _cupy().empty(output_shape(np.asarray(to_host(shape))), dtype=dtype)
        philox_fill(out, key, counter, distribution)
        return [out]

    return step
