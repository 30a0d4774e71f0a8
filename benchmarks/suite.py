"""The benchmark suite: jitgraph against NumPy and the installed peers, in one process.

    jitgraph bench                               # the full suite (a few minutes)
    jitgraph bench --quick --plot out.png        # small sizes, few repeats (under 2 minutes)
    jitgraph bench --filter logistic --threads 1 --peers numba,jax --json out.json
    python -m benchmarks --tiny                  # tiny sizes: seconds (tests, notebooks)

For each thread setting (1 thread, all cores, or both) one table: every workload of
:mod:`benchmarks.workloads` on every system of :mod:`benchmarks.peers`, with the median
time per call, the ratio to NumPy's median in the same table, GB/s where the workload
streams memory and its fraction of the memory bandwidth measured at the start, GFLOP/s for
the training step, and the build + first call time. Every system's first result is compared
with NumPy's before anything is timed: a mismatch shows as WRONG, never as a time. Then a
start-up table (fresh processes: first call with a cold and a warm cache, import time), see
:mod:`benchmarks.startup`. A peer that is not installed is skipped with a one-line reason.
Numbers are comparable only within one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import shutil
import sys
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

import numpy as np

from benchmarks import peers, plot, startup
from benchmarks.results import LEGEND, Result, format_table, write_json
from benchmarks.timing import (
    blas_description,
    blas_note,
    blas_threads,
    core_count,
    cpu_model,
    interleaved_medians,
    llvm_target,
    memory_bandwidth,
    module_versions,
)
from benchmarks.workloads import (
    FULL,
    QUICK,
    TINY,
    Inputs,
    Sizes,
    Workload,
    check_result,
    select,
    workloads,
)

SEED = 20240605


@dataclasses.dataclass(frozen=True)
class Settings:
    """What one run measures and how hard: sizes, rounds of interleaved samples, the length
    of a sample, processes per start-up figure (0: no start-up table), the bandwidth probe's
    array size (MB)."""

    sizes: Sizes
    repeats: int
    sample_seconds: float
    startup_repeats: int
    bandwidth_megabytes: int


FULL_SETTINGS = Settings(FULL, repeats=11, sample_seconds=0.05, startup_repeats=5,
                         bandwidth_megabytes=200)  # fmt: skip
QUICK_SETTINGS = Settings(QUICK, repeats=3, sample_seconds=0.01, startup_repeats=2,
                          bandwidth_megabytes=64)  # fmt: skip
TINY_SETTINGS = Settings(TINY, repeats=3, sample_seconds=2e-4, startup_repeats=0,
                         bandwidth_megabytes=16)  # fmt: skip


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
    count_flops = FLOP_COUNTS.get(workload.name)
    flops = None if count_flops is None else count_flops(dict(inputs))
    numpy_median = medians.get("numpy")
    for row in rows:
        if row.system not in medians:
            continue
        row.median_s = medians[row.system]
        if numpy_median:
            row.ratio_to_numpy = row.median_s / numpy_median
        if traffic is not None:
            row.gbps = traffic / row.median_s / 1e9
        if flops is not None:
            row.gflops = flops / row.median_s / 1e9


# Floating-point operations of one call, where they say more than bytes moved: the training
# step's two matrix-vector products (x @ w and x.T @ residual), a multiply and an add per
# element of x each; its elementwise work is O(samples + features) and is not counted.
FLOP_COUNTS: dict[str, Callable[[Inputs], int]] = {
    "logreg_step": lambda inputs: 4 * inputs["x"].size,
}


# ---------------------------------------------------------------------------- progress bar
class Progress:
    """A one-line progress bar on stderr, redrawn in place with a carriage return::

        [##########..........] 8/17 logistic_f32, 2 thread(s)

    Disabled (every method does nothing) when stderr is not a terminal or with
    ``--no-progress``. ``clear()`` erases the line before a table is printed to stdout.
    """

    WIDTH = 24

    def __init__(self, total: int, enabled: bool, stream: TextIO | None = None) -> None:
        self.total, self.enabled, self.done = max(total, 1), enabled, 0
        self.stream = sys.stderr if stream is None else stream
        self.shown = 0  # characters on the line now

    def show(self, label: str) -> None:
        """Draw the bar with ``label`` as what is being measured now."""
        if not self.enabled:
            return
        filled = self.WIDTH * self.done // self.total
        bar = "#" * filled + "." * (self.WIDTH - filled)
        line = f"[{bar}] {self.done}/{self.total} {label}"
        line = line[: shutil.get_terminal_size().columns - 1]
        self.stream.write("\r" + line.ljust(self.shown))
        self.stream.flush()
        self.shown = len(line)

    def advance(self) -> None:
        self.done += 1

    def clear(self) -> None:
        if self.enabled and self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.stream.flush()
            self.shown = 0


# ------------------------------------------------------------------------------ the tables
def measure_table(
    threads: int,
    systems: Sequence[Loaded],
    chosen: Sequence[Workload],
    settings: Settings,
    progress: Progress | None = None,
) -> tuple[list[Result], str]:
    """Every chosen workload at ``threads`` threads; (rows, the BLAS note for the header)."""
    progress = progress or Progress(len(chosen), enabled=False)
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
        progress.show(f"{workload.name}, {threads} thread(s)")
        rows += measure_workload(workload, systems, threads, settings, skip)
        progress.advance()
    return rows, blas_note(threads)


def add_bandwidth_fractions(rows: Sequence[Result], bandwidth_gbps: float) -> None:
    """Each row's GB/s as a fraction of the machine's measured memory bandwidth."""
    for row in rows:
        if row.gbps is not None and bandwidth_gbps > 0:
            row.bandwidth_fraction = row.gbps / bandwidth_gbps


def thread_settings(choice: str) -> list[int]:
    cores = core_count()
    return {"1": [1], "all": [cores], "both": sorted({1, cores})}[choice]


def machine_description(
    systems: Sequence[Loaded], settings: Settings, threads: Sequence[int]
) -> dict[str, Any]:
    """Everything the header prints (and the JSON file records): date, CPU and LLVM target,
    versions, BLAS, thread counts, measured memory bandwidth, load average."""
    modules = ["jitgraph", "numpy"]
    modules += [module for loaded in systems for module in loaded.system.requires]
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": core_count(),
        "threads": list(threads),
        "llvm_target": llvm_target(),
        "memory_bandwidth_gbps": round(memory_bandwidth(settings.bandwidth_megabytes), 1),
        "bandwidth_probe_megabytes": settings.bandwidth_megabytes,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "blas": blas_description(),
        "libraries": module_versions(modules),
        "versions": {loaded.system.name: loaded.system.version() for loaded in systems},
        "jitgraph_backend": jitgraph_backend(),
        "sizes": dataclasses.asdict(settings.sizes),
        "repeats": settings.repeats,
        "load_average_start": load_average(),
        "note": COMPARABLE,
    }


COMPARABLE = "numbers are comparable only within one run"


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


def header_lines(machine: Mapping[str, Any], skipped: Sequence[str]) -> list[str]:
    target, libraries = machine["llvm_target"], dict(machine["libraries"])
    core = [f"{name} {libraries.pop(name)}" for name in ("jitgraph", "numpy")]
    core += [f"llvmlite {target['llvmlite']} (LLVM {target['llvm']})"]
    core += [f"Python {machine['python']}"]
    peer_versions = ", ".join(f"{name} {version}" for name, version in libraries.items())
    threads = " and ".join(map(str, machine["threads"]))
    load = " ".join(map(str, machine["load_average_start"] or ["unknown"]))
    features = textwrap.fill(
        target["features"], width=100, initial_indent="CPU features (LLVM): ",
        subsequent_indent="  ", break_on_hyphens=False,
    )  # fmt: skip
    return [
        f"jitgraph benchmark suite, {machine['date']}: medians of repeated runs; "
        f"{COMPARABLE} (one machine, one load)",
        f"CPU: {machine['cpu']}, {machine['cores']} cores available; "
        f"LLVM target {target['triple']}, CPU {target['cpu_name']}",
        features,
        textwrap.fill(
            ", ".join(core) + (f"; peers: {peer_versions}" if peer_versions else ""),
            width=100,
            initial_indent="versions: ",
            subsequent_indent="  ",
        ),  # fmt: skip
        f"BLAS: {machine['blas']}",
        f"threads: one table per setting: {threads} (jitgraph, NumExpr, Numba, BLAS)",
        f"jitgraph FAST_RUN backend: {machine['jitgraph_backend']}",
        f"memory bandwidth: {machine['memory_bandwidth_gbps']} GB/s measured (np.copyto "
        f"between two {machine['bandwidth_probe_megabytes']} MB arrays, 1 thread, read + write)",
        f"load average (1/5/15 min) at start: {load}",
        *skipped,
        "",
        LEGEND,
    ]


# --------------------------------------------------------------------------------- the CLI
def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="jitgraph bench [suite]",
        description="jitgraph against NumPy and the installed peers (NumExpr, Numba, "
        "PyTensor, JAX); also `python -m benchmarks [suite]`",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, few repeats (<2 min)")
    size.add_argument(
        "--tiny", action="store_true", help="tiny sizes, no start-up table: seconds (tests)"
    )
    parser.add_argument("--filter", help="only workloads whose name or label contains this")
    parser.add_argument("--json", metavar="OUT.json", help="write header and rows as JSON")
    parser.add_argument(
        "--plot", metavar="OUT.png", help="bar chart of the ratios to NumPy (needs matplotlib)"
    )
    parser.add_argument("--threads", choices=("1", "all", "both"), default="both")
    parser.add_argument(
        "--peers", help="comma-separated peers (default: all installed); '' for none"
    )
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up table")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser.parse_args(list(argv))


def chosen_settings(options: argparse.Namespace) -> Settings:
    if options.tiny:
        return TINY_SETTINGS
    return QUICK_SETTINGS if options.quick else FULL_SETTINGS


def run(options: argparse.Namespace, settings: Settings) -> tuple[dict[str, Any], list[Result]]:
    """Measure and print every table; (machine description, all rows)."""
    systems, skipped = load_systems(peers.choose(options.peers))
    threads = thread_settings(options.threads)
    machine = machine_description(systems, settings, threads)
    print("\n".join(header_lines(machine, skipped)), flush=True)
    chosen = select(workloads(settings.sizes), options.filter)
    with_startup = settings.startup_repeats > 0 and not options.no_startup
    enabled = not options.no_progress and sys.stderr.isatty()
    progress = Progress(len(threads) * len(chosen) + with_startup, enabled)
    results: list[Result] = []
    for count in threads:
        rows, blas_note = measure_table(count, systems, chosen, settings, progress)
        add_bandwidth_fractions(rows, machine["memory_bandwidth_gbps"])
        progress.clear()
        print(f"\n== {count} thread(s) ({blas_note}) ==")
        print(format_table(rows), flush=True)
        results += rows
    if with_startup:
        progress.show("start-up: fresh processes")
        names = [loaded.system.name for loaded in systems]
        rows = startup.measure_startup(
            names, settings.startup_repeats, core_count(), options.filter
        )
        progress.clear()
        if rows:
            print("\n== start-up, fresh processes (median time; all cores) ==")
            print(format_table(rows), flush=True)
        results += rows
    machine["load_average_end"] = load_average()
    print(f"\nload average (1/5/15 min) at end: {machine['load_average_end']}")
    return machine, results


def main(argv: Sequence[str] = ()) -> int:
    """Run the suite; 2 (before measuring anything) for an unknown peer or a --plot without
    matplotlib."""
    options = parse_arguments(argv)
    try:
        peers.choose(options.peers)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    if options.plot and plot.missing() is not None:
        print(f"error: --plot: {plot.missing()}", file=sys.stderr)
        return 2
    machine, results = run(options, chosen_settings(options))
    if options.json:
        write_json(options.json, machine, results)
        print(f"\nwrote {options.json}")
    if options.plot:
        plot.save_ratio_chart(options.plot, machine, results)
        print(f"wrote {options.plot}")
    return 0
