"""The LLVM IR of scan's native loop, from a ``LoopPlan`` (jitgraph/backends/llvm/
scan_loop_plan.py).

``loop_module(plan, name)`` is one module defining ``i64 name(i64 first, i64 last, ptr
arrays)``: ``arrays`` is a Python tuple of NumPy arrays, the context (an int64 array)
then one array per field of ``plan.address_fields``, whose data addresses the function
writes into those fields (reading the objects as the kernels' direct entry does: no
per-array Python work per call). It runs steps ``first <= t < last`` and returns the
first step it did not finish, after setting the context's status field: ``RAN_ALL``
(it returns ``last``),
``STOPPED`` (the until condition held after step ``t``: it returns ``t + 1``) or ``FAILED``
(an index read at step ``t`` was out of bounds: it returns ``t``, and nothing of step
``t`` was stored). Each step:

1. computes the address of each value where it first needs it (a row of a sequence or
   history is ``base + row * stride``; a view is its base plus a fixed offset plus the
   checked indices it reads now);
2. runs the actions in order: kernels (the program's own kernels, defined again in this
   module with internal linkage, so that LLVM inlines them into the loop), BLAS routines
   (by pointer, Fortran's ABI), elementwise passes (copies, scaling, increments);
3. stores the results (the last actions: copies into the history rows, the nit rows and
   the shared states' other halves) and checks the until condition.

Every size, stride and address is a context field, loaded once before the loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import llvmlite.ir as ir
import numpy as np

from jitgraph import dtypes
from jitgraph.backends.llvm import blas, scalar, types
from jitgraph.backends.llvm.codegen import define_kernel
from jitgraph.backends.llvm.codegen_reduce import counted_loop
from jitgraph.backends.llvm.launch import ARRAY_DATA, TUPLE_ITEMS
from jitgraph.backends.llvm.scan_loop_plan import (
    FAILED,
    INLINE,
    INLINE_FIELDS,
    RAN_ALL,
    STATUS,
    STOPPED,
    Action,
    ComputeView,
    Elementwise,
    Fixed,
    KernelCall,
    LoopPlan,
    PingPong,
    ProductCall,
    Row,
    View,
)
from jitgraph.backends.llvm.scan_loop_product import emit_inline_product
from jitgraph.backends.llvm.types import I8, I64, POINTER
from jitgraph.ops.scalar import SCALAR_OPS

__all__ = ["loop_module"]


def loop_module(plan: LoopPlan, name: str) -> str:
    """The IR text of the module defining the loop function ``name`` (module docstring)."""
    module = ir.Module(name="jitgraph_scan_loop")
    for kernel_name, kernel in plan.kernels:
        define_kernel(module, kernel, kernel_name)
        for suffix in ("_strided", "_contiguous"):
            function = module.globals.get(kernel_name + suffix)
            if function is not None:
                function.linkage = "internal"  # inlined into the loop, then gone
    _LoopEmitter(module, plan, name).emit()
    return str(module)


class _LoopEmitter:
    def __init__(self, module: ir.Module, plan: LoopPlan, name: str) -> None:
        self.module, self.plan = module, plan
        signature = ir.FunctionType(I64, [I64, I64, POINTER])
        self.function = ir.Function(module, signature, name)
        self.function.attributes.add("nounwind")
        self.first, self.last, arrays = self.function.args
        entry = self.function.append_basic_block("entry")
        start = self.function.append_basic_block("start")
        # The entry block holds what the steps share (fields, fixed addresses, stack
        # slots); it ends with the branch to the code.
        self.head = ir.IRBuilder(entry)
        self.head.position_before(self.head.branch(start))
        self.context = self._array_data(arrays, 0)
        for position, field in enumerate(plan.address_fields, start=1):
            address = self.head.ptrtoint(self._array_data(arrays, position), I64)
            self.head.store(address, self.field_address(field))
        self.builder = ir.IRBuilder(start)
        self.values = dict(plan.values)
        self.fields: dict[int, ir.Value] = {}
        self.fixed: dict[int, ir.Value] = {}
        self.pointers: dict[int, ir.Value] = {}  # this step's addresses
        self.step: ir.Value = I64(0)

    # ---- fields and addresses
    def _array_data(self, arrays: ir.Value, position: int) -> ir.Value:
        """The data address of item ``position`` of the tuple ``arrays`` (an ndarray)."""
        head = self.head
        item = head.gep(arrays, [I64(TUPLE_ITEMS + 8 * position)], source_etype=I8)
        array = head.load(item, typ=POINTER)
        return head.load(head.gep(array, [I64(ARRAY_DATA)], source_etype=I8), typ=POINTER)

    def field(self, index: int) -> ir.Value:
        """Context field ``index`` (loaded once, before the loop)."""
        value = self.fields.get(index)
        if value is None:
            value = self.head.load(self.field_address(index), typ=I64)
            self.fields[index] = value
        return value

    def field_address(self, index: int) -> ir.Value:
        return self.head.gep(self.context, [I64(index)], source_etype=I64)

    def pointer(self, number: int) -> ir.Value:
        """The address of value ``number`` at this step."""
        if number in self.fixed:
            return self.fixed[number]
        if number in self.pointers:
            return self.pointers[number]
        where = self.values[number].pointer
        builder = self.builder
        if isinstance(where, Fixed):
            self.fixed[number] = self.head.inttoptr(self.field(where.field), POINTER)
            return self.fixed[number]
        if isinstance(where, Row):
            row = builder.add(self.step, I64(where.shift))
            if where.ring is not None:
                row = builder.urem(row, self.field(where.ring))
            offset = builder.mul(row, self.field(where.stride))
        elif isinstance(where, PingPong):
            half = builder.and_(builder.add(self.step, I64(int(where.next))), I64(1))
            offset = builder.mul(half, self.field(where.half))
        else:
            raise AssertionError(f"value {number}'s view is used before it is computed")
        base = self.head.inttoptr(self.field(where.base), POINTER)
        self.pointers[number] = builder.gep(base, [offset], source_etype=I8)
        return self.pointers[number]

    def exit_with(self, status: int, result: ir.Value) -> None:
        """Store ``status`` and return ``result`` (the builder's block is then closed)."""
        address = self.head.gep(self.context, [I64(STATUS)], source_etype=I64)
        self.builder.store(I64(status), address)
        self.builder.ret(result)

    # ---- the loop
    def emit(self) -> None:
        with counted_loop(self.builder, self.first, self.last, "step") as step:
            self.step, self.pointers = step, {}
            for action in self.plan.actions:
                _EMITTERS[type(action)](self, action)
            if self.plan.until is not None:
                value = self.values[self.plan.until]
                condition = types.load(self.builder, self.pointer(self.plan.until), value.dtype)
                condition = types.cast(self.builder, condition, value.dtype, "bool")
                with self.builder.if_then(condition):
                    self.exit_with(STOPPED, self.builder.add(step, I64(1)))
        self.exit_with(RAN_ALL, self.last)

    def constant_address(self, dtype: str, value: int) -> ir.Value:
        """The address of a read-only ``value`` of ``dtype`` (BLAS's alpha and beta)."""
        name = f"jg_scan_{dtype}_{value}"
        existing = self.module.globals.get(name)
        if existing is not None:
            return existing
        variable = ir.GlobalVariable(self.module, types.memory_type(dtype), name)
        variable.global_constant = True
        variable.linkage = "internal"
        variable.initializer = types.constant(dtype, value)
        return variable


# ============================================================================ actions
def _emit_view(emitter: _LoopEmitter, action: ComputeView) -> None:
    """The view's address: its base's, plus the fixed offset, plus each index read now
    (wrapped when negative; out of bounds: the loop stops with FAILED)."""
    where = emitter.values[action.value].pointer
    assert isinstance(where, View)
    builder = emitter.builder
    address = builder.gep(emitter.pointer(where.of), [emitter.field(where.offset)], source_etype=I8)
    for term in where.indices:
        index = types.load(builder, emitter.pointer(term.value), term.dtype)
        if dtypes.kind(term.dtype) == "i":
            index = builder.sext(index, I64) if index.type != I64 else index
        else:
            index = builder.zext(index, I64)
        size = emitter.field(term.dim)
        negative = builder.icmp_signed("<", index, I64(0))
        index = builder.select(negative, builder.add(index, size), index)
        with builder.if_then(builder.icmp_unsigned(">=", index, size), likely=False):
            emitter.exit_with(FAILED, emitter.step)
        address = builder.gep(
            address, [builder.mul(index, emitter.field(term.stride))], source_etype=I8
        )
    emitter.pointers[action.value] = address


def _emit_kernel(emitter: _LoopEmitter, action: KernelCall) -> None:
    builder = emitter.builder
    data = emitter.head.alloca(POINTER, size=len(action.arrays), name="data")
    for position, number in enumerate(action.arrays):
        slot = builder.gep(data, [I64(position)], source_etype=POINTER)
        builder.store(emitter.pointer(number), slot)
    function = emitter.module.globals[f"{action.name}_strided"]
    arguments = [
        I64(0),
        emitter.field(action.rows),
        data,
        emitter.field_address(action.extents),
        emitter.field_address(action.strides),
    ]
    builder.call(function, arguments)


def _emit_product(emitter: _LoopEmitter, action: ProductCall) -> None:
    """The BLAS call the context chooses (field ``choice`` among ``routines``)."""
    builder = emitter.builder
    a, b = emitter.pointer(action.a), emitter.pointer(action.b)
    b_first = builder.icmp_signed("!=", emitter.field(action.b_first), I64(0))
    arrays = {
        "first": builder.select(b_first, b, a),
        "second": builder.select(b_first, a, b),
        "out": emitter.pointer(action.out),
        "alpha": emitter.constant_address(action.dtype, 1)
        if action.alpha is None
        else emitter.pointer(action.alpha),
        "beta": emitter.constant_address(action.dtype, int(action.accumulate)),
    }
    choice = emitter.field(action.choice)
    with builder.if_else(builder.icmp_signed("==", choice, I64(INLINE))) as (inline, routine):
        with inline:
            _inline_product(emitter, action, arrays)
        with routine:
            if len(action.routines) == 1:
                _call_routine(emitter, action, action.routines[0], arrays)
            else:
                first = builder.icmp_signed("==", choice, I64(0))
                with builder.if_else(first) as (then, otherwise):
                    with then:
                        _call_routine(emitter, action, action.routines[0], arrays)
                    with otherwise:
                        _call_routine(emitter, action, action.routines[1], arrays)


def _inline_product(
    emitter: _LoopEmitter, action: ProductCall, arrays: dict[str, ir.Value]
) -> None:
    builder, dtype = emitter.builder, action.dtype
    fields = [emitter.field(action.inline + position) for position in range(INLINE_FIELDS)]
    alpha = None if action.alpha is None else types.load(builder, arrays["alpha"], dtype)
    pointers = (emitter.pointer(action.a), emitter.pointer(action.b), arrays["out"])
    emit_inline_product(emitter, dtype, pointers, fields, alpha, action.accumulate)


def _call_routine(
    emitter: _LoopEmitter, action: ProductCall, routine: str, arrays: dict[str, ir.Value]
) -> None:
    kinds = blas.routine_arguments(routine)
    function_type = ir.FunctionType(ir.VoidType(), [POINTER] * len(kinds))
    function = types.declare(emitter.module, blas.routine_symbol(routine), function_type)
    arguments, integer = [], action.integers
    for kind in kinds:
        if kind in ("char", "int"):  # the low bytes of an int64 field (little-endian)
            arguments.append(emitter.field_address(integer))
            integer += 1
        else:
            arguments.append(arrays[kind])
    emitter.builder.call(function, arguments)


def _emit_elementwise(emitter: _LoopEmitter, action: Elementwise) -> None:
    target_dtype = emitter.values[action.target].dtype
    source_dtype = emitter.values[action.source].dtype
    builder = emitter.builder
    factor = None
    if action.factor is not None:
        factor_dtype = emitter.values[action.factor].dtype
        factor = types.load(builder, emitter.pointer(action.factor), factor_dtype)
        factor = types.cast(builder, factor, factor_dtype, target_dtype)
    pointers = (emitter.pointer(action.target), emitter.pointer(action.source))
    with _nest(emitter, action, pointers) as (target, source):
        if action.operation == "copy":  # bit for bit, in integers of the item's size
            element = ir.IntType(8 * np.dtype(target_dtype).itemsize)
            builder.store(builder.load(source, typ=element), target)
        else:
            value = types.load(builder, source, source_dtype)
            value = types.cast(builder, value, source_dtype, target_dtype)
            if action.operation == "scale":
                value = _binary(builder, "multiply", factor, value, target_dtype)
            elif action.operation == "add":
                held = types.load(builder, target, target_dtype)
                value = _binary(builder, "add", held, value, target_dtype)
            types.store(builder, value, target, target_dtype)


def _binary(builder: ir.IRBuilder, name: str, left: Any, right: Any, dtype: str) -> ir.Value:
    """``name`` from the scalar op table (NumPy's semantics: wrapping integers, bool or)."""
    return scalar.lower_instruction(builder, SCALAR_OPS[name], [left, right], (dtype, dtype), dtype)


@contextmanager
def _nest(
    emitter: _LoopEmitter, action: Elementwise, pointers: tuple[ir.Value, ir.Value]
) -> Iterator[tuple[ir.Value, ir.Value]]:
    """One loop per axis of the target; yields the element addresses in the innermost."""
    builder = emitter.builder
    target, source = pointers
    with ExitStack() as loops:
        for axis in range(action.ndim):
            stop = emitter.field(action.extents + axis)
            index = loops.enter_context(counted_loop(builder, I64(0), stop, f"axis{axis}"))
            target_step = builder.mul(index, emitter.field(action.target_strides + axis))
            source_step = builder.mul(index, emitter.field(action.source_strides + axis))
            target = builder.gep(target, [target_step], source_etype=I8)
            source = builder.gep(source, [source_step], source_etype=I8)
        yield target, source


_EMITTERS: dict[type[Action], Any] = {
    ComputeView: _emit_view,
    KernelCall: _emit_kernel,
    ProductCall: _emit_product,
    Elementwise: _emit_elementwise,
}
