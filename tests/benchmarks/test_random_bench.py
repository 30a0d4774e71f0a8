"""benchmarks/random.py: the runner checks both systems' values before timing, reports one
row per system and thread count, and writes them as JSON.

Sizes are tiny and samples short: these tests check what is reported, never how fast
anything is.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import benchmarks.__main__ as runner
from benchmarks import random as random_bench
from jitgraph.ops.random import philox_values


def test_the_runner_dispatches_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "random.json"
    arguments = ["random", "--quick", "--size", "1003", "--threads", "1,2", "--json", str(path)]
    assert runner.main(arguments) == 0
    printed = capsys.readouterr().out
    assert "uniform_float64" in printed and "uniform_float32" in printed
    document = json.loads(path.read_text())
    assert document["machine"]["size"] == 1003
    rows = document["results"]
    cells = [(row["workload"], row["system"], row["threads"]) for row in rows]
    assert cells == [
        (workload, system, threads)
        for workload in ("uniform_float64", "uniform_float32")
        for system, threads in (("numpy", 1), ("jitgraph", 1), ("jitgraph", 2))
    ]
    for row in rows:
        assert row["status"] == "ok" and row["median_s"] > 0
        assert row["ratio_to_numpy"] == pytest.approx(
            row["median_s"]
            / next(
                r["median_s"]
                for r in rows
                if r["system"] == "numpy" and r["workload"] == row["workload"]
            )
        )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_jitgraph_call_draws_the_stream_and_advances_its_counter(dtype: str) -> None:
    workload = random_bench.RandomWorkload(f"uniform_{dtype}", dtype, 10)
    call = random_bench.jitgraph_call(workload, threads=1)
    distribution = {"float32": "uniform32", "float64": "uniform64"}[dtype]
    first, second = call(), call()
    np.testing.assert_array_equal(first, philox_values(random_bench.KEY, 0, 0, 10, distribution))
    blocks = 5 if dtype == "float64" else 3  # 20 or 10 words, 4 per block
    expected = philox_values(random_bench.KEY, blocks, 0, 10, distribution)
    np.testing.assert_array_equal(second, expected)
    assert random_bench.check("jitgraph", workload, first) == ""


def test_check_catches_wrong_values() -> None:
    workload = random_bench.RandomWorkload("uniform_float64", "float64", 2000)
    good = philox_values(random_bench.KEY, 0, 0, 2000, "uniform64")
    assert random_bench.check("jitgraph", workload, good) == ""
    assert "outside" in random_bench.check("numpy", workload, good + 0.5)
    assert "mean" in random_bench.check("numpy", workload, good * 0.5)
    assert "dtype" in random_bench.check("numpy", workload, good.astype(np.float32))
    shifted = philox_values(random_bench.KEY, 1, 0, 2000, "uniform64")
    assert "reference" in random_bench.check("jitgraph", workload, shifted)
    assert random_bench.check("numpy", workload, shifted) == ""


def test_a_wrong_system_is_reported_and_not_timed(monkeypatch: pytest.MonkeyPatch) -> None:
    workload = random_bench.RandomWorkload("uniform_float32", "float32", 500)
    monkeypatch.setattr(
        random_bench, "numpy_call", lambda w: lambda: np.full(w.size, 2.0, dtype=np.float32)
    )
    rows = random_bench.measure(workload, [1], random_bench.QUICK)
    assert [(row.system, row.status) for row in rows] == [("numpy", "WRONG"), ("jitgraph", "ok")]
    assert rows[0].median_s is None and rows[1].median_s is not None
    assert rows[1].ratio_to_numpy is None
