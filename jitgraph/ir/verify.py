"""The IR verifier: checks the invariants every graph must keep.

Passes and front ends build graphs only through ``op.make_node`` and ``Graph``, so a
graph that fails here points at a bug in whoever built it. ``verify`` checks:

- inputs: no duplicates; an input with an owner is a blocker (its node is not in the graph);
- topological order: every node input is a graph input, a constant, or produced earlier;
- outputs of each node: ``owner`` is the node and ``index`` its position; no variable is
  produced twice;
- types: re-running ``op.make_node`` on the node's inputs gives equal output types (types
  are derived from the inputs, never stale);
- constants: the data is read-only and has the constant's dtype and static shape;
- graph outputs: each is an input, a constant, or produced by one of the graph's nodes.

>>> import jitgraph.tensor as T
>>> from jitgraph.ir.graph import Graph
>>> x = T.dvector("x")
>>> verify(Graph([x], [T.exp(x) * 2]))
"""

from __future__ import annotations

from jitgraph.ir.graph import Const, Graph, Node, Var, unshared_nodes
from jitgraph.ir.types import TensorType, Type


class VerifyError(AssertionError):
    """A graph breaks an IR invariant (a bug in the code that built it)."""


def verify(graph: Graph) -> None:
    """Raise ``VerifyError`` naming the first broken invariant of ``graph``."""
    available = _check_inputs(graph)
    for position, node in enumerate(graph.nodes):
        _check_node_inputs(graph, position, node, available)
        _check_node_outputs(position, node, available)
        _check_output_types(position, node)
    for position, out in enumerate(graph.outputs):
        if id(out) not in available and not isinstance(out, Const):
            raise VerifyError(
                f"graph output {position} ({out!r}) is not reachable: it is neither a graph "
                "input, a constant, nor produced by one of the graph's nodes"
            )
        if isinstance(out, Const):
            _check_constant(out)


def _check_inputs(graph: Graph) -> dict[int, str]:
    """The graph inputs, as ``id(var) -> where it comes from``."""
    available: dict[int, str] = {}
    node_ids = {id(node) for node in graph.nodes}
    for position, var in enumerate(graph.inputs):
        if not isinstance(var, Var):
            raise VerifyError(f"graph input {position} is {type(var).__name__}, not a Var")
        if id(var) in available:
            raise VerifyError(f"graph input {position} ({var!r}) appears twice among the inputs")
        if var.owner is not None and id(var.owner) in node_ids:
            raise VerifyError(
                f"graph input {position} ({var!r}) is also produced by the graph's node "
                f"{var.owner.op}: an input with an owner must be a blocker (its node "
                "outside the graph)"
            )
        if isinstance(var, Const):
            _check_constant(var)
        available[id(var)] = f"graph input {position}"
    return available


def _check_node_inputs(graph: Graph, position: int, node: Node, available: dict[int, str]) -> None:
    for i, var in enumerate(node.inputs):
        if not isinstance(var, Var):
            raise VerifyError(
                f"node {position} ({node.op}): input {i} is {type(var).__name__}, not a Var"
            )
        if id(var) in available:
            continue
        if isinstance(var, Const):
            _check_constant(var)
            continue
        later = _producer_position(graph, var, start=position)
        if later is not None:
            raise VerifyError(
                f"nodes are not in topological order: node {position} ({node.op}) uses "
                f"{var!r} (input {i}), which node {later} produces later"
            )
        raise VerifyError(
            f"node {position} ({node.op}): input {i} ({var!r}) is neither a graph input, a "
            "constant, nor produced by an earlier node"
        )


def _producer_position(graph: Graph, var: Var, start: int) -> int | None:
    """The position of the node at or after ``start`` that produces ``var``, if any."""
    for position in range(start, len(graph.nodes)):
        if any(out is var for out in graph.nodes[position].outputs):
            return position
    return None


def _check_node_outputs(position: int, node: Node, available: dict[int, str]) -> None:
    for j, out in enumerate(node.outputs):
        if out.owner is not node:
            owner = "no node" if out.owner is None else f"another node ({out.owner.op})"
            raise VerifyError(
                f"node {position} ({node.op}): output {j} ({out!r}) has owner {owner}, "
                "not this node"
            )
        if out.index != j:
            raise VerifyError(
                f"node {position} ({node.op}): output {j} ({out!r}) has index {out.index}, "
                f"expected {j}"
            )
        if id(out) in available:
            raise VerifyError(
                f"node {position} ({node.op}): output {j} ({out!r}) is produced twice "
                f"(already {available[id(out)]})"
            )
        available[id(out)] = f"output {j} of node {position} ({node.op})"


def _check_output_types(position: int, node: Node) -> None:
    """Type inference, re-run on the node's inputs, must give the recorded types."""
    try:
        with unshared_nodes():
            fresh = node.op.make_node(*node.inputs)
    except Exception as exc:  # noqa: BLE001 - any failure is the finding
        raise VerifyError(
            f"node {position} ({node.op}): make_node rejects the node's own inputs: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    recorded: list[Type] = [out.type for out in node.outputs]
    derived: list[Type] = [out.type for out in fresh.outputs]
    if recorded != derived:
        raise VerifyError(
            f"node {position} ({node.op}): output types {recorded} are stale; make_node on "
            f"its inputs gives {derived}"
        )


def _check_constant(const: Const) -> None:
    ttype = const.type
    data = const.data
    if not isinstance(ttype, TensorType):
        return
    shape_fits = data.ndim == ttype.ndim and all(
        want is None or want == got for want, got in zip(ttype.shape, data.shape, strict=True)
    )
    if data.dtype != ttype.numpy_dtype or not shape_fits:
        raise VerifyError(
            f"constant {const!r} holds data of dtype {data.dtype} and shape {data.shape}, "
            f"but its type is {ttype} (static shape {ttype.shape})"
        )
    if data.flags.writeable:
        raise VerifyError(f"constant {const!r} holds writeable data (constants are read-only)")
