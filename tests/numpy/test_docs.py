"""The examples in the docstrings of jitgraph.numpy, @jit and functional grad run and print
what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "jitgraph.numpy._core",
    "jitgraph.numpy._creation",
    "jitgraph.numpy._dtypes",
    "jitgraph.numpy._elementwise",
    "jitgraph.numpy._indexing",
    "jitgraph.numpy._linalg",
    "jitgraph.numpy._manipulation",
    "jitgraph.numpy._reductions",
    "jitgraph.numpy._sorting",
    "jitgraph.numpy.linalg",
    "jitgraph.numpy.random",
    "jitgraph.jit",
    "jitgraph.functional",
]


@pytest.mark.parametrize("module", MODULES)
def test_module_examples_run(module: str) -> None:
    result = doctest.testmod(
        importlib.import_module(module),
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.failed == 0


def test_modules_have_examples() -> None:
    attempted = sum(
        doctest.testmod(importlib.import_module(m), report=False).attempted for m in MODULES
    )
    assert attempted > 20
