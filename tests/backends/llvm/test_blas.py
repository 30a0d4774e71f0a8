"""The native matrix products of jitgraph/backends/llvm/blas.py, differential against the
reference ``perform`` (itself NumPy): Dot of every rank case, Matmul (batched, broadcast,
vector operands), Gemm/Gemv/Ger, for float32/64 and complex64/128 through BLAS and for
bool and integers through the generated loop; C, F, transposed, sliced, reversed and
broadcast (zero-stride) operands; empty dims and 0-d operands; errors and aliasing."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jitgraph.tensor as T
from jitgraph.backends.llvm import blas
from jitgraph.backends.llvm.blas import native_step
from jitgraph.ir.graph import Node, Var
from jitgraph.ops.base import GraphError
from jitgraph.ops.blas import Gemm, Gemv, Ger
from jitgraph.ops.linalg import Dot, Matmul

FLOATS = ["float32", "float64", "complex64", "complex128"]
INTEGERS = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint64"]

RNG = np.random.default_rng(20240605)


@pytest.fixture(autouse=True)
def native_for_every_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' products are small: let none of them take NumPy's small-product path
    (test_small_products_call_numpy covers that one)."""
    monkeypatch.setattr(blas, "_SMALL_PRODUCT", -1)


# ----------------------------------------------------------------------------- helpers
def values(shape: Sequence[int], dtype: str) -> np.ndarray:
    """Random values of ``dtype``; integers span the dtype's range so products wrap."""
    kind = np.dtype(dtype).kind
    if kind == "b":
        return RNG.random(shape) < 0.3
    if kind in "iu":
        info = np.iinfo(dtype)
        return RNG.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    result = RNG.standard_normal(shape)
    if kind == "c":
        result = result + 1j * RNG.standard_normal(shape)
    return result.astype(dtype)


def layouts(array: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """``array``'s values in memory layouts BLAS reads directly or needs copied."""
    yield "C", np.ascontiguousarray(array)
    yield "F", np.asfortranarray(array)
    if array.ndim >= 2:
        transposed = np.ascontiguousarray(np.swapaxes(array, -1, -2))
        yield "transposed view", np.swapaxes(transposed, -1, -2)
    spaced = np.zeros(tuple(2 * n + 1 for n in array.shape), array.dtype)
    spaced[tuple(slice(1, None, 2) for _ in array.shape)] = array
    yield "strided slice", spaced[tuple(slice(1, None, 2) for _ in array.shape)]
    reversed_copy = np.ascontiguousarray(array[tuple(slice(None, None, -1) for _ in array.shape)])
    yield "negative strides", reversed_copy[tuple(slice(None, None, -1) for _ in array.shape)]
    if array.ndim >= 1 and array.shape[-1] > 0 and array.size:
        row = array[..., :1]
        yield "broadcast", np.broadcast_to(row, array.shape)


def symbolic(dtype: str, ndim: int, name: str) -> Var:
    return T.tensor(dtype, shape=(None,) * ndim, name=name)


def step_for(node: Node) -> Callable[[Sequence[np.ndarray]], list[np.ndarray]]:
    step = native_step(node)
    assert step is not None, f"no native step for {node.op}"
    return step


def assert_matches(got: np.ndarray, expected: np.ndarray, dtype: str) -> None:
    """Same dtype and shape; integers exactly, floats to a few ulps of the sum's scale."""
    assert isinstance(got, np.ndarray)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    if np.dtype(dtype).kind in "biu":
        np.testing.assert_array_equal(got, expected)
    else:
        tolerance = 1e-4 if dtype in ("float32", "complex64") else 1e-11
        np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


def check(node: Node, inputs: Sequence[np.ndarray]) -> np.ndarray:
    """Run the native step and the reference on ``inputs``; compare; no aliasing."""
    dtype = node.outputs[0].type.dtype
    (got,) = step_for(node)(inputs)
    (expected,) = node.op.perform(node, inputs)
    assert_matches(got, np.asarray(expected), dtype)
    for value in inputs:
        assert not np.shares_memory(got, value)
    return got


# ----------------------------------------------------------------------------- Dot
DOT_SHAPES = [
    ((7,), (7,)),  # vector . vector
    ((5, 7), (7,)),  # matrix . vector
    ((7,), (7, 4)),  # vector . matrix
    ((5, 7), (7, 4)),  # matrix . matrix
    ((3, 5, 7), (7, 4)),  # 3-d . matrix (leading axes flattened)
    ((2, 3, 7), (7,)),  # 3-d . vector
    ((1, 7), (7, 1)),
]


@pytest.mark.parametrize("dtype", FLOATS + INTEGERS)
@pytest.mark.parametrize("shapes", DOT_SHAPES, ids=str)
def test_dot_every_rank_case_and_layout(dtype: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    a_shape, b_shape = shapes
    node = Dot().make_node(symbolic(dtype, len(a_shape), "a"), symbolic(dtype, len(b_shape), "b"))
    a, b = values(a_shape, dtype), values(b_shape, dtype)
    for (_, a_layout), (_, b_layout) in zip(layouts(a), layouts(b)):
        check(node, [a_layout, b_layout])
    for _, a_layout in layouts(a):  # every layout of one against C of the other, and back
        check(node, [a_layout, b])
    for _, b_layout in layouts(b):
        check(node, [a, b_layout])


@pytest.mark.parametrize("dtype", FLOATS + INTEGERS)
@pytest.mark.parametrize(
    "shapes",
    [
        ((0, 3), (3, 4)),
        ((3, 0), (0, 4)),
        ((3, 4), (4, 0)),
        ((0,), (0,)),
        ((0,), (0, 5)),
        ((4, 0), (0,)),
        ((0, 0), (0, 0)),
    ],  # fmt: skip
    ids=str,
)
def test_dot_empty_dims(dtype: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    a_shape, b_shape = shapes
    node = Dot().make_node(symbolic(dtype, len(a_shape), "a"), symbolic(dtype, len(b_shape), "b"))
    got = check(node, [values(a_shape, dtype), values(b_shape, dtype)])
    if 0 in shapes[0][-1:]:  # k == 0: a sum of nothing
        assert not got.any()


@pytest.mark.parametrize("dtype", ["float64", "complex64", "int8", "bool"])
@pytest.mark.parametrize("shapes", [((), ()), ((), (3, 2)), ((4,), ())], ids=str)
def test_dot_with_a_0d_operand_multiplies(dtype: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    a_shape, b_shape = shapes
    node = Dot().make_node(symbolic(dtype, len(a_shape), "a"), symbolic(dtype, len(b_shape), "b"))
    check(node, [values(a_shape, dtype), values(b_shape, dtype)])


@pytest.mark.parametrize(
    "a_dtype, b_dtype",
    [("int8", "float32"), ("float32", "float64"), ("bool", "int8"), ("int32", "uint8"),
     ("float32", "complex64"), ("int64", "complex128"), ("bool", "float64"), ("uint8", "int8")],
)  # fmt: skip
def test_dot_of_mixed_dtypes_follows_perform(a_dtype: str, b_dtype: str) -> None:
    node = Dot().make_node(symbolic(a_dtype, 2, "a"), symbolic(b_dtype, 2, "b"))
    check(node, [values((4, 6), a_dtype), values((6, 3), b_dtype)])


def test_integer_products_wrap_like_numpy() -> None:
    node = Dot().make_node(symbolic("int8", 1, "a"), symbolic("int8", 1, "b"))
    a = np.full(5, 100, np.int8)
    (got,) = step_for(node)([a, np.full(5, 3, np.int8)])
    assert got.dtype == np.int8 and int(got) == np.int8(np.int64(1500) - 6 * 256)


def test_bool_product_reads_any_nonzero_byte_as_true() -> None:
    node = Dot().make_node(symbolic("bool", 2, "a"), symbolic("bool", 2, "b"))
    a = np.array([[2, 0], [0, 0]], np.uint8).view(np.bool_)
    b = np.array([[1, 0], [0, 1]], np.uint8).view(np.bool_)
    np.testing.assert_array_equal(step_for(node)([a, b])[0], [[True, False], [False, False]])


def test_dot_special_values_propagate() -> None:
    node = Dot().make_node(symbolic("float64", 2, "a"), symbolic("float64", 2, "b"))
    a = np.array([[np.inf, 1.0], [np.nan, 0.0], [1.0, 2.0]])
    b = np.array([[1.0, 0.0], [1.0, 1.0]])
    (got,) = step_for(node)([a, b])
    with np.errstate(invalid="ignore"):
        expected = np.dot(a, b)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(got[np.isfinite(expected)], expected[np.isfinite(expected)])


def test_mismatched_shapes_raise_the_reference_error() -> None:
    node = Dot().make_node(symbolic("float64", 2, "a"), symbolic("float64", 2, "b"))
    with pytest.raises(GraphError, match="not aligned at run time"):
        step_for(node)([np.ones((2, 3)), np.ones((4, 2))])
    node = Matmul().make_node(symbolic("int32", 3, "a"), symbolic("int32", 3, "b"))
    with pytest.raises(GraphError, match="do not match at run time"):
        step_for(node)([np.ones((2, 3, 4), np.int32), np.ones((3, 4, 2), np.int32)])


def test_unhandled_cases_give_none() -> None:
    half = symbolic("float16", 2, "a")
    assert native_step(T.dot(half, half).owner) is None
    b = T.tensor("float64", shape=(None, None, None), name="b")
    assert native_step(Dot().make_node(T.dmatrix("a"), b)) is None  # 3-d second operand
    assert native_step((T.dvector("x") + 1).owner) is None


# ----------------------------------------------------------------------------- Matmul
MATMUL_SHAPES = [
    ((5, 7), (7, 4)),
    ((3, 5, 7), (3, 7, 4)),  # batched
    ((2, 3, 5, 7), (7, 4)),  # broadcast second operand
    ((3, 1, 5, 7), (2, 7, 4)),  # broadcast batch dims on both sides
    ((7,), (3, 7, 4)),  # vector on the left
    ((3, 5, 7), (7,)),  # vector on the right
    ((7,), (7,)),  # 0-d result
    ((2, 1, 7), (2, 7, 1)),
    ((0, 5, 7), (7, 4)),  # empty batch
    ((3, 5, 0), (3, 0, 4)),  # empty contraction
]


@pytest.mark.parametrize("dtype", FLOATS + ["int32", "bool", "uint8"])
@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_batched_and_broadcast(dtype: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    a_shape, b_shape = shapes
    node = Matmul().make_node(
        symbolic(dtype, len(a_shape), "a"), symbolic(dtype, len(b_shape), "b")
    )
    a, b = values(a_shape, dtype), values(b_shape, dtype)
    for (_, a_layout), (_, b_layout) in zip(layouts(a), layouts(b)):
        check(node, [a_layout, b_layout])


# ----------------------------------------------------------------------------- Gemm, Gemv, Ger
def scaled_node(op: Gemm | Gemv | Ger, dtype: str, z_shape: tuple[int | None, ...]) -> Node:
    ranks = op.operand_ranks
    z = T.tensor(dtype, shape=z_shape, name="z")
    alpha, beta = T.tensor(dtype, shape=(), name="alpha"), T.tensor(dtype, shape=(), name="beta")
    node: Node = op.make_node(
        z, alpha, symbolic(dtype, ranks[0], "x"), symbolic(dtype, ranks[1], "y"), beta
    )
    return node


SCALED = [  # op, x shape, y shape, z shape (static 1 = broadcast)
    (Gemm(), (5, 7), (7, 4), (5, 4)),
    (Gemm(), (5, 7), (7, 4), (1, 4)),
    (Gemm(), (1, 7), (7, 4), (1, 4)),
    (Gemm(), (5, 7), (7, 1), (5, 1)),
    (Gemv(), (5, 7), (7,), (5,)),
    (Gemv(), (5, 7), (7,), (1,)),
    (Ger(), (5,), (4,), (5, 4)),
    (Ger(), (5,), (4,), (5, 1)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("case", SCALED, ids=lambda c: f"{c[0]}-{c[1]}-{c[3]}")
@pytest.mark.parametrize("scales", [(0.5, 2.0), (1.0, 1.0), (-1.0, 1.0), (1.5, -1.0), (2.0, 0.0)])
def test_scaled_products(dtype: str, case: tuple, scales: tuple[float, float]) -> None:
    op, x_shape, y_shape, z_shape = case
    z_static = tuple(1 if n == 1 else None for n in z_shape)
    node = scaled_node(op, dtype, z_static)
    alpha, beta = (np.asarray(s, dtype) for s in scales)
    z, x, y = values(z_shape, dtype), values(x_shape, dtype), values(y_shape, dtype)
    for (_, x_layout), (_, y_layout), (_, z_layout) in zip(layouts(x), layouts(y), layouts(z)):
        check(node, [z_layout, alpha, x_layout, y_layout, beta])


OPERAND_SHAPES = {Gemm(): ((3, 2), (2, 4)), Gemv(): ((3, 2), (2,)), Ger(): ((3,), (4,))}


@pytest.mark.parametrize("op", list(OPERAND_SHAPES), ids=str)
def test_scaled_products_keep_numpy_special_values(op: Gemm | Gemv | Ger) -> None:
    """alpha == 0 with an inf in the product, beta == 0 with a NaN in z give NaN, as in
    NumPy (BLAS itself would skip the product, or not read z)."""
    node = scaled_node(op, "float64", (None,) * op.output_rank)
    x_shape, y_shape = OPERAND_SHAPES[op]
    product_shape = op.product_shape(x_shape, y_shape)
    finite_x, finite_z = np.ones(x_shape), np.ones(product_shape)
    infinite_x, nan_z = np.full(x_shape, np.inf), np.full(product_shape, np.nan)
    for z, x, alpha, beta in [(finite_z, infinite_x, 0.0, 1.0), (nan_z, finite_x, 1.0, 0.0)]:
        inputs = [z, np.asarray(alpha), x, np.ones(y_shape), np.asarray(beta)]
        with np.errstate(invalid="ignore"):  # as the drivers run steps
            (got,) = step_for(node)(inputs)
            (expected,) = op.perform(node, inputs)
        assert np.isnan(expected).all()
        np.testing.assert_array_equal(got, expected)


EMPTY_CASES = [
    (Gemm(), (3, 0), (0, 4), (3, 4)),
    (Gemm(), (0, 2), (2, 4), (0, 4)),
    (Gemm(), (3, 2), (2, 0), (3, 0)),
    (Gemv(), (3, 0), (0,), (3,)),
    (Ger(), (0,), (4,), (0, 4)),
]


@pytest.mark.parametrize("case", EMPTY_CASES, ids=str)
def test_scaled_products_with_empty_dims(case: tuple) -> None:
    op, x_shape, y_shape, z_shape = case
    node = scaled_node(op, "float64", (None,) * len(z_shape))
    check(node, [values(z_shape, "float64"), np.asarray(2.0), values(x_shape, "float64"),
                 values(y_shape, "float64"), np.asarray(3.0)])  # fmt: skip


def test_scaled_product_shape_errors_match_the_reference() -> None:
    node = scaled_node(Gemm(), "float64", (None, None))
    inputs = [np.ones((2, 5)), np.asarray(1.0), np.ones((2, 3)), np.ones((3, 4)), np.asarray(1.0)]
    with pytest.raises(GraphError, match="z"):
        step_for(node)(inputs)
    inputs[2] = np.ones((2, 2))
    with pytest.raises(GraphError, match="not aligned at run time"):
        step_for(node)(inputs)


@given(
    dtype=st.sampled_from(FLOATS + ["int16", "bool"]),
    sizes=st.tuples(*[st.integers(0, 9)] * 3),
    orders=st.tuples(
        *[st.sampled_from(["C", "F", "transposed view", "strided slice", "negative strides"])] * 2
    ),  # fmt: skip
)
def test_matrix_products_of_random_sizes(
    dtype: str, sizes: tuple[int, int, int], orders: tuple[str, str]
) -> None:
    m, k, n = sizes
    node = Dot().make_node(symbolic(dtype, 2, "a"), symbolic(dtype, 2, "b"))
    a = dict(layouts(values((m, k), dtype)))[orders[0]]
    b = dict(layouts(values((k, n), dtype)))[orders[1]]
    check(node, [a, b])


@pytest.mark.parametrize("dtype", ["float64", "int8"])
def test_small_products_call_numpy(dtype: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the threshold Dot and Matmul compute as perform does, with the same errors."""
    monkeypatch.setattr(blas, "_SMALL_PRODUCT", 4096)
    for op, shapes in [(Dot(), ((5, 7), (7, 4))), (Matmul(), ((2, 5, 7), (7,)))]:
        a_shape, b_shape = shapes
        node = op.make_node(symbolic(dtype, len(a_shape), "a"), symbolic(dtype, len(b_shape), "b"))
        check(node, [values(a_shape, dtype), values(b_shape, dtype)])
        with pytest.raises(GraphError, match="at run time"):
            step_for(node)([values(a_shape, dtype), values((3,) * len(b_shape), dtype)])


def test_steps_run_concurrently() -> None:
    """ctypes releases the GIL during BLAS: calls from several threads stay independent."""
    from concurrent.futures import ThreadPoolExecutor

    node = Dot().make_node(symbolic("float64", 2, "a"), symbolic("float64", 2, "b"))
    step = step_for(node)
    pairs = [(values((40, 30), "float64"), values((30, 20 + i), "float64")) for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda pair: step(list(pair))[0], pairs * 4))
    for (a, b), got in zip(pairs * 4, results, strict=True):
        np.testing.assert_allclose(got, a @ b, rtol=1e-12)
