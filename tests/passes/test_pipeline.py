"""Every rewrite is value-preserving, and the pipeline runs the passes its mode names.

Hypothesis builds random expression graphs (depth <= 6, 1-3 inputs of float and integer
dtypes with broadcastable shapes, NaN/inf among the values) from the elementwise table, the
reductions, dimshuffle/transpose, reshape, dot, indexing, the numerically fragile forms the
stability pass rewrites, and sometimes their gradients; the graph optimized for FAST_RUN
or FAST_COMPILE must give what the REFERENCE graph (no pass) gives.

How values are compared. A rewrite may change a result by rounding (a reassociated sum,
``log1p`` for ``log(1+x)``), and ill-conditioned ops downstream (division by a difference,
``sqrt`` near 0) amplify that. So the tolerance is measured rather than guessed: the
reference graph is run again with every rounded intermediate perturbed by a few ulps
(Monte Carlo arithmetic), and an optimized result must lie within a multiple of the spread
that produces. Where the reference result is NaN or inf, the optimized one may be anything
(a stable form exists to be finite where the naive form overflows); where it is finite,
the optimized one must match. Discontinuous ops (comparisons, rounding, integer division,
casts to integers) only take inputs or exact integer values, where no rewrite can round,
so a last-ulp difference never flips them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph.backends.reference import compile_graph
from jitgraph.config import config
from jitgraph.gradient import NullTypeGradError
from jitgraph.ir.graph import Const, Graph, Var
from jitgraph.ir.verify import verify
from jitgraph.ops.base import NoGradientError
from jitgraph.ops.indexing import Subtensor
from jitgraph.ops.scalar import SCALAR_OPS, ZERO_GRAD, ScalarOp
from jitgraph.ops.shape import DimShuffle, Rebroadcast, Reshape, SpecifyShape, TensorCopy
from jitgraph.passes.pipeline import PIPELINE, optimize

# A symbolic tensor: a Var whose operators (+, [], .T, ...) come from TensorVariable.
Sym = Any

MAX_DEPTH = 6
INPUT_DTYPES = ("float32", "float64", "float64", "int32", "int64")
# Moderate values plus, at a few positions, the values where naive forms break down.
FLOAT_SPECIALS = (0.0, -0.0, np.nan, np.inf, -np.inf, 1e-30, -1e-8, 40.0, -40.0, 800.0, -800.0)
# Discontinuous ops besides the table's ZERO_GRAD entries and the casts to integers: a
# rounding difference in their arguments can change their results by a lot, so they only
# take exact values.
DISCONTINUOUS = {"floor_divide", "remainder", "copysign", "arctan2", "nextafter"}
# Left out: complex numbers, float16, ops whose arguments are not plain values.
EXCLUDED = {"real", "imag", "conj", "angle", "complex", "cast_float16", "cast_complex64"}
EXCLUDED |= {"cast_complex128", "polygamma", "left_shift", "right_shift", "where", "clip"}
# Ops that move data without rounding it: Monte Carlo arithmetic leaves their outputs alone.
DATA_MOVEMENT = (DimShuffle, Reshape, Subtensor, SpecifyShape, Rebroadcast, TensorCopy)
MC_RUNS = 4
MC_ULPS = 8  # relative size of each perturbation, in units of the dtype's epsilon
MC_MARGIN = 4  # an optimized result may differ from the reference by this many spreads


@pytest.fixture(autouse=True)
def verify_between_passes() -> Iterator[None]:
    with config.change_flags(check_passes=True):
        yield


# ------------------------------------------------------------------------------ the graphs
@dataclasses.dataclass(frozen=True)
class Expr:
    """A variable with the concrete shape its value will have, and whether that value is
    exact (an input, or integers computed from exact values) so discontinuous ops may
    read it."""

    var: Sym
    shape: tuple[int, ...]
    exact: bool

    @property
    def is_float(self) -> bool:
        return self.var.type.dtype.startswith("float")


@dataclasses.dataclass(frozen=True)
class Case:
    inputs: list[Var]
    outputs: list[Var]
    values: list[np.ndarray]


def _is_exact_result(var: Var, args: Sequence[Expr]) -> bool:
    return all(a.exact for a in args) and var.type.dtype[0] in "biu"


def _unary_ops(exact_argument: bool) -> list[ScalarOp]:
    return [
        op
        for op in SCALAR_OPS.values()
        if op.arity == 1
        and op.name not in EXCLUDED
        and "f" in op.accepts
        and (exact_argument or not _discontinuous(op))
    ]


def _binary_ops(exact_arguments: bool) -> list[ScalarOp]:
    return [
        op
        for op in SCALAR_OPS.values()
        if op.arity == 2
        and op.name not in EXCLUDED
        and op.name != "power"  # drawn with a constant exponent (see GraphBuilder.power)
        and (exact_arguments or not _discontinuous(op))
    ]


def _discontinuous(op: ScalarOp) -> bool:
    to_integer = op.name.startswith("cast_") and not op.name.startswith("cast_float")
    return op.grad is ZERO_GRAD or op.name in DISCONTINUOUS or to_integer


def _broadcasts(a: Expr, b: Expr) -> bool:
    """Whether a and b combine elementwise: aligned dims are equal, or the 1 is static."""
    for (sa, ca), (sb, cb) in zip(
        zip(reversed(a.var.type.shape), reversed(a.shape)),
        zip(reversed(b.var.type.shape), reversed(b.shape)),
    ):
        if ca != cb and not (ca == 1 and sa == 1) and not (cb == 1 and sb == 1):
            return False
    return True


def _elementwise_shape(*args: Expr) -> tuple[int, ...]:
    return tuple(np.broadcast_shapes(*(a.shape for a in args)))


class GraphBuilder:
    """Draws random expressions over ``leaves`` (``expression(depth)``), node kind by kind."""

    def __init__(self, draw: Callable[[Any], Any], leaves: list[Expr]) -> None:
        self.draw = draw
        self.leaves = leaves
        self.kinds: list[Callable[[int], Expr]] = [
            self.unary,
            self.binary,
            self.binary,
            self.fragile_form,
            self.fragile_form,
            self.reduction,
            self.dimshuffle,
            self.reshape,
            self.dot,
            self.index,
            self.power,
        ]

    def expression(self, depth: int) -> Expr:
        if depth <= 0 or self.draw(st.integers(0, 9)) == 0:
            return self.leaf()
        kind = self.draw(st.sampled_from(self.kinds))
        return kind(depth - 1)

    def leaf(self) -> Expr:
        return self.draw(st.sampled_from(self.leaves))

    def apply(self, op: ScalarOp, *args: Expr) -> Expr | None:
        """``op`` of ``args``, or None where the dtype rule refuses the combination."""
        try:
            var = T.elemwise(op.name, *(a.var for a in args))
        except TypeError:
            return None
        return Expr(var, _elementwise_shape(*args), _is_exact_result(var, args))

    def unary(self, depth: int) -> Expr:
        arg = self.expression(depth)
        op = self.draw(st.sampled_from(_unary_ops(arg.exact)))
        arg = self.into_domain(op, arg)
        return self.apply(op, arg) or arg

    def into_domain(self, op: ScalarOp, arg: Expr) -> Expr:
        """Usually map ``arg`` into ``op``'s test domain (else NaN is its likely value)."""
        if not arg.is_float or self.draw(st.integers(0, 3)) == 0:
            return arg
        var = arg.var
        adapters: dict[str, Callable[[Sym], Sym]] = {
            "positive": lambda v: abs(v) + 0.5,
            "nonneg": lambda v: abs(v),
            "unit": lambda v: T.tanh(v),
            "ge1": lambda v: abs(v) + 1,
            "zero_to_two": lambda v: T.tanh(v) + 1,
        }
        adapt = adapters.get(op.domains()[0])
        return arg if adapt is None else Expr(adapt(var), arg.shape, False)

    def operand_for(self, left: Expr, depth: int) -> Expr:
        """A second operand that broadcasts with ``left`` (a scalar sum if the draw doesn't)."""
        right = self.expression(depth)
        if _broadcasts(left, right):
            return right
        total = T.sum(right.var)
        return Expr(total, (), _is_exact_result(total, [right]))

    def binary(self, depth: int) -> Expr:
        left = self.expression(depth)
        right = self.operand_for(left, depth)
        if self.draw(st.booleans()):
            left, right = right, left
        op = self.draw(st.sampled_from(_binary_ops(left.exact and right.exact)))
        return self.apply(op, left, right) or left

    def power(self, depth: int) -> Expr:
        base = self.expression(depth)
        exponent = self.draw(st.sampled_from([0, 1, 2, 3, 0.5, -1, -0.5, 2.0]))
        if not base.is_float and (exponent < 0 or isinstance(exponent, float)):
            return base  # integers to negative powers are an error in NumPy
        return Expr(base.var**exponent, base.shape, False)

    def fragile_form(self, depth: int) -> Expr:
        """One of the forms canonicalize and stabilize rewrite, around a float operand."""
        arg = self.expression(depth)
        if not arg.is_float:
            arg = Expr(T.cast(arg.var, "float64"), arg.shape, False)
        form = self.draw(st.sampled_from(sorted(FRAGILE_FORMS)))
        var = FRAGILE_FORMS[form](arg.var)
        shape = arg.shape if form not in REDUCING_FORMS else ()
        return Expr(var, shape, False)

    def reduction(self, depth: int) -> Expr:
        arg = self.expression(depth)
        axes = self.reduced_axes(len(arg.shape))
        keepdims = self.draw(st.booleans())
        ndim = len(arg.shape)
        reduced = [
            n for a, n in enumerate(arg.shape) if axes is None or a in {b % ndim for b in axes}
        ]
        kinds = ["sum", "mean", "prod"]
        if all(n > 0 for n in reduced):
            kinds.append("max")  # max of an empty axis is an error in NumPy too
        kind = self.draw(st.sampled_from(kinds))
        var = getattr(T, kind)(arg.var, axis=axes, keepdims=keepdims)
        shape = np.sum(np.zeros(arg.shape), axis=axes, keepdims=keepdims).shape
        exact = kind != "mean" and _is_exact_result(var, [arg])
        return Expr(var, shape, exact)

    def reduced_axes(self, ndim: int) -> tuple[int, ...] | None:
        """None (all), or some axes, spelled with negative numbers sometimes."""
        if ndim == 0 or self.draw(st.booleans()):
            return None
        axes = self.draw(st.sets(st.integers(0, ndim - 1), max_size=ndim))
        return tuple(sorted(a - ndim if self.draw(st.booleans()) else a for a in axes))

    def dimshuffle(self, depth: int) -> Expr:
        arg = self.expression(depth)
        if self.draw(st.booleans()):
            return Expr(arg.var.T, arg.shape[::-1], arg.exact)
        static = arg.var.type.shape
        kept = [d for d in range(len(arg.shape)) if static[d] != 1 or self.draw(st.booleans())]
        order: list[Any] = self.draw(st.permutations(kept))
        for _ in range(self.draw(st.integers(0, 2))):
            order.insert(self.draw(st.integers(0, len(order))), "x")
        shape = tuple(1 if d == "x" else arg.shape[d] for d in order)
        return Expr(arg.var.dimshuffle(*order), shape, arg.exact)

    def reshape(self, depth: int) -> Expr:
        arg = self.expression(depth)
        size = math.prod(arg.shape)
        divisors = [d for d in range(1, max(size, 1) + 1) if size % d == 0] if size else [0, 1]
        first = self.draw(st.sampled_from(divisors))
        shapes: list[tuple[int, ...]] = [(size,), (1, size), (size, 1)]
        if size:
            shapes.append((first, size // first))
        shape = self.draw(st.sampled_from(shapes))
        target = list(shape)
        if size and self.draw(st.booleans()):
            target[self.draw(st.integers(0, len(shape) - 1))] = -1
        return Expr(arg.var.reshape(tuple(target)), shape, arg.exact)

    def dot(self, depth: int) -> Expr:
        left = self.expression(depth)
        if len(left.shape) != 1 and len(left.shape) != 2:
            size = math.prod(left.shape)
            left = Expr(left.var.reshape((size,)), (size,), left.exact)
        right = self.expression(depth)
        if right.shape != left.shape or not self.draw(st.booleans()):
            right = Expr(T.tanh(left.var) if left.is_float else left.var, left.shape, left.exact)
        if len(left.shape) == 2:
            right = Expr(right.var.T, right.shape[::-1], right.exact)
        try:
            var = T.dot(left.var, right.var)
        except TypeError:  # e.g. bool operands
            return left
        shape = np.dot(np.zeros(left.shape), np.zeros(right.shape)).shape
        return Expr(var, shape, _is_exact_result(var, [left, right]))

    def index(self, depth: int) -> Expr:
        arg = self.expression(depth)
        if not arg.shape:
            return arg
        key: list[Any] = []
        for n in arg.shape:
            if n and self.draw(st.booleans()):
                key.append(self.draw(st.integers(-n, n - 1)))
            else:
                start = self.draw(st.none() | st.integers(-n - 1, n + 1))
                step = self.draw(st.sampled_from([None, 1, 2, -1, -2]))
                key.append(slice(start, None, step))
        shape = np.zeros(arg.shape)[tuple(key)].shape
        return Expr(arg.var[tuple(key)], shape, arg.exact)


def _softmax_last(x: Sym) -> Sym:
    e = T.exp(x)
    return e / T.sum(e, axis=-1, keepdims=True) if x.type.ndim else e / e


# The forms canonicalize and stabilize are to rewrite (issue 4), written the naive way.
FRAGILE_FORMS: dict[str, Callable[[Sym], Sym]] = {
    "softplus": lambda x: T.log(1 + T.exp(x)),
    "sigmoid": lambda x: 1 / (1 + T.exp(-x)),
    "sigmoid_tanh": lambda x: (1 + T.tanh(x / 2)) / 2,
    "expm1": lambda x: T.exp(x) - 1,
    "log1p": lambda x: T.log(1 + x),
    "log1p_swapped": lambda x: T.log(x + 1),
    "mul_by_one": lambda x: x * 1,
    "one_times": lambda x: 1 * x,
    "add_zero": lambda x: x + 0,
    "sub_zero": lambda x: x - 0,
    "div_by_one": lambda x: x / 1,
    "neg_neg": lambda x: T.neg(T.neg(x)),
    "square": lambda x: x**2,
    "sqrt": lambda x: x**0.5,
    "reciprocal": lambda x: x**-1,
    "double_transpose": lambda x: x.T.T,
    "constant_chain_mul": lambda x: x * 2 * 3,
    "constant_chain_add": lambda x: (1 + x) + 2 - 3,
    "sub_self": lambda x: x - x,
    "exp_log": lambda x: T.exp(T.log(x)),
    "log_exp": lambda x: T.log(T.exp(x)),
    "log_sigmoid": lambda x: T.log(T.sigmoid(x)),
    "log_one_minus_sigmoid": lambda x: T.log(1 - T.sigmoid(x)),
    "log_naive_sigmoid": lambda x: T.log(1 / (1 + T.exp(-x))),
    "logsumexp": lambda x: T.log(T.sum(T.exp(x))),
    "softmax": _softmax_last,
    "log_softmax": lambda x: T.log(_softmax_last(x)),
    "sigmoid_crossentropy": lambda x: (
        -(T.tanh(x) * T.log(T.sigmoid(x)) + (1 - T.tanh(x)) * T.log(1 - T.sigmoid(x)))
    ),
    "sum_of_broadcast": lambda x: T.sum(x.dimshuffle("x", *range(x.type.ndim)) * 1, axis=0),
}
REDUCING_FORMS = {"logsumexp"}


def _input_values(draw: Callable[[Any], Any], dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    size = math.prod(shape)
    if dtype.startswith("float"):
        moderate = st.floats(-4, 4, width=32 if dtype == "float32" else 64)
        specials: Any = st.sampled_from(FLOAT_SPECIALS)
    else:
        info = np.iinfo(dtype)
        moderate, specials = st.integers(-5, 5), st.sampled_from([0, int(info.min), int(info.max)])
    flat = draw(st.lists(moderate, min_size=size, max_size=size))
    if size:
        for position, value in draw(
            st.lists(st.tuples(st.integers(0, size - 1), specials), max_size=2)
        ):
            flat[position] = value
    return np.array(flat, dtype=dtype).reshape(shape)


def _leaves(draw: Callable[[Any], Any]) -> tuple[list[Expr], list[np.ndarray]]:
    """1-3 inputs: each a broadcastable version of one base shape (0-size rarely)."""
    base = draw(st.lists(st.integers(1, 4), max_size=3))
    if base and draw(st.integers(0, 9)) == 0:
        base[draw(st.integers(0, len(base) - 1))] = 0
    leaves, values = [], []
    for position in range(draw(st.integers(1, 3))):
        dims = base[len(base) - draw(st.integers(0, len(base))) :]
        shape = tuple(1 if draw(st.integers(0, 3)) == 0 else n for n in dims)
        static = tuple(
            1 if n == 1 and d != 1 else (n if draw(st.integers(0, 2)) == 0 else None)
            for n, d in zip(shape, dims)
        )
        dtype = draw(st.sampled_from(INPUT_DTYPES))
        var = T.tensor(dtype, static, name="xyz"[position])
        leaves.append(Expr(var, shape, True))
        values.append(_input_values(draw, dtype, shape))
    return leaves, values


def _gradients(outputs: list[Sym], inputs: list[Sym]) -> list[Sym]:
    wrt = [x for x in inputs if x.type.dtype.startswith("float")]
    costs: list[Sym] = [T.sum(v) for v in outputs if v.type.dtype.startswith("float")]
    if not wrt or not costs:
        return []
    try:
        return list(T.grad(sum(costs[1:], costs[0]), wrt, disconnected_inputs="ignore"))
    except (NullTypeGradError, NoGradientError):
        return []  # an op on the way has no gradient: test the forward graph alone


@st.composite
def expression_graphs(draw: Callable[[Any], Any]) -> Case:
    leaves, values = _leaves(draw)
    builder = GraphBuilder(draw, leaves)
    outputs = [builder.expression(MAX_DEPTH).var for _ in range(draw(st.integers(1, 2)))]
    if draw(st.integers(0, 2)) == 0:
        outputs += _gradients(outputs, [leaf.var for leaf in leaves])
    return Case([leaf.var for leaf in leaves], outputs, values)


# ------------------------------------------------------------------------- the comparison
def run_reference(graph: Graph, values: Sequence[np.ndarray]) -> list[np.ndarray]:
    return compile_graph(graph).run(list(values))


def run_adjusted(
    graph: Graph, values: Sequence[np.ndarray], adjust: Callable[[np.ndarray], np.ndarray]
) -> list[np.ndarray]:
    """The reference interpreter, with ``adjust`` applied to each computed result (data
    movement excepted: it computes nothing)."""
    env: dict[int, Any] = {id(v): value for v, value in zip(graph.inputs, values)}
    with np.errstate(all="ignore"):
        for node in graph.nodes:
            args = [v.data if isinstance(v, Const) else env[id(v)] for v in node.inputs]
            results = node.op.perform(node, args)
            for var, result in zip(node.outputs, results):
                moves_data = isinstance(node.op, DATA_MOVEMENT)
                env[id(var)] = result if moves_data else adjust(np.asarray(result))
    return [v.data if isinstance(v, Const) else env[id(v)] for v in graph.outputs]


def _perturber(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    """Move each float value by MC_ULPS ulps, up or down at random."""

    def perturb(value: np.ndarray) -> np.ndarray:
        if value.dtype.kind != "f":
            return value
        eps = float(np.finfo(value.dtype).eps)
        signs = rng.choice([-1.0, 1.0], size=value.shape)
        return (value * (1 + MC_ULPS * eps * signs)).astype(value.dtype)

    return perturb


def _poison_infinities(value: np.ndarray) -> np.ndarray:
    """inf -> NaN, so that NaN marks what an overflow (or log(0), 1/0, ...) reached."""
    if value.dtype.kind != "f":
        return value
    return np.where(np.isinf(value), np.nan, value).astype(value.dtype)


def rounding_spread(graph: Graph, values: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per output element, how far ulp-sized perturbations of the intermediates move it;
    inf where they move it to NaN/inf (an ill-conditioned reference value), and where an
    intermediate was infinite: the naive form overflowed on the way to a finite value
    (``1/log(exp(-1000.))`` is -0.), which a stable form need not reproduce."""
    rng = np.random.default_rng(0)
    reference = run_reference(graph, values)
    spreads = [np.zeros(np.shape(r)) for r in reference]
    for _ in range(MC_RUNS):
        noisy_outputs = run_adjusted(graph, values, _perturber(rng))
        for spread, exact, noisy in zip(spreads, reference, noisy_outputs):
            if exact.dtype.kind == "f":
                with np.errstate(all="ignore"):
                    gap = np.abs(noisy.astype(np.float64) - exact.astype(np.float64))
                np.maximum(spread, np.where(np.isnan(gap), np.inf, gap), out=spread)
    poisoned = run_adjusted(graph, values, _poison_infinities)
    for spread, exact, marked in zip(spreads, reference, poisoned):
        if exact.dtype.kind == "f":
            spread[np.isnan(marked) & ~np.isnan(exact)] = np.inf
    return spreads


def assert_same_values(
    optimized: np.ndarray, reference: np.ndarray, spread: np.ndarray, where: str
) -> None:
    assert optimized.dtype == reference.dtype, (
        f"{where}: dtype {optimized.dtype} != {reference.dtype}"
    )
    assert optimized.shape == reference.shape, (
        f"{where}: shape {optimized.shape} != {reference.shape}"
    )
    if reference.dtype.kind != "f":
        np.testing.assert_array_equal(optimized, reference, err_msg=where)
        return
    finite = np.isfinite(reference)
    got, want = optimized[finite].astype(np.float64), reference[finite].astype(np.float64)
    eps = float(np.finfo(reference.dtype).eps)
    tolerance = MC_MARGIN * spread[finite] + 4 * eps * np.abs(want) + np.finfo(reference.dtype).tiny
    with np.errstate(all="ignore"):
        bad = ~(np.abs(got - want) <= tolerance)
    assert not bad.any(), (
        f"{where}: where the reference is finite, the optimized graph gives "
        f"{got[bad][:5]} instead of {want[bad][:5]} (tolerance {tolerance[bad][:5]})"
    )


def check_mode(case: Case, mode: str) -> None:
    """``optimize`` run by hand and ``function(mode=...)`` both give the reference values."""
    graph = Graph(case.inputs, case.outputs)
    note(f"reference graph:\n{graph.as_text()}")
    result = optimize(graph, mode)
    note(f"{mode} graph:\n{result.graph.as_text()}")
    verify(result.graph)
    expected_passes = [p.name for p in PIPELINE if mode in p.modes]
    assert [r.name for r in result.records] == expected_passes
    reference = run_reference(graph, case.values)
    spreads = rounding_spread(graph, case.values)
    optimized = run_reference(result.graph, case.values)
    for position, (got, want, spread) in enumerate(zip(optimized, reference, spreads)):
        assert_same_values(got, want, spread, f"{mode} output {position}")
    compiled = jitgraph.function(case.inputs, case.outputs, mode=mode, on_unused_input="ignore")
    assert [r.name for r in compiled.optimizer_report.records] == expected_passes
    for position, (got, want, spread) in enumerate(zip(compiled(*case.values), reference, spreads)):
        assert_same_values(got, want, spread, f"function(mode={mode!r}) output {position}")
    check_reference_mode(case, reference)


def check_reference_mode(case: Case, reference: Sequence[np.ndarray]) -> None:
    """``function(mode="REFERENCE")`` runs no pass and gives the reference values exactly."""
    compiled = jitgraph.function(
        case.inputs, case.outputs, mode="REFERENCE", on_unused_input="ignore"
    )
    assert compiled.optimizer_report.records == ()
    for position, (got, want) in enumerate(zip(compiled(*case.values), reference)):
        assert got.dtype == want.dtype, f"REFERENCE output {position}: {got.dtype} != {want.dtype}"
        np.testing.assert_array_equal(got, want, err_msg=f"REFERENCE output {position}")


# ------------------------------------------------------------------------------ the tests
@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=expression_graphs())
def test_optimized_graph_gives_the_reference_values(mode: str, case: Case) -> None:
    check_mode(case, mode)


def _sample_graph() -> Graph:
    x = T.dmatrix("x")
    y = T.fvector("y")
    return Graph([x, y], [T.log(1 + T.exp(x * 1)) + y, T.sum((x.T.T - 0) ** 2, axis=0)])


def test_fast_run_records_each_pass_once_in_pipeline_order() -> None:
    result = optimize(_sample_graph(), "FAST_RUN")
    assert [r.name for r in result.records] == [p.name for p in PIPELINE if "FAST_RUN" in p.modes]
    assert {"merge", "fold", "canonicalize", "stabilize", "fuse"} <= {
        r.name for r in result.records
    }
    assert result.records[-1].nodes_after == len(result.graph.nodes)
    assert all(r.seconds >= 0 for r in result.records)
    assert any(r.changed for r in result.records)  # x*1, x.T.T, -0 and log(1+exp) all go


def test_fast_compile_runs_only_merge_fold_and_fuse() -> None:
    result = optimize(_sample_graph(), "FAST_COMPILE")
    names = [r.name for r in result.records]
    assert names == [p.name for p in PIPELINE if "FAST_COMPILE" in p.modes]
    assert set(names) == {"merge", "fold", "fuse"}


def test_reference_runs_no_pass() -> None:
    graph = _sample_graph()
    result = optimize(graph, "REFERENCE")
    assert result.records == ()
    assert result.graph is graph


def test_unchanged_graph_is_returned_as_is() -> None:
    x = T.dvector("x")
    graph = Graph([x], [x])
    result = optimize(graph, "FAST_RUN")
    assert not any(r.changed for r in result.records)
    assert result.graph is graph


def test_comparison_catches_a_wrong_value() -> None:
    """The check this file relies on can fail: a one-ulp-off stable form passes, a wrong
    op does not, and a finite value where the reference overflowed passes."""
    x = T.dvector("x")
    naive = Graph([x], [T.log(1 + T.exp(x))])
    values = [np.array([-50.0, 0.0, 3.0, 1000.0])]
    reference = run_reference(naive, values)[0]
    spread = rounding_spread(naive, values)[0]
    stable = run_reference(Graph([x], [T.softplus(x)]), values)[0]
    assert_same_values(stable, reference, spread, "softplus")
    wrong = run_reference(Graph([x], [T.exp(x)]), values)[0]
    with pytest.raises(AssertionError, match="where the reference is finite"):
        assert_same_values(wrong, reference, spread, "exp")
