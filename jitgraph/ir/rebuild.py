"""Rebuilding graphs with some variables replaced (Theano's ``clone_replace``).

Nodes are immutable, so replacing a variable rebuilds every node downstream of it with
``op.make_node`` (types are re-inferred); untouched parts of the graph are shared.

>>> import jitgraph.tensor as T
>>> x, y = T.dscalars("x", "y")
>>> (new,) = replace([x * 2 + 1], {x: y})
>>> new is y * 2 + 1
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from jitgraph.ir.graph import Var, toposort


def inherit_origin(old: Var, new: Var) -> None:
    """Let ``new``, a rebuilt or rewritten form of ``old``, keep the user's line where
    ``old`` was created (run-time errors quote it) and its name if it has none."""
    if new is old or new.owner is None:
        return
    if old.created_at is not None:
        new.created_at = old.created_at
    if new.name is None:
        new.name = old.name


def replace(outputs: Sequence[Var], mapping: Mapping[Var, Var]) -> list[Var]:
    """``outputs`` with every variable in ``mapping`` replaced by its value."""
    if not mapping:
        return list(outputs)
    new: dict[int, Var] = {id(k): v for k, v in mapping.items()}
    for node in toposort(outputs, blockers=list(mapping)):
        inputs = [new.get(id(v), v) for v in node.inputs]
        if all(a is b for a, b in zip(inputs, node.inputs, strict=True)):
            continue
        rebuilt = node.op.make_node(*inputs)
        for old, fresh in zip(node.outputs, rebuilt.outputs, strict=True):
            if id(old) not in new:
                new[id(old)] = fresh
                inherit_origin(old, fresh)
    return [new.get(id(v), v) for v in outputs]


clone_replace = replace
