"""The 'disconnected' and 'undefined' cases of jitgraph.gradient, and the errors users see."""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import jitgraph
import jitgraph.tensor as T
from jitgraph.gradient import (
    DISCONNECTED,
    DisconnectedInputError,
    GradientProtocolError,
    Lop,
    NoGradientError,
    NullTypeGradError,
    Rop,
    Undefined,
    disconnected_grad,
    grad,
    grad_not_implemented,
    grad_undefined,
    hessian,
    undefined_grad,
    verify_grad,
)
from jitgraph.ir.graph import Node, Var
from jitgraph.ops.base import Op

HERE = re.escape(__file__.rsplit("/", 1)[-1])


def evaluate(inputs, outputs, *values):
    return jitgraph.function(inputs, outputs, on_unused_input="ignore")(*values)


@dataclasses.dataclass(frozen=True)
class Custom(Op):
    """An identity op whose ``grad`` does what ``behaviour`` says (to test the driver)."""

    behaviour: str

    def make_node(self, *inputs: Any) -> Node:
        x = T.as_tensor_variable(inputs[0])
        return self.make_apply([x], [x.type])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [inputs[0]]

    def infer_shape(self, node: Node, input_shapes: Sequence[tuple[Var, ...]]) -> list:
        return [input_shapes[0]]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list:
        (x,), (g,) = node.inputs, output_grads
        if self.behaviour == "none-gradient":
            return super().grad(node, output_grads)
        return {
            "undefined": [grad_undefined(self, 0, x, "it is a step")],
            "not-implemented": [grad_not_implemented(self, 0, x)],
            "returns-none": [None],
            "too-many": [g, g],
            "not-a-list": g,
            "integer": [T.cast(g, "int64")],
            "wrong-ndim": [g.sum()],
            "wrong-static-shape": [T.zeros((7,))],
            "nonlinear": [g * g],
            "disconnected": [DISCONNECTED],
        }[self.behaviour]


# ----------------------------------------------------------------------------- the cost
def test_cost_must_be_a_scalar():
    x = T.dvector("x")
    with pytest.raises(
        TypeError,
        match=r"grad: cost must be a scalar \(0-d\), got the output of "
        r".* with ndim 1 .*; reduce it first, e\.g\. cost\.sum\(\)",
    ):
        grad(x * 2, x)
    with pytest.raises(TypeError, match=r"'m' \(created at .*" + HERE + r":\d+\) with ndim 2"):
        grad(T.dmatrix("m"), x)


def test_cost_none_needs_known_grads():
    with pytest.raises(TypeError, match="cost is None and known_grads is empty"):
        grad(None, T.dscalar())


def test_cost_must_be_symbolic():
    with pytest.raises(TypeError, match="grad: cost must be a symbolic variable, got float"):
        grad(1.0, T.dscalar())


# ----------------------------------------------------------------------------- wrt
def test_wrt_must_be_variables_and_not_a_set():
    x = T.dscalar("x")
    with pytest.raises(TypeError, match="grad: wrt must not be a set"):
        grad(x * 2, {x})
    with pytest.raises(TypeError, match=r"grad: wrt\[1\] must be a symbolic variable .*got int"):
        grad(x * 2, [x, 3])
    with pytest.raises(TypeError, match=r"grad: wrt must be a symbolic variable .*got ndarray"):
        grad(x * 2, np.zeros(2))


def test_invalid_option_values():
    x = T.dscalar("x")
    with pytest.raises(ValueError, match=r"invalid value for keyword 'disconnected_inputs': 'lou"):
        grad(x * 2, x, disconnected_inputs="loud")
    with pytest.raises(ValueError, match="'return_disconnected': 'none'; valid values are 'zero'"):
        grad(x * 2, x, return_disconnected="none")
    with pytest.raises(ValueError, match="'null_gradients'"):
        grad(x * 2, x, null_gradients="ignore")
    with pytest.raises(ValueError, match="'disconnected_outputs'"):
        Rop(x * 2, x, x, disconnected_outputs="no")


# ----------------------------------------------------------------------------- disconnected
def test_disconnected_input_raises_naming_the_variable_and_line():
    x, y = T.dscalars("x", "y")
    message = (
        r"grad method was asked to compute the gradient with respect to a variable that is "
        r"not part of the computational graph of the cost, or is used only by a "
        r"non-differentiable operator: 'y' \(created at .*" + HERE + r":\d+\)\n"
        r"  \(pass disconnected_inputs='warn' or 'ignore' to grad to get a zero gradient"
    )
    with pytest.raises(DisconnectedInputError, match=message):
        grad(x * 2, [x, y])


def test_disconnected_through_a_non_differentiable_use():
    x = T.dvector("x")
    i = T.lscalar("i")
    with pytest.raises(DisconnectedInputError, match="'i'"):
        grad(x[i] * 2, i)
    with pytest.raises(DisconnectedInputError, match="'x'"):
        grad(disconnected_grad(x).sum(), x)


def test_disconnected_warn_and_ignore_give_zeros():
    x, y = T.dscalars("x", "y")
    with pytest.warns(UserWarning, match="not part of the computational graph of the cost.*'y'"):
        gy = grad(x * 2, y, disconnected_inputs="warn")
    assert float(evaluate([x, y], gy, 1.0, 2.0)) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gy = grad(x * 2, y, disconnected_inputs="ignore")
    assert gy.dtype == "float64"


def test_return_disconnected_options():
    x, y = T.dscalars("x", "y")
    options: dict[str, Any] = dict(disconnected_inputs="ignore")
    assert grad(x * 2, [x, y], return_disconnected="None", **options)[1] is None
    assert grad(x * 2, [x, y], return_disconnected="Disconnected", **options)[1] is DISCONNECTED
    zero = grad(x * 2, [x, y], return_disconnected="zero", **options)[1]
    assert float(evaluate([y], zero, 5.0)) == 0.0


def test_integer_disconnected_wrt_gets_float_zeros():
    x, i = T.dscalar("x"), T.iscalar("i")
    zero = grad(x * 2, i, disconnected_inputs="ignore")
    assert zero.dtype == jitgraph.config.floatX
    assert float(evaluate([i], zero, 3)) == 0.0


def test_op_returning_disconnected_for_a_needed_input():
    x = T.dscalar("x")
    with pytest.raises(DisconnectedInputError, match="'x'"):
        grad(Custom("disconnected")(x), x)


# ----------------------------------------------------------------------------- undefined
def test_undefined_gradient_raises_quoting_the_reason():
    x = T.dscalar("x")
    message = (
        r"grad: the gradient with respect to 'x' \(created at .*\) is undefined: the "
        r"gradient of input 0 \(x\) of Custom\{undefined\} is mathematically undefined: "
        r"it is a step"
    )
    with pytest.raises(NullTypeGradError, match=message):
        grad(Custom("undefined")(x) * 3, x)
    with pytest.raises(NullTypeGradError, match="of Custom{not-implemented} is not implemented"):
        grad(Custom("not-implemented")(x), x)


def test_undefined_propagates_through_later_ops():
    x = T.dscalar("x")
    y = T.exp(undefined_grad(x)) * 2
    with pytest.raises(NullTypeGradError, match="UndefinedGrad is mathematically undefined"):
        grad(y, x)


def test_undefined_not_needed_is_no_error():
    x, y = T.dscalars("x", "y")
    cost = Custom("undefined")(x) * y
    assert float(evaluate([x, y], grad(cost, y), 4.0, 1.0)) == 4.0


def test_null_gradients_return():
    x = T.dscalar("x")
    result = grad(Custom("undefined")(x), x, null_gradients="return")
    assert isinstance(result, Undefined) and "it is a step" in result.reason


# ----------------------------------------------------------------------------- no gradient
def test_op_without_gradient_names_the_op_and_the_line():
    x = T.dscalar("x")
    y = Custom("none-gradient")(x)  # the line the message must name
    line = y.created_at
    assert line is not None and HERE.replace("\\", "") in line
    message = (
        r"grad: the cost depends on the output of Custom\{none-gradient\} \(created at "
        + re.escape(line)
        + r"\), and Custom\{none-gradient\} has no gradient, so it cannot be differentiated"
    )
    with pytest.raises(NoGradientError, match=message):
        grad(y * 2, x)


def test_op_without_gradient_off_the_path_is_not_asked():
    x, y = T.dscalars("x", "y")
    cost = Custom("none-gradient")(x) * y
    assert float(evaluate([x, y], grad(cost, y), 4.0, 1.0)) == 4.0


# ----------------------------------------------------------------------------- broken ops
@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ("returns-none", r"Custom\{returns-none\}\.grad returned NoneType for input 0"),
        ("too-many", r"Custom\{too-many\}\.grad returned 2 terms for 1 inputs"),
        ("not-a-list", r"grad returned TensorVariable, expected a list"),
        ("integer", r"returned a term for input 0 \('x' .*\) of dtype int64; gradients are floats"),
        ("wrong-ndim", r"returned a term for input 0 .* with 0 dimensions; the input has 1"),
        ("wrong-static-shape", r"of static shape \(7,\); the input has \(3,\)"),
    ],
)
def test_op_breaking_the_gradient_protocol(behaviour, message):
    x = T.tensor("float64", (3,), name="x")
    with pytest.raises(GradientProtocolError, match=message):
        grad(Custom(behaviour)(x).sum(), x)


def test_rop_detects_a_gradient_not_linear_in_its_output_gradient():
    x, v = T.dvector("x"), T.dvector("v")
    with pytest.raises(GradientProtocolError, match=r"not linear .*: Elemwise\{mul\}"):
        Rop(Custom("nonlinear")(x), x, v)


# ----------------------------------------------------------------------------- known_grads
def test_known_grads_checks():
    x = T.dvector("x")
    y = x * 2
    with pytest.raises(TypeError, match=r"known_grads\[.*\] must have a float dtype, got .* int32"):
        grad(None, x, known_grads={y: T.ivector()})
    with pytest.raises(ValueError, match=r"known_grads\[.*\] must have ndim 1 like the variable"):
        grad(None, x, known_grads={y: T.dmatrix()})
    with pytest.raises(TypeError, match=r"known_grads\[.*\] must be a symbolic variable, got list"):
        grad(None, x, known_grads={y: [1.0]})
    with pytest.raises(TypeError, match="the keys of known_grads must be variables"):
        grad(None, x, known_grads={"y": T.dvector()})


def test_consider_constant_must_be_a_collection_of_variables():
    x = T.dscalar("x")
    with pytest.raises(TypeError, match="consider_constant must be a collection of variables"):
        grad(x * 2, x, consider_constant=x)
    with pytest.raises(TypeError, match="elements of consider_constant must be variables"):
        grad(x * 2, x, consider_constant=[1.0])


# ----------------------------------------------------------------------------- Lop / Rop
def test_lop_and_rop_argument_checks():
    x, v = T.dvector("x"), T.dvector("v")
    with pytest.raises(ValueError, match="Lop: f has 1 outputs but eval_points has 2 entries"):
        Lop(x * 2, x, [v, v])
    with pytest.raises(ValueError, match=r"Lop: eval_points\[0\] must have ndim 1 like"):
        Lop(x * 2, x, T.dmatrix())
    with pytest.raises(ValueError, match="Rop: wrt has 1 entries but eval_points has 2"):
        Rop(x * 2, x, [v, v])
    with pytest.raises(ValueError, match=r"Rop: eval_points\[0\] must have ndim 1 like 'x'"):
        Rop(x * 2, x, T.dscalar())


def test_rop_disconnected_outputs():
    x, y, v = T.dvector("x"), T.dvector("y"), T.dvector("v")
    message = (
        r"Rop method was asked to compute the gradient with respect to a variable that is not "
        r"part of the computational graph of variables in wrt, .*: the output of elementwise exp "
    )
    with pytest.raises(DisconnectedInputError, match=message):
        Rop([x * 2, T.exp(y)], x, v)
    with pytest.warns(UserWarning, match="Rop method was asked"):
        first, second = Rop([x * 2, T.exp(y)], x, v, disconnected_outputs="warn")
    np.testing.assert_array_equal(evaluate([x, y, v], second, [1.0], [2.0], [1.0]), [0.0])
    ignore = dict(disconnected_outputs="ignore")
    assert Rop(T.exp(y), x, v, return_disconnected="None", **ignore) is None
    assert Rop(T.exp(y), x, v, return_disconnected="Disconnected", **ignore) is DISCONNECTED


# ----------------------------------------------------------------------------- others
def test_hessian_needs_a_scalar_cost():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="hessian: cost must be a scalar"):
        hessian(x**2, x)


def test_verify_grad_argument_checks():
    with pytest.raises(TypeError, match="input 1 has dtype int64"):
        verify_grad(lambda a, b: a * b, [np.ones(2), np.ones(2, dtype=np.int64)])
    with pytest.raises(TypeError, match="pt must be a list of arrays"):
        verify_grad(lambda a: a, np.ones(2))
    with pytest.raises(NotImplementedError, match="one expression, not a list"):
        verify_grad(lambda a: [a, a], [np.ones(2)])
