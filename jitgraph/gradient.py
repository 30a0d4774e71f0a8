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
from jitgraph.ir.types import TensorType
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
def grad(
    cost: Any,
    wrt: Any,
    consider_constant: Iterable[Var] | None = None,
    disconnected_inputs: str = "raise",
    add_names: bool = True,
    known_grads: Mapping[Var, Any] | None = None,
    return_disconnected: str = "zero",
    null_gradients: str = "raise",
) -> Any:
    """The gradient of the scalar ``cost`` with respect to ``wrt`` (Theano's ``grad``).

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
    options = _GradOptions(disconnected_inputs, return_disconnected, null_gradients, add_names)
    return _grad(cost, wrt, consider_constant, known_grads, options)


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


# verify_grad and its finite differences live in gradient_check.py (Theano's path is here).
from jitgraph.gradient_check import GradientError, numeric_grad, verify_grad  # noqa: E402
