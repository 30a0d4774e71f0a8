"""Shared variables: graph inputs whose value lives between calls.

>>> import numpy as np
>>> import jitgraph
>>> w = jitgraph.shared(np.zeros(3), name="w")
>>> w.type, w.get_value().shape
(TensorType(float64, vector), (3,))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jitgraph.backends.cuda.runtime import is_device_array
from jitgraph.compile.convert import filter_device_value, filter_value
from jitgraph.ir.graph import Var, type_name
from jitgraph.ir.types import TensorType
from jitgraph.tensor.var import _TensorOperators


class Container:
    """A box holding one value; functions read and commit through it."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Container({self.value!r})"


class SharedVariable(Var):
    """A variable with a value stored outside any function (Theano's SharedVariable).

    Every function using it reads the current value at call time; updates are
    committed after the call. ``default_update`` (an expression) is applied by every
    function that uses the variable, unless the function is built with
    ``no_default_updates``.
    """

    __slots__ = ("container", "strict", "allow_downcast", "default_update")

    def __init__(
        self,
        type: TensorType,
        value: Any,
        name: str | None = None,
        strict: bool = False,
        allow_downcast: bool | None = None,
        borrow: bool = False,
    ) -> None:
        super().__init__(type, name=name)
        self.strict = strict
        self.allow_downcast = allow_downcast
        self.default_update: Var | None = None
        self.container = Container(self._filter(value, borrow))

    def _filter(self, value: Any, borrow: bool) -> Any:
        convert = filter_device_value if is_device_array(value) else filter_value
        try:
            data = convert(
                self.type,
                value,
                self.strict,
                self.allow_downcast,
                downcast_hint=" or create the shared variable with allow_downcast=True",
            )
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{self.describe()}: {exc}") from None
        if data is value and not borrow:
            data = data.copy()
        return data

    def get_value(self, borrow: bool = False, return_internal_type: bool = False) -> Any:
        """The current value (a copy unless ``borrow=True``), as a NumPy array; with
        ``return_internal_type=True``, as stored: a CuPy array once a CUDA function used
        the variable (or it was given one)."""
        value = self.container.value
        if is_device_array(value) and not return_internal_type:
            return value.get()
        return value if borrow else value.copy()

    def set_value(self, value: Any, borrow: bool = False) -> None:
        """Replace the value; it is converted to the variable's type (or TypeError)."""
        self.container.value = self._filter(value, borrow)

    @property
    def value(self) -> Any:
        return self.get_value()

    def clone(self) -> Var:
        return self

    def describe(self) -> str:
        """'the shared variable 'w' (created at file.py:3)': says it is shared, as users
        never list shared variables among a function's inputs."""
        label = repr(self.name) if self.name else f"of type {self.type}"
        where = f" (created at {self.created_at})" if self.created_at else ""
        return f"the shared variable {label}{where}"

    def __repr__(self) -> str:
        return self.name or f"<{self.type}>"

    __str__ = __repr__


class TensorSharedVariable(_TensorOperators, SharedVariable):
    __slots__ = ()


def shared(
    value: Any,
    name: str | None = None,
    strict: bool = False,
    allow_downcast: bool | None = None,
    borrow: bool = False,
    shape: Any = None,
    broadcastable: Any = None,
) -> TensorSharedVariable:
    """A shared variable holding ``value``; its type comes from the value.

    Dims are of unknown size (the value's shape may change with ``set_value``) unless
    ``shape=`` or ``broadcastable=`` fixes them. ``borrow=True`` keeps the given array
    instead of copying it.

    >>> import jitgraph
    >>> state = jitgraph.shared(0)
    >>> state.dtype, state.get_value()
    ('int64', array(0))
    """
    data = _shared_data(value)
    if shape is None and broadcastable is None:
        shape = (None,) * data.ndim
    ttype = TensorType(data.dtype, shape, broadcastable)
    return TensorSharedVariable(
        ttype,
        data,
        name=name,
        strict=strict,
        allow_downcast=allow_downcast,
        # a freshly converted array is private already: no second copy
        borrow=borrow or data is not value,
    )


def _shared_data(value: Any) -> Any:
    """``value`` as an array for ``shared()``, or TypeError saying why it cannot be one
    (a CuPy array is kept on the GPU)."""
    if is_device_array(value):
        return value
    if isinstance(value, Var):
        raise TypeError(f"shared() needs a value, got the symbolic variable {value.describe()}")
    if not isinstance(value, (list, tuple, int, float, complex, bool, np.generic, np.ndarray)):
        raise TypeError(f"shared() needs an array or a number, got {type_name(value)}")
    try:
        data = np.asarray(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(
            f"shared() needs an array or a number, got {type_name(value)}: {exc}"
        ) from None
    if data.dtype == object or data.dtype.kind not in "biufc":
        raise TypeError(f"shared() needs numbers, got {type_name(value)} (dtype {data.dtype})")
    return data
