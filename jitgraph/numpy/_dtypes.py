"""Dtypes of ``jitgraph.numpy``: NumPy's own scalar types, their limits and promotion.

``jnp.float64 is numpy.float64``: an array's ``dtype`` is a ``numpy.dtype``, and
promotion follows NumPy 2 (NEP 50: Python scalars are weak).

>>> import jitgraph.numpy as jnp
>>> jnp.result_type(jnp.int8, 3), jnp.can_cast(jnp.int8, jnp.float16)
(dtype('int8'), True)
"""

from __future__ import annotations

import builtins
import math
import warnings
from typing import Any

import numpy as np

from jitgraph import dtypes as jitgraph_dtypes
from jitgraph.numpy import _core

# The 14 dtypes jitgraph computes with, by their NumPy names.
DTYPE_NAMES: tuple[str, ...] = jitgraph_dtypes.ALL

__all__ = [
    *DTYPE_NAMES,
    "dtype",
    "finfo",
    "iinfo",
    "can_cast",
    "result_type",
    "isdtype",
    "astype",
    "__array_namespace_info__",
    "e",
    "pi",
    "inf",
    "nan",
    "newaxis",
]


int8 = np.int8
int16 = np.int16
int32 = np.int32
int64 = np.int64
uint8 = np.uint8
uint16 = np.uint16
uint32 = np.uint32
uint64 = np.uint64
float16 = np.float16
float32 = np.float32
float64 = np.float64
complex64 = np.complex64
complex128 = np.complex128
dtype = np.dtype

e = math.e
pi = math.pi
inf = math.inf
nan = math.nan
newaxis = None


def _as_dtype(x: Any, argname: str) -> np.dtype[Any]:
    """A dtype from a dtype-like or an array (jnp or NumPy)."""
    if isinstance(x, (_core.ndarray, np.ndarray, np.generic)):
        return x.dtype
    try:
        return np.dtype(x)
    except TypeError:
        raise TypeError(f"{argname} must be a dtype or an array, got {x!r}") from None


class finfo:  # noqa: N801 - the Array API's name
    """Limits of a floating or complex dtype; accepts a dtype or an array. ``bits``,
    ``eps``, ``max``, ``min`` and ``smallest_normal`` are Python numbers (the Array API's
    types), ``dtype`` the real dtype they describe; NumPy's other fields (``tiny``,
    ``resolution``, ``precision``, ...) are NumPy's.

    >>> import jitgraph.numpy as jnp
    >>> jnp.finfo(jnp.float32).eps, jnp.finfo(jnp.complex128).dtype
    (1.1920928955078125e-07, dtype('float64'))
    """

    def __init__(self, type: Any, /) -> None:  # noqa: A002 - the Array API's name
        self._numpy = np.finfo(_as_dtype(type, "finfo: type"))
        self.bits = int(self._numpy.bits)
        self.eps = float(self._numpy.eps)
        self.max = float(self._numpy.max)
        self.min = float(self._numpy.min)
        self.smallest_normal = float(self._numpy.smallest_normal)
        self.dtype = self._numpy.dtype

    def __getattr__(self, name: str) -> Any:
        return getattr(self._numpy, name)

    def __repr__(self) -> str:
        return repr(self._numpy)


def iinfo(type: Any, /) -> np.iinfo[Any]:  # noqa: A002 - the Array API's name
    """Limits of an integer dtype (``bits``, ``max``, ``min``, ``dtype``); accepts a dtype
    or an array."""
    return np.iinfo(_as_dtype(type, "iinfo: type"))


def can_cast(from_: Any, to: Any, /, casting: Any = "safe") -> builtins.bool:
    """Whether ``from_`` (a dtype or an array) casts to ``to`` under ``casting``
    (NumPy's rule; Python scalars are refused as in NumPy 2)."""
    if type(from_) in _core.PYTHON_SCALARS:
        raise TypeError(
            "can_cast() does not support Python ints, floats, and complex because the result "
            "used to depend on the value; use a dtype or an array"
        )
    return builtins.bool(np.can_cast(_as_dtype(from_, "can_cast: from_"), np.dtype(to), casting))


def result_type(*arrays_and_dtypes: Any) -> np.dtype[Any]:
    """The dtype NumPy 2 gives to an operation on these arrays, dtypes and (weak)
    Python scalars."""
    return _core.result_type(*arrays_and_dtypes)


def isdtype(dtype: Any, kind: Any) -> builtins.bool:
    """Array API ``isdtype``: ``kind`` is a dtype, one of 'bool', 'signed integer',
    'unsigned integer', 'integral', 'real floating', 'complex floating', 'numeric', or a
    tuple of these."""
    if isinstance(dtype, type) and issubclass(dtype, np.generic):
        dtype = np.dtype(dtype)  # this namespace's dtype objects are NumPy's scalar types
    if not isinstance(dtype, np.dtype):
        raise TypeError(f"isdtype: dtype must be a dtype (e.g. x.dtype), got {dtype!r}")
    return builtins.bool(np.isdtype(dtype, kind))


def astype(
    x: Any,
    dtype: Any,
    /,
    *,
    copy: builtins.bool = True,
    device: Any = None,
    casting: Any = "unsafe",
) -> _core.ndarray:
    """``x`` cast to ``dtype`` as NumPy casts (complex to real keeps the real part, with
    NumPy's ComplexWarning). ``casting`` checks the cast with NumPy's rule first.
    ``device``: the result moved there (``x.to_device``) after the cast."""
    place = _core.check_device(device, "astype")
    result = _astype(x, dtype, copy, casting)
    return _core.move_to(result, place) if place is not None else result


def _astype(x: Any, dtype: Any, copy: builtins.bool, casting: Any) -> _core.ndarray:
    source = _core.dtype_of(x)
    target = np.dtype(dtype)
    if not np.can_cast(source, target, casting):
        raise TypeError(f"astype: cannot cast {source} to {target} with casting={casting!r}")
    if source == target and not copy and isinstance(x, _core.ndarray):
        return x
    var = _core.as_var(x)
    if source.kind == "c" and target.kind == "b":  # NumPy: nonzero, either part
        from jitgraph.tensor.basic import elemwise

        return _core.wrap(elemwise("not_equal", var, _core.as_var(0, dtype=source)))
    if source.kind == "c" and target.kind != "c":
        warnings.warn(
            "Casting complex values to real discards the imaginary part",
            np.exceptions.ComplexWarning,
            stacklevel=2,
        )
        from jitgraph.tensor.basic import elemwise

        var = elemwise("real", var)
    return _core.wrap(_core.as_var(var, dtype=target))


class _NamespaceInfo:
    """Array API inspection object returned by ``__array_namespace_info__()``."""

    def capabilities(self) -> dict[str, Any]:
        return {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": 64}

    def default_device(self) -> str:
        return "cpu"

    def devices(self) -> list[str]:
        """'cpu', and 'cuda' where CuPy and a CUDA GPU are usable."""
        from jitgraph.backends.cuda import cuda_status

        return ["cpu"] if cuda_status() is not None else ["cpu", "cuda"]

    def default_dtypes(self, *, device: Any = None) -> dict[str, np.dtype[Any]]:
        _check_device(device)
        return {
            "real floating": np.dtype("float64"),
            "complex floating": np.dtype("complex128"),
            "integral": np.dtype("int64"),
            "indexing": np.dtype("int64"),
        }

    def dtypes(self, *, device: Any = None, kind: Any = None) -> dict[str, np.dtype[Any]]:
        _check_device(device)
        # float16 works but is not an Array API dtype: not listed.
        every = {name: np.dtype(name) for name in DTYPE_NAMES if name != "float16"}
        if kind is None:
            return every
        return {name: d for name, d in every.items() if np.isdtype(d, kind)}


def _check_device(device: Any) -> None:
    _core.check_device(device, "__array_namespace_info__")


def __array_namespace_info__() -> _NamespaceInfo:  # noqa: N807 - the Array API's name
    """The Array API inspection namespace (devices, default dtypes, capabilities)."""
    return _NamespaceInfo()


# Last, so that the code above sees the builtin ``bool``.
bool = np.bool  # noqa: A001 - the Array API's name
