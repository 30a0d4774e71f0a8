"""The notebooks of ``notebooks/`` run top to bottom, at their small sizes, and draw their plots.

Each notebook is executed with nbclient in a kernel of *this* interpreter (a kernel spec
written to a temporary directory whose command is ``sys.executable``, so a kernel spec
installed elsewhere cannot substitute another Python and another jitgraph), in a temporary
working directory, with ``JITGRAPH_NOTEBOOK_SMALL=1`` and ``JITGRAPH_NOTEBOOK_OUT`` pointing
at that directory. The committed notebooks must carry no outputs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is needed (the test extra)")

MISSING = [name for name in ("nbclient", "ipykernel") if importlib.util.find_spec(name) is None]
needs_kernel = pytest.mark.skipif(
    bool(MISSING), reason=f"{' and '.join(MISSING)} missing: the test extra runs the notebooks"
)
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")  # the colours of IPython's tracebacks

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CELL_TIMEOUT_S = 300

# Each notebook and the figures it writes to JITGRAPH_NOTEBOOK_OUT.
FIGURES = {
    "01_theano_tour.ipynb": ["01_logistic.png"],
    "02_scan_and_random.ipynb": ["02_normal_histogram.png"],
    "03_jit_and_numpy.ipynb": ["03_timing.png"],
    "04_performance.ipynb": ["04_benchmarks.png"],
}


def test_every_notebook_is_listed() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(FIGURES)


def this_interpreters_kernel(directory: Path) -> Any:
    """A kernel manager whose only "python3" kernel runs ``sys.executable``."""
    from jupyter_client.kernelspec import KernelSpecManager  # nbclient's dependency
    from jupyter_client.manager import AsyncKernelManager

    spec = directory / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3 (tests)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    specs = KernelSpecManager(kernel_dirs=[str(spec.parent)], ensure_native_kernel=False)
    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=specs)


def execute(notebook_path: Path, workdir: Path) -> None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(notebook_path, as_version=4)
    env = {
        **os.environ,
        "JITGRAPH_NOTEBOOK_SMALL": "1",
        "JITGRAPH_NOTEBOOK_OUT": str(workdir),
    }
    client = NotebookClient(
        notebook,
        km=this_interpreters_kernel(workdir / "kernel-spec"),
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},  # the kernel's working directory
    )
    try:
        client.execute(env=env)
    except CellExecutionError as error:
        message = ANSI_ESCAPE.sub("", str(error))
        pytest.fail(f"{notebook_path.name}: a cell failed:\n{message}", pytrace=False)
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors, f"{notebook_path.name}: cells reported errors: {errors}"


@needs_kernel
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_notebook_runs_and_writes_its_plots(name: str, tmp_path: Path) -> None:
    execute(NOTEBOOKS / name, tmp_path)
    for figure in FIGURES[name]:
        path = tmp_path / figure
        assert path.is_file(), f"{name} did not write {figure}"
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE), f"{figure} is not a PNG file"
        assert len(data) > 1024, f"{figure} is only {len(data)} bytes"


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_committed_notebook_is_clean(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"{name}: cell {index} has stored outputs"
        assert cell.execution_count is None, f"{name}: cell {index} has an execution count"
