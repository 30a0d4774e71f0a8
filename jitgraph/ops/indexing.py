"""Indexing ops: basic slicing (Subtensor) and, added alongside, advanced indexing and
set/inc_subtensor.

``Subtensor.index`` describes the index pattern; every integer and slice bound in it is
an input of the node (a constant when the user wrote a literal), so symbolic scalar
indices work like literal ones.

>>> import jitgraph.tensor as T
>>> T.dmatrix("m")[1:, 0].type
TensorType(float64, vector)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.ir.graph import Const, Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import Op

# An index entry: "i" (an integer taken from the inputs) or a slice pattern
# ("s", has_start, has_stop, has_step) whose present bounds are taken from the inputs.
IndexEntry = str | tuple[str, bool, bool, bool]


def split_index(key: Any) -> tuple[tuple[IndexEntry, ...], list[Any]]:
    """A Python index (int, slice, symbolic scalar or a tuple of these) as an index
    pattern and the list of its integer inputs (values or variables)."""
    items = key if isinstance(key, tuple) else (key,)
    pattern: list[IndexEntry] = []
    values: list[Any] = []
    for item in items:
        if isinstance(item, slice):
            bounds = (item.start, item.stop, item.step)
            pattern.append(("s", *(b is not None for b in bounds)))  # type: ignore[arg-type]
            values.extend(b for b in bounds if b is not None)
        else:
            pattern.append("i")
            values.append(item)
    return tuple(pattern), values


def _static_int(var: Var) -> int | None:
    if isinstance(var, Const) and var.data.ndim == 0:
        return int(var.data)
    return None


@dataclasses.dataclass(frozen=True)
class Subtensor(Op):
    """Basic indexing ``x[i, a:b:c, ...]``: a view in NumPy, a copy-free op here."""

    index: tuple[IndexEntry, ...]

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        x = as_tensor_variable(inputs[0])
        xtype: TensorType = x.type  # type: ignore[assignment]
        if len(self.index) > xtype.ndim:
            raise IndexError(
                f"too many indices for {x.describe()}: {xtype.ndim}-d, indexed with "
                f"{len(self.index)}"
            )
        idx = []
        for position, v in enumerate(inputs[1:]):
            var = as_tensor_variable(v)
            vt: TensorType = var.type  # type: ignore[assignment]
            if vt.ndim != 0 or (vt.dtype not in dtypes.INTEGER):
                raise IndexError(
                    f"index {position} of {x.describe()} must be an integer scalar, got "
                    f"{var.describe()} of type {vt}"
                )
            idx.append(var)
        shape = self._static_shape(xtype, idx)
        return self.make_apply([x, *idx], [TensorType(xtype.dtype, shape)])

    def _static_shape(self, xtype: TensorType, idx: list[Var]) -> tuple[int | None, ...]:
        shape: list[int | None] = []
        it = iter(idx)
        for axis, entry in enumerate(self.index):
            size = xtype.shape[axis]
            if entry == "i":
                i = _static_int(next(it))
                if i is not None and size is not None and not -size <= i < size:
                    raise IndexError(f"index {i} is out of bounds for axis {axis} with size {size}")
                continue
            bounds = [(_static_int(next(it)) if present else None, present) for present in entry[1:]]
            known = all(v is not None or not present for v, present in bounds)
            if size is not None and known:
                step = bounds[2][0]
                if step == 0:
                    raise ValueError("slice step cannot be zero")
                shape.append(len(range(*slice(*(v for v, _ in bounds)).indices(size))))
            else:
                shape.append(None)
        shape.extend(xtype.shape[len(self.index):])
        return tuple(shape)

    def python_index(self, values: Sequence[Any]) -> tuple[Any, ...]:
        it = iter(values)
        key: list[Any] = []
        for entry in self.index:
            if entry == "i":
                key.append(int(next(it)))
            else:
                key.append(slice(*(int(next(it)) if present else None for present in entry[1:])))
        return tuple(key)

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, *values = inputs
        return [np.asarray(x[self.python_index(values)])]

    def __str__(self) -> str:
        parts = []
        for entry in self.index:
            if entry == "i":
                parts.append("int")
            else:
                parts.append(":".join("i" if p else "" for p in entry[1:]).rstrip(":") or ":")
        return f"Subtensor{{{', '.join(parts)}}}"

    def short_description(self) -> str:
        return f"indexing {self}"
