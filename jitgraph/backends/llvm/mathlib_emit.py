"""The vocabulary the math library's functions are written in: an ``Emitter`` wraps an
``ir.IRBuilder`` and one floating type, and offers exactly the operations that keep a
function branch-free and vectorizable once inlined into a loop: IEEE arithmetic, ``fma``,
the ``fabs``/``floor``/``rint``/``copysign`` intrinsics, comparisons and ``select``,
integer operations on bit patterns, and the error-free transformations (``two_sum``,
``two_product``) that double-double arithmetic is built from.

No fast-math flags are ever set: every operation rounds as IEEE 754 says, which is what
the error analyses in the function modules rely on.

>>> import llvmlite.ir as ir
>>> module = ir.Module()
>>> function = ir.Function(module, ir.FunctionType(ir.DoubleType(), [ir.DoubleType()]), "f")
>>> emit = Emitter(ir.IRBuilder(function.append_basic_block()), "float64")
>>> _ = emit.builder.ret(emit.polynomial(function.args[0], (1.0, 2.0, 3.0)))  # 1 + 2x + 3x^2
>>> "llvm.fma.f64" in str(module)
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import llvmlite.ir as ir

from jitgraph.backends.llvm import types

__all__ = ["DoubleDouble", "Emitter", "MathFunction"]

DoubleDouble = tuple[ir.Value, ir.Value]
"""An unevaluated sum ``high + low`` with ``|low| <= ulp(high)/2``: about 106 bits."""


@dataclass(frozen=True)
class MathFunction:
    """One function of the math library: its NumPy name, its number of arguments, and
    ``body(emit, args, precision)`` building its value from ``args`` where ``precision``
    ("f32" or "f64") is the precision the result must have: it picks polynomial degrees
    and thresholds. The values are float64 (a float32 function computes in float64 and
    rounds once) unless ``native_float32``: then a float32 function's body gets a float32
    ``emit`` and float32 arguments, and computes in float32 (twice the SIMD lanes)."""

    name: str
    arity: int
    body: Callable[[Emitter, list[ir.Value], str], ir.Value]
    native_float32: bool = False


_INT_TYPES = {"float32": types.I32, "float64": types.I64}
_MANTISSA_BITS = {"float32": 23, "float64": 52}
_EXPONENT_BIAS = {"float32": 127, "float64": 1023}


class Emitter:
    """IR helpers for one floating dtype (``float32`` or ``float64``) at ``builder``."""

    def __init__(self, builder: ir.IRBuilder, dtype: str) -> None:
        self.builder = builder
        self.dtype = dtype
        self.float_type: ir.Type = types.llvm_type(dtype)
        self.int_type: ir.IntType = _INT_TYPES[dtype]
        self.mantissa_bits = _MANTISSA_BITS[dtype]
        self.exponent_bias = _EXPONENT_BIAS[dtype]
        self._suffix = "f64" if dtype == "float64" else "f32"

    # ------------------------------------------------------------------ constants
    def const(self, value: float) -> ir.Constant:
        """``value`` rounded to this dtype, exactly as NumPy would (inf/NaN/-0.0 kept)."""
        return types.constant(self.dtype, value)

    def int_const(self, value: int) -> ir.Constant:
        return ir.Constant(self.int_type, value)

    # ------------------------------------------------------------------ arithmetic
    def add(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.builder.fadd(a, b)

    def sub(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.builder.fsub(a, b)

    def mul(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.builder.fmul(a, b)

    def div(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.builder.fdiv(a, b)

    def neg(self, a: ir.Value) -> ir.Value:
        return self.builder.fneg(a)

    def fma(self, a: ir.Value, b: ir.Value, c: ir.Value) -> ir.Value:
        """``a*b + c`` rounded once."""
        return self._intrinsic("fma", a, b, c)

    def fabs(self, a: ir.Value) -> ir.Value:
        return self._intrinsic("fabs", a)

    def floor(self, a: ir.Value) -> ir.Value:
        return self._intrinsic("floor", a)

    def rint(self, a: ir.Value) -> ir.Value:
        """``a`` rounded to the nearest integer, ties to even (the default rounding mode)."""
        return self._intrinsic("rint", a)

    def trunc(self, a: ir.Value) -> ir.Value:
        return self._intrinsic("trunc", a)

    def copysign(self, magnitude: ir.Value, sign: ir.Value) -> ir.Value:
        return self._intrinsic("copysign", magnitude, sign)

    def sqrt(self, a: ir.Value) -> ir.Value:
        """Correctly rounded square root (IEEE), a vector instruction on x86."""
        return self._intrinsic("sqrt", a)

    def _intrinsic(self, name: str, *args: ir.Value) -> ir.Value:
        function_type = ir.FunctionType(self.float_type, [self.float_type] * len(args))
        function = types.declare(self.builder.module, f"llvm.{name}.{self._suffix}", function_type)
        return self.builder.call(function, list(args))

    # ------------------------------------------------------------------ comparisons
    def less(self, a: ir.Value, b: ir.Value) -> ir.Value:
        """``a < b`` (false when either is NaN)."""
        return self.builder.fcmp_ordered("<", a, b)

    def less_equal(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.builder.fcmp_ordered("<=", a, b)

    def greater(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.builder.fcmp_ordered(">", a, b)

    def greater_equal(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.builder.fcmp_ordered(">=", a, b)

    def equal(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.builder.fcmp_ordered("==", a, b)

    def is_nan(self, a: ir.Value) -> ir.Value:
        return self.builder.fcmp_unordered("uno", a, a)

    def is_inf(self, a: ir.Value) -> ir.Value:
        return self.equal(self.fabs(a), self.const(float("inf")))

    def sign_bit(self, a: ir.Value) -> ir.Value:
        """True where ``a``'s sign bit is set (-0.0 and negative NaNs included)."""
        return self.builder.icmp_signed("<", self.bits(a), self.int_const(0))

    def select(self, condition: ir.Value, if_true: ir.Value, if_false: ir.Value) -> ir.Value:
        return self.builder.select(condition, if_true, if_false)

    def both(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.builder.and_(a, b)

    def either(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.builder.or_(a, b)

    def clamp(self, a: ir.Value, low: float, high: float) -> ir.Value:
        """``a`` limited to [low, high]; NaN becomes ``high`` (callers that care select the
        NaN back at the end: a NaN must never reach a float-to-integer conversion)."""
        below_high = self.select(self.less(a, self.const(high)), a, self.const(high))
        return self.select(self.greater(below_high, self.const(low)), below_high, self.const(low))

    def clamp_keeping_nan(self, a: ir.Value, low: float, high: float) -> ir.Value:
        """``a`` limited to [low, high], NaN kept (two min/max instructions on x86)."""
        below_high = self.select(self.greater(a, self.const(high)), self.const(high), a)
        return self.select(self.less(below_high, self.const(low)), self.const(low), below_high)

    def nearest_integer(self, a: ir.Value, factor: float) -> tuple[ir.Value, ir.Value]:
        """``a * factor`` rounded to the nearest integer (ties to even; the product is not
        rounded first) as (float, integer), for |a * factor| < 2**(mantissa bits - 2):
        adding 1.5 * 2**mantissa_bits rounds it into the low bits of the sum, where the
        integer is read without a conversion."""
        shifter = self.const(1.5 * 2.0**self.mantissa_bits)
        shifted = self.fma(a, self.const(factor), shifter)
        rounded = self.sub(shifted, shifter)
        integer = self.builder.sub(self.bits(shifted), self.bits(shifter))
        return rounded, integer

    # ------------------------------------------------------------------ bit patterns
    def bits(self, a: ir.Value) -> ir.Value:
        return self.builder.bitcast(a, self.int_type)

    def from_bits(self, a: ir.Value) -> ir.Value:
        return self.builder.bitcast(a, self.float_type)

    def to_int(self, a: ir.Value) -> ir.Value:
        """An integral float (no NaN, in the integer range) as a signed integer."""
        return self.builder.fptosi(a, self.int_type)

    def to_float(self, a: ir.Value) -> ir.Value:
        return self.builder.sitofp(a, self.float_type)

    def power_of_two(self, exponent: ir.Value) -> ir.Value:
        """``2**exponent`` for an integer exponent in the normal range of the dtype."""
        biased = self.builder.add(exponent, self.int_const(self.exponent_bias))
        return self.from_bits(self.builder.shl(biased, self.int_const(self.mantissa_bits)))

    def scale(self, a: ir.Value, exponent: ir.Value) -> ir.Value:
        """``a * 2**exponent`` rounded once, for any exponent that keeps ``a * 2**(e/2)``
        normal (|exponent| up to about twice the exponent range): the factor is applied
        in two halves so that each is a normal power of two and an overflow or a
        subnormal result is rounded only by the last multiplication."""
        half = self.builder.ashr(exponent, self.int_const(1))
        rest = self.builder.sub(exponent, half)
        return self.mul(self.mul(a, self.power_of_two(half)), self.power_of_two(rest))

    def exponent_and_mantissa(self, a: ir.Value) -> tuple[ir.Value, ir.Value]:
        """For a positive normal ``a``: integer ``e`` and ``m`` in [1, 2) with a = m * 2**e."""
        bits = self.bits(a)
        biased = self.builder.lshr(bits, self.int_const(self.mantissa_bits))
        exponent = self.builder.sub(biased, self.int_const(self.exponent_bias))
        mantissa_mask = (1 << self.mantissa_bits) - 1
        one_bits = self.exponent_bias << self.mantissa_bits
        mantissa_bits = self.builder.or_(
            self.builder.and_(bits, self.int_const(mantissa_mask)), self.int_const(one_bits)
        )
        return exponent, self.from_bits(mantissa_bits)

    # ------------------------------------------------------------------ polynomials
    def polynomial(self, x: ir.Value, coefficients: Sequence[float]) -> ir.Value:
        """``sum(c[i] * x**i)`` by Horner's rule with fused multiply-adds."""
        result: ir.Value = self.const(coefficients[-1])
        for coefficient in reversed(coefficients[:-1]):
            result = self.fma(result, x, self.const(coefficient))
        return result

    def polynomial_estrin(self, x: ir.Value, coefficients: Sequence[float]) -> ir.Value:
        """The same polynomial by Estrin's scheme: pairs ``c[2i] + c[2i+1] x`` combined
        with x**2, x**4, ...; shorter dependency chains than Horner (more instruction-level
        parallelism) at a slightly larger rounding error: for the tail of a polynomial."""
        terms: list[ir.Value] = []
        for index in range(0, len(coefficients), 2):
            if index + 1 < len(coefficients):
                pair = self.fma(
                    self.const(coefficients[index + 1]), x, self.const(coefficients[index])
                )
            else:
                pair = self.const(coefficients[index])
            terms.append(pair)
        power = self.mul(x, x)
        while len(terms) > 1:
            combined = [
                self.fma(terms[i + 1], power, terms[i]) if i + 1 < len(terms) else terms[i]
                for i in range(0, len(terms), 2)
            ]
            terms = combined
            if len(terms) > 1:
                power = self.mul(power, power)
        return terms[0]

    # ------------------------------------------------------------------ double-double
    def two_sum(self, a: ir.Value, b: ir.Value) -> DoubleDouble:
        """``a + b`` exactly as (rounded sum, rounding error) for any a, b (Knuth)."""
        total = self.add(a, b)
        b_virtual = self.sub(total, a)
        a_virtual = self.sub(total, b_virtual)
        error = self.add(self.sub(a, a_virtual), self.sub(b, b_virtual))
        return total, error

    def fast_two_sum(self, a: ir.Value, b: ir.Value) -> DoubleDouble:
        """``a + b`` exactly as (sum, error), valid when |a| >= |b| or a == 0 (Dekker)."""
        total = self.add(a, b)
        return total, self.sub(b, self.sub(total, a))

    def two_product(self, a: ir.Value, b: ir.Value) -> DoubleDouble:
        """``a * b`` exactly as (rounded product, rounding error), barring underflow."""
        product = self.mul(a, b)
        return product, self.fma(a, b, self.neg(product))
