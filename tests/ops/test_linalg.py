"""Linear algebra: dot, matmul, outer, tensordot, batched_dot, diagonal, trace.

Covers ``jitgraph/ops/linalg.py`` and ``jitgraph/tensor/linalg.py``, differential against
NumPy (values and dtypes) over ranks 0-4, 0-size dims, every dtype, transposed and reversed
views, integer overflow (int8 products wrap in int8, as ``numpy.dot`` does), and the
alignment errors at build time (static shapes) and at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.ir.graph import Var
from jitgraph.ops.linalg import Diagonal, TensorDot, product_dtype
from jitgraph.testing import assert_infer_shape

DTYPES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
]  # fmt: skip


# ----------------------------------------------------------------------------- helpers
def symbolic(value: np.ndarray, name: str) -> Var:
    return T.tensor(value.dtype.name, shape=(None,) * value.ndim, name=name)


def run(inputs: Sequence[Var], outputs: Any, *values: np.ndarray) -> Any:
    # Shapes may not depend on every input (dot of a 0-d operand): allow unused inputs.
    return jitgraph.function(list(inputs), outputs, on_unused_input="ignore")(*values)


def assert_matches(got: np.ndarray, expected: Any) -> None:
    """Same dtype and shape; equal values (floats to a few ulps of their precision)."""
    expected = np.asarray(expected)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(got, expected)
    else:
        rtol = 64 * float(np.finfo(expected.dtype).eps)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol, equal_nan=True)


def check_infer_shape(var: Var, inputs: Sequence[Var], *values: np.ndarray) -> None:
    assert_infer_shape(var, inputs, values)


def small_values(dtype: str) -> st.SearchStrategy[Any]:
    """Elements that keep float sums of products finite (ints: the full range, to wrap)."""
    kind = np.dtype(dtype).kind
    if kind == "f":
        return st.floats(-8, 8, width=np.dtype(dtype).itemsize * 8)
    if kind == "c":
        return st.complex_numbers(max_magnitude=8, allow_nan=False, allow_infinity=False)
    return hnp.from_dtype(np.dtype(dtype))


@st.composite
def operand(draw: st.DrawFn, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """An array of ``shape``, sometimes a transposed or reversed view."""
    layout = draw(st.sampled_from(["contiguous", "transposed", "reversed"]))
    if layout == "transposed" and len(shape) >= 2:
        base = draw(hnp.arrays(dtype, shape[::-1], elements=small_values(dtype)))
        return base.T
    value = draw(hnp.arrays(dtype, shape, elements=small_values(dtype)))
    return value[::-1] if layout == "reversed" and value.ndim else value


def dims(size: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(st.integers(0, 4), min_size=size, max_size=size).map(tuple)


# ----------------------------------------------------------------------------- dot
@settings()
@given(data=st.data(), ndim_a=st.integers(0, 3), ndim_b=st.integers(0, 3))
def test_dot_matches_numpy(data: st.DataObject, ndim_a: int, ndim_b: int) -> None:
    dtype_a, dtype_b = data.draw(st.sampled_from(DTYPES)), data.draw(st.sampled_from(DTYPES))
    shape_a, shape_b = data.draw(dims(ndim_a)), list(data.draw(dims(ndim_b)))
    if ndim_a and ndim_b:  # align the contracted dims
        shape_b[-2 if ndim_b >= 2 else 0] = shape_a[-1]
    a = data.draw(operand(shape_a, dtype_a))
    b = data.draw(operand(tuple(shape_b), dtype_b))
    x, y = symbolic(a, "a"), symbolic(b, "b")
    out = T.dot(x, y)
    with np.errstate(all="ignore"):
        expected = np.dot(a, b)
    assert_matches(run([x, y], out, a, b), expected)
    assert out.dtype == product_dtype(dtype_a, dtype_b)
    check_infer_shape(out, [x, y], a, b)


def test_dot_dtypes_and_overflow() -> None:
    a, b = T.bvector("a"), T.bvector("b")
    value = np.array([100, 100], dtype="int8")
    assert_matches(run([a, b], T.dot(a, b), value, value), np.dot(value, value))  # wraps
    p, q = T.tensor("bool", shape=(None,), name="p"), T.tensor("bool", shape=(None,), name="q")
    assert T.dot(p, q).dtype == "bool"
    truth = np.array([True, False])
    assert run([p, q], T.dot(p, q), truth, truth) == np.dot(truth, truth)
    assert T.dot(T.bmatrix(), T.fmatrix()).dtype == "float32"
    assert T.dot(T.imatrix(), T.vector(dtype="uint32")).dtype == "int64"


def test_dot_static_shapes_and_errors() -> None:
    a = T.tensor("float64", shape=(2, 3), name="a")
    b = T.tensor("float64", shape=(4, 5), name="b")
    assert T.dot(a, T.tensor("float64", shape=(3, None))).type.shape == (2, None)
    assert T.dot(T.dscalar(), a).type.shape == (2, 3)
    with pytest.raises(ValueError, match=r"dot: shapes \(2, 3\) and \(4, 5\) are not aligned"):
        T.dot(a, b)
    with pytest.raises(ValueError, match=r"3 \(contracted axis of 'a'.*4 \(contracted axis of 'b'"):
        a.dot(b)
    m, v = T.dmatrix("m"), T.dvector("v")
    with pytest.raises(ValueError, match=r"not aligned at run time.*'m'.*'v'"):
        run([m, v], T.dot(m, v), np.ones((2, 3)), np.ones(4))


# ----------------------------------------------------------------------------- matmul
@st.composite
def matmul_shapes(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Operand shapes NumPy's matmul accepts: broadcastable batch dims, aligned k."""
    ndim_a, ndim_b = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    rows, k, cols = draw(st.integers(0, 3)), draw(st.integers(0, 3)), draw(st.integers(0, 3))
    batch = draw(dims(max(ndim_a, ndim_b) - 2)) if max(ndim_a, ndim_b) > 2 else ()

    def batch_of(ndim: int) -> tuple[int, ...]:
        own = batch[len(batch) - max(ndim - 2, 0) :] if ndim > 2 else ()
        return tuple(1 if draw(st.booleans()) else n for n in own)

    shape_a = (*batch_of(ndim_a), rows, k) if ndim_a >= 2 else (k,)
    shape_b = (*batch_of(ndim_b), k, cols) if ndim_b >= 2 else (k,)
    return shape_a, shape_b


@settings()
@given(data=st.data(), shapes=matmul_shapes())
def test_matmul_matches_numpy(data: st.DataObject, shapes: Any) -> None:
    dtype_a, dtype_b = data.draw(st.sampled_from(DTYPES)), data.draw(st.sampled_from(DTYPES))
    a = data.draw(operand(shapes[0], dtype_a))
    b = data.draw(operand(shapes[1], dtype_b))
    x, y = symbolic(a, "a"), symbolic(b, "b")
    out = x @ y
    with np.errstate(all="ignore"):
        expected = np.matmul(a, b)
    assert_matches(run([x, y], out, a, b), expected)
    check_infer_shape(out, [x, y], a, b)


def test_matmul_static_shapes_and_errors() -> None:
    s = T.tensor("float32", shape=(5, 1, 2, 3), name="s")
    t = T.tensor("float32", shape=(4, 3, 6), name="t")
    assert T.matmul(s, t).type.shape == (5, 4, 2, 6)
    assert T.matmul(T.tensor("float64", shape=(None, 2, 3)), T.dvector()).type.shape == (None, 2)
    assert T.matmul(T.dvector(), T.dmatrix()).ndim == 1
    assert T.matmul(T.dvector(), T.dvector()).ndim == 0
    assert T.matmul(T.tensor("float32", shape=(None, 1, 3)), t).type.shape[0] == 4
    with pytest.raises(ValueError, match="matmul: the first operand 'c' .* is 0-d"):
        T.matmul(T.dscalar("c"), T.dmatrix())
    with pytest.raises(ValueError, match="matmul: the second operand"):
        T.dmatrix() @ T.dscalar()
    with pytest.raises(ValueError, match=r"matmul: shapes \(4, 3, 6\) and \(5, 1, 2, 3\) are not"):
        T.matmul(t, s)
    with pytest.raises(ValueError, match="batch dims of 'u'.*'t'.*do not broadcast"):
        T.matmul(T.tensor("float32", shape=(3, 2, 3), name="u"), t)
    a, b = T.dtensor3("a"), T.dtensor3("b")
    with pytest.raises(ValueError, match=r"shapes \(2, 2, 3\) \('a'.*\(3, 3, 2\) \('b'"):
        run([a, b], a @ b, np.ones((2, 2, 3)), np.ones((3, 3, 2)))


def test_matmul_infer_shape_broadcasts_at_run_time() -> None:
    a, b = T.dtensor3("a"), T.dtensor3("b")  # batch dims unknown: 1 broadcasts at run time
    check_infer_shape(a @ b, [a, b], np.ones((1, 2, 3)), np.ones((4, 3, 2)))
    check_infer_shape(a @ b, [a, b], np.ones((4, 2, 3)), np.ones((1, 3, 2)))


# ----------------------------------------------------------------------------- outer
@settings()
@given(data=st.data(), n=st.integers(0, 4), m=st.integers(0, 4))
def test_outer_matches_numpy(data: st.DataObject, n: int, m: int) -> None:
    dtype_a, dtype_b = data.draw(st.sampled_from(DTYPES)), data.draw(st.sampled_from(DTYPES))
    a, b = data.draw(operand((n,), dtype_a)), data.draw(operand((m,), dtype_b))
    x, y = symbolic(a, "a"), symbolic(b, "b")
    out = T.outer(x, y)
    with np.errstate(all="ignore"):
        expected = np.outer(a, b)
    if dtype_a == dtype_b == "bool":
        expected = expected.astype(bool)
    assert_matches(run([x, y], out, a, b), expected)


def test_outer_flattens_other_ranks() -> None:
    m, v = T.dmatrix("m"), T.dvector("v")
    a, b = np.arange(6.0).reshape(2, 3), np.arange(2.0)
    assert_matches(run([m, v], T.outer(m, v), a, b), np.outer(a, b))


# ----------------------------------------------------------------------------- tensordot
@st.composite
def tensordot_case(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...], Any]:
    """Shapes and an ``axes`` argument (an int or a pair of lists, maybe negative)."""
    ndim_a, ndim_b = draw(st.integers(0, 4)), draw(st.integers(0, 4))
    shape_a, shape_b = list(draw(dims(ndim_a))), list(draw(dims(ndim_b)))
    if draw(st.booleans()):
        count = draw(st.integers(0, min(ndim_a, ndim_b)))
        shape_b[:count] = shape_a[ndim_a - count :]
        return tuple(shape_a), tuple(shape_b), count
    count = draw(st.integers(0, min(ndim_a, ndim_b)))
    axes_a = draw(st.permutations(range(ndim_a)))[:count]
    axes_b = draw(st.permutations(range(ndim_b)))[:count]
    for i, j in zip(axes_a, axes_b):
        shape_b[j] = shape_a[i]
    signed_a = [i - ndim_a if draw(st.booleans()) else i for i in axes_a]
    return tuple(shape_a), tuple(shape_b), (signed_a, list(axes_b))


@settings()
@given(data=st.data(), case=tensordot_case())
def test_tensordot_matches_numpy(data: st.DataObject, case: Any) -> None:
    shape_a, shape_b, axes = case
    dtype_a, dtype_b = data.draw(st.sampled_from(DTYPES)), data.draw(st.sampled_from(DTYPES))
    a, b = data.draw(operand(shape_a, dtype_a)), data.draw(operand(shape_b, dtype_b))
    x, y = symbolic(a, "a"), symbolic(b, "b")
    out = T.tensordot(x, y, axes)
    with np.errstate(all="ignore"):
        expected = np.tensordot(a, b, axes)
    if dtype_a == dtype_b == "bool":
        expected = expected.astype(bool)  # NumPy's tensordot of bools is a bool dot too
    assert_matches(run([x, y], out, a, b), expected)
    check_infer_shape(out, [x, y], a, b)


def test_tensordot_static_shapes_and_errors() -> None:
    a = T.tensor("float64", shape=(2, 3, 4), name="a")
    b = T.tensor("float64", shape=(4, 3, 5), name="b")
    assert T.tensordot(a, b, [[1, 2], [1, 0]]).type.shape == (2, 5)
    assert T.tensordot(a, b, 0).type.shape == (2, 3, 4, 4, 3, 5)
    assert T.tensordot(a, b, axes=[2, 0]).type.shape == (2, 3, 3, 5)
    assert T.tensordot(a, b, 1).owner.op == TensorDot((2,), (0,))
    with pytest.raises(ValueError, match=r"not aligned.*3 \(contracted axis of 'a'"):
        T.tensordot(a, b, 2)
    with pytest.raises(ValueError, match="axes=4 must be in"):
        T.tensordot(a, b, 4)
    with pytest.raises(ValueError, match="lists must have equal lengths"):
        T.tensordot(a, b, [[0, 1], [0]])
    with pytest.raises(ValueError, match="axis of a 3 is out of bounds for a 3-d tensor"):
        T.tensordot(a, b, [[3], [0]])
    with pytest.raises(TypeError, match="axes must be an int or a pair"):
        T.tensordot(a, b, "ij")
    x, y = T.dmatrix("x"), T.dmatrix("y")
    with pytest.raises(ValueError, match="not aligned at run time.*'x'.*'y'"):
        run([x, y], T.tensordot(x, y, 1), np.ones((2, 3)), np.ones((2, 3)))


# ----------------------------------------------------------------------------- batched_dot
@settings()
@given(
    data=st.data(),
    ranks=st.sampled_from([(3, 3), (2, 2), (3, 2), (2, 3), (1, 2), (2, 1), (1, 1), (4, 3)]),
)
def test_batched_dot_matches_numpy(data: st.DataObject, ranks: tuple[int, int]) -> None:
    dtype = data.draw(st.sampled_from(["int8", "int64", "float32", "float64", "complex64"]))
    batch = data.draw(st.integers(0, 3))
    shape_a = [batch, *data.draw(dims(ranks[0] - 1))]
    shape_b = [batch, *data.draw(dims(ranks[1] - 1))]
    if ranks[0] > 1 and ranks[1] > 1:
        shape_b[-2 if ranks[1] > 2 else 1] = shape_a[-1]
    a = data.draw(operand(tuple(shape_a), dtype))
    b = data.draw(operand(tuple(shape_b), dtype))
    x, y = symbolic(a, "a"), symbolic(b, "b")
    out = T.batched_dot(x, y)
    with np.errstate(all="ignore"):
        rows = [np.dot(a[i], b[i]) for i in range(batch)]
        expected = np.array(rows, dtype=dtype) if rows else np.zeros(out_shape(a, b), dtype)
    assert_matches(run([x, y], out, a, b), expected)
    check_infer_shape(out, [x, y], a, b)


def out_shape(a: np.ndarray, b: np.ndarray) -> tuple[int, ...]:
    """The shape of ``np.dot(a[i], b[i])`` stacked, computed on non-empty stand-ins."""
    return (0, *np.dot(np.zeros(a.shape[1:]), np.zeros(b.shape[1:])).shape)


def test_batched_dot_shapes_and_errors() -> None:
    a = T.tensor("float64", shape=(4, 2, 3), name="a")
    b = T.tensor("float64", shape=(4, 3, 5), name="b")
    assert T.batched_dot(a, b).type.shape == (4, 2, 5)
    assert T.batched_dot(T.dmatrix(), T.dmatrix()).type.shape == (None,)
    with pytest.raises(ValueError, match=r"batched_dot: batch sizes differ: 4 .*'a'.* 5 .*'c'"):
        T.batched_dot(a, T.tensor("float64", shape=(5, 3, 5), name="c"))
    with pytest.raises(ValueError, match=r"batched_dot: shapes \(4, 2, 3\) and \(4, 2, 3\)"):
        T.batched_dot(a, a)
    with pytest.raises(TypeError, match="is 0-d; both need a batch axis"):
        T.batched_dot(T.dscalar(), b)
    x, y = T.dtensor3("x"), T.dtensor3("y")
    with pytest.raises(ValueError, match=r"batch sizes differ at run time: \(2, 1, 1\)"):
        run([x, y], T.batched_dot(x, y), np.ones((2, 1, 1)), np.ones((3, 1, 1)))


# ----------------------------------------------------------------------------- diagonal
@settings()
@given(
    data=st.data(),
    shape=hnp.array_shapes(min_dims=2, max_dims=4, min_side=0, max_side=4),
    dtype=st.sampled_from(DTYPES),
    offset=st.integers(-5, 5),
)
def test_diagonal_and_trace_match_numpy(
    data: st.DataObject, shape: tuple[int, ...], dtype: str, offset: int
) -> None:
    value = data.draw(operand(shape, dtype))
    ndim = value.ndim
    axis1 = data.draw(st.integers(-ndim, ndim - 1))
    axis2 = data.draw(st.integers(-ndim, ndim - 1).filter(lambda a: a % ndim != axis1 % ndim))
    x = symbolic(value, "x")
    diagonal = T.diagonal(x, offset, axis1, axis2)
    assert_matches(run([x], diagonal, value), np.diagonal(value, offset, axis1, axis2))
    check_infer_shape(diagonal, [x], value)
    trace = T.trace(x, offset, axis1, axis2)
    with np.errstate(all="ignore"):
        assert_matches(run([x], trace, value), np.trace(value, offset, axis1, axis2))


def test_diagonal_static_shapes_and_errors() -> None:
    m = T.tensor("int8", shape=(3, 5), name="m")
    assert T.diagonal(m).type.shape == (3,)
    assert T.diagonal(m, 3).type.shape == (2,) and T.diagonal(m, -4).type.shape == (0,)
    assert m.diagonal(1, 1, 0).type.shape == (2,)
    assert m.trace().dtype == "int64" and m.trace().ndim == 0
    assert T.diagonal(T.dtensor3(), 0, 2, 0).type.shape == (None, None)
    assert T.diagonal(m, 0, -1, 0).owner.op == Diagonal(0, 1, 0)
    with pytest.raises(ValueError, match="diagonal needs at least 2 dims; 'v'"):
        T.diagonal(T.dvector("v"))
    with pytest.raises(ValueError, match="distinct non-negative axes, got 1 and 1"):
        T.diagonal(m, 0, 1, -1)
    with pytest.raises(ValueError, match="axis2 2 is out of bounds for a 2-d tensor"):
        T.diagonal(m, 0, 0, 2)
    with pytest.raises(TypeError, match="offset must be an int"):
        T.diagonal(m, 1.5)
