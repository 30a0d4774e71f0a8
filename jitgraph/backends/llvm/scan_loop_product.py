"""Small matrix products in scan's native loop, as code of the loop's own.

A BLAS call costs about as much as a few thousand multiply-adds of a small product (its
argument checks, its buffer handling), which is what a recurrent step of a small network
does. ``emit_inline_product`` emits ``out (+)= alpha * a @ b`` for float32/float64 with
every size and stride read at run time:

- the product runs along an *inner* axis (m or n, as the layout says: the one where the
  operand and ``out`` have unit strides), once per index of the other axis; along it,
  blocks of eight SIMD vectors (then four, two, one) accumulate in registers over the whole
  contraction (``acc = fma(factor_p, row_p, acc)``, one vector load per row), then are
  stored; eight independent accumulators keep both FMA units busy;
- the elements past the last full vector, and layouts without unit strides, take a
  scalar loop of the same arithmetic.

Every element is ``init`` (0, or ``out`` when accumulating) updated by ``acc = fma(f_p,
r_p, acc)`` for p = 0, 1, ..., k - 1 in that order, with ``f_p * r_p`` = ``(alpha *
a[i, p]) * b[p, j]`` or ``a[i, p] * (alpha * b[p, j])``: one rounding per term (as BLAS
does), the same in the vector and the scalar paths.
"""

from __future__ import annotations

from typing import Any

import llvmlite.ir as ir
import numpy as np

from jitgraph.backends.llvm import scalar, types
from jitgraph.backends.llvm.codegen_reduce import counted_loop
from jitgraph.backends.llvm.types import I8, I64
from jitgraph.ops.scalar import SCALAR_OPS

__all__ = ["emit_inline_product"]

_VECTOR_BYTES = 64  # one AVX-512 register; LLVM splits it where the CPU has less
# Vectors per block, largest first: eight accumulators cover the FMAs' latency times
# their throughput; what is left of a row takes smaller blocks, then single elements.
_BLOCKS = (8, 4, 2, 1)


def emit_inline_product(
    emitter: Any,
    dtype: str,
    pointers: tuple[ir.Value, ir.Value, ir.Value],
    fields: list[ir.Value],
    alpha: ir.Value | None,
    accumulate: bool,
) -> None:
    """``out (+)= alpha * a @ b`` (module docstring); ``fields``: m, n, k, the byte
    strides of a (m, k), b (k, n), out (m, n) and the inner-axis flag (nonzero: m)."""
    builder = emitter.builder
    a, b, out = pointers
    m, n, k, a_row, a_column, b_row, b_column, out_row, out_column, rows_inner = fields
    along_m = builder.icmp_signed("!=", rows_inner, I64(0))
    with builder.if_else(along_m) as (inner_m, inner_n):
        with inner_m:  # out[:, j] (+)= sum_p a[:, p] * (alpha * b[p, j])
            axes = _Axes(n, m, k, out_column, out_row, b_column, b_row, a_row, a_column)
            _Product(emitter, dtype, alpha, accumulate, axes).emit(out, b, a)
        with inner_n:  # out[i, :] (+)= sum_p (alpha * a[i, p]) * b[p, :]
            axes = _Axes(m, n, k, out_row, out_column, a_row, a_column, b_column, b_row)
            _Product(emitter, dtype, alpha, accumulate, axes).emit(out, a, b)


class _Axes:
    """The product seen along its inner axis: ``outer`` indices, each an ``inner``-long
    run of out (strides ``out_outer``, ``out_inner``); the factor of term p is
    ``factors[o, p]`` (strides ``factor_outer``, ``factor_p``), its row ``rows[p, e]``
    (strides ``row_inner``, ``row_p``)."""

    def __init__(self, *values: ir.Value) -> None:
        (
            self.outer,
            self.inner,
            self.k,
            self.out_outer,
            self.out_inner,
            self.factor_outer,
            self.factor_p,
            self.row_inner,
            self.row_p,
        ) = values


class _Product:
    def __init__(
        self, emitter: Any, dtype: str, alpha: ir.Value | None, accumulate: bool, axes: _Axes
    ) -> None:
        self.emitter, self.builder, self.dtype = emitter, emitter.builder, dtype
        self.alpha, self.accumulate, self.axes = alpha, accumulate, axes
        self.item = np.dtype(dtype).itemsize
        self.lanes = _VECTOR_BYTES // self.item
        self.element = types.llvm_type(dtype)
        self.vector = ir.VectorType(self.element, self.lanes)

    def emit(self, out: ir.Value, factors: ir.Value, rows: ir.Value) -> None:
        builder, axes, item = self.builder, self.axes, I64(self.item)
        unit = builder.and_(
            builder.icmp_signed("==", axes.out_inner, item),
            builder.icmp_signed("==", axes.row_inner, item),
        )
        stops = [
            builder.select(unit, _round_down(builder, axes.inner, self.lanes * count), I64(0))
            for count in _BLOCKS
        ]
        with counted_loop(builder, I64(0), axes.outer, "outer") as o:
            target = _advance(builder, out, o, axes.out_outer)
            factor_row = _advance(builder, factors, o, axes.factor_outer)
            start = I64(0)
            for count, stop in zip(_BLOCKS, stops, strict=True):
                with counted_loop(builder, start, stop, "block", step=self.lanes * count) as e:
                    block = _advance(builder, target, e, item)
                    self._block(count, block, factor_row, _advance(builder, rows, e, item))
                start = stop
            with counted_loop(builder, start, axes.inner, "element") as e:
                element = _advance(builder, target, e, axes.out_inner)
                self._element(element, factor_row, _advance(builder, rows, e, axes.row_inner))

    def _factor(self, factor_row: ir.Value, p: ir.Value) -> ir.Value:
        value = types.load(
            self.builder, _advance(self.builder, factor_row, p, self.axes.factor_p), self.dtype
        )
        if self.alpha is None:
            return value
        return _binary(self.builder, "multiply", self.alpha, value, self.dtype)

    def _block(self, count: int, target: ir.Value, factor_row: ir.Value, rows: ir.Value) -> None:
        """``count`` vectors of out accumulated in registers over p, then stored."""
        builder, head = self.builder, self.emitter.head
        slots = [head.alloca(self.vector, name="accumulator") for _ in range(count)]
        offsets = [I64(v * _VECTOR_BYTES) for v in range(count)]
        addresses = [builder.gep(target, [offset], source_etype=I8) for offset in offsets]
        for slot, address in zip(slots, addresses, strict=True):
            start = self._load(address) if self.accumulate else ir.Constant(self.vector, None)
            builder.store(start, slot)
        with counted_loop(builder, I64(0), self.axes.k, "terms") as p:
            factor = self._splat(self._factor(factor_row, p))
            row = _advance(builder, rows, p, self.axes.row_p)
            for slot, offset in zip(slots, offsets, strict=True):
                values = self._load(builder.gep(row, [offset], source_etype=I8))
                held = builder.load(slot, typ=self.vector)
                builder.store(self._fma(factor, values, held, self.vector), slot)
        for slot, address in zip(slots, addresses, strict=True):
            builder.store(builder.load(slot, typ=self.vector), address, align=self.item)

    def _element(self, target: ir.Value, factor_row: ir.Value, rows: ir.Value) -> None:
        builder, head = self.builder, self.emitter.head
        slot = head.alloca(self.element, name="accumulator")
        zero = types.constant(self.dtype, 0)
        builder.store(types.load(builder, target, self.dtype) if self.accumulate else zero, slot)
        with counted_loop(builder, I64(0), self.axes.k, "terms") as p:
            factor = self._factor(factor_row, p)
            value = types.load(builder, _advance(builder, rows, p, self.axes.row_p), self.dtype)
            held = builder.load(slot, typ=self.element)
            builder.store(self._fma(factor, value, held, self.element), slot)
        types.store(builder, builder.load(slot, typ=self.element), target, self.dtype)

    def _fma(self, left: ir.Value, right: ir.Value, addend: ir.Value, typ: ir.Type) -> ir.Value:
        """``left * right + addend`` rounded once (``llvm.fma``)."""
        name = f"llvm.fma.{_intrinsic_suffix(typ)}"
        function = types.declare(self.builder.module, name, ir.FunctionType(typ, [typ] * 3))
        return self.builder.call(function, [left, right, addend])

    def _load(self, address: ir.Value) -> ir.Value:
        return self.builder.load(address, typ=self.vector, align=self.item)

    def _splat(self, value: ir.Value) -> ir.Value:
        builder = self.builder
        undefined = ir.Constant(self.vector, ir.Undefined)
        single = builder.insert_element(undefined, value, I64(0))
        mask = ir.Constant(ir.VectorType(ir.IntType(32), self.lanes), [0] * self.lanes)
        return builder.shuffle_vector(single, undefined, mask)


def _advance(
    builder: ir.IRBuilder, pointer: ir.Value, index: ir.Value, stride: ir.Value
) -> ir.Value:
    return builder.gep(pointer, [builder.mul(index, stride)], source_etype=I8)


def _binary(builder: ir.IRBuilder, name: str, left: Any, right: Any, dtype: str) -> ir.Value:
    return scalar.lower_instruction(builder, SCALAR_OPS[name], [left, right], (dtype, dtype), dtype)


def _intrinsic_suffix(typ: ir.Type) -> str:
    if isinstance(typ, ir.VectorType):
        return f"v{typ.count}{_intrinsic_suffix(typ.element)}"
    return "f64" if isinstance(typ, ir.DoubleType) else "f32"


def _round_down(builder: ir.IRBuilder, value: ir.Value, multiple: int) -> ir.Value:
    return builder.mul(builder.sdiv(value, I64(multiple)), I64(multiple))
