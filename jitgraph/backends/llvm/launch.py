"""Running compiled kernels: layout choice, argument marshalling, outputs and threads.

``compile_kernels(kernels)`` compiles kernels (one LLVM module, one compilation; through
the on-disk cache) and returns a ``CompiledKernel`` for each. ``CompiledKernel.run``:

1. checks the inputs against the loop domain (the kernel's one run-time shape check) and
   computes each output's shape;
2. allocates the outputs with NumPy where it is not given buffers;
3. picks the entry point: ``contiguous`` (one flat loop) when every input is C-contiguous
   over the whole domain or a single broadcast element, every elementwise output spans
   the domain and every reduction reduces all axes; ``strided`` otherwise;
4. splits the work over threads when it is large: contiguous loops by flat ranges, strided
   ones by rows of axis 0 when no output reduces axis 0; full reductions compute one
   partial per thread, combined in a fixed order. Elementwise results do not depend on
   the split (each element is computed by the same code); reductions are deterministic
   for a given thread count.

>>> import numpy as np
>>> from jitgraph.ops.scalar import SCALAR_OPS
>>> from jitgraph.backends.kernel import Instruction, Kernel, KernelInput, KernelOutput, Slot
>>> k = Kernel(1, (KernelInput("float64", (False,)),), (),
...            (Instruction(SCALAR_OPS["exp"], (Slot("in", 0),), "float64"),),
...            (KernelOutput(Slot("t", 0), "float64"),))
>>> [compiled] = compile_kernels([k])
>>> compiled.run([np.zeros(3)])
[array([1., 1., 1.])]
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import functools
import hashlib
import os
import pathlib
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from jitgraph.backends.kernel import Kernel, check_domain
from jitgraph.backends.llvm import target
from jitgraph.config import config
from jitgraph.ops.scalar import SCALAR_OPS

__all__ = ["CompiledKernel", "compile_kernels", "thread_count"]

# Below this many loop iterations a kernel runs on the calling thread alone: handing work
# to another thread costs tens of microseconds, the time to stream ~1 MB from memory.
PARALLEL_THRESHOLD = 1 << 17
_CHUNK_ALIGN = 64  # flat chunks start on multiples of this (whole cache lines, whole vectors)

_STRIDED = ctypes.CFUNCTYPE(
    None, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
)
_CONTIGUOUS = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)
# Keeps the GIL: the direct entry reads Python objects, and small calls gain nothing by
# releasing it.
_DIRECT = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object)


def thread_count() -> int:
    """Threads a large kernel runs on: ``config.threads``, or every usable core if 0."""
    threads = int(config.threads)
    return threads if threads > 0 else _cores()


@functools.cache
def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_pool_lock = threading.Lock()
_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_size = 0


def _executor(workers: int) -> concurrent.futures.ThreadPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < workers:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = concurrent.futures.ThreadPoolExecutor(workers, "jitgraph-kernel")
            _pool_size = workers
        return _pool


def run_parallel(calls: Sequence[functools.partial[None]]) -> None:
    """Run ``calls`` at once: all but the first on the pool, the first on this thread."""
    if len(calls) == 1:
        calls[0]()
        return
    futures = [_executor(len(calls) - 1).submit(call) for call in calls[1:]]
    calls[0]()
    for future in futures:
        future.result()


class CompiledKernel:
    """A kernel's native entry points (see the module docstring)."""

    def __init__(self, kernel: Kernel, library: target.NativeLibrary, name: str) -> None:
        self.kernel = kernel
        self.name = name
        self._library = library  # keeps the code mapped
        self._strided = _STRIDED(library.address(f"{name}_strided"))
        # Defined only where ``codegen.has_contiguous(kernel)``; asking the library spares a
        # process that loads cached code importing the code generator.
        self._contiguous: Any = None
        try:
            self._contiguous = _CONTIGUOUS(library.address(f"{name}_contiguous"))
        except KeyError:
            pass
        self._all_broadcast = [all(k.broadcastable) for k in kernel.inputs]
        self._out_dtypes = [np.dtype(o.dtype) for o in kernel.outputs]
        self._out_patterns = [kernel.slot_broadcastable(o.slot) for o in kernel.outputs]
        self._reductions = [o for o in kernel.outputs if o.reduction is not None]
        self._reduces_axis0 = any(0 in o.axes for o in self._reductions)
        # Public to the short call path (jitgraph/compile/fastcall.py): the reductions that
        # fail over an empty axis, and the direct entry (None where it is unsupported).
        self.no_identity = [
            o for o in self._reductions if o.reduction is not None and o.reduction.identity is None
        ]
        self.direct = (
            _DIRECT(library.address(f"{name}_direct")) if direct_entry_supported() else None
        )
        self._shape_recipes = [_shape_recipe(kernel, k) for k in range(len(kernel.outputs))]
        full = [i for i, k in enumerate(kernel.inputs) if not any(k.broadcastable)]
        self._size_source = full[0] if full else None

    def run_direct(
        self,
        inputs: Sequence[np.ndarray],
        buffers: Sequence[np.ndarray | None] | None = None,
    ) -> list[np.ndarray] | None:
        """The outputs through the direct entry, for inputs of the kernel's exact dtypes
        and ranks; None where that path does not apply (work for several threads, an
        empty max/min, inputs that disagree): the caller then calls ``run``. Output ``k``
        is written into ``buffers[k]`` where that is an array, which must have the
        output's dtype and shape (the memory plan's buffers, checked by the caller)."""
        direct = self.direct
        if direct is None:
            return None
        source = self._size_source
        if source is not None:
            size = inputs[source].size
            if size >= PARALLEL_THRESHOLD or (size == 0 and self.no_identity):
                return None
        elif self.no_identity:
            return None
        if buffers is None:
            outputs = [
                np.empty(recipe(inputs), dtype)
                for recipe, dtype in zip(self._shape_recipes, self._out_dtypes, strict=True)
            ]
        else:
            outputs = [
                np.empty(recipe(inputs), dtype) if given is None else given
                for recipe, dtype, given in zip(
                    self._shape_recipes, self._out_dtypes, buffers, strict=True
                )
            ]
        if direct((*inputs, *outputs)):
            return None
        return outputs

    # ---- shapes
    def output_shapes(self, extents: Sequence[int]) -> list[tuple[int, ...]]:
        """Each output's shape for a loop domain of ``extents``; ValueError for a max/min
        over an empty axis (no identity)."""
        for output in self.no_identity:
            if any(extents[a] == 0 for a in output.axes):
                raise ValueError(
                    f"{output.reduction} of an empty axis: axis {output.axes} of an array of "
                    f"shape {tuple(extents)} ({output.reduction} has no identity)"
                )
        shapes = []
        for output, pattern in zip(self.kernel.outputs, self._out_patterns, strict=True):
            value = [1 if b else n for b, n in zip(pattern, extents, strict=True)]
            if output.reduction is None:
                shapes.append(tuple(value))
            elif output.keepdims:
                shapes.append(tuple(1 if a in output.axes else n for a, n in enumerate(value)))
            else:
                shapes.append(tuple(n for a, n in enumerate(value) if a not in output.axes))
        return shapes

    def check(self, inputs: Sequence[np.ndarray]) -> tuple[int, ...]:
        """The loop extents for ``inputs`` (ValueError when they break the domain)."""
        return check_domain(self.kernel, inputs)

    def strided_arguments(
        self, inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray]
    ) -> tuple[list[int], list[int]]:
        """The loop extents and the byte-stride table that ``{name}_strided`` takes for
        these arrays (codegen's ABI), for code that calls the entry itself (scan's native
        loop); ValueError when the inputs break the loop domain."""
        extents = self.check(inputs)
        return list(extents), list(self._strides(inputs, outputs))

    # ---- running
    def run(
        self,
        inputs: Sequence[np.ndarray],
        outputs: Sequence[np.ndarray | None] | None = None,
        threads: int = 1,
    ) -> list[np.ndarray]:
        """The kernel's outputs for ``inputs``: written into ``outputs[k]`` where that is
        an array (of the output's dtype and shape), else freshly allocated."""
        extents = self.check(inputs)
        shapes = self.output_shapes(extents)
        results: list[np.ndarray] = []
        for k, (shape, dtype) in enumerate(zip(shapes, self._out_dtypes, strict=True)):
            given = None if outputs is None else outputs[k]
            results.append(np.empty(shape, dtype) if given is None else given)
        contiguous = self._contiguous
        if contiguous is not None and self._is_contiguous(inputs, results):
            self._run_contiguous(contiguous, inputs, results, extents, threads)
        else:
            self._run_strided(inputs, results, extents, threads)
        return results

    def _is_contiguous(self, inputs: Sequence[np.ndarray], results: Sequence[Any]) -> bool:
        for value, single in zip(inputs, self._all_broadcast, strict=True):
            if not single and not value.flags.c_contiguous:
                return False
        return all(
            r.flags.c_contiguous
            for r, o in zip(results, self.kernel.outputs, strict=True)
            if o.reduction is None
        )

    def _run_contiguous(
        self,
        entry: Callable[..., None],
        inputs: Sequence[np.ndarray],
        results: list[np.ndarray],
        extents: Sequence[int],
        threads: int,
    ) -> None:
        total = int(np.prod(extents, dtype=np.int64)) if extents else 1
        pieces = flat_pieces(total, threads)
        if len(pieces) == 1 or not self._reductions:
            data = _pointers([*inputs, *results])
            run_parallel([functools.partial(entry, lo, hi, data) for lo, hi in pieces])
            return
        # One partial per thread for each (full) reduction, combined in piece order.
        partials = [
            [
                np.empty((), r.dtype) if o.reduction is not None else r
                for r, o in self._pairs(results)
            ]
            for _ in pieces
        ]
        keep = [_pointers([*inputs, *p]) for p in partials]
        run_parallel([functools.partial(entry, lo, hi, d) for (lo, hi), d in zip(pieces, keep)])
        for k, output in enumerate(self.kernel.outputs):
            if output.reduction is not None:
                combine = SCALAR_OPS[output.reduction.combine].impl
                value = partials[0][k]
                for piece in partials[1:]:
                    value = combine(value, piece[k])
                results[k][...] = np.asarray(value).astype(results[k].dtype, copy=False)

    def _pairs(self, results: list[np.ndarray]) -> list[tuple[np.ndarray, Any]]:
        return list(zip(results, self.kernel.outputs, strict=True))

    def _run_strided(
        self,
        inputs: Sequence[np.ndarray],
        results: list[np.ndarray],
        extents: Sequence[int],
        threads: int,
    ) -> None:
        ndim = self.kernel.ndim
        strides = self._strides(inputs, results)
        data = _pointers([*inputs, *results])
        shape = (ctypes.c_int64 * max(ndim, 1))(*extents)
        rows = extents[0] if ndim else 1
        pieces = [(0, rows)]
        total = int(np.prod(extents, dtype=np.int64)) if extents else 1
        if ndim and not self._reduces_axis0 and threads > 1 and total >= PARALLEL_THRESHOLD:
            pieces = _row_pieces(rows, threads)
        run_parallel(
            [functools.partial(self._strided, lo, hi, data, shape, strides) for lo, hi in pieces]
        )

    def _strides(self, inputs: Sequence[np.ndarray], results: Sequence[np.ndarray]) -> Any:
        ndim = self.kernel.ndim
        values: list[int] = []
        for value, spec in zip(inputs, self.kernel.inputs, strict=True):
            values += [0 if b else s for b, s in zip(spec.broadcastable, value.strides)]
        for result, output, pattern in zip(
            results, self.kernel.outputs, self._out_patterns, strict=True
        ):
            values += _output_strides(result, output, pattern, ndim)
        return (ctypes.c_int64 * max(len(values), 1))(*values)


def shape_sources(kernel: Kernel, position: int) -> list[tuple[int, int] | None]:
    """Where each dim of output ``position`` comes from: ``(input, axis)`` of an input
    that does not broadcast there, or None for a dim of length 1."""
    output = kernel.outputs[position]
    pattern = kernel.slot_broadcastable(output.slot)
    sources: list[tuple[int, int] | None] = []
    for axis in range(kernel.ndim):
        if output.reduction is not None and axis in output.axes:
            if output.keepdims:
                sources.append(None)
            continue
        readers = [i for i, k in enumerate(kernel.inputs) if not k.broadcastable[axis]]
        sources.append((readers[0], axis) if readers and not pattern[axis] else None)
    return sources


def shape_expression(kernel: Kernel, position: int, inputs: Sequence[str]) -> str:
    """Python source of output ``position``'s shape, the inputs named ``inputs``."""
    sources = shape_sources(kernel, position)
    first = sources[0] if sources else None
    if first is not None and sources == [(first[0], a) for a in range(kernel.ndim)]:
        return f"{inputs[first[0]]}.shape"  # exactly this input's shape
    dims = ["1" if s is None else f"{inputs[s[0]]}.shape[{s[1]}]" for s in sources]
    return "(" + "".join(f"{d}, " for d in dims) + ")"


def _shape_recipe(kernel: Kernel, position: int) -> Callable[[Sequence[np.ndarray]], Any]:
    """A function of the inputs giving output ``position``'s shape, cheap to call."""
    names = [f"inputs[{i}]" for i in range(len(kernel.inputs))]
    recipe: Callable[[Sequence[np.ndarray]], Any] = eval(  # noqa: S307 - our own expression
        f"lambda inputs: {shape_expression(kernel, position, names)}"
    )
    return recipe


def _output_strides(
    result: np.ndarray, output: Any, pattern: Sequence[bool], ndim: int
) -> list[int]:
    """The output's byte strides over the loop's axes: 0 on reduced and broadcast axes."""
    if output.reduction is None:
        return [0 if b else s for b, s in zip(pattern, result.strides)]
    strides = []
    position = 0
    for axis in range(ndim):
        if axis in output.axes:
            strides.append(0)
            position += 1 if output.keepdims else 0
        else:
            strides.append(0 if pattern[axis] else result.strides[position])
            position += 1
    return strides


def _pointers(arrays: Sequence[np.ndarray]) -> Any:
    return (ctypes.c_void_p * max(len(arrays), 1))(*(a.ctypes.data for a in arrays))


def flat_pieces(total: int, threads: int) -> list[tuple[int, int]]:
    if threads <= 1 or total < PARALLEL_THRESHOLD:
        return [(0, total)]
    step = -(-total // threads)
    step = -(-step // _CHUNK_ALIGN) * _CHUNK_ALIGN
    return [(lo, min(lo + step, total)) for lo in range(0, total, step)]


def _row_pieces(rows: int, threads: int) -> list[tuple[int, int]]:
    count = min(threads, rows)
    bounds = [rows * i // count for i in range(count + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(count) if bounds[i] < bounds[i + 1]]


# ============================================================================ compiling
def kernel_names(kernels: Sequence[Kernel]) -> list[str]:
    """Symbol names: the kernel's key, so equal kernels share a name in a module."""
    return [f"jg_kernel_{k.key()[:24]}" for k in kernels]


def compile_kernels(kernels: Sequence[Kernel]) -> list[CompiledKernel]:
    """One ``CompiledKernel`` per kernel, all compiled in one LLVM module (the object code
    goes through the on-disk cache when it is enabled)."""
    from jitgraph.backends.llvm.codegen import kernel_module

    names = kernel_names(kernels)
    unique = dict(zip(names, kernels, strict=True))
    direct = direct_entry_supported()

    def module_text() -> str:
        text = kernel_module([(k, n) for n, k in unique.items()])
        if direct:
            text += "\n" + "\n".join(direct_entry_ir(k, n) for n, k in unique.items())
        return text

    library = native_library(
        f"kernels{'+direct' if direct else ''}:" + ",".join(sorted(unique)), module_text
    )
    return [CompiledKernel(k, library, n) for k, n in zip(kernels, names, strict=True)]


# Code already loaded in this process, by cache digest: a second function with the same
# kernels shares it. Weak: the code is unmapped when the last function using it dies.
_loaded: weakref.WeakValueDictionary[str, target.NativeLibrary] = weakref.WeakValueDictionary()
_loaded_lock = threading.Lock()


def native_library(identity: str, make_ir: Callable[[], str]) -> target.NativeLibrary:
    """The loaded native code for the IR ``make_ir()`` builds: already loaded in this
    process, else from the on-disk cache, else compiled (and stored). ``identity`` must
    determine that IR (with the backend's own sources, part of every key)."""
    from jitgraph import cache

    key = cache.cache_key(
        graph=identity,
        inputs="",
        backend="llvm",
        target=target.target_description(),
        extra=backend_source_digest(),
    )
    with _loaded_lock:
        library = _loaded.get(key.digest)
        if library is not None:
            return library
        store = cache.get_cache()
        code = store.load(key)
        if code is None:
            code = target.compile_ir(make_ir())
            store.store(key, code)
        _register_external_symbols(code)
        library = target.load_object(code)
        _loaded[key.digest] = library
        return library


def _register_external_symbols(code: bytes) -> None:
    """Register the process-specific symbols the object code calls (scipy.special's C
    functions, by jitgraph-private names): code from the disk cache was compiled in
    another process, where they were registered while lowering."""
    from jitgraph.backends.llvm.scalar_special import SCIPY_SYMBOL_PREFIX

    prefix = SCIPY_SYMBOL_PREFIX.encode()
    if prefix in code:
        from jitgraph.backends.llvm.scalar_special import register_external_symbols

        names = re.findall(re.escape(prefix) + rb"[A-Za-z0-9_]+", code)
        register_external_symbols(sorted({n.decode() for n in names}))


@functools.cache
def backend_source_digest() -> str:
    """A digest of the sources that generate code: a changed lowering never loads code
    compiled by the old one, even within one version number (development installs)."""
    here = pathlib.Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(here.glob("*.py")) + [here.parent / "kernel.py"]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# ============================================================================ the direct entry
# A kernel can also be called with one Python tuple of NumPy arrays (inputs, then outputs
# already allocated): ``N_direct(tuple) -> i32`` reads each array's data pointer, dims and
# strides straight from its ``PyArrayObject``, checks the loop domain (1: the inputs
# disagree; the caller then takes the checked path, which raises the error) and runs the
# strided entry. No per-argument Python work: this is the sub-microsecond call path of
# small kernels. The struct offsets are NumPy's stable ABI, verified once per process;
# the BLAS steps (blas.py) read arrays the same way.
TUPLE_ITEMS = 24  # PyTupleObject: refcount, type, size, then the item pointers
ARRAY_DATA, ARRAY_DIMS, ARRAY_STRIDES = 16, 32, 40  # PyArrayObject fields


@functools.cache
def direct_entry_supported() -> bool:
    """Whether this process lays out tuples and NumPy arrays as the direct entry reads."""
    array = np.zeros((3, 4))[:, ::2]
    pair = (array, None)
    base = id(array)
    try:
        dims = ctypes.c_void_p.from_address(base + ARRAY_DIMS).value or 0
        strides = ctypes.c_void_p.from_address(base + ARRAY_STRIDES).value or 0
        return (
            ctypes.c_void_p.from_address(id(pair) + TUPLE_ITEMS).value == base
            and ctypes.c_void_p.from_address(base + ARRAY_DATA).value == array.ctypes.data
            and [ctypes.c_int64.from_address(dims + 8 * i).value for i in range(2)] == [3, 2]
            and [ctypes.c_int64.from_address(strides + 8 * i).value for i in range(2)] == [32, 16]
        )
    except (ValueError, OSError):  # pragma: no cover - an exotic interpreter
        return False


def direct_entry_ir(kernel: Kernel, name: str) -> str:
    """The IR text of ``{name}_direct`` (see above); it calls ``{name}_strided``."""
    import llvmlite.ir as ir

    from jitgraph.backends.llvm.types import I32, I64, POINTER

    module = ir.Module(name=f"{name}_direct")
    strided_type = ir.FunctionType(ir.VoidType(), [I64, I64, POINTER, POINTER, POINTER])
    strided = ir.Function(module, strided_type, f"{name}_strided")
    function = ir.Function(module, ir.FunctionType(I32, [POINTER]), f"{name}_direct")
    builder = ir.IRBuilder(function.append_basic_block("entry"))
    _DirectEntry(kernel, builder, function.args[0]).emit(strided)
    return "\n".join(str(f) for f in module.functions if not f.is_declaration)


class _DirectEntry:
    def __init__(self, kernel: Kernel, builder: Any, arguments: Any) -> None:
        import llvmlite.ir as ir

        from jitgraph.backends.llvm.types import I64, POINTER

        self.ir, self.i64, self.pointer = ir, I64, POINTER
        self.kernel, self.builder = kernel, builder
        count = len(kernel.inputs) + len(kernel.outputs)
        self.objects = [self._field(arguments, TUPLE_ITEMS + 8 * a) for a in range(count)]
        self.count = count

    def _field(self, base: Any, offset: int) -> Any:
        builder = self.builder
        address = builder.gep(base, [self.i64(offset)], source_etype=self.ir.IntType(8))
        return builder.load(address, typ=self.pointer)

    def _element(self, array_field: Any, position: int) -> Any:
        builder = self.builder
        address = builder.gep(array_field, [self.i64(position)], source_etype=self.i64)
        return builder.load(address, typ=self.i64)

    def emit(self, strided: Any) -> None:
        builder, ir, i64, kernel = self.builder, self.ir, self.i64, self.kernel
        ndim = max(kernel.ndim, 1)
        data = builder.alloca(self.pointer, size=self.count)
        shape = builder.alloca(i64, size=ndim)
        strides = builder.alloca(i64, size=max(self.count * kernel.ndim, 1))
        dims = [self._field(o, ARRAY_DIMS) for o in self.objects]
        array_strides = [self._field(o, ARRAY_STRIDES) for o in self.objects]
        for a, obj in enumerate(self.objects):
            slot = builder.gep(data, [i64(a)], source_etype=self.pointer)
            builder.store(self._field(obj, ARRAY_DATA), slot)
        agree = ir.IntType(1)(1)
        extents = []
        for axis in range(kernel.ndim):
            readers = [i for i, k in enumerate(kernel.inputs) if not k.broadcastable[axis]]
            extent = self._element(dims[readers[0]], axis) if readers else i64(1)
            for other in readers[1:]:
                same = builder.icmp_signed("==", self._element(dims[other], axis), extent)
                agree = builder.and_(agree, same)
            extents.append(extent)
            slot = builder.gep(shape, [i64(axis)], source_etype=i64)
            builder.store(extent, slot)
        for a in range(self.count):
            for axis, value in enumerate(self._array_strides(a, array_strides[a])):
                position = a * kernel.ndim + axis
                slot = builder.gep(strides, [i64(position)], source_etype=i64)
                builder.store(value, slot)
        with builder.if_then(builder.not_(agree)):
            builder.ret(ir.IntType(32)(1))
        rows = extents[0] if extents else i64(1)
        builder.call(strided, [i64(0), rows, data, shape, strides])
        builder.ret(ir.IntType(32)(0))

    def _array_strides(self, array: int, field: Any) -> list[Any]:
        """The array's byte strides over the loop axes (0 where it does not move)."""
        kernel, i64 = self.kernel, self.i64
        if array < len(kernel.inputs):
            pattern = kernel.inputs[array].broadcastable
            return [i64(0) if b else self._element(field, d) for d, b in enumerate(pattern)]
        output = kernel.outputs[array - len(kernel.inputs)]
        pattern = kernel.slot_broadcastable(output.slot)
        values, position = [], 0
        for axis in range(kernel.ndim):
            reduced = output.reduction is not None and axis in output.axes
            if reduced or pattern[axis]:
                values.append(i64(0))
            else:
                values.append(self._element(field, position))
            if not reduced or output.keepdims:
                position += 1
        return values
