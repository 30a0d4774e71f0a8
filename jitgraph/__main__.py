"""The ``jitgraph`` command line (also ``python -m jitgraph``). Commands:

    jitgraph demo [--mode MODE] [--repeat N]   tutorial programs: results and timings
    jitgraph bench [NAME] [--quick] [...]      the benchmarks (``python -m benchmarks``)
    jitgraph info                              versions, backends, cache, configuration flags
    jitgraph cache info                        the compiled-code cache: where, how big, trusted
    jitgraph cache clear                       remove every cache entry
    jitgraph cache why DIGEST                  check the entry of a key digest (or its prefix)

``main(argv)`` is the console script's entry point and returns the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
import textwrap
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


# Optional libraries `jitgraph info` reports: the benchmark peers and CuPy (distribution names).
OPTIONAL = {"numexpr": "numexpr", "numba": "numba", "pytensor": "pytensor", "jax": "jax",
            "jaxlib": "jaxlib", "cupy": "cupy-cuda12x"}  # fmt: skip


def _print_rows(rows: dict[str, str]) -> None:
    """``  name  value`` lines, long values wrapped at 100 columns under the value column."""
    width = max(len(name) for name in rows)
    for name, value in rows.items():
        start = f"  {name:<{width}}  "
        indent = " " * len(start)
        print(textwrap.fill(value, 100, initial_indent=start, subsequent_indent=indent,
                            break_long_words=False, break_on_hyphens=False))  # fmt: skip


def version_rows() -> dict[str, str]:
    """jitgraph, Python, the dependencies (llvmlite with its LLVM) and the optional peers."""
    import llvmlite.binding as llvm

    llvm_version = ".".join(map(str, llvm.llvm_version_info))
    rows = {
        "jitgraph": _jitgraph_version(),
        "python": f"{platform.python_version()} ({platform.platform()})",
        "numpy": _version_of("numpy"),
        "scipy": _version_of("scipy"),
        "llvmlite": f"{_version_of('llvmlite')} (LLVM {llvm_version})",
    }
    rows |= {name: _version_of(distribution) for name, distribution in OPTIONAL.items()}
    if rows["cupy"] == "not installed":  # another CuPy wheel (cupy-cuda11x, cupy, ...)
        rows["cupy"] = _module_version("cupy")
    return rows


def _module_version(module: str) -> str:
    if importlib.util.find_spec(module) is None:
        return "not installed"
    return str(getattr(importlib.import_module(module), "__version__", "unknown"))


def llvm_rows() -> dict[str, str]:
    """The LLVM backend's target: what its machine code is compiled for."""
    import llvmlite.binding as llvm

    from jitgraph.backends.llvm.target import host_features, host_target_machine

    host_target_machine()  # initializes LLVM's native target
    enabled = [feature[1:] for feature in host_features().split(",") if feature[:1] == "+"]
    return {
        "status": "available",
        "triple": llvm.get_process_triple(),
        "cpu": llvm.get_host_cpu_name(),
        "features": " ".join(enabled),
    }


def cuda_status() -> str:
    """'available: <device>' or 'not available: <why>' (CuPy missing, failing, no GPU)."""
    from jitgraph.backends.cuda import cuda_status as problem_of_cuda

    problem = problem_of_cuda()
    if problem is not None:
        return f"not available: {problem}"
    cupy = importlib.import_module("cupy")
    count = int(cupy.cuda.runtime.getDeviceCount())
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    name = name.decode() if isinstance(name, bytes) else str(name)
    return f"CuPy finds {count} device(s): {name}"


def cache_rows() -> dict[str, str]:
    from jitgraph.cache import get_cache

    info = get_cache().info()
    trusted = "yes" if info["trusted"] else f"no: {info['trust_problem']}"
    return {
        "location": str(info["directory"]) + ("" if info["exists"] else " (not created yet)"),
        "size": f"{_format_bytes(info['total_bytes'])} in {info['entries']} entries",
        "enabled": "yes" if info["enabled"] else "no (config.cache is False)",
        "trusted": trusted,
    }


def command_info(arguments: argparse.Namespace) -> int:
    """Print versions, the backends (LLVM target, CUDA), the cache and the configuration
    flags; a section that fails says why in its place."""
    sections = [
        ("versions", version_rows),
        ("LLVM backend (CPU)", llvm_rows),
        ("CUDA backend", lambda: {"status": cuda_status()}),
        ("cache (`jitgraph cache info` for more)", cache_rows),
    ]
    for title, rows in sections:
        print(f"{title}:")
        try:
            _print_rows(rows())
        except Exception as error:
            print(f"  unavailable: {type(error).__name__}: {error}")
        print()
    print("configuration flags (set with JITGRAPH_FLAGS='name=value,...'):")
    for line in str(config).splitlines():
        print(f"  {line}")
    return 0


def command_bench(argv: Sequence[str]) -> int:
    """``jitgraph bench ...``: ``python -m benchmarks ...`` (the package is installed with
    jitgraph; it is missing only from an install that left it out)."""
    try:
        runner = importlib.import_module("benchmarks.__main__")
    except ImportError as error:
        print(
            f"jitgraph bench: the benchmarks package cannot be imported ({error}); "
            "install jitgraph from its repository (pip install -e .)",
            file=sys.stderr,
        )
        return 2
    status: int = runner.main(list(argv))
    return status


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
    commands.add_parser(
        "bench", help="run the benchmarks (`jitgraph bench --help`; also python -m benchmarks)"
    )
    info = commands.add_parser(
        "info", help="print versions, backends (LLVM, CUDA), the cache and configuration flags"
    )
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
    arguments_given = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    bench = arguments_given[:1] == ["bench"]  # its own parser: options pass through unparsed
    arguments = None if bench else parser.parse_args(arguments_given)
    if arguments is not None and arguments.command is None:
        parser.print_help()
        return 2
    try:
        if arguments is None:
            return command_bench(arguments_given[1:])
        status: int = arguments.handler(arguments)
    except BrokenPipeError:  # e.g. `jitgraph info | head`: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
