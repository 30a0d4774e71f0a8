"""The error function and its complement: erf, erfc.

|x| < 1/2: erf(x) = x + x E(x**2) (E a polynomial, E(0) = 2/sqrt(pi) - 1), and
erfc(x) = 1 - erf(x) summed error-free. |x| >= 1/2: erfc(x) = exp(-x**2) g(x) where
g(x) = erfc(x) exp(x**2) is smooth and slowly varying; it is approximated piecewise
(``mathlib_fit.ERFC_PIECES``: six pieces on [1/2, 28], in x near 1 and in 1/x beyond), the
piece's coefficients picked per element by selects (no table, no gather). x**2 is a
double-double, exp(-x**2) is scaled by 2**k only after the multiplication by g, so that
subnormal results are rounded once. erf(x) = 1 - erfc(x) there, erfc(-x) = 2 - erfc(x).
"""

from __future__ import annotations

import llvmlite.ir as ir

from jitgraph.backends.llvm.mathlib_coefficients import COEFFICIENTS, CONSTANT_LOWS
from jitgraph.backends.llvm.mathlib_emit import Emitter, MathFunction
from jitgraph.backends.llvm.mathlib_exp import EXP_LOW, exp_reduced
from jitgraph.backends.llvm.mathlib_fit import ERFC_PIECES, erfc_piece_center

__all__ = ["DEFINITIONS"]

SMALL = 0.5  # below: the erf polynomial; above: the erfc pieces


def _erf_small(emit: Emitter, x: ir.Value, precision: str) -> ir.Value:
    """erf(x) - x for |x| <= 1/2 (x E(x**2)); erf(x) = x + this is rounded once."""
    tail = emit.polynomial(emit.mul(x, x), COEFFICIENTS[f"erf_{precision}"])
    return emit.mul(x, tail)


def _erfc_large(emit: Emitter, a: ir.Value, precision: str) -> ir.Value:
    """erfc(a) for a >= 1/2 (not NaN): exp(-a**2) g(a), 0 once it underflows; the
    product is formed in double-double and rounded once (when scaled by 2**k)."""
    a = emit.select(emit.less(a, emit.const(28.0)), a, emit.const(28.0))
    reciprocal = emit.div(emit.const(1.0), a)
    scaled, scaled_low = _scaled_complement(emit, a, reciprocal, precision)
    # On the 1/x pieces, divide by a: multiply by 1/a as a double-double.
    in_x = emit.less(a, emit.const(ERFC_PIECES[1][1]))
    divisor = emit.select(in_x, emit.const(1.0), a)
    inverse = emit.select(in_x, emit.const(1.0), reciprocal)
    inverse_low = emit.mul(emit.fma(emit.neg(inverse), divisor, emit.const(1.0)), inverse)
    square, square_error = emit.two_product(a, a)
    argument = emit.select(
        emit.greater(square, emit.const(-EXP_LOW["f64"])),
        emit.const(EXP_LOW["f64"]),
        emit.neg(square),
    )
    (value, value_low), k = exp_reduced(emit, argument, emit.neg(square_error), precision)
    product, product_error = emit.two_product(value, scaled)
    product_error = emit.fma(value_low, scaled, emit.fma(value, scaled_low, product_error))
    result, result_error = emit.two_product(product, inverse)
    result_error = emit.fma(product, inverse_low, emit.fma(product_error, inverse, result_error))
    return emit.scale(emit.add(result, result_error), k)


def _scaled_complement(
    emit: Emitter, a: ir.Value, reciprocal: ir.Value, precision: str
) -> tuple[ir.Value, ir.Value]:
    """g(a) = erfc(a) exp(a**2) on the x pieces, a g(a) on the 1/x pieces, as a
    double-double: the piece's polynomial, its coefficients selected per element."""
    pieces = [
        (emit.less(a, emit.const(high)), erfc_piece_center(low, high, inverse), inverse, index)
        for index, (low, high, inverse) in enumerate(ERFC_PIECES)
    ]
    # Select the piece from the last one backwards: the first piece whose upper bound
    # exceeds a wins. Coefficient 0 is carried as a double-double (high, low).
    last = f"erfc{len(pieces) - 1}_{precision}"
    variable = emit.sub(reciprocal, emit.const(pieces[-1][1]))
    coefficients = [emit.const(c) for c in (CONSTANT_LOWS[last], *COEFFICIENTS[last])]
    for below, center, inverse, index in reversed(pieces[:-1]):
        raw = reciprocal if inverse else a
        variable = emit.select(below, emit.sub(raw, emit.const(center)), variable)
        name = f"erfc{index}_{precision}"
        coefficients = [
            emit.select(below, emit.const(c), current)
            for c, current in zip(
                (CONSTANT_LOWS[name], *COEFFICIENTS[name]), coefficients, strict=True
            )
        ]
    constant_low, constant, *rest = coefficients
    inner = rest[-1]
    for coefficient in reversed(rest[:-1]):
        inner = emit.fma(inner, variable, coefficient)
    # constant + variable inner as a double-double.
    linear, linear_error = emit.two_product(variable, inner)
    scaled, scaled_error = emit.fast_two_sum(constant, linear)
    return scaled, emit.add(scaled_error, emit.add(linear_error, constant_low))


def erf_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    (x,) = args
    magnitude = emit.fabs(x)
    small = emit.add(x, _erf_small(emit, x, precision))
    large = emit.sub(emit.const(1.0), _erfc_large(emit, _safe_large(emit, magnitude), precision))
    result = emit.select(emit.less(magnitude, emit.const(SMALL)), small, emit.copysign(large, x))
    return emit.select(emit.is_nan(x), x, result)


def erfc_body(emit: Emitter, args: list[ir.Value], precision: str) -> ir.Value:
    (x,) = args
    magnitude = emit.fabs(x)
    one_minus, one_minus_error = emit.two_sum(emit.const(1.0), emit.neg(x))
    small = emit.add(one_minus, emit.sub(one_minus_error, _erf_small(emit, x, precision)))
    tail = _erfc_large(emit, _safe_large(emit, magnitude), precision)
    large = emit.select(emit.less(x, emit.const(0.0)), emit.sub(emit.const(2.0), tail), tail)
    result = emit.select(emit.less(magnitude, emit.const(SMALL)), small, large)
    return emit.select(emit.is_nan(x), x, result)


def _safe_large(emit: Emitter, magnitude: ir.Value) -> ir.Value:
    """|x| where the erfc pieces apply, 1 elsewhere (small or NaN |x|: their results are
    selected from the other branch)."""
    usable = emit.greater_equal(magnitude, emit.const(SMALL))
    return emit.select(usable, magnitude, emit.const(1.0))


DEFINITIONS = (
    MathFunction("erf", 1, erf_body),
    MathFunction("erfc", 1, erfc_body),
)
