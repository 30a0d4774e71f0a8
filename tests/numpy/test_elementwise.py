"""jitgraph.numpy's elementwise functions against NumPy 2: dtypes, values, edge cases.

Every function runs on all 14 dtypes at once (one compiled program per function: the
results of every dtype are evaluated together), on Hypothesis-drawn values joined with
the edge values of each dtype (NaN, +-inf, +-0, the integer extremes). Tolerances: exact
(bit for bit, -0.0 included) for integer and bool results and for the correctly rounded
ops; otherwise a few ulp of the result dtype (jitgraph's math library is not NumPy's).
"""

from __future__ import annotations

import warnings
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph.numpy as jnp
from jitgraph.numpy import _core

DTYPES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
]  # fmt: skip

# Functions by their computation; ALIASES are other names of the same computation.
UNARY = [
    "absolute", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "invert",
    "cbrt", "ceil", "conj", "cos", "cosh", "deg2rad", "exp", "exp2", "expm1", "fabs", "floor",
    "isfinite", "isinf", "isnan", "log", "log10", "log1p", "log2", "logical_not", "negative",
    "positive", "rad2deg", "reciprocal", "rint", "sign", "signbit", "sin", "sinh", "sqrt",
    "square", "tan", "tanh", "trunc", "real", "imag", "angle", "isneginf", "isposinf",
    "nan_to_num", "sinc", "round",
]  # fmt: skip
BINARY = [
    "add", "subtract", "multiply", "true_divide", "floor_divide", "remainder", "fmod", "power",
    "float_power", "arctan2", "hypot", "copysign", "nextafter", "logaddexp", "logaddexp2",
    "maximum", "minimum", "fmax", "fmin", "heaviside", "equal", "not_equal", "less",
    "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_xor",
    "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift", "isclose",
]  # fmt: skip
ALIASES = {
    "abs": "absolute", "acos": "arccos", "acosh": "arccosh", "asin": "arcsin",
    "asinh": "arcsinh", "atan": "arctan", "atanh": "arctanh", "atan2": "arctan2",
    "bitwise_invert": "invert", "bitwise_not": "invert", "bitwise_left_shift": "left_shift",
    "bitwise_right_shift": "right_shift", "conjugate": "conj", "divide": "true_divide",
    "pow": "power", "degrees": "rad2deg", "radians": "deg2rad", "mod": "remainder",
    "around": "round",
}  # fmt: skip


def value_dtypes(name: str) -> list[str]:
    """The dtypes whose values are compared for ``name``: every kind, with the integer
    widths rotating over the functions (each compiled kernel costs ~50 ms, and all 14 dtypes
    for every function would take minutes; the thorough profile takes all 14). Result
    dtypes and errors are checked on all 14 dtypes for every function (no compiling)."""
    if settings.default.max_examples >= 500:
        return DTYPES
    i = (UNARY + BINARY).index(name)
    signed, unsigned = ["int8", "int16", "int32", "int64"], ["uint8", "uint16", "uint32", "uint64"]
    return ["bool", signed[i % 4], unsigned[(i + 1) % 4], "float16", "float32", "float64",
            ["complex64", "complex128"][i % 2]]  # fmt: skip


# Functions computed exactly by IEEE (correctly rounded) or integer logic: compared bit
# for bit. The rest get ULPS units in the last place of the result dtype.
EXACT = {
    "abs", "absolute", "add", "subtract", "multiply", "divide", "true_divide", "sqrt",
    "negative", "positive", "square", "ceil", "floor", "trunc", "rint", "fabs", "copysign",
    "nextafter", "maximum", "minimum", "fmax", "fmin", "signbit", "real", "imag", "conj",
    "conjugate", "round", "around", "nan_to_num", "heaviside", "fmod", "remainder", "mod",
    "floor_divide",
}  # fmt: skip
# Of those, the ones still exact on complex inputs.
EXACT_COMPLEX = {"add", "subtract", "negative", "positive", "real", "imag", "conj", "conjugate"}
# NumPy's fmax/fmin of +0.0 and -0.0 depend on its loop (SIMD or C's fmax): either sign.
ZERO_SIGN_UNSPECIFIED = {"fmax", "fmin"}
ULPS = 4
# Complex transcendental functions and large-argument reductions are looser.
COMPLEX_RTOL = {"complex64": 1e-5, "complex128": 1e-12}


def edge_values(dtype: str) -> np.ndarray:
    d = np.dtype(dtype)
    if d.kind == "b":
        return np.array([False, True])
    if d.kind in "iu":
        info = np.iinfo(d)
        return np.array(sorted({0, 1, 2, 3, 7, info.max, info.min, info.max - 1, info.min + 1}), d)
    if d.kind == "f":
        tiny = np.finfo(d).smallest_normal
        values = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, 2.5, -2.5, 3.0, np.nan, np.inf, -np.inf]
        return np.array(values + [np.finfo(d).max, np.finfo(d).min, tiny, -tiny], d)
    parts = [0.0, -0.0, 1.5, -2.5, np.inf, np.nan, 0.5]
    return np.array([complex(r, i) for r in parts for i in parts[:5]], d)


def value_strategy(dtype: str) -> st.SearchStrategy[np.ndarray]:
    d = np.dtype(dtype)
    elements = hnp.from_dtype(d)
    if d.kind == "f":
        elements = hnp.from_dtype(d, min_value=-1e4, max_value=1e4)
    if d.kind == "c":
        elements = hnp.from_dtype(d, max_magnitude=1e4)
    return hnp.arrays(d, st.integers(0, 6), elements=elements)


def numpy_result(name: str, *args: Any) -> Any:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return getattr(np, name)(*args)


def jnp_result(name: str, *args: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(jnp, name)(*args)


def check_close(name: str, dtype: str, got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, NumPy {want.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape}, NumPy {want.shape}"
    exact = name in EXACT and (np.dtype(dtype).kind != "c" or name in EXACT_COMPLEX)
    if want.dtype.kind not in "fc" or exact:
        np.testing.assert_array_equal(got, want, err_msg=what, strict=True)
        if want.dtype.kind == "f":  # the sign of zero too (NaN's sign is unspecified)
            number = ~np.isnan(want)
            if name in ZERO_SIGN_UNSPECIFIED:
                number &= want != 0
            np.testing.assert_array_equal(np.signbit(got[number]), np.signbit(want[number]), what)
        return
    if want.dtype.kind == "c":
        rtol = COMPLEX_RTOL[want.dtype.name]
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, err_msg=what)
        return
    eps = float(np.finfo(want.dtype).eps)
    np.testing.assert_allclose(got, want, rtol=ULPS * eps, atol=ULPS * eps, err_msg=what)


def run_all(name: str, arguments: dict[str, tuple[Any, ...]]) -> None:
    """``name`` on each dtype's arguments: the result dtypes compared with NumPy's on every
    dtype, the values (evaluated in one program) on ``value_dtypes(name)``; where NumPy
    raises TypeError, jnp must too."""
    pending: list[tuple[str, Any, Any]] = []
    for dtype, args in arguments.items():
        try:
            want = numpy_result(name, *args)
        except TypeError:
            with pytest.raises(TypeError):
                jnp_result(name, *args)
            continue
        got = jnp_result(name, *args)
        assert got.dtype == np.asarray(want).dtype, f"{name}({dtype}): dtype"
        if dtype in value_dtypes(name):
            pending.append((dtype, got, np.asarray(want)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _core.evaluate([got for _, got, _ in pending])
    for dtype, got, want in pending:
        check_close(name, dtype, np.asarray(got), want, f"{name} on {dtype}")


def binary_operands(name: str, dtype: str, a: np.ndarray, b: np.ndarray) -> tuple[Any, Any]:
    """Every pairing of ``a`` and ``b`` (a column against a row), with integer exponents
    kept non-negative (NumPy raises ValueError for negative ones: see test below)."""
    if np.dtype(dtype).kind in "iu":
        if name in ("pow", "power"):
            b = np.abs(b.astype(np.int64) % 5).astype(dtype)
    return a[:, None], b[None, :]


# Few examples per function: the edge values are in every example, and each example
# evaluates the function on every dtype.
PER_FUNCTION = settings(max_examples=8)


@pytest.mark.parametrize("name", UNARY)
@PER_FUNCTION
@given(data=st.data())
def test_unary_against_numpy(name: str, data: st.DataObject) -> None:
    arguments = {}
    for dtype in DTYPES:
        drawn = data.draw(value_strategy(dtype), label=dtype)
        values = np.concatenate([edge_values(dtype), drawn])
        # A non-contiguous view of a NumPy array is passed in.
        spread = np.repeat(values, 2)[::2]
        arguments[dtype] = (spread,)
    run_all(name, arguments)


@pytest.mark.parametrize("name", BINARY)
@PER_FUNCTION
@given(data=st.data())
def test_binary_against_numpy(name: str, data: st.DataObject) -> None:
    arguments = {}
    for dtype in DTYPES:
        drawn = data.draw(value_strategy(dtype), label=dtype)
        values = np.concatenate([edge_values(dtype), drawn])
        arguments[dtype] = binary_operands(name, dtype, values, values[::-1].copy())
    run_all(name, arguments)


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_alias_is_the_same_computation(alias: str) -> None:
    source = ALIASES[alias]
    for dtype in DTYPES:
        args: tuple[Any, ...] = (edge_values(dtype),)
        if source in BINARY:
            args = binary_operands(alias, dtype, edge_values(dtype), edge_values(dtype))
        try:
            want = numpy_result(alias, *args)
        except TypeError:
            with pytest.raises(TypeError):
                jnp_result(alias, *args)
            continue
        got, same = jnp_result(alias, *args), jnp_result(source, *args)
        assert got.dtype == np.asarray(want).dtype == same.dtype, f"{alias} on {dtype}"
        ops = [getattr(x._variable.owner, "op", None) for x in (got, same)]
        assert ops[0] == ops[1], alias


# ----------------------------------------------------------------------------- NEP 50
SCALARS = [True, 3, -3, 300, 2**40, 2**64, 2.5, 1e300, 1 + 2j]


def outcome(function: Any, *args: Any) -> Any:
    """The result dtype of ``function(*args)``, or the type of the error it raises."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return function(*args).dtype
    except (TypeError, OverflowError) as exc:
        return OverflowError if isinstance(exc, OverflowError) else TypeError
    except ValueError:  # NumPy's negative integer power: an error of the values
        return ValueError


@pytest.mark.parametrize("name", ["add", "subtract", "less", "true_divide", "power"])
def test_promotion_table_matches_numpy(name: str) -> None:
    """Every pair of dtypes and every dtype with every kind of Python scalar (weak, both
    orders): jnp's result dtype (or error) is NumPy's. Nothing is computed."""
    arrays = {d: np.ones(2, d) for d in DTYPES}
    ours, theirs = getattr(jnp, name), getattr(np, name)
    for a in DTYPES:
        for b in DTYPES:
            pair = (arrays[a], arrays[b])
            assert outcome(ours, *pair) == outcome(theirs, *pair), f"{name}({a}, {b})"
        for scalar in SCALARS:
            for pair in [(arrays[a], scalar), (scalar, arrays[a])]:
                got, want = outcome(ours, *pair), outcome(theirs, *pair)
                if want is ValueError:
                    continue
                assert got == want, f"{name}{tuple(type(p).__name__ for p in pair)} on {a}"


def test_weak_scalars_keep_the_array_dtype() -> None:
    x8 = jnp.asarray(np.arange(4, dtype=np.int8))
    assert jnp.add(x8, 3).dtype == np.int8
    assert (jnp.asarray(np.ones(3, np.float32)) * 2.0).dtype == np.float32
    with pytest.raises(OverflowError):
        jnp.add(jnp.asarray(np.arange(3, dtype=np.uint8)), 300)
    with pytest.raises(TypeError):
        jnp.subtract(jnp.asarray([True, False]), jnp.asarray([True, True]))
    np.testing.assert_array_equal(
        np.asarray(jnp.add(x8, 125)), np.add(np.arange(4, dtype=np.int8), 125)
    )


# ----------------------------------------------------------------------------- shapes
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
       data=st.data())  # fmt: skip
def test_broadcasting_empty_and_0d(shapes: Any, data: st.DataObject) -> None:
    a, b, c = (
        data.draw(hnp.arrays(np.float64, s, elements=st.floats(-5, 5)), label=f"arg{i}")
        for i, s in enumerate(shapes.input_shapes)
    )
    results = [
        jnp.add(a, b),
        jnp.logaddexp(a, b),
        jnp.where(c > 0, a, b),
        jnp.clip(a, b, c),
        jnp.multiply(a, 2),
    ]
    _core.evaluate(results)
    with np.errstate(all="ignore"):
        wanted = [np.add(a, b), np.logaddexp(a, b), np.where(c > 0, a, b), np.clip(a, b, c), a * 2]
    for got, want in zip(results, wanted, strict=True):
        assert got.shape == np.shape(want) == shapes.result_shape or got.shape == np.shape(want)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-15)
        assert got.dtype == np.asarray(want).dtype


# ----------------------------------------------------------------------------- keywords
def test_out_dtype_and_refused_keywords() -> None:
    x = np.array([100, 120], np.int8)
    target = np.zeros(2, np.int16)
    returned = jnp.add(x, x, out=target)
    assert returned is target
    np.testing.assert_array_equal(target, np.add(x, x).astype(np.int16))
    wide = jnp.add(x, x, dtype=np.int16)
    assert wide.dtype == np.int16
    np.testing.assert_array_equal(np.asarray(wide), np.add(x, x, dtype=np.int16))
    rebound = jnp.asarray(np.zeros(2))
    jnp.sqrt(np.array([4.0, 9.0]), out=rebound)
    np.testing.assert_array_equal(np.asarray(rebound), [2.0, 3.0])
    with pytest.raises(TypeError, match="where"):
        jnp.add(x, x, where=np.array([True, False]))
    with pytest.raises(TypeError, match="casting"):
        jnp.add(x, x, casting="unsafe")
    with pytest.raises(TypeError):
        jnp.add(np.array([1.5]), 1, dtype=np.int64)  # float -> int is not 'same_kind'


# ----------------------------------------------------------------------------- functions
def test_where_promotes_like_numpy() -> None:
    cond = np.array([True, False, True])
    x16 = np.array([1.5, 2.5, 3.5], np.float16)
    x8 = np.array([1, 2, 3], np.int8)
    cases = [(cond, x16, 0.0), (cond, x16, 7), (cond, 1, 2.5), (cond, np.arange(3), x16)]
    cases += [(cond, x8, 1000), (np.array([0.0, 2.0, np.nan]), x8, x16)]
    results = [jnp.where(*case) for case in cases]
    _core.evaluate(results)
    for got, case in zip(results, cases, strict=True):
        want = np.where(*case)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(np.asarray(got), want)
    np.testing.assert_array_equal(np.asarray(jnp.where(np.array([0, 3, 0, 1]))[0]), [1, 3])
    with pytest.raises(ValueError, match="both or neither"):
        jnp.where(cond, x16)


def test_clip_forms() -> None:
    x = np.array([-3, 0, 5, 127], np.int8)
    f = np.array([-np.inf, -0.5, np.nan, 2.0, 9.0])
    cases = [
        (jnp.clip(x, 0, 300), np.clip(x, 0, 300)),
        (jnp.clip(x, 0.5, 1), np.clip(x, 0.5, 1)),
        (jnp.clip(x, min=1), np.clip(x, min=1)),
        (jnp.clip(x, max=2), np.clip(x, max=2)),
        (jnp.clip(f, -1.0, 1.0), np.clip(f, -1.0, 1.0)),
        (jnp.clip(f, np.nan, 1.0), np.clip(f, np.nan, 1.0)),
        (jnp.clip(f, 2.0, 1.0), np.clip(f, 2.0, 1.0)),
    ]
    _core.evaluate([got for got, _ in cases])
    for got, want in cases:
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(np.asarray(got), want)


@pytest.mark.parametrize("decimals", [-2, -1, 1, 2])
def test_round_decimals(decimals: int) -> None:
    values = {
        "float64": np.array([1.25, 2.675, -0.5, 1234.5678, np.nan, -np.inf, 150.0, 250.0]),
        "float32": np.array([1.25, 2.675, -0.5, 1234.5678, 150.0], np.float32),
        "int64": np.array([15, 25, -15, -25, 149, 150, 250, 7]),
        "int8": np.array([15, 25, -15, -25, 127, -128, 50, 7], np.int8),
        "complex128": np.array([1.25 + 2.675j, -0.5 - 150j]),
    }
    results = {d: jnp.round(v, decimals) for d, v in values.items()}
    _core.evaluate(list(results.values()))
    for dtype, got in results.items():
        want = np.round(values[dtype], decimals)
        assert got.dtype == want.dtype, dtype
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-15, err_msg=dtype)
    with pytest.raises(TypeError):
        jnp.round(np.array([True]), decimals)


def test_isclose_allclose_array_equal() -> None:
    a = np.array([1.0, np.nan, np.inf, -np.inf, 1e-9, 100.0])
    b = np.array([1.0 + 1e-6, np.nan, np.inf, np.inf, 0.0, 100.1])
    for equal_nan in (False, True):
        got = jnp.isclose(a, b, equal_nan=equal_nan)
        np.testing.assert_array_equal(np.asarray(got), np.isclose(a, b, equal_nan=equal_nan))
    ints = np.array([1, 2, 3], np.int8)
    assert jnp.isclose(ints, 2).dtype == np.bool_
    np.testing.assert_array_equal(np.asarray(jnp.isclose(ints, 2)), np.isclose(ints, 2))
    assert jnp.allclose(a[:1], b[:1]) is True
    assert jnp.allclose(a, b) is False
    assert jnp.allclose(a[:2], b[:2], equal_nan=True) is True
    assert jnp.array_equal(ints, [1, 2, 3]) is True
    assert jnp.array_equal(ints, [1, 2]) is False
    assert jnp.array_equal(a[:2], a[:2]) is False
    assert jnp.array_equal(a[:2], a[:2], equal_nan=True) is True


def test_nan_to_num_arguments_and_angle_degrees() -> None:
    x = np.array([np.nan, np.inf, -np.inf, -0.0, 2.0], np.float32)
    z = np.array([complex(np.nan, np.inf), complex(-np.inf, 1)])
    cases = [
        (jnp.nan_to_num(x, nan=-1.0, posinf=9.0), np.nan_to_num(x, nan=-1.0, posinf=9.0)),
        (jnp.nan_to_num(x, neginf=-9.0), np.nan_to_num(x, neginf=-9.0)),
        (jnp.nan_to_num(z), np.nan_to_num(z)),
        (jnp.angle(z[1:], deg=True), np.angle(z[1:], deg=True)),
        (jnp.angle(np.array([-1, 2], np.int8)), np.angle(np.array([-1, 2], np.int8))),
    ]  # fmt: skip
    _core.evaluate([got for got, _ in cases])
    for got, want in cases:
        assert got.dtype == want.dtype
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)


def test_real_imag_are_views_and_reject_writes() -> None:
    z = jnp.asarray(np.array([1 + 2j, 3 - 4j]))
    re = jnp.real(z)
    assert re.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(jnp.imag(z)), [2.0, -4.0])
    with pytest.raises(ValueError, match="view"):
        re += 1
    ints = np.array([1, 2], np.int16)
    assert jnp.imag(ints).dtype == np.int16
    np.testing.assert_array_equal(np.asarray(jnp.imag(ints)), [0, 0])


def test_functions_dispatch_from_numpy() -> None:
    """NumPy's ufuncs called on jnp arrays reach these functions (same names)."""
    x = jnp.asarray(np.array([1.0, 4.0]))
    for ufunc in [np.sqrt, np.absolute, np.degrees, np.conjugate, np.fmax, np.logaddexp2]:
        args = (x,) * ufunc.nin
        got = ufunc(*args)
        assert isinstance(got, jnp.ndarray), ufunc.__name__
        np.testing.assert_allclose(np.asarray(got), ufunc(*[np.asarray(a) for a in args]))


def test_negative_integer_power_and_out_of_range_comparisons() -> None:
    with pytest.raises(ValueError, match="negative integer powers"):
        np.asarray(jnp.power(np.array([2, 3]), np.array([1, -1])))
    x = np.array([-128, 0, 127], np.int8)
    names = ["less", "less_equal", "greater", "greater_equal", "equal", "not_equal"]
    cases = [(name, args) for name in names for args in [(x, 300), (300, x), (x, -300), (-300, x)]]
    results = [getattr(jnp, name)(*args) for name, args in cases]
    _core.evaluate(results)
    for got, (name, args) in zip(results, cases, strict=True):
        want = getattr(np, name)(*args)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(np.asarray(got), want, err_msg=f"{name}{args}")
