"""Tensor variables: the Python operators and methods of Theano's TensorVariable.

Every operator and method delegates to the function of the same meaning in
``jitgraph.tensor``; none computes anything itself.

>>> import jitgraph.tensor as T
>>> x = T.dmatrix("x")
>>> (x.T.shape[0] * 2).dtype, x.sum(axis=0).ndim
('int64', 1)
"""

from __future__ import annotations

from typing import Any

from jitgraph.ir.graph import Const, Var
from jitgraph.ir.types import TensorType


def _T() -> Any:
    import jitgraph.tensor

    return jitgraph.tensor


class _TensorOperators:
    """Operators and methods shared by tensor variables, constants and shared variables."""

    __slots__ = ()
    type: TensorType

    # ---- arithmetic
    def __add__(self, other: Any) -> Var:
        return _T().add(self, other)

    def __radd__(self, other: Any) -> Var:
        return _T().add(other, self)

    def __sub__(self, other: Any) -> Var:
        return _T().sub(self, other)

    def __rsub__(self, other: Any) -> Var:
        return _T().sub(other, self)

    def __mul__(self, other: Any) -> Var:
        return _T().mul(self, other)

    def __rmul__(self, other: Any) -> Var:
        return _T().mul(other, self)

    def __truediv__(self, other: Any) -> Var:
        return _T().true_div(self, other)

    def __rtruediv__(self, other: Any) -> Var:
        return _T().true_div(other, self)

    def __floordiv__(self, other: Any) -> Var:
        return _T().int_div(self, other)

    def __rfloordiv__(self, other: Any) -> Var:
        return _T().int_div(other, self)

    def __mod__(self, other: Any) -> Var:
        return _T().mod(self, other)

    def __rmod__(self, other: Any) -> Var:
        return _T().mod(other, self)

    def __pow__(self, other: Any) -> Var:
        return _T().pow(self, other)

    def __rpow__(self, other: Any) -> Var:
        return _T().pow(other, self)

    def __neg__(self) -> Var:
        return _T().neg(self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Var:
        return _T().abs_(self)

    def __matmul__(self, other: Any) -> Var:
        return _T().matmul(self, other)

    def __rmatmul__(self, other: Any) -> Var:
        return _T().matmul(other, self)

    # ---- comparisons (symbolic; == and != stay identity as in Theano: use T.eq/T.neq)
    def __lt__(self, other: Any) -> Var:
        return _T().lt(self, other)

    def __le__(self, other: Any) -> Var:
        return _T().le(self, other)

    def __gt__(self, other: Any) -> Var:
        return _T().gt(self, other)

    def __ge__(self, other: Any) -> Var:
        return _T().ge(self, other)

    # ---- bitwise / logical
    def __invert__(self) -> Var:
        return _T().invert(self)

    def __and__(self, other: Any) -> Var:
        return _T().and_(self, other)

    def __rand__(self, other: Any) -> Var:
        return _T().and_(other, self)

    def __or__(self, other: Any) -> Var:
        return _T().or_(self, other)

    def __ror__(self, other: Any) -> Var:
        return _T().or_(other, self)

    def __xor__(self, other: Any) -> Var:
        return _T().xor(self, other)

    def __rxor__(self, other: Any) -> Var:
        return _T().xor(other, self)

    # ---- Python protocols that cannot work on symbols
    def __bool__(self) -> bool:
        raise TypeError(
            f"the truth value of the symbolic variable {self.describe()} is unknown until "  # type: ignore[attr-defined]
            "the function runs; use T.switch / ifelse for conditions, and T.eq/T.neq "
            "(not ==) to compare values"
        )

    def __len__(self) -> int:
        raise TypeError(
            "len() of a symbolic tensor is unknown when the graph is built; use x.shape[0]"
        )

    def __iter__(self) -> Any:
        length = self.type.shape[0] if self.type.ndim else None
        if length is None:
            raise TypeError(
                f"cannot iterate over {self.describe()}: its length is not known statically "  # type: ignore[attr-defined]
                "(iterate over range(n) and index, or use scan)"
            )
        return (self[i] for i in range(length))

    def __index__(self) -> int:
        raise TypeError("a symbolic tensor cannot be used as a Python index")

    # ---- indexing
    def __getitem__(self, key: Any) -> Var:
        return _T().getitem(self, key)

    # ---- attributes
    @property
    def dtype(self) -> str:
        return self.type.dtype

    @property
    def ndim(self) -> int:
        return self.type.ndim

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return self.type.broadcastable

    @property
    def shape(self) -> Var:
        return _T().shape(self)

    @property
    def size(self) -> Var:
        return _T().size(self)

    @property
    def T(self) -> Var:
        return _T().transpose(self)

    @property
    def real(self) -> Var:
        return _T().real(self)

    @property
    def imag(self) -> Var:
        return _T().imag(self)

    # ---- methods (Theano's TensorVariable API)
    def dimshuffle(self, *pattern: Any) -> Var:
        return _T().dimshuffle(self, *pattern)

    def reshape(self, shape: Any, *more: Any, ndim: int | None = None) -> Var:
        if more:
            shape = (shape, *more)
        return _T().reshape(self, shape, ndim=ndim)

    def flatten(self, ndim: int = 1) -> Var:
        return _T().flatten(self, ndim)

    def transpose(self, *axes: Any) -> Var:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _T().transpose(self, axes or None)

    def squeeze(self, axis: Any = None) -> Var:
        return _T().squeeze(self, axis)

    def astype(self, dtype: Any) -> Var:
        return _T().cast(self, dtype)

    def sum(
        self, axis: Any = None, dtype: Any = None, keepdims: bool = False, acc_dtype: Any = None
    ) -> Var:
        return _T().sum(self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype)

    def prod(
        self, axis: Any = None, dtype: Any = None, keepdims: bool = False, acc_dtype: Any = None
    ) -> Var:
        return _T().prod(self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype)

    def mean(
        self, axis: Any = None, dtype: Any = None, keepdims: bool = False, acc_dtype: Any = None
    ) -> Var:
        return _T().mean(self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype)

    def var(
        self, axis: Any = None, ddof: int = 0, keepdims: bool = False, corrected: bool = False
    ) -> Var:
        return _T().var(self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)

    def std(
        self, axis: Any = None, ddof: int = 0, keepdims: bool = False, corrected: bool = False
    ) -> Var:
        return _T().std(self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)

    def max(self, axis: Any = None, keepdims: bool = False) -> Var:
        return _T().max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Var:
        return _T().min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis: Any = None, keepdims: bool = False) -> Var:
        return _T().argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis: Any = None, keepdims: bool = False) -> Var:
        return _T().argmin(self, axis=axis, keepdims=keepdims)

    def all(self, axis: Any = None, keepdims: bool = False) -> Var:
        return _T().all(self, axis=axis, keepdims=keepdims)

    def any(self, axis: Any = None, keepdims: bool = False) -> Var:
        return _T().any(self, axis=axis, keepdims=keepdims)

    def dot(self, other: Any) -> Var:
        return _T().dot(self, other)

    def clip(self, a_min: Any, a_max: Any) -> Var:
        return _T().clip(self, a_min, a_max)

    def round(self, mode: str | None = None) -> Var:
        return _T().round(self, mode)

    def conj(self) -> Var:
        return _T().conj(self)

    def norm(self, L: int = 2, axis: Any = None, keepdims: bool = False) -> Var:
        return _T().norm(self, L, axis=axis, keepdims=keepdims)

    def nonzero(self, return_matrix: bool = False) -> Any:
        return _T().nonzero(self, return_matrix=return_matrix)

    def repeat(self, repeats: Any, axis: Any = None) -> Var:
        return _T().repeat(self, repeats, axis)

    def fill(self, value: Any) -> Var:
        return _T().fill(self, value)

    def zeros_like(self, dtype: Any = None) -> Var:
        return _T().zeros_like(self, dtype=dtype)

    def ones_like(self, dtype: Any = None) -> Var:
        return _T().ones_like(self, dtype=dtype)

    def copy(self, name: str | None = None) -> Var:
        return _T().tensor_copy(self, name=name)

    def cumsum(self, axis: Any = None) -> Var:
        return _T().cumsum(self, axis)

    def cumprod(self, axis: Any = None) -> Var:
        return _T().cumprod(self, axis)

    def sort(self, axis: int = -1) -> Var:
        return _T().sort(self, axis)

    def argsort(self, axis: int = -1) -> Var:
        return _T().argsort(self, axis)

    def trace(self) -> Var:
        return _T().trace(self)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Var:
        return _T().diagonal(self, offset, axis1, axis2)

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{self.describe()} is symbolic and has no value yet; compile it with "  # type: ignore[attr-defined]
            "jitgraph.function([...], expr) and call the function (or use expr.eval())"
        )

    def eval(self, inputs_to_values: dict[Any, Any] | None = None) -> Any:
        """Compile and evaluate this expression (Theano's ``Variable.eval``)."""
        from jitgraph.compile.function import function

        inputs_to_values = inputs_to_values or {}
        inputs = list(inputs_to_values)
        f = function(inputs, self, on_unused_input="ignore")
        return f(*[inputs_to_values[v] for v in inputs])


class TensorVariable(_TensorOperators, Var):
    """A symbolic tensor (Theano's ``TensorVariable``)."""

    __slots__ = ()


class TensorConstant(_TensorOperators, Const):
    """A constant tensor (Theano's ``TensorConstant``); ``.data`` holds the value."""

    __slots__ = ()

    def signature(self) -> bytes:
        return self.content_key()


TensorType.variable_class = TensorVariable
