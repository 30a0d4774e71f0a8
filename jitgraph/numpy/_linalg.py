"""Products and contractions of ``jitgraph.numpy``: matmul, dot, tensordot, vecdot, einsum,
inner, outer, vdot, kron, cross, and NumPy's diagonal and trace.

Each builds graph nodes with ``jitgraph.tensor`` (``Matmul``, ``Dot``, ``TensorDot``,
``Diagonal``, reductions), so the optimizer can turn products into BLAS calls and fuse what
surrounds them. Dtypes follow NumPy: the operands are cast to their ``result_type`` (for
these functions NumPy converts Python scalars to arrays first, so they are not weak).

``einsum`` handles the common forms: explicit or implicit output, repeated labels
(diagonals), ellipses, and any number of operands, contracted pairwise left to right, each
pair as one batched matrix product.

>>> import jitgraph.numpy as jnp
>>> a = jnp.asarray([[1.0, 2.0], [3.0, 4.0]])
>>> jnp.einsum("ij,jk->ik", a, a).tolist()
[[7.0, 10.0], [15.0, 22.0]]
"""

from __future__ import annotations

import string
import warnings
from typing import Any

import numpy as np

import jitgraph.tensor as _tensor_module
from jitgraph.ir.graph import Var
from jitgraph.numpy import _core

__all__ = [
    "cross",
    "diagonal",
    "dot",
    "einsum",
    "inner",
    "kron",
    "matmul",
    "outer",
    "tensordot",
    "trace",
    "vdot",
    "vecdot",
]

T: Any = _tensor_module


# ----------------------------------------------------------------------------- helpers
def _promote(*args: Any, dtype: Any = None) -> tuple[list[Var], np.dtype[Any]]:
    """The operands as Vars of their common dtype. Python scalars count as arrays of
    NumPy's default dtype (matmul, dot and einsum convert them with ``asarray``)."""
    for a in args:
        if isinstance(a, np.ndarray) and a.dtype == object:
            raise TypeError("jitgraph.numpy has no object arrays")
    common = (
        np.dtype(dtype) if dtype is not None else np.result_type(*(_core.dtype_of(a) for a in args))
    )
    return [_core.as_var(a, dtype=common) for a in args], common


def _static(var: Var) -> tuple[int | None, ...]:
    shape: tuple[int | None, ...] = var.type.shape
    return shape


def _dims(var: Var) -> list[Any]:
    """The sizes of ``var``: static ints where known, symbolic scalars elsewhere."""
    symbolic: Any = var
    return [d if d is not None else symbolic.shape[i] for i, d in enumerate(_static(var))]


def _product(entries: list[Any]) -> Any:
    total: Any = 1
    for entry in entries:
        total = total * entry
    return total


def _sum_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """NumPy's default accumulator of ``sum``: small ints widen to the platform int."""
    if dtype.kind == "b" or (dtype.kind == "i" and dtype.itemsize < 8):
        return np.dtype("int64")
    if dtype.kind == "u" and dtype.itemsize < 8:
        return np.dtype("uint64")
    return dtype


def _cast(var: Var, dtype: np.dtype[Any]) -> Var:
    return var if var.type.dtype == dtype.name else T.cast(var, dtype.name)


def _conj(var: Var) -> Var:
    return T.conj(var) if var.type.dtype.startswith("complex") else var


def _shapes_text(*vars: Var) -> str:
    return " and ".join(str(tuple("?" if d is None else d for d in _static(v))) for v in vars)


# ----------------------------------------------------------------------------- matmul
def matmul(x1: Any, x2: Any, /) -> _core.ndarray:
    """``numpy.matmul`` (``x1 @ x2``): stacks of matrices, batch dims broadcast, a 1-d
    operand a row (left) or column (right) vector whose axis is dropped.

    >>> import jitgraph.numpy as jnp
    >>> (jnp.ones((4, 2, 3)) @ jnp.ones(3)).shape
    (4, 2)
    """
    (a, b), _ = _promote(x1, x2)
    for position, var in enumerate((a, b)):
        if var.type.ndim == 0:
            raise ValueError(
                f"matmul: input operand {position} is 0-d (shape ()); matmul needs at least "
                "1 dimension (use * to multiply by a scalar)"
            )
    sa, sb = _static(a), _static(b)
    k_a, k_b = sa[-1], sb[-2] if len(sb) >= 2 else sb[0]
    if k_a is not None and k_b is not None and k_a != k_b:
        raise ValueError(
            f"matmul: shapes {_shapes_text(a, b)} do not match: the last dim of x1 ({k_a}) "
            f"differs from the {'second-to-last' if len(sb) >= 2 else 'only'} dim of x2 ({k_b})"
        )
    batch_a, batch_b = sa[:-2], sb[:-2]
    for x, y in zip(reversed(batch_a), reversed(batch_b)):
        if x is not None and y is not None and 1 not in (x, y) and x != y:
            raise ValueError(
                f"matmul: the batch dims of shapes {_shapes_text(a, b)} do not broadcast"
            )
    return _core.wrap(T.matmul(a, b))


def dot(a: Any, b: Any) -> _core.ndarray:
    """``numpy.dot``: 0-d operands multiply; otherwise the sum over the last axis of
    ``a`` and the second-to-last of ``b`` (its only axis for a vector).

    >>> import jitgraph.numpy as jnp
    >>> jnp.dot(jnp.ones((2, 3)), jnp.ones((4, 3, 5))).shape
    (2, 4, 5)
    """
    (x, y), _ = _promote(a, b)
    sx, sy = _static(x), _static(y)
    if sx and sy:
        k_x, k_y = sx[-1], sy[-2] if len(sy) >= 2 else sy[0]
        if k_x is not None and k_y is not None and k_x != k_y:
            raise ValueError(
                f"dot: shapes {_shapes_text(x, y)} not aligned: {k_x} (dim {len(sx) - 1}) "
                f"!= {k_y} (dim {max(len(sy) - 2, 0)})"
            )
    return _core.wrap(T.dot(x, y))


def vdot(a: Any, b: Any, /) -> _core.ndarray:
    """``numpy.vdot``: both flattened, ``a`` conjugated, summed products (0-d)."""
    (x, y), _ = _promote(a, b)
    x, y = T.flatten(x), T.flatten(y)
    nx, ny = _static(x)[0], _static(y)[0]
    if nx is not None and ny is not None and nx != ny:
        raise ValueError(f"vdot: a has {nx} elements and b has {ny}; they must match")
    return _core.wrap(T.dot(_conj(x), y))


def inner(a: Any, b: Any, /) -> _core.ndarray:
    """``numpy.inner``: the sum over the last axes of both (0-d operands multiply)."""
    (x, y), _ = _promote(a, b)
    if x.type.ndim == 0 or y.type.ndim == 0:
        return _core.wrap(T.dot(x, y))
    nx, ny = _static(x)[-1], _static(y)[-1]
    if nx is not None and ny is not None and nx != ny:
        raise ValueError(
            f"inner: shapes {_shapes_text(x, y)} do not match along their last axes ({nx} != {ny})"
        )
    return _core.wrap(T.tensordot(x, y, axes=[[x.type.ndim - 1], [y.type.ndim - 1]]))


def outer(a: Any, b: Any, /) -> _core.ndarray:
    """``numpy.outer``: ``a.ravel()[:, None] * b.ravel()[None, :]``."""
    x, y = T.flatten(_core.as_var(a)), T.flatten(_core.as_var(b))
    column, row = T.dimshuffle(x, 0, "x"), T.dimshuffle(y, "x", 0)
    return _core.elementwise("multiply", column, row)


def tensordot(x1: Any, x2: Any, /, *, axes: Any = 2) -> _core.ndarray:
    """``numpy.tensordot``: an int N contracts the last N axes of ``x1`` with the first N
    of ``x2``; a pair of axis sequences (or ints) contracts them pairwise."""
    (a, b), _ = _promote(x1, x2)
    if isinstance(axes, (tuple, list)) and len(axes) == 2:
        axes = [_axis_list(axes[0]), _axis_list(axes[1])]
    elif isinstance(axes, np.integer):
        axes = int(axes)
    elif not isinstance(axes, int) or isinstance(axes, bool):
        raise TypeError(f"tensordot: axes must be an int or a pair of axis sequences, got {axes!r}")
    try:
        return _core.wrap(T.tensordot(a, b, axes=axes))
    except ValueError as exc:
        raise ValueError(f"tensordot: shapes {_shapes_text(a, b)}: {exc}") from None


def _axis_list(spec: Any) -> list[int]:
    if isinstance(spec, (int, np.integer)):
        return [int(spec)]
    return [int(v) for v in spec]


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> _core.ndarray:
    """``numpy.vecdot``: ``sum(conj(x1) * x2)`` along ``axis`` (the other dims broadcast;
    the two ``axis`` sizes must be equal)."""
    (a, b), dtype = _promote(x1, x2)
    for name, var in (("x1", a), ("x2", b)):
        if var.type.ndim == 0:
            raise ValueError(f"vecdot: {name} is 0-d; it needs at least 1 dimension")
    na, nb = a.type.ndim, b.type.ndim
    ax_a = _core.normalize_axis(axis, na, "vecdot: axis")[0]  # type: ignore[index]
    ax_b = _core.normalize_axis(axis, nb, "vecdot: axis")[0]  # type: ignore[index]
    ka, kb = _static(a)[ax_a], _static(b)[ax_b]
    if ka is not None and kb is not None and ka != kb:
        raise ValueError(
            f"vecdot: shapes {_shapes_text(a, b)} differ along axis {axis} ({ka} != {kb})"
        )
    a = T.dimshuffle(a, *[i for i in range(na) if i != ax_a], ax_a)
    b = T.dimshuffle(b, *[i for i in range(nb) if i != ax_b], ax_b)
    if dtype.kind == "b":
        # NumPy's boolean sum of products: any(a and b).
        return _core.wrap(T.any(T.and_(a, b), axis=-1))
    product = T.mul(_conj(a), b)
    return _core.wrap(T.sum(product, axis=-1, dtype=dtype.name))


# ----------------------------------------------------------------------------- diagonals
def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> _core.ndarray:
    """``numpy.diagonal``: the diagonals of the (axis1, axis2) planes, as the last axis
    (a read-only view in NumPy: in-place writes to it raise)."""
    var = _core.as_var(a)
    ndim = var.type.ndim
    if ndim < 2:
        raise ValueError(f"diagonal: the array must be at least 2-d, got {ndim}-d")
    first = _core.normalize_axis(axis1, ndim, "diagonal: axis1")[0]  # type: ignore[index]
    second = _core.normalize_axis(axis2, ndim, "diagonal: axis2")[0]  # type: ignore[index]
    if first == second:
        raise ValueError(f"diagonal: axis1 and axis2 cannot be the same (both {first})")
    _check_offset(offset, "diagonal")
    result = _core.wrap(T.diagonal(var, int(offset), first, second))
    return _core.as_view(result, a)


def _check_offset(offset: Any, where: str) -> None:
    if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)):
        raise TypeError(f"{where}: offset must be an int, got {offset!r}")


def trace(
    a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None
) -> _core.ndarray:
    """``numpy.trace``: the sums of the diagonals; small integer dtypes sum in int64 (or
    uint64), as ``sum`` does, unless ``dtype`` is given."""
    diag = diagonal(a, offset, axis1, axis2)._variable
    source = np.dtype(diag.type.dtype)
    want = np.dtype(dtype) if dtype is not None else _sum_dtype(source)
    return _core.wrap(T.sum(_cast(diag, want), axis=-1, dtype=want.name))


# ----------------------------------------------------------------------------- kron, cross
def kron(a: Any, b: Any, /) -> _core.ndarray:
    """``numpy.kron``: blocks ``a[i, j, ...] * b`` (the lower-rank operand gets leading
    unit dims)."""
    x, y = _core.as_var(a), _core.as_var(b)
    ndim = max(x.type.ndim, y.type.ndim)
    x = T.shape_padleft(x, ndim - x.type.ndim) if x.type.ndim < ndim else x
    y = T.shape_padleft(y, ndim - y.type.ndim) if y.type.ndim < ndim else y
    if ndim == 0:
        return _core.elementwise("multiply", x, y)
    # x as (x0, 1, x1, 1, ...), y as (1, y0, 1, y1, ...): their product interleaves.
    wide_x = T.dimshuffle(x, *[p for i in range(ndim) for p in (i, "x")])
    wide_y = T.dimshuffle(y, *[p for i in range(ndim) for p in ("x", i)])
    product = _core.elementwise("multiply", wide_x, wide_y)._variable
    dx, dy = _dims(x), _dims(y)
    shape = [dx[i] * dy[i] for i in range(ndim)]
    return _core.wrap(T.reshape(product, shape, ndim=ndim))


def cross(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None
) -> _core.ndarray:
    """``numpy.cross`` of 3-vectors (or 2-vectors, taken with a zero third component)
    along ``axisa``/``axisb`` (``axis`` sets all three); the result's vector axis is
    ``axisc``. Two 2-vectors give the z component only."""
    if axis is not None:
        axisa = axisb = axisc = axis
    (first, second), _ = _promote(a, b)
    x: Any = _vector_last(first, axisa, "axisa")
    y: Any = _vector_last(second, axisb, "axisb")
    nx, ny = _static(x)[-1], _static(y)[-1]
    if nx not in (2, 3) or ny not in (2, 3):
        raise ValueError(
            f"cross: incompatible dimensions for cross product (dimension must be 2 or 3), "
            f"got {nx} and {ny}"
        )
    if nx == 2 or ny == 2:
        warnings.warn(
            "Arrays of 2-dimensional vectors are deprecated. Use arrays of 3-dimensional "
            "vectors instead. (deprecated in NumPy 2.0)",
            DeprecationWarning,
            stacklevel=2,
        )
    xs: list[Any] = [_core.wrap(x[..., i]) for i in range(nx)]
    ys: list[Any] = [_core.wrap(y[..., i]) for i in range(ny)]
    if nx == 2 and ny == 2:
        return xs[0] * ys[1] - xs[1] * ys[0]
    zero = _core.wrap(T.zeros_like(x[..., 0]))
    x0, x1, x2 = xs + [zero] * (3 - nx)
    y0, y1, y2 = ys + [_core.wrap(T.zeros_like(y[..., 0]))] * (3 - ny)
    parts = [x1 * y2 - x2 * y1, x2 * y0 - x0 * y2, x0 * y1 - x1 * y0]
    stacked = T.stack(*[p._variable for p in parts], axis=-1)
    ndim = stacked.type.ndim
    target = _core.normalize_axis(axisc, ndim, "cross: axisc")[0]  # type: ignore[index]
    order = list(range(ndim - 1))
    order.insert(target, ndim - 1)
    return _core.wrap(T.dimshuffle(stacked, *order))


def _vector_last(var: Var, axis: int, name: str) -> Var:
    ndim = var.type.ndim
    if ndim == 0:
        raise ValueError(f"cross: the operands must have at least 1 dimension ({name})")
    moved = _core.normalize_axis(axis, ndim, f"cross: {name}")[0]  # type: ignore[index]
    return T.dimshuffle(var, *[i for i in range(ndim) if i != moved], moved)


# ----------------------------------------------------------------------------- einsum
def einsum(subscripts: Any, *operands: Any, dtype: Any = None, optimize: Any = False) -> Any:
    """``numpy.einsum`` for subscript strings: explicit (``'ij,jk->ik'``) or implicit
    output, repeated labels in one operand (diagonals: ``'ii->i'``, ``'ii'``), labels
    summed away, ellipses (``'...ij,...jk->...ik'``), any number of operands (contracted
    left to right). ``optimize`` is accepted and ignored.

    >>> import jitgraph.numpy as jnp
    >>> float(jnp.einsum("ii", jnp.eye(3)))
    3.0
    """
    if not isinstance(subscripts, str):
        raise NotImplementedError(
            "einsum: only the subscripts-string form is supported (not the interleaved "
            "operand, sublist form)"
        )
    vars_, common = _promote(*operands, dtype=dtype)
    inputs, output = _parse_subscripts(subscripts, [v.type.ndim for v in vars_])
    terms = [_Term(v, labels) for v, labels in zip(vars_, inputs)]
    for i, term in enumerate(terms):
        term.check_sizes(subscripts)
        others = {label for j, t in enumerate(terms) if j != i for label in t.labels}
        term.reduce(set(output) | others, common)
    result = terms[0]
    for index in range(1, len(terms)):
        later = {label for t in terms[index + 1 :] for label in t.labels}
        result = _contract(result, terms[index], set(output) | later, subscripts, common)
    result.reduce(set(output), common)
    order = [result.labels.index(label) for label in output]
    var = result.var
    if order != list(range(len(order))):
        var = T.dimshuffle(var, *order)
    return _core.wrap(_cast(var, common))


class _Term:
    """An operand (or partial result) of einsum and the label of each of its axes."""

    def __init__(self, var: Var, labels: list[str]) -> None:
        self.var = var
        self.labels = labels

    def check_sizes(self, subscripts: str) -> None:
        sizes: dict[str, int] = {}
        for label, size in zip(self.labels, _static(self.var)):
            if size is None:
                continue
            if sizes.setdefault(label, size) != size:
                raise ValueError(
                    f"einsum {subscripts!r}: label {label!r} is repeated in an operand with "
                    f"different sizes ({sizes[label]} and {size})"
                )

    def reduce(self, keep: set[str], dtype: np.dtype[Any]) -> None:
        """Take the diagonal of repeated labels, then sum the labels not in ``keep``."""
        while len(set(self.labels)) != len(self.labels):
            label = next(x for x in self.labels if self.labels.count(x) > 1)
            first = self.labels.index(label)
            second = self.labels.index(label, first + 1)
            self.var = T.diagonal(self.var, 0, first, second)
            rest = [x for i, x in enumerate(self.labels) if i not in (first, second)]
            self.labels = [*rest, label]
        gone = [i for i, label in enumerate(self.labels) if label not in keep]
        if gone:
            if dtype.kind == "b":
                self.var = T.any(self.var, axis=tuple(gone))
            else:
                self.var = T.sum(self.var, axis=tuple(gone), dtype=dtype.name)
            self.labels = [x for i, x in enumerate(self.labels) if i not in gone]


def _contract(a: _Term, b: _Term, keep: set[str], subscripts: str, dtype: Any) -> _Term:
    """One batched matrix product: ``a`` as (batch, free_a, contracted), ``b`` as (batch,
    contracted, free_b), the groups flattened to single axes."""
    a.reduce(keep | set(b.labels), dtype)
    b.reduce(keep | set(a.labels), dtype)
    batch = [x for x in a.labels if x in b.labels and x in keep]
    summed = [x for x in a.labels if x in b.labels and x not in keep]
    free_a = [x for x in a.labels if x not in b.labels]
    free_b = [x for x in b.labels if x not in a.labels]
    for label in summed:
        size_a = _static(a.var)[a.labels.index(label)]
        size_b = _static(b.var)[b.labels.index(label)]
        if size_a is not None and size_b is not None and size_a != size_b:
            raise ValueError(
                f"einsum {subscripts!r}: label {label!r} has size {size_a} in one operand "
                f"and {size_b} in another"
            )
    left = _grouped(a, batch, [free_a, summed])
    right = _grouped(b, batch, [summed, free_b])
    product = T.matmul(left, right) if batch else T.dot(left, right)
    dims = _dims(product)[: len(batch)]
    dims += [_dims(a.var)[a.labels.index(x)] for x in free_a]
    dims += [_dims(b.var)[b.labels.index(x)] for x in free_b]
    if len(free_a) != 1 or len(free_b) != 1:
        product = T.reshape(product, dims, ndim=len(dims)) if dims else T.sum(product)
    return _Term(product, batch + free_a + free_b)


def _grouped(term: _Term, batch: list[str], groups: list[list[str]]) -> Var:
    """``term`` transposed to (batch, *groups) with each group merged into one axis (a
    unit axis when the group is empty)."""
    order = [term.labels.index(x) for x in batch + groups[0] + groups[1]]
    var = T.dimshuffle(term.var, *order)
    if all(len(g) == 1 for g in groups):
        return var
    dims = _dims(var)
    shape = dims[: len(batch)]
    start = len(batch)
    for group in groups:
        shape.append(_product(dims[start : start + len(group)]))
        start += len(group)
    return T.reshape(var, shape, ndim=len(shape))


_LETTERS = set(string.ascii_letters)


def _parse_subscripts(subscripts: str, ndims: list[int]) -> tuple[list[list[str]], list[str]]:
    """Each operand's labels and the output's; ellipsis dims become labels ``'.0'``,
    ``'.1'``, ... aligned to the right (they broadcast)."""
    text = subscripts.replace(" ", "")
    inputs_text, arrow, output_text = text.partition("->")
    terms = inputs_text.split(",")
    if len(terms) != len(ndims):
        raise ValueError(
            f"einsum {subscripts!r}: {len(terms)} operand subscripts for {len(ndims)} operands"
        )
    for char in text.replace("->", "").replace(",", "").replace(".", ""):
        if char not in _LETTERS:
            raise ValueError(f"einsum {subscripts!r}: invalid subscript {char!r}")
    widths = []
    for term, ndim in zip(terms, ndims):
        letters = len(term.replace("...", ""))
        if "..." not in term and letters != ndim:
            raise ValueError(
                f"einsum {subscripts!r}: operand subscripts {term!r} name {letters} dims, "
                f"but the operand has {ndim}"
            )
        widths.append(ndim - letters if "..." in term else 0)
        if widths[-1] < 0:
            raise ValueError(f"einsum {subscripts!r}: {term!r} has more labels than dims")
    width = max(widths, default=0)
    ellipsis = [f".{i}" for i in range(width)]
    inputs = [_labels(t, ellipsis[width - w :]) for t, w in zip(terms, widths)]
    if arrow:
        output = _labels(output_text, ellipsis)
        if len(set(output)) != len(output):
            raise ValueError(f"einsum {subscripts!r}: the output repeats a label")
        known = {label for labels in inputs for label in labels}
        for label in output:
            if label not in known:
                raise ValueError(
                    f"einsum {subscripts!r}: output label {label!r} is not in any operand"
                )
    else:
        counts: dict[str, int] = {}
        for labels in inputs:
            for label in labels:
                counts[label] = counts.get(label, 0) + 1
        singles = sorted(x for x, n in counts.items() if n == 1 and not x.startswith("."))
        output = ellipsis + singles
    return inputs, output


def _labels(term: str, ellipsis: list[str]) -> list[str]:
    if term.count("...") > 1 or term.replace("...", "").count("."):
        raise ValueError(f"einsum: invalid ellipsis in {term!r}")
    before, found, after = term.partition("...")
    return list(before) + (ellipsis if found else []) + list(after)
