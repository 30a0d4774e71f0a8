"""``jnp.linalg``: the Array API linear algebra extension with ``numpy.linalg``'s names.

Products, norms, traces and matrix powers are graph nodes (lazy, fused, traceable under
``@jit``). The factorizations and solvers (det, inv, solve, cholesky, qr, svd, eigh,
slogdet, pinv, matrix_rank, lstsq, eig, ...) have no jitgraph ops: they evaluate their
operands and call ``numpy.linalg`` eagerly, so under ``@jit`` they raise ``TracerError``;
on 'cuda' operands they copy them to the host and put the results back on the GPU.

>>> import jitgraph.numpy as jnp
>>> a = jnp.asarray([[4.0, 1.0], [1.0, 3.0]])
>>> round(float(jnp.linalg.det(a)), 6), float(jnp.linalg.norm(jnp.asarray([3.0, 4.0])))
(11.0, 5.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import jitgraph.tensor as _tensor_module
from jitgraph.ir.graph import Var
from jitgraph.numpy import _core
from jitgraph.numpy._linalg import cross as _cross
from jitgraph.numpy._linalg import matmul, tensordot, vecdot
from jitgraph.numpy._linalg import outer as _outer
from jitgraph.numpy._linalg import trace as _trace

__all__ = [
    "EigResult",
    "EighResult",
    "LinAlgError",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "inv",
    "lstsq",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "matrix_transpose",
    "multi_dot",
    "norm",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
    "trace",
    "vecdot",
    "vector_norm",
]

T: Any = _tensor_module
LinAlgError = np.linalg.LinAlgError


class EighResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class EigResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class QRResult(NamedTuple):
    Q: Any
    R: Any


class SVDResult(NamedTuple):
    U: Any
    S: Any
    Vh: Any


class SlogdetResult(NamedTuple):
    sign: Any
    logabsdet: Any


# ----------------------------------------------------------------------------- graph functions
def _ndim(x: Any) -> int:
    return x.ndim if isinstance(x, _core.ndarray) else int(np.ndim(x))


def _static_shape(x: Any) -> tuple[int | None, ...]:
    if isinstance(x, _core.ndarray):
        shape: tuple[int | None, ...] = x._variable.type.shape
        return shape
    return tuple(np.shape(x))


def matrix_transpose(x: Any, /) -> Any:
    """The last two axes exchanged (``jnp.matrix_transpose``)."""
    return _core._namespace().matrix_transpose(x)


def diagonal(x: Any, /, *, offset: int = 0) -> _core.ndarray:
    """The Array API diagonal: of the last two axes."""
    from jitgraph.numpy._linalg import diagonal as numpy_diagonal

    return numpy_diagonal(x, offset, -2, -1)


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> _core.ndarray:
    """The sums of the diagonals of the last two axes (small ints sum in int64)."""
    return _trace(x, offset, -2, -1, dtype=dtype)


def outer(x1: Any, x2: Any, /) -> _core.ndarray:
    """The outer product of two vectors (1-d only, as ``numpy.linalg.outer``)."""
    for name, x in (("x1", x1), ("x2", x2)):
        ndim = _ndim(x)
        if ndim != 1:
            raise ValueError(f"outer: {name} must be 1-d, got a {ndim}-d array")
    return _outer(x1, x2)


def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> _core.ndarray:
    """The cross product of 3-vectors along ``axis`` (Array API: both must have size 3)."""
    for name, x in (("x1", x1), ("x2", x2)):
        shape = _static_shape(x)
        size = shape[axis] if -len(shape) <= axis < len(shape) else None
        if size != 3:
            raise ValueError(f"cross: {name} must have size 3 along axis {axis}, got {size}")
    return _cross(x1, x2, axis=axis)


def multi_dot(arrays: Any, *, out: Any = None) -> Any:
    """``numpy.linalg.multi_dot``: the chained product, left to right (first and last
    arrays may be vectors)."""
    if out is not None:
        raise NotImplementedError("multi_dot: out= is not supported")
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("multi_dot: expecting at least two arrays")
    namespace = _core._namespace()
    result = arrays[0]
    for operand in arrays[1:]:
        result = namespace.dot(result, operand)
    return result


def matrix_power(a: Any, n: int) -> Any:
    """``a`` multiplied by itself ``n`` times (by squaring); ``n = 0`` the identity,
    ``n < 0`` the power of the inverse (evaluated eagerly)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"matrix_power: the exponent must be an integer, got {n!r}")
    var = _core.as_var(a)
    shape = var.type.shape
    if var.type.ndim < 2 or (None not in shape[-2:] and shape[-1] != shape[-2]):
        raise LinAlgError(
            f"matrix_power: needs square matrices in the last two axes, got shape {shape}"
        )
    n = int(n)
    if n < 0:
        return matrix_power(inv(a), -n)
    if n == 0:
        size = var.shape[-1]  # type: ignore[attr-defined]
        identity = T.eye(size, dtype=var.type.dtype)
        return _core.wrap(T.zeros_like(var) + identity)
    result: Any = None
    square: Any = _core.wrap(var)
    while n:
        if n & 1:
            result = square if result is None else matmul(result, square)
        n >>= 1
        if n:
            square = matmul(square, square)
    return result


# ----------------------------------------------------------------------------- norms
def _real_abs(x: Any) -> tuple[Var, np.dtype[Any]]:
    """``|x|`` as a real float Var (integers promoted to float64, as numpy.linalg does)."""
    var = _core.as_var(x)
    dtype = np.dtype(var.type.dtype)
    if dtype.kind in "biu":
        var = T.cast(var, "float64")
        dtype = np.dtype("float64")
    real = np.dtype(dtype.char.lower()) if dtype.kind == "c" else dtype
    return T.abs(var) if dtype.kind == "c" or dtype.kind == "f" else var, real


def _check_nonempty(var: Var, axes: tuple[int, ...], what: str) -> None:
    sizes = [var.type.shape[a] for a in axes]
    if 0 in sizes:
        raise ValueError(f"{what}: zero-size array to a reduction with no identity")


def _vector_reduce(magnitude: Var, axes: tuple[int, ...], ord: Any, keepdims: bool) -> Var:
    if ord == math.inf:
        _check_nonempty(magnitude, axes, "vector_norm (ord=inf)")
        return T.max(magnitude, axis=axes, keepdims=keepdims)
    if ord == -math.inf:
        _check_nonempty(magnitude, axes, "vector_norm (ord=-inf)")
        return T.min(magnitude, axis=axes, keepdims=keepdims)
    dtype = magnitude.type.dtype
    if ord == 0:
        nonzero = T.cast(T.neq(magnitude, 0), dtype)
        return T.sum(nonzero, axis=axes, keepdims=keepdims, dtype=dtype)
    if ord == 1:
        return T.sum(magnitude, axis=axes, keepdims=keepdims, dtype=dtype)
    if ord == 2:
        squares = T.sum(T.sqr(magnitude), axis=axes, keepdims=keepdims, dtype=dtype)
        return T.sqrt(squares)
    power = T.sum(T.pow(magnitude, np.asarray(ord, dtype)), axis=axes, keepdims=keepdims)
    return T.pow(power, np.asarray(1.0 / ord, dtype))


def vector_norm(
    x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2
) -> _core.ndarray:
    """The vector ``ord``-norm over ``axis`` (all axes when None): ``ord`` is a number,
    ``inf`` or ``-inf``; 0 counts the non-zero entries. Integers give float64."""
    if isinstance(ord, str):
        raise ValueError(f"vector_norm: invalid norm order {ord!r} for vectors")
    magnitude, _ = _real_abs(x)
    ndim = magnitude.type.ndim
    axes = _core.normalize_axis(axis, ndim, "vector_norm: axis")
    if axes is None:
        axes = tuple(range(ndim))
    return _core.wrap(_vector_reduce(magnitude, axes, ord, keepdims))


_SVD_ORDS = (2, -2, "nuc")


def _matrix_reduce(magnitude: Var, rows: int, cols: int, ord: Any, keepdims: bool) -> Var:
    """The matrix norms that need no decomposition, over axes (rows, cols)."""
    dtype = magnitude.type.dtype
    if ord in ("fro", "f"):
        return T.sqrt(T.sum(T.sqr(magnitude), axis=(rows, cols), keepdims=keepdims, dtype=dtype))
    if ord in (1, -1, math.inf, -math.inf):
        _check_nonempty(magnitude, (rows, cols), f"matrix_norm (ord={ord})")
        summed, reduced = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = T.sum(magnitude, axis=summed, keepdims=True, dtype=dtype)
        pick = T.max if ord in (1, math.inf) else T.min
        result = pick(sums, axis=reduced, keepdims=True)
        return result if keepdims else T.squeeze(result, axis=(rows, cols))
    raise ValueError(f"matrix_norm: invalid norm order {ord!r} for matrices")


def _matrix_norm(x: Any, rows: int, cols: int, ord: Any, keepdims: bool) -> _core.ndarray:
    if ord in _SVD_ORDS:
        value = _eager_value(x, "matrix_norm (ord 2, -2 or 'nuc')")
        if value.dtype.kind in "biu":
            value = value.astype(np.float64)
        return _core.wrap_value(
            np.asarray(np.linalg.norm(value, ord, axis=(rows, cols), keepdims=keepdims)),
            _core.device_of(x),
        )
    magnitude, _ = _real_abs(x)
    return _core.wrap(_matrix_reduce(magnitude, rows, cols, ord, keepdims))


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> _core.ndarray:
    """The matrix norm of the last two axes: ``'fro'``, ``'nuc'``, 1, -1, 2, -2, inf,
    -inf (2, -2 and 'nuc' use singular values, evaluated eagerly)."""
    ndim = _ndim(x)
    if ndim < 2:
        raise ValueError(f"matrix_norm: needs at least 2 dimensions, got {ndim}")
    return _matrix_norm(x, ndim - 2, ndim - 1, ord, keepdims)


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> _core.ndarray:
    """``numpy.linalg.norm``: a vector norm over one axis, a matrix norm over two, the
    2-norm of everything when ``ord`` and ``axis`` are None."""
    ndim = _ndim(x)
    if axis is None:
        if ord is None or (ord in ("f", "fro") and ndim == 2) or (ord == 2 and ndim == 1):
            return vector_norm(x, keepdims=keepdims, ord=2)
        axis = tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if len(axes) == 1:
        return vector_norm(x, axis=axes, keepdims=keepdims, ord=2 if ord is None else ord)
    if len(axes) == 2:
        rows, cols = (a % ndim if ndim else a for a in axes)
        if rows == cols:
            raise ValueError(f"norm: duplicate axes given: {axis}")
        return _matrix_norm(x, rows, cols, "fro" if ord is None else ord, keepdims)
    raise ValueError(f"norm: improper number of dimensions to norm (axis={axis})")


# ----------------------------------------------------------------------------- eager functions
def _eager_value(x: Any, name: str) -> np.ndarray:
    return _core.concrete(
        x if isinstance(x, _core.ndarray) else _core.wrap(_core.as_var(x)),
        f"jnp.linalg.{name} (computed eagerly with numpy.linalg: not available under @jit)",
    )


def _eager(name: str, compute: Callable[..., Any]) -> Callable[..., Any]:
    """A function that evaluates its array arguments and applies ``compute`` (NumPy) to
    them; results come back as concrete jnp arrays (namedtuples keep their type). Host
    work: 'cuda' arguments are copied to the host and the results back to the GPU."""

    def run(*args: Any, **kwargs: Any) -> Any:
        values = [_eager_value(a, name) if _is_array(a) else a for a in args]
        return _wrap_result(compute(*values, **kwargs), _core.device_of(*args))

    run.__name__ = name
    run.__doc__ = f"``numpy.linalg.{name}``, computed eagerly (not under ``@jit``)."
    return run


def _is_array(x: Any) -> bool:
    return isinstance(x, (_core.ndarray, np.ndarray, list, tuple, np.generic))


def _wrap_result(result: Any, device: str) -> Any:
    if isinstance(result, tuple):
        parts = [_wrap_result(part, device) for part in result]
        return type(result)(*parts) if hasattr(result, "_fields") else tuple(parts)
    if isinstance(result, (np.ndarray, np.generic)):
        return _core.wrap_value(np.asarray(result), device)
    return result


def _as_named(result_type: Any, compute: Callable[..., Any]) -> Callable[..., Any]:
    def named(*args: Any, **kwargs: Any) -> Any:
        result = compute(*args, **kwargs)
        return result_type(*result) if isinstance(result, tuple) else result

    return named


det = _eager("det", np.linalg.det)
inv = _eager("inv", np.linalg.inv)
solve = _eager("solve", np.linalg.solve)
cholesky = _eager("cholesky", np.linalg.cholesky)
qr = _eager("qr", _as_named(QRResult, np.linalg.qr))
svd = _eager("svd", _as_named(SVDResult, np.linalg.svd))
svdvals = _eager("svdvals", np.linalg.svdvals)
eigh = _eager("eigh", _as_named(EighResult, np.linalg.eigh))
eigvalsh = _eager("eigvalsh", np.linalg.eigvalsh)
eig = _eager("eig", _as_named(EigResult, np.linalg.eig))
eigvals = _eager("eigvals", np.linalg.eigvals)
slogdet = _eager("slogdet", _as_named(SlogdetResult, np.linalg.slogdet))
pinv = _eager("pinv", np.linalg.pinv)
matrix_rank = _eager("matrix_rank", np.linalg.matrix_rank)
lstsq = _eager("lstsq", np.linalg.lstsq)
cond = _eager("cond", np.linalg.cond)
