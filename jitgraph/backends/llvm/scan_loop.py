"""Scan as one native loop: the LLVM backend's implementation of the ``Scan`` op.

``native_scan(op, node, program)`` returns ``run(inputs) -> outputs`` with exactly the
contract of ``PythonLoop.run`` (jitgraph/ops/scan.py), or None where the step has a node
that must run in Python at every step (then the scan runs as a Python loop over the
compiled step: right, only slower).

How a call runs:

1. The step's inputs have the same shapes at every step (sequence rows, state rows,
   shared values, non-sequences), and so does every value of a step the loop runs
   natively (``scan_loop_plan``: kernels, products, views, copies; no value-dependent
   shapes). The values of the loop-invariant nodes are computed once per call.
2. Sizes, strides and BLAS arguments depend only on the call's *layout* (the shapes and
   strides of the inputs and invariant values): the first call of a layout runs step 0
   in Python, which gives every value's shape and checks that each result keeps its
   state's shape and dtype, and fills a context template (``scan_loop_layout``); later
   calls of that layout only allocate. Where step 0 fails or a result does not fit its
   state, the call is the Python loop's, which raises the error or runs it.
3. Products of a sequence's rows and an invariant matrix (``y_t @ U``) are computed for
   every step at once before the loop (one matrix product). The histories (every row,
   or a ring of the rows the taps need when only the last value is kept), the nit
   outputs and two-row buffers of the shared states are allocated; a result computed
   by the loop is written straight into its history row.
4. One native call (``scan_loop_codegen``; ctypes releases the GIL) runs every step: it
   reads the arrays' addresses itself, calls the step's kernels (inlined), computes small
   products with loops of its own (``scan_loop_product``) and larger ones with BLAS.
   Where an index read at step ``t`` is out of bounds, the loop stops before storing
   anything of step ``t``, and step ``t`` is run again in Python from the loop's own
   buffers, which raises the compiled step's own error.

The loop's code depends only on the plan (the optimized step's structure), never on
sizes: it is compiled once per scan step and kept in the on-disk cache with the kernels.
``STATISTICS`` counts the calls run natively and those handed to the Python loop.

>>> import numpy as np, jitgraph, jitgraph.tensor as T
>>> x, s0 = T.dvector("x"), T.dscalar("s0")
>>> total, _ = jitgraph.scan(lambda v, s: s + v, sequences=x, outputs_info=s0)
>>> f = jitgraph.function([x, s0], total[-1])
>>> float(f(np.arange(5.0), 0.0)), STATISTICS["native_calls"] > 0
(10.0, True)
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from jitgraph.backends.llvm import blas, launch
from jitgraph.backends.llvm.program import LLVMProgram
from jitgraph.backends.llvm.scan_loop_build import build_plan
from jitgraph.backends.llvm.scan_loop_layout import (
    LoopCall,
    Template,
    first_call,
    layout_key,
    run_steps,
)
from jitgraph.backends.llvm.scan_loop_plan import FAILED, STATUS, LoopPlan, ProductCall
from jitgraph.ir.graph import Node
from jitgraph.ops.indexing import Subtensor
from jitgraph.ops.scan import PythonLoop, Scan, steps_to_run
from jitgraph.ops.shape import DimShuffle, Rebroadcast, Reshape, Shape, SpecifyShape

__all__ = ["STATISTICS", "native_scan"]

STATISTICS = {"native_calls": 0, "python_calls": 0}

# ctypes releases the GIL during the call; the loop reads the tuple's arrays, which the
# caller keeps alive, and nothing else of Python's.
_LOOP = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.py_object)


def native_scan(op: Scan, node: Node, program: Any) -> Callable[[list[Any]], list[Any]] | None:
    """The native loop of ``node`` (module docstring), or None where its step cannot
    run natively. ``program`` is the step compiled by the LLVM backend."""
    if not isinstance(program, LLVMProgram) or sys.byteorder != "little":
        return None
    if not launch.direct_entry_supported():  # BLAS's routines are called by pointer
        return None
    plan = build_plan(op, program)
    if plan is None:
        return None
    return NativeScan(op, node, program, plan, compiled_loop(plan)).run


class NativeScan:
    """One scan node's native loop: ``run`` has ``PythonLoop.run``'s contract."""

    def __init__(
        self, op: Scan, node: Node, program: LLVMProgram, plan: LoopPlan, loop: Any
    ) -> None:
        self.op, self.program, self.plan, self.loop = op, program, plan, loop
        self.python_loop = PythonLoop(op, node, program.run_quietly)
        inner, outer = op.inner_positions()["nonseq"], op.outer_positions()["nonseq"]
        self.nonseq = [(program.input_slots[i], p) for i, p in zip(inner, outer, strict=True)]
        self.constants = dict(program.constants)
        self.templates: dict[Any, Template] = {}  # by layout (scan_loop_layout)
        # NumPy's warnings are silenced only around invariant nodes that compute.
        self.quiet = any(
            not isinstance(program.steps[p][0].op, _SILENT) for p in plan.invariant_steps
        )

    def run(self, inputs: list[Any]) -> list[Any]:
        n = steps_to_run(self.op, inputs[0])
        started = self._start(inputs, n) if n else None
        if started is None:
            STATISTICS["python_calls"] += 1
            return self.python_loop.run(inputs)
        STATISTICS["native_calls"] += 1
        call, context = started
        done = int(self.loop(0, n, call.arrays(self.plan, context)))
        if int(context[STATUS]) == FAILED:
            # Step ``done`` read an index out of bounds: the step run in Python from the
            # loop's arrays raises the error the Python loop would.
            self.program.run(call.step_arguments(done))
            return self.python_loop.run(inputs)  # it did not raise: Python's result
        return call.outputs(done)

    def _start(self, inputs: list[Any], n: int) -> tuple[LoopCall, np.ndarray] | None:
        """The call's arrays and context (None: the call is the Python loop's)."""
        values = self.constants.copy()
        for slot, position in self.nonseq:
            values[slot] = inputs[position]
        if self.plan.invariant_steps and not self._invariants(values):
            return None
        key = layout_key(self.plan, inputs, values)
        template = self.templates.get(key) if key is not None else None
        if template is not None:
            call = template.start(inputs, n, values)
            return None if call is None else (call, template.context.copy())
        with _quiet(True):
            made = first_call(self.op, self.program, self.plan, inputs, n)
        if made is None:
            return None
        template, call = made
        if key is not None:
            if len(self.templates) >= _LAYOUTS_KEPT:
                self.templates.clear()
            self.templates[key] = template
        return call, template.context.copy()

    def _invariants(self, values: dict[int, Any]) -> bool:
        """Compute the invariant values into ``values``; False where a node raises (the
        Python loop then raises it)."""
        try:
            if not self.quiet:  # no context manager: this runs at every call
                run_steps(self.program, self.plan.invariant_steps, values)
                return True
            with _quiet(True):
                run_steps(self.program, self.plan.invariant_steps, values)
        except Exception:  # noqa: BLE001 - the Python loop raises it
            return False
        return True


@contextlib.contextmanager
def _quiet(python_runs: bool) -> Iterator[None]:
    """NumPy's warnings silenced while step nodes run in Python (the Python loop's
    behaviour); nothing to do when none does."""
    if not python_runs:
        yield
        return
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        yield


# Ops that only rearrange or describe their input (no arithmetic, hence no warning).
_SILENT = (DimShuffle, Reshape, SpecifyShape, Rebroadcast, Shape, Subtensor)
_LAYOUTS_KEPT = 16  # per scan node: a function sees few layouts, a loop over sizes many


# ============================================================================ compiling
def compiled_loop(plan: LoopPlan) -> Any:
    """The loop function of ``plan``: loaded once per process (launch's in-process layer),
    its object code kept in the on-disk cache."""
    from jitgraph.backends.llvm.scan_loop_codegen import loop_module

    identity = plan.identity()
    name = f"jg_scan_loop_{hashlib.sha256(identity.encode()).hexdigest()[:24]}"
    for action in plan.actions:  # the code calls them, also when it comes from the cache
        if isinstance(action, ProductCall):
            for routine in action.routines:
                blas.routine_symbol(routine)
    library = launch.native_library(f"scan-loop:{identity}", lambda: loop_module(plan, name))
    function: Any = _LOOP(library.address(name))
    function.library = library  # keeps the code mapped while the function lives
    return function
