"""The jitgraph benchmark suite: ``python -m benchmarks [name] [options]`` (see README.md).

Each benchmark is a module of this package with a ``main(argv) -> int``; ``BENCHMARKS``
maps the names the runner accepts to those modules (imported only when run). ``suite``,
the comparison with NumPy and the peers, is the default. Benchmarks are never run by the
test suite, and their numbers are comparable only within one run (one machine, one load).

>>> [name for name in sorted(BENCHMARKS) if name != "accuracy"]
['optimizer_scaling', 'suite']
"""

from __future__ import annotations

from pathlib import Path

DEFAULT = "suite"
BENCHMARKS: dict[str, str] = {
    "suite": "benchmarks.suite",
    "optimizer_scaling": "benchmarks.optimizer_scaling",
}
# The math library's accuracy table lives in its own module when that module exists.
if Path(__file__).with_name("accuracy.py").exists():
    BENCHMARKS["accuracy"] = "benchmarks.accuracy"
