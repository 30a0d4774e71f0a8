"""Gradients of the elementwise op table, tested from the table itself.

Every entry with a gradient rule is differentiated through ``Elemwise.grad`` and compared
with central finite differences of ``cost = sum(out * g)`` (for a complex output, the real
inner product ``sum(Re(out) Re(g) + Im(out) Im(g))``) along random directions:

- ``test_gradient_matches_finite_differences``: float64, hypothesis-drawn shapes where each
  input may broadcast (static size 1) along any axis, values inside the entry's test domain
  (narrowed to where the derivative is moderate, see ``GRAD_RANGES``); the gradient of a
  broadcast input must be summed to the input's own shape.
- ``test_complex_gradient_matches_finite_differences``: complex128 inputs, perturbing the
  real and imaginary parts (the gradient is dC/dRe + i dC/dIm, Theano's convention).
- ``test_verify_grad_through_the_driver``: the same rules through ``jitgraph.grad`` and
  ``jitgraph.gradient.verify_grad`` (per-element finite differences), broadcast inputs.
- float32 gives float32 gradients close to the float64 ones; piecewise-constant entries
  (``ZERO_GRAD``) and integer outputs give zeros; the table refuses an entry without a
  gradient; Theano's conventions at ties and bounds (maximum, clip, abs at 0, pow at 0).

Adding an entry with a gradient rule adds it to these tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph import dtypes
from jitgraph.gradient import verify_grad
from jitgraph.ir.graph import Var
from jitgraph.ir.types import TensorType
from jitgraph.ops.base import DISCONNECTED, NoGradientError, Undefined
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.scalar import SCALAR_OPS, ZERO_GRAD, ScalarOp, float_rule, register
from jitgraph.tensor.basic import elemwise

DIFFERENTIABLE = sorted(name for name, op in SCALAR_OPS.items() if callable(op.grad))
PIECEWISE_CONSTANT = sorted(name for name, op in SCALAR_OPS.items() if op.grad is ZERO_GRAD)
COMPLEX_DIFFERENTIABLE = [
    name
    for name in DIFFERENTIABLE
    if "c" in SCALAR_OPS[name].accepts
    and "complex128" in SCALAR_OPS[name].supported_dtypes()
    and not name.startswith("cast_")
]

# Gradient-test ranges of the table's test domains: (low, high) of |value| when the
# domain excludes 0 ("nonzero": either sign), chosen away from poles, branch points and
# the steep ends of the domain so that finite differences are accurate.
GRAD_RANGES: dict[str, tuple[float, float]] = {
    "any": (-1.2, 1.2),
    "positive": (0.2, 3.0),
    "nonneg": (0.2, 3.0),
    "unit": (-0.8, 0.8),
    "ge1": (1.2, 3.0),
    "nonzero": (0.3, 2.0),
    "small": (-1.2, 1.2),
    "zero_to_two": (0.2, 1.8),
    "exponent": (-2.0, 2.0),
}
# Entries whose derivative needs a narrower domain than the forward test's.
GRAD_DOMAINS: dict[str, tuple[str, ...]] = {
    "power": ("positive", "exponent"),  # d/dy needs log(x), x > 0
    "gamma": ("positive",),  # poles at 0, -1, -2, ...
    "remainder": ("any", "nonzero"),  # d/dy = -floor(x / y) grows as y -> 0
    "true_divide": ("any", "nonzero"),  # d/dy = -x / y**2
    "arctan2": ("any", "nonzero"),  # steep near the origin
}
# Entries whose arguments must be integers (the order of polygamma).
INTEGER_ARGUMENTS = {("polygamma", 0): (0, 3)}


# ----------------------------------------------------------------------------- helpers
def grad_domains(op: ScalarOp) -> tuple[str, ...]:
    return GRAD_DOMAINS.get(op.name, op.domains())


def draw_values(
    op: ScalarOp, shapes: Sequence[tuple[int, ...]], dtype: str, rng: np.random.Generator
) -> list[np.ndarray]:
    """Values in the gradient domain of each argument (continuous random values: ties and
    kinks are hit with probability 0)."""
    values = []
    for position, (domain, shape) in enumerate(zip(grad_domains(op), shapes, strict=True)):
        if (op.name, position) in INTEGER_ARGUMENTS:
            low, high = INTEGER_ARGUMENTS[op.name, position]
            values.append(rng.integers(low, high, shape, endpoint=True).astype(dtype))
            continue
        values.append(random_in(domain, shape, rng).astype(dtype))
        if dtypes.is_complex(dtype):
            values[-1] = values[-1] + 1j * rng.uniform(-0.5, 0.5, shape)
    return values


def random_in(domain: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    low, high = GRAD_RANGES[domain]
    magnitude = rng.uniform(low, high, shape)
    if domain == "nonzero":
        magnitude = magnitude * rng.choice([-1.0, 1.0], shape)
    return magnitude


def inner(a: np.ndarray, b: np.ndarray) -> float:
    """The real inner product of two (possibly complex) arrays."""
    return float(np.sum(np.real(a) * np.real(b) + np.imag(a) * np.imag(b)))


_COMPILED: dict[tuple[Any, ...], Any] = {}


def compiled_gradient(op: ScalarOp, types: Sequence[TensorType]) -> Any:
    """``(function, terms, output dtype)``: the function maps (inputs, g) to
    [out, *variable terms]."""
    key = (op.name, tuple(types))
    if key not in _COMPILED:
        inputs = [t(f"arg{i}") for i, t in enumerate(types)]
        out = elemwise(op.name, *inputs)
        g = TensorType(out.type.dtype, out.type.shape)("g")
        terms = out.owner.op.grad(out.owner, [g])
        for term, var in zip(terms, inputs, strict=True):
            if isinstance(term, Var):
                assert term.type.ndim == var.type.ndim, (op.name, term.type, var.type)
                for static, size in zip(var.type.shape, term.type.shape, strict=True):
                    assert static != 1 or size == 1, (op.name, term.type, var.type)
        variables = [t for t in terms if isinstance(t, Var)]
        fn = jitgraph.function([*inputs, g], [out, *variables], on_unused_input="ignore")
        _COMPILED[key] = (fn, terms, out.type.dtype)
    return _COMPILED[key]


def check_against_finite_differences(
    op: ScalarOp, types: Sequence[TensorType], values: list[np.ndarray], seed: int
) -> None:
    """Directional finite differences of sum(out * g) against the gradient, along a random
    direction per input (real and, for complex inputs, imaginary parts)."""
    rng = np.random.default_rng(seed)
    fn, terms, out_dtype = compiled_gradient(op, types)
    out_shape = np.broadcast_shapes(*(v.shape for v in values))
    g = rng.uniform(-1, 1, out_shape)
    if dtypes.is_complex(out_dtype):
        g = g + 1j * rng.uniform(-1, 1, out_shape)
    g = g.astype(out_dtype)
    # Steps and tolerances from the output's precision (casts to float32 / float16).
    resolution = float(np.finfo(out_dtype).eps)
    eps, rtol = resolution ** (1 / 3), max(1e-5, 20 * resolution ** (2 / 3))
    out, *grads = fn(*values, g)
    # The rounding noise of a cost evaluation, amplified by the difference quotient.
    noise = 4 * resolution * float(np.sum(np.abs(out) * np.abs(g))) / eps
    grad_iter = iter(grads)
    for position, term in enumerate(terms):
        if not isinstance(term, Var):
            continue
        gradient = next(grad_iter)
        value = values[position]
        assert gradient.shape == value.shape, (op.name, position, gradient.shape, value.shape)
        assert gradient.dtype == value.dtype, (op.name, position, gradient.dtype)
        if (op.name, position) in INTEGER_ARGUMENTS:
            continue
        for part in (1.0, 1j) if dtypes.is_complex(value.dtype.name) else (1.0,):
            direction = rng.uniform(-1, 1, value.shape) * part
            numeric = directional_difference(fn, values, g, position, direction, eps)
            analytic = inner(gradient, direction)
            assert abs(numeric - analytic) <= rtol * (0.1 + abs(numeric)) + noise, (
                f"{op.name}: argument {position} ({part}): finite differences {numeric}, "
                f"gradient {analytic}; values {values}"
            )


def directional_difference(
    fn: Any,
    values: list[np.ndarray],
    g: np.ndarray,
    position: int,
    direction: np.ndarray,
    eps: float,
) -> float:
    def cost(step: float) -> float:
        moved = list(values)
        moved[position] = values[position] + step * direction
        return inner(fn(*moved, g)[0], g)

    return (cost(eps) - cost(-eps)) / (2 * eps)


@st.composite
def broadcast_case(
    draw: st.DrawFn, op: ScalarOp
) -> tuple[list[tuple[int | None, ...]], list[tuple[int, ...]]]:
    """Static shapes (1 where an input broadcasts) and value shapes of the inputs."""
    shape = draw(st.lists(st.integers(2, 3), min_size=0, max_size=3))
    statics, shapes = [], []
    for _ in range(op.arity):
        mask = draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
        value_shape = tuple(1 if broadcast else n for broadcast, n in zip(mask, shape))
        shapes.append(value_shape)
        statics.append(tuple(1 if broadcast else None for broadcast in mask))
    return statics, shapes


# ----------------------------------------------------------------------------- finite differences
@pytest.mark.parametrize("name", DIFFERENTIABLE)
@given(data=st.data())
def test_gradient_matches_finite_differences(name: str, data: st.DataObject) -> None:
    op = SCALAR_OPS[name]
    dtype = "float64" if "f" in op.accepts else "complex128"
    statics, shapes = data.draw(broadcast_case(op))
    types = [TensorType(dtype, static) for static in statics]
    seed = data.draw(st.integers(0, 2**32 - 1))
    values = draw_values(op, shapes, dtype, np.random.default_rng(seed))
    check_against_finite_differences(op, types, values, seed)


@pytest.mark.parametrize("name", COMPLEX_DIFFERENTIABLE)
@given(data=st.data())
def test_complex_gradient_matches_finite_differences(name: str, data: st.DataObject) -> None:
    op = SCALAR_OPS[name]
    statics, shapes = data.draw(broadcast_case(op))
    types = [TensorType("complex128", static) for static in statics]
    seed = data.draw(st.integers(0, 2**32 - 1))
    values = draw_values(op, shapes, "complex128", np.random.default_rng(seed))
    check_against_finite_differences(op, types, values, seed)


# ----------------------------------------------------------------------------- float32
def _gradients(name: str, dtype: str, values: list[np.ndarray], g: np.ndarray) -> list[Any]:
    op = SCALAR_OPS[name]
    types = [TensorType(dtype, tuple(1 if n == 1 else None for n in v.shape)) for v in values]
    fn, terms, _ = compiled_gradient(op, types)
    out, *grads = fn(*[v.astype(dtype) for v in values], g)
    computed = iter(grads)
    return [next(computed) if isinstance(term, Var) else None for term in terms]


FLOAT32_CASES = [n for n in DIFFERENTIABLE if "float32" in SCALAR_OPS[n].supported_dtypes()]


@pytest.mark.parametrize("name", FLOAT32_CASES)
def test_float32_inputs_get_float32_gradients(name: str) -> None:
    """Same values in float32 and float64: float32 gradients, close to the float64 ones."""
    op = SCALAR_OPS[name]
    rng = np.random.default_rng(7)
    shapes = [(3, 1), (1, 4), (3, 4)][: op.arity] if op.arity > 1 else [(3, 4)]
    values = draw_values(op, shapes, "float64", rng)
    out_shape = np.broadcast_shapes(*shapes)
    g = rng.uniform(-1, 1, out_shape)
    out32 = SCALAR_OPS[name].output_dtype(("float32",) * op.arity)
    out64 = SCALAR_OPS[name].output_dtype(("float64",) * op.arity)
    single = _gradients(name, "float32", values, g.astype(out32))
    double = _gradients(name, "float64", values, g.astype(out64))
    for grad32, grad64, value in zip(single, double, values, strict=True):
        if grad32 is None:  # an Undefined term (the order of polygamma)
            continue
        assert grad32.dtype == np.float32 and grad32.shape == value.shape, (name, grad32.dtype)
        np.testing.assert_allclose(grad32, grad64, rtol=2e-3, atol=2e-3, err_msg=name)


VERIFY_CASES = [
    name
    for name in DIFFERENTIABLE
    if "float64" in SCALAR_OPS[name].supported_dtypes()
    and SCALAR_OPS[name].output_dtype(("float64",) * SCALAR_OPS[name].arity) == "float64"
]


@pytest.mark.parametrize("name", VERIFY_CASES)
def test_verify_grad_through_the_driver(name: str) -> None:
    """The same rules through ``jitgraph.grad`` (the driver) and ``verify_grad``, with
    broadcast inputs; integer arguments (polygamma's order) are held constant."""
    op = SCALAR_OPS[name]
    rng = np.random.default_rng(3)
    shapes = [(3, 1), (1, 4), (3, 4)][: op.arity] if op.arity > 1 else [(3, 4)]
    values = draw_values(op, shapes, "float64", rng)
    fixed = {p: values[p] for p in range(op.arity) if (name, p) in INTEGER_ARGUMENTS}
    free = [v for p, v in enumerate(values) if p not in fixed]

    def function(*variables: Any) -> Any:
        arguments = iter(variables)
        return elemwise(
            name, *[fixed[p] if p in fixed else next(arguments) for p in range(op.arity)]
        )

    verify_grad(function, free, rng=np.random.RandomState(0))


# ----------------------------------------------------------------------------- zeros
def _grad_terms(name: str, *types: TensorType) -> tuple[list[Any], Var]:
    inputs = [t(f"arg{i}") for i, t in enumerate(types)]
    out = elemwise(name, *inputs)
    g = TensorType(out.type.dtype, out.type.shape)("g")
    return out.owner.op.grad(out.owner, [g]), out


@pytest.mark.parametrize("name", PIECEWISE_CONSTANT)
def test_piecewise_constant_entries_give_zeros(name: str) -> None:
    """ZERO_GRAD entries: zeros of each input's shape, in its float dtype (floatX for
    integer and bool inputs), broadcast inputs included."""
    op = SCALAR_OPS[name]
    supported = op.supported_dtypes()
    dtype = "float64" if "float64" in supported else supported[0]
    types = [TensorType(dtype, (None, 1) if i % 2 else (None, None)) for i in range(op.arity)]
    terms, out = _grad_terms(name, *types)
    values = [np.ones((2, 1) if i % 2 else (2, 3), dtype=dtype) for i in range(op.arity)]
    inputs = list(out.owner.inputs)
    computed = jitgraph.function(inputs, terms)(*values)
    for term, value, grad in zip(terms, values, computed, strict=True):
        assert term.type.dtype in ("float64", jitgraph.config.floatX), (name, term.type)
        assert grad.shape == value.shape and not grad.any(), (name, grad)


def test_integer_outputs_and_inputs_get_zero_gradients() -> None:
    """Theano: an integer output passes no gradient; an integer input of a float op
    (the exponent of x ** n) gets zeros."""
    (first, second), _ = _grad_terms("add", TensorType("int32", (None,)), T.ivector().type)
    assert first.type.dtype == jitgraph.config.floatX
    x, n = T.dvector("x"), T.bvector("n")
    out = x**n
    gx, gn = out.owner.op.grad(out.owner, [T.ones_like(out)])
    fn = jitgraph.function([x, n], [gx, gn])
    gx_value, gn_value = fn(np.array([2.0, 3.0]), np.array([2, 3], dtype="int8"))
    np.testing.assert_allclose(gx_value, [4.0, 27.0])
    assert gn_value.dtype == jitgraph.config.floatX and not gn_value.any()


# ----------------------------------------------------------------------------- Theano's conventions
def _grad_values(build: Any, *values: np.ndarray) -> list[np.ndarray]:
    """Gradients of sum(build(*inputs)) w.r.t. each input, through Elemwise.grad."""
    inputs = [TensorType(v.dtype.name, (None,) * v.ndim)(f"a{i}") for i, v in enumerate(values)]
    out = build(*inputs)
    terms = out.owner.op.grad(out.owner, [T.ones_like(out)])
    variables = [t for t in terms if isinstance(t, Var)]
    return jitgraph.function(inputs, variables, on_unused_input="ignore")(*values)  # type: ignore[no-any-return]


def test_maximum_and_minimum_ties_go_to_the_first_argument() -> None:
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 4.0])
    ga, gb = _grad_values(T.maximum, a, b)
    np.testing.assert_array_equal(ga, [1, 1, 0])
    np.testing.assert_array_equal(gb, [0, 0, 1])
    ga, gb = _grad_values(T.minimum, a, b)
    np.testing.assert_array_equal(ga, [1, 0, 1])
    np.testing.assert_array_equal(gb, [0, 1, 0])


def test_clip_bounds_are_inclusive_for_x() -> None:
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    gx, glow, ghigh = _grad_values(T.clip, x, np.full(5, -1.0), np.full(5, 1.0))
    np.testing.assert_array_equal(gx, [0, 1, 1, 1, 0])
    np.testing.assert_array_equal(glow, [1, 0, 0, 0, 0])
    np.testing.assert_array_equal(ghigh, [0, 0, 0, 0, 1])
    # low > high: the result is low below it, high above: one bound gets the gradient.
    gx, glow, ghigh = _grad_values(T.clip, np.array([0.0, 2.0, 5.0]), np.full(3, 3.0), np.ones(3))
    np.testing.assert_array_equal(gx + glow + ghigh, [1, 1, 1])


def test_special_points() -> None:
    """abs at 0 gives 0 (sign), sqrt at 0 gives inf, d/dy x**y at x = 0 gives 0."""
    (g,) = _grad_values(T.abs_, np.array([-2.0, 0.0, 3.0]))
    np.testing.assert_array_equal(g, [-1, 0, 1])
    with np.errstate(divide="ignore"):
        (g,) = _grad_values(T.sqrt, np.array([0.0, 4.0]))
    np.testing.assert_array_equal(g, [np.inf, 0.25])
    gx, gy = _grad_values(T.pow, np.array([0.0, 2.0]), np.array([2.0, 3.0]))
    np.testing.assert_allclose(gx, [0.0, 12.0])
    np.testing.assert_allclose(gy, [0.0, 8 * np.log(2.0)])


def test_switch_condition_gets_zeros_and_branches_are_masked() -> None:
    cond, a, b = np.array([1.0, 0.0, 2.0]), np.array([5.0, 6.0, 7.0]), np.array([8.0, 9.0, 1.0])
    gc, ga, gb = _grad_values(T.switch, cond, a, b)
    np.testing.assert_array_equal(gc, [0, 0, 0])
    np.testing.assert_array_equal(ga, [1, 0, 1])
    np.testing.assert_array_equal(gb, [0, 1, 0])


def test_casts_send_the_gradient_back_in_the_input_dtype() -> None:
    x = T.fvector("x")
    for target in ("float64", "complex128"):
        out = T.cast(x, target)
        (term,) = out.owner.op.grad(out.owner, [T.ones_like(out)])
        assert term.type.dtype == "float32", target
    out = T.cast(x, "int32")
    (term,) = out.owner.op.grad(out.owner, [T.ones_like(out)])
    assert not jitgraph.function([x], term)(np.ones(2, "float32")).any()


def test_broadcast_input_gets_a_summed_gradient_of_its_own_shape() -> None:
    x, row = T.dmatrix("x"), T.drow("row")
    out = x * row
    gx, grow = out.owner.op.grad(out.owner, [T.ones_like(out)])
    assert grow.type.shape == (1, None)
    values = np.arange(6.0).reshape(2, 3), np.array([[1.0, 2.0, 3.0]])
    gx_value, grow_value = jitgraph.function([x, row], [gx, grow])(*values)
    np.testing.assert_array_equal(grow_value, [[3.0, 5.0, 7.0]])
    np.testing.assert_array_equal(gx_value, np.broadcast_to(values[1], (2, 3)))


def test_polygamma_order_is_undefined_and_psi_uses_it() -> None:
    n, x = T.dvector("n"), T.dvector("x")
    out = T.polygamma(n, x)
    terms = out.owner.op.grad(out.owner, [T.ones_like(out)])
    assert isinstance(terms[0], Undefined) and "integer orders" in terms[0].reason
    (g,) = _grad_values(T.psi, np.array([1.0]))
    np.testing.assert_allclose(g, [np.pi**2 / 6])  # trigamma(1)


# ----------------------------------------------------------------------------- the table
def test_every_entry_declares_its_gradient() -> None:
    for op in SCALAR_OPS.values():
        assert op.grad is ZERO_GRAD or callable(op.grad), op.name
    assert set(DIFFERENTIABLE) | set(PIECEWISE_CONSTANT) == set(SCALAR_OPS)


def test_register_refuses_an_entry_without_gradient() -> None:
    entry = ScalarOp("test_no_grad", 1, np.exp, float_rule)
    with pytest.raises(ValueError, match="test_no_grad.*declares no gradient.*ZERO_GRAD"):
        register(entry)
    assert "test_no_grad" not in SCALAR_OPS
    with pytest.raises(ValueError, match="grad must be a rule or ZERO_GRAD"):
        register(ScalarOp("test_bad_grad", 1, np.exp, float_rule, grad=DISCONNECTED))  # type: ignore[arg-type]


def test_hand_built_entry_without_gradient_raises_no_gradient_error() -> None:
    entry = ScalarOp("unregistered_exp", 1, np.exp, float_rule)
    out = Elemwise(entry)(T.dvector("x"))
    with pytest.raises(NoGradientError, match="Elemwise\\{unregistered_exp\\} has no gradient"):
        out.owner.op.grad(out.owner, [T.ones_like(out)])


def test_copysign_of_a_bool_magnitude_differentiates() -> None:
    # Regression: the rule took sign() of the bool input, which sign() refuses.
    x = T.dvector("x")
    cost = T.copysign(x < 0, x).sum() + T.copysign(x, -x).sum()
    got = jitgraph.function([x], jitgraph.grad(cost, x))(np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(got, [-1.0, -1.0])
