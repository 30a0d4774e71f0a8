"""Graph vectorization: a graph rewritten to work on a leading batch axis (a "vmap").

``vectorize_graph(outputs, {x: xs})`` rebuilds ``outputs`` with ``x`` replaced by ``xs``, a
variable with one extra leading axis: element ``i`` of each result is what the original graph
computes with ``x = xs[i]``. It is one graph, not a Python loop, which is how jacobians and
hessians are built (``jacobian = vectorize_graph([grad of sum(y * u)], {u: eye(m)})``).

Each node that depends on a batched value is vectorized by its op's batching rule, the
method ``Op.vectorize_node(node, batched, inputs)`` (see jitgraph/ops/base.py for the
protocol), or, where the op declines (returns ``None``, the default), by the generic
fallback ``Blockwise(op, batched)`` (a loop over the batch). Nodes with no batched input are
kept (shared with the original graph).

The helpers the ops' rules share (``lift``, ``align``, ``broadcast_to_batch``,
``batch_size_of``, ``shift_axes``, ``vectorize_along_axes``, ...) live here; the op modules
import them inside their methods, since this module imports the op modules.

>>> import jitgraph, numpy as np, jitgraph.tensor as T
>>> x = T.dvector("x")
>>> xs = T.dmatrix("xs")
>>> (ys,) = vectorize_graph([T.exp(x).sum()], {x: xs})
>>> jitgraph.function([xs], ys)(np.zeros((3, 2)))
array([2., 2., 2.])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from jitgraph.ir.graph import Node, Var, toposort
from jitgraph.ops.base import Op
from jitgraph.ops.blockwise import Blockwise
from jitgraph.ops.creation import Alloc
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.scalar import SCALAR_OPS
from jitgraph.ops.shape import DimShuffle, shape_scalars


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
    """The outputs of ``node`` for batched ``inputs``: the op's own batching rule
    (``Op.vectorize_node``), else, where it declines, ``Blockwise``."""
    result = node.op.vectorize_node(node, batched, inputs)
    if result is not None:
        return list(result)
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
    """The first batched input (the rules read the batch size off it)."""
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


def vectorize_along_axes(
    op: Op, field: str, batched: Sequence[bool], inputs: Sequence[Var]
) -> list[Var] | None:
    """The batching rule of an op whose parameter ``field`` (an axis or a tuple of axes)
    names axes of its first input and whose other inputs are sizes or counts: the same op
    with the axes one to the right. A batched size or count, or an axis of None (a
    flattening op), declines (``None``)."""
    axes = getattr(op, field)
    if any(batched[1:]) or axes is None:
        return None
    shifted = shift_axes(axes) if isinstance(axes, tuple) else axes + 1
    new_op = dataclasses.replace(op, **{field: shifted})
    return list(new_op.make_node(*inputs).outputs)


__all__ = [
    "align",
    "batch_size_of",
    "blockwise_fallback",
    "broadcast_to_batch",
    "cast_to",
    "first_batched",
    "lift",
    "shift_axes",
    "vectorize_along_axes",
    "vectorize_graph",
    "vectorize_node",
]
