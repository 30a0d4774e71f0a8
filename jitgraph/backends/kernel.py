"""Backend-neutral fused kernels: the loop that the LLVM and CUDA backends both lower.

A ``Kernel`` is one pass over a loop domain of rank ``ndim``:

- ``inputs``: full-rank arrays, each with a dtype and a broadcast pattern (``True`` where
  the dim is a static 1 and broadcasts). The loop's extent along an axis is the common
  size of the inputs that do not broadcast there (1 when all do): every non-broadcasting
  input must have that size, which is the run-time check of the kernel.
- ``constants``: single values (0-d) inlined into the body.
- ``body``: scalar instructions in SSA form, ``t<k> = op(args)``; ``op`` is an entry of
  THE elementwise table (``jitgraph.ops.scalar``), each argument a ``Slot`` naming an
  input (``in<i>``), a constant (``c<i>``) or an earlier result (``t<k>``). A result
  broadcasts where all its arguments do (its "pattern"), exactly as ``Elemwise``'s output.
- ``outputs``: a temporary written out elementwise (shaped by its own pattern: a dim
  where it broadcasts has length 1, the value being the same all along the loop), or a
  reduction (an entry of ``jitgraph.ops.reduce.REDUCTIONS``) of a value over ``axes``
  (one axis or more: over none, a reduction is a cast, left to the ``Reduce`` op). A
  reduced value spans the whole loop domain (its pattern is the loop's), so a backend
  accumulates it over the loop's own extents.

Each instruction computes as ``Elemwise.perform`` does: its arguments are cast to the
compute dtypes of the entry's dtype rule, the entry runs, the result is cast to the
instruction's dtype. ``evaluate`` is that interpretation with NumPy, bit for bit equal to
the unfused graph on the reference backend.

A kernel holds no sizes: equal structure means equal kernels (``==``, ``hash``), and
``key()`` is a stable digest for caching compiled code, reused for every size.

>>> import numpy as np
>>> from jitgraph.ops.scalar import SCALAR_OPS
>>> kernel = Kernel(
...     ndim=1,
...     inputs=(KernelInput("float64", (False,)), KernelInput("float64", (False,))),
...     constants=(),
...     body=(Instruction(SCALAR_OPS["subtract"], (Slot("in", 0), Slot("in", 1)), "float64"),
...           Instruction(SCALAR_OPS["square"], (Slot("t", 0),), "float64")),
...     outputs=(KernelOutput(Slot("t", 0), "float64"),
...              KernelOutput(Slot("t", 1), "float64", reduction=REDUCTIONS["sum"], axes=(0,),
...                           acc_dtype="float64")),
... )
>>> print(kernel.as_text())
kernel(rank 1; in0: float64[?], in1: float64[?]) {
  t0: float64 = subtract(in0, in1)
  t1: float64 = square(t0)
  out0: float64 = t0
  out1: float64 = sum(t1, axes=(0,))
}
>>> evaluate(kernel, [np.array([3.0, 1.0]), np.array([1.0, 1.0])])
[array([2., 0.]), array(4.)]
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from jitgraph import dtypes
from jitgraph.ops.reduce import REDUCTIONS, ReduceKind
from jitgraph.ops.scalar import DtypeRuleError, ScalarOp

__all__ = [
    "Instruction",
    "Kernel",
    "KernelConstant",
    "KernelError",
    "KernelInput",
    "KernelOutput",
    "Slot",
    "evaluate",
]

INPUT, CONSTANT, TEMP = "in", "c", "t"
_SLOT_KINDS = (INPUT, CONSTANT, TEMP)


class KernelError(ValueError):
    """A kernel that breaks the model's invariants (a bug in whoever built it)."""


class Slot(NamedTuple):
    """Where a value of the kernel lives: ``kind`` is 'in' (an input), 'c' (a constant)
    or 't' (an instruction's result), ``position`` its place among those."""

    kind: str
    position: int

    def __str__(self) -> str:
        return f"{self.kind}{self.position}"


@dataclasses.dataclass(frozen=True)
class KernelInput:
    """An input array: its dtype and which dims broadcast (static size 1)."""

    dtype: str
    broadcastable: tuple[bool, ...]

    def pattern_text(self) -> str:
        return "[" + ", ".join("1" if b else "?" for b in self.broadcastable) + "]"


@dataclasses.dataclass(frozen=True)
class KernelConstant:
    """A single value inlined into the body, held as its bytes in ``dtype`` so that
    equality is exact (NaN equals NaN, -0.0 differs from 0.0)."""

    dtype: str
    data: bytes

    @classmethod
    def of(cls, value: Any, dtype: str) -> KernelConstant:
        """The constant holding ``value`` (a scalar or a one-element array) in ``dtype``.

        >>> KernelConstant.of(2, "float32").value
        array(2., dtype=float32)
        """
        array = np.asarray(value, dtype=dtype)
        if array.size != 1:
            raise KernelError(f"a kernel constant holds one value, got shape {array.shape}")
        return cls(dtypes.canonical(dtype), array.reshape(()).tobytes())

    @property
    def value(self) -> np.ndarray:
        """The value as a read-only 0-d array."""
        array = np.frombuffer(self.data, dtype=self.dtype).reshape(())
        return array

    def __str__(self) -> str:
        return str(self.value.item())


@dataclasses.dataclass(frozen=True)
class Instruction:
    """``result = op(*args)``, cast to ``dtype`` (the op's output dtype for the args)."""

    op: ScalarOp
    args: tuple[Slot, ...]
    dtype: str


@dataclasses.dataclass(frozen=True)
class KernelOutput:
    """An output: the value in ``slot``, elementwise (``reduction`` None), or reduced by
    ``reduction`` over ``axes``. ``acc_dtype`` is the accumulator of sum and prod (they
    accumulate in it, then cast to ``dtype``); the other reductions have none."""

    slot: Slot
    dtype: str
    reduction: ReduceKind | None = None
    axes: tuple[int, ...] = ()
    keepdims: bool = False
    acc_dtype: str | None = None


@dataclasses.dataclass(frozen=True)
class Kernel:
    """A fused loop (see the module docstring). Validated on construction."""

    ndim: int
    inputs: tuple[KernelInput, ...]
    constants: tuple[KernelConstant, ...]
    body: tuple[Instruction, ...]
    outputs: tuple[KernelOutput, ...]

    def __post_init__(self) -> None:
        _validate(self)

    # ---- derived facts (cheap: kernels are small)
    @property
    def broadcastable(self) -> tuple[bool, ...]:
        """The loop domain's pattern: an axis broadcasts when every input does."""
        return tuple(all(i.broadcastable[a] for i in self.inputs) for a in range(self.ndim))

    def slot_dtype(self, slot: Slot) -> str:
        if slot.kind == INPUT:
            return self.inputs[slot.position].dtype
        if slot.kind == CONSTANT:
            return self.constants[slot.position].dtype
        return self.body[slot.position].dtype

    def slot_broadcastable(self, slot: Slot) -> tuple[bool, ...]:
        """Which dims of the value in ``slot`` broadcast (all of a constant's do)."""
        return self._patterns()[slot]

    def compute_dtypes(self, instruction: Instruction) -> tuple[str, ...]:
        """The dtypes ``instruction``'s arguments are cast to before its op runs."""
        return self._compute_dtype_table[instruction]

    @functools.cached_property
    def _compute_dtype_table(self) -> dict[Instruction, tuple[str, ...]]:
        # Derived once per kernel: evaluation reads it for every instruction of every call.
        table = {}
        for instruction in self.body:
            arg_dtypes = tuple(self.slot_dtype(s) for s in instruction.args)
            table[instruction] = instruction.op.dtype_rule(arg_dtypes)[0]
        return table

    def op_names(self) -> list[str]:
        """The scalar ops of the body, then the reductions, in order."""
        names = [i.op.name for i in self.body]
        return names + [o.reduction.name for o in self.outputs if o.reduction is not None]

    def _patterns(self) -> dict[Slot, tuple[bool, ...]]:
        return self._pattern_table

    @functools.cached_property
    def _pattern_table(self) -> dict[Slot, tuple[bool, ...]]:
        patterns: dict[Slot, tuple[bool, ...]] = {}
        for position, kernel_input in enumerate(self.inputs):
            patterns[Slot(INPUT, position)] = kernel_input.broadcastable
        for position in range(len(self.constants)):
            patterns[Slot(CONSTANT, position)] = (True,) * self.ndim
        for position, instruction in enumerate(self.body):
            args = [patterns[s] for s in instruction.args]
            patterns[Slot(TEMP, position)] = tuple(
                all(p[a] for p in args) for a in range(self.ndim)
            )
        return patterns

    # ---- text and identity
    def as_text(self) -> str:
        """A readable listing: a header with the inputs, then one line per constant,
        instruction and output."""
        header = ", ".join(f"in{i}: {k.dtype}{k.pattern_text()}" for i, k in enumerate(self.inputs))
        lines = [f"kernel(rank {self.ndim}; {header}) {{"]
        lines += [f"  c{i}: {c.dtype} = {c}" for i, c in enumerate(self.constants)]
        for position, instruction in enumerate(self.body):
            args = ", ".join(map(str, instruction.args))
            lines.append(f"  t{position}: {instruction.dtype} = {instruction.op.name}({args})")
        for position, output in enumerate(self.outputs):
            lines.append(f"  out{position}: {output.dtype} = {_output_text(output)}")
        return "\n".join([*lines, "}"])

    def signature(self) -> str:
        """Canonical text of the structure (constants by their bytes): equal for equal
        kernels, used by the graph hash and ``key``."""
        constants = ",".join(f"{c.dtype}:{c.data.hex()}" for c in self.constants)
        body = ";".join(f"{i.op.name}({','.join(map(str, i.args))})->{i.dtype}" for i in self.body)
        outputs = ";".join(
            f"{o.slot}->{o.dtype}:{o.reduction}:{o.axes}:{o.keepdims}:{o.acc_dtype}"
            for o in self.outputs
        )
        inputs = ",".join(f"{k.dtype}{k.pattern_text()}" for k in self.inputs)
        return f"kernel/{self.ndim}/{inputs}/{constants}/{body}/{outputs}"

    def key(self) -> str:
        """A stable SHA-256 of the structure: the cache key of compiled code (never of
        concrete sizes, so a new size of the same kernel reuses it)."""
        return hashlib.sha256(self.signature().encode()).hexdigest()

    def __str__(self) -> str:
        return self.as_text()


def _output_text(output: KernelOutput) -> str:
    if output.reduction is None:
        return str(output.slot)
    options = f"axes={output.axes}"
    if output.keepdims:
        options += ", keepdims"
    if output.acc_dtype is not None and output.acc_dtype != output.dtype:
        options += f", acc_dtype={output.acc_dtype}"
    return f"{output.reduction.name}({output.slot}, {options})"


# ============================================================================ validation
def _validate(kernel: Kernel) -> None:
    if not isinstance(kernel.ndim, int) or kernel.ndim < 0:
        raise KernelError(f"kernel rank must be a non-negative int, got {kernel.ndim!r}")
    for position, kernel_input in enumerate(kernel.inputs):
        _check_dtype(kernel_input.dtype, f"input {position}")
        if len(kernel_input.broadcastable) != kernel.ndim:
            raise KernelError(
                f"input {position} has a pattern of {len(kernel_input.broadcastable)} dims; "
                f"the kernel has rank {kernel.ndim}"
            )
    for position, constant in enumerate(kernel.constants):
        _check_dtype(constant.dtype, f"constant {position}")
        if len(constant.data) != np.dtype(constant.dtype).itemsize:
            raise KernelError(f"constant {position} does not hold one {constant.dtype} value")
    for position, instruction in enumerate(kernel.body):
        _check_instruction(kernel, position, instruction)
    if not kernel.outputs:
        raise KernelError("a kernel needs at least one output")
    for position, output in enumerate(kernel.outputs):
        _check_output(kernel, position, output)
    _check_all_used(kernel)


def _check_dtype(dtype: str, what: str) -> None:
    if dtype not in dtypes.ALL:
        raise KernelError(f"{what}: unknown dtype {dtype!r}")


def _check_slot(kernel: Kernel, slot: Slot, before: int, what: str) -> None:
    """``slot`` must name an existing input or constant, or a result computed before
    instruction ``before``."""
    sizes = {INPUT: len(kernel.inputs), CONSTANT: len(kernel.constants), TEMP: before}
    if not isinstance(slot, Slot) or slot.kind not in _SLOT_KINDS:
        raise KernelError(f"{what}: {slot!r} is not a Slot of kind 'in', 'c' or 't'")
    if not 0 <= slot.position < sizes[slot.kind]:
        raise KernelError(f"{what}: slot {slot} is out of range (only {sizes[slot.kind]} exist)")


def _check_instruction(kernel: Kernel, position: int, instruction: Instruction) -> None:
    op = instruction.op
    what = f"instruction t{position} ({op.name})"
    if len(instruction.args) != op.arity:
        raise KernelError(f"{what} takes {op.arity} argument(s), got {len(instruction.args)}")
    for slot in instruction.args:
        _check_slot(kernel, slot, position, what)
    arg_dtypes = tuple(kernel.slot_dtype(s) for s in instruction.args)
    refused = [d for d in arg_dtypes if dtypes.kind(d) not in op.accepts]
    try:
        expected = None if refused else op.dtype_rule(arg_dtypes)[1]
    except DtypeRuleError as exc:
        raise KernelError(f"{what}: {exc}") from None
    if expected is None:
        raise KernelError(f"{what} does not accept argument dtype(s) {', '.join(refused)}")
    if instruction.dtype != expected:
        raise KernelError(
            f"{what} on {', '.join(arg_dtypes)} gives {expected}, but the instruction "
            f"says {instruction.dtype}"
        )


def _check_output(kernel: Kernel, position: int, output: KernelOutput) -> None:
    what = f"output {position}"
    _check_slot(kernel, output.slot, len(kernel.body), what)
    _check_dtype(output.dtype, what)
    value_dtype = kernel.slot_dtype(output.slot)
    if output.reduction is None:
        if output.slot.kind != TEMP:
            raise KernelError(f"{what}: an elementwise output must be an instruction's result")
        if output.axes or output.keepdims or output.acc_dtype is not None:
            raise KernelError(f"{what}: axes/keepdims/acc_dtype apply to reductions only")
        if output.dtype != value_dtype:
            raise KernelError(f"{what} has dtype {output.dtype}; its value is {value_dtype}")
        return
    if output.slot.kind == CONSTANT:
        raise KernelError(f"{what}: a reduction of a constant")
    _check_reduction(kernel, what, output, value_dtype)


def _check_reduction(kernel: Kernel, what: str, output: KernelOutput, value_dtype: str) -> None:
    kind = output.reduction
    assert kind is not None
    if REDUCTIONS.get(kind.name) is not kind:
        raise KernelError(f"{what}: {kind} is not an entry of the REDUCTIONS table")
    if dtypes.kind(value_dtype) not in kind.accepts:
        raise KernelError(f"{what}: {kind} does not accept {value_dtype}")
    axes = output.axes
    if not axes:  # over no axis, a reduction is a cast: the graph keeps it a Reduce node
        raise KernelError(f"{what}: {kind} reduces no axis (axes=())")
    if list(axes) != sorted(set(axes)) or any(not 0 <= a < kernel.ndim for a in axes):
        raise KernelError(
            f"{what}: axes {axes} must be sorted distinct axes of the rank-{kernel.ndim} loop"
        )
    if kernel.slot_broadcastable(output.slot) != kernel.broadcastable:
        raise KernelError(
            f"{what}: the reduced value {output.slot} broadcasts differently from the loop "
            f"({kernel.slot_broadcastable(output.slot)} vs {kernel.broadcastable})"
        )
    if kind.takes_dtype:
        if output.acc_dtype is None:
            raise KernelError(f"{what}: {kind} needs its accumulator dtype (acc_dtype)")
        _check_dtype(output.acc_dtype, what)
    elif output.acc_dtype is not None or output.dtype != kind.out_dtype(value_dtype):
        raise KernelError(
            f"{what}: {kind} of {value_dtype} gives {kind.out_dtype(value_dtype)} and takes "
            f"no accumulator dtype (got dtype {output.dtype}, acc_dtype {output.acc_dtype})"
        )


def _check_all_used(kernel: Kernel) -> None:
    """Every input, constant and result is read: a builder that leaves dead values
    behind has lost track of something."""
    read = {s for i in kernel.body for s in i.args} | {o.slot for o in kernel.outputs}
    slots = [Slot(INPUT, i) for i in range(len(kernel.inputs))]
    slots += [Slot(CONSTANT, i) for i in range(len(kernel.constants))]
    slots += [Slot(TEMP, i) for i in range(len(kernel.body))]
    unused = [str(s) for s in slots if s not in read]
    if unused:
        raise KernelError(f"kernel values never read: {', '.join(unused)}")


def needed_slots(kernel: Kernel, outputs: Sequence[int]) -> list[Slot]:
    """The slots the outputs at positions ``outputs`` depend on: inputs, constants, then
    instructions, in that order (what a backend computes for those outputs alone)."""
    needed = {kernel.outputs[p].slot for p in outputs}
    for position in reversed(range(len(kernel.body))):
        if Slot(TEMP, position) in needed:
            needed.update(kernel.body[position].args)
    order = [Slot(INPUT, i) for i in range(len(kernel.inputs))]
    order += [Slot(CONSTANT, i) for i in range(len(kernel.constants))]
    order += [Slot(TEMP, i) for i in range(len(kernel.body))]
    return [slot for slot in order if slot in needed]


# ============================================================================ evaluation
def check_domain(kernel: Kernel, inputs: Sequence[np.ndarray]) -> tuple[int, ...]:
    """The loop's extents for ``inputs``; ValueError (in the kernel's terms) when an
    input has the wrong ndim or dtype, a broadcast dim is not 1, or two inputs that do
    not broadcast along an axis disagree there."""
    if len(inputs) != len(kernel.inputs):
        raise ValueError(f"the kernel takes {len(kernel.inputs)} inputs, got {len(inputs)}")
    extents: list[int] = []
    for position, kernel_input in enumerate(kernel.inputs):
        value = inputs[position]
        if value.ndim != kernel.ndim or value.dtype != np.dtype(kernel_input.dtype):
            raise ValueError(
                f"kernel input {position}: expected a {kernel.ndim}-d {kernel_input.dtype} "
                f"array, got a {value.ndim}-d {value.dtype} one"
            )
    for axis in range(kernel.ndim):
        sizes = {
            p: inputs[p].shape[axis]
            for p, k in enumerate(kernel.inputs)
            if not k.broadcastable[axis]
        }
        ones = [p for p, k in enumerate(kernel.inputs) if k.broadcastable[axis]]
        if any(inputs[p].shape[axis] != 1 for p in ones) or len(set(sizes.values())) > 1:
            shapes = ", ".join(f"in{p} {v.shape}" for p, v in enumerate(inputs))
            raise ValueError(f"kernel inputs disagree at axis {axis}: {shapes}")
        extents.append(next(iter(sizes.values()), 1))
    return tuple(extents)


def evaluate(kernel: Kernel, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Run ``kernel`` with NumPy, one whole-array operation per instruction: the values
    of its outputs, equal bit for bit to the unfused ``Elemwise``/``Reduce`` nodes.

    >>> from jitgraph.ops.scalar import SCALAR_OPS
    >>> k = Kernel(0, (KernelInput("int8", ()),), (KernelConstant.of(3, "int8"),),
    ...            (Instruction(SCALAR_OPS["multiply"], (Slot("in", 0), Slot("c", 0)), "int8"),),
    ...            (KernelOutput(Slot("t", 0), "int8"),))
    >>> evaluate(k, [np.array(50, dtype="int8")])  # int8 wraps, as NumPy's does
    [array(-106, dtype=int8)]
    """
    check_domain(kernel, inputs)
    with np.errstate(all="ignore"):
        values = compute_body(kernel, inputs)
        return [output_value(kernel, output, values) for output in kernel.outputs]


def compute_body(
    kernel: Kernel, inputs: Sequence[np.ndarray], buffers: dict[int, np.ndarray] | None = None
) -> dict[Slot, np.ndarray]:
    """Every slot's value after running the body. ``buffers`` maps an instruction's
    position to an array its result is written into (``out=``), where that is exact."""
    one = (1,) * kernel.ndim
    values: dict[Slot, np.ndarray] = {}
    for position, value in enumerate(inputs):
        values[Slot(INPUT, position)] = value
    for position, constant in enumerate(kernel.constants):
        values[Slot(CONSTANT, position)] = constant.value.reshape(one)
    for position, instruction in enumerate(kernel.body):
        args = [values[s] for s in instruction.args]
        compute = kernel.compute_dtypes(instruction)
        cast = [a.astype(d, copy=False) for a, d in zip(args, compute, strict=True)]
        buffer = None if buffers is None else buffers.get(position)
        if buffer is not None:
            instruction.op.impl(*cast, out=buffer)
            values[Slot(TEMP, position)] = buffer
            continue
        result = np.asarray(instruction.op.impl(*cast))
        values[Slot(TEMP, position)] = result.astype(instruction.dtype, copy=False)
    return values


def output_value(
    kernel: Kernel, output: KernelOutput, values: dict[Slot, np.ndarray]
) -> np.ndarray:
    """One output from the body's values: the value itself, or its reduction computed as
    ``Reduce.perform`` does."""
    value = values[output.slot]
    kind = output.reduction
    if kind is None:
        return value
    kwargs: dict[str, Any] = {"axis": output.axes, "keepdims": output.keepdims}
    if kind.takes_dtype:
        kwargs["dtype"] = output.acc_dtype
    try:
        result = kind.impl(value, **kwargs)
    except ValueError as exc:  # NumPy: "zero-size array to reduction operation ..."
        raise ValueError(
            f"{kind} of an empty axis: axes {output.axes} of a value of shape {value.shape} "
            f"({kind} has no identity)"
        ) from exc
    return np.asarray(result).astype(output.dtype, copy=False)
