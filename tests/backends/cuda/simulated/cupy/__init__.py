"""A simulated GPU: a NumPy-backed stand-in for the part of CuPy that jitgraph uses.

Tests install it as the module ``cupy`` (``tests/backends/cuda/conftest.py``: the fixture
``simulated_gpu``) to run the host side of the CUDA backend on machines without a GPU.
It behaves as real CuPy where that matters to the backend:

- ``ndarray`` wraps a NumPy array (``_array``); ``type(x).__module__ == "cupy"``. Views
  stay views (slicing, ``reshape``, ``transpose``, ``T``), so aliasing bugs show.
- Implicit conversion to NumPy raises ``TypeError`` exactly as CuPy's ``__array__`` does,
  and functions and operators given a NumPy array where a device array belongs raise
  ``TypeError`` (CuPy's "Unsupported type"): a silent host round trip fails the test.
- NumPy functions on stand-in arrays dispatch (``__array_function__`` / ``__array_ufunc__``)
  to the function of the same name here, else NumPy raises ``TypeError``.
- ``empty`` returns garbage (all bits set: NaN, -1), as device memory is not cleared.
- No CUDA code runs: ``RawKernel``, ``RawModule``, ``ElementwiseKernel`` and
  ``cuda.function.Module`` raise ``NotImplementedError``; the fixture ``simulated_gpu``
  replaces the backend's kernel launches by their NumPy evaluation. Under the fixture
  ``emulated_gpu`` instead, ``cuda.function.Module`` runs the generated CUDA C on the host
  (tests/backends/cuda/emulator.py), on the stand-in arrays' memory; ``empty`` then
  allocates 256-byte aligned memory between guard bytes, checked after each launch.
"""

from __future__ import annotations

import builtins
import numbers
import operator
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy import (  # noqa: F401 - dtype names and constants, the same objects as CuPy's
    bool_,
    byte,
    cdouble,
    complex64,
    complex128,
    complexfloating,
    csingle,
    double,
    e,
    finfo,
    float16,
    float32,
    float64,
    floating,
    generic,
    half,
    iinfo,
    inexact,
    inf,
    int8,
    int16,
    int32,
    int64,
    intc,
    integer,
    intp,
    issubdtype,
    longlong,
    nan,
    newaxis,
    number,
    pi,
    promote_types,
    short,
    signedinteger,
    single,
    ubyte,
    uint8,
    uint16,
    uint32,
    uint64,
    uintc,
    uintp,
    ulonglong,
    unsignedinteger,
    ushort,
)

from . import cuda  # noqa: F401 - cupy.cuda, as the real package exposes it

__version__ = "simulated"
bool = np.bool_  # noqa: A001 - CuPy's name for the dtype
dtype = np.dtype

IMPLICIT_CONVERSION = (
    "Implicit conversion to a NumPy array is not allowed. "
    "Please use `.get()` to construct a NumPy array explicitly."
)
_SCALARS = (numbers.Number, np.generic)


def _unsupported(value: Any) -> TypeError:
    return TypeError(f"Unsupported type {type(value)}")


# ============================================================================ wrapping
def _wrap(value: Any) -> ndarray:
    """A stand-in array around the NumPy array ``value`` (no copy)."""
    result = object.__new__(ndarray)
    result._array = value
    return result


def _unwrap(value: Any, originals: dict[int, ndarray] | None = None) -> Any:
    """``value`` for NumPy: stand-in arrays unwrapped (recording them in ``originals``),
    lists and tuples walked; a NumPy array raises TypeError as CuPy does."""
    if isinstance(value, ndarray):
        if originals is not None:
            originals[id(value._array)] = value
        return value._array
    if isinstance(value, np.ndarray):
        raise _unsupported(value)
    if isinstance(value, list | tuple):
        return type(value)(_unwrap(v, originals) for v in value)
    return value


def _rewrap(value: Any, originals: dict[int, ndarray]) -> Any:
    """A NumPy result as CuPy gives it: arrays (and NumPy scalars, which CuPy returns as
    0-d arrays) wrapped, an input array given back as the same stand-in object."""
    if isinstance(value, np.ndarray):
        original = originals.get(id(value))
        return _wrap(value) if original is None else original
    if isinstance(value, np.generic):
        return _wrap(np.asarray(value))
    if isinstance(value, list | tuple):
        return type(value)(_rewrap(v, originals) for v in value)
    return value


def _call(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    originals: dict[int, ndarray] = {}
    args = _unwrap(args, originals)
    kwargs = {k: _unwrap(v, originals) for k, v in kwargs.items()}
    return _rewrap(function(*args, **kwargs), originals)


def _device_function(name: str) -> Callable[..., Any]:
    """The module function ``name``: NumPy's, on stand-in arrays."""
    function = getattr(np, name)

    def device_function(*args: Any, **kwargs: Any) -> Any:
        return _call(function, args, kwargs)

    device_function.__name__ = device_function.__qualname__ = name
    device_function.__doc__ = f"``numpy.{name}`` on simulated device arrays."
    return device_function


# ============================================================================ ufuncs
class ufunc:  # noqa: N801 - CuPy's name
    """A NumPy ufunc on stand-in arrays and scalars only (CuPy's ``Unsupported type``
    for anything else, NumPy arrays and lists included)."""

    def __init__(self, numpy_ufunc: np.ufunc) -> None:
        self._ufunc = numpy_ufunc
        self.__name__ = self.name = numpy_ufunc.__name__
        self.nin, self.nout, self.nargs = numpy_ufunc.nin, numpy_ufunc.nout, numpy_ufunc.nargs

    def __repr__(self) -> str:
        return f"<ufunc '{self.name}'>"

    def _operands(self, args: tuple[Any, ...], originals: dict[int, ndarray]) -> list[Any]:
        operands = []
        for value in args:
            if isinstance(value, ndarray):
                originals[id(value._array)] = value
                operands.append(value._array)
            elif isinstance(value, _SCALARS):
                operands.append(value)
            else:
                raise _unsupported(value)
        return operands

    def _run(
        self, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        originals: dict[int, ndarray] = {}
        operands = self._operands(args, originals)
        out = kwargs.get("out")
        if out is not None:
            outs = out if isinstance(out, tuple) else (out,)
            kwargs["out"] = tuple(self._operands(outs, originals))
            if not builtins.all(isinstance(o, ndarray) for o in outs):
                raise TypeError("out must be a cupy.ndarray")
        return _rewrap(method(*operands, **kwargs), originals)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(self._ufunc, args, kwargs)

    def reduce(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(self._ufunc.reduce, args[:1], {"axis": 0, **_pairs(args[1:], kwargs)})

    def accumulate(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(self._ufunc.accumulate, args[:1], {"axis": 0, **_pairs(args[1:], kwargs)})

    def outer(self, a: Any, b: Any, **kwargs: Any) -> Any:
        return self._run(self._ufunc.outer, (a, b), kwargs)

    def at(self, a: ndarray, indices: Any, b: Any = None) -> None:
        """In place, unbuffered (repeated indices accumulate), as ``numpy.ufunc.at``."""
        if not isinstance(a, ndarray):
            raise _unsupported(a)
        index = _index(indices)
        if b is None:
            self._ufunc.at(a._array, index)
        else:
            self._ufunc.at(a._array, index, _value(b))


def _pairs(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Positional ``axis, dtype, out`` of ``reduce``/``accumulate`` as keywords."""
    return {**dict(zip(("axis", "dtype", "out"), args)), **kwargs}


_NOT_IN_CUPY = {"isnat", "matvec", "spacing", "vecdot", "vecmat"}  # NumPy ufuncs CuPy lacks
_UFUNCS: dict[str, ufunc] = {
    name: ufunc(value)
    for name, value in vars(np).items()
    if isinstance(value, np.ufunc) and name not in _NOT_IN_CUPY
}
globals().update(_UFUNCS)


# ============================================================================ indexing
def _index(key: Any) -> Any:
    """An index (or host data) for NumPy: stand-in arrays unwrapped, lists and tuples
    walked; NumPy arrays, slices and scalars pass (CuPy copies host index arrays to the
    device)."""
    if isinstance(key, ndarray):
        return key._array
    if isinstance(key, list | tuple):
        return type(key)(_index(k) for k in key)
    return key


def _value(value: Any) -> Any:
    return value._array if isinstance(value, ndarray) else value


def _view_key(key: Any) -> Any:
    """``key`` with an Ellipsis, so that indexing every axis by an integer gives a 0-d
    view (CuPy's result) instead of a NumPy scalar."""
    key = key if isinstance(key, tuple) else (key,)
    if builtins.any(k is Ellipsis for k in key):
        return key
    return (*key, Ellipsis)


class _Flags:
    """CuPy's ``flags``: read-only, mirroring the wrapped array's."""

    def __init__(self, array: np.ndarray) -> None:
        self.c_contiguous = builtins.bool(array.flags.c_contiguous)
        self.f_contiguous = builtins.bool(array.flags.f_contiguous)
        self.owndata = builtins.bool(array.flags.owndata)
        self.writeable = builtins.bool(array.flags.writeable)

    def __getitem__(self, name: str) -> builtins.bool:
        keys = {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous"}
        return builtins.bool(getattr(self, keys.get(name, name.lower())))

    def __repr__(self) -> str:
        return (
            f"  C_CONTIGUOUS : {self.c_contiguous}\n  F_CONTIGUOUS : {self.f_contiguous}\n"
            f"  OWNDATA : {self.owndata}"
        )


class _MemoryPointer:
    """``ndarray.data``: the address of the first element (``ptr``)."""

    def __init__(self, array: np.ndarray) -> None:
        self.ptr = int(array.__array_interface__["data"][0])

    def __int__(self) -> int:
        return self.ptr


# ============================================================================ ndarray
class ndarray:  # noqa: N801 - CuPy's name
    """A device array of the simulated GPU: a NumPy array that refuses implicit
    conversion. ``ndarray(shape, dtype=float, memptr=None, strides=None, order='C')``
    allocates (uninitialized memory) as CuPy's constructor does."""

    __slots__ = ("_array",)
    __array_priority__ = 100
    _array: np.ndarray

    def __init__(
        self,
        shape: Any,
        dtype: Any = float,
        memptr: Any = None,
        strides: Any = None,
        order: str = "C",
    ) -> None:
        if memptr is not None or strides is not None:
            raise NotImplementedError("the simulated GPU allocates new arrays only")
        self._array = empty(shape, dtype, order)._array

    # ---- the protocols that keep device values on the device
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError(IMPLICIT_CONVERSION)

    def __array_ufunc__(
        self, numpy_ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any
    ) -> Any:
        standin = _UFUNCS.get(numpy_ufunc.__name__)
        if standin is None:
            return NotImplemented
        if method == "__call__":
            return standin(*inputs, **kwargs)
        implementation = getattr(standin, method, None)
        return NotImplemented if implementation is None else implementation(*inputs, **kwargs)

    def __array_function__(
        self, function: Any, types: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if function.__module__ != "numpy":  # numpy.linalg, numpy.fft, ...: not simulated
            return NotImplemented
        standin = _FUNCTIONS.get(function.__name__)
        if standin is None:
            return NotImplemented
        return standin(*args, **kwargs)

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:
        interface = dict(self._array.__array_interface__)
        interface["version"] = 3
        return interface

    # ---- attributes
    @property
    def shape(self) -> tuple[int, ...]:
        return self._array.shape

    @shape.setter
    def shape(self, value: Any) -> None:
        self._array.shape = value

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._array.dtype

    @property
    def ndim(self) -> int:
        return self._array.ndim

    @property
    def size(self) -> int:
        return self._array.size

    @property
    def itemsize(self) -> int:
        return self._array.itemsize

    @property
    def nbytes(self) -> int:
        return self._array.nbytes

    @property
    def strides(self) -> tuple[int, ...]:
        return self._array.strides

    @property
    def flags(self) -> _Flags:
        return _Flags(self._array)

    @property
    def data(self) -> _MemoryPointer:
        return _MemoryPointer(self._array)

    @property
    def base(self) -> ndarray | None:
        base = self._array.base
        return _wrap(base) if isinstance(base, np.ndarray) else None

    @property
    def device(self) -> cuda.Device:
        return cuda.Device(0)

    @property
    def T(self) -> ndarray:  # noqa: N802 - NumPy's name
        return _wrap(self._array.T)

    @property
    def mT(self) -> ndarray:  # noqa: N802 - NumPy's name
        return _wrap(self._array.mT)

    @property
    def real(self) -> ndarray:
        return _wrap(self._array.real)

    @real.setter
    def real(self, value: Any) -> None:
        self._array.real = _value(value)

    @property
    def imag(self) -> ndarray:
        return _wrap(self._array.imag)

    @imag.setter
    def imag(self, value: Any) -> None:
        self._array.imag = _value(value)

    # ---- explicit transfers and copies
    def get(
        self, stream: Any = None, order: str = "C", out: Any = None, blocking: Any = True
    ) -> Any:
        """A NumPy copy (C order unless ``order`` says otherwise), or into ``out``."""
        if out is not None:
            out[...] = self._array
            return out
        return np.array(self._array, order=order, copy=True)

    def set(self, arr: np.ndarray, stream: Any = None) -> None:
        """Copy the host array ``arr`` in (same shape)."""
        if not isinstance(arr, np.ndarray) or arr.shape != self.shape:
            raise ValueError("Shape mismatch")
        self._array[...] = arr

    def copy(self, order: str = "C") -> ndarray:
        return _wrap(self._array.copy(order=order))

    def __copy__(self) -> ndarray:
        return self.copy()

    def __deepcopy__(self, memo: Any) -> ndarray:
        return self.copy()

    def astype(
        self, dtype: Any, order: str = "K", casting: Any = None, subok: Any = None, copy: Any = True
    ) -> ndarray:
        result = self._array.astype(dtype, order=order, copy=copy, casting=casting or "unsafe")
        return self if result is self._array else _wrap(result)

    def fill(self, value: Any) -> None:
        if isinstance(value, np.ndarray):
            raise _unsupported(value)
        self._array.fill(_value(value))

    def scatter_add(self, slices: Any, value: Any) -> None:
        """``self[slices] += value`` with repeated indices accumulating (``ufunc.at``)."""
        np.add.at(self._array, _index(slices), _value(value))

    def scatter_max(self, slices: Any, value: Any) -> None:
        np.maximum.at(self._array, _index(slices), _value(value))

    def scatter_min(self, slices: Any, value: Any) -> None:
        np.minimum.at(self._array, _index(slices), _value(value))

    def item(self, *args: Any) -> Any:
        return self._array.item(*args)

    def tolist(self) -> Any:
        return self._array.tolist()

    def tobytes(self, order: str = "C") -> bytes:
        return self._array.tobytes(order=order)

    # ---- shape methods that take tuples or varargs
    def reshape(self, *shape: Any, order: str = "C") -> ndarray:
        return _wrap(self._array.reshape(*_unwrap(shape), order=order))

    def transpose(self, *axes: Any) -> ndarray:
        return _wrap(self._array.transpose(*axes))

    def view(self, *args: Any, **kwargs: Any) -> ndarray:
        return _wrap(self._array.view(*args, **kwargs))

    # ---- indexing
    def __getitem__(self, key: Any) -> ndarray:
        return _wrap(self._array[_view_key(_index(key))])

    def __setitem__(self, key: Any, value: Any) -> None:
        self._array[_index(key)] = _value(value)

    def __len__(self) -> int:
        return len(self._array)

    def __iter__(self) -> Iterator[ndarray]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self)))

    # ---- conversions to Python scalars (CuPy allows them on size-1 arrays)
    def _scalar(self, what: str) -> Any:
        if self.size != 1:
            raise TypeError(f"only size-1 arrays can be converted to Python {what}")
        return self._array.reshape(())

    def __float__(self) -> float:
        return float(self._scalar("scalars"))

    def __int__(self) -> int:
        return int(self._scalar("scalars"))

    def __complex__(self) -> complex:
        return complex(self._scalar("scalars"))

    def __bool__(self) -> builtins.bool:
        if self.size > 1:
            raise ValueError(
                "The truth value of an array with more than one element is ambiguous. "
                "Use a.any() or a.all()"
            )
        return builtins.bool(self._array.reshape(()) if self.size else self._array)

    def __index__(self) -> int:
        return operator.index(self._array)

    # ---- printing (as NumPy's: CuPy prints ``array([...])`` too)
    def __repr__(self) -> str:
        return repr(self._array)

    def __str__(self) -> str:
        return str(self._array)

    def __format__(self, spec: str) -> str:
        return format(self._array if self.ndim else self._array[()], spec)


def _forward_method(name: str) -> Callable[..., Any]:
    method = getattr(np.ndarray, name)

    def forwarded(self: ndarray, *args: Any, **kwargs: Any) -> Any:
        return _call(method, (self, *args), kwargs)

    forwarded.__name__ = forwarded.__qualname__ = name
    return forwarded


_FORWARDED_METHODS = (
    "all any argmax argmin argpartition choose clip compress conj conjugate cumprod "
    "cumsum diagonal dot flatten max mean min nonzero partition prod put ravel repeat round "
    "searchsorted squeeze std sum swapaxes take trace var"
).split()
for _name in _FORWARDED_METHODS:
    setattr(ndarray, _name, _forward_method(_name))


def _binary(name: str, reflected: builtins.bool = False) -> Callable[..., Any]:
    function = _UFUNCS[name]

    def operator_method(self: ndarray, other: Any) -> Any:
        return function(other, self) if reflected else function(self, other)

    return operator_method


def _inplace(name: str) -> Callable[..., Any]:
    function = _UFUNCS[name]

    def operator_method(self: ndarray, other: Any) -> ndarray:
        function(self, other, out=self)
        return self

    return operator_method


_OPERATORS = {
    "add": "add",
    "sub": "subtract",
    "mul": "multiply",
    "truediv": "true_divide",
    "floordiv": "floor_divide",
    "mod": "remainder",
    "pow": "power",
    "matmul": "matmul",
    "and": "bitwise_and",
    "or": "bitwise_or",
    "xor": "bitwise_xor",
    "lshift": "left_shift",
    "rshift": "right_shift",
}
for _name, _ufunc_name in _OPERATORS.items():
    setattr(ndarray, f"__{_name}__", _binary(_ufunc_name))
    setattr(ndarray, f"__r{_name}__", _binary(_ufunc_name, reflected=True))
    setattr(ndarray, f"__i{_name}__", _inplace(_ufunc_name))
for _name, _ufunc_name in {
    "eq": "equal",
    "ne": "not_equal",
    "lt": "less",
    "le": "less_equal",
    "gt": "greater",
    "ge": "greater_equal",
    "divmod": "divmod",
}.items():
    setattr(ndarray, f"__{_name}__", _binary(_ufunc_name))
ndarray.__rdivmod__ = _binary("divmod", reflected=True)  # type: ignore[attr-defined]


def _unary(name: str) -> Callable[..., Any]:
    function = _UFUNCS[name]

    def operator_method(self: ndarray) -> Any:
        return function(self)

    return operator_method


for _name, _ufunc_name in {
    "neg": "negative",
    "pos": "positive",
    "abs": "absolute",
    "invert": "invert",
}.items():
    setattr(ndarray, f"__{_name}__", _unary(_ufunc_name))
ndarray.__hash__ = None  # type: ignore[assignment] - unhashable, as CuPy's arrays


# ============================================================================ functions
def array(
    obj: Any,
    dtype: Any = None,
    copy: Any = True,
    order: str = "K",
    subok: Any = False,
    ndmin: int = 0,
    *,
    blocking: Any = False,
) -> ndarray:
    """A device array from ``obj``: host data (NumPy arrays, lists, scalars) is always
    copied to the device; a device array is copied when ``copy`` is true or its dtype,
    order or ndim must change."""
    if isinstance(obj, ndarray):
        result = np.array(obj._array, dtype=dtype, copy=copy, order=order, ndmin=ndmin)
        return obj if result is obj._array else _wrap(result)
    return _wrap(np.array(_index(obj), dtype=dtype, copy=True, order=order, ndmin=ndmin))


def asarray(
    a: Any, dtype: Any = None, order: Any = None, *, copy: Any = None, blocking: Any = False
) -> ndarray:
    return array(a, dtype=dtype, copy=copy, order=order or "K")


def asnumpy(
    a: Any, stream: Any = None, order: str = "C", out: Any = None, *, blocking: Any = True
) -> np.ndarray:
    """A NumPy copy of a device array (other values: ``numpy.asarray``)."""
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return np.asarray(a, order=order)


def ascontiguousarray(a: Any, dtype: Any = None) -> ndarray:
    """``a`` if C-contiguous and of ``dtype``, else a C-contiguous copy (ndim kept)."""
    if not isinstance(a, ndarray):
        raise _unsupported(a)
    result = np.array(a._array, dtype=dtype, order="C", copy=None)
    return a if result is a._array else _wrap(result)


def _garbage(result: np.ndarray) -> ndarray:
    """Uninitialized device memory: every bit set (NaN, -1), never zeros by luck."""
    if result.dtype == np.bool_:
        result.fill(True)
    elif result.size:  # a 0-d or Fortran-ordered array too: a flat view of its memory
        result.reshape(-1, order="A").view(np.uint8).fill(0xFF)
    return _wrap(result)


def empty(shape: Any, dtype: Any = float, order: str = "C") -> ndarray:
    if cuda.function.emulator is not None:
        return _garbage(_guarded_empty(_unwrap(shape), dtype, order))
    return _garbage(np.empty(_unwrap(shape), dtype=dtype, order=order))  # type: ignore[call-overload]


# ---- guarded allocations (emulated GPU only): emulated kernels write into host memory, so
# a write out of bounds would corrupt the process silently. ``empty`` then allocates, as
# CuPy, 256-byte aligned memory, with at least 256 bytes of a known pattern on each side;
# ``_check_guards`` (after each emulated launch) raises if a kernel wrote there.
_GUARD = 256
_GUARD_BYTE = 0xA5
_guarded: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()
_guard_spans: dict[int, tuple[int, int]] = {}


def _guarded_empty(shape: Any, dtype: Any, order: str) -> np.ndarray:
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + 3 * _GUARD, np.uint8)
    start = _GUARD + (-raw.ctypes.data) % _GUARD
    raw[:start] = _GUARD_BYTE
    raw[start + nbytes :] = _GUARD_BYTE
    for key in [k for k in _guard_spans if k not in _guarded]:
        del _guard_spans[key]
    _guarded[id(raw)] = raw
    _guard_spans[id(raw)] = (start, nbytes)
    return raw[start : start + nbytes].view(dtype).reshape(shape, order=order)  # type: ignore[call-overload, no-any-return]


def _check_guards(values: Any, what: str) -> None:
    """Raise RuntimeError if memory next to a guarded allocation among ``values`` (device
    arrays; others are skipped) was written (by ``what``)."""
    for value in values:
        if not isinstance(value, ndarray):
            continue
        root = value._array
        while isinstance(root.base, np.ndarray):
            root = root.base
        if _guarded.get(id(root)) is not root:
            continue
        start, nbytes = _guard_spans[id(root)]
        outside = np.concatenate([root[:start], root[start + nbytes :]])
        if np.any(outside != _GUARD_BYTE):
            first = int(np.flatnonzero(outside != _GUARD_BYTE)[0])
            offset = first - start if first < start else nbytes + first - start
            raise RuntimeError(
                f"{what} wrote outside a device array of {nbytes} bytes "
                f"(at byte offset {offset} from its start)"
            )


def empty_like(
    prototype: Any, dtype: Any = None, order: str = "K", subok: Any = None, shape: Any = None
) -> ndarray:
    return _garbage(np.empty_like(_unwrap(prototype), dtype=dtype, order=order, shape=shape))  # type: ignore[call-overload]


def get_array_module(*args: Any) -> Any:
    """This module when any argument is a device array, else NumPy."""
    import sys

    return sys.modules[__name__] if builtins.any(isinstance(a, ndarray) for a in args) else np


def fuse(*args: Any, **kwargs: Any) -> Any:
    """``cupy.fuse``: the simulated GPU runs the function as it is (op by op)."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda function: function


def is_available() -> builtins.bool:
    return True


_GENERIC_FUNCTIONS = (
    "all allclose amax amin any arange argmax argmin argwhere around array_equal "
    "array_split atleast_1d atleast_2d atleast_3d broadcast_arrays broadcast_to can_cast "
    "clip column_stack concatenate copy copyto count_nonzero cumprod cumsum diag diagflat "
    "diagonal dot dstack einsum expand_dims eye flatnonzero flip fliplr flipud full full_like "
    "hstack identity indices inner isclose lexsort linspace max may_share_memory mean "
    "meshgrid min min_scalar_type moveaxis nan_to_num ndim nonzero ones ones_like outer pad "
    "prod ptp put put_along_axis ravel repeat reshape result_type roll rollaxis rot90 round "
    "searchsorted shape shares_memory size split squeeze stack std sum swapaxes take "
    "take_along_axis tensordot tile trace transpose tri tril triu unique var vdot vstack "
    "where zeros zeros_like"
).split()
for _name in _GENERIC_FUNCTIONS:
    globals()[_name] = _device_function(_name)


def _sort_kind(kind: Any) -> str:
    """CuPy sorts stably and accepts no other kind."""
    if kind not in (None, "stable"):
        raise NotImplementedError(f"sorting with kind={kind!r} is not supported (only stable)")
    return "stable"


def sort(a: Any, axis: Any = -1, kind: Any = None) -> ndarray:
    """A stably sorted copy (``kind``: None or 'stable' only, as CuPy)."""
    return _call(np.sort, (a,), {"axis": axis, "kind": _sort_kind(kind)})  # type: ignore[no-any-return]


def argsort(a: Any, axis: Any = -1, kind: Any = None) -> ndarray:
    """Indices of a stable sort (``kind``: None or 'stable' only, as CuPy)."""
    return _call(np.argsort, (a,), {"axis": axis, "kind": _sort_kind(kind)})  # type: ignore[no-any-return]


def _sort_in_place(self: ndarray, axis: Any = -1, kind: Any = None) -> None:
    self._array.sort(axis=axis, kind=_sort_kind(kind))


def _argsort_method(self: ndarray, axis: Any = -1, kind: Any = None) -> ndarray:
    return argsort(self, axis, kind)


ndarray.sort = _sort_in_place  # type: ignore[attr-defined]
ndarray.argsort = _argsort_method  # type: ignore[attr-defined]


class _NoKernels:
    """CUDA code: the simulated GPU compiles and runs none."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("the simulated GPU runs no CUDA code")


class RawKernel(_NoKernels):
    pass


class RawModule(_NoKernels):
    pass


class ElementwiseKernel(_NoKernels):
    pass


class ReductionKernel(_NoKernels):
    pass


class _MemoryPool:
    """CuPy's memory pools, with nothing pooled."""

    def used_bytes(self) -> int:
        return 0

    def total_bytes(self) -> int:
        return 0

    def free_bytes(self) -> int:
        return 0

    def free_all_blocks(self, stream: Any = None) -> None:
        return None

    def set_limit(self, size: Any = None, fraction: Any = None) -> None:
        return None

    def get_limit(self) -> int:
        return 0


_POOL, _PINNED_POOL = _MemoryPool(), _MemoryPool()


def get_default_memory_pool() -> _MemoryPool:
    return _POOL


def get_default_pinned_memory_pool() -> _MemoryPool:
    return _PINNED_POOL


# What ``__array_function__`` dispatches to: the public functions of this module.
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: value
    for name, value in globals().items()
    if not name.startswith("_") and callable(value) and not isinstance(value, type | ufunc)
}
