"""Sorting, searching and set functions of ``jitgraph.numpy``.

``sort``/``argsort`` take NumPy's ``kind=`` and the Array API's ``stable=``/``descending=``
(stable by default, as the standard asks); NaNs sort last (first when descending).
``unique*`` have data-dependent shapes: they compute their input first and raise
``TracerError`` under ``@jit``; they run NumPy on the host (a 'cuda' input is copied
there, the results go back to the GPU).

>>> import jitgraph.numpy as jnp
>>> jnp.sort(jnp.asarray([3, 1, 2])).tolist(), jnp.searchsorted(jnp.asarray([1, 2, 3]), 2).item()
([1, 2, 3], 1)
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

import jitgraph.tensor
from jitgraph.ir.graph import Var
from jitgraph.numpy import _core
from jitgraph.numpy._reductions import _cast, _const, _count, _kind, _single_axis, _with_numpy

ndarray = _core.ndarray
T: Any = jitgraph.tensor  # the Theano front end (generated functions mypy cannot see)


# ----------------------------------------------------------------------------- sorting
def _sort_kind(name: str, kind: Any, stable: Any, default: str) -> str:
    if stable is not None and kind is not None:
        raise ValueError(
            f"{name}: `kind` and `stable` parameters can't be provided at the same time"
        )
    if stable:
        return "stable"
    if kind is None:
        return default
    return str(kind)


def _sort_input(name: str, a: Any, axis: Any, order: Any) -> tuple[Var, int | None]:
    if order is not None:
        raise ValueError(f"{name}: order= applies to structured arrays, which jitgraph lacks")
    x = _core.as_var(a)
    if x.type.ndim == 0 and axis is not None:
        raise np.exceptions.AxisError(int(axis), 0)
    return x, _single_axis(name, axis, x.type.ndim)


def sort(
    a: Any,
    axis: Any = -1,
    kind: Any = None,
    order: Any = None,
    *,
    descending: bool = False,
    stable: Any = None,
) -> ndarray:
    """Sorted copy along ``axis`` (None: the flattened array); NaN sorts last.
    ``descending`` (Array API) reverses the ascending order.

    >>> import jitgraph.numpy as jnp
    >>> jnp.sort(jnp.asarray([3.0, float("nan"), 1.0])).tolist()
    [1.0, 3.0, nan]
    """
    x, along = _sort_input("sort", a, axis, order)
    result = T.sort(x, along, kind=_sort_kind("sort", kind, stable, "quicksort"))
    if descending:
        result = T.flip(result, 0 if along is None else along)
    return _core.wrap(result)


def argsort(
    a: Any,
    axis: Any = -1,
    kind: Any = None,
    order: Any = None,
    *,
    descending: bool = False,
    stable: Any = None,
) -> ndarray:
    """Indices (int64) that sort ``a`` along ``axis``. Without ``kind`` the sort is stable
    (equal values keep their order, as the Array API asks; NumPy's default quicksort
    leaves that order unspecified). ``descending`` keeps equal values in their order too.

    >>> import jitgraph.numpy as jnp
    >>> jnp.argsort(jnp.asarray([2, 1, 2]), descending=True).tolist()
    [0, 2, 1]
    """
    x, along = _sort_input("argsort", a, axis, order)
    chosen = _sort_kind("argsort", kind, stable, "stable")
    if not descending:
        return _core.wrap(T.argsort(x, along, kind=chosen))
    if along is None:
        x, along = T.flatten(x), 0
    backwards = T.argsort(T.flip(x, along), along, kind=chosen)
    last = T.sub(_cast(_count(x, (along,)), "int64"), _const(1, "int64"))
    return _core.wrap(T.sub(last, T.flip(backwards, along)))


# ----------------------------------------------------------------------------- searching
def _less_nan_last(p: Var, q: Var) -> Var:
    """``p < q`` in sort order (NaN after every number)."""
    less = T.lt(p, q)
    if _kind(p) != "f":
        return less
    return T.or_(less, T.and_(T.isnan(q), T.invert(T.isnan(p))))


def searchsorted(a: Any, v: Any, side: str = "left", sorter: Any = None) -> ndarray:
    """Indices (int64) where ``v``'s values would be inserted in the sorted 1-d ``a`` to
    keep it sorted (``side``: before equal values, 'left', or after, 'right'; NaN sorts
    last). ``sorter``: the indices that sort ``a``.

    >>> import jitgraph.numpy as jnp
    >>> jnp.searchsorted(jnp.asarray([1, 3, 5]), jnp.asarray([3, 4])).tolist()
    [1, 2]
    """
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    (x, values), dtype = _core.operands(a, v)
    if x.type.ndim != 1:
        raise ValueError(f"searchsorted: a must be 1-d, got a {x.type.ndim}-d array")
    if dtype.kind == "c":
        numpy_search: Any = np.searchsorted
        return _with_numpy(
            "searchsorted of complex arrays",
            lambda p, q: numpy_search(p, q, side=side, sorter=sorter),
            a,
            v,
        )
    if sorter is not None:
        x = T.take(x, _core.as_var(sorter))
    pattern = [*range(values.type.ndim), "x"]
    column = T.dimshuffle(values, *pattern)
    if side == "left":
        before = _less_nan_last(x, column)
    else:
        before = T.invert(_less_nan_last(column, x))
    return _core.wrap(T.sum(before, -1, dtype="int64"))


# ----------------------------------------------------------------------------- sets
UniqueAllResult = namedtuple("UniqueAllResult", ["values", "indices", "inverse_indices", "counts"])
UniqueCountsResult = namedtuple("UniqueCountsResult", ["values", "counts"])
UniqueInverseResult = namedtuple("UniqueInverseResult", ["values", "inverse_indices"])


def _unique_value(x: Any, name: str) -> np.ndarray:
    """The host value of ``x`` (the unique functions compute with NumPy on the host; a
    'cuda' input is copied there and the results go back to the GPU)."""
    return _core.concrete(
        x if isinstance(x, ndarray) else _core.wrap(_core.as_var(x)),
        f"{name} (its output shape depends on the values)",
    )


def unique_all(x: Any, /) -> UniqueAllResult:
    """The distinct values of ``x`` (sorted; NaNs distinct), the index of each one's first
    occurrence, the inverse indices (``x``'s shape) and the counts. The output size
    depends on the values: under ``@jit`` this raises TracerError.

    >>> import jitgraph.numpy as jnp
    >>> jnp.unique_all(jnp.asarray([2, 1, 2])).counts.tolist()
    [1, 2]
    """
    result = np.unique_all(_unique_value(x, "unique_all"))
    return UniqueAllResult(*[_core.wrap_value(np.asarray(r), _core.device_of(x)) for r in result])


def unique_counts(x: Any, /) -> UniqueCountsResult:
    """The distinct values and their counts; see ``unique_all``."""
    result = np.unique_counts(_unique_value(x, "unique_counts"))
    return UniqueCountsResult(
        *[_core.wrap_value(np.asarray(r), _core.device_of(x)) for r in result]
    )


def unique_inverse(x: Any, /) -> UniqueInverseResult:
    """The distinct values and the inverse indices; see ``unique_all``."""
    result = np.unique_inverse(_unique_value(x, "unique_inverse"))
    return UniqueInverseResult(
        *[_core.wrap_value(np.asarray(r), _core.device_of(x)) for r in result]
    )


def unique_values(x: Any, /) -> ndarray:
    """The distinct values (sorted; NaNs distinct); see ``unique_all``."""
    result = np.unique_values(_unique_value(x, "unique_values"))
    return _core.wrap_value(np.asarray(result), _core.device_of(x))


def unique(
    ar: Any,
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: Any = None,
    *,
    equal_nan: bool = True,
) -> Any:
    """NumPy's ``unique`` (NaNs merged unless ``equal_nan=False``); see ``unique_all``.

    >>> import jitgraph.numpy as jnp
    >>> jnp.unique(jnp.asarray([3, 1, 3])).tolist()
    [1, 3]
    """
    result = np.unique(  # type: ignore[call-overload]
        _unique_value(ar, "unique"),
        return_index=return_index,
        return_inverse=return_inverse,
        return_counts=return_counts,
        axis=axis,
        equal_nan=equal_nan,
    )
    device = _core.device_of(ar)
    if isinstance(result, tuple):
        return tuple(_core.wrap_value(np.asarray(r), device) for r in result)
    return _core.wrap_value(np.asarray(result), device)


__all__ = [
    "argsort",
    "searchsorted",
    "sort",
    "unique",
    "unique_all",
    "unique_counts",
    "unique_inverse",
    "unique_values",
]
