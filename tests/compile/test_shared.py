"""Tests of shared variables (jitgraph/compile/sharedvalue.py): types from values,
get_value/set_value and their borrow semantics, conversion errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import jitgraph
import jitgraph.tensor as T
from jitgraph import function, shared
from jitgraph.compile.sharedvalue import SharedVariable
from jitgraph.ir.types import TensorType


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, TensorType("int64", ())),
        (0.0, TensorType("float64", ())),
        (True, TensorType("bool", ())),
        (1j, TensorType("complex128", ())),
        (np.float32(1.5), TensorType("float32", ())),
        (np.int8(3), TensorType("int8", ())),
        ([1.0, 2.0], TensorType("float64", (None,))),
        ([[1, 2]], TensorType("int64", (None, None))),
        (np.zeros((2, 3), dtype="float32"), TensorType("float32", (None, None))),
        (np.zeros((1, 3)), TensorType("float64", (None, None))),  # dims stay unknown
    ],
)
def test_type_from_value(value: Any, expected: TensorType) -> None:
    var = shared(value)
    assert var.type == expected
    assert isinstance(var, SharedVariable) and var.owner is None


def test_shape_and_broadcastable_fix_dims() -> None:
    assert shared(np.zeros((1, 3)), broadcastable=(True, False)).type.shape == (1, None)
    assert shared(np.zeros((1, 3)), shape=(1, 3)).type.shape == (1, 3)
    var = shared(np.zeros((1, 3)), broadcastable=(True, False))
    with pytest.raises(ValueError, match="axis 0 must have size 1"):
        var.set_value(np.zeros((2, 3)))


def test_get_value_copies_unless_borrow() -> None:
    var = shared(np.arange(3.0), "w")
    copy = var.get_value()
    copy[0] = 100.0
    assert var.get_value()[0] == 0.0
    internal = var.get_value(borrow=True)
    assert internal is var.get_value(borrow=True)
    internal[0] = 100.0
    assert var.get_value()[0] == 100.0


def test_construction_copies_unless_borrow() -> None:
    data = np.arange(3.0)
    copied = shared(data)
    borrowed = shared(data, borrow=True)
    assert copied.get_value(borrow=True) is not data
    assert borrowed.get_value(borrow=True) is data
    data[0] = 7.0
    assert copied.get_value()[0] == 0.0 and borrowed.get_value()[0] == 7.0


def test_set_value_copies_unless_borrow() -> None:
    var = shared(np.zeros(2), "w")
    data = np.ones(2)
    var.set_value(data)
    data[0] = 5.0
    assert var.get_value()[0] == 1.0
    var.set_value(data, borrow=True)
    assert var.get_value(borrow=True) is data


def test_set_value_may_change_the_shape() -> None:
    var = shared(np.zeros(2), "w")
    var.set_value(np.arange(5.0))
    assert var.get_value().shape == (5,)
    f = function([], var * 2)
    np.testing.assert_array_equal(f(), np.arange(5.0) * 2)
    var.set_value(np.arange(1.0))
    assert f().shape == (1,)


def test_set_value_converts_safely() -> None:
    var = shared(np.zeros(2), "w")
    var.set_value([1, 2])
    assert var.get_value().dtype == np.float64
    var.set_value(np.arange(2, dtype="int32"))
    assert var.get_value().dtype == np.float64


def test_set_value_lossy_conversion_names_the_shared_variable() -> None:
    ints = shared(np.zeros(2, dtype="int32"), "counts")
    with pytest.raises(TypeError, match="shared variable 'counts'.*int32.*float64"):
        ints.set_value(np.array([0.5, 1.0]))
    with pytest.raises(TypeError, match="shared variable 'counts'.*cannot store exactly"):
        ints.set_value([0.5])
    floats = shared(np.zeros(2, dtype="float32"), "weights")
    with pytest.raises(TypeError, match="shared variable 'weights'.*float32.*float64"):
        floats.set_value(np.zeros(2))
    with pytest.raises(TypeError, match="shared variable 'weights'.*1-d.*2-d"):
        floats.set_value(np.zeros((2, 2), dtype="float32"))
    np.testing.assert_array_equal(ints.get_value(), [0, 0])


def test_allow_downcast_and_strict_shared_variables() -> None:
    loose = shared(np.zeros(2, dtype="float32"), allow_downcast=True)
    loose.set_value(np.array([0.1, 0.2]))
    assert loose.get_value().dtype == np.float32
    strict = shared(np.zeros(2), strict=True)
    with pytest.raises(TypeError, match="strict"):
        strict.set_value([1.0, 2.0])


@pytest.mark.parametrize(
    "bad", [{"a": 1}, "text", object(), None, [[1.0], [1.0, 2.0]], ["a", "b"], [1, None], 2**70]
)
def test_shared_needs_numbers(bad: Any) -> None:
    with pytest.raises(TypeError, match="shared\\(\\) needs"):
        shared(bad)


def test_shared_refuses_a_symbolic_variable() -> None:
    with pytest.raises(TypeError, match="symbolic variable 'x'"):
        shared(T.dvector("x"))


def test_functions_read_the_value_at_call_time() -> None:
    w = shared(1.0, "w")
    f = function([], w * 2)
    assert f() == 2.0
    w.set_value(5.0)
    assert f() == 10.0


def test_shared_variables_behave_as_tensors() -> None:
    w = shared(np.ones((2, 3)), "w")
    assert w.ndim == 2 and w.dtype == "float64" and w.broadcastable == (False, False)
    out = (w.T * 2).sum(axis=0)
    np.testing.assert_array_equal(function([], out)(), [6.0, 6.0])
    assert repr(w) == "w" and jitgraph.SharedVariable is SharedVariable


def test_describe_says_it_is_shared() -> None:
    assert shared(1.0, "w").describe().startswith("the shared variable 'w' (created at")
    assert "the shared variable of type TensorType(float64, scalar)" in shared(1.0).describe()
