"""How jitgraph's dtypes live in LLVM IR: in registers, in memory, and between dtypes.

- In registers: bool is ``i1``; (u)intN is ``iN`` (signedness is the dtype's, not the
  type's); float32/64 are ``float``/``double``; complex64/128 are the literal structs
  ``{float, float}``/``{double, double}`` (real, imaginary).
- In memory: as NumPy stores them; bool is one byte (0 or 1), complex is two floats.
- ``cast`` converts as NumPy's ``astype`` does: integers wrap (truncate or extend by the
  source's signedness), a float to an integer converts with saturation (NumPy leaves NaN
  and out-of-range values undefined; LLVM's plain conversion would give poison), anything
  to bool is ``!= 0`` (NaN is True), complex to real drops the imaginary part.

>>> import llvmlite.ir as ir
>>> str(llvm_type("complex64")), str(memory_type("bool")), str(llvm_type("uint16"))
('{float, float}', 'i8', 'i16')
"""

from __future__ import annotations

from typing import Any

import llvmlite.ir as ir
import numpy as np

from jitgraph import dtypes

__all__ = [
    "cast",
    "constant",
    "declare",
    "is_complex",
    "is_float",
    "is_signed",
    "llvm_type",
    "load",
    "memory_type",
    "store",
]

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
F16 = ir.HalfType()
F32 = ir.FloatType()
F64 = ir.DoubleType()
POINTER = ir.PointerType()

_FLOATS = {"float16": F16, "float32": F32, "float64": F64}
_COMPLEX_PART = {"complex64": "float32", "complex128": "float64"}


def llvm_type(dtype: str) -> ir.Type:
    """The register type of ``dtype``."""
    if dtype == "bool":
        return I1
    if dtype in _FLOATS:
        return _FLOATS[dtype]
    if dtype in _COMPLEX_PART:
        part = _FLOATS[_COMPLEX_PART[dtype]]
        return ir.LiteralStructType([part, part])
    return ir.IntType(8 * np.dtype(dtype).itemsize)


def memory_type(dtype: str) -> ir.Type:
    """The in-memory type of ``dtype`` (one element of a NumPy array)."""
    return I8 if dtype == "bool" else llvm_type(dtype)


def is_float(dtype: str) -> bool:
    return dtypes.kind(dtype) == "f"


def is_complex(dtype: str) -> bool:
    return dtypes.kind(dtype) == "c"


def is_signed(dtype: str) -> bool:
    return dtypes.kind(dtype) == "i"


def complex_part(dtype: str) -> str:
    """The dtype of each part of a complex dtype (float32 for complex64)."""
    return _COMPLEX_PART[dtype]


def load(builder: ir.IRBuilder, pointer: ir.Value, dtype: str) -> ir.Value:
    """The element at ``pointer`` as a register value."""
    value = builder.load(pointer, typ=memory_type(dtype))
    if dtype == "bool":
        return builder.icmp_unsigned("!=", value, I8(0))
    return value


def store(builder: ir.IRBuilder, value: ir.Value, pointer: ir.Value, dtype: str) -> None:
    """Store a register value of ``dtype`` at ``pointer``."""
    if dtype == "bool":
        value = builder.zext(value, I8)
    builder.store(value, pointer)


def constant(dtype: str, value: Any) -> ir.Constant:
    """``value`` as an LLVM constant of ``dtype`` (exact: NaN payloads and -0.0 kept)."""
    item = np.asarray(value, dtype=dtype).reshape(())
    if dtype == "bool":
        return I1(int(bool(item)))
    if dtypes.kind(dtype) in "iu":
        bits = 8 * item.dtype.itemsize
        return ir.IntType(bits)(int(item) & ((1 << bits) - 1))
    if dtype in _FLOATS:
        return _float_constant(dtype, item)
    part = _COMPLEX_PART[dtype]
    return ir.Constant(
        llvm_type(dtype),
        [
            _float_constant(part, np.asarray(item.real)),
            _float_constant(part, np.asarray(item.imag)),
        ],
    )


def _float_constant(dtype: str, item: np.ndarray) -> ir.Constant:
    # LLVM's textual float constants are the double's bit pattern in hex, also for float:
    # the float is widened to double exactly, so every value (NaN, -0.0, subnormals) survives.
    wide = np.asarray(item, dtype=dtype).astype(np.float64)
    bits = int(wide.view(np.uint64))
    constant_value = ir.Constant(_FLOATS[dtype], 0.0)
    constant_value.get_reference = lambda: f"0x{bits:016X}"
    constant_value._to_string = lambda: f"{_FLOATS[dtype]} 0x{bits:016X}"
    return constant_value


def declare(module: ir.Module, name: str, function_type: ir.FunctionType) -> ir.Function:
    """The function ``name`` of ``module``, declared with ``function_type`` if it is not
    there yet (intrinsics, libm, math library functions)."""
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    return ir.Function(module, function_type, name)


# ============================================================================ casts
def cast(builder: ir.IRBuilder, value: ir.Value, source: str, target: str) -> ir.Value:
    """``value`` of dtype ``source`` converted to ``target`` as NumPy's ``astype``."""
    if source == target:
        return value
    if is_complex(source):
        if is_complex(target):
            part = complex_part(target)
            real = cast(builder, builder.extract_value(value, 0), complex_part(source), part)
            imag = cast(builder, builder.extract_value(value, 1), complex_part(source), part)
            return make_complex(builder, real, imag, target)
        if target == "bool":
            real = builder.extract_value(value, 0)
            imag = builder.extract_value(value, 1)
            zero = ir.Constant(real.type, 0.0)
            return builder.or_(
                builder.fcmp_unordered("!=", real, zero), builder.fcmp_unordered("!=", imag, zero)
            )
        return cast(builder, builder.extract_value(value, 0), complex_part(source), target)
    if is_complex(target):
        part = complex_part(target)
        real = cast(builder, value, source, part)
        return make_complex(builder, real, ir.Constant(real.type, 0.0), target)
    if target == "bool":
        return _to_bool(builder, value, source)
    if source == "bool":
        if is_float(target):
            return builder.uitofp(value, llvm_type(target))
        return builder.zext(value, llvm_type(target))
    if is_float(source):
        return _from_float(builder, value, source, target)
    return _from_integer(builder, value, source, target)


def make_complex(builder: ir.IRBuilder, real: ir.Value, imag: ir.Value, dtype: str) -> ir.Value:
    """The complex register value ``real + imag*1j`` of ``dtype``."""
    undefined = ir.Constant(llvm_type(dtype), ir.Undefined)
    return builder.insert_value(builder.insert_value(undefined, real, 0), imag, 1)


def _to_bool(builder: ir.IRBuilder, value: ir.Value, source: str) -> ir.Value:
    if is_float(source):
        return builder.fcmp_unordered("!=", value, ir.Constant(value.type, 0.0))
    return builder.icmp_unsigned("!=", value, ir.Constant(value.type, 0))


def _from_float(builder: ir.IRBuilder, value: ir.Value, source: str, target: str) -> ir.Value:
    if is_float(target):
        wider = np.dtype(target).itemsize > np.dtype(source).itemsize
        return (builder.fpext if wider else builder.fptrunc)(value, llvm_type(target))
    # NumPy leaves NaN and out-of-range conversions to the C compiler and the CPU; these are
    # the results its x86-64 loops give (checked value by value against NumPy 2): narrow
    # targets convert through int32 and keep the low bits, int32/int64 give INT_MIN, and
    # unsigned 32/64-bit convert in two halves around 2**(bits-1).
    if source == "float16":  # every float16 is exact in float32, which has the range below
        wide = builder.fpext(value, F32)
        if target == "uint32":  # NumPy's scalar half loop: through int64, low 32 bits
            return builder.trunc(_x86_convert(builder, wide, 64), I32)
        return _from_float(builder, wide, "float32", target)
    target_type = llvm_type(target)
    bits = target_type.width
    if bits <= 16:
        return builder.trunc(_x86_convert(builder, value, 32), target_type)
    if is_signed(target):
        return _x86_convert(builder, value, bits)
    half = ir.Constant(value.type, float(2 ** (bits - 1)))
    low = _x86_convert(builder, value, bits)
    high = builder.xor(
        _x86_convert(builder, builder.fsub(value, half), bits),
        ir.IntType(bits)(1 << (bits - 1)),
    )
    return builder.select(builder.fcmp_unordered("<", value, half), low, high)


def _x86_convert(builder: ir.IRBuilder, value: ir.Value, bits: int) -> ir.Value:
    """Truncating float -> signed ``bits`` integer, INT_MIN for NaN and out-of-range
    values (what x86's cvtt* instructions give; LLVM's plain conversion is poison there,
    which the select below never picks)."""
    limit = float(2 ** (bits - 1))
    in_range = builder.and_(
        builder.fcmp_ordered(">=", value, ir.Constant(value.type, -limit)),
        builder.fcmp_ordered("<", value, ir.Constant(value.type, limit)),
    )
    integer_type = ir.IntType(bits)
    converted = builder.fptosi(value, integer_type)
    return builder.select(in_range, converted, integer_type(1 << (bits - 1)))


def _from_integer(builder: ir.IRBuilder, value: ir.Value, source: str, target: str) -> ir.Value:
    target_type = llvm_type(target)
    if is_float(target):
        return (builder.sitofp if is_signed(source) else builder.uitofp)(value, target_type)
    source_bits, target_bits = value.type.width, target_type.width
    if target_bits < source_bits:
        return builder.trunc(value, target_type)
    if target_bits > source_bits:
        return (builder.sext if is_signed(source) else builder.zext)(value, target_type)
    return value  # same width, other signedness: the same bits
