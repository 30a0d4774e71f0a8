"""Compiling graphs into callables: ``function``, ``shared``, ``In``/``Param``/``Out``, modes."""

from jitgraph.compile import io, mode, sharedvalue
from jitgraph.compile.function import Function, UnusedInputError, function
from jitgraph.compile.io import In, Out, Param
from jitgraph.compile.mode import FAST_COMPILE, FAST_RUN, REFERENCE, Mode, get_mode
from jitgraph.compile.sharedvalue import SharedVariable, TensorSharedVariable, shared

__all__ = [
    "FAST_COMPILE",
    "FAST_RUN",
    "REFERENCE",
    "Function",
    "In",
    "Mode",
    "Out",
    "Param",
    "SharedVariable",
    "TensorSharedVariable",
    "UnusedInputError",
    "function",
    "get_mode",
    "io",
    "mode",
    "shared",
    "sharedvalue",
]
