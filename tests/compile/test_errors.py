"""Errors users cause when building and calling functions: each message names what was
wrong (which input, expected vs got) and, at run time, which node and which source line.
A call that fails changes no state (failure atomicity)."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

import jitgraph.tensor as T
from jitgraph import In, MissingInputError, function, shared
from jitgraph.ops.base import GraphError


# ----------------------------------------------------------------------------- call arguments
def test_wrong_dtype_names_position_name_expected_and_got() -> None:
    v = T.fvector("v")
    f = function([v], v * 2, name="scale")
    with pytest.raises(
        TypeError,
        match="bad argument for input 0 \\('v'\\) of function 'scale': expected dtype "
        "float32, got an array of dtype float64",
    ):
        f(np.zeros(3))


def test_wrong_dtype_of_a_later_unnamed_input() -> None:
    x, n = T.dvector("x"), T.ivector()
    f = function([x, n], x * n)
    with pytest.raises(TypeError, match="input 1 of function: expected dtype int32, got .*int64"):
        f(np.zeros(2), np.zeros(2, dtype="int64"))


def test_wrong_ndim() -> None:
    v = T.dvector("v")
    f = function([v], v * 2)
    with pytest.raises(TypeError, match="input 0 \\('v'\\).*expected a 1-d array.*got 2-d"):
        f(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="expected a 1-d array.*got 0-d"):
        f(1.0)


def test_static_shape_mismatch() -> None:
    r = T.drow("r")
    f = function([r], r * 2)
    with pytest.raises(
        ValueError, match="input 0 \\('r'\\).*static shape \\(1, \\?\\), got shape \\(2, 3\\)"
    ):
        f(np.zeros((2, 3)))
    fixed = T.tensor("float64", (3,), "fixed")
    with pytest.raises(ValueError, match="static shape \\(3,\\), got shape \\(4,\\)"):
        function([fixed], fixed * 1)(np.zeros(4))


def test_unknown_keyword_lists_the_valid_names() -> None:
    x, y = T.dscalars("x", "y")
    f = function([x, y], x + y, name="add")
    with pytest.raises(
        TypeError, match="function 'add' got an unknown keyword argument 'z' .*'x', 'y'"
    ):
        f(1.0, z=2.0)


def test_missing_argument() -> None:
    x, y = T.dscalars("x", "y")
    f = function([x, y], x + y, name="add")
    with pytest.raises(
        TypeError, match="function 'add': missing required argument input 1 \\('y'\\)"
    ):
        f(1.0)


def test_surplus_positional_arguments() -> None:
    x = T.dscalar("x")
    with pytest.raises(TypeError, match="takes at most 1 argument\\(s\\) \\(3 given\\)"):
        function([x], x * 2)(1.0, 2.0, 3.0)


def test_input_given_twice() -> None:
    x, y = T.dscalars("x", "y")
    f = function([x, y], x + y)
    with pytest.raises(TypeError, match="input 0 \\('x'\\) was given twice"):
        f(1.0, 2.0, x=3.0)


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ({"a": 1}, "cannot convert dict"),
        ("text", "cannot convert str 'text'"),
        (object(), "cannot convert object"),
        ([1.0, "a"], "cannot convert list"),
        ([[1.0], [1.0, 2.0]], "cannot convert list"),
        (None, "NoneType|object array|cannot convert"),
    ],
)
def test_non_numeric_arguments(value: Any, pattern: str) -> None:
    v = T.dvector("v")
    f = function([v], v * 2)
    with pytest.raises(TypeError, match=f"input 0 \\('v'\\).*({pattern})"):
        f(value)


def test_symbolic_variable_as_a_value() -> None:
    v = T.dvector("v")
    f = function([v], v * 2)
    with pytest.raises(
        TypeError, match="input 0 \\('v'\\).*got the symbolic variable 'v'.*givens="
    ):
        f(v)


# ----------------------------------------------------------------------------- run time
def test_runtime_shape_mismatch_names_the_node_and_the_source_line() -> None:
    x, y = T.dvectors("x", "y")
    total = x + y
    line = sys._getframe().f_lineno - 1
    f = function([x, y], total)
    with pytest.raises(ValueError, match="shape mismatch in elementwise add") as info:
        f(np.zeros(3), np.zeros(4))
    assert isinstance(info.value, GraphError)
    message = str(info.value)
    assert "elementwise add" in message
    assert "'x'" in message and "(3,)" in message and "'y'" in message and "(4,)" in message
    assert f"{__file__}:{line}" in message


# ----------------------------------------------------------------------------- building
def test_missing_input_names_the_variable() -> None:
    x, hidden = T.dvectors("x", "hidden")
    with pytest.raises(
        MissingInputError, match="depend on 'hidden' \\(created at .*test_errors.py"
    ):
        function([x], x + hidden)


def test_update_with_the_wrong_dtype_or_ndim() -> None:
    a = shared(np.zeros(3), "a")
    with pytest.raises(TypeError, match="update of the shared variable 'a'.*float32.*float64"):
        function([], [], updates={a: T.fvector("f")}, on_unused_input="ignore")
    with pytest.raises(TypeError, match="update of the shared variable 'a'.*scalar"):
        function([], [], updates={a: a.sum()})
    with pytest.raises(TypeError, match="update of the shared variable 'a'.*complex128") as info:
        function([], [], updates={a: np.zeros(3, dtype="complex128") + 1j})
    assert "allow_input_downcast" not in str(info.value)
    counts = shared(np.zeros(3, dtype="int32"), "counts")
    with pytest.raises(TypeError, match="update of the shared variable 'counts'.*cannot store"):
        function([], [], updates={counts: [0.5, 1.0, 2.0]})


def test_update_target_must_be_shared_and_updated_once() -> None:
    x = T.dvector("x")
    a = shared(np.zeros(3), "a")
    with pytest.raises(TypeError, match="updates keys must be shared variables, got 'x'"):
        function([x], [], updates={x: x + 1})
    with pytest.raises(ValueError, match="'a'.* is updated twice"):
        function([], [], updates=[(a, a + 1), (a, a + 2)])
    with pytest.raises(TypeError, match="updates must be a dict or a list of pairs"):
        function([], [], updates=3)


def test_shared_variable_as_an_explicit_input() -> None:
    a = shared(np.zeros(3), "a")
    with pytest.raises(TypeError, match="function input 0 is the shared variable 'a'.*givens"):
        function([a], a * 2)


def test_bad_inputs_list() -> None:
    x = T.dvector("x")
    with pytest.raises(TypeError, match="must be a list of variables, got TensorVariable"):
        function(x, x)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="function input 1 must be a symbolic variable"):
        function([x, 3], x)
    with pytest.raises(TypeError, match="input 0 is the output of elementwise exp"):
        function([T.exp(x)], x)
    with pytest.raises(TypeError, match="input 0 is a constant"):
        function([T.constant(1.0)], x)
    with pytest.raises(ValueError, match="inputs 0 and 1 are the same variable 'x'"):
        function([x, x], x)


def test_bad_outputs_and_givens() -> None:
    x = T.dvector("x")
    with pytest.raises(TypeError, match="function output 1 must be a symbolic variable or Out"):
        function([x], [x, 3])
    with pytest.raises(TypeError, match="givens keys must be symbolic variables"):
        function([x], x, givens={3: x})


# ----------------------------------------------------------------------------- atomicity
def test_a_runtime_failure_in_an_update_changes_no_state() -> None:
    a = shared(np.zeros(3), "a")
    b = shared(np.zeros(3), "b")
    c = shared(np.zeros(4), "c")
    x, s = T.dvector("x"), T.dscalar("s")
    f = function(
        [x, In(s, value=0.0, update=s + 1)],
        x * 2,
        updates=[(a, a + x), (b, b + c)],  # the first computes fine, the second fails
    )
    with pytest.raises(ValueError, match="shape mismatch"):
        f(np.ones(3))
    np.testing.assert_array_equal(a.get_value(), np.zeros(3))
    np.testing.assert_array_equal(b.get_value(), np.zeros(3))
    assert f["s"] == 0.0
    c.set_value(np.zeros(3))
    f(np.ones(3))
    np.testing.assert_array_equal(a.get_value(), np.ones(3))
    assert f["s"] == 1.0


def test_an_input_conversion_failure_changes_no_state() -> None:
    a = shared(0.0, "a")
    x, y = T.dscalar("x"), T.ivector("y")
    f = function([x, y], x + y.sum(), updates={a: a + x})
    with pytest.raises(TypeError, match="input 1 \\('y'\\)"):
        f(1.0, [0.5])
    assert a.get_value() == 0.0
    with pytest.raises(TypeError, match="unknown keyword"):
        f(1.0, [1], z=2)
    assert a.get_value() == 0.0


def test_a_failed_default_update_changes_no_state() -> None:
    a = shared(np.zeros(2), "a")
    wrong = shared(np.zeros(5), "wrong")
    a.default_update = a + wrong
    counter = shared(0, "counter")
    f = function([], a * 1, updates={counter: counter + 1})
    with pytest.raises(ValueError, match="shape mismatch"):
        f()
    assert counter.get_value() == 0
    np.testing.assert_array_equal(a.get_value(), np.zeros(2))
