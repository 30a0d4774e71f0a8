"""THE elementwise op table.

Every elementwise operation is one ``ScalarOp`` entry here: its NumPy name, arity,
NumPy reference, dtype rule, accepted dtype kinds, gradient, backend lowerings,
algebraic flags and the input domain its generated tests draw from. The reference
executor, autodiff, the rewrites, the backends and the tests all read this table;
none keeps a private per-op list. ``Elemwise`` (ops/elemwise.py) lifts an entry to
arrays with broadcasting. ``register`` validates each entry at import time; among other
things every entry must declare its gradient (a rule, or ``ZERO_GRAD``).

A dtype rule maps the input dtypes to ``(compute dtypes, output dtype)``: inputs are
cast to their compute dtypes before the reference runs, and its result is cast to the
output dtype. The rules follow Theano: float math on integers upgrades them
(``exp`` of int8 is float32, of int32 float64), comparisons give bool, ``abs`` of
complex64 is float32, and a rule raises ``DtypeRuleError`` (a ``TypeError``) for a
combination Theano refuses (``bool - bool``, a cast from complex to real).

>>> SCALAR_OPS["add"].dtype_rule(("int8", "float32"))
(('float32', 'float32'), 'float32')
>>> SCALAR_OPS["exp"].output_dtype(("int8",)), SCALAR_OPS["greater"].output_dtype(("int8", "int8"))
('float32', 'bool')
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from jitgraph import dtypes
from jitgraph.ir.graph import Var
from jitgraph.ops.base import GradTerm, Undefined

DtypeRule = Callable[[tuple[str, ...]], tuple[tuple[str, ...], str]]
# A gradient rule: (inputs, output, output_grad) -> one GradTerm per input. All are
# tensors of the output's ndim; Elemwise.grad sums each term over its input's broadcast
# axes and casts it to the input's dtype, so a rule writes the pointwise math only.
GradRule = Callable[[list[Var], Var, Var], list[GradTerm]]


class ZeroGradient:
    """The gradient declaration of a piecewise-constant op (comparisons, rounding,
    ``sign``, bitwise and logical ops): zero for every input, as Theano defines it. Use
    the single instance ``ZERO_GRAD``."""

    def __repr__(self) -> str:
        return "ZERO_GRAD"


ZERO_GRAD = ZeroGradient()

# Input domains of the generated tests (the random finite values; NaN, inf and the
# integer extremes are drawn in every domain, since their semantics must match NumPy too).
TEST_DOMAINS = {
    "any": "every value of the dtype",
    "positive": "x > 0",
    "nonneg": "x >= 0",
    "unit": "|x| <= 1",
    "ge1": "x >= 1",
    "nonzero": "x != 0",
    "small": "|x| <= 20: avoids overflow noise in exp-like ops",
    "zero_to_two": "0 <= x <= 2 (erfcinv)",
    "exponent": "integers 0..10 (integer powers); floats |x| <= 10",
    "shift": "0 <= x < bit width (shift amounts)",
}


class DtypeRuleError(TypeError):
    """A dtype rule refusing its input dtypes; ``ScalarOp.output_dtype`` names the op."""


@dataclasses.dataclass(frozen=True, eq=False)
class ScalarOp:
    """One elementwise operation. Identity is the name (unique in the table)."""

    name: str  # the NumPy name where NumPy has one
    arity: int
    impl: Callable[..., Any]  # NumPy reference on inputs already cast to compute dtypes
    dtype_rule: DtypeRule
    # dtype kinds accepted for every argument ('b' bool, 'i' int, 'u' uint, 'f' float,
    # 'c' complex); the rule may still refuse a combination (DtypeRuleError).
    accepts: str = "biufc"
    theano_name: str | None = None  # Theano's name when it differs (true_div, sgn, ...)
    symbol: str | None = None  # infix symbol for pretty printing (pp)
    commutative: bool = False
    associative: bool = False
    identity: float | None = None  # the neutral element of an associative op
    # Input domain(s) for generated tests: one TEST_DOMAINS name for every argument, or
    # one per argument.
    test_domain: str | tuple[str, ...] = "any"
    # True when real results are exactly determined (IEEE correctly rounded, or integer
    # logic): backends must then match NumPy bit for bit; others are compared with a
    # dtype-dependent tolerance. Integer and bool outputs are always compared exactly.
    exact: bool = False
    # The gradient: a GradRule (see "gradients" below), or ZERO_GRAD for an op whose
    # output is piecewise constant in its inputs. Every registered entry must declare one.
    grad: GradRule | ZeroGradient | None = None
    # For integer compute dtypes, the argument whose negative values make the reference
    # raise (power's exponent: NumPy refuses negative integer powers). Backends whose
    # compiled loops cannot report errors run such instructions by the reference, unless
    # that argument is a non-negative constant.
    negative_integer_error: int | None = None
    # Filled by the backends (LLVM and CUDA lowerings); None means "none yet".
    llvm: Callable[..., Any] | None = None
    cuda: Callable[..., Any] | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ScalarOp) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("ScalarOp", self.name))

    def signature(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.theano_name or self.name

    def output_dtype(self, input_dtypes: tuple[str, ...]) -> str:
        """The output dtype for ``input_dtypes``; TypeError naming the op if refused."""
        try:
            return self.dtype_rule(input_dtypes)[1]
        except DtypeRuleError as exc:
            raise DtypeRuleError(f"{self}: {exc}") from None

    def domains(self) -> tuple[str, ...]:
        """The test domain of each argument."""
        if isinstance(self.test_domain, str):
            return (self.test_domain,) * self.arity
        return self.test_domain

    def supported_dtypes(self) -> tuple[str, ...]:
        """The dtypes ``d`` for which ``op(d, d, ...)`` is accepted (tests iterate these)."""
        return tuple(d for d in dtypes.ALL if self._accepts_uniform(d))

    def _accepts_uniform(self, dtype: str) -> bool:
        if dtypes.kind(dtype) not in self.accepts:
            return False
        try:
            self.dtype_rule((dtype,) * self.arity)
        except DtypeRuleError:
            return False
        return True


SCALAR_OPS: dict[str, ScalarOp] = {}
_THEANO_NAMES: dict[str, str] = {}


def register(op: ScalarOp) -> ScalarOp:
    """Add ``op`` to the table after checking the entry is coherent."""
    problem = _entry_problem(op)
    if problem:
        raise ValueError(f"scalar op {op.name!r}: {problem}")
    SCALAR_OPS[op.name] = op
    if op.theano_name:
        _THEANO_NAMES[op.theano_name] = op.name
    return op


def _entry_problem(op: ScalarOp) -> str | None:
    """What is wrong with a table entry, or None."""
    taken = set(SCALAR_OPS) | set(_THEANO_NAMES)
    if op.name in taken:
        return "is registered twice (or clashes with a Theano name)"
    if op.theano_name and (op.theano_name in taken or op.theano_name == op.name):
        return f"theano_name {op.theano_name!r} clashes with another entry"
    if op.arity < 1:
        return "arity must be >= 1"
    if not op.accepts or not set(op.accepts) <= set("biufc"):
        return f"bad accepts {op.accepts!r} (a non-empty subset of 'biufc')"
    if (op.commutative or op.associative or op.symbol) and op.arity > 2:
        return "only unary and binary ops have a symbol or algebraic flags"
    if (op.commutative or op.associative) and op.arity != 2:
        return "commutative/associative need arity 2"
    if op.identity is not None and not op.associative:
        return "an identity is only meaningful for an associative op"
    if len(op.domains()) != op.arity or not set(op.domains()) <= set(TEST_DOMAINS):
        return f"test_domain {op.test_domain!r}: one of {sorted(TEST_DOMAINS)} per argument"
    if not callable(op.impl):
        return "impl must be callable"
    return _rule_problem(op) or _grad_problem(op)


def _grad_problem(op: ScalarOp) -> str | None:
    """Every entry says what its gradient is: a silent "no gradient" is not allowed."""
    if op.grad is None:
        return (
            "declares no gradient: give grad= a rule (inputs, output, output_grad) -> terms, "
            "or ZERO_GRAD for a piecewise-constant op"
        )
    if not (op.grad is ZERO_GRAD or callable(op.grad)):
        return f"grad must be a rule or ZERO_GRAD, got {op.grad!r}"
    return None


def _rule_problem(op: ScalarOp) -> str | None:
    """Run the dtype rule on every accepted dtype: it must answer well-formed dtypes."""
    answered = False
    for dtype in dtypes.ALL:
        if dtypes.kind(dtype) not in op.accepts:
            continue
        try:
            compute, out = op.dtype_rule((dtype,) * op.arity)
        except DtypeRuleError:
            continue
        answered = True
        if len(compute) != op.arity or not set(compute) | {out} <= set(dtypes.ALL):
            return f"dtype rule gave {(compute, out)} for {dtype}"
    return None if answered else "the dtype rule refuses every accepted dtype"


# ----------------------------------------------------------------------------- dtype rules
def upcast_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Inputs and output in the common upcast dtype (add, mul, maximum, ...)."""
    out = dtypes.upcast(*in_dtypes)
    return (out,) * len(in_dtypes), out


def upcast_nobool_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Like upcast_rule, but an all-bool operation is refused (Theano's sub, neg)."""
    if all(d == "bool" for d in in_dtypes):
        raise DtypeRuleError(
            f"not defined when every operand is bool (got {', '.join(in_dtypes)}); "
            "use logical_xor / logical_not, or cast to an integer dtype first"
        )
    return upcast_rule(in_dtypes)


def upcast_min8_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Like upcast_rule, but all-bool inputs compute in int8 (Theano's pow, int_div)."""
    out = dtypes.upcast(*in_dtypes)
    if out == "bool":
        out = "int8"
    return (out,) * len(in_dtypes), out


def integer_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Bitwise ops: the upcast dtype, which must be bool or integer (int64 with uint64
    has no integer common dtype)."""
    out = dtypes.upcast(*in_dtypes)
    if dtypes.kind(out) not in "biu":
        raise DtypeRuleError(
            f"{' and '.join(in_dtypes)} have no common integer dtype (they upcast to {out}); "
            "cast one operand first"
        )
    return (out,) * len(in_dtypes), out


def float_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Math on floats: integers are upgraded (int8 -> float32, int32 -> float64)."""
    out = dtypes.upgrade_to_float(dtypes.upcast(*in_dtypes))
    return (out,) * len(in_dtypes), out


def true_div_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Theano's true division: integers only give config.floatX (int32 / int32 is float64
    by default, float32 under floatX=float32); otherwise as float math."""
    if all(dtypes.kind(d) in "biu" for d in in_dtypes):
        from jitgraph.config import config

        out = config.floatX
        return (out,) * len(in_dtypes), out
    return float_rule(in_dtypes)


def bool_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Comparisons and predicates: inputs as they are (NumPy compares mixed int64 and
    uint64 exactly, which a common dtype would not), answer bool."""
    return in_dtypes, "bool"


def real_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """abs/real/imag: complex in, real out; real dtypes unchanged."""
    common = dtypes.upcast(*in_dtypes)
    return (common,) * len(in_dtypes), dtypes.complex_to_real(common)


def angle_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """angle: computed as float math (int8 -> float32), complex gives its real dtype."""
    compute = dtypes.upgrade_to_float(dtypes.upcast(*in_dtypes))
    return (compute,), dtypes.complex_to_real(compute)


def complex_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """complex(real, imag): complex128 when the parts need float64 (Theano's rule)."""
    common = dtypes.upcast(*in_dtypes)
    part = "float64" if common in ("float64", "int64", "uint64", "int32", "uint32") else "float32"
    return (part, part), "complex128" if part == "float64" else "complex64"


def same_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """The input dtype, unchanged (rounding of floats)."""
    return in_dtypes, in_dtypes[0]


def cast_rule(target: str) -> DtypeRule:
    """Conversion to ``target``; complex to a real dtype is refused, as in Theano."""

    def rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
        if dtypes.is_complex(in_dtypes[0]) and not dtypes.is_complex(target):
            raise DtypeRuleError(
                f"casting complex to real is ambiguous: use real(), imag(), abs() or "
                f"angle() (got {in_dtypes[0]} -> {target})"
            )
        return in_dtypes, target

    return rule


def switch_rule(in_dtypes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """switch(cond, a, b): the condition as bool, the branches in their upcast dtype."""
    out = dtypes.upcast(*in_dtypes[1:])
    return ("bool", out, out), out


# ----------------------------------------------------------------------------- references
# NumPy references that need more than one NumPy call. Each receives arrays already cast
# to the rule's compute dtypes.
def power_reference(base: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    try:
        return np.power(base, exponent)
    except ValueError as exc:  # NumPy refuses int ** negative int; say what to do
        raise ValueError(
            f"power: {exc} (an integer base needs a non-negative exponent; cast the base "
            "to a float dtype for negative powers)"
        ) from None


def round_half_away_from_zero_reference(x: np.ndarray) -> np.ndarray:
    """C's round(): x - trunc(x) is exact, so no x + 0.5 rounding error creeps in."""
    whole = np.trunc(x)
    return np.where(np.abs(x - whole) >= 0.5, whole + np.sign(x), whole)


def clip_reference(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Theano's clip: ``low if x < low else high if x > high else x`` (np.clip answers
    ``high`` when low > high; Theano answers ``low``)."""
    return np.where(x < low, low, np.where(x > high, high, x))


def complex_reference(real: np.ndarray, imag: np.ndarray) -> np.ndarray:
    """Assembled part by part: ``real + 1j * imag`` would turn an infinite imaginary
    part into a NaN real part."""
    shape = np.broadcast_shapes(np.shape(real), np.shape(imag))
    out = np.empty(shape, dtype=np.result_type(real, np.complex64))
    out.real = real
    out.imag = imag
    return out


def softplus_reference(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) without overflow for large x."""
    return np.logaddexp(np.zeros((), dtype=x.dtype), x)


def _cast_reference(target: str) -> Callable[[np.ndarray], np.ndarray]:
    def cast(x: np.ndarray) -> np.ndarray:
        return np.asarray(x).astype(target)

    return cast


# ----------------------------------------------------------------------------- gradients
# The rules build their graphs with the front end, imported when a rule runs (the front
# end imports this table). Elemwise.grad calls a rule only for a float or complex output,
# so the rules compute in the output's dtype. Complex gradients follow Theano's ``real`` /
# ``imag`` convention: the gradient of a real cost C w.r.t. z is dC/dRe(z) + i dC/dIm(z),
# which for a holomorphic f is ``output_grad * conj(f'(z))`` (``chain``).
class _LazyFrontEnd:
    """``jitgraph.tensor``, imported on first attribute access."""

    def __getattr__(self, name: str) -> Any:
        import jitgraph.tensor

        return getattr(jitgraph.tensor, name)


T: Any = _LazyFrontEnd()


def like(value: complex, reference: Var) -> Var:
    """A 0-d constant of ``reference``'s dtype (keeps float32 math in float32)."""
    return T.constant(value, dtype=reference.type.dtype)


def chain(output_grad: Var, derivative: Var) -> Var:
    """``output_grad * f'(x)``, conjugating a complex derivative (see above)."""
    if dtypes.is_complex(derivative.type.dtype):
        derivative = T.conj(derivative)
    return T.mul(output_grad, derivative)


def float_zeros_like(x: Var) -> Var:
    """The zero gradient of ``x``: its own dtype if float or complex, else floatX
    (Theano's choice for integer and bool inputs)."""
    from jitgraph.config import config

    dtype = x.type.dtype if dtypes.kind(x.type.dtype) in "fc" else config.floatX
    return T.zeros_like(x, dtype=dtype)


def unary_grad(derivative: Callable[[Any, Any], Any]) -> GradRule:
    """The rule of a unary op from its derivative ``derivative(x, output)``."""

    def rule(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
        return [chain(output_grad, derivative(inputs[0], output))]

    return rule


def binary_grad(
    d_first: Callable[[Any, Any, Any], Any], d_second: Callable[[Any, Any, Any], Any]
) -> GradRule:
    """The rule of a binary op from its partial derivatives ``d(x, y, output)``."""

    def rule(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
        x, y = inputs
        return [
            chain(output_grad, d_first(x, y, output)),
            chain(output_grad, d_second(x, y, output)),
        ]

    return rule


def pass_through_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    """Every input receives the output's gradient (add; casts, whose Elemwise.grad
    then casts back, or takes the real part for a real input cast to complex)."""
    return [output_grad] * len(inputs)


def subtract_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    return [output_grad, T.neg(output_grad)]


def negative_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    return [T.neg(output_grad)]


def remainder_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    """Theano's Mod: x % y = x - (x // y) * y with x // y held constant."""
    x, y = inputs
    return [output_grad, T.neg(T.mul(output_grad, T.floor_divide(x, y)))]


def power_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    """d/dx = y * x**(y - 1); d/dy = log(x) * x**y, taken as 0 where x == 0 (Theano's
    choice: the limit from x > 0 when y > 0)."""
    x, y = inputs
    # An integer exponent minus 1 would wrap for uint 0: compute it in the output dtype.
    exponent = T.cast(y, output.type.dtype) if dtypes.kind(y.type.dtype) in "biu" else y
    d_base = T.mul(exponent, T.pow(x, T.sub(exponent, like(1, exponent))))
    d_exponent = T.switch(T.eq(x, 0), like(0, output), T.mul(T.log(x), output))
    return [chain(output_grad, d_base), chain(output_grad, d_exponent)]


def absolute_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    """sign(x) for reals (0 at 0, as Theano); z / |z| for complex z (Theano's form)."""
    (x,) = inputs
    if dtypes.is_complex(x.type.dtype):
        return [T.mul(output_grad, T.true_div(x, output))]
    return [T.mul(output_grad, T.sgn(x))]


def extremum_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    """maximum/minimum: the gradient goes to the selected input; on a tie, all of it to
    the first (Theano's ``eq(output, x)`` rule)."""
    x, _ = inputs
    first = T.eq(output, x)
    zero = like(0, output_grad)
    return [T.switch(first, output_grad, zero), T.switch(first, zero, output_grad)]


def clip_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    """Theano's Clip: x receives the gradient where low <= x <= high (bounds included),
    a bound where it is the result (x strictly beyond it). When low > high the result is
    ``low`` for x < low: Theano also gave ``high`` the gradient there (counted twice);
    only the selected bound receives it here."""
    x, low, high = inputs
    zero = like(0, output_grad)
    below, above = T.lt(x, low), T.gt(x, high)
    inside = T.and_(T.ge(x, low), T.le(x, high))
    return [
        T.switch(inside, output_grad, zero),
        T.switch(below, output_grad, zero),
        T.switch(T.and_(above, T.invert(below)), output_grad, zero),
    ]


def copysign_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    """copysign(x, y) = |x| * sign(y): d/dx = sign(x) * sign(y), and y only flips signs."""
    x, y = inputs
    # sign() refuses bool, which copysign accepts: take the sign in the output's dtype.
    d_x = T.mul(T.sgn(T.cast(x, output.type.dtype)), T.copysign(like(1, output), y))
    return [T.mul(output_grad, d_x), float_zeros_like(y)]


def nextafter_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    """nextafter(x, y) moves x by one ulp: slope 1 in x, piecewise constant in y."""
    return [output_grad, float_zeros_like(inputs[1])]


def where_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    """Each branch receives the gradient where it is selected. The condition gets zeros,
    not DISCONNECTED: Theano's Switch treats it as connected ("cond + epsilon selects the
    same branch"), so grad(cost, cond) is zeros rather than an error."""
    cond = inputs[0]
    zero = like(0, output_grad)
    return [
        float_zeros_like(cond),
        T.switch(cond, output_grad, zero),
        T.switch(cond, zero, output_grad),
    ]


def real_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    (x,) = inputs
    if dtypes.is_complex(x.type.dtype):
        return [T.complex(output_grad, like(0, output_grad))]
    return [output_grad]


def imag_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    (x,) = inputs
    if dtypes.is_complex(x.type.dtype):
        return [T.complex(like(0, output_grad), output_grad)]
    return [float_zeros_like(x)]  # imag of a real number is always 0


def conj_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    return [T.conj(output_grad)]


def angle_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    """angle(z) = atan2(Im z, Re z): d/dRe = -Im / |z|**2, d/dIm = Re / |z|**2 (the exact
    derivative; Theano's formula is off by a sign in one half-plane). Real inputs: 0 or
    pi, piecewise constant."""
    (z,) = inputs
    if not dtypes.is_complex(z.type.dtype):
        return [float_zeros_like(z)]
    real_part, imag_part = T.real(z), T.imag(z)
    scale = T.true_div(output_grad, T.add(T.sqr(real_part), T.sqr(imag_part)))
    return [T.complex(T.neg(T.mul(scale, imag_part)), T.mul(scale, real_part))]


def complex_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    return [T.real(output_grad), T.imag(output_grad)]


def polygamma_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    """d/dx polygamma(n, x) = polygamma(n + 1, x); the order n is an integer."""
    order, x = inputs
    d_x = T.polygamma(T.add(order, like(1, order)), x)
    reason = "polygamma(n, x) is defined for integer orders n only: it has no gradient in n"
    return [Undefined(reason), chain(output_grad, d_x)]


true_divide_grad = binary_grad(
    lambda x, y, out: T.inv(y), lambda x, y, out: T.neg(T.true_div(out, y))
)
hypot_grad = binary_grad(lambda x, y, out: T.true_div(x, out), lambda x, y, out: T.true_div(y, out))


def arctan2_grad(inputs: list[Var], output: Var, output_grad: Var) -> list[GradTerm]:
    """arctan2(y, x) = angle of (x, y): d/dy = x / r**2, d/dx = -y / r**2."""
    y, x = inputs
    scale = T.true_div(output_grad, T.add(T.sqr(x), T.sqr(y)))
    return [T.mul(scale, x), T.neg(T.mul(scale, y))]


# The table's unary entries give their derivative inline: (x, output) -> f'(x).
_unary = unary_grad
_SQRT_PI = math.sqrt(math.pi)


# ----------------------------------------------------------------------------- the table
# The entries below are the primitives; each says everything about its op. Composite ops
# (hard_sigmoid, softmax, ...) are built from these in the front ends. Positional fields:
# name, arity, NumPy reference, dtype rule. The table is laid out by hand (fmt: off) so
# that one entry reads as one row.
class LazySpecial:
    """A ``scipy.special`` function imported on its first call: importing scipy.special
    takes ~150 ms, more than all of jitgraph, and most programs never call it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.__name__ = name
        self._function: Callable[..., Any] | None = None

    @property
    def function(self) -> Callable[..., Any]:
        """The scipy.special function itself (a ufunc)."""
        if self._function is None:
            self._function = getattr(importlib.import_module("scipy.special"), self.name)
        return self._function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"scipy.special.{self.name}"


class _SpecialNamespace:
    def __getattr__(self, name: str) -> LazySpecial:
        return LazySpecial(name)


_special = _SpecialNamespace()
# fmt: off
_ENTRIES = [
    # ---- arithmetic
    ScalarOp("add", 2, np.add, upcast_rule, symbol="+", commutative=True, associative=True,
             identity=0, exact=True,
             grad=pass_through_grad),
    ScalarOp("subtract", 2, np.subtract, upcast_nobool_rule, theano_name="sub", symbol="-",
             exact=True,
             grad=subtract_grad),
    ScalarOp("multiply", 2, np.multiply, upcast_rule, theano_name="mul", symbol="*",
             commutative=True, associative=True, identity=1, exact=True,
             grad=binary_grad(lambda x, y, out: y, lambda x, y, out: x)),
    ScalarOp("true_divide", 2, np.true_divide, true_div_rule, theano_name="true_div",
             symbol="/", exact=True,
             grad=true_divide_grad),
    ScalarOp("floor_divide", 2, np.floor_divide, upcast_min8_rule, accepts="biuf",
             theano_name="int_div", symbol="//", exact=True,
             grad=ZERO_GRAD),
    ScalarOp("remainder", 2, np.remainder, upcast_min8_rule, accepts="biuf", theano_name="mod",
             symbol="%", exact=True,
             grad=remainder_grad),
    ScalarOp("power", 2, power_reference, upcast_min8_rule, theano_name="pow", symbol="**",
             test_domain=("any", "exponent"), negative_integer_error=1,
             grad=power_grad),
    ScalarOp("negative", 1, np.negative, upcast_nobool_rule, theano_name="neg", symbol="-",
             exact=True,
             grad=negative_grad),
    # Not exact: NumPy's complex abs (hypot) differs in the last bit between its
    # contiguous (SIMD) and strided loops.
    ScalarOp("absolute", 1, np.absolute, real_rule, theano_name="abs",
             grad=absolute_grad),
    ScalarOp("sign", 1, np.sign, upcast_rule, accepts="iuf", theano_name="sgn", exact=True,
             grad=ZERO_GRAD),
    ScalarOp("square", 1, np.square, upcast_rule, theano_name="sqr", exact=True,
             grad=_unary(lambda x, out: T.mul(x, like(2, out)))),
    ScalarOp("sqrt", 1, np.sqrt, float_rule, test_domain="nonneg", exact=True,
             grad=_unary(lambda x, out: T.true_div(like(0.5, out), out))),
    ScalarOp("reciprocal", 1, np.reciprocal, float_rule, theano_name="inv",
             test_domain="nonzero", exact=True,
             grad=_unary(lambda x, out: T.neg(T.sqr(out)))),
    ScalarOp("maximum", 2, np.maximum, upcast_rule, accepts="biuf", commutative=True,
             associative=True, identity=-np.inf, exact=True,
             grad=extremum_grad),
    ScalarOp("minimum", 2, np.minimum, upcast_rule, accepts="biuf", commutative=True,
             associative=True, identity=np.inf, exact=True,
             grad=extremum_grad),
    ScalarOp("clip", 3, clip_reference, upcast_rule, accepts="biuf", exact=True,
             grad=clip_grad),
    ScalarOp("copysign", 2, np.copysign, float_rule, accepts="biuf", exact=True,
             grad=copysign_grad),
    ScalarOp("nextafter", 2, np.nextafter, float_rule, accepts="biuf", exact=True,
             grad=nextafter_grad),
    ScalarOp("hypot", 2, np.hypot, float_rule, accepts="biuf",
             grad=hypot_grad),
    # ---- exponentials and logarithms
    ScalarOp("exp", 1, np.exp, float_rule, test_domain="small",
             grad=_unary(lambda x, out: out)),
    ScalarOp("exp2", 1, np.exp2, float_rule, test_domain="small",
             grad=_unary(lambda x, out: T.mul(out, like(math.log(2), out)))),
    ScalarOp("expm1", 1, np.expm1, float_rule, test_domain="small",
             grad=_unary(lambda x, out: T.add(out, like(1, out)))),
    ScalarOp("log", 1, np.log, float_rule, test_domain="positive",
             grad=_unary(lambda x, out: T.inv(x))),
    ScalarOp("log2", 1, np.log2, float_rule, test_domain="positive",
             grad=_unary(lambda x, out: T.inv(T.mul(x, like(math.log(2), out))))),
    ScalarOp("log10", 1, np.log10, float_rule, test_domain="positive",
             grad=_unary(lambda x, out: T.inv(T.mul(x, like(math.log(10), out))))),
    ScalarOp("log1p", 1, np.log1p, float_rule, test_domain="nonneg",
             grad=_unary(lambda x, out: T.inv(T.add(x, like(1, out))))),
    ScalarOp("sigmoid", 1, _special.expit, float_rule, accepts="biuf",
             grad=_unary(lambda x, out: T.mul(out, T.sub(like(1, out), out)))),
    ScalarOp("softplus", 1, softplus_reference, float_rule, accepts="biuf",
             grad=_unary(lambda x, out: T.sigmoid(x))),
    # ---- trigonometric and hyperbolic
    ScalarOp("sin", 1, np.sin, float_rule,
             grad=_unary(lambda x, out: T.cos(x))),
    ScalarOp("cos", 1, np.cos, float_rule,
             grad=_unary(lambda x, out: T.neg(T.sin(x)))),
    ScalarOp("tan", 1, np.tan, float_rule,
             grad=_unary(lambda x, out: T.add(like(1, out), T.sqr(out)))),
    ScalarOp("arcsin", 1, np.arcsin, float_rule, test_domain="unit",
             grad=_unary(lambda x, out: T.inv(T.sqrt(T.sub(like(1, out), T.sqr(x)))))),
    ScalarOp("arccos", 1, np.arccos, float_rule, test_domain="unit",
             grad=_unary(lambda x, out: T.neg(T.inv(T.sqrt(T.sub(like(1, out), T.sqr(x))))))),
    ScalarOp("arctan", 1, np.arctan, float_rule,
             grad=_unary(lambda x, out: T.inv(T.add(like(1, out), T.sqr(x))))),
    ScalarOp("arctan2", 2, np.arctan2, float_rule, accepts="biuf",
             grad=arctan2_grad),
    ScalarOp("sinh", 1, np.sinh, float_rule, test_domain="small",
             grad=_unary(lambda x, out: T.cosh(x))),
    ScalarOp("cosh", 1, np.cosh, float_rule, test_domain="small",
             grad=_unary(lambda x, out: T.sinh(x))),
    ScalarOp("tanh", 1, np.tanh, float_rule,
             grad=_unary(lambda x, out: T.sub(like(1, out), T.sqr(out)))),
    ScalarOp("arcsinh", 1, np.arcsinh, float_rule,
             grad=_unary(lambda x, out: T.inv(T.sqrt(T.add(T.sqr(x), like(1, out)))))),
    ScalarOp("arccosh", 1, np.arccosh, float_rule, test_domain="ge1",
             grad=_unary(lambda x, out: T.inv(T.sqrt(T.sub(T.sqr(x), like(1, out)))))),
    ScalarOp("arctanh", 1, np.arctanh, float_rule, test_domain="unit",
             grad=_unary(lambda x, out: T.inv(T.sub(like(1, out), T.sqr(x))))),
    ScalarOp("deg2rad", 1, np.deg2rad, float_rule, accepts="biuf",
             grad=_unary(lambda x, out: like(math.pi / 180, out))),
    ScalarOp("rad2deg", 1, np.rad2deg, float_rule, accepts="biuf",
             grad=_unary(lambda x, out: like(180 / math.pi, out))),
    # ---- special functions (SciPy's; Theano refuses complex)
    ScalarOp("erf", 1, _special.erf, float_rule, accepts="biuf",
             grad=_unary(lambda x, out: T.mul(like(2 / _SQRT_PI, out), T.exp(T.neg(T.sqr(x)))))),
    ScalarOp("erfc", 1, _special.erfc, float_rule, accepts="biuf",
             grad=_unary(lambda x, out: T.mul(like(-2 / _SQRT_PI, out), T.exp(T.neg(T.sqr(x)))))),
    ScalarOp("erfinv", 1, _special.erfinv, float_rule, accepts="biuf", test_domain="unit",
             grad=_unary(lambda x, out: T.mul(like(_SQRT_PI / 2, out), T.exp(T.sqr(out))))),
    ScalarOp("erfcinv", 1, _special.erfcinv, float_rule, accepts="biuf",
             test_domain="zero_to_two",
             grad=_unary(lambda x, out: T.mul(like(-_SQRT_PI / 2, out), T.exp(T.sqr(out))))),
    ScalarOp("gamma", 1, _special.gamma, float_rule, accepts="biuf", test_domain="small",
             grad=_unary(lambda x, out: T.mul(out, T.psi(x)))),
    ScalarOp("gammaln", 1, _special.gammaln, float_rule, accepts="biuf",
             test_domain="positive",
             grad=_unary(lambda x, out: T.psi(x))),
    ScalarOp("psi", 1, _special.psi, float_rule, accepts="biuf", test_domain="positive",
             grad=_unary(lambda x, out: T.polygamma(like(1, out), x))),
    # polygamma(n, x), the n-th derivative of psi: psi's gradient needs it.
    ScalarOp("polygamma", 2, _special.polygamma, float_rule, accepts="biuf",
             test_domain=("exponent", "positive"), grad=polygamma_grad),
    # ---- rounding (Theano: floor/ceil/trunc of integers are floats; rounding wants floats)
    ScalarOp("floor", 1, np.floor, float_rule, accepts="biuf", exact=True,
             grad=ZERO_GRAD),
    ScalarOp("ceil", 1, np.ceil, float_rule, accepts="biuf", exact=True,
             grad=ZERO_GRAD),
    ScalarOp("trunc", 1, np.trunc, float_rule, accepts="biuf", exact=True,
             grad=ZERO_GRAD),
    ScalarOp("rint", 1, np.rint, same_rule, accepts="f", theano_name="round_half_to_even",
             exact=True,
             grad=ZERO_GRAD),
    ScalarOp("round_half_away_from_zero", 1, round_half_away_from_zero_reference, same_rule,
             accepts="f", exact=True,
             grad=ZERO_GRAD),
    # ---- comparisons (ordering refuses complex)
    ScalarOp("less", 2, np.less, bool_rule, accepts="biuf", theano_name="lt", symbol="<",
             exact=True,
             grad=ZERO_GRAD),
    ScalarOp("less_equal", 2, np.less_equal, bool_rule, accepts="biuf", theano_name="le",
             symbol="<=", exact=True,
             grad=ZERO_GRAD),
    ScalarOp("greater", 2, np.greater, bool_rule, accepts="biuf", theano_name="gt",
             symbol=">", exact=True,
             grad=ZERO_GRAD),
    ScalarOp("greater_equal", 2, np.greater_equal, bool_rule, accepts="biuf",
             theano_name="ge", symbol=">=", exact=True,
             grad=ZERO_GRAD),
    ScalarOp("equal", 2, np.equal, bool_rule, theano_name="eq", symbol="==",
             commutative=True, exact=True,
             grad=ZERO_GRAD),
    ScalarOp("not_equal", 2, np.not_equal, bool_rule, theano_name="neq", symbol="!=",
             commutative=True, exact=True,
             grad=ZERO_GRAD),
    # ---- bitwise: Theano's and_/or_/xor/invert, bitwise on integers and logical on bool
    ScalarOp("bitwise_and", 2, np.bitwise_and, integer_rule, accepts="biu",
             theano_name="and_", symbol="&", commutative=True, associative=True,
             identity=-1, exact=True,
             grad=ZERO_GRAD),
    ScalarOp("bitwise_or", 2, np.bitwise_or, integer_rule, accepts="biu", theano_name="or_",
             symbol="|", commutative=True, associative=True, identity=0, exact=True,
             grad=ZERO_GRAD),
    ScalarOp("bitwise_xor", 2, np.bitwise_xor, integer_rule, accepts="biu",
             theano_name="xor", symbol="^", commutative=True, associative=True, identity=0,
             exact=True,
             grad=ZERO_GRAD),
    ScalarOp("invert", 1, np.invert, integer_rule, accepts="biu", symbol="~", exact=True,
             grad=ZERO_GRAD),
    ScalarOp("left_shift", 2, np.left_shift, integer_rule, accepts="iu", symbol="<<",
             test_domain=("any", "shift"), exact=True,
             grad=ZERO_GRAD),
    ScalarOp("right_shift", 2, np.right_shift, integer_rule, accepts="iu", symbol=">>",
             test_domain=("any", "shift"), exact=True,
             grad=ZERO_GRAD),
    # ---- logic (any dtype in, bool out) and predicates
    ScalarOp("logical_and", 2, np.logical_and, bool_rule, commutative=True, associative=True,
             identity=1, exact=True,
             grad=ZERO_GRAD),
    ScalarOp("logical_or", 2, np.logical_or, bool_rule, commutative=True, associative=True,
             identity=0, exact=True,
             grad=ZERO_GRAD),
    ScalarOp("logical_xor", 2, np.logical_xor, bool_rule, commutative=True, associative=True,
             identity=0, exact=True,
             grad=ZERO_GRAD),
    ScalarOp("logical_not", 1, np.logical_not, bool_rule, exact=True,
             grad=ZERO_GRAD),
    ScalarOp("isnan", 1, np.isnan, bool_rule, exact=True,
             grad=ZERO_GRAD),
    ScalarOp("isinf", 1, np.isinf, bool_rule, exact=True,
             grad=ZERO_GRAD),
    ScalarOp("isfinite", 1, np.isfinite, bool_rule, exact=True,
             grad=ZERO_GRAD),
    ScalarOp("where", 3, np.where, switch_rule, theano_name="switch", exact=True,
             grad=where_grad),
    # ---- complex numbers
    ScalarOp("real", 1, np.real, real_rule, exact=True,
             grad=real_grad),
    ScalarOp("imag", 1, np.imag, real_rule, exact=True,
             grad=imag_grad),
    ScalarOp("conj", 1, np.conj, upcast_min8_rule, exact=True,
             grad=conj_grad),
    ScalarOp("angle", 1, np.angle, angle_rule,
             grad=angle_grad),
    ScalarOp("complex", 2, complex_reference, complex_rule, accepts="biuf", exact=True,
             grad=complex_grad),
]
# fmt: on
# ---- conversions: one entry per target dtype
_ENTRIES += [
    ScalarOp(
        f"cast_{target}",
        1,
        _cast_reference(target),
        cast_rule(target),
        theano_name=f"Cast{{{target}}}",
        exact=True,
        # Theano's Cast: the gradient passes to float and complex targets (Elemwise.grad
        # casts it back); integer and bool targets are piecewise constant.
        grad=pass_through_grad if dtypes.kind(target) in "fc" else ZERO_GRAD,
    )
    for target in dtypes.ALL
]
for _entry in _ENTRIES:
    register(_entry)
