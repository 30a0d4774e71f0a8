"""benchmarks/suite.py: the runner's rows, its JSON file, and what it refuses to time.

Sizes are tiny and samples short: these tests check what the suite reports, never how fast
anything is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import benchmarks.__main__ as runner
from benchmarks import peers, startup, suite
from benchmarks.workloads import TINY, Inputs, Workload, workloads

TINY_SETTINGS = suite.Settings(
    TINY, repeats=1, sample_seconds=1e-4, startup_repeats=1, bandwidth_megabytes=1
)
ROW_FIELDS = {"workload", "system", "threads", "median_s", "ratio_to_numpy", "gbps", "status"}


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--quick`` runs at the tiny sizes."""
    monkeypatch.setattr(suite, "QUICK_SETTINGS", TINY_SETTINGS)


def fake_system(
    name: str, builder: Callable[[Workload, Inputs], Callable[[], Any]]
) -> suite.Loaded:
    system = peers.System(name, ("numpy",), dict, peers.no_thread_control)
    return suite.Loaded(system, {"logistic_f64": builder})


def loaded(name: str) -> suite.Loaded:
    (system,) = [each for each in peers.SYSTEMS if each.name == name]
    return suite.Loaded(system, system.builders())


def logistic_workload() -> Workload:
    return workloads(TINY)[0]


@pytest.mark.usefixtures("tiny")
def test_default_command_runs_the_suite_and_writes_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "results.json"
    arguments = ["--quick", "--peers", "", "--json", str(output), "--no-startup"]
    assert runner.main(arguments) == 0
    document = json.loads(output.read_text())
    machine, rows = document["machine"], document["results"]
    assert {"cpu", "cores", "memory_bandwidth_gbps", "versions", "note"} <= set(machine)
    assert set(machine["versions"]) == {"numpy", "jitgraph"}
    thread_counts = sorted({1, suite.core_count()})
    expected_cells = {
        (workload.name, system, threads)
        for workload in workloads(TINY)
        for system in ("numpy", "jitgraph")
        for threads in thread_counts
    }
    assert {(row["workload"], row["system"], row["threads"]) for row in rows} == expected_cells
    for row in rows:
        assert ROW_FIELDS <= set(row)
        assert row["status"] == "ok", row
        assert row["median_s"] > 0
        assert (row["gbps"] is None) == (row["workload"] in ("logreg_step", "call_overhead"))
        if row["system"] == "numpy":
            assert row["ratio_to_numpy"] == 1.0
    printed = capsys.readouterr().out
    assert printed.count("== ") == len(thread_counts)
    assert "comparable only within one run" in printed


def test_a_wrong_result_is_reported_wrong_and_never_timed() -> None:
    def off_by_a_little(workload: Workload, inputs: Inputs) -> Callable[[], Any]:
        return lambda: 1 / (1 + np.exp(-inputs["x"])) + 1e-6

    systems = [loaded("numpy"), fake_system("sloppy", off_by_a_little)]
    rows = suite.measure_workload(logistic_workload(), systems, 1, TINY_SETTINGS, skip={})
    numpy_row, sloppy_row = rows
    assert numpy_row.status == "ok" and numpy_row.median_s is not None
    assert sloppy_row.status == "WRONG"
    assert "max abs error 1e-06" in sloppy_row.reason
    assert sloppy_row.median_s is None and sloppy_row.ratio_to_numpy is None


def test_a_system_that_raises_is_an_error_row() -> None:
    def broken(workload: Workload, inputs: Inputs) -> Callable[[], Any]:
        raise RuntimeError("no code generator for exp\nsecond line")

    systems = [loaded("numpy"), fake_system("broken", broken)]
    _, row = suite.measure_workload(logistic_workload(), systems, 1, TINY_SETTINGS, skip={})
    assert (row.status, row.reason) == ("error", "RuntimeError: no code generator for exp")


def test_a_workload_a_system_lacks_is_not_applicable() -> None:
    systems = [loaded("numpy"), fake_system("partial", lambda workload, inputs: lambda: None)]
    overhead = workloads(TINY)[-1]
    _, row = suite.measure_workload(overhead, systems, 1, TINY_SETTINGS, skip={})
    assert row.status == "n/a"


@pytest.mark.usefixtures("tiny")
def test_a_missing_peer_is_skipped_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ghost = peers.System("ghost", ("no_such_module_for_the_suite",), dict, peers.no_thread_control)
    monkeypatch.setattr(peers, "SYSTEMS", (*peers.SYSTEMS, ghost))
    arguments = ["--quick", "--peers", "ghost", "--filter", "call_overhead", "--no-startup"]
    assert suite.main([*arguments, "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "skipped: ghost: no_such_module_for_the_suite not installed" in printed
    assert "call overhead" in printed


def test_an_unknown_peer_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert suite.main(["--peers", "numpyy"]) == 2
    assert "unknown system 'numpyy'" in capsys.readouterr().err


def test_a_system_with_fixed_threads_appears_only_in_the_all_core_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(suite, "core_count", lambda: 2)
    fixed = peers.System("fixed", ("numpy",), dict, peers.no_thread_control, fixed_threads="why")
    systems = [loaded("numpy"), suite.Loaded(fixed, loaded("numpy").builders)]
    chosen = [logistic_workload()]
    one_thread, _ = suite.measure_table(1, systems, chosen, TINY_SETTINGS)
    all_cores, _ = suite.measure_table(2, systems, chosen, TINY_SETTINGS)
    assert (one_thread[1].status, one_thread[1].reason) == ("skipped", "why")
    assert all_cores[1].status == "ok"


def test_startup_rows_come_from_fresh_processes() -> None:
    rows = startup.measure_startup(["jitgraph", "numpy"], repeats=1, threads=1, wanted=None)
    assert [(row.workload, row.system) for row in rows] == [
        ("first_call_cold", "jitgraph"),
        ("first_call_warm", "jitgraph"),
        ("import", "jitgraph"),
    ]
    for row in rows:
        assert row.status == "ok", row
        assert row.median_s is not None and row.median_s > 0
