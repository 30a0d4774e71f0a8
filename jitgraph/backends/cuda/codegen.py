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
- ``N_ew<g>_vector`` besides ``_contiguous`` where ``vector_width(kernel, group)`` is
  ``K > 1``: the same arguments; thread-iteration ``v`` moves elements ``v*K .. v*K+K-1``
  of every array it reads or writes with one load or store of ``K * itemsize <= 16``
  bytes (``jg_vec<T, K>``), then the last ``n % K`` elements one by one. Launched when every
  such array's address is a multiple of its vector size (CuPy's allocations are; a view
  with an offset may not be, and takes ``_contiguous``);
- ``N_red<g>`` for each group ``g`` of reduction outputs with the same axes: the
  deterministic reduction below, launched on ``blocks(...)`` blocks. Arguments: the
  pointers of every input, then of the group's outputs (C-contiguous, in the output
  dtype), then of their partial buffers (in the accumulator dtype), ``long long kept,
  reduced, chunks, chunk_len`` (``chunk_length(kernel, group)``), the ``ndim`` extents
  and the byte strides of every input;
- ``N_red<g>_thread`` and ``N_red<g>_warp`` besides a row-scheme ``N_red<g>`` (below):
  the same arguments, for rows short enough to reduce in one pass
  (``small_reduction(reduced)``);
- ``N_part<p>`` for each reduction output ``p``: one further pass over partial results
  (``src`` of ``kept x width`` accumulators, ``kept, width, chunks, chunk_len``, then
  ``dst`` partials and ``out``), and ``N_part<p>_thread``/``_warp`` for the last pass
  when ``width`` is small.

The reduction scheme is fixed by the kernel and the sizes alone, never by launch timing
or block scheduling, so results are reproducible. The reduced index space (the reduced
axes, last fastest) is cut into ``chunks`` chunks of ``chunk_len`` values. Each thread
combines its values of a chunk in order, starting from the reduction's start value (16
of them in a full chunk, unrolled so that their loads are in flight together), then the
block's values meet in a fixed tree:

- the *row scheme* (the domain's last axis is reduced; ``chunk_len = CHUNK``): block
  ``b`` reduces chunk ``c = b % chunks`` of kept element ``m = b / chunks``; thread ``t``
  takes elements ``t, t + BLOCK, ...`` of the chunk (neighbouring threads read
  neighbouring values). Each warp combines its 32 values by shuffles (lane ``l`` takes
  lane ``l + d``'s, ``d = 16, 8, .., 1``), then warp 0 combines the ``BLOCK / 32`` warp
  values the same way;
- the *column scheme* (the domain's last axis is kept; ``chunk_len = COLUMN_CHUNK``):
  block ``b`` reduces chunk ``c = b % chunks`` of a tile of 32 neighbouring kept
  elements; thread ``t`` takes kept element ``t % 32`` of the tile and the chunk's
  elements ``t / 32, t / 32 + BLOCK / 32, ...``, so a warp reads 32 neighbouring values.
  The ``BLOCK / 32`` values of each kept element meet in shared memory, halving.

With one chunk the result is written, cast to the output dtype; else the chunk's value
goes to partial ``m * chunks + c`` and ``N_part`` passes (the row scheme over ``kept x
chunks`` partials) reduce them until one chunk is left.

A block per row wastes most of its threads on a short row (a softmax over ten classes),
so rows of at most ``PER_THREAD`` values take a thread each (``_thread``: the values in
order) and rows of at most ``WARP * PER_THREAD`` a warp each (``_warp``: lane ``l``
combines values ``l, l + 32, ...`` in order, then the warp's shuffle tree), in one pass;
the last partial pass likewise. The choice depends on the sizes only. Float sums accumulate in
``acc_dtype`` (a float32 sum in float32), so their error grows like (16 + log2 BLOCK)
per pass, about the pairwise bound of NumPy's and the LLVM backend's.

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
    "blocks",
    "chunk_length",
    "column_scheme",
    "has_contiguous",
    "vector_arrays",
    "vector_width",
    "kernel_functions",
    "kernel_source",
    "module_source",
    "passes",
    "small_reduction",
]

BLOCK = 256  # threads per block (a power of two: the shared-memory tree halves it)
WARP = 32
WARPS = BLOCK // WARP
PER_THREAD = 16  # reduced values per thread in a full chunk
CHUNK = BLOCK * PER_THREAD  # reduced values per block (row scheme), then the tree
COLUMN_CHUNK = WARPS * PER_THREAD  # reduced values per column of a block (column scheme)
VECTOR_BYTES = 16  # the widest load or store of one thread (ld.global.v4.u32)
MAX_LANES = 8  # elements per thread-iteration at most (one-byte dtypes stop at 8)


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


def vector_arrays(kernel: Kernel, group: Pass) -> tuple[list[int], list[int]]:
    """The inputs (positions) that elementwise ``group`` reads one element per domain
    element (not the one-element ones), and its outputs: the arrays a vector entry moves
    in vectors."""
    inputs = sorted(
        s.position
        for s in needed_slots(kernel, group.outputs)
        if s.kind == INPUT and not all(kernel.inputs[s.position].broadcastable)
    )
    return inputs, list(group.outputs)


def vector_width(kernel: Kernel, group: Pass) -> int:
    """``K``, the elements per thread-iteration of ``group``'s vector entry: the most that
    fit in ``VECTOR_BYTES`` for the widest array it moves (at most ``MAX_LANES``); 1 (no
    vector entry) without a contiguous entry or when a 16-byte dtype is moved."""
    if group.is_reduction or not has_contiguous(kernel, group):
        return 1
    inputs, outputs = vector_arrays(kernel, group)
    sizes = [_itemsize(kernel.inputs[i].dtype) for i in inputs]
    sizes += [_itemsize(kernel.outputs[p].dtype) for p in outputs]
    return min(MAX_LANES, VECTOR_BYTES // max(sizes))


# ============================================================================ sources
def kernel_source(kernel: Kernel, name: str) -> str:
    """A complete CUDA C translation unit: the prelude and ``kernel``'s entry points
    named ``{name}_<entry>`` (see the module docstring)."""
    return module_source([(kernel, name)])


def module_source(kernels: Sequence[tuple[Kernel, str]]) -> str:
    """One translation unit defining the entry points of every ``(kernel, name)``."""
    parts = [scalar.PRELUDE, _HELPERS] + [kernel_functions(k, n) for k, n in kernels]
    return "\n".join(parts)


def kernel_functions(kernel: Kernel, name: str) -> str:
    """``kernel``'s functions without the prelude (a listing of the kernel first)."""
    listing = "\n".join("// " + line for line in kernel.as_text().splitlines())
    parts = [listing]
    for group in passes(kernel):
        if group.is_reduction:
            parts += [_combine_function(kernel, name, p) for p in group.outputs]
            parts.append(_reduction_entry(kernel, name, group))
            if not column_scheme(kernel, group):
                parts += _small_reduction_entries(kernel, name, group)
            for p in group.outputs:
                parts += [_partial_entry(kernel, name, p), *_small_partial_entries(kernel, name, p)]
        else:
            parts.append(_elementwise_entry(kernel, name, group, contiguous=False))
            if has_contiguous(kernel, group):
                parts.append(_elementwise_entry(kernel, name, group, contiguous=True))
            if vector_width(kernel, group) > 1:
                parts.append(_vector_entry(kernel, name, group))
    return "\n\n".join(parts) + "\n"


# ============================================================================ values
def _ctype(dtype: str) -> str:
    return scalar.C_TYPES[dtype]


def _load(dtype: str, address: str) -> str:
    """The value of ``dtype`` at byte address expression ``address``."""
    return f"*reinterpret_cast<const {_ctype(dtype)}*>({address})"


def _loads(kernel: Kernel, address: dict[int, str]) -> dict[int, str]:
    """Input values loaded from byte address expressions (``address[i]`` for input i)."""
    return {i: _load(kernel.inputs[i].dtype, a) for i, a in address.items()}


def _body(kernel: Kernel, outputs: Sequence[int], value_of: dict[int, str]) -> list[str]:
    """Statements computing the slots ``outputs`` need: ``v_in<i>`` as ``value_of[i]``
    (a C expression of input i's element), ``v_c<i>`` constants, ``v_t<k>``
    instructions with their arguments cast to the compute dtypes."""
    lines = []
    for slot in needed_slots(kernel, outputs):
        dtype = kernel.slot_dtype(slot)
        if slot.kind == INPUT:
            value = value_of[slot.position]
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
        *_indent(unflatten + _body(kernel, group.outputs, _loads(kernel, address)) + stores, 2),
        "    }",
        "}",
    ]
    return "\n".join(lines)


def _itemsize(dtype: str) -> int:
    return np.dtype(dtype).itemsize


_HELPERS = """\
/* K elements of T moved by one load or store (K * sizeof(T) is a power of two <= 16) */
template <typename T, int K> struct alignas(K * sizeof(T)) jg_vec { T v[K]; };
/* __shfl_down_sync for any accumulator type, moved as 32-bit words */
template <typename T> __device__ __forceinline__ T jg_shfl_down(T value, int delta) {
    constexpr int words = (sizeof(T) + 3) / 4;
    unsigned int w[words] = {};
    memcpy(w, &value, sizeof(T));
#pragma unroll
    for (int k = 0; k < words; ++k) w[k] = __shfl_down_sync(0xffffffffu, w[k], delta);
    T result;
    memcpy(&result, w, sizeof(T));
    return result;
}
"""


def _vector_entry(kernel: Kernel, name: str, group: Pass) -> str:
    """``N_ew<g>_vector``: the contiguous entry moving ``K`` elements per thread-iteration
    in vectors, then the ``n % K`` tail element by element (see the module docstring)."""
    lanes = vector_width(kernel, group)
    inputs, outputs = vector_arrays(kernel, group)
    params = [f"const char* __restrict__ in{i}" for i in range(len(kernel.inputs))]
    params += [f"char* __restrict__ out{p}" for p in group.outputs]
    params.append("const long long n")

    def vector(dtype: str) -> str:
        return f"jg_vec<{_ctype(dtype)}, {lanes}>"

    loads = [
        f"const {vector(kernel.inputs[i].dtype)} x{i} = "
        f"reinterpret_cast<const {vector(kernel.inputs[i].dtype)}*>(in{i})[v];"
        for i in inputs
    ]
    results = [f"{vector(kernel.outputs[p].dtype)} y{p};" for p in outputs]
    value_of = _loads(
        kernel, {i: f"in{i}" for i, k in enumerate(kernel.inputs) if all(k.broadcastable)}
    )
    value_of.update({i: f"x{i}.v[j]" for i in inputs})
    lane = _body(kernel, outputs, value_of)
    lane += [f"y{p}.v[j] = v_{kernel.outputs[p].slot};" for p in outputs]
    stores = [
        f"reinterpret_cast<{vector(kernel.outputs[p].dtype)}*>(out{p})[v] = y{p};" for p in outputs
    ]
    tail_address = {
        i: f"in{i}" if all(k.broadcastable) else f"in{i} + i * {_itemsize(k.dtype)}"
        for i, k in enumerate(kernel.inputs)
    }
    tail = _body(kernel, outputs, _loads(kernel, tail_address))
    tail += [
        f"*reinterpret_cast<{_ctype(kernel.outputs[p].dtype)}*>"
        f"(out{p} + i * {_itemsize(kernel.outputs[p].dtype)}) = v_{kernel.outputs[p].slot};"
        for p in outputs
    ]
    lines = [
        f'extern "C" __global__ void {name}_{group.entry}_vector(',
        *_indent([p + "," for p in params[:-1]] + [params[-1]], 1),
        ") {",
        "    const long long step = (long long)gridDim.x * blockDim.x;",
        "    const long long start = (long long)blockIdx.x * blockDim.x + threadIdx.x;",
        f"    const long long vectors = n / {lanes};",
        "    for (long long v = start; v < vectors; v += step) {",
        *_indent(loads + results, 2),
        "#pragma unroll",
        f"        for (int j = 0; j < {lanes}; ++j) {{",
        *_indent(lane, 3),
        "        }",
        *_indent(stores, 2),
        "    }",
        f"    for (long long i = vectors * {lanes} + start; i < n; i += step) {{",
        *_indent(tail, 2),
        "    }",
        "}",
    ]
    return "\n".join(lines)


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


def _shared_buffers(kernel: Kernel, outputs: Sequence[int], count: int) -> list[str]:
    """Raw shared memory of ``count`` accumulators per output (raw bytes: the accumulator
    types may have constructors, which ``__shared__`` variables may not)."""
    lines = []
    for p in outputs:
        t = _ctype(accumulator_dtype(kernel.outputs[p]))
        lines += [
            f"__shared__ __align__(16) unsigned char shared{p}_raw[{count} * sizeof({t})];",
            f"{t}* shared{p} = reinterpret_cast<{t}*>(shared{p}_raw);",
        ]
    return lines


def _store_result(kernel: Kernel, p: int, value: str, indent: str) -> list[str]:
    """Write output ``p``'s value for kept element ``m`` and chunk ``c``: the output
    itself when there is one chunk, else partial ``m * chunks + c``."""
    output = kernel.outputs[p]
    acc, t = accumulator_dtype(output), _ctype(output.dtype)
    final = scalar.cast(value, acc, output.dtype)
    return [
        f"{indent}if (chunks == 1) reinterpret_cast<{t}*>(out{p})[m] = {final};",
        f"{indent}else reinterpret_cast<{_ctype(acc)}*>(part{p})[m * chunks + c] = {value};",
    ]


def _warp_tree(name: str, outputs: Sequence[int], width: int) -> list[str]:
    """Combine ``acc<p>`` of lanes ``0 .. width-1`` into lane 0, halving (lane ``l`` takes
    lane ``l + d``'s value, ``d = width/2 .. 1``)."""
    lines = [f"for (int d = {width // 2}; d > 0; d >>= 1) {{"]
    lines += [
        f"    acc{p} = {_combine_name(name, p)}(acc{p}, jg_shfl_down(acc{p}, d));" for p in outputs
    ]
    return [*lines, "}"]


def _tree_and_store(kernel: Kernel, name: str, outputs: Sequence[int]) -> list[str]:
    """The row scheme's fixed tree: each warp combines its 32 values by shuffles, warp 0
    then combines the ``BLOCK / 32`` warp values; thread 0 writes the block's result."""
    lines = _warp_tree(name, outputs, WARP)
    lines += [f"if ((threadIdx.x & {WARP - 1}) == 0) {{"]
    lines += [f"    shared{p}[threadIdx.x / {WARP}] = acc{p};" for p in outputs]
    lines += ["}", "__syncthreads();", f"if (threadIdx.x < {WARP}) {{"]
    for p in outputs:
        start = _start_literal(kernel.outputs[p])
        lines.append(f"    acc{p} = threadIdx.x < {WARPS} ? shared{p}[threadIdx.x] : {start};")
    lines += _indent(_warp_tree(name, outputs, WARPS), 1)
    lines.append("    if (threadIdx.x == 0) {")
    for p in outputs:
        lines += _store_result(kernel, p, f"acc{p}", "        ")
    lines += ["    }", "}", "__syncthreads();  // the shared buffers are reused by the next b"]
    return lines


def _column_tree_and_store(kernel: Kernel, name: str, outputs: Sequence[int]) -> list[str]:
    """The column scheme's fixed tree: the ``BLOCK / 32`` rows of each column meet in
    shared memory, halving; row 0 writes its column's result."""
    lines = [f"shared{p}[threadIdx.x] = acc{p};" for p in outputs]
    lines.append("__syncthreads();")
    lines.append(f"for (int half = {WARPS // 2}; half > 0; half >>= 1) {{")
    lines.append("    if (row < half) {")
    for p in outputs:
        lines.append(
            f"        shared{p}[threadIdx.x] = {_combine_name(name, p)}"
            f"(shared{p}[threadIdx.x], shared{p}[threadIdx.x + half * {WARP}]);"
        )
    lines += ["    }", "    __syncthreads();", "}", "if (row == 0 && m < kept) {"]
    for p in outputs:
        lines += _store_result(kernel, p, f"shared{p}[threadIdx.x]", "    ")
    lines += ["}", "__syncthreads();  // the shared buffers are reused by the next b"]
    return lines


def column_scheme(kernel: Kernel, group: Pass) -> bool:
    """Whether reduction ``group`` runs in the column scheme: its domain's last axis is
    kept (and some axis is reduced), so neighbouring kept elements are neighbours in a
    C-contiguous input and a warp reading 32 of them reads one run of memory."""
    domain = [d for d in range(kernel.ndim) if not group.pattern[d]]
    reduces = any(d in group.axes for d in domain)
    return reduces and domain[-1] not in group.axes


def chunk_length(kernel: Kernel, group: Pass) -> int:
    """Reduced values per block (per column in the column scheme)."""
    return COLUMN_CHUNK if column_scheme(kernel, group) else CHUNK


def blocks(kernel: Kernel, group: Pass, kept: int, chunks: int) -> int:
    """The blocks reduction ``group`` needs for ``kept`` outputs of ``chunks`` chunks."""
    if column_scheme(kernel, group):
        return -(-kept // WARP) * chunks
    return kept * chunks


def _reduction_pieces(
    kernel: Kernel, name: str, group: Pass
) -> tuple[list[str], list[str], list[str], list[str]]:
    """What every entry of reduction ``group`` is made of: its parameters, the
    statements locating kept element ``m`` (``base<i>``), the accumulators' starts, and
    the block combining reduced element ``r`` of ``m`` into the accumulators."""
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
        *_indent(
            _unflatten("r", reduced_axes) + _body(kernel, group.outputs, _loads(kernel, address)),
            1,
        ),
        *_indent(accumulate, 1),
        "}",
    ]
    return params, [*_unflatten("m", kept_axes), *bases], starts, element


def _reduction_entry(kernel: Kernel, name: str, group: Pass) -> str:
    columns = column_scheme(kernel, group)
    params, locate, starts, element = _reduction_pieces(kernel, name, group)
    # Each thread combines its values in order: r = first + lane, + step, ... A full chunk
    # has PER_THREAD of them, unrolled so that their loads are all in flight at once.
    lane, step = ("row", WARPS) if columns else ("threadIdx.x", BLOCK)
    full = chunk_length(kernel, group)
    values = [
        f"if (last - first == {full}) {{",
        "#pragma unroll",
        f"    for (int k = 0; k < {PER_THREAD}; ++k) {{",
        f"        const long long r = first + {lane} + k * {step};",
        *_indent(element, 2),
        "    }",
        "} else {",
        f"    for (long long r = first + {lane}; r < last; r += {step})",
        *_indent(element, 2),
        "}",
    ]
    load = [*locate, *values]
    if columns:
        per_block = ["{", *_indent(starts, 1), "    if (m < kept) {", *_indent(load, 2), "    }"]
        per_block += _indent(_column_tree_and_store(kernel, name, group.outputs), 1)
        loop = _column_block_loop([*per_block, "}"])
        shared = _shared_buffers(kernel, group.outputs, BLOCK)
    else:
        per_block = ["{", *_indent(starts, 1), *_indent(load, 1)]
        per_block += _indent(_tree_and_store(kernel, name, group.outputs), 1)
        loop = _block_loop([*per_block, "}"])
        shared = _shared_buffers(kernel, group.outputs, WARPS)
    lines = [
        f'extern "C" __global__ void __launch_bounds__({BLOCK}) {name}_{group.entry}(',
        *_indent([p + "," for p in params[:-1]] + [params[-1]], 1),
        ") {",
        *_indent(shared, 1),
        *_indent(loop, 1),
        "}",
    ]
    return "\n".join(lines)


def _block_loop(body: list[str]) -> list[str]:
    """The row scheme's grid-stride loop over blocks ``b``: kept element ``m``, chunk
    ``c``, reduced range ``[first, last)``."""
    return [
        "for (long long b = blockIdx.x; b < kept * chunks; b += gridDim.x) {",
        "    const long long m = b / chunks;",
        "    const long long c = b % chunks;",
        "    const long long first = c * chunk_len;",
        "    const long long last = first + chunk_len < reduced ? first + chunk_len : reduced;",
        *_indent(body, 1),
        "}",
    ]


def _column_block_loop(body: list[str]) -> list[str]:
    """The column scheme's grid-stride loop over blocks ``b``: a tile of 32 kept
    elements (thread ``t`` takes ``m``, the tile's ``t % 32``-th, and reduced values
    ``first + t / 32`` in steps of ``BLOCK / 32``), chunk ``c``."""
    return [
        f"const int row = threadIdx.x / {WARP};",
        f"const long long tiles = (kept + {WARP - 1}) / {WARP};",
        "for (long long b = blockIdx.x; b < tiles * chunks; b += gridDim.x) {",
        f"    const long long m = (b / chunks) * {WARP} + (threadIdx.x & {WARP - 1});",
        "    const long long c = b % chunks;",
        "    const long long first = c * chunk_len;",
        "    const long long last = first + chunk_len < reduced ? first + chunk_len : reduced;",
        *_indent(body, 1),
        "}",
    ]


def small_reduction(width: int) -> str | None:
    """The entry suffix for reducing rows of ``width`` values in one pass (the row
    scheme's domains and the partial passes): ``_thread`` (a thread per row, at most
    ``PER_THREAD`` values in order), ``_warp`` (a warp per row: each lane takes values
    ``lane, lane + 32, ...`` in order, then the warp's shuffle tree; at most
    ``WARP * PER_THREAD`` values), or None (wider: the block scheme, in chunks)."""
    if width <= PER_THREAD:
        return "_thread"
    if width <= WARP * PER_THREAD:
        return "_warp"
    return None


def _small_entry(
    kernel: Kernel,
    name: str,
    entry: str,
    params: Sequence[str],
    outputs: Sequence[int],
    per_row: tuple[list[str], list[str], list[str]],
    warp: bool,
    prologue: Sequence[str] = (),
) -> str:
    """A reduction entry writing ``out<p>[m]`` for each kept element ``m``, reduced by
    one thread (``warp`` False) or one warp; ``per_row``: the statements locating ``m``,
    the accumulators' starts, and the block combining element ``r``; ``prologue``:
    statements at the top (they may define ``kept`` and ``reduced``)."""
    locate, starts, element = per_row
    if warp:
        loop = [
            f"const int lane = threadIdx.x & {WARP - 1};",
            f"const long long step = (long long)gridDim.x * {WARPS};",
            f"for (long long m = (long long)blockIdx.x * {WARPS} + threadIdx.x / {WARP}; "
            "m < kept; m += step) {",
        ]
        values = [f"for (long long r = lane; r < reduced; r += {WARP})", *element]
        tree = [*_warp_tree(name, outputs, WARP), "if (lane == 0) {"]
    else:
        loop = [
            f"const long long step = (long long)gridDim.x * {BLOCK};",
            f"for (long long m = (long long)blockIdx.x * {BLOCK} + threadIdx.x; "
            "m < kept; m += step) {",
        ]
        values = ["for (long long r = 0; r < reduced; ++r)", *element]
        tree = ["{"]
    stores = []
    for p in outputs:
        output = kernel.outputs[p]
        final = scalar.cast(f"acc{p}", accumulator_dtype(output), output.dtype)
        stores.append(f"    reinterpret_cast<{_ctype(output.dtype)}*>(out{p})[m] = {final};")
    body = [*locate, *starts, *values, *tree, *stores, "}"]
    lines = [
        f'extern "C" __global__ void __launch_bounds__({BLOCK}) {name}_{entry}(',
        *_indent([q + "," for q in params[:-1]] + [params[-1]], 1),
        ") {",
        *_indent([*prologue, *loop, *_indent(body, 1), "}"], 1),
        "}",
    ]
    return "\n".join(lines)


def _small_reduction_entries(kernel: Kernel, name: str, group: Pass) -> list[str]:
    """``N_red<g>_thread`` and ``N_red<g>_warp`` of a row-scheme group (same arguments
    as ``N_red<g>``; ``chunks`` is 1 and the partial buffers are not written)."""
    params, locate, starts, element = _reduction_pieces(kernel, name, group)
    per_row = (locate, starts, element)
    return [
        _small_entry(kernel, name, group.entry + suffix, params, group.outputs, per_row, warp)
        for suffix, warp in (("_thread", False), ("_warp", True))
    ]


def _small_partial_entries(kernel: Kernel, name: str, position: int) -> list[str]:
    """``N_part<p>_thread`` and ``N_part<p>_warp``: the last partial pass, for ``width``
    small enough to need one chunk (``small_reduction``); same arguments as ``N_part<p>``."""
    output = kernel.outputs[position]
    acc, p = _ctype(accumulator_dtype(output)), position
    params = _partial_params(acc, p)
    combine = f"acc{p} = {_combine_name(name, p)}(acc{p}, src[m * width + r]);"
    starts = [f"{acc} acc{p} = {_start_literal(output)};"]
    per_row: tuple[list[str], list[str], list[str]] = ([], starts, ["{", f"    {combine}", "}"])
    prologue = ["const long long reduced = width;"]
    return [
        _small_entry(kernel, name, f"part{p}{suffix}", params, (p,), per_row, warp, prologue)
        for suffix, warp in (("_thread", False), ("_warp", True))
    ]


def _partial_params(acc: str, p: int) -> list[str]:
    return [
        f"const {acc}* __restrict__ src",
        "const long long kept",
        "const long long width",
        "const long long chunks",
        "const long long chunk_len",
        f"char* __restrict__ part{p}",
        f"char* __restrict__ out{p}",
    ]


def _partial_entry(kernel: Kernel, name: str, position: int) -> str:
    """``N_part<p>``: reduce ``kept x width`` partial accumulators by rows, in chunks."""
    output = kernel.outputs[position]
    acc = _ctype(accumulator_dtype(output))
    p = position
    params = _partial_params(acc, p)
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
        *_indent(_shared_buffers(kernel, (p,), WARPS), 1),
        *_indent(_block_loop(["{", *_indent(per_block, 1), "}"]), 1),
        "}",
    ]
    return "\n".join(lines)
