"""Theano's ``RandomStreams``: random variables whose generator state lives in shared
variables (``theano.tensor.shared_randomstreams``).

Each call (``srng.uniform((2, 2))``) returns a variable ``rv`` drawn once per function
call, however often the graph uses it, with ``rv.rng``: a shared variable of its own
holding the generator state, a ``PhiloxState`` (a uint32 array of 4 words: the Philox key
and the 64-bit block counter). ``rv.rng.default_update`` is the state after the draw, so
every function using ``rv`` advances it, unless built with ``no_default_updates=True`` (or
a list naming ``rv.rng``). The numbers are a pure function of the state: the reference
interpreter and the LLVM backend draw the same ones.

>>> import jitgraph
>>> srng = RandomStreams(seed=234)
>>> rv = srng.uniform((2,))
>>> f = jitgraph.function([], rv)
>>> first = f()
>>> bool((first != f()).all())  # the state advanced
True
>>> state = rv.rng.get_value(borrow=True)
>>> state.seed(234); rv.rng.set_value(state, borrow=True)
>>> again = f()
>>> state.seed(234); rv.rng.set_value(state, borrow=True)
>>> bool((f() == again).all())  # the same state draws the same numbers
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from jitgraph.compile.sharedvalue import TensorSharedVariable
from jitgraph.config import config
from jitgraph.ir.graph import Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.random import philox4x32_10
from jitgraph.tensor import raw_random
from jitgraph.tensor.shape import join, stack
from jitgraph.tensor.var import TensorVariable

__all__ = [
    "STATE_TYPE",
    "PhiloxState",
    "RandomStateSharedVariable",
    "RandomStreams",
    "RandomStreamsBase",
    "RandomVariable",
    "random_state_shared",
]

STATE_TYPE = TensorType("uint32", (4,))
Sym = raw_random.Sym
T: Any = raw_random.T
WORD_MASK = 0xFFFFFFFF


# ---------------------------------------------------------------------------- the state value
class PhiloxState(np.ndarray):
    """A generator state: uint32 words (key0, key1, counter lo, counter hi). The next draw
    uses the Philox key (key0, key1) from block ``counter`` on.

    >>> state = PhiloxState.from_seed(7)
    >>> saved = state.get_state()
    >>> state.seed(8); bool((state == saved).all())
    False
    >>> state.set_state(saved); bool((state == saved).all())
    True
    """

    @classmethod
    def from_seed(cls, seed: Any = None) -> PhiloxState:
        """A new state seeded with ``seed`` (``seed(seed)``)."""
        state = np.zeros(4, dtype=np.uint32).view(cls)
        state.seed(seed)
        return state

    def seed(self, seed: Any = None) -> None:
        """Reseed in place: the key from ``seed`` (an int >= 0, a sequence of them, or
        None for fresh entropy, mixed by NumPy's SeedSequence), counter 0."""
        self[0:2] = seed_key(seed)
        self[2:4] = 0

    def get_state(self) -> PhiloxState:
        """A copy of the 4 state words (for ``set_state``)."""
        return np.array(self, dtype=np.uint32).view(PhiloxState)

    def set_state(self, state: Any) -> None:
        """Overwrite the state in place with ``state`` (4 uint32 words, from
        ``get_state``)."""
        self[...] = state_words(state, "set_state")

    @property
    def key(self) -> tuple[int, int]:
        return int(self[0]), int(self[1])

    @property
    def counter(self) -> int:
        return int(self[2]) | (int(self[3]) << 32)


def seed_key(seed: Any) -> np.ndarray:
    """The 2-word Philox key of ``seed`` (SeedSequence-mixed, so that nearby seeds give
    unrelated keys)."""
    if isinstance(seed, (bool, np.bool_)) or not (
        seed is None or isinstance(seed, (int, np.integer, list, tuple, np.ndarray))
    ):
        raise TypeError(f"seed must be an int >= 0 or None, got {seed!r}")
    try:
        return np.random.SeedSequence(seed).generate_state(2, np.uint32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"seed must be an int >= 0 or None, got {seed!r}: {exc}") from None


def state_words(value: Any, where: str) -> np.ndarray:
    """``value`` as 4 uint32 words, or TypeError/ValueError naming ``where``."""
    words = np.asarray(value)
    if words.shape != (4,) or words.dtype.kind not in "iu":
        raise TypeError(
            f"{where}: expected a generator state (4 uint32 words), got "
            f"{type(value).__name__} of shape {words.shape} and dtype {words.dtype}"
        )
    if ((words < 0) | (words > WORD_MASK)).any():
        raise ValueError(f"{where}: state words must be in [0, 2**32), got {words.tolist()}")
    return words.astype(np.uint32)


class RandomStateSharedVariable(TensorSharedVariable):
    """A shared variable holding a ``PhiloxState``: ``get_value()`` (also with
    ``borrow=True``: a view of the stored words, so ``seed()`` on it acts in place) is a
    PhiloxState; ``set_value`` takes one (or any 4 uint32 words). Functions store their
    updates as plain arrays; reads wrap them."""

    __slots__ = ()

    def _filter(self, value: Any, borrow: bool) -> np.ndarray:
        if isinstance(value, np.ndarray) and value.dtype == np.uint32:
            return np.asarray(super()._filter(value, borrow))
        return np.asarray(super()._filter(state_words(value, self.describe()), True))

    def get_value(self, borrow: bool = False, return_internal_type: bool = False) -> Any:
        return np.asarray(super().get_value(borrow, return_internal_type)).view(PhiloxState)


def random_state_shared(state: Any, name: str | None = None) -> RandomStateSharedVariable:
    """A new shared variable holding a copy of ``state`` (4 uint32 words)."""
    return RandomStateSharedVariable(STATE_TYPE, state_words(state, "random state"), name=name)


# ---------------------------------------------------------------------------- state in the graph
def _uint64(value: int) -> Sym:
    return raw_random._sym(np.uint64(value))


def state_key(state: Sym) -> Sym:
    """The Philox key words of a state variable (uint32 vector of 2)."""
    return state[0:2]


def state_counter(state: Sym) -> Sym:
    """The block counter of a state variable (uint64 scalar)."""
    low = T.cast(state[2], "uint64")
    high = T.cast(state[3], "uint64")
    return T.bitwise_or(low, T.left_shift(high, _uint64(32)))


def advanced_state(state: Sym, blocks: Sym) -> Sym:
    """The state after a draw that consumed ``blocks`` (counter + blocks, mod 2**64)."""
    counter = state_counter(state) + T.cast(blocks, "uint64")
    low = T.cast(T.bitwise_and(counter, _uint64(WORD_MASK)), "uint32")
    high = T.cast(T.right_shift(counter, _uint64(32)), "uint32")
    return join(0, state_key(state), stack([low, high]))


# ---------------------------------------------------------------------------- random variables
class RandomVariable(TensorVariable):
    """A tensor variable made by a random stream: ``rng`` is its state's shared variable,
    ``update`` the pair (rng, state after the draw)."""

    __slots__ = ()

    @property
    def rng(self) -> RandomStateSharedVariable:
        try:
            return self.tag["rng"]
        except KeyError:
            raise AttributeError("this random variable has lost its rng (a copy?)") from None

    @property
    def update(self) -> tuple[RandomStateSharedVariable, Sym]:
        rng = self.rng
        assert rng.default_update is not None
        return rng, rng.default_update


Builder = Callable[[Sym, Sym], tuple[Sym, Sym]]


class RandomStreamsBase:
    """The distributions of a stream of random variables; subclasses say how each new
    variable's state is seeded (``_new_state``) and how ``seed()`` reseeds them."""

    def __init__(self) -> None:
        self.state_updates: list[tuple[RandomStateSharedVariable, Sym]] = []

    def _new_state(self) -> np.ndarray:
        raise NotImplementedError

    def updates(self) -> list[tuple[RandomStateSharedVariable, Sym]]:
        """The (rng, update) pairs of every variable made so far, in creation order."""
        return list(self.state_updates)

    def __getitem__(self, rng: RandomStateSharedVariable) -> PhiloxState:
        return rng.get_value(borrow=True)

    def __setitem__(self, rng: RandomStateSharedVariable, value: Any) -> None:
        rng.set_value(value, borrow=True)

    def _random_variable(self, build: Builder, name: str) -> RandomVariable:
        rng = random_state_shared(self._new_state(), name=f"{name}.rng")
        value, blocks = build(state_key(rng), state_counter(rng))
        rng.default_update = advanced_state(rng, blocks)
        self.state_updates.append((rng, rng.default_update))
        if type(value) is not TensorVariable:  # pragma: no cover - a fresh node's output
            raise TypeError(f"{name}: unexpected draw {value!r}")
        # Same layout (no new slots): the draw's output itself becomes the RandomVariable.
        value.__class__ = RandomVariable
        value.tag["rng"] = rng
        return value  # type: ignore[return-value]

    # ---- distributions (Theano's signatures)
    def uniform(
        self,
        size: Any = (),
        low: Any = 0.0,
        high: Any = 1.0,
        ndim: int | None = None,
        dtype: str | None = None,
    ) -> RandomVariable:
        """Uniform floats in [low, high) of shape ``size`` (dtype default floatX)."""
        dtype = _float_dtype(dtype, "uniform")
        shape = _size(size, ndim, [low, high], "uniform")
        return self._random_variable(
            lambda k, c: raw_random.uniform(k, c, shape, low, high, dtype), "uniform"
        )

    def normal(
        self,
        size: Any = (),
        avg: Any = 0.0,
        std: Any = 1.0,
        ndim: int | None = None,
        dtype: str | None = None,
    ) -> RandomVariable:
        """Normal floats of mean ``avg`` and standard deviation ``std``."""
        dtype = _float_dtype(dtype, "normal")
        shape = _size(size, ndim, [avg, std], "normal")
        return self._random_variable(
            lambda k, c: raw_random.normal(k, c, shape, avg, std, dtype), "normal"
        )

    def binomial(
        self,
        size: Any = (),
        n: Any = 1,
        p: Any = 0.5,
        ndim: int | None = None,
        dtype: str = "int64",
    ) -> RandomVariable:
        """Binomial(n, p) counts (n = 1: Bernoulli 0/1)."""
        shape = _size(size, ndim, [p], "binomial")
        return self._random_variable(
            lambda k, c: raw_random.binomial(k, c, shape, n, p, dtype), "binomial"
        )

    def random_integers(
        self,
        size: Any = (),
        low: Any = 0,
        high: Any = 1,
        ndim: int | None = None,
        dtype: str = "int64",
    ) -> RandomVariable:
        """Integers uniform in [low, high], ``high`` included (Theano)."""
        shape = _size(size, ndim, [low, high], "random_integers")
        top = high + 1 if not isinstance(high, Var) else T.cast(high, "int64") + 1
        return self._random_variable(
            lambda k, c: raw_random.integers(k, c, shape, low, top, dtype), "random_integers"
        )

    def integers(
        self, size: Any = (), low: Any = 0, high: Any = None, dtype: str = "int64"
    ) -> RandomVariable:
        """Integers uniform in [low, high), ``high`` excluded (NumPy's
        Generator.integers; ``high=None``: [0, low))."""
        if high is None:
            low, high = 0, low
        shape = _size(size, None, [low, high], "integers")
        return self._random_variable(
            lambda k, c: raw_random.integers(k, c, shape, low, high, dtype), "integers"
        )

    def choice(
        self,
        size: Any = (),
        a: Any = 2,
        replace: bool = True,
        p: Any = None,
        ndim: int | None = None,
        dtype: str = "int64",
    ) -> RandomVariable:
        """Samples of ``a`` (an int n: range(n); or a vector), with or without
        replacement, uniform or with probabilities ``p``; cast to ``dtype``."""
        shape = _size(size, ndim, [], "choice")
        return self._random_variable(
            lambda k, c: raw_random.choice(k, c, shape, a, replace, p, dtype), "choice"
        )

    def permutation(
        self, size: Any = (), n: Any = 1, ndim: int | None = None, dtype: str = "int64"
    ) -> RandomVariable:
        """Permutations of range(n), of shape ``size + (n,)``."""
        shape = _size(size, ndim, [], "permutation")
        return self._random_variable(
            lambda k, c: raw_random.permutation(k, c, shape, n, dtype), "permutation"
        )

    def multinomial(
        self,
        size: Any = (),
        n: Any = 1,
        pvals: Any = (0.5, 0.5),
        ndim: int | None = None,
        dtype: str = "int64",
    ) -> RandomVariable:
        """Counts per category of ``n`` draws with probabilities ``pvals`` (last axis),
        of shape ``size + (len(pvals),)``; ``size`` defaults to ``pvals.shape[:-1]``."""
        rows = _rows(pvals)
        shape = _size(size, ndim, rows, "multinomial")
        return self._random_variable(
            lambda k, c: raw_random.multinomial(k, c, shape, n, pvals, dtype), "multinomial"
        )


def _size(size: Any, ndim: int | None, params: list[Any], where: str) -> list[raw_random.Entry]:
    variables = [raw_random._sym(p) for p in params]
    return raw_random.normalize_size(size, ndim, variables, where)


def _rows(pvals: Any) -> list[Any]:
    """A stand-in of shape ``pvals.shape[:-1]`` (multinomial's default size)."""
    variable = raw_random._sym(pvals if isinstance(pvals, Var) else np.asarray(pvals))
    if variable.type.ndim < 1:
        raise ValueError(f"multinomial: pvals must be a vector, got {variable.type}")
    return [variable[(*([slice(None)] * (variable.type.ndim - 1)), 0)]]


def _float_dtype(dtype: str | None, where: str) -> str:
    name = config.floatX if dtype is None else str(np.dtype(dtype))
    if name not in ("float32", "float64"):
        raise TypeError(f"{where}: dtype must be float32 or float64, got {dtype!r}")
    return name


class RandomStreams(RandomStreamsBase):
    """Theano's ``RandomStreams(seed)``: each new random variable's state is seeded with
    ``seedgen.randint(2**30)``, ``seedgen = numpy.random.RandomState(seed)``.

    ``seed(n)`` reseeds every variable made so far, in creation order, from a new
    ``RandomState(n)`` (``n=None``: the constructor's seed), as Theano does; variables
    made later keep drawing their seeds from the constructor's generator.
    """

    def __init__(self, seed: int | None = None) -> None:
        super().__init__()
        self.default_instance_seed = seed
        self.gen_seedgen = np.random.RandomState(seed)

    def _new_state(self) -> np.ndarray:
        return PhiloxState.from_seed(int(self.gen_seedgen.randint(2**30)))

    def seed(self, seed: int | None = None) -> None:
        """Reseed every random variable this stream made (class docstring)."""
        if seed is None:
            seed = self.default_instance_seed
        seedgen = np.random.RandomState(seed)
        for rng, _ in self.state_updates:
            state = PhiloxState.from_seed(int(seedgen.randint(2**30)))
            rng.set_value(state, borrow=True)

    def gen_seed(self) -> int:
        """The next seed the stream would give a new variable (and consume it)."""
        return int(self.gen_seedgen.randint(2**30))


def substream_state(rstate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MRG streams' seeding: a new variable's state (key from block ``substream`` of the
    stream keyed by ``rstate``'s key, counter 0) and the next ``rstate`` (substream + 1)."""
    key, substream = rstate[0:2], int(rstate[2]) | (int(rstate[3]) << 32)
    block = np.array([[substream & WORD_MASK, substream >> 32, 0, 0]], dtype=np.uint32)
    words = philox4x32_10(block, key)[0]
    state = np.array([words[0], words[1], 0, 0], dtype=np.uint32)
    following = (substream + 1) % 2**64
    advanced = np.array([key[0], key[1], following & WORD_MASK, following >> 32], np.uint32)
    return state, advanced
