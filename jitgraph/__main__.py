"""The ``jitgraph`` command line (also ``python -m jitgraph``). Commands:

    jitgraph demo [--mode MODE] [--repeat N]   tutorial programs: results and timings
    jitgraph info                              versions, platform and configuration flags

``main(argv)`` is the console script's entry point and returns the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import platform
import sys
from collections.abc import Sequence

from jitgraph.config import MODE_ALIASES, MODES, config


def _version_of(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _jitgraph_version() -> str:
    installed = _version_of("jitgraph")
    if installed != "not installed":
        return installed
    package = importlib.import_module("jitgraph")
    return str(getattr(package, "__version__", "unknown (not installed)"))


def command_info(arguments: argparse.Namespace) -> int:
    """Print versions, platform and the configuration flags."""
    versions = {
        "jitgraph": _jitgraph_version(),
        "numpy": _version_of("numpy"),
        "scipy": _version_of("scipy"),
        "llvmlite": _version_of("llvmlite"),
        "cupy": _version_of("cupy-cuda12x"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
    width = max(len(name) for name in versions)
    for name, version in versions.items():
        print(f"{name:<{width}}  {version}")
    print("\nconfiguration flags (set with JITGRAPH_FLAGS='name=value,...'):")
    for line in str(config).splitlines():
        print(f"  {line}")
    return 0


def command_demo(arguments: argparse.Namespace) -> int:
    """Run the tutorial programs (imported here: it needs the whole compiler)."""
    from jitgraph.demo import run_demo

    with config.change_flags(mode=arguments.mode or config.mode):
        return run_demo(repeat=arguments.repeat)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jitgraph", description="jitgraph: a Theano-compatible array compiler."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="run tutorial programs, print results and timings")
    demo.add_argument(
        "--mode",
        choices=[*MODES, *MODE_ALIASES],
        default=None,
        help="compile mode (default: the mode flag, FAST_RUN unless set in JITGRAPH_FLAGS)",
    )
    demo.add_argument("--repeat", type=int, default=100, help="calls timed per program")
    demo.set_defaults(handler=command_demo)
    info = commands.add_parser("info", help="print versions, platform and configuration flags")
    info.set_defaults(handler=command_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jitgraph`` console script; returns the exit status."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        parser.print_help()
        return 2
    try:
        status: int = arguments.handler(arguments)
    except BrokenPipeError:  # e.g. `jitgraph info | head`: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
