"""Building scan's native-loop plan (scan_loop_plan.py) from the optimized step.

``build_plan(op, program)`` reads the optimized step (``program``, an ``LLVMProgram``)
once per scan node and returns a ``LoopPlan``, or None where a node that runs at every
step has no native form here (then the scan runs as a Python loop over the step).

A node whose inputs are all loop-invariant (non-sequences, constants, and ``Shape`` of
anything: every shape is the same at every step) has the same value at every step: each
call computes it once, and the loop only reads it. The others are lowered by op
(``_LOWERINGS``): the program's kernels, products (BLAS-shaped or not; a product of a
sequence's rows and an invariant matrix is pushed out of the loop), views (with integer
indices read at every step), increments, allocations and concatenations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.backends.kernel import Kernel
from jitgraph.backends.llvm.program import KernelWriter, LLVMProgram
from jitgraph.backends.llvm.scan_loop_plan import (
    INLINE_FIELDS,
    INTEGER_FIELDS,
    Action,
    ComputeView,
    Elementwise,
    Fixed,
    IndexTerm,
    KernelCall,
    LoopPlan,
    PingPong,
    Pointer,
    ProductCall,
    PushedProduct,
    Row,
    Value,
    View,
)
from jitgraph.ir.graph import Const, Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.blas import BLAS_DTYPES, Gemm, Gemv, Ger, ScaledProduct
from jitgraph.ops.creation import Alloc
from jitgraph.ops.indexing import (
    INT,
    IncSubtensor,
    Pattern,
    Subtensor,
    entry_axes,
    entry_inputs,
    output_shape,
    python_key,
    static_knowns,
)
from jitgraph.ops.joining import Join
from jitgraph.ops.linalg import Dot
from jitgraph.ops.scan import Scan, sequence_window
from jitgraph.ops.shape import DimShuffle, Rebroadcast, Reshape, Shape, SpecifyShape

__all__ = ["build_plan"]

# Products computed here (dtypes with an alpha/beta of the same dtype in memory).
_PRODUCT_DTYPES = frozenset({"float32", "float64"}) & BLAS_DTYPES


# ============================================================================ building
class _Builder:
    """Walks the optimized step once, assigning fields and lowering each node."""

    def __init__(self, op: Scan, program: LLVMProgram) -> None:
        self.op, self.program = op, program
        self.n_fields = 1  # field 0: STATUS
        self.values: dict[int, Value] = {}
        self.actions: list[Action] = []
        self.invariant: set[int] = set()
        self.variables: dict[int, Var] = _slot_variables(program)
        self.fixed: list[tuple[int, int]] = []
        self.buffers: list[int] = []
        self.kernels: dict[str, Kernel] = {}
        self.next_value = program.n_slots
        self.shape_slots: set[int] = set()  # invariant inputs of sizes and index bounds
        self.sequence_rows: dict[int, tuple[int, int]] = {}  # slot: (sequence, shift)
        self.pushed: list[PushedProduct] = []

    def take(self, count: int = 1) -> int:
        """``count`` new fields (at least one, so that no two owners share a field)."""
        first = self.n_fields
        self.n_fields += max(count, 1)
        return first

    def tensor(self, slot: int) -> TensorType | None:
        ttype = self.variables[slot].type
        return ttype if isinstance(ttype, TensorType) else None

    def new_value(self, dtype: str, ndim: int, pointer: Pointer) -> int:
        number = self.next_value
        self.next_value += 1
        self.values[number] = Value(dtype, ndim, pointer)
        return number

    def use(self, slot: int) -> bool:
        """Make ``slot`` readable by the loop: invariant values get an address field.
        False where it is not an array the loop can read."""
        if slot in self.values:
            return True
        ttype = self.tensor(slot)
        if ttype is None or slot not in self.invariant:
            return False
        field = self.take()
        self.fixed.append((slot, field))
        self.values[slot] = Value(ttype.dtype, ttype.ndim, Fixed(field))
        return True

    def buffer(self, slot: int) -> bool:
        """``slot`` is computed at every step into an array of the loop's own."""
        ttype = self.tensor(slot)
        if ttype is None:
            return False
        field = self.take()
        self.fixed.append((slot, field))
        self.buffers.append(slot)
        self.values[slot] = Value(ttype.dtype, ttype.ndim, Fixed(field))
        return True

    def elementwise(
        self, operation: str, target: int, source: int, factor: int | None = None
    ) -> None:
        ndim = self.values[target].ndim
        extents, target_strides, source_strides = self.take(ndim), self.take(ndim), self.take(ndim)
        self.actions.append(
            Elementwise(
                operation, target, source, factor, ndim, extents, target_strides, source_strides
            )
        )


def _slot_variables(program: LLVMProgram) -> dict[int, Var]:
    """The variable in each slot of the program (read back from its steps)."""
    graph = program.graph
    variables: dict[int, Var] = {}
    for slot, var in zip(program.input_slots, graph.inputs, strict=True):
        variables[slot] = var
    for slot, var in zip(program.output_slots, graph.outputs, strict=True):
        variables[slot] = var
    for node, _, ins, outs, *_ in program.steps:
        variables.update(zip(ins, node.inputs, strict=True))
        variables.update(zip(outs, node.outputs, strict=True))
    return variables


def build_plan(op: Scan, program: LLVMProgram) -> LoopPlan | None:
    """The loop's plan for the optimized step ``program`` of ``op``, or None where the
    step cannot run natively (see the module docstring)."""
    if program.inplace_steps or len(program.input_slots) != len(op.inner.graph.inputs):
        return None
    builder = _Builder(op, program)
    sequences, histories, shared = _place_inputs(builder)
    for slot, _ in program.constants:
        builder.invariant.add(slot)
    for node, _, ins, outs, *_ in program.steps:
        if _is_invariant(node, ins, builder.invariant):
            builder.invariant.update(outs)
        elif not _lower(builder, node, ins, outs):
            return None
    stored = _store_results(builder, histories, shared)
    if stored is None:
        return None
    nits, destinations, until = stored
    return LoopPlan(
        values=tuple(sorted(builder.values.items())),
        actions=tuple(builder.actions),
        until=until,
        n_fields=builder.n_fields,
        fixed=tuple(builder.fixed),
        sequences=sequences,
        histories=histories,
        nits=nits,
        shared=shared,
        buffers=tuple(builder.buffers),
        destinations=destinations,
        invariant_steps=_invariant_steps(builder),
        shape_slots=tuple(sorted(builder.shape_slots)),
        pushed=tuple(builder.pushed),
        kernels=tuple(builder.kernels.items()),
    )


def _invariant_steps(builder: _Builder) -> tuple[int, ...]:
    """The invariant steps that the values the loop reads depend on (each call computes
    them before the loop)."""
    needed = {slot for slot, _ in builder.fixed if slot not in builder.buffers}
    needed |= builder.shape_slots | {pushed.matrix for pushed in builder.pushed}
    chosen = []
    steps = builder.program.steps
    for position in reversed(range(len(steps))):
        node, _, ins, outs, *_ = steps[position]
        if needed.intersection(outs) and not set(outs) - builder.invariant:
            chosen.append(position)
            needed.update(ins)
    return tuple(reversed(chosen))


def _is_invariant(node: Node, ins: Sequence[int], invariant: set[int]) -> bool:
    """Whether the node's value is the same at every step (the module docstring)."""
    return isinstance(node.op, Shape) or all(slot in invariant for slot in ins)


def _place_inputs(
    builder: _Builder,
) -> tuple[
    tuple[tuple[int, int], ...], tuple[tuple[int, int, int], ...], tuple[tuple[int, int], ...]
]:
    """The step's inputs: sequence rows, state rows, shared values, and the invariant
    non-sequences; returns the fields of the sequence, history and shared buffers."""
    op, slots = builder.op, iter(builder.program.input_slots)
    sequences, histories, shared = [], [], []
    for taps in op.seq_taps:
        fields = (builder.take(), builder.take())
        sequences.append(fields)
        for tap in taps:
            slot, shift = next(slots), tap - sequence_window(taps)[0]
            _place(builder, slot, Row(*fields, shift))
            builder.sequence_rows[slot] = (len(sequences) - 1, shift)
    for k, taps in enumerate(op.state_taps):
        fields3 = (builder.take(), builder.take(), builder.take())
        histories.append(fields3)
        ring = fields3[2] if op.keep_last[k] else None
        for tap in taps:
            _place(builder, next(slots), Row(fields3[0], fields3[1], op.max_back(k) + tap, ring))
    for _ in range(op.n_shared):
        fields = (builder.take(), builder.take())
        shared.append(fields)
        _place(builder, next(slots), PingPong(*fields, next=False))
    for _ in range(op.n_nonseq):
        builder.invariant.add(next(slots))
    return tuple(sequences), tuple(histories), tuple(shared)


def _place(builder: _Builder, slot: int, pointer: Pointer) -> None:
    ttype = builder.tensor(slot)
    if ttype is not None:
        builder.values[slot] = Value(ttype.dtype, ttype.ndim, pointer)


def _store_results(
    builder: _Builder,
    histories: Sequence[tuple[int, int, int]],
    shared: Sequence[tuple[int, int]],
) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...], int | None] | None:
    """Store each result where it is kept: the state's next history row, the nit
    output's row, the shared state's other half (none of which the step reads). A
    result the loop computes into an array of its own is computed there directly;
    any other is copied there. Returns the nit fields, the store targets and the until
    condition's value (None where a result is unreadable)."""
    op, outputs = builder.op, builder.program.output_slots
    targets: list[Pointer] = []
    for k, (base, stride, rows) in enumerate(histories):
        targets.append(Row(base, stride, op.max_back(k), rows if op.keep_last[k] else None))
    nits = tuple((builder.take(), builder.take()) for _ in range(op.n_nit))
    targets += [Row(base, stride, 0) for base, stride in nits]
    targets += [PingPong(base, half, next=True) for base, half in shared]
    destinations = []
    for slot, pointer in zip(outputs, targets, strict=False):
        if slot in builder.buffers:
            builder.buffers.remove(slot)
            builder.fixed = [(s, field) for s, field in builder.fixed if s != slot]
            source = builder.values[slot]
            builder.values[slot] = Value(source.dtype, source.ndim, pointer)
            destinations.append(slot)
            continue
        if not builder.use(slot):
            return None
        source = builder.values[slot]
        target = builder.new_value(source.dtype, source.ndim, pointer)
        builder.elementwise("copy", target, slot)
        destinations.append(target)
    until = None
    if op.until:
        until = outputs[-1]
        if not builder.use(until) or builder.values[until].ndim != 0:
            return None
    return nits, tuple(destinations), until


# ============================================================================ lowerings
def _lower(builder: _Builder, node: Node, ins: list[int], outs: list[int]) -> bool:
    """Add the actions computing ``node`` at every step; False where there are none."""
    native = builder.program.native.get(id(node))
    if native is not None and isinstance(native.writer, KernelWriter):
        return _lower_kernel(builder, native.writer, ins, outs)
    lowering = _LOWERINGS.get(type(node.op))
    return lowering is not None and lowering(builder, node, ins, outs)


def _lower_kernel(builder: _Builder, writer: KernelWriter, ins: list[int], outs: list[int]) -> bool:
    if not all(builder.use(slot) for slot in ins):
        return False
    if not all(builder.buffer(slot) for slot in outs):
        return False
    compiled = writer.compiled
    kernel: Kernel = compiled.kernel
    name = f"jg_scan_kernel_{kernel.key()[:24]}"
    builder.kernels[name] = kernel
    ndim, count = kernel.ndim, len(ins) + len(outs)
    rows, extents, strides = builder.take(), builder.take(max(ndim, 1)), builder.take(count * ndim)
    arrays = (*ins, *outs)
    builder.actions.append(
        KernelCall(name, arrays, len(ins), ndim, rows, extents, strides, compiled)
    )
    return True


def _lower_product(builder: _Builder, node: Node, ins: list[int], outs: list[int]) -> bool:
    """Dot of vectors and matrices; Gemm, Gemv, Ger with a nonzero constant alpha (BLAS
    skips the product where alpha is 0, NumPy does not: such nodes stay in Python)."""
    dtype = node.outputs[0].type.dtype
    if dtype not in _PRODUCT_DTYPES or any(v.type.dtype != dtype for v in node.inputs):
        return False
    scaled = isinstance(node.op, ScaledProduct)
    if not scaled and _push_out(builder, node, ins, outs):
        return True
    operands = (ins[2], ins[3]) if scaled else (ins[0], ins[1])
    ranks = (builder.variables[operands[0]].type.ndim, builder.variables[operands[1]].type.ndim)
    if not all(1 <= rank <= 2 for rank in ranks) or not all(builder.use(s) for s in ins):
        return False
    if not builder.buffer(outs[0]):
        return False
    alpha = None
    if scaled:
        alpha_var = node.inputs[1]
        if not isinstance(alpha_var, Const) or not np.all(alpha_var.data != 0):
            return False
        alpha = ins[1]
        builder.elementwise("scale", outs[0], ins[0], factor=ins[4])
    kind = "outer" if isinstance(node.op, Ger) else "product"
    prefix = "s" if dtype == "float32" else "d"
    routines = (prefix + "ger",) if kind == "outer" else (prefix + "gemm", prefix + "gemv")
    choice, b_first = builder.take(), builder.take()
    integers, inline = builder.take(INTEGER_FIELDS), builder.take(INLINE_FIELDS)
    product = ProductCall(kind, dtype, routines, *operands, outs[0], ranks, alpha, scaled,
                          choice, b_first, integers, inline)  # fmt: skip
    builder.actions.append(product)
    return True


def _push_out(builder: _Builder, node: Node, ins: list[int], outs: list[int]) -> bool:
    """A dot of a sequence's row (a vector) and an invariant matrix: computed for every
    step before the loop as one matrix product (the loop then reads one matrix, not
    two, per step). Not in a while-loop, which may stop long before its last step."""
    ranks = [builder.variables[slot].type.ndim for slot in ins]
    if builder.op.until or sorted(ranks) != [1, 2]:
        return False
    row, matrix = (ins[0], ins[1]) if ranks[0] == 1 else (ins[1], ins[0])
    if row not in builder.sequence_rows or matrix not in builder.invariant:
        return False
    sequence, shift = builder.sequence_rows[row]
    base, stride = builder.take(), builder.take()
    dtype = node.outputs[0].type.dtype
    builder.values[outs[0]] = Value(dtype, 1, Row(base, stride, 0))
    first = matrix == ins[0]
    builder.pushed.append(PushedProduct(outs[0], sequence, shift, matrix, first, base, stride))
    return True


def _lower_view(builder: _Builder, node: Node, ins: list[int], outs: list[int]) -> bool:
    """An op whose value is a view of its first input: its address is the input's plus
    an offset (plus, for ``Subtensor``, integer indices read at every step)."""
    op: Any = node.op
    axes = _integer_axes(op.index, 1) if type(op) is Subtensor else {}
    per_step = _per_step_indices(builder, ins, axes, 1)
    builder.shape_slots.update(slot for slot in ins[1:] if slot in builder.invariant)
    ttype = builder.tensor(outs[0])
    if per_step is None or ttype is None or not builder.use(ins[0]):
        return False
    view = View(ins[0], builder.take(), per_step)
    builder.values[outs[0]] = Value(ttype.dtype, ttype.ndim, view)
    positions = frozenset(p for p, slot in enumerate(ins) if slot in _term_slots(per_step))

    def replay(arrays: dict[int, np.ndarray]) -> np.ndarray:
        values = [_zero_if(p in positions, arrays[slot]) for p, slot in enumerate(ins)]
        if type(node.op) is Subtensor:  # NumPy gives a scalar, not a view, for x[i, j]
            return values[0][(*python_key(node.op.index, values[1:]), Ellipsis)]
        return node.op.perform(node, values)[0]

    builder.actions.append(ComputeView(outs[0], replay))
    return True


def _lower_increment(builder: _Builder, node: Node, ins: list[int], outs: list[int]) -> bool:
    """``x`` with ``x[index]`` set to or incremented by ``y`` (basic indices): a copy of
    ``x``, then an elementwise pass over the part the index selects."""
    op: IncSubtensor = node.op  # type: ignore[assignment]
    x_type, y_type = node.inputs[0].type, node.inputs[1].type
    kinds = {dtypes.kind(x_type.dtype), dtypes.kind(y_type.dtype)}
    if type(op) is not IncSubtensor or not kinds <= set("biuf"):
        return False
    per_step = _per_step_indices(builder, ins, _integer_axes(op.index, 2), 2)
    builder.shape_slots.update(slot for slot in ins[2:] if slot in builder.invariant)
    if per_step is None or not builder.use(ins[0]) or not builder.use(ins[1]):
        return False
    if not builder.buffer(outs[0]):
        return False
    builder.elementwise("copy", outs[0], ins[0])
    knowns = static_knowns(node.inputs[2:])
    ndim = len(output_shape(op.index, x_type.shape, knowns))
    target = builder.new_value(x_type.dtype, ndim, View(outs[0], builder.take(), per_step))
    positions = frozenset(p for p, slot in enumerate(ins) if slot in _term_slots(per_step))

    def replay(arrays: dict[int, np.ndarray]) -> np.ndarray:
        values = [_zero_if(p in positions, arrays[slot]) for p, slot in enumerate(ins)]
        return arrays[outs[0]][(*python_key(op.index, values[2:]), Ellipsis)]

    builder.actions.append(ComputeView(target, replay))
    same = x_type.dtype == y_type.dtype
    operation = "add" if not op.set_instead_of_inc else "copy" if same else "set"
    builder.elementwise(operation, target, ins[1])
    return True


def _lower_alloc(builder: _Builder, node: Node, ins: list[int], outs: list[int]) -> bool:
    """A fresh array holding the value broadcast: a copy (the sizes must not change)."""
    if not all(slot in builder.invariant for slot in ins[1:]) or not builder.use(ins[0]):
        return False
    builder.shape_slots.update(ins[1:])
    if not builder.buffer(outs[0]):
        return False
    builder.elementwise("copy", outs[0], ins[0])
    return True


def _lower_join(builder: _Builder, node: Node, ins: list[int], outs: list[int]) -> bool:
    """Concatenation: each input copied (cast to the output's dtype) into its part of
    the output, a view whose offset each call computes from the inputs' sizes."""
    axis: int = node.op.axis  # type: ignore[attr-defined]
    if not all(builder.use(slot) for slot in ins) or not builder.buffer(outs[0]):
        return False
    output = builder.values[outs[0]]
    for position, slot in enumerate(ins):
        part = builder.new_value(output.dtype, output.ndim, View(outs[0], builder.take()))

        def replay(arrays: dict[int, np.ndarray], position: int = position) -> np.ndarray:
            start = sum(arrays[s].shape[axis] for s in ins[:position])
            stop = start + arrays[ins[position]].shape[axis]
            return arrays[outs[0]][(slice(None),) * axis + (slice(start, stop),)]

        builder.actions.append(ComputeView(part, replay))
        same = builder.values[slot].dtype == output.dtype
        builder.elementwise("copy" if same else "set", part, slot)
    return True


_INDEX_DTYPES = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32"})


def _integer_axes(pattern: Pattern, first_input: int) -> dict[int, int]:
    """For a basic index whose inputs start at node input ``first_input``: the input
    position of each integer entry and the axis of the indexed value it reads."""
    positions: dict[int, int] = {}
    position, axis = first_input, 0
    for entry in pattern:
        if entry == INT:
            positions[position] = axis
        position += entry_inputs(entry)
        axis += entry_axes(entry)
    return positions


def _per_step_indices(
    builder: _Builder, ins: list[int], axes: dict[int, int], first: int
) -> tuple[IndexTerm, ...] | None:
    """The index terms of the integer indices (inputs from position ``first`` on) that
    change from step to step; None where another input (a size, a slice bound) changes:
    the shape could change."""
    terms = []
    for position, slot in enumerate(ins[first:], start=first):
        if slot in builder.invariant:
            continue
        if position not in axes:
            return None
        dtype = builder.variables[slot].type.dtype
        if dtype not in _INDEX_DTYPES or not builder.use(slot):
            return None
        terms.append(IndexTerm(slot, dtype, axes[position], builder.take(), builder.take()))
    return tuple(terms)


def _term_slots(terms: Sequence[IndexTerm]) -> set[int]:
    return {term.value for term in terms}


def _zero_if(condition: bool, value: np.ndarray) -> np.ndarray:
    return np.zeros((), value.dtype) if condition else value


_LOWERINGS: dict[type, Callable[[_Builder, Node, list[int], list[int]], bool]] = {
    Dot: _lower_product,
    Gemm: _lower_product,
    Gemv: _lower_product,
    Ger: _lower_product,
    DimShuffle: _lower_view,
    Reshape: _lower_view,
    SpecifyShape: _lower_view,
    Rebroadcast: _lower_view,
    Subtensor: _lower_view,
    IncSubtensor: _lower_increment,
    Alloc: _lower_alloc,
    Join: _lower_join,
}
