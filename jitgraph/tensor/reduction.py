"""Reductions of the Theano front end: sum, prod, mean, var, std, max, min, ...

>>> import jitgraph.tensor as T
>>> T.mean(T.imatrix("m"), axis=0).dtype
'float64'
"""

from __future__ import annotations

from typing import Any

from jitgraph import dtypes
from jitgraph.ir.graph import Var
from jitgraph.ops.reduce import REDUCTIONS, Reduce, normalize_axis
from jitgraph.tensor.basic import as_tensor_variable
from jitgraph.tensor.math import cast, true_divide  # type: ignore[attr-defined]


def _reduce(kind: str, x: Any, axis: Any, keepdims: bool) -> Var:
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.type.ndim)  # type: ignore[attr-defined]
    return Reduce(REDUCTIONS[kind], axes, bool(keepdims))(x)  # type: ignore[no-any-return]


def sum(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, acc_dtype: Any = None) -> Var:  # noqa: A001
    """Sum over ``axis`` (None: all). Integers accumulate in int64 (uint64), as in Theano."""
    out = _reduce("sum", x, axis, keepdims)
    return cast(out, dtype) if dtype is not None else out


def mean(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, acc_dtype: Any = None) -> Var:
    """Arithmetic mean; integer inputs give float64 (Theano's rule)."""
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.type.ndim)  # type: ignore[attr-defined]
    total = _reduce("sum", x, axes, keepdims)
    if dtypes.kind(total.type.dtype) in "iub":  # type: ignore[attr-defined]
        total = cast(total, "float64")
    from jitgraph.tensor.shape import shape

    count = None
    for a in axes:
        n = shape(x)[a]
        count = n if count is None else count * n
    if count is None:
        out = total
    else:
        out = true_divide(total, cast(count, total.type.dtype))  # type: ignore[attr-defined]
    return cast(out, dtype) if dtype is not None else out


__all__ = ["mean", "sum"]
