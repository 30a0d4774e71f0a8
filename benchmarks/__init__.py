"""The jitgraph benchmark suite: ``python -m benchmarks <name> [options]`` (see README.md).

Each benchmark is a module of this package with a ``main(argv) -> int``; ``BENCHMARKS``
maps the names the runner accepts to those modules. Benchmarks are never run by the test
suite, and their numbers are comparable only within one run (one machine, one load).

>>> sorted(BENCHMARKS)
['optimizer_scaling']
"""

from __future__ import annotations

BENCHMARKS: dict[str, str] = {
    "optimizer_scaling": "benchmarks.optimizer_scaling",
}
