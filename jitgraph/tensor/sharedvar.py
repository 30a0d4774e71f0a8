"""Theano's module path for tensor shared variables (``theano.tensor.sharedvar``)."""

from jitgraph.compile.sharedvalue import SharedVariable, TensorSharedVariable, shared

tensor_constructor = shared

__all__ = ["SharedVariable", "TensorSharedVariable", "shared", "tensor_constructor"]
