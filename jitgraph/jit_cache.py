"""The disk side of ``@jit``: fingerprints of Python functions and the stored entries.

A function is fingerprinted from its code (bytecode, constants, names), its closure and
defaults and the globals it names, when all of those are numbers, strings, tuples, arrays,
modules or functions fingerprinted the same way; anything else makes it unfingerprintable
(``None``) and ``@jit`` then traces in every process. An entry stores the optimized graph
(``jitgraph.ir.serialize``), the output tree and where each output comes from.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from jitgraph.jit import LEAF, JitFunction, _core, _Entry, _Signature

# ----------------------------------------------------------------------------- disk payloads
_PAYLOAD = struct.Struct("<I")


def _encode_entry(entry: _Entry) -> bytes | None:
    """The optimized graph, the output tree and its constants as bytes, or None where
    something is not storable (an op the serializer refuses, shared state, a tree
    with keys or types JSON cannot hold)."""
    from jitgraph.ir.serialize import SerializeError, dumps_graph

    function = entry.function
    if function._compiled.shared_vars or function._compiled.updates:
        return None
    structure, sources = entry.record
    tree = _tree_json(structure)
    if tree is _NO:
        return None
    constants: list[Any] = []
    source_json: list[Any] = []
    for s in sources:
        if isinstance(s, int):
            source_json.append(s)
        else:
            source_json.append({"c": len(constants)})
            buffer = io.BytesIO()
            np.save(buffer, s, allow_pickle=False)
            constants.append(buffer.getvalue().hex())
    try:
        graph_bytes = dumps_graph(function.graph)
    except (SerializeError, TypeError, ValueError):
        return None
    header = {
        "tree": tree,
        "sources": source_json,
        "constants": constants,
        "single": function._shape == "single",
        "inputs": len(function.graph.inputs),
    }
    head = json.dumps(header).encode()
    return _PAYLOAD.pack(len(head)) + head + graph_bytes


def _decode_entry(payload: bytes, signature: _Signature) -> _Entry:
    from jitgraph.compile.function import Function
    from jitgraph.compile.function_graph import CompiledGraph
    from jitgraph.compile.mode import get_mode
    from jitgraph.ir.serialize import loads_graph

    (size,) = _PAYLOAD.unpack_from(payload)
    header = json.loads(payload[_PAYLOAD.size : _PAYLOAD.size + size])
    graph = loads_graph(payload[_PAYLOAD.size + size :])
    if len(graph.inputs) != len(signature.values) or header["inputs"] != len(graph.inputs):
        raise ValueError("the stored program has other inputs")
    constants = [
        np.load(io.BytesIO(bytes.fromhex(c)), allow_pickle=False) for c in header["constants"]
    ]
    sources = [s if isinstance(s, int) else constants[s["c"]] for s in header["sources"]]
    compiled = CompiledGraph.from_optimized(graph, get_mode(*signature.mode))
    shape = "single" if header["single"] else "list"
    function = Function(compiled, compiled.specs, [False] * len(graph.outputs), shape, None, None)
    structure = _tree_from_json(header["tree"])
    return _Entry(function, structure, sources, signature.plain, from_disk=True)


_NO: Any = object()  # a namedtuple (or anything else JSON cannot name): not stored


def _tree_json(structure: Any) -> Any:
    """``structure`` as JSON data, or ``_NO``."""
    if structure is LEAF:
        return "*"
    if structure is None:
        return None
    kind = structure[0]
    if kind is dict:
        if not all(type(k) is str for k in structure[1]):
            return _NO
        children = [_tree_json(c) for c in structure[2]]
        return _NO if any(c is _NO for c in children) else ["d", list(structure[1]), children]
    if kind is tuple or kind is list:
        children = [_tree_json(c) for c in structure[1]]
        if any(c is _NO for c in children):
            return _NO
        return ["t" if kind is tuple else "l", children]
    return _NO


def _tree_from_json(tree: Any) -> Any:
    if tree == "*":
        return LEAF
    if tree is None:
        return None
    if tree[0] == "d":
        return (dict, tuple(tree[1]), tuple(_tree_from_json(c) for c in tree[2]))
    kind = tuple if tree[0] == "t" else list
    return (kind, tuple(_tree_from_json(c) for c in tree[1]))


# ----------------------------------------------------------------------------- fingerprints
class _NotFingerprintable(Exception):
    pass


# Functions and classes of these packages are named, not hashed: the jitgraph version is
# part of every key, and NumPy's functions do not change under a running program.
_NAMED_PACKAGES = ("jitgraph", "numpy", "builtins", "math", "cmath", "operator", "functools")


def function_fingerprint(fn: Any) -> str | None:
    """SHA-256 of what the function's trace depends on besides its arguments: its code
    (bytecode, constants, names), qualified name and module, defaults, closure values and
    the globals it names, each a simple value (number, string, tuple, array by content), a
    module (by name) or a function (fingerprinted the same way, cycles allowed). None when
    anything else is reachable: such a function is traced in each new process."""
    digest = hashlib.sha256()
    try:
        _feed_value(fn, digest.update, set())
    except _NotFingerprintable:
        return None
    return digest.hexdigest()


def _feed_value(value: Any, feed: Callable[[bytes], Any], seen: set[int]) -> None:
    kind = type(value)
    if value is None or kind in (bool, int, float, complex, str, bytes):
        feed(f"{kind.__name__}:{value!r};".encode())
    elif kind in (tuple, list, frozenset, set):
        items = sorted(value, key=repr) if kind in (frozenset, set) else value
        feed(f"{kind.__name__}({len(items)}:".encode())
        for item in items:
            _feed_value(item, feed, seen)
        feed(b")")
    elif kind is dict:
        feed(f"dict({len(value)}:".encode())
        for k, v in value.items():
            _feed_value(k, feed, seen)
            _feed_value(v, feed, seen)
        feed(b")")
    elif isinstance(value, (np.ndarray, np.generic)):
        array = np.ascontiguousarray(value)
        if array.dtype.hasobject:
            raise _NotFingerprintable
        feed(f"array:{array.dtype.str}:{array.shape}:".encode())
        feed(hashlib.sha256(array.tobytes()).digest())
    elif isinstance(value, np.dtype):
        feed(f"dtype:{value.str};".encode())
    elif isinstance(value, types.ModuleType):
        feed(f"module:{value.__name__};".encode())
    elif isinstance(value, types.FunctionType):
        _feed_function(value, feed, seen)
    elif isinstance(value, (JitFunction, _grad_function_class())):
        feed(f"{kind.__name__}:{getattr(value, '_options', None)!r};".encode())
        _feed_value(getattr(value, "_fn"), feed, seen)  # noqa: B009 - either class
    else:
        _feed_named(value, feed, seen)


def _feed_named(value: Any, feed: Callable[[bytes], Any], seen: set[int]) -> None:
    """Builtins, ufuncs, classes and jnp arrays: by name (or value) where that is safe."""
    core = _core()
    if isinstance(value, core.ndarray):
        if core.is_traced(value):
            raise _NotFingerprintable
        _feed_value(value.value, feed, seen)
        return
    module = getattr(value, "__module__", None) or ""
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    named = isinstance(value, (type, types.BuiltinFunctionType, np.ufunc)) or (
        callable(value) and name is not None and not isinstance(value, types.MethodType)
    )
    if named and name and module.split(".")[0] in _NAMED_PACKAGES:
        feed(f"named:{module}.{name};".encode())
        return
    raise _NotFingerprintable


def _feed_function(fn: types.FunctionType, feed: Callable[[bytes], Any], seen: set[int]) -> None:
    module = fn.__module__ or ""
    feed(f"function:{module}.{fn.__qualname__};".encode())
    if module.split(".")[0] in _NAMED_PACKAGES:
        return
    if id(fn) in seen:  # recursion (or mutual recursion): its name is enough
        return
    seen.add(id(fn))
    names: set[str] = set()
    _feed_code(fn.__code__, feed, names)
    _feed_value(fn.__defaults__, feed, seen)
    _feed_value(fn.__kwdefaults__, feed, seen)
    for cell in fn.__closure__ or ():
        try:
            contents = cell.cell_contents
        except ValueError:  # an empty cell
            feed(b"empty-cell;")
            continue
        _feed_value(contents, feed, seen)
    namespace = fn.__globals__
    for name in sorted(names):
        if name in namespace:
            feed(f"global:{name}=".encode())
            _feed_value(namespace[name], feed, seen)


def _feed_code(code: types.CodeType, feed: Callable[[bytes], Any], names: set[str]) -> None:
    feed(code.co_code)
    feed(repr((code.co_names, code.co_varnames, code.co_freevars, code.co_argcount)).encode())
    feed(repr((code.co_kwonlyargcount, code.co_flags)).encode())
    names.update(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            _feed_code(constant, feed, names)
        else:
            _feed_value(constant, feed, set())


def _stable_text(key: Any) -> str | None:
    """``key`` as text that means the same in every process, or None (an object whose
    text could name a memory address)."""
    kind = type(key)
    if key is None or kind in (bool, int, float, complex, str, bytes):
        return f"{kind.__name__}:{key!r}"
    if kind is tuple:
        parts = [_stable_text(k) for k in key]
        return None if None in parts else "(" + ",".join(parts) + ")"  # type: ignore[arg-type]
    if isinstance(key, np.dtype):
        return f"dtype:{key.str}"
    if key in (tuple, list, dict, bool, int, float, complex):
        return f"type:{key.__name__}"
    return None


def _grad_function_class() -> type:
    from jitgraph.functional import _GradFunction

    return _GradFunction
