"""Reductions and the other ops that look along an axis: one table entry per reduction
kind (``REDUCTIONS``) applied by one ``Reduce`` op over any axes, plus ``Argmax`` /
``Argmin``, the cumulative ops (``CumOp``) and ``Sort`` / ``Argsort``.

A table entry gives the NumPy reference, the identity (None: reducing an empty axis is an
error, as in NumPy), the elementwise combine op and the accumulator's starting value (for
fusion and the backends), and the dtype rule (Theano's: sum/prod of ints accumulate in
int64/uint64, of bool in int64; floats keep their dtype).

``max_or_neg_inf`` is internal (no front-end function): the max that the stable forms
written by the stabilize pass shift by, -inf over an empty axis where ``T.max`` raises as
NumPy does (floats only; its gradient is max's).

>>> import jitgraph.tensor as T
>>> T.bvector("v").sum().type
TensorType(int64, scalar)

Gradients: each table entry names its gradient (``grad``: x, the output and the output
gradient, both with the reduced axes kept as size 1 -> the gradient w.r.t. x); the other
ops of the module define ``grad`` on the class. ``SumTo`` (sum down to a shape a value
was broadcast from) is the gradient of broadcasting ops.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from jitgraph import dtypes
from jitgraph.ir.graph import Const, Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import DISCONNECTED, GradTerm, NoGradientError, Op


def accumulate_rule(dtype: str) -> str:
    """Theano's sum/prod output dtype: bool and signed ints give int64, unsigned ints
    uint64, floats and complex keep theirs.

    >>> accumulate_rule("int8"), accumulate_rule("uint16"), accumulate_rule("float32")
    ('int64', 'uint64', 'float32')
    """
    if dtype == "bool" or dtype in dtypes.SIGNED:
        return "int64"
    if dtype in dtypes.UNSIGNED:
        return "uint64"
    return dtype


def _lowest(dtype: str) -> Any:
    """The value every other value of ``dtype`` is >= to (max's starting value)."""
    if dtypes.kind(dtype) == "b":
        return False
    if dtypes.kind(dtype) in "iu":
        return np.iinfo(dtype).min
    return -np.inf


def _highest(dtype: str) -> Any:
    """The value every other value of ``dtype`` is <= to (min's starting value)."""
    if dtypes.kind(dtype) == "b":
        return True
    if dtypes.kind(dtype) in "iu":
        return np.iinfo(dtype).max
    return np.inf


@dataclasses.dataclass(frozen=True, eq=False)
class ReduceKind:
    """One reduction. Identity is the name (unique in the table)."""

    name: str
    impl: Callable[..., Any]  # numpy reduction: impl(x, axis=tuple, keepdims=bool)
    identity: float | None  # the value of an empty reduction; None: it is an error
    combine: str  # the scalar-table op that combines two partial results
    out_dtype: Callable[[str], str]  # input dtype -> output dtype
    # The accumulator's starting value in a given dtype, for backends: the identity where
    # there is one, else the extreme value of the dtype (max starts at -inf / iinfo.min).
    start_value: Callable[[str], Any]
    accepts: str = "biufc"
    takes_dtype: bool = False  # sum/prod accept dtype= and acc_dtype=
    # grad(x, out, out_grad, axis) -> d cost / d x; out and out_grad keep the reduced
    # axes (size 1). None: the reduction has no gradient.
    grad: Callable[[Var, Var, Var, tuple[int, ...]], GradTerm] | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReduceKind) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("ReduceKind", self.name))

    def signature(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


REDUCTIONS: dict[str, ReduceKind] = {}


def register(kind: ReduceKind) -> ReduceKind:
    if kind.name in REDUCTIONS:
        raise ValueError(f"reduction {kind.name!r} registered twice")
    if not set(kind.accepts) <= set("biufc"):
        raise ValueError(f"reduction {kind.name!r}: bad accepts {kind.accepts!r}")
    REDUCTIONS[kind.name] = kind
    return kind


def _same(dtype: str) -> str:
    return dtype


def _to_bool(dtype: str) -> str:
    return "bool"


# ----------------------------------------------------------------------------- gradients
def tensor_namespace() -> Any:
    """The Theano front end (``jitgraph.tensor``), imported when a gradient is built:
    gradient graphs use the front-end functions, so gradients of gradients work."""
    import jitgraph.tensor

    return jitgraph.tensor


def gradient_dtype(x: Var) -> str:
    """The dtype of a gradient w.r.t. ``x``: x's own when it is float or complex, else
    config.floatX (Theano gives integer and bool inputs a zero gradient in floatX)."""
    from jitgraph.config import config

    xtype: TensorType = x.type
    return xtype.dtype if dtypes.kind(xtype.dtype) in "fc" else config.floatX


def zeros_gradient(x: Var) -> Var:
    """A zero gradient shaped like ``x``: Theano's gradient of ops whose outputs are
    integers or booleans (argmax, argsort, all/any), which depend on x only through
    comparisons.

    >>> import jitgraph.tensor as T
    >>> zeros_gradient(T.imatrix("m")).type
    TensorType(float64, matrix)
    """
    T = tensor_namespace()
    return T.zeros_like(x, dtype=gradient_dtype(x))


def as_gradient_of(term: Var, x: Var) -> Var:
    """``term`` cast to the dtype of a float or complex ``x`` (a reduction with dtype= or
    acc_dtype= computes its gradient in the output's dtype)."""
    T = tensor_namespace()
    xtype: TensorType = x.type
    if dtypes.kind(xtype.dtype) in "fc" and term.type.dtype != xtype.dtype:
        return T.cast(term, xtype.dtype)
    return term


def with_reduced_axes(value: Var, ndim: int, axis: tuple[int, ...], keepdims: bool) -> Var:
    """A reduction's output (or its gradient) with the reduced ``axis`` back as static
    size-1 axes, ready to broadcast against the ``ndim``-d input."""
    from jitgraph.ops.shape import DimShuffle, Rebroadcast

    vtype: TensorType = value.type
    if keepdims:
        loose = tuple((a, True) for a in axis if vtype.shape[a] != 1)
        return Rebroadcast(loose)(value) if loose else value
    kept = iter(range(vtype.ndim))
    order = tuple("x" if a in axis else next(kept) for a in range(ndim))
    return DimShuffle(vtype.ndim, order)(value)


def broadcast_like(value: Var, x: Var) -> Var:
    """``value`` (same ndim as ``x``, size 1 where it broadcasts) broadcast to x's shape."""
    from jitgraph.ops.creation import Alloc
    from jitgraph.ops.shape import shape_scalars

    return Alloc()(value, *shape_scalars(x))


def _sum_grad(x: Var, out: Var, out_grad: Var, axis: tuple[int, ...]) -> GradTerm:
    return broadcast_like(out_grad, x)


def _prod_grad(x: Var, out: Var, out_grad: Var, axis: tuple[int, ...]) -> GradTerm:
    """d prod / d x_i is the product of the other values, computed without dividing by a
    zero (Theano's rule): at the only zero of a lane it is the product of the non-zero
    values; with two zeros or more, or at a non-zero next to a zero, it is 0; in a lane
    without zeros it is prod / x_i."""
    T = tensor_namespace()
    is_zero = T.eq(x, 0)
    zero_count = T.sum(is_zero, axis=axis, keepdims=True)
    safe = T.switch(is_zero, T.ones_like(x), x)
    nonzero_product = T.prod(safe, axis=axis, keepdims=True)
    at_zero = T.switch(T.eq(zero_count, 1), nonzero_product, T.zeros_like(nonzero_product))
    quotient = T.true_div(nonzero_product, safe)
    elsewhere = T.switch(T.eq(zero_count, 0), quotient, T.zeros_like(quotient))
    return T.mul(out_grad, T.switch(is_zero, at_zero, elsewhere))


def _extremum_grad(x: Var, out: Var, out_grad: Var, axis: tuple[int, ...]) -> GradTerm:
    """Theano's max/min gradient: every value equal to the extremum (all ties) receives
    the output gradient; NaN lanes (NaN != NaN) receive nothing."""
    T = tensor_namespace()
    return T.mul(out_grad, T.eq(x, out))


def _logical_grad(x: Var, out: Var, out_grad: Var, axis: tuple[int, ...]) -> GradTerm:
    return zeros_gradient(x)  # bool output: Theano's gradient is zero, not an error


register(
    ReduceKind(
        "sum", np.sum, 0, "add", accumulate_rule, lambda d: 0, takes_dtype=True, grad=_sum_grad
    )
)
register(
    ReduceKind(
        "prod",
        np.prod,
        1,
        "multiply",
        accumulate_rule,
        lambda d: 1,
        takes_dtype=True,
        grad=_prod_grad,
    )
)
register(
    ReduceKind("max", np.max, None, "maximum", _same, _lowest, accepts="biuf", grad=_extremum_grad)
)
register(
    ReduceKind("min", np.min, None, "minimum", _same, _highest, accepts="biuf", grad=_extremum_grad)
)


def _max_or_neg_inf(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``np.max`` that gives -inf over an empty axis instead of raising."""
    return np.max(x, axis=axis, keepdims=keepdims, initial=-np.inf)


# Internal: the max-shift of the stable forms (logsumexp, softmax, log_softmax that the
# stabilize pass writes). The unstable forms it replaces are defined on empty axes
# (log(sum(exp(x))) is -inf there), so the shift must be too; T.max keeps NumPy's error.
register(
    ReduceKind(
        "max_or_neg_inf",
        _max_or_neg_inf,
        -np.inf,
        "maximum",
        _same,
        lambda d: -np.inf,
        accepts="f",
        grad=_extremum_grad,
    )
)
register(
    ReduceKind("all", np.all, True, "logical_and", _to_bool, lambda d: True, grad=_logical_grad)
)
register(
    ReduceKind("any", np.any, False, "logical_or", _to_bool, lambda d: False, grad=_logical_grad)
)


# ----------------------------------------------------------------------------- axes
def _axis_items(axis: Any) -> list[Any]:
    if isinstance(axis, Const):  # Theano accepted constant tensors as axes
        axis = axis.data
    if isinstance(axis, np.ndarray):
        return [axis.item()] if axis.ndim == 0 else axis.tolist()
    if isinstance(axis, (int, np.integer)):
        return [axis]
    if isinstance(axis, (tuple, list)):
        return list(axis)
    raise TypeError(f"axis must be None, an int or a tuple of ints, got {axis!r}")


def normalize_axis(axis: Any, ndim: int, what: str = "axis") -> tuple[int, ...]:
    """``axis`` (None, int, tuple or list) as a sorted tuple of non-negative ints.

    >>> normalize_axis(-1, 3), normalize_axis([2, 0], 3), normalize_axis(None, 2)
    ((2,), (0, 2), (0, 1))
    """
    if axis is None:
        return tuple(range(ndim))
    out = []
    for a in _axis_items(axis):
        if not isinstance(a, (int, np.integer)) or isinstance(a, (bool, np.bool_)):
            raise TypeError(f"{what} must be None, an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{what} {a} is out of bounds for a {ndim}-d tensor")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{what} {axis!r} repeats an axis (of a {ndim}-d tensor)")
    return tuple(sorted(out))


def normalize_single_axis(axis: Any, ndim: int, what: str = "axis") -> int | None:
    """``axis`` (None or one int, possibly negative) as None or a non-negative int."""
    if axis is None:
        return None
    items = _axis_items(axis)
    if len(items) != 1:
        raise TypeError(f"{what} must be None or a single int, got {axis!r}")
    return normalize_axis(items[0], ndim, what)[0]


def _reduced_shape(
    shape: tuple[Any, ...], axis: tuple[int, ...], keepdims: bool, one: Any
) -> tuple[Any, ...]:
    """``shape`` with ``axis`` removed (or set to ``one`` when keepdims)."""
    if keepdims:
        return tuple(one if a in axis else n for a, n in enumerate(shape))
    return tuple(n for a, n in enumerate(shape) if a not in axis)


def _int64_one() -> Var:
    from jitgraph.tensor.basic import constant

    return constant(1, dtype="int64")


def _check_kind(what: str, x: Var, accepts: str) -> TensorType:
    xtype: TensorType = x.type
    if dtypes.kind(xtype.dtype) not in accepts:
        expected = ", ".join(dtypes.KIND_NAMES[k] for k in accepts)
        raise TypeError(
            f"{what} does not support {x.describe()} of dtype {xtype.dtype} (expected {expected})"
        )
    return xtype


# ----------------------------------------------------------------------------- Reduce
def check_acc_dtype(kind: ReduceKind, in_dtype: str, acc_dtype: str) -> None:
    """Theano's rule: an accumulator must not lose precision (a float one for integer
    input is fine)."""
    if dtypes.kind(acc_dtype) in "fc" and dtypes.kind(in_dtype) in "biu":
        return
    if dtypes.upcast(in_dtype, acc_dtype) != acc_dtype:
        raise TypeError(
            f"{kind}: acc_dtype={acc_dtype} would lose precision on an input of dtype "
            f"{in_dtype} (use an accumulator at least as wide as the input)"
        )


@dataclasses.dataclass(frozen=True)
class Reduce(Op):
    """A table reduction over ``axis`` (a sorted tuple; () reduces nothing).

    ``dtype`` (sum/prod only): accumulate and output in it; ``acc_dtype``: accumulate in
    it (Theano's argument), then cast to the output dtype. None: the kind's rule.
    """

    kind: ReduceKind
    axis: tuple[int, ...]
    keepdims: bool = False
    dtype: str | None = None
    acc_dtype: str | None = None

    def output_dtype(self, in_dtype: str) -> str:
        return self.dtype or self.kind.out_dtype(in_dtype)

    def accumulator_dtype(self, in_dtype: str) -> str:
        return self.acc_dtype or self.output_dtype(in_dtype)

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        (x,) = [as_tensor_variable(v) for v in inputs]
        xtype = _check_kind(str(self.kind), x, self.kind.accepts)
        if any(a >= xtype.ndim for a in self.axis):
            raise ValueError(
                f"{self.kind} over axis {self.axis} of {x.describe()}, a {xtype.ndim}-d tensor"
            )
        if (self.dtype or self.acc_dtype) and not self.kind.takes_dtype:
            raise TypeError(f"{self.kind} takes no dtype or acc_dtype")
        if self.acc_dtype is not None:
            check_acc_dtype(self.kind, xtype.dtype, self.acc_dtype)
        shape = _reduced_shape(xtype.shape, self.axis, self.keepdims, 1)
        return self.make_apply([x], [TensorType(self.output_dtype(xtype.dtype), shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        (x,) = inputs
        out_dtype = node.outputs[0].type.dtype
        kwargs: dict[str, Any] = {"axis": self.axis, "keepdims": self.keepdims}
        if self.kind.takes_dtype:
            kwargs["dtype"] = self.accumulator_dtype(x.dtype.name)
        try:
            result = self.kind.impl(x, **kwargs)
        except ValueError as exc:  # NumPy: "zero-size array to reduction operation ..."
            raise ValueError(
                f"{self.kind} of an empty axis: axis {self.axis} of an array of shape "
                f"{x.shape} ({self.kind} has no identity)"
            ) from exc
        return [np.asarray(result).astype(out_dtype, copy=False)]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        (shp,) = input_shapes
        return [_reduced_shape(tuple(shp), self.axis, self.keepdims, _int64_one())]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """The table entry's gradient, with the output and its gradient given back the
        reduced axes, then cast to x's dtype (dtype=/acc_dtype= change the output's)."""
        (x,) = node.inputs
        if self.kind.grad is None:
            raise NoGradientError(f"{self} has no gradient")
        ndim = x.type.ndim
        out = with_reduced_axes(node.outputs[0], ndim, self.axis, self.keepdims)
        out_grad = with_reduced_axes(output_grads[0], ndim, self.axis, self.keepdims)
        term = self.kind.grad(x, out, out_grad, self.axis)
        return [as_gradient_of(term, x) if isinstance(term, Var) else term]

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """The same reduction over the axes one to the right."""
        from jitgraph.ir.vectorize import vectorize_along_axes

        return vectorize_along_axes(self, "axis", batched, inputs)

    def __str__(self) -> str:
        axis = ", ".join(map(str, self.axis))
        extra = "".join(
            f", {name}={value}"
            for name, value in (("dtype", self.dtype), ("acc_dtype", self.acc_dtype))
            if value is not None
        )
        keep = ", keepdims" if self.keepdims else ""
        return f"{self.kind.name.capitalize()}{{axis=({axis}){keep}{extra}}}"

    def short_description(self) -> str:
        return f"{self.kind.name} over axis {self.axis}"


# ----------------------------------------------------------------------------- argmax
@dataclasses.dataclass(frozen=True)
class ArgReduce(Op):
    """Index of the extreme value over ``axis`` (None: all axes, flattened in C order; a
    tuple of axes is flattened the same way, as in Theano). The result is int64; the first
    NaN wins, as in NumPy. Subclasses: ``Argmax``, ``Argmin``."""

    axis: tuple[int, ...] | None
    keepdims: bool = False
    numpy_function: ClassVar[Callable[..., Any]] = np.argmax
    name: ClassVar[str] = "argreduce"

    def _axes(self, ndim: int) -> tuple[int, ...]:
        return tuple(range(ndim)) if self.axis is None else self.axis

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        (x,) = [as_tensor_variable(v) for v in inputs]
        xtype = _check_kind(self.name, x, "biuf")
        if self.axis is not None and any(a >= xtype.ndim for a in self.axis):
            raise ValueError(
                f"{self.name} over axis {self.axis} of {x.describe()}, a {xtype.ndim}-d tensor"
            )
        shape = _reduced_shape(xtype.shape, self._axes(xtype.ndim), self.keepdims, 1)
        return self.make_apply([x], [TensorType("int64", shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        (x,) = inputs
        axes = self._axes(x.ndim)
        kept = [a for a in range(x.ndim) if a not in axes]
        # Reduced axes last, flattened into one: an index into their C-order flattening.
        moved = np.transpose(x, kept + list(axes))
        flat = moved.reshape(moved.shape[: len(kept)] + (math.prod(moved.shape[len(kept) :]),))
        try:
            index = type(self).numpy_function(flat, axis=-1)
        except ValueError as exc:
            raise ValueError(
                f"{self.name} of an empty axis: axis {tuple(axes)} of an array of shape {x.shape}"
            ) from exc
        shape = _reduced_shape(x.shape, axes, self.keepdims, 1)
        return [np.asarray(index, dtype="int64").reshape(shape)]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        (shp,) = input_shapes
        return [_reduced_shape(tuple(shp), self._axes(len(shp)), self.keepdims, _int64_one())]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        # Theano: an index does not vary smoothly with x; its gradient is zero.
        return [zeros_gradient(node.inputs[0])]

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """The axes one to the right; axis=None (every axis of the element) becomes every
        axis but the batch axis."""
        from jitgraph.ir.vectorize import shift_axes

        element_ndim = node.inputs[0].type.ndim
        axes = tuple(range(element_ndim)) if self.axis is None else self.axis
        return [dataclasses.replace(self, axis=shift_axes(axes))(inputs[0])]

    def __str__(self) -> str:
        axis = "None" if self.axis is None else "(" + ", ".join(map(str, self.axis)) + ")"
        return f"{type(self).__name__}{{axis={axis}{', keepdims' if self.keepdims else ''}}}"

    def short_description(self) -> str:
        return f"{self.name} over axis {self.axis}"


@dataclasses.dataclass(frozen=True)
class Argmax(ArgReduce):
    numpy_function: ClassVar[Callable[..., Any]] = np.argmax
    name: ClassVar[str] = "argmax"


@dataclasses.dataclass(frozen=True)
class Argmin(ArgReduce):
    numpy_function: ClassVar[Callable[..., Any]] = np.argmin
    name: ClassVar[str] = "argmin"


# ----------------------------------------------------------------------------- along an axis
def _flat_length(shape: Sequence[Any]) -> Any:
    """The static length of a flattened ``shape`` (None if a dim is unknown)."""
    if any(n is None for n in shape):
        return None
    return math.prod(shape)


def _symbolic_flat_length(shape: Sequence[Var]) -> Var:
    from jitgraph.tensor.math import mul  # type: ignore[attr-defined]

    total: Var = _int64_one()
    for n in shape:
        total = mul(total, n)
    return total


@dataclasses.dataclass(frozen=True)
class AlongAxis(Op):
    """Base of the ops that map each 1-d lane along ``axis`` to a lane of the same length
    (None: the input flattened in C order, a 1-d output)."""

    axis: int | None

    name: ClassVar[str] = "along-axis"

    def output_dtype(self, in_dtype: str) -> str:
        return in_dtype

    def accepts(self) -> str:
        return "biufc"

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        (x,) = [as_tensor_variable(v) for v in inputs]
        xtype = _check_kind(self.name, x, self.accepts())
        if self.axis is not None and not 0 <= self.axis < xtype.ndim:
            raise ValueError(
                f"{self.name}: axis {self.axis} is out of bounds for {x.describe()}, a "
                f"{xtype.ndim}-d tensor"
            )
        shape = (_flat_length(xtype.shape),) if self.axis is None else xtype.shape
        return self.make_apply([x], [TensorType(self.output_dtype(xtype.dtype), shape)])

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        (shp,) = input_shapes
        if self.axis is None:
            return [(_symbolic_flat_length(shp),)]
        return [tuple(shp)]

    def lanes(self, x: np.ndarray) -> tuple[np.ndarray, int]:
        """The input and axis NumPy works on (flattened when axis is None)."""
        return (x.reshape(-1), 0) if self.axis is None else (x, self.axis)


@dataclasses.dataclass(frozen=True)
class CumOp(AlongAxis):
    """Cumulative sum or product (``kind``: 'sum' or 'prod'), Theano's ``CumOp``.
    The dtype follows sum/prod: ints accumulate in int64 (uint64), bool in int64."""

    kind: str = "sum"

    name: ClassVar[str] = "cumulative op"

    def __post_init__(self) -> None:
        if self.kind not in ("sum", "prod"):
            raise ValueError(f"CumOp kind must be 'sum' or 'prod', got {self.kind!r}")

    def output_dtype(self, in_dtype: str) -> str:
        return accumulate_rule(in_dtype)

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        values, axis = self.lanes(inputs[0])
        out_dtype = node.outputs[0].type.dtype
        function = np.cumsum if self.kind == "sum" else np.cumprod
        return [np.asarray(function(values, axis=axis, dtype=out_dtype))]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """cumsum: the reversed cumulative sum of the output gradient. cumprod: Theano's
        ``reversed_cumsum(out * g) / x``, exact for non-zero x; at a zero of x it gives
        inf or NaN (0/0), never a silent wrong value."""
        T = tensor_namespace()
        x = node.inputs[0]
        values, axis = (T.flatten(x), 0) if self.axis is None else (x, self.axis)
        out_grad = output_grads[0]
        if self.kind == "sum":
            term = _reversed_cumsum(out_grad, axis)
        else:
            term = T.true_div(_reversed_cumsum(T.mul(node.outputs[0], out_grad), axis), values)
        return [_unflatten_like(term, x) if self.axis is None else term]

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """The same op along the axis one to the right (axis=None flattens: Blockwise)."""
        from jitgraph.ir.vectorize import vectorize_along_axes

        return vectorize_along_axes(self, "axis", batched, inputs)

    def __str__(self) -> str:
        return f"CumOp{{{self.axis}, {'add' if self.kind == 'sum' else 'mul'}}}"

    def short_description(self) -> str:
        return f"cum{self.kind} over axis {self.axis}"


_SORT_KINDS = ("quicksort", "mergesort", "heapsort", "stable")


@dataclasses.dataclass(frozen=True)
class Sort(AlongAxis):
    """``numpy.sort`` along ``axis`` (NaN last; complex in lexicographic order)."""

    kind: str = "quicksort"

    name: ClassVar[str] = "sort"

    def __post_init__(self) -> None:
        if self.kind not in _SORT_KINDS:
            raise ValueError(f"{self.name}: kind must be one of {_SORT_KINDS}, got {self.kind!r}")

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        values, axis = self.lanes(inputs[0])
        return [np.sort(values, axis=axis, kind=self.kind)]  # type: ignore[call-overload]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """The output gradient moved back to where each sorted value came from: gathered
        at the inverse of the sorting permutation (ties share no gradient twice)."""
        T = tensor_namespace()
        x = node.inputs[0]
        values, axis = (T.flatten(x), 0) if self.axis is None else (x, self.axis)
        permutation = Argsort(axis, self.kind)(values)
        inverse = Argsort(axis, "stable")(permutation)
        term = _take_along_axis(output_grads[0], inverse, axis)
        return [_unflatten_like(term, x) if self.axis is None else term]

    def __str__(self) -> str:
        return f"{type(self).__name__}{{axis={self.axis}, {self.kind}}}"

    def short_description(self) -> str:
        return f"{self.name} along axis {self.axis}"


@dataclasses.dataclass(frozen=True)
class Argsort(Sort):
    """``numpy.argsort`` along ``axis``: int64 indices. Ties keep NumPy's order for the
    same ``kind`` ('stable'/'mergesort' keep the input order)."""

    name: ClassVar[str] = "argsort"

    def output_dtype(self, in_dtype: str) -> str:
        return "int64"

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        values, axis = self.lanes(inputs[0])
        return [np.argsort(values, axis=axis, kind=self.kind).astype("int64")]  # type: ignore[arg-type]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        # Theano: indices do not vary smoothly with x; the gradient is zero.
        return [zeros_gradient(node.inputs[0])]


def _reversed(x: Var, axis: int) -> Var:
    from jitgraph.tensor.subtensor import getitem

    return getitem(x, (slice(None),) * axis + (slice(None, None, -1),))


def _reversed_cumsum(x: Var, axis: int) -> Var:
    """``out[i] = sum(x[i:])`` along ``axis``."""
    return _reversed(CumOp(axis, "sum")(_reversed(x, axis)), axis)


def _unflatten_like(flat: Var, x: Var) -> Var:
    """A gradient of the flattened ``x`` reshaped to x's shape."""
    from jitgraph.ops.shape import Reshape, shape_scalars

    xtype: TensorType = x.type
    if xtype.ndim == 1:
        return flat
    return Reshape(xtype.ndim)(flat, *shape_scalars(x))


def _take_along_axis(x: Var, index: Var, axis: int) -> Var:
    """``numpy.take_along_axis(x, index, axis)`` for ``index`` shaped like ``x``: the
    other axes are indexed by broadcast aranges."""
    from jitgraph.ops.shape import shape_scalars
    from jitgraph.tensor.creation import ogrid
    from jitgraph.tensor.subtensor import getitem

    dims = shape_scalars(x)
    if len(dims) == 1:
        return getitem(x, index)
    grids = ogrid[tuple(slice(0, n) for n in dims)]
    key = tuple(index if a == axis else grid for a, grid in enumerate(grids))
    return getitem(x, key)


# ----------------------------------------------------------------------------- sum to a shape
def needs_sum_to(value: Var, like: Var) -> bool:
    """Whether ``value`` can be larger than ``like``, which it was broadcast from: extra
    leading axes, or an axis of ``like`` that is 1 or unknown (a run-time 1 broadcasts in
    alloc and matmul) where value's is not known to match."""
    vshape, lshape = value.type.shape, like.type.shape
    if len(vshape) != len(lshape):
        return True
    return any(want is None or (want == 1 and have != 1) for have, want in zip(vshape, lshape))


def sum_to(value: Var, like: Var) -> Var:
    """``value`` summed down to the shape of ``like`` (which broadcasts to value's shape):
    the gradient of a broadcast. No op when the static shapes show nothing to sum.

    >>> import jitgraph.tensor as T
    >>> sum_to(T.dtensor3("g"), T.drow("r")).type
    TensorType(float64, row)
    """
    from jitgraph.ops.shape import shape_scalars

    if not needs_sum_to(value, like):
        return value
    return SumTo()(value, *shape_scalars(like))


@dataclasses.dataclass(frozen=True)
class SumTo(Op):
    """Sum ``x`` down to a shape it was broadcast from (inputs: x, then one int64 size per
    dim of the target): the leading extra axes are summed away, and the axes where the
    target is 1 are summed keeping the dim. The gradient of alloc and of matmul's batch
    broadcasting; its own gradient broadcasts back."""

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.ops.shape import as_int_scalar, static_int
        from jitgraph.tensor.basic import as_tensor_variable

        x = as_tensor_variable(inputs[0])
        xtype: TensorType = x.type
        sizes = [as_int_scalar(s, f"sum_to: shape[{i}]") for i, s in enumerate(inputs[1:])]
        if len(sizes) > xtype.ndim:
            raise ValueError(
                f"sum_to: cannot sum {x.describe()}, a {xtype.ndim}-d tensor, to {len(sizes)} dims"
            )
        shape = tuple(static_int(s) for s in sizes)
        return self.make_apply([x, *sizes], [TensorType(xtype.dtype, shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(sum_to_shape(np, inputs[0], inputs[1:]))]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        return [tuple(node.inputs[1:])]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        from jitgraph.ops.creation import Alloc
        from jitgraph.ops.shape import shape_scalars

        x, *sizes = node.inputs
        return [Alloc()(output_grads[0], *shape_scalars(x)), *[DISCONNECTED] * len(sizes)]


def sum_to_shape(xp: Any, x: Any, sizes: Sequence[Any]) -> Any:
    """``SumTo``'s result with array module ``xp`` (NumPy, or CuPy on the GPU): ``x``
    summed over the leading axes and the axes of ``sizes`` that are 1."""
    target = tuple(int(s) for s in sizes)
    lead = tuple(range(x.ndim - len(target)))
    result = xp.sum(x, axis=lead, dtype=x.dtype) if lead else x
    ones = tuple(a for a, n in enumerate(target) if n == 1 and result.shape[a] != 1)
    if ones:
        result = xp.sum(result, axis=ones, keepdims=True, dtype=x.dtype)
    if result.shape != target:
        raise ValueError(
            f"sum_to: an array of shape {x.shape} was not broadcast from shape {target}"
        )
    return result
