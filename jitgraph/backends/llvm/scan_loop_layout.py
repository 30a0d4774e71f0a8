"""One call of scan's native loop: its arrays and its context.

The context's fields are addresses (which the compiled loop reads itself from the arrays
each call passes it) and sizes, strides and BLAS arguments, which depend only on the
*layout* of the call: the shapes, strides and dtypes of the inputs and of the invariant
values the loop reads, and the values sizes depend on (index bounds, reshape sizes).
``layout_key`` names a call's layout; calls of one layout share a ``Template`` (the
context without its addresses, and the shapes of the loop's arrays).

``first_call(op, program, plan, inputs, n)`` makes the template of a new layout: it runs
step 0 in Python (which gives the shape of every value and checks that each result
keeps its state's shape and dtype), allocates, and fills the context. It returns None
where the call must run as the Python loop: an input that does not have the step's dtype
or rank, a sequence or initial value too short, a step 0 that raises, a result that
does not fit its state, an operand BLAS cannot read as it lies, an empty product. The
Python loop then raises the error or computes the result: nothing here raises for the
user's mistakes.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.lib.array_utils import byte_bounds

from jitgraph.backends.llvm import blas
from jitgraph.backends.llvm.program import LLVMProgram
from jitgraph.backends.llvm.scan_loop_plan import (
    INLINE,
    INLINE_FIELDS,
    INTEGER_FIELDS,
    ComputeView,
    Elementwise,
    KernelCall,
    LoopPlan,
    ProductCall,
    View,
)
from jitgraph.backends.reference import check_result
from jitgraph.ops.scan import Scan, sequence_rows, sequence_window

__all__ = ["LoopCall", "Template", "first_call", "layout_key", "run_steps"]


class LoopCall:
    """A call's arrays: the caller's sequences and non-sequences, the loop's histories,
    nit outputs, shared buffers (two rows each) and arrays for the values it computes."""

    def __init__(
        self,
        op: Scan,
        positions: Mapping[str, Sequence[int]],
        inputs: list[Any],
        n: int,
        values: dict[int, Any],
    ) -> None:
        self.op, self.n, self.values = op, n, values
        self.sequences = [inputs[p] for p in positions["sequences"]]
        self.initial = [inputs[p] for p in positions["initial"]]
        self.nonseq = [inputs[p] for p in positions["nonseq"]]
        self.shared_values = [inputs[p] for p in positions["shared"]]
        self.histories: list[np.ndarray] = []
        self.nits: list[np.ndarray] = []
        self.shared: list[np.ndarray] = []
        self.pushed: list[np.ndarray] = []

    def allocate(
        self, nit_shapes: list[tuple[int, ...]], nit_dtypes: list[Any], buffers: dict[int, Any]
    ) -> None:
        """The loop's arrays, the initial rows and shared values copied in; ``buffers``
        gives the (shape, dtype) of each value the loop computes."""
        op, n = self.op, self.n
        for k, initial in enumerate(self.initial):
            back = op.max_back(k)
            rows = back + (1 if op.keep_last[k] else n)
            history = np.empty((rows, *initial.shape[1:]), initial.dtype)
            history[:back] = initial[:back]
            self.histories.append(history)
        for j, (shape, dtype) in enumerate(zip(nit_shapes, nit_dtypes, strict=True)):
            steps = () if op.keep_last[op.n_states + j] else (n,)
            self.nits.append(np.empty((*steps, *shape), dtype))
        for value in self.shared_values:
            pair = np.empty((2, *value.shape), value.dtype)
            pair[0] = value
            self.shared.append(pair)
        for slot, (shape, dtype) in buffers.items():
            self.values[slot] = np.empty(shape, dtype)

    def push(self, plan: LoopPlan) -> None:
        """The pushed products: every step's at once (one matrix product each)."""
        for pushed in plan.pushed:
            low = pushed.shift
            rows = self.sequences[pushed.sequence][low : low + self.n]
            matrix = self.values[pushed.matrix]
            self.pushed.append(np.matmul(rows, matrix.T if pushed.matrix_first else matrix))

    def arrays(self, plan: LoopPlan, context: np.ndarray) -> tuple[np.ndarray, ...]:
        """What the compiled loop takes: the context, then the arrays of the address
        fields in ``plan.address_fields``'s order."""
        fixed = [self.values[slot] for slot, _ in plan.fixed]
        loop_arrays = (*self.histories, *self.nits, *self.shared, *self.pushed)
        return (context, *self.sequences, *loop_arrays, *fixed)

    def step_arguments(self, t: int) -> list[Any]:
        """The step's inputs at step ``t`` from the loop's arrays (the Python loop's)."""
        op = self.op
        args: list[Any] = sequence_rows(op, self.sequences, t)
        for k, history in enumerate(self.histories):
            back = op.max_back(k)
            args.extend(history[(back + t + tap) % len(history), ...] for tap in op.state_taps[k])
        args.extend(pair[t & 1, ...] for pair in self.shared)
        args.extend(self.nonseq)
        return args

    def outputs(self, done: int) -> list[np.ndarray]:
        """The scan's outputs after ``done`` steps (``PythonLoop.run``'s)."""
        op, results = self.op, []
        for k, history in enumerate(self.histories):
            back = op.max_back(k)
            if op.keep_last[k]:
                results.append(history[(back + done - 1) % len(history), ...].copy())
            else:
                results.append(history[back : back + done])
        for j, nit in enumerate(self.nits):
            results.append(nit if op.keep_last[op.n_states + j] else nit[:done])
        results.extend(pair[done & 1, ...].copy() for pair in self.shared)
        return results


class Template:
    """What the calls of one layout share: the context without addresses, and the
    shapes and dtypes of the arrays the loop computes into (all fixed by the layout)."""

    def __init__(self, call: LoopCall, plan: LoopPlan, context: np.ndarray) -> None:
        op = call.op
        self.op, self.context, self.plan = op, context, plan
        self.nit_shapes = [nit.shape[0 if op.keep_last[op.n_states + j] else 1 :]
                           for j, nit in enumerate(call.nits)]  # fmt: skip
        self.nit_dtypes = [nit.dtype for nit in call.nits]
        self.buffers = {s: (call.values[s].shape, call.values[s].dtype) for s in plan.buffers}
        positions = op.outer_positions()
        # Tuples, not ranges: each call's LoopCall reads them.
        self.positions = {role: tuple(indices) for role, indices in positions.items()}
        self.spans = [
            (position, sequence_window(taps)[1])
            for position, taps in zip(positions["sequences"], op.seq_taps, strict=True)
        ]

    def start(self, inputs: list[Any], n: int, values: dict[int, Any]) -> LoopCall | None:
        """A call of this layout, its arrays allocated (``values``: the invariant
        values); None where a sequence is shorter than the ``n`` steps need (with its
        taps: the Python loop raises the error)."""
        for position, span in self.spans:
            if inputs[position].shape[0] < n + span:
                return None
        call = LoopCall(self.op, self.positions, inputs, n, values)
        call.allocate(self.nit_shapes, self.nit_dtypes, self.buffers)
        call.push(self.plan)
        return call


# ============================================================================ per call
def run_steps(program: LLVMProgram, positions: Any, values: dict[int, Any]) -> dict[int, Any]:
    """The program's steps at ``positions`` run on ``values`` (slot: value), which gets
    their results (each call computes the invariant nodes the loop reads this way);
    raises where a step does."""
    steps = program.steps
    for position in positions:
        node, perform, ins, outs, _, _, check = steps[position]
        results = perform([values[s] for s in ins])
        for slot, var, value in zip(outs, node.outputs, results, strict=True):
            values[slot] = check_result(node, var.type, value) if check else value
    return values


def layout_key(plan: LoopPlan, inputs: list[Any], values: dict[int, Any]) -> tuple[Any, ...] | None:
    """The call's layout (the module docstring); None where a value the loop reads is
    not an array (the loop reads NumPy's array objects themselves)."""
    arrays = [*inputs[1:], *[values[s] for s in plan.invariant_inputs]]
    if not all(map(isinstance, arrays, itertools.repeat(np.ndarray))):
        return None
    layouts = tuple(map(_LAYOUT, arrays))  # C-level attribute reads: this runs at every call
    if not plan.shape_slots:
        return layouts
    return layouts, tuple(values[s].tobytes() for s in plan.shape_slots)


_LAYOUT = operator.attrgetter("shape", "strides", "dtype")


# ============================================================================ a new layout
def first_call(
    op: Scan, program: LLVMProgram, plan: LoopPlan, inputs: list[Any], n: int
) -> tuple[Template, LoopCall] | None:
    """The template of this call's layout, and the call (module docstring)."""
    if not _inputs_fit(op, program, inputs, n):
        return None
    values: dict[int, Any] = dict(zip(program.input_slots, _first_arguments(op, inputs)))
    values.update(program.constants)
    try:
        run_steps(program, range(len(program.steps)), values)
    except Exception:  # noqa: BLE001 - the Python loop runs the call and raises it
        return None
    call = LoopCall(op, op.outer_positions(), inputs, n, values)
    shapes = _result_shapes(call, program, plan)
    if shapes is None:
        return None
    buffers = {s: (values[s].shape, values[s].dtype) for s in plan.buffers}
    call.allocate(*shapes, buffers)
    call.push(plan)
    context = _fill(call, plan, _arrays_at_step_zero(call, program, plan))
    if context is None:
        return None
    return Template(call, plan, context), call


def _inputs_fit(op: Scan, program: LLVMProgram, inputs: list[Any], n: int) -> bool:
    """Whether every outer input is an array of the step's dtype and rank, and long
    enough for ``n`` steps (else the Python loop decides, and raises if it must)."""
    positions = op.outer_positions()
    placeholders = iter(v.type for v in program.graph.inputs)
    for position, taps in zip(positions["sequences"], op.seq_taps, strict=True):
        seq = inputs[position]
        if not _is_array(seq) or seq.ndim == 0 or seq.shape[0] < n + sequence_window(taps)[1]:
            return False
        if not all(_matches(next(placeholders), seq, 1) for _ in taps):
            return False
    for k, position in enumerate(positions["initial"]):
        initial = inputs[position]
        if not _is_array(initial) or initial.ndim == 0 or initial.shape[0] < op.max_back(k):
            return False
        if not all(_matches(next(placeholders), initial, 1) for _ in op.state_taps[k]):
            return False
    for position in (*positions["shared"], *positions["nonseq"]):
        if not _is_array(inputs[position]) or not _matches(next(placeholders), inputs[position], 0):
            return False
    return True


def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray)


def _matches(ttype: Any, value: np.ndarray, leading: int) -> bool:
    """Whether ``value``'s rows (``leading`` = 1) or itself have ``ttype``'s dtype, rank
    and static sizes."""
    shape = value.shape[leading:]
    return (
        value.dtype == ttype.numpy_dtype
        and len(shape) == ttype.ndim
        and all(s is None or s == d for s, d in zip(ttype.shape, shape, strict=True))
    )


def _first_arguments(op: Scan, inputs: list[Any]) -> list[Any]:
    """Step 0's inputs, as the Python loop gives them."""
    positions = op.outer_positions()
    args: list[Any] = sequence_rows(op, [inputs[p] for p in positions["sequences"]], 0)
    for k, position in enumerate(positions["initial"]):
        back = op.max_back(k)
        args.extend(inputs[position][back + tap, ...] for tap in op.state_taps[k])
    args.extend(inputs[p] for p in (*positions["shared"], *positions["nonseq"]))
    return args


def _result_shapes(
    call: LoopCall, program: LLVMProgram, plan: LoopPlan
) -> tuple[list[tuple[int, ...]], list[Any]] | None:
    """The nit outputs' shapes and dtypes; None where a result of step 0 does not fit
    its state (its shape or dtype differs: the next step's shapes would differ)."""
    op, values = call.op, call.values
    results = [values[s] for s in program.output_slots]
    for k, initial in enumerate(call.initial):
        if not _same_layout(results[k], initial.shape[1:], initial.dtype):
            return None
    nits = results[op.n_states : op.n_states + op.n_nit]
    for value, var in zip(nits, program.graph.outputs[op.n_states :], strict=False):
        if not _is_array(value) or value.dtype != var.type.numpy_dtype:
            return None
    for j, value in enumerate(call.shared_values):
        if not _same_layout(results[op.n_states + op.n_nit + j], value.shape, value.dtype):
            return None
    if plan.until is not None and np.ndim(values[plan.until]) != 0:
        return None
    if not all(_is_array(values[slot]) for slot in plan.buffers):
        return None
    return [v.shape for v in nits], [v.dtype for v in nits]


def _same_layout(value: Any, shape: tuple[int, ...], dtype: Any) -> bool:
    return _is_array(value) and value.shape == shape and value.dtype == dtype


def _arrays_at_step_zero(call: LoopCall, program: LLVMProgram, plan: LoopPlan) -> dict[int, Any]:
    """Each value's array at step 0 as the loop lays it out: the inputs' rows in the
    loop's arrays, the loop's own arrays, the results' destinations (views are added
    while the context is filled)."""
    arrays = dict(call.values)
    arrays.update(zip(program.input_slots, call.step_arguments(0), strict=True))
    op = call.op
    targets = [h[op.max_back(k), ...] for k, h in enumerate(call.histories)]
    targets += [
        nit if op.keep_last[op.n_states + j] else nit[0, ...] for j, nit in enumerate(call.nits)
    ]
    targets += [pair[1, ...] for pair in call.shared]
    arrays.update(zip(plan.destinations, targets, strict=True))
    arrays.update((p.value, rows[0, ...]) for p, rows in zip(plan.pushed, call.pushed, strict=True))
    return arrays


# ============================================================================ the context
def _fill(call: LoopCall, plan: LoopPlan, arrays: dict[int, Any]) -> np.ndarray | None:
    """The context's sizes, strides and arguments (its address fields are written by the
    loop itself); None where an action cannot take this call's arrays."""
    fields = [0] * plan.n_fields
    for seq, (_, stride) in zip(call.sequences, plan.sequences, strict=True):
        fields[stride] = seq.strides[0]
    for history, (_, stride, rows) in zip(call.histories, plan.histories, strict=True):
        fields[stride], fields[rows] = history.strides[0], len(history)
    op = call.op
    for j, (nit, (_, stride)) in enumerate(zip(call.nits, plan.nits, strict=True)):
        fields[stride] = 0 if op.keep_last[op.n_states + j] else nit.strides[0]
    for pair, (_, half) in zip(call.shared, plan.shared, strict=True):
        fields[half] = pair.strides[0]
    for products, pushed in zip(call.pushed, plan.pushed, strict=True):
        fields[pushed.stride] = products.strides[0]
    if not all(_is_array(arrays[slot]) for slot, _ in plan.fixed):
        return None
    values = dict(plan.values)
    for action in plan.actions:
        try:
            fitted = _FILLERS[type(action)](action, arrays, fields, values)
        except (ValueError, IndexError):  # a layout the action cannot take
            fitted = False
        if not fitted:
            return None
    return np.array(fields, dtype=np.int64)


def _fill_view(
    action: ComputeView, arrays: dict[int, Any], fields: list[int], values: dict[int, Any]
) -> bool:
    """The view's offset in its base, and the size and stride of each indexed axis."""
    where = values[action.value].pointer
    assert isinstance(where, View)
    base, view = arrays[where.of], action.replay(arrays)
    if not _is_array(view) or not _inside(view, base):
        return False  # not a view of its input (a copy): it would change at every step
    fields[where.offset] = view.ctypes.data - base.ctypes.data if view.size else 0
    for term in where.indices:
        fields[term.dim], fields[term.stride] = base.shape[term.axis], base.strides[term.axis]
    arrays[action.value] = view
    return True


def _inside(view: np.ndarray, base: np.ndarray) -> bool:
    if view.size == 0:
        return True
    if base.size == 0:
        return False
    low, high = byte_bounds(view)
    base_low, base_high = byte_bounds(base)
    return bool(base_low <= low and high <= base_high)


def _fill_kernel(
    action: KernelCall, arrays: dict[int, Any], fields: list[int], values: dict[int, Any]
) -> bool:
    given = [arrays[number] for number in action.arrays]
    extents, strides = action.compiled.strided_arguments(
        given[: action.n_inputs], given[action.n_inputs :]
    )
    count = len(action.arrays) * action.ndim
    fields[action.rows] = extents[0] if extents else 1
    fields[action.extents : action.extents + action.ndim] = extents
    fields[action.strides : action.strides + count] = strides[:count]
    return True


def _fill_product(
    action: ProductCall, arrays: dict[int, Any], fields: list[int], values: dict[int, Any]
) -> bool:
    """How this layout's product runs (the loop's own code for small ones, else BLAS)
    and its arguments; False for an empty product."""
    a, b, out = arrays[action.a], arrays[action.b], arrays[action.out]
    if action.kind == "product":
        a = a[None, :] if a.ndim == 1 else a
        b = b[:, None] if b.ndim == 1 else b
        out = out.reshape(a.shape[0], b.shape[1])
        if a.shape[1] == 0:
            return False
    if out.size == 0:
        return False
    matrices = (a[:, None], b[None, :]) if action.kind == "outer" else (a, b)
    inline, vectorizable = _inline_fields(*matrices, out)
    call = None if _runs_inline(inline, vectorizable) else blas.routine_call(action.kind, a, b, out)
    if call is None or call.routine not in action.routines:  # also where BLAS cannot
        fields[action.choice] = INLINE
        fields[action.inline : action.inline + INLINE_FIELDS] = inline
        return True
    call = blas.routine_call(action.kind, a, b, out)
    if call is None or call.routine not in action.routines:
        return False
    fields[action.choice] = action.routines.index(call.routine)
    fields[action.b_first] = int(call.b_first)
    padded = (*call.integers, *[0] * (INTEGER_FIELDS - len(call.integers)))
    fields[action.integers : action.integers + INTEGER_FIELDS] = padded
    return True


# Multiply-adds up to which a product runs as the loop's own code: a BLAS call costs
# about as much as a few thousand of them; a product with no unit-stride axis to
# vectorize along runs as BLAS above the smallest sizes.
_INLINE_PRODUCT = 1 << 16
_INLINE_SCALAR = 1 << 8


def _runs_inline(inline: list[int], vectorizable: bool) -> bool:
    m, n, k = inline[:3]
    work = m * n * k
    return work <= _INLINE_SCALAR or (vectorizable and work <= _INLINE_PRODUCT)


def _inline_fields(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> tuple[list[int], bool]:
    """The inline product's fields (m, n, k, the strides of a (m, k), b (k, n), out
    (m, n), whether the innermost loop runs along m) and whether that loop has unit
    strides (it vectorizes): along m where a and out have unit strides there, else
    along n (where b and out may), else along the longer."""
    (m, k), n = a.shape, b.shape[1]
    item = out.itemsize
    along_m = m > 1 and a.strides[0] == item and out.strides[0] == item
    along_n = n > 1 and b.strides[1] == item and out.strides[1] == item
    rows_inner = along_m or (not along_n and m > n)
    fields = [m, n, k, *a.strides, *b.strides, *out.strides, int(rows_inner)]
    return fields, along_m or along_n


def _fill_elementwise(
    action: Elementwise, arrays: dict[int, Any], fields: list[int], values: dict[int, Any]
) -> bool:
    target, source = arrays[action.target], arrays[action.source]
    if not _is_array(target) or not _is_array(source) or target.ndim != action.ndim:
        return False
    broadcast = np.broadcast_to(source, target.shape)  # ValueError: it does not broadcast
    ndim = action.ndim
    fields[action.extents : action.extents + ndim] = target.shape
    fields[action.target_strides : action.target_strides + ndim] = target.strides
    fields[action.source_strides : action.source_strides + ndim] = broadcast.strides
    return True


_FILLERS: dict[type, Callable[[Any, dict[int, Any], list[int], dict[int, Any]], bool]] = {
    ComputeView: _fill_view,
    KernelCall: _fill_kernel,
    ProductCall: _fill_product,
    Elementwise: _fill_elementwise,
}
