"""The plan of scan's native loop, as data: where each value of the step lies at step
``t`` (``Pointer``), what runs at each step (``Action``), and the ``LoopPlan`` that the
code generator (scan_loop_codegen.py) and each call (scan_loop_layout.py) read;
scan_loop_build.py builds it from the optimized step (the overview is in scan_loop.py).

Values are named by the step program's slots (and, past ``program.n_slots``, by values
of the loop's own: the rows results are stored into, the part of a buffer an increment
writes). Sizes, strides and addresses are never in the plan: they are *fields* of the
context, an int64 array that each call fills (field 0 is the loop's status), so one
compiled loop serves every size and layout.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from jitgraph.backends.kernel import Kernel

STATUS = 0  # the context field where the loop says how it stopped
RAN_ALL, STOPPED, FAILED = 0, 1, 2  # its values: every step ran, until fired, a check failed


# ============================================================================ pointers
@dataclasses.dataclass(frozen=True)
class Fixed:
    """The same array at every step: field ``field`` holds its address."""

    field: int


@dataclasses.dataclass(frozen=True)
class Row:
    """Row ``t + shift`` along the leading axis of an array whose address and row stride
    are the fields ``base`` and ``stride``; on a ring buffer, row ``(t + shift) % rows``
    with ``rows`` the field ``ring``."""

    base: int
    stride: int
    shift: int
    ring: int | None = None


@dataclasses.dataclass(frozen=True)
class PingPong:
    """A shared state's two-row buffer: the value read at step ``t`` is row ``t & 1``, the
    value the step stores for step ``t + 1`` (``next``) is the other row, so a step never
    overwrites what it reads."""

    base: int
    half: int
    next: bool


@dataclasses.dataclass(frozen=True)
class IndexTerm:
    """An integer read at every step from the 0-d value ``value``, checked against the
    field ``dim`` (the size of ``axis`` of the indexed value) and wrapped as NumPy wraps
    negative indices, times the field ``stride`` (that axis's byte stride)."""

    value: int
    dtype: str
    axis: int
    dim: int
    stride: int


@dataclasses.dataclass(frozen=True)
class View:
    """Inside value ``of``: the fixed byte offset in field ``offset`` plus the ``indices``
    read at every step."""

    of: int
    offset: int
    indices: tuple[IndexTerm, ...] = ()


Pointer = Fixed | Row | PingPong | View


@dataclasses.dataclass(frozen=True)
class Value:
    dtype: str
    ndim: int
    pointer: Pointer


# ============================================================================ actions
@dataclasses.dataclass(frozen=True)
class ComputeView:
    """Compute the address of ``value`` (a ``View``) here, after its indices are known.
    ``replay(arrays)`` gives, per call, the view at step 0 with every per-step index 0."""

    value: int
    replay: Callable[[dict[int, np.ndarray]], np.ndarray] = dataclasses.field(
        compare=False, repr=False
    )


@dataclasses.dataclass(frozen=True)
class KernelCall:
    """``{name}_strided(0, rows, data, extents, strides)``: data is ``arrays`` (inputs,
    then outputs); rows, extents and strides are fields (codegen's kernel ABI)."""

    name: str
    arrays: tuple[int, ...]
    n_inputs: int
    ndim: int
    rows: int
    extents: int
    strides: int
    compiled: Any = dataclasses.field(compare=False, repr=False)


@dataclasses.dataclass(frozen=True)
class ProductCall:
    """``out = alpha * (a @ b) (+ out if accumulate)`` ('product'), or ``out += alpha *
    outer(a, b)`` ('outer'). ``alpha`` None: 1. ``ranks``: a's and b's, for the
    matrices each call describes. Field ``choice`` picks how: ``INLINE`` (-1), a loop of
    the loop's own (small products, where a BLAS call costs more than the arithmetic:
    the ``INLINE_FIELDS`` fields from ``inline`` on hold m, n, k, the byte strides of
    the (m, k), (k, n) and (m, n) matrices, and whether the innermost loop runs along
    m), or routine ``routines[choice]`` by pointer, with the operands in the order field
    ``b_first`` says and the integer arguments from field ``integers`` on."""

    kind: str
    dtype: str
    routines: tuple[str, ...]
    a: int
    b: int
    out: int
    ranks: tuple[int, int]
    alpha: int | None
    accumulate: bool
    choice: int
    b_first: int
    integers: int
    inline: int


INTEGER_FIELDS = 8  # the most char/int arguments of a routine (gemm)
INLINE_FIELDS = 10
INLINE = -1


@dataclasses.dataclass(frozen=True)
class Elementwise:
    """Over ``target``'s shape: ``target = source`` ('copy', bit for bit, one dtype),
    ``target = factor * source`` ('scale'), ``target = cast(source)`` ('set') or
    ``target += cast(source)`` ('add'); the source broadcasts (stride 0). Fields:
    ``extents`` (ndim), then the target's and the source's byte strides."""

    operation: str
    target: int
    source: int
    factor: int | None
    ndim: int
    extents: int
    target_strides: int
    source_strides: int


Action = ComputeView | KernelCall | ProductCall | Elementwise


@dataclasses.dataclass(frozen=True)
class PushedProduct:
    """A product of a sequence's rows and a loop-invariant matrix (``row @ matrix``, or
    ``matrix @ row`` where ``matrix_first``), computed for every step at once before the
    loop (one matrix product of all the rows): value ``value`` is row ``t`` of the
    result, whose address and row stride are the fields ``base`` and ``stride``."""

    value: int
    sequence: int
    shift: int
    matrix: int
    matrix_first: bool
    base: int
    stride: int


@dataclasses.dataclass(frozen=True)
class LoopPlan:
    """Everything the loop's code depends on (``repr`` is its identity, with the kernels'
    keys), and what each call fills: ``fixed`` values (address fields), the fields of
    the ``sequences`` (base, stride), ``histories`` (base, stride, rows), ``nits`` (base,
    stride) and ``shared`` (base, half) buffers; ``buffers``: the slots the loop computes
    into arrays of its own; ``until``: the stop condition's value."""

    values: tuple[tuple[int, Value], ...]
    actions: tuple[Action, ...]
    until: int | None
    n_fields: int
    fixed: tuple[tuple[int, int], ...]
    sequences: tuple[tuple[int, int], ...]
    histories: tuple[tuple[int, int, int], ...]
    nits: tuple[tuple[int, int], ...]
    shared: tuple[tuple[int, int], ...]
    buffers: tuple[int, ...]
    destinations: tuple[int, ...]  # per output (states, nits, shared): its store's target
    invariant_steps: tuple[int, ...]  # the program's steps computing what the loop reads
    shape_slots: tuple[int, ...]  # invariant values that sizes depend on (index bounds, ...)
    pushed: tuple[PushedProduct, ...]
    kernels: tuple[tuple[str, Kernel], ...] = dataclasses.field(compare=False, repr=False)

    @functools.cached_property  # read at every call: computed once (not a field)
    def address_fields(self) -> tuple[int, ...]:
        """The fields holding array addresses, in the order each call gives the arrays:
        sequences, histories, nit outputs, shared buffers, pushed products, then the
        ``fixed`` values."""
        fields = [base for base, _ in self.sequences]
        fields += [base for base, _, _ in self.histories]
        fields += [base for base, _ in self.nits]
        fields += [base for base, _ in self.shared]
        fields += [pushed.base for pushed in self.pushed]
        return (*fields, *(field for _, field in self.fixed))

    @functools.cached_property
    def invariant_inputs(self) -> tuple[int, ...]:
        """The invariant values each call computes: those the loop reads, those sizes
        depend on, the pushed products' matrices."""
        read = [slot for slot, _ in self.fixed if slot not in self.buffers]
        matrices = [pushed.matrix for pushed in self.pushed]
        return tuple(dict.fromkeys((*read, *self.shape_slots, *matrices)))

    def identity(self) -> str:
        """A text that determines the loop's code (the cache key's graph part)."""
        keys = ",".join(f"{name}={kernel.key()}" for name, kernel in self.kernels)
        return f"{self!r}|{keys}"
