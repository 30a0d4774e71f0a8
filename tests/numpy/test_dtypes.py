"""jitgraph.numpy's dtypes, limits, promotion, casting and namespace info against NumPy 2."""

from __future__ import annotations

import math
import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jitgraph.numpy as jnp
from jitgraph.numpy import _core

DTYPES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
]  # fmt: skip
KINDS = [
    "bool", "signed integer", "unsigned integer", "integral", "real floating",
    "complex floating", "numeric", ("bool", "real floating"), ("integral", "complex floating"),
]  # fmt: skip


def test_dtype_names_are_numpys_scalar_types() -> None:
    for name in DTYPES:
        assert getattr(jnp, name) is getattr(np, name), name
        assert jnp.asarray(np.zeros(1, name)).dtype == np.dtype(name)
    assert jnp.bool is np.bool
    assert (jnp.e, jnp.pi, jnp.inf, jnp.newaxis) == (math.e, math.pi, math.inf, None)
    assert math.isnan(jnp.nan)


@pytest.mark.parametrize("name", DTYPES)
def test_finfo_iinfo_accept_dtypes_and_arrays(name: str) -> None:
    array = jnp.asarray(np.zeros(2, name))
    if np.dtype(name).kind in "fc":
        for source in (getattr(jnp, name), np.dtype(name), array):
            info, want = jnp.finfo(source), np.finfo(name)
            fields = ("bits", "eps", "max", "min", "smallest_normal", "dtype")
            assert [getattr(info, f) for f in fields] == [getattr(want, f) for f in fields]
        with pytest.raises(ValueError):
            jnp.iinfo(array)
    elif np.dtype(name).kind in "iu":
        for source in (getattr(jnp, name), np.dtype(name), array):
            info, want = jnp.iinfo(source), np.iinfo(name)
            fields = ("bits", "max", "min", "dtype")
            assert [getattr(info, f) for f in fields] == [getattr(want, f) for f in fields]
    with pytest.raises(TypeError):
        jnp.finfo("not a dtype")


def test_can_cast_matches_numpy_safe_rule() -> None:
    for a in DTYPES:
        array = jnp.asarray(np.zeros(1, a))
        for b in DTYPES:
            want = np.can_cast(a, b)
            assert jnp.can_cast(getattr(jnp, a), getattr(jnp, b)) is want, (a, b)
            assert jnp.can_cast(array, np.dtype(b)) is want, (a, b)
            assert jnp.can_cast(a, b, casting="same_kind") is np.can_cast(a, b, "same_kind")
    with pytest.raises(TypeError):
        jnp.can_cast(3, jnp.int8)


SCALARS = [True, 3, 300, 2.5, 1j]


def test_result_type_matches_numpy_nep50() -> None:
    for a in DTYPES:
        for b in DTYPES:
            assert jnp.result_type(a, b) == np.result_type(a, b), (a, b)
            arrays = (jnp.asarray(np.zeros(1, a)), np.zeros(1, b))
            assert jnp.result_type(*arrays) == np.result_type(a, b), (a, b)
        for scalar in SCALARS:
            assert jnp.result_type(getattr(jnp, a), scalar) == np.result_type(a, scalar)
    for scalars in [(1, 2.0), (True,), (1, 1j), (True, 2)]:
        assert jnp.result_type(*scalars) == np.result_type(*scalars), scalars


def test_isdtype_all_kinds() -> None:
    for name in DTYPES:
        for kind in KINDS:
            assert jnp.isdtype(np.dtype(name), kind) is np.isdtype(np.dtype(name), kind)
        assert jnp.isdtype(np.dtype(name), np.dtype(name)) is True
    with pytest.raises(TypeError):
        jnp.isdtype("float64", "real floating")
    with pytest.raises(ValueError):
        jnp.isdtype(np.dtype("float64"), "floating point")


def castable_values(source: str, target: str) -> np.ndarray:
    """Values of ``source`` whose cast to ``target`` NumPy defines (no NaN, inf or
    out-of-range float to an integer: those are undefined behaviour in C)."""
    s = np.dtype(source)
    if s.kind == "b":
        return np.array([False, True])
    if s.kind in "iu":
        info = np.iinfo(s)
        return np.array([0, 1, 7, info.max, info.min, info.max // 3], s)
    values = np.array([0.0, -0.0, 1.0, -1.0, 2.75, -3.5, 100.0, np.nan, np.inf, -np.inf], s)
    if s.kind == "c":
        values = values + np.array(1.5j, s)
    if np.dtype(target).kind in "iu":
        real = values.real
        keep = np.isfinite(real) & (np.trunc(real) >= np.iinfo(target).min)
        keep &= np.trunc(real) <= min(np.iinfo(target).max, 2**53)
        values = values[keep]
    return values


def test_astype_every_pair_matches_numpy() -> None:
    """All 196 casts in one program (complex to real keeps the real part and warns)."""
    results = []
    for source in DTYPES:
        for target in DTYPES:
            with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
                warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
                values = castable_values(source, target)
                want = values.astype(target)
                got = jnp.astype(values, getattr(jnp, target))
            assert got.dtype == np.dtype(target)
            results.append((source, target, got, want))
    _core.evaluate([got for _, _, got, _ in results])
    for source, target, got, want in results:
        np.testing.assert_array_equal(np.asarray(got), want, err_msg=f"{source} -> {target}")


def test_astype_copy_device_casting_and_warning() -> None:
    x = jnp.asarray(np.arange(3.0))
    assert jnp.astype(x, jnp.float64, copy=False) is x
    copied = jnp.astype(x, jnp.float64)
    assert copied is not x and copied.dtype == np.float64
    with pytest.warns(np.exceptions.ComplexWarning):
        jnp.astype(np.array([1 + 2j]), jnp.float32)
    with pytest.raises(ValueError, match="device"):
        jnp.astype(x, jnp.int8, device="tpu")
    with pytest.raises(TypeError, match="casting"):
        jnp.astype(x, jnp.int8, casting="safe")
    assert jnp.astype(np.array([3]), "float32", device="cpu").dtype == np.float32


@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=2), elements=st.floats(-1e3, 1e3))
)
def test_astype_values_float64_to_float32_int32(values: np.ndarray) -> None:  # fmt: skip
    got = [jnp.astype(values, jnp.float32), jnp.astype(values, jnp.int32)]
    _core.evaluate(got)
    np.testing.assert_array_equal(np.asarray(got[0]), values.astype(np.float32))
    np.testing.assert_array_equal(np.asarray(got[1]), values.astype(np.int32))
    assert got[1].shape == values.shape


def test_namespace_info() -> None:
    info = jnp.__array_namespace_info__()
    assert info.capabilities() == {
        "boolean indexing": True,
        "data-dependent shapes": True,
        "max dimensions": 64,
    }
    assert info.default_device() == "cpu" and info.devices()[0] == "cpu"
    defaults = info.default_dtypes(device="cpu")
    assert defaults == {
        "real floating": np.dtype("float64"),
        "complex floating": np.dtype("complex128"),
        "integral": np.dtype("int64"),
        "indexing": np.dtype("int64"),
    }
    listed = [n for n in DTYPES if n != "float16"]  # float16 works but is not an Array API dtype
    assert list(info.dtypes()) == listed
    for kind in KINDS:
        want = {n for n in listed if np.isdtype(np.dtype(n), kind)}
        assert set(info.dtypes(kind=kind)) == want, kind
    with pytest.raises(ValueError):
        info.dtypes(device="tpu")


def test_finfo_fields_are_python_numbers():
    for name in ("float32", "float64", "complex64", "complex128"):
        info = jnp.finfo(np.dtype(name))
        reference = np.finfo(np.dtype(name))
        for field in ("eps", "max", "min", "smallest_normal"):
            value = getattr(info, field)
            assert type(value) is float and value == float(getattr(reference, field))
        assert type(info.bits) is int and info.dtype == reference.dtype
        assert info.tiny == reference.tiny  # NumPy's other fields pass through


def test_isdtype_takes_the_namespace_dtype_objects():
    assert jnp.isdtype(jnp.bool, "bool") and jnp.isdtype(jnp.float32, "real floating")
    assert not jnp.isdtype(jnp.int8, "unsigned integer")
    with pytest.raises(TypeError, match="must be a dtype"):
        jnp.isdtype("float32", "real floating")
