"""benchmarks/gpu.py: the skipped line where there is no GPU, the figures and verdicts it
derives from timings, the table it prints, and its measuring loop run on a stand-in CuPy.

The stand-in (``fake_cupy``) is NumPy with the handful of CuPy names the benchmark uses;
its CUDA events read the host clock. It checks what the benchmark does with its results,
never how fast anything is. One test runs the real thing on a GPU where there is one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from benchmarks import gpu
from jitgraph.__main__ import main as jitgraph_main
from jitgraph.backends.cuda import cuda_status

ROOT = Path(__file__).resolve().parents[2]
TINY = gpu.Settings(elements=1000, matrix=(8, 16), samples=3, sample_seconds=1e-4)
ALL_WORKLOADS = argparse.Namespace(filter=None)


# -------------------------------------------------------------------------- no GPU: skipped
@pytest.mark.skipif(cuda_status() is None, reason="a GPU is present: the benchmark would run")
def test_without_a_gpu_the_runner_prints_one_skipped_line_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "gpu"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"skipped: gpu: {cuda_status()}\n"


def test_jitgraph_bench_gpu_reports_the_reason_and_writes_it_to_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(gpu, "cuda_status", lambda: "no GPU in this test")
    path = tmp_path / "out.json"
    assert jitgraph_main(["bench", "gpu", "--quick", "--json", str(path)]) == 0
    assert capsys.readouterr().out == "skipped: gpu: no GPU in this test\n"
    document = json.loads(path.read_text())
    assert document == {"machine": {"skipped": "gpu: no GPU in this test"}, "results": []}


# ----------------------------------------------------------------------- workloads, helpers
def test_the_workloads_and_the_bytes_an_ideal_kernel_moves() -> None:
    chosen = {workload.name: workload for workload in gpu.gpu_workloads(gpu.FULL_SETTINGS)}
    logistic, norms = chosen["logistic_f32"], chosen["row_norms_f64"]
    assert logistic.shape == (10**8,) and logistic.traffic_bytes() == 2 * 4 * 10**8
    assert norms.shape == (16384, 4096)
    assert norms.traffic_bytes() == (16384 * 4096 + 16384) * 8
    quick = gpu.gpu_workloads(gpu.QUICK_SETTINGS)
    assert {w.shape for w in quick} == {(10**7,), (4096, 1024)}
    assert [w.name for w in gpu.select(quick, "f64")] == [
        "logistic_f64",
        "polynomial_f64",
        "row_norms_f64",
    ]


def test_the_formulas_compute_what_their_labels_say() -> None:
    x = np.linspace(-1.0, 1.0, 7)
    a, b, c, d = gpu.POLYNOMIAL_COEFFICIENTS
    np.testing.assert_allclose(gpu.polynomial(np, x), a * x**3 + b * x**2 + c * x + d)
    assert gpu.polynomial(np, x).min() >= 0.25  # as its docstring promises on [-1, 1]
    matrix = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(gpu.row_norms(np, matrix), np.linalg.norm(matrix, axis=1))


def test_gbps_and_the_version_strings() -> None:
    assert gpu.gbps(2 * 4 * 10**8, 0.4e-3) == pytest.approx(2000.0)
    assert gpu.cuda_version(12080) == "12.8"
    assert gpu.compute_capability("89") == "8.9"


def test_mismatch_names_what_differs() -> None:
    expected = np.ones(4, dtype=np.float32)
    assert gpu.mismatch(np, expected + 1e-7, expected, (2e-5, 1e-6)) is None
    assert gpu.mismatch(np, expected + 0.25, expected, (2e-5, 1e-6)) == "max abs error 0.25"
    assert gpu.mismatch(np, expected.astype(np.float64), expected, (1, 1)) == (
        "dtype float64, expected float32"
    )
    assert gpu.mismatch(np, expected[:3], expected, (1, 1)) == "shape (3,), expected (4,)"


# --------------------------------------------------------------- figures, verdicts, the table
def rows_for(workload: gpu.GpuWorkload, systems: list[str]) -> list[gpu.GpuResult]:
    return [
        gpu.GpuResult(workload.name, workload.label, name, None, dtype=workload.dtype)
        for name in systems
    ]


LOGISTIC_F32 = gpu.gpu_workloads(gpu.QUICK_SETTINGS)[0]  # 1e7 float32: 8e7 bytes a call
NORMS_F32 = gpu.gpu_workloads(gpu.QUICK_SETTINGS)[4]
SYSTEMS = ["jitgraph", "cupy", "cupy.fuse", "jax"]


def test_figures_and_verdicts_from_fabricated_timings() -> None:
    rows = rows_for(LOGISTIC_F32, SYSTEMS)
    medians = {"jitgraph": 40e-6, "cupy": 100e-6, "cupy.fuse": 39e-6, "jax": 38e-6}
    gpu.fill_figures(rows, LOGISTIC_F32, medians, copy=2400.0)
    gpu.judge(rows, LOGISTIC_F32)
    ours, unfused, fused, jax = rows
    assert ours.gbps == pytest.approx(2000.0)
    assert ours.bandwidth_fraction == pytest.approx(2000.0 / 2400.0)
    assert unfused.gbps == pytest.approx(800.0)
    assert [row.ratio_to_jitgraph for row in rows] == pytest.approx([1.0, 2.5, 0.975, 0.95])
    assert (ours.target, ours.verdict) == (">= 80% of copy bw", "pass")
    assert (unfused.target, unfused.verdict) == ("jitgraph faster", "pass")
    assert (fused.target, fused.verdict) == ("jitgraph faster", "FAIL")
    assert (jax.target, jax.verdict) == ("jitgraph within 10%", "pass")  # 40 < 1.1 * 38

    table = gpu.format_table(rows)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["workload", "dtype", "system"]
    assert "%copy" in lines[0] and "/jitgraph" in lines[0] and "target: verdict" in lines[0]
    assert lines[1].startswith("1/(1+exp(-x))  float32  jitgraph")
    assert "0.04 " in lines[1] and "2000.0" in lines[1] and "83%" in lines[1]
    assert lines[3].endswith("jitgraph faster: FAIL") and " 0.97 " in lines[3]
    assert not lines[2].startswith("1/(1+exp")  # the label shows on a group's first row only
    assert gpu.summary(rows) == [
        "targets (issue 10): 3 pass, 1 FAIL, 0 not judged",
        "  FAIL: logistic_f32 cupy.fuse: jitgraph faster",
    ]


def test_below_the_bandwidth_target_and_jax_out_of_reach_fail() -> None:
    rows = rows_for(LOGISTIC_F32, ["jitgraph", "jax"])
    gpu.fill_figures(rows, LOGISTIC_F32, {"jitgraph": 50e-6, "jax": 40e-6}, copy=2400.0)
    gpu.judge(rows, LOGISTIC_F32)
    assert [row.verdict for row in rows] == ["FAIL", "FAIL"]  # 67% of copy; 50 > 1.1 * 40


def test_row_norms_are_judged_on_bandwidth_only() -> None:
    rows = rows_for(NORMS_F32, SYSTEMS)
    medians = dict.fromkeys(SYSTEMS, 1e-3)
    gpu.fill_figures(rows, NORMS_F32, medians, copy=NORMS_F32.traffic_bytes() / 1e-3 / 1e9 / 0.7)
    gpu.judge(rows, NORMS_F32)
    assert rows[0].target == ">= 70% of copy bw"
    assert rows[0].bandwidth_fraction == pytest.approx(0.7)
    assert [row.target for row in rows[1:]] == ["", "", ""]


def test_a_wrong_or_failing_jitgraph_fails_every_target_and_shows_why() -> None:
    rows = rows_for(LOGISTIC_F32, SYSTEMS)
    rows[0].status, rows[0].reason = "FAIL", "max abs error 0.5"
    rows[3].status, rows[3].reason = "error", "RuntimeError: out of memory"
    gpu.fill_figures(rows, LOGISTIC_F32, {"cupy": 1e-4, "cupy.fuse": 5e-5}, copy=2400.0)
    gpu.judge(rows, LOGISTIC_F32)
    assert [row.verdict for row in rows] == ["FAIL", "FAIL", "FAIL", "FAIL"]
    assert rows[1].ratio_to_jitgraph is None
    lines = gpu.format_table(rows).splitlines()
    assert "FAIL: max abs error 0.5  >= 80% of copy bw: FAIL" in lines[1]
    assert "error: RuntimeError: out of memory" in lines[4]


def test_a_peer_that_was_not_timed_is_not_judged() -> None:
    rows = rows_for(LOGISTIC_F32, ["jitgraph", "jax"])
    rows[1].status, rows[1].reason = "error", "XlaRuntimeError: ..."
    gpu.fill_figures(rows, LOGISTIC_F32, {"jitgraph": 40e-6}, copy=2400.0)
    gpu.judge(rows, LOGISTIC_F32)
    assert rows[1].verdict == "not judged: jax not timed"
    assert gpu.summary(rows)[0] == "targets (issue 10): 1 pass, 0 FAIL, 1 not judged"


# ------------------------------------------------------------------ the loop on a stand-in
class FakeEvent:
    """A CUDA event that reads the host clock (the stand-in runs everything synchronously)."""

    def record(self) -> None:
        self.at = time.perf_counter()

    def synchronize(self) -> None:
        pass


class FakeDevice:
    id = 0
    compute_capability = "90"
    mem_info = (8 * 10**9, 16 * 10**9)

    def synchronize(self) -> None:
        pass


class FakeRandomState:
    def __init__(self, seed: int) -> None:
        self.generator = np.random.default_rng(seed)

    def uniform(self, low: float, high: float, size: Any, dtype: Any) -> np.ndarray:
        return self.generator.uniform(low, high, size).astype(dtype)


def fake_cupy() -> Any:
    """NumPy under the CuPy names benchmarks/gpu.py uses; ``fuse`` returns the function."""
    runtime = SimpleNamespace(
        getDeviceProperties=lambda device: {"name": b"Fake GPU", "totalGlobalMem": 16 * 10**9},
        runtimeGetVersion=lambda: 12040,
        driverGetVersion=lambda: 12080,
    )
    cuda = SimpleNamespace(
        Device=FakeDevice,
        Event=FakeEvent,
        get_elapsed_time=lambda start, end: (end.at - start.at) * 1e3,
        runtime=runtime,
    )
    pool = SimpleNamespace(free_all_blocks=lambda: None)
    names = ("exp", "sqrt", "sum", "abs", "allclose", "asarray", "ones", "empty_like", "copyto")
    return SimpleNamespace(
        __version__="0.0-fake",
        cuda=cuda,
        random=SimpleNamespace(RandomState=FakeRandomState),
        asnumpy=np.asarray,
        fuse=lambda function: function,
        get_default_memory_pool=lambda: pool,
        **{name: getattr(np, name) for name in names},
    )


def jitgraph_on_the_cpu(workload: gpu.GpuWorkload, x: Any) -> gpu.Call:
    """jitgraph's version as benchmarks/gpu.py builds it, compiled for the CPU."""
    import jitgraph
    import jitgraph.tensor as T

    variable = T.tensor(workload.dtype, shape=(None,) * x.ndim, name="x")
    compiled = jitgraph.function([variable], workload.formula(T, variable))
    return lambda: compiled(x)


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The stand-in CuPy; JAX (if installed) is looked up as the benchmark does, with the
    environment restored afterwards."""
    monkeypatch.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    return fake_cupy()


def test_the_loop_checks_times_and_judges_every_system(
    stand_in: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(gpu, "build_jitgraph", jitgraph_on_the_cpu)
    monkeypatch.setattr(gpu, "on_device", lambda output: output)
    machine, rows = gpu.run(stand_in, ALL_WORKLOADS, TINY)
    printed = capsys.readouterr().out
    assert "GPU: Fake GPU, compute capability 9.0, 16.0 GB; CUDA runtime 12.4, driver 12.8" in (
        printed
    )
    assert "versions: cupy 0.0-fake; jitgraph " in printed
    assert machine["copy_gbps"] > 0
    if "jax" not in {row.system for row in rows}:
        assert "skipped: jax: " in printed
    assert [row.workload for row in rows[:: len(rows) // 6]] == [
        w.name for w in gpu.gpu_workloads(TINY)
    ]
    for row in rows:
        assert row.status == "ok", (row.workload, row.system, row.reason)
        assert row.median_s is not None and row.median_s > 0
        expected = gpu.gbps(next_workload(row).traffic_bytes(), row.median_s)
        assert row.gbps == pytest.approx(expected)
        assert row.bandwidth_fraction == pytest.approx(expected / machine["copy_gbps"])
        assert row.verdict in (("pass", "FAIL") if row.target else ("",))
    assert "targets (issue 10): " in printed and "median ms" in printed


def next_workload(row: gpu.GpuResult) -> gpu.GpuWorkload:
    return next(w for w in gpu.gpu_workloads(TINY) if w.name == row.workload)


def test_a_wrong_result_is_a_fail_with_its_error_and_is_never_timed(stand_in: Any) -> None:
    def off_by_one(workload: gpu.GpuWorkload, x: Any) -> gpu.Call:
        return lambda: workload.formula(np, x) + 1

    timer = gpu.event_timer(stand_in)
    systems = [
        gpu.GpuSystem("cupy", lambda w, x: lambda: w.formula(stand_in, x), timer, np.asarray),
        gpu.GpuSystem("off by one", off_by_one, timer, np.asarray),
    ]
    workload = gpu.gpu_workloads(TINY)[0]
    good, wrong = gpu.measure_workload(stand_in, workload, systems, TINY, copy=100.0)
    assert good.status == "ok" and good.median_s is not None
    assert (wrong.status, wrong.reason, wrong.median_s) == ("FAIL", "max abs error 1", None)


def test_jitgraph_output_must_stay_on_the_gpu() -> None:
    with pytest.raises(TypeError, match="numpy.ndarray, not a CuPy array"):
        gpu.on_device(np.ones(3))


def test_a_workload_that_does_not_fit_is_skipped(stand_in: Any) -> None:
    stand_in.cuda.Device = type("SmallDevice", (FakeDevice,), {"mem_info": (1000, 10**9)})
    systems = gpu.cupy_systems(stand_in)
    rows = gpu.measure_workload(stand_in, gpu.gpu_workloads(TINY)[0], systems, TINY, copy=1.0)
    assert {row.status for row in rows} == {"skipped"}
    assert rows[0].reason.startswith("needs 0.0 GB of GPU memory")


# -------------------------------------------------------------------------------- on a GPU
@pytest.mark.skipif(cuda_status() is not None, reason=f"no GPU: {cuda_status()}")
def test_on_a_gpu_cupy_and_its_fuse_run_and_jitgraph_matches_or_says_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from jitgraph.backends.cuda.runtime import cupy_module

    settings = gpu.Settings(elements=10**5, matrix=(64, 256), samples=3, sample_seconds=1e-3)
    machine, rows = gpu.run(cupy_module(), ALL_WORKLOADS, settings)
    assert machine["copy_gbps"] > 0 and "compute capability" in capsys.readouterr().out
    for row in rows:
        if row.system in ("cupy", "cupy.fuse") and row.workload.startswith("logistic"):
            assert row.status == "ok", (row.workload, row.system, row.reason)
        if row.system == "jitgraph":
            assert row.status == "ok" or row.reason, row
