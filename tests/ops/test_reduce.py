"""Reductions, arg-reductions, cumulative ops and sorting: differential against NumPy.

Covers ``jitgraph/ops/reduce.py`` (the REDUCTIONS table, Reduce, Argmax/Argmin, CumOp,
Sort/Argsort) and the front end in ``jitgraph/tensor/reduction.py``. Every jitgraph value
is computed by a compiled function and compared, dtype included, with NumPy computed
directly. Inputs cover every dtype, 0-d and 0-size shapes, negative and tuple axes,
keepdims, reversed and transposed views, NaN/inf and integer extremes.

Float sums: the reference runs ``numpy.sum`` in the output dtype, so float32 sums are
NumPy's pairwise float32 sums (not Theano's float64 accumulation); the comparison
tolerance covers only the layout-dependent order of the pairwise blocks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import scipy.special
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.gradient import verify_grad
from jitgraph.ir.graph import Var
from jitgraph.ops.reduce import (
    REDUCTIONS,
    Argmax,
    CumOp,
    Reduce,
    Sort,
    accumulate_rule,
    normalize_axis,
)
from jitgraph.testing import assert_infer_shape

ALL_DTYPES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
]  # fmt: skip
REAL_DTYPES = [d for d in ALL_DTYPES if not d.startswith("complex")]
FLOAT_DTYPES = ["float16", "float32", "float64"]


# ----------------------------------------------------------------------------- helpers
def symbolic(value: np.ndarray, name: str = "x") -> Var:
    """An input variable of ``value``'s dtype and rank, every dim unknown."""
    return T.tensor(value.dtype.name, shape=(None,) * value.ndim, name=name)


def run(inputs: Sequence[Var], outputs: Any, *values: np.ndarray) -> Any:
    # Shapes may not depend on every input (dot of a 0-d operand): allow unused inputs.
    return jitgraph.function(list(inputs), outputs, on_unused_input="ignore")(*values)


def assert_matches(got: np.ndarray, expected: Any, exact: bool = False) -> None:
    """Same dtype, shape and values (NaN equal to NaN; floats to a small tolerance)."""
    expected = np.asarray(expected)
    assert isinstance(got, np.ndarray)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    if exact or expected.dtype.kind in "biu":
        np.testing.assert_array_equal(got, expected)
        return
    rtol = 16 * float(np.finfo(expected.dtype).eps)  # a few ulps: summation order only
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol, equal_nan=True)


def check_infer_shape(var: Var, inputs: Sequence[Var], *values: np.ndarray) -> None:
    assert_infer_shape(var, inputs, values)


def view_of(value: np.ndarray, how: str) -> np.ndarray:
    """A non-contiguous view: reversed along axis 0, or transposed."""
    if how == "reverse" and value.ndim:
        return value[::-1]
    if how == "transpose":
        return value.T
    return value


@st.composite
def arrays(draw: st.DrawFn, dtypes: Sequence[str] = ALL_DTYPES, max_dims: int = 3) -> np.ndarray:
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=4))
    value = draw(hnp.arrays(dtype, shape))
    return view_of(value, draw(st.sampled_from(["none", "reverse", "transpose"])))


@st.composite
def axis_specs(draw: st.DrawFn, ndim: int) -> Any:
    """None, an int (maybe negative), or a tuple/list of distinct axes."""
    if ndim == 0:
        return draw(st.sampled_from([None, ()]))
    kind = draw(st.sampled_from(["none", "int", "tuple", "list"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim))
    axes = [a - ndim if draw(st.booleans()) else a for a in axes]
    return tuple(axes) if kind == "tuple" else axes


def numpy_axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


# ----------------------------------------------------------------------------- the table
def test_table_entries_are_complete() -> None:
    assert set(REDUCTIONS) >= {"sum", "prod", "max", "min", "all", "any"}
    sample = np.array([[3.0, -1.0, 0.0], [2.0, 5.0, -4.0]])
    for kind in REDUCTIONS.values():  # combine is the NumPy ufunc whose reduce is the kind
        combine = getattr(np, kind.combine)
        assert isinstance(combine, np.ufunc)
        np.testing.assert_array_equal(combine.reduce(sample, axis=1), kind.impl(sample, axis=1))
    assert REDUCTIONS["max"].identity is None and REDUCTIONS["min"].identity is None
    assert REDUCTIONS["max"].start_value("float32") == -np.inf
    assert REDUCTIONS["max"].start_value("int8") == -128
    assert REDUCTIONS["min"].start_value("uint8") == 255
    assert REDUCTIONS["sum"].start_value("int8") == 0


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [("bool", "int64"), ("int8", "int64"), ("int32", "int64"), ("uint8", "uint64"),
     ("uint64", "uint64"), ("float16", "float16"), ("float32", "float32"),
     ("complex64", "complex64")],
)  # fmt: skip
def test_sum_prod_dtype_rule(dtype: str, expected: str) -> None:
    x = T.tensor(dtype, shape=(None, None))
    assert accumulate_rule(dtype) == expected
    assert T.sum(x).dtype == expected and T.prod(x, axis=0).dtype == expected
    assert np.sum(np.zeros(2, dtype)).dtype == np.dtype(expected)  # NumPy agrees on Linux


# ----------------------------------------------------------------------------- Reduce
@settings()
@given(data=st.data(), kind=st.sampled_from(["sum", "prod", "max", "min", "all", "any"]))
def test_reduce_matches_numpy(data: st.DataObject, kind: str) -> None:
    dtypes = REAL_DTYPES if kind in ("max", "min") else ALL_DTYPES
    value = data.draw(arrays(dtypes))
    axis = data.draw(axis_specs(value.ndim))
    keepdims = data.draw(st.booleans())
    x = symbolic(value)
    out = getattr(T, kind)(x, axis=axis, keepdims=keepdims)
    function = getattr(np, kind)
    extra = {"dtype": accumulate_rule(value.dtype.name)} if kind in ("sum", "prod") else {}
    try:
        expected = function(value, axis=numpy_axis(axis), keepdims=keepdims, **extra)
    except ValueError:
        with pytest.raises(
            ValueError, match=f"{kind} of an empty axis.*shape {re.escape(str(value.shape))}"
        ):
            run([x], out, value)
        return
    assert_matches(run([x], out, value), expected)
    assert out.ndim == np.ndim(expected)
    check_infer_shape(out, [x], value)


def test_reduce_static_shapes() -> None:
    x = T.tensor("float64", shape=(2, 3, None))
    assert T.sum(x, axis=1).type.shape == (2, None)
    assert T.max(x, axis=(0, -1), keepdims=True).type.shape == (1, 3, 1)
    assert T.any(x).type.shape == ()
    assert T.sum(T.dscalar(), axis=None).type.shape == ()
    assert str(T.sum(x, axis=[2, 0]).owner.op) == "Sum{axis=(0, 2)}"


def test_reduce_of_0d() -> None:
    s = T.dscalar("s")
    f = jitgraph.function([s], [T.sum(s), T.max(s, axis=()), T.prod(s, keepdims=True)])
    assert [v.tolist() for v in f(np.float64(2.5))] == [2.5, 2.5, 2.5]


def test_empty_reductions() -> None:
    x = T.dmatrix("x")
    f = jitgraph.function([x], [T.sum(x), T.prod(x, axis=1), T.all(x), T.any(x)])
    total, product, every, some = f(np.zeros((0, 3)))
    assert total == 0 and product.shape == (0,) and every and not some
    # NumPy reduces a 0-size axis into 0 outputs without complaint; so do we.
    assert jitgraph.function([x], T.max(x, axis=1))(np.zeros((0, 3))).shape == (0,)
    with pytest.raises(ValueError, match=r"max of an empty axis: axis \(1,\).*\(3, 0\)"):
        jitgraph.function([x], T.max(x, axis=1))(np.zeros((3, 0)))
    with pytest.raises(ValueError, match=r"min of an empty axis"):
        jitgraph.function([x], T.min(x))(np.zeros((0, 0)))


# ----------------------------------------------------------------------------- max_or_neg_inf
def max_or_neg_inf(x: Var, axis: Any = None, keepdims: bool = False) -> Var:
    """The internal reduction the stable forms shift by (no front-end function)."""
    axes = normalize_axis(axis, x.type.ndim)
    return Reduce(REDUCTIONS["max_or_neg_inf"], axes, keepdims)(x)


@settings()
@given(data=st.data())
def test_max_or_neg_inf_matches_numpy_max_with_initial(data: st.DataObject) -> None:
    value = data.draw(arrays(FLOAT_DTYPES))
    axis = data.draw(axis_specs(value.ndim))
    keepdims = data.draw(st.booleans())
    x = symbolic(value)
    out = max_or_neg_inf(x, numpy_axis(axis), keepdims)
    expected = np.max(value, axis=numpy_axis(axis), keepdims=keepdims, initial=-np.inf)
    assert_matches(run([x], out, value), expected, exact=True)
    check_infer_shape(out, [x], value)


def test_max_or_neg_inf_entry_and_empty_axis() -> None:
    kind = REDUCTIONS["max_or_neg_inf"]
    assert kind.identity == -np.inf and kind.combine == "maximum" and kind.accepts == "f"
    assert kind.start_value("float32") == -np.inf
    assert not hasattr(T, "max_or_neg_inf")  # internal: the user-facing max keeps the error
    x = T.dmatrix("x")
    got = run([x], max_or_neg_inf(x, 1), np.zeros((3, 0)))
    assert_matches(got, np.full(3, -np.inf), exact=True)
    f = T.fmatrix("f")
    got = run([f], max_or_neg_inf(f, (0, 1), keepdims=True), np.zeros((0, 0), "float32"))
    assert_matches(got, np.full((1, 1), -np.inf, "float32"), exact=True)
    nan_row = np.array([[np.nan, 1.0], [-np.inf, -np.inf]])
    assert_matches(run([x], max_or_neg_inf(x, 1), nan_row), [np.nan, -np.inf], exact=True)
    with pytest.raises(ValueError, match=r"max of an empty axis"):
        run([x], T.max(x, axis=1), np.zeros((3, 0)))


@pytest.mark.parametrize("dtype", ["bool", "int32", "uint8", "complex128"])
def test_max_or_neg_inf_accepts_floats_only(dtype: str) -> None:
    x = T.tensor(dtype, shape=(None,), name="v")
    with pytest.raises(TypeError, match=rf"max_or_neg_inf does not support 'v'.*{dtype}"):
        max_or_neg_inf(x)


def max_or_neg_inf_gradient(value: np.ndarray, g: np.ndarray, axis: int) -> np.ndarray:
    x = symbolic(value)
    out = max_or_neg_inf(x, axis)
    cost = T.sum(T.mul(out, T.constant(g)))
    return run([x], jitgraph.grad(cost, x), value)


def test_max_or_neg_inf_gradient_ties_nan_and_empty_axis() -> None:
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [np.nan, 1.0, 0.0]])
    grad = max_or_neg_inf_gradient(x, np.array([10.0, 20.0, 30.0]), axis=1)
    expected = np.array([[0.0, 10.0, 10.0], [20.0, 20.0, 20.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(grad, expected)  # every tie gets it, NaN lanes nothing
    empty = max_or_neg_inf_gradient(np.zeros((3, 0)), np.ones(3), axis=1)
    assert empty.shape == (3, 0) and empty.dtype == np.float64
    verify_grad(lambda v: max_or_neg_inf(v, 0), [np.array([[0.5, -1.0], [2.0, 0.25]])])


def test_max_or_neg_inf_fuses_and_matches_the_reference() -> None:
    x = T.fmatrix("x")
    out = max_or_neg_inf(T.exp(x) * 2, 1)  # the reduction of an elementwise value: fused
    fast = jitgraph.function([x], out)
    ops = [str(node.op) for node in fast.maker.fgraph.nodes]
    assert ops == ["Fused{exp,multiply,max_or_neg_inf}"]  # the kernel evaluates it
    reference = jitgraph.function([x], out, mode="REFERENCE")
    for value in (np.zeros((2, 0), "float32"), np.array([[0.0, -1.0], [np.inf, np.nan]], "f")):
        assert_matches(fast(value), reference(value), exact=True)


def test_integer_sums_wrap_like_numpy() -> None:
    v = T.lvector("v")
    big = np.array([2**62, 2**62, 2**62], dtype="int64")
    assert run([v], T.sum(v), big) == np.sum(big)
    assert run([v], T.prod(v), big) == np.prod(big)
    u = T.vector("u", dtype="uint64")
    top = np.array([2**64 - 1, 2], dtype="uint64")
    assert_matches(run([u], T.sum(u), top), np.sum(top))
    b = T.bvector("b")
    small = np.array([127, 127, 127], dtype="int8")
    assert_matches(run([b], T.sum(b), small), np.int64(381))  # int8 sums in int64


def test_sum_dtype_and_acc_dtype() -> None:
    b = T.bvector("b")
    small = np.array([127, 127, 127], dtype="int8")
    # dtype=: accumulate and output in it (wrapping in int8 here, like NumPy)
    assert_matches(run([b], T.sum(b, dtype="int8"), small), np.sum(small, dtype="int8"))
    f32 = T.fvector("f")
    value = np.full(10001, 0.1, dtype="float32")
    # The reference interpreter sums float32 in float32 with NumPy's pairwise summation
    # (not Theano's float64 accumulator): exactly numpy.sum's float32 result. Compiled
    # kernels sum in float64 lanes: never less accurate than that.
    reference = jitgraph.function([f32], T.sum(f32), mode="REFERENCE")(value)
    assert_matches(reference, np.sum(value), exact=True)
    compiled = run([f32], T.sum(f32), value)
    exact_sum = math.fsum(value.astype("float64"))
    assert compiled.dtype == np.float32
    assert abs(float(compiled) - exact_sum) <= abs(float(np.sum(value)) - exact_sum)
    widened = run([f32], T.sum(f32, acc_dtype="float64"), value)
    assert widened.dtype == np.float32
    assert widened == np.float32(np.sum(value, dtype="float64"))
    assert_matches(run([f32], T.sum(f32, dtype="float64"), value), np.sum(value, dtype="float64"))
    assert_matches(run([b], T.mean(b, dtype="float32"), small), np.float32(127))
    assert_matches(run([b], T.prod(b, dtype="float64"), small), np.prod(small, dtype="float64"))
    with pytest.raises(TypeError, match="acc_dtype=int8 would lose precision.*int32"):
        T.sum(T.ivector(), acc_dtype="int8")
    T.sum(T.ivector(), acc_dtype="float32")  # a float accumulator for ints is allowed
    assert T.sum(T.ivector(), dtype="int64").owner.op == T.sum(T.ivector()).owner.op


@pytest.mark.parametrize(
    ("axis", "error", "match"),
    [(2, ValueError, "axis 2 is out of bounds for a 2-d tensor"),
     (-3, ValueError, "axis -3 is out of bounds for a 2-d tensor"),
     ((0, 0), ValueError, r"repeats an axis \(of a 2-d tensor\)"),
     ((0, -2), ValueError, "repeats an axis"),
     (1.0, TypeError, "axis must be None, an int or a tuple of ints, got 1.0"),
     ("0", TypeError, "axis must be"),
     ((True,), TypeError, "axis must be")],
)  # fmt: skip
def test_bad_axis_errors(axis: Any, error: type, match: str) -> None:
    x = T.dmatrix("x")
    for function in (T.sum, T.max, T.mean, T.argmax, T.var):
        with pytest.raises(error, match=match):
            function(x, axis=axis)


def test_dtype_errors() -> None:
    z = T.zvector("z")
    with pytest.raises(TypeError, match=r"max does not support 'z'.*complex128.*expected"):
        T.max(z)
    with pytest.raises(TypeError, match="argmax does not support 'z'"):
        T.argmax(z)
    with pytest.raises(TypeError, match="max takes no dtype"):
        Reduce(REDUCTIONS["max"], (0,), False, "float32")(T.dvector())


def test_axis_accepts_numpy_ints_and_constants() -> None:
    x = T.dmatrix("x")
    assert T.sum(x, axis=np.int64(-1)).owner.op.axis == (1,)
    assert T.sum(x, axis=np.array([1, 0])).owner.op.axis == (0, 1)
    assert T.sum(x, axis=T.constant(1)).owner.op.axis == (1,)


# ----------------------------------------------------------------------------- mean/var/std
@settings()
@given(data=st.data())
def test_mean_matches_numpy(data: st.DataObject) -> None:
    value = data.draw(arrays(ALL_DTYPES))
    axis = data.draw(axis_specs(value.ndim))
    keepdims = data.draw(st.booleans())
    assume(value.dtype != np.float16)  # NumPy sums float16 in float16, Theano in float32
    x = symbolic(value)
    out = T.mean(x, axis=axis, keepdims=keepdims)
    expected = np.mean(value, axis=numpy_axis(axis), keepdims=keepdims)
    if value.dtype.kind in "biu":
        expected = np.asarray(expected, dtype="float64")  # Theano: ints give float64
    with np.errstate(all="ignore"):
        assert_matches(run([x], out, value), expected)
    check_infer_shape(out, [x], value)


def test_mean_dtypes_and_empty() -> None:
    assert T.mean(T.bvector()).dtype == "float64"
    assert T.mean(T.fvector()).dtype == "float32"
    assert T.mean(T.vector(dtype="float16")).dtype == "float16"
    assert T.mean(T.cvector()).dtype == "complex64"
    assert T.mean(T.fvector(), dtype="float64").dtype == "float64"
    x = T.dmatrix("x")
    empty = jitgraph.function([x], [T.mean(x), T.mean(x, axis=0)])(np.zeros((0, 2)))
    assert np.isnan(empty[0]) and np.isnan(empty[1]).all() and empty[1].shape == (2,)
    h = T.vector("h", dtype="float16")
    halves = np.full(4096, 30.0, dtype="float16")  # a float16 sum would overflow to inf
    assert run([h], T.mean(h), halves) == np.float16(30.0)


@settings()
@given(
    data=st.data(),
    ddof=st.integers(0, 2),
    corrected=st.booleans(),
    which=st.sampled_from(["var", "std"]),
)
def test_var_std_match_numpy(data: st.DataObject, ddof: int, corrected: bool, which: str) -> None:
    dtypes = ["int8", "int32", "uint16", "bool", "float32", "float64", "complex128"]
    value = data.draw(arrays(dtypes))
    axis = data.draw(axis_specs(value.ndim))
    keepdims = data.draw(st.booleans())
    if value.dtype.kind == "f":
        finite = value.astype("float64")
        assume(np.all(np.isfinite(finite)) and np.all(np.abs(finite) < 1e6))
    if value.dtype.kind == "c":
        assume(np.all(np.isfinite(value)) and np.all(np.abs(value) < 1e6))
    axes = range(value.ndim) if axis is None else np.atleast_1d(numpy_axis(axis)).tolist()
    count = math.prod(value.shape[a] for a in axes)
    assume(count > ddof or not corrected)  # 0/0 in the correction term: NaN, as in Theano
    x = symbolic(value)
    out = getattr(T, which)(x, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)
    with np.errstate(all="ignore"):
        expected = getattr(np, which)(value, axis=numpy_axis(axis), ddof=ddof, keepdims=keepdims)
        got = run([x], out, value)
    # The corrected two-pass term is ~0 in exact arithmetic: it changes only rounding.
    np.testing.assert_allclose(got, expected, rtol=2e-3, atol=1e-3, equal_nan=True)
    assert got.shape == np.shape(expected)
    assert got.dtype == (np.float32 if value.dtype == np.float32 else np.float64)


def test_var_corrected_and_errors() -> None:
    v = T.dvector("v")
    value = np.array([1e8 + 1, 1e8 + 2, 1e8 + 3, 1e8 + 4])
    assert run([v], T.var(v, corrected=True), value) == pytest.approx(1.25)
    assert run([v], T.var(v, ddof=1, corrected=True), value) == pytest.approx(5 / 3)
    assert run([v], v.var(ddof=5), value) == np.inf  # NumPy clamps N - ddof at 0
    with pytest.raises(ValueError, match="ddof must be an int, got a bool"):
        T.var(v, None, True)
    with pytest.raises(TypeError, match="ddof must be an int"):
        T.var(v, ddof=0.5)


# ----------------------------------------------------------------------------- argmax
def numpy_arg(function: Any, value: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    """Theano's arg-reduction over a tuple of axes: those axes flattened in C order."""
    if axis is None:
        return np.asarray(function(value, axis=None, keepdims=keepdims))
    axes = sorted(a % value.ndim for a in ([axis] if isinstance(axis, int) else axis))
    kept = [a for a in range(value.ndim) if a not in axes]
    moved = np.moveaxis(value, axes, range(len(kept), value.ndim))
    flat = moved.reshape(*moved.shape[: len(kept)], math.prod(moved.shape[len(kept) :]))
    result = function(flat, axis=-1)
    if keepdims:
        result = np.expand_dims(result, tuple(axes))
    return np.asarray(result, dtype="int64")


@settings()
@given(data=st.data(), which=st.sampled_from(["argmax", "argmin"]))
def test_argmax_argmin_match_numpy(data: st.DataObject, which: str) -> None:
    value = data.draw(arrays(REAL_DTYPES))
    axis = data.draw(axis_specs(value.ndim))
    keepdims = data.draw(st.booleans())
    x = symbolic(value)
    out = getattr(T, which)(x, axis=axis, keepdims=keepdims)
    try:
        expected = numpy_arg(getattr(np, which), value, numpy_axis(axis), keepdims)
    except ValueError:
        with pytest.raises(ValueError, match=f"{which} of an empty axis"):
            run([x], out, value)
        return
    assert_matches(run([x], out, value), expected)
    check_infer_shape(out, [x], value)
    if isinstance(axis, int) or axis is None:  # NumPy's own argmax for what it supports
        assert_matches(run([x], out, value), getattr(np, which)(value, axis, keepdims=keepdims))


def test_argmax_nan_first_wins_and_shapes() -> None:
    x = T.dmatrix("x")
    value = np.array([[1.0, np.nan, 5.0, np.nan], [np.inf, 2.0, np.inf, -np.inf]])
    assert run([x], T.argmax(x, axis=1), value).tolist() == [1, 0]
    assert run([x], T.argmin(x, axis=1), value).tolist() == [1, 3]
    assert run([x], x.argmax(), value) == 1
    static = T.tensor("float64", shape=(2, 3, 4))
    assert T.argmax(static, axis=(0, 2)).type.shape == (3,)
    assert T.argmax(static, keepdims=True).type.shape == (1, 1, 1)
    assert str(T.argmax(static, axis=-1).owner.op) == "Argmax{axis=(2)}"
    assert isinstance(T.argmax(static).owner.op, Argmax)
    with pytest.raises(ValueError, match=r"argmax of an empty axis: axis \(1,\).*\(2, 0\)"):
        run([x], T.argmax(x, axis=1), np.zeros((2, 0)))


def test_max_and_argmax() -> None:
    x = T.dmatrix("x")
    value = np.array([[3.0, 7.0, 1.0], [9.0, 2.0, 4.0]])
    maximum, index = run([x], T.max_and_argmax(x, axis=1), value)
    assert maximum.tolist() == [7.0, 9.0] and index.tolist() == [1, 0]


# ----------------------------------------------------------------------------- cumulative
@settings()
@given(data=st.data(), kind=st.sampled_from(["sum", "prod"]))
def test_cumsum_cumprod_match_numpy(data: st.DataObject, kind: str) -> None:
    value = data.draw(arrays(ALL_DTYPES))
    axis = data.draw(st.none() | st.integers(-value.ndim, value.ndim - 1)) if value.ndim else None
    x = symbolic(value)
    out = getattr(T, f"cum{kind}")(x, axis)
    expected = getattr(np, f"cum{kind}")(value, axis=axis)
    assert_matches(run([x], out, value), expected)
    check_infer_shape(out, [x], value)


def test_cumulative_static_shapes_and_errors() -> None:
    x = T.tensor("int8", shape=(2, 3))
    assert T.cumsum(x).type.shape == (6,) and T.cumsum(x).dtype == "int64"
    assert T.cumprod(x, axis=-1).type.shape == (2, 3)
    assert str(T.cumsum(x, 0).owner.op) == "CumOp{0, add}"
    assert x.cumsum(axis=1).owner.op == CumOp(1, "sum")
    assert T.cumsum(T.dscalar()).type.shape == (1,)
    with pytest.raises(ValueError, match="axis 2 is out of bounds for a 2-d tensor"):
        T.cumsum(x, axis=2)
    with pytest.raises(TypeError, match="a single int"):
        T.cumsum(x, axis=(0, 1))
    with pytest.raises(ValueError, match="kind must be 'sum' or 'prod'"):
        CumOp(0, "max")


# ----------------------------------------------------------------------------- sorting
@settings()
@given(
    data=st.data(),
    which=st.sampled_from(["sort", "argsort"]),
    kind=st.sampled_from(["quicksort", "mergesort", "heapsort", "stable"]),
)
def test_sort_argsort_match_numpy(data: st.DataObject, which: str, kind: str) -> None:
    value = data.draw(arrays(ALL_DTYPES))
    choices = st.none() | st.integers(-value.ndim, value.ndim - 1) if value.ndim else st.none()
    axis = data.draw(choices)
    x = symbolic(value)
    out = getattr(T, which)(x, axis, kind=kind)
    expected = getattr(np, which)(value, axis=axis, kind=kind)
    assert_matches(run([x], out, value), np.asarray(expected).astype(expected.dtype), exact=True)
    check_infer_shape(out, [x], value)


def test_sort_details() -> None:
    v = T.dvector("v")
    assert run([v], v.sort(), np.array([np.nan, 2.0, -np.inf, 1.0]))[:3].tolist() == [
        -np.inf, 1.0, 2.0,
    ]  # fmt: skip
    assert T.argsort(v).dtype == "int64"
    m = T.tensor("float32", shape=(2, 5))
    assert T.sort(m, None).type.shape == (10,) and T.sort(m).type.shape == (2, 5)
    assert str(T.sort(m, 0).owner.op) == "Sort{axis=0, quicksort}"
    with pytest.raises(ValueError, match="kind must be one of"):
        Sort(0, "bogosort")
    with pytest.raises(NotImplementedError, match="order="):
        T.sort(v, order="f")
    with pytest.raises(ValueError, match="axis -1 is out of bounds for a 0-d tensor"):
        T.sort(T.dscalar())


# ----------------------------------------------------------------------------- norm, logsumexp
@settings()
@given(
    data=st.data(),
    order=st.sampled_from([1, 2, np.inf, -np.inf, 0, 3, 0.5]),
    dtype=st.sampled_from(["int16", "float32", "float64", "complex128"]),
)
def test_norm_matches_numpy(data: st.DataObject, order: float, dtype: str) -> None:
    elements = st.floats(-100, 100) if dtype != "int16" else st.integers(-100, 100)
    if dtype == "complex128":
        elements = st.complex_numbers(max_magnitude=100)
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=5))
    value = data.draw(hnp.arrays(dtype, shape, elements=elements))
    use_axis = value.ndim == 2 and data.draw(st.booleans())
    axis = data.draw(st.sampled_from([0, -1])) if use_axis else None
    keepdims = data.draw(st.booleans())
    x = symbolic(value)
    got = run([x], T.norm(x, order, axis=axis, keepdims=keepdims), value)
    flat = value if axis is not None else value.ravel()
    expected = np.linalg.norm(flat, ord=order, axis=axis, keepdims=keepdims and use_axis)
    if keepdims and not use_axis:
        expected = np.reshape(expected, (1,) * value.ndim)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert got.dtype == np.asarray(expected).dtype and got.shape == np.shape(expected)


def test_norm_errors_and_method() -> None:
    v = T.dvector("v")
    assert run([v], v.norm(1), np.array([3.0, -4.0])) == 7.0
    with pytest.raises(TypeError, match="L must be a number"):
        T.norm(v, "fro")


@settings()
@given(data=st.data())
def test_logsumexp_matches_scipy(data: st.DataObject) -> None:
    value = data.draw(arrays(["float32", "float64", "int8"], max_dims=3))
    assume(value.size > 0)
    axis = data.draw(axis_specs(value.ndim))
    assume(axis is None or np.size(axis) > 0 or value.ndim == 0)
    assume(all(value.shape[a] > 0 for a in np.atleast_1d(numpy_axis(axis) or ())))
    keepdims = data.draw(st.booleans())
    x = symbolic(value)
    out = T.logsumexp(x, axis=axis, keepdims=keepdims)
    with np.errstate(all="ignore"):
        as_float = value.astype("float32" if value.dtype == np.int8 else value.dtype)
        expected = scipy.special.logsumexp(as_float, axis=numpy_axis(axis), keepdims=keepdims)
        got = run([x], out, value)
    if value.ndim == 0:  # scipy's keepdims gives a 0-d input one dim; NumPy's rule keeps 0
        expected = np.reshape(expected, ())
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4, equal_nan=True)
    assert got.dtype == as_float.dtype and got.shape == np.shape(expected)


def test_logsumexp_is_stable() -> None:
    v = T.dvector("v")
    assert run([v], T.logsumexp(v), np.array([1000.0, 1000.0])) == pytest.approx(1000 + np.log(2))
    assert run([v], T.logsumexp(v), np.array([-np.inf, -np.inf])) == -np.inf
    assert run([v], T.logsumexp(v), np.array([np.inf, 1.0])) == np.inf
    assert np.isnan(run([v], T.logsumexp(v), np.array([np.nan, 1.0])))
    with pytest.raises(TypeError, match="complex"):
        T.logsumexp(T.zvector())


# ----------------------------------------------------------------------------- methods
def test_tensor_variable_methods() -> None:
    x = T.dmatrix("x")
    value = np.arange(6.0).reshape(2, 3)[:, ::-1]
    outputs = [x.sum(axis=0), x.prod(1), x.mean(), x.max(-1), x.min(keepdims=True),
               x.argmax(1), x.argmin(), x.all(), x.any(0), x.var(), x.cumsum(0),
               x.cumprod(), x.sort(0), x.argsort()]  # fmt: skip
    expected = [value.sum(0), value.prod(1), value.mean(), value.max(-1),
                value.min(keepdims=True), value.argmax(1), value.argmin(), value.all(),
                value.any(0), value.var(), value.cumsum(0), value.cumprod(), np.sort(value, 0),
                value.argsort()]  # fmt: skip
    for got, want in zip(run([x], outputs, value), expected, strict=True):
        assert_matches(got, want)
