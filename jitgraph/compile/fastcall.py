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


def _fast_call(function: Any, kernel: Any, order: list[int], picks: list[int]) -> FastCall | None:
    """The call as Python source specialised to this function (no loops over arguments,
    no generic checks): built with ``exec`` from the kernel's facts, never from user text."""
    from jitgraph.backends.llvm.launch import PARALLEL_THRESHOLD, shape_expression

    compiled_kernel = kernel
    direct = compiled_kernel.direct
    if direct is None:
        return None
    graph_inputs = function._compiled.graph.inputs
    names = [f"a{i}" for i in range(len(graph_inputs))]
    kernel_inputs = [names[i] for i in order]
    spec = compiled_kernel.kernel
    lines = [
        "def call(args):",
        f"    if len(args) != {len(names)}:",
        "        return MISS",
        f"    {', '.join(names)}{',' if len(names) == 1 else ''} = args",
    ]
    environment: dict[str, Any] = {"MISS": MISS, "ndarray": np.ndarray, "empty": np.empty}
    for position, (name, var) in enumerate(zip(names, graph_inputs, strict=True)):
        environment[f"D{position}"] = var.type.numpy_dtype
        test = f"type({name}) is not ndarray or {name}.dtype is not D{position}"
        test += f" or {name}.ndim != {var.type.ndim}"
        test += "".join(
            f" or {name}.shape[{axis}] != {size}"
            for axis, size in enumerate(var.type.shape)
            if size is not None
        )
        lines += [f"    if {test}:", "        return MISS"]
    full = [i for i, k in enumerate(spec.inputs) if not any(k.broadcastable)]
    no_identity = bool(compiled_kernel.no_identity)
    if full:
        size = f"{kernel_inputs[full[0]]}.size"
        test = f"{size} >= {PARALLEL_THRESHOLD}" + (f" or {size} == 0" if no_identity else "")
        lines += [f"    if {test}:", "        return MISS"]  # threads, or an empty max
    elif no_identity:
        return None
    outputs = [f"o{k}" for k in range(len(spec.outputs))]
    for k, output in enumerate(spec.outputs):
        environment[f"O{k}"] = np.dtype(output.dtype)
        lines.append(f"    o{k} = empty({shape_expression(spec, k, kernel_inputs)}, O{k})")
    environment["direct"] = direct
    lines += [
        f"    if direct(({', '.join(kernel_inputs + outputs)},)):",
        "        return MISS",  # the inputs disagree: the general path raises the error
    ]
    if function._shape == "single":
        lines.append(f"    return {outputs[picks[0]]}")
    else:
        lines.append(f"    return [{', '.join(outputs[k] for k in picks)}]")
    exec("\n".join(lines), environment)  # noqa: S102 - source assembled above
    call: FastCall = environment["call"]
    return call
