"""PhiloxBits and its NumPy reference (jitgraph.ops.random): Random123's known answers,
the counter layout, the op's types, shapes, gradient and folding rules."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import jitgraph
import jitgraph.tensor as T
from jitgraph.gradient import grad
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import DISCONNECTED
from jitgraph.ops.random import (
    PhiloxBits,
    blocks_consumed,
    draw_uniform,
    philox4x32_10,
    philox_values,
    philox_words,
    words_to_values,
)

# Random123 1.14, examples/kat_vectors, the "philox4x32 10" lines: counter (4 words),
# key (2 words), expected output (4 words).
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    (
        (0xFFFFFFFF,) * 4,
        (0xFFFFFFFF, 0xFFFFFFFF),
        (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
    ),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]

KEY = np.array([0xA4093822, 0x299F31D0], dtype=np.uint32)


def key_constant(key: np.ndarray = KEY) -> T.TensorVariable:
    return T.constant(np.asarray(key, dtype=np.uint32))


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_known_answers_of_random123(
    counter: tuple[int, ...], key: tuple[int, int], expected: tuple[int, ...]
) -> None:
    words = philox4x32_10(np.array([counter], dtype=np.uint32), key)
    assert words.dtype == np.uint32
    assert words[0].tolist() == list(expected)


def test_rows_are_independent_of_their_batch() -> None:
    counters = np.array([c for c, _, _ in KNOWN_ANSWERS], dtype=np.uint32)
    together = philox4x32_10(counters, KEY)
    for row, counter in zip(together, counters):
        assert row.tolist() == philox4x32_10(counter[None], KEY)[0].tolist()


def block(key: np.ndarray, c0: int, c1: int) -> list[int]:
    return philox4x32_10(np.array([[c0, c1, 0, 0]], dtype=np.uint32), key)[0].tolist()


def test_element_i_is_word_i_mod_4_of_block_counter_plus_i_div_4() -> None:
    words = philox_words(KEY, 7, 0, 10).tolist()
    assert words[:4] == block(KEY, 7, 0)
    assert words[4:8] == block(KEY, 8, 0)
    assert words[8:] == block(KEY, 9, 0)[:2]
    assert philox_words(KEY, 7, 5, 9).tolist() == words[5:9]


def test_the_low_word_carries_into_the_high_word() -> None:
    words = philox_words(KEY, 2**32 - 1, 0, 8).tolist()
    assert words[:4] == block(KEY, 0xFFFFFFFF, 0)
    assert words[4:] == block(KEY, 0, 1)


def test_the_block_number_wraps_past_2_to_the_64() -> None:
    words = philox_words(KEY, 2**64 - 1, 0, 12).tolist()
    assert words[:4] == block(KEY, 0xFFFFFFFF, 0xFFFFFFFF)
    assert words[4:8] == block(KEY, 0, 0)
    assert words[8:] == block(KEY, 1, 0)


def test_blocks_consumed_on_ints_and_variables() -> None:
    assert [blocks_consumed(n) for n in (0, 1, 3, 4, 5, 1000)] == [0, 1, 1, 1, 2, 250]
    n = T.lscalar("n")
    f = jitgraph.function([n], blocks_consumed(n), mode="REFERENCE")
    assert [int(f(v)) for v in (0, 1, 4, 5, 2**40 + 1)] == [0, 1, 1, 2, 2**38 + 1]
    assert f(5).dtype == np.uint64


def test_make_node_types_and_static_shapes() -> None:
    counter = T.constant(np.uint64(0))
    n = T.lscalar("n")
    assert PhiloxBits()(key_constant(), counter, (3, n)).type.shape == (3, None)
    assert PhiloxBits()(key_constant(), counter, np.array([2, 5])).type.shape == (2, 5)
    assert PhiloxBits()(key_constant(), counter, np.zeros(0, dtype=np.int64)).type.shape == ()
    vector = T.lvector("shape")
    with pytest.raises(ValueError, match="length of the shape"):
        PhiloxBits()(key_constant(), counter, vector)
    with pytest.raises(TypeError, match="key must be a uint32 vector of 2 words"):
        PhiloxBits()(T.constant(np.zeros(3, dtype=np.uint32)), counter, (2,))
    with pytest.raises(TypeError, match="counter must be a uint64 scalar"):
        PhiloxBits()(key_constant(), T.constant(np.int64(0)), (2,))
    with pytest.raises(ValueError, match="sizes must be >= 0"):
        PhiloxBits()(key_constant(), counter, (-1, n))


def test_reference_mode_symbolic_shape_and_infer_shape() -> None:
    key, counter = T.vector("key", dtype="uint32"), T.scalar("counter", dtype="uint64")
    key = T.specify_shape(key, (2,))
    n, m = T.lscalars("n", "m")
    bits = PhiloxBits()(key, counter, (n, m))
    f = jitgraph.function(
        [key.owner.inputs[0], counter, n, m], [bits, bits.shape], mode="REFERENCE"
    )
    value, shape = f(KEY, np.uint64(11), 3, 5)
    assert value.shape == (3, 5) and value.dtype == np.uint32
    assert value.ravel().tolist() == philox_words(KEY, 11, 0, 15).tolist()
    assert tuple(shape) == (3, 5)
    with pytest.raises(ValueError, match="negative size"):
        f(KEY, np.uint64(0), -1, 2)


def test_no_gradient_and_no_constant_folding() -> None:
    node = PhiloxBits()(key_constant(), T.constant(np.uint64(0)), (4,)).owner
    assert node.op.grad(node, [T.zeros((4,))]) == [DISCONNECTED] * 3
    assert node.op.do_constant_folding(node) is False
    x = T.dscalar("x")
    bits = PhiloxBits()(key_constant(), T.constant(np.uint64(0)), (4,))
    cost = T.sum(T.cast(bits, "float64")) * x
    f = jitgraph.function([x], grad(cost, x), mode="REFERENCE", on_unused_input="ignore")
    assert f(1.0) == float(philox_words(KEY, 0, 0, 4).astype(np.float64).sum())


def test_bits_look_uniform() -> None:
    words = philox_words(KEY, 0, 0, 10**6).astype(np.float64) / 2.0**32
    sigma = np.sqrt(1 / 12 / words.size)
    assert abs(words.mean() - 0.5) < 5 * sigma
    # each of the 32 bit positions is set about half the time
    bits = philox_words(KEY, 0, 0, 10**5)[:, None] >> np.arange(32, dtype=np.uint32) & 1
    assert np.all(np.abs(bits.mean(axis=0) - 0.5) < 5 * np.sqrt(0.25 / 10**5))


# ----------------------------------------------------------------------------- draw_uniform
def uniform_by_formula(key: np.ndarray, counter: int, size: int, dtype: str) -> np.ndarray:
    """The contract's formulas, written out on Python ints (independent of the op's code)."""
    if dtype == "float32":
        words = philox_words(key, counter, 0, size).tolist()
        return np.array([(w >> 8) * 2.0**-24 for w in words], dtype=np.float32)
    words = philox_words(key, counter, 0, 2 * size).tolist()
    pairs = zip(words[0::2], words[1::2])
    return np.array([((a >> 5) * 2**26 + (b >> 6)) * 2.0**-53 for a, b in pairs])


@functools.cache
def uniform_functions(dtype: str, ndim: int) -> tuple[jitgraph.compile.function.Function, ...]:
    """(FAST_RUN, REFERENCE) functions of (key, counter, *sizes) -> (values, blocks)."""
    key = TensorType("uint32", (2,))("key")
    counter = T.scalar("counter", dtype="uint64")
    sizes = [T.lscalar(f"n{axis}") for axis in range(ndim)]
    values, blocks = draw_uniform(key, counter, tuple(sizes), dtype)
    return tuple(
        jitgraph.function([key, counter, *sizes], [values, blocks], mode=mode)
        for mode in ("FAST_RUN", "REFERENCE")
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(), (0,), (1,), (7,), (4, 0), (3, 5), (2, 3, 11)])
def test_draw_uniform_values_shapes_and_blocks(dtype: str, shape: tuple[int, ...]) -> None:
    fast, reference = uniform_functions(dtype, len(shape))
    size = int(np.prod(shape, dtype=np.int64))
    words_per_value = 2 if dtype == "float64" else 1
    for counter in (0, 2**32 - 1, 2**64 - 2):
        results = [f(KEY, np.uint64(counter), *shape) for f in (fast, reference)]
        expected = uniform_by_formula(KEY, counter, size, dtype).reshape(shape)
        for values, blocks in results:
            assert values.dtype == np.dtype(dtype) and values.shape == shape
            np.testing.assert_array_equal(values, expected)
            assert np.all((values >= 0) & (values < 1))
            assert blocks.dtype == np.uint64 and blocks.shape == ()
            assert int(blocks) == -(-words_per_value * size // 4)


def test_draw_uniform_static_types_and_symbolic_shape_vector() -> None:
    counter = T.constant(np.uint64(3))
    values, blocks = draw_uniform(key_constant(), counter, (2, T.lscalar("n")), "float32")
    assert values.type == TensorType("float32", (2, None))
    assert blocks.type == TensorType("uint64", ())
    values, _ = draw_uniform(key_constant(), counter, (), np.float64)
    assert values.type == TensorType("float64", ())
    matrix = T.dmatrix("w")
    values, blocks = draw_uniform(key_constant(), counter, matrix.shape, "float64")
    f = jitgraph.function([matrix], [values, blocks], mode="REFERENCE")
    drawn, used = f(np.zeros((3, 4)))
    np.testing.assert_array_equal(drawn.ravel(), uniform_by_formula(KEY, 3, 12, "float64"))
    assert int(used) == 6
    with pytest.raises(TypeError, match="float32 or float64"):
        draw_uniform(key_constant(), counter, (2,), "int64")


def test_uniform_conversion_extremes() -> None:
    ones = np.full(4, 0xFFFFFFFF, dtype=np.uint32)
    zeros = np.zeros(4, dtype=np.uint32)
    assert words_to_values(ones, "uniform64").tolist() == [1 - 2.0**-53] * 2
    assert words_to_values(ones, "uniform32").tolist() == [1 - 2.0**-24] * 4
    assert words_to_values(zeros, "uniform64").tolist() == [0.0] * 2
    assert words_to_values(ones, "uniform32").dtype == np.float32
    with pytest.raises(ValueError, match="unknown distribution"):
        PhiloxBits("normal")


def test_philox_values_of_a_range_are_a_slice_of_the_whole_draw() -> None:
    whole = philox_values(KEY, 9, 0, 23, "uniform64")
    np.testing.assert_array_equal(philox_values(KEY, 9, 5, 17, "uniform64"), whole[5:17])
    whole = philox_values(KEY, 9, 0, 23, "uniform32")
    np.testing.assert_array_equal(philox_values(KEY, 9, 3, 13, "uniform32"), whole[3:13])
    assert philox_values(KEY, 9, 4, 4, "uniform64").size == 0
