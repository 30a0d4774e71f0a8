"""The benchmark suite: jitgraph against NumPy and the installed peers, in one process.

    python -m benchmarks                         # the full suite (a few minutes)
    python -m benchmarks --quick                 # small sizes, few repeats (under 2 minutes)
    python -m benchmarks --filter logistic --threads 1 --peers numba,jax --json out.json

For each thread setting (1 thread, all cores, or both) one table: every workload of
:mod:`benchmarks.workloads` on every system of :mod:`benchmarks.peers`, with the median
time per call, the ratio to NumPy's median in the same table, GB/s where the workload
streams memory, and the build + first call time. Every system's first result is compared
with NumPy's before anything is timed: a mismatch shows as WRONG, never as a time. Then a
start-up table (fresh processes: first call with a cold and a warm cache, import time), see
:mod:`benchmarks.startup`. Numbers are comparable only within one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from benchmarks import peers, startup
from benchmarks.results import Result, format_table, write_json
from benchmarks.timing import (
    blas_description,
    blas_note,
    blas_threads,
    core_count,
    cpu_model,
    interleaved_medians,
    memory_bandwidth,
)
from benchmarks.workloads import FULL, QUICK, Sizes, Workload, check_result, select, workloads

SEED = 20240605


@dataclasses.dataclass(frozen=True)
class Settings:
    """What one run measures and how hard: sizes, rounds of interleaved samples, the length
    of a sample, processes per start-up figure, the bandwidth probe's array size (MB)."""

    sizes: Sizes
    repeats: int
    sample_seconds: float
    startup_repeats: int
    bandwidth_megabytes: int


FULL_SETTINGS = Settings(FULL, repeats=11, sample_seconds=0.05, startup_repeats=5,
                         bandwidth_megabytes=200)  # fmt: skip
QUICK_SETTINGS = Settings(QUICK, repeats=3, sample_seconds=0.01, startup_repeats=2,
                          bandwidth_megabytes=64)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Loaded:
    """A system whose modules imported: its workload table."""

    system: peers.System
    builders: Mapping[str, peers.Builder]


def load_systems(systems: Sequence[peers.System]) -> tuple[list[Loaded], list[str]]:
    """The systems that import, and one "skipped: ..." line for each that does not."""
    loaded, skipped = [], []
    for system in systems:
        missing = system.missing()
        if missing is not None:
            skipped.append(f"skipped: {system.name}: {missing}")
            continue
        try:
            loaded.append(Loaded(system, system.builders()))
        except Exception as error:  # a broken peer install must not stop the suite
            skipped.append(f"skipped: {system.name}: import failed: {one_line(error)}")
    return loaded, skipped


def one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines() or [""]
    return f"{type(error).__name__}: {lines[0][:160]}"


# ------------------------------------------------------------------------------ one workload
def build_and_first_call(
    loaded: Loaded, workload: Workload, inputs: Mapping[str, np.ndarray], threads: int
) -> tuple[Result, Callable[[], Any] | None, Any]:
    """Build ``loaded``'s version of ``workload`` and call it once: (result row, the call
    to time or None, the first call's outputs)."""
    result = Result(workload.name, workload.label, loaded.system.name, threads)
    builder = loaded.builders.get(workload.name)
    if builder is None:
        result.status, result.reason = "n/a", "no version of this workload"
        return result, None, None
    try:
        start = time.perf_counter()
        call = builder(workload, dict(inputs))
        first = call()
        result.first_call_s = time.perf_counter() - start
    except Exception as error:
        result.status, result.reason = "error", one_line(error)
        return result, None, None
    return result, call, _copy_outputs(first)


def _copy_outputs(outputs: Any) -> Any:
    """The first call's outputs as owned NumPy arrays: a system may hand out buffers that
    its next call overwrites."""
    if isinstance(outputs, tuple | list):
        return [np.array(item) for item in outputs]
    return np.array(outputs)


def measure_workload(
    workload: Workload,
    systems: Sequence[Loaded],
    threads: int,
    settings: Settings,
    skip: Mapping[str, str],
) -> list[Result]:
    """One workload on every system at ``threads``: build, check against NumPy, warm up,
    time round-robin. ``skip`` maps a system name to why it is not measured here."""
    inputs = workload.make_inputs(np.random.default_rng(SEED))
    rows: list[Result] = []
    calls: dict[str, Callable[[], Any]] = {}
    firsts: dict[str, Any] = {}
    for loaded in systems:
        if loaded.system.name in skip:
            reason = skip[loaded.system.name]
            rows.append(Result(workload.name, workload.label, loaded.system.name, threads,
                               status="skipped", reason=reason))  # fmt: skip
            continue
        row, call, first = build_and_first_call(loaded, workload, inputs, threads)
        rows.append(row)
        if call is not None:
            calls[row.system], firsts[row.system] = call, first
    check_against_numpy(workload, rows, calls, firsts)
    # BLAS limits are set after building: a system may load its own BLAS while building.
    with blas_threads(threads):
        warm_up(rows, calls)
        medians = interleaved_medians(calls, settings.repeats, settings.sample_seconds)
    fill_times(workload, rows, medians, inputs, firsts.get("numpy"))
    return rows


def warm_up(rows: Sequence[Result], calls: dict[str, Callable[[], Any]]) -> None:
    """Call each system a second time (page faults and lazy initialisation end here); a
    system whose second call raises becomes an error row and is not timed."""
    for row in rows:
        if row.system not in calls:
            continue
        try:
            calls[row.system]()
        except Exception as error:
            row.status, row.reason = "error", f"second call: {one_line(error)}"
            del calls[row.system]


def check_against_numpy(
    workload: Workload,
    rows: Sequence[Result],
    calls: dict[str, Callable[[], Any]],
    firsts: Mapping[str, Any],
) -> None:
    """Mark WRONG (and drop from ``calls``) every system whose first result differs from
    NumPy's; without a NumPy result nothing can be checked, so nothing is timed."""
    rtol, atol = workload.tolerances()
    for row in rows:
        if row.system not in calls or row.system == "numpy":
            continue
        if "numpy" not in firsts:
            row.status, row.reason = "error", "NumPy failed: nothing to check against"
        else:
            reason = check_result(firsts["numpy"], firsts[row.system], rtol, atol)
            if reason is None:
                continue
            row.status, row.reason = "WRONG", reason
        row.first_call_s = None
        del calls[row.system]


def fill_times(
    workload: Workload,
    rows: Sequence[Result],
    medians: Mapping[str, float],
    inputs: Mapping[str, np.ndarray],
    numpy_result: Any,
) -> None:
    traffic = workload.traffic_bytes(dict(inputs), numpy_result)
    numpy_median = medians.get("numpy")
    for row in rows:
        if row.system not in medians:
            continue
        row.median_s = medians[row.system]
        if numpy_median:
            row.ratio_to_numpy = row.median_s / numpy_median
        if traffic is not None:
            row.gbps = traffic / row.median_s / 1e9


# ------------------------------------------------------------------------------ the tables
def measure_table(
    threads: int, systems: Sequence[Loaded], chosen: Sequence[Workload], settings: Settings
) -> tuple[list[Result], str]:
    """Every chosen workload at ``threads`` threads; (rows, the BLAS note for the header)."""
    skip: dict[str, str] = {}
    all_cores = threads == core_count()
    for loaded in systems:
        if loaded.system.fixed_threads and not all_cores:
            skip[loaded.system.name] = loaded.system.fixed_threads
            continue
        try:
            loaded.system.set_threads(threads)
        except Exception as error:
            skip[loaded.system.name] = f"cannot set threads: {one_line(error)}"
    rows: list[Result] = []
    for workload in chosen:
        rows += measure_workload(workload, systems, threads, settings, skip)
        print(f"  measured {workload.name}", file=sys.stderr, flush=True)
    return rows, blas_note(threads)


def thread_settings(choice: str) -> list[int]:
    cores = core_count()
    return {"1": [1], "all": [cores], "both": sorted({1, cores})}[choice]


def machine_description(systems: Sequence[Loaded], settings: Settings) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": core_count(),
        "memory_bandwidth_gbps": round(memory_bandwidth(settings.bandwidth_megabytes), 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "blas": blas_description(),
        "versions": {loaded.system.name: loaded.system.version() for loaded in systems},
        "jitgraph_backend": jitgraph_backend(),
        "sizes": dataclasses.asdict(settings.sizes),
        "repeats": settings.repeats,
        "load_average_start": load_average(),
        "note": "numbers are comparable only within one run",
    }


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages: other processes on the machine skew every
    figure of a run, this says how busy it was."""
    if not hasattr(os, "getloadavg"):
        return None
    return [round(value, 2) for value in os.getloadavg()]


def jitgraph_backend() -> str:
    """Which backend runs jitgraph's FAST_RUN (the mode's ``backend`` attribute)."""
    try:
        from jitgraph.compile.mode import get_mode

        return str(getattr(get_mode(None), "backend", "unknown"))
    except Exception as error:
        return f"unknown ({one_line(error)})"


def print_header(machine: Mapping[str, Any], skipped: Sequence[str]) -> None:
    bandwidth = machine["memory_bandwidth_gbps"]
    print("jitgraph benchmark suite: numbers are comparable only within one run")
    print(f"CPU: {machine['cpu']}, {machine['cores']} cores; date {machine['date']}")
    print(f"memory bandwidth {bandwidth} GB/s (np.copyto of 2 large arrays, read+write)")
    print(f"Python {machine['python']}; BLAS: {machine['blas']}")
    print("versions: " + "; ".join(machine["versions"].values()))
    print(f"jitgraph FAST_RUN backend: {machine['jitgraph_backend']}")
    print(f"load average (1/5/15 min) at start: {machine['load_average_start']}")
    for line in skipped:
        print(line)


# --------------------------------------------------------------------------------- the CLI
def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks [suite]",
        description="jitgraph against NumPy and installed peers (numexpr, numba, pytensor, jax)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--filter", help="only workloads whose name or label contains this")
    parser.add_argument("--json", help="write the results to this JSON file")
    parser.add_argument("--threads", choices=("1", "all", "both"), default="both")
    parser.add_argument(
        "--peers", help="comma-separated peers (default: all installed); '' for none"
    )
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up table")
    return parser.parse_args(list(argv))


def run(options: argparse.Namespace, settings: Settings) -> tuple[dict[str, Any], list[Result]]:
    """Measure and print every table; (machine description, all rows)."""
    systems, skipped = load_systems(peers.choose(options.peers))
    machine = machine_description(systems, settings)
    print_header(machine, skipped)
    chosen = select(workloads(settings.sizes), options.filter)
    results: list[Result] = []
    for threads in thread_settings(options.threads):
        rows, blas_note = measure_table(threads, systems, chosen, settings)
        print(f"\n== {threads} thread(s) ({blas_note}) ==")
        print(format_table(rows), flush=True)
        results += rows
    if not options.no_startup:
        names = [loaded.system.name for loaded in systems]
        rows = startup.measure_startup(
            names, settings.startup_repeats, core_count(), options.filter
        )
        if rows:
            print("\n== start-up, fresh processes (median time; all cores) ==")
            print(format_table(rows), flush=True)
        results += rows
    machine["load_average_end"] = load_average()
    print(f"\nload average (1/5/15 min) at end: {machine['load_average_end']}")
    return machine, results


def main(argv: Sequence[str] = ()) -> int:
    options = parse_arguments(argv)
    try:
        peers.choose(options.peers)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    machine, results = run(options, QUICK_SETTINGS if options.quick else FULL_SETTINGS)
    if options.json:
        write_json(options.json, machine, results)
        print(f"\nwrote {options.json}")
    return 0
