"""Ops that assemble or replicate data: join (concatenate), split, tile, repeat, roll.

Axis and count arguments follow ops/shape.py's conventions (int64 scalar inputs, static
sizes read from constants); gradients split a join, join a split, and sum over tiles and
repeats; axis and count arguments are DISCONNECTED.

>>> import jitgraph.tensor as T
>>> T.concatenate([T.dmatrix(), T.dmatrix()], axis=1).ndim
2
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.ir.graph import Const, Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import DISCONNECTED, GradTerm, Op
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.reduce import REDUCTIONS, Reduce, tensor_namespace
from jitgraph.ops.scalar import SCALAR_OPS
from jitgraph.ops.shape import (
    Reshape,
    add,
    as_int_scalar,
    as_int_vector,
    check_axis,
    int64_constant,
    label,
    multiply,
    shape_scalars,
    static_int,
    tensor_and_type,
    vector_entry,
)


# ----------------------------------------------------------------------------- join and split
def merge_static_sizes(sizes: Sequence[int | None], what: str) -> int | None:
    """The one static size that ``sizes`` (which must agree at run time) imply."""
    known = sorted({s for s in sizes if s is not None})
    if len(known) > 1:
        raise ValueError(f"{what}: static sizes {known} differ")
    return known[0] if known else None


@dataclasses.dataclass(frozen=True)
class Join(Op):
    """Concatenate tensors of equal ndim along ``axis``; the dtype is their upcast."""

    axis: int

    def make_node(self, *inputs: Any) -> Node:
        if not inputs:
            raise ValueError("join needs at least one tensor")
        tensors = [tensor_and_type(v)[0] for v in inputs]
        types: list[TensorType] = [v.type for v in tensors]
        ndim = types[0].ndim
        for position, (var, vtype) in enumerate(zip(tensors, types)):
            if vtype.ndim != ndim:
                raise TypeError(
                    f"join: all tensors must have the same ndim; tensor 0 ({label(tensors[0])}) "
                    f"is {ndim}-d but tensor {position} ({label(var)}) is {vtype.ndim}-d"
                )
        if ndim == 0:
            raise TypeError("join: 0-d tensors cannot be joined along an axis (use stack)")
        check_axis(self.axis, ndim, "join")
        out_dtype = dtypes.upcast(*(t.dtype for t in types))
        return self.make_apply(tensors, [TensorType(out_dtype, self._static(types))])

    def _static(self, types: list[TensorType]) -> tuple[int | None, ...]:
        shape: list[int | None] = []
        for axis, sizes in enumerate(zip(*(t.shape for t in types))):
            if axis == self.axis:
                shape.append(None if None in sizes else sum(sizes))
            else:
                what = (
                    f"join along axis {self.axis}: the tensors' shapes {[t.shape for t in types]}"
                )
                shape.append(merge_static_sizes(sizes, f"{what} differ at axis {axis}"))
        return tuple(shape)

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        first = inputs[0].shape
        for position, value in enumerate(inputs):
            others = [n for a, n in enumerate(value.shape) if a != self.axis]
            if others != [n for a, n in enumerate(first) if a != self.axis]:
                raise ValueError(
                    f"join along axis {self.axis}: tensor {position} "
                    f"({label(node.inputs[position])}) has shape {value.shape}, which differs "
                    f"from tensor 0's shape {first} outside axis {self.axis}"
                )
        out_dtype = node.outputs[0].type.dtype
        arrays = [v.astype(out_dtype, copy=False) for v in inputs]
        return [np.concatenate(arrays, axis=self.axis)]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        out: list[Var] = []
        for axis, declared in enumerate(node.outputs[0].type.shape):
            if declared is not None:
                out.append(int64_constant(declared))
            elif axis == self.axis:
                total = input_shapes[0][axis]
                for shape in input_shapes[1:]:
                    total = add(total, shape[axis])
                out.append(total)
            else:
                out.append(input_shapes[0][axis])
        return [tuple(out)]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """The output gradient split along ``axis`` into pieces of the inputs' sizes."""
        from jitgraph.tensor.basic import constant

        sizes = [shape_scalars(v)[self.axis] for v in node.inputs]
        static = [static_int(s) for s in sizes]
        if None in static:
            splits = tensor_namespace().stack(sizes)
        else:
            splits = constant(np.asarray(static, dtype="int64"))
        node_out = Split(len(sizes), self.axis).make_node(output_grads[0], splits)
        return list(node_out.outputs)

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """Unbatched tensors are broadcast to the batch; the join axis moves one right."""
        from jitgraph.ir.vectorize import batch_size_of, broadcast_to_batch, first_batched

        size = batch_size_of(first_batched(batched, inputs))
        tensors = [v if flag else broadcast_to_batch(v, size) for v, flag in zip(inputs, batched)]
        return [Join(self.axis + 1)(*tensors)]

    def __str__(self) -> str:
        return f"Join{{axis={self.axis}}}"

    def short_description(self) -> str:
        return f"join along axis {self.axis}"


@dataclasses.dataclass(frozen=True)
class Split(Op):
    """Split ``x`` along ``axis`` into ``n_splits`` pieces of the sizes given by an int
    vector input (Theano's ``split(x, splits_size, n_splits, axis)``)."""

    n_splits: int
    axis: int

    def make_node(self, *inputs: Any) -> Node:
        x_value, splits_value = inputs
        x, xtype = tensor_and_type(x_value)
        if self.n_splits < 1:
            raise ValueError(f"split: n_splits must be >= 1, got {self.n_splits}")
        check_axis(self.axis, xtype.ndim, "split")
        splits = as_int_vector(splits_value, "split: splits_size")
        length = splits.type.shape[0]
        if length is not None and length != self.n_splits:
            raise ValueError(
                f"split: splits_size has {length} entries but n_splits is {self.n_splits}"
            )
        sizes = self._static_sizes(splits, xtype.shape[self.axis])
        out_types = []
        for size in sizes:
            shape = list(xtype.shape)
            shape[self.axis] = size
            out_types.append(TensorType(xtype.dtype, shape))
        return self.make_apply([x, splits], out_types)

    def _static_sizes(self, splits: Var, dim: int | None) -> list[int | None]:
        if not isinstance(splits, Const):
            return [None] * self.n_splits
        sizes = [int(s) for s in splits.data]
        self._check_sizes(sizes, dim)
        return sizes  # type: ignore[return-value]

    def _check_sizes(self, sizes: list[int], dim: int | None) -> None:
        if len(sizes) != self.n_splits:
            raise ValueError(
                f"split: splits_size has {len(sizes)} entries, n_splits is {self.n_splits}"
            )
        if any(s < 0 for s in sizes):
            raise ValueError(f"split: splits_size {sizes} has a negative size")
        if dim is not None and sum(sizes) != dim:
            raise ValueError(
                f"split: splits_size {sizes} sums to {sum(sizes)}, but axis {self.axis} "
                f"has size {dim}"
            )

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, splits = inputs
        sizes = [int(s) for s in splits]
        self._check_sizes(sizes, x.shape[self.axis])
        return list(np.split(x, np.cumsum(sizes)[:-1], axis=self.axis))

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        splits = node.inputs[1]
        shapes = []
        for position in range(self.n_splits):
            shape = list(input_shapes[0])
            shape[self.axis] = vector_entry(splits, position)
            shapes.append(tuple(shape))
        return shapes

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        # The driver gives zeros for the pieces that do not reach the cost.
        return [Join(self.axis)(*output_grads), DISCONNECTED]

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """The same op with its axis one to the right (batched split sizes: Blockwise)."""
        from jitgraph.ir.vectorize import vectorize_along_axes

        return vectorize_along_axes(self, "axis", batched, inputs)

    def __str__(self) -> str:
        return f"Split{{n_splits={self.n_splits}, axis={self.axis}}}"


# ----------------------------------------------------------------------------- tile, repeat, roll
@dataclasses.dataclass(frozen=True)
class Tile(Op):
    """``numpy.tile`` with one int64 scalar input per axis of ``x`` (the front end pads)."""

    def make_node(self, *inputs: Any) -> Node:
        x, xtype = tensor_and_type(inputs[0])
        if len(inputs) - 1 != xtype.ndim:
            raise TypeError(
                f"Tile takes one repetition count per axis of {label(x)} ({xtype.ndim}), "
                f"got {len(inputs) - 1}"
            )
        reps = [as_int_scalar(r, f"tile: reps[{i}]") for i, r in enumerate(inputs[1:])]
        shape: list[int | None] = []
        for size, rep in zip(xtype.shape, reps):
            count = static_int(rep)
            if count is not None and count < 0:
                raise ValueError(f"tile: reps must be >= 0, got {count}")
            known = size is not None and count is not None
            shape.append(size * count if known else (0 if count == 0 or size == 0 else None))  # type: ignore[operator]
        return self.make_apply([x, *reps], [TensorType(xtype.dtype, shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, *reps = inputs
        counts = [int(r) for r in reps]
        if any(c < 0 for c in counts):
            raise ValueError(f"tile: reps must be >= 0, got {counts}")
        return [np.tile(x, counts) if counts else x.copy()]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        reps = node.inputs[1:]
        return [tuple(multiply(size, rep) for size, rep in zip(input_shapes[0], reps))]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """Axis i of the output is (reps[i], x.shape[i]) in C order: reshape to those
        pairs and sum over the repetitions."""
        x, *reps = node.inputs
        (out_grad,) = output_grads
        if not reps:
            return [out_grad]
        pairs = [size for pair in zip(reps, shape_scalars(x)) for size in pair]
        blocks = Reshape(len(pairs))(out_grad, *pairs)
        summed = Reduce(REDUCTIONS["sum"], tuple(range(0, len(pairs), 2)))(blocks)
        return [summed, *[DISCONNECTED] * len(reps)]


@dataclasses.dataclass(frozen=True)
class Repeat(Op):
    """``numpy.repeat`` along ``axis``: repeats is an int scalar, or an int vector with one
    count per element of that axis (or of static length 1)."""

    axis: int

    def make_node(self, *inputs: Any) -> Node:
        x, xtype = tensor_and_type(inputs[0])
        check_axis(self.axis, xtype.ndim, "repeat")
        _, rtype = tensor_and_type(inputs[1])
        if rtype.ndim == 0:
            repeats = as_int_scalar(inputs[1], "repeat: repeats")
        elif rtype.ndim == 1:
            repeats = as_int_vector(inputs[1], "repeat: repeats")
        else:
            raise TypeError(
                f"repeat: repeats must be an int scalar or vector, got {rtype.describe()}"
            )
        shape = list(xtype.shape)
        shape[self.axis] = self._static_size(shape[self.axis], repeats)
        return self.make_apply([x, repeats], [TensorType(xtype.dtype, shape)])

    def _static_size(self, dim: int | None, repeats: Var) -> int | None:
        if not isinstance(repeats, Const):
            return 0 if dim == 0 else None
        counts = repeats.data
        if (counts < 0).any():
            raise ValueError(f"repeat: repeats must be >= 0, got {counts.tolist()}")
        if counts.ndim == 0 or counts.shape == (1,):
            return None if dim is None else dim * int(counts.reshape(()))
        if dim is not None and len(counts) != dim:
            raise ValueError(
                f"repeat: repeats has {len(counts)} entries but axis {self.axis} has size {dim}"
            )
        return int(counts.sum())

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, repeats = inputs
        if (repeats < 0).any():
            raise ValueError(f"repeat: repeats must be >= 0, got {repeats.tolist()}")
        static_length = node.inputs[1].type.shape
        if repeats.ndim == 1 and static_length != (1,) and len(repeats) != x.shape[self.axis]:
            raise ValueError(
                f"repeat: repeats has {len(repeats)} entries but axis {self.axis} of the value "
                f"(shape {x.shape}) has size {x.shape[self.axis]}"
            )
        return [np.repeat(x, repeats, axis=self.axis)]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        repeats = node.inputs[1]
        rtype: TensorType = repeats.type
        shape = list(input_shapes[0])
        dim = shape[self.axis]
        if rtype.ndim == 0:
            shape[self.axis] = multiply(dim, repeats)
        elif rtype.shape == (1,):
            shape[self.axis] = multiply(dim, vector_entry(repeats, 0))
        else:
            shape[self.axis] = Reduce(REDUCTIONS["sum"], (0,))(repeats)
        return [tuple(shape)]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """One count for all: axis becomes (size, count) in C order, summed over the
        count. One count per element: the gradient is scattered back (accumulating) to
        the element each output position was copied from."""
        x, repeats = node.inputs
        (out_grad,) = output_grads
        rtype: TensorType = repeats.type
        if rtype.ndim == 0 or rtype.shape == (1,):
            count = repeats if rtype.ndim == 0 else vector_entry(repeats, 0)
            dims = shape_scalars(x)
            split_dims = [*dims[: self.axis + 1], count, *dims[self.axis + 1 :]]
            blocks = Reshape(len(split_dims))(out_grad, *split_dims)
            return [Reduce(REDUCTIONS["sum"], (self.axis + 1,))(blocks), DISCONNECTED]
        return [self._scatter_grad(x, repeats, out_grad), DISCONNECTED]

    def _scatter_grad(self, x: Var, repeats: Var, out_grad: Var) -> Var:
        T = tensor_namespace()
        dims = shape_scalars(x)
        source = Repeat(0)(T.arange(dims[self.axis]), repeats)
        zeros = T.zeros(dims, dtype=out_grad.type.dtype)
        target = zeros[(slice(None),) * self.axis + (source,)]
        return T.inc_subtensor(target, out_grad)

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """The same op with its axis one to the right (batched repeats: Blockwise)."""
        from jitgraph.ir.vectorize import vectorize_along_axes

        return vectorize_along_axes(self, "axis", batched, inputs)


@dataclasses.dataclass(frozen=True)
class Roll(Op):
    """``numpy.roll(x, shift, axis)``; ``axis=None`` rolls the flattened array."""

    axis: int | None

    def make_node(self, *inputs: Any) -> Node:
        x, xtype = tensor_and_type(inputs[0])
        if self.axis is not None:
            check_axis(self.axis, xtype.ndim, "roll")
        shift = as_int_scalar(inputs[1], "roll: shift")
        return self.make_apply([x, shift], [xtype])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, shift = inputs
        return [np.roll(x, int(shift), axis=self.axis)]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        return [input_shapes[0]]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        _, shift = node.inputs
        back = Elemwise(SCALAR_OPS["negative"])(shift)
        return [Roll(self.axis)(output_grads[0], back), DISCONNECTED]

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """The same op with its axis one to the right (batched shift or axis=None: Blockwise)."""
        from jitgraph.ir.vectorize import vectorize_along_axes

        return vectorize_along_axes(self, "axis", batched, inputs)
