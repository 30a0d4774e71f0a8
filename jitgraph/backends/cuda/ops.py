"""The non-kernel ops on the GPU: products through cuBLAS, indexing, joins, sorts, ... by CuPy.

``device_step(node)`` gives, for an op listed in ``DEVICE_OPS``, the step that runs the node
on CuPy arrays, with a description ("cuBLAS", "CuPy"); None for any other op (the CUDA
program then runs it on the host, reported). Each step computes what its op's reference
``perform`` (jitgraph/ops/) computes: the same dtypes and shapes, the same errors for bad
shapes and indices.

The inputs of a node are of two kinds. **Data** (the arrays an op computes on) is read on
the device: a host value there (a constant, a shape computed on the host) is copied to the
GPU, a constant once per step. **Metadata** (sizes, shifts, integer indices and slice
bounds, the scalars of a BLAS product) is read on the host: a device value there is read
back (a few bytes, and a synchronization). ``Shape`` and the other shape ops give host
results: a shape is metadata too.

Where a reference ``perform`` only calls NumPy functions and array methods, it runs as it is
on CuPy arrays: NumPy hands the call to CuPy (``__array_function__`` and
``__array_ufunc__``), so the op keeps one implementation. The other ops have their own
implementation here, which reuses the reference's checks. A node whose data inputs are all
empty runs its reference on empty host arrays (no data moves), which gives exactly the
reference's result or error for every empty edge case (products excepted: cuBLAS handles
empty operands, and their result need not be empty).

Differences from NumPy that the GPU brings (documented, not hidden):

- floating-point sums in a different order: cumsum/cumprod (a parallel scan), SumTo,
  increments at repeated advanced indices (atomic adds, in no fixed order), and float16
  products (cuBLAS accumulates in float32): equal within rounding, not bit for bit;
- sorts are stable whatever ``kind`` says (CuPy has no other sort), so ``argsort`` orders
  ties as ``kind='stable'`` does (NumPy leaves the order of ties unspecified otherwise);
- checking advanced indices against the bounds reads their minimum and maximum back (a
  synchronization), as CuPy would otherwise wrap out-of-bounds indices silently;
- a float ``arange`` is computed by NumPy (its fill rule, bit for bit) and copied over.

>>> sorted(op.__name__ for op in DEVICE_OPS)[:4]
['ARange', 'AdvancedIncSubtensor', 'AdvancedSubtensor', 'Alloc']
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from jitgraph.backends.cuda.runtime import cupy_module, is_device_array
from jitgraph.ir.graph import Const, Node
from jitgraph.ops import blas, creation, indexing, joining, linalg, reduce, shape
from jitgraph.ops.base import GraphError, Op

__all__ = ["DEVICE_OPS", "DeviceOp", "device_step"]

Run = Callable[[Any, Node, list[Any]], Sequence[Any]]  # (cupy, node, inputs) -> outputs


@dataclasses.dataclass(frozen=True)
class DeviceOp:
    """How one op class runs on the GPU: ``run(cupy, node, inputs)``, which of the node's
    inputs are metadata read on the host, whether its outputs are host metadata, and
    whether its reference runs instead when the data is empty (not for products, whose
    result can be large: ``(n, 0) . (0, m)`` is n x m zeros)."""

    run: Run
    host_inputs: Callable[[Node], frozenset[int]]
    description: str = "CuPy"
    host_outputs: bool = False
    reference_when_empty: bool = True


def device_step(node: Node) -> tuple[Callable[[list[Any]], list[Any]], str] | None:
    """The step running ``node`` on the GPU and its description, or None when its op has
    no GPU implementation here (``DEVICE_OPS``)."""
    entry = DEVICE_OPS.get(type(node.op))
    if entry is None or not _applies(node):
        return None
    return DeviceStep(node, entry), entry.description


def _applies(node: Node) -> bool:
    """A ``Reduce`` over axes is a kernel (launch.py): here only the one over none. An
    index with a 0-d mask (``x[True]``, a new axis in NumPy) is left to the host: CuPy
    may read a bool as the integer 1."""
    op = node.op
    if isinstance(op, reduce.Reduce):
        return op.axis == ()
    if isinstance(op, indexing.Subtensor | indexing.IncSubtensor):
        return ("b", 0) not in op.index
    return True


class DeviceStep:
    """One node's step: inputs moved to where the op reads them, outputs of the node's
    exact dtypes."""

    def __init__(self, node: Node, entry: DeviceOp) -> None:
        self.node = node
        self.entry = entry
        self.host = entry.host_inputs(node)
        self.dtypes = [var.type.numpy_dtype for var in node.inputs]
        self.out_dtypes = [var.type.numpy_dtype for var in node.outputs]
        self.constant = [isinstance(var, Const) for var in node.inputs]
        self.copies: dict[int, tuple[Any, Any]] = {}  # position: (host constant, device copy)

    def __call__(self, args: list[Any]) -> list[Any]:
        cupy = cupy_module()
        values = [
            _on_host(value) if p in self.host else self._on_device(cupy, p, value)
            for p, value in enumerate(args)
        ]
        data = [v for p, v in enumerate(values) if p not in self.host]
        if self.entry.reference_when_empty and data and all(v.size == 0 for v in data):
            results: Sequence[Any] = self._reference_on_empty(cupy, values)
        else:
            results = self.entry.run(cupy, self.node, values)
        if self.entry.host_outputs:
            return list(results)
        return [
            value.astype(dtype, copy=False) if value.dtype != dtype else value
            for value, dtype in zip(results, self.out_dtypes, strict=True)
        ]

    def _on_device(self, cupy: Any, position: int, value: Any) -> Any:
        if is_device_array(value):
            return value
        cached = self.copies.get(position)
        if cached is not None and cached[0] is value:
            return cached[1]
        copy = cupy.asarray(np.asarray(value, dtype=self.dtypes[position]))
        if self.constant[position]:
            self.copies[position] = (value, copy)
        return copy

    def _reference_on_empty(self, cupy: Any, values: list[Any]) -> list[Any]:
        """The reference on empty host stand-ins of the data (and the metadata as it is)."""
        host = [
            v if p in self.host else np.empty(v.shape, dtype=v.dtype) for p, v in enumerate(values)
        ]
        results = self.node.op.perform(self.node, host)
        if self.entry.host_outputs:
            return list(results)
        return [cupy.asarray(np.asarray(r)) for r in results]


def _on_host(value: Any) -> np.ndarray:
    """A metadata value as a NumPy array (a device value is read back)."""
    return value.get() if is_device_array(value) else np.asarray(value)


# ============================================================================ input kinds
def _no_host(node: Node) -> frozenset[int]:
    return frozenset()


def _all_host(node: Node) -> frozenset[int]:
    return frozenset(range(len(node.inputs)))


def _host_after_first(node: Node) -> frozenset[int]:
    return frozenset(range(1, len(node.inputs)))


def _host_scalars_of_product(node: Node) -> frozenset[int]:
    return frozenset({1, 4})  # alpha and beta of (z, alpha, x, y, beta)


def _index_host(first: int) -> Callable[[Node], frozenset[int]]:
    """The index inputs from position ``first`` read on the host: integers and slice
    bounds (index arrays and masks stay on the device)."""

    def host_inputs(node: Node) -> frozenset[int]:
        pattern = node.op.index  # type: ignore[attr-defined]
        positions = list(range(first, len(node.inputs)))
        host: set[int] = set()
        for entry, group in zip(pattern, indexing.group_inputs(pattern, positions), strict=True):
            if entry == indexing.INT or indexing.is_slice(entry):
                host.update(group)
        return frozenset(host)

    return host_inputs


# ============================================================================ runs
def _reference(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    """The op's own ``perform``: NumPy dispatches its calls to CuPy."""
    return node.op.perform(node, inputs)


def _scaled_product(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    """Gemm/Gemv/Ger: the reference with alpha and beta as NumPy scalars (CuPy takes
    those, not 0-d NumPy arrays)."""
    z, alpha, x, y, beta = inputs
    return node.op.perform(node, [z, alpha[()], x, y, beta[()]])


def _product_operands(cupy: Any, node: Node, a: Any, b: Any) -> tuple[Any, Any, str]:
    """The operands cast for the product, and the dtype to cast the result to: a bool
    product (NumPy: an or of ands) is counted in int64, then compared with zero."""
    out_dtype = node.outputs[0].type.dtype
    compute = "int64" if out_dtype == "bool" else out_dtype
    return a.astype(compute, copy=False), b.astype(compute, copy=False), out_dtype


def _finish_product(result: Any, out_dtype: str) -> Any:
    return result != 0 if out_dtype == "bool" else result


def _dot(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    a, b = inputs
    _, contracted = linalg.dot_shapes(a.shape, b.shape)
    if contracted is not None and contracted[0] != contracted[1]:
        first, second = node.inputs
        raise linalg._alignment_error(
            "dot", first, second, a.shape, b.shape, *contracted, "at run time"
        )
    a, b, out_dtype = _product_operands(cupy, node, a, b)
    return [_finish_product(cupy.dot(a, b), out_dtype)]


def _matmul(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    a, b = inputs
    left, right, out_dtype = _product_operands(cupy, node, a, b)
    try:
        result = cupy.matmul(left, right)
    except ValueError as exc:
        raise linalg.matmul_mismatch(node, a.shape, b.shape, exc) from None
    return [_finish_product(result, out_dtype)]


def _tensordot(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    a, b = inputs
    op: linalg.TensorDot = node.op  # type: ignore[assignment]
    for i, j in zip(op.axes_a, op.axes_b):
        if a.shape[i] != b.shape[j]:
            first, second = node.inputs
            raise linalg._alignment_error(
                "tensordot", first, second, a.shape, b.shape, a.shape[i], b.shape[j], "at run time"
            )
    a, b, out_dtype = _product_operands(cupy, node, a, b)
    return [_finish_product(cupy.tensordot(a, b, axes=(op.axes_a, op.axes_b)), out_dtype)]


def _batched_dot(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    """3-d by 3-d: one batched matrix product; other ranks: one product per entry."""
    a, b = inputs
    first, second = node.inputs
    if a.shape[0] != b.shape[0]:
        raise GraphError(
            f"batched_dot: batch sizes differ at run time: {a.shape} ({first.describe()}) "
            f"and {b.shape} ({second.describe()})"
        )
    core, contracted = linalg.dot_shapes(a.shape[1:], b.shape[1:])
    if contracted is not None and contracted[0] != contracted[1]:
        raise linalg._alignment_error(
            "batched_dot", first, second, a.shape, b.shape, *contracted, "at run time"
        )
    a, b, out_dtype = _product_operands(cupy, node, a, b)
    if a.ndim == 3 and b.ndim == 3:
        return [_finish_product(cupy.matmul(a, b), out_dtype)]
    out = cupy.empty((a.shape[0], *core), dtype=a.dtype)
    for i in range(a.shape[0]):
        out[i] = cupy.dot(a[i], b[i])
    return [_finish_product(out, out_dtype)]


def _alloc(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    return [creation.allocate(cupy, inputs[0], inputs[1:])]


def _arange(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    """Integers by CuPy; floats as NumPy computes them (its own fill rule), copied over."""
    start, stop, step = (v.item() for v in inputs)
    creation.arange_length(start, stop, step)  # raises on a zero step
    dtype = node.op.dtype  # type: ignore[attr-defined]
    if np.dtype(dtype).kind in "biu":
        return [cupy.arange(start, stop, step, dtype=dtype)]
    return [cupy.asarray(np.arange(start, stop, step, dtype=dtype))]


def _eye_or_tri(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    op: creation.Eye = node.op  # type: ignore[assignment]
    n, m, k = (int(v) for v in inputs)
    if n < 0 or m < 0:
        raise ValueError(f"{op.name}: the sizes must be >= 0, got n={n}, m={m}")
    function = cupy.tri if isinstance(op, creation.Tri) else cupy.eye
    return [function(n, m, k, dtype=op.dtype)]


# ---- indexing
def _knowns(values: Sequence[Any]) -> list[indexing.Known]:
    """``indexing.runtime_knowns`` for device index arrays (left on the device)."""
    return [(v, tuple(v.shape)) if is_device_array(v) else (v, np.shape(v)) for v in values]


def _device_key(pattern: indexing.Pattern, values: Sequence[Any]) -> tuple[Any, ...]:
    """``indexing.python_key`` with index arrays and masks kept on the device."""
    key: list[Any] = []
    for entry, group in zip(pattern, indexing.group_inputs(pattern, values), strict=True):
        if entry == indexing.NEWAXIS:
            key.append(None)
        elif entry == indexing.INT:
            key.append(int(group[0]))
        elif indexing.is_slice(entry):
            bounds = iter(int(v) for v in group)
            key.append(slice(*(next(bounds) if present else None for present in entry[1:])))
        else:
            key.append(group[0])
    return tuple(key)


def _subtensor(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    x, *values = inputs
    pattern = node.op.index  # type: ignore[attr-defined]
    indexing.check_index(pattern, x.shape, _knowns(values))
    return [x[_device_key(pattern, values)]]


def _inc_subtensor(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    x, y, *values = inputs
    op: indexing.IncSubtensor = node.op  # type: ignore[assignment]
    knowns = _knowns(values)
    indexing.check_index(op.index, x.shape, knowns)
    target = indexing.output_shape(op.index, x.shape, knowns)
    if not indexing._broadcastable_to(y.shape, target):
        raise ValueError(
            f"cannot {op._verb()} a subtensor of shape {target} with a value of shape "
            f"{y.shape}: it does not broadcast"
        )
    result = x.copy()  # never modify the caller's array
    key = _device_key(op.index, values)
    y = y.astype(result.dtype, copy=False)
    advanced = indexing.ARRAY in op.index
    if op.set_instead_of_inc and advanced:
        _set_last_wins(cupy, result, key, cupy.broadcast_to(y, target))
    elif op.set_instead_of_inc:
        result[key] = y
    elif indexing.is_advanced(op.index):
        _scatter_add(cupy, result, key, cupy.broadcast_to(y, target))
    else:
        result[key] += y
    return [result]


def _set_last_wins(cupy: Any, result: Any, key: tuple[Any, ...], values: Any) -> None:
    """``result[key] = values`` where the last of repeated indices wins, as in NumPy (a
    GPU store keeps any one of them): each element records the position of the last
    value written to it (a scatter-max of positions), then takes that value."""
    cupyx = importlib.import_module("cupyx")
    order = cupy.arange(1, values.size + 1, dtype="uint64").reshape(values.shape)
    winner = cupy.zeros(result.shape, dtype="uint64")
    cupyx.scatter_max(winner, key, order)
    written = winner > 0
    result[written] = values.reshape(-1)[(winner[written] - 1).astype("int64")]


def _scatter_add(cupy: Any, result: Any, key: tuple[Any, ...], values: Any) -> None:
    """``np.add.at(result, key, values)``: repeated indices accumulate. Integers (and
    bools, whose sum is an or) accumulate in uint64, which wraps as every narrower
    integer does; GPU atomics have no adds of 8- and 16-bit integers."""
    cupyx = importlib.import_module("cupyx")
    if result.dtype.kind in "fc":
        cupyx.scatter_add(result, key, values)
        return
    wide = result.astype("uint64")
    cupyx.scatter_add(wide, key, values.astype(result.dtype).astype("uint64"))
    result[...] = wide != 0 if result.dtype.kind == "b" else wide.astype(result.dtype)


def _nonzero(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    (a,) = inputs
    if node.op.flat:  # type: ignore[attr-defined]
        return [cupy.flatnonzero(a).astype("int64")]
    return [cupy.stack(cupy.nonzero(a)).astype("int64").reshape(a.ndim, -1)]


# ---- joins, repeats
def _split(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    """The reference's checks, then CuPy's split at the cumulated sizes (Python ints)."""
    x, splits = inputs
    op: joining.Split = node.op  # type: ignore[assignment]
    sizes = [int(s) for s in splits]
    op._check_sizes(sizes, x.shape[op.axis])
    return list(cupy.split(x, np.cumsum(sizes)[:-1].tolist(), axis=op.axis))


def _repeat(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    """The reference's checks, then CuPy's repeat with the counts as Python ints."""
    x, repeats = inputs
    axis = node.op.axis  # type: ignore[attr-defined]
    if (repeats < 0).any():
        raise ValueError(f"repeat: repeats must be >= 0, got {repeats.tolist()}")
    static_length = node.inputs[1].type.shape
    if repeats.ndim == 1 and static_length != (1,) and len(repeats) != x.shape[axis]:
        raise ValueError(
            f"repeat: repeats has {len(repeats)} entries but axis {axis} of the value "
            f"(shape {x.shape}) has size {x.shape[axis]}"
        )
    counts = int(repeats.reshape(-1)[0]) if repeats.size == 1 else repeats.tolist()
    return [cupy.repeat(x, counts, axis=axis)]


# ---- reductions and lanes
def _argreduce(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    """The reduced axes moved last and flattened, as the reference does; an empty lane is
    the reference's error."""
    (x,) = inputs
    op: reduce.ArgReduce = node.op  # type: ignore[assignment]
    axes = op._axes(x.ndim)
    kept = [a for a in range(x.ndim) if a not in axes]
    moved = cupy.transpose(x, kept + list(axes))
    lane = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    flat = moved.reshape(moved.shape[: len(kept)] + (lane,))
    if lane == 0:
        raise ValueError(
            f"{op.name} of an empty axis: axis {tuple(axes)} of an array of shape {x.shape}"
        )
    function = cupy.argmax if isinstance(op, reduce.Argmax) else cupy.argmin
    index = function(flat, axis=-1)
    return [index.astype("int64").reshape(reduce._reduced_shape(x.shape, axes, op.keepdims, 1))]


def _cumulative(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    op: reduce.CumOp = node.op  # type: ignore[assignment]
    values, axis = op.lanes(inputs[0])
    function = cupy.cumsum if op.kind == "sum" else cupy.cumprod
    return [function(values, axis=axis, dtype=node.outputs[0].type.dtype)]


def _sort(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    """CuPy sorts stably, whatever the kind (module docstring)."""
    op: reduce.Sort = node.op  # type: ignore[assignment]
    values, axis = op.lanes(inputs[0])
    if isinstance(op, reduce.Argsort):
        return [cupy.argsort(values, axis=axis).astype("int64")]
    return [cupy.sort(values, axis=axis)]


def _sum_to(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    return [reduce.sum_to_shape(cupy, inputs[0], inputs[1:])]


def _reduce_over_nothing(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    """A reduction over no axis: each value on its own, in the accumulator's dtype, then
    the output's (``all``/``any``: its truth)."""
    (x,) = inputs
    op: reduce.Reduce = node.op  # type: ignore[assignment]
    through = op.accumulator_dtype(x.dtype.name) if op.kind.takes_dtype else None
    value = x.astype(through) if through is not None else x.copy()
    return [value.astype(node.outputs[0].type.dtype, copy=False)]


def _copy(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    return [inputs[0].copy()]


def _host_reference(cupy: Any, node: Node, inputs: list[Any]) -> Sequence[Any]:
    """Shape arithmetic on host metadata: the reference as it is."""
    return node.op.perform(node, inputs)


# ============================================================================ the table
_HOST = DeviceOp(_host_reference, _all_host, "host metadata", host_outputs=True)


def _cublas(run: Run, host_inputs: Callable[[Node], frozenset[int]] = _no_host) -> DeviceOp:
    return DeviceOp(run, host_inputs, "cuBLAS", reference_when_empty=False)


DEVICE_OPS: dict[type[Op], DeviceOp] = {
    # products
    linalg.Dot: _cublas(_dot),
    linalg.Matmul: _cublas(_matmul),
    linalg.TensorDot: _cublas(_tensordot),
    linalg.BatchedDot: _cublas(_batched_dot),
    blas.Gemm: _cublas(_scaled_product, _host_scalars_of_product),
    blas.Gemv: _cublas(_scaled_product, _host_scalars_of_product),
    blas.Ger: _cublas(_scaled_product, _host_scalars_of_product),
    linalg.Diagonal: DeviceOp(_reference, _no_host),
    # creation
    creation.Alloc: DeviceOp(_alloc, _host_after_first),
    creation.ARange: DeviceOp(_arange, _all_host),
    creation.Eye: DeviceOp(_eye_or_tri, _all_host),
    creation.Tri: DeviceOp(_eye_or_tri, _all_host),
    creation.ArangeLength: _HOST,
    # indexing
    indexing.Subtensor: DeviceOp(_subtensor, _index_host(1)),
    indexing.AdvancedSubtensor: DeviceOp(_subtensor, _index_host(1)),
    indexing.IncSubtensor: DeviceOp(_inc_subtensor, _index_host(2)),
    indexing.AdvancedIncSubtensor: DeviceOp(_inc_subtensor, _index_host(2)),
    indexing.Nonzero: DeviceOp(_nonzero, _no_host),
    indexing.IndexedShape: _HOST,
    # joins and repeats
    joining.Join: DeviceOp(_reference, _no_host),
    joining.Split: DeviceOp(_split, _host_after_first),
    joining.Tile: DeviceOp(_reference, _host_after_first),
    joining.Repeat: DeviceOp(_repeat, _host_after_first),
    joining.Roll: DeviceOp(_reference, _host_after_first),
    # reductions and lanes
    reduce.Argmax: DeviceOp(_argreduce, _no_host),
    reduce.Argmin: DeviceOp(_argreduce, _no_host),
    reduce.CumOp: DeviceOp(_cumulative, _no_host),
    reduce.Sort: DeviceOp(_sort, _no_host),
    reduce.Argsort: DeviceOp(_sort, _no_host),
    reduce.SumTo: DeviceOp(_sum_to, _host_after_first),
    reduce.Reduce: DeviceOp(_reduce_over_nothing, _no_host),
    # shapes and views
    shape.Shape: DeviceOp(_reference, _no_host, "shape (host metadata)", host_outputs=True),
    shape.ReshapeDim: _HOST,
    shape.DimShuffle: DeviceOp(_reference, _no_host),
    shape.Reshape: DeviceOp(_reference, _host_after_first),
    shape.SpecifyShape: DeviceOp(_reference, _host_after_first),
    shape.Rebroadcast: DeviceOp(_reference, _no_host),
    shape.TensorCopy: DeviceOp(_copy, _no_host),
}
