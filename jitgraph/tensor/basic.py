"""Tensor constructors, constants and conversion: the bottom of the Theano front end.

>>> import jitgraph.tensor as T
>>> x, y = T.dmatrices("x", "y")
>>> x.type, T.dscalar.dtype, T.frow.broadcastable
(TensorType(float64, matrix), 'float64', (True, False))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.config import config
from jitgraph.ir.graph import Const, Var, make_constant, type_name
from jitgraph.ir.types import TensorType
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.scalar import SCALAR_OPS
from jitgraph.ops.shape import DimShuffle


# ----------------------------------------------------------------------------- constants
def constant(x: Any, name: str | None = None, ndim: int | None = None, dtype: Any = None) -> Const:
    """A graph constant holding ``x``.

    Python scalars get Theano's autocast dtype (``2`` is int8, ``0.5`` float32, ``0.1``
    float64 when floatX is float64); arrays keep theirs unless ``dtype`` is given. The
    constant's static shape is its actual shape.
    """
    if isinstance(x, Const) and dtype is None and ndim is None:
        return x
    if isinstance(x, Var):
        raise TypeError(f"constant() needs a value, got the symbolic variable {x.describe()}")
    if dtype is not None:
        target = dtypes.canonical(dtype)
    elif isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic):
        target = dtypes.autocast_python_scalar(x, config.floatX)
    else:
        target = ""
    try:
        data = np.asarray(x) if not target else np.asarray(x, dtype=target)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot make a tensor constant from {type_name(x)}: {exc}") from exc
    if data.dtype == object or data.dtype.name not in dtypes.ALL:
        raise TypeError(
            f"cannot make a tensor constant from {type_name(x)} (it gave dtype {data.dtype})"
        )
    if ndim is not None:
        if data.ndim > ndim:
            data = data.reshape([n for n in data.shape if n != 1][:ndim] or ())
        if data.ndim < ndim:
            data = data.reshape((1,) * (ndim - data.ndim) + data.shape)
        if data.ndim != ndim:
            raise ValueError(f"cannot make a {ndim}-d constant from shape {np.shape(x)}")
    return make_constant(data, TensorType(data.dtype, data.shape), name=name)


def as_tensor_variable(x: Any, name: str | None = None, ndim: int | None = None) -> Var:
    """``x`` as a symbolic tensor: variables pass through, values become constants,
    lists and tuples that contain variables are stacked."""
    if isinstance(x, Var):
        if not isinstance(x.type, TensorType):
            raise TypeError(f"expected a tensor, got {x.describe()} of type {x.type}")
        if ndim is not None and x.type.ndim != ndim:
            if x.type.ndim > ndim and all(b for b in x.type.broadcastable[: x.type.ndim - ndim]):
                keep = tuple(range(x.type.ndim - ndim, x.type.ndim))
                return DimShuffle(x.type.ndim, keep)(x)
            raise TypeError(f"expected a {ndim}-d tensor, got {x.describe()} of ndim {x.type.ndim}")
        return x
    if isinstance(x, (list, tuple)) and _contains_variable(x):
        import jitgraph.tensor as T

        return T.stack([as_tensor_variable(v) for v in x])
    return constant(x, name=name, ndim=ndim)


as_tensor = as_tensor_variable


def _contains_variable(seq: Sequence[Any]) -> bool:
    return any(
        isinstance(v, Var) or (isinstance(v, (list, tuple)) and _contains_variable(v)) for v in seq
    )


# ----------------------------------------------------------------------------- elementwise
def pad_to_ndim(x: Var, ndim: int) -> Var:
    """Prepend broadcastable axes to reach ``ndim`` (NumPy's left-padding rule)."""
    have = x.type.ndim
    if have == ndim:
        return x
    order: tuple[int | str, ...] = ("x",) * (ndim - have) + tuple(range(have))
    return DimShuffle(have, order)(x)


_ELEMWISE: dict[str, Elemwise] = {}  # one op object per table entry (ops are values)


def elemwise(name: str, *args: Any) -> Var:
    """Apply the scalar-table op ``name`` to tensors, broadcasting as NumPy does."""
    ins = [as_tensor_variable(a) for a in args]
    ndim = max(v.type.ndim for v in ins)
    op = _ELEMWISE.get(name)
    if op is None:
        op = _ELEMWISE[name] = Elemwise(SCALAR_OPS[name])
    return op(*[pad_to_ndim(v, ndim) for v in ins])


# ----------------------------------------------------------------------------- constructors
_PATTERNS: dict[str, tuple[bool, ...]] = {
    "scalar": (),
    "vector": (False,),
    "row": (True, False),
    "col": (False, True),
    "matrix": (False, False),
    "tensor3": (False,) * 3,
    "tensor4": (False,) * 4,
    "tensor5": (False,) * 5,
    "tensor6": (False,) * 6,
    "tensor7": (False,) * 7,
}


def tensor(
    dtype: Any = None,
    shape: Sequence[int | None] | None = None,
    name: str | None = None,
    broadcastable: Sequence[bool] | None = None,
) -> Var:
    """A symbolic tensor input. ``T.tensor('float64', (None, 3), name='x')``; Theano's
    ``T.tensor(dtype, broadcastable)`` form is accepted too."""
    if isinstance(shape, str) and name is None:  # tensor(dtype, name) is a common slip
        shape, name = None, shape
    if shape is None and broadcastable is None:
        raise TypeError("tensor() needs shape= (static dims, None where unknown) or broadcastable=")
    return TensorType(dtype or config.floatX, shape, broadcastable)(name)


def _make_generic(kind: str) -> Any:
    pattern = _PATTERNS[kind]

    def ctor(name: str | None = None, dtype: Any = None) -> Var:
        return TensorType(dtype or config.floatX, broadcastable=pattern)(name)

    ctor.__name__ = ctor.__qualname__ = kind
    ctor.__doc__ = (
        f"A symbolic {kind} (broadcastable {pattern}); dtype defaults to config.floatX.\n\n"
        f"    >>> {kind}('x').ndim\n    {len(pattern)}\n"
    )
    return ctor


def _make_plural(ctor: Any, plural: str) -> Any:
    def plural_ctor(*names: str, dtype: Any = None) -> list[Var]:
        if len(names) == 1 and isinstance(names[0], int):  # Theano: dmatrices(3)
            return [ctor(dtype=dtype) if dtype else ctor() for _ in range(names[0])]
        if len(names) == 1 and isinstance(names[0], str) and "," in names[0]:
            names = tuple(n.strip() for n in names[0].split(","))
        return [ctor(n, dtype=dtype) if dtype else ctor(n) for n in names]

    plural_ctor.__name__ = plural_ctor.__qualname__ = plural
    return plural_ctor


def _plural_name(kind: str) -> str:
    return {"matrix": "matrices"}.get(kind, kind + "s")


_CONSTRUCTORS: dict[str, Any] = {}
for _kind, _pattern in _PATTERNS.items():
    _generic = _make_generic(_kind)
    _CONSTRUCTORS[_kind] = _generic
    _CONSTRUCTORS[_plural_name(_kind)] = _make_plural(_generic, _plural_name(_kind))
    for _prefix, _dtype in dtypes.PREFIX.items():
        _type = TensorType(_dtype, broadcastable=_pattern)
        _CONSTRUCTORS[_prefix + _kind] = _type
        _CONSTRUCTORS[_prefix + _plural_name(_kind)] = _make_plural(
            _type, _prefix + _plural_name(_kind)
        )
globals().update(_CONSTRUCTORS)

__all__ = ["as_tensor", "as_tensor_variable", "constant", "elemwise", "tensor", *_CONSTRUCTORS]
