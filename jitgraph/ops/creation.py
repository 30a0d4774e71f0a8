"""Creation ops: alloc (broadcast a value to a shape), arange, eye and tri.

Sizes are int64 scalar inputs of the node (constants when the user wrote literals), so
they may be symbolic; static shapes are read from the constants.

Gradients: alloc sums its gradient back to the value's shape; size arguments are
DISCONNECTED (they only shape the output); arange follows Theano (start gets the sum of
the gradient, step its sum weighted by the index, stop is DISCONNECTED).

>>> import jitgraph.tensor as T
>>> T.alloc(0.0, 3, T.lscalar("n")).type
TensorType(float32, (3, ?))
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
from jitgraph.ops.reduce import sum_to, tensor_namespace, zeros_gradient
from jitgraph.ops.shape import as_int_scalar, int64_constant, label, shape_scalars, static_int


@dataclasses.dataclass(frozen=True)
class Alloc(Op):
    """A fresh array of the given shape holding ``value`` broadcast NumPy-style (its dims
    are aligned to the right and must be 1 or equal to the target's)."""

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        value = as_tensor_variable(inputs[0])
        vtype: TensorType = value.type
        sizes = [as_int_scalar(s, f"alloc: shape[{i}]") for i, s in enumerate(inputs[1:])]
        if vtype.ndim > len(sizes):
            raise ValueError(
                f"alloc: the value {label(value)} is {vtype.ndim}-d, more than the "
                f"{len(sizes)} dims of the target shape"
            )
        return self.make_apply(
            [value, *sizes], [TensorType(vtype.dtype, self._static(value, sizes))]
        )

    def _static(self, value: Var, sizes: list[Var]) -> tuple[int | None, ...]:
        vshape = value.type.shape
        padded = (1,) * (len(sizes) - len(vshape)) + tuple(vshape)
        shape: list[int | None] = []
        for axis, (have, size) in enumerate(zip(padded, sizes)):
            want = static_int(size)
            if want is not None and want < 0:
                raise ValueError(f"alloc: shape[{axis}] is {want}; sizes must be >= 0")
            if have not in (None, 1) and want is not None and want != have:
                raise ValueError(
                    f"alloc: cannot broadcast {label(value)} of static shape {tuple(vshape)} "
                    f"to a shape with size {want} at axis {axis}"
                )
            # A value dim other than 1 fixes the target's size (checked at run time).
            shape.append(want if want is not None else (have if have != 1 else None))
        return tuple(shape)

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [allocate(np, inputs[0], inputs[1:])]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        return [tuple(node.inputs[1:])]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        value, *sizes = node.inputs
        return [sum_to(output_grads[0], value), *[DISCONNECTED] * len(sizes)]

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """A batched value: its element aligned to the target rank, the batch size prepended
        (batched sizes: Blockwise)."""
        from jitgraph.ir.vectorize import align, batch_size_of

        if any(batched[1:]):
            return None
        value, *sizes = inputs
        return [Alloc()(align(value, True, len(sizes)), batch_size_of(value), *sizes)]

    def short_description(self) -> str:
        return "alloc"


def arange_length(start: Any, stop: Any, step: Any) -> int:
    """The length of ``numpy.arange(start, stop, step)``.

    >>> arange_length(0, 10, 3), arange_length(1.0, 0.0, 0.5)
    (4, 0)
    """
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if all(isinstance(v, (int, np.integer)) for v in (start, stop, step)):
        # Exact for integers: ceil((stop - start) / step) without floating point.
        return max(0, -((int(start) - int(stop)) // int(step)))
    with np.errstate(all="ignore"):
        length = np.ceil((stop - start) / step)
    if not np.isfinite(length):
        raise ValueError(f"arange: cannot compute the length for bounds {start}, {stop}, {step}")
    return max(0, int(length))


def _python_scalar(data: np.ndarray) -> Any:
    return data.item()


@dataclasses.dataclass(frozen=True)
class ARange(Op):
    """``numpy.arange(start, stop, step, dtype=dtype)`` of three real scalar inputs."""

    dtype: str

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        bounds = [as_tensor_variable(v) for v in inputs]
        for what, var in zip(("start", "stop", "step"), bounds):
            vtype: TensorType = var.type
            if vtype.ndim != 0 or vtype.dtype in dtypes.COMPLEX:
                raise TypeError(
                    f"arange: {what} must be a real scalar, got {label(var)} ({vtype.describe()})"
                )
        length = None
        if all(isinstance(v, Const) for v in bounds):
            length = arange_length(*(_python_scalar(v.data) for v in bounds))  # type: ignore[attr-defined]
        return self.make_apply(bounds, [TensorType(self.dtype, (length,))])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        start, stop, step = (_python_scalar(v) for v in inputs)
        arange_length(start, stop, step)  # raises on a zero step
        return [np.arange(start, stop, step, dtype=self.dtype)]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        declared = node.outputs[0].type.shape[0]
        if declared is not None:
            return [(int64_constant(declared),)]
        return [(ArangeLength()(*node.inputs),)]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """Theano's: ``out[i] = start + i * step``, so d/dstart = sum(g) and d/dstep =
        sum(g * i); stop only sets the length. Integer outputs give zeros."""
        start, _, step = node.inputs
        (out_grad,) = output_grads
        if dtypes.kind(self.dtype) not in "fc":
            return [zeros_gradient(start), DISCONNECTED, zeros_gradient(step)]
        T = tensor_namespace()
        (length,) = shape_scalars(node.outputs[0])
        index = ARange(self.dtype)(0, length, 1)
        return [T.sum(out_grad), DISCONNECTED, T.sum(T.mul(out_grad, index))]

    def __str__(self) -> str:
        return f"ARange{{dtype={self.dtype}}}"


@dataclasses.dataclass(frozen=True)
class ArangeLength(Op):
    """The length of an arange from its bounds (the shape inference of ``ARange``)."""

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        return self.make_apply([as_tensor_variable(v) for v in inputs], [TensorType("int64", ())])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        length = arange_length(*(_python_scalar(v) for v in inputs))
        return [np.asarray(length, dtype="int64")]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        return [()]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        return [DISCONNECTED] * 3  # a length


@dataclasses.dataclass(frozen=True)
class Eye(Op):
    """``numpy.eye(n, m, k, dtype)``: ones on the k-th diagonal of an n x m matrix."""

    dtype: str

    def make_node(self, *inputs: Any) -> Node:
        n, m, k = [as_int_scalar(v, f"{self.name}: {w}") for v, w in zip(inputs, ("n", "m", "k"))]
        shape = []
        for what, size in (("n", n), ("m", m)):
            value = static_int(size)
            if value is not None and value < 0:
                raise ValueError(f"{self.name}: {what} must be >= 0, got {value}")
            shape.append(value)
        return self.make_apply([n, m, k], [TensorType(self.dtype, shape)])

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    def compute(self, n: int, m: int, k: int) -> np.ndarray:
        return np.eye(n, m, k, dtype=self.dtype)

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        n, m, k = (int(v) for v in inputs)
        if n < 0 or m < 0:
            raise ValueError(f"{self.name}: the sizes must be >= 0, got n={n}, m={m}")
        return [self.compute(n, m, k)]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        return [(node.inputs[0], node.inputs[1])]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        # n, m and k are integer sizes and an offset: no gradient flows to them (Theano
        # calls them undefined; as integer inputs they are disconnected here).
        return [DISCONNECTED] * 3

    def __str__(self) -> str:
        return f"{type(self).__name__}{{dtype={self.dtype}}}"


@dataclasses.dataclass(frozen=True)
class Tri(Eye):
    """``numpy.tri(n, m, k, dtype)``: ones at and below the k-th diagonal."""

    def compute(self, n: int, m: int, k: int) -> np.ndarray:
        return np.tri(n, m, k, dtype=self.dtype)


__all__ = ["ARange", "Alloc", "ArangeLength", "Eye", "Tri", "arange_length"]


def allocate(xp: Any, value: Any, sizes: Sequence[Any]) -> Any:
    """``Alloc``'s result with array module ``xp`` (NumPy, or CuPy on the GPU): a new
    array of shape ``sizes`` filled with ``value`` broadcast."""
    shape = tuple(int(s) for s in sizes)
    if any(n < 0 for n in shape):
        raise ValueError(f"alloc: negative size in the target shape {shape}")
    padded = (1,) * (len(shape) - value.ndim) + value.shape
    if any(have not in (1, want) for have, want in zip(padded, shape)):
        raise ValueError(f"alloc: cannot broadcast a value of shape {value.shape} to shape {shape}")
    out = xp.empty(shape, dtype=value.dtype)
    out[...] = value
    return out
