"""Where the CUDA backend meets CuPy: the module, device arrays, moves between host and GPU.

``cupy_module()`` gives the CuPy module, or raises ``CudaUnavailableError`` saying which is
missing (CuPy itself, a CUDA driver, a GPU): the one error every ``device='cuda'`` entry
raises, before anything is compiled. The answer is cached per process; ``reset()`` forgets
it (tests that install a stand-in CuPy call it).

``to_device`` / ``to_host`` are the only places values cross between host and GPU, so a
transfer is always visible in the code that asks for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jitgraph.backends.cuda import cuda_status

__all__ = [
    "CudaUnavailableError",
    "cupy_module",
    "is_device_array",
    "reset",
    "to_device",
    "to_host",
]


class CudaUnavailableError(RuntimeError):
    """``device='cuda'`` was asked for where CuPy or a CUDA GPU is missing."""


_state: dict[str, Any] = {}


def cupy_module() -> Any:
    """The ``cupy`` module, checked once per process to have a usable GPU."""
    module = _state.get("cupy")
    if module is not None:
        return module
    reason = cuda_status()
    if reason is not None:
        raise CudaUnavailableError(f"device='cuda' needs CuPy and a CUDA GPU: {reason}")
    import cupy  # type: ignore[import-not-found, unused-ignore]

    _state["cupy"] = cupy
    return cupy


def reset() -> None:
    """Forget the cached module (the next ``cupy_module()`` looks again)."""
    _state.clear()


def is_device_array(value: Any) -> bool:
    """Whether ``value`` is a CuPy array (checked by type, without importing CuPy)."""
    return type(value).__module__.partition(".")[0] == "cupy"


def to_device(value: Any, dtype: Any = None) -> Any:
    """``value`` as a CuPy array (of ``dtype`` if given): a device array is returned as it
    is when its dtype already matches, anything else is copied to the GPU."""
    cupy = cupy_module()
    if is_device_array(value):
        return value if dtype is None or value.dtype == dtype else value.astype(dtype)
    return cupy.asarray(np.asarray(value, dtype=dtype))


def to_host(value: Any) -> Any:
    """``value`` as a NumPy array (a device array is copied back; others pass through)."""
    if is_device_array(value):
        return value.get()
    return value


def may_share_memory(a: Any, b: Any) -> bool:
    """Whether arrays ``a`` and ``b`` may overlap: NumPy's answer for two host arrays,
    CuPy's for two device arrays, False across devices and for non-arrays."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return bool(np.may_share_memory(a, b))
    if is_device_array(a) and is_device_array(b):
        return bool(cupy_module().may_share_memory(a, b))
    return False


def is_writeable(array: Any) -> bool:
    """Whether ``array`` may be written (CuPy arrays always may)."""
    return bool(getattr(array.flags, "writeable", True))


def as_array(value: Any) -> Any:
    """``value`` as an array where it lives: a device array as it is, else NumPy's."""
    return value if is_device_array(value) else np.asarray(value)
