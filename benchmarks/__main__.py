"""``python -m benchmarks [name] [options]`` (or ``jitgraph bench [name] [options]``): run one
benchmark by name; without a name (or when the first argument is an option) the suite runs.

>>> main(["--help"])  # doctest: +ELLIPSIS
usage: python -m benchmarks [name] [options]   (or: jitgraph bench [name] [options])
...
0
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from benchmarks import BENCHMARKS as REGISTERED
from benchmarks import DEFAULT

# The scan benchmarks (issue 6): registered here, beside the package's own table.
BENCHMARKS: dict[str, str] = {
    **REGISTERED,
    "scan": "benchmarks.scan",
    "random": "benchmarks.random",  # issue 7: uniform draws against numpy.random
    "numpy": "benchmarks.numpy_scripts",  # issue 8: NumPy scripts on jitgraph.numpy, @jit
    "gpu": "benchmarks.gpu",  # issue 10: the CUDA backend against CuPy, cupy.fuse, JAX
}


def usage() -> str:
    names = "\n".join(f"  {name}" for name in sorted(BENCHMARKS))
    return (
        "usage: python -m benchmarks [name] [options]   (or: jitgraph bench [name] [options])\n"
        f"benchmarks (default: {DEFAULT}):\n{names}\n"
        "`python -m benchmarks <name> --help` lists a benchmark's options"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to ``benchmarks.<name>.main(options)``; 2 for an unknown name."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(usage())
        return 0
    if not args or args[0].startswith("-"):
        args = [DEFAULT, *args]
    name, options = args[0], args[1:]
    if name not in BENCHMARKS:
        print(f"unknown benchmark {name!r}\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(BENCHMARKS[name])
    result: int = module.main(options)
    return result


if __name__ == "__main__":
    sys.exit(main())
