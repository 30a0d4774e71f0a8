"""jnp.random: NumPy's shapes and dtypes, reproducibility, independence of successive
draws, and the distributions (KS / chi-square against scipy.stats with fixed seeds: a
check fails below p = 1e-6; the negative controls show each check can fail)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.stats

import jitgraph.numpy as jnp
from jitgraph.numpy import _core
from jitgraph.numpy import random as jrandom

P_MIN = 1e-6
N = 50_000


def values(x: Any) -> np.ndarray:
    assert isinstance(x, jnp.ndarray)
    return np.asarray(x)


def assert_continuous(sample: Any, distribution: str, args: tuple[float, ...]) -> None:
    result = scipy.stats.kstest(np.ravel(sample).astype(np.float64), distribution, args=args)
    assert result.pvalue > P_MIN, (distribution, args, result)


def assert_discrete(sample: Any, probabilities: dict[int, float]) -> None:
    sample = np.ravel(sample)
    support = np.array(sorted(probabilities))
    assert np.isin(sample, support).all(), np.setdiff1d(sample, support)[:10]
    observed = np.array([np.count_nonzero(sample == v) for v in support])
    expected = sample.size * np.array([probabilities[v] for v in support])
    assert scipy.stats.chisquare(observed, expected).pvalue > P_MIN, (observed, expected)


def test_negative_controls_are_rejected() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(AssertionError):
        assert_continuous(rng.random(N) ** 1.05, "uniform", (0, 1))
    with pytest.raises(AssertionError):
        assert_discrete(rng.integers(0, 4, N), {0: 0.3, 1: 0.2, 2: 0.25, 3: 0.25})


# ----------------------------------------------------------------------------- shapes, dtypes
CALLS = [
    ("random", (), {}),
    ("random", ((2, 3),), {}),
    ("random", (4,), {"dtype": np.float32}),
    ("uniform", (1.0, [2.0, 3.0]), {}),
    ("uniform", (0, 1, (3, 2)), {}),
    ("normal", (), {"size": 0}),
    ("normal", ([[0.0], [1.0]], 2.0), {"size": (2, 3)}),
    ("standard_normal", ((5,),), {"dtype": np.float32}),
    ("standard_normal", (), {}),
    ("exponential", (2.0, (2, 2)), {}),
    ("integers", (10,), {}),
    ("integers", (-3, 4, (2, 5)), {"dtype": np.int8}),
    ("integers", (0, 255, 3), {"dtype": np.uint8, "endpoint": True}),
    ("integers", (0, 2, 6), {"dtype": bool}),
    ("integers", ([0, 10], 20), {}),
    ("binomial", (10, 0.3, (4,)), {}),
    ("binomial", (1, [0.2, 0.7]), {}),
    ("choice", (5,), {}),
    ("choice", (5, (2, 3)), {}),
    ("choice", ([1.5, 2.5, 3.5], 4), {"p": [0.2, 0.3, 0.5]}),
    ("choice", (np.arange(12).reshape(4, 3), 2), {"replace": False}),
    ("choice", (np.arange(12).reshape(4, 3), 2), {"axis": 1}),
    ("permutation", (6,), {}),
    ("permutation", (np.arange(6.0).reshape(3, 2),), {}),
    ("permutation", (np.arange(6).reshape(3, 2),), {"axis": 1}),
]


@pytest.mark.parametrize("name, args, kwargs", CALLS)
def test_shapes_and_dtypes_are_numpys(name: str, args: Any, kwargs: Any) -> None:
    expected = np.asarray(getattr(np.random.default_rng(0), name)(*args, **kwargs))
    result = getattr(jnp.random.default_rng(0), name)(*args, **kwargs)
    assert isinstance(result, jnp.ndarray)
    assert (result.shape, result.dtype) == (expected.shape, expected.dtype)
    assert values(result).shape == expected.shape


@pytest.mark.parametrize(
    "name, args",
    [
        ("rand", (2, 3)),
        ("rand", ()),
        ("randn", (4,)),
        ("random", ((2, 2),)),
        ("random_sample", (3,)),
        ("uniform", (0, 2, 3)),
        ("normal", (0, 1, (2,))),
        ("randint", (5, None, 4)),
        ("randint", (1, 5, (2, 2))),
        ("choice", (4, 3)),
        ("permutation", (5,)),
    ],
)
def test_legacy_functions_shapes_dtypes_and_seed(name: str, args: Any) -> None:
    expected = np.asarray(getattr(np.random, name)(*args))
    jnp.random.seed(123)
    first = getattr(jnp.random, name)(*args)
    assert (first.shape, first.dtype) == (expected.shape, expected.dtype)
    jnp.random.seed(123)
    np.testing.assert_array_equal(values(getattr(jnp.random, name)(*args)), values(first))


# ----------------------------------------------------------------------------- reproducibility
def test_same_seed_same_values_in_any_evaluation_order() -> None:
    rng = jnp.random.default_rng(42)
    a, b, c = rng.normal(size=100), rng.integers(0, 9, size=50), rng.random(7)
    assert a._value is None  # draws are lazy
    other = jnp.random.default_rng(42)
    a2, b2, c2 = other.normal(size=100), other.integers(0, 9, size=50), other.random(7)
    for x, y in ((c2, c), (b2, b), (a, a2)):  # evaluated in another order
        np.testing.assert_array_equal(values(x), values(y))
    third = jnp.random.default_rng(42)
    np.testing.assert_array_equal(values(third.normal(size=100)), values(a))
    assert not np.array_equal(values(jnp.random.default_rng(43).normal(size=100)), values(a))


def test_default_rng_accepts_generators_and_seed_sequences() -> None:
    rng = jnp.random.default_rng(1)
    assert jnp.random.default_rng(rng) is rng
    one = jnp.random.default_rng(np.random.SeedSequence(5)).random(3)
    two = jnp.random.default_rng(np.random.SeedSequence(5)).random(3)
    np.testing.assert_array_equal(values(one), values(two))
    with pytest.raises(TypeError, match="int seed"):
        jnp.random.default_rng(np.random.default_rng(0))


def test_successive_draws_are_independent_and_reuse_the_program() -> None:
    rng = jnp.random.default_rng(7)
    first = values(rng.random(N))
    compiles = _core.STATS["compiles"]
    draws = [values(rng.random(N)) for _ in range(3)]
    assert _core.STATS["compiles"] == compiles  # one program, new counters
    rows = np.stack([first, *draws])
    assert len(np.unique(rows)) == rows.size  # no overlapping blocks
    for x, y in zip(rows[:-1], rows[1:]):
        assert scipy.stats.pearsonr(x, y).pvalue > P_MIN
    # A float32 draw, a normal and an odd-sized draw advance the counter without overlap.
    a, b, c = rng.random(5, dtype=np.float32), rng.normal(size=3), rng.random(1)
    d = rng.random(1)
    assert values(c)[0] != values(d)[0] and values(a).dtype == np.float32
    assert values(b).shape == (3,)


def test_draws_fuse_with_what_follows() -> None:
    rng = jnp.random.default_rng(3)
    x = rng.random(10) * 2 + 1
    assert x._value is None
    v = values(x)
    assert ((v >= 1) & (v < 3)).all()


# ----------------------------------------------------------------------------- distributions
def test_continuous_distributions() -> None:
    rng = jnp.random.default_rng(20240607)
    assert_continuous(values(rng.random(N)), "uniform", (0, 1))
    assert_continuous(values(rng.random(N, dtype=np.float32)), "uniform", (0, 1))
    assert_continuous(values(rng.uniform(-2.0, 3.0, N)), "uniform", (-2, 5))
    assert_continuous(values(rng.normal(1.5, 2.0, N)), "norm", (1.5, 2.0))
    assert_continuous(values(rng.standard_normal(N, dtype=np.float32)), "norm", (0, 1))
    assert_continuous(values(rng.exponential(3.0, N)), "expon", (0, 3.0))
    jnp.random.seed(5)
    assert_continuous(values(jnp.random.randn(N)), "norm", (0, 1))
    # Broadcast parameters: each column follows its own parameters.
    columns = values(rng.normal([0.0, 10.0], [1.0, 0.5], size=(N // 2, 2)))
    assert_continuous(columns[:, 1], "norm", (10.0, 0.5))


def test_discrete_distributions() -> None:
    rng = jnp.random.default_rng(99)
    assert_discrete(values(rng.integers(-3, 4, N)), {k: 1 / 7 for k in range(-3, 4)})
    assert_discrete(
        values(rng.integers(5, size=N, dtype=np.uint8, endpoint=True)), {k: 1 / 6 for k in range(6)}
    )
    assert_discrete(values(rng.integers(0, 2, N, dtype=bool)).astype(int), {0: 0.5, 1: 0.5})
    binom = scipy.stats.binom(6, 0.3)
    assert_discrete(values(rng.binomial(6, 0.3, N)), {k: float(binom.pmf(k)) for k in range(7)})
    p = [0.1, 0.2, 0.3, 0.4]
    assert_discrete(values(rng.choice(4, N, p=p)), dict(enumerate(p)))
    assert_discrete(values(rng.choice([10, 20, 30], N)), {10: 1 / 3, 20: 1 / 3, 30: 1 / 3})


def test_permutations_and_sampling_without_replacement() -> None:
    rng = jnp.random.default_rng(11)
    rows = np.stack([values(rng.permutation(4)) for _ in range(1000)])
    assert (np.sort(rows, axis=1) == np.arange(4)).all()
    assert_discrete(
        rows[:, 0] * 4 + rows[:, 1],
        {a * 4 + b: 1 / 12 for a in range(4) for b in range(4) if a != b},
    )
    picks = np.stack([values(rng.choice(5, 3, replace=False)) for _ in range(1000)])
    assert all(len(set(row)) == 3 for row in picks)
    assert_discrete(picks.ravel(), {k: 0.2 for k in range(5)})


def test_shuffle_in_place() -> None:
    rng = jnp.random.default_rng(4)
    x = _core.wrap_value(np.arange(10))
    rng.shuffle(x)
    assert sorted(values(x).tolist()) == list(range(10)) and values(x).tolist() != list(range(10))
    array = np.arange(12).reshape(6, 2)
    rng.shuffle(array)
    assert (
        sorted(array[:, 0].tolist()) == list(range(0, 12, 2))
        and (array[:, 1] == array[:, 0] + 1).all()
    )
    items = list("abcdef")
    jnp.random.shuffle(items)
    assert sorted(items) == list("abcdef")
    view = x[:5]
    with pytest.raises(ValueError, match="view"):
        rng.shuffle(view)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda r: r.integers(5, 5), ValueError, "low >= high"),
        (lambda r: r.integers(0, 300, dtype=np.int8), ValueError, "out of bounds"),
        (lambda r: r.integers(0, 2**40), ValueError, "2\\*\\*32"),
        (lambda r: r.integers(0.5, 3), TypeError, "integers"),
        (lambda r: r.random(3, dtype=np.int32), TypeError, "dtype"),
        (lambda r: r.normal(0, -1.0), ValueError, "scale < 0"),
        (lambda r: r.normal([0.0, 1.0], size=3), ValueError, "broadcast"),
        (lambda r: r.binomial(3, 1.5), ValueError, "p > 1"),
        (lambda r: r.choice(3, 4, replace=False), ValueError, "larger sample"),
        (lambda r: r.choice(3, p=[0.5, 0.6, 0.1]), ValueError, "sum to 1"),
        (lambda r: r.choice(3, p=[0.5, 0.5]), ValueError, "same size"),
        (lambda r: r.choice(0, 2), ValueError, "a must be"),
    ],
)
def test_errors(call: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call(jnp.random.default_rng(0))


def test_module_exports() -> None:
    for name in jrandom.__all__:
        assert hasattr(jrandom, name)


def test_draws_inside_jit_raise_instead_of_freezing():
    import jitgraph

    rng = jrandom.default_rng(3)

    @jitgraph.jit
    def noisy(x):  # type: ignore[no-untyped-def]
        return x + rng.normal(size=3)

    with pytest.raises(_core.TracerError, match="once, at trace time"):
        noisy(np.zeros(3))
