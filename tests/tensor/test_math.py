"""The elementwise front end (``jitgraph/tensor/math.py``): the generated wrappers and
Theano's own functions (cast, switch, round/iround, clip, largest/smallest, ceil_intdiv,
divmod, complex_from_polar, isclose/allclose), and the Python operators of tensor
variables that land on them. Values are compared with NumPy computed directly.
"""

from __future__ import annotations

from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.config import config


def evaluate(expression: Any) -> np.ndarray:
    return jitgraph.function([], expression)()  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- operators
OPERATORS = [
    ("add", lambda a, b: a + b, np.add),
    ("sub", lambda a, b: a - b, np.subtract),
    ("mul", lambda a, b: a * b, np.multiply),
    ("true_div", lambda a, b: a / b, np.true_divide),
    ("int_div", lambda a, b: a // b, np.floor_divide),
    ("mod", lambda a, b: a % b, np.remainder),
    ("pow", lambda a, b: a ** abs(b), lambda a, b: np.power(a, np.abs(b))),
    ("lt", lambda a, b: a < b, np.less),
    ("le", lambda a, b: a <= b, np.less_equal),
    ("gt", lambda a, b: a > b, np.greater),
    ("ge", lambda a, b: a >= b, np.greater_equal),
    ("and_", lambda a, b: a & b, np.bitwise_and),
    ("or_", lambda a, b: a | b, np.bitwise_or),
    ("xor", lambda a, b: a ^ b, np.bitwise_xor),
    ("radd", lambda a, b: 3 + b, lambda a, b: np.int8(3) + b),
    ("rsub", lambda a, b: 3 - b, lambda a, b: np.int8(3) - b),
]


@pytest.mark.parametrize(("name", "build", "reference"), OPERATORS, ids=[o[0] for o in OPERATORS])
@settings(max_examples=10)
@given(
    a=hnp.arrays("int16", st.integers(0, 5), elements=st.integers(-50, 50)),
    data=st.data(),
)
def test_operators_match_numpy(
    name: str, build: Any, reference: Any, a: np.ndarray, data: st.DataObject
) -> None:
    b = data.draw(hnp.arrays("int16", a.shape, elements=st.integers(1, 9)))
    x, y = T.wvector("x"), T.wvector("y")
    got = jitgraph.function([x, y], build(x, y), on_unused_input="ignore")(a, b)
    with np.errstate(all="ignore"):
        expected = np.asarray(reference(a, b))
    if name == "true_div":
        expected = expected.astype(config.floatX)  # Theano: integer-only division gives floatX
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_array_equal(got, expected)


def test_unary_operators_and_properties() -> None:
    values = np.array([-2, 0, 3], dtype="int32")
    x = T.ivector("x")
    f = jitgraph.function([x], [-x, abs(x), ~x, +x])
    for got, expected in zip(f(values), [-values, np.abs(values), ~values, values]):
        np.testing.assert_array_equal(got, expected)
    z = T.zvector("z")
    complex_values = np.array([1 + 2j, -3j])
    g = jitgraph.function([z], [z.real, z.imag, z.conj(), T.angle(z)])
    expected = [
        complex_values.real,
        complex_values.imag,
        complex_values.conj(),
        np.angle(complex_values),
    ]
    for got, want in zip(g(complex_values), expected):
        np.testing.assert_array_equal(got, want)


def test_python_scalars_take_theano_autocast_dtypes() -> None:
    f = T.fvector("f")
    assert (f + 0.5).dtype == "float32"  # 0.5 is exact in float32
    assert (f * 2).dtype == "float32"
    assert (T.bvector() + 1000).dtype == "int16"  # 1000 needs int16
    if config.floatX == "float64":
        assert (f * 0.1).dtype == "float64"  # 0.1 is not exact in float32: Theano upcasts
    with config.change_flags(floatX="float32"):
        assert (f * 0.1).dtype == "float32"


# ----------------------------------------------------------------------------- Theano's functions
def test_cast_is_a_no_op_for_the_same_dtype() -> None:
    x = T.fvector("x")
    assert T.cast(x, "float32") is x
    assert T.cast(x, np.float64).dtype == "float64"
    assert x.astype("int8").dtype == "int8"
    with pytest.raises(TypeError, match=r"casting complex to real is ambiguous.*'z'"):
        T.cast(T.cvector("z"), "float32")


def test_switch_broadcasts_scalars() -> None:
    x = T.dvector("x")
    f = jitgraph.function([x], T.switch(T.gt(x, 0), x, 0))
    np.testing.assert_array_equal(f(np.array([-1.0, 2.0])), [0.0, 2.0])
    assert T.where is not None and T.switch(1, x, x).dtype == "float64"


def test_iround_and_round_of_views() -> None:
    x = T.dvector("x")
    f = jitgraph.function([x], [T.round(x), T.iround(x, "half_away_from_zero")])
    values = np.array([0.5, 1.5, 2.5, -2.5, -0.4])[::-1]
    rounded, integers = f(values)
    np.testing.assert_array_equal(rounded, np.round(values))
    np.testing.assert_array_equal(integers, [-0, -3, 3, 2, 1])
    assert integers.dtype == np.int64


def test_clip_is_theanos_when_low_exceeds_high() -> None:
    x = T.constant(np.array([-1.0, 0.5, 3.0]))
    np.testing.assert_array_equal(evaluate(T.clip(x, 0, 1)), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(evaluate(T.clip(x, 2, 1)), [2.0, 2.0, 1.0])
    assert evaluate(x.clip(0, 1)).dtype == np.float64


def test_round_modes() -> None:
    x = T.constant(np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.49999999999999994]))
    np.testing.assert_array_equal(evaluate(T.round(x)), [0, 2, 2, -0.0, -2, 0])
    np.testing.assert_array_equal(evaluate(x.round("half_away_from_zero")), [1, 2, 3, -1, -3, 0])
    with pytest.raises(ValueError, match="mode must be one of"):
        T.round(x, "half_up")


def test_variadic_associative_ops_and_largest() -> None:
    a, b, c = (T.constant(np.array([v], dtype="int16")) for v in (1, 5, 3))
    assert evaluate(T.add(a, b, c))[0] == 9
    assert evaluate(T.mul(a, b, c))[0] == 15
    assert evaluate(T.largest(a, b, c))[0] == 5
    assert evaluate(T.smallest(a, b, c))[0] == 1
    assert evaluate(T.ceil_intdiv(b, T.constant(np.int16(2))))[0] == 3


def test_isclose_and_allclose_follow_numpy() -> None:
    a = np.array([1.0, 1.0, np.inf, np.inf, np.nan, 1.0, 5.0, 1e-9])
    b = np.array([1.0 + 1e-9, 1.1, np.inf, -np.inf, np.nan, np.inf, np.inf, 0.0])
    ta, tb = T.constant(a), T.constant(b)
    np.testing.assert_array_equal(evaluate(T.isclose(ta, tb)), np.isclose(a, b))
    np.testing.assert_array_equal(
        evaluate(T.isclose(ta, tb, equal_nan=True)), np.isclose(a, b, equal_nan=True)
    )
    ints = np.array([1, 100], dtype="int32")
    np.testing.assert_array_equal(evaluate(T.isclose(T.constant(ints), 100)), [False, True])
    assert not evaluate(T.allclose(ta, tb))
    assert evaluate(T.allclose(ta, ta + 1e-12, equal_nan=True))
    assert not evaluate(T.allclose(ta, ta))


def test_composites_from_math() -> None:
    r, theta = T.constant(np.array([2.0])), T.constant(np.array([np.pi / 2]))
    np.testing.assert_allclose(evaluate(T.complex_from_polar(r, theta)), [2j], atol=1e-15)
    quotient, remainder = T.divmod(T.constant(np.array([-7])), 2)
    assert (evaluate(quotient)[0], evaluate(remainder)[0]) == (-4, 1)
    assert T.cast(T.bvector(), "floatX").dtype == config.floatX


def test_lower_ndim_arguments_are_padded() -> None:
    x, row = T.dmatrix("x"), T.dvector("v")
    f = jitgraph.function([x, row], x - row)
    value, vector = np.arange(6.0).reshape(2, 3), np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(f(value, vector), value - vector)


# ----------------------------------------------------------------------------- errors
