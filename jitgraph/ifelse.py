"""Theano's ``ifelse``: a conditional that computes only the branch it takes.

``ifelse(condition, then_branch, else_branch)`` is ``then_branch`` when the scalar
``condition`` is nonzero (true), else ``else_branch``. Unlike ``T.switch`` (elementwise,
both sides computed), only the taken branch runs, so the other costs nothing and an error
it would raise (an index out of range, a failing shape check) does not happen.

The op is ``jitgraph.ops.ifelse.IfElse``: this module turns the user's values into its two
branch graphs (each branch is the graph from the variables it needs, the roots: inputs and
shared variables, replaced by placeholders; the node's inputs are the condition and those
roots).

>>> import jitgraph, numpy as np
>>> import jitgraph.tensor as T
>>> a, b = T.dscalars("a", "b")
>>> x, y = T.dmatrices("x", "y")
>>> z_lazy = ifelse(T.lt(a, b), T.mean(x), T.mean(y))  # only one mean is computed
>>> z_switch = T.switch(T.lt(a, b), T.mean(x), T.mean(y))  # both are
>>> f = jitgraph.function([a, b, x, y], [z_lazy, z_switch])
>>> f(1.0, 2.0, np.ones((2, 2)), np.zeros((2, 2)))
[array(1.), array(1.)]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jitgraph.ir.graph import Const, Var, graph_inputs
from jitgraph.ir.rebuild import replace
from jitgraph.ir.types import TensorType
from jitgraph.ops.ifelse import IfElse, build_ifelse, check_branch_types
from jitgraph.ops.shape import DimShuffle
from jitgraph.tensor.basic import as_tensor_variable, constant

__all__ = ["IfElse", "ifelse"]


def ifelse(condition: Any, then_branch: Any, else_branch: Any, name: str | None = None) -> Any:
    """``then_branch`` if ``condition`` is true (nonzero), else ``else_branch``; only the
    taken branch is computed when the function runs.

    ``condition``: a scalar (0-d, or of size 1) tensor of any numeric or boolean dtype.
    ``then_branch``/``else_branch``: a variable, or lists (tuples) of as many variables;
    numbers and arrays become constants (a number meeting a variable takes its dtype where
    the value is unchanged by that). Each pair must have the same dtype and number of
    dimensions; the result's static shape keeps the dims both agree on. ``name`` labels
    the op in printouts. Returns a variable, or a list (tuple) mirroring ``then_branch``.

    >>> import jitgraph, jitgraph.tensor as T
    >>> c, x = T.iscalar("c"), T.dvector("x")
    >>> big, small = ifelse(c, [x * 2, x.sum()], [x, x.max()])
    >>> jitgraph.function([c, x], [big, small])(0, [1.0, 3.0])
    [array([1., 3.]), array(3.)]
    """
    kind = type(then_branch) if isinstance(then_branch, (list, tuple)) else None
    then_items = list(then_branch) if isinstance(then_branch, (list, tuple)) else [then_branch]
    else_items = list(else_branch) if isinstance(else_branch, (list, tuple)) else [else_branch]
    if not then_items and not else_items:
        raise ValueError("ifelse: the branches are empty; give at least one value per branch")
    if len(then_items) != len(else_items):
        raise ValueError(
            f"ifelse: the then branch gives {len(then_items)} value(s) and the else branch "
            f"{len(else_items)}; both branches must give the same number of values"
        )
    pairs = [_as_pair(a, b) for a, b in zip(then_items, else_items, strict=True)]
    thens, elses = [a for a, _ in pairs], [b for _, b in pairs]
    check_branch_types([v.type for v in thens], [v.type for v in elses])
    outputs = _build(as_condition(condition), thens, elses, name)
    if kind is None:
        return outputs[0]
    return tuple(outputs) if issubclass(kind, tuple) else outputs


def as_condition(condition: Any) -> Var:
    """``condition`` as a 0-d tensor: a size-1 tensor (static shape of ones) is
    reshaped; anything else non-scalar is a TypeError naming what came."""
    try:
        cond = as_tensor_variable(condition)
    except TypeError as exc:
        raise TypeError(f"ifelse: the condition must be a scalar tensor: {exc}") from exc
    shape = cond.type.shape
    if shape and all(size == 1 for size in shape):
        return DimShuffle(len(shape), ())(cond)
    if shape:
        raise TypeError(
            f"ifelse: the condition must be a scalar (0-d, or of size 1) with 0 meaning "
            f"False, got {cond.describe()} of type {cond.type}; reduce it first, e.g. "
            "T.any(condition) or T.all(condition)"
        )
    return cond


def _as_pair(then_value: Any, else_value: Any) -> tuple[Var, Var]:
    """The two values of one output as tensors: a number or array facing a variable is
    made a constant of the variable's dtype when that does not change it."""
    if isinstance(then_value, Var) and not isinstance(else_value, Var):
        return then_value, _constant_like(else_value, then_value.type)
    if isinstance(else_value, Var) and not isinstance(then_value, Var):
        return _constant_like(then_value, else_value.type), else_value
    return as_tensor_variable(then_value), as_tensor_variable(else_value)


def _constant_like(value: Any, like: TensorType) -> Var:
    default = as_tensor_variable(value)
    if not isinstance(default, Const) or default.type.dtype == like.dtype:
        return default
    with np.errstate(all="ignore"):
        converted = default.data.astype(like.dtype)
    if default.data.ndim != like.ndim or not np.array_equal(converted, default.data):
        return default  # the type check then reports the mismatch
    return constant(converted)


def _build(condition: Var, thens: list[Var], elses: list[Var], name: str | None) -> list[Var]:
    """The IfElse outputs: the roots the branches need (not constants) become the node's
    values, and placeholders of their types stand for them inside both branch graphs."""
    roots = [v for v in graph_inputs([*thens, *elses]) if not isinstance(v, Const)]
    placeholders = [_placeholder(v) for v in roots]
    inner = replace([*thens, *elses], dict(zip(roots, placeholders, strict=True)))
    branches = (placeholders, inner[: len(thens)]), (placeholders, inner[len(thens) :])
    return build_ifelse(condition, roots, branches[0], branches[1], name)


def _placeholder(root: Var) -> Var:
    """A plain input standing for ``root`` inside a branch (errors quote root's line)."""
    placeholder = TensorType(root.type.dtype, root.type.shape).make_variable(root.name)
    placeholder.created_at = root.created_at
    return placeholder
