"""The systems the suite compares: jitgraph, NumPy, and the peers that are installed.

A :class:`System` is data: the modules it needs, how to set its thread count, and a table
from workload name to *builder*. A builder takes (workload, inputs) and returns the
zero-argument call that the suite checks and times; building may compile, the first call
may compile (JIT systems), later calls must only compute. A workload missing from a
system's table is "n/a" for it (NumExpr has no training step). Peer modules are imported
only when their system is built, so ``--peers`` decides what gets imported.

>>> [system.name for system in SYSTEMS]
['numpy', 'jitgraph', 'numexpr', 'numba', 'pytensor-c', 'pytensor-numba', 'jax']
>>> System("fake", ("no_such_module_for_the_suite",), dict, lambda threads: None).missing()
'no_such_module_for_the_suite not installed'
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from benchmarks.workloads import Inputs, Workload

Call = Callable[[], Any]
Builder = Callable[[Workload, Inputs], Call]


@dataclasses.dataclass(frozen=True)
class System:
    """A system under test.

    ``builders()`` returns the workload table (imports the system's modules);
    ``set_threads(n)`` sets the thread count its later calls use. ``fixed_threads`` is the
    reason why its thread count cannot change in this process (it is then measured in the
    all-core table only).
    """

    name: str
    requires: tuple[str, ...]
    builders: Callable[[], Mapping[str, Builder]]
    set_threads: Callable[[int], None]
    fixed_threads: str | None = None

    def missing(self) -> str | None:
        """``"<module> not installed"`` for the first required module that cannot be found."""
        for module in self.requires:
            if importlib.util.find_spec(module) is None:
                return f"{module} not installed"
        return None

    def version(self) -> str:
        versions = []
        for module in self.requires:
            imported = importlib.import_module(module)
            versions.append(f"{module} {getattr(imported, '__version__', '?')}")
        return ", ".join(versions)


# ------------------------------------------------------------------------------------ NumPy
def numpy_formula(workload: Workload, inputs: Inputs) -> Call:
    formula = workload.formula
    assert formula is not None
    return lambda: formula(np, **inputs)


def numpy_logistic_regression(workload: Workload, inputs: Inputs) -> Call:
    """The training step written by hand, as a NumPy user would."""
    x, y = inputs["x"], inputs["y"]
    weights, bias = inputs["w"].copy(), float(inputs["b"])

    def step() -> tuple[np.ndarray, ...]:
        nonlocal weights, bias
        probability = 1 / (1 + np.exp(-(x @ weights) - bias))
        xent = -y * np.log(probability) - (1 - y) * np.log(1 - probability)
        residual = (probability - y) / len(y)
        gradient_w = x.T @ residual + 0.02 * weights
        weights = weights - 0.1 * gradient_w
        bias = bias - 0.1 * float(residual.sum())
        return probability > 0.5, xent, weights, np.array(bias)

    return step


def numpy_builders() -> Mapping[str, Builder]:
    table: dict[str, Builder] = {name: numpy_formula for name in FORMULA_WORKLOADS}
    table["logreg_step"] = numpy_logistic_regression
    return table


FORMULA_WORKLOADS = (
    "logistic_f64",
    "logistic_f32",
    "arith_f64",
    "tanh_f64",
    "sumsq_f64",
    "rownorm_f64",
    "call_overhead",
)


# ------------------------------------------------------- graph compilers (jitgraph, PyTensor)
@dataclasses.dataclass(frozen=True)
class GraphLibrary:
    """A Theano-like library: ``tensor`` module, ``function``, ``shared``, ``grad``, and the
    ``mode`` passed to ``function`` (None: the library's default)."""

    package: str
    tensor_module: str
    mode: str | None

    def modules(self) -> tuple[Any, Any]:
        return importlib.import_module(self.package), importlib.import_module(self.tensor_module)

    def formula(self, workload: Workload, inputs: Inputs) -> Call:
        package, tensor = self.modules()
        variables = {
            name: tensor.tensor(name=name, dtype=str(value.dtype), shape=(None,) * value.ndim)
            for name, value in inputs.items()
        }
        assert workload.formula is not None
        output = workload.formula(tensor, **variables)
        compiled = package.function(list(variables.values()), output, mode=self.mode)
        arguments = list(inputs.values())
        return lambda: compiled(*arguments)

    def logistic_regression(self, workload: Workload, inputs: Inputs) -> Call:
        """The Theano tutorial's training step: outputs (prediction, xent), updates w and b."""
        package, tensor = self.modules()
        x, y = tensor.dmatrix("x"), tensor.dvector("y")
        w = package.shared(inputs["w"].copy(), name="w")
        b = package.shared(float(inputs["b"]), name="b")
        p_1 = 1 / (1 + tensor.exp(-tensor.dot(x, w) - b))
        xent = -y * tensor.log(p_1) - (1 - y) * tensor.log(1 - p_1)
        cost = xent.mean() + 0.01 * (w**2).sum()
        gradient_w, gradient_b = package.grad(cost, [w, b])
        train = package.function(
            [x, y],
            [p_1 > 0.5, xent],
            updates=[(w, w - 0.1 * gradient_w), (b, b - 0.1 * gradient_b)],
            mode=self.mode,
        )
        data, labels = inputs["x"], inputs["y"]

        def step() -> tuple[Any, ...]:
            prediction, cross_entropy = train(data, labels)
            return prediction, cross_entropy, w.get_value(borrow=True), b.get_value(borrow=True)

        return step

    def builders(self) -> Mapping[str, Builder]:
        table: dict[str, Builder] = {name: self.formula for name in FORMULA_WORKLOADS}
        table["logreg_step"] = self.logistic_regression
        return table


def set_jitgraph_threads(threads: int) -> None:
    import jitgraph

    jitgraph.config.threads = threads


def set_numba_threads(threads: int) -> None:
    numba = importlib.import_module("numba")
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def no_thread_control(threads: int) -> None:
    """Single-threaded apart from BLAS, whose threads the suite sets for everyone."""


# ----------------------------------------------------------------------------------- NumExpr
NUMEXPR_EXPRESSIONS = {
    "logistic_f64": "1/(1+exp(-x))",
    "logistic_f32": "1/(1+exp(-x))",
    "arith_f64": "a*b + c*d - 2.5*a/(b+1)",
    "tanh_f64": "(1+tanh(x/2))/2",
    "sumsq_f64": "sum((x-c)**2)",
    "call_overhead": "a+b",
}


def numexpr_expression(workload: Workload, inputs: Inputs) -> Call:
    numexpr = importlib.import_module("numexpr")
    expression = NUMEXPR_EXPRESSIONS[workload.name]
    return lambda: numexpr.evaluate(expression, local_dict=inputs)


def numexpr_row_norms(workload: Workload, inputs: Inputs) -> Call:
    """NumExpr reduces only as the outermost operation: the sqrt is a second evaluate."""
    numexpr = importlib.import_module("numexpr")

    def call() -> Any:
        squares = numexpr.evaluate("sum(X**2, axis=1)", local_dict=inputs)
        return numexpr.evaluate("sqrt(squares)", local_dict={"squares": squares})

    return call


def numexpr_builders() -> Mapping[str, Builder]:
    table: dict[str, Builder] = {name: numexpr_expression for name in NUMEXPR_EXPRESSIONS}
    table["rownorm_f64"] = numexpr_row_norms
    return table


def set_numexpr_threads(threads: int) -> None:
    numexpr = importlib.import_module("numexpr")
    numexpr.set_num_threads(threads)


# ------------------------------------------------------------------------------------- Numba
def numba_builders() -> Mapping[str, Builder]:
    from benchmarks.numba_kernels import BUILDERS

    return BUILDERS


# --------------------------------------------------------------------------------------- JAX
def jax_modules() -> tuple[Any, Any]:
    """jax and jax.numpy, with float64 enabled (JAX computes in float32 otherwise)."""
    import jax
    import jax.numpy

    jax.config.update("jax_enable_x64", True)
    return jax, jax.numpy


def jax_formula(workload: Workload, inputs: Inputs) -> Call:
    jax, jnp = jax_modules()
    formula = workload.formula
    assert formula is not None
    compiled = jax.jit(lambda arguments: formula(jnp, **arguments))
    # Inputs are put on the device once: the call measures the computation, not a copy.
    device_inputs = {name: jax.device_put(value) for name, value in inputs.items()}
    return lambda: compiled(device_inputs).block_until_ready()


def jax_logistic_regression(workload: Workload, inputs: Inputs) -> Call:
    jax, jnp = jax_modules()

    def cost(w: Any, b: Any, x: Any, y: Any) -> tuple[Any, tuple[Any, Any]]:
        p_1 = 1 / (1 + jnp.exp(-(x @ w) - b))
        xent = -y * jnp.log(p_1) - (1 - y) * jnp.log(1 - p_1)
        return xent.mean() + 0.01 * (w**2).sum(), (p_1 > 0.5, xent)

    gradient = jax.grad(cost, argnums=(0, 1), has_aux=True)

    @jax.jit
    def train(w: Any, b: Any, x: Any, y: Any) -> tuple[Any, ...]:
        (gradient_w, gradient_b), (prediction, xent) = gradient(w, b, x, y)
        return prediction, xent, w - 0.1 * gradient_w, b - 0.1 * gradient_b

    data, labels = jax.device_put(inputs["x"]), jax.device_put(inputs["y"])
    state = [jax.device_put(inputs["w"]), jax.device_put(inputs["b"])]

    def step() -> tuple[Any, ...]:
        outputs = jax.block_until_ready(train(state[0], state[1], data, labels))
        state[0], state[1] = outputs[2], outputs[3]
        return outputs

    return step


def jax_builders() -> Mapping[str, Builder]:
    table: dict[str, Builder] = {name: jax_formula for name in FORMULA_WORKLOADS}
    table["logreg_step"] = jax_logistic_regression
    return table


# ----------------------------------------------------------------------------------- systems
JITGRAPH = GraphLibrary("jitgraph", "jitgraph.tensor", mode=None)  # config.mode: FAST_RUN
PYTENSOR_C = GraphLibrary("pytensor", "pytensor.tensor", mode="CVM")
PYTENSOR_DEFAULT = GraphLibrary("pytensor", "pytensor.tensor", mode=None)  # numba in v3

SYSTEMS: tuple[System, ...] = (
    System("numpy", ("numpy",), numpy_builders, no_thread_control),
    System("jitgraph", ("jitgraph",), JITGRAPH.builders, set_jitgraph_threads),
    System("numexpr", ("numexpr",), numexpr_builders, set_numexpr_threads),
    System("numba", ("numba",), numba_builders, set_numba_threads),
    System("pytensor-c", ("pytensor",), PYTENSOR_C.builders, no_thread_control),
    System("pytensor-numba", ("pytensor", "numba"), PYTENSOR_DEFAULT.builders, set_numba_threads),
    System(
        "jax",
        ("jax",),
        jax_builders,
        no_thread_control,
        fixed_threads="threads fixed at import: all-core table only",
    ),
)
ALWAYS = ("numpy", "jitgraph")
PEER_GROUPS = {"pytensor": ("pytensor-c", "pytensor-numba")}


def choose(peers: str | None, systems: Sequence[System] | None = None) -> list[System]:
    """NumPy, jitgraph and the peers named in ``peers`` (comma-separated; None: all) among
    ``systems`` (default :data:`SYSTEMS`).

    ``pytensor`` names both PyTensor modes. An unknown name raises ValueError listing the
    known ones.

    >>> [system.name for system in choose("pytensor")]
    ['numpy', 'jitgraph', 'pytensor-c', 'pytensor-numba']
    """
    systems = SYSTEMS if systems is None else systems
    by_name = {system.name: system for system in systems}
    if peers is None:
        return list(systems)
    wanted: set[str] = set(ALWAYS)
    for name in filter(None, (part.strip() for part in peers.split(","))):
        names = PEER_GROUPS.get(name, (name,))
        unknown = [each for each in names if each not in by_name]
        if unknown:
            known = ", ".join([*by_name, *PEER_GROUPS])
            raise ValueError(f"--peers: unknown system {name!r} (known: {known})")
        wanted.update(names)
    return [system for system in systems if system.name in wanted]
