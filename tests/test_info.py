"""`jitgraph info` (jitgraph/__main__.py): versions, the backends (LLVM target, CUDA and why
it is unavailable), the cache and the configuration flags."""

from __future__ import annotations

import importlib.machinery
import sys
import types
from typing import Any

import pytest

import jitgraph.__main__ as cli
from jitgraph.config import config

NO_CUPY = "not available: cupy is not installed (pip install jitgraph[cuda])"


def info_text(capsys: pytest.CaptureFixture[str]) -> str:
    assert cli.main(["info"]) == 0
    return capsys.readouterr().out


def test_every_section_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    text = info_text(capsys)
    sections = ["versions:", "LLVM backend (CPU):", "CUDA backend:", "cache (",
                "configuration flags"]  # fmt: skip
    positions = [text.index(f"\n{section}" if index else section)
                 for index, section in enumerate(sections)]  # fmt: skip
    assert positions == sorted(positions)
    for name in ("jitgraph", "python", "numpy", "scipy", "llvmlite", "numba", "jax", "cupy"):
        assert f"\n  {name} " in text, name
    assert "(LLVM " in text.split("llvmlite", 1)[1].splitlines()[0]
    llvm = text.split("LLVM backend (CPU):", 1)[1].split("\n\n")[0]
    for row in ("status    available", "triple", "cpu", "features"):
        assert f"  {row}" in llvm
    cache = text.split("cache (", 1)[1].split("\n\n")[0]
    assert "location" in cache and "entries" in cache and "enabled" in cache
    assert "trusted" in cache and config.cache_dir in cache
    assert "cache_size_cap" in text  # the flags


def test_cuda_says_why_without_cupy(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)
    assert cli.cuda_status() == NO_CUPY
    assert f"status  {NO_CUPY}" in info_text(capsys)


def fake_cupy(monkeypatch: pytest.MonkeyPatch, runtime: Any) -> None:
    module = types.ModuleType("cupy")
    module.__spec__ = importlib.machinery.ModuleSpec("cupy", None)
    module.cuda = types.SimpleNamespace(runtime=runtime)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cupy", module)


def test_cuda_reports_cupy_errors_and_missing_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_driver() -> int:
        raise RuntimeError("CUDA driver version is insufficient\nsecond line")

    fake_cupy(monkeypatch, types.SimpleNamespace(getDeviceCount=no_driver))
    assert cli.cuda_status() == (
        "not available: CuPy failed: RuntimeError: CUDA driver version is insufficient"
    )
    fake_cupy(monkeypatch, types.SimpleNamespace(getDeviceCount=lambda: 0))
    assert cli.cuda_status() == "not available: CuPy found no CUDA device"
    properties = {"name": b"NVIDIA H100"}
    runtime = types.SimpleNamespace(getDeviceCount=lambda: 1,
                                    getDeviceProperties=lambda index: properties)  # fmt: skip
    fake_cupy(monkeypatch, runtime)
    assert cli.cuda_status() == "CuPy finds 1 device(s): NVIDIA H100"


def test_a_failing_section_says_why_and_the_rest_is_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> dict[str, str]:
        raise RuntimeError("no native target")

    monkeypatch.setattr(cli, "llvm_rows", broken)
    text = info_text(capsys)
    assert "LLVM backend (CPU):\n  unavailable: RuntimeError: no native target" in text
    assert "CUDA backend:" in text and "configuration flags" in text
