"""The namespace as a whole: what it exports, and the functions no module test names."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jitgraph.numpy as jnp

# The Array API 2024.12 namespace (functions, constants and dtypes), less the optional
# extensions (fft; linalg is the submodule).
ARRAY_API_NAMES = """
abs acos acosh add all any arange argmax argmin argsort asarray asin asinh astype atan atan2
atanh bitwise_and bitwise_invert bitwise_left_shift bitwise_or bitwise_right_shift bitwise_xor
bool broadcast_arrays broadcast_to can_cast ceil clip complex128 complex64 concat conj copysign
cos cosh count_nonzero cumulative_prod cumulative_sum diff divide e empty empty_like equal exp
expand_dims expm1 eye finfo flip float32 float64 floor floor_divide from_dlpack full full_like
greater greater_equal hypot iinfo imag inf int16 int32 int64 int8 isdtype isfinite isinf isnan
less less_equal linspace log log10 log1p log2 logaddexp logical_and logical_not logical_or
logical_xor matmul matrix_transpose max maximum mean meshgrid min minimum moveaxis multiply nan
negative newaxis nextafter nonzero not_equal ones ones_like permute_dims pi positive pow prod
real reciprocal remainder repeat reshape result_type roll round searchsorted sign signbit sin
sinh sort sqrt square squeeze stack std subtract sum take take_along_axis tan tanh tensordot
tile tril triu trunc uint16 uint32 uint64 uint8 unique_all unique_counts unique_inverse
unique_values unstack var vecdot where zeros zeros_like __array_namespace_info__
""".split()


def test_the_array_api_namespace_is_complete():
    missing = [name for name in ARRAY_API_NAMES if not hasattr(jnp, name)]
    assert missing == []
    assert jnp.__array_api_version__ == "2024.12"
    for name in jnp.__all__:
        assert hasattr(jnp, name), name


floats = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=3, max_side=4),
                    elements=st.floats(-100, 100))  # fmt: skip


@given(floats)
def test_numpy_only_names(x):
    a = jnp.asarray(x)
    np.testing.assert_array_equal(np.asarray(jnp.amax(a, axis=0)), np.amax(x, axis=0))
    np.testing.assert_array_equal(np.asarray(jnp.amin(a)), np.amin(x))
    np.testing.assert_array_equal(np.asarray(jnp.fliplr(a)), np.fliplr(x))
    np.testing.assert_array_equal(np.asarray(jnp.flipud(a)), np.flipud(x))
    np.testing.assert_array_equal(np.asarray(jnp.flatten(a)), x.flatten())
    np.testing.assert_array_equal(np.asarray(a.flatten()), x.flatten())
    np.testing.assert_array_equal(np.asarray(jnp.asanyarray(x)), x)
    np.testing.assert_array_equal(np.asarray(jnp.getitem(a, (0, slice(None, None, -1)))),
                                  x[0, ::-1])  # fmt: skip
    if x.ndim == 2:
        np.testing.assert_array_equal(np.asarray(jnp.row_stack([a, a])), np.vstack([x, x]))
    quotient, remainder = jnp.divmod(a, 7.0)
    want_q, want_r = np.divmod(x, 7.0)
    np.testing.assert_array_equal(np.asarray(quotient), want_q)
    np.testing.assert_array_equal(np.asarray(remainder), want_r)


def test_linalg_names_against_numpy():
    rng = np.random.default_rng(5)
    m = rng.normal(size=(4, 4))
    v, w = rng.normal(size=3), rng.normal(size=3)
    a = jnp.asarray(m)
    np.testing.assert_allclose(np.asarray(jnp.linalg.matmul(a, a)), m @ m, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(jnp.linalg.matrix_transpose(a)), m.T)
    np.testing.assert_allclose(np.asarray(jnp.linalg.outer(v, w)), np.outer(v, w))
    np.testing.assert_allclose(np.asarray(jnp.linalg.vecdot(v, w)), v @ w, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(jnp.linalg.cross(v, w)), np.cross(v, w), rtol=1e-12)
    np.testing.assert_allclose(
        np.sort_complex(np.asarray(jnp.linalg.eigvals(a))), np.sort_complex(np.linalg.eigvals(m))
    )
    values, vectors = jnp.linalg.eig(a)
    np.testing.assert_allclose(m @ np.asarray(vectors), np.asarray(vectors) * np.asarray(values),
                               atol=1e-10)  # fmt: skip
    solution = jnp.linalg.lstsq(a, v[:3].repeat(2)[:4], rcond=None)
    want = np.linalg.lstsq(m, v[:3].repeat(2)[:4], rcond=None)
    np.testing.assert_allclose(np.asarray(solution[0]), want[0], rtol=1e-10)


def test_numpy_functions_on_jnp_arrays_dispatch_here():
    a = jnp.asarray(np.arange(6.0).reshape(2, 3))
    for result in (np.sum(a, axis=0), np.concatenate([a, a]), np.linalg.norm(a), np.mean(a)):
        assert isinstance(result, jnp.ndarray)
    with pytest.raises(TypeError):
        jnp.sum(a, out=np.empty(3))
