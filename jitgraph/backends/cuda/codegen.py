"""Lowering a backend-neutral ``Kernel`` to CUDA C: the kernel ABI of the CUDA backend.

A kernel runs as one or more *passes* (``passes(kernel)``), each a ``__global__``
function over a loop domain; ``kernel_source(kernel, N)`` defines them all:

- ``N_ew<g>_strided`` for each group ``g`` of elementwise outputs that share a pattern:
  a grid-stride loop over the flat index of the group's domain (the loop extents, with
  1 where the pattern broadcasts, which is the outputs' own shape, so an output that
  broadcasts along an axis of extent 0 is still written). Arguments: the pointers of
  every input then of the group's outputs, ``long long n`` (the flat size), the
  ``ndim`` extents, then the byte strides of every input then of every group output,
  array-major (``ndim`` per array). Broadcast dims are skipped statically (their
  strides are not read);
- ``N_ew<g>_contiguous`` where every input the group reads is one element or spans the
  group's domain: the same pointers and ``n``, for C-contiguous arrays (chosen at launch);
- ``N_red<g>`` for each group ``g`` of reduction outputs with the same axes: the
  deterministic reduction below. Arguments: the pointers of every input, then of the
  group's outputs (C-contiguous, in the output dtype), then of their partial buffers (in
  the accumulator dtype), ``long long kept, reduced, chunks, chunk_len``, the ``ndim``
  extents and the byte strides of every input;
- ``N_part<p>`` for each reduction output ``p``: one further pass over partial results
  (``src`` of ``kept x width`` accumulators, ``kept, width, chunks, chunk_len``, then
  ``dst`` partials and ``out``).

The reduction scheme is fixed by the sizes alone, never by launch timing or block
scheduling, so results are reproducible: the reduced index space (the reduced axes, last
fastest) is cut into ``chunks`` chunks of ``chunk_len = CHUNK`` values; block ``b``
reduces chunk ``b % chunks`` of kept element ``b / chunks``: thread ``t`` combines
elements ``t, t + BLOCK, ...`` of the chunk in order (16 of them for a full chunk),
starting from the reduction's start value, then the ``BLOCK`` partial values meet in a
fixed binary tree in shared memory. With one chunk thread 0 writes the result, cast to
the output dtype; else the block's value goes to the partial buffer and ``N_part``
passes reduce ``kept x chunks`` partials the same way until one chunk is left. Float sums
accumulate in ``acc_dtype`` (a float32 sum in float32), so their error grows like
(16 + log2 BLOCK) per pass, about the pairwise bound of NumPy's and the LLVM backend's.

A kernel mixing elementwise outputs and reductions runs them as separate passes, each
recomputing the body values it needs from the inputs (no intermediate array).

>>> from jitgraph.backends.kernel import Instruction, Kernel, KernelInput, KernelOutput, Slot
>>> from jitgraph.ops.scalar import SCALAR_OPS
>>> kernel = Kernel(1, (KernelInput("float64", (False,)),), (),
...                 (Instruction(SCALAR_OPS["negative"], (Slot("in", 0),), "float64"),),
...                 (KernelOutput(Slot("t", 0), "float64"),))
>>> [p.entry for p in passes(kernel)]
['ew0']
>>> source = kernel_source(kernel, "negate")
>>> "void negate_ew0_strided(" in source and "void negate_ew0_contiguous(" in source
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from jitgraph.backends.cuda import scalar
from jitgraph.backends.kernel import (
    CONSTANT,
    INPUT,
    Kernel,
    KernelOutput,
    Slot,
    needed_slots,
)
from jitgraph.ops.scalar import SCALAR_OPS

__all__ = [
    "BLOCK",
    "CHUNK",
    "Pass",
    "accumulator_dtype",
    "has_contiguous",
    "kernel_functions",
    "kernel_source",
    "module_source",
    "passes",
]

BLOCK = 256  # threads per block (a power of two: the shared-memory tree halves it)
CHUNK = BLOCK * 16  # reduced values per block: 16 per thread, then the tree


@dataclasses.dataclass(frozen=True)
class Pass:
    """One group of a kernel's outputs computed by one entry point: ``entry`` is
    ``ew<g>`` (elementwise outputs sharing ``pattern``) or ``red<g>`` (reductions over
    ``axes``); ``outputs`` are positions in ``kernel.outputs``."""

    entry: str
    outputs: tuple[int, ...]
    pattern: tuple[bool, ...]
    axes: tuple[int, ...] = ()

    @property
    def is_reduction(self) -> bool:
        return self.entry.startswith("red")


def accumulator_dtype(output: KernelOutput) -> str:
    """The dtype ``output``'s reduction accumulates in: ``acc_dtype`` for sum/prod, else
    the output's own (max/min keep the value's dtype, all/any are bool)."""
    return output.acc_dtype if output.acc_dtype is not None else output.dtype


def passes(kernel: Kernel) -> list[Pass]:
    """The kernel's passes in launch order: elementwise groups (by pattern, in order of
    first appearance), then reduction groups (by axes)."""
    elementwise: dict[tuple[bool, ...], list[int]] = {}
    reductions: dict[tuple[int, ...], list[int]] = {}
    for position, output in enumerate(kernel.outputs):
        if output.reduction is None:
            pattern = kernel.slot_broadcastable(output.slot)
            elementwise.setdefault(pattern, []).append(position)
        else:
            reductions.setdefault(output.axes, []).append(position)
    result = [
        Pass(f"ew{g}", tuple(outputs), pattern)
        for g, (pattern, outputs) in enumerate(elementwise.items())
    ]
    result += [
        Pass(f"red{g}", tuple(outputs), kernel.broadcastable, axes)
        for g, (axes, outputs) in enumerate(reductions.items())
    ]
    return result


def has_contiguous(kernel: Kernel, group: Pass) -> bool:
    """Whether elementwise ``group`` has a ``_contiguous`` entry: every input it reads is
    one element or spans the group's domain (so C-contiguous means flat)."""
    inputs = [s for s in needed_slots(kernel, group.outputs) if s.kind == INPUT]
    patterns = [kernel.inputs[s.position].broadcastable for s in inputs]
    return all(p == group.pattern or all(p) for p in patterns)


# ============================================================================ sources
def kernel_source(kernel: Kernel, name: str) -> str:
    """A complete CUDA C translation unit: the prelude and ``kernel``'s entry points
    named ``{name}_<entry>`` (see the module docstring)."""
    return module_source([(kernel, name)])


def module_source(kernels: Sequence[tuple[Kernel, str]]) -> str:
    """One translation unit defining the entry points of every ``(kernel, name)``."""
    parts = [scalar.PRELUDE] + [kernel_functions(k, n) for k, n in kernels]
    return "\n".join(parts)


def kernel_functions(kernel: Kernel, name: str) -> str:
    """``kernel``'s functions without the prelude (a listing of the kernel first)."""
    listing = "\n".join("// " + line for line in kernel.as_text().splitlines())
    parts = [listing]
    for group in passes(kernel):
        if group.is_reduction:
            parts += [_combine_function(kernel, name, p) for p in group.outputs]
            parts.append(_reduction_entry(kernel, name, group))
            parts += [_partial_entry(kernel, name, p) for p in group.outputs]
        else:
            parts.append(_elementwise_entry(kernel, name, group, contiguous=False))
            if has_contiguous(kernel, group):
                parts.append(_elementwise_entry(kernel, name, group, contiguous=True))
    return "\n\n".join(parts) + "\n"


# ============================================================================ values
def _ctype(dtype: str) -> str:
    return scalar.C_TYPES[dtype]


def _body(kernel: Kernel, outputs: Sequence[int], address: dict[int, str]) -> list[str]:
    """Statements computing the slots ``outputs`` need: ``v_in<i>`` loaded from
    ``address[i]`` (a byte address expression), ``v_c<i>`` constants, ``v_t<k>``
    instructions with their arguments cast to the compute dtypes."""
    lines = []
    for slot in needed_slots(kernel, outputs):
        dtype = kernel.slot_dtype(slot)
        if slot.kind == INPUT:
            value = f"*reinterpret_cast<const {_ctype(dtype)}*>({address[slot.position]})"
        elif slot.kind == CONSTANT:
            value = scalar.literal(kernel.constants[slot.position].value, dtype)
        else:
            value = _instruction(kernel, slot)
        lines.append(f"const {_ctype(dtype)} v_{slot} = {value};")
    return lines


def _instruction(kernel: Kernel, slot: Slot) -> str:
    instruction = kernel.body[slot.position]
    compute = kernel.compute_dtypes(instruction)
    args = [
        scalar.cast(f"v_{arg}", kernel.slot_dtype(arg), dtype)
        for arg, dtype in zip(instruction.args, compute, strict=True)
    ]
    return scalar.lower(instruction.op, args, compute, instruction.dtype)


def _offset(axes: Sequence[int], array: int, stride_prefix: str) -> str:
    """The byte offset of array ``array`` at indices ``i<d>`` along ``axes``."""
    terms = [f"i{d} * {stride_prefix}{array}_{d}" for d in axes]
    return " + ".join(terms) if terms else "0"


def _unflatten(flat: str, axes: Sequence[int], extent: str = "e") -> list[str]:
    """Statements splitting the flat index ``flat`` into ``i<d>`` over ``axes`` (the
    last fastest), reading the extents ``{extent}<d>``."""
    if not axes:
        return []
    lines = [f"long long rest = {flat};"]
    for d in reversed(axes[1:]):
        lines += [f"const long long i{d} = rest % {extent}{d};", f"rest /= {extent}{d};"]
    lines.append(f"const long long i{axes[0]} = rest;")
    return lines


def _indent(lines: Sequence[str], depth: int) -> list[str]:
    return ["    " * depth + line for line in lines]


# ============================================================================ elementwise
def _elementwise_entry(kernel: Kernel, name: str, group: Pass, contiguous: bool) -> str:
    inputs, ndim = len(kernel.inputs), kernel.ndim
    params = [f"const char* __restrict__ in{i}" for i in range(inputs)]
    params += [f"char* __restrict__ out{p}" for p in group.outputs]
    params.append("const long long n")
    varying = [d for d in range(ndim) if not group.pattern[d]]
    if contiguous:
        address = {
            i: f"in{i}" if all(k.broadcastable) else f"in{i} + i * {_itemsize(k.dtype)}"
            for i, k in enumerate(kernel.inputs)
        }
        unflatten: list[str] = []
    else:
        params += [f"const long long e{d}" for d in range(ndim)]
        params += [f"const long long s{i}_{d}" for i in range(inputs) for d in range(ndim)]
        params += [f"const long long so{p}_{d}" for p in group.outputs for d in range(ndim)]
        address = {}
        for i, k in enumerate(kernel.inputs):
            moving = [d for d in varying if not k.broadcastable[d]]
            address[i] = f"in{i} + ({_offset(moving, i, 's')})"
        unflatten = _unflatten("i", varying)
    stores = []
    for p in group.outputs:
        output = kernel.outputs[p]
        where = f"i * {_itemsize(output.dtype)}" if contiguous else _offset(varying, p, "so")
        stores.append(
            f"*reinterpret_cast<{_ctype(output.dtype)}*>(out{p} + ({where})) = v_{output.slot};"
        )
    variant = "contiguous" if contiguous else "strided"
    lines = [
        f'extern "C" __global__ void {name}_{group.entry}_{variant}(',
        *_indent([p + "," for p in params[:-1]] + [params[-1]], 1),
        ") {",
        "    const long long step = (long long)gridDim.x * blockDim.x;",
        "    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;"
        " i += step) {",
        *_indent(unflatten + _body(kernel, group.outputs, address) + stores, 2),
        "    }",
        "}",
    ]
    return "\n".join(lines)


def _itemsize(dtype: str) -> int:
    return np.dtype(dtype).itemsize


# ============================================================================ reductions
def _combine_name(name: str, position: int) -> str:
    return f"{name}_combine{position}"


def _combine_function(kernel: Kernel, name: str, position: int) -> str:
    """``acc combine(acc a, acc b)``: the REDUCTIONS entry's combine op through the
    elementwise table (its dtype rule, then a cast back to the accumulator)."""
    output = kernel.outputs[position]
    assert output.reduction is not None
    acc = accumulator_dtype(output)
    op = SCALAR_OPS[output.reduction.combine]
    compute, result = op.dtype_rule((acc, acc))
    args = [scalar.cast(v, acc, c) for v, c in zip(("a", "b"), compute, strict=True)]
    value = scalar.cast(scalar.lower(op, args, compute, result), result, acc)
    t = _ctype(acc)
    return (
        f"static __device__ __forceinline__ {t} {_combine_name(name, position)}"
        f"({t} a, {t} b) {{\n    return {value};\n}}"
    )


def _start_literal(output: KernelOutput) -> str:
    assert output.reduction is not None
    acc = accumulator_dtype(output)
    return scalar.literal(np.asarray(output.reduction.start_value(acc), dtype=acc)[()], acc)


def _shared_buffers(kernel: Kernel, name: str, outputs: Sequence[int]) -> list[str]:
    """Raw shared memory of BLOCK accumulators per output (raw bytes: the accumulator
    types may have constructors, which ``__shared__`` variables may not)."""
    lines = []
    for p in outputs:
        t = _ctype(accumulator_dtype(kernel.outputs[p]))
        lines += [
            f"__shared__ __align__(16) unsigned char shared{p}_raw[{BLOCK} * sizeof({t})];",
            f"{t}* shared{p} = reinterpret_cast<{t}*>(shared{p}_raw);",
        ]
    return lines


def _tree_and_store(kernel: Kernel, name: str, outputs: Sequence[int]) -> list[str]:
    """Store each thread's value, combine in the fixed tree, write block ``b``'s result:
    the output element ``m`` when there is one chunk, else partial ``b``."""
    lines = [f"shared{p}[threadIdx.x] = acc{p};" for p in outputs]
    lines.append("__syncthreads();")
    lines.append(f"for (int half = {BLOCK // 2}; half > 0; half >>= 1) {{")
    lines.append("    if (threadIdx.x < half) {")
    for p in outputs:
        combine = _combine_name(name, p)
        lines.append(
            f"        shared{p}[threadIdx.x] = "
            f"{combine}(shared{p}[threadIdx.x], shared{p}[threadIdx.x + half]);"
        )
    lines += ["    }", "    __syncthreads();", "}", "if (threadIdx.x == 0) {"]
    for p in outputs:
        output = kernel.outputs[p]
        acc, t = accumulator_dtype(output), _ctype(output.dtype)
        final = scalar.cast(f"shared{p}[0]", acc, output.dtype)
        lines += [
            f"    if (chunks == 1) reinterpret_cast<{t}*>(out{p})[m] = {final};",
            f"    else reinterpret_cast<{_ctype(acc)}*>(part{p})[b] = shared{p}[0];",
        ]
    lines += ["}", "__syncthreads();  // the shared buffers are reused by the next b"]
    return lines


def _block_loop(body: list[str]) -> list[str]:
    """The grid-stride loop over blocks ``b`` (kept element ``m``, chunk ``c``)."""
    return [
        "for (long long b = blockIdx.x; b < kept * chunks; b += gridDim.x) {",
        "    const long long m = b / chunks;",
        "    const long long first = (b % chunks) * chunk_len;",
        "    const long long last = first + chunk_len < reduced ? first + chunk_len : reduced;",
        *_indent(body, 1),
        "}",
    ]


def _reduction_entry(kernel: Kernel, name: str, group: Pass) -> str:
    inputs, ndim = len(kernel.inputs), kernel.ndim
    params = [f"const char* __restrict__ in{i}" for i in range(inputs)]
    params += [f"char* __restrict__ out{p}" for p in group.outputs]
    params += [f"char* __restrict__ part{p}" for p in group.outputs]
    params += [f"const long long {v}" for v in ("kept", "reduced", "chunks", "chunk_len")]
    params += [f"const long long e{d}" for d in range(ndim)]
    params += [f"const long long s{i}_{d}" for i in range(inputs) for d in range(ndim)]
    domain = [d for d in range(ndim) if not group.pattern[d]]
    kept_axes = [d for d in domain if d not in group.axes]
    reduced_axes = [d for d in domain if d in group.axes]
    bases, address = [], {}
    for i, k in enumerate(kernel.inputs):
        kept_moving = [d for d in kept_axes if not k.broadcastable[d]]
        reduced_moving = [d for d in reduced_axes if not k.broadcastable[d]]
        bases.append(f"const char* base{i} = in{i} + ({_offset(kept_moving, i, 's')});")
        address[i] = f"base{i} + ({_offset(reduced_moving, i, 's')})"
    starts = [
        f"{_ctype(accumulator_dtype(kernel.outputs[p]))} acc{p} = "
        f"{_start_literal(kernel.outputs[p])};"
        for p in group.outputs
    ]
    accumulate = []
    for p in group.outputs:
        output = kernel.outputs[p]
        value = scalar.cast(
            f"v_{output.slot}", kernel.slot_dtype(output.slot), accumulator_dtype(output)
        )
        accumulate.append(f"acc{p} = {_combine_name(name, p)}(acc{p}, {value});")
    element = [
        "{",
        *_indent(_unflatten("r", reduced_axes) + _body(kernel, group.outputs, address), 1),
        *_indent(accumulate, 1),
        "}",
    ]
    per_block = ["{", *_indent(_unflatten("m", kept_axes) + bases, 1)]
    per_block += _indent(starts, 1)
    per_block.append(f"    for (long long r = first + threadIdx.x; r < last; r += {BLOCK})")
    per_block += _indent(element, 1)
    per_block += _indent(_tree_and_store(kernel, name, group.outputs), 1)
    per_block.append("}")
    lines = [
        f'extern "C" __global__ void __launch_bounds__({BLOCK}) {name}_{group.entry}(',
        *_indent([p + "," for p in params[:-1]] + [params[-1]], 1),
        ") {",
        *_indent(_shared_buffers(kernel, name, group.outputs), 1),
        *_indent(_block_loop(per_block), 1),
        "}",
    ]
    return "\n".join(lines)


def _partial_entry(kernel: Kernel, name: str, position: int) -> str:
    """``N_part<p>``: reduce ``kept x width`` partial accumulators by rows, in chunks."""
    output = kernel.outputs[position]
    acc = _ctype(accumulator_dtype(output))
    p = position
    params = [
        f"const {acc}* __restrict__ src",
        "const long long kept",
        "const long long width",
        "const long long chunks",
        "const long long chunk_len",
        f"char* __restrict__ part{p}",
        f"char* __restrict__ out{p}",
    ]
    per_block = [
        f"{acc} acc{p} = {_start_literal(output)};",
        f"for (long long r = first + threadIdx.x; r < last; r += {BLOCK})",
        f"    acc{p} = {_combine_name(name, p)}(acc{p}, src[m * width + r]);",
        *_tree_and_store(kernel, name, (p,)),
    ]
    lines = [
        f'extern "C" __global__ void __launch_bounds__({BLOCK}) {name}_part{p}(',
        *_indent([q + "," for q in params[:-1]] + [params[-1]], 1),
        ") {",
        "    const long long reduced = width;",
        *_indent(_shared_buffers(kernel, name, (p,)), 1),
        *_indent(_block_loop(["{", *_indent(per_block, 1), "}"]), 1),
        "}",
    ]
    return "\n".join(lines)
