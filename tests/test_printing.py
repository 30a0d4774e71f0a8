"""Tests of jitgraph.printing: debugprint text, pp formulas, pydotprint images (Graphviz
and matplotlib backends) and the Print op."""

from __future__ import annotations

import doctest
import io
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import jitgraph
import jitgraph.tensor as T
from jitgraph import graphdraw, printing
from jitgraph.ir.graph import Graph
from jitgraph.printing import Print, debugprint, pp, pydotprint

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def xy() -> tuple[object, object]:
    return T.dscalars("x", "y")


def test_module_examples_run() -> None:
    result = doctest.testmod(printing, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 5
    assert result.failed == 0


# ----------------------------------------------------------------------------- debugprint
def test_debugprint_exact_text(xy: tuple) -> None:
    x, y = xy
    assert debugprint(x + y * 2, file="str") == (
        "Elemwise{add} [id A] ''\n"
        " |x [id B]\n"
        " |Elemwise{mul} [id C] ''\n"
        "   |y [id D]\n"
        "   |TensorConstant{2} [id E]\n"
    )


def test_debugprint_names_and_nesting_prefixes(xy: tuple) -> None:
    x, y = xy
    product = x * y
    product.name = "prod"
    text = debugprint(T.exp(product) - x, file="str")
    assert text == (
        "Elemwise{sub} [id A] ''\n"
        " |Elemwise{exp} [id B] ''\n"
        " | |Elemwise{mul} [id C] 'prod'\n"
        " |   |x [id D]\n"
        " |   |y [id E]\n"
        " |x [id D]\n"
    )


def test_debugprint_shared_subtree_printed_once(xy: tuple) -> None:
    x, y = xy
    shared_part = x * y
    text = debugprint(shared_part + shared_part, file="str")
    assert text == (
        "Elemwise{add} [id A] ''\n"
        " |Elemwise{mul} [id B] ''\n"
        " | |x [id C]\n"
        " | |y [id D]\n"
        " |Elemwise{mul} [id B] ''\n"
    )


def test_debugprint_print_type() -> None:
    m = T.dmatrix("m")
    v = T.dvector("v")
    text = debugprint(m + v, print_type=True, file="str")
    assert text == (
        "Elemwise{add} [id A] <TensorType(float64, matrix)> ''\n"
        " |m [id B] <TensorType(float64, matrix)>\n"
        " |DimShuffle{x,0} [id C] <TensorType(float64, row)> ''\n"
        "   |v [id D] <TensorType(float64, vector)>\n"
    )


def test_debugprint_function_shows_execution_order(xy: tuple) -> None:
    x, y = xy
    f = jitgraph.function([x, y], x + y * 2, mode="REFERENCE")
    assert debugprint(f, file="str") == (
        "Elemwise{add} [id A] ''   1\n"
        " |x [id B]\n"
        " |Elemwise{mul} [id C] ''   0\n"
        "   |y [id D]\n"
        "   |TensorConstant{2} [id E]\n"
    )
    assert debugprint(f.maker.fgraph, file="str") == debugprint(f, file="str")


def test_debugprint_list_shares_ids_between_outputs(xy: tuple) -> None:
    x, y = xy
    total = x + y
    text = debugprint([total, total * x], file="str")
    assert text == (
        "Elemwise{add} [id A] ''\n"
        " |x [id B]\n"
        " |y [id C]\n"
        "Elemwise{mul} [id D] ''\n"
        " |Elemwise{add} [id A] ''\n"
        " |x [id B]\n"
    )
    assert Graph([x, y], [total, total * x]).as_text() == text


def test_debugprint_depth_stop_on_name_and_id_styles(xy: tuple) -> None:
    x, y = xy
    inner = x * y
    inner.name = "inner"
    out = inner + 1.5
    assert debugprint(out, depth=1, file="str") == "Elemwise{add} [id A] ''\n"
    assert debugprint(out, stop_on_name=True, file="str") == (
        "Elemwise{add} [id A] ''\n |Elemwise{mul} [id B] 'inner'\n |TensorConstant{1.5} [id C]\n"
    )
    assert debugprint(out, ids="int", file="str").splitlines()[3] == " | |y [id 3]"
    assert "[id" not in debugprint(out, ids="", file="str")
    assert f"[id {id(x)}]" in debugprint(out, ids="id", file="str")


def test_debugprint_many_ids_and_deep_graphs() -> None:
    x = T.dscalar("x")
    out = x
    for _ in range(3000):  # deeper than Python's recursion limit
        out = out + 1.0
    lines = debugprint(out, file="str").splitlines()
    assert len(lines) == 6001
    assert lines[26].endswith("Elemwise{add} [id BA] ''")  # Theano's base 26: 26 -> BA
    assert printing._char_id(26 * 26) == "BAA"
    assert len(pp(out)) > 3000


def test_debugprint_streams(capsys: pytest.CaptureFixture[str], xy: tuple) -> None:
    x, _ = xy
    assert debugprint(T.exp(x)) is sys.stdout
    assert capsys.readouterr().out == "Elemwise{exp} [id A] ''\n |x [id B]\n"
    stream = io.StringIO()
    assert debugprint(T.exp(x), file=stream) is stream
    assert stream.getvalue() == "Elemwise{exp} [id A] ''\n |x [id B]\n"


def test_debugprint_constants_and_shared() -> None:
    s = jitgraph.shared(np.zeros(3), name="s")
    big = T.constant(np.arange(30.0))
    ones = T.constant(np.ones((2, 3)))
    text = debugprint([s * ones[0], s + big], file="str")
    assert "|s [id" in text
    assert "TensorConstant{(2, 3) of 1.0}" in text
    assert "TensorConstant{[ 0. 1. 2.... 28. 29.]}" in text


def test_debugprint_rejects_other_objects() -> None:
    with pytest.raises(TypeError, match="debugprint cannot print a str"):
        debugprint("x")
    with pytest.raises(TypeError, match="depth=.* must be an int"):
        debugprint(T.dscalar(), depth=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ids=.* must be"):
        debugprint(T.dscalar(), ids="hex")


# ----------------------------------------------------------------------------- pp
@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda x, y, z: x + y, "(x + y)"),
        (lambda x, y, z: (x + y) * z, "((x + y) * z)"),
        (lambda x, y, z: x + y * z, "(x + (y * z))"),
        (lambda x, y, z: x - (y - z), "(x - (y - z))"),
        (lambda x, y, z: (x - y) - z, "((x - y) - z)"),
        (lambda x, y, z: x / (y * z), "(x / (y * z))"),
        (lambda x, y, z: -x, "(-x)"),
        (lambda x, y, z: -(x + y), "(-(x + y))"),
        (lambda x, y, z: T.exp(-x), "exp((-x))"),
        (lambda x, y, z: x > y, "(x > y)"),
        (lambda x, y, z: T.eq(x, y + z), "(x == (y + z))"),
        (lambda x, y, z: x * 2, "(x * TensorConstant{2})"),
        (lambda x, y, z: T.switch(x > 0, y, z), "switch((x > TensorConstant{0}), y, z)"),
        (lambda x, y, z: T.cast(x, "float32"), "float32(x)"),
    ],
)
def test_pp_scalar_expressions(build: object, expected: str) -> None:
    x, y, z = T.dscalars("x", "y", "z")
    assert pp(build(x, y, z)) == expected  # type: ignore[operator]


def test_pp_arrays() -> None:
    m, n = T.dmatrices("m", "n")
    v = T.dvector("v")
    i = T.iscalar("i")
    assert pp(T.dot(m, v)) == "(m \u00b7 v)"
    assert pp(m + v) == "(m + v)"  # broadcast padding is invisible
    assert pp(m.T) == "m.T"
    assert pp(m[1:, 0]) == "m[1:, 0]"
    assert pp(m[i, :3]) == "m[i, :3]"
    assert pp(v[::2]) == "v[::2]"
    assert pp(v[-1]) == "v[-1]"
    assert pp(m.sum(axis=0)) == "sum(m, axis=(0,))"
    assert pp(m.sum()) == "sum(m)"
    assert pp(T.max(m, axis=1, keepdims=True)) == "max(m, axis=(1,), keepdims=True)"
    assert pp(m.shape[0] * 2) == "(m.shape[0] * TensorConstant{2})"
    assert (
        pp(T.dot(m, n).sum(axis=1) + 1.0) == "(sum((m \u00b7 n), axis=(1,)) + TensorConstant{1.0})"
    )


def test_pp_functions_lists_and_unknown_ops(xy: tuple) -> None:
    x, y = xy
    f = jitgraph.function([x, y], [x + y, x * y], mode="REFERENCE")
    assert pp(f) == "(x + y)\n(x * y)"
    assert pp([x, y]) == "x\ny"
    assert pp(Print("hello")(x) + y) == "(Print{hello}(x) + y)"  # default: Op(inputs)
    assert printing.pprint is pp and jitgraph.pp is pp
    with pytest.raises(TypeError, match="pp cannot print a int"):
        pp(3)


# ----------------------------------------------------------------------------- pydotprint
def _seed_functions() -> list[jitgraph.Function]:
    """The seed programs: a function computing a + b, and one computing dot(a, b)."""
    a, b = T.dscalars("a", "b")
    ma, mb = T.dmatrices("a", "b")
    return [jitgraph.function([a, b], a + b), jitgraph.function([ma, mb], T.dot(ma, mb))]


def _check_png(path: Path) -> None:
    import matplotlib.image

    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
    image = matplotlib.image.imread(str(path))
    assert image.ndim == 3 and image.shape[0] > 20 and image.shape[1] > 20


@pytest.fixture
def no_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graphdraw, "_dot_executable", lambda: None)


@pytest.mark.usefixtures("no_dot")
def test_pydotprint_matplotlib_png(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for f in _seed_functions():
        pydotprint(f, outfile="scalar_addition.png", var_with_name_simple=True)
        assert capsys.readouterr().out == "The output file is available at scalar_addition.png\n"
        _check_png(tmp_path / "scalar_addition.png")


@pytest.mark.usefixtures("no_dot")
def test_pydotprint_matplotlib_other_formats_and_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    m = T.dmatrix("m")
    s = jitgraph.shared(np.ones(3), name="s")
    named = m * 2.0
    named.name = "twice"
    graph = [(named + s).sum(axis=0), T.exp(m)[0]]
    pydotprint(
        graph,
        outfile=str(tmp_path / "g.svg"),
        compact=False,
        with_ids=True,
        high_contrast=False,
        print_output_file=False,
    )
    assert (tmp_path / "g.svg").read_text().lstrip().startswith("<?xml")
    image = pydotprint(graph, return_image=True, format="pdf")
    assert isinstance(image, bytes) and image.startswith(b"%PDF")
    assert not list(tmp_path.glob("jitgraph_pydotprint.*"))  # return_image writes nothing
    with pytest.raises(ValueError, match="needs Graphviz's 'dot'"):
        pydotprint(graph, outfile=str(tmp_path / "g"), format="gif")


def test_pydotprint_default_outfile_in_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    pydotprint(_seed_functions()[0], format="dot")
    expected = tmp_path / "jitgraph_pydotprint.dot"
    assert capsys.readouterr().out == f"The output file is available at {expected}\n"
    assert expected.read_text().startswith("digraph G {")


def test_pydotprint_dot_text_content(tmp_path: Path) -> None:
    a, b = T.dscalars("a", "b")
    s = jitgraph.shared(1.0, name="s")
    f = jitgraph.function([a, b], (a + b) * s + 2.0, mode="REFERENCE")
    pydotprint(f, outfile=str(tmp_path / "f.dot"), print_output_file=False)
    text = (tmp_path / "f.dot").read_text()
    assert (
        'label="name=a TensorType(float64, scalar)", shape=box, style=filled, '
        'fillcolor="green"' in text
    )
    assert 'fillcolor="cyan"' in text  # the shared variable
    assert 'label="val=2.0 TensorType(float32, scalar)"' in text
    assert 'label="Elemwise{add}", shape=ellipse, style=filled, fillcolor="#FFAABB"' in text
    assert 'fillcolor="blue", fontcolor=white' in text  # the output
    assert '[label="0 TensorType(float64, scalar)"]' in text  # edges name the input position
    assert text.count("shape=box") == 5  # a, b, s, 2.0 and the output: compact
    pydotprint(f, outfile=str(tmp_path / "full.dot"), compact=False, var_with_name_simple=True)
    full = (tmp_path / "full.dot").read_text()
    assert full.count("shape=box") == 7 and 'label="a"' in full
    assert "id=2" in full or "id=1" in full  # two Elemwise{add} told apart


def test_pydotprint_rejects_other_objects() -> None:
    with pytest.raises(TypeError, match="pydotprint cannot draw str"):
        pydotprint("f")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_pydotprint_graphviz_png(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for f in _seed_functions():
        pydotprint(
            f, outfile="scalar_addition.png", var_with_name_simple=True, print_output_file=False
        )
        _check_png(tmp_path / "scalar_addition.png")
    image = pydotprint(f, format="svg", return_image=True)
    assert isinstance(image, bytes) and b"<svg" in image


# ----------------------------------------------------------------------------- Print
def test_print_op_prints_and_passes_value(capsys: pytest.CaptureFixture[str]) -> None:
    x = T.dvector("x")
    f = jitgraph.function([x], Print("x is")(x) * 2)
    value = np.array([1.0, 2.5])
    np.testing.assert_array_equal(f(value), value * 2)
    assert capsys.readouterr().out == "x is __str__ = [1.  2.5]\n"


def test_print_op_attrs_dtype_and_identity(capsys: pytest.CaptureFixture[str]) -> None:
    x = T.imatrix("x")
    printed = Print("m", attrs=("shape", "sum"))(x)
    assert printed.type == x.type
    f = jitgraph.function([x], printed)
    value = np.arange(6, dtype="int32").reshape(2, 3)[:, ::-1]
    result = f(value)
    np.testing.assert_array_equal(result, value)
    assert result.dtype == np.int32
    assert capsys.readouterr().out == "m shape = (2, 3)\nm sum = 15\n"
    assert Print("a") == Print("a") and Print("a") != Print("b")
    assert Print("a", attrs=["shape"]).attrs == ("shape",)  # type: ignore[arg-type]
    assert "0x" not in Print("a").signature()
    assert Print("a").do_constant_folding(printed.owner) is False


def test_print_op_custom_hook_shape_and_errors() -> None:
    seen = []
    x = T.dvector("x")
    op = Print("hook", global_fn=lambda op, value: seen.append((op.message, value.copy())))
    out = op(x)
    (shape,) = op.infer_shape(out.owner, [(x.shape[0],)])
    f = jitgraph.function([x], [out, shape[0]])
    result, length = f(np.arange(4.0))
    np.testing.assert_array_equal(result, np.arange(4.0))
    assert int(length) == 4
    assert seen[0][0] == "hook"
    np.testing.assert_array_equal(seen[0][1], np.arange(4.0))
    with pytest.raises(TypeError, match="attribute names"):
        Print("a", attrs=(1,))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Print takes one input"):
        Print("a")(x, x)


def test_multi_output_nodes_print_their_output_index() -> None:
    import dataclasses

    from jitgraph.ops.base import Op

    @dataclasses.dataclass(frozen=True)
    class Split(Op):
        def make_node(self, *inputs: object) -> jitgraph.Node:
            (x,) = inputs
            return self.make_apply([x], [x.type, x.type])  # type: ignore[attr-defined]

    x = T.dvector("x")
    first, second = Split()(x)
    assert debugprint([first, second], file="str") == (
        "Split.0 [id A] ''\n |x [id B]\nSplit.1 [id A] ''\n"
    )
    assert pp(second + first) == "(Split(x) + Split(x))"
    drawing = pydotprint([second], format="dot", return_image=True)
    assert isinstance(drawing, bytes) and b'fillcolor="grey"' in drawing  # unused output


def test_debugprint_of_an_optimized_function_lists_its_kernels() -> None:
    a, b = T.dmatrices("a", "b")
    diff = a - b
    f = jitgraph.function([a, b], [diff, abs(diff), diff**2])
    text = debugprint(f, file="str")
    assert text.count("Fused{subtract,absolute,square}") >= 3  # one node, three outputs
    assert "Inner graphs:" in text and "t0: float64 = subtract(in0, in1)" in text
    assert len(f.kernels) == 1 and "absolute" in f.kernels[0].as_text()
