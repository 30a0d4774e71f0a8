"""Functional autodiff: ``jitgraph.grad(fn)`` and ``jitgraph.value_and_grad(fn)`` of a
Python function of ``jitgraph.numpy`` arrays, traced like ``@jit`` and composable with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from jitgraph.dtypes import PYTHON_SCALARS
from jitgraph.ir.graph import Var
from jitgraph.jit import (
    JitFunction,
    Lowered,
    _core,
    flatten,
    leaf_paths,
    unflatten,
)

__all__ = ["grad", "value_and_grad"]


# ----------------------------------------------------------------------------- grad
def grad(fn: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Any:
    """The function computing the gradient of ``fn`` (a scalar float output) with respect
    to its arguments ``argnums`` (an int, or a tuple: a tuple of gradients), each shaped
    like its argument (a tree of arrays for a tree). ``has_aux``: ``fn`` returns
    ``(output, aux)`` and the result is ``(gradient, aux)``. Compiled and cached per
    argument signature like :func:`jit`; under ``jit`` it traces through.

    >>> import numpy as np, jitgraph
    >>> jitgraph.grad(lambda x: x * x)(3.0)
    array(6.)
    """
    return _GradFunction(fn, argnums, has_aux, with_value=False)


def value_and_grad(
    fn: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Any:
    """Like :func:`grad`, returning ``(value, gradient)`` (``((value, aux), gradient)``
    with ``has_aux``).

    >>> import jitgraph
    >>> jitgraph.value_and_grad(lambda x: x**3)(2.0)
    (array(8.), array(12.))
    """
    return _GradFunction(fn, argnums, has_aux, with_value=True)


class _GradFunction:
    """The callable ``grad``/``value_and_grad`` return: under tracing it builds the
    gradient graph; otherwise a ``@jit`` of that does (one compilation per signature)."""

    def __init__(
        self, fn: Callable[..., Any], argnums: int | Sequence[int], has_aux: bool, with_value: bool
    ) -> None:
        if not callable(fn):
            raise TypeError(f"grad() takes a callable, got {type(fn).__name__}")
        if isinstance(argnums, int) and not isinstance(argnums, bool):
            positions: tuple[int, ...] = (argnums,)
        elif isinstance(argnums, (tuple, list)) and all(
            isinstance(a, int) and not isinstance(a, bool) for a in argnums
        ):
            positions = tuple(argnums)
        else:
            raise TypeError(f"grad: argnums must be an int or a tuple of ints, got {argnums!r}")
        self._fn = fn
        self._argnums = argnums
        self._positions = positions
        self._has_aux = has_aux
        self._with_value = with_value
        self._options = (argnums, has_aux, with_value)
        functools.update_wrapper(self, fn, updated=())  # not fn.__dict__: it may be a JitFunction
        self._compiled = JitFunction(self._symbolic, None, None, None)
        self._compiled._fingerprinted = self
        self._compiled._where = self._where

    @property
    def _where(self) -> str:
        kind = "value_and_grad" if self._with_value else "grad"
        return f"{kind}({getattr(self._fn, '__name__', 'function')})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _core().is_tracing():
            return self._symbolic(*args, **kwargs)
        return self._compiled(*args, **kwargs)

    def cache_info(self) -> dict[str, int]:
        return self._compiled.cache_info()

    def lower(self, *args: Any, **kwargs: Any) -> Lowered:
        return self._compiled.lower(*args, **kwargs)

    def _symbolic(self, *args: Any, **kwargs: Any) -> Any:
        """The gradient graph for (traced or concrete) ``args``, as jnp arrays."""
        from jitgraph.gradient import grad as symbolic_grad

        core = _core()
        args_list = list(args)
        wrt: list[Var] = []
        structures: list[Any] = []
        for position in self._positions:
            if not -len(args) <= position < len(args):
                raise TypeError(
                    f"{self._where}: argnums={self._argnums!r} names argument {position}, but "
                    f"the function was called with {len(args)} positional argument(s)"
                )
            leaves: list[Any] = []
            structure = flatten(args_list[position], leaves)
            paths = leaf_paths(structure)
            arrays = [
                self._differentiable(leaf, position, path)
                for leaf, path in zip(leaves, paths, strict=True)
            ]
            args_list[position] = unflatten(structure, iter(arrays))
            wrt.extend(a._variable for a in arrays)
            structures.append((structure, len(arrays)))
        result = self._fn(*args_list, **kwargs)
        value, aux = self._split_aux(result)
        cost = self._scalar_cost(value)
        grads = symbolic_grad(
            cost._variable, wrt, disconnected_inputs="ignore", return_disconnected="zero"
        )
        flat = iter([core.wrap(g) for g in grads])
        trees = [unflatten(s, (next(flat) for _ in range(n))) for s, n in structures]
        gradient = trees[0] if isinstance(self._argnums, int) else tuple(trees)
        head = (value, aux) if self._has_aux else value
        if self._with_value:
            return head, gradient
        return (gradient, aux) if self._has_aux else gradient

    def _differentiable(self, leaf: Any, position: int, path: str) -> Any:
        core = _core()
        array = leaf if isinstance(leaf, core.ndarray) else core.wrap(core.as_var(leaf))
        if array.dtype.kind != "f":
            raise TypeError(
                f"{self._where} requires real-valued floating-point inputs, but argument "
                f"{position}{path} has dtype {array.dtype}. Convert it to a float array "
                "(x.astype(float)) or leave it out of argnums"
            )
        return array

    def _split_aux(self, result: Any) -> tuple[Any, Any]:
        if not self._has_aux:
            return result, None
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise TypeError(
                f"{self._where} with has_aux=True needs the function to return a pair "
                f"(output, aux), got {type(result).__name__}"
            )
        return result[0], result[1]

    def _scalar_cost(self, value: Any) -> Any:
        core = _core()
        if not isinstance(value, core.ndarray):
            if isinstance(value, (np.ndarray, np.generic, *PYTHON_SCALARS)):
                value = core.wrap(core.as_var(value))
            else:
                raise TypeError(
                    f"{self._where}: the function must return a scalar array, got "
                    f"{type(value).__name__}"
                )
        if value.ndim != 0:
            dims = ["?" if d is None else str(d) for d in value._variable.type.shape]
            shape = "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
            raise TypeError(
                f"{self._where}: gradients are defined only for scalar-output functions; "
                f"the output has shape {shape}. Reduce it first (e.g. .sum())"
            )
        if value.dtype.kind != "f":
            raise TypeError(
                f"{self._where} requires a real floating-point output, got dtype {value.dtype}"
            )
        return value
