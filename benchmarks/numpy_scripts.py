"""NumPy scripts run unchanged on ``jitgraph.numpy``, and ``@jit`` call overhead.

    python -m benchmarks numpy                 # 1e7 elements
    python -m benchmarks numpy --quick         # 1e6 elements, fewer samples
    python -m benchmarks numpy --size 100000 --json out.json

Part 1, scripts: each workload is a plain function written against a NumPy-like module
``np`` (chained elementwise operations and reductions with intermediate names, as people
write them). The ``numpy`` row runs it with ``numpy``; the ``jitgraph.numpy`` row runs the
same function with ``jitgraph.numpy`` passed as ``np``: the inputs enter through
``np.asarray`` and the results leave through ``float()``/``numpy.asarray``, so the time
includes building the graph, finding the compiled program by structure and evaluating.
Every call gets the inputs anew (read-only NumPy arrays, so ``asarray`` does not copy), so
no value is reused from an earlier call. The first call (which compiles) is reported apart;
the median is over later calls ("from the second run").

Part 2, ``@jit`` overhead: ``a * b + 1`` on 8-element float64 vectors, called through
``jitgraph.function`` and through ``jitgraph.jit``; ``/function`` is the jit figure over
function's (the target: within 1.2).

Results are checked against NumPy before timing (a mismatch is WRONG, not timed). Numbers
are comparable only within one run.

>>> [w.name for w in script_workloads(10)][:3]
['logistic_sum', 'arith_chain', 'standardize']
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy

from benchmarks.results import format_seconds
from benchmarks.timing import core_count, cpu_model, interleaved_medians


# ----------------------------------------------------------------------------- the scripts
def logistic_sum(np: Any, x: Any) -> Any:
    x = np.asarray(x)
    p = 1.0 / (1.0 + np.exp(-x))
    return float(p.sum())


def arith_chain(np: Any, a: Any, b: Any, c: Any, d: Any) -> Any:
    a, b, c, d = (np.asarray(v) for v in (a, b, c, d))
    r = a * b + c * d - 2.5 * a / (b + 1.0)
    return numpy.asarray(r)


def standardize(np: Any, x: Any) -> Any:
    x = np.asarray(x)
    centered = x - x.mean()
    scaled = centered / np.sqrt((centered**2).mean())
    return numpy.asarray(np.clip(scaled, -3.0, 3.0))


def polar_energy(np: Any, x: Any, y: Any) -> Any:
    x, y = np.asarray(x), np.asarray(y)
    r = np.sqrt(x * x + y * y)
    theta = np.arctan2(y, x)
    e = np.exp(-r) * np.cos(3.0 * theta)
    return float(e.sum()), float(np.abs(e).max())


def softmax_entropy(np: Any, x: Any) -> Any:
    x = np.asarray(x)
    shifted = x - x.max()
    e = np.exp(shifted)
    p = e / e.sum()
    return float(-(p * np.log(p + 1e-300)).sum())


def masked_update(np: Any, x: Any, v: Any) -> Any:
    x, v = np.asarray(x), np.asarray(v)
    step = np.where(x > 0.5, v * 0.9, v * 1.1 + 0.01)
    x_new = x + 0.1 * step
    return float((x_new * x_new).sum()), numpy.asarray(x_new)


@dataclasses.dataclass(frozen=True)
class ScriptWorkload:
    name: str
    label: str
    script: Callable[..., Any]
    inputs: tuple[str, ...]


def script_workloads(size: int) -> list[ScriptWorkload]:
    return [
        ScriptWorkload("logistic_sum", "sum(1/(1+exp(-x)))", logistic_sum, ("x",)),
        ScriptWorkload("arith_chain", "a*b + c*d - 2.5*a/(b+1)", arith_chain, tuple("abcd")),
        ScriptWorkload("standardize", "clip((x-mean)/rms, -3, 3)", standardize, ("x",)),
        ScriptWorkload("polar_energy", "exp(-r)cos(3 theta): sum, max", polar_energy, ("x", "y")),
        ScriptWorkload("softmax_entropy", "entropy of softmax(x)", softmax_entropy, ("x",)),
        ScriptWorkload("masked_update", "where(x>.5, ...) step, norm", masked_update, ("x", "v")),
    ]


def make_inputs(workload: ScriptWorkload, size: int, seed: int = 7) -> list[numpy.ndarray]:
    rng = numpy.random.default_rng(seed)
    arrays = []
    for _ in workload.inputs:
        value = rng.uniform(-2.0, 2.0, size)
        value.flags.writeable = False
        arrays.append(value)
    return arrays


def _flatten(result: Any) -> list[numpy.ndarray]:
    items = result if isinstance(result, tuple) else (result,)
    return [numpy.asarray(item, dtype=float) for item in items]


def check(expected: Any, got: Any) -> str:
    """Why ``got`` differs from NumPy's ``expected``; "" when it agrees."""
    for want, have in zip(_flatten(expected), _flatten(got), strict=True):
        if want.shape != have.shape:
            return f"shape {have.shape}, expected {want.shape}"
        if not numpy.allclose(have, want, rtol=1e-9, atol=1e-9 * max(1.0, want.size**0.5)):
            return f"max abs error {numpy.max(numpy.abs(have - want)):.3g}"
    return ""


@dataclasses.dataclass
class Row:
    workload: str
    label: str
    system: str
    first_s: float | None = None
    median_s: float | None = None
    ratio: float | None = None
    status: str = "ok"
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class Settings:
    repeats: int = 7
    sample_seconds: float = 0.3


QUICK = Settings(repeats=3, sample_seconds=0.1)


def measure_script(workload: ScriptWorkload, size: int, settings: Settings, jnp: Any) -> list[Row]:
    inputs = make_inputs(workload, size)
    expected = workload.script(numpy, *inputs)
    rows = {
        "numpy": Row(workload.name, workload.label, "numpy"),
        "jitgraph.numpy": Row(workload.name, workload.label, "jitgraph.numpy"),
    }
    start = time.perf_counter()
    got = workload.script(jnp, *inputs)
    rows["jitgraph.numpy"].first_s = time.perf_counter() - start
    problem = check(expected, got)
    if problem:
        rows["jitgraph.numpy"].status, rows["jitgraph.numpy"].reason = "WRONG", problem
    calls = {"numpy": lambda: workload.script(numpy, *inputs)}
    if not problem:
        calls["jitgraph.numpy"] = lambda: workload.script(jnp, *inputs)
    medians = interleaved_medians(calls, settings.repeats, settings.sample_seconds)
    for name, seconds in medians.items():
        rows[name].median_s = seconds
        rows[name].ratio = medians["numpy"] / seconds
    return list(rows.values())


# ----------------------------------------------------------------------------- jit overhead
def jit_overhead_rows(settings: Settings) -> list[Row]:
    import jitgraph
    from jitgraph.ir.types import TensorType

    a = numpy.linspace(0.0, 1.0, 8)
    b = numpy.linspace(1.0, 2.0, 8)
    x: Any = TensorType("float64", (None,))("x")
    y: Any = TensorType("float64", (None,))("y")
    compiled = jitgraph.function([x, y], x * y + 1.0)
    jitted = jitgraph.jit(lambda p, q: p * q + 1.0)
    rows = {
        "function": Row("call_overhead", "a*b + 1, 8 float64", "function"),
        "jit": Row("call_overhead", "a*b + 1, 8 float64", "jit"),
    }
    for name, call in (("function", compiled), ("jit", jitted)):
        start = time.perf_counter()
        result = call(a, b)
        rows[name].first_s = time.perf_counter() - start
        problem = check(a * b + 1.0, result)
        if problem:
            rows[name].status, rows[name].reason = "WRONG", problem
    calls = {name: _loop(fn, a, b) for name, fn in (("function", compiled), ("jit", jitted))}
    medians = interleaved_medians(calls, settings.repeats, settings.sample_seconds)
    for name, seconds in medians.items():
        rows[name].median_s = seconds / LOOP
        rows[name].ratio = seconds / medians["function"]
    return list(rows.values())


LOOP = 1000


def _loop(fn: Callable[..., Any], a: Any, b: Any) -> Callable[[], None]:
    def run() -> None:
        for _ in range(LOOP):
            fn(a, b)

    return run


# ----------------------------------------------------------------------------- report
def report(rows: Sequence[Row], ratio_title: str) -> str:
    lines = [
        f"{'workload':<16} {'system':<15} {'first call':>10} {'median':>9} {ratio_title:>9}  status"
    ]
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
        lines.append(
            f"{row.workload:<16} {row.system:<15} {format_seconds(row.first_s):>10} "
            f"{format_seconds(row.median_s):>9} {ratio:>9}  {row.status} {row.reason}".rstrip()
        )
    return "\n".join(lines)


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks numpy",
        description="NumPy scripts on numpy vs jitgraph.numpy, and @jit call overhead",
    )
    parser.add_argument("--quick", action="store_true", help="1e6 elements, fewer samples")
    parser.add_argument("--size", type=int, default=None, help="elements (1e7; --quick 1e6)")
    parser.add_argument("--filter", default="", help="only workloads whose name contains this")
    parser.add_argument("--json", help="write the rows to this JSON file")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] = ()) -> int:
    import json

    import jitgraph.numpy as jnp

    options = parse_arguments(argv)
    settings = QUICK if options.quick else Settings()
    size = options.size or (10**6 if options.quick else 10**7)
    print(f"cpu: {cpu_model()} ({core_count()} cores); {size} elements; numpy {numpy.__version__}")
    print("numbers are comparable only within one run; 'x numpy' = numpy's median / this one")
    rows: list[Row] = []
    for workload in script_workloads(size):
        if options.filter in workload.name:
            rows.extend(measure_script(workload, size, settings, jnp))
    print(report(rows, "x numpy"))
    overhead = jit_overhead_rows(settings) if options.filter in "call_overhead" else []
    if overhead:
        print()
        print(report(overhead, "/function"))
    if options.json:
        with open(options.json, "w") as handle:
            json.dump(
                {"size": size, "rows": [dataclasses.asdict(r) for r in rows + overhead]},
                handle,
                indent=1,
            )
    return 0 if all(r.status == "ok" for r in rows + overhead) else 1
