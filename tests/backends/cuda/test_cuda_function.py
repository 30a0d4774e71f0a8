"""``device='cuda'`` from the user's side: function, shared variables, jit, the flag.

Without a GPU these run on the simulated GPU (``simulated_gpu``, conftest.py): the real
program, input conversion, shared-variable residency and error paths, with each kernel
launch replaced by the kernel's NumPy evaluation. The stand-in CuPy refuses implicit
conversion to NumPy as CuPy does, so a silent host round trip inside a call fails here.
The kernels themselves are checked on a GPU by test_cuda_codegen.py / test_cuda_scalar.py.
The first tests need no stand-in: they check the errors where CuPy or a GPU is missing.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import jitgraph
import jitgraph.tensor as T
from jitgraph.backends.cuda import runtime
from jitgraph.backends.cuda.runtime import CudaUnavailableError, is_device_array
from jitgraph.config import config


@pytest.fixture
def cuda_flag() -> Iterator[None]:
    """``JITGRAPH_FLAGS=device=cuda`` for one test."""
    saved = config.device
    config.device = "cuda"
    try:
        yield
    finally:
        config.device = saved


def _on_device(value: Any) -> bool:
    return bool(is_device_array(value))


# ----------------------------------------------------------------------------- no GPU
@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_without_cupy_every_entry_says_cupy_is_missing(cuda_flag: None) -> None:
    runtime.reset()
    x = T.dvector("x")
    for make in (
        lambda: jitgraph.function([x], x * 2, device="cuda"),
        lambda: jitgraph.function([x], x * 2),  # the flag
        lambda: jitgraph.jit(lambda a: a, backend="cuda"),
    ):
        with pytest.raises(CudaUnavailableError, match=r"cupy is not installed.*jitgraph\[cuda\]"):
            make()


def test_without_a_gpu_the_error_says_no_device(
    simulated_gpu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(simulated_gpu.cuda.runtime, "getDeviceCount", lambda: 0)
    runtime.reset()
    x = T.dvector("x")
    with pytest.raises(CudaUnavailableError, match="no CUDA device"):
        jitgraph.function([x], x * 2, device="cuda")


def test_reference_mode_runs_on_the_host_and_says_so() -> None:
    x = T.dvector("x")
    with pytest.raises(ValueError, match="REFERENCE is the NumPy interpreter"):
        jitgraph.function([x], x * 2, mode="REFERENCE", device="cuda")
    with pytest.raises(ValueError, match="device must be one of"):
        jitgraph.function([x], x * 2, device="tpu")
    with pytest.raises(ValueError, match="output_device"):
        jitgraph.function([x], x * 2, output_device="tpu")


def test_the_flag_leaves_reference_mode_on_the_host(cuda_flag: None) -> None:
    x = T.dvector("x")
    f = jitgraph.function([x], x * 2, mode="REFERENCE")
    assert f.device == "cpu"
    np.testing.assert_array_equal(f([1.0, 2.0]), [2.0, 4.0])


# ----------------------------------------------------------------------------- simulated GPU
def test_outputs_stay_on_the_gpu_and_match_the_cpu(simulated_gpu: Any) -> None:
    cupy = simulated_gpu
    x, y = T.dvector("x"), T.dmatrix("y")
    expr = [T.exp(x) / (1 + y), (y * 2).sum(axis=0), T.sqrt((y**2).sum(axis=1))]
    gpu = jitgraph.function([x, y], expr, device="cuda")
    cpu = jitgraph.function([x, y], expr)
    xs, ys = np.linspace(-1, 1, 3), np.arange(6.0).reshape(2, 3)
    for args in ((xs, ys), (cupy.asarray(xs), cupy.asarray(ys)), (list(xs), cupy.asarray(ys))):
        results = gpu(*args)
        assert all(_on_device(r) for r in results)
        for got, want in zip(results, cpu(xs, ys), strict=True):
            np.testing.assert_allclose(got.get(), want, rtol=1e-15)
    assert gpu.device == "cuda" and gpu.output_device == "cuda"
    assert gpu.maker.fgraph is gpu.graph


def test_output_device_cpu_gives_numpy(simulated_gpu: Any) -> None:
    x = T.fvector("x")
    f = jitgraph.function([x], T.tanh(x), device="cuda", output_device="cpu")
    result = f(np.ones(4, dtype="float32"))
    assert type(result) is np.ndarray and result.dtype == np.float32
    np.testing.assert_allclose(result, np.tanh(np.ones(4, dtype="float32")))


def test_device_inputs_follow_the_cpu_conversion_rules(simulated_gpu: Any) -> None:
    cupy = simulated_gpu
    x = T.dvector("x")
    f = jitgraph.function([x], x + 1, device="cuda")
    np.testing.assert_array_equal(f(cupy.asarray(np.arange(3, dtype="float32"))).get(), [1, 2, 3])
    v = T.fvector("v")
    g = jitgraph.function([v], v + 1, device="cuda")
    with pytest.raises(TypeError, match=r"input 0 \('v'\).*float32.*float64"):
        g(cupy.asarray(np.zeros(2)))
    with pytest.raises(TypeError, match="expected a 1-d array"):
        f(cupy.zeros((2, 2)))
    s = T.dvector("s")
    strict = jitgraph.function([jitgraph.In(s, strict=True)], s * 2, device="cuda")
    with pytest.raises(TypeError, match="strict input"):
        strict(cupy.asarray(np.zeros(2, dtype="float32")))


def test_an_output_never_aliases_an_input(simulated_gpu: Any) -> None:
    cupy = simulated_gpu
    x = T.dvector("x")
    f = jitgraph.function([x], [x, x], device="cuda")
    given = cupy.asarray(np.arange(3.0))
    a, b = f(given)
    assert a is not given and b is not given and a is not b
    a[0] = 99.0
    assert float(given[0]) == 0.0 and float(b[0]) == 0.0


def test_shared_variables_live_on_the_gpu(simulated_gpu: Any) -> None:
    cupy = simulated_gpu
    w = jitgraph.shared(np.zeros(3), name="w")
    x = T.dvector("x")
    f = jitgraph.function([x], (x * w).sum(), updates={w: w + x}, device="cuda")
    assert _on_device(w.get_value(return_internal_type=True))
    assert type(w.get_value()) is np.ndarray
    f(np.ones(3))
    f(np.arange(3.0))
    np.testing.assert_array_equal(w.get_value(), [1.0, 2.0, 3.0])
    internal = w.get_value(borrow=True, return_internal_type=True)
    assert _on_device(internal)
    # set from the host: moved to the GPU by the next call, and it stays there
    w.set_value(np.full(3, 2.0))
    assert float(f(np.ones(3)).get()) == 6.0
    assert _on_device(w.get_value(return_internal_type=True))
    # set from the GPU: kept there (converted as the type says)
    w.set_value(cupy.asarray(np.ones(3, dtype="float32")))
    stored = w.get_value(borrow=True, return_internal_type=True)
    assert _on_device(stored) and stored.dtype == np.float64
    with pytest.raises(TypeError, match="shared variable 'w'"):
        w.set_value(cupy.zeros((2, 2)))
    # a host function reads it through a copy and leaves it where it is
    g = jitgraph.function([], w * 2)
    np.testing.assert_array_equal(g(), [2.0, 2.0, 2.0])
    assert _on_device(w.get_value(borrow=True, return_internal_type=True))


def test_a_failing_call_changes_no_state(simulated_gpu: Any) -> None:
    w = jitgraph.shared(np.zeros(3), name="w")
    x = T.dvector("x")
    f = jitgraph.function([x], x + w, updates={w: w + x}, device="cuda")
    with pytest.raises(ValueError):
        f(np.ones(4))
    np.testing.assert_array_equal(w.get_value(), np.zeros(3))


def test_shared_from_a_cupy_array(simulated_gpu: Any) -> None:
    cupy = simulated_gpu
    value = cupy.asarray(np.arange(4.0))
    v = jitgraph.shared(value, name="v")
    assert v.type.dtype == "float64" and v.type.ndim == 1
    stored = v.get_value(borrow=True, return_internal_type=True)
    assert _on_device(stored) and stored is not value
    f = jitgraph.function([], v.sum(), device="cuda")
    assert float(f().get()) == 6.0


def test_logistic_regression_training_matches_the_cpu(simulated_gpu: Any) -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(20, 5)), (rng.random(20) > 0.5).astype("float64")
    results = {}
    for device in ("cpu", "cuda"):
        w = jitgraph.shared(np.zeros(5), name="w")
        b = jitgraph.shared(0.0, name="b")
        x, y = T.dmatrix("x"), T.dvector("y")
        p = 1 / (1 + T.exp(-T.dot(x, w) - b))
        cost = (-y * T.log(p) - (1 - y) * T.log(1 - p)).mean() + 0.01 * (w**2).sum()
        gw, gb = T.grad(cost, [w, b])
        train = jitgraph.function(
            [x, y], cost, updates=[(w, w - 0.1 * gw), (b, b - 0.1 * gb)], device=device
        )
        costs = [float(np.asarray(runtime.to_host(train(*data)))) for _ in range(10)]
        results[device] = (costs, w.get_value(), float(b.get_value()))
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-12)
    np.testing.assert_allclose(results["cuda"][1], results["cpu"][1], rtol=1e-12)
    assert results["cuda"][2] == pytest.approx(results["cpu"][2], rel=1e-12)


def test_scan_runs_as_a_host_loop_with_device_state(simulated_gpu: Any) -> None:
    k = T.iscalar("k")
    a = T.dvector("a")
    result, updates = jitgraph.scan(
        lambda prior, a: prior * a, outputs_info=T.ones_like(a), non_sequences=a, n_steps=k
    )
    gpu = jitgraph.function([a, k], [result[-1], result], updates=updates, device="cuda")
    cpu = jitgraph.function([a, k], [result[-1], result], updates=updates)
    values = np.array([1.0, 2.0, 3.0])
    for steps in (0, 1, 4):
        if steps == 0:  # result[-1] of a loop that ran no step raises, as on the CPU
            with pytest.raises(IndexError):
                gpu(values, steps)
            continue
        got = gpu(values, steps)
        assert all(_on_device(r) for r in got)
        for g, c in zip(got, cpu(values, steps), strict=True):
            np.testing.assert_array_equal(g.get(), c)
    described = {gpu._compiled.program.describe_node(n) for n in gpu.graph.nodes}
    assert "scan: a host loop of CUDA launches" in described


def test_ifelse_takes_the_branch_on_the_gpu(simulated_gpu: Any) -> None:
    from jitgraph.ifelse import ifelse

    a, b = T.dscalars("a", "b")
    x, y = T.dmatrices("x", "y")
    f = jitgraph.function([a, b, x, y], ifelse(T.lt(a, b), T.mean(x), T.mean(y)), device="cuda")
    ones, zeros = np.ones((2, 2)), np.zeros((2, 2))
    assert float(f(1.0, 2.0, ones, zeros).get()) == 1.0
    assert float(f(3.0, 2.0, ones, zeros).get()) == 0.0


def test_random_streams_give_the_cpu_draws(simulated_gpu: Any) -> None:
    from jitgraph.tensor.shared_randomstreams import RandomStreams

    draws = {}
    for device in ("cpu", "cuda"):
        srng = RandomStreams(seed=234)
        u = srng.uniform((2, 3))
        f = jitgraph.function([], u, device=device)
        draws[device] = [runtime.to_host(f()) for _ in range(2)]
    for got, want in zip(draws["cuda"], draws["cpu"], strict=True):
        np.testing.assert_array_equal(got, want)


def test_host_fallbacks_are_announced_and_listed(
    simulated_gpu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jitgraph.backends.cuda import ops
    from jitgraph.backends.cuda.program import CudaHostFallbackWarning

    monkeypatch.setattr(ops, "device_step", lambda node: None)
    x = T.dmatrix("x")
    with pytest.warns(CudaHostFallbackWarning, match="on the host"):
        f = jitgraph.function([x], T.dot(x, x.T) + 1, device="cuda")
    program = f._compiled.program
    assert program.fallbacks()
    assert all(program.describe_node(n).startswith("host round trip") for n in program.fallbacks())
    value = np.arange(4.0).reshape(2, 2)
    result = f(value)
    assert _on_device(result)
    np.testing.assert_array_equal(result.get(), value @ value.T + 1)


def test_a_fully_lowered_program_warns_nothing(simulated_gpu: Any) -> None:
    x = T.dvector("x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = jitgraph.function([x], T.exp(x).sum() * 2, device="cuda")
    assert f._compiled.program.fallbacks() == []


def test_the_flag_makes_functions_cuda(simulated_gpu: Any, cuda_flag: None) -> None:
    x = T.dvector("x")
    w = jitgraph.shared(np.ones(2), name="w")
    f = jitgraph.function([x], x * w)
    # it runs on the GPU; as in Theano, its results come back to the host
    assert f.device == "cuda" and f.output_device == "cpu"
    result = f(np.ones(2))
    assert type(result) is np.ndarray
    np.testing.assert_array_equal(result, [1.0, 1.0])
    assert _on_device(w.get_value(borrow=True, return_internal_type=True))
    g = jitgraph.function([x], x * 2, device="cuda")  # explicit: results stay on the GPU
    assert _on_device(g(np.ones(2)))
    # jitgraph.numpy arrays keep NumPy values under the flag
    import jitgraph.numpy as jnp

    value = jnp.asarray(np.arange(3.0)) * 2
    assert type(np.asarray(value)) is np.ndarray


def test_jit_on_cuda(simulated_gpu: Any) -> None:
    cupy = simulated_gpu
    import jitgraph.numpy as jnp

    @jitgraph.jit(backend="cuda")
    def f(x: Any, y: Any) -> Any:
        return jnp.tanh(x) * y + 1, (x * y).sum()

    xs, ys = np.linspace(-1, 1, 5), np.arange(5.0)
    for args in ((xs, ys), (cupy.asarray(xs), cupy.asarray(ys))):
        a, b = f(*args)
        assert _on_device(a) and _on_device(b)
        np.testing.assert_allclose(a.get(), np.tanh(xs) * ys + 1, rtol=1e-15)
        np.testing.assert_allclose(float(b.get()), float((xs * ys).sum()), rtol=1e-15)
    assert f.cache_info()["traces"] == 1  # CuPy and NumPy arguments share the signature
    text = f.lower(xs, ys).as_text()
    assert "== CUDA C" in text and "__global__" in text and "LLVM IR" not in text


def test_default_values_live_on_the_device(simulated_gpu: Any) -> None:
    x, y = T.dvectors("x", "y")
    f = jitgraph.function([x, jitgraph.In(y, value=np.ones(2))], x + y, device="cuda")
    assert _on_device(f["y"])
    np.testing.assert_array_equal(f(np.ones(2)).get(), [2.0, 2.0])


def test_jit_constant_outputs_come_back_on_the_device(simulated_gpu: Any) -> None:
    import jitgraph.numpy as jnp

    @jitgraph.jit(backend="cuda")
    def f(x: Any) -> Any:
        return x + 1, jnp.ones(2), 3.0, {"k": np.arange(3)}

    for _ in range(2):  # the constants are fresh arrays on each call
        a, ones, three, tree = f(np.zeros(2))
        assert all(_on_device(v) for v in (a, ones, three, tree["k"]))
        np.testing.assert_array_equal(ones.get(), [1.0, 1.0])
        assert float(three.get()) == 3.0 and three.shape == ()
        np.testing.assert_array_equal(tree["k"].get(), [0, 1, 2])
        ones[0] = 7.0  # a caller may write to the result: the next call is unaffected
