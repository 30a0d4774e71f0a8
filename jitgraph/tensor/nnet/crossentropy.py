"""Cross-entropy losses of ``theano.tensor.nnet``, as compositions of table primitives.

A loss given the result of ``sigmoid`` or ``softmax`` computes from the logits instead
(``softplus``, ``log_softmax``), so that its value and gradient stay finite for large
logits (|x| up to 1e3 in float64, 80 in float32).

>>> import jitgraph.tensor as T
>>> from jitgraph.tensor import nnet
>>> nnet.categorical_crossentropy(T.dmatrix("p"), T.ivector("y")).ndim
1
"""

from __future__ import annotations

from typing import Any

from jitgraph import dtypes
from jitgraph.ir.graph import Var
from jitgraph.tensor.basic import as_tensor_variable
from jitgraph.tensor.math import (  # type: ignore[attr-defined]
    add,
    log,
    mul,
    neg,
    softplus,
    sub,
)
from jitgraph.tensor.nnet.activations import (
    as_float_tensor,
    log_of_softmax,
    log_softmax,
    sigmoid_input,
    softmax,
)


def binary_crossentropy(output: Any, target: Any) -> Var:
    """``-(target * log(output) + (1 - target) * log(1 - output))``, elementwise
    (Theano's definition: ``output`` is a probability, 0 and 1 give infinities).

    When ``output`` is ``sigmoid(x)`` the loss is computed from the logits ``x``
    (``sigmoid_binary_crossentropy``): the same value, finite with a finite gradient even
    where the sigmoid rounds to 0 or 1. Other forms of ``log(sigmoid(x))`` are made stable
    by the optimizer's rewrites, not here.

    >>> import jitgraph.tensor as T, numpy as np
    >>> float(binary_crossentropy(T.constant(np.array(0.5)), T.constant(np.array(1.0))).eval())
    0.6931471805599453
    >>> x = T.constant(np.array(-800.0))
    >>> float(binary_crossentropy(T.nnet.sigmoid(x), T.constant(np.array(1.0))).eval())
    800.0
    """
    output = as_tensor_variable(output)
    target = as_tensor_variable(target)
    logits = sigmoid_input(output)
    if logits is not None:
        return sigmoid_binary_crossentropy(logits, target)
    hit = mul(target, log(output))
    miss = mul(sub(1.0, target), log(sub(1.0, output)))
    return neg(add(hit, miss))


def sigmoid_binary_crossentropy(output: Any, target: Any) -> Var:
    """``binary_crossentropy(sigmoid(output), target)`` computed stably from the logits
    ``output``: ``target * softplus(-output) + (1 - target) * softplus(output)``, since
    ``-log(sigmoid(x)) = softplus(-x)`` and ``-log(1 - sigmoid(x)) = softplus(x)``. Its
    gradient, ``sigmoid(output) - target``, is finite everywhere.

    >>> import jitgraph.tensor as T, numpy as np
    >>> float(sigmoid_binary_crossentropy(T.constant(-1000.0), T.constant(0.0)).eval())
    0.0
    """
    output = as_float_tensor(output, "sigmoid_binary_crossentropy")
    target = as_tensor_variable(target)
    hit = mul(target, softplus(neg(output)))
    miss = mul(sub(1.0, target), softplus(output))
    return add(hit, miss)


def categorical_crossentropy(coding_dist: Any, true_dist: Any) -> Var:
    """The cross-entropy of each row of ``coding_dist`` (probabilities) against
    ``true_dist``: either a distribution of the same shape (one-hot or soft targets:
    ``-sum(true_dist * log(coding_dist), axis=-1)``) or an integer vector of class indices
    (``-log(coding_dist[i, true_dist[i]])``). When ``coding_dist`` is ``softmax(x)``, the
    log-probabilities are ``log_softmax(x)``: finite, with finite gradients, for large
    logits.

    >>> import jitgraph.tensor as T, numpy as np
    >>> p = T.constant(np.array([[0.25, 0.75]]))
    >>> categorical_crossentropy(p, T.constant(np.array([[0.0, 1.0]]))).eval().round(4)
    array([0.2877])
    """
    import jitgraph.tensor as T

    coding_dist = as_tensor_variable(coding_dist)
    true_dist = as_tensor_variable(true_dist)
    coding_ndim = coding_dist.type.ndim
    true_ndim = true_dist.type.ndim
    if true_ndim == coding_ndim:
        log_probabilities = log_of_softmax(coding_dist)
        if log_probabilities is None:
            log_probabilities = log(coding_dist)
        return neg(T.sum(mul(true_dist, log_probabilities), axis=coding_ndim - 1))
    if true_ndim == coding_ndim - 1:
        return crossentropy_categorical_1hot(coding_dist, true_dist)
    raise TypeError(
        f"categorical_crossentropy: rank mismatch between the coding distribution "
        f"{coding_dist.describe()} (ndim {coding_ndim}) and the true distribution "
        f"{true_dist.describe()} (ndim {true_ndim}); expected ndim {coding_ndim} "
        f"(probabilities) or {coding_ndim - 1} (class indices)"
    )


def crossentropy_categorical_1hot(coding_dist: Any, true_idx: Any) -> Var:
    """``-log(coding_dist[i, true_idx[i]])`` for each row ``i`` of a matrix.

    >>> import jitgraph.tensor as T, numpy as np
    >>> p = T.constant(np.array([[0.5, 0.5], [0.0, 1.0]]))
    >>> crossentropy_categorical_1hot(p, T.constant(np.array([0, 1]))).eval().round(4)
    array([ 0.6931, -0.    ])
    """
    coding_dist = as_tensor_variable(coding_dist)
    true_idx = as_tensor_variable(true_idx)
    _check_one_hot_args("crossentropy_categorical_1hot", coding_dist, true_idx)
    log_probabilities = log_of_softmax(coding_dist)
    if log_probabilities is not None:
        return neg(_pick_per_row(log_probabilities, true_idx))
    return neg(log(_pick_per_row(coding_dist, true_idx)))


def crossentropy_softmax_1hot(x: Any, y_idx: Any) -> tuple[Var, Var]:
    """``(nll, softmax(x))`` where ``nll[i] = -log(softmax(x)[i, y_idx[i]])``, the loss
    computed from ``log_softmax`` (stable for large logits).

    >>> import jitgraph.tensor as T
    >>> [v.ndim for v in crossentropy_softmax_1hot(T.dmatrix("x"), T.ivector("y"))]
    [1, 2]
    """
    x = as_float_tensor(x, "crossentropy_softmax_1hot")
    y_idx = as_tensor_variable(y_idx)
    _check_one_hot_args("crossentropy_softmax_1hot", x, y_idx)
    nll = neg(_pick_per_row(log_softmax(x), y_idx))
    return nll, softmax(x)


def _check_one_hot_args(what: str, matrix: Var, indices: Var) -> None:
    if matrix.type.ndim != 2:
        raise TypeError(
            f"{what}: the distributions must be a matrix (one row per example), got "
            f"{matrix.describe()} of ndim {matrix.type.ndim}"
        )
    index_type = indices.type
    if index_type.ndim != 1 or dtypes.kind(index_type.dtype) not in "iu":
        raise TypeError(
            f"{what}: the class indices must be an integer vector, got {indices.describe()} "
            f"of dtype {index_type.dtype} and ndim {index_type.ndim}"
        )


def _pick_per_row(matrix: Var, indices: Var) -> Var:
    """``matrix[arange(n), indices]``: one entry per row."""
    import jitgraph.tensor as T

    rows = T.arange(T.shape(matrix)[0])  # type: ignore[attr-defined, index]
    return T.getitem(matrix, (rows, indices))


__all__ = [
    "binary_crossentropy",
    "categorical_crossentropy",
    "crossentropy_categorical_1hot",
    "crossentropy_softmax_1hot",
    "sigmoid_binary_crossentropy",
]
