"""jitgraph.numpy shape manipulation functions against NumPy: values, shapes, exact dtypes,
errors of the same type, views that refuse in-place writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jitgraph
import jitgraph.numpy as jnp
from jitgraph.testing import assert_same_as_numpy

DTYPES = ["bool", "int8", "int64", "uint16", "float32", "float64", "complex64"]
dtypes = st.sampled_from(DTYPES)
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3)


def values(shape: Any = shapes, dtype: Any = dtypes) -> Any:
    return dtype.flatmap(lambda d: hnp.arrays(d, shape))


check = assert_same_as_numpy


def same(jnp_call: Callable[[], Any], numpy_call: Callable[[], Any]) -> None:
    """Both calls agree: the same values (elementwise over sequences) or the same error."""
    try:
        expected = numpy_call()
    except Exception as exc:  # noqa: BLE001 - any NumPy error must be matched
        with pytest.raises(type(exc)):
            jnp_call()
        return
    got = jnp_call()
    if isinstance(expected, (list, tuple)):
        assert type(got) is type(expected) and len(got) == len(expected)
        for g, e in zip(got, expected):
            check(g, e)
    else:
        check(got, expected)


def strided(value: np.ndarray) -> np.ndarray:
    """``value`` as a non-contiguous NumPy view (every other element of a doubled array)."""
    doubled = np.repeat(value, 2, axis=-1) if value.ndim else value
    return doubled[..., ::2] if value.ndim else doubled


axes = st.integers(-5, 4)


# ----------------------------------------------------------------------------- reshape family
@given(values(), st.data())
def test_reshape(value: np.ndarray, data: st.DataObject) -> None:
    size = value.size
    divisors = [d for d in range(1, size + 1) if size % d == 0] or [1]
    first = data.draw(st.sampled_from(divisors))
    shape = data.draw(
        st.sampled_from([(size,), (-1,), (first, -1), (-1, first, 1), (first, size // first), ()])
    )
    x = jnp.asarray(strided(value))
    same(lambda: jnp.reshape(x, shape), lambda: np.reshape(value, shape))
    same(lambda: x.reshape(shape), lambda: value.reshape(shape))
    same(lambda: jnp.reshape(x, shape, order="F"), lambda: np.reshape(value, shape, order="F"))


def test_reshape_errors() -> None:
    x = jnp.arange(6)
    with pytest.raises(ValueError, match="cannot reshape array of size 6 into shape"):
        jnp.reshape(x, (4,))
    with pytest.raises(ValueError, match="one unknown dimension"):
        jnp.reshape(x, (-1, -1))
    with pytest.raises(ValueError, match="negative"):
        jnp.reshape(x, (-2, -3))
    with pytest.raises(ValueError):
        jnp.reshape(jnp.zeros((0, 2)), (0, -1))
    with pytest.raises(TypeError, match="integers"):
        jnp.reshape(x, (2.0, 3))


@given(values())
def test_ravel_flatten(value: np.ndarray) -> None:
    x = jnp.asarray(value)
    check(jnp.ravel(x), np.ravel(value))
    check(jnp.ravel(x, order="F"), np.ravel(value, order="F"))
    check(x.flatten(), value.flatten())
    check(x.ravel(), value.ravel())


@given(values(), st.data())
def test_transpose_family(value: np.ndarray, data: st.DataObject) -> None:
    x = jnp.asarray(value)
    order = tuple(data.draw(st.permutations(range(value.ndim))))
    check(jnp.transpose(x), np.transpose(value))
    check(jnp.permute_dims(x, order), np.transpose(value, order))
    check(x.T, value.T)
    a, b = data.draw(axes), data.draw(axes)
    same(lambda: jnp.swapaxes(x, a, b), lambda: np.swapaxes(value, a, b))
    same(lambda: jnp.moveaxis(x, a, b), lambda: np.moveaxis(value, a, b))
    same(lambda: jnp.moveaxis(x, (a, b), (b, a)), lambda: np.moveaxis(value, (a, b), (b, a)))
    same(lambda: jnp.matrix_transpose(x), lambda: np.matrix_transpose(value))
    same(lambda: jnp.transpose(x, (a, b)), lambda: np.transpose(value, (a, b)))


def test_transpose_errors_name_the_argument() -> None:
    x = jnp.zeros((2, 3))
    with pytest.raises(ValueError, match="repeated axis"):
        jnp.transpose(x, (0, 0))
    with pytest.raises(np.exceptions.AxisError):
        jnp.swapaxes(x, 0, 2)
    with pytest.raises(ValueError, match="at least 2"):
        jnp.matrix_transpose(jnp.zeros(3))
    with pytest.raises(ValueError, match="same number"):
        jnp.moveaxis(x, (0, 1), 0)


@given(values(), st.lists(axes, min_size=1, max_size=3))
def test_expand_dims_and_squeeze(value: np.ndarray, axis: list[int]) -> None:
    x = jnp.asarray(value)
    same(lambda: jnp.expand_dims(x, axis[0]), lambda: np.expand_dims(value, axis[0]))
    same(lambda: jnp.expand_dims(x, tuple(axis)), lambda: np.expand_dims(value, tuple(axis)))
    check(jnp.squeeze(x), np.squeeze(value))
    same(lambda: jnp.squeeze(x, axis[0]), lambda: np.squeeze(value, axis[0]))
    same(lambda: jnp.squeeze(x, tuple(axis)), lambda: np.squeeze(value, tuple(axis)))


def test_squeeze_of_non_unit_axis_raises_value_error() -> None:
    with pytest.raises(ValueError, match="size not equal to one"):
        jnp.squeeze(jnp.zeros((2, 1)), axis=0)
    lazy = jnp.asarray(np.zeros((1, 3))) + 1
    check(jnp.squeeze(lazy, 0), np.ones(3))


# ----------------------------------------------------------------------------- broadcasting
@settings(max_examples=30)
@given(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), dtypes)
def test_broadcast(shapes_: Any, dtype: str) -> None:
    arrays = [
        np.arange(np.prod(s), dtype="int64").reshape(s).astype(dtype) for s in shapes_.input_shapes
    ]
    same(lambda: jnp.broadcast_arrays(*arrays), lambda: np.broadcast_arrays(*arrays))
    result = shapes_.result_shape
    same(lambda: jnp.broadcast_to(arrays[0], result), lambda: np.broadcast_to(arrays[0], result))
    assert jnp.broadcast_shapes(*shapes_.input_shapes) == np.broadcast_shapes(*shapes_.input_shapes)


def test_broadcast_errors() -> None:
    with pytest.raises(ValueError):
        jnp.broadcast_to(jnp.zeros(3), (2, 4))
    with pytest.raises(ValueError):
        jnp.broadcast_to(jnp.zeros((2, 3)), (3,))
    with pytest.raises(ValueError):
        jnp.broadcast_arrays(jnp.zeros(3), jnp.zeros(4))
    with pytest.raises(ValueError):
        jnp.broadcast_shapes((2,), (3,))


# ----------------------------------------------------------------------------- joining
@settings(max_examples=40)
@given(
    st.lists(dtypes, min_size=1, max_size=3),
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3),
    axes,
    st.integers(0, 3),
)
def test_concat_and_stack(kinds: list[str], shape: tuple[int, ...], axis: int, grow: int) -> None:
    arrays = []
    for i, dtype in enumerate(kinds):
        this = list(shape)
        if -len(shape) <= axis < len(shape):
            this[axis] = (this[axis] + i * grow) % 4
        arrays.append(np.ones(this, dtype=dtype))
    same(lambda: jnp.concat(arrays, axis=axis), lambda: np.concatenate(arrays, axis=axis))
    same(lambda: jnp.concatenate(arrays, axis=None), lambda: np.concatenate(arrays, axis=None))
    equal = [np.ones(shape, dtype=d) for d in kinds]
    same(lambda: jnp.stack(equal, axis=axis), lambda: np.stack(equal, axis=axis))
    same(lambda: jnp.stack(arrays, axis=0), lambda: np.stack(arrays, axis=0))
    same(lambda: jnp.unstack(equal[0], axis=axis), lambda: np.unstack(equal[0], axis=axis))


def test_joining_errors_and_dtype_argument() -> None:
    with pytest.raises(ValueError, match="zero-dimensional"):
        jnp.concat([jnp.asarray(1.0), jnp.asarray(2.0)])
    with pytest.raises(ValueError, match="number of dimensions"):
        jnp.concat([jnp.zeros(2), jnp.zeros((2, 2))])
    with pytest.raises(ValueError, match="at least one"):
        jnp.concat([])
    with pytest.raises(TypeError, match="sequence"):
        jnp.stack(x for x in [jnp.zeros(2)])
    with pytest.raises(TypeError, match="same_kind"):
        jnp.concat([jnp.zeros(2), jnp.zeros(2)], dtype="int32")
    check(jnp.stack([jnp.asarray(1), 2.5]), np.stack([np.asarray(1), 2.5]))
    check(
        jnp.concat([np.arange(2), np.arange(2.0)], dtype="float32"),
        np.array([0, 1, 0, 1], dtype="float32"),
    )
    check(jnp.stack([jnp.asarray(1.0), jnp.asarray(2.0)]), np.array([1.0, 2.0]))


@settings(max_examples=30)
@given(
    st.lists(values(hnp.array_shapes(min_dims=0, max_dims=3, max_side=2)), min_size=1, max_size=3)
)
def test_stacking_helpers(arrays: list[np.ndarray]) -> None:
    same(lambda: jnp.atleast_1d(*arrays), lambda: np.atleast_1d(*arrays))
    same(lambda: jnp.atleast_2d(*arrays), lambda: np.atleast_2d(*arrays))
    same(lambda: jnp.atleast_3d(*arrays), lambda: np.atleast_3d(*arrays))
    for name in ["hstack", "vstack", "dstack", "column_stack"]:
        same(lambda n=name: getattr(jnp, n)(arrays), lambda n=name: getattr(np, n)(arrays))


def test_atleast_returns_the_input_when_it_has_enough_axes() -> None:
    x = jnp.zeros((2, 3))
    assert jnp.atleast_2d(x) is x
    check(jnp.atleast_3d(jnp.asarray(1)), np.atleast_3d(1))


@given(values(hnp.array_shapes(min_dims=1, max_dims=3, max_side=5)), st.data())
def test_split(value: np.ndarray, data: st.DataObject) -> None:
    x = jnp.asarray(value)
    axis = data.draw(st.integers(-value.ndim, value.ndim - 1))
    sections = data.draw(st.integers(1, 4))
    indices = data.draw(st.lists(st.integers(-6, 6), max_size=3))
    same(lambda: jnp.split(x, sections, axis), lambda: np.split(value, sections, axis))
    same(lambda: jnp.array_split(x, sections, axis), lambda: np.array_split(value, sections, axis))
    same(lambda: jnp.split(x, indices, axis), lambda: np.split(value, indices, axis))


def test_split_errors() -> None:
    with pytest.raises(ValueError, match="equal division"):
        jnp.split(jnp.arange(5), 2)
    with pytest.raises(ValueError, match="larger than 0"):
        jnp.array_split(jnp.arange(5), 0)
    with pytest.raises(np.exceptions.AxisError):
        jnp.split(jnp.arange(5), 1, axis=1)


# ----------------------------------------------------------------------------- repetition
@settings(max_examples=40)
@given(values(hnp.array_shapes(min_dims=0, max_dims=3, max_side=3)), st.data())
def test_tile_repeat_roll_flip(value: np.ndarray, data: st.DataObject) -> None:
    x = jnp.asarray(strided(value))
    reps = tuple(data.draw(st.lists(st.integers(0, 2), max_size=3)))
    same(lambda: jnp.tile(x, reps), lambda: np.tile(value, reps))
    count = data.draw(st.integers(0, 3))
    axis = data.draw(st.one_of(st.none(), axes))
    same(lambda: jnp.repeat(x, count, axis=axis), lambda: np.repeat(value, count, axis=axis))
    if axis is not None and -value.ndim <= axis < value.ndim:
        counts = data.draw(
            st.lists(st.integers(0, 3), min_size=value.shape[axis], max_size=value.shape[axis])
        )
        same(lambda: jnp.repeat(x, counts, axis), lambda: np.repeat(value, counts, axis))
    shift = data.draw(
        st.one_of(st.integers(-7, 7), st.tuples(st.integers(-4, 4), st.integers(-4, 4)))
    )
    same(lambda: jnp.roll(x, shift, axis=axis), lambda: np.roll(value, shift, axis=axis))
    same(lambda: jnp.roll(x, shift), lambda: np.roll(value, shift))
    same(lambda: jnp.flip(x, axis), lambda: np.flip(value, axis))


def test_repetition_errors() -> None:
    with pytest.raises(ValueError, match="negative"):
        jnp.repeat(jnp.arange(3), -1)
    with pytest.raises(TypeError, match="repeats"):
        jnp.repeat(jnp.arange(3), 1.5)
    with pytest.raises(ValueError, match="negative"):
        jnp.tile(jnp.arange(3), -1)
    with pytest.raises(np.exceptions.AxisError):
        jnp.roll(jnp.arange(3), 1, axis=1)
    with pytest.raises(np.exceptions.AxisError):
        jnp.flip(jnp.arange(3), axis=2)


# ----------------------------------------------------------------------------- pad
@settings(max_examples=40)
@given(
    values(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3)),
    st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]),
    st.data(),
)
def test_pad(value: np.ndarray, mode: str, data: st.DataObject) -> None:
    width = data.draw(
        st.one_of(
            st.integers(0, 4),
            st.tuples(st.integers(0, 3), st.integers(0, 3)),
            st.lists(
                st.tuples(st.integers(0, 3), st.integers(0, 3)),
                min_size=value.ndim,
                max_size=value.ndim,
            ).map(tuple),
        )
    )
    x = jnp.asarray(strided(value))
    same(lambda: jnp.pad(x, width, mode=mode), lambda: np.pad(value, width, mode=mode))
    if mode == "constant":
        same(
            lambda: jnp.pad(x, width, constant_values=(1, 2)),
            lambda: np.pad(value, width, constant_values=(1, 2)),
        )


def test_pad_errors() -> None:
    with pytest.raises(ValueError, match="negative"):
        jnp.pad(jnp.arange(3), -1)
    with pytest.raises(NotImplementedError, match="maximum"):
        jnp.pad(jnp.arange(3), 1, mode="maximum")
    with pytest.raises(ValueError, match="empty axis"):
        jnp.pad(jnp.zeros(0), 1, mode="edge")


# ----------------------------------------------------------------------------- views
@pytest.mark.parametrize(
    "make",
    [
        lambda x: jnp.reshape(x, (3, 2)),
        lambda x: x.T,
        lambda x: jnp.expand_dims(x, 0),
        lambda x: jnp.swapaxes(x, 0, 1),
        lambda x: jnp.moveaxis(x, 0, 1),
        lambda x: jnp.broadcast_to(x, (4, 2, 3)),
        lambda x: jnp.ravel(x),
        lambda x: jnp.flip(x, 0),
        lambda x: jnp.split(x, 2)[0],
        lambda x: jnp.squeeze(jnp.expand_dims(x, 0)),
    ],
)
def test_views_refuse_in_place_writes(make: Callable[[Any], Any]) -> None:
    x = jnp.asarray(np.arange(6.0).reshape(2, 3))
    view = make(x)
    with pytest.raises(ValueError, match="view"):
        view += 1
    with pytest.raises(ValueError, match="view"):
        x += 1


def test_copies_are_independent() -> None:
    x = jnp.asarray(np.arange(6.0).reshape(2, 3))
    flat = x.flatten()
    joined = jnp.concat([x])
    flat += 1
    joined += 1
    x += 1
    check(x, np.arange(6.0).reshape(2, 3) + 1)


# ----------------------------------------------------------------------------- under @jit
def test_manipulation_under_jit() -> None:
    @jitgraph.jit
    def f(x: Any, y: Any) -> Any:
        n = x.shape[0]
        return (
            jnp.reshape(x, (n, -1)).T,
            jnp.concat([x, y], axis=0),
            jnp.stack([x, x], axis=-1),
            jnp.squeeze(jnp.expand_dims(x, 1), 1),
            jnp.roll(x, 1, axis=0),
            jnp.tile(x, (2, 1)),
            jnp.broadcast_to(y, (n, 2, 2)),
        )

    x = np.arange(6.0).reshape(3, 2)
    y = np.ones((2, 2), dtype="float32")
    got = f(x, y)
    expected = (
        x.reshape(3, -1).T,
        np.concatenate([x, y]),
        np.stack([x, x], axis=-1),
        x,
        np.roll(x, 1, axis=0),
        np.tile(x, (2, 1)),
        np.broadcast_to(y, (3, 2, 2)),
    )
    for g, e in zip(got, expected):
        check(jnp.asarray(np.asarray(g)), e)


def test_split_with_sizes_known_only_at_run_time() -> None:
    @jitgraph.jit
    def pieces(x: Any) -> Any:
        return jnp.array_split(x, 3, axis=0) + jnp.split(x, [1, -1], axis=1)

    for rows in (5, 6):
        value = np.arange(rows * 3.0).reshape(rows, 3)
        expected = np.array_split(value, 3, axis=0) + np.split(value, [1, -1], axis=1)
        for got, want in zip(pieces(value), expected, strict=True):
            check(jnp.asarray(np.asarray(got)), want)
