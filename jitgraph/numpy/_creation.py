"""Array creation functions of ``jitgraph.numpy`` (Array API names plus NumPy's).

Defaults are NumPy's: float64 for zeros/ones/eye/linspace, the fill value's dtype for
``full``, int64 for an integer ``arange``. Arrays whose sizes and values are known when the
function is called are made concretely with NumPy (no compilation, and as program inputs
they reuse compiled code for any size); under ``@jit`` a traced size or value builds graph
nodes (alloc, arange, eye, tri) instead, with the same result.

``asarray`` copies a writeable NumPy array (a pending result must not see later writes
to it); ``copy=False`` shares its memory instead, so later writes to that NumPy array
reach the jnp array, including results not yet computed from it.

``device=`` ('cpu', 'cuda' or an alias such as 'gpu'; None: the host, or the device of a
jnp or CuPy input) places the result: a 'cuda' array is made on the host, then copied to
the GPU once. ``asarray`` of a CuPy array gives a 'cuda' array sharing its memory. 'cuda'
without CuPy or a GPU raises ``CudaUnavailableError`` before anything is made.

>>> import jitgraph.numpy as jnp
>>> jnp.zeros((2, 3)).dtype, jnp.arange(5).dtype, jnp.full(2, 7).tolist()
(dtype('float64'), dtype('int64'), [7, 7])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import jitgraph.tensor as T
from jitgraph.backends.cuda import runtime
from jitgraph.ir.graph import Var
from jitgraph.numpy import _core
from jitgraph.numpy._core import ndarray
from jitgraph.ops.creation import Alloc, Eye, Tri
from jitgraph.tensor.creation import arange as tensor_arange
from jitgraph.tensor.math import cast, switch
from jitgraph.tensor.subtensor import getitem

_STRING_KINDS = "OSUVMm"


# ----------------------------------------------------------------------------- helpers
def _check_device(device: Any, what: str) -> str | None:
    """``device`` as 'cpu'/'cuda' (None stays None), checked before anything is made."""
    return _core.check_device(device, what)


def _place(x: ndarray, device: str | None) -> ndarray:
    return _core.move_to(x, device)


def _check_like(like: Any, what: str) -> None:
    if like is not None:
        raise TypeError(f"{what}: like= is not supported by jitgraph.numpy (got {like!r})")


def _as_dtype(dtype: Any, what: str) -> np.dtype[Any] | None:
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{what}: dtype {dtype!r} is not a NumPy dtype") from None


def _cast(x: ndarray, dtype: np.dtype[Any]) -> ndarray:
    if x.dtype == dtype:
        return x
    return _core.wrap(cast(x._variable, dtype.name))


def _holds_array(seq: Sequence[Any]) -> bool:
    return any(
        isinstance(v, ndarray) or (isinstance(v, (list, tuple)) and _holds_array(v)) for v in seq
    )


def _pending(x: Any) -> bool:
    """Whether ``x`` is a jnp array without a value yet (lazy, or traced under @jit)."""
    return isinstance(x, ndarray) and x._value is None


def _static_entries(entries: list[Any]) -> bool:
    return not any(isinstance(d, Var) for d in entries)


def _number(x: Any, what: str) -> Any:
    """A scalar argument: a traced array's Var, else a concrete NumPy/Python value."""
    if _core.is_traced(x):
        return x._variable
    if isinstance(x, ndarray):
        return _core.concrete(x, what)
    return x


# ----------------------------------------------------------------------------- from data
def asarray(
    obj: Any,
    /,
    dtype: Any = None,
    order: Any = None,
    *,
    device: Any = None,
    copy: bool | None = None,
    like: Any = None,
) -> ndarray:
    """``obj`` as a jnp array (Array API and NumPy signature); ``dtype`` casts.

    jnp arrays pass through (``copy=True``: a new array object of the same value).
    A writeable NumPy array is copied unless ``copy=False``, which shares its memory;
    ``copy=False`` raises ValueError where a copy or a cast is needed. ``device``:
    'cpu' or 'cuda' (None: the host, or a jnp or CuPy array's own device); a CuPy array
    gives a 'cuda' array sharing its memory unless ``copy=True``.

    >>> import numpy as np, jitgraph.numpy as jnp
    >>> jnp.asarray([1, 2.5]).dtype, jnp.asarray(np.int8(3), dtype="float32").dtype
    (dtype('float64'), dtype('float32'))
    """
    place = _check_device(device, "asarray")
    _check_like(like, "asarray")
    target = _as_dtype(dtype, "asarray")
    if isinstance(obj, ndarray) and place not in (None, obj.device):
        if copy is False:
            raise ValueError(f"asarray: copy=False but moving to {place!r} needs a copy")
        return _place(asarray(obj, dtype=dtype), place)
    if runtime.is_device_array(obj):
        return _from_device_array(obj, target, place, copy)
    if place == "cuda":
        if copy is False:
            raise ValueError("asarray: copy=False but copying host data to 'cuda' needs a copy")
        return _place(asarray(obj, dtype=dtype, copy=None if copy is None else True), place)
    if isinstance(obj, ndarray):
        if target is None or target == obj.dtype:
            return _core.wrap(obj._variable) if copy else obj
        if copy is False:
            raise ValueError(
                f"asarray: copy=False but converting the {obj.dtype} array to {target} needs a copy"
            )
        return _cast(obj, target)
    if isinstance(obj, (list, tuple)) and _holds_array(obj):
        if copy is False:
            raise ValueError("asarray: copy=False but a list of arrays must be copied (stacked)")
        return _core.wrap(_core.as_var(obj, dtype=target))
    if copy is False:
        try:
            value = np.asarray(obj, dtype=target, copy=False)
        except ValueError as exc:
            raise ValueError(f"asarray: copy=False: {exc}") from None
        return _wrap_checked(value.view(), obj)
    if (
        copy is None
        and isinstance(obj, np.ndarray)
        and not obj.flags.writeable
        and (target is None or target == obj.dtype)
    ):
        return _wrap_checked(obj, obj)
    return _wrap_checked(np.array(obj, dtype=target, copy=True), obj)


def _from_device_array(obj: Any, target: Any, place: str | None, copy: bool | None) -> ndarray:
    """``asarray`` of a CuPy array: a 'cuda' array sharing its memory (``copy=True``, a
    dtype change: a copy on the GPU); ``device='cpu'`` copies it to the host."""
    if place == "cpu":
        if copy is False:
            raise ValueError("asarray: copy=False but moving a CuPy array to 'cpu' needs a copy")
        return asarray(runtime.to_host(obj), dtype=target, copy=None)
    if target is not None and target != obj.dtype:
        if copy is False:
            raise ValueError(
                f"asarray: copy=False but converting the {obj.dtype} array to {target} needs a copy"
            )
        obj = obj.astype(target)
    elif copy:
        obj = obj.copy()
    _check_kind(obj.dtype, obj)
    return _core.wrap_value(obj)


def _check_kind(dtype: np.dtype[Any], obj: Any) -> None:
    if dtype.kind in _STRING_KINDS:
        raise TypeError(
            f"asarray: jitgraph.numpy has no {dtype} arrays (from a "
            f"{type(obj).__name__}); only bool, integer, floating and complex dtypes"
        )


def _wrap_checked(value: np.ndarray, obj: Any) -> ndarray:
    _check_kind(value.dtype, obj)
    if not value.dtype.isnative:
        value = value.astype(value.dtype.newbyteorder("="))
    return _core.wrap_value(value)


def asanyarray(a: Any, dtype: Any = None, order: Any = None, *, like: Any = None) -> ndarray:
    """NumPy's asanyarray: the same as ``asarray`` (jnp has no subclasses)."""
    return asarray(a, dtype=dtype, like=like)


def array(
    object: Any,  # noqa: A002 - NumPy's name
    dtype: Any = None,
    *,
    copy: bool | None = True,
    order: Any = "K",
    subok: bool = False,
    ndmin: int = 0,
    like: Any = None,
    device: Any = None,
) -> ndarray:
    """NumPy's array: ``asarray`` that copies by default, with ``ndmin`` leading axes
    (``device`` as in ``asarray``).

    >>> import jitgraph.numpy as jnp
    >>> jnp.array([1, 2], ndmin=3).shape
    (1, 1, 2)
    """
    result = asarray(object, dtype=dtype, copy=copy, like=like, device=device)
    missing = int(ndmin) - result.ndim
    if missing <= 0:
        return result
    padded = _core.wrap(T.shape_padleft(result._variable, missing))
    return _core.as_view(padded, result) if result is object else padded


def copy(a: Any, order: Any = "K", subok: bool = False) -> ndarray:
    """A copy of ``a`` (a new array, not a view)."""
    return asarray(a, copy=True)


def ascontiguousarray(a: Any, dtype: Any = None, *, like: Any = None) -> ndarray:
    """NumPy's ascontiguousarray: ``a`` with at least one axis (jnp arrays are contiguous)."""
    return array(a, dtype=dtype, copy=None, ndmin=1, like=like)


def from_dlpack(x: Any, /, *, device: Any = None, copy: bool | None = None) -> ndarray:
    """An array from a DLPack producer (copied unless ``copy=False``); a producer on a
    CUDA device (``__dlpack_device__()[0] == 2``) is imported by CuPy, on the GPU."""
    place = _check_device(device, "from_dlpack")
    if isinstance(x, ndarray) or runtime.is_device_array(x):
        return asarray(x, copy=copy, device=place)
    where = getattr(x, "__dlpack_device__", None)
    if where is not None and where()[0] == 2:  # kDLCUDA
        return asarray(runtime.cupy_module().from_dlpack(x), copy=copy, device=place)
    value = np.from_dlpack(x, copy=copy)
    return asarray(value, copy=copy, device=place)


# ----------------------------------------------------------------------------- filled arrays
def _filled(
    entries: list[Any], fill: Any, dtype: np.dtype[Any], device: str | None = None
) -> ndarray:
    """An array of shape ``entries`` (ints and Vars) holding ``fill`` (broadcast) cast to
    ``dtype``: concrete when the shape and value are known, else an alloc node. A
    concrete 'cuda' array is filled on the GPU (only ``fill`` is copied there)."""
    if _static_entries(entries) and not _pending(fill):
        if isinstance(fill, ndarray):
            fill = _core.concrete(fill, "full")
        if device == "cuda":
            small = np.full(np.shape(fill), fill, dtype=dtype)
            _check_kind(small.dtype, fill)
            cupy = runtime.cupy_module()
            filled = cupy.empty(tuple(entries), dtype=small.dtype.newbyteorder("="))
            filled[...] = cupy.asarray(small.astype(filled.dtype, copy=False))
            return _core.wrap_value(filled)
        return _wrap_checked(np.full(entries, fill, dtype=dtype), fill)
    if isinstance(fill, ndarray):
        value = _cast(fill, dtype)._variable
    else:
        data = np.empty(np.shape(fill), dtype=dtype)
        np.copyto(data, fill, casting="unsafe")
        value = _core.as_var(data)
    return _core.wrap(Alloc()(value, *entries))


def _default(dtype: Any, what: str, fallback: Any = "float64") -> np.dtype[Any]:
    found = _as_dtype(dtype, what)
    return found if found is not None else np.dtype(fallback)


def zeros(
    shape: Any, dtype: Any = None, order: Any = "C", *, device: Any = None, like: Any = None
) -> ndarray:
    """An array of zeros (float64 unless ``dtype``).

    >>> import jitgraph.numpy as jnp
    >>> jnp.zeros((2, 0)).shape
    (2, 0)
    """
    place = _check_device(device, "zeros")
    _check_like(like, "zeros")
    return _place(_filled(_entries(shape), 0, _default(dtype, "zeros"), place), place)


def ones(
    shape: Any, dtype: Any = None, order: Any = "C", *, device: Any = None, like: Any = None
) -> ndarray:
    """An array of ones (float64 unless ``dtype``)."""
    place = _check_device(device, "ones")
    _check_like(like, "ones")
    return _place(_filled(_entries(shape), 1, _default(dtype, "ones"), place), place)


def empty(
    shape: Any, dtype: Any = None, order: Any = "C", *, device: Any = None, like: Any = None
) -> ndarray:
    """An array of ``shape`` (its values are unspecified in NumPy; here they are zeros)."""
    place = _check_device(device, "empty")
    _check_like(like, "empty")
    return _place(_filled(_entries(shape), 0, _default(dtype, "empty"), place), place)


def full(
    shape: Any,
    fill_value: Any,
    dtype: Any = None,
    order: Any = "C",
    *,
    device: Any = None,
    like: Any = None,
) -> ndarray:
    """An array of ``shape`` filled with ``fill_value`` (broadcast); the dtype is the
    value's (NumPy's default for a Python number) unless ``dtype``.

    >>> import jitgraph.numpy as jnp
    >>> jnp.full((2,), 1.5).dtype, jnp.full((2,), True).dtype
    (dtype('float64'), dtype('bool'))
    """
    place = _check_device(device, "full")
    _check_like(like, "full")
    target = _default(dtype, "full", _core.dtype_of(fill_value))
    place = place or _core.device_of(fill_value)
    return _place(_filled(_entries(shape), fill_value, target, place), place)


def _entries(shape: Any) -> list[Any]:
    return _core.shape_entries(shape, "shape")


def _like(a: Any, fill: Any, dtype: Any, shape: Any, what: str) -> ndarray:
    """``fill`` in ``a``'s shape (or ``shape``); a dim the graph does not know statically is
    read from the graph, so a lazy ``a`` is not computed."""
    target = _default(dtype, what, _core.dtype_of(a))
    if shape is not None:
        return _filled(_entries(shape), fill, target)
    if not isinstance(a, ndarray):
        return _filled(list(np.shape(a)), fill, target)
    var = a._variable
    dims = [d if d is not None else T.shape_i(var, i) for i, d in enumerate(var.type.shape)]
    return _filled(dims, fill, target)


def zeros_like(
    a: Any, dtype: Any = None, order: Any = "K", subok: bool = True, shape: Any = None,
    *, device: Any = None,
) -> ndarray:  # fmt: skip
    """Zeros with ``a``'s shape and dtype (unless ``shape``/``dtype``)."""
    place = _check_device(device, "zeros_like")
    return _place(_like(a, 0, dtype, shape, "zeros_like"), place or _core.device_of(a))


def ones_like(
    a: Any, dtype: Any = None, order: Any = "K", subok: bool = True, shape: Any = None,
    *, device: Any = None,
) -> ndarray:  # fmt: skip
    """Ones with ``a``'s shape and dtype (unless ``shape``/``dtype``)."""
    place = _check_device(device, "ones_like")
    return _place(_like(a, 1, dtype, shape, "ones_like"), place or _core.device_of(a))


def empty_like(
    prototype: Any, dtype: Any = None, order: Any = "K", subok: bool = True,
    shape: Any = None, *, device: Any = None,
) -> ndarray:  # fmt: skip
    """An array with ``prototype``'s shape and dtype (zeros here)."""
    place = _check_device(device, "empty_like")
    return _place(
        _like(prototype, 0, dtype, shape, "empty_like"), place or _core.device_of(prototype)
    )


def full_like(
    a: Any, fill_value: Any, dtype: Any = None, order: Any = "K", subok: bool = True,
    shape: Any = None, *, device: Any = None,
) -> ndarray:  # fmt: skip
    """``fill_value`` (cast to ``a``'s dtype unless ``dtype``) in ``a``'s shape.

    >>> import jitgraph.numpy as jnp
    >>> jnp.full_like(jnp.arange(3), 2.7).tolist()
    [2, 2, 2]
    """
    place = _check_device(device, "full_like")
    return _place(_like(a, fill_value, dtype, shape, "full_like"), place or _core.device_of(a))


# ----------------------------------------------------------------------------- ranges
def arange(
    start: Any,
    /,
    stop: Any = None,
    step: Any = None,
    *,
    dtype: Any = None,
    device: Any = None,
    like: Any = None,
) -> ndarray:
    """NumPy's arange: ``ceil((stop - start) / step)`` values; int64 for integer bounds,
    float64 for floating ones (or ``dtype``).

    >>> import jitgraph.numpy as jnp
    >>> jnp.arange(1, 2, 0.25).tolist(), jnp.arange(3).dtype
    ([1.0, 1.25, 1.5, 1.75], dtype('int64'))
    """
    place = _check_device(device, "arange")
    _check_like(like, "arange")
    target = _as_dtype(dtype, "arange")
    bounds = [_number(v, "arange") for v in (start, stop, step)]
    if not any(isinstance(b, Var) for b in bounds):
        return _place(_wrap_checked(np.arange(*bounds, dtype=target), start), place)
    begin, end, stride = bounds
    if end is None:
        begin, end = 0, begin
    stride = 1 if stride is None else stride
    if target is None:
        probes = [_probe(v, p) for v, p in ((begin, 0), (end, 1), (stride, 1))]
        target = np.arange(*probes).dtype
    return _core.wrap(tensor_arange(begin, end, stride, dtype=target.name))


def _probe(value: Any, number: int) -> Any:
    """A stand-in for a bound with the same dtype (to ask NumPy for arange's dtype)."""
    if isinstance(value, Var):
        return value.type.numpy_dtype.type(number)
    return value if type(value) in _core.PYTHON_SCALARS else np.asarray(value).dtype.type(number)


def linspace(
    start: Any,
    stop: Any,
    /,
    num: Any = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
    *,
    device: Any = None,
) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop`` (NumPy's algorithm).

    >>> import jitgraph.numpy as jnp
    >>> jnp.linspace(0, 1, 5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    place = _check_device(device, "linspace") or _core.device_of(start, stop)
    target = _as_dtype(dtype, "linspace")
    count = _count(num, "linspace")
    if not (_core.is_traced(start) or _core.is_traced(stop)):
        begin, end = _number(start, "linspace"), _number(stop, "linspace")
        result = np.linspace(
            begin, end, num=count, endpoint=endpoint, retstep=True, dtype=target, axis=axis
        )
        out = _place(_wrap_checked(result[0], start), place)
        return (out, result[1]) if retstep else out
    if axis != 0 or _ndim(start) or _ndim(stop):
        raise NotImplementedError("linspace under @jit: only scalar start and stop, axis=0")
    return _traced_linspace(start, stop, count, endpoint, retstep, target)


def _ndim(value: Any) -> int:
    return value.ndim if isinstance(value, ndarray) else int(np.ndim(value))


def _count(num: Any, what: str) -> int:
    count = int(_core.concrete(num, f"{what}: num") if isinstance(num, ndarray) else num)
    if count < 0:
        raise ValueError(f"{what}: num must be non-negative, got {num!r}")
    return count


def _traced_linspace(
    start: Any, stop: Any, count: int, endpoint: bool, retstep: bool, target: Any
) -> Any:
    computed = _core.result_type(start, stop, float(count))
    divisions = count - 1 if endpoint else count
    start_array = asarray(start, dtype=computed)
    stop_array = asarray(stop, dtype=computed)
    delta = _core.elementwise("subtract", stop_array, start_array)
    steps = asarray(np.arange(count, dtype=computed))
    step: Any = np.nan
    if divisions > 0:
        step = _core.elementwise("true_divide", delta, divisions)
        values = _core.elementwise("multiply", steps, step)
    else:
        values = _core.elementwise("multiply", steps, delta)
    values = _core.elementwise("add", values, start_array)
    if endpoint and count > 1:
        from jitgraph.numpy._manipulation import concat, reshape

        head = _core.wrap(getitem(values._variable, slice(None, -1)))
        values = concat([head, reshape(stop_array, (1,))])
    final = target if target is not None else computed
    if final.kind in "iu":
        values = _core.elementwise("floor", values)
    values = _cast(values, final)
    return (values, step) if retstep else values


def logspace(
    start: Any,
    stop: Any,
    num: Any = 50,
    endpoint: bool = True,
    base: Any = 10.0,
    dtype: Any = None,
    axis: int = 0,
) -> ndarray:
    """``base ** linspace(start, stop, num)`` (NumPy's logspace)."""
    target = _as_dtype(dtype, "logspace")
    count = _count(num, "logspace")
    if not any(_core.is_traced(v) for v in (start, stop, base)):
        values = [_number(v, "logspace") for v in (start, stop, base)]
        return _wrap_checked(
            np.logspace(values[0], values[1], count, endpoint, values[2], target, axis), start
        )
    exponents = linspace(start, stop, count, endpoint=endpoint, axis=axis)
    result = _core.elementwise("power", base, exponents)
    return _cast(result, target) if target is not None else result


# ----------------------------------------------------------------------------- matrices
def eye(
    N: Any,  # noqa: N803 - NumPy's names
    M: Any = None,  # noqa: N803
    k: Any = 0,
    dtype: Any = None,
    order: Any = "C",
    *,
    device: Any = None,
    like: Any = None,
) -> ndarray:
    """Ones on the ``k``-th diagonal of an ``N`` x ``M`` matrix (float64 unless ``dtype``).

    >>> import jitgraph.numpy as jnp
    >>> jnp.eye(2, 3, k=1).tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    place = _check_device(device, "eye")
    _check_like(like, "eye")
    return _place(_matrix(Eye, np.eye, N, M, k, _default(dtype, "eye")), place)


def identity(n: Any, dtype: Any = None, *, like: Any = None) -> ndarray:
    """The ``n`` x ``n`` identity matrix (float64 unless ``dtype``)."""
    _check_like(like, "identity")
    return eye(n, dtype=dtype)


def tri(
    N: Any,  # noqa: N803 - NumPy's names
    M: Any = None,  # noqa: N803
    k: Any = 0,
    dtype: Any = None,
    *,
    like: Any = None,
) -> ndarray:
    """Ones at and below the ``k``-th diagonal of an ``N`` x ``M`` matrix (NumPy's tri)."""
    _check_like(like, "tri")
    return _matrix(Tri, np.tri, N, M, k, _default(dtype, "tri"))


def _matrix(op: type[Eye], numpy_function: Any, n: Any, m: Any, k: Any, dtype: Any) -> ndarray:
    sizes = [_number(v, op.__name__.lower()) for v in (n, n if m is None else m, k)]
    if not any(isinstance(v, Var) for v in sizes):
        for what, v in zip(("N", "M", "k"), sizes):
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, np.integer))
                and not (isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "iu")
            ):
                raise TypeError(f"{op.__name__.lower()}: {what} must be an integer, got {v!r}")
        return _core.wrap_value(numpy_function(*(int(v) for v in sizes), dtype=dtype))
    return _core.wrap(op(dtype.name)(*sizes))


def tril(m: Any, /, k: Any = 0) -> ndarray:
    """``m`` with the elements above the ``k``-th diagonal (of its last two axes) zeroed.

    >>> import jitgraph.numpy as jnp
    >>> jnp.tril(jnp.ones((2, 2)), k=-1).tolist()
    [[0.0, 0.0], [1.0, 0.0]]
    """
    return _triangle(m, k, lower=True)


def triu(m: Any, /, k: Any = 0) -> ndarray:
    """``m`` with the elements below the ``k``-th diagonal (of its last two axes) zeroed."""
    return _triangle(m, k, lower=False)


def _triangle(m: Any, k: Any, lower: bool) -> ndarray:
    what = "tril" if lower else "triu"
    x = asarray(m)
    if x.ndim == 0:
        raise ValueError(f"{what}: the input must be at least 1-d, got a 0-d array")
    var = x._variable
    dims: list[Any] = [
        d if d is not None else T.shape_i(var, x.ndim - 2 + i)
        for i, d in enumerate(var.type.shape[-2:])
    ]
    rows, columns = (dims[0], dims[0]) if len(dims) == 1 else dims
    offset = _number(k, what)
    if isinstance(offset, Var) or not _static_entries([rows, columns]):
        below = _core.wrap(Tri("bool")(rows, columns, offset if lower else offset - 1))
        mask = below if lower else _core.elementwise("logical_not", below)
    else:
        diagonal = int(offset) if lower else int(offset) - 1
        below_value = np.tri(int(rows), int(columns), diagonal, dtype=np.bool_)
        mask = _core.wrap(_core.as_var(below_value if lower else np.logical_not(below_value)))
    zero = _core.as_var(np.zeros((), dtype=x.dtype))
    return _core.wrap(switch(mask._variable, var, zero))


def meshgrid(
    *xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy"
) -> tuple[ndarray, ...]:
    """Coordinate grids from 1-d coordinate arrays (NumPy's meshgrid; a tuple).

    >>> import jitgraph.numpy as jnp
    >>> [g.shape for g in jnp.meshgrid(jnp.arange(2), jnp.arange(3))]
    [(3, 2), (3, 2)]
    """
    from jitgraph.numpy._manipulation import broadcast_arrays, reshape

    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    ndim = len(xi)
    shapes = [[1] * ndim for _ in xi]
    for i, shape in enumerate(shapes):
        shape[i] = -1
    if indexing == "xy" and ndim > 1:
        shapes[0][:2], shapes[1][:2] = [1, -1], [-1, 1]
    grids = [reshape(asarray(x), tuple(shape)) for x, shape in zip(xi, shapes)]
    if not sparse:
        grids = list(broadcast_arrays(*grids))
    if copy:
        grids = [_core.wrap(g._variable) for g in grids]
    return tuple(grids)


__all__ = [
    "arange",
    "array",
    "asanyarray",
    "asarray",
    "ascontiguousarray",
    "copy",
    "empty",
    "empty_like",
    "eye",
    "from_dlpack",
    "full",
    "full_like",
    "identity",
    "linspace",
    "logspace",
    "meshgrid",
    "ones",
    "ones_like",
    "tri",
    "tril",
    "triu",
    "zeros",
    "zeros_like",
]
