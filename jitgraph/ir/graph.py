"""The SSA graph: variables, constants, nodes and whole graphs.

Nodes are immutable and hash-consed: applying an equal op to the same inputs returns
the *same* node, so common subexpressions are shared by construction and the structural
hash of a graph doubles as its cache key.

>>> from jitgraph.ir.types import TensorType
>>> import jitgraph.tensor  # registers the tensor variable class
>>> x = TensorType("float64", (None,))("x")
>>> (x + 1) is (x + 1)
True
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import sys
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from jitgraph.ir.types import TensorType, Type

if TYPE_CHECKING:
    from jitgraph.ops.base import Op

# The jitgraph package directory: frames under it are ours, the first one outside is the user's.
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_source_line() -> str | None:
    """'file:line' of the innermost frame outside jitgraph: where the user created a value."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(PACKAGE_DIR) and not filename.startswith("<frozen"):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return None


class Var:
    """A value in the graph: produced once by ``owner`` (a Node), or a graph input.

    ``name`` is a label for printing and keyword calls; it takes no part in structural
    identity. ``created_at`` is the user's 'file:line' where the variable was built.
    """

    __slots__ = ("type", "owner", "index", "name", "created_at", "tag", "__weakref__")

    # Every value in the IR is a tensor (random-generator states are uint32 tensors), so
    # the type is annotated as TensorType; Type remains the extension point.
    type: TensorType

    def __init__(
        self,
        type: Type,
        owner: Node | None = None,
        index: int | None = None,
        name: str | None = None,
    ) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"a variable name must be a str, got {type_name(name)}")
        self.type = type  # type: ignore[assignment]
        self.owner = owner
        self.index = index
        self.name = name
        self.created_at = user_source_line()
        self.tag: dict[str, Any] = {}

    # Variables are identity-hashed: hash-consing makes identity structural.
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:  # identity, as in Theano (T.eq compares values)
        return self is other

    def clone(self) -> Var:
        """A fresh input variable of the same type and name."""
        return type(self)(self.type, name=self.name)

    def describe(self) -> str:
        """Short user-facing label: the name, or the op that made it, and where."""
        if self.name:
            label = repr(self.name)
        elif self.owner is not None:
            label = f"the output of {self.owner.op.short_description()}"
        elif isinstance(self, Const):
            # Constants are interned by content: where the first one was made says nothing.
            return f"the constant {self!r}"
        else:
            label = "an unnamed input"
        where = f" (created at {self.created_at})" if self.created_at else ""
        return f"{label}{where}"

    def __repr__(self) -> str:
        if self.name:
            return self.name
        if self.owner is not None:
            op = str(self.owner.op)
            if len(self.owner.outputs) > 1:
                return f"{op}.{self.index}"
            return f"{op}.0"
        return f"<{self.type}>"

    __str__ = __repr__


class Const(Var):
    """A constant: its value is part of the graph's identity (hashed by content)."""

    __slots__ = ("data", "_content_key")

    def __init__(self, type: Type, data: np.ndarray, name: str | None = None) -> None:
        super().__init__(type, name=name)
        data = np.array(data, copy=True)
        data.setflags(write=False)
        self.data = data
        self._content_key: bytes | None = None

    @property
    def value(self) -> np.ndarray:
        return self.data

    def content_key(self) -> bytes:
        if self._content_key is None:
            digest = hashlib.sha256()
            digest.update(self.type.key().encode())
            digest.update(str(self.data.shape).encode())
            digest.update(np.ascontiguousarray(self.data).tobytes())
            self._content_key = digest.digest()
        return self._content_key

    def clone(self) -> Var:
        return self

    def __repr__(self) -> str:
        if self.name:
            return self.name
        if self.data.size <= 8:
            text = np.array2string(self.data, separator=", ")
            return text if self.data.ndim else str(self.data.item())
        return f"Const{{{self.type}}}"


_CONST_INTERN_CAP = 1024  # elements; larger constants are not interned
_const_table: weakref.WeakValueDictionary[bytes, Const] = weakref.WeakValueDictionary()


def make_constant(
    data: np.ndarray, ttype: TensorType | None = None, name: str | None = None
) -> Const:
    """The constant holding ``data`` (interned by content when small, so equal constants
    are the same variable)."""
    cls = constant_class()
    data = np.asarray(data)
    if ttype is None:
        ttype = TensorType(data.dtype, data.shape)
    if data.size > _CONST_INTERN_CAP or name is not None:
        return cls(ttype, data, name=name)
    candidate = cls(ttype, data)
    key = candidate.content_key()
    existing = _const_table.get(key)
    if existing is not None and type(existing) is cls:
        return existing
    _const_table[key] = candidate
    return candidate


def constant_class() -> type:
    from jitgraph.tensor.var import TensorConstant

    return TensorConstant


# False inside ``unshared_nodes()``: Node.create then builds fresh nodes (the verifier
# re-infers output types this way; a hash-consed lookup would return the node under test).
_hash_consing: contextvars.ContextVar[bool] = contextvars.ContextVar("hash_consing", default=True)


@contextlib.contextmanager
def unshared_nodes() -> Iterator[None]:
    """Within the block, ``Node.create`` neither returns nor records hash-consed nodes."""
    token = _hash_consing.set(False)
    try:
        yield
    finally:
        _hash_consing.reset(token)


class Node:
    """One application of an op to input variables; never mutated after creation.

    Build nodes with ``Node.create`` (op.make_node does): it returns the existing node
    for an equal op applied to the same inputs.
    """

    __slots__ = ("op", "inputs", "outputs", "__weakref__")

    op: Op
    inputs: tuple[Var, ...]
    outputs: tuple[Var, ...]

    _table: weakref.WeakValueDictionary[tuple[Any, ...], Node] = weakref.WeakValueDictionary()

    def __init__(self, op: Op, inputs: Sequence[Var], output_types: Sequence[Type]) -> None:
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "inputs", tuple(inputs))
        outputs = []
        for i, t in enumerate(output_types):
            out = t.make_variable()
            out.owner = self
            out.index = i
            outputs.append(out)
        object.__setattr__(self, "outputs", tuple(outputs))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("graph nodes are immutable; build a new node instead")

    @classmethod
    def create(cls, op: Op, inputs: Sequence[Var], output_types: Sequence[Type]) -> Node:
        if not _hash_consing.get():
            return cls(op, inputs, output_types)
        key = (op, tuple(id(v) for v in inputs))
        node = cls._table.get(key)
        if node is not None and all(a is b for a, b in zip(node.inputs, inputs, strict=True)):
            return node
        node = cls(op, inputs, output_types)
        cls._table[key] = node
        return node

    @property
    def out(self) -> Var:
        """The single output (Theano's ``Apply.out``)."""
        if len(self.outputs) != 1:
            raise ValueError(f"{self.op} has {len(self.outputs)} outputs, not one")
        return self.outputs[0]

    @property
    def nin(self) -> int:
        return len(self.inputs)

    @property
    def nout(self) -> int:
        return len(self.outputs)

    def __repr__(self) -> str:
        return f"{self.op}({', '.join(map(repr, self.inputs))})"


Apply = Node  # Theano's name


def type_name(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"numpy array of dtype {value.dtype} and shape {value.shape}"
    return type(value).__name__


# ----------------------------------------------------------------------------- traversal
def ancestors(outputs: Iterable[Var], blockers: Iterable[Var] = ()) -> list[Var]:
    """Every variable the outputs depend on (stopping at ``blockers``), depth first."""
    blocked = {id(v) for v in blockers}
    seen: set[int] = set()
    order: list[Var] = []
    stack = list(outputs)[::-1]
    while stack:
        var = stack.pop()
        if id(var) in seen:
            continue
        seen.add(id(var))
        order.append(var)
        if var.owner is not None and id(var) not in blocked:
            stack.extend(reversed(var.owner.inputs))
    return order


def toposort(outputs: Sequence[Var], blockers: Iterable[Var] = ()) -> list[Node]:
    """Nodes needed for ``outputs``, each after the nodes producing its inputs."""
    blocked = {id(v) for v in blockers}
    order: list[Node] = []
    done: set[int] = set()
    for root in outputs:
        if root.owner is None or id(root) in blocked or id(root.owner) in done:
            continue
        # iterative post-order DFS (graphs can be deeper than the recursion limit)
        stack: list[tuple[Node, Iterator[Var]]] = [(root.owner, iter(root.owner.inputs))]
        done.add(id(root.owner))
        while stack:
            node, pending = stack[-1]
            for var in pending:
                producer = var.owner
                if producer is not None and id(var) not in blocked and id(producer) not in done:
                    done.add(id(producer))
                    stack.append((producer, iter(producer.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def graph_inputs(outputs: Sequence[Var], blockers: Iterable[Var] = ()) -> list[Var]:
    """The root variables (inputs, constants, shared) the outputs depend on."""
    blocked = {id(v) for v in blockers}
    return [v for v in ancestors(outputs, blockers) if v.owner is None or id(v) in blocked]


class MissingInputError(ValueError):
    """An output depends on a variable that is neither an input nor a constant."""


class Graph:
    """An immutable graph: explicit inputs, outputs, and the nodes between, in order.

    ``Graph(inputs, outputs)`` checks that every root the outputs need is one of the
    inputs or a constant. Its ``hash`` is the structural SHA-256 (see ``structural_hash``).
    """

    __slots__ = ("inputs", "outputs", "nodes", "_hash")

    def __init__(self, inputs: Sequence[Var], outputs: Sequence[Var]) -> None:
        self.inputs: tuple[Var, ...] = tuple(inputs)
        self.outputs: tuple[Var, ...] = tuple(outputs)
        if len({id(v) for v in self.inputs}) != len(self.inputs):
            raise ValueError("a variable appears twice among the graph's inputs")
        self.nodes: tuple[Node, ...] = tuple(toposort(self.outputs, self.inputs))
        known = {id(v) for v in self.inputs}
        for root in graph_inputs(self.outputs, self.inputs):
            if id(root) not in known and not isinstance(root, Const):
                raise MissingInputError(
                    f"the graph needs {root.describe()}, which is not among its inputs"
                )
        self._hash: str | None = None

    @property
    def hash(self) -> str:
        if self._hash is None:
            self._hash = structural_hash(self)
        return self._hash

    def variables(self) -> list[Var]:
        out: list[Var] = list(self.inputs)
        seen = {id(v) for v in out}
        for node in self.nodes:
            for v in (*node.inputs, *node.outputs):
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        for v in self.outputs:  # an output may be a constant or an input that no node uses
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        return out

    def clients(self) -> dict[int, list[tuple[Node, int]]]:
        """id(var) -> the (node, input position) pairs that use it."""
        result: dict[int, list[tuple[Node, int]]] = {}
        for node in self.nodes:
            for i, v in enumerate(node.inputs):
                result.setdefault(id(v), []).append((node, i))
        return result

    def as_text(self) -> str:
        from jitgraph.printing import debugprint

        return debugprint(list(self.outputs), file="str")

    def __repr__(self) -> str:
        counts = f"{len(self.inputs)} inputs, {len(self.nodes)} nodes, {len(self.outputs)} outputs"
        return f"Graph({counts})"


def structural_hash(graph: Graph) -> str:
    """SHA-256 of a canonical serialization of ``graph``.

    Independent of variable names and object ids: variables are numbered in
    topological order; ops contribute their class and parameters, variables their
    types, constants their content. Equal graphs hash equal; any change of op,
    parameter, dtype, static shape or constant value changes the hash.
    """
    digest = hashlib.sha256(b"jitgraph-graph-v1\n")
    number: dict[int, int] = {}

    def ref(var: Var) -> str:
        if id(var) not in number:
            if isinstance(var, Const):
                number[id(var)] = len(number)
                digest.update(b"C" + var.content_key() + b"\n")
            else:  # only reachable for inputs, numbered up front
                raise AssertionError("unnumbered variable in structural hash")
        return str(number[id(var)])

    for var in graph.inputs:
        number[id(var)] = len(number)
        content = var.content_key().hex() if isinstance(var, Const) else ""
        digest.update(f"I {var.type.key()} {content}\n".encode())
    for node in graph.nodes:
        args = ",".join(ref(v) for v in node.inputs)
        outs = ",".join(v.type.key() for v in node.outputs)
        digest.update(f"N {node.op.signature()} ({args}) -> {outs}\n".encode())
        for out in node.outputs:
            number[id(out)] = len(number)
    digest.update(("O " + ",".join(ref(v) for v in graph.outputs) + "\n").encode())
    return digest.hexdigest()
