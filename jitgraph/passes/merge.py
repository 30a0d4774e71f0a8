"""The ``merge`` pass (CSE): equal constants become one variable.

Most of common-subexpression elimination and dead-code elimination is structural here:

- dead code never exists: a ``Graph`` holds only the nodes its outputs need;
- equal nodes are merged by hash-consing: ``Node.create`` returns the existing node for an
  equal op applied to the same input variables;
- small constants are interned by content (``make_constant``), so they are shared too.

What is left is constants that are not interned (larger than the interning cap, or named):
two equal ones are different variables, so the nodes reading them are different nodes.
``merge`` maps every constant to the first one of equal content (``Const.content_key``,
which covers dtype, static shape and bytes); rebuilding the graph then merges, by
hash-consing, every node that became equal.

>>> import numpy as np
>>> import jitgraph.tensor as T
>>> from jitgraph.ir.graph import Graph
>>> x = T.dvector("x")
>>> big_a, big_b = T.constant(np.ones(2000)), T.constant(np.ones(2000))
>>> big_a is big_b
False
>>> graph = Graph([x], [T.dot(x, big_a), T.dot(x, big_b)])
>>> len(graph.nodes), len(merge(graph).nodes)
(2, 1)
"""

from __future__ import annotations

from jitgraph.ir.graph import Const, Graph, Var
from jitgraph.ir.rebuild import replace


def merge(graph: Graph) -> Graph:
    """``graph`` with equal constants made one variable (and the nodes that then read the
    same inputs merged). Returns ``graph`` itself when nothing is merged.

    Constants that are graph inputs are left alone: they are places where the caller may
    feed a value, not values.
    """
    duplicates = duplicate_constants(graph)
    if not duplicates:
        return graph
    return Graph(graph.inputs, replace(graph.outputs, duplicates))


def duplicate_constants(graph: Graph) -> dict[Var, Var]:
    """Each constant of ``graph`` that equals an earlier one, mapped to that earlier one.

    >>> import numpy as np
    >>> import jitgraph.tensor as T
    >>> a, b = T.constant(np.zeros(2000)), T.constant(np.zeros(2000))
    >>> list(duplicate_constants(Graph([], [a + b])).values()) == [a]
    True
    """
    input_ids = {id(v) for v in graph.inputs}
    first: dict[bytes, Const] = {}
    duplicates: dict[Var, Var] = {}
    for var in graph.variables():
        if not isinstance(var, Const) or id(var) in input_ids:
            continue
        # The content key hashes the type (dtype and static shape) with the bytes.
        kept = first.setdefault(var.content_key(), var)
        if kept is not var and type(kept) is type(var):
            duplicates[var] = kept
    return duplicates
