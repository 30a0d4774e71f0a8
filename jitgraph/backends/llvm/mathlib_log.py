"""Logarithms and what is built on them: log, log2, log10, log1p, softplus, pow.

The reduction: x = 2**e m with m in [sqrt(1/2), sqrt(2)) (subnormal x scaled by 2**54
first), f = m - 1 exact. Then log(1 + f) = 2 atanh(s) with s = f / (2 + f), |s| < 0.172,
written as fdlibm does, f - f**2/2 + s (f**2/2 + R(s**2)), so that the rounding error of
the division only touches terms of size f**2. pow needs log|x| to about 2**-65: there s
is a double-double and the series' first two terms are summed in double-double.
"""

from __future__ import annotations

import math

import llvmlite.ir as ir

from jitgraph.backends.llvm.mathlib_coefficients import COEFFICIENTS
from jitgraph.backends.llvm.mathlib_emit import DoubleDouble, Emitter, MathFunction
from jitgraph.backends.llvm.mathlib_exp import (
    EXP_HIGH,
    EXP_LOW,
    LN2_HI,
    LN2_LO,
    exp_reduced,
    exp_scaled,
)

__all__ = ["DEFINITIONS", "log1p_of"]

# 1/ln2, log10(e), log10(2) and 2/3 split into a high part and the rest. The high parts
# of log10(2) has 32 significant bits, so that e * LOG10_2_HI is exact.
INV_LN2_HI = 1.4426950408889634
INV_LN2_LO = 2.0355273740931033e-17
LOG10_E_HI = 0.4342944819032518
LOG10_E_LO = 1.098319650216765e-17
LOG10_2_HI = float.fromhex("0x1.34413509f0000p-2")
LOG10_2_LO = float.fromhex("0x1.e7fbcc47c4acdp-40")
TWO_THIRDS_HI = 0.6666666666666666
TWO_THIRDS_LO = 3.700743415417188e-17
SMALLEST_NORMAL = 2.0**-1022


def _split(emit: Emitter, x: ir.Value) -> tuple[ir.Value, ir.Value]:
    """For positive finite x: (e as a float, f) with x = 2**e (1 + f), f in [-0.29, 0.42)."""
    subnormal = emit.less(x, emit.const(SMALLEST_NORMAL))
    scaled = emit.select(subnormal, emit.mul(x, emit.const(2.0**54)), x)
    exponent, mantissa = emit.exponent_and_mantissa(scaled)
    large = emit.greater(mantissa, emit.const(math.sqrt(2.0)))
    mantissa = emit.select(large, emit.mul(mantissa, emit.const(0.5)), mantissa)
    exponent_float = emit.to_float(exponent)
    adjustment = emit.select(large, emit.const(1.0), emit.const(0.0))
    adjustment = emit.sub(adjustment, emit.select(subnormal, emit.const(54.0), emit.const(0.0)))
    return emit.add(exponent_float, adjustment), emit.sub(mantissa, emit.const(1.0))


def _log1p_reduced(emit: Emitter, f: ir.Value, precision: str) -> DoubleDouble:
    """log(1 + f) for f in [-0.3, 0.42] as (f, w): log(1 + f) = f + w, |w| <= f**2/2,
    w accurate to a few ulps of f**2 (so f + w to well under an ulp)."""
    s = emit.div(f, emit.add(emit.const(2.0), f))
    z = emit.mul(s, s)
    tail = emit.mul(z, emit.polynomial(z, COEFFICIENTS[f"log_{precision}"]))
    half_square = emit.mul(emit.const(0.5), emit.mul(f, f))
    w = emit.sub(emit.mul(s, emit.add(half_square, tail)), half_square)
    return f, w


def _log_special(emit: Emitter, x: ir.Value, finite_result: ir.Value) -> ir.Value:
    """The result for x = 0 (-inf), x < 0 (NaN), +inf and NaN; ``finite_result`` else."""
    positive = emit.both(emit.greater(x, emit.const(0.0)), emit.less(x, emit.const(math.inf)))
    special = emit.select(
        emit.equal(x, emit.const(0.0)), emit.const(-math.inf), emit.const(math.nan)
    )
    special = emit.select(emit.equal(x, emit.const(math.inf)), x, special)
    special = emit.select(emit.is_nan(x), x, special)
    return emit.select(positive, finite_result, special)


def _safe(emit: Emitter, x: ir.Value) -> ir.Value:
    """x where it is positive and finite, 1 elsewhere (special results are selected)."""
    positive = emit.both(emit.greater(x, emit.const(0.0)), emit.less(x, emit.const(math.inf)))
    return emit.select(positive, x, emit.const(1.0))


def log_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    """log(x) = e LN2_HI + (f + (w + e LN2_LO)): e LN2_HI is exact, and the big terms are
    added last."""
    (x,) = args
    exponent, f = _split(emit, _safe(emit, x))
    _, w = _log1p_reduced(emit, f, precision)
    # e LN2_HI + f exactly (|e LN2_HI| >= |f| unless e = 0): for e = +-1 the two cancel
    # partly, and rounding f + w first would cost up to half an ulp of the result.
    high, low = emit.fast_two_sum(emit.mul(exponent, emit.const(LN2_HI)), f)
    result = emit.add(high, emit.add(low, emit.fma(exponent, emit.const(LN2_LO), w)))
    return _log_special(emit, x, result)


def _scaled_log(
    emit: Emitter,
    x: ir.Value,
    precision: str,
    factor: tuple[float, float],
    exponent_factor: tuple[float, float],
) -> ir.Value:
    """e * exponent_factor + log(1 + f) * factor, each factor a (high, low) split."""
    exponent, f = _split(emit, _safe(emit, x))
    head, w = _log1p_reduced(emit, f, precision)
    high, low = emit.fast_two_sum(head, w)
    product, product_error = emit.two_product(high, emit.const(factor[0]))
    product_error = emit.add(
        product_error, emit.fma(low, emit.const(factor[0]), emit.mul(high, emit.const(factor[1])))
    )
    scaled_exponent = emit.mul(exponent, emit.const(exponent_factor[0]))  # exact
    total, total_error = emit.two_sum(scaled_exponent, product)
    tail = emit.fma(exponent, emit.const(exponent_factor[1]), emit.add(total_error, product_error))
    return _log_special(emit, x, emit.add(total, tail))


def log2_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    return _scaled_log(emit, args[0], precision, (INV_LN2_HI, INV_LN2_LO), (1.0, 0.0))


def log10_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    return _scaled_log(emit, args[0], precision, (LOG10_E_HI, LOG10_E_LO), (LOG10_2_HI, LOG10_2_LO))


def log1p_of(emit: Emitter, x: ir.Value, precision: str, x_low: ir.Value | None = None) -> ir.Value:
    """log(1 + x + x_low) for x > -1 finite (or +inf), x_low a correction below ulp(x).

    u + c = 1 + x exactly, then log(u) + log1p(c/u) = f + w + c/u - (c/u)**2/2 with
    1/u = 2**-e (1 - s)/(1 + s) expanded to second order in s. When e = 0, f + c is x
    itself (exact), so the cancellation between f and c costs nothing."""
    u, c = emit.two_sum(emit.const(1.0), x)
    exponent, f = _split(emit, _safe(emit, u))
    head, w = _log1p_reduced(emit, f, precision)
    s = emit.div(f, emit.add(emit.const(2.0), f))  # the same division: LLVM reuses it
    inverse_mantissa_error = emit.mul(s, emit.fma(s, emit.const(2.0), emit.const(-2.0)))
    limited = emit.select(emit.less(exponent, emit.const(1000.0)), exponent, emit.const(1000.0))
    inverse_power = emit.power_of_two(emit.to_int(emit.neg(limited)))
    scaled = emit.mul(c, inverse_power)
    rest = emit.mul(scaled, inverse_mantissa_error)  # c/u - scaled
    if x_low is not None:
        rest = emit.fma(x_low, inverse_power, rest)
    rest = emit.fma(emit.mul(emit.const(-0.5), scaled), scaled, rest)
    # Exact sums for the two cancellations: f + c/u (e = 0: it is x) and e LN2_HI + that
    # (e = +-1).
    lead, lead_error = emit.two_sum(head, scaled)
    high, low = emit.fast_two_sum(emit.mul(exponent, emit.const(LN2_HI)), lead)
    tail = emit.add(
        emit.add(low, lead_error), emit.add(w, emit.fma(exponent, emit.const(LN2_LO), rest))
    )
    return emit.add(high, tail)


def log1p_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    (x,) = args
    result = _log_special(emit, emit.add(x, emit.const(1.0)), log1p_of(emit, x, precision))
    # |x| < 2**-54 (zeros and subnormals included): log1p(x) rounds to x.
    tiny = emit.less(emit.fabs(x), emit.const(2.0**-54))
    return emit.select(emit.either(tiny, emit.is_nan(x)), x, result)


def softplus_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)) (NumPy's logaddexp(0, x))."""
    (x,) = args
    decay_high, decay_low = exp_scaled(emit, emit.neg(emit.fabs(x)), precision)
    positive_part = emit.select(emit.greater(x, emit.const(0.0)), x, emit.const(0.0))
    result = emit.add(positive_part, log1p_of(emit, decay_high, precision, decay_low))
    return emit.select(emit.is_nan(x), x, result)


def _log_precise(emit: Emitter, x: ir.Value) -> DoubleDouble:
    """log(x) for positive finite x as a double-double accurate to about 2**-65
    (relative): 2 atanh(s) = 2s + 2s**3/3 + s**5 Q(s**2) with s = f/(2+f) and the first
    two terms in double-double."""
    exponent, f = _split(emit, x)
    denominator, denominator_error = emit.fast_two_sum(emit.const(2.0), f)
    s = emit.div(f, denominator)
    # s_low = (f - s (2 + f)) / (2 + f), with 1/(2 + f) = (1 - s)/2 exactly.
    residual = emit.fma(emit.neg(s), denominator, f)
    residual = emit.fma(emit.neg(s), denominator_error, residual)
    s_low = emit.mul(residual, emit.mul(emit.const(0.5), emit.sub(emit.const(1.0), s)))
    square, square_error = emit.two_product(s, s)
    square_error = emit.fma(emit.add(s, s), s_low, square_error)
    cube, cube_error = emit.two_product(square, s)
    cube_error = emit.fma(square_error, s, emit.fma(square, s_low, cube_error))
    third, third_error = emit.two_product(cube, emit.const(TWO_THIRDS_HI))
    third_error = emit.fma(cube_error, emit.const(TWO_THIRDS_HI), third_error)
    third_error = emit.fma(cube, emit.const(TWO_THIRDS_LO), third_error)
    tail = emit.mul(emit.mul(cube, square), emit.polynomial(square, COEFFICIENTS["log5_f64"]))
    head, head_error = emit.fast_two_sum(emit.add(s, s), third)
    low = emit.add(head_error, emit.add(emit.add(s_low, s_low), emit.add(third_error, tail)))
    total, total_error = emit.two_sum(emit.mul(exponent, emit.const(LN2_HI)), head)
    low = emit.add(emit.add(total_error, low), emit.mul(exponent, emit.const(LN2_LO)))
    return emit.fast_two_sum(total, low)


def _pow_magnitude(emit: Emitter, base: ir.Value, exponent: ir.Value, precision: str) -> ir.Value:
    """|base|**exponent = exp(exponent log|base|) for finite nonzero base and finite
    exponent (overflow to inf and underflow to 0 included)."""
    if precision == "f32":  # float64: |y log x| < 150 keeps the error far below 2**-30
        exponent_float, f = _split(emit, base)
        head, w = _log1p_reduced(emit, f, precision)
        small = emit.add(head, emit.fma(exponent_float, emit.const(LN2_LO), w))
        logarithm = emit.fma(exponent_float, emit.const(LN2_HI), small)
        product = emit.clamp(emit.mul(exponent, logarithm), EXP_LOW["f32"], EXP_HIGH["f32"])
        (value, _), k = exp_reduced(emit, product, None, precision)
        return emit.scale(value, k)
    log_high, log_low = _log_precise(emit, base)
    product, product_error = emit.two_product(exponent, log_high)
    product_error = emit.fma(exponent, log_low, product_error)
    clamped = emit.clamp(product, EXP_LOW["f64"], EXP_HIGH["f64"])
    # Beyond the clamp the result is 0 or inf whatever the error (which may be NaN there).
    product_error = emit.select(emit.equal(clamped, product), product_error, emit.const(0.0))
    (value, value_low), k = exp_reduced(emit, clamped, product_error, precision)
    return emit.scale(emit.add(value, value_low), k)


def pow_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    """x**y with C99's (and NumPy's) special cases: x**0 = 1 and 1**y = 1 even for NaN,
    negative x only with integer y (sign from y's parity), zeros and infinities by the
    limits, (-1)**inf = 1."""
    x, y = args
    magnitude = emit.fabs(x)
    finite_base = emit.both(
        emit.greater(magnitude, emit.const(0.0)), emit.less(magnitude, emit.const(math.inf))
    )
    finite_exponent = emit.less(emit.fabs(y), emit.const(math.inf))
    safe_base = emit.select(finite_base, magnitude, emit.const(1.0))
    safe_exponent = emit.select(finite_exponent, y, emit.const(0.0))
    result = _pow_magnitude(emit, safe_base, safe_exponent, precision)
    integral = emit.equal(emit.floor(y), y)
    half = emit.mul(y, emit.const(0.5))
    odd = emit.both(integral, emit.builder.fcmp_unordered("!=", emit.floor(half), half))
    negative_odd = emit.both(emit.sign_bit(x), odd)
    result = emit.select(negative_odd, emit.neg(result), result)
    invalid = emit.both(emit.less(x, emit.const(0.0)), emit.builder.not_(integral))
    result = emit.select(emit.both(invalid, finite_exponent), emit.const(math.nan), result)
    # x = +-0 or +-inf: 0 or inf by the limits, signed when x < 0 and y is odd.
    grows = emit.builder.icmp_unsigned(
        "==", emit.equal(magnitude, emit.const(math.inf)), emit.greater(y, emit.const(0.0))
    )
    limit = emit.select(grows, emit.const(math.inf), emit.const(0.0))
    limit = emit.select(negative_odd, emit.neg(limit), limit)
    result = emit.select(emit.builder.not_(finite_base), limit, result)
    # y = +-inf: 1 for |x| = 1, else 0 or inf.
    towards = emit.builder.icmp_unsigned(
        "==", emit.greater(magnitude, emit.const(1.0)), emit.greater(y, emit.const(0.0))
    )
    infinite_limit = emit.select(towards, emit.const(math.inf), emit.const(0.0))
    infinite_limit = emit.select(
        emit.equal(magnitude, emit.const(1.0)), emit.const(1.0), infinite_limit
    )
    result = emit.select(emit.is_inf(y), infinite_limit, result)
    result = emit.select(emit.either(emit.is_nan(x), emit.is_nan(y)), emit.add(x, y), result)
    one = emit.either(emit.equal(y, emit.const(0.0)), emit.equal(x, emit.const(1.0)))
    return emit.select(one, emit.const(1.0), result)


DEFINITIONS = (
    MathFunction("log", 1, log_body),
    MathFunction("log2", 1, log2_body),
    MathFunction("log10", 1, log10_body),
    MathFunction("log1p", 1, log1p_body),
    MathFunction("softplus", 1, softplus_body),
    MathFunction("pow", 2, pow_body),
)
