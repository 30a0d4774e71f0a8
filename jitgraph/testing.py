"""Helpers for testing ops and backends (as ``numpy.testing`` is for NumPy).

>>> import numpy as np
>>> import jitgraph.tensor as T
>>> x = T.dmatrix("x")
>>> inferred_shape(x.T, [x], [np.zeros((2, 3))])
(3, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jitgraph.compile.function import function
from jitgraph.ir.graph import Const, Var


def symbolic_input_shapes(var: Var) -> list[tuple[Var, ...]]:
    """The symbolic shapes (``x.shape[i]`` scalars) of the inputs of ``var``'s node."""
    from jitgraph.tensor.shape import shape
    from jitgraph.tensor.subtensor import getitem

    node = var.owner
    if node is None:
        raise ValueError(f"{var.describe()} is not computed by a node")
    return [tuple(getitem(shape(v), i) for i in range(v.type.ndim)) for v in node.inputs]


def inferred_shape(var: Var, inputs: Sequence[Var], values: Sequence[Any]) -> tuple[int, ...]:
    """The shape that ``op.infer_shape`` gives for ``var``, evaluated on ``values``."""
    node = var.owner
    if node is None:
        raise ValueError(f"{var.describe()} is not computed by a node")
    dims = node.op.infer_shape(node, symbolic_input_shapes(var))[var.index or 0]
    symbolic = [d for d in dims if not isinstance(d, Const)]
    computed = iter(function(list(inputs), symbolic, on_unused_input="ignore")(*values))
    return tuple(int(d.data) if isinstance(d, Const) else int(next(computed)) for d in dims)


def assert_infer_shape(var: Var, inputs: Sequence[Var], values: Sequence[Any]) -> None:
    """``var``'s evaluated infer_shape and its static shape both agree with the shape of
    the value it computes."""
    actual = function(list(inputs), var, on_unused_input="ignore")(*values).shape
    inferred = inferred_shape(var, inputs, values)
    assert inferred == actual, f"infer_shape gave {inferred}, the op computed {actual}"
    assert var.type.ndim == len(actual)
    for static, size in zip(var.type.shape, actual, strict=True):
        assert static is None or static == size, f"static shape {var.type.shape} vs {actual}"


def assert_same_as_numpy(result: Any, expected: Any) -> None:
    """``result`` is a ``jitgraph.numpy`` array equal to NumPy's ``expected`` in dtype,
    shape and every value (NaNs in the same places).

    >>> import numpy as np, jitgraph.numpy as jnp
    >>> assert_same_as_numpy(jnp.arange(3) * 2, np.arange(3) * 2)
    """
    import numpy as np

    import jitgraph.numpy as jnp

    assert isinstance(result, jnp.ndarray), type(result)
    expected = np.asarray(expected)
    value = np.asarray(result)
    assert value.dtype == expected.dtype, (value.dtype, expected.dtype)
    assert value.shape == expected.shape, (value.shape, expected.shape)
    np.testing.assert_array_equal(value, expected)
