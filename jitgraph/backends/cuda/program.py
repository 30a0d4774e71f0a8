"""The CUDA backend's program: an optimized graph whose values live on the GPU.

``compile_graph(graph)`` returns a ``CudaProgram``, the reference ``Program`` (slots,
steps, error reporting) with every node it can lower run on the GPU, its values CuPy
arrays:

- a ``Fused`` node, and a lone ``Reduce``, by its kernel as CUDA C (``launch``: compiled
  when the program is built, through the disk cache);
- ``PhiloxBits`` by the CUDA Philox kernel (``random.native_step``: the CPU's bits);
- dot products, indexing, joins, sorts, ... by CuPy (``ops.device_step``: cuBLAS for
  the products);
- scan and ifelse by their inner graphs compiled for the GPU (scan: a host loop of
  launches whose state stays on the device);
- anything else on the host: its inputs are copied from the GPU, its op's reference
  implementation runs, its results go back. Such nodes are listed by ``fallbacks()``,
  described as "host round trip" by ``describe_node`` and announced by a
  ``CudaHostFallbackWarning`` when the program is built: a transfer is never silent.

Constants a kernel reads are copied to the GPU once, when the program is built; the others
(shapes, indices) stay on the host. Values computed on the host as metadata (a shape, a
length) are copied to the GPU where a kernel reads them: a few bytes per call.

The memory plan's buffer reuse and in-place updates are not applied on the GPU yet:
every result is a fresh CuPy array (CuPy's memory pool makes that cheap).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from jitgraph.backends.cuda import launch
from jitgraph.backends.cuda.runtime import cupy_module, is_device_array, to_device, to_host
from jitgraph.backends.cuda.scalar import CudaLoweringError
from jitgraph.backends.kernel import Kernel
from jitgraph.backends.llvm.program import node_kernel
from jitgraph.backends.reference import NodeImplementation, Program
from jitgraph.ir.graph import Const, Graph, Node
from jitgraph.ops.control import InnerGraphOp
from jitgraph.passes.memory import MemoryPlan

__all__ = ["CudaHostFallbackWarning", "CudaProgram", "compile_graph"]

HOST_ROUND_TRIP = "host round trip (no CUDA lowering)"


class CudaHostFallbackWarning(UserWarning):
    """A CUDA program runs some nodes on the host, copying their values each call."""


class CudaProgram(Program):
    """A program whose values live on the GPU (module docstring)."""

    def __init__(self, graph: Graph, plan: MemoryPlan | None = None) -> None:
        cupy_module()  # CudaUnavailableError, naming what is missing, before any work
        super().__init__(graph, None)
        device_readers = {
            id(var)
            for node in graph.nodes
            if id(node) in self.reads_on_device
            for var in node.inputs
            if isinstance(var, Const)
        }
        consts = [v for v in graph.variables() if isinstance(v, Const)]  # as Program's list
        self.constants = [
            (s, to_device(data) if id(var) in device_readers else data)
            for (s, data), var in zip(self.constants, consts, strict=True)
        ]
        host = self.fallbacks()
        if host:
            names = ", ".join(sorted({node.op.short_description() for node in host}))
            warnings.warn(
                f"this CUDA program runs {len(host)} node(s) on the host ({names}): each "
                "call copies their inputs from the GPU and their results back",
                CudaHostFallbackWarning,
                stacklevel=2,
            )

    def lower_nodes(self, graph: Graph) -> dict[int, NodeImplementation]:
        from jitgraph.backends.cuda import ops, random

        self.descriptions: dict[int, str] = {}
        self.reads_on_device: set[int] = set()  # nodes that want their inputs on the GPU
        lowered: dict[int, NodeImplementation] = {}
        for node in graph.nodes:
            implementation = _kernel_step(node)
            if implementation is not None:
                self.reads_on_device.add(id(node))
            elif isinstance(node.op, InnerGraphOp):  # scan, ifelse: their graphs on the GPU
                implementation = node.op.implementation(node, "cuda")
            else:
                step = random.native_step(node)
                if step is not None:
                    implementation = NodeImplementation(step, None, "CUDA Philox", trusted=True)
                else:
                    device = ops.device_step(node)
                    if device is not None:
                        perform, description = device
                        implementation = NodeImplementation(perform, None, description)
                    else:
                        implementation = NodeImplementation(_host_step(node), None, HOST_ROUND_TRIP)
            lowered[id(node)] = implementation
            self.descriptions[id(node)] = implementation.description
        return lowered

    def describe_node(self, node: Node) -> str:
        """How ``node`` runs: 'CUDA kernel', 'cuBLAS', 'CuPy', 'CUDA Philox', ..., or
        'host round trip (no CUDA lowering)'."""
        return self.descriptions[id(node)]

    def fallbacks(self) -> list[Node]:
        """The nodes run on the host, their values copied each call, for want of a
        CUDA lowering."""
        return [n for n in self.graph.nodes if self.descriptions[id(n)] == HOST_ROUND_TRIP]


def _kernel_step(node: Node) -> NodeImplementation | None:
    """A fused kernel's launch, compiled now; None where the node is no kernel or its
    kernel has an op CUDA C does not express (it then runs on the host)."""
    kernel = node_kernel(node)
    if kernel is None:
        return None
    try:
        launch.prepare(kernel)
    except CudaLoweringError:
        return None
    return NodeImplementation(KernelStep(node, kernel), None, "CUDA kernel", trusted=True)


class KernelStep:
    """Launches one kernel; host values among its inputs (metadata computed on the host,
    a few bytes) are copied to the GPU first, in the dtype the kernel reads."""

    def __init__(self, node: Node, kernel: Kernel) -> None:
        self.kernel = kernel
        self.dtypes = [var.type.numpy_dtype for var in node.inputs]

    def __call__(self, args: list[Any]) -> list[Any]:
        values = [
            value if is_device_array(value) else to_device(value, dtype)
            for value, dtype in zip(args, self.dtypes, strict=True)
        ]
        return launch.launch(self.kernel, values)


def _host_step(node: Node) -> Callable[[list[Any]], Sequence[Any]]:
    perform = functools.partial(node.op.perform, node)
    dtypes = [var.type.numpy_dtype for var in node.outputs]

    def step(args: list[Any]) -> list[Any]:
        results = perform([to_host(value) for value in args])
        return [to_device(value, dtype) for value, dtype in zip(results, dtypes, strict=True)]

    return step


def compile_graph(graph: Graph, plan: MemoryPlan | None = None) -> CudaProgram:
    """The graph as a ``CudaProgram`` (``plan`` is accepted and not applied yet)."""
    return CudaProgram(graph, plan)
