"""benchmarks/peers.py (and numba_kernels.py): every system's version of every workload
agrees with NumPy's, so that a time in the table is the time of the right computation.

Each installed peer runs the whole tiny suite through the runner's own check; a peer that
is not installed is skipped. PyTensor compiles C for every workload, hence ``slow``.
"""

from __future__ import annotations

import pytest

from benchmarks import peers, suite
from benchmarks.workloads import TINY, workloads

TINY_SETTINGS = suite.Settings(
    TINY, repeats=1, sample_seconds=1e-4, startup_repeats=1, bandwidth_megabytes=1
)
SLOW = {"pytensor-c", "pytensor-numba"}


def system_parameters() -> list[object]:
    chosen = [system for system in peers.SYSTEMS if system.name != "numpy"]
    return [
        pytest.param(
            system, id=system.name, marks=[pytest.mark.slow] if system.name in SLOW else []
        )
        for system in chosen
    ]


@pytest.mark.parametrize("system", system_parameters())
def test_every_workload_matches_numpy(system: peers.System) -> None:
    missing = system.missing()
    if missing is not None:
        pytest.skip(missing)
    numpy_system = peers.SYSTEMS[0]
    loaded = [
        suite.Loaded(numpy_system, numpy_system.builders()),
        suite.Loaded(system, system.builders()),
    ]
    for workload in workloads(TINY):
        _, row = suite.measure_workload(workload, loaded, 1, TINY_SETTINGS, skip={})
        assert row.status in ("ok", "n/a"), (workload.name, row.status, row.reason)
        assert (row.status == "n/a") == (workload.name not in loaded[1].builders)


def test_choose_always_keeps_numpy_and_jitgraph() -> None:
    assert [system.name for system in peers.choose("")] == ["numpy", "jitgraph"]
    assert [system.name for system in peers.choose("jax, numba")] == [
        "numpy", "jitgraph", "numba", "jax"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown system 'cuda'"):
        peers.choose("cuda")
