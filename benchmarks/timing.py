"""Timing primitives of the suite: interleaved medians, loop calibration for tiny calls, the
machine description and a measured memory bandwidth.

Calls are timed round-robin: every round times each system once (starting with a different
system each round), so that a slow drift of the machine (frequency, another process, the
page cache) spreads over all systems instead of landing on one. Each sample is the mean of a
loop of ``loops`` calls, ``loops`` chosen per system so that a sample lasts about
``sample_seconds``: one call of a 1e7-element workload, a hundred thousand calls of a 0-d add.
The garbage collector is off while a sample runs, as ``timeit`` does.

>>> medians = interleaved_medians({"noop": lambda: None}, repeats=3, sample_seconds=1e-4)
>>> sorted(medians), medians["noop"] > 0
(['noop'], True)
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np


def time_loop(call: Callable[[], Any], loops: int) -> float:
    """Seconds per call of ``loops`` back-to-back calls (GC disabled meanwhile)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(loops):
            call()
        return (time.perf_counter() - start) / loops
    finally:
        if collecting:
            gc.enable()


def calibrate_loops(call: Callable[[], Any], sample_seconds: float) -> int:
    """How many calls make a sample of about ``sample_seconds`` (at least one).

    Grows the loop tenfold until it lasts a tenth of the target, so that a sub-microsecond
    call is estimated from thousands of calls rather than from one noisy reading.
    """
    loops = 1
    while True:
        per_call = time_loop(call, loops)
        if per_call * loops >= sample_seconds / 10 or loops >= 10**7:
            return max(1, round(sample_seconds / per_call))
        loops *= 10


def interleaved_medians(
    calls: Mapping[str, Callable[[], Any]], repeats: int, sample_seconds: float
) -> dict[str, float]:
    """Median seconds per call of each entry, sampled round-robin ``repeats`` times.

    The calls must already be warm: every call here is timed (calibration aside).
    """
    names = list(calls)
    loops = {name: calibrate_loops(calls[name], sample_seconds) for name in names}
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(repeats):
        shift = round_number % max(1, len(names))
        for name in names[shift:] + names[:shift]:
            samples[name].append(time_loop(calls[name], loops[name]))
    return {name: statistics.median(values) for name, values in samples.items()}


def memory_bandwidth(megabytes: int, repeats: int = 5) -> float:
    """GB/s of ``np.copyto`` between two arrays of ``megabytes`` each: bytes read plus
    bytes written over the median time. Both arrays are touched first, so the figure does
    not include page faults."""
    count = megabytes * 2**20 // 8
    source = np.ones(count)
    destination = np.zeros(count)
    np.copyto(destination, source)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(destination, source)
        times.append(time.perf_counter() - start)
    return 2 * source.nbytes / statistics.median(times) / 1e9


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo; ``platform.processor()`` elsewhere)."""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def core_count() -> int:
    """Cores this process may run on (its affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _threadpoolctl_installed() -> bool:
    return importlib.util.find_spec("threadpoolctl") is not None


@contextlib.contextmanager
def blas_threads(threads: int) -> Iterator[None]:
    """Limit every BLAS loaded so far to ``threads`` threads meanwhile (with threadpoolctl;
    without it, a no-op that :func:`blas_note` reports)."""
    if not _threadpoolctl_installed():
        yield
        return
    threadpoolctl = importlib.import_module("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=threads, user_api="blas"):
        yield


def blas_note(threads: int) -> str:
    """What :func:`blas_threads` does, for a table's title."""
    if not _threadpoolctl_installed():
        return "BLAS threads not controlled: threadpoolctl not installed"
    return f"BLAS limited to {threads} thread(s)"


def blas_description() -> str:
    """The BLAS libraries NumPy and SciPy loaded, as threadpoolctl sees them."""
    if not _threadpoolctl_installed():
        return "unknown (threadpoolctl not installed)"
    threadpool_info = importlib.import_module("threadpoolctl").threadpool_info
    found = [
        f"{entry.get('internal_api')} {entry.get('version')} ({entry.get('num_threads')} threads)"
        for entry in threadpool_info()
        if entry.get("user_api") == "blas"
    ]
    return "; ".join(found) or "none found"


def llvm_target() -> dict[str, str]:
    """What jitgraph's LLVM backend compiles for: triple, CPU name, the CPU features it
    enables (the ``+`` ones of :func:`jitgraph.backends.llvm.target.host_features`), and
    the llvmlite and LLVM versions."""
    import llvmlite
    import llvmlite.binding as llvm

    from jitgraph.backends.llvm.target import host_features

    enabled = [feature[1:] for feature in host_features().split(",") if feature[:1] == "+"]
    return {
        "triple": llvm.get_process_triple(),
        "cpu_name": llvm.get_host_cpu_name(),
        "features": " ".join(enabled),
        "llvmlite": llvmlite.__version__,
        "llvm": ".".join(map(str, llvm.llvm_version_info)),
    }


def module_versions(modules: Iterable[str]) -> dict[str, str]:
    """``{module: version}`` of imported-or-importable ``modules``, each once, in order."""
    versions: dict[str, str] = {}
    for module in modules:
        if module not in versions:
            imported = importlib.import_module(module)
            versions[module] = str(getattr(imported, "__version__", "?"))
    return versions
