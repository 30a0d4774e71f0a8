"""Automatic differentiation: grad, Lop, Rop, jacobian, hessian, verify_grad.

Reverse mode, symbolic: ``grad`` walks the graph from the cost back to the variables asked
for, in reverse topological order, and asks each node's op for the gradient terms of its
inputs (``Op.grad``, see jitgraph/ops/base.py). The result is an ordinary graph, so it is
optimized and compiled like any other, and can be differentiated again (hessians).

>>> import jitgraph
>>> import jitgraph.tensor as T
>>> x = T.dscalar("x")
>>> jitgraph.function([x], jitgraph.grad(x**2, x))(3.0)
array(6.)
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from jitgraph import dtypes
from jitgraph.config import config
from jitgraph.ir.graph import Graph, Node, Var, ancestors, graph_inputs, toposort
from jitgraph.ops.base import DISCONNECTED, Disconnected, GradTerm, NoGradientError, Op, Undefined

if TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    "DISCONNECTED",
    "Disconnected",
    "DisconnectedInputError",
    "GradientError",
    "GradientProtocolError",
    "Lop",
    "NoGradientError",
    "NullTypeGradError",
    "Rop",
    "Undefined",
    "consider_constant",
    "disconnected_grad",
    "grad",
    "grad_not_implemented",
    "grad_undefined",
    "hessian",
    "jacobian",
    "numeric_grad",
    "undefined_grad",
    "value_and_grad",
    "verify_grad",
    "zero_grad",
]


def _tensor() -> ModuleType:
    # jitgraph.tensor imports this module at its end (to export T.grad): import it lazily.
    import jitgraph.tensor

    return jitgraph.tensor


# ============================================================================ errors
class DisconnectedInputError(ValueError):
    """``grad`` was asked for the gradient with respect to a variable the cost does not
    depend on (pass ``disconnected_inputs='warn'`` or ``'ignore'`` to get zeros)."""


class NullTypeGradError(TypeError):
    """The gradient the user asked for is undefined (an op returned ``Undefined``)."""


class GradientProtocolError(TypeError):
    """An op's ``grad`` method broke the gradient protocol (wrong number, dtype or shape of
    terms): a bug in the op, not in the user's program."""


# ============================================================================ helpers for ops
def grad_undefined(op: Any, x_pos: int, x: Any, comment: str = "") -> Undefined:
    """The term of input ``x_pos`` whose gradient does not exist mathematically (Theano's
    helper); the driver raises only if the cost needs it.

    >>> grad_undefined("Elemwise{floor}", 0, "x").reason[:36]
    'the gradient of input 0 (x) of Elemw'
    """
    return Undefined(
        f"the gradient of input {x_pos} ({x}) of {op} is mathematically undefined"
        + (f": {comment}" if comment else "")
    )


def grad_not_implemented(op: Any, x_pos: int, x: Any, comment: str = "") -> Undefined:
    """The term of input ``x_pos`` whose gradient jitgraph does not implement (Theano's
    helper); the driver raises only if the cost needs it.

    >>> grad_not_implemented("Foo", 1, "y").reason
    'the gradient of input 1 (y) of Foo is not implemented'
    """
    return Undefined(
        f"the gradient of input {x_pos} ({x}) of {op} is not implemented"
        + (f": {comment}" if comment else "")
    )


# ============================================================================ gradient-stopping ops
_STOP_NAMES = {
    "zero": "ZeroGrad",
    "disconnected": "DisconnectedGrad",
    "constant": "ConsiderConstant",
    "undefined": "UndefinedGrad",
}


@dataclasses.dataclass(frozen=True)
class GradientStop(Op):
    """Identity forward; backward the gradient is zero (``zero``, ``constant``), absent
    (``disconnected``) or undefined (``undefined``)."""

    kind: str

    def __post_init__(self) -> None:
        if self.kind not in _STOP_NAMES:
            raise ValueError(f"GradientStop: kind must be one of {sorted(_STOP_NAMES)}")

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        if len(inputs) != 1:
            raise TypeError(f"{self} takes one input, got {len(inputs)}")
        x = as_tensor_variable(inputs[0])
        return self.make_apply([x], [x.type])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [inputs[0]]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        return [input_shapes[0]]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        (x,) = node.inputs
        if self.kind == "disconnected":
            return [DISCONNECTED]
        if self.kind == "undefined":
            return [grad_undefined(self, 0, x, "undefined_grad() was applied to it")]
        return [_float_zeros_like(x)]

    def __str__(self) -> str:
        return _STOP_NAMES[self.kind]


def zero_grad(x: Any) -> Var:
    """``x`` forward; its gradient is zero (the input stays connected).

    >>> import jitgraph, jitgraph.tensor as T
    >>> x = T.dscalar("x")
    >>> jitgraph.function([x], jitgraph.grad(x * zero_grad(x), x))(3.0)
    array(3.)
    """
    return GradientStop("zero")(x)


def disconnected_grad(x: Any) -> Var:
    """``x`` forward; backward the input counts as disconnected from the output.

    >>> import jitgraph, jitgraph.tensor as T
    >>> x = T.dscalar("x")
    >>> jitgraph.function([x], jitgraph.grad(x * disconnected_grad(x), x))(3.0)
    array(3.)
    """
    return GradientStop("disconnected")(x)


def consider_constant(x: Any) -> Var:
    """``x`` forward, treated as a constant by ``grad`` (Theano's ConsiderConstant).

    >>> import jitgraph, jitgraph.tensor as T
    >>> x = T.dscalar("x")
    >>> jitgraph.function([x], jitgraph.grad(x * consider_constant(x), x))(3.0)
    array(3.)
    """
    return GradientStop("constant")(x)


def undefined_grad(x: Any) -> Var:
    """``x`` forward; asking ``grad`` to differentiate through it is an error.

    >>> import jitgraph.tensor as T
    >>> str(undefined_grad(T.dscalar()).owner.op)
    'UndefinedGrad'
    """
    return GradientStop("undefined")(x)


# ============================================================================ small pieces
def _is_continuous(dtype: str) -> bool:
    return dtypes.is_float(dtype) or dtypes.is_complex(dtype)


def _float_zeros_like(x: Var) -> Var:
    """Zeros shaped like ``x``: of its dtype when continuous, else of floatX (a gradient
    is never integer, even with respect to an integer variable)."""
    dtype = x.type.dtype if _is_continuous(x.type.dtype) else config.floatX
    return _tensor().zeros_like(x, dtype=dtype)


def _float_ones_like(x: Var) -> Var:
    dtype = x.type.dtype if _is_continuous(x.type.dtype) else config.floatX
    return _tensor().ones_like(x, dtype=dtype)


def _cast_to(term: Var, dtype: str) -> Var:
    return term if term.type.dtype == dtype else _tensor().cast(term, dtype)


def _as_var_list(value: Any, what: str) -> tuple[list[Var], str]:
    """``value`` (a variable, list or tuple of variables) as a list, and its container kind
    ('single', 'list' or 'tuple') so that results can mirror it."""
    if isinstance(value, (set, frozenset)):
        raise TypeError(
            f"{what} must not be a set: sets have no order, so the results could not be "
            "returned in a matching order; use a list"
        )
    kind = "list" if isinstance(value, list) else "tuple" if isinstance(value, tuple) else "single"
    items = list(value) if kind != "single" else [value]
    for position, item in enumerate(items):
        if not isinstance(item, Var):
            label = f"{what}[{position}]" if kind != "single" else what
            raise TypeError(
                f"{label} must be a symbolic variable (or shared variable), got "
                f"{type(item).__name__} {item!r:.60}"
            )
    return items, kind


def _mirror(kind: str, results: list[Any]) -> Any:
    if kind == "list":
        return results
    if kind == "tuple":
        return tuple(results)
    return results[0]


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(
            f"invalid value for keyword {name!r}: {value!r}; valid values are {options}"
        )


# ============================================================================ grad
_NO_WRT: Any = object()


def grad(
    cost: Any,
    wrt: Any = _NO_WRT,
    consider_constant: Iterable[Var] | None = None,
    disconnected_inputs: str = "raise",
    add_names: bool = True,
    known_grads: Mapping[Var, Any] | None = None,
    return_disconnected: str = "zero",
    null_gradients: str = "raise",
    *,
    argnums: Any = None,
    has_aux: bool = False,
) -> Any:
    """The gradient of the scalar ``cost`` with respect to ``wrt`` (Theano's ``grad``).

    Given a Python function instead of a cost, ``grad(fn, argnums=0, has_aux=False)``
    returns the function computing ``fn``'s gradient (``jitgraph.jit.grad``; ``grad(fn,
    1)`` is ``argnums=1``).

    ``wrt`` is a variable, a shared variable, or a list/tuple of them; the result mirrors
    it. ``consider_constant``: variables through which no gradient flows. ``known_grads``:
    {variable: its gradient}, seeds used instead of (or with ``cost=None``, without) a cost.
    A ``wrt`` the cost does not depend on raises DisconnectedInputError
    (``disconnected_inputs='raise'``), warns (``'warn'``) or not (``'ignore'``); its result
    is then zeros (``return_disconnected='zero'``), ``None`` or ``DISCONNECTED``. Integer
    and boolean variables have zero gradients (of floatX). An undefined gradient raises
    NullTypeGradError (``null_gradients='raise'``) or is returned (``'return'``).

    The cost is differentiated in its numerically stable form: it is first rewritten by
    the optimizer's stabilize rules (``log(1 + exp(x))`` -> ``softplus(x)``, a hand-written
    sigmoid -> ``sigmoid``, ``log(sigmoid(x))`` -> ``-softplus(-x)``, ...; see
    jitgraph/passes/stabilize.py). The rewrite preserves values, so the gradient is the
    same function, but it stays finite where the unstable form overflows. ``wrt``,
    ``consider_constant`` and ``known_grads`` variables are kept as they are (the rules
    do not reach through them).

    >>> import jitgraph
    >>> import jitgraph.tensor as T
    >>> x, y = T.dscalars("x", "y")
    >>> gx, gy = grad((x + 2 * y) ** 2, [x, y])
    >>> jitgraph.function([x, y], [gx, gy])(1.0, 2.0)
    [array(10.), array(20.)]
    """
    if callable(cost) and not isinstance(cost, Var):
        from jitgraph.functional import grad as functional_grad

        if argnums is None:
            argnums = 0 if wrt is _NO_WRT else wrt
        return functional_grad(cost, argnums=argnums, has_aux=has_aux)
    if wrt is _NO_WRT:
        raise TypeError("grad() missing the argument 'wrt' (the variables to differentiate by)")
    options = _GradOptions(disconnected_inputs, return_disconnected, null_gradients, add_names)
    return _grad(cost, wrt, consider_constant, known_grads, options)


def value_and_grad(fn: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
    """The function returning ``(fn(*args), gradient)`` of the Python function ``fn``
    (``jitgraph.jit.value_and_grad``).

    >>> import jitgraph
    >>> jitgraph.value_and_grad(lambda x: x**2)(3.0)
    (array(9.), array(6.))
    """
    from jitgraph.functional import value_and_grad as functional_value_and_grad

    return functional_value_and_grad(fn, argnums=argnums, has_aux=has_aux)


@dataclasses.dataclass(frozen=True)
class _GradOptions:
    disconnected_inputs: str = "raise"
    return_disconnected: str = "zero"
    null_gradients: str = "raise"
    add_names: bool = True
    # Lop semantics: a seed adds to what flows into its variable from the other seeds
    # (grad's known_grads replace it: they are that variable's whole gradient).
    additive_seeds: bool = False

    def __post_init__(self) -> None:
        choices = ("raise", "warn", "ignore")
        _check_choice("disconnected_inputs", self.disconnected_inputs, choices)
        choices = ("zero", "None", "Disconnected")
        _check_choice("return_disconnected", self.return_disconnected, choices)
        _check_choice("null_gradients", self.null_gradients, ("raise", "return"))


def _grad(
    cost: Any,
    wrt: Any,
    consider_constant: Iterable[Var] | None,
    known_grads: Mapping[Var, Any] | None,
    options: _GradOptions,
) -> Any:
    wrt_list, kind = _as_var_list(wrt, "grad: wrt")
    seeds = _seed_gradients(cost, known_grads)  # checks the arguments first
    blockers = _constant_list(consider_constant)
    cost_name = cost.name if options.add_names and isinstance(cost, Var) else None
    stable = _stable_roots([var for var, _ in seeds.values()], [*wrt_list, *blockers])
    if stable is not None:
        cost = None if cost is None else stable[id(cost)]
        known_grads = {stable[id(var)]: value for var, value in (known_grads or {}).items()}
        seeds = _seed_gradients(cost, known_grads)
    walk = _Backprop(seeds, wrt_list, blockers, cost_name, options.additive_seeds)
    disconnected_inputs = options.disconnected_inputs
    null_gradients, return_disconnected = options.null_gradients, options.return_disconnected

    def disconnected(var: Var) -> None:
        _handle_disconnected(var, disconnected_inputs, stacklevel=5)

    for var in wrt_list:  # structurally disconnected: report before any op is asked
        if not walk.reaches_cost(var):
            disconnected(var)
    results = walk.run()
    final = []
    for var, total in zip(wrt_list, results, strict=True):
        if isinstance(total, Undefined) and null_gradients == "raise":
            raise NullTypeGradError(
                f"grad: the gradient with respect to {var.describe()} is undefined: {total.reason}"
            )
        if isinstance(total, Disconnected):
            if walk.reaches_cost(var):
                disconnected(var)
            total = _disconnected_result(var, return_disconnected)
        elif isinstance(total, Var) and _is_continuous(var.type.dtype):
            total = _cast_to(total, var.type.dtype)
        final.append(total)
    return _mirror(kind, final)


def _stable_roots(roots: list[Var], protected: list[Var]) -> dict[int, Var] | None:
    """{id(root): its stable form} after the stabilize rules (None: nothing changed).

    ``protected`` variables (wrt, consider_constant) and roots that other roots depend on
    (known_grads inside the cost) must keep their place in the graph: those that are
    intermediate values stand in as opaque inputs during the rewrite, so no rule reaches
    through them and every path from them to the roots stays. The canonicalize rules are
    not run: ``x - x`` -> zeros would disconnect x, which grad reports as an error.
    """
    from jitgraph.ir.rebuild import replace
    from jitgraph.passes.stabilize import stabilize

    protected_ids = {id(v) for v in protected}
    inner = {id(v) for v in ancestors([v for r in roots if r.owner for v in r.owner.inputs])}
    cut = [
        var
        for var in {id(v): v for v in [*protected, *roots]}.values()
        if var.owner is not None and (id(var) in inner or id(var) in protected_ids)
    ]
    stand_ins = {var: var.clone() for var in cut}
    opaque = replace(roots, stand_ins)
    graph = Graph(graph_inputs(opaque), opaque)
    stable = stabilize(graph)
    if stable is graph:
        return None
    restored = replace(list(stable.outputs), {new: old for old, new in stand_ins.items()})
    if len({id(v) for v in restored}) < len({id(v) for v in roots}):
        return None  # two seeds became one variable: keep them apart
    before, after = {id(v) for v in ancestors(roots)}, {id(v) for v in ancestors(restored)}
    if any(id(v) in before and id(v) not in after for v in protected):
        return None  # a rule dropped a wrt or consider_constant variable: keep the original
    return {id(old): new for old, new in zip(roots, restored, strict=True)}


def _handle_disconnected(var: Var, policy: str, stacklevel: int) -> None:
    message = (
        "grad method was asked to compute the gradient with respect to a variable that is "
        "not part of the computational graph of the cost, or is used only by a "
        f"non-differentiable operator: {var.describe()}"
    )
    if policy == "warn":
        warnings.warn(message, stacklevel=stacklevel)
    elif policy == "raise":
        hint = "pass disconnected_inputs='warn' or 'ignore' to grad to get a zero gradient instead"
        raise DisconnectedInputError(f"{message}\n  ({hint})")


def _disconnected_result(var: Var, return_disconnected: str) -> Any:
    if return_disconnected == "zero":
        return _float_zeros_like(var)
    if return_disconnected == "None":
        return None
    return DISCONNECTED


def _seed_gradients(
    cost: Any, known_grads: Mapping[Var, Any] | None
) -> dict[int, tuple[Var, GradTerm]]:
    """id(var) -> (var, its gradient): ones for the cost, then ``known_grads``."""
    seeds: dict[int, tuple[Var, GradTerm]] = {}
    if cost is None and not known_grads:
        raise TypeError("grad: cost is None and known_grads is empty: nothing to differentiate")
    if cost is not None:
        if not isinstance(cost, Var):
            raise TypeError(f"grad: cost must be a symbolic variable, got {type(cost).__name__}")
        if cost.type.ndim != 0:
            raise TypeError(
                f"grad: cost must be a scalar (0-d), got {cost.describe()} with ndim "
                f"{cost.type.ndim} ({cost.type}); reduce it first, e.g. cost.sum() or cost.mean()"
            )
        seeds[id(cost)] = (cost, _float_ones_like(cost))
    for var, value in (known_grads or {}).items():
        if not isinstance(var, Var):
            raise TypeError(f"grad: the keys of known_grads must be variables, got {var!r:.60}")
        seeds[id(var)] = (var, _known_gradient(var, value))
    return seeds


def _known_gradient(var: Var, value: Any) -> GradTerm:
    if isinstance(value, (Disconnected, Undefined)):
        return value
    if not isinstance(value, Var):
        raise TypeError(
            f"grad: known_grads[{var.describe()}] must be a symbolic variable, got "
            f"{type(value).__name__}"
        )
    if not _is_continuous(value.type.dtype):
        raise TypeError(
            f"grad: known_grads[{var.describe()}] must have a float dtype, got "
            f"{value.describe()} of dtype {value.type.dtype}"
        )
    if value.type.ndim != var.type.ndim:
        raise ValueError(
            f"grad: known_grads[{var.describe()}] must have ndim {var.type.ndim} like the "
            f"variable, got {value.describe()} with ndim {value.type.ndim}"
        )
    return value


def _constant_list(consider_constant: Iterable[Var] | None) -> list[Var]:
    if consider_constant is None:
        return []
    if isinstance(consider_constant, Var) or not isinstance(consider_constant, Iterable):
        raise TypeError(
            "grad: consider_constant must be a collection of variables, got "
            f"{type(consider_constant).__name__}"
        )
    items = list(consider_constant)
    for item in items:
        if not isinstance(item, Var):
            raise TypeError(
                f"grad: the elements of consider_constant must be variables, got {item!r:.60}"
            )
    return items


# ============================================================================ the walk
class _Backprop:
    """One reverse sweep from the seeds to the ``wrt`` variables.

    Only nodes on a path from a ``wrt`` variable to a seed are asked for gradients; the
    terms each variable receives from its consumers are summed once all of them are in
    (reverse topological order guarantees that before the variable's producer is visited).
    """

    def __init__(
        self,
        seeds: dict[int, tuple[Var, GradTerm]],
        wrt: list[Var],
        blockers: list[Var],
        cost_name: str | None,
        additive_seeds: bool = False,
    ) -> None:
        self.seeds = seeds
        self.additive_seeds = additive_seeds
        self.wrt = wrt
        self.blocked = {id(v) for v in blockers}
        self.cost_name = cost_name
        roots = [var for var, _ in seeds.values()]
        self.nodes = toposort(roots, blockers)
        self.depends = self._depending_on_wrt()
        self.in_cost_graph = {id(v) for v in roots} | {
            id(v) for node in self.nodes for v in (*node.inputs, *node.outputs)
        }
        self.terms: dict[int, list[GradTerm]] = {}
        self.totals: dict[int, GradTerm] = {}

    def _depending_on_wrt(self) -> set[int]:
        depends = {id(v) for v in self.wrt}
        for node in self.nodes:
            if any(id(v) in depends for v in node.inputs):
                depends.update(id(v) for v in node.outputs if id(v) not in self.blocked)
        return depends

    def reaches_cost(self, var: Var) -> bool:
        """Whether ``var`` is structurally part of the graph the seeds depend on."""
        return id(var) in self.in_cost_graph

    def run(self) -> list[GradTerm]:
        for node in reversed(self.nodes):
            if not any(id(v) in self.depends for v in node.inputs):
                continue
            output_grads = [self.total(out) for out in node.outputs]
            if all(isinstance(g, Disconnected) for g in output_grads):
                continue
            terms = _node_gradient_terms(node, output_grads)
            for var, term in zip(node.inputs, terms, strict=True):
                if id(var) in self.depends and (self.additive_seeds or id(var) not in self.seeds):
                    self.terms.setdefault(id(var), []).append(term)
        return [self.total(var) for var in self.wrt]

    def total(self, var: Var) -> GradTerm:
        """The gradient of the cost with respect to ``var`` (summed terms, cached)."""
        seed = self.seeds.get(id(var))
        if seed is not None and not self.additive_seeds:
            return seed[1]
        if id(var) in self.blocked and var not in self.wrt and seed is None:
            return DISCONNECTED
        if id(var) not in self.totals:
            terms = self.terms.get(id(var), [])
            self.totals[id(var)] = self._sum(var, terms if seed is None else [seed[1], *terms])
        return self.totals[id(var)]

    def _sum(self, var: Var, terms: list[GradTerm]) -> GradTerm:
        undefined = [t for t in terms if isinstance(t, Undefined)]
        if undefined:
            return undefined[0]
        variables = [t for t in terms if isinstance(t, Var)]
        if not variables:
            return DISCONNECTED
        total = variables[0]
        for term in variables[1:]:
            total = total + term  # type: ignore[operator]
        if self.cost_name and var.name and total.name is None and total.owner is not None:
            total.name = f"(d{self.cost_name}/d{var.name})"
        return total


def _node_gradient_terms(node: Node, output_grads: Sequence[GradTerm]) -> list[GradTerm]:
    """The checked gradient terms of ``node``'s inputs given its outputs' gradients
    (``DISCONNECTED`` where an output does not reach the cost)."""
    undefined = next((g for g in output_grads if isinstance(g, Undefined)), None)
    concrete = [_output_gradient(out, g) for out, g in zip(node.outputs, output_grads, strict=True)]
    # Theano: a gradient through integer-valued outputs only is zero (piecewise constant).
    only_discrete = all(
        not _is_continuous(out.type.dtype)
        for out, g in zip(node.outputs, output_grads, strict=True)
        if not isinstance(g, Disconnected)
    )
    try:
        raw = node.op.grad(node, concrete)
    except NoGradientError as err:
        if not only_discrete:
            raise _no_gradient_error(node, err) from err
        raw = [_float_zeros_like(v) for v in node.inputs]
    terms = _checked_terms(node, raw)
    if only_discrete:
        terms = [
            _float_zeros_like(v) if isinstance(t, Var) else t
            for v, t in zip(node.inputs, terms, strict=True)
        ]
    if undefined is not None:  # an undefined output gradient taints every connected input
        terms = [undefined if isinstance(t, Var) else t for t in terms]
    return terms


def _output_gradient(output: Var, gradient: GradTerm) -> Var:
    if not isinstance(gradient, Var):  # not reaching the cost, or undefined: zeros stand in
        return _float_zeros_like(output)
    if _is_continuous(output.type.dtype):
        return _cast_to(gradient, output.type.dtype)
    return gradient


def _no_gradient_error(node: Node, err: NoGradientError) -> NoGradientError:
    outputs = ", ".join(out.describe() for out in node.outputs)
    return NoGradientError(
        f"grad: the cost depends on {outputs}, and {node.op} has no gradient, so it cannot be "
        f"differentiated\n  ({err}; wrap the input in consider_constant() or "
        "disconnected_grad() if no gradient should flow through it)"
    )


def _checked_terms(node: Node, raw: Any) -> list[GradTerm]:
    if raw is None or not isinstance(raw, (list, tuple)):
        raise GradientProtocolError(
            f"{node.op}.grad returned {type(raw).__name__}, expected a list with one term per input"
        )
    if len(raw) != len(node.inputs):
        raise GradientProtocolError(
            f"{node.op}.grad returned {len(raw)} terms for {len(node.inputs)} inputs"
        )
    return [_checked_term(node, i, var, t) for i, (var, t) in enumerate(zip(node.inputs, raw))]


def _checked_term(node: Node, position: int, var: Var, term: Any) -> GradTerm:
    if isinstance(term, (Disconnected, Undefined)):
        return term
    if not isinstance(term, Var):
        raise GradientProtocolError(
            f"{node.op}.grad returned {type(term).__name__} for input {position}; expected a "
            "variable, DISCONNECTED or Undefined (never None)"
        )
    if not _is_continuous(var.type.dtype):
        return _float_zeros_like(var)  # Theano: integer and boolean inputs have zero gradients
    _check_term_type(node, position, var, term)
    return _cast_to(term, var.type.dtype)


def _check_term_type(node: Node, position: int, var: Var, term: Var) -> None:
    where = f"{node.op}.grad returned a term for input {position} ({var.describe()})"
    term_type, var_type = term.type, var.type
    if not _is_continuous(term_type.dtype):
        raise GradientProtocolError(f"{where} of dtype {term_type.dtype}; gradients are floats")
    if dtypes.is_complex(term_type.dtype) and not dtypes.is_complex(var_type.dtype):
        raise GradientProtocolError(f"{where} of complex dtype for a real input")
    if term_type.ndim != var_type.ndim:
        raise GradientProtocolError(
            f"{where} with {term_type.ndim} dimensions; the input has {var_type.ndim}"
        )
    for have, want in zip(term_type.shape, var_type.shape, strict=True):
        if have is not None and want is not None and have != want:
            raise GradientProtocolError(
                f"{where} of static shape {term_type.shape}; the input has {var_type.shape}"
            )


# Lop, Rop, jacobian and hessian live in gradient_products.py; verify_grad and its finite
# differences in gradient_check.py. Theano's paths are here: both are re-exported.
from jitgraph.gradient_check import GradientError, numeric_grad, verify_grad  # noqa: E402
from jitgraph.gradient_products import Lop, Rop, hessian, jacobian  # noqa: E402
