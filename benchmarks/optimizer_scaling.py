"""Optimizer scaling: FAST_RUN optimization time of a deep MLP's gradient graph, per node,
as the network deepens; and the same graphs through PyTensor's ``function``, in the same run.

The graph: ``layers`` layers of ``h = g * normalize(tanh(h @ W + b))`` (normalize subtracts
each row's mean and divides by its RMS, as layer norm does), cost ``sum(h**2)``; the outputs
are the cost and its gradient with respect to every W, b and g. That is about 61 nodes per
layer: 200 layers give a graph of ~12,000 nodes. Weights are graph inputs, not shared
variables, so that both libraries get the same graph.

What is measured:

- jitgraph: ``optimize(graph, "FAST_RUN")`` wall time, the median of ``--repeats`` runs,
  each on a freshly built graph (building and differentiating are not timed), and that
  time per node of the input graph. Linear scaling shows as a constant time per node.
- PyTensor, when importable: for each size, a fresh Python process with an empty compile
  directory (``PYTENSOR_FLAGS=base_compiledir=<new temporary directory>``) builds the same
  graph with ``pytensor.grad`` and times ``pytensor.function(inputs, outputs,
  mode="FAST_RUN")``: its first compile. PyTensor's profile splits that into rewriting
  (the counterpart of ``optimize``) and linking. PyTensor 3 links FAST_RUN with Numba,
  which compiles at the first call; that call is not part of the figure. Rewriting does
  not use PyTensor's compile cache, so the rewriting column does not depend on it.

The ratio column is PyTensor's rewriting time over jitgraph's optimize time for the same
graph, measured in the same run: numbers are comparable only within one run.

    python -m benchmarks optimizer_scaling            # 25, 50, 100, 200 layers
    python -m benchmarks optimizer_scaling --quick    # small sizes, seconds
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DEFAULT_LAYERS = (25, 50, 100, 200)
QUICK_LAYERS = (4, 8, 16)
EPSILON = 1e-5  # layer norm's guard against a zero RMS
REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------- graph
def mlp_gradient(tensor: Any, grad: Callable[..., Any], layers: int) -> tuple[list[Any], list[Any]]:
    """(inputs, [cost, *gradients]) of the benchmark MLP, built with a Theano-like module
    (``jitgraph.tensor`` or ``pytensor.tensor``) and its ``grad``.

    >>> import jitgraph.tensor as T
    >>> inputs, outputs = mlp_gradient(T, T.grad, 2)
    >>> len(inputs), len(outputs)
    (7, 7)
    """
    x = tensor.dmatrix("x")
    params: list[Any] = []
    h = x
    for layer in range(layers):
        weights = tensor.dmatrix(f"W{layer}")
        bias = tensor.dvector(f"b{layer}")
        gain = tensor.dvector(f"g{layer}")
        params += [weights, bias, gain]
        activation = tensor.tanh(tensor.dot(h, weights) + bias)
        centered = activation - tensor.mean(activation, axis=1, keepdims=True)
        rms = tensor.sqrt(tensor.mean(centered**2, axis=1, keepdims=True) + EPSILON)
        h = gain * centered / rms
    cost = tensor.sum(h**2)
    return [x, *params], [cost, *grad(cost, params)]


# ------------------------------------------------------------------------------ jitgraph
@dataclasses.dataclass(frozen=True)
class OptimizeTiming:
    layers: int
    nodes: int
    nodes_after: int
    seconds: float  # median
    passes: str  # the per-pass table of the last run

    @property
    def microseconds_per_node(self) -> float:
        return self.seconds / self.nodes * 1e6


def time_optimize(layers: int, repeats: int) -> OptimizeTiming:
    """Median wall time of ``optimize(graph, "FAST_RUN")`` over fresh copies of the graph."""
    import jitgraph.tensor as T
    from jitgraph.ir.graph import Graph
    from jitgraph.passes.pipeline import optimize

    times: list[float] = []
    for _ in range(repeats):
        inputs, outputs = mlp_gradient(T, T.grad, layers)
        graph = Graph(inputs, outputs)
        gc.collect()
        start = time.perf_counter()
        result = optimize(graph, "FAST_RUN")
        times.append(time.perf_counter() - start)
    return OptimizeTiming(
        layers, len(graph.nodes), len(result.graph.nodes), statistics.median(times),
        result.as_text(),
    )  # fmt: skip


# ------------------------------------------------------------------------------ PyTensor
def pytensor_missing() -> str | None:
    """Why PyTensor cannot be measured, or None when it can."""
    if importlib.util.find_spec("pytensor") is None:
        return "pytensor is not installed (pip install pytensor, or the 'bench' extra)"
    return None


def measure_pytensor(
    layers: Sequence[int], fresh_process_per_size: bool, timeout: float
) -> dict[int, dict[str, Any] | str]:
    """PyTensor's first-compile figures per size (a dict), or why there are none (a str)."""
    groups = [[n] for n in layers] if fresh_process_per_size else [list(layers)]
    results: dict[int, dict[str, Any] | str] = {}
    for group in groups:
        results.update(_run_worker(group, timeout))
    return results


def _run_worker(layers: list[int], timeout: float) -> dict[int, dict[str, Any] | str]:
    with tempfile.TemporaryDirectory(prefix="pytensor-bench-") as compiledir:
        env = dict(os.environ)
        flags = [env.get("PYTENSOR_FLAGS", ""), f"base_compiledir={compiledir}"]
        env["PYTENSOR_FLAGS"] = ",".join(f for f in flags if f)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
        module = "benchmarks.optimizer_scaling"
        command = [sys.executable, "-m", module, "--pytensor-worker", "--layers"]
        try:
            done = subprocess.run(
                [*command, *map(str, layers)],
                env=env, capture_output=True, text=True, timeout=timeout,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return {n: f"> {timeout:.0f} s (timed out)" for n in layers}
    found: dict[int, dict[str, Any] | str] = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            found[record["layers"]] = record
    last_error = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {n: found.get(n, f"failed: {last_error}") for n in layers}


def pytensor_worker(layers: Sequence[int]) -> None:
    """In the worker process: print one JSON line of figures per size."""
    # pytensor.grad recurses once per node on the way back: a 200-layer graph needs a
    # deeper Python stack than the default, so run in a thread with a large one.
    sys.setrecursionlimit(200_000)
    threading.stack_size(1024 * 1024 * 1024)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            for n in layers:
                print(json.dumps(_compile_with_pytensor(n)), flush=True)
        except BaseException as exc:  # reported by the parent from stderr
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def _compile_with_pytensor(layers: int) -> dict[str, Any]:
    # Imported by name: PyTensor is optional, so type checkers need not know it.
    pytensor = importlib.import_module("pytensor")
    tensor = importlib.import_module("pytensor.tensor")
    get_mode = importlib.import_module("pytensor.compile.mode").get_mode

    inputs, outputs = mlp_gradient(tensor, pytensor.grad, layers)
    profile = importlib.import_module("pytensor.compile").ProfileStats(atexit_print=False)
    start = time.perf_counter()
    function = pytensor.function(inputs, outputs, mode="FAST_RUN", profile=profile)
    seconds = time.perf_counter() - start
    return {
        "layers": layers,
        "nodes": _pytensor_node_count(inputs, outputs),
        "nodes_after": len(function.maker.fgraph.apply_nodes),
        "function_seconds": seconds,
        "rewriting_seconds": float(profile.rewriting_time),
        "linking_seconds": float(profile.linker_time),
        "linker": type(get_mode("FAST_RUN").linker).__name__,
        "version": pytensor.__version__,
    }


def _pytensor_node_count(inputs: list[Any], outputs: list[Any]) -> int:
    try:
        traversal = importlib.import_module("pytensor.graph.traversal")
    except ImportError:  # older PyTensor
        traversal = importlib.import_module("pytensor.graph.basic")
    return sum(1 for _ in traversal.applys_between(inputs, outputs))


# ---------------------------------------------------------------------------------- report
def report(
    timings: Sequence[OptimizeTiming], pytensor: dict[int, dict[str, Any] | str] | str
) -> str:
    """The results table (jitgraph columns, then PyTensor's where measured)."""
    header = (
        f"{'layers':>6} {'nodes':>6} {'after':>6} {'optimize ms':>11} {'us/node':>7} | "
        f"{'PT nodes':>8} {'function() s':>12} {'rewriting s':>11} {'linking s':>9} | "
        f"{'PT rewriting / optimize':>23}"
    )
    lines = [header, "-" * len(header)]
    for timing in timings:
        row = (
            f"{timing.layers:>6} {timing.nodes:>6} {timing.nodes_after:>6} "
            f"{timing.seconds * 1e3:>11.1f} {timing.microseconds_per_node:>7.1f} | "
        )
        figures = pytensor if isinstance(pytensor, str) else pytensor.get(timing.layers, "")
        lines.append(row + _pytensor_cells(figures, timing))
    lines.append(_scaling_line(timings))
    if isinstance(pytensor, str):
        lines.append(f"PyTensor skipped: {pytensor}")
    else:
        lines.append(_pytensor_note(pytensor))
    return "\n".join(lines)


def _pytensor_cells(figures: dict[str, Any] | str, timing: OptimizeTiming) -> str:
    if isinstance(figures, str):
        return figures if figures.startswith((">", "failed")) else "-"
    ratio = figures["rewriting_seconds"] / timing.seconds
    return (
        f"{figures['nodes']:>8} {figures['function_seconds']:>12.2f} "
        f"{figures['rewriting_seconds']:>11.2f} {figures['linking_seconds']:>9.2f} | "
        f"{ratio:>22.1f}x"
    )


def _scaling_line(timings: Sequence[OptimizeTiming]) -> str:
    if len(timings) < 2:
        return ""
    small, large = timings[0], timings[-1]
    growth = large.microseconds_per_node / small.microseconds_per_node
    return (
        f"jitgraph time per node from {small.nodes} to {large.nodes} nodes: x{growth:.2f} "
        "(1.00 = linear scaling)"
    )


def _pytensor_note(pytensor: dict[int, dict[str, Any] | str]) -> str:
    measured = [f for f in pytensor.values() if isinstance(f, dict)]
    if not measured:
        return ""
    first = measured[0]
    return (
        f"PyTensor {first['version']}, mode FAST_RUN ({first['linker']}): first compile in a "
        "fresh process with an empty compile directory; its first call (the JIT) is not included"
    )


# ------------------------------------------------------------------------------------ main
def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks optimizer_scaling", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one PyTensor process")
    parser.add_argument("--layers", type=int, nargs="+", help="depths to measure")
    parser.add_argument("--repeats", type=int, help="optimize runs per size (median)")
    parser.add_argument("--no-pytensor", action="store_true", help="skip the PyTensor columns")
    parser.add_argument(
        "--pytensor-timeout", type=float, default=1800.0, help="seconds per PyTensor process"
    )
    parser.add_argument("--pytensor-worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] = ()) -> int:
    """Run the benchmark and print its table; 0 on success."""
    args = parse_arguments(argv)
    layers = args.layers or (QUICK_LAYERS if args.quick else DEFAULT_LAYERS)
    if args.pytensor_worker:
        pytensor_worker(layers)
        return 0
    repeats = args.repeats or (3 if args.quick else 5)
    print(f"optimizer scaling: FAST_RUN optimize of an MLP's gradient, median of {repeats}")
    timings = [time_optimize(n, repeats) for n in layers]
    pytensor: dict[int, dict[str, Any] | str] | str
    pytensor = "--no-pytensor" if args.no_pytensor else (pytensor_missing() or {})
    if isinstance(pytensor, dict):
        pytensor = measure_pytensor(layers, not args.quick, args.pytensor_timeout)
    print(report(timings, pytensor))
    print(f"\npasses for {timings[-1].layers} layers (last run):\n{timings[-1].passes}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
