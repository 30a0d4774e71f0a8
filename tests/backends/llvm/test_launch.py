"""Running compiled kernels: layouts, given buffers, threads, and the in-process cache."""

from __future__ import annotations

import numpy as np
import pytest

import jitgraph.tensor as T
from jitgraph.backends.kernel import evaluate
from jitgraph.backends.llvm import launch
from jitgraph.config import config
from jitgraph.ir.graph import Graph
from jitgraph.passes.fuse import fuse, kernels


def kernel_of(inputs, outputs):
    [kernel] = kernels(fuse(Graph(inputs, outputs)))
    return kernel


@pytest.fixture(scope="module")
def compiled():
    x, y = T.dmatrices("x", "y")
    row = T.drow("row")
    kernels_by_name = {
        "elementwise": kernel_of([x, y], [T.exp(x) * y + 1.5]),
        "broadcast": kernel_of([x, row], [x * row - row]),
        "full_sum": kernel_of([x, y], [T.sum((x - y) ** 2)]),
        "row_sum": kernel_of([x], [T.sum(x**2, axis=1)]),
        "column_max": kernel_of([x], [T.max(abs(x), axis=0)]),
    }
    natives = launch.compile_kernels(list(kernels_by_name.values()))
    return dict(zip(kernels_by_name, natives, strict=True))


def layouts(rng: np.random.Generator, shape: tuple[int, int]) -> list[np.ndarray]:
    """The same values in several memory layouts."""
    base = rng.standard_normal(shape)
    wide = np.zeros((shape[0], 2 * shape[1]))
    wide[:, ::2] = base
    return [base, np.asfortranarray(base), wide[:, ::2], base[::-1][::-1], base.T.copy().T]


@pytest.mark.parametrize("name", ["elementwise", "full_sum", "row_sum", "column_max"])
@pytest.mark.parametrize("shape", [(7, 33), (0, 5), (1, 1), (300, 513)])
def test_every_layout_matches_the_reference(compiled, name, shape) -> None:
    native = compiled[name]
    rng = np.random.default_rng(0)
    if name == "column_max" and shape[0] == 0:
        pytest.skip("max of an empty axis is an error (tested below)")
    for first in layouts(rng, shape):
        args = [first] if len(native.kernel.inputs) == 1 else [first, rng.standard_normal(shape)]
        expected = evaluate(native.kernel, args)
        got = native.run(args)
        for e, g in zip(expected, got, strict=True):
            assert g.shape == e.shape and g.dtype == e.dtype
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)


def test_negative_strides_and_broadcast_rows(compiled) -> None:
    native = compiled["broadcast"]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 9))[::-1, ::-2]
    row = rng.standard_normal((1, 5))
    [got] = native.run([x, row])
    np.testing.assert_array_equal(got, x * row - row)


def test_results_are_written_into_given_buffers(compiled) -> None:
    native = compiled["elementwise"]
    x, y = np.ones((4, 5)), np.full((4, 5), 2.0)
    out = np.empty((4, 5))
    [got] = native.run([x, y], [out])
    assert got is out
    np.testing.assert_array_equal(out, np.exp(1.0) * 2 + 1.5)


def test_a_max_over_an_empty_axis_is_an_error(compiled) -> None:
    with pytest.raises(ValueError, match="empty axis"):
        compiled["column_max"].run([np.zeros((0, 3))])


def test_disagreeing_inputs_are_refused_before_running(compiled) -> None:
    with pytest.raises(ValueError, match="disagree"):
        compiled["elementwise"].run([np.zeros((2, 3)), np.zeros((3, 2))])


@pytest.mark.parametrize("name", ["elementwise", "broadcast"])
def test_elementwise_results_do_not_depend_on_the_thread_count(compiled, name) -> None:
    native = compiled[name]
    rng = np.random.default_rng(2)
    rows = launch.PARALLEL_THRESHOLD // 256 + 3
    x = rng.standard_normal((rows, 512))
    second = rng.standard_normal((1, 512) if name == "broadcast" else (rows, 512))
    [one] = native.run([x, second], threads=1)
    for threads in (2, 3, 7):
        [many] = native.run([x, second], threads=threads)
        assert one.tobytes() == many.tobytes()
    [strided] = native.run([x[:, ::-1], second[:, ::-1]], threads=3)
    assert strided.tobytes() == one[:, ::-1].tobytes()


def test_threaded_full_reductions_are_deterministic_and_accurate(compiled) -> None:
    native = compiled["full_sum"]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1024, 300))
    y = rng.standard_normal((1024, 300))
    expected = np.sum((x - y) ** 2)
    results = {native.run([x, y], threads=threads)[0].item() for threads in (3, 3, 3)}
    assert len(results) == 1
    np.testing.assert_allclose(results.pop(), expected, rtol=1e-13)
    np.testing.assert_allclose(native.run([x, y], threads=2)[0], expected, rtol=1e-13)


def test_thread_count_reads_the_flag() -> None:
    with config.change_flags(threads=3):
        assert launch.thread_count() == 3
    with config.change_flags(threads=0):
        assert launch.thread_count() >= 1


def test_equal_kernels_share_loaded_code() -> None:
    x = T.dvector("x")
    kernel = kernel_of([x], [T.tanh(x) + 3])
    [first] = launch.compile_kernels([kernel])
    [second] = launch.compile_kernels([kernel])
    assert first._library is second._library
