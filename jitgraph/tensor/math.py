"""Elementwise math of the Theano front end, generated from the scalar op table.

Each table entry is exported under its NumPy name and, where different, its Theano
name (``T.multiply`` and ``T.mul``); the few functions below add Theano's argument
conventions on top.

>>> import jitgraph.tensor as T
>>> T.mul is T.multiply, str(T.exp(T.dvector("v")).owner.op)
(True, 'Elemwise{exp}')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jitgraph import dtypes
from jitgraph.ir.graph import Var
from jitgraph.ops.scalar import SCALAR_OPS, ScalarOp
from jitgraph.tensor.basic import as_tensor_variable, elemwise


def _make_wrapper(op: ScalarOp) -> Callable[..., Var]:
    def apply(*args: Any) -> Var:
        if len(args) != op.arity:
            raise TypeError(f"{op} takes {op.arity} argument(s), got {len(args)}")
        return elemwise(op.name, *args)

    apply.__name__ = apply.__qualname__ = op.theano_name or op.name
    apply.__doc__ = f"Elementwise ``{op.name}`` (NumPy's ``numpy.{op.name}``)."
    return apply


_GENERATED: dict[str, Callable[..., Var]] = {}
for _op in SCALAR_OPS.values():
    if _op.name.startswith("cast_"):
        continue
    _fn = _make_wrapper(_op)
    _GENERATED[_op.name] = _fn
    if _op.theano_name and _op.theano_name.isidentifier():
        _GENERATED[_op.theano_name] = _fn
globals().update(_GENERATED)


def cast(x: Any, dtype: Any) -> Var:
    """``x`` converted to ``dtype`` (a no-op when it already has it)."""
    x = as_tensor_variable(x)
    target = dtypes.canonical(dtype)
    if x.type.dtype == target:  # type: ignore[attr-defined]
        return x
    return elemwise(f"cast_{target}", x)


def switch(cond: Any, ift: Any, iff: Any) -> Var:
    """Elementwise ``ift if cond else iff`` (NumPy's ``where``)."""
    return elemwise("where", cond, ift, iff)


def abs_(x: Any) -> Var:
    return elemwise("absolute", x)


__all__ = sorted({*_GENERATED, "cast", "switch", "abs_"})
