"""Start-up costs, each measured in fresh Python processes: the first call of a function and
the time ``import <library>`` adds on top of NumPy.

First call: a process imports the library, builds the logistic function and calls it once
on 1e3 float64 values; the figure is the build plus that call (the import is reported
separately, by the import rows). "cold" runs with an empty cache directory of its own
(jitgraph: ``JITGRAPH_CACHE_DIR``; JAX: its persistent compilation cache), "warm" is a second
process on the directory the cold one filled. Each figure is the median over ``repeats``
cold/warm pairs; each process also checks its result against NumPy.

Import: ``import numpy`` first, then the time around ``import <library>``, median over
``repeats`` processes.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.results import Result

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "values = np.linspace(-5, 5, 1000)\nexpected = 1 / (1 + np.exp(-values))\n"
REPORT = (
    "ok = bool(np.allclose(np.asarray(result), expected, rtol=1e-9, atol=1e-12))\n"
    "print(json.dumps({'import_s': imported - start, 'first_call_s': done - imported,"
    " 'ok': ok}))\n"
)

# Each script reads its cache directory from BENCHMARK_CACHE_DIR.
FIRST_CALL_SCRIPTS = {
    "jitgraph": """
import json, os, time
import numpy as np
os.environ["JITGRAPH_CACHE_DIR"] = os.environ["BENCHMARK_CACHE_DIR"]
start = time.perf_counter()
import jitgraph
import jitgraph.tensor as T
imported = time.perf_counter()
x = T.dvector("x")
logistic = jitgraph.function([x], 1 / (1 + T.exp(-x)))
"""
    + SAMPLE
    + """result = logistic(values)
done = time.perf_counter()
""",
    "jax": """
import json, os, time
import numpy as np
start = time.perf_counter()
import jax
import jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_compilation_cache_dir", os.environ["BENCHMARK_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
imported = time.perf_counter()
logistic = jax.jit(lambda x: 1 / (1 + jnp.exp(-x)))
"""
    + SAMPLE
    + """result = logistic(values).block_until_ready()
done = time.perf_counter()
""",
}

IMPORT_SCRIPT = """
import time
import numpy
start = time.perf_counter()
import {module}
print(time.perf_counter() - start)
"""

# System name -> the module whose import is timed.
IMPORTED_MODULES = {
    "jitgraph": "jitgraph",
    "numexpr": "numexpr",
    "numba": "numba",
    "pytensor-c": "pytensor",
    "jax": "jax",
}


FIRST_CALL_LABELS = {
    "cold": "first call, cold cache (logistic 1e3)",
    "warm": "first call, warm cache (logistic 1e3)",
}
FIRST_CALL_TEXT = ("first_call_cold", "first_call_warm", *FIRST_CALL_LABELS.values())
IMPORT_LABEL = "import on top of numpy"


def run_python(script: str, environment: dict[str, str] | None = None) -> str:
    """stdout of ``python -c script`` in a fresh process at the repository root; raises
    RuntimeError with the last line of stderr when it fails."""
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env={**os.environ, **(environment or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if completed.returncode != 0:
        lines = completed.stderr.strip().splitlines() or ["(no message)"]
        raise RuntimeError(f"exit status {completed.returncode}: {lines[-1]}")
    return completed.stdout.strip().splitlines()[-1]


def first_call_pair(system: str) -> tuple[dict[str, float], dict[str, float]]:
    """(cold, warm) reports of one pair of processes sharing a new cache directory."""
    script = FIRST_CALL_SCRIPTS[system] + REPORT
    with tempfile.TemporaryDirectory(prefix="benchmark-cache-") as directory:
        environment = {"BENCHMARK_CACHE_DIR": directory}
        cold = json.loads(run_python(script, environment))
        warm = json.loads(run_python(script, environment))
    return cold, warm


def measure_first_calls(system: str, repeats: int, threads: int) -> list[Result]:
    """The "first call (cold cache)" and "(warm cache)" rows of ``system``."""
    labels = FIRST_CALL_LABELS
    try:
        pairs = [first_call_pair(system) for _ in range(repeats)]
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as error:
        return [
            Result(f"first_call_{kind}", label, system, threads, status="error", reason=str(error))
            for kind, label in labels.items()
        ]
    results = []
    for position, (kind, label) in enumerate(labels.items()):
        reports = [pair[position] for pair in pairs]
        result = Result(f"first_call_{kind}", label, system, threads)
        if not all(report["ok"] for report in reports):
            result.status, result.reason = "WRONG", "result differs from NumPy's"
        else:
            result.median_s = statistics.median(report["first_call_s"] for report in reports)
        results.append(result)
    return results


def measure_import(system: str, repeats: int, threads: int) -> Result:
    """The "import on top of numpy" row of ``system``."""
    module = IMPORTED_MODULES[system]
    result = Result("import", IMPORT_LABEL, system.split("-")[0], threads)
    try:
        times = [float(run_python(IMPORT_SCRIPT.format(module=module))) for _ in range(repeats)]
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as error:
        result.status, result.reason = "error", str(error)
        return result
    result.median_s = statistics.median(times)
    return result


def measure_startup(
    systems: Sequence[str], repeats: int, threads: int, wanted: str | None
) -> list[Result]:
    """Start-up rows for the available ``systems`` whose workload name or label contains
    ``wanted`` (all when None): first calls (cold, then warm), then imports."""

    def selected(result: Result) -> bool:
        return not wanted or wanted in result.workload or wanted in result.label

    results: list[Result] = []
    for system in systems:
        if system in FIRST_CALL_SCRIPTS and any(
            wanted is None or wanted in text for text in FIRST_CALL_TEXT
        ):
            results += measure_first_calls(system, repeats, threads)
    for system in systems:
        if system in IMPORTED_MODULES and selected(Result("import", IMPORT_LABEL, "", None)):
            results.append(measure_import(system, repeats, threads))
    order = ["first_call_cold", "first_call_warm", "import"]
    return sorted(filter(selected, results), key=lambda result: order.index(result.workload))
