"""The LLVM lowering of every entry of THE elementwise table, against NumPy.

For every op, every dtype it accepts (``op.supported_dtypes()``) and a few mixed-dtype
combinations its rule allows, one native function ``void f(ptr a, ptr b, ptr c, ptr out,
i64 n)`` loads each argument (types.load), casts it to its compute dtype (types.cast), calls
``lower_instruction`` and stores the result. All functions go into one module, compiled once
at O3 (``compiled_cases``). Arguments: random values from the op's test domain plus edge values
(zeros of both signs, NaN, infinities, integer extremes, the largest, smallest normal and
smallest subnormal floats), binary ops also on every pair of edge values. Expected: ``op.impl``
on the arguments cast to the compute dtypes, cast to the output dtype.

Comparison: integer and bool outputs exactly; float and complex outputs (each part) NaN for
NaN (any payload), and bit for bit (the sign of zero included) when ``op.exact``; the other ops
within ``ULPS`` units in the last place (measured: at most 2 for every op and dtype here, the
C library and SciPy against NumPy's SIMD loops), or within the smallest normal number (SciPy's
float32 ``expit`` underflows to 0 where the math library returns the subnormal result).
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import llvmlite.ir as ir
import numpy as np
import pytest

from jitgraph import dtypes
from jitgraph.backends.llvm import scalar, scalar_special, target, types
from jitgraph.backends.llvm.scalar import lower_instruction
from jitgraph.ops.scalar import SCALAR_OPS, DtypeRuleError, ScalarOp

# types.py has no float16 register type yet (llvm_type gives i16): float16 is untested here.
FLOAT16 = str(types.llvm_type("float16")) == "half"
ULPS = {"float16": 1, "float32": 4, "float64": 4}
# SciPy's own float64 erfc is 50-500 ulp off in the far tail (x > ~6; e.g. erfc(9.5086):
# exact 3.19785227285632629e-41, SciPy ...3106e-41, ours ...3264e-41; checked with mpmath by
# tests/backends/llvm/test_mathlib.py): against SciPy, the tolerance there is relative.
REFERENCE_ERROR = {("erfc", "float64"): 1e-12}
RANDOM_VALUES = 300
# Mixed-dtype combinations tried for every op of that arity (those its rule refuses or whose
# kinds it does not accept are skipped).
MIXED: dict[int, list[tuple[str, ...]]] = {
    2: [
        ("int8", "uint8"),
        ("int64", "uint64"),
        ("uint64", "int8"),
        ("int32", "float32"),
        ("float32", "float64"),
        ("bool", "int16"),
        ("float64", "complex64"),
        ("int16", "complex128"),
    ],
    3: [("int8", "int16", "float32"), ("bool", "uint8", "int64"), ("float32", "int8", "complex64")],
}
CFUNC = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 4, ctypes.c_int64)


# ============================================================================ inputs
def edge_values(dtype: str) -> np.ndarray:
    """Values every op is tried on, whatever its domain."""
    if dtypes.kind(dtype) == "b":
        return np.array([False, True])
    if dtypes.kind(dtype) in "iu":
        limits = np.iinfo(dtype)
        low, high = int(limits.min), int(limits.max)
        candidates = [0, 1, 2, 3, 7, high, high - 1, low, low + 1, -1, -2, -7]
        return np.array([v for v in candidates if low <= v <= high], dtype=dtype)
    part = types.complex_part(dtype) if dtypes.is_complex(dtype) else dtype
    info = np.finfo(part)
    reals = np.array(
        [0.0, -0.0, 1.0, -1.0, 0.5, -1.5, 2.5, 3.0, np.nan, np.inf, -np.inf, info.max, -info.max,
         info.tiny, -info.tiny, info.smallest_subnormal, info.eps, 1e10, -100.25, 0.75],
        dtype=part,
    )  # fmt: skip
    if not dtypes.is_complex(dtype):
        return reals
    few = reals[[0, 1, 2, 3, 6, 8, 9, 10, 11, 13]]
    return (few[:, None] + np.complex128(1j) * few[None, :]).astype(dtype).ravel()


def domain_values(dtype: str, domain: str, rng: np.random.Generator) -> np.ndarray:
    """``RANDOM_VALUES`` random values of ``dtype`` in the test domain ``domain``."""
    kind = dtypes.kind(dtype)
    if kind == "b":
        return rng.integers(0, 2, RANDOM_VALUES).astype(bool)
    if kind == "c":
        part = types.complex_part(dtype)
        real, imag = (domain_values(part, domain, rng) for _ in range(2))
        return (real + np.complex128(1j) * imag).astype(dtype)
    if kind in "iu":
        return _integer_values(dtype, domain, rng)
    return _float_values(dtype, domain, rng)


def _integer_values(dtype: str, domain: str, rng: np.random.Generator) -> np.ndarray:
    info = np.iinfo(dtype)
    low, high = int(info.min), int(info.max)
    if domain in ("positive", "ge1", "nonzero"):
        low = 1
    elif domain in ("nonneg", "shift", "exponent", "zero_to_two"):
        low = 0
    high = {"exponent": 10, "shift": info.bits - 1, "zero_to_two": 2, "unit": 1}.get(domain, high)
    low = {"unit": max(low, -1), "small": max(low, -20)}.get(domain, low)
    high = min(high, 20) if domain == "small" else high
    wide = rng.integers(
        low, high, RANDOM_VALUES, endpoint=True, dtype=np.int64 if low < 0 else np.uint64
    )
    small = rng.integers(max(low, -100), min(high, 100), RANDOM_VALUES, endpoint=True)
    return np.where(rng.random(RANDOM_VALUES) < 0.5, wide, small).astype(dtype)


def _float_values(dtype: str, domain: str, rng: np.random.Generator) -> np.ndarray:
    info = np.finfo(dtype)
    exponent_range = np.log10(info.max) - 1
    magnitude = 10.0 ** rng.uniform(-exponent_range, exponent_range, RANDOM_VALUES)
    ordinary = rng.standard_normal(RANDOM_VALUES) * 10.0 ** rng.integers(-2, 3, RANDOM_VALUES)
    values = np.where(rng.random(RANDOM_VALUES) < 0.3, magnitude, np.abs(ordinary))
    signs = rng.choice([-1.0, 1.0], RANDOM_VALUES)
    bounded = {
        "unit": rng.uniform(-1, 1, RANDOM_VALUES),
        "small": rng.uniform(-20, 20, RANDOM_VALUES),
        "zero_to_two": rng.uniform(0, 2, RANDOM_VALUES),
        "exponent": np.where(
            rng.random(RANDOM_VALUES) < 0.5,
            rng.uniform(-10, 10, RANDOM_VALUES),
            rng.integers(-10, 11, RANDOM_VALUES),
        ),
    }
    if domain in bounded:
        result = bounded[domain]
    elif domain in ("positive", "nonneg"):
        result = values
    elif domain == "ge1":
        result = 1.0 + values
    else:  # any, nonzero
        result = signs * values
    with np.errstate(over="ignore"):
        return np.asarray(result).astype(dtype)


def arguments(op: ScalarOp, arg_dtypes: tuple[str, ...], seed: int) -> list[np.ndarray]:
    """Random domain values, then edge values (every pair of them for binary ops)."""
    rng = np.random.default_rng(seed)
    domains = op.domains()
    randoms = [domain_values(d, domain, rng) for d, domain in zip(arg_dtypes, domains)]
    edges = [_edges_for(op, d, domain) for d, domain in zip(arg_dtypes, domains)]
    if op.arity == 2:
        first, second = np.meshgrid(edges[0], edges[1], indexing="ij")
        edges = [first.ravel(), second.ravel()]
    else:
        length = max(len(e) for e in edges)
        edges = [np.resize(e, length) for e in edges]
    columns = [np.concatenate([r, e]) for r, e in zip(randoms, edges)]
    return _valid_arguments(op, arg_dtypes, columns)


def _edges_for(op: ScalarOp, dtype: str, domain: str) -> np.ndarray:
    edges = edge_values(dtype)
    if domain == "exponent" and dtypes.kind(dtype) in "iu":
        edges = edges[edges >= 0]  # NumPy raises for negative integer powers
    if domain == "shift" and dtypes.kind(dtype) in "iu":
        bits = np.iinfo(dtype).bits
        extra = [bits - 1, bits, bits + 1, 100]
        edges = np.concatenate(
            [edges, np.array([v for v in extra if v <= np.iinfo(dtype).max], dtype)]
        )
    return edges


def _valid_arguments(
    op: ScalarOp, arg_dtypes: tuple[str, ...], columns: list[np.ndarray]
) -> list[np.ndarray]:
    """Drop float -> integer conversions NumPy leaves undefined (NaN, out of range)."""
    if not op.name.startswith("cast_"):
        return columns
    target_dtype = op.name[len("cast_") :]
    (values,) = columns
    if dtypes.kind(target_dtype) in "iu" and dtypes.kind(arg_dtypes[0]) == "f":
        info = np.iinfo(target_dtype)
        with np.errstate(invalid="ignore"):
            wide = values.astype(np.float64)
            keep = np.isfinite(wide) & (wide > float(info.min) - 1) & (wide < float(info.max))
        values = values[keep]
    return [values]


# ============================================================================ cases
def dtype_cases(op: ScalarOp) -> list[tuple[str, ...]]:
    """The argument dtypes tested for ``op``: every supported dtype, then mixed ones."""
    uniform = [(d,) * op.arity for d in op.supported_dtypes()]
    mixed = [combo for combo in MIXED.get(op.arity, []) if _accepted(op, combo)]
    return [combo for combo in uniform + mixed if FLOAT16 or not _involves_float16(op, combo)]


def _involves_float16(op: ScalarOp, combo: tuple[str, ...]) -> bool:
    compute, out_dtype = op.dtype_rule(combo)
    return "float16" in (*combo, *compute, out_dtype)


def _accepted(op: ScalarOp, combo: tuple[str, ...]) -> bool:
    if not all(dtypes.kind(d) in op.accepts for d in combo):
        return False
    try:
        op.dtype_rule(combo)
    except DtypeRuleError:
        return False
    return True


def all_cases() -> Iterator[tuple[ScalarOp, tuple[str, ...]]]:
    for name in sorted(SCALAR_OPS):
        for combo in dtype_cases(SCALAR_OPS[name]):
            yield SCALAR_OPS[name], combo


def function_name(op: ScalarOp, arg_dtypes: tuple[str, ...]) -> str:
    return f"test_{op.name}__{'_'.join(arg_dtypes)}"


def define_test_function(module: ir.Module, op: ScalarOp, arg_dtypes: tuple[str, ...]) -> None:
    """``void f(ptr a, ptr b, ptr c, ptr out, i64 n)``: out[i] = op(a[i], b[i], c[i])."""
    compute, out_dtype = op.dtype_rule(arg_dtypes)
    function_type = ir.FunctionType(ir.VoidType(), [types.POINTER] * 4 + [types.I64])
    function = ir.Function(module, function_type, function_name(op, arg_dtypes))
    *pointers, out_pointer, count = function.args
    entry = function.append_basic_block("entry")
    body = function.append_basic_block("body")
    done = function.append_basic_block("done")
    builder = ir.IRBuilder(entry)
    builder.cbranch(builder.icmp_signed(">", count, types.I64(0)), body, done)
    builder.position_at_end(body)
    index = builder.phi(types.I64)
    index.add_incoming(types.I64(0), entry)
    values = []
    for pointer, arg_dtype, compute_dtype in zip(pointers, arg_dtypes, compute):
        address = builder.gep(pointer, [index], source_etype=types.memory_type(arg_dtype))
        loaded = types.load(builder, address, arg_dtype)
        values.append(types.cast(builder, loaded, arg_dtype, compute_dtype))
    result = lower_instruction(builder, op, values, compute, out_dtype)
    address = builder.gep(out_pointer, [index], source_etype=types.memory_type(out_dtype))
    types.store(builder, result, address, out_dtype)
    following = builder.add(index, types.I64(1))
    index.add_incoming(following, builder.block)
    builder.cbranch(builder.icmp_signed("<", following, count), body, done)
    builder.position_at_end(done)
    builder.ret_void()


@functools.cache
def compiled_cases() -> tuple[target.NativeLibrary, dict[str, str]]:
    """Every case in one module, compiled once; and the lowering error of each case that
    raised while building its IR (reported by that case's test)."""
    module = ir.Module(name="test_scalar")
    errors: dict[str, str] = {}
    for op, combo in all_cases():
        try:
            define_test_function(module, op, combo)
        except Exception as exc:  # noqa: BLE001 - reported by the case's own test
            errors[function_name(op, combo)] = f"{type(exc).__name__}: {exc}"
            function = module.get_global(function_name(op, combo))
            function.blocks.clear()  # keep the module valid: an empty body
            ir.IRBuilder(function.append_basic_block()).ret_void()
    return target.load_object(target.compile_ir(str(module))), errors


def run_native(op: ScalarOp, arg_dtypes: tuple[str, ...], columns: list[np.ndarray]) -> np.ndarray:
    library, errors = compiled_cases()
    name = function_name(op, arg_dtypes)
    if name in errors:
        pytest.fail(f"{op.name}{arg_dtypes}: lowering raised {errors[name]}")
    _, out_dtype = op.dtype_rule(arg_dtypes)
    inputs = [np.ascontiguousarray(column) for column in columns]
    out = np.zeros(len(inputs[0]), dtype=out_dtype)
    pointers = [column.ctypes.data for column in inputs] + [0] * (3 - len(inputs))
    CFUNC(library.address(name))(*pointers, out.ctypes.data, len(out))
    return out


def reference(op: ScalarOp, arg_dtypes: tuple[str, ...], columns: list[np.ndarray]) -> np.ndarray:
    compute, out_dtype = op.dtype_rule(arg_dtypes)
    with np.errstate(all="ignore"):
        cast = [column.astype(dtype) for column, dtype in zip(columns, compute)]
        return np.asarray(op.impl(*cast)).astype(out_dtype)


# ============================================================================ comparison
def ordered_bits(values: np.ndarray) -> np.ndarray:
    """Float bit patterns mapped to integers in the order of the floats (-0.0 == +0.0 - 1),
    so that subtracting two gives their distance in ulps."""
    signed = values.view(f"int{values.dtype.itemsize * 8}").astype(np.int64)
    return np.where(
        signed < 0, -(signed & np.int64(2 ** (values.dtype.itemsize * 8 - 1) - 1)), signed
    )


def mismatches(op: ScalarOp, got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """A boolean mask of the elements that do not match (see the module docstring)."""
    if dtypes.kind(str(expected.dtype)) in "biu":
        return got != expected
    if dtypes.is_complex(str(expected.dtype)):
        real = _float_mismatches(op, got.real, expected.real)
        return real | _float_mismatches(op, got.imag, expected.imag)
    return _float_mismatches(op, got, expected)


def _float_mismatches(op: ScalarOp, got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    nan_differs = np.isnan(got) != np.isnan(expected)
    both = ~np.isnan(got) & ~np.isnan(expected)
    if op.exact:
        return nan_differs | (
            both & (got.view(f"u{got.dtype.itemsize}") != expected.view(f"u{got.dtype.itemsize}"))
        )
    ulps = np.abs(ordered_bits(got) - ordered_bits(expected))
    with np.errstate(invalid="ignore"):
        # SciPy's float32 loops (expit) underflow to 0 where the true result is subnormal.
        subnormal_gap = np.abs(got - expected) <= np.finfo(expected.dtype).tiny
    close = (ulps <= ULPS[str(expected.dtype)]) | subnormal_gap
    relative = REFERENCE_ERROR.get((op.name, str(expected.dtype)))
    if relative is not None:
        with np.errstate(invalid="ignore"):
            close |= np.abs(got - expected) <= relative * np.abs(expected)
    same_infinity = np.isinf(got) & (got == expected)
    return nan_differs | (both & ~close & ~same_infinity)


def describe(
    columns: list[np.ndarray], got: np.ndarray, expected: np.ndarray, bad: np.ndarray
) -> str:
    rows = []
    for index in np.flatnonzero(bad)[:6]:
        args = ", ".join(repr(column[index]) for column in columns)
        rows.append(f"  ({args}) -> {got[index]!r}, NumPy {expected[index]!r}")
    return f"{int(bad.sum())} of {bad.size} differ:\n" + "\n".join(rows)


def provenance(name: str) -> str:
    """Where a math function's real version comes from (mathlib, libm, SciPy, IR)."""
    try:
        return f" [real version from {scalar_special.math_source(name)}]"
    except ValueError:
        return ""


# ============================================================================ tests
@pytest.mark.parametrize("name", sorted(SCALAR_OPS))
def test_op_matches_numpy_on_every_dtype(name: str) -> None:
    op = SCALAR_OPS[name]
    failures = []
    for seed, combo in enumerate(dtype_cases(op)):
        columns = arguments(op, combo, seed)
        got = run_native(op, combo, columns)
        expected = reference(op, combo, columns)
        bad = mismatches(op, got, expected)
        if bad.any():
            failures.append(
                f"{name}{combo}{provenance(name)}: {describe(columns, got, expected, bad)}"
            )
    assert not failures, "\n".join(failures)


def test_every_table_entry_has_a_lowering() -> None:
    assert set(scalar.LOWERINGS) == set(SCALAR_OPS)
    assert all(op.llvm is scalar.LOWERINGS[name] for name, op in SCALAR_OPS.items())


def native(name: str, arg_dtypes: tuple[str, ...], *values: Sequence[float]) -> np.ndarray:
    """``name`` on ``values`` through its compiled case (one of ``dtype_cases``)."""
    columns = [np.array(column, dtype=dtype) for column, dtype in zip(values, arg_dtypes)]
    return run_native(SCALAR_OPS[name], arg_dtypes, columns)


def test_integer_division_by_zero_and_overflow_do_not_trap() -> None:
    dividends = [7, -7, 7, -7, -128, -128, 5]
    divisors = [2, 2, -2, -2, -1, 0, 0]
    assert native("floor_divide", ("int8", "int8"), dividends, divisors).tolist() == [
        3,
        -4,
        -4,
        3,
        -128,
        0,
        0,
    ]
    assert native("remainder", ("int8", "int8"), dividends, divisors).tolist() == [
        1,
        1,
        -1,
        -1,
        0,
        0,
        0,
    ]
    assert native("floor_divide", ("uint64", "uint64"), [7, 2**64 - 1], [0, 2]).tolist() == [
        0,
        2**63 - 1,
    ]


def test_shifts_by_the_bit_width_or_more() -> None:
    amounts = [0, 7, 8, 9, -1]
    assert native("left_shift", ("int8", "int8"), [1] * 5, amounts).tolist() == [1, -128, 0, 0, 0]
    assert native("right_shift", ("int8", "int8"), [-100] * 5, amounts).tolist() == [
        -100,
        -1,
        -1,
        -1,
        -1,
    ]
    unsigned_amounts = [0, 7, 8, 9, 255]
    assert native("right_shift", ("uint8", "uint8"), [200] * 5, unsigned_amounts).tolist() == [
        200,
        1,
        0,
        0,
        0,
    ]


def test_integer_power_wraps_and_answers_negative_exponents() -> None:
    """NumPy raises for negative integer exponents; the native code answers 1 // x**-n."""
    bases, exponents = [3, 2, 1, -1, -1, 2, 0], [5, 7, -3, -3, -2, -1, -1]
    assert native("power", ("int8", "int8"), bases, exponents).tolist() == [
        -13,
        -128,
        1,
        -1,
        1,
        0,
        0,
    ]


def test_float_extremes_propagate_nan_and_prefer_the_second_zero() -> None:
    first, second = [np.nan, 1.0, -0.0, 0.0], [1.0, np.nan, 0.0, -0.0]
    got = native("maximum", ("float64", "float64"), first, second)
    assert np.isnan(got[:2]).all() and np.signbit(got[2:]).tolist() == [False, True]


def test_lower_instruction_names_an_op_without_a_lowering() -> None:
    module = ir.Module()
    function = ir.Function(module, ir.FunctionType(types.F64, [types.F64]), "f")
    builder = ir.IRBuilder(function.append_basic_block())
    unlowered = dataclasses.replace(SCALAR_OPS["exp"], llvm=None)
    with pytest.raises(NotImplementedError, match="'exp'"):
        lower_instruction(builder, unlowered, list(function.args), ("float64",), "float64")


def test_a_table_entry_without_a_lowering_fails_the_import_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    newcomer = dataclasses.replace(SCALAR_OPS["add"], name="newcomer")
    monkeypatch.setitem(SCALAR_OPS, "newcomer", newcomer)
    with pytest.raises(ImportError, match="newcomer"):
        scalar._register()


def test_scipy_functions_resolve_in_a_process_that_did_not_compile_them(tmp_path: Path) -> None:
    """Object code from the disk cache calls SciPy through jitgraph-private symbols: a new
    process registers them with register_external_symbols before loading the code."""
    module = ir.Module()
    define_test_function(module, SCALAR_OPS["gamma"], ("float64",))
    (tmp_path / "gamma.o").write_bytes(target.compile_ir(str(module)))
    script = f"""
import ctypes, numpy as np
from jitgraph.backends.llvm import scalar_special, target
scalar_special.register_external_symbols(["jg_scipy_gamma_float64"])
library = target.load_object(open({str(tmp_path / "gamma.o")!r}, "rb").read())
x, out = np.array([5.0, 0.5]), np.zeros(2)
function = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 4, ctypes.c_int64)(
    library.address("test_gamma__float64"))
function(x.ctypes.data, 0, 0, out.ctypes.data, 2)
print(out.tolist())
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == str([24.0, float(np.sqrt(np.pi))])
