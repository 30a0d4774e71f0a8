"""What users are told when a scan is wrong: the messages name the output (its index in
outputs_info), the dtypes or shapes involved and, for run-time errors, the step.

The assertions are on key words (index, dtypes, step), not on whole messages. Errors that
Theano raises while building the graph (dtype, ndim, taps, argument counts) are expected
from ``scan`` itself; run-time ones (shapes, too-short sequences) from the call, in both
modes.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import jitgraph
import jitgraph.tensor as T

MODES = [pytest.param("REFERENCE", id="REFERENCE"), pytest.param(None, id="FAST_RUN")]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str | None:
    return request.param


def names_output(message: str, index: int) -> bool:
    """The message names output ``index`` ("output 1", "outputs_info[1]", ...)."""
    return re.search(rf"output(s_info)?\s*(\[|#|number\s*)?{index}\b", message) is not None


# ============================================================================ build time
def test_state_of_another_dtype_than_its_initial_value():
    h0, w = T.fscalar("h0"), T.dscalar("w")
    with pytest.raises((TypeError, ValueError)) as info:
        jitgraph.scan(lambda h: h * w, outputs_info=h0, n_steps=3)
    message = str(info.value)
    assert "float32" in message and "float64" in message
    assert names_output(message, 0), message


def test_dtype_error_names_the_right_output():
    a0, b0 = T.dscalar("a0"), T.iscalar("b0")
    with pytest.raises((TypeError, ValueError)) as info:
        jitgraph.scan(lambda a, b: [a + 1, b * 0.5], outputs_info=[a0, b0], n_steps=2)
    message = str(info.value)
    assert "int32" in message and "float64" in message
    assert names_output(message, 1) and not names_output(message, 0), message


def test_state_of_another_ndim_than_its_initial_value():
    h0 = T.dvector("h0")
    with pytest.raises((TypeError, ValueError)) as info:
        jitgraph.scan(lambda h: h.sum(), outputs_info=h0, n_steps=3)
    message = str(info.value)
    assert names_output(message, 0), message
    assert re.search(r"ndim|dimension|\b\d-d\b", message), message


def test_mit_sot_state_of_another_ndim():
    history = T.dmatrix("history")
    with pytest.raises((TypeError, ValueError)) as info:
        jitgraph.scan(
            lambda a, b: T.stack([a, b]),  # a matrix, but the state rows are vectors
            outputs_info=dict(initial=history, taps=[-2, -1]),
            n_steps=3,
        )
    assert names_output(str(info.value), 0), str(info.value)


def test_no_sequences_and_no_n_steps():
    h0 = T.dscalar("h0")
    with pytest.raises(ValueError, match="n_steps"):
        jitgraph.scan(lambda h: h + 1, outputs_info=h0)


def test_non_integer_n_steps():
    h0, n = T.dscalar("h0"), T.dscalar("n")
    with pytest.raises((TypeError, ValueError), match="n_steps") as info:
        jitgraph.scan(lambda h: h + 1, outputs_info=h0, n_steps=n)
    assert "float64" in str(info.value)


@pytest.mark.parametrize("taps", [[1], [-1, 1], [0]])
def test_non_negative_taps_on_outputs(taps):
    history = T.dvector("history")
    with pytest.raises(ValueError, match="taps"):
        jitgraph.scan(
            lambda *args: args[0] + 1, outputs_info=dict(initial=history, taps=taps), n_steps=3
        )


def test_outputs_info_longer_than_the_outputs():
    x, h0, g0 = T.dvector("x"), T.dscalar("h0"), T.dscalar("g0")
    with pytest.raises((TypeError, ValueError), match="outputs_info") as info:
        jitgraph.scan(lambda x_t, h, g: h + x_t, sequences=x, outputs_info=[h0, g0])
    assert re.search(r"\b1\b.*\b2\b|\b2\b.*\b1\b", str(info.value)), str(info.value)


def test_fn_returning_more_outputs_than_outputs_info():
    h0 = T.dscalar("h0")
    with pytest.raises((TypeError, ValueError), match="outputs_info") as info:
        jitgraph.scan(lambda h: (h + 1, h * 2, h - 1), outputs_info=[h0], n_steps=2)
    assert re.search(r"\b3\b.*\b1\b|\b1\b.*\b3\b", str(info.value)), str(info.value)


def test_strict_refuses_closed_over_variables():
    x, w = T.dvector("x"), T.dscalar("w")
    with pytest.raises(ValueError, match="non_sequences"):
        jitgraph.scan(lambda x_t: x_t * w, sequences=x, strict=True)
    out, _ = jitgraph.scan(
        lambda x_t, weight: x_t * weight, sequences=x, non_sequences=w, strict=True
    )
    assert out.type.ndim == 1


# ============================================================================ run time
def test_state_shape_changing_at_a_later_step(mode):
    lengths, h0 = T.lvector("lengths"), T.dvector("h0")
    out, _ = jitgraph.scan(lambda n_t, h: h[:n_t] + 1, sequences=lengths, outputs_info=h0)
    f = jitgraph.function([lengths, h0], out, mode=mode)
    np.testing.assert_array_equal(f(np.array([3, 3]), np.zeros(3)), [[1, 1, 1], [2, 2, 2]])
    with pytest.raises(ValueError) as info:
        f(np.array([3, 3, 2, 3]), np.zeros(3))
    message = str(info.value)
    assert names_output(message, 0), message
    assert re.search(r"step\s*2\b", message), message
    assert "(2,)" in message and "(3,)" in message


def test_state_shape_differs_from_the_initial_value_at_step_zero(mode):
    h0 = T.dvector("h0")
    out, _ = jitgraph.scan(lambda h: T.concatenate([h, h]), outputs_info=h0, n_steps=2)
    f = jitgraph.function([h0], out, mode=mode)
    with pytest.raises(ValueError) as info:
        f(np.zeros(2))
    message = str(info.value)
    assert names_output(message, 0) and re.search(r"step\s*0\b", message), message


def test_output_not_fed_back_changing_shape(mode):
    lengths, v = T.lvector("lengths"), T.dvector("v")
    out, _ = jitgraph.scan(lambda n_t: v[:n_t] * 2, sequences=lengths)
    f = jitgraph.function([lengths, v], out, mode=mode)
    with pytest.raises(ValueError) as info:
        f(np.array([2, 2, 2, 1]), np.ones(3))
    message = str(info.value)
    assert names_output(message, 0) and re.search(r"step\s*3\b", message), message


def test_sequence_shorter_than_n_steps(mode):
    x, n = T.dvector("x"), T.iscalar("n")
    fixed, _ = jitgraph.scan(lambda x_t: x_t * 2, sequences=x, n_steps=5)
    symbolic, _ = jitgraph.scan(lambda x_t: x_t * 3, sequences=x, n_steps=n)
    f_fixed = jitgraph.function([x], fixed, mode=mode)
    f_symbolic = jitgraph.function([x, n], symbolic, mode=mode)
    np.testing.assert_array_equal(f_fixed(np.arange(5.0)), 2 * np.arange(5.0))
    for call in (lambda: f_fixed(np.arange(3.0)), lambda: f_symbolic(np.arange(3.0), 5)):
        with pytest.raises((ValueError, IndexError)) as info:
            call()
        message = str(info.value)
        assert re.search("sequence", message, re.IGNORECASE), message
        assert "3" in message and "5" in message, message


def test_sequence_with_taps_too_short_for_n_steps(mode):
    x = T.dvector("x")
    out, _ = jitgraph.scan(lambda a, b: a + b, sequences=dict(input=x, taps=[-1, 0]), n_steps=4)
    f = jitgraph.function([x], out, mode=mode)
    np.testing.assert_array_equal(f(np.arange(5.0)), [1.0, 3.0, 5.0, 7.0])
    with pytest.raises((ValueError, IndexError), match="(?i)sequence"):
        f(np.arange(4.0))


def test_failed_call_leaves_shared_variables_unchanged(mode):
    total = jitgraph.shared(np.float64(1.0), name="total")
    lengths, h0 = T.lvector("lengths"), T.dvector("h0")
    out, updates = jitgraph.scan(
        lambda n_t, h: (h[:n_t] + 1, {total: total + 1}), sequences=lengths, outputs_info=h0
    )
    f = jitgraph.function([lengths, h0], out, mode=mode, updates=updates)
    with pytest.raises(ValueError):
        f(np.array([3, 2]), np.zeros(3))
    assert float(total.get_value()) == 1.0
    f(np.array([3, 3]), np.zeros(3))
    assert float(total.get_value()) == 3.0


def test_last_value_of_zero_steps(mode):
    x = T.dvector("x")
    out, _ = jitgraph.scan(lambda x_t, acc: acc + x_t, sequences=x, outputs_info=T.zeros(()))
    f = jitgraph.function([x], out[-1], mode=mode)
    assert float(f(np.ones(3))) == 3.0
    with pytest.raises(IndexError):  # as NumPy's np.zeros(0)[-1]
        f(np.zeros(0))


def test_index_out_of_bounds_at_a_later_step(mode):
    # The step's shapes do not change, so the compiled loop runs natively up to step 2.
    indices, v = T.lvector("indices"), T.dvector("v")
    total = jitgraph.shared(np.float64(0.0), name="total")
    out, updates = jitgraph.scan(lambda i: (v[i] * 2, {total: total + v[i]}), sequences=indices)
    f = jitgraph.function([indices, v], out, mode=mode, updates=updates)
    np.testing.assert_array_equal(f(np.array([0, 2, -1]), np.arange(3.0)), [0.0, 4.0, 4.0])
    assert float(total.get_value()) == 4.0
    with pytest.raises(IndexError):  # as NumPy's np.arange(3.0)[5]
        f(np.array([0, 1, 5, 1]), np.arange(3.0))
    assert float(total.get_value()) == 4.0
