"""Result records of the suite, the text tables that show them, and the JSON file.

>>> row = Result("logistic_f64", "1/(1+exp(-x))", "numpy", 1, median_s=0.25, ratio_to_numpy=1.0)
>>> print(format_table([row]).splitlines()[-1])
1/(1+exp(-x))                         numpy              250 ms    1.00        -           -
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
    the first call, which is where JIT systems compile.
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

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def format_seconds(seconds: float | None) -> str:
    """A time with a unit that keeps three significant digits: 250 ms, 1.23 us."""
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _optional(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


HEADER = (
    f"{'workload':<37} {'system':<15} {'median':>9} {'ratio':>7} {'GB/s':>8} {'first call':>11}"
)


def format_row(result: Result, show_label: bool) -> str:
    label = result.label if show_label else ""
    if result.status != "ok":
        note = result.status if not result.reason else f"{result.status}: {result.reason}"
        return f"{label:<37} {result.system:<15} {note}"
    return (
        f"{label:<37} {result.system:<15} {format_seconds(result.median_s):>9} "
        f"{_optional(result.ratio_to_numpy, '{:.2f}'):>7} {_optional(result.gbps, '{:.1f}'):>8} "
        f"{format_seconds(result.first_call_s):>11}"
    )


def format_table(results: Sequence[Result]) -> str:
    """Rows grouped by workload, in the order given; the label shows on a group's first row."""
    lines = [HEADER]
    previous = None
    for result in results:
        lines.append(format_row(result, show_label=result.workload != previous))
        previous = result.workload
    return "\n".join(lines)


def write_json(path: str | Path, machine: dict[str, Any], results: Sequence[Result]) -> None:
    """``{"machine": {...}, "results": [{workload, system, threads, median_s,
    ratio_to_numpy, gbps, status, ...}]}``."""
    document = {"machine": machine, "results": [result.as_json() for result in results]}
    Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
