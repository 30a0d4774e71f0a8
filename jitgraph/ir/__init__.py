"""The SSA intermediate representation: types, variables, nodes, graphs."""

from jitgraph.ir.graph import (
    Apply,
    Const,
    Graph,
    MissingInputError,
    Node,
    Var,
    ancestors,
    graph_inputs,
    structural_hash,
    toposort,
)
from jitgraph.ir.rebuild import clone_replace, replace
from jitgraph.ir.types import TensorType, Type
from jitgraph.ir.verify import VerifyError, verify

__all__ = [
    "Apply",
    "Const",
    "Graph",
    "MissingInputError",
    "Node",
    "TensorType",
    "Type",
    "Var",
    "VerifyError",
    "ancestors",
    "clone_replace",
    "graph_inputs",
    "replace",
    "structural_hash",
    "toposort",
    "verify",
]
