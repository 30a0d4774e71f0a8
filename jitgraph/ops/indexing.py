"""Indexing ops: basic and advanced indexing, set/inc_subtensor, nonzero.

An index is described by a *pattern*, a tuple of hashable entries (the op's parameter),
and the node's inputs after ``x`` carry every integer, slice bound, index array and mask
(a constant when the user wrote a literal), so symbolic indices work like literal ones
and constant index arrays are hashed by content like any constant:

- ``"i"``: one integer scalar (removes an axis);
- ``("s", has_start, has_stop, has_step)``: a slice whose present bounds are inputs;
- ``"x"``: ``None`` / ``np.newaxis`` (inserts a length-1 axis, no input);
- ``"a"``: an integer array (advanced indexing of one axis);
- ``("b", k)``: a boolean mask of ``k`` dims (advanced indexing of ``k`` axes).

Shapes follow NumPy: the dims of the advanced entries (and of the integers, once any
advanced entry is present) broadcast together and replace them in place when they are
adjacent in the index, or go first when they are not.

Gradients (Theano's): ``x[index]`` gives ``x`` the gradient ``inc_subtensor(zeros[index], g)``
(repeated advanced indices accumulate); ``set/inc_subtensor`` give ``y`` ``g[index]`` summed
over its broadcast axes; index inputs and integer outputs (shapes, nonzero) are disconnected.
The gradient graphs are indexing ops again, so gradients of gradients work.

>>> import jitgraph.tensor as T
>>> T.dmatrix("m")[1:, 0].type
TensorType(float64, vector)
>>> T.dtensor3("t")[:, [0, 2], 1].type.shape  # adjacent advanced entries stay in place
(None, 2)
>>> T.dtensor3("t")[[0, 2], :, 1].type.shape  # separated ones go first
(2, None)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.ir.graph import Const, Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import DISCONNECTED, GradTerm, Op

IndexEntry = str | tuple[Any, ...]
Pattern = tuple[IndexEntry, ...]
INT = "i"
NEWAXIS = "x"
ARRAY = "a"
FULL_SLICE: IndexEntry = ("s", False, False, False)

# What is known about one index input: its value (None when symbolic) and its shape.
Known = tuple[np.ndarray | None, tuple[int | None, ...]]


# ----------------------------------------------------------------------------- the pattern
def is_slice(entry: IndexEntry) -> bool:
    return isinstance(entry, tuple) and entry[0] == "s"


def is_mask(entry: IndexEntry) -> bool:
    return isinstance(entry, tuple) and entry[0] == "b"


def entry_inputs(entry: IndexEntry) -> int:
    """How many node inputs the entry takes."""
    if is_slice(entry):
        return sum(entry[1:])
    return 0 if entry == NEWAXIS else 1


def entry_axes(entry: IndexEntry) -> int:
    """How many axes of the indexed tensor the entry consumes."""
    if is_mask(entry):
        return int(entry[1])
    return 0 if entry == NEWAXIS else 1


def is_advanced(pattern: Pattern) -> bool:
    return any(entry == ARRAY or is_mask(entry) for entry in pattern)


def group_inputs(pattern: Pattern, items: Sequence[Any]) -> list[list[Any]]:
    """``items`` (one per index input) split into one list per pattern entry."""
    groups, position = [], 0
    for entry in pattern:
        count = entry_inputs(entry)
        groups.append(list(items[position : position + count]))
        position += count
    return groups


def describe_pattern(pattern: Pattern) -> str:
    """'int, 1:, ::s, None, array, mask2d' style text, for op names."""
    parts = []
    for entry in pattern:
        if is_slice(entry):
            start, stop, step = ("i" if present else "" for present in entry[1:])
            parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        elif is_mask(entry):
            parts.append(f"mask{entry[1]}d")
        else:
            parts.append({INT: "int", NEWAXIS: "None", ARRAY: "array"}[str(entry)])
    return ", ".join(parts)


# ----------------------------------------------------------------------------- key parsing
def split_index(key: Any, x: Var) -> tuple[Pattern, list[Var]]:
    """A Python index of ``x`` (ints, slices, None, Ellipsis, symbolic scalars, integer
    arrays and boolean masks, or a tuple of these) as a pattern and its input variables.

    >>> import jitgraph.tensor as T
    >>> split_index((0, slice(None, None, -1)), T.dmatrix("m"))[0]
    ('i', ('s', False, False, True))
    """
    items = list(key) if isinstance(key, tuple) else [key]
    entries: list[IndexEntry | None] = []  # None marks the Ellipsis until it is expanded
    inputs: list[list[Var]] = []
    for position, item in enumerate(items):
        if item is Ellipsis:
            entries.append(None)
            inputs.append([])
            continue
        entry, variables = _convert_item(item, position, x)
        entries.append(entry)
        inputs.append(variables)
    return _expand_ellipsis(entries, inputs, x)


def _expand_ellipsis(
    entries: list[IndexEntry | None], inputs: list[list[Var]], x: Var
) -> tuple[Pattern, list[Var]]:
    ndim = x.type.ndim
    consumed = sum(entry_axes(e) for e in entries if e is not None)
    if entries.count(None) > 1:
        raise IndexError(f"an index can only have a single ellipsis (...), indexing {x.describe()}")
    if consumed > ndim:
        raise IndexError(
            f"too many indices for {x.describe()}: it is {ndim}-d, but {consumed} axes were indexed"
        )
    pattern: list[IndexEntry] = []
    for entry in entries:
        pattern.extend([FULL_SLICE] * (ndim - consumed) if entry is None else [entry])
    return tuple(pattern), [v for group in inputs for v in group]


def _convert_item(item: Any, position: int, x: Var) -> tuple[IndexEntry, list[Var]]:
    from jitgraph.tensor.basic import as_tensor_variable, constant

    if item is None:
        return NEWAXIS, []
    if isinstance(item, slice):
        bounds = (item.start, item.stop, item.step)
        variables = [_slice_bound(b, position, x) for b in bounds if b is not None]
        return ("s", *(b is not None for b in bounds)), variables
    if isinstance(item, (bool, np.bool_)):
        return ("b", 0), [constant(bool(item), dtype="bool")]
    if isinstance(item, (int, np.integer)):
        return INT, [_int_constant(int(item), position, x)]
    if isinstance(item, (list, tuple)) and len(item) == 0:
        item = np.zeros(0, dtype="int64")  # NumPy reads an empty list as integer indices
    try:
        var = as_tensor_variable(item)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"index {position} of {x.describe()} is not a valid index: {exc}") from None
    return _classify(var, position, x), [var]


def _classify(var: Var, position: int, x: Var) -> IndexEntry:
    vtype = var.type
    if vtype.dtype == "bool":
        return ("b", vtype.ndim)
    if vtype.dtype in dtypes.INTEGER:
        return INT if vtype.ndim == 0 else ARRAY
    raise TypeError(
        f"index {position} of {x.describe()} must be an integer or boolean (scalar or array), "
        f"got {var.describe()} of type {vtype} (cast it with T.cast(..., 'int64'))"
    )


def _slice_bound(bound: Any, position: int, x: Var) -> Var:
    from jitgraph.tensor.basic import as_tensor_variable

    if isinstance(bound, (int, np.integer)) and not isinstance(bound, (bool, np.bool_)):
        return _int_constant(int(bound), position, x)
    if isinstance(bound, Var) and bound.type.ndim == 0 and bound.type.dtype in dtypes.INTEGER:
        return as_tensor_variable(bound)
    got = bound.describe() + f" of type {bound.type}" if isinstance(bound, Var) else repr(bound)
    raise TypeError(
        f"slice bounds in index {position} of {x.describe()} must be integer scalars or None, "
        f"got {got}"
    )


def _int_constant(value: int, position: int, x: Var) -> Var:
    """Literal integers become int64 constants (one constant per value: CSE-friendly)."""
    from jitgraph.tensor.basic import constant

    if not np.iinfo("int64").min <= value <= np.iinfo("int64").max:
        raise IndexError(f"index {position} of {x.describe()} is out of range: {value}")
    return constant(value, dtype="int64")


# ----------------------------------------------------------------------------- knowledge
def static_knowns(variables: Sequence[Var]) -> list[Known]:
    """What the graph says about index inputs: constant values and static shapes."""
    return [(v.data if isinstance(v, Const) else None, v.type.shape) for v in variables]


def runtime_knowns(values: Sequence[np.ndarray]) -> list[Known]:
    return [(np.asarray(v), np.shape(v)) for v in values]


def check_index(pattern: Pattern, x_shape: Sequence[int | None], knowns: Sequence[Known]) -> None:
    """Raise IndexError/ValueError for what is known to be wrong: an integer out of
    bounds, a zero slice step, a mask whose shape does not match."""
    axis = 0
    for entry, group in zip(pattern, group_inputs(pattern, knowns), strict=True):
        if entry in (INT, ARRAY):
            _check_bounds(group[0][0], axis, x_shape[axis])
        elif is_slice(entry) and entry[3]:
            step = group[-1][0]
            if step is not None and int(step) == 0:
                raise ValueError(f"slice step cannot be zero (axis {axis})")
        elif is_mask(entry):
            _check_mask(group[0][1], axis, x_shape[axis : axis + entry_axes(entry)])
        axis += entry_axes(entry)


def _check_bounds(data: np.ndarray | None, axis: int, size: int | None) -> None:
    if data is None or size is None or data.size == 0:
        return
    low, high = int(data.min()), int(data.max())
    bad = low if low < -size else high if high >= size else None
    if bad is not None:
        raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {size}")


def _check_mask(mask_shape: tuple[int | None, ...], axis: int, sizes: Sequence[int | None]) -> None:
    for offset, (m, n) in enumerate(zip(mask_shape, sizes, strict=True)):
        if m is not None and n is not None and m != n:
            raise IndexError(
                f"boolean index did not match indexed array along axis {axis + offset}; "
                f"size of axis is {n} but size of corresponding boolean axis is {m}"
            )


def output_shape(
    pattern: Pattern, x_shape: Sequence[int | None], knowns: Sequence[Known]
) -> tuple[int | None, ...]:
    """The shape of ``x[index]`` (None where unknown), by NumPy's rules."""
    advanced = is_advanced(pattern)
    dims: list[int | None] = []
    block_shapes: list[tuple[int | None, ...]] = []
    block_positions: list[int] = []
    insert_at, axis = 0, 0
    for position, (entry, group) in enumerate(zip(pattern, group_inputs(pattern, knowns))):
        if entry == NEWAXIS:
            dims.append(1)
        elif is_slice(entry):
            dims.append(_slice_length(entry, group, x_shape[axis]))
        elif entry == INT and not advanced:
            pass
        else:
            if not block_positions:
                insert_at = len(dims)
            block_positions.append(position)
            block_shapes.append(_advanced_shape(entry, group[0]))
        axis += entry_axes(entry)
    if advanced:
        adjacent = block_positions == list(range(block_positions[0], block_positions[-1] + 1))
        at = insert_at if adjacent else 0
        dims[at:at] = broadcast_shapes(block_shapes)
    return (*dims, *x_shape[axis:])


def _slice_length(entry: IndexEntry, group: list[Known], size: int | None) -> int | None:
    if not any(entry[1:]):
        return size
    bounds = iter(int(data) if data is not None else _UNKNOWN for data, _ in group)
    start, stop, step = (next(bounds) if present else None for present in entry[1:])
    if size is None or _UNKNOWN in (start, stop, step) or step == 0:
        return None
    return len(range(*slice(start, stop, step).indices(size)))


_UNKNOWN: Any = object()


def _advanced_shape(entry: IndexEntry, known: Known) -> tuple[int | None, ...]:
    data, shape = known
    if entry == INT:
        return ()
    if entry == ARRAY:
        return shape
    if data is not None:
        return (int(np.count_nonzero(data)),)
    return (0,) if 0 in shape else (None,)


def broadcast_shapes(shapes: Sequence[tuple[int | None, ...]]) -> tuple[int | None, ...]:
    """NumPy broadcasting of index-array shapes, with None for unknown dims."""
    ndim = max((len(s) for s in shapes), default=0)
    result: list[int | None] = []
    for axis in range(ndim):
        dims = [s[axis - ndim + len(s)] for s in shapes if axis - ndim + len(s) >= 0]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise IndexError(
                "shape mismatch: indexing arrays could not be broadcast together with shapes "
                + " ".join(_shape_text(s) for s in shapes)
            )
        result.append(known.pop() if known else None if None in dims else 1)
    return tuple(result)


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "(" + ",".join("?" if d is None else str(d) for d in shape) + ")"


def python_key(pattern: Pattern, values: Sequence[np.ndarray]) -> tuple[Any, ...]:
    """The NumPy index for ``pattern`` given the run-time index values."""
    key: list[Any] = []
    for entry, group in zip(pattern, group_inputs(pattern, values), strict=True):
        if entry == NEWAXIS:
            key.append(None)
        elif entry == INT:
            key.append(int(group[0]))
        elif is_slice(entry):
            bounds = iter(int(v) for v in group)
            key.append(slice(*(next(bounds) if present else None for present in entry[1:])))
        else:
            key.append(np.asarray(group[0]))
    return tuple(key)


# ----------------------------------------------------------------------------- ops
def _check_index_inputs(pattern: Pattern, x: Var, index_inputs: Sequence[Var]) -> None:
    """Each index input has the kind its pattern entry says (the front end guarantees
    this; direct users of the ops get a clear error)."""
    expected = sum(entry_inputs(e) for e in pattern)
    if len(index_inputs) != expected:
        raise TypeError(
            f"index pattern ({describe_pattern(pattern)}) takes {expected} "
            f"index inputs, got {len(index_inputs)}"
        )
    for entry, group in zip(pattern, group_inputs(pattern, index_inputs), strict=True):
        for var in group:
            vtype = var.type
            if is_mask(entry):
                ok = vtype.dtype == "bool" and vtype.ndim == entry[1]
            else:
                ok = vtype.dtype in dtypes.INTEGER and (vtype.ndim == 0) == (entry != ARRAY)
            if not ok:
                raise TypeError(
                    f"index entry {entry!r} of {x.describe()} cannot take "
                    f"{var.describe()} of type {vtype}"
                )


def _index_node_inputs(pattern: Pattern, inputs: Sequence[Any]) -> tuple[Var, list[Var]]:
    from jitgraph.tensor.basic import as_tensor_variable

    x = as_tensor_variable(inputs[0])
    index_inputs = [as_tensor_variable(v) for v in inputs[1:]]
    consumed = sum(entry_axes(e) for e in pattern)
    if consumed > x.type.ndim:
        raise IndexError(
            f"too many indices for {x.describe()}: it is {x.type.ndim}-d, "
            f"but {consumed} axes were indexed"
        )
    _check_index_inputs(pattern, x, index_inputs)
    return x, index_inputs


def _indexed_static_shape(
    pattern: Pattern, x: Var, index_inputs: Sequence[Var]
) -> tuple[int | None, ...]:
    knowns = static_knowns(index_inputs)
    try:
        check_index(pattern, x.type.shape, knowns)
        return output_shape(pattern, x.type.shape, knowns)
    except (IndexError, ValueError) as exc:
        raise type(exc)(f"{exc} (indexing {x.describe()})") from None


def _shape_of(static: tuple[int | None, ...], symbolic: Var | None) -> tuple[Var, ...]:
    """Static dims as constants, the others read from the symbolic shape vector."""
    from jitgraph.tensor.basic import constant

    return tuple(
        constant(d, dtype="int64") if d is not None else symbolic[k]  # type: ignore[index]
        for k, d in enumerate(static)
    )


@dataclasses.dataclass(frozen=True)
class Subtensor(Op):
    """Basic indexing ``x[i, a:b:c, None, ...]`` (ints, slices, new axes): a view in NumPy.

    >>> import jitgraph.tensor as T
    >>> str(T.dvector("v")[::-1].owner.op)
    'Subtensor{::i}'
    """

    only_views = True  # its reference makes a view: nothing to compile

    index: Pattern

    def make_node(self, *inputs: Any) -> Node:
        x, index_inputs = _index_node_inputs(self.index, inputs)
        if is_advanced(self.index) and type(self) is Subtensor:
            raise TypeError("Subtensor takes basic indices only; use AdvancedSubtensor")
        shape = _indexed_static_shape(self.index, x, index_inputs)
        return self.make_apply([x, *index_inputs], [TensorType(x.type.dtype, shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, *values = inputs
        check_index(self.index, x.shape, runtime_knowns(values))
        return [np.asarray(x[python_key(self.index, values)])]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        static = node.outputs[0].type.shape
        if all(d is not None for d in static):
            return [_shape_of(static, None)]
        symbolic = IndexedShape(self.index, len(input_shapes[0]))(
            *input_shapes[0], *node.inputs[1:]
        )
        return [_shape_of(static, symbolic)]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """``inc_subtensor(zeros_like(x)[index], g)``: repeated advanced indices accumulate
        (``np.add.at``), and the index inputs are disconnected."""
        from jitgraph.tensor.creation import zeros_like

        x, *index_inputs = node.inputs
        (output_grad,) = output_grads
        zeros = zeros_like(x, dtype=output_grad.type.dtype)
        grad_x = increment_op(self.index)(zeros, output_grad, *index_inputs)
        return [grad_x, *[DISCONNECTED] * len(index_inputs)]

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """A full slice over the batch axis, then the same index (batched indices:
        Blockwise)."""
        if any(batched[1:]):
            return None
        return [Subtensor((FULL_SLICE, *self.index))(*inputs)]

    def __str__(self) -> str:
        return f"{type(self).__name__}{{{describe_pattern(self.index)}}}"

    def short_description(self) -> str:
        return f"indexing [{describe_pattern(self.index)}]"


@dataclasses.dataclass(frozen=True)
class AdvancedSubtensor(Subtensor):
    """Indexing with integer arrays and/or boolean masks (mixed with basic entries): a copy.

    >>> import jitgraph.tensor as T
    >>> x = T.dmatrix("x")
    >>> x[x > 0].type
    TensorType(float64, vector)
    """

    def make_node(self, *inputs: Any) -> Node:
        if not is_advanced(self.index):
            raise TypeError("AdvancedSubtensor needs an array or mask index; use Subtensor")
        return super().make_node(*inputs)

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """Declines (Blockwise): NumPy moves the axes of non-adjacent array indices to the
        front, so a leading full slice would not keep the batch axis first."""
        return None


@dataclasses.dataclass(frozen=True)
class IncSubtensor(Op):
    """``x`` with ``x[index]`` set to (or incremented by) ``y``; inputs ``x, y, *index``.

    The result is a new array: the input ``x`` is never modified. Increments with
    repeated advanced indices accumulate (``np.add.at``); sets keep the last value.

    >>> import jitgraph.tensor as T
    >>> x = T.dvector("x")
    >>> str(T.inc_subtensor(x[1:], 1.0).owner.op)
    'IncSubtensor{i:}'
    """

    index: Pattern
    set_instead_of_inc: bool = False

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        x, index_inputs = _index_node_inputs(self.index, [inputs[0], *inputs[2:]])
        y = as_tensor_variable(inputs[1])
        if is_advanced(self.index) != isinstance(self, AdvancedIncSubtensor):
            raise TypeError(f"{type(self).__name__} got the wrong kind of index pattern")
        target = _indexed_static_shape(self.index, x, index_inputs)
        _check_increment(self._verb(), x, y, target)
        return self.make_apply([x, y, *index_inputs], [x.type])

    def _verb(self) -> str:
        return "set" if self.set_instead_of_inc else "increment"

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, y, *values = inputs
        knowns = runtime_knowns(values)
        check_index(self.index, x.shape, knowns)
        target = output_shape(self.index, x.shape, knowns)
        if not _broadcastable_to(np.shape(y), target):
            raise ValueError(
                f"cannot {self._verb()} a subtensor of shape {target} with a value of shape "
                f"{np.shape(y)}: it does not broadcast"
            )
        result = np.array(x, copy=True)  # never modify the caller's array
        key = python_key(self.index, values)
        y = np.asarray(y).astype(result.dtype, copy=False)
        if self.set_instead_of_inc:
            result[key] = y
        elif is_advanced(self.index):
            # Repeated indices accumulate. y is broadcast explicitly: NumPy 2.4's add.at
            # drops repeats when it broadcasts y itself (zeros(1), [[0,0,0],[0,0,0]], [1,2,3]
            # gives 6, not 12).
            np.add.at(result, key, np.broadcast_to(y, [n for n in target if n is not None]))
        else:
            result[key] += y
        return [result]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        return [tuple(input_shapes[0])]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """``x`` gets ``g`` (increment) or ``g`` with the written positions zeroed (set);
        ``y`` gets ``g[index]`` summed over the axes ``y`` was broadcast along.

        With repeated advanced indices a set keeps only the last write, yet every entry of
        ``y`` gets ``g`` at its position, as in Theano and PyTensor (AdvancedIncSubtensor's
        grad is ``advanced_subtensor(g, *idxs)`` there): the writes that lose are not told
        apart, which would need a scatter of positions at run time."""
        from jitgraph.ops.reduce import sum_to
        from jitgraph.tensor.basic import constant

        x, y, *index_inputs = node.inputs
        (output_grad,) = output_grads
        if self.set_instead_of_inc:
            zero = constant(0, dtype=output_grad.type.dtype)
            grad_x = increment_op(self.index, True)(output_grad, zero, *index_inputs)
        else:
            grad_x = output_grad
        grad_y = sum_to(indexing_op(self.index)(output_grad, *index_inputs), y)
        return [grad_x, grad_y, *[DISCONNECTED] * len(index_inputs)]

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """A full slice over the batch axis; an unbatched ``x`` is broadcast to the batch, a
        batched ``y`` is aligned to the indexed region's rank (an unbatched ``y``
        broadcasts). Batched indices: Blockwise."""
        from jitgraph.ir.vectorize import align, batch_size_of, broadcast_to_batch, first_batched

        if any(batched[2:]):
            return None
        x, y, *index = inputs
        old_x, old_index = node.inputs[0], node.inputs[2:]
        target_ndim = len(output_shape(self.index, old_x.type.shape, static_knowns(old_index)))
        size = batch_size_of(first_batched(batched, inputs))
        x = x if batched[0] else broadcast_to_batch(x, size)
        y = align(y, True, target_ndim) if batched[1] else y
        return [dataclasses.replace(self, index=(FULL_SLICE, *self.index))(x, y, *index)]

    def __str__(self) -> str:
        name = type(self).__name__
        if self.set_instead_of_inc:
            name = name.replace("Inc", "Set")
        return f"{name}{{{describe_pattern(self.index)}}}"

    def short_description(self) -> str:
        return f"{self._verb()} subtensor [{describe_pattern(self.index)}]"


@dataclasses.dataclass(frozen=True)
class AdvancedIncSubtensor(IncSubtensor):
    """IncSubtensor for array/mask indices (Theano's AdvancedIncSubtensor)."""

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """Declines (Blockwise), as AdvancedSubtensor does: array indices may move the
        indexed axes in front of the batch axis."""
        return None


def _broadcastable_to(shape: Sequence[int], target: Sequence[int | None]) -> bool:
    if len(shape) > len(target):
        return False
    tail = target[len(target) - len(shape) :]
    return all(s == 1 or t is None or s == t for s, t in zip(shape, tail, strict=True))


def _check_increment(verb: str, x: Var, y: Var, target: tuple[int | None, ...]) -> None:
    if y.type.ndim > len(target):
        raise ValueError(
            f"cannot {verb} a {len(target)}-d subtensor of {x.describe()} with "
            f"{y.describe()}, which is {y.type.ndim}-d"
        )
    known = tuple(d if d is not None else 1 for d in y.type.shape)
    if not _broadcastable_to(known, target):
        raise ValueError(
            f"cannot {verb} a subtensor of {x.describe()} of static shape "
            f"{_shape_text(target)} with {y.describe()} of static shape "
            f"{_shape_text(y.type.shape)}: it does not broadcast"
        )
    if not np.can_cast(y.type.dtype, x.type.dtype, "safe"):
        raise TypeError(
            f"cannot {verb} a subtensor of {x.describe()} (dtype {x.type.dtype}) with "
            f"{y.describe()} of dtype {y.type.dtype}: that would downcast; cast it "
            f"explicitly with T.cast(y, '{x.type.dtype}')"
        )


@dataclasses.dataclass(frozen=True)
class IndexedShape(Op):
    """The shape of ``x[index]`` as an int64 vector, from ``x``'s shape (``x_ndim``
    scalars) and the index inputs: what ``infer_shape`` of the indexing ops builds.
    A mask entry's length is its number of nonzero elements (any dtype is accepted)."""

    index: Pattern
    x_ndim: int

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        variables = [as_tensor_variable(v) for v in inputs]
        index_inputs = variables[self.x_ndim :]
        ndim = len(output_shape(self.index, (None,) * self.x_ndim, static_knowns(index_inputs)))
        return self.make_apply(variables, [TensorType("int64", (ndim,))])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x_shape = tuple(int(s) for s in inputs[: self.x_ndim])
        shape = output_shape(self.index, x_shape, runtime_knowns(inputs[self.x_ndim :]))
        return [np.asarray(shape, dtype="int64").reshape(-1)]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        from jitgraph.tensor.basic import constant

        return [(constant(node.outputs[0].type.shape[0], dtype="int64"),)]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """A shape: integer-valued, so no input reaches it differentiably."""
        return [DISCONNECTED] * len(node.inputs)

    def __str__(self) -> str:
        return f"IndexedShape{{{describe_pattern(self.index)}}}"


@dataclasses.dataclass(frozen=True)
class Nonzero(Op):
    """Indices of the nonzero elements: an int64 matrix ``(ndim, count)`` (Theano's
    Nonzero), or with ``flat`` the int64 vector of flat indices (``np.flatnonzero``)."""

    flat: bool = False

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        (a,) = [as_tensor_variable(v) for v in inputs]
        if a.type.ndim == 0 and not self.flat:
            raise ValueError(f"nonzero needs an array of at least 1 dim, got {a.describe()} (0-d)")
        count = 0 if 0 in a.type.shape else None
        shape = (count,) if self.flat else (a.type.ndim, count)
        return self.make_apply([a], [TensorType("int64", shape)])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        (a,) = inputs
        if self.flat:
            return [np.flatnonzero(a).astype("int64")]
        return [np.asarray(np.nonzero(a), dtype="int64").reshape(a.ndim, -1)]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        from jitgraph.tensor.basic import constant

        a = node.inputs[0]
        (a_shape,) = input_shapes
        pattern: Pattern = (("b", a.type.ndim),)
        count = IndexedShape(pattern, a.type.ndim)(*a_shape, a)[0]
        if self.flat:
            return [(count,)]
        return [(constant(a.type.ndim, dtype="int64"), count)]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """Integer positions, piecewise constant in ``a``: disconnected. (Theano declares
        the gradient undefined, but never asks for it: its output only feeds index inputs,
        which are disconnected, so ``x[x.nonzero()]`` differentiates there as here.)"""
        return [DISCONNECTED]

    def __str__(self) -> str:
        return "FlatNonzero" if self.flat else "Nonzero"


# ----------------------------------------------------------------------------- op for a pattern
def indexing_op(pattern: Pattern) -> Subtensor:
    """The op that reads ``x[index]`` for ``pattern``: a view or a copy.

    >>> str(indexing_op(("a",)))
    'AdvancedSubtensor{array}'
    """
    return AdvancedSubtensor(pattern) if is_advanced(pattern) else Subtensor(pattern)


def increment_op(pattern: Pattern, set_instead_of_inc: bool = False) -> IncSubtensor:
    """The op that increments (or sets) ``x[index]`` for ``pattern``.

    >>> str(increment_op((INT,), set_instead_of_inc=True))
    'SetSubtensor{int}'
    """
    op_class = AdvancedIncSubtensor if is_advanced(pattern) else IncSubtensor
    return op_class(pattern, set_instead_of_inc)
