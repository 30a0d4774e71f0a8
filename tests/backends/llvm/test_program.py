"""The LLVM backend behind ``function()``: what runs natively, fallbacks, the disk cache
across processes, and memory over many calls and many functions."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.backends.llvm.program import LLVMProgram
from jitgraph.printing import debugprint


def program_of(f: jitgraph.compile.function.Function) -> LLVMProgram:
    program = f._compiled.program
    assert isinstance(program, LLVMProgram)
    return program


def test_fast_run_compiles_kernels_to_native_code() -> None:
    x, y = T.dvectors("x", "y")
    f = jitgraph.function([x, y], T.sum(T.exp(x) * y))
    program = program_of(f)
    assert [program.describe_node(n) for n in f.maker.fgraph.nodes] == ["LLVM kernel"]
    np.testing.assert_allclose(f([0.0, 1.0], [2.0, 3.0]), 2 + 3 * np.e)
    assert program.fallbacks() == []


def test_a_lone_reduction_is_a_native_kernel() -> None:
    x = T.imatrix("x")
    f = jitgraph.function([x], T.max(x, axis=0))
    program = program_of(f)
    assert [program.describe_node(n) for n in f.maker.fgraph.nodes] == ["LLVM kernel"]
    value = np.arange(12, dtype="int32").reshape(3, 4)[::-1]
    np.testing.assert_array_equal(f(value), value.max(axis=0))


def test_debugprint_lists_the_reference_fallbacks() -> None:
    x = T.dvector("x")
    f = jitgraph.function([x], T.sort(x) * 2)
    program = program_of(f)
    assert [type(n.op).__name__ for n in program.fallbacks()] == ["Sort"]
    text = debugprint(f, file="str")
    [line] = [line for line in text.splitlines() if "fallback" in line]
    assert line.lstrip(" |").startswith("Sort")
    np.testing.assert_array_equal(f([3.0, 1.0, 2.0]), [2.0, 4.0, 6.0])


def test_shape_errors_name_the_inputs_on_the_native_path() -> None:
    x, y = T.dvectors("x", "y")
    f = jitgraph.function([x, y], x * y + 1)
    with pytest.raises(Exception, match="x") as info:
        f(np.zeros(3), np.zeros(4))
    assert "shape" in str(info.value)


ELEMENTWISE = ["exp", "tanh", "log1p", "sqrt", "sin", "abs_", "sqr", "sigmoid", "neg"]
BINARY = ["add", "sub", "mul", "true_div", "maximum", "minimum", "pow"]


@st.composite
def expressions(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    unary = draw(st.lists(st.sampled_from(ELEMENTWISE), min_size=1, max_size=4))
    binary = draw(st.lists(st.sampled_from(BINARY), min_size=1, max_size=3))
    return unary, binary


def build(x: T.TensorVariable, y: T.TensorVariable, ops: tuple[list[str], list[str]]):
    from jitgraph.tensor import nnet

    value = x
    unary, binary = ops
    for name in unary:
        function = nnet.sigmoid if name == "sigmoid" else getattr(T, name)
        if name in ("log1p", "sqrt"):
            value = abs(value) + 0.5
        elif name == "exp":  # exp of exp of ... amplifies a last-bit difference past any
            value = T.tanh(value)  # tolerance: keep each argument well conditioned
        value = function(value)
    for name in binary:
        value = getattr(T, name)(value, y)
    return value


@given(
    ops=expressions(),
    dtype=st.sampled_from(["float32", "float64"]),
    reduce=st.sampled_from([None, 0, 1, "all"]),
)
def test_random_expressions_match_the_reference(ops, dtype, reduce) -> None:
    x, y = T.matrix("x", dtype=dtype), T.row("y", dtype=dtype)
    value = build(x, y, ops)
    if reduce is not None:
        value = T.sum(value, axis=None if reduce == "all" else reduce)
    fast = jitgraph.function([x, y], value)
    reference = jitgraph.function([x, y], value, mode="REFERENCE")
    rng = np.random.default_rng(0)
    a = rng.uniform(0.1, 2, (5, 17)).astype(dtype)
    b = rng.uniform(0.1, 2, (1, 17)).astype(dtype)
    tolerance = 2e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(fast(a, b), reference(a, b), rtol=tolerance, atol=tolerance)


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_many_calls_do_not_grow_memory() -> None:
    x = T.dvector("x")
    w = jitgraph.shared(np.zeros(100), "w")
    f = jitgraph.function([x], T.sum(x * w), updates={w: w + x})
    value = np.ones(100)
    for _ in range(2000):
        f(value)
    gc.collect()
    before = _rss()
    for _ in range(100_000):
        f(value)
    gc.collect()
    assert _rss() - before < 2 * 2**20


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_dropped_functions_return_their_native_code() -> None:
    from jitgraph.backends.llvm import launch

    x = T.dvector("x")

    def make(k: int) -> jitgraph.compile.function.Function:
        return jitgraph.function([x], T.exp(x) * (k + 0.5) + T.cos(x) ** (k % 7 + 2))

    for k in range(40):  # warm up: the allocator's arenas and LLVM's own tables
        make(k)
    gc.collect()
    before = _rss()
    loaded_before = len(launch._loaded)  # other tests' functions may still be alive
    for k in range(40, 140):
        f = make(k)
        f(np.ones(4))
        del f
    gc.collect()
    assert len(launch._loaded) - loaded_before < 10  # the loaded code went with its functions
    # LLVM's optimizer (llvmlite's new pass manager) keeps ~0.3-0.55 MB per module it has
    # optimized, whatever is freed afterwards (measured; documented in the README): the
    # bound is that, not zero. The disk cache spares later processes the compilation.
    assert _rss() - before < 100 * 1.0 * 2**20


def test_a_new_process_skips_compilation_on_a_disk_cache_hit(tmp_path) -> None:
    script = textwrap.dedent(
        """
        import numpy as np, jitgraph, jitgraph.tensor as T
        from jitgraph.backends.llvm import target
        x = T.dvector("x")
        f = jitgraph.function([x], 1 / (1 + T.exp(-x)))
        assert abs(f(np.zeros(3))[0] - 0.5) < 1e-15
        print(target.STATISTICS["compiled_modules"])
        """
    )
    env = {**os.environ, "JITGRAPH_CACHE_DIR": str(tmp_path / "cache")}

    def compiled_modules() -> int:
        run = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        return int(run.stdout.split()[-1])

    assert compiled_modules() >= 1
    assert compiled_modules() == 0


def test_the_short_call_path_matches_the_general_one() -> None:
    from jitgraph.compile.fastcall import MISS

    m, r = T.dmatrix("m"), T.drow("r")
    f = jitgraph.function([m, r], [T.sum(m * r, axis=1), m - r])
    values = (np.arange(6.0).reshape(2, 3)[:, ::-1], np.ones((1, 3)))
    fast = f._fast_call(values)
    assert fast is not MISS
    general = f(values[0].tolist(), values[1].tolist())  # lists: the general path
    for a, b in zip(fast, general, strict=True):
        np.testing.assert_array_equal(a, b)
    assert f._fast_call((values[0], np.ones((1, 4)))) is MISS  # disagreeing shapes
    assert f._fast_call((values[0].astype("float32"), values[1])) is MISS
    assert f._fast_call((values[0], np.ones((2, 3)))) is MISS  # r's static dim is 1
    with pytest.raises(Exception, match="shape mismatch"):
        f(values[0], np.ones((1, 4)))


def test_functions_with_state_take_the_general_path() -> None:
    x = T.dvector("x")
    w = jitgraph.shared(np.zeros(2), "w")
    assert jitgraph.function([x], x + w)._fast_call is None
    assert jitgraph.function([x], x * 2, updates={w: w + x})._fast_call is None
