"""Types of graph values: a dtype and a static shape (``None`` where unknown).

A dim known to be 1 is broadcastable: Theano's ``row`` is ``TensorType(dtype, (1, None))``.
A ``TensorType`` is also Theano's type object: ``T.dmatrix`` is one, ``T.dmatrix('x')``
makes a variable of it.

>>> t = TensorType("float64", (1, None))
>>> t.broadcastable, t.ndim, str(t)
((True, False), 2, 'TensorType(float64, row)')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from jitgraph import dtypes

if TYPE_CHECKING:
    from jitgraph.ir.graph import Var

_PATTERN_NAMES = {
    (): "scalar",
    (False,): "vector",
    (True, False): "row",
    (False, True): "col",
    (False, False): "matrix",
}


class Type:
    """Base of all value types. Subclasses are immutable and hashable."""

    def make_variable(self, name: str | None = None) -> Var:
        raise NotImplementedError

    def key(self) -> str:
        """Canonical text used by the structural graph hash."""
        raise NotImplementedError


class TensorType(Type):
    """An n-d array type: ``dtype`` and a static ``shape`` of ints or ``None``."""

    __slots__ = ("dtype", "shape", "_hash", "_numpy_dtype")
    # Set by jitgraph.tensor.var: the Var subclass with the tensor operators.
    variable_class: ClassVar[Any] = None

    dtype: str
    shape: tuple[int | None, ...]
    _hash: int
    _numpy_dtype: np.dtype[Any]  # derived once: the per-call result checks read it

    def __init__(
        self,
        dtype: object,
        shape: Sequence[int | None] | None = None,
        broadcastable: Sequence[bool] | None = None,
    ) -> None:
        if shape is None:
            shape = tuple(1 if b else None for b in (broadcastable or ()))
        elif broadcastable is not None:
            raise TypeError("TensorType takes shape= or broadcastable=, not both")
        norm: list[int | None] = []
        for dim in shape:
            if dim is None:
                norm.append(None)
            elif isinstance(dim, (bool, np.bool_)):
                # Theano's broadcastable pattern given positionally: True means 1.
                norm.append(1 if dim else None)
            else:
                if int(dim) < 0:
                    raise ValueError(f"static shape dims must be >= 0 or None, got {tuple(shape)}")
                norm.append(int(dim))
        object.__setattr__(self, "dtype", dtypes.canonical(dtype))
        object.__setattr__(self, "shape", tuple(norm))
        object.__setattr__(self, "_hash", hash((TensorType, self.dtype, self.shape)))
        object.__setattr__(self, "_numpy_dtype", np.dtype(self.dtype))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("TensorType is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is TensorType and self.dtype == other.dtype and self.shape == other.shape

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[Any, ...]:
        return (TensorType, (self.dtype, self.shape))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return tuple(d == 1 for d in self.shape)

    @property
    def numpy_dtype(self) -> np.dtype[Any]:
        return self._numpy_dtype

    def clone(self, dtype: object = None, shape: Sequence[int | None] | None = None) -> TensorType:
        return TensorType(
            self.dtype if dtype is None else dtype, self.shape if shape is None else shape
        )

    def __call__(self, name: str | None = None) -> Var:
        """Theano's type objects are callable: ``T.dmatrix('x')``."""
        return self.make_variable(name)

    def make_variable(self, name: str | None = None) -> Var:
        cls = TensorType.variable_class
        if cls is None:  # pragma: no cover - jitgraph.tensor is imported by jitgraph
            raise RuntimeError("jitgraph.tensor is not imported")
        return cls(self, name=name)

    def is_super(self, other: TensorType) -> bool:
        """True if every value of ``other`` is a value of this type (same dtype, ndim,
        and this type's static dims are unknown or equal)."""
        return (
            self.dtype == other.dtype
            and self.ndim == other.ndim
            and all(a is None or a == b for a, b in zip(self.shape, other.shape, strict=True))
        )

    def key(self) -> str:
        return f"T[{self.dtype};{','.join('?' if d is None else str(d) for d in self.shape)}]"

    def pattern_name(self) -> str:
        b = self.broadcastable
        if all(d is None or d == 1 for d in self.shape) and b in _PATTERN_NAMES:
            return _PATTERN_NAMES[b]
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"({dims},)" if self.ndim == 1 else f"({dims})"

    def __str__(self) -> str:
        return f"TensorType({self.dtype}, {self.pattern_name()})"

    def __repr__(self) -> str:
        return str(self)

    def describe(self) -> str:
        """User-facing description for error messages: 'float64 matrix (shape (?, ?))'."""
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.dtype} {self.ndim}-d (static shape ({dims}{',' if self.ndim == 1 else ''}))"

    # ---- value checks, used by function() for its inputs and by shared variables
    def value_matches(self, value: np.ndarray) -> bool:
        return (
            value.dtype == self.numpy_dtype
            and value.ndim == self.ndim
            and all(s is None or s == v for s, v in zip(self.shape, value.shape, strict=True))
        )
