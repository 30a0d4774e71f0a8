"""jitgraph.numpy reductions, statistics, sorting, searching and sets against NumPy.

Each hypothesis example builds several results on one input and evaluates them together
(one compiled program per example), over all 14 dtypes, 0-d to 4-d shapes with empty
axes, axis/keepdims combinations, read-only non-contiguous inputs and NaN/inf values.
Dtypes must match NumPy's exactly, integer and sorting results bit for bit, float results
within a tolerance scaled by the number of values summed.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jitgraph
import jitgraph.numpy as jnp
from jitgraph.numpy import _core

DTYPES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
]  # fmt: skip
REAL = [d for d in DTYPES if not d.startswith("complex")]
SPECIAL = [np.nan, np.inf, -np.inf]


def _elements(dtype: np.dtype[Any]) -> st.SearchStrategy[Any]:
    """Integers over their whole range (sums wrap exactly as NumPy's); floats small enough
    that no partial sum or product overflows (the summation order is not NumPy's), with
    NaN and infinities; complex parts small, with NaN."""
    if dtype.kind in "biu":
        return hnp.from_dtype(dtype)
    if dtype.kind == "f":
        small = st.floats(-1.099609375, 1.099609375, width=8 * dtype.itemsize)
        return st.one_of(small, small, small, st.sampled_from(SPECIAL))
    part = st.one_of(
        st.floats(-1.099609375, 1.099609375, width=4 * dtype.itemsize), st.just(np.nan)
    )
    return st.builds(complex, part, part)


@st.composite
def arrays(draw: Any, dtypes: list[str] = DTYPES, nonempty: bool = False) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=int(nonempty), max_side=3))
    x = draw(hnp.arrays(dtype, shape, elements=_elements(dtype)))
    if draw(st.booleans()) and x.ndim:
        x = np.ascontiguousarray(x.T).T  # non-contiguous view: passed as is when read-only
    x.flags.writeable = False
    return x


def _axis(draw: Any, ndim: int) -> Any:
    if not ndim:  # NumPy's 0-d rules differ between functions: test_zero_d_axes
        return draw(st.sampled_from([None, ()]))
    return draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1), hnp.valid_tuple_axes(ndim)))


def _scale(x: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        values = np.abs(x.astype("complex128" if x.dtype.kind == "c" else "float64"))
    finite = values[np.isfinite(values)]
    return float(max(1.0, finite.max(initial=0.0)))


def _check(got: Any, expected: Any, x: np.ndarray, power: int = 1, what: str = "") -> None:
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype, (what, got.dtype, expected.dtype)
    assert got.shape == expected.shape, (what, got.shape, expected.shape)
    if expected.dtype.kind in "fc":
        eps = float(np.finfo(expected.dtype).eps)
        if x.dtype.kind in "fc":
            eps = max(eps, float(np.finfo(x.dtype).eps))
        tol = 8 * max(x.size, 2) * eps
        atol = tol * _scale(x) ** power
        np.testing.assert_allclose(got, expected, rtol=tol, atol=atol, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(got, expected, err_msg=what)


def _numpy(function: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def _evaluate(results: dict[str, Any]) -> dict[str, Any]:
    """Evaluate every result in one program, silencing warnings as ``_numpy`` does."""
    arrays = [r for r in results.values() if isinstance(r, jnp.ndarray)]
    _core.evaluate(arrays)
    return results


# ----------------------------------------------------------------------------- reductions
@st.composite
def reduction_cases(draw: Any) -> tuple[np.ndarray, Any, bool, int]:
    x = draw(arrays())
    return x, _axis(draw, x.ndim), draw(st.booleans()), draw(st.sampled_from([0, 1]))


@given(reduction_cases())
def test_reductions_with_identity_match_numpy(case: tuple[np.ndarray, Any, bool, int]) -> None:
    x, axis, keepdims, ddof = case
    kw = {"axis": axis, "keepdims": keepdims}
    names = ["sum", "prod", "mean", "all", "any", "count_nonzero", "nansum", "nanprod"]
    names += ["nanmean"] if x.dtype.kind != "c" else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = {name: getattr(jnp, name)(x, **kw) for name in names}
        for name in ["var", "std", "nanvar", "nanstd"]:
            got[name] = getattr(jnp, name)(x, ddof=ddof, **kw)
    _evaluate(got)
    for name, value in got.items():
        extra = {"ddof": ddof} if name in ("var", "std", "nanvar", "nanstd") else {}
        expected = _numpy(getattr(np, name), x, **kw, **extra)
        power = 2 if "var" in name else 1
        if name in ("prod", "nanprod"):
            value = _order_free_product(np.asarray(value), expected, x, axis, keepdims)
        _check(value, expected, x, power, f"{name}(axis={axis}, keepdims={keepdims})")


def _order_free_product(
    got: np.ndarray, expected: Any, x: np.ndarray, axis: Any, keepdims: bool
) -> np.ndarray:
    """``got`` with NumPy's value where the product's order decides between inf and NaN:
    an infinity times values whose partial product underflows to 0 is inf in one order
    (NumPy's, left to right) and inf * 0 = NaN in another (a pairwise tree); neither
    order is wrong. Anywhere else ``got`` is returned as it is."""
    expected = np.asarray(expected)
    if x.dtype.kind != "f" or got.shape != expected.shape or x.size == 0:
        return got
    picked = range(x.ndim) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    axes = tuple(sorted(a % x.ndim for a in picked))
    kept = [a for a in range(x.ndim) if a not in axes]
    rows = np.transpose(x, kept + list(axes)).reshape(*(x.shape[a] for a in kept), -1)
    with np.errstate(all="ignore"):
        magnitudes = np.where(np.isfinite(rows) & (rows != 0), np.abs(rows), np.inf)
        smallest = np.sort(magnitudes, axis=-1)[..., :2]
        underflows = (smallest.shape[-1] == 2) & (smallest[..., 0] * smallest[..., -1] == 0)
    ambiguous = np.isinf(rows).any(axis=-1) & underflows
    if keepdims:
        ambiguous = np.expand_dims(ambiguous, axes)
    disagree = np.isnan(got) != np.isnan(expected)
    return np.where(ambiguous & disagree, expected, got)


@st.composite
def extremum_cases(draw: Any) -> tuple[np.ndarray, Any, Any, bool]:
    x = draw(arrays())
    single = draw(st.none() | (st.integers(-x.ndim, x.ndim - 1) if x.ndim else st.none()))
    return x, _axis(draw, x.ndim), single, draw(st.booleans())


def _same_outcome(function: Any, reference: Any, x: np.ndarray, **kwargs: Any) -> Any:
    """``function``'s result, or None after checking that it raised as ``reference``."""
    try:
        expected = _numpy(reference, x, **kwargs)
    except ValueError as exc:
        if "reshape" in str(exc):  # NumPy's median of an empty array over axis=()
            return None
        with pytest.raises(ValueError) as info:
            function(x, **kwargs)
        assert str(info.value) == str(exc)
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(x, **kwargs), expected


@given(extremum_cases())
def test_extrema_and_arg_extrema_match_numpy(case: tuple[np.ndarray, Any, Any, bool]) -> None:
    x, axis, single, keepdims = case
    pairs: dict[str, Any] = {}
    for name in ["max", "min", "nanmax", "nanmin", "median"]:
        pairs[name] = _same_outcome(
            getattr(jnp, name), getattr(np, name), x, axis=axis, keepdims=keepdims
        )
    if x.dtype.kind != "b":
        pairs["ptp"] = _same_outcome(jnp.ptp, np.ptp, x, axis=axis, keepdims=keepdims)
    for name in ["argmax", "argmin"]:
        pairs[name] = _same_outcome(
            getattr(jnp, name), getattr(np, name), x, axis=single, keepdims=keepdims
        )
    pairs["max_initial"] = (
        jnp.max(x, axis=axis, keepdims=keepdims, initial=0),
        np.max(x, axis=axis, keepdims=keepdims, initial=0),
    )
    present = {k: v for k, v in pairs.items() if v is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _core.evaluate([got for got, _ in present.values()])
    for name, (got, expected) in present.items():
        _check(got, expected, x, 1, f"{name}(axis={axis}, keepdims={keepdims})")


# ----------------------------------------------------------------------------- along an axis
@st.composite
def axis_cases(draw: Any) -> tuple[np.ndarray, Any]:
    x = draw(arrays())
    if x.ndim == 0:
        return x, None
    return x, draw(st.none() | st.integers(-x.ndim, x.ndim - 1))


@given(axis_cases(), st.sampled_from([None, "int16", "float64"]))
def test_cumulative_match_numpy(case: tuple[np.ndarray, Any], dtype: Any) -> None:
    x, axis = case
    got: dict[str, Any] = {}
    for name in ["cumsum", "cumprod", "nancumsum", "nancumprod"]:
        if x.dtype.kind == "c" and dtype is not None:
            continue
        got[name] = (
            getattr(jnp, name)(x, axis=axis, dtype=dtype),
            _numpy(getattr(np, name), x, axis=axis, dtype=dtype),
        )
    if x.ndim <= 1 or axis is not None:
        for name in ["cumulative_sum", "cumulative_prod"]:
            got[name] = (
                getattr(jnp, name)(x, axis=axis, include_initial=True),
                _numpy(getattr(np, name), x, axis=axis, include_initial=True),
            )
    _core.evaluate([g for g, _ in got.values()])
    for name, (value, expected) in got.items():
        _check(value, expected, x, 1, f"{name}(axis={axis}, dtype={dtype})")


@given(axis_cases(), st.integers(0, 3), st.sampled_from([None, 0, 2.5]))
def test_diff_matches_numpy(case: tuple[np.ndarray, Any], n: int, end: Any) -> None:
    x, axis = case
    if x.ndim == 0:
        with pytest.raises(ValueError, match="at least one dimensional"):
            jnp.diff(x)
        return
    axis = -1 if axis is None else axis
    kwargs = {"n": n, "axis": axis}
    if end is not None:  # NumPy's default is no value: prepend=None would join None
        kwargs.update(prepend=end, append=end)
    try:
        expected = _numpy(np.diff, x, **kwargs)
    except TypeError:  # bool - float has no NumPy loop: the same error here
        with pytest.raises(TypeError):
            np.asarray(jnp.diff(x, **kwargs))
        return
    _check(jnp.diff(x, **kwargs), expected, x, 1, f"diff({kwargs})")


@given(axis_cases(), st.booleans())
def test_sort_and_stable_argsort_match_numpy_exactly(
    case: tuple[np.ndarray, Any], descending: bool
) -> None:
    x, axis = case
    if x.ndim == 0:
        axis = None
    values = jnp.sort(x, axis=axis)
    order = jnp.argsort(x, axis=axis, stable=True)
    backwards = jnp.argsort(x, axis=axis, descending=True)
    _core.evaluate([values, order, backwards])
    np.testing.assert_array_equal(values, np.sort(x, axis=axis))  # NaNs last, in place
    assert values.dtype == x.dtype
    np.testing.assert_array_equal(order, np.argsort(x, axis=axis, kind="stable"))
    assert order.dtype == np.int64
    # Descending and stable: equal values keep their input order (Array API).
    flat = x.reshape(-1) if axis is None else x
    along = 0 if axis is None else axis
    reverse = np.flip(np.argsort(np.flip(flat, along), axis=along, kind="stable"), along)
    np.testing.assert_array_equal(backwards, flat.shape[along] - 1 - reverse)


def test_sort_descending_and_defaults() -> None:
    x = np.array([2.0, np.nan, 1.0, 2.0])
    np.testing.assert_array_equal(jnp.sort(x, descending=True), [np.nan, 2.0, 2.0, 1.0])
    np.testing.assert_array_equal(jnp.argsort(x), [2, 0, 3, 1])  # stable without kind
    with pytest.raises(ValueError, match="kind"):
        jnp.sort(x, kind="quicksort", stable=True)
    with pytest.raises(np.exceptions.AxisError):
        jnp.sort(np.float64(1.0))


# ----------------------------------------------------------------------------- searching
@given(
    st.sampled_from(["int8", "uint16", "int64", "float32", "float64"]),
    st.lists(st.integers(-5, 5) | st.just(99), max_size=8),
    st.lists(st.integers(-6, 6) | st.just(99), max_size=5),
    st.sampled_from(["left", "right"]),
)
def test_searchsorted_matches_numpy(
    dtype: str, items: list[int], queries: list[int], side: str
) -> None:
    def values(seq: list[int]) -> np.ndarray:
        out = np.array(seq, dtype="float64")
        if dtype.startswith("float"):
            out[out == 99] = np.nan  # NaN sorts last
        return np.abs(out).astype(dtype) if dtype.startswith("u") else out.astype(dtype)

    a, v = np.sort(values(items)), values(queries)
    _check(jnp.searchsorted(a, v, side=side), np.searchsorted(a, v, side=side), a)
    order = np.argsort(values(items), kind="stable")
    got = jnp.searchsorted(values(items), v, side=side, sorter=order)
    _check(got, np.searchsorted(values(items), v, side=side, sorter=order), a)


# ----------------------------------------------------------------------------- sets
@given(arrays(dtypes=REAL))
def test_unique_functions_match_numpy(x: np.ndarray) -> None:
    for name in ["unique_all", "unique_counts", "unique_inverse"]:
        got, expected = getattr(jnp, name)(x), getattr(np, name)(x)
        assert type(got).__name__ == type(expected).__name__
        assert got._fields == expected._fields
        for g, e in zip(got, expected, strict=True):
            _check(g, e, x, 0, name)
    _check(jnp.unique_values(x), np.unique_values(x), x, 0, "unique_values")
    got_all = jnp.unique(x, return_index=True, return_inverse=True, return_counts=True)
    for g, e in zip(got_all, np.unique(x, True, True, True), strict=True):
        _check(g, e, x, 0, "unique")


def test_unique_keeps_nans_distinct_and_needs_values_under_jit() -> None:
    x = np.array([np.nan, 1.0, np.nan])
    assert jnp.unique_values(x).shape == (3,)
    assert jnp.unique(x).shape == (2,)  # NumPy's equal_nan=True
    with pytest.raises(jnp.TracerError, match="unique_values"):
        jitgraph.jit(jnp.unique_values)(x)


# ----------------------------------------------------------------------------- errors, warnings
ZERO_D_FUNCTIONS = [
    "sum", "prod", "max", "min", "all", "any", "mean", "var", "std", "count_nonzero",
    "nansum", "nanmean", "nanmax", "median", "ptp", "argmax", "cumsum",
]  # fmt: skip


@pytest.mark.parametrize("name", ZERO_D_FUNCTIONS)
def test_zero_d_axes(name: str) -> None:
    """NumPy's ufunc reductions accept axis 0/-1 on a 0-d array; mean, var, std and
    median raise AxisError; argmax and cumsum take no tuple."""
    z = np.array(2.5)
    for axis in [0, -1, ()]:
        try:
            expected = _numpy(getattr(np, name), z, axis=axis)
        except (np.exceptions.AxisError, TypeError) as exc:
            with pytest.raises(type(exc)):
                getattr(jnp, name)(z, axis=axis)
            continue
        _check(getattr(jnp, name)(z, axis=axis), expected, z, 1, f"{name}(axis={axis})")


def test_empty_reductions_follow_numpy() -> None:
    empty = np.zeros((0, 3))
    np.testing.assert_array_equal(jnp.sum(empty, axis=0), np.zeros(3))
    assert float(jnp.prod(empty)) == 1.0
    with pytest.raises(ValueError, match="zero-size array to reduction operation maximum"):
        jnp.max(empty, axis=0)
    with pytest.raises(ValueError, match="zero-size array to reduction operation fmin"):
        jnp.nanmin(empty)
    with pytest.raises(ValueError, match="attempt to get argmax of an empty sequence"):
        jnp.argmax(empty, axis=0)
    np.testing.assert_array_equal(jnp.max(empty, axis=0, initial=-1.0), [-1.0] * 3)
    assert jnp.max(empty, axis=1).shape == (0,)
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"):
        assert np.isnan(float(jnp.mean(empty)))
    with pytest.warns(RuntimeWarning, match="Degrees of freedom"):
        assert np.isinf(float(jnp.var(np.array([1.0, 2.0]), ddof=3)))


def test_nan_arg_extrema_raise_on_all_nan_slices() -> None:
    x = np.array([[np.nan, 1.0], [np.nan, 3.0]])
    with pytest.raises(ValueError, match="All-NaN slice encountered"):
        jnp.nanargmax(x, axis=0)
    np.testing.assert_array_equal(jnp.nanargmin(x, axis=1), [1, 1])
    with pytest.raises(jnp.TracerError, match="nanargmax"):
        jitgraph.jit(jnp.nanargmax)(x)
    np.testing.assert_array_equal(jnp.nanmax(x, axis=0), [np.nan, 3.0])


def test_var_correction_and_dtype_arguments() -> None:
    x = np.array([1, 2, 4], dtype="int8")
    assert float(jnp.var(x, correction=1.5)) == pytest.approx(np.var(x, ddof=1.5))
    with pytest.raises(ValueError, match="simultaneously"):
        jnp.std(x, ddof=1, correction=1)
    assert jnp.sum(x, dtype="int8").dtype == np.int8
    assert jnp.mean(x, dtype="float32").dtype == np.float32
    assert jnp.cumulative_sum(x).dtype == np.int64
    with pytest.raises(ValueError, match="axis must be given"):
        jnp.cumulative_sum(np.ones((2, 2)))


def test_average_matches_numpy() -> None:
    x = np.arange(6, dtype="int32").reshape(2, 3)
    w = np.array([1.0, 2.0, 3.0], dtype="float32")
    for got, expected in [
        (jnp.average(x), np.average(x)),
        (jnp.average(x, axis=1, weights=w), np.average(x, axis=1, weights=w)),
        (jnp.average(x, axis=0, weights=x, keepdims=True), np.average(x, 0, x, keepdims=True)),
    ]:
        _check(got, expected, x)
    value, total = jnp.average(x, axis=1, weights=w, returned=True)
    _check(total, np.average(x, axis=1, weights=w, returned=True)[1], x)


def test_methods_and_traced_use() -> None:
    x = np.arange(12.0).reshape(3, 4)
    a = jnp.asarray(x)
    _check(a.sum(axis=0), x.sum(axis=0), x)
    _check(a.std(ddof=1), x.std(ddof=1), x)
    _check(a.argsort(axis=0), x.argsort(axis=0), x)

    @jitgraph.jit
    def statistics(v: Any) -> Any:
        return jnp.median(v, axis=1) + jnp.var(v, axis=1) + jnp.argmax(v, axis=1)

    expected = np.median(x, axis=1) + np.var(x, axis=1) + np.argmax(x, axis=1)
    _check(statistics(x), expected, x)
