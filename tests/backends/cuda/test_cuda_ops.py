"""The simulated GPU (tests/backends/cuda/simulated), then the GPU implementations of the
non-kernel ops (jitgraph/backends/cuda/ops.py) on it, each against its op's ``perform``."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

# ============================================================================ the stand-in


def test_implicit_conversion_to_numpy_raises(simulated_gpu: Any) -> None:
    x = simulated_gpu.arange(3.0)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(x)
    with pytest.raises(TypeError, match="Unsupported type"):
        x + np.ones(3)  # a host array mixed into device arithmetic
    with pytest.raises(TypeError, match="Unsupported type"):
        np.ones(3) * x
    with pytest.raises(TypeError, match="Unsupported type"):
        simulated_gpu.concatenate([x, np.ones(3)])
    np.testing.assert_array_equal(x.get(), [0.0, 1.0, 2.0])
    assert isinstance(x.get(), np.ndarray)


def test_numpy_functions_dispatch_to_the_standin(simulated_gpu: Any) -> None:
    x = simulated_gpu.asarray(np.array([[1.0, 2.0], [3.0, 4.0]]))
    total = np.add(x, 1)
    assert type(total) is simulated_gpu.ndarray and type(total).__module__ == "cupy"
    np.testing.assert_array_equal(total.get(), [[2.0, 3.0], [4.0, 5.0]])
    joined = np.concatenate([x, x])
    assert type(joined) is simulated_gpu.ndarray and joined.shape == (4, 2)
    assert type(np.sum(x)) is simulated_gpu.ndarray  # reductions give 0-d device arrays
    with pytest.raises(TypeError):
        np.linalg.norm(x)  # not simulated: NumPy refuses rather than converting


def test_views_stay_views_and_copies_copy(simulated_gpu: Any) -> None:
    cp = simulated_gpu
    x = cp.zeros((2, 3))
    x[0][1] = 5.0
    x.T[2, 1] = 7.0
    x.reshape(6)[0] = 1.0
    element = x[1, 1]
    assert element.shape == () and type(element) is cp.ndarray
    element[...] = 9.0
    np.testing.assert_array_equal(x.get(), [[1.0, 5.0, 0.0], [0.0, 9.0, 7.0]])
    assert cp.may_share_memory(x, x[1]) and not cp.may_share_memory(x, x.copy())
    assert x.T.flags.f_contiguous and not x.T.flags.c_contiguous
    host = np.ones(2)
    device = cp.asarray(host)
    host[0] = 3.0  # asarray of host data is a transfer: a copy
    assert device.get().tolist() == [1.0, 1.0]
    assert cp.asarray(device) is device and device.astype(np.float64, copy=False) is device


def test_standin_indexing_scalars_and_printing(simulated_gpu: Any) -> None:
    cp = simulated_gpu
    x = cp.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(x[cp.asarray([1, 0]), np.array([2, 2])].get(), [5, 2])
    np.testing.assert_array_equal(x[x > 3].get(), [4, 5])
    x[:, cp.asarray([0, 0])] = cp.asarray([[10, 10], [20, 20]])
    assert x.tolist() == [[10, 1, 2], [20, 4, 5]]
    counts = cp.zeros(3, dtype=np.int64)
    cp.add.at(counts, cp.asarray([0, 0, 2]), 1)  # repeated indices accumulate
    assert counts.tolist() == [2, 0, 1]
    assert int(x[1, 1]) == 4 and float(cp.asarray([2.5])) == 2.5 and bool(cp.asarray(1))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x)
    assert repr(cp.arange(3)) == "array([0, 1, 2])" and str(cp.arange(2)) == "[0 1]"
    assert list(range(5))[cp.asarray(2)] == 2 and len(x) == 2
    assert cp.float32 is np.float32 and cp.__version__ == "simulated"
    empty = cp.empty(4)  # uninitialized device memory is garbage, here NaN
    assert np.isnan(empty.get()).all()


def test_standin_device_queries_and_no_kernels(simulated_gpu: Any) -> None:
    cp = simulated_gpu
    assert cp.cuda.runtime.getDeviceCount() == 1
    assert cp.cuda.Device(0).compute_capability == "90"
    cp.cuda.Device().synchronize()
    cp.cuda.get_current_stream().synchronize()
    start, end = cp.cuda.Event(), cp.cuda.Event()
    start.record()
    end.record()
    end.synchronize()
    assert cp.cuda.get_elapsed_time(start, end) >= 0.0
    with pytest.raises(NotImplementedError, match="runs no CUDA code"):
        cp.RawKernel('extern "C" __global__ void f() {}', "f")
    with pytest.raises(NotImplementedError, match="runs no CUDA code"):
        cp.cuda.function.Module()


def test_fixture_installs_and_restores(simulated_gpu: Any) -> None:
    from jitgraph.backends.cuda import cuda_status, launch, runtime

    assert sys.modules["cupy"] is simulated_gpu
    assert cuda_status() is None
    assert runtime.cupy_module() is simulated_gpu
    assert launch.launch.__name__ == "simulated_launch"


def test_install_for_scripts_restores_everything() -> None:
    import importlib.util
    from pathlib import Path

    from jitgraph.backends.cuda import launch

    spec = importlib.util.spec_from_file_location(
        "simulated_gpu_conftest", Path(__file__).parent / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    before_cupy, before_launch = sys.modules.get("cupy"), launch.launch
    uninstall = conftest.install_simulated_gpu()
    try:
        assert sys.modules["cupy"].__version__ == "simulated"
        assert launch.launch is conftest.simulated_launch
    finally:
        uninstall()
    assert sys.modules.get("cupy") is before_cupy and launch.launch is before_launch
    assert conftest.SIMULATED not in sys.path


def test_simulated_launch_evaluates_kernels_on_device_arrays(simulated_gpu: Any) -> None:
    from jitgraph.backends.cuda import launch
    from jitgraph.backends.kernel import Instruction, Kernel, KernelInput, KernelOutput, Slot
    from jitgraph.ops.scalar import SCALAR_OPS

    kernel = Kernel(
        ndim=1,
        inputs=(KernelInput("float64", (False,)),),
        constants=(),
        body=(Instruction(SCALAR_OPS["exp"], (Slot("in", 0),), "float64"),),
        outputs=(KernelOutput(Slot("t", 0), "float64"),),
    )
    x = simulated_gpu.asarray([0.0, 1.0])
    (result,) = launch.launch(kernel, [x])
    assert type(result) is simulated_gpu.ndarray and result.flags.c_contiguous
    np.testing.assert_array_equal(result.get(), np.exp([0.0, 1.0]))
    with pytest.raises(TypeError, match="host value reached a kernel launch"):
        launch.launch(kernel, [np.array([0.0, 1.0])])


# ============================================================================ device_step
# Each case builds one node (of the op class named first) and its input values: a
# symbolic input gets its value from ``values``, a constant its data. The node's device
# step runs on stand-in arrays (constants as the host arrays the program passes) and is
# compared with the op's ``perform`` on NumPy arrays.

Case = tuple[Any, dict[Any, Any]]


def _var(dtype: str, shape: tuple[int | None, ...], name: str = "v") -> Any:
    import jitgraph.tensor as T

    return T.tensor(dtype, shape, name=name)


def _const(value: Any, dtype: str = "int64") -> Any:
    import jitgraph.tensor as T

    return T.constant(np.asarray(value, dtype=dtype), dtype=dtype)


def _random(shape: tuple[int, ...], dtype: str = "float64", seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "b":
        return rng.random(shape) > 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-5 if np.dtype(dtype).kind == "i" else 0, 6, shape).astype(dtype)
    if np.dtype(dtype).kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _product_case(
    op: Any, a_shape: tuple[int, ...], b_shape: tuple[int, ...], dtypes=("float64", "float64")
) -> Case:
    a = _var(dtypes[0], (None,) * len(a_shape), "a")
    b = _var(dtypes[1], (None,) * len(b_shape), "b")
    return op(a, b), {a: _random(a_shape, dtypes[0], 1), b: _random(b_shape, dtypes[1], 2)}


def _blas_case(
    op: Any,
    z_shape: Any,
    x_shape: Any,
    y_shape: Any,
    alpha: float,
    beta: float,
    dtype: str = "float64",
) -> Case:
    z = _var(dtype, (None,) * len(z_shape), "z")
    x = _var(dtype, (None,) * len(x_shape), "x")
    y = _var(dtype, (None,) * len(y_shape), "y")
    out = op(z, _const(alpha, dtype), x, y, _const(beta, dtype))
    values = {
        z: _random(z_shape, dtype, 3),
        x: _random(x_shape, dtype, 4),
        y: _random(y_shape, dtype, 5),
    }
    return out, values


def _index_case(shape: tuple[int, ...], key: Any, dtype: str = "float64") -> Case:
    x = _var(dtype, (None,) * len(shape), "x")
    return x[key], {x: _random(shape, dtype)}


def _inc_case(
    shape: tuple[int, ...], key: Any, y_shape: tuple[int, ...], set_: bool, dtype: str = "float64"
) -> Case:
    import jitgraph.tensor as T

    x = _var(dtype, (None,) * len(shape), "x")
    y = _var(dtype, tuple(1 if n == 1 else None for n in y_shape), "y")
    function = T.set_subtensor if set_ else T.inc_subtensor
    return function(x[key], y), {x: _random(shape, dtype, 6), y: _random(y_shape, dtype, 7)}


class Runtime:
    """An int64 metadata input known only at run time (a symbolic input with this value):
    where a constant would be refused when the graph is built."""

    def __init__(self, value: Any) -> None:
        self.value = np.asarray(value, dtype="int64")


def _unary_case(op: Any, shape: tuple[int, ...], dtype: str = "float64", *extra: Any) -> Case:
    x = _var(dtype, (None,) * len(shape), "x")
    values: dict[Any, Any] = {x: _random(shape, dtype)}
    inputs = []
    for item in extra:
        if isinstance(item, Runtime):
            var = _var("int64", (None,) * item.value.ndim, "m")
            values[var] = item.value
            item = var
        inputs.append(item)
    return op(x, *inputs), values


def _cases() -> dict[str, Any]:
    """name: a function building the case (called inside the test, after imports)."""
    from jitgraph.ops import blas, creation, indexing, joining, linalg, reduce, shape
    from jitgraph.ops.reduce import REDUCTIONS

    i = _const
    nan_row = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 0.0, -1.0, 5.0]])
    ties = np.array([3, 1, 3, 1, 2, 3, 1, 2, 2, 3, 1, 1, 3, 2, 2, 1, 3, 3, 1, 2], dtype="int32")

    def x_of(dtype: str, ndim: int) -> Any:
        return _var(dtype, (None,) * ndim, "x")

    cases: dict[str, Any] = {
        "Dot matrix-matrix": lambda: _product_case(linalg.Dot(), (3, 4), (4, 2)),
        "Dot vector-vector": lambda: _product_case(linalg.Dot(), (5,), (5,)),
        "Dot 0-d scales": lambda: _product_case(linalg.Dot(), (), (2, 3)),
        "Dot 3-d by 3-d": lambda: _product_case(linalg.Dot(), (2, 3, 4), (5, 4, 2)),
        "Dot int8 wraps": lambda: _product_case(linalg.Dot(), (2, 9), (9,), ("int8", "int8")),
        "Dot bool": lambda: _product_case(linalg.Dot(), (3, 4), (4, 2), ("bool", "bool")),
        "Dot mixed dtypes": lambda: _product_case(linalg.Dot(), (3, 4), (4,), ("int32", "float32")),
        "Dot empty contraction": lambda: _product_case(linalg.Dot(), (3, 0), (0, 2)),
        "Matmul broadcast batch": lambda: _product_case(linalg.Matmul(), (2, 1, 3, 4), (5, 4, 2)),
        "Matmul vector": lambda: _product_case(linalg.Matmul(), (4,), (3, 4, 2)),
        "Matmul complex": lambda: _product_case(
            linalg.Matmul(), (3, 4), (4, 2), ("complex128",) * 2
        ),
        "TensorDot": lambda: _product_case(linalg.TensorDot((0, 2), (1, 0)), (3, 4, 5), (5, 3, 2)),
        "BatchedDot 3-d": lambda: _product_case(linalg.BatchedDot(), (4, 2, 3), (4, 3, 5)),
        "BatchedDot 2-d": lambda: _product_case(linalg.BatchedDot(), (4, 3), (4, 3)),
        "BatchedDot 1-d scales": lambda: _product_case(linalg.BatchedDot(), (4,), (4, 3, 2)),
        "Gemm": lambda: _blas_case(blas.Gemm(), (3, 2), (3, 4), (4, 2), 0.5, 2.0),
        "Gemm alpha 1 beta -1": lambda: _blas_case(
            blas.Gemm(), (3, 2), (3, 4), (4, 2), 1.0, -1.0, "float32"
        ),
        "Gemv": lambda: _blas_case(blas.Gemv(), (3,), (3, 4), (4,), -1.0, 0.25),
        "Ger": lambda: _blas_case(blas.Ger(), (3, 2), (3,), (2,), 2.0, 1.0, "complex64"),
        "Diagonal": lambda: _unary_case(linalg.Diagonal(1, 0, 2), (3, 2, 4)),
        "Diagonal negative offset": lambda: _unary_case(linalg.Diagonal(-1), (4, 3)),
        "Alloc broadcast": lambda: _unary_case(
            creation.Alloc(), (1, 3), "float32", i(2), i(4), i(3)
        ),
        "Alloc 0-d": lambda: _unary_case(creation.Alloc(), (), "int16", i(2), i(0)),
        "ARange int": lambda: (creation.ARange("int64")(i(2), i(11), i(3)), {}),
        "ARange negative step": lambda: (creation.ARange("int32")(i(5), i(-4), i(-2)), {}),
        "ARange float": lambda: (
            creation.ARange("float32")(
                _const(0.1, "float64"), _const(2.0, "float64"), _const(0.3, "float64")
            ),
            {},
        ),
        "Eye": lambda: (creation.Eye("float32")(i(3), i(4), i(1)), {}),
        "Tri": lambda: (creation.Tri("int8")(i(4), i(3), i(-1)), {}),
        "Subtensor": lambda: _index_case((4, 5), (slice(1, None), -2)),
        "Subtensor negative step, newaxis": lambda: _index_case(
            (6, 3), (slice(None, None, -2), None, 0)
        ),
        "Subtensor 0-d result": lambda: _index_case((3, 4), (-1, 2)),
        "Subtensor empty slice": lambda: _index_case((3, 4), (slice(2, 1),)),
        "AdvancedSubtensor array": lambda: _index_case((5, 3), (np.array([4, -1, 0, 4]),)),
        "AdvancedSubtensor separated": lambda: _index_case(
            (3, 4, 5), (np.array([0, 2]), slice(None), np.array([[1], [4]]))
        ),
        "AdvancedSubtensor mask": lambda: _index_case((3, 4), (np.array([True, False, True]),)),
        "IncSubtensor inc": lambda: _inc_case((4, 5), (slice(1, 3), 2), (2,), False),
        "IncSubtensor set broadcast": lambda: _inc_case(
            (4, 5), (slice(None), slice(1, 4)), (1, 3), True
        ),
        "IncSubtensor int8": lambda: _inc_case((4,), (slice(None, None, 2),), (2,), False, "int8"),
        "AdvancedIncSubtensor repeated inc": lambda: _inc_case(
            (5,), (np.array([0, 2, 0, -5, 2]),), (5,), False
        ),
        "AdvancedIncSubtensor repeated inc, broadcast y": lambda: _inc_case(
            (3, 2), (np.array([1, 1, 2]),), (1, 2), False
        ),
        "AdvancedIncSubtensor int8 wraps": lambda: _inc_case(
            (3,), (np.array([1, 1, 1, 1]),), (4,), False, "int8"
        ),
        "AdvancedIncSubtensor bool": lambda: _inc_case(
            (3,), (np.array([0, 0, 2]),), (3,), False, "bool"
        ),
        "AdvancedIncSubtensor repeated set, last wins": lambda: _inc_case(
            (4,), (np.array([1, 3, 1, 1]),), (4,), True
        ),
        "AdvancedIncSubtensor set rows": lambda: _inc_case(
            (3, 2), (np.array([2, 0, 2]),), (3, 2), True
        ),
        "AdvancedIncSubtensor mask set": lambda: _inc_case(
            (2, 3), (np.array([[True, False, True], [False, False, True]]),), (3,), True
        ),
        "Nonzero": lambda: _unary_case(indexing.Nonzero(), (3, 4), "int32"),
        "FlatNonzero": lambda: _unary_case(indexing.Nonzero(flat=True), (3, 4), "bool"),
        "Join": lambda: _join_case(joining.Join(1)),
        "Split": lambda: _unary_case(joining.Split(3, 0), (6, 2), "float64", i([1, 0, 5])),
        "Tile": lambda: _unary_case(joining.Tile(), (2, 3), "int64", i(2), i(1)),
        "Repeat scalar": lambda: _unary_case(joining.Repeat(1), (2, 3), "float64", i(2)),
        "Repeat vector": lambda: _unary_case(joining.Repeat(0), (3, 2), "float64", i([1, 0, 3])),
        "Roll": lambda: _unary_case(joining.Roll(0), (4, 2), "float64", i(-5)),
        "Roll flat": lambda: _unary_case(joining.Roll(None), (2, 3), "float64", i(2)),
        "Argmax": lambda: _unary_case(reduce.Argmax((1,)), (3, 4)),
        "Argmax NaN first": lambda: (reduce.Argmax((1,))(x := x_of("float64", 2)), {x: nan_row}),
        "Argmax all axes keepdims": lambda: _unary_case(
            reduce.Argmax(None, keepdims=True), (3, 4), "int16"
        ),
        "Argmin two axes": lambda: _unary_case(reduce.Argmin((0, 2)), (2, 3, 4), "float32"),
        "CumOp sum int8 to int64": lambda: _unary_case(reduce.CumOp(1, "sum"), (3, 5), "int8"),
        "CumOp prod flat": lambda: _unary_case(reduce.CumOp(None, "prod"), (2, 3), "float64"),
        "Sort with NaN": lambda: (reduce.Sort(1)(x := x_of("float64", 2)), {x: nan_row}),
        "Sort flat complex": lambda: _unary_case(reduce.Sort(None), (2, 3), "complex128"),
        "Argsort stable ties": lambda: (
            reduce.Argsort(0, "stable")(x := x_of("int32", 1)),
            {x: ties},
        ),
        "Argsort quicksort": lambda: _unary_case(reduce.Argsort(1), (3, 7)),
        "SumTo": lambda: _unary_case(reduce.SumTo(), (2, 3, 4), "float64", i(1), i(4)),
        "SumTo int": lambda: _unary_case(reduce.SumTo(), (3, 2), "int32", i(3), i(1)),
        "Reduce over nothing": lambda: _unary_case(
            reduce.Reduce(REDUCTIONS["sum"], (), dtype="float64"), (2, 3), "int32"
        ),
        "Reduce any over nothing": lambda: _unary_case(
            reduce.Reduce(REDUCTIONS["any"], ()), (2, 3), "float32"
        ),
        "Shape": lambda: _unary_case(shape.Shape(), (2, 0, 3)),
        "DimShuffle": lambda: (
            shape.DimShuffle(3, (2, "x", 0))(x := _var("float64", (3, 1, 2), "x")),
            {x: _random((3, 1, 2))},
        ),
        "Reshape": lambda: _unary_case(shape.Reshape(2), (2, 6), "float64", i(3), i(-1)),
        "SpecifyShape": lambda: _unary_case(shape.SpecifyShape((1,)), (2, 3), "float64", i(3)),
        "Rebroadcast": lambda: (
            shape.Rebroadcast(((0, True),))(x := x_of("float64", 2)),
            {x: _random((1, 3))},
        ),
        "TensorCopy": lambda: _unary_case(shape.TensorCopy(), (2, 3), "uint16"),
        "ArangeLength": lambda: _unary_case(creation.ArangeLength(), (), "int64", i(9), i(2)),
        "ReshapeDim": lambda: _unary_case(shape.ReshapeDim(2, 1), (), "int64", i(6), i(2), i(-1)),
        "IndexedShape": lambda: _indexed_shape_case(indexing.IndexedShape),
    }
    return cases


def _indexed_shape_case(op_class: Any) -> Case:
    sizes = [_var("int64", (), "n0"), _var("int64", (), "n1")]
    mask = _var("bool", (None,), "mask")
    op = op_class((("b", 1), ("s", True, False, False)), 2)
    out = op(*sizes, mask, _const(1))
    values = {sizes[0]: np.array(3), sizes[1]: np.array(4), mask: np.array([True, False, True])}
    return out, values


def _join_case(op: Any) -> Case:
    a, b, c = (
        _var("int32", (None, None), "a"),
        _var("float32", (None, None), "b"),
        _var("float32", (None, None), "c"),
    )
    values = {
        a: _random((2, 1), "int32"),
        b: _random((2, 3), "float32"),
        c: _random((2, 0), "float32"),
    }
    return op(a, b, c), values


def _node_and_arguments(case: Case) -> tuple[Any, list[Any]]:
    from jitgraph.ir.graph import Const

    out, values = case
    node = (out[0] if isinstance(out, list) else out).owner
    arguments = [var.data if isinstance(var, Const) else values[var] for var in node.inputs]
    return node, arguments


def _on_device(cupy: Any, node: Any, arguments: list[Any]) -> list[Any]:
    """Symbolic inputs as device arrays; constants stay the host arrays they are."""
    from jitgraph.ir.graph import Const

    return [
        a if isinstance(v, Const) else cupy.asarray(a)
        for v, a in zip(node.inputs, arguments, strict=True)
    ]


def _assert_same(expected: Any, got: Any, cupy: Any, on_host: bool, exact: bool = True) -> None:
    """Same dtype, shape and values; ``exact=False`` (a real GPU) allows floating-point
    values the rounding of another summation order (ops.py's docstring lists where)."""
    if on_host:
        assert isinstance(got, np.ndarray)
        host = got
    else:
        assert type(got) is cupy.ndarray, f"a {type(got)} instead of a device array"
        host = got.get()
    expected = np.asarray(expected)
    assert host.dtype == expected.dtype and host.shape == expected.shape
    if exact or expected.dtype.kind not in "fc":
        np.testing.assert_array_equal(host, expected)
    else:
        rtol = {16: 1e-3, 32: 1e-5}.get(np.finfo(expected.dtype).bits, 1e-12)
        np.testing.assert_allclose(host, expected, rtol=rtol, atol=rtol, equal_nan=True)


@pytest.mark.parametrize("name", sorted(_cases()))
def test_device_step_matches_perform(simulated_gpu: Any, name: str) -> None:
    from jitgraph.backends.cuda.ops import DEVICE_OPS, device_step

    node, arguments = _node_and_arguments(_cases()[name]())
    expected = node.op.perform(node, [np.asarray(a) for a in arguments])
    found = device_step(node)
    assert found is not None, f"{type(node.op).__name__} has no device step"
    step, description = found
    assert description == DEVICE_OPS[type(node.op)].description
    results = step(_on_device(simulated_gpu, node, arguments))
    assert len(results) == len(expected)
    for e, g in zip(expected, results, strict=True):
        _assert_same(e, g, simulated_gpu, DEVICE_OPS[type(node.op)].host_outputs)
    again = step(_on_device(simulated_gpu, node, arguments))  # constants' copies reused
    for e, g in zip(expected, again, strict=True):
        _assert_same(e, g, simulated_gpu, DEVICE_OPS[type(node.op)].host_outputs)
    everything_on_device = [simulated_gpu.asarray(np.asarray(a)) for a in arguments]
    for e, g in zip(expected, step(everything_on_device), strict=True):  # metadata read back
        _assert_same(e, g, simulated_gpu, DEVICE_OPS[type(node.op)].host_outputs)


def _error_cases() -> dict[str, Any]:
    from jitgraph.ops import blas, creation, joining, linalg, reduce, shape

    i = _const
    return {
        "Dot not aligned": lambda: _product_case(linalg.Dot(), (3, 4), (5, 2)),
        "TensorDot not aligned": lambda: _product_case(linalg.TensorDot((1,), (0,)), (2, 3), (4,)),
        "BatchedDot batch sizes": lambda: _product_case(linalg.BatchedDot(), (3, 2, 2), (4, 2, 2)),
        "Gemm z shape": lambda: _blas_case(blas.Gemm(), (3, 3), (3, 4), (4, 2), 1.0, 1.0),
        "Alloc does not broadcast": lambda: _unary_case(
            creation.Alloc(), (2, 3), "float64", i(4), i(3)
        ),
        "Alloc negative size": lambda: _unary_case(creation.Alloc(), (), "float64", Runtime(-1)),
        "ARange zero step": lambda: _unary_case(
            creation.ARange("int64"), (), "int64", i(3), Runtime(0)
        ),
        "Eye negative size": lambda: (
            creation.Eye("float64")(n := _var("int64", (), "n"), i(2), i(0)),
            {n: np.array(-2)},
        ),
        "Subtensor out of bounds": lambda: _index_case((4, 5), (1, -6)),
        "AdvancedSubtensor out of bounds": lambda: _index_case((4,), (np.array([0, 4]),)),
        "AdvancedSubtensor negative out of bounds": lambda: _index_case((4,), (np.array([-5]),)),
        "AdvancedSubtensor mask shape": lambda: _index_case((4,), (np.array([True, False]),)),
        "Subtensor zero step": _zero_step_case,
        "IncSubtensor does not broadcast": lambda: _inc_case((4, 5), (slice(1, 3),), (3,), False),
        "AdvancedIncSubtensor out of bounds": lambda: _inc_case(
            (3,), (np.array([3]),), (1,), False
        ),
        "Join shapes": lambda: (
            joining.Join(0)(
                a := _var("float64", (None, None), "a"), b := _var("float64", (None, None), "b")
            ),
            {a: np.ones((1, 2)), b: np.ones((1, 3))},
        ),
        "Split sizes": lambda: _unary_case(joining.Split(2, 0), (5,), "float64", i([1, 2])),
        "Tile negative": lambda: _unary_case(joining.Tile(), (2,), "float64", Runtime(-1)),
        "Repeat negative": lambda: _unary_case(
            joining.Repeat(0), (2,), "float64", Runtime([1, -1])
        ),
        "Repeat length": lambda: _unary_case(joining.Repeat(0), (3,), "float64", i([1, 2])),
        "Argmax empty": lambda: _unary_case(reduce.Argmax((1,)), (2, 0)),
        "Argmin empty, data not": lambda: _unary_case(reduce.Argmin((0,)), (0, 3)),
        "SumTo not broadcast": lambda: _unary_case(reduce.SumTo(), (2, 3), "float64", i(2)),
        "SpecifyShape": lambda: _unary_case(shape.SpecifyShape((0,)), (2, 3), "float64", i(3)),
        "Rebroadcast": lambda: (
            shape.Rebroadcast(((1, True),))(x := _var("float64", (None, None), "x")),
            {x: np.ones((2, 2))},
        ),
        "DimShuffle drops a non-1 axis": lambda: (
            shape.DimShuffle(2, (0,))(x := _var("float64", (None, 1), "x")),
            {x: np.ones((2, 2))},
        ),
        "Reshape size": lambda: _unary_case(shape.Reshape(2), (2, 3), "float64", i(4), i(2)),
    }


def _zero_step_case() -> Case:
    step = _var("int64", (), "step")  # symbolic: the zero is found at run time
    x = _var("float64", (None,), "x")
    return x[::step], {x: np.arange(4.0), step: np.array(0)}


@pytest.mark.parametrize("name", sorted(_error_cases()))
def test_device_step_raises_as_perform(simulated_gpu: Any, name: str) -> None:
    from jitgraph.backends.cuda.ops import device_step

    out, values = _error_cases()[name]()
    node, arguments = _node_and_arguments((out, values))
    with pytest.raises(Exception) as expected:
        node.op.perform(node, [np.asarray(a) for a in arguments])
    found = device_step(node)
    assert found is not None
    with pytest.raises(type(expected.value)) as got:
        found[0](_on_device(simulated_gpu, node, arguments))
    assert str(got.value) == str(expected.value)


def test_matmul_mismatch_is_a_graph_error(simulated_gpu: Any) -> None:
    from jitgraph.backends.cuda.ops import device_step
    from jitgraph.ops.base import GraphError
    from jitgraph.ops.linalg import Matmul

    node, arguments = _node_and_arguments(_product_case(Matmul(), (2, 3), (4, 2)))
    step, _ = device_step(node)  # type: ignore[misc]
    with pytest.raises(
        GraphError,
        match=r"matmul: shapes \(2, 3\) \(.a.* and \(4, 2\) \(.b.* do not match at run time",
    ):
        step(_on_device(simulated_gpu, node, arguments))


@pytest.mark.parametrize(
    "name",
    ["Subtensor", "Subtensor negative step, newaxis", "DimShuffle", "Reshape", "Rebroadcast"],
)
def test_views_stay_views(simulated_gpu: Any, name: str) -> None:
    from jitgraph.backends.cuda.ops import device_step

    node, arguments = _node_and_arguments(_cases()[name]())
    step, _ = device_step(node)  # type: ignore[misc]
    inputs = _on_device(simulated_gpu, node, arguments)
    (result,) = step(inputs)
    assert simulated_gpu.shares_memory(result, inputs[0])


def test_inputs_are_never_modified(simulated_gpu: Any) -> None:
    from jitgraph.backends.cuda.ops import device_step

    for name in (
        "IncSubtensor inc",
        "AdvancedIncSubtensor repeated set, last wins",
        "Sort with NaN",
    ):
        node, arguments = _node_and_arguments(_cases()[name]())
        step, _ = device_step(node)  # type: ignore[misc]
        inputs = _on_device(simulated_gpu, node, arguments)
        before = [v.get() if isinstance(v, simulated_gpu.ndarray) else v for v in inputs]
        step(inputs)
        for b, v in zip(before, inputs, strict=True):
            after = v.get() if isinstance(v, simulated_gpu.ndarray) else v
            np.testing.assert_array_equal(after, b)


def test_empty_data_gives_the_reference_results(simulated_gpu: Any) -> None:
    """Every data input empty: the reference runs on empty host arrays (shapes, errors)."""
    import jitgraph.tensor as T
    from jitgraph.backends.cuda.ops import device_step
    from jitgraph.ops import linalg, reduce

    a, b = T.dmatrix("a"), T.dmatrix("b")
    for out, values in [
        (linalg.Dot()(a, b), {a: np.ones((2, 0)), b: np.ones((0, 3))}),  # zeros (2, 3)
        (reduce.Sort(0)(a), {a: np.ones((0, 2))}),
        (reduce.CumOp(None)(a), {a: np.ones((3, 0))}),
    ]:
        node, arguments = _node_and_arguments((out, values))
        (expected,) = node.op.perform(node, arguments)
        step, _ = device_step(node)  # type: ignore[misc]
        (got,) = step(_on_device(simulated_gpu, node, arguments))
        _assert_same(expected, got, simulated_gpu, on_host=False)


def test_ops_without_a_device_step(simulated_gpu: Any) -> None:
    import jitgraph.tensor as T
    from jitgraph.backends.cuda.ops import device_step
    from jitgraph.ops.reduce import REDUCTIONS, Reduce

    x = T.dmatrix("x")
    assert device_step(T.exp(x).owner) is None  # elementwise: a kernel, not this module
    assert device_step(Reduce(REDUCTIONS["sum"], (0,))(x).owner) is None  # a kernel too
    assert device_step(x[True].owner) is None  # a 0-d mask: left to the host
    assert device_step(Reduce(REDUCTIONS["sum"], ())(x).owner) is not None


# The op classes the CUDA program must not send through the host (issue 10).
REQUIRED = (
    "Dot Matmul Gemm Gemv Ger BatchedDot TensorDot Alloc ARange Eye Tri Join Split Subtensor "
    "AdvancedSubtensor IncSubtensor AdvancedIncSubtensor Argmax Argmin CumOp Sort Argsort SumTo "
    "Diagonal Tile Repeat Roll Shape DimShuffle Reshape SpecifyShape Rebroadcast TensorCopy Reduce"
).split()


def test_every_required_op_is_covered_and_tested() -> None:
    from jitgraph.backends.cuda.ops import DEVICE_OPS

    covered = {cls.__name__ for cls in DEVICE_OPS}
    assert not set(REQUIRED) - covered
    tested = {type(_node_and_arguments(build())[0].op).__name__ for build in _cases().values()}
    assert not covered - tested, "ops with a device step but no test case"


def _no_gpu() -> bool:
    from jitgraph.backends.cuda import cuda_status

    return cuda_status() is not None


@pytest.mark.skipif(_no_gpu(), reason="needs CuPy and a CUDA GPU")
@pytest.mark.parametrize("name", sorted(_cases()))
def test_device_step_on_the_gpu(name: str) -> None:
    """The same cases on real CuPy: what the simulated GPU cannot show (cuBLAS, sorts,
    scatters, NaN handling of argmax)."""
    from jitgraph.backends.cuda.ops import DEVICE_OPS, device_step
    from jitgraph.backends.cuda.runtime import cupy_module

    cupy = cupy_module()
    node, arguments = _node_and_arguments(_cases()[name]())
    expected = node.op.perform(node, [np.asarray(a) for a in arguments])
    step, _ = device_step(node)  # type: ignore[misc]
    results = step(_on_device(cupy, node, arguments))
    for e, g in zip(expected, results, strict=True):
        _assert_same(e, g, cupy, DEVICE_OPS[type(node.op)].host_outputs, exact=False)


def test_a_constant_is_copied_to_the_device_once(simulated_gpu: Any) -> None:
    import jitgraph.tensor as T
    from jitgraph.backends.cuda.ops import device_step

    a = T.dmatrix("a")
    weights = np.arange(6.0).reshape(3, 2)
    node = T.dot(a, T.constant(weights)).owner
    step, description = device_step(node)  # type: ignore[misc]
    assert description == "cuBLAS"
    x = simulated_gpu.ones((2, 3))
    first = step([x, node.inputs[1].data])
    copy = step.copies[1][1]  # type: ignore[attr-defined]
    second = step([x, node.inputs[1].data])
    assert step.copies[1][1] is copy  # type: ignore[attr-defined]
    for result in (first, second):
        np.testing.assert_array_equal(result[0].get(), np.ones((2, 3)) @ weights)
