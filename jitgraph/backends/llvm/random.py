"""Native Philox4x32-10 draws for ``PhiloxBits`` nodes (jitgraph.ops.random).

Each distribution ("bits", "uniform32", "uniform64") has its own function, named
``jg_philox4x32_10`` (bits) or ``jg_philox4x32_10_<distribution>``, with the same
arguments; the uniforms convert the words to floats in the same pass (one Philox block
gives 4 float32 or 2 float64 values), bit-identical to ``words_to_values``. The words are
kept in i64 lanes (high halves ignored) so that each 32x32 -> 64-bit product is a single
``vpmuludq`` and no widening or narrowing happens inside the rounds.

One LLVM function, ``jg_philox4x32_10(out, start, stop, counter, k0, k1)``, writes the
flat elements ``out[i]`` for ``start <= i < stop`` of the stream defined in
jitgraph.ops.random. Each element depends only on (key, counter, i), so any split of a
range into pieces gives the same bits: large outputs are split over the kernel thread
pool (``launch``) by flat ranges.

The function has three parts: the partial block at each end of the range (computed once,
the words in range copied), and the whole blocks in between, ``BLOCK_LANES`` at a time in
LLVM vectors (one lane per block; the 32x32 -> 64-bit products are i64 multiplies of
zero-extended words, which x86 does with ``vpmuludq``), the four words of the blocks then
interleaved into memory order with two shuffles; leftover whole blocks run one at a time.

>>> import numpy as np
>>> out = np.zeros(6, dtype=np.uint32)
>>> philox_fill(out, np.zeros(2, dtype=np.uint32), 0, 0, 6)
>>> [hex(w) for w in out[:4]]
['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import llvmlite.ir as ir
import numpy as np

from jitgraph.backends.llvm import launch, target
from jitgraph.backends.llvm.types import F32, F64, I32, I64, POINTER
from jitgraph.ir.graph import Node
from jitgraph.ops.random import (
    DISTRIBUTIONS,
    PHILOX_M0,
    PHILOX_M1,
    PHILOX_W0,
    PHILOX_W1,
    ROUNDS,
    PhiloxBits,
    output_shape,
)

__all__ = ["native_step", "philox_fill", "philox_module_ir"]

FUNCTION_NAME = "jg_philox4x32_10"
BLOCK_LANES = 16  # blocks per vector iteration: 16 x 32-bit lanes fill an AVX-512 register

_SIGNATURE = ctypes.CFUNCTYPE(
    None,
    ctypes.c_void_p,
    ctypes.c_int64,
    ctypes.c_int64,
    ctypes.c_uint64,
    ctypes.c_uint32,
    ctypes.c_uint32,
)


# ============================================================================ IR generation
class _Emitter:
    """Builds the function's IR with ``builder``; values may be scalars or vectors of
    ``lanes`` elements (``lanes == 1``: scalars)."""

    def __init__(self, builder: ir.IRBuilder, function: ir.Function) -> None:
        self.builder = builder
        self.function = function

    def splat(self, value: Any, lanes: int) -> Any:
        if lanes == 1:
            return value
        vector_type = ir.VectorType(value.type, lanes)
        single = self.builder.insert_element(ir.Constant(vector_type, None), value, I32(0))
        return self.builder.shuffle_vector(
            single, ir.Constant(vector_type, None), ir.Constant(ir.VectorType(I32, lanes), 0)
        )

    def constant(self, type_: ir.IntType, value: int, lanes: int) -> Any:
        if lanes == 1:
            return type_(value)
        return ir.Constant(ir.VectorType(type_, lanes), [type_(value)] * lanes)

    def philox(self, block_number: Any, key: tuple[Any, Any], lanes: int) -> list[Any]:
        """The four words of Philox4x32-10 of the blocks ``block_number`` (i64 lanes):
        counter (lo32, hi32, 0, 0). Each word is returned in the low half of an i64 lane
        whose high half is garbage (``low_word`` or a truncation discards it)."""
        b = self.builder
        shift = self.constant(I64, 32, lanes)
        zero = self.constant(I64, 0, lanes)
        words = [block_number, b.lshr(block_number, shift), zero, zero]
        k0, k1 = key
        for round_index in range(ROUNDS):
            if round_index:  # the key is bumped between rounds, as in Random123
                k0 = b.add(k0, I32(PHILOX_W0))
                k1 = b.add(k1, I32(PHILOX_W1))
            # Masked 32-bit factors: x86 multiplies them with one vpmuludq per 8 lanes, and
            # the mask itself folds away (vpmuludq reads only the low halves).
            product0 = b.mul(self.low_word(words[0], lanes), self.constant(I64, PHILOX_M0, lanes))
            product1 = b.mul(self.low_word(words[2], lanes), self.constant(I64, PHILOX_M1, lanes))
            words = [
                b.xor(b.xor(b.lshr(product1, shift), words[1]), self.wide_splat(k0, lanes)),
                product1,
                b.xor(b.xor(b.lshr(product0, shift), words[3]), self.wide_splat(k1, lanes)),
                product0,
            ]
        return words

    def low_word(self, word: Any, lanes: int) -> Any:
        """``word`` (i64 lanes) with its high half cleared: the 32-bit value."""
        return self.builder.and_(word, self.constant(I64, 0xFFFFFFFF, lanes))

    def wide_splat(self, word: Any, lanes: int) -> Any:
        return self.splat(self.builder.zext(word, I64), lanes)

    def loop(self, start: Any, stop: Any, step: int, body: Callable[[Any], None]) -> Any:
        """Runs ``body(i)`` for i = start, start + step, ... while ``i + step <= stop``;
        returns the first i not run (the value after the loop)."""
        b = self.builder
        before = b.block
        header = self.function.append_basic_block("loop")
        inside = self.function.append_basic_block("body")
        after = self.function.append_basic_block("after")
        b.branch(header)
        b.position_at_end(header)
        index = b.phi(I64)
        index.add_incoming(start, before)
        b.cbranch(b.icmp_signed("<=", b.add(index, I64(step)), stop), inside, after)
        b.position_at_end(inside)
        body(index)
        index.add_incoming(b.add(index, I64(step)), b.block)
        b.branch(header)
        b.position_at_end(after)
        return index

    def element(self, out: Any, index: Any, type_: ir.Type) -> Any:
        return self.builder.gep(out, [index], source_etype=type_)


@dataclasses.dataclass(frozen=True)
class _Layout:
    """What one Philox block becomes in the output: ``per_block`` elements of
    ``element_type`` (module docstring), and ``convert`` making them from the 4 words."""

    distribution: str
    element_type: ir.Type
    per_block: int

    @property
    def words(self) -> int:
        """Words per element (also the element's size in 4-byte units)."""
        return 4 // self.per_block

    @property
    def log_per_block(self) -> int:
        return self.per_block.bit_length() - 1

    def convert(self, emit: _Emitter, words: list[Any], lanes: int) -> list[Any]:
        """The block's ``per_block`` values, in order, from its words (i64 lanes, as
        ``philox`` gives them); bit-identical to ``words_to_values``: every step is exact."""
        b = emit.builder

        def vector(type_: ir.Type) -> ir.Type:
            return type_ if lanes == 1 else ir.VectorType(type_, lanes)

        def shifted(word: Any, bits: int) -> Any:
            return b.lshr(emit.low_word(word, lanes), emit.constant(I64, bits, lanes))

        def scaled(value: Any, factor: float) -> Any:
            return b.fmul(value, ir.Constant(value.type, [factor] * lanes if lanes > 1 else factor))

        if self.distribution == "bits":
            return [b.trunc(word, vector(I32)) for word in words]
        if self.distribution == "uniform32":
            # below 2**24 after the shift: a signed 32-bit conversion is exact (and cheap)
            small = [b.trunc(shifted(word, 8), vector(I32)) for word in words]
            return [scaled(b.sitofp(value, vector(F32)), 2.0**-24) for value in small]
        # the 53-bit integer (w0 >> 5) * 2**26 + (w1 >> 6), converted exactly
        return [
            scaled(
                b.sitofp(
                    b.or_(b.shl(shifted(high, 5), emit.constant(I64, 26, lanes)), shifted(low, 6)),
                    vector(F64),
                ),
                2.0**-53,
            )
            for high, low in (words[0:2], words[2:4])
        ]


def _layout(distribution: str) -> _Layout:
    element_type = {"bits": I32, "uniform32": F32, "uniform64": F64}[distribution]
    return _Layout(distribution, element_type, 4 // DISTRIBUTIONS[distribution].words)


def _emit_partial(
    emit: _Emitter, layout: _Layout, arguments: list[Any], low: Any, high: Any
) -> None:
    """Elements ``low <= i < high`` (within one block; none if low >= high)."""
    b = emit.builder
    out, _, _, counter, k0, k1 = arguments
    element_type = layout.element_type
    with b.if_then(b.icmp_signed("<", low, high)):
        block_number = b.add(counter, b.ashr(low, I64(layout.log_per_block)))
        values = layout.convert(emit, emit.philox(block_number, (k0, k1), 1), 1)
        with b.goto_entry_block():  # an entry-block slot: promoted to registers
            scratch = b.alloca(element_type, size=layout.per_block)
        for position, value in enumerate(values):
            b.store(value, emit.element(scratch, I64(position), element_type))

        def copy_value(index: Any) -> None:
            position = b.and_(index, I64(layout.per_block - 1))
            value = b.load(emit.element(scratch, position, element_type), typ=element_type)
            b.store(value, emit.element(out, index, element_type))

        emit.loop(low, high, 1, copy_value)


def _interleave(emit: _Emitter, vectors: list[Any], lanes: int) -> Any:
    """One vector holding ``vectors`` (``lanes`` each) in memory order: element k of lane
    j at ``len(vectors) * j + k``."""
    b = emit.builder
    count = len(vectors)
    if count == 4:  # concatenate pairwise first: a shuffle takes two vectors
        pairs = ir.Constant(ir.VectorType(I32, 2 * lanes), [I32(j) for j in range(2 * lanes)])
        vectors = [
            b.shuffle_vector(vectors[0], vectors[1], pairs),
            b.shuffle_vector(vectors[2], vectors[3], pairs),
        ]
    # in the concatenation (v0 v1 ... ), element k of lane j is at k * lanes + j
    order = [I32(k * lanes + j) for j in range(lanes) for k in range(count)]
    return b.shuffle_vector(
        vectors[0], vectors[1], ir.Constant(ir.VectorType(I32, len(order)), order)
    )


def _emit_whole_blocks(
    emit: _Emitter, layout: _Layout, arguments: list[Any], first: Any, end: Any
) -> None:
    """Blocks ``first <= block < end`` (elements ``per_block * block`` onwards)."""
    b = emit.builder
    out, _, _, counter, k0, k1 = arguments
    lanes = BLOCK_LANES
    lane_offsets = ir.Constant(ir.VectorType(I64, lanes), [I64(j) for j in range(lanes)])
    element_type, shift = layout.element_type, I64(layout.log_per_block)

    def vector_blocks(block: Any) -> None:
        numbers = b.add(emit.splat(b.add(counter, block), lanes), lane_offsets)
        values = layout.convert(emit, emit.philox(numbers, (k0, k1), lanes), lanes)
        address = emit.element(out, b.shl(block, shift), element_type)
        b.store(_interleave(emit, values, lanes), address, align=4 * layout.words)

    def one_block(block: Any) -> None:
        values = layout.convert(emit, emit.philox(b.add(counter, block), (k0, k1), 1), 1)
        for position, value in enumerate(values):
            index = b.add(b.shl(block, shift), I64(position))
            b.store(value, emit.element(out, index, element_type))

    rest = emit.loop(first, end, lanes, vector_blocks)
    emit.loop(rest, end, 1, one_block)


def function_name(distribution: str) -> str:
    return FUNCTION_NAME if distribution == "bits" else f"{FUNCTION_NAME}_{distribution}"


def philox_module_ir(distribution: str = "bits") -> str:
    """The LLVM IR text of the fill function of ``distribution`` (module docstring)."""
    layout = _layout(distribution)
    module = ir.Module(name="philox")
    function_type = ir.FunctionType(ir.VoidType(), [POINTER, I64, I64, I64, I32, I32])
    function = ir.Function(module, function_type, function_name(distribution))
    for argument in function.args:
        argument.add_attribute("noundef")
    function.args[0].add_attribute("noalias")
    builder = ir.IRBuilder(function.append_basic_block("entry"))
    emit = _Emitter(builder, function)
    arguments = list(function.args)
    start, stop = arguments[1], arguments[2]
    shift = I64(layout.log_per_block)
    with builder.if_then(builder.icmp_signed("<", start, stop)):
        # whole blocks: ceil(start / per_block) <= block < floor(stop / per_block)
        first = builder.ashr(builder.add(start, I64(layout.per_block - 1)), shift)
        end = builder.ashr(stop, shift)
        with builder.if_else(builder.icmp_signed(">", first, end)) as (within_one, spanning):
            with within_one:
                _emit_partial(emit, layout, arguments, start, stop)
            with spanning:
                _emit_partial(emit, layout, arguments, start, builder.shl(first, shift))
                _emit_whole_blocks(emit, layout, arguments, first, end)
                _emit_partial(emit, layout, arguments, builder.shl(end, shift), stop)
    builder.ret_void()
    return str(module)


# ============================================================================ running it
@functools.cache
def _native(distribution: str = "bits") -> tuple[target.NativeLibrary, Callable[..., None]]:
    library = launch.native_library(
        f"philox4x32_10:{distribution}:lanes={BLOCK_LANES}",
        functools.partial(philox_module_ir, distribution),
    )
    return library, _SIGNATURE(library.address(function_name(distribution)))


def philox_fill(
    out: np.ndarray,
    key: np.ndarray,
    counter: int,
    start: int,
    stop: int,
    distribution: str = "bits",
) -> None:
    """Write flat elements ``start <= i < stop`` of the ``distribution`` draw (key,
    counter) into the C-contiguous array ``out`` (of the distribution's dtype and at least
    ``stop`` elements), on this thread."""
    dtype = np.dtype(DISTRIBUTIONS[distribution].dtype)
    if out.dtype != dtype or not out.flags.c_contiguous or not 0 <= start <= out.size:
        raise ValueError(f"philox_fill: out must be a C-contiguous {dtype} array holding the range")
    if stop > out.size:
        raise ValueError(f"philox_fill: the range ends at {stop}, past {out.size} elements")
    _, fill = _native(distribution)
    fill(out.ctypes.data, start, stop, int(counter) % 2**64, int(key[0]), int(key[1]))


def native_step(node: Node) -> Callable[[list[Any]], list[np.ndarray]] | None:
    """The native computation of a ``PhiloxBits`` node (None for any other node): the
    output allocated, then filled by flat ranges over the kernel threads."""
    if not isinstance(node.op, PhiloxBits):
        return None
    distribution = node.op.distribution
    dtype = np.dtype(DISTRIBUTIONS[distribution].dtype)
    _, fill = _native(distribution)

    def step(arguments: list[Any]) -> list[np.ndarray]:
        key, counter, shape = arguments
        out = np.empty(output_shape(shape), dtype=dtype)
        words = (int(key[0]), int(key[1]))
        pieces = launch.flat_pieces(out.size, launch.thread_count())
        address, first_block = out.ctypes.data, int(counter)
        launch.run_parallel(
            [
                functools.partial(fill, address, low, high, first_block, *words)
                for low, high in pieces
            ]
        )
        return [out]

    return step
