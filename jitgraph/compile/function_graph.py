"""Building the graph a Function runs: givens, updates, default updates, implicit
shared inputs, and the checks on all of them (missing and unused inputs, update types).

The result, a ``CompiledGraph``, holds the graph (explicit inputs then shared
variables; outputs then new values of updated state) and the program that runs it.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jitgraph.backends.reference import Program
from jitgraph.compile.convert import filter_value
from jitgraph.compile.io import In
from jitgraph.compile.mode import Mode
from jitgraph.compile.sharedvalue import SharedVariable
from jitgraph.ir.graph import (
    PACKAGE_DIR,
    Const,
    Graph,
    MissingInputError,
    Var,
    graph_inputs,
    make_constant,
)
from jitgraph.ir.rebuild import replace
from jitgraph.ir.types import TensorType
from jitgraph.passes.memory import MemoryPlan, plan_memory
from jitgraph.passes.pipeline import optimize


def backend_compiler(backend: str) -> Callable[[Graph, MemoryPlan | None], Program]:
    """The ``compile_graph`` of the backend named ``backend`` ('reference', 'llvm' or
    'cuda')."""
    if backend == "cuda":
        from jitgraph.backends.cuda.program import compile_graph as compile_cuda

        return compile_cuda
    if backend == "llvm":
        from jitgraph.backends.llvm.program import compile_graph as compile_llvm

        return compile_llvm
    from jitgraph.backends.reference import compile_graph as compile_reference

    return compile_reference


# Where an update's new value goes: an explicit input (its position) or a shared variable.
UpdateTarget = int | tuple[str, int]


class CompiledGraph:
    def __init__(
        self,
        specs: Sequence[In],
        outputs: list[Var],
        updates: list[tuple[Var | int, Var]],
        mode: Mode,
    ) -> None:
        """``updates`` pairs a shared variable (or an explicit input's position) with the
        expression of its new value; givens are already applied."""
        self.specs = list(specs)
        self.outputs = outputs
        self.updates = updates
        self.mode = mode
        explicit = [s.variable for s in specs]
        exprs = outputs + [u for _, u in updates]
        shared: list[SharedVariable] = []
        for root in graph_inputs(exprs, explicit):
            if isinstance(root, SharedVariable) and root not in explicit:
                shared.append(root)
        for target, _ in updates:
            if isinstance(target, SharedVariable) and all(target is not s for s in shared):
                shared.append(target)
        self.shared_vars = shared
        self.update_targets: list[UpdateTarget] = [
            t if isinstance(t, int) else ("shared", _index(shared, t)) for t, _ in updates
        ]
        self.unoptimized = Graph(explicit + shared, exprs)  # type: ignore[operator]
        optimized = optimize(self.unoptimized, mode.name)
        self.graph = optimized.graph
        self.pass_records = optimized.records
        # Shared variables may be updated in place (their buffer is theirs alone); the
        # state of an In(update=...) input is not offered: its array may be the caller's.
        candidates = {
            len(outputs) + i: len(explicit) + target[1]
            for i, target in enumerate(self.update_targets)
            if not isinstance(target, int)
        }
        self.program: Program = _compile_program(self.graph, mode, candidates)

    @classmethod
    def from_optimized(
        cls, graph: Graph, mode: Any = None, specs: Sequence[In] | None = None
    ) -> CompiledGraph:
        """A ``CompiledGraph`` running ``graph``, which is ALREADY optimized for ``mode``
        (e.g. loaded with ``jitgraph.ir.serialize.loads_graph``): the optimizer does not
        run again; the memory plan and the backend's compilation do (the backend's
        machine code comes from the disk cache when the graph was compiled before).

        The graph's inputs are all explicit inputs (``specs``, default ``In(v)`` for each,
        in order) and its outputs all outputs: no shared variables, no updates. Make a
        ``Function`` with ``Function(compiled, compiled.specs, [False] * n_outputs,
        'list', name, allow_input_downcast)``.
        """
        from jitgraph.compile.mode import get_mode

        mode = get_mode(mode)
        if specs is None:
            specs = [In(v) for v in graph.inputs]
        specs = list(specs)
        if len(specs) != len(graph.inputs) or any(
            s.variable is not v for s, v in zip(specs, graph.inputs, strict=False)
        ):
            raise ValueError(
                "CompiledGraph.from_optimized: specs must wrap the graph's inputs, in order"
            )
        for position, var in enumerate(graph.inputs):
            if isinstance(var, (SharedVariable, Const)) or var.owner is not None:
                raise TypeError(
                    f"CompiledGraph.from_optimized: input {position} is {var.describe()}; "
                    "the graph's inputs must be plain input variables (shared variables "
                    "and updates need function())"
                )
        for position, spec in enumerate(specs):
            if spec.update is not None:
                raise ValueError(
                    f"CompiledGraph.from_optimized: input {position} has an update; "
                    "updates need function()"
                )
        self = cls.__new__(cls)
        self.specs = specs
        self.outputs = list(graph.outputs)
        self.updates = []
        self.mode = mode
        self.shared_vars = []
        self.update_targets = []
        self.unoptimized = graph  # what came in: the optimizer did not run here
        self.graph = graph
        self.pass_records = ()
        self.program = _compile_program(graph, mode, {})
        return self

    def copy(
        self, swap: Mapping[SharedVariable, SharedVariable], delete_updates: bool
    ) -> CompiledGraph:
        for old, new in swap.items():
            if not isinstance(old, SharedVariable) or not isinstance(new, SharedVariable):
                raise TypeError("Function.copy(swap=...) maps shared variables to shared variables")
            if all(old is not s for s in self.shared_vars):
                raise ValueError(
                    f"Function.copy(swap=...): the function does not use {old.describe()}"
                )
            if old.type != new.type:
                raise TypeError(
                    f"Function.copy(swap=...): {old.describe()} has type {old.type} but its "
                    f"replacement {new.describe()} has type {new.type}"
                )
        updates = [] if delete_updates else self.updates
        exprs = replace(self.outputs + [u for _, u in updates], dict(swap))  # type: ignore[arg-type]
        outputs = exprs[: len(self.outputs)]
        new_updates = [
            (swap.get(t, t) if isinstance(t, SharedVariable) else t, e)
            for (t, _), e in zip(updates, exprs[len(self.outputs) :], strict=True)
        ]
        return CompiledGraph(self.specs, outputs, new_updates, self.mode)


def _compile_program(graph: Graph, mode: Mode, candidates: dict[int, int]) -> Program:
    """The backend's program for the optimized ``graph``, with a memory plan (outputs at
    ``candidates`` may be written over the inputs they map to) except in REFERENCE mode."""
    plan = None if mode.name == "REFERENCE" else plan_memory(graph, candidates)
    return backend_compiler(mode.backend)(graph, plan)


def _index(shared: list[SharedVariable], var: Var) -> int:
    for i, s in enumerate(shared):
        if s is var:
            return i
    raise AssertionError("update target missing from the shared variables")


def build_graph(
    specs: Sequence[In],
    outputs: list[Var],
    updates: Any,
    givens: Any,
    no_default_updates: bool | Sequence[Var],
    on_unused_input: str,
    mode: Mode,
) -> CompiledGraph:
    explicit = [s.variable for s in specs]
    _check_distinct(explicit)
    mapping = _givens_mapping(givens)
    pairs: list[tuple[Var | int, Var]] = list(_update_pairs(updates))
    for position, spec in enumerate(specs):
        if spec.update is not None:
            pairs.append(
                (position, _typed_update(spec.variable, spec.update, f"In({spec.variable})"))
            )
    pairs += _default_updates(outputs, pairs, mapping, no_default_updates)
    exprs = replace(outputs + [u for _, u in pairs], mapping)
    _check_missing(exprs, explicit)
    _check_unused(exprs, specs, on_unused_input)
    n = len(outputs)
    return CompiledGraph(
        specs, exprs[:n], [(t, e) for (t, _), e in zip(pairs, exprs[n:], strict=True)], mode
    )


def _check_distinct(explicit: list[Var]) -> None:
    for i, var in enumerate(explicit):
        for j in range(i):
            if explicit[j] is var:
                raise ValueError(
                    f"function inputs {j} and {i} are the same variable {var.describe()}"
                )


def _as_pairs(value: Any, what: str) -> list[tuple[Any, Any]]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return list(value.items())
    try:
        pairs = [tuple(p) for p in value]
    except TypeError:
        raise TypeError(
            f"{what} must be a dict or a list of pairs, got {type(value).__name__}"
        ) from None
    for p in pairs:
        if len(p) != 2:
            raise TypeError(f"{what} must be pairs (variable, replacement); got {p!r}")
    return pairs


def _constant_of_type(ttype: TensorType, value: Any, what: str) -> Var:
    try:
        data = filter_value(ttype, value, downcast_hint="")
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{what}: {exc}") from None
    return make_constant(data, TensorType(ttype.dtype, data.shape))


def _givens_mapping(givens: Any) -> dict[Var, Var]:
    mapping: dict[Var, Var] = {}
    for old, new in _as_pairs(givens, "givens"):
        if not isinstance(old, Var) or isinstance(old, Const):
            raise TypeError(f"givens keys must be symbolic variables, got {old!r}")
        what = f"givens replacement for {old.describe()}"
        if not isinstance(new, Var):
            new = _constant_of_type(old.type, new, what)
        ot, nt = old.type, new.type
        if not isinstance(nt, TensorType) or nt.dtype != ot.dtype or nt.ndim != ot.ndim:
            raise TypeError(
                f"{what}: the replacement {new.describe()} has type {nt}, expected {ot} "
                "(same dtype and ndim; cast it with T.cast)"
            )
        if not ot.is_super(nt):
            raise TypeError(
                f"{what}: the replacement's static shape {nt.shape} does not fit {ot.shape}"
            )
        if old in mapping:
            raise ValueError(f"givens replaces {old.describe()} twice")
        mapping[old] = new
    return mapping


def _typed_update(target: Var, expr: Any, what: str) -> Var:
    if not isinstance(expr, Var):
        return _constant_of_type(target.type, expr, f"update of {what}")
    tt, et = target.type, expr.type
    if not isinstance(et, TensorType) or et.dtype != tt.dtype or et.ndim != tt.ndim:
        raise TypeError(
            f"the update of {what} has type {et}, but the variable has type {tt}: an update "
            f"must keep the dtype and ndim (cast it: T.cast(expr, '{tt.dtype}'))"
        )
    if not tt.is_super(et):
        raise TypeError(
            f"the update of {what} has static shape {et.shape}, which does not fit the "
            f"variable's {tt.shape}"
        )
    return expr


def _update_pairs(updates: Any) -> list[tuple[SharedVariable, Var]]:
    result: list[tuple[SharedVariable, Var]] = []
    for target, expr in _as_pairs(updates, "updates"):
        if not isinstance(target, SharedVariable):
            label = target.describe() if isinstance(target, Var) else repr(target)
            raise TypeError(f"updates keys must be shared variables, got {label}")
        if any(t is target for t, _ in result):
            raise ValueError(f"{target.describe()} is updated twice")
        result.append((target, _typed_update(target, expr, target.describe())))
    return result


def _default_updates(
    outputs: list[Var],
    pairs: list[tuple[Var | int, Var]],
    mapping: dict[Var, Var],
    no_default_updates: bool | Sequence[Var],
) -> list[tuple[Var | int, Var]]:
    """Default updates of the shared variables the graph uses, to a fixpoint (a default
    update may use further shared variables)."""
    if no_default_updates is True:
        return []
    suppressed = list(no_default_updates) if no_default_updates else []
    extra: list[tuple[Var | int, Var]] = []
    while True:
        exprs = replace(outputs + [u for _, u in pairs + extra], mapping)
        updated = [t for t, _ in pairs + extra]
        found = [
            v
            for v in graph_inputs(exprs)
            if isinstance(v, SharedVariable)
            and v.default_update is not None
            and all(v is not t for t in updated)
            and all(v is not s for s in suppressed)
        ]
        if not found:
            return extra
        for v in found:
            extra.append(
                (v, _typed_update(v, v.default_update, f"{v.describe()} (default update)"))
            )


def _check_missing(exprs: list[Var], explicit: list[Var]) -> None:
    for root in graph_inputs(exprs, explicit):
        if any(root is v for v in explicit):
            continue
        if isinstance(root, (Const, SharedVariable)):
            continue
        raise MissingInputError(
            f"the outputs depend on {root.describe()}, which is not among the function's "
            "inputs: add it to the inputs list, or give it a value with givens="
        )


def _check_unused(exprs: list[Var], specs: Sequence[In], on_unused_input: str) -> None:
    if on_unused_input == "ignore":
        return
    used = {id(v) for v in graph_inputs(exprs, [s.variable for s in specs])}
    for position, spec in enumerate(specs):
        if id(spec.variable) in used or spec.update is not None:
            continue
        message = (
            f"function input {position} ({spec.variable.describe()}) is not used by the "
            "outputs or updates; pass on_unused_input='warn' or 'ignore' to allow it"
        )
        if on_unused_input == "raise":
            from jitgraph.compile.function import UnusedInputError

            raise UnusedInputError(message)
        warnings.warn(message, UserWarning, stacklevel=_user_stacklevel())


def _user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning issued by our caller point at user code."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level
