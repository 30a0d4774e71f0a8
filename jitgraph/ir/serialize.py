"""Graphs to bytes and back: ``dumps_graph`` and ``loads_graph``.

``@jit`` stores a traced and optimized program on disk so that a new process skips
tracing and optimization (the machine code compiled from the graph goes through
``jitgraph.cache``, keyed by the graph's hash). The round trip is exact:
``loads_graph(dumps_graph(g)).hash == g.hash``, with the same inputs and outputs in the
same order, the same types, constants (by content), variable names and the user's
'file:line' where each variable was created.

The format
----------
``MAGIC``, a 4-byte header length, a JSON header (jitgraph version, schema number, the
graph's structural hash, the SHA-256 of the body) and the body: a pickle of *plain data
only* (tuples, lists, dicts, str, bytes, numbers). The body never names a class or a
function for pickle to import: loading refuses every pickle global, so bytes cannot run
code. Ops are encoded by this module as records (a dict with a ``"k"`` kind tag):

- a dataclass op (or a dataclass of jitgraph, such as a fused ``Kernel``): its class
  ('module:qualname', under ``jitgraph`` only) and its fields, rebuilt through the
  constructor (so its validation runs again);
- an entry of an op table (``ScalarOp``, ``ReduceKind``): its name, looked up in
  ``SCALAR_OPS`` / ``REDUCTIONS`` on load;
- an ``InnerGraph`` (scan's step, ifelse's branches): the nested graph, encoded the same way;
- a module-level function of jitgraph (``Print``'s default hook): by name.

Anything else (a lambda, a user's object, an entry not in its table) raises
``SerializeError`` naming the op. Every op is decoded again while it is encoded and must
come back with the same class and signature, so bytes that load to a different graph are
never produced; loading checks the structural hash once more.

Not kept: ``Var.tag`` (annotations, such as a random variable's rng) and the identity of
shared variables, which load as plain inputs of the same type and name (their values are
state, not structure). A graph is rebuilt with hash-consing, like one built by hand.

>>> import jitgraph.tensor as T
>>> x = T.dvector("x")
>>> g = Graph([x], [T.exp(x) * 2])
>>> h = loads_graph(dumps_graph(g))
>>> h.hash == g.hash, h.inputs[0].name
(True, 'x')
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import io
import json
import pickle
import struct
import types
from typing import Any

import numpy as np

from jitgraph.ir.graph import Const, Graph, Node, Var, make_constant
from jitgraph.ir.types import TensorType

__all__ = ["SCHEMA_VERSION", "SerializeError", "dumps_graph", "loads_graph"]

MAGIC = b"JITGRAPH-GRAPH\n"
# Bump when the body's layout or a record's meaning changes.
SCHEMA_VERSION = 1
_PROTOCOL = 5


class SerializeError(ValueError):
    """A graph that cannot be written (names the op), or bytes that cannot be read back
    (corrupted, truncated, or written by another jitgraph version or schema)."""


# ----------------------------------------------------------------------------- dumping
def dumps_graph(graph: Graph) -> bytes:
    """``graph`` as bytes that ``loads_graph`` turns back into an equal graph."""
    if not isinstance(graph, Graph):
        raise TypeError(f"dumps_graph() takes a Graph, got {type(graph).__name__}")
    body = pickle.dumps(_Encoder().graph(graph), protocol=_PROTOCOL)
    header = {
        "jitgraph": _jitgraph_version(),
        "schema": SCHEMA_VERSION,
        "hash": graph.hash,
        "body_sha256": hashlib.sha256(body).hexdigest(),
    }
    head = json.dumps(header, sort_keys=True).encode()
    return MAGIC + struct.pack("<I", len(head)) + head + body


class _Encoder:
    """Turns a graph into plain data; ``ops`` caches each op's record by identity."""

    def __init__(self) -> None:
        self._records: dict[int, tuple[Any, Any]] = {}  # id(op) -> (op, record)

    def graph(self, graph: Graph) -> tuple[Any, ...]:
        """(roots, nodes, ops, inputs, outputs): roots are the inputs then the constants,
        numbered first; each node's outputs are numbered after them, in node order."""
        number: dict[int, int] = {}
        roots: list[tuple[Any, ...]] = []

        def root(var: Var) -> int:
            if id(var) not in number:
                number[id(var)] = len(roots)
                roots.append(_root_record(var))
            return number[id(var)]

        for var in graph.inputs:
            root(var)
        for node in graph.nodes:
            for var in node.inputs:
                if isinstance(var, Const):
                    root(var)
        for var in graph.outputs:
            if isinstance(var, Const):
                root(var)
        count = len(roots)
        ops: list[Any] = []
        op_index: dict[int, int] = {}
        nodes: list[tuple[Any, ...]] = []
        for node in graph.nodes:
            if id(node.op) not in op_index:
                op_index[id(node.op)] = len(ops)
                ops.append(self.op(node.op))
            refs = tuple(number[id(v)] for v in node.inputs)
            outs = []
            for out in node.outputs:
                number[id(out)] = count
                count += 1
                outs.append((*_type_record(out), out.name, out.created_at))
            nodes.append((op_index[id(node.op)], refs, tuple(outs)))
        inputs = tuple(number[id(v)] for v in graph.inputs)
        outputs = tuple(number[id(v)] for v in graph.outputs)
        return (tuple(roots), tuple(nodes), tuple(ops), inputs, outputs)

    def op(self, op: Any) -> Any:
        """The record of ``op``, checked: decoding it gives an op of the same class and
        signature (its identity, every parameter included)."""
        cached = self._records.get(id(op))
        if cached is not None:
            return cached[1]
        try:
            record = self.value(op)
            again = _decode_value(record)
        except SerializeError as exc:
            raise SerializeError(f"cannot serialize the op {_label(op)}: {exc}") from None
        except Exception as exc:  # a constructor refusing its own parameters
            raise SerializeError(
                f"cannot serialize the op {_label(op)}: rebuilding it failed "
                f"({type(exc).__name__}: {exc})"
            ) from None
        if type(again) is not type(op) or again.signature() != op.signature():
            raise SerializeError(
                f"cannot serialize the op {_label(op)}: rebuilt from its fields it is "
                f"{_label(again)} (its state is not all in its dataclass fields)"
            )
        self._records[id(op)] = (op, record)
        return record

    def value(self, value: Any) -> Any:
        """A parameter as plain data: literals as they are, everything else a record."""
        kind = type(value)
        if value is None or kind in (bool, int, float, str, bytes):
            return value
        if kind is tuple:
            return tuple(self.value(v) for v in value)
        if kind is complex:
            return {"k": "complex", "a": [value.real, value.imag]}
        if kind is slice:
            return {"k": "slice", "a": [self.value(value.start), self.value(value.stop),
                                        self.value(value.step)]}  # fmt: skip
        if kind is frozenset:
            return {"k": "frozenset", "a": [self.value(v) for v in value]}
        if kind is TensorType:
            return {"k": "type", "a": list(_type_record_of(value))}
        from jitgraph.ops.control import InnerGraph
        from jitgraph.ops.reduce import REDUCTIONS, ReduceKind
        from jitgraph.ops.scalar import SCALAR_OPS, ScalarOp

        if kind is ScalarOp:
            return {"k": "scalar", "n": _table_name(value, SCALAR_OPS, "SCALAR_OPS")}
        if kind is ReduceKind:
            return {"k": "reduction", "n": _table_name(value, REDUCTIONS, "REDUCTIONS")}
        if kind is InnerGraph:
            return {"k": "graph", "g": self.graph(value.graph)}
        if isinstance(value, np.generic) and not value.dtype.hasobject:
            return {"k": "numpy", "d": value.dtype.str, "b": value.tobytes()}
        if isinstance(value, np.dtype) and not value.hasobject:
            return {"k": "dtype", "d": value.str}
        if isinstance(value, tuple) and hasattr(kind, "_fields"):  # a NamedTuple of ours
            return {"k": "namedtuple", "c": _class_path(kind), "a": [self.value(v) for v in value]}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self.dataclass(value)
        if isinstance(value, types.FunctionType):
            return {"k": "function", "c": _function_path(value)}
        raise SerializeError(f"it holds {_describe(value)}, which has no serialized form")

    def dataclass(self, value: Any) -> dict[str, Any]:
        cls = type(value)
        fields = dataclasses.fields(value)
        names = {f.name for f in fields}
        for f in fields:
            if not f.init:
                raise SerializeError(f"{cls.__qualname__}.{f.name} is not a constructor argument")
        extra = [
            k
            for k in getattr(value, "__dict__", {})
            if k not in names and not isinstance(getattr(cls, k, None), functools.cached_property)
        ]
        if extra:
            raise SerializeError(
                f"{cls.__qualname__} keeps state outside its fields ({', '.join(sorted(extra))})"
            )
        return {
            "k": "dataclass",
            "c": _class_path(cls),
            "a": {f.name: self.value(getattr(value, f.name)) for f in fields},
        }


def _root_record(var: Var) -> tuple[Any, ...]:
    if isinstance(var, Const):
        data = np.asarray(var.data)
        if data.dtype.hasobject or data.dtype.fields is not None:
            raise SerializeError(f"cannot serialize {var.describe()}: dtype {data.dtype}")
        raw = np.ascontiguousarray(data).tobytes()
        return ("c", *_type_record(var), var.name, data.dtype.str, data.shape, raw)
    return ("i", *_type_record(var), var.name, var.created_at)


def _type_record(var: Var) -> tuple[str, tuple[int | None, ...]]:
    if type(var.type) is not TensorType:
        raise SerializeError(
            f"cannot serialize {var.describe()}: its type {var.type} is not a tensor"
        )
    return _type_record_of(var.type)


def _type_record_of(ttype: TensorType) -> tuple[str, tuple[int | None, ...]]:
    return (ttype.dtype, ttype.shape)


def _table_name(entry: Any, table: dict[str, Any], table_name: str) -> str:
    name = str(entry.name)
    if table.get(name) is not entry:
        raise SerializeError(f"its entry {name!r} is not the one registered in {table_name}")
    return name


def _class_path(cls: type) -> str:
    module, qualname = cls.__module__, cls.__qualname__
    if not _our_module(module) or "<locals>" in qualname:
        raise SerializeError(f"it holds an instance of {module}.{qualname}, not a jitgraph class")
    return f"{module}:{qualname}"


def _function_path(fn: types.FunctionType) -> str:
    module, qualname = fn.__module__, fn.__qualname__
    if not _our_module(module) or "<" in qualname:
        raise SerializeError(
            f"it holds the function {module}.{qualname}; only module-level functions of "
            "jitgraph can be serialized"
        )
    path = f"{module}:{qualname}"
    if _resolve(path) is not fn:
        raise SerializeError(f"it holds the function {module}.{qualname}, not found by that name")
    return path


def _our_module(module: str) -> bool:
    return module == "jitgraph" or module.startswith("jitgraph.")


def _label(op: Any) -> str:
    try:
        return f"{op} ({type(op).__module__}.{type(op).__qualname__})"
    except Exception:  # a broken __str__ must not hide the real error
        return f"{type(op).__module__}.{type(op).__qualname__}"


def _describe(value: Any) -> str:
    return f"a {type(value).__module__}.{type(value).__qualname__} ({value!r:.60})"


# ----------------------------------------------------------------------------- loading
def loads_graph(data: bytes) -> Graph:
    """The graph written by ``dumps_graph``; ``SerializeError`` for bytes that are
    corrupted, truncated, or from another jitgraph version or schema."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"loads_graph() takes bytes, got {type(data).__name__}")
    data = bytes(data)
    header, body = _split(data)
    try:
        table = _PlainUnpickler(io.BytesIO(body)).load()
        graph = _decode_graph(table)
    except SerializeError:
        raise
    except Exception as exc:
        raise SerializeError(
            f"the serialized graph cannot be rebuilt ({type(exc).__name__}: {exc})"
        ) from None
    if graph.hash != header["hash"]:
        raise SerializeError(
            "the serialized graph rebuilds to a different graph (structural hash "
            f"{graph.hash[:12]}, expected {str(header['hash'])[:12]})"
        )
    return graph


def _split(data: bytes) -> tuple[dict[str, Any], bytes]:
    if not data.startswith(MAGIC):
        raise SerializeError("not a serialized jitgraph graph (bad magic bytes)")
    start = len(MAGIC) + 4
    if len(data) < start:
        raise SerializeError("the serialized graph is truncated")
    (length,) = struct.unpack("<I", data[len(MAGIC) : start])
    try:
        header = json.loads(data[start : start + length])
    except ValueError:
        raise SerializeError("the serialized graph's header is corrupted") from None
    if not isinstance(header, dict):
        raise SerializeError("the serialized graph's header is corrupted")
    version, schema = header.get("jitgraph"), header.get("schema")
    if version != _jitgraph_version() or schema != SCHEMA_VERSION:
        raise SerializeError(
            f"the graph was serialized by jitgraph {version} (schema {schema}); this is "
            f"jitgraph {_jitgraph_version()} (schema {SCHEMA_VERSION}): trace it again"
        )
    body = data[start + length :]
    if hashlib.sha256(body).hexdigest() != header.get("body_sha256"):
        raise SerializeError("the serialized graph is corrupted or truncated (checksum mismatch)")
    return header, body


class _PlainUnpickler(pickle.Unpickler):
    """Loads plain data only: every global (class or function) is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise SerializeError(f"the serialized graph names {module}.{name}: not plain data")


def _decode_graph(table: Any) -> Graph:
    roots, nodes, op_records, inputs, outputs = table
    ops = [_decode_value(r) for r in op_records]
    variables: list[Var] = [_decode_root(r) for r in roots]
    for op_position, refs, outs in nodes:
        node = _build_node(ops[op_position], [variables[i] for i in refs], outs)
        variables.extend(node.outputs)
    return Graph([variables[i] for i in inputs], [variables[i] for i in outputs])


def _build_node(op: Any, args: list[Var], outs: Any) -> Node:
    """The node ``op(args)`` with the recorded output types, names and lines.

    Hash-consed like any node, except where an equal node already exists in this process
    (its inputs are all constants) with outputs of other names or types: a node of our
    own then keeps the recorded ones without renaming someone else's variables."""
    out_types = [TensorType(dtype, shape) for dtype, shape, _, _ in outs]
    existing = Node._table.get((op, tuple(id(v) for v in args)))
    if existing is not None and all(a is b for a, b in zip(existing.inputs, args, strict=True)):
        same = [(v.type, v.name) for v in existing.outputs] == [
            (t, name) for t, (_, _, name, _) in zip(out_types, outs, strict=True)
        ]
        if same:
            return existing
        node = Node(op, args, out_types)
    else:
        node = Node.create(op, args, out_types)
    for var, (_, _, name, created_at) in zip(node.outputs, outs, strict=True):
        var.name = name
        var.created_at = created_at
    return node


def _decode_root(record: tuple[Any, ...]) -> Var:
    if record[0] == "i":
        _, dtype, shape, name, created_at = record
        var = TensorType(dtype, shape).make_variable(name)
        var.created_at = created_at
        return var
    _, dtype, shape, name, data_dtype, data_shape, raw = record
    ttype = TensorType(dtype, shape)
    array = np.frombuffer(raw, dtype=np.dtype(data_dtype)).reshape(data_shape)
    const = make_constant(array, ttype, name)
    if const.name != name:  # an interned constant someone has named: use our own
        const = type(const)(ttype, array, name=name)
    return const


def _decode_value(record: Any) -> Any:
    kind = type(record)
    if record is None or kind in (bool, int, float, str, bytes):
        return record
    if kind is tuple:
        return tuple(_decode_value(v) for v in record)
    if kind is not dict:
        raise SerializeError(f"unexpected {kind.__name__} in a serialized op")
    tag = record["k"]
    decode = _DECODERS.get(tag)
    if decode is None:
        raise SerializeError(f"unknown record kind {tag!r} in a serialized op")
    return decode(record)


def _decode_dataclass(record: dict[str, Any]) -> Any:
    cls = _resolve(record["c"])
    if not isinstance(cls, type) or not dataclasses.is_dataclass(cls):
        raise SerializeError(f"{record['c']} is not a dataclass of jitgraph")
    return cls(**{k: _decode_value(v) for k, v in record["a"].items()})


def _decode_namedtuple(record: dict[str, Any]) -> Any:
    cls = _resolve(record["c"])
    if not (isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")):
        raise SerializeError(f"{record['c']} is not a named tuple of jitgraph")
    return cls(*(_decode_value(v) for v in record["a"]))


def _decode_function(record: dict[str, Any]) -> Any:
    fn = _resolve(record["c"])
    if not isinstance(fn, types.FunctionType):
        raise SerializeError(f"{record['c']} is not a function of jitgraph")
    return fn


def _decode_scalar(record: dict[str, Any]) -> Any:
    from jitgraph.ops.scalar import SCALAR_OPS

    try:
        return SCALAR_OPS[record["n"]]
    except KeyError:
        raise SerializeError(f"no elementwise op {record['n']!r} in SCALAR_OPS") from None


def _decode_reduction(record: dict[str, Any]) -> Any:
    from jitgraph.ops.reduce import REDUCTIONS

    try:
        return REDUCTIONS[record["n"]]
    except KeyError:
        raise SerializeError(f"no reduction {record['n']!r} in REDUCTIONS") from None


def _decode_inner_graph(record: dict[str, Any]) -> Any:
    from jitgraph.ops.control import InnerGraph

    return InnerGraph(_decode_graph(record["g"]))


def _decode_numpy(record: dict[str, Any]) -> Any:
    return np.frombuffer(record["b"], dtype=np.dtype(record["d"]))[0]


_DECODERS: dict[str, Any] = {
    "complex": lambda r: complex(*r["a"]),
    "slice": lambda r: slice(*(_decode_value(v) for v in r["a"])),
    "frozenset": lambda r: frozenset(_decode_value(v) for v in r["a"]),
    "type": lambda r: TensorType(*r["a"]),
    "scalar": _decode_scalar,
    "reduction": _decode_reduction,
    "graph": _decode_inner_graph,
    "numpy": _decode_numpy,
    "dtype": lambda r: np.dtype(r["d"]),
    "namedtuple": _decode_namedtuple,
    "dataclass": _decode_dataclass,
    "function": _decode_function,
}


def _resolve(path: str) -> Any:
    """The jitgraph class or function at 'module:qualname' (nothing outside jitgraph)."""
    module_name, _, qualname = path.partition(":")
    if not _our_module(module_name) or not qualname:
        raise SerializeError(f"{path!r} is not a jitgraph name")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        raise SerializeError(f"{path!r} does not exist in this jitgraph") from None
    if getattr(target, "__module__", None) != module_name:
        raise SerializeError(f"{path!r} is not defined in {module_name}")
    return target


def _jitgraph_version() -> str:
    from jitgraph.cache import jitgraph_version

    return jitgraph_version()
