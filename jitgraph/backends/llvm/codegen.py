"""Lowering a backend-neutral ``Kernel`` to LLVM IR: the kernel ABI of the LLVM backend.

For a kernel ``k`` and a name ``N``, ``define_kernel(module, k, N)`` adds

- ``void N_strided(i64 start, i64 stop, ptr data, ptr shape, ptr strides)``: ``data``
  holds the inputs' then the outputs' pointers, ``shape`` the ``k.ndim`` loop extents,
  ``strides`` the byte strides, array-major (array ``a``, axis ``d`` at ``a*ndim + d``),
  0 along broadcast dims and along a reduction output's reduced axes. It computes rows
  ``start <= i0 < stop`` of axis 0 (everything for a 0-d kernel), any strides;
- ``void N_contiguous(i64 start, i64 stop, ptr data)`` where ``has_contiguous(k)``:
  the flat index range ``[start, stop)`` of the whole domain, for inputs that are one
  element (all dims broadcast) or C-contiguous over the domain, C-contiguous elementwise
  outputs, and reductions over every axis (each writes the reduction of its range).

Both initialise their reduction outputs. An output may be the very memory of an input
(in place: the same element per iteration), never a partial overlap of one.

How the loops are built (a *nest* is one loop per level, outermost first):

- every value is computed in the outermost loop where it varies: an input or instruction
  that broadcasts along the inner axes is computed once per row, not once per element;
- the innermost loop is versioned at run time: where every array that moves along it has
  unit stride, a copy with constant strides whose memory accesses are marked parallel
  (``llvm.loop.parallel_accesses``: iterations share no memory, which in-place use
  keeps true) so LLVM's loop vectorizer needs no alias checks; otherwise a scalar copy;
- a reduction whose innermost axes (a suffix of the nest) are all reduced accumulates a
  *region* (the whole suffix) in registers through ``codegen_reduce``'s accumulators,
  fed in blocks from a stack buffer that the vectorized inner loop fills; the region's
  total is stored (or combined into memory if the output also reduces outer axes);
- a reduction that does not reduce the innermost axis accumulates in its output's memory
  element by element (``out[j] += x[i, j]`` for a sum over axis 0 of a C matrix: unit
  stride, vectorized, and summed in NumPy's own order), after the kernel fills the
  output with the start value. Where the accumulator dtype is not exact in the output's
  dtype (a float ``acc_dtype`` wider than the output) that output gets a nest of its own
  with its reduced axes innermost, accumulating in registers;
- an elementwise output that broadcasts along an axis outside its own loops gets a nest
  of its own over the axes where it varies (written once, and written even when the
  domain is empty along an axis it does not span).

>>> from jitgraph.backends.kernel import Instruction, Kernel, KernelInput, KernelOutput, Slot
>>> from jitgraph.ops.scalar import SCALAR_OPS
>>> kernel = Kernel(1, (KernelInput("float64", (False,)),), (),
...                 (Instruction(SCALAR_OPS["negative"], (Slot("in", 0),), "float64"),),
...                 (KernelOutput(Slot("t", 0), "float64"),))
>>> text = kernel_module([(kernel, "negate")])
>>> '@"negate_strided"(i64' in text and '@"negate_contiguous"(i64' in text
True
"""

from __future__ import annotations

import dataclasses
from typing import Any

import llvmlite.ir as ir
import numpy as np

from jitgraph import dtypes
from jitgraph.backends.kernel import (
    INPUT,
    TEMP,
    Kernel,
    KernelOutput,
    Slot,
    needed_slots,
)
from jitgraph.backends.llvm import scalar, types
from jitgraph.backends.llvm.codegen_reduce import (
    BLOCK,
    Accumulator,
    DistinctNode,
    accumulator_dtype,
    combine,
    counted_loop,
    make_accumulator,
    plain_loop_metadata,
    stack_slot,
    start_constant,
)
from jitgraph.backends.llvm.types import I1, I64, POINTER

__all__ = ["define_kernel", "has_contiguous", "kernel_module"]


def has_contiguous(kernel: Kernel) -> bool:
    """Whether ``define_kernel`` defines ``N_contiguous`` for ``kernel``: every reduction
    reduces all axes, and every input and elementwise output either is one element (all
    dims broadcast) or spans the loop domain (its pattern is the domain's), so that a
    C-contiguous array of it is C-contiguous over the whole domain."""
    every_axis = tuple(range(kernel.ndim))
    domain = kernel.broadcastable
    spans = [k.broadcastable for k in kernel.inputs]
    spans += [kernel.slot_broadcastable(o.slot) for o in kernel.outputs if o.reduction is None]
    return all(o.reduction is None or o.axes == every_axis for o in kernel.outputs) and all(
        pattern == domain or all(pattern) for pattern in spans
    )


def kernel_module(kernels: list[tuple[Kernel, str]]) -> str:
    """The LLVM IR text of one module defining every ``(kernel, name)`` pair (the target
    triple and data layout are set by ``target.compile_ir``)."""
    module = ir.Module(name="jitgraph_kernels")
    for kernel, name in kernels:
        define_kernel(module, kernel, name)
    return str(module)


def define_kernel(module: ir.Module, kernel: Kernel, name: str) -> None:
    """Add ``{name}_strided`` and, where ``has_contiguous(kernel)``, ``{name}_contiguous``
    to ``module`` (the ABI is in the module docstring)."""
    _define_strided(module, kernel, f"{name}_strided")
    if has_contiguous(kernel):
        _define_contiguous(module, kernel, f"{name}_contiguous")


# ============================================================================ functions
class _Function:
    """A function being emitted: its entry block holds only stack slots (so that LLVM
    promotes them to registers) and branches to the code."""

    def __init__(self, module: ir.Module, name: str, parameters: list[ir.Type]) -> None:
        self.function = ir.Function(module, ir.FunctionType(ir.VoidType(), parameters), name)
        self.function.attributes.add("nounwind")
        entry = self.function.append_basic_block("entry")
        code = self.function.append_basic_block("start")
        self.allocas = ir.IRBuilder(entry)
        self.allocas.position_before(self.allocas.branch(code))
        self.builder = ir.IRBuilder(code)
        for argument in self.function.args[2:]:  # the driver's pointer, shape, stride arrays
            argument.add_attribute("noalias")

    def load_array(self, array: ir.Value, position: int, element: ir.Type) -> ir.Value:
        pointer = self.builder.gep(array, [I64(position)], inbounds=True, source_etype=element)
        return self.builder.load(pointer, typ=element)


def _define_strided(module: ir.Module, kernel: Kernel, name: str) -> None:
    emitted = _Function(module, name, [I64, I64, POINTER, POINTER, POINTER])
    start, stop, data, shape, strides = emitted.function.args
    arrays = len(kernel.inputs) + len(kernel.outputs)
    pointers = [emitted.load_array(data, a, POINTER) for a in range(arrays)]
    extents = [emitted.load_array(shape, d, I64) for d in range(kernel.ndim)]
    stride_table = [
        [emitted.load_array(strides, a * kernel.ndim + d, I64) for d in range(kernel.ndim)]
        for a in range(arrays)
    ]
    layout = _StridedLayout(kernel, start, stop, extents, stride_table)
    for order, outputs in _strided_nests(kernel):
        _NestEmitter(emitted, kernel, layout.levels(order), outputs, pointers, layout).emit()
    emitted.builder.ret_void()


def _define_contiguous(module: ir.Module, kernel: Kernel, name: str) -> None:
    emitted = _Function(module, name, [I64, I64, POINTER])
    start, stop, data = emitted.function.args
    arrays = len(kernel.inputs) + len(kernel.outputs)
    pointers = [emitted.load_array(data, a, POINTER) for a in range(arrays)]
    level = _Level(tuple(range(kernel.ndim)), start, stop)
    outputs = tuple(range(len(kernel.outputs)))
    _NestEmitter(emitted, kernel, [level], outputs, pointers, _FlatLayout(kernel)).emit()
    emitted.builder.ret_void()


# ============================================================================ layouts
@dataclasses.dataclass(frozen=True)
class _Level:
    """One loop of a nest: the kernel axes it runs over (one axis; every axis for the
    flat loop of ``N_contiguous``) and its index range."""

    axes: tuple[int, ...]
    start: ir.Value
    stop: ir.Value


def _array_broadcasts(kernel: Kernel, array: int, axes: tuple[int, ...]) -> bool:
    """Whether array ``array`` (inputs, then outputs) stays put along all ``axes``: a
    broadcast input or elementwise output, or a reduction output over them."""
    if array < len(kernel.inputs):
        pattern = kernel.inputs[array].broadcastable
        return all(pattern[a] for a in axes)
    output = kernel.outputs[array - len(kernel.inputs)]
    if output.reduction is not None:
        return all(a in output.axes for a in axes)
    pattern = kernel.slot_broadcastable(output.slot)
    return all(pattern[a] for a in axes)


def _array_dtype(kernel: Kernel, array: int) -> str:
    if array < len(kernel.inputs):
        return kernel.inputs[array].dtype
    return kernel.outputs[array - len(kernel.inputs)].dtype


class _StridedLayout:
    """Arrays addressed through the driver's byte strides."""

    def __init__(
        self,
        kernel: Kernel,
        start: ir.Value,
        stop: ir.Value,
        extents: list[ir.Value],
        strides: list[list[ir.Value]],
    ) -> None:
        self.kernel, self.start, self.stop = kernel, start, stop
        self.extents, self.strides = extents, strides

    def levels(self, order: tuple[int, ...]) -> list[_Level]:
        """One loop per axis of ``order``; axis 0 runs over the rows ``[start, stop)``."""
        return [
            _Level((axis,), self.start, self.stop)
            if axis == 0
            else _Level((axis,), I64(0), self.extents[axis])
            for axis in order
        ]

    def stride(self, array: int, level: _Level) -> ir.Value:
        return self.strides[array][level.axes[0]]

    def is_unit_stride(self, builder: ir.IRBuilder, arrays: list[int], level: _Level) -> Any:
        """An i1: every array of ``arrays`` has a stride of its itemsize along ``level``."""
        condition = I1(1)
        for array in arrays:
            itemsize = I64(np.dtype(_array_dtype(self.kernel, array)).itemsize)
            equal = builder.icmp_signed("==", self.stride(array, level), itemsize)
            condition = builder.and_(condition, equal)
        return condition


class _FlatLayout:
    """``N_contiguous``'s arrays: one element apart along the flat index."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def stride(self, array: int, level: _Level) -> ir.Value:
        return I64(np.dtype(_array_dtype(self.kernel, array)).itemsize)

    def is_unit_stride(self, builder: ir.IRBuilder, arrays: list[int], level: _Level) -> Any:
        return None  # always: the strides are the itemsizes


def _strided_nests(kernel: Kernel) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The nests of ``N_strided`` as (axis order, outputs): the main nest in axis order,
    plus one nest per output that the main nest cannot produce well (module docstring)."""
    axes = tuple(range(kernel.ndim))
    own: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    for position, output in enumerate(kernel.outputs):
        if output.reduction is None:
            pattern = kernel.slot_broadcastable(output.slot)
            varying = tuple(a for a in axes if not pattern[a])
            if any(pattern[a] for a in axes[: varying[-1] if varying else 0]):
                own.append((varying, (position,)))
        elif _needs_memory(kernel, output) and not _exact_in_memory(output):
            kept = tuple(a for a in axes if a not in output.axes)
            own.append((kept + output.axes, (position,)))
    taken = {position for _, (position,) in own}
    main = tuple(p for p in range(len(kernel.outputs)) if p not in taken)
    return ([(axes, main)] if main else []) + own


def _needs_memory(kernel: Kernel, output: KernelOutput) -> bool:
    """Whether a reduction in axis order reduces an axis outside its innermost run of
    reduced axes (so that it accumulates in its output's memory)."""
    suffix = kernel.ndim
    while suffix > 0 and suffix - 1 in output.axes:
        suffix -= 1
    return any(a < suffix for a in output.axes)


def _exact_in_memory(output: KernelOutput) -> bool:
    """Whether accumulating in the output's dtype gives what accumulating in the
    accumulator's dtype and casting gives: the same dtype, or integers (wrap-around)."""
    acc = accumulator_dtype(output)
    integers = dtypes.kind(acc) in "iu" and dtypes.kind(output.dtype) in "iu"
    return acc == output.dtype or integers


# ============================================================================ nests
def _access_group_metadata(module: ir.Module) -> tuple[Any, Any]:
    """A fresh access group and the loop metadata declaring its accesses parallel."""
    group = DistinctNode(module, [])
    parallel = module.add_metadata(
        [ir.MetaDataString(module, "llvm.loop.parallel_accesses"), group]
    )
    return group, DistinctNode(module, [parallel], self_reference=True)


_MEMORY_OPCODES = frozenset({"load", "store", "call"})


class _NestEmitter:
    """Emits one nest: the loops over ``levels`` producing ``outputs`` of ``kernel``."""

    def __init__(
        self,
        emitted: _Function,
        kernel: Kernel,
        levels: list[_Level],
        outputs: tuple[int, ...],
        pointers: list[ir.Value],
        layout: _StridedLayout | _FlatLayout,
    ) -> None:
        self.emitted, self.kernel, self.levels = emitted, kernel, levels
        self.builder = emitted.builder
        self.outputs, self.pointers, self.layout = outputs, pointers, layout
        self.inputs = len(kernel.inputs)
        self.slots = needed_slots(kernel, outputs)
        self.reductions = [p for p in outputs if kernel.outputs[p].reduction is not None]
        self.accumulators: dict[int, Accumulator] = {}
        self.buffers: dict[int, ir.Value] = {}
        self.inner = len(levels) - 1

    # ---- facts about the nest
    def arrays(self) -> list[int]:
        """The arrays this nest touches: its inputs, then its outputs."""
        inputs = [s.position for s in self.slots if s.kind == INPUT]
        return inputs + [self.inputs + p for p in self.outputs]

    def moves(self, array: int, level: int) -> bool:
        return not _array_broadcasts(self.kernel, array, self.levels[level].axes)

    def slot_level(self, slot: Slot) -> int:
        """The outermost loop level inside which ``slot``'s value is constant (-1: the
        whole nest)."""
        pattern = self.kernel.slot_broadcastable(slot)
        varying = [i for i, lv in enumerate(self.levels) if not all(pattern[a] for a in lv.axes)]
        return max(varying, default=-1)

    def region_level(self, position: int) -> int:
        """The first level of reduction ``position``'s region (its innermost run of
        reduced levels); ``len(levels)`` when the innermost level is not reduced."""
        axes = self.kernel.outputs[position].axes
        level = len(self.levels)
        while level > 0 and all(a in axes for a in self.levels[level - 1].axes):
            level -= 1
        return level

    def in_memory(self, position: int) -> bool:
        """Whether reduction ``position`` reduces a level outside its region (so that its
        output memory holds the running value and is filled with the start first)."""
        axes = self.kernel.outputs[position].axes
        outer = self.levels[: self.region_level(position)]
        return any(all(a in axes for a in level.axes) for level in outer)

    # ---- emission
    def emit(self) -> None:
        for position in self.reductions:
            if self.in_memory(position):
                self._fill_with_start(position)
            if self.region_level(position) < len(self.levels):
                self._allocate_accumulator(position)
        values = self._compute_level(-1, {}, self.pointers)
        if self.levels:
            self._begin_regions(0)
            self._emit_level(0, self.pointers, values)
            self._finish_regions(0, self.pointers)

    def _allocate_accumulator(self, position: int) -> None:
        output = self.kernel.outputs[position]
        self.accumulators[position] = make_accumulator(self.emitted.allocas, output)
        element = types.memory_type(accumulator_dtype(output))
        self.buffers[position] = stack_slot(
            self.emitted.allocas, ir.ArrayType(element, BLOCK), "block"
        )

    def _fill_with_start(self, position: int) -> None:
        """Write the start value to every element of reduction output ``position`` that
        this call computes (its non-reduced levels)."""
        output = self.kernel.outputs[position]
        start = types.cast(
            self.builder, start_constant(output), accumulator_dtype(output), output.dtype
        )
        array = self.inputs + position
        self._fill_levels(array, 0, self.pointers[array], start, output.dtype)

    def _fill_levels(
        self, array: int, level: int, pointer: ir.Value, value: ir.Value, dtype: str
    ) -> None:
        if level == len(self.levels):
            types.store(self.builder, value, pointer, dtype)
        elif not self.moves(array, level):
            self._fill_levels(array, level + 1, pointer, value, dtype)
        else:
            bounds = self.levels[level]
            with counted_loop(self.builder, bounds.start, bounds.stop, "fill") as index:
                moved = self._advance_one(array, level, pointer, index, unit=False)
                self._fill_levels(array, level + 1, moved, value, dtype)

    def _begin_regions(self, level: int) -> None:
        for position in self.reductions:
            if self.region_level(position) == level:
                self.accumulators[position].begin(self.builder)

    def _finish_regions(self, level: int, pointers: list[ir.Value]) -> None:
        """Store (or combine into memory) the totals of the regions that start at
        ``level``, once its loop is done."""
        for position in self.reductions:
            if self.region_level(position) == level:
                total = self.accumulators[position].finish(self.builder)
                self._deliver(position, pointers[self.inputs + position], total)

    def _deliver(self, position: int, pointer: ir.Value, total: ir.Value) -> None:
        output = self.kernel.outputs[position]
        acc = accumulator_dtype(output)
        if self.in_memory(position):
            total = self._combine_with_memory(output, pointer, total)
        types.store(
            self.builder, types.cast(self.builder, total, acc, output.dtype), pointer, output.dtype
        )

    def _combine_with_memory(
        self, output: KernelOutput, pointer: ir.Value, value: ir.Value
    ) -> ir.Value:
        """``combine(out[...], value)`` in the accumulator dtype."""
        assert output.reduction is not None
        acc = accumulator_dtype(output)
        held = types.cast(
            self.builder, types.load(self.builder, pointer, output.dtype), output.dtype, acc
        )
        return combine(self.builder, output.reduction.combine, held, value, acc)

    def _emit_level(
        self, level: int, pointers: list[ir.Value], values: dict[Slot, ir.Value]
    ) -> None:
        if level == self.inner:
            self._emit_inner(pointers, values)
            return
        bounds = self.levels[level]
        with counted_loop(self.builder, bounds.start, bounds.stop, f"axis{level}") as index:
            moved = self._advance(level, pointers, index, unit=False)
            inner_values = self._compute_level(level, values, moved)
            self._begin_regions(level + 1)
            self._emit_level(level + 1, moved, inner_values)
            self._finish_regions(level + 1, moved)

    # ---- the innermost loop
    def _emit_inner(self, pointers: list[ir.Value], values: dict[Slot, ir.Value]) -> None:
        """The innermost loop; where a region covers it, in blocks of ``BLOCK`` values
        that then go to the accumulators (whose code is emitted once, after whichever
        version of the element loop ran)."""
        moving = [a for a in self.arrays() if self.moves(a, self.inner)]
        level = self.levels[self.inner]
        unit = self.layout.is_unit_stride(self.builder, moving, level) if moving else None
        blocked = [p for p in self.reductions if self.region_level(p) <= self.inner]
        if not blocked:
            self._versioned_loop(unit, level.start, level.stop, pointers, values, None)
            return
        builder = self.builder
        with counted_loop(builder, level.start, level.stop, "block", step=BLOCK) as first:
            end = builder.add(first, I64(BLOCK))
            end = builder.select(builder.icmp_signed("<", end, level.stop), end, level.stop)
            self._versioned_loop(unit, first, end, pointers, values, first)
            for position in blocked:
                count = builder.sub(end, first)
                self.accumulators[position].add_block(builder, self.buffers[position], count)

    def _versioned_loop(
        self,
        unit: Any,
        start: ir.Value,
        stop: ir.Value,
        pointers: list[ir.Value],
        values: dict[Slot, ir.Value],
        block_start: ir.Value | None,
    ) -> None:
        """The element loop over ``[start, stop)``: the unit-stride version where ``unit``
        (an i1; None: always), else the general one."""
        if unit is None:
            self._element_loop(start, stop, pointers, values, True, block_start)
            return
        with self.builder.if_else(unit) as (unit_stride, any_stride):
            with unit_stride:
                self._element_loop(start, stop, pointers, values, True, block_start)
            with any_stride:
                self._element_loop(start, stop, pointers, values, False, block_start)

    def _element_loop(
        self,
        start: ir.Value,
        stop: ir.Value,
        pointers: list[ir.Value],
        values: dict[Slot, ir.Value],
        unit: bool,
        block_start: ir.Value | None,
    ) -> None:
        module = self.builder.module
        group, metadata = (
            _access_group_metadata(module) if unit else (None, plain_loop_metadata(module))
        )
        first_block = len(self.emitted.function.blocks)
        with counted_loop(self.builder, start, stop, "inner", metadata=metadata) as index:
            moved = self._advance(self.inner, pointers, index, unit)
            element_values = self._compute_level(self.inner, values, moved)
            self._accumulate_elements(index, block_start, moved, element_values)
        if group is not None:
            for block in self.emitted.function.blocks[first_block:]:
                for instruction in block.instructions:
                    if instruction.opname in _MEMORY_OPCODES:
                        instruction.set_metadata("llvm.access.group", group)

    def _accumulate_elements(
        self,
        index: ir.Value,
        block_start: ir.Value | None,
        pointers: list[ir.Value],
        values: dict[Slot, ir.Value],
    ) -> None:
        """Per element: reductions in memory combine into their output; regions get
        the value (in the accumulator dtype) in their block buffer."""
        builder = self.builder
        for position in self.reductions:
            output = self.kernel.outputs[position]
            acc = accumulator_dtype(output)
            value = types.cast(
                builder, values[output.slot], self.kernel.slot_dtype(output.slot), acc
            )
            if self.region_level(position) > self.inner:
                pointer = pointers[self.inputs + position]
                combined = self._combine_with_memory(output, pointer, value)
                types.store(
                    builder, types.cast(builder, combined, acc, output.dtype), pointer, output.dtype
                )
                continue
            assert block_start is not None
            element = types.memory_type(acc)
            offset = builder.sub(index, block_start)
            buffer = self.buffers[position]
            slot = builder.gep(buffer, [offset], inbounds=True, source_etype=element)
            types.store(builder, value, slot, acc)

    # ---- addressing and values
    def _advance(
        self, level: int, pointers: list[ir.Value], index: ir.Value, unit: bool
    ) -> list[ir.Value]:
        """The arrays' pointers at ``index`` along ``level``."""
        moved = list(pointers)
        for array in self.arrays():
            if self.moves(array, level):
                moved[array] = self._advance_one(array, level, pointers[array], index, unit)
        return moved

    def _advance_one(
        self, array: int, level: int, pointer: ir.Value, index: ir.Value, unit: bool
    ) -> ir.Value:
        if unit:
            stride = I64(np.dtype(_array_dtype(self.kernel, array)).itemsize)
        else:
            stride = self.layout.stride(array, self.levels[level])
        offset = self.builder.mul(index, stride)
        return self.builder.gep(pointer, [offset], inbounds=True, source_etype=types.I8)

    def _compute_level(
        self, level: int, outer: dict[Slot, ir.Value], pointers: list[ir.Value]
    ) -> dict[Slot, ir.Value]:
        """Load the inputs and compute the instructions that vary at ``level`` (in body
        order: loads first), then store the elementwise outputs computed here."""
        values = dict(outer)
        for slot in self.slots:
            if slot.kind == TEMP or self.slot_level(slot) != level:
                continue
            if slot.kind == INPUT:
                dtype = self.kernel.inputs[slot.position].dtype
                values[slot] = types.load(self.builder, pointers[slot.position], dtype)
            else:
                constant = self.kernel.constants[slot.position]
                values[slot] = types.constant(constant.dtype, constant.value)
        for slot in self.slots:
            if slot.kind == TEMP and self.slot_level(slot) == level:
                values[slot] = self._instruction(slot, values)
        for position in self.outputs:
            output = self.kernel.outputs[position]
            if output.reduction is None and self.slot_level(output.slot) == level:
                pointer = pointers[self.inputs + position]
                types.store(self.builder, values[output.slot], pointer, output.dtype)
        return values

    def _instruction(self, slot: Slot, values: dict[Slot, ir.Value]) -> ir.Value:
        instruction = self.kernel.body[slot.position]
        compute = self.kernel.compute_dtypes(instruction)
        args = [
            types.cast(self.builder, values[arg], self.kernel.slot_dtype(arg), dtype)
            for arg, dtype in zip(instruction.args, compute, strict=True)
        ]
        return scalar.lower_instruction(
            self.builder, instruction.op, args, compute, instruction.dtype
        )
