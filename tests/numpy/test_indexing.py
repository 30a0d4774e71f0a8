"""Indexing of jitgraph.numpy arrays against NumPy: x[key], x[key] = value, take,
take_along_axis, nonzero, where, select and friends, eager (concrete), lazy and traced."""

from __future__ import annotations

import warnings
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jitgraph.numpy as jnp
from jitgraph.jit import jit
from jitgraph.numpy import _core

SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)


def concrete(x: Any) -> _core.ndarray:
    return _core.wrap_value(np.array(x, copy=True))


def lazy(x: Any) -> _core.ndarray:
    """A pending (not yet computed) array holding ``x``."""
    v = concrete(x)
    name = "logical_not" if v.dtype == bool else "negative"
    out = _core.elementwise(name, _core.elementwise(name, v))
    assert out._value is None
    return out


def check(got: Any, expected: Any) -> None:
    value = np.asarray(got)
    expected = np.asarray(expected)
    assert value.dtype == expected.dtype, (value.dtype, expected.dtype)
    assert value.shape == expected.shape, (value.shape, expected.shape)
    np.testing.assert_array_equal(value, expected)


def both(x: np.ndarray) -> list[_core.ndarray]:
    return [concrete(x), lazy(x)]


def numpy_error(fn: Any) -> BaseException:
    with pytest.raises((IndexError, ValueError, TypeError, OverflowError)) as info:
        fn()
    return info.value


# ----------------------------------------------------------------------------- strategies
@st.composite
def arrays_and_basic_keys(draw: Any) -> tuple[np.ndarray, Any]:
    shape = draw(SHAPES)
    x = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    if len(shape) == 0:
        key = draw(st.sampled_from([(), Ellipsis, None, (None, Ellipsis)]))
    elif len(shape) == 1:
        ints = st.integers(-shape[0], shape[0] - 1) if shape[0] else st.nothing()
        key = draw(st.slices(shape[0]) | ints)
    else:
        key = draw(hnp.basic_indices(shape, allow_newaxis=True))
    return x, key


def _int_array(draw: Any, size: int, shape: tuple[int, ...]) -> np.ndarray:
    if size == 0:
        return np.zeros((0,) * min(len(shape), 1), dtype=np.int64)
    values = draw(hnp.arrays(np.int64, shape, elements=st.integers(-size, size - 1)))
    return values


@st.composite
def arrays_and_advanced_keys(draw: Any) -> tuple[np.ndarray, Any]:
    """Mixed keys: per axis an int, a slice, an integer array (broadcastable shapes), a
    list or a mask, with None and one Ellipsis in between."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    x = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    index_shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=3))
    key: list[Any] = []
    axis = 0
    ellipsis_at = draw(st.integers(-1, len(shape)))
    mask_used = False
    while axis < len(shape):
        if axis == ellipsis_at:
            key.append(Ellipsis)
            break
        if draw(st.booleans()) and len(key) < 6:
            key.append(None)
        kind = draw(st.sampled_from(["int", "slice", "array", "list", "mask"]))
        size = shape[axis]
        if kind == "int":
            key.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            key.append(draw(st.slices(size)))
        elif kind == "array":
            sub = index_shape[draw(st.integers(0, len(index_shape) - 1)) :]
            key.append(_int_array(draw, size, sub))
        elif kind == "list":
            key.append(_int_array(draw, size, index_shape[-1:]).tolist())
        elif not mask_used:
            mask_used = True  # one mask, its count broadcasting with nothing else
            key = [slice(None) if isinstance(k, (np.ndarray, list)) else k for k in key]
            key.append(draw(hnp.arrays(np.bool_, (size,))))
        else:
            key.append(slice(None))
        axis += 1
    if mask_used and sum(isinstance(k, (np.ndarray, list)) for k in key) > 1:
        key = [
            slice(None)
            if isinstance(k, (np.ndarray, list)) and getattr(k, "dtype", None) != np.bool_
            else k
            for k in key
        ]
    return x, tuple(key)


# ----------------------------------------------------------------------------- getitem
@given(arrays_and_basic_keys())
def test_basic_indexing_matches_numpy(case: tuple[np.ndarray, Any]) -> None:
    x, key = case
    for a in both(x):
        check(a[key], x[key])


@given(arrays_and_advanced_keys())
def test_mixed_advanced_and_basic_indexing_matches_numpy(case: tuple[np.ndarray, Any]) -> None:
    x, key = case
    expected = x[key]
    for a in both(x):
        check(a[key], expected)


@pytest.mark.parametrize(
    "shape, key",
    [
        ((), ()),
        ((), Ellipsis),
        ((), None),
        ((), True),
        ((), False),
        ((), (None, Ellipsis, None)),
        ((0,), slice(None)),
        ((0, 3), (Ellipsis, 1)),
        ((3, 0), [2, 0]),
        ((3,), []),
        ((2, 3, 4), True),
        ((2, 3, 4), ([1, 0], True)),
        ((2, 3, 4), ([1, 0], slice(None), [2, 3])),  # separated: advanced dims go first
        ((2, 3, 4), (slice(None), [[0], [2]], [1, -1])),  # adjacent: stay in place
        ((2, 3, 4), (1, slice(None), [3, 2])),  # an int counts as advanced here
        ((2, 3, 4), ([[0], [1]], slice(None), [[0, 1, 2]])),
        ((2, 3, 4), (np.array(1), slice(1, None))),  # 0-d integer array
        ((2, 3, 4), (slice(None, None, -1), Ellipsis, slice(10, -10, -3))),
        ((2, 3, 4), (np.arange(24).reshape(2, 3, 4) % 3 == 0)),
        ((2, 3, 4), (slice(None), np.array([True, False, True]))),
        ((2, 3, 4), (np.ones((2, 3), bool), [0, 0, 1, 1, 2, 3])),
        ((2, 3, 4), (np.uint8(1), np.int32(-1))),
        ((2, 3, 4), ((0, 1),)),  # a tuple inside the key is an index array
        ((2, 3), (np.array([1, 0], dtype=np.uint16), None)),
    ],
)
def test_index_kinds_match_numpy(shape: tuple[int, ...], key: Any) -> None:
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    expected = x[key]
    for a in both(x):
        check(a[key], expected)


def test_jnp_arrays_as_indices() -> None:
    x = np.arange(12).reshape(3, 4)
    for a in both(x):
        check(a[concrete([2, 0])], x[[2, 0]])
        check(a[lazy(np.array([2, -1]))], x[[2, -1]])
        check(a[lazy(x > 4)], x[x > 4])
        check(a[concrete(np.int64(1)), lazy(np.array([0, 3]))], x[1, [0, 3]])
        check(a[concrete(1) : concrete(3)], x[1:3])


@pytest.mark.parametrize(
    "shape, key",
    [
        ((3,), 3),
        ((3,), -4),
        ((2, 3), (0, 3)),
        ((2, 3), (slice(None), [0, 3])),
        ((2, 3), [[-3]]),
        ((3, 0), [5]),
        ((2, 3), (0, 0, 0)),
        ((), 0),
        ((2, 3), 1.5),
        ((2, 3), np.array([1.0])),
        ((2, 3), "a"),
        ((2, 3), (Ellipsis, Ellipsis)),
        ((2, 3), ([0, 1], [0, 1, 2])),
        ((2, 3), np.array([True, False, True])),
        ((2, 3), (slice(None), np.array([True, False]))),
        ((2, 3), (slice(None, None, 0),)),
        ((2, 3), slice(1.5, None)),
        ((2, 3), [[0, 1], [1]]),
    ],
)
def test_index_errors_match_numpy(shape: tuple[int, ...], key: Any) -> None:
    x = np.zeros(shape)
    error = numpy_error(lambda: x[key])
    for a in both(x):
        with pytest.raises(type(error)) as info:
            a[key]
        assert str(info.value) == str(error)


def test_out_of_bounds_errors_name_index_and_axis() -> None:
    a = lazy(np.zeros((2, 3)))
    with pytest.raises(IndexError, match="index 7 is out of bounds for axis 1 with size 3"):
        a[:, concrete([0, 7])]


def test_basic_indexing_gives_views_and_writes_to_views_raise() -> None:
    for make in (concrete, lazy):
        x = make(np.arange(6.0))
        view = x[1:4]
        with pytest.raises(ValueError, match="view of another"):
            view[0] = 10.0
        with pytest.raises(ValueError, match="views of this array exist"):
            x[0] = 10.0
        copy = make(np.arange(6.0))[[1, 2]]  # advanced indexing copies
        copy[0] = 10.0
        check(copy, [10.0, 2.0])


def test_zero_d_ellipsis_is_a_view_and_empty_tuple_a_value() -> None:
    x = concrete(np.float64(3.0))
    assert x[...]._base is x
    assert x[()]._base is None
    check(x[()], np.float64(3.0))


# ----------------------------------------------------------------------------- setitem
@st.composite
def assignments(draw: Any) -> tuple[np.ndarray, Any, Any]:
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    dtype = draw(st.sampled_from([np.int8, np.int64, np.float32, np.float64, np.bool_]))
    x = np.arange(int(np.prod(shape))).reshape(shape).astype(dtype)
    key = draw(
        hnp.basic_indices(shape)
        | hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(max_dims=2))
        | hnp.arrays(np.bool_, shape).map(lambda m: (m,))
    )
    target = x[key].shape
    value_shape = draw(
        hnp.broadcastable_shapes(target, max_dims=len(target), min_side=0).filter(
            lambda s: np.broadcast_shapes(s, target) == target
        )
    )
    value_dtype = draw(st.sampled_from([np.int8, np.int64, np.float64, np.bool_]))
    value = draw(
        hnp.arrays(
            value_dtype,
            value_shape,
            elements={"min_value": -100, "max_value": 100} if value_dtype != np.bool_ else None,
        )
    )
    if draw(st.booleans()) and value.ndim == 0:
        value = value.item()  # a Python scalar
    return x, key, value


@given(assignments())
def test_assignment_matches_numpy(case: tuple[np.ndarray, Any, Any]) -> None:
    x, key, value = case
    expected = x.copy()
    expected[key] = value
    for a in both(x):
        a[key] = value
        check(a, expected)
    a = lazy(x)
    a[key] = lazy(np.asarray(value))  # a lazy value is cast in the graph
    check(a, expected)


@pytest.mark.parametrize(
    "dtype, key, value",
    [
        (np.int8, 0, 2.7),
        (np.int8, slice(None), np.array([1000, 2, 3, 4])),
        (np.int8, 0, 300),
        (np.uint8, 1, -1),
        (np.int64, 0, np.float64("nan")),
        (np.int64, 0, float("inf")),
        (np.float64, 0, 1 + 2j),
        (np.float64, slice(None), [1.0, 2.0]),
        (np.float64, [0, 1], [1.0, 2.0, 3.0]),
        (np.float64, 0, np.ones(2)),
        (np.float64, slice(None), np.ones((1, 4))),
        (np.float64, slice(None), np.ones((2, 4))),
        (np.float64, np.array([True, False, True, False]), [5.0, 6.0, 7.0]),
        (np.bool_, slice(None), np.array([5, 0, -2, 0])),
        (np.int64, [0, 0, 0], [1, 2, 3]),  # repeated indices: the last write wins
        (np.float64, (Ellipsis, None), np.arange(4.0)[:, None]),
    ],
)
def test_assignment_casting_and_errors_match_numpy(dtype: Any, key: Any, value: Any) -> None:
    x = np.arange(4).astype(dtype)
    expected = x.copy()
    try:
        expected[key] = value
        error = None
    except (ValueError, TypeError, OverflowError, IndexError) as exc:
        error = exc
    for a in both(x):
        if error is None:
            a[key] = value
            check(a, expected)
        else:
            with pytest.raises(type(error)):
                a[key] = value


def test_complex_into_real_warns_as_numpy() -> None:
    for make in (concrete, lazy):
        a = make(np.zeros(2))
        with pytest.warns(np.exceptions.ComplexWarning):
            a[0] = np.complex128(1 + 2j)
        check(a, [1.0, 0.0])
        with pytest.warns(np.exceptions.ComplexWarning):
            a[:] = lazy(np.array([3 + 1j, 4j]))
        check(a, [3.0, 0.0])
        with pytest.raises(TypeError):
            a[0] = 1 + 2j  # NumPy raises for a Python complex


def test_assignment_keeps_other_arrays_unchanged() -> None:
    source = np.arange(4.0)
    a = concrete(source)
    b = a + 0.0
    a[1] = -1.0
    check(b, source)
    assert source[1] == 1.0


# ----------------------------------------------------------------------------- @jit
def test_traced_indices_under_jit() -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    check(jit(lambda a, i: a[i])(x, 1), x[1])
    check(jit(lambda a, i: a[:, i])(x, np.array([0, -1, 2])), x[:, [0, -1, 2]])
    check(jit(lambda a, i: a[1, i:])(x, np.int64(1)), x[1, 1:])
    check(jit(lambda a, i: a[i, :, [0, 0]])(x, 1), x[1, :, [0, 0]])
    check(jit(lambda a: a[::-1, None, 1])(x), x[::-1, None, 1])
    check(jit(lambda a: a[[1, 0], ..., [3, 1]])(x), x[[1, 0], ..., [3, 1]])
    check(
        jit(lambda a, i, v: jnp.setitem(a, (i, slice(None), [0, 0]), v))(x, 1, 5.0),
        _set(x, (1, slice(None), [0, 0]), 5.0),
    )


def _set(x: np.ndarray, key: Any, value: Any) -> np.ndarray:
    out = x.copy()
    out[key] = value
    return out


def test_traced_index_out_of_bounds_raises_when_run() -> None:
    f = jit(lambda a, i: a[:, i])
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 1 with size 3"):
        f(np.zeros((2, 3)), np.array([0, 5]))


def test_traced_boolean_mask_raises_tracer_error() -> None:
    with pytest.raises(jnp.TracerError, match="boolean mask"):
        jit(lambda a: a[a > 1.0])(np.arange(3.0))
    with pytest.raises(jnp.TracerError):
        jit(lambda a: jnp.nonzero(a))(np.arange(3.0))
    with pytest.raises(IndexError, match="must be of integer"):
        jit(lambda a, i: a[i])(np.arange(3.0), np.array([0.5]))


# ----------------------------------------------------------------------------- functions
@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)),
    st.data(),
)
def test_take_matches_numpy(x: np.ndarray, data: Any) -> None:
    axis = data.draw(st.none() | st.integers(-x.ndim, x.ndim - 1))
    size = x.size if axis is None else x.shape[axis]
    indices = data.draw(
        hnp.arrays(
            np.int64,
            hnp.array_shapes(min_dims=0, max_dims=2),
            elements=st.integers(-size, size - 1),
        )
    )
    for a in both(x):
        check(jnp.take(a, indices, axis=axis), np.take(x, indices, axis=axis))
    wild = indices * 3 + 7
    for mode in ("wrap", "clip"):
        check(jnp.take(x, wild, axis=axis, mode=mode), np.take(x, wild, axis=axis, mode=mode))


def test_take_errors_match_numpy() -> None:
    x = np.ones((2, 3))
    for axis, indices in [(1, [5]), (None, [6]), (2, [0])]:
        error = numpy_error(lambda: np.take(x, indices, axis=axis))  # noqa: B023
        with pytest.raises(type(error), match=str(error)):
            jnp.take(concrete(x), indices, axis=axis)
    assert jnp.take(concrete(x), 1, axis=1)._base is None  # take copies


@given(
    hnp.arrays(np.int32, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)),
    st.data(),
)
def test_take_along_axis_matches_numpy(x: np.ndarray, data: Any) -> None:
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    shape = list(x.shape)
    shape[axis] = data.draw(st.integers(0, 5))
    shape = [
        d if data.draw(st.booleans()) or i == axis % x.ndim else 1 for i, d in enumerate(shape)
    ]
    size = x.shape[axis]
    indices = data.draw(hnp.arrays(np.int64, tuple(shape), elements=st.integers(-size, size - 1)))
    for a in both(x):
        check(jnp.take_along_axis(a, indices, axis=axis), np.take_along_axis(x, indices, axis))
    flat = indices.reshape(-1) % x.size
    check(jnp.take_along_axis(x, flat, axis=None), np.take_along_axis(x, flat, None))


def test_take_along_axis_errors_and_traced() -> None:
    x = np.arange(6.0).reshape(2, 3)
    bad = [np.zeros(2, int), np.zeros((1, 2)), np.zeros((1, 2), int) + 3]
    for indices in bad:
        error = numpy_error(lambda: np.take_along_axis(x, indices, 1))  # noqa: B023
        with pytest.raises(type(error)):
            jnp.take_along_axis(concrete(x), indices, axis=1)
    idx = np.array([[2, 0], [1, 1]])
    f = jit(lambda a, i: jnp.take_along_axis(a, i, axis=1))
    check(f(x, idx), np.take_along_axis(x, idx, 1))


@given(hnp.arrays(np.int8, SHAPES, elements=st.integers(-1, 1)))
def test_nonzero_family_matches_numpy(x: np.ndarray) -> None:
    for a in both(x):
        if x.ndim:
            got = jnp.nonzero(a)
            expected = np.nonzero(x)
            assert len(got) == len(expected)
            for g, e in zip(got, expected, strict=True):
                check(g, e.astype(np.int64))
            for g, e in zip(jnp.where(a), expected, strict=True):
                check(g, e.astype(np.int64))
        check(jnp.flatnonzero(a), np.flatnonzero(x).astype(np.int64))
        check(jnp.argwhere(a), np.argwhere(x).astype(np.int64))
        if x.ndim:
            check(jnp.extract(a > 0, a), np.extract(x > 0, x))
            check(
                jnp.compress(x.reshape(-1)[: x.shape[0]] > 0, a, axis=0),
                np.compress(x.reshape(-1)[: x.shape[0]] > 0, x, axis=0),
            )
    if x.ndim == 0:
        with pytest.raises(ValueError, match="0d"):
            jnp.nonzero(concrete(x))


@pytest.mark.parametrize(
    "x, y",
    [
        (np.float32(1), 2.5),
        (np.ones(3, np.float32), 2.5),
        (np.ones(3, np.int8), 1000),
        (1, 2),
        (True, 2.0),
        (np.ones(3, np.uint8), np.ones(3, np.int8)),
        (np.ones((2, 1), np.complex64), np.arange(3.0)),
        (np.array([1, 2, 3], np.int16), np.float16(0.5)),
    ],
)
def test_where_promotes_as_numpy(x: Any, y: Any) -> None:
    condition = np.array([True, False, True])
    try:
        expected = np.where(condition, x, y)
        error = None
    except (OverflowError, TypeError) as exc:
        error = exc
    for c in (condition, concrete(condition), lazy(condition)):
        if error is None:
            check(jnp.where(c, x, y), expected)
        else:
            with pytest.raises(type(error)):
                jnp.where(c, x, y)
    check(jnp.where(np.array([0, 2, 0.5]), x, y), np.where([0, 2, 0.5], x, y))


def test_where_argument_errors_and_traced() -> None:
    with pytest.raises(ValueError, match="either both or neither"):
        jnp.where([True], [1])
    f = jit(lambda c, a: jnp.where(c, a, 0.0))
    check(f(np.array([True, False]), np.ones(2, np.float32)), np.array([1.0, 0.0], np.float32))


def test_select_matches_numpy() -> None:
    x = np.arange(6)
    conds = [x < 2, x > 3]
    for choices, default in [([x, x * 10], 0), ([x, 1.5], -1), ([np.float32(2), x], 0)]:
        expected = np.select(conds, choices, default)
        check(jnp.select([lazy(c) for c in conds], choices, default), expected)
    for conds_, choices_ in [([], []), ([x < 2], [x, x]), ([x], [x])]:
        error = numpy_error(lambda: np.select(conds_, choices_))  # noqa: B023
        with pytest.raises(type(error), match=str(error)):
            jnp.select(conds_, choices_)


def test_ix_and_indices_match_numpy() -> None:
    x = np.arange(20).reshape(4, 5)
    mesh = jnp.ix_([2, 0], np.array([True, False, True, False, True]))
    expected = np.ix_([2, 0], np.array([True, False, True, False, True]))
    for g, e in zip(mesh, expected, strict=True):
        check(g, e.astype(np.int64))
    check(concrete(x)[mesh], x[expected])
    with pytest.raises(ValueError, match="Cross index must be 1 dimensional"):
        jnp.ix_([[1]])
    check(jnp.indices((2, 3)), np.indices((2, 3)))
    for g, e in zip(jnp.indices((2, 3), sparse=True), np.indices((2, 3), sparse=True), strict=True):
        check(g, e)


def test_compress_errors_match_numpy() -> None:
    x = np.arange(3)
    for cond in ([True, False, True, True], [[True]]):
        error = numpy_error(lambda: np.compress(cond, x))  # noqa: B023
        with pytest.raises(type(error), match=str(error)):
            jnp.compress(cond, concrete(x))


def test_numpy_functions_dispatch_to_jitgraph() -> None:
    x = concrete(np.arange(6.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = np.take(x, [1, 2])
    assert isinstance(result, jnp.ndarray)
    check(result, np.array([1.0, 2.0]))
    check(np.where(x > 2, x, 0.0), np.where(np.arange(6.0) > 2, np.arange(6.0), 0.0))


def test_new_index_values_reuse_the_compiled_program() -> None:
    data = np.arange(20.0).reshape(4, 5)
    np.asarray(lazy(data)[0, [1, 2]])
    np.asarray(lazy(data)[lazy(data)[:, 0] > 3])
    compiles = _core.STATS["compiles"]
    for i in range(1, 4):
        check(lazy(data)[i, [i, 0]], data[i, [i, 0]])
        mask = data[:, 0] > 5 * i - 6  # counts 4, 3, 2: never a size-1 pattern
        check(lazy(data)[mask], data[mask])
    assert _core.STATS["compiles"] == compiles
