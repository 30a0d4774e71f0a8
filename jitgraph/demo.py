"""``jitgraph demo``: a few programs from the Theano tutorials, compiled and timed.

Each example builds a graph with the Theano API, compiles it with :func:`jitgraph.function`,
calls it once to show (and check) the result, then times further calls. The times printed are
the compile time and the median time per call over ``repeat`` calls (``time.perf_counter``).

Run it as ``jitgraph demo`` or ``python -m jitgraph demo [--mode REFERENCE] [--repeat N]``.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

import jitgraph
import jitgraph.tensor
from jitgraph.config import config

# The constructors (T.dmatrix, ...) are generated at import time, out of mypy's sight.
T: Any = jitgraph.tensor


@dataclass
class Example:
    """One program: its graph, the arguments of the first call and the expected outputs.

    ``after_first_call`` returns extra lines to print once the first call has run (e.g. the
    value of a shared variable it updated).
    """

    title: str
    code: str
    inputs: Sequence[Any]
    outputs: Any
    args: Sequence[Any]
    expected: Any
    updates: Sequence[tuple[Any, Any]] = ()
    after_first_call: Callable[[], list[str]] | None = None


def add_scalars() -> Example:
    x, y = T.dscalar("x"), T.dscalar("y")
    return Example(
        "adding two scalars", "f = function([x, y], x + y)", [x, y], x + y, (2.0, 3.0), 5.0
    )


def logistic() -> Example:
    x = T.dmatrix("x")
    data = np.array([[0.0, 1.0], [-1.0, -2.0]])
    return Example(
        "logistic function on a matrix",
        "f = function([x], 1 / (1 + T.exp(-x)))",
        [x],
        1 / (1 + T.exp(-x)),
        (data,),
        1 / (1 + np.exp(-data)),
    )


def logistic_tanh() -> Example:
    x = T.dmatrix("x")
    data = np.array([[0.0, 1.0], [-1.0, -2.0]])
    return Example(
        "logistic function through tanh",
        "f = function([x], (1 + T.tanh(x / 2)) / 2)",
        [x],
        (1 + T.tanh(x / 2)) / 2,
        (data,),
        1 / (1 + np.exp(-data)),
    )


def multiple_outputs() -> Example:
    a, b = T.dmatrix("a"), T.dmatrix("b")
    diff = a - b
    left, right = np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([[0.0, 1.0], [2.0, 3.0]])
    expected = left - right
    return Example(
        "multiple outputs: diff, abs, squared",
        "f = function([a, b], [a - b, T.abs_(a - b), (a - b) ** 2])",
        [a, b],
        [diff, T.abs_(diff), diff**2],
        (left, right),
        [expected, np.abs(expected), expected**2],
    )


def accumulator() -> Example:
    state = jitgraph.shared(0)
    inc = T.iscalar("inc")
    return Example(
        "shared-variable accumulator",
        "f = function([inc], state, updates=[(state, state + inc)])",
        [inc],
        state,
        (1,),
        0,
        updates=[(state, state + inc)],
        after_first_call=lambda: [f"state.get_value() -> {state.get_value()}"],
    )


def dot_product() -> Example:
    x, y = T.dmatrix("x"), T.dmatrix("y")
    left, right = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0], [7.0, 8.0]])
    return Example(
        "dot product",
        "f = function([x, y], T.dot(x, y))",
        [x, y],
        T.dot(x, y),
        (left, right),
        left @ right,
    )


EXAMPLES: tuple[Callable[[], Example], ...] = (
    add_scalars,
    logistic,
    logistic_tanh,
    multiple_outputs,
    accumulator,
    dot_product,
)


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    return np.array2string(np.asarray(value), separator=", ").replace("\n", "")


def _matches(result: Any, expected: Any) -> bool:
    if isinstance(expected, list):
        return (
            isinstance(result, list)
            and len(result) == len(expected)
            and all(_matches(r, e) for r, e in zip(result, expected))
        )
    return bool(np.allclose(np.asarray(result), np.asarray(expected)))


def _format_seconds(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def run_example(example: Example, repeat: int, out: TextIO) -> bool:
    """Compile, call once (printing and checking the result), time; True if it matched."""
    start = time.perf_counter()
    compiled = jitgraph.function(example.inputs, example.outputs, updates=list(example.updates))
    compile_seconds = time.perf_counter() - start
    result = compiled(*example.args)
    ok = _matches(result, example.expected)
    print(f"{example.title}\n    {example.code}", file=out)
    arguments = ", ".join(_show(argument) for argument in example.args)
    print(f"    f({arguments}) = {_show(result)}", file=out)
    for line in example.after_first_call() if example.after_first_call else []:
        print(f"    {line}", file=out)
    call_seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        compiled(*example.args)
        call_seconds.append(time.perf_counter() - start)
    verdict = "ok" if ok else f"MISMATCH, expected {_show(example.expected)}"
    print(
        f"    compile {_format_seconds(compile_seconds)}, call "
        f"{_format_seconds(statistics.median(call_seconds))} (median of {repeat})  [{verdict}]",
        file=out,
    )
    return ok


def _run_safely(make: Callable[[], Example], repeat: int, out: TextIO) -> bool:
    try:
        return run_example(make(), max(repeat, 1), out)
    except Exception as error:  # report every example, even after one has failed
        print(f"{make.__name__}: FAILED, {type(error).__name__}: {error}", file=out)
        return False


def run_demo(repeat: int = 100, out: TextIO | None = None) -> int:
    """Run every example; returns 0 if all results matched NumPy, else 1."""
    stream = out if out is not None else sys.stdout
    print(f"jitgraph demo (mode={config.mode}, floatX={config.floatX})\n", file=stream)
    failures = [make.__name__ for make in EXAMPLES if not _run_safely(make, repeat, stream)]
    if failures:
        print(f"\n{len(failures)} example(s) failed: {', '.join(failures)}", file=stream)
        return 1
    print(f"\nall {len(EXAMPLES)} examples matched NumPy", file=stream)
    return 0
