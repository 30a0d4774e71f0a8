"""Creation ops (jitgraph/ops/creation.py) and their front end (jitgraph/tensor/creation.py):
alloc, broadcast_to, fill, zeros/ones(_like), full(_like), arange, eye, tri, mgrid, ogrid."""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import jitgraph
import jitgraph.tensor as T
from jitgraph import dtypes
from jitgraph.config import config
from jitgraph.ir.graph import Var
from jitgraph.ops.creation import Alloc, ARange, arange_length
from jitgraph.testing import assert_infer_shape as check_infer_shape

ALL_DTYPES = [d for d in dtypes.ALL if d != "float16"]


def run(inputs: list[Var], outputs: Any, *values: Any) -> Any:
    return jitgraph.function(inputs, outputs)(*values)


def assert_same(got: np.ndarray, want: Any) -> None:
    want = np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------- alloc
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_alloc_broadcasts_value(dtype: str) -> None:
    value = np.arange(3).astype(dtype)
    v, n = T.tensor(dtype, (None,), name="v"), T.lscalar("n")
    out = T.alloc(v, n, 2, 3)
    assert out.dtype == dtype and out.type.shape == (None, 2, 3)
    result = run([v, n], out, value, 4)
    assert_same(result, np.broadcast_to(value, (4, 2, 3)))
    assert result.flags.writeable and result.flags.c_contiguous
    check_infer_shape(out, [v, n], [value, 4])


def test_alloc_forms_and_static_shapes() -> None:
    assert T.alloc(1.5, 2, 3).type.shape == (2, 3)
    assert T.alloc(T.dcol(), 3, 4).type.shape == (3, 4)
    # a value dim other than 1 fixes the unknown target size
    assert T.alloc(T.tensor("float64", (5,)), T.lscalar()).type.shape == (5,)
    assert T.alloc(T.dscalar(), (2, 3)).type.shape == (2, 3)
    assert T.alloc(T.dscalar(), T.as_tensor_variable(np.array([2, 3]))).type.shape == (2, 3)
    assert_same(run([], T.alloc(np.int16(7), 2, 0)), np.full((2, 0), 7, "int16"))
    assert isinstance(T.alloc(1.0, 2).owner.op, Alloc)


def test_alloc_errors() -> None:
    v = T.tensor("float64", (3,), name="v")
    with pytest.raises(
        ValueError, match=r"cannot broadcast 'v'.* static shape \(3,\) .*size 4 at axis 1"
    ):
        T.alloc(v, 2, 4)
    with pytest.raises(ValueError, match="is 1-d, more than the 0 dims"):
        T.alloc(v)
    with pytest.raises(ValueError, match=r"shape\[0\] is -2"):
        T.alloc(0.0, -2)
    with pytest.raises(TypeError, match=r"alloc: shape\[1\] must be an integer scalar"):
        T.alloc(0.0, 2, 2.5)
    w, n = T.dvector("w"), T.lscalar("n")
    with pytest.raises(
        ValueError, match=r"cannot broadcast a value of shape \(3,\) to shape \(2, 4\)"
    ):
        run([w, n], T.alloc(w, 2, n), np.zeros(3), 4)
    with pytest.raises(ValueError, match="negative size"):
        run([w, n], T.alloc(w, n, 3), np.zeros(3), -1)


@pytest.mark.parametrize(
    "shape, target",
    [((3,), (2, 3)), ((1, 3), (4, 3)), ((), (2, 2)), ((2, 1), (2, 0)), ((2,), (2,))],
)
def test_broadcast_to(shape: tuple[int, ...], target: tuple[int, ...]) -> None:
    value = np.arange(int(np.prod(shape)), dtype="complex64").reshape(shape)
    x = T.tensor("complex64", tuple(1 if n == 1 else None for n in shape), name="x")
    out = T.broadcast_to(x, target)
    assert out.type.shape == target
    assert_same(run([x], out, value), np.broadcast_to(value, target))
    check_infer_shape(out, [x], [value])


def test_broadcast_to_symbolic_shape() -> None:
    x, shape = T.drow("x"), T.lvector("shape")
    value = np.arange(3.0)[None]
    out = T.broadcast_to(x, T.specify_shape(shape, (2,)))
    assert_same(run([x, shape], out, value, np.array([4, 3])), np.broadcast_to(value, (4, 3)))
    with pytest.raises(ValueError, match="not known when the graph is built"):
        T.broadcast_to(x, shape)


# ----------------------------------------------------------------------------- fill and friends
def test_fill_theano_semantics() -> None:
    x = T.dmatrix("x")
    value = np.ones((2, 3))
    # the dtype is the value's (Theano's fill/second), Python scalars autocast
    assert T.fill(x, 0).dtype == "int8"
    assert x.fill(np.float64(2)).dtype == "float64"
    assert_same(run([x], x.fill(np.float32(2.5)), value), np.full((2, 3), 2.5, "float32"))
    assert T.second is T.fill
    # value broadcast against the model: a row fills each row
    r = T.frow("r")
    out = T.fill(x, r)
    assert out.dtype == "float32"
    row = np.arange(3, dtype="float32")[None]
    assert_same(run([x, r], out, value, row), np.broadcast_to(row, (2, 3)))
    # a broadcastable model takes the value's size
    m = T.dcol("m")
    v = T.dmatrix("v")
    assert_same(run([m, v], T.fill(m, v), np.ones((2, 1)), np.ones((2, 4))), np.ones((2, 4)))
    # a value of higher ndim than the model
    assert T.fill(T.dvector(), T.dmatrix()).ndim == 2
    check_infer_shape(out, [x, r], [value, row])


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_zeros_ones_like(dtype: str) -> None:
    value = np.zeros((2, 0, 3), dtype=dtype)
    x = T.tensor(dtype, (None, None, 3), name="x")
    outs = run([x], [T.zeros_like(x), T.ones_like(x), x.zeros_like(), x.ones_like("int8")], value)
    assert_same(outs[0], np.zeros_like(value))
    assert_same(outs[1], np.ones_like(value))
    assert_same(outs[2], np.zeros_like(value))
    assert_same(outs[3], np.ones_like(value, dtype="int8"))
    assert T.zeros_like(x).type.shape == (None, None, 3)
    assert T.ones_like(T.frow()).broadcastable == (True, False)


def test_zeros_ones_full() -> None:
    n = T.iscalar("n")
    out = T.zeros((n, 3), dtype="int16")
    assert out.type.shape == (None, 3)
    assert_same(run([n], out, 2), np.zeros((2, 3), "int16"))
    assert T.zeros(3).dtype == config.floatX
    assert_same(run([], T.ones(())), np.ones((), config.floatX))
    assert_same(run([n], T.ones(n, dtype=bool), 3), np.ones(3, bool))
    assert_same(run([], T.full((2, 2), 7)), np.full((2, 2), 7))
    assert_same(run([], T.full((2,), 0.5, dtype="float32")), np.full(2, 0.5, "float32"))
    assert_same(run([], T.full(3, np.nan)), np.full(3, np.nan))
    x = T.imatrix("x")
    assert_same(run([x], T.full_like(x, 3), np.zeros((2, 2), "int32")), np.full((2, 2), 3, "int32"))
    d = T.dscalar("d")
    assert_same(run([n, d], T.full((n,), d), 2, 1.5), np.full(2, 1.5))
    check_infer_shape(out, [n], [2])
    with pytest.raises(TypeError, match=r"zeros: shape\[0\] must be an integer scalar"):
        T.zeros((2.0, 3))
    with pytest.raises(TypeError, match="not supported|is not a dtype"):
        T.zeros(3, dtype="float128x")


# ----------------------------------------------------------------------------- arange
@pytest.mark.parametrize(
    "args",
    [
        (5,),
        (0,),
        (-3,),
        (2, 10, 3),
        (10, 2, -3),
        (10, 2),
        (0, 1, 0.25),
        (1.5, -2.0, -0.5),
        (0.0, 1.0, 0.1),
        (0, 3.5),
        (-7, 7, 2),
    ],
)
def test_arange_literal_matches_numpy(args: tuple[Any, ...]) -> None:
    out = T.arange(*args)
    want = np.arange(*args)
    assert out.type.shape == want.shape  # static length from the constants
    assert_same(run([], out), want)
    full_args = {1: (0, *args, 1), 2: (*args, 1), 3: args}[len(args)]
    assert arange_length(*full_args) == len(want)


@pytest.mark.parametrize(
    "bound_dtypes, want",
    [
        (("int8", "int8", "int8"), "int64"),
        (("int32", "int64", "int8"), "int64"),
        (("uint8", "uint16", "uint8"), "uint64"),
        (("float32", "float32", "int8"), "float32"),
        (("int64", "float32", "int8"), "float64"),
        (("float64", "int8", "int8"), "float64"),
    ],
)
def test_arange_symbolic_dtypes(bound_dtypes: tuple[str, str, str], want: str) -> None:
    start, stop, step = (T.scalar(name, dtype=d) for name, d in zip("abc", bound_dtypes))
    out = T.arange(start, stop, step)
    assert out.dtype == want
    values = [np.asarray(v, dtype=d) for v, d in zip((1, 9, 2), bound_dtypes)]
    assert_same(run([start, stop, step], out, *values), np.arange(1, 9, 2, dtype=want))
    check_infer_shape(out, [start, stop, step], values)


def test_arange_symbolic_bounds_and_dtype_argument() -> None:
    n = T.lscalar("n")
    out = T.arange(n)
    assert out.dtype == "int64" and out.type.shape == (None,)
    for value in (0, 1, 7, -2):
        assert_same(run([n], out, value), np.arange(value))
    check_infer_shape(out, [n], [7])
    f = T.fscalar("f")
    assert T.arange(f).dtype == "float32"
    # Python numbers are weak: they do not widen symbolic float32 bounds
    assert T.arange(0, f, 0.5).dtype == "float32"
    assert T.arange(0, f, np.float64(0.5)).dtype == "float64"
    assert T.arange(T.bscalar(), 2.5).dtype == "float64"
    assert_same(run([f], T.arange(0, f, 0.5), np.float32(2)), np.arange(0, 2, 0.5, dtype="float32"))
    assert_same(run([n], T.arange(n, dtype="int8"), 4), np.arange(4, dtype="int8"))
    assert_same(run([], T.arange(5, dtype="float32")), np.arange(5, dtype="float32"))
    assert T.arange(10).dtype == "int64" and T.arange(0.5).dtype == "float64"
    assert str(T.arange(n).owner.op) == "ARange{dtype=int64}"
    assert isinstance(out.owner.op, ARange)


def test_arange_errors() -> None:
    n = T.lscalar("n")
    with pytest.raises(ValueError, match="step must not be zero"):
        T.arange(0, 5, 0)
    with pytest.raises(ValueError, match="step must not be zero"):
        run([n], T.arange(0, 5, n), 0)
    with pytest.raises(TypeError, match="stop must be a real scalar"):
        T.arange(T.dvector("v"))
    with pytest.raises(TypeError, match="start must be a real scalar"):
        T.arange(1j, 3)


@settings()
@given(
    start=st.integers(-20, 20),
    stop=st.integers(-20, 20),
    step=st.integers(-5, 5).filter(lambda s: s != 0),
    scale=st.sampled_from([1, 0.5, 0.1]),
)
def test_arange_length_matches_numpy(start: int, stop: int, step: int, scale: float) -> None:
    if scale == 1:
        bounds: tuple[Any, ...] = (start, stop, step)
    else:
        bounds = (start * scale, stop * scale, step * scale)
    assert arange_length(*bounds) == len(np.arange(*bounds))


# ----------------------------------------------------------------------------- grids
def test_mgrid_ogrid() -> None:
    n = T.lscalar("n")
    grids = T.mgrid[0:n, 1:7:2]
    want = np.mgrid[0:4, 1:7:2]
    outs = run([n], grids, 4)
    assert len(outs) == 2
    for got, expected in zip(outs, want):
        assert_same(got, expected)
    sparse = run([n], T.ogrid[0:n, 1:7:2], 4)
    for got, expected in zip(sparse, np.ogrid[0:4, 1:7:2]):
        assert_same(got, expected)
    assert_same(run([], T.mgrid[0:3])[0], np.mgrid[0:3])
    assert_same(run([], T.mgrid[0:1:0.25])[0], np.mgrid[0:1:0.25])
    assert T.mgrid[0:3, 0:4][0].type.shape == (3, 4)
    with pytest.raises(TypeError, match="slices with a stop"):
        T.mgrid[0:3, 4]
    with pytest.raises(NotImplementedError, match="complex steps"):
        T.mgrid[0:1:5j]


# ----------------------------------------------------------------------------- eye and tri
@pytest.mark.parametrize("n, m, k", [(3, None, 0), (3, 4, 1), (4, 2, -1), (0, 3, 0), (2, 2, 5)])
@pytest.mark.parametrize("dtype", ["bool", "int32", "float32", "complex128"])
def test_eye_tri(n: int, m: int | None, k: int, dtype: str) -> None:
    assert_same(run([], T.eye(n, m, k, dtype=dtype)), np.eye(n, m, k, dtype=dtype))
    assert_same(run([], T.tri(n, m, k, dtype=dtype)), np.tri(n, m, k, dtype=dtype))
    assert T.eye(n, m, k).type.shape == (n, n if m is None else m)


def test_eye_symbolic_and_identity_like() -> None:
    n, k = T.iscalar("n"), T.lscalar("k")
    out = T.eye(n, n + 1, k)
    assert out.dtype == config.floatX
    assert_same(run([n, k], out, 3, -1), np.eye(3, 4, -1))
    check_infer_shape(out, [n, k], [3, -1])
    x = T.bmatrix("x")
    ident = T.identity_like(x)
    assert ident.dtype == "int8"
    assert_same(run([x], ident, np.zeros((2, 3), "int8")), np.eye(2, 3, dtype="int8"))
    with pytest.raises(TypeError, match="must be a matrix"):
        T.identity_like(T.dvector())
    with pytest.raises(ValueError, match="n must be >= 0"):
        T.eye(-1)
    with pytest.raises(ValueError, match="sizes must be >= 0"):
        run([n], T.eye(n), -2)
    with pytest.raises(TypeError, match="eye: n must be an integer scalar"):
        T.eye(2.5)
