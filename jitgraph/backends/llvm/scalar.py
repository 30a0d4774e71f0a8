"""The LLVM lowering of every entry of THE elementwise table (jitgraph/ops/scalar.py).

Importing this module sets each ``ScalarOp``'s ``llvm`` field to a lowering

    lower(builder, args, compute_dtypes, out_dtype) -> ir.Value

where ``args`` are register values (types.py) already cast to the op's compute dtypes
(``op.dtype_rule``) and the result is a register value of ``out_dtype``. The semantics are
the NumPy reference ``op.impl`` on those compute dtypes followed by ``astype(out_dtype)``:
integers wrap; floor_divide/remainder take Python's signs, give 0 for an integer division by
zero and wrap INT_MIN // -1 without trapping; float floor_divide/remainder follow npy_divmod
(inf/NaN/-0.0 included); shifts by the bit width or more give 0 (or the sign fill); maximum
and minimum propagate NaN; ordered comparisons with NaN are False (not_equal True); float16
computes in float32 and rounds once, as NumPy's half loops do.

Most lowerings are a ``ByKind``: one emitter per dtype kind, chosen by the (common) compute
dtype. Transcendental functions come from scalar_special (math library, libm or SciPy),
complex arithmetic and functions from scalar_complex. ``lower_instruction`` is the entry point
for code generators.

>>> import llvmlite.ir as ir
>>> from jitgraph.ops.scalar import SCALAR_OPS
>>> module = ir.Module()
>>> function = ir.Function(module, ir.FunctionType(ir.IntType(8), [ir.IntType(8)] * 2), "f")
>>> builder = ir.IRBuilder(function.append_basic_block())
>>> op = SCALAR_OPS["floor_divide"]
>>> value = lower_instruction(builder, op, list(function.args), ("int8", "int8"), "int8")
>>> str(value.type)
'i8'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import llvmlite.ir as ir
import numpy as np

from jitgraph import dtypes
from jitgraph.backends.llvm import types
from jitgraph.backends.llvm.scalar_complex import EMITTERS as COMPLEX_EMITTERS
from jitgraph.backends.llvm.scalar_complex import complex_equal
from jitgraph.backends.llvm.scalar_special import call_math, constant_like, intrinsic
from jitgraph.ops.scalar import SCALAR_OPS, ScalarOp

__all__ = ["LOWERINGS", "ByKind", "Lowering", "lower_instruction"]

Lowering = Callable[[ir.IRBuilder, list[ir.Value], tuple[str, ...], str], ir.Value]
# An emitter computes one op for one dtype kind: (builder, args, dtype) -> natural result.
Emitter = Callable[[ir.IRBuilder, list[ir.Value], str], ir.Value]


def lower_instruction(
    builder: ir.IRBuilder,
    op: ScalarOp,
    args: Sequence[ir.Value],
    compute_dtypes: Sequence[str],
    out_dtype: str,
) -> ir.Value:
    """``op`` applied to ``args`` (already cast to ``compute_dtypes``), as a register value
    of ``out_dtype``. NotImplementedError naming the op when it has no LLVM lowering."""
    if op.llvm is None:
        raise NotImplementedError(f"the scalar op {op.name!r} has no LLVM lowering")
    return op.llvm(builder, list(args), tuple(compute_dtypes), out_dtype)


def _same(dtype: str) -> str:
    return dtype


def _boolean(dtype: str) -> str:
    return "bool"


@dataclasses.dataclass(frozen=True)
class ByKind:
    """A lowering that picks its emitter by the kind ('b', 'i', 'u', 'f', 'c') of the
    compute dtype (the last one: every rule using ByKind gives its value arguments one
    common dtype; ``where``'s first is its bool condition). ``result`` maps that dtype to
    the emitter's natural result dtype, which is then cast to the output dtype. float16
    computes in float32 (NumPy's half loops do the same) unless ``native_half``."""

    emitters: Mapping[str, Emitter]
    result: Callable[[str], str] = _same
    native_half: bool = False

    def __call__(
        self, builder: ir.IRBuilder, args: list[ir.Value], compute: tuple[str, ...], out: str
    ) -> ir.Value:
        dtype = compute[-1]
        if dtype == "float16" and not self.native_half:
            args = [
                types.cast(builder, arg, "float16", "float32") if arg_dtype == "float16" else arg
                for arg, arg_dtype in zip(args, compute, strict=True)
            ]
            dtype = "float32"
        emitter = self.emitters.get(dtypes.kind(dtype))
        if emitter is None:
            raise NotImplementedError(f"no LLVM lowering for compute dtypes {compute}")
        return types.cast(builder, emitter(builder, args, dtype), self.result(dtype), out)


def by_kind(
    *, result: Callable[[str], str] = _same, native_half: bool = False, **emitters: Emitter | None
) -> ByKind:
    """A ByKind from keyword arguments named by kind letters (``iu=`` covers signed and
    unsigned integers); None entries are skipped."""
    table = {kind: emitter for letters, emitter in emitters.items() if emitter for kind in letters}
    return ByKind(table, result, native_half)


def _zero(value: ir.Value) -> ir.Constant:
    return ir.Constant(value.type, 0)


def _identity(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    return args[0]


# ============================================================================ integers
def _integer_division_guard(
    builder: ir.IRBuilder, x: ir.Value, y: ir.Value, dtype: str
) -> tuple[ir.Value, ir.Value]:
    """(divisor safe for sdiv/udiv, y == 0). The unsafe divisors (0, and -1 when
    x is INT_MIN, which traps on x86) become 1: INT_MIN / 1 == INT_MIN is what NumPy
    answers for INT_MIN // -1, and INT_MIN % 1 == 0 its remainder."""
    by_zero = builder.icmp_unsigned("==", y, _zero(y))
    unsafe = by_zero
    if types.is_signed(dtype):
        minimum = types.constant(dtype, np.iinfo(dtype).min)
        overflow = builder.and_(
            builder.icmp_signed("==", x, minimum),
            builder.icmp_signed("==", y, ir.Constant(y.type, -1)),
        )
        unsafe = builder.or_(by_zero, overflow)
    return builder.select(unsafe, ir.Constant(y.type, 1), y), by_zero


def _integer_floor_divide(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """x // y rounded toward -inf; 0 for y == 0 (NumPy 2)."""
    x, y = args
    divisor, by_zero = _integer_division_guard(builder, x, y, dtype)
    if not types.is_signed(dtype):
        return builder.select(by_zero, _zero(x), builder.udiv(x, divisor))
    quotient = builder.sdiv(x, divisor)
    remainder = builder.srem(x, divisor)
    # Truncation rounded toward zero: step down when the exact quotient was negative.
    signs_differ = builder.xor(
        builder.icmp_signed("<", remainder, _zero(x)), builder.icmp_signed("<", divisor, _zero(x))
    )
    inexact = builder.icmp_signed("!=", remainder, _zero(x))
    step = builder.zext(builder.and_(inexact, signs_differ), x.type)
    return builder.select(by_zero, _zero(x), builder.sub(quotient, step))


def _integer_remainder(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """x % y with the divisor's sign (Python); 0 for y == 0 (NumPy 2)."""
    x, y = args
    divisor, by_zero = _integer_division_guard(builder, x, y, dtype)
    if not types.is_signed(dtype):
        return builder.select(by_zero, _zero(x), builder.urem(x, divisor))
    remainder = builder.srem(x, divisor)
    signs_differ = builder.xor(
        builder.icmp_signed("<", remainder, _zero(x)), builder.icmp_signed("<", divisor, _zero(x))
    )
    adjust = builder.and_(builder.icmp_signed("!=", remainder, _zero(x)), signs_differ)
    adjusted = builder.select(adjust, builder.add(remainder, divisor), remainder)
    return builder.select(by_zero, _zero(x), adjusted)


def _integer_power(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """base ** exponent modulo 2**bits (square-and-multiply over every exponent bit, as
    selects: no branches). NumPy raises for a negative exponent; native code cannot, so
    it answers the truncated 1 / base**-exponent: 1 for base 1, +-1 for base -1, else 0."""
    base, exponent = args
    one = ir.Constant(base.type, 1)
    result, power = one, base
    for bit in range(base.type.width):
        bit_set = builder.trunc(builder.lshr(exponent, ir.Constant(exponent.type, bit)), types.I1)
        result = builder.select(bit_set, builder.mul(result, power), result)
        power = builder.mul(power, power)
    if not types.is_signed(dtype):
        return result
    odd = builder.trunc(exponent, types.I1)
    minus_one = ir.Constant(base.type, -1)
    reciprocal = builder.select(
        builder.icmp_signed("==", base, one),
        one,
        builder.select(
            builder.icmp_signed("==", base, minus_one),
            builder.select(odd, minus_one, one),
            _zero(base),
        ),
    )
    return builder.select(builder.icmp_signed("<", exponent, _zero(exponent)), reciprocal, result)


def _integer_absolute(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    (x,) = args
    return builder.select(builder.icmp_signed("<", x, _zero(x)), builder.neg(x), x)


def _integer_sign(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    (x,) = args
    if not types.is_signed(dtype):
        return builder.zext(builder.icmp_unsigned("!=", x, _zero(x)), x.type)
    positive = builder.zext(builder.icmp_signed(">", x, _zero(x)), x.type)
    negative = builder.zext(builder.icmp_signed("<", x, _zero(x)), x.type)
    return builder.sub(positive, negative)


def _left_shift(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """x << n, 0 when n (as unsigned) >= the bit width (LLVM's shl would be poison)."""
    x, amount = args
    in_range = builder.icmp_unsigned("<", amount, ir.Constant(x.type, x.type.width))
    return builder.select(in_range, builder.shl(x, amount), _zero(x))


def _right_shift(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """x >> n (arithmetic for signed); for n >= the bit width, the sign fill (-1 for a
    negative signed x) or 0."""
    x, amount = args
    width = ir.Constant(x.type, x.type.width)
    in_range = builder.icmp_unsigned("<", amount, width)
    if types.is_signed(dtype):
        fill = builder.ashr(x, ir.Constant(x.type, x.type.width - 1))
        return builder.select(in_range, builder.ashr(x, amount), fill)
    return builder.select(in_range, builder.lshr(x, amount), _zero(x))


def _compare(
    builder: ir.IRBuilder, predicate: str, x: ir.Value, y: ir.Value, dtype: str
) -> ir.Value:
    """``x predicate y`` for two values of the real dtype ``dtype`` (NaN: only != holds)."""
    kind = dtypes.kind(dtype)
    if kind == "f":
        compare = builder.fcmp_unordered if predicate == "!=" else builder.fcmp_ordered
        return compare(predicate, x, y)
    if kind == "i":
        return builder.icmp_signed(predicate, x, y)
    return builder.icmp_unsigned(predicate, x, y)


def _extremum(predicate: str) -> Emitter:
    """maximum (">") / minimum ("<") of integers: the winner, else the second argument."""

    def emit(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
        x, y = args
        return builder.select(_compare(builder, predicate, x, y, dtype), x, y)

    return emit


def _float_extremum(predicate: str) -> Emitter:
    """NumPy's float maximum (">") / minimum ("<"): ``x if x > y or isnan(x) else y``, so
    NaN propagates and of two equal zeros the second argument wins; NumPy's float16 loops
    compare with ``>=`` / ``<=`` (the first wins), and so does float16 here."""

    def emit(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
        x, y = args
        compare = predicate + "=" if dtype == "float16" else predicate
        wins = builder.or_(builder.fcmp_ordered(compare, x, y), builder.fcmp_unordered("uno", x, x))
        return builder.select(wins, x, y)

    return emit


def _clip(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """Theano's clip: low if x < low, else high if x > high, else x."""
    x, low, high = args
    clipped_high = builder.select(_compare(builder, ">", x, high, dtype), high, x)
    return builder.select(_compare(builder, "<", x, low, dtype), low, clipped_high)


# ============================================================================ floats
def _float_divmod(builder: ir.IRBuilder, a: ir.Value, b: ir.Value) -> tuple[ir.Value, ir.Value]:
    """npy_divmod for b != 0: (floor quotient, remainder with b's sign), as selects."""
    zero, one = constant_like(a, 0.0), constant_like(a, 1.0)
    modulus = builder.frem(a, b)  # C's fmod
    quotient = builder.fdiv(builder.fsub(a, modulus), b)
    modulus_nonzero = builder.fcmp_unordered("!=", modulus, zero)  # C's `if (mod)`: NaN too
    signs_differ = builder.xor(
        builder.fcmp_ordered("<", b, zero), builder.fcmp_ordered("<", modulus, zero)
    )
    adjust = builder.and_(modulus_nonzero, signs_differ)
    quotient = builder.select(adjust, builder.fsub(quotient, one), quotient)
    modulus = builder.select(adjust, builder.fadd(modulus, b), modulus)
    modulus = builder.select(modulus_nonzero, modulus, intrinsic(builder, "copysign", [zero, b]))
    # Snap the quotient to the nearest integer (a - mod is nearly a multiple of b).
    floor = intrinsic(builder, "floor", [quotient])
    above_half = builder.fcmp_ordered(">", builder.fsub(quotient, floor), constant_like(a, 0.5))
    floor = builder.select(above_half, builder.fadd(floor, one), floor)
    signed_zero = intrinsic(builder, "copysign", [zero, builder.fdiv(a, b)])
    quotient_nonzero = builder.fcmp_unordered("!=", quotient, zero)
    return builder.select(quotient_nonzero, floor, signed_zero), modulus


def _float_floor_divide(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """npy_floor_divide: a / b when b == 0 (inf or NaN), else npy_divmod's quotient."""
    a, b = args
    by_zero = builder.fcmp_ordered("==", b, constant_like(b, 0.0))
    return builder.select(by_zero, builder.fdiv(a, b), _float_divmod(builder, a, b)[0])


def _float_remainder(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """npy_remainder: fmod(a, b) (NaN) when b == 0, else npy_divmod's remainder."""
    a, b = args
    by_zero = builder.fcmp_ordered("==", b, constant_like(b, 0.0))
    return builder.select(by_zero, builder.frem(a, b), _float_divmod(builder, a, b)[1])


def _float_sign(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """1, -1, +0 for either zero, NaN for NaN."""
    (x,) = args
    zero = constant_like(x, 0.0)
    result = builder.select(builder.fcmp_ordered("==", x, zero), zero, x)
    result = builder.select(builder.fcmp_ordered("<", x, zero), constant_like(x, -1.0), result)
    return builder.select(builder.fcmp_ordered(">", x, zero), constant_like(x, 1.0), result)


def _next_after(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """C's nextafter on the bit pattern (any float width): one ulp from x toward y; y when
    x == y (x for float16, as npy_half_nextafter); the smallest subnormal with y's sign
    from a zero; NaN when either is NaN."""
    x, y = args
    integer_type = ir.IntType(_float_bits(x.type))
    bits = builder.bitcast(x, integer_type)
    zero = ir.Constant(x.type, 0.0)
    # The magnitude grows when moving toward y points away from zero.
    grows = builder.xor(builder.fcmp_ordered("<", x, y), builder.fcmp_ordered("<", x, zero))
    step = builder.select(grows, ir.Constant(integer_type, 1), ir.Constant(integer_type, -1))
    result = builder.bitcast(builder.add(bits, step), x.type)
    sign_mask = ir.Constant(integer_type, 1 << (integer_type.width - 1))
    y_sign = builder.and_(builder.bitcast(y, integer_type), sign_mask)
    smallest = builder.bitcast(builder.or_(y_sign, ir.Constant(integer_type, 1)), x.type)
    result = builder.select(builder.fcmp_ordered("==", x, zero), smallest, result)
    equal_result = x if dtype == "float16" else y
    result = builder.select(builder.fcmp_ordered("==", x, y), equal_result, result)
    return builder.select(builder.fcmp_unordered("uno", x, y), builder.fadd(x, y), result)


def _float_bits(float_type: ir.Type) -> int:
    return {"half": 16, "float": 32, "double": 64}[str(float_type)]


def _scale(numerator: float, denominator: float) -> Emitter:
    """x * (numerator / denominator), the factor divided in the dtype as NumPy's C source
    writes it (``180.0f / NPY_PIf`` for float32): NumPy's deg2rad/rad2deg."""

    def emit(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
        scalar_type = np.dtype(dtype).type
        factor = scalar_type(numerator) / scalar_type(denominator)
        return builder.fmul(args[0], types.constant(dtype, factor))

    return emit


def _float_angle(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """np.angle of a real x: arctan2(0, x) = pi for a negative x or -0.0, else 0; NaN."""
    (x,) = args
    negative = builder.fcmp_ordered(
        "<", intrinsic(builder, "copysign", [constant_like(x, 1.0), x]), constant_like(x, 0.0)
    )
    angle = builder.select(negative, types.constant(dtype, np.pi), constant_like(x, 0.0))
    return builder.select(builder.fcmp_unordered("uno", x, x), x, angle)


def _intrinsic(name: str) -> Emitter:
    def emit(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
        return intrinsic(builder, name, args)

    return emit


def _math(name: str) -> Emitter:
    def emit(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
        return call_math(builder, name, args, dtype)

    return emit


def _is_nan(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    return builder.fcmp_unordered("uno", args[0], args[0])


def _is_inf(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    magnitude = intrinsic(builder, "fabs", args)
    return builder.fcmp_ordered("==", magnitude, constant_like(args[0], float("inf")))


def _is_finite(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    magnitude = intrinsic(builder, "fabs", args)
    return builder.fcmp_ordered("<", magnitude, constant_like(args[0], float("inf")))


def _constant(value: bool) -> Emitter:
    """A predicate that integers answer without looking (isnan: False, ...)."""

    def emit(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
        return types.I1(int(value))

    return emit


def _zero_of(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    return types.constant(dtype, 0)


# ============================================================================ mixed-dtype ops
def _comparison(predicate: str) -> Lowering:
    """A comparison of two values of possibly different dtypes, as NumPy compares them:
    signed with unsigned integers exactly, everything else in the promoted dtype."""

    def lower(
        builder: ir.IRBuilder, args: list[ir.Value], compute: tuple[str, ...], out: str
    ) -> ir.Value:
        return types.cast(builder, _compare_mixed(builder, predicate, args, compute), "bool", out)

    return lower


def _compare_mixed(
    builder: ir.IRBuilder, predicate: str, args: list[ir.Value], compute: tuple[str, ...]
) -> ir.Value:
    (x, y), (x_dtype, y_dtype) = args, compute
    kinds = {dtypes.kind(x_dtype), dtypes.kind(y_dtype)}
    if kinds == {"i", "u"}:
        # One more bit than the wider operand holds both exactly.
        wide = ir.IntType(max(x.type.width, y.type.width) + 1)
        x, y = (
            (builder.sext if types.is_signed(dtype) else builder.zext)(value, wide)
            for value, dtype in ((x, x_dtype), (y, y_dtype))
        )
        return builder.icmp_signed(predicate, x, y)
    common = np.promote_types(x_dtype, y_dtype).name
    if common == "float16":
        common = "float32"  # exact: every float16 is a float32
    x, y = types.cast(builder, x, x_dtype, common), types.cast(builder, y, y_dtype, common)
    if dtypes.is_complex(common):
        if predicate not in ("==", "!="):
            raise NotImplementedError(f"complex numbers have no order ({predicate})")
        equal = complex_equal(builder, x, y)
        return equal if predicate == "==" else builder.not_(equal)
    return _compare(builder, predicate, x, y, common)


def _logical(combine: Callable[[ir.IRBuilder, ir.Value, ir.Value], ir.Value] | None) -> Lowering:
    """A logical op on the truth values of its arguments (any dtypes: non-zero is True,
    NaN is True, a complex number is True when either part is); ``combine`` None is not."""

    def lower(
        builder: ir.IRBuilder, args: list[ir.Value], compute: tuple[str, ...], out: str
    ) -> ir.Value:
        truths = [types.cast(builder, arg, dtype, "bool") for arg, dtype in zip(args, compute)]
        value = builder.not_(truths[0]) if combine is None else combine(builder, *truths)
        return types.cast(builder, value, "bool", out)

    return lower


def _cast(
    builder: ir.IRBuilder, args: list[ir.Value], compute: tuple[str, ...], out: str
) -> ir.Value:
    """A conversion: NumPy's astype (types.cast)."""
    return types.cast(builder, args[0], compute[0], out)


def _make_complex(
    builder: ir.IRBuilder, args: list[ir.Value], compute: tuple[str, ...], out: str
) -> ir.Value:
    """complex(real, imag) assembled part by part (no arithmetic on the parts)."""
    part = compute[0]
    complex_dtype = "complex128" if part == "float64" else "complex64"
    real, imag = (types.cast(builder, arg, dtype, part) for arg, dtype in zip(args, compute))
    return types.cast(
        builder, types.make_complex(builder, real, imag, complex_dtype), complex_dtype, out
    )


def _where(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    return builder.select(*args)


# ============================================================================ the table
_C = COMPLEX_EMITTERS
_real = dtypes.complex_to_real


def _binary(operation: Callable[[ir.IRBuilder, ir.Value, ir.Value], ir.Value]) -> Emitter:
    """An emitter applying one IRBuilder instruction to the two arguments."""

    def emit(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
        return operation(builder, *args)

    return emit


def _unary(operation: Callable[[ir.IRBuilder, ir.Value], ir.Value]) -> Emitter:
    """An emitter applying one IRBuilder instruction to the argument."""

    def emit(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
        return operation(builder, args[0])

    return emit


_or, _and, _xor = (_binary(op) for op in (ir.IRBuilder.or_, ir.IRBuilder.and_, ir.IRBuilder.xor))
_add, _subtract, _multiply = (
    _binary(op) for op in (ir.IRBuilder.add, ir.IRBuilder.sub, ir.IRBuilder.mul)
)
_fadd, _fsub, _fmul, _fdiv = (
    _binary(op)
    for op in (ir.IRBuilder.fadd, ir.IRBuilder.fsub, ir.IRBuilder.fmul, ir.IRBuilder.fdiv)
)


def _function(name: str) -> ByKind:
    """A float function from scalar_special, with its complex counterpart if any."""
    return by_kind(f=_math(name), c=_C.get(name))


def _reciprocal(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    return builder.fdiv(constant_like(args[0], 1.0), args[0])


def _square(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    return builder.fmul(args[0], args[0])


def _integer_square(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    return builder.mul(args[0], args[0])


_ARITHMETIC: dict[str, Lowering] = {
    "add": by_kind(b=_or, iu=_add, f=_fadd, c=_C["add"]),  # bool + bool is or
    "subtract": by_kind(iu=_subtract, f=_fsub, c=_C["subtract"]),
    "multiply": by_kind(b=_and, iu=_multiply, f=_fmul, c=_C["multiply"]),
    "true_divide": by_kind(f=_fdiv, c=_C["true_divide"]),
    "floor_divide": by_kind(iu=_integer_floor_divide, f=_float_floor_divide),
    "remainder": by_kind(iu=_integer_remainder, f=_float_remainder),
    "power": by_kind(iu=_integer_power, f=_math("power"), c=_C["power"]),
    "negative": by_kind(iu=_unary(ir.IRBuilder.neg), f=_unary(ir.IRBuilder.fneg), c=_C["negative"]),
    "absolute": by_kind(
        b=_identity,
        i=_integer_absolute,
        u=_identity,
        f=_intrinsic("fabs"),
        c=_C["absolute"],
        result=_real,
    ),
    "sign": by_kind(iu=_integer_sign, f=_float_sign),
    "square": by_kind(b=_identity, iu=_integer_square, f=_square, c=_C["square"]),
    "sqrt": by_kind(f=_intrinsic("sqrt"), c=_C["sqrt"]),
    "reciprocal": by_kind(f=_reciprocal, c=_C["reciprocal"]),
    "maximum": by_kind(b=_or, iu=_extremum(">"), f=_float_extremum(">"), native_half=True),
    "minimum": by_kind(b=_and, iu=_extremum("<"), f=_float_extremum("<"), native_half=True),
    "clip": by_kind(biuf=_clip),
    "copysign": by_kind(f=_intrinsic("copysign")),
    "nextafter": by_kind(f=_next_after, native_half=True),
    "hypot": _function("hypot"),
    "deg2rad": by_kind(f=_scale(np.pi, 180.0)),
    "rad2deg": by_kind(f=_scale(180.0, np.pi)),
}
_FUNCTIONS: dict[str, Lowering] = {
    name: _function(name)
    for name in (
        "exp",
        "exp2",
        "expm1",
        "log",
        "log2",
        "log10",
        "log1p",
        "sigmoid",
        "softplus",
        "sin",
        "cos",
        "tan",
        "arcsin",
        "arccos",
        "arctan",
        "arctan2",
        "sinh",
        "cosh",
        "tanh",
        "arcsinh",
        "arccosh",
        "arctanh",
        "erf",
        "erfc",
        "erfinv",
        "erfcinv",
        "gamma",
        "gammaln",
        "psi",
    )
}
# polygamma rounds n + 1 to float16 before widening, as SciPy's steps on float16 do.
_FUNCTIONS["polygamma"] = by_kind(f=_math("polygamma"), native_half=True)
_ROUNDING: dict[str, Lowering] = {
    "floor": by_kind(f=_intrinsic("floor")),
    "ceil": by_kind(f=_intrinsic("ceil")),
    "trunc": by_kind(f=_intrinsic("trunc")),
    "rint": by_kind(f=_intrinsic("roundeven")),  # half to even, whatever the rounding mode
    "round_half_away_from_zero": by_kind(f=_intrinsic("round")),
}
_COMPARISONS: dict[str, Lowering] = {
    "less": _comparison("<"),
    "less_equal": _comparison("<="),
    "greater": _comparison(">"),
    "greater_equal": _comparison(">="),
    "equal": _comparison("=="),
    "not_equal": _comparison("!="),
}
_BITS_AND_LOGIC: dict[str, Lowering] = {
    "bitwise_and": by_kind(biu=_and),
    "bitwise_or": by_kind(biu=_or),
    "bitwise_xor": by_kind(biu=_xor),
    "invert": by_kind(biu=_unary(ir.IRBuilder.not_)),  # bool: logical not
    "left_shift": by_kind(iu=_left_shift),
    "right_shift": by_kind(iu=_right_shift),
    "logical_and": _logical(ir.IRBuilder.and_),
    "logical_or": _logical(ir.IRBuilder.or_),
    "logical_xor": _logical(ir.IRBuilder.xor),
    "logical_not": _logical(None),
    "isnan": by_kind(biu=_constant(False), f=_is_nan, c=_C["isnan"], result=_boolean),
    "isinf": by_kind(biu=_constant(False), f=_is_inf, c=_C["isinf"], result=_boolean),
    "isfinite": by_kind(biu=_constant(True), f=_is_finite, c=_C["isfinite"], result=_boolean),
    "where": by_kind(biufc=_where, native_half=True),
}
_COMPLEX_PARTS: dict[str, Lowering] = {
    "real": by_kind(biuf=_identity, c=_C["real"], result=_real, native_half=True),
    "imag": by_kind(biuf=_zero_of, c=_C["imag"], result=_real, native_half=True),
    "conj": by_kind(iuf=_identity, c=_C["conj"], native_half=True),
    "angle": by_kind(f=_float_angle, c=_C["angle"], result=_real),
    "complex": _make_complex,
}
_CASTS: dict[str, Lowering] = {f"cast_{target}": _cast for target in dtypes.ALL}

LOWERINGS: dict[str, Lowering] = {
    **_ARITHMETIC,
    **_FUNCTIONS,
    **_ROUNDING,
    **_COMPARISONS,
    **_BITS_AND_LOGIC,
    **_COMPLEX_PARTS,
    **_CASTS,
}


def _register() -> None:
    """Set every table entry's ``llvm`` field (once, at import). A table entry without a
    lowering, or a lowering without an entry, is an import error: adding an op to the
    table must add its lowering here."""
    missing = sorted(set(SCALAR_OPS) - set(LOWERINGS))
    unknown = sorted(set(LOWERINGS) - set(SCALAR_OPS))
    if missing or unknown:
        raise ImportError(
            f"LLVM scalar lowerings out of step with SCALAR_OPS: no lowering for {missing}, "
            f"lowerings of unknown ops {unknown}"
        )
    for name, op in SCALAR_OPS.items():
        object.__setattr__(op, "llvm", LOWERINGS[name])  # ScalarOp is frozen


_register()
