"""Conversion of user values to a tensor type, with Theano's downcast rules.

Used for function inputs, shared-variable values and constants given in ``givens``.

>>> from jitgraph.ir.types import TensorType
>>> filter_value(TensorType("float32", (None,)), [1.0, 2.5]).dtype
dtype('float32')
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.backends.cuda.runtime import is_device_array
from jitgraph.config import config
from jitgraph.ir.types import TensorType


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:75] + "(...)"


def filter_value(
    ttype: TensorType,
    value: Any,
    strict: bool = False,
    allow_downcast: bool | None = None,
    downcast_hint: str = " or pass allow_input_downcast=True",
) -> np.ndarray:
    """``value`` as an array of ``ttype``, or TypeError/ValueError saying why not.

    - ``strict``: the value must already be an ndarray of exactly the dtype.
    - an ndarray of another dtype is accepted when ``ttype.dtype`` can hold every value
      of its dtype; otherwise only with ``allow_downcast=True``;
    - a Python float is accepted for a floatX input (``allow_downcast=None``);
    - other values (lists, Python scalars) are accepted when the conversion is exact.
    The ndim and static dims are checked last. Messages say expected vs got; callers
    prefix which argument it was. ``downcast_hint`` ends the advice on lossy values (the
    option that would allow them where the value comes from, or nothing).
    """
    if isinstance(value, np.ndarray) and value.dtype == ttype.numpy_dtype:
        data = value
    elif strict:
        raise TypeError(
            f"expected an ndarray of dtype {ttype.dtype} (strict input), got {_describe(value)}"
        )
    elif allow_downcast:
        data = _asarray(value, ttype.dtype)
    elif isinstance(value, (np.ndarray, np.generic)):
        _check_upcast(ttype, np.asarray(value).dtype.name, downcast_hint)
        data = np.asarray(value, dtype=ttype.dtype)
    elif allow_downcast is None and type(value) is float and ttype.dtype == config.floatX:
        data = np.asarray(value, dtype=ttype.dtype)
    else:
        data = _asarray(value, ttype.dtype)
        original = _asarray(value, None)
        if not _same_values(original, data):
            raise TypeError(
                f"expected dtype {ttype.dtype}, got {_short(value)}, which {ttype.dtype} "
                f"cannot store exactly (it would become {_short(data)}); convert it "
                f"explicitly{downcast_hint}"
            )
    check_shape(ttype, data)
    return data


def filter_device_value(
    ttype: TensorType,
    value: Any,
    strict: bool = False,
    allow_downcast: bool | None = None,
    downcast_hint: str = " or pass allow_input_downcast=True",
) -> Any:
    """``filter_value`` for a value that goes to the GPU: a CuPy array is checked by the
    same rules as a NumPy array (dtype, ndim, static dims) and cast on the GPU where they
    allow; any other value is converted on the host, then copied to the GPU. The result
    is a CuPy array (``CudaUnavailableError`` without CuPy or a GPU)."""
    from jitgraph.backends.cuda.runtime import to_device

    if not is_device_array(value):
        return to_device(filter_value(ttype, value, strict, allow_downcast, downcast_hint))
    if value.dtype != ttype.numpy_dtype:
        if strict:
            raise TypeError(
                f"expected an array of dtype {ttype.dtype} (strict input), got {_describe(value)}"
            )
        if not allow_downcast:
            _check_upcast(ttype, value.dtype.name, downcast_hint)
        value = value.astype(ttype.numpy_dtype)
    check_shape(ttype, value)
    return value


def _check_upcast(ttype: TensorType, src: str, downcast_hint: str) -> None:
    """TypeError where ``ttype`` cannot hold every value of dtype ``src``."""
    if dtypes.upcast(ttype.dtype, src) != ttype.dtype:
        raise TypeError(
            f"expected dtype {ttype.dtype}, got an array of dtype {src}, which "
            f"{ttype.dtype} cannot hold without risking loss of precision; cast it "
            f"(value.astype('{ttype.dtype}')){downcast_hint}"
        )


def check_shape(ttype: TensorType, data: Any) -> None:
    if data.ndim != ttype.ndim:
        raise TypeError(
            f"expected a {ttype.ndim}-d array ({ttype}), got {data.ndim}-d with shape {data.shape}"
        )
    for axis, (want, got) in enumerate(zip(ttype.shape, data.shape, strict=True)):
        if want is not None and want != got:
            raise ValueError(
                f"expected static shape {_shape_text(ttype.shape)}, got shape {data.shape} "
                f"(axis {axis} must have size {want})"
            )


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return (
        "("
        + ", ".join("?" if s is None else str(s) for s in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an ndarray of dtype {value.dtype} and shape {value.shape}"
    if is_device_array(value):
        return f"a CuPy array of dtype {value.dtype} and shape {value.shape}"
    return f"{type(value).__name__} {_short(value)}"


def _asarray(value: Any, dtype: str | None) -> np.ndarray:
    from jitgraph.ir.graph import Var

    if isinstance(value, Var):
        raise TypeError(
            f"expected a value, got the symbolic variable {value.describe()}; symbolic "
            "inputs belong in the graph (use givens= to substitute an expression)"
        )
    try:
        with np.errstate(all="ignore"):
            data = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(f"cannot convert {_describe(value)} to an array: {exc}") from exc
    if data.dtype == object:
        raise TypeError(f"expected numbers, got {_describe(value)} (it gives an object array)")
    return data


def _same_values(a: np.ndarray, b: np.ndarray) -> bool:
    """True when ``b`` (``a`` converted) holds exactly ``a``'s values.

    Compared both ways: ``a == b`` alone compares int64 with float64 in float64, so
    2**53 + 1 would pass as 2**53; converting ``b`` back to ``a``'s dtype catches that.
    """
    if a.shape != b.shape:
        return False
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        if a.dtype.kind == "c" and b.dtype.kind != "c" and np.any(a.imag != 0):
            return False
        if a.dtype.kind in "fc" and b.dtype.kind in "iub" and not np.all(np.isfinite(a)):
            return False
        back = b.astype(a.dtype)
        equal = (a == b) & (back == a)
        if a.dtype.kind in "fc":
            equal = equal | (np.isnan(a) & np.isnan(b) & np.isnan(back))
    return bool(np.all(equal))
