"""Printing graphs, Theano's ``theano.printing``: ``debugprint`` (the tree text),
``pp`` / ``pprint`` (infix formulas), ``pydotprint`` (a drawing) and the ``Print`` op.

>>> import jitgraph.tensor as T
>>> x, y = T.dscalars("x", "y")
>>> print(debugprint(x + y * 2, file="str"), end="")
Elemwise{add} [id A] ''
 |x [id B]
 |Elemwise{mul} [id C] ''
   |y [id D]
   |TensorConstant{2} [id E]
>>> pp(x + y * 2)
'(x + (y * TensorConstant{2}))'
"""

from __future__ import annotations

import dataclasses
import io
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any

import numpy as np

from jitgraph.ir.graph import Const, Graph, Node, Var, toposort
from jitgraph.ops.base import GradTerm, Op
from jitgraph.ops.elemwise import Elemwise
from jitgraph.ops.indexing import Subtensor
from jitgraph.ops.linalg import Dot
from jitgraph.ops.reduce import Reduce
from jitgraph.ops.shape import DimShuffle, Shape

__all__ = ["Print", "debugprint", "pp", "pprint", "pydotprint"]


# ============================================================================ labels
def constant_label(const: Const) -> str:
    """Theano's text for a constant: its name, else ``TensorConstant{value}`` (long
    values shortened, arrays of one repeated value as ``(shape) of value``).

    >>> import jitgraph.tensor as T
    >>> constant_label(T.constant(np.ones((2, 3))))
    'TensorConstant{(2, 3) of 1.0}'
    """
    if const.name:
        return const.name
    data = const.data
    if data.size > 1 and bool(np.all(data == data.flat[0])):
        text = f"{data.shape} of {data.flat[0]}"
    else:
        text = " ".join(str(data).split())  # one line, even for matrices
    if len(text) > 20:
        text = text[:10] + ".." + text[-10:]
    return f"TensorConstant{{{text}}}"


def variable_label(var: Var) -> str:
    """A leaf's text: constants by value, other variables by name (or their type)."""
    if isinstance(var, Const):
        return constant_label(var)
    return str(var)


def _char_id(number: int) -> str:
    """Theano's letter ids: 0 -> A, 25 -> Z, 26 -> BA (base 26 with A as zero)."""
    text = ""
    if number == 0:
        text = "A"
    while number != 0:
        text = chr(ord("A") + number % 26) + text
        number //= 26
    return text


# ============================================================================ debugprint
@dataclasses.dataclass
class _DebugPrinter:
    """The state of one debugprint call: where to write and which ids were given."""

    stream: IO[str]
    print_type: bool
    ids: str
    stop_on_name: bool
    done: dict[Any, str]  # node (or variable) -> its id text, once printed
    used_ids: dict[Any, str]
    # Nodes whose op holds an inner program (``op.inner_text()``: a fused kernel), listed
    # after the trees as Theano lists inner graphs.
    inner: list[Node] = dataclasses.field(default_factory=list)
    # Node id -> a note printed at the end of its line (how a compiled function runs it,
    # where that is a reference fallback rather than native code).
    notes: dict[int, str] = dataclasses.field(default_factory=dict)

    def id_text(self, obj: Node | Var) -> str:
        if obj in self.used_ids:
            text = self.used_ids[obj]
        elif self.ids == "CHAR":
            text = f"[id {_char_id(len(self.used_ids))}]"
        elif self.ids == "int":
            text = f"[id {len(self.used_ids)}]"
        elif self.ids == "id":
            text = f"[id {id(obj)}]"
        else:
            text = ""
        self.done[obj] = text
        self.used_ids[obj] = text
        return text

    def print_tree(self, root: Var, depth: int, order: dict[int, int] | None) -> None:
        """Print ``root`` and, depth first, what it is computed from (iteratively:
        graphs can be deeper than Python's recursion limit)."""
        stack: list[tuple[Var, str, str, int]] = [(root, "", "", depth)]
        while stack:
            var, prefix, prefix_child, depth_left = stack.pop()
            if depth_left == 0:
                continue
            type_text = f" <{var.type}>" if self.print_type else ""
            node = var.owner
            if node is None:
                line = f"{prefix}{variable_label(var)} {self.id_text(var)}{type_text}"
                self.stream.write(line.rstrip() + "\n")
                continue
            already_printed = node in self.done
            if not already_printed and hasattr(node.op, "inner_text"):
                self.inner.append(node)
            self.stream.write(self._node_line(var, node, prefix, type_text, order) + "\n")
            if already_printed or (self.stop_on_name and var.name is not None):
                continue
            last = len(node.inputs) - 1
            for position in range(last, -1, -1):
                child_prefix = prefix_child + ("  " if position == last else " |")
                stack.append(
                    (node.inputs[position], prefix_child + " |", child_prefix, depth_left - 1)
                )

    def print_inner(self) -> None:
        """The "Inner graphs" section: each inner program, its lines marked with '>'."""
        if not self.inner:
            return
        self.stream.write("\nInner graphs:\n")
        for node in self.inner:
            self.stream.write(f"\n{node.op} {self.done[node]}".rstrip() + "\n")
            for line in node.op.inner_text().splitlines():  # type: ignore[attr-defined]
                self.stream.write(f" >{line}\n")

    def _node_line(
        self, var: Var, node: Node, prefix: str, type_text: str, order: dict[int, int] | None
    ) -> str:
        output_index = f".{var.index}" if len(node.outputs) > 1 else ""
        name = var.name or ""
        line = f"{prefix}{node.op}{output_index} {self.id_text(node)}{type_text} '{name}'"
        if order is not None:
            line += f"   {order[id(node)]}"  # Theano's column: the node's place in toposort
        note = self.notes.get(id(node))
        if note:
            line = f"{line.rstrip()}   [{note}]"
        return line.rstrip()


def _roots_to_print(obj: Any) -> list[tuple[Var, dict[int, int] | None]]:
    """The variables ``debugprint`` prints for ``obj``, each with the toposort positions
    of its graph's nodes where ``obj`` is a compiled function or a graph."""
    from jitgraph.compile.function import Function
    from jitgraph.compile.io import In, Out

    if isinstance(obj, (list, tuple)):
        return [root for item in obj for root in _roots_to_print(item)]
    if isinstance(obj, Var):
        return [(obj, None)]
    if isinstance(obj, (In, Out)):
        return [(obj.variable, None)]
    if isinstance(obj, Node):
        return [(out, None) for out in obj.outputs]
    if isinstance(obj, Function):
        obj = obj.maker.fgraph
    if isinstance(obj, Graph):
        order = {id(node): position for position, node in enumerate(obj.nodes)}
        return [(out, order) for out in obj.outputs]
    raise TypeError(
        f"debugprint cannot print a {type(obj).__name__}: expected a variable, a list of "
        "variables, a compiled function or a Graph"
    )


def _run_notes(obj: Any) -> dict[int, str]:
    """For a compiled function: its nodes that run by a reference fallback, noted."""
    from jitgraph.compile.function import Function

    if not isinstance(obj, Function):
        return {}
    fallbacks = getattr(obj._compiled.program, "fallbacks", None)
    if fallbacks is None:
        return {}
    return {id(node): "reference fallback: no LLVM lowering" for node in fallbacks()}


def debugprint(
    obj: Any,
    depth: int = -1,
    print_type: bool = False,
    file: Any = None,
    ids: str = "CHAR",
    stop_on_name: bool = False,
    done: dict[Any, str] | None = None,
    print_storage: bool = False,
    used_ids: dict[Any, str] | None = None,
    print_inner: bool = True,
) -> Any:
    """Print a graph as an indented tree, one line per node or input (Theano's format).

    ``obj``: a variable, a list of variables, a compiled function (its graph's outputs,
    each node followed by its position in execution order) or a ``Graph``. ``depth``: how
    many levels to print (-1: all). ``print_type``: add each value's type. ``file``: None
    prints to stdout and returns it, ``'str'`` returns the text, a stream is written to
    and returned. ``ids``: ``'CHAR'`` (A, B, ...), ``'int'``, ``'id'`` (Python ids) or
    ``''``. ``stop_on_name``: do not expand named variables. A node reached a second
    time is printed with its id only. ``done``/``used_ids``: dicts shared between calls
    to keep ids consistent. ``print_storage`` is accepted and has no effect (compiled
    functions keep no storage map to show). ``print_inner``: after the trees, list the
    inner program of each printed node that has one (the kernel of a ``Fused`` node).

    >>> import jitgraph.tensor as T
    >>> x = T.dvector("x")
    >>> print(debugprint(T.exp(x), print_type=True, file="str"), end="")
    Elemwise{exp} [id A] <TensorType(float64, vector)> ''
     |x [id B] <TensorType(float64, vector)>
    """
    if not isinstance(depth, int) or isinstance(depth, bool):
        raise TypeError(f"debugprint(depth=...) must be an int, got {depth!r}")
    if ids not in ("CHAR", "int", "id", ""):
        raise ValueError(f"debugprint(ids=...) must be 'CHAR', 'int', 'id' or '', got {ids!r}")
    stream: IO[str] = io.StringIO() if file == "str" else (sys.stdout if file is None else file)
    printer = _DebugPrinter(
        stream,
        print_type,
        ids,
        stop_on_name,
        {} if done is None else done,
        {} if used_ids is None else used_ids,
    )
    printer.notes.update(_run_notes(obj))
    for root, order in _roots_to_print(obj):
        printer.print_tree(root, depth, order)
    if print_inner:
        printer.print_inner()
    if file == "str":
        return stream.getvalue()  # type: ignore[attr-defined]
    stream.flush()
    return stream


# ============================================================================ pp
# A pretty printer gets the node, the output being printed and its inputs' texts.
PrettyPrinter = Callable[[Node, Var, list[str]], str]

# Python ops that print as a formula (Theano's pprint.assign); others print as
# "Op(inputs)". Later modules add their ops with ``PP_PRINTERS[OpClass] = printer``.
PP_PRINTERS: dict[type, PrettyPrinter] = {}

_MIDDLE_DOT = "\u00b7"  # Theano's dot symbol


def _pp_elemwise(node: Node, var: Var, args: list[str]) -> str:
    scalar_op = node.op.scalar_op  # type: ignore[attr-defined]
    if scalar_op.symbol is not None and len(args) == 1:
        return f"({scalar_op.symbol}{args[0]})"
    if scalar_op.symbol is not None and len(args) == 2:
        return f"({args[0]} {scalar_op.symbol} {args[1]})"
    name = str(scalar_op)
    if scalar_op.name.startswith("cast_"):  # Theano printed casts as float32(x)
        name = scalar_op.name[len("cast_") :]
    return f"{name}({', '.join(args)})"


def _pp_dimshuffle(node: Node, var: Var, args: list[str]) -> str:
    """Broadcast padding (leading 'x') is invisible; a full reversal prints as ``.T``."""
    order = list(node.op.new_order)  # type: ignore[attr-defined]
    while order and order[0] == "x":
        order.pop(0)
    ndim = node.op.input_ndim  # type: ignore[attr-defined]
    if order == list(range(ndim)):
        return args[0]
    if order == list(reversed(range(ndim))):
        return f"{args[0]}.T"
    return f"DimShuffle{{{', '.join(map(str, order))}}}({args[0]})"


def _pp_index_value(var: Var, text: str) -> str:
    if isinstance(var, Const) and var.data.ndim == 0 and not var.name:
        return str(var.data.item())
    return text


def _pp_subtensor(node: Node, var: Var, args: list[str]) -> str:
    bounds = iter(zip(node.inputs[1:], args[1:], strict=True))
    parts: list[str] = []
    for entry in node.op.index:  # type: ignore[attr-defined]
        if entry == "i":
            parts.append(_pp_index_value(*next(bounds)))
            continue
        start, stop, step = (_pp_index_value(*next(bounds)) if has else "" for has in entry[1:])
        start = "" if start == "0" else start
        parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
    return f"{args[0]}[{', '.join(parts)}]"


def _pp_reduce(node: Node, var: Var, args: list[str]) -> str:
    op: Reduce = node.op  # type: ignore[assignment]
    options = []
    if op.axis != tuple(range(node.inputs[0].type.ndim)):
        options.append(f"axis={op.axis}")
    if op.keepdims:
        options.append("keepdims=True")
    if getattr(op, "dtype", None) is not None:
        options.append(f"dtype={op.dtype}")
    return f"{op.kind.name}({', '.join([args[0], *options])})"


def _pp_dot(node: Node, var: Var, args: list[str]) -> str:
    return f"({args[0]} {_MIDDLE_DOT} {args[1]})"


def _pp_shape(node: Node, var: Var, args: list[str]) -> str:
    return f"{args[0]}.shape"


PP_PRINTERS.update(
    {
        Elemwise: _pp_elemwise,
        DimShuffle: _pp_dimshuffle,
        Subtensor: _pp_subtensor,
        Reduce: _pp_reduce,
        Dot: _pp_dot,
        Shape: _pp_shape,
    }
)


def _pp_printer(op: Op) -> PrettyPrinter | None:
    for cls in type(op).__mro__:
        if cls in PP_PRINTERS:
            return PP_PRINTERS[cls]
    return None


def _pp_variable(var: Var) -> str:
    """The formula of one variable, built bottom-up in topological order (no recursion,
    and a subexpression used twice is rendered once)."""
    texts: dict[int, str] = {}

    def text_of(v: Var) -> str:
        if id(v) not in texts:
            texts[id(v)] = variable_label(v)  # a leaf: nodes are all rendered before use
        return texts[id(v)]

    for node in toposort([var]):
        args = [text_of(v) for v in node.inputs]
        printer = _pp_printer(node.op)
        for out in node.outputs:
            if printer is not None:
                texts[id(out)] = printer(node, out, args)
            else:
                texts[id(out)] = f"{node.op}({', '.join(args)})"
    return text_of(var)


def pp(obj: Any) -> str:
    """The formula computing ``obj`` (Theano's pretty printer): operators infix with
    every application parenthesized, other ops as ``name(args)``, constants as
    ``TensorConstant{value}``. A compiled function, a Graph or a list gives one line per
    output.

    >>> import jitgraph.tensor as T
    >>> x, y, z = T.dscalars("x", "y", "z")
    >>> pp((x + y) * z), pp(T.exp(-x))
    ('((x + y) * z)', 'exp((-x))')
    >>> m = T.dmatrix("m")
    >>> pp(m[1:, 0]), pp(m.sum(axis=0))
    ('m[1:, 0]', 'sum(m, axis=(0,))')
    """
    from jitgraph.compile.function import Function

    if isinstance(obj, Function):
        obj = obj.maker.fgraph
    if isinstance(obj, Graph):
        obj = list(obj.outputs)
    if isinstance(obj, (list, tuple)):
        return "\n".join(pp(item) for item in obj)
    if not isinstance(obj, Var):
        raise TypeError(
            f"pp cannot print a {type(obj).__name__}: expected a variable, a list of "
            "variables, a compiled function or a Graph"
        )
    return _pp_variable(obj)


pprint = pp  # Theano's other name


# ============================================================================ Print op
def _print_values(op: Print, value: np.ndarray) -> None:
    """Theano's default: ``message attr = value`` for each attribute (called if callable)."""
    for attr in op.attrs:
        member = getattr(value, attr)
        shown = member() if callable(member) else member
        print(op.message, attr, "=", shown)


@dataclasses.dataclass(frozen=True)
class Print(Op):
    """An identity op that prints its value when the function runs (Theano's
    ``theano.printing.Print``): for each name in ``attrs``, prints
    ``message attr = value.attr()`` (or the attribute itself if not callable).

    ``global_fn(op, value)`` replaces the printing (Theano's hook). The op is never
    constant-folded (``do_constant_folding`` is False), so the print happens at run time.

    >>> import jitgraph, jitgraph.tensor as T
    >>> x = T.dvector("x")
    >>> f = jitgraph.function([x], Print("x is", attrs=("__str__", "shape"))(x) * 2)
    >>> f([1.0, 2.0])
    x is __str__ = [1. 2.]
    x is shape = (2,)
    array([2., 4.])
    """

    message: str = ""
    attrs: tuple[str, ...] = ("__str__",)
    global_fn: Callable[[Print, np.ndarray], None] = _print_values

    def __post_init__(self) -> None:
        attrs = (self.attrs,) if isinstance(self.attrs, str) else tuple(self.attrs)
        if not all(isinstance(a, str) for a in attrs):
            raise TypeError(f"Print(attrs=...) must be attribute names (str), got {self.attrs!r}")
        object.__setattr__(self, "attrs", attrs)

    def make_node(self, *inputs: Any) -> Node:
        from jitgraph.tensor.basic import as_tensor_variable

        if len(inputs) != 1:
            raise TypeError(f"Print takes one input, got {len(inputs)}")
        x = as_tensor_variable(inputs[0])
        return self.make_apply([x], [x.type])

    def perform(self, node: Node, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        (value,) = inputs
        self.global_fn(self, value)
        return [value]

    def infer_shape(
        self, node: Node, input_shapes: Sequence[tuple[Var, ...]]
    ) -> list[tuple[Var, ...]]:
        return [input_shapes[0]]

    def grad(self, node: Node, output_grads: Sequence[Var]) -> list[GradTerm]:
        return list(output_grads)

    def do_constant_folding(self, node: Node) -> bool:
        return False

    def signature(self) -> str:
        # The function's qualified name, not its address: stable across processes.
        hook = f"{self.global_fn.__module__}.{self.global_fn.__qualname__}"
        return f"{__name__}.Print(message={self.message!r},attrs={self.attrs!r},fn={hook})"

    def __str__(self) -> str:
        return f"Print{{{self.message}}}"


from jitgraph.graphdraw import pydotprint  # noqa: E402 - graphdraw uses the labels above
