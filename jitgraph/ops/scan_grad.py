"""The gradient of a scan: back-propagation through time, as another scan.

The forward loop reads, at step ``t``, sequence rows, state taps (rows of each recurrent
output's history ``H``: the initial rows then one row per step) and non-sequences. The
backward loop runs ``t = n-1, ..., 0`` and recomputes the step's vector-Jacobian
product from the stored rows. For each recurrent output it carries a window ``P`` of
``max_back`` pending cotangents: ``P[j]`` is what later steps sent back to row
``max_back + t - j`` of ``H``. At step ``t`` the cotangent of the state computed at ``t``
is the cost's (the output gradient's row ``t``) plus ``P[0]``; the step's VJP sends a
cotangent to each tap ``d`` (row ``max_back + t + d``, i.e. ``P'[-d - 1]`` of the window
shifted for step ``t - 1``), to each sequence row (an output per tap, placed back into a
gradient of the sequence's shape) and to the non-sequences (summed in an accumulator).
After the last backward step the window holds the initial rows' gradients, reversed.

``truncate_gradient=k`` runs only the last ``k`` backward steps: earlier sequence rows and
the initial state get no gradient (Theano's truncated BPTT).

Not differentiated: a while-loop (``until``; its length is data), the shared variables
the loop updates (a gradient cannot flow through an update), integer values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from jitgraph import dtypes
from jitgraph.ir.graph import Graph, Node, Var, ancestors
from jitgraph.ir.rebuild import replace
from jitgraph.ops.base import DISCONNECTED, GradTerm, Undefined
from jitgraph.ops.control import InnerGraph
from jitgraph.ops.scan import KEEP_ALL, KEEP_FINAL, Scan, sequence_window


def _tensor() -> Any:
    import jitgraph.tensor

    return jitgraph.tensor


def _continuous(var: Var) -> bool:
    return dtypes.kind(var.type.dtype) in "fc"


def scan_grad(op: Scan, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
    """The gradient terms of every input of a Scan ``node`` (module docstring)."""
    if op.until:
        reason = "the gradient of a while-loop (scan with until) is not supported"
        return _undefined(node, reason)
    full = _full_history_node(op, node)
    builder = _Backward(op, full, output_grads)
    if builder.reads_updated_shared():
        reason = (
            "the scan's step reads a shared variable that the loop also updates; the "
            "gradient through a value updated at every step is not supported"
        )
        return _undefined(node, reason)
    return builder.terms()


def _undefined(node: Node, reason: str) -> list[GradTerm]:
    terms: list[GradTerm] = [DISCONNECTED]
    terms.extend(Undefined(reason) for _ in node.inputs[1:])
    return terms


def _outer_factors(term: Var) -> tuple[Var, Var] | None:
    """(a, b) when ``term`` is ``outer(a, b)`` as the gradient of ``dot`` builds it:
    ``dot(a[:, None], b[None, :])`` of two vectors."""
    from jitgraph.ops.linalg import Dot
    from jitgraph.ops.shape import DimShuffle

    node = term.owner
    if node is None or not isinstance(node.op, Dot):
        return None
    factors = []
    for var, order in zip(node.inputs, ((0, "x"), ("x", 0)), strict=True):
        owner = var.owner
        if owner is None or not isinstance(owner.op, DimShuffle) or owner.op.new_order != order:
            return None
        factors.append(owner.inputs[0])
    return factors[0], factors[1]


def _full_history_node(op: Scan, node: Node) -> Node:
    """``node``, or the same loop keeping every step (the backward loop reads them all)."""
    if all(k == KEEP_ALL for k in op.keep_last):
        return node
    full = dataclasses.replace(op, keep_last=(KEEP_ALL,) * len(op.keep_last))
    return full.make_node(*node.inputs)


@dataclasses.dataclass
class _Placeholders:
    """The backward step's inputs."""

    seq_rows: list[Var]  # the forward step's sequence-tap inputs, per step
    state_rows: list[Var]  # the forward step's state-tap inputs, per step
    out_cots: list[Var]  # cost gradients of the forward outputs (states, then nits), per step
    windows: list[Any]  # per differentiated state: pending cotangents (max_back rows)
    accumulators: list[Var]  # per differentiated non-sequence: its gradient so far
    nonseqs: list[Var]  # the forward non-sequences and shared values (read-only)


class _Backward:
    def __init__(self, op: Scan, node: Node, output_grads: Sequence[Var]) -> None:
        T = _tensor()
        self.op, self.node = op, node
        self.T = T
        self.forward = op.inner.graph
        positions = op.outer_positions()
        self.n = T.cast(node.inputs[0], "int64")
        self.sequences: list[Any] = [node.inputs[p] for p in positions["sequences"]]
        self.initials: list[Any] = [node.inputs[p] for p in positions["initial"]]
        self.shared = [node.inputs[p] for p in positions["shared"]]
        self.nonseqs: list[Any] = [node.inputs[p] for p in positions["nonseq"]]
        n_out = op.n_states + op.n_nit
        self.cots = [
            T.cast(g, v.type.dtype) if _continuous(v) else None
            for g, v in zip(output_grads[:n_out], node.outputs[:n_out], strict=True)
        ]
        self.states = [k for k in range(op.n_states) if _continuous(self.initials[k])]
        self.diff_nonseqs = [m for m, v in enumerate(self.nonseqs) if _continuous(v)]
        self.diff_seqs = [i for i, s in enumerate(self.sequences) if _continuous(s)]
        self.stored: list[int] = []  # forward outputs whose stored rows the step reads
        # Non-sequences whose per-step gradient is an outer product (dot's): the step
        # outputs both factors and one product after the loop sums them; the others are
        # summed in an accumulator the loop carries.
        self.outer_products: list[int] = []
        self.accumulated: list[int] = []
        if op.truncate_gradient > 0:
            self.steps = T.minimum(self.n, op.truncate_gradient)
        else:
            self.steps = self.n

    def reads_updated_shared(self) -> bool:
        """Whether a differentiated forward output depends on a shared-state input."""
        inner = self.forward
        shared_inputs = {id(inner.inputs[p]) for p in self.op.inner_positions()["shared"]}
        if not shared_inputs:
            return False
        n_out = self.op.n_states + self.op.n_nit
        outputs = [v for v in inner.outputs[:n_out] if _continuous(v)]
        return any(id(v) in shared_inputs for v in ancestors(outputs))

    # ---- outer sequences of the backward loop (reversed: it runs from the last step)
    def _reversed_rows(self, var: Any, start: Any) -> Var:
        """Rows ``start + t`` of ``var`` for the backward steps, last step first."""
        n, steps = self.n, self.steps
        return var[start + n - steps : start + n][::-1]  # type: ignore[no-any-return,unused-ignore]

    def _outer_sequences(self) -> list[Var]:
        T = self.T
        op = self.op
        rows: list[Var] = []
        for seq, taps in zip(self.sequences, op.seq_taps, strict=True):
            low = sequence_window(taps)[0]
            rows.extend(self._reversed_rows(seq, tap - low) for tap in taps)
        for k, taps in enumerate(op.state_taps):
            back = op.max_back(k)
            history = T.concatenate([self.initials[k][:back], self.node.outputs[k]])
            rows.extend(self._reversed_rows(history, back + tap) for tap in taps)
        for cot in self.cots:
            if cot is not None:
                rows.append(self._reversed_rows(cot, 0))
        rows.extend(self._reversed_rows(self.node.outputs[j], 0) for j in self.stored)
        return rows

    # ---- the backward step
    def _placeholders(self) -> _Placeholders:
        inner = self.forward
        positions = self.op.inner_positions()

        def fresh(v: Var) -> Var:
            return v.type.make_variable(v.name)

        outputs = inner.outputs[: self.op.n_states + self.op.n_nit]
        return _Placeholders(
            seq_rows=[fresh(inner.inputs[p]) for p in positions["sequences"]],
            state_rows=[fresh(inner.inputs[p]) for p in positions["states"]],
            out_cots=[fresh(v) for v, c in zip(outputs, self.cots, strict=True) if c is not None],
            windows=[self._window_type(k).make_variable(f"dstate{k}") for k in self.states],
            accumulators=[fresh(inner.inputs[positions["nonseq"][m]]) for m in self.diff_nonseqs],
            nonseqs=[fresh(inner.inputs[p]) for p in (*positions["shared"], *positions["nonseq"])],
        )

    def _window_type(self, k: int) -> Any:
        from jitgraph.ir.types import TensorType

        state = self.forward.outputs[k].type
        return TensorType(state.dtype, (self.op.max_back(k), *state.shape))

    def _step_graph(self, ph: _Placeholders) -> Graph:
        """The backward step: VJP of the forward step at the stored rows."""
        from jitgraph.gradient import grad

        T = self.T
        op, inner = self.op, self.forward
        positions = op.inner_positions()
        forward_inputs = [
            inner.inputs[p]
            for p in (*positions["sequences"], *positions["states"], *positions["shared"])
        ] + [inner.inputs[p] for p in positions["nonseq"]]
        backward_inputs = [*ph.seq_rows, *ph.state_rows, *ph.nonseqs]
        n_out = op.n_states + op.n_nit
        outputs = replace(
            list(inner.outputs[:n_out]), dict(zip(forward_inputs, backward_inputs, strict=True))
        )
        cot_of: dict[int, Var] = {}
        cots = iter(ph.out_cots)
        for j, c in enumerate(self.cots):
            if c is not None:
                cot_of[j] = next(cots)
        for w, k in enumerate(self.states):
            cot_of[k] = cot_of[k] + ph.windows[w][0] if k in cot_of else ph.windows[w][0]
        known = {outputs[j]: cot for j, cot in cot_of.items()}
        nonseq_rows = ph.nonseqs[op.n_shared :]
        wrt = [*ph.seq_rows, *ph.state_rows, *(nonseq_rows[m] for m in self.diff_nonseqs)]
        terms = grad(
            None, wrt, known_grads=known, disconnected_inputs="ignore", return_disconnected="zero"
        )
        n_seq_rows, n_state_rows = len(ph.seq_rows), len(ph.state_rows)
        seq_terms = terms[:n_seq_rows]
        state_terms = terms[n_seq_rows : n_seq_rows + n_state_rows]
        nonseq_terms = terms[n_seq_rows + n_state_rows :]
        new_windows = self._shifted_windows(ph.windows, state_terms)
        accumulators: list[Var] = []
        new_accumulators: list[Var] = []
        factors: list[Var] = []
        self.outer_products = []
        for m, acc, g in zip(self.diff_nonseqs, ph.accumulators, nonseq_terms, strict=True):
            pair = _outer_factors(g)
            if pair is not None:  # summed after the loop: one product of two matrices
                self.outer_products.append(m)
                factors.extend(pair)
            else:
                accumulators.append(acc)
                new_accumulators.append(acc + T.cast(g, acc.type.dtype))
        self.accumulated = [m for m in self.diff_nonseqs if m not in self.outer_products]
        seq_outputs = self._sequence_terms(seq_terms)
        results, stored = self._read_stored(
            outputs, [*new_windows, *new_accumulators, *seq_outputs, *factors]
        )
        graph_inputs = [
            *ph.seq_rows,
            *ph.state_rows,
            *ph.out_cots,
            *stored,
            *ph.windows,
            *accumulators,
            *ph.nonseqs,
        ]
        return Graph(graph_inputs, results)

    def _read_stored(self, outputs: list[Var], results: list[Var]) -> tuple[list[Var], list[Var]]:
        """``results`` reading the forward loop's stored outputs instead of recomputing
        them (the VJP of ``tanh`` uses its output: the forward already has it), and the
        placeholders of the stored rows they read (``self.stored``: which outputs)."""
        stand_ins = {
            j: out.type.make_variable(f"{out.name or f'output{j}'}[t] (stored)")
            for j, out in enumerate(outputs)
            if out.owner is not None
        }
        results = replace(results, {outputs[j]: v for j, v in stand_ins.items()})
        reached = {id(v) for v in ancestors(results)}
        self.stored = [j for j, v in stand_ins.items() if id(v) in reached]
        return results, [stand_ins[j] for j in self.stored]

    def _shifted_windows(self, windows: list[Any], state_terms: Sequence[Var]) -> list[Var]:
        """Each window moved one step back, with this step's tap cotangents added."""
        T = self.T
        op = self.op
        tap_inputs = op.state_tap_inputs()
        first = op.inner_positions()["states"].start  # state_terms start there
        result = []
        for window, k in zip(windows, self.states, strict=True):
            terms = [T.cast(state_terms[p - first], window.type.dtype) for p in tap_inputs[k]]
            if op.state_taps[k] == (-1,):  # one row, all of it this step's: no shifting
                result.append(T.shape_padleft(terms[0]))
                continue
            shifted = T.concatenate([window[1:], T.zeros_like(window[:1])])
            for term, tap in zip(terms, op.state_taps[k], strict=True):
                shifted = T.inc_subtensor(shifted[-tap - 1], term)
            result.append(shifted)
        return result

    def _sequence_terms(self, seq_terms: Sequence[Var]) -> list[Var]:
        """The cotangent of each differentiated sequence's tap rows (an output per tap)."""
        op = self.op
        result: list[Var] = []
        position = 0
        for i, taps in enumerate(op.seq_taps):
            if i in self.diff_seqs:
                dtype = self.sequences[i].type.dtype
                result.extend(self.T.cast(seq_terms[position + j], dtype) for j in range(len(taps)))
            position += len(taps)
        return result

    # ---- assembling the terms
    def terms(self) -> list[GradTerm]:
        T = self.T
        op = self.op
        ph = self._placeholders()
        step = self._step_graph(ph)
        n_windows, n_acc = len(ph.windows), len(self.accumulated)
        n_seq_out = len(step.outputs) - n_windows - n_acc
        backward = Scan(
            InnerGraph(step),
            seq_taps=((0,),) * (len(step.inputs) - n_windows - n_acc - len(ph.nonseqs)),
            state_taps=((-1,),) * (n_windows + n_acc),
            n_nit=n_seq_out,
            n_shared=0,
            n_nonseq=len(ph.nonseqs),
            keep_last=(KEEP_FINAL,) * (n_windows + n_acc) + (KEEP_ALL,) * n_seq_out,
            name=f"grad of {op.name}" if op.name else "scan gradient",
        )
        zero_windows = [T.zeros_like(self.initials[k][: op.max_back(k)]) for k in self.states]
        zero_accs = [T.zeros_like(self.nonseqs[m]) for m in self.accumulated]
        initial_histories = [T.shape_padleft(z) for z in (*zero_windows, *zero_accs)]
        outer = [
            self.steps,
            *self._outer_sequences(),
            *initial_histories,
            *self.shared,
            *self.nonseqs,
        ]
        results = backward.make_node(*outer).outputs
        windows, accs = results[:n_windows], results[n_windows : n_windows + n_acc]
        n_factor_rows = 2 * len(self.outer_products)
        seq_rows = results[n_windows + n_acc : len(results) - n_factor_rows]
        factor_rows: list[Any] = list(results[len(results) - n_factor_rows :])
        summed = dict(zip(self.accumulated, accs, strict=True))
        for position, m in enumerate(self.outer_products):
            left, right = factor_rows[2 * position], factor_rows[2 * position + 1]
            product = T.dot(left.T, right)  # the sum over the steps of outer(left, right)
            summed[m] = T.cast(product, self.nonseqs[m].type.dtype)
        return self._collect(windows, summed, seq_rows)

    def _collect(
        self, windows: Sequence[Any], summed: dict[int, Var], seq_rows: Sequence[Any]
    ) -> list[GradTerm]:
        T = self.T
        op = self.op
        terms: list[GradTerm] = [DISCONNECTED]
        rows = iter(seq_rows)
        for i, (seq, taps) in enumerate(zip(self.sequences, op.seq_taps, strict=True)):
            if i not in self.diff_seqs:
                terms.append(DISCONNECTED)
                continue
            total = T.zeros_like(seq)
            for tap in taps:
                start = tap - sequence_window(taps)[0] + self.n - self.steps
                total = T.inc_subtensor(total[start : start + self.steps], next(rows)[::-1])
            terms.append(total)
        window_of = dict(zip(self.states, windows, strict=True))
        complete = T.eq(self.steps, self.n)  # a truncated gradient does not reach the start
        for k, initial in enumerate(self.initials):
            if k not in window_of:
                terms.append(DISCONNECTED)
                continue
            back = op.max_back(k)
            head = T.switch(complete, window_of[k][::-1], T.zeros_like(window_of[k]))
            terms.append(T.inc_subtensor(T.zeros_like(initial)[:back], head))
        terms.extend(DISCONNECTED for _ in self.shared)
        terms.extend(summed.get(m, DISCONNECTED) for m in range(len(self.nonseqs)))
        return terms
