"""``cupy.cuda.runtime`` of the simulated GPU: one device, CUDA 12.8 version numbers."""

from __future__ import annotations

from typing import Any

_TOTAL_MEMORY = 80 * 2**30


class CUDARuntimeError(RuntimeError):
    pass


def getDeviceCount() -> int:  # noqa: N802 - CuPy's names
    return 1


def getDevice() -> int:  # noqa: N802
    return 0


def runtimeGetVersion() -> int:  # noqa: N802
    return 12080


def driverGetVersion() -> int:  # noqa: N802
    return 12080


def deviceSynchronize() -> None:  # noqa: N802
    return None


def memGetInfo() -> tuple[int, int]:  # noqa: N802
    return (_TOTAL_MEMORY, _TOTAL_MEMORY)


def getDeviceProperties(device: int) -> dict[str, Any]:  # noqa: N802
    if device != 0:
        raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
    return {
        "name": b"Simulated GPU (NumPy)",
        "totalGlobalMem": _TOTAL_MEMORY,
        "major": 9,
        "minor": 0,
        "multiProcessorCount": 1,
        "maxThreadsPerBlock": 1024,
        "warpSize": 32,
    }
