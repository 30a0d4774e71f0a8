"""The fuse pass and the Fused op: kernel counts, structure, and values equal to the
unfused graph (bit for bit, on the reference backend)."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.backends.reference import compile_graph
from jitgraph.config import config
from jitgraph.ir.graph import Graph, Var
from jitgraph.ir.types import TensorType
from jitgraph.ir.verify import verify
from jitgraph.ops.base import GraphError, NoGradientError
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.fused import Fused
from jitgraph.ops.reduce import Reduce
from jitgraph.ops.scalar import SCALAR_OPS
from jitgraph.passes import pipeline
from jitgraph.passes.fuse import MAX_KERNEL_ARITY, fuse, kernels
from jitgraph.printing import debugprint


@pytest.fixture(autouse=True)
def check_passes() -> Iterator[None]:
    with config.change_flags(check_passes=True):
        yield


def optimized(graph: Graph) -> Graph:
    """``graph`` through the FAST_RUN pipeline (passes still missing are skipped)."""
    for step in pipeline.PIPELINE:
        if "FAST_RUN" not in step.modes:
            continue
        try:
            graph = step.run(graph)
        except ModuleNotFoundError:
            continue
        verify(graph)
    return graph


def fused_nodes(graph: Graph) -> list:
    return [node for node in graph.nodes if isinstance(node.op, Fused)]


def assert_same_values(before: Graph, after: Graph, values: list[np.ndarray]) -> None:
    expected = compile_graph(before).run(values)
    got = compile_graph(after).run(values)
    for position, (e, g) in enumerate(zip(expected, got, strict=True)):
        assert g.dtype == e.dtype and g.shape == e.shape, position
        np.testing.assert_array_equal(g, e, err_msg=f"output {position}")


# ---------------------------------------------------------------------------- counts
def test_logistic_is_one_kernel() -> None:
    x = T.dmatrix("x")
    graph = optimized(Graph([x], [1 / (1 + T.exp(-x))]))
    assert len(kernels(graph)) == 1
    assert not any(isinstance(n.op, Elemwise) for n in graph.nodes)
    assert_same_values(Graph([x], [1 / (1 + T.exp(-x))]), graph, [np.array([[0, 1], [-1, -2.0]])])


def test_sum_of_squared_difference_is_one_kernel_with_the_reduction() -> None:
    x, c = T.dmatrix("x"), T.dvector("c")
    before = Graph([x, c], [T.sum((x - c) ** 2)])
    graph = optimized(before)
    (kernel,) = kernels(graph)
    assert not any(isinstance(n.op, Reduce) for n in graph.nodes)
    assert [o.reduction.name for o in kernel.outputs if o.reduction] == ["sum"]
    assert len(kernel.outputs) == 1  # the squares are never written out
    values = [np.array([[1.0, 2.0], [np.inf, -1.0]]), np.array([0.5, 2.0])]
    assert_same_values(before, graph, values)


def test_seed_three_outputs_are_one_kernel() -> None:
    a, b = T.dmatrices("a", "b")
    diff = a - b
    before = Graph([a, b], [diff, abs(diff), diff**2])
    graph = optimized(before)
    assert len(graph.nodes) == 1
    (kernel,) = kernels(graph)
    assert len(kernel.outputs) == 3 and len(kernel.inputs) == 2
    assert [i.op.name for i in kernel.body].count("subtract") == 1  # diff computed once
    assert_same_values(before, graph, [np.array([[1.0, 1], [1, 1]]), np.array([[0.0, 1], [2, 3]])])


def logistic_regression_step() -> Graph:
    rng = np.random.default_rng(0)
    x, y = T.matrix("x"), T.vector("y")
    w = jitgraph.shared(rng.standard_normal(2), name="w")
    b = jitgraph.shared(0.0, name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w**2).mean() / 2.0
    gw, gb = jitgraph.grad(cost, [w, b])
    return Graph([x, y, w, b], [prediction, w - 0.1 * gw, b - 0.1 * gb])


def test_logistic_regression_step_has_at_most_three_kernels_around_two_dots() -> None:
    before = logistic_regression_step()
    graph = optimized(before)
    counts = Counter(type(n.op).__name__ for n in graph.nodes)
    assert counts["Dot"] == 2
    assert len(kernels(graph)) == 3, dict(counts)
    rng = np.random.default_rng(1)
    values = [rng.standard_normal((5, 2)), (rng.random(5) > 0.5) * 1.0, rng.standard_normal(2)]
    assert_same_values(before, graph, [*values, np.array(0.3)])


# ---------------------------------------------------------------------------- structure
def test_a_value_read_outside_is_an_output_not_recomputed() -> None:
    x, m = T.dvector("x"), T.dmatrix("m")
    e = T.exp(x)
    before = Graph([x, m], [T.dot(m, e) + e, e * 2])
    graph = fuse(before)
    verify(graph)
    names = [i.op.name for k in kernels(graph) for i in k.body]
    assert names.count("exp") == 1
    rng = np.random.default_rng(2)
    assert_same_values(before, graph, [rng.standard_normal(3), rng.standard_normal((3, 3))])


def test_no_kernel_both_feeds_and_reads_a_node() -> None:
    # e1 -> dot -> e2 and e1 -> e2: one kernel for e1 and e2 would be a cycle.
    x, m = T.dvector("x"), T.dmatrix("m")
    e1 = T.exp(x)
    e2 = T.dot(m, e1) * e1
    before = Graph([x, m], [e2])
    graph = fuse(before)
    verify(graph)
    assert len(kernels(graph)) == 2
    rng = np.random.default_rng(3)
    assert_same_values(before, graph, [rng.standard_normal(3), rng.standard_normal((3, 3))])


def test_siblings_reading_the_same_input_share_a_kernel() -> None:
    x = T.dmatrix("x")
    before = Graph([x], [T.exp(x), T.log(x), T.sin(x) + 1])
    graph = fuse(before)
    (kernel,) = kernels(graph)
    assert len(kernel.inputs) == 1 and len(kernel.outputs) == 3


def test_siblings_with_untied_lengths_stay_apart() -> None:
    # s is a row; s + a and s + c have lengths the graph does not tie (3 vs 5 rows).
    r, a, c = T.drow("r"), T.dmatrix("a"), T.dmatrix("c")
    s = T.exp(r)
    before = Graph([r, a, c], [s + a, s + c])
    graph = fuse(before)
    verify(graph)
    assert len(kernels(graph)) >= 2
    rng = np.random.default_rng(4)
    values = [rng.standard_normal((1, 4)), rng.standard_normal((3, 4)), rng.standard_normal((5, 4))]
    assert_same_values(before, graph, values)


def test_a_reduction_of_a_broadcasting_value_stays_a_reduce() -> None:
    r, x = T.drow("r"), T.dmatrix("x")
    e = T.exp(r)
    before = Graph([r, x], [x * e, T.sum(e, axis=1)])
    graph = fuse(before)
    assert any(isinstance(n.op, Reduce) for n in graph.nodes)
    rng = np.random.default_rng(5)
    assert_same_values(before, graph, [rng.standard_normal((1, 4)), rng.standard_normal((3, 4))])


@pytest.mark.parametrize(
    ("reduce", "dtype"),
    [
        (lambda v: T.sum(v, axis=0, keepdims=True), "int8"),
        (lambda v: T.prod(v, axis=1), "float32"),
        (lambda v: T.max(v, axis=(0, 1)), "float64"),
        (lambda v: T.min(v, axis=0), "int16"),
        (lambda v: T.all(v, axis=1), "float64"),
        (lambda v: T.any(v), "int8"),
        (lambda v: T.sum(v, axis=1, acc_dtype="float64"), "float32"),
    ],
)
def test_every_reduction_kind_fuses(reduce, dtype: str) -> None:
    x = TensorType(dtype, (None, None))("x")
    value = abs(x) + x
    before = Graph([x], [reduce(value)])
    graph = fuse(before)
    assert len(graph.nodes) == 1 and isinstance(graph.nodes[0].op, Fused)
    values = np.array([[1, -2, 3], [4, 0, -100]], dtype=dtype)
    assert_same_values(before, graph, [values])


def test_arity_is_capped() -> None:
    inputs = [T.dvector(f"x{i}") for i in range(40)]
    total = inputs[0]
    for x in inputs[1:]:
        total = total + x
    before = Graph(inputs, [total])
    graph = fuse(before)
    verify(graph)
    assert len(kernels(graph)) >= 2
    for kernel in kernels(graph):
        assert len(kernel.inputs) + len(kernel.outputs) <= MAX_KERNEL_ARITY
    rng = np.random.default_rng(6)
    assert_same_values(before, graph, [rng.standard_normal(3) for _ in inputs])


def test_constants_are_inlined_and_graph_input_constants_are_not() -> None:
    x = T.dvector("x")
    graph = fuse(Graph([x], [x * 2.5 + T.constant(np.array([1.0]))]))
    (kernel,) = kernels(graph)
    assert len(kernel.inputs) == 1 and len(kernel.constants) == 2
    const = T.constant(3.0)
    graph = fuse(Graph([x, const], [x * const]))
    assert len(kernels(graph)[0].inputs) == 2


def test_single_elementwise_nodes_become_one_op_kernels() -> None:
    x, m = T.dvector("x"), T.dmatrix("m")
    graph = fuse(Graph([x, m], [T.dot(m, T.exp(x))]))
    assert [str(n.op) for n in graph.nodes] == ["Fused{exp}", "Dot"]


def test_fuse_is_idempotent_and_keeps_graphs_without_elementwise_nodes() -> None:
    x, m = T.dvector("x"), T.dmatrix("m")
    graph = fuse(Graph([x, m], [T.exp(T.dot(m, x))]))
    assert fuse(graph) is graph
    plain = Graph([x, m], [T.dot(m, x)])
    assert fuse(plain) is plain


def test_graph_output_that_is_also_reduced_is_written_out() -> None:
    x = T.dmatrix("x")
    e = T.exp(x)
    before = Graph([x], [e, e.sum(axis=1)])
    graph = fuse(before)
    (kernel,) = kernels(graph)
    assert [o.reduction is None for o in kernel.outputs] == [True, False]
    assert_same_values(before, graph, [np.arange(6.0).reshape(2, 3)])


# ---------------------------------------------------------------------------- the op
def seed_fused() -> tuple[Graph, Var, Var]:
    a, b = T.dmatrix("a"), T.drow("b")
    diff = a - b
    return fuse(Graph([a, b], [diff, abs(diff), diff**2, T.sum(diff**2, axis=0)])), a, b


def test_fused_op_text() -> None:
    graph, _, _ = seed_fused()
    (node,) = fused_nodes(graph)
    assert str(node.op) == "Fused{subtract,absolute,power,sum}"
    assert "subtract" in node.op.short_description()
    a = T.dvector("a")
    long = fuse(Graph([a], [abs(T.exp(T.sin(T.cos(T.tanh(a) + 1) * 2) - 3) / 4)]))
    assert str(long.nodes[0].op) == "Fused{tanh,add,cos,multiply,sin,subtract,exp,...+2}"


def test_fused_make_node_checks_inputs() -> None:
    graph, a, b = seed_fused()
    op = graph.nodes[0].op
    with pytest.raises(TypeError, match="input 1 is 'c'.*expects float64 with broadcast pattern"):
        op.make_node(a, T.dmatrix("c"))
    with pytest.raises(TypeError, match="takes 2 inputs, got 1"):
        op.make_node(a)


def test_fused_runtime_mismatch_names_the_node() -> None:
    x, y = T.dmatrices("x", "y")
    graph = fuse(Graph([x, y], [T.exp(x) + y]))
    with pytest.raises(
        GraphError,
        match=r"shape mismatch in fused elementwise kernel \(exp, add\) at axis 1: input 0 \('x'",
    ):
        compile_graph(graph).run([np.zeros((2, 3)), np.zeros((2, 4))])


def test_fused_infer_shape() -> None:
    graph, a, b = seed_fused()
    (node,) = fused_nodes(graph)
    shapes = node.op.infer_shape(
        node, [tuple(T.shape(v)[i] for i in range(2)) for v in node.inputs]
    )
    flat = [dim for shape in shapes for dim in shape]
    program = compile_graph(Graph([a, b], flat))
    values = [np.zeros((4, 3)), np.zeros((1, 3))]
    got = [int(v) for v in program.run(values)]
    actual = compile_graph(graph).run(values)
    assert got == [n for value in actual for n in value.shape]


def test_fused_has_no_gradient() -> None:
    graph, _, _ = seed_fused()
    node = graph.nodes[0]
    with pytest.raises(NoGradientError, match="fusion runs after differentiation"):
        node.op.grad(node, [T.dmatrix() for _ in node.outputs])


def test_perform_into_buffers_and_in_place() -> None:
    graph, _, _ = seed_fused()
    (node,) = fused_nodes(graph)
    a, b = np.arange(6.0).reshape(2, 3), np.array([[1.0, -1.0, 0.5]])
    expected = node.op.perform(node, [a, b])
    buffers = [np.empty_like(e) for e in expected]
    results = node.op.perform_into(node, [a, b], buffers)
    assert all(r is buf for r, buf in zip(results, buffers, strict=True))
    for r, e in zip(results, expected, strict=True):
        np.testing.assert_array_equal(r, e)
    # In place: output 0 (diff) written into a's own buffer, other outputs allocated.
    a_copy = a.copy()
    results = node.op.perform_into(node, [a_copy, b], [a_copy, None, None, None])
    assert results[0] is a_copy
    for r, e in zip(results, expected, strict=True):
        np.testing.assert_array_equal(r, e)
    assert node.op.runtime_output_shapes(node, [a, b]) == [(2, 3), (2, 3), (2, 3), (3,)]


def test_outputs_never_alias_inputs() -> None:
    x = T.dvector("x")
    graph = fuse(Graph([x], [T.real(x), T.real(x) * 2]))
    value = np.arange(3.0)
    for result in compile_graph(graph).run([value]):
        assert not np.may_share_memory(result, value)


def test_debugprint_shows_the_kernels() -> None:
    graph, _, _ = seed_fused()
    text = debugprint(graph, file="str")
    assert "Fused{subtract,absolute,power,sum}.0 [id A]" in text
    assert "Inner graphs:" in text
    assert " >kernel(rank 2; in0: float64[?, ?], in1: float64[1, ?]) {" in text
    assert " >  t0: float64 = subtract(in0, in1)" in text
    assert "Inner graphs" not in debugprint(graph, file="str", print_inner=False)
    stream = io.StringIO()
    debugprint(graph.outputs[0], file=stream)
    assert stream.getvalue().count(">kernel(") == 1


# ---------------------------------------------------------------------------- random DAGs
UNARY = ["exp", "negative", "absolute", "sqrt", "log", "tanh", "square", "sin", "floor", "isnan"]
BINARY = ["add", "subtract", "multiply", "true_divide", "maximum", "minimum", "greater", "power"]
PATTERNS = [(False, False), (True, False), (False, True), (True, True)]
DTYPES = ["float64", "float32", "int32", "int8"]
EDGE_VALUES = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.5, 2.0, 1e30, 3.0]


@st.composite
def random_graph(draw: st.DrawFn) -> tuple[Graph, Graph, list[np.ndarray]]:
    """A random DAG of elementwise ops over broadcasting inputs, a few reductions, and
    input values with NaN and infinities."""
    n_inputs = draw(st.integers(1, 4))
    patterns = [draw(st.sampled_from(PATTERNS)) for _ in range(n_inputs)]
    dtypes_ = [draw(st.sampled_from(DTYPES)) for _ in range(n_inputs)]
    inputs = [
        TensorType(d, tuple(1 if b else None for b in p))(f"x{i}")
        for i, (p, d) in enumerate(zip(patterns, dtypes_, strict=True))
    ]
    pool: list[Var] = list(inputs)
    for _ in range(draw(st.integers(1, 12))):
        if draw(st.booleans()):
            name = draw(st.sampled_from(UNARY))
            args = [draw(st.sampled_from(pool))]
        else:
            name = draw(st.sampled_from(BINARY))
            second = draw(st.one_of(st.sampled_from(pool), st.sampled_from([2, 0.5, -1.0])))
            args = [draw(st.sampled_from(pool)), T.as_tensor_variable(second, ndim=2)]
        try:
            pool.append(Elemwise(SCALAR_OPS[name])(*args))
        except TypeError:  # a dtype the op refuses (sub of bools, ...)
            continue
    created = pool[n_inputs:] or [T.exp(inputs[0])]
    outputs = draw(st.lists(st.sampled_from(created), min_size=1, max_size=3, unique_by=id))
    if draw(st.booleans()):
        value = draw(st.sampled_from(created))
        kind = draw(st.sampled_from(["sum", "max", "any", "prod"]))
        axis = draw(st.sampled_from([None, 0, 1]))
        if kind != "max" or value.type.dtype != "bool":
            outputs.append(getattr(T, kind)(value, axis=axis))
    rows, cols = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    values = []
    for pattern, dtype in zip(patterns, dtypes_, strict=True):
        shape = (1 if pattern[0] else rows, 1 if pattern[1] else cols)
        raw = draw(
            st.lists(st.sampled_from(EDGE_VALUES), min_size=rows * cols, max_size=rows * cols)
        )
        data = np.array(raw[: shape[0] * shape[1]]).reshape(shape)
        if dtype.startswith("int"):
            data = np.nan_to_num(data, nan=0, posinf=100, neginf=-100).clip(-100, 100)
        values.append(data.astype(dtype))
    before = Graph(inputs, outputs)
    return before, fuse(before), values


@settings()
@given(random_graph())
def test_fused_random_graphs_equal_the_reference(
    case: tuple[Graph, Graph, list[np.ndarray]],
) -> None:
    before, after, values = case
    verify(after)
    assert not any(isinstance(n.op, Elemwise) for n in after.nodes)
    try:
        expected = compile_graph(before).run(values)
    except ValueError as exc:  # int ** negative int: the fused graph must fail alike
        with pytest.raises(type(exc)):
            compile_graph(after).run(values)
        return
    got = compile_graph(after).run(values)
    for e, g in zip(expected, got, strict=True):
        assert e.dtype == g.dtype and e.shape == g.shape
        np.testing.assert_array_equal(g, e)


# ---------------------------------------------------------------------------- convexity
# A merge is refused when a path leaves the merged kernel and comes back, counting paths
# that go through other kernels: such a path may enter a kernel at one member and leave
# it at another that does not depend on the first, which the graph's own edges never show.
def through_the_pipeline(graph: Graph) -> Graph:
    """``graph`` through every pass up to and including ``fuse``."""
    for step in pipeline.PIPELINE:
        graph = step.run(graph)
        verify(graph)
        if step.name == "fuse":
            break
    return graph


@pytest.mark.parametrize(
    "reduce",
    [T.logsumexp, lambda v: T.std(v, ddof=1)],
    ids=["logsumexp", "std_ddof1"],
)
def test_gradient_of_gradient_fuses_without_a_cycle(reduce) -> None:
    # The graph that made the kernels cyclic: Sum/Alloc/SumTo between elementwise parts.
    v = T.dvector("v")
    first = jitgraph.grad(reduce(v), v)
    second = jitgraph.grad(T.sum(first * T.constant(np.arange(4.0))), v)
    before = Graph([v], [second])
    after = through_the_pipeline(before)
    assert not any(isinstance(n.op, Elemwise) for n in after.nodes)
    values = [np.array([0.5, -1.0, 2.0, 0.25])]
    np.testing.assert_allclose(
        compile_graph(after).run(values)[0], compile_graph(before).run(values)[0], rtol=1e-12
    )


def test_a_path_through_another_kernel_is_a_cycle() -> None:
    # {u, w} is a kernel. cos(y) and q read y, but may not share one: the path
    # u -> sum -> alloc -> q, and cos(y) -> sum -> alloc -> w, with {cos(y), q} merged,
    # would make {u, w} -> {cos(y), q} -> {u, w}.
    x, y = T.dvector("x"), T.dvector("y")
    u = T.exp(x)
    w = u + T.alloc(T.sum(T.cos(y)), x.shape[0])
    q = T.alloc(T.sum(u), y.shape[0]) * y
    before = Graph([x, y], [w, q])
    graph = fuse(before)
    verify(graph)
    ops = [{i.op.name for i in kernel.body} for kernel in kernels(graph)]
    assert not any({"cos", "multiply"} <= names for names in ops)
    rng = np.random.default_rng(5)
    assert_same_values(before, graph, [rng.standard_normal(3), rng.standard_normal(4)])


MIXED_UNARY = ["exp", "negative", "absolute", "sqrt", "tanh", "square", "sin", "floor"]
MIXED_BINARY = ["add", "subtract", "multiply", "true_divide", "maximum", "power"]
BARRIERS = ["alloc_sum", "alloc_sum", "row_sum", "dot", "transpose"]


def barrier(kind: str, a: Any, b: Any) -> Var:
    """A node no kernel takes, from ``a`` (and ``b``, or only ``b``'s shape), shaped to
    mix with the pool."""
    atype: TensorType = a.type
    btype: TensorType = b.type
    if kind == "row_sum":
        return T.sum(a, axis=1, keepdims=True)
    if kind == "transpose":
        return a.T
    if kind == "dot" and None in atype.shape[1:] and None in btype.shape[:1]:
        return T.dot(a, b)
    return T.alloc(T.sum(a), b.shape[0], b.shape[1])


@st.composite
def graph_with_barriers(draw: st.DrawFn) -> tuple[Graph, list[np.ndarray]]:
    """A random DAG of float elementwise ops that also read values through nodes no kernel
    takes (Alloc of a Sum, Sum, Dot, DimShuffle), and its inputs (square n x n, so every
    shape mixes). Every value nothing reads is an output: the whole DAG is live."""
    inputs = [T.dmatrix(f"x{i}") for i in range(draw(st.integers(1, 2)))]
    pool: list[Var] = list(inputs)
    for _ in range(draw(st.integers(2, 20))):
        kind = draw(st.sampled_from(["unary", "input", "barrier", "barrier"]))
        a = draw(st.sampled_from(pool))
        if kind == "unary":
            pool.append(Elemwise(SCALAR_OPS[draw(st.sampled_from(MIXED_UNARY))])(a))
            continue
        if kind == "input":  # readers of one input: siblings
            other = draw(st.sampled_from(inputs))
        else:
            which = draw(st.sampled_from(BARRIERS))
            like = a if which == "dot" else draw(st.sampled_from(inputs))  # no false paths
            other = barrier(which, draw(st.sampled_from(pool)), like)
        pool.append(Elemwise(SCALAR_OPS[draw(st.sampled_from(MIXED_BINARY))])(a, other))
    created = pool[len(inputs) :]
    read = {id(v) for node in Graph(inputs, created).nodes for v in node.inputs}
    outputs = [v for v in created if id(v) not in read][:6] or created[-1:]
    size = draw(st.integers(1, 3))
    entries = st.lists(st.sampled_from([-1.5, -0.5, 0.0, 0.5, 2.0]), min_size=size * size)
    values = [np.array(draw(entries)[: size * size]).reshape(size, size) for _ in inputs]
    return Graph(inputs, outputs), values


# At least 100 examples: about one graph in ten has a path through a third kernel.
@settings(max_examples=max(settings().max_examples, 100))
@given(graph_with_barriers())
def test_fuse_with_barriers_never_makes_a_cycle(case: tuple[Graph, list[np.ndarray]]) -> None:
    before, values = case
    after = fuse(before)
    verify(after)
    assert not any(isinstance(n.op, Elemwise) for n in after.nodes)
    assert_same_values(before, after, values)


def test_ten_thousand_node_graph_fuses_correctly() -> None:
    # A value read by thousands of kernels, and a chain whose kernels a Sum separates:
    # both used to cost a search or a scan per merge over the whole graph (the time is
    # measured in benchmarks/, not asserted here).
    x = T.dvector("x")
    shared, chain, total = T.exp(x), x, T.exp(x)
    for k in range(1200):
        chain = T.tanh(chain) * T.alloc(T.sum(chain), x.shape[0]) + shared
        total = total + T.sin(shared * float(k))
    before = Graph([x], [chain, total])
    assert len(before.nodes) > 10_000
    graph = fuse(before)
    verify(graph)
    values = [np.linspace(-1.0, 1.0, 5)]
    assert_same_values(before, graph, values)


def test_merges_past_the_search_budget_are_refused() -> None:
    # 0 -> 1 -> 2 -> 3 and 0 -> 3: merging 0 and 3 needs a search; without budget it is
    # refused (always safe), while merges that need no search still happen.
    from jitgraph.passes.fuse import _ContractedGraph

    contracted = _ContractedGraph(5, [(0, 1), (1, 2), (2, 3), (0, 3), (3, 4)])
    contracted.search_budget = 0
    assert contracted.merge(0, 3) is None
    assert contracted.merge(3, 4) in (3, 4)
    contracted.search_budget = 100
    assert contracted.merge(0, 2) is None  # 0 -> 1 -> 2
    middle = contracted.merge(1, 2)
    assert middle in (1, 2)
    assert contracted.merge(0, middle) is not None  # now only the edge 0 -> {1, 2}


# ---------------------------------------------------------------------------- nested reductions
# A reduction joins a kernel only when it reduces an elementwise value of that kernel over
# one axis or more: a reduction's output is no value of the loop, and a reduction over no
# axis is a cast (it stays a Reduce node).


def test_sum_of_an_empty_axis_sum_fuses_and_keeps_its_values() -> None:
    # Regression: the outer sum joined the kernel holding the inner one and build_kernel
    # looked up the inner reduction's output as a loop value (KeyError).
    x = TensorType("float32", (None, None))("x")
    inner = T.sum(-x, axis=())
    before = Graph([x], [T.sum(inner)])
    after = pipeline.optimize(before, "FAST_COMPILE").graph
    verify(after)
    assert sum(isinstance(n.op, Reduce) for n in after.nodes) == 2
    for kernel in kernels(after):
        assert all(output.reduction is None for output in kernel.outputs)
    values = [np.array([[1.5, -2.0, np.inf], [0.0, 3.0, -1e30]], dtype="float32")]
    assert_same_values(before, after, values)


def test_a_reduction_of_a_reduction_over_a_broadcast_axis_stays_a_reduce() -> None:
    # keepdims over a static-1 axis gives back the loop's pattern: the pattern matches,
    # but the inner sum's output is a kernel output, not a value of the loop.
    x = T.TensorType("float64", (None, 1))("x")
    inner = T.sum(Elemwise(SCALAR_OPS["exp"])(x), axis=1, keepdims=True)
    before = Graph([x], [T.max(inner, axis=0)])
    after = fuse(before)
    verify(after)
    (kernel,) = kernels(after)
    assert [str(o.reduction) for o in kernel.outputs] == ["sum"]
    assert isinstance(after.nodes[-1].op, Reduce)
    assert_same_values(before, after, [np.array([[0.5], [-2.0], [np.nan]])])


def test_a_kernel_reduction_over_no_axis_is_refused() -> None:
    from jitgraph.backends.kernel import (
        Instruction,
        Kernel,
        KernelError,
        KernelInput,
        KernelOutput,
        Slot,
    )
    from jitgraph.ops.reduce import REDUCTIONS

    body = (Instruction(SCALAR_OPS["negative"], (Slot("in", 0),), "float64"),)
    output = KernelOutput(Slot("t", 0), "float64", REDUCTIONS["max"], ())
    with pytest.raises(KernelError, match=r"output 0: .* reduces no axis \(axes=\(\)\)"):
        Kernel(1, (KernelInput("float64", (False,)),), (), body, (output,))


REDUCE_KINDS = ["sum", "prod", "max", "min", "any", "all"]


@st.composite
def nested_reductions(draw: st.DrawFn) -> tuple[Graph, list[np.ndarray]]:
    """An elementwise value of a matrix reduced one to three times in a row, each over a
    random subset of the remaining axes (often none), with keepdims or not."""
    pattern = draw(st.sampled_from(PATTERNS))
    dtype = draw(st.sampled_from(DTYPES))
    x = TensorType(dtype, tuple(1 if b else None for b in pattern))("x")
    value = Elemwise(SCALAR_OPS[draw(st.sampled_from(["negative", "absolute", "square"]))])(x)
    outputs = [value] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(REDUCE_KINDS))
        if kind in ("max", "min") and value.type.dtype == "bool":
            kind = "sum"
        ndim = value.type.ndim
        axes = draw(st.sets(st.integers(0, ndim - 1), max_size=ndim)) if ndim else set()
        axis = tuple(sorted(axes))
        value = getattr(T, kind)(value, axis=axis, keepdims=draw(st.booleans()))
        if draw(st.booleans()):
            outputs.append(value)
    if not outputs or outputs[-1] is not value:
        outputs.append(value)
    rows, cols = draw(st.integers(0, 3)), draw(st.integers(1, 3))
    shape = (1 if pattern[0] else rows, 1 if pattern[1] else cols)
    raw = draw(st.lists(st.sampled_from(EDGE_VALUES), min_size=9, max_size=9))
    data = np.array(raw[: shape[0] * shape[1]]).reshape(shape)
    if not dtype.startswith("float"):
        data = np.nan_to_num(data, nan=0, posinf=100, neginf=-100).clip(-100, 100)
    return Graph([x], outputs), [data.astype(dtype)]


@settings()
@given(nested_reductions())
def test_nested_and_empty_axis_reductions_equal_the_unfused_graph(
    case: tuple[Graph, list[np.ndarray]],
) -> None:
    before, values = case
    for after in (fuse(before), pipeline.optimize(before, "FAST_COMPILE").graph):
        verify(after)
        assert not any(isinstance(n.op, Elemwise) for n in after.nodes)
        for kernel in kernels(after):
            assert all(o.reduction is None or o.axes for o in kernel.outputs)
        try:
            compile_graph(before).run(values)
        except ValueError:  # max/min of an empty axis: the fused graph must fail alike
            with pytest.raises(ValueError, match="empty axis"):
                compile_graph(after).run(values)
            continue
        assert_same_values(before, after, values)


# ---------------------------------------------------------------------------- scalar kernels
def test_a_scalar_kernel_read_through_padding_joins_its_reader() -> None:
    x, s = T.dvector("x"), T.dscalar("s")
    before = Graph([x, s], [x * T.exp(s) + T.exp(s) * 2])
    graph = fuse(before)
    verify(graph)
    (kernel,) = kernels(graph)
    assert [i.op.name for i in kernel.body].count("exp") == 1
    assert [spec.broadcastable for spec in kernel.inputs].count((True,)) == 1  # s, padded
    for value in (0.5, np.inf, np.nan, -np.inf):
        assert_same_values(before, graph, [np.array([1.0, -2.0, 0.0]), np.array(value)])
    assert_same_values(before, graph, [np.zeros(0), np.array(1.5)])


def test_a_scalar_read_elsewhere_stays_its_own_kernel() -> None:
    x, s = T.dvector("x"), T.dscalar("s")
    e = T.exp(s)
    for outputs in ([x * e, e], [x * e, T.dot(x, x) * e]):
        before = Graph([x, s], outputs)
        graph = fuse(before)
        verify(graph)
        assert len(kernels(graph)) == 2
        names = [i.op.name for k in kernels(graph) for i in k.body]
        assert names.count("exp") == 1  # computed once, never per element
        assert_same_values(before, graph, [np.array([1.0, 2.0]), np.array(0.25)])


def test_a_scalar_kernel_read_by_two_kernels_is_not_absorbed() -> None:
    x, v, s = T.dvector("x"), T.dmatrix("v"), T.dscalar("s")
    e = T.exp(s)
    before = Graph([x, v, s], [x * e, v * e])
    graph = fuse(before)
    verify(graph)
    assert [i.op.name for k in kernels(graph) for i in k.body].count("exp") == 1
    values = [np.array([1.0, 2.0]), np.ones((2, 3)), np.array(0.25)]
    assert_same_values(before, graph, values)
