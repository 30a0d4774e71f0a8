"""Input and output specifications of ``function``: ``In``, ``Param`` and ``Out``.

>>> import jitgraph.tensor as T
>>> x = T.dscalar("x")
>>> In(x, value=1.0, name="x_by_name").name
'x_by_name'
"""

from __future__ import annotations

from typing import Any

from jitgraph.ir.graph import Var


class In:
    """A function input with options (Theano's ``In``).

    - ``value``: default used when the argument is not given;
    - ``update``: an expression; the input then keeps its value between calls (starting
      at ``value``) and is replaced by ``update`` after each call;
    - ``name``: the keyword for calls (defaults to the variable's name);
    - ``strict``: the value must be an ndarray of exactly the input's dtype;
    - ``allow_downcast``: accept lossy conversions (overrides the function's setting);
    - ``borrow``/``mutable``: accepted for compatibility; jitgraph never writes to inputs.
    """

    def __init__(
        self,
        variable: Var,
        name: str | None = None,
        value: Any = None,
        update: Any = None,
        mutable: bool = False,
        strict: bool = False,
        allow_downcast: bool | None = None,
        autoname: bool = True,
        implicit: bool | None = None,
        borrow: bool = False,
        shared: bool = False,
    ) -> None:
        if not isinstance(variable, Var):
            raise TypeError(f"In() needs a symbolic variable, got {type(variable).__name__}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"In(name=...) must be a str, got {type(name).__name__}")
        self.variable = variable
        self.name = name if name is not None else (variable.name if autoname else None)
        self.value = value
        self.update = update
        self.mutable = mutable
        self.strict = strict
        self.allow_downcast = allow_downcast
        self.implicit = bool(implicit)
        self.borrow = borrow
        self.shared = shared

    @property
    def has_default(self) -> bool:
        return self.value is not None

    def __repr__(self) -> str:
        return f"In({self.variable!r}, name={self.name!r}, value={self.value!r})"


class Param(In):
    """Theano's older spelling of ``In``: ``Param(y, default=1, name='y_by_name')``."""

    def __init__(
        self,
        variable: Var,
        default: Any = None,
        name: str | None = None,
        mutable: bool = False,
        strict: bool = False,
        allow_downcast: bool | None = None,
        implicit: bool | None = None,
        borrow: bool | None = None,
    ) -> None:
        super().__init__(
            variable,
            name=name,
            value=default,
            mutable=mutable,
            strict=strict,
            allow_downcast=allow_downcast,
            implicit=implicit,
            borrow=bool(borrow),
        )

    @property
    def default(self) -> Any:
        return self.value


class Out:
    """A function output with options: ``borrow=True`` lets the function return an array
    that aliases its inputs or internal storage, instead of a copy."""

    def __init__(self, variable: Var, borrow: bool = False) -> None:
        if not isinstance(variable, Var):
            raise TypeError(f"Out() needs a symbolic variable, got {type(variable).__name__}")
        self.variable = variable
        self.borrow = borrow

    def __repr__(self) -> str:
        return f"Out({self.variable!r}, borrow={self.borrow})"


SymbolicInput = In
SymbolicOutput = Out
