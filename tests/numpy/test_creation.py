"""jitgraph.numpy creation functions against NumPy: values, shapes and exact dtypes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jitgraph
import jitgraph.numpy as jnp
from jitgraph.testing import assert_same_as_numpy

pytestmark = pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")

DTYPES = ["bool", "int8", "int32", "int64", "uint8", "float32", "float64", "complex128"]
dtypes = st.sampled_from(DTYPES)
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


check = assert_same_as_numpy


def arrays(dtype: Any = dtypes, shape: Any = shapes) -> Any:
    return dtype.flatmap(lambda d: hnp.arrays(d, shape)) if not isinstance(dtype, str) else (
        hnp.arrays(dtype, shape)
    )  # fmt: skip


# ----------------------------------------------------------------------------- asarray
@given(arrays(), st.one_of(st.none(), dtypes))
def test_asarray_matches_numpy(value: np.ndarray, dtype: Any) -> None:
    with np.errstate(all="ignore"):
        expected = np.asarray(value, dtype=dtype)
        check(jnp.asarray(value, dtype=dtype), expected)


@given(
    st.one_of(
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False),
        st.complex_numbers(allow_nan=False, allow_infinity=False, max_magnitude=1e10),
        st.lists(st.integers(-100, 100), max_size=4),
        st.lists(st.lists(st.floats(-5, 5), min_size=2, max_size=2), max_size=3),
    )
)
def test_asarray_python_objects_take_numpy_default_dtypes(obj: Any) -> None:
    check(jnp.asarray(obj), np.asarray(obj))
    check(jnp.array(obj, ndmin=3), np.array(obj, ndmin=3))


def test_asarray_copies_writeable_numpy_arrays() -> None:
    source = np.arange(4.0)
    lazy = jnp.asarray(source) * 2
    copied = jnp.asarray(source, copy=True)
    source[:] = -1
    check(lazy, np.arange(4.0) * 2)
    check(copied, np.arange(4.0))


def test_asarray_copy_false_shares_memory_and_refuses_casts() -> None:
    source = np.arange(3.0)
    shared = jnp.asarray(source, copy=False)
    source[0] = 7.0
    assert np.asarray(shared)[0] == 7.0
    assert source.flags.writeable
    with pytest.raises(ValueError, match="copy"):
        jnp.asarray(source, dtype="float32", copy=False)
    with pytest.raises(ValueError):
        jnp.asarray([1, 2], copy=False)
    with pytest.raises(ValueError, match="copy"):
        jnp.asarray(jnp.arange(3), dtype="int8", copy=False)


def test_asarray_of_jnp_arrays() -> None:
    x = jnp.arange(3)
    assert jnp.asarray(x) is x
    assert jnp.asarray(x, copy=True) is not x
    check(jnp.asarray(x, dtype="float32"), np.arange(3, dtype="float32"))
    check(jnp.asarray([x, [5, 6, 7]]), np.array([[0, 1, 2], [5, 6, 7]]))
    check(
        jnp.asarray([jnp.float32(1.5), jnp.asarray(2, dtype="float32")]),
        np.array([np.float32(1.5), np.asarray(2, dtype="float32")]),
    )


def test_asarray_errors() -> None:
    with pytest.raises(ValueError, match="device"):
        jnp.asarray([1], device="tpu")
    with pytest.raises(TypeError, match="dtype"):
        jnp.asarray(["a", "b"])
    with pytest.raises(TypeError, match="dtype"):
        jnp.asarray([1], dtype="not a dtype")


def test_asarray_non_contiguous_and_byteswapped() -> None:
    base = np.arange(24.0).reshape(4, 6)
    check(jnp.asarray(base[::2, ::-3]), base[::2, ::-3])
    check(jnp.asarray(base.T), base.T)
    swapped = np.arange(5, dtype=">i4")
    check(jnp.asarray(swapped), swapped.astype("int32"))


def test_copy_and_ascontiguousarray() -> None:
    x = jnp.arange(3.0)
    assert jnp.copy(x) is not x
    check(jnp.copy(x), np.arange(3.0))
    check(jnp.ascontiguousarray(5.0), np.ascontiguousarray(5.0))
    check(jnp.ascontiguousarray(np.ones((2, 3)).T), np.ones((3, 2)))


def test_from_dlpack() -> None:
    source = np.arange(6.0).reshape(2, 3)
    check(jnp.from_dlpack(source), source)
    check(jnp.from_dlpack(jnp.arange(3)), np.arange(3))


# ----------------------------------------------------------------------------- filled arrays
@given(shapes, st.one_of(st.none(), dtypes))
def test_zeros_ones_empty(shape: tuple[int, ...], dtype: Any) -> None:
    check(jnp.zeros(shape, dtype=dtype), np.zeros(shape, dtype=dtype))
    check(jnp.ones(shape, dtype=dtype), np.ones(shape, dtype=dtype))
    assert jnp.empty(shape, dtype=dtype).dtype == np.empty(shape, dtype=dtype).dtype
    assert jnp.empty(shape, dtype=dtype).shape == shape


@given(
    shapes,
    st.one_of(st.booleans(), st.integers(-1000, 1000), st.floats(), st.complex_numbers()),
    st.one_of(st.none(), st.sampled_from(["int64", "float32", "float64", "complex128"])),
)
def test_full(shape: tuple[int, ...], fill: Any, dtype: Any) -> None:
    try:
        with np.errstate(all="ignore"):
            expected = np.full(shape, fill, dtype=dtype)
    except (OverflowError, ValueError, TypeError) as exc:
        with pytest.raises(type(exc)):
            jnp.full(shape, fill, dtype=dtype)
        return
    with np.errstate(all="ignore"):
        check(jnp.full(shape, fill, dtype=dtype), expected)


def test_full_broadcasts_array_values_and_raises_like_numpy() -> None:
    check(jnp.full((2, 3), [1, 2, 3]), np.full((2, 3), [1, 2, 3]))
    check(jnp.full(3, jnp.arange(3) * 2), np.arange(3) * 2)
    with pytest.raises(OverflowError):
        jnp.full(2, 300, dtype="int8")
    with pytest.raises(ValueError, match="negative"):
        jnp.zeros((2, -1))
    with pytest.raises(TypeError, match="shape"):
        jnp.ones((2.5,))


@given(arrays(), st.one_of(st.none(), dtypes))
def test_like_functions(value: np.ndarray, dtype: Any) -> None:
    x = jnp.asarray(value)
    check(jnp.zeros_like(x, dtype=dtype), np.zeros_like(value, dtype=dtype))
    check(jnp.ones_like(x, dtype=dtype), np.ones_like(value, dtype=dtype))
    assert jnp.empty_like(x, dtype=dtype).dtype == np.empty_like(value, dtype=dtype).dtype
    with np.errstate(all="ignore"):
        check(jnp.full_like(x, 2.75, dtype=dtype), np.full_like(value, 2.75, dtype=dtype))


def test_like_of_a_lazy_array_and_shape_argument() -> None:
    lazy = jnp.asarray(np.arange(6.0)) + 1
    check(jnp.zeros_like(lazy), np.zeros(6))
    check(jnp.ones_like(np.arange(3), shape=(2, 2)), np.ones((2, 2), dtype=int))


# ----------------------------------------------------------------------------- ranges
numbers = st.one_of(st.integers(-20, 20), st.floats(-20, 20).map(lambda v: round(v, 2)))


@given(numbers, st.one_of(st.none(), numbers), st.one_of(st.none(), numbers))
def test_arange(start: Any, stop: Any, step: Any) -> None:
    try:
        expected = np.arange(start, stop, step)
    except (ValueError, ZeroDivisionError) as exc:
        with pytest.raises(type(exc)):
            jnp.arange(start, stop, step)
        return
    check(jnp.arange(start, stop, step), expected)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "float32", "float64", None])
def test_arange_dtypes(dtype: Any) -> None:
    check(jnp.arange(0, 10, 3, dtype=dtype), np.arange(0, 10, 3, dtype=dtype))
    check(jnp.arange(np.int8(5)), np.arange(np.int8(5)))
    check(jnp.arange(np.float32(2.5)), np.arange(np.float32(2.5)))
    check(jnp.arange(jnp.asarray(4)), np.arange(4))


@given(
    st.floats(-10, 10),
    st.floats(-10, 10),
    st.integers(0, 12),
    st.booleans(),
    st.sampled_from([None, "float32", "int64", "complex128"]),
)
def test_linspace_and_logspace(
    start: float, stop: float, num: int, endpoint: bool, dtype: Any
) -> None:
    check(
        jnp.linspace(start, stop, num, endpoint=endpoint, dtype=dtype),
        np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype),
    )
    values, step = jnp.linspace(start, stop, num, endpoint=endpoint, retstep=True)
    expected, expected_step = np.linspace(start, stop, num, endpoint=endpoint, retstep=True)
    check(values, expected)
    np.testing.assert_equal(step, expected_step)
    if dtype != "int64":
        np.testing.assert_allclose(
            np.asarray(jnp.logspace(start / 5, stop / 5, num, endpoint=endpoint, dtype=dtype)),
            np.logspace(start / 5, stop / 5, num, endpoint=endpoint, dtype=dtype),
            rtol=1e-12,
        )


def test_linspace_errors() -> None:
    with pytest.raises(ValueError, match="num"):
        jnp.linspace(0, 1, -1)


# ----------------------------------------------------------------------------- matrices
@given(st.integers(0, 5), st.one_of(st.none(), st.integers(0, 5)), st.integers(-6, 6), dtypes)
def test_eye_identity_tri(n: int, m: Any, k: int, dtype: str) -> None:
    check(jnp.eye(n, m, k=k, dtype=dtype), np.eye(n, m, k=k, dtype=dtype))
    check(jnp.tri(n, m, k, dtype=dtype), np.tri(n, m, k, dtype=dtype))
    check(jnp.identity(n, dtype=dtype), np.identity(n, dtype=dtype))
    check(jnp.eye(n), np.eye(n))


def test_eye_errors() -> None:
    with pytest.raises(TypeError, match="N"):
        jnp.eye(2.5)
    with pytest.raises(ValueError):
        jnp.eye(-1)


@settings(max_examples=30)
@given(
    arrays(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4)),
    st.integers(-4, 4),
)
def test_tril_triu(value: np.ndarray, k: int) -> None:
    check(jnp.tril(value, k=k), np.tril(value, k=k))
    check(jnp.triu(jnp.asarray(value), k=k), np.triu(value, k=k))


def test_tril_non_contiguous_and_errors() -> None:
    base = np.arange(30.0).reshape(5, 6)[::2, ::-1]
    check(jnp.tril(base, 1), np.tril(base, 1))
    with pytest.raises(ValueError, match="0-d"):
        jnp.tril(jnp.asarray(1.0))


@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("sparse", [False, True])
def test_meshgrid(indexing: str, sparse: bool) -> None:
    a, b, c = np.arange(3), np.linspace(0, 1, 4, dtype="float32"), np.array([True, False])
    for args in [(a,), (a, b), (a, b, c), ()]:
        got = jnp.meshgrid(*args, indexing=indexing, sparse=sparse)
        expected = np.meshgrid(*args, indexing=indexing, sparse=sparse)
        assert isinstance(got, tuple) and len(got) == len(expected)
        for g, e in zip(got, expected):
            check(g, e)
    with pytest.raises(ValueError, match="indexing"):
        jnp.meshgrid(a, indexing="yx")


# ----------------------------------------------------------------------------- under @jit
def test_creation_with_traced_sizes_and_values() -> None:
    @jitgraph.jit
    def make(x: Any) -> Any:
        n = x.shape[0]
        return (
            jnp.zeros((n, 2)),
            jnp.full((2, n), x[0]),
            jnp.arange(n),
            jnp.eye(n, dtype="int32"),
            jnp.ones_like(x),
            jnp.tril(jnp.ones((n, n))),
            jnp.linspace(x[0], x[1], 5),
        )

    x = np.array([1.5, 3.0, 4.0])
    got = make(x)
    expected = (
        np.zeros((3, 2)),
        np.full((2, 3), 1.5),
        np.arange(3),
        np.eye(3, dtype="int32"),
        np.ones(3),
        np.tril(np.ones((3, 3))),
        np.linspace(1.5, 3.0, 5),
    )
    for g, e in zip(got, expected):
        e = np.asarray(e)
        value = np.asarray(g)
        assert value.dtype == e.dtype and value.shape == e.shape
        np.testing.assert_allclose(value, e)
