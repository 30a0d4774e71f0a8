"""Test-wide setup: Hypothesis profiles, a private compile cache, CUDA auto-skip.

Hypothesis profiles: ``dev`` (50 examples, the default), ``ci`` (15, used when ``CI`` is set)
and ``thorough`` (500). ``HYPOTHESIS_PROFILE=thorough`` picks one explicitly and wins over
``CI``. No profile has a deadline: the first call of a test compiles, which is slow.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

settings.register_profile("dev", max_examples=50, deadline=None)
# CI is derandomized so that a landing never hinges on a lucky draw; "dev" and
# "thorough" stay random and are where new counterexamples are found.
settings.register_profile("ci", max_examples=15, deadline=None, print_blob=True, derandomize=True)
settings.register_profile("thorough", max_examples=500, deadline=None)


def _hypothesis_profile() -> str:
    if os.environ.get("HYPOTHESIS_PROFILE"):
        return os.environ["HYPOTHESIS_PROFILE"]
    return "ci" if os.environ.get("CI") else "dev"


settings.load_profile(_hypothesis_profile())


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Point the compile cache at a fresh directory for the session.

    Both the environment (for subprocesses: notebooks, the CLI) and the already imported
    ``config.cache_dir`` are set, and both are restored afterwards.
    """
    from jitgraph.config import CACHE_DIR_ENV_VAR, config

    cache_dir = str(tmp_path_factory.mktemp("jitgraph-cache"))
    previous = os.environ.get(CACHE_DIR_ENV_VAR)
    os.environ[CACHE_DIR_ENV_VAR] = cache_dir
    try:
        # check_passes: the IR verifier runs after every optimizer pass of every compile.
        with config.change_flags(cache_dir=cache_dir, check_passes=True):
            yield cache_dir
    finally:
        if previous is None:
            os.environ.pop(CACHE_DIR_ENV_VAR, None)
        else:
            os.environ[CACHE_DIR_ENV_VAR] = previous


def _gpu_present() -> bool:
    try:
        import cupy

        return int(cupy.cuda.runtime.getDeviceCount()) > 0
    except Exception:  # no cupy, no driver, no device: all mean "no GPU here"
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``cuda`` (they execute on a GPU) where no GPU is present."""
    cuda_items = [item for item in items if item.get_closest_marker("cuda")]
    if not cuda_items or _gpu_present():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (cupy found none)")
    for item in cuda_items:
        item.add_marker(skip)
