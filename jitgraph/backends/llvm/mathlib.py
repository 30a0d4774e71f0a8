"""A vectorizable math library generated as LLVM IR: no libm, SVML or MKL calls.

``call(builder, "exp", [x], "float64")`` returns ``jg_exp_f64(x)``, defining that function
in the builder's module on first use. Each function is pure IR arithmetic (fadd, fmul,
``llvm.fma``, integer operations on bit patterns, ``select`` instead of branches, and the
``fabs``/``floor``/``rint``/``copysign``/``sqrt`` intrinsics), internal and
``alwaysinline``: once inlined into a loop, the loop vectorizer turns it into vector code.

Algorithms: classic range reduction (Cody-Waite with FMA, exponent/mantissa splitting)
and near-minimax polynomials whose coefficients ``mathlib_fit`` derives (see
``mathlib_coefficients``); double-double arithmetic where a float64 result must be
within 1 ulp. The float32 exp, tanh and sigmoid compute in float32 (twice the SIMD
lanes, within about 1 ulp); the other float32 functions compute in float64 and round
once at the end, which keeps them within about 0.5 ulp. Special values (NaN,
infinities, signed zeros, subnormal arguments and results, overflow and underflow) are
those NumPy gives.

The measured accuracy of every function (max ulp over >= 1e6 arguments against a
higher-precision reference) is in docs/accuracy.md, produced by
``python -m benchmarks.accuracy``.

>>> import llvmlite.ir as ir
>>> module = ir.Module()
>>> function = ir.Function(module, ir.FunctionType(ir.DoubleType(), [ir.DoubleType()]), "f")
>>> builder = ir.IRBuilder(function.append_basic_block())
>>> _ = builder.ret(call(builder, "exp", [function.args[0]], "float64"))
>>> 'define internal double @"jg_exp_f64"' in str(module)
True
"""

from __future__ import annotations

import llvmlite.ir as ir

from jitgraph.backends.llvm import mathlib_erf, mathlib_exp, mathlib_log, mathlib_trig, types
from jitgraph.backends.llvm.mathlib_emit import Emitter, MathFunction

__all__ = ["FUNCTIONS", "call", "symbol"]

_REGISTRY: dict[str, MathFunction] = {
    function.name: function
    for module in (mathlib_exp, mathlib_log, mathlib_trig, mathlib_erf)
    for function in module.DEFINITIONS
}

FUNCTIONS: frozenset[str] = frozenset(_REGISTRY)
"""The names ``call`` accepts (NumPy's names: ``arctan2``, ``log1p``, ...)."""

_SUFFIXES = {"float32": "f32", "float64": "f64"}


def symbol(name: str, dtype: str) -> str:
    """The LLVM name of function ``name`` for ``dtype``: ``jg_exp_f64``."""
    return f"jg_{name}_{_SUFFIXES[dtype]}"


def call(builder: ir.IRBuilder, name: str, args: list[ir.Value], dtype: str) -> ir.Value:
    """``name(*args)`` in ``dtype`` (float32 or float64) at ``builder``: a call of
    ``jg_<name>_<f32|f64>``, defined in ``builder.module`` if it is not there yet.
    NotImplementedError for a name not in FUNCTIONS or another dtype."""
    if name not in _REGISTRY or dtype not in _SUFFIXES:
        raise NotImplementedError(
            f"the LLVM math library has no {name}() for {dtype} "
            f"(it provides {', '.join(sorted(FUNCTIONS))} for float32 and float64)"
        )
    function = _define(builder.module, _REGISTRY[name], dtype)
    if len(args) != len(function.args):
        raise TypeError(f"{name}() takes {len(function.args)} arguments, got {len(args)}")
    return builder.call(function, args)


def _define(module: ir.Module, math_function: MathFunction, dtype: str) -> ir.Function:
    name = symbol(math_function.name, dtype)
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    value_type = types.llvm_type(dtype)
    function_type = ir.FunctionType(value_type, [value_type] * math_function.arity)
    function = ir.Function(module, function_type, name)
    function.linkage = "internal"
    # readnone is what LLVM 16+ spells memory(none): no memory access, so calls can be
    # hoisted, vectorized and removed when unused.
    for attribute in ("alwaysinline", "nounwind", "readnone"):
        function.attributes.add(attribute)
    builder = ir.IRBuilder(function.append_basic_block("entry"))
    args = list(function.args)
    if dtype == "float64" or math_function.native_float32:
        builder.ret(math_function.body(Emitter(builder, dtype), args, _SUFFIXES[dtype]))
        return function
    # The other float32 functions compute in float64: one rounding at the end.
    wide_args = [builder.fpext(arg, types.F64) for arg in args]
    result = math_function.body(Emitter(builder, "float64"), wide_args, "f32")
    builder.ret(builder.fptrunc(result, types.F32))
    return function
