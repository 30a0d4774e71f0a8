"""BLAS-shaped ops: ``alpha * product(x, y) + beta * z`` as one node.

The ``use_blas`` pass (jitgraph.passes.blas) introduces them in place of a ``Dot`` whose
result is scaled and added to another value; the LLVM backend runs them through BLAS
(jitgraph.backends.llvm.blas), every other backend through ``perform``.

=======  ===================  ==========  ==========  =============
op       product              x           y           z and output
=======  ===================  ==========  ==========  =============
Gemm     matrix product       (m, k)      (k, n)      (m, n)
Gemv     matrix . vector      (m, k)      (k,)        (m,)
Ger      outer product        (m,)        (n,)        (m, n)
=======  ===================  ==========  ==========  =============

Inputs are ``(z, alpha, x, y, beta)``: ``alpha`` and ``beta`` are 0-d, and all five have
one dtype among float32, float64, complex64 and complex128 (integer products stay ``Dot``:
BLAS has none). ``z`` may broadcast along dims of static size 1 (a bias row), never widen
the product. The ops are out of place: the output is a new array.

``perform`` computes ``alpha * product + beta * z`` with NumPy in that order, which is, bit
for bit, what the replaced graph ``alpha * dot(x, y) + beta * z`` computed (a scale of 1
or -1 is applied as no-op or negation: see ``scale``).

>>> import jitgraph.tensor as T
>>> x, y, z = T.dmatrices("x", "y", "z")
>>> alpha, beta = T.constant(0.5, dtype="float64"), T.constant(2.0, dtype="float64")
>>> Gemm()(z, alpha, x, y, beta).type
TensorType(float64, matrix)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from jitgraph.ir.graph import Node, Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import GradTerm, GraphError, NoGradientError, Op

__all__ = ["BLAS_DTYPES", "Gemm", "Gemv", "Ger", "ScaledProduct", "scale"]

BLAS_DTYPES = frozenset({"float32", "float64", "complex64", "complex128"})

_INPUT_NAMES = ("z", "alpha", "x", "y", "beta")


@dataclasses.dataclass(frozen=True)
class ScaledProduct(Op):
    """``alpha * product(x, y) + beta * z``; subclasses say which product (see the module
    docstring for the shapes)."""

    operand_ranks: ClassVar[tuple[int, int]]
    output_rank: ClassVar[int]
    blas_name: ClassVar[str]
    product_description: ClassVar[str]

    # ---- the product, per subclass
    @staticmethod
    def product_shape(x_shape: tuple[Any, ...], y_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        raise NotImplementedError

    @staticmethod
    def contracted(x_shape: tuple[Any, ...], y_shape: tuple[Any, ...]) -> tuple[Any, Any] | None:
        """The two sizes that must agree (None: the product contracts nothing)."""
        raise NotImplementedError

    @staticmethod
    def product(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # ---- the Op protocol
    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        if len(inputs) != 5:
            raise TypeError(f"{self.blas_name} takes (z, alpha, x, y, beta), got {len(inputs)}")
        z, alpha, x, y, beta = (as_tensor_variable(v) for v in inputs)
        self._check_types(z, alpha, x, y, beta)
        product = self.product_shape(x.type.shape, y.type.shape)
        contracted = self.contracted(x.type.shape, y.type.shape)
        if contracted is not None and None not in contracted and contracted[0] != contracted[1]:
            raise ValueError(self._alignment_message(x, y, x.type.shape, y.type.shape, ""))
        shape = tuple(
            _output_dim(self.blas_name, z, axis, p, s)
            for axis, (p, s) in enumerate(zip(product, z.type.shape, strict=True))
        )
        return self.make_apply([z, alpha, x, y, beta], [TensorType(z.type.dtype, shape)])

    def _check_types(self, *variables: Var) -> None:
        expected_ranks = (self.output_rank, 0, *self.operand_ranks, 0)
        for name, var, rank in zip(_INPUT_NAMES, variables, expected_ranks, strict=True):
            if var.type.ndim != rank:
                raise TypeError(
                    f"{self.blas_name}: {name} must be {rank}-d, got {var.describe()} of type "
                    f"{var.type}"
                )
        dtype = variables[0].type.dtype
        if dtype not in BLAS_DTYPES or any(v.type.dtype != dtype for v in variables):
            found = ", ".join(f"{n}: {v.type.dtype}" for n, v in zip(_INPUT_NAMES, variables))
            raise TypeError(
                f"{self.blas_name}: all inputs must have one dtype among "
                f"{sorted(BLAS_DTYPES)}; got {found}"
            )

    def _alignment_message(self, x: Var, y: Var, x_shape: Any, y_shape: Any, when: str) -> str:
        sizes = self.contracted(tuple(x_shape), tuple(y_shape))
        return (
            f"{self.blas_name}: shapes {tuple(x_shape)} and {tuple(y_shape)} are not aligned"
            f"{' ' + when if when else ''}: {sizes[0] if sizes else None} (contracted axis of "
            f"{x.describe()}) != {sizes[1] if sizes else None} (contracted axis of "
            f"{y.describe()})"
        )

    def check_runtime_shapes(self, node: Node, inputs: Sequence[np.ndarray]) -> tuple[int, ...]:
        """The output's shape for ``inputs``; GraphError naming the inputs when the
        contracted sizes differ or ``z`` does not match the product where it does not
        broadcast (dims of static size 1 only, as for any elementwise add)."""
        z, _, x, y, _ = inputs
        contracted = self.contracted(x.shape, y.shape)
        if contracted is not None and contracted[0] != contracted[1]:
            _, _, x_var, y_var, _ = node.inputs
            raise GraphError(self._alignment_message(x_var, y_var, x.shape, y.shape, "at run time"))
        shape = self.product_shape(x.shape, y.shape)
        z_static = node.inputs[0].type.shape
        for axis, size in enumerate(shape):
            if z_static[axis] != 1 and z.shape[axis] != size:
                raise GraphError(
                    f"{self.blas_name}: z ({node.inputs[0].describe()}) has shape {z.shape} "
                    f"but the {self.product_description} has shape {shape}"
                )
        return shape

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        self.check_runtime_shapes(node, inputs)
        z, alpha, x, y, beta = inputs
        return [np.add(scale(alpha, self.product(x, y)), scale(beta, z))]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        _, _, x_shape, y_shape, _ = input_shapes
        return [self.product_shape(tuple(x_shape), tuple(y_shape))]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        raise NoGradientError(
            f"{self} has no gradient: the use_blas optimization introduces it after "
            "differentiation (take gradients of the unoptimized graph)"
        )

    def short_description(self) -> str:
        return f"alpha * {self.product_description} + beta * z ({self.blas_name})"


def scale(factor: np.ndarray, value: np.ndarray) -> np.ndarray:
    """``factor * value``, where a factor of 1 or -1 leaves ``value`` or negates it: the
    graph the op replaced may not have multiplied at all (``dot(x, y) + z``, ``z -
    dot(x, y)``). Exact for real dtypes; for complex ones it differs from multiplying by
    ``1+0j`` only where a component is inf or NaN (the multiplication would give NaN)."""
    if factor == 1:
        return value
    if factor == -1:
        return np.negative(value)
    return np.multiply(factor, value)


def _output_dim(name: str, z: Var, axis: int, product: int | None, z_dim: int | None) -> Any:
    """The static size of the output along ``axis``: the product's, or z's where only z
    knows it. ValueError when z would widen the product (it broadcasts, never the reverse)."""
    if z_dim == 1 or z_dim == product:
        return product
    if product == 1 or (product is not None and z_dim is not None):
        raise ValueError(
            f"{name}: z ({z.describe()}, static shape {z.type.shape}) does not fit the "
            f"product along axis {axis}: {z_dim} against {product} (z may only broadcast "
            "from static size 1)"
        )
    return product if product is not None else z_dim


@dataclasses.dataclass(frozen=True)
class Gemm(ScaledProduct):
    """``alpha * dot(x, y) + beta * z`` for matrices x (m, k) and y (k, n)."""

    operand_ranks = (2, 2)
    output_rank = 2
    blas_name = "gemm"
    product_description = "matrix product"

    @staticmethod
    def product_shape(x_shape: tuple[Any, ...], y_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        return (x_shape[0], y_shape[1])

    @staticmethod
    def contracted(x_shape: tuple[Any, ...], y_shape: tuple[Any, ...]) -> tuple[Any, Any] | None:
        return (x_shape[1], y_shape[0])

    @staticmethod
    def product(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.dot(x, y)


@dataclasses.dataclass(frozen=True)
class Gemv(ScaledProduct):
    """``alpha * dot(x, y) + beta * z`` for a matrix x (m, k) and a vector y (k,)."""

    operand_ranks = (2, 1)
    output_rank = 1
    blas_name = "gemv"
    product_description = "matrix-vector product"

    @staticmethod
    def product_shape(x_shape: tuple[Any, ...], y_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        return (x_shape[0],)

    @staticmethod
    def contracted(x_shape: tuple[Any, ...], y_shape: tuple[Any, ...]) -> tuple[Any, Any] | None:
        return (x_shape[1], y_shape[0])

    @staticmethod
    def product(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.dot(x, y)


@dataclasses.dataclass(frozen=True)
class Ger(ScaledProduct):
    """``alpha * outer(x, y) + beta * z`` for vectors x (m,) and y (n,)."""

    operand_ranks = (1, 1)
    output_rank = 2
    blas_name = "ger"
    product_description = "outer product"

    @staticmethod
    def product_shape(x_shape: tuple[Any, ...], y_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        return (x_shape[0], y_shape[0])

    @staticmethod
    def contracted(x_shape: tuple[Any, ...], y_shape: tuple[Any, ...]) -> tuple[Any, Any] | None:
        return None

    @staticmethod
    def product(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        # What the replaced graph computed (T.outer is this dot of a column and a row): for
        # complex values BLAS's product of one term may round unlike numpy.multiply.
        return np.dot(x[:, None], y[None, :])
