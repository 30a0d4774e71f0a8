"""Canonicalization: one spelling per expression, and the algebraic simplifications that
are exact.

``canonicalize(graph)`` rewrites ``graph`` with ``RULES`` until none applies. Every rule is
value-preserving for every input, NaN, inf and -0.0 included (a -0.0 may come out as
+0.0, which compares equal); where a simplification holds only for some dtypes or some
inputs the rule says so and guards it. What is deliberately NOT done:

- ``x * 0 -> 0`` and ``x - x -> 0`` for floats (``inf * 0`` and ``inf - inf`` are NaN):
  done for integer and bool dtypes only.
- Reassociating float add/mul chains: ``(a + b) - b`` is not ``a`` once ``a + b``
  overflows or rounds. Integer and bool chains (exact modular arithmetic) are flattened,
  sorted and their constants folded; a float chain only has its two operands put in
  canonical order (commutation is exact) and ``(x * c1) * c2 -> x * (c1 * c2)`` (or +)
  folded when ``c1 * c2`` is exact and no intermediate can overflow where the folded form
  does not (see ``floats_foldable``): ``x * 2 * 3 -> x * 6``, not ``x + 0.1 + 0.2``.
- ``exp(log(x)) -> x`` needs ``x >= 0`` (else NaN): done when ``x`` is non-negative by
  construction (``exp``, ``sqr``, ``abs``, ...). ``log(exp(x)) -> x`` is always done: it
  differs only where ``exp`` overflows or underflows, where ``x`` is the better answer.

Canonical form of an add/mul chain: a left-leaning binary chain (the elementwise table's
ops have arity 2), operands sorted by ``OperandOrder`` (graph inputs by position, then
computed values by depth and structural digest: the same in every process), constants
folded into one last operand of the chain's dtype.

>>> import jitgraph.tensor as T
>>> from jitgraph.ir.graph import Graph
>>> x = T.bvector("x")  # int8, the dtype of the literals: no constant is converted
>>> canonicalize(Graph([x], [(2 + x) * 3 * 1])).outputs[0] is (x + 2) * 3
True
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import operator
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

import jitgraph.tensor
from jitgraph import dtypes
from jitgraph.ir.graph import Const, Graph, Node, Var
from jitgraph.ops.creation import Alloc
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.indexing import Subtensor
from jitgraph.ops.reduce import Reduce
from jitgraph.ops.shape import DimShuffle, Reshape, Shape, int64_constant, shape_scalars, static_int
from jitgraph.passes.rewriter import RuleSet, rewrite
from jitgraph.tensor.basic import pad_to_ndim

# The front end's elementwise functions are generated from the op table (mypy cannot see them).
T: Any = jitgraph.tensor

RULES = RuleSet("canonicalize")


def canonicalize(graph: Graph) -> Graph:
    """``graph`` in canonical form: no rule of ``RULES`` applies to it any more.

    Invariant established: add/mul chains are sorted with their constants folded last,
    identities (``x*1``, ``x+0``, ``x**1``, ``neg(neg(x))``, identity dimshuffles, same-dtype
    casts, same-shape reshapes) are gone, and the exact algebraic forms below are used
    (``x**2 -> sqr(x)``, ``x - (-y) -> x + y``, ...). Values are unchanged.

    >>> import jitgraph.tensor as T
    >>> x = T.dvector("x")
    >>> new = canonicalize(Graph([x], [-(-(x ** 2)) * 1]))
    >>> new.outputs[0] is T.sqr(x)
    True
    """
    with canonical_order(graph.inputs):
        new, _ = rewrite(graph, RULES)
    return new


# ----------------------------------------------------------------------------- operand order
class OperandOrder:
    """A total, process-independent order on variables (never object ids): graph inputs
    by position (unknown inputs by name and type), then computed values by depth and a
    structural digest of their subgraph, then constants by content.

    >>> import jitgraph.tensor as T
    >>> x, y = T.dvectors("x", "y")
    >>> order = OperandOrder([y, x])
    >>> sorted([x, T.exp(y), y], key=order.key)[0] is y
    True
    """

    def __init__(self, inputs: Sequence[Var] = ()) -> None:
        # id(var) -> (var, key): holding var keeps its id from being reused. Graph inputs
        # (even ones with an owner: blockers) are leaves, ranked by position.
        self.memo: dict[int, tuple[Var, tuple[Any, ...]]] = {
            id(v): (v, (0, 0, position)) for position, v in enumerate(inputs)
        }

    def key(self, var: Var) -> tuple[Any, ...]:
        memo = self.memo
        stack = [var]
        while stack:  # iterative post-order: graphs can be deeper than the recursion limit
            top = stack[-1]
            if id(top) in memo:
                stack.pop()
                continue
            inputs = () if top.owner is None else top.owner.inputs
            pending = [v for v in inputs if id(v) not in memo]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            memo[id(top)] = (top, self._key_of(top))
        return memo[id(var)][1]

    def _key_of(self, var: Var) -> tuple[Any, ...]:
        if isinstance(var, Const):
            return (2, 0, var.content_key().hex())
        if var.owner is None:
            return (0, 1, var.name or "", var.type.key())
        node = var.owner
        input_keys = [self.memo[id(v)][1] for v in node.inputs]
        depth = 1 + max((k[1] for k in input_keys if k[0] == 1), default=0)
        text = f"{node.op.signature()}#{var.index}#{var.type.key()}#{input_keys!r}"
        return (1, depth, hashlib.sha256(text.encode()).hexdigest())


# The order of the running ``canonicalize`` call (it knows the graph's inputs); rules used
# outside of it fall back to one order shared by every call, emptied when it grows large.
_FALLBACK_ORDER = OperandOrder()
_FALLBACK_MEMO_CAP = 100_000
_ORDER: contextvars.ContextVar[OperandOrder | None] = contextvars.ContextVar(
    "canonical_operand_order", default=None
)


@contextlib.contextmanager
def canonical_order(inputs: Sequence[Var]) -> Iterator[None]:
    """Within the block, chains are sorted with the order of a graph with ``inputs``."""
    token = _ORDER.set(OperandOrder(inputs))
    try:
        yield
    finally:
        _ORDER.reset(token)


def operand_key(var: Var) -> tuple[Any, ...]:
    order = _ORDER.get()
    if order is None:
        order = _FALLBACK_ORDER
        if len(order.memo) > _FALLBACK_MEMO_CAP:
            order.memo.clear()
    return order.key(var)


# ----------------------------------------------------------------------------- helpers
def constant_value(var: Var) -> np.ndarray | None:
    """The value of ``var`` when it is a constant, possibly dimshuffled or cast (how the
    front end pads and converts literals); None otherwise."""
    chain: list[Node] = []
    while not isinstance(var, Const):
        node = var.owner
        if node is None or len(chain) > 8 or not (isinstance(node.op, DimShuffle) or is_cast(node)):
            return None
        chain.append(node)
        var = node.inputs[0]
    value = var.data
    for node in reversed(chain):
        with np.errstate(all="ignore"):
            value = node.op.perform(node, [value])[0]
    return value


def uniform_value(var: Var) -> Any:
    """The single value every element of constant ``var`` holds, or None (also for NaN)."""
    value = constant_value(var)
    if value is None or value.size == 0:
        return None
    first = value.reshape(-1)[0]
    return first if bool(np.all(value == first)) else None


def is_elemwise(var: Var, name: str) -> bool:
    """Whether ``var`` is computed by the elementwise table entry ``name``."""
    node = var.owner
    return node is not None and isinstance(node.op, Elemwise) and node.op.scalar_op.name == name


def is_cast(node: Node) -> bool:
    return isinstance(node.op, Elemwise) and node.op.scalar_op.name.startswith("cast_")


def fit_to_output(value: Var, node: Node) -> Var:
    """``value`` made a replacement of ``node``'s output: cast to its dtype, padded to its
    ndim, and allocated to its shape where ``node`` broadcast it or knew a static size
    that ``value`` does not (the alloc then checks it when the function runs)."""
    out = node.outputs[0]
    value = T.cast(value, out.type.dtype)
    padded = pad_to_ndim(value, out.type.ndim)
    pairs = zip(out.type.shape, padded.type.shape, strict=True)
    if all(o == p or (o is None and p != 1) for o, p in pairs):
        return padded
    symbolic = node.op.infer_shape(node, [tuple(shape_scalars(v)) for v in node.inputs])[0]
    static = out.type.shape
    shape = [size if n is None else int64_constant(n) for size, n in zip(symbolic, static)]
    return Alloc()(value, *shape)


def filled(value: Any, node: Node) -> Var:
    """An array of ``node``'s output type holding ``value`` everywhere."""
    return fit_to_output(T.constant(value, dtype=node.outputs[0].type.dtype), node)


def never_negative(var: Var, depth: int = 6) -> bool:
    """Whether float ``var`` is >= 0 or NaN (never < 0, never -inf) by construction:
    a constant without negative values, a result of an op in ``_NON_NEGATIVE_OPS``, or
    sums, products, broadcasts and sums over axes of such values, or a maximum with one
    (``maximum(x, 0)``). -0.0 counts as >= 0 (so no quotients: 1 / -0.0 is -inf)."""
    constant = constant_value(var)
    if constant is not None:
        return dtypes.kind(var.type.dtype) in "biuf" and not bool(np.any(constant < 0))
    if dtypes.kind(var.type.dtype) != "f":
        return False  # integers wrap: abs(int8 -128) and sqr(int8 12) are negative
    node = var.owner
    if node is None or depth == 0:
        return False
    op = node.op
    if isinstance(op, Elemwise) and op.scalar_op.name in _NON_NEGATIVE_OPS:
        return True
    if isinstance(op, Elemwise) and op.scalar_op.name == "maximum":
        return any(never_negative(v, depth - 1) for v in node.inputs)
    if isinstance(op, Elemwise) and op.scalar_op.name in ("add", "multiply"):
        return all(never_negative(v, depth - 1) for v in node.inputs)
    if isinstance(op, (DimShuffle, Alloc)) or (isinstance(op, Reduce) and op.kind.name == "sum"):
        return never_negative(node.inputs[0], depth - 1)
    return False


# Ops whose float results are >= 0 or NaN whatever the input.
_NON_NEGATIVE_OPS = frozenset(
    {"exp", "exp2", "square", "absolute", "sqrt", "cosh", "softplus", "sigmoid"}
)


# ----------------------------------------------------------------------------- add / multiply
_IDENTITY = {"add": 0, "multiply": 1}
_NUMPY = {"add": np.add, "multiply": np.multiply}


def other_operand_if_identity(node: Node, identity: Any) -> Var | None:
    """The operand of binary ``node`` next to a constant equal to ``identity`` everywhere,
    or next to an alloc of such a constant to the other operand's own shape (the gradient
    of a sum is one: ``g * ones_like(x)``)."""
    first, second = node.inputs
    for constant, other in ((second, first), (first, second)):
        value = uniform_value(constant)
        if value is None:
            value = allocated_like(constant, other)
        if value is not None and value == identity:
            return other
    return None


def allocated_like(var: Var, other: Var) -> Any:
    """The single value of ``alloc(c, *sizes)`` when ``sizes`` are certainly ``other``'s
    shape (so the alloc broadcasts nothing the operation would not), else None."""
    node = var.owner
    if node is None or not isinstance(node.op, Alloc):
        return None
    value, *sizes = node.inputs
    if len(sizes) != other.type.ndim:
        return None
    if not all(is_own_size(size, other, axis) for axis, size in enumerate(sizes)):
        return None
    return uniform_value(value)


@RULES.rule((Elemwise, "add"))
def add_zero(node: Node) -> Var | None:
    """x + 0 -> x (cast and broadcast as the sum was; -0.0 + 0 is +0.0: equal values)."""
    other = other_operand_if_identity(node, 0)
    return None if other is None else fit_to_output(other, node)


@RULES.rule((Elemwise, "multiply"))
def mul_by_one(node: Node) -> Var | None:
    """x * 1 -> x (NaN * 1 and inf * 1 are themselves)."""
    other = other_operand_if_identity(node, 1)
    return None if other is None else fit_to_output(other, node)


@RULES.rule((Elemwise, "multiply"))
def mul_by_zero(node: Node) -> Var | None:
    """x * 0 -> zeros, for integer and bool results only (for floats inf * 0 is NaN)."""
    if dtypes.kind(node.outputs[0].type.dtype) not in "biu":
        return None
    return None if other_operand_if_identity(node, 0) is None else filled(0, node)


@RULES.rule((Elemwise, "add"))
def add_of_neg(node: Node) -> Var | None:
    """x + (-y) -> x - y, and (-y) + x -> x - y (exact: IEEE defines a - b as a + (-b))."""
    first, second = node.inputs
    if is_elemwise(second, "negative"):
        return fit_to_output(T.sub(first, second.owner.inputs[0]), node)  # type: ignore[union-attr]
    if is_elemwise(first, "negative"):
        return fit_to_output(T.sub(second, first.owner.inputs[0]), node)  # type: ignore[union-attr]
    return None


def canonical_chain(node: Node) -> Var | None:
    """The canonical form of the add or mul chain ending at ``node`` (see the module doc)."""
    name = node.op.scalar_op.name  # type: ignore[attr-defined]
    dtype = node.outputs[0].type.dtype
    if dtypes.kind(dtype) in "biu":  # modular arithmetic: associative and commutative
        leaves = chain_leaves(node, name, dtype)
    else:
        leaves = float_chain_leaves(node, name, dtype)
    is_constant = [constant_value(v) is not None for v in leaves]
    constants = [v for v, constant in zip(leaves, is_constant) if constant]
    others = sorted(
        (v for v, constant in zip(leaves, is_constant) if not constant), key=operand_key
    )
    folded = fold_constants(name, constants, dtype)
    if folded is not None and others:
        value = uniform_value(folded)
        if value is not None and value == _IDENTITY[name]:
            folded = None
    operands = others + ([folded] if folded is not None else [])
    if is_left_leaning_chain(node.outputs[0], operands):
        return None  # already canonical: skip rebuilding it
    result = operands[0]
    if len(operands) > 1 and dtypes.upcast(operands[0].type.dtype, operands[1].type.dtype) != dtype:
        result = T.cast(result, dtype)  # the first partial result must have the chain's dtype
    ndim = node.outputs[0].type.ndim
    for operand in operands[1:]:
        result = node.op.make_node(result, pad_to_ndim(operand, ndim)).outputs[0]
    return fit_to_output(result, node)


def is_left_leaning_chain(var: Var, operands: Sequence[Var]) -> bool:
    """Whether ``var`` is ``((operands[0] op operands[1]) op ...) op operands[-1]``."""
    for operand in reversed(operands[1:]):
        if var.owner is None or var.owner.inputs[1] is not operand:
            return False
        var = var.owner.inputs[0]
    return var is operands[0]


def chain_leaves(node: Node, name: str, dtype: str) -> list[Var]:
    """The operands of the chain of ``name`` nodes of ``dtype`` ending at ``node``."""
    leaves: list[Var] = []
    stack = list(reversed(node.inputs))
    while stack:
        var = stack.pop()
        if is_elemwise(var, name) and var.type.dtype == dtype:
            stack.extend(reversed(var.owner.inputs))  # type: ignore[union-attr]
        else:
            leaves.append(var)
    return leaves


def float_chain_leaves(node: Node, name: str, dtype: str) -> list[Var]:
    """``node``'s operands, or ``[y, c1, c2]`` for ``(y op c1) op c2`` when folding
    ``c1 op c2`` is safe (a float chain is not reassociated otherwise)."""
    first, second = node.inputs
    for inner, outer_constant in ((first, second), (second, first)):
        if constant_value(outer_constant) is None or not is_elemwise(inner, name):
            continue
        if inner.type.dtype != dtype or dtypes.kind(dtype) != "f":
            continue
        y, c1 = inner.owner.inputs  # type: ignore[union-attr]
        if constant_value(y) is not None:
            y, c1 = c1, y
        c1_value, c2_value = constant_value(c1), constant_value(outer_constant)
        if constant_value(y) is None and c1_value is not None and c2_value is not None:
            if floats_foldable(name, c1_value.astype(dtype), c2_value.astype(dtype)):
                return [y, c1, outer_constant]
    return [first, second]


def floats_foldable(name: str, c1: np.ndarray, c2: np.ndarray) -> bool:
    """Whether ``(y op c1) op c2`` may become ``y op (c1 op c2)`` for every float ``y``:
    ``c1 op c2`` is exact (the folded form then rounds once, where the original rounds
    twice: equal, or the folded one is the correctly rounded value), and the constants
    pull the same way (both >= 0 or both <= 0 for add, both of magnitude >= 1 or both <= 1
    for mul) so that an intermediate overflows only where the folded form does
    (``x * 2**600 * 2**-600`` is left alone)."""
    a, b = np.broadcast_arrays(c1, c2)
    if a.size > _FOLD_CHECK_CAP or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False
    if name == "add":
        same_way = ((a >= 0) & (b >= 0)) | ((a <= 0) & (b <= 0))
    else:
        same_way = ((np.abs(a) >= 1) & (np.abs(b) >= 1)) | ((np.abs(a) <= 1) & (np.abs(b) <= 1))
    if not np.all(same_way):
        return False
    with np.errstate(all="ignore"):
        folded = _NUMPY[name](a, b)
    combine = _EXACT[name]
    return all(
        np.isfinite(f) and Fraction(float(f)) == combine(Fraction(float(p)), Fraction(float(q)))
        for p, q, f in zip(a.reshape(-1), b.reshape(-1), folded.reshape(-1), strict=True)
    )


_FOLD_CHECK_CAP = 256  # elements of a constant checked one by one (exactly)
_EXACT: dict[str, Callable[[Fraction, Fraction], Fraction]] = {
    "add": operator.add,
    "multiply": operator.mul,
}


def fold_constants(name: str, constants: list[Var], dtype: str) -> Var | None:
    """One constant of ``dtype`` for the chain's constants: the original one when it has
    that dtype already, else the folded value (0-d when it is a single value)."""
    if not constants:
        return None
    if len(constants) == 1 and constants[0].type.dtype == dtype:
        return constants[0]
    values = [np.asarray(constant_value(c)).astype(dtype) for c in constants]
    with np.errstate(all="ignore"):  # integers wrap, as the graph's arithmetic does
        folded = values[0]
        for value in values[1:]:
            folded = _NUMPY[name](folded, value).astype(dtype)
    if folded.size == 1:
        folded = folded.reshape(())
    return T.constant(folded, dtype=dtype)


@RULES.rule((Elemwise, "add"))
def canonical_add_chain(node: Node) -> Var | None:
    """(c + b) + a -> (a + b) + c: sorted, constants folded last (ints: whole chains,
    x + 1 + y + 2 -> x + y + 3; floats: two operands, (x + 1) + 2 -> x + 3)."""
    return canonical_chain(node)


@RULES.rule((Elemwise, "multiply"))
def canonical_mul_chain(node: Node) -> Var | None:
    """(c * b) * a -> (a * b) * c: sorted, constants folded last (x * 2 * 3 -> x * 6)."""
    return canonical_chain(node)


# ----------------------------------------------------------------------------- subtract / neg
@RULES.rule((Elemwise, "subtract"))
def sub_self(node: Node) -> Var | None:
    """x - x -> zeros of x's shape and dtype, for integers only (inf - inf is NaN)."""
    first, second = node.inputs
    if first is not second or dtypes.kind(node.outputs[0].type.dtype) not in "iu":
        return None
    return filled(0, node)


@RULES.rule((Elemwise, "subtract"))
def sub_of_neg(node: Node) -> Var | None:
    """x - (-y) -> x + y (exact)."""
    first, second = node.inputs
    if not is_elemwise(second, "negative"):
        return None
    return fit_to_output(T.add(first, second.owner.inputs[0]), node)  # type: ignore[union-attr]


@RULES.rule((Elemwise, "subtract"))
def sub_constant_to_add(node: Node) -> Var | None:
    """x - c -> x + (-c), so the constant joins the add chain (exact, integers wrap)."""
    first, second = node.inputs
    value = constant_value(second)
    if value is None or constant_value(first) is not None:
        return None
    dtype = node.outputs[0].type.dtype
    with np.errstate(all="ignore"):
        negated = np.negative(value.astype(dtype))
    if negated.size == 1:
        negated = negated.reshape(())
    return fit_to_output(T.add(first, T.constant(negated, dtype=dtype)), node)


@RULES.rule((Elemwise, "negative"))
def neg_neg(node: Node) -> Var | None:
    """-(-x) -> x (exact; integers wrap both ways)."""
    (inner,) = node.inputs
    if not is_elemwise(inner, "negative"):
        return None
    return fit_to_output(inner.owner.inputs[0], node)  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- power
def exponent_of(node: Node) -> Any:
    """The single value of a power node's constant exponent, or None."""
    return uniform_value(node.inputs[1])


def base_as_output(node: Node) -> Var:
    """The base cast to the output dtype (pow computes in it)."""
    return T.cast(node.inputs[0], node.outputs[0].type.dtype)


def _real(node: Node, kinds: str = "biuf") -> bool:
    return dtypes.kind(node.outputs[0].type.dtype) in kinds


@RULES.rule((Elemwise, "power"))
def pow_zero(node: Node) -> Var | None:
    """x ** 0 -> ones (NaN ** 0 is 1 too)."""
    if not _real(node) or exponent_of(node) != 0:
        return None
    return filled(1, node)


@RULES.rule((Elemwise, "power"))
def pow_one(node: Node) -> Var | None:
    """x ** 1 -> x."""
    if not _real(node) or exponent_of(node) != 1:
        return None
    return fit_to_output(base_as_output(node), node)


@RULES.rule((Elemwise, "power"))
def pow_two_to_sqr(node: Node) -> Var | None:
    """x ** 2 -> sqr(x) (integers wrap the same way)."""
    if not _real(node) or exponent_of(node) != 2:
        return None
    return fit_to_output(T.sqr(base_as_output(node)), node)


@RULES.rule((Elemwise, "power"))
def pow_minus_one_to_reciprocal(node: Node) -> Var | None:
    """x ** -1 -> reciprocal(x), floats only (an integer x ** -1 is an error in NumPy)."""
    if not _real(node, "f") or exponent_of(node) != -1:
        return None
    return fit_to_output(T.reciprocal(base_as_output(node)), node)


@RULES.rule((Elemwise, "power"))
def pow_half_to_sqrt(node: Node) -> Var | None:
    """x ** 0.5 -> sqrt(x), float results, where x cannot be -inf: an integer x, or one
    >= 0 by construction (``never_negative``). For x = -inf, C's pow gives +inf and sqrt
    NaN, and NumPy answers either depending on dtype and size (its fast path for a
    broadcast exponent calls sqrt), so an arbitrary float x is left alone."""
    base = node.inputs[0]
    if not _real(node, "f") or exponent_of(node) != 0.5:
        return None
    if not (dtypes.kind(base.type.dtype) in "biu" or never_negative(base)):
        return None
    return fit_to_output(T.sqrt(base_as_output(node)), node)


@RULES.rule((Elemwise, "true_divide"))
def div_by_power_of_two(node: Node) -> Var | None:
    """x / 2**k -> x * 2**-k, real floats only: scaling by a power of two whose inverse
    is representable rounds exactly like the division (complex: inf * 0 parts differ)."""
    dtype = node.outputs[0].type.dtype
    divisor = uniform_value(node.inputs[1])
    if dtypes.kind(dtype) != "f" or divisor is None or not np.isfinite(divisor) or divisor == 0:
        return None
    divisor = np.asarray(divisor, dtype=dtype)
    with np.errstate(all="ignore"):
        inverse = np.reciprocal(divisor)
    mantissa, _ = np.frexp(divisor)
    if abs(float(mantissa)) != 0.5 or not np.isfinite(inverse) or inverse * divisor != 1:
        return None
    scaled = T.mul(T.cast(node.inputs[0], dtype), T.constant(inverse, dtype=dtype))
    return fit_to_output(scaled, node)


# ----------------------------------------------------------------------------- exp / log
@RULES.rule((Elemwise, "log"))
def log_of_exp(node: Node) -> Var | None:
    """log(exp(x)) -> x for real x: equal wherever exp(x) neither overflows nor
    underflows (|x| < ~709 in float64, ~88 in float32); beyond, x is the exact answer
    where the original gives +-inf."""
    (inner,) = node.inputs
    if not is_elemwise(inner, "exp") or not _real(node, "f"):
        return None
    x = inner.owner.inputs[0]  # type: ignore[union-attr]
    if dtypes.kind(x.type.dtype) not in "biuf":
        return None
    return fit_to_output(x, node)


@RULES.rule((Elemwise, "exp"))
def exp_of_log(node: Node) -> Var | None:
    """exp(log(x)) -> x where x is >= 0 or NaN by construction (log of a negative is NaN,
    so it is NOT done for an arbitrary x)."""
    (inner,) = node.inputs
    if not is_elemwise(inner, "log"):
        return None
    x = inner.owner.inputs[0]  # type: ignore[union-attr]
    if not never_negative(x) or x.type.dtype != node.outputs[0].type.dtype:
        return None
    return fit_to_output(x, node)


# ----------------------------------------------------------------------------- casts
def cast_is_lossless(source: str, target: str) -> bool:
    """Every value of ``source`` is exactly representable in ``target`` (NumPy's "safe"
    casting, less integers to floats too narrow to hold them: int64 -> float64 rounds).

    >>> cast_is_lossless("int32", "float64"), cast_is_lossless("int64", "float64")
    (True, False)
    """
    if not np.can_cast(source, target, casting="safe"):
        return False
    if dtypes.kind(source) in "iu" and dtypes.kind(target) in "fc":
        mantissa_bits = np.finfo(target).nmant + 1
        return np.iinfo(source).bits - (dtypes.kind(source) == "i") <= mantissa_bits
    return True


@RULES.rule(Elemwise)
def useless_cast(node: Node) -> Var | None:
    """cast(x, x.dtype) -> x."""
    if not is_cast(node) or node.inputs[0].type.dtype != node.outputs[0].type.dtype:
        return None
    return node.inputs[0]


@RULES.rule(Elemwise)
def cast_of_lossless_cast(node: Node) -> Var | None:
    """cast(cast(x, A), B) -> cast(x, B) when casting x to A loses nothing."""
    if not is_cast(node):
        return None
    (inner,) = node.inputs
    if inner.owner is None or not is_cast(inner.owner):
        return None
    x = inner.owner.inputs[0]
    if not cast_is_lossless(x.type.dtype, inner.type.dtype):
        return None
    target = node.outputs[0].type.dtype
    if dtypes.is_complex(x.type.dtype) and not dtypes.is_complex(target):
        return None
    return T.cast(x, target)


# ----------------------------------------------------------------------------- shapes
@RULES.rule(DimShuffle)
def dimshuffle_of_dimshuffle(node: Node) -> Var | None:
    """x.dimshuffle(a).dimshuffle(b) -> x.dimshuffle(a composed with b) (x.T.T -> x
    with ``useless_dimshuffle``)."""
    (inner,) = node.inputs
    if inner.owner is None or not isinstance(inner.owner.op, DimShuffle):
        return None
    first: DimShuffle = inner.owner.op
    second: DimShuffle = node.op  # type: ignore[assignment]
    order = tuple("x" if a == "x" else first.new_order[a] for a in second.new_order)  # type: ignore[index]
    return DimShuffle(first.input_ndim, order)(inner.owner.inputs[0])


@RULES.rule(DimShuffle)
def useless_dimshuffle(node: Node) -> Var | None:
    """x.dimshuffle(0, 1, ..., n-1) -> x."""
    op: DimShuffle = node.op  # type: ignore[assignment]
    return node.inputs[0] if op.new_order == tuple(range(op.input_ndim)) else None


def is_own_size(size: Var, x: Var, axis: int, depth: int = 8) -> bool:
    """Whether ``size`` is certainly x's size along ``axis``: x's known static size,
    ``x.shape[axis]``, or (through elementwise ops, allocs and dimshuffles, which give
    their output the size of their non-broadcast inputs or fail) one of x's sources'."""
    static = static_int(size)
    if static is not None and static == x.type.shape[axis]:
        return True
    if shape_entry_of(size) == (x, axis % max(x.type.ndim, 1)):
        return True
    node = x.owner
    if node is None or depth == 0:
        return False
    op = node.op
    if isinstance(op, Elemwise):
        sources = [(v, axis) for v in node.inputs if v.type.shape[axis] != 1]
    elif isinstance(op, DimShuffle):
        entry = op.new_order[axis]
        sources = [] if entry == "x" else [(node.inputs[0], int(entry))]
    elif isinstance(op, Alloc):
        return node.inputs[1 + axis] is size
    else:
        return False
    return any(is_own_size(size, v, a, depth - 1) for v, a in sources)


def shape_entry_of(size: Var) -> tuple[Var, int] | None:
    """(y, i) when ``size`` is ``y.shape[i]`` (i a constant, made non-negative)."""
    node = size.owner
    if node is None or not isinstance(node.op, Subtensor) or node.op.index != ("i",):
        return None
    source, position = node.inputs
    if source.owner is None or not isinstance(source.owner.op, Shape):
        return None
    y = source.owner.inputs[0]
    index = static_int(position)
    if index is None or not -y.type.ndim <= index < y.type.ndim:
        return None
    return y, index % y.type.ndim


@RULES.rule(Reshape)
def useless_reshape(node: Node) -> Var | None:
    """x.reshape(x.shape) -> x (each size x's own, static or symbolic; one -1 allowed)."""
    x, *sizes = node.inputs
    if len(sizes) != x.type.ndim:
        return None
    unmatched = [a for a, size in enumerate(sizes) if not is_own_size(size, x, a)]
    if len(unmatched) > 1 or (unmatched and static_int(sizes[unmatched[0]]) != -1):
        return None
    return x


@RULES.rule(Alloc)
def useless_alloc(node: Node) -> Var | None:
    """alloc(x, *x.shape) -> x (nothing is broadcast: the alloc only copies)."""
    value, *sizes = node.inputs
    if value.type.ndim != len(sizes) or not all(
        is_own_size(size, value, a) for a, size in enumerate(sizes)
    ):
        return None
    return value


# ----------------------------------------------------------------------------- sum of broadcasts
def _plain_sum(node: Node) -> bool:
    op = node.op
    return isinstance(op, Reduce) and op.kind.name == "sum" and op.acc_dtype is None


@RULES.rule(Reduce)
def sum_over_new_axes(node: Node) -> Var | None:
    """sum(x.dimshuffle('x', 0), axis=0) -> x: summing an inserted axis (size 1) only
    drops it; the other axes are summed on x itself."""
    if not _plain_sum(node):
        return None
    op: Reduce = node.op  # type: ignore[assignment]
    (shuffled,) = node.inputs
    if shuffled.owner is None or not isinstance(shuffled.owner.op, DimShuffle):
        return None
    order = shuffled.owner.op.new_order
    inserted = {a for a in op.axis if order[a] == "x"}
    if not inserted:
        return None
    x = shuffled.owner.inputs[0]
    kept_order = [e for a, e in enumerate(order) if a not in inserted or op.keepdims]
    kept_axes = [a for a in range(len(order)) if a not in inserted or op.keepdims]
    inner = DimShuffle(x.type.ndim, tuple(kept_order))(x)
    remaining = tuple(kept_axes.index(a) for a in op.axis if a not in inserted)
    if remaining:
        inner = Reduce(op.kind, remaining, op.keepdims, op.dtype)(inner)
    return T.cast(inner, node.outputs[0].type.dtype)


@RULES.rule(Reduce)
def sum_of_alloc(node: Node) -> Var | None:
    """sum(alloc(v, n, m), axis=0) -> v * n broadcast to (m,): when every summed axis is
    one v is broadcast along and its size n is statically positive, or v is a finite
    constant and n is a static size or a shape entry (never negative), so that v * 0 is
    the empty sum's 0."""
    if not _plain_sum(node) or not node.op.axis:  # type: ignore[attr-defined]
        return None
    op: Reduce = node.op  # type: ignore[assignment]
    (allocated,) = node.inputs
    if allocated.owner is None or not isinstance(allocated.owner.op, Alloc):
        return None
    value, *sizes = allocated.owner.inputs
    padded = pad_to_ndim(value, len(sizes))
    if any(padded.type.shape[a] != 1 for a in op.axis):
        return None
    constant = constant_value(value)
    finite_constant = constant is not None and bool(np.all(np.isfinite(constant)))
    for axis in op.axis:
        static = static_int(sizes[axis])
        positive = static is not None and static > 0
        never_negative_size = static is not None or shape_entry_of(sizes[axis]) is not None
        if not (positive or (finite_constant and never_negative_size)):
            return None
    return scaled_broadcast(node, padded, sizes)


def scaled_broadcast(node: Node, padded: Var, sizes: Sequence[Var]) -> Var:
    """``padded`` with the summed axes dropped (or kept), times the product of their sizes
    (a constant when static), allocated to the other sizes unless they are its own."""
    op: Reduce = node.op  # type: ignore[assignment]
    dtype = node.outputs[0].type.dtype
    kept = [a for a in range(len(sizes)) if a not in op.axis or op.keepdims]
    reduced = T.cast(DimShuffle(len(sizes), tuple(kept))(padded), dtype)
    static = [static_int(sizes[a]) for a in op.axis]
    if None not in static:
        count: Var = T.constant(int(np.prod(np.asarray(static, dtype="int64"))), dtype=dtype)
    else:
        count = T.constant(1, dtype="int64")
        for axis in op.axis:
            count = T.mul(count, sizes[axis])
        count = T.cast(count, dtype)
    product = T.mul(reduced, count)
    # The alloc stays where it could broadcast or check a size of an axis not summed.
    if all(is_own_size(sizes[a], padded, a) for a in range(len(sizes)) if a not in op.axis):
        return product
    one = int64_constant(1)
    return Alloc()(product, *[one if a in op.axis else sizes[a] for a in kept])


# ----------------------------------------------------------------------------- broadcasts
@RULES.rule(Elemwise)
def alloc_read_by_elementwise(node: Node) -> Var | None:
    """elemwise(alloc(v, *y.shape), y) -> elemwise(v padded, y): the other operand ``y``
    already has the allocated shape, so the elementwise op broadcasts ``v`` to it itself
    (its run-time check still makes ``v``'s non-broadcast sizes match). Applied only when
    every allocated size is certainly one of the other operands' own sizes on that axis
    and the output keeps its exact type."""
    out = node.outputs[0]
    for position, operand in enumerate(node.inputs):
        value = alloc_fixed_by_others(operand, node.inputs[:position] + node.inputs[position + 1 :])
        if value is None:
            continue
        inputs = list(node.inputs)
        inputs[position] = value
        replacement = node.op(*inputs)
        if replacement.type == out.type:
            return replacement
    return None


def alloc_fixed_by_others(operand: Var, others: Sequence[Var]) -> Var | None:
    """``v`` padded to ``operand``'s rank when ``operand`` is ``alloc(v, *sizes)`` of
    ``v``'s dtype and each size is an own size of one of ``others`` (so the elementwise op's
    output has that size without the alloc), else None."""
    node = operand.owner
    if node is None or not isinstance(node.op, Alloc):
        return None
    value, *sizes = node.inputs
    if value.type.dtype != operand.type.dtype or value.type.ndim > len(sizes):
        return None
    for axis, size in enumerate(sizes):
        if not any(
            other.type.ndim == len(sizes) and is_own_size(size, other, axis) for other in others
        ):
            return None
    return pad_to_ndim(value, len(sizes))
