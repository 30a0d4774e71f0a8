"""The Theano front end's constructors, constants, conversions and variable protocol."""

from __future__ import annotations

import numpy as np
import pytest

import jitgraph
import jitgraph.tensor as T
from jitgraph import dtypes
from jitgraph.config import config
from jitgraph.ir.types import TensorType

KINDS = {
    "scalar": (),
    "vector": (False,),
    "row": (True, False),
    "col": (False, True),
    "matrix": (False, False),
    "tensor3": (False,) * 3,
    "tensor4": (False,) * 4,
    "tensor5": (False,) * 5,
    "tensor6": (False,) * 6,
    "tensor7": (False,) * 7,
}


@pytest.mark.parametrize("prefix", sorted(dtypes.PREFIX))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_prefixed_constructor_is_a_type_object(prefix: str, kind: str) -> None:
    ctor = getattr(T, prefix + kind)
    assert isinstance(ctor, TensorType)
    assert ctor.dtype == dtypes.PREFIX[prefix]
    assert ctor.broadcastable == KINDS[kind]
    assert ctor.ndim == len(KINDS[kind])
    var = ctor("v")
    assert (var.name, var.dtype, var.broadcastable) == ("v", ctor.dtype, KINDS[kind])
    assert var.type == ctor


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_generic_constructor_defaults_to_floatx(kind: str) -> None:
    ctor = getattr(T, kind)
    assert ctor().dtype == config.floatX
    with config.change_flags(floatX="float32"):
        assert ctor("a").dtype == "float32"
    assert ctor("b", dtype="int16").dtype == "int16"
    assert ctor(dtype=T.int32).dtype == "int32"  # Theano's scalar type objects as dtypes


def test_plural_constructors() -> None:
    x, y, z = T.dmatrices("x", "y", "z")
    assert [v.name for v in (x, y, z)] == ["x", "y", "z"]
    assert all(v.type == T.dmatrix for v in (x, y, z))
    a, b = T.fscalars(2)
    assert a is not b and a.dtype == b.dtype == "float32" and a.ndim == 0
    (m,) = T.matrices("m", dtype="int8")
    assert m.dtype == "int8"
    assert [v.ndim for v in T.ltensor3s("p", "q")] == [3, 3]


def test_tensor_constructor() -> None:
    x = T.tensor("float32", shape=(None, 3), name="x")
    assert x.type == TensorType("float32", (None, 3)) and x.name == "x"
    assert T.tensor("int8", broadcastable=(True, False)).broadcastable == (True, False)
    with pytest.raises(TypeError, match="shape="):
        T.tensor("float64")


def test_type_str_names_theano_patterns() -> None:
    assert str(T.dmatrix) == "TensorType(float64, matrix)"
    assert str(T.frow) == "TensorType(float32, row)"
    assert str(T.icol) == "TensorType(int32, col)"
    assert str(T.bscalar) == "TensorType(int8, scalar)"
    assert str(T.ltensor3) == "TensorType(int64, (?, ?, ?))"


@pytest.mark.parametrize(
    ("value", "floatx", "dtype"),
    [
        (2, "float64", "int8"),
        (300, "float64", "int16"),
        (2**40, "float64", "int64"),
        (True, "float64", "bool"),
        (0.5, "float64", "float32"),
        (0.1, "float64", "float64"),
        (0.1, "float32", "float32"),
        (1j, "float64", "complex64"),
        (np.float32(0.1), "float64", "float32"),
        (np.int16(3), "float64", "int16"),
    ],
)
def test_constant_autocast(value: object, floatx: str, dtype: str) -> None:
    with config.change_flags(floatX=floatx):
        c = T.constant(value)
    assert c.dtype == dtype
    assert c.data == value


def test_constants_are_interned_and_read_only() -> None:
    a = T.constant(np.arange(4.0))
    assert T.constant(np.arange(4.0)) is a
    assert T.constant(np.arange(4)) is not a  # another dtype
    with pytest.raises(ValueError):
        a.data[0] = 5.0


def test_as_tensor_variable() -> None:
    x = T.dvector("x")
    assert T.as_tensor_variable(x) is x
    c = T.as_tensor_variable([[1, 2], [3, 4]])
    assert c.type == TensorType("int64", (2, 2))
    with pytest.raises(TypeError, match="cannot make a tensor constant"):
        T.as_tensor_variable({"a": 1})
    with pytest.raises(TypeError, match="dtype"):
        T.as_tensor_variable("text")


def test_python_scalar_arithmetic_follows_theano_dtypes() -> None:
    x = T.fvector("x")
    assert (x * 2).dtype == "float32"  # 2 is int8
    assert (x + 0.5).dtype == "float32"  # 0.5 is exact in float32
    assert (x + 0.1).dtype == "float64"  # 0.1 is not: Theano upcasts
    assert (T.bscalar() + 1000).dtype == "int16"
    assert (T.iscalar() / T.iscalar()).dtype == "float64"  # integers only: floatX
    assert (T.bscalar() / 2).dtype == "float64"
    with config.change_flags(floatX="float32"):
        assert (T.iscalar() / T.iscalar()).dtype == "float32"
    assert (T.bscalar() / T.fscalar()).dtype == "float32"


def test_operators_build_the_expected_ops() -> None:
    x, y = T.dmatrices("x", "y")
    for expr, name in [
        (x + y, "add"),
        (x - y, "subtract"),
        (x * y, "multiply"),
        (x / y, "true_divide"),
        (-x, "negative"),
        (abs(x), "absolute"),
        (x > y, "greater"),
    ]:
        assert expr.owner.op.scalar_op.name == name
    assert 2 - x is T.sub(2, x)


def test_hash_consing_shares_equal_expressions() -> None:
    x = T.dvector("x")
    assert (x * 2 + 1) is (x * 2 + 1)
    assert x.sum() is x.sum()
    assert T.exp(x) is not T.tanh(x)


def test_broadcasting_pads_and_checks_static_shapes() -> None:
    m = T.dmatrix("m")
    assert (m + T.dvector("v")).broadcastable == (False, False)
    assert (T.drow() + T.dcol()).broadcastable == (False, False)
    assert (T.drow() * T.drow()).broadcastable == (True, False)
    a = T.tensor("float64", shape=(2, 3))
    b = T.tensor("float64", shape=(4, 3))
    with pytest.raises(ValueError, match="cannot broadcast"):
        a + b


def test_symbolic_variables_refuse_python_protocols() -> None:
    x = T.dvector("x")
    with pytest.raises(TypeError, match="truth value"):
        bool(x > 0)
    with pytest.raises(TypeError, match="len"):
        len(x)
    with pytest.raises(TypeError, match="cannot iterate"):
        iter(x)
    with pytest.raises(TypeError, match="symbolic"):
        np.asarray(x)


def test_iteration_over_a_static_length() -> None:
    v = T.tensor("float64", shape=(3,), name="v")
    parts = list(v)
    assert len(parts) == 3
    f = jitgraph.function([v], parts)
    assert [float(p) for p in f(np.array([1.0, 2.0, 3.0]))] == [1.0, 2.0, 3.0]


def test_attributes() -> None:
    x = T.ftensor3("x")
    assert (x.dtype, x.ndim, x.broadcastable) == ("float32", 3, (False, False, False))
    assert x.T.ndim == 3
    assert x.astype("float64").dtype == "float64"
    assert x.astype("float32") is x


def test_eval() -> None:
    x = T.dscalar("x")
    assert (x * 3).eval({x: 2.0}) == 6.0
    assert T.constant(2.5).eval() == 2.5


def test_created_at_records_the_user_line() -> None:
    x = T.dscalar("x")
    y = x * 2
    assert y.created_at is not None and y.created_at.endswith(
        f"test_basic.py:{y.created_at.rsplit(':', 1)[1]}"
    )
    assert "test_basic.py" in y.created_at
