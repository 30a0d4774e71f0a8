"""Exponentials and what is built on them: exp, exp2, expm1, tanh, sigmoid.

All share one reduction: x = k ln2 + r with k = rint(x / ln2) and |r| <= ln2/2, computed
as ``fma(-k, LN2_HI, x)`` (exact: LN2_HI has 32 significant bits, so k * LN2_HI is exact
for |k| < 2**21 and the difference is exact by Sterbenz's lemma) minus k * LN2_LO, whose
rounding error is carried as the low part of r. Then exp(r) = 1 + r t(r) with t a
near-minimax polynomial, and the result is scaled by 2**k in two halves so that overflow
and subnormal results are rounded once.
"""

from __future__ import annotations

import llvmlite.ir as ir

from jitgraph.backends.llvm.mathlib_coefficients import COEFFICIENTS
from jitgraph.backends.llvm.mathlib_emit import DoubleDouble, Emitter, MathFunction

__all__ = ["DEFINITIONS", "exp_reduced", "exp_scaled"]

LN2_HI = float.fromhex("0x1.62e42fee00000p-1")
LN2_LO = float.fromhex("0x1.a39ef35793c76p-33")
LOG2_E = 1.4426950408889634
# Arguments beyond these give inf/0 (float64: exp overflows above 709.78 and is 0 below
# -745.13); clamping keeps k small enough for the two-step scaling and the integer
# conversion (a NaN becomes the upper bound; callers select NaN results explicitly).
EXP_LOW = {"f64": -746.0, "f32": -110.0}
EXP_HIGH = {"f64": 710.0, "f32": 100.0}


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


def exp_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    (x,) = args
    clamped = emit.clamp(x, EXP_LOW[precision], EXP_HIGH[precision])
    (high, low), k = exp_reduced(emit, clamped, None, precision)
    result = emit.scale(emit.add(high, low), k)
    return emit.select(emit.is_nan(x), x, result)


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


def _reciprocal_one_plus(emit: Emitter, t: DoubleDouble) -> DoubleDouble:
    """1 / (1 + t) for t = t_high + t_low in [0, 1], to about 2**-100: one division and a
    Newton step on the double-double denominator."""
    denominator, denominator_error = emit.fast_two_sum(emit.const(1.0), t[0])
    denominator_error = emit.add(denominator_error, t[1])
    reciprocal = emit.div(emit.const(1.0), denominator)
    # residual = 1 - reciprocal * (1 + t), the first part exact by FMA.
    residual = emit.fma(emit.neg(reciprocal), denominator, emit.const(1.0))
    residual = emit.fma(emit.neg(reciprocal), denominator_error, residual)
    return reciprocal, emit.mul(reciprocal, residual)


def _times(emit: Emitter, a: DoubleDouble, b: DoubleDouble) -> DoubleDouble:
    product, product_error = emit.two_product(a[0], b[0])
    cross = emit.fma(a[0], b[1], emit.mul(a[1], b[0]))
    return product, emit.add(product_error, cross)


def tanh_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    """tanh(a) for a = |x| < 0.55: a + a**3 T(a**2); beyond: 1 - 2t/(1+t), t = exp(-2a)
    in double-double (no cancellation: the subtracted quotient is below 1/2)."""
    (x,) = args
    magnitude = emit.fabs(x)
    square = emit.mul(magnitude, magnitude)
    tail = emit.polynomial(square, COEFFICIENTS[f"tanh_{precision}"])
    small = emit.fma(emit.mul(magnitude, square), tail, magnitude)
    decay = exp_scaled(emit, emit.mul(magnitude, emit.const(-2.0)), precision)
    if precision == "f32":  # float64 arithmetic is accurate enough as it is
        twice = emit.add(decay[0], decay[0])
        large = emit.sub(emit.const(1.0), emit.div(twice, emit.add(emit.const(1.0), decay[0])))
    else:
        quotient = _times(emit, decay, _reciprocal_one_plus(emit, decay))
        quotient = (emit.add(quotient[0], quotient[0]), emit.add(quotient[1], quotient[1]))
        difference, difference_error = emit.fast_two_sum(emit.const(1.0), emit.neg(quotient[0]))
        large = emit.add(difference, emit.sub(difference_error, quotient[1]))
    result = emit.select(emit.less(magnitude, emit.const(0.55)), small, large)
    return emit.select(emit.is_nan(x), x, emit.copysign(result, x))


def sigmoid_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    """1 / (1 + exp(-x)) for x >= 0 and exp(x) / (1 + exp(x)) for x < 0: t = exp(-|x|)
    never overflows; the quotient is formed in double-double with one division."""
    (x,) = args
    decay = exp_scaled(emit, emit.neg(emit.fabs(x)), precision)
    negative = emit.less(x, emit.const(0.0))
    if precision == "f32":  # float64 arithmetic is accurate enough as it is
        numerator = emit.select(negative, decay[0], emit.const(1.0))
        result = emit.div(numerator, emit.add(emit.const(1.0), decay[0]))
    else:
        reciprocal = _reciprocal_one_plus(emit, decay)
        ratio = _times(emit, decay, reciprocal)
        high = emit.select(negative, ratio[0], reciprocal[0])
        result = emit.add(high, emit.select(negative, ratio[1], reciprocal[1]))
    return emit.select(emit.is_nan(x), x, result)


DEFINITIONS = (
    MathFunction("exp", 1, exp_body),
    MathFunction("exp2", 1, exp2_body),
    MathFunction("expm1", 1, expm1_body),
    MathFunction("tanh", 1, tanh_body),
    MathFunction("sigmoid", 1, sigmoid_body),
)
