"""The optimizer pipeline: one ordered list of passes, read top to bottom.

Each pass is a pure ``Graph -> Graph`` function. ``optimize(graph, mode)`` runs the passes
the mode includes and records, for each, whether it changed the graph and how long it took.
``JITGRAPH_FLAGS=dump=<pass>`` prints the graph before and after that pass (to stderr);
``check_passes=True`` runs the IR verifier after every pass (the test suite sets it).

Dead code never exists here: a Graph holds only what its outputs need. Merging (CSE) of
equal nodes is done by hash-consing at construction; the ``merge`` pass adds the constants
too large to be interned.

>>> import jitgraph.tensor as T
>>> from jitgraph.ir.graph import Graph
>>> x = T.dvector("x")
>>> result = optimize(Graph([x], [x * 1]), "FAST_RUN")
>>> result.graph.outputs[0] is x
True
"""

from __future__ import annotations

import dataclasses
import gc
import sys
import time
from collections.abc import Callable

from jitgraph.config import config
from jitgraph.ir.graph import Graph
from jitgraph.ir.verify import verify


@dataclasses.dataclass(frozen=True)
class Pass:
    name: str
    run: Callable[[Graph], Graph]
    modes: frozenset[str]


@dataclasses.dataclass(frozen=True)
class PassRecord:
    name: str
    changed: bool
    seconds: float
    nodes_after: int


@dataclasses.dataclass(frozen=True)
class Optimized:
    graph: Graph
    records: tuple[PassRecord, ...]

    def as_text(self) -> str:
        lines = [f"{'pass':<14} {'changed':>7} {'ms':>8} {'nodes':>6}"]
        for r in self.records:
            lines.append(
                f"{r.name:<14} {str(r.changed):>7} {r.seconds * 1e3:8.2f} {r.nodes_after:>6}"
            )
        return "\n".join(lines)


def _merge(graph: Graph) -> Graph:
    from jitgraph.passes.merge import merge

    return merge(graph)


def _fold(graph: Graph) -> Graph:
    from jitgraph.passes.fold import fold

    return fold(graph)


def _canonicalize(graph: Graph) -> Graph:
    from jitgraph.passes.canonicalize import canonicalize

    return canonicalize(graph)


def _stabilize(graph: Graph) -> Graph:
    from jitgraph.passes.stabilize import stabilize

    return stabilize(graph)


def _scan_memory(graph: Graph) -> Graph:
    from jitgraph.passes.scan import optimize_loops

    return optimize_loops(graph)


def _ifelse_share(graph: Graph) -> Graph:
    from jitgraph.passes.ifelse import share_computed

    return share_computed(graph)


def _use_blas(graph: Graph) -> Graph:
    from jitgraph.passes.blas import use_blas

    return use_blas(graph)


def _fuse(graph: Graph) -> Graph:
    from jitgraph.passes.fuse import fuse

    return fuse(graph)


_ALL = frozenset({"FAST_RUN"})
_FAST = frozenset({"FAST_RUN", "FAST_COMPILE"})

PIPELINE: list[Pass] = [
    Pass("merge", _merge, _FAST),  # equal large constants become one (small ones are interned)
    Pass("fold", _fold, _FAST),  # constants and statically known shapes computed now
    Pass("canonicalize", _canonicalize, _ALL),  # one spelling per expression
    Pass("stabilize", _stabilize, _ALL),  # numerically stable forms (log1p, softplus, ...)
    Pass("fold_again", _fold, _ALL),  # what canonical and stable forms exposed
    # loops compute only the outputs read; result[-1] of a loop keeps only its last rows
    Pass("scan", _scan_memory, _ALL),
    Pass("ifelse_share", _ifelse_share, _ALL),  # branches read what is computed anyway
    Pass("use_blas", _use_blas, _ALL),  # alpha*dot(x, y) + beta*z as one Gemm/Gemv/Ger
    Pass("fuse", _fuse, _FAST),  # elementwise chains and their reductions into kernels
]


def optimize(graph: Graph, mode: str) -> Optimized:
    """Run the passes of ``mode`` ('FAST_RUN', 'FAST_COMPILE' or 'REFERENCE') over ``graph``."""
    # The passes allocate many small objects that live until the end of the optimization;
    # the cyclic garbage collector would rescan them over and over (time per node growing
    # with graph size). Nothing here creates garbage cycles worth collecting early.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run_pipeline(graph, mode)
    finally:
        if enabled:
            gc.enable()


def _run_pipeline(graph: Graph, mode: str) -> Optimized:
    records: list[PassRecord] = []
    for step in PIPELINE:
        if mode not in step.modes:
            continue
        dump = config.dump == step.name
        if dump:
            print(f"=== before {step.name}\n{graph.as_text()}", file=sys.stderr)
        start = time.perf_counter()
        new = step.run(graph)
        seconds = time.perf_counter() - start
        if config.check_passes:
            verify(new)
        if dump:
            print(f"=== after {step.name}\n{new.as_text()}", file=sys.stderr)
        records.append(PassRecord(step.name, new is not graph, seconds, len(new.nodes)))
        graph = new
    return Optimized(graph, tuple(records))
