"""Checking symbolic gradients against finite differences: ``verify_grad`` (Theano's
``theano.gradient.verify_grad``; re-exported from jitgraph.gradient).

>>> import numpy as np
>>> import jitgraph.tensor as T
>>> verify_grad(lambda x: T.exp(x).sum(), [np.array([0.5, -1.0])])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from jitgraph.ir.types import TensorType

__all__ = ["GradientError", "numeric_grad", "verify_grad"]


class GradientError(Exception):
    """``verify_grad`` found the symbolic gradient far from the finite differences.

    ``arg`` is the input index, ``err_pos`` the flat element index, ``val1`` the symbolic
    (analytic) value and ``val2`` the numeric one (Theano's attribute names).
    """

    def __init__(
        self,
        arg: int,
        err_pos: int,
        shape: tuple[int, ...],
        val1: float,
        val2: float,
        abs_err: float,
        rel_err: float,
        abs_tol: float,
        rel_tol: float,
    ) -> None:
        super().__init__(arg, err_pos, shape, val1, val2, abs_err, rel_err, abs_tol, rel_tol)
        self.arg, self.err_pos, self.shape = arg, err_pos, shape
        self.val1, self.val2 = val1, val2
        self.abs_err, self.rel_err = abs_err, rel_err
        self.abs_tol, self.rel_tol = abs_tol, rel_tol

    def __str__(self) -> str:
        where = np.unravel_index(self.err_pos, self.shape) if self.shape else ()
        index = tuple(int(i) for i in where)
        return (
            f"the symbolic gradient and the finite differences disagree at element {index} of "
            f"input {self.arg} (shape {self.shape}): analytic {self.val1!r}, numeric "
            f"{self.val2!r}\n  abs. error {self.abs_err:.3g} (tolerance {self.abs_tol:.3g}), "
            f"rel. error {self.rel_err:.3g} (tolerance {self.rel_tol:.3g})"
        )


# ============================================================================ verify_grad
_EPSILON = {"float16": 1e-1, "float32": 3e-4, "float64": 1e-7}
_TOLERANCE = {"float16": 5e-2, "float32": 1e-2, "float64": 1e-4}


class numeric_grad:  # noqa: N801 - Theano's name
    """Central finite differences of the scalar function ``f`` at the point ``pt`` (a list
    of float arrays): ``gf`` holds one gradient array per input.

    >>> g = numeric_grad(lambda a: (a**2).sum(), [np.array([1.0, 3.0])])
    >>> np.round(g.gf[0], 5)
    array([2., 6.])
    """

    type_eps = _EPSILON

    def __init__(
        self,
        f: Callable[..., Any],
        pt: Sequence[Any] | np.ndarray,
        eps: float | None = None,
        out_type: str | None = None,
    ) -> None:
        packed = not isinstance(pt, (list, tuple))
        points = [np.array(p) for p in ([pt] if packed else pt)]
        if eps is None:
            eps = max(self.type_eps.get(str(p.dtype), 1e-7) for p in points)
        self.gf: Any = [self._partials(f, points, i, eps, out_type) for i in range(len(points))]
        if packed:
            self.gf = self.gf[0]

    @staticmethod
    def _partials(
        f: Callable[..., Any],
        points: list[np.ndarray],
        which: int,
        eps: float,
        out_type: str | None,
    ) -> np.ndarray:
        base = points[which]
        result = np.zeros(base.shape, dtype=out_type or base.dtype)
        flat = result.reshape(-1)
        for index in range(base.size):
            values = []
            for step in (eps, -eps):
                moved = base.copy()
                moved.reshape(-1)[index] += step
                arguments = [p.copy() for p in points]
                arguments[which] = moved
                values.append(np.asarray(f(*arguments), dtype=np.float64))
            flat[index] = (values[0] - values[1]) / (2 * eps)
        return result

    @staticmethod
    def abs_rel_err(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Elementwise absolute and relative errors; matching infinities and NaNs count as
        equal, any other non-finite difference as an infinite error."""
        a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            abs_err = np.abs(a64 - b64)
            same = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
            abs_err = np.where(same, 0.0, np.where(np.isnan(abs_err), np.inf, abs_err))
            rel_err = abs_err / np.maximum(np.abs(a64) + np.abs(b64), 1e-8)
            rel_err = np.where(same, 0.0, np.where(np.isnan(rel_err), np.inf, rel_err))
        return abs_err, rel_err

    def max_err(
        self, g_pt: Sequence[np.ndarray], abs_tol: float, rel_tol: float
    ) -> tuple[int, int, float, float]:
        """(input index, flat element index, abs. error, rel. error) of the worst element,
        worst meaning the largest min(abs_err / abs_tol, rel_err / rel_tol)."""
        numeric = self.gf if isinstance(self.gf, list) else [self.gf]
        best = (-1.0, 0, 0, 0.0, 0.0)
        for arg, (analytic, approx) in enumerate(zip(g_pt, numeric, strict=True)):
            if np.shape(analytic) != approx.shape:
                raise ValueError(
                    f"gradient {arg} has shape {np.shape(analytic)}, expected {approx.shape}"
                )
            abs_err, rel_err = self.abs_rel_err(analytic, approx)
            if abs_err.size == 0:
                continue
            scaled = np.minimum(abs_err / abs_tol, rel_err / rel_tol).reshape(-1)
            position = int(scaled.argmax())
            if scaled[position] > best[0]:
                best = (
                    float(scaled[position]),
                    arg,
                    position,
                    float(abs_err.reshape(-1)[position]),
                    float(rel_err.reshape(-1)[position]),
                )
        return best[1], best[2], best[3], best[4]


def verify_grad(
    fun: Callable[..., Any],
    pt: Sequence[Any],
    n_tests: int = 2,
    rng: Any = None,
    eps: float | None = None,
    out_type: str | None = None,
    abs_tol: float | None = None,
    rel_tol: float | None = None,
    mode: Any = None,
    cast_to_output_type: bool = False,
    no_debug_ref: bool = True,
) -> None:
    """Check ``grad`` of ``fun`` against central finite differences at the point ``pt``.

    ``fun`` takes symbolic variables (one per array of ``pt``, same dtypes) and returns
    one symbolic expression; the cost is ``sum(fun(*inputs) * R)`` for random projections
    ``R`` (``n_tests`` of them). Raises GradientError naming the worst element (input
    index, element, analytic vs numeric value, errors and tolerances).

    >>> import jitgraph.tensor as T
    >>> verify_grad(lambda a: T.exp(a) * a, [np.array([0.5, 1.5])])
    """
    points = _verify_points(pt)
    rng = np.random.RandomState(1234) if rng is None else rng
    abs_tol = max(_TOLERANCE[str(p.dtype)] for p in points) if abs_tol is None else abs_tol
    rel_tol = max(_TOLERANCE[str(p.dtype)] for p in points) if rel_tol is None else rel_tol
    checker = _GradientChecker(fun, points, mode)
    for _ in range(n_tests):
        projection = _random_projection(rng, checker.output_shape)
        if cast_to_output_type:
            projection = projection.astype(checker.output_dtype)

        def cost(*values: np.ndarray, projection: np.ndarray = projection) -> np.ndarray:
            return checker.cost(values, projection)

        numeric = numeric_grad(cost, points, eps, out_type)
        analytic = checker.gradients(points, projection)
        arg, position, abs_err, rel_err = numeric.max_err(analytic, abs_tol, rel_tol)
        if abs_err > abs_tol and rel_err > rel_tol:
            raise GradientError(
                arg,
                position,
                points[arg].shape,
                float(np.asarray(analytic[arg]).reshape(-1)[position]),
                float(numeric.gf[arg].reshape(-1)[position]),
                abs_err,
                rel_err,
                abs_tol,
                rel_tol,
            )


verify_grad.E_grad = GradientError  # type: ignore[attr-defined]  # Theano's attribute


def _verify_points(pt: Sequence[Any]) -> list[np.ndarray]:
    if not isinstance(pt, (list, tuple)):
        raise TypeError(f"verify_grad: pt must be a list of arrays, got {type(pt).__name__}")
    points = [np.array(p) for p in pt]
    for position, point in enumerate(points):
        if str(point.dtype) not in _EPSILON:
            raise TypeError(
                f"verify_grad can work only with floating point inputs, but input {position} "
                f"has dtype {point.dtype}"
            )
    return points


def _random_projection(rng: Any, shape: tuple[int, ...]) -> np.ndarray:
    # Not too small: tiny weights lose the precision of the finite differences.
    draw = (
        rng.random(shape)
        if hasattr(rng, "random") and not hasattr(rng, "rand")
        else rng.rand(*shape)
    )
    return np.asarray(draw, dtype=np.float64) + 0.5


class _GradientChecker:
    """The compiled functions verify_grad needs: output, cost and symbolic gradients."""

    def __init__(self, fun: Callable[..., Any], points: list[np.ndarray], mode: Any) -> None:
        import jitgraph.tensor
        from jitgraph.compile.function import function
        from jitgraph.gradient import grad

        T: Any = jitgraph.tensor

        self.inputs = [
            TensorType(p.dtype, tuple(1 if n == 1 else None for n in p.shape))(f"input {i}")
            for i, p in enumerate(points)
        ]
        output = fun(*self.inputs)
        if isinstance(output, (list, tuple)):
            raise NotImplementedError("verify_grad: fun must return one expression, not a list")
        output = T.as_tensor_variable(output)
        forward = function(self.inputs, output, mode=mode, on_unused_input="ignore")
        self.output_shape = tuple(np.shape(forward(*[p.copy() for p in points])))
        self.output_dtype = output.type.dtype
        projection = T.tensor("float64", (None,) * output.type.ndim, name="random_projection")
        cost = T.sum(projection * output)
        symbolic = grad(cost, self.inputs, disconnected_inputs="ignore")
        options = dict(mode=mode, on_unused_input="ignore", allow_input_downcast=True)
        self._cost = function([*self.inputs, projection], cost, **options)
        self._grads = function([*self.inputs, projection], symbolic, **options)

    def cost(self, values: Sequence[np.ndarray], projection: np.ndarray) -> np.ndarray:
        return self._cost(*values, projection)

    def gradients(self, values: Sequence[np.ndarray], projection: np.ndarray) -> list[np.ndarray]:
        return list(self._grads(*[v.copy() for v in values], projection))
