"""The ``jitgraph`` command line (also ``python -m jitgraph``). Commands:

    jitgraph demo [--mode MODE] [--repeat N]   tutorial programs: results and timings
    jitgraph info                              versions, platform and configuration flags
    jitgraph cache info                        the compiled-code cache: where, how big, trusted
    jitgraph cache clear                       remove every cache entry
    jitgraph cache why DIGEST                  check the entry of a key digest (or its prefix)

``main(argv)`` is the console script's entry point and returns the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import platform
import sys
import time
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


def _format_bytes(count: int) -> str:
    """'3.4 MiB (3567890 bytes)'."""
    size, unit = float(count), "bytes"
    for larger in ("KiB", "MiB", "GiB", "TiB"):
        if size < 1024:
            break
        size, unit = size / 1024, larger
    return f"{count} bytes" if unit == "bytes" else f"{size:.1f} {unit} ({count} bytes)"


def command_cache_info(arguments: argparse.Namespace) -> int:
    """Print the cache's location, entry count, total size, size cap and trust state."""
    from jitgraph.cache import get_cache

    info = get_cache().info()
    cap = info["size_cap"]
    trusted = "yes" if info["trusted"] else f"no: {info['trust_problem']}"
    if not info["exists"]:
        trusted += " (the directory does not exist yet: it is created 0700 on first store)"
    rows = {
        "location": str(info["directory"]),
        "enabled": "yes" if info["enabled"] else "no (config.cache is False)",
        "trusted": trusted,
        "entries": str(info["entries"]),
        "total size": _format_bytes(info["total_bytes"]),
        "size cap": _format_bytes(cap) if cap else "none (config.cache_size_cap = 0)",
    }
    for name, value in rows.items():
        print(f"{name:<10}  {value}")
    return 0


def command_cache_clear(arguments: argparse.Namespace) -> int:
    """Remove every entry of the cache."""
    from jitgraph.cache import get_cache

    cache = get_cache()
    removed = cache.clear()
    print(f"removed {removed} entr{'y' if removed == 1 else 'ies'} from {cache.directory}")
    return 0


def command_cache_why(arguments: argparse.Namespace) -> int:
    """Say whether the entries whose digest starts with DIGEST would be loaded, and why not."""
    from jitgraph.cache import INGREDIENT_LABELS, get_cache

    cache = get_cache()
    prefix = arguments.digest.strip().lower()
    matching = [entry for entry in cache.entries() if entry.digest.startswith(prefix)]
    if not prefix or not matching:
        print(f"no entry whose key digest starts with {prefix!r} in {cache.directory}")
        return 1
    for entry in matching:
        report = cache.inspect(entry)
        used = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.last_used))
        print(f"entry {entry.digest}\n  file       {entry.path}")
        print(f"  size       {_format_bytes(entry.size)}, last used {used}")
        state = report.problem or "valid: a lookup of its key loads it"
        print(f"  state      {state}")
        for name, value in (report.ingredients or {}).items():
            print(f"  {INGREDIENT_LABELS.get(name, name)}: {value}")
    return 0


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
    _add_cache_commands(commands)
    return parser


def _add_cache_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cache = commands.add_parser("cache", help="inspect or clear the compiled-code cache")
    actions = cache.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="location, entries, total size, size cap, trust")
    info.set_defaults(handler=command_cache_info)
    clear = actions.add_parser("clear", help="remove every entry")
    clear.set_defaults(handler=command_cache_clear)
    why = actions.add_parser("why", help="check the entry of a key digest: would it be loaded?")
    why.add_argument("digest", help="a key digest (hex), or its first characters")
    why.set_defaults(handler=command_cache_why)


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
