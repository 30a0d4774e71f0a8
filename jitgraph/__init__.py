"""jitgraph: a Python array compiler with Theano's API.

>>> import jitgraph
>>> import jitgraph.tensor as T
>>> a, b = T.dscalars("a", "b")
>>> f = jitgraph.function([a, b], a + b)
>>> f(1.5, 2.5)
array(4.)
"""

import sys as _sys

from jitgraph import compile, gradient, ifelse, printing, sandbox, scan_module, tensor
from jitgraph.compile import In, Mode, Out, Param, function, shared
from jitgraph.compile.function import Function
from jitgraph.compile.sharedvalue import SharedVariable
from jitgraph.config import config
from jitgraph.gradient import grad, value_and_grad
from jitgraph.ir.graph import Apply, Const, Graph, MissingInputError, Node, Var
from jitgraph.ir.rebuild import clone_replace
from jitgraph.jit import jit
from jitgraph.printing import pp
from jitgraph.scan import foldl, foldr, map, reduce, scan

# Theano's path to RandomStreams, T.shared_randomstreams (it builds on jitgraph.compile).
from jitgraph.tensor import shared_randomstreams  # noqa: F401  isort: skip

__version__ = "0.1.0"

# Theano's package bound its own name, so programs written as `from theano import *`
# then `theano.function(...)` worked; binding `jitgraph` (and `theano`, for programs
# run unchanged through an import alias) keeps that idiom working.
jitgraph = _sys.modules[__name__]
theano = jitgraph
Variable = Var

__all__ = [
    "Apply",
    "Const",
    "Graph",
    "MissingInputError",
    "Node",
    "Var",
    "Function",
    "In",
    "Mode",
    "Out",
    "Param",
    "SharedVariable",
    "Variable",
    "clone_replace",
    "compile",
    "config",
    "function",
    "grad",
    "jit",
    "ifelse",
    "gradient",
    "jitgraph",
    "pp",
    "printing",
    "foldl",
    "foldr",
    "map",
    "reduce",
    "scan",
    "sandbox",
    "scan_module",
    "shared",
    "tensor",
    "theano",
    "value_and_grad",
]
