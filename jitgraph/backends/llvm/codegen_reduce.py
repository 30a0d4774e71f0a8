"""Reductions in LLVM IR: the combine ops and the accumulator of one output element.

The loop nest (``jitgraph.backends.llvm.codegen``) feeds a reduction in blocks: where the
innermost loop runs along a reduced axis it writes up to ``BLOCK`` values, already cast
to the accumulator dtype, into a buffer on the stack (a unit-stride loop that LLVM's loop
vectorizer vectorizes without reassociating anything), then hands the buffer to the
output's accumulator, which combines it with explicit vector code:

- ``PairwiseSum`` (float and complex sums): per block, 16 float64 partial sums (a
  complex buffer is read as interleaved real/imaginary lanes, 32 of them), then the
  block vectors are combined pairwise on a binary-counter stack (the pairwise tree over
  blocks), and the lanes by halving at the end. Each lane adds 16 values per block and
  the tree has log2(16) + log2(n / 256) levels: for float64 the error bound of NumPy's
  pairwise summation (8 partial sums per 128 values, then halving); float32 and
  complex64 data are summed in float64 lanes, far more accurately than NumPy.
- ``LaneReduce`` (integer sums, products, max/min, all/any): one vector of lanes over the
  whole region, combined by halving at the end. These are exact (integer wrap-around,
  max/min/and/or) or, for float products, as accurate as a sequential product.
- ``SerialReduce`` (complex products): one value, combined in order.

``combine(builder, name, left, right, dtype)`` applies the combine op named by a
REDUCTIONS entry (``kind.combine``) to scalars or vectors of the accumulator dtype.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import llvmlite.ir as ir
import numpy as np

from jitgraph.backends.kernel import KernelOutput
from jitgraph.backends.llvm import types
from jitgraph.backends.llvm.types import I1, I8, I32, I64, POINTER

__all__ = [
    "BLOCK",
    "Accumulator",
    "DistinctNode",
    "accumulator_dtype",
    "combine",
    "counted_loop",
    "make_accumulator",
    "plain_loop_metadata",
    "stack_slot",
    "start_constant",
]

BLOCK = 256  # values per block buffer: a multiple of every accumulator's lane count
VECTOR_BYTES = 128  # one accumulator vector: two AVX-512 registers, four AVX2 ones
STACK_DEPTH = 64  # pairwise levels: one per bit of the (64-bit) block count

Combine = Callable[[ir.IRBuilder, ir.Value, ir.Value, str], ir.Value]


# ============================================================================ loops
class DistinctNode(ir.values.MDValue):
    """A ``distinct`` metadata node, optionally naming itself first (a loop ID)."""

    def __init__(
        self, module: ir.Module, operands: list[Any], self_reference: bool = False
    ) -> None:
        super().__init__(module, operands, name=str(len(module.metadata)))
        if self_reference:
            self.operands = (self, *operands)

    def descr(self, buf: list[str]) -> None:
        operands = ", ".join(op.get_reference() for op in self.operands)
        buf += (f"distinct !{{{operands}}}", "\n")

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)


def plain_loop_metadata(module: ir.Module) -> Any:
    """Loop metadata keeping a loop as written: neither vectorized nor unrolled (the
    strided fallback, where vectorizing needs gathers, and the accumulators' small
    helper loops; this also keeps compile times down)."""
    properties = [
        module.add_metadata([ir.MetaDataString(module, "llvm.loop.vectorize.enable"), I1(0)]),
        module.add_metadata([ir.MetaDataString(module, "llvm.loop.unroll.disable")]),
    ]
    return DistinctNode(module, properties, self_reference=True)


@contextlib.contextmanager
def counted_loop(
    builder: ir.IRBuilder,
    start: ir.Value,
    stop: ir.Value,
    name: str,
    step: int = 1,
    metadata: Any = None,
) -> Iterator[ir.Value]:
    """``for index in range(start, stop, step)`` (i64, step > 0): the body is emitted
    inside the ``with``; the builder is left after the loop. ``metadata`` goes on the
    back edge as ``!llvm.loop``."""
    preheader = builder.block
    header = builder.append_basic_block(f"{name}.header")
    body = builder.append_basic_block(f"{name}.body")
    exit_block = builder.append_basic_block(f"{name}.exit")
    builder.branch(header)
    builder.position_at_end(header)
    index = builder.phi(I64, name=name)
    index.add_incoming(start, preheader)
    builder.cbranch(builder.icmp_signed("<", index, stop), body, exit_block)
    builder.position_at_end(body)
    yield index
    index.add_incoming(builder.add(index, I64(step)), builder.block)
    back_edge = builder.branch(header)
    if metadata is not None:
        back_edge.set_metadata("llvm.loop", metadata)
    builder.position_at_end(exit_block)


def stack_slot(allocas: ir.IRBuilder, element: ir.Type, name: str) -> ir.Value:
    """An opaque pointer to a new 64-byte aligned stack slot holding one ``element``
    (``allocas`` sits in the function's entry block, where LLVM promotes slots)."""
    slot = allocas.alloca(element, name=name)
    slot.align = 64
    slot.type = POINTER  # llvmlite types allocas as typed pointers; the IR is opaque
    return slot


def _back_edge(builder: ir.IRBuilder, header: ir.Block) -> None:
    """The branch back to a hand-built loop's ``header``, marked to stay as written."""
    builder.branch(header).set_metadata("llvm.loop", plain_loop_metadata(builder.module))


# ============================================================================ dtypes
def accumulator_dtype(output: KernelOutput) -> str:
    """The dtype ``output``'s reduction accumulates in: ``acc_dtype`` for sum/prod, else
    the output's own (max/min keep the value's dtype, all/any are bool)."""
    return output.acc_dtype if output.acc_dtype is not None else output.dtype


def start_constant(output: KernelOutput) -> ir.Constant:
    """The accumulator's starting value (the ReduceKind's ``start_value``)."""
    assert output.reduction is not None
    dtype = accumulator_dtype(output)
    return types.constant(dtype, output.reduction.start_value(dtype))


# ============================================================================ combine ops
def _float_or_int(float_op: str, int_op: str, bool_op: str) -> Combine:
    def lower(builder: ir.IRBuilder, left: ir.Value, right: ir.Value, dtype: str) -> ir.Value:
        if types.is_complex(dtype):
            return _complex_parts(builder, float_op, left, right, dtype)
        if types.is_float(dtype):
            return getattr(builder, float_op)(left, right)
        return getattr(builder, bool_op if dtype == "bool" else int_op)(left, right)

    return lower


def _complex_parts(
    builder: ir.IRBuilder, float_op: str, left: ir.Value, right: ir.Value, dtype: str
) -> ir.Value:
    parts = [
        getattr(builder, float_op)(builder.extract_value(left, i), builder.extract_value(right, i))
        for i in (0, 1)
    ]
    return types.make_complex(builder, parts[0], parts[1], dtype)


def _multiply(builder: ir.IRBuilder, left: ir.Value, right: ir.Value, dtype: str) -> ir.Value:
    if not types.is_complex(dtype):
        return _float_or_int("fmul", "mul", "and_")(builder, left, right, dtype)
    # NumPy's complex product, without fused multiply-adds: (ac - bd) + (ad + bc)i.
    a, b = builder.extract_value(left, 0), builder.extract_value(left, 1)
    c, d = builder.extract_value(right, 0), builder.extract_value(right, 1)
    real = builder.fsub(builder.fmul(a, c), builder.fmul(b, d))
    imag = builder.fadd(builder.fmul(a, d), builder.fmul(b, c))
    return types.make_complex(builder, real, imag, dtype)


def _extremum(float_order: str, bool_op: str) -> Combine:
    """NumPy's maximum/minimum: NaN if either side is NaN, else the larger/smaller."""

    def lower(builder: ir.IRBuilder, left: ir.Value, right: ir.Value, dtype: str) -> ir.Value:
        if dtype == "bool":
            return getattr(builder, bool_op)(left, right)
        if types.is_float(dtype):
            better = builder.fcmp_ordered(float_order, right, left)
            chosen = builder.select(better, right, left)
            return builder.select(builder.fcmp_unordered("uno", right, right), right, chosen)
        compare = builder.icmp_signed if types.is_signed(dtype) else builder.icmp_unsigned
        return builder.select(compare(float_order, right, left), right, left)

    return lower


def _logical(bool_op: str) -> Combine:
    def lower(builder: ir.IRBuilder, left: ir.Value, right: ir.Value, dtype: str) -> ir.Value:
        return getattr(builder, bool_op)(left, right)

    return lower


# Keyed by ReduceKind.combine (the scalar-table op that combines two partial results).
# These lower scalars and vectors alike, which the scalar table's lowerings need not do.
COMBINE: dict[str, Combine] = {
    "add": _float_or_int("fadd", "add", "or_"),
    "multiply": _multiply,
    "maximum": _extremum(">", "or_"),
    "minimum": _extremum("<", "and_"),
    "logical_and": _logical("and_"),
    "logical_or": _logical("or_"),
}


def combine(
    builder: ir.IRBuilder, name: str, left: ir.Value, right: ir.Value, dtype: str
) -> ir.Value:
    """``name(left, right)`` on values (scalars or vectors) of accumulator ``dtype``;
    ``left`` holds the earlier values."""
    if name not in COMBINE:
        raise NotImplementedError(f"no LLVM lowering of the reduction combine op {name!r}")
    return COMBINE[name](builder, left, right, dtype)


# ============================================================================ vector helpers
def _splat(constant: ir.Constant, lanes: int) -> ir.Constant:
    return ir.Constant(ir.VectorType(constant.type, lanes), [constant] * lanes)


def _halves(builder: ir.IRBuilder, vector: ir.Value, width: int) -> tuple[ir.Value, ir.Value]:
    half = width // 2
    low = ir.Constant(ir.VectorType(I32, half), [I32(i) for i in range(half)])
    high = ir.Constant(ir.VectorType(I32, half), [I32(i) for i in range(half, width)])
    return (
        builder.shuffle_vector(vector, vector, low),
        builder.shuffle_vector(vector, vector, high),
    )


def _pad(
    builder: ir.IRBuilder, buffer: ir.Value, count: ir.Value, multiple: int, dtype: str, fill: Any
) -> ir.Value:
    """Fill ``buffer[count : round_up(count, multiple)]`` with ``fill``; the number of
    ``multiple``-value chunks that then hold the data."""
    chunks = builder.lshr(builder.add(count, I64(multiple - 1)), I64(multiple.bit_length() - 1))
    padded_end = builder.mul(chunks, I64(multiple))
    element = types.memory_type(dtype)
    plain = plain_loop_metadata(builder.module)
    with counted_loop(builder, count, padded_end, "pad", metadata=plain) as index:
        pointer = builder.gep(buffer, [index], inbounds=True, source_etype=element)
        types.store(builder, fill, pointer, dtype)
    return chunks


class Accumulator(abc.ABC):
    """The running reduction of one output element over a region of the loop domain.

    ``begin`` starts it (at the region's entry), ``add_block(buffer, count)`` combines
    ``count`` (<= BLOCK) values of ``dtype`` from a buffer of ``BLOCK`` elements of
    ``types.memory_type(dtype)`` (it may overwrite the rest of the buffer), ``finish``
    gives the register value of the whole region in ``dtype``. Its state lives in stack
    slots created by ``allocas`` (a builder in the function's entry block)."""

    def __init__(self, allocas: ir.IRBuilder, output: KernelOutput) -> None:
        assert output.reduction is not None
        self.dtype = accumulator_dtype(output)
        self.combine_name = output.reduction.combine
        self.start = start_constant(output)

    @abc.abstractmethod
    def begin(self, builder: ir.IRBuilder) -> None: ...

    @abc.abstractmethod
    def add_block(self, builder: ir.IRBuilder, buffer: ir.Value, count: ir.Value) -> None: ...

    @abc.abstractmethod
    def finish(self, builder: ir.IRBuilder) -> ir.Value: ...


class PairwiseSum(Accumulator):
    """A float or complex sum: lanes per block, blocks combined pairwise. The lanes are
    float64 also for float32 data (widening is exact and cheap next to the memory
    traffic), so a float32 sum comes out correctly rounded but for extreme cases."""

    def __init__(self, allocas: ir.IRBuilder, output: KernelOutput) -> None:
        super().__init__(allocas, output)
        complex_sum = types.is_complex(self.dtype)
        self.part = types.complex_part(self.dtype) if complex_sum else self.dtype
        self.parts = 2 if complex_sum else 1
        self.lanes = VECTOR_BYTES // 8 * self.parts
        self.memory_vector = ir.VectorType(types.llvm_type(self.part), self.lanes)
        self.vector = ir.VectorType(types.F64, self.lanes)
        self.stack_type = ir.ArrayType(self.vector, STACK_DEPTH)
        self.stack = stack_slot(allocas, self.stack_type, "pairwise")
        self.count = stack_slot(allocas, I64, "pairwise.count")

    def begin(self, builder: ir.IRBuilder) -> None:
        builder.store(I64(0), self.count)

    def add_block(self, builder: ir.IRBuilder, buffer: ir.Value, count: ir.Value) -> None:
        # -0.0 is the exact additive identity (+0.0 would turn a -0.0 into +0.0).
        fill = types.constant(self.dtype, complex(-0.0, -0.0) if self.parts == 2 else -0.0)
        chunks = _pad(builder, buffer, count, self.lanes // self.parts, self.dtype, fill)
        block_sum = self._sum_chunks(builder, buffer, chunks)
        with builder.if_then(builder.icmp_signed("!=", chunks, I64(0))):
            self._push(builder, block_sum)

    def _chunk(self, builder: ir.IRBuilder, buffer: ir.Value, index: ir.Value) -> ir.Value:
        offset = builder.mul(index, I64(self.lanes))
        part_type = types.llvm_type(self.part)
        pointer = builder.gep(buffer, [offset], inbounds=True, source_etype=part_type)
        chunk = builder.load(pointer, typ=self.memory_vector, align=np.dtype(self.part).itemsize)
        return chunk if self.part == "float64" else builder.fpext(chunk, self.vector)

    def _sum_chunks(self, builder: ir.IRBuilder, buffer: ir.Value, chunks: ir.Value) -> ir.Value:
        """Lane-wise sum of the chunks, in order (undefined when there are none)."""
        first = self._chunk(builder, buffer, I64(0))
        entry = builder.block
        header = builder.append_basic_block("lanes.header")
        body = builder.append_basic_block("lanes.body")
        done = builder.append_basic_block("lanes.done")
        builder.branch(header)
        builder.position_at_end(header)
        index = builder.phi(I64)
        running = builder.phi(self.vector)
        index.add_incoming(I64(1), entry)
        running.add_incoming(first, entry)
        builder.cbranch(builder.icmp_signed("<", index, chunks), body, done)
        builder.position_at_end(body)
        running.add_incoming(builder.fadd(running, self._chunk(builder, buffer, index)), body)
        index.add_incoming(builder.add(index, I64(1)), body)
        _back_edge(builder, header)
        builder.position_at_end(done)
        return running

    def _level_pointer(self, builder: ir.IRBuilder, level: ir.Value) -> ir.Value:
        return builder.gep(self.stack, [I64(0), level], inbounds=True, source_etype=self.stack_type)

    def _push(self, builder: ir.IRBuilder, block_sum: ir.Value) -> None:
        """Add one block to the binary-counter stack: while the count's low bit is set,
        merge with the (earlier) partial sum of that level and carry upwards."""
        entry = builder.block
        blocks = builder.load(self.count, typ=I64)
        header = builder.append_basic_block("push.header")
        carry = builder.append_basic_block("push.carry")
        done = builder.append_basic_block("push.done")
        builder.branch(header)
        builder.position_at_end(header)
        value = builder.phi(self.vector)
        bits = builder.phi(I64)
        level = builder.phi(I64)
        value.add_incoming(block_sum, entry)
        bits.add_incoming(blocks, entry)
        level.add_incoming(I64(0), entry)
        builder.cbranch(builder.trunc(bits, I1), carry, done)
        builder.position_at_end(carry)
        earlier = builder.load(self._level_pointer(builder, level), typ=self.vector)
        value.add_incoming(builder.fadd(earlier, value), carry)
        bits.add_incoming(builder.lshr(bits, I64(1)), carry)
        level.add_incoming(builder.add(level, I64(1)), carry)
        _back_edge(builder, header)
        builder.position_at_end(done)
        builder.store(value, self._level_pointer(builder, level))
        builder.store(builder.add(blocks, I64(1)), self.count)

    def finish(self, builder: ir.IRBuilder) -> ir.Value:
        """Merge the stack from the latest (smallest) level up, then the lanes by
        halving; the result is the start value (0) plus that total, as NumPy's."""
        blocks = builder.load(self.count, typ=I64)
        entry = builder.block
        header = builder.append_basic_block("merge.header")
        body = builder.append_basic_block("merge.body")
        done = builder.append_basic_block("merge.done")
        builder.branch(header)
        builder.position_at_end(header)
        total = builder.phi(self.vector)
        level = builder.phi(I64)
        total.add_incoming(_splat(types.constant("float64", -0.0), self.lanes), entry)
        level.add_incoming(I64(0), entry)
        remaining = builder.lshr(blocks, level)
        builder.cbranch(builder.icmp_unsigned("!=", remaining, I64(0)), body, done)
        builder.position_at_end(body)
        stored = builder.load(self._level_pointer(builder, level), typ=self.vector)
        merged = builder.select(builder.trunc(remaining, I1), builder.fadd(stored, total), total)
        total.add_incoming(merged, body)
        level.add_incoming(builder.add(level, I64(1)), body)
        _back_edge(builder, header)
        builder.position_at_end(done)
        return self._lanes_total(builder, total)

    def _lanes_total(self, builder: ir.IRBuilder, vector: ir.Value) -> ir.Value:
        width = self.lanes
        while width > self.parts:
            low, high = _halves(builder, vector, width)
            vector = builder.fadd(low, high)
            width //= 2
        zero = types.constant("float64", 0.0)
        parts = [
            types.cast(
                builder,
                builder.fadd(zero, builder.extract_element(vector, I32(i))),
                "float64",
                self.part,
            )
            for i in range(self.parts)
        ]
        if self.parts == 1:
            return parts[0]
        return types.make_complex(builder, parts[0], parts[1], self.dtype)


class LaneReduce(Accumulator):
    """An exact (or order-insensitive) reduction: one vector of lanes for the region."""

    def __init__(self, allocas: ir.IRBuilder, output: KernelOutput) -> None:
        super().__init__(allocas, output)
        self.memory = types.memory_type(self.dtype)
        self.itemsize = np.dtype(self.dtype).itemsize
        self.lanes = max(2, VECTOR_BYTES // self.itemsize)
        self.register_vector = ir.VectorType(types.llvm_type(self.dtype), self.lanes)
        self.memory_vector = ir.VectorType(self.memory, self.lanes)
        self.state = stack_slot(allocas, self.register_vector, "lanes")

    def begin(self, builder: ir.IRBuilder) -> None:
        builder.store(_splat(self.start, self.lanes), self.state)

    def add_block(self, builder: ir.IRBuilder, buffer: ir.Value, count: ir.Value) -> None:
        chunks = _pad(builder, buffer, count, self.lanes, self.dtype, self.start)
        plain = plain_loop_metadata(builder.module)
        with counted_loop(builder, I64(0), chunks, "chunks", metadata=plain) as chunk:
            offset = builder.mul(chunk, I64(self.lanes))
            pointer = builder.gep(buffer, [offset], inbounds=True, source_etype=self.memory)
            loaded = builder.load(pointer, typ=self.memory_vector, align=self.itemsize)
            if self.dtype == "bool":
                loaded = builder.icmp_unsigned("!=", loaded, _splat(I8(0), self.lanes))
            state = builder.load(self.state, typ=self.register_vector)
            merged = combine(builder, self.combine_name, state, loaded, self.dtype)
            builder.store(merged, self.state)

    def finish(self, builder: ir.IRBuilder) -> ir.Value:
        vector = builder.load(self.state, typ=self.register_vector)
        width = self.lanes
        while width > 1:
            low, high = _halves(builder, vector, width)
            vector = combine(builder, self.combine_name, low, high, self.dtype)
            width //= 2
        return builder.extract_element(vector, I32(0))


class SerialReduce(Accumulator):
    """Any reduction, one value at a time in order (complex products)."""

    def __init__(self, allocas: ir.IRBuilder, output: KernelOutput) -> None:
        super().__init__(allocas, output)
        self.state_type = types.llvm_type(self.dtype)
        self.state = stack_slot(allocas, self.state_type, "serial")

    def begin(self, builder: ir.IRBuilder) -> None:
        builder.store(self.start, self.state)

    def add_block(self, builder: ir.IRBuilder, buffer: ir.Value, count: ir.Value) -> None:
        memory = types.memory_type(self.dtype)
        plain = plain_loop_metadata(builder.module)
        with counted_loop(builder, I64(0), count, "serial", metadata=plain) as index:
            pointer = builder.gep(buffer, [index], inbounds=True, source_etype=memory)
            value = types.load(builder, pointer, self.dtype)
            held = builder.load(self.state, typ=self.state_type)
            merged = combine(builder, self.combine_name, held, value, self.dtype)
            builder.store(merged, self.state)

    def finish(self, builder: ir.IRBuilder) -> ir.Value:
        return builder.load(self.state, typ=self.state_type)


def make_accumulator(allocas: ir.IRBuilder, output: KernelOutput) -> Accumulator:
    """The accumulator for reduction ``output`` (see the module docstring)."""
    assert output.reduction is not None
    dtype = accumulator_dtype(output)
    combine_name = output.reduction.combine
    if combine_name == "add" and (types.is_float(dtype) or types.is_complex(dtype)):
        return PairwiseSum(allocas, output)
    if types.is_complex(dtype):
        return SerialReduce(allocas, output)
    return LaneReduce(allocas, output)
