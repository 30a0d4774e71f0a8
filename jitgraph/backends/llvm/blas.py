"""Matrix products for the LLVM backend: BLAS through SciPy, integer products as native code.

``native_step(node)`` gives, for a ``Dot``, ``Matmul``, ``Gemm``, ``Gemv`` or ``Ger`` node,
a function from the node's input arrays to its output arrays that computes what
``node.op.perform`` computes (same dtypes and shapes, fresh NumPy-allocated outputs that
never alias an input, the reference's errors), or ``None`` where it has nothing better
than the reference (float16, object dtypes, ``Dot`` of a >2-d second operand).

- float32/float64/complex64/complex128 go to the BLAS of ``scipy.linalg.cython_blas``:
  gemm, gemv (also for dot products: a 1 x k matrix times a vector) and ger/geru. C- and
  F-ordered operands, transposed views and row/column slices are passed as they are, with
  BLAS's transpose flags and leading dimensions; only layouts BLAS cannot describe
  (negative, zero or non-unit inner strides) are copied first.
- bool and (un)signed integer products run a loop generated as LLVM IR, one compiled
  function per dtype (``jg_integer_product_<dtype>``), with NumPy's wrap-around (and, for
  bool, logical or of ands).
- Matmul's batch dims (broadcast ones included) loop in native code along the innermost
  batch axis and in Python along the others.

The per-call path is short: each BLAS routine is called through a small generated
function (``jg_call_<routine>``) taking two ctypes arguments, a tuple of the arrays (whose
data pointers it reads natively: ``array.ctypes.data`` costs about a microsecond per
array in Python) and a ``bytes`` block of packed integers (ctypes charges about 0.2 us per
argument). The decisions that depend only on the operands' shapes and strides (copies,
transpose flags, leading dimensions, the packed block) are made once per combination and
cached with the step (``_Plan``). The offsets of an ndarray's data pointer and of a
tuple's items are checked against ctypes at first use; where they do not hold (another
Python or NumPy build), ``native_step`` returns None everywhere. ctypes releases the GIL
during each call.

>>> import numpy as np, jitgraph.tensor as T
>>> a, b = T.dmatrices("a", "b")
>>> step = native_step(T.dot(a, b).owner)
>>> x = np.arange(6.0).reshape(2, 3)
>>> bool(np.allclose(step([x, x.T])[0], x @ x.T))
True
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import math
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import llvmlite.ir as ir
import numpy as np

from jitgraph.backends.llvm import target, types
from jitgraph.backends.llvm.codegen_reduce import counted_loop
from jitgraph.backends.llvm.launch import ARRAY_DATA, TUPLE_ITEMS, direct_entry_supported
from jitgraph.backends.llvm.types import I1, I8, I32, I64, POINTER
from jitgraph.ir.graph import Const, Node
from jitgraph.ops.blas import BLAS_DTYPES, Gemm, Gemv, Ger, ScaledProduct
from jitgraph.ops.linalg import Dot, Matmul

__all__ = ["Step", "native_step"]

Step = Callable[[Sequence[np.ndarray]], list[np.ndarray]]

_INT32_MAX = 2**31 - 1
_PREFIX = {"float32": "s", "float64": "d", "complex64": "c", "complex128": "z"}
_INTEGER_DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
)

# The Fortran arguments of each routine, in order: "char"/"int" are passed through a
# pointer to a local copy of an integer argument; "first", "second", "out" are array data,
# "alpha"/"beta" the data of 0-d arrays.
_ARGUMENTS = {
    "gemm": tuple("char char int int int alpha first int second int beta out int".split()),
    "gemv": tuple("char int int alpha first int second int beta out int".split()),
    "ger": tuple("int int alpha first int second int out int".split()),
}


def _routine(kind: str, dtype: str) -> str:
    """The BLAS routine name: dgemm, cgemv, zgeru (the unconjugated complex ger)."""
    suffix = "geru" if kind == "ger" and dtype.startswith("complex") else kind
    return _PREFIX[dtype] + suffix


# ============================================================================ native code
# Every generated function has the signature ``i32 (ptr arrays, ptr integers)``: ``arrays``
# is a Python tuple of ndarrays (passed as ``py_object``), ``integers`` a packed block of
# int64 (a ``bytes`` object, passed as ``c_char_p``). Two arguments keep the ctypes call
# cheap (about 0.2 us per argument). The block starts with the batch header: the byte
# offsets of the first three arrays, the batch count, and the byte step of each of them
# from one batch entry to the next; the function's own integers follow.
_BATCH_HEADER = 7


def _unpack_arguments(
    builder: ir.IRBuilder, function: ir.Function, n_arrays: int, n_integers: int
) -> tuple[list[ir.Value], list[ir.Value]]:
    """The data pointers of the tuple's arrays and the values of the integer block."""
    assert direct_entry_supported()
    arrays, block = function.args
    data = []
    for position in range(n_arrays):
        where = builder.gep(arrays, [I64(TUPLE_ITEMS + 8 * position)], source_etype=I8)
        array = builder.load(where, typ=POINTER)
        field = builder.gep(array, [I64(ARRAY_DATA)], source_etype=I8)
        data.append(builder.load(field, typ=POINTER))
    integers = [
        builder.load(builder.gep(block, [I64(i)], source_etype=I64), typ=I64, align=1)
        for i in range(n_integers)
    ]
    return data, integers


def _pack(values: Sequence[int]) -> bytes:
    return struct.pack(f"={len(values)}q", *values)


def _loop(builder: ir.IRBuilder, count: ir.Value, name: str) -> Any:
    """``for index in range(count)``: the body is emitted inside the ``with`` block."""
    return counted_loop(builder, I64(0), count, name)


@contextlib.contextmanager
def _batch_loop(
    builder: ir.IRBuilder, data: Sequence[ir.Value], header: Sequence[ir.Value]
) -> Iterator[list[ir.Value]]:
    """The loop over batch entries; yields the first three arrays' pointers for one."""
    offsets, count, steps = header[:3], header[3], header[4:7]
    bases = [builder.gep(p, [o], source_etype=I8) for p, o in zip(data, offsets, strict=False)]
    with _loop(builder, count, "batch") as index:
        yield [
            builder.gep(base, [builder.mul(index, step)], source_etype=I8)
            for base, step in zip(bases, steps, strict=True)
        ]


_SIGNATURE = ir.FunctionType(I32, [POINTER, POINTER])


def _define_blas_call(module: ir.Module, routine: str, arguments: Sequence[str]) -> None:
    """``i32 jg_call_<routine>(arrays, integers)``: arrays (first, second, out, alpha,
    beta); integers: the batch header, then the routine's integer arguments in order.
    Calls the routine once per batch entry; returns 1 without calling it when an integer
    argument does not fit BLAS's 32-bit ints, else 0."""
    n_integers = sum(kind in ("char", "int") for kind in arguments)
    function = ir.Function(module, _SIGNATURE, f"jg_call_{routine}")
    blas_type = ir.FunctionType(ir.VoidType(), [POINTER] * len(arguments))
    blas = types.declare(module, f"jg_blas_{routine}", blas_type)
    builder = ir.IRBuilder(function.append_basic_block("entry"))
    data, integers = _unpack_arguments(builder, function, 5, _BATCH_HEADER + n_integers)
    too_large = I1(0)
    slots: dict[int, ir.Value] = {}
    routine_integers = iter(integers[_BATCH_HEADER:])
    for position, kind in enumerate(arguments):
        if kind in ("char", "int"):
            value = next(routine_integers)
            too_large = builder.or_(too_large, builder.icmp_unsigned(">", value, I64(_INT32_MAX)))
            width = I8 if kind == "char" else I32
            slots[position] = builder.alloca(width)
            builder.store(builder.trunc(value, width), slots[position])
    with builder.if_then(too_large):
        builder.ret(I32(1))
    with _batch_loop(builder, data, integers) as (first, second, out):
        pointers = {"first": first, "second": second, "out": out, "alpha": data[3], "beta": data[4]}
        call_arguments = [slots[i] if i in slots else pointers[k] for i, k in enumerate(arguments)]
        builder.call(blas, call_arguments)
    builder.ret(I32(0))


NativeCall = Callable[[tuple[np.ndarray, ...], bytes], int]


def _load(module: ir.Module, names: Sequence[str]) -> dict[str, NativeCall]:
    """Compile ``module`` and wrap its functions ``names`` for ctypes (the functions keep
    the library, and so the code, alive)."""
    library = target.load_object(target.compile_ir(str(module)))
    prototype = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.py_object, ctypes.c_char_p)
    functions: dict[str, NativeCall] = {}
    for name in names:
        call = prototype(library.address(name))
        call._library = library  # type: ignore[attr-defined]
        functions[name] = call
    return functions


@functools.cache
def _blas_functions() -> dict[str, NativeCall]:
    """``jg_call_<routine>`` of every routine and dtype, keyed by routine name."""
    import scipy.linalg.cython_blas as cython_blas

    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    module = ir.Module("jitgraph_blas")
    routines = [(_routine(kind, d), kind) for kind in _ARGUMENTS for d in sorted(BLAS_DTYPES)]
    for routine, kind in routines:
        capsule = cython_blas.__pyx_capi__[routine]
        target.register_symbol(f"jg_blas_{routine}", int(get_pointer(capsule, get_name(capsule))))
        _define_blas_call(module, routine, _ARGUMENTS[kind])
    functions = _load(module, [f"jg_call_{routine}" for routine, _ in routines])
    return {routine: functions[f"jg_call_{routine}"] for routine, _ in routines}


def _define_integer_product(module: ir.Module, dtype: str) -> str:
    """``i32 jg_integer_product_<dtype>(arrays, integers)``: arrays (a, b, out);
    integers: the batch header, then m, n, k, a's row and column strides and b's row
    stride (bytes). ``out[t] = a[t] @ b[t]`` for each batch entry, b's rows contiguous,
    out C-contiguous; products and sums wrap in the dtype (bool: or of ands). The inner
    loop runs along rows of b and out, so LLVM vectorizes it. Returns 0."""
    name = f"jg_integer_product_{dtype}"
    function = ir.Function(module, _SIGNATURE, name)
    builder = ir.IRBuilder(function.append_basic_block("entry"))
    data, integers = _unpack_arguments(builder, function, 3, _BATCH_HEADER + 6)
    m, n, k, a_row_stride, a_column_stride, b_row_stride = integers[_BATCH_HEADER:]
    row_bytes = builder.mul(n, I64(np.dtype(dtype).itemsize))
    memset_type = ir.FunctionType(ir.VoidType(), [POINTER, I8, I64, I1])
    memset = types.declare(module, "llvm.memset.p0.i64", memset_type)
    with _batch_loop(builder, data, integers) as (a, b, out):
        with _loop(builder, m, "row") as row:
            out_row = builder.gep(out, [builder.mul(row, row_bytes)], source_etype=I8)
            builder.call(memset, [out_row, I8(0), row_bytes, I1(0)])
            a_row = builder.gep(a, [builder.mul(row, a_row_stride)], source_etype=I8)
            with _loop(builder, k, "inner") as inner:
                where = builder.gep(a_row, [builder.mul(inner, a_column_stride)], source_etype=I8)
                factor = types.load(builder, where, dtype)
                zero = factor.type(0)
                nonzero = builder.icmp_unsigned("!=", factor, zero)
                with builder.if_then(nonzero):  # adding a zero product changes nothing
                    b_row = builder.gep(b, [builder.mul(inner, b_row_stride)], source_etype=I8)
                    _accumulate_row(builder, dtype, factor, b_row, out_row, n)
    builder.ret(I32(0))
    return name


def _accumulate_row(
    builder: ir.IRBuilder,
    dtype: str,
    factor: ir.Value,
    b_row: ir.Value,
    out_row: ir.Value,
    n: ir.Value,
) -> None:
    """``out_row[j] += factor * b_row[j]`` for j < n (bool, factor true: ``|= b_row[j]``)."""
    element = types.memory_type(dtype)
    with _loop(builder, n, "column") as column:
        b_where = builder.gep(b_row, [column], source_etype=element)
        out_where = builder.gep(out_row, [column], source_etype=element)
        value = builder.load(b_where, typ=element)
        total = builder.load(out_where, typ=element)
        if dtype == "bool":  # any nonzero byte is True, as NumPy reads bools
            nonzero = builder.icmp_unsigned("!=", value, I8(0))
            total = builder.or_(total, builder.zext(nonzero, I8))
        else:
            total = builder.add(total, builder.mul(factor, value))
        builder.store(total, out_where)


_integer_products: dict[str, NativeCall] = {}
_integer_lock = threading.Lock()


def _integer_function(dtype: str) -> NativeCall:
    """The compiled integer product of ``dtype`` (compiled on first use, then cached)."""
    function = _integer_products.get(dtype)
    if function is None:
        with _integer_lock:
            if dtype not in _integer_products:
                module = ir.Module(f"jitgraph_integer_product_{dtype}")
                name = _define_integer_product(module, dtype)
                _integer_products[dtype] = _load(module, [name])[name]
            function = _integer_products[dtype]
    return function


# ============================================================================ layouts
_TRANSPOSE = {False: ord("N"), True: ord("T")}


def _matrix_layout(
    rows: int, columns: int, row_stride: int, column_stride: int, itemsize: int
) -> tuple[bool, int] | None:
    """How column-major BLAS can read a rows x columns matrix with these byte strides:
    (row_major, leading dimension in elements), or None (it must be copied). A row-major
    matrix is, to BLAS, its transpose with the row stride as leading dimension. Strides
    along dims of size 1 are never used, so they may be anything."""
    if row_stride % itemsize or column_stride % itemsize:
        return None
    row_step, column_step = row_stride // itemsize, column_stride // itemsize
    column_major = (rows <= 1 or row_step == 1) and (columns <= 1 or column_step >= rows)
    if column_major and columns == 1:  # a single column: BLAS's vector case, kept as is
        return False, max(1, rows)
    if (columns <= 1 or column_step == 1) and (rows <= 1 or row_step >= max(1, columns)):
        return True, row_step if rows > 1 else max(1, columns)
    if column_major:
        return False, column_step if columns > 1 else max(1, rows)
    return None


def _blas_matrix(x: np.ndarray) -> tuple[np.ndarray, bool, int]:
    """``x`` (..., rows, columns), copied to C order if BLAS cannot describe its last two
    axes, with its layout (row_major, leading dimension)."""
    rows, columns = x.shape[-2:]
    row_stride, column_stride = x.strides[-2:]
    itemsize = x.itemsize
    # The common case first: rows of at least 2 elements, contiguous, one after another.
    if column_stride == itemsize and columns > 1 and row_stride >= columns * itemsize:
        if not row_stride % itemsize:
            return x, True, row_stride // itemsize
    layout = _matrix_layout(rows, columns, row_stride, column_stride, itemsize)
    if layout is None:
        x = np.ascontiguousarray(x)
        row_stride, column_stride = x.strides[-2:]
        layout = _matrix_layout(rows, columns, row_stride, column_stride, itemsize)
        assert layout is not None
    return x, layout[0], layout[1]


def _blas_vector(x: np.ndarray, axis: int) -> tuple[np.ndarray, int]:
    """``x``, copied if its ``axis`` is not a BLAS vector (zero, negative or unaligned
    stride), and the increment in elements along that axis."""
    length, stride = x.shape[axis], x.strides[axis]
    if length <= 1:
        return x, 1
    if stride <= 0 or stride % x.itemsize:
        x = np.ascontiguousarray(x)
        stride = x.strides[axis]
    return x, stride // x.itemsize


def _batch_strides(x: np.ndarray, batch: tuple[int, ...]) -> list[int]:
    """``x``'s byte strides along the output's batch axes (0 where x broadcasts)."""
    missing = len(batch) - (x.ndim - 2)
    return [
        x.strides[axis - missing] if axis >= missing and x.shape[axis - missing] != 1 else 0
        for axis in range(len(batch))
    ]


def _blocks(
    arrays: Sequence[np.ndarray], batch: tuple[int, ...], integers: Sequence[int]
) -> tuple[bytes, ...]:
    """The packed integers of each native call over ``batch``: the innermost batch axis is
    the native loop's, one call per entry of the others. ``arrays`` are the three whose
    data advances (broadcast batch axes advance by 0)."""
    if not batch:
        return (_pack((0, 0, 0, 1, 0, 0, 0, *integers)),)
    strides = [_batch_strides(x, batch) for x in arrays]
    steps = [own[-1] for own in strides]
    return tuple(
        _pack(
            (
                *[sum(i * s for i, s in zip(index, own)) for own in strides],
                batch[-1],
                *steps,
                *integers,
            )
        )  # fmt: skip
        for index in np.ndindex(*batch[:-1])
    )


# ============================================================================ products
class _Routines:
    """The BLAS calls of one dtype and its constants 1 and 0 (0-d, read-only)."""

    def __init__(self, dtype: str) -> None:
        functions = _blas_functions()
        self.gemm = functions[_routine("gemm", dtype)]
        self.gemv = functions[_routine("gemv", dtype)]
        self.ger = functions[_routine("ger", dtype)]
        self.one, self.zero = np.ones((), dtype), np.zeros((), dtype)
        self.one.flags.writeable = self.zero.flags.writeable = False


@functools.cache
def _routines(dtype: str) -> _Routines:
    return _Routines(dtype)


@dataclasses.dataclass(frozen=True)
class _Plan:
    """How one product runs for operands of given shapes and strides: which operands are
    copied to C order first (layouts BLAS cannot read), whether the native function takes
    b before a, and the packed integers of each native call."""

    call: NativeCall
    copy_a: bool
    copy_b: bool
    b_first: bool
    blocks: tuple[bytes, ...]

    def run(
        self, a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: np.ndarray, beta: np.ndarray
    ) -> bool:
        """False when the native function refused the sizes (nothing was written)."""
        if self.copy_a:
            a = np.ascontiguousarray(a)
        if self.copy_b:
            b = np.ascontiguousarray(b)
        arrays = (b, a, out, alpha, beta) if self.b_first else (a, b, out, alpha, beta)
        for block in self.blocks:
            if self.call(arrays, block):
                return False
        return True


def _blas_plan(routines: _Routines, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> _Plan:
    """``out = alpha * (a @ b) + beta * out`` per batch entry: a (..., m, k), b (..., k, n),
    out (..., m, n) C-contiguous and not empty, k > 0. gemv when m or n is 1."""
    m, n = out.shape[-2:]
    if n == 1:
        return _gemv_plan(routines, a, b, -2, out, transposed=False)
    if m == 1:
        return _gemv_plan(routines, b, a, -1, out, transposed=True)
    a_used, a_row_major, a_leading = _blas_matrix(a)
    b_used, b_row_major, b_leading = _blas_matrix(b)
    k = a.shape[-1]
    # out is row-major: column-major BLAS computes its transpose, b^T a^T.
    transposes = (_TRANSPOSE[not b_row_major], _TRANSPOSE[not a_row_major])
    integers = (*transposes, n, m, k, b_leading, a_leading, max(1, n))
    blocks = _blocks((b_used, a_used, out), out.shape[:-2], integers)
    return _Plan(routines.gemm, a_used is not a, b_used is not b, True, blocks)


def _gemv_plan(
    routines: _Routines,
    matrix: np.ndarray,
    vector: np.ndarray,
    vector_axis: int,
    out: np.ndarray,
    transposed: bool,
) -> _Plan:
    """``op(matrix) @ v`` with v the ``vector_axis`` of ``vector`` (a 1-row or 1-column
    matrix), op the transpose if ``transposed`` (then matrix is b, vector is a), out a
    1-row or 1-column C-contiguous matrix (increment 1)."""
    matrix_used, row_major, leading = _blas_matrix(matrix)
    vector_used, increment = _blas_vector(vector, vector_axis)
    rows, columns = matrix.shape[-2:]
    stored_rows, stored_columns = (columns, rows) if row_major else (rows, columns)
    transpose = _TRANSPOSE[row_major != transposed]
    integers = (transpose, stored_rows, stored_columns, leading, increment, 1)
    blocks = _blocks((matrix_used, vector_used, out), out.shape[:-2], integers)
    copies = (matrix_used is not matrix, vector_used is not vector)
    copy_a, copy_b = copies[::-1] if transposed else copies
    return _Plan(routines.gemv, copy_a, copy_b, transposed, blocks)


def _ger_plan(routines: _Routines, x: np.ndarray, y: np.ndarray, out: np.ndarray) -> _Plan:
    """``out += alpha * outer(x, y)``, out (m, n) C-contiguous and not empty: to BLAS, out
    is column-major out^T, which gains alpha * y x^T."""
    x_used, x_increment = _blas_vector(x, -1)
    y_used, y_increment = _blas_vector(y, -1)
    m, n = out.shape
    blocks = _blocks((y_used, x_used, out), (), (n, m, y_increment, x_increment, max(1, n)))
    return _Plan(routines.ger, x_used is not x, y_used is not y, True, blocks)


def _integer_plan(call: NativeCall, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> _Plan:
    """``out = a @ b`` per batch entry in the native integer loop (b's rows made
    contiguous first); k == 0 gives zeros."""
    n = out.shape[-1]
    b_used = b if n <= 1 or b.strides[-1] == b.itemsize else np.ascontiguousarray(b)
    m, k = a.shape[-2:]
    integers = (m, n, k, a.strides[-2], a.strides[-1], b_used.strides[-2])
    blocks = _blocks((a, b_used, out), out.shape[:-2], integers)
    return _Plan(call, False, b_used is not b, False, blocks)


_PLANS_KEPT = 64  # per product; a function sees few distinct shapes, a loop over sizes many
_UNUSED = np.zeros(())  # alpha and beta of the integer products, which have none


class _PlannedProduct:
    """``product(a, b, out, alpha=None)``: ``out = alpha * (a @ b) + beta * out`` per batch
    entry (out C-contiguous and not empty, k > 0); False when the sizes do not fit
    (nothing written). The plan of each combination of the operands' shapes and strides
    is made once (out's strides follow from its shape), so a call only looks it up."""

    def __init__(
        self, make_plan: Callable[..., _Plan], alpha: np.ndarray, beta: np.ndarray
    ) -> None:
        self.make_plan = make_plan
        self.alpha, self.beta = alpha, beta
        self.plans: dict[tuple[Any, ...], _Plan] = {}

    def __call__(
        self, a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: np.ndarray | None = None
    ) -> bool:
        key = (a.shape, a.strides, b.shape, b.strides)
        plan = self.plans.get(key)
        if plan is None:
            plan = self.make_plan(a, b, out)
            if len(self.plans) >= _PLANS_KEPT:
                self.plans.clear()
            self.plans[key] = plan
        return plan.run(a, b, out, self.alpha if alpha is None else alpha, self.beta)


def _product_function(dtype: str) -> _PlannedProduct | None:
    """``product(a, b, out)``: ``out = a @ b`` (see _PlannedProduct); None for dtypes
    without a native product."""
    if dtype in BLAS_DTYPES:
        routines = _routines(dtype)
        return _PlannedProduct(functools.partial(_blas_plan, routines), routines.one, routines.zero)
    if dtype in _INTEGER_DTYPES:
        plan = functools.partial(_integer_plan, _integer_function(dtype))
        return _PlannedProduct(plan, _UNUSED, _UNUSED)
    return None


# ============================================================================ steps
def _operand(value: Any, dtype: np.dtype[Any]) -> np.ndarray:
    """``value`` as a base-class ndarray of ``dtype`` (Dot.perform's cast): the native
    code reads ndarray fields, so nothing else may reach it."""
    if type(value) is not np.ndarray or value.dtype != dtype:
        value = np.asarray(value).astype(dtype, copy=False)
    return value


def _scaling_step(dtype: np.dtype[Any]) -> Step:
    """dot with a 0-d operand: numpy.dot multiplies."""

    def step(inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        a, b = (_operand(v, dtype) for v in inputs)
        return [np.asarray(np.multiply(a, b))]

    return step


# Multiply-adds (per batch entry) up to which Dot and Matmul call NumPy: its own call of
# a small product costs about 0.5 us, one through ctypes about 2 us.
_SMALL_PRODUCT = 4096


def _compute(product: _PlannedProduct, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> bool:
    """``out = a @ b``, empty sizes included; False when the product refused the sizes."""
    if not out.size:
        return True
    if not a.shape[-1]:
        out.fill(0)
        return True
    return product(a, b, out)


def _dot_step(node: Node) -> Step | None:
    """numpy.dot of ranks >= 1 with a vector or matrix second operand: one product of
    a (rows, k) matrix (a's leading axes flattened) and a (k, columns) one."""
    dtype = node.outputs[0].type.dtype
    a_ndim, b_ndim = (v.type.ndim for v in node.inputs)
    if a_ndim == 0 or b_ndim == 0:
        return _scaling_step(np.dtype(dtype))
    product = _product_function(dtype) if b_ndim <= 2 else None
    if product is None:
        return None
    numpy_dtype, perform = np.dtype(dtype), node.op.perform
    plain = a_ndim == 2 and b_ndim == 2

    def step(inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        a, b = _operand(inputs[0], numpy_dtype), _operand(inputs[1], numpy_dtype)
        k = a.shape[-1]
        if b.shape[0] != k:
            return perform(node, inputs)  # raises the reference's error
        rows, columns = a.shape[:-1], b.shape[1:]
        if math.prod(rows) * k * math.prod(columns) <= _SMALL_PRODUCT:
            return [np.asarray(np.dot(a, b))]
        a_matrix = a if a_ndim == 2 else a.reshape(math.prod(rows), k)
        b_matrix = b if b_ndim == 2 else b.reshape(k, 1)
        out = np.empty((a_matrix.shape[0], b_matrix.shape[1]), numpy_dtype)
        if not _compute(product, a_matrix, b_matrix, out):
            return perform(node, inputs)
        return [out if plain else out.reshape(rows + columns)]

    return step


def _matmul_step(node: Node) -> Step | None:
    """numpy.matmul: vectors promoted to a row (left) or column (right), batch dims
    broadcast, the promoted axes dropped from the result."""
    dtype = node.outputs[0].type.dtype
    product = _product_function(dtype)
    if product is None:
        return None
    a_ndim, b_ndim = (v.type.ndim for v in node.inputs)
    numpy_dtype, perform = np.dtype(dtype), node.op.perform
    batched, plain = max(a_ndim, b_ndim) > 2, a_ndim >= 2 and b_ndim >= 2

    def step(inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        a, b = _operand(inputs[0], numpy_dtype), _operand(inputs[1], numpy_dtype)
        a_matrix = a if a_ndim >= 2 else a[None, :]
        b_matrix = b if b_ndim >= 2 else b[:, None]
        if a_matrix.shape[-1] != b_matrix.shape[-2]:
            return perform(node, inputs)  # raises the reference's error
        if a_matrix.shape[-2] * b_matrix.shape[-2] * b_matrix.shape[-1] <= _SMALL_PRODUCT:
            return perform(node, inputs)  # batch entries too small for a BLAS call each
        try:
            batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) if batched else ()
        except ValueError:
            return perform(node, inputs)
        m, n = a_matrix.shape[-2], b_matrix.shape[-1]
        out = np.empty((*batch, m, n), numpy_dtype)
        if not _compute(product, a_matrix, b_matrix, out):
            return perform(node, inputs)
        if plain:
            return [out]
        return [out.reshape(batch + a.shape[-2:-1] * (a_ndim >= 2) + b.shape[-1:] * (b_ndim >= 2))]

    return step


def _scale_into(out: np.ndarray, factor: np.ndarray, value: np.ndarray) -> None:
    """``out[...] = factor * value`` as jitgraph.ops.blas.scale computes it."""
    number = factor.item()  # Python comparisons: much cheaper than NumPy's on 0-d arrays
    if number == 1:
        np.copyto(out, value)
    elif number == -1:
        np.negative(value, out=out)
    else:
        np.multiply(factor, value, out=out)


def _accumulate_function(op: ScaledProduct, routines: _Routines) -> Callable[..., bool]:
    """``accumulate(x, y, out, alpha)``: ``out += alpha * product(x, y)`` for the op's
    product (out not empty, k > 0); False when the sizes do not fit BLAS."""
    if isinstance(op, Ger):
        return _PlannedProduct(functools.partial(_ger_plan, routines), routines.one, routines.one)
    product = _PlannedProduct(functools.partial(_blas_plan, routines), routines.one, routines.one)
    if isinstance(op, Gemm):
        return product

    def matrix_vector(x: np.ndarray, y: np.ndarray, out: np.ndarray, alpha: np.ndarray) -> bool:
        return product(x, y[:, None], out[:, None], alpha)

    return matrix_vector


def _scaled_product_step(node: Node) -> Step | None:
    """Gemm, Gemv, Ger: ``out = beta * z`` in NumPy, then BLAS adds ``alpha * product``.
    An empty contraction or alpha == 0 (BLAS would skip the product, and with it NaN
    from inf * 0) take the reference path. Shapes are checked once per combination."""
    op: ScaledProduct = node.op  # type: ignore[assignment]
    dtype = node.outputs[0].type.dtype
    accumulate = _accumulate_function(op, _routines(dtype))
    numpy_dtype = np.dtype(dtype)
    alpha_var = node.inputs[1]
    alpha_nonzero = isinstance(alpha_var, Const) and bool(np.all(alpha_var.data != 0))
    contracts = not isinstance(op, Ger)
    checked: dict[tuple[Any, ...], tuple[int, ...]] = {}

    def step(inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        z, alpha, x, y, beta = (_operand(v, numpy_dtype) for v in inputs)
        key = (z.shape, x.shape, y.shape)
        shape = checked.get(key)
        if shape is None:
            shape = op.check_runtime_shapes(node, (z, alpha, x, y, beta))
            if len(checked) >= _PLANS_KEPT:
                checked.clear()
            checked[key] = shape
        if (contracts and not x.shape[-1]) or (not alpha_nonzero and alpha.item() == 0):
            return op.perform(node, inputs)
        out = np.empty(shape, numpy_dtype)
        _scale_into(out, beta, z)
        if out.size and not accumulate(x, y, out, alpha):
            return op.perform(node, inputs)
        return [out]

    return step


_STEP_MAKERS: dict[type, Callable[[Node], Step | None]] = {
    Dot: _dot_step,
    Matmul: _matmul_step,
    Gemm: _scaled_product_step,
    Gemv: _scaled_product_step,
    Ger: _scaled_product_step,
}


def native_step(node: Node) -> Step | None:
    """A function computing ``node``'s outputs natively (see the module docstring), or
    None: the driver then runs ``node.op.perform``. Everything that does not depend on the
    values (the case, the dtype, the compiled functions) is settled here, so each call
    only inspects shapes and strides."""
    make = _STEP_MAKERS.get(type(node.op))
    if make is None or not direct_entry_supported():
        return None
    return make(node)


# ============================================================================ calls from other code
@dataclasses.dataclass(frozen=True)
class RoutineCall:
    """One BLAS call for compiled code that calls the routine itself (scan's native loop):
    ``routine`` (dgemm, sgemv, dger, ...), called through ``routine_symbol(routine)`` with
    the arguments ``routine_arguments(routine)``; ``b_first``: the routine's ``first``
    array is ``b`` (else ``a``); ``integers``: its char and int arguments in order."""

    routine: str
    b_first: bool
    integers: tuple[int, ...]


def routine_call(kind: str, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> RoutineCall | None:
    """The call computing ``out = alpha * (a @ b) + beta * out`` (``kind`` 'product': a
    (m, k), b (k, n)) or ``out += alpha * outer(a, b)`` (``kind`` 'outer': vectors), for
    out C-contiguous and not empty, k > 0, a BLAS dtype; None where BLAS cannot read an
    operand as it lies (it would need a copy) or a size does not fit its 32-bit ints."""
    routines = _routines(out.dtype.name)
    if kind == "outer":
        plan = _ger_plan(routines, a, b, out)
    else:
        plan = _blas_plan(routines, a, b, out)
    if plan.copy_a or plan.copy_b or len(plan.blocks) != 1:
        return None
    values = struct.unpack(f"={len(plan.blocks[0]) // 8}q", plan.blocks[0])[_BATCH_HEADER:]
    if any(not 0 <= value <= _INT32_MAX for value in values):
        return None
    routine_kind = next(k for k in _ARGUMENTS if getattr(routines, k) is plan.call)
    return RoutineCall(_routine(routine_kind, out.dtype.name), plan.b_first, values)


def routine_arguments(routine: str) -> tuple[str, ...]:
    """The Fortran arguments of ``routine`` in order (every one passed by pointer):
    'char'/'int' (the ``integers`` of a RoutineCall, in order), 'alpha', 'beta', 'first',
    'second' and 'out' (array data)."""
    kind = routine[1:]
    return _ARGUMENTS["ger" if kind == "geru" else kind]


def routine_symbol(routine: str) -> str:
    """The symbol through which compiled code calls BLAS ``routine``; registered (for
    code loaded from now on) by the time this returns."""
    _blas_functions()
    return f"jg_blas_{routine}"
