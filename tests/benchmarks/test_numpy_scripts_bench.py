"""benchmarks/numpy_scripts.py: the scripts give NumPy's results on jitgraph.numpy, the runner
reports one row per system (and the @jit overhead pair) and writes them as JSON.

Sizes are tiny and samples short: these tests check what is reported, never how fast
anything is.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy
import pytest

import benchmarks.__main__ as runner
import jitgraph.numpy as jnp
from benchmarks import numpy_scripts


@pytest.mark.parametrize("workload", numpy_scripts.script_workloads(257), ids=lambda w: w.name)
def test_each_script_runs_on_jitgraph_numpy_with_numpys_results(workload) -> None:  # type: ignore[no-untyped-def]
    inputs = numpy_scripts.make_inputs(workload, 257)
    expected = workload.script(numpy, *inputs)
    assert numpy_scripts.check(expected, workload.script(jnp, *inputs)) == ""


def test_check_reports_a_wrong_result() -> None:
    assert "max abs error" in numpy_scripts.check(1.0, 1.5)
    assert "shape" in numpy_scripts.check(numpy.ones(2), numpy.ones(3))


def test_the_runner_dispatches_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "numpy.json"
    assert runner.main(["numpy", "--quick", "--size", "1001", "--json", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "logistic_sum" in printed and "call_overhead" in printed
    rows = json.loads(path.read_text())["rows"]
    systems = [(row["workload"], row["system"]) for row in rows]
    names = [w.name for w in numpy_scripts.script_workloads(1001)]
    assert systems == [
        *[(name, system) for name in names for system in ("numpy", "jitgraph.numpy")],
        ("call_overhead", "function"),
        ("call_overhead", "jit"),
    ]
    for row in rows:
        assert row["status"] == "ok" and row["median_s"] > 0 and row["ratio"] > 0


def test_filter_selects_workloads(capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["numpy", "--quick", "--size", "99", "--filter", "arith"]) == 0
    printed = capsys.readouterr().out
    assert "arith_chain" in printed and "logistic_sum" not in printed
    assert "call_overhead" not in printed
