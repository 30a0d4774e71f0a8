"""``jnp.random``: NumPy's ``Generator`` interface (and the legacy module functions) on
jitgraph's counter-based Philox4x32-10 stream.

A :class:`Generator` holds a Philox key (from the seed, mixed by NumPy's SeedSequence) and
a block counter, as Python state. Each draw is a lazy graph node reading the key and the
counter as leaf values, so it fuses with what follows and the compiled program is reused
for the next draw of the same shape; the counter advances at once by the blocks the draw
consumes, so successive draws never share bits and the values do not depend on when (or
whether) earlier draws are evaluated.

Differences from NumPy: the values differ (another bit generator and other transforms:
Box-Muller normals, inverse-CDF discrete draws; see jitgraph.tensor.raw_random); a draw
without ``size`` returns a 0-d array, not a Python or NumPy scalar; ``integers`` accepts
ranges up to 2**32 only; ``binomial`` needs a scalar ``n`` and does O(n) work per value.
Under ``@jit`` a draw raises ``TracerError``: it would be made once, when the function is
traced, and every call would return the same numbers. Draw outside and pass the values in,
or use ``jitgraph.tensor.shared_randomstreams.RandomStreams`` with ``jitgraph.function``.
A draw runs on the device of its array parameters ('cuda' ones: Philox on the GPU, the
same numbers as on the host), else on the host; ``x.to_device('cuda')`` moves a draw.

>>> import jitgraph.numpy as jnp
>>> rng = jnp.random.default_rng(42)
>>> x = rng.normal(size=(2, 3))
>>> x.shape, x.dtype
((2, 3), dtype('float64'))
>>> bool((jnp.random.default_rng(42).normal(size=(2, 3)) == x).all())
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import jitgraph.tensor as _tensor_module
from jitgraph.ir.graph import Var
from jitgraph.numpy import _core
from jitgraph.ops.random import DISTRIBUTIONS, PhiloxBits, draw_uniform
from jitgraph.tensor import raw_random
from jitgraph.tensor.shared_randomstreams import seed_key

__all__ = [
    "Generator",
    "binomial",
    "choice",
    "default_rng",
    "exponential",
    "normal",
    "permutation",
    "rand",
    "randint",
    "randn",
    "random",
    "random_sample",
    "seed",
    "shuffle",
    "standard_normal",
    "uniform",
]

T: Any = _tensor_module
Build = Callable[[Var, Var, list[int]], tuple[Var, Var]]
# integers draws a float64 uniform per value: wider ranges would show its bias.
MAX_RANGE = raw_random.MAX_EXACT_RANGE


# ----------------------------------------------------------------------------- helpers
def _known(x: Any) -> np.ndarray | None:
    """The host value of ``x`` when it is known without computing anything, else None
    (a 'cuda' parameter is copied to the host to be checked)."""
    if isinstance(x, _core.ndarray):
        return None if x._value is None else _core.concrete(x, "a distribution parameter")
    return np.asarray(x)


def _param(x: Any, dtype: str = "float64") -> Var:
    """A distribution parameter as a Var of ``dtype`` (concrete values become leaves, so
    new parameter values reuse the compiled draw)."""
    if isinstance(x, _core.ndarray):
        var = x._variable
        return var if var.type.dtype == dtype else T.cast(var, dtype)
    value = np.asarray(x)
    if value.dtype == object or value.dtype.kind not in "biuf":
        raise TypeError(f"a distribution parameter must be real numbers, got {x!r:.60}")
    return _core.as_var(value.astype(dtype))  # host data: the draw runs on any device


def _static_shape(var: Var, where: str) -> tuple[int, ...]:
    shape: tuple[Any, ...] = var.type.shape
    if None in shape:
        raise NotImplementedError(
            f"{where}: a parameter's shape is known only at run time; pass size= explicitly"
        )
    return tuple(int(d) for d in shape)


def _size(size: Any, params: list[Var], where: str) -> list[int]:
    """The output shape: ``size`` (checked against the parameters' shapes) or, when
    None, the parameters' broadcast shape."""
    shapes = [_static_shape(p, where) for p in params]
    try:
        broadcast = np.broadcast_shapes(*shapes) if shapes else ()
    except ValueError:
        raise ValueError(
            f"{where}: the parameters' shapes {shapes} cannot be broadcast together"
        ) from None
    if size is None:
        return list(broadcast)
    entries = _core.shape_entries(size, "size")
    if any(isinstance(e, Var) for e in entries):
        raise NotImplementedError(f"{where}: size must be made of Python ints (got a traced size)")
    try:
        if np.broadcast_shapes(tuple(entries), broadcast) != tuple(entries):
            raise ValueError
    except ValueError:
        raise ValueError(
            f"{where}: shape mismatch: parameters of shape {broadcast} cannot be broadcast to "
            f"size {tuple(entries)}"
        ) from None
    return [int(e) for e in entries]


def _blocks_used(values: Var, counter: Var) -> int:
    """The Philox blocks the draw behind ``values`` consumed (its static size)."""
    blocks = 0
    stack, seen = [values], set()
    while stack:
        var = stack.pop()
        node = var.owner
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node.op, PhiloxBits) and node.inputs[1] is counter:
            shape: tuple[Any, ...] = node.outputs[0].type.shape
            assert None not in shape, "random draws have static shapes"
            words = int(np.prod(shape, dtype=np.int64)) * DISTRIBUTIONS[node.op.distribution].words
            blocks += -(-words // 4)
        stack.extend(node.inputs)
    return blocks


def _check_dtype(dtype: Any, allowed: tuple[str, ...], where: str) -> np.dtype[Any]:
    want = np.dtype(dtype)
    if want.name not in allowed:
        raise TypeError(f"{where}: unsupported dtype {want} (one of {', '.join(allowed)})")
    return want


# ----------------------------------------------------------------------------- the generator
class Generator:
    """NumPy's ``numpy.random.Generator`` methods, drawing lazily from a Philox stream.
    Make one with :func:`default_rng`."""

    def __init__(self, seed: Any = None) -> None:
        self._key: np.ndarray = np.zeros(2, dtype=np.uint32)
        self._counter = 0
        self._reseed(seed)

    def _reseed(self, seed: Any) -> None:
        if isinstance(seed, np.random.SeedSequence):
            self._key = seed.generate_state(2, np.uint32)
        else:
            self._key = seed_key(seed)
        self._counter = 0

    def __repr__(self) -> str:
        return f"Generator(Philox4x32-10, key={self._key.tolist()}, counter={self._counter})"

    def _draw(self, build: Build, shape: list[int]) -> _core.ndarray:
        """Run ``build(key, counter, shape)`` on this stream and advance the counter."""
        if _core.is_tracing():
            raise _core.TracerError(
                "jnp.random draws inside @jit would be made once, at trace time, and frozen "
                "into the compiled function (every call would return the same numbers). Draw "
                "outside the function and pass the values in as arguments"
            )
        # Host data (not committed arrays): the draw runs where its parameters live.
        words = [_core.as_var(np.asarray(k, dtype=np.uint32)) for k in self._key]
        key = T.stack(*words)
        counter = _core.as_var(np.asarray(self._counter, dtype=np.uint64))
        values, _ = build(key, counter, shape)
        self._counter = (self._counter + _blocks_used(values, counter)) % 2**64
        return _core.wrap(values)

    # ---- continuous
    def random(self, size: Any = None, dtype: Any = np.float64) -> _core.ndarray:
        """Uniform floats in [0, 1) (float64 or float32)."""
        want = _check_dtype(dtype, ("float32", "float64"), "random")
        shape = _size(size, [], "random")
        return self._draw(lambda k, c, s: draw_uniform(k, c, tuple(s), want.name), shape)

    def uniform(self, low: Any = 0.0, high: Any = 1.0, size: Any = None) -> _core.ndarray:
        """Uniform float64 in [low, high)."""
        lo, hi = _param(low), _param(high)
        shape = _size(size, [lo, hi], "uniform")
        return self._draw(lambda k, c, s: raw_random.uniform(k, c, s, lo, hi, "float64"), shape)

    def standard_normal(self, size: Any = None, dtype: Any = np.float64) -> _core.ndarray:
        """Normal(0, 1) floats (float64 or float32)."""
        want = _check_dtype(dtype, ("float32", "float64"), "standard_normal")
        shape = _size(size, [], "standard_normal")
        return self._draw(lambda k, c, s: raw_random.normal(k, c, s, 0.0, 1.0, want.name), shape)

    def normal(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None) -> _core.ndarray:
        """Normal(loc, scale) float64."""
        _check_nonnegative(scale, "normal", "scale")
        mean, std = _param(loc), _param(scale)
        shape = _size(size, [mean, std], "normal")
        return self._draw(lambda k, c, s: raw_random.normal(k, c, s, mean, std, "float64"), shape)

    def exponential(self, scale: Any = 1.0, size: Any = None) -> _core.ndarray:
        """Exponential float64 of mean ``scale``: ``-scale * log(1 - u)``."""
        _check_nonnegative(scale, "exponential", "scale")
        beta = _param(scale)
        shape = _size(size, [beta], "exponential")

        def build(key: Var, counter: Var, s: list[int]) -> tuple[Var, Var]:
            u, blocks = draw_uniform(key, counter, tuple(s), "float64")
            return T.neg(T.log1p(T.neg(u))) * beta, blocks

        return self._draw(build, shape)

    # ---- discrete
    def integers(
        self,
        low: Any,
        high: Any = None,
        size: Any = None,
        dtype: Any = np.int64,
        endpoint: bool = False,
    ) -> _core.ndarray:
        """Integers in [low, high) (or [low, high] with ``endpoint``); ``high=None``
        draws from [0, low)."""
        want = np.dtype(dtype)
        if want.kind not in "biu":
            raise TypeError(f"integers: unsupported dtype {want} (an integer or bool dtype)")
        if high is None:
            low, high = 0, low
        _check_integer_range(low, high, endpoint, want)
        lo = _param(low, "int64")
        hi: Any = _param(high, "int64")
        if endpoint:
            hi = hi + np.int64(1)
        shape = _size(size, [lo, hi], "integers")
        return self._draw(lambda k, c, s: raw_random.integers(k, c, s, lo, hi, want.name), shape)

    def binomial(self, n: Any, p: Any, size: Any = None) -> _core.ndarray:
        """Binomial(n, p) counts (int64); ``n`` is an int >= 0."""
        count = _known(n)
        if count is None or count.ndim or count.dtype.kind not in "iu" or int(count) < 0:
            raise NotImplementedError(
                f"binomial: n must be a non-negative Python int (a scalar), got {n!r:.60}"
            )
        _check_probability(p, "binomial")
        prob = _param(p)
        shape = _size(size, [prob], "binomial")
        number = int(count)
        return self._draw(
            lambda k, c, s: raw_random.binomial(k, c, s, number, prob, "int64"), shape
        )

    def choice(
        self,
        a: Any,
        size: Any = None,
        replace: bool = True,
        p: Any = None,
        axis: int = 0,
        shuffle: bool = True,
    ) -> _core.ndarray:
        """Samples of ``range(a)`` (an int) or of ``a``'s entries along ``axis``, with or
        without replacement, uniform or with probabilities ``p``."""
        population, n = _population(a, axis)
        shape = _size(size, [], "choice")
        count = int(np.prod(shape, dtype=np.int64))
        if n == 0 and count:
            raise ValueError("choice: a cannot be empty unless no samples are taken")
        if not replace and count > n:
            raise ValueError(
                f"choice: cannot take a larger sample ({count}) than the population ({n}) "
                "when replace=False"
            )
        weights = None if p is None else _probabilities(p, n, count, replace)

        def build(key: Var, counter: Var, s: list[int]) -> tuple[Var, Var]:
            return raw_random.choice(key, counter, s, n, replace, weights, "int64")

        index = self._draw(build, shape)
        if population is None:
            return index
        return _core.wrap(T.take(population, index._variable, axis=axis))

    def permutation(self, x: Any, axis: int = 0) -> _core.ndarray:
        """A permuted ``range(x)`` (an int), or a copy of ``x`` shuffled along ``axis``."""
        population, n = _population(x, axis, what="permutation")

        def build(key: Var, counter: Var, s: list[int]) -> tuple[Var, Var]:
            return raw_random.permutation(key, counter, s, n, "int64")

        order = self._draw(build, [])
        if population is None:
            return order
        return _core.wrap(T.take(population, order._variable, axis=axis))

    def shuffle(self, x: Any, axis: int = 0) -> None:
        """Shuffle ``x`` along ``axis`` in place (a jnp array is rebound, a NumPy array
        or a list written)."""
        if isinstance(x, _core.ndarray):
            x._rebind(self.permutation(x, axis), "shuffle")
        elif isinstance(x, np.ndarray):
            x[...] = np.asarray(self.permutation(x, axis))
        elif isinstance(x, list):
            order = np.asarray(self.permutation(len(x))).tolist()
            x[:] = [x[i] for i in order]
        else:
            raise TypeError(f"shuffle: x must be an array or a list, got {type(x).__name__}")


def _check_nonnegative(value: Any, where: str, name: str) -> None:
    known = _known(value)
    if known is not None and known.dtype.kind in "biuf" and np.any(known < 0):
        raise ValueError(f"{where}: {name} < 0")


def _check_probability(value: Any, where: str) -> None:
    known = _known(value)
    if known is not None and known.dtype.kind in "biuf":
        if np.any(known < 0) or np.any(known > 1) or np.any(np.isnan(known)):
            raise ValueError(f"{where}: p < 0, p > 1 or p is NaN")


def _check_integer_range(low: Any, high: Any, endpoint: bool, dtype: np.dtype[Any]) -> None:
    lo, hi = _known(low), _known(high)
    for name, value in (("low", lo), ("high", hi)):
        if value is not None and value.dtype.kind not in "biu":
            raise TypeError(f"integers: {name} must be integers, got {value.tolist()!r:.60}")
    if lo is None or hi is None:
        return
    lo_obj, hi_obj = lo.astype(object), hi.astype(object)
    last = hi_obj if endpoint else hi_obj - 1
    bounds = (0, 1) if dtype.kind == "b" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
    if np.any(lo_obj < bounds[0]):
        raise ValueError(f"integers: low is out of bounds for {dtype}")
    if np.any(last > bounds[1]):
        raise ValueError(f"integers: high is out of bounds for {dtype}")
    if np.any(last < lo_obj):
        raise ValueError("integers: low > high" if endpoint else "integers: low >= high")
    if np.any(last - lo_obj + 1 > MAX_RANGE):
        raise ValueError(
            f"integers: ranges wider than 2**32 are not supported (jitgraph's integers maps "
            f"one 53-bit uniform per value), got [{lo.min()}, {hi.max()})"
        )


def _population(a: Any, axis: int, what: str = "choice") -> tuple[Var | None, int]:
    """``a`` as (None, n) for an int n, or (its Var, its length along ``axis``)."""
    if isinstance(a, (int, np.integer)) and not isinstance(a, bool):
        if a < 0 or (what == "choice" and a == 0):
            raise ValueError(f"{what}: a must be a positive integer unless no samples are taken")
        return None, int(a)
    var = _core.as_var(a)
    if var.type.ndim == 0:
        if var.type.dtype[0] in "iu":
            return _population(int(_core.concrete(_core.wrap(var), what)), axis, what)
        raise ValueError(f"{what}: a must be an int or an array of at least 1 dimension")
    position = _core.normalize_axis(axis, var.type.ndim, f"{what}: axis")[0]  # type: ignore[index]
    length = var.type.shape[position]
    if length is None:
        raise NotImplementedError(f"{what}: the length of a is known only at run time")
    return var, int(length)


def _probabilities(p: Any, n: int, count: int, replace: bool) -> Var:
    known = _known(p)
    if known is not None:
        if known.ndim != 1:
            raise ValueError("choice: p must be 1-dimensional")
        if known.shape[0] != n:
            raise ValueError(f"choice: a and p must have the same size ({n} and {known.shape[0]})")
        if np.any(known < 0) or np.any(np.isnan(known)):
            raise ValueError("choice: probabilities are not non-negative")
        if abs(float(np.sum(known)) - 1) > np.sqrt(np.finfo(np.float64).eps):
            raise ValueError("choice: probabilities do not sum to 1")
        if not replace and int(np.count_nonzero(known)) < count:
            raise ValueError("choice: fewer non-zero entries in p than size")
    return _param(p)


def default_rng(seed: Any = None) -> Generator:
    """A :class:`Generator` seeded with ``seed`` (an int >= 0, a sequence of them, a
    ``numpy.random.SeedSequence``, None for fresh entropy, or a Generator: returned as is).

    >>> import jitgraph.numpy as jnp
    >>> jnp.random.default_rng(0).integers(10, size=3).shape
    (3,)
    """
    if isinstance(seed, Generator):
        return seed
    if isinstance(seed, np.random.Generator):
        raise TypeError(
            "default_rng: a numpy.random.Generator cannot seed a jitgraph generator; pass an "
            "int seed"
        )
    return Generator(seed)


# ----------------------------------------------------------------------------- legacy functions
_global = Generator()


def seed(seed: Any = None) -> None:
    """Reseed the generator behind the module-level functions (``numpy.random.seed``)."""
    _global._reseed(seed)


def rand(*dims: int) -> _core.ndarray:
    """Uniform [0, 1) float64 of shape ``dims``."""
    return _global.random(dims)


def randn(*dims: int) -> _core.ndarray:
    """Standard normal float64 of shape ``dims``."""
    return _global.standard_normal(dims)


def random(size: Any = None) -> _core.ndarray:
    """Uniform [0, 1) float64 of shape ``size``."""
    return _global.random(size)


random_sample = random


def uniform(low: Any = 0.0, high: Any = 1.0, size: Any = None) -> _core.ndarray:
    return _global.uniform(low, high, size)


def normal(loc: Any = 0.0, scale: Any = 1.0, size: Any = None) -> _core.ndarray:
    return _global.normal(loc, scale, size)


def standard_normal(size: Any = None) -> _core.ndarray:
    return _global.standard_normal(size)


def exponential(scale: Any = 1.0, size: Any = None) -> _core.ndarray:
    return _global.exponential(scale, size)


def binomial(n: Any, p: Any, size: Any = None) -> _core.ndarray:
    return _global.binomial(n, p, size)


def randint(low: Any, high: Any = None, size: Any = None, dtype: Any = int) -> _core.ndarray:
    """Integers in [low, high) (``numpy.random.randint``; ``high=None``: [0, low))."""
    return _global.integers(low, high, size, dtype=dtype)


def choice(a: Any, size: Any = None, replace: bool = True, p: Any = None) -> _core.ndarray:
    return _global.choice(a, size, replace, p)


def permutation(x: Any) -> _core.ndarray:
    return _global.permutation(x)


def shuffle(x: Any) -> None:
    _global.shuffle(x)
