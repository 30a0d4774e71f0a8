"""``cupy.cuda.function`` of the simulated GPU: it loads no CUDA code."""

from __future__ import annotations

from typing import Any


class Module:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("the simulated GPU runs no CUDA code")


class Function:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("the simulated GPU runs no CUDA code")
