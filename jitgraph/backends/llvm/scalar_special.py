"""Real math functions for the scalar lowerings, and where each one comes from.

``call_math(builder, name, args, dtype)`` computes the function ``name`` of THE elementwise
table (its NumPy name: ``"exp"``, ``"arctan2"``, ``"gamma"``, ...) on float32 or float64
register values, taking it from the first source that has it:

1. the vectorizable math library (``mathlib.py``) when it provides ``name``;
2. an IR composition of other functions (``sigmoid``, ``softplus``, ``polygamma``, which
   needs the Hurwitz zeta function, defined here as an internal IR function);
3. SciPy's C functions (``scipy.special.cython_special`` capsules) for the special
   functions libm lacks or computes differently from SciPy (gamma, gammaln, psi, erf, erfc,
   erfinv, erfcinv). SciPy's float32 loops of these widen to double and round the result
   (measured: bit-equal to ``f(x.astype(float64)).astype(float32)``), so float32 does the
   same here, except ``erfinv``, which SciPy computes in float32: its float specialisation
   is called;
4. the C math library by its C name (``atan2``, ``atan2f``): the Python process has libm
   loaded, so the JIT linker resolves these symbols in the process.

LLVM intrinsics (``llvm.fabs.f64``, ...) are emitted with ``intrinsic``.

>>> import llvmlite.ir as ir
>>> module = ir.Module()
>>> function = ir.Function(module, ir.FunctionType(ir.DoubleType(), [ir.DoubleType()]), "f")
>>> builder = ir.IRBuilder(function.append_basic_block())
>>> _ = builder.ret(call_math(builder, "arcsinh", [function.args[0]], "float64"))
>>> 'call double @"asinh"' in str(module), math_source("arcsinh"), math_source("gamma")
(True, 'libm', 'scipy')
"""

from __future__ import annotations

import ctypes
import functools
import re
from collections.abc import Callable, Iterable

import llvmlite.ir as ir
import numpy as np

from jitgraph.backends.llvm import mathlib, target, types

__all__ = [
    "SCIPY_SYMBOL_PREFIX",
    "call_libm",
    "call_math",
    "constant_like",
    "intrinsic",
    "math_source",
    "register_external_symbols",
]

# NumPy name -> C name (double; float32 appends "f").
_LIBM_NAMES = {
    "exp": "exp",
    "exp2": "exp2",
    "expm1": "expm1",
    "log": "log",
    "log2": "log2",
    "log10": "log10",
    "log1p": "log1p",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arctan2": "atan2",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "hypot": "hypot",
    "power": "pow",
}
# NumPy/SciPy name -> cython_special function name (its double specialisation).
_SCIPY_NAMES = {
    "erf": "erf",
    "erfc": "erfc",
    "erfinv": "erfinv",
    "erfcinv": "erfcinv",
    "gamma": "gamma",
    "gammaln": "gammaln",
    "psi": "psi",
}
_SCIPY_FLOAT32 = frozenset({"erfinv"})  # SciPy's float32 loop computes in float32
_SCIPY_SIGNATURE = {
    "float64": "double (double, int __pyx_skip_dispatch)",
    "float32": "float (float, int __pyx_skip_dispatch)",
}
_SUFFIX = {"half": "f16", "float": "f32", "double": "f64"}


def constant_like(value: ir.Value, number: float) -> ir.Constant:
    """``number`` as a constant of ``value``'s float type (rounded to that type)."""
    dtype = {"float": "float32", "double": "float64"}[str(value.type)]
    return types.constant(dtype, number)


def intrinsic(builder: ir.IRBuilder, name: str, args: list[ir.Value]) -> ir.Value:
    """The LLVM intrinsic ``llvm.<name>`` overloaded on the first argument's float type
    (``intrinsic(builder, "fabs", [x])`` calls ``llvm.fabs.f64`` for a double)."""
    float_type = args[0].type
    function_type = ir.FunctionType(float_type, [arg.type for arg in args])
    full_name = f"llvm.{name}.{_SUFFIX[str(float_type)]}"
    return builder.call(types.declare(builder.module, full_name, function_type), args)


def math_source(name: str) -> str:
    """Where ``call_math`` takes ``name`` from: "mathlib", "ir", "scipy" or "libm"
    (ValueError if nowhere)."""
    if _mathlib_name(name) is not None:
        return "mathlib"
    if name in _IR_FUNCTIONS:
        return "ir"
    if name in _SCIPY_NAMES:
        return "scipy"
    if name in _LIBM_NAMES:
        return "libm"
    raise ValueError(f"no source for the math function {name!r}")


def call_math(builder: ir.IRBuilder, name: str, args: list[ir.Value], dtype: str) -> ir.Value:
    """``name(*args)`` for float32/float64 ``args`` (see the module docstring for the
    order of the sources)."""
    source = math_source(name)
    if source == "mathlib":
        return mathlib.call(builder, _mathlib_name(name) or name, args, dtype)
    if source == "ir":
        return _IR_FUNCTIONS[name](builder, args, dtype)
    if source == "scipy":
        return _call_scipy(builder, name, args[0], dtype)
    return call_libm(builder, _LIBM_NAMES[name], args, dtype)


def call_libm(builder: ir.IRBuilder, c_name: str, args: list[ir.Value], dtype: str) -> ir.Value:
    """The C math library's ``c_name`` (``c_name + "f"`` for float32) on ``args``."""
    float_type = types.llvm_type(dtype)
    symbol = c_name + ("f" if dtype == "float32" else "")
    function_type = ir.FunctionType(float_type, [float_type] * len(args))
    function = types.declare(builder.module, symbol, function_type)
    return builder.call(function, args)


def _mathlib_name(name: str) -> str | None:
    """The math library's name for ``name``: the NumPy name, or the C name ("pow")."""
    for candidate in (name, _LIBM_NAMES.get(name)):
        if candidate in mathlib.FUNCTIONS:
            return candidate
    return None


# ============================================================================ SciPy
SCIPY_SYMBOL_PREFIX = "jg_scipy_"


def register_external_symbols(symbol_names: Iterable[str]) -> None:
    """Make the SciPy functions among ``symbol_names`` (``jg_scipy_<function>_<dtype>``, as
    the lowerings declare them) resolvable in this process. Code compiled in another
    process (the disk cache) needs this before it is loaded; other names are ignored.

    >>> register_external_symbols(["jg_scipy_gamma_float64", "exp"])
    """
    for name in symbol_names:
        if name.startswith(SCIPY_SYMBOL_PREFIX):
            function, _, dtype = name[len(SCIPY_SYMBOL_PREFIX) :].rpartition("_")
            _scipy_symbol(function, dtype)


@functools.cache
def _scipy_symbol(function: str, dtype: str) -> str:
    """Register SciPy's C function ``function`` (the ``dtype`` specialisation) under a
    jitgraph-private symbol and return that symbol."""
    import scipy.special.cython_special as cython_special

    signature = _SCIPY_SIGNATURE[dtype]
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    for key, capsule in cython_special.__pyx_capi__.items():
        # Fused functions are exported once per specialisation: __pyx_fuse_<i><name>.
        if re.sub(r"^__pyx_fuse_\d+", "", key) != function:
            continue
        capsule_name = get_name(capsule)
        if capsule_name.decode() == signature:
            symbol = f"{SCIPY_SYMBOL_PREFIX}{function}_{dtype}"
            target.register_symbol(symbol, int(get_pointer(capsule, capsule_name)))
            return symbol
    raise LookupError(f"scipy.special.cython_special has no {signature!r} {function}")


def _call_scipy(builder: ir.IRBuilder, name: str, x: ir.Value, dtype: str) -> ir.Value:
    call_dtype = dtype if name in _SCIPY_FLOAT32 else "float64"
    float_type = types.llvm_type(call_dtype)
    symbol = _scipy_symbol(_SCIPY_NAMES[name], call_dtype)
    function_type = ir.FunctionType(float_type, [float_type, types.I32])
    function = types.declare(builder.module, symbol, function_type)
    result = builder.call(function, [types.cast(builder, x, dtype, call_dtype), types.I32(0)])
    return types.cast(builder, result, call_dtype, dtype)


# ============================================================================ IR compositions
def _sigmoid(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """scipy.special.expit: 1 / (1 + exp(-x))."""
    (x,) = args
    exp_minus_x = call_math(builder, "exp", [builder.fneg(x)], dtype)
    one = constant_like(x, 1.0)
    return builder.fdiv(one, builder.fadd(one, exp_minus_x))


def _softplus(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """NumPy's logaddexp(0, x): max(x, 0) + log1p(exp(-|x|)), log(2) at x == 0, NaN for
    NaN (the same branches as npy_logaddexp, as selects)."""
    (x,) = args
    zero = constant_like(x, 0.0)
    minus_magnitude = builder.fneg(intrinsic(builder, "fabs", [x]))
    tail = call_math(builder, "log1p", [call_math(builder, "exp", [minus_magnitude], dtype)], dtype)
    positive = builder.fcmp_ordered(">", x, zero)
    result = builder.select(positive, builder.fadd(x, tail), tail)
    log_two = constant_like(x, float(np.log(np.asarray(2.0, dtype=dtype))))
    return builder.select(builder.fcmp_ordered("==", x, zero), log_two, result)


def _polygamma(builder: ir.IRBuilder, args: list[ir.Value], dtype: str) -> ir.Value:
    """SciPy's definition: psi(x) for n == 0, else (-1)**(n+1) * gamma(n+1) * zeta(n+1, x),
    computed in ``dtype`` step by step as SciPy's Python code does. For float16, only
    n + 1 is a float16 result there (SciPy's functions answer float32): it is rounded to
    float16, then everything computes in float32 and the result is rounded to float16."""
    order, x = args
    if dtype == "float16":
        order_plus_one = builder.fadd(order, ir.Constant(order.type, 1.0))
        order, x, order_plus_one = (
            types.cast(builder, value, "float16", "float32") for value in (order, x, order_plus_one)
        )
        result = _polygamma_steps(builder, order, x, order_plus_one, "float32")
        return types.cast(builder, result, "float32", "float16")
    return _polygamma_steps(builder, order, x, builder.fadd(order, constant_like(x, 1.0)), dtype)


def _polygamma_steps(
    builder: ir.IRBuilder, order: ir.Value, x: ir.Value, order_plus_one: ir.Value, dtype: str
) -> ir.Value:
    sign = call_math(builder, "power", [constant_like(x, -1.0), order_plus_one], dtype)
    factorial = call_math(builder, "gamma", [order_plus_one], dtype)
    zeta = _hurwitz_zeta(builder, order_plus_one, x, dtype)
    higher = builder.fmul(builder.fmul(sign, factorial), zeta)
    digamma = call_math(builder, "psi", [x], dtype)
    is_zero = builder.fcmp_ordered("==", order, constant_like(x, 0.0))
    return builder.select(is_zero, digamma, higher)


_IR_FUNCTIONS: dict[str, Callable[[ir.IRBuilder, list[ir.Value], str], ir.Value]] = {
    "sigmoid": _sigmoid,
    "softplus": _softplus,
    "polygamma": _polygamma,
}


# ============================================================================ Hurwitz zeta
# Euler-Maclaurin coefficients (2k)! / B_2k of Cephes' zeta(x, q), which SciPy uses.
_ZETA_COEFFICIENTS = (
    12.0,
    -720.0,
    30240.0,
    -1209600.0,
    47900160.0,
    -1.8924375803183791606e9,
    7.47242496e10,
    -2.950130727918164224e12,
    1.1646782814350067249e14,
    -4.5979787224074726105e15,
    1.8152105401943546773e17,
    -7.1661652561756670113e18,
)
_MACHINE_EPSILON = 1.11022302462515654042e-16  # Cephes' MACHEP (2**-53)


def _hurwitz_zeta(builder: ir.IRBuilder, x: ir.Value, q: ir.Value, dtype: str) -> ir.Value:
    """zeta(x, q) = sum_k (k + q)**-x as SciPy computes it (Cephes' algorithm, in double;
    float32 widens and rounds like SciPy's float32 loop)."""
    function = _zeta_function(builder.module)
    wide = [types.cast(builder, value, dtype, "float64") for value in (x, q)]
    return types.cast(builder, builder.call(function, wide), "float64", dtype)


def _zeta_function(module: ir.Module) -> ir.Function:
    """``double jg_hurwitz_zeta(double x, double q)`` in ``module`` (defined once): the
    special cases, else the summation and the Euler-Maclaurin tail (real branches: the
    sum stops early when its terms no longer matter, as Cephes' does)."""
    name = "jg_hurwitz_zeta"
    if name in module.globals:
        return module.globals[name]
    function = ir.Function(module, ir.FunctionType(types.F64, [types.F64, types.F64]), name)
    function.linkage = "internal"
    x, q = function.args
    builder = ir.IRBuilder(function.append_basic_block("entry"))
    is_special, special_value = _zeta_special_cases(builder, x, q)
    done = function.append_basic_block("zeta_done")
    summation = function.append_basic_block("zeta_start")
    arrivals = [(special_value, builder.block)]
    builder.cbranch(is_special, done, summation)
    builder.position_at_end(summation)
    arrivals += _zeta_sum(builder, x, q, done)
    builder.position_at_end(done)
    result = builder.phi(types.F64)
    for value, block in arrivals:
        result.add_incoming(value, block)
    builder.ret(result)
    return function


def _zeta_special_cases(
    builder: ir.IRBuilder, x: ir.Value, q: ir.Value
) -> tuple[ir.Value, ir.Value]:
    """(is special, value): x == 1 -> inf; x < 1 -> NaN; q a non-positive integer -> inf;
    q < 0 with x not an integer -> NaN; q > 1e8 -> the asymptotic expansion."""
    f64 = types.F64
    inf, nan, one = f64(float("inf")), f64(float("nan")), f64(1.0)
    q_integer = builder.fcmp_ordered("==", q, intrinsic(builder, "floor", [q]))
    x_integer = builder.fcmp_ordered("==", x, intrinsic(builder, "floor", [x]))
    q_non_positive = builder.fcmp_ordered("<=", q, f64(0.0))
    leading = builder.fadd(
        builder.fdiv(one, builder.fsub(x, one)), builder.fdiv(one, builder.fmul(f64(2.0), q))
    )
    power = call_libm(builder, "pow", [q, builder.fsub(one, x)], "float64")
    cases = [
        (builder.fcmp_ordered("==", x, one), inf),
        (builder.fcmp_unordered("<", x, one), nan),  # NaN x too
        (builder.fcmp_unordered("!=", q, q), nan),
        (builder.and_(q_non_positive, q_integer), inf),
        (builder.and_(q_non_positive, builder.not_(x_integer)), nan),
        (builder.fcmp_ordered(">", q, f64(1e8)), builder.fmul(leading, power)),
    ]
    is_special, value = types.I1(0), nan
    for condition, case_value in reversed(cases):  # the first matching case wins
        value = builder.select(condition, case_value, value)
        is_special = builder.or_(is_special, condition)
    return is_special, value


def _zeta_sum(
    builder: ir.IRBuilder, x: ir.Value, q: ir.Value, done: ir.Block
) -> list[tuple[ir.Value, ir.Block]]:
    """Cephes' direct sum of (q + i)**-x while (i < 9 or q + i <= 9), leaving early for
    ``done`` when a term no longer changes the sum; then the tail. Returns the
    (value, block) pairs reaching ``done``."""
    f64 = types.F64
    minus_x = builder.fneg(x)
    first = call_libm(builder, "pow", [q, minus_x], "float64")
    entry = builder.block
    loop = builder.append_basic_block("zeta_sum")
    decide = builder.append_basic_block("zeta_more")
    tail = builder.append_basic_block("zeta_tail")
    builder.branch(loop)
    builder.position_at_end(loop)
    count, a, total = builder.phi(types.I64), builder.phi(f64), builder.phi(f64)
    next_count = builder.add(count, types.I64(1))
    next_a = builder.fadd(a, f64(1.0))
    term = call_libm(builder, "pow", [next_a, minus_x], "float64")
    next_total = builder.fadd(total, term)
    builder.cbranch(_negligible(builder, term, next_total), done, decide)
    updates = ((count, types.I64(0), next_count), (a, q, next_a), (total, first, next_total))
    for phi, start, update in updates:
        phi.add_incoming(start, entry)
        phi.add_incoming(update, decide)
    builder.position_at_end(decide)
    more = builder.or_(
        builder.icmp_signed("<", next_count, types.I64(9)),
        builder.fcmp_ordered("<=", next_a, f64(9.0)),
    )
    builder.cbranch(more, loop, tail)
    builder.position_at_end(tail)
    return [(next_total, loop), *_zeta_tail(builder, x, next_a, term, next_total, done)]


def _negligible(builder: ir.IRBuilder, term: ir.Value, total: ir.Value) -> ir.Value:
    ratio = intrinsic(builder, "fabs", [builder.fdiv(term, total)])
    return builder.fcmp_ordered("<", ratio, types.F64(_MACHINE_EPSILON))


def _zeta_tail(
    builder: ir.IRBuilder, x: ir.Value, w: ir.Value, term: ir.Value, total: ir.Value, done: ir.Block
) -> list[tuple[ir.Value, ir.Block]]:
    """The Euler-Maclaurin correction, unrolled over the 12 coefficients; each step may
    stop (branch to ``done``) as Cephes does. Returns the (value, block) pairs reaching
    ``done``."""
    f64 = types.F64
    total = builder.fadd(total, builder.fdiv(builder.fmul(term, w), builder.fsub(x, f64(1.0))))
    total = builder.fsub(total, builder.fmul(f64(0.5), term))
    a, b, k = f64(1.0), term, f64(0.0)
    arrivals: list[tuple[ir.Value, ir.Block]] = []
    for coefficient in _ZETA_COEFFICIENTS:
        a = builder.fmul(a, builder.fadd(x, k))
        b = builder.fdiv(b, w)
        step = builder.fdiv(builder.fmul(a, b), f64(coefficient))
        total = builder.fadd(total, step)
        stop = _negligible(builder, step, total)
        arrivals.append((total, builder.block))
        following = builder.append_basic_block("zeta_step")
        builder.cbranch(stop, done, following)
        builder.position_at_end(following)
        k = builder.fadd(k, f64(1.0))
        a = builder.fmul(a, builder.fadd(x, k))
        b = builder.fdiv(b, w)
        k = builder.fadd(k, f64(1.0))
    arrivals.append((total, builder.block))
    builder.branch(done)
    return arrivals
