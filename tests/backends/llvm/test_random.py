"""Native Philox bits (jitgraph.backends.llvm.random): bit-identical to the NumPy
reference for every size, shape, key and counter, whatever the split of the range."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import jitgraph
import jitgraph.tensor as T
from jitgraph.backends.llvm.program import LLVMProgram
from jitgraph.backends.llvm.random import philox_fill
from jitgraph.ir.types import TensorType
from jitgraph.ops.random import PhiloxBits, draw_uniform, philox_values, philox_words

MAX = 0xFFFFFFFF
KEYS = [(0, 0), (MAX, MAX), (0xA4093822, 0x299F31D0)]
COUNTERS = [0, 5, 2**32 - 3, 2**32 - 1, 2**64 - 5, 2**64 - 1]
SIZES = [0, 1, 3, 4, 5, 1000, 2**17 + 3]


@functools.cache
def draw_functions(ndim: int) -> tuple[jitgraph.compile.function.Function, ...]:
    """(FAST_RUN, REFERENCE) functions of (key, counter, *sizes) drawing ndim-d bits."""
    key = TensorType("uint32", (2,))("key")
    counter = T.scalar("counter", dtype="uint64")
    sizes = [T.lscalar(f"n{axis}") for axis in range(ndim)]
    shape = sizes if ndim else np.zeros(0, dtype=np.int64)
    bits = PhiloxBits()(key, counter, shape)
    return tuple(
        jitgraph.function([key, counter, *sizes], bits, mode=mode)
        for mode in ("FAST_RUN", "REFERENCE")
    )


def as_key(words: tuple[int, int]) -> np.ndarray:
    return np.array(words, dtype=np.uint32)


def test_the_node_runs_natively() -> None:
    fast, _ = draw_functions(1)
    program = fast._compiled.program
    assert isinstance(program, LLVMProgram)
    [node] = [n for n in fast.maker.fgraph.nodes if isinstance(n.op, PhiloxBits)]
    assert program.describe_node(node) == "LLVM Philox"
    assert node not in program.fallbacks()


def test_known_answer_through_the_compiled_function() -> None:
    fast, _ = draw_functions(1)
    words = fast(as_key((0, 0)), np.uint64(0), 4)
    assert words.tolist() == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("counter", COUNTERS)
def test_vectors_match_the_reference(size: int, counter: int) -> None:
    fast, reference = draw_functions(1)
    for words in KEYS:
        key = as_key(words)
        native = fast(key, np.uint64(counter), size)
        expected = reference(key, np.uint64(counter), size)
        assert native.dtype == np.uint32 and native.shape == (size,)
        np.testing.assert_array_equal(native, expected)
    np.testing.assert_array_equal(native, philox_words(key, counter, 0, size))


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (1, 1), (3, 5), (7, 33), (513, 257)])
def test_matrices_match_the_reference(shape: tuple[int, int]) -> None:
    fast, reference = draw_functions(2)
    key = as_key(KEYS[2])
    for counter in (0, 2**64 - 3):
        native = fast(key, np.uint64(counter), *shape)
        assert native.shape == shape and native.flags.c_contiguous
        np.testing.assert_array_equal(native, reference(key, np.uint64(counter), *shape))


def test_a_0d_draw_is_word_0_of_the_block() -> None:
    fast, reference = draw_functions(0)
    for counter in (0, 2**32 - 1, 2**64 - 1):
        native = fast(as_key(KEYS[1]), np.uint64(counter))
        assert native.shape == ()
        assert native == reference(as_key(KEYS[1]), np.uint64(counter))
        assert native == philox_words(as_key(KEYS[1]), counter, 0, 1)[0]


def test_negative_sizes_are_refused() -> None:
    fast, _ = draw_functions(2)
    with pytest.raises(ValueError, match="negative size"):
        fast(as_key(KEYS[0]), np.uint64(0), 3, -2)


@pytest.mark.parametrize("counter", [0, 2**32 - 2, 2**64 - 3])
def test_any_split_of_the_range_gives_the_same_bits(counter: int) -> None:
    key = as_key(KEYS[2])
    size = 4099
    expected = philox_words(key, counter, 0, size)
    rng = np.random.default_rng(7)
    for _ in range(20):
        cuts = np.sort(rng.integers(0, size + 1, size=rng.integers(1, 6)))
        bounds = [0, *cuts.tolist(), size]
        out = np.zeros(size, dtype=np.uint32)
        for low, high in zip(bounds, bounds[1:]):
            philox_fill(out, key, counter, low, high)
        np.testing.assert_array_equal(out, expected)
    # a range leaves every element outside it alone
    out = np.zeros(size, dtype=np.uint32)
    philox_fill(out, key, counter, 6, 1031)
    np.testing.assert_array_equal(out[6:1031], expected[6:1031])
    assert not out[:6].any() and not out[1031:].any()


def test_fill_refuses_a_range_past_the_array() -> None:
    with pytest.raises(ValueError, match="past"):
        philox_fill(np.zeros(4, dtype=np.uint32), as_key(KEYS[0]), 0, 0, 5)
    with pytest.raises(ValueError, match="C-contiguous uint32"):
        philox_fill(np.zeros(4, dtype=np.int32), as_key(KEYS[0]), 0, 0, 4)


def test_native_bits_look_uniform() -> None:
    fast, _ = draw_functions(1)
    words = fast(as_key(KEYS[2]), np.uint64(12345), 10**6).astype(np.float64) / 2.0**32
    sigma = np.sqrt(1 / 12 / words.size)
    assert abs(words.mean() - 0.5) < 5 * sigma


# ----------------------------------------------------------------------------- uniform draws
UNIFORMS = [("uniform32", np.float32), ("uniform64", np.float64)]


@functools.cache
def uniform_functions(dtype: str) -> tuple[jitgraph.compile.function.Function, ...]:
    """(FAST_RUN, REFERENCE) functions of (key, counter, n, m) -> (values, blocks)."""
    key = TensorType("uint32", (2,))("key")
    counter = T.scalar("counter", dtype="uint64")
    n, m = T.lscalars("n", "m")
    values, blocks = draw_uniform(key, counter, (n, m), dtype)
    return tuple(
        jitgraph.function([key, counter, n, m], [values, blocks], mode=mode)
        for mode in ("FAST_RUN", "REFERENCE")
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_draws_run_natively_in_one_node(dtype: str) -> None:
    fast, _ = uniform_functions(dtype)
    program = fast._compiled.program
    [node] = [n for n in fast.maker.fgraph.nodes if isinstance(n.op, PhiloxBits)]
    assert node.op.distribution == {"float32": "uniform32", "float64": "uniform64"}[dtype]
    assert program.describe_node(node) == "LLVM Philox"
    assert node not in program.fallbacks()
    # the values come straight out of the Philox node: no elementwise pass after it
    assert node.outputs[0] in fast.maker.fgraph.outputs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(0, 5), (1, 1), (1, 3), (3, 5), (7, 33), (2, 2**16 + 7)])
def test_uniform_draws_match_the_reference(dtype: str, shape: tuple[int, int]) -> None:
    fast, reference = uniform_functions(dtype)
    for words, counter in zip(KEYS, (0, 2**32 - 1, 2**64 - 3)):
        native, blocks = fast(as_key(words), np.uint64(counter), *shape)
        expected, expected_blocks = reference(as_key(words), np.uint64(counter), *shape)
        assert native.dtype == np.dtype(dtype) and native.shape == shape
        np.testing.assert_array_equal(native, expected)
        assert blocks == expected_blocks
        assert np.all((native >= 0) & (native < 1))


@pytest.mark.parametrize(("distribution", "dtype"), UNIFORMS)
def test_any_split_of_a_uniform_range_gives_the_same_values(distribution: str, dtype: type) -> None:
    key = as_key(KEYS[2])
    size = 2053
    expected = philox_values(key, 2**64 - 2, 0, size, distribution)
    rng = np.random.default_rng(11)
    for _ in range(20):
        cuts = np.sort(rng.integers(0, size + 1, size=rng.integers(1, 6)))
        bounds = [0, *cuts.tolist(), size]
        out = np.zeros(size, dtype=dtype)
        for low, high in zip(bounds, bounds[1:]):
            philox_fill(out, key, 2**64 - 2, low, high, distribution)
        np.testing.assert_array_equal(out, expected)
    with pytest.raises(ValueError, match="C-contiguous float64"):
        philox_fill(np.zeros(4, dtype=np.float32), key, 0, 0, 4, "uniform64")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_draws_are_the_same_on_one_thread_and_several(dtype: str) -> None:
    fast, _ = uniform_functions(dtype)
    key, counter = as_key(KEYS[2]), np.uint64(2**32 - 7)
    shape = (3, 2**17 + 5)  # above the parallel threshold
    results = []
    for threads in (1, 2, 3):
        with jitgraph.config.change_flags(threads=threads):
            results.append(fast(key, counter, *shape)[0])
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])
    size = shape[0] * shape[1]
    expected = philox_values(key, int(counter), 0, size, UNIFORMS[dtype == "float64"][0])
    np.testing.assert_array_equal(results[0].ravel(), expected)


def test_native_uniforms_look_uniform() -> None:
    fast, _ = uniform_functions("float64")
    values = fast(as_key(KEYS[0]), np.uint64(99), 1000, 1000)[0]
    sigma = np.sqrt(1 / 12 / values.size)
    assert abs(values.mean() - 0.5) < 5 * sigma
    counts = np.histogram(values, bins=16, range=(0, 1))[0]
    expected = values.size / 16
    assert ((counts - expected) ** 2 / expected).sum() < 60  # chi-square, 15 dof
