"""Scan benchmarks: an RNN recurrence and its gradient through time, every system side by
side in one run.

    python -m benchmarks scan                      # 1000 steps, hidden 64 and 2 (a minute or two)
    python -m benchmarks scan --quick              # same sizes, fewer and shorter samples
    python -m benchmarks scan --peers jax --json out.json

The recurrence is ``x_t = tanh(x_{t-1} @ W + y_t @ U)`` in float64, with the input size equal
to the hidden size (``W`` and ``U`` are both hidden x hidden). Two workloads per hidden size:

- ``rnn_h<n>``: the forward recurrence; every system returns all the states (steps x hidden).
- ``bptt_h<n>``: the loss ``sum of all states`` and its gradient with respect to ``W``
  (back-propagation through time); every system returns (loss, dloss/dW).

Systems: jitgraph (``jitgraph.scan`` compiled by ``jitgraph.function``, the default mode;
the gradient by ``jitgraph.grad``), PyTensor (``pytensor.scan`` and ``pytensor.grad``
compiled with ``mode="CVM"``, its C backend, and with ``mode="NUMBA"``), JAX
(``jax.lax.scan`` under ``jax.jit`` on the CPU, the gradient by ``jax.value_and_grad``) and
NumPy (a Python loop over the steps; a hand-written backward loop for the gradient). A peer
that is not installed is skipped with a one-line reason.

Measured as the suite measures (:mod:`benchmarks.suite`): every system gets the same W, U,
x0 and Y; its first result is checked against NumPy's before anything is timed (a mismatch
is WRONG and never timed); then the systems are timed round-robin and the figure is the
median. Reported: the time per call, per step (call / steps), over NumPy's, and over
jitgraph's (above 1: jitgraph is faster). Numbers are comparable only within one run.

>>> [workload.name for workload in scan_workloads(TINY_SETTINGS)]
['rnn_h3', 'bptt_h3', 'rnn_h2', 'bptt_h2']
>>> [system.name for system in SYSTEMS]
['numpy', 'jitgraph', 'pytensor-c', 'pytensor-numba', 'jax']
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib
import platform
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from benchmarks import peers, suite
from benchmarks.peers import Builder, Call, System
from benchmarks.results import Result, format_seconds, write_json
from benchmarks.timing import (
    blas_description,
    blas_threads,
    core_count,
    cpu_model,
    interleaved_medians,
)
from benchmarks.workloads import Inputs, Workload, select

SEED = 20240606
ARGUMENTS = ("W", "U", "x0", "Y")  # the order every compiled function takes its inputs in
FORWARD_TOLERANCE = (1e-9, 1e-12)
# The gradient sums a thousand outer products: summation order differs between systems.
GRADIENT_TOLERANCE = (1e-8, 1e-9)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Steps of the recurrence, the hidden sizes, rounds of interleaved samples, the length
    of a sample (seconds)."""

    steps: int
    hiddens: tuple[int, ...]
    repeats: int
    sample_seconds: float


FULL_SETTINGS = Settings(steps=1000, hiddens=(64, 2), repeats=11, sample_seconds=0.05)
QUICK_SETTINGS = Settings(steps=1000, hiddens=(64, 2), repeats=3, sample_seconds=0.01)
TINY_SETTINGS = Settings(steps=12, hiddens=(3, 2), repeats=1, sample_seconds=1e-4)


@dataclasses.dataclass
class ScanResult(Result):
    """A suite row plus the per-step figures: ``per_step_s`` is ``median_s / steps``;
    ``ratio_to_jitgraph`` is this system's median over jitgraph's (above 1: jitgraph is
    faster)."""

    steps: int = 0
    hidden: int = 0
    per_step_s: float | None = None
    ratio_to_jitgraph: float | None = None


# ------------------------------------------------------------------------------ workloads
def rnn_step(m: Any, y_t: Any, x_previous: Any, W: Any, U: Any) -> Any:
    """One step of the recurrence, written once for every array namespace ``m`` (numpy,
    jax.numpy, jitgraph.tensor, pytensor.tensor)."""
    return m.tanh(m.dot(x_previous, W) + m.dot(y_t, U))


def rnn_inputs(hidden: int, steps: int) -> Callable[[np.random.Generator], Inputs]:
    """W, U, x0 and Y of one workload, the same for every system.

    W is scaled to spectral norm 0.9: with tanh' <= 1 the recurrence (and its backward
    pass) is then a contraction, so rounding differences between systems stay at a few ulps
    over a thousand steps instead of being amplified, and a tight tolerance stays fair.
    """

    def make(rng: np.random.Generator) -> Inputs:
        gaussian = rng.standard_normal((hidden, hidden))
        return {
            "W": 0.9 * gaussian / np.linalg.norm(gaussian, 2),
            "U": rng.standard_normal((hidden, hidden)) / np.sqrt(hidden),
            "x0": 0.1 * rng.standard_normal(hidden),
            "Y": rng.standard_normal((steps, hidden)),
        }

    return make


def scan_workloads(settings: Settings) -> list[Workload]:
    """For each hidden size, the forward recurrence then its gradient (BPTT)."""
    chosen = []
    for hidden in settings.hiddens:
        make = rnn_inputs(hidden, settings.steps)
        shape = f"hidden {hidden}, {settings.steps} steps"
        chosen += [
            Workload(f"rnn_h{hidden}", f"RNN states, {shape}", "loop", "float64", make,
                     tolerance=FORWARD_TOLERANCE),
            Workload(f"bptt_h{hidden}", f"BPTT loss+dW, {shape}", "loop", "float64", make,
                     tolerance=GRADIENT_TOLERANCE),
        ]  # fmt: skip
    return chosen


def family(workload: Workload) -> str:
    """ "rnn" or "bptt": the key of a system's builder table."""
    return workload.name.partition("_")[0]


def arguments_of(inputs: Inputs) -> list[np.ndarray]:
    return [inputs[name] for name in ARGUMENTS]


# ------------------------------------------------------------------------------------ NumPy
def numpy_states(W: Any, U: Any, x0: Any, Y: Any) -> np.ndarray:
    """All the states, one Python iteration per step."""
    states = np.empty((len(Y), len(x0)))
    state = x0
    for step, y_t in enumerate(Y):
        state = rnn_step(np, y_t, state, W, U)
        states[step] = state
    return states


def numpy_bptt(W: Any, U: Any, x0: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    """(sum of all states, its gradient with respect to W), by hand.

    With a_t = x_{t-1} @ W + y_t @ U and x_t = tanh(a_t): dL/dx_t = 1 + dL/da_{t+1} @ W.T,
    dL/da_t = dL/dx_t * (1 - x_t**2), and dL/dW = sum_t outer(x_{t-1}, dL/da_t), computed
    as one product once the backward loop has stored every dL/da_t.
    """
    states = numpy_states(W, U, x0, Y)
    deltas = np.empty_like(states)
    from_later_steps = np.zeros_like(x0)  # dL/da_{t+1} @ W.T
    for step in range(len(Y) - 1, -1, -1):
        delta = (1.0 + from_later_steps) * (1.0 - states[step] ** 2)
        deltas[step] = delta
        from_later_steps = W @ delta
    previous = np.vstack([x0[np.newaxis], states[:-1]])
    return np.array(states.sum()), previous.T @ deltas


def numpy_call(function: Callable[..., Any]) -> Builder:
    def build(workload: Workload, inputs: Inputs) -> Call:
        arguments = arguments_of(inputs)
        return lambda: function(*arguments)

    return build


def numpy_builders() -> Mapping[str, Builder]:
    return {"rnn": numpy_call(numpy_states), "bptt": numpy_call(numpy_bptt)}


# ------------------------------------------------------- graph compilers (jitgraph, PyTensor)
@dataclasses.dataclass(frozen=True)
class ScanLibrary:
    """A Theano-like library with ``scan``, ``grad`` and ``function``; ``mode`` is passed to
    ``function`` (None: the library's default). The scan itself gets no mode, so PyTensor
    compiles its inner graph as its scan does by default (its C VM) or, under NUMBA,
    converts the whole loop to Numba."""

    package: str
    tensor_module: str
    mode: str | None

    def states(self) -> tuple[list[Any], Any, Any]:
        """(inputs in ARGUMENTS order, the states, scan's updates) as a symbolic graph."""
        package = importlib.import_module(self.package)
        tensor = importlib.import_module(self.tensor_module)
        W, U = tensor.dmatrix("W"), tensor.dmatrix("U")
        x0, Y = tensor.dvector("x0"), tensor.dmatrix("Y")

        def step(y_t: Any, x_previous: Any, W: Any, U: Any) -> Any:
            return rnn_step(tensor, y_t, x_previous, W, U)

        with warnings.catch_warnings():
            # PyTensor 3 announces a new return signature; Theano's (outputs, updates) is
            # the one both libraries still give and the one this program is written for.
            warnings.filterwarnings("ignore", message="Scan return signature will change")
            states, updates = package.scan(
                step, sequences=[Y], outputs_info=[x0], non_sequences=[W, U]
            )
        return [W, U, x0, Y], states, updates

    def compile(self, outputs: Callable[[list[Any], Any], Any], inputs: Inputs) -> Call:
        package = importlib.import_module(self.package)
        variables, states, updates = self.states()
        compiled = package.function(
            variables, outputs(variables, states), updates=updates, mode=self.mode
        )
        arguments = arguments_of(inputs)
        return lambda: compiled(*arguments)

    def forward(self, workload: Workload, inputs: Inputs) -> Call:
        return self.compile(lambda variables, states: states, inputs)

    def gradient(self, workload: Workload, inputs: Inputs) -> Call:
        package = importlib.import_module(self.package)

        def loss_and_gradient(variables: list[Any], states: Any) -> list[Any]:
            loss = states.sum()
            return [loss, package.grad(loss, variables[0])]

        return self.compile(loss_and_gradient, inputs)

    def builders(self) -> Mapping[str, Builder]:
        return {"rnn": self.forward, "bptt": self.gradient}


# --------------------------------------------------------------------------------------- JAX
def jax_states(jax: Any, jnp: Any) -> Callable[..., Any]:
    def states(W: Any, U: Any, x0: Any, Y: Any) -> Any:
        def body(state: Any, y_t: Any) -> tuple[Any, Any]:
            state = rnn_step(jnp, y_t, state, W, U)
            return state, state

        return jax.lax.scan(body, x0, Y)[1]

    return states


def jax_forward(workload: Workload, inputs: Inputs) -> Call:
    jax, jnp = peers.jax_modules()
    compiled = jax.jit(jax_states(jax, jnp))
    # Inputs are put on the device once: the call measures the loop, not a copy.
    arguments = [jax.device_put(value) for value in arguments_of(inputs)]
    return lambda: compiled(*arguments).block_until_ready()


def jax_gradient(workload: Workload, inputs: Inputs) -> Call:
    jax, jnp = peers.jax_modules()
    states = jax_states(jax, jnp)
    compiled = jax.jit(jax.value_and_grad(lambda *arguments: states(*arguments).sum()))
    arguments = [jax.device_put(value) for value in arguments_of(inputs)]
    return lambda: jax.block_until_ready(compiled(*arguments))


def jax_builders() -> Mapping[str, Builder]:
    return {"rnn": jax_forward, "bptt": jax_gradient}


# ----------------------------------------------------------------------------------- systems
JITGRAPH = ScanLibrary("jitgraph", "jitgraph.tensor", mode=None)  # config.mode: FAST_RUN
PYTENSOR_C = ScanLibrary("pytensor", "pytensor.tensor", mode="CVM")
PYTENSOR_NUMBA = ScanLibrary("pytensor", "pytensor.tensor", mode="NUMBA")

SYSTEMS: tuple[System, ...] = (
    System("numpy", ("numpy",), numpy_builders, peers.no_thread_control),
    System("jitgraph", ("jitgraph",), JITGRAPH.builders, peers.set_jitgraph_threads),
    System("pytensor-c", ("pytensor",), PYTENSOR_C.builders, peers.no_thread_control),
    System("pytensor-numba", ("pytensor", "numba"), PYTENSOR_NUMBA.builders,
           peers.set_numba_threads),
    System("jax", ("jax",), jax_builders, peers.no_thread_control,
           fixed_threads="threads fixed at import: not limited"),
)  # fmt: skip


def load_systems(
    systems: Sequence[System], chosen: Sequence[Workload], threads: int
) -> tuple[list[suite.Loaded], list[str]]:
    """The systems that import, each with a builder per chosen workload and its threads
    set; one "skipped: ..." line for each that does not import or take its threads."""
    imported, skipped = suite.load_systems(systems)
    loaded = []
    for each in imported:
        try:
            each.system.set_threads(threads)
        except Exception as error:
            reason = f"cannot set threads: {suite.one_line(error)}"
            skipped.append(f"skipped: {each.system.name}: {reason}")
            continue
        table = {w.name: each.builders[family(w)] for w in chosen if family(w) in each.builders}
        loaded.append(suite.Loaded(each.system, table))
    return loaded, skipped


# ------------------------------------------------------------------------------ measuring
def measure_workload(
    workload: Workload, systems: Sequence[suite.Loaded], settings: Settings, threads: int
) -> list[ScanResult]:
    """One workload on every system: build, first call, check against NumPy, warm up, time
    round-robin (BLAS limited to ``threads`` meanwhile), then the per-step figures."""
    inputs = workload.make_inputs(np.random.default_rng(SEED))
    rows: list[Result] = []
    calls: dict[str, Call] = {}
    firsts: dict[str, Any] = {}
    for loaded in systems:
        row, call, first = suite.build_and_first_call(loaded, workload, inputs, threads)
        rows.append(row)
        if call is not None:
            calls[row.system], firsts[row.system] = call, first
    suite.check_against_numpy(workload, rows, calls, firsts)
    with blas_threads(threads):
        suite.warm_up(rows, calls)
        medians = interleaved_medians(calls, settings.repeats, settings.sample_seconds)
    hidden = len(inputs["x0"])
    return per_step_rows(rows, medians, settings.steps, hidden)


def per_step_rows(
    rows: Sequence[Result], medians: Mapping[str, float], steps: int, hidden: int
) -> list[ScanResult]:
    """The rows with their medians, per-step times and ratios to NumPy's and jitgraph's
    medians measured in the same interleaved rounds (None where either was not timed)."""
    results = []
    for row in rows:
        result = ScanResult(**dataclasses.asdict(row), steps=steps, hidden=hidden)
        if row.system in medians:
            result.median_s = medians[row.system]
            result.per_step_s = result.median_s / steps
            result.ratio_to_numpy = ratio(medians, row.system, "numpy")
            result.ratio_to_jitgraph = ratio(medians, row.system, "jitgraph")
        results.append(result)
    return results


def ratio(medians: Mapping[str, float], system: str, reference: str) -> float | None:
    if reference not in medians:
        return None
    return medians[system] / medians[reference]


# ---------------------------------------------------------------------------------- output
HEADER = (
    f"{'workload':<36} {'system':<15} {'per call':>9} {'per step':>9} {'/numpy':>7} "
    f"{'/jitgraph':>9} {'first call':>11}"
)


def format_row(result: ScanResult, show_label: bool) -> str:
    label = result.label if show_label else ""
    if result.status != "ok":
        note = result.status if not result.reason else f"{result.status}: {result.reason}"
        return f"{label:<36} {result.system:<15} {note}"
    return (
        f"{label:<36} {result.system:<15} {format_seconds(result.median_s):>9} "
        f"{format_seconds(result.per_step_s):>9} {optional_ratio(result.ratio_to_numpy):>7} "
        f"{optional_ratio(result.ratio_to_jitgraph):>9} {format_seconds(result.first_call_s):>11}"
    )


def optional_ratio(value: float | None) -> str:
    """Two decimals; two significant digits below 0.1 (0.0014, not 0.00)."""
    if value is None:
        return "-"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.2g}"


def format_table(results: Sequence[ScanResult]) -> str:
    """Rows grouped by workload; the label shows on a group's first row."""
    lines = [HEADER]
    previous = None
    for result in results:
        lines.append(format_row(result, show_label=result.workload != previous))
        previous = result.workload
    return "\n".join(lines)


def machine_description(
    systems: Sequence[suite.Loaded], settings: Settings, threads: int
) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": core_count(),
        "threads": threads,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "blas": blas_description(),
        "versions": {loaded.system.name: loaded.system.version() for loaded in systems},
        "jitgraph_backend": suite.jitgraph_backend(),
        "settings": dataclasses.asdict(settings),
        "load_average_start": suite.load_average(),
        "notes": system_notes(systems),
        "note": "numbers are comparable only within one run",
    }


def system_notes(systems: Sequence[suite.Loaded]) -> list[str]:
    """What a reader needs to judge a peer's figure fairly: without a BLAS to link (a pip
    install), PyTensor's C backend runs its dot products as NumPy calls outside C."""
    names = {loaded.system.name for loaded in systems}
    if "pytensor-c" not in names:
        return []
    pytensor = importlib.import_module("pytensor")
    with warnings.catch_warnings():
        # The same fact as the note below, said once by PyTensor itself at first access.
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
        flags = pytensor.config.blas__ldflags
    if flags:
        return [f"pytensor-c: links BLAS with {flags!r}"]
    return ["pytensor-c: PyTensor found no BLAS to link (blas__ldflags empty), so its dot "
            "products run as NumPy calls outside its C code (PyTensor's own warning)"]  # fmt: skip


def print_header(machine: Mapping[str, Any], skipped: Sequence[str]) -> None:
    print("jitgraph scan benchmarks: numbers are comparable only within one run")
    print(f"CPU: {machine['cpu']}, {machine['cores']} cores; date {machine['date']}")
    print(f"Python {machine['python']}; BLAS: {machine['blas']}")
    print("versions: " + "; ".join(machine["versions"].values()))
    print(f"jitgraph FAST_RUN backend: {machine['jitgraph_backend']}")
    print(f"threads: {machine['threads']} (jitgraph, Numba, every loaded BLAS; JAX: as imported)")
    print(f"load average (1/5/15 min) at start: {machine['load_average_start']}")
    for line in [*machine["notes"], *skipped]:
        print(line)


# --------------------------------------------------------------------------------- the CLI
def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks scan",
        description="RNN recurrence and BPTT: jitgraph.scan against NumPy, PyTensor and JAX",
    )
    parser.add_argument("--quick", action="store_true", help="fewer and shorter samples")
    parser.add_argument("--filter", help="only workloads whose name or label contains this")
    parser.add_argument("--json", help="write the results to this JSON file")
    parser.add_argument(
        "--threads", choices=("1", "all"), default="1", help="threads per system (default 1)"
    )
    parser.add_argument(
        "--peers", help="comma-separated peers (pytensor, pytensor-c, pytensor-numba, jax)"
    )
    return parser.parse_args(list(argv))


def run(options: argparse.Namespace, settings: Settings) -> tuple[dict[str, Any], list[Result]]:
    """Measure and print the table; (machine description, its rows)."""
    threads = 1 if options.threads == "1" else core_count()
    chosen = select(scan_workloads(settings), options.filter)
    systems, skipped = load_systems(peers.choose(options.peers, SYSTEMS), chosen, threads)
    machine = machine_description(systems, settings, threads)
    print_header(machine, skipped)
    results: list[ScanResult] = []
    for workload in chosen:
        results += measure_workload(workload, systems, settings, threads)
        print(f"  measured {workload.name}", file=sys.stderr, flush=True)
    print(f"\n== {settings.steps} steps, float64; /jitgraph above 1: jitgraph is faster ==")
    print(format_table(results), flush=True)
    machine["load_average_end"] = suite.load_average()
    print(f"\nload average (1/5/15 min) at end: {machine['load_average_end']}")
    return machine, list(results)


def main(argv: Sequence[str] = ()) -> int:
    options = parse_arguments(argv)
    try:
        peers.choose(options.peers, SYSTEMS)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    machine, results = run(options, QUICK_SETTINGS if options.quick else FULL_SETTINGS)
    if options.json:
        write_json(options.json, machine, results)
        print(f"\nwrote {options.json}")
    return 0
