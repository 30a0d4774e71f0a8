"""THE elementwise op table.

Every elementwise operation is one ``ScalarOp`` entry here: its NumPy name, arity,
NumPy reference, dtype rule, gradient, backend lowerings and algebraic flags. The
reference executor, autodiff, the rewrites, the backends and the tests all read this
table; none keeps a private per-op list. ``Elemwise`` (ops/elemwise.py) lifts an entry
to arrays with broadcasting.

A dtype rule maps the input dtypes to ``(compute dtypes, output dtype)``: inputs are
cast to their compute dtypes before the reference runs, and its result is cast to the
output dtype. The rules follow Theano (e.g. ``exp`` of int8 is float32, of int32 float64).

>>> SCALAR_OPS["add"].dtype_rule(("int8", "float32"))
(('float32', 'float32'), 'float32')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.special

from jitgraph import dtypes

DtypeRule = Callable[[tuple[str, ...]], tuple[tuple[str, ...], str]]


@dataclasses.dataclass(frozen=True, eq=False)
class ScalarOp:
    """One elementwise operation. Identity is the name (unique in the table)."""

    name: str  # the NumPy name where NumPy has one
    arity: int
    impl: Callable[..., Any]  # NumPy reference on inputs already cast to compute dtypes
    dtype_rule: DtypeRule
    # dtype kinds accepted ('b' bool, 'i' int, 'u' uint, 'f' float, 'c' complex)
    accepts: str = "biufc"
    theano_name: str | None = None  # Theano's name when it differs (true_div, sgn, ...)
    symbol: str | None = None  # infix symbol for pretty printing (pp)
    commutative: bool = False
    associative: bool = False
    identity: float | None = None
    # Input domain for generated tests: 'any', 'positive', 'unit' (|x| <= 1), 'ge1',
    # 'nonzero', 'small' (|x| <= 20: avoids overflow noise in exp-like ops).
    test_domain: str = "any"
    # Filled by later layers (gradient, LLVM and CUDA lowerings); None means "none yet".
    grad: Callable[..., Any] | None = None
    llvm: Callable[..., Any] | None = None
    cuda: str | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ScalarOp) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("ScalarOp", self.name))

    def signature(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.theano_name or self.name

    def output_dtype(self, input_dtypes: tuple[str, ...]) -> str:
        return self.dtype_rule(input_dtypes)[1]


SCALAR_OPS: dict[str, ScalarOp] = {}


def register(op: ScalarOp) -> ScalarOp:
    if op.name in SCALAR_OPS:
        raise ValueError(f"scalar op {op.name!r} is registered twice")
    if op.arity < 1:
        raise ValueError(f"scalar op {op.name!r}: arity must be >= 1")
    if not set(op.accepts) <= set("biufc"):
        raise ValueError(f"scalar op {op.name!r}: bad accepts {op.accepts!r}")
    SCALAR_OPS[op.name] = op
    return op


# ----------------------------------------------------------------------------- dtype rules
def upcast_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Inputs and output in the common upcast dtype (add, mul, maximum, ...)."""
    out = dtypes.upcast(*in_dtypes)
    return (out,) * len(in_dtypes), out


def float_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Math on floats: integers are upgraded (int8 -> float32, int32 -> float64)."""
    out = dtypes.upgrade_to_float(dtypes.upcast(*in_dtypes))
    return (out,) * len(in_dtypes), out


def compare_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Compute in the common dtype, answer bool."""
    common = dtypes.upcast(*in_dtypes)
    return (common,) * len(in_dtypes), "bool"


def predicate_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """A test of each value (isnan, isinf): inputs as they are, answer bool."""
    return in_dtypes, "bool"


def real_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """abs/real/imag/angle: complex in, real out; real dtypes unchanged."""
    common = dtypes.upcast(*in_dtypes)
    return (common,) * len(in_dtypes), dtypes.complex_to_real(common)


def cast_rule(target: str) -> DtypeRule:
    def rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
        return in_dtypes, target

    return rule


def switch_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """switch(cond, a, b): the condition as bool, the branches in their upcast dtype."""
    out = dtypes.upcast(*in_dtypes[1:])
    return ("bool", out, out), out


# ----------------------------------------------------------------------------- the table
# The entries below are the primitives; each says everything about its op.
register(ScalarOp("add", 2, np.add, upcast_rule, symbol="+", commutative=True,
                  associative=True, identity=0))
register(ScalarOp("subtract", 2, np.subtract, upcast_rule, theano_name="sub", symbol="-",
                  accepts="iufc"))
register(ScalarOp("multiply", 2, np.multiply, upcast_rule, theano_name="mul", symbol="*",
                  commutative=True, associative=True, identity=1))
register(ScalarOp("true_divide", 2, np.true_divide, float_rule, theano_name="true_div",
                  symbol="/", test_domain="nonzero"))
register(ScalarOp("negative", 1, np.negative, upcast_rule, theano_name="neg", symbol="-",
                  accepts="iufc"))
register(ScalarOp("exp", 1, np.exp, float_rule, test_domain="small"))
register(ScalarOp("tanh", 1, np.tanh, float_rule))
register(ScalarOp("absolute", 1, np.absolute, real_rule, theano_name="abs"))
register(ScalarOp("square", 1, np.square, upcast_rule, theano_name="sqr"))
register(ScalarOp("sigmoid", 1, scipy.special.expit, float_rule, accepts="biuf"))
register(ScalarOp("greater", 2, np.greater, compare_rule, theano_name="gt", symbol=">",
                  accepts="biuf"))
register(ScalarOp("equal", 2, np.equal, compare_rule, theano_name="eq", symbol="=="))
register(ScalarOp("where", 3, np.where, switch_rule, theano_name="switch"))
for _target in dtypes.ALL:
    register(ScalarOp(f"cast_{_target}", 1, lambda x, _t=_target: np.asarray(x).astype(_t),
                      cast_rule(_target), theano_name=f"Cast{{{_target}}}"))
