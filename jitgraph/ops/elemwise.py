"""Elemwise: a scalar-table entry lifted to arrays with broadcasting.

Inputs must have the same ndim (the front end pads with DimShuffle, as Theano does).
A dim broadcasts only where its static size is 1; other dims must agree at run time,
which the reference checks and reports with the node and the user's line.

>>> import jitgraph.tensor as T
>>> x = T.dmatrix("x")
>>> (x + T.drow("r")).type
TensorType(float64, matrix)
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.ir.graph import Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import GradTerm, GraphError, NoGradientError, Op
from jitgraph.ops.scalar import ScalarOp, ZeroGradient, float_zeros_like


def broadcast_static_shapes(
    shapes: Sequence[tuple[int | None, ...]], what: str = "inputs"
) -> tuple[int | None, ...]:
    """The static output shape of equal-rank ``shapes`` under broadcasting.

    Raises ValueError when two static sizes other than 1 disagree.
    """
    out: list[int | None] = []
    for axis, sizes in enumerate(zip(*shapes, strict=True)):
        known = {s for s in sizes if s is not None and s != 1}
        if len(known) > 1:
            raise ValueError(
                f"cannot broadcast {what} of static shapes {', '.join(map(str, shapes))}: "
                f"axis {axis} has sizes {sorted(known)}"
            )
        if known:
            out.append(known.pop())
        elif all(s == 1 for s in sizes):
            out.append(1)
        else:
            out.append(None)
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class Elemwise(Op):
    scalar_op: ScalarOp

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        op = self.scalar_op
        if len(inputs) != op.arity:
            raise TypeError(f"{op} takes {op.arity} argument(s), got {len(inputs)}")
        ins = [as_tensor_variable(x) for x in inputs]
        for position, var in enumerate(ins):
            if dtypes.kind(var.type.dtype) not in op.accepts:
                accepted = ", ".join(dtypes.KIND_NAMES[k] for k in op.accepts)
                raise TypeError(
                    f"{op}: argument {position} is {var.describe()} of dtype "
                    f"{var.type.dtype}; expected {accepted}"
                )
        ndims = {v.type.ndim for v in ins}
        if len(ndims) != 1:
            raise TypeError(f"Elemwise{{{op}}} inputs must have equal ndim, got {sorted(ndims)}")
        shape = broadcast_static_shapes([v.type.shape for v in ins], f"the inputs of {op}")
        out_dtype = op.output_dtype(tuple(v.type.dtype for v in ins))
        return self.make_apply(ins, [TensorType(out_dtype, shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return self.perform_into(node, inputs, [None])

    def perform_into(
        self, node: Node, inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray | None]
    ) -> list[np.ndarray]:
        """The result, written into ``outputs[0]`` when it is an array (the memory plan
        gives one only where the entry's ufunc loop yields exactly the output dtype)."""
        check_runtime_broadcast(node, inputs)
        compute = compute_dtypes(self.scalar_op, tuple(v.type.dtype for v in node.inputs))
        args = [a.astype(d, copy=False) for a, d in zip(inputs, compute, strict=True)]
        (buffer,) = outputs
        if buffer is not None:
            self.scalar_op.impl(*args, out=buffer)
            return [buffer]
        result = self.scalar_op.impl(*args)
        return [np.asarray(result).astype(node.outputs[0].type.dtype, copy=False)]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        from jitgraph.tensor.basic import constant

        ndim = node.outputs[0].type.ndim
        out: list[Var] = []
        for axis in range(ndim):
            candidates = [
                shp[axis]
                for var, shp in zip(node.inputs, input_shapes, strict=True)
                if var.type.shape[axis] != 1
            ]
            out.append(candidates[0] if candidates else constant(1, dtype="int64"))
        return [tuple(out)]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """The table entry's rule, fitted to each input: summed over the axes the input
        broadcasts along and cast to its dtype. Integer and bool inputs, and every input
        of an op with an integer or bool output, get zeros (Theano's definition).

        >>> import jitgraph.tensor as T
        >>> x, r = T.dmatrix("x"), T.drow("r")
        >>> node = (x * r).owner
        >>> [term.type for term in node.op.grad(node, [T.dmatrix("g")])]
        [TensorType(float64, matrix), TensorType(float64, row)]
        """
        rule = self.scalar_op.grad
        if rule is None:  # the table refuses this; an entry built by hand
            raise NoGradientError(f"{self} has no gradient (its table entry declares none)")
        inputs, output = list(node.inputs), node.outputs[0]
        if isinstance(rule, ZeroGradient) or _is_discrete(output) or all(map(_is_discrete, inputs)):
            return [float_zeros_like(x) for x in inputs]
        terms = rule(inputs, output, output_grads[0])
        return [fit_gradient(term, x) for term, x in zip(terms, inputs, strict=True)]

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """Unbatched inputs get a broadcastable leading axis; the same Elemwise applies."""
        from jitgraph.ir.vectorize import lift

        lifted = [lift(v, flag) for v, flag in zip(inputs, batched)]
        return list(self.make_node(*lifted).outputs)

    def short_description(self) -> str:
        return f"elementwise {self.scalar_op}"

    def __str__(self) -> str:
        return f"Elemwise{{{self.scalar_op}}}"


def _is_discrete(var: Var) -> bool:
    return dtypes.kind(var.type.dtype) in "biu"


def fit_gradient(term: GradTerm, x: Var) -> GradTerm:
    """A pointwise gradient term made the gradient of input ``x``: summed over the axes
    where ``x`` broadcasts (static size 1) and the term does not, broadcast where the
    term is smaller than ``x``, the real part for a real ``x``, and ``x``'s dtype.
    DISCONNECTED and Undefined terms pass unchanged; an integer ``x`` gets zeros."""
    T: Any = importlib.import_module("jitgraph.tensor")  # imported late: it imports us

    if not isinstance(term, Var):
        return term
    if _is_discrete(x):
        return float_zeros_like(x)
    input_shape, term_shape = x.type.shape, term.type.shape
    summed = tuple(a for a, size in enumerate(input_shape) if size == 1 and term_shape[a] != 1)
    fitted: Var = T.sum(term, axis=summed, keepdims=True) if summed else term
    if any(t == 1 and s != 1 for s, t in zip(input_shape, fitted.type.shape, strict=True)):
        fitted = T.fill(x, fitted)
    if dtypes.is_complex(fitted.type.dtype) and not dtypes.is_complex(x.type.dtype):
        fitted = T.real(fitted)
    return T.cast(fitted, x.type.dtype)


def compute_dtypes(scalar_op: ScalarOp, in_dtypes: tuple[str, ...]) -> tuple[str, ...]:
    """The dtypes ``scalar_op`` casts its inputs to, decided once per dtype combination
    (and floatX, which a rule may read): every call of a compiled function reads it."""
    from jitgraph.config import config

    return _compute_dtypes(scalar_op, in_dtypes, config.floatX)


@functools.lru_cache(maxsize=4096)
def _compute_dtypes(
    scalar_op: ScalarOp, in_dtypes: tuple[str, ...], floatx: str
) -> tuple[str, ...]:
    return scalar_op.dtype_rule(in_dtypes)[0]


def check_runtime_broadcast(node: Node, inputs: Sequence[np.ndarray]) -> None:
    """Raise GraphError if run-time shapes break the static broadcast pattern."""
    patterns = [var.type.broadcastable for var in node.inputs]
    loop_extents(node, inputs, patterns, node.outputs[0].type.ndim)


def loop_extents(
    node: Node,
    inputs: Sequence[np.ndarray],
    broadcastable: Sequence[tuple[bool, ...]],
    ndim: int,
) -> tuple[int, ...]:
    """The extents of an elementwise loop over ``inputs`` (each with its broadcastable
    pattern); GraphError naming the node and the inputs when the inputs that do not
    broadcast along an axis disagree there. Shared by Elemwise and fused kernels."""
    extents: list[int] = []
    for axis in range(ndim):
        sizes = {
            position: value.shape[axis]
            for position, value in enumerate(inputs)
            if not broadcastable[position][axis]
        }
        if len(set(sizes.values())) > 1:
            detail = ", ".join(
                f"input {p} ({node.inputs[p].describe()}) has shape {inputs[p].shape}"
                for p in sizes
            )
            raise GraphError(
                f"shape mismatch in {node.op.short_description()} at axis {axis}: {detail}. "
                "Only dims of static size 1 broadcast (use a row/col type, keepdims=True or "
                "dimshuffle('x', ...))"
            )
        extents.append(next(iter(sizes.values()), 1))
    return tuple(extents)
