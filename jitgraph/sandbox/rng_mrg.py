"""Theano's ``MRG_RandomStreams`` (``theano.sandbox.rng_mrg``), on the Philox generator.

The API is ``RandomStreams``'s (jitgraph.tensor.shared_randomstreams: uniform, normal,
binomial, random_integers, integers, choice, permutation, multinomial; ``rv.rng``,
``state_updates``, ``seed``), plus ``rstate``: the stream's own state, a uint32 array of 4
words (key0, key1, substream lo, substream hi) from which each new random variable's state
is made (its key from substream ``s``, then ``s + 1``). Setting ``rstate`` (e.g. copying
another stream's, as the seed documents' ``copy_random_state`` does) makes the variables
created afterwards draw what the other stream's would. Theano's MRG31k3p numbers are not
reproduced (the generator is Philox4x32-10), nor its ``nstreams`` argument (Philox needs
no per-thread streams).

>>> import jitgraph
>>> a, b = MRG_RandomStreams(7), MRG_RandomStreams(8)
>>> b.rstate = a.rstate
>>> fa, fb = jitgraph.function([], a.uniform((3,))), jitgraph.function([], b.uniform((3,)))
>>> bool((fa() == fb()).all())
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jitgraph.tensor.shared_randomstreams import (
    PhiloxState,
    RandomStreamsBase,
    seed_key,
    state_words,
    substream_state,
)

__all__ = ["MRG_RandomStreams"]


class MRG_RandomStreams(RandomStreamsBase):  # noqa: N801 - Theano's name
    """Random streams seeded from ``rstate`` (module docstring); ``seed`` is an int >= 0
    (default 12345, Theano's)."""

    def __init__(self, seed: int = 12345) -> None:
        super().__init__()
        self.default_instance_seed = seed
        self._rstate = _initial_rstate(seed)

    @property
    def rstate(self) -> np.ndarray:
        """The stream's state: 4 uint32 words (module docstring). Assigning copies."""
        return self._rstate

    @rstate.setter
    def rstate(self, value: Any) -> None:
        self._rstate = state_words(value, "MRG_RandomStreams.rstate").copy()

    def set_rstate(self, seed: Any) -> None:
        """Reset ``rstate`` from an int seed, or set it to 4 uint32 words."""
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            self._rstate = _initial_rstate(int(seed))
        else:
            self.rstate = seed

    def _new_state(self) -> np.ndarray:
        state, self._rstate = substream_state(self._rstate)
        return state.view(PhiloxState)

    def seed(self, seed: int | None = None) -> None:
        """Reset ``rstate`` from ``seed`` (None: the constructor's) and reseed every
        variable made so far, in creation order, as if made anew (Theano's MRG seed)."""
        self.set_rstate(self.default_instance_seed if seed is None else seed)
        for rng, _ in self.state_updates:
            rng.set_value(self._new_state(), borrow=True)


def _initial_rstate(seed: int) -> np.ndarray:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"MRG_RandomStreams: seed must be an int >= 0, got {seed!r}")
    key = seed_key(int(seed))
    return np.array([key[0], key[1], 0, 0], dtype=np.uint32)
