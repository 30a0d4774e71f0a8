"""Products, einsum and jnp.linalg against NumPy: values, dtypes, shapes, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jitgraph
import jitgraph.numpy as jnp
from jitgraph.ir.types import TensorType
from jitgraph.numpy import _core
from jitgraph.numpy import _linalg as products
from jitgraph.numpy import linalg as jla

DTYPES = ["float32", "float64", "complex128", "int32", "int8", "bool"]


def elements(dtype: str) -> st.SearchStrategy[Any]:
    kind = np.dtype(dtype).kind
    if kind == "b":
        return st.booleans()
    if kind in "iu":
        return st.integers(-5, 5)
    if kind == "c":
        part = st.floats(-4, 4, width=32)
        return st.builds(complex, part, part)
    return st.floats(-4, 4, width=32)


def arrays(dtype: str, shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(dtype, shape, elements=elements(dtype))


def check(result: Any, expected: Any) -> None:
    """Same shape and dtype as NumPy's result, equal values (float within rounding)."""
    expected = np.asarray(expected)
    assert isinstance(result, jnp.ndarray)
    assert result.shape == expected.shape, (result.shape, expected.shape)
    assert result.dtype == expected.dtype, (result.dtype, expected.dtype)
    value = np.asarray(result)
    if expected.dtype.kind in "fc":
        tol = 1e-4 if expected.dtype in (np.float32, np.complex64) else 1e-10
        np.testing.assert_allclose(value, expected, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(value, expected)


def wrap(value: np.ndarray) -> jnp.ndarray:
    return _core.wrap_value(np.array(value))


# ----------------------------------------------------------------------------- matmul
@st.composite
def matmul_operands(draw: Any) -> tuple[np.ndarray, np.ndarray]:
    dtype = draw(st.sampled_from(DTYPES))
    n, k, m = (draw(st.integers(0, 3)) for _ in range(3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    left = draw(st.sampled_from(["vector", "matrix"]))
    right = draw(st.sampled_from(["vector", "matrix"]))
    shape_a = (k,) if left == "vector" else (*batch.input_shapes[0], n, k)
    shape_b = (k,) if right == "vector" else (*batch.input_shapes[1], k, m)
    other = draw(st.sampled_from([dtype, "float64"]))
    return draw(arrays(dtype, shape_a)), draw(arrays(other, shape_b))


@given(matmul_operands())
def test_matmul_matches_numpy(operands: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = operands
    check(jnp.matmul(wrap(a), wrap(b)), np.matmul(a, b))
    check(wrap(a) @ b, a @ b)


def test_matmul_is_lazy_and_takes_lists() -> None:
    result = jnp.matmul(wrap(np.ones((2, 3))), [[1.0], [2.0], [3.0]])
    assert result._value is None
    check(result, np.ones((2, 3)) @ np.array([[1.0], [2.0], [3.0]]))


@pytest.mark.parametrize(
    "shape_a, shape_b, message",
    [
        ((2, 3), (4, 5), r"\(2, 3\) and \(4, 5\)"),
        ((3,), (4,), r"\(3,\) and \(4,\)"),
        ((2, 2, 3), (3, 3, 1), "batch dims"),
        ((), (3,), "0-d"),
    ],
)
def test_matmul_errors_name_the_shapes(shape_a: Any, shape_b: Any, message: str) -> None:
    with pytest.raises(ValueError):
        np.matmul(np.ones(shape_a), np.ones(shape_b))
    with pytest.raises(ValueError, match=message):
        jnp.matmul(wrap(np.ones(shape_a)), wrap(np.ones(shape_b)))


# ----------------------------------------------------------------------------- dot family
@st.composite
def dot_operands(draw: Any) -> tuple[np.ndarray, np.ndarray]:
    dtype = draw(st.sampled_from(DTYPES))
    k = draw(st.integers(0, 3))
    rank_a, rank_b = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    sides = st.integers(0, 3)
    shape_a = tuple(draw(sides) for _ in range(rank_a - 1)) + ((k,) if rank_a else ())
    if rank_b >= 2:
        shape_b: tuple[int, ...] = (*(draw(sides) for _ in range(rank_b - 2)), k, draw(sides))
    else:
        shape_b = (k,) * rank_b
    return draw(arrays(dtype, shape_a)), draw(arrays(dtype, shape_b))


@given(dot_operands())
def test_dot_matches_numpy(operands: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = operands
    check(jnp.dot(wrap(a), wrap(b)), np.dot(a, b))


@given(dot_operands())
def test_inner_and_tensordot_match_numpy(operands: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = operands
    if a.ndim and b.ndim and a.shape[-1] == b.shape[-1]:
        check(jnp.inner(wrap(a), wrap(b)), np.inner(a, b))
    if a.ndim and b.ndim:
        axes = ([a.ndim - 1], [max(b.ndim - 2, 0)])
        check(jnp.tensordot(wrap(a), wrap(b), axes=axes), np.tensordot(a, b, axes=axes))
    check(jnp.tensordot(wrap(a), wrap(b), axes=0), np.tensordot(a, b, axes=0))


def test_dot_scalars_are_strong_and_errors_name_shapes() -> None:
    x = np.arange(3, dtype=np.int8)
    check(jnp.dot(2, wrap(x)), np.dot(2, x))
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(2, 3\)"):
        jnp.dot(wrap(np.ones((2, 3))), wrap(np.ones((2, 3))))


def test_tensordot_int_axes_and_errors() -> None:
    a, b = np.random.default_rng(0).random((2, 3, 4)), np.random.default_rng(1).random((3, 4, 5))
    check(jnp.tensordot(wrap(a), wrap(b)), np.tensordot(a, b))
    check(jnp.tensordot(wrap(a), wrap(b), axes=(1, 0)), np.tensordot(a, b, axes=(1, 0)))
    with pytest.raises(ValueError, match="tensordot"):
        jnp.tensordot(wrap(a), wrap(b), axes=([0], [0]))


@given(
    st.sampled_from(["float64", "complex128", "int32", "float32", "bool"]),
    hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    st.integers(0, 3),
)
def test_vecdot_matches_numpy(dtype: str, shapes: Any, n: int) -> None:
    rng = np.random.default_rng(n)
    a = (rng.normal(size=(*shapes.input_shapes[0], n)) * 3 - 1).astype(dtype)
    b = (rng.normal(size=(*shapes.input_shapes[1], n)) * 3 - 1).astype(dtype)
    if dtype.startswith("complex"):
        a = a + 1j * rng.normal(size=a.shape)
    check(jnp.vecdot(wrap(a), wrap(b)), np.vecdot(a, b))
    if a.ndim >= 2 and a.shape[0] == n:
        check(jnp.vecdot(wrap(a), wrap(a), axis=0), np.vecdot(a, a, axis=0))


def test_vdot_outer_kron_cross() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(2, 3)) + 1j * rng.normal(size=(2, 3))
    b = rng.normal(size=6).astype(np.complex128)
    check(jnp.vdot(wrap(a), wrap(b)), np.vdot(a, b))
    check(jnp.outer(wrap(a), wrap(b)), np.outer(a, b))
    check(jnp.outer(wrap(np.array([True, False])), [True]), np.outer([True, False], [True]))
    m, k = np.arange(6).reshape(2, 3), np.arange(4, dtype=np.int8).reshape(2, 1, 2)
    check(jnp.kron(wrap(m), wrap(k)), np.kron(m, k))
    u, v = rng.normal(size=(4, 3)), rng.normal(size=3)
    check(jnp.cross(wrap(u), wrap(v)), np.cross(u, v))
    check(jnp.cross(wrap(u.T), wrap(v), axisa=0, axisc=0), np.cross(u.T, v, axisa=0, axisc=0))
    with pytest.warns(DeprecationWarning, match="2-dimensional"):
        check(jnp.cross(wrap(u[:, :2]), wrap(v)), np.cross(u[:, :2], v))
    with pytest.raises(ValueError, match="vdot"):
        jnp.vdot(wrap(a), wrap(np.ones(5)))


# ----------------------------------------------------------------------------- einsum
EINSUM_FORMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij->ji", [(2, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("i,i", [(4,), (4,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...ij,jk", [(2, 3, 4), (4, 2)]),
    ("ijk,jil->kl", [(2, 3, 4), (3, 2, 5)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("iij,jk", [(2, 2, 3), (3, 4)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("i,i->i", [(3,), (3,)]),
    ("ij,kl->ijkl", [(2, 0), (1, 3)]),
    ("i...->...", [(2, 3)]),
    ("ba", [(2, 3)]),
    ("ijk", [(2, 3, 1)]),
    ("ij->i", [(2, 0)]),
]


@pytest.mark.parametrize("dtype", ["float64", "float32", "complex128", "int8", "bool"])
def test_einsum_forms_match_numpy(dtype: str) -> None:
    rng = np.random.default_rng(11)
    for subscripts, shapes in EINSUM_FORMS:
        ops = [(rng.normal(size=s) * 3).astype(dtype) for s in shapes]
        if dtype == "bool":
            ops = [rng.random(size=s) < 0.5 for s in shapes]
        check(jnp.einsum(subscripts, *(wrap(o) for o in ops), optimize=True),
              np.einsum(subscripts, *ops))  # fmt: skip


@given(st.sampled_from(EINSUM_FORMS[:9]), st.integers(0, 2**31))
def test_einsum_values(form: Any, seed: int) -> None:
    subscripts, shapes = form
    rng = np.random.default_rng(seed)
    ops = [rng.normal(size=s) for s in shapes]
    check(jnp.einsum(subscripts, *(wrap(o) for o in ops)), np.einsum(subscripts, *ops))


def test_einsum_dtype_and_errors() -> None:
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    check(jnp.einsum("ij->j", wrap(a), dtype=np.float64), np.einsum("ij->j", a, dtype=np.float64))
    with pytest.raises(NotImplementedError, match="subscripts"):
        jnp.einsum(wrap(a), [0, 1])
    with pytest.raises(ValueError, match="'ij,jk'"):
        jnp.einsum("ij,jk", wrap(a), wrap(a))
    with pytest.raises(ValueError, match="operand"):
        jnp.einsum("ijk", wrap(a))
    with pytest.raises(ValueError, match="output label"):
        jnp.einsum("ij->k", wrap(a))


# ----------------------------------------------------------------------------- diagonal, trace
@given(
    hnp.arrays(
        "int16", hnp.array_shapes(min_dims=2, max_dims=4, max_side=4), elements=st.integers(-9, 9)
    ),
    st.integers(-3, 3),
    st.data(),
)  # fmt: skip
def test_diagonal_and_trace_match_numpy(x: np.ndarray, offset: int, data: Any) -> None:
    axis1, axis2 = data.draw(st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=2, max_size=2))
    if axis1 % x.ndim == axis2 % x.ndim:
        with pytest.raises(ValueError, match="axis1 and axis2"):
            jnp.diagonal(wrap(x), offset, axis1, axis2)
        return
    check(jnp.diagonal(wrap(x), offset, axis1, axis2), np.diagonal(x, offset, axis1, axis2))
    check(jnp.trace(wrap(x), offset, axis1, axis2), np.trace(x, offset, axis1, axis2))
    check(jla.trace(wrap(x), offset=offset), np.linalg.trace(x, offset=offset))
    check(jla.diagonal(wrap(x), offset=offset), np.linalg.diagonal(x, offset=offset))


def test_diagonal_is_a_view() -> None:
    base = wrap(np.eye(3))
    view = jnp.diagonal(base)
    with pytest.raises(ValueError, match="view"):
        view += 1
    check(
        jnp.trace(wrap(np.eye(3, dtype=np.uint8)), dtype=np.float32),
        np.trace(np.eye(3), dtype=np.float32),
    )


# ----------------------------------------------------------------------------- norms
@given(
    st.sampled_from(["float64", "float32", "complex128", "int32"]),
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4),
    st.sampled_from([2, 1, np.inf, -np.inf, 0, 3, -1]),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_vector_norm_matches_numpy(
    dtype: str, shape: Any, ord: Any, keepdims: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=shape) * 3).astype(dtype)
    axis = int(rng.integers(-len(shape), len(shape))) if seed % 2 else None
    with np.errstate(divide="ignore"):  # negative orders of zero entries
        expected = np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
    check(jla.vector_norm(wrap(x), axis=axis, keepdims=keepdims, ord=ord), expected)


@pytest.mark.parametrize("ord", ["fro", 1, -1, np.inf, -np.inf, 2, -2, "nuc"])
def test_matrix_norm_and_norm_match_numpy(ord: Any) -> None:
    x = np.random.default_rng(5).normal(size=(3, 4, 2)).astype(np.float32)
    check(jla.matrix_norm(wrap(x), ord=ord), np.linalg.matrix_norm(x, ord=ord))
    check(
        jla.matrix_norm(wrap(x), ord=ord, keepdims=True),
        np.linalg.matrix_norm(x, ord=ord, keepdims=True),
    )
    check(jla.norm(wrap(x), ord, axis=(2, 0)), np.linalg.norm(x, ord, axis=(2, 0)))
    check(jla.norm(wrap(x[0]), ord, keepdims=True), np.linalg.norm(x[0], ord, keepdims=True))


def test_norm_defaults_and_errors() -> None:
    x = np.arange(24).reshape(2, 3, 4)
    check(jla.norm(wrap(x)), np.linalg.norm(x))
    check(jla.norm(wrap(x), axis=1), np.linalg.norm(x, axis=1))
    check(jla.norm(wrap(x[0, 0]), 1), np.linalg.norm(x[0, 0], 1))
    with pytest.raises(ValueError, match="dimensions"):
        jla.norm(wrap(x), 2)
    with pytest.raises(ValueError, match="order"):
        jla.norm(wrap(x), "fro", axis=0)
    with pytest.raises(ValueError, match="order"):
        jla.matrix_norm(wrap(x), ord=3)


# ----------------------------------------------------------------------------- decompositions
def spd(n: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    a = np.random.default_rng(n).normal(size=(*batch, n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


@pytest.mark.parametrize(
    "name, args",
    [
        ("det", lambda: [spd(3, (2,))]),
        ("inv", lambda: [spd(3)]),
        ("solve", lambda: [spd(3), np.ones((3, 2))]),
        ("cholesky", lambda: [spd(4)]),
        ("svdvals", lambda: [spd(3)[:, :2]]),
        ("eigvalsh", lambda: [spd(3)]),
        ("pinv", lambda: [spd(3)[:2]]),
        ("matrix_rank", lambda: [np.ones((3, 3))]),
        ("cond", lambda: [spd(3)]),
        ("multi_dot", lambda: [[np.ones(3), spd(3), spd(3)]]),
    ],
)
def test_eager_functions_match_numpy(name: str, args: Any) -> None:
    values = args()
    wrapped = [wrap(v) if isinstance(v, np.ndarray) else [wrap(x) for x in v] for v in values]
    check(getattr(jla, name)(*wrapped), getattr(np.linalg, name)(*values))


def test_decompositions_are_namedtuples() -> None:
    a = spd(3, (2,))
    expected_fields = {
        "eigh": ("eigenvalues", "eigenvectors"),
        "qr": ("Q", "R"),
        "svd": ("U", "S", "Vh"),
        "slogdet": ("sign", "logabsdet"),
    }
    for name, fields in expected_fields.items():
        result, expected = getattr(jla, name)(wrap(a)), getattr(np.linalg, name)(a)
        assert result._fields == fields == expected._fields
        for part, want in zip(result, expected):
            check(part, want)
    with pytest.raises(np.linalg.LinAlgError):
        jla.inv(wrap(np.zeros((2, 2))))


@pytest.mark.parametrize("n", [0, 1, 2, 5, -1, -3])
def test_matrix_power_matches_numpy(n: int) -> None:
    a = spd(3, (2,)) / 10
    check(jla.matrix_power(wrap(a), n), np.linalg.matrix_power(a, n))
    i = np.arange(4, dtype=np.int32).reshape(2, 2)
    if n >= 0:
        check(jla.matrix_power(wrap(i), n), np.linalg.matrix_power(i, n))


def test_numpy_functions_dispatch_to_jnp() -> None:
    a = wrap(spd(2))
    assert isinstance(np.linalg.det(a), jnp.ndarray)
    assert isinstance(np.einsum("ij->j", a), jnp.ndarray)


# ----------------------------------------------------------------------------- tracing
def test_graph_functions_trace_and_eager_ones_refuse() -> None:
    with _core.tracing():
        x = _core.trace_input(TensorType("float64", (None, None)))
        for result in [
            jnp.einsum("ij,jk->ik", x, x),
            jnp.einsum("ij,kj,kl->il", x, x, x),
            jnp.einsum("ijk->", _core.trace_input(TensorType("float64", (None, None, None)))),
            jnp.matmul(x, x),
            jla.vector_norm(x, axis=0),
            jla.matrix_power(x, 3),
            jnp.kron(x, x),
        ]:
            assert _core.is_traced(result)
        with pytest.raises(_core.TracerError, match="jnp.linalg.det.*@jit"):
            jla.det(x)


def test_under_jit() -> None:
    @jitgraph.jit
    def f(a: Any, b: Any) -> Any:
        return jnp.einsum("bij,jk->bik", a, b) + jla.vector_norm(b) + jnp.trace(b)

    a, b = np.random.default_rng(0).random((2, 3, 4)), np.random.default_rng(1).random((4, 4))
    expected = np.einsum("bij,jk->bik", a, b) + np.linalg.vector_norm(b) + np.trace(b)
    np.testing.assert_allclose(np.asarray(f(a, b)), expected)
    np.testing.assert_allclose(np.asarray(f(a[:1], b)), expected[:1])


def test_module_names() -> None:
    for name in products.__all__:
        assert callable(getattr(products, name))
    for name in jla.__all__:
        assert hasattr(jla, name)
