"""The `jitgraph bench` command (benchmarks/suite.py, plot.py, __main__.py): what it prints,
the files it writes, and how it reports what it cannot do.

Runs use ``--tiny`` (sizes of a thousand elements, short samples) with NumPy and jitgraph
only: these tests check what the runner reports, never how fast anything is.
"""

from __future__ import annotations

import doctest
import importlib
import io
import json
import sys
from pathlib import Path

import pytest

from benchmarks import peers, plot, suite
from jitgraph.__main__ import main as jitgraph_main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PEER_MODULES = ("numexpr", "numba", "pytensor", "jax")
TINY_ONE_THREAD = ["--tiny", "--threads", "1", "--no-progress"]


def test_bench_prints_the_header_and_one_table_and_writes_json_and_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    json_path, png_path = tmp_path / "out.json", tmp_path / "out.png"
    options = ["--peers", "", "--json", str(json_path), "--plot", str(png_path)]
    assert jitgraph_main(["bench", *TINY_ONE_THREAD, *options]) == 0
    printed = capsys.readouterr().out
    for expected in (
        "numbers are comparable only within one run",
        "CPU features (LLVM): ",
        "versions: jitgraph ",
        "llvmlite ",
        "memory bandwidth: ",
        "load average (1/5/15 min) at start: ",
        "threads: one table per setting: 1 ",
    ):
        assert expected in printed, expected
    assert printed.count("\n== ") == 1  # one thread setting: one table, no start-up table
    assert "workload" in printed and "%bw" in printed and "GFLOP/s" in printed
    assert "logistic regression step" in printed

    document = json.loads(json_path.read_text())
    machine, rows = document["machine"], document["results"]
    assert machine["threads"] == [1] and machine["memory_bandwidth_gbps"] > 0
    assert {"triple", "cpu_name", "features", "llvm"} <= set(machine["llvm_target"])
    assert {"jitgraph", "numpy"} <= set(machine["libraries"])
    assert {row["system"] for row in rows} == {"numpy", "jitgraph"}
    for row in rows:
        assert row["status"] == "ok", row
        if row["gbps"] is not None:
            expected = row["gbps"] / machine["memory_bandwidth_gbps"]
            assert row["bandwidth_fraction"] == pytest.approx(expected)
        assert (row["gflops"] is not None) == (row["workload"] == "logreg_step")

    image = png_path.read_bytes()
    assert image.startswith(PNG_SIGNATURE) and len(image) > 10_000


def test_missing_peers_are_reported_and_the_run_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As on a machine without the `bench` extra: every peer module is absent."""
    for module in PEER_MODULES:
        monkeypatch.setitem(sys.modules, module, None)  # find_spec -> None, import fails
    options = [*TINY_ONE_THREAD, "--filter", "call_overhead"]
    assert suite.main(options) == 0
    printed = capsys.readouterr().out
    for system in peers.SYSTEMS[2:]:
        assert f"skipped: {system.name}: " in printed
        assert "not installed" in printed.split(f"skipped: {system.name}: ")[1].splitlines()[0]
    table = printed.split("\n== ")[1]
    assert "numpy" in table and "jitgraph" in table and "numba" not in table


def test_plot_without_matplotlib_is_an_error_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    status = jitgraph_main(["bench", "--tiny", "--plot", str(tmp_path / "out.png")])
    assert status == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no header: nothing was measured
    (line,) = captured.err.strip().splitlines()
    assert "matplotlib is not installed" in line and "jitgraph[plot]" in line
    assert not (tmp_path / "out.png").exists()


def test_progress_bar_draws_in_place_and_clears() -> None:
    stream = io.StringIO()
    progress = suite.Progress(4, enabled=True, stream=stream)
    progress.show("logistic_f64, 1 thread(s)")
    progress.advance()
    progress.show("arith_f64, 1 thread(s)")
    progress.clear()
    text = stream.getvalue()
    assert text.startswith("\r[") and "0/4 logistic_f64" in text and "1/4 arith_f64" in text
    assert "\n" not in text and text.endswith("\r")


def test_no_progress_bar_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert suite.main(["--tiny", "--threads", "1", "--peers", "", "--filter", "arith"]) == 0
    assert "\r" not in capsys.readouterr().err


def test_bench_help_and_the_benchmark_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert jitgraph_main(["bench", "--help"]) == 0
    printed = capsys.readouterr().out
    for name in ("suite", "scan", "random", "numpy", "optimizer_scaling"):
        assert f"  {name}\n" in printed + "\n"
    with pytest.raises(SystemExit):
        jitgraph_main(["bench", "suite", "--help"])
    printed = capsys.readouterr().out
    for option in ("--quick", "--tiny", "--filter", "--json", "--plot", "--threads"):
        assert option in printed
    assert jitgraph_main(["bench", "no_such_benchmark"]) == 2


def test_ratio_chart_groups_by_thread_setting() -> None:
    from benchmarks.results import Result

    rows = [
        Result("a", "A", "numpy", 1, median_s=1.0, ratio_to_numpy=1.0),
        Result("a", "A", "jitgraph", 1, median_s=0.5, ratio_to_numpy=0.5),
        Result("b", "B", "jitgraph", 2, median_s=2.0, ratio_to_numpy=2.0),
        Result("import", "import", "jitgraph", 2, median_s=0.1),  # no ratio: left out
    ]
    assert plot.ratios_by_threads(rows) == {1: (["A"], {"jitgraph": [0.5]}),
                                            2: (["B"], {"jitgraph": [2.0]})}  # fmt: skip


@pytest.mark.parametrize(
    "module", ["benchmarks", "benchmarks.__main__", "benchmarks.results", "benchmarks.plot"]
)
def test_module_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
