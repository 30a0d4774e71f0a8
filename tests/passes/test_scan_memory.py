"""The scan_memory pass: ``result[-1]`` of a loop keeps only the rows its taps need."""

from __future__ import annotations

import numpy as np
import pytest

import jitgraph
import jitgraph.tensor as T
from jitgraph.ir.graph import Graph
from jitgraph.ops.scan import KEEP_ALL, KEEP_LAST_STEP, Scan
from jitgraph.passes.scan import save_memory


def _scan_nodes(graph: Graph) -> list[Scan]:
    return [node.op for node in graph.nodes if isinstance(node.op, Scan)]


def _power(k: T.TensorVariable, a: T.TensorVariable) -> T.TensorVariable:
    result, _ = jitgraph.scan(
        lambda prior, b: prior * b, outputs_info=T.ones_like(a), non_sequences=a, n_steps=k
    )
    return result


def test_last_row_only_keeps_the_last_value() -> None:
    k, a = T.iscalar("k"), T.dvector("a")
    graph = save_memory(Graph([a, k], [_power(k, a)[-1]]))
    (op,) = _scan_nodes(graph)
    assert op.keep_last == (KEEP_LAST_STEP,)
    # the scan's output is now the graph's output itself: no indexing is left
    assert graph.outputs[0].owner is not None and isinstance(graph.outputs[0].owner.op, Scan)


@pytest.mark.parametrize(
    "reads",
    [
        lambda r: [r[-1], r.sum()],  # the whole result is read too
        lambda r: [r[-2]],  # another row
        lambda r: [r],  # returned as it is
        lambda r: [r[-1:]],  # a slice
    ],
)
def test_other_reads_keep_every_row(reads) -> None:  # type: ignore[no-untyped-def]
    k, a = T.iscalar("k"), T.dvector("a")
    graph = save_memory(Graph([a, k], reads(_power(k, a))))
    (op,) = _scan_nodes(graph)
    assert op.keep_last == (KEEP_ALL,)


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_values_and_the_empty_loop_error_are_kept(mode: str) -> None:
    k, a = T.iscalar("k"), T.dvector("a")
    f = jitgraph.function([a, k], _power(k, a)[-1], mode=mode)
    np.testing.assert_array_equal(f(np.arange(5.0), 3), np.arange(5.0) ** 3)
    with pytest.raises(IndexError, match="0 steps|out of bounds"):
        f(np.arange(5.0), 0)


def test_mit_sot_last_value_uses_a_ring_of_its_taps() -> None:
    x0 = T.dvector("x0")
    n = T.iscalar("n")
    fib, _ = jitgraph.scan(
        lambda a, b: a + b, outputs_info=[dict(initial=x0, taps=[-2, -1])], n_steps=n
    )
    f = jitgraph.function([x0, n], fib[-1])
    assert [op.keep_last for op in _scan_nodes(f.maker.fgraph)] == [(KEEP_LAST_STEP,)]
    values = [1.0, 1.0]
    for _ in range(30):
        values.append(values[-2] + values[-1])
    assert f(np.array([1.0, 1.0]), 30) == values[-1]
    assert f(np.array([1.0, 1.0]), 1) == 2.0
