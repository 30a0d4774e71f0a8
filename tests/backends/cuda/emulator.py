"""A CUDA emulator for tests without a GPU: generated CUDA C compiled for the host and run
on NumPy buffers, one emulated thread per CUDA thread.

``load(source)`` compiles a CUDA C translation unit (as ``codegen.kernel_source`` or
``random.philox_source`` write them) with the host C++ compiler (g++, ``-O1``, no
contraction) into a shared library, behind ``SHIM``: a header that includes the CUDA
toolkit's headers (cuda_fp16.h, the vector types) in their host mode (without a toolkit:
``STANDIN_HEADERS``, the few declarations the sources need), maps
``__launch_bounds__`` to nothing and ``__shared__`` to function-static storage (one block
runs at a time), keeps the running thread's ``threadIdx``/``blockIdx``/``blockDim``/
``gridDim``, implements ``__syncthreads()``, ``__syncwarp()`` and the ``__shfl*_sync``
shuffles, and supplies the intrinsics (bit casts through memcpy, ``__fadd_rn`` & co as
plain IEEE operations) and the CUDA math functions libm lacks. Those are APPROXIMATIONS
of CUDA's, not its ulp-exact results: ``sinpi``/``cospi`` (reduced argument times pi),
``erfinv``/``erfcinv`` (an initial guess refined by Newton steps on libm's
``erf``/``erfc``); every other math function is the host libm's. The emulator checks a
kernel's structure (indexing, strides, vector loads and stores, reductions, barriers),
not CUDA's accuracy. A source starting with jitgraph's prelude is compiled against a
precompiled header of the shim and the prelude (most of the compile time).

Each ``extern "C" __global__`` entry gets a C++ wrapper that runs the grid, blocks in
order. An entry whose body shows no ``__syncthreads``, ``__shared__`` or shuffle runs
each block's threads one after the other. Any other runs them as fibers of the calling
thread (a small register switch on x86-64, ucontext elsewhere): each runs until it waits
at a barrier (its block's, or its warp's for shuffles), then the next one runs; a barrier
opens when all its threads have arrived. Threads that wait at a barrier not all of them
reach (undefined behaviour on a GPU) raise EmulatorError instead of hanging.

Arguments are checked against the parameter list parsed from the source: a pointer takes
an array (a NumPy array, or anything with a NumPy ``_array`` as the stand-in CuPy's
arrays, whose address, view offset included, is passed), a scalar parameter a Python
number or a NumPy scalar of exactly the C type's dtype (CuPy passes a NumPy scalar by its
own dtype: ``np.int32`` for ``long long`` is a bug on a GPU and a TypeError here).
Compiled libraries are cached per source hash, in a temporary directory of this process;
``launches`` counts the launches of each entry name.

Running one kernel (a script at the repository root; in tests, the fixture
``cuda_emulator`` of conftest.py gives this module)::

    import sys; sys.path.insert(0, "tests/backends/cuda")
    import emulator, numpy as np
    from jitgraph.backends.cuda import codegen
    assert emulator.available() is None  # else the reason: no host C++ compiler
    module = emulator.load(codegen.kernel_source(kernel, "k"))  # e.g. a float64 negate
    x = np.arange(10.0); y = np.empty(10)
    module.get_function("k_ew0_contiguous")((1, 1, 1), (256, 1, 1), (x, y, np.int64(10)))

Through jitgraph's own launch instead (every pass, the entry choice, the partials)::

    import sys; sys.path.insert(0, "tests/backends/cuda")
    import conftest
    uninstall = conftest.install_emulated_gpu()  # the fixture emulated_gpu, for scripts
    import cupy  # the stand-in
    from jitgraph.backends.cuda.launch import launch
    [y] = launch(kernel, [cupy.asarray(x)]); print(y.get())
    uninstall()

``preload(combined, parts)`` compiles one translation unit for many kernels and answers
``load(part)`` with it for each part it contains (fewer compiler runs in tests).
"""

from __future__ import annotations

import atexit
import collections
import ctypes
import functools
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "SHIM",
    "EmulatedFunction",
    "EmulatedModule",
    "EmulatorError",
    "Parameter",
    "available",
    "cuda_include",
    "entries",
    "load",
    "preload",
]

COMPILER_FLAGS = (
    "-std=c++20",
    "-O1",
    "-ffp-contract=off",  # as nvcc -fmad=false: no fused multiply-adds
    "-fno-fast-math",
    "-fno-strict-aliasing",  # the kernels read typed values through char pointers
    "-fPIC",
    "-shared",
    "-pthread",
    "-w",
)


class EmulatorError(RuntimeError):
    """The host compiler refused a translation unit, or an emulated launch went wrong."""


# ============================================================================ the shim
SHIM = r"""
/* jitgraph CUDA emulator shim: CUDA C compiled as host C++ (tests/backends/cuda/emulator.py) */
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <ucontext.h>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#undef __shared__
#define __shared__ static /* one block runs at a time */
#undef __launch_bounds__
#define __launch_bounds__(...)

using std::isfinite;
using std::isinf;
using std::isnan;
using std::signbit;

/* ---- the emulated threads: fibers of one OS thread. A fiber runs until it
   waits at a barrier (of its block or its warp); the scheduler then runs the next one that
   can run. When none can and some have not finished, the threads wait at barriers that
   not all of them reach: a launch error (on a GPU, undefined behaviour). */
struct jg_barrier_state {
  unsigned expected, arrived;
  unsigned long long generation;
};
/* Switching fibers: on x86-64 a few instructions saving the callee-saved registers on the
   old stack (ucontext's swapcontext makes two system calls per switch), else ucontext. */
#if defined(__x86_64__) && !defined(JG_UCONTEXT)
extern "C" void jg_switch(void** save, void* next) __asm__("jg_switch_x86_64");
__asm__(
    ".text\n"
    ".p2align 4\n"
    "jg_switch_x86_64:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n");
struct jg_context { void* sp; };
static inline void jg_prepare(jg_context* context, char* stack, size_t size, void (*entry)()) {
  /* as if entry had been called: its "return address" slot at top - 8 (never used), the
     address switched to at top - 16, six zero registers below */
  uintptr_t top = ((uintptr_t)(stack + size)) & ~(uintptr_t)15;
  void** frame = (void**)top;
  frame[-1] = nullptr;
  frame[-2] = (void*)entry;
  for (int r = 3; r <= 8; ++r) frame[-r] = nullptr;
  context->sp = frame - 8;
}
static inline void jg_swap(jg_context* from, jg_context* to) { jg_switch(&from->sp, to->sp); }
#else
struct jg_context { ucontext_t uc; };
static inline void jg_prepare(jg_context* context, char* stack, size_t size, void (*entry)()) {
  getcontext(&context->uc);
  context->uc.uc_stack.ss_sp = stack;
  context->uc.uc_stack.ss_size = size;
  context->uc.uc_link = nullptr;  /* a fiber never returns: it switches back when done */
  makecontext(&context->uc, entry, 0);
}
static inline void jg_swap(jg_context* from, jg_context* to) { swapcontext(&from->uc, &to->uc); }
#endif

struct jg_fiber {
  jg_context context;
  uint3 thread, block;
  jg_barrier_state* waiting;  /* the barrier it waits at, or null */
  unsigned long long generation;  /* the barrier's generation when it arrived */
  jg_barrier_state* warp;
  unsigned long long* slots;  /* its warp's exchange slots (shuffles) */
  unsigned lane, warp_size;
  bool done;
};
static uint3 jg_threadIdx, jg_blockIdx;
static dim3 jg_blockDim, jg_gridDim;
static jg_fiber* jg_current = nullptr;  /* the running fiber (null: run without fibers) */
static jg_barrier_state* jg_block_barrier = nullptr;
static int jg_sync_without_threads = 0;
static jg_context jg_scheduler;
#define threadIdx jg_threadIdx
#define blockIdx jg_blockIdx
#define blockDim jg_blockDim
#define gridDim jg_gridDim

static void jg_arrive(jg_barrier_state* barrier) {
  if (++barrier->arrived == barrier->expected) {  /* the last one releases the others */
    barrier->arrived = 0;
    ++barrier->generation;
    return;
  }
  jg_fiber* self = jg_current;
  self->waiting = barrier;
  self->generation = barrier->generation;
  jg_swap(&self->context, &jg_scheduler);
}

static inline void __syncthreads() {
  if (jg_current) jg_arrive(jg_block_barrier);
  else jg_sync_without_threads = 1;
}

/* ---- warps: 32 consecutive threads (the last one shorter) with a barrier of their own
   and an exchange slot per lane; a shuffle is: publish, barrier, read, barrier */
static inline void __syncwarp(unsigned mask = 0xffffffffu) {
  if (jg_current) jg_arrive(jg_current->warp);
  else jg_sync_without_threads = 1;
}
template <class T>
static inline T jg_shuffle(T value, unsigned source, bool valid) {
  static_assert(sizeof(T) <= 8, "shuffles move at most 8 bytes");
  if (!jg_current) { jg_sync_without_threads = 1; return value; }
  jg_fiber* self = jg_current;
  unsigned long long bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  self->slots[self->lane] = bits;
  jg_arrive(self->warp);
  unsigned long long got = valid && source < self->warp_size ? self->slots[source] : bits;
  jg_arrive(self->warp);
  T result;
  std::memcpy(&result, &got, sizeof(T));
  return result;
}
template <class T>
static inline T __shfl_sync(unsigned mask, T value, int lane, int width = 32) {
  unsigned base = jg_current ? jg_current->lane / width * width : 0;
  return jg_shuffle(value, base + ((unsigned)lane % width), true);
}
template <class T>
static inline T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  unsigned lane = jg_current ? jg_current->lane : 0;
  return jg_shuffle(value, lane + delta, lane % width + delta < (unsigned)width);
}
template <class T>
static inline T __shfl_up_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  unsigned lane = jg_current ? jg_current->lane : 0;
  return jg_shuffle(value, lane - delta, lane % width >= delta);
}
template <class T>
static inline T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = 32) {
  unsigned lane = jg_current ? jg_current->lane : 0;
  unsigned base = lane / width * width, partner = lane ^ (unsigned)lane_mask;
  return jg_shuffle(value, partner, partner >= base && partner < base + width);
}

/* ---- intrinsics: bit casts, and the IEEE operations (host code is not contracted) */
template <class To, class From> static inline To jg_bits(From x) {
  static_assert(sizeof(To) == sizeof(From), "a bit cast keeps the size");
  To v;
  std::memcpy(&v, &x, sizeof(To));
  return v;
}
static inline double __longlong_as_double(long long x) { return jg_bits<double>(x); }
static inline long long __double_as_longlong(double x) { return jg_bits<long long>(x); }
static inline float __int_as_float(int x) { return jg_bits<float>(x); }
static inline int __float_as_int(float x) { return jg_bits<int>(x); }
static inline float __uint_as_float(unsigned x) { return jg_bits<float>(x); }
static inline unsigned __float_as_uint(float x) { return jg_bits<unsigned>(x); }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __ddiv_rn(double a, double b) { return a / b; }

/* ---- CUDA's min/max overloads */
static inline float min(float a, float b) { return fminf(a, b); }
static inline float max(float a, float b) { return fmaxf(a, b); }
static inline double min(double a, double b) { return fmin(a, b); }
static inline double max(double a, double b) { return fmax(a, b); }
template <class A, class B>
using jg_integers = std::enable_if_t<std::is_integral_v<A> && std::is_integral_v<B>>;
template <class A, class B, class = jg_integers<A, B>>
static inline std::common_type_t<A, B> min(A a, B b) {
  using T = std::common_type_t<A, B>; return (T)a < (T)b ? (T)a : (T)b;
}
template <class A, class B, class = jg_integers<A, B>>
static inline std::common_type_t<A, B> max(A a, B b) {
  using T = std::common_type_t<A, B>; return (T)a > (T)b ? (T)a : (T)b;
}

/* ---- CUDA math functions libm lacks: APPROXIMATIONS (structure, not CUDA's ulps) */
static inline double jg_pi_reduce(double x) { return x - 2.0 * std::nearbyint(x / 2.0); }
static inline double sinpi(double x) {
  if (!std::isfinite(x)) return x - x;
  double r = jg_pi_reduce(x);
  if (r == std::trunc(r)) return std::copysign(0.0, x);
  return std::sin(M_PI * r);
}
static inline double cospi(double x) {
  if (!std::isfinite(x)) return x - x;
  double r = std::fabs(jg_pi_reduce(x));
  if (r == 0.5) return 0.0;
  return std::cos(M_PI * r);
}
static inline float sinpif(float x) { return (float)sinpi((double)x); }
static inline float cospif(float x) { return (float)cospi((double)x); }
/* erfc(x) = t (0 < t <= 0.5) by Newton steps from sqrt(-log t), right of the root: erfc
   is convex and decreasing, so the first step lands left of it, the others climb to it */
static inline double jg_erfc_solve(double t) {
  double x = std::sqrt(-std::log(t));
  for (int i = 0; i < 100; ++i) {
    double d = (std::erfc(x) - t) / (-1.1283791670955126 * std::exp(-x * x));
    if (!std::isfinite(d)) break;
    x -= d;
    if (std::fabs(d) <= 1e-17 * std::fabs(x)) break;
  }
  return x;
}
static inline double erfinv(double y) {
  if (std::isnan(y) || y < -1.0 || y > 1.0) return NAN;
  if (y == 0.0) return y;
  if (std::fabs(y) > 0.5) return std::copysign(jg_erfc_solve(1.0 - std::fabs(y)), y);
  /* Giles' single-precision approximation, then Newton steps on erf */
  double w = -std::log((1.0 - y) * (1.0 + y)) - 2.5, p = 2.81022636e-08;
  p = 3.43273939e-07 + p * w; p = -3.5233877e-06 + p * w; p = -4.39150654e-06 + p * w;
  p = 0.00021858087 + p * w; p = -0.00125372503 + p * w; p = -0.00417768164 + p * w;
  p = 0.246640727 + p * w; p = 1.50140941 + p * w;
  double x = p * y;
  for (int i = 0; i < 3; ++i) x -= (std::erf(x) - y) / (1.1283791670955126 * std::exp(-x * x));
  return x;
}
static inline double erfcinv(double y) {
  if (std::isnan(y) || y < 0.0 || y > 2.0) return NAN;
  if (y > 1.0) return -erfcinv(2.0 - y);  /* 2 - y is exact */
  if (y == 0.0) return INFINITY;
  return y <= 0.5 ? jg_erfc_solve(y) : erfinv(1.0 - y);  /* 1 - y is exact */
}
static inline float erfinvf(float y) { return (float)erfinv((double)y); }
static inline float erfcinvf(float y) { return (float)erfcinv((double)y); }

/* ---- running a grid: blocks in order; the threads of a block one after the other when
   the entry never synchronizes, else as fibers (each loops over the blocks, meeting the
   others at the block barrier after each). Returns 0, 1 for a barrier reached without
   fibers, 2 for threads waiting at barriers not all of them reach. */
static void (*jg_body)(void**) = nullptr;
static void** jg_arguments = nullptr;
static unsigned long long jg_blocks = 0;

static inline uint3 jg_index(unsigned long long i, dim3 d) {
  return make_uint3((unsigned)(i % d.x), (unsigned)(i / d.x % d.y), (unsigned)(i / d.x / d.y));
}
static void jg_fiber_main() {
  jg_fiber* self = jg_current;
  for (unsigned long long b = 0; b < jg_blocks; ++b) {
    self->block = jg_blockIdx = jg_index(b, jg_gridDim);
    jg_body(jg_arguments);
    jg_arrive(jg_block_barrier);
  }
  self->done = true;
  jg_swap(&self->context, &jg_scheduler);  /* never resumed */
}
static int jg_run(dim3 grid, dim3 block, bool threaded, void (*body)(void**), void** arguments) {
  const unsigned long long blocks = (unsigned long long)grid.x * grid.y * grid.z;
  const unsigned threads = block.x * block.y * block.z;
  jg_blockDim = block;
  jg_gridDim = grid;
  jg_sync_without_threads = 0;
  if (!threaded) {
    for (unsigned long long b = 0; b < blocks; ++b) {
      jg_blockIdx = jg_index(b, grid);
      for (unsigned t = 0; t < threads; ++t) {
        jg_threadIdx = jg_index(t, block);
        body(arguments);
      }
    }
    return jg_sync_without_threads;
  }
  constexpr size_t stack_size = 256 * 1024;
  static std::unique_ptr<char[]> stacks;  /* default-initialized: touched only as used */
  static unsigned stack_count = 0;
  if (stack_count < threads) {
    stacks.reset(new char[stack_size * threads]);
    stack_count = threads;
  }
  const unsigned warps = (threads + 31) / 32;
  std::vector<jg_fiber> fibers(threads);
  std::vector<jg_barrier_state> warp_barriers(warps);
  std::vector<unsigned long long> slots(32 * warps);
  jg_barrier_state block_barrier = {threads, 0, 0};
  for (unsigned w = 0; w < warps; ++w) {
    warp_barriers[w] = {w + 1 < warps ? 32u : threads - 32 * w, 0, 0};
  }
  jg_body = body;
  jg_arguments = arguments;
  jg_blocks = blocks;
  jg_block_barrier = &block_barrier;
  for (unsigned t = 0; t < threads; ++t) {
    jg_fiber& f = fibers[t];
    f.thread = jg_index(t, block);
    f.block = make_uint3(0, 0, 0);
    f.waiting = nullptr;
    f.warp = &warp_barriers[t / 32];
    f.slots = slots.data() + 32 * (t / 32);
    f.lane = t % 32;
    f.warp_size = warp_barriers[t / 32].expected;
    f.done = false;
    jg_prepare(&f.context, stacks.get() + stack_size * t, stack_size, jg_fiber_main);
  }
  unsigned finished = 0;
  int status = 0;
  while (finished < threads) {
    bool ran = false;
    for (unsigned t = 0; t < threads; ++t) {
      jg_fiber& f = fibers[t];
      if (f.done || (f.waiting && f.waiting->generation == f.generation)) continue;
      f.waiting = nullptr;
      jg_current = &f;
      jg_threadIdx = f.thread;
      jg_blockIdx = f.block;
      jg_swap(&jg_scheduler, &f.context);
      ran = true;
      if (f.done) ++finished;
    }
    if (!ran) { status = 2; break; }  /* waiting at barriers that not all threads reach */
  }
  jg_current = nullptr;
  jg_block_barrier = nullptr;
  return status;
}
/* ---- end of the shim */
"""


# ============================================================================ the toolchain
def host_compiler() -> str | None:
    """The host C++ compiler (``$CXX``, else g++ on PATH), or None."""
    return shutil.which(os.environ.get("CXX") or "g++")


@functools.cache
def cuda_include() -> str | None:
    """A CUDA toolkit's include directory (with cuda_fp16.h and cuda_runtime.h), or None."""
    candidates = [
        os.path.join(os.environ[v], "include")
        for v in ("CUDA_HOME", "CUDA_PATH")
        if os.environ.get(v)
    ]
    nvcc = shutil.which("nvcc")
    if nvcc:
        candidates.append(os.path.join(os.path.dirname(os.path.realpath(nvcc)), "..", "include"))
    candidates.append("/usr/local/cuda/include")
    candidates += sorted(glob.glob("/usr/local/cuda-*/include"), reverse=True)
    for path in sys.path:  # the headers of the nvidia-cuda-runtime wheels
        candidates += sorted(glob.glob(os.path.join(path, "nvidia", "cu*", "include")))
        candidates += sorted(glob.glob(os.path.join(path, "nvidia", "cuda_runtime", "include")))
    for candidate in candidates:
        if all(
            os.path.exists(os.path.join(candidate, h)) for h in ("cuda_fp16.h", "cuda_runtime.h")
        ):
            return os.path.normpath(candidate)
    return None


# Where no CUDA toolkit is installed (CI), these two headers stand in for the toolkit's:
# the qualifiers, the launch-geometry and vector types the sources use, and a float16 with
# the conversions the prelude calls, rounding to nearest even as CUDA's do.
STANDIN_HEADERS = {
    "cuda_runtime.h": r"""
#pragma once
#include <cmath>
#include <cstring>
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __align__(n) __attribute__((aligned(n)))
#define __shared__
#define __launch_bounds__(...)
struct uint3 { unsigned x, y, z; };
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct __attribute__((aligned(16))) uint4 { unsigned x, y, z, w; };
struct __attribute__((aligned(16))) float4 { float x, y, z, w; };
struct __attribute__((aligned(16))) double2 { double x, y; };
static inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return uint3{x, y, z}; }
static inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) {
  return uint4{x, y, z, w};
}
static inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
static inline double2 make_double2(double x, double y) { return double2{x, y}; }
""",
    "cuda_fp16.h": r"""
#pragma once
#include "cuda_runtime.h"
struct __half { unsigned short bits; };
static inline __half __ushort_as_half(unsigned short bits) { return __half{bits}; }
static inline unsigned short __half_as_ushort(__half h) { return h.bits; }
static inline float __half2float(__half h) {
  const unsigned sign = (h.bits & 0x8000u) << 16, exponent = (h.bits >> 10) & 0x1fu;
  const unsigned mantissa = h.bits & 0x3ffu;
  if (exponent == 0x1fu) {  /* inf, NaN (payload kept) */
    const unsigned bits = sign | 0x7f800000u | (mantissa << 13);
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  const float magnitude = exponent == 0 ? std::ldexp((float)mantissa, -24)
                                        : std::ldexp((float)(1024u + mantissa), (int)exponent - 25);
  return sign ? -magnitude : magnitude;
}
static inline __half __double2half(double v) {  /* round to nearest even, once */
  const unsigned short sign = std::signbit(v) ? 0x8000u : 0u;
  const double a = std::fabs(v);
  if (a != a) return __half{(unsigned short)(sign | 0x7e00u)};
  if (a >= 65520.0) return __half{(unsigned short)(sign | 0x7c00u)};  /* halfway to 2^16 */
  if (a < 0x1p-14) return __half{(unsigned short)(sign | (unsigned)std::nearbyint(a * 0x1p24))};
  int exponent;
  std::frexp(a, &exponent);  /* a = f * 2^exponent, 0.5 <= f < 1 */
  double scaled = std::nearbyint(std::ldexp(a, 11 - exponent));  /* 1024 .. 2048 */
  if (scaled == 2048.0) { scaled = 1024.0; ++exponent; }
  const unsigned bits = (unsigned)(exponent + 14) << 10 | ((unsigned)scaled - 1024u);
  return __half{(unsigned short)(sign | bits)};
}
static inline __half __float2half_rn(float v) { return __double2half((double)v); }
""",
}


def include_directory() -> str:
    """The CUDA toolkit's include directory, else a directory of ``STANDIN_HEADERS``
    (also when ``JITGRAPH_EMULATOR_STANDIN_HEADERS`` is set, to test them)."""
    found = None if os.environ.get("JITGRAPH_EMULATOR_STANDIN_HEADERS") else cuda_include()
    if found is not None:
        return found
    directory = os.path.join(_workdir(), "standin-include")
    if not os.path.isdir(directory):
        os.makedirs(directory)
        for name, text in STANDIN_HEADERS.items():
            with open(os.path.join(directory, name), "w") as stream:
                stream.write(text)
    return directory


@functools.cache
def available() -> str | None:
    """None when the emulator can run here (a host C++ compiler), else why not."""
    if host_compiler() is None:
        return "CUDA emulator: no host C++ compiler (g++ or $CXX)"
    return None


# ============================================================================ parameters
_ENTRY = re.compile(
    r'extern\s+"C"\s+__global__\s+void\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?'
    r"(\w+)\s*\(([^)]*)\)\s*\{"
)
# C scalar types -> the NumPy dtype an argument must have (CuPy passes a NumPy scalar by it)
SCALAR_TYPES: dict[str, np.dtype[Any]] = {
    name: np.dtype(dtype)
    for name, dtype in {
        "bool": "bool",
        "char": "int8",
        "signed char": "int8",
        "unsigned char": "uint8",
        "short": "int16",
        "unsigned short": "uint16",
        "int": "int32",
        "unsigned int": "uint32",
        "unsigned": "uint32",
        "long": "int64",
        "long long": "int64",
        "unsigned long": "uint64",
        "unsigned long long": "uint64",
        "float": "float32",
        "double": "float64",
    }.items()
}


@dataclass(frozen=True)
class Parameter:
    """One parameter of an entry: its C type as written (``const char*``), its name, and
    whether it is a pointer; ``scalar`` is the NumPy dtype of a scalar parameter."""

    c_type: str
    name: str
    pointer: bool

    @property
    def scalar(self) -> np.dtype[Any]:
        base = " ".join(w for w in self.c_type.split() if w not in ("const", "volatile"))
        if base not in SCALAR_TYPES:
            raise EmulatorError(f"parameter {self.name}: unsupported scalar type {self.c_type!r}")
        return SCALAR_TYPES[base]


def _parameter(text: str) -> Parameter:
    text = " ".join(text.replace("__restrict__", " ").split())
    match = re.fullmatch(r"(.*?[\s*&])(\w+)", text)
    if match is None:
        raise EmulatorError(f"cannot parse the kernel parameter {text!r}")
    c_type = match.group(1).strip()
    return Parameter(c_type, match.group(2), "*" in c_type)


def entries(source: str) -> dict[str, tuple[Parameter, ...]]:
    """The ``extern "C" __global__`` entries of ``source`` and their parameters."""
    result = {}
    for match in _ENTRY.finditer(source):
        text = match.group(2).strip()
        params = [] if text in ("", "void") else [_parameter(p) for p in text.split(",")]
        result[match.group(1)] = tuple(params)
    return result


def _synchronizes(source: str, start: int) -> bool:
    """Whether the function body opening at ``source[start] == '{'`` uses shared memory or
    barriers or warp shuffles (the text up to its matching brace)."""
    depth = 0
    for position in range(start, len(source)):
        if source[position] == "{":
            depth += 1
        elif source[position] == "}":
            depth -= 1
            if depth == 0:
                body = source[start:position]
                return any(w in body for w in ("__syncthreads", "__shared__", "shfl", "__syncwarp"))
    raise EmulatorError("unbalanced braces in the kernel source")


def _wrappers(source: str) -> tuple[str, dict[str, bool]]:
    """C++ launch wrappers ``jg_launch_<entry>(grid, block, args)`` for every entry, and
    which of them run threaded."""
    lines, threaded = [], {}
    for match in _ENTRY.finditer(source):
        name = match.group(1)
        params = entries(match.group(0) + "}")[name]
        threaded[name] = _synchronizes(source, match.end() - 1)
        call = ", ".join(f"*({p.c_type}*)args[{i}]" for i, p in enumerate(params))
        lines += [
            f"static void jg_body_{name}(void** args) {{ {name}({call}); }}",
            f'extern "C" int jg_launch_{name}(const unsigned* grid, const unsigned* block,'
            " void** args) {",
            f"  return jg_run(dim3(grid[0], grid[1], grid[2]), dim3(block[0], block[1], block[2]),"
            f" {'true' if threaded[name] else 'false'}, jg_body_{name}, args);",
            "}",
        ]
    return "\n".join(lines) + "\n", threaded


# ============================================================================ compiling
_directory: str | None = None
_modules: dict[str, EmulatedModule] = {}
_lock = threading.Lock()


def _workdir() -> str:
    global _directory
    if _directory is None:
        _directory = tempfile.mkdtemp(prefix="jitgraph-cuda-emulator-")
        atexit.register(shutil.rmtree, _directory, True)
    return _directory


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def _flags(optimize: bool) -> list[str]:
    """``COMPILER_FLAGS``, with ``-O0`` for ``optimize=False`` (big sources compile faster)."""
    return [f if f != "-O1" or optimize else "-O0" for f in COMPILER_FLAGS]


def _run_compiler(arguments: list[str], optimize: bool) -> None:
    command = [str(host_compiler()), *_flags(optimize), f"-I{include_directory()}", *arguments]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise EmulatorError(
            "the host compiler refused the emulated CUDA source:\n"
            + (result.stderr + result.stdout).strip()[-6000:]
        )


def _prelude() -> str:
    """jitgraph's CUDA prelude (every generated kernel source starts with it), or ''."""
    try:
        from jitgraph.backends.cuda.prelude import PRELUDE
    except ImportError:
        return ""
    return PRELUDE


_headers: dict[tuple[str, bool], str] = {}


def _precompiled(prefix: str, optimize: bool) -> str:
    """A header of ``SHIM`` and ``prefix``, precompiled with the flags of ``optimize``
    (the prelude is most of a kernel's compile time): its path, for ``#include``."""
    key = (_digest(prefix), optimize)
    if key not in _headers:
        header = os.path.join(_workdir(), f"prefix-{key[0][:24]}-O{int(optimize)}.hpp")
        with open(header, "w") as file:
            file.write(f'{SHIM}\n#line 1 "kernel.cu"\n{prefix}')
        _run_compiler(["-x", "c++-header", header, "-o", header + ".gch"], optimize)
        _headers[key] = header
    return _headers[key]


def _compile(source: str, optimize: bool) -> EmulatedModule:
    reason = available()
    if reason is not None:
        raise EmulatorError(reason)
    wrappers, threaded = _wrappers(source)
    prefix = _prelude()
    if prefix and source.startswith(prefix):
        line = prefix.count("\n") + 1
        head = f'#include "{_precompiled(prefix, optimize)}"\n#line {line} "kernel.cu"\n'
        body = source[len(prefix) :]
    else:
        head, body = f'{SHIM}\n#line 1 "kernel.cu"\n', source
    unit = f'{head}{body}\n#line 1 "wrappers.cpp"\n{wrappers}'
    path = os.path.join(_workdir(), f"{_digest(source)[:24]}.cpp")
    library = path[:-4] + ".so"
    with open(path, "w") as file:
        file.write(unit)
    _run_compiler([path, "-o", library], optimize)
    return EmulatedModule(ctypes.CDLL(library), entries(source), threaded)


def load(source: str, optimize: bool = True) -> EmulatedModule:
    """The emulated module of ``source``, compiled once per process (per source hash;
    the first load's ``optimize`` counts: ``-O1``, else ``-O0``, which compiles a big
    translation unit twice as fast and runs it slower)."""
    digest = _digest(source)
    with _lock:
        if digest not in _modules:
            _modules[digest] = _compile(source, optimize)
        return _modules[digest]


def preload(combined: str, parts: Iterable[str] = (), optimize: bool = True) -> EmulatedModule:
    """Compile ``combined`` (one translation unit) and answer ``load(part)`` with it for
    every part it contains: a part's text past the prefix it shares with ``combined`` (the
    prelude) must appear in ``combined`` verbatim, else ValueError."""
    module = load(combined, optimize)
    for part in parts:
        shared = len(os.path.commonprefix([combined, part]))
        if part[shared:] not in combined:
            raise ValueError("preload: a part is not contained in the combined source")
        with _lock:
            _modules.setdefault(_digest(part), module)
    return module


# ============================================================================ running
launches: collections.Counter[str] = collections.Counter()  # entry name -> launches so far


def _address(value: Any) -> int:
    array = getattr(value, "_array", value)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"a pointer parameter takes an array, got {type(value).__name__}")
    return int(array.__array_interface__["data"][0])


def _scalar(value: Any, parameter: Parameter) -> Any:
    dtype = parameter.scalar
    if isinstance(value, np.generic):
        if value.dtype != dtype:
            raise TypeError(
                f"parameter {parameter.c_type} {parameter.name}: a {value.dtype} scalar "
                f"(CuPy would pass {value.dtype.itemsize} bytes of {value.dtype}; {dtype} needed)"
            )
    elif isinstance(value, bool | int | float):
        # CuPy passes a Python int as int64, a float as float64, a bool as bool
        kind = np.dtype(type(value) if not isinstance(value, bool) else np.bool_)
        if kind.kind != dtype.kind or kind.itemsize != dtype.itemsize:
            raise TypeError(
                f"parameter {parameter.c_type} {parameter.name}: a Python "
                f"{type(value).__name__} (passed as {kind}; {dtype} needed)"
            )
    else:
        raise TypeError(
            f"parameter {parameter.c_type} {parameter.name}: a scalar is needed, "
            f"got {type(value).__name__}"
        )
    return np.ctypeslib.as_ctypes_type(dtype)(np.asarray(value, dtype=dtype).item())


def _dims(value: int | Sequence[int]) -> tuple[int, int, int]:
    dims = (value,) if isinstance(value, int) else tuple(int(v) for v in value)
    dims = dims + (1,) * (3 - len(dims))
    if len(dims) != 3 or min(dims) < 1:
        raise ValueError(f"grid and block dimensions must be 1 to 3 positive ints, got {value}")
    return dims  # type: ignore[return-value]


class EmulatedFunction:
    """One entry: ``function(grid, block, args)`` runs it as ``cupy.RawKernel`` would."""

    def __init__(
        self, name: str, launcher: Any, params: tuple[Parameter, ...], threaded: bool
    ) -> None:
        self.name, self.params, self.threaded = name, params, threaded
        self._launcher = launcher
        self._launcher.restype = ctypes.c_int
        self._launcher.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]

    def __call__(
        self, grid: int | Sequence[int], block: int | Sequence[int], args: Sequence[Any]
    ) -> None:
        if len(args) != len(self.params):
            raise TypeError(f"{self.name} takes {len(self.params)} arguments, got {len(args)}")
        values = [
            ctypes.c_void_p(_address(a)) if p.pointer else _scalar(a, p)
            for a, p in zip(args, self.params, strict=True)
        ]
        pointers = (ctypes.c_void_p * max(1, len(values)))(
            *(ctypes.cast(ctypes.pointer(v), ctypes.c_void_p) for v in values)
        )
        grid_dims = (ctypes.c_uint * 3)(*_dims(grid))
        block_dims = (ctypes.c_uint * 3)(*_dims(block))
        launches[self.name] += 1
        status = self._launcher(grid_dims, block_dims, pointers)
        if status == 1:
            raise EmulatorError(
                f"{self.name} reached a barrier or shuffle in a function the emulator ran "
                "without threads (the entry itself shows no __syncthreads, __shared__, shfl)"
            )
        if status == 2:
            raise EmulatorError(
                f"{self.name}: threads wait at a barrier (__syncthreads, a shuffle) that not "
                "all threads of their block or warp reach (undefined behaviour on a GPU)"
            )


class EmulatedModule:
    """A compiled translation unit: ``get_function(name)`` gives an ``EmulatedFunction``."""

    def __init__(
        self,
        library: ctypes.CDLL,
        params: dict[str, tuple[Parameter, ...]],
        threaded: dict[str, bool],
    ) -> None:
        self.library, self.params, self.threaded = library, params, threaded
        self._functions: dict[str, EmulatedFunction] = {}

    @property
    def names(self) -> list[str]:
        return list(self.params)

    def get_function(self, name: str) -> EmulatedFunction:
        if name not in self.params:
            raise EmulatorError(f"no entry {name!r} in the module (it has {self.names})")
        if name not in self._functions:
            launcher = getattr(self.library, f"jg_launch_{name}")
            self._functions[name] = EmulatedFunction(
                name, launcher, self.params[name], self.threaded[name]
            )
        return self._functions[name]
