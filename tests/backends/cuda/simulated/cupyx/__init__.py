"""``cupyx`` of the simulated GPU: the scatter functions (``numpy.ufunc.at`` semantics:
repeated indices accumulate)."""

from __future__ import annotations

from typing import Any

import cupy


def _scatter(name: str, a: Any, slices: Any, value: Any) -> None:
    if not isinstance(a, cupy.ndarray):
        raise TypeError(f"Unsupported type {type(a)}")
    getattr(cupy, name).at(a, slices, value)


def scatter_add(a: Any, slices: Any, value: Any) -> None:
    """``a[slices] += value``, repeated indices accumulating, in place."""
    _scatter("add", a, slices, value)


def scatter_max(a: Any, slices: Any, value: Any) -> None:
    _scatter("maximum", a, slices, value)


def scatter_min(a: Any, slices: Any, value: Any) -> None:
    _scatter("minimum", a, slices, value)
