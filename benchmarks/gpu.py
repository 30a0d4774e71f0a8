"""GPU benchmark (issue 10, "Speed"): jitgraph's CUDA backend against CuPy, ``cupy.fuse`` and
JAX on the same GPU, in one run.

    python -m benchmarks gpu                   # 1e8 elements, row norms on 16384x4096
    python -m benchmarks gpu --quick           # 1e7 elements, row norms on 4096x1024
    python -m benchmarks gpu --filter f32 --json out.json      (also: jitgraph bench gpu ...)

Without CuPy or a GPU it prints one line, ``skipped: gpu: <reason>`` (the reason is
:func:`jitgraph.backends.cuda.cuda_status`), and exits 0: that is all CI runs. CuPy is
imported only once a GPU is known to be there.

Workloads, each in float32 and float64: the logistic ``1/(1+exp(-x))`` and the polynomial
``((a*x + b)*x + c)*x + d`` (scalar constants) on a vector, and the row norms
``sqrt(sum(x*x, axis=1))`` of a matrix. Systems: jitgraph (``jitgraph.function([x], expr,
device='cuda')`` called with a CuPy array: the output stays on the GPU), CuPy unfused (the
plain expression, one kernel per operation), ``cupy.fuse`` of the same expression, and JAX
(``jax.jit`` on the GPU, from a JAX array made once) where JAX has a GPU (else one
``skipped: jax: ...`` line).

How it measures: the inputs are drawn on the GPU once per workload; every system's first
result is checked against CuPy's unfused one (allclose); a mismatch shows FAIL and the
largest error instead of a time, and is never timed. Then each system is warmed up and timed
round-robin: a sample is a batch of back-to-back calls (as many as fill about
``sample_seconds``, at least one) between two CUDA events on CuPy's current stream, and the
figure is the median of ``samples`` samples (per call). JAX runs on its own streams, which
CuPy's events do not see: its batch is timed by the host clock and ends with
``block_until_ready``. The copy bandwidth is ``cupy.copyto`` between two float32 arrays of
the workloads' element count, timed the same way: bytes read + written over the median.

Reported per workload and system: the median, GB/s (the bytes an ideal fused kernel moves:
inputs read once, the output written once, over the median), that as a percentage of the copy
bandwidth, the median over jitgraph's (above 1: jitgraph is faster), the build + first call,
and the issue's targets with pass/FAIL. Numbers are comparable only within one run.

>>> [workload.name for workload in gpu_workloads(QUICK_SETTINGS)]  # doctest: +NORMALIZE_WHITESPACE
['logistic_f32', 'logistic_f64', 'polynomial_f32', 'polynomial_f64', 'row_norms_f32',
 'row_norms_f64']
>>> gbps(800_000_000, 0.001)
800.0
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import gc
import importlib
import importlib.util
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from benchmarks.results import Result, format_optional, format_seconds, write_json
from benchmarks.workloads import TOLERANCES, logistic
from jitgraph.backends.cuda import cuda_status
from jitgraph.backends.cuda.runtime import is_device_array

SEED = 20261123
Call = Callable[[], Any]
Timer = Callable[[Call, int], float]  # (call, loops) -> seconds per call of a batch of loops


@dataclasses.dataclass(frozen=True)
class Settings:
    """Elements of the vector workloads, the row-norm matrix, samples per system (the
    median is taken over them), the length a sample is calibrated to (seconds), and the
    untimed calls before timing."""

    elements: int
    matrix: tuple[int, int]
    samples: int
    sample_seconds: float
    warm_up_calls: int = 3


FULL_SETTINGS = Settings(elements=10**8, matrix=(16384, 4096), samples=21, sample_seconds=0.02)
QUICK_SETTINGS = Settings(elements=10**7, matrix=(4096, 1024), samples=21, sample_seconds=0.005)


# ------------------------------------------------------------------------------ workloads
POLYNOMIAL_COEFFICIENTS = (0.25, -0.5, 1.0, 2.0)  # a, b, c, d


def polynomial(m: Any, x: Any) -> Any:
    """``((a*x + b)*x + c)*x + d``; with x in [-1, 1] it is increasing and at least 0.25,
    so a relative tolerance is fair to every system (no cancellation near a root)."""
    a, b, c, d = POLYNOMIAL_COEFFICIENTS
    return ((a * x + b) * x + c) * x + d


def row_norms(m: Any, x: Any) -> Any:
    """``sqrt(sum(x*x, axis=1))``: ``x*x`` as the issue writes it (CuPy runs ``x**2`` as a
    separate power kernel)."""
    return m.sqrt(m.sum(x * x, axis=1))


# Summation order differs between systems: float32 sums of thousands of terms differ by more
# than the elementwise tolerance.
REDUCTION_TOLERANCES: dict[str, tuple[float, float]] = {
    "float32": (1e-4, 1e-6),
    "float64": (1e-10, 1e-12),
}


@dataclasses.dataclass(frozen=True)
class GpuWorkload:
    """One computation on one input ``x`` of ``shape`` and ``dtype`` drawn uniformly from
    ``[low, high)``. ``formula(m, x)`` is written once for every array namespace (cupy,
    jax.numpy, jitgraph.tensor); ``reduces_rows``: it gives one value per row of a matrix
    (else one per element). The issue's targets: ``bandwidth_target`` is jitgraph's minimum
    fraction of the copy bandwidth; ``versus_peers``: jitgraph must also beat CuPy unfused and
    ``cupy.fuse`` and come within 10% of JAX."""

    name: str
    label: str
    dtype: str
    shape: tuple[int, ...]
    formula: Callable[[Any, Any], Any]
    low: float
    high: float
    reduces_rows: bool
    bandwidth_target: float
    versus_peers: bool

    def output_elements(self) -> int:
        return self.shape[0] if self.reduces_rows else math.prod(self.shape)

    def traffic_bytes(self) -> int:
        """Bytes an ideal fused kernel moves: the input read once, the output written once."""
        itemsize = np.dtype(self.dtype).itemsize
        return (math.prod(self.shape) + self.output_elements()) * itemsize

    def tolerance(self) -> tuple[float, float]:
        """(rtol, atol) against CuPy's result."""
        table = REDUCTION_TOLERANCES if self.reduces_rows else TOLERANCES
        return table[self.dtype]


def gpu_workloads(settings: Settings) -> list[GpuWorkload]:
    """Logistic, polynomial and row norms, each in float32 then float64."""
    vector, matrix = (settings.elements,), settings.matrix
    kinds = [  # name, label, formula, shape, input range, reduces rows, bandwidth target
        ("logistic", "1/(1+exp(-x))", logistic, vector, (-5.0, 5.0), False, 0.8),
        ("polynomial", "((a*x+b)*x+c)*x+d", polynomial, vector, (-1.0, 1.0), False, 0.8),
        ("row_norms", "sqrt(sum(x*x, axis=1))", row_norms, matrix, (-1.0, 1.0), True, 0.7),
    ]
    return [
        GpuWorkload(
            f"{name}_f{dtype[-2:]}",
            label,
            dtype,
            shape,
            formula,
            low,
            high,
            reduces_rows,
            target,
            versus_peers=not reduces_rows,
        )
        for name, label, formula, shape, (low, high), reduces_rows, target in kinds
        for dtype in ("float32", "float64")
    ]


def select(chosen: Sequence[GpuWorkload], pattern: str | None) -> list[GpuWorkload]:
    """The workloads whose name, label or dtype contains ``pattern`` (all for None)."""
    if not pattern:
        return list(chosen)
    return [w for w in chosen if pattern in w.name or pattern in w.label or pattern in w.dtype]


# ---------------------------------------------------------------------------- the figures
def gbps(traffic_bytes: int, seconds: float) -> float:
    """Gigabytes (1e9 bytes) per second."""
    return traffic_bytes / seconds / 1e9


def cuda_version(encoded: int) -> str:
    """CUDA's integer version as text: ``12040`` -> ``'12.4'``.

    >>> cuda_version(12040), cuda_version(13000)
    ('12.4', '13.0')
    """
    return f"{encoded // 1000}.{encoded % 1000 // 10}"


def compute_capability(digits: str) -> str:
    """CuPy's ``Device.compute_capability`` (``'90'``, ``'100'``) as ``'9.0'``, ``'10.0'``.

    >>> compute_capability("90"), compute_capability("100")
    ('9.0', '10.0')
    """
    return f"{digits[:-1]}.{digits[-1:]}"


def mismatch(xp: Any, actual: Any, expected: Any, tolerance: tuple[float, float]) -> str | None:
    """None when ``actual`` is allclose to ``expected`` (same shape and dtype), else what
    differs, with the largest absolute error. ``xp`` is the arrays' module (cupy, numpy).

    >>> mismatch(np, np.ones(3), np.ones(3), (1e-9, 0.0)) is None
    True
    >>> mismatch(np, np.array([1.0, 2.5]), np.array([1.0, 2.0]), (1e-9, 0.0))
    'max abs error 0.5'
    """
    if tuple(actual.shape) != tuple(expected.shape):
        return f"shape {tuple(actual.shape)}, expected {tuple(expected.shape)}"
    if actual.dtype != expected.dtype:
        return f"dtype {actual.dtype}, expected {expected.dtype}"
    rtol, atol = tolerance
    if bool(xp.allclose(actual, expected, rtol=rtol, atol=atol)):
        return None
    return f"max abs error {float(xp.abs(actual - expected).max()):.3g}"


@dataclasses.dataclass
class GpuResult(Result):
    """A suite row plus the GPU figures: ``bandwidth_fraction`` is over the measured copy
    bandwidth; ``ratio_to_jitgraph`` is this system's median over jitgraph's (above 1:
    jitgraph is faster); ``target`` is the issue's target this row is judged on (empty if
    none) and ``verdict`` is "pass", "FAIL" or "not judged: <why>". A result that differs
    from CuPy's has ``status`` "FAIL" and the error in ``reason``."""

    dtype: str = ""
    ratio_to_jitgraph: float | None = None
    target: str = ""
    verdict: str = ""


def fill_figures(
    rows: Sequence[GpuResult], workload: GpuWorkload, medians: Mapping[str, float], copy: float
) -> None:
    """Set each timed row's median, GB/s, fraction of the copy bandwidth ``copy`` (GB/s)
    and ratio to jitgraph's median."""
    for row in rows:
        if row.system not in medians:
            continue
        row.median_s = medians[row.system]
        row.gbps = gbps(workload.traffic_bytes(), row.median_s)
        row.bandwidth_fraction = row.gbps / copy
        if "jitgraph" in medians:
            row.ratio_to_jitgraph = row.median_s / medians["jitgraph"]


# The target on each peer's row, and the factor jitgraph's median must stay below
# the peer's median times: "faster than CuPy unfused and cupy.fuse, within 10% of JAX".
PEER_TARGETS: dict[str, tuple[str, float]] = {
    "cupy": ("jitgraph faster", 1.0),
    "cupy.fuse": ("jitgraph faster", 1.0),
    "jax": ("jitgraph within 10%", 1.1),
}


def judge(rows: Sequence[GpuResult], workload: GpuWorkload) -> None:
    """Set the issue's targets and verdicts: on jitgraph's row its fraction of the copy
    bandwidth; on the peers' rows (for workloads ``versus_peers``) jitgraph against them."""
    ours = next((row for row in rows if row.system == "jitgraph"), None)
    for row in rows:
        if row.system == "jitgraph":
            row.target = f">= {workload.bandwidth_target:.0%} of copy bw"
            fraction = row.bandwidth_fraction
            row.verdict = verdict(fraction is not None and fraction >= workload.bandwidth_target)
        elif workload.versus_peers and row.system in PEER_TARGETS:
            row.target, margin = PEER_TARGETS[row.system]
            row.verdict = compare_with(ours, row, margin)
        if row.target and row.status == "skipped":
            row.verdict = "not judged: skipped"


def compare_with(ours: GpuResult | None, peer: GpuResult, margin: float) -> str:
    """Whether jitgraph's median is below ``margin`` times the peer's. A jitgraph that was
    not timed (it failed, or was wrong) fails every target; a peer not timed judges none."""
    if ours is None or ours.median_s is None:
        return "FAIL"
    if peer.median_s is None:
        return f"not judged: {peer.system} not timed"
    return verdict(ours.median_s < margin * peer.median_s)


def verdict(passed: bool) -> str:
    return "pass" if passed else "FAIL"


# ---------------------------------------------------------------------------------- timing
@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No garbage collection meanwhile (as ``timeit`` does)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def event_timer(cupy: Any) -> Timer:
    """Seconds per call of ``loops`` back-to-back calls between two CUDA events recorded on
    CuPy's current stream (where CuPy and jitgraph launch), after the device is idle."""

    def time_calls(call: Call, loops: int) -> float:
        cupy.cuda.Device().synchronize()
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        with gc_paused():
            start.record()
            for _ in range(loops):
                call()
            end.record()
        end.synchronize()
        return float(cupy.cuda.get_elapsed_time(start, end)) / 1e3 / loops

    return time_calls


def host_timer(cupy: Any, block_until_ready: Callable[[Any], Any]) -> Timer:
    """Seconds per call of ``loops`` back-to-back calls by the host clock, the batch ended by
    ``block_until_ready`` on the last result (for JAX, whose streams CuPy's events miss)."""

    def time_calls(call: Call, loops: int) -> float:
        cupy.cuda.Device().synchronize()
        with gc_paused():
            start = time.perf_counter()
            last = None
            for _ in range(loops):
                last = call()
            block_until_ready(last)
            return (time.perf_counter() - start) / loops

    return time_calls


MAX_LOOPS = 10_000


def calibrate(timer: Timer, call: Call, sample_seconds: float) -> int:
    """Calls per sample: enough to last about ``sample_seconds``, at least one."""
    per_call = max(timer(call, 1), 1e-9)
    return max(1, min(MAX_LOOPS, math.ceil(sample_seconds / per_call)))


@dataclasses.dataclass(frozen=True)
class Timed:
    call: Call
    timer: Timer


def device_medians(
    calls: Mapping[str, Timed], samples: int, sample_seconds: float
) -> dict[str, float]:
    """Median seconds per call of each entry over ``samples`` samples taken round-robin
    (each round starts with a different system, so drift spreads over all of them)."""
    names = list(calls)
    loops = {name: calibrate(calls[name].timer, calls[name].call, sample_seconds) for name in names}
    taken: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(samples):
        shift = round_number % max(1, len(names))
        for name in names[shift:] + names[:shift]:
            taken[name].append(calls[name].timer(calls[name].call, loops[name]))
    return {name: statistics.median(values) for name, values in taken.items()}


def copy_bandwidth(cupy: Any, settings: Settings) -> float:
    """GB/s of ``cupy.copyto`` between two float32 arrays of ``settings.elements``: bytes
    read + written over the median of the samples."""
    source = cupy.ones(settings.elements, dtype=np.float32)
    destination = cupy.empty_like(source)
    copy = Timed(lambda: cupy.copyto(destination, source), event_timer(cupy))
    copy.call()
    median = device_medians({"copy": copy}, settings.samples, settings.sample_seconds)["copy"]
    return gbps(2 * source.nbytes, median)


# --------------------------------------------------------------------------------- systems
@dataclasses.dataclass(frozen=True)
class GpuSystem:
    """``build(workload, x)`` compiles the system's version for the CuPy input ``x`` and
    returns the call to time; ``fetch(output)`` gives a call's output as a CuPy array (to
    check it), raising if the system broke a rule (jitgraph's output left the GPU)."""

    name: str
    build: Callable[[GpuWorkload, Any], Call]
    timer: Timer
    fetch: Callable[[Any], Any]


def cupy_systems(cupy: Any) -> list[GpuSystem]:
    """jitgraph, CuPy unfused and ``cupy.fuse``: all launch on CuPy's current stream."""

    def unfused(workload: GpuWorkload, x: Any) -> Call:
        return lambda: workload.formula(cupy, x)

    def fused(workload: GpuWorkload, x: Any) -> Call:
        def kernel(x: Any) -> Any:  # a named function: cupy.fuse names its kernel after it
            return workload.formula(cupy, x)

        compiled = cupy.fuse(kernel)
        return lambda: compiled(x)

    timer = event_timer(cupy)
    return [
        GpuSystem("jitgraph", build_jitgraph, timer, on_device),
        GpuSystem("cupy", unfused, timer, lambda output: output),
        GpuSystem("cupy.fuse", fused, timer, lambda output: output),
    ]


def build_jitgraph(workload: GpuWorkload, x: Any) -> Call:
    import jitgraph
    import jitgraph.tensor as T

    variable = T.tensor(workload.dtype, shape=(None,) * len(workload.shape), name="x")
    compiled = jitgraph.function([variable], workload.formula(T, variable), device="cuda")
    return lambda: compiled(x)


def on_device(output: Any) -> Any:
    """``output`` if it is a CuPy array: jitgraph's outputs must stay on the GPU."""
    if not is_device_array(output):
        kind = f"{type(output).__module__}.{type(output).__name__}"
        raise TypeError(f"the output is a {kind}, not a CuPy array (it left the GPU)")
    return output


def jax_system(cupy: Any) -> tuple[GpuSystem | None, str | None]:
    """JAX on the GPU, or None and why not. JAX is told not to take most of the GPU's memory
    for itself (its default), which CuPy needs too."""
    if importlib.util.find_spec("jax") is None:
        return None, "jax not installed"
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    try:
        from benchmarks.peers import jax_modules

        jax, jnp = jax_modules()  # float64 enabled
        device = jax.devices("gpu")[0]
    except Exception as error:  # no CUDA-enabled jaxlib, or no GPU it can use
        return None, f"no GPU for JAX: {one_line(error)}"

    def build(workload: GpuWorkload, x: Any) -> Call:
        compiled = jax.jit(lambda x: workload.formula(jnp, x))
        x_jax = jax.device_put(cupy.asnumpy(x), device)  # made once: calls do not copy
        return lambda: compiled(x_jax)

    def fetch(output: Any) -> Any:
        return cupy.asarray(np.asarray(output))

    timer = host_timer(cupy, jax.block_until_ready)
    return GpuSystem("jax", build, timer, fetch), None


def load_systems(cupy: Any) -> tuple[list[GpuSystem], list[str]]:
    """The systems to measure, and a "skipped: ..." line for each that cannot run here."""
    systems = cupy_systems(cupy)
    jax, reason = jax_system(cupy)
    if jax is None:
        return systems, [f"skipped: jax: {reason}"]
    return [*systems, jax], []


def one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines() or [""]
    return f"{type(error).__name__}: {lines[0][:160]}"


# ------------------------------------------------------------------------------ measuring
def draw_input(cupy: Any, workload: GpuWorkload) -> Any:
    """The workload's input, drawn on the GPU (the same for every system)."""
    state = cupy.random.RandomState(SEED)
    x = state.uniform(workload.low, workload.high, size=workload.shape, dtype=workload.dtype)
    return x.astype(workload.dtype, copy=False)


def needed_bytes(workload: GpuWorkload) -> int:
    """GPU memory a workload may hold at once: its input twice (CuPy's, JAX's copy) and
    four outputs (CuPy's reference, a result being checked, JAX's, a spare)."""
    itemsize = np.dtype(workload.dtype).itemsize
    return (2 * math.prod(workload.shape) + 4 * workload.output_elements()) * itemsize


def first_call(
    system: GpuSystem, workload: GpuWorkload, x: Any, expected: Any, cupy: Any
) -> tuple[GpuResult, Call | None]:
    """Build, call once (timed with the host clock, up to the device being idle) and check
    against CuPy's result: (the row, the call to time or None)."""
    row = GpuResult(workload.name, workload.label, system.name, None, dtype=workload.dtype)
    try:
        start = time.perf_counter()
        call = system.build(workload, x)
        output = system.fetch(call())
        cupy.cuda.Device().synchronize()
        row.first_call_s = time.perf_counter() - start
        error = mismatch(cupy, output, expected, workload.tolerance())
    except Exception as exception:
        row.status, row.reason = "error", one_line(exception)
        return row, None
    if error is not None:
        row.status, row.reason = "FAIL", error
        return row, None
    return row, call


def warm_up(rows: Sequence[GpuResult], calls: dict[str, Timed], count: int) -> None:
    """Untimed calls; a system that raises here becomes an error row and is not timed."""
    for row in rows:
        if row.system not in calls:
            continue
        try:
            calls[row.system].timer(calls[row.system].call, count)
        except Exception as error:
            row.status, row.reason = "error", f"warm-up: {one_line(error)}"
            del calls[row.system]


def measure_workload(
    cupy: Any,
    workload: GpuWorkload,
    systems: Sequence[GpuSystem],
    settings: Settings,
    copy: float,
) -> list[GpuResult]:
    """One workload on every system: draw, check, warm up, time round-robin, judge."""
    free = int(cupy.cuda.Device().mem_info[0])
    if free < needed_bytes(workload):
        reason = f"needs {needed_bytes(workload) / 1e9:.1f} GB of GPU memory, {free / 1e9:.1f} free"
        return [GpuResult(workload.name, workload.label, system.name, None, status="skipped",
                          reason=reason, dtype=workload.dtype) for system in systems]  # fmt: skip
    x = draw_input(cupy, workload)
    expected = workload.formula(cupy, x)
    rows, calls = [], {}
    for system in systems:
        row, call = first_call(system, workload, x, expected, cupy)
        rows.append(row)
        if call is not None:
            calls[system.name] = Timed(call, system.timer)
    del expected
    warm_up(rows, calls, settings.warm_up_calls)
    medians = device_medians(calls, settings.samples, settings.sample_seconds)
    fill_figures(rows, workload, medians, copy)
    judge(rows, workload)
    del calls, x
    cupy.get_default_memory_pool().free_all_blocks()
    return rows


# ---------------------------------------------------------------------------------- output
COLUMNS = (("median ms", 10), ("GB/s", 7), ("%copy", 6), ("/jitgraph", 9), ("first call", 11))
LEGEND = """\
median ms: per call, median of the samples (a sample: a batch of back-to-back calls between
  CUDA events; JAX: host clock, ended by block_until_ready)
GB/s: input read once + output written once (an ideal fused kernel), over the median;
  %copy: GB/s / the device-to-device copy bandwidth measured in this run
/jitgraph: median / jitgraph's median (above 1: jitgraph is faster)
first call: building + the first call (where JIT systems compile)
FAIL in place of a time: the result differs from CuPy's (the largest error is shown)"""


def format_milliseconds(seconds: float | None) -> str:
    """Milliseconds with four significant digits.

    >>> format_milliseconds(0.000312345), format_milliseconds(None)
    ('0.3123', '-')
    """
    return "-" if seconds is None else f"{seconds * 1e3:.4g}"


def row_cells(row: GpuResult) -> list[str]:
    fraction = None if row.bandwidth_fraction is None else 100 * row.bandwidth_fraction
    return [
        format_milliseconds(row.median_s),
        format_optional(row.gbps, "{:.1f}"),
        format_optional(fraction, "{:.0f}%"),
        format_optional(row.ratio_to_jitgraph, "{:.2f}"),
        format_seconds(row.first_call_s),
    ]


def format_row(row: GpuResult, show_label: bool, widths: tuple[int, int]) -> str:
    label = row.label if show_label else ""
    dtype = row.dtype if show_label else ""
    start = f"{label:<{widths[0]}}  {dtype:<7}  {row.system:<{widths[1]}}"
    target = f"  {row.target}: {row.verdict}" if row.target else ""
    if row.status != "ok":
        note = row.status if not row.reason else f"{row.status}: {row.reason}"
        return f"{start}  {note}{target}"
    cells = " ".join(f"{cell:>{width}}" for cell, (_, width) in zip(row_cells(row), COLUMNS))
    return f"{start} {cells}{target}"


def format_table(rows: Sequence[GpuResult]) -> str:
    """Rows grouped by workload (label and dtype on a group's first row); the issue's target
    and its verdict end the rows that have one."""
    widths = (
        max([len("workload"), *(len(row.label) for row in rows)]),
        max([len("system"), *(len(row.system) for row in rows)]),
    )
    headings = " ".join(f"{heading:>{width}}" for heading, width in COLUMNS)
    lines = [f"{'workload':<{widths[0]}}  {'dtype':<7}  {'system':<{widths[1]}} {headings}"
             "  target: verdict"]  # fmt: skip
    previous = None
    for row in rows:
        lines.append(format_row(row, row.workload != previous, widths))
        previous = row.workload
    return "\n".join(lines)


def summary(rows: Sequence[GpuResult]) -> list[str]:
    """One line counting the verdicts, then one line per target that failed."""
    judged = [row for row in rows if row.target]
    passed = sum(row.verdict == "pass" for row in judged)
    failed = [row for row in judged if row.verdict == "FAIL"]
    lines = [f"targets (issue 10): {passed} pass, {len(failed)} FAIL, "
             f"{len(judged) - passed - len(failed)} not judged"]  # fmt: skip
    lines += [f"  FAIL: {row.workload} {row.system}: {row.target}" for row in failed]
    return lines


def describe_machine(cupy: Any, systems: Sequence[GpuSystem], settings: Settings) -> dict[str, Any]:
    import jitgraph

    device = cupy.cuda.Device()
    properties = cupy.cuda.runtime.getDeviceProperties(device.id)
    name = properties["name"]
    versions = {"cupy": str(cupy.__version__), "jitgraph": jitgraph.__version__}
    if any(system.name == "jax" for system in systems):
        versions["jax"] = str(importlib.import_module("jax").__version__)
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "gpu": name.decode() if isinstance(name, bytes) else str(name),
        "compute_capability": compute_capability(str(device.compute_capability)),
        "gpu_memory_gb": int(properties["totalGlobalMem"]) / 1e9,
        "cuda_runtime": cuda_version(int(cupy.cuda.runtime.runtimeGetVersion())),
        "cuda_driver": cuda_version(int(cupy.cuda.runtime.driverGetVersion())),
        "versions": versions,
        "python": platform.python_version(),
        "settings": dataclasses.asdict(settings),
        "note": "numbers are comparable only within one run",
    }


def power_of_ten(count: int) -> str:
    """A count as the issue writes sizes.

    >>> power_of_ten(10**8), power_of_ten(2 * 10**7)
    ('1e8', '2e7')
    """
    mantissa, exponent = f"{count:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def header_lines(machine: Mapping[str, Any], skipped: Sequence[str]) -> list[str]:
    settings = machine["settings"]
    rows, columns = settings["matrix"]
    return [
        "jitgraph GPU benchmark (issue 10): numbers are comparable only within one run",
        f"GPU: {machine['gpu']}, compute capability {machine['compute_capability']}, "
        f"{machine['gpu_memory_gb']:.1f} GB; CUDA runtime {machine['cuda_runtime']}, "
        f"driver {machine['cuda_driver']}",
        "versions: " + "; ".join(f"{name} {v}" for name, v in machine["versions"].items()),
        f"date {machine['date']}; {power_of_ten(settings['elements'])} elements, row norms on "
        f"{rows}x{columns}; median of {settings['samples']} samples of about "
        f"{settings['sample_seconds'] * 1e3:g} ms",
        f"device-to-device copy bandwidth (cupy.copyto, float32): {machine['copy_gbps']:.1f} GB/s",
        *skipped,
    ]


# --------------------------------------------------------------------------------- the CLI
def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks gpu",
        description="jitgraph's CUDA backend against CuPy, cupy.fuse and JAX (also "
        "`jitgraph bench gpu`); without a GPU it prints one 'skipped: gpu: ...' line",
    )
    parser.add_argument("--quick", action="store_true", help="1e7 elements, 4096x1024")
    parser.add_argument("--filter", help="only workloads whose name, label or dtype has this")
    parser.add_argument("--json", metavar="OUT.json", help="write header and rows as JSON")
    return parser.parse_args(list(argv))


def run(
    cupy: Any, options: argparse.Namespace, settings: Settings
) -> tuple[dict[str, Any], list[GpuResult]]:
    """Measure and print the table: (machine description, rows)."""
    systems, skipped = load_systems(cupy)
    machine = describe_machine(cupy, systems, settings)
    machine["copy_gbps"] = copy_bandwidth(cupy, settings)
    print("\n".join(header_lines(machine, skipped)), flush=True)
    rows: list[GpuResult] = []
    for workload in select(gpu_workloads(settings), options.filter):
        rows += measure_workload(cupy, workload, systems, settings, machine["copy_gbps"])
        print(f"  measured {workload.name}", file=sys.stderr, flush=True)
    print()
    print(format_table(rows))
    print("\n".join(["", *summary(rows), "", LEGEND]), flush=True)
    return machine, rows


def main(argv: Sequence[str] = ()) -> int:
    options = parse_arguments(argv)
    reason = cuda_status()
    if reason is not None:
        print(f"skipped: gpu: {reason}")
        if options.json:
            write_json(options.json, {"skipped": f"gpu: {reason}"}, [])
        return 0
    from jitgraph.backends.cuda.runtime import cupy_module

    settings = QUICK_SETTINGS if options.quick else FULL_SETTINGS
    machine, rows = run(cupy_module(), options, settings)
    if options.json:
        write_json(options.json, machine, rows)
        print(f"\nwrote {options.json}")
    return 0
