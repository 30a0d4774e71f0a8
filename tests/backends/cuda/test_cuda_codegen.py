"""Kernels lowered to CUDA C by jitgraph/backends/cuda/codegen.py, compiled by compile.py
and run by launch.py.

Compile-only tests (wherever nvcc or NVRTC is available): a matrix of kernels (ranks 0-3,
broadcast patterns, bool/int/float/complex dtypes, several outputs, reductions over
inner/outer/all axes with keepdims, elementwise outputs mixed with reductions, kernels of
the fuse pass) compiled as ONE translation unit, whose entry points must all be in the
cubin. Execution tests (CuPy and a GPU only): the same matrix on random data, contiguous,
non-contiguous and empty, against the NumPy oracle ``kernel.evaluate``; large reductions
(several partial passes) and their determinism.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Sequence

import numpy as np
import pytest

import jitgraph.tensor as T
from jitgraph.backends.cuda import codegen
from jitgraph.backends.cuda.compile import compile_source, compiler_available
from jitgraph.backends.kernel import (
    Instruction,
    Kernel,
    KernelConstant,
    KernelInput,
    KernelOutput,
    Slot,
    evaluate,
)
from jitgraph.ir.graph import Graph
from jitgraph.ops.reduce import REDUCTIONS
from jitgraph.ops.scalar import SCALAR_OPS
from jitgraph.passes.fuse import fuse, kernels

ARCH = "sm_90"
IN, C, TEMP = "in", "c", "t"


def cuda_status() -> str | None:
    try:
        from jitgraph.backends.cuda import cuda_status as status
    except ImportError:
        return "jitgraph.backends.cuda.cuda_status is missing"
    return status()


def ins(op: str, args: Sequence[tuple[str, int]], dtype: str) -> Instruction:
    return Instruction(SCALAR_OPS[op], tuple(Slot(k, p) for k, p in args), dtype)


def out(position: int, dtype: str) -> KernelOutput:
    return KernelOutput(Slot(TEMP, position), dtype)


def reduce_out(
    slot: tuple[str, int],
    kind: str,
    axes: tuple[int, ...],
    dtype: str,
    acc: str | None = None,
    keepdims: bool = False,
) -> KernelOutput:
    return KernelOutput(Slot(*slot), dtype, REDUCTIONS[kind], axes, keepdims, acc)


def unary(ndim: int, dtype: str, op: str, result: str, pattern: tuple[bool, ...] = ()) -> Kernel:
    pattern = pattern or (False,) * ndim
    return Kernel(
        ndim, (KernelInput(dtype, pattern),), (), (ins(op, [(IN, 0)], result),), (out(0, result),)
    )


def binary(
    patterns: Sequence[tuple[bool, ...]], dtypes: Sequence[str], op: str, result: str
) -> Kernel:
    inputs = tuple(KernelInput(d, p) for d, p in zip(dtypes, patterns, strict=True))
    body = (ins(op, [(IN, 0), (IN, 1)], result),)
    return Kernel(len(patterns[0]), inputs, (), body, (out(0, result),))


def reduction(
    ndim: int, dtype: str, kind: str, axes: tuple[int, ...], keepdims: bool = False
) -> Kernel:
    reduce_kind = REDUCTIONS[kind]
    acc = None
    result = reduce_kind.out_dtype(dtype)
    if reduce_kind.takes_dtype:
        acc = result
    output = reduce_out((IN, 0), kind, axes, result, acc, keepdims)
    return Kernel(ndim, (KernelInput(dtype, (False,) * ndim),), (), (), (output,))


def two_outputs() -> Kernel:
    """diff = a - b; out0 = diff; out1 = diff * diff * 2 (a constant), float64."""
    inputs = (KernelInput("float64", (False, False)), KernelInput("float64", (True, False)))
    body = (
        ins("subtract", [(IN, 0), (IN, 1)], "float64"),
        ins("multiply", [(TEMP, 0), (TEMP, 0)], "float64"),
        ins("multiply", [(TEMP, 1), (C, 0)], "float64"),
    )
    constants = (KernelConstant.of(2.0, "float64"),)
    return Kernel(2, inputs, constants, body, (out(0, "float64"), out(2, "float64")))


def broadcast_output() -> Kernel:
    """An output that broadcasts along axis 1 (its own pattern) next to a full one."""
    inputs = (KernelInput("float32", (False, True)), KernelInput("float32", (False, False)))
    body = (
        ins("exp", [(IN, 0)], "float32"),
        ins("add", [(TEMP, 0), (IN, 1)], "float32"),
    )
    return Kernel(2, inputs, (), body, (out(0, "float32"), out(1, "float32")))


def mixed() -> Kernel:
    """square of a sum: an elementwise output, a keepdims sum over axis 1 and a max of all."""
    inputs = (KernelInput("float64", (False, False)), KernelInput("float64", (False, False)))
    body = (
        ins("add", [(IN, 0), (IN, 1)], "float64"),
        ins("multiply", [(TEMP, 0), (TEMP, 0)], "float64"),
    )
    outputs = (
        out(1, "float64"),
        reduce_out((TEMP, 1), "sum", (1,), "float64", "float64", keepdims=True),
        reduce_out((TEMP, 0), "max", (0, 1), "float64"),
        reduce_out((TEMP, 0), "sum", (1,), "float64", "float64"),
    )
    return Kernel(2, inputs, (), body, outputs)


def fused_kernels() -> list[Kernel]:
    """Kernels of a real graph through the fuse pass."""
    a, b = T.dmatrices("a", "b")
    diff = a - b
    graph = Graph([a, b], [diff, abs(diff), (diff**2).sum(axis=1), T.exp(diff).max()])
    return kernels(fuse(graph))


def kernel_matrix() -> dict[str, Kernel]:
    return {
        "rank0_add": binary([(), ()], ["float64", "float64"], "add", "float64"),
        "rank1_add_i32": binary([(False,), (False,)], ["int32", "int32"], "add", "int32"),
        "rank2_row_broadcast": binary(
            [(False, False), (True, False)], ["float32", "float32"], "multiply", "float32"
        ),
        "rank3_mixed_broadcast": binary(
            [(False, True, False), (True, False, False)], ["float64", "int32"], "add", "float64"
        ),
        "rank2_scalar_broadcast": binary(
            [(True, True), (False, False)], ["float64", "float64"], "subtract", "float64"
        ),
        "bool_and": binary(
            [(False, False), (False, True)], ["bool", "bool"], "logical_and", "bool"
        ),
        "greater": binary([(False,), (False,)], ["float64", "float64"], "greater", "bool"),
        "complex_mul": binary(
            [(False, False), (False, False)], ["complex128", "complex128"], "multiply", "complex128"
        ),
        "sqrt_f64": unary(2, "float64", "sqrt", "float64"),
        "half_add": binary(
            [(False, False), (False, True)], ["float16", "float16"], "add", "float16"
        ),
        # vector entries of every element size: 8 lanes of 1 and 2 bytes, 2 of 8 bytes
        "half_mul_flat": binary(
            [(False, False), (False, False)], ["float16", "float16"], "multiply", "float16"
        ),
        "uint8_add_flat": binary([(False,), (True,)], ["uint8", "uint8"], "add", "uint8"),
        "complex64_add_flat": binary(
            [(False,), (False,)], ["complex64", "complex64"], "add", "complex64"
        ),
        "int8_to_float64": binary([(False,), (False,)], ["int8", "float64"], "add", "float64"),
        "rank8": binary(
            [(False,) * 8, (True, False) * 4], ["float64", "float64"], "add", "float64"
        ),
        "max_half": reduction(2, "float16", "max", (1,)),
        "max_half_outer": reduction(2, "float16", "max", (0,)),
        "sum_complex64_inner": reduction(2, "complex64", "sum", (1,)),
        "sum_i8_middle": reduction(3, "int8", "sum", (1,)),
        "two_outputs": two_outputs(),
        "broadcast_output": broadcast_output(),
        "sum_inner": reduction(2, "float64", "sum", (1,)),
        "sum_outer_keepdims": reduction(2, "float64", "sum", (0,), keepdims=True),
        "sum_all_f32": reduction(3, "float32", "sum", (0, 1, 2)),
        "max_02": reduction(3, "float32", "max", (0, 2)),
        "min_i64": reduction(2, "int64", "min", (0,)),
        "prod_i32": reduction(2, "int32", "prod", (1,)),
        "sum_bool": reduction(1, "bool", "sum", (0,)),
        "all_bool": reduction(2, "bool", "all", (1,), keepdims=True),
        "any_bool": reduction(2, "bool", "any", (0, 1)),
        "sum_complex": reduction(2, "complex128", "sum", (0,)),
        "mixed": mixed(),
        **{f"fused{i}": k for i, k in enumerate(fused_kernels())},
    }


# ============================================================================ compile only
@pytest.fixture(scope="module")
def compiled_matrix() -> tuple[dict[str, Kernel], bytes, float]:
    reason = compiler_available()
    if reason is not None:
        pytest.skip(reason)
    matrix = kernel_matrix()
    source = codegen.module_source([(k, name) for name, k in matrix.items()])
    start = time.perf_counter()
    code = compile_source(source, ARCH)
    return matrix, code, time.perf_counter() - start


def entry_points(kernel: Kernel, name: str) -> list[str]:
    names = []
    for group in codegen.passes(kernel):
        if group.is_reduction:
            names.append(f"{name}_{group.entry}")
            if not codegen.column_scheme(kernel, group):
                names += [f"{name}_{group.entry}_thread", f"{name}_{group.entry}_warp"]
            for p in group.outputs:
                names += [f"{name}_part{p}{suffix}" for suffix in ("", "_thread", "_warp")]
        else:
            names.append(f"{name}_{group.entry}_strided")
            if codegen.has_contiguous(kernel, group):
                names.append(f"{name}_{group.entry}_contiguous")
            if codegen.vector_width(kernel, group) > 1:
                names.append(f"{name}_{group.entry}_vector")
    return names


def test_the_matrix_compiles_to_every_entry_point(compiled_matrix) -> None:
    matrix, code, seconds = compiled_matrix
    for name, kernel in matrix.items():
        for entry in entry_points(kernel, name):
            assert b"\x00" + entry.encode() + b"\x00" in code, entry
    assert seconds < 60


def test_passes_group_outputs() -> None:
    kernel = mixed()
    groups = codegen.passes(kernel)
    assert [(g.entry, g.outputs, g.axes) for g in groups] == [
        ("ew0", (0,), ()),
        ("red0", (1, 3), (1,)),
        ("red1", (2,), (0, 1)),
    ]
    split = codegen.passes(broadcast_output())
    assert [(g.entry, g.pattern) for g in split] == [
        ("ew0", (False, True)),
        ("ew1", (False, False)),
    ]
    assert codegen.has_contiguous(broadcast_output(), split[0])
    assert not codegen.has_contiguous(broadcast_output(), split[1])


def test_source_casts_to_compute_dtypes_and_inlines_constants() -> None:
    kernel = kernel_matrix()["rank3_mixed_broadcast"]  # float64 + int32 computes in float64
    source = codegen.kernel_source(kernel, "k")
    assert "v_in1" in source and "double" in source
    constant = codegen.kernel_source(two_outputs(), "k")
    assert "v_c0" in constant


def test_compile_errors_name_the_source_line() -> None:
    reason = compiler_available()
    if reason is not None:
        pytest.skip(reason)
    source = "__global__ void broken() {\n    int x = ;\n}\n"
    with pytest.raises(ValueError, match=r"(?s)refused.*int x = ;"):
        compile_source(source, ARCH)


# ============================================================================ execution
needs_gpu = pytest.mark.skipif(cuda_status() is not None, reason=str(cuda_status()))


def random_input(
    rng: np.random.Generator, dtype: str, shape: tuple[int, ...], kind: str = ""
) -> np.ndarray:
    if dtype == "bool":
        return rng.random(shape) < (0.9 if kind == "all" else 0.5)
    if np.dtype(dtype).kind in "iu":
        low, high = (-3, 4) if kind == "prod" else (-1000, 1000)
        return rng.integers(low, high, shape).astype(dtype)
    values = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    return values.astype(dtype)


def input_shapes(kernel: Kernel, extents: Sequence[int]) -> list[tuple[int, ...]]:
    return [tuple(1 if b else n for b, n in zip(k.broadcastable, extents)) for k in kernel.inputs]


LAYOUTS = ("contiguous", "offset", "sliced", "transposed")


def non_contiguous(cupy, array: np.ndarray, how: str):
    """A device copy of ``array`` laid out as ``how`` says: C-contiguous; a C-contiguous
    view one element into its buffer ("offset": not aligned for vector loads); every other
    element ("sliced"); or transposed."""
    if array.ndim == 0 or how == "contiguous":
        return cupy.asarray(array)
    if how == "offset":
        flat = cupy.empty(array.size + 1, array.dtype)
        view = flat[1:].reshape(array.shape)
        view[...] = cupy.asarray(array)
        return view
    if how == "sliced":
        big = cupy.empty(tuple(2 * n for n in array.shape), array.dtype)
        view = big[tuple(slice(None, None, 2) for _ in array.shape)]
        view[...] = cupy.asarray(array)
        return view
    transposed = cupy.asarray(np.ascontiguousarray(array.T))
    return transposed.T


def reduction_count(kernel: Kernel, output: KernelOutput, extents: Sequence[int]) -> int:
    return math.prod(extents[a] for a in output.axes)


def assert_close(
    kernel: Kernel, got: np.ndarray, expected: np.ndarray, count: int, output: KernelOutput
) -> None:
    assert got.shape == expected.shape and got.dtype == expected.dtype
    if got.dtype.kind not in "fc":
        np.testing.assert_array_equal(got, expected)
        return
    exact_ops = output.reduction is None and all(
        i.op.name in ("add", "subtract", "multiply") for i in kernel.body
    )
    if exact_ops:
        np.testing.assert_array_equal(got, expected)
        return
    tolerance = 2e-5 if got.dtype in (np.float32, np.complex64) else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance * max(1, count))


# Reduced sizes of every scheme: a thread (<= 16 values), a warp (<= 512) or a block per
# output element.
EXTENTS = {
    8: [(2, 3, 1, 2, 3, 2, 2, 3), (2, 0, 1, 2, 3, 2, 2, 3)],
    0: [()],
    1: [(7,), (1000,), (0,), (100,)],
    2: [(5, 9), (300, 40), (0, 4), (3, 0), (3, 700), (2, 4)],
    3: [(4, 5, 6), (2, 0, 3), (2, 3, 600), (2, 3, 4)],
}


def check_matrix_kernel(cupy, name: str, kernel: Kernel) -> None:
    """``kernel`` (of the matrix, named ``name``) launched on every extent of
    ``EXTENTS`` and every layout of ``LAYOUTS``, against ``kernel.evaluate``."""
    from jitgraph.backends.cuda.launch import launch

    rng = np.random.default_rng(zlib.crc32(name.encode()))
    kinds = [o.reduction.name for o in kernel.outputs if o.reduction is not None]
    for extents in EXTENTS[kernel.ndim]:
        values = [
            random_input(rng, k.dtype, shape, kinds[0] if kinds else "")
            for k, shape in zip(kernel.inputs, input_shapes(kernel, extents))
        ]
        try:
            expected = evaluate(kernel, values)
        except ValueError:  # max of an empty axis: the launch must refuse it too
            with pytest.raises(ValueError, match="empty axis"):
                launch(kernel, [cupy.asarray(v) for v in values])
            continue
        for how in LAYOUTS:
            results = launch(kernel, [non_contiguous(cupy, v, how) for v in values])
            for output, got, want in zip(kernel.outputs, results, expected, strict=True):
                count = reduction_count(kernel, output, extents) if output.reduction else 1
                assert_close(kernel, cupy.asnumpy(got), want, count, output)


@needs_gpu
@pytest.mark.parametrize("name", list(kernel_matrix()))
def test_matrix_matches_evaluate(name: str) -> None:
    import cupy

    check_matrix_kernel(cupy, name, kernel_matrix()[name])


@needs_gpu
@pytest.mark.parametrize(
    "shape, axes",
    [
        ((3, 70_000), (1,)),
        ((5_000_000,), (0,)),
        ((20_000_000,), (0,)),
        ((70_000, 3), (0,)),
        ((20_000, 300), (0,)),
        ((600, 40, 70), (0, 2)),
        ((3000, 5, 70), (0, 1)),
        ((100_000, 13), (1,)),
        ((20_000, 300), (1,)),
    ],
)
def test_large_sums_are_accurate_and_deterministic(shape, axes) -> None:
    import cupy

    from jitgraph.backends.cuda.launch import launch

    kernel = reduction(len(shape), "float32", "sum", axes)
    rng = np.random.default_rng(5)
    value = rng.standard_normal(shape, dtype=np.float32)
    device = cupy.asarray(value)
    [first] = launch(kernel, [device])
    [second] = launch(kernel, [device])
    np.testing.assert_array_equal(cupy.asnumpy(first), cupy.asnumpy(second))
    exact = value.astype(np.float64).sum(axis=axes)
    count = math.prod(shape[a] for a in axes)
    bound = (
        (2 * (16 + math.log2(256)) + 2) * np.finfo(np.float32).eps * np.abs(value).sum(axis=axes)
    )
    assert np.all(np.abs(cupy.asnumpy(first) - exact) <= bound), count
