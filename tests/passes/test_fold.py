"""The fold pass: constant folding (with its size cap and its refusals) and shape folding."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.backends.reference import compile_graph
from jitgraph.config import config
from jitgraph.ir.graph import Const, Graph, Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ir.verify import verify
from jitgraph.ops.base import Op
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.joining import Join
from jitgraph.ops.scalar import SCALAR_OPS
from jitgraph.ops.shape import ReshapeDim, Shape
from jitgraph.passes.fold import FOLD_SIZE_CAP, fold, stack_scalars
from jitgraph.printing import Print


@pytest.fixture(autouse=True)
def check_passes() -> Iterator[None]:
    with config.change_flags(check_passes=True):
        yield


def folded(graph: Graph) -> Graph:
    new = fold(graph)
    verify(new)
    return new


def run(graph: Graph, *values: Any) -> list[np.ndarray]:
    return compile_graph(graph).run([np.asarray(v) for v in values])


def assert_same_values(graph: Graph, *values: Any) -> None:
    """fold(graph) computes exactly what graph computes (dtype and bits, NaN included)."""
    expected = run(graph, *values)
    got = run(folded(graph), *values)
    for e, g in zip(expected, got, strict=True):
        assert g.dtype == e.dtype
        np.testing.assert_array_equal(g, e)


def i64(value: int) -> Var:
    return T.constant(value, dtype="int64")


# ----------------------------------------------------------------------------- constants
def test_constant_expression_becomes_one_constant_of_the_declared_dtype() -> None:
    a = T.constant(np.int8(100))
    expr = a + a  # int8 wraps, as NumPy does
    (out,) = folded(Graph([], [expr])).outputs
    assert isinstance(out, Const)
    assert out.type == expr.type == TensorType("int8", ())
    assert out.data == np.int8(-56)


def test_constant_part_of_an_expression_folds() -> None:
    s = T.dscalar("s")
    expr = s * (T.exp(T.constant(0.0)) + 2.0)
    assert folded(Graph([s], [expr])).outputs[0] is s * T.constant(np.float32(3.0))


def test_broadcastable_dims_are_kept() -> None:
    row = T.constant(np.ones((1, 3)))
    x = T.dmatrix("x")
    expr = x + T.exp(row)
    new = folded(Graph([x], [expr]))
    (constant,) = [v for v in new.outputs[0].owner.inputs if isinstance(v, Const)]
    assert constant.type.shape == (1, 3)
    np.testing.assert_array_equal(constant.data, np.full((1, 3), np.e))
    assert_same_values(Graph([x], [expr]), np.zeros((4, 3)))


def test_multi_output_node_folds() -> None:
    pieces = T.split(T.constant(np.arange(5.0)), [2, 3], 2)
    new = folded(Graph([], pieces))
    assert all(isinstance(v, Const) for v in new.outputs)
    np.testing.assert_array_equal(new.outputs[1].data, [2.0, 3.0, 4.0])


def test_zero_size_constants_fold() -> None:
    empty = T.constant(np.zeros((0, 3), dtype="float32"))
    new = folded(Graph([], [T.exp(empty).sum(axis=0)]))
    assert isinstance(new.outputs[0], Const)
    assert new.outputs[0].data.dtype == np.float32
    np.testing.assert_array_equal(new.outputs[0].data, np.zeros(3, dtype="float32"))


def test_nothing_to_fold_returns_the_graph() -> None:
    x = T.dvector("x")
    graph = Graph([x], [T.exp(x) * x])
    assert fold(graph) is graph


_EDGE_VALUES = {
    "f": [0.0, -0.0, 1.5, -2.25, np.nan, np.inf, -np.inf, 1e300],
    "c": [0j, 1 + 2j, complex(np.nan, 1), complex(np.inf, 0)],
    "i": [0, 1, -1, 7, -128, 127],
    "u": [0, 1, 3, 255],
    "b": [False, True],
}
_DTYPES = {"f": "float64", "c": "complex128", "i": "int8", "u": "uint8", "b": "bool"}


@pytest.mark.parametrize("name", sorted(SCALAR_OPS))
def test_every_table_op_folds_to_its_reference_value(name: str) -> None:
    """Each elementwise entry, on constants of an accepted kind (edge values included),
    folds to exactly what the reference executor computes, or is left alone."""
    op = SCALAR_OPS[name]
    kinds = [k for k in "fciub" if k in op.accepts]
    folded_count = 0
    for kind in kinds[:2]:
        data = np.array(_EDGE_VALUES[kind], dtype=_DTYPES[kind])
        args = [T.constant(np.roll(data, shift)) for shift in range(op.arity)]
        try:
            expr = Elemwise(op)(*args)
        except TypeError:
            continue  # this combination is refused when the graph is built
        graph = Graph([], [expr])
        new = folded(graph)
        if isinstance(new.outputs[0], Const):
            folded_count += 1
        assert_same_values(graph)
    assert folded_count or not kinds


_CHAIN_OPS = ["add", "multiply", "subtract", "exp", "log", "tanh", "sqrt"]


@settings()
@given(
    st.lists(
        st.sampled_from(["add", "multiply", "subtract", "exp", "log", "tanh", "sqrt"]),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.sampled_from([0.0, -1.0, 2.5, np.nan, np.inf, -np.inf]), min_size=6, max_size=6),
)
def test_random_expressions_fold_to_the_same_values(names: list[str], consts: list[float]) -> None:
    x = T.dvector("x")
    expr: Var = x
    constant_chain: Var = T.constant(np.float64(consts[0]))
    for position, name in enumerate(names):
        other = T.constant(np.float64(consts[position]))
        arity = SCALAR_OPS[name].arity
        constant_chain = T.elemwise(name, *([constant_chain, other][:arity]))
        expr = T.elemwise(name, *([expr, constant_chain][:arity]))
        if arity == 1:
            expr = expr + constant_chain
    graph = Graph([x], [expr, constant_chain])
    new = folded(graph)
    assert isinstance(new.outputs[1], Const)
    assert_same_values(graph, np.array([0.5, -3.0, np.nan, np.inf, 0.0]))


# ----------------------------------------------------------------------------- the size cap
def test_a_large_constant_result_stays_a_node() -> None:
    n = 200  # n * n > FOLD_SIZE_CAP
    column = T.constant(np.arange(n, dtype="float64").reshape(n, 1))
    outer = T.dot(column, column.T)
    assert n * n > FOLD_SIZE_CAP
    new = folded(Graph([], [outer]))
    assert new.outputs[0].owner is not None
    assert_same_values(Graph([], [outer]))


@pytest.mark.parametrize("size", [FOLD_SIZE_CAP, FOLD_SIZE_CAP + 1])
def test_the_cap_boundary(size: int) -> None:
    filled = T.alloc(T.constant(1.5), i64(size))
    out = folded(Graph([], [filled])).outputs[0]
    assert isinstance(out, Const) == (size <= FOLD_SIZE_CAP)


def test_a_small_result_of_large_constants_folds() -> None:
    big = T.constant(np.arange(3 * FOLD_SIZE_CAP, dtype="float64"))
    total = big.sum()
    out = folded(Graph([], [total])).outputs[0]
    assert isinstance(out, Const)
    assert out.data == np.arange(3 * FOLD_SIZE_CAP, dtype="float64").sum()


# ----------------------------------------------------------------------------- refusals
def test_a_failing_constant_op_fails_at_call_time_with_the_users_line() -> None:
    vector = T.constant(np.arange(3.0))
    out_of_bounds = vector[T.constant(2) + 3]  # the index is known only once folded
    graph = Graph([], [out_of_bounds])
    new = folded(graph)  # no error here: the graph is left as written
    assert new is graph
    assert new.outputs[0].owner is not None
    with pytest.raises(IndexError, match=r"out of bounds") as info:
        run(new)
    assert f"test_fold.py:{line_of(out_of_bounds)}" in str(info.value)


def line_of(var: Var) -> str:
    assert var.created_at is not None
    return var.created_at.rsplit(":", 1)[1]


def test_through_function_the_error_is_raised_at_call_time() -> None:
    vector = T.constant(np.arange(3.0))
    f = jitgraph.function([], vector[T.constant(2) + 3] * 2)  # compiles
    with pytest.raises(IndexError, match="out of bounds"):
        f()


def test_print_is_not_folded(capsys: pytest.CaptureFixture[str]) -> None:
    printed = Print("value is")(T.constant(np.arange(3.0)) * 2)
    new = folded(Graph([], [printed + 1]))
    assert capsys.readouterr().out == ""
    print_node = new.outputs[0].owner.inputs[0].owner
    assert isinstance(print_node.op, Print)
    assert isinstance(print_node.inputs[0], Const)  # its input folded
    np.testing.assert_array_equal(run(new)[0], [1.0, 3.0, 5.0])
    assert "value is" in capsys.readouterr().out


@dataclasses.dataclass(frozen=True)
class Misbehaving(Op):
    """A test op: warns, or returns the wrong dtype, when run."""

    mode: str

    def make_node(self, *inputs: Any) -> Node:
        (x,) = [T.as_tensor_variable(v) for v in inputs]
        return self.make_apply([x], [x.type])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        if self.mode == "warn":
            warnings.warn("something the user should see", UserWarning, stacklevel=1)
            return [inputs[0].copy()]
        return [inputs[0].astype("float32")]


@pytest.mark.parametrize("mode", ["warn", "wrong dtype"])
def test_ops_that_warn_or_misbehave_are_left_to_run_time(mode: str) -> None:
    out = Misbehaving(mode)(T.constant(np.arange(3.0)))
    assert folded(Graph([], [out])).outputs[0] is out


# ----------------------------------------------------------------------------- shapes
def test_shape_of_a_static_value_is_a_constant() -> None:
    x = T.tensor("float64", (5, 3), name="x")
    (out,) = folded(Graph([x], [T.exp(x).shape])).outputs
    assert isinstance(out, Const)
    assert out.data.dtype == np.int64
    np.testing.assert_array_equal(out.data, [5, 3])


def test_static_entry_of_a_partially_static_shape() -> None:
    x = T.tensor("float64", (None, 3), name="x")
    new = folded(Graph([x], [x.shape[1], x.shape[-1], x.shape[0]]))
    assert new.outputs[0] is new.outputs[1] is i64(3)
    assert new.outputs[2] is x.shape[0]  # unknown: stays


def test_shape_of_an_intermediate_comes_from_shape_inference() -> None:
    a = T.tensor("float64", (None, 3), name="a")
    b = T.tensor("float64", (3, None), name="b")
    product = T.dot(T.exp(a), b)
    new = folded(Graph([a, b], [product.shape, product.shape[0]]))
    assert new.outputs[0] is stack_scalars([a.shape[0], b.shape[1]])
    assert new.outputs[1] is a.shape[0]
    assert_same_values(Graph([a, b], [product.shape]), np.ones((4, 3)), np.ones((3, 2)))


def test_shape_through_elementwise_chains_is_the_inputs_shape() -> None:
    x = T.tensor("float64", (None, 3), name="x")
    chain = T.tanh(T.exp(x) * 2 + x)
    new = folded(Graph([x], [T.prod(chain.shape), chain.shape]))
    assert new.outputs[0] is T.prod(x.shape)
    assert new.outputs[1] is x.shape


def test_shape_of_reshape_and_alloc_with_symbolic_sizes() -> None:
    n = T.lscalar("n")
    x = T.dvector("x")
    reshaped = x.reshape((n, 6))
    filled = T.alloc(T.constant(0.0), n, i64(4))
    new = folded(Graph([x, n], [reshaped.shape, filled.shape[1], T.size(filled)]))
    # n may be -1 at run time: the size of axis 0 is resolved from x's size then.
    first = ReshapeDim(1, 0)(x.shape[0], n, i64(6))
    assert new.outputs[0] is Join(0)(T.shape_padleft(first), T.constant(np.array([6])))
    assert new.outputs[1] is i64(4)
    assert folded(Graph([n], [filled.shape[0]])).outputs[0] is n
    graph = Graph([x, n], [reshaped.shape, T.size(filled)])
    assert_same_values(graph, np.arange(12.0), 2)


def test_a_stack_of_shape_entries_is_the_shape() -> None:
    x = T.tensor("float64", (None, 3), name="x")
    y = T.dmatrix("y")
    new = folded(
        Graph([x, y], [T.stack([x.shape[0], x.shape[1]]), T.stack(y.shape[1], y.shape[0])])
    )
    assert new.outputs[0] is x.shape
    assert new.outputs[1].owner.op == Join(0)  # other order: stays a stack


def test_reshape_sizes_from_static_shapes_fold() -> None:
    x = T.tensor("float64", (4, 6), name="x")
    y = T.dmatrix("y")
    flat = y.reshape((x.shape[0] * x.shape[1],))
    new = folded(Graph([y, x], [flat]))
    assert new.outputs[0].owner.inputs[1] is i64(24)


@dataclasses.dataclass(frozen=True)
class SelfShaped(Op):
    """A test op whose shape inference refers to its own output (or is missing)."""

    has_inference: bool

    def make_node(self, *inputs: Any) -> Node:
        (x,) = [T.as_tensor_variable(v) for v in inputs]
        return self.make_apply([x], [TensorType(x.type.dtype, (None,))])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [inputs[0].ravel()]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        if not self.has_inference:
            raise NotImplementedError
        return [(Shape()(node.outputs[0])[0],)]


@pytest.mark.parametrize("has_inference", [True, False])
def test_shape_stays_when_inference_is_unhelpful(has_inference: bool) -> None:
    x = T.dmatrix("x")
    out = SelfShaped(has_inference)(x).shape
    assert folded(Graph([x], [out])).outputs[0] is out


def mlp_gradients(x_shape: tuple[int | None, int]) -> Graph:
    x = T.tensor("float64", x_shape, name="x")
    w1 = T.tensor("float64", (x_shape[1], 4), name="w1")
    b1 = T.tensor("float64", (4,), name="b1")
    w2 = T.tensor("float64", (4, 2), name="w2")
    y = T.ivector("y")
    hidden = T.tanh(T.dot(x, w1) + b1)
    probabilities = T.nnet.softmax(T.dot(hidden, w2))
    cost = -T.mean(T.log(probabilities)[T.arange(y.shape[0]), y]) + (w1**2).sum() * 1e-3
    return Graph([x, y, w1, b1, w2], jitgraph.grad(cost, [w1, b1, w2]))


def mlp_values(batch: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [
        rng.normal(size=(batch, 3)),
        rng.integers(0, 2, size=batch).astype("int32"),
        rng.normal(size=(3, 4)),
        rng.normal(size=4),
        rng.normal(size=(4, 2)),
    ]


@pytest.mark.parametrize("batch", [5, None])
def test_gradient_graphs_keep_no_shape_of_a_static_value(batch: int | None) -> None:
    graph = mlp_gradients((batch, 3))
    new = folded(graph)
    shapes = [n for n in new.nodes if isinstance(n.op, Shape)]
    assert not [n for n in shapes if None not in n.inputs[0].type.shape]
    if batch is None:
        # Only the graph inputs' shapes remain: intermediate shapes were inferred.
        assert all(n.inputs[0].owner is None for n in shapes)
    assert len(new.nodes) < len(graph.nodes)
    values = mlp_values(batch or 7)
    expected, got = run(graph, *values), run(new, *values)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12)


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_function_values_match_the_reference(mode: str) -> None:
    graph = mlp_gradients((None, 3))
    values = mlp_values(6)
    inputs = list(graph.inputs)
    expected = jitgraph.function(inputs, list(graph.outputs), mode="REFERENCE")(*values)
    got = jitgraph.function(inputs, list(graph.outputs), mode=mode)(*values)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-10)
