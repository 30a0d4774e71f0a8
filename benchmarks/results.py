"""Result records of the suite, the text tables that show them, and the JSON file.

>>> row = Result("logistic_f64", "1/(1+exp(-x))", "numpy", 1, median_s=0.25, ratio_to_numpy=1.0)
>>> print(format_table([row]).splitlines()[-1])
1/(1+exp(-x))  numpy     250 ms    1.00      -     -        -           -
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


@dataclasses.dataclass
class Result:
    """One cell: ``system`` on ``workload`` at ``threads`` threads.

    ``status`` is "ok" (timed), "WRONG" (its result differed from NumPy's: never timed),
    "error" (building or calling raised), "skipped" (not measured here: ``reason`` says why)
    or "n/a" (the system has no version of this workload). ``first_call_s`` is building plus
    the first call, which is where JIT systems compile. ``gbps`` is set where the workload
    streams memory, ``bandwidth_fraction`` is ``gbps`` over the machine's measured memory
    bandwidth, ``gflops`` is set where the workload's arithmetic is counted (the training
    step's matrix-vector products).
    """

    workload: str
    label: str
    system: str
    threads: int | None
    median_s: float | None = None
    ratio_to_numpy: float | None = None
    gbps: float | None = None
    status: str = "ok"
    reason: str = ""
    first_call_s: float | None = None
    bandwidth_fraction: float | None = None
    gflops: float | None = None

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def format_seconds(seconds: float | None) -> str:
    """A time with a unit that keeps three significant digits: 250 ms, 1.23 us.

    >>> format_seconds(0.0009997), format_seconds(1.234e-6), format_seconds(3e-10)
    ('1 ms', '1.23 us', '0.3 ns')
    """
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if float(f"{seconds / scale:.3g}") >= 1:  # 999.7 us rounds to 1 ms, not "1e+03 us"
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_optional(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


# (heading, width) of the columns after the workload and system columns.
COLUMNS = (("median", 9), ("ratio", 7), ("GB/s", 6), ("%bw", 5), ("GFLOP/s", 8),
           ("first call", 11))  # fmt: skip
LEGEND = """\
ratio: median / NumPy's median in the same table (below 1: faster than NumPy)
GB/s: inputs read once + outputs written once, over the median; %bw: GB/s / measured bandwidth
  (above 100%: the data fit in the CPU caches, or more threads stream than the probe's one)
GFLOP/s: multiplies and adds of the training step's matrix-vector products, over the median
first call: building + the first call (where JIT systems compile)"""


def _cells(result: Result) -> list[str]:
    fraction = None if result.bandwidth_fraction is None else 100 * result.bandwidth_fraction
    return [
        format_seconds(result.median_s),
        format_optional(result.ratio_to_numpy, "{:.2f}"),
        format_optional(result.gbps, "{:.1f}"),
        format_optional(fraction, "{:.0f}%"),
        format_optional(result.gflops, "{:.1f}"),
        format_seconds(result.first_call_s),
    ]


def format_row(result: Result, show_label: bool, widths: tuple[int, int]) -> str:
    """One line; ``widths`` are those of the workload and system columns."""
    label = result.label if show_label else ""
    start = f"{label:<{widths[0]}}  {result.system:<{widths[1]}}"
    if result.status != "ok":
        note = result.status if not result.reason else f"{result.status}: {result.reason}"
        return f"{start}  {note}"
    cells = " ".join(f"{cell:>{width}}" for cell, (_, width) in zip(_cells(result), COLUMNS))
    return f"{start} {cells}"


def format_table(results: Sequence[Result]) -> str:
    """Rows grouped by workload, in the order given; the label shows on a group's first row.
    The workload and system columns are as wide as their longest entry."""
    widths = (
        max([len("workload"), *(len(result.label) for result in results)]),
        max([len("system"), *(len(result.system) for result in results)]),
    )
    headings = " ".join(f"{heading:>{width}}" for heading, width in COLUMNS)
    lines = [f"{'workload':<{widths[0]}}  {'system':<{widths[1]}} {headings}"]
    previous = None
    for result in results:
        lines.append(format_row(result, result.workload != previous, widths))
        previous = result.workload
    return "\n".join(lines)


def write_json(path: str | Path, machine: dict[str, Any], results: Sequence[Result]) -> None:
    """``{"machine": {...}, "results": [{workload, label, system, threads, median_s,
    ratio_to_numpy, gbps, bandwidth_fraction, gflops, status, reason, first_call_s}]}``."""
    document = {"machine": machine, "results": [result.as_json() for result in results]}
    Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
