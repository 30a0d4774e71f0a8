"""The CUDA C lowering of every entry of THE elementwise table (jitgraph/ops/scalar.py).

``lower(op, args, compute_dtypes, out_dtype)`` gives a CUDA C expression of ``out_dtype``
computing ``op`` on ``args``, C expressions already of the op's compute dtypes
(``op.dtype_rule``). Semantics are those of the LLVM backend (jitgraph/backends/llvm/scalar.py):
the NumPy reference on the compute dtypes followed by ``astype(out_dtype)``. Integers wrap;
floor_divide/remainder take Python's signs and give 0 for an integer division by zero; integer
powers with a negative exponent give the truncated ``1 // x**-n``; shifts by the bit width or
more give 0 or the sign fill; maximum/minimum propagate NaN; float floor_divide/remainder
follow npy_divmod; float16 computes in float and rounds once (NumPy's half loops do the same).

Every expression has exactly the C type of its dtype (``C_TYPES``): narrow integer arithmetic,
which C promotes to int, is cast back, and signed arithmetic is done in unsigned types (wrapping
without undefined behaviour). Float +, -, * use CUDA's ``__fadd_rn``-style intrinsics, which the
compiler never contracts into an FMA (NumPy does not fuse them either). The helpers the
expressions call (``jg_*``) are ``__device__ __forceinline__`` functions of ``PRELUDE``, which
every translation unit includes once.

Math functions are CUDA's own (``expf`` for float32, ``exp`` for float64). float32 ``gamma``,
``gammaln``, ``psi`` and ``erfcinv`` compute in double and round, as SciPy's float32 loops do;
``psi`` (CUDA has no digamma) is a recurrence and asymptotic series in the prelude; ``hypot``
is glibc's (bit-exact). Complex arithmetic, sqrt, power (ports of glibc's csqrt and cpow with
NumPy's integral-power cases: the table calls sqrt exact), expm1 and log1p compute in the part
precision as NumPy does; the other complex functions compute in complex128 (complex64 rounds):
exp and log are glibc's cexp and clog, the rest textbook formulas written against cancellation
(accurate to ~1e-15 of the result's modulus; infinite/NaN parts not C99's). The C text of the
helpers is jitgraph/backends/cuda/prelude.py.
``polygamma`` has no lowering yet (it needs a Hurwitz zeta): ``lower`` raises
``CudaLoweringError`` naming it (``UNSUPPORTED``).

>>> from jitgraph.ops.scalar import SCALAR_OPS
>>> lower(SCALAR_OPS["add"], ["a", "b"], ("float32", "float32"), "float32")
'__fadd_rn(a, b)'
>>> lower(SCALAR_OPS["floor_divide"], ["a", "b"], ("int8", "int8"), "int8")
'jg_floor_divide(a, b)'
>>> literal(np.float64(-0.0), "float64")
'-0x0.0p+0'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np

from jitgraph import dtypes
from jitgraph.backends.cuda.prelude import (
    C_TYPES,
    COMPLEX_FUNCTION_NAMES,
    COMPLEX_PART,
    MATH_SUFFIX,
    PRELUDE,
    literal,
    wide_unsigned,
)
from jitgraph.ops.scalar import SCALAR_OPS, ScalarOp

__all__ = [
    "C_TYPES",
    "LOWERINGS",
    "PRELUDE",
    "UNSUPPORTED",
    "CudaLoweringError",
    "cast",
    "literal",
    "lower",
]


class CudaLoweringError(NotImplementedError):
    """An op (or a dtype combination of it) that has no CUDA C lowering."""


# Ops that have no CUDA lowering yet (lower raises CudaLoweringError naming them).
UNSUPPORTED = frozenset({"polygamma"})


def cast(expr: str, source: str, target: str) -> str:
    """``expr`` of dtype ``source`` converted to ``target`` as NumPy's ``astype`` (and as
    the LLVM backend's types.cast: bool is != 0, complex to real keeps the real part, float
    to integer gives x86's results for NaN and out-of-range values)."""
    if source == target:
        return expr
    source_kind, target_kind = dtypes.kind(source), dtypes.kind(target)
    if source_kind == "c":
        if target_kind == "c":
            return f"jg_to_{target}({expr})"
        if target == "bool":
            return f"jg_nonzero({expr})"
        return cast(f"({expr}).re", COMPLEX_PART[source], target)
    if target_kind == "c":
        part = COMPLEX_PART[target]
        return f"jg_make({cast(expr, source, part)}, {literal(0, part)})"
    if source == "float16":
        return cast(f"__half2float({expr})", "float32", target)
    if target == "bool":
        return f"(({expr}) != 0)"
    if target == "float16":
        if source == "float64":
            return f"__double2half({expr})"
        return f"__float2half_rn({cast(expr, source, 'float32')})"
    if source_kind == "f" and target_kind in "iu":
        return _float_to_integer(expr, source, target)
    return f"(({C_TYPES[target]})({expr}))"


def _float_to_integer(expr: str, source: str, target: str) -> str:
    # A float16 source arrives here as float32 (every float16 is exact in float32). NumPy
    # converts float16 to uint32 through int64; over float16's range that is the same.
    if target in ("int32", "int64", "uint32", "uint64"):
        return f"jg_x86_{target}((double)({expr}))"
    return f"(({C_TYPES[target]})jg_x86_int32((double)({expr})))"


# ============================================================================ lowering
# An emitter computes one op for one dtype kind: (args, dtype) -> expression of its natural
# result dtype (``ByKind.result``).
Emitter = Callable[[list[str], str], str]
Lowering = Callable[[list[str], tuple[str, ...], str], str]


def _same(dtype: str) -> str:
    return dtype


def _boolean(dtype: str) -> str:
    return "bool"


@dataclasses.dataclass(frozen=True)
class ByKind:
    """A lowering that picks its emitter by the kind of the (last) compute dtype, as the
    LLVM backend's ByKind. float16 computes in float32 unless ``native_half``."""

    emitters: Mapping[str, Emitter]
    result: Callable[[str], str] = _same
    native_half: bool = False

    def __call__(self, args: list[str], compute: tuple[str, ...], out: str) -> str:
        dtype = compute[-1]
        if dtype == "float16" and not self.native_half:
            args = [
                cast(arg, "float16", "float32") if arg_dtype == "float16" else arg
                for arg, arg_dtype in zip(args, compute, strict=True)
            ]
            dtype = "float32"
        emitter = self.emitters.get(dtypes.kind(dtype))
        if emitter is None:
            raise CudaLoweringError(f"no CUDA lowering for compute dtypes {compute}")
        return cast(emitter(args, dtype), self.result(dtype), out)


def by_kind(
    *, result: Callable[[str], str] = _same, native_half: bool = False, **emitters: Emitter | None
) -> ByKind:
    """A ByKind from keyword arguments named by kind letters (``iu=`` covers both)."""
    table = {kind: emitter for letters, emitter in emitters.items() if emitter for kind in letters}
    return ByKind(table, result, native_half)


def lower(op: ScalarOp, args: list[str], compute: tuple[str, ...], out: str) -> str:
    """A CUDA C expression of dtype ``out`` computing ``op`` on ``args`` (C expressions of
    the dtypes ``compute``). CudaLoweringError naming the op if it has no lowering."""
    rule = op.cuda
    if rule is None:
        reason = UNSUPPORTED_REASONS.get(op.name, "it is not in the CUDA lowering table")
        raise CudaLoweringError(f"the scalar op {op.name!r} has no CUDA lowering: {reason}")
    try:
        return rule(list(args), tuple(compute), out)
    except CudaLoweringError as exc:
        raise CudaLoweringError(f"{op.name}{tuple(compute)} -> {out}: {exc}") from None


# ---------------------------------------------------------------------------- emitters
def _call(function: str) -> Emitter:
    """``function(args...)`` (a prelude helper, overloaded on the argument types)."""

    def emit(args: list[str], dtype: str) -> str:
        return f"{function}({', '.join(args)})"

    return emit


def _math(name: str, wide_float32: bool = False) -> Emitter:
    """CUDA's math function ``name`` (``name + "f"`` for float32); ``wide_float32``:
    float32 computes in double and rounds (SciPy's float32 loops do)."""

    def emit(args: list[str], dtype: str) -> str:
        if dtype == "float32" and wide_float32:
            return f"((float){name}({', '.join(f'(double)({a})' for a in args)}))"
        return f"{name}{MATH_SUFFIX[dtype]}({', '.join(args)})"

    return emit


def _infix(symbol: str) -> Emitter:
    """``a symbol b`` in the argument type: integers wrap (computed unsigned), bool stays
    bool, floats use the uncontracted intrinsics."""

    def emit(args: list[str], dtype: str) -> str:
        kind = dtypes.kind(dtype)
        if kind == "f":
            intrinsic = {"+": "add", "-": "sub", "*": "mul", "/": "div"}[symbol]
            return f"__{dtype[5:] == '32' and 'f' or 'd'}{intrinsic}_rn({', '.join(args)})"
        if kind == "b":
            return f"(({args[0]}) {symbol} ({args[1]}))"
        wide = wide_unsigned(dtype)
        joined = f" {symbol} ".join(f"({wide})({arg})" for arg in args)
        return f"(({C_TYPES[dtype]})({joined}))"

    return emit


def _negate(args: list[str], dtype: str) -> str:
    if dtypes.kind(dtype) == "f":
        return f"(-({args[0]}))"
    return f"(({C_TYPES[dtype]})(0u - ({wide_unsigned(dtype)})({args[0]})))"


def _integer_sign(args: list[str], dtype: str) -> str:
    (x,) = args
    if dtypes.kind(dtype) == "u":
        return f"(({C_TYPES[dtype]})(({x}) != 0))"
    return f"(({C_TYPES[dtype]})((({x}) > 0) - (({x}) < 0)))"


def _square(args: list[str], dtype: str) -> str:
    return _infix("*")([args[0], args[0]], dtype)


def _reciprocal(args: list[str], dtype: str) -> str:
    return f"({literal(1, dtype)} / ({args[0]}))"


def _identity(args: list[str], dtype: str) -> str:
    return args[0]


def _zero_of(args: list[str], dtype: str) -> str:
    return literal(0, dtype)


def _constant(value: bool) -> Emitter:
    def emit(args: list[str], dtype: str) -> str:
        return "true" if value else "false"

    return emit


def _scale(numerator: float, denominator: float) -> Emitter:
    """x * (numerator / denominator) with the factor divided in the dtype (NumPy's C)."""

    def emit(args: list[str], dtype: str) -> str:
        scalar_type = np.dtype(dtype).type
        factor = scalar_type(numerator) / scalar_type(denominator)
        return _infix("*")([args[0], literal(factor, dtype)], dtype)

    return emit


def _clip(args: list[str], dtype: str) -> str:
    """Theano's clip: low if x < low, else high if x > high, else x."""
    x, low, high = args
    return f"(({x}) < ({low}) ? ({low}) : ({x}) > ({high}) ? ({high}) : ({x}))"


def _where(args: list[str], dtype: str) -> str:
    condition, then, other = args
    return f"(({condition}) ? ({then}) : ({other}))"


def _is_nan(args: list[str], dtype: str) -> str:
    return f"(({args[0]}) != ({args[0]}))"


def _is_inf(args: list[str], dtype: str) -> str:
    return f"(fabs{MATH_SUFFIX[dtype]}({args[0]}) == {literal(np.inf, dtype)})"


def _is_finite(args: list[str], dtype: str) -> str:
    return f"(fabs{MATH_SUFFIX[dtype]}({args[0]}) < {literal(np.inf, dtype)})"


def _complex_predicate(test: Emitter, both: bool) -> Emitter:
    """A predicate of the parts, or-ed (``both``: and-ed), as NumPy's npy_isnan..."""

    def emit(args: list[str], dtype: str) -> str:
        part = COMPLEX_PART[dtype]
        real, imag = test([f"({args[0]}).re"], part), test([f"({args[0]}).im"], part)
        return f"({real} {'&&' if both else '||'} {imag})"

    return emit


def _part(name: str) -> Emitter:
    def emit(args: list[str], dtype: str) -> str:
        return f"({args[0]}).{name}"

    return emit


def _scaled_complex(function: str, factor: float, before: bool) -> Emitter:
    """NumPy's complex exp2 (exp of z * ln 2) and log2/log10 (log(z) * factor): each part
    scaled by the factor rounded to the part dtype."""

    def emit(args: list[str], dtype: str) -> str:
        constant = literal(factor, COMPLEX_PART[dtype])
        if before:
            return f"jg_{function}(jg_scale({args[0]}, {constant}))"
        return f"jg_scale(jg_{function}({args[0]}), {constant})"

    return emit


def _function(name: str, *, wide_float32: bool = False, complex_: bool = True) -> ByKind:
    """A float function (CUDA's ``name`` for floats), with its complex counterpart."""
    return by_kind(
        f=_math(_CUDA_NAMES.get(name, name), wide_float32),
        c=_call(f"jg_{name}") if complex_ else None,
    )


_CUDA_NAMES = {
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arctan2": "atan2",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "power": "pow",
    "gamma": "tgamma",
    "gammaln": "lgamma",
}


def _gammaln(args: list[str], dtype: str) -> str:
    """SciPy's gammaln(-inf) is -inf (C's lgamma gives +inf); float32 in double."""
    wide = _math("lgamma", wide_float32=True)(args, dtype)
    return f"(({args[0]}) == {literal(-np.inf, dtype)} ? ({args[0]}) : {wide})"


def _erfcinv(args: list[str], dtype: str) -> str:
    """SciPy's erfcinv(y) is -ndtri(y / 2) / sqrt(2): inf where y / 2 underflows to 0 (float64;
    its float32 loop computes in double and rounds)."""
    (y,) = args
    if dtype == "float32":
        return f"((float)erfcinv((double)({y})))"
    half = _infix("*")([y, literal(0.5, dtype)], dtype)
    inf = literal(np.inf, dtype)
    return f"(({y}) > 0 && {half} == 0 ? {inf} : erfcinv({y}))"


def _complex_angle(args: list[str], dtype: str) -> str:
    return f"atan2{MATH_SUFFIX[COMPLEX_PART[dtype]]}(({args[0]}).im, ({args[0]}).re)"


# ---------------------------------------------------------------------------- mixed dtypes
_NEGATIVE_SIGNED_RESULT = {"<": "true", "<=": "true", ">": "false", ">=": "false"}


def _comparison(symbol: str) -> Lowering:
    """A comparison as NumPy compares mixed dtypes: signed with unsigned integers exactly,
    everything else in the promoted dtype (float16 in float32); NaN: only != holds."""

    def lower_comparison(args: list[str], compute: tuple[str, ...], out: str) -> str:
        (x, y), (x_dtype, y_dtype) = args, compute
        kinds = dtypes.kind(x_dtype) + dtypes.kind(y_dtype)
        if kinds in ("iu", "ui"):
            negative = x if kinds == "iu" else y
            outcome = _NEGATIVE_SIGNED_RESULT.get(symbol, "true" if symbol == "!=" else "false")
            if kinds == "ui" and symbol in _NEGATIVE_SIGNED_RESULT:  # y < 0: flip the order
                outcome = "false" if outcome == "true" else "true"
            unsigned = " ".join(
                (f"((unsigned long long)({x}))", symbol, f"((unsigned long long)({y}))")
            )
            return cast(f"(({negative}) < 0 ? {outcome} : {unsigned})", "bool", out)
        common = np.promote_types(x_dtype, y_dtype).name
        common = "float32" if common == "float16" else common
        x, y = cast(x, x_dtype, common), cast(y, y_dtype, common)
        if dtypes.is_complex(common):
            if symbol not in ("==", "!="):
                raise CudaLoweringError(f"complex numbers have no order ({symbol})")
            equal = f"jg_equal({x}, {y})"
            return cast(equal if symbol == "==" else f"(!{equal})", "bool", out)
        return cast(f"(({x}) {symbol} ({y}))", "bool", out)

    return lower_comparison


def _logical(symbol: str | None) -> Lowering:
    """A logical op on the truth values of its arguments (NaN is True; a complex number
    when either part is non-zero); ``symbol`` None is not."""

    def lower_logical(args: list[str], compute: tuple[str, ...], out: str) -> str:
        truths = [cast(arg, dtype, "bool") for arg, dtype in zip(args, compute, strict=True)]
        value = f"(!{truths[0]})" if symbol is None else f"({truths[0]} {symbol} {truths[1]})"
        return cast(value, "bool", out)

    return lower_logical


def _cast(args: list[str], compute: tuple[str, ...], out: str) -> str:
    return cast(args[0], compute[0], out)


def _make_complex(args: list[str], compute: tuple[str, ...], out: str) -> str:
    """complex(real, imag) assembled part by part."""
    part = compute[0]
    complex_dtype = "complex128" if part == "float64" else "complex64"
    real, imag = (cast(arg, dtype, part) for arg, dtype in zip(args, compute, strict=True))
    return cast(f"jg_make({real}, {imag})", complex_dtype, out)


def _bool_infix(symbol: str) -> Emitter:
    """A logical operator on two bools (bool + bool is or, bool * bool is and)."""

    def emit(args: list[str], dtype: str) -> str:
        return f"(({args[0]}) {symbol} ({args[1]}))"

    return emit


_or, _and, _differ = _bool_infix("||"), _bool_infix("&&"), _bool_infix("!=")


# ============================================================================ the table
_LN2, _LOG2_E, _LOG10_E = float(np.log(2.0)), float(np.log2(np.e)), float(np.log10(np.e))
_ARITHMETIC: dict[str, Lowering] = {
    "add": by_kind(b=_or, iuf=_infix("+"),
                   c=_call("jg_add")),  # bool + bool is or
    "subtract": by_kind(iuf=_infix("-"), c=_call("jg_subtract")),
    "multiply": by_kind(b=_and, iuf=_infix("*"),
                        c=_call("jg_multiply")),
    "true_divide": by_kind(f=_infix("/"), c=_call("jg_true_divide")),
    "floor_divide": by_kind(iuf=_call("jg_floor_divide")),
    "remainder": by_kind(iuf=_call("jg_remainder")),
    "power": by_kind(iu=_call("jg_power"), f=_math("pow"), c=_call("jg_power")),
    "negative": by_kind(iuf=_negate, c=_call("jg_negative")),
    "absolute": by_kind(b=_identity, i=_call("jg_absolute"), u=_identity, f=_math("fabs"),
                        c=_call("jg_absolute"), result=dtypes.complex_to_real),
    "sign": by_kind(iu=_integer_sign, f=_call("jg_sign")),
    "square": by_kind(b=_identity, iuf=_square, c=_call("jg_square")),
    "reciprocal": by_kind(f=_reciprocal, c=_call("jg_reciprocal")),
    "maximum": by_kind(b=_or, iu=_call("max"),
                       f=_call("jg_maximum"), native_half=True),
    "minimum": by_kind(b=_and, iu=_call("min"),
                       f=_call("jg_minimum"), native_half=True),
    "clip": by_kind(biuf=_clip),
    "copysign": by_kind(f=_math("copysign")),
    "nextafter": by_kind(f=lambda a, d: _call("jg_nextafter")(a, d) if d == "float16"
                         else _math("nextafter")(a, d), native_half=True),
    "hypot": by_kind(f=_call("jg_hypot")),  # glibc's, bit-exact
    "deg2rad": by_kind(f=_scale(np.pi, 180.0)),
    "rad2deg": by_kind(f=_scale(180.0, np.pi)),
}  # fmt: skip
_FUNCTIONS: dict[str, Lowering] = {
    **{name: _function(name) for name in COMPLEX_FUNCTION_NAMES},
    "sqrt": by_kind(f=_math("sqrt"), c=_call("jg_sqrt")),
    **{name: _function(name, complex_=False) for name in ("arctan2", "erf", "erfc", "erfinv")},
    "exp2": by_kind(f=_math("exp2"), c=_scaled_complex("exp", _LN2, before=True)),
    "expm1": by_kind(f=_math("expm1"), c=_call("jg_expm1")),
    "log2": by_kind(f=_math("log2"), c=_scaled_complex("log", _LOG2_E, before=False)),
    "log10": by_kind(f=_math("log10"), c=_scaled_complex("log", _LOG10_E, before=False)),
    "log1p": by_kind(f=_math("log1p"), c=_call("jg_log1p")),
    "sigmoid": by_kind(f=_call("jg_sigmoid")),
    "softplus": by_kind(f=_call("jg_softplus")),
    "erfcinv": by_kind(f=_erfcinv),
    "gamma": by_kind(f=_math("tgamma", wide_float32=True)),
    "gammaln": by_kind(f=_gammaln),
    "psi": by_kind(f=_math("jg_psi", wide_float32=True)),  # float32 in double, as SciPy
}
_ROUNDING: dict[str, Lowering] = {
    "floor": by_kind(f=_math("floor")),
    "ceil": by_kind(f=_math("ceil")),
    "trunc": by_kind(f=_math("trunc")),
    "rint": by_kind(f=_math("rint")),  # half to even
    "round_half_away_from_zero": by_kind(f=_math("round")),
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
    "bitwise_and": by_kind(b=_and, iu=_infix("&")),
    "bitwise_or": by_kind(b=_or, iu=_infix("|")),
    "bitwise_xor": by_kind(b=_differ, iu=_infix("^")),
    "invert": by_kind(b=lambda a, d: f"(!({a[0]}))", iu=lambda a, d: f"(({C_TYPES[d]})~({a[0]}))"),
    "left_shift": by_kind(iu=_call("jg_left_shift")),
    "right_shift": by_kind(iu=_call("jg_right_shift")),
    "logical_and": _logical("&&"),
    "logical_or": _logical("||"),
    "logical_xor": _logical("!="),
    "logical_not": _logical(None),
    "isnan": by_kind(biu=_constant(False), f=_is_nan, c=_complex_predicate(_is_nan, both=False),
                     result=_boolean),
    "isinf": by_kind(biu=_constant(False), f=_is_inf, c=_complex_predicate(_is_inf, both=False),
                     result=_boolean),
    "isfinite": by_kind(biu=_constant(True), f=_is_finite,
                        c=_complex_predicate(_is_finite, both=True), result=_boolean),
    "where": by_kind(biufc=_where, native_half=True),
}  # fmt: skip
_COMPLEX_PARTS: dict[str, Lowering] = {
    "real": by_kind(biuf=_identity, c=_part("re"), result=dtypes.complex_to_real,
                    native_half=True),
    "imag": by_kind(biuf=_zero_of, c=_part("im"), result=dtypes.complex_to_real,
                    native_half=True),
    "conj": by_kind(iuf=_identity, c=_call("jg_conj"), native_half=True),
    "angle": by_kind(f=_call("jg_angle"), c=_complex_angle, result=dtypes.complex_to_real),
    "complex": _make_complex,
}  # fmt: skip
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
UNSUPPORTED_REASONS = {
    "polygamma": "needs the Hurwitz zeta function (CUDA has none; not written here yet)",
}


def _register() -> None:
    """Set every table entry's ``cuda`` field (once, at import), as the LLVM backend sets
    ``llvm``. A table entry without a lowering that is not listed unsupported, or a
    lowering without an entry, is an import error."""
    missing = set(SCALAR_OPS) - set(LOWERINGS) - UNSUPPORTED
    unknown = set(LOWERINGS) - set(SCALAR_OPS)
    if missing or unknown or set(UNSUPPORTED_REASONS) != UNSUPPORTED:
        raise ImportError(
            f"CUDA scalar lowerings out of step with SCALAR_OPS: no lowering for "
            f"{sorted(missing)}, lowerings of unknown ops {sorted(unknown)}"
        )
    for name, rule in LOWERINGS.items():
        object.__setattr__(SCALAR_OPS[name], "cuda", rule)  # ScalarOp is frozen


_register()
