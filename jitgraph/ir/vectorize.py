"""Graph vectorization: a graph rewritten to work on a leading batch axis (a "vmap").

``vectorize_graph(outputs, {x: xs})`` rebuilds ``outputs`` with ``x`` replaced by ``xs``, a
variable with one extra leading axis: element ``i`` of each result is what the original graph
computes with ``x = xs[i]``. It is one graph, not a Python loop, which is how jacobians and
hessians are built (``jacobian = vectorize_graph([grad of sum(y * u)], {u: eye(m)})``).

Each node that depends on a batched value is vectorized by, in order:

1. the op's own ``vectorize_node(node, batched, inputs) -> list[Var]`` method;
2. a rule in ``BATCH_RULES`` (keyed by the op's exact class);
3. the generic fallback, ``Blockwise(op, batched)`` (a loop over the batch).

The protocol of a method or rule: ``batched[i]`` says whether input ``i`` is batched;
``inputs`` are the new inputs (a batched one has shape ``(B, *original)``). It returns one
variable per output of ``node``: batched (one extra leading axis) or, for an output that
cannot depend on the batch element (``Shape`` of a batched input), the unbatched value of the
original ndim. A rule may return ``None`` to decline (e.g. a batched index): the fallback runs.
Nodes with no batched input are kept (shared with the original graph).

>>> import jitgraph, numpy as np, jitgraph.tensor as T
>>> x = T.dvector("x")
>>> xs = T.dmatrix("xs")
>>> (ys,) = vectorize_graph([T.exp(x).sum()], {x: xs})
>>> jitgraph.function([xs], ys)(np.zeros((3, 2)))
array([2., 2., 2.])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from jitgraph.ir.graph import Node, Var, toposort
from jitgraph.ops.base import Op
from jitgraph.ops.blockwise import Blockwise, element_type
from jitgraph.ops.creation import Alloc
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.indexing import (
    FULL_SLICE,
    IncSubtensor,
    Subtensor,
    output_shape,
    static_knowns,
)
from jitgraph.ops.linalg import BatchedDot, Dot, Matmul, TensorDot
from jitgraph.ops.reduce import Argmax, Argmin, ArgReduce, CumOp, Reduce
from jitgraph.ops.scalar import SCALAR_OPS
from jitgraph.ops.shape import (
    DimShuffle,
    Join,
    Rebroadcast,
    Repeat,
    Reshape,
    Roll,
    Shape,
    SpecifyShape,
    Split,
    TensorCopy,
    int64_constant,
    shape_scalars,
)

# (node, batched flags, new inputs) -> new outputs, or None to fall back to Blockwise.
BatchRule = Callable[[Node, Sequence[bool], Sequence[Var]], list[Var] | None]
BATCH_RULES: dict[type, BatchRule] = {}


def batch_rule(op_class: type) -> Callable[[BatchRule], BatchRule]:
    """Register the decorated function as the batching rule of ``op_class`` (exactly that
    class: subclasses such as AdvancedSubtensor need rules of their own)."""

    def register(rule: BatchRule) -> BatchRule:
        BATCH_RULES[op_class] = rule
        return rule

    return register


# ----------------------------------------------------------------------------- the driver
def vectorize_graph(outputs: Sequence[Var], replacements: Mapping[Var, Var]) -> list[Var]:
    """``outputs`` computed for every element of a batch, as one graph.

    Each key of ``replacements`` is replaced by its value, which has the key's dtype and
    one extra leading (batch) axis. Every returned variable has the batch axis, including
    outputs that do not depend on a replaced variable (they are broadcast).

    >>> import jitgraph.tensor as T
    >>> x, c = T.dvector("x"), T.dscalar("c")
    >>> [v.type.shape for v in vectorize_graph([x * 2, c], {x: T.dmatrix("xs")})]
    [(None, None), (None,)]
    """
    batch_size = _check_replacements(replacements)
    values: dict[int, Var] = {id(key): value for key, value in replacements.items()}
    batched: set[int] = set(values)
    for node in toposort(outputs, blockers=list(replacements)):
        _rebuild_node(node, values, batched)
    return [_as_batched(v, values, batched, batch_size) for v in outputs]


def _check_replacements(replacements: Mapping[Var, Var]) -> Var:
    """Validate the replacements; return the batch size (an int64 scalar)."""
    if not replacements:
        raise ValueError("vectorize_graph needs at least one replacement (the batched input)")
    for key, value in replacements.items():
        ktype, vtype = key.type, value.type
        if vtype.ndim != ktype.ndim + 1 or vtype.dtype != ktype.dtype:
            raise TypeError(
                f"vectorize_graph: the replacement of {key.describe()} ({ktype.describe()}) "
                f"must have its dtype and one more (leading) axis, got {value.describe()} "
                f"({vtype.describe()})"
            )
        if any(
            a is not None and b is not None and a != b for a, b in zip(ktype.shape, vtype.shape[1:])
        ):
            raise ValueError(
                f"vectorize_graph: the elements of {value.describe()} (static shape "
                f"{vtype.shape[1:]}) do not fit {key.describe()} (static shape {ktype.shape})"
            )
    sizes = {v.type.shape[0] for v in replacements.values()} - {None}
    if len(sizes) > 1:
        raise ValueError(f"vectorize_graph: the replacements have different batch sizes {sizes}")
    first = min(replacements.values(), key=lambda v: v.type.shape[0] is None)
    return shape_scalars(first)[0]


def static_shapes_agree(first: Sequence[int | None], second: Sequence[int | None]) -> bool:
    """True if no dim is known in both with different sizes (equal ndims assumed)."""
    return all(a is None or b is None or a == b for a, b in zip(first, second))


def _rebuild_node(node: Node, values: dict[int, Var], batched: set[int]) -> None:
    """Record the new outputs of ``node`` in ``values`` (and mark the batched ones)."""
    inputs = [values.get(id(v), v) for v in node.inputs]
    flags = [id(v) in batched for v in node.inputs]
    if not any(flags):
        if all(new is old for new, old in zip(inputs, node.inputs)):
            return  # untouched: shared with the original graph
        new_outputs = list(node.op.make_node(*inputs).outputs)
    else:
        new_outputs = vectorize_node(node, flags, inputs)
    if len(new_outputs) != len(node.outputs):
        raise TypeError(
            f"internal error: vectorizing {node.op} gave {len(new_outputs)} outputs for "
            f"{len(node.outputs)}"
        )
    for old, new in zip(node.outputs, new_outputs):
        values[id(old)] = new
        if _is_batched_version(node, old, new):
            batched.add(id(old))


def _is_batched_version(node: Node, old: Var, new: Var) -> bool:
    """True if ``new`` is ``old`` with a batch axis, False if it is an unbatched value."""
    otype, ntype = old.type, new.type
    if ntype.dtype == otype.dtype and ntype.ndim == otype.ndim + 1:
        return True
    if ntype.dtype == otype.dtype and ntype.ndim == otype.ndim:
        return False
    raise TypeError(
        f"internal error: the batching rule of {node.op} turned an output of type {otype} "
        f"into {ntype}; it must keep the dtype and add a leading axis (or keep the ndim)"
    )


def vectorize_node(node: Node, batched: Sequence[bool], inputs: Sequence[Var]) -> list[Var]:
    """The outputs of ``node`` for batched ``inputs``: the op's own method, else its rule
    in ``BATCH_RULES``, else ``Blockwise``."""
    method = getattr(type(node.op), "vectorize_node", None)
    if method is not None and method is not getattr(Op, "vectorize_node", None):
        return list(method(node.op, node, batched, inputs))
    rule = BATCH_RULES.get(type(node.op))
    if rule is not None:
        result = rule(node, batched, inputs)
        if result is not None:
            return result
    return blockwise_fallback(node, batched, inputs)


def blockwise_fallback(node: Node, batched: Sequence[bool], inputs: Sequence[Var]) -> list[Var]:
    """The generic rule: the node's op applied to each batch element (a loop)."""
    return list(Blockwise(node.op, tuple(batched)).make_node(*inputs).outputs)


def _as_batched(var: Var, values: dict[int, Var], batched: set[int], batch_size: Var) -> Var:
    new = values.get(id(var), var)
    return new if id(var) in batched else broadcast_to_batch(new, batch_size)


# ----------------------------------------------------------------------------- helpers
def broadcast_to_batch(var: Var, batch_size: Var) -> Var:
    """``var`` repeated along a new leading axis of ``batch_size`` elements."""
    return Alloc()(var, batch_size, *shape_scalars(var))


def batch_size_of(var: Var) -> Var:
    """The size of the leading (batch) axis of ``var``, an int64 scalar."""
    return shape_scalars(var)[0]


def first_batched(batched: Sequence[bool], inputs: Sequence[Var]) -> Var:
    return next(v for v, flag in zip(inputs, batched) if flag)


def lift(var: Var, is_batched: bool) -> Var:
    """A batched variable as it is; an unbatched one with a broadcastable leading axis."""
    if is_batched:
        return var
    ndim = var.type.ndim
    return DimShuffle(ndim, ("x", *range(ndim)))(var)


def align(var: Var, is_batched: bool, ndim: int) -> Var:
    """``var`` with broadcastable axes inserted after the batch axis so that its element
    has ``ndim`` dims (NumPy's left padding, per element); unbatched: a leading 'x' too."""
    core_ndim = var.type.ndim - (1 if is_batched else 0)
    pad: tuple[int | str, ...] = ("x",) * (ndim - core_ndim)
    if is_batched:
        order = (0, *pad, *range(1, core_ndim + 1))
    else:
        order = ("x", *pad, *range(core_ndim))
    if order == tuple(range(var.type.ndim)):
        return var
    return DimShuffle(var.type.ndim, order)(var)


def cast_to(var: Var, dtype: str) -> Var:
    """``var`` cast to ``dtype`` (unchanged when it already has it)."""
    if var.type.dtype == dtype:
        return var
    return Elemwise(SCALAR_OPS[f"cast_{dtype}"])(var)


def shift_axes(axes: Sequence[int]) -> tuple[int, ...]:
    """Axes of an element as axes of the batched tensor (one further right)."""
    return tuple(a + 1 for a in axes)


# ----------------------------------------------------------------------------- rules
@batch_rule(Elemwise)
def vectorize_elemwise(node: Node, batched: Sequence[bool], inputs: Sequence[Var]) -> list[Var]:
    """Unbatched inputs get a broadcastable leading axis; the same Elemwise applies."""
    lifted = [lift(v, flag) for v, flag in zip(inputs, batched)]
    return list(node.op.make_node(*lifted).outputs)


@batch_rule(DimShuffle)
def vectorize_dimshuffle(node: Node, batched: Sequence[bool], inputs: Sequence[Var]) -> list[Var]:
    """The batch axis stays first; every element axis moves one to the right."""
    op: DimShuffle = node.op  # type: ignore[assignment]
    order = tuple(a if a == "x" else a + 1 for a in op.new_order)  # type: ignore[operator]
    return [DimShuffle(op.input_ndim + 1, (0, *order))(inputs[0])]


def axis_shifting_rule(field: str) -> BatchRule:
    """The rule of an op whose parameter ``field`` (an axis or a tuple of axes) names axes
    of its first input and whose other inputs are sizes or counts: the axes move one to the
    right. A batched size or count, or an axis of None (a flattening op), declines."""

    def rule(node: Node, batched: Sequence[bool], inputs: Sequence[Var]) -> list[Var] | None:
        axes = getattr(node.op, field)
        if any(batched[1:]) or axes is None:
            return None
        shifted = shift_axes(axes) if isinstance(axes, tuple) else axes + 1
        new_op = dataclasses.replace(node.op, **{field: shifted})
        return list(new_op.make_node(*inputs).outputs)

    return rule


BATCH_RULES[Reduce] = axis_shifting_rule("axis")
BATCH_RULES[CumOp] = axis_shifting_rule("axis")
BATCH_RULES[Repeat] = axis_shifting_rule("axis")
BATCH_RULES[Roll] = axis_shifting_rule("axis")
BATCH_RULES[Split] = axis_shifting_rule("axis")
BATCH_RULES[SpecifyShape] = axis_shifting_rule("axes")


@batch_rule(Rebroadcast)
def vectorize_rebroadcast(node: Node, batched: Sequence[bool], inputs: Sequence[Var]) -> list[Var]:
    op: Rebroadcast = node.op  # type: ignore[assignment]
    return [Rebroadcast(tuple((axis + 1, flag) for axis, flag in op.pattern))(inputs[0])]


@batch_rule(TensorCopy)
def vectorize_copy(node: Node, batched: Sequence[bool], inputs: Sequence[Var]) -> list[Var]:
    return [TensorCopy()(inputs[0])]


def vectorize_argreduce(node: Node, batched: Sequence[bool], inputs: Sequence[Var]) -> list[Var]:
    """axis=None (every axis of the element) becomes all axes but the batch axis."""
    op: ArgReduce = node.op  # type: ignore[assignment]
    element_ndim = node.inputs[0].type.ndim
    axes = tuple(range(element_ndim)) if op.axis is None else op.axis
    return [dataclasses.replace(op, axis=shift_axes(axes))(inputs[0])]


BATCH_RULES[Argmax] = vectorize_argreduce
BATCH_RULES[Argmin] = vectorize_argreduce


@batch_rule(Shape)
def vectorize_shape(node: Node, batched: Sequence[bool], inputs: Sequence[Var]) -> list[Var]:
    """The shape of one element: the batched shape without its first entry (unbatched)."""
    from jitgraph.tensor.basic import constant

    element_shape = element_type(inputs[0]).shape
    if None not in element_shape:
        return [constant(np.asarray(element_shape, dtype="int64"))]
    slice_from_one = Subtensor((("s", True, False, False),))
    return [slice_from_one(Shape()(inputs[0]), int64_constant(1))]


@batch_rule(Subtensor)
def vectorize_subtensor(
    node: Node, batched: Sequence[bool], inputs: Sequence[Var]
) -> list[Var] | None:
    """A full slice over the batch axis, then the same index (batched indices: fallback)."""
    if any(batched[1:]):
        return None
    op: Subtensor = node.op  # type: ignore[assignment]
    return [Subtensor((FULL_SLICE, *op.index))(*inputs)]


@batch_rule(IncSubtensor)
def vectorize_inc_subtensor(
    node: Node, batched: Sequence[bool], inputs: Sequence[Var]
) -> list[Var] | None:
    """A full slice over the batch axis; an unbatched ``x`` is broadcast to the batch, a
    batched ``y`` is aligned to the indexed region's rank (unbatched ``y`` broadcasts)."""
    if any(batched[2:]):
        return None
    op: IncSubtensor = node.op  # type: ignore[assignment]
    x, y, *index = inputs
    old_x, old_index = node.inputs[0], node.inputs[2:]
    target_ndim = len(output_shape(op.index, old_x.type.shape, static_knowns(old_index)))
    size = batch_size_of(first_batched(batched, inputs))
    x = x if batched[0] else broadcast_to_batch(x, size)
    y = align(y, True, target_ndim) if batched[1] else y
    return [dataclasses.replace(op, index=(FULL_SLICE, *op.index))(x, y, *index)]


@batch_rule(Reshape)
def vectorize_reshape(
    node: Node, batched: Sequence[bool], inputs: Sequence[Var]
) -> list[Var] | None:
    """The batch size prepended to the target shape (batched sizes: fallback)."""
    if any(batched[1:]):
        return None
    op: Reshape = node.op  # type: ignore[assignment]
    x, *sizes = inputs
    return [Reshape(op.ndim + 1)(x, batch_size_of(x), *sizes)]


@batch_rule(Alloc)
def vectorize_alloc(node: Node, batched: Sequence[bool], inputs: Sequence[Var]) -> list[Var] | None:
    """A batched value: its element aligned to the target rank, the batch size prepended."""
    if any(batched[1:]):
        return None
    value, *sizes = inputs
    return [Alloc()(align(value, True, len(sizes)), batch_size_of(value), *sizes)]


@batch_rule(Join)
def vectorize_join(node: Node, batched: Sequence[bool], inputs: Sequence[Var]) -> list[Var]:
    """Unbatched tensors are broadcast to the batch; the join axis moves one right."""
    op: Join = node.op  # type: ignore[assignment]
    size = batch_size_of(first_batched(batched, inputs))
    tensors = [v if flag else broadcast_to_batch(v, size) for v, flag in zip(inputs, batched)]
    return [Join(op.axis + 1)(*tensors)]


@batch_rule(Dot)
def vectorize_dot(node: Node, batched: Sequence[bool], inputs: Sequence[Var]) -> list[Var]:
    """numpy.dot per element, by rank: a 0-d operand multiplies; a batched first operand
    keeps its contracted axis last (Dot applies as is); a batched second operand only is a
    tensordot; both batched is a batched matrix product."""
    a, b = node.inputs
    a_ndim, b_ndim = a.type.ndim, b.type.ndim
    out_dtype = node.outputs[0].type.dtype
    if a_ndim == 0 or b_ndim == 0:
        result = _batched_scale(batched, inputs, a_ndim + b_ndim)
    elif batched[0] and not batched[1]:
        result = Dot()(*inputs)
    elif not batched[0]:
        result = _dot_batched_right(inputs[0], inputs[1], a_ndim, b_ndim)
    else:
        result = _dot_both_batched(inputs[0], inputs[1], a_ndim, b_ndim)
    return [cast_to(result, out_dtype)]


def _batched_scale(batched: Sequence[bool], inputs: Sequence[Var], ndim: int) -> Var:
    aligned = [align(v, flag, ndim) for v, flag in zip(inputs, batched)]
    return Elemwise(SCALAR_OPS["multiply"])(*aligned)


def _dot_batched_right(a: Var, b_batched: Var, a_ndim: int, b_ndim: int) -> Var:
    """dot(a, b[i]) for every i: a tensordot whose batch axis lands after a's free axes,
    then moved to the front."""
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
    if a_ndim > 2 or b_ndim > 2:
        return BatchedDot()(a, b)
    a_matrix = a if a_ndim == 2 else DimShuffle(2, (0, "x", 1))(a)
    b_matrix = b if b_ndim == 2 else DimShuffle(2, (0, 1, "x"))(b)
    product = Matmul()(a_matrix, b_matrix)
    keep = (0, *((1,) if a_ndim == 2 else ()), *((2,) if b_ndim == 2 else ()))
    return product if keep == (0, 1, 2) else DimShuffle(3, keep)(product)


__all__ = [
    "BATCH_RULES",
    "batch_rule",
    "blockwise_fallback",
    "broadcast_to_batch",
    "vectorize_graph",
    "vectorize_node",
]
