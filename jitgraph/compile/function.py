"""``function()``: compile symbolic inputs and outputs into a callable, with Theano's
semantics for defaults, keywords, updates, givens and shared variables.

>>> import jitgraph, jitgraph.tensor as T
>>> x, y = T.dscalars("x", "y")
>>> f = jitgraph.function([x, jitgraph.In(y, value=1.0)], x + y)
>>> f(2.0), f(2.0, y=3.0)
(array(3.), array(5.))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jitgraph.backends.cuda.runtime import (
    is_device_array,
    is_writeable,
    may_share_memory,
    to_device,
    to_host,
)
from jitgraph.backends.kernel import Kernel
from jitgraph.compile.convert import filter_device_value, filter_value
from jitgraph.compile.fastcall import MISS, make_fast_call
from jitgraph.compile.function_graph import CompiledGraph, build_graph
from jitgraph.compile.io import In, Out
from jitgraph.compile.mode import Mode, get_mode
from jitgraph.compile.sharedvalue import Container, SharedVariable
from jitgraph.ir.graph import Const, Graph, Var
from jitgraph.passes.pipeline import Optimized


class UnusedInputError(ValueError):
    """An explicit input that the outputs and updates do not need."""


def function(
    inputs: Sequence[Any],
    outputs: Any = None,
    mode: Any = None,
    updates: Any = None,
    givens: Any = None,
    no_default_updates: bool | Sequence[Var] = False,
    accept_inplace: bool = False,
    name: str | None = None,
    rebuild_strict: bool = True,
    allow_input_downcast: bool | None = None,
    profile: Any = None,
    on_unused_input: str | None = None,
    device: str | None = None,
    output_device: str | None = None,
) -> Function:
    """Compile a callable computing ``outputs`` from ``inputs``.

    ``inputs``: variables, ``In``/``Param`` objects, or ``((var, update), value)`` pairs.
    ``outputs``: a variable (the call returns one array), a list (a list), a dict (a dict),
    ``Out`` objects, or None/[] (nothing). ``updates``: pairs or a dict mapping shared
    variables to new-value expressions, all computed from the state before the call and
    committed together after it. ``givens``: pairs or a dict replacing variables (inputs,
    shared variables, any expression) by other expressions or constants.

    ``device``: 'cpu' or 'cuda' (default: the ``device`` flag; a REFERENCE mode runs on
    the host). On 'cuda' the function runs on the GPU: arguments may be NumPy or CuPy
    arrays, results are CuPy arrays (NumPy with ``output_device='cpu'``, the default when
    the device comes from the flag: Theano's behaviour), and the shared variables it uses
    hold CuPy arrays from now on. Without CuPy or a GPU, 'cuda' raises
    ``CudaUnavailableError`` saying which is missing.
    """
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(
            f"function(inputs=...) must be a list of variables, got {type(inputs).__name__}"
        )
    if on_unused_input is None:
        on_unused_input = "raise"
    if on_unused_input not in ("raise", "warn", "ignore"):
        raise ValueError(
            f"on_unused_input must be 'raise', 'warn' or 'ignore', got {on_unused_input!r}"
        )
    if device is None and output_device is None:
        # The device from the flag moves the computation, not the caller's values: results
        # come back as NumPy arrays, so a program written for the CPU runs unchanged.
        output_device = "cpu"
    specs = [_input_spec(i, item) for i, item in enumerate(inputs)]
    out_vars, borrow, shape = _output_spec(outputs)
    compiled = build_graph(
        specs,
        out_vars,
        updates=updates,
        givens=givens,
        no_default_updates=no_default_updates,
        on_unused_input=on_unused_input,
        mode=get_mode(mode, device),
    )
    return Function(compiled, specs, borrow, shape, name, allow_input_downcast, output_device)


def _input_spec(position: int, item: Any) -> In:
    if isinstance(item, In):
        spec = item
    elif isinstance(item, Var):
        spec = In(item)
    elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], tuple):
        (variable, update), value = item
        spec = In(variable, value=value, update=update)
    elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Var):
        spec = In(item[0], value=item[1])
    else:
        raise TypeError(
            f"function input {position} must be a symbolic variable, In/Param, or "
            f"((variable, update), value); got {type(item).__name__} {item!r}"
        )
    var = spec.variable
    if isinstance(var, SharedVariable):
        raise TypeError(
            f"function input {position} is {var.describe()}: shared "
            "variables are implicit inputs and cannot be listed; to feed a value in its "
            "place, use givens=[(shared_var, new_input)]"
        )
    if isinstance(var, Const):
        raise TypeError(f"function input {position} is a constant ({var!r}), not a variable")
    if var.owner is not None:
        raise TypeError(
            f"function input {position} is {var.describe()}, which is computed from other "
            "variables; inputs must be variables made by a constructor such as T.dmatrix "
            "(use givens= to replace an expression)"
        )
    return spec


def _output_spec(outputs: Any) -> tuple[list[Var], list[bool], Any]:
    """Output variables, their borrow flags, and the shape of the return value:
    'single', 'list' or a tuple of dict keys."""
    if outputs is None:
        return [], [], "list"
    if isinstance(outputs, dict):
        keys = tuple(outputs)
        dict_vars, dict_borrow, _ = _output_spec(list(outputs.values()))
        return dict_vars, dict_borrow, keys
    single = not isinstance(outputs, (list, tuple))
    items = [outputs] if single else list(outputs)
    out_vars: list[Var] = []
    borrow: list[bool] = []
    for position, item in enumerate(items):
        if isinstance(item, Out):
            out_vars.append(item.variable)
            borrow.append(item.borrow)
        elif isinstance(item, Var):
            out_vars.append(item)
            borrow.append(False)
        else:
            raise TypeError(
                f"function output {position} must be a symbolic variable or Out, got "
                f"{type(item).__name__} {item!r}"
            )
    return out_vars, borrow, "single" if single else "list"


def _output_device(device: str) -> str:
    from jitgraph.config import canonical_device

    try:
        return canonical_device(device)
    except ValueError as exc:
        raise ValueError(f"function(output_device=...): {exc}") from None


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


_REQUIRED = _Missing()
_AMBIGUOUS = -1  # the keyword position of a name that several inputs have


def _keyword_positions(specs: Sequence[In]) -> dict[str, int]:
    """Input name -> position, with ``_AMBIGUOUS`` for names given to several inputs."""
    positions: dict[str, int] = {}
    for i, spec in enumerate(specs):
        if spec.name is not None:
            positions[spec.name] = _AMBIGUOUS if spec.name in positions else i
    return positions


def _aliases(value: Any, others: Sequence[Any]) -> bool:
    return any(may_share_memory(value, other) for other in others)


def _detached(
    values: list[np.ndarray], sources: Sequence[Any], borrow: Sequence[bool] | None = None
) -> list[np.ndarray]:
    """``values``, each copied where it is read-only or may share memory with a source or
    an earlier value (unless its ``borrow`` flag is set).

    Outputs must not alias inputs, state or each other (the caller may write to them),
    and a shared variable must own its array: an update ``a <- b`` or ``a <- x`` would
    otherwise tie ``a`` to ``b``'s array or the caller's, and a constant update would
    store a read-only array.
    """
    result: list[np.ndarray] = []
    for i, value in enumerate(values):
        if not (borrow and borrow[i]) and (
            not is_writeable(value) or _aliases(value, [*sources, *result])
        ):
            value = value.copy()
        result.append(value)
    return result


class Function:
    """A compiled function. Call it with positional and/or keyword arguments.

    Attributes: ``name``, ``graph`` (the graph that runs), ``maker.fgraph`` (the same,
    Theano's name), ``trust_input`` (skip argument checks when True), ``input_names``.
    ``f[name]`` reads and ``f[name] = value`` sets an input's default value.
    """

    def __init__(
        self,
        compiled: CompiledGraph,
        specs: list[In],
        borrow: list[bool],
        shape: Any,
        name: str | None,
        allow_input_downcast: bool | None,
        output_device: str | None = None,
    ) -> None:
        self._compiled = compiled
        self.device = compiled.mode.device
        self.output_device = self.device if output_device is None else _output_device(output_device)
        self._specs = specs
        self._borrow = borrow
        self._shape = shape
        self.name = name
        self.trust_input = False
        self.input_names = [s.name for s in specs]
        self._positions = _keyword_positions(specs)
        # What each argument is converted to, decided once (the per-call path reads it).
        self._conversions = [
            (
                spec.variable.type,
                spec.strict,
                allow_input_downcast if spec.allow_downcast is None else spec.allow_downcast,
            )
            for spec in specs
        ]
        # Default values (and the state of inputs with an update) live in containers; an
        # input with an update and no value gets an empty one (required until first set).
        self._defaults: list[Container | None] = []
        for i, spec in enumerate(specs):
            if spec.value is not None:
                self._defaults.append(Container(self._convert_owned(i, spec.value)))
            else:
                self._defaults.append(Container(None) if spec.update is not None else None)
        self._shared: list[Container] = [s.container for s in compiled.shared_vars]
        if self.device == "cuda":  # its shared variables live on the GPU from now on
            for container in self._shared:
                container.value = to_device(container.value)
        self.maker = _Maker(self)
        self._fast_call = make_fast_call(self) if self.device == "cpu" else None

    # ---- introspection
    @property
    def graph(self) -> Graph:
        return self._compiled.graph

    @property
    def mode(self) -> Mode:
        return self._compiled.mode

    @property
    def kernels(self) -> list[Kernel]:
        """The fused kernels of the optimized graph, in execution order (each has
        ``as_text()``)."""
        from jitgraph.passes.fuse import kernels

        return kernels(self.graph)

    @property
    def unoptimized_graph(self) -> Graph:
        """The graph as built from the outputs and updates, before the optimizer ran."""
        return self._compiled.unoptimized

    @property
    def optimizer_report(self) -> Optimized:
        """What each optimizer pass did (``.as_text()``: changed?, time, nodes after)."""
        return Optimized(self.graph, self._compiled.pass_records)

    @property
    def inputs(self) -> list[In]:
        return list(self._specs)

    @property
    def outputs(self) -> list[Var]:
        return list(self._compiled.outputs)

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        args = ", ".join(n or f"<input {i}>" for i, n in enumerate(self.input_names))
        return f"<jitgraph.Function{name}({args})>"

    # ---- defaults: f['y'] / f['y'] = value
    def _position_of(self, key: Any) -> int:
        if isinstance(key, str) and key in self._positions:
            return self._keyword_position(key)
        for i, spec in enumerate(self._specs):
            if spec.variable is key:
                return i
        if isinstance(key, int) and 0 <= key < len(self._specs):
            return key
        raise KeyError(f"{self!r} has no input {key!r}")

    def __getitem__(self, key: Any) -> Any:
        container = self._defaults[self._position_of(key)]
        return None if container is None else container.value

    def __setitem__(self, key: Any, value: Any) -> None:
        i = self._position_of(key)
        converted = self._convert_owned(i, value)
        if self._defaults[i] is None:
            self._defaults[i] = Container(converted)
        else:
            self._defaults[i].value = converted  # type: ignore[union-attr]

    # ---- calling
    def _label(self, position: int) -> str:
        name = self._specs[position].name
        return f"input {position}" + (f" ({name!r})" if name else "")

    def _where(self) -> str:
        return f"function {self.name!r}" if self.name else "function"

    def _keyword_position(self, key: str) -> int:
        position = self._positions[key]
        if position is _AMBIGUOUS:
            raise TypeError(
                f"{self._where()}: the name {key!r} is ambiguous: several inputs have it "
                "(use In(variable, name=...) to give them distinct names)"
            )
        return position

    def _convert_owned(self, position: int, value: Any) -> Any:
        """``value`` converted for input ``position``, never aliasing the caller's array
        (defaults and state outlive the call)."""
        converted = self._convert(position, value)
        return converted.copy() if converted is value else converted

    def _convert(self, position: int, value: Any) -> Any:
        ttype, strict, downcast = self._conversions[position]
        try:
            convert = filter_device_value if self.device == "cuda" else filter_value
            return convert(ttype, value, strict, downcast)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"bad argument for {self._label(position)} of {self._where()}: {exc}"
            ) from None

    def _bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> list[Any]:
        n = len(self._specs)
        if len(args) > n:
            raise TypeError(f"{self._where()} takes at most {n} argument(s) ({len(args)} given)")
        values: list[Any] = list(args) + [_REQUIRED] * (n - len(args))
        for key, value in kwargs.items():
            if key not in self._positions:
                known = ", ".join(repr(k) for k in self._positions) or "none"
                raise TypeError(
                    f"{self._where()} got an unknown keyword argument {key!r} (the inputs' "
                    f"names: {known})"
                )
            i = self._keyword_position(key)
            if values[i] is not _REQUIRED:
                raise TypeError(
                    f"{self._where()}: {self._label(i)} was given twice (by position and by name)"
                )
            values[i] = value
        for i, value in enumerate(values):
            if value is _REQUIRED:
                container = self._defaults[i]
                if container is None or container.value is None:
                    raise TypeError(f"{self._where()}: missing required argument {self._label(i)}")
                values[i] = container.value
            elif not self.trust_input:
                values[i] = self._convert(i, value)
        return values

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._fast_call is not None and not kwargs:
            result = self._fast_call(args)
            if result is not MISS:
                return result
        values = self._bind(args, kwargs)
        sources = values + [self._shared_value(c) for c in self._shared]
        results = self._compiled.program.run(sources)
        n_out = len(self._compiled.outputs)
        state = results[n_out:]
        # A shared variable updated in place already holds its new value: no copy.
        in_place = [
            not isinstance(target, int) and value is sources[len(values) + target[1]]
            for target, value in zip(self._compiled.update_targets, state, strict=True)
        ]
        new_state = _detached(state, sources, in_place)
        outputs = _detached(results[:n_out], [*sources, *new_state], self._borrow)
        if self.device == "cuda":
            new_state = [to_device(value) for value in new_state]
        if self.output_device != self.device:
            outputs = [to_host(value) for value in outputs]
        elif self.device == "cuda":  # a constant or a host-computed output: to the GPU
            outputs = [to_device(value) for value in outputs]
        # Commit every update together, only after everything was computed.
        for target, value in zip(self._compiled.update_targets, new_state, strict=True):
            if isinstance(target, int):
                self._defaults[target].value = value  # type: ignore[union-attr]
            else:
                self._shared[target[1]].value = value
        if self._shape == "single":
            return outputs[0]
        if isinstance(self._shape, tuple):
            return dict(zip(self._shape, outputs, strict=True))
        return outputs

    def _shared_value(self, container: Container) -> Any:
        """A shared variable's value for this call, on this function's device: a value
        set from the host is moved to the GPU (once: it stays there) for a CUDA function;
        a host function reads a GPU value through a copy."""
        value = container.value
        if self.device == "cuda":
            if not is_device_array(value):
                value = container.value = to_device(value)
            return value
        return to_host(value)

    # ---- copies
    def copy(
        self,
        share_memory: bool = False,
        swap: Mapping[SharedVariable, SharedVariable] | None = None,
        delete_updates: bool = False,
        name: str | None = None,
        profile: Any = None,
    ) -> Function:
        """A copy of this function (Theano's ``Function.copy``).

        As in Theano, a copy uses the same shared variables as the original (one value,
        one container per shared variable), except those in ``swap={old: new}``, which it
        replaces by shared variables of the same type. Defaults and the state of inputs
        with an update are private to the copy. ``delete_updates`` drops the updates.
        ``share_memory`` is accepted: jitgraph keeps no intermediate storage between
        calls, so there is nothing else to share. The copy's name is ``name``, or the
        original's with ' copy' appended.

        >>> import jitgraph, jitgraph.tensor as T
        >>> a, b = jitgraph.shared(1.0, "a"), jitgraph.shared(10.0, "b")
        >>> x = T.dscalar("x")
        >>> f = jitgraph.function([x], x + a, updates={a: a + 1})
        >>> g = f.copy(swap={a: b})
        >>> g(0.0), float(a.get_value()), float(b.get_value())
        (array(10.), 1.0, 11.0)
        """
        compiled = self._compiled.copy(swap or {}, delete_updates)
        clone = Function.__new__(Function)
        clone.__dict__.update(self.__dict__)
        clone._compiled = compiled
        if name is None and self.name:
            name = f"{self.name} copy"
        clone.name = name
        clone._defaults = [
            None if c is None else Container(None if c.value is None else c.value.copy())
            for c in self._defaults
        ]
        clone._shared = [s.container for s in compiled.shared_vars]
        clone.maker = _Maker(clone)
        return clone

    def free(self) -> None:
        """Accepted for compatibility: there is no intermediate storage to free."""


class _Maker:
    """Theano's ``f.maker``: ``f.maker.fgraph`` is the compiled graph."""

    def __init__(self, fn: Function) -> None:
        self.function = fn

    @property
    def fgraph(self) -> Graph:
        return self.function.graph

    @property
    def inputs(self) -> list[In]:
        return self.function.inputs

    @property
    def mode(self) -> Mode:
        return self.function.mode
