"""Drawing graphs as images: ``pydotprint`` (Theano's ``theano.printing.pydotprint``).

With Graphviz's ``dot`` on PATH the drawing is rendered by it (from DOT text written
here, no pydot dependency); otherwise by matplotlib with a layered layout computed
here, so no system package is needed.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess
from typing import Any

import numpy as np

from jitgraph.ir.graph import Const, Graph, Node, Var, graph_inputs

__all__ = ["default_colorCodes", "drawing_to_dot", "pydotprint"]


# ============================================================================ pydotprint
default_colorCodes: dict[str, str] = {  # Theano's colours, by op class name
    "GpuFromHost": "red",
    "HostFromGpu": "red",
    "Scan": "yellow",
    "Shape": "brown",
    "IfElse": "magenta",
    "Elemwise": "#FFAABB",  # dark pink
    "Subtensor": "#FFAAFF",  # purple
    "Alloc": "#FFAA22",  # orange
    "Output": "blue",
}

_INPUT_COLOR = "green"
_SHARED_COLOR = "cyan"  # Theano: inputs green + outputs blue = cyan
_CONSTANT_COLOR = "lightgrey"
_UNUSED_COLOR = "grey"
_IMAGE_FORMATS = ("png", "svg", "pdf", "ps", "eps", "jpg", "jpeg", "gif", "dot")


@dataclasses.dataclass
class _DrawItem:
    key: str  # identifier in the DOT text
    label: str
    shape: str  # "box" (variables) or "ellipse" (applies), as in Theano
    color: str | None


@dataclasses.dataclass
class _Drawing:
    """A backend-neutral picture: boxes and labelled arrows, rendered by dot or matplotlib."""

    items: dict[str, _DrawItem] = dataclasses.field(default_factory=dict)
    edges: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)

    def add(self, key: str, label: str, shape: str, color: str | None) -> str:
        self.items.setdefault(key, _DrawItem(key, label, shape, color))
        return key


def _truncate(text: str, size: int) -> str:
    return text if len(text) <= size else text[: max(size - 3, 0)] + "..."


def _graph_to_draw(fct: Any) -> Graph:
    from jitgraph.compile.function import Function

    if isinstance(fct, Function):
        return fct.maker.fgraph
    if isinstance(fct, Graph):
        return fct
    outputs = list(fct) if isinstance(fct, (list, tuple)) else [fct]
    if not outputs or not all(isinstance(v, Var) for v in outputs):
        raise TypeError(
            f"pydotprint cannot draw {type(fct).__name__}: expected a compiled function, a "
            "Graph, a variable or a list of variables"
        )
    roots = [v for v in graph_inputs(outputs) if not isinstance(v, Const)]
    return Graph(roots, outputs)


@dataclasses.dataclass
class _DrawOptions:
    compact: bool
    with_ids: bool
    colors: dict[str, str]
    max_label_size: int
    var_with_name_simple: bool


class _DrawingBuilder:
    """Theano's pydotprint layout rules: applies as ellipses, variables as boxes; in
    compact mode, unnamed intermediate values are edges only."""

    def __init__(self, graph: Graph, options: _DrawOptions) -> None:
        self.graph = graph
        self.options = options
        self.drawing = _Drawing()
        self.outputs = {id(v) for v in graph.outputs}
        self.clients = graph.clients()
        self.var_keys: dict[int, str] = {}
        self.apply_keys: dict[int, str] = {}
        self.apply_labels: set[str] = set()

    def var_label(self, var: Var) -> str:
        if var.name is not None:
            text = var.name if self.options.var_with_name_simple else f"name={var.name} {var.type}"
        elif isinstance(var, Const):
            value = str(np.asarray(var.data)).split("\n")[0]
            text = f"val={value} {var.type}"
        else:
            text = str(var.type)
        return _truncate(text, self.options.max_label_size)

    def var_key(self, var: Var) -> str:
        return self.var_keys.setdefault(id(var), f"var{len(self.var_keys)}")

    def apply_key(self, node: Node, position: int) -> str:
        if id(node) not in self.apply_keys:
            label = str(node.op)
            if label in self.apply_labels or self.options.with_ids:
                label = f"{label} id={position}"  # Theano: ids tell equal ops apart
            label = _truncate(label, self.options.max_label_size)
            self.apply_labels.add(label)
            color = self.options.colors.get(type(node.op).__name__)
            self.apply_keys[id(node)] = self.drawing.add(
                f"apply{position}", label, "ellipse", color
            )
        return self.apply_keys[id(node)]

    def draw_var(self, var: Var, color: str | None) -> str:
        return self.drawing.add(self.var_key(var), self.var_label(var), "box", color)

    def build(self) -> _Drawing:
        for var in self.graph.inputs:  # first, so they are laid out in the user's order
            if self.clients.get(id(var)):
                self.draw_var(var, self.root_color(var))
        for position, node in enumerate(self.graph.nodes):
            self.apply_key(node, position)
        for position, node in enumerate(self.graph.nodes):
            self.draw_inputs(node, position)
            self.draw_outputs(node, position)
        for var in self.graph.outputs:
            if var.owner is None:  # an input returned as is
                self.draw_var(var, self.options.colors.get("Output", "blue"))
        return self.drawing

    def edge_label(self, var: Var, position: int, count: int) -> str:
        label = str(var.type) if count <= 1 else f"{position} {var.type}"
        return _truncate(label, self.options.max_label_size)

    def root_color(self, var: Var) -> str:
        from jitgraph.compile.sharedvalue import SharedVariable

        if isinstance(var, SharedVariable):
            return _SHARED_COLOR
        return _CONSTANT_COLOR if isinstance(var, Const) else _INPUT_COLOR

    def draw_inputs(self, node: Node, node_position: int) -> None:
        target = self.apply_key(node, node_position)
        for position, var in enumerate(node.inputs):
            label = self.edge_label(var, position, len(node.inputs))
            if var.owner is None:
                source = self.draw_var(var, self.root_color(var))
            elif self.shows_var(var):
                source = self.var_key(var)
            else:
                source = self.apply_keys[id(var.owner)]
            self.drawing.edges.append((source, target, label))

    def shows_var(self, var: Var) -> bool:
        named_or_full = var.name is not None or not self.options.compact
        return named_or_full or id(var) in self.outputs or not self.clients.get(id(var))

    def draw_outputs(self, node: Node, node_position: int) -> None:
        source = self.apply_key(node, node_position)
        for position, var in enumerate(node.outputs):
            if not self.shows_var(var):
                continue
            if id(var) in self.outputs:
                color: str | None = self.options.colors.get("Output", "blue")
            elif not self.clients.get(id(var)):
                color = _UNUSED_COLOR  # computed but not used
            else:
                color = None
            target = self.draw_var(var, color)
            label = self.edge_label(var, position, len(node.outputs))
            self.drawing.edges.append((source, target, label))


_DARK_COLORS = {"blue", "red", "brown", "navy", "darkblue", "darkgreen", "black", "purple"}


def _is_dark_rgb(rgb: tuple[float, float, float]) -> bool:
    """Whether black text would be hard to read on this colour (components in [0, 1])."""
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 0.45


def _is_dark(color: str) -> bool:
    """``_is_dark_rgb`` for Graphviz colours: #RRGGBB or a few dark X11 names."""
    if color.startswith("#") and len(color) == 7:
        return _is_dark_rgb(tuple(int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)))  # type: ignore[arg-type]
    return color.lower() in _DARK_COLORS


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def drawing_to_dot(drawing: _Drawing, high_contrast: bool = True) -> str:
    """Graphviz DOT text for a drawing (no pydot needed)."""
    lines = ["digraph G {"]
    for item in drawing.items.values():
        attrs = [f"label={_dot_quote(item.label)}", f"shape={item.shape}"]
        if item.color is not None and high_contrast:
            attrs.append(f"style=filled, fillcolor={_dot_quote(item.color)}")
            if _is_dark(item.color):
                attrs.append("fontcolor=white")
        elif item.color is not None:
            attrs.append(f"color={_dot_quote(item.color)}")
        lines.append(f"  {item.key} [{', '.join(attrs)}];")
    for source, target, label in drawing.edges:
        lines.append(f"  {source} -> {target} [label={_dot_quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_executable() -> str | None:
    """Graphviz's ``dot``, if installed (tests replace this to force matplotlib)."""
    return shutil.which("dot")


def _render_with_dot(dot: str, dot_text: str, image_format: str) -> bytes:
    result = subprocess.run(
        [dot, f"-T{image_format}"],
        input=dot_text.encode(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"Graphviz 'dot -T{image_format}' failed: {result.stderr.decode(errors='replace')}"
        )
    return result.stdout


# ---------------------------------------------------------------------- matplotlib layout
_CHAR_WIDTH = 0.075  # inches per character at the font size used
_ITEM_HEIGHT = 0.45
_LAYER_GAP = 1.1
_ITEM_GAP = 0.35


def _layers(drawing: _Drawing) -> list[list[str]]:
    """Items by layer: each one layer below the lowest of its sources (longest path)."""
    incoming: dict[str, list[str]] = {key: [] for key in drawing.items}
    for source, target, _ in drawing.edges:
        incoming[target].append(source)
    level: dict[str, int] = {}
    for key in _topological_keys(drawing):
        level[key] = max((level[s] + 1 for s in incoming[key]), default=0)
    # Sources (inputs, constants) sit just above their first use, as Graphviz puts them.
    first_use: dict[str, int] = {}
    for source, target, _ in drawing.edges:
        first_use[source] = min(first_use.get(source, level[target]), level[target])
    for key in drawing.items:
        if not incoming[key] and key in first_use:
            level[key] = first_use[key] - 1
    layers: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for key in drawing.items:
        layers[level[key]].append(key)
    # Order each layer by the mean place of its sources: fewer crossing arrows.
    place: dict[str, float] = {key: float(i) for i, key in enumerate(layers[0] if layers else [])}
    for layer in layers[1:]:
        layer.sort(key=lambda k: np.mean([place[s] for s in incoming[k]]) if incoming[k] else 0)
        place.update({key: float(i) for i, key in enumerate(layer)})
    return layers


def _topological_keys(drawing: _Drawing) -> list[str]:
    pending = {key: 0 for key in drawing.items}
    outgoing: dict[str, list[str]] = {key: [] for key in drawing.items}
    for source, target, _ in drawing.edges:
        pending[target] += 1
        outgoing[source].append(target)
    ready = [key for key, count in pending.items() if count == 0]
    order: list[str] = []
    while ready:
        key = ready.pop()
        order.append(key)
        for target in outgoing[key]:
            pending[target] -= 1
            if pending[target] == 0:
                ready.append(target)
    return order


def _positions(
    layers: list[list[str]], drawing: _Drawing
) -> tuple[dict[str, tuple[float, float, float]], float, float]:
    """(x centre, y centre, width) in inches for each item, and the picture's size."""
    widths = {k: len(item.label) * _CHAR_WIDTH + 0.4 for k, item in drawing.items.items()}
    layer_widths = [
        sum(widths[k] for k in layer) + _ITEM_GAP * (len(layer) - 1) for layer in layers
    ]
    total_width = max(layer_widths, default=1.0) + 0.6
    total_height = len(layers) * _LAYER_GAP + 0.4
    placed: dict[str, tuple[float, float, float]] = {}
    for depth, (layer, layer_width) in enumerate(zip(layers, layer_widths, strict=True)):
        x = (total_width - layer_width) / 2
        y = total_height - 0.2 - _LAYER_GAP / 2 - depth * _LAYER_GAP
        for key in layer:
            placed[key] = (x + widths[key] / 2, y, widths[key])
            x += widths[key] + _ITEM_GAP
    return placed, total_width, total_height


_EDGE_LABEL_STYLE: dict[str, Any] = {
    "fontsize": 6,
    "ha": "center",
    "va": "center",
    "color": "dimgray",
    "bbox": {"fc": "white", "ec": "none", "alpha": 0.8, "pad": 0.5},
}


def _render_with_matplotlib(drawing: _Drawing, image_format: str, high_contrast: bool) -> bytes:
    """Draw with matplotlib's Agg canvas (no pyplot state, no system packages)."""
    from matplotlib.colors import to_rgb
    from matplotlib.figure import Figure

    placed, width, height = _positions(_layers(drawing), drawing)
    figure = Figure(figsize=(width, height))
    axes = figure.add_axes((0, 0, 1, 1), xlim=(0, width), ylim=(0, height))
    axes.axis("off")
    for source, target, label in drawing.edges:
        (x0, y0, _), (x1, y1, _) = placed[source], placed[target]
        start, end = (x0, y0 - _ITEM_HEIGHT / 2), (x1, y1 + _ITEM_HEIGHT / 2)
        axes.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "lw": 0.8})
        # Labels nearer the target than the source: arrows leaving one node fan apart.
        axes.text(0.35 * x0 + 0.65 * x1, 0.35 * y0 + 0.65 * y1, label, **_EDGE_LABEL_STYLE)
    for key, item in drawing.items.items():
        x, y, _ = placed[key]
        fill = (item.color if high_contrast else None) or "white"
        box = {
            "boxstyle": "ellipse,pad=0.3" if item.shape == "ellipse" else "square,pad=0.4",
            "fc": fill,
            "ec": item.color if (item.color and not high_contrast) else "black",
        }
        text_color = "white" if _is_dark_rgb(to_rgb(fill)) else "black"
        axes.text(
            x, y, item.label, fontsize=8, ha="center", va="center", color=text_color, bbox=box
        )
    # Stay under the renderer's pixel limit for very large graphs.
    dpi = min(100.0, 30000.0 / max(width, height))
    buffer = io.BytesIO()
    figure.savefig(buffer, format=image_format, dpi=dpi)
    return buffer.getvalue()


def _output_path(outfile: str | None, image_format: str) -> tuple[str, str]:
    """The file to write and its format: a known extension of ``outfile`` decides the
    format; otherwise ``.format`` is appended (Theano's rule)."""
    if outfile is None:
        return os.path.abspath(f"jitgraph_pydotprint.{image_format}"), image_format
    extension = os.path.splitext(outfile)[1][1:].lower()
    if extension in _IMAGE_FORMATS:
        return outfile, extension
    return f"{outfile}.{image_format}", image_format


def _render(drawing: _Drawing, image_format: str, high_contrast: bool) -> bytes:
    dot_text = drawing_to_dot(drawing, high_contrast)
    if image_format == "dot":
        return dot_text.encode()
    dot = _dot_executable()
    if dot is not None:
        return _render_with_dot(dot, dot_text, image_format)
    if image_format not in ("png", "svg", "pdf", "ps", "eps", "jpg", "jpeg"):
        raise ValueError(
            f"pydotprint(format={image_format!r}) needs Graphviz's 'dot', which is not "
            "installed; without it the formats are png, svg, pdf, ps, eps, jpg and dot"
        )
    return _render_with_matplotlib(drawing, image_format, high_contrast)


def pydotprint(
    fct: Any,
    outfile: str | None = None,
    compact: bool = True,
    format: str = "png",
    with_ids: bool = False,
    high_contrast: bool = True,
    cond_highlight: Any = None,
    colorCodes: dict[str, str] | None = None,
    max_label_size: int = 70,
    scan_graphs: bool = False,
    var_with_name_simple: bool = False,
    print_output_file: bool = True,
    return_image: bool = False,
) -> bytes | None:
    """Draw a graph to an image file (Theano's ``pydotprint``, without pydot).

    ``fct``: a compiled function, a Graph, a variable or a list of variables. Apply
    nodes are ellipses coloured by op class (``colorCodes``, default
    ``default_colorCodes``), variables are boxes: inputs green, shared variables cyan,
    constants light grey, outputs blue, unused results grey. Edges carry the value's type,
    prefixed by the input position when a node has several inputs. ``compact``: unnamed
    intermediate values are edges only. ``with_ids``: add the node's execution position.
    ``var_with_name_simple``: label named variables by their name only.

    ``outfile``: default ``jitgraph_pydotprint.<format>`` in the current directory (Theano
    used its compile dir); a known extension (png, svg, pdf, dot, ...) picks the format,
    and ``.dot`` (or ``format='dot'``) writes the Graphviz text. Images are made by
    Graphviz's ``dot`` when it is on PATH, else by matplotlib. ``return_image``: return
    the bytes instead of writing a file. ``cond_highlight`` and ``scan_graphs`` are
    accepted for compatibility (there is no IfElse or Scan op to highlight yet).

    >>> import jitgraph, jitgraph.tensor as T, tempfile, os
    >>> a, b = T.dscalars("a", "b")
    >>> f = jitgraph.function([a, b], a + b)
    >>> path = os.path.join(tempfile.mkdtemp(), "add.dot")
    >>> pydotprint(f, outfile=path, print_output_file=False)
    >>> open(path).read().startswith("digraph")
    True
    """
    options = _DrawOptions(
        compact,
        with_ids,
        {**default_colorCodes, **(colorCodes or {})},
        max_label_size,
        var_with_name_simple,
    )
    drawing = _DrawingBuilder(_graph_to_draw(fct), options).build()
    path, image_format = _output_path(outfile, format.lower())
    image = _render(drawing, image_format, high_contrast)
    if return_image:
        return image
    with open(path, "wb") as handle:
        handle.write(image)
    if print_output_file:
        print("The output file is available at", path)
    return None
