"""Linear algebra ops: dot (numpy.dot for every rank), matmul, tensordot, batched dot,
and the diagonal of a tensor.

Output dtypes: Theano's upcast of the operands, as NumPy computes them (int8 . int8 is
int8, wrapping on overflow like NumPy; bool . bool is bool, a logical or of ands).
Mismatched contracted dims are reported when the graph is built if the static shapes
disagree, else when it runs; both messages name the two operands and their shapes.

Gradients are products of the output gradient with the other operand (dot and matmul
for the common ranks, tensordot for the rest); matmul sums the gradient of a broadcast
batch dim back to the operand's own size.

>>> import jitgraph.tensor as T
>>> T.dot(T.dmatrix("a"), T.dvector("v")).type
TensorType(float64, vector)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.ir.graph import Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import GradTerm, GraphError, Op
from jitgraph.ops.reduce import SumTo, tensor_namespace


def product_dtype(a: str, b: str) -> str:
    """The dtype of a sum of products of ``a`` and ``b`` values (dot, matmul, tensordot).

    >>> product_dtype("bool", "bool"), product_dtype("int8", "float32")
    ('bool', 'float32')
    """
    if a == "bool" and b == "bool":
        return "bool"
    return dtypes.upcast(a, b)


def _tensor_inputs(op_name: str, inputs: Sequence[Any]) -> tuple[Var, Var]:
    from jitgraph.tensor.basic import as_tensor_variable

    if len(inputs) != 2:
        raise TypeError(f"{op_name} takes 2 arguments, got {len(inputs)}")
    a, b = (as_tensor_variable(v) for v in inputs)
    return a, b


def _as_dtype(value: np.ndarray, dtype: str) -> np.ndarray:
    return value.astype(dtype, copy=False)


def matmul_mismatch(node: Node, a_shape: Any, b_shape: Any, exc: Exception) -> GraphError:
    """The error of a ``Matmul`` whose operands' shapes do not match at run time."""
    first, second = node.inputs
    return GraphError(
        f"matmul: shapes {tuple(a_shape)} ({first.describe()}) and {tuple(b_shape)} "
        f"({second.describe()}) do not match at run time: {exc}"
    )


def _alignment_error(
    op_name: str, a: Var, b: Var, a_shape: Any, b_shape: Any, ka: Any, kb: Any, when: str
) -> ValueError:
    cls = GraphError if when == "at run time" else ValueError
    return cls(
        f"{op_name}: shapes {tuple(a_shape)} and {tuple(b_shape)} are not aligned"
        f"{' ' + when if when else ''}: "
        f"{ka} (contracted axis of {a.describe()}) != {kb} (contracted axis of {b.describe()})"
    )


def dot_shapes(
    a_shape: tuple[Any, ...], b_shape: tuple[Any, ...]
) -> tuple[tuple[Any, ...], tuple[Any, Any] | None]:
    """numpy.dot's output shape and its contracted sizes (None for a 0-d operand, which
    multiplies). Works on static shapes and on tuples of symbolic dims alike."""
    if not a_shape or not b_shape:
        return (tuple(a_shape) or tuple(b_shape)), None
    b_rest = tuple(b_shape[:-2]) + tuple(b_shape[-1:]) if len(b_shape) >= 2 else ()
    contracted = (a_shape[-1], b_shape[-2 if len(b_shape) >= 2 else 0])
    return tuple(a_shape[:-1]) + b_rest, contracted


def _check_static(op_name: str, a: Var, b: Var, contracted: tuple[Any, Any] | None) -> None:
    if contracted is None:
        return
    ka, kb = contracted
    if ka is not None and kb is not None and ka != kb:
        at, bt = a.type, b.type
        raise _alignment_error(op_name, a, b, at.shape, bt.shape, ka, kb, "")


@dataclasses.dataclass(frozen=True)
class Dot(Op):
    """numpy.dot: inner product over the last axis of ``a`` and the second-to-last of ``b``
    (the only axis of a vector); 0-d operands multiply."""

    def make_node(self, *inputs: Any) -> Node:
        a, b = _tensor_inputs("dot", inputs)
        at, bt = a.type, b.type
        shape, contracted = dot_shapes(at.shape, bt.shape)
        _check_static("dot", a, b, contracted)
        return self.make_apply([a, b], [TensorType(product_dtype(at.dtype, bt.dtype), shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        a, b = inputs
        out_dtype = node.outputs[0].type.dtype
        _, contracted = dot_shapes(a.shape, b.shape)
        if contracted is not None and contracted[0] != contracted[1]:
            first, second = node.inputs
            ka, kb = contracted
            raise _alignment_error("dot", first, second, a.shape, b.shape, ka, kb, "at run time")
        return [np.asarray(np.dot(_as_dtype(a, out_dtype), _as_dtype(b, out_dtype)))]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        sa, sb = input_shapes
        return [dot_shapes(tuple(sa), tuple(sb))[0]]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        a, b = node.inputs
        (out_grad,) = output_grads
        na, nb = a.type.ndim, b.type.ndim
        if na == 0 or nb == 0:
            return _scaling_grads(a, b, out_grad)
        if na <= 2 and nb <= 2:
            return _low_rank_dot_grads(a, b, out_grad)
        return _tensor_dot_grads(a, b, out_grad)

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """numpy.dot per element, by rank: a 0-d operand multiplies; a batched first operand
        keeps its contracted axis last (Dot applies as is); a batched second operand only is
        a tensordot; both batched is a batched matrix product."""
        from jitgraph.ir.vectorize import cast_to

        a, b = node.inputs
        a_ndim, b_ndim = a.type.ndim, b.type.ndim
        if a_ndim == 0 or b_ndim == 0:
            result = _batched_scale(batched, inputs, a_ndim + b_ndim)
        elif batched[0] and not batched[1]:
            result = Dot()(*inputs)
        elif not batched[0]:
            result = _dot_batched_right(inputs[0], inputs[1], a_ndim, b_ndim)
        else:
            result = _dot_both_batched(inputs[0], inputs[1], a_ndim, b_ndim)
        return [cast_to(result, node.outputs[0].type.dtype)]


def _transposed(x: Var) -> Var:
    """``x`` with its last two axes exchanged."""
    from jitgraph.ops.shape import DimShuffle

    ndim = x.type.ndim
    return DimShuffle(ndim, (*range(ndim - 2), ndim - 1, ndim - 2))(x)


def _scaling_grads(a: Var, b: Var, out_grad: Var) -> list[GradTerm]:
    """dot with a 0-d operand is ``a * b``; the 0-d side sums its gradient."""
    T = tensor_namespace()
    terms: list[GradTerm] = []
    for operand, other in ((a, b), (b, a)):
        product = T.mul(out_grad, other)
        terms.append(T.sum(product) if operand.type.ndim == 0 else product)
    return terms


def _low_rank_dot_grads(a: Var, b: Var, out_grad: Var) -> list[GradTerm]:
    """Vectors and matrices, with dot itself (what BLAS runs): for ``out = a . b``,
    ``da = g . b.T`` and ``db = a.T . g``, with outer products where a vector meets a
    vector gradient."""
    T = tensor_namespace()
    dot = Dot()
    ranks = (a.type.ndim, b.type.ndim)
    if ranks == (1, 1):
        return [T.mul(out_grad, b), T.mul(out_grad, a)]
    if ranks == (2, 1):
        return [T.outer(out_grad, b), dot(out_grad, a)]
    if ranks == (1, 2):
        return [dot(b, out_grad), T.outer(a, out_grad)]
    return [dot(out_grad, _transposed(b)), dot(_transposed(a), out_grad)]


def _tensor_dot_grads(a: Var, b: Var, out_grad: Var) -> list[GradTerm]:
    """Any ranks >= 1: ``out[I, J, k] = sum_m a[I, m] b[J, m, k]`` (b's m is its second
    to last axis, or its only one). ``da`` contracts g's J and k axes with b's; ``db``
    contracts g's I axes with a's and moves m back in front of k."""
    from jitgraph.ops.shape import DimShuffle

    na, nb = a.type.ndim, b.type.ndim
    b_inner = nb - 2 if nb >= 2 else 0
    b_rest = tuple(j for j in range(nb) if j != b_inner)
    grad_a = TensorDot(tuple(range(na - 1, na - 1 + len(b_rest))), b_rest)(out_grad, b)
    grad_b = TensorDot(tuple(range(na - 1)), tuple(range(na - 1)))(a, out_grad)
    if nb >= 2:  # grad_b is (m, J..., k); b is (J..., m, k)
        grad_b = DimShuffle(nb, (*range(1, nb - 1), 0, nb - 1))(grad_b)
    return [grad_a, grad_b]


# ----------------------------------------------------------------------------- matmul
# ----------------------------------------------------------------------------- Dot batching
def _batched_scale(batched: Sequence[bool], inputs: Sequence[Var], ndim: int) -> Var:
    """dot with a 0-d operand, per element: a broadcast multiplication."""
    from jitgraph.ir.vectorize import align
    from jitgraph.ops.elemwise import Elemwise
    from jitgraph.ops.scalar import SCALAR_OPS

    aligned = [align(v, flag, ndim) for v, flag in zip(inputs, batched)]
    return Elemwise(SCALAR_OPS["multiply"])(*aligned)


def _dot_batched_right(a: Var, b_batched: Var, a_ndim: int, b_ndim: int) -> Var:
    """dot(a, b[i]) for every i: a tensordot whose batch axis lands after a's free axes,
    then moved to the front."""
    from jitgraph.ops.shape import DimShuffle

    contracted_b = b_ndim - 2 if b_ndim >= 2 else 0
    product = TensorDot((a_ndim - 1,), (contracted_b + 1,))(a, b_batched)
    ndim = product.type.ndim
    batch_axis = a_ndim - 1
    order = (batch_axis, *range(batch_axis), *range(batch_axis + 1, ndim))
    if order == tuple(range(ndim)):
        return product
    return DimShuffle(ndim, order)(product)


def _dot_both_batched(a: Var, b: Var, a_ndim: int, b_ndim: int) -> Var:
    """dot(a[i], b[i]): one batched matmul for vectors and matrices (a vector becomes a
    1-row or 1-column matrix, whose unit axis is dropped afterwards), else BatchedDot."""
    from jitgraph.ops.shape import DimShuffle

    if a_ndim > 2 or b_ndim > 2:
        return BatchedDot()(a, b)
    a_matrix = a if a_ndim == 2 else DimShuffle(2, (0, "x", 1))(a)
    b_matrix = b if b_ndim == 2 else DimShuffle(2, (0, 1, "x"))(b)
    product = Matmul()(a_matrix, b_matrix)
    keep = (0, *((1,) if a_ndim == 2 else ()), *((2,) if b_ndim == 2 else ()))
    return product if keep == (0, 1, 2) else DimShuffle(3, keep)(product)


def _broadcast_static(x: int | None, y: int | None) -> int | None:
    """One broadcast batch dim of static sizes (None unknown); raises on a clash."""
    if x == 1 or (x is None and y not in (None, 1)):
        return y
    if y == 1 or y is None or x == y:
        return x
    raise ValueError(f"batch dims {x} and {y} do not broadcast")


def _broadcast_symbolic(x: Var, y: Var, static_x: int | None, static_y: int | None) -> Var:
    from jitgraph.tensor.math import eq, switch  # type: ignore[attr-defined]

    if static_x == 1 or (static_x is None and static_y not in (None, 1)):
        return y
    if static_y == 1 or static_x is not None:
        return x
    return switch(eq(x, 1), y, x)


def _matmul_core(a_shape: tuple[Any, ...], b_shape: tuple[Any, ...]) -> tuple[Any, ...]:
    """The non-batch part of matmul's output: rows of ``a``, columns of ``b``, each only
    when that operand is at least 2-d (a vector operand's 1 is dropped, as NumPy does)."""
    rows = tuple(a_shape[-2:-1]) if len(a_shape) >= 2 else ()
    cols = tuple(b_shape[-1:]) if len(b_shape) >= 2 else ()
    return rows + cols


def _batch_dims(shape: tuple[Any, ...], width: int, fill: Any) -> tuple[Any, ...]:
    batch = tuple(shape[:-2])
    return (fill,) * (width - len(batch)) + batch


@dataclasses.dataclass(frozen=True)
class Matmul(Op):
    """numpy.matmul: stacks of matrices with broadcast batch dims; a 1-d operand is a
    row (left) or column (right) vector whose unit dim is dropped; 0-d operands are an
    error (use ``*``)."""

    def make_node(self, *inputs: Any) -> Node:
        a, b = _tensor_inputs("matmul", inputs)
        at, bt = a.type, b.type
        for name, var in (("first", a), ("second", b)):
            if var.type.ndim == 0:
                raise ValueError(
                    f"matmul: the {name} operand {var.describe()} is 0-d; matmul needs "
                    "operands of at least 1 dim (use * to scale by a scalar)"
                )
        contracted = (at.shape[-1], bt.shape[-2 if bt.ndim >= 2 else 0])
        _check_static("matmul", a, b, contracted)
        width = max(at.ndim, bt.ndim) - 2
        try:
            batch = tuple(
                _broadcast_static(x, y)
                for x, y in zip(_batch_dims(at.shape, width, 1), _batch_dims(bt.shape, width, 1))
            )
        except ValueError as exc:
            raise ValueError(
                f"matmul: the batch dims of {a.describe()} (static shape {at.shape}) and "
                f"{b.describe()} (static shape {bt.shape}) do not broadcast: {exc}"
            ) from None
        shape = batch + _matmul_core(at.shape, bt.shape)
        return self.make_apply([a, b], [TensorType(product_dtype(at.dtype, bt.dtype), shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        a, b = inputs
        out_dtype = node.outputs[0].type.dtype
        try:
            result = np.matmul(_as_dtype(a, out_dtype), _as_dtype(b, out_dtype))
        except ValueError as exc:
            raise matmul_mismatch(node, a.shape, b.shape, exc) from None
        return [np.asarray(result)]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        sa, sb = (tuple(s) for s in input_shapes)
        at, bt = (v.type for v in node.inputs)
        width = max(len(sa), len(sb)) - 2
        static_a, static_b = _batch_dims(at.shape, width, 1), _batch_dims(bt.shape, width, 1)
        batch = []
        for j, (x, y) in enumerate(zip(_batch_dims(sa, width, None), _batch_dims(sb, width, None))):
            if x is None or y is None:  # the dim exists in one operand only
                batch.append(y if x is None else x)
            else:
                batch.append(_broadcast_symbolic(x, y, static_a[j], static_b[j]))
        return [tuple(batch) + _matmul_core(sa, sb)]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """Vectors are promoted to matrices (a row on the left, a column on the right),
        ``da = g @ b.T`` and ``db = a.T @ g``, each summed over the batch dims where its
        operand was broadcast, and the promoted axis dropped again."""
        from jitgraph.ops.shape import DimShuffle

        a, b = node.inputs
        a2 = a if a.type.ndim >= 2 else DimShuffle(1, ("x", 0))(a)
        b2 = b if b.type.ndim >= 2 else DimShuffle(1, (0, "x"))(b)
        out_grad = _promoted_grad(output_grads[0], a.type.ndim, b.type.ndim)
        grad_a = _sum_batch_to(Matmul()(out_grad, _transposed(b2)), a2)
        grad_b = _sum_batch_to(Matmul()(_transposed(a2), out_grad), b2)
        if a.type.ndim == 1:
            grad_a = DimShuffle(2, (1,))(grad_a)
        if b.type.ndim == 1:
            grad_b = DimShuffle(2, (0,))(grad_b)
        return [grad_a, grad_b]


def _sum_batch_to(value: Var, operand: Var) -> Var:
    """``value`` summed over the batch dims where ``operand`` was broadcast (it has fewer
    of them, or one of size 1, or of unknown size: a run-time 1 broadcasts too)."""
    from jitgraph.ops.shape import shape_scalars

    have, want = value.type.shape, operand.type.shape
    if len(have) == len(want) and all(
        w is not None and (w != 1 or h == 1) for h, w in zip(have[:-2], want[:-2])
    ):
        return value
    return SumTo()(value, *shape_scalars(operand))


def _promoted_grad(out_grad: Var, a_ndim: int, b_ndim: int) -> Var:
    """matmul's output gradient with the unit axes of vector operands put back: the row
    axis of a 1-d ``a`` and the column axis of a 1-d ``b``."""
    from jitgraph.ops.shape import DimShuffle

    ndim = out_grad.type.ndim
    batch = ndim - (a_ndim >= 2) - (b_ndim >= 2)
    axes = iter(range(batch, ndim))
    rows = next(axes) if a_ndim >= 2 else "x"
    columns = next(axes) if b_ndim >= 2 else "x"
    if rows != "x" and columns != "x":
        return out_grad
    return DimShuffle(ndim, (*range(batch), rows, columns))(out_grad)


# ----------------------------------------------------------------------------- tensordot
@dataclasses.dataclass(frozen=True)
class TensorDot(Op):
    """numpy.tensordot: sum of products over ``axes_a`` of ``a`` paired with ``axes_b``
    of ``b`` (normalized, non-negative); the output has the free axes of ``a`` then those
    of ``b``, each in order."""

    axes_a: tuple[int, ...]
    axes_b: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.axes_a) != len(self.axes_b):
            raise ValueError(
                f"tensordot: {len(self.axes_a)} axes of a {self.axes_a} paired with "
                f"{len(self.axes_b)} axes of b {self.axes_b}"
            )

    def _free_shape(self, a_shape: tuple[Any, ...], b_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        free_a = tuple(n for i, n in enumerate(a_shape) if i not in self.axes_a)
        free_b = tuple(n for i, n in enumerate(b_shape) if i not in self.axes_b)
        return free_a + free_b

    def _check_axes(self, name: str, var: Var, axes: tuple[int, ...]) -> None:
        ndim = var.type.ndim
        if any(axis >= ndim for axis in axes) or len(set(axes)) != len(axes):
            raise ValueError(
                f"tensordot: axes {axes} of the {name} operand {var.describe()} are out of "
                f"bounds or repeated (it is {ndim}-d)"
            )

    def make_node(self, *inputs: Any) -> Node:
        a, b = _tensor_inputs("tensordot", inputs)
        at, bt = a.type, b.type
        self._check_axes("first", a, self.axes_a)
        self._check_axes("second", b, self.axes_b)
        for i, j in zip(self.axes_a, self.axes_b):
            _check_static("tensordot", a, b, (at.shape[i], bt.shape[j]))
        shape = self._free_shape(at.shape, bt.shape)
        return self.make_apply([a, b], [TensorType(product_dtype(at.dtype, bt.dtype), shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        a, b = inputs
        out_dtype = node.outputs[0].type.dtype
        for i, j in zip(self.axes_a, self.axes_b):
            if a.shape[i] != b.shape[j]:
                first, second = node.inputs
                raise _alignment_error(
                    "tensordot",
                    first,
                    second,
                    a.shape,
                    b.shape,
                    a.shape[i],
                    b.shape[j],
                    "at run time",
                )
        result = np.tensordot(
            _as_dtype(a, out_dtype), _as_dtype(b, out_dtype), axes=(self.axes_a, self.axes_b)
        )
        return [np.asarray(result)]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        sa, sb = input_shapes
        return [self._free_shape(tuple(sa), tuple(sb))]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """``da`` contracts g's free-b axes with b's free axes, ``db`` g's free-a axes with
        a's; each result is then permuted into its operand's axis order."""
        from jitgraph.ops.shape import DimShuffle

        a, b = node.inputs
        (out_grad,) = output_grads
        na, nb = a.type.ndim, b.type.ndim
        free_a = [i for i in range(na) if i not in self.axes_a]
        free_b = [j for j in range(nb) if j not in self.axes_b]
        g_free_b = tuple(range(len(free_a), len(free_a) + len(free_b)))
        raw_a = TensorDot(g_free_b, tuple(free_b))(out_grad, b)  # (free_a, b's contracted)
        raw_b = TensorDot(tuple(free_a), tuple(range(len(free_a))))(a, out_grad)
        order_a = _contracted_order(na, free_a, self.axes_a, self.axes_b, contracted_first=False)
        order_b = _contracted_order(nb, free_b, self.axes_b, self.axes_a, contracted_first=True)
        return [DimShuffle(na, order_a)(raw_a), DimShuffle(nb, order_b)(raw_b)]


def _contracted_order(
    ndim: int,
    free: list[int],
    axes: tuple[int, ...],
    partner_axes: tuple[int, ...],
    contracted_first: bool,
) -> tuple[int, ...]:
    """Where each axis of an operand sits in its raw tensordot gradient, whose axes are
    the operand's free axes (in order) and its contracted ones in the order of their
    partners' axes in the other operand (first or last)."""
    partners = sorted(partner_axes)
    offset_free = len(axes) if contracted_first else 0
    offset_contracted = 0 if contracted_first else len(free)
    position = {axis: offset_free + i for i, axis in enumerate(free)}
    for axis, partner in zip(axes, partner_axes):
        position[axis] = offset_contracted + partners.index(partner)
    return tuple(position[axis] for axis in range(ndim))


# ----------------------------------------------------------------------------- batched dot
@dataclasses.dataclass(frozen=True)
class BatchedDot(Op):
    """Theano's batched_dot: ``out[i] = numpy.dot(a[i], b[i])`` over the first axis of
    both (3-d x 3-d is a batched matrix product, 2-d x 2-d a row-wise inner product, a
    1-d operand scales the other's rows)."""

    def make_node(self, *inputs: Any) -> Node:
        a, b = _tensor_inputs("batched_dot", inputs)
        at, bt = a.type, b.type
        for name, var in (("first", a), ("second", b)):
            if var.type.ndim == 0:
                raise TypeError(
                    f"batched_dot: the {name} operand {var.describe()} is 0-d; both need a "
                    "batch axis (axis 0)"
                )
        if None not in (at.shape[0], bt.shape[0]) and at.shape[0] != bt.shape[0]:
            raise ValueError(
                f"batched_dot: batch sizes differ: {at.shape[0]} (axis 0 of {a.describe()}, "
                f"static shape {at.shape}) != {bt.shape[0]} (of {b.describe()}, static shape "
                f"{bt.shape})"
            )
        core, contracted = dot_shapes(at.shape[1:], bt.shape[1:])
        _check_static("batched_dot", a, b, contracted)
        batch = at.shape[0] if at.shape[0] is not None else bt.shape[0]
        out_type = TensorType(product_dtype(at.dtype, bt.dtype), (batch, *core))
        return self.make_apply([a, b], [out_type])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        a, b = inputs
        first, second = node.inputs
        out_dtype = node.outputs[0].type.dtype
        if a.shape[0] != b.shape[0]:
            raise GraphError(
                f"batched_dot: batch sizes differ at run time: {a.shape} ({first.describe()}) "
                f"and {b.shape} ({second.describe()})"
            )
        core, contracted = dot_shapes(a.shape[1:], b.shape[1:])
        if contracted is not None and contracted[0] != contracted[1]:
            ka, kb = contracted
            raise _alignment_error(
                "batched_dot", first, second, a.shape, b.shape, ka, kb, "at run time"
            )
        a, b = _as_dtype(a, out_dtype), _as_dtype(b, out_dtype)
        if a.ndim == 3 and b.ndim == 3:  # the common case: one batched matrix product
            return [np.matmul(a, b)]
        out = np.empty((a.shape[0], *core), dtype=out_dtype)
        for i in range(a.shape[0]):
            out[i] = np.dot(a[i], b[i])
        return [out]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        sa, sb = input_shapes
        core, _ = dot_shapes(tuple(sa[1:]), tuple(sb[1:]))
        return [(sa[0], *core)]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """Batched matrix products use batched_dot itself (Theano's rule); the other
        ranks broadcast the operands against the gradient and sum."""
        a, b = node.inputs
        (out_grad,) = output_grads
        ranks = (a.type.ndim, b.type.ndim)
        if ranks == (3, 3):
            batched = BatchedDot()
            return [batched(out_grad, _transposed(b)), batched(_transposed(a), out_grad)]
        if 1 in ranks:
            return _batched_scaling_grads(a, b, out_grad)
        return _batched_general_grads(a, b, out_grad)


def _batch_column(x: Var, ndim: int) -> Var:
    """A 1-d batch of scalars as ``ndim``-d, broadcastable after the batch axis."""
    from jitgraph.ops.shape import DimShuffle

    return DimShuffle(1, (0, *["x"] * (ndim - 1)))(x)


def _batched_scaling_grads(a: Var, b: Var, out_grad: Var) -> list[GradTerm]:
    """A 1-d operand holds one scalar per batch entry: ``out[i] = a[i] * b[i]``."""
    T = tensor_namespace()
    terms: list[GradTerm] = []
    for operand, other in ((a, b), (b, a)):
        if other.type.ndim == 1:
            other = _batch_column(other, out_grad.type.ndim)
        product = T.mul(out_grad, other)
        if operand.type.ndim == 1:
            product = _sum_over(product, tuple(range(1, product.type.ndim)))
        terms.append(product)
    return terms


def _batched_general_grads(a: Var, b: Var, out_grad: Var) -> list[GradTerm]:
    """Per batch entry ``out[I, J, k] = sum_m a[I, m] b[J, m, k]`` (k absent when b's
    entries are vectors): a, b and g are laid out as (batch, I, J, m, k) with broadcast
    axes, multiplied, and summed over the axes the operand lacks."""
    from jitgraph.ops.shape import DimShuffle

    T = tensor_namespace()
    na, nb = a.type.ndim, b.type.ndim
    n_i, n_j, has_k = na - 2, max(nb - 3, 0), nb >= 3
    i_axes = tuple(range(1, 1 + n_i))
    j_axes = tuple(range(1 + n_i, 1 + n_i + n_j))
    k_axes = (2 + n_i + n_j,) if has_k else ()
    b_m = 1 + n_j
    a_wide = DimShuffle(na, (0, *i_axes, *["x"] * n_j, na - 1, *["x"] * has_k))(a)
    b_wide = DimShuffle(nb, (0, *["x"] * n_i, *range(1, 1 + n_j), b_m, *[b_m + 1] * has_k))(b)
    g_ndim = out_grad.type.ndim
    g_wide = DimShuffle(g_ndim, (0, *i_axes, *j_axes, "x", *[g_ndim - 1] * has_k))(out_grad)
    grad_a = _sum_over(T.mul(g_wide, b_wide), j_axes + k_axes)
    grad_b = _sum_over(T.mul(g_wide, a_wide), i_axes)
    return [grad_a, grad_b]


def _sum_over(x: Var, axes: tuple[int, ...]) -> Var:
    return tensor_namespace().sum(x, axis=axes) if axes else x


# ----------------------------------------------------------------------------- diagonal
def diagonal_length(n1: Any, n2: Any, offset: int) -> Any:
    """The length of the diagonal at ``offset`` of an n1 x n2 plane (static ints, None,
    or symbolic int64 scalars)."""
    if isinstance(n1, int) and isinstance(n2, int):
        return max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    if n1 is None or n2 is None:
        return None
    from jitgraph.tensor.math import add, gt, sub, switch  # type: ignore[attr-defined]

    first, second = (n1, sub(n2, offset)) if offset >= 0 else (add(n1, offset), n2)
    shorter = switch(gt(first, second), second, first)
    return switch(gt(shorter, 0), shorter, 0)


@dataclasses.dataclass(frozen=True)
class Diagonal(Op):
    """numpy.diagonal: the diagonal at ``offset`` of the planes (axis1, axis2) (both
    non-negative and distinct), moved to the last axis. A copy, not a view."""

    offset: int = 0
    axis1: int = 0
    axis2: int = 1

    def __post_init__(self) -> None:
        if self.axis1 == self.axis2 or min(self.axis1, self.axis2) < 0:
            raise ValueError(
                f"diagonal: axis1 and axis2 must be distinct non-negative axes, got "
                f"{self.axis1} and {self.axis2}"
            )

    def _shape(self, shape: tuple[Any, ...], length: Any) -> tuple[Any, ...]:
        rest = tuple(n for i, n in enumerate(shape) if i not in (self.axis1, self.axis2))
        return (*rest, length)

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        (x,) = [as_tensor_variable(v) for v in inputs]
        xtype = x.type
        if xtype.ndim < 2 or max(self.axis1, self.axis2) >= xtype.ndim:
            raise ValueError(
                f"diagonal: axis1={self.axis1}, axis2={self.axis2} do not fit {x.describe()}, "
                f"a {xtype.ndim}-d tensor (it needs at least 2 dims)"
            )
        n1, n2 = xtype.shape[self.axis1], xtype.shape[self.axis2]
        shape = self._shape(xtype.shape, diagonal_length(n1, n2, self.offset))
        return self.make_apply([x], [TensorType(xtype.dtype, shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        (x,) = inputs
        return [np.diagonal(x, self.offset, self.axis1, self.axis2).copy()]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        (shp,) = input_shapes
        length = diagonal_length(shp[self.axis1], shp[self.axis2], self.offset)
        return [self._shape(tuple(shp), length)]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """The output gradient scattered back onto the diagonal of a zero tensor, built
        with the two diagonal axes last (where the diagonal axis of g lines up), then
        permuted back."""
        from jitgraph.ops.shape import DimShuffle, shape_scalars

        T = tensor_namespace()
        (x,) = node.inputs
        (out_grad,) = output_grads
        ndim = x.type.ndim
        order = [a for a in range(ndim) if a not in (self.axis1, self.axis2)]
        order += [self.axis1, self.axis2]
        dims = shape_scalars(x)
        zeros = T.zeros([dims[a] for a in order], dtype=out_grad.type.dtype)
        positions = T.arange(shape_scalars(out_grad)[-1])
        rows = T.add(positions, max(0, -self.offset))
        columns = T.add(positions, max(0, self.offset))
        placed = T.inc_subtensor(zeros[..., rows, columns], out_grad)
        return [DimShuffle(ndim, tuple(order.index(a) for a in range(ndim)))(placed)]
