"""Tests of jitgraph/dtypes.py: the lattice, Theano's upcast, NEP 50 weak scalars, autocast."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitgraph import dtypes

ALL = list(dtypes.ALL)
# Python scalars of each kind, as NumPy 2 sees them (weak: NEP 50).
WEAK_VALUES = {"bool": True, "int64": 1, "float64": 1.0, "complex128": 1j}


def test_lattice_lists_are_consistent() -> None:
    assert set(dtypes.ALL) == set(dtypes.BOOL + dtypes.INTEGER + dtypes.FLOAT + dtypes.COMPLEX)
    assert len(set(dtypes.ALL)) == len(dtypes.ALL)
    assert all(np.dtype(d).kind == "f" for d in dtypes.FLOAT)
    assert all(np.dtype(d).kind == "u" for d in dtypes.UNSIGNED)
    assert dtypes.PREFIX["f"] == "float32" and dtypes.PREFIX["l"] == "int64"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (float, "float64"),
        ("f4", "float32"),
        (np.int16, "int16"),
        ("bool", "bool"),
        (complex, "complex128"),
    ],
)
def test_canonical(given: object, expected: str) -> None:
    assert dtypes.canonical(given) == expected


@pytest.mark.parametrize("bad", ["float128", "object", "S3", "not-a-dtype", object()])
def test_canonical_rejects_unsupported(bad: object) -> None:
    with pytest.raises(TypeError, match="dtype"):
        dtypes.canonical(bad)


@pytest.mark.parametrize("a", ALL)
@pytest.mark.parametrize("b", ALL)
def test_upcast_is_numpy_promote_types(a: str, b: str) -> None:
    assert dtypes.upcast(a, b) == np.promote_types(a, b).name


@given(st.lists(st.sampled_from(ALL), min_size=1, max_size=4))
@settings()
def test_upcast_many_is_a_fold_of_promote_types(many: list[str]) -> None:
    expected = np.dtype(many[0])
    for d in many[1:]:
        expected = np.promote_types(expected, d)
    assert dtypes.upcast(*many) == expected.name


def test_upcast_needs_an_operand() -> None:
    with pytest.raises(ValueError, match="at least one"):
        dtypes.upcast()


@given(
    strong=st.lists(st.sampled_from(ALL), min_size=1, max_size=3),
    weak=st.lists(st.sampled_from(sorted(WEAK_VALUES)), max_size=2),
)
@settings()
def test_result_dtype_matches_numpy2_weak_scalars(strong: list[str], weak: list[str]) -> None:
    arrays = [np.zeros(2, dtype=d) for d in strong]
    expected = np.result_type(*arrays, *[WEAK_VALUES[w] for w in weak]).name
    operands = [(d, False) for d in strong] + [(w, True) for w in weak]
    assert dtypes.result_dtype(operands) == expected


@pytest.mark.parametrize(
    ("strong", "value"),
    [
        ("int8", 1),  # int8 array + python int -> int8
        ("float32", 1.0),  # float32 + python float -> float32
        ("int8", 1.0),  # int + python float -> float64
        ("bool", 1),  # bool + python int -> int64
        ("uint8", 1),
        ("float16", 1j),  # complex64
        ("int32", 1j),  # complex128
        ("bool", True),
    ],
)
def test_result_dtype_nep50_cases(strong: str, value: object) -> None:
    weak_dtype = {bool: "bool", int: "int64", float: "float64", complex: "complex128"}
    got = dtypes.result_dtype([(strong, False), (weak_dtype[type(value)], True)])
    assert got == np.result_type(np.zeros(1, strong), value).name


def test_result_dtype_all_strong_and_all_weak() -> None:
    assert dtypes.result_dtype([("int8", False), ("int64", False)]) == "int64"
    # NumPy promotes all at once; Theano's upcast folds pairwise
    strong = [("int8", False), ("uint8", False), ("float16", False)]
    assert dtypes.result_dtype(strong) == "float16"
    assert dtypes.upcast("int8", "uint8", "float16") == "float32"
    assert dtypes.result_dtype([("int64", True), ("float64", True)]) == "float64"


@pytest.mark.parametrize(
    ("value", "floatX", "expected"),
    [
        (2, "float64", "int8"),
        (-128, "float64", "int8"),
        (128, "float64", "int16"),
        (300, "float64", "int16"),
        (70000, "float64", "int32"),
        (2**40, "float64", "int64"),
        (2**63, "float64", "uint64"),
        (True, "float64", "bool"),
        (np.bool_(False), "float64", "bool"),
        (0.5, "float64", "float32"),
        (0.1, "float64", "float64"),
        (0.1, "float32", "float32"),
        (0.5, "float32", "float32"),
        (math.nan, "float64", "float64"),
        (math.inf, "float64", "float32"),
        (1e300, "float64", "float64"),
        (1 + 2j, "float64", "complex64"),
        (0.1j, "float64", "complex128"),
    ],
)
def test_autocast_python_scalar_follows_theano(value: object, floatX: str, expected: str) -> None:
    assert dtypes.autocast_python_scalar(value, floatX) == expected


def test_autocast_rejects_huge_ints_and_non_scalars() -> None:
    with pytest.raises(OverflowError, match="does not fit"):
        dtypes.autocast_python_scalar(2**64, "float64")
    with pytest.raises(TypeError, match="not a Python scalar"):
        dtypes.autocast_python_scalar("3", "float64")


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
@settings()
def test_autocast_int_is_the_smallest_signed_dtype_holding_it(value: int) -> None:
    dtype = dtypes.autocast_python_scalar(value, "float64")
    assert int(np.asarray(value, dtype=dtype)) == value
    smaller = dtypes.SIGNED[: dtypes.SIGNED.index(dtype)]
    assert all(not np.iinfo(d).min <= value <= np.iinfo(d).max for d in smaller)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        ("bool", "float32"),
        ("int8", "float32"),
        ("uint16", "float32"),
        ("int32", "float64"),
        ("uint64", "float64"),
        ("float16", "float16"),
        ("float32", "float32"),
        ("complex64", "complex64"),
    ],
)
def test_upgrade_to_float(dtype: str, expected: str) -> None:
    assert dtypes.upgrade_to_float(dtype) == expected


def test_small_helpers() -> None:
    assert dtypes.kind("uint8") == "u" and dtypes.kind("bool") == "b"
    assert dtypes.is_integer("uint64") and not dtypes.is_integer("bool")
    assert dtypes.is_float("float16") and not dtypes.is_float("complex64")
    assert dtypes.is_complex("complex128")
    assert dtypes.complex_to_real("complex64") == "float32"
    assert dtypes.complex_to_real("int8") == "int8"
    assert dtypes.can_cast_losslessly("int8", "float32")
    assert not dtypes.can_cast_losslessly("int64", "float32")
