"""jitgraph.scan and the loop helpers (map, reduce, foldl, foldr): values against plain NumPy
loops, in the REFERENCE mode (the NumPy interpreter) and the default FAST_RUN mode (LLVM).

Theano's semantics are the contract: sequence taps are passed in the order given, a
sequence with taps ``[a, ..., b]`` gives ``len - (max(b, 0) - min(a, 0))`` steps, outputs
exclude the initial values, ``go_backwards`` reverses the sequences after the taps are
applied, ``until`` keeps the step where the condition became true. Error cases live in
test_scan_errors.py, gradients in test_scan_grad.py.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.scan_module import until

# None is the default mode: FAST_RUN, the LLVM backend.
MODES = [pytest.param("REFERENCE", id="REFERENCE"), pytest.param(None, id="FAST_RUN")]
RNG = np.random.default_rng(20240611)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str | None:
    return request.param


def compile_function(inputs, outputs, mode, **kwargs):
    return jitgraph.function(inputs, outputs, mode=mode, on_unused_input="ignore", **kwargs)


def assert_close(actual, expected, rtol=1e-9, atol=1e-12):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def numpy_scan(step, sequences, n_steps=None):
    """The reference loop for nit-sot outputs: step(*slices) per index, stacked."""
    if n_steps is None:
        n_steps = min(len(s) for s in sequences)
    return np.array([step(*(s[t] for s in sequences)) for t in range(n_steps)])


def cumulative(step, initial, sequence):
    """The reference loop for one sit-sot state: [s_1, ..., s_n], s_t = step(x_t, s_{t-1})."""
    state, history = initial, []
    for item in sequence:
        state = step(item, state)
        history.append(state)
    return np.array(history)


# ============================================================================ sequences
def test_one_vector_sequence(mode):
    x = T.dvector("x")
    out, updates = jitgraph.scan(lambda x_t: x_t**2 + 1, sequences=x)
    assert len(updates) == 0
    assert out.type.ndim == 1 and out.type.dtype == "float64"
    f = compile_function([x], out, mode)
    value = RNG.normal(size=7)
    assert_close(f(value), value**2 + 1)


def test_matrix_sequence_is_sliced_by_row(mode):
    M = T.dmatrix("M")
    out, _ = jitgraph.scan(lambda row: (row * row).sum(), sequences=M)
    assert out.type.ndim == 1
    f = compile_function([M], out, mode)
    value = RNG.normal(size=(5, 3))
    assert_close(f(value), (value**2).sum(axis=1))


def test_several_sequences_the_shortest_wins(mode):
    a, b, M = T.dvector("a"), T.dvector("b"), T.dmatrix("M")
    out, _ = jitgraph.scan(lambda a_t, b_t, row: a_t * b_t + row.sum(), sequences=[a, b, M])
    f = compile_function([a, b, M], out, mode)
    # Each sequence in turn is the shortest one.
    for len_a, len_b, rows in [(5, 3, 4), (2, 6, 4), (5, 5, 1), (4, 4, 4)]:
        av, bv, Mv = RNG.normal(size=len_a), RNG.normal(size=len_b), RNG.normal(size=(rows, 2))
        expected = numpy_scan(lambda p, q, r: p * q + r.sum(), [av, bv, Mv])
        assert len(expected) == min(len_a, len_b, rows)
        assert_close(f(av, bv, Mv), expected)


@functools.cache
def stencil_function(mode):
    x = T.dvector("x")
    out, _ = jitgraph.scan(
        lambda before, now, after: before - 2 * now + 3 * after,
        sequences=dict(input=x, taps=[-1, 0, 1]),
    )
    return compile_function([x], out, mode)


def test_sequence_taps_around_zero(mode):
    f = stencil_function(mode)
    for length in (8, 3):
        value = RNG.normal(size=length)
        expected = [value[t] - 2 * value[t + 1] + 3 * value[t + 2] for t in range(length - 2)]
        assert_close(f(value), np.array(expected))


@pytest.mark.parametrize("mode", MODES)
@given(length=st.integers(2, 12))
def test_sequence_taps_any_length(mode, length):
    value = np.arange(length, dtype=np.float64) ** 2
    expected = value[:-2] - 2 * value[1:-1] + 3 * value[2:]
    assert_close(stencil_function(mode)(value), expected)


def test_sequence_taps_all_on_one_side_and_mixed_with_plain_sequences(mode):
    a, b, c = T.dvector("a"), T.dvector("b"), T.dvector("c")
    out, _ = jitgraph.scan(
        lambda a_m2, a_0, b_p1, c_t: a_m2 * 100 + a_0 * 10 + b_p1 + 1000 * c_t,
        sequences=[dict(input=a, taps=[-2, 0]), dict(input=b, taps=[1]), c],
    )
    f = compile_function([a, b, c], out, mode)
    for len_a, len_b, len_c in [(7, 9, 9), (9, 4, 9), (9, 9, 2)]:
        av, bv, cv = (RNG.integers(0, 9, size=n).astype(float) for n in (len_a, len_b, len_c))
        # taps [-2, 0]: step t reads a[t] (tap -2) and a[t + 2]; taps [1]: b[t + 1].
        n = min(len_a - 2, len_b - 1, len_c)
        expected = [av[t] * 100 + av[t + 2] * 10 + bv[t + 1] + 1000 * cv[t] for t in range(n)]
        assert_close(f(av, bv, cv), np.array(expected))


def test_sequence_taps_are_passed_in_the_order_given(mode):
    x = T.dvector("x")
    out, _ = jitgraph.scan(
        lambda first, second, third: first * 100 + second * 10 + third,
        sequences=dict(input=x, taps=[1, -1, 0]),
    )
    value = np.arange(6.0)
    expected = [value[t + 2] * 100 + value[t] * 10 + value[t + 1] for t in range(4)]
    assert_close(compile_function([x], out, mode)(value), np.array(expected))


TAP_PATTERNS = [(-1, 0, 1), (-2, 0), (1,), (2, 1), (-2, -1), (-3,), (0, 2, -1)]


@functools.cache
def taps_function(mode, taps, go_backwards):
    x = T.dvector("x")
    out, _ = jitgraph.scan(
        lambda *slices: sum(value * 10**i for i, value in enumerate(slices)),
        sequences=dict(input=x, taps=list(taps)),
        go_backwards=go_backwards,
    )
    return compile_function([x], out, mode)


def numpy_taps(value, taps, go_backwards):
    """Theano's reading: the sequence is cut as if tap 0 were used too; step t reads
    x[t - min(taps, 0) + tap]; go_backwards walks those steps from the last one."""
    low, high = min(min(taps), 0), max(max(taps), 0)
    steps = max(len(value) - (high - low), 0)
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    rows = [sum(value[t - low + tap] * 10**i for i, tap in enumerate(taps)) for t in order]
    return np.array(rows, dtype=np.float64)


@pytest.mark.parametrize("mode", MODES)
@given(
    taps=st.sampled_from(TAP_PATTERNS),
    go_backwards=st.booleans(),
    length=st.integers(4, 9),
)
def test_sequence_taps_any_pattern(mode, taps, go_backwards, length):
    value = np.arange(length, dtype=np.float64)
    got = taps_function(mode, taps, go_backwards)(value)
    assert_close(got, numpy_taps(value, taps, go_backwards))


def test_transposed_and_reversed_views_as_sequences(mode):
    X, P = T.dmatrix("X"), T.dmatrix("P")
    out, _ = jitgraph.scan(lambda column, row: column.sum() * row, sequences=[X.T, P[::-1]])
    f = compile_function([X, P], out, mode)
    Xv, Pv = RNG.normal(size=(3, 4)), RNG.normal(size=(5, 2))
    expected = numpy_scan(lambda column, row: column.sum() * row, [Xv.T, Pv[::-1]])
    assert expected.shape == (4, 2)
    assert_close(f(Xv, Pv), expected)


def test_integer_sequence_from_arange(mode):
    v = T.dvector("v")
    out, _ = jitgraph.scan(
        lambda i, vector: vector[i] * i + vector[i - 1],
        sequences=T.arange(1, v.shape[0]),
        non_sequences=v,
    )
    value = RNG.normal(size=6)
    index = np.arange(1, 6)
    assert_close(compile_function([v], out, mode)(value), value[index] * index + value[index - 1])


# ============================================================================ outputs_info
@functools.cache
def cumsum_function(mode):
    x, a0 = T.dvector("x"), T.dscalar("a0")
    out, _ = jitgraph.scan(lambda x_t, acc: acc + x_t, sequences=x, outputs_info=a0)
    return compile_function([x, a0], [out, out[-1]], mode)


def test_sit_sot_from_a_variable(mode):
    value = RNG.normal(size=6)
    full, last = cumsum_function(mode)(value, 1.5)
    assert_close(full, 1.5 + np.cumsum(value))
    assert_close(last, 1.5 + value.sum())


@pytest.mark.parametrize("mode", MODES)
@given(values=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=20), start=st.floats(-10, 10))
def test_sit_sot_any_length(mode, values, start):
    value = np.array(values)
    full, last = cumsum_function(mode)(value, start)
    expected = cumulative(lambda item, acc: acc + item, start, value)
    assert_close(full, expected, atol=1e-9)
    assert_close(last, expected[-1], atol=1e-9)


def test_sit_sot_from_a_numpy_array(mode):
    M = T.dmatrix("M")
    out, _ = jitgraph.scan(lambda row, acc: acc * 0.5 + row, sequences=M, outputs_info=np.ones(3))
    value = RNG.normal(size=(4, 3))
    expected = cumulative(lambda row, acc: acc * 0.5 + row, np.ones(3), value)
    assert_close(compile_function([M], out, mode)(value), expected)


def test_sit_sot_from_a_constant(mode):
    x = T.dvector("x")
    initial = T.constant(np.float64(2.0))
    out, _ = jitgraph.scan(lambda x_t, acc: acc * x_t - 1, sequences=x, outputs_info=initial)
    value = RNG.normal(size=5)
    expected = cumulative(lambda item, acc: acc * item - 1, 2.0, value)
    assert_close(compile_function([x], out, mode)(value), expected)


def numpy_mit_sot(step, history, taps, n_steps):
    history = list(history)
    start = len(history)
    for _ in range(n_steps):
        history.append(step(*(history[len(history) + tap] for tap in taps)))
    return np.array(history[start:])


@functools.cache
def mit_sot_function(mode):
    x0, y0 = T.dvector("x0"), T.dvector("y0")
    (fib, other), _ = jitgraph.scan(
        lambda x_tm2, x_tm1, y_tm3, y_tm1: [x_tm1 + 0.5 * x_tm2, y_tm1 - 0.25 * y_tm3],
        outputs_info=[dict(initial=x0, taps=[-2, -1]), dict(initial=y0, taps=[-3, -1])],
        n_steps=6,
    )
    return compile_function([x0, y0], [fib, other, fib[-1], other[-1]], mode)


def test_mit_sot_taps(mode):
    fib, other, fib_last, other_last = mit_sot_function(mode)(
        np.array([1.0, 2.0]), np.array([3.0, -1.0, 2.0])
    )
    expected_fib = numpy_mit_sot(lambda a, b: b + 0.5 * a, [1.0, 2.0], [-2, -1], 6)
    expected_other = numpy_mit_sot(lambda a, b: b - 0.25 * a, [3.0, -1.0, 2.0], [-3, -1], 6)
    assert_close(fib, expected_fib)
    assert_close(other, expected_other)
    assert_close(fib_last, expected_fib[-1])
    assert_close(other_last, expected_other[-1])


def test_mit_sot_of_vectors_with_a_sequence(mode):
    X, H0 = T.dmatrix("X"), T.dmatrix("H0")
    out, _ = jitgraph.scan(
        lambda x_t, h_tm2, h_tm1: T.tanh(h_tm1 + 0.5 * h_tm2 + x_t),
        sequences=X,
        outputs_info=dict(initial=H0, taps=[-2, -1]),
    )
    Xv, H0v = RNG.normal(size=(5, 3)), RNG.normal(size=(2, 3))
    history = [H0v[0], H0v[1]]
    for t in range(5):
        history.append(np.tanh(history[-1] + 0.5 * history[-2] + Xv[t]))
    assert_close(compile_function([X, H0], out, mode)(Xv, H0v), np.array(history[2:]))


def test_outputs_that_are_not_fed_back(mode):
    x, a0 = T.dvector("x"), T.dscalar("a0")
    # fn gets no argument for the None entry: only the sequence slice and acc.
    (doubled, total), _ = jitgraph.scan(
        lambda x_t, acc: [x_t * 2, acc + x_t], sequences=x, outputs_info=[None, a0]
    )
    value = RNG.normal(size=5)
    got_doubled, got_total = compile_function([x, a0], [doubled, total], mode)(value, 0.5)
    assert_close(got_doubled, 2 * value)
    assert_close(got_total, 0.5 + np.cumsum(value))


@pytest.mark.parametrize("container", [list, tuple])
def test_several_outputs_of_mixed_kinds(mode, container):
    x, m0, s0 = T.dvector("x"), T.dvector("m0"), T.dscalar("s0")

    def step(x_t, m_tm2, m_tm1, s_tm1):
        return container([m_tm1 - 0.5 * m_tm2 + x_t, x_t * s_tm1, s_tm1 + x_t])

    outputs, updates = jitgraph.scan(
        step, sequences=x, outputs_info=[dict(initial=m0, taps=[-2, -1]), None, s0]
    )
    assert isinstance(outputs, list) and len(outputs) == 3 and len(updates) == 0
    value, m0v = RNG.normal(size=6), np.array([0.3, -0.7])
    m, s, products = list(m0v), 1.25, []
    for item in value:
        products.append(item * s)
        m.append(m[-1] - 0.5 * m[-2] + item)
        s = s + item
    got = compile_function([x, m0, s0], outputs, mode)(value, m0v, 1.25)
    assert_close(got[0], np.array(m[2:]))
    assert_close(got[1], np.array(products))
    assert_close(got[2], 1.25 + np.cumsum(value))


def test_single_output_returned_in_a_list_is_a_variable():
    x = T.dvector("x")
    out, _ = jitgraph.scan(lambda x_t: [x_t * 2], sequences=x)
    assert isinstance(out, jitgraph.Var)


def test_return_list(mode):
    x = T.dvector("x")
    outputs, _ = jitgraph.scan(lambda x_t: x_t * 2, sequences=x, return_list=True)
    assert isinstance(outputs, list) and len(outputs) == 1
    value = RNG.normal(size=4)
    assert_close(compile_function([x], outputs[0], mode)(value), 2 * value)


# ============================================================================ non-sequences
def rnn_reference(h0, W, X):
    h, history = h0, []
    for x_t in X:
        h = np.tanh(h @ W + x_t)
        history.append(h)
    return np.array(history)


def test_non_sequences_given_and_closed_over_agree(mode):
    X, h0, W = T.dmatrix("X"), T.dvector("h0"), T.dmatrix("W")
    given, _ = jitgraph.scan(
        lambda x_t, h, weights: T.tanh(T.dot(h, weights) + x_t),
        sequences=X,
        outputs_info=h0,
        non_sequences=W,
    )
    closed, _ = jitgraph.scan(
        lambda x_t, h: T.tanh(T.dot(h, W) + x_t), sequences=X, outputs_info=h0
    )
    Xv, h0v, Wv = RNG.normal(size=(4, 3)), RNG.normal(size=3), RNG.normal(size=(3, 3)) * 0.5
    got_given, got_closed = compile_function([X, h0, W], [given, closed], mode)(Xv, h0v, Wv)
    expected = rnn_reference(h0v, Wv, Xv)
    assert_close(got_given, expected)
    assert_close(got_closed, expected)


def test_closed_over_shared_variable_reads_its_current_value(mode):
    x = T.dvector("x")
    scale = jitgraph.shared(np.float64(0.5), name="scale")
    offset = jitgraph.shared(np.array([1.0, 2.0]), name="offset")
    out, updates = jitgraph.scan(
        lambda x_t, acc: acc * scale + x_t + offset, sequences=x, outputs_info=T.zeros(2)
    )
    assert len(updates) == 0
    f = compile_function([x], out, mode)
    value = RNG.normal(size=4)
    for scale_value in (0.5, -2.0):
        scale.set_value(np.float64(scale_value))
        expected = cumulative(
            lambda item, acc, s=scale_value: acc * s + item + np.array([1.0, 2.0]),
            np.zeros(2),
            value,
        )
        assert_close(f(value), expected)


def test_shared_variables_as_sequence_initial_state_and_non_sequence(mode):
    table = jitgraph.shared(RNG.normal(size=(4, 2)), name="table")
    start = jitgraph.shared(np.array([0.5, -0.5]), name="start")
    gain = jitgraph.shared(np.float64(0.9), name="gain")
    out, _ = jitgraph.scan(
        lambda row, acc, g: acc * g + row, sequences=table, outputs_info=start, non_sequences=gain
    )
    expected = cumulative(lambda row, acc: acc * 0.9 + row, start.get_value(), table.get_value())
    assert_close(compile_function([], out, mode)(), expected)


def test_jacobian_by_scan_over_indices(mode):
    x, A = T.dvector("x"), T.dmatrix("A")
    y = T.tanh(T.dot(A, x))
    given, _ = jitgraph.scan(
        lambda i, y_, x_: T.grad(y_[i], x_),
        sequences=T.arange(y.shape[0]),
        non_sequences=[y, x],
    )
    closed, _ = jitgraph.scan(lambda i: T.grad(y[i], x), sequences=T.arange(y.shape[0]))
    xv, Av = RNG.normal(size=3), RNG.normal(size=(4, 3))
    expected = (1 - np.tanh(Av @ xv) ** 2)[:, None] * Av
    got_given, got_closed = compile_function([x, A], [given, closed], mode)(xv, Av)
    assert_close(got_given, expected)
    assert_close(got_closed, expected)


# ============================================================================ updates
def test_updates_only_accumulator_over_n_steps(mode):
    counter = jitgraph.shared(np.int64(0), name="counter")
    n = T.iscalar("n")
    outputs, updates = jitgraph.scan(lambda: {counter: counter + 1}, n_steps=n)
    assert outputs is None or (isinstance(outputs, list) and not outputs)  # Theano: None
    assert list(updates) == [counter]
    f = compile_function([n], [], mode, updates=updates)
    f(5)
    assert int(counter.get_value()) == 5
    f(3)
    assert int(counter.get_value()) == 8


def test_updates_after_zero_steps_leave_the_variable_unchanged(mode):
    total = jitgraph.shared(np.float64(2.5), name="total")
    n = T.iscalar("n")
    _, updates = jitgraph.scan(lambda: {total: total * 2}, n_steps=n)
    f = compile_function([n], [], mode, updates=updates)
    f(0)
    assert float(total.get_value()) == 2.5
    f(2)
    assert float(total.get_value()) == 10.0


def test_outputs_and_updates(mode):
    x = T.dvector("x")
    total = jitgraph.shared(np.float64(1.0), name="total")
    out, updates = jitgraph.scan(lambda x_t: (x_t * total, {total: total + x_t}), sequences=x)
    assert list(updates) == [total]
    value = RNG.normal(size=5)
    # Without the updates, the shared variable keeps its value.
    without = compile_function([x], out, mode)
    running = 1.0 + np.concatenate([[0.0], np.cumsum(value)[:-1]])
    assert_close(without(value), value * running)
    assert float(total.get_value()) == 1.0
    with_updates = compile_function([x], out, mode, updates=updates)
    assert_close(with_updates(value), value * running)
    assert float(total.get_value()) == pytest.approx(1.0 + value.sum(), rel=1e-12)


def test_several_shared_variables_updated(mode):
    vector = jitgraph.shared(np.array([1.0, -1.0]), name="vector")
    scalar = jitgraph.shared(np.float64(3.0), name="scalar")
    step_size = jitgraph.shared(np.array([0.5, 0.25]), name="step_size")  # read, not updated
    _, updates = jitgraph.scan(lambda: {vector: vector + step_size, scalar: scalar * 2}, n_steps=3)
    assert set(updates) == {vector, scalar}
    compile_function([], [], mode, updates=updates)()
    assert_close(vector.get_value(), np.array([2.5, -0.25]))
    assert float(scalar.get_value()) == 24.0
    assert_close(step_size.get_value(), np.array([0.5, 0.25]))


# ============================================================================ n_steps
def test_int_n_steps_without_sequences(mode):
    h0 = T.dvector("h0")
    for n_steps in (4, 1):  # 1 is a special case in Theano: still one row
        out, _ = jitgraph.scan(lambda h: h * 2 + 1, outputs_info=h0, n_steps=n_steps)
        got = compile_function([h0], out, mode)(np.array([0.0, 1.0]))
        assert_close(got, cumulative(lambda _, h: h * 2 + 1, np.array([0.0, 1.0]), [0] * n_steps))


def test_symbolic_n_steps_including_zero(mode):
    h0, n = T.dvector("h0"), T.iscalar("n")
    out, _ = jitgraph.scan(lambda h: h * 2 + 1, outputs_info=h0, n_steps=n)
    f = compile_function([h0, n], out, mode)
    start = np.array([0.0, 1.0, -1.0])
    for steps in (5, 1, 0):
        got = f(start, steps)
        assert got.shape == (steps, 3)
        if steps:
            assert_close(got, cumulative(lambda _, h: h * 2 + 1, start, [0] * steps))


def test_n_steps_smaller_than_the_sequence(mode):
    x, n = T.dvector("x"), T.iscalar("n")
    symbolic, _ = jitgraph.scan(
        lambda x_t, acc: acc + x_t, sequences=x, outputs_info=T.zeros(()), n_steps=n
    )
    fixed, _ = jitgraph.scan(lambda x_t: x_t * 3, sequences=x, n_steps=2)
    f = compile_function([x, n], [symbolic, fixed], mode)
    value = RNG.normal(size=6)
    got_symbolic, got_fixed = f(value, 4)
    assert_close(got_symbolic, np.cumsum(value[:4]))
    assert_close(got_fixed, 3 * value[:2])


def test_zero_length_sequences(mode):
    x, M, h0 = T.dvector("x"), T.dmatrix("M"), T.dvector("h0")
    state, _ = jitgraph.scan(lambda x_t, h: h * x_t, sequences=x, outputs_info=h0)
    sums, _ = jitgraph.scan(lambda row: row.sum(), sequences=M)
    f = compile_function([x, M, h0], [state, sums, state.sum()], mode)
    got_state, got_sums, got_total = f(np.zeros(0), np.zeros((0, 3)), np.ones(3))
    assert got_state.shape == (0, 3) and got_state.dtype == np.float64
    assert got_sums.shape == (0,)
    assert float(got_total) == 0.0


def test_zero_steps_keep_the_shape_of_each_step(mode):
    M, n = T.dmatrix("M"), T.iscalar("n")
    rows, _ = jitgraph.scan(lambda row: row * 2, sequences=M)
    ones, _ = jitgraph.scan(lambda: T.ones((2, 5)), n_steps=n)
    got_rows, got_ones = compile_function([M, n], [rows, ones], mode)(np.zeros((0, 3)), 0)
    # As NumPy: np.array([row * 2 for row in M]) has shape (0,) only, but M * 2 is (0, 3).
    assert got_rows.shape == (0, 3)
    assert got_ones.shape == (0, 2, 5)


def test_go_backwards(mode):
    x, a0 = T.dvector("x"), T.dscalar("a0")
    state, _ = jitgraph.scan(
        lambda x_t, acc: acc * 2 + x_t, sequences=x, outputs_info=a0, go_backwards=True
    )
    mapped, _ = jitgraph.scan(lambda x_t: x_t * 10, sequences=x, go_backwards=True)
    f = compile_function([x, a0], [state, mapped], mode)
    value = np.array([1.0, 2.0, 3.0, 4.0])
    got_state, got_mapped = f(value, 0.5)
    # Results come in the order computed: the first row belongs to the last element.
    assert_close(got_state, cumulative(lambda item, acc: acc * 2 + item, 0.5, value[::-1]))
    assert_close(got_mapped, 10 * value[::-1])


def test_go_backwards_with_sequence_taps(mode):
    x = T.dvector("x")
    out, _ = jitgraph.scan(
        lambda before, now: before * 10 + now,
        sequences=dict(input=x, taps=[-1, 0]),
        go_backwards=True,
    )
    value = np.arange(6.0)
    # Taps keep their meaning in the sequence's order (tap -1 is the element before the
    # one at tap 0); the steps walk from the end: (x[4], x[5]), (x[3], x[4]), ...
    expected = [value[t - 1] * 10 + value[t] for t in range(5, 0, -1)]
    assert_close(compile_function([x], out, mode)(value), np.array(expected))


# ============================================================================ until
@functools.cache
def doubling_function(mode):
    a0, n = T.dscalar("a0"), T.iscalar("n")
    out, _ = jitgraph.scan(lambda acc: (acc * 2, until(acc * 2 > 100)), outputs_info=a0, n_steps=n)
    return compile_function([a0, n], [out, out[-1], out.sum()], mode)


def numpy_doubling(start, n_steps):
    history, acc = [], start
    for _ in range(n_steps):
        acc = acc * 2
        history.append(acc)
        if acc > 100:
            break
    return np.array(history)


def test_until_stops_after_the_step_where_the_condition_holds(mode):
    f = doubling_function(mode)
    for start, n_steps in [(3.0, 50), (3.0, 4), (200.0, 50), (60.0, 50)]:
        expected = numpy_doubling(start, n_steps)
        full, last, total = f(start, n_steps)
        assert_close(full, expected)
        assert_close(last, expected[-1])
        assert_close(total, expected.sum())


def test_until_with_a_sequence_and_updates(mode):
    x = T.dvector("x")
    steps_taken = jitgraph.shared(np.int64(0), name="steps_taken")
    out, updates = jitgraph.scan(
        lambda x_t, acc: (acc + x_t, {steps_taken: steps_taken + 1}, until(acc + x_t > 10)),
        sequences=x,
        outputs_info=T.zeros(()),
    )
    f = compile_function([x], out, mode, updates=updates)
    assert_close(f(np.arange(6.0)), np.array([0.0, 1.0, 3.0, 6.0, 10.0, 15.0]))
    assert int(steps_taken.get_value()) == 6
    assert_close(f(np.array([20.0, 1.0, 1.0])), np.array([20.0]))
    assert int(steps_taken.get_value()) == 7
    # Never true: the sequence bounds the loop.
    assert_close(f(np.ones(3)), np.array([1.0, 2.0, 3.0]))
    assert int(steps_taken.get_value()) == 10


def test_until_going_backwards(mode):
    x = T.dvector("x")
    out, _ = jitgraph.scan(
        lambda x_t, acc: (acc + x_t, until(x_t < 0)),
        sequences=x,
        outputs_info=T.zeros(()),
        go_backwards=True,
    )
    f = compile_function([x], [out, out[-1]], mode)
    value = np.array([1.0, -2.0, 3.0, 4.0, 5.0])
    # From the end: 5, 9, 12, then -2 stops the loop (that step included).
    full, last = f(value)
    assert_close(full, np.array([5.0, 9.0, 12.0, 10.0]))
    assert_close(last, 10.0)


# ============================================================================ result[-1]
def test_last_value_with_the_full_result_used_elsewhere(mode):
    X, h0, W = T.dmatrix("X"), T.dvector("h0"), T.dmatrix("W")
    out, _ = jitgraph.scan(lambda x_t, h: T.tanh(T.dot(h, W) + x_t), sequences=X, outputs_info=h0)
    only_last = compile_function([X, h0, W], out[-1], mode)
    both = compile_function([X, h0, W], [out[-1], out.sum(axis=0), out[-2]], mode)
    Xv, h0v, Wv = RNG.normal(size=(5, 4)), RNG.normal(size=4), RNG.normal(size=(4, 4)) * 0.5
    expected = rnn_reference(h0v, Wv, Xv)
    assert_close(only_last(Xv, h0v, Wv), expected[-1])
    last, total, before_last = both(Xv, h0v, Wv)
    assert_close(last, expected[-1])
    assert_close(total, expected.sum(axis=0))
    assert_close(before_last, expected[-2])


def test_only_last_values_used(mode):
    # No output's full history is used: only the taps each loop needs stay in memory.
    x, a0, x0, y0, n = (
        T.dvector("x"),
        T.dscalar("a0"),
        T.dvector("x0"),
        T.dvector("y0"),
        T.iscalar("n"),
    )
    total, _ = jitgraph.scan(lambda x_t, acc: acc * 0.5 + x_t, sequences=x, outputs_info=a0)
    (fib, other), _ = jitgraph.scan(
        lambda x_tm2, x_tm1, y_tm3, y_tm1: [x_tm1 + 0.5 * x_tm2, y_tm1 - 0.25 * y_tm3],
        outputs_info=[dict(initial=x0, taps=[-2, -1]), dict(initial=y0, taps=[-3, -1])],
        n_steps=n,
    )
    doubled, _ = jitgraph.scan(
        lambda acc: (acc * 2, until(acc * 2 > 100)), outputs_info=a0, n_steps=n
    )
    squares, _ = jitgraph.scan(lambda x_t: T.stack([x_t, x_t * x_t]), sequences=x)
    last_values = [total[-1], fib[-1], other[-1], doubled[-1], squares[-1]]
    f = compile_function([x, a0, x0, y0, n], last_values, mode)
    x0v, y0v = np.array([1.0, 2.0]), np.array([3.0, -1.0, 2.0])
    for steps in (1, 2, 3, 7, 40):
        value = RNG.normal(size=steps)
        got = f(value, 3.0, x0v, y0v, steps)
        assert_close(got[0], cumulative(lambda item, acc: acc * 0.5 + item, 3.0, value)[-1])
        assert_close(got[1], numpy_mit_sot(lambda a, b: b + 0.5 * a, x0v, [-2, -1], steps)[-1])
        assert_close(got[2], numpy_mit_sot(lambda a, b: b - 0.25 * a, y0v, [-3, -1], steps)[-1])
        assert_close(got[3], numpy_doubling(3.0, steps)[-1])
        assert_close(got[4], np.array([value[-1], value[-1] ** 2]))


# ============================================================================ map, reduce, folds
def test_map_over_rows(mode):
    M, w = T.dmatrix("M"), T.dvector("w")
    out, updates = jitgraph.map(
        lambda row, weights: T.dot(row, weights), sequences=M, non_sequences=w
    )
    assert len(updates) == 0
    Mv, wv = RNG.normal(size=(5, 3)), RNG.normal(size=3)
    assert_close(compile_function([M, w], out, mode)(Mv, wv), Mv @ wv)


def test_reduce_sum(mode):
    x = T.dvector("x")
    total, updates = jitgraph.reduce(
        lambda x_t, acc: acc + x_t, sequences=x, outputs_info=T.constant(np.float64(0.0))
    )
    assert total.type.ndim == 0 and len(updates) == 0
    value = RNG.normal(size=7)
    assert_close(compile_function([x], total, mode)(value), value.sum())


def test_foldl_and_foldr_respect_the_order(mode):
    x, a0 = T.dvector("x"), T.dscalar("a0")
    left, _ = jitgraph.foldl(lambda x_t, acc: acc * 2 + x_t, sequences=x, outputs_info=a0)
    right, _ = jitgraph.foldr(lambda x_t, acc: acc * 2 + x_t, sequences=x, outputs_info=a0)
    value = np.array([1.0, 2.0, 3.0, 5.0])
    got_left, got_right = compile_function([x, a0], [left, right], mode)(value, 0.5)
    expected_left, expected_right = 0.5, 0.5
    for item in value:
        expected_left = expected_left * 2 + item
    for item in value[::-1]:
        expected_right = expected_right * 2 + item
    assert expected_left != expected_right
    assert_close(got_left, expected_left)
    assert_close(got_right, expected_right)


def test_scan_module_exports_the_same_functions():
    import jitgraph.scan_module as scan_module

    for name in ("scan", "map", "reduce", "foldl", "foldr"):
        assert getattr(scan_module, name) is getattr(jitgraph, name)


# ============================================================================ dtypes, strides
def test_float32_state(mode):
    x, h0, w = T.fvector("x"), T.fscalar("h0"), T.fscalar("w")
    out, _ = jitgraph.scan(
        lambda x_t, h, weight: T.tanh(h * weight + x_t),
        sequences=x,
        outputs_info=h0,
        non_sequences=w,
    )
    assert out.type.dtype == "float32"
    value = RNG.normal(size=6).astype(np.float32)
    got = compile_function([x, h0, w], out, mode)(value, np.float32(0.25), np.float32(0.75))
    assert got.dtype == np.float32
    expected = cumulative(
        lambda item, h: np.tanh(h * np.float32(0.75) + item), np.float32(0.25), value
    )
    assert_close(got, expected.astype(np.float32), rtol=1e-5, atol=1e-6)


def test_integer_states(mode):
    x64, x32 = T.lvector("x64"), T.ivector("x32")
    a64, a32 = T.lscalar("a64"), T.iscalar("a32")
    (wide, narrow), _ = jitgraph.scan(
        lambda p, q, acc_wide, acc_narrow: [acc_wide * 3 + p, acc_narrow + q * q],
        sequences=[x64, x32],
        outputs_info=[a64, a32],
    )
    assert wide.type.dtype == "int64" and narrow.type.dtype == "int32"
    v64, v32 = np.array([1, -2, 3, 4], dtype=np.int64), np.array([5, 6, -7, 8], dtype=np.int32)
    got_wide, got_narrow = compile_function([x64, x32, a64, a32], [wide, narrow], mode)(
        v64, v32, np.int64(2), np.int32(-1)
    )
    assert got_wide.dtype == np.int64 and got_narrow.dtype == np.int32
    np.testing.assert_array_equal(got_wide, cumulative(lambda p, acc: acc * 3 + p, 2, v64))
    np.testing.assert_array_equal(got_narrow, cumulative(lambda q, acc: acc + q * q, -1, v32))


def test_bool_sequence(mode):
    mask, x, a0 = T.vector("mask", dtype="bool"), T.dvector("x"), T.dscalar("a0")
    out, _ = jitgraph.scan(
        lambda m_t, x_t, acc: T.switch(m_t, acc + x_t, acc * 0.5),
        sequences=[mask, x],
        outputs_info=a0,
    )
    maskv, value = np.array([True, False, True, True, False]), RNG.normal(size=5)
    expected = cumulative(
        lambda pair, acc: acc + pair[1] if pair[0] else acc * 0.5, 1.0, list(zip(maskv, value))
    )
    assert_close(compile_function([mask, x, a0], out, mode)(maskv, value, 1.0), expected)


def test_non_contiguous_and_fortran_inputs(mode):
    X, h0, W = T.dmatrix("X"), T.dvector("h0"), T.dmatrix("W")
    x = T.dvector("x")
    state, _ = jitgraph.scan(
        lambda x_t, h, weights: T.tanh(T.dot(h, weights) + x_t),
        sequences=X,
        outputs_info=h0,
        non_sequences=W,
    )
    doubled, _ = jitgraph.scan(lambda x_t: x_t * 2, sequences=x)
    f = compile_function([X, h0, W, x], [state, doubled], mode)
    Xv = np.asfortranarray(RNG.normal(size=(6, 3)))
    Wv = np.asfortranarray(RNG.normal(size=(3, 3)) * 0.5)
    h0v = RNG.normal(size=6)[::2]  # strided
    xv = RNG.normal(size=(4, 5))[:, 1]  # a column: stride of 5 elements
    assert not Xv.flags.c_contiguous and not h0v.flags.c_contiguous
    got_state, got_doubled = f(Xv, h0v, Wv, xv)
    assert_close(got_state, rnn_reference(h0v, Wv, Xv))
    assert_close(got_doubled, 2 * xv)
    transposed = RNG.normal(size=(3, 6)).T  # a transposed view as the sequence
    assert_close(f(transposed, h0v, Wv, xv)[0], rnn_reference(h0v, Wv, transposed))


# ============================================================================ composition
def test_nested_scan(mode):
    M, scale = T.dmatrix("M"), T.dscalar("scale")

    def row_cumsum(row):
        # The inner step closes over `scale`, an input of the outermost function.
        inner, _ = jitgraph.scan(
            lambda v, acc: acc + v * scale, sequences=row, outputs_info=T.zeros(())
        )
        return inner

    out, _ = jitgraph.scan(row_cumsum, sequences=M)
    Mv = RNG.normal(size=(3, 4))
    assert_close(compile_function([M, scale], out, mode)(Mv, 1.5), 1.5 * np.cumsum(Mv, axis=1))


def test_nested_scan_inside_a_recurrence(mode):
    M, h0 = T.dmatrix("M"), T.dscalar("h0")

    def step(row, h):
        total, _ = jitgraph.reduce(lambda v, acc: acc * h + v, sequences=row, outputs_info=h)
        return T.tanh(total)

    out, _ = jitgraph.scan(step, sequences=M, outputs_info=h0)
    Mv = RNG.normal(size=(4, 3))
    expected, h = [], 0.3
    for row in Mv:
        acc = h
        for v in row:
            acc = acc * h + v
        h = np.tanh(acc)
        expected.append(h)
    assert_close(compile_function([M, h0], out, mode)(Mv, 0.3), np.array(expected))


def test_scan_outputs_consumed_by_further_ops(mode):
    x, a0, w = T.dvector("x"), T.dscalar("a0"), T.dvector("w")
    out, _ = jitgraph.scan(lambda x_t, acc: acc * 0.9 + x_t, sequences=x, outputs_info=a0)
    f = compile_function([x, a0, w], [out.sum(), T.dot(out, w), T.exp(out) * 2], mode)
    value, wv = RNG.normal(size=5), RNG.normal(size=5)
    expected = cumulative(lambda item, acc: acc * 0.9 + item, 0.2, value)
    total, dotted, exponentials = f(value, 0.2, wv)
    assert_close(total, expected.sum())
    assert_close(dotted, expected @ wv)
    assert_close(exponentials, np.exp(expected) * 2)


@functools.cache
def rnn_function(mode):
    Y, h0, W, U = T.dmatrix("Y"), T.dvector("h0"), T.dmatrix("W"), T.dmatrix("U")
    out, _ = jitgraph.scan(
        lambda y_t, x_tm1: T.tanh(T.dot(x_tm1, W) + T.dot(y_t, U)), sequences=Y, outputs_info=h0
    )
    return compile_function([Y, h0, W, U], [out, out[-1], (out**2).sum()], mode)


def numpy_rnn(Y, h0, W, U):
    x, history = h0, []
    for y_t in Y:
        x = np.tanh(x @ W + y_t @ U)
        history.append(x)
    return np.array(history)


@pytest.mark.parametrize("hidden", [2, 64])
def test_rnn_recurrence(mode, hidden):
    steps, inputs = 30, 3
    Y = RNG.normal(size=(steps, inputs))
    h0 = RNG.normal(size=hidden)
    W = RNG.normal(size=(hidden, hidden)) / np.sqrt(hidden)
    U = RNG.normal(size=(inputs, hidden))
    expected = numpy_rnn(Y, h0, W, U)
    full, last, energy = rnn_function(mode)(Y, h0, W, U)
    assert_close(full, expected, rtol=1e-9, atol=1e-11)
    assert_close(last, expected[-1], rtol=1e-9, atol=1e-11)
    assert_close(energy, (expected**2).sum(), rtol=1e-9)


def test_float32_rnn_with_dot(mode):
    Y, h0, W, U = T.fmatrix("Y"), T.fvector("h0"), T.fmatrix("W"), T.fmatrix("U")
    out, _ = jitgraph.scan(
        lambda y_t, x_tm1: T.tanh(T.dot(x_tm1, W) + T.dot(y_t, U)), sequences=Y, outputs_info=h0
    )
    assert out.type.dtype == "float32"
    f = compile_function([Y, h0, W, U], [out, out[-1]], mode)
    hidden, steps = 64, 12
    values = [
        RNG.normal(size=(steps, 3)),
        RNG.normal(size=hidden),
        RNG.normal(size=(hidden, hidden)) / np.sqrt(hidden),
        RNG.normal(size=(3, hidden)),
    ]
    full, last = f(*(v.astype(np.float32) for v in values))
    assert full.dtype == np.float32
    expected = numpy_rnn(*(v.astype(np.float32).astype(np.float64) for v in values))
    assert_close(full, expected, rtol=1e-4, atol=1e-5)
    assert_close(last, expected[-1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
@given(
    steps=st.integers(1, 8),
    hidden=st.integers(1, 5),
    inputs=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_rnn_any_shape(mode, steps, hidden, inputs, seed):
    rng = np.random.default_rng(seed)
    Y, h0 = rng.normal(size=(steps, inputs)), rng.normal(size=hidden)
    W, U = rng.normal(size=(hidden, hidden)), rng.normal(size=(inputs, hidden))
    got, last, _ = rnn_function(mode)(Y, h0, W, U)
    expected = numpy_rnn(Y, h0, W, U)
    assert_close(got, expected, rtol=1e-9, atol=1e-11)
    assert_close(last, expected[-1], rtol=1e-9, atol=1e-11)
