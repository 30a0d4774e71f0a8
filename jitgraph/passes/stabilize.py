"""The stabilize pass: numerically unstable expressions become their stable equivalents.

Users write ``log(1 + exp(x))``, ``1 / (1 + exp(-x))`` or ``log(exp(x) / sum(exp(x)))``;
in floating point these overflow or lose every digit for large ``|x|`` (``exp(1000.)`` is
inf, ``log(sigmoid(-800.))`` is ``log(0)``). Each rule here recognises one such form and
replaces it by a primitive or a composition that is accurate over the whole range
(``softplus``, ``sigmoid``, ``log1p``, ``expm1``, max-shifted ``logsumexp``/``softmax``/
``log_softmax``). The rules are value-preserving: the same function, within the dtype's
rounding, NaN and inf included. ``jitgraph.grad`` differentiates the stabilized form of a
cost (see its docstring), which is how each rewrite also fixes the gradient graph.

Matchers accept the forms users write and the canonical forms (``add(exp(x), 1)`` as well as
``add(1, exp(x))``, constants of any dtype broadcast by ``DimShuffle``, nested add chains),
and rewrite real floating-point expressions only (integer arithmetic wraps, so
``log(1 + x)`` of an int8 is not ``log1p(x)``). A replacement is cast to the original dtype
and refused when its static shape differs (a constant operand that broadcast the original
to a larger shape). The max-shifted forms shift by the internal reduction
``max_or_neg_inf`` (-inf over an empty axis, then guarded to 0 like any non-finite max), so
that a reduced axis of length zero at run time gives what the unstable form gave (``-inf``,
an empty softmax) instead of the error of ``max``; a statically empty axis is not rewritten.

>>> import jitgraph.tensor as T
>>> from jitgraph.ir.graph import Graph
>>> x = T.dvector("x")
>>> stabilize(Graph([x], [T.log(1 + T.exp(x))])).outputs[0] is T.softplus(x)
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from jitgraph import dtypes
from jitgraph.ir.graph import Const, Graph, Node, Var
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.indexing import Subtensor
from jitgraph.ops.reduce import REDUCTIONS, Reduce
from jitgraph.ops.shape import DimShuffle
from jitgraph.passes.rewriter import RuleSet, rewrite
from jitgraph.tensor.basic import constant
from jitgraph.tensor.math import (  # type: ignore[attr-defined]
    add,
    cast,
    exp,
    expm1,
    isfinite,
    log,
    log1p,
    mul,
    neg,
    sigmoid,
    softplus,
    sub,
    switch,
    true_div,
)
from jitgraph.tensor.nnet.activations import log_of_softmax
from jitgraph.tensor.reduction import sum as reduce_sum

__all__ = ["RULES", "stabilize"]

RULES = RuleSet("stabilize")


def stabilize(graph: Graph) -> Graph:
    """``graph`` with every unstable form the rules know replaced by its stable equivalent.

    Invariant established: no output depends on ``log(1 + x)``, ``exp(x) - 1``,
    ``log(1 + exp(x))``, a hand-written sigmoid, ``log(sigmoid(x))``, ``log(1 - sigmoid(x))``,
    an unshifted ``log(sum(exp(x)))`` or ``exp(x) / sum(exp(x))``, or ``log`` of a softmax.

    >>> import jitgraph.tensor as T
    >>> x = T.dvector("x")
    >>> before = Graph([x], [1 / (1 + T.exp(-x))])
    >>> stabilize(before).outputs[0] is T.nnet.sigmoid(x)
    True
    """
    new, _ = rewrite(graph, RULES)
    return new


# ========================== matching helpers
def _entry(var: Var) -> str | None:
    """The name of the elementwise table entry that produced ``var`` (None: another op)."""
    node = var.owner
    if node is not None and isinstance(node.op, Elemwise):
        return str(node.op.scalar_op.name)
    return None


def _operand(var: Var, name: str) -> Var | None:
    """``x`` when ``var`` is the unary ``name(x)``."""
    return var.owner.inputs[0] if _entry(var) == name else None  # type: ignore[union-attr]


def _operands(var: Var, name: str) -> Sequence[Var] | None:
    """The inputs of ``var`` when it is ``name(...)``."""
    return var.owner.inputs if _entry(var) == name else None  # type: ignore[union-attr]


def _is_real_float(var: Var) -> bool:
    return dtypes.is_float(var.type.dtype)


def _is_constant(var: Var, value: float) -> bool:
    """Whether ``var`` is a constant whose every element equals ``value`` (any dtype),
    looking through the DimShuffles that broadcast a constant to its partner's ndim."""
    while var.owner is not None and isinstance(var.owner.op, DimShuffle):
        var = var.owner.inputs[0]
    if not isinstance(var, Const):
        return False
    data = var.data
    return data.size > 0 and bool(np.all(data == value))


def _add_terms(var: Var) -> list[Var]:
    """The terms of the add chain rooted at ``var``, in order (nested adds of ``var``'s
    dtype, whatever their nesting: canonical left-leaning chains and hand-written ones)."""
    terms: list[Var] = []
    stack = [var]
    while stack:
        item = stack.pop()
        inputs = _operands(item, "add")
        if inputs is not None and item.type.dtype == var.type.dtype:
            stack.extend(reversed(inputs))
        else:
            terms.append(item)
    return terms


def _sum_of(terms: Sequence[Var]) -> Var:
    """A left-leaning add chain of ``terms`` (at least one)."""
    total = terms[0]
    for term in terms[1:]:
        total = add(total, term)
    return total


def _split_constant(terms: Sequence[Var], value: float) -> list[Var] | None:
    """``terms`` without their first constant equal to ``value`` (None: there is none)."""
    for position, term in enumerate(terms):
        if _is_constant(term, value):
            return [*terms[:position], *terms[position + 1 :]]
    return None


def _pair_with_constant(var: Var, value: float) -> Var | None:
    """``x`` when ``var`` is the two-term sum ``value + x`` (either order)."""
    terms = _add_terms(var) if _entry(var) == "add" else []
    rest = _split_constant(terms, value) if len(terms) == 2 else None
    return rest[0] if rest else None


def _half_of(var: Var) -> Var | None:
    """``x`` when ``var`` is ``x / 2``, ``x * 0.5`` or ``0.5 * x``."""
    quotient = _operands(var, "true_divide")
    if quotient is not None and _is_constant(quotient[1], 2):
        return quotient[0]
    return _other_factor(var, 0.5)


def _other_factor(var: Var, value: float) -> Var | None:
    """``x`` when ``var`` is ``x * value`` or ``value * x``."""
    factors = _operands(var, "multiply")
    if factors is None:
        return None
    if _is_constant(factors[1], value):
        return factors[0]
    if _is_constant(factors[0], value):
        return factors[1]
    return None


def _negated(x: Var) -> Var:
    """``-x``, cancelling a negation already there (exact)."""
    inner = _operand(x, "negative")
    return inner if inner is not None else neg(x)


def _doubled(x: Var) -> Var:
    """``2 * x``, cancelling a halving already there."""
    inner = _half_of(x)
    return inner if inner is not None else mul(x, constant(2, dtype=x.type.dtype))


def _replacement(node: Node, new: Var) -> Var | None:
    """``new`` in the dtype of ``node``'s output, or None when its static shape differs
    (a constant operand broadcast the original to a larger shape: not a replacement)."""
    old = node.outputs[0]
    new = cast(new, old.type.dtype)
    return new if new.type.shape == old.type.shape else None


def _in_dtype_of(node: Node, x: Var) -> Var:
    """``x`` cast to the output dtype of ``node`` (a float64 constant made a float32
    expression float64: compute the replacement in float64 too)."""
    return cast(x, node.outputs[0].type.dtype)


def _rewrite_float(build: Callable[[Node], Var | None]) -> Callable[[Node], Var | None]:
    """Wrap a rule body: real float outputs only, result checked by ``_replacement``."""

    def rule(node: Node) -> Var | None:
        if not _is_real_float(node.outputs[0]):
            return None
        new = build(node)
        return None if new is None else _replacement(node, new)

    rule.__name__ = build.__name__
    rule.__doc__ = build.__doc__
    return rule


# ========================== log1p, expm1, softplus
@RULES.rule((Elemwise, "log"))
@_rewrite_float
def log_of_one_plus(node: Node) -> Var | None:
    """``log(1 + x)`` -> ``log1p(x)`` (any order and nesting of the add chain)."""
    (argument,) = node.inputs
    if _entry(argument) != "add" or argument.type.dtype != node.outputs[0].type.dtype:
        return None
    rest = _split_constant(_add_terms(argument), 1)
    if not rest:
        return None
    return log1p(_in_dtype_of(node, _sum_of(rest)))


@RULES.rule((Elemwise, "log1p"))
@_rewrite_float
def log1p_of_exp(node: Node) -> Var | None:
    """``log1p(exp(x))`` -> ``softplus(x)`` (so ``log(1 + exp(x))`` too)."""
    x = _operand(node.inputs[0], "exp")
    return None if x is None else softplus(_in_dtype_of(node, x))


@RULES.rule((Elemwise, "add"))
@_rewrite_float
def exp_minus_one_in_sum(node: Node) -> Var | None:
    """``exp(x) + (-1)`` -> ``expm1(x)`` (any order; other terms kept: ``a + expm1(x)``)."""
    rest = _split_constant(_add_terms(node.outputs[0]), -1)
    return None if rest is None else _with_expm1(node, rest)


@RULES.rule((Elemwise, "subtract"))
@_rewrite_float
def exp_minus_one(node: Node) -> Var | None:
    """``exp(x) - 1`` -> ``expm1(x)`` (also ``(a + exp(x)) - 1`` -> ``a + expm1(x)``)."""
    minuend, subtrahend = node.inputs
    if not _is_constant(subtrahend, 1):
        return None
    # Re-associating a chain is only sound in the output's dtype.
    same_dtype = minuend.type.dtype == node.outputs[0].type.dtype
    return _with_expm1(node, _add_terms(minuend) if same_dtype else [minuend])


def _with_expm1(node: Node, terms: Sequence[Var]) -> Var | None:
    """The sum of ``terms`` and -1, the first ``exp(x)`` term and the -1 making ``expm1``."""
    for position, term in enumerate(terms):
        x = _operand(term, "exp")
        if x is not None:
            others = [*terms[:position], *terms[position + 1 :]]
            return _sum_of([*others, expm1(_in_dtype_of(node, x))])
    return None


# ========================== sigmoid
@RULES.rule((Elemwise, "true_divide"))
@_rewrite_float
def sigmoid_of_reciprocal(node: Node) -> Var | None:
    """``1 / (1 + exp(-x))`` -> ``sigmoid(x)`` (and ``1 / (1 + exp(u))`` -> ``sigmoid(-u)``)."""
    numerator, denominator = node.inputs
    return _logistic(node, denominator) if _is_constant(numerator, 1) else None


@RULES.rule((Elemwise, "reciprocal"))
@_rewrite_float
def sigmoid_of_inverse(node: Node) -> Var | None:
    """``inv(1 + exp(-x))`` -> ``sigmoid(x)`` (the canonical form of ``1 / ...``)."""
    return _logistic(node, node.inputs[0])


def _logistic(node: Node, denominator: Var) -> Var | None:
    """``sigmoid(-u)`` when ``denominator`` is ``1 + exp(u)``."""
    power = _pair_with_constant(denominator, 1)
    u = None if power is None else _operand(power, "exp")
    return None if u is None else sigmoid(_in_dtype_of(node, _negated(u)))


@RULES.rule((Elemwise, "true_divide"))
@_rewrite_float
def sigmoid_of_tanh_quotient(node: Node) -> Var | None:
    """``(1 + tanh(x / 2)) / 2`` -> ``sigmoid(x)``."""
    return _sigmoid_of_half_tanh(node, _half_of(node.outputs[0]))


@RULES.rule((Elemwise, "multiply"))
@_rewrite_float
def sigmoid_of_tanh_product(node: Node) -> Var | None:
    """``0.5 * (1 + tanh(0.5 * x))`` -> ``sigmoid(x)`` (either factor order)."""
    return _sigmoid_of_half_tanh(node, _half_of(node.outputs[0]))


def _sigmoid_of_half_tanh(node: Node, whole: Var | None) -> Var | None:
    """``sigmoid(2h)`` when ``whole`` is ``1 + tanh(h)``."""
    hyperbolic = None if whole is None else _pair_with_constant(whole, 1)
    h = None if hyperbolic is None else _operand(hyperbolic, "tanh")
    return None if h is None else sigmoid(_in_dtype_of(node, _doubled(h)))


@RULES.rule((Elemwise, "add"))
@_rewrite_float
def sigmoid_of_tanh_sum(node: Node) -> Var | None:
    """``0.5 + 0.5 * tanh(0.5 * x)`` -> ``sigmoid(x)`` (also ``0.5 + tanh(x / 2) / 2``)."""
    half_tanh = _pair_with_constant(node.outputs[0], 0.5)
    hyperbolic = None if half_tanh is None else _half_of(half_tanh)
    h = None if hyperbolic is None else _operand(hyperbolic, "tanh")
    return None if h is None else sigmoid(_in_dtype_of(node, _doubled(h)))


@RULES.rule((Elemwise, "subtract"))
@_rewrite_float
def one_minus_sigmoid(node: Node) -> Var | None:
    """``1 - sigmoid(x)`` -> ``sigmoid(-x)`` (no cancellation for large x)."""
    one, subtrahend = node.inputs
    x = _operand(subtrahend, "sigmoid")
    if x is None or not _is_constant(one, 1):
        return None
    return sigmoid(_in_dtype_of(node, _negated(x)))


@RULES.rule((Elemwise, "add"))
@_rewrite_float
def one_plus_negated_sigmoid(node: Node) -> Var | None:
    """``1 + (-sigmoid(x))`` -> ``sigmoid(-x)`` (the canonical form of ``1 - sigmoid(x)``)."""
    negated = _pair_with_constant(node.outputs[0], 1)
    logistic = None if negated is None else _operand(negated, "negative")
    x = None if logistic is None else _operand(logistic, "sigmoid")
    return None if x is None else sigmoid(_in_dtype_of(node, _negated(x)))


@RULES.rule((Elemwise, "log"))
@_rewrite_float
def log_of_sigmoid(node: Node) -> Var | None:
    """``log(sigmoid(x))`` -> ``-softplus(-x)`` (so ``log(1 - sigmoid(x))`` -> ``-softplus(x)``)."""
    x = _operand(node.inputs[0], "sigmoid")
    return None if x is None else neg(softplus(_in_dtype_of(node, _negated(x))))


@RULES.rule((Elemwise, "log1p"))
@_rewrite_float
def log1p_of_negated_sigmoid(node: Node) -> Var | None:
    """``log1p(-sigmoid(x))`` -> ``-softplus(x)``."""
    logistic = _operand(node.inputs[0], "negative")
    x = None if logistic is None else _operand(logistic, "sigmoid")
    return None if x is None else neg(softplus(_in_dtype_of(node, x)))


# ========================== logsumexp, softmax
def _keepdims_order(ndim: int, axis: Sequence[int]) -> tuple[int | str, ...]:
    """The DimShuffle order putting back the ``axis`` a reduction of an ``ndim`` input
    dropped (what ``keepdims=True`` would have given)."""
    kept = iter(range(ndim - len(axis)))
    return tuple("x" if i in axis else next(kept) for i in range(ndim))


def _reduced(var: Var, kind: str) -> tuple[Var, tuple[int, ...], bool] | None:
    """(x, axis, keepdims) when ``var`` is the ``kind`` reduction of x over axis; a
    DimShuffle putting the reduced axes back counts as keepdims."""
    node = var.owner
    restored = False
    if node is not None and isinstance(node.op, DimShuffle):
        inner = node.inputs[0].owner
        if inner is None or not isinstance(inner.op, Reduce) or inner.op.keepdims:
            return None
        ndim = inner.inputs[0].type.ndim
        if node.op.new_order != _keepdims_order(ndim, inner.op.axis):
            return None
        node, restored = inner, True
    if node is None or not isinstance(node.op, Reduce) or node.op.kind.name != kind:
        return None
    return node.inputs[0], node.op.axis, node.op.keepdims or restored


def _is_max_shifted(x: Var, axis: tuple[int, ...]) -> bool:
    """Whether ``x`` is already ``y - max(y, axis)`` (possibly with the max made finite):
    the stable forms below produce such shifts, which must not be shifted again."""
    difference = _operands(x, "subtract")
    if difference is None:
        return False
    shift = difference[1]
    guarded = _operands(shift, "where")
    if guarded is not None and _operand(guarded[0], "isfinite") is guarded[1]:
        shift = guarded[1]
    found = _reduced(shift, "max_or_neg_inf") or _reduced(shift, "max")
    return found is not None and found[0] is difference[0] and found[1] == axis and found[2]


def _statically_empty(x: Var, axis: Sequence[int]) -> bool:
    return any(x.type.shape[a] == 0 for a in axis)


def _exp_reduced(var: Var) -> tuple[Var, Var, tuple[int, ...], bool] | None:
    """(exp(x), x, axis, keepdims) when ``var`` is ``sum(exp(x), axis)`` of a real float x
    not already max-shifted over axis, and the axis is not statically empty."""
    found = _reduced(var, "sum")
    if found is None:
        return None
    power, axis, keepdims = found
    x = _operand(power, "exp")
    if x is None or not _is_real_float(x) or _is_max_shifted(x, axis):
        return None
    return None if _statically_empty(x, axis) else (power, x, axis, keepdims)


def _finite_max(x: Var, axis: tuple[int, ...]) -> Var:
    """``max(x, axis, keepdims=True)``, with 0 where it is not finite: shifting by an
    infinite max would give ``inf - inf = nan`` where the unshifted form was exact. The max
    is ``max_or_neg_inf``: an empty axis gives -inf, so 0, and the shifted form gives the
    unshifted one's value (``log(0) = -inf``, an empty softmax) instead of raising."""
    peak = Reduce(REDUCTIONS["max_or_neg_inf"], axis, keepdims=True)(x)
    return switch(isfinite(peak), peak, constant(0, dtype=x.type.dtype))


@RULES.rule((Elemwise, "log"))
@_rewrite_float
def logsumexp_of_log_sum_exp(node: Node) -> Var | None:
    """``log(sum(exp(x), axis))`` -> ``log(sum(exp(x - m), axis)) + m``, ``m = max(x, axis)``."""
    found = _exp_reduced(node.inputs[0])
    if found is None:
        return None
    _, x, axis, keepdims = found
    x = _in_dtype_of(node, x)
    shift = _finite_max(x, axis)
    result = add(log(reduce_sum(exp(sub(x, shift)), axis=axis, keepdims=True)), shift)
    if keepdims:
        return result
    ndim = x.type.ndim
    return DimShuffle(ndim, tuple(i for i in range(ndim) if i not in axis))(result)


def _softmax(x: Var, axis: tuple[int, ...]) -> Var:
    """``exp(x - m) / sum(exp(x - m))`` over ``axis``, ``m`` the finite max: nnet.softmax's
    form, except that an infinite max is not subtracted, so that a row holding +inf gives
    NaN there and 0 elsewhere, as the unshifted form did (nnet.softmax gives all NaN)."""
    numerator = exp(sub(x, _finite_max(x, axis)))
    return true_div(numerator, reduce_sum(numerator, axis=axis, keepdims=True))


@RULES.rule((Elemwise, "true_divide"))
@_rewrite_float
def softmax_of_exp_ratio(node: Node) -> Var | None:
    """``exp(x) / sum(exp(x), axis, keepdims=True)`` -> ``softmax(x, axis)`` (max-shifted)."""
    numerator, denominator = node.inputs
    found = _exp_reduced(denominator)
    if found is None or found[0] is not numerator or not found[3]:
        return None
    return _softmax(_in_dtype_of(node, found[1]), found[2])


@RULES.rule((Elemwise, "log"))
@_rewrite_float
def log_of_softmax_ratio(node: Node) -> Var | None:
    """``log(softmax(x))`` -> ``log_softmax(x)`` (``x - max - log(sum(exp(x - max)))``)."""
    return log_of_softmax(node.inputs[0])


@RULES.rule((Elemwise, "log"))
@_rewrite_float
def log_of_indexed_probabilities(node: Node) -> Var | None:
    """``log(softmax(x)[index])`` -> ``log(softmax(x))[index]`` and ``log(sigmoid(x)[index])``
    -> ``log(sigmoid(x[index]))``: the logarithm reaches its stable form (the one-hot
    cross-entropy ``-log(p[arange(n), y])``). Indexing commutes with elementwise ops."""
    indexed = node.inputs[0].owner
    if indexed is None or not isinstance(indexed.op, Subtensor):
        return None
    probabilities, *index_inputs = indexed.inputs
    logits = _operand(probabilities, "sigmoid")
    if logits is not None:
        return log(sigmoid(indexed.op.make_node(logits, *index_inputs).outputs[0]))
    if log_of_softmax(probabilities) is None:
        return None
    return indexed.op.make_node(log(probabilities), *index_inputs).outputs[0]


# ========================== signs
# Exact sign cleanups, so that a cross-entropy of a sigmoid, once its logarithms are
# stable, reads as its fused form: -y*log(sigmoid(z)) - (1-y)*log(1-sigmoid(z)) becomes
# y*softplus(-z) + (1-y)*softplus(z). Float operands only: negating an unsigned or a
# narrower integer before the product wraps differently.
def _float_operands(node: Node) -> bool:
    return all(_is_real_float(v) for v in node.inputs)


@RULES.rule((Elemwise, "multiply"))
@_rewrite_float
def product_of_negations(node: Node) -> Var | None:
    """``(-a) * (-b)`` -> ``a * b``; ``a * (-b)`` and ``(-a) * b`` -> ``-(a * b)``."""
    left, right = node.inputs
    inner_left, inner_right = _operand(left, "negative"), _operand(right, "negative")
    if not _float_operands(node) or (inner_left is None and inner_right is None):
        return None
    if inner_left is not None and inner_right is not None:
        return mul(inner_left, inner_right)
    if inner_left is not None:
        return neg(mul(inner_left, right))
    return neg(mul(left, inner_right))


@RULES.rule((Elemwise, "subtract"))
@_rewrite_float
def subtract_negation(node: Node) -> Var | None:
    """``a - (-b)`` -> ``a + b``."""
    left, right = node.inputs
    inner = _operand(right, "negative")
    return None if inner is None or not _float_operands(node) else add(left, inner)


@RULES.rule((Elemwise, "add"))
@_rewrite_float
def sum_of_negations(node: Node) -> Var | None:
    """``(-a) + (-b)`` -> ``-(a + b)``."""
    left, right = node.inputs
    inner_left, inner_right = _operand(left, "negative"), _operand(right, "negative")
    if inner_left is None or inner_right is None or not _float_operands(node):
        return None
    return neg(add(inner_left, inner_right))


@RULES.rule((Elemwise, "negative"))
@_rewrite_float
def negation_of_negation(node: Node) -> Var | None:
    """``-(-a)`` -> ``a``."""
    return _operand(node.inputs[0], "negative")
