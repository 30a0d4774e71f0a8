"""The BLAS-shaped ops of jitgraph/ops/blas.py (Gemm, Gemv, Ger): type inference and its
errors, ``perform`` bit for bit equal to the graph ``alpha * dot(x, y) + beta * z`` it
replaces (special values included), run-time shape errors, shape inference, no gradient."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import jitgraph
import jitgraph.tensor as T
from jitgraph.backends.reference import compile_graph
from jitgraph.ir.graph import Graph, Var
from jitgraph.ops.base import GraphError, NoGradientError
from jitgraph.ops.blas import Gemm, Gemv, Ger, ScaledProduct
from jitgraph.testing import assert_infer_shape

RNG = np.random.default_rng(7)
FLOATS = ["float32", "float64", "complex64", "complex128"]


def scalar(dtype: str, name: str) -> Var:
    return T.tensor(dtype, shape=(), name=name)


def tensor(dtype: str, shape: tuple[int | None, ...], name: str) -> Var:
    return T.tensor(dtype, shape=shape, name=name)


def values(shape: Sequence[int], dtype: str) -> np.ndarray:
    result = RNG.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        result = result + 1j * RNG.standard_normal(shape)
    return result.astype(dtype)


def evaluate(inputs: list[Var], output: Var, *arrays: np.ndarray) -> np.ndarray:
    (result,) = compile_graph(Graph(inputs, [output])).run(list(arrays))
    return np.asarray(result)


CASES = [  # op, x static shape, y static shape, z static shape
    (Gemm(), (3, 4), (4, 5), (3, 5)),
    (Gemm(), (3, 4), (4, 5), (1, 5)),
    (Gemv(), (3, 4), (4,), (3,)),
    (Gemv(), (3, 4), (4,), (1,)),
    (Ger(), (3,), (5,), (3, 5)),
    (Ger(), (3,), (5,), (3, 1)),
]


def build(op: ScaledProduct, dtype: str, case: tuple[Any, ...]) -> tuple[list[Var], Var, Var]:
    """The inputs, the op's output, and the graph it stands for (alpha*product + beta*z)."""
    _, x_shape, y_shape, z_shape = case
    x, y = tensor(dtype, x_shape, "x"), tensor(dtype, y_shape, "y")
    z = tensor(dtype, tuple(1 if n == 1 else None for n in z_shape), "z")
    alpha, beta = scalar(dtype, "alpha"), scalar(dtype, "beta")
    product = T.outer(x, y) if isinstance(op, Ger) else T.dot(x, y)
    return [z, alpha, x, y, beta], op(z, alpha, x, y, beta), alpha * product + beta * z


# ----------------------------------------------------------------------------- types
def test_output_type_takes_static_sizes_from_the_operands_and_z() -> None:
    x, y = tensor("float64", (3, None), "x"), tensor("float64", (None, None), "y")
    z = tensor("float64", (1, 7), "z")
    out = Gemm()(z, scalar("float64", "a"), x, y, scalar("float64", "b"))
    assert out.type.dtype == "float64" and out.type.shape == (3, 7)
    assert Gemv()(tensor("float32", (None,), "z"), scalar("float32", "a"),
                  tensor("float32", (2, 5), "x"), tensor("float32", (5,), "y"),
                  scalar("float32", "b")).type.shape == (2,)  # fmt: skip


@pytest.mark.parametrize(
    "build_inputs, error, message",
    [
        (lambda d: (d("z", 2), d("a", 0), d("x", 1), d("y", 2), d("b", 0)), TypeError, "x must"),
        (lambda d: (d("z", 2), d("a", 1), d("x", 2), d("y", 2), d("b", 0)), TypeError, "alpha"),
        (lambda d: (d("z", 1), d("a", 0), d("x", 2), d("y", 2), d("b", 0)), TypeError, "z must"),
    ],
)
def test_ranks_are_checked(build_inputs: Any, error: type, message: str) -> None:
    def make(name: str, ndim: int) -> Var:
        return tensor("float64", (None,) * ndim, name)

    with pytest.raises(error, match=message):
        Gemm()(*build_inputs(make))


@pytest.mark.parametrize("dtypes", [("int32",) * 5, ("float64",) * 4 + ("float32",),
                                    ("float16",) * 5])  # fmt: skip
def test_dtypes_must_be_one_blas_dtype(dtypes: tuple[str, ...]) -> None:
    z, alpha, x, y, beta = (
        tensor(d, (None,) * n, name) for d, n, name in zip(dtypes, (2, 0, 2, 2, 0), "zaxyb")
    )
    with pytest.raises(TypeError, match="one dtype"):
        Gemm()(z, alpha, x, y, beta)


def test_static_shape_errors() -> None:
    a, b = scalar("float64", "a"), scalar("float64", "b")
    with pytest.raises(ValueError, match="not aligned"):
        Gemm()(tensor("float64", (2, 2), "z"), a, tensor("float64", (2, 3), "x"),
               tensor("float64", (4, 2), "y"), b)  # fmt: skip
    with pytest.raises(ValueError, match="only broadcast"):  # z would widen the product
        Gemm()(tensor("float64", (5, 2), "z"), a, tensor("float64", (1, 3), "x"),
               tensor("float64", (3, 2), "y"), b)  # fmt: skip
    with pytest.raises(ValueError, match="does not fit"):
        Ger()(tensor("float64", (4, 2), "z"), a, tensor("float64", (3,), "x"),
              tensor("float64", (2,), "y"), b)  # fmt: skip


# ----------------------------------------------------------------------------- values
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[3]}")
@pytest.mark.parametrize("scales", [(0.5, 2.0), (1.0, 1.0), (-1.0, 1.0), (3.0, -1.0), (0.0, 0.0)])
def test_perform_is_the_graph_it_replaces(
    dtype: str, case: tuple[Any, ...], scales: tuple[float, float]
) -> None:
    op, x_shape, y_shape, z_shape = case
    inputs, out, replaced = build(op, dtype, case)
    arrays = [values(z_shape, dtype), np.asarray(scales[0], dtype), values(x_shape, dtype),
              values(y_shape, dtype), np.asarray(scales[1], dtype)]  # fmt: skip
    got = evaluate(inputs, out, *arrays)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, evaluate(inputs, replaced, *arrays))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES[::2], ids=lambda c: str(c[0]))
def test_special_values_propagate_as_in_the_replaced_graph(
    dtype: str, case: tuple[Any, ...]
) -> None:
    op, x_shape, y_shape, z_shape = case
    inputs, out, replaced = build(op, dtype, case)
    x, y, z = values(x_shape, dtype), values(y_shape, dtype), values(z_shape, dtype)
    x.flat[0], y.flat[-1], z.flat[1] = np.inf, np.nan, -np.inf
    for alpha, beta in [(0.0, 1.0), (1.0, 0.0), (-1.0, -1.0), (np.inf, 1.0)]:
        arrays = [z, np.asarray(alpha, dtype), x, y, np.asarray(beta, dtype)]
        with np.errstate(all="ignore"):
            expected = evaluate(inputs, replaced, *arrays)
        np.testing.assert_array_equal(evaluate(inputs, out, *arrays), expected)


def test_runtime_shape_errors_name_the_inputs() -> None:
    inputs, out, _ = build(Gemm(), "float64", (Gemm(), (None, None), (None, None), (3, 5)))
    run = jitgraph.function(inputs, out, mode="REFERENCE")
    one = np.asarray(1.0)
    with pytest.raises(GraphError, match="not aligned at run time"):
        run(np.ones((3, 5)), one, np.ones((3, 4)), np.ones((2, 5)), one)
    with pytest.raises(GraphError, match=r"has shape \(3, 6\) but the matrix product"):
        run(np.ones((3, 6)), one, np.ones((3, 4)), np.ones((4, 5)), one)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[3]}")
def test_infer_shape(case: tuple[Any, ...]) -> None:
    op, x_shape, y_shape, z_shape = case
    inputs, out, _ = build(op, "float64", case)
    arrays = [values(z_shape, "float64"), np.asarray(2.0), values(x_shape, "float64"),
              values(y_shape, "float64"), np.asarray(3.0)]  # fmt: skip
    assert_infer_shape(out, inputs, arrays)


def test_no_gradient() -> None:
    inputs, out, _ = build(Gemm(), "float64", CASES[0])
    with pytest.raises(NoGradientError, match="Gemm has no gradient"):
        jitgraph.grad(T.sum(out), inputs[2])


def test_descriptions() -> None:
    assert [str(op) for op in (Gemm(), Gemv(), Ger())] == ["Gemm", "Gemv", "Ger"]
    assert Gemv().short_description() == "alpha * matrix-vector product + beta * z (gemv)"
    assert Gemm() == Gemm() and hash(Gemm()) == hash(Gemm()) and Gemm() != Gemv()
