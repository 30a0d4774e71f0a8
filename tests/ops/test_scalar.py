"""The elementwise op table (``jitgraph/ops/scalar.py``), tested from the table itself.

Every entry is run, through ``jitgraph.function``, on every dtype it accepts, and
compared with an independent NumPy/SciPy oracle computed in the rule's compute dtypes
and cast to the rule's output dtype. Adding an entry adds its tests; an entry NumPy and
SciPy have no function for needs an oracle in ``ORACLES`` (the test says so).

- ``test_every_dtype``: each (op, dtype), all arguments of that dtype, inputs built from
  the edge values of the op's test domain (NaN, +-inf, +-0, tiny and huge floats,
  integer extremes), every combination of them through broadcasting.
- ``test_hypothesis``: each op, mixed argument dtypes, shapes with 0-size and 0-d,
  static broadcast patterns, non-contiguous views, random values; also checks
  ``infer_shape`` against the actual output shape.
- Theano's dtype rules on key cases, the error messages, and the table's own checks.

Compiled functions are cached per (op, input types) and reused across examples.
"""

from __future__ import annotations

import decimal
import math
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import scipy.special
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import jitgraph
import jitgraph.tensor as T
from jitgraph import dtypes
from jitgraph.config import config
from jitgraph.ir.graph import Const
from jitgraph.ir.types import TensorType
from jitgraph.ops.scalar import (
    SCALAR_OPS,
    TEST_DOMAINS,
    DtypeRuleError,
    ScalarOp,
    float_rule,
    register,
    upcast_rule,
)
from jitgraph.tensor.basic import elemwise

ELEMENTWISE = sorted(name for name in SCALAR_OPS if not name.startswith("cast_"))
UNIFORM_CASES = [
    (name, dtype) for name in sorted(SCALAR_OPS) for dtype in SCALAR_OPS[name].supported_dtypes()
]


# ----------------------------------------------------------------------------- oracles
def _round_half_away(x: np.ndarray) -> np.ndarray:
    """C's round() through exact decimal arithmetic (no float shortcuts)."""

    def one(value: float) -> float:
        if not math.isfinite(value) or abs(value) >= 2**53:  # already an integer
            return value
        rounded = decimal.Decimal(value).quantize(decimal.Decimal(1), decimal.ROUND_HALF_UP)
        return math.copysign(float(rounded), value)

    return np.vectorize(one, otypes=[x.dtype])(x) if x.size else x.copy()


def _theano_clip(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.where(x < low, low, np.where(x > high, high, x))


def _complex(real: np.ndarray, imag: np.ndarray) -> np.ndarray:
    return np.asarray(np.frompyfunc(complex, 2, 1)(real, imag)).astype(
        np.result_type(real, np.complex64)
    )


def _softplus(x: np.ndarray) -> np.ndarray:
    one = np.ones((), dtype=x.dtype)
    return np.where(x > 0, x + np.log1p(np.exp(-x)), np.log1p(np.exp(np.minimum(x, one))))


# Entries whose name is not a NumPy or scipy.special function, or whose semantics differ.
ORACLES: dict[str, Callable[..., Any]] = {
    "clip": _theano_clip,
    "complex": _complex,
    "round_half_away_from_zero": _round_half_away,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "softplus": _softplus,
}


def oracle(op: ScalarOp) -> Callable[..., Any]:
    if op.name.startswith("cast_"):
        target = op.name[len("cast_") :]
        return lambda x: x.astype(target)
    found = ORACLES.get(op.name) or getattr(np, op.name, None)
    found = found or getattr(scipy.special, op.name, None)
    if found is None:
        pytest.fail(f"no oracle for the scalar op {op.name!r}: add one to ORACLES")
    return found  # type: ignore[no-any-return]


def expected_result(op: ScalarOp, values: Sequence[np.ndarray]) -> np.ndarray:
    compute, out = op.dtype_rule(tuple(v.dtype.name for v in values))
    with np.errstate(all="ignore"):
        args = [v.astype(d) for v, d in zip(values, compute)]
        return np.asarray(oracle(op)(*args)).astype(out)


# ----------------------------------------------------------------------------- comparison
def tolerance(dtype: np.dtype) -> float:
    return 8 * float(np.finfo(dtype).eps)


def assert_matches(op: ScalarOp, got: np.ndarray, expected: np.ndarray) -> None:
    assert got.dtype == expected.dtype, (op.name, got.dtype, expected.dtype)
    assert got.shape == expected.shape, (op.name, got.shape, expected.shape)
    exact = expected.dtype.kind in "biu" or (op.exact and expected.dtype.kind == "f")
    if exact:
        np.testing.assert_array_equal(got, expected, err_msg=op.name)
        if expected.dtype.kind == "f":  # the sign of zero too (copysign, negative, ...)
            np.testing.assert_array_equal(np.signbit(got), np.signbit(expected), op.name)
        return
    rtol = tolerance(expected.dtype)
    if op.name == "erfc" and expected.dtype == np.float64:
        # SciPy's float64 erfc (the oracle) is 50-500 ulp off for x > ~6, where jitgraph's
        # compiled erfc is within 1 ulp (checked against mpmath in tests/backends/llvm).
        rtol = 1e-12
    tiny = float(np.finfo(expected.dtype).smallest_normal)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=tiny, equal_nan=True, err_msg=op.name)


# ----------------------------------------------------------------------------- compiling
_COMPILED: dict[tuple[Any, ...], Any] = {}


def compiled(op: ScalarOp, types: Sequence[TensorType]) -> Any:
    """``(function, output type)``; the function returns the op's output then the
    symbolic dims ``infer_shape`` gives (the static ones are returned as constants)."""
    key = (op.name, tuple(types))
    if key not in _COMPILED:
        inputs = [t(f"arg{i}") for i, t in enumerate(types)]
        out = elemwise(op.name, *inputs)
        node = out.owner
        input_shapes = [tuple(v.shape[i] for i in range(v.ndim)) for v in node.inputs]
        dims = node.op.infer_shape(node, input_shapes)[0]
        symbolic = [d for d in dims if not isinstance(d, Const)]
        fn = jitgraph.function(inputs, [out, *symbolic], on_unused_input="ignore")
        _COMPILED[key] = (fn, out.type, dims)
    return _COMPILED[key]


def run_op(op: ScalarOp, types: Sequence[TensorType], values: Sequence[np.ndarray]) -> np.ndarray:
    fn, out_type, dims = compiled(op, types)
    out, *symbolic = fn(*values)
    assert out.dtype == out_type.dtype
    computed = iter(symbolic)
    inferred = tuple(int(d.data) if isinstance(d, Const) else int(next(computed)) for d in dims)
    assert inferred == out.shape, f"{op.name}: infer_shape says {inferred}, got {out.shape}"
    return out  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- domains
def domain_bounds(domain: str, dtype: str) -> tuple[float, float]:
    """The closed range of finite test values of ``domain`` for ``dtype`` (Python ints
    for integer dtypes, so int64 and uint64 bounds stay exact)."""
    full: tuple[float, float]
    if dtype == "bool":
        full = (0, 1)
    elif dtypes.kind(dtype) in "iu":
        info = np.iinfo(dtype)
        full = (int(info.min), int(info.max))
    else:
        big = float(np.finfo(dtypes.complex_to_real(dtype)).max)
        full = (-big, big)
    low, high = {
        "any": full,
        "positive": (0, full[1]),
        "nonneg": (0, full[1]),
        "unit": (-1, 1),
        "ge1": (1, full[1]),
        "nonzero": full,
        "small": (-20, 20),
        "zero_to_two": (0, 2),
        "exponent": (0, 10) if dtypes.kind(dtype) in "biu" else (-10, 10),
        "shift": (0, 8 * np.dtype(dtype).itemsize - 1),
    }[domain]
    return max(low, full[0]), min(high, full[1])


def in_domain(value: float, domain: str, dtype: str) -> bool:
    """Whether a finite value belongs to ``domain`` (NaN and inf always do, for floats)."""
    if isinstance(value, float) and not math.isfinite(value):
        return True
    low, high = domain_bounds(domain, dtype)
    if domain in ("positive", "nonzero") and value == 0:
        return False
    return low <= value <= high


def edge_values(dtype: str, domain: str) -> list[Any]:
    """The values every test of ``dtype`` in ``domain`` includes."""
    if dtype == "bool":
        return [v for v in (False, True) if in_domain(float(v), domain, dtype)]
    if dtypes.kind(dtype) in "iu":
        info = np.iinfo(dtype)
        candidates = [info.min, info.min + 1, -2, -1, 0, 1, 2, 3, 7, 8, info.max - 1, info.max]
        return sorted({int(v) for v in candidates if in_domain(int(v), domain, dtype)})
    real = dtypes.complex_to_real(dtype)
    info = np.finfo(real)
    finite = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, 2.5, -2.5, 3.0, 0.1, -7.25, 19.5]
    finite += [float(info.smallest_normal), float(info.smallest_subnormal)]
    finite += [float(info.max), -float(info.max), float(info.max) / 3]
    chosen = [v for v in finite if in_domain(v, domain, dtype)] + [math.nan, math.inf, -math.inf]
    if dtypes.kind(dtype) == "c":
        parts = chosen[:6] + [math.nan, math.inf]
        return [complex(re, im) for re in parts for im in (0.0, -1.5, math.inf, math.nan)]
    return chosen


def random_values(dtype: str, domain: str, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` finite values of ``domain``, spread over its range."""
    low, high = domain_bounds(domain, dtype)
    if dtype == "bool":
        values = rng.integers(0, 2, count).astype(bool)
    elif dtypes.kind(dtype) in "iu":
        values = rng.integers(int(low), int(high), count, endpoint=True, dtype=dtype)
    else:
        scale = min(high - low, 200.0) / 2
        center = (low + high) / 2 if high - low < 400 else 0.0
        values = np.clip(center + scale * rng.uniform(-1, 1, count), low, high)
        if dtypes.kind(dtype) == "c":
            values = values + 1j * rng.uniform(-3, 3, count)
    values = values.astype(dtype)
    if domain in ("positive", "nonzero"):
        values[values == 0] = 1
    return values  # type: ignore[no-any-return]


def test_domains_are_documented() -> None:
    for op in SCALAR_OPS.values():
        assert set(op.domains()) <= set(TEST_DOMAINS), op.name


# ----------------------------------------------------------------------------- every dtype
@pytest.mark.parametrize(
    ("name", "dtype"), UNIFORM_CASES, ids=[f"{n}-{d}" for n, d in UNIFORM_CASES]
)
def test_every_dtype(name: str, dtype: str) -> None:
    """All arguments of ``dtype``; every combination of domain edge values (plus a few
    random ones) meets through broadcasting: argument i varies along axis i."""
    op = SCALAR_OPS[name]
    rng = np.random.default_rng(zlib.crc32(f"{name}-{dtype}".encode()))
    values, types = [], []
    for position, domain in enumerate(op.domains()):
        column = np.array(edge_values(dtype, domain), dtype=dtype)
        if op.arity < 3:
            column = np.concatenate([column, random_values(dtype, domain, 6, rng)])
        shape = [1] * op.arity
        shape[position] = column.size
        values.append(column.reshape(shape))
        types.append(TensorType(dtype, tuple(1 if n == 1 else None for n in shape)))
    got = run_op(op, types, values)
    assert got.dtype.name == op.output_dtype((dtype,) * op.arity)
    assert_matches(op, got, expected_result(op, values))


# ----------------------------------------------------------------------------- hypothesis
def element_strategy(dtype: str, domain: str) -> st.SearchStrategy[Any]:
    """Domain values of ``dtype``: its edge values, or random ones."""
    edges = st.sampled_from(edge_values(dtype, domain))
    low, high = domain_bounds(domain, dtype)
    if dtype == "bool":
        return edges
    if dtypes.kind(dtype) in "iu":
        randoms = st.integers(int(low), int(high)).filter(lambda v: in_domain(v, domain, dtype))
    elif dtypes.kind(dtype) == "f":
        width = 8 * np.dtype(dtype).itemsize
        randoms = st.floats(low, high, width=width).filter(lambda v: in_domain(v, domain, dtype))
    else:
        randoms = st.complex_numbers(max_magnitude=1e6, width=8 * np.dtype(dtype).itemsize)
    return st.one_of(edges, randoms)


def make_view(value: np.ndarray, layout: str) -> np.ndarray:
    """The same values as ``value`` in another memory layout."""
    if value.ndim == 0 or layout == "contiguous":
        return value
    if layout == "reversed":
        return np.ascontiguousarray(value[::-1])[::-1]
    if layout == "transposed":
        return np.ascontiguousarray(value.T).T
    strided = np.zeros(value.shape[:-1] + (2 * value.shape[-1],), dtype=value.dtype)
    strided[..., ::2] = value
    return strided[..., ::2]


def uniform_or_mixed_dtypes(op: ScalarOp) -> st.SearchStrategy[tuple[str, ...]]:
    accepted = [d for d in dtypes.ALL if dtypes.kind(d) in op.accepts]
    return st.tuples(*[st.sampled_from(accepted)] * op.arity)


@st.composite
def op_inputs(draw: st.DrawFn, op: ScalarOp) -> tuple[list[TensorType], list[np.ndarray]]:
    """Input types and values: shared shape (0-d and 0-size included), per-argument
    static broadcast dims, dtypes (mixed), layouts and values."""
    arg_dtypes = draw(uniform_or_mixed_dtypes(op))
    try:
        op.dtype_rule(arg_dtypes)
    except DtypeRuleError:
        assume(False)
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    types, values = [], []
    for dtype, domain in zip(arg_dtypes, op.domains()):
        broadcast = draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
        arg_shape = tuple(1 if b else n for b, n in zip(broadcast, shape))
        types.append(TensorType(dtype, tuple(1 if b else None for b in broadcast)))
        value = draw(hnp.arrays(dtype, arg_shape, elements=element_strategy(dtype, domain)))
        layout = draw(st.sampled_from(["contiguous", "reversed", "transposed", "strided"]))
        values.append(make_view(value, layout))
    return types, values


@pytest.mark.parametrize("name", ELEMENTWISE)
@settings()
@given(data=st.data())
def test_hypothesis(name: str, data: st.DataObject) -> None:
    op = SCALAR_OPS[name]
    types, values = data.draw(op_inputs(op))
    got = run_op(op, types, values)
    assert_matches(op, got, expected_result(op, values))


@settings()
@given(source=st.sampled_from(dtypes.ALL), target=st.sampled_from(dtypes.ALL), data=st.data())
def test_hypothesis_casts(source: str, target: str, data: st.DataObject) -> None:
    assume(not (dtypes.is_complex(source) and not dtypes.is_complex(target)))
    op = SCALAR_OPS[f"cast_{target}"]
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=4))
    value = data.draw(hnp.arrays(source, shape, elements=element_strategy(source, "any")))
    # Float to integer casts of NaN, inf or out-of-range values are undefined in C and
    # NumPy warns; jitgraph promises NumPy's answer only for values in range.
    if dtypes.kind(source) == "f" and dtypes.kind(target) in "iu":
        info = np.iinfo(target)
        wide = value.astype("float64")
        assume(bool(np.all(np.isfinite(wide) & (wide >= info.min) & (wide <= info.max))))
    got = run_op(op, [TensorType(source, (None,) * value.ndim)], [make_view(value, "reversed")])
    assert_matches(op, got, expected_result(op, [value]))


# ----------------------------------------------------------------------------- Theano dtypes
@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (lambda: T.bvector() + T.bvector(), "int8"),
        (lambda: T.ivector() / T.ivector(), "float64"),
        (lambda: T.exp(T.bvector()), "float32"),
        (lambda: T.exp(T.lvector()), "float64"),
        (lambda: T.exp(T.ivector()), "float64"),
        (lambda: T.gt(T.dvector(), T.dvector()), "bool"),
        (lambda: T.abs_(T.cvector()), "float32"),
        (lambda: abs(T.zvector()), "float64"),
        (lambda: T.fvector() + 0.5, "float32"),
        (lambda: T.floor(T.ivector()), "float64"),
        (lambda: T.floor(T.bvector()), "float32"),
        (lambda: T.sqrt(T.wvector()), "float32"),
        (lambda: T.inv(T.bvector()), "float32"),
        (lambda: T.int_div(T.ivector(), T.bvector()), "int32"),
        (lambda: T.bvector() // T.bvector(), "int8"),
        (lambda: T.pow(T.vector(dtype="bool"), T.vector(dtype="bool")), "int8"),
        (lambda: T.real(T.cvector()), "float32"),
        (lambda: T.angle(T.zvector()), "float64"),
        (lambda: T.complex(T.fvector(), T.fvector()), "complex64"),
        (lambda: T.complex(T.ivector(), T.ivector()), "complex128"),
        (lambda: T.and_(T.vector(dtype="bool"), T.vector(dtype="bool")), "bool"),
        (lambda: T.switch(T.dvector(), T.bvector(), T.fvector()), "float32"),
        (lambda: T.sigmoid(T.bvector()), "float32"),
        (lambda: T.iround(T.fvector()), "int64"),
        (lambda: T.sqr(T.vector(dtype="bool")), "bool"),
    ],
)
def test_theano_dtype_rules(expression: Callable[[], Any], expected: str) -> None:
    assert expression().dtype == expected


def test_true_div_of_integers_gives_floatx_as_in_theano() -> None:
    assert (T.bvector() / T.bvector()).dtype == "float64"
    assert (T.ivector() / T.bvector()).dtype == "float64"
    with config.change_flags(floatX="float32"):
        assert (T.ivector() / T.lvector()).dtype == "float32"
    assert (T.bvector() / T.fvector()).dtype == "float32"
    assert (T.lvector() / T.fvector()).dtype == "float64"


# ----------------------------------------------------------------------------- semantics
def evaluate(expression: Any) -> np.ndarray:
    return jitgraph.function([], expression)()  # type: ignore[no-any-return]


def test_integer_division_and_modulo_follow_numpy() -> None:
    a = T.constant(np.array([7, -7, 7, -7, 5, -128], dtype="int8"))
    b = T.constant(np.array([2, 2, -2, -2, 0, -1], dtype="int8"))
    np.testing.assert_array_equal(evaluate(a // b), [3, -4, -4, 3, 0, -128])
    np.testing.assert_array_equal(evaluate(a % b), [1, 1, -1, -1, 0, 0])


def test_integer_power_with_negative_exponent_raises() -> None:
    base, exponent = T.ivector("base"), T.ivector("exponent")
    f = jitgraph.function([base, exponent], base**exponent)
    np.testing.assert_array_equal(f(np.array([2, 3], "int32"), np.array([3, 0], "int32")), [8, 1])
    with pytest.raises(ValueError, match="negative integer power"):
        f(np.array([2], "int32"), np.array([-1], "int32"))


def test_complex_keeps_infinite_parts() -> None:
    out = evaluate(T.complex(T.constant(np.array([1.0])), T.constant(np.array([np.inf]))))
    assert out[0].real == 1.0 and out[0].imag == np.inf


# ----------------------------------------------------------------------------- errors
def test_unsupported_dtype_names_op_argument_and_dtype() -> None:
    x = T.dvector("weights")
    with pytest.raises(TypeError, match=r"and_: argument 0 is 'weights'.*float64"):
        T.and_(x, x)
    with pytest.raises(TypeError, match=r"int_div: argument 1 is .*complex128"):
        T.int_div(T.dvector(), T.zvector("z"))
    with pytest.raises(TypeError, match=r"round_half_to_even: argument 0 .*int32"):
        T.round(T.ivector("i"))


def test_complex_to_real_cast_is_refused() -> None:
    z = T.zvector("z")
    with pytest.raises(TypeError, match="casting complex to real is ambiguous"):
        T.cast(z, "float64")
    with pytest.raises(TypeError, match=r"Cast\{int32\}: casting complex to real is ambiguous"):
        elemwise("cast_int32", z)
    assert T.cast(z, "complex64").dtype == "complex64"


def test_refused_dtype_combinations_name_the_op() -> None:
    flags = T.vector("flags", dtype="bool")
    with pytest.raises(TypeError, match="sub: not defined when every operand is bool"):
        T.sub(flags, flags)
    with pytest.raises(TypeError, match="neg: not defined"):
        _ = -flags
    with pytest.raises(TypeError, match="and_: int64 and uint64 have no common integer dtype"):
        T.and_(T.lvector(), T.vector(dtype="uint64"))
    with pytest.raises(TypeError, match="exp takes 1 argument"):
        T.exp(flags, flags)


def test_runtime_shape_mismatch_raises() -> None:
    a, b = T.dvector("a"), T.dvector("b")
    f = jitgraph.function([a, b], a * b)
    with pytest.raises(ValueError, match="shape mismatch"):
        f(np.ones(3), np.ones(4))


# ----------------------------------------------------------------------------- the table
def _entry(name: str, **fields: Any) -> ScalarOp:
    defaults: dict[str, Any] = {"arity": 1, "impl": np.exp, "dtype_rule": float_rule}
    defaults.update(fields)
    return ScalarOp(name, **defaults)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_entry("add", arity=2), "registered twice"),
        (_entry("test_op", theano_name="mul"), "clashes"),
        (_entry("test_op", arity=0), "arity"),
        (_entry("test_op", accepts="fz"), "bad accepts"),
        (_entry("test_op", accepts=""), "bad accepts"),
        (_entry("test_op", commutative=True), "commutative/associative need arity 2"),
        (_entry("test_op", arity=2, identity=0), "identity"),
        (_entry("test_op", test_domain="everything"), "test_domain"),
        (_entry("test_op", arity=2, test_domain=("any",)), "test_domain"),
        (_entry("test_op", impl=None), "callable"),
        (_entry("test_op", dtype_rule=lambda d: ((), "float64")), "dtype rule gave"),
        (_entry("test_op", dtype_rule=lambda d: (d, "float99")), "dtype rule gave"),
    ],
)
def test_register_rejects_incoherent_entries(entry: ScalarOp, message: str) -> None:
    before = dict(SCALAR_OPS)
    with pytest.raises(ValueError, match=message):
        register(entry)
    assert SCALAR_OPS == before


def test_table_flags_are_consistent() -> None:
    for op in SCALAR_OPS.values():
        assert op.supported_dtypes(), op.name
        if op.commutative:
            for dtype in op.supported_dtypes():
                compute, _ = op.dtype_rule((dtype, dtype))
                assert compute[0] == compute[1], op.name
    assert SCALAR_OPS["add"].identity == 0 and SCALAR_OPS["multiply"].identity == 1
    assert upcast_rule(("int8", "uint8")) == (("int16", "int16"), "int16")


def test_every_entry_is_exported_under_both_names() -> None:
    for op in SCALAR_OPS.values():
        if op.name.startswith("cast_"):
            continue
        for name in (op.name, op.theano_name or op.name):
            assert callable(getattr(T, name)) and getattr(T, name).__doc__, name
    assert T.mul is T.multiply and T.inv is T.reciprocal and T.abs is T.absolute
