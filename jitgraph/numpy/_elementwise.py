"""Elementwise functions of ``jitgraph.numpy``: every Array API 2024.12 one and NumPy's.

Each function has NumPy's result dtype (its ufunc loop, NEP 50 weak Python scalars),
broadcasting and NaN/inf/-0.0 semantics. The ufuncs of jitgraph's scalar table
(``jitgraph.ops.scalar.SCALAR_OPS``) map to one graph node each; the others
(``logaddexp``, ``fmod``, ``signbit``, ``cbrt``, ...) are composed from those, computed in
NumPy's loop dtype. NumPy's ufunc keywords: ``out=`` (a jnp array is rebound, a NumPy
array written) and ``dtype=`` are accepted; ``where=``, ``casting=``, ``order=``,
``subok=`` raise TypeError.

>>> import jitgraph.numpy as jnp
>>> x = jnp.asarray([1, 2, 3], dtype=jnp.int8)
>>> (jnp.add(x, 3).dtype, jnp.exp(x).dtype, jnp.hypot(x, 4.0).dtype)
(dtype('int8'), dtype('float16'), dtype('float64'))
"""

from __future__ import annotations

import builtins
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from jitgraph.numpy import _core
from jitgraph.ops.scalar import SCALAR_OPS

ndarray = _core.ndarray
# NumPy's clip ufunc (np.clip is a function over it): its loops give clip's dtypes.
_CLIP_UFUNC: np.ufunc = np._core.umath.clip  # type: ignore[attr-defined]
Compute = Callable[..., ndarray]

__all__: list[str] = []

# ----------------------------------------------------------------------------- helpers


def _cast(x: Any, dtype: Any) -> ndarray:
    return _core.wrap(_core.as_var(x, dtype=np.dtype(dtype)))


def _node(name: str, *args: Any) -> ndarray:
    """One node of the scalar table on ``args`` (already of the wanted dtypes)."""
    from jitgraph.tensor.basic import elemwise

    return _core.wrap(elemwise(name, *[_core.as_var(a) for a in args]))


def _loop_operands(ufunc: np.ufunc, args: Sequence[Any]) -> tuple[list[ndarray], np.dtype[Any]]:
    """``args`` cast to NumPy's loop input dtypes for ``ufunc`` (weak Python scalars,
    OverflowError for out-of-range ints as NumPy 2), and the loop's output dtype."""
    loop = _core.loop_dtypes(ufunc, args)
    cast: list[ndarray] = []
    for a, want in zip(args, loop[: len(args)], strict=True):
        if type(a) in _core.PYTHON_SCALARS:
            cast.append(_core.wrap(_core.weak_scalar(a, want)))
        else:
            cast.append(_cast(a, want))
    return cast, loop[len(args)]


# ----------------------------------------------------------------------------- table ops
# Ops of the scalar table that refuse complex inputs, computed here as NumPy does.
def _complex_order(name: str, a: ndarray, b: ndarray) -> ndarray:
    """NumPy orders complex numbers lexicographically (real part, then imaginary part)."""
    ar, ai, br, bi = (_node("real", a), _node("imag", a), _node("real", b), _node("imag", b))
    strict = _core.elementwise(name.replace("_equal", ""), ar, br)
    tie = _core.elementwise("equal", ar, br)
    return _core.elementwise(
        "logical_or", strict, _core.elementwise("logical_and", tie, _core.elementwise(name, ai, bi))
    )


def _complex_extreme(name: str, a: ndarray, b: ndarray) -> ndarray:
    """Complex maximum/minimum: lexicographic order, NaN (in either part) propagates."""
    keep_a = _complex_order("greater_equal" if name == "maximum" else "less_equal", a, b)
    nan_a = _core.elementwise("isnan", a)
    return where(_core.elementwise("logical_or", keep_a, nan_a), a, b)


def _complex_rint(z: ndarray) -> ndarray:
    real = _core.elementwise("rint", _node("real", z))
    imag = _core.elementwise("rint", _node("imag", z))
    return _cast(_node("complex", real, imag), z.dtype)


def _complex_sign(z: ndarray) -> ndarray:
    """NumPy 2: z / |z|; 0 for 0; for an infinite z, the unit along its infinite part
    (NaN when both parts are infinite); NaN when a part is NaN."""
    re, im = _node("real", z), _node("imag", z)
    magnitude = _core.elementwise("hypot", re, im)
    dtype = re.dtype
    nan = _cast(math.nan, dtype)
    unit_re = _core.elementwise("true_divide", re, magnitude)
    unit_im = _core.elementwise("true_divide", im, magnitude)
    inf_re, inf_im = _core.elementwise("isinf", re), _core.elementwise("isinf", im)
    on_re = _cast(_core.elementwise("sign", re), dtype)
    on_im = _cast(_core.elementwise("sign", im), dtype)
    zero = _cast(0, dtype)
    both = _core.elementwise("logical_and", inf_re, inf_im)
    out_re = where(inf_re, on_re, where(inf_im, zero, unit_re))
    out_im = where(inf_re, zero, where(inf_im, on_im, unit_im))
    out_re, out_im = where(both, nan, out_re), where(both, nan, out_im)
    null = _core.elementwise("equal", magnitude, 0)
    out_re, out_im = where(null, zero, out_re), where(null, zero, out_im)
    return _cast(_node("complex", out_re, out_im), z.dtype)


def _out_of_range_comparison(name: str, args: Sequence[Any]) -> ndarray | None:
    """NumPy 2 compares an integer array with a Python int outside its dtype's range
    exactly: the answer is the same for every element."""
    if name not in _COMPARISONS or len(args) != 2:
        return None
    for position, (scalar, array) in enumerate([args, args[::-1]]):
        if type(scalar) is not int or type(array) in _core.PYTHON_SCALARS:
            continue
        dtype = _core.dtype_of(array)
        if dtype.kind not in "iu":
            continue
        info = np.iinfo(dtype)
        if info.min <= scalar <= info.max:
            continue
        # Every element is below (above) the scalar: compare with the nearest bound.
        scalar_above = scalar > info.max
        left_smaller = scalar_above if position == 1 else not scalar_above
        answer = _COMPARISONS[name](left_smaller)
        everywhere = _core.elementwise("equal", array, array)  # True of the array's shape
        return everywhere if answer else _core.elementwise("logical_not", everywhere)
    return None


# A comparison's answer when the left operand is smaller (True) or larger (False).
_COMPARISONS: dict[str, Callable[[builtins.bool], builtins.bool]] = {
    "less": lambda smaller: smaller,
    "less_equal": lambda smaller: smaller,
    "greater": lambda smaller: not smaller,
    "greater_equal": lambda smaller: not smaller,
    "equal": lambda smaller: False,
    "not_equal": lambda smaller: True,
}


def _table(name: str) -> Compute:
    """The scalar-table op ``name`` with NumPy's loop dtypes."""
    ufunc = getattr(np, name)

    def compute(*args: Any) -> ndarray:
        exact = _out_of_range_comparison(name, args)
        if exact is not None:
            return exact
        loop = _core.loop_dtypes(ufunc, args)
        kind = loop[0].kind
        if kind == "c" and name in ("less", "less_equal", "greater", "greater_equal"):
            ops, _ = _loop_operands(ufunc, args)
            return _complex_order(name, *ops)
        if kind == "c" and name in ("maximum", "minimum"):
            ops, _ = _loop_operands(ufunc, args)
            return _complex_extreme(name, *ops)
        if kind == "c" and name in ("rint", "sign"):
            ops, _ = _loop_operands(ufunc, args)
            return _complex_rint(ops[0]) if name == "rint" else _complex_sign(ops[0])
        if kind in "biu" and name in ("floor", "ceil", "trunc") and loop[1] == loop[0]:
            ops, _ = _loop_operands(ufunc, args)  # integers are their own floor
            return _cast(ops[0], loop[1])
        return _core.elementwise(name, *args)

    return compute


# ----------------------------------------------------------------------------- composed ops


def _composed(ufunc: np.ufunc, body: Callable[..., ndarray], widen: bool = False) -> Compute:
    """An op NumPy has as ``ufunc`` and jitgraph composes: ``body`` runs on the operands
    cast to the loop dtype (float16 widened to float32 when ``widen``), its result is cast
    to the loop's output dtype."""

    def compute(*args: Any) -> ndarray:
        ops, out_dtype = _loop_operands(ufunc, args)
        if widen and ops and ops[0].dtype == np.float16:
            ops = [_cast(o, "float32") for o in ops]
        result = body(*ops)
        return result if result.dtype == out_dtype else _cast(result, out_dtype)

    return compute


def _positive(x: ndarray) -> ndarray:
    return _cast(x, x.dtype)


def _signbit(x: ndarray) -> ndarray:
    # copysign reads the sign bit: True for -0.0 and for NaNs with the sign bit set.
    return _core.elementwise("less", _core.elementwise("copysign", 1, x), 0)


def _logaddexp(a: ndarray, b: ndarray, base2: builtins.bool = False) -> ndarray:
    both = _core.elementwise("equal", a, b)
    largest = _core.elementwise("maximum", a, b)
    gap = _core.elementwise("negative", _core.elementwise("absolute", _sub(a, b)))
    if base2:
        tail = _core.elementwise(
            "true_divide", _core.elementwise("log1p", _core.elementwise("exp2", gap)), math.log(2)
        )
        tie = _core.elementwise("add", a, 1)
    else:
        tail = _core.elementwise("log1p", _core.elementwise("exp", gap))
        tie = _core.elementwise("add", a, math.log(2))
    return where(both, tie, _core.elementwise("add", largest, tail))


def _sub(a: ndarray, b: ndarray) -> ndarray:
    return _core.elementwise("subtract", a, b)


def _fminmax(name: str) -> Callable[[ndarray, ndarray], ndarray]:
    """NumPy's fmax/fmin: the larger/smaller, ignoring a NaN; equal values give the first."""
    extreme = _table(name)
    order = "greater_equal" if name == "maximum" else "less_equal"

    def body(a: ndarray, b: ndarray) -> ndarray:
        if a.dtype.kind not in "fc":
            return extreme(a, b)
        if a.dtype.kind == "c":
            picked = where(_core.elementwise("isnan", b), a, extreme(a, b))
            return where(_core.elementwise("isnan", a), b, picked)
        keep = _core.elementwise(
            "logical_or", _core.elementwise(order, a, b), _core.elementwise("isnan", b)
        )
        return where(keep, a, b)

    return body


def _fmod(a: ndarray, b: ndarray) -> ndarray:
    """C's fmod: the remainder has the sign of the dividend."""
    if a.dtype.kind == "f":
        magnitude = _core.elementwise(
            "remainder", _core.elementwise("absolute", a), _core.elementwise("absolute", b)
        )
        return _core.elementwise("copysign", magnitude, a)
    rem = _core.elementwise("remainder", a, b)
    if a.dtype.kind != "i":
        return rem
    signs_differ = _core.elementwise(
        "not_equal", _core.elementwise("less", a, 0), _core.elementwise("less", b, 0)
    )
    fix = _core.elementwise("logical_and", signs_differ, _core.elementwise("not_equal", rem, 0))
    return where(fix, _sub(rem, b), rem)


def _cbrt(x: ndarray) -> ndarray:
    magnitude = _core.elementwise("absolute", x)
    guess = _core.elementwise("copysign", _core.elementwise("power", magnitude, 1.0 / 3.0), x)
    # One Newton step, y - (y - x / y**2) / 3 (no overflow near the dtype's maximum), makes
    # perfect cubes exact and the rest ~1 ulp; 0, inf and NaN keep the first guess.
    square_ = _core.elementwise("multiply", guess, guess)
    step = _sub(guess, _core.elementwise("true_divide", x, square_))
    refined = _sub(guess, _core.elementwise("true_divide", step, 3))
    plain = _core.elementwise(
        "logical_or",
        _core.elementwise("equal", guess, 0),
        _core.elementwise("logical_not", _core.elementwise("isfinite", refined)),
    )
    return where(plain, guess, refined)


def _heaviside(x: ndarray, h0: ndarray) -> ndarray:
    one = _cast(1, x.dtype)
    zero = _cast(0, x.dtype)
    at_zero = where(_core.elementwise("equal", x, 0), h0, _cast(math.nan, x.dtype))
    return where(
        _core.elementwise("less", x, 0),
        zero,
        where(_core.elementwise("greater", x, 0), one, at_zero),
    )


def _float_power(a: ndarray, b: ndarray) -> ndarray:
    return _core.elementwise("power", a, b)


def _fabs(x: ndarray) -> ndarray:
    return _core.elementwise("absolute", x)


_COMPOSED: dict[str, Compute] = {
    "positive": _composed(np.positive, _positive),
    "signbit": _composed(np.signbit, _signbit),
    "logaddexp": _composed(np.logaddexp, _logaddexp, widen=True),
    "logaddexp2": _composed(np.logaddexp2, lambda a, b: _logaddexp(a, b, True), widen=True),
    "fmax": _composed(np.fmax, _fminmax("maximum")),
    "fmin": _composed(np.fmin, _fminmax("minimum")),
    "fmod": _composed(np.fmod, _fmod),
    "cbrt": _composed(np.cbrt, _cbrt, widen=True),
    "heaviside": _composed(np.heaviside, _heaviside),
    "float_power": _composed(np.float_power, _float_power),
    "fabs": _composed(np.fabs, _fabs),
}


# ----------------------------------------------------------------------------- the ufuncs
def _with_dtype(ufunc: np.ufunc, args: Sequence[Any], dtype: Any) -> list[Any]:
    """NumPy's ``dtype=``: the loop whose output is ``dtype``; inputs cast to its input
    dtypes under 'same_kind'."""
    spec = tuple(_core._loop_spec(a) for a in args) + (None,) * ufunc.nout
    signature = (None,) * ufunc.nin + (np.dtype(dtype),) * ufunc.nout
    loop = ufunc.resolve_dtypes(spec, signature=signature)
    cast: list[Any] = []
    for a, want in zip(args, loop[: len(args)], strict=True):
        if type(a) in _core.PYTHON_SCALARS:
            cast.append(_core.wrap(_core.weak_scalar(a, want)))
            continue
        have = _core.dtype_of(a)
        if not np.can_cast(have, want, "same_kind"):
            raise TypeError(
                f"{ufunc.__name__}: cannot cast input from {have} to {want} (dtype={dtype}) "
                "with casting rule 'same_kind'"
            )
        cast.append(_cast(a, want))
    return cast


def _make_ufunc(name: str, nin: int, compute: Compute, ufunc: np.ufunc | None) -> Any:
    def function(*arguments: Any, out: Any = None, dtype: Any = None, **kwargs: Any) -> Any:
        args = list(arguments)
        if len(args) == nin + 1 and out is None:
            out = args.pop()  # NumPy accepts out positionally
        if len(args) != nin:
            raise TypeError(f"{name}() takes {nin} positional argument(s), got {len(args)}")
        if kwargs.get("where", True) is True:
            kwargs.pop("where", None)
        if kwargs:
            raise TypeError(
                f"{name}: keyword {sorted(kwargs)[0]!r} is not supported by jitgraph.numpy "
                "(supported: out=, dtype=)"
            )
        if dtype is not None:
            if ufunc is None:
                raise TypeError(f"{name}: dtype= is not supported")
            args = _with_dtype(ufunc, args, dtype)
        result = compute(*args)
        if dtype is not None and result.dtype != np.dtype(dtype):
            result = _cast(result, dtype)
        if out is not None:
            return _core._write_out(out, result)
        return result

    function.__name__ = function.__qualname__ = name
    source = ufunc.__name__ if ufunc is not None else name
    function.__doc__ = (
        f"NumPy's ``{source}`` elementwise, lazily (NumPy's dtypes and broadcasting)."
    )
    return function


def _register(name: str, function: Any) -> None:
    globals()[name] = function
    __all__.append(name)


# Ufuncs of the scalar table, by the table's (NumPy's) name.
_TABLE_UFUNCS = sorted(n for n in SCALAR_OPS if isinstance(getattr(np, n, None), np.ufunc))

# Other public names of those (Array API names and NumPy aliases) -> the source name.
_ALIASES = {
    "abs": "absolute", "acos": "arccos", "acosh": "arccosh", "asin": "arcsin",
    "asinh": "arcsinh", "atan": "arctan", "atan2": "arctan2", "atanh": "arctanh",
    "bitwise_invert": "invert", "bitwise_not": "invert", "bitwise_left_shift": "left_shift",
    "bitwise_right_shift": "right_shift", "conjugate": "conj", "divide": "true_divide",
    "pow": "power", "degrees": "rad2deg", "radians": "deg2rad", "mod": "remainder",
}  # fmt: skip

_IMPLEMENTATIONS: dict[str, tuple[Compute, np.ufunc]] = {
    name: (_table(name), getattr(np, name)) for name in _TABLE_UFUNCS
}
_IMPLEMENTATIONS.update({name: (c, getattr(np, name)) for name, c in _COMPOSED.items()})
for _name, (_compute, _ufunc) in _IMPLEMENTATIONS.items():
    _register(_name, _make_ufunc(_name, _ufunc.nin, _compute, _ufunc))
for _alias, _source in _ALIASES.items():
    _compute, _ufunc = _IMPLEMENTATIONS[_source]
    _register(_alias, _make_ufunc(_alias, _ufunc.nin, _compute, _ufunc))


# ----------------------------------------------------------------------------- functions
def _call(name: str, *args: Any) -> ndarray:
    """The computation of the public elementwise function ``name`` (no out=/dtype=)."""
    return _IMPLEMENTATIONS[name][0](*args)


def where(condition: Any, x: Any = None, y: Any = None, /) -> ndarray:
    """``x`` where ``condition`` holds, else ``y`` (NumPy's promotion of x and y, weak
    Python scalars). With ``condition`` alone: ``nonzero(condition)`` (eager).

    >>> import jitgraph.numpy as jnp
    >>> jnp.where(jnp.asarray([True, False]), jnp.asarray([1.5, 2.5], dtype=jnp.float32), 0)
    jnp.array([1.5, 0. ], dtype=float32)
    """
    if x is None and y is None:
        return _core._namespace().nonzero(condition)
    if x is None or y is None:
        raise ValueError("where: either both or neither of x and y should be given")
    common = _core.result_type(x, y)
    # NumPy casts a Python scalar that does not fit unsafely here (where(c, int8, 1000)
    # holds -24), unlike arithmetic, which raises OverflowError.
    xv, yv = (_where_operand(v, common) for v in (x, y))
    return _node("where", _core.as_var(condition, dtype="bool"), xv, yv)


def _where_operand(value: Any, dtype: np.dtype[Any]) -> Any:
    if type(value) in _core.PYTHON_SCALARS:
        with np.errstate(over="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return _core.as_var(np.array(value).astype(dtype))  # host data: any device
    return _core.as_var(value, dtype=dtype)


def real(val: Any, /) -> ndarray:
    """The real part (a view in NumPy); a real array is returned as it is."""
    if _core.dtype_of(val).kind == "c":
        return _core.as_view(_node("real", val), val)
    return _core.as_view(_core.wrap(_core.as_var(val)), val)


def imag(val: Any, /) -> ndarray:
    """The imaginary part (zeros of the same dtype for a real array)."""
    result = _node("imag", val)
    if _core.dtype_of(val).kind == "c":
        return _core.as_view(result, val)
    return result


def angle(z: Any, deg: builtins.bool = False) -> ndarray:
    """The argument of complex ``z`` (radians, or degrees with ``deg``)."""
    if _core.dtype_of(z).kind == "c":
        result = _IMPLEMENTATIONS["arctan2"][0](imag(z), real(z))
    else:
        result = _IMPLEMENTATIONS["arctan2"][0](0, z)
    if deg:
        result = _core.elementwise("multiply", result, 180 / math.pi)
    return result


def _clip_bound(x_dtype: np.dtype[Any], bound: Any) -> Any:
    # NumPy 2 clips an integer array with an out-of-range Python int by its dtype's range.
    if type(bound) is int and x_dtype.kind in "iu":
        info = np.iinfo(x_dtype)
        return int(min(max(bound, info.min), info.max))
    return bound


def clip(
    a: Any,
    /,
    min: Any = None,  # noqa: A002 - the Array API's name (NumPy's a_min, positionally)
    max: Any = None,  # noqa: A002 - the Array API's name (NumPy's a_max, positionally)
    out: Any = None,
    *,
    a_min: Any = None,
    a_max: Any = None,
) -> Any:
    """``a`` limited to [min, max] (NumPy's ``clip(a, a_min, a_max)`` and the Array API's
    ``clip(x, min=, max=)``); NaN bounds and values propagate.

    >>> import jitgraph.numpy as jnp
    >>> jnp.clip(jnp.asarray([-3, 5, 100], dtype=jnp.int8), 0, 300)
    jnp.array([  0,   5, 100], dtype=int8)
    """
    if a_min is not None and min is not None or a_max is not None and max is not None:
        raise TypeError("clip: give a bound either positionally (a_min/a_max) or as min=/max=")
    lo = _clip_bound(_core.dtype_of(a), a_min if a_min is not None else min)
    hi = _clip_bound(_core.dtype_of(a), a_max if a_max is not None else max)
    present = [b for b in (lo, hi) if b is not None]
    ufunc = _CLIP_UFUNC if len(present) == 2 else (np.maximum if lo is not None else np.minimum)
    if not present:
        result = (
            _IMPLEMENTATIONS["positive"][0](a)
            if _core.dtype_of(a).kind != "b"
            else _cast(a, "bool")
        )
    else:
        ops, out_dtype = _loop_operands(ufunc, [a, *present])
        result = ops[0]
        if lo is not None:
            result = _IMPLEMENTATIONS["maximum"][0](result, ops[1])
        if hi is not None:
            result = _IMPLEMENTATIONS["minimum"][0](result, ops[-1])
    if out is not None:
        return _core._write_out(out, result)
    return result


def round(a: Any, /, decimals: int = 0, out: Any = None) -> Any:  # noqa: A001 - NumPy's name
    """Round to ``decimals`` decimal places, halves to even (NumPy's ``round``): floats
    through ``x * 10**decimals``, complex parts separately, integers exactly.

    >>> import jitgraph.numpy as jnp
    >>> jnp.round(jnp.asarray([0.5, 1.5, 2.675]), 2), jnp.round(jnp.asarray([15, 25]), -1)
    (jnp.array([0.5 , 1.5 , 2.68]), jnp.array([20, 20]))
    """
    x = a if isinstance(a, ndarray) else _core.wrap(_core.as_var(a))
    kind = x.dtype.kind
    if kind == "c":
        parts = [round(p, decimals) for p in (real(x), imag(x))]
        result = _cast(_node("complex", *parts), x.dtype)
    elif kind == "b" and decimals != 0:
        raise TypeError(f"round: cannot round a bool array to {decimals} decimals (NumPy's error)")
    elif kind in "iu":
        result = _round_integers(x, decimals)
    elif decimals == 0:
        result = _core.elementwise("rint", x)
    elif decimals > 0:
        scale = 10.0**decimals
        scaled = _core.elementwise("multiply", x, scale)
        result = _core.elementwise("true_divide", _core.elementwise("rint", scaled), scale)
    else:
        scale = 10.0**-decimals
        scaled = _core.elementwise("true_divide", x, scale)
        result = _core.elementwise("multiply", _core.elementwise("rint", scaled), scale)
    if out is not None:
        return _core._write_out(out, result)
    return result


def _round_integers(x: ndarray, decimals: int) -> ndarray:
    if decimals >= 0:
        return _cast(x, x.dtype)
    step = 10**-decimals
    if step > np.iinfo(x.dtype).max:
        return _cast(_core.elementwise("multiply", x, 0), x.dtype)
    quotient = _core.elementwise("floor_divide", x, step)
    rest = _sub(x, _core.elementwise("multiply", quotient, step))
    odd = _core.elementwise("equal", _core.elementwise("remainder", quotient, 2), 1)
    above = _core.elementwise("greater", rest, _sub(_cast(step, x.dtype), rest))
    tie = _core.elementwise("equal", rest, _sub(_cast(step, x.dtype), rest))
    up = _core.elementwise("logical_or", above, _core.elementwise("logical_and", tie, odd))
    bumped = _core.elementwise("add", quotient, _cast(up, x.dtype))
    return _core.elementwise("multiply", bumped, step)


def isclose(
    a: Any, b: Any, rtol: Any = 1e-05, atol: Any = 1e-08, equal_nan: builtins.bool = False
) -> ndarray:
    """NumPy 2's ``isclose``: ``|a - b| <= atol + rtol * |b|`` for finite ``b``, or equal
    (so infinities of the same sign are close); NaNs are close to NaNs with ``equal_nan``."""
    y = b
    if type(b) is int:
        y = float(b)
    elif type(b) not in _core.PYTHON_SCALARS:
        y = _cast(b, np.result_type(_core.dtype_of(b), 1.0))
    diff = _call("absolute", _call("subtract", a, y))
    bound = _call("add", atol, _call("multiply", rtol, _call("absolute", y)))
    close = _call("logical_and", _call("less_equal", diff, bound), _call("isfinite", y))
    result = _call("logical_or", close, _call("equal", a, y))
    if equal_nan:
        both_nan = _call("logical_and", _call("isnan", a), _call("isnan", y))
        result = _call("logical_or", result, both_nan)
    return result


def allclose(
    a: Any, b: Any, rtol: Any = 1e-05, atol: Any = 1e-08, equal_nan: builtins.bool = False
) -> builtins.bool:
    """Whether every element of ``a`` is close to ``b`` (see ``isclose``): a Python bool,
    so it needs values (TracerError under ``@jit``)."""
    close = isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return builtins.bool(np.all(_core.concrete(close, "allclose")))


def array_equal(a1: Any, a2: Any, equal_nan: builtins.bool = False) -> builtins.bool:
    """Whether ``a1`` and ``a2`` have the same shape and elements (a Python bool)."""
    x1 = a1 if isinstance(a1, ndarray) else _core.wrap(_core.as_var(a1))
    x2 = a2 if isinstance(a2, ndarray) else _core.wrap(_core.as_var(a2))
    if tuple(x1.shape) != tuple(x2.shape):
        return False
    same = _call("equal", x1, x2)
    if equal_nan and x1.dtype.kind in "fc" and x2.dtype.kind in "fc":
        both_nan = _call("logical_and", _call("isnan", x1), _call("isnan", x2))
        same = _call("logical_or", same, both_nan)
    return builtins.bool(np.all(_core.concrete(same, "array_equal")))


def nan_to_num(
    x: Any,
    copy: builtins.bool = True,
    nan: Any = 0.0,
    posinf: Any = None,
    neginf: Any = None,
) -> ndarray:
    """NaN replaced by ``nan``, infinities by ``posinf``/``neginf`` (default: the dtype's
    largest/smallest finite value); complex parts separately; other dtypes unchanged."""
    value = x if isinstance(x, ndarray) else _core.wrap(_core.as_var(x))
    kind = value.dtype.kind
    if kind == "c":
        parts = [
            nan_to_num(p, nan=nan, posinf=posinf, neginf=neginf) for p in (real(value), imag(value))
        ]
        return _cast(_node("complex", *parts), value.dtype)
    if kind != "f":
        return _cast(value, value.dtype)
    info = np.finfo(value.dtype)
    big = info.max if posinf is None else posinf
    small = info.min if neginf is None else neginf
    fill = [_cast(v, value.dtype) for v in (nan, big, small)]
    result = where(_call("isnan", value), fill[0], value)
    result = where(_call("equal", value, math.inf), fill[1], result)
    return where(_call("equal", value, -math.inf), fill[2], result)


def _infinity_test(name: str, sign_wanted: builtins.bool) -> Any:
    def function(x: Any, out: Any = None) -> Any:
        if _core.dtype_of(x).kind == "c":
            raise TypeError(f"{name}: this operation is not supported for complex values")
        infinite = _call("isinf", x)
        negative_ = _call("signbit", x)
        if not sign_wanted:
            negative_ = _call("logical_not", negative_)
        result = _call("logical_and", infinite, negative_)
        if out is not None:
            return _core._write_out(out, result)
        return result

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"NumPy's ``{name}``: elementwise test for {'-' if sign_wanted else '+'}inf."
    return function


isneginf = _infinity_test("isneginf", True)
isposinf = _infinity_test("isposinf", False)


def sinc(x: Any) -> ndarray:
    """The normalized sinc, sin(pi x) / (pi x), and 1 at 0 (NumPy's dtypes)."""
    scaled = _call("multiply", math.pi, x)
    # NumPy's guard against 0 / 0: the dtype's eps in place of 0.
    eps = float(np.finfo(scaled.dtype).eps) if scaled.dtype.kind == "f" else 1.0e-20
    safe = where(_call("not_equal", scaled, 0), scaled, eps)
    return _call("true_divide", _call("sin", safe), safe)


def divmod(x1: Any, x2: Any, /, out: Any = None) -> Any:  # noqa: A001 - NumPy's name
    """``(floor_divide(x1, x2), remainder(x1, x2))``."""
    result = (_IMPLEMENTATIONS["floor_divide"][0](x1, x2), _IMPLEMENTATIONS["remainder"][0](x1, x2))
    if out is not None:
        return _core._write_out(out, result)
    return result


around = round
__all__ += [
    "real", "imag", "angle", "clip", "round", "around", "isclose", "allclose",
    "array_equal", "nan_to_num", "isneginf", "isposinf", "sinc", "divmod",
]  # fmt: skip
