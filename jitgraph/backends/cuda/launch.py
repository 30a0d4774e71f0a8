"""Running a ``Kernel`` on CuPy arrays: outputs, module loading and the passes' launches.

``launch(kernel, inputs)`` checks the inputs against the kernel (``check_domain``),
allocates C-contiguous outputs, compiles (``compile.compile_source``, once per arch) and
loads the kernel's module once per process and device, then runs its passes (see
``codegen``): each elementwise group over its own domain (the vector entry when every
array it reads is C-contiguous and its arrays are aligned, else the contiguous entry
when they are C-contiguous, else the strided one), each reduction group, then the
partial passes until one chunk per output element is left (rows of at most ``WARP *
PER_THREAD`` values, and the last partial pass, take a thread or a warp per output
element: ``codegen.small_reduction``). Nothing is launched for an empty domain; an
empty reduction of a kind with no identity (max, min) raises ValueError as NumPy does.
CuPy is imported here, lazily: this module is used only where CuPy and a GPU are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from jitgraph.backends.cuda import codegen
from jitgraph.backends.cuda.compile import compile_source
from jitgraph.backends.kernel import INPUT, Kernel, KernelOutput, check_domain, needed_slots

__all__ = ["launch", "output_shape", "prepare"]

MAX_GRID = 65535 * 32  # blocks per launch; grid-stride loops cover the rest
_modules: dict[tuple[str, int], Any] = {}


def output_shape(kernel: Kernel, output: KernelOutput, extents: Sequence[int]) -> tuple[int, ...]:
    """The shape of ``output`` for loop extents ``extents`` (1 where its value
    broadcasts; reduced axes dropped, or 1 with keepdims)."""
    pattern = kernel.slot_broadcastable(output.slot)
    value = [1 if b else n for b, n in zip(pattern, extents, strict=True)]
    if output.reduction is None:
        return tuple(value)
    if output.keepdims:
        return tuple(1 if a in output.axes else n for a, n in enumerate(value))
    return tuple(n for a, n in enumerate(value) if a not in output.axes)


def launch(kernel: Kernel, inputs: Sequence[Any]) -> list[Any]:
    """Run ``kernel`` on CuPy arrays ``inputs``; its outputs as new CuPy arrays."""
    import cupy  # type: ignore[import-not-found, unused-ignore]

    extents = check_domain(kernel, inputs)
    _check_empty_reductions(kernel, extents)
    outputs = [cupy.empty(output_shape(kernel, o, extents), dtype=o.dtype) for o in kernel.outputs]
    module = None
    for group in codegen.passes(kernel):
        if math.prod(_group_extents(group, extents)) == 0 and not group.is_reduction:
            continue
        if group.is_reduction and math.prod(outputs[group.outputs[0]].shape) == 0:
            continue
        module = module or _module(kernel)
        if group.is_reduction:
            _run_reduction(module, kernel, group, inputs, outputs, extents)
        else:
            _run_elementwise(module, kernel, group, inputs, outputs, extents)
    return outputs


def _check_empty_reductions(kernel: Kernel, extents: Sequence[int]) -> None:
    for output in kernel.outputs:
        kind = output.reduction
        if kind is not None and kind.identity is None:
            if math.prod(extents[a] for a in output.axes) == 0:
                raise ValueError(
                    f"{kind} of an empty axis: axes {output.axes} of a value of shape "
                    f"{tuple(extents)} ({kind} has no identity)"
                )


def _module(kernel: Kernel) -> Any:
    """``(name, module)``: ``kernel``'s module loaded on the current device (a module
    belongs to one device's context; the compiled code is shared by arch)."""
    import cupy

    device = cupy.cuda.Device()
    arch = "sm_" + device.compute_capability
    name = "k" + kernel.key()[:16]
    if (name, device.id) not in _modules:
        code = compile_source(codegen.kernel_source(kernel, name), arch)
        module = cupy.cuda.function.Module()
        module.load(code)
        _modules[(name, device.id)] = (name, module)
    return _modules[(name, device.id)]


def _group_extents(group: codegen.Pass, extents: Sequence[int]) -> list[int]:
    return [1 if b else n for b, n in zip(group.pattern, extents, strict=True)]


def _grid(blocks: int) -> tuple[int, int, int]:
    return (max(1, min(blocks, MAX_GRID)), 1, 1)


def _int64(values: Iterable[int]) -> list[np.int64]:
    return [np.int64(v) for v in values]


def _run_elementwise(
    module: Any,
    kernel: Kernel,
    group: codegen.Pass,
    inputs: Sequence[Any],
    outputs: list[Any],
    extents: Sequence[int],
) -> None:
    name, loaded = module
    domain = _group_extents(group, extents)
    n = math.prod(domain)
    arrays = [*inputs, *(outputs[p] for p in group.outputs)]
    read = {s.position for s in needed_slots(kernel, group.outputs) if s.kind == INPUT}
    flat = codegen.has_contiguous(kernel, group) and all(inputs[i].flags.c_contiguous for i in read)
    args: list[Any] = [*arrays, np.int64(n)]
    lanes = codegen.vector_width(kernel, group)
    if flat and n >= lanes > 1 and _vector_aligned(kernel, group, inputs, outputs, lanes):
        function = loaded.get_function(f"{name}_{group.entry}_vector")
        n = -(-n // lanes)  # threads needed: one per vector (the tail rides along)
    elif flat:
        function = loaded.get_function(f"{name}_{group.entry}_contiguous")
    else:
        function = loaded.get_function(f"{name}_{group.entry}_strided")
        args += _int64(extents)
        args += _int64(s for array in arrays for s in _strides(array, kernel.ndim))
    blocks = -(-n // codegen.BLOCK)
    function(_grid(blocks), (codegen.BLOCK, 1, 1), tuple(args))


def _vector_aligned(
    kernel: Kernel, group: codegen.Pass, inputs: Sequence[Any], outputs: list[Any], lanes: int
) -> bool:
    """Whether every array ``group``'s vector entry moves in vectors starts on a multiple
    of its vector's size (``lanes`` elements)."""
    moved_inputs, moved_outputs = codegen.vector_arrays(kernel, group)
    arrays = [inputs[i] for i in moved_inputs] + [outputs[p] for p in moved_outputs]
    return all(a.data.ptr % (lanes * a.dtype.itemsize) == 0 for a in arrays)


def _strides(array: Any, ndim: int) -> list[int]:
    """Byte strides, 0 along dims of extent 1 (where the kernel may read them)."""
    return [0 if size == 1 else stride for size, stride in zip(array.shape, array.strides)]


def _run_reduction(
    module: Any,
    kernel: Kernel,
    group: codegen.Pass,
    inputs: Sequence[Any],
    outputs: list[Any],
    extents: Sequence[int],
) -> None:
    import cupy

    name, loaded = module
    kept = math.prod(n for a, n in enumerate(extents) if a not in group.axes)
    reduced = math.prod(extents[a] for a in group.axes)
    small = None if codegen.column_scheme(kernel, group) else codegen.small_reduction(reduced)
    chunk_len = max(1, reduced) if small else codegen.chunk_length(kernel, group)
    chunks = max(1, -(-reduced // chunk_len))
    parts = {  # the one-pass entries (small) write no partials: the outputs stand in
        p: outputs[p]
        if small
        else cupy.empty(
            kept * chunks if chunks > 1 else 1, codegen.accumulator_dtype(kernel.outputs[p])
        )
        for p in group.outputs
    }
    args: list[Any] = [*inputs, *(outputs[p] for p in group.outputs)]
    args += [parts[p] for p in group.outputs]
    args += _int64((kept, reduced, chunks, chunk_len))
    args += _int64(extents)
    args += _int64(s for array in inputs for s in _strides(array, kernel.ndim))
    if small:  # short rows: a thread or a warp per kept element, in one pass
        function = loaded.get_function(f"{name}_{group.entry}{small}")
        function(_grid(_small_blocks(small, kept)), (codegen.BLOCK, 1, 1), tuple(args))
        return
    function = loaded.get_function(f"{name}_{group.entry}")
    function(_grid(codegen.blocks(kernel, group, kept, chunks)), (codegen.BLOCK, 1, 1), tuple(args))
    for p in group.outputs:
        _run_partials(loaded, name, p, parts[p], kept, chunks, outputs[p])


def _run_partials(
    loaded: Any, name: str, position: int, partial: Any, kept: int, width: int, out: Any
) -> None:
    """Reduce the ``kept x width`` partials of output ``position`` until one chunk."""
    import cupy

    function = loaded.get_function(f"{name}_part{position}")
    while width > 1:
        small = codegen.small_reduction(width)
        if small:  # the last pass: a thread or a warp per kept element
            last = loaded.get_function(f"{name}_part{position}{small}")
            args = (partial, *_int64((kept, width, 1, width)), partial, out)
            last(_grid(_small_blocks(small, kept)), (codegen.BLOCK, 1, 1), args)
            return
        chunks = -(-width // codegen.CHUNK)
        target = cupy.empty(kept * chunks if chunks > 1 else 1, partial.dtype)
        args = (partial, *_int64((kept, width, chunks, codegen.CHUNK)), target, out)
        function(_grid(kept * chunks), (codegen.BLOCK, 1, 1), args)
        partial, width = target, chunks


def _small_blocks(small: str, kept: int) -> int:
    """Blocks of a ``_thread`` or ``_warp`` reduction entry over ``kept`` elements."""
    per_block = codegen.BLOCK if small == "_thread" else codegen.WARPS
    return -(-kept // per_block)


def prepare(kernel: Kernel) -> None:
    """Compile and load ``kernel``'s module now (``launch`` would on its first call):
    ``CudaLoweringError`` for an op CUDA C does not express, before anything runs."""
    _module(kernel)
