"""Products with the Jacobian and whole derivative matrices: ``Lop`` (vector-Jacobian),
``Rop`` (Jacobian-vector), ``jacobian`` and ``hessian`` (Theano's ``theano.gradient`` names;
re-exported from jitgraph.gradient).

All are built on ``grad``: ``Rop`` by transposing the linear map ``u -> Lop(f, wrt, u)``
(one graph, no per-op forward rules), ``jacobian`` by vectorizing that Lop over the rows of
an identity matrix (ir/vectorize.py): one graph whatever the output's length.

>>> import jitgraph, jitgraph.tensor as T
>>> x = T.dvector("x")
>>> jitgraph.function([x], jacobian(x ** 2, x))([1.0, 2.0])
array([[2., 0.],
       [0., 4.]])
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from jitgraph.config import config
from jitgraph.gradient import (
    DisconnectedInputError,
    GradientProtocolError,
    _as_var_list,
    _cast_to,
    _check_choice,
    _disconnected_result,
    _float_zeros_like,
    _grad,
    _GradOptions,
    _is_continuous,
    _mirror,
    _tensor,
    grad,
)
from jitgraph.ir.graph import Var, ancestors, graph_inputs, toposort
from jitgraph.ir.types import TensorType

__all__ = ["Lop", "Rop", "hessian", "jacobian"]


# ============================================================================ Lop and Rop
def Lop(  # noqa: N802 - Theano's name
    f: Any,
    wrt: Any,
    eval_points: Any,
    consider_constant: Iterable[Var] | None = None,
    disconnected_inputs: str = "raise",
) -> Any:
    """The vector-Jacobian product ``eval_points @ J`` (of ``f`` with respect to ``wrt``):
    the gradient of ``sum(f * eval_points)``. ``f`` and ``eval_points`` may be lists (one
    point per output); the result mirrors ``wrt``.

    >>> import jitgraph
    >>> import jitgraph.tensor as T
    >>> x, v = T.dvectors("x", "v")
    >>> jitgraph.function([x, v], Lop(x**2, x, v))([1.0, 2.0], [1.0, 1.0])
    array([2., 4.])
    """
    outputs, _ = _as_var_list(f, "Lop: f")
    points = list(eval_points) if isinstance(eval_points, (list, tuple)) else [eval_points]
    if len(points) != len(outputs):
        raise ValueError(
            f"Lop: f has {len(outputs)} outputs but eval_points has {len(points)} entries"
        )
    known: dict[Var, Var] = {}
    for position, (out, point) in enumerate(zip(outputs, points, strict=True)):
        value = _eval_point(out, point, f"Lop: eval_points[{position}]")
        known[out] = known[out] + value if out in known else value  # type: ignore[operator]
    options = _GradOptions(disconnected_inputs, additive_seeds=True)
    return _grad(None, wrt, consider_constant, known, options)


def _eval_point(like: Var, point: Any, what: str) -> Var:
    """``point`` as a float variable of ``like``'s ndim (and dtype, when ``like`` is float)."""
    value = _tensor().as_tensor_variable(point)
    if value.type.ndim != like.type.ndim:
        raise ValueError(
            f"{what} must have ndim {like.type.ndim} like {like.describe()}, got "
            f"{value.describe()} with ndim {value.type.ndim}"
        )
    dtype = like.type.dtype if _is_continuous(like.type.dtype) else config.floatX
    return _cast_to(value, dtype)


def Rop(  # noqa: N802 - Theano's name
    f: Any,
    wrt: Any,
    eval_points: Any,
    disconnected_outputs: str = "raise",
    return_disconnected: str = "zero",
) -> Any:
    """The Jacobian-vector product ``J @ eval_points`` (of ``f`` with respect to ``wrt``),
    forward mode. ``wrt`` and ``eval_points`` may be lists (one point per variable); the
    result mirrors ``f``. An output that does not depend on ``wrt`` raises
    DisconnectedInputError (``disconnected_outputs='raise'``), warns or not; its result is
    then zeros, ``None`` or ``DISCONNECTED`` (``return_disconnected``).

    Built by transposing reverse mode, so no op needs a forward rule: with ``u`` a fresh
    variable shaped like ``f``, ``g(u) = Lop(f, wrt, u)`` is linear in ``u``, and
    ``Rop(f, wrt, v) = Lop(g, u, v)``; linearity makes ``u`` vanish from the result.

    >>> import jitgraph
    >>> import jitgraph.tensor as T
    >>> x, v = T.dvectors("x", "v")
    >>> jitgraph.function([x, v], Rop(x**2, x, v))([1.0, 2.0], [1.0, 1.0])
    array([2., 4.])
    """
    _check_choice("disconnected_outputs", disconnected_outputs, ("raise", "warn", "ignore"))
    _check_choice("return_disconnected", return_disconnected, ("zero", "None", "Disconnected"))
    outputs, kind = _as_var_list(f, "Rop: f")
    wrt_list, _ = _as_var_list(wrt, "Rop: wrt")
    points = list(eval_points) if isinstance(eval_points, (list, tuple)) else [eval_points]
    if len(points) != len(wrt_list):
        raise ValueError(f"Rop: wrt has {len(wrt_list)} entries but eval_points has {len(points)}")
    values = [
        _eval_point(var, point, f"Rop: eval_points[{i}]")
        for i, (var, point) in enumerate(zip(wrt_list, points, strict=True))
    ]
    wanted = {id(v) for v in wrt_list}
    connected = {id(o): o for o in outputs if any(id(v) in wanted for v in ancestors([o]))}
    products = _transposed_lop(list(connected.values()), wrt_list, values)
    results = []
    for out in outputs:
        if id(out) in connected:
            results.append(products[id(out)])
            continue
        _handle_disconnected_output(out, disconnected_outputs)
        results.append(_disconnected_result(out, return_disconnected))
    return _mirror(kind, results)


def _handle_disconnected_output(out: Var, policy: str) -> None:
    message = (
        "Rop method was asked to compute the gradient with respect to a variable that is "
        "not part of the computational graph of variables in wrt, or is used only by a "
        f"non-differentiable operator: {out.describe()}"
    )
    if policy == "warn":
        warnings.warn(message, stacklevel=3)
    elif policy == "raise":
        hint = "pass disconnected_outputs='warn' or 'ignore' to Rop to get zeros instead"
        raise DisconnectedInputError(f"{message}\n  ({hint})")


def _transposed_lop(outputs: list[Var], wrt: list[Var], values: list[Var]) -> dict[int, Var]:
    """id(output) -> ``J @ values``, built as ``Lop(Lop(outputs, wrt, u), u, values)``
    (``outputs`` distinct)."""
    if not outputs:
        return {}
    seeds = [
        TensorType(_float_dtype(out), out.type.shape)(f"rop_seed_{i}")
        for i, out in enumerate(outputs)
    ]
    options = _GradOptions("ignore", "Disconnected", additive_seeds=True)
    pulled = _grad(None, wrt, None, dict(zip(outputs, seeds, strict=True)), options)
    known: dict[Var, Var] = {}
    for g, value in zip(pulled, values, strict=True):
        if isinstance(g, Var):
            value = _cast_to(value, g.type.dtype)
            known[g] = known[g] + value if g in known else value  # type: ignore[operator]
    if not known:
        pushed = [_float_zeros_like(out) for out in outputs]
    else:
        options = _GradOptions("ignore", additive_seeds=True)
        pushed = _grad(None, seeds, None, known, options)
        stand_ins = {seed: _cast_to(out, seed.type.dtype) for seed, out in zip(seeds, outputs)}
        pushed = _detach_shape_uses(pushed, stand_ins)
        _check_seeds_gone(pushed, seeds)
    return {id(out): result for out, result in zip(outputs, pushed, strict=True)}


def _float_dtype(var: Var) -> str:
    return var.type.dtype if _is_continuous(var.type.dtype) else config.floatX


def _detach_shape_uses(outputs: list[Var], stand_ins: Mapping[Var, Var]) -> list[Var]:
    """``outputs`` with every ``Shape`` of a value computed from a seed recomputed from the
    seed's stand-in (a variable of the same shape): gradient graphs read the shapes of
    output gradients (to allocate or sum to them), which is no dependence on their values.

    >>> import jitgraph.tensor as T
    >>> u, f = T.dvector("u"), T.dvector("f")
    >>> (out,) = _detach_shape_uses([T.zeros_like(u * 2)], {u: f})
    >>> any(v is u for v in graph_inputs([out]))
    False
    """
    from jitgraph.ir.rebuild import replace
    from jitgraph.ops.shape import Shape

    dependent = {id(seed) for seed in stand_ins}
    mapping: dict[Var, Var] = {}
    for node in toposort(outputs):
        if isinstance(node.op, Shape):
            if id(node.inputs[0]) in dependent:
                (free,) = replace([node.inputs[0]], stand_ins)
                mapping[node.outputs[0]] = Shape()(free)
            continue
        if any(id(v) in dependent for v in node.inputs):
            dependent.update(id(v) for v in node.outputs)
    return replace(outputs, mapping)


def _check_seeds_gone(results: list[Var], seeds: list[Var]) -> None:
    """Linearity of every op's gradient in its output gradient removes the seeds' values;
    a seed left in the graph means some op's grad is not linear in it (a bug in that op)."""
    seed_ids = {id(s) for s in seeds}
    if not any(id(v) in seed_ids for v in graph_inputs(results)):
        return
    users = sorted(
        {str(node.op) for node in toposort(results) if any(id(v) in seed_ids for v in node.inputs)}
    )
    raise GradientProtocolError(
        "Rop: internal error: the result still depends on the transposition seed, so the "
        f"gradient of one of these ops is not linear in its output gradient: {', '.join(users)}"
    )


# ============================================================================ jacobian, hessian
def jacobian(
    expression: Any,
    wrt: Any,
    consider_constant: Iterable[Var] | None = None,
    disconnected_inputs: str = "raise",
) -> Any:
    """The Jacobian of ``expression`` with respect to ``wrt``: shape
    ``expression.shape + wrt.shape``, built as ONE vectorized graph (all rows at once).
    ``wrt`` may be a list (then a list of Jacobians).

    >>> import jitgraph
    >>> import jitgraph.tensor as T
    >>> x = T.dvector("x")
    >>> jitgraph.function([x], jacobian(x**2, x))([1.0, 2.0])
    array([[2., 0.],
           [0., 4.]])
    """
    expression = _tensor().as_tensor_variable(expression)
    wrt_list, kind = _as_var_list(wrt, "jacobian: wrt")
    if expression.type.ndim == 0:
        options = dict(consider_constant=consider_constant, disconnected_inputs=disconnected_inputs)
        return _mirror(kind, grad(expression, wrt_list, **options))  # type: ignore[arg-type]
    flat = expression if expression.type.ndim == 1 else _tensor().flatten(expression)
    seed = TensorType(_float_dtype(flat), flat.type.shape)("jacobian_seed")
    rows = Lop(flat, wrt_list, seed, consider_constant, disconnected_inputs)
    results = [
        _all_rows(row, seed, flat, var, expression) for row, var in zip(rows, wrt_list, strict=True)
    ]
    return _mirror(kind, results)


def _all_rows(row: Var, seed: Var, flat: Var, var: Var, expression: Var) -> Var:
    """Stack ``row(seed)`` for seed = each basis vector: vectorize the graph over eye(m)."""
    T = _tensor()
    from jitgraph.ops.shape import shape_scalars

    size = shape_scalars(flat)[0]
    (row,) = _detach_shape_uses([row], {seed: _cast_to(flat, seed.type.dtype)})
    if any(v is seed for v in graph_inputs([row])):
        from jitgraph.ir.vectorize import vectorize_graph

        basis = T.eye(size, dtype=seed.type.dtype)
        (stacked,) = vectorize_graph([row], {seed: basis})
    else:  # the row does not depend on the seed: it is zero (gradients are linear in it)
        stacked = T.zeros([size, *shape_scalars(var)], dtype=row.type.dtype)
    if expression.type.ndim == 1:
        return stacked
    return T.reshape(stacked, [*shape_scalars(expression), *shape_scalars(var)])


def hessian(
    cost: Any,
    wrt: Any,
    consider_constant: Iterable[Var] | None = None,
    disconnected_inputs: str = "raise",
) -> Any:
    """The Hessian of the scalar ``cost`` with respect to ``wrt`` (shape
    ``wrt.shape + wrt.shape``): the Jacobian of its gradient, one vectorized graph.
    ``wrt`` may be a list (then a list of Hessians, one per variable).

    >>> import jitgraph
    >>> import jitgraph.tensor as T
    >>> x = T.dvector("x")
    >>> jitgraph.function([x], hessian((x**3).sum(), x))([1.0, 2.0])
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    cost = _tensor().as_tensor_variable(cost)
    if cost.type.ndim != 0:
        raise TypeError(
            f"hessian: cost must be a scalar (0-d), got {cost.describe()} "
            f"with ndim {cost.type.ndim}"
        )
    wrt_list, kind = _as_var_list(wrt, "hessian: wrt")
    results = []
    for var in wrt_list:
        gradient = grad(cost, var, consider_constant, disconnected_inputs)
        # The gradient may not depend on var even where the cost does (a linear cost).
        results.append(jacobian(gradient, var, consider_constant, disconnected_inputs="ignore"))
    return _mirror(kind, results)
