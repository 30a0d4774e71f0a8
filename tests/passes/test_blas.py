"""The use_blas pass: which forms become one Gemm/Gemv/Ger node (structure), which are
left alone (integer dots, mixed dtypes, a scale that is not one value, a z that widens
the product), values equal to the graph before the pass, and the compiled FAST_RUN
function against mode='REFERENCE'."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

import jitgraph
import jitgraph.tensor as T
from jitgraph.backends.reference import compile_graph
from jitgraph.config import config
from jitgraph.ir.graph import Const, Graph, Var, graph_inputs
from jitgraph.ir.verify import verify
from jitgraph.ops.blas import Gemm, Gemv, Ger
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.linalg import Dot
from jitgraph.passes.blas import RULES, use_blas
from jitgraph.passes.pipeline import PIPELINE, optimize
from jitgraph.passes.rewriter import rewrite

RNG = np.random.default_rng(11)

x, y, z = T.dmatrices("x", "y", "z")
u, v = T.dvector("u"), T.dvector("v")
a = T.dscalar("a")
fx, fz = T.fmatrix("fx"), T.fmatrix("fz")
cx, cz = T.zmatrix("cx"), T.zmatrix("cz")
row = T.drow("row")


@pytest.fixture(autouse=True)
def check_passes() -> Iterator[None]:
    with config.change_flags(check_passes=True):
        yield


def before_blas(output: Var) -> Graph:
    """The graph of ``output`` as the pipeline hands it to use_blas (canonical forms)."""
    inputs = [var for var in graph_inputs([output]) if not isinstance(var, Const)]
    graph = Graph(inputs, [output])
    for step in PIPELINE:
        if step.name == "use_blas":
            return graph
        graph = step.run(graph)
    raise AssertionError("use_blas is not in the pipeline")


def rewritten(output: Var) -> tuple[Graph, Graph]:
    graph = before_blas(output)
    new = use_blas(graph)
    verify(new)
    assert use_blas(new) is new  # a fixpoint
    return graph, new


def op_names(graph: Graph) -> list[str]:
    return [str(node.op) for node in graph.nodes]


def sample(var: Var) -> np.ndarray:
    shape = tuple(3 if n is None else n for n in var.type.shape)
    value = RNG.standard_normal(shape)
    if var.type.dtype.startswith("complex"):
        value = value + 1j * RNG.standard_normal(shape)
    return value.astype(var.type.dtype)


# ----------------------------------------------------------------------------- structure
FORMS: list[tuple[str, Callable[[], Var], type]] = [
    ("alpha*dot + beta*z", lambda: 0.5 * T.dot(x, y) + 2 * z, Gemm),
    ("dot + z", lambda: T.dot(x, y) + z, Gemm),
    ("z + dot", lambda: z + T.dot(x, y), Gemm),
    ("z - alpha*dot", lambda: z - 0.5 * T.dot(x, y), Gemm),
    ("z - dot", lambda: z - T.dot(x, y), Gemm),
    ("alpha*dot - z", lambda: T.dot(x, y) * 3 - z, Gemm),
    ("variable alpha", lambda: a * T.dot(x, y) + z * a, Gemm),
    ("bias row", lambda: T.dot(x, y) + row, Gemm),
    ("broadcast constant", lambda: T.dot(x, y) + 1.5, Gemm),
    ("float32", lambda: 0.5 * T.dot(fx, fx) + fz, Gemm),
    ("complex", lambda: T.dot(cx, cx) - 2 * cz, Gemm),
    ("matrix . vector", lambda: 2 * T.dot(x, v) + u, Gemv),
    ("vector . matrix", lambda: u - T.dot(v, x), Gemv),
    ("outer", lambda: z + 0.5 * T.outer(u, v), Ger),
]


@pytest.mark.parametrize("name, form, op_class", FORMS, ids=[f[0] for f in FORMS])
def test_form_becomes_one_blas_node(name: str, form: Callable[[], Var], op_class: type) -> None:
    _, new = rewritten(form())
    blas_nodes = [node for node in new.nodes if isinstance(node.op, (Gemm, Gemv, Ger))]
    assert [type(node.op) for node in blas_nodes] == [op_class]
    leftover = [node for node in new.nodes if isinstance(node.op, (Dot, Elemwise))]
    assert all(str(node.op) == "Elemwise{neg}" for node in leftover), op_names(new)


def test_scales_and_signs_land_on_alpha_and_beta() -> None:
    _, new = rewritten(z - 0.5 * T.dot(x, y))
    (node,) = new.nodes
    z_in, alpha, x_in, y_in, beta = node.inputs
    assert (z_in, x_in, y_in) == (z, x, y)
    assert isinstance(alpha, Const) and alpha.data == -0.5 and alpha.type.ndim == 0
    assert isinstance(beta, Const) and beta.data == 1.0


@pytest.mark.parametrize(
    "form",
    [
        lambda: T.dot(T.imatrix("i"), T.imatrix("j")) + T.imatrix("k"),  # integer dot
        lambda: T.dot(fx, fx) + z,  # float32 product, float64 sum
        lambda: T.dot(x, y) * z + z,  # the scale is not one value
        lambda: T.dot(row, y) + z,  # z widens the (1, n) product
        lambda: T.dot(u, v) + a,  # vector . vector: a scalar, nothing to gain
        lambda: T.dot(T.dtensor3("t"), y) + T.dtensor3("s"),  # 3-d dot
        lambda: T.dot(x, y) / 3 + z,  # a division is not a scale (1/3 is inexact)
        lambda: T.dot(x, y) * 0.5,  # nothing added
        lambda: T.dot(x, y) + T.exp(z),  # z elementwise: fusion adds it in the same pass
    ],
)
def test_no_rewrite(form: Callable[[], Var]) -> None:
    graph, new = rewritten(form())
    assert new is graph


def test_no_rewrite_of_a_product_used_elsewhere() -> None:
    """BLAS would compute the product a second time."""
    product = T.dot(x, y)
    graph = before_blas(product + z)
    graph = Graph(graph.inputs, [*graph.outputs, product])
    assert use_blas(graph) is graph
    scaled = 0.5 * product
    graph = Graph([x, y, z], [scaled + z, scaled])
    assert use_blas(graph) is graph


def test_the_rules_alone_rewrite_nothing() -> None:
    """Use counts come from use_blas: other drivers of RULES must not duplicate work."""
    graph = before_blas(T.dot(x, y) + z)
    assert rewrite(graph, RULES)[0] is graph


# ----------------------------------------------------------------------------- values
@pytest.mark.parametrize("name, form, op_class", FORMS, ids=[f[0] for f in FORMS])
def test_values_equal_the_graph_before_the_pass(
    name: str, form: Callable[[], Var], op_class: type
) -> None:
    graph, new = rewritten(form())
    arrays = [sample(var) for var in graph.inputs]
    (expected,) = compile_graph(graph).run(arrays)
    (got,) = compile_graph(new).run(arrays)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    if name == "vector . matrix":  # computed as dot(x.T, v): another summation order
        np.testing.assert_allclose(got, expected, rtol=1e-13)
    else:  # the reference ops compute exactly what the replaced nodes computed
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128"])
def test_compiled_fast_run_matches_reference(dtype: str) -> None:
    mx, my, mz = (T.matrix(dtype=dtype, name=n) for n in "xyz")
    output = 0.5 * T.dot(mx, my) + 2 * mz
    fast = jitgraph.function([mx, my, mz], output, mode="FAST_RUN")
    assert [type(node.op) for node in fast.graph.nodes] == [Gemm]
    reference = jitgraph.function([mx, my, mz], output, mode="REFERENCE")
    arrays = [sample(T.matrix(dtype=dtype)) for _ in range(3)]
    arrays[0] = np.asfortranarray(arrays[0])  # a layout BLAS reads transposed
    expected = reference(*arrays)
    got = fast(*arrays)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    tolerance = 1e-5 if dtype in ("float32", "complex64") else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


def test_only_fast_run_uses_blas_ops() -> None:
    graph = Graph([x, y, z], [0.5 * T.dot(x, y) + 2 * z])
    assert "use_blas" not in [r.name for r in optimize(graph, "FAST_COMPILE").records]
    assert op_names(optimize(graph, "FAST_RUN").graph) == ["Gemm"]
