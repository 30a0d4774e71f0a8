"""Scan's native loop (jitgraph/backends/llvm/scan_loop*.py): which steps run natively, and
that they compute what the Python loop over the same compiled step computes (bit for bit
where the same kernels run: everything but the small products, which the loop computes
with its own FMA loops) and what the REFERENCE mode computes (to 1e-12, float32 to 1e-5),
errors included.

Every case compiles a few functions (50-300 ms each), so cases share functions where
they can.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.backends.llvm import blas, scan_loop, target
from jitgraph.ops.scan import Scan, ScanError

NATIVE = "native scan loop"


# ============================================================================ helpers
class Compiled:
    """One graph compiled three ways: the native loop (FAST_RUN), the Python loop over
    the same compiled step, and the REFERENCE mode."""

    def __init__(self, inputs: list[Any], outputs: Any, **options: Any) -> None:
        self.native = jitgraph.function(inputs, outputs, **options)
        with mock.patch.object(scan_loop, "native_scan", lambda *args: None):
            self.python = jitgraph.function(inputs, outputs, **options)
        self.reference = jitgraph.function(inputs, outputs, mode="REFERENCE", **options)

    def descriptions(self) -> list[str]:
        program = self.native._compiled.program
        return [program.describe_node(n) for n in program.graph.nodes if isinstance(n.op, Scan)]

    def check(self, *args: Any, exact: bool = True, rtol: float = 1e-12) -> list[np.ndarray]:
        """Run all three on ``args``; the native loop must run natively and agree."""
        assert self.descriptions() and set(self.descriptions()) == {NATIVE}
        before = scan_loop.STATISTICS["native_calls"]
        native = _as_list(self.native(*args))
        assert scan_loop.STATISTICS["native_calls"] > before, "the call ran in Python"
        python = _as_list(self.python(*args))
        reference = _as_list(self.reference(*args))
        for got, same, expected in zip(native, python, reference, strict=True):
            assert np.shape(got) == np.shape(expected)
            assert np.asarray(got).dtype == np.asarray(expected).dtype
            if exact:
                np.testing.assert_array_equal(got, same)
            # Relative to the values' scale: sums that cancel lose relative accuracy.
            scale = rtol * max(1.0, float(np.max(np.abs(expected), initial=0.0)))
            np.testing.assert_allclose(got, same, rtol=rtol, atol=scale)
            np.testing.assert_allclose(got, expected, rtol=rtol, atol=scale)
        return native


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def rnn(dtype: str) -> Compiled:
    W, U = T.matrix("W", dtype=dtype), T.matrix("U", dtype=dtype)
    x0, Y = T.vector("x0", dtype=dtype), T.matrix("Y", dtype=dtype)
    states, _ = jitgraph.scan(
        lambda y, x, W, U: T.tanh(T.dot(x, W) + T.dot(y, U)),
        sequences=Y,
        outputs_info=x0,
        non_sequences=[W, U],
    )
    return Compiled([W, U, x0, Y], states)


def rnn_arguments(hidden: int, steps: int, dtype: str) -> list[np.ndarray]:
    rng = _rng()
    gaussian = rng.standard_normal((hidden, hidden))
    return [
        (0.9 * gaussian / np.linalg.norm(gaussian, 2)).astype(dtype),
        (rng.standard_normal((hidden, hidden)) / np.sqrt(hidden)).astype(dtype),
        (0.1 * rng.standard_normal(hidden)).astype(dtype),
        rng.standard_normal((steps, hidden)).astype(dtype),
    ]


def numpy_rnn(W: Any, U: Any, x0: Any, Y: Any) -> np.ndarray:
    states, state = [], x0.astype(np.float64)
    for y in Y.astype(np.float64):
        state = np.tanh(state @ W.astype(np.float64) + y @ U.astype(np.float64))
        states.append(state)
    return np.array(states).reshape(len(Y), len(x0))


# ============================================================================ the RNN
@pytest.fixture(scope="module")
def rnn64() -> Compiled:
    return rnn("float64")


@pytest.fixture(scope="module")
def rnn32() -> Compiled:
    return rnn("float32")


@pytest.mark.parametrize("hidden", [2, 64])
@pytest.mark.parametrize("steps", [0, 1, 7, 300])
def test_rnn_float64(rnn64: Compiled, hidden: int, steps: int) -> None:
    args = rnn_arguments(hidden, steps, "float64")
    if steps == 0:  # the Python loop's business: outputs of no step
        np.testing.assert_array_equal(rnn64.native(*args), rnn64.reference(*args))
        return
    [states] = rnn64.check(*args, exact=False)
    np.testing.assert_allclose(states, numpy_rnn(*args), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("hidden", [2, 64])
def test_rnn_float32(rnn32: Compiled, hidden: int) -> None:
    args = rnn_arguments(hidden, 200, "float32")
    [states] = rnn32.check(*args, exact=False, rtol=1e-5)
    assert states.dtype == np.float32
    np.testing.assert_allclose(states, numpy_rnn(*args), rtol=1e-5, atol=1e-5)


def test_rnn_takes_any_layout_of_its_inputs(rnn64: Compiled) -> None:
    """Transposed, strided and reversed inputs: the same compiled loop (no new module)."""
    W, U, x0, Y = rnn_arguments(48, 40, "float64")
    compiled = target.STATISTICS["compiled_modules"]
    W_t = np.asfortranarray(W)
    U_strided = np.repeat(U, 2, axis=1)[:, ::2]
    Y_reversed = Y[::-1]
    rnn64.check(W_t, U_strided, x0, Y_reversed, exact=False)
    rnn64.check(W[:, :40][:40], U[:40, :40], x0[:40], Y[:, :40].copy(), exact=False)
    assert target.STATISTICS["compiled_modules"] == compiled


@pytest.mark.parametrize(("size", "through_blas"), [(3, False), (96, True)])
def test_products_run_inline_when_small_and_through_blas_when_large(
    size: int, through_blas: bool
) -> None:
    """Matrix products of a matrix state: 3 x 3 in the loop's own code, 96 x 96 by BLAS
    (its calls are described once per layout, never per step)."""
    A, S0 = T.dmatrix("A"), T.dmatrix("S0")
    states, _ = jitgraph.scan(
        lambda s, A: T.tanh(T.dot(s, A)) + T.dot(A, s).T,
        outputs_info=S0,
        non_sequences=A,
        n_steps=4,
    )
    compiled = Compiled([A, S0], states[-1])
    rng = _rng()
    args = (rng.standard_normal((size, size)) / size, rng.standard_normal((size, size)))
    with mock.patch.object(blas, "routine_call", wraps=blas.routine_call) as described:
        compiled.check(*args, exact=False)
        assert (described.call_count > 0) == through_blas
        calls = described.call_count
        compiled.native(*args)  # the same layout: nothing described again
        assert described.call_count == calls


def test_products_of_sequence_rows_are_computed_before_the_loop() -> None:
    """``U @ y_t`` and ``y_t @ V`` for every step at once (reversed and strided rows)."""
    U, V, Y, h0 = T.dmatrix("U"), T.dmatrix("V"), T.dmatrix("Y"), T.dvector("h0")
    states, _ = jitgraph.scan(
        lambda y, h: T.tanh(T.dot(U, y) + h * T.dot(y, V)),
        sequences=Y[::-1],
        outputs_info=h0,
    )
    compiled = Compiled([U, V, Y, h0], states)
    rng = _rng()
    args = [rng.standard_normal((4, 6)), rng.standard_normal((6, 4)), rng.standard_normal((9, 12))]
    compiled.check(args[0], args[1], args[2][:, ::2], rng.standard_normal(4), exact=False)


def test_outer_products_and_gradient_steps() -> None:
    """BPTT: the gradient is a scan of its own (outer products, Gemv, matrix states)."""
    W, x0, Y = T.dmatrix("W"), T.dvector("x0"), T.dmatrix("Y")
    states, _ = jitgraph.scan(
        lambda y, x, W: T.tanh(T.dot(x, W) + y), sequences=Y, outputs_info=x0, non_sequences=W
    )
    loss = (states**2).sum()
    compiled = Compiled([W, x0, Y], [loss, jitgraph.grad(loss, W)])
    rng = _rng()
    compiled.check(
        rng.standard_normal((5, 5)) / 3,
        rng.standard_normal(5),
        rng.standard_normal((9, 5)),
        exact=False,
    )


# ============================================================================ the seed programs
def test_elementwise_map_with_a_bias() -> None:
    X, W, b = T.dmatrix("X"), T.dmatrix("W"), T.dvector("b")
    results, _ = jitgraph.scan(lambda v: T.tanh(T.dot(v, W) + b), sequences=X)
    rng = _rng()
    Compiled([X, W, b], results).check(
        rng.random((5, 3)), rng.random((3, 4)), rng.random(4), exact=False
    )


@pytest.mark.parametrize("transpose", [False, True])
def test_norms_of_rows_and_columns(transpose: bool) -> None:
    X = T.dmatrix("X")
    results, _ = jitgraph.scan(
        lambda row: T.sqrt((row**2).sum()), sequences=[X.T if transpose else X]
    )
    Compiled([X], results).check(np.diag(np.arange(1.0, 6.0), 1))


def test_jacobian_increments_a_row_per_step() -> None:
    """IncSubtensor at an index read from the sequence at every step."""
    v, A = T.dvector("v"), T.dmatrix("A")
    y = T.tanh(T.dot(v, A))
    results, _ = jitgraph.scan(lambda i: T.grad(y[i], v), sequences=[T.arange(y.shape[0])])
    rng = _rng()
    Compiled([A, v], results).check(rng.random((5, 3)), rng.random(5), exact=False)


def test_polynomial_two_sequences_of_different_lengths() -> None:
    coefficients, x = T.dvector("coefficients"), T.dscalar("x")
    components, _ = jitgraph.scan(
        lambda c, power, free: c * (free**power),
        sequences=[coefficients, T.arange(1000)],
        non_sequences=x,
    )
    Compiled([coefficients, x], components.sum()).check(np.array([1.0, 0.0, 2.0]), 3.0)


def test_power_keeps_only_the_last_value() -> None:
    k, A = T.iscalar("k"), T.dvector("A")
    result, _ = jitgraph.scan(lambda prior, B: prior * B, outputs_info=T.ones_like(A),
                              non_sequences=A, n_steps=k)  # fmt: skip
    compiled = Compiled([A, k], result[-1])
    for steps in (1, 2, 10):
        compiled.check(np.arange(10.0), steps)
    with pytest.raises(IndexError, match="0 steps"):
        compiled.native(np.arange(10.0), 0)


def test_reversed_sequence_and_a_state() -> None:
    X, W, Y, U, P, V = T.dvector("X"), *T.dmatrices("W", "Y", "U", "P", "V")
    results, _ = jitgraph.scan(
        lambda y, p, x: T.tanh(T.dot(x, W) + T.dot(y, U) + T.dot(p, V)),
        sequences=[Y, P[::-1]],
        outputs_info=[X],
    )
    rng = _rng()
    args = [rng.random(2), rng.random((2, 2)), rng.random((5, 2)), rng.random((2, 2))]
    Compiled([X, W, Y, U, P, V], results).check(
        *args, rng.random((5, 2)), rng.random((2, 2)), exact=False
    )


def test_state_taps_minus_two_and_minus_one() -> None:
    X, W, U, V, b, n = T.dmatrix("X"), *T.dmatrices("W", "U", "V"), T.dvector("b"), T.iscalar("n")
    results, _ = jitgraph.scan(
        lambda a, c: T.dot(a, U) + T.dot(c, V) + T.tanh(T.dot(c, W) + b),
        n_steps=n,
        outputs_info=[dict(initial=X, taps=[-2, -1])],
    )
    rng = _rng()
    args = [rng.random((3, 2)), *[0.5 * rng.random((2, 2)) for _ in range(3)], rng.random(2)]
    compiled = Compiled([X, U, V, W, b, n], results)
    compiled.check(*args, 10, exact=False)
    compiled.check(*args, 1, exact=False)


def test_trace_reads_scalars_at_indices_of_every_step() -> None:
    X = T.dmatrix("X")
    results, _ = jitgraph.scan(
        lambda i, j, total: T.cast(X[i, j] + total, "float32"),
        sequences=[T.arange(X.shape[0]), T.arange(X.shape[1])],
        outputs_info=np.asarray(0.0, dtype="float32"),
    )
    compiled = Compiled([X], results[-1])
    compiled.check(_rng().random((5, 5)))
    compiled.check(_rng().random((3, 7)))


def test_accumulator_updates_a_shared_variable() -> None:
    k, n = jitgraph.shared(np.int64(0)), T.iscalar("n")
    _, updates = jitgraph.scan(lambda: {k: k + 1}, n_steps=n)
    f = jitgraph.function([n], [], updates=updates)
    before = scan_loop.STATISTICS["native_calls"]
    f(5)
    f(3)
    assert k.get_value() == 8 and scan_loop.STATISTICS["native_calls"] == before + 2


# ============================================================================ loop features
def test_until_stops_after_the_step_where_it_holds() -> None:
    x0, limit = T.dscalar("x0"), T.dscalar("limit")

    def step(x: Any, limit: Any) -> Any:
        doubled = x * 2
        return doubled, jitgraph.scan_module.until(doubled > limit)

    values, _ = jitgraph.scan(step, outputs_info=x0, non_sequences=limit, n_steps=50)
    compiled = Compiled([x0, limit], values)
    assert list(compiled.check(1.0, 100.0)[0]) == [2, 4, 8, 16, 32, 64, 128]
    assert list(compiled.check(1.0, 0.0)[0]) == [2]  # true at the first step
    assert len(compiled.check(1.0, 1e300)[0]) == 50  # never true: every step


def test_go_backwards_and_outputs_not_fed_back() -> None:
    X, s0 = T.dmatrix("X"), T.dvector("s0")
    (states, norms), _ = jitgraph.scan(
        lambda row, s: (s + row, T.sqrt((row**2).sum())),
        sequences=X,
        outputs_info=[s0, None],
        go_backwards=True,
    )
    compiled = Compiled([X, s0], [states, norms, states[-1]])
    rng = _rng()
    compiled.check(rng.random((6, 3)), rng.random(3))
    compiled.check(rng.random((6, 3))[:, ::2], rng.random(2))


def test_sequence_taps_around_the_step() -> None:
    x = T.dvector("x")
    results, _ = jitgraph.scan(lambda before, now, after: before - 2 * now + after,
                               sequences=dict(input=x, taps=[-1, 0, 1]))  # fmt: skip
    compiled = Compiled([x], results)
    compiled.check(_rng().random(9))
    compiled.check(np.arange(30.0)[::3])


def test_concatenation_in_the_step() -> None:
    X, s0 = T.dmatrix("X"), T.fvector("s0")
    (joined, states), _ = jitgraph.scan(
        lambda v, s: (T.concatenate([v, v * 2, T.cast(s, "float64")]), s * 0.5),
        sequences=X,
        outputs_info=[None, s0],
    )
    compiled = Compiled([X, s0], [joined, states])
    compiled.check(np.arange(12.0).reshape(4, 3), np.ones(2, dtype="float32"))


def test_gradient_of_a_mit_sot_recurrence() -> None:
    x0, w = T.dvector("x0"), T.dscalar("w")
    values, _ = jitgraph.scan(
        lambda before, last, w: T.tanh(before * w + last),
        outputs_info=[dict(initial=x0, taps=[-2, -1])],
        non_sequences=w,
        n_steps=6,
    )
    cost = values.sum()
    compiled = Compiled([x0, w], [cost, *jitgraph.grad(cost, [x0, w])])
    compiled.check(np.array([0.3, -0.2]), 0.7, exact=False)


def test_float32_recurrence_with_a_reduction_is_bit_for_bit() -> None:
    X, s0 = T.fmatrix("X"), T.fvector("s0")
    (states, norms), _ = jitgraph.scan(
        lambda x, s: (T.sin(s) * 0.5 + x, T.sqrt((s * s).sum())),
        sequences=X,
        outputs_info=[s0, None],
    )
    rng = _rng()
    X_value = rng.standard_normal((30, 17)).astype("float32")
    Compiled([X, s0], [states, norms]).check(X_value, X_value[0] * 2, rtol=1e-5)


def test_integer_and_boolean_states() -> None:
    n = T.iscalar("n")
    (counts, flags), _ = jitgraph.scan(
        lambda c, f: (c * 3 + 1, T.invert(f)),
        outputs_info=[T.constant(np.int32(1)), T.constant(np.bool_(False))],
        n_steps=n,
    )
    Compiled([n], [counts, flags]).check(25)  # int32 wraps as NumPy's does


def test_matrix_state_with_a_shared_update_and_a_view_per_step() -> None:
    M0, X = T.dmatrix("M0"), T.dmatrix("X")
    total = jitgraph.shared(np.zeros(3), name="total")

    def step(x: Any, m: Any) -> Any:
        updated = m.T * 0.5 + x[::-1]
        return updated, {total: total + updated[1]}

    states, updates = jitgraph.scan(step, sequences=X, outputs_info=M0)
    f = jitgraph.function([M0, X], states, updates=updates)
    reference = jitgraph.function([M0, X], states, updates=updates, mode="REFERENCE")
    rng = _rng()
    M, Xv = rng.random((3, 3)), rng.random((4, 3))
    got = f(M, Xv)
    total_native = total.get_value()
    total.set_value(np.zeros(3))
    np.testing.assert_array_equal(got, reference(M, Xv))
    np.testing.assert_array_equal(total_native, total.get_value())


def test_negative_indices_wrap() -> None:
    X, indices = T.dmatrix("X"), T.lvector("indices")
    rows, _ = jitgraph.scan(lambda i: X[i] * 2, sequences=indices)
    compiled = Compiled([X, indices], rows)
    compiled.check(np.arange(12.0).reshape(4, 3), np.array([0, -1, 3, -4]))


def test_an_index_out_of_bounds_raises_the_steps_own_error() -> None:
    """The loop stops at the failing step; Python reruns it, which raises."""
    X, indices = T.dmatrix("X"), T.lvector("indices")
    total, _ = jitgraph.scan(lambda i, s: s + X[i], sequences=indices, outputs_info=T.zeros(3))
    compiled = Compiled([X, indices], total)
    args = (np.ones((4, 3)), np.array([0, 1, 4, 2]))
    with pytest.raises(IndexError) as native_error:
        compiled.native(*args)
    with pytest.raises(IndexError) as python_error:
        compiled.python(*args)
    assert str(native_error.value) == str(python_error.value)
    compiled.check(np.ones((4, 3)), np.array([0, 1, 3, 2]))  # the same function goes on


def test_a_step_that_changes_the_states_shape_raises_the_python_loops_error() -> None:
    x0 = T.dvector("x0")
    values, _ = jitgraph.scan(lambda x: x.sum(keepdims=True), outputs_info=x0, n_steps=3)
    f = jitgraph.function([x0], values)
    with pytest.raises(ScanError, match="at step 0.*shape"):
        f(np.ones(3))
    np.testing.assert_array_equal(f(np.ones(1)), [[1.0], [1.0], [1.0]])


def test_a_sequence_too_short_for_n_steps_raises_on_a_known_layout() -> None:
    """The layout (the sequence's shape and strides) is known from an earlier call: the
    call with more steps than rows still goes to the Python loop, which raises."""
    x, n = T.dvector("x"), T.lscalar("n")
    total, _ = jitgraph.scan(lambda v, s: s + v, sequences=x, outputs_info=T.zeros(()), n_steps=n)
    compiled = Compiled([x, n], total)
    compiled.check(np.arange(5.0), 3)
    with pytest.raises(ScanError, match="sequence 0 has 5 entries"):
        compiled.native(np.arange(5.0), 6)
    compiled.check(np.arange(5.0), 5)


def test_a_step_without_a_native_form_runs_as_a_python_loop() -> None:
    X = T.dmatrix("X")
    doubled, _ = jitgraph.scan(lambda row: T.sort(row) * 2, sequences=X)  # Sort: no native form
    f = jitgraph.function([X], doubled)
    program = f._compiled.program
    [description] = [
        program.describe_node(n) for n in program.graph.nodes if isinstance(n.op, Scan)
    ]
    assert description != NATIVE
    value = _rng().random((4, 5))
    np.testing.assert_array_equal(f(value), np.sort(value, axis=1) * 2)


def test_a_loop_is_compiled_once_and_kept_in_the_disk_cache() -> None:
    def build() -> Any:
        x = T.dvector("x")
        total, _ = jitgraph.scan(
            lambda v, s: s * 0.5 + v, sequences=x, outputs_info=T.constant(0.0, dtype="float64")
        )
        return jitgraph.function([x], total)

    first = build()
    compiled = target.STATISTICS["compiled_modules"]
    second = build()
    assert target.STATISTICS["compiled_modules"] == compiled  # in memory or on disk
    value = np.arange(7.0)
    np.testing.assert_array_equal(first(value), second(value))


# ============================================================================ sizes and strides
@pytest.fixture(scope="module")
def moving_average() -> Compiled:
    X, s0 = T.dmatrix("X"), T.dvector("s0")
    states, _ = jitgraph.scan(
        lambda x, s: s * 0.75 + T.exp(-x) * 0.25, sequences=X, outputs_info=s0
    )
    return Compiled([X, s0], [states, states.sum(axis=1)])


@settings(max_examples=15)
@given(
    steps=st.integers(1, 12),
    width=st.integers(0, 9),
    step=st.sampled_from([1, 2, -1]),
    transposed=st.booleans(),
)
def test_any_size_and_stride_reuses_the_loop(
    moving_average: Compiled, steps: int, width: int, step: int, transposed: bool
) -> None:
    base = np.random.default_rng(steps * 10 + width).random((12, 18))
    X = base[:steps, :: abs(step)][:, :width]
    X = X[:, ::-1] if step < 0 else X
    if transposed:
        X = np.ascontiguousarray(X.T).T
    moving_average.check(X, np.linspace(0.0, 1.0, X.shape[1]))
