"""The public names and module paths that Theano programs rely on (design.md's contract)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import jitgraph
import jitgraph.tensor as T

TENSOR_NAMES = """
    as_tensor_variable constant tensor scalar vector row col matrix tensor3 tensor4
    add sub mul true_div int_div mod pow neg abs_ sgn sqr sqrt inv exp exp2 expm1 log log2 log10
    log1p sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh arctan2
    sigmoid softplus erf erfc gamma gammaln floor ceil round trunc clip maximum minimum
    lt le gt ge eq neq and_ or_ xor invert isnan isinf switch cast real imag conj angle
    sum prod max min argmax argmin mean var std all any
    reshape flatten dimshuffle transpose squeeze expand_dims broadcast_to concatenate join stack
    stacklists split tile repeat shape size specify_shape shape_padleft shape_padright
    shape_padaxis mgrid ogrid
    set_subtensor inc_subtensor
    dot matmul outer tensordot batched_dot
    zeros ones alloc fill arange eye zeros_like ones_like
    TensorType TensorVariable TensorConstant
""".split()

NNET_NAMES = (
    "sigmoid softmax log_softmax relu softplus binary_crossentropy categorical_crossentropy"
).split()


@pytest.mark.parametrize("name", TENSOR_NAMES)
def test_tensor_namespace(name: str) -> None:
    assert hasattr(T, name), f"jitgraph.tensor.{name} is missing"


@pytest.mark.parametrize("name", NNET_NAMES)
def test_nnet_namespace(name: str) -> None:
    import jitgraph.tensor.nnet as nnet

    assert hasattr(nnet, name)
    assert T.nnet is nnet


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("jitgraph", "function"),
        ("jitgraph", "shared"),
        ("jitgraph", "In"),
        ("jitgraph", "Param"),
        ("jitgraph", "Out"),
        ("jitgraph", "Mode"),
        ("jitgraph", "config"),
        ("jitgraph", "pp"),
        ("jitgraph.compile.io", "In"),
        ("jitgraph.compile.io", "Out"),
        ("jitgraph.compile.mode", "Mode"),
        ("jitgraph.compile.sharedvalue", "shared"),
        ("jitgraph.tensor.var", "TensorVariable"),
        ("jitgraph.tensor.sharedvar", "TensorSharedVariable"),
        ("jitgraph.printing", "debugprint"),
        ("jitgraph.printing", "pydotprint"),
        ("jitgraph.printing", "Print"),
        ("jitgraph.printing", "pprint"),
        ("jitgraph.printing", "pp"),
    ],
)
def test_module_paths(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name)


def test_star_import_binds_theano_names() -> None:
    code = (
        "from jitgraph import *\n"
        "for n in ('jitgraph', 'function', 'shared', 'tensor', 'In', 'Param', 'config'):\n"
        "    assert n in globals(), n\n"
        "a = tensor.dscalar(); b = tensor.dscalar()\n"
        "print(jitgraph.function([a, b], a + b)(1.5, 2.5))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "4.0"


def test_legacy_config_flags_are_accepted() -> None:
    jitgraph.config.warn.sum_div_dimshuffle_bug = False
    assert jitgraph.config.warn.sum_div_dimshuffle_bug is False


def test_type_objects_carry_their_facts() -> None:
    assert (T.dscalar.dtype, T.dscalar.broadcastable, T.dscalar.ndim) == ("float64", (), 0)
    assert (T.fmatrix.dtype, T.fmatrix.ndim) == ("float32", 2)
