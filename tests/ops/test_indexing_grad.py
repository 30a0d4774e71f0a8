"""Gradients of the indexing ops against finite differences: basic and advanced indexing,
set/inc_subtensor (with broadcasting increments), take, and the integer-valued ops whose
inputs are disconnected. The gradient graphs are linear, so their own gradients (what a
hessian needs) are checked with the adjoint identity <L v, w> == <v, L^T w>."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.gradient import grad, hessian, verify_grad
from jitgraph.ir.graph import Var, toposort
from jitgraph.ops.base import DISCONNECTED, GradTerm
from jitgraph.ops.indexing import AdvancedIncSubtensor, IndexedShape, Nonzero
from jitgraph.ops.reduce import SumTo

Key = tuple[Any, ...]


# ----------------------------------------------------------------------------- helpers
def op_grads(out: Var, grad_out: Var) -> dict[Var, GradTerm]:
    """The gradient terms that ``out``'s op gives each input of its node."""
    node = out.owner
    assert node is not None
    terms = node.op.grad(node, [grad_out])
    assert len(terms) == len(node.inputs)
    return dict(zip(node.inputs, terms, strict=True))


def finite_difference(
    func: Callable[..., Any], values: Sequence[np.ndarray], position: int, weight: np.ndarray
) -> np.ndarray:
    """Central differences of ``sum(func(*values) * weight)`` w.r.t. ``values[position]``."""
    eps = 1e-3  # the functions are linear: the step only trades rounding, not truncation
    args = [np.array(v, copy=True) for v in values]
    point = args[position]
    result = np.zeros(point.shape)
    for element in np.ndindex(point.shape):
        original = point[element]
        point[element] = original + eps
        plus = np.sum(func(*args) * weight)
        point[element] = original - eps
        minus = np.sum(func(*args) * weight)
        point[element] = original
        result[element] = (plus - minus) / (2 * eps)
    return result


def check_against_finite_differences(
    out: Var, inputs: list[Var], values: list[np.ndarray], wrt: list[int], seed: int
) -> list[np.ndarray]:
    """The op's gradient w.r.t. ``inputs[k]`` for ``k`` in ``wrt`` equals the finite
    differences; the index inputs of the node are disconnected. Returns the gradients."""
    weight = np.random.default_rng(seed).standard_normal(
        jitgraph.function(inputs, out)(*values).shape
    )
    grad_out = T.tensor("float64", shape=out.type.shape, name="g")
    terms = op_grads(out, grad_out)
    for var, term in terms.items():
        if var.type.dtype != "float64":  # index inputs
            assert term is DISCONNECTED, (var, term)
    symbolic = [terms[inputs[k]] for k in wrt]
    assert all(isinstance(s, Var) for s in symbolic)
    for k, term in zip(wrt, symbolic, strict=True):
        assert term.type.ndim == inputs[k].type.ndim
    computed = jitgraph.function([*inputs, grad_out], symbolic, on_unused_input="ignore")(
        *values, weight
    )
    forward = jitgraph.function(inputs, out)
    for k, gradient in zip(wrt, computed, strict=True):
        assert gradient.shape == values[k].shape
        expected = finite_difference(forward, values, k, weight)
        np.testing.assert_allclose(gradient, expected, rtol=1e-7, atol=1e-8)
    return list(computed)


def symbolic_index(key: Key, flags: list[bool]) -> tuple[Key, list[Var], list[Any]]:
    """``key`` with some ints, slice bounds and index arrays made symbolic inputs."""
    pending = iter(flags + [False] * 64)
    inputs: list[Var] = []
    values: list[Any] = []

    def convert(item: Any) -> Any:
        if isinstance(item, np.ndarray) or isinstance(item, int) and not isinstance(item, bool):
            if next(pending):
                data = np.asarray(item)
                var = T.tensor(data.dtype, shape=(None,) * data.ndim)
                inputs.append(var)
                values.append(data)
                return var
        return item

    converted = [
        slice(convert(i.start), convert(i.stop), convert(i.step))
        if isinstance(i, slice)
        else convert(i)
        for i in key
    ]
    return tuple(converted), inputs, values


def reduce_to(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """NumPy: ``value`` summed back to the ``shape`` it was broadcast from."""
    value = value.sum(axis=tuple(range(value.ndim - len(shape))))
    axes = tuple(a for a, n in enumerate(shape) if n == 1 and value.shape[a] != 1)
    return value.sum(axis=axes, keepdims=True)


# ----------------------------------------------------------------------------- strategies
def basic_item(size: int) -> st.SearchStrategy[Any]:
    bound = st.none() | st.integers(-size - 2, size + 2)
    step = st.sampled_from([None, 1, 2, 3, -1, -2])
    slices = st.builds(slice, bound, bound, step)
    return slices | st.integers(-size, size - 1) if size > 0 else slices


def shapes(min_size: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(st.integers(min_size, 4), min_size=0, max_size=3).map(tuple)


def with_new_axes(draw: st.DrawFn, key: list[Any]) -> list[Any]:
    for _ in range(draw(st.integers(0, 2))):
        key.insert(draw(st.integers(0, len(key))), None)
    return key


@st.composite
def basic_cases(draw: st.DrawFn) -> tuple[tuple[int, ...], Key]:
    """Shapes with ints, slices (negative steps, out-of-range bounds), None and Ellipsis."""
    shape = draw(shapes(0))
    ndim = len(shape)
    explicit = draw(st.integers(0, ndim))
    ellipsis_at = draw(st.integers(0, explicit)) if draw(st.booleans()) else None
    at = explicit if ellipsis_at is None else ellipsis_at
    axes = list(range(at)) + list(range(at + ndim - explicit, ndim))
    key = [draw(basic_item(shape[axis])) for axis in axes]
    if ellipsis_at is not None:
        key.insert(ellipsis_at, Ellipsis)
    return shape, tuple(with_new_axes(draw, key))


def index_array(draw: st.DrawFn, size: int, shape: tuple[int, ...]) -> np.ndarray:
    # A small range of values makes repeats common; negatives count from the end.
    seed = draw(st.integers(0, 2**16))
    return np.random.default_rng(seed).integers(-size, size, shape).astype("int64")


@st.composite
def advanced_cases(draw: st.DrawFn) -> tuple[tuple[int, ...], Key]:
    """Integer arrays (broadcasting, repeats, negatives) or one boolean mask, mixed with
    slices, ints and None."""
    shape = draw(shapes(1).filter(lambda s: len(s) > 0))
    ndim = len(shape)
    if draw(st.booleans()):
        start = draw(st.integers(0, ndim - 1))
        count = draw(st.integers(1, ndim - start))
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        key = [draw(basic_item(shape[a])) for a in range(start)]
        key.append(rng.integers(0, 2, shape[start : start + count]).astype(bool))
        rest = range(start + count, draw(st.integers(start + count, ndim)))
        key += [draw(basic_item(shape[a])) for a in rest]
        return shape, tuple(with_new_axes(draw, key))
    array_shape = draw(st.sampled_from([(), (3,), (2, 3), (1, 3)]))
    kinds = draw(st.lists(st.sampled_from(["array", "basic"]), min_size=1, max_size=ndim))
    kinds[draw(st.integers(0, len(kinds) - 1))] = "array"
    key = []
    for axis, kind in enumerate(kinds):
        if kind == "array":
            key.append(index_array(draw, shape[axis], array_shape))
        else:
            key.append(draw(basic_item(shape[axis])))
    return shape, tuple(with_new_axes(draw, key))


def float_values(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# ----------------------------------------------------------------------------- x[index]
@given(basic_cases() | advanced_cases(), st.lists(st.booleans(), max_size=6), st.integers(0, 99))
@settings()
def test_indexing_gradient_matches_finite_differences(
    case: tuple[tuple[int, ...], Key], flags: list[bool], seed: int
) -> None:
    shape, key = case
    x = T.tensor("float64", shape=(None,) * len(shape), name="x")
    symbolic, index_inputs, index_values = symbolic_index(key, flags)
    out = x[symbolic]
    data = float_values(shape, seed)
    (grad,) = check_against_finite_differences(
        out, [x, *index_inputs], [data, *index_values], [0], seed
    )
    weight = np.random.default_rng(seed).standard_normal(data[key].shape)
    expected = np.zeros(shape)
    np.add.at(expected, key, weight)  # the accumulation is exact, not just close
    np.testing.assert_array_equal(grad, expected)


def gradient_of_sum(out: Var, inputs: list[Var], values: list[Any]) -> np.ndarray:
    ones = T.tensor("float64", shape=out.type.shape, name="ones")
    term = op_grads(out, ones)[inputs[0]]
    assert isinstance(term, Var)
    weight = np.ones(jitgraph.function(inputs, out)(*values).shape)
    return jitgraph.function([*inputs, ones], term, on_unused_input="ignore")(*values, weight)


def test_repeated_indices_accumulate_exactly() -> None:
    x = T.dvector("x")
    data = np.arange(5.0)
    grad = gradient_of_sum(x[[0, 0, 1]], [x], [data])
    np.testing.assert_array_equal(grad, [2.0, 1.0, 0.0, 0.0, 0.0])
    grad = gradient_of_sum(x[[-1, 4, -1, 0]], [x], [data])  # negatives alias their positives
    np.testing.assert_array_equal(grad, [1.0, 0.0, 0.0, 0.0, 3.0])
    m = T.dmatrix("m")
    grad = gradient_of_sum(m[[1, 1], [[2], [2]]], [m], [np.zeros((2, 3))])  # broadcast 2x2
    np.testing.assert_array_equal(grad, [[0.0, 0.0, 0.0], [0.0, 0.0, 4.0]])


def test_mask_gradient_is_the_mask() -> None:
    x = T.dmatrix("x")
    data = np.array([[1.0, -2.0, 3.0], [-1.0, 0.0, 2.0]])
    np.testing.assert_array_equal(gradient_of_sum(x[x > 0], [x], [data]), data > 0)
    column = gradient_of_sum(x[:, np.array([True, False, True])], [x], [data])
    np.testing.assert_array_equal(column, [[1.0, 0.0, 1.0]] * 2)
    scalar_mask = gradient_of_sum(x[np.bool_(True)], [x], [data])  # adds an axis
    np.testing.assert_array_equal(scalar_mask, np.ones((2, 3)))


def test_index_of_nonzero_differentiates_through_x() -> None:
    x = T.dvector("x")
    out = x[T.nonzero(x)]
    data = np.array([0.0, 2.0, 0.0, -1.0])
    np.testing.assert_array_equal(gradient_of_sum(out, [x], [data]), [0.0, 1.0, 0.0, 1.0])


def test_take_gradient() -> None:
    x = T.dmatrix("x")
    data = float_values((3, 4), 0)
    out = T.take(x, [[0, -1], [0, 3]], axis=1)
    check_against_finite_differences(out, [x], [data], [0], 1)
    np.testing.assert_array_equal(gradient_of_sum(out, [x], [data]), [[2.0, 0.0, 0.0, 2.0]] * 3)


# ----------------------------------------------------------------------------- set/inc
@st.composite
def increment_cases(draw: st.DrawFn) -> tuple[tuple[int, ...], Key, tuple[int, ...], bool]:
    """A case, the shape of ``y`` (a suffix of the target's with some dims 1), and whether
    ``y``'s static shape is known (static 1s are summed statically, unknown dims at run
    time)."""
    shape, key = draw(basic_cases() | advanced_cases())
    target = np.zeros(shape)[key].shape
    start = draw(st.integers(0, len(target)))
    y_shape = tuple(1 if draw(st.booleans()) else n for n in target[start:])
    return shape, key, y_shape, draw(st.booleans())


def written_positions_unique(shape: tuple[int, ...], key: Key) -> bool:
    positions = np.arange(int(np.prod(shape))).reshape(shape)[key].ravel()
    return len(np.unique(positions)) == positions.size


@given(increment_cases(), st.booleans(), st.lists(st.booleans(), max_size=6), st.integers(0, 99))
@settings()
def test_set_and_inc_subtensor_gradients(
    case: Any, set_value: bool, flags: list[bool], seed: int
) -> None:
    shape, key, y_shape, static_y = case
    x = T.tensor("float64", shape=(None,) * len(shape), name="x")
    y = T.tensor("float64", shape=y_shape if static_y else (None,) * len(y_shape), name="y")
    symbolic, index_inputs, index_values = symbolic_index(key, flags)
    func = T.set_subtensor if set_value else T.inc_subtensor
    out = func(x[symbolic], y)
    data, y_data = float_values(shape, seed), float_values(y_shape, seed + 1)
    inputs, values = [x, y, *index_inputs], [data, y_data, *index_values]
    if not set_value or written_positions_unique(shape, key):
        check_against_finite_differences(out, inputs, values, [0, 1], seed)
        return
    # Repeated writes: x's gradient is still exact; y's follows Theano (every write gets
    # the output gradient at its position, also those a later write overwrote).
    check_against_finite_differences(out, inputs, values, [0], seed)
    weight = float_values(shape, seed + 2)
    grad_out = T.tensor("float64", shape=(None,) * len(shape), name="g")
    term = op_grads(out, grad_out)[y]
    assert isinstance(term, Var)
    grad_y = jitgraph.function([*inputs, grad_out], term, on_unused_input="ignore")(*values, weight)
    np.testing.assert_allclose(grad_y, reduce_to(weight[key], y_data.shape), rtol=1e-12)


def test_set_with_repeated_index_follows_theano() -> None:
    x, y = T.dvector("x"), T.dvector("y")
    out = T.set_subtensor(x[[1, 1, 3]], y)
    grad_out = T.dvector("g")
    terms = op_grads(out, grad_out)
    f = jitgraph.function(
        [x, y, grad_out],
        [terms[x], terms[y]],
        on_unused_input="ignore",
    )
    grad_x, grad_y = f(np.zeros(4), np.zeros(3), np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(grad_x, [1.0, 0.0, 3.0, 0.0])  # written positions: zero
    np.testing.assert_array_equal(grad_y, [2.0, 2.0, 4.0])  # Theano: g[idx] for every write


def test_increment_broadcast_at_run_time_sums() -> None:
    """An increment of unknown size broadcasts when it is 1 at run time: the same
    compiled gradient sums in one case and not in the other."""
    x, y = T.dmatrix("x"), T.dvector("y")
    out = T.inc_subtensor(x[1:, ::-1], y)
    grad_out = T.dmatrix("g")
    term = op_grads(out, grad_out)[y]
    assert isinstance(term, Var) and isinstance(term.owner.op, SumTo)
    f = jitgraph.function([y, grad_out], term)
    weight = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(f(np.zeros(1), weight), [weight[1:].sum()])
    np.testing.assert_array_equal(f(np.zeros(3), weight), weight[1:, ::-1].sum(axis=0))
    same = T.tensor("float64", shape=(2, 4), name="same")  # static sizes: nothing to sum
    fixed = T.tensor("float64", shape=(3, 4), name="fixed")
    static = op_grads(T.inc_subtensor(fixed[1:], same), T.tensor("float64", shape=(3, 4)))[same]
    assert isinstance(static, Var) and static.type.shape == (2, 4)
    assert not isinstance(static.owner.op, SumTo)


def test_integer_increment_of_float_tensor() -> None:
    x, y = T.dvector("x"), T.lscalar("y")
    terms = op_grads(T.inc_subtensor(x[[0, 0]], y), T.dvector("g"))
    assert isinstance(terms[y], Var) and terms[y].type.ndim == 0


# ----------------------------------------------------------------------------- the driver
@given(increment_cases(), st.sampled_from(["get", "set", "inc"]), st.integers(0, 99))
@settings(max_examples=15)
def test_verify_grad_through_the_driver(case: Any, kind: str, seed: int) -> None:
    """The same cases through jitgraph.gradient (grad of a projected cost)."""
    shape, key, y_shape, _ = case
    rng = np.random.RandomState(seed)
    if kind == "get":
        verify_grad(lambda a: a[key], [float_values(shape, seed)], rng=rng)
        return
    if kind == "set" and not written_positions_unique(shape, key):
        kind = "inc"  # finite differences see only the last write of a repeated set
    func = T.set_subtensor if kind == "set" else T.inc_subtensor
    points = [float_values(shape, seed), float_values(y_shape, seed + 1)]
    verify_grad(lambda a, b: func(a[key], b), points, rng=rng)


def test_grad_of_repeated_indexing_through_the_driver() -> None:
    x = T.dvector("x")
    grad_x = grad(T.sum(x[[0, 0, 1]]) + T.sum(x[x > 2.0]), x)
    result = jitgraph.function([x], grad_x)(np.arange(5.0))
    np.testing.assert_array_equal(result, [2.0, 1.0, 0.0, 1.0, 1.0])


def test_hessian_through_indexing() -> None:
    """Second derivatives flow through x[idx] and set_subtensor (their gradient graphs
    are made of indexing ops, which have gradients themselves)."""
    x = T.dvector("x")
    cost = T.sum(x[[0, 0, 1]] ** 2) + T.sum(T.set_subtensor(x[1:], x[:-1] * x[1:]) ** 2)
    result = jitgraph.function([x], hessian(cost, x))(np.arange(4.0))
    # cost = 2 x0^2 + x1^2 + x0^2 + sum_{i>0} (x[i-1] x[i])^2, differentiated by hand:
    expected = [[8.0, 0, 0, 0], [0, 10.0, 8.0, 0], [0, 8.0, 20.0, 24.0], [0, 0, 24.0, 8.0]]
    np.testing.assert_allclose(result, expected)


# ----------------------------------------------------------------------------- disconnected
def test_integer_valued_ops_are_disconnected() -> None:
    x = T.dmatrix("x")
    node = Nonzero()(x).owner
    assert node.op.grad(node, [T.lmatrix()]) == [DISCONNECTED]
    shape_node = IndexedShape((("s", True, False, False), "a"), 2)(3, 4, 1, [0, 2]).owner
    assert shape_node.op.grad(shape_node, [T.lvector()]) == [DISCONNECTED] * 4
    i = T.lscalar("i")
    terms = op_grads(x[i, i:], T.dvector())
    assert [terms[v] for v in x[i, i:].owner.inputs[1:]] == [DISCONNECTED] * 2


# ----------------------------------------------------------------------------- second order
def transpose(out: Var, wrt: Var, grad_out: Var) -> Var:
    """d <out, grad_out> / d wrt by a minimal reverse walk over the nodes between ``wrt``
    and ``out`` (single-output ops), so gradients of gradients can be taken here without
    the full driver. The graphs here are linear in ``wrt``: the result is the transpose."""
    depends = {wrt}
    nodes = []
    for node in toposort([out], [wrt]):
        if depends.intersection(node.inputs):
            nodes.append(node)
            depends.update(node.outputs)
    grads: dict[Var, Var] = {out: grad_out}
    for node in reversed(nodes):
        terms = node.op.grad(node, [grads[node.outputs[0]]])
        for var, term in zip(node.inputs, terms, strict=True):
            if var in depends:
                assert isinstance(term, Var), (node.op, term)
                grads[var] = grads[var] + term if var in grads else term
    return grads[wrt]


def assert_adjoint(
    out: Var, wrt: Var, inputs: list[Var], values: list[np.ndarray], seed: int
) -> tuple[Var, Var]:
    """<out(v), w> == <v, transpose(w)> for random ``w``; returns the transpose graph
    and its input ``w``."""
    grad_out = T.tensor("float64", shape=out.type.shape, name=f"w{seed}")
    term = transpose(out, wrt, grad_out)
    forward = jitgraph.function(inputs, out, on_unused_input="ignore")(*values)
    weight = np.random.default_rng(seed).standard_normal(forward.shape)
    backward = jitgraph.function([*inputs, grad_out], term, on_unused_input="ignore")(
        *values, weight
    )
    position = next(k for k, v in enumerate(inputs) if v is wrt)
    assert backward.shape == values[position].shape
    np.testing.assert_allclose(np.sum(forward * weight), np.sum(values[position] * backward))
    return term, grad_out


def test_gradient_of_gradient_is_the_original_indexing() -> None:
    """x[idx] -> inc_subtensor(zeros, g, idx) -> g2[idx] -> ...: transposes of transposes."""
    x = T.tensor("float64", shape=(3, 4), name="x")  # zeros_like(x) needs no input then
    index = (np.array([0, 0, -1]), slice(None, None, -2))
    out = x[index]
    first, g1 = assert_adjoint(out, x, [x], [float_values((3, 4), 0)], 1)
    second, g2 = assert_adjoint(first, g1, [g1], [float_values((3, 2), 2)], 3)
    data = float_values((3, 4), 4)
    np.testing.assert_array_equal(jitgraph.function([g2], second)(data), data[index])
    assert_adjoint(second, g2, [g2], [data], 5)


@pytest.mark.parametrize("set_value", [False, True])
def test_gradients_of_increment_gradients(set_value: bool) -> None:
    x = T.tensor("float64", shape=(3, 4), name="x")
    y = T.tensor("float64", shape=(2, 2), name="y")
    func = T.set_subtensor if set_value else T.inc_subtensor
    out = func(x[1:, [1, -1]], y)
    values = [float_values((3, 4), 0), float_values((2, 2), 1)]
    for k, wrt in enumerate([x, y]):
        linear = [v if k == position else np.zeros_like(v) for position, v in enumerate(values)]
        grad, weight = assert_adjoint(out, wrt, [x, y], linear, 2 + k)  # affine: other input 0
        assert_adjoint(grad, weight, [weight], [float_values((3, 4), 9)], 7)


def test_set_subtensor_gradient_op_is_advanced_set() -> None:
    x, y = T.dvector("x"), T.dscalar("y")
    term = op_grads(T.set_subtensor(x[[0, 2]], y), T.dvector("g"))[x]
    assert isinstance(term, Var)
    op = term.owner.op
    assert isinstance(op, AdvancedIncSubtensor) and op.set_instead_of_inc
