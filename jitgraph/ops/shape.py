"""Shape ops: dimshuffle, shape, reshape, specify_shape, rebroadcast, copy; the ops that
assemble or replicate data (join, split, tile, repeat, roll) are in ops/joining.py.

Shape arguments are int64 scalar inputs of the node (constants when the user wrote
literals), so symbolic sizes work like literal ones; static shapes are read from the
constants (``static_int``).

Gradients move the output gradient back the way the data came (inverse permutation,
reshape back, split a join, sum over tiles and repeats); shape and count arguments are
DISCONNECTED.

>>> import jitgraph.tensor as T
>>> T.dmatrix("m").dimshuffle(1, "x", 0).type
TensorType(float64, (?, 1, ?))
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.ir.graph import Const, Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import DISCONNECTED, GradTerm, Op
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.indexing import Subtensor
from jitgraph.ops.reduce import REDUCTIONS, Reduce
from jitgraph.ops.scalar import SCALAR_OPS


@dataclasses.dataclass(frozen=True)
class DimShuffle(Op):
    """Permute axes, drop static-1 axes and insert new broadcastable ones ('x').

    ``new_order`` lists input axes and 'x'; input axes left out must be broadcastable.
    """

    only_views = True  # its reference makes a view: nothing to compile

    input_ndim: int
    new_order: tuple[int | str, ...]

    def __post_init__(self) -> None:
        axes = [a for a in self.new_order if a != "x"]
        if any(not isinstance(a, int) or not 0 <= a < self.input_ndim for a in axes):
            raise ValueError(
                f"dimshuffle{self.new_order}: entries must be 'x' or an axis in "
                f"[0, {self.input_ndim}) of the input"
            )
        if len(set(axes)) != len(axes):
            raise ValueError(f"dimshuffle{self.new_order}: an axis appears twice")

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        (x,) = [as_tensor_variable(v) for v in inputs]
        xtype: TensorType = x.type
        if xtype.ndim != self.input_ndim:
            raise TypeError(
                f"dimshuffle expected a {self.input_ndim}-d input, got {x.describe()} "
                f"of ndim {xtype.ndim}"
            )
        dropped = set(range(self.input_ndim)) - set(self.new_order)
        for axis in sorted(dropped):
            if xtype.shape[axis] != 1:
                raise ValueError(
                    f"dimshuffle{self.new_order} drops axis {axis} of {x.describe()}, "
                    f"which is not broadcastable (static shape {xtype.shape})"
                )
        shape = tuple(1 if a == "x" else xtype.shape[a] for a in self.new_order)  # type: ignore[index]
        return self.make_apply([x], [TensorType(xtype.dtype, shape)])

    @functools.cached_property
    def _plan(self) -> tuple[tuple[int, ...], tuple[int, ...] | None, tuple[int, ...]]:
        """(dropped axes, transposition or None, for each output dim the input axis it
        takes or -1 for 'x'): derived once, ``perform`` runs on every call."""
        sources = tuple(-1 if a == "x" else int(a) for a in self.new_order)
        keep = tuple(a for a in sources if a >= 0)
        dropped = tuple(a for a in range(self.input_ndim) if a not in keep)
        order = tuple(sorted(keep).index(a) for a in keep)
        return dropped, None if order == tuple(sorted(order)) else order, sources

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        (x,) = inputs
        dropped, order, sources = self._plan
        for axis in dropped:
            if x.shape[axis] != 1:
                raise ValueError(
                    f"dimshuffle{self.new_order}: axis {axis} has size {x.shape[axis]} "
                    "at run time, expected 1"
                )
        y = x
        if order is not None:  # drop the size-1 axes, then permute the others
            kept = x.reshape([n for a, n in enumerate(x.shape) if a not in dropped])
            y = kept.transpose(order)
        shape = x.shape
        return [y.reshape([1 if a < 0 else shape[a] for a in sources])]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        from jitgraph.tensor.basic import constant

        (shp,) = input_shapes
        one = constant(1, dtype="int64")
        return [tuple(one if a == "x" else shp[a] for a in self.new_order)]  # type: ignore[index]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """The inverse shuffle: inserted axes summed away (dropped when g is statically 1
        there), input axes put back in order, dropped broadcastable axes restored."""
        (out_grad,) = output_grads
        inserted = tuple(i for i, a in enumerate(self.new_order) if a == "x")
        if any(out_grad.type.shape[i] != 1 for i in inserted):
            out_grad = Reduce(REDUCTIONS["sum"], inserted)(out_grad)
            kept = [a for a in self.new_order if a != "x"]
        else:
            kept = list(self.new_order)
        order = tuple(kept.index(a) if a in kept else "x" for a in range(self.input_ndim))
        return [DimShuffle(len(kept), order)(out_grad)]

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """The batch axis stays first; every element axis moves one to the right."""
        order = tuple(a if a == "x" else a + 1 for a in self.new_order)  # type: ignore[operator]
        return [DimShuffle(self.input_ndim + 1, (0, *order))(inputs[0])]

    def __str__(self) -> str:
        return f"DimShuffle{{{','.join(str(a) for a in self.new_order)}}}"

    def short_description(self) -> str:
        return f"dimshuffle{self.new_order}"


@dataclasses.dataclass(frozen=True)
class Shape(Op):
    """The shape of a tensor as an int64 vector (symbolic: usable in expressions)."""

    only_views = True  # its reference makes a view: nothing to compile

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        (x,) = [as_tensor_variable(v) for v in inputs]
        return self.make_apply([x], [TensorType("int64", (x.type.ndim,))])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(inputs[0].shape, dtype="int64")]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        from jitgraph.tensor.basic import constant

        return [(constant(node.inputs[0].type.ndim, dtype="int64"),)]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        return [DISCONNECTED]  # the values of x do not change its shape

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """The shape of one element: the batched shape without its first entry, unbatched
        (a constant when the element's shape is static)."""
        from jitgraph.tensor.basic import constant

        element_shape = inputs[0].type.shape[1:]
        if None not in element_shape:
            return [constant(np.asarray(element_shape, dtype="int64"))]
        slice_from_one = Subtensor((("s", True, False, False),))
        return [slice_from_one(Shape()(inputs[0]), int64_constant(1))]


# ----------------------------------------------------------------------------- shape scalars
def label(var: Var) -> str:
    """A variable for an error message: constants by value, the rest by ``describe()``."""
    if isinstance(var, Const):
        return f"the constant {var.data.tolist()!r}"
    return var.describe()


def int64_constant(value: int) -> Var:
    from jitgraph.tensor.basic import constant

    return constant(int(value), dtype="int64")


def as_int_scalar(value: Any, what: str) -> Var:
    """``value`` (a Python int or an integer 0-d tensor) as an int64 scalar variable.

    Constants stay constants, so static shapes can be read from them; symbolic integers of
    other widths are cast. ``what`` names the argument in errors.

    >>> as_int_scalar(3, "n").type
    TensorType(int64, scalar)
    """
    from jitgraph.tensor.basic import as_tensor_variable

    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what} must be an integer, got the bool {value!r}")
    var = as_tensor_variable(value)
    vtype: TensorType = var.type
    if vtype.ndim != 0 or vtype.dtype not in dtypes.INTEGER:
        raise TypeError(f"{what} must be an integer scalar, got {label(var)} ({vtype.describe()})")
    if vtype.dtype == "int64":
        return var
    if isinstance(var, Const):
        return int64_constant(int(var.data))
    return Elemwise(SCALAR_OPS["cast_int64"])(var)


def as_int_vector(value: Any, what: str) -> Var:
    """``value`` as an int64 vector (constants stay constants)."""
    from jitgraph.tensor.basic import as_tensor_variable, constant

    var = as_tensor_variable(value)
    vtype: TensorType = var.type
    if vtype.ndim != 1 or vtype.dtype not in dtypes.INTEGER:
        raise TypeError(f"{what} must be an integer vector, got {label(var)} ({vtype.describe()})")
    if vtype.dtype == "int64":
        return var
    if isinstance(var, Const):
        return constant(var.data.astype("int64"))
    return Elemwise(SCALAR_OPS["cast_int64"])(var)


def static_int(var: Var) -> int | None:
    """The value of an integer scalar when the graph is built: a constant, its int64 cast,
    or ``x.shape[i]`` where x's static dim i is known; None otherwise."""
    if isinstance(var, Const):
        data = var.data
        return int(data) if data.ndim == 0 and data.dtype.kind in "iu" else None
    node = var.owner
    if node is None:
        return None
    if isinstance(node.op, Elemwise) and node.op.scalar_op.name == "cast_int64":
        return static_int(node.inputs[0])
    if isinstance(node.op, Subtensor) and node.op.index == ("i",):
        source, position = node.inputs
        axis = static_int(position)
        if source.owner is not None and isinstance(source.owner.op, Shape) and axis is not None:
            dims = source.owner.inputs[0].type.shape
            if -len(dims) <= axis < len(dims):
                return dims[axis]
    return None


def vector_entry(vector: Var, index: int) -> Var:
    """``vector[index]`` for a constant index (folded when the vector is a constant)."""
    if isinstance(vector, Const):
        return int64_constant(int(vector.data[index]))
    return Subtensor(("i",))(vector, int64_constant(index))


def as_shape_scalars(shape: Any, what: str, length: int | None = None) -> list[Var]:
    """A shape argument as a list of int64 scalars.

    ``shape`` is an int, a sequence of ints and integer scalars, or an integer vector whose
    length is static or given by ``length`` (then checked at run time).

    >>> [v.type.dtype for v in as_shape_scalars((2, 3), "shape")]
    ['int64', 'int64']
    """
    from jitgraph.tensor.basic import as_tensor_variable

    if isinstance(shape, np.ndarray):
        shape = shape.tolist()
    if isinstance(shape, (list, tuple)):
        return [as_int_scalar(v, f"{what}[{i}]") for i, v in enumerate(shape)]
    var = as_tensor_variable(shape)
    if var.type.ndim == 0:
        return [as_int_scalar(var, what)]
    vector = as_int_vector(var, what)
    static_length = vector.type.shape[0]
    if static_length is None and length is None:
        raise ValueError(
            f"{what}: the length of {label(var)} is not known when the graph is built; "
            "pass ndim= to say it"
        )
    if static_length is None:
        assert length is not None
        vector = SpecifyShape((0,))(vector, int64_constant(length))
        static_length = length
    elif length is not None and static_length != length:
        raise ValueError(f"{what}: {label(var)} has {static_length} entries, expected {length}")
    return [vector_entry(vector, i) for i in range(static_length)]


def shape_scalars(x: Var) -> list[Var]:
    """The shape of ``x`` as int64 scalars: constants where the static shape knows them."""
    dims: tuple[int | None, ...] = x.type.shape
    shape: Var = Shape()(x)
    return [
        int64_constant(n) if n is not None else vector_entry(shape, i) for i, n in enumerate(dims)
    ]


def multiply(a: Var, b: Var) -> Var:
    """int64 product of two shape scalars (folded when both are static)."""
    if static_int(a) is not None and static_int(b) is not None:
        return int64_constant(static_int(a) * static_int(b))  # type: ignore[operator]
    return Elemwise(SCALAR_OPS["multiply"])(a, b)


def add(a: Var, b: Var) -> Var:
    """int64 sum of two shape scalars (folded when both are static)."""
    if static_int(a) is not None and static_int(b) is not None:
        return int64_constant(static_int(a) + static_int(b))  # type: ignore[operator]
    return Elemwise(SCALAR_OPS["add"])(a, b)


def tensor_and_type(value: Any) -> tuple[Var, TensorType]:
    from jitgraph.tensor.basic import as_tensor_variable

    var = as_tensor_variable(value)
    return var, var.type


def check_axis(axis: int, ndim: int, what: str) -> None:
    if not 0 <= axis < ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for a {ndim}-d tensor")


# ----------------------------------------------------------------------------- reshape
def resolve_reshape(old_shape: Sequence[int], requested: Sequence[int]) -> tuple[int, ...]:
    """NumPy's reshape target: at most one -1, inferred from the size.

    >>> resolve_reshape((2, 6), (3, -1))
    (3, 4)
    """
    old, new = tuple(old_shape), tuple(requested)
    size = math.prod(old)
    if any(n < -1 for n in new) or new.count(-1) > 1:
        raise ValueError(
            f"reshape: invalid target shape {new}: sizes must be >= 0, with at most one -1"
        )
    known = math.prod(n for n in new if n != -1)
    if -1 in new:
        if known == 0 or size % known:
            raise ValueError(
                f"cannot reshape an array of shape {old} (size {size}) into shape {new}"
            )
        return tuple(size // known if n == -1 else n for n in new)
    if known != size:
        raise ValueError(f"cannot reshape an array of shape {old} (size {size}) into shape {new}")
    return new


@dataclasses.dataclass(frozen=True)
class Reshape(Op):
    """``x.reshape(shape)``: inputs are x and one int64 scalar per output dim (-1 allowed
    once: inferred from the size)."""

    only_views = True  # its reference makes a view: nothing to compile

    ndim: int

    def make_node(self, *inputs: Any) -> Node:
        x, xtype = tensor_and_type(inputs[0])
        if len(inputs) - 1 != self.ndim:
            raise TypeError(
                f"Reshape{{{self.ndim}}} takes {self.ndim} sizes, got {len(inputs) - 1}"
            )
        sizes = [as_int_scalar(s, f"reshape: shape[{i}]") for i, s in enumerate(inputs[1:])]
        return self.make_apply([x, *sizes], [TensorType(xtype.dtype, self._static(x, sizes))])

    def _static(self, x: Var, sizes: list[Var]) -> tuple[int | None, ...]:
        requested = [static_int(s) for s in sizes]
        if any(n is not None and n < -1 for n in requested) or requested.count(-1) > 1:
            raise ValueError(
                f"reshape: invalid target shape {tuple('?' if n is None else n for n in requested)}"
                ": sizes must be >= 0, with at most one -1"
            )
        old = x.type.shape
        if None not in old and None not in requested:
            try:
                return resolve_reshape(old, requested)  # type: ignore[arg-type]
            except ValueError as exc:
                raise ValueError(f"{exc} ({label(x)})") from None
        return tuple(None if n is None or n < 0 else n for n in requested)

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, *sizes = inputs
        return [np.reshape(x, resolve_reshape(x.shape, [int(s) for s in sizes]))]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        x_shape = input_shapes[0]
        sizes = node.inputs[1:]
        out: list[Var] = []
        for axis, (declared, size) in enumerate(zip(node.outputs[0].type.shape, sizes)):
            value = static_int(size)
            if declared is not None:
                out.append(int64_constant(declared))
            elif value is not None and value >= 0:
                out.append(size)
            else:
                out.append(ReshapeDim(len(x_shape), axis)(*x_shape, *sizes))
        return [tuple(out)]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        x, *sizes = node.inputs
        back = Reshape(x.type.ndim)(output_grads[0], *shape_scalars(x))
        return [back, *[DISCONNECTED] * len(sizes)]

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """The batch size prepended to the target shape (batched sizes: Blockwise)."""
        from jitgraph.ir.vectorize import batch_size_of

        if any(batched[1:]):
            return None
        x, *sizes = inputs
        return [Reshape(self.ndim + 1)(x, batch_size_of(x), *sizes)]

    def short_description(self) -> str:
        return f"reshape to {self.ndim}-d"


@dataclasses.dataclass(frozen=True)
class ReshapeDim(Op):
    """Size ``axis`` of a reshape's result, from the input's shape and the requested sizes
    (resolves a -1): the shape inference of ``Reshape``."""

    input_ndim: int
    axis: int

    def make_node(self, *inputs: Any) -> Node:
        sizes = [as_int_scalar(s, "reshape size") for s in inputs]
        return self.make_apply(sizes, [TensorType("int64", ())])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        values = [int(v) for v in inputs]
        old, requested = values[: self.input_ndim], values[self.input_ndim :]
        return [np.asarray(resolve_reshape(old, requested)[self.axis], dtype="int64")]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        return [()]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        return [DISCONNECTED] * len(node.inputs)  # sizes in, a size out


# ----------------------------------------------------------------------------- type refinement
@dataclasses.dataclass(frozen=True)
class SpecifyShape(Op):
    """Assert the sizes of ``axes`` at run time; the output's static shape says them."""

    only_views = True  # its reference makes a view: nothing to compile

    axes: tuple[int, ...]

    def make_node(self, *inputs: Any) -> Node:
        x, xtype = tensor_and_type(inputs[0])
        if len(inputs) - 1 != len(self.axes):
            raise TypeError(f"{self} takes {len(self.axes)} sizes, got {len(inputs) - 1}")
        for axis in self.axes:
            check_axis(axis, xtype.ndim, "specify_shape")
        sizes = [
            as_int_scalar(s, f"specify_shape: size of axis {a}")
            for a, s in zip(self.axes, inputs[1:])
        ]
        shape = list(xtype.shape)
        for axis, size in zip(self.axes, sizes):
            value = static_int(size)
            if value is not None and value < 0:
                raise ValueError(f"specify_shape: size {value} for axis {axis} is negative")
            if value is not None and shape[axis] not in (None, value):
                raise ValueError(
                    f"specify_shape: {label(x)} has static size {shape[axis]} at axis {axis}, "
                    f"but the shape given says {value}"
                )
            shape[axis] = value if value is not None else shape[axis]
        return self.make_apply([x, *sizes], [TensorType(xtype.dtype, shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, *sizes = inputs
        expected = ["?"] * x.ndim
        for axis, size in zip(self.axes, sizes):
            expected[axis] = str(int(size))
        if any(x.shape[a] != int(s) for a, s in zip(self.axes, sizes)):
            raise ValueError(
                f"specify_shape: the value has shape {x.shape}, expected ({', '.join(expected)})"
            )
        return [x]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        shape = list(input_shapes[0])
        for axis, size in zip(self.axes, node.inputs[1:]):
            shape[axis] = size
        return [tuple(shape)]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        return [output_grads[0], *[DISCONNECTED] * len(self.axes)]

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """The same op with its axes one to the right (batched sizes: Blockwise)."""
        from jitgraph.ir.vectorize import vectorize_along_axes

        return vectorize_along_axes(self, "axes", batched, inputs)


@dataclasses.dataclass(frozen=True)
class Rebroadcast(Op):
    """Theano's Rebroadcast: ``(axis, True)`` makes a dim broadcastable (static size 1,
    checked at run time), ``(axis, False)`` forgets a static size of 1."""

    pattern: tuple[tuple[int, bool], ...]

    def make_node(self, *inputs: Any) -> Node:
        x, xtype = tensor_and_type(*inputs)
        shape = list(xtype.shape)
        for axis, broadcastable in self.pattern:
            check_axis(axis, xtype.ndim, "Rebroadcast")
            if broadcastable and shape[axis] not in (None, 1):
                raise ValueError(
                    f"cannot make axis {axis} of {label(x)} broadcastable: its static size is "
                    f"{shape[axis]}, not 1"
                )
            if broadcastable:
                shape[axis] = 1
            elif shape[axis] == 1:
                shape[axis] = None
        return self.make_apply([x], [TensorType(xtype.dtype, shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        (x,) = inputs
        for axis, broadcastable in self.pattern:
            if broadcastable and x.shape[axis] != 1:
                raise ValueError(
                    f"addbroadcast: axis {axis} has size {x.shape[axis]} at run time, expected 1 "
                    f"(the value has shape {x.shape})"
                )
        return [x]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        shape = list(input_shapes[0])
        for axis, broadcastable in self.pattern:
            if broadcastable:
                shape[axis] = int64_constant(1)
        return [tuple(shape)]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """The gradient gets back x's broadcastable pattern on the changed axes (Theano)."""
        (x,) = node.inputs
        (out_grad,) = output_grads
        have, want = out_grad.type.broadcastable, x.type.broadcastable
        changes = tuple((a, want[a]) for a, _ in self.pattern if have[a] != want[a])
        return [Rebroadcast(changes)(out_grad) if changes else out_grad]

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """The same pattern, its axes one to the right."""
        return [Rebroadcast(tuple((axis + 1, flag) for axis, flag in self.pattern))(inputs[0])]

    def __str__(self) -> str:
        marks = ", ".join(f"{a}:{'1' if b else '?'}" for a, b in self.pattern)
        return f"Rebroadcast{{{marks}}}"


@dataclasses.dataclass(frozen=True)
class TensorCopy(Op):
    """A copy of its input: a new variable with the same value (Theano's tensor_copy)."""

    def make_node(self, *inputs: Any) -> Node:
        x, xtype = tensor_and_type(*inputs)
        return self.make_apply([x], [xtype])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.array(inputs[0], copy=True)]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        return [input_shapes[0]]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        return [output_grads[0]]

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """A copy of the batch."""
        return [TensorCopy()(inputs[0])]
