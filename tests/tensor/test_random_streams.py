"""RandomStreams / MRG_RandomStreams: the state model (Theano's rules), shapes, dtypes,
errors, and the same numbers from the REFERENCE interpreter and the LLVM backend."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import jitgraph
import jitgraph.tensor as T
from jitgraph.ops.random import philox_words
from jitgraph.sandbox.rng_mrg import MRG_RandomStreams
from jitgraph.tensor.shared_randomstreams import PhiloxState, RandomStreams

MODES = ["REFERENCE", "FAST_RUN"]


def _uniform_reference(state: np.ndarray, n: int) -> np.ndarray:
    """NumPy's 53-bit float64 formula over the Philox words of a state (the contract)."""
    counter = int(state[2]) | (int(state[3]) << 32)
    words = philox_words(state[0:2], counter, 0, 2 * n).astype(np.uint64)
    high, low = words[0::2] >> np.uint64(5), words[1::2] >> np.uint64(6)
    return (high * 2.0**26 + low) * 2.0**-53


# ---------------------------------------------------------------------------- state value
def test_state_value_is_a_philox_state_everywhere() -> None:
    srng = RandomStreams(3)
    rv = srng.uniform((2, 2))
    f = jitgraph.function([], rv)
    for value in (rv.rng.get_value(), rv.rng.get_value(borrow=True)):
        assert isinstance(value, PhiloxState) and value.dtype == np.uint32 and value.shape == (4,)
    f()  # the committed update is a plain array inside; reads wrap it
    assert isinstance(rv.rng.get_value(), PhiloxState)
    assert isinstance(rv.rng.get_value(borrow=True), PhiloxState)
    assert rv.rng.type == T.TensorType("uint32", (4,))
    state = rv.rng.get_value()
    state.seed(5)
    rv.rng.set_value(state, borrow=True)
    assert isinstance(rv.rng.get_value(borrow=True), PhiloxState)
    assert rv.rng.get_value().counter == 0


def test_seed_get_state_set_state_in_place() -> None:
    state = PhiloxState.from_seed(1)
    saved = state.get_state()
    state[2] = 7
    assert state.counter == 7 and saved.counter == 0  # get_state is a copy
    state.set_state(saved)
    assert np.array_equal(state, saved)
    state.seed(2)
    assert state.key != saved.key and state.counter == 0
    state.seed(1)
    assert np.array_equal(state, saved)  # the seed fixes the key
    with pytest.raises(TypeError, match="4 uint32 words"):
        state.set_state(np.zeros(3, dtype=np.uint32))
    with pytest.raises(TypeError, match="seed must be an int"):
        state.seed(1.5)


def test_borrowed_value_seeds_in_place() -> None:
    rv = RandomStreams(1).uniform((3,))
    f = jitgraph.function([], rv)
    f()
    borrowed = rv.rng.get_value(borrow=True)
    borrowed.seed(42)  # no set_value: the borrowed view is the stored value
    first = f()
    rv.rng.get_value(borrow=True).seed(42)
    assert np.array_equal(f(), first)


def test_set_value_rejects_non_states() -> None:
    rv = RandomStreams(1).uniform(())
    with pytest.raises(TypeError, match="4 uint32 words"):
        rv.rng.set_value(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"\[0, 2\*\*32\)"):
        rv.rng.set_value(np.array([-1, 0, 0, 0]))


# ---------------------------------------------------------------------------- state model
@pytest.mark.parametrize("mode", MODES)
def test_default_update_advances_by_the_blocks_consumed(mode: str) -> None:
    srng = RandomStreams(234)
    rv = srng.uniform((2, 3))  # 6 float64 = 12 words = 3 blocks
    start = rv.rng.get_value()
    f = jitgraph.function([], rv, mode=mode)
    first = f()
    np.testing.assert_array_equal(first.ravel(), _uniform_reference(start, 6))
    after = rv.rng.get_value()
    assert after.key == start.key and after.counter == start.counter + 3
    second = f()
    np.testing.assert_array_equal(second.ravel(), _uniform_reference(after, 6))
    assert not np.allclose(first, second)


@pytest.mark.parametrize("mode", MODES)
def test_no_default_updates(mode: str) -> None:
    srng = RandomStreams(234)
    u, n = srng.uniform((2, 2)), srng.normal((2, 2))
    frozen = jitgraph.function([], [u, n], no_default_updates=True, mode=mode)
    assert all(np.array_equal(a, b) for a, b in zip(frozen(), frozen(), strict=True))
    only_n = jitgraph.function([], [u, n], no_default_updates=[n.rng], mode=mode)
    u0, n0 = only_n()
    u1, n1 = only_n()
    assert np.array_equal(n0, n1) and not np.allclose(u0, u1)
    explicit = jitgraph.function([], u, updates=[(u.rng, u.rng)], mode=mode)
    assert np.array_equal(explicit(), explicit())  # an explicit update wins


@pytest.mark.parametrize("mode", MODES)
def test_drawn_once_per_call(mode: str) -> None:
    rv: Any = RandomStreams(234).uniform((2, 2))
    nearly_zeros = jitgraph.function([], rv + rv - 2 * rv, mode=mode)
    before = rv.rng.get_value().counter
    assert np.allclose(nearly_zeros(), 0)
    assert rv.rng.get_value().counter == before + 2  # one draw, not three


def test_seed_reseeds_every_variable_like_a_fresh_stream() -> None:
    srng = RandomStreams(1)
    u, n = srng.uniform((3,)), srng.normal((3,))
    f = jitgraph.function([], [u, n])
    f()
    srng.seed(902340)
    got = f()
    fresh = RandomStreams(902340)
    expected = jitgraph.function([], [fresh.uniform((3,)), fresh.normal((3,))])()
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    assert u.rng.get_value().key != n.rng.get_value().key


def test_state_updates_in_creation_order_and_rv_rng() -> None:
    srng = RandomStreams(5)
    rvs = [srng.uniform(()), srng.binomial((2,)), srng.permutation(n=3)]
    assert [rng for rng, _ in srng.state_updates] == [rv.rng for rv in rvs]
    assert all(update is rv.rng.default_update for (_, update), rv in zip(srng.state_updates, rvs))
    assert rvs[0].update == (rvs[0].rng, rvs[0].rng.default_update)
    assert T.shared_randomstreams.RandomStreams is RandomStreams


def test_copying_state_syncs_two_streams() -> None:
    g1, g2 = RandomStreams(123), RandomStreams(987)
    y1, y2 = g1.uniform(size=(4,)), g2.uniform(size=(4,))
    f1, f2 = jitgraph.function([], y1), jitgraph.function([], y2)
    assert not np.allclose(f1(), f2())
    for (su1, _), (su2, _) in zip(g1.state_updates, g2.state_updates, strict=True):
        su2.set_value(su1.get_value())
    assert np.array_equal(f1(), f2()) and np.array_equal(f1(), f2())


def test_scan_redraws_each_step() -> None:
    srng = RandomStreams(1234)
    X, W = T.matrix("X"), T.matrix("W")
    d = srng.binomial(size=W[1].shape)
    results, updates = jitgraph.scan(lambda v: T.dot(v, W) * d, sequences=X)
    f = jitgraph.function([X, W], results, updates=updates)
    out = f(np.ones((12, 8)), np.ones((8, 8)))
    assert set(np.unique(out)) <= {0.0, 8.0}
    assert len({tuple(row) for row in out}) > 1  # not the same mask every step
    before = d.rng.get_value().counter
    f(np.ones((3, 8)), np.ones((8, 8)))
    assert d.rng.get_value().counter == before + 3 * 4  # 8 float64 = 16 words = 4 blocks


# ---------------------------------------------------------------------------- distributions
def _all_distributions(srng: RandomStreams | MRG_RandomStreams) -> list[T.TensorVariable]:
    return [
        srng.uniform((3, 2), low=-2.0, high=5.0),
        srng.uniform((5,), dtype="float32"),
        srng.normal((4,), avg=3.0, std=0.5),
        srng.binomial((6,), n=1, p=0.3),
        srng.binomial((6,), n=7, p=0.6, dtype="int32"),
        srng.random_integers((50,), low=-1, high=2),
        srng.integers((50,), 4),
        srng.choice((7,), a=3, p=[0.2, 0.3, 0.5]),
        srng.choice((2, 2), a=np.array([10.0, 20, 30, 40, 50]), replace=False, dtype="float64"),
        srng.choice((3,), a=5, replace=False, p=[0.1, 0.0, 0.4, 0.3, 0.2]),
        srng.permutation((2,), n=6),
        srng.multinomial((3,), n=20, pvals=[0.2, 0.5, 0.3]),
    ]


@pytest.mark.parametrize("streams", [RandomStreams, MRG_RandomStreams])
def test_both_modes_draw_identical_values(streams: type) -> None:
    srng = streams(77)
    rvs = _all_distributions(srng)
    results = {}
    for mode in MODES:
        srng.seed(5)
        results[mode] = jitgraph.function([], rvs, mode=mode)()
    for index, (a, b) in enumerate(zip(results["REFERENCE"], results["FAST_RUN"], strict=True)):
        if index == 2:  # normal: log1p/cos of the two backends' libms may differ by an ulp
            np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)
        else:
            np.testing.assert_array_equal(a, b)
    u, u32, normal, bern, binom, rint, ints, ch, noreplace, weighted, perm, multi = results[
        "FAST_RUN"
    ]
    assert u.shape == (3, 2) and ((u >= -2) & (u < 5)).all()
    assert u32.dtype == np.float32 and ((u32 >= 0) & (u32 < 1)).all()
    assert normal.shape == (4,) and normal.dtype == np.float64
    assert set(bern) <= {0, 1} and binom.dtype == np.int32 and ((binom >= 0) & (binom <= 7)).all()
    assert set(rint) == {-1, 0, 1, 2}  # high included (50 draws: all 4 values appear)
    assert set(ints) <= {0, 1, 2, 3}
    assert set(ch) <= {0, 1, 2}
    assert noreplace.shape == (2, 2) and len(set(noreplace.ravel())) == 4
    assert set(noreplace.ravel()) <= {10.0, 20.0, 30.0, 40.0, 50.0}
    assert len(set(weighted)) == 3 and 1 not in set(weighted)  # p[1] = 0 is never drawn
    assert perm.shape == (2, 6) and all(sorted(row) == list(range(6)) for row in perm)
    assert multi.shape == (3, 3) and (multi.sum(axis=1) == 20).all()


@pytest.mark.parametrize("mode", MODES)
def test_symbolic_size_and_parameters(mode: str) -> None:
    srng = RandomStreams(9)
    W = T.matrix("W")
    low, high = T.dscalar("low"), T.dvector("high")
    n = T.lscalar("n")
    by_shape = srng.uniform(W.shape, low=low, high=high)
    by_tuple = srng.normal((n, 2), ndim=2)
    perm = srng.permutation(n=n)
    f = jitgraph.function([W, low, high, n], [by_shape, by_tuple, perm], mode=mode)
    a, b, c = f(np.zeros((4, 3)), 10.0, np.array([11.0, 20.0, 30.0]), 5)
    assert a.shape == (4, 3) and (a >= 10).all() and (a[:, 0] < 11).all()
    assert b.shape == (5, 2) and sorted(c) == list(range(5))


def test_size_errors() -> None:
    srng = RandomStreams(1)
    with pytest.raises(ValueError, match=r"uniform: size\[1\] is -2"):
        srng.uniform((3, -2))
    with pytest.raises(TypeError, match=r"normal: size\[0\] must be an int"):
        srng.normal((2.5,))
    with pytest.raises(ValueError, match="ndim=3 but size"):
        srng.uniform((2, 2), ndim=3)
    with pytest.raises(ValueError, match="more than the 1"):
        srng.uniform((2,), low=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="length of size .* unknown"):
        srng.uniform(T.lvector("s"))


def test_parameter_errors() -> None:
    srng = RandomStreams(1)
    with pytest.raises(ValueError, match=r"binomial: p must be in \[0, 1\], got 1.5"):
        srng.binomial((2,), p=1.5)
    with pytest.raises(ValueError, match="multinomial: pvals must sum to 1"):
        srng.multinomial(n=3, pvals=[0.2, 0.2])
    with pytest.raises(ValueError, match="cannot take 6 samples without replacement .* of 5"):
        srng.choice((2, 3), a=5, replace=False)
    with pytest.raises(ValueError, match="choice: p must sum to 1"):
        srng.choice((2,), a=2, p=[0.2, 0.2])
    with pytest.raises(ValueError, match="integers: high .* must be greater than low"):
        srng.integers((2,), 5, 3)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        srng.uniform((2,), dtype="int32")


# ---------------------------------------------------------------------------- MRG streams
def test_mrg_rstate_copy_and_seed() -> None:
    a, b = MRG_RandomStreams(123), MRG_RandomStreams(987)
    b.rstate = a.rstate
    fa, fb = jitgraph.function([], a.uniform((3,))), jitgraph.function([], b.uniform((3,)))
    assert np.array_equal(fa(), fb())
    assert a.rstate.dtype == np.uint32 and a.rstate.shape == (4,)
    first = fa()
    a.seed(123)  # back to the constructor's state: the variable redraws its first numbers
    again = MRG_RandomStreams(123)
    expected = jitgraph.function([], again.uniform((3,)))()
    assert np.array_equal(fa(), expected) and not np.array_equal(first, expected)
    with pytest.raises(TypeError, match="rstate"):
        a.rstate = np.zeros(6, dtype=np.uint32)
