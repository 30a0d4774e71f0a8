"""Statistical tests of every distribution of RandomStreams and MRG_RandomStreams.

Each sample is checked against scipy.stats: Kolmogorov-Smirnov for continuous
distributions, Pearson's chi-square for discrete ones, and Pearson correlation for
independence. A check fails when its p-value is below ``P_MIN`` = 1e-6: with fixed seeds a
correct generator passes deterministically, and a correct generator under a fresh seed would
fail one check in a million. The ``negative control`` tests run the same helpers on
deliberately wrong NumPy samples (a constant, an off-by-one range, a wrong probability, a
biased shuffle) and assert that they are rejected: every check here can fail.

Sample sizes are 1e4-1e5 draws per check, large enough that the negative controls are
rejected by margins of many orders of magnitude, small enough that the file runs in seconds.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pytest
import scipy.stats

import jitgraph
import jitgraph.tensor as T

P_MIN = 1e-6
MODES = ["REFERENCE", "FAST_RUN"]
STREAM_CLASSES = ["RandomStreams", "MRG_RandomStreams"]
SEED = 20240607
LARGE = 100_000  # draws per check of a cheap distribution
MEDIUM = 20_000  # draws per check where every draw is a row (permutation, multinomial)


# --------------------------------------------------------------------------- helpers


def assert_continuous(sample: np.ndarray, distribution: str, args: Sequence[float]) -> None:
    """Kolmogorov-Smirnov test of ``sample`` against scipy.stats' ``distribution(*args)``."""
    values = np.asarray(sample, dtype=np.float64).ravel()
    result = scipy.stats.kstest(values, distribution, args=tuple(args))
    assert result.pvalue > P_MIN, (
        f"{values.size} draws are not {distribution}{tuple(args)}: KS statistic "
        f"{result.statistic:.4g}, p = {result.pvalue:.3g}"
    )


def assert_discrete(sample: np.ndarray, probabilities: Mapping[Any, float]) -> None:
    """Every value of ``sample`` is a key of ``probabilities`` (all positive, summing to 1)
    and the value frequencies pass Pearson's chi-square test against them."""
    values = np.asarray(sample).ravel()
    support = np.array(sorted(probabilities))
    outside = np.setdiff1d(values, support)
    assert outside.size == 0, f"values outside the support {support}: {outside[:10]}"
    expected = values.size * np.array([probabilities[v] for v in support], dtype=np.float64)
    # The chi-square approximation needs some expected count in every cell.
    assert expected.min() >= 5, "test design: too few draws for the chi-square approximation"
    observed = np.array([np.count_nonzero(values == v) for v in support])
    assert_counts(observed, expected)


def assert_counts(observed: np.ndarray, expected: np.ndarray, constraints: int = 0) -> None:
    """Pearson's chi-square test of ``observed`` counts against ``expected`` ones;
    ``constraints`` extra linear constraints (beyond the total) reduce the degrees of freedom."""
    observed = np.asarray(observed, dtype=np.float64).ravel()
    expected = np.asarray(expected, dtype=np.float64).ravel()
    result = scipy.stats.chisquare(observed, expected, ddof=constraints)
    worst = np.argmax((observed - expected) ** 2 / expected)
    assert result.pvalue > P_MIN, (
        f"chi-square {result.statistic:.4g} over {observed.size} cells, p = {result.pvalue:.3g};"
        f" worst cell {worst}: observed {observed[worst]:.0f}, expected {expected[worst]:.1f}"
    )


def assert_uncorrelated(first: np.ndarray, second: np.ndarray) -> None:
    """Pearson correlation of two equally long samples is compatible with 0."""
    first = np.asarray(first, dtype=np.float64).ravel()
    second = np.asarray(second, dtype=np.float64).ravel()
    assert not np.array_equal(first, second), "the two samples are identical"
    result = scipy.stats.pearsonr(first, second)
    assert result.pvalue > P_MIN, (
        f"correlation {result.statistic:.4g} over {first.size} pairs, p = {result.pvalue:.3g}"
    )


def assert_permutation_rows(rows: np.ndarray) -> None:
    """Each row is a permutation of ``range(n)``; the value at each position is uniform
    (an n x n table of position-value counts, chi-square); and the ordered pair of the first
    two positions is uniform over the ``n (n - 1)`` possible pairs (catches shuffles whose
    marginals are right but whose rows are not, such as random rotations)."""
    rows = np.asarray(rows)
    count, n = rows.shape
    assert np.array_equal(np.sort(rows, axis=1), np.broadcast_to(np.arange(n), rows.shape)), (
        "a row is not a permutation of range(n)"
    )
    table = np.stack([np.bincount(rows[:, position], minlength=n) for position in range(n)])
    # Row and column sums are fixed: (n - 1)**2 degrees of freedom among the n**2 cells.
    assert_counts(table, np.full(table.shape, count / n), constraints=2 * n - 2)
    pairs = {pair: 1 / (n * (n - 1)) for pair in itertools.permutations(range(n), 2)}
    assert_discrete(rows[:, 0] * n + rows[:, 1], {a * n + b: p for (a, b), p in pairs.items()})


def assert_multinomial_rows(rows: np.ndarray, trials: int, pvals: Sequence[float]) -> None:
    """Each row sums to ``trials``; the category totals pass chi-square against ``pvals``;
    and each category's count per row is Binomial(trials, p) (catches generators that put
    all trials of a row into one category, which have the right totals)."""
    rows = np.asarray(rows)
    pvals_array = np.asarray(pvals, dtype=np.float64)
    assert rows.shape[-1] == len(pvals), f"rows of {rows.shape[-1]} categories, not {len(pvals)}"
    rows = rows.reshape(-1, len(pvals))
    assert (rows >= 0).all(), "negative counts"
    assert (rows.sum(axis=1) == trials).all(), f"row sums are not {trials}"
    assert_counts(rows.sum(axis=0), rows.sum() * pvals_array)
    for category, p in enumerate(pvals_array):
        assert_binomial_counts(rows[:, category], trials, float(p))


def assert_binomial_counts(counts: np.ndarray, trials: int, p: float) -> None:
    """Chi-square of ``counts`` against Binomial(trials, p), with the improbable tails
    pooled into their nearest cell so that every cell expects at least 5 draws."""
    binomial = scipy.stats.binom(trials, p)
    values = np.arange(trials + 1)
    enough = counts.size * np.minimum(binomial.cdf(values), binomial.sf(values - 1)) >= 5
    lowest, highest = values[enough].min(), values[enough].max()
    probabilities = {int(k): float(binomial.pmf(k)) for k in range(lowest + 1, highest)}
    probabilities[int(lowest)] = float(binomial.cdf(lowest))
    probabilities[int(highest)] = float(binomial.sf(highest - 1))
    assert_discrete(np.clip(counts, lowest, highest), probabilities)


def assert_independent_calls(calls: np.ndarray) -> None:
    """``calls`` stacks the results of consecutive calls on its leading axis: no two calls
    are identical, and draw k of each call is uncorrelated with draw k of the next one.
    float64 draws are also all distinct, which exposes overlapping streams (a state that
    advances too little), whose elementwise correlation is 0."""
    calls = np.asarray(calls).reshape(len(calls), -1)
    assert len({row.tobytes() for row in calls}) == len(calls), "two calls drew the same numbers"
    if calls.dtype == np.float64:
        assert_all_distinct(calls)
    assert_uncorrelated(calls[:-1], calls[1:])


def assert_all_distinct(draws: np.ndarray) -> None:
    """No float64 value occurs twice. For 53-bit uniforms (or normals computed from them) a
    repeat among m draws has probability about m**2 / 2**54: 1e-7 for m = 4e4."""
    values = np.asarray(draws).ravel()
    repeats = values.size - np.unique(values).size
    assert repeats == 0, f"{repeats} repeated values among {values.size} draws: the streams overlap"


def sequential_choice_marginals(pvals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distributions of the first and second draw of a weighted choice without replacement
    (NumPy's and Theano's: each draw picks among the remaining values in proportion to p)."""
    second = np.zeros_like(pvals)
    for first_value, first_p in enumerate(pvals):
        remaining = pvals.copy()
        remaining[first_value] = 0.0
        second += first_p * remaining / remaining.sum()
    return pvals, second


# ------------------------------------------------------------- front-end plumbing


def make_stream(class_name: str, seed: int = SEED) -> Any:
    """A fresh stream of the named front-end class."""
    if class_name == "RandomStreams":
        from jitgraph.tensor.shared_randomstreams import RandomStreams

        return RandomStreams(seed)
    from jitgraph.sandbox.rng_mrg import MRG_RandomStreams

    return MRG_RandomStreams(seed)


def sample(class_name: str, mode: str, build: Callable[[Any], Any], calls: int = 1) -> Any:
    """Compile ``build(stream)`` (one random variable or a list) in ``mode`` and return the
    results of ``calls`` consecutive calls (one result when ``calls`` is 1)."""
    function = jitgraph.function([], build(make_stream(class_name)), mode=mode)
    results = [function() for _ in range(calls)]
    return results[0] if calls == 1 else results


stream_and_mode = pytest.mark.parametrize(
    ("class_name", "mode"), list(itertools.product(STREAM_CLASSES, MODES))
)


# ----------------------------------------------------------------- distributions


@stream_and_mode
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_is_uniform_on_the_unit_interval(class_name: str, mode: str, dtype: str) -> None:
    draws = sample(class_name, mode, lambda s: s.uniform(size=(LARGE,), dtype=dtype))
    assert draws.dtype == dtype and draws.shape == (LARGE,)
    assert draws.min() >= 0 and draws.max() < 1
    assert_continuous(draws, "uniform", (0.0, 1.0))


MANTISSA_BITS = {"float32": 24, "float64": 53}


def lowest_bits(draws: np.ndarray, bits: int) -> np.ndarray:
    """The lowest 4 bits of the ``bits``-bit integers ``draws * 2**bits`` (draws in [0, 1))."""
    return (np.asarray(draws, dtype=np.float64) * 2.0**bits).astype(np.int64) % 16


@stream_and_mode
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_has_full_resolution(class_name: str, mode: str, dtype: str) -> None:
    # Uniforms are multiples of 2**-24 (float32) or 2**-53 (float64) whose lowest bits are
    # random too: a float64 made from one 32-bit word would have 21 zero bits.
    draws = sample(class_name, mode, lambda s: s.uniform(size=(LARGE,), dtype=dtype))
    scaled = draws.astype(np.float64) * 2.0 ** MANTISSA_BITS[dtype]
    assert (scaled == np.floor(scaled)).all()
    assert_discrete(lowest_bits(draws, MANTISSA_BITS[dtype]), {v: 1 / 16 for v in range(16)})


@stream_and_mode
def test_uniform_with_low_and_high(class_name: str, mode: str) -> None:
    low, high = -3.0, 5.5
    draws = sample(class_name, mode, lambda s: s.uniform((LARGE,), low, high, dtype="float64"))
    assert draws.min() >= low and draws.max() < high
    assert_continuous(draws, "uniform", (low, high - low))


@stream_and_mode
def test_uniform_with_symbolic_bounds_broadcast_against_size(class_name: str, mode: str) -> None:
    low, high = T.dvector("low"), T.dvector("high")
    srng = make_stream(class_name)
    function = jitgraph.function(
        [low, high], srng.uniform((LARGE // 4, 2), low, high, dtype="float64"), mode=mode
    )
    draws = function([0.0, 10.0], [1.0, 12.0])
    assert draws.shape == (LARGE // 4, 2)
    assert_continuous(draws[:, 0], "uniform", (0.0, 1.0))
    assert_continuous(draws[:, 1], "uniform", (10.0, 2.0))


@stream_and_mode
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_with_avg_and_std(class_name: str, mode: str, dtype: str) -> None:
    draws = sample(class_name, mode, lambda s: s.normal((LARGE,), 2.0, 3.0, dtype=dtype))
    assert draws.dtype == dtype and np.isfinite(draws).all()
    assert_continuous(draws, "norm", (2.0, 3.0))


@stream_and_mode
def test_normal_of_odd_size_and_within_draw_independence(class_name: str, mode: str) -> None:
    # An odd size (a Box-Muller pair cut in half) in two dimensions; neighbouring draws
    # (which pair transforms compute from the same uniforms) must be uncorrelated.
    draws = sample(class_name, mode, lambda s: s.normal((LARGE // 101, 101), dtype="float64"))
    assert_continuous(draws, "norm", (0.0, 1.0))
    flat = draws.ravel()
    assert_uncorrelated(flat[0:-1:2], flat[1::2])
    assert_uncorrelated(flat[:-1], flat[1:])


@stream_and_mode
@pytest.mark.parametrize(("trials", "p"), [(1, 0.5), (1, 0.1), (5, 0.3)])
def test_binomial(class_name: str, mode: str, trials: int, p: float) -> None:
    draws = sample(class_name, mode, lambda s: s.binomial((LARGE,), n=trials, p=p))
    assert draws.dtype == "int64"
    pmf = scipy.stats.binom(trials, p).pmf(np.arange(trials + 1))
    assert_discrete(draws, dict(enumerate(pmf)))


@stream_and_mode
def test_binomial_with_a_probability_per_column(class_name: str, mode: str) -> None:
    p = T.dvector("p")
    srng = make_stream(class_name)
    function = jitgraph.function([p], srng.binomial((LARGE // 2, 2), n=1, p=p), mode=mode)
    draws = function([0.2, 0.9])
    assert_discrete(draws[:, 0], {0: 0.8, 1: 0.2})
    assert_discrete(draws[:, 1], {0: 0.1, 1: 0.9})


@stream_and_mode
def test_random_integers_include_high(class_name: str, mode: str) -> None:
    draws = sample(class_name, mode, lambda s: s.random_integers((LARGE,), low=-3, high=4))
    assert draws.dtype == "int64"
    assert_discrete(draws, {value: 1 / 8 for value in range(-3, 5)})


@stream_and_mode
def test_integers_exclude_high(class_name: str, mode: str) -> None:
    draws = sample(class_name, mode, lambda s: s.integers((LARGE,), low=-3, high=4))
    assert_discrete(draws, {value: 1 / 7 for value in range(-3, 4)})


@stream_and_mode
def test_integers_with_only_low_draw_below_it(class_name: str, mode: str) -> None:
    draws = sample(class_name, mode, lambda s: s.integers((LARGE,), 6))
    assert_discrete(draws, {value: 1 / 6 for value in range(6)})


@stream_and_mode
def test_integers_over_a_range_that_is_not_a_power_of_two(class_name: str, mode: str) -> None:
    # A range of 3 * 2**30: reducing 32 random bits modulo it would make the lower third
    # of the range twice as likely as the rest (a bias the per-thirds test below exposes).
    span = 3 * 2**30
    draws = sample(class_name, mode, lambda s: s.integers((LARGE,), 0, span))
    assert draws.min() >= 0 and draws.max() < span
    assert_discrete(draws // 2**30, {0: 1 / 3, 1: 1 / 3, 2: 1 / 3})


@stream_and_mode
def test_integers_over_a_range_close_to_2_to_the_53(class_name: str, mode: str) -> None:
    # floor(u * span) with 53-bit u would map 4 uniforms onto 3 values for such a range
    # (some residues of 4 more likely than others): wide ranges are refused, and the
    # widest accepted one is uniform.
    with pytest.raises(ValueError, match="2\\*\\*32"):
        sample(class_name, mode, lambda s: s.integers((LARGE,), 0, 3 * 2**51))
    draws = sample(class_name, mode, lambda s: s.integers((LARGE,), 0, 2**32))
    assert draws.min() >= 0 and draws.max() < 2**32
    assert_discrete(draws % 4, {0: 1 / 4, 1: 1 / 4, 2: 1 / 4, 3: 1 / 4})


@stream_and_mode
def test_choice_with_replacement(class_name: str, mode: str) -> None:
    draws = sample(class_name, mode, lambda s: s.choice((LARGE,), a=7))
    assert_discrete(draws, {value: 1 / 7 for value in range(7)})


@stream_and_mode
def test_choice_with_replacement_and_p(class_name: str, mode: str) -> None:
    pvals = [0.5, 0.0, 0.2, 0.3]
    draws = sample(class_name, mode, lambda s: s.choice((LARGE,), a=4, p=pvals))
    assert_discrete(draws, {0: 0.5, 2: 0.2, 3: 0.3})  # 1 has probability 0: never drawn


CHOICE_CALLS = 3000


@stream_and_mode
def test_choice_without_replacement(class_name: str, mode: str) -> None:
    # Each call draws 3 of 6 values: no repeats, and every 3-subset is equally likely.
    draws = np.array(
        sample(class_name, mode, lambda s: s.choice((3,), a=6, replace=False), CHOICE_CALLS)
    )
    assert ((draws >= 0) & (draws < 6)).all()
    assert (np.sort(draws, axis=1)[:, 1:] != np.sort(draws, axis=1)[:, :-1]).all(), "a repeat"
    subsets = list(itertools.combinations(range(6), 3))
    keys = [subsets.index(tuple(row)) for row in np.sort(draws, axis=1)]
    assert_discrete(np.array(keys), {key: 1 / len(subsets) for key in range(len(subsets))})
    assert_discrete(draws[:, 0], {value: 1 / 6 for value in range(6)})
    # Only 120 outcomes: calls may repeat, so no assert_independent_calls.
    assert_uncorrelated(draws[:-1], draws[1:])


@stream_and_mode
def test_choice_without_replacement_and_p(class_name: str, mode: str) -> None:
    pvals = np.array([0.4, 0.3, 0.2, 0.1])
    draws = np.array(
        sample(
            class_name, mode, lambda s: s.choice((2,), a=4, replace=False, p=pvals), CHOICE_CALLS
        )
    )
    assert (draws[:, 0] != draws[:, 1]).all(), "a repeat"
    first, second = sequential_choice_marginals(pvals)
    assert_discrete(draws[:, 0], dict(enumerate(first)))
    assert_discrete(draws[:, 1], dict(enumerate(second)))


@stream_and_mode
@pytest.mark.parametrize("n", [2, 5])
def test_permutation(class_name: str, mode: str, n: int) -> None:
    rows = sample(class_name, mode, lambda s: s.permutation((MEDIUM,), n=n))
    assert rows.shape == (MEDIUM, n) and rows.dtype == "int64"
    assert_permutation_rows(rows)


@stream_and_mode
def test_multinomial(class_name: str, mode: str) -> None:
    pvals = [0.1, 0.6, 0.3]
    rows = sample(class_name, mode, lambda s: s.multinomial((MEDIUM,), n=7, pvals=pvals))
    assert rows.shape == (MEDIUM, 3) and rows.dtype == "int64"
    assert_multinomial_rows(rows, 7, pvals)


@stream_and_mode
def test_multinomial_with_one_trial_is_one_hot(class_name: str, mode: str) -> None:
    pvals = [0.25, 0.25, 0.5]
    rows = sample(class_name, mode, lambda s: s.multinomial((MEDIUM,), n=1, pvals=pvals))
    assert_multinomial_rows(rows, 1, pvals)


# ------------------------------------------------------------------- independence


INDEPENDENCE_CASES: dict[str, Callable[[Any], Any]] = {
    "uniform": lambda s: s.uniform((1000,), dtype="float64"),
    "normal": lambda s: s.normal((1000,), dtype="float64"),
    "binomial": lambda s: s.binomial((1000,), p=0.3),
    "integers": lambda s: s.integers((1000,), 0, 100),
    "permutation": lambda s: s.permutation((100,), n=10),
}


@stream_and_mode
@pytest.mark.parametrize("distribution", sorted(INDEPENDENCE_CASES))
def test_consecutive_calls_are_independent(class_name: str, mode: str, distribution: str) -> None:
    calls = sample(class_name, mode, INDEPENDENCE_CASES[distribution], calls=30)
    assert_independent_calls(np.array(calls))


@stream_and_mode
def test_two_variables_of_one_stream_are_uncorrelated(class_name: str, mode: str) -> None:
    first, second, third = sample(
        class_name,
        mode,
        lambda s: [s.uniform((LARGE,)), s.uniform((LARGE,)), s.normal((LARGE,))],
    )
    assert_all_distinct(np.concatenate([first, second]))
    assert_uncorrelated(first, second)
    assert_uncorrelated(first, third)
    assert_uncorrelated(second, third)


@pytest.mark.parametrize("class_name", STREAM_CLASSES)
def test_streams_with_different_seeds_are_uncorrelated(class_name: str) -> None:
    first = jitgraph.function([], make_stream(class_name, 1).uniform((LARGE,)))()
    second = jitgraph.function([], make_stream(class_name, 2).uniform((LARGE,)))()
    assert_uncorrelated(first, second)


# ------------------------------------------------------- bit identity of the two modes


BIT_IDENTITY_CASES: dict[str, Callable[[Any], Any]] = {
    "uniform float32": lambda s: s.uniform((1001,), dtype="float32"),
    "uniform float64": lambda s: s.uniform((1001,), -2.0, 3.0, dtype="float64"),
    "normal": lambda s: s.normal((1001,), dtype="float64"),
    "binomial": lambda s: s.binomial((1001,), n=5, p=0.3),
    "random_integers": lambda s: s.random_integers((1001,), -3, 4),
    "integers": lambda s: s.integers((1001,), 0, 3 * 2**30),
    "choice": lambda s: s.choice((1001,), a=5, p=[0.1, 0.2, 0.3, 0.2, 0.2]),
    "permutation": lambda s: s.permutation((101,), n=7),
    "multinomial": lambda s: s.multinomial((1001,), n=9, pvals=[0.2, 0.3, 0.5]),
}


@pytest.mark.parametrize("class_name", STREAM_CLASSES)
@pytest.mark.parametrize("distribution", sorted(BIT_IDENTITY_CASES))
def test_reference_and_fast_run_draw_the_same_bits(class_name: str, distribution: str) -> None:
    """The same seed gives bit-identical draws in both modes, call after call; normal draws
    (log, sqrt, cos, sin of the same uniforms: NumPy's libm and LLVM's may differ in the
    last bit) agree to a few ulp."""
    build = BIT_IDENTITY_CASES[distribution]
    reference = sample(class_name, "REFERENCE", build, calls=2)
    native = sample(class_name, "FAST_RUN", build, calls=2)
    for reference_call, native_call in zip(reference, native, strict=True):
        assert reference_call.dtype == native_call.dtype
        if distribution == "normal":
            np.testing.assert_allclose(native_call, reference_call, rtol=1e-14, atol=1e-14)
        else:
            np.testing.assert_array_equal(native_call, reference_call)
    assert not np.array_equal(reference[0], reference[1])


# ------------------------------------------------------------------ negative controls


def numpy_generator() -> np.random.Generator:
    return np.random.default_rng(SEED)


def test_negative_control_continuous() -> None:
    rng = numpy_generator()
    assert_continuous(rng.random(LARGE), "uniform", (0.0, 1.0))  # the positive control
    wrong_samples = {
        "a constant": np.full(LARGE, 0.5),
        "a range 2% short": rng.uniform(0.0, 0.98, LARGE),
        "floats of 4 random bits": np.floor(rng.random(LARGE) * 16) / 16,
    }
    for wrong in wrong_samples.values():
        with pytest.raises(AssertionError, match="KS statistic"):
            assert_continuous(wrong, "uniform", (0.0, 1.0))
    assert_continuous(rng.normal(2.0, 3.0, LARGE), "norm", (2.0, 3.0))
    # A 10% wrong std, a mean off by 0.1 std, std used as the variance, uniforms.
    wrong_normals = [rng.normal(2.0, 3.3, LARGE), rng.normal(2.3, 3.0, LARGE)]
    wrong_normals += [rng.normal(2.0, 3.0**0.5, LARGE), rng.random(LARGE)]
    for wrong in wrong_normals:
        with pytest.raises(AssertionError, match="KS statistic"):
            assert_continuous(wrong, "norm", (2.0, 3.0))


def test_negative_control_resolution() -> None:
    rng = numpy_generator()
    uniform_bits = {v: 1 / 16 for v in range(16)}
    assert_discrete(lowest_bits(rng.random(LARGE), 53), uniform_bits)
    words = rng.integers(0, 2**32, LARGE)
    with pytest.raises(AssertionError, match="chi-square"):  # a float64 from one 32-bit word
        assert_discrete(lowest_bits(words * 2.0**-32, 53), uniform_bits)
    with pytest.raises(AssertionError, match="chi-square"):  # the largest range of integers
        span = 3 * 2**51
        assert_discrete(
            np.floor(rng.random(LARGE) * span).astype(np.int64) % 4,
            {0: 1 / 4, 1: 1 / 4, 2: 1 / 4, 3: 1 / 4},
        )


def test_negative_control_discrete() -> None:
    rng = numpy_generator()
    inclusive = {value: 1 / 8 for value in range(-3, 5)}
    assert_discrete(rng.integers(-3, 4, LARGE, endpoint=True), inclusive)
    with pytest.raises(AssertionError, match="chi-square"):  # high excluded: 4 never drawn
        assert_discrete(rng.integers(-3, 4, LARGE), inclusive)
    with pytest.raises(AssertionError, match="outside the support"):  # one too many
        assert_discrete(rng.integers(-3, 6, LARGE), inclusive)
    with pytest.raises(AssertionError, match="outside the support"):
        assert_discrete(np.full(LARGE, 7), inclusive)
    with pytest.raises(AssertionError, match="chi-square"):  # a constant inside the support
        assert_discrete(np.zeros(LARGE, dtype=np.int64), inclusive)
    with pytest.raises(AssertionError, match="chi-square"):  # p = 0.52 instead of 0.5
        assert_discrete(rng.binomial(1, 0.52, LARGE), {0: 0.5, 1: 0.5})
    pmf = scipy.stats.binom(5, 0.3).pmf(np.arange(6))
    with pytest.raises(AssertionError, match="chi-square"):  # 5 * Bernoulli(0.3) is not B(5, 0.3)
        assert_discrete(5 * rng.binomial(1, 0.3, LARGE), dict(enumerate(pmf)))
    with pytest.raises(AssertionError, match="chi-square"):  # 32 bits modulo 3 * 2**30
        biased = rng.integers(0, 2**32, LARGE) % (3 * 2**30)
        assert_discrete(biased // 2**30, {0: 1 / 3, 1: 1 / 3, 2: 1 / 3})


def test_negative_control_choice_without_replacement() -> None:
    rng = numpy_generator()
    pvals = np.array([0.4, 0.3, 0.2, 0.1])
    first, second = sequential_choice_marginals(pvals)
    draws = np.array([rng.choice(4, 2, replace=False, p=pvals) for _ in range(CHOICE_CALLS)])
    assert_discrete(draws[:, 0], dict(enumerate(first)))
    assert_discrete(draws[:, 1], dict(enumerate(second)))
    # Drawing the second value from p itself (ignoring the first) is a different distribution.
    with pytest.raises(AssertionError, match="chi-square"):
        assert_discrete(rng.choice(4, CHOICE_CALLS, p=pvals), dict(enumerate(second)))


def naive_shuffle(rng: np.random.Generator, count: int, n: int) -> np.ndarray:
    """The classic biased shuffle: swap each position with any position (not a later one)."""
    rows = np.tile(np.arange(n), (count, 1))
    for position in range(n):
        other = rng.integers(0, n, count)
        first, second = rows[np.arange(count), position], rows[np.arange(count), other]
        rows[np.arange(count), position], rows[np.arange(count), other] = second, first
    return rows


def test_negative_control_permutation() -> None:
    rng = numpy_generator()
    assert_permutation_rows(rng.permuted(np.tile(np.arange(5), (MEDIUM, 1)), axis=1))
    with pytest.raises(AssertionError, match="chi-square"):
        assert_permutation_rows(naive_shuffle(rng, MEDIUM, 5))
    rotations = (np.arange(5) + rng.integers(0, 5, (MEDIUM, 1))) % 5  # uniform marginals
    with pytest.raises(AssertionError, match="chi-square"):
        assert_permutation_rows(rotations)
    with pytest.raises(AssertionError, match="not a permutation"):
        assert_permutation_rows(rng.integers(0, 5, (MEDIUM, 5)))
    with pytest.raises(AssertionError, match="chi-square"):  # always the identity
        assert_permutation_rows(np.tile(np.arange(5), (MEDIUM, 1)))


def test_negative_control_multinomial() -> None:
    rng = numpy_generator()
    pvals = [0.1, 0.6, 0.3]
    assert_multinomial_rows(rng.multinomial(7, pvals, MEDIUM), 7, pvals)
    with pytest.raises(AssertionError, match="row sums"):
        assert_multinomial_rows(rng.multinomial(6, pvals, MEDIUM), 7, pvals)
    with pytest.raises(AssertionError, match="chi-square"):  # wrong pvals
        assert_multinomial_rows(rng.multinomial(7, [0.12, 0.58, 0.3], MEDIUM), 7, pvals)
    # All 7 trials of a row in one category: right totals, wrong per-row counts.
    lumped = 7 * rng.multinomial(1, pvals, MEDIUM)
    with pytest.raises(AssertionError, match="chi-square"):
        assert_multinomial_rows(lumped, 7, pvals)


def test_negative_control_independence() -> None:
    rng = numpy_generator()
    first, second = rng.random(LARGE), rng.random(LARGE)
    assert_uncorrelated(first, second)
    with pytest.raises(AssertionError, match="identical"):
        assert_uncorrelated(first, first)
    with pytest.raises(AssertionError, match="correlation"):  # a 5% shared component
        assert_uncorrelated(first, 0.95 * second + 0.05 * first)
    calls = rng.random((30, 1000))
    assert_independent_calls(calls)
    with pytest.raises(AssertionError, match="same numbers"):  # the state never advances
        assert_independent_calls(np.tile(calls[0], (30, 1)))
    # The state advances by one block per call instead of by the blocks consumed: call k + 1
    # repeats call k shifted by 4 draws (uncorrelated elementwise, but overlapping).
    stream = rng.random(1000 + 4 * 30)
    overlapping = np.stack([stream[4 * k : 4 * k + 1000] for k in range(30)])
    with pytest.raises(AssertionError, match="overlap"):
        assert_independent_calls(overlapping)
