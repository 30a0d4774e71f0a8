"""``cupy.cuda.function`` of the simulated GPU: no CUDA code runs, unless the fixture
``emulated_gpu`` (tests/backends/cuda/conftest.py) has set ``emulator`` to the CUDA
emulator (tests/backends/cuda/emulator.py). Then ``Module().load(code)`` takes the CUDA C
source (the emulated ``compile_source`` returns it, UTF-8 encoded) and ``get_function``
gives a ``Function`` that runs the entry on the host, on the stand-in arrays' memory,
then checks the guard bytes around the arrays ``cupy.empty`` allocated (a write out of
bounds raises RuntimeError)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

emulator: Any = None  # the CUDA emulator module while ``emulated_gpu`` is installed

_NO_CODE = "the simulated GPU runs no CUDA code (the fixture emulated_gpu emulates it)"


class Module:
    """A loaded module: ``load(code)`` then ``get_function(name)``, as CuPy's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if emulator is None:
            raise NotImplementedError(_NO_CODE)
        self._module: Any = None

    def load(self, code: bytes) -> None:
        """Compile ``code`` (CUDA C source as bytes) for the emulator."""
        if not isinstance(code, bytes):
            raise TypeError(f"Module.load takes bytes, got {type(code).__name__}")
        self._module = emulator.load(code.decode())

    def load_file(self, filename: str) -> None:
        with open(filename, "rb") as file:
            self.load(file.read())

    def get_function(self, name: str) -> Function:
        if self._module is None:
            raise RuntimeError("CUDA_ERROR_INVALID_HANDLE: no module loaded")
        return Function(self, name)


class Function:
    """An entry of a loaded module: ``function(grid, block, args)`` runs it emulated.
    A NumPy array among ``args`` (a host pointer given to device code) raises TypeError."""

    def __init__(self, module: Module, name: str) -> None:
        if emulator is None or not isinstance(module, Module):
            raise NotImplementedError(_NO_CODE)
        self._function = module._module.get_function(name)
        self.module = module

    def __call__(
        self,
        grid: Any,
        block: Any,
        args: Sequence[Any],
        shared_mem: int = 0,
        stream: Any = None,
        enable_cooperative_groups: bool = False,
    ) -> None:
        from cupy import ndarray

        for position, value in enumerate(args):
            if isinstance(value, np.ndarray):
                raise TypeError(
                    f"kernel argument {position} is a numpy.ndarray: a host array reached a "
                    "kernel launch"
                )
            if not isinstance(value, ndarray | np.generic | int | float | bool):
                raise TypeError(f"Unsupported type {type(value)}")
        self._function(grid, block, args)
        from cupy import _check_guards

        _check_guards(args, f"kernel {self._function.name}")
