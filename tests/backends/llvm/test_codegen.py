"""Kernels lowered by jitgraph/backends/llvm/codegen.py (and codegen_reduce.py), compiled
and called through the kernel ABI by a small ctypes harness, against the NumPy oracle
``jitgraph.backends.kernel.evaluate``: every dtype, ranks 0-3, broadcasting, negative
strides and other views, empty extents, row sub-ranges, every reduction over every axis
subset, NaN and inf, kernels from the fuse pass; plus the accuracy of float sums and a
look at the assembly (are the loops vectorized)."""

from __future__ import annotations

import ctypes
import itertools
import math
import platform
import re
from collections.abc import Sequence

import llvmlite.ir as ir
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import jitgraph.tensor as T
from jitgraph.backends.kernel import (
    Instruction,
    Kernel,
    KernelConstant,
    KernelInput,
    KernelOutput,
    Slot,
    check_domain,
    evaluate,
)
from jitgraph.backends.llvm import target
from jitgraph.backends.llvm.codegen import define_kernel, has_contiguous, kernel_module
from jitgraph.ir.graph import Graph
from jitgraph.ops.reduce import REDUCTIONS
from jitgraph.ops.scalar import SCALAR_OPS
from jitgraph.passes.fuse import fuse, kernels

DTYPES = [
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
    "complex64",
    "complex128",
]
STRIDED = ctypes.CFUNCTYPE(
    None, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
)
CONTIGUOUS = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)
IN, C, TEMP = "in", "c", "t"


# ============================================================================ the harness
class Compiled:
    """Kernels compiled in one module, called through the ABI."""

    def __init__(self, kernel_list: Sequence[Kernel]) -> None:
        self.kernels = list(kernel_list)
        text = kernel_module([(k, f"kernel{i}") for i, k in enumerate(self.kernels)])
        self.library = target.load_object(target.compile_ir(text))

    def run(
        self,
        index: int,
        inputs: Sequence[np.ndarray],
        variant: str = "strided",
        ranges: Sequence[tuple[int, int]] | None = None,
        outputs: Sequence[np.ndarray] | None = None,
    ) -> list[np.ndarray]:
        """Call kernel ``index`` once per (start, stop) of ``ranges`` (default: all)."""
        kernel = self.kernels[index]
        extents = check_domain(kernel, inputs)
        if outputs is None:
            outputs = allocate(kernel, extents, reversed_views=variant == "strided")
        results = list(outputs)
        arrays = [*inputs, *results]
        data = (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])
        if variant == "strided":
            function = STRIDED(self.library.address(f"kernel{index}_strided"))
            shape = (ctypes.c_int64 * max(kernel.ndim, 1))(*extents)
            strides = abi_strides(kernel, inputs, results)
            stride_array = (ctypes.c_int64 * max(len(strides), 1))(*strides)
            rows = extents[0] if kernel.ndim else 1
            for start, stop in ranges or [(0, rows)]:
                function(start, stop, data, shape, stride_array)
        else:
            function = CONTIGUOUS(self.library.address(f"kernel{index}_contiguous"))
            for start, stop in ranges or [(0, math.prod(extents))]:
                function(start, stop, data)
        return results


def output_shape(kernel: Kernel, output: KernelOutput, extents: Sequence[int]) -> tuple[int, ...]:
    pattern = kernel.slot_broadcastable(output.slot)
    value = [1 if b else n for b, n in zip(pattern, extents)]
    if output.reduction is None:
        return tuple(value)
    if output.keepdims:
        return tuple(1 if a in output.axes else n for a, n in enumerate(value))
    return tuple(n for a, n in enumerate(value) if a not in output.axes)


def allocate(kernel: Kernel, extents: Sequence[int], reversed_views: bool) -> list[np.ndarray]:
    """Outputs full of garbage (the kernel must initialise its reductions itself); with
    ``reversed_views``, those of rank >= 1 are reversed (negative output strides)."""
    results = []
    for output in kernel.outputs:
        array = np.empty(output_shape(kernel, output, extents), output.dtype)
        array.reshape(-1).view(np.uint8).fill(0x5A)
        results.append(array[::-1] if array.ndim and reversed_views else array)
    return results


def abi_strides(
    kernel: Kernel, inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray]
) -> list[int]:
    """Byte strides per the ABI: 0 along broadcast dims and reduced axes."""
    strides: list[int] = []
    for kernel_input, value in zip(kernel.inputs, inputs):
        strides += [0 if b else value.strides[d] for d, b in enumerate(kernel_input.broadcastable)]
    for output, value in zip(kernel.outputs, outputs):
        if output.reduction is None:
            pattern = kernel.slot_broadcastable(output.slot)
            strides += [0 if b else value.strides[d] for d, b in enumerate(pattern)]
            continue
        kept = iter(range(value.ndim))
        for axis in range(kernel.ndim):
            if axis in output.axes:
                strides.append(0)
                if output.keepdims:
                    next(kept)
            else:
                strides.append(value.strides[next(kept)])
    return strides


# ============================================================================ values
def random_values(
    rng: np.random.Generator, dtype: str, shape: tuple[int, ...], special: bool = True
) -> np.ndarray:
    """Random values of ``dtype``; floats include NaN, +-inf and +-0 when ``special``."""
    return np.asarray(_random_values(rng, dtype, shape, special), dtype=dtype)


def _random_values(
    rng: np.random.Generator, dtype: str, shape: tuple[int, ...], special: bool
) -> np.ndarray:
    kind = np.dtype(dtype).kind
    if kind == "b":
        return rng.random(shape) < 0.5
    if kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    if kind == "c":
        part = "float32" if dtype == "complex64" else "float64"
        # finite parts: complex inf/NaN arithmetic is scalar.py's (and its tests') concern
        values = np.empty(shape, dtype)
        values.real = random_values(rng, part, shape, special=False)
        values.imag = random_values(rng, part, shape, special=False)
        return values
    values = np.asarray(rng.standard_normal(shape) * 4, dtype=dtype)
    if special and values.size:
        picks = rng.random(shape) < 0.05
        values[picks] = rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0]), picks.sum())
    return values


def reduction_values(
    rng: np.random.Generator, dtype: str, shape: tuple[int, ...], kind: str
) -> np.ndarray:
    """Values suited to a reduction: near 1 for products (no overflow noise), finite for
    sums (their rounding is compared with a tolerance), anything for the others."""
    numeric = np.dtype(dtype).kind in "fc"
    if kind == "prod" and numeric:
        return (rng.uniform(0.5, 1.5, shape) * (1 + 0.5j if dtype[0] == "c" else 1)).astype(dtype)
    if kind == "prod" and dtype != "bool":
        return rng.integers(-3, 4, shape).astype(dtype)
    return random_values(rng, dtype, shape, special=kind != "sum")


def assert_matches(
    got: np.ndarray, expected: np.ndarray, exact: bool = True, zero_signs: bool = True
) -> None:
    """Equal shapes and dtypes, and values: bit for bit (NaN where NaN, and signed zeros
    alike where ``zero_signs``) when ``exact``, else to a tolerance of the dtype."""
    assert got.shape == expected.shape and got.dtype == expected.dtype
    if exact or got.dtype.kind not in "fc":
        np.testing.assert_array_equal(got, expected)
        if got.dtype.kind in "fc" and zero_signs:
            numbers = ~np.isnan(expected)
            np.testing.assert_array_equal(
                np.signbit(got.real[numbers]), np.signbit(expected.real[numbers])
            )
        return
    tolerance = 2e-5 if got.dtype in (np.float32, np.complex64) else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


def reduction_exact(output: KernelOutput) -> bool:
    """Whether a reduction's result is exactly determined (not a float sum/product)."""
    assert output.reduction is not None
    if output.reduction.name not in ("sum", "prod"):
        return True
    return np.dtype(output.dtype).kind not in "fc"


def assert_reduced(got: np.ndarray, expected: np.ndarray, output: KernelOutput) -> None:
    """A reduction's result: exact where it is determined, but the sign of a zero
    maximum or minimum depends on the order (NumPy's own SIMD order included)."""
    assert_matches(got, expected, exact=reduction_exact(output), zero_signs=False)


# ============================================================================ kernels
def arithmetic_kernel(dtype: str, patterns: Sequence[tuple[bool, ...]]) -> Kernel:
    """Three inputs of ``dtype``: t0 = f(in0, in1), t1 = g(t0, in2), t2 = h(t1, c0);
    outputs t1 and t2 (and t0 when it spans the loop). Exact ops only."""
    first, second, third = {
        "b": ("logical_and", "logical_or", "logical_xor"),
        "c": ("multiply", "add", "subtract"),
    }.get(np.dtype(dtype).kind, ("multiply", "add", "maximum"))
    ndim = len(patterns[0])
    body = (
        Instruction(SCALAR_OPS[first], (Slot(IN, 0), Slot(IN, 1)), dtype),
        Instruction(SCALAR_OPS[second], (Slot(TEMP, 0), Slot(IN, 2)), dtype),
        Instruction(
            SCALAR_OPS[third], (Slot(TEMP, 1), Slot(C, 0)), "bool" if dtype == "bool" else dtype
        ),
    )
    constant = KernelConstant.of(True if dtype == "bool" else 3, dtype)
    outputs = (KernelOutput(Slot(TEMP, 1), dtype), KernelOutput(Slot(TEMP, 2), body[2].dtype))
    outputs += (KernelOutput(Slot(TEMP, 0), dtype),)
    return Kernel(ndim, tuple(KernelInput(dtype, p) for p in patterns), (constant,), body, outputs)


PATTERNS = {
    0: [((), (), ())],
    1: [((False,), (False,), (True,)), ((False,), (True,), (True,))],
    2: [((False, False), (True, False), (False, True)), ((False, False),) * 3],
    3: [((False, False, False), (False, True, False), (True, True, True))],
}
SHAPE = {0: (), 1: (300,), 2: (5, 67), 3: (3, 4, 21)}


def views(rng: np.random.Generator, dtype: str, shape: tuple[int, ...]) -> list[np.ndarray]:
    """The same kind of values in several layouts: contiguous, reversed, every other
    element, Fortran order."""
    plain = random_values(rng, dtype, shape)
    if not shape:
        return [plain]
    wide = random_values(rng, dtype, tuple(2 * n for n in shape))
    return [
        plain,
        np.flip(random_values(rng, dtype, shape)),
        wide[(slice(None, None, 2),) * len(shape)],
        np.asfortranarray(plain),
    ]


def input_of(rng: np.random.Generator, dtype: str, pattern: tuple[bool, ...], shape) -> np.ndarray:
    return random_values(rng, dtype, tuple(1 if b else n for b, n in zip(pattern, shape)))


@pytest.fixture(scope="module")
def arithmetic() -> tuple[Compiled, list[tuple[str, int, int]]]:
    """Every dtype and pattern set; cases are (dtype, rank, pattern set position)."""
    cases = [(d, r, j) for d in DTYPES for r, ps in PATTERNS.items() for j in range(len(ps))]
    return Compiled([arithmetic_kernel(d, PATTERNS[r][j]) for d, r, j in cases]), cases


def test_elementwise_kernels_match_the_reference_for_every_dtype_rank_and_layout(
    arithmetic,
) -> None:
    compiled, cases = arithmetic
    rng = np.random.default_rng(0)
    for index, (dtype, rank, _) in enumerate(cases):
        kernel = compiled.kernels[index]
        shape = SHAPE[rank]
        for first in views(rng, dtype, shape):
            inputs = [first] + [
                input_of(rng, dtype, k.broadcastable, shape) for k in kernel.inputs[1:]
            ]
            if kernel.inputs[1].broadcastable != kernel.inputs[0].broadcastable:
                inputs[1] = inputs[1][(slice(None, None, -1),) * rank]  # a reversed row
            expected = evaluate(kernel, inputs)
            variants = ["strided", "contiguous"] if has_contiguous(kernel) else ["strided"]
            for variant in variants:
                if variant == "contiguous" and not all(
                    a.flags.c_contiguous or a.size == 1 for a in inputs
                ):
                    continue
                got = compiled.run(index, inputs, variant)
                for g, e in zip(got, expected):
                    # complex products: scalar.py's rounding may differ from NumPy's SIMD
                    assert_matches(g, e, exact=g.dtype.kind != "c")


def test_strided_kernels_compute_only_their_rows_and_contiguous_ones_their_range(
    arithmetic,
) -> None:
    compiled, cases = arithmetic
    index = cases.index(("float64", 2, 0))
    kernel = compiled.kernels[index]
    rng = np.random.default_rng(1)
    inputs = [input_of(rng, "float64", k.broadcastable, (5, 67)) for k in kernel.inputs]
    expected = evaluate(kernel, inputs)
    outputs = [np.zeros(e.shape) for e in expected]
    compiled.run(index, inputs, "strided", ranges=[(2, 4)], outputs=outputs)
    for got, full in zip(outputs, expected):
        np.testing.assert_array_equal(got[2:4], full[2:4])
        assert not got[:2].any() and not got[4:].any()


def test_zero_rank_and_empty_domains(arithmetic) -> None:
    compiled, cases = arithmetic
    rng = np.random.default_rng(2)
    index = cases.index(("int32", 0, 0))
    inputs = [random_values(rng, "int32", ()) for _ in range(3)]
    for variant in ("strided", "contiguous"):
        for got, expected in zip(
            compiled.run(index, inputs, variant), evaluate(compiled.kernels[index], inputs)
        ):
            assert_matches(got, expected)
    index = cases.index(("float64", 3, 0))
    kernel = compiled.kernels[index]
    for shape in [(0, 4, 5), (3, 0, 5), (3, 4, 0)]:
        inputs = [input_of(rng, "float64", k.broadcastable, shape) for k in kernel.inputs]
        for got, expected in zip(compiled.run(index, inputs), evaluate(kernel, inputs)):
            assert_matches(got, expected)


def test_an_output_may_be_its_input_in_place(arithmetic) -> None:
    compiled, cases = arithmetic
    rng = np.random.default_rng(3)
    for dtype in ("float64", "int32", "complex64"):
        index = cases.index((dtype, 2, 1))
        kernel = compiled.kernels[index]
        assert has_contiguous(kernel)
        for variant in ("strided", "contiguous"):
            inputs = [input_of(rng, dtype, k.broadcastable, (5, 67)) for k in kernel.inputs]
            expected = evaluate(kernel, [a.copy() for a in inputs])
            outputs = [inputs[0], *(np.empty(e.shape, e.dtype) for e in expected[1:])]
            got = compiled.run(index, inputs, variant, outputs=outputs)
            assert got[0] is inputs[0]
            for g, e in zip(got, expected):
                assert_matches(g, e)


# ============================================================================ reductions
AXIS_SUBSETS = [s for r in (1, 2, 3) for s in itertools.combinations(range(3), r)]


def reduction_kernel(
    kind: str, dtype: str, through_instruction: bool, subsets: Sequence[tuple[int, ...]]
) -> Kernel:
    """One output per axis subset of a rank-3 loop (keepdims on every other one), of
    ``kind`` applied to in0 (or to ``in0 * 1``: the value then comes from the body)."""
    reduction = REDUCTIONS[kind]
    value = Slot(IN, 0)
    body: tuple[Instruction, ...] = ()
    constants: tuple[KernelConstant, ...] = ()
    if through_instruction:
        op = SCALAR_OPS["logical_and" if dtype == "bool" else "multiply"]
        constants = (KernelConstant.of(1, dtype),)
        body = (Instruction(op, (Slot(IN, 0), Slot(C, 0)), dtype),)
        value = Slot(TEMP, 0)
    out_dtype = reduction.out_dtype(dtype)
    acc = out_dtype if reduction.takes_dtype else None
    outputs = tuple(
        KernelOutput(value, out_dtype, reduction, axes, bool(i % 2), acc)
        for i, axes in enumerate(subsets)
    )
    return Kernel(3, (KernelInput(dtype, (False,) * 3),), constants, body, outputs)


def reduction_cases() -> list[tuple[str, str]]:
    return [
        (kind, dtype)
        for kind, reduction in REDUCTIONS.items()
        for dtype in DTYPES
        if np.dtype(dtype).kind in reduction.accepts
    ]


@pytest.fixture(scope="module")
def reductions() -> tuple[Compiled, list[tuple[str, str]]]:
    """Every reduction and dtype; three axis subsets each, in turn (every subset comes
    several times per reduction: one module compiles in seconds, not tens of them)."""
    cases = reduction_cases()
    kernel_list = [
        reduction_kernel(k, d, i % 2 == 0, [AXIS_SUBSETS[(3 * i + j) % 7] for j in range(3)])
        for i, (k, d) in enumerate(cases)
    ]
    return Compiled(kernel_list), cases


@pytest.mark.parametrize("layout", ["plain", "reversed", "strided", "fortran"])
def test_reductions_over_every_axis_subset_match_the_reference(reductions, layout) -> None:
    compiled, cases = reductions
    rng = np.random.default_rng(4)
    shape = (3, 5, 300)  # the inner extent spans blocks and ends in a partial vector
    for index, (kind, dtype) in enumerate(cases):
        kernel = compiled.kernels[index]
        plain = reduction_values(rng, dtype, shape, kind)
        value = {
            "plain": plain,
            "reversed": plain[::-1, :, ::-1],
            "strided": np.repeat(plain, 2, axis=2)[:, :, ::2],
            "fortran": np.asfortranarray(plain),
        }[layout]
        expected = evaluate(kernel, [value])
        for got, want, output in zip(compiled.run(index, [value]), expected, kernel.outputs):
            assert_reduced(got, want, output)
        assert not has_contiguous(kernel)  # partial reductions: the strided entry only


def test_full_reductions_through_the_contiguous_entry_and_over_ranges(reductions) -> None:
    compiled, cases = reductions
    rng = np.random.default_rng(5)
    full = Compiled(
        [
            reduction_kernel(kind, dtype, i % 2 == 1, [(0, 1, 2)])
            for i, (kind, dtype) in enumerate(cases)
        ]
    )
    for index, (kind, dtype) in enumerate(cases):
        kernel = full.kernels[index]
        assert has_contiguous(kernel)
        value = reduction_values(rng, dtype, (4, 5, 150), kind)
        [expected] = evaluate(kernel, [value])
        [got] = full.run(index, [value], "contiguous")
        assert_reduced(got, expected, kernel.outputs[0])
        # Two ranges into two partial results, combined as the driver does.
        cut = 1234
        parts = [
            full.run(index, [value], "contiguous", ranges=[r])[0] for r in [(0, cut), (cut, 3000)]
        ]
        flat = value.reshape(-1)
        for part, piece in zip(parts, (flat[:cut], flat[cut:])):
            [want] = evaluate(kernel, [piece.reshape(1, 1, -1)])
            assert_reduced(part, want, kernel.outputs[0])


def test_empty_reduced_axes_give_the_start_value(reductions) -> None:
    compiled, cases = reductions
    rng = np.random.default_rng(6)
    for index, (kind, dtype) in enumerate(cases):
        if REDUCTIONS[kind].identity is None:
            continue  # max/min of nothing is an error, raised by the driver
        kernel = compiled.kernels[index]
        for shape in [(0, 5, 7), (3, 0, 7), (3, 5, 0)]:
            value = reduction_values(rng, dtype, shape, kind)
            for got, want in zip(compiled.run(index, [value]), evaluate(kernel, [value])):
                assert_matches(got, want)


def test_strided_reductions_over_row_ranges() -> None:
    rows = Compiled([reduction_kernel("sum", "float64", True, [(1,), (2,), (1, 2)])])
    value = reduction_values(np.random.default_rng(7), "float64", (6, 5, 40), "sum")
    expected = evaluate(rows.kernels[0], [value])
    got = rows.run(0, [value], ranges=[(0, 1), (1, 4), (4, 6)])
    for g, e in zip(got, expected):
        assert_matches(g, e, exact=False)


def test_nan_propagates_through_max_and_min_wherever_it_is() -> None:
    kinds = ["max", "min", "max_or_neg_inf", "sum", "prod"]
    kernel_list = []
    for kind in kinds:
        reduction = REDUCTIONS[kind]
        acc = "float32" if reduction.takes_dtype else None
        outputs = (
            KernelOutput(Slot(IN, 0), "float32", reduction, (1,), False, acc),
            KernelOutput(Slot(IN, 0), "float32", reduction, (0,), False, acc),
        )
        kernel_list.append(Kernel(2, (KernelInput("float32", (False, False)),), (), (), outputs))
    compiled = Compiled(kernel_list)
    for position in [0, 5, 255, 256, 299, 511, 600]:
        value = np.arange(2 * 601, dtype="float32").reshape(2, 601) - 300
        value[0, position] = np.nan
        value[1, 600 - position] = -np.inf
        for index, kernel in enumerate(compiled.kernels):
            for got, want in zip(compiled.run(index, [value]), evaluate(kernel, [value])):
                assert_reduced(got, want, kernel.outputs[0])


def test_sums_of_signed_zeros_follow_numpy() -> None:
    outputs = (KernelOutput(Slot(IN, 0), "float64", REDUCTIONS["sum"], (0,), False, "float64"),)
    compiled = Compiled([Kernel(1, (KernelInput("float64", (False,)),), (), (), outputs)])
    for values in ([-0.0] * 40, [], [-0.0]):
        value = np.array(values, dtype="float64")
        for variant in ("strided", "contiguous"):
            [got] = compiled.run(0, [value], variant)
            assert_matches(got, np.sum(value))


def test_accumulator_dtypes_wider_than_the_output() -> None:
    """sum(float32, acc_dtype=float64) over an outer axis gets a nest of its own (the
    running value cannot live in float32 memory); int8 sums wrap the same either way."""
    kernel_list = []
    for value_dtype, out_dtype, acc, kinds in [
        ("float32", "float32", "float64", ("sum", "prod")),
        ("int8", "int8", "int64", ("sum", "prod")),
        ("int16", "float64", "float64", ("sum", "prod")),
        ("int32", "int32", "float64", ("sum",)),
    ]:
        outputs = tuple(
            KernelOutput(Slot(IN, 0), out_dtype, REDUCTIONS[kind], axes, keep, acc)
            for kind in kinds
            for axes, keep in [((0,), False), ((0, 2), True), ((2,), False), ((0, 1, 2), False)]
        )
        kernel_list.append(Kernel(3, (KernelInput(value_dtype, (False,) * 3),), (), (), outputs))
    compiled = Compiled(kernel_list)
    rng = np.random.default_rng(8)
    for index, kernel in enumerate(compiled.kernels):
        value = reduction_values(rng, kernel.inputs[0].dtype, (4, 3, 70), "prod")
        expected = evaluate(kernel, [value])
        for got, want, output in zip(compiled.run(index, [value]), expected, kernel.outputs):
            assert_reduced(got, want, output)


def test_float32_sum_of_ten_million_values_is_as_accurate_as_numpy() -> None:
    outputs = (KernelOutput(Slot(IN, 0), "float32", REDUCTIONS["sum"], (0,), False, "float32"),)
    compiled = Compiled([Kernel(1, (KernelInput("float32", (False,)),), (), (), outputs)])
    value = np.random.default_rng(0).random(10**7, dtype=np.float32)
    exact = math.fsum(value.astype(np.float64))
    numpy_error = abs(float(np.sum(value)) - exact)
    for variant in ("contiguous", "strided"):
        [got] = compiled.run(0, [value], variant)
        assert abs(float(got) - exact) <= numpy_error


def test_float64_sums_are_within_the_pairwise_error_bound() -> None:
    outputs = (KernelOutput(Slot(IN, 0), "float64", REDUCTIONS["sum"], (0,), False, "float64"),)
    compiled = Compiled([Kernel(1, (KernelInput("float64", (False,)),), (), (), outputs)])
    rng = np.random.default_rng(1)
    for size in (10**6, 3 * 10**5 + 7):
        value = rng.standard_normal(size) * np.exp(rng.uniform(-20, 20, size))
        exact = math.fsum(value)
        bound = (16 + math.log2(size)) * np.finfo(np.float64).eps * np.sum(np.abs(value))
        [got] = compiled.run(0, [value], "contiguous")
        assert abs(float(got) - exact) <= bound


def test_complex_sums_and_products() -> None:
    kernel_list = [
        Kernel(
            2,
            (KernelInput(dtype, (False, False)),),
            (),
            (),
            tuple(
                KernelOutput(Slot(IN, 0), dtype, REDUCTIONS[kind], axes, False, dtype)
                for kind in ("sum", "prod")
                for axes in [(0,), (1,), (0, 1)]
            ),
        )
        for dtype in ("complex64", "complex128")
    ]
    compiled = Compiled(kernel_list)
    rng = np.random.default_rng(9)
    for index, kernel in enumerate(compiled.kernels):
        value = reduction_values(rng, kernel.inputs[0].dtype, (3, 517), "prod")
        for got, want in zip(compiled.run(index, [value]), evaluate(kernel, [value])):
            assert_matches(got, want, exact=False)


# ============================================================================ broadcasting
def test_an_output_broadcasting_along_an_outer_axis_is_written_even_if_that_axis_is_empty() -> None:
    body = (
        Instruction(SCALAR_OPS["negative"], (Slot(IN, 1),), "float64"),
        Instruction(SCALAR_OPS["multiply"], (Slot(TEMP, 0), Slot(IN, 0)), "float64"),
    )
    kernel = Kernel(
        2,
        (KernelInput("float64", (False, False)), KernelInput("float64", (True, False))),
        (),
        body,
        (KernelOutput(Slot(TEMP, 0), "float64"), KernelOutput(Slot(TEMP, 1), "float64")),
    )
    compiled = Compiled([kernel])
    rng = np.random.default_rng(10)
    for rows in (0, 1, 7):
        inputs = [rng.standard_normal((rows, 300)), rng.standard_normal((1, 300))[:, ::-1]]
        for got, want in zip(compiled.run(0, inputs), evaluate(kernel, inputs)):
            assert_matches(got, want)
    assert not has_contiguous(kernel)


@given(
    shape=st.tuples(*[st.integers(0, 9)] * 2, st.integers(0, 40)),
    steps=st.tuples(*[st.sampled_from([1, 2, -1, -3])] * 3),
    x_pattern=st.tuples(*[st.booleans()] * 3),
    y_pattern=st.tuples(*[st.booleans()] * 3),
    axes=st.sampled_from(AXIS_SUBSETS),
)
def test_random_shapes_strides_and_patterns(shape, steps, x_pattern, y_pattern, axes) -> None:
    """Where both inputs broadcast along an axis, the loop domain does (extent 1)."""
    shape = tuple(1 if x and y else n for x, y, n in zip(x_pattern, y_pattern, shape))
    assume(all(shape[a] > 0 for a in axes))  # max over an empty axis is an error
    kernel = _hypothesis_kernel(x_pattern, y_pattern, axes)
    rng = np.random.default_rng(list(shape))
    x_shape = tuple(1 if b else n for b, n in zip(x_pattern, shape))
    base = rng.standard_normal(tuple(abs(s) * n for s, n in zip(steps, x_shape)))
    x = base[tuple(slice(None, None, s) for s in steps)]
    y = rng.standard_normal(tuple(1 if b else n for b, n in zip(y_pattern, shape)))
    expected = evaluate(kernel, [x, y])
    got = _HYPOTHESIS_COMPILED[kernel].run(0, [x, y])
    assert_matches(got[0], expected[0])
    for g, e, output in zip(got[1:], expected[1:], kernel.outputs[1:]):
        assert_reduced(g, e, output)


_HYPOTHESIS_COMPILED: dict[Kernel, Compiled] = {}


def _hypothesis_kernel(
    x_pattern: tuple[bool, ...], y_pattern: tuple[bool, ...], axes: tuple[int, ...]
) -> Kernel:
    """x * y - y, the inputs broadcasting per their patterns: that value, its sum and the
    max of x * y over ``axes``; compiled once per distinct kernel."""
    body = (
        Instruction(SCALAR_OPS["multiply"], (Slot(IN, 0), Slot(IN, 1)), "float64"),
        Instruction(SCALAR_OPS["subtract"], (Slot(TEMP, 0), Slot(IN, 1)), "float64"),
    )
    outputs = (
        KernelOutput(Slot(TEMP, 1), "float64"),
        KernelOutput(Slot(TEMP, 1), "float64", REDUCTIONS["sum"], axes, True, "float64"),
        KernelOutput(Slot(TEMP, 0), "float64", REDUCTIONS["max"], axes, False),
    )
    kernel = Kernel(
        3,
        (KernelInput("float64", x_pattern), KernelInput("float64", y_pattern)),
        (),
        body,
        outputs,
    )
    if kernel not in _HYPOTHESIS_COMPILED:
        _HYPOTHESIS_COMPILED[kernel] = Compiled([kernel])
    return kernel


# ============================================================================ fused graphs
def fused_cases() -> list[tuple[list, list]]:
    """(graph inputs, outputs): graphs the fuse pass turns into kernels."""
    x, y, z, w = T.dmatrices("x", "y", "z", "w")
    v = T.fvector("v")
    c = T.dscalar("c")
    m = T.imatrix("m")
    return [
        ([x, c], [T.sum((x - c) ** 2)]),
        ([x], [T.sqrt(T.sum(x**2, axis=1))]),
        ([x, y, z, w], [x * y + z * w - 2.5 * x / (y + 1)]),
        ([v], [1 / (1 + T.exp(-v))]),
        ([x], [T.exp(x - x.max(axis=1, keepdims=True))]),
        ([m], [T.sum(m * 3, axis=0), T.max(m, axis=1)]),
        ([x, y], [T.mean(x * y, axis=0), T.all(x > y), T.any(x > 3.0, axis=1)]),
    ]


def test_kernels_of_fused_graphs_match_the_reference() -> None:
    graph_kernels: list[Kernel] = []
    for inputs, outputs in fused_cases():
        graph_kernels += kernels(fuse(Graph(inputs, outputs)))
    compiled = Compiled(graph_kernels)
    rng = np.random.default_rng(11)
    for index, kernel in enumerate(graph_kernels):
        extents = [rng.integers(2, 300) for _ in range(kernel.ndim)]
        inputs = [
            random_values(
                rng,
                k.dtype,
                tuple(1 if b else n for b, n in zip(k.broadcastable, extents)),
                special=False,
            )
            for k in kernel.inputs
        ]
        expected = evaluate(kernel, inputs)
        exact = all(op.exact for op in (i.op for i in kernel.body))
        variants = ["strided", "contiguous"] if has_contiguous(kernel) else ["strided"]
        for variant in variants:
            for got, want, output in zip(
                compiled.run(index, inputs, variant), expected, kernel.outputs
            ):
                if output.reduction is None:
                    assert_matches(got, want, exact=exact)
                else:
                    assert_matches(got, want, exact and reduction_exact(output), zero_signs=False)


# ============================================================================ the code itself
def test_api_names_and_contiguous_forms() -> None:
    x = T.dmatrix("x")
    [elementwise] = kernels(fuse(Graph([x], [T.exp(x)])))
    module = ir.Module()
    define_kernel(module, elementwise, "k")
    assert {"k_strided", "k_contiguous"} <= {f.name for f in module.functions}
    assert not has_contiguous(kernels(fuse(Graph([x], [T.sum(x * 2, axis=0)])))[0])
    assert has_contiguous(kernels(fuse(Graph([x], [T.sum(x * 2)])))[0])
    text = kernel_module([(elementwise, "a"), (elementwise, "b")])
    assert '@"a_strided"' in text and '@"b_contiguous"' in text


def _function_assembly(assembly: str, name: str) -> str:
    start = assembly.index(f"\n{name}:")
    end = assembly.find(".Lfunc_end", start)
    return assembly[start:end]


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 assembly")
def test_unit_stride_loops_and_float_sums_are_vectorized() -> None:
    """Packed (vector) arithmetic in the assembly of a*b+c (both entries) and of float
    sums (pairwise lanes); no fast-math: the product and sum stay separate."""
    elementwise = arithmetic_kernel("float64", [(False, False)] * 3)
    sum_rows = reduction_kernel("sum", "float32", True, [(2,), (1, 2)])
    full_sum = Kernel(
        1,
        (KernelInput("float64", (False,)),),
        (),
        (Instruction(SCALAR_OPS["square"], (Slot(IN, 0),), "float64"),),
        (KernelOutput(Slot(TEMP, 0), "float64", REDUCTIONS["sum"], (0,), False, "float64"),),
    )
    text = kernel_module([(elementwise, "ew"), (sum_rows, "rows"), (full_sum, "full")])
    assembly = target.assembly(text)
    packed = re.compile(r"v(mul|add)p[sd]\s.*%[xyz]mm")
    for name in ("ew_strided", "ew_contiguous", "rows_strided", "full_contiguous", "full_strided"):
        assert packed.search(_function_assembly(assembly, name)), name
    assert "vfmadd" not in _function_assembly(assembly, "ew_contiguous")
