"""Shape ops (jitgraph/ops/shape.py) and their front end (jitgraph/tensor/shape.py):
differential tests against NumPy, static shape inference, infer_shape, error messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import jitgraph
import jitgraph.tensor as T
from jitgraph import dtypes
from jitgraph.ir.graph import Var
from jitgraph.ops.joining import Join
from jitgraph.ops.shape import Reshape, SpecifyShape, resolve_reshape, static_int
from jitgraph.testing import assert_infer_shape as check_infer_shape

ALL_DTYPES = [d for d in dtypes.ALL if d != "float16"]
RNG = np.random.default_rng(0)


def make_value(shape: Sequence[int], dtype: str = "float64") -> np.ndarray:
    """Random values of ``dtype``: distinct enough that a wrong permutation shows."""
    size = int(np.prod(shape))
    if dtype == "bool":
        return RNG.integers(0, 2, size).astype(bool).reshape(shape)
    if dtype in dtypes.INTEGER:
        info = np.iinfo(dtype)
        return (
            RNG.integers(max(info.min, -100), min(info.max, 100), size, endpoint=True)
            .astype(dtype)
            .reshape(shape)
        )
    values = RNG.standard_normal(size) * 10
    if dtype in dtypes.COMPLEX:
        values = values + 1j * RNG.standard_normal(size)
    return values.astype(dtype).reshape(shape)


def symbolic(value: np.ndarray, name: str = "x") -> Var:
    """A symbolic input of value's dtype and ndim, with unknown static shape."""
    return T.tensor(value.dtype, (None,) * value.ndim, name=name)


def run(inputs: list[Var], outputs: Any, *values: Any) -> Any:
    return jitgraph.function(inputs, outputs)(*values)


def assert_same(got: np.ndarray, want: np.ndarray) -> None:
    """Equal values, dtype and shape (NaN equal to NaN)."""
    want = np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------- reshape
RESHAPES = [
    ((2, 3, 4), (6, 4)),
    ((2, 3, 4), (-1,)),
    ((2, 3, 4), (4, -1, 2)),
    ((0, 3), (3, 0)),
    ((0, 3), (-1, 3)),
    ((), (1, 1)),
    ((1,), ()),
    ((5,), (5, 1)),
]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("old, new", RESHAPES)
def test_reshape_matches_numpy(dtype: str, old: tuple[int, ...], new: tuple[int, ...]) -> None:
    value = make_value(old, dtype)
    x = symbolic(value)
    out = T.reshape(x, new)
    assert out.dtype == dtype and out.ndim == len(new)
    assert_same(run([x], out, value), value.reshape(new))


@pytest.mark.parametrize("old, new", RESHAPES)
def test_reshape_static_shape_from_constants(old: tuple[int, ...], new: tuple[int, ...]) -> None:
    x = T.tensor("float64", old)
    assert x.reshape(new).type.shape == np.empty(old).reshape(new).shape
    check_infer_shape(x.reshape(new), [x], [make_value(old)])


@pytest.mark.parametrize("int_dtype", ["int8", "int32", "uint16", "int64"])
def test_reshape_symbolic_sizes(int_dtype: str) -> None:
    x = T.dtensor3("x")
    n = T.scalar("n", dtype=int_dtype)
    value = make_value((2, 3, 4))
    out = x.reshape((n, -1))
    assert out.type.shape == (None, None)
    assert_same(run([x, n], out, value, 4), value.reshape(4, -1))
    check_infer_shape(out, [x, n], [value, 4])
    if int_dtype.startswith("uint"):
        return
    # a symbolic -1 is resolved at run time too
    out2 = x.reshape((n, 4))
    assert_same(run([x, n], out2, value, -1), value.reshape(-1, 4))
    check_infer_shape(out2, [x, n], [value, -1])


def test_reshape_mixed_literal_and_symbolic_keeps_static_dims() -> None:
    x = T.dmatrix("x")
    out = T.reshape(x, (x.shape[0], 2, -1))
    assert out.type.shape == (None, 2, None)
    value = make_value((3, 4))
    assert_same(run([x], out, value), value.reshape(3, 2, -1))
    check_infer_shape(out, [x], [value])


def test_reshape_by_vector() -> None:
    x, shape = T.dvector("x"), T.lvector("shape")
    value = make_value((12,))
    out = T.reshape(x, shape, ndim=3)
    assert_same(run([x, shape], out, value, np.array([2, -1, 3])), value.reshape(2, -1, 3))
    # the vector's length is checked against ndim at run time
    with pytest.raises(ValueError, match="expected \\(3\\)"):
        run([x, shape], out, value, np.array([3, 4]))
    # a vector of static length needs no ndim; x.shape of another tensor is one
    y = T.dmatrix("y")
    out2 = T.reshape(x, y.shape)
    assert out2.ndim == 2
    assert_same(run([x, y], out2, value, np.zeros((4, 3))), value.reshape(4, 3))


def test_reshape_method_forms() -> None:
    x = T.dmatrix("x")
    value = make_value((2, 6))
    assert_same(run([x], x.reshape(3, 4), value), value.reshape(3, 4))
    assert_same(run([x], x.reshape([12]), value), value.reshape(12))
    assert_same(run([x], x.reshape(12), value), value.reshape(12))


def test_reshape_strided_inputs() -> None:
    x = T.dmatrix("x")
    base = make_value((4, 6))
    for value in (base[::-1], base.T, base[:, ::2]):
        assert_same(run([x], x.reshape((-1,)), value), value.reshape(-1))


def test_reshape_errors() -> None:
    x = T.tensor("float64", (3, 4), name="x")
    with pytest.raises(
        ValueError, match=r"cannot reshape .*shape \(3, 4\) \(size 12\) into shape \(5, 2\)"
    ):
        x.reshape((5, 2))
    with pytest.raises(ValueError, match="at most one -1"):
        x.reshape((-1, -1))
    with pytest.raises(ValueError, match="at most one -1"):
        x.reshape((-2, 6))
    with pytest.raises(TypeError, match=r"shape\[1\] must be an integer scalar.*float"):
        x.reshape((2, 6.0))
    with pytest.raises(TypeError, match="must be an integer"):
        x.reshape((True, 12))
    with pytest.raises(ValueError, match="pass ndim="):
        T.reshape(x, T.lvector("s"))
    y, n = T.dmatrix("y"), T.lscalar("n")
    with pytest.raises(ValueError, match=r"shape \(3, 4\) \(size 12\) into shape \(5, 3\)"):
        run([y, n], y.reshape((n, 3)), make_value((3, 4)), 5)


def test_resolve_reshape() -> None:
    assert resolve_reshape((2, 6), (3, -1)) == (3, 4)
    assert resolve_reshape((0, 6), (0, 6)) == (0, 6)
    with pytest.raises(ValueError, match="size 0"):
        resolve_reshape((0, 6), (-1, 0))


@settings()
@given(
    shape=st.lists(st.integers(0, 4), min_size=0, max_size=4),
    data=st.data(),
)
def test_reshape_round_trip(shape: list[int], data: st.DataObject) -> None:
    value = make_value(shape, "int32")
    x = symbolic(value)
    flat = x.reshape((-1,))
    new_shape = list(data.draw(st.permutations(shape)))
    if new_shape:
        new_shape[data.draw(st.integers(0, len(new_shape) - 1))] = -1
        if 0 in shape and -1 in new_shape and np.prod([n for n in new_shape if n != -1]) == 0:
            new_shape = list(shape)  # -1 with a zero-size rest is ambiguous (NumPy refuses)
    back = flat.reshape(new_shape).reshape(x.shape)
    out_flat, out_back = run([x], [flat.reshape(new_shape), back], value)
    assert_same(out_flat, value.reshape(-1).reshape(new_shape))
    assert_same(out_back, value)


# ----------------------------------------------------------------------------- flatten
@pytest.mark.parametrize("shape", [(2, 3, 4), (0, 3, 2), (3,), (2, 1, 0, 5)])
def test_flatten(shape: tuple[int, ...]) -> None:
    value = make_value(shape)
    x = symbolic(value)
    for ndim in range(1, len(shape) + 1):
        want = value.reshape(shape[: ndim - 1] + (int(np.prod(shape[ndim - 1 :])),))
        out = T.flatten(x, ndim)
        assert_same(run([x], out, value), want)
        check_infer_shape(out, [x], [value])
        static = T.flatten(T.tensor("float64", shape), ndim)
        assert static.type.shape == want.shape
    assert_same(run([x], x.flatten(), value), value.reshape(-1))
    assert T.flatten(x, outdim=1).ndim == 1


def test_flatten_0d_and_errors() -> None:
    x = T.dscalar("x")
    assert_same(run([x], T.flatten(x), np.array(3.0)), np.array([3.0]))
    with pytest.raises(ValueError, match=r"flatten: ndim must be an int in \[1, 2\], got 3"):
        T.flatten(T.dmatrix(), 3)


def test_flatten_keeps_static_leading_dims() -> None:
    assert T.flatten(T.tensor("float64", (1, None, 3)), 2).type.shape == (1, None)


# ----------------------------------------------------------------------------- permutations
@settings()
@given(shape=st.lists(st.integers(0, 3), min_size=0, max_size=4), data=st.data())
def test_transpose_permutations(shape: list[int], data: st.DataObject) -> None:
    axes = data.draw(st.permutations(range(len(shape))))
    value = make_value(shape, "int16")
    x = symbolic(value)
    out = T.transpose(x, axes)
    assert_same(run([x], out, value), np.transpose(value, axes))
    check_infer_shape(out, [x], [value])


@pytest.mark.parametrize("axes", [(0, 2), (-1, 0), (1, 1)])
def test_swapaxes(axes: tuple[int, int]) -> None:
    value = make_value((2, 3, 4), "complex64")[::-1]
    x = symbolic(value)
    assert_same(run([x], T.swapaxes(x, *axes), value), np.swapaxes(value, *axes))


def test_transpose_default_and_method() -> None:
    value = make_value((2, 3, 4))
    x = symbolic(value)
    assert_same(run([x], x.T, value), value.T)
    assert_same(run([x], x.transpose(1, 0, 2), value), value.transpose(1, 0, 2))


# ----------------------------------------------------------------------------- squeeze and friends
def test_squeeze_static_ones() -> None:
    x = T.tensor("float64", (1, None, 1, 3), name="x")
    value = make_value((1, 2, 1, 3))
    assert x.squeeze().type.shape == (None, 3)
    assert_same(run([x], x.squeeze(), value), value.squeeze())
    assert_same(run([x], T.squeeze(x, -2), value), value.squeeze(-2))
    assert_same(run([x], T.squeeze(x, (0, 2)), value), value.squeeze((0, 2)))


def test_squeeze_unknown_dim_checked_at_run_time() -> None:
    x = T.dtensor3("x")
    out = T.squeeze(x, 1)
    assert out.ndim == 2
    value = make_value((2, 1, 3))
    assert_same(run([x], out, value), value.squeeze(1))
    with pytest.raises(ValueError, match="axis 1 has size 2 at run time, expected 1"):
        run([x], out, make_value((2, 2, 3)))


def test_squeeze_errors() -> None:
    x = T.tensor("float64", (2, 3), name="x")
    with pytest.raises(ValueError, match=r"cannot drop axis 1 of 'x'.*static size is 3"):
        T.squeeze(x, 1)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        T.squeeze(x, 2)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3, (0, 1), (0, -1), (3, 1)])
def test_expand_dims(axis: Any) -> None:
    value = make_value((2, 3), "bool")
    x = symbolic(value)
    out = T.expand_dims(x, axis)
    assert_same(run([x], out, value), np.expand_dims(value, axis))
    check_infer_shape(out, [x], [value])


def test_shape_pads() -> None:
    value = make_value((2, 3), "uint8")
    x = symbolic(value)
    assert_same(run([x], T.shape_padleft(x, 2), value), value[None, None])
    assert_same(run([x], T.shape_padright(x), value), value[:, :, None])
    assert_same(run([x], T.shape_padaxis(x, 1), value), value[:, None])
    assert_same(run([x], T.shape_padaxis(x, -1), value), value[:, :, None])
    assert T.shape_padright(x, 2).broadcastable == (False, False, True, True)
    with pytest.raises(ValueError, match="out of range"):
        T.shape_padaxis(x, 3)


# ----------------------------------------------------------------------------- static types
def test_addbroadcast_unbroadcast_patternbroadcast() -> None:
    x = T.dmatrix("x")
    row = T.addbroadcast(x, 0)
    assert row.broadcastable == (True, False)
    assert T.unbroadcast(row, 0).broadcastable == (False, False)
    assert T.patternbroadcast(x, (False, True)).broadcastable == (False, True)
    assert T.addbroadcast(row, 0) is row  # nothing to change
    value = make_value((1, 3))
    assert_same(run([x], row, value), value)
    with pytest.raises(ValueError, match="addbroadcast: axis 0 has size 2 at run time"):
        run([x], row, make_value((2, 3)))
    # the broadcastable result now broadcasts in arithmetic
    y = T.dmatrix("y")
    assert_same(run([x, y], row + y, value, make_value((4, 3)) * 0), np.tile(value, (4, 1)))
    check_infer_shape(row, [x], [value])


def test_broadcast_pattern_errors() -> None:
    x = T.tensor("float64", (2, None), name="x")
    with pytest.raises(ValueError, match=r"axis 0 of 'x' .* broadcastable: its static size is 2"):
        T.addbroadcast(x, 0)
    with pytest.raises(ValueError, match="pattern .* has 1 entries"):
        T.patternbroadcast(x, (True,))
    with pytest.raises(ValueError, match="axis 5 is out of range"):
        T.unbroadcast(x, 5)


def test_specify_shape() -> None:
    x = T.dmatrix("x")
    n = T.lscalar("n")
    out = T.specify_shape(x, (2, n))
    assert out.type.shape == (2, None)
    assert T.specify_shape(x, (None, 3)).type.shape == (None, 3)
    assert isinstance(out.owner.op, SpecifyShape)
    value = make_value((2, 3))
    assert_same(run([x, n], out, value, 3), value)
    with pytest.raises(ValueError, match=r"value has shape \(2, 3\), expected \(2, 4\)"):
        run([x, n], out, value, 4)
    check_infer_shape(out, [x, n], [value, 3])
    vec = T.specify_shape(x, T.as_tensor_variable(np.array([2, 3])))
    assert vec.type.shape == (2, 3)


def test_specify_shape_errors() -> None:
    x = T.tensor("float64", (2, None), name="x")
    with pytest.raises(
        ValueError, match="'x' .* has static size 2 at axis 0, but the shape given says 5"
    ):
        T.specify_shape(x, (5, 3))
    with pytest.raises(ValueError, match="is 2-d but the shape has 3 entries"):
        T.specify_shape(x, (2, 3, 4))
    with pytest.raises(TypeError, match="integer scalar"):
        T.specify_shape(x, (2, 3.5))


# ----------------------------------------------------------------------------- size and shape
def test_size_and_shape_i() -> None:
    x = T.dtensor3("x")
    for shape in [(2, 3, 4), (0, 5, 1)]:
        value = make_value(shape)
        assert run([x], x.size, value) == value.size
        assert run([x], T.size(x), value).dtype == np.int64
        assert run([x], T.shape_i(x, -1), value) == shape[-1]
    assert T.size(T.tensor("int8", (2, 3))).data == 6
    assert T.size(T.dscalar()).data == 1
    assert T.shape_i(T.tensor("float64", (None, 4)), 1).data == 4
    assert static_int(T.tensor("float64", (None, 4)).shape[1]) == 4
    assert static_int(T.dmatrix().shape[1]) is None


# ----------------------------------------------------------------------------- join and stack
@pytest.mark.parametrize(
    "left, right",
    [
        ("int8", "int8"),
        ("int8", "int64"),
        ("uint8", "int8"),
        ("int32", "float32"),
        ("float32", "float64"),
        ("bool", "int16"),
        ("float32", "complex64"),
        ("bool", "bool"),
    ],
)
def test_concatenate_dtype_upcast(left: str, right: str) -> None:
    a, b = make_value((2, 3), left), make_value((4, 3), right)
    x, y = symbolic(a, "a"), symbolic(b, "b")
    out = T.concatenate([x, y])
    assert out.dtype == dtypes.upcast(left, right)
    assert_same(run([x, y], out, a, b), np.concatenate([a, b]).astype(out.dtype))


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_join_axes_and_shapes(axis: int) -> None:
    shapes = [(2, 3, 4), (2, 3, 4), (2, 3, 4)]
    values = []
    for i, shape in enumerate(shapes):
        shape = list(shape)
        shape[axis] = i  # includes a 0-size piece
        values.append(make_value(shape, "int64"))
    xs = [symbolic(v, f"x{i}") for i, v in enumerate(values)]
    out = T.join(axis, *xs)
    assert_same(run(xs, out, *values), np.concatenate(values, axis=axis))
    check_infer_shape(out, xs, values)
    static = T.join(axis, *(T.tensor("int64", v.shape) for v in values))
    assert static.type.shape == np.concatenate(values, axis=axis).shape


def test_join_static_merge_and_one_tensor() -> None:
    a, b = T.tensor("float64", (None, 3)), T.tensor("float64", (2, None))
    assert T.concatenate([a, b], axis=0).type.shape == (None, 3)
    assert T.concatenate([a, b], axis=1).type.shape == (2, None)
    assert T.join(0, a) is a
    assert str(T.join(1, a, b).owner.op) == "Join{axis=1}"


def test_join_errors() -> None:
    a, b = T.dmatrix("a"), T.dvector("b")
    with pytest.raises(TypeError, match=r"tensor 1 \('b'.*\) is 1-d"):
        T.concatenate([a, b])
    with pytest.raises(TypeError, match="list or tuple of tensors"):
        T.concatenate(a, b)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        T.concatenate([a, a], axis=2)
    with pytest.raises(TypeError, match="0-d tensors cannot be joined"):
        T.concatenate([T.dscalar(), T.dscalar()])
    with pytest.raises(ValueError, match="at least one"):
        T.concatenate([])
    with pytest.raises(ValueError, match=r"static sizes \[3, 4\] differ"):
        T.concatenate([T.tensor("float64", (2, 3)), T.tensor("float64", (2, 4))])
    with pytest.raises(
        ValueError, match=r"tensor 1 \('c'.*\) has shape \(2, 4\).*tensor 0's shape \(2, 3\)"
    ):
        c = T.dmatrix("c")
        run([a, c], T.concatenate([a, c]), make_value((2, 3)), make_value((2, 4)))
    with pytest.raises(TypeError, match="axis must be a Python int"):
        T.join(T.lscalar(), a, a)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis: int) -> None:
    values = [make_value((2, 3), "float32") for _ in range(3)]
    xs = [symbolic(v, f"x{i}") for i, v in enumerate(values)]
    want = np.stack(values, axis=axis)
    assert_same(run(xs, T.stack(xs, axis=axis), *values), want)
    assert_same(run(xs, T.stack(xs, axis), *values), want)
    assert_same(run(xs, T.stack(*xs, axis=axis), *values), want)
    check_infer_shape(T.stack(xs, axis=axis), xs, values)


def test_stack_scalars_and_lists() -> None:
    a, b = T.bscalar("a"), T.dscalar("b")
    out = T.stack([a, b, 2])
    assert out.dtype == "float64" and out.type.shape == (3,)
    assert_same(run([a, b], out, 1, 2.5), np.array([1.0, 2.5, 2.0]))
    c, d = T.lscalars("c", "d")
    grid = T.stacklists([[c, d], [d, c]])
    assert_same(run([c, d], grid, 1, 2), np.array([[1, 2], [2, 1]]))
    # as_tensor_variable of a list holding variables stacks it
    assert_same(run([c, d], T.as_tensor_variable([c, d]), 1, 2), np.array([1, 2]))
    with pytest.raises(TypeError, match="same ndim"):
        T.stack([T.dvector(), T.dscalar()])


# ----------------------------------------------------------------------------- split
@settings()
@given(
    sizes=st.lists(st.integers(0, 3), min_size=1, max_size=4),
    rest=st.lists(st.integers(0, 3), min_size=0, max_size=2),
    data=st.data(),
)
def test_split_concatenate_inverse(sizes: list[int], rest: list[int], data: st.DataObject) -> None:
    axis = data.draw(st.integers(0, len(rest)))
    shape = list(rest)
    shape.insert(axis, sum(sizes))
    value = make_value(shape, "int16")
    x = symbolic(value)
    splits = T.lvector("splits")
    pieces = T.split(x, splits, len(sizes), axis=axis)
    outs = run([x, splits], [*pieces, T.concatenate(pieces, axis=axis)], value, np.array(sizes))
    want = np.split(value, np.cumsum(sizes)[:-1], axis=axis)
    for got, expected in zip(outs[:-1], want):
        assert_same(got, expected)
    assert_same(outs[-1], value)


def test_split_static_and_infer_shape() -> None:
    x = T.tensor("float64", (2, 5), name="x")
    pieces = T.split(x, [1, 4], 2, axis=-1)
    assert [p.type.shape for p in pieces] == [(2, 1), (2, 4)]
    assert len(T.split(x, [5], 1, axis=1)) == 1
    y, splits = T.dmatrix("y"), T.ivector("s")
    sym = T.split(y, splits, 3, axis=0)
    value, sizes = make_value((6, 2)), np.array([1, 0, 5], dtype="int32")
    for piece in sym:
        check_infer_shape(piece, [y, splits], [value, sizes])


def test_split_errors() -> None:
    x = T.tensor("float64", (2, 5), name="x")
    with pytest.raises(ValueError, match=r"sums to 4, but axis 1 has size 5"):
        T.split(x, [1, 3], 2, axis=1)
    with pytest.raises(ValueError, match="has 2 entries but n_splits is 3"):
        T.split(x, [1, 4], 3, axis=1)
    with pytest.raises(ValueError, match="negative"):
        T.split(x, [-1, 6], 2, axis=1)
    with pytest.raises(TypeError, match="integer vector"):
        T.split(x, [1.0, 4.0], 2, axis=1)
    y, splits = T.dvector("y"), T.lvector("s")
    with pytest.raises(ValueError, match=r"sums to 3, but axis 0 has size 4"):
        run([y, splits], T.split(y, splits, 2), make_value((4,)), np.array([1, 2]))
    with pytest.raises(ValueError, match="has 3 entries, n_splits is 2"):
        run([y, splits], T.split(y, splits, 2), make_value((4,)), np.array([1, 2, 1]))


# ------------------------------------------------------------------ tile, repeat, roll, flip
@pytest.mark.parametrize(
    "shape, reps",
    [
        ((2, 3), (2, 1)),
        ((2, 3), (3,)),
        ((3,), (2, 2)),
        ((2, 3), (0, 2)),
        ((), (3,)),
        ((0, 2), (2, 2)),
    ],
)
def test_tile(shape: tuple[int, ...], reps: tuple[int, ...]) -> None:
    value = make_value(shape, "int8")
    x = symbolic(value)
    out = T.tile(x, reps)
    assert_same(run([x], out, value), np.tile(value, reps))
    check_infer_shape(out, [x], [value])
    assert T.tile(T.tensor("int8", shape), reps).type.shape == np.tile(value, reps).shape


def test_tile_symbolic_reps() -> None:
    x, r = T.dmatrix("x"), T.iscalar("r")
    value = make_value((2, 3))
    out = T.tile(x, (r, 2))
    assert_same(run([x, r], out, value, 3), np.tile(value, (3, 2)))
    check_infer_shape(out, [x, r], [value, 3])
    reps = T.lvector("reps")
    out2 = T.tile(x, reps, ndim=3)
    assert out2.ndim == 3
    assert_same(run([x, reps], out2, value, np.array([2, 1, 2])), np.tile(value, (2, 1, 2)))
    with pytest.raises(ValueError, match="reps must be >= 0"):
        run([x, r], out, value, -1)
    with pytest.raises(ValueError, match="ndim=1 is less than"):
        T.tile(x, (2, 2), ndim=1)


@pytest.mark.parametrize("dtype", ["bool", "int32", "float64", "complex128"])
@pytest.mark.parametrize(
    "repeats, axis", [(2, None), (0, 0), (3, 1), (3, -1), ([1, 0], 0), ([2], 1), ([0, 1, 2], 1)]
)
def test_repeat(dtype: str, repeats: Any, axis: int | None) -> None:
    value = make_value((2, 3), dtype)
    x = symbolic(value)
    out = T.repeat(x, repeats, axis)
    assert_same(run([x], out, value), np.repeat(value, repeats, axis))
    check_infer_shape(out, [x], [value])
    static = T.repeat(T.tensor(dtype, (2, 3)), repeats, axis)
    assert static.type.shape == np.repeat(value, repeats, axis).shape


def test_repeat_symbolic_and_errors() -> None:
    x, counts, r = T.dmatrix("x"), T.lvector("counts"), T.iscalar("r")
    value = make_value((2, 3))
    out = x.repeat(counts, axis=0)
    assert_same(run([x, counts], out, value, np.array([3, 1])), np.repeat(value, [3, 1], 0))
    check_infer_shape(out, [x, counts], [value, np.array([3, 1])])
    assert_same(run([x, r], T.repeat(x, r, 1), value, 2), np.repeat(value, 2, 1))
    with pytest.raises(ValueError, match="repeats has 3 entries but axis 0 of the value"):
        run([x, counts], out, value, np.array([1, 1, 1]))
    with pytest.raises(ValueError, match="repeats must be >= 0"):
        run([x, r], T.repeat(x, r, 1), value, -2)
    with pytest.raises(ValueError, match="repeats has 3 entries but axis 0 has size 2"):
        T.repeat(T.tensor("float64", (2, 3)), [1, 1, 1], 0)
    with pytest.raises(TypeError, match="integer"):
        T.repeat(x, 1.5, 0)


@pytest.mark.parametrize(
    "shift, axis", [(1, None), (-2, 0), (4, 1), (1, -1), ((1, 2), (0, 1)), (0, 0)]
)
def test_roll(shift: Any, axis: Any) -> None:
    value = make_value((3, 4), "uint32")[::-1]
    x = symbolic(value)
    out = T.roll(x, shift, axis)
    assert_same(run([x], out, value), np.roll(value, shift, axis))
    s = T.lscalar("s")
    assert_same(run([x, s], T.roll(x, s, 1), value, -5), np.roll(value, -5, 1))
    empty = make_value((0, 3))
    y = symbolic(empty, "y")
    assert_same(run([y], T.roll(y, 2), empty), np.roll(empty, 2))


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
def test_flip(axis: Any) -> None:
    value = make_value((3, 4), "float32").T
    x = symbolic(value)
    assert_same(run([x], T.flip(x, axis), value), np.flip(value, axis))


def test_tensor_copy() -> None:
    x = T.dvector("x")
    out = T.tensor_copy(x, name="c")
    assert out.name == "c" and out.type == x.type
    value = make_value((3,))
    result = run([x], x.copy(), value)
    assert_same(result, value)
    assert not np.shares_memory(result, value)


# ----------------------------------------------------------------------------- op level
def test_ops_validate_direct_calls() -> None:
    x = T.dmatrix("x")
    with pytest.raises(TypeError, match="takes 2 sizes, got 1"):
        Reshape(2)(x, 4)
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        Join(3)(x, x)
    assert str(Reshape(2)) == "Reshape{2}"
