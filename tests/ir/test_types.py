"""Tests of jitgraph/ir/types.py: TensorType identity, printing, broadcastable, is_super."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitgraph import dtypes
from jitgraph.ir.types import TensorType

dims = st.one_of(st.none(), st.integers(min_value=0, max_value=4))
shapes = st.lists(dims, max_size=4).map(tuple)


def test_equality_and_hash_are_by_dtype_and_shape() -> None:
    a = TensorType("float64", (None, 3))
    b = TensorType(np.float64, [None, 3])
    assert a == b and hash(a) == hash(b)
    assert a != TensorType("float32", (None, 3))
    assert a != TensorType("float64", (None, None))
    assert a != TensorType("float64", (None, 3, None))
    assert a != "TensorType(float64, (?, 3))"
    assert len({a, b, TensorType("float64", (1, 3))}) == 2


@given(st.sampled_from(dtypes.ALL), shapes, st.sampled_from(dtypes.ALL), shapes)
@settings()
def test_equal_iff_dtype_and_shape_equal(d1: str, s1: tuple, d2: str, s2: tuple) -> None:
    t1, t2 = TensorType(d1, s1), TensorType(d2, s2)
    assert (t1 == t2) == (d1 == d2 and s1 == s2)
    if t1 == t2:
        assert hash(t1) == hash(t2)


@pytest.mark.parametrize(
    ("shape", "text"),
    [
        ((), "TensorType(float64, scalar)"),
        ((None,), "TensorType(float64, vector)"),
        ((1, None), "TensorType(float64, row)"),
        ((None, 1), "TensorType(float64, col)"),
        ((None, None), "TensorType(float64, matrix)"),
        ((None, 3), "TensorType(float64, (?, 3))"),
        ((None, None, None), "TensorType(float64, (?, ?, ?))"),
        ((1, 1), "TensorType(float64, (1, 1))"),
    ],
)
def test_str_uses_theano_pattern_names(shape: tuple, text: str) -> None:
    ttype = TensorType("float64", shape)
    assert str(ttype) == text and repr(ttype) == text


def test_str_of_other_dtypes() -> None:
    assert str(TensorType("int8", (None,))) == "TensorType(int8, vector)"
    assert str(TensorType("complex64", ())) == "TensorType(complex64, scalar)"


def test_broadcastable_ndim_and_the_broadcastable_constructor() -> None:
    row = TensorType("float32", broadcastable=(True, False))
    assert row.shape == (1, None) and row.broadcastable == (True, False) and row.ndim == 2
    assert TensorType("float32", (1, None)) == row
    assert TensorType("int8", (True, False)).shape == (1, None)  # Theano's positional form
    assert TensorType("int8", (3, 1)).broadcastable == (False, True)
    assert TensorType("int8").shape == () and TensorType("int8").ndim == 0


def test_dtype_is_canonical_and_numpy_dtype() -> None:
    ttype = TensorType("f4", (None,))
    assert ttype.dtype == "float32" and ttype.numpy_dtype == np.dtype("float32")


@pytest.mark.parametrize("bad", ["float128", "object", "str"])
def test_unsupported_dtype_raises_type_error(bad: str) -> None:
    with pytest.raises(TypeError, match="dtype"):
        TensorType(bad, ())


def test_bad_construction() -> None:
    with pytest.raises(ValueError, match=">= 0 or None"):
        TensorType("float64", (-1,))
    with pytest.raises(TypeError, match="not both"):
        TensorType("float64", (None,), broadcastable=(False,))


def test_types_are_immutable_and_pickle() -> None:
    ttype = TensorType("float64", (None, 1))
    with pytest.raises(AttributeError, match="immutable"):
        ttype.dtype = "float32"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(ttype)) == ttype


def test_clone() -> None:
    ttype = TensorType("float64", (None, 1))
    assert ttype.clone() == ttype
    assert ttype.clone(dtype="int8") == TensorType("int8", (None, 1))
    assert ttype.clone(shape=(2,)) == TensorType("float64", (2,))


def test_is_super() -> None:
    matrix = TensorType("float64", (None, None))
    row = TensorType("float64", (1, None))
    fixed = TensorType("float64", (3, 4))
    assert matrix.is_super(row) and matrix.is_super(fixed) and matrix.is_super(matrix)
    assert not row.is_super(matrix)
    assert not fixed.is_super(TensorType("float64", (3, 5)))
    assert not matrix.is_super(TensorType("float32", (None, None)))
    assert not matrix.is_super(TensorType("float64", (None,)))


@given(shapes, shapes)
@settings()
def test_is_super_means_every_value_fits(s1: tuple, s2: tuple) -> None:
    t1, t2 = TensorType("int8", s1), TensorType("int8", s2)
    if len(s1) != len(s2):
        assert not t1.is_super(t2)
        return
    concrete = tuple(2 if d is None else d for d in s2)
    value = np.zeros(concrete, dtype="int8")
    assert t2.value_matches(value)
    if t1.is_super(t2):
        assert t1.value_matches(value)


def test_value_matches_checks_dtype_ndim_and_static_dims() -> None:
    row = TensorType("float64", (1, None))
    assert row.value_matches(np.zeros((1, 5)))
    assert not row.value_matches(np.zeros((2, 5)))
    assert not row.value_matches(np.zeros((1, 5), dtype="float32"))
    assert not row.value_matches(np.zeros(5))


def test_describe_and_key() -> None:
    ttype = TensorType("float32", (None, 3))
    assert ttype.describe() == "float32 2-d (static shape (?, 3))"
    assert TensorType("int8", (None,)).describe() == "int8 1-d (static shape (?,))"
    assert ttype.key() != TensorType("float32", (None, None)).key()
    assert ttype.key() != TensorType("float64", (None, 3)).key()


def test_calling_a_type_makes_a_variable() -> None:
    ttype = TensorType("float64", (1, None))
    x = ttype("x")
    assert x.type == ttype and x.name == "x" and x.owner is None
