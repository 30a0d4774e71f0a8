"""jitgraph.numpy arrays on the GPU (``device='cuda'``): creation, programs on the device,
host conversions on request, mixed-device errors, and the host-computed functions.

The GPU is the simulated one of ``tests/backends/cuda/conftest.py`` (a NumPy-backed
stand-in CuPy whose arrays refuse implicit conversion to NumPy, and whose kernel launches
reject host arrays): every differential test below fails if a value silently crosses to
the host inside an operation. The last test runs the same on a real GPU where there is one.
"""

from __future__ import annotations

import importlib.util
import pickle
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import jitgraph
import jitgraph.numpy as jnp
from jitgraph.backends.cuda import cuda_status
from jitgraph.backends.cuda.runtime import CudaUnavailableError
from jitgraph.numpy import _core

_CONFTEST = Path(__file__).resolve().parents[1] / "backends" / "cuda" / "conftest.py"


def _install_simulated_gpu() -> Callable[[], None]:
    spec = importlib.util.spec_from_file_location("_cuda_conftest_for_jnp", _CONFTEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.install_simulated_gpu()


@pytest.fixture
def gpu() -> Iterator[Any]:
    """The simulated GPU for one test (programs compiled for another CuPy forgotten)."""
    _core.program_cache_clear()
    uninstall = _install_simulated_gpu()
    try:
        yield sys.modules["cupy"]
    finally:
        _core.program_cache_clear()
        uninstall()


DATA = np.arange(12.0).reshape(3, 4) - 5.5


def on_gpu(cupy: Any, result: Any) -> np.ndarray:
    """``result`` checked to be a 'cuda' jnp array holding a CuPy value, as NumPy."""
    assert isinstance(result, jnp.ndarray)
    assert result.device == "cuda"
    assert isinstance(result.value, cupy.ndarray)
    return np.asarray(result)


# ----------------------------------------------------------------------------- creation
CREATIONS: dict[str, Callable[[Any], Any]] = {
    "asarray": lambda d: jnp.asarray(DATA, device=d),
    "asarray list": lambda d: jnp.asarray([[1, 2], [3, 4]], dtype="float32", device=d),
    "array": lambda d: jnp.array([1.5, 2.5], ndmin=2, device=d),
    "zeros": lambda d: jnp.zeros((2, 3), dtype="int32", device=d),
    "ones": lambda d: jnp.ones(4, device=d),
    "full": lambda d: jnp.full((2, 2), 7.5, device=d),
    "arange": lambda d: jnp.arange(2, 11, 3, device=d),
    "linspace": lambda d: jnp.linspace(0.0, 1.0, 5, device=d),
    "eye": lambda d: jnp.eye(3, 4, k=1, device=d),
    "zeros_like": lambda d: jnp.zeros_like(jnp.asarray(DATA), device=d),
    "ones_like": lambda d: jnp.ones_like(jnp.asarray(DATA), dtype="int8", device=d),
    "full_like": lambda d: jnp.full_like(jnp.asarray(DATA), 2.5, device=d),
    "astype": lambda d: jnp.astype(jnp.asarray(DATA), "float32", device=d),
}


@pytest.mark.parametrize("name", list(CREATIONS))
def test_creation_functions_take_device(gpu: Any, name: str) -> None:
    make = CREATIONS[name]
    host = make(None)
    device = make("cuda")
    assert host.device == "cpu"
    got = on_gpu(gpu, device)
    assert got.dtype == host.dtype and got.shape == host.shape
    np.testing.assert_array_equal(got, np.asarray(host))


def test_filled_arrays_are_made_on_the_gpu(gpu: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """zeros/ones/empty/full on 'cuda' copy only the fill value to the GPU, not the array."""
    copied: list[int] = []
    asarray = gpu.asarray

    def recording_asarray(value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, np.ndarray):
            copied.append(value.size)
        return asarray(value, *args, **kwargs)

    monkeypatch.setattr(gpu, "asarray", recording_asarray)
    made = {
        "zeros": jnp.zeros((300, 40), device="cuda"),
        "ones": jnp.ones((300, 40), dtype="int8", device="cuda"),
        "empty": jnp.empty((300, 40), device="cuda"),
        "full": jnp.full((300, 40), [1.5, 2.5] * 20, device="cuda"),
        "full_fill": jnp.full((300, 40), 7, dtype="uint16", device="cuda"),
    }
    assert copied and max(copied) <= 40
    for name, expected in {
        "zeros": np.zeros((300, 40)),
        "ones": np.ones((300, 40), dtype="int8"),
        "empty": np.zeros((300, 40)),
        "full": np.full((300, 40), [1.5, 2.5] * 20),
        "full_fill": np.full((300, 40), 7, dtype="uint16"),
    }.items():
        got = on_gpu(gpu, made[name])
        assert got.dtype == expected.dtype, name
        np.testing.assert_array_equal(got, expected)


def test_device_aliases_and_empty(gpu: Any) -> None:
    assert jnp.zeros(2, device="gpu").device == "cuda"
    assert jnp.empty((2, 3), device="cuda0").shape == (2, 3)
    assert jnp.empty_like(jnp.ones(2, device="cuda")).device == "cuda"  # the input's device
    assert jnp.zeros(2, device="cpu").device == "cpu"
    with pytest.raises(ValueError, match="tpu"):
        jnp.zeros(2, device="tpu")
    assert jnp.__array_namespace_info__().devices() == ["cpu", "cuda"]


def test_asarray_of_a_cupy_array_shares_its_memory(gpu: Any) -> None:
    c = gpu.asarray(DATA)
    x = jnp.asarray(c)
    assert x.device == "cuda" and x.value is c
    copied = jnp.asarray(c, copy=True)
    assert copied.value is not c
    np.testing.assert_array_equal(np.asarray(copied), DATA)
    cast = jnp.asarray(c, dtype="float32")
    assert on_gpu(gpu, cast).dtype == np.float32
    host = jnp.asarray(c, device="cpu")
    assert host.device == "cpu" and isinstance(host.value, np.ndarray)
    with pytest.raises(ValueError, match="copy=False"):
        jnp.asarray(c, device="cpu", copy=False)
    with pytest.raises(ValueError, match="copy=False"):
        jnp.asarray(DATA, device="cuda", copy=False)
    assert jnp.from_dlpack(c).value is c
    assert jnp.from_dlpack(x, device="cpu").device == "cpu"


def test_to_device_moves_and_keeps(gpu: Any) -> None:
    host = jnp.asarray(DATA) * 2  # pending: computed on the host, then moved
    device = host.to_device("cuda")
    np.testing.assert_array_equal(on_gpu(gpu, device), DATA * 2)
    assert device.to_device("gpu") is device
    back = device.to_device("cpu")
    assert back.device == "cpu" and isinstance(back.value, np.ndarray)
    np.testing.assert_array_equal(back.value, DATA * 2)
    assert back.to_device("cpu") is back


# ----------------------------------------------------------------------------- operations
OPERATIONS: dict[str, Callable[[Any], Any]] = {
    "fused elementwise": lambda x: jnp.exp(x / 4) * 2 + 1,
    "python scalars": lambda x: 2 - x * 3.5 + 1,
    "numpy operand": lambda x: x + np.arange(4.0),
    "comparison": lambda x: (x > 0) & (x < 3),
    "sum axis": lambda x: x.sum(axis=0),
    "mean": lambda x: jnp.mean(x),
    "max": lambda x: x.max(axis=1, keepdims=True),
    "argmax": lambda x: jnp.argmax(x, axis=1),
    "var": lambda x: jnp.var(x, axis=0, ddof=1),
    "cumsum": lambda x: jnp.cumsum(x, axis=1),
    "matmul": lambda x: x @ x.T,
    "dot vector": lambda x: jnp.dot(x, jnp.ones(4, device=x.device)),
    "outer": lambda x: jnp.outer(x[0], x[1]),
    "sort": lambda x: jnp.sort(-x, axis=1),
    "argsort": lambda x: jnp.argsort(x[::-1], axis=0),
    "searchsorted": lambda x: jnp.searchsorted(jnp.sort(x.ravel()), x[0]),
    "concatenate": lambda x: jnp.concatenate([x, x * 2], axis=1),
    "stack": lambda x: jnp.stack([x, x + 1]),
    "reshape transpose": lambda x: x.reshape(4, 3).T,
    "basic index": lambda x: x[1:, ::2],
    "integer index": lambda x: x[-1],
    "advanced index": lambda x: x[[0, 2, 2], 1:],
    "index array on device": lambda x: x[jnp.asarray([2, 0], device=x.device)],
    "boolean mask": lambda x: x[x > 0],
    "take": lambda x: jnp.take(x, [3, 0], axis=1),
    "where": lambda x: jnp.where(x > 0, x, 0.5),
    "clip": lambda x: jnp.clip(x, -1, 1),
    "astype": lambda x: x.astype("int32"),
    "tril": lambda x: jnp.tril(x),
    "pad": lambda x: jnp.pad(x, 1),
    "roll": lambda x: jnp.roll(x, 1, axis=1),
    "split": lambda x: jnp.split(x, 2, axis=1)[1],
    "diff": lambda x: jnp.diff(x),
    "median": lambda x: jnp.median(x, axis=0),
    "nanmax": lambda x: jnp.nanmax(x),
    "zeros_like": lambda x: jnp.zeros_like(x) + 1,
    "norm": lambda x: jnp.linalg.norm(x),
    "ufunc via numpy": lambda x: np.add(x, 1.0),
}


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_operations_run_on_the_device(gpu: Any, name: str) -> None:
    operation = OPERATIONS[name]
    want = operation(jnp.asarray(DATA))
    got = operation(jnp.asarray(DATA, device="cuda"))
    values = on_gpu(gpu, got)
    assert values.dtype == want.dtype
    np.testing.assert_allclose(values, np.asarray(want), rtol=1e-12)


def test_python_scalars_stay_weak_on_the_device(gpu: Any) -> None:
    x = jnp.asarray(DATA.astype(np.float32), device="cuda")
    result = x * 2.5 + 1
    assert on_gpu(gpu, result).dtype == np.float32
    np.testing.assert_allclose(np.asarray(result), DATA.astype(np.float32) * 2.5 + 1)


def test_in_place_operators_and_item_assignment(gpu: Any) -> None:
    x = jnp.asarray(DATA, device="cuda")
    x += 1
    x[1, 1:3] = 7
    x[x < -3] = 0
    want = DATA + 1
    want[1, 1:3] = 7
    want[want < -3] = 0
    np.testing.assert_array_equal(on_gpu(gpu, x), want)


def test_programs_are_kept_per_device(gpu: Any) -> None:
    def expression(x: Any) -> Any:
        return (x * 3 - 1).sum()

    expression(jnp.asarray(DATA)).value  # noqa: B018 - compiles the host program
    compiles = _core.STATS["compiles"]
    first = expression(jnp.asarray(DATA, device="cuda"))
    assert float(first) == pytest.approx(float((DATA * 3 - 1).sum()))
    assert _core.STATS["compiles"] == compiles + 1  # not the host program
    bigger = np.arange(30.0).reshape(5, 6)  # another size, the same kind
    second = expression(jnp.asarray(bigger, device="cuda"))
    assert float(second) == pytest.approx(float((bigger * 3 - 1).sum()))
    assert _core.STATS["compiles"] == compiles + 1  # the device program, reused
    assert second.device == "cuda"


def test_functions_computed_on_the_host_return_to_the_device(gpu: Any) -> None:
    x = jnp.asarray(DATA, device="cuda")
    rows, cols = jnp.nonzero(x > 0)
    np.testing.assert_array_equal(on_gpu(gpu, cols), np.nonzero(DATA > 0)[1])
    values, counts = jnp.unique(jnp.round(x / 4), return_counts=True)
    want_values, want_counts = np.unique(np.round(DATA / 4), return_counts=True)
    np.testing.assert_array_equal(on_gpu(gpu, values), want_values)
    np.testing.assert_array_equal(on_gpu(gpu, counts), want_counts)
    square = x[:, :3] @ x[:, :3].T + jnp.eye(3, device="cuda") * 10
    host_square = DATA[:, :3] @ DATA[:, :3].T + np.eye(3) * 10
    np.testing.assert_allclose(on_gpu(gpu, jnp.linalg.inv(square)), np.linalg.inv(host_square))
    np.testing.assert_allclose(
        on_gpu(gpu, np.linalg.matrix_norm(x, ord=2)), np.linalg.matrix_norm(DATA, ord=2)
    )
    histogram = np.histogram(x, bins=3)  # no jnp counterpart: NumPy on the host
    np.testing.assert_array_equal(on_gpu(gpu, histogram[0]), np.histogram(DATA, bins=3)[0])


def test_random_draws_follow_their_parameters(gpu: Any) -> None:
    low = np.linspace(0.0, 1.0, 5)
    host = jnp.random.default_rng(7).uniform(low, low + 1)
    device = jnp.random.default_rng(7).uniform(jnp.asarray(low, device="cuda"), low + 1)
    np.testing.assert_array_equal(on_gpu(gpu, device), np.asarray(host))  # same Philox bits
    assert jnp.random.default_rng(7).normal(size=3).device == "cpu"


# ----------------------------------------------------------------------------- host values
def test_host_conversions_copy_on_request(gpu: Any) -> None:
    x = jnp.asarray(DATA, device="cuda")
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(x.value)  # the stand-in refuses, as CuPy does: the checks below are real
    np.testing.assert_array_equal(np.asarray(x), DATA)
    assert float(x[1, 2]) == DATA[1, 2] and int(x[0, 0]) == int(DATA[0, 0])
    assert x[2, 3].item() == DATA[2, 3] and x.tolist() == DATA.tolist()
    assert bool(x[2, 3] > 0) and len(x) == 3
    assert [row.tolist() for row in x] == DATA.tolist()
    assert repr(x) == "jnp." + repr(DATA) and str(x) == str(DATA)
    assert f"{x[0, 0]:.1f}" == f"{DATA[0, 0]:.1f}"
    with pytest.raises(ValueError, match="copy=False"):
        x.__array__(copy=False)
    assert np.asarray(pickle.loads(pickle.dumps(x))).tolist() == DATA.tolist()
    assert x.__dlpack_device__() == (2, 0)


# ----------------------------------------------------------------------------- errors
def test_arrays_on_different_devices_do_not_mix(gpu: Any) -> None:
    device = jnp.asarray(DATA, device="cuda")
    host = jnp.asarray(DATA)
    for combine in (
        lambda: device + host,
        lambda: (host * 2) - (device + 1),  # both pending
        lambda: jnp.concatenate([device, host]),
        lambda: jnp.where(host > 0, device, 0.0),
        lambda: device @ host.T,
        lambda: device + jnp.where([True, False, True, True], 1.0, 2.0),  # made of host data
    ):
        with pytest.raises(ValueError, match=r"different devices.*to_device"):
            combine()
    moved = device + host.to_device("cuda")
    np.testing.assert_array_equal(on_gpu(gpu, moved), DATA * 2)


@pytest.mark.skipif(cuda_status() is None, reason="CuPy and a GPU are here")
def test_missing_cupy_raises_before_anything_is_built() -> None:
    host = jnp.asarray(DATA)
    before = dict(_core.STATS)
    for attempt in (
        lambda: jnp.zeros(3, device="cuda"),
        lambda: jnp.asarray(DATA, device="gpu"),
        lambda: jnp.arange(3, device="cuda"),
        lambda: (host * 2).to_device("cuda"),
        lambda: jnp.astype(host, "float32", device="cuda"),
    ):
        with pytest.raises(CudaUnavailableError, match="CuPy"):
            attempt()
    assert _core.STATS == before  # nothing was compiled or evaluated
    assert jnp.__array_namespace_info__().devices() == ["cpu"]


# ----------------------------------------------------------------------------- @jit
def test_jit_takes_and_captures_device_arrays(gpu: Any) -> None:
    x = jnp.asarray(DATA, device="cuda")
    doubled = jitgraph.jit(lambda a: a * 2 + 1, backend="cuda")(x)
    assert isinstance(doubled, gpu.ndarray)
    np.testing.assert_array_equal(doubled.get(), DATA * 2 + 1)
    captured = jitgraph.jit(lambda a: a - x, backend="llvm")(np.ones((3, 4)))
    np.testing.assert_array_equal(captured, 1 - DATA)  # a constant frozen from the GPU
    constant = jitgraph.jit(lambda a: (a + 1, x), backend="llvm")(np.ones(2))[1]
    np.testing.assert_array_equal(constant, DATA)


def test_jit_and_grad_follow_device_arguments(gpu: Any) -> None:
    function = jitgraph.jit(lambda a: a * 2)
    assert isinstance(function(np.ones((3, 4))), np.ndarray)
    on_device = function(jnp.asarray(DATA, device="cuda"))  # the configured backend: on 'cuda'
    assert isinstance(on_device, gpu.ndarray)
    np.testing.assert_array_equal(on_device.get(), DATA * 2)
    assert isinstance(function(np.ones((3, 4))), np.ndarray)
    gradient = jitgraph.grad(lambda v: (v * v).sum())(jnp.asarray(DATA, device="cuda"))
    assert isinstance(gradient, gpu.ndarray)
    np.testing.assert_allclose(gradient.get(), 2 * DATA)


# ----------------------------------------------------------------------------- a real GPU
@pytest.mark.skipif(cuda_status() is not None, reason=f"needs CuPy and a GPU: {cuda_status()}")
def test_on_a_real_gpu() -> None:
    import cupy

    for name in ("fused elementwise", "matmul", "boolean mask", "sort", "median"):
        operation = OPERATIONS[name]
        got = operation(jnp.asarray(DATA, device="cuda"))
        assert got.device == "cuda" and isinstance(got.value, cupy.ndarray)
        np.testing.assert_allclose(np.asarray(got), np.asarray(operation(jnp.asarray(DATA))))
