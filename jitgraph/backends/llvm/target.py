"""The host target: LLVM initialisation, optimisation at O3 and native code loading.

Everything that touches llvmlite's binding layer (the LLVM library itself) goes through
this module, so the rest of the backend builds IR with ``llvmlite.ir`` and never cares
how it becomes machine code:

- ``compile_ir(text)`` parses and verifies LLVM IR, optimises it with the new pass
  builder at O3 (loop and SLP vectorisation on) for the host CPU name and features, and
  returns the object code (bytes: what the disk cache stores);
- ``load_object(code)`` links object code into the process and returns a ``NativeLibrary``
  giving each function's address; symbols the code calls that are not in the process
  (BLAS, scipy.special) are registered first with ``register_symbol``;
- ``target_description()`` names the target for cache keys.

>>> library = load_object(compile_ir('''
... define i64 @twice(i64 %x) {
...   %y = mul i64 %x, 2
...   ret i64 %y
... }'''))
>>> import ctypes
>>> ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(library.address("twice"))(21)
42
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

import llvmlite
import llvmlite.binding as llvm

__all__ = [
    "NativeLibrary",
    "compile_ir",
    "host_target_machine",
    "load_object",
    "register_symbol",
    "target_description",
]

_lock = threading.Lock()  # LLVM's global state (symbol table, target init) is not thread-safe

# How many modules this process compiled (``compile_ir`` calls): the tests and ``jitgraph
# info`` read it to show that a disk-cache hit skipped LLVM entirely.
STATISTICS = {"compiled_modules": 0, "compile_seconds": 0.0, "loaded_objects": 0}


@functools.cache
def _initialize() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()


@functools.cache
def host_target_machine() -> Any:
    """The target machine for this CPU (name and features), O3, position independent."""
    return new_target_machine()


def new_target_machine() -> Any:
    """A target machine of its own (an execution engine takes ownership of the one it
    is given and destroys it with itself: each ``NativeLibrary`` needs a fresh one)."""
    _initialize()
    target = llvm.Target.from_triple(llvm.get_process_triple())
    return target.create_target_machine(
        cpu=llvm.get_host_cpu_name(),
        features=host_features(),
        opt=3,
        reloc="pic",
        codemodel="jitdefault",
    )


@functools.cache
def host_features() -> str:
    """The host CPU's features, with full-width vectors where it has AVX-512: LLVM's tuning
    for these CPUs prefers 256-bit vectors (for clock-throttling reasons that matter little
    to streaming kernels), which halves the throughput of the math library's loops."""
    features = llvm.get_host_cpu_features().flatten()
    if "+avx512f" in features.split(","):
        features += ",-prefer-256-bit"
    return features


@functools.cache
def target_description() -> str:
    """Triple, CPU name, CPU features and the LLVM/llvmlite versions: everything about
    the target that changes the machine code (a cache key ingredient)."""
    _initialize()
    llvm_version = ".".join(map(str, llvm.llvm_version_info))
    return (
        f"{llvm.get_process_triple()}/{llvm.get_host_cpu_name()}/"
        f"{host_features()}/llvm-{llvm_version}/"
        f"llvmlite-{llvmlite.__version__}"
    )


def data_layout() -> str:
    return str(host_target_machine().target_data)


def _optimize(module: Any) -> None:
    machine = host_target_machine()
    tuning = llvm.create_pipeline_tuning_options(speed_level=3)  # (size_level: gone in 0.50)
    tuning.loop_vectorization = True
    tuning.slp_vectorization = True
    tuning.loop_unrolling = True
    builder = llvm.create_pass_builder(machine, tuning)
    manager = builder.getModulePassManager()
    try:
        manager.run(module, builder)
    finally:
        manager.close()
        builder.close()
        tuning.close()


def compile_ir(text: str, optimize: bool = True) -> bytes:
    """Object code for the LLVM IR ``text`` (verified, then optimised at O3 for the host
    unless ``optimize`` is False). ValueError with LLVM's message for invalid IR."""
    _initialize()
    machine = host_target_machine()
    start = time.perf_counter()
    with _lock:
        STATISTICS["compiled_modules"] += 1
        # A context per compilation: types, constants and metadata are uniqued in their
        # context for its lifetime, so the global one would grow with every module.
        context = llvm.create_context()
        module = None
        try:
            try:
                module = llvm.parse_assembly(text, context=context)
                module.verify()
            except RuntimeError as exc:
                raise ValueError(f"invalid LLVM IR generated (a jitgraph bug): {exc}") from None
            module.triple = llvm.get_process_triple()
            module.data_layout = str(machine.target_data)
            if optimize:
                _optimize(module)
            code = bytes(machine.emit_object(module))
        finally:
            if module is not None:
                module.close()  # a module must go before its context, also on errors
            context.close()
        STATISTICS["compile_seconds"] += time.perf_counter() - start
        return code


def optimized_ir(text: str) -> str:
    """The IR ``text`` after the O3 pipeline, as text (for ``as_text``/debugging)."""
    _initialize()
    with _lock:
        module = llvm.parse_assembly(text)
        module.verify()
        module.triple = llvm.get_process_triple()
        module.data_layout = data_layout()
        _optimize(module)
        return str(module)


def assembly(text: str) -> str:
    """The host assembly of the optimised IR ``text``."""
    _initialize()
    with _lock:
        module = llvm.parse_assembly(text)
        module.triple = llvm.get_process_triple()
        module.data_layout = data_layout()
        _optimize(module)
        return str(host_target_machine().emit_assembly(module))


def register_symbol(name: str, address: int) -> None:
    """Make ``name`` resolve to ``address`` in code loaded from now on (a function
    pointer from BLAS or scipy.special, for instance)."""
    with _lock:
        llvm.add_symbol(name, address)


class NativeLibrary:
    """Object code linked into the process. The code stays mapped while this object
    lives; ``address(name)`` is a function's entry point."""

    def __init__(self, code: bytes) -> None:
        _initialize()
        with _lock:
            self._engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), new_target_machine())
            self._engine.add_object_file(llvm.ObjectFileRef.from_data(code))
            self._engine.finalize_object()
            STATISTICS["loaded_objects"] += 1
        self.code_size = len(code)

    def address(self, name: str) -> int:
        """The address of function ``name``; KeyError when the code does not define it."""
        with _lock:
            address = int(self._engine.get_function_address(name))
        if not address:
            raise KeyError(f"the native library defines no function {name!r}")
        return address

    def close(self) -> None:
        """Unmap the code now (addresses taken from it become invalid)."""
        with _lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None


def load_object(code: bytes) -> NativeLibrary:
    """Link object code (from ``compile_ir``, or the disk cache) into the process."""
    return NativeLibrary(code)
