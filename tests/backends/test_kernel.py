"""The backend-neutral kernel model: validation, text, identity and NumPy evaluation."""

from __future__ import annotations

import numpy as np
import pytest

import jitgraph.tensor as T
from jitgraph.backends.kernel import (
    Instruction,
    Kernel,
    KernelConstant,
    KernelError,
    KernelInput,
    KernelOutput,
    Slot,
    evaluate,
)
from jitgraph.ir.graph import Graph
from jitgraph.ir.types import TensorType
from jitgraph.ops.reduce import REDUCTIONS
from jitgraph.ops.scalar import SCALAR_OPS
from jitgraph.passes.fuse import fuse, kernels

IN0, IN1, C0, T0, T1, T2 = (
    Slot("in", 0),
    Slot("in", 1),
    Slot("c", 0),
    Slot("t", 0),
    Slot("t", 1),
    Slot("t", 2),
)
F64 = "float64"


def op(name: str):
    return SCALAR_OPS[name]


def seed_kernel() -> Kernel:
    """The seed's ``diff, abs(diff), diff**2`` plus a sum of the square."""
    return Kernel(
        ndim=2,
        inputs=(KernelInput(F64, (False, False)), KernelInput(F64, (True, False))),
        constants=(),
        body=(
            Instruction(op("subtract"), (IN0, IN1), F64),
            Instruction(op("absolute"), (T0,), F64),
            Instruction(op("square"), (T0,), F64),
        ),
        outputs=(
            KernelOutput(T0, F64),
            KernelOutput(T1, F64),
            KernelOutput(T2, F64),
            KernelOutput(T2, F64, REDUCTIONS["sum"], (0, 1), acc_dtype=F64),
        ),
    )


def test_as_text_lists_inputs_instructions_and_outputs() -> None:
    text = seed_kernel().as_text()
    assert text.splitlines()[0] == "kernel(rank 2; in0: float64[?, ?], in1: float64[1, ?]) {"
    assert "  t0: float64 = subtract(in0, in1)" in text
    assert "  t1: float64 = absolute(t0)" in text
    assert "  out1: float64 = t1" in text
    assert "  out3: float64 = sum(t2, axes=(0, 1))" in text
    assert text.endswith("}")


def test_as_text_shows_constants_keepdims_and_accumulator() -> None:
    kernel = Kernel(
        1,
        (KernelInput("int8", (False,)),),
        (KernelConstant.of(3, "int8"),),
        (Instruction(op("multiply"), (IN0, C0), "int8"),),
        (KernelOutput(T0, "float32", REDUCTIONS["sum"], (0,), True, acc_dtype="float64"),),
    )
    text = kernel.as_text()
    assert "  c0: int8 = 3" in text
    assert "out0: float32 = sum(t0, axes=(0,), keepdims, acc_dtype=float64)" in text


def test_evaluate_matches_numpy() -> None:
    a = np.array([[1.0, -2.0, np.nan], [np.inf, 0.5, -np.inf]])
    b = np.array([[0.5, 2.0, 1.0]])
    diff, absolute, square, total = evaluate(seed_kernel(), [a, b])
    np.testing.assert_array_equal(diff, a - b)
    np.testing.assert_array_equal(absolute, np.abs(a - b))
    np.testing.assert_array_equal(square, np.square(a - b))
    np.testing.assert_array_equal(total, np.sum(np.square(a - b)))
    assert total.shape == () and total.dtype == np.float64


def test_evaluate_casts_to_compute_dtypes_like_elemwise() -> None:
    # add(int8, float32) computes in float32; int8 * int8 wraps around.
    kernel = Kernel(
        1,
        (KernelInput("int8", (False,)), KernelInput("float32", (False,))),
        (),
        (
            Instruction(op("multiply"), (IN0, IN0), "int8"),
            Instruction(op("add"), (T0, IN1), "float32"),
        ),
        (KernelOutput(T1, "float32"),),
    )
    x = np.array([100, -3], dtype="int8")
    y = np.array([0.1, 0.2], dtype="float32")
    (result,) = evaluate(kernel, [x, y])
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, (x * x).astype("float32") + y)


def test_evaluate_reductions_with_accumulator_and_keepdims() -> None:
    kernel = Kernel(
        2,
        (KernelInput("int8", (False, False)),),
        (),
        (Instruction(op("negative"), (IN0,), "int8"),),
        (
            KernelOutput(T0, "int64", REDUCTIONS["sum"], (1,), True, acc_dtype="int64"),
            KernelOutput(T0, "int8", REDUCTIONS["max"], (0,)),
            KernelOutput(T0, "bool", REDUCTIONS["any"], (0, 1)),
        ),
    )
    x = np.array([[100, 100], [-128, 5]], dtype="int8")
    total, largest, anything = evaluate(kernel, [x])
    np.testing.assert_array_equal(total, np.sum(-x, axis=1, keepdims=True, dtype="int64"))
    np.testing.assert_array_equal(largest, np.max(-x, axis=0))
    assert anything.dtype == np.bool_ and bool(anything)


def test_evaluate_checks_the_loop_domain() -> None:
    with pytest.raises(ValueError, match="disagree at axis 1"):
        evaluate(seed_kernel(), [np.zeros((2, 3)), np.zeros((1, 4))])
    with pytest.raises(ValueError, match="expected a 2-d float64 array"):
        evaluate(seed_kernel(), [np.zeros((2, 3), "float32"), np.zeros((1, 3))])
    with pytest.raises(ValueError, match="takes 2 inputs, got 1"):
        evaluate(seed_kernel(), [np.zeros((2, 3))])


def test_empty_max_is_an_error_like_reduce() -> None:
    kernel = Kernel(
        1,
        (KernelInput(F64, (False,)),),
        (),
        (Instruction(op("exp"), (IN0,), F64),),
        (KernelOutput(T0, F64, REDUCTIONS["max"], (0,)),),
    )
    with pytest.raises(ValueError, match="max of an empty axis"):
        evaluate(kernel, [np.zeros(0)])


# ---------------------------------------------------------------------------- validation
def one_input(dtype: str = F64, pattern: tuple[bool, ...] = (False,)) -> tuple[KernelInput, ...]:
    return (KernelInput(dtype, pattern),)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Kernel(1, one_input(), (), (Instruction(op("exp"), (T0,), F64),), ()),
            "slot t0 is out of range",
        ),
        (
            lambda: Kernel(1, one_input(), (), (Instruction(op("exp"), (IN1,), F64),), ()),
            "slot in1 is out of range",
        ),
        (
            lambda: Kernel(
                1,
                one_input(),
                (),
                (Instruction(op("exp"), (IN0,), "float32"),),
                (KernelOutput(T0, "float32"),),
            ),
            "gives float64, but the instruction says float32",
        ),
        (
            lambda: Kernel(1, one_input(), (), (Instruction(op("add"), (IN0,), F64),), ()),
            "takes 2 argument",
        ),
        (
            lambda: Kernel(
                1, one_input("bool"), (), (Instruction(op("subtract"), (IN0, IN0), "bool"),), ()
            ),
            "not defined when every operand is bool",
        ),
        (
            lambda: Kernel(
                1,
                one_input("complex128"),
                (),
                (Instruction(op("maximum"), (IN0, IN0), "complex128"),),
                (),
            ),
            "does not accept argument dtype",
        ),
        (
            lambda: Kernel(1, one_input(), (), (Instruction(op("exp"), (IN0,), F64),), ()),
            "at least one output",
        ),
        (
            lambda: Kernel(1, one_input(), (), (), (KernelOutput(IN0, F64),)),
            "elementwise output must be an instruction's result",
        ),
        (
            lambda: Kernel(
                1,
                one_input(),
                (),
                (Instruction(op("exp"), (IN0,), F64),),
                (KernelOutput(T0, F64, REDUCTIONS["max"], (1,)),),
            ),
            "axes \\(1,\\) must be sorted distinct axes of the rank-1 loop",
        ),
        (
            lambda: Kernel(
                1,
                one_input(),
                (),
                (Instruction(op("exp"), (IN0,), F64),),
                (KernelOutput(T0, F64, REDUCTIONS["sum"], (0,)),),
            ),
            "needs its accumulator dtype",
        ),
        (
            lambda: Kernel(
                1,
                one_input(),
                (),
                (Instruction(op("exp"), (IN0,), F64),),
                (KernelOutput(T0, "float32", REDUCTIONS["max"], (0,)),),
            ),
            "max of float64 gives float64",
        ),
        (
            lambda: Kernel(
                2,
                (KernelInput(F64, (False, False)), KernelInput(F64, (True, False))),
                (),
                (Instruction(op("exp"), (IN1,), F64), Instruction(op("add"), (IN0, T0), F64)),
                (KernelOutput(T1, F64), KernelOutput(T0, F64, REDUCTIONS["max"], (0,))),
            ),
            "broadcasts differently from the loop",
        ),
        (
            lambda: Kernel(
                1,
                one_input(),
                (),
                (Instruction(op("exp"), (IN0,), F64), Instruction(op("sin"), (IN0,), F64)),
                (KernelOutput(T1, F64),),
            ),
            "never read: t0",
        ),
        (
            lambda: Kernel(2, one_input(), (), (Instruction(op("exp"), (IN0,), F64),), ()),
            "pattern of 1 dims; the kernel has rank 2",
        ),
        (
            lambda: Kernel(
                1,
                one_input(),
                (),
                (Instruction(op("exp"), (IN0,), F64),),
                (KernelOutput(T0, "int8"),),
            ),
            "output 0 has dtype int8; its value is float64",
        ),
        (lambda: KernelConstant.of([1, 2], F64), "holds one value"),
    ],
)
def test_invalid_kernels_are_refused(make, message: str) -> None:
    with pytest.raises(KernelError, match=message):
        make()


def test_reference_by_instruction_must_be_earlier() -> None:
    with pytest.raises(KernelError, match="slot t1 is out of range"):
        Kernel(
            1,
            one_input(),
            (),
            (Instruction(op("exp"), (Slot("t", 1),), F64), Instruction(op("sin"), (IN0,), F64)),
            (KernelOutput(T0, F64),),
        )


# ---------------------------------------------------------------------------- identity
def fused_kernel(a_type: TensorType, b_type: TensorType) -> Kernel:
    a, b = a_type("a"), b_type("b")
    diff = a - b
    (kernel,) = kernels(fuse(Graph([a, b], [diff, abs(diff), diff**2])))
    return kernel


def test_kernels_do_not_depend_on_sizes() -> None:
    small = fused_kernel(TensorType(F64, (2, 3)), TensorType(F64, (2, 3)))
    unknown = fused_kernel(T.dmatrix, T.dmatrix)
    assert small == unknown and hash(small) == hash(unknown)
    assert small.key() == unknown.key()


def test_kernels_differ_by_dtype_and_broadcast_pattern() -> None:
    base = fused_kernel(T.dmatrix, T.dmatrix)
    assert fused_kernel(T.fmatrix, T.fmatrix) != base
    assert fused_kernel(T.dmatrix, T.drow) != base
    assert fused_kernel(T.dmatrix, T.drow).key() != base.key()


def test_constants_compare_by_bits() -> None:
    assert KernelConstant.of(np.nan, F64) == KernelConstant.of(np.nan, F64)
    assert KernelConstant.of(0.0, F64) != KernelConstant.of(-0.0, F64)
    assert KernelConstant.of(1, "int8") != KernelConstant.of(1, "int16")
    assert KernelConstant.of(np.array([[2.5]]), F64).value.shape == ()


def test_kernels_are_usable_as_dict_keys() -> None:
    cache = {seed_kernel(): "compiled"}
    assert cache[seed_kernel()] == "compiled"
    assert seed_kernel().op_names() == ["subtract", "absolute", "square", "sum"]
