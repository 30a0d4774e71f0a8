"""Bulk uniform draws: jitgraph's one-pass Philox uniforms against NumPy's Generator.

    python -m benchmarks random                  # 1e7 float64 and float32 values
    python -m benchmarks random --quick          # fewer and shorter samples
    python -m benchmarks random --size 1000000 --threads 1,2,4 --json out.json

Workloads ``uniform_float64`` and ``uniform_float32``: ``size`` uniform values in [0, 1).

Systems: ``numpy`` is ``numpy.random.default_rng(seed).random(size, dtype=...)`` (PCG64,
single-threaded: NumPy's Generator has no threads); ``jitgraph`` is a function compiled by
``jitgraph.function`` (the default mode) from the generator state (key, counter) to the
values (``jitgraph.ops.random.draw_uniform``), run at each of ``--threads`` kernel threads.
Both allocate their output on every call (and pay its page faults).

Before anything is timed, the jitgraph values are checked against the NumPy reference of
the draw (``philox_values``) on their first elements, and both systems' values for range,
dtype and mean (a failure is WRONG and never timed). Then every system is timed round-robin
(``interleaved_medians``) and the figure is the median. ``/numpy`` is the time over NumPy's
(below 1: faster than NumPy). Numbers are comparable only within one run.

>>> [workload.name for workload in random_workloads(1000)]
['uniform_float64', 'uniform_float32']
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import platform
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks.results import Result, format_seconds, write_json
from benchmarks.timing import core_count, cpu_model, interleaved_medians

SEED = 20240607
KEY = np.array([0x9E3779B9, 0x243F6A88], dtype=np.uint32)
CHECKED = 4096  # leading elements compared with the NumPy reference of the draw


@dataclasses.dataclass(frozen=True)
class RandomWorkload:
    name: str
    dtype: str
    size: int

    @property
    def label(self) -> str:
        return f"{self.size:.0e} uniform {self.dtype}".replace("+0", "")


@dataclasses.dataclass(frozen=True)
class Settings:
    repeats: int = 11
    sample_seconds: float = 0.25


QUICK = Settings(repeats=3, sample_seconds=0.05)


def random_workloads(size: int) -> list[RandomWorkload]:
    return [
        RandomWorkload("uniform_float64", "float64", size),
        RandomWorkload("uniform_float32", "float32", size),
    ]


# ---------------------------------------------------------------------------------- systems
def numpy_call(workload: RandomWorkload) -> Callable[[], np.ndarray]:
    generator = np.random.default_rng(SEED)
    dtype = np.float64 if workload.dtype == "float64" else np.float32
    return lambda: np.asarray(generator.random(workload.size, dtype=dtype))


def jitgraph_call(workload: RandomWorkload, threads: int) -> Callable[[], np.ndarray]:
    """A call of the compiled draw at ``threads`` kernel threads; the counter advances by
    the blocks consumed after every call, as a random stream's state does."""
    import jitgraph
    from jitgraph.ir.types import TensorType
    from jitgraph.ops.random import draw_uniform

    key = TensorType("uint32", (2,))("key")
    counter = TensorType("uint64", ())("counter")
    values, blocks = draw_uniform(key, counter, (workload.size,), workload.dtype)
    function = jitgraph.function([key, counter], [values, blocks])
    state = {"counter": np.uint64(0)}

    def call() -> np.ndarray:
        with jitgraph.config.change_flags(threads=threads):
            drawn, used = function(KEY, state["counter"])
        state["counter"] = np.uint64((int(state["counter"]) + int(used)) % 2**64)
        return np.asarray(drawn)

    return call


def check(system: str, workload: RandomWorkload, values: np.ndarray) -> str:
    """Why ``values`` (a first draw at counter 0 for jitgraph) are wrong; "" if right."""
    if values.dtype != np.dtype(workload.dtype) or values.shape != (workload.size,):
        return f"dtype/shape {values.dtype}{values.shape}"
    if values.size and not (values.min() >= 0 and values.max() < 1):
        return "values outside [0, 1)"
    if values.size >= 1000 and abs(values.mean() - 0.5) > 6 * np.sqrt(1 / 12 / values.size):
        return f"mean {values.mean():.6f}"
    if system == "jitgraph":
        from jitgraph.ops.random import UNIFORM_DISTRIBUTIONS, philox_values

        count = min(CHECKED, workload.size)
        distribution = UNIFORM_DISTRIBUTIONS[workload.dtype]
        expected = philox_values(KEY, 0, 0, count, distribution)
        if not np.array_equal(values[:count], expected):
            return "differs from the NumPy reference of the draw"
    return ""


# ---------------------------------------------------------------------------------- running
def measure(
    workload: RandomWorkload, thread_counts: Sequence[int], settings: Settings
) -> list[Result]:
    """One row per system: NumPy, then jitgraph at each thread count."""
    calls: dict[str, Callable[[], np.ndarray]] = {"numpy": numpy_call(workload)}
    for threads in thread_counts:
        calls[f"jitgraph/{threads}"] = jitgraph_call(workload, threads)
    rows: dict[str, Result] = {}
    for name, call in calls.items():
        system, _, thread_text = name.partition("/")
        row = Result(workload.name, workload.label, system, int(thread_text or 1))
        problem = check(system, workload, call())
        if problem:
            row.status, row.reason = "WRONG", problem
        rows[name] = row
    timed = {name: call for name, call in calls.items() if rows[name].status == "ok"}
    medians = interleaved_medians(timed, settings.repeats, settings.sample_seconds)
    for name, seconds in medians.items():
        rows[name].median_s = seconds
        rows[name].gbps = workload.size * np.dtype(workload.dtype).itemsize / seconds / 1e9
        if "numpy" in medians:
            rows[name].ratio_to_numpy = seconds / medians["numpy"]
    return list(rows.values())


def report(results: Sequence[Result], size: int) -> str:
    lines = [
        f"{'workload':<18} {'system':<9} {'threads':>7} {'per call':>9} {'per value':>9} "
        f"{'/numpy':>7} {'GB/s':>6}  status"
    ]
    for row in results:
        per_value = None if row.median_s is None else row.median_s / max(1, size)
        ratio = "" if row.ratio_to_numpy is None else f"{row.ratio_to_numpy:.2f}"
        gbps = "" if row.gbps is None else f"{row.gbps:.1f}"
        lines.append(
            f"{row.workload:<18} {row.system:<9} {row.threads:>7} "
            f"{format_seconds(row.median_s):>9} {format_seconds(per_value):>9} "
            f"{ratio:>7} {gbps:>6}  {row.status} {row.reason}".rstrip()
        )
    return "\n".join(lines)


def machine_description(options: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": core_count(),
        "threads": options.threads,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "size": options.size,
        "settings": dataclasses.asdict(settings),
        "note": "numbers are comparable only within one run",
    }


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks random",
        description="uniform draws: jitgraph (Philox, compiled) vs numpy.random.Generator",
    )
    parser.add_argument("--quick", action="store_true", help="fewer and shorter samples")
    parser.add_argument("--size", type=int, default=10**7, help="values per draw (1e7)")
    parser.add_argument(
        "--threads",
        type=lambda text: [int(t) for t in text.split(",")],
        default=[1, 2],
        help="jitgraph kernel thread counts, comma-separated (1,2)",
    )
    parser.add_argument("--json", help="write the results to this JSON file")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] = ()) -> int:
    options = parse_arguments(argv)
    settings = QUICK if options.quick else Settings()
    machine = machine_description(options, settings)
    print(f"cpu: {machine['cpu']} ({machine['cores']} cores); size {options.size}")
    results: list[Result] = []
    for workload in random_workloads(options.size):
        results.extend(measure(workload, options.threads, settings))
    print(report(results, options.size))
    if options.json:
        write_json(options.json, machine, results)
        print(f"\nwrote {options.json}")
    return 1 if any(row.status != "ok" for row in results) else 0
