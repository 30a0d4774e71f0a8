"""The lazy array of jitgraph.numpy: evaluation, program reuse, in-place rules, interop."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jitgraph.numpy as jnp
from jitgraph.ir.types import TensorType
from jitgraph.numpy import _core


def fresh(values) -> _core.ndarray:  # type: ignore[no-untyped-def]
    return _core.wrap_value(np.array(values))


def counts() -> tuple[int, int]:
    return _core.STATS["evaluations"], _core.STATS["compiles"]


def test_operations_are_lazy_until_a_value_is_needed():
    x = fresh([1.0, 2.0, 3.0])
    before = counts()
    y = (x * 2.0 + 1.0) / x
    assert y._value is None
    assert counts() == before
    assert y.shape == (3,) and y.dtype == np.float64 and y.ndim == 1
    assert counts() == before  # static shape and dtype need no evaluation
    np.testing.assert_allclose(np.asarray(y), (np.array([1.0, 2, 3]) * 2 + 1) / [1.0, 2, 3])
    assert counts()[0] == before[0] + 1


def test_a_new_size_reuses_the_compiled_program():
    def expression(x: _core.ndarray) -> _core.ndarray:
        return _core.elementwise("exp", x * 0.25) - x

    np.asarray(expression(fresh(np.arange(5.0))))
    compiles = counts()[1]
    for n in (1, 7, 1000):
        data = np.linspace(-1, 1, n) if n > 1 else np.array([0.5, 0.25])
        got = np.asarray(expression(fresh(data)))
        np.testing.assert_allclose(got, np.exp(data * 0.25) - data, rtol=1e-15)
    assert counts()[1] == compiles


def test_evaluated_intermediates_are_not_recomputed():
    x = fresh(np.arange(4.0))
    a = _core.elementwise("sqrt", x) + 1.0
    np.asarray(a)
    b = a * 3.0
    leaves, nodes, _ = _core._collect([b._variable])
    # ``a`` is a leaf holding its value: neither the square root nor the addition rerun
    assert [str(n.op) for n in nodes if "DimShuffle" not in str(n.op)] == ["Elemwise{mul}"]
    assert leaves[0] is a._variable
    np.testing.assert_allclose(np.asarray(b), (np.sqrt(np.arange(4.0)) + 1) * 3)


def test_long_pending_chains_are_evaluated_in_chunks():
    x = fresh(np.ones(3))
    for _ in range(3 * _core.PENDING_LIMIT):
        x = x * 1.001 + 0.0
    np.testing.assert_allclose(np.asarray(x), 1.001 ** (3 * _core.PENDING_LIMIT))


def test_values_are_read_only_and_writes_to_numpy_sources_do_not_leak():
    source = np.arange(3.0)
    x = jnp.asarray(source) if hasattr(jnp, "asarray") else _core.wrap_value(source.copy())
    y = x + 1.0
    source[:] = 100.0
    np.testing.assert_array_equal(np.asarray(y), [1.0, 2.0, 3.0])
    assert not np.asarray(y).flags.writeable


def test_in_place_operators_rebind_the_array_only():
    x = fresh([1.0, 2.0])
    alias = x
    other = x * 1.0
    x += 1.0
    assert alias is x
    np.testing.assert_array_equal(np.asarray(x), [2.0, 3.0])
    np.testing.assert_array_equal(np.asarray(other), [1.0, 2.0])
    i = fresh(np.array([1, 2], dtype=np.int32))
    i *= 3
    assert i.dtype == np.int32
    np.testing.assert_array_equal(np.asarray(i), [3, 6])


def test_in_place_operators_keep_numpy_casting_and_shape_rules():
    i = fresh(np.array([1, 2], dtype=np.int64))
    with pytest.raises(TypeError, match="same_kind"):
        i += 1.5
    np.testing.assert_array_equal(np.asarray(i), [1, 2])  # unchanged after the error
    x = fresh(np.ones(3))
    with pytest.raises(ValueError, match=r"shape \(2, 3\) differs"):
        x += np.ones((2, 3))


def test_writing_to_a_view_raises_instead_of_diverging():
    base = fresh(np.arange(4.0))
    view = _core.as_view(base * 1.0, base)
    with pytest.raises(ValueError, match="view of another"):
        view += 1.0
    with pytest.raises(ValueError, match="views of this array exist"):
        base += 1.0
    del view
    base += 1.0  # no live view any more
    np.testing.assert_array_equal(np.asarray(base), [1.0, 2.0, 3.0, 4.0])


def test_a_view_of_an_unreferenced_base_may_be_written():
    # Nobody can observe the base (a temporary): the write cannot diverge from NumPy.
    view = _core.as_view(fresh(np.arange(3.0)) * 1.0, fresh(np.arange(3.0)) * 1.0)
    view += 1.0
    assert view._base is None
    np.testing.assert_array_equal(np.asarray(view), [1.0, 2.0, 3.0])
    held = fresh(np.zeros(2)) * 1.0
    sibling = _core.as_view(held * 1.0, held)
    other = _core.as_view(held * 1.0, held)
    del held  # the base is gone from the user's names, but another view still sees it
    with pytest.raises(ValueError, match="view of another"):
        sibling += 1.0
    del other
    sibling += 1.0  # now no one else observes the base
    np.testing.assert_array_equal(np.asarray(sibling), [1.0, 1.0])


@given(st.sampled_from(["int8", "uint8", "int32", "float32", "float64", "complex64"]))
def test_python_scalars_are_weak(dtype):
    x = fresh(np.ones(2, dtype=dtype))
    for scalar in (2, 2.0, 2j, True):
        try:
            expected = (np.ones(2, dtype=dtype) * scalar).dtype
        except TypeError:
            continue
        assert (x * scalar).dtype == expected, (dtype, scalar)
        assert (scalar * x).dtype == expected


def test_out_of_range_python_integers_raise_like_numpy():
    x = fresh(np.ones(2, dtype=np.uint8))
    with pytest.raises(OverflowError, match="300 out of bounds for uint8"):
        x + 300
    with pytest.raises(OverflowError):
        np.ones(2, dtype=np.uint8) + 300


def test_numpy_errors_for_missing_loops_pass_through():
    b = fresh(np.array([True, False]))
    with pytest.raises(TypeError, match="boolean subtract"):
        b - b


def test_conversions_evaluate():
    x = fresh([2.5])
    assert float(x.sum() if hasattr(x, "sum") and hasattr(jnp, "sum") else x[0] * 1.0) == 2.5
    zero_d = fresh(3) * 2
    assert int(zero_d) == 6 and float(zero_d) == 6.0 and complex(zero_d) == 6
    assert bool(zero_d > 5) is True
    assert zero_d.item() == 6 and zero_d.tolist() == 6
    assert [1, 2, 3][fresh(np.int64(1))] == 2
    with pytest.raises(TypeError, match="0-d integer"):
        [1][fresh(1.0)]
    assert "jnp.array([5.])" == repr(fresh([2.5]) * 2)
    assert str(fresh([1.0, 2.0]) + 0) == "[1. 2.]"
    assert f"{fresh(2.5) * 1:.2f}" == "2.50"


def test_len_and_iteration():
    m = fresh(np.arange(6.0).reshape(2, 3))
    assert len(m) == 2
    with pytest.raises(TypeError, match="0-d"):
        len(fresh(1.0))
    with pytest.raises(TypeError, match="0-d"):
        iter(fresh(1.0))


def test_numpy_interop_stays_lazy():
    x = fresh(np.linspace(0, 1, 5))
    y = np.exp(x)
    assert isinstance(y, _core.ndarray) and y._value is None
    np.testing.assert_allclose(np.asarray(y), np.exp(np.linspace(0, 1, 5)))
    z = np.add(x, 1.0)
    assert isinstance(z, _core.ndarray)
    # A ufunc method without a jitgraph counterpart computes with NumPy on the value.
    outer = np.add.outer(x, x)
    assert isinstance(outer, _core.ndarray)
    np.testing.assert_allclose(np.asarray(outer), np.add.outer(np.asarray(x), np.asarray(x)))


def test_numpy_out_argument():
    x = fresh(np.arange(3.0))
    target = np.empty(3)
    np.multiply(x, 2.0, out=target)
    np.testing.assert_array_equal(target, [0.0, 2.0, 4.0])
    holder = fresh(np.zeros(3))
    np.multiply(x, 3.0, out=holder)
    np.testing.assert_array_equal(np.asarray(holder), [0.0, 3.0, 6.0])


def test_array_protocol_conversion():
    x = fresh([1.0, 2.0]) + 0
    assert np.asarray(x, dtype=np.float32).dtype == np.float32
    assert np.array(x).flags.writeable  # np.array copies
    with pytest.raises(ValueError, match="needs a copy"):
        x.__array__(np.float32, copy=False)


def test_pickle_and_copy():
    x = fresh([1.0, 2.0]) * 3
    y = pickle.loads(pickle.dumps(x))
    np.testing.assert_array_equal(np.asarray(y), [3.0, 6.0])
    assert copy.copy(x) is x and copy.deepcopy(x) is x


def test_array_namespace():
    x = fresh([1.0])
    assert x.__array_namespace__() is jnp
    with pytest.raises(ValueError, match="2099.12"):
        x.__array_namespace__(api_version="2099.12")
    assert x.device == "cpu" and x.to_device("cpu") is x
    with pytest.raises(ValueError, match="tpu"):  # 'cuda': tests/numpy/test_device.py
        x.to_device("tpu")


def test_direct_construction_is_refused():
    with pytest.raises(TypeError, match="jnp.asarray"):
        _core.ndarray([1, 2])


def traced(dtype: str, shape: tuple[int | None, ...], weak: bool = False) -> _core.ndarray:
    return _core.trace_input(TensorType(dtype, shape), weak=weak)


def test_traced_values_cannot_be_concretized():
    with _core.tracing():
        x = traced("float64", (None,))
        y = x * 2.0
        assert _core.is_traced(y)
        with pytest.raises(_core.TracerError, match=r"bool\(\).*test_core\.py:\d+.*jnp\.where"):
            bool((y > 0).all() if hasattr(jnp, "all") else y[0] > 0)
        with pytest.raises(_core.TracerError, match="float"):
            float(y)
        with pytest.raises(_core.TracerError, match="len"):
            len(y)
        with pytest.raises(_core.TracerError, match="iterating"):
            iter(y)
        with pytest.raises(_core.TracerError):
            np.asarray(y)
        assert "traced" in repr(y)
        n = y.shape[0]
        assert isinstance(n, _core.ndarray) and _core.is_traced(n)


def test_traced_python_scalars_promote_weakly():
    with _core.tracing():
        x = traced("float32", (None,))
        s = traced("float64", (), weak=True)
        assert (x * s).dtype == np.float32
        i = traced("int64", (), weak=True)
        assert (traced("int8", (None,)) + i).dtype == np.int8
        assert (x * traced("float64", ())).dtype == np.float64  # a strong 0-d array


def test_concrete_arrays_inside_a_trace_are_still_concrete():
    c = fresh([1.0, 2.0]) * 2
    with _core.tracing():
        assert not _core.is_traced(c)
        np.testing.assert_array_equal(_core.concrete(c, "test"), [2.0, 4.0])


def test_no_warnings_on_plain_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.asarray(fresh([1.0, 4.0]) ** 0.5)


def test_comparison_operators_follow_numpy_for_complex_and_wide_ints():
    small = fresh(np.arange(3, dtype=np.int8))
    np.testing.assert_array_equal(np.asarray(small < 300), [True, True, True])
    z = fresh(np.array([1 + 2j, 3 - 1j]))
    np.testing.assert_array_equal(np.asarray(z < 2), np.array([1 + 2j, 3 - 1j]) < 2)


def test_dlpack_export():
    x = fresh(np.arange(3.0)) * 2
    np.testing.assert_array_equal(np.from_dlpack(x), [0.0, 2.0, 4.0])
    assert x.__dlpack_device__() == (1, 0)
    with pytest.raises(ValueError, match="stream"):
        x.__dlpack__(stream=1)


def test_non_native_byte_order_inputs():
    big = np.arange(5.0).astype(">f8")
    big.flags.writeable = False  # read-only: taken without a copy
    np.testing.assert_allclose(np.asarray(jnp.exp(big)), np.exp(np.arange(5.0)))
    swapped = np.arange(4, dtype=np.int32).astype(">i4")
    np.testing.assert_array_equal(np.asarray(jnp.asarray(swapped) + 1), [1, 2, 3, 4])


def test_python_scalar_constants_keep_negative_zero_and_nan():
    ones = fresh(np.ones(2))
    assert np.signbit(np.asarray(ones * -0.0)).all()
    assert not np.signbit(np.asarray(ones * 0.0)).any()
    assert np.isnan(np.asarray(ones * float("nan"))).all()
    assert (np.asarray(ones + True) == 2).all() and (ones + True).dtype == np.float64
