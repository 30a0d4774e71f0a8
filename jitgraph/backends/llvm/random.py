"""Native Philox4x32-10 bits for ``PhiloxBits`` nodes (jitgraph.ops.random).

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
import functools
from collections.abc import Callable
from typing import Any

import llvmlite.ir as ir
import numpy as np

from jitgraph.backends.llvm import launch, target
from jitgraph.backends.llvm.types import I32, I64, POINTER
from jitgraph.ir.graph import Node
from jitgraph.ops.random import (
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
        counter (lo32, hi32, 0, 0)."""
        b = self.builder
        word_type = I32 if lanes == 1 else ir.VectorType(I32, lanes)
        wide_type = I64 if lanes == 1 else ir.VectorType(I64, lanes)
        shift = self.constant(I64, 32, lanes)
        words = [
            b.trunc(block_number, word_type),
            b.trunc(b.lshr(block_number, shift), word_type),
            self.constant(I32, 0, lanes),
            self.constant(I32, 0, lanes),
        ]
        k0, k1 = key
        for round_index in range(ROUNDS):
            if round_index:  # the key is bumped between rounds, as in Random123
                k0 = b.add(k0, I32(PHILOX_W0))
                k1 = b.add(k1, I32(PHILOX_W1))
            product0 = b.mul(b.zext(words[0], wide_type), self.constant(I64, PHILOX_M0, lanes))
            product1 = b.mul(b.zext(words[2], wide_type), self.constant(I64, PHILOX_M1, lanes))
            high0 = b.trunc(b.lshr(product0, shift), word_type)
            high1 = b.trunc(b.lshr(product1, shift), word_type)
            words = [
                b.xor(b.xor(high1, words[1]), self.splat(k0, lanes)),
                b.trunc(product1, word_type),
                b.xor(b.xor(high0, words[3]), self.splat(k1, lanes)),
                b.trunc(product0, word_type),
            ]
        return words

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


def _emit_partial(emit: _Emitter, arguments: list[Any], low: Any, high: Any) -> None:
    """Elements ``low <= i < high`` (within one block; none if low >= high)."""
    b = emit.builder
    out, _, _, counter, k0, k1 = arguments
    with b.if_then(b.icmp_signed("<", low, high)):
        block_number = b.add(counter, b.ashr(low, I64(2)))
        words = emit.philox(block_number, (k0, k1), 1)
        with b.goto_entry_block():  # an entry-block slot: promoted to registers
            scratch = b.alloca(I32, size=4)
        for position, word in enumerate(words):
            b.store(word, emit.element(scratch, I64(position), I32))

        def copy_word(index: Any) -> None:
            word = b.load(emit.element(scratch, b.and_(index, I64(3)), I32), typ=I32)
            b.store(word, emit.element(out, index, I32))

        emit.loop(low, high, 1, copy_word)


def _emit_whole_blocks(emit: _Emitter, arguments: list[Any], first: Any, end: Any) -> None:
    """Blocks ``first <= block < end`` (elements 4 * block ... 4 * block + 3)."""
    b = emit.builder
    out, _, _, counter, k0, k1 = arguments
    lanes = BLOCK_LANES
    lane_offsets = ir.Constant(ir.VectorType(I64, lanes), [I64(j) for j in range(lanes)])
    pairs = ir.Constant(ir.VectorType(I32, 2 * lanes), [I32(j) for j in range(2 * lanes)])
    # In (w0 w1 w2 w3) concatenated, word k of lane j is at k * lanes + j; memory order
    # puts it at 4 j + k.
    interleave = ir.Constant(
        ir.VectorType(I32, 4 * lanes),
        [I32(k * lanes + j) for j in range(lanes) for k in range(4)],
    )

    def vector_blocks(block: Any) -> None:
        numbers = b.add(emit.splat(b.add(counter, block), lanes), lane_offsets)
        w0, w1, w2, w3 = emit.philox(numbers, (k0, k1), lanes)
        low_pair = b.shuffle_vector(w0, w1, pairs)
        high_pair = b.shuffle_vector(w2, w3, pairs)
        words = b.shuffle_vector(low_pair, high_pair, interleave)
        address = emit.element(out, b.shl(block, I64(2)), I32)
        b.store(words, address, align=4)

    def one_block(block: Any) -> None:
        words = emit.philox(b.add(counter, block), (k0, k1), 1)
        for position, word in enumerate(words):
            index = b.add(b.shl(block, I64(2)), I64(position))
            b.store(word, emit.element(out, index, I32))

    rest = emit.loop(first, end, lanes, vector_blocks)
    emit.loop(rest, end, 1, one_block)


def philox_module_ir() -> str:
    """The LLVM IR text of ``jg_philox4x32_10`` (module docstring)."""
    module = ir.Module(name="philox")
    function_type = ir.FunctionType(ir.VoidType(), [POINTER, I64, I64, I64, I32, I32])
    function = ir.Function(module, function_type, FUNCTION_NAME)
    for argument in function.args:
        argument.add_attribute("noundef")
    function.args[0].add_attribute("noalias")
    builder = ir.IRBuilder(function.append_basic_block("entry"))
    emit = _Emitter(builder, function)
    arguments = list(function.args)
    start, stop = arguments[1], arguments[2]
    with builder.if_then(builder.icmp_signed("<", start, stop)):
        # whole blocks: ceil(start / 4) <= block < floor(stop / 4)
        first = builder.ashr(builder.add(start, I64(3)), I64(2))
        end = builder.ashr(stop, I64(2))
        with builder.if_else(builder.icmp_signed(">", first, end)) as (within_one, spanning):
            with within_one:
                _emit_partial(emit, arguments, start, stop)
            with spanning:
                head_end = builder.shl(first, I64(2))
                _emit_partial(emit, arguments, start, head_end)
                _emit_whole_blocks(emit, arguments, first, end)
                _emit_partial(emit, arguments, builder.shl(end, I64(2)), stop)
    builder.ret_void()
    return str(module)


# ============================================================================ running it
@functools.cache
def _native() -> tuple[target.NativeLibrary, Callable[..., None]]:
    library = launch.native_library(f"philox4x32_10:lanes={BLOCK_LANES}", philox_module_ir)
    return library, _SIGNATURE(library.address(FUNCTION_NAME))


def philox_fill(out: np.ndarray, key: np.ndarray, counter: int, start: int, stop: int) -> None:
    """Write flat elements ``start <= i < stop`` of the stream (key, counter) into the
    C-contiguous uint32 array ``out`` (of at least ``stop`` elements), on this thread."""
    if out.dtype != np.uint32 or not out.flags.c_contiguous or not 0 <= start <= out.size:
        raise ValueError("philox_fill: out must be a C-contiguous uint32 array holding the range")
    if stop > out.size:
        raise ValueError(f"philox_fill: the range ends at {stop}, past {out.size} elements")
    _, fill = _native()
    fill(out.ctypes.data, start, stop, int(counter) % 2**64, int(key[0]), int(key[1]))


def native_step(node: Node) -> Callable[[list[Any]], list[np.ndarray]] | None:
    """The native computation of a ``PhiloxBits`` node (None for any other node): the
    output allocated, then filled by flat ranges over the kernel threads."""
    if not isinstance(node.op, PhiloxBits):
        return None
    _, fill = _native()

    def step(arguments: list[Any]) -> list[np.ndarray]:
        key, counter, shape = arguments
        out = np.empty(output_shape(shape), dtype=np.uint32)
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
