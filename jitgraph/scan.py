"""``scan`` and the loop helpers built on it (``map``, ``reduce``, ``foldl``, ``foldr``),
with Theano's semantics.

``fn`` is called once, on symbolic placeholders: a slice per sequence tap, a value per
tap of each fed-back output, then the non-sequences. The graph it returns becomes the
step of a ``Scan`` op (jitgraph/ops/scan.py); variables it uses without being given them
(closed-over inputs, shared variables, expressions) become extra non-sequences.

>>> import numpy as np
>>> import jitgraph
>>> import jitgraph.tensor as T
>>> k = T.iscalar("k")
>>> A = T.dvector("A")
>>> powers, updates = jitgraph.scan(
...     lambda prior, a: prior * a, outputs_info=T.ones_like(A), non_sequences=A, n_steps=k
... )
>>> jitgraph.function([A, k], powers[-1])(np.arange(4.0), 3)
array([ 0.,  1.,  8., 27.])
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from jitgraph.compile.sharedvalue import SharedVariable
from jitgraph.ir.graph import Const, Graph, Var, graph_inputs
from jitgraph.ir.rebuild import replace
from jitgraph.ir.types import TensorType
from jitgraph.ops.control import InnerGraph
from jitgraph.ops.scan import Scan, sequence_window


def _tensor() -> Any:
    """The Theano front end (imported late: it imports the compile package)."""
    import jitgraph.tensor

    return jitgraph.tensor


class until:  # noqa: N801 - Theano's name
    """Returned by a step function (alone or with its outputs and updates): the loop
    stops after the step where ``condition`` is true (a while-loop; ``n_steps`` bounds it)."""

    def __init__(self, condition: Any) -> None:
        from jitgraph.tensor.basic import as_tensor_variable

        condition = as_tensor_variable(condition)
        if condition.type.ndim != 0:
            raise TypeError(
                f"until(condition): the condition must be a scalar, got {condition.type}"
            )
        self.condition = condition


@dataclasses.dataclass
class _Sequence:
    outer: Any  # a tensor variable
    taps: tuple[int, ...]


@dataclasses.dataclass
class _Output:
    """One entry of outputs_info: fed back (``taps``) or not (``taps`` empty)."""

    initial: Var | None  # as given (sit-sot: the state; mit-sot: the rows of history)
    taps: tuple[int, ...]
    from_python: bool = False  # the initial value was a Python number (its dtype is a guess)
    # The state's static shape where it is less specific than the initial value's (the
    # step returns values of other sizes than the initial value's static ones).
    state_shape: tuple[int | None, ...] | None = None

    @property
    def single(self) -> bool:
        return self.taps == (-1,)

    def state_type(self) -> TensorType:
        assert self.initial is not None
        ttype = self.initial.type
        shape = ttype.shape if self.single else ttype.shape[1:]
        return TensorType(ttype.dtype, shape if self.state_shape is None else self.state_shape)


def scan(
    fn: Callable[..., Any],
    sequences: Any = None,
    outputs_info: Any = None,
    non_sequences: Any = None,
    n_steps: Any = None,
    truncate_gradient: int = -1,
    go_backwards: bool = False,
    mode: Any = None,
    name: str | None = None,
    profile: Any = False,
    allow_gc: Any = None,
    strict: bool = False,
    return_list: bool = False,
) -> tuple[Any, OrderedDict[SharedVariable, Var]]:
    """Loop ``fn`` over ``sequences`` (Theano's ``scan``); returns ``(outputs, updates)``.

    ``sequences``: variables (or ``dict(input=x, taps=[...])``) iterated along their leading
    axis; ``outputs_info``: per output, ``None`` (not fed back), an initial value (fed back
    as tap -1), or ``dict(initial=x, taps=[-2, -1])``; ``non_sequences``: values passed to
    every step. ``n_steps``: the number of steps (an int or an integer scalar variable);
    with sequences, at most the shortest one's length (the default). ``go_backwards``: the
    sequences are read from their end. ``truncate_gradient``: back-propagation through at
    most that many steps (-1: all). ``strict``: ``fn`` may use only what it is given (no
    closed-over variables). ``mode`` and ``profile``/``allow_gc`` are accepted for
    compatibility: the step is compiled with the enclosing function.

    The outputs are one variable for a single output (unless ``return_list``), else a
    list, each with the steps on its leading axis; ``updates`` maps each shared variable
    the steps update to its value after the loop: give it to ``function(updates=...)``.
    """
    from jitgraph.tensor.basic import as_tensor_variable

    seqs = [_sequence(i, s, go_backwards) for i, s in enumerate(_as_list(sequences))]
    outs = [_output(i, o) for i, o in enumerate(_as_list(outputs_info))]
    nonseqs = [as_tensor_variable(v) for v in _as_list(non_sequences)]
    steps, go_backwards = _steps(n_steps, seqs, go_backwards, name)
    if go_backwards:
        seqs = [backwards for s in seqs for backwards in _reversed(s)]
    step = _trace(fn, seqs, outs, nonseqs, name)
    if strict:
        _check_strict(step, nonseqs, name)
    node_outputs = _build(step, seqs, steps, nonseqs, truncate_gradient, name)
    results, updates = _results(step, node_outputs, nonseqs)
    if return_list:
        return list(results), updates
    return (results[0] if len(results) == 1 else results), updates


# ---------------------------------------------------------------------------- arguments
def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _taps(value: Any, what: str) -> tuple[int, ...]:
    taps = _as_list(value)
    if not taps or not all(isinstance(t, (int, np.integer)) for t in taps):
        raise TypeError(f"scan: {what} taps must be a non-empty list of ints, got {value!r}")
    if len(set(taps)) != len(taps):
        raise ValueError(f"scan: {what} taps {list(taps)} repeat a tap")
    return tuple(int(t) for t in taps)


def _sequence(position: int, item: Any, go_backwards: bool) -> _Sequence:
    from jitgraph.tensor.basic import as_tensor_variable

    what = f"sequences[{position}]"
    if isinstance(item, Mapping):
        unknown = set(item) - {"input", "taps"}
        if unknown or "input" not in item:
            raise TypeError(f"scan: {what} as a dict takes the keys 'input' and 'taps'")
        var, taps = as_tensor_variable(item["input"]), _taps(item.get("taps", [0]), what)
    else:
        var, taps = as_tensor_variable(item), (0,)
    if var.type.ndim == 0:
        raise TypeError(
            f"scan: {what} is a scalar ({var.describe()}); a sequence is iterated along its "
            "leading axis, so it needs at least one dimension"
        )
    return _Sequence(var, taps)


def _reversed(seq: _Sequence) -> list[_Sequence]:
    """``seq`` read from its end: one reversed sequence per tap, each cut to the rows that
    tap reads, so that taps keep their meaning in the sequence's own order (Theano's
    go_backwards: tap -1 is the row before tap 0's, which comes first in the loop)."""
    if seq.taps == (0,):
        return [_Sequence(seq.outer[::-1], (0,))]
    low, span = sequence_window(seq.taps)
    length = seq.outer.shape[0]
    return [
        _Sequence(seq.outer[tap - low : length - span + tap - low][::-1], (0,)) for tap in seq.taps
    ]


def _output(position: int, item: Any) -> _Output:
    from jitgraph.tensor.basic import as_tensor_variable

    what = f"outputs_info[{position}]"
    if item is None:
        return _Output(None, ())
    if isinstance(item, Mapping):
        unknown = set(item) - {"initial", "taps", "return_steps"}
        if unknown:
            raise TypeError(f"scan: {what} has unknown keys {sorted(unknown)}")
        initial = item.get("initial")
        if initial is None:
            if item.get("taps"):
                raise ValueError(f"scan: {what} gives taps but no initial value")
            return _Output(None, ())
        taps = _taps(item.get("taps", [-1]), what)
    else:
        initial, taps = item, (-1,)
    bad = [t for t in taps if t >= 0]
    if bad:
        raise ValueError(
            f"scan: {what} has taps {list(taps)}; an output can only read earlier steps "
            f"(negative taps), not {bad}"
        )
    from_python = isinstance(initial, (int, float, bool)) and not isinstance(initial, np.generic)
    var = as_tensor_variable(initial)
    if taps != (-1,) and var.type.ndim == 0:
        raise TypeError(
            f"scan: {what} has taps {list(taps)}, so its initial value needs the earlier steps "
            f"on a leading axis ({-min(taps)} rows), but it is a scalar"
        )
    return _Output(var, taps, from_python)


def _steps(
    n_steps: Any, seqs: list[_Sequence], go_backwards: bool, name: str | None
) -> tuple[Var, bool]:
    """The int64 number of steps and the direction (a constant negative n_steps runs
    backwards, as in Theano)."""
    T = _tensor()

    if n_steps is not None and not isinstance(n_steps, Var):
        count = int(n_steps)
        if count < 0:
            n_steps, go_backwards = -count, not go_backwards
    spans = [sequence_window(s.taps)[1] for s in seqs]
    lengths = [
        s.outer.shape[0] - span if span else s.outer.shape[0] for s, span in zip(seqs, spans)
    ]
    if n_steps is None:
        if not lengths:
            raise ValueError(
                "scan: give n_steps or at least one sequence (the number of steps comes from "
                "the sequences' lengths)"
            )
        steps = lengths[0]
        for length in lengths[1:]:
            steps = T.minimum(steps, length)
        # A sequence shorter than its taps' span gives no step (a length is never negative).
        return (T.maximum(steps, 0) if any(spans) else steps), go_backwards
    steps = T.as_tensor_variable(n_steps)
    if steps.type.ndim != 0 or steps.type.dtype[:3] not in ("int", "uin"):
        raise TypeError(f"scan: n_steps must be an integer scalar, got {steps.type}")
    return T.cast(steps, "int64"), go_backwards


# ---------------------------------------------------------------------------- tracing fn
@dataclasses.dataclass
class _Step:
    """What tracing ``fn`` gave: placeholders, returned outputs, updates, condition."""

    seqs: list[_Sequence]
    outs: list[_Output]
    seq_args: list[Var]
    state_args: list[Var]
    outputs: list[Var]  # in the order of outputs_info
    updates: list[tuple[SharedVariable, Var]]
    condition: Var | None


def _trace(
    fn: Callable[..., Any],
    seqs: list[_Sequence],
    outs: list[_Output],
    nonseqs: list[Var],
    name: str | None,
) -> _Step:
    """Call ``fn`` on placeholders; where a returned state's type shows a guessed initial
    type was too narrow (a Python number's dtype, a static dim of 1), trace once more."""
    step = _call(fn, seqs, outs, nonseqs, name)
    widened = [_widened(o, v) for o, v in zip(step.outs, _fed_back_values(step), strict=True)]
    if any(w is not o for w, o in zip(widened, step.outs, strict=True)):
        step = _call(fn, seqs, widened, nonseqs, name)
    _check_states(step, name)
    return step


def _fed_back_values(step: _Step) -> list[Var | None]:
    if not step.outs:
        return []
    return [v if o.initial is not None else None for o, v in zip(step.outs, step.outputs)]


def _widened(out: _Output, value: Var | None) -> _Output:
    """``out`` with a state type that fits what the step returns, where the given one only
    differs by a guess: a Python number's dtype, a static dim the step does not keep."""
    if value is None or out.initial is None:
        return out
    T = _tensor()

    state, got = out.state_type(), value.type
    initial, state_shape = out.initial, out.state_shape
    if out.from_python and got.dtype != state.dtype and got.ndim == 0:
        initial = T.cast(initial, got.dtype)
    if got.ndim == state.ndim and got.shape != state.shape:
        joined = tuple(s if s == g else None for s, g in zip(state.shape, got.shape, strict=True))
        if joined != state.shape:
            state_shape = joined
    if initial is out.initial and state_shape == out.state_shape:
        return out
    return _Output(initial, out.taps, False, state_shape)


def _call(
    fn: Callable[..., Any],
    seqs: list[_Sequence],
    outs: list[_Output],
    nonseqs: list[Var],
    name: str | None,
) -> _Step:
    seq_args: list[Var] = []
    for i, seq in enumerate(seqs):
        element = TensorType(seq.outer.type.dtype, seq.outer.type.shape[1:])
        for tap in seq.taps:
            label = seq.outer.name or f"sequence{i}"
            seq_args.append(element.make_variable(f"{label}[t{tap:+d}]" if tap else f"{label}[t]"))
    state_args: list[Var] = []
    for k, out in enumerate(outs):
        if out.initial is None:
            continue
        state = out.state_type()
        label = out.initial.name or f"output{k}"
        state_args.extend(state.make_variable(f"{label}[t{tap:+d}]") for tap in out.taps)
    returned = fn(*seq_args, *state_args, *nonseqs)
    outputs, updates, condition = _parse_return(returned, name)
    if outs and len(outputs) != len(outs):
        raise ValueError(
            f"scan{_label(name)}: fn returned {len(outputs)} output(s), but outputs_info has "
            f"{len(outs)} entries (one per output: None for an output that is not fed back)"
        )
    if not outs:
        outs = [_Output(None, ()) for _ in outputs]
    return _Step(seqs, outs, seq_args, state_args, outputs, updates, condition)


def _label(name: str | None) -> str:
    return f" {name!r}" if name else ""


def _parse_return(
    returned: Any, name: str | None
) -> tuple[list[Var], list[tuple[SharedVariable, Var]], Var | None]:
    """fn's result as (outputs, updates, condition): Theano accepts outputs, an updates
    dict, an ``until``, or a tuple/list of those, in any order."""
    from jitgraph.tensor.basic import as_tensor_variable

    outputs: list[Any] = []
    updates: list[tuple[Any, Any]] = []
    condition: Var | None = None
    items = list(returned) if isinstance(returned, (tuple, list)) else [returned]
    if isinstance(returned, (tuple, list)) and not any(
        isinstance(i, (Mapping, until, list, tuple)) for i in items
    ):
        items = [list(items)]
    for item in items:
        if isinstance(item, until):
            condition = item.condition
        elif isinstance(item, Mapping):
            updates.extend(item.items())
        elif isinstance(item, (list, tuple)) and item and all(_is_pair(p) for p in item):
            updates.extend(tuple(p) for p in item)
        elif isinstance(item, (list, tuple)):
            outputs.extend(item)
        elif item is not None:
            outputs.append(item)
    try:
        out_vars = [as_tensor_variable(o) for o in outputs]
    except TypeError as exc:
        raise TypeError(
            f"scan{_label(name)}: fn returned something that is not a tensor: {exc}"
        ) from None
    return out_vars, _checked_updates(updates, name), condition


def _is_pair(item: Any) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], SharedVariable)


def _checked_updates(
    pairs: list[tuple[Any, Any]], name: str | None
) -> list[tuple[SharedVariable, Var]]:
    from jitgraph.tensor.basic import as_tensor_variable

    result: list[tuple[SharedVariable, Var]] = []
    for target, expr in pairs:
        if not isinstance(target, SharedVariable):
            raise TypeError(
                f"scan{_label(name)}: fn's updates must map shared variables to expressions; "
                f"got the key {target!r}"
            )
        if any(t is target for t, _ in result):
            raise ValueError(f"scan{_label(name)}: fn updates {target.describe()} twice")
        expr = as_tensor_variable(expr)
        tt, et = target.type, expr.type
        if et.dtype != tt.dtype or et.ndim != tt.ndim or not tt.is_super(et):
            raise TypeError(
                f"scan{_label(name)}: fn's update of {target.describe()} has type {et}, but "
                f"the variable has type {tt} (cast it: T.cast(expr, '{tt.dtype}'))"
            )
        result.append((target, expr))
    return result


def _check_states(step: _Step, name: str | None) -> None:
    for k, (out, value) in enumerate(zip(step.outs, step.outputs, strict=True)):
        if out.initial is None:
            continue
        state, got = out.state_type(), value.type
        where = f"scan{_label(name)}: output {k} of fn (the next value of outputs_info[{k}])"
        if got.dtype != state.dtype:
            raise TypeError(
                f"{where} has dtype {got.dtype}, but its initial value has dtype {state.dtype}; "
                f"every step must return the state's dtype: cast the result "
                f"(T.cast(..., '{state.dtype}')) or the initial value"
            )
        if got.ndim != state.ndim or not state.is_super(got):
            raise TypeError(
                f"{where} has type {got} ({got.ndim}-d), but the state has type {state} "
                f"(from its initial value); every step must return the state's shape"
            )


def _check_strict(step: _Step, nonseqs: list[Var], name: str | None) -> None:
    given = [*step.seq_args, *step.state_args, *nonseqs]
    exprs = [*step.outputs, *(e for _, e in step.updates)]
    for root in graph_inputs(exprs, given):
        if isinstance(root, Const) or any(root is g for g in given):
            continue
        raise ValueError(
            f"scan{_label(name)} (strict=True): fn uses {root.describe()}, which it was not "
            "given; pass it in non_sequences"
        )


# ---------------------------------------------------------------------------- the op
def _default_updates(step: _Step, nonseqs: list[Var]) -> list[tuple[SharedVariable, Var]]:
    """The explicit updates plus the default updates of the shared variables the step
    uses (random generators' states: a fresh draw each step), to a fixpoint. Values given
    as non-sequences are computed once, before the loop: what they use is not the step's."""
    updates = list(step.updates)
    while True:
        exprs = [*step.outputs, *(e for _, e in updates)]
        if step.condition is not None:
            exprs.append(step.condition)
        found = [
            v
            for v in graph_inputs(exprs, nonseqs)
            if isinstance(v, SharedVariable)
            and v.default_update is not None
            and all(v is not t for t, _ in updates)
        ]
        if not found:
            return updates
        updates.extend((v, v.default_update) for v in found)  # type: ignore[misc]


def _build(
    step: _Step,
    seqs: list[_Sequence],
    steps: Var,
    nonseqs: list[Var],
    truncate_gradient: int,
    name: str | None,
) -> list[Var]:
    T = _tensor()

    fed = [o for o in step.outs if o.initial is not None]
    fed_values = [v for o, v in zip(step.outs, step.outputs, strict=True) if o.initial is not None]
    nit_values = [v for o, v in zip(step.outs, step.outputs, strict=True) if o.initial is None]
    updates = _default_updates(step, nonseqs)
    shared_targets = [t for t, _ in updates]
    shared_args = [t.type.make_variable(f"{t.name or 'shared'}[t]") for t in shared_targets]
    inner_outputs = [*fed_values, *nit_values, *(e for _, e in updates)]
    if step.condition is not None:
        inner_outputs.append(T.cast(step.condition, "bool"))
    # The shared variables the step updates are read through their placeholders.
    inner_outputs = replace(inner_outputs, dict(zip(shared_targets, shared_args, strict=True)))
    given = [*step.seq_args, *step.state_args, *shared_args]
    explicit = [v for v in nonseqs if not isinstance(v, Const)]
    implicit = [
        root
        for root in graph_inputs(inner_outputs, [*given, *explicit])
        if not isinstance(root, Const)
        and not any(root is g for g in given)
        and not any(root is e for e in explicit)
    ]
    outer_nonseqs = _distinct([*explicit, *implicit])
    nonseq_args = [v.type.make_variable(v.name) for v in outer_nonseqs]
    inner_outputs = replace(inner_outputs, dict(zip(outer_nonseqs, nonseq_args, strict=True)))
    graph = Graph([*given, *nonseq_args], inner_outputs)
    op = Scan(
        InnerGraph(graph),
        tuple(s.taps for s in seqs),
        tuple(o.taps for o in fed),
        len(nit_values),
        len(updates),
        len(outer_nonseqs),
        until=step.condition is not None,
        truncate_gradient=int(truncate_gradient),
        name=name,
    )
    histories = [o.initial if not o.single else T.shape_padleft(o.initial) for o in fed]
    outer = [steps, *(s.outer for s in seqs), *histories, *shared_targets, *outer_nonseqs]
    node = op.make_node(*outer)
    for out, label in zip(node.outputs, _output_names(name, step), strict=False):
        out.name = label
    return list(node.outputs)


def _distinct(values: list[Var]) -> list[Var]:
    result: list[Var] = []
    for v in values:
        if all(v is not r for r in result):
            result.append(v)
    return result


def _output_names(name: str | None, step: _Step) -> list[str | None]:
    if not name:
        return []
    count = len(step.outputs)
    return [f"{name}[{i}]" if count > 1 else name for i in range(count)]


def _results(
    step: _Step, node_outputs: list[Var], nonseqs: list[Var]
) -> tuple[list[Var], OrderedDict[SharedVariable, Var]]:
    """The outputs in the order of outputs_info, and the updates dict."""
    n_fed = sum(1 for o in step.outs if o.initial is not None)
    fed = iter(node_outputs[:n_fed])
    nit = iter(node_outputs[n_fed : len(step.outputs)])
    results = [next(fed) if o.initial is not None else next(nit) for o in step.outs]
    updates: OrderedDict[SharedVariable, Var] = OrderedDict()
    shared_outputs = node_outputs[len(step.outputs) :]
    for (target, _), value in zip(_default_updates(step, nonseqs), shared_outputs, strict=True):
        updates[target] = value
    return results, updates


# ---------------------------------------------------------------------------- helpers
def map(  # noqa: A001 - Theano's name
    fn: Callable[..., Any],
    sequences: Any,
    non_sequences: Any = None,
    truncate_gradient: int = -1,
    go_backwards: bool = False,
    mode: Any = None,
    name: str | None = None,
) -> tuple[Any, OrderedDict[SharedVariable, Var]]:
    """``fn`` applied to each element of ``sequences`` (scan without fed-back outputs)."""
    return scan(
        fn,
        sequences=sequences,
        outputs_info=None,
        non_sequences=non_sequences,
        truncate_gradient=truncate_gradient,
        go_backwards=go_backwards,
        mode=mode,
        name=name,
    )


def reduce(
    fn: Callable[..., Any],
    sequences: Any,
    outputs_info: Any,
    non_sequences: Any = None,
    go_backwards: bool = False,
    mode: Any = None,
    name: str | None = None,
) -> tuple[Any, OrderedDict[SharedVariable, Var]]:
    """The value of each output after the last step of ``scan`` (only that value is kept)."""
    results, updates = scan(
        fn,
        sequences=sequences,
        outputs_info=outputs_info,
        non_sequences=non_sequences,
        go_backwards=go_backwards,
        mode=mode,
        name=name,
        return_list=True,
    )
    last = [r[-1] for r in results]
    return (last[0] if len(last) == 1 else last), updates


def foldl(
    fn: Callable[..., Any],
    sequences: Any,
    outputs_info: Any,
    non_sequences: Any = None,
    mode: Any = None,
    name: str | None = None,
) -> tuple[Any, OrderedDict[SharedVariable, Var]]:
    """``reduce`` from the first element of the sequences to the last."""
    return reduce(fn, sequences, outputs_info, non_sequences, False, mode, name)


def foldr(
    fn: Callable[..., Any],
    sequences: Any,
    outputs_info: Any,
    non_sequences: Any = None,
    mode: Any = None,
    name: str | None = None,
) -> tuple[Any, OrderedDict[SharedVariable, Var]]:
    """``reduce`` from the last element of the sequences to the first."""
    return reduce(fn, sequences, outputs_info, non_sequences, True, mode, name)


__all__ = ["foldl", "foldr", "map", "reduce", "scan", "until"]
