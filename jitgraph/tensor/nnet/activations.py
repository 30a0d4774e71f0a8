"""Activation functions of ``theano.tensor.nnet``, as compositions of table primitives.

``sigmoid`` and ``softplus`` are primitives of the scalar op table (so the backends lower
them directly); everything else here is built from primitives, so it needs no lowering
of its own. Constants are made in the input's float dtype, so float32 stays float32.

>>> import jitgraph.tensor as T
>>> from jitgraph.tensor import nnet
>>> nnet.hard_sigmoid(T.fvector("x")).dtype, nnet.softmax(T.dmatrix("m")).ndim
('float32', 2)
"""

from __future__ import annotations

from typing import Any

from jitgraph import dtypes
from jitgraph.ir.graph import Const, Node, Var
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.reduce import Reduce
from jitgraph.tensor.basic import as_tensor_variable, constant
from jitgraph.tensor.math import (  # type: ignore[attr-defined]
    abs_,
    add,
    cast,
    clip,
    exp,
    expm1,
    gt,
    log,
    lt,
    maximum,
    mul,
    sgn,
    sigmoid,
    softplus,
    sub,
    switch,
    true_div,
)

# SELU's constants (Klambauer et al., 2017).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def as_float_tensor(x: Any, what: str) -> Var:
    """``x`` as a tensor of its float dtype (integers upgraded as Theano does: int8 ->
    float32, int32 -> float64); complex is refused."""
    x = as_tensor_variable(x)
    dtype = x.type.dtype
    if dtypes.is_complex(dtype):
        raise TypeError(f"{what}: {x.describe()} is {dtype}; expected a real tensor")
    return cast(x, dtypes.upgrade_to_float(dtype))


def scalar_like(value: float, x: Var) -> Const:
    """A 0-d constant of ``x``'s dtype (a Python float would be float64 and upcast)."""
    return constant(value, dtype=x.type.dtype)


def ultra_fast_sigmoid(x: Any) -> Var:
    """Theano's piecewise approximation of the sigmoid (absolute error below 0.03).

    >>> import jitgraph.tensor as T, numpy as np
    >>> ultra_fast_sigmoid(T.constant(np.array([-100.0, 0.0, 100.0]))).eval().round(4)
    array([0.0025, 0.5   , 0.9975])
    """
    x = as_float_tensor(x, "ultra_fast_sigmoid")
    half = mul(x, scalar_like(0.5, x))
    magnitude = abs_(half)
    near = true_div(mul(scalar_like(1.5, x), magnitude), add(scalar_like(1.0, x), magnitude))
    middle = add(
        scalar_like(0.935409070603099, x),
        mul(scalar_like(0.0458812946797165, x), sub(magnitude, scalar_like(1.7, x))),
    )
    far = scalar_like(0.99505475368673, x)
    bent = switch(
        lt(magnitude, scalar_like(1.7, x)),
        near,
        switch(lt(magnitude, scalar_like(3.0, x)), middle, far),
    )
    # sgn keeps NaN a NaN (a switch on x >= 0 would turn it into a number).
    return mul(scalar_like(0.5, x), add(mul(bent, sgn(half)), scalar_like(1.0, x)))


def hard_sigmoid(x: Any) -> Var:
    """``clip(0.2 * x + 0.5, 0, 1)``, in the input's float dtype (Theano's definition).

    >>> import jitgraph.tensor as T, numpy as np
    >>> hard_sigmoid(T.constant(np.array([-3.0, 0.0, 1.0]))).eval()
    array([0. , 0.5, 0.7])
    """
    x = as_float_tensor(x, "hard_sigmoid")
    return clip(add(mul(x, scalar_like(0.2, x)), scalar_like(0.5, x)), 0, 1)


def softsign(x: Any) -> Var:
    """``x / (1 + |x|)``.

    >>> import jitgraph.tensor as T, numpy as np
    >>> softsign(T.constant(np.array([-1.0, 3.0]))).eval()
    array([-0.5 ,  0.75])
    """
    x = as_float_tensor(x, "softsign")
    return true_div(x, add(scalar_like(1.0, x), abs_(x)))


def relu(x: Any, alpha: Any = 0) -> Var:
    """Rectified linear unit: ``x`` where positive, ``alpha * x`` elsewhere (leaky when
    ``alpha`` is not 0; ``alpha`` may be symbolic). With ``alpha == 0`` the dtype is kept
    (integers stay integers, where Theano's ``0.5 * (x + |x|)`` gave floats).

    >>> import jitgraph.tensor as T, numpy as np
    >>> relu(T.constant(np.array([-2.0, 3.0])), alpha=0.5).eval()
    array([-1.,  3.])
    """
    x = as_tensor_variable(x)
    if not isinstance(alpha, Var) and alpha == 0:
        return maximum(x, constant(0, dtype=x.type.dtype))
    x = as_float_tensor(x, "relu")
    if isinstance(alpha, Var):
        # Theano's form: exact for symbolic alpha without a switch on the sign.
        half = scalar_like(0.5, x)
        return add(mul(mul(half, add(1, alpha)), x), mul(mul(half, sub(1, alpha)), abs_(x)))
    return switch(gt(x, 0), x, mul(scalar_like(alpha, x), x))


def elu(x: Any, alpha: float = 1.0) -> Var:
    """Exponential linear unit: ``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere.

    >>> import jitgraph.tensor as T, numpy as np
    >>> elu(T.constant(np.array([-np.inf, 2.0]))).eval()
    array([-1.,  2.])
    """
    x = as_float_tensor(x, "elu")
    return switch(gt(x, 0), x, mul(scalar_like(alpha, x), expm1(x)))


def selu(x: Any) -> Var:
    """Scaled ELU with the self-normalizing constants ``SELU_SCALE`` and ``SELU_ALPHA``.

    >>> import jitgraph.tensor as T
    >>> selu(T.fvector("x")).dtype
    'float32'
    """
    x = as_float_tensor(x, "selu")
    return mul(scalar_like(SELU_SCALE, x), elu(x, SELU_ALPHA))


def softmax(x: Any, axis: int | None = -1) -> Var:
    """``exp(x) / sum(exp(x))`` along ``axis`` (the last: row-wise on a matrix, as in
    Theano). The maximum is subtracted first, so large inputs do not overflow.

    >>> import jitgraph.tensor as T, numpy as np
    >>> softmax(T.constant(np.array([[1000.0, 1000.0]]))).eval()
    array([[0.5, 0.5]])
    """
    import jitgraph.tensor as T  # reductions: imported when called (no import cycle)

    x = as_float_tensor(x, "softmax")
    shifted = sub(x, T.max(x, axis=axis, keepdims=True))
    numerator = exp(shifted)
    return true_div(numerator, T.sum(numerator, axis=axis, keepdims=True))


def log_softmax(x: Any, axis: int | None = -1) -> Var:
    """``log(softmax(x, axis))`` computed stably as ``x - max - log(sum(exp(x - max)))``.

    >>> import jitgraph.tensor as T, numpy as np
    >>> log_softmax(T.constant(np.array([[0.0, -1000.0]]))).eval()
    array([[    0., -1000.]])
    """
    import jitgraph.tensor as T

    x = as_float_tensor(x, "log_softmax")
    shifted = sub(x, T.max(x, axis=axis, keepdims=True))
    return sub(shifted, log(T.sum(exp(shifted), axis=axis, keepdims=True)))


def log_of_softmax(probabilities: Var) -> Var | None:
    """``log(probabilities)`` computed stably as ``log_softmax`` when ``probabilities`` is
    the result of ``softmax`` (``exp(s) / sum(exp(s), keepdims)``), else None. The losses
    use it so that their value and gradient stay finite for large logits; recognising
    ``log(softmax(x))`` written by hand is the optimizer's job.

    >>> import jitgraph.tensor as T
    >>> x = T.dmatrix("x")
    >>> log_of_softmax(softmax(x)) is log_softmax(x), log_of_softmax(x)
    (True, None)
    """
    import jitgraph.tensor as T

    node = probabilities.owner
    if not _is_elemwise(node, "true_divide"):
        return None
    numerator, denominator = node.inputs  # type: ignore[union-attr]
    if not _is_elemwise(numerator.owner, "exp") or denominator.owner is None:
        return None
    reduce_op = denominator.owner.op
    if not (isinstance(reduce_op, Reduce) and reduce_op.kind.name == "sum"):
        return None
    if not reduce_op.keepdims or denominator.owner.inputs[0] is not numerator:
        return None
    shifted = numerator.owner.inputs[0]  # type: ignore[union-attr]
    return sub(shifted, log(T.sum(exp(shifted), axis=reduce_op.axis, keepdims=True)))


def sigmoid_input(probabilities: Var) -> Var | None:
    """``x`` when ``probabilities`` is ``sigmoid(x)``, else None.

    >>> import jitgraph.tensor as T
    >>> x = T.dvector("x")
    >>> sigmoid_input(sigmoid(x)) is x, sigmoid_input(x)
    (True, None)
    """
    node = probabilities.owner
    return node.inputs[0] if _is_elemwise(node, "sigmoid") else None  # type: ignore[union-attr]


def _is_elemwise(node: Node | None, name: str) -> bool:
    return node is not None and isinstance(node.op, Elemwise) and node.op.scalar_op.name == name


def softmax_with_bias(x: Any, b: Any) -> Var:
    """``softmax(x + b)`` with the bias vector broadcast over rows (Theano's op).

    >>> import jitgraph.tensor as T
    >>> softmax_with_bias(T.dmatrix("x"), T.dvector("b")).ndim
    2
    """
    return softmax(add(x, b))


logsoftmax = log_softmax  # Theano's spelling

__all__ = [
    "SELU_ALPHA",
    "SELU_SCALE",
    "elu",
    "hard_sigmoid",
    "log_softmax",
    "logsoftmax",
    "relu",
    "selu",
    "sigmoid",
    "softmax",
    "softmax_with_bias",
    "softplus",
    "softsign",
    "ultra_fast_sigmoid",
]
