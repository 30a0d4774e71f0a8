"""Exponentials and what is built on them: exp, exp2, expm1, tanh, sigmoid.

All share one reduction: x = k ln2 + r with k = rint(x / ln2) and |r| <= ln2/2, computed
as ``fma(-k, LN2_HI, x)`` (exact: LN2_HI has 32 significant bits, so k * LN2_HI is exact
for |k| < 2**21 and the difference is exact by Sterbenz's lemma) minus k * LN2_LO, whose
rounding error is carried as the low part of r. Then exp(r) = 1 + r t(r) with t a
near-minimax polynomial, and the result is scaled by 2**k in two halves so that overflow
and subnormal results are rounded once.

exp, sigmoid and tanh (the hot ones) use a leaner form of it, ``exp_single``: the
integer k is read from the bits of a shifted sum instead of converted, 1 + r is summed
exactly and the polynomial tail added to its rounding error, and NaN flows through the
arithmetic instead of being selected. Their float32 versions compute in float32 with
float32 polynomials (twice the SIMD lanes). Their one division, of 1 by 1 + t with t in
[0, 1], is corrected by FMAs for the rounding of 1 + t and of the quotient.
"""

from __future__ import annotations

import llvmlite.ir as ir

from jitgraph.backends.llvm.mathlib_coefficients import COEFFICIENTS
from jitgraph.backends.llvm.mathlib_emit import DoubleDouble, Emitter, MathFunction

__all__ = ["DEFINITIONS", "exp_reduced", "exp_scaled", "exp_single", "reciprocal_one_plus"]

LN2_HI = float.fromhex("0x1.62e42fee00000p-1")
LN2_LO = float.fromhex("0x1.a39ef35793c76p-33")
LOG2_E = 1.4426950408889634
# Arguments beyond these give inf/0 (float64: exp overflows above 709.78 and is 0 below
# -745.13); clamping keeps k small enough for the two-step scaling and the integer
# conversion (a NaN becomes the upper bound; callers select NaN results explicitly).
EXP_LOW = {"f64": -746.0, "f32": -110.0}
EXP_HIGH = {"f64": 710.0, "f32": 100.0}

# For float32 arithmetic: LN2_HI_F32 has 16 significant bits (k * LN2_HI_F32 is exact
# for |k| < 256), and the clamp bounds are past float32's overflow and underflow.
LN2_HI_F32 = float.fromhex("0x1.62e4p-1")
LN2_LO_F32 = 1.428606765330187e-06
EXP_LIMITS = {"float64": (-746.0, 710.0), "float32": (-104.0, 89.0)}
# (expm1(r) - r) / r**2 on [-0.354, 0.354] (degree 4, relative error 1.4e-7) and
# (tanh(a) - a) / a**3 in a**2 on [0, 0.309] (degree 4, relative error 4.4e-8) for
# float32 arithmetic: mathlib_fit.solve with those Fits, rounded to float32.
EXPM1_TAIL_F32 = (
    0.5,
    0.1666657030582428,
    0.041666869074106216,
    0.008364344947040081,
    0.0013901685597375035,
)
TANH_TAIL_F32 = (
    -0.3333333134651184,
    0.13333097100257874,
    -0.053906168788671494,
    0.02128957211971283,
    -0.006573306862264872,
)


def exp_reduced(
    emit: Emitter, high: ir.Value, low: ir.Value | None, precision: str
) -> tuple[DoubleDouble, ir.Value]:
    """``((value_high, value_low), k)`` with exp(high + low) = (value_high + value_low)
    * 2**k, the value in [0.7, 1.42] and k an integer; ``high`` must be clamped to the
    exponent range (no NaN), ``low`` (or None) is a correction below ulp(high). For "f32"
    precision the low part is 0 (float64 alone is far more than enough)."""
    k = emit.rint(emit.mul(high, emit.const(LOG2_E)))
    reduced_high = emit.fma(emit.neg(k), emit.const(LN2_HI), high)
    coefficients = COEFFICIENTS[f"exp_{precision}"]
    if precision == "f32":
        reduced = emit.fma(emit.neg(k), emit.const(LN2_LO), reduced_high)
        quotient = emit.polynomial(reduced, coefficients)
        value = emit.fma(reduced, quotient, emit.const(1.0))
        return (value, emit.const(0.0)), emit.to_int(k)
    correction = emit.fma(emit.neg(k), emit.const(LN2_LO), low or emit.const(0.0))
    reduced, reduced_error = emit.fast_two_sum(reduced_high, correction)
    quotient = emit.polynomial(reduced, coefficients)  # (exp(r) - 1) / r
    return _one_plus(emit, reduced, quotient, reduced_error), emit.to_int(k)


def _one_plus(
    emit: Emitter, reduced: ir.Value, quotient: ir.Value, extra: ir.Value
) -> DoubleDouble:
    """1 + r q + extra as a double-double ((1 + p) + (p_error + extra), p = r q): the only
    error of size ulp/2 is left for the caller's final addition."""
    product, product_error = emit.two_product(reduced, quotient)
    value, value_error = emit.fast_two_sum(emit.const(1.0), product)
    return value, emit.add(value_error, emit.add(product_error, extra))


def exp_scaled(emit: Emitter, x: ir.Value, precision: str) -> DoubleDouble:
    """exp(x) for any x but NaN (overflow to inf and underflow to 0 included) as a
    double-double (its low part is exact only while the result is normal)."""
    clamped = emit.clamp(x, EXP_LOW[precision], EXP_HIGH[precision])
    (high, low), k = exp_reduced(emit, clamped, None, precision)
    return emit.scale(high, k), emit.scale(low, k)


def exp_single(
    emit: Emitter, x: ir.Value, nonpositive: bool = False, precise: bool = False
) -> ir.Value:
    """exp(x) in ``emit``'s dtype for every x: within about 0.8 ulp (float64; 0.6 if
    ``precise``) or 1 ulp (float32), overflow to inf, underflow to subnormals and 0, NaN
    for NaN (it flows through the arithmetic: nothing selects it). ``nonpositive``
    promises x <= 0 or NaN, which allows a cheaper clamp and scaling."""
    low, high = EXP_LIMITS[emit.dtype]
    if nonpositive:
        clamped = emit.select(emit.less(x, emit.const(low)), emit.const(low), x)
    else:
        clamped = emit.clamp_keeping_nan(x, low, high)
    k, k_int = emit.nearest_integer(clamped, LOG2_E)
    double = emit.dtype == "float64"
    ln2_high, ln2_low = (LN2_HI, LN2_LO) if double else (LN2_HI_F32, LN2_LO_F32)
    reduced_high = emit.fma(emit.neg(k), emit.const(ln2_high), clamped)  # exact
    reduced = emit.fma(emit.neg(k), emit.const(ln2_low), reduced_high)
    # 1 + r as an exact sum (high, low); ``precise`` also keeps what rounding r lost (up
    # to a quarter ulp of the result).
    high_part, low_part = emit.fast_two_sum(emit.const(1.0), reduced)
    if precise and double:
        lost = emit.fma(emit.neg(k), emit.const(ln2_low), emit.sub(reduced_high, reduced))
        low_part = emit.add(low_part, lost)
    tail_coefficients = COEFFICIENTS["expm1_f64"] if double else EXPM1_TAIL_F32
    tail = emit.polynomial(reduced, tail_coefficients)  # (expm1(r) - r) / r**2
    value = emit.add(high_part, emit.fma(emit.mul(reduced, reduced), tail, low_part))
    if not nonpositive:
        return emit.scale(value, k_int)
    # k in [low / ln2, 0]: value * 2**(k + bias) is normal and exact, and the second
    # multiplication rounds a subnormal result once. (Multiplications, not an integer
    # addition to value's exponent field: they keep a NaN a NaN.)
    bias = int(-low // 2)
    biased_power = emit.power_of_two(emit.builder.add(k_int, emit.int_const(bias)))
    return emit.mul(emit.mul(value, biased_power), emit.const(2.0**-bias))


def exp_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    return exp_single(emit, args[0], precise=True)


def exp2_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    """2**x = 2**k 2**r with k = rint(x) and r = x - k exact."""
    (x,) = args
    low, high = (-1080.0, 1025.0) if precision == "f64" else (-160.0, 130.0)
    clamped = emit.clamp(x, low, high)
    k = emit.rint(clamped)
    reduced = emit.sub(clamped, k)
    quotient = emit.polynomial(reduced, COEFFICIENTS[f"exp2_{precision}"])  # (2**r - 1) / r
    value_high, value_low = _one_plus(emit, reduced, quotient, emit.const(0.0))
    result = emit.scale(emit.add(value_high, value_low), emit.to_int(k))
    return emit.select(emit.is_nan(x), x, result)


def expm1_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    """expm1(x) = (2**k - 1) + 2**k expm1(r): expm1(r) = r + r**2 h(r) is kept as a
    double-double so that the cancellation for k = -1, 1 costs no accuracy."""
    (x,) = args
    clamped = emit.clamp(x, -45.0, EXP_HIGH[precision])
    k = emit.rint(emit.mul(clamped, emit.const(LOG2_E)))
    reduced_high = emit.fma(emit.neg(k), emit.const(LN2_HI), clamped)
    tail_coefficients = COEFFICIENTS[f"expm1_{precision}"]
    if precision == "f32":
        reduced = emit.fma(emit.neg(k), emit.const(LN2_LO), reduced_high)
        square = emit.mul(reduced, reduced)
        small = emit.fma(square, emit.polynomial(reduced, tail_coefficients), reduced)
        power = emit.power_of_two(emit.to_int(k))
        result = emit.fma(power, small, emit.sub(power, emit.const(1.0)))
    else:
        result = _expm1_double(emit, reduced_high, k, tail_coefficients)
    # |x| < 2**-54 (zeros and subnormals included): expm1(x) rounds to x itself.
    tiny = emit.less(emit.fabs(x), emit.const(2.0**-54))
    return emit.select(emit.either(emit.is_nan(x), tiny), x, result)


def _expm1_double(
    emit: Emitter, reduced_high: ir.Value, k: ir.Value, tail_coefficients: tuple[float, ...]
) -> ir.Value:
    correction = emit.mul(emit.neg(k), emit.const(LN2_LO))
    reduced, reduced_error = emit.fast_two_sum(reduced_high, correction)
    square, square_error = emit.two_product(reduced, reduced)
    tail_factor = emit.polynomial(reduced, tail_coefficients)  # (expm1(r) - r) / r**2
    tail = emit.mul(square, tail_factor)
    small_high, small_low = emit.fast_two_sum(reduced, tail)
    # First-order terms of what the double-double left out: r's own error (times
    # exp(r) ~ 1 + r) and r**2's rounding error (times h ~ 1/2).
    small_low = emit.add(
        small_low,
        emit.fma(
            reduced_error, emit.add(emit.const(1.0), reduced), emit.mul(square_error, tail_factor)
        ),
    )
    # 2**k (1 + e) - 1 summed as (2**k - 1) + 2**k e_high + 2**k e_low with error-free
    # sums: exact but for the last rounding, whatever the cancellation. Beyond k = 1000
    # 2**k overflows and the -1 no longer matters.
    k_int = emit.to_int(k)
    limited = emit.builder.select(
        emit.builder.icmp_signed("<", k_int, emit.int_const(1000)), k_int, emit.int_const(1000)
    )
    power = emit.power_of_two(limited)
    offset, offset_error = emit.two_sum(power, emit.const(-1.0))
    total, total_error = emit.two_sum(offset, emit.mul(power, small_high))
    tail = emit.add(emit.add(offset_error, total_error), emit.mul(power, small_low))
    near = emit.add(total, tail)
    far = emit.scale(emit.add(emit.const(1.0), emit.add(small_high, small_low)), k_int)
    return emit.select(emit.less(k, emit.const(1000.0)), near, far)


def reciprocal_one_plus(emit: Emitter, t: ir.Value) -> tuple[ir.Value, ir.Value]:
    """(r, e) with 1 / (1 + t) = r (1 + e) to about 2**-90 (float64) or 2**-46 (float32)
    for t in [0, 1] (NaN for NaN): 1 + t is summed exactly as (d, d_error), r = 1/d
    rounded, and e = 1 - r (d + d_error) by FMAs (the first one exact)."""
    denominator, denominator_error = emit.fast_two_sum(emit.const(1.0), t)
    reciprocal = emit.div(emit.const(1.0), denominator)
    residual = emit.fma(emit.neg(reciprocal), denominator, emit.const(1.0))
    residual = emit.fma(emit.neg(reciprocal), denominator_error, residual)
    return reciprocal, residual


def _product_with(
    emit: Emitter, a: ir.Value, r: ir.Value, e: ir.Value, extra: ir.Value | None = None
) -> ir.Value:
    """a r (1 + e) + extra rounded with about half an ulp of error (|e|, |extra| small)."""
    product = emit.mul(a, r)
    product_error = emit.fma(a, r, emit.neg(product))
    if extra is not None:
        product_error = emit.add(product_error, extra)
    return emit.add(product, emit.fma(product, e, product_error))


def tanh_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    """tanh(a) for a = |x| < 0.55: a + a**3 T(a**2); beyond: (1 - t) / (1 + t) with
    t = exp(-2a) <= 1/3, both sums exact, one division (no cancellation: 1 - t >= 2/3,
    and t's error reaches the result damped to at most 3/4 of it)."""
    (x,) = args
    magnitude = emit.fabs(x)
    square = emit.mul(magnitude, magnitude)
    coefficients = COEFFICIENTS["tanh_f64"] if emit.dtype == "float64" else TANH_TAIL_F32
    tail = emit.polynomial_estrin(square, coefficients)
    small = emit.fma(emit.mul(magnitude, square), tail, magnitude)
    decay = exp_single(emit, emit.mul(magnitude, emit.const(-2.0)), nonpositive=True)
    numerator, numerator_error = emit.fast_two_sum(emit.const(1.0), emit.neg(decay))
    reciprocal, residual = reciprocal_one_plus(emit, decay)
    large = _product_with(
        emit, numerator, reciprocal, residual, emit.mul(numerator_error, reciprocal)
    )
    # NaN: the comparison is false and ``large`` is NaN.
    result = emit.select(emit.less(magnitude, emit.const(0.55)), small, large)
    return emit.copysign(result, x)


def sigmoid_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    """1 / (1 + t) for x >= 0 and t / (1 + t) for x < 0, t = exp(-|x|) in [0, 1] (never
    overflows): one exp and one division; NaN flows through."""
    (x,) = args
    decay = exp_single(emit, emit.neg(emit.fabs(x)), nonpositive=True)
    reciprocal, residual = reciprocal_one_plus(emit, decay)
    positive = emit.fma(reciprocal, residual, reciprocal)
    negative = _product_with(emit, decay, reciprocal, residual)
    return emit.select(emit.less(x, emit.const(0.0)), negative, positive)


DEFINITIONS = (
    MathFunction("exp", 1, exp_body, native_float32=True),
    MathFunction("exp2", 1, exp2_body),
    MathFunction("expm1", 1, expm1_body),
    MathFunction("tanh", 1, tanh_body, native_float32=True),
    MathFunction("sigmoid", 1, sigmoid_body, native_float32=True),
)
