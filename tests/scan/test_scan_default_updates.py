"""Shared variables with a default update inside a scan step are updated at every step
(how a random variable used in a step gets a fresh draw per step), and not when they are
passed as non-sequences of a value computed outside the loop."""

from __future__ import annotations

import numpy as np
import pytest

import jitgraph

MODES = ["REFERENCE", "FAST_RUN"]


def _counter() -> jitgraph.SharedVariable:
    counter = jitgraph.shared(np.int64(0), name="counter")
    counter.default_update = counter + 1
    return counter


@pytest.mark.parametrize("mode", MODES)
def test_a_default_update_used_by_the_step_advances_every_step(mode: str) -> None:
    counter = _counter()
    values, updates = jitgraph.scan(lambda: counter * 2, n_steps=4)
    assert list(updates) == [counter]
    f = jitgraph.function([], values, updates=updates, mode=mode)
    np.testing.assert_array_equal(f(), [0, 2, 4, 6])
    assert counter.get_value() == 4
    np.testing.assert_array_equal(f(), [8, 10, 12, 14])


@pytest.mark.parametrize("mode", MODES)
def test_an_explicit_update_wins_over_the_default(mode: str) -> None:
    counter = _counter()
    values, updates = jitgraph.scan(lambda: (counter * 2, {counter: counter + 10}), n_steps=3)
    f = jitgraph.function([], values, updates=updates, mode=mode)
    np.testing.assert_array_equal(f(), [0, 20, 40])
    assert counter.get_value() == 30


@pytest.mark.parametrize("mode", MODES)
def test_a_value_passed_as_non_sequence_is_computed_once(mode: str) -> None:
    counter = _counter()
    once = counter * 2
    values, updates = jitgraph.scan(lambda c: c + 1, non_sequences=once, n_steps=3)
    assert not updates
    # The enclosing function applies the default update once, as for any use outside a loop.
    f = jitgraph.function([], values, updates=updates, mode=mode)
    np.testing.assert_array_equal(f(), [1, 1, 1])
    assert counter.get_value() == 1
