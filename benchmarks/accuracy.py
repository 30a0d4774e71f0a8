"""The accuracy of the LLVM math library: ``python -m benchmarks.accuracy [options]``.

For each function and dtype, a loop calling ``jg_<name>_<f32|f64>`` is compiled with the
backend's own target (O3, host CPU) and evaluated on ``--samples`` arguments drawn from
the function's domain (log-uniform magnitudes over the whole range, plus edge ranges:
near 0, subnormals, near the overflow and underflow thresholds, large trigonometric
arguments). The error is measured in ulps of the result dtype against a higher-precision
reference:

- float32 against NumPy/SciPy in float64 (the float64 value's own error is ~1e-16);
- float64 against ``np.longdouble`` (x86's 80-bit format: NumPy's longdouble loops call
  libm's ``expl``, ``sinl``, ...), or mpmath when it is importable for erf/erfc (SciPy has
  no longdouble erf); without mpmath, erf/erfc are compared with SciPy in float64, which
  is itself only within about 1 ulp (the table says so).

Special values (NaN, +-inf, +-0, subnormals, +-max, thresholds) are compared with NumPy's
(SciPy's for erf, erfc, sigmoid) results bit for bit; NaN matches any NaN (IEEE leaves a
NaN's sign and payload unspecified). Throughput is the time per element of the compiled
loop over 1e6 contiguous elements divided by NumPy's; informational only.

``--markdown`` prints the table published in docs/accuracy.md. The tests
(tests/backends/llvm/test_mathlib.py) use ``measure`` and ``special_value_mismatches``
from here with fewer samples and assert the ulp bounds of ``ULP_BOUNDS``.
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import llvmlite.ir as ir
import numpy as np
import scipy.special

from jitgraph.backends.llvm import mathlib, target, types

# ============================================================================ the cases
Arguments = tuple[np.ndarray, ...]
Sampler = Callable[[np.random.Generator, int], Arguments]


@dataclass(frozen=True)
class Limits:
    """The range of one dtype, for writing domains once for both dtypes."""

    dtype: str

    @property
    def info(self) -> Any:
        return np.finfo(self.dtype)

    @property
    def tiny(self) -> float:  # the smallest subnormal
        return float(self.info.smallest_subnormal)

    @property
    def normal(self) -> float:
        return float(self.info.smallest_normal)

    @property
    def max(self) -> float:
        return float(self.info.max)

    @property
    def log_max(self) -> float:  # exp overflows beyond
        return float(np.log(self.max))

    @property
    def log_normal(self) -> float:  # exp is subnormal below
        return float(np.log(self.normal))

    @property
    def log_tiny(self) -> float:  # exp underflows to 0 below
        return float(np.log(self.tiny))


def log_uniform(low: float, high: float, signed: bool = True) -> Sampler:
    """Magnitudes log-uniform in [low, high], random signs when ``signed``."""

    def sample(rng: np.random.Generator, n: int) -> Arguments:
        magnitude = np.exp(rng.uniform(np.log(low), np.log(high), n))
        sign = rng.choice([-1.0, 1.0], n) if signed else 1.0
        return (sign * magnitude,)

    return sample


def uniform(low: float, high: float) -> Sampler:
    def sample(rng: np.random.Generator, n: int) -> Arguments:
        return (rng.uniform(low, high, n),)

    return sample


def negated(sampler: Sampler) -> Sampler:
    def sample(rng: np.random.Generator, n: int) -> Arguments:
        return tuple(-a for a in sampler(rng, n))

    return sample


def shifted(offset: float, sampler: Sampler) -> Sampler:
    def sample(rng: np.random.Generator, n: int) -> Arguments:
        return tuple(offset + a for a in sampler(rng, n))

    return sample


def paired(first: Sampler, second: Sampler) -> Sampler:
    def sample(rng: np.random.Generator, n: int) -> Arguments:
        return (*first(rng, n), *second(rng, n))

    return sample


def _pow_exponent_for_result(rng: np.random.Generator, n: int, limits: Limits) -> Arguments:
    """x log-uniform over all positive floats, y so that x**y spans every result range
    (subnormal, normal, overflow)."""
    (x,) = log_uniform(limits.tiny, limits.max, signed=False)(rng, n)
    target_log = rng.uniform(limits.log_tiny - 5, limits.log_max + 5, n)
    with np.errstate(all="ignore"):
        y = np.where(x == 1.0, 1.0, target_log / np.log(x))
    return x, y


def _pow_negative_base(rng: np.random.Generator, n: int) -> Arguments:
    (x,) = log_uniform(1e-3, 1e3)(rng, n)
    return -np.abs(x), rng.integers(-100, 101, n).astype(np.float64)


def _pow_small_exponent(rng: np.random.Generator, n: int, limits: Limits) -> Arguments:
    (x,) = log_uniform(limits.tiny, limits.max)(rng, n)
    return x, rng.integers(-3, 4, n).astype(np.float64)


def _erf_precise(mp: Any, x: Any) -> Any:
    return mp.erf(x)


@dataclass(frozen=True)
class Case:
    """One function: ``numpy`` gives its special values and its speed baseline (it takes
    ``out=``), ``wide`` computes it on longdouble (or float64) arrays, ``precise``
    (mp, *args) with mpmath where no longdouble function exists; ``domain`` lists the
    samplers whose union is the test distribution (each gets an equal share) and
    ``special`` the arguments whose results must equal NumPy's bit for bit."""

    name: str
    numpy: Callable[..., np.ndarray]
    wide: Callable[..., np.ndarray] | None
    precise: Callable[..., Any]
    domain: Callable[[Limits], list[Sampler]]
    special_extra: Callable[[Limits], list[float]] = lambda limits: []
    arity: int = 1
    typical: Sampler = uniform(-5, 5)
    """Arguments for the speed comparison: ordinary ones (subnormal intermediate values
    would time the CPU's microcode assists rather than the code)."""

    @property
    def special(self) -> list[tuple[float, ...]]:
        """Special arguments for float64 (``special_for`` gives them per dtype)."""
        return self.special_for("float64")

    def special_for(self, dtype: str) -> list[tuple[float, ...]]:
        limits = Limits(dtype)
        values = [
            np.nan,
            -np.nan,
            np.inf,
            -np.inf,
            0.0,
            -0.0,
            limits.tiny,
            -limits.tiny,
            limits.normal,
            -limits.normal,
            limits.max,
            -limits.max,
            1.0,
            -1.0,
            0.5,
            -0.5,
            2.0,
            -2.0,
            3.0,
            1e-30,
            30.0,
            -30.0,
            *self.special_extra(limits),
        ]
        if self.arity == 1:
            return [(v,) for v in values]
        return [(a, b) for a in values for b in values]

    def arguments(self, rng: np.random.Generator, dtype: str, n: int) -> Arguments:
        samplers = self.domain(Limits(dtype))
        shares = [n // len(samplers) + (i < n % len(samplers)) for i in range(len(samplers))]
        parts = [sampler(rng, share) for sampler, share in zip(samplers, shares, strict=True)]
        with np.errstate(all="ignore"):
            return tuple(
                np.concatenate([part[i] for part in parts]).astype(dtype) for i in range(self.arity)
            )

    def exact(self, arguments: Arguments, dtype: str) -> tuple[np.ndarray, str]:
        """The reference values (float64 for float32 arguments; longdouble or mpmath for
        float64 ones) and the name of the reference used."""
        with np.errstate(all="ignore"):
            if dtype == "float32":
                wide = [a.astype(np.float64) for a in arguments]
                return np.asarray(self.numpy(*wide), dtype=np.float64), "float64"
            if self.wide is not None and has_extended_longdouble():
                wide = [a.astype(np.longdouble) for a in arguments]
                return np.asarray(self.wide(*wide)), "longdouble"
        mpmath = _mpmath()
        if mpmath is None:
            with np.errstate(all="ignore"):
                return np.asarray(self.numpy(*arguments), dtype=np.float64), "float64 (!)"
        return _mpmath_values(self.precise, arguments), "mpmath"


def has_extended_longdouble() -> bool:
    """Whether np.longdouble carries at least 64 significant bits (x86's 80-bit format)."""
    return bool(np.finfo(np.longdouble).nmant >= 63)


@functools.cache
def _mpmath() -> Any:
    try:
        import mpmath  # optional: a better reference
    except ImportError:
        return None
    return mpmath


def _mpmath_values(function: Callable[..., Any], arguments: Arguments) -> np.ndarray:
    mp = _mpmath()
    mp.mp.prec = 80
    wide = np.longdouble if has_extended_longdouble() else np.float64
    out = np.empty(arguments[0].shape, dtype=wide)
    for i, values in enumerate(zip(*arguments, strict=True)):
        args = [mp.mpf(float(v)) if np.isfinite(v) else float(v) for v in values]
        try:
            exact = function(mp, *args)
            out[i] = wide(str(exact)) if wide is np.longdouble else float(exact)
        except (ValueError, ZeroDivisionError, OverflowError):
            out[i] = np.nan
    return out


def _sigmoid_wide(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _softplus(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """jitgraph's softplus reference: log(1 + exp(x)) as np.logaddexp(0, x)."""
    return np.logaddexp(np.zeros((), dtype=x.dtype), x, out=out)


def _positive_domain(limits: Limits) -> list[Sampler]:
    near_one = log_uniform(float(limits.info.eps) / 4, 0.1)
    return [
        log_uniform(limits.tiny, limits.max, signed=False),
        uniform(0.5, 2.0),
        shifted(1.0, near_one),
        log_uniform(limits.tiny, limits.normal, signed=False),
    ]


_POSITIVE = log_uniform(0.01, 100, signed=False)


def _trig_domain(limits: Limits) -> list[Sampler]:
    return [
        log_uniform(limits.tiny, limits.max),
        uniform(-10, 10),
        uniform(-1e5, 1e5),
        log_uniform(2.0**45, 2.0**56),  # where the two argument reductions meet
    ]


CASES: list[Case] = [
    Case(
        "exp",
        np.exp,
        np.exp,
        lambda mp, x: mp.exp(x),
        lambda L: [
            log_uniform(L.tiny, -L.log_tiny),
            uniform(L.log_tiny - 1, L.log_max + 1),
            uniform(L.log_max - 2, L.log_max + 0.01),
            uniform(L.log_tiny, L.log_normal),
        ],
        lambda L: [L.log_max, np.nextafter(L.log_max, np.inf), L.log_tiny, L.log_normal],
    ),
    Case(
        "exp2",
        np.exp2,
        np.exp2,
        lambda mp, x: mp.power(2, x),
        lambda L: [
            log_uniform(L.tiny, 1100),
            uniform(-1100, 1100),
            uniform(np.log2(L.max) - 2, np.log2(L.max) + 0.01),
            uniform(np.log2(L.tiny), np.log2(L.normal)),
        ],
        lambda L: [1024.0, 128.0, -1074.0, -149.0, -1075.0, -150.0, 0.5],
    ),
    Case(
        "expm1",
        np.expm1,
        np.expm1,
        lambda mp, x: mp.expm1(x),
        lambda L: [
            log_uniform(L.tiny, L.log_max),
            uniform(-1, 1),
            uniform(-40, L.log_max + 1),
            log_uniform(1e-9, 1e-4),
        ],
        lambda L: [L.log_max, -40.0, -1e-20],
    ),
    Case("log", np.log, np.log, lambda mp, x: mp.log(x), _positive_domain, typical=_POSITIVE),
    Case(
        "log2",
        np.log2,
        np.log2,
        lambda mp, x: mp.log(x, 2),
        _positive_domain,
        lambda L: [4.0, 1024.0, 2.0**-1074],
        typical=_POSITIVE,
    ),
    Case(
        "log10",
        np.log10,
        np.log10,
        lambda mp, x: mp.log10(x),
        _positive_domain,
        lambda L: [10.0, 100.0, 1e22],
        typical=_POSITIVE,
    ),
    Case(
        "log1p",
        np.log1p,
        np.log1p,
        lambda mp, x: mp.log1p(x),
        lambda L: [
            negated(log_uniform(L.tiny, 1, signed=False)),
            log_uniform(L.tiny, L.max, signed=False),
            uniform(-1, 1),
            log_uniform(1e-10, 1e-3),
        ],
        lambda L: [-0.9999999, 1e300],
        typical=_POSITIVE,
    ),
    Case(
        "sin",
        np.sin,
        np.sin,
        lambda mp, x: mp.sin(x),
        _trig_domain,
        lambda L: [np.pi, np.pi / 2, 1e5, -1e5, 1e22, 2.0**50, -(2.0**50)],
    ),
    Case(
        "cos",
        np.cos,
        np.cos,
        lambda mp, x: mp.cos(x),
        _trig_domain,
        lambda L: [np.pi, np.pi / 2, 1e5, -1e5, 1e22, 2.0**50, -(2.0**50)],
    ),
    Case(
        "tan",
        np.tan,
        np.tan,
        lambda mp, x: mp.tan(x),
        _trig_domain,
        lambda L: [np.pi, np.pi / 2, np.pi / 4, 1e5, 1e22, 2.0**50],
    ),
    Case(
        "tanh",
        np.tanh,
        np.tanh,
        lambda mp, x: mp.tanh(x),
        lambda L: [log_uniform(L.tiny, 25), uniform(-3, 3), uniform(0.5, 0.6)],
        lambda L: [0.55, 19.0, 20.0, 1e-10],
    ),
    Case(
        "sigmoid",
        scipy.special.expit,
        _sigmoid_wide,
        lambda mp, x: 1 / (1 + mp.exp(-x)),
        lambda L: [log_uniform(L.tiny, 750), uniform(-40, 40), uniform(L.log_tiny, L.log_normal)],
        lambda L: [-745.0, -800.0, 40.0, 800.0],
    ),
    Case(
        "softplus",
        _softplus,
        _softplus,
        lambda mp, x: mp.log1p(mp.exp(x)),
        lambda L: [log_uniform(L.tiny, L.max), uniform(-40, 40), uniform(L.log_tiny, L.log_normal)],
        lambda L: [-745.0, -800.0, 40.0, 800.0, 1e300],
    ),
    Case(
        "pow",
        np.power,
        np.power,
        lambda mp, x, y: mp.power(x, y) if x >= 0 or int(y) == y else mp.nan,
        lambda L: [
            lambda rng, n: _pow_exponent_for_result(rng, n, L),
            paired(uniform(0, 4), uniform(-50, 50)),
            _pow_negative_base,
            paired(shifted(1.0, log_uniform(1e-16, 1e-3)), log_uniform(1, 1e15)),
            lambda rng, n: _pow_small_exponent(rng, n, L),
        ],
        arity=2,
        typical=paired(uniform(0.1, 10), uniform(-5, 5)),
    ),
    Case(
        "erf",
        scipy.special.erf,
        None,
        _erf_precise,
        lambda L: [log_uniform(L.tiny, 6), uniform(-6, 6), uniform(0.4, 1.2)],
        lambda L: [0.5, 6.0, -6.0],
    ),
    Case(
        "erfc",
        scipy.special.erfc,
        None,
        lambda mp, x: mp.erfc(x),
        lambda L: [
            log_uniform(L.tiny, 28),
            uniform(-6, 28 if L.dtype == "float64" else 11),
            uniform(26, 27.3) if L.dtype == "float64" else uniform(9, 10.1),
        ],
        lambda L: [0.5, 27.0, 28.0, 10.0, -6.0],
    ),
    Case(
        "arctan",
        np.arctan,
        np.arctan,
        lambda mp, x: mp.atan(x),
        lambda L: [log_uniform(L.tiny, L.max), uniform(-3, 3)],
    ),
    Case(
        "arctan2",
        np.arctan2,
        np.arctan2,
        lambda mp, y, x: mp.atan2(y, x),
        lambda L: [
            paired(log_uniform(L.tiny, L.max), log_uniform(L.tiny, L.max)),
            paired(uniform(-1, 1), uniform(-1, 1)),
            paired(log_uniform(1e-3, 1e3), log_uniform(1e-3, 1e3)),
        ],
        arity=2,
        typical=paired(uniform(-5, 5), uniform(-5, 5)),
    ),
]


__all__ = ["CASES", "ULP_BOUNDS", "Measurement", "compile_function", "main", "measure"]

_PRECISION = {"float32": 24, "float64": 53}
_MIN_EXPONENT = {"float32": -126, "float64": -1022}


def ulp_bound(name: str, dtype: str) -> float:
    """The accuracy jitgraph promises: 1 ulp for exp/log/log1p/expm1 in float64, else 2."""
    if dtype == "float64" and name in ("exp", "log", "log1p", "expm1"):
        return 1.0
    return 2.0


ULP_BOUNDS = {
    (case.name, dtype): ulp_bound(case.name, dtype)
    for case in CASES
    for dtype in ("float32", "float64")
}

# ============================================================================ compiling
_Kernel = Callable[..., np.ndarray]


@functools.cache
def compile_function(name: str, dtype: str) -> _Kernel:
    """``name`` from the math library as a NumPy-level function of 1-D arrays of ``dtype``:
    a compiled loop ``void kernel(ptr in, ptr in2, ptr out, i64 n)``."""
    arity = _case(name).arity
    library = target.load_object(target.compile_ir(kernel_ir(name, dtype, arity)))
    address = library.address("kernel")
    signature = ctypes.CFUNCTYPE(
        None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64
    )
    native = signature(address)

    def run(*arrays: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        inputs = [np.ascontiguousarray(a, dtype=dtype) for a in arrays]
        if out is None:
            out = np.empty(inputs[0].shape, dtype=dtype)
        second = inputs[1] if arity == 2 else inputs[0]
        native(inputs[0].ctypes.data, second.ctypes.data, out.ctypes.data, out.size)
        return out

    run.library = library  # type: ignore[attr-defined]  # keeps the code mapped
    return run


def kernel_ir(name: str, dtype: str, arity: int) -> str:
    """IR text of ``out[i] = name(in[i], in2[i])`` for i < n."""
    module = ir.Module(name=f"accuracy_{name}_{dtype}")
    function_type = ir.FunctionType(
        ir.VoidType(), [types.POINTER, types.POINTER, types.POINTER, types.I64]
    )
    function = ir.Function(module, function_type, "kernel")
    first, second, out, count = function.args
    entry = function.append_basic_block("entry")
    loop = function.append_basic_block("loop")
    done = function.append_basic_block("done")
    builder = ir.IRBuilder(entry)
    builder.cbranch(builder.icmp_signed(">", count, types.I64(0)), loop, done)
    builder.position_at_end(loop)
    index = builder.phi(types.I64)
    index.add_incoming(types.I64(0), entry)
    element = types.llvm_type(dtype)
    args = [
        builder.load(
            builder.gep(pointer, [index], inbounds=True, source_etype=element), typ=element
        )
        for pointer in (first, second)[:arity]
    ]
    result = mathlib.call(builder, name, args, dtype)
    builder.store(result, builder.gep(out, [index], inbounds=True, source_etype=element))
    following = builder.add(index, types.I64(1))
    index.add_incoming(following, loop)
    builder.cbranch(builder.icmp_signed("<", following, count), loop, done)
    builder.position_at_end(done)
    builder.ret_void()
    return str(module)


# ============================================================================ measuring
@dataclass(frozen=True)
class Measurement:
    name: str
    dtype: str
    samples: int
    max_ulp: float
    mean_ulp: float
    worst_arguments: tuple[float, ...]
    reference: str


def ulp_errors(result: np.ndarray, exact: np.ndarray, dtype: str) -> np.ndarray:
    """|result - exact| in ulps of ``dtype`` at ``exact`` (a higher-precision array).
    Where the exact value rounds to inf (or is NaN), a matching result has error 0 and
    any other has error inf."""
    with np.errstate(over="ignore"):
        exact_rounded = exact.astype(dtype)
    wide = np.longdouble if exact.dtype == np.longdouble else np.float64
    finite = np.isfinite(exact_rounded) & np.isfinite(result)
    _, exponent = np.frexp(np.where(finite, exact, 1).astype(wide))
    exponent = np.maximum(exponent.astype(np.int64) - 1, _MIN_EXPONENT[dtype])
    ulp = np.ldexp(np.ones_like(exponent, dtype=wide), exponent - (_PRECISION[dtype] - 1))
    difference = np.abs(result.astype(wide) - np.where(finite, exact, 0).astype(wide))
    errors = np.where(finite, difference / ulp, 0.0).astype(np.float64)
    same_special = (result == exact_rounded) | (np.isnan(result) & np.isnan(exact_rounded))
    return np.where(finite | same_special, errors, np.inf)


def measure(name: str, dtype: str, samples: int, seed: int = 0) -> Measurement:
    """Max and mean ulp error of ``jg_<name>`` over ``samples`` arguments from the case's
    domain, against the case's higher-precision reference."""
    case = _case(name)
    rng = np.random.default_rng(seed)
    arguments = case.arguments(rng, dtype, samples)
    result = compile_function(name, dtype)(*arguments)
    exact, reference = case.exact(arguments, dtype)
    errors = ulp_errors(result, exact, dtype)
    worst = int(np.argmax(errors))
    return Measurement(
        name=name,
        dtype=dtype,
        samples=samples,
        max_ulp=float(errors[worst]),
        mean_ulp=float(np.mean(errors[np.isfinite(errors)])),
        worst_arguments=tuple(float(a[worst]) for a in arguments),
        reference=reference,
    )


def special_value_mismatches(name: str, dtype: str) -> list[str]:
    """The special arguments where ``jg_<name>`` differs from NumPy. A result must equal
    NumPy's bit for bit (any NaN matches any NaN), except where NumPy's own result is
    off: then both results must be finite and ours within the ulp bound of the exact
    value, which must not be 0 (the sign of a zero result must match)."""
    case = _case(name)
    with np.errstate(all="ignore"):
        columns = zip(*case.special_for(dtype), strict=True)
        arguments = tuple(np.array(column, dtype=dtype) for column in columns)
        expected = np.asarray(case.numpy(*arguments), dtype=dtype)
    got = compile_function(name, dtype)(*arguments)
    exact, _ = case.exact(arguments, dtype)
    integer = np.dtype(f"u{np.dtype(dtype).itemsize}")
    same = (got.view(integer) == expected.view(integer)) | (np.isnan(got) & np.isnan(expected))
    with np.errstate(all="ignore"):
        close = (
            np.isfinite(got)
            & np.isfinite(expected)
            & (exact != 0)
            & (ulp_errors(got, exact, dtype) <= ulp_bound(name, dtype))
        )
    return [
        f"{name}{tuple(float(a[i]) for a in arguments)}: got {got[i]!r}, NumPy {expected[i]!r}"
        for i in np.flatnonzero(~(same | close))
    ]


def speed_ratio(name: str, dtype: str, size: int = 1_000_000, repeats: int = 5) -> float:
    """Best time of the compiled loop over ``size`` elements / best time of NumPy's."""
    case = _case(name)
    rng = np.random.default_rng(1)
    arguments = [a.astype(dtype) for a in case.typical(rng, size)]
    compiled = compile_function(name, dtype)
    out = np.empty(size, dtype=dtype)

    def best(run: Callable[[], object]) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return min(times)

    with np.errstate(all="ignore"):
        numpy_time = best(lambda: case.numpy(*arguments, out=out))
    return best(lambda: compiled(*arguments, out=out)) / numpy_time


def _case(name: str) -> Case:
    for case in CASES:
        if case.name == name:
            return case
    raise KeyError(f"no accuracy case for {name!r}")


# ============================================================================ the table
HEADER = [
    "function",
    "dtype",
    "samples",
    "max ulp",
    "mean ulp",
    "bound",
    "special values",
    "time / NumPy",
    "reference",
    "worst argument",
]


def table_rows(samples: int, names: Sequence[str], verbose: bool) -> list[list[str]]:
    """One row per function and dtype (the columns of HEADER)."""
    rows = []
    for name in names:
        for dtype in ("float32", "float64"):
            result = measure(name, dtype, samples)
            mismatches = special_value_mismatches(name, dtype)
            speed = speed_ratio(name, dtype)
            worst = ", ".join(f"{a:.17g}" for a in result.worst_arguments)
            rows.append(
                [
                    name,
                    dtype,
                    f"{samples:.0e}".replace("e+0", "e"),
                    f"{result.max_ulp:.3f}",
                    f"{result.mean_ulp:.3f}",
                    f"{ulp_bound(name, dtype):g}",
                    "ok" if not mismatches else f"{len(mismatches)} differ",
                    f"{speed:.2f}",
                    result.reference,
                    worst,
                ]
            )
            if verbose:
                print("  ".join(rows[-1]), flush=True)
                for mismatch in mismatches[:5]:
                    print(f"    {mismatch}", flush=True)
    return rows


def markdown_document(rows: list[list[str]], samples: int) -> str:
    """docs/accuracy.md: how the figures were measured, then the table."""
    table = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    table += ["| " + " | ".join(row) + " |" for row in rows]
    return DOCUMENT.format(
        samples=f"{samples:,}",
        target=target.target_description().split("/")[1],
        numpy=np.__version__,
        table="\n".join(table),
    )


DOCUMENT = """# Accuracy of the LLVM math library

The CPU backend computes transcendental functions with its own vectorizable math library
(`jitgraph/backends/llvm/mathlib*.py`: LLVM IR generated by jitgraph, no libm, SVML or
MKL calls). This table is produced by

```
python -m benchmarks.accuracy --markdown   # {samples} arguments per function and dtype
```

(host CPU: {target}, NumPy {numpy}); `tests/backends/llvm/test_mathlib.py` runs the same
measurement with 20 000 arguments per function and dtype and asserts the bounds.

**What is promised.** At most 1 ulp for exp, log, log1p and expm1 in float64 and at most
2 ulp for every other function and dtype, for every argument (sin, cos and tan included:
arguments of 2**50 and more are reduced with Payne-Hanek, so the whole float range is
covered). NaN, +-inf, +-0, subnormal arguments and results, overflow to inf and underflow
to 0 are NumPy's (scipy.special's for erf, erfc and sigmoid; `np.logaddexp(0, x)` for
softplus; C99 for pow).

**How it is measured.**

- *max ulp / mean ulp*: |result - exact| in units in the last place of the result dtype at
  the exact value (subnormal spacing below the normal range). The exact value is float64
  NumPy/SciPy for float32 results, and `np.longdouble` (x86's 80-bit format; NumPy's
  longdouble loops call libm's `expl`, `sinl`, ...) or mpmath (erf, erfc) for float64
  results. Without mpmath, erf and erfc in float64 fall back to SciPy in float64, which is
  itself only within about an ulp: the *reference* column says which one was used.
- *arguments*: each function's domain is sampled log-uniformly over its whole range
  (magnitudes from the smallest subnormal to the largest float) plus uniform samples of
  the edge ranges: near 0, subnormal results, near the overflow and underflow thresholds,
  near 1 for the logarithms, around the switch points between approximations, and huge
  arguments for the trigonometric functions. *worst argument* is where the max occurred.
- *special values*: NaN, +-inf, +-0, +-smallest subnormal, +-smallest normal, +-max,
  +-0.5, +-1, +-2, 3, +-30 and each function's thresholds (all pairs of them for pow and
  arctan2) must give NumPy's result bit for bit, any NaN matching any NaN (IEEE leaves a
  NaN's sign and payload unspecified). Where NumPy's own result is off (NumPy's float32
  exp(1) is 1 ulp from e; SciPy's expit(-745) is 0, the exact value rounds to the
  smallest subnormal) a finite result within the bound of the exact value is accepted;
  a zero result must have NumPy's sign.
- *time / NumPy*: best time of a compiled loop over 1e6 contiguous elements divided by
  NumPy's (`np.exp(x, out=...)`, ...), one thread, ordinary arguments (no subnormals).
  Below 1 is faster. Informational only: it depends on the machine and its load, and
  NumPy's float32 exp/log/sin/tanh and float64 exp/log/tanh are hand-vectorized AVX-512
  code while its float64 sin/cos/tan and SciPy's functions are scalar. The math library's
  float32 exp, tanh and sigmoid compute in float32; its other float32 functions compute
  in float64 (half the SIMD lanes of native float32 code). jitgraph compiles for the
  host's full vector width (512 bits with AVX-512). Inside a fused kernel the relevant
  comparison is with several NumPy passes over memory, not one.

{table}
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.accuracy",
        description="max ulp error of the LLVM math library against a high-precision "
        "reference, special values against NumPy, and speed relative to NumPy",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=1_000_000,
        help="arguments per function and dtype (default 1e6)",
    )
    parser.add_argument("--markdown", action="store_true", help="print the docs table")
    parser.add_argument("--functions", default="", help="comma-separated subset (default: all)")
    options = parser.parse_args(argv)
    names = [n for n in options.functions.split(",") if n] or [c.name for c in CASES]
    if not has_extended_longdouble():
        print(
            "note: np.longdouble is float64 here: float64 references fall back to "
            "mpmath (slow) or SciPy/NumPy in float64 (see the reference column)",
            file=sys.stderr,
        )
    if options.markdown:
        rows = table_rows(options.samples, names, verbose=False)
        print(markdown_document(rows, options.samples), end="")
    else:
        print("  ".join(HEADER))
        table_rows(options.samples, names, verbose=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
