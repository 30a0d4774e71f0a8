"""``@jitgraph.jit``: argument trees, static arguments, the cache key, stages, disk cache."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

import jitgraph
import jitgraph.numpy as jnp
from jitgraph.numpy import _core


def exp(x):
    return _core.elementwise("exp", x)


def test_positional_arrays_match_numpy():
    f = jitgraph.jit(lambda x, y: exp(x) * 2 - y)
    x, y = np.linspace(-1, 1, 7), np.arange(7.0)
    out = f(x, y)
    assert type(out) is np.ndarray
    assert_allclose(out, np.exp(x) * 2 - y)
    assert out.dtype == np.float64


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=5), elements=st.floats(-5, 5)))
def test_one_trace_for_every_size(x):
    out = _SQUARE_PLUS(x, x)
    assert_allclose(out, x * x + x)
    assert _SQUARE_PLUS.cache_info()["traces"] <= 3 * 2**3  # at most one per rank and pattern


_SQUARE_PLUS = jitgraph.jit(lambda a, b: a * a + b)


def test_pytree_arguments_and_outputs():
    @jitgraph.jit
    def f(params, batch):
        w, b = params["w"], params["b"]
        out = {"y": batch[0] * w + b, "pair": (batch[1] - b, None), "list": [w * 2]}
        return out

    params = {"w": np.array([1.0, 2.0]), "b": np.float64(0.5)}
    batch = [np.array([3.0, 4.0]), np.array([[1.0, 1.0]])]
    out = f(params, batch)
    assert set(out) == {"y", "pair", "list"}
    assert_allclose(out["y"], batch[0] * params["w"] + 0.5)
    assert isinstance(out["pair"], tuple) and out["pair"][1] is None
    assert_allclose(out["pair"][0], batch[1] - 0.5)
    assert isinstance(out["list"], list)
    assert_allclose(out["list"][0], [2.0, 4.0])


def test_namedtuple_arguments_keep_their_type():
    Point = collections.namedtuple("Point", "x y")
    f = jitgraph.jit(lambda p: Point(p.y, p.x * 2))
    out = f(Point(np.ones(2), np.zeros(2)))
    assert isinstance(out, Point)
    assert_allclose(out.y, [2.0, 2.0])


def test_jnp_arrays_and_python_scalars_as_arguments():
    f = jitgraph.jit(lambda x, s: x * s)
    out = f(jnp.ndarray._make(None, np.arange(3.0)), 2)
    assert_array_equal(out, [0.0, 2.0, 4.0])
    assert f(np.arange(3.0), 5)[2] == 10.0
    assert f.cache_info()["traces"] == 1  # a jnp array keys like its NumPy value


def test_constant_outputs_are_fresh_arrays():
    f = jitgraph.jit(lambda x: (x + 1, 3, np.array([1, 2])))
    a, three, arr = f(np.zeros(2))
    assert three.shape == () and three.dtype == np.int64 and int(three) == 3
    arr[0] = 7  # the caller owns it
    assert_array_equal(f(np.zeros(2))[2], [1, 2])


def test_kwargs_and_static_arguments():
    def power(x, n, *, scale):
        out = x
        for _ in range(n - 1):  # Python control flow on a static value is fine
            out = out * x
        return out * scale

    f = jitgraph.jit(power, static_argnums=1)
    x = np.array([1.0, 2.0, 3.0])
    assert_allclose(f(x, 3, scale=2.0), 2 * x**3)
    assert_allclose(f(x, 3, scale=0.5), 0.5 * x**3)
    assert f.cache_info()["traces"] == 1
    assert_allclose(f(x, 2, scale=1.0), x**2)
    assert f.cache_info()["traces"] == 2
    by_name = jitgraph.jit(power, static_argnames="n")
    assert_allclose(by_name(x, n=2, scale=1.0), x**2)
    assert_allclose(by_name(x, 2, scale=1.0), x**2)  # a static name also binds positionally


def test_unhashable_static_argument_is_named():
    f = jitgraph.jit(lambda x, shape: x, static_argnums=1)
    with pytest.raises(TypeError, match=r"static argument 1 \('shape'\) must be hashable.*list"):
        f(np.ones(2), [2, 3])


def test_unsupported_argument_is_named():
    f = jitgraph.jit(lambda x, opts: x)
    with pytest.raises(TypeError, match=r"argument opts\['mode'\] is a str"):
        f(np.ones(2), {"mode": "fast"})


def test_reference_backend_agrees_with_default():
    def fn(x, y):
        return exp(x - y) / (1 + x * x)

    x, y = np.linspace(0, 2, 9), np.linspace(-1, 1, 9)
    fast = jitgraph.jit(fn)
    reference = jitgraph.jit(fn, backend="reference")
    assert_allclose(fast(x, y), reference(x, y), rtol=1e-13)
    assert reference.lower(x, y).function.mode.name == "REFERENCE"
    assert jitgraph.jit(fn, backend="llvm").lower(x, y).function.mode.name == "FAST_RUN"


def test_bad_backend():
    # backend='cuda' is tested in tests/backends/cuda/test_cuda_function.py
    with pytest.raises(ValueError, match="backend must be"):
        jitgraph.jit(lambda x: x, backend="tpu")


def test_lower_shows_every_stage():
    f = jitgraph.jit(lambda x, y: exp(x) * y + 1)
    lowered = f.lower(np.ones(4), np.ones(4))
    text = lowered.as_text()
    for section in ["== traced graph", "== optimized graph", "== kernels (1)", "== LLVM IR"]:
        assert section in text
    assert "Elemwise{exp}" in text  # the traced graph, before fusion
    assert "Fused{" in text and "kernel(rank 1" in text
    assert "define void @" in text  # the LLVM IR of the kernel
    assert_allclose(lowered.compile()(np.zeros(2), np.ones(2)), [2.0, 2.0])


def test_cache_info_and_clear_cache():
    f = jitgraph.jit(lambda x: x + 1)
    f(np.ones(3))
    f(np.ones(5))
    assert f.cache_info()["traces"] == 1 and f.cache_info()["entries"] == 1
    f.clear_cache()
    assert f.cache_info()["entries"] == 0
    f(np.ones(3))
    assert f.cache_info()["entries"] == 1


def test_decorator_with_options_and_methods():
    class Model:
        scale = 3.0

        @jitgraph.jit(static_argnums=0)
        def apply(self, x):
            return x * self.scale

    assert_allclose(Model().apply(np.ones(2)), [3.0, 3.0])


def test_jit_of_jit_inlines():
    inner = jitgraph.jit(lambda x: x * 2)
    outer = jitgraph.jit(lambda x: inner(x) + 1)
    assert_allclose(outer(np.ones(3)), [3.0, 3.0, 3.0])
    assert inner.cache_info()["traces"] == 0


def test_fast_path_size_one_dims_fall_back():
    f = jitgraph.jit(lambda x, y: x + y)
    f(np.ones(4), np.ones(4))
    # y of size 1 needs broadcasting: the general (4,) program cannot run it; a new trace can
    assert_allclose(f(np.ones(4), np.full(1, 2.0)), [3.0] * 4)
    assert f.cache_info()["traces"] == 2
    assert_allclose(f(np.arange(4.0), np.arange(4.0)), [0.0, 2.0, 4.0, 6.0])


_DISK_SCRIPT = textwrap.dedent(
    """
    import json, numpy as np, jitgraph
    SCALE = 3.0

    def helper(x):
        return x * SCALE

    @jitgraph.jit
    def f(x, y):
        return helper(x) + y

    out = f(np.arange(4.0), 1.0)
    info = f.cache_info()
    info["out"] = out.tolist()
    print(json.dumps(info))
    """
)


def test_disk_cache_skips_tracing_in_a_new_process(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(_DISK_SCRIPT)
    env = dict(os.environ, JITGRAPH_CACHE_DIR=str(tmp_path / "cache"))

    def run() -> dict:
        done = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    first = run()
    assert first["traces"] == 1 and first["disk_stores"] == 1
    second = run()
    assert second["traces"] == 0 and second["disk_hits"] == 1
    assert first["out"] == second["out"] == [1.0, 4.0, 7.0, 10.0]
    # a changed global changes the fingerprint: the new process traces again
    script.write_text(_DISK_SCRIPT.replace("SCALE = 3.0", "SCALE = 4.0"))
    third = run()
    assert third["traces"] == 1 and third["out"] == [1.0, 5.0, 9.0, 13.0]


def test_fingerprint_follows_code_globals_and_closures():
    from jitgraph.jit_cache import function_fingerprint

    def make(k):
        return lambda x: x * k

    assert function_fingerprint(make(2)) == function_fingerprint(make(2))
    assert function_fingerprint(make(2)) != function_fingerprint(make(3))
    assert function_fingerprint(make(object())) is None  # not fingerprintable: traced each time
    assert function_fingerprint(lambda x: x + 1) != function_fingerprint(lambda x: x + 2)


def test_in_place_operations_on_arguments_inside_jit():
    @jitgraph.jit
    def bump(a):  # type: ignore[no-untyped-def]
        a += 1.0
        a[0] = -5.0
        return a * 2.0

    x = np.arange(3.0)
    np.testing.assert_array_equal(bump(x), [-10.0, 4.0, 6.0])
    np.testing.assert_array_equal(x, [0.0, 1.0, 2.0])  # the caller's array is untouched


def test_non_native_byte_order_arguments():
    doubled = jitgraph.jit(lambda x: x * 2)
    np.testing.assert_array_equal(doubled(np.arange(4.0).astype(">f8")), [0.0, 2.0, 4.0, 6.0])
