"""Tests of jitgraph/ir/graph.py: hash-consing, constant interning, Graph, structural hash."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph.tensor as T
from jitgraph.ir.graph import (
    Const,
    Graph,
    MissingInputError,
    Node,
    Var,
    ancestors,
    graph_inputs,
    make_constant,
    toposort,
)
from jitgraph.ir.rebuild import replace
from jitgraph.ir.types import TensorType
from jitgraph.ir.verify import verify
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.scalar import SCALAR_OPS

THIS_FILE = os.path.abspath(__file__)


# ----------------------------------------------------------------------------- hash-consing
def test_same_op_and_inputs_give_the_same_node_and_var() -> None:
    x, y = T.dvectors("x", "y")
    assert (x + y) is (x + y)
    assert (x + y).owner is (x + y).owner
    assert T.exp(x) is T.exp(x)
    assert (x + 1) is (x + 1)  # constants are interned, so the node is shared too
    assert x.sum(axis=0) is x.sum(axis=0)
    assert Elemwise(SCALAR_OPS["add"])(x, y) is (x + y)  # a fresh, equal op


def test_different_ops_params_or_inputs_give_different_nodes() -> None:
    x, y = T.dvectors("x", "y")
    m = T.dmatrix("m")
    assert (x + y) is not (y + x)
    assert (x + y) is not (x - y)
    assert T.exp(x) is not T.tanh(x)
    assert m.sum(axis=0) is not m.sum(axis=1)
    assert m.sum(axis=0) is not m.sum(axis=0, keepdims=True)
    assert (x + 1) is not (x + 2)
    assert (x + 1) is not (x + 1.5)
    assert T.exp(x) is not T.exp(T.dvector("x"))  # same name, another variable


def test_hash_consing_survives_garbage_collection_of_nodes() -> None:
    x = T.dvector("x")
    first_id = id(T.exp(x).owner)
    gc.collect()
    again = T.exp(x)
    assert again.owner is not None and again.owner.inputs[0] is x
    assert isinstance(first_id, int)


def test_nodes_are_immutable() -> None:
    node = T.exp(T.dvector("x")).owner
    assert node is not None
    with pytest.raises(AttributeError, match="immutable"):
        node.op = None  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        node.inputs = ()  # type: ignore[misc]


def test_node_out_nin_nout_repr() -> None:
    x = T.dvector("x")
    node = (x * 2).owner
    assert node is not None
    assert node.out is x * 2 and node.nin == 2 and node.nout == 1
    assert repr(node).startswith("Elemwise{mul}(x")


# ----------------------------------------------------------------------------- constants
@pytest.mark.parametrize(
    "value",
    [
        2.0,
        3,
        True,
        np.float32(1.5),
        np.arange(5.0),
        np.ones((2, 3), dtype="int8"),
        np.array(np.nan),
    ],
)
def test_small_constants_are_interned_by_content(value: Any) -> None:
    twin = np.array(value, copy=True) if isinstance(value, np.ndarray) else value
    assert T.constant(value) is T.constant(twin)


def test_constants_with_other_dtype_or_shape_are_distinct() -> None:
    assert T.constant(2) is not T.constant(2.0)  # int8 vs float32
    assert T.constant(np.array([1], dtype="uint8")) is not T.constant(np.array([1], dtype="int8"))
    assert T.constant(np.zeros(4)) is not T.constant(np.zeros((2, 2)))
    assert T.constant(0.0) is not T.constant(-0.0)


def test_strided_constants_intern_with_their_contiguous_twin() -> None:
    data = np.arange(10.0)
    assert T.constant(data[::2]) is T.constant(np.ascontiguousarray(data[::2]))


def test_large_and_named_constants_are_not_interned() -> None:
    big = np.arange(5000.0)
    assert T.constant(big) is not T.constant(big)
    assert make_constant(np.array(1.0), name="one") is not make_constant(np.array(1.0))


def test_constant_data_is_a_read_only_copy() -> None:
    data = np.arange(3.0)
    const = T.constant(data)
    data[0] = 99.0
    assert const.data[0] == 0.0
    assert not const.data.flags.writeable
    with pytest.raises(ValueError):
        const.data[0] = 1.0


# ----------------------------------------------------------------------------- Var
def test_var_records_the_users_source_line_and_describes_itself() -> None:
    x = T.dvector("x")
    line = sys._getframe().f_lineno - 1
    assert x.created_at == f"{THIS_FILE}:{line}"
    assert x.describe() == f"'x' (created at {THIS_FILE}:{line})"
    y = T.exp(x)
    assert y.describe().startswith("the output of elementwise exp (created at")
    assert T.dvector().describe().startswith("an unnamed input")


def test_var_name_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="name must be a str"):
        T.dvector(3)  # type: ignore[arg-type]


def test_vars_compare_by_identity() -> None:
    x = T.dvector("x")
    assert x == x and x != T.dvector("x")
    assert len({x, x, T.dvector("x")}) == 2


# ----------------------------------------------------------------------------- Graph
def test_graph_nodes_are_topologically_ordered_and_verified() -> None:
    x, y = T.dmatrices("x", "y")
    e = T.exp(x)
    out = (e + y) * e
    graph = Graph([x, y], [out, e.sum(axis=0)])
    seen: set[int] = {id(x), id(y)}
    for node in graph.nodes:
        assert all(id(v) in seen or isinstance(v, Const) for v in node.inputs)
        seen.update(id(v) for v in node.outputs)
    verify(graph)
    assert len(graph.nodes) == len({id(n) for n in graph.nodes})


def test_graph_missing_input_names_the_variable() -> None:
    x, z = T.dvectors("x", "z")
    with pytest.raises(MissingInputError, match="'z' \\(created at .*test_graph.py"):
        Graph([x], [x + z])


def test_graph_rejects_duplicate_inputs() -> None:
    x = T.dvector("x")
    with pytest.raises(ValueError, match="twice"):
        Graph([x, x], [x])


def test_an_intermediate_input_blocks_its_ancestors() -> None:
    x = T.dvector("x")
    e = T.exp(x)
    graph = Graph([e], [e * 2])
    assert all(n is not e.owner for n in graph.nodes)
    verify(graph)


def test_graph_of_an_input_or_a_constant_has_no_nodes() -> None:
    x = T.dvector("x")
    assert Graph([x], [x]).nodes == ()
    assert Graph([], [T.constant(1.0)]).nodes == ()


def test_variables_clients_and_traversal_helpers() -> None:
    x, y = T.dvectors("x", "y")
    s = x + y
    out = s * s
    graph = Graph([x, y], [out])
    assert graph.variables()[:2] == [x, y]
    clients = graph.clients()
    assert [(n, i) for n, i in clients[id(s)]] == [(out.owner, 0), (out.owner, 1)]
    assert set(map(id, graph_inputs([out]))) == {id(x), id(y)}
    assert ancestors([out])[0] is out
    assert [n.outputs[0] for n in toposort([out])] == [s, out]
    assert "Graph(2 inputs, 2 nodes, 1 outputs)" == repr(graph)


def test_deep_graphs_do_not_hit_the_recursion_limit() -> None:
    x = T.dvector("x")
    out = x
    for _ in range(3 * sys.getrecursionlimit()):
        out = T.tanh(out)
    graph = Graph([x], [out])
    assert len(graph.nodes) == 3 * sys.getrecursionlimit()
    assert len(graph.hash) == 64


# ----------------------------------------------------------------------------- structural hash
def build_named(names: tuple[str | None, str | None]) -> Graph:
    x = T.dmatrix(names[0])
    y = T.dvector(names[1])
    out = (T.exp(x) * 2.0 + y).sum(axis=0)
    return Graph([x, y], [out, T.tanh(y)])


def test_hash_is_independent_of_names() -> None:
    reference = build_named(("x", "y")).hash
    assert build_named(("p", "q")).hash == reference
    assert build_named((None, None)).hash == reference
    assert len(reference) == 64 and int(reference, 16) >= 0


HASH_SCRIPT = """
import jitgraph.tensor as T
from jitgraph.ir.graph import Graph
x = T.dmatrix("a_different_name")
y = T.dvector()
junk = [T.dvector() for _ in range(7)]  # shifts object ids
print(Graph([x, y], [(T.exp(x) * 2.0 + y).sum(axis=0), T.tanh(y)]).hash)
"""


@pytest.mark.parametrize("seed", ["0", "12345"])
def test_hash_is_the_same_in_a_fresh_process(seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    result = subprocess.run(
        [sys.executable, "-c", HASH_SCRIPT], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == build_named(("x", "y")).hash


def test_hash_changes_with_each_kind_of_difference() -> None:
    def graph(
        dtype: str = "float64",
        shape: tuple = (None, None),
        axis: int = 0,
        scale: float = 2.0,
        unary: Any = T.exp,
    ) -> str:
        x = T.tensor(dtype, shape, "x")
        return Graph([x], [(unary(x) * scale).sum(axis=axis)]).hash

    base = graph()
    variants = [
        graph(dtype="float32"),
        graph(shape=(None, 3)),
        graph(shape=(1, None)),
        graph(axis=1),
        graph(scale=3.0),
        graph(unary=T.tanh),
    ]
    assert base == graph()
    assert len({base, *variants}) == 1 + len(variants)


def test_hash_of_a_constant_input_depends_on_its_value() -> None:
    one, two = make_constant(np.array(1.0), name="c"), make_constant(np.array(2.0), name="c")
    assert Graph([one], [one]).hash != Graph([two], [two]).hash


def test_hash_depends_on_input_and_output_order() -> None:
    x, y = T.dvectors("x", "y")
    assert Graph([x, y], [x - y]).hash != Graph([y, x], [x - y]).hash
    assert Graph([x, y], [x, y]).hash != Graph([x, y], [y, x]).hash


# A random expression "recipe" is plain data, so the same expression can be built twice
# (the twin) or with exactly one change (the mutant).
UNARY = ["exp", "tanh", "abs", "sqr", "neg"]
BINARY = ["add", "sub", "mul", "true_div"]
leaves = st.one_of(
    st.tuples(st.just("in"), st.integers(0, 2)),
    st.tuples(st.just("const"), st.integers(0, 6).map(lambda n: n + 0.5)),
)


def _extend(children: Any) -> Any:
    return st.one_of(
        st.tuples(st.just("un"), st.sampled_from(UNARY), children),
        st.tuples(st.just("bin"), st.sampled_from(BINARY), children, children),
        st.tuples(st.just("sum"), st.integers(0, 1), children),
        st.tuples(st.just("cast"), st.sampled_from(["float32", "float64"]), children),
        st.tuples(st.just("T"), children),
    )


recipes = st.recursive(leaves, _extend, max_leaves=8)


def build(recipe: Any, inputs: list[Var]) -> Var:
    kind = recipe[0]
    if kind == "in":
        return inputs[recipe[1]]
    if kind == "const":
        return T.dimshuffle(T.constant(recipe[1]), "x", "x")
    if kind == "un":
        return getattr(T, recipe[1])(build(recipe[2], inputs))  # type: ignore[no-any-return]
    if kind == "bin":
        return getattr(T, recipe[1])(build(recipe[2], inputs), build(recipe[3], inputs))  # type: ignore[no-any-return]
    if kind == "sum":
        return T.sum(build(recipe[2], inputs), axis=recipe[1], keepdims=True)
    if kind == "cast":
        return T.cast(build(recipe[2], inputs), recipe[1])
    return T.transpose(build(recipe[1], inputs))


def make_graph(recipe: Any, dtype: str = "float64", shape: tuple = (None, None)) -> Graph:
    inputs = [T.tensor(dtype, shape, name) for name in ("a", "b", "c")]
    return Graph(inputs, [build(recipe, inputs)])


def mutation_sites(
    recipe: Any, path: tuple[int, ...] = (), parent: str = ""
) -> list[tuple[int, ...]]:
    """Paths of the recipe's mutable parts. A cast directly under a cast is left alone:
    cast(float32, cast(float32 or float64, x)) is the same graph for a float64 x."""
    fixed = recipe[0] in ("in", "T") or (recipe[0] == "cast" and parent == "cast")
    sites = [] if fixed else [path]
    for i, child in enumerate(recipe):
        if isinstance(child, tuple):
            sites += mutation_sites(child, (*path, i), recipe[0])
    return sites


def mutate(recipe: Any, path: tuple[int, ...]) -> Any:
    if path:
        i = path[0]
        return (*recipe[:i], mutate(recipe[i], path[1:]), *recipe[i + 1 :])
    kind = recipe[0]
    if kind == "const":
        return ("const", recipe[1] + 1.0)
    if kind == "un":
        return ("un", UNARY[(UNARY.index(recipe[1]) + 1) % len(UNARY)], recipe[2])
    if kind == "bin":
        return ("bin", BINARY[(BINARY.index(recipe[1]) + 1) % len(BINARY)], *recipe[2:])
    if kind == "sum":
        return ("sum", 1 - recipe[1], recipe[2])
    assert kind == "cast"
    return ("cast", "float64" if recipe[1] == "float32" else "float32", recipe[2])


@given(recipes)
@settings()
def test_random_expression_twins_hash_equal_and_verify(recipe: Any) -> None:
    graph = make_graph(recipe)
    twin = make_graph(recipe)
    assert graph.hash == twin.hash
    verify(graph)


@given(recipes, st.data())
@settings()
def test_random_single_mutation_changes_the_hash(recipe: Any, data: st.DataObject) -> None:
    original = make_graph(recipe).hash
    sites = mutation_sites(recipe)
    choices: list[Any] = [*sites, "dtype", "shape"]
    site = data.draw(st.sampled_from(choices))
    if site == "dtype":
        mutant = make_graph(recipe, dtype="float32")
    elif site == "shape":
        mutant = make_graph(recipe, shape=(3, 3))
    else:
        mutant = make_graph(mutate(recipe, site))
    assert mutant.hash != original


def test_node_create_shares_only_with_identical_inputs() -> None:
    x = T.dvector("x")
    op = Elemwise(SCALAR_OPS["exp"])
    ttype = TensorType("float64", (None,))
    first = Node.create(op, [x], [ttype])
    assert Node.create(op, [x], [ttype]) is first
    assert Node.create(op, [T.dvector("x")], [ttype]) is not first


# ----------------------------------------------------------------------------- rebuild
def test_replace_rebuilds_downstream_nodes_and_shares_the_rest() -> None:
    x, y, z = T.dvectors("x", "y", "z")
    shared_part = T.exp(z)
    out = x * 2 + shared_part
    (new,) = replace([out], {x: y})
    assert new is y * 2 + shared_part  # hash-consing: the rebuilt graph is the direct one
    assert replace([out], {}) == [out]


def test_replace_reinfers_types() -> None:
    x = T.dvector("x")
    fixed = T.tensor("float64", (3,), "fixed")
    (new,) = replace([T.exp(x) + 1], {x: fixed})
    assert new.type == TensorType("float64", (3,))
    verify(Graph([fixed], [new]))


def test_replace_an_intermediate_and_not_inside_the_replacement() -> None:
    x, y = T.dvectors("x", "y")
    hidden = T.exp(x)
    (new,) = replace([hidden * 2], {hidden: hidden + y})
    assert new is (hidden + y) * 2  # the replacement itself is not rewritten
    (again,) = replace([x * 2], {x: x + 1})
    assert again is (x + 1) * 2
