"""Complex emitters of the scalar lowerings: NumPy's complex arithmetic and functions.

An emitter takes ``(builder, args, dtype)`` with every argument a complex register value of
``dtype`` (complex64 ``{float, float}`` or complex128 ``{double, double}``) and returns the
op's natural result (complex, or the part dtype for ``absolute``/``real``/``imag``/``angle``,
or bool for the predicates). ``EMITTERS`` maps table names to them; scalar.py dispatches.

How each follows NumPy 2 (numpy/_core/src/umath and npymath):

- multiply and square: NumPy's SIMD loops (taken for contiguous and broadcast operands)
  fuse one product: ``re = fma(ar, br, -(ai*bi))``, ``im = fma(ar, bi, ai*br)``. Done the
  same way when the host has FMA (NumPy dispatches on the same CPU feature). NumPy's
  strided loops (negative strides) use the unfused formula, so NumPy itself differs between
  layouts in the last bit.
- true_divide and reciprocal: NumPy's Smith-style loops, operation for operation
  (bit-identical).
- power: npy_cpow: 1 for a zero exponent, 0 or NaN for a zero base, repeated squaring for
  integral exponents in (-100, 100), else the C library's cpow.
- sqrt, exp, log and the trigonometric/hyperbolic functions: the C library's csqrt, cexp,
  ... (NumPy calls them too); exp2, expm1, log2, log10 and log1p: NumPy's own formulas.
  complex64 calls the float versions (cexpf, ...) as NumPy does, following the platform's
  C convention for ``float complex`` (x86-64 System V and AArch64; elsewhere the double
  function is called and its result rounded).
- absolute: hypot (NumPy's SIMD loop scales differently: last-bit differences).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import llvmlite.ir as ir
import numpy as np

from jitgraph.backends.llvm import target, types
from jitgraph.backends.llvm.scalar_special import call_math, constant_like, intrinsic

__all__ = ["EMITTERS", "complex_equal", "complex_is_nonzero"]

ComplexEmitter = Callable[[ir.IRBuilder, list[ir.Value], str], ir.Value]
Parts = tuple[ir.Value, ir.Value]


@functools.cache
def _fused_multiply() -> bool:
    """NumPy's loops fuse one product of complex multiply/square when the CPU has FMA."""
    return "+fma" in target.target_description().split("/")[2].split(",")


def _parts(builder: ir.IRBuilder, value: ir.Value) -> Parts:
    return builder.extract_value(value, 0), builder.extract_value(value, 1)


def _pack(builder: ir.IRBuilder, parts: Parts, dtype: str) -> ir.Value:
    return types.make_complex(builder, parts[0], parts[1], dtype)


def _part(dtype: str) -> str:
    return types.complex_part(dtype)


def _elementwise(
    combine: Callable[[ir.IRBuilder, Parts, Parts], Parts],
) -> ComplexEmitter:
    """A binary emitter from a function of the parts."""

    def emit(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
        first, second = (_parts(builder, arg) for arg in args)
        return _pack(builder, combine(builder, first, second), dtype)

    return emit


# ============================================================================ arithmetic
def _add(builder: ir.IRBuilder, x: Parts, y: Parts) -> Parts:
    return builder.fadd(x[0], y[0]), builder.fadd(x[1], y[1])


def _subtract(builder: ir.IRBuilder, x: Parts, y: Parts) -> Parts:
    return builder.fsub(x[0], y[0]), builder.fsub(x[1], y[1])


def _multiply_simd(builder: ir.IRBuilder, x: Parts, y: Parts) -> Parts:
    """NumPy's complex multiply loop (fused on FMA hosts, see the module docstring)."""
    if not _fused_multiply():
        return _multiply_plain(builder, x, y)
    (ar, ai), (br, bi) = x, y
    real = builder.fma(ar, br, builder.fneg(builder.fmul(ai, bi)))
    imag = builder.fma(ar, bi, builder.fmul(ai, br))
    return real, imag


def _multiply_plain(builder: ir.IRBuilder, x: Parts, y: Parts) -> Parts:
    """npymath's cmul: (ar*br - ai*bi, ar*bi + ai*br), unfused."""
    (ar, ai), (br, bi) = x, y
    real = builder.fsub(builder.fmul(ar, br), builder.fmul(ai, bi))
    imag = builder.fadd(builder.fmul(ar, bi), builder.fmul(ai, br))
    return real, imag


def _divide(builder: ir.IRBuilder, x: Parts, y: Parts) -> Parts:
    """NumPy's complex division (Smith's algorithm; a zero divisor gives inf/NaN parts)."""
    (ar, ai), (br, bi) = x, y
    abs_br = intrinsic(builder, "fabs", [br])
    abs_bi = intrinsic(builder, "fabs", [bi])
    one = constant_like(br, 1.0)
    # |br| >= |bi|: scale by bi/br.
    ratio = builder.fdiv(bi, br)
    scale = builder.fdiv(one, builder.fadd(br, builder.fmul(bi, ratio)))
    real_wide = builder.fmul(builder.fadd(ar, builder.fmul(ai, ratio)), scale)
    imag_wide = builder.fmul(builder.fsub(ai, builder.fmul(ar, ratio)), scale)
    # |br| < |bi| (or a NaN part): scale by br/bi.
    ratio_tall = builder.fdiv(br, bi)
    scale_tall = builder.fdiv(one, builder.fadd(bi, builder.fmul(br, ratio_tall)))
    real_tall = builder.fmul(builder.fadd(builder.fmul(ar, ratio_tall), ai), scale_tall)
    imag_tall = builder.fmul(builder.fsub(builder.fmul(ai, ratio_tall), ar), scale_tall)
    zero = constant_like(br, 0.0)
    both_zero = builder.and_(
        builder.fcmp_ordered("==", abs_br, zero), builder.fcmp_ordered("==", abs_bi, zero)
    )
    real_wide = builder.select(both_zero, builder.fdiv(ar, abs_br), real_wide)
    imag_wide = builder.select(both_zero, builder.fdiv(ai, abs_bi), imag_wide)
    wide = builder.fcmp_ordered(">=", abs_br, abs_bi)
    return builder.select(wide, real_wide, real_tall), builder.select(wide, imag_wide, imag_tall)


def _negative(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    real, imag = _parts(builder, args[0])
    return _pack(builder, (builder.fneg(real), builder.fneg(imag)), dtype)


def _conj(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    real, imag = _parts(builder, args[0])
    return _pack(builder, (real, builder.fneg(imag)), dtype)


def _square(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    z = _parts(builder, args[0])
    return _pack(builder, _multiply_simd(builder, z, z), dtype)


def _reciprocal(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """NumPy's complex reciprocal loop (Smith's algorithm with numerator 1)."""
    real, imag = _parts(builder, args[0])
    one = constant_like(real, 1.0)
    # |imag| <= |real|
    ratio = builder.fdiv(imag, real)
    denominator = builder.fadd(real, builder.fmul(imag, ratio))
    wide = (builder.fdiv(one, denominator), builder.fdiv(builder.fneg(ratio), denominator))
    # |imag| > |real| (or NaN)
    ratio_tall = builder.fdiv(real, imag)
    denominator_tall = builder.fadd(builder.fmul(real, ratio_tall), imag)
    tall = (
        builder.fdiv(ratio_tall, denominator_tall),
        builder.fdiv(builder.fneg(one), denominator_tall),
    )
    is_wide = builder.fcmp_ordered(
        "<=", intrinsic(builder, "fabs", [imag]), intrinsic(builder, "fabs", [real])
    )
    result = (builder.select(is_wide, wide[0], tall[0]), builder.select(is_wide, wide[1], tall[1]))
    return _pack(builder, result, dtype)


def _absolute(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    real, imag = _parts(builder, args[0])
    return call_math(builder, "hypot", [real, imag], _part(dtype))


# ============================================================================ power
_MAX_INTEGRAL_EXPONENT_BITS = 7  # npy_cpow multiplies out integral exponents in (-100, 100)


def _power(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """npy_cpow, as selects over its cases (see the module docstring)."""
    base, exponent = (_parts(builder, arg) for arg in args)
    (ar, ai), (br, bi) = base, exponent
    zero, one = constant_like(ar, 0.0), constant_like(ar, 1.0)
    nan = constant_like(ar, float("nan"))
    result = _parts(builder, _call_complex_libm(builder, "cpow", list(args), dtype))
    integral = _integral_exponent(builder, br, bi)
    integral_power = _integer_power(builder, base, br)
    result = _select_parts(builder, integral, integral_power, result)
    base_zero = builder.and_(
        builder.fcmp_ordered("==", ar, zero), builder.fcmp_ordered("==", ai, zero)
    )
    zero_power = _select_parts(
        builder, builder.fcmp_ordered(">", br, zero), (zero, zero), (nan, nan)
    )
    result = _select_parts(builder, base_zero, zero_power, result)
    exponent_zero = builder.and_(
        builder.fcmp_ordered("==", br, zero), builder.fcmp_ordered("==", bi, zero)
    )
    return _pack(builder, _select_parts(builder, exponent_zero, (one, zero), result), dtype)


def _integral_exponent(builder: ir.IRBuilder, br: ir.Value, bi: ir.Value) -> ir.Value:
    """bi == 0 and br an integer in (-100, 100)."""
    limit = constant_like(br, 100.0)
    in_range = builder.and_(
        builder.fcmp_ordered(">", br, builder.fneg(limit)), builder.fcmp_ordered("<", br, limit)
    )
    whole = builder.fcmp_ordered("==", intrinsic(builder, "trunc", [br]), br)
    real_exponent = builder.fcmp_ordered("==", bi, constant_like(bi, 0.0))
    return builder.and_(builder.and_(in_range, whole), real_exponent)


def _integer_power(builder: ir.IRBuilder, base: Parts, br: ir.Value) -> Parts:
    """base ** n for an integral n in (-100, 100) as npy_cpow computes it: n = 1, 2, 3
    unrolled, otherwise square-and-multiply from 1 (then 1 / that for n < 0)."""
    zero, one = constant_like(br, 0.0), constant_like(br, 1.0)
    limit = constant_like(br, 100.0)
    # fptosi of a non-integral or out-of-range exponent would be poison: clamp first.
    clamped = builder.select(
        builder.fcmp_ordered("<", intrinsic(builder, "fabs", [br]), limit), br, zero
    )
    n = builder.fptosi(clamped, types.I64)
    magnitude = builder.select(builder.icmp_signed("<", n, types.I64(0)), builder.neg(n), n)
    accumulated: Parts = (one, zero)
    power = base
    for bit in range(_MAX_INTEGRAL_EXPONENT_BITS):
        bit_set = builder.trunc(builder.lshr(magnitude, types.I64(bit)), types.I1)
        accumulated = _select_parts(
            builder, bit_set, _multiply_plain(builder, accumulated, power), accumulated
        )
        power = _multiply_plain(builder, power, power)
    inverse = _divide(builder, (one, zero), accumulated)
    result = _select_parts(builder, builder.fcmp_ordered("<", br, zero), inverse, accumulated)
    square = _multiply_plain(builder, base, base)
    cube = _multiply_plain(builder, base, square)
    for exponent, value in ((3, cube), (2, square), (1, base)):
        result = _select_parts(
            builder, builder.icmp_signed("==", n, types.I64(exponent)), value, result
        )
    return result


def _select_parts(builder: ir.IRBuilder, condition: ir.Value, then: Parts, other: Parts) -> Parts:
    return builder.select(condition, then[0], other[0]), builder.select(
        condition, then[1], other[1]
    )


# ============================================================================ functions
def _call_complex_libm(
    builder: ir.IRBuilder, c_name: str, args: list[ir.Value], dtype: str
) -> ir.Value:
    """The C library's complex function ``c_name`` (``c_name + "f"`` for complex64) on
    complex ``args``, passed as clang passes C complex values to a C function."""
    if dtype == "complex64" and _float_complex_abi() == "vector":
        return _call_packed_float_complex(builder, c_name + "f", args)
    if dtype == "complex64" and _float_complex_abi() == "pairs":
        return _call_complex_pairs(builder, c_name + "f", args, "complex64")
    wide = [types.cast(builder, arg, dtype, "complex128") for arg in args]
    result = _call_complex_pairs(builder, c_name, wide, "complex128")
    return types.cast(builder, result, "complex128", dtype)


def _call_complex_pairs(
    builder: ir.IRBuilder, c_name: str, args: list[ir.Value], dtype: str
) -> ir.Value:
    """``double complex`` everywhere (and ``float complex`` on AArch64): each argument as
    its two parts, the result as the literal struct of two parts."""
    parts: list[ir.Value] = []
    for arg in args:
        parts += list(_parts(builder, arg))
    part_type = types.llvm_type(_part(dtype))
    function_type = ir.FunctionType(types.llvm_type(dtype), [part_type] * len(parts))
    return builder.call(types.declare(builder.module, c_name, function_type), parts)


def _call_packed_float_complex(
    builder: ir.IRBuilder, c_name: str, args: list[ir.Value]
) -> ir.Value:
    """``float complex`` on x86-64 System V: both parts packed in one ``<2 x float>``."""
    packed_type = ir.VectorType(types.F32, 2)
    packed = []
    for arg in args:
        real, imag = _parts(builder, arg)
        vector = ir.Constant(packed_type, ir.Undefined)
        vector = builder.insert_element(vector, real, types.I32(0))
        packed.append(builder.insert_element(vector, imag, types.I32(1)))
    function_type = ir.FunctionType(packed_type, [packed_type] * len(packed))
    result = builder.call(types.declare(builder.module, c_name, function_type), packed)
    real = builder.extract_element(result, types.I32(0))
    imag = builder.extract_element(result, types.I32(1))
    return _pack(builder, (real, imag), "complex64")


@functools.cache
def _float_complex_abi() -> str:
    """How this platform's C passes ``float complex``: "vector" (x86-64 System V),
    "pairs" (AArch64), else "widen" (call the double function and round)."""
    triple = target.target_description().split("/")[0]
    architecture = triple.split("-")[0]
    if architecture == "x86_64" and "windows" not in triple and "msvc" not in triple:
        return "vector"
    if architecture in ("aarch64", "arm64"):
        return "pairs"
    return "widen"


def _libm_function(c_name: str) -> ComplexEmitter:
    def emit(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
        return _call_complex_libm(builder, c_name, args, dtype)

    return emit


def _scaled(function: ComplexEmitter, factor: float, before: bool) -> ComplexEmitter:
    """``function(z * factor)`` (before) or ``function(z) * factor``, scaling each part by
    ``factor`` rounded to the part dtype (NumPy's exp2, log2, log10)."""

    def scale(builder: ir.IRBuilder, value: ir.Value, dtype: str) -> ir.Value:
        real, imag = _parts(builder, value)
        constant = types.constant(_part(dtype), factor)
        return _pack(builder, (builder.fmul(real, constant), builder.fmul(imag, constant)), dtype)

    def emit(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
        if before:
            return function(builder, [scale(builder, args[0], dtype)], dtype)
        return scale(builder, function(builder, args, dtype), dtype)

    return emit


def _expm1(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """NumPy's nc_expm1: (expm1(x) cos(y) - 2 sin(y/2)**2, exp(x) sin(y))."""
    part = _part(dtype)
    x, y = _parts(builder, args[0])
    two = constant_like(x, 2.0)
    half_sine = call_math(builder, "sin", [builder.fdiv(y, two)], part)
    cosine = call_math(builder, "cos", [y], part)
    sine = call_math(builder, "sin", [y], part)
    real = builder.fsub(
        builder.fmul(call_math(builder, "expm1", [x], part), cosine),
        builder.fmul(builder.fmul(two, half_sine), half_sine),
    )
    imag = builder.fmul(call_math(builder, "exp", [x], part), sine)
    return _pack(builder, (real, imag), dtype)


def _log1p(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """NumPy's nc_log1p: (log(hypot(x + 1, y)), atan2(y, x + 1))."""
    part = _part(dtype)
    x, y = _parts(builder, args[0])
    shifted = builder.fadd(x, constant_like(x, 1.0))
    magnitude = call_math(builder, "hypot", [shifted, y], part)
    real = call_math(builder, "log", [magnitude], part)
    imag = call_math(builder, "arctan2", [y, shifted], part)
    return _pack(builder, (real, imag), dtype)


# ============================================================================ parts, predicates
def _real(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    return builder.extract_value(args[0], 0)


def _imag(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    return builder.extract_value(args[0], 1)


def _angle(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    real, imag = _parts(builder, args[0])
    return call_math(builder, "arctan2", [imag, real], _part(dtype))


def _either_part(
    predicate: Callable[[ir.IRBuilder, ir.Value], ir.Value], both: bool
) -> ComplexEmitter:
    """A predicate of the parts combined with or (``both``: and), as NumPy's npy_isnan..."""

    def emit(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
        real, imag = _parts(builder, args[0])
        combine = builder.and_ if both else builder.or_
        return combine(predicate(builder, real), predicate(builder, imag))

    return emit


def _is_nan(builder: ir.IRBuilder, value: ir.Value) -> ir.Value:
    return builder.fcmp_unordered("uno", value, value)


def _is_inf(builder: ir.IRBuilder, value: ir.Value) -> ir.Value:
    magnitude = intrinsic(builder, "fabs", [value])
    return builder.fcmp_ordered("==", magnitude, constant_like(value, float("inf")))


def _is_finite(builder: ir.IRBuilder, value: ir.Value) -> ir.Value:
    magnitude = intrinsic(builder, "fabs", [value])
    return builder.fcmp_ordered("<", magnitude, constant_like(value, float("inf")))


def complex_equal(builder: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
    """Both parts equal (ordered: a NaN part makes it False)."""
    (xr, xi), (yr, yi) = _parts(builder, x), _parts(builder, y)
    return builder.and_(builder.fcmp_ordered("==", xr, yr), builder.fcmp_ordered("==", xi, yi))


def complex_is_nonzero(builder: ir.IRBuilder, value: ir.Value) -> ir.Value:
    """Either part non-zero (NaN counts as non-zero), as NumPy's truth value."""
    real, imag = _parts(builder, value)
    zero = constant_like(real, 0.0)
    return builder.or_(
        builder.fcmp_unordered("!=", real, zero), builder.fcmp_unordered("!=", imag, zero)
    )


_exp = _libm_function("cexp")
_log = _libm_function("clog")
_LOG2_E = float(np.log2(np.e))
_LOG10_E = float(np.log10(np.e))
_LOG_2 = float(np.log(2.0))

EMITTERS: dict[str, ComplexEmitter] = {
    "add": _elementwise(_add),
    "subtract": _elementwise(_subtract),
    "multiply": _elementwise(_multiply_simd),
    "true_divide": _elementwise(_divide),
    "negative": _negative,
    "conj": _conj,
    "square": _square,
    "reciprocal": _reciprocal,
    "absolute": _absolute,
    "power": _power,
    "sqrt": _libm_function("csqrt"),
    "exp": _exp,
    "exp2": _scaled(_exp, _LOG_2, before=True),
    "expm1": _expm1,
    "log": _log,
    "log2": _scaled(_log, _LOG2_E, before=False),
    "log10": _scaled(_log, _LOG10_E, before=False),
    "log1p": _log1p,
    "sin": _libm_function("csin"),
    "cos": _libm_function("ccos"),
    "tan": _libm_function("ctan"),
    "arcsin": _libm_function("casin"),
    "arccos": _libm_function("cacos"),
    "arctan": _libm_function("catan"),
    "sinh": _libm_function("csinh"),
    "cosh": _libm_function("ccosh"),
    "tanh": _libm_function("ctanh"),
    "arcsinh": _libm_function("casinh"),
    "arccosh": _libm_function("cacosh"),
    "arctanh": _libm_function("catanh"),
    "real": _real,
    "imag": _imag,
    "angle": _angle,
    "isnan": _either_part(_is_nan, both=False),
    "isinf": _either_part(_is_inf, both=False),
    "isfinite": _either_part(_is_finite, both=True),
}
