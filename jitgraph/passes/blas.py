"""The use_blas pass: a scaled product added to a value becomes one BLAS-shaped node.

``alpha * dot(x, y) + beta * z`` (any operand order; ``dot(x, y) + z``, ``z - alpha *
dot(x, y)``, ``alpha * dot(x, y) - z`` and the like) becomes ``Gemm`` (matrix . matrix),
``Gemv`` (matrix . vector, and vector . matrix through the transposed matrix) or ``Ger``
(the outer product ``dot(column, row)`` that ``T.outer`` builds); see jitgraph.ops.blas.
One BLAS call then computes what took a product, two scalings and an addition, each a
pass over memory.

Conditions, each needed for the rewrite to compute what the graph computed:

- every value (x, y, z, alpha, beta, the product and the sum) has ONE dtype among float32,
  float64, complex64 and complex128: an integer dot has no BLAS, and a sum that upcasts
  the product would change where rounding happens;
- alpha and beta hold one value each: a 0-d variable broadcast with ``DimShuffle``, or a
  constant whose dims are all 1 (a broadcast constant);
- z has the product's shape or broadcasts to it (a bias row), never the reverse.

And two for the rewrite to pay: the product (and its scaled form) has no other use (BLAS
would compute it twice), and z is not computed by an elementwise node: fusion computes
such a z inside the kernel that adds the product, while BLAS needs it in memory first (a
pass more). So ``dot(x, y) + b`` and ``W - lr * dot(x.T, g)`` become Gemm; ``dot(x, y) +
exp(c)`` stays a Dot and a fused kernel. The use counts come from the graph ``use_blas``
is given: ``RULES`` applied by other means rewrite nothing.

Signs are moved onto alpha or beta exactly (``z - a*p`` is ``z + (-a)*p`` in IEEE
arithmetic), and the ops compute ``alpha * product + beta * z``, the replaced graph's
order, so the reference results are unchanged bit for bit.

>>> import jitgraph.tensor as T
>>> from jitgraph.ir.graph import Graph
>>> from jitgraph.passes.pipeline import optimize
>>> x, y, z = T.dmatrices("x", "y", "z")
>>> graph = optimize(Graph([x, y, z], [0.5 * T.dot(x, y) + 2 * z]), "FAST_RUN").graph
>>> [str(node.op) for node in graph.nodes]
['Gemm']
"""

from __future__ import annotations

import contextvars
import dataclasses
from collections import Counter

import numpy as np

from jitgraph.ir.graph import Const, Graph, Node, Var
from jitgraph.ops.blas import BLAS_DTYPES, Gemm, Gemv, Ger
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.linalg import Dot
from jitgraph.ops.shape import DimShuffle
from jitgraph.passes.rewriter import RuleSet, rewrite
from jitgraph.tensor.basic import constant
from jitgraph.tensor.math import neg  # type: ignore[attr-defined]

__all__ = ["RULES", "use_blas"]

RULES = RuleSet("blas")


def use_blas(graph: Graph) -> Graph:
    """``graph`` with every ``alpha * dot(x, y) + beta * z`` the rules recognise replaced
    by one ``Gemm``, ``Gemv`` or ``Ger`` node.

    Invariant established: no float or complex ``Dot`` of vectors and matrices is scaled
    and added to a value of its dtype and shape by separate elementwise nodes.

    >>> import jitgraph.tensor as T
    >>> A, v, u = T.dmatrix("A"), T.dvector("v"), T.dvector("u")
    >>> graph = use_blas(Graph([A, v, u], [u - T.dot(A, v)]))
    >>> [str(node.op) for node in graph.nodes]
    ['Gemv']
    """
    # Use counts are those of the graph given; a rewrite rebuilds what is downstream of it
    # (new variables, uncounted), so a product there is matched by the next round.
    for _ in range(_MAX_ROUNDS):
        uses = Counter(id(var) for node in graph.nodes for var in node.inputs)
        uses.update(id(var) for var in graph.outputs)
        token = _USES.set(uses)
        try:
            new, _ = rewrite(graph, RULES)
        finally:
            _USES.reset(token)
        if new is graph:
            break
        graph = new
    return graph


_MAX_ROUNDS = 4


# id(var) -> how many times the graph given to use_blas uses var (node inputs and outputs).
# Variables of that graph stay alive during the rewrite, so their ids stay theirs.
_USES: contextvars.ContextVar[Counter[int] | None] = contextvars.ContextVar(
    "blas_uses", default=None
)


def _used_once(var: Var) -> bool:
    uses = _USES.get()
    return uses is not None and uses[id(var)] == 1


@dataclasses.dataclass(frozen=True)
class Scaled:
    """``scale * value``; ``scale`` None means 1 (the value was not multiplied)."""

    scale: Var | None
    value: Var


# ========================== matching
def _is_single_value(var: Var, dtype: str) -> bool:
    """Whether ``var`` holds one value of ``dtype``: every dim of static size 1."""
    return var.type.dtype == dtype and all(n == 1 for n in var.type.shape)


def _scaled(var: Var, dtype: str) -> Scaled:
    """``var`` as ``scale * value`` when it is a product with a single-value factor
    (a constant preferred as the scale), else ``1 * var``."""
    node = var.owner
    if node is None or not isinstance(node.op, Elemwise) or node.op.scalar_op.name != "multiply":
        return Scaled(None, var)
    left, right = node.inputs
    if var.type.dtype != dtype:
        return Scaled(None, var)
    candidates = sorted(((right, left), (left, right)), key=lambda p: not _is_constant(p[0]))
    for scale, value in candidates:
        if _is_single_value(scale, dtype) and value.type.dtype == dtype:
            return Scaled(scale, value)
    return Scaled(None, var)


def _is_constant(var: Var) -> bool:
    while var.owner is not None and isinstance(var.owner.op, DimShuffle):
        var = var.owner.inputs[0]
    return isinstance(var, Const)


def _blas_dot(term: Scaled, term_var: Var, dtype: str) -> Node | None:
    """The ``Dot`` node ``term.value`` comes from, when BLAS can compute it in ``dtype``
    and nothing else uses the product or the term ``term_var`` made of it."""
    node = term.value.owner
    if node is None or not isinstance(node.op, Dot) or dtype not in BLAS_DTYPES:
        return None
    if not _used_once(term.value) or not _used_once(term_var):
        return None
    if term.value.type.dtype != dtype or any(v.type.dtype != dtype for v in node.inputs):
        return None
    ranks = tuple(v.type.ndim for v in node.inputs)
    return node if ranks in ((2, 2), (2, 1), (1, 2)) else None


def _fits(addend: Scaled, product: Var, dtype: str) -> bool:
    """Whether the addend can be z: the dtype, broadcasting only into the product, and
    not computed by an elementwise node."""
    z = addend.value
    if z.type.dtype != dtype or z.type.ndim != product.type.ndim:
        return False
    if z.owner is not None and isinstance(z.owner.op, Elemwise):
        return False  # fusion computes it on the fly (see the module docstring)
    return all(
        z_dim == 1 or not product_dim == 1
        for z_dim, product_dim in zip(z.type.shape, product.type.shape, strict=True)
    )


# ========================== building
def _as_scalar(scale: Var | None, dtype: str, negate: bool) -> Var:
    """``scale`` (1 when None), negated if asked, as a 0-d variable of ``dtype``."""
    if scale is None:
        return constant(-1 if negate else 1, dtype=dtype)
    while scale.owner is not None and isinstance(scale.owner.op, DimShuffle):
        inner = scale.owner.inputs[0]
        if not all(n == 1 for n in inner.type.shape):
            break
        scale = inner
    if isinstance(scale, Const):
        value = np.asarray(scale.data).reshape(())
        return constant(-value if negate else value, dtype=dtype)
    if scale.type.ndim > 0:
        scale = DimShuffle(scale.type.ndim, ())(scale)
    return neg(scale) if negate else scale


def _outer_operands(dot: Node) -> tuple[Var, Var] | None:
    """(u, v) when ``dot`` is ``dot(u[:, None], v[None, :])`` (how ``T.outer`` is built)."""
    column, row = dot.inputs
    patterns = []
    for var, order in ((column, (0, "x")), (row, ("x", 0))):
        node = var.owner
        if node is None or not isinstance(node.op, DimShuffle) or node.op.new_order != order:
            return None
        patterns.append(node.inputs[0])
    return patterns[0], patterns[1]


def _blas_node(product: Scaled, addend: Scaled, dtype: str, signs: tuple[bool, bool]) -> Var:
    """The Gemm/Gemv/Ger output for ``product + addend``, with ``signs`` saying which of
    the two is negated."""
    dot = product.value.owner
    assert dot is not None
    alpha = _as_scalar(product.scale, dtype, signs[0])
    beta = _as_scalar(addend.scale, dtype, signs[1])
    x, y = dot.inputs
    z = addend.value
    ranks = (x.type.ndim, y.type.ndim)
    if ranks == (2, 1):
        return Gemv()(z, alpha, x, y, beta)
    if ranks == (1, 2):  # dot(v, B) = dot(B.T, v)
        return Gemv()(z, alpha, DimShuffle(2, (1, 0))(y), x, beta)
    outer = _outer_operands(dot)
    if outer is not None:
        return Ger()(z, alpha, outer[0], outer[1], beta)
    return Gemm()(z, alpha, x, y, beta)


def _rewrite_terms(node: Node, first: Var, second: Var, subtract: bool) -> Var | None:
    """``first + second`` (or ``first - second``) as one BLAS node, trying each term as
    the product."""
    dtype = node.outputs[0].type.dtype
    for product_var, addend_var, product_first in ((first, second, True), (second, first, False)):
        product = _scaled(product_var, dtype)
        if _blas_dot(product, product_var, dtype) is None:
            continue
        addend = _scaled(addend_var, dtype)
        if not _fits(addend, product.value, dtype):
            continue
        # In ``first - second`` the second term changes sign.
        signs = (subtract and not product_first, subtract and product_first)
        return _blas_node(product, addend, dtype, signs)
    return None


# ========================== rules
@RULES.rule((Elemwise, "add"))
def scaled_product_plus_value(node: Node) -> Var | None:
    """``alpha * dot(x, y) + beta * z`` (either order, either factor order) -> Gemm/Gemv/Ger."""
    first, second = node.inputs
    return _rewrite_terms(node, first, second, subtract=False)


@RULES.rule((Elemwise, "subtract"))
def scaled_product_minus_value(node: Node) -> Var | None:
    """``z - alpha * dot(x, y)`` -> alpha negated; ``alpha * dot(x, y) - z`` -> beta = -1."""
    first, second = node.inputs
    return _rewrite_terms(node, first, second, subtract=True)
