"""Indexing ops against NumPy: basic and advanced indexing, set/inc_subtensor, take and
the nonzero family; static shapes, infer_shape, and the errors users see."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.ir.graph import Graph, Var
from jitgraph.ops.indexing import AdvancedSubtensor, IncSubtensor, Subtensor
from jitgraph.testing import inferred_shape

DTYPES = ["bool", "int8", "uint64", "float32", "complex128"]
INDEX_DTYPES = ["int8", "int32", "int64", "uint8", "uint64"]


# ----------------------------------------------------------------------------- helpers
def make_values(shape: tuple[int, ...], dtype: str, seed: int, strided: bool) -> np.ndarray:
    """Random values of ``dtype``; with ``strided``, a negative-stride view of a bigger array."""
    rng = np.random.default_rng(seed)
    full = tuple(2 * n for n in shape) if strided else shape
    if dtype == "bool":
        data = rng.integers(0, 2, full).astype(bool)
    elif dtype.startswith("uint"):
        data = rng.integers(0, 100, full).astype(dtype)
    elif dtype.startswith("int"):
        data = rng.integers(-100, 100, full).astype(dtype)
    elif dtype.startswith("complex"):
        data = (rng.standard_normal(full) + 1j * rng.standard_normal(full)).astype(dtype)
    else:
        data = rng.standard_normal(full).astype(dtype)
    if strided:
        data = data[tuple(slice(None, None, -2) for _ in shape)]
    data = np.asarray(data)  # 0-d results come back as NumPy scalars
    assert data.shape == shape
    return data


def symbolic_key(
    key: tuple[Any, ...], make_symbolic: list[bool]
) -> tuple[Any, list[Var], list[Any]]:
    """``key`` with some ints, slice bounds and arrays replaced by symbolic inputs.

    Returns the symbolic key, the new input variables and their values."""
    flags = iter(make_symbolic + [False] * 100)
    inputs: list[Var] = []
    values: list[Any] = []

    def convert(item: Any) -> Any:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool) and next(flags):
            var = T.tensor("uint8" if 0 <= item < 256 else "int64", shape=())
            inputs.append(var)
            values.append(np.asarray(item, dtype=var.type.dtype))
            return var
        if isinstance(item, np.ndarray) and next(flags):
            var = T.tensor(item.dtype, shape=(None,) * item.ndim)
            inputs.append(var)
            values.append(item)
            return var
        return item

    result = []
    for item in key:
        if isinstance(item, slice):
            result.append(slice(convert(item.start), convert(item.stop), convert(item.step)))
        else:
            result.append(convert(item))
    return tuple(result), inputs, values


def check_static_shape(out: Var, actual: tuple[int, ...]) -> None:
    assert out.type.ndim == len(actual)
    for static, size in zip(out.type.shape, actual, strict=True):
        assert static is None or static == size, (out.type, actual)


# ----------------------------------------------------------------------------- strategies
def slice_strategy() -> st.SearchStrategy[slice]:
    bound = st.none() | st.integers(-6, 6)
    step = st.none() | st.integers(-3, 3).filter(lambda s: s != 0)
    return st.builds(slice, bound, bound, step)


@st.composite
def basic_keys(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """ints (in range, negative too), slices, None and at most one Ellipsis."""
    items: list[Any] = []
    for size in shape:
        use_int = size > 0 and draw(st.booleans())
        items.append(draw(st.integers(-size, size - 1)) if use_int else draw(slice_strategy()))
    if draw(st.booleans()):  # an Ellipsis stands for axes first..last-1
        first = draw(st.integers(0, len(items)))
        last = draw(st.integers(first, len(items)))
        items = [*items[:first], Ellipsis, *items[last:]]
    else:
        items = items[: draw(st.integers(0, len(items)))]
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    return tuple(items)


@st.composite
def advanced_keys(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """Basic entries mixed with broadcasting integer arrays (repeats, negatives) or one mask."""
    block = tuple(draw(st.lists(st.integers(0, 3), max_size=2)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    items: list[Any] = []
    axis, used_mask, used_array = 0, False, False
    indexed = draw(st.integers(max(0, len(shape) - 1), len(shape)))
    while axis < indexed:
        size = shape[axis]
        choice = draw(st.sampled_from(["int", "slice", "slice", "array", "array", "mask"]))
        if choice == "mask" and not used_mask and not used_array:
            width = min(draw(st.integers(1, 2)), len(shape) - axis)
            mask_shape = shape[axis : axis + width]
            items.append(rng.integers(0, 2, mask_shape).astype(bool))
            used_mask, axis = True, axis + width
            continue
        if choice == "array" and not used_mask and (size > 0 or 0 in block):
            dims = tuple(1 if draw(st.booleans()) else n for n in block)
            dims = block if size == 0 else dims[draw(st.integers(0, len(block))) :]
            dtype = draw(st.sampled_from(INDEX_DTYPES))
            low = 0 if dtype.startswith("uint") else -size
            items.append(rng.integers(low, max(size, 1), dims).astype(dtype))
            used_array = True
        elif choice == "int" and size > 0:
            items.append(int(rng.integers(-size, size)))
        else:
            items.append(draw(slice_strategy()))
        axis += 1
    if not (used_mask or used_array):
        items.append(np.array([], dtype="int64") if axis < len(shape) else None)
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    return tuple(items)


@st.composite
def indexing_cases(draw: st.DrawFn, advanced: bool) -> tuple[np.ndarray, tuple[Any, ...], bool]:
    ndim = draw(st.integers(int(advanced), 3) | st.just(3) if advanced else st.integers(0, 3))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim)))
    dtype = draw(st.sampled_from(DTYPES))
    values = make_values(shape, dtype, draw(st.integers(0, 2**16)), draw(st.booleans()))
    key = draw(advanced_keys(shape) if advanced else basic_keys(shape))
    return values, key, draw(st.booleans())


def build(
    data: np.ndarray, key: tuple[Any, ...], static: bool, symbolic: list[bool]
) -> tuple[Var, Var, list[Var], list[Any]]:
    """x (static shape or not), x[key] with some entries symbolic, inputs and values."""
    x = T.tensor(data.dtype, shape=data.shape if static else (None,) * data.ndim, name="x")
    sym_key, extra, extra_values = symbolic_key(key, symbolic)
    return x, x[sym_key], [x, *extra], [data, *extra_values]


# ----------------------------------------------------------------------------- getitem
def check_getitem(
    data: np.ndarray, key: tuple[Any, ...], static: bool, symbolic: list[bool]
) -> None:
    expected = data[key]
    x, out, inputs, values = build(data, key, static, symbolic)
    result = jitgraph.function(inputs, out)(*values)
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result, expected)
    check_static_shape(out, expected.shape)
    assert inferred_shape(out, inputs, values) == expected.shape
    np.testing.assert_array_equal(values[0], data)


@given(indexing_cases(advanced=False), st.lists(st.booleans(), max_size=8))
@settings()
def test_basic_indexing_matches_numpy(case: Any, symbolic: list[bool]) -> None:
    data, key, static = case
    check_getitem(data, key, static, symbolic)
    x = T.tensor(data.dtype, shape=(None,) * data.ndim)
    assert isinstance(x[key].owner.op, Subtensor)


@given(indexing_cases(advanced=True), st.lists(st.booleans(), max_size=8))
@settings()
def test_advanced_indexing_matches_numpy(case: Any, symbolic: list[bool]) -> None:
    data, key, static = case
    check_getitem(data, key, static, symbolic)


@pytest.mark.parametrize(
    "key",
    [
        (slice(None), [0, 1], None, [0, 1]),  # a None separates advanced entries
        ([1, 0], slice(None), 1),  # an int counts as advanced: separated, goes first
        (slice(None), 1, [2, 0]),  # adjacent: stays in place
        (None, slice(None), 0, [1]),
        (Ellipsis, [[0], [2]], [1, 3]),
        (True,),
        (slice(None), False),
        ([],),
    ],
)
def test_numpy_placement_rules(key: tuple[Any, ...]) -> None:
    data = np.arange(60.0).reshape(3, 4, 5)
    check_getitem(data, key, static=False, symbolic=[])
    check_getitem(data, key, static=True, symbolic=[])


@given(
    st.lists(st.integers(1, 4), min_size=4, max_size=4),
    st.lists(st.integers(0, 3), max_size=2),
    slice_strategy(),
    st.sampled_from(["array", "int", "mask"]),
    st.booleans(),
    st.integers(0, 2**16),
)
@settings()
def test_separated_advanced_entries_go_first(
    shape: list[int], block: list[int], middle: slice, last: str, newaxis: bool, seed: int
) -> None:
    """x[:, a, <slice or None>, b]: the advanced dims go first (NumPy's rule)."""
    rng = np.random.default_rng(seed)
    data = make_values(tuple(shape), "int8", seed, strided=False)
    first = rng.integers(-shape[1], shape[1], block)
    last_entries = {
        "array": rng.integers(0, shape[3], block),
        "int": -1,
        "mask": rng.random(shape[3]) > 0.5,
    }
    if last == "mask":
        first = rng.integers(-shape[1], shape[1], ())  # a mask's count broadcasts with a 0-d array
    key = (slice(None), first, *([None] if newaxis else []), middle, last_entries[last])
    check_getitem(data, key, static=bool(seed % 2), symbolic=[bool(seed % 3)] * 4)


def test_symbolic_bounds_of_every_integer_dtype() -> None:
    data = np.arange(10.0)
    x = T.dvector("x")
    for dtype in ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]:
        i = T.tensor(dtype, shape=(), name="i")
        f = jitgraph.function([x, i], [x[i], x[i:], x[:-1:i], x[i::-2]])
        results = f(data, 3)
        for r, e in zip(results, [data[3], data[3:], data[:-1:3], data[3::-2]], strict=True):
            np.testing.assert_array_equal(r, e)
    i = T.iscalar("i")
    f = jitgraph.function([x, i], [x[: x.shape[0] - i : 2], x[x.shape[0] - 1 - i]])
    np.testing.assert_array_equal(f(data, 3)[0], data[:7:2])
    assert f(data, 3)[1] == data[6]
    with pytest.raises(TypeError, match="slice bounds.*float64"):
        x[: x.shape[0] - T.scalar("u", dtype="uint64")]  # int64 - uint64 is float64


def test_mask_from_the_graph() -> None:
    x = T.dmatrix("x")
    data = np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, 0.0]])
    out = x[x > 0]
    assert out.type.shape == (None,)
    np.testing.assert_array_equal(jitgraph.function([x], out)(data), data[data > 0])
    assert inferred_shape(out, [x], [data]) == (3,)
    row_mask = T.bvector("m") > 0
    out = x[row_mask, 1:]
    assert jitgraph.function([x, row_mask.owner.inputs[0]], out)(data, [1, 0]).tolist() == [
        [-2.0, 3.0]
    ]


def test_static_shapes() -> None:
    x = T.tensor("float64", shape=(5, None, 3))
    assert x[1:4].type.shape == (3, None, 3)
    assert x[::-2, 0].type.shape == (3, 3)
    assert x[None, ..., None].type.shape == (1, 5, None, 3, 1)
    assert x[[0, 1, 1]].type.shape == (3, None, 3)
    assert x[:, :, np.array([[True, False, True]]).T[:, 0]].type.shape == (5, None, 2)
    assert x[np.ones((5, 2), bool)].type.shape == (10, 3)  # a constant mask is counted
    assert x[T.tensor("bool", shape=(5, None))].type.shape == (None, 3)
    i = T.lscalar("i")
    assert x[i:].type.shape == (None, None, 3)
    assert x[:].type.shape == (5, None, 3)
    row = T.drow("r")
    assert row[:, 1:].type.broadcastable == (True, False)


def test_op_identity_is_structural() -> None:
    x = T.dmatrix("x")
    assert x[1:, [0, 2]] is x[1:, [0, 2]]
    assert x[1:, [0, 2]] is not x[1:, [0, 3]]
    assert x[np.int32(1)] is x[1]
    g1, g2 = Graph([x], [x[[0, 1]]]), Graph([x], [x[np.array([0, 1])]])
    assert g1.hash == g2.hash
    op = x[[0, 1], 1:].owner.op
    assert isinstance(op, AdvancedSubtensor)
    hash(op)
    assert "array" in str(op)


# ----------------------------------------------------------------------------- set / inc
@st.composite
def increment_cases(draw: st.DrawFn) -> tuple[np.ndarray, tuple[Any, ...], np.ndarray, bool]:
    data, key, static = draw(indexing_cases(advanced=draw(st.booleans())))
    target = data[key].shape
    start = draw(st.integers(0, len(target)))
    shape = tuple(1 if draw(st.booleans()) else n for n in target[start:])
    y = make_values(shape, str(data.dtype), draw(st.integers(0, 2**16)), strided=False)
    return data, key, y, static


@given(increment_cases(), st.booleans(), st.lists(st.booleans(), max_size=8))
@settings()
def test_set_and_inc_subtensor_match_numpy(
    case: Any, set_value: bool, symbolic: list[bool]
) -> None:
    data, key, y, static = case
    original = data.copy()
    expected = data.copy()
    if set_value:
        expected[key] = y
    else:
        np.add.at(expected, key, y)
    x, indexed, inputs, values = build(data, key, static, symbolic)
    yvar = T.tensor(y.dtype, shape=(None,) * y.ndim, name="y")
    func = T.set_subtensor if set_value else T.inc_subtensor
    out = func(indexed, yvar)
    assert out.type == x.type
    result = jitgraph.function([*inputs, yvar], out)(*values, y)
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(data, original)  # the input is never modified
    assert inferred_shape(out, [*inputs, yvar], [*values, y]) == data.shape


def test_inc_subtensor_accumulates_repeated_indices() -> None:
    x = T.lvector("x")
    i = T.lvector("i")
    data = np.zeros(4, dtype="int64")
    f = jitgraph.function([x, i], [T.inc_subtensor(x[i], 1), T.set_subtensor(x[i], 7)])
    inc, assigned = f(data, [1, 1, -3, 3])
    assert inc.tolist() == [0, 3, 0, 1]
    assert assigned.tolist() == [0, 7, 0, 7]
    assert data.tolist() == [0, 0, 0, 0]


def test_perform_never_writes_its_input() -> None:
    data = np.arange(6.0).reshape(2, 3)
    data.setflags(write=False)
    x = T.dmatrix("x")
    for out in [T.inc_subtensor(x[0], 1.0), T.set_subtensor(x[:, [0, 0]], 2.0)]:
        node = out.owner
        args = [data, *[np.asarray(getattr(v, "data", 1.0)) for v in node.inputs[1:]]]
        (result,) = node.op.perform(node, args)
        assert not np.shares_memory(result, data)
    assert isinstance(T.inc_subtensor(x[0], 1.0).owner.op, IncSubtensor)


def test_increment_dtypes() -> None:
    x = T.fvector("x")
    assert T.inc_subtensor(x[0], T.bscalar()).dtype == "float32"  # safe upcast of y
    assert T.set_subtensor(x[0], 0.1).dtype == "float32"  # Python literals are weak
    with pytest.raises(TypeError, match="float64.*downcast.*T.cast"):
        T.inc_subtensor(x[1:], T.dvector("y"))
    with pytest.raises(TypeError, match="int8"):
        T.set_subtensor(T.bvector("b")[0], 300)
    b = T.bvector("b")
    assert T.set_subtensor(b[1:], 3).eval({b: np.zeros(3, "int8")}).tolist() == [0, 3, 3]


def test_increment_shape_errors() -> None:
    x = T.dmatrix("x")
    with pytest.raises(ValueError, match="1-d subtensor.*2-d"):
        T.inc_subtensor(x[0], T.dmatrix("y"))
    fixed = T.tensor("float64", shape=(4, 3), name="fixed")
    with pytest.raises(ValueError, match="does not broadcast"):
        T.set_subtensor(fixed[:, 1:], T.tensor("float64", shape=(3,)))
    y = T.dvector("y")
    f = jitgraph.function([x, y], T.set_subtensor(x[1:], y))
    with pytest.raises(ValueError, match=r"shape \(1, 3\).*shape \(2,\)"):
        f(np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(TypeError, match="result of indexing"):
        T.inc_subtensor(x, 1.0)


# ----------------------------------------------------------------------------- errors
def test_out_of_bounds_at_run_time() -> None:
    x = T.dmatrix("x")
    i = T.lscalar("i")
    f = jitgraph.function([x, i], x[0, i])
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 1 with size 3"):
        f(np.zeros((2, 3)), 3)
    with pytest.raises(IndexError, match="index -4 is out of bounds for axis 1 with size 3"):
        f(np.zeros((2, 3)), -4)
    v = T.lvector("v")
    g = jitgraph.function([x, v], [x[:, v], T.inc_subtensor(x[v], 1.0)])
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 1 with size 3"):
        g(np.zeros((5, 3)), [0, 5])
    m = T.tensor("bool", shape=(None,), name="m")
    h = jitgraph.function([x, m], x[m])
    with pytest.raises(IndexError, match="boolean index did not match.*axis 0.*size of axis is 2"):
        h(np.zeros((2, 3)), [True])


def test_errors_at_build_time() -> None:
    x = T.tensor("float64", shape=(2, 3), name="x")
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 1 with size 3.*'x'"):
        x[0, 3]
    with pytest.raises(IndexError, match="index -3 is out of bounds for axis 0 with size 2"):
        x[[0, -3]]
    with pytest.raises(IndexError, match="boolean index did not match"):
        x[np.ones(3, bool)]
    with pytest.raises(IndexError, match="too many indices.*2-d"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., ...]
    with pytest.raises(ValueError, match="step cannot be zero"):
        x[::0]
    with pytest.raises(IndexError, match="could not be broadcast"):
        x[[0, 1], [0, 1, 2]]


def test_non_integer_indices_are_type_errors() -> None:
    x = T.dvector("x")
    with pytest.raises(TypeError, match="index 0 of 'x'.*integer or boolean.*'f'.*float64"):
        x[T.dscalar("f")]
    with pytest.raises(TypeError, match="integer or boolean"):
        x[1.5]
    with pytest.raises(TypeError, match="slice bounds.*'k'"):
        x[: T.fscalar("k")]
    with pytest.raises(TypeError, match="slice bounds"):
        x[0.5:]
    with pytest.raises(TypeError, match="integer or boolean"):
        x[T.fvector("fv")]
    with pytest.raises(TypeError, match="not a valid index"):
        x["a"]


def test_zero_step_at_run_time() -> None:
    x = T.dvector("x")
    s = T.lscalar("s")
    with pytest.raises(ValueError, match="step cannot be zero"):
        jitgraph.function([x, s], x[::s])(np.zeros(3), 0)


# ----------------------------------------------------------------------------- take, nonzero
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("indices", [[2, -1, 0, 0], 1, [[0], [1]], []])
def test_take_matches_numpy(axis: int, indices: Any) -> None:
    data = np.arange(12).reshape(3, 4).astype("int8")
    a = T.bmatrix("a")
    np.testing.assert_array_equal(
        jitgraph.function([a], T.take(a, indices, axis=axis))(data),
        np.take(data, indices, axis=axis),
    )


def test_take_flat_and_errors() -> None:
    v = T.dvector("v")
    i = T.lmatrix("i")
    data, idx = np.arange(5.0), np.array([[0, -1], [4, 2]])
    np.testing.assert_array_equal(
        jitgraph.function([v, i], T.take(v, i))(data, idx), np.take(data, idx)
    )
    if hasattr(T, "flatten"):
        m = T.dmatrix("m")
        matrix = np.arange(6.0).reshape(2, 3)
        result = jitgraph.function([m, i], T.take(m, i))(matrix, idx)
        np.testing.assert_array_equal(result, np.take(matrix, idx))
    with pytest.raises(ValueError, match="axis=2.*1-d"):
        T.take(v, [0], axis=2)
    with pytest.raises(TypeError, match="integer indices"):
        T.take(v, [0.5])
    with pytest.raises(IndexError, match="out of bounds for axis 0 with size 5"):
        jitgraph.function([v, i], T.take(v, i))(data, idx + 3)


@given(
    st.lists(st.integers(0, 4), min_size=1, max_size=3),
    st.sampled_from(DTYPES),
    st.integers(0, 2**16),
    st.booleans(),
)
@settings()
def test_nonzero_family_matches_numpy(
    shape: list[int], dtype: str, seed: int, strided: bool
) -> None:
    data = make_values(tuple(shape), dtype, seed, strided)
    if data.size:
        data.flat[:: max(1, data.size // 3)] = 0
    a = T.tensor(dtype, shape=(None,) * data.ndim, name="a")
    outs = [*T.nonzero(a), T.nonzero(a, return_matrix=True), T.flatnonzero(a), T.nonzero_values(a)]
    results = jitgraph.function([a], outs)(data)
    expected = [*np.nonzero(data), np.array(np.nonzero(data)).reshape(data.ndim, -1)]
    expected += [np.flatnonzero(data), data[data != 0]]
    for out, r, e in zip(outs, results, expected, strict=True):
        assert r.dtype == e.dtype or (r.dtype == "int64" and e.dtype.kind == "i")
        np.testing.assert_array_equal(r, e)
        assert inferred_shape(out, [a], [data]) == e.shape


def test_nonzero_of_a_scalar_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least 1 dim"):
        T.nonzero(T.dscalar("s"))
    with pytest.raises(ValueError, match="at least 1 dim"):
        T.nonzero_values(T.dscalar("s"))
    s = T.dscalar("s")
    assert jitgraph.function([s], T.flatnonzero(s))(2.0).tolist() == [0]


def test_variable_methods() -> None:
    x = T.dmatrix("x")
    data = np.array([[0.0, 1.0], [2.0, 0.0]])
    rows, cols = x.nonzero()
    result = jitgraph.function([x], [rows, cols])(data)
    np.testing.assert_array_equal(result[0], np.nonzero(data)[0])
    np.testing.assert_array_equal(result[1], np.nonzero(data)[1])


def test_inc_subtensor_accumulates_repeats_when_y_broadcasts() -> None:
    # Regression: NumPy's add.at drops repeats when it broadcasts y itself.
    x, y = T.dvector("x"), T.dvector("y")
    index = np.array([[0, 0, 0], [-1, -1, -1]])
    f = jitgraph.function([x, y], T.inc_subtensor(x[index], y))
    expected = np.zeros(1)
    np.add.at(expected, (index,), np.broadcast_to([1.0, 2.0, 3.0], (2, 3)))
    np.testing.assert_array_equal(f(np.zeros(1), np.array([1.0, 2.0, 3.0])), expected)
    assert expected[0] == 12.0
