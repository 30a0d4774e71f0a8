"""The simulated GPU for the CUDA backend's tests: the fixture ``simulated_gpu``.

``simulated_gpu`` installs the NumPy-backed stand-in CuPy (``simulated/cupy``) as the module
``cupy`` (and ``cupyx``) for one test, and replaces what would run CUDA code:

- ``jitgraph.backends.cuda.launch.launch(kernel, inputs)`` by ``simulated_launch``: the
  kernel's NumPy evaluation (``kernel.evaluate``) on the stand-in arrays' contents; a NumPy
  array reaching a kernel launch is a bug (a host value where a device value belongs) and
  raises TypeError;
- ``launch.prepare(kernel)`` (compile and load now) by ``simulated_prepare``: the CUDA C is
  generated (so ``CudaLoweringError`` comes as on a GPU), nothing compiled or loaded;
- ``jitgraph.backends.cuda.random.native_step(node)`` (Philox on the GPU), where that
  module exists, by the node's ``perform`` on host copies of its inputs.

Every jitgraph module that imported those functions by name is patched too, and the
cached CuPy module of ``jitgraph.backends.cuda.runtime`` is forgotten on entry and exit.
Everything is restored afterwards (a real CuPy, if installed, comes back).

Scripts use ``install_simulated_gpu()``, which returns the function that uninstalls it;
load this file by path (``importlib.util.spec_from_file_location``) to reach it.

``emulated_gpu`` is the simulated GPU with the generated CUDA code RUN: ``launch.launch``,
``launch.prepare`` and ``random.native_step`` stay the real ones, ``compile.compile_source``
returns the CUDA C source itself (as bytes), and the stand-in ``cupy.cuda.function.Module``
compiles it for the host and runs its entries on the stand-in arrays' memory through the
CUDA emulator (``emulator.py`` here; ``load_emulator()``, the fixture ``cuda_emulator``);
``cupy.empty`` then allocates between guard bytes, so a kernel writing out of bounds
raises. It skips the test where the emulator cannot run (no host C++ compiler), saying
why. Scripts use ``install_emulated_gpu()``.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

SIMULATED = str(Path(__file__).resolve().parent / "simulated")
EMULATOR = Path(__file__).resolve().parent / "emulator.py"
EMULATOR_MODULE = "jitgraph_tests_cuda_emulator"
_STANDIN_PACKAGES = ("cupy", "cupyx")


def _is_cupy_module(name: str) -> bool:
    return any(
        name == p or name.startswith(p + ".") or name.startswith(p + "_") for p in _STANDIN_PACKAGES
    )


def simulated_launch(kernel: Any, inputs: Sequence[Any]) -> list[Any]:
    """``launch.launch`` on the simulated GPU: the kernel's NumPy evaluation, each output a
    fresh C-contiguous stand-in array (as the real launch allocates)."""
    import cupy

    from jitgraph.backends.kernel import evaluate

    for position, value in enumerate(inputs):
        if not isinstance(value, cupy.ndarray):
            raise TypeError(
                f"kernel input {position} is a {type(value).__module__}.{type(value).__name__}, "
                "not a device array: a host value reached a kernel launch"
            )
    results = evaluate(kernel, [value._array for value in inputs])
    return [cupy.asarray(np.array(result, order="C", copy=True)) for result in results]


def simulated_prepare(kernel: Any) -> None:
    """``launch.prepare`` on the simulated GPU: the kernel's CUDA C is generated (raising
    ``CudaLoweringError`` for an op CUDA C does not express), not compiled."""
    from jitgraph.backends.cuda import codegen

    codegen.kernel_source(kernel, "k" + kernel.key()[:16])


def simulated_native_step(node: Any) -> Callable[[list[Any]], list[Any]] | None:
    """``random.native_step`` on the simulated GPU: for a PhiloxBits node, its reference
    ``perform`` on host copies of the inputs, the results moved to the device."""
    from jitgraph.ops.random import PhiloxBits

    if not isinstance(node.op, PhiloxBits):
        return None

    def step(args: list[Any]) -> list[Any]:
        import cupy

        host = [value.get() if isinstance(value, cupy.ndarray) else value for value in args]
        return [cupy.asarray(np.asarray(r)) for r in node.op.perform(node, host)]

    return step


def _forget_cached_modules() -> None:
    """Drop what jitgraph caches about the CuPy it found (the module, the compiler)."""
    runtime = sys.modules.get("jitgraph.backends.cuda.runtime")
    if runtime is not None:
        runtime.reset()
    compile_module = sys.modules.get("jitgraph.backends.cuda.compile")
    if compile_module is not None:
        compile_module.compiler_version.cache_clear()


def _patch_everywhere(
    module_name: str, attribute: str, replacement: Any
) -> list[tuple[Any, str, Any]]:
    """Set ``module.attribute`` and every jitgraph module's name bound to the same
    function to ``replacement``; the (module, name, old value) triples to restore."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:  # e.g. the Philox module not written yet
        return []
    original = getattr(module, attribute, None)
    if original is None:
        return []
    patched = []
    for name, loaded in list(sys.modules.items()):
        if loaded is None or not (name == "jitgraph" or name.startswith("jitgraph.")):
            continue
        for key, value in list(vars(loaded).items()):
            if value is original:
                patched.append((loaded, key, value))
                setattr(loaded, key, replacement)
    return patched


def load_emulator() -> ModuleType:
    """The CUDA emulator module (tests/backends/cuda/emulator.py), loaded once by path."""
    module = sys.modules.get(EMULATOR_MODULE)
    if module is None:
        spec = importlib.util.spec_from_file_location(EMULATOR_MODULE, EMULATOR)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[EMULATOR_MODULE] = module
        spec.loader.exec_module(module)
    return module


def emulated_compile_source(source: str, arch: str) -> bytes:
    """``compile.compile_source`` under the emulator: the source itself, UTF-8 encoded
    (the stand-in ``Module.load`` compiles it for the host)."""
    if not re.fullmatch(r"sm_\d+[a-z]?", arch):
        raise ValueError(f"compile_source: arch must look like 'sm_90', got {arch!r}")
    return source.encode()


def _forget_loaded_kernels() -> None:
    """Drop the modules launch.py and random.py keep per process: loaded under one GPU
    (simulated, emulated or real), they belong to it alone."""
    for name, attribute in (
        ("jitgraph.backends.cuda.launch", "_modules"),
        ("jitgraph.backends.cuda.random", "_kernels"),
    ):
        cache = getattr(sys.modules.get(name), attribute, None)
        if isinstance(cache, dict):
            cache.clear()


def install_emulated_gpu() -> Callable[[], None]:
    """Install the emulated GPU (the simulated one running the generated CUDA C through
    the emulator); returns ``uninstall``. The emulator must be available."""
    emulator = load_emulator()
    reason = emulator.available()
    if reason is not None:
        raise RuntimeError(reason)
    for name in ("jitgraph.backends.cuda.launch", "jitgraph.backends.cuda.random"):
        importlib.import_module(name)  # bound to compile_source now, so patched below
    uninstall_simulated = install_simulated_gpu(emulate=True)
    patched = _patch_everywhere(
        "jitgraph.backends.cuda.compile", "compile_source", emulated_compile_source
    )
    sys.modules["cupy.cuda.function"].emulator = emulator
    _forget_loaded_kernels()

    def uninstall() -> None:
        _forget_loaded_kernels()
        for module, name, value in reversed(patched):
            setattr(module, name, value)
        uninstall_simulated()

    return uninstall


def install_simulated_gpu(emulate: bool = False) -> Callable[[], None]:
    """Install the simulated GPU in this process; returns ``uninstall``, which restores the
    previous ``cupy`` modules, ``sys.path`` and the patched functions. ``emulate``: keep
    the real launch functions (``install_emulated_gpu`` runs their CUDA code)."""
    saved_modules = {n: m for n, m in sys.modules.items() if _is_cupy_module(n)}
    for name in saved_modules:
        del sys.modules[name]
    sys.path.insert(0, SIMULATED)
    importlib.invalidate_caches()
    importlib.import_module("cupy")
    importlib.import_module("cupyx")
    patched: list[tuple[Any, str, Any]] = []
    if not emulate:
        patched += _patch_everywhere("jitgraph.backends.cuda.launch", "launch", simulated_launch)
        patched += _patch_everywhere("jitgraph.backends.cuda.launch", "prepare", simulated_prepare)
        patched += _patch_everywhere(
            "jitgraph.backends.cuda.random", "native_step", simulated_native_step
        )
    _forget_cached_modules()

    def uninstall() -> None:
        for module, name, value in reversed(patched):
            setattr(module, name, value)
        for name in [n for n in sys.modules if _is_cupy_module(n)]:
            del sys.modules[name]
        sys.modules.update(saved_modules)
        if SIMULATED in sys.path:
            sys.path.remove(SIMULATED)
        importlib.invalidate_caches()
        _forget_cached_modules()

    return uninstall


@pytest.fixture
def simulated_gpu() -> Iterator[Any]:
    """The simulated GPU for one test; yields the stand-in ``cupy`` module."""
    uninstall = install_simulated_gpu()
    try:
        yield sys.modules["cupy"]
    finally:
        uninstall()


@pytest.fixture(scope="session")
def cuda_emulator() -> ModuleType:
    """The CUDA emulator module; skips the test where it cannot run here."""
    emulator = load_emulator()
    reason = emulator.available()
    if reason is not None:
        pytest.skip(reason)
    return emulator


@pytest.fixture
def emulated_gpu(cuda_emulator: ModuleType) -> Iterator[Any]:
    """The emulated GPU for one test (the generated CUDA C runs on the host); yields the
    stand-in ``cupy`` module. Skips where the emulator cannot run."""
    uninstall = install_emulated_gpu()
    try:
        yield sys.modules["cupy"]
    finally:
        uninstall()
