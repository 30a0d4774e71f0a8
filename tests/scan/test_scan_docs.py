"""The examples in the loop and condition modules' docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module", ["jitgraph.scan", "jitgraph.ifelse", "jitgraph.ops.ifelse", "jitgraph.ops.random"]
)
def test_module_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
