"""benchmarks/scan.py: every system computes the same RNN states and BPTT gradient as NumPy,
the NumPy reference itself is right, and the runner reports what it measured.

Sizes are tiny and samples short: these tests check what is reported, never how fast
anything is. A peer that is not installed is skipped; PyTensor compiles C (and Numba) code
for every graph, hence ``slow``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import benchmarks.__main__ as runner
from benchmarks import peers, scan, suite
from benchmarks.workloads import Inputs, Workload

SLOW = {"pytensor-c", "pytensor-numba"}
NUMPY = scan.SYSTEMS[0]


@pytest.fixture(autouse=True)
def keep_thread_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The runner sets jitgraph's and Numba's thread counts for the process: put them back
    so that later tests run as configured."""
    import jitgraph

    monkeypatch.setattr(jitgraph.config, "threads", jitgraph.config.threads)
    numba = sys.modules.get("numba")
    numba_threads = numba.get_num_threads() if numba is not None else None
    yield
    numba = sys.modules.get("numba")
    if numba is not None:
        numba.set_num_threads(numba_threads or numba.config.NUMBA_NUM_THREADS)


def system_parameters() -> list[Any]:
    return [
        pytest.param(system, id=system.name, marks=[pytest.mark.slow] * (system.name in SLOW))
        for system in scan.SYSTEMS
        if system.name != "numpy"
    ]


def tiny_workloads() -> list[Workload]:
    return scan.scan_workloads(scan.TINY_SETTINGS)


@pytest.mark.parametrize("system", system_parameters())
def test_every_workload_matches_numpy(system: peers.System) -> None:
    missing = system.missing()
    if missing is not None:
        pytest.skip(missing)
    chosen = tiny_workloads()
    loaded, skipped = scan.load_systems([NUMPY, system], chosen, threads=1)
    assert skipped == []
    for workload in chosen:
        rows = scan.measure_workload(workload, loaded, scan.TINY_SETTINGS, threads=1)
        row = rows[1]
        assert row.status == "ok", (workload.name, row.status, row.reason)
        assert row.median_s is not None and row.per_step_s is not None
        assert row.per_step_s == pytest.approx(row.median_s / scan.TINY_SETTINGS.steps)


def test_the_numpy_gradient_matches_finite_differences() -> None:
    inputs = scan.rnn_inputs(hidden=3, steps=7)(np.random.default_rng(0))
    W, U, x0, Y = scan.arguments_of(inputs)
    loss, gradient = scan.numpy_bptt(W, U, x0, Y)
    assert loss == pytest.approx(scan.numpy_states(W, U, x0, Y).sum(), rel=1e-15)
    step = 1e-6
    expected = np.empty_like(W)
    for index in np.ndindex(W.shape):
        shift = np.zeros_like(W)
        shift[index] = step
        above = scan.numpy_states(W + shift, U, x0, Y).sum()
        below = scan.numpy_states(W - shift, U, x0, Y).sum()
        expected[index] = (above - below) / (2 * step)
    np.testing.assert_allclose(gradient, expected, rtol=1e-7, atol=1e-8)


def test_the_numpy_states_follow_the_recurrence() -> None:
    inputs = scan.rnn_inputs(hidden=2, steps=3)(np.random.default_rng(1))
    W, U, x0, Y = scan.arguments_of(inputs)
    first = np.tanh(x0 @ W + Y[0] @ U)
    second = np.tanh(first @ W + Y[1] @ U)
    third = np.tanh(second @ W + Y[2] @ U)
    np.testing.assert_array_equal(scan.numpy_states(W, U, x0, Y), [first, second, third])
    assert np.linalg.norm(W, 2) == pytest.approx(0.9)


def test_a_wrong_result_is_reported_wrong_and_never_timed() -> None:
    def off_by_a_little(workload: Workload, inputs: Inputs) -> Any:
        arguments = scan.arguments_of(inputs)
        return lambda: scan.numpy_states(*arguments) * (1 + 1e-6)

    wrong = peers.System("wrong", ("numpy",), lambda: {"rnn": off_by_a_little}, print)
    chosen = tiny_workloads()[:2]  # rnn_h3 (wrong) and bptt_h3 (no version: n/a)
    loaded, _ = scan.load_systems([NUMPY, wrong], chosen, threads=1)
    forward = scan.measure_workload(chosen[0], loaded, scan.TINY_SETTINGS, threads=1)
    assert (forward[1].status, forward[1].median_s, forward[1].per_step_s) == ("WRONG", None, None)
    assert "max abs error" in forward[1].reason
    gradient = scan.measure_workload(chosen[1], loaded, scan.TINY_SETTINGS, threads=1)
    assert gradient[1].status == "n/a"
    assert forward[0].status == gradient[0].status == "ok"


def test_the_command_skips_missing_peers_and_writes_the_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As on a machine without JAX and PyTensor: they are skipped with a reason, NumPy and
    jitgraph are measured, and every row of the JSON file says what was measured."""
    monkeypatch.setattr(scan, "QUICK_SETTINGS", scan.TINY_SETTINGS)
    find_spec = importlib.util.find_spec

    def without_peers(name: str, *arguments: Any) -> Any:
        return None if name in ("jax", "pytensor") else find_spec(name, *arguments)

    monkeypatch.setattr(importlib.util, "find_spec", without_peers)
    output = tmp_path / "scan.json"
    assert runner.main(["scan", "--quick", "--json", str(output)]) == 0
    printed = capsys.readouterr().out
    for peer in ("pytensor-c", "pytensor-numba", "jax"):
        assert f"skipped: {peer}: " in printed
    document = json.loads(output.read_text())
    rows = document["results"]
    expected = {(w.name, system) for w in tiny_workloads() for system in ("numpy", "jitgraph")}
    assert {(row["workload"], row["system"]) for row in rows} == expected
    for row in rows:
        assert row["status"] == "ok", row
        assert row["steps"] == scan.TINY_SETTINGS.steps
        assert row["per_step_s"] == pytest.approx(row["median_s"] / row["steps"])
        reference = {"numpy": "ratio_to_numpy", "jitgraph": "ratio_to_jitgraph"}[row["system"]]
        assert row[reference] == 1.0
    assert "comparable only within one run" in document["machine"]["note"]


def test_an_unknown_peer_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert scan.main(["--peers", "numexpr"]) == 2
    assert "unknown system 'numexpr'" in capsys.readouterr().err


def test_rows_keep_the_suite_fields() -> None:
    row = suite.Result("rnn_h2", "label", "numpy", 1, status="error", reason="boom")
    (result,) = scan.per_step_rows([row], {}, steps=10, hidden=2)
    assert (result.status, result.reason, result.per_step_s) == ("error", "boom", None)
    assert "error: boom" in scan.format_table([result])
