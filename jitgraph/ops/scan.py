"""The scan op: a loop whose step is a graph of its own (jitgraph.scan builds it).

Outer inputs, in order::

    n_steps             int64 scalar: how many steps to run (a while-loop's maximum)
    sequences           one per sequence, iterated along the leading axis
    initial histories   one per recurrent output: the values before step 0 on a leading
                        axis of at least ``max_back = -min(taps)`` rows (the first
                        ``max_back`` rows are used: row ``max_back + d`` is tap ``d`` at step 0)
    shared states       one per shared variable the step updates (its value before the loop)
    non-sequences       the values the step reads unchanged

The inner graph's inputs: a slice per sequence tap (step ``t`` reads row
``t + tap - min(min(taps), 0)``: the sequence is cut as if tap 0 were among the taps, so
tap ``k`` is the row ``k`` after the step's own; see ``sequence_window``), a value per
recurrent-output tap, the current value of each shared state, then the non-sequences.
Its outputs: the new value of each recurrent output, of each output not fed back ("nit":
computed for the caller only), of each shared state, then, for a while-loop, the stop
condition (checked after the step: the step where it is true is the last one, and is
kept).

Outer outputs: per recurrent output and per nit output its values at every step (leading
axis: the steps), or, where ``keep_last`` says so, only the value of the last step (the
memory optimization for ``result[-1]``: only the rows the taps need are kept); per shared
state its value after the loop.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from jitgraph.ir.graph import Graph, Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import GradTerm
from jitgraph.ops.control import InnerGraph, InnerGraphOp

# ``keep_last`` values, per output: every step's value, the last step's value (an error
# when no step ran: ``result[-1]`` of an empty result), or the value after the loop (the
# initial value when no step ran; the gradient's accumulators).
KEEP_ALL, KEEP_LAST_STEP, KEEP_FINAL = 0, 1, 2


def sequence_window(taps: Sequence[int]) -> tuple[int, int]:
    """``(low, span)`` of a sequence read with ``taps``: step ``t`` reads row
    ``t + tap - low`` for each tap, and ``n`` steps need ``n + span`` rows (Theano's
    reading: the taps are relative to a tap 0, whether or not it is among them)."""
    low, high = min(min(taps), 0), max(max(taps), 0)
    return low, high - low


def sequence_rows(op: Scan, sequences: Sequence[np.ndarray], t: int) -> list[np.ndarray]:
    """The step inputs that step ``t`` reads from ``sequences``: a row per tap, as arrays
    (also 0-d ones: the step's compiled code reads array objects)."""
    rows: list[np.ndarray] = []
    for seq, taps in zip(sequences, op.seq_taps, strict=True):
        low = sequence_window(taps)[0]
        rows.extend(seq[t + tap - low, ...] for tap in taps)
    return rows


class ScanError(ValueError):
    """A loop that cannot run as asked: too-short sequences, a step whose result does not
    fit the state it updates, a negative number of steps."""


@dataclasses.dataclass(frozen=True)
class Scan(InnerGraphOp):
    """A loop (module docstring). ``state_taps`` are negative; ``keep_last`` has one flag
    per recurrent output then per nit output."""

    inner: InnerGraph
    seq_taps: tuple[tuple[int, ...], ...]
    state_taps: tuple[tuple[int, ...], ...]
    n_nit: int
    n_shared: int
    n_nonseq: int
    until: bool = False
    keep_last: tuple[int, ...] = ()
    truncate_gradient: int = -1
    name: str | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.keep_last:
            object.__setattr__(self, "keep_last", (KEEP_ALL,) * (self.n_states + self.n_nit))

    # ---- layout
    @property
    def n_seqs(self) -> int:
        return len(self.seq_taps)

    @property
    def n_states(self) -> int:
        return len(self.state_taps)

    def max_back(self, k: int) -> int:
        return -min(self.state_taps[k])

    def outer_positions(self) -> dict[str, range]:
        """Ranges of the outer inputs by role."""
        start = 1
        result = {}
        for role, count in (
            ("sequences", self.n_seqs),
            ("initial", self.n_states),
            ("shared", self.n_shared),
            ("nonseq", self.n_nonseq),
        ):
            result[role] = range(start, start + count)
            start += count
        return result

    def inner_positions(self) -> dict[str, range]:
        """Ranges of the inner graph's inputs by role."""
        n_seq_taps = sum(len(t) for t in self.seq_taps)
        n_state_taps = sum(len(t) for t in self.state_taps)
        counts = (n_seq_taps, n_state_taps, self.n_shared, self.n_nonseq)
        result, start = {}, 0
        for role, count in zip(("sequences", "states", "shared", "nonseq"), counts, strict=True):
            result[role] = range(start, start + count)
            start += count
        return result

    def state_tap_inputs(self) -> list[list[int]]:
        """Per recurrent output, the positions of its taps' inputs in the inner graph."""
        positions = iter(self.inner_positions()["states"])
        return [[next(positions) for _ in taps] for taps in self.state_taps]

    def params(self) -> tuple[tuple[str, Any], ...]:
        return tuple((k, v) for k, v in super().params() if k != "name")

    def short_description(self) -> str:
        label = f"scan {self.name!r}" if self.name else "scan"
        return f"{label} ({len(self.inner.graph.nodes)} nodes per step)"

    def __str__(self) -> str:
        kind = "while" if self.until else "for"
        name = f"{self.name}, " if self.name else ""
        return f"Scan{{{name}{kind}, {len(self.inner.graph.nodes)} inner nodes}}"

    def inner_text(self) -> str:
        """The step's graph (its optimized form once compiled for the LLVM backend), shown
        under the graph by ``debugprint``, after a line naming the step's inputs."""
        from jitgraph.printing import debugprint

        compiled = self.inner.compiled("llvm")
        graph = compiled.graph if compiled is not None else self.inner.graph
        roles = []
        for role, indices in self.inner_positions().items():
            names = [repr(self.inner.graph.inputs[i]) for i in indices]
            if names:
                roles.append(f"{role}: {', '.join(names)}")
        header = "step inputs: " + "; ".join(roles) if roles else "step inputs: none"
        return header + "\n" + debugprint(list(graph.outputs), file="str")

    # ---- types
    def make_node(self, *inputs: Var) -> Node:
        graph = self.inner.graph
        positions = self.outer_positions()
        expected = 1 + self.n_seqs + self.n_states + self.n_shared + self.n_nonseq
        if len(inputs) != expected:
            raise TypeError(f"Scan takes {expected} inputs, got {len(inputs)}")
        n_steps = inputs[0]
        if n_steps.type.ndim != 0 or n_steps.type.dtype[:3] not in ("int", "uin"):
            raise TypeError(f"scan: n_steps must be an integer scalar, got {n_steps.type}")
        outputs = graph.outputs
        types: list[TensorType] = []
        for k, tap_inputs in enumerate(self.state_tap_inputs()):
            # The state's type is its placeholder's: the initial value may be more specific.
            state = graph.inputs[tap_inputs[0]].type
            types.append(
                state if self.keep_last[k] else TensorType(state.dtype, (None, *state.shape))
            )
        for j in range(self.n_nit):
            value = outputs[self.n_states + j].type
            keep = self.keep_last[self.n_states + j]
            types.append(value if keep else TensorType(value.dtype, (None, *value.shape)))
        for position in positions["shared"]:
            types.append(inputs[position].type)
        return self.make_apply(inputs, types)

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        positions = self.outer_positions()
        n_steps = node.inputs[0]
        result: list[tuple[Var, ...]] = []
        if self.until:  # the number of steps is known when the loop has run
            raise NotImplementedError("the length of a while-loop's results")
        from jitgraph.tensor.math import cast

        steps = cast(n_steps, "int64")
        for k, position in enumerate(positions["initial"]):
            state = tuple(input_shapes[position][1:])
            result.append(state if self.keep_last[k] else (steps, *state))
        for j in range(self.n_nit):
            static = self.inner.graph.outputs[self.n_states + j].type.shape
            if None in static:
                raise NotImplementedError("the shape of a scan output that is not fed back")
            from jitgraph.ops.shape import int64_constant

            dims = tuple(int64_constant(d) for d in static)  # type: ignore[arg-type]
            result.append(dims if self.keep_last[self.n_states + j] else (steps, *dims))
        for position in positions["shared"]:
            result.append(tuple(input_shapes[position]))
        return result

    def unrun_shape(self, j: int, step_inputs: list[Any]) -> tuple[int, ...]:
        """The shape nit output ``j`` would have at a step given ``step_inputs`` (of the
        right shapes; sequence rows and states may be stand-ins): what an empty loop's
        result has after its leading 0. From the step's shape graph where it reads only
        shapes and the non-sequences' values; else the static shape, 0 where unknown."""
        value = self.inner.graph.outputs[self.n_states + j]
        fallback = tuple(0 if d is None else d for d in value.type.shape)
        program = self.inner.shape_program(self.n_states + j, self.inner_positions()["nonseq"])
        if program is None:
            return fallback
        try:
            (shape,) = program.run(step_inputs)
        except Exception:  # noqa: BLE001 - a shape graph that cannot run on stand-ins
            return fallback
        return tuple(int(d) for d in shape)

    # ---- running
    def implementation(self, node: Node, backend: str) -> Any:
        from jitgraph.backends.reference import NodeImplementation

        program = self.inner.program(backend)
        if backend == "cuda":  # the step's values are CuPy arrays: so are the loop's
            from jitgraph.backends.cuda.runtime import cupy_module

            loop = PythonLoop(self, node, program.run_quietly, cupy_module())
            return NodeImplementation(loop.run, None, "scan: a host loop of CUDA launches")
        loop = PythonLoop(self, node, program.run_quietly)
        if backend == "llvm":
            native = _native_loop(self, node, program)
            if native is not None:
                # Its outputs are allocated from the states' (checked) dtypes and shapes.
                return NodeImplementation(
                    native, None, "native scan loop", trusted=True, silent=True
                )
            return NodeImplementation(loop.run, None, "scan: a Python loop over a compiled step")
        return NodeImplementation(loop.run, None, "scan: reference loop")

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        from jitgraph.ops.scan_grad import scan_grad

        return scan_grad(self, node, output_grads)


def _native_loop(op: Scan, node: Node, program: Any) -> Callable[[list[Any]], list[Any]] | None:
    """The LLVM backend's one-native-loop implementation, or None where the step has a
    node it cannot run natively (then the loop runs in Python over the compiled step)."""
    from jitgraph.backends.llvm.scan_loop import native_scan

    return native_scan(op, node, program)


def _state_error(op: Scan, k: int, step: int, expected: tuple[int, ...], got: Any) -> ScanError:
    label = _output_label(op, k)
    return ScanError(
        f"scan{_named(op)}: at step {step}, the step returned a value of shape "
        f"{tuple(np.shape(got))} for {label}, but the state has shape {expected} (from its "
        "initial value in outputs_info); every step must return the state's shape"
    )


def _named(op: Scan) -> str:
    return f" {op.name!r}" if op.name else ""


def _output_label(op: Scan, k: int) -> str:
    if k < op.n_states:
        return f"recurrent output {k}"
    if k < op.n_states + op.n_nit:
        return f"output {k} (not fed back)"
    return f"shared-variable update {k - op.n_states - op.n_nit}"


def check_sequences(op: Scan, n: int, sequences: Sequence[np.ndarray]) -> None:
    """Raise where a sequence is too short for ``n`` steps with its taps."""
    for i, (seq, taps) in enumerate(zip(sequences, op.seq_taps, strict=True)):
        span = sequence_window(taps)[1]
        if seq.ndim == 0 or seq.shape[0] < n + span:
            length = seq.shape[0] if seq.ndim else "no"
            need = f"{n} + {span} for its taps {list(taps)}" if span else str(n)
            raise ScanError(
                f"scan{_named(op)}: sequence {i} has {length} entries along its leading axis, "
                f"but {n} steps need {need}"
            )


def steps_to_run(op: Scan, value: Any) -> int:
    n = int(value)
    if n < 0:
        raise ScanError(
            f"scan{_named(op)}: n_steps is {n}; it must be >= 0 (to run backwards over the "
            "sequences, use go_backwards=True)"
        )
    return n


class PythonLoop:
    """The loop run step by step in Python; each step runs the compiled inner program.

    ``xp`` is the array module of the step's values: NumPy, or CuPy for a step compiled for
    the GPU (the histories and collected outputs then live on the GPU too)."""

    def __init__(
        self, op: Scan, node: Node, run_step: Callable[[list[Any]], list[Any]], xp: Any = np
    ) -> None:
        self.op = op
        self.node = node
        self.run_step = run_step
        self.xp = xp
        graph: Graph = op.inner.graph
        self.nit_types = [v.type for v in graph.outputs[op.n_states : op.n_states + op.n_nit]]

    def run(self, inputs: list[Any]) -> list[Any]:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            return self._run(inputs)

    def _run(self, inputs: list[Any]) -> list[Any]:
        op = self.op
        positions = op.outer_positions()
        n = steps_to_run(op, inputs[0])
        sequences = [inputs[p] for p in positions["sequences"]]
        check_sequences(op, n, sequences)
        xp = self.xp
        histories = [_History(op, k, inputs[p], n, xp) for k, p in enumerate(positions["initial"])]
        shared = [inputs[p] for p in positions["shared"]]
        nonseq = [inputs[p] for p in positions["nonseq"]]
        nits = [_Collector(op, op.n_states + j, n, t, xp) for j, t in enumerate(self.nit_types)]
        done = 0
        for t in range(n):
            args: list[Any] = []
            args.extend(sequence_rows(op, sequences, t))
            for history in histories:
                args.extend(history.taps(t))
            args.extend(shared)
            args.extend(nonseq)
            results = self.run_step(args)
            for history, value in zip(histories, results, strict=False):
                history.store(t, value)
            rest = results[op.n_states :]
            for collector, value in zip(nits, rest, strict=False):
                collector.store(t, value)
            shared = [
                xp.array(value, copy=True) for value in rest[op.n_nit : op.n_nit + op.n_shared]
            ]
            done = t + 1
            if op.until and bool(results[-1]):
                break

        def stand_in_inputs() -> list[Any]:  # a step's inputs when no step ran
            return self.stand_in_step_inputs(sequences, histories, shared, nonseq)

        outputs = [h.result(done) for h in histories]
        outputs += [c.result(done, stand_in_inputs) for c in nits]
        return outputs + shared

    def stand_in_step_inputs(
        self,
        sequences: list[np.ndarray],
        histories: list[_History],
        shared: list[Any],
        nonseq: list[Any],
    ) -> list[Any]:
        """Values of a step's inputs with the shapes a step would see: zeros for sequence
        rows and states, the actual shared values and non-sequences."""
        args: list[Any] = []
        for seq, taps in zip(sequences, self.op.seq_taps, strict=True):
            args.extend(self.xp.zeros(seq.shape[1:], seq.dtype) for _ in taps)
        for history in histories:
            args.extend(history.buffer[0] for _ in history.taps_of)
        return [*args, *shared, *nonseq]


class _History:
    """One recurrent output's rows: the initial taps then each step's value (all of them,
    or a ring of ``max_back + 1`` rows when only the last value is kept)."""

    def __init__(self, op: Scan, k: int, initial: np.ndarray, n: int, xp: Any = np) -> None:
        self.op, self.k = op, k
        self.back = op.max_back(k)
        self.taps_of = op.state_taps[k]
        if initial.ndim == 0 or initial.shape[0] < self.back:
            rows = initial.shape[0] if initial.ndim else 0
            raise ScanError(
                f"scan{_named(op)}: the initial value of recurrent output {k} has {rows} "
                f"row(s) along its leading axis, but its taps {list(self.taps_of)} need "
                f"{self.back}"
            )
        self.keep_last = op.keep_last[k]
        self.rows = self.back + 1 if self.keep_last else self.back + n
        self.shape = initial.shape[1:]
        self.buffer = xp.empty((self.rows, *self.shape), dtype=initial.dtype)
        self.buffer[: self.back] = initial[: self.back]

    def _row(self, position: int) -> int:
        return position % self.rows if self.keep_last else position

    def taps(self, t: int) -> list[np.ndarray]:
        return [self.buffer[self._row(self.back + t + tap), ...] for tap in self.taps_of]

    def store(self, t: int, value: Any) -> None:
        if (value.shape if hasattr(value, "shape") else np.shape(value)) != self.shape:
            raise _state_error(self.op, self.k, t, self.shape, value)
        self.buffer[self._row(self.back + t)] = value

    def result(self, done: int) -> np.ndarray:
        if self.keep_last:
            if done == 0 and self.keep_last == KEEP_LAST_STEP:
                raise _empty_last(self.op, self.k)
            return self.buffer[self._row(self.back + done - 1)].copy()
        return self.buffer[self.back : self.back + done]


def _empty_last(op: Scan, k: int) -> IndexError:
    return IndexError(
        f"scan{_named(op)}: the last value of {_output_label(op, k)} was asked for "
        "(result[-1]), but the loop ran 0 steps"
    )


class _Collector:
    """An output that is not fed back: its value at every step (or the last one)."""

    def __init__(self, op: Scan, k: int, n: int, ttype: TensorType, xp: Any = np) -> None:
        self.op, self.k, self.n = op, k, n
        self.xp = xp
        self.keep_last = op.keep_last[k]
        self.ttype = ttype
        self.buffer: np.ndarray | None = None
        self.shape: tuple[int, ...] | None = None

    def store(self, t: int, value: Any) -> None:
        value = self.xp.asarray(value)
        if self.shape is None:
            self.shape = value.shape
            rows = () if self.keep_last else (self.n,)
            self.buffer = self.xp.empty((*rows, *value.shape), dtype=self.ttype.numpy_dtype)
        elif value.shape != self.shape:
            raise ScanError(
                f"scan{_named(self.op)}: at step {t}, the step returned a value of shape "
                f"{value.shape} for {_output_label(self.op, self.k)}, but earlier steps "
                f"returned shape {self.shape}; every step must return one shape"
            )
        assert self.buffer is not None
        if self.keep_last:
            self.buffer[...] = value
        else:
            self.buffer[t] = value

    def result(self, done: int, step_inputs: Callable[[], list[Any]]) -> np.ndarray:
        if self.buffer is None:  # no step ran: the shape a step would have given
            if self.keep_last:
                raise _empty_last(self.op, self.k)
            shape = self.op.unrun_shape(self.k - self.op.n_states, step_inputs())
            return self.xp.empty((0, *shape), dtype=self.ttype.numpy_dtype)
        return self.buffer if self.keep_last else self.buffer[:done]


__all__ = ["Scan", "ScanError"]
