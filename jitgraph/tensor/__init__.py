"""The Theano-compatible tensor front end: ``import jitgraph.tensor as T``.

Constructors (``T.dmatrix``, ``T.ivector('i')``, ``T.matrices('a', 'b')``), operators on
variables, and the functions of ``theano.tensor``. Each submodule owns one area and
lists its public names in ``__all__``.

>>> import jitgraph
>>> import jitgraph.tensor as T
>>> x = T.dscalar("x")
>>> jitgraph.function([x], x * 2)(3.0)
array(6.)
"""

from typing import Any

from jitgraph import dtypes as _dtypes
from jitgraph.ir.types import TensorType
from jitgraph.tensor import basic as _basic
from jitgraph.tensor import linalg as _linalg
from jitgraph.tensor import math as _math
from jitgraph.tensor import nnet
from jitgraph.tensor import reduction as _reduction
from jitgraph.tensor import shape as _shape
from jitgraph.tensor import subtensor as _subtensor
from jitgraph.tensor import var as _var_module
from jitgraph.tensor.basic import *  # noqa: F403
from jitgraph.tensor.linalg import *  # noqa: F403
from jitgraph.tensor.math import *  # noqa: F403
from jitgraph.tensor.reduction import *  # noqa: F403
from jitgraph.tensor.shape import *  # noqa: F403
from jitgraph.tensor.subtensor import *  # noqa: F403
from jitgraph.tensor.var import TensorConstant, TensorVariable


class _VarFunctionAndModule:
    """``T.var`` is Theano's variance function, and ``jitgraph.tensor.var`` is also the
    module holding TensorVariable (``T.var.TensorVariable`` is a documented path). Calling
    this object computes the variance; its attributes are the module's."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _reduction.var(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(_var_module, name)

    def __repr__(self) -> str:
        return "<jitgraph.tensor.var: the variance function and the TensorVariable module>"


var = _VarFunctionAndModule()

# Theano re-exported its scalar types here (``T.vector('x', dtype=int32)`` after
# ``from theano.tensor import *``): each is the 0-d type of that dtype.
for _name in _dtypes.ALL:
    if _name != "bool":
        globals()[_name] = TensorType(_name, ())

__all__ = [
    "TensorConstant",
    "TensorType",
    "TensorVariable",
    "nnet",
    *_basic.__all__,
    *_linalg.__all__,
    *_math.__all__,
    *_reduction.__all__,
    *_shape.__all__,
    *_subtensor.__all__,
    *(n for n in _dtypes.ALL if n != "bool"),
]

# Last: jitgraph.gradient builds its graphs with the functions above (imported lazily).
from jitgraph.gradient import Lop, Rop, grad, hessian, jacobian  # noqa: E402

__all__ += ["Lop", "Rop", "grad", "hessian", "jacobian"]
