"""``ifelse`` (jitgraph/ifelse.py) and its op ``IfElse`` (jitgraph/ops/ifelse.py).

Values are checked against NumPy on both backends (``REFERENCE``, the NumPy interpreter,
and the default ``FAST_RUN``, LLVM); laziness by a branch that would fail and by counting
runs of a ``Print`` in each branch; gradients against finite differences (verify_grad).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jitgraph
import jitgraph.ifelse
import jitgraph.tensor as T
from jitgraph.gradient import DisconnectedInputError, verify_grad
from jitgraph.ifelse import IfElse, ifelse
from jitgraph.ir.graph import Var
from jitgraph.ops.base import DISCONNECTED
from jitgraph.ops.ifelse import hoist_computed
from jitgraph.printing import Print, debugprint

MODES = ["REFERENCE", "FAST_RUN"]


def compile_both(inputs: list[Var], outputs: Any, **kwargs: Any) -> list[jitgraph.Function]:
    return [jitgraph.function(inputs, outputs, mode=mode, **kwargs) for mode in MODES]


def ifelse_nodes(function: jitgraph.Function) -> list[Any]:
    return [node for node in function.maker.fgraph.nodes if isinstance(node.op, IfElse)]


# ----------------------------------------------------------------------------- values
def test_theano_doc_example_against_switch() -> None:
    """Theano's tutorial: ifelse and switch agree on the value; ifelse runs one mean."""
    a, b = T.dscalars("a", "b")
    x, y = T.dmatrices("x", "y")
    z_switch = T.switch(T.lt(a, b), T.mean(x), T.mean(y))
    z_lazy = ifelse(T.lt(a, b), T.mean(x), T.mean(y))
    rng = np.random.default_rng(0)
    big_x, big_y = rng.standard_normal((30, 20)), rng.standard_normal((10, 40))
    for f in compile_both([a, b, x, y], [z_lazy, z_switch]):
        for a_value, expected in ((1.0, big_x.mean()), (3.0, big_y.mean())):
            lazy, switch = f(a_value, 2.0, big_x, big_y)
            np.testing.assert_allclose(lazy, expected)
            np.testing.assert_allclose(switch, expected)
            assert lazy.shape == () and lazy.dtype == np.float64


def test_several_outputs_mirror_the_then_branch_container() -> None:
    c = T.iscalar("c")
    x = T.dvector("x")
    as_list = ifelse(c, [x * 2, x.sum()], [x - 1, x.max()])
    as_tuple = ifelse(c, (x * 2, x.sum()), (x - 1, x.max()))
    single = ifelse(c, x * 2, x - 1)
    assert isinstance(as_list, list) and isinstance(as_tuple, tuple) and isinstance(single, Var)
    assert as_list[0] is as_tuple[0]  # equal branch graphs: one hash-consed node
    value = np.array([1.0, 4.0, -2.0])
    for f in compile_both([c, x], [*as_list, single]):
        for flag in (0, 1, -3):
            outputs = f(flag, value)
            expected = [value * 2, value.sum(), value * 2] if flag else [value - 1, 4.0, value - 1]
            for got, want in zip(outputs, expected, strict=True):
                np.testing.assert_allclose(got, want)


@pytest.mark.parametrize(
    ("dtype", "values"),
    [
        ("bool", [(True, 1), (False, 0)]),
        ("int8", [(0, 0), (1, 1), (-5, 1)]),
        ("uint32", [(0, 0), (7, 1)]),
        ("float64", [(0.0, 0), (-0.0, 0), (0.25, 1), (np.nan, 1), (-np.inf, 1)]),
        ("float32", [(0.0, 0), (1e-30, 1)]),
    ],
)
def test_condition_dtypes(dtype: str, values: list[tuple[Any, int]]) -> None:
    """Nonzero (NaN included, as Theano's C test ``cond != 0``) takes the then branch."""
    c = T.tensor(dtype, (), name="c")
    x = T.dscalar("x")
    for f in compile_both([c, x], ifelse(c, x + 1, x - 1)):
        for value, taken in values:
            assert f(np.asarray(value, dtype=dtype), 10.0) == (11.0 if taken else 9.0)


def test_size_one_and_python_conditions() -> None:
    x = T.dscalar("x")
    one_by_one = T.tensor("int64", (1, 1), name="c")
    f = jitgraph.function([one_by_one, x], ifelse(one_by_one, x, -x))
    assert f(np.array([[1]]), 2.0) == 2.0 and f(np.array([[0]]), 2.0) == -2.0
    g = jitgraph.function([x], ifelse(True, x, -x) + ifelse(0, x, 10 * x))
    assert g(2.0) == 22.0


def test_condition_from_comparisons_and_data() -> None:
    a, b = T.lscalars("a", "b")
    x = T.dvector("x")
    out = ifelse(T.and_(T.lt(a, b), T.gt(x.sum(), 0)), x.cumsum(), x[::-1])
    value = np.array([1.0, 2.0, -0.5])
    for f in compile_both([a, b, x], out):
        np.testing.assert_allclose(f(1, 2, value), value.cumsum())
        np.testing.assert_allclose(f(2, 1, value), value[::-1])
        np.testing.assert_allclose(f(1, 2, -value), -value[::-1])


def test_nested_ifelse_and_arithmetic_around_it() -> None:
    c1, c2 = T.bscalars("c1", "c2")
    x, y = T.dvectors("x", "y")
    inner = ifelse(c2, x * y, y - x)
    nested = ifelse(c1, inner.sum() + ifelse(c2, 1.0, 2.0), ifelse(c2, x.max(), y.min()))
    around = (ifelse(c1, inner, x) + 1) * x + nested
    xv, yv = np.array([1.0, -2.0, 3.0]), np.array([0.5, 4.0, -1.0])

    def expected(one: int, two: int) -> tuple[float, np.ndarray]:
        inner_value = xv * yv if two else yv - xv
        if one:
            value = inner_value.sum() + (1.0 if two else 2.0)
        else:
            value = xv.max() if two else yv.min()
        return value, (np.where(one, inner_value, xv) + 1) * xv + value

    for f in compile_both([c1, c2, x, y], [nested, around]):
        for one in (0, 1):
            for two in (0, 1):
                got_nested, got_around = f(one, two, xv, yv)
                want_nested, want_around = expected(one, two)
                np.testing.assert_allclose(got_nested, want_nested)
                np.testing.assert_allclose(got_around, want_around)


def test_shared_variables_updates_and_givens() -> None:
    state = jitgraph.shared(np.arange(3.0), name="state")
    c = T.bscalar("c")
    z = T.dvector("z")
    x = T.dvector("x")
    out = ifelse(c, state * x, state.sum() + x)
    for mode in MODES:
        state.set_value(np.arange(3.0))
        f = jitgraph.function([c, z], out, updates={state: state + 1}, givens={x: z * 2}, mode=mode)
        np.testing.assert_allclose(f(1, np.ones(3)), np.arange(3.0) * 2)
        np.testing.assert_allclose(f(0, np.ones(3)), 6.0 + 2.0)
        np.testing.assert_allclose(state.get_value(), np.arange(3.0) + 2)


@functools.cache
def differential_functions() -> list[jitgraph.Function]:
    """One compiled pair (both modes) for every hypothesis example, compiled within the
    test session (its private cache and IR checks), not at collection."""
    c, x, y = T.dscalar("c"), T.dvector("x"), T.dmatrix("y")
    outputs = ifelse(T.gt(c, 0), [T.exp(x) * 2, y.sum(axis=0)], [x[::-1] - 1, y.max(axis=0) * 3])
    return compile_both([c, x, y], outputs)


@given(
    condition=st.floats(-2, 2, allow_nan=False),
    x=hnp.arrays(np.float64, st.integers(0, 5), elements=st.floats(-3, 3)),
    y=hnp.arrays(
        np.float64, st.tuples(st.integers(1, 4), st.integers(0, 4)), elements=st.floats(-3, 3)
    ),
)
def test_differential_against_numpy(condition: float, x: np.ndarray, y: np.ndarray) -> None:
    if condition > 0:
        expected = [np.exp(x) * 2, y.sum(axis=0)]
    else:
        expected = [x[::-1] - 1, y.max(axis=0) * 3]
    for f in differential_functions():
        for got, want in zip(f(condition, x, y), expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12)


# ----------------------------------------------------------------------------- laziness
def test_untaken_branch_that_would_fail_does_not_run() -> None:
    i = T.lscalar("i")
    x = T.dvector("x")
    in_range = T.lt(i, x.shape[0])
    picked = ifelse(in_range, x[i], -1.0)
    checked = ifelse(T.eq(x.shape[0], 3), T.specify_shape(x, (3,)).sum(), x.prod())
    for f in compile_both([i, x], [picked, checked]):
        assert f(1, np.arange(3.0)) == [1.0, 3.0]
        assert f(7, np.arange(1.0, 5.0)) == [-1.0, 24.0]  # x[7] and specify_shape not run
    taken = jitgraph.function([i, x], ifelse(T.lt(i, 100), x[i], x[0]))
    with pytest.raises(IndexError):
        taken(7, np.arange(3.0))


COUNTS: dict[str, int] = {}


def count_runs(op: Print, value: np.ndarray) -> None:
    COUNTS[op.message] = COUNTS.get(op.message, 0) + 1


def test_only_the_taken_branch_runs() -> None:
    c = T.bscalar("c")
    x = T.dvector("x")
    then_value = Print("then", global_fn=count_runs)(T.exp(x)).sum()
    else_value = Print("else", global_fn=count_runs)(T.log1p(x * x)).sum()
    for f in compile_both([c, x], ifelse(c, then_value, else_value)):
        COUNTS.clear()
        for flag in (1, 1, 0, 1):
            f(flag, np.ones(4))
        assert COUNTS == {"then": 3, "else": 1}


# ----------------------------------------------------------------------------- types, shapes
def test_static_shape_is_the_join_of_the_branches() -> None:
    c = T.bscalar("c")
    row, matrix = T.drow("row"), T.dmatrix("matrix")
    assert ifelse(c, row, matrix).type.shape == (None, None)
    assert ifelse(c, row, row * 2).type.shape == (1, None)
    fixed = ifelse(c, T.constant(np.ones(3)), T.constant(np.zeros(3)))
    assert fixed.type.shape == (3,)
    assert ifelse(c, T.constant(np.ones(3)), T.constant(np.zeros(4))).type.shape == (None,)
    f = jitgraph.function([c, row, matrix], ifelse(c, row, matrix))
    np.testing.assert_allclose(f(1, np.ones((1, 2)), np.zeros((3, 2))), np.ones((1, 2)))
    assert f(0, np.ones((1, 2)), np.zeros((3, 2))).shape == (3, 2)


def test_numbers_take_the_dtype_of_the_other_branch() -> None:
    c = T.bscalar("c")
    x = T.fvector("x")
    assert ifelse(c, x.sum(), 0).dtype == "float32"
    with pytest.raises(TypeError, match="float32, vector.*int8, scalar"):
        ifelse(c, x, 0)  # a number is not broadcast (as in Theano)
    with pytest.raises(TypeError, match="float32, scalar.*float64"):
        ifelse(c, x.sum(), 0.1)  # 0.1 is not exactly a float32
    assert ifelse(c, 1, T.lscalar()).dtype == "int64"
    f = jitgraph.function([c, x], ifelse(c, x, np.zeros(2)))
    assert f(0, np.ones(2, "float32")).dtype == np.float32


def test_shape_of_an_output_without_computing_it() -> None:
    """``out.shape`` works in both modes; FAST_RUN computes it from an ifelse of the
    branches' shapes, so the value's ifelse is gone from the compiled graph."""
    c = T.bscalar("c")
    x, y = T.dmatrices("x", "y")
    out = ifelse(c, T.exp(x), y[1:].T)
    xv, yv = np.ones((3, 2)), np.ones((5, 4))
    for f in compile_both([c, x, y], [out.shape, out.shape[0] * 10]):
        assert list(f(1, xv, yv)[0]) == [3, 2] and f(1, xv, yv)[1] == 30
        assert list(f(0, xv, yv)[0]) == [4, 4] and f(0, xv, yv)[1] == 40
    fast = f
    for node in ifelse_nodes(fast):
        assert all(v.type.dtype == "int64" and v.type.ndim == 0 for v in node.outputs)
    assert ifelse_nodes(fast)


# ----------------------------------------------------------------------------- aliasing
def test_outputs_never_alias_inputs_or_constants() -> None:
    c = T.bscalar("c")
    x, y = T.dvectors("x", "y")
    constant = T.constant(np.arange(3.0))
    both = ifelse(c, [x, x, x[1:]], [constant, y, y[::2]])
    # The ifelse output is a dead intermediate the plan may write into: it must not be x.
    downstream = T.exp(ifelse(c, x, y)) + x
    for f in compile_both([c, x, y], [*both, downstream]):
        xv, yv = np.arange(3.0), -np.arange(3.0)
        first, second, third, after = f(1, xv, yv)
        np.testing.assert_allclose(after, np.exp(np.arange(3.0)) + np.arange(3.0))
        first[:] = 7.0
        third[:] = 9.0
        np.testing.assert_array_equal(xv, np.arange(3.0))
        np.testing.assert_array_equal(second, np.arange(3.0))
        from_constant = f(0, xv, yv)[0]
        from_constant[:] = 5.0  # writeable, and the constant is untouched
        np.testing.assert_array_equal(f(0, xv, yv)[0], np.arange(3.0))
    # The node's own results (what other nodes of a program read) are fresh arrays too.
    node = both[0].owner
    args = [np.array(True), np.arange(3.0), -np.arange(3.0)]
    for backend in ("reference", "llvm"):
        for flag in (True, False):
            args[0] = np.array(flag)
            results = node.op.implementation(node, backend).perform(args)
            for k, result in enumerate(results):
                assert result.flags.writeable
                others = [*args[1:], *results[:k]]
                assert not any(np.may_share_memory(result, other) for other in others)


# ----------------------------------------------------------------------------- gradients
def check(function: Callable[..., Var], *values: np.ndarray, mode: str | None = None) -> None:
    verify_grad(function, list(values), rng=np.random.RandomState(0), mode=mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_gradients_against_finite_differences(mode: str, sign: float) -> None:
    def branches(x: Var, y: Var) -> Var:
        return ifelse(T.gt(x.sum(), 0), T.exp(x) * y.sum(), T.tanh(y[:3]) * x**2)

    x = sign * np.array([0.3, 0.8, 1.2])
    check(branches, x, np.array([0.1, -0.4, 0.7, 2.0]), mode=mode)


def test_gradient_of_outputs_that_depend_on_each_other() -> None:
    """A branch that returns y and 2*y: each output's gradient adds (Lop semantics)."""

    def branches(x: Var, y: Var) -> Var:
        twice = y * 2
        first, second = ifelse(T.gt(x, 0).all(), [twice, twice * x], [x, y * 3])
        return first * 5 + second

    check(branches, np.array([0.5, 1.5]), np.array([-1.0, 2.0]))
    check(branches, np.array([-0.5, 1.5]), np.array([-1.0, 2.0]))


def test_nested_gradient_and_second_derivative() -> None:
    def nested(x: Var) -> Var:
        return ifelse(T.gt(x[0], 0), ifelse(T.gt(x[1], 0), x**3, T.sin(x)), x.sum() * x)

    for point in ([0.5, 0.7], [0.5, -0.7], [-0.5, 0.7]):
        check(nested, np.array(point))
    s = T.dscalar("s")
    second = jitgraph.grad(jitgraph.grad(ifelse(T.gt(s, 0), s**3, s**2), s), s)
    for f in compile_both([s], second):
        assert f(2.0) == 12.0 and f(-2.0) == 2.0


def test_gradient_terms_of_the_condition_and_of_disconnected_values() -> None:
    c = T.dscalar("c")
    x = T.dvector("x")
    i = T.lscalar("i")
    out = ifelse(c, x * i, T.zeros_like(x))
    # The condition: zeros (Theano's convention), so grad with respect to it works.
    for f in compile_both([c, x, i], jitgraph.grad(out.sum(), [c, x, i])):
        gc, gx, gi = f(1.0, np.ones(2), 3)
        assert gc == 0.0 and gi == 0.0
        np.testing.assert_allclose(gx, [3.0, 3.0])
        np.testing.assert_allclose(f(0.0, np.ones(2), 3)[1], [0.0, 0.0])
    node = ifelse(c, x.shape[0] * 1.0, 2.0).owner
    terms = node.op.grad(node, [T.dscalar("g")])
    assert terms[1:] == [DISCONNECTED]  # x reaches the output only through its shape
    with pytest.raises(DisconnectedInputError):
        jitgraph.grad(node.outputs[0], x)


# ----------------------------------------------------------------------------- errors
def test_mismatched_branch_types_are_clear_errors() -> None:
    c = T.bscalar("c")
    x, y = T.dvector("x"), T.fvector("y")
    with pytest.raises(TypeError, match=r"float64, vector.*float32, vector.*T\.cast"):
        ifelse(c, x, y)
    with pytest.raises(TypeError, match=r"value 1 of the then branch.*matrix"):
        ifelse(c, [x, x], [x, T.dmatrix()])
    with pytest.raises(ValueError, match="gives 2 value.*else branch 1"):
        ifelse(c, [x, x], [x])
    with pytest.raises(TypeError, match=r"condition must be a scalar.*'mask'.*T\.any"):
        ifelse(T.bvector("mask"), x, x)
    node = ifelse(c, x * 2, x).owner
    for wrong in (T.fvector(), T.drow(), T.dmatrix()):
        with pytest.raises(TypeError, match=r"value 0 must be of type TensorType\(float64, vector"):
            node.op.make_node(c, wrong)
    assert node.op.make_node(c, T.tensor("float64", (4,))).outputs[0].type.shape == (None,)
    with pytest.raises(TypeError, match="condition must be a scalar"):
        node.op.make_node(x, x)


# ----------------------------------------------------------------------------- printing
def test_printing_shows_both_branches() -> None:
    c = T.bscalar("c")
    x = T.dvector("x")
    out = ifelse(c, T.exp(x), x[::-1], name="pick")
    assert str(out.owner.op) == "if{pick; then: 1 node, else: 1 node}"
    assert out.owner.op == ifelse(c, T.exp(x), x[::-1]).owner.op  # the name is a label only
    text = debugprint(out, file="str")
    assert text.startswith("if{pick; then: 1 node, else: 1 node}")
    assert "then branch (inputs: x)" in text and "Elemwise{exp}" in text
    assert "else branch (inputs: x)" in text and "Subtensor" in text
    for f in compile_both([c, x], out):
        assert "if{pick" in debugprint(f, file="str")
    assert jitgraph.ifelse.IfElse is IfElse


# ----------------------------------------------------------------------------- hoisting
def test_hoisting_what_the_outer_graph_computes_anyway() -> None:
    """``hoist_computed``: a branch stops recomputing a value the outer graph computes."""
    c = T.bscalar("c")
    x, y = T.dvectors("x", "y")
    eager = T.exp(x) * 2
    out = ifelse(c, (T.exp(x) * 2).sum() + y.sum(), T.exp(y).sum())
    graph = jitgraph.Graph([c, x, y], [out, eager])
    computed = {id(v) for node in graph.nodes for v in node.outputs}
    assert hoist_computed(ifelse(c, y.sum(), x.sum()).owner, computed) is None
    (hoisted,) = hoist_computed(out.owner, computed)  # type: ignore[misc]
    assert hoisted.type == out.type and hoisted.owner.inputs[-1] is eager
    then_text = debugprint(list(hoisted.owner.op.then_graph.graph.outputs), file="str")
    assert "exp" not in then_text
    xv, yv = np.array([0.5, -1.0]), np.array([2.0, 3.0])
    for f in compile_both([c, x, y], [hoisted, out]):
        for flag in (0, 1):
            first, second = f(flag, xv, yv)
            np.testing.assert_allclose(first, second)
