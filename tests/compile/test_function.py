"""Tests of function(): Theano's semantics for inputs, defaults, outputs, updates, givens,
modes, copies and aliasing (jitgraph/compile/function.py and function_graph.py)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import jitgraph
import jitgraph.tensor as T
from jitgraph import In, Mode, Out, Param, function, shared
from jitgraph.compile.function import UnusedInputError
from jitgraph.config import config


# ----------------------------------------------------------------------------- calling
def test_positional_and_keyword_calls() -> None:
    x, y = T.dscalars("x", "y")
    f = function([x, y], x - y)
    assert f(5.0, 2.0) == 3.0
    assert f(5.0, y=2.0) == 3.0
    assert f(y=2.0, x=5.0) == 3.0
    assert isinstance(f(1.0, 1.0), np.ndarray) and f(1.0, 1.0).ndim == 0


def test_in_defaults_and_keyword_by_name() -> None:
    x, y, z = T.dscalars("x", "y", "z")
    f = function([x, In(y, value=1.0), In(z, value=2.0, name="zed")], x + y * z)
    assert f(1.0) == 3.0
    assert f(1.0, 3.0) == 7.0
    assert f(1.0, zed=10.0) == 11.0
    assert f(x=0.0, y=2.0, zed=3.0) == 6.0
    with pytest.raises(TypeError, match="unknown keyword argument 'z'"):
        f(1.0, z=3.0)  # the In name replaces the variable's


def test_param_default_and_name() -> None:
    x, y = T.dscalars("x", "y")
    f = function([x, Param(y, default=4.0, name="y_by_name")], x * y)
    assert f(2.0) == 8.0 and f(2.0, y_by_name=0.5) == 1.0
    assert Param(y, default=4.0).default == 4.0


def test_getitem_and_setitem_of_defaults() -> None:
    x, y = T.dscalars("x", "y")
    f = function([x, In(y, value=1.0)], x + y)
    assert f["y"] == 1.0 and f[y] == 1.0 and f[1] == 1.0
    f["y"] = 10.0
    assert f(1.0) == 11.0
    assert f["x"] is None
    f["x"] = 5.0  # gives x a default
    assert f() == 15.0
    with pytest.raises(KeyError, match="no input 'nope'"):
        f["nope"]
    with pytest.raises(TypeError, match="input 1 \\('y'\\)"):
        f["y"] = np.zeros(3)


def test_defaults_do_not_alias_the_callers_array() -> None:
    v = T.dvector("v")
    data = np.arange(3.0)
    f = function([In(v, value=data)], v * 1)
    data[0] = 100.0
    np.testing.assert_array_equal(f(), np.arange(3.0))
    f["v"] = data
    data[1] = 100.0
    assert f()[1] == 1.0


def test_ambiguous_names_are_refused_when_used() -> None:
    a, b = T.dscalar("same"), T.dscalar("same")
    f = function([a, b], a - b)
    assert f(3.0, 1.0) == 2.0
    with pytest.raises(TypeError, match="ambiguous"):
        f(3.0, same=1.0)


def test_stateful_input_keeps_and_updates_its_value() -> None:
    x, s = T.dscalars("x", "s")
    f = function([x, ((s, s + x), 0.0)], s)
    assert f(1.0) == 0.0  # the output is computed from the state before the update
    assert f(2.0) == 1.0
    assert f(3.0) == 3.0
    assert f["s"] == 6.0


def test_stateful_in_with_update_and_value() -> None:
    x, acc = T.dscalars("x", "acc")
    f = function([x, In(acc, value=10.0, update=acc * x)], acc + 0)
    assert f(2.0) == 10.0 and f(3.0) == 20.0 and f["acc"] == 60.0
    f["acc"] = 1.0
    assert f(2.0) == 1.0 and f["acc"] == 2.0


def test_stateful_in_without_value_is_required_until_given() -> None:
    x, acc = T.dscalars("x", "acc")
    f = function([x, In(acc, update=acc + x)], acc * 1)
    with pytest.raises(TypeError, match="missing required argument input 1 \\('acc'\\)"):
        f(1.0)
    assert f(1.0, 5.0) == 5.0
    assert f(1.0) == 6.0  # the state was set by the update


# ----------------------------------------------------------------------------- outputs
def test_output_forms() -> None:
    x, y = T.dscalars("x", "y")
    assert function([x], x * 2)(3.0) == 6.0
    assert function([x], [x * 2])(3.0) == [6.0]
    assert function([x], [], on_unused_input="ignore")(3.0) == []
    assert function([x], None, on_unused_input="ignore")(3.0) == []
    result = function([x, y], {"sum": x + y, "prod": x * y})(2.0, 3.0)
    assert result == {"sum": 5.0, "prod": 6.0} and list(result) == ["sum", "prod"]
    pair = function([x], (x + 1, x + 2))(0.0)
    assert isinstance(pair, list) and pair == [1.0, 2.0]


def test_out_borrow_may_return_internal_storage() -> None:
    w = shared(np.arange(3.0), "w")
    f_borrow = function([], Out(w, borrow=True))
    f_copy = function([], w)
    assert f_borrow() is w.get_value(borrow=True)
    assert f_copy() is not w.get_value(borrow=True)
    assert not np.may_share_memory(f_copy(), w.get_value(borrow=True))


def test_outputs_never_alias_inputs_or_shared_storage() -> None:
    v = T.dvector("v")
    w = shared(np.arange(3.0), "w")
    data = np.arange(3.0)
    f = function([v], [v, v.T, w, v * 1, T.constant(np.arange(2.0))])
    results = f(data)
    for result in results:
        assert result.flags.writeable
        result[...] = -1.0  # the caller may write to every output
    np.testing.assert_array_equal(data, np.arange(3.0))
    np.testing.assert_array_equal(w.get_value(), np.arange(3.0))
    again = f(data)
    np.testing.assert_array_equal(again[4], np.arange(2.0))


def test_repeated_output_is_two_arrays() -> None:
    x = T.dvector("x")
    out = x * 2
    first, second = function([x], [out, out])(np.ones(2))
    assert not np.may_share_memory(first, second)


def test_outputs_of_successive_calls_are_independent() -> None:
    x = T.dvector("x")
    f = function([x], x * 2)
    first = f(np.ones(2))
    f(np.zeros(2))
    np.testing.assert_array_equal(first, [2.0, 2.0])


# ----------------------------------------------------------------------------- updates
def test_updates_as_pairs_and_dict() -> None:
    a = shared(1.0, "a")
    f = function([], a * 1, updates=[(a, a * 2)])
    g = function([], a * 1, updates={a: a + 1})
    assert f() == 1.0 and a.get_value() == 2.0
    assert g() == 2.0 and a.get_value() == 3.0


def test_updates_are_all_computed_from_the_state_before_the_call() -> None:
    a, b = shared(1.0, "a"), shared(2.0, "b")
    swap = function([], [], updates={a: b, b: a})
    swap()
    assert (a.get_value(), b.get_value()) == (2.0, 1.0)
    swap()
    assert (a.get_value(), b.get_value()) == (1.0, 2.0)
    chain = function([], [a * 1, b * 1], updates=[(a, a + b), (b, a * 10)])
    assert chain() == [1.0, 2.0]
    assert (a.get_value(), b.get_value()) == (3.0, 10.0)


def test_update_values_never_alias_other_storage() -> None:
    a, b = shared(np.zeros(2), "a"), shared(np.ones(2), "b")
    x = T.dvector("x")
    data = np.full(2, 7.0)
    function([x], [], updates={a: b, b: x})(data)
    a.get_value(borrow=True)[0] = 99.0
    data[1] = 99.0
    np.testing.assert_array_equal(b.get_value(), [7.0, 7.0])
    assert not np.may_share_memory(a.get_value(borrow=True), b.get_value(borrow=True))


def test_update_to_a_constant_stores_a_writeable_array() -> None:
    a = shared(np.ones(2), "a")
    function([], [], updates={a: np.zeros(2)})()
    a.get_value(borrow=True)[0] = 5.0
    np.testing.assert_array_equal(a.get_value(), [5.0, 0.0])


def test_update_of_an_output_then_output_is_a_copy() -> None:
    a = shared(np.ones(2), "a")
    new = a * 2
    result = function([], new, updates={a: new})()
    result[0] = -1.0
    np.testing.assert_array_equal(a.get_value(), [2.0, 2.0])


# ----------------------------------------------------------------------------- givens
def test_givens_replaces_an_input() -> None:
    x, y = T.dscalars("x", "y")
    f = function([y], x * 2, givens={x: y + 1})
    assert f(1.0) == 4.0


def test_givens_replaces_a_shared_variable() -> None:
    w = shared(5.0, "w")
    x = T.dscalar("x")
    f = function([x], w * 2, givens=[(w, x)])
    assert f(3.0) == 6.0 and w.get_value() == 5.0


def test_givens_replaces_an_intermediate_expression() -> None:
    x, y = T.dscalars("x", "y")
    hidden = T.exp(x)
    f = function([y], hidden + 1, givens={hidden: y})
    assert f(10.0) == 11.0


def test_givens_with_a_python_constant() -> None:
    x = T.dscalar("x")
    assert function([], x * 2, givens={x: 5})() == 10.0
    n = T.iscalar("n")
    assert function([], n * 2, givens={n: 3})() == 6
    with pytest.raises(TypeError, match="givens replacement for 'n'.*int32.*2.5"):
        function([], n * 2, givens={n: 2.5})


def test_givens_with_a_wrong_type_is_refused() -> None:
    x = T.dvector("x")
    f32 = T.fvector("f")
    with pytest.raises(TypeError, match="replacement 'f'.*float32.*expected TensorType\\(float64"):
        function([f32], x * 2, givens={x: f32})


# ----------------------------------------------------------------------------- default updates
def counter() -> Any:
    c = shared(0.0, "c")
    c.default_update = c + 1
    return c


def test_default_update_applies_unless_suppressed() -> None:
    x = T.dscalar("x")
    c = counter()
    function([x], x + c)(0.0)
    assert c.get_value() == 1.0
    function([x], x + c, no_default_updates=True)(0.0)
    assert c.get_value() == 1.0
    function([x], x + c, no_default_updates=[c])(0.0)
    assert c.get_value() == 1.0


def test_no_default_updates_list_suppresses_only_those_listed() -> None:
    x = T.dscalar("x")
    c, d = counter(), counter()
    function([x], x + c + d, no_default_updates=[c])(0.0)
    assert (c.get_value(), d.get_value()) == (0.0, 1.0)


def test_an_explicit_update_wins_over_the_default_update() -> None:
    c = counter()
    function([], c * 1, updates={c: c + 10})()
    assert c.get_value() == 10.0


def test_default_update_only_for_shared_variables_the_function_uses() -> None:
    x = T.dscalar("x")
    c = counter()
    function([x], x * 2)(1.0)
    assert c.get_value() == 0.0


# ----------------------------------------------------------------------------- downcasting
def test_allow_input_downcast() -> None:
    v = T.fvector("v")
    data = np.array([0.1, 0.2])
    for flag in (None, False):
        with pytest.raises(
            TypeError, match="expected dtype float32, got an array of dtype float64"
        ):
            function([v], v * 1, allow_input_downcast=flag)(data)
    result = function([v], v * 1, allow_input_downcast=True)(data)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, data, rtol=1e-6)


def test_exactly_representable_lists_are_accepted() -> None:
    v = T.fvector("v")
    np.testing.assert_array_equal(function([v], v * 1)([0.5, 1.25, 3.0]), [0.5, 1.25, 3.0])
    with pytest.raises(TypeError, match="cannot store exactly"):
        function([v], v * 1)([0.1])
    i = T.ivector("i")
    assert function([i], i * 1)([1, 2]).dtype == np.int32
    with pytest.raises(TypeError, match="cannot store exactly"):
        function([i], i * 1)([1.5])


def test_python_float_into_floatx() -> None:
    with config.change_flags(floatX="float32"):
        x = T.scalar("x")
        assert x.dtype == "float32"
        assert function([x], x * 1)(0.1) == np.float32(0.1)
        with pytest.raises(TypeError, match="cannot store exactly"):
            function([x], x * 1, allow_input_downcast=False)(0.1)
    d = T.dscalar("d")
    assert function([d], d * 1)(0.1) == 0.1
    f = T.fscalar("f")
    with pytest.raises(TypeError, match="expected dtype float32"):
        function([f], f * 1)(0.1)  # floatX is float64: 0.1 is not exact in float32


def test_safe_upcasts_are_accepted() -> None:
    d = T.dvector("d")
    assert function([d], d * 1)(np.arange(3, dtype="int32")).dtype == np.float64
    i = T.lvector("i")
    with pytest.raises(TypeError, match="cannot hold"):
        function([i], i * 1)(np.arange(3, dtype="uint64"))


def test_per_input_allow_downcast_and_strict() -> None:
    v = T.fvector("v")
    f = function([In(v, allow_downcast=True)], v * 1, allow_input_downcast=False)
    assert f(np.array([0.1])).dtype == np.float32
    g = function([In(v, strict=True)], v * 1)
    with pytest.raises(TypeError, match="strict"):
        g([0.5])


# ----------------------------------------------------------------------------- unused inputs
def test_on_unused_input() -> None:
    x, y = T.dscalars("x", "y")
    with pytest.raises(UnusedInputError, match="input 1 \\('y'.*not used"):
        function([x, y], x * 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = function([x, y], x * 2, on_unused_input="warn")
    assert len(caught) == 1 and "not used" in str(caught[0].message)
    assert caught[0].filename == __file__  # the warning points at the user's call
    assert f(1.0, 2.0) == 2.0
    assert function([x, y], x * 2, on_unused_input="ignore")(1.0, 5.0) == 2.0
    with pytest.raises(ValueError, match="on_unused_input must be"):
        function([x], x, on_unused_input="loud")


# ----------------------------------------------------------------------------- modes
@pytest.mark.parametrize(
    "mode", ["REFERENCE", "FAST_RUN", "FAST_COMPILE", "DebugMode", Mode(name="REFERENCE"), None]
)
def test_modes(mode: Any) -> None:
    x = T.dvector("x")
    f = function([x], T.exp(x) * 2, mode=mode)
    np.testing.assert_allclose(f(np.arange(3.0)), np.exp(np.arange(3.0)) * 2)
    assert isinstance(f.mode, Mode)


def test_mode_objects_and_names() -> None:
    x = T.dscalar("x")
    assert function([x], x, mode="DebugMode").mode.name == "REFERENCE"
    assert function([x], x, mode=jitgraph.compile.FAST_COMPILE).mode.name == "FAST_COMPILE"
    assert function([x], x).mode.name == config.mode
    assert Mode("py", "fast_compile").name == "FAST_COMPILE"  # Theano's (linker, optimizer)
    assert Mode(optimizer=None).name == "REFERENCE" and Mode().name == "FAST_RUN"


def test_bad_mode() -> None:
    x = T.dscalar("x")
    with pytest.raises(ValueError, match="mode must be one of"):
        function([x], x, mode="TURBO")
    with pytest.raises(TypeError, match="mode must be a Mode"):
        function([x], x, mode=3)


# ----------------------------------------------------------------------------- copies
def test_copy_shares_shared_variables_and_keeps_private_state() -> None:
    x, s = T.dscalars("x", "s")
    a = shared(1.0, "a")
    f = function([x, In(s, value=0.0, update=s + x)], x + a, updates={a: a + 1}, name="f")
    for share_memory in (False, True):
        g = f.copy(share_memory=share_memory)
        assert g.name == "f copy"
        before = a.get_value()
        g(5.0)
        assert a.get_value() == before + 1  # the same shared variable (Theano)
    assert f["s"] == 0.0 and g["s"] == 5.0  # the In state is private to each copy
    f(1.0)
    assert f["s"] == 1.0 and g["s"] == 5.0
    assert f.copy(name="other").name == "other"


def test_copy_swap_uses_the_new_shared_variables() -> None:
    i = T.iscalar("i")
    y, z, m = shared(1, "y"), shared(2, "z"), shared(0, "m")
    y_new, z_new = shared(3, "y_new"), shared(4, "z_new")
    out = i + y + z + m
    original = function([i], out, updates=[(z, z + 1), (m, m + 2)])
    copy = original.copy(swap={y: y_new, z: z_new})
    assert original(1) == 4
    assert copy(1) == 1 + 3 + 4 + 2
    copy(2)
    assert m.get_value() == 6 and z.get_value() == 3 and z_new.get_value() == 6
    assert y.get_value() == 1 and y_new.get_value() == 3


def test_copy_swap_errors() -> None:
    a, b = shared(1.0, "a"), shared(np.zeros(2), "b")
    f = function([], a * 2)
    with pytest.raises(TypeError, match="has type .*replacement"):
        f.copy(swap={a: b})
    with pytest.raises(ValueError, match="does not use the shared variable 'b'"):
        f.copy(swap={b: shared(np.ones(2))})


def test_copy_delete_updates() -> None:
    a = shared(1.0, "a")
    f = function([], a * 1, updates={a: a + 1})
    g = f.copy(delete_updates=True)
    g()
    assert a.get_value() == 1.0
    f()
    assert a.get_value() == 2.0


# ----------------------------------------------------------------------------- trust_input
def test_trust_input_skips_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    # jitgraph.compile.function is also the name of the function() itself
    function_module = importlib.import_module("jitgraph.compile.function")
    x = T.dvector("x")
    f = function([x], x * 2)
    calls: list[Any] = []
    real = function_module.filter_value

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(function_module, "filter_value", counting)
    f([1.0, 1.0])  # a list must be converted (an exact array takes the short path)
    assert len(calls) == 1
    f.trust_input = True
    np.testing.assert_array_equal(f(np.ones(2)), [2.0, 2.0])
    assert len(calls) == 1


# ----------------------------------------------------------------------------- introspection
def test_function_attributes() -> None:
    x, y = T.dscalars("x", "y")
    f = function([x, In(y, value=1.0)], x + y, name="adder")
    assert f.name == "adder" and f.input_names == ["x", "y"]
    assert repr(f) == "<jitgraph.Function 'adder'(x, y)>"
    assert f.maker.fgraph is f.graph and len(f.graph.nodes) == 1
    assert [i.variable for i in f.inputs] == [x, y]
    assert f.outputs == [x + y]
