"""The rewrite machinery: rules indexed by op, applied in one walk to a fixpoint.

A ``Rule`` names the op it matches (an op class, or ``(Elemwise, "<scalar op name>")`` for
one entry of the elementwise table, or ``Op`` for every node) and a function from a node to
its replacement: a variable (single-output nodes), a list with one variable per output, or
``None`` when the rule does not apply. ``rewrite(graph, rules)`` visits every node once in
topological order, after its inputs have reached their final form; when a rule replaces a
node, the replacement's new nodes are visited the same way, so one walk ends at the fixpoint.

Rules are named by their effect (``mul_by_one``, ``log_of_exp``) and must preserve each
output's dtype, ndim and broadcastable dims (the walk checks).

>>> import jitgraph.tensor as T
>>> from jitgraph.ir.graph import Graph
>>> from jitgraph.ops.elemwise import Elemwise
>>> rules = RuleSet("demo")
>>> @rules.rule((Elemwise, "negative"))
... def neg_neg(node):
...     inner = node.inputs[0].owner
...     if inner is not None and inner.op == node.op:
...         return inner.inputs[0]
...     return None
>>> x = T.dvector("x")
>>> new, stats = rewrite(Graph([x], [-(-x)]), rules)
>>> new.outputs[0] is x, dict(stats.applied)
(True, {'neg_neg': 1})
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from jitgraph.ir.graph import Graph, Node, Var
from jitgraph.ir.rebuild import inherit_origin
from jitgraph.ops.base import Op

Replacement = Var | Sequence[Var] | None
RuleFn = Callable[[Node], Replacement]
RuleKey = type | tuple[type, str]


class RewriteError(RuntimeError):
    """A rule broke the rewrite contract (a jitgraph bug: please report it)."""


@dataclasses.dataclass(frozen=True)
class Rule:
    name: str
    key: RuleKey
    fn: RuleFn

    def __call__(self, node: Node) -> Replacement:
        return self.fn(node)


def node_key(node: Node) -> tuple[type, str | None]:
    """The (op class, elementwise entry name or None) a node is indexed under."""
    scalar_op = getattr(node.op, "scalar_op", None)
    return type(node.op), getattr(scalar_op, "name", None)


class RuleSet:
    """Rules indexed by the op they match; ``rules_for(node)`` is a dict lookup."""

    def __init__(self, name: str, rules: Iterable[Rule] = ()) -> None:
        self.name = name
        self.rules: list[Rule] = []
        self._by_key: dict[Any, list[Rule]] = {}
        for rule in rules:
            self.add(rule)

    def add(self, rule: Rule) -> Rule:
        if any(r.name == rule.name for r in self.rules):
            raise ValueError(f"rule set {self.name!r} already has a rule named {rule.name!r}")
        self.rules.append(rule)
        self._by_key.setdefault(rule.key, []).append(rule)
        return rule

    def rule(self, key: RuleKey, name: str | None = None) -> Callable[[RuleFn], RuleFn]:
        """Decorator: register ``fn`` as a rule matching ``key`` (named after ``fn``)."""

        def register(fn: RuleFn) -> RuleFn:
            self.add(Rule(name or fn.__name__, key, fn))
            return fn

        return register

    def rules_for(self, node: Node) -> list[Rule]:
        op_class, scalar_name = node_key(node)
        found: list[Rule] = []
        if scalar_name is not None:
            found += self._by_key.get((op_class, scalar_name), [])
        found += self._by_key.get(op_class, [])
        found += self._by_key.get(Op, [])
        return found

    def __add__(self, other: RuleSet) -> RuleSet:
        return RuleSet(f"{self.name}+{other.name}", [*self.rules, *other.rules])

    def __len__(self) -> int:
        return len(self.rules)

    def __repr__(self) -> str:
        return f"RuleSet({self.name!r}, {len(self.rules)} rules)"


@dataclasses.dataclass
class RewriteStats:
    applied: Counter[str] = dataclasses.field(default_factory=Counter)
    nodes_visited: int = 0


def rewrite(
    graph: Graph, rules: RuleSet, max_applications: int | None = None
) -> tuple[Graph, RewriteStats]:
    """``graph`` with ``rules`` applied until none matches (one walk; see the module doc)."""
    walk = _Walk(rules, max_applications or 100 * (len(graph.nodes) + 10))
    outputs = [walk.final(v) for v in graph.outputs]
    if all(a is b for a, b in zip(outputs, graph.outputs, strict=True)):
        return graph, walk.stats
    return Graph(graph.inputs, outputs), walk.stats


class _Walk:
    """One walk: ``final(var)`` is var's rewritten form; memoized, iterative (graphs may
    be deeper than the recursion limit)."""

    def __init__(self, rules: RuleSet, max_applications: int) -> None:
        self.rules = rules
        self.max_applications = max_applications
        self.memo: dict[int, Var] = {}
        # The memo is keyed by id(var): every variable it has seen is kept alive here, so
        # that no id is freed mid-walk and reused by a new variable (a stale hit).
        self.alive: list[Var] = []
        self.stats = RewriteStats()

    def final(self, root: Var) -> Var:
        # Stack items: ("visit", var) | ("node", node) | ("alias", old outputs, new outputs)
        stack: list[tuple[Any, ...]] = [("visit", root)]
        while stack:
            item = stack.pop()
            if item[0] == "alias":
                self._alias(item[1], item[2])
            elif item[0] == "node":
                self._finish_node(item[1], stack)
            else:
                var = item[1]
                if id(var) in self.memo:
                    continue
                if var.owner is None:
                    self._set(var, var)
                    continue
                stack.append(("node", var.owner))
                stack.extend(("visit", v) for v in var.owner.inputs if id(v) not in self.memo)
        return self.memo[id(root)]

    def _set(self, old: Var, new: Var) -> None:
        self.memo[id(old)] = new
        self.memo[id(new)] = new
        self.alive.append(old)
        inherit_origin(old, new)

    def _alias(self, old: Sequence[Var], new: Sequence[Var]) -> None:
        for o, n in zip(old, new, strict=True):
            self._set(o, self.memo[id(n)])

    def _finish_node(self, original: Node, stack: list[tuple[Any, ...]]) -> None:
        if id(original.outputs[0]) in self.memo:
            return  # reached twice before being finished
        inputs = [self.memo[id(v)] for v in original.inputs]
        node = original
        if any(a is not b for a, b in zip(inputs, original.inputs, strict=True)):
            try:
                node = original.op.make_node(*inputs)
            except (TypeError, ValueError, IndexError):
                # Rewritten inputs can expose an error the op checks at build time (a
                # folded index now known out of bounds): keep the node as the user built
                # it, so the error is raised when the function runs, with the user's line.
                node = original
        self.stats.nodes_visited += 1
        replacement = self._apply_rules(node)
        if replacement is None:
            for old, new in zip(original.outputs, node.outputs, strict=True):
                self._set(old, new)
            return
        # The replacement may hold new nodes: finish them, then point the outputs at them.
        stack.append(("alias", list(original.outputs), replacement))
        if node is not original:
            stack.append(("alias", list(node.outputs), replacement))
        stack.extend(("visit", v) for v in replacement if id(v) not in self.memo)

    def _apply_rules(self, node: Node) -> list[Var] | None:
        for rule in self.rules.rules_for(node):
            result = rule(node)
            if result is None:
                continue
            replacement = [result] if isinstance(result, Var) else list(result)
            if all(a is b for a, b in zip(replacement, node.outputs, strict=True)):
                continue
            _check_replacement(rule, node, replacement)
            if self._uses_outputs(replacement, node):
                raise RewriteError(
                    f"rule {rule.name!r} replaced {node.op} by an expression of its own output"
                )
            self.stats.applied[rule.name] += 1
            if sum(self.stats.applied.values()) > self.max_applications:
                raise RewriteError(
                    f"rewriting did not reach a fixpoint after {self.max_applications} rule "
                    f"applications (most applied: {self.stats.applied.most_common(3)}); "
                    "two rules probably undo each other"
                )
            return replacement
        return None

    def _uses_outputs(self, replacement: Sequence[Var], node: Node) -> bool:
        """Whether the new part of ``replacement`` (not yet final) reads ``node``'s outputs."""
        targets = {id(v) for v in node.outputs}
        stack = [v for v in replacement if id(v) not in self.memo]
        seen: set[int] = set()
        while stack:
            var = stack.pop()
            if id(var) in targets:
                return True
            if id(var) in seen or var.owner is None:
                continue
            seen.add(id(var))
            stack.extend(v for v in var.owner.inputs if id(v) not in self.memo or id(v) in targets)
        return False


def _check_replacement(rule: Rule, node: Node, replacement: Sequence[Var]) -> None:
    if len(replacement) != len(node.outputs):
        raise RewriteError(
            f"rule {rule.name!r} gave {len(replacement)} replacement(s) for {node.op}, which "
            f"has {len(node.outputs)} output(s)"
        )
    for old, new in zip(node.outputs, replacement, strict=True):
        ot, nt = old.type, new.type
        if ot.dtype != nt.dtype or ot.broadcastable != nt.broadcastable:
            raise RewriteError(
                f"rule {rule.name!r} replaced an output of {node.op} of type {ot} by one of "
                f"type {nt} (dtype, ndim and broadcastable dims must be kept)"
            )
