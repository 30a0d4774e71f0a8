"""The short call path of a function that is one native kernel.

When the optimized program of a ``Function`` is a single compiled kernel that reads the
explicit inputs and writes the outputs (no shared state, no updates, no defaults), a call
whose arguments are NumPy arrays of exactly the input types can skip the general
machinery: ``make_fast_call`` returns a function that checks each argument's type, dtype
and rank, calls the kernel's direct entry (``CompiledKernel.run_direct``: argument
reading, shape checks and the loop all in native code) and returns the fresh outputs.
It returns ``MISS`` for anything else (keywords, Python scalars, other dtypes, shapes
that disagree, work big enough for threads), and the caller takes the general path,
which converts, checks and reports errors as usual. Both paths compute the same values:
the same kernel runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

MISS = object()

FastCall = Callable[[Sequence[Any]], Any]


def make_fast_call(function: Any) -> FastCall | None:
    """The short path of ``function`` (a ``Function``), or None where it has none."""
    compiled = function._compiled
    program = compiled.program
    single = getattr(program, "single_kernel", None)
    if single is None or compiled.updates or compiled.shared_vars:
        return None
    if any(spec.update is not None or spec.value is not None for spec in function._specs):
        return None
    found = single()
    if found is None or not isinstance(function._shape, (str, list)):
        return None
    node, kernel = found
    graph = compiled.graph
    try:
        order = [graph.inputs.index(v) for v in node.inputs]
        picks = [node.outputs.index(v) for v in graph.outputs]
    except ValueError:  # a kernel input that is not a graph input, an output not the kernel's
        return None
    if len(set(picks)) != len(picks):  # one value returned twice must be two arrays
        return None
    return _fast_call(function, kernel, order, picks)


def _fast_call(function: Any, kernel: Any, order: list[int], picks: list[int]) -> FastCall:
    checks = [(v.type.numpy_dtype, v.type.ndim) for v in function._compiled.graph.inputs]
    static = [
        (position, axis, size)
        for position, v in enumerate(function._compiled.graph.inputs)
        for axis, size in enumerate(v.type.shape)
        if size is not None
    ]
    count = len(checks)
    single = function._shape == "single"
    run_direct = kernel.run_direct

    def call(args: Sequence[Any]) -> Any:
        if len(args) != count:
            return MISS
        for value, (dtype, ndim) in zip(args, checks):
            if type(value) is not np.ndarray or value.dtype != dtype or value.ndim != ndim:
                return MISS
        for position, axis, size in static:
            if args[position].shape[axis] != size:
                return MISS
        outputs = run_direct([args[i] for i in order])
        if outputs is None:
            return MISS
        if single:
            return outputs[picks[0]]
        return [outputs[k] for k in picks]

    return call
