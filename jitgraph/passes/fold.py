"""The ``fold`` pass: values known at compile time are computed at compile time.

Invariant after ``fold``: no node has only constant inputs (unless folding it is refused,
see below), no ``Shape`` node reads a statically shaped value, and ``x.shape[i]`` is a
constant wherever x's static dim i is known.

- **Constant folding** (``fold_constants``, every op): a node whose inputs are all constants
  is run now through its NumPy reference (``op.perform``) and its outputs become constants
  of exactly the declared dtypes. It is left alone when

  - ``op.do_constant_folding(node)`` is False (ops with a run-time effect, e.g. Print);
  - an output would have more than ``FOLD_SIZE_CAP`` elements: a huge constant is not baked
    into the graph (and the cache entry). A small output of big inputs is still folded;
  - ``perform`` raises or warns: the error (say an index out of bounds) then happens when
    the function runs, as it would without the optimizer, reported with the user's line.

- **Shape folding**: ``Shape(x)`` of a statically shaped x is a constant; ``Shape(x)[i]``
  with x's dim i known is a constant; ``Shape(x)`` of a computed x is rebuilt from the
  shape inference of x's node (``op.infer_shape``), so shapes of intermediate results do not
  need those results. ``T.size``, ``shape_i`` and reshape sizes then fold as ordinary
  constant expressions.

>>> import jitgraph.tensor as T
>>> from jitgraph.ir.graph import Graph
>>> x, s = T.tensor("float64", (None, 3), name="x"), T.dscalar("s")
>>> before = Graph([x, s], [s * (T.constant(2.0) + 1.0), T.exp(x).shape[1]])
>>> after = fold(before)
>>> after.outputs[0] is s * T.constant(3.0), after.outputs[1].data
(True, array(3))
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from jitgraph.ir.graph import Const, Graph, Node, Var, ancestors, make_constant
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import Op
from jitgraph.ops.indexing import Subtensor
from jitgraph.ops.joining import Join
from jitgraph.ops.shape import DimShuffle, Shape, int64_constant, shape_scalars
from jitgraph.passes.rewriter import RuleSet, rewrite

# Elements; a folded output larger than this stays a node, so the value is computed at run
# time instead of being stored in the graph (and in every cache entry built from it).
FOLD_SIZE_CAP = 10_000

RULES = RuleSet("fold")


def fold(graph: Graph) -> Graph:
    """``graph`` with constant expressions and known shapes computed (see the module doc);
    ``graph`` itself when nothing folds.

    >>> import jitgraph.tensor as T
    >>> x = T.dscalar("x")
    >>> fold(Graph([x], [x + T.constant(1.0) * 2])).outputs[0] is x + T.constant(2.0)
    True
    """
    return rewrite(graph, RULES)[0]


# ----------------------------------------------------------------------------- constants
@RULES.rule(Op)
def fold_constants(node: Node) -> list[Var] | None:
    """op(c1, c2, ...) -> c, the value computed now (within the size cap, if it succeeds)."""
    if not all(isinstance(v, Const) for v in node.inputs):
        return None
    if not node.op.do_constant_folding(node):
        return None
    if any(static_size(out.type) > FOLD_SIZE_CAP for out in node.outputs):
        return None  # known too big before computing anything
    values = perform_quietly(node)
    if values is None or len(values) != len(node.outputs):
        return None
    constants = [as_folded_constant(out, value) for out, value in zip(node.outputs, values)]
    if any(c is None for c in constants):
        return None
    return constants  # type: ignore[return-value]


def static_size(ttype: TensorType) -> int:
    """The number of elements a type's static shape implies (0 if any dim is unknown)."""
    return 0 if None in ttype.shape else math.prod(ttype.shape)  # type: ignore[arg-type]


def perform_quietly(node: Node) -> list[np.ndarray] | None:
    """``node``'s outputs computed from its constant inputs, or None when the computation
    raises or warns: the node then runs (and fails or warns) at run time, as it would
    without the optimizer."""
    inputs = [v.data for v in node.inputs]  # type: ignore[attr-defined]
    with np.errstate(all="ignore"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # The reference executor silences this one too (complex parts discarded on casts).
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        try:
            values = node.op.perform(node, inputs)
        except Exception:  # noqa: BLE001 - any failure is left to run time
            return None
    return None if caught else [np.asarray(v) for v in values]


def as_folded_constant(out: Var, value: np.ndarray) -> Const | None:
    """``value`` as the constant replacing ``out``: exactly out's dtype, and a shape that
    fits out's static shape; None if it does not (the node is then left unfolded, so the
    executor reports the mismatch) or if it is larger than the cap."""
    otype = out.type
    fits = value.ndim == otype.ndim and all(
        want is None or want == got for want, got in zip(otype.shape, value.shape)
    )
    if value.dtype != otype.numpy_dtype or not fits or value.size > FOLD_SIZE_CAP:
        return None
    return make_constant(value, TensorType(otype.dtype, value.shape))


# ----------------------------------------------------------------------------- shapes
@RULES.rule(Shape)
def shape_of_static(node: Node) -> Var | None:
    """Shape(x) with x of static shape (2, 3) -> the constant [2, 3]."""
    dims = node.inputs[0].type.shape
    if None in dims:
        return None
    return make_constant(np.asarray(dims, dtype="int64").reshape(len(dims)))


@RULES.rule(Shape)
def shape_from_inferred(node: Node) -> Var | None:
    """Shape(op(a, b)) -> stack(the dims op.infer_shape gives from a's and b's shapes)."""
    x = node.inputs[0]
    producer = x.owner
    if producer is None:
        return None
    dims = inferred_dims(producer, x.index or 0)
    if dims is None:
        return None
    same_as_source = shape_of_entries(dims)
    return same_as_source if same_as_source is not None else stack_scalars(dims)


def inferred_dims(producer: Node, index: int) -> list[Var] | None:
    """Output ``index`` of ``producer`` as int64 scalars: constants where its static shape
    knows the dim, else its op's ``infer_shape``. None without shape inference, or where
    the inferred dims read the producer's own outputs (nothing would be gained)."""
    input_shapes = [tuple(shape_scalars(v)) for v in producer.inputs]
    try:
        inferred = producer.op.infer_shape(producer, input_shapes)[index]
    except NotImplementedError:
        return None
    static = producer.outputs[index].type.shape
    dims = [d if n is None else int64_constant(n) for n, d in zip(static, inferred, strict=True)]
    if not all(is_int64_scalar(d) for d in dims):
        return None
    # The producer's inputs come before its outputs, so a walk stopped there suffices.
    reached = {id(v) for v in ancestors(dims, blockers=producer.inputs)}
    if any(id(out) in reached for out in producer.outputs):
        return None
    return dims


def is_int64_scalar(var: Var) -> bool:
    return isinstance(var, Var) and var.type.dtype == "int64" and var.type.ndim == 0


def stack_scalars(dims: Sequence[Var]) -> Var:
    """The int64 vector of scalars ``dims`` (T.stack's graph: Join of dimshuffled scalars)."""
    return Join(0)(*[DimShuffle(0, ("x",))(d) for d in dims])


def shape_of_entries(dims: Sequence[Var]) -> Var | None:
    """``Shape(a)`` when ``dims`` are exactly ``shape_scalars(a)`` for some a, else None."""
    source = next((s for s in map(shape_entry_source, dims) if s is not None), None)
    if source is None or source.type.ndim != len(dims):
        return None
    if all(d is s for d, s in zip(dims, shape_scalars(source))):
        return Shape()(source)
    return None


def shape_entry_source(var: Var) -> Var | None:
    """a, if ``var`` is ``Shape(a)[k]`` for a constant k; else None."""
    node = var.owner
    if node is None or type(node.op) is not Subtensor or node.op.index != ("i",):
        return None
    vector = node.inputs[0]
    if vector.owner is None or not isinstance(vector.owner.op, Shape):
        return None
    return vector.owner.inputs[0]


@RULES.rule(Subtensor)
def static_shape_entry(node: Node) -> Var | None:
    """Shape(x)[1] with x of static shape (None, 3) -> the constant 3."""
    source = shape_entry_source(node.outputs[0])
    position = constant_position(node)
    if source is None or position is None:
        return None
    dims = source.type.shape
    if not -len(dims) <= position < len(dims) or dims[position] is None:
        return None  # out of range: the run-time error stays
    return int64_constant(dims[position])  # type: ignore[arg-type]


@RULES.rule(Subtensor)
def entry_of_stack(node: Node) -> Var | None:
    """stack(a, b, c)[1] -> b (a shape vector rebuilt by shape_from_inferred, read back)."""
    position = constant_position(node)
    scalars = stacked_scalars(node.inputs[0])
    if position is None or scalars is None or not -len(scalars) <= position < len(scalars):
        return None
    picked = scalars[position]
    return picked if picked.type.dtype == node.outputs[0].type.dtype else None


@RULES.rule(Join)
def stack_of_shape_entries(node: Node) -> Var | None:
    """stack(Shape(a)[0], Shape(a)[1]) -> Shape(a) (static dims as constants, as shape_i)."""
    scalars = stacked_scalars(node.outputs[0])
    if scalars is None or not all(is_int64_scalar(s) for s in scalars):
        return None
    return shape_of_entries(scalars)


def constant_position(node: Node) -> int | None:
    """k, for a node ``v[k]`` (Subtensor{int}) whose index k is a constant."""
    if node.op.index != ("i",):  # type: ignore[attr-defined]
        return None
    index = node.inputs[1]
    if not isinstance(index, Const) or index.data.ndim != 0:
        return None
    return int(index.data)


def stacked_scalars(vector: Var) -> list[Var] | None:
    """[a, b, ...] if ``vector`` is stack(a, b, ...) of scalars (T.stack's graph)."""
    node = vector.owner
    if node is None or not isinstance(node.op, Join) or node.op.axis != 0:
        return None
    scalars: list[Var] = []
    for piece in node.inputs:
        if isinstance(piece, Const) and piece.data.shape == (1,):
            scalars.append(make_constant(piece.data.reshape(())))  # a folded DimShuffle
        elif piece.owner is not None and piece.owner.op == DimShuffle(0, ("x",)):
            scalars.append(piece.owner.inputs[0])
        else:
            return None
    return scalars
