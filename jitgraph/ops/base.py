"""The Op protocol: what every operation of the IR provides.

An op is a hashable value object (a frozen dataclass): equal ops applied to equal
inputs compute the same thing, which is what hash-consing and CSE rely on. Each op
gives

- ``make_node(*inputs)``: validation and type inference; raises ``TypeError`` or
  ``ValueError`` in the user's terms;
- ``perform(node, inputs)``: the NumPy reference implementation;
- ``infer_shape(node, input_shapes)``: output shapes as tuples of symbolic scalars;
- ``grad(node, output_grads)``: the gradient graph (reverse mode; jitgraph.gradient drives
  it). Each input gets a gradient term: a variable, ``DISCONNECTED`` (the input does not
  influence the outputs differentiably, e.g. an index or a shape argument) or
  ``Undefined(reason)`` (the gradient does not exist; an error if the cost needs it);
- ``vectorize_node(node, batched, inputs)``: the op's batching rule (graph vectorization,
  jitgraph.ir.vectorize, drives it); ``None`` declines and a Blockwise loop is used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from jitgraph.ir.graph import Node, Var
from jitgraph.ir.types import Type


class GraphError(ValueError):
    """A run-time failure inside a graph, reported with the node and the user's line."""


class NoGradientError(TypeError):
    """An op without a gradient was asked for one (jitgraph.gradient adds the user's line)."""


class Disconnected:
    """The gradient term of an input that does not influence the op's outputs through a
    differentiable path (index, shape and integer-count arguments). Use ``DISCONNECTED``."""

    _instance: Disconnected | None = None

    def __new__(cls) -> Disconnected:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DISCONNECTED"


DISCONNECTED = Disconnected()


@dataclasses.dataclass(frozen=True)
class Undefined:
    """The gradient term of an input whose gradient does not exist mathematically; using
    it raises an error that quotes ``reason``."""

    reason: str


GradTerm = Var | Disconnected | Undefined


@dataclasses.dataclass(frozen=True)
class Op:
    """Base class of all ops. Subclasses are frozen dataclasses whose fields are the
    op's parameters (they define equality, hashing and the structural signature)."""

    # True where ``perform`` only makes a view or reads metadata (no loop over the data):
    # backends run such ops as they are and do not count them as missing lowerings.
    only_views: ClassVar[bool] = False

    def make_node(self, *inputs: Any) -> Node:
        raise NotImplementedError

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError(f"{self} has no reference implementation")

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        raise NotImplementedError(f"{self} has no shape inference")

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        """Gradient terms of a scalar cost w.r.t. each input of ``node``, given the
        gradient w.r.t. each output (zeros of the output's shape where an output does not
        reach the cost). A variable term has its input's shape and a float dtype; the
        driver (jitgraph.gradient) handles integer inputs and casts."""
        raise NoGradientError(f"{self} has no gradient")

    def vectorize_node(
        self, node: Node, batched: Sequence[bool], inputs: Sequence[Var]
    ) -> list[Var] | None:
        """The outputs of ``node`` computed for every element of a batch, or ``None``.

        ``batched[i]`` says whether input ``i`` is batched; ``inputs`` are the new inputs,
        where a batched one has one extra LEADING axis (shape ``(B, *original)``) and an
        unbatched one is the original value, shared by every element. Return one variable
        per output of ``node``: with the leading batch axis (same dtype, one more dim), or,
        for an output that cannot vary per batch element, without it (``Shape`` returns the
        element's shape). Return ``None`` to decline (e.g. a batched index): the driver
        (jitgraph.ir.vectorize) then falls back to ``Blockwise(op, batched)``, a loop that
        is correct for every op. This default declines. Shared helpers (``lift``,
        ``align``, ``shift_axes``, ...) live in jitgraph.ir.vectorize; import them inside
        the method (that module imports the op modules).
        """
        return None

    def do_constant_folding(self, node: Node) -> bool:
        """Whether ``node`` may be computed at compile time when its inputs are constants
        (False for ops with an effect at run time, such as printing.Print)."""
        return True

    def __call__(self, *inputs: Any) -> Any:
        node = self.make_node(*inputs)
        return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)

    # ---- identity and display
    def params(self) -> tuple[tuple[str, Any], ...]:
        return tuple((f.name, getattr(self, f.name)) for f in dataclasses.fields(self))

    def signature(self) -> str:
        """Canonical text of the op's identity, used by the structural graph hash."""
        args = ",".join(f"{k}={_canonical(v)}" for k, v in self.params())
        return f"{type(self).__module__}.{type(self).__qualname__}({args})"

    def short_description(self) -> str:
        return str(self)

    def __str__(self) -> str:
        params = self.params()
        if not params:
            return type(self).__name__
        return f"{type(self).__name__}{{{', '.join(_display(v) for _, v in params)}}}"

    def make_apply(self, inputs: Sequence[Var], output_types: Sequence[Type]) -> Node:
        return Node.create(self, inputs, output_types)


def _canonical(value: Any) -> str:
    if isinstance(value, Op):
        return value.signature()
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(_canonical(v) for v in value) + ")"
    if isinstance(value, slice):
        return f"slice({_canonical(value.start)},{_canonical(value.stop)},{_canonical(value.step)})"
    if hasattr(value, "signature"):
        return str(value.signature())
    return repr(value)


def _display(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_display(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return str(value)
