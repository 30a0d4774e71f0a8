"""The suite's chart: a grouped bar chart of each system's time over NumPy's, per workload.

One panel per thread setting, one group of bars per workload, one bar per system (NumPy is
the line at 1), a logarithmic axis (ratios span 0.05 to 20), and a title naming the machine
and the date: the figures compare systems within one run and mean nothing across runs.
matplotlib is optional (``pip install 'jitgraph[plot]'``); :func:`missing` says why it
cannot be used, before anything is measured.

>>> missing() is None or missing().startswith("matplotlib is not installed")
True
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.results import Result


def missing() -> str | None:
    """None when matplotlib can be imported, else the one line that says how to get it."""
    if importlib.util.find_spec("matplotlib") is None:
        return "matplotlib is not installed (pip install 'jitgraph[plot]')"
    return None


def ratios_by_threads(
    results: Sequence[Result],
) -> dict[int, tuple[list[str], dict[str, list[float]]]]:
    """``{threads: (workload labels, {system: ratio per label, NaN where not timed})}`` of
    the timed rows (start-up rows have no ratio and are left out); NumPy is left out too,
    its ratio is 1 by definition."""
    tables: dict[int, tuple[list[str], dict[str, list[float]]]] = {}
    timed = [row for row in results if row.ratio_to_numpy is not None and row.threads]
    for row in timed:
        assert row.threads is not None and row.ratio_to_numpy is not None
        labels, ratios = tables.setdefault(row.threads, ([], {}))
        if row.label not in labels:
            labels.append(row.label)
    for row in timed:
        assert row.threads is not None and row.ratio_to_numpy is not None
        labels, ratios = tables[row.threads]
        if row.system != "numpy":
            values = ratios.setdefault(row.system, [float("nan")] * len(labels))
            values[labels.index(row.label)] = row.ratio_to_numpy
    return tables


def ratio_figure(machine: Mapping[str, Any], results: Sequence[Result]) -> Any:
    """The chart as a matplotlib ``Figure`` (no pyplot: no GUI backend is touched)."""
    from matplotlib.figure import Figure

    tables = ratios_by_threads(results)
    systems = [system for _, ratios in tables.values() for system in ratios]
    colors = {system: f"C{index}" for index, system in enumerate(dict.fromkeys(systems))}
    figure = Figure(figsize=(12, 1 + 4 * max(1, len(tables))), layout="constrained")
    axes_list = figure.subplots(max(1, len(tables)), 1, squeeze=False)[:, 0]
    for axes, (threads, (labels, ratios)) in zip(axes_list, sorted(tables.items())):
        draw_panel(axes, labels, ratios, colors)
        axes.set_title(f"{threads} thread(s)")
    date = str(machine.get("date", "?")).replace("T", " ")
    figure.suptitle(
        f"jitgraph benchmark suite, {date}: {machine.get('cpu', '?')}, "
        f"{machine.get('cores', '?')} cores (comparable only within this run)"
    )
    return figure


def draw_panel(
    axes: Any,
    labels: Sequence[str],
    ratios: Mapping[str, Sequence[float]],
    colors: Mapping[str, str],
) -> None:
    """One group of bars per label; each bar grows from 1 (NumPy) to the system's ratio,
    up when slower, down when faster. A system keeps its color in every panel."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    width = 0.8 / max(1, len(ratios))
    for position, (system, values) in enumerate(ratios.items()):
        shift = (position - (len(ratios) - 1) / 2) * width
        offsets = [index + shift for index in range(len(labels))]
        heights = [value - 1 for value in values]
        axes.bar(offsets, heights, width=width, bottom=1, label=system, color=colors[system])
    axes.axhline(1.0, color="black", linewidth=1, label="numpy (= 1)")
    axes.set_yscale("log")
    axes.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.yaxis.set_minor_formatter(NullFormatter())
    axes.set_xticks(range(len(labels)), labels, rotation=20, ha="right", fontsize=8)
    axes.set_ylabel("time / NumPy's time (below 1: faster)")
    axes.grid(axis="y", which="major", alpha=0.3)
    axes.legend(fontsize=8, ncols=4)


def save_ratio_chart(
    path: str | Path, machine: Mapping[str, Any], results: Sequence[Result]
) -> None:
    """Write :func:`ratio_figure` to ``path`` (PNG unless the suffix says otherwise)."""
    ratio_figure(machine, results).savefig(path, dpi=100)
