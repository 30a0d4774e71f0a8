"""The array of ``jitgraph.numpy`` and the engine that evaluates it lazily.

A :class:`ndarray` holds a concrete NumPy value, a graph variable, or both. Operations
build graph nodes (through ``jitgraph.tensor``) and compute nothing; when a value is
needed (``numpy.asarray``, printing, ``float()``, ``bool()``, iteration, ...) the pending
graph behind it is compiled as one program, optimized and fused, and run. Programs are
kept by structure: the key numbers the concrete leaves by their dtype and broadcast pattern
(not their sizes), so the next evaluation of the same expression on new data, of any size,
reuses the compiled code without optimizing again.

Under ``@jit`` the same functions build the traced graph: the arguments are symbolic
inputs, and anything that needs a value raises :class:`TracerError`.

Devices: an array lives on 'cpu' (a NumPy value) or 'cuda' (a CuPy value; made with
``device='cuda'`` in a creation function, ``x.to_device('cuda')`` or ``jnp.asarray`` of a
CuPy array). Every array is committed to its device: the pending graph of a result knows
it (the ``device`` tag of its variables), a program runs on the device of its arrays, and
arrays of different devices in one operation raise ValueError. NumPy arrays, lists and
Python scalars are host data, moved to the device like the arguments of ``function``.
Values reach the host only on request (``numpy.asarray``, ``float``, ``item``, ``tolist``,
printing), as in JAX.

>>> import jitgraph.numpy as jnp
>>> x = jnp.arange(4.0)
>>> y = jnp.exp(x) * 2 + 1      # nothing computed yet
>>> float(y.sum()) > 0
True
"""

from __future__ import annotations

import collections
import contextlib
import math
import sys
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.backends.cuda import runtime
from jitgraph.ir.graph import Const, Node, Var, user_source_line
from jitgraph.ir.types import TensorType

PYTHON_SCALARS = dtypes.PYTHON_SCALARS
DEFAULT_DTYPES = dtypes.NUMPY_DEFAULT_DTYPES

# A pending graph longer than this is evaluated when the next operation extends it, so a
# Python loop that never asks for a value compiles one repeating chunk, not one huge graph.
PENDING_LIMIT = 200
# Compiled programs kept per process (least recently used dropped first).
PROGRAM_CACHE_SIZE = 512


class TracerError(TypeError):
    """A concrete value was needed of an array that is only known when the compiled
    function runs (Python control flow or a data-dependent shape under ``@jit``)."""


def _hint() -> str:
    return (
        "Use jnp.where(condition, a, b) for an elementwise choice, jitgraph.ifelse.ifelse for "
        "a lazily evaluated branch, jitgraph.scan for a loop, or pass the value as a static "
        "argument (jit(f, static_argnums=...))."
    )


class _TraceState(threading.local):
    depth = 0


_trace = _TraceState()


@contextlib.contextmanager
def tracing() -> Iterator[None]:
    """Marks the dynamic extent of a ``@jit`` trace (no automatic evaluation inside)."""
    _trace.depth += 1
    try:
        yield
    finally:
        _trace.depth -= 1


def is_tracing() -> bool:
    return _trace.depth > 0


# ----------------------------------------------------------------------------- the array
class ndarray:  # noqa: N801 - NumPy's name
    """An array of ``jitgraph.numpy``: NumPy's interface, evaluated lazily.

    Make one with ``jnp.asarray``/``jnp.array`` or any creation function. Values are
    immutable except through the array's own in-place operators and item assignment,
    which rebind this array (other arrays made from it keep their values).

    ``device`` is 'cpu' or 'cuda' (a CuPy value, see the module docstring). Conversions
    to host values (``numpy.asarray(x)``, ``float(x)``, ``x.item()``, ``x.tolist()``,
    ``repr``) copy a 'cuda' array's value to the host; operations keep it on the GPU.
    """

    __slots__ = ("_var", "_value", "_base", "_views", "__weakref__")
    __array_priority__ = 100.0
    __hash__ = None  # type: ignore[assignment]  # arrays compare elementwise

    _var: Var | None
    _value: Any  # a NumPy array, a CuPy array ('cuda'), or None while pending
    _base: ndarray | None
    _views: weakref.WeakValueDictionary[int, ndarray] | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            "jitgraph.numpy.ndarray is not constructed directly: use jnp.asarray(...), "
            "jnp.array(...), jnp.zeros(...) or another creation function"
        )

    # ---- internal constructors
    @classmethod
    def _make(cls, var: Var | None, value: np.ndarray | None) -> ndarray:
        self = object.__new__(cls)
        self._var = var
        self._value = value
        self._base = None
        self._views = None
        return self

    @property
    def _variable(self) -> Var:
        """The graph variable of this array (a leaf holding its value when concrete)."""
        var = self._var
        if var is None:
            var = self._var = leaf(self._value)
        return var

    # ---- what NumPy code reads without computing
    @property
    def dtype(self) -> np.dtype[Any]:
        if self._value is not None:
            return self._value.dtype
        return self._var.type.numpy_dtype  # type: ignore[union-attr]

    @property
    def ndim(self) -> int:
        if self._value is not None:
            return self._value.ndim
        return self._var.type.ndim  # type: ignore[union-attr]

    @property
    def shape(self) -> tuple[Any, ...]:
        if self._value is not None:
            return self._value.shape
        static = self._var.type.shape  # type: ignore[union-attr]
        if None not in static:
            return static
        if is_traced(self):
            return tuple(
                d if d is not None else symbolic_dim(self, i) for i, d in enumerate(static)
            )
        return self.value.shape

    @property
    def size(self) -> Any:
        n: Any = 1
        for d in self.shape:
            n = n * d
        return n

    @property
    def device(self) -> str:
        """'cpu' or 'cuda': where the value lives (a pending array: where it will)."""
        if self._value is not None:
            return "cuda" if runtime.is_device_array(self._value) else "cpu"
        return graph_device(self._var) or "cpu"  # type: ignore[arg-type]

    def to_device(self, device: Any, /, *, stream: Any = None) -> ndarray:
        """This array on ``device`` ('cpu', 'cuda' or an alias such as 'gpu'): itself when
        it is there already, else a copy there (a pending array is computed first, on its
        own device). 'cuda' without CuPy or a GPU raises ``CudaUnavailableError``.

        >>> import jitgraph.numpy as jnp
        >>> jnp.arange(3).to_device("cpu").device
        'cpu'
        """
        if stream is not None:
            raise ValueError("to_device: stream= is not supported (CuPy's current stream is used)")
        return move_to(self, device)

    def __array_namespace__(self, *, api_version: str | None = None) -> Any:
        if api_version not in (None, "2021.12", "2022.12", "2023.12", "2024.12"):
            raise ValueError(f"jitgraph.numpy does not implement Array API {api_version!r}")
        import jitgraph.numpy

        return jitgraph.numpy

    # ---- values
    @property
    def value(self) -> Any:
        """The value where it lives, computing the pending graph if needed: a read-only
        NumPy array ('cpu') or a CuPy array ('cuda', not copied: do not write to it)."""
        if self._value is None:
            evaluate([self])
        return self._value

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """The NumPy value; a 'cuda' array is copied to the host (``copy=False`` raises)."""
        if copy is False and self.device == "cuda":
            raise ValueError("__array__: copy=False, but a 'cuda' array is copied to the host")
        value = concrete(self, "numpy.asarray() of an array")
        if dtype is not None and np.dtype(dtype) != value.dtype:
            if copy is False:
                raise ValueError(f"__array__: converting {value.dtype} to {dtype} needs a copy")
            return value.astype(dtype)
        if copy:
            return value.copy()
        return value

    def __bool__(self) -> bool:
        return bool(concrete(self, "bool() of an array (an if/while condition, and, or, not)"))

    def __float__(self) -> float:
        return float(concrete(self, "float() of an array"))

    def __int__(self) -> int:
        return int(concrete(self, "int() of an array"))

    def __complex__(self) -> complex:
        return complex(concrete(self, "complex() of an array"))

    def __index__(self) -> int:
        value = concrete(self, "using an array as an index (operator.index)")
        if value.dtype.kind not in "biu" or value.ndim:
            raise TypeError(
                f"only 0-d integer arrays can be used as an index, got a {value.ndim}-d "
                f"{value.dtype} array"
            )
        return int(value)

    def item(self, *args: Any) -> Any:
        return concrete(self, "item()").item(*args)

    def tolist(self) -> Any:
        return concrete(self, "tolist()").tolist()

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of unsized object (a 0-d array)")
        n = self.shape[0]
        if isinstance(n, ndarray):
            raise TracerError(
                f"len() of a traced array whose length is known only at run time "
                f"(at {user_source_line()}); use x.shape[0] in array expressions. {_hint()}"
            )
        return int(n)

    def __iter__(self) -> Iterator[ndarray]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        n = self.shape[0]
        if isinstance(n, ndarray):
            raise TracerError(
                f"iterating over a traced array whose length is known only at run time (at "
                f"{user_source_line()}). {_hint()}"
            )
        if not is_traced(self):
            self.value  # noqa: B018 - one evaluation, then cheap concrete rows
        return (self[i] for i in range(int(n)))

    def __repr__(self) -> str:
        if is_traced(self):
            return f"traced ndarray({self._var.type})"  # type: ignore[union-attr]
        text = repr(concrete(self, "repr()"))
        return "jnp." + text if text.startswith("array(") else text

    def __str__(self) -> str:
        if is_traced(self):
            return repr(self)
        return str(concrete(self, "str()"))

    def __format__(self, spec: str) -> str:
        if is_traced(self):
            return format(repr(self), spec)
        value = concrete(self, "format()")
        return format(value.item() if value.ndim == 0 else value, spec)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (np.array(concrete(self, "pickling an array")),))

    def __copy__(self) -> ndarray:
        return self

    def __deepcopy__(self, memo: Any) -> ndarray:
        return self

    def __dlpack__(
        self,
        *,
        stream: Any = None,
        max_version: tuple[int, int] | None = None,
        dl_device: tuple[int, int] | None = None,
        copy: bool | None = None,
    ) -> Any:
        if self.device == "cuda":  # CuPy's own export, on the GPU
            given = {"stream": stream, "max_version": max_version, "dl_device": dl_device}
            given["copy"] = copy
            return self.value.__dlpack__(**{k: v for k, v in given.items() if v is not None})
        if stream is not None:
            raise ValueError("__dlpack__: stream must be None for CPU arrays")
        if dl_device not in (None, (1, 0)):
            raise ValueError(f"__dlpack__: cannot export to device {dl_device} (CPU only)")
        value = concrete(self, "__dlpack__")
        if copy:
            value = value.copy()
        kwargs: dict[str, Any] = {} if max_version is None else {"max_version": max_version}
        return value.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        if self.device == "cuda":
            return (2, int(self.value.device.id))  # kDLCUDA, CuPy's device
        return (1, 0)  # kDLCPU

    # ---- operators (elementwise with NumPy's loop dtypes; reflected forms swap operands)
    def __add__(self, other: Any) -> Any:
        return _binary("add", self, other)

    def __radd__(self, other: Any) -> Any:
        return _binary("add", other, self)

    def __iadd__(self, other: Any) -> Any:
        return self._inplace("add", other, "+=")

    def __sub__(self, other: Any) -> Any:
        return _binary("subtract", self, other)

    def __rsub__(self, other: Any) -> Any:
        return _binary("subtract", other, self)

    def __isub__(self, other: Any) -> Any:
        return self._inplace("subtract", other, "-=")

    def __mul__(self, other: Any) -> Any:
        return _binary("multiply", self, other)

    def __rmul__(self, other: Any) -> Any:
        return _binary("multiply", other, self)

    def __imul__(self, other: Any) -> Any:
        return self._inplace("multiply", other, "*=")

    def __truediv__(self, other: Any) -> Any:
        return _binary("true_divide", self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return _binary("true_divide", other, self)

    def __itruediv__(self, other: Any) -> Any:
        return self._inplace("true_divide", other, "/=")

    def __floordiv__(self, other: Any) -> Any:
        return _binary("floor_divide", self, other)

    def __rfloordiv__(self, other: Any) -> Any:
        return _binary("floor_divide", other, self)

    def __ifloordiv__(self, other: Any) -> Any:
        return self._inplace("floor_divide", other, "//=")

    def __mod__(self, other: Any) -> Any:
        return _binary("remainder", self, other)

    def __rmod__(self, other: Any) -> Any:
        return _binary("remainder", other, self)

    def __imod__(self, other: Any) -> Any:
        return self._inplace("remainder", other, "%=")

    def __pow__(self, other: Any) -> Any:
        return _binary("power", self, other)

    def __rpow__(self, other: Any) -> Any:
        return _binary("power", other, self)

    def __ipow__(self, other: Any) -> Any:
        return self._inplace("power", other, "**=")

    def __and__(self, other: Any) -> Any:
        return _binary("bitwise_and", self, other)

    def __rand__(self, other: Any) -> Any:
        return _binary("bitwise_and", other, self)

    def __iand__(self, other: Any) -> Any:
        return self._inplace("bitwise_and", other, "&=")

    def __or__(self, other: Any) -> Any:
        return _binary("bitwise_or", self, other)

    def __ror__(self, other: Any) -> Any:
        return _binary("bitwise_or", other, self)

    def __ior__(self, other: Any) -> Any:
        return self._inplace("bitwise_or", other, "|=")

    def __xor__(self, other: Any) -> Any:
        return _binary("bitwise_xor", self, other)

    def __rxor__(self, other: Any) -> Any:
        return _binary("bitwise_xor", other, self)

    def __ixor__(self, other: Any) -> Any:
        return self._inplace("bitwise_xor", other, "^=")

    def __lshift__(self, other: Any) -> Any:
        return _binary("left_shift", self, other)

    def __rlshift__(self, other: Any) -> Any:
        return _binary("left_shift", other, self)

    def __ilshift__(self, other: Any) -> Any:
        return self._inplace("left_shift", other, "<<=")

    def __rshift__(self, other: Any) -> Any:
        return _binary("right_shift", self, other)

    def __rrshift__(self, other: Any) -> Any:
        return _binary("right_shift", other, self)

    def __irshift__(self, other: Any) -> Any:
        return self._inplace("right_shift", other, ">>=")

    def __eq__(self, other: Any) -> Any:
        return _binary("equal", self, other)

    def __ne__(self, other: Any) -> Any:
        return _binary("not_equal", self, other)

    def __lt__(self, other: Any) -> Any:
        return _binary("less", self, other)

    def __le__(self, other: Any) -> Any:
        return _binary("less_equal", self, other)

    def __gt__(self, other: Any) -> Any:
        return _binary("greater", self, other)

    def __ge__(self, other: Any) -> Any:
        return _binary("greater_equal", self, other)

    def __neg__(self) -> ndarray:
        return _namespace().negative(self)

    def __pos__(self) -> ndarray:
        return _namespace().positive(self)

    def __invert__(self) -> ndarray:
        return _namespace().invert(self)

    def __abs__(self) -> ndarray:
        return _namespace().absolute(self)

    def __matmul__(self, other: Any) -> Any:
        return _namespace().matmul(self, other) if _operand_ok(other) else NotImplemented

    def __rmatmul__(self, other: Any) -> Any:
        return _namespace().matmul(other, self) if _operand_ok(other) else NotImplemented

    def __imatmul__(self, other: Any) -> Any:
        self._rebind(_namespace().matmul(self, other), "the in-place operator @=")
        return self

    def __divmod__(self, other: Any) -> Any:
        return (_binary("floor_divide", self, other), _binary("remainder", self, other))

    def __rdivmod__(self, other: Any) -> Any:
        return (_binary("floor_divide", other, self), _binary("remainder", other, self))

    # ---- indexing and views (the namespace's functions)
    def __getitem__(self, key: Any) -> ndarray:
        return _namespace().getitem(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._rebind(_namespace().setitem(self, key, value), "item assignment")

    @property
    def T(self) -> ndarray:  # noqa: N802 - NumPy's name
        return _namespace().transpose(self)

    @property
    def mT(self) -> ndarray:  # noqa: N802 - NumPy's name
        return _namespace().matrix_transpose(self)

    @property
    def real(self) -> ndarray:
        return _namespace().real(self)

    @property
    def imag(self) -> ndarray:
        return _namespace().imag(self)

    def reshape(self, *shape: Any, **kwargs: Any) -> ndarray:
        target: Any = shape[0] if len(shape) == 1 else shape
        return _namespace().reshape(self, target, **kwargs)

    def transpose(self, *axes: Any) -> ndarray:
        order: Any = axes
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            order = axes[0]
        return _namespace().transpose(self, order or None)

    # ---- in-place updates rebind this array
    def _rebind(self, new: ndarray, what: str) -> None:
        """Make this array hold ``new``'s value (an in-place operator or item assignment)."""
        if self._base is not None and self._base_is_observed():
            raise ValueError(
                f"{what}: this array is a view of another jitgraph.numpy array (from slicing, "
                "reshape, transpose, ...); NumPy would write through to that array, which "
                "jitgraph.numpy arrays cannot do. Write to the base array, or take .copy() "
                "of the view first"
            )
        if self._views is not None and len(self._views):
            raise ValueError(
                f"{what}: views of this array exist (from slicing, reshape, transpose, ...); "
                "NumPy would change them too, which jitgraph.numpy arrays cannot do. Copy the "
                "views (.copy()) before writing, or write before taking them"
            )
        if new.dtype != self.dtype:
            new = _namespace().astype(new, self.dtype)
        if self._base is not None:  # a view of a base nobody else sees: it stands alone now
            if self._base._views is not None:
                self._base._views.pop(id(self), None)
            self._base = None
        self._var = new._var
        self._value = new._value

    def _base_is_observed(self) -> bool:
        """Whether a write through this view would reach an array someone holds: the base
        (referenced from elsewhere than this view) or another live view of it."""
        root = self._base
        if root is None:
            return False
        if root._views is not None and any(v is not self for v in root._views.values()):
            return True
        # References: this view's _base, the local name and getrefcount's argument.
        return sys.getrefcount(root) > 3

    def _inplace(self, name: str, other: Any, symbol: str) -> Any:
        if not _operand_ok(other):
            return NotImplemented
        what = f"the in-place operator {symbol}"
        result = getattr(_namespace(), name)(self, other)
        if not np.can_cast(result.dtype, self.dtype, casting="same_kind"):
            raise TypeError(
                f"{what}: cannot cast the result ({result.dtype}) back to this array's dtype "
                f"({self.dtype}) with casting rule 'same_kind' (NumPy's rule for in-place "
                "operators)"
            )
        if _static_shape(result) != _static_shape(self):
            raise ValueError(
                f"{what}: the result's shape {result.shape} differs from this array's shape "
                f"{self.shape} (NumPy's broadcasting of an in-place operator cannot grow it)"
            )
        self._rebind(result, what)
        return self


def _static_shape(x: ndarray) -> tuple[Any, ...]:
    shape = x.shape
    return tuple(d if isinstance(d, int) else None for d in shape)


def _rebuild(value: np.ndarray) -> ndarray:
    return wrap_value(value)  # a pickled 'cuda' array comes back on the host


def _namespace() -> Any:
    import jitgraph.numpy

    return jitgraph.numpy


# ----------------------------------------------------------------------------- leaves
def leaf(value: Any, committed: bool = True) -> Var:
    """A graph input holding ``value`` (read-only): the evaluator passes it as an argument.
    ``committed``: the value of a jnp array, whose device (the ``device`` tag) binds the
    program; else host data (a NumPy operand) that goes wherever the program runs."""
    if value.dtype.name not in dtypes.ALL:
        raise TypeError(f"jitgraph.numpy has no dtype {value.dtype} (from {value!r:.60})")
    on_device = runtime.is_device_array(value)
    if not value.dtype.isnative and not on_device:  # compiled code reads native byte order
        value = value.astype(value.dtype.newbyteorder("="))
        value.flags.writeable = False
    var = TensorType(value.dtype, value.shape).make_variable()
    var.tag["value"] = value
    if committed or on_device:
        var.tag["device"] = "cuda" if on_device else "cpu"
    return var


# ----------------------------------------------------------------------------- devices
def graph_device(var: Var) -> str | None:
    """The device ``var`` computes on: the ``device`` tag of the committed leaves and
    results it comes from (None: host data and constants only, or under ``@jit``).
    Arrays of different devices raise ValueError naming both."""
    found = var.tag.get("device")
    if found is not None or var.owner is None or _trace.depth:
        return found
    devices: set[str] = set()
    stack = list(var.owner.inputs)
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        tagged = current.tag.get("device")
        if tagged is not None:
            devices.add(tagged)
        elif current.owner is not None and "value" not in current.tag:
            stack.extend(current.owner.inputs)
    if len(devices) > 1:
        raise ValueError(
            f"{var.owner.op}: its operands are on different devices ('cpu' and 'cuda') (at "
            f"{user_source_line()}); jitgraph.numpy moves no committed array implicitly: "
            "move one with x.to_device('cuda') or x.to_device('cpu')"
        )
    device = devices.pop() if devices else None
    if device is not None:
        var.tag["device"] = device
    return device


def device_of(*args: Any) -> str:
    """'cuda' when one of ``args`` (jnp arrays; lists and tuples are searched) is on
    the GPU, else 'cpu': where a result computed on the host from them belongs."""
    for a in args:
        if isinstance(a, ndarray) and not is_traced(a) and a.device == "cuda":
            return "cuda"
        if isinstance(a, (list, tuple)) and device_of(*a) == "cuda":
            return "cuda"
    return "cpu"


def check_device(device: Any, what: str) -> str | None:
    """``device`` as 'cpu' or 'cuda' (None stays None); 'cuda' checks now that CuPy and
    a GPU are there (``CudaUnavailableError``), before anything is built."""
    if device is None:
        return None
    from jitgraph.config import canonical_device

    try:
        name = canonical_device(device)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None
    if name == "cuda":
        runtime.cupy_module()
    return name


def move_to(x: ndarray, device: Any, what: str = "to_device") -> ndarray:
    """``x`` on ``device`` (None: where it is): itself, or a copy made by one explicit
    transfer. Under ``@jit`` a traced array stays as it is (the backend decides)."""
    target = check_device(device, what)
    if target is None or is_traced(x) or x.device == target:
        return x
    value = x.value
    if target == "cuda":
        return wrap_value(runtime.to_device(value))
    return wrap_value(runtime.to_host(value))


# Pending arrays the user still holds, by id of their variable: an evaluation also computes
# those of them that are small (reductions) and on its way, so later uses do not redo the
# pass over the data that produced them.
_live: weakref.WeakValueDictionary[int, ndarray] = weakref.WeakValueDictionary()
SMALL_RESULT = 4096  # elements


def _small_live_intermediates(nodes: Sequence[Node], chosen: set[int]) -> list[ndarray]:
    extra: list[ndarray] = []
    for node in nodes:
        for out in node.outputs:
            if id(out) in chosen:
                continue
            array = _live.get(id(out))
            if array is None or array._var is not out:
                continue
            shape = out.type.shape
            if None not in shape and math.prod(shape) <= SMALL_RESULT:  # type: ignore[arg-type]
                extra.append(array)
    return extra


def wrap(var: Var) -> ndarray:
    """A (lazy) array computing ``var``."""
    if not isinstance(var, Var):
        raise TypeError(f"wrap() takes a graph variable, got {type(var).__name__}")
    if isinstance(var, Const):
        return ndarray._make(var, var.data)
    value = var.tag.get("value")
    if value is not None:
        return ndarray._make(var, value)
    array = ndarray._make(var, None)
    owner = var.owner
    if owner is not None and not _trace.depth:
        # Tags the result (raising for operands of different devices); a result of host
        # data only (lists, NumPy arrays, constants) is a 'cpu' array like any other.
        if graph_device(var) is None:
            var.tag["device"] = "cpu"
        _live[id(var)] = array
        pending = 1 + sum(v.tag.get("pending", 0) for v in owner.inputs)
        var.tag["pending"] = pending
        if pending > PENDING_LIMIT:
            evaluate([array])
    return array


def wrap_value(value: Any, device: str | None = None) -> ndarray:
    """A concrete array holding ``value`` (not copied; a NumPy value is made read-only),
    a CuPy value on 'cuda'. ``device``: where the array goes (a host value computed for
    a 'cuda' input goes back to the GPU)."""
    if not runtime.is_device_array(value):
        value = np.asarray(value)
    if value.dtype.name not in dtypes.ALL:
        raise TypeError(f"jitgraph.numpy has no dtype {value.dtype}")
    if device == "cuda":
        value = runtime.to_device(value)
    elif device == "cpu":
        value = runtime.to_host(value)
    if isinstance(value, np.ndarray) and value.flags.writeable:
        value.flags.writeable = False
    return ndarray._make(None, value)


def trace_input(ttype: TensorType, name: str | None = None, weak: bool = False) -> ndarray:
    """A symbolic array for ``@jit`` tracing. ``weak``: it stands for a Python scalar, so
    it promotes weakly (NEP 50) like the scalar would."""
    var = ttype.make_variable(name)
    var.tag["traced"] = True
    if weak:
        var.tag["weak"] = True
    return ndarray._make(var, None)


_PYTHON_TYPE_OF_KIND = {"b": bool, "i": int, "u": int, "f": float, "c": complex}


def weak_type(x: Any) -> type | None:
    """The Python scalar type ``x`` promotes as (NEP 50), or None for a strong operand."""
    if type(x) in PYTHON_SCALARS:
        return type(x)
    if isinstance(x, ndarray) and x._var is not None and x._var.tag.get("weak"):
        return _PYTHON_TYPE_OF_KIND[x._var.type.numpy_dtype.kind]
    return None


# ----------------------------------------------------------------------------- conversion
def dtype_of(x: Any) -> np.dtype[Any]:
    """The dtype ``x`` has as an array (a Python scalar: NumPy's default for its type)."""
    if isinstance(x, ndarray):
        return x.dtype
    if isinstance(x, Var):
        return x.type.numpy_dtype
    if type(x) in PYTHON_SCALARS:
        return np.dtype(DEFAULT_DTYPES[type(x)])
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype
    return np.asarray(x).dtype


def as_var(x: Any, dtype: Any = None) -> Var:
    """``x`` as a graph variable: a jnp array's own, a NumPy value as a leaf (copied
    when writeable, so later writes to it cannot change a pending result), a Python
    scalar as a constant of NumPy's default dtype (or ``dtype``)."""
    if isinstance(x, ndarray):
        var = x._variable
    elif isinstance(x, Var):
        var = x
    elif type(x) in PYTHON_SCALARS:
        target = dtype if dtype is not None else DEFAULT_DTYPES[type(x)]
        return _constant(np.asarray(x, dtype=target))
    elif isinstance(x, np.ndarray):
        value = x.copy() if x.flags.writeable else x
        if value.flags.writeable:
            value.flags.writeable = False
        var = leaf(value, committed=False)
    elif isinstance(x, np.generic):
        var = leaf(np.asarray(x), committed=False)
    elif runtime.is_device_array(x):  # a CuPy array: a 'cuda' operand, not copied
        var = leaf(x)
    elif isinstance(x, (list, tuple)) and _contains_array(x):
        var = _namespace().stack([as_var(v) for v in x])._variable
    else:
        try:
            value = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"cannot make an array from {type(x).__name__}: {exc}") from None
        if value.dtype == object:
            raise TypeError(f"cannot make an array from {type(x).__name__} (it gave dtype object)")
        value.flags.writeable = False
        var = leaf(value, committed=False)
    if dtype is not None:
        name = dtypes.canonical(dtype)
        if var.type.dtype != name:
            from jitgraph.tensor.math import cast

            var = cast(var, name)
    return var


def _contains_array(seq: Sequence[Any]) -> bool:
    return any(
        isinstance(v, (ndarray, Var)) or (isinstance(v, (list, tuple)) and _contains_array(v))
        for v in seq
    )


def _constant(value: np.ndarray) -> Var:
    from jitgraph.ir.graph import make_constant

    return make_constant(value, TensorType(value.dtype, value.shape))


# The constants Python scalars became, by (type, value, dtype, ndim): scripts repeat them.
_weak_constants: dict[tuple[Any, ...], Var] = {}


def weak_scalar(value: Any, dtype: Any, ndim: int = 0) -> Var:
    """The Python scalar ``value`` as a constant of ``dtype`` (NEP 50: it takes the other
    operand's dtype) and ``ndim`` size-1 axes. An integer out of the dtype's range raises
    OverflowError, as NumPy 2."""
    target = np.dtype(dtype)
    if type(value) is int and target.kind in "iu":
        info = np.iinfo(target)
        if not info.min <= value <= info.max:
            raise OverflowError(f"Python integer {value} out of bounds for {target}")
    key = (type(value), repr(value), target.name, ndim)  # repr: -0.0 is not 0.0
    found = _weak_constants.get(key)
    if found is None:
        with np.errstate(over="ignore"):
            found = _constant(np.asarray(value, dtype=target).reshape((1,) * ndim))
        if len(_weak_constants) >= 4096:
            _weak_constants.clear()
        _weak_constants[key] = found
    return found


def result_type(*args: Any) -> np.dtype[Any]:
    """NEP 50 promotion of arrays, dtypes and (weak) Python scalars."""
    strong: list[Any] = []
    weak: list[Any] = []
    for a in args:
        kind = weak_type(a)
        if kind is not None:
            weak.append(a if type(a) in PYTHON_SCALARS else kind(0))
        elif isinstance(a, (ndarray, Var, np.ndarray, np.generic)):
            strong.append(dtype_of(a))
        else:
            strong.append(np.dtype(a) if not isinstance(a, (list, tuple)) else dtype_of(a))
    if not strong:
        return np.result_type(*weak) if weak else np.dtype("float64")
    return np.result_type(*strong, *weak)


def operands(*args: Any, dtype: Any = None) -> tuple[list[Var], np.dtype[Any]]:
    """NEP 50 promotion of ``args``: their Vars, all of the common dtype (or ``dtype``)."""
    common = np.dtype(dtype) if dtype is not None else result_type(*args)
    out: list[Var] = []
    for a in args:
        if type(a) in PYTHON_SCALARS:
            out.append(weak_scalar(a, common))
        else:
            out.append(as_var(a, dtype=common))
    return out, common


# ----------------------------------------------------------------------------- elementwise
def _loop_spec(x: Any) -> Any:
    kind = weak_type(x)
    if kind is bool:  # a Python bool promotes as NumPy's bool does
        return np.dtype(bool)
    return kind if kind is not None else dtype_of(x)


def loop_dtypes(ufunc: np.ufunc, args: Sequence[Any]) -> tuple[np.dtype[Any], ...]:
    """NumPy's loop dtypes for ``ufunc`` on ``args`` (weak Python scalars), inputs then
    outputs. NumPy's own TypeError (no loop, e.g. ``bool - bool``) passes through."""
    spec = tuple(_loop_spec(a) for a in args) + (None,) * ufunc.nout
    return tuple(ufunc.resolve_dtypes(spec))


def elementwise(name: str, *args: Any) -> ndarray:
    """The elementwise op ``name`` of the scalar table, with NumPy's loop dtypes."""
    from jitgraph.ops.scalar import SCALAR_OPS
    from jitgraph.tensor.basic import elemwise
    from jitgraph.tensor.math import cast

    ufunc = getattr(np, name)
    loop = loop_dtypes(ufunc, args)
    ins: list[Var | None] = [
        None if type(a) in PYTHON_SCALARS else as_var(a, dtype=want)
        for a, want in zip(args, loop[: len(args)])
    ]
    # A Python scalar becomes a constant of the arrays' rank (no broadcasting node).
    ndim = max((v.type.ndim for v in ins if v is not None), default=0)
    for i, (a, want) in enumerate(zip(args, loop[: len(args)])):
        if ins[i] is None:
            ins[i] = weak_scalar(a, want, ndim)
    if name not in SCALAR_OPS:
        raise NotImplementedError(f"jitgraph has no elementwise op {name!r}")
    out = elemwise(name, *ins)
    want_out = dtypes.canonical(loop[len(args)])
    if out.type.dtype != want_out:
        out = cast(out, want_out)
    return wrap(out)


# ----------------------------------------------------------------------------- shapes and axes
def normalize_axis(axis: Any, ndim: int, argname: str = "axis") -> tuple[int, ...] | None:
    """``axis`` (None, an int or a sequence of ints, negatives counted from the end) as a
    sorted tuple of distinct non-negative axes; None stays None."""
    if axis is None:
        return None
    items = [axis] if not isinstance(axis, (tuple, list)) else list(axis)
    out: list[int] = []
    for a in items:
        if isinstance(a, ndarray):
            a = int(a)
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{argname} must be an int or a tuple of ints, got {a!r}")
        bound = max(ndim, 1)  # a 0-d array takes axis 0 or -1, as NumPy's reductions do
        if not -bound <= a < bound:
            raise np.exceptions.AxisError(int(a), ndim)
        out.append(int(a) % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{argname}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def symbolic_dim(x: ndarray, i: int) -> ndarray:
    """Dimension ``i`` of a traced array, as a traced 0-d int64 array."""
    from jitgraph.tensor.shape import shape_i

    return wrap(shape_i(x._variable, i))


def shape_entries(shape: Any, argname: str = "shape") -> list[Any]:
    """A shape argument (an int, a sequence of ints or 0-d integer arrays) as a list of
    ints and Vars, checked."""
    if isinstance(shape, (int, np.integer)) or (isinstance(shape, ndarray) and shape.ndim == 0):
        shape = (shape,)
    try:
        items = list(shape)
    except TypeError:
        raise TypeError(
            f"{argname} must be an int or a sequence of ints, got {type(shape).__name__}"
        ) from None
    out: list[Any] = []
    for d in items:
        if isinstance(d, ndarray):
            if d.ndim != 0 or d.dtype.kind not in "iu":
                raise TypeError(f"{argname} entries must be integers, got a {d.dtype} array")
            if is_traced(d):
                out.append(d._variable)
                continue
            d = int(d)
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"{argname} entries must be integers, got {d!r}")
        if d < 0:
            raise ValueError(f"negative dimensions are not allowed (got {argname}={tuple(items)})")
        out.append(int(d))
    return out


# ----------------------------------------------------------------------------- evaluation
def is_traced(x: Any) -> bool:
    """Whether ``x`` depends on a ``@jit`` argument (its value exists only at run time)."""
    if not isinstance(x, ndarray) or x._value is not None:
        return False
    if not _trace.depth:
        return False
    stack = [x._var]
    seen: set[int] = set()
    while stack:
        var = stack.pop()
        if var is None or id(var) in seen:
            continue
        seen.add(id(var))
        if var.tag.get("traced"):
            return True
        if "value" in var.tag or var.owner is None:
            continue
        stack.extend(var.owner.inputs)
    return False


def concrete(x: Any, what: str) -> np.ndarray:
    """The NumPy value of ``x`` on the host (a 'cuda' array's value is copied: a host
    conversion the caller asked for); under ``@jit``, a traced ``x`` raises TracerError."""
    if isinstance(x, ndarray):
        if x._value is not None:
            return runtime.to_host(x._value)
        if is_traced(x):
            raise TracerError(
                f"{what} needs the value of a traced array, which exists only when the "
                f"compiled function runs (at {user_source_line()}). {_hint()}"
            )
        return runtime.to_host(x.value)
    if runtime.is_device_array(x):
        return runtime.to_host(x)
    return np.asarray(x)


class _Program:
    """A compiled pending graph: call it with the leaf values in key order. ``exact``: it
    was compiled for the leaves' exact shapes (an op needed static sizes), so the cache
    keys it by those shapes too."""

    __slots__ = ("function", "exact")

    def __init__(self, function: Any, exact: bool) -> None:
        self.function = function
        self.exact = exact


_programs: collections.OrderedDict[Any, _Program] = collections.OrderedDict()
_programs_lock = threading.Lock()
STATS = {"evaluations": 0, "compiles": 0}


def _pattern(var: Var) -> tuple[Any, ...]:
    return tuple(d == 1 for d in var.type.shape)


def _collect(
    targets: Sequence[Var], extra: Callable[[list[Node]], list[Var]] | None = None
) -> tuple[list[Var], list[Node], tuple[Any, ...]]:
    """Walk back from ``targets`` to the leaves (values or constants): the leaves in first-
    visit order, the nodes in topological order, and the structural key of the program.
    ``extra(nodes)`` may name more outputs among the nodes' (appended to ``targets``)."""
    leaves: list[Var] = []
    nodes: list[Node] = []
    number: dict[int, Any] = {}
    key: list[Any] = []
    done_nodes: set[int] = set()

    def visit_root(var: Var) -> None:
        if isinstance(var, Const):
            number[id(var)] = ("C", var.content_key())
            return
        if var.tag.get("traced"):
            raise TracerError(
                f"a value was needed of an array computed from a traced argument, which exists "
                f"only when the compiled function runs (at {user_source_line()}). {_hint()}"
            )
        if "value" not in var.tag:
            raise ValueError(f"{var.describe()} has no value: it is not a jitgraph.numpy array")
        number[id(var)] = len(leaves)
        leaves.append(var)
        key.append(("L", var.type.dtype, _pattern(var)))

    for target in targets:
        stack: list[tuple[Var, bool]] = [(target, False)]
        while stack:
            var, expanded = stack.pop()
            if id(var) in number:
                continue
            owner = var.owner
            if owner is None or "value" in var.tag:
                visit_root(var)
                continue
            if expanded:
                if id(owner) not in done_nodes:
                    done_nodes.add(id(owner))
                    nodes.append(owner)
                    key.append((owner.op, tuple(number[id(v)] for v in owner.inputs)))
                    base = len(number)
                    for j, out in enumerate(owner.outputs):
                        number[id(out)] = ("N", base, j)
                continue
            stack.append((var, True))
            for inp in reversed(owner.inputs):
                if id(inp) not in number:
                    stack.append((inp, False))
    if extra is not None:
        targets.extend(extra(nodes))  # type: ignore[attr-defined]
    key.append(("O", tuple(number[id(t)] for t in targets)))
    return leaves, nodes, tuple(key)


def _general_type(var: Var) -> TensorType:
    return TensorType(var.type.dtype, tuple(1 if d == 1 else None for d in var.type.shape))


def _compile(leaves: Sequence[Var], targets: Sequence[Var], device: str) -> _Program:
    from jitgraph.compile.function import function
    from jitgraph.ir.rebuild import replace

    exact = False
    fresh = {leaf: _general_type(leaf).make_variable() for leaf in leaves}
    try:
        outputs = replace(list(targets), fresh)
    except (TypeError, ValueError):
        # An op that needs its inputs' static sizes: compile for these exact shapes.
        exact = True
        fresh = {leaf: leaf.type.make_variable() for leaf in leaves}
        outputs = replace(list(targets), fresh)
    # A program runs on its arrays' device whatever the ``device`` flag says; on 'cuda'
    # its results are CuPy arrays (function's explicit device, no output_device).
    fn = function(list(fresh.values()), outputs, on_unused_input="ignore", device=device)
    fn.trust_input = True
    STATS["compiles"] += 1
    return _Program(fn, exact)


def _lookup(key: Any) -> _Program | None:
    with _programs_lock:
        program = _programs.get(key)
        if program is not None:
            _programs.move_to_end(key)
        return program


def _remember(key: Any, program: _Program) -> None:
    with _programs_lock:
        _programs[key] = program
        while len(_programs) > PROGRAM_CACHE_SIZE:
            _programs.popitem(last=False)


def evaluate(arrays: Sequence[ndarray]) -> None:
    """Compute the pending arrays among ``arrays`` in one program."""
    pending: list[ndarray] = []
    targets: list[Var] = []
    seen: set[int] = set()
    for a in arrays:
        if a._value is not None:
            continue
        var = a._var
        value = var.tag.get("value") if var is not None else None
        if isinstance(var, Const):
            value = var.data
        if value is not None:
            a._value = value
            continue
        pending.append(a)
        if id(var) not in seen:
            seen.add(id(var))
            targets.append(var)  # type: ignore[arg-type]
    if not targets:
        return

    def live_outputs(nodes: list[Node]) -> list[Var]:
        extra = _small_live_intermediates(nodes, seen)
        pending.extend(extra)
        return [a._var for a in extra]  # type: ignore[misc]

    leaves, _, key = _collect(targets, live_outputs)
    device = _program_device(leaves)
    values = [leaf.tag["value"] for leaf in leaves]
    if device == "cuda":  # host data (NumPy operands) goes to the GPU, as function() does
        values = [runtime.to_device(v) for v in values]
    key = (key, device)
    program = _lookup(key)
    if program is not None and program.exact:
        key = (key, tuple(v.shape for v in values))
        program = _lookup(key)
    if program is None:
        program = _compile(leaves, targets, device)
        if program.exact:
            _remember(key, program)  # marks the structure as shape-specialized
            key = (key, tuple(v.shape for v in values))
        _remember(key, program)
    STATS["evaluations"] += 1
    results = program.function(*values)
    if not isinstance(results, list):
        results = [results]
    by_var: dict[int, np.ndarray] = {}
    for var, result in zip(targets, results, strict=True):
        if device == "cpu":
            result = np.asarray(result)
            if result.flags.writeable:
                result.flags.writeable = False
        var.tag["value"] = result
        var.tag.pop("pending", None)
        by_var[id(var)] = result
    for a in pending:
        a._value = by_var[id(a._var)]


def _program_device(leaves: Sequence[Var]) -> str:
    """The device a program of these leaves runs on: their committed device, 'cpu' when
    none is; committed leaves of both devices raise ValueError (as ``graph_device``)."""
    devices: set[str] = {leaf.tag["device"] for leaf in leaves if "device" in leaf.tag}
    if len(devices) > 1:
        raise ValueError(
            "an expression combines arrays on different devices ('cpu' and 'cuda'); "
            "jitgraph.numpy moves no committed array implicitly: move one with "
            "x.to_device('cuda') or x.to_device('cpu')"
        )
    return devices.pop() if devices else "cpu"


def program_cache_clear() -> None:
    with _programs_lock:
        _programs.clear()


# ----------------------------------------------------------------------------- operators
def _operand_ok(other: Any) -> bool:
    return isinstance(other, (ndarray, Var, np.ndarray, np.generic, list, tuple)) or (
        type(other) in PYTHON_SCALARS
    )


def _binary(name: str, left: Any, right: Any) -> Any:
    """``left <op> right`` for an operator method: the namespace function of that name (an
    operator means what the function means: complex ordering, exact comparisons with
    out-of-range Python ints, ...); NotImplemented for foreign operands."""
    if not (_operand_ok(left) and _operand_ok(right)):
        return NotImplemented
    return getattr(_namespace(), name)(left, right)


def _delegate(name: str) -> Any:
    def method(self: ndarray, *args: Any, **kwargs: Any) -> Any:
        return getattr(_namespace(), name)(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``jnp.{name}(self, ...)``"
    return method


# Methods that are the namespace function of the same name applied to the array.
_METHODS = [
    "all", "any", "argmax", "argmin", "argsort", "astype", "clip", "conj", "cumprod",
    "cumsum", "diagonal", "dot", "max", "mean", "min", "nonzero", "prod", "ravel",
    "repeat", "round", "sort", "squeeze", "std", "sum", "swapaxes", "take", "trace",
    "var", "conjugate", "flatten", "copy",
]  # fmt: skip
for _name in _METHODS:
    setattr(ndarray, _name, _delegate(_name))


# ----------------------------------------------------------------------------- views
def as_view(result: ndarray, base: Any) -> ndarray:
    """Record that ``result`` is, in NumPy, a view of ``base`` (slicing, reshape, transpose,
    ...): writing to either through an in-place operation then raises instead of
    silently not reaching the other."""
    if isinstance(base, ndarray) and result is not base:
        root = base._base if base._base is not None else base
        result._base = root
        if root._views is None:
            root._views = weakref.WeakValueDictionary()
        root._views[id(result)] = result
    return result


# ----------------------------------------------------------------------------- NumPy interop
# NumPy reductions of a ufunc and the namespace function that computes them.
_UFUNC_REDUCTIONS = {
    "add": "sum",
    "multiply": "prod",
    "maximum": "max",
    "minimum": "min",
    "logical_and": "all",
    "logical_or": "any",
}
_UFUNC_ACCUMULATIONS = {"add": "cumsum", "multiply": "cumprod"}


def _to_numpy(x: Any) -> Any:
    if isinstance(x, ndarray):
        return concrete(x, "a NumPy function without a jitgraph.numpy counterpart")
    if isinstance(x, (list, tuple)):
        return type(x)(_to_numpy(v) for v in x)
    if isinstance(x, dict):
        return {k: _to_numpy(v) for k, v in x.items()}
    return x


def _from_numpy(x: Any, device: str = "cpu") -> Any:
    """A NumPy function's result as jnp arrays on ``device`` (that of the jnp inputs: a
    function without a jnp counterpart runs on the host, its result goes back)."""
    if isinstance(x, np.ndarray) and x.dtype.name in dtypes.ALL:
        return wrap_value(x, device)
    if isinstance(x, tuple):
        return tuple(_from_numpy(v, device) for v in x)
    if isinstance(x, list):
        return [_from_numpy(v, device) for v in x]
    return x


def _write_out(out: Any, result: Any) -> Any:
    """NumPy's ``out=``: jnp arrays are rebound, NumPy arrays written."""
    outs = out if isinstance(out, tuple) else (out,)
    results = result if isinstance(result, tuple) else (result,)
    for target, value in zip(outs, results, strict=True):
        if target is None:
            continue
        if isinstance(target, ndarray):
            target._rebind(value if isinstance(value, ndarray) else wrap_value(value), "out=")
        else:
            np.copyto(target, np.asarray(value), casting="same_kind")
    return out if isinstance(out, tuple) and len(out) > 1 else outs[0]


def _array_ufunc(self: ndarray, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    ns = _namespace()
    out = kwargs.pop("out", None)
    target = None
    if method == "__call__" and not kwargs:
        target = getattr(ns, ufunc.__name__, None)
    elif method == "reduce" and ufunc.__name__ in _UFUNC_REDUCTIONS:
        target = getattr(ns, _UFUNC_REDUCTIONS[ufunc.__name__], None)
        kwargs.setdefault("axis", 0)
        if kwargs.get("dtype") is None:
            kwargs.pop("dtype", None)
        if set(kwargs) - {"axis", "keepdims", "dtype"}:
            target = None
    elif method == "accumulate" and ufunc.__name__ in _UFUNC_ACCUMULATIONS:
        target = getattr(ns, _UFUNC_ACCUMULATIONS[ufunc.__name__], None)
        kwargs.setdefault("axis", 0)
        if set(kwargs) - {"axis", "dtype"}:
            target = None
    if target is not None:
        result = target(*inputs, **kwargs)
    else:
        result = getattr(ufunc, method)(*_to_numpy(inputs), **kwargs)
        result = _from_numpy(result, device_of(*inputs))
    if out is not None:
        return _write_out(out, result)
    return result


_signatures: dict[Any, Any] = {}


def _accepts(function: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> bool:
    import inspect

    signature = _signatures.get(function)
    if signature is None:
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            return True
        _signatures[function] = signature
    try:
        signature.bind(*args, **kwargs)
    except TypeError:
        return False
    return True


def _array_function(
    self: ndarray, func: Any, types: Any, args: Sequence[Any], kwargs: dict[str, Any]
) -> Any:
    ns = _namespace()
    module = getattr(func, "__module__", "") or ""
    owner = ns
    for part in module.split(".")[1:]:
        if part.startswith("_"):
            continue
        owner = getattr(owner, part, None)
        if owner is None:
            break
    target = getattr(owner, func.__name__, None) if owner is not None else None
    if target is not None and callable(target) and _accepts(target, args, kwargs):
        return target(*args, **kwargs)
    result = func(*_to_numpy(list(args)), **_to_numpy(kwargs))
    return _from_numpy(result, device_of(*args, *kwargs.values()))


ndarray.__array_ufunc__ = _array_ufunc  # type: ignore[attr-defined]
ndarray.__array_function__ = _array_function  # type: ignore[attr-defined]
