"""Trigonometric functions: sin, cos, tan, arctan, arctan2.

sin/cos/tan reduce x = k pi/2 + r (|r| <= pi/4, r a double-double accurate to about
2**-100 absolutely) in one of two ways, both computed, one selected per element:

- |x| < 2**50: three-part FMA Cody-Waite: r1 = x - k C1 is exact (FMA; r1 fits in 53
  bits), r1 - k C2 is summed error-free and k C3 is a correction; a second step corrects
  k by one when the rounding of x 2/pi picked the wrong neighbour.
- |x| >= 2**50: Payne-Hanek with the bits of 2/pi in 48-bit chunks (a 26-entry constant
  table, read with a gather), so every finite double is reduced correctly.

float32 arguments (computed in float64) take a cheaper Payne-Hanek for every x: with
29-bit chunks, x times a chunk is exact in one multiplication, and the four chunks a
float32 can need are picked by selects.

arctan2 reduces the ratio min(|y|,|x|) / max(|y|,|x|) to |t| <= 7/16 around c = 0, 1/2
or 1 (atan(z) = atan(c) + atan((z - c)/(1 + c z)), computed from y and x directly with
one division) and places the angle in its octant with double-double constants.
"""

from __future__ import annotations

import math

import llvmlite.ir as ir

from jitgraph.backends.llvm.mathlib_coefficients import (
    COEFFICIENTS,
    TWO_OVER_PI_CHUNKS_29,
    TWO_OVER_PI_CHUNKS_48,
)
from jitgraph.backends.llvm.mathlib_emit import DoubleDouble, Emitter, MathFunction

__all__ = ["DEFINITIONS"]

# pi/2 = C1 + C2 + C3 to about 160 bits.
PIO2_1 = 1.5707963267948966
PIO2_2 = 6.123233995736766e-17
PIO2_3 = -1.4973849048591698e-33
TWO_OVER_PI = 0.6366197723675814
LARGE = 2.0**50  # from here on Payne-Hanek (Cody-Waite is exact below 2**53)

# (high, low) splits of angles.
ATAN_HALF = (0.4636476090008061, 2.2698777452961687e-17)
QUARTER_PI = (0.7853981633974483, 3.061616997868383e-17)
HALF_PI = (1.5707963267948966, 6.123233995736766e-17)
PI = (3.141592653589793, 1.2246467991473532e-16)


def _reduce(emit: Emitter, x: ir.Value, precision: str) -> tuple[DoubleDouble, ir.Value]:
    """((r_high, r_low), quadrant) with x = k pi/2 + r, quadrant = k mod 4 as a float,
    for any finite x (inf and NaN give NaN)."""
    if precision == "f32":
        return _reduce_float32(emit, x)
    magnitude = emit.fabs(x)
    large = emit.greater_equal(magnitude, emit.const(LARGE))
    small_x = emit.select(large, emit.const(0.0), x)
    (small_high, small_low), small_quadrant = _reduce_small(emit, small_x)
    finite = emit.less(magnitude, emit.const(math.inf))
    safe = emit.select(emit.both(large, finite), magnitude, emit.const(LARGE))
    (large_high, large_low), large_quadrant = _reduce_large(emit, safe)
    # The reduction of |x|; for x < 0 negate r and the quadrant.
    negative = emit.less(x, emit.const(0.0))
    large_high = emit.select(negative, emit.neg(large_high), large_high)
    large_low = emit.select(negative, emit.neg(large_low), large_low)
    mirrored = emit.select(
        emit.equal(large_quadrant, emit.const(0.0)),
        large_quadrant,
        emit.sub(emit.const(4.0), large_quadrant),
    )
    large_quadrant = emit.select(negative, mirrored, large_quadrant)
    # inf and NaN: r = NaN.
    large_high = emit.select(finite, large_high, emit.sub(x, x))
    high = emit.select(large, large_high, small_high)
    low = emit.select(large, large_low, small_low)
    return (high, low), emit.select(large, large_quadrant, small_quadrant)


def _reduce_float32(emit: Emitter, x: ir.Value) -> tuple[DoubleDouble, ir.Value]:
    """_reduce for a float32 x (held in a double), Payne-Hanek for every x: with 29-bit
    chunks of 2/pi, x c[i] (24 + 29 bits) is exact in one multiplication. Terms i < i0 =
    (E - 25) // 29 are multiples of 4; of the next four, two are reduced mod 4 and
    summed error-free, the others are below 2**-3. r is good to about 2**-60
    absolutely, far more than float32 needs, and comes as (r, 0)."""
    magnitude = emit.fabs(x)
    finite = emit.less(magnitude, emit.const(math.inf))
    safe = emit.select(
        emit.both(finite, emit.greater(magnitude, emit.const(2.0**-140))),
        magnitude,
        emit.const(1.0),
    )
    exponent, _ = emit.exponent_and_mantissa(safe)
    builder = emit.builder
    offset = builder.sub(exponent, emit.int_const(25))
    offset = builder.select(
        builder.icmp_signed("<", offset, emit.int_const(0)), emit.int_const(0), offset
    )
    # offset // 29 as a multiply and shift (exact for offset < 1000; here < 104).
    first = builder.lshr(builder.mul(offset, emit.int_const(2260)), emit.int_const(16))
    shift = builder.mul(builder.add(first, emit.int_const(1)), emit.int_const(-29))
    scaled = emit.mul(safe, emit.power_of_two(shift))
    products = []
    for m in range(4):
        chunk = _select_chunk(emit, first, m)
        products.append(emit.mul(emit.mul(scaled, emit.const(2.0 ** (-29 * m))), chunk))
    total, error = emit.two_sum(_modulo_four(emit, products[0]), _modulo_four(emit, products[1]))
    total = _modulo_four(emit, total)
    k = emit.rint(total)
    fraction = emit.add(emit.sub(total, k), emit.add(error, emit.add(products[2], products[3])))
    r = emit.mul(fraction, emit.const(PIO2_1))
    quadrant = emit.sub(k, emit.mul(emit.const(4.0), emit.floor(emit.mul(k, emit.const(0.25)))))
    # The reduction of |x|; for x < 0 negate r and the quadrant. Tiny x: r = x.
    negative = emit.less(x, emit.const(0.0))
    r = emit.select(negative, emit.neg(r), r)
    mirrored = emit.select(
        emit.equal(quadrant, emit.const(0.0)), quadrant, emit.sub(emit.const(4.0), quadrant)
    )
    quadrant = emit.select(negative, mirrored, quadrant)
    tiny = emit.less_equal(magnitude, emit.const(2.0**-140))
    r = emit.select(tiny, x, emit.select(finite, r, emit.sub(x, x)))
    quadrant = emit.select(tiny, emit.const(0.0), quadrant)
    return (r, emit.const(0.0)), quadrant


def _select_chunk(emit: Emitter, first: ir.Value, m: int) -> ir.Value:
    """TWO_OVER_PI_CHUNKS_29[first + m] for first in 0..3 (all a float32 needs) by
    selects: cheaper than a gather."""
    chunk = emit.const(float(TWO_OVER_PI_CHUNKS_29[m]))
    for start in (1, 2, 3):
        reached = emit.builder.icmp_signed(">=", first, emit.int_const(start))
        chunk = emit.select(reached, emit.const(float(TWO_OVER_PI_CHUNKS_29[start + m])), chunk)
    return chunk


def _reduce_small(emit: Emitter, x: ir.Value) -> tuple[DoubleDouble, ir.Value]:
    """_reduce for |x| < LARGE: Cody-Waite."""
    k = emit.rint(emit.mul(x, emit.const(TWO_OVER_PI)))
    reduced, k = _subtract_multiple(emit, x, emit.const(0.0), k)
    # A second pass: large x can get k off by one (x 2/pi is rounded).
    step = emit.rint(emit.mul(reduced[0], emit.const(TWO_OVER_PI)))
    reduced, step = _subtract_multiple(emit, reduced[0], reduced[1], step)
    k = emit.add(k, step)
    quadrant = emit.sub(k, emit.mul(emit.const(4.0), emit.floor(emit.mul(k, emit.const(0.25)))))
    return reduced, quadrant


def _reduce_large(emit: Emitter, x: ir.Value) -> tuple[DoubleDouble, ir.Value]:
    """_reduce for finite x >= LARGE: Payne-Hanek. With 2/pi = sum c[i] 2**(-48(i+1))
    (48-bit chunks), x c[i] 2**(-48(i+1)) is a multiple of 4 for i < i0 = (E - 54) // 48
    (x < 2**(E+1)): those terms vanish mod 4. The next five terms are exact
    double-doubles (53 x 48 bits), their large parts are reduced mod 4 (exactly) and
    summed error-free; the rest is below 2**-47."""
    exponent, _ = emit.exponent_and_mantissa(x)
    builder = emit.builder
    offset = builder.sub(exponent, emit.int_const(54))
    offset = builder.select(
        builder.icmp_signed("<", offset, emit.int_const(0)), emit.int_const(0), offset
    )
    # offset // 48 as a multiply and shift (exact for offset < 2000): x86 has no vector
    # integer division, and LLVM would scalarize a udiv.
    first = builder.lshr(builder.mul(offset, emit.int_const(1366)), emit.int_const(16))
    # x 2**(-48 (i0 + 1)) is in [2**2, 2**55): no underflow for any chunk.
    scaled = emit.mul(
        x,
        emit.power_of_two(builder.mul(builder.add(first, emit.int_const(1)), emit.int_const(-48))),
    )
    parts = []
    for m in range(5):
        index = builder.add(first, emit.int_const(m))
        chunk = _two_over_pi_chunk(emit, TWO_OVER_PI_CHUNKS_48, index)
        parts.append(emit.two_product(emit.mul(scaled, emit.const(2.0 ** (-48 * m))), chunk))
    big = [
        _modulo_four(emit, parts[0][0]),
        _modulo_four(emit, parts[0][1]),
        _modulo_four(emit, parts[1][0]),
        parts[1][1],
        _modulo_four(emit, parts[2][0]),
    ]
    total, error = big[0], emit.const(0.0)
    for term in big[1:]:
        total, term_error = emit.two_sum(total, term)
        total = _modulo_four(emit, total)
        error = emit.add(error, term_error)
    small = emit.add(emit.add(parts[2][1], parts[3][0]), emit.add(parts[3][1], parts[4][0]))
    error = emit.add(error, small)
    k = emit.rint(total)
    fraction, fraction_low = emit.two_sum(emit.sub(total, k), error)
    # r = fraction pi/2 as a double-double.
    high, high_error = emit.two_product(fraction, emit.const(PIO2_1))
    low = emit.fma(
        fraction, emit.const(PIO2_2), emit.fma(fraction_low, emit.const(PIO2_1), high_error)
    )
    quadrant = emit.sub(k, emit.mul(emit.const(4.0), emit.floor(emit.mul(k, emit.const(0.25)))))
    return emit.fast_two_sum(high, low), quadrant


def _modulo_four(emit: Emitter, value: ir.Value) -> ir.Value:
    """value - 4 rint(value/4), in [-2, 2]: exact for any double."""
    return emit.fma(emit.const(-4.0), emit.rint(emit.mul(value, emit.const(0.25))), value)


def _two_over_pi_chunk(emit: Emitter, chunks: tuple[int, ...], index: ir.Value) -> ir.Value:
    """chunks[index] from a constant table in the module (a gather once vectorized)."""
    module = emit.builder.module
    name = f"jg_two_over_pi_chunks_{len(chunks)}"
    array_type = ir.ArrayType(emit.float_type, len(chunks))
    table = module.globals.get(name)
    if table is None:
        table = ir.GlobalVariable(module, array_type, name)
        table.linkage = "internal"
        table.global_constant = True
        table.initializer = ir.Constant(array_type, [float(c) for c in chunks])
    pointer = emit.builder.gep(
        table, [emit.int_const(0), index], inbounds=True, source_etype=array_type
    )
    return emit.builder.load(pointer, typ=emit.float_type)


def _subtract_multiple(
    emit: Emitter, high: ir.Value, low: ir.Value, k: ir.Value
) -> tuple[DoubleDouble, ir.Value]:
    """(high + low - k pi/2 as a double-double, k)."""
    first = emit.fma(emit.neg(k), emit.const(PIO2_1), high)  # exact
    product, product_error = emit.two_product(k, emit.const(PIO2_2))
    second, second_error = emit.two_sum(first, emit.neg(product))
    correction = emit.sub(second_error, product_error)
    correction = emit.fma(emit.neg(k), emit.const(PIO2_3), emit.add(correction, low))
    return emit.fast_two_sum(second, correction), k


def _sin_cos(
    emit: Emitter, reduced: DoubleDouble, precision: str
) -> tuple[DoubleDouble, DoubleDouble]:
    """(sin r, cos r) as double-doubles (high part + correction) for |r| <= pi/4."""
    r, r_low = reduced
    if precision == "f32":  # float64 arithmetic is accurate enough as it is
        square = emit.mul(r, r)
        sine_tail = emit.polynomial(square, COEFFICIENTS["sin_f32"])
        cosine_tail = emit.polynomial(square, COEFFICIENTS["cos_f32"])
        sine = emit.fma(emit.mul(r, square), sine_tail, r)
        cosine = emit.fma(
            emit.mul(square, square),
            cosine_tail,
            emit.fma(emit.const(-0.5), square, emit.const(1.0)),
        )
        return (sine, emit.const(0.0)), (cosine, emit.const(0.0))
    z, z_error = emit.two_product(r, r)
    sine_tail = emit.polynomial(z, COEFFICIENTS[f"sin_{precision}"])  # (sin r - r) / r**3
    cosine_tail = emit.polynomial(z, COEFFICIENTS[f"cos_{precision}"])  # (cos r - 1 + z/2)/z**2
    half = emit.mul(emit.const(0.5), z)
    # sin(r + r_low) = sin r + r_low cos r; r_low cos r ~ r_low (1 - z/2).
    sine_low = emit.fma(emit.mul(r, z), sine_tail, emit.fma(emit.neg(r_low), half, r_low))
    sine = emit.fast_two_sum(r, sine_low)
    # cos r = (1 - z/2) + z**2 C(z), with 1 - z/2 error-free and r**2's rounding error.
    one_minus, one_minus_error = emit.fast_two_sum(emit.const(1.0), emit.neg(half))
    cosine_low = emit.fma(emit.mul(z, z), cosine_tail, one_minus_error)
    cosine_low = emit.fma(emit.const(-0.5), z_error, cosine_low)
    cosine_low = emit.fma(emit.neg(r), r_low, cosine_low)
    cosine = emit.fast_two_sum(one_minus, cosine_low)
    return sine, cosine


def _select_pair(
    emit: Emitter, condition: ir.Value, a: DoubleDouble, b: DoubleDouble
) -> DoubleDouble:
    return emit.select(condition, a[0], b[0]), emit.select(condition, a[1], b[1])


def _negate(emit: Emitter, a: DoubleDouble) -> DoubleDouble:
    return emit.neg(a[0]), emit.neg(a[1])


def _quadrant_value(
    emit: Emitter, quadrant: ir.Value, values: tuple[DoubleDouble, DoubleDouble], shift: float
) -> ir.Value:
    """values[0] (sin r) or values[1] (cos r), signed, for quadrant + shift (mod 4):
    quadrant 0: sin r, 1: cos r, 2: -sin r, 3: -cos r."""
    sine, cosine = values
    position = emit.add(quadrant, emit.const(shift))
    position = emit.select(
        emit.greater_equal(position, emit.const(4.0)), emit.sub(position, emit.const(4.0)), position
    )
    odd = emit.either(emit.equal(position, emit.const(1.0)), emit.equal(position, emit.const(3.0)))
    value = _select_pair(emit, odd, cosine, sine)
    negative = emit.greater_equal(position, emit.const(2.0))
    value = _select_pair(emit, negative, _negate(emit, value), value)
    return emit.add(value[0], value[1])


def sin_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    (x,) = args
    reduced, quadrant = _reduce(emit, x, precision)
    result = _quadrant_value(emit, quadrant, _sin_cos(emit, reduced, precision), 0.0)
    # |x| < 2**-26: sin x rounds to x (zeros and subnormals keep their sign and value).
    return emit.select(emit.less(emit.fabs(x), emit.const(2.0**-26)), x, result)


def cos_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    (x,) = args
    reduced, quadrant = _reduce(emit, x, precision)
    return _quadrant_value(emit, quadrant, _sin_cos(emit, reduced, precision), 1.0)


def tan_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    """sin r / cos r, or -cos r / sin r in odd quadrants, divided in double-double."""
    (x,) = args
    reduced, quadrant = _reduce(emit, x, precision)
    sine, cosine = _sin_cos(emit, reduced, precision)
    odd = emit.either(emit.equal(quadrant, emit.const(1.0)), emit.equal(quadrant, emit.const(3.0)))
    numerator = _select_pair(emit, odd, _negate(emit, cosine), sine)
    denominator = _select_pair(emit, odd, sine, cosine)
    quotient = emit.div(numerator[0], denominator[0])
    residual = emit.fma(emit.neg(quotient), denominator[0], numerator[0])
    residual = emit.fma(emit.neg(quotient), denominator[1], emit.add(residual, numerator[1]))
    result = emit.add(quotient, emit.div(residual, denominator[0]))
    return emit.select(emit.less(emit.fabs(x), emit.const(2.0**-27)), x, result)


def _arctan2(emit: Emitter, y: ir.Value, x: ir.Value, precision: str) -> ir.Value:
    magnitude_y, magnitude_x = emit.fabs(y), emit.fabs(x)
    swap = emit.greater(magnitude_y, magnitude_x)
    numerator = emit.select(swap, magnitude_x, magnitude_y)
    denominator = emit.select(swap, magnitude_y, magnitude_x)
    both_infinite = emit.both(emit.is_inf(numerator), emit.is_inf(denominator))
    numerator = emit.select(both_infinite, emit.const(1.0), numerator)
    denominator = emit.select(both_infinite, emit.const(1.0), denominator)
    # Keep denominator + numerator finite and the half-multiples exact.
    scale = emit.select(
        emit.greater(denominator, emit.const(2.0**1000)),
        emit.const(2.0**-8),
        emit.select(
            emit.less(denominator, emit.const(2.0**-900)), emit.const(2.0**200), emit.const(1.0)
        ),
    )
    numerator, denominator = emit.mul(numerator, scale), emit.mul(denominator, scale)
    offset, (t, t_low) = _reduce_ratio(emit, numerator, denominator)
    square = emit.mul(t, t)
    tail = emit.polynomial(square, COEFFICIENTS[f"atan_{precision}"])  # (atan t - t) / t**3
    # atan(t + t_low) = t + t**3 A(t**2) + t_low / (1 + t**2)
    angle_low = emit.fma(emit.mul(t, square), tail, emit.fma(emit.neg(t_low), square, t_low))
    # The octant: K + sign (offset + atan t) with K in {0, pi/2, pi} by swap and x's sign.
    negative_x = emit.sign_bit(x)
    sign = emit.select(emit.builder.xor(swap, negative_x), emit.const(-1.0), emit.const(1.0))
    base_high = emit.select(
        swap, emit.const(HALF_PI[0]), emit.select(negative_x, emit.const(PI[0]), emit.const(0.0))
    )
    base_low = emit.select(
        swap, emit.const(HALF_PI[1]), emit.select(negative_x, emit.const(PI[1]), emit.const(0.0))
    )
    high, high_error = emit.two_sum(base_high, emit.mul(sign, offset[0]))
    low = emit.add(emit.add(high_error, base_low), emit.mul(sign, offset[1]))
    total, total_error = emit.two_sum(high, emit.mul(sign, t))
    low = emit.add(emit.add(total_error, low), emit.mul(sign, angle_low))
    result = emit.add(total, low)
    result = emit.copysign(result, y)
    return emit.select(emit.either(emit.is_nan(x), emit.is_nan(y)), emit.add(x, y), result)


def _reduce_ratio(
    emit: Emitter, numerator: ir.Value, denominator: ir.Value
) -> tuple[DoubleDouble, DoubleDouble]:
    """(atan(c), t) as double-doubles with atan(n/d) = atan(c) + atan(t), |t| <= 7/16:
    c = 0, t = n/d below 7/16; c = 1/2, t = (n - d/2)/(d + n/2) below 11/16; else c = 1,
    t = (n - d)/(d + n). The subtractions are exact (Sterbenz)."""
    zero_top = emit.equal(numerator, emit.const(0.0))  # 0/0 (both zero) is angle 0
    low_ratio = emit.either(
        zero_top,
        emit.less(emit.mul(numerator, emit.const(16.0)), emit.mul(denominator, emit.const(7.0))),
    )
    middle_ratio = emit.less(
        emit.mul(numerator, emit.const(16.0)), emit.mul(denominator, emit.const(11.0))
    )
    half_top = emit.sub(numerator, emit.mul(emit.const(0.5), denominator))
    half_bottom = emit.fma(emit.const(0.5), numerator, denominator)
    top = emit.select(
        low_ratio, numerator, emit.select(middle_ratio, half_top, emit.sub(numerator, denominator))
    )
    bottom = emit.select(
        low_ratio,
        denominator,
        emit.select(middle_ratio, half_bottom, emit.add(denominator, numerator)),
    )
    # t as a double-double from one division: t = top/bottom rounded twice, and the
    # exact residual top - t bottom (FMA) divided by bottom gives the rest.
    reciprocal = emit.div(emit.const(1.0), bottom)
    t = emit.select(zero_top, emit.const(0.0), emit.mul(top, reciprocal))
    t_low = emit.mul(emit.fma(emit.neg(t), bottom, top), reciprocal)
    exact = emit.either(zero_top, emit.is_inf(bottom))  # t = 0 exactly
    t_low = emit.select(exact, emit.const(0.0), t_low)
    offset_high = emit.select(
        low_ratio,
        emit.const(0.0),
        emit.select(middle_ratio, emit.const(ATAN_HALF[0]), emit.const(QUARTER_PI[0])),
    )
    offset_low = emit.select(
        low_ratio,
        emit.const(0.0),
        emit.select(middle_ratio, emit.const(ATAN_HALF[1]), emit.const(QUARTER_PI[1])),
    )
    return (offset_high, offset_low), (t, t_low)


def arctan2_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    y, x = args
    return _arctan2(emit, y, x, precision)


def arctan_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    (x,) = args
    return _arctan2(emit, x, emit.const(1.0), precision)


DEFINITIONS = (
    MathFunction("sin", 1, sin_body),
    MathFunction("cos", 1, cos_body),
    MathFunction("tan", 1, tan_body),
    MathFunction("arctan", 1, arctan_body),
    MathFunction("arctan2", 2, arctan2_body),
)
