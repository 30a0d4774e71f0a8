"""Counter-based random bits: Philox4x32-10 (Salmon et al., SC'11; Random123).

``PhiloxBits()(key, counter, shape)`` is a uint32 array of ``shape`` whose flat (C-order)
element ``i`` is word ``i % 4`` of Philox4x32-10 applied to the key ``(k0, k1)`` and the
128-bit counter block

    (c0, c1, c2, c3) = (lo32(b), hi32(b), 0, 0)  with  b = (counter + i // 4) mod 2**64.

The block number ``b`` is a 64-bit unsigned sum: ``c0`` carries into ``c1`` (counter
``2**32 - 1`` is followed by ``(0, 1, 0, 0)``), and past ``2**64 - 1`` it wraps to 0
(nothing carries into ``c2``/``c3``; those words stay 0, reserved). A draw of ``n``
elements consumes ``blocks_consumed(n) = ceil(n / 4)`` blocks; the next draw of a stream
starts at ``counter + blocks_consumed(n)`` (mod 2**64), so no block is used twice.

Every element is a pure function of (key, counter, i): the bits do not depend on how a
backend splits the work, and the reference (NumPy, ``perform``) and the LLVM backend
(jitgraph.backends.llvm.random) give identical bits.

>>> import numpy as np
>>> key = np.zeros(2, dtype=np.uint32)
>>> [hex(w) for w in philox_words(key, 0, 0, 4)]
['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph.ir.graph import Const, Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import DISCONNECTED, GradTerm, Op
from jitgraph.ops.joining import Join
from jitgraph.ops.shape import (
    DimShuffle,
    as_int_vector,
    int64_constant,
    label,
    static_int,
    vector_entry,
)

__all__ = [
    "DISTRIBUTIONS",
    "PhiloxBits",
    "blocks_consumed",
    "draw_uniform",
    "philox4x32_10",
    "philox_values",
    "philox_words",
    "words_to_values",
]

# The Philox4x32 multipliers and Weyl key increments (Random123's PHILOX_M4x32_*, W32_*).
PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85
ROUNDS = 10
WORD_MASK = 0xFFFFFFFF


def philox4x32_10(counters: np.ndarray, key: Sequence[int] | np.ndarray) -> np.ndarray:
    """Philox4x32-10 of each row of ``counters`` ((n, 4) words) under ``key`` (2 words):
    an (n, 4) uint32 array. Vectorized over the rows; the 32x32 -> 64-bit products are
    uint64 (exact: both factors are below 2**32).

    >>> ones = np.full((1, 4), 0xFFFFFFFF, dtype=np.uint32)
    >>> [hex(w) for w in philox4x32_10(ones, [0xFFFFFFFF, 0xFFFFFFFF])[0]]
    ['0x408f276d', '0x41c83b0e', '0xa20bc7c6', '0x6d5451fd']
    """
    words = np.asarray(counters, dtype=np.uint64).reshape(-1, 4)
    c0, c1, c2, c3 = (words[:, j] for j in range(4))
    k0, k1 = int(key[0]) & WORD_MASK, int(key[1]) & WORD_MASK
    m0, m1, shift, mask = (np.uint64(v) for v in (PHILOX_M0, PHILOX_M1, 32, WORD_MASK))
    for round_index in range(ROUNDS):
        if round_index:  # the key is bumped between rounds (9 times for 10 rounds)
            k0 = (k0 + PHILOX_W0) & WORD_MASK
            k1 = (k1 + PHILOX_W1) & WORD_MASK
        product0 = c0 * m0
        product1 = c2 * m1
        c0, c1, c2, c3 = (
            (product1 >> shift) ^ c1 ^ np.uint64(k0),
            product1 & mask,
            (product0 >> shift) ^ c3 ^ np.uint64(k1),
            product0 & mask,
        )
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


def philox_words(key: np.ndarray, counter: int, start: int, stop: int) -> np.ndarray:
    """Flat elements ``start <= i < stop`` of the stream at ``counter`` (module
    docstring): a uint32 vector of ``stop - start`` words."""
    if stop <= start:
        return np.zeros(0, dtype=np.uint32)
    first, end = start // 4, -(-stop // 4)
    numbers = np.arange(first, end, dtype=np.uint64) + np.uint64(int(counter) % 2**64)
    blocks = np.zeros((end - first, 4), dtype=np.uint64)
    blocks[:, 0] = numbers & np.uint64(WORD_MASK)
    blocks[:, 1] = numbers >> np.uint64(32)
    words = philox4x32_10(blocks, key).reshape(-1)
    return words[start - 4 * first : stop - 4 * first]


@dataclasses.dataclass(frozen=True)
class Distribution:
    """How a draw turns Philox words into values: ``words`` consecutive words per element,
    giving values of ``dtype``."""

    dtype: str
    words: int


# "bits": the words themselves. "uniform32": (w >> 8) * 2**-24 from element i's word i.
# "uniform64": ((w0 >> 5) * 2**26 + (w1 >> 6)) * 2**-53 from words 2i, 2i + 1 (NumPy's
# 53-bit formula). Both uniforms are exact: every value is a multiple of the step in [0, 1).
DISTRIBUTIONS: dict[str, Distribution] = {
    "bits": Distribution("uint32", 1),
    "uniform32": Distribution("float32", 1),
    "uniform64": Distribution("float64", 2),
}
UNIFORM_DISTRIBUTIONS = {"float32": "uniform32", "float64": "uniform64"}


def words_to_values(words: np.ndarray, distribution: str) -> np.ndarray:
    """The values of ``distribution`` made from a flat uint32 vector of whole elements'
    words (the NumPy reference of the native conversion)."""
    if distribution == "bits":
        return words
    if distribution == "uniform32":
        return (words >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-24)
    if distribution == "uniform64":
        pairs = words.reshape(-1, 2)
        high = (pairs[:, 0] >> np.uint32(5)).astype(np.float64)
        low = (pairs[:, 1] >> np.uint32(6)).astype(np.float64)
        return (high * 2.0**26 + low) * 2.0**-53
    raise ValueError(f"unknown random distribution {distribution!r}")


def philox_values(
    key: np.ndarray, counter: int, start: int, stop: int, distribution: str = "bits"
) -> np.ndarray:
    """Flat elements ``start <= i < stop`` of a ``distribution`` draw at ``counter``: a
    vector of ``stop - start`` values (element i uses words ``w * i ... w * i + w - 1``,
    ``w`` the distribution's words per element)."""
    width = DISTRIBUTIONS[distribution].words
    words = philox_words(key, counter, width * start, width * max(start, stop))
    return words_to_values(words, distribution)


def blocks_consumed(size: Any) -> Any:
    """Counter blocks a draw of ``size`` elements uses: ``ceil(size / 4)``. ``size`` is an
    int (gives an int) or an integer scalar variable (gives a uint64 scalar variable, for
    the state update ``counter + blocks_consumed(size)``, which wraps mod 2**64).

    >>> blocks_consumed(0), blocks_consumed(5), blocks_consumed(8)
    (0, 2, 2)
    """
    if isinstance(size, (int, np.integer)):
        return -(-int(size) // 4)
    from jitgraph.tensor.basic import elemwise
    from jitgraph.tensor.math import cast

    rounded_up = elemwise("add", cast(size, "int64"), 3)
    return cast(elemwise("floor_divide", rounded_up, 4), "uint64")


def output_shape(shape: np.ndarray) -> tuple[int, ...]:
    """The output shape a run-time ``shape`` value asks for; ValueError if negative."""
    dims = tuple(int(n) for n in shape)
    if any(n < 0 for n in dims):
        raise ValueError(f"random bits: negative size in the requested shape {dims}")
    return dims


@dataclasses.dataclass(frozen=True)
class PhiloxBits(Op):
    """uint32 Philox4x32-10 bits of a given shape (module docstring).

    Inputs: ``key`` (uint32 vector of static length 2), ``counter`` (uint64 scalar: the
    first block's number) and ``shape`` (int64 vector of static length: the output's ndim;
    its entries may be symbolic). A draw has no gradient and is never constant-folded.

    >>> import jitgraph.tensor as T
    >>> key = T.constant(np.array([1, 2], dtype=np.uint32))
    >>> PhiloxBits()(key, T.constant(np.uint64(0)), (3, T.lscalar("n"))).type
    TensorType(uint32, (3, ?))
    """

    distribution: str = "bits"

    def __post_init__(self) -> None:
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"random bits: unknown distribution {self.distribution!r} "
                f"(one of {', '.join(sorted(DISTRIBUTIONS))})"
            )

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        if len(inputs) != 3:
            raise TypeError(f"PhiloxBits takes (key, counter, shape), got {len(inputs)} inputs")
        key = as_tensor_variable(inputs[0])
        counter = as_tensor_variable(inputs[1])
        if key.type.dtype != "uint32" or key.type.shape != (2,):
            raise TypeError(
                f"random bits: the key must be a uint32 vector of 2 words, got {label(key)} "
                f"({key.type.describe()})"
            )
        if counter.type.dtype != "uint64" or counter.type.ndim != 0:
            raise TypeError(
                f"random bits: the counter must be a uint64 scalar, got {label(counter)} "
                f"({counter.type.describe()})"
            )
        shape_input = inputs[2]
        if isinstance(shape_input, (tuple, list)) and not shape_input:
            shape_input = np.zeros(0, dtype=np.int64)  # () would become a float vector
        shape = as_int_vector(shape_input, "random bits: shape")
        if shape.type.shape[0] is None:
            raise ValueError(
                f"random bits: the length of the shape {label(shape)} (the output's ndim) "
                "must be known when the graph is built"
            )
        out = TensorType(DISTRIBUTIONS[self.distribution].dtype, _static_dims(shape))
        return self.make_apply([key, counter, shape], [out])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        key, counter, shape = inputs
        dims = output_shape(shape)
        size = int(np.prod(dims, dtype=np.int64))
        return [philox_values(key, int(counter), 0, size, self.distribution).reshape(dims)]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        shape = node.inputs[2]
        dims = node.outputs[0].type.shape
        return [
            tuple(
                int64_constant(n) if n is not None else vector_entry(shape, axis)
                for axis, n in enumerate(dims)
            )
        ]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        return [DISCONNECTED, DISCONNECTED, DISCONNECTED]

    def do_constant_folding(self, node: Node) -> bool:
        return False  # a random draw happens at run time, every time

    def short_description(self) -> str:
        if self.distribution == "bits":
            return "philox bits"
        return f"philox {self.distribution}"


def _static_dims(shape: Var) -> tuple[int | None, ...]:
    """The output's static shape: a constant shape's values, or the known entries of a
    shape stacked from scalars (``(3, n)``); None where unknown."""
    length = shape.type.shape[0]
    assert length is not None
    if isinstance(shape, Const):
        return output_shape(shape.data)
    dims: list[int | None] = [None] * length
    node = shape.owner
    if node is not None and isinstance(node.op, Join) and len(node.inputs) == length:
        for axis, piece in enumerate(node.inputs):
            scalar = _stacked_scalar(piece)
            value = None if scalar is None else static_int(scalar)
            if value is not None and value < 0:
                raise ValueError(f"random bits: shape[{axis}] is {value}; sizes must be >= 0")
            dims[axis] = value
    return tuple(dims)


def _stacked_scalar(piece: Var) -> Var | None:
    """The scalar a one-element vector was made from by ``stack`` (a DimShuffle), or None."""
    node = piece.owner
    if node is None or not isinstance(node.op, DimShuffle) or node.inputs[0].type.ndim != 0:
        return None
    return node.inputs[0]


def draw_uniform(key: Var, counter: Var, shape: Any, dtype: str) -> tuple[Var, Var]:
    """Uniform values in [0, 1) of ``dtype`` (float32 or float64) and ``shape`` drawn from
    the stream (key, counter), in one pass (``PhiloxBits(distribution=...)``), and the
    number of 128-bit blocks the draw consumes (a uint64 scalar: the next draw's counter is
    ``counter + blocks``, mod 2**64).

    float32 element i is ``(w_i >> 8) * 2**-24``; float64 element i is NumPy's 53-bit
    ``((w_2i >> 5) * 2**26 + (w_2i+1 >> 6)) * 2**-53``, so a float64 draw of n elements
    consumes ``ceil(2 n / 4)`` blocks and a float32 one ``ceil(n / 4)``. ``shape`` is
    anything ``PhiloxBits`` takes (a tuple of ints and integer scalars, an int vector of
    static length).

    >>> import jitgraph.tensor as T
    >>> key = T.constant(np.array([1, 2], dtype=np.uint32))
    >>> values, blocks = draw_uniform(key, T.constant(np.uint64(0)), (3, 5), "float64")
    >>> values.type, blocks.type
    (TensorType(float64, (3, 5)), TensorType(uint64, scalar))
    """
    from jitgraph.tensor.basic import elemwise

    dtype = str(np.dtype(dtype)) if dtype is not None else ""
    if dtype not in UNIFORM_DISTRIBUTIONS:
        raise TypeError(f"draw_uniform: dtype must be float32 or float64, got {dtype!r}")
    distribution = UNIFORM_DISTRIBUTIONS[dtype]
    values = PhiloxBits(distribution)(key, counter, shape)
    size = _element_count(as_int_vector(values.owner.inputs[2], "random bits: shape"))
    words = elemwise("multiply", size, int64_constant(DISTRIBUTIONS[distribution].words))
    return values, blocks_consumed(words)


def _element_count(shape: Var) -> Var:
    """The product of an int64 shape vector of static length (1 for an empty shape), as an
    int64 scalar (a constant when the shape is)."""
    from jitgraph.tensor.basic import elemwise

    length = shape.type.shape[0]
    assert length is not None
    if isinstance(shape, Const):
        return int64_constant(int(np.prod(shape.data, dtype=np.int64)))
    count = int64_constant(1)
    for axis in range(length):
        count = elemwise("multiply", count, vector_entry(shape, axis))
    return count
