"""The stabilize pass: structure after each rule, value preservation against the unstable
forms, finite values and gradients (through jitgraph.grad) where the unstable forms
overflow."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jitgraph
import jitgraph.tensor as T
from jitgraph.backends.reference import compile_graph
from jitgraph.config import config
from jitgraph.gradient_check import verify_grad
from jitgraph.ir.graph import Const, Graph, Var, graph_inputs
from jitgraph.ir.verify import verify
from jitgraph.ops.reduce import REDUCTIONS, Reduce
from jitgraph.passes.stabilize import RULES, stabilize
from jitgraph.tensor import nnet


@pytest.fixture(autouse=True)
def check_passes() -> Iterator[None]:
    with config.change_flags(check_passes=True):
        yield


def stable(*outputs: Var) -> list[Var]:
    """The outputs after the pass (verified, and a fixpoint: a second pass changes nothing)."""
    inputs = [v for v in graph_inputs(outputs) if not isinstance(v, Const)]
    graph = Graph(inputs, outputs)
    new = stabilize(graph)
    verify(new)
    assert stabilize(new) is new
    return list(new.outputs)


def run(outputs: list[Var], inputs: list[Var], *values: Any) -> list[np.ndarray]:
    return compile_graph(Graph(inputs, outputs)).run([np.asarray(v) for v in values])


def const(value: float, dtype: str = "float64") -> Var:
    return T.constant(value, dtype=dtype)


x = T.dvector("x")
y = T.dvector("y")
a = T.dvector("a")
m = T.dmatrix("m")


# ============================================================================ structure
@pytest.mark.parametrize(
    "before, after",
    [
        (lambda: T.log(1 + x), lambda: T.log1p(x)),
        (lambda: T.log(x + 1), lambda: T.log1p(x)),
        (lambda: T.log(x + const(1.0)), lambda: T.log1p(x)),
        (lambda: T.log(a + 1 + x), lambda: T.log1p(a + x)),
        (lambda: T.log((1 + a) + x), lambda: T.log1p(a + x)),
        (lambda: T.exp(x) - 1, lambda: T.expm1(x)),
        (lambda: T.exp(x) + (-1), lambda: T.expm1(x)),
        (lambda: -1 + T.exp(x), lambda: T.expm1(x)),
        (lambda: a + T.exp(x) - 1, lambda: a + T.expm1(x)),
        (lambda: T.log(1 + T.exp(x)), lambda: T.softplus(x)),
        (lambda: T.log(T.exp(x) + 1), lambda: T.softplus(x)),
        (lambda: T.log1p(T.exp(x)), lambda: T.softplus(x)),
        (lambda: 1 / (1 + T.exp(-x)), lambda: T.sigmoid(x)),
        (lambda: 1 / (T.exp(-x) + 1), lambda: T.sigmoid(x)),
        (lambda: 1 / (1 + T.exp(x)), lambda: T.sigmoid(-x)),
        (lambda: T.inv(1 + T.exp(-x)), lambda: T.sigmoid(x)),
        (lambda: (1 + T.tanh(x / 2)) / 2, lambda: T.sigmoid(x)),
        (lambda: 0.5 * (1 + T.tanh(0.5 * x)), lambda: T.sigmoid(x)),
        (lambda: (T.tanh(x * 0.5) + 1) * 0.5, lambda: T.sigmoid(x)),
        (lambda: 0.5 + 0.5 * T.tanh(0.5 * x), lambda: T.sigmoid(x)),
        (lambda: T.tanh(x / 2) / 2 + 0.5, lambda: T.sigmoid(x)),
        (lambda: (1 + T.tanh(x)) / 2, lambda: T.sigmoid(x * const(2.0))),
        (lambda: 1 - T.sigmoid(x), lambda: T.sigmoid(-x)),
        (lambda: 1 + -T.sigmoid(x), lambda: T.sigmoid(-x)),
        (lambda: T.log(T.sigmoid(x)), lambda: -T.softplus(-x)),
        (lambda: T.log(T.sigmoid(-x)), lambda: -T.softplus(x)),
        (lambda: T.log(1 - T.sigmoid(x)), lambda: -T.softplus(x)),
        (lambda: T.log1p(-T.sigmoid(x)), lambda: -T.softplus(x)),
        (lambda: T.log(1 / (1 + T.exp(-x))), lambda: -T.softplus(-x)),
        (lambda: (-a) * (-x), lambda: a * x),
        (lambda: a * (-x), lambda: -(a * x)),
        (lambda: (-a) * x, lambda: -(a * x)),
        (lambda: a - (-x), lambda: a + x),
        (lambda: (-a) + (-x), lambda: -(a + x)),
        (lambda: T.neg(T.neg(x)), lambda: x),
    ],
)
def test_rule_gives_expected_graph(before: Callable[[], Var], after: Callable[[], Var]) -> None:
    assert stable(before()) == [after()]


def test_every_rule_is_exercised_by_name() -> None:
    """Each rule applies to at least one form above (names as the rewriter counts them)."""
    from jitgraph.passes.rewriter import rewrite

    forms = [
        T.log(1 + a + x),
        T.exp(x) - 1,
        T.exp(x) + (-1),
        T.log(1 + T.exp(x)),
        1 / (1 + T.exp(-x)),
        T.inv(1 + T.exp(-x)),
        (1 + T.tanh(x / 2)) / 2,
        0.5 * (1 + T.tanh(0.5 * x)),
        0.5 + 0.5 * T.tanh(0.5 * x),
        1 - T.sigmoid(x),
        1 + -T.sigmoid(x),
        T.log1p(-T.sigmoid(x)),
        T.log(T.sigmoid(x)),
        T.log(T.sum(T.exp(x))),
        T.log(T.exp(m) / T.sum(T.exp(m), axis=1, keepdims=True)),
        T.log(nnet.softmax(m)[T.arange(m.shape[0]), T.ivector("i")]),
        (-a) * (-x),
        a - (-x),
        (-a) + (-x),
        T.neg(T.neg(x)),
    ]
    applied: set[str] = set()
    for form in forms:
        inputs = [v for v in graph_inputs([form]) if not isinstance(v, Const)]
        _, stats = rewrite(Graph(inputs, [form]), RULES)
        applied |= set(stats.applied)
    assert applied == {rule.name for rule in RULES.rules}


def shift_max(x: Var, axis: int) -> Var:
    """The max the stable forms shift by: -inf (not an error) over an empty axis."""
    return Reduce(REDUCTIONS["max_or_neg_inf"], (axis,), keepdims=True)(x)


def test_logsumexp_is_max_shifted_and_finite_max_guarded() -> None:
    peak = shift_max(m, 1)
    shift = T.switch(T.isfinite(peak), peak, const(0.0))
    shifted = T.log(T.sum(T.exp(m - shift), axis=1, keepdims=True)) + shift
    assert stable(T.log(T.sum(T.exp(m), axis=1, keepdims=True))) == [shifted]
    assert stable(T.log(T.sum(T.exp(m), axis=1))) == [shifted.dimshuffle(0)]


def softmax_of(x: Var, axis: int) -> Var:
    """The stable softmax the pass writes: nnet.softmax's, with the max made finite."""
    peak = shift_max(x, axis)
    numerator = T.exp(x - T.switch(T.isfinite(peak), peak, const(0.0)))
    return numerator / T.sum(numerator, axis=axis, keepdims=True)


def log_softmax_of(x: Var, axis: int) -> Var:
    peak = shift_max(x, axis)
    shifted = x - T.switch(T.isfinite(peak), peak, const(0.0))
    return shifted - T.log(T.sum(T.exp(shifted), axis=axis, keepdims=True))


def test_softmax_forms_become_max_shifted_softmax() -> None:
    e = T.exp(m)
    assert stable(e / T.sum(e, axis=1, keepdims=True)) == [softmax_of(m, 1)]
    assert stable(e / e.sum(axis=1).dimshuffle(0, "x")) == [softmax_of(m, 1)]
    assert stable(e / T.sum(e, axis=0, keepdims=True)) == [softmax_of(m, 0)]
    v = T.exp(x)
    assert stable(v / T.sum(v)) == [softmax_of(x, 0)]
    # the already stable forms are left alone
    assert stable(nnet.softmax(m)) == [nnet.softmax(m)]
    assert stable(nnet.log_softmax(m)) == [nnet.log_softmax(m)]


def test_log_of_softmax_becomes_log_softmax() -> None:
    e = T.exp(m)
    assert stable(T.log(e / T.sum(e, axis=1, keepdims=True))) == [log_softmax_of(m, 1)]
    assert stable(T.log(nnet.softmax(m))) == [nnet.log_softmax(m)]


def test_one_hot_crossentropy_of_softmax_indexes_log_softmax() -> None:
    labels = T.ivector("labels")
    rows = T.arange(m.shape[0])
    before = -T.mean(T.log(nnet.softmax(m)[rows, labels]))
    assert stable(before) == [-T.mean(nnet.log_softmax(m)[rows, labels])]
    assert stable(T.log(T.sigmoid(x)[1:])) == [-T.softplus(-x[1:])]
    assert stable(T.log(T.sigmoid(x)[x > 0])) == [-T.softplus(-x[x > 0])]
    assert stable(T.log(m[0])) == [T.log(m[0])]  # no stable form to index


def test_sigmoid_crossentropy_becomes_fused_form() -> None:
    """The seed programs' loss, written by hand, becomes y*softplus(-z) + (1-y)*softplus(z)."""
    p = 1 / (1 + T.exp(-x))
    xent = -y * T.log(p) - (1 - y) * T.log(1 - p)
    assert stable(xent) == [y * T.softplus(-x) + (1 - y) * T.softplus(x)]
    loss = -(y * T.log(T.sigmoid(x)) + (1 - y) * T.log(1 - T.sigmoid(x)))
    assert stable(loss) == [y * T.softplus(-x) + (1 - y) * T.softplus(x)]


def test_seed_logit_form_keeps_the_user_expression_inside() -> None:
    w, b = T.dvector("w"), T.dscalar("b")
    logits = -T.dot(m, w) - b
    assert stable(1 / (1 + T.exp(logits))) == [T.sigmoid(-logits)]


@pytest.mark.parametrize(
    "form",
    [
        lambda: T.log(1 + T.bvector("i")),  # integer add wraps: log1p would not
        lambda: T.log(1 + T.ivector("i")),
        lambda: T.log(2 + x),
        lambda: 2 / (1 + T.exp(-x)),
        lambda: 1 / (2 + T.exp(-x)),
        lambda: 1 / (1 + T.exp(-x) + a),
        lambda: (2 + T.tanh(x / 2)) / 2,
        lambda: T.exp(m) / T.sum(T.exp(m), axis=1).dimshuffle("x", 0),
        lambda: T.exp(m) / T.sum(T.exp(m), axis=0, keepdims=True).T,
        lambda: T.exp(x) / T.sum(T.exp(a), keepdims=True),
        lambda: T.log(T.prod(T.exp(x))),
    ],
)
def test_forms_that_are_not_rewritten(form: Callable[[], Var]) -> None:
    before = form()
    (after,) = stable(before)
    assert after is before


def test_statically_empty_axis_is_not_shifted() -> None:
    empty = T.tensor("float64", (3, 0), name="empty")
    before = T.log(T.sum(T.exp(empty), axis=1))
    assert stable(before) == [before]


EMPTY_AXIS_FORMS = {
    "logsumexp": lambda v: T.log(T.sum(T.exp(v), axis=1)),
    "logsumexp_keepdims": lambda v: T.log(T.sum(T.exp(v), axis=1, keepdims=True)),
    "logsumexp_axis0": lambda v: T.log(T.sum(T.exp(v), axis=0)),
    "logsumexp_all": lambda v: T.log(T.sum(T.exp(v))),
    "logsumexp_of_a_kernel_value": lambda v: T.log(T.sum(T.exp(2 * v), axis=1)),
    "softmax": lambda v: T.exp(v) / T.sum(T.exp(v), axis=1, keepdims=True),
    "softmax_axis0": lambda v: T.exp(v) / T.sum(T.exp(v), axis=0, keepdims=True),
    "log_softmax": lambda v: T.log(T.exp(v) / T.sum(T.exp(v), axis=1, keepdims=True)),
}


@pytest.mark.parametrize("name", list(EMPTY_AXIS_FORMS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_run_time_empty_axis_gives_the_unstable_forms_values(name: str, dtype: str) -> None:
    v = T.matrix("v", dtype=dtype)
    before = EMPTY_AXIS_FORMS[name](v)
    assert stable(before)[0] is not before  # the axis is not statically empty: rewritten
    optimized = jitgraph.function([v], before)
    reference = jitgraph.function([v], before, mode="REFERENCE")
    for shape in [(2, 0), (0, 3), (0, 0), (2, 3)]:
        value = np.linspace(-3.0, 3.0, int(np.prod(shape)), dtype=dtype).reshape(shape)
        expected = reference(value)
        got = optimized(value)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=TOLERANCE[dtype][0], atol=0)


@pytest.mark.parametrize("name", list(EMPTY_AXIS_FORMS))
def test_gradients_over_a_run_time_empty_axis_do_not_raise(name: str) -> None:
    v = T.dmatrix("v")
    cost = T.sum(EMPTY_AXIS_FORMS[name](v))
    gradient = jitgraph.function([v], jitgraph.grad(cost, v))
    for shape in [(2, 0), (0, 3)]:
        got = gradient(np.zeros(shape))
        assert got.shape == shape and got.dtype == np.float64


def test_constant_broadcasting_to_a_larger_shape_is_not_rewritten() -> None:
    small = T.tensor("float64", (1,), name="small")
    ones = T.constant(np.ones(3))
    before = T.log(ones + small)  # shape (3,): log1p(small) would have shape (1,)
    assert stable(before) == [before]
    same = T.tensor("float64", (3,), name="same")
    assert stable(T.log(ones + same)) == [T.log1p(same)]


def test_constants_of_any_dtype_and_shape_match() -> None:
    f = T.fvector("f")
    assert stable(T.log(T.constant(np.ones(1, dtype="uint8")) + f)) == [T.log1p(f)]
    assert stable(T.log(T.constant(np.float32(1)) + f)) == [T.log1p(f)]
    assert stable(T.log(f + T.constant(np.ones((1,), dtype="float32")))) == [T.log1p(f)]
    # a float64 constant makes the expression float64: the replacement is computed in it
    assert stable(T.log(const(1.0) + f)) == [T.log1p(T.cast(f, "float64"))]


def test_float32_stays_float32() -> None:
    f = T.fvector("f")
    (out,) = stable(-T.log(1 / (1 + T.exp(-f))))
    assert out.type.dtype == "float32"
    assert out is T.softplus(-f)


# ============================================================================ values
@dataclasses.dataclass(frozen=True)
class Form:
    """An unstable form of one vector input, its exact value, and where it is defined."""

    name: str
    build: Callable[[Var], Var]
    exact: Callable[[np.ndarray], np.ndarray]
    low: float = -5.0
    high: float = 5.0


def _log_sigmoid(v: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0, -v)


FORMS = [
    Form("log1p", lambda v: T.log(1 + v), np.log1p, low=0.0),
    Form("expm1", lambda v: T.exp(v) - 1, np.expm1),
    Form("softplus", lambda v: T.log(1 + T.exp(v)), lambda v: np.logaddexp(0, v)),
    Form("sigmoid", lambda v: 1 / (1 + T.exp(-v)), scipy.special.expit),
    Form("sigmoid_tanh", lambda v: (1 + T.tanh(v / 2)) / 2, scipy.special.expit),
    Form("sigmoid_tanh_sum", lambda v: 0.5 + 0.5 * T.tanh(0.5 * v), scipy.special.expit),
    Form("log_sigmoid", lambda v: T.log(1 / (1 + T.exp(-v))), _log_sigmoid),
    Form("log_1m_sigmoid", lambda v: T.log(1 - T.sigmoid(v)), lambda v: _log_sigmoid(-v)),
    Form("logsumexp", lambda v: T.log(T.sum(T.exp(v))), scipy.special.logsumexp),
    Form(
        "softmax",
        lambda v: T.exp(v) / T.sum(T.exp(v), keepdims=True),
        scipy.special.softmax,
    ),
    Form(
        "log_softmax",
        lambda v: T.log(T.exp(v) / T.sum(T.exp(v), keepdims=True)),
        scipy.special.log_softmax,
    ),
]
TOLERANCE = {"float32": (2e-5, 2e-6), "float64": (1e-10, 1e-13)}  # (rtol, atol)


def values_of(form: Form, dtype: str, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the unstable form, the stabilized form) of ``value``, run on the reference executor."""
    v = T.vector("v", dtype=dtype)
    before = form.build(v)
    (after,) = stable(before)
    assert after is not before, f"{form.name} was not rewritten"
    got_before, got_after = run([before, after], [v], value)
    assert got_after.dtype == got_before.dtype and got_after.shape == got_before.shape
    return got_before, got_after


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings()
@given(data=st.data())
def test_values_preserved_on_moderate_inputs(form: Form, dtype: str, data: st.DataObject) -> None:
    elements = st.floats(form.low, form.high, width=32)
    value = data.draw(hnp.arrays(dtype, st.integers(1, 6), elements=elements))
    before, after = values_of(form, dtype, value)
    rtol, atol = TOLERANCE[dtype]
    np.testing.assert_allclose(after, before, rtol=rtol, atol=atol)


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
def test_values_preserved_at_nan_and_inf(form: Form) -> None:
    for special in ([np.nan, 1.0, 0.5], [np.inf, 0.5, 1.0], [-np.inf, 2.0, 0.5]):
        value = np.array(special)
        before, after = values_of(form, "float64", value)
        np.testing.assert_allclose(after, before, rtol=1e-12, equal_nan=True)


def test_logsumexp_of_all_infinite_values_matches_the_unstable_form() -> None:
    for special in ([-np.inf, -np.inf], [np.inf, np.inf], [np.inf, -np.inf, 1.0]):
        before, after = values_of(FORMS[8], "float64", np.array(special))
        np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("form", FORMS[2:], ids=lambda f: f.name)
@pytest.mark.parametrize("dtype, big", [("float64", 1e3), ("float32", 80.0)])
def test_stable_at_extremes(form: Form, dtype: str, big: float) -> None:
    value = np.array([big, -big, 0.0, big / 2], dtype=dtype)
    _, after = values_of(form, dtype, value)
    assert np.isfinite(after).all() or form.name in ("log_softmax", "log_sigmoid")
    rtol, atol = TOLERANCE[dtype]
    np.testing.assert_allclose(after, form.exact(value.astype("float64")), rtol=rtol, atol=atol)


def test_small_arguments_keep_their_digits() -> None:
    tiny = np.array([1e-20, -1e-18, 3e-10])
    for form in FORMS[:2]:
        _, after = values_of(form, "float64", tiny)
        np.testing.assert_allclose(after, form.exact(tiny), rtol=1e-14)


def test_acceptance_targets() -> None:
    s = T.dscalar("s")
    (softplus_value,) = run(stable(T.log(1 + T.exp(s))), [s], 1000.0)
    assert softplus_value == 1000.0
    (log_sigmoid_value,) = run(stable(T.log(T.sigmoid(s))), [s], -800.0)
    assert log_sigmoid_value == -800.0
    e = T.exp(m)
    probabilities = e / T.sum(e, axis=1, keepdims=True)
    outs = stable(probabilities, T.log(probabilities))
    softmax_value, log_softmax_value = run(outs, [m], [[1000.0, 0.0]])
    np.testing.assert_allclose(softmax_value, [[1.0, 0.0]], atol=1e-300)
    np.testing.assert_array_equal(log_softmax_value, [[0.0, -1000.0]])


# ============================================================================ gradients
def gradient_of(form: Form, dtype: str, value: np.ndarray) -> np.ndarray:
    """d sum(form(v)) / dv through jitgraph.grad, run WITHOUT the optimizer."""
    v = T.vector("v", dtype=dtype)
    cost = T.sum(form.build(v))
    (result,) = run([jitgraph.grad(cost, v)], [v], value)
    return result


@pytest.mark.parametrize("form", FORMS[2:], ids=lambda f: f.name)
@pytest.mark.parametrize("dtype, big", [("float64", 1e3), ("float32", 80.0)])
def test_gradients_of_unstable_forms_are_finite(form: Form, dtype: str, big: float) -> None:
    value = np.array([big, -big, 0.0, -big / 2], dtype=dtype)
    assert np.isfinite(gradient_of(form, dtype, value)).all()


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
def test_gradients_match_finite_differences(form: Form) -> None:
    value = np.linspace(max(form.low, -3.0) + 0.5, 3.0, 4)
    verify_grad(form.build, [value])


def test_gradient_at_extremes_has_the_right_values() -> None:
    value = np.array([1e3, -1e3, 0.0])
    softplus_gradient = gradient_of(FORMS[2], "float64", value)
    np.testing.assert_allclose(softplus_gradient, scipy.special.expit(value))
    log_sigmoid_gradient = gradient_of(FORMS[6], "float64", value)
    np.testing.assert_allclose(log_sigmoid_gradient, scipy.special.expit(-value))


def test_seed_logistic_regression_gradient_is_finite_for_large_logits() -> None:
    with config.change_flags(floatX="float32"):
        data, labels = T.matrix("data"), T.vector("labels")
        w = jitgraph.shared(np.full(3, 40.0, dtype="float32"), name="w")
        b = jitgraph.shared(np.float32(0.0), name="b")
        p_1 = 1 / (1 + T.exp(-T.dot(data, w) - b))
        xent = -labels * T.log(p_1) - (1 - labels) * T.log(1 - p_1)
        cost = xent.mean() + 0.01 * (w**2).sum()
        gw, gb = jitgraph.grad(cost, [w, b])
        train = jitgraph.function([data, labels], [gw, gb])
    points = np.array([[1, 1, 1], [-1, -1, -1], [1, 0, 0]], dtype="float32")
    gw_value, gb_value = train(points, np.array([0, 1, 1], dtype="float32"))
    assert np.isfinite(gw_value).all() and np.isfinite(gb_value)
    # sigmoid(+-120) is 1 or 0: the loss gradient is (p - y) x / n, exactly
    np.testing.assert_allclose(gb_value, (1 - 0 + 0 - 1 + 1 - 1) / 3, atol=1e-6)


# ============================================================================ grad's protections
def test_wrt_an_intermediate_removed_by_a_rule() -> None:
    e = T.exp(x)
    cost = T.sum(T.log(1 + e))  # would become softplus(x): e is kept for grad
    value = np.array([0.5, -1.0])
    (result,) = run([jitgraph.grad(cost, e)], [x], value)
    np.testing.assert_allclose(result, 1 / (1 + np.exp(value)))


def test_consider_constant_inside_a_rewritten_form_still_blocks() -> None:
    e = T.exp(x)
    cost = T.sum(T.log(1 + e)) + T.sum(e)
    value = np.array([0.5, -1.0])
    g = jitgraph.grad(cost, x, consider_constant=[e], disconnected_inputs="ignore")
    (result,) = run([g], [x], value)
    np.testing.assert_array_equal(result, [0.0, 0.0])
    (free,) = run([jitgraph.grad(cost, x)], [x], value)
    np.testing.assert_allclose(free, scipy.special.expit(value) + np.exp(value))


def test_known_grads_on_an_intermediate() -> None:
    e = T.exp(x)
    cost = T.sum(T.log(1 + e))
    g = jitgraph.grad(cost, x, known_grads={e: T.ones_like(e)})
    value = np.array([0.5, -1.0])
    (result,) = run([g], [x], value)
    np.testing.assert_allclose(result, np.exp(value))  # the seed on e replaces the cost's


def test_lop_of_an_unstable_output_is_finite() -> None:
    v = T.dvector("v")
    g = jitgraph.gradient.Lop(T.log(1 + T.exp(x)), x, v)
    (result,) = run([g], [x, v], np.array([1e3, -1e3]), np.array([2.0, 3.0]))
    np.testing.assert_allclose(result, [2.0, 0.0])


def test_gradient_names_and_disconnection_are_unchanged() -> None:
    cost = T.sum(T.log(1 + T.exp(x)))
    cost.name = "cost"
    assert jitgraph.grad(cost, x).name == "(dcost/dx)"
    with pytest.raises(jitgraph.gradient.DisconnectedInputError, match="'y'"):
        jitgraph.grad(cost, y)


def test_optimize_fast_run_of_the_seed_training_graph() -> None:
    """Through the whole pipeline (check_passes on), the seed's loss and gradient are
    finite and exact for logits of several hundred."""
    from jitgraph.passes import pipeline

    data, labels = T.dmatrix("data"), T.dvector("labels")
    w = T.dvector("w")
    p_1 = 1 / (1 + T.exp(-T.dot(data, w)))
    cost = T.mean(-labels * T.log(p_1) - (1 - labels) * T.log(1 - p_1))
    gw = jitgraph.grad(cost, w)
    graph = Graph([data, labels, w], [cost, gw])
    optimized = pipeline.optimize(graph, "FAST_RUN").graph
    points = np.array([[30.0, 90.0], [95.0, 35.0], [-60.0, 10.0]])
    values = [points, np.array([1.0, 0.0, 1.0]), np.array([50.0, -50.0])]
    cost_value, gw_value = compile_graph(optimized).run(values)
    assert np.isfinite(cost_value) and np.isfinite(gw_value).all()
    expected_cost, expected_gw = compile_graph(Graph(*_exact_logistic(points))).run(values)
    np.testing.assert_allclose(cost_value, expected_cost)
    np.testing.assert_allclose(gw_value, expected_gw)


def _exact_logistic(points: np.ndarray) -> tuple[list[Var], list[Var]]:
    data, labels, w = T.dmatrix("data"), T.dvector("labels"), T.dvector("w")
    z = T.dot(data, w)
    cost = T.mean(labels * T.softplus(-z) + (1 - labels) * T.softplus(z))
    gw = T.dot(T.sigmoid(z) - labels, data) / T.cast(data.shape[0], "float64")
    return [data, labels, w], [cost, gw]
