"""The CUDA backend: the backend-neutral kernels (backends/kernel.py) as CUDA C.

- ``scalar``: THE elementwise table (ops/scalar.py) as CUDA C expressions: the C type of
  each dtype, the prelude of device helpers (complex numbers, NumPy's integer and float
  semantics), casts and literals.

Nothing here imports CuPy at import time: CUDA C source can be generated (and compiled with
``nvcc``) on a machine without a GPU. ``cuda_status()`` says whether kernels can run here.
"""

from __future__ import annotations

import importlib
import importlib.util


def cuda_status() -> str | None:
    """None when CuPy and a CUDA GPU are usable, else the reason (for error messages and
    ``jitgraph info``).

    >>> status = cuda_status()
    >>> status is None or isinstance(status, str)
    True
    """
    if importlib.util.find_spec("cupy") is None:
        return "cupy is not installed (pip install jitgraph[cuda])"
    try:
        cupy = importlib.import_module("cupy")
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as error:  # noqa: BLE001 - a CuPy without a driver raises its own errors
        first = (str(error).strip().splitlines() or [""])[0]
        return f"CuPy failed: {type(error).__name__}: {first}"
    if count == 0:
        return "CuPy found no CUDA device"
    return None
