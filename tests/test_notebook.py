"""The Q1 notebook runs, and its objects display as LaTeX and SVG."""

from pathlib import Path

import pytest

from tests.conftest import require_program

nbformat = pytest.importorskip("nbformat", reason="nbformat reads the example notebook")
nbclient = pytest.importorskip("nbclient", reason="nbclient executes the example notebook")

NOTEBOOK = Path(__file__).parents[1] / "examples" / "elman" / "elman.ipynb"


def test_q1_notebook_executes_and_displays():
    require_program("dot")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    latex = [o.data["text/latex"] for o in outputs if "data" in o and "text/latex" in o.data]
    svg = [o.data["image/svg+xml"] for o in outputs if "data" in o and "image/svg+xml" in o.data]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert latex[0].startswith("$$\\begin{aligned}a^{(t)} &= W^{hx} x^{(t)} + W^{hh} h^{(t-1)} + b^{h}")  # the model
    assert r"A \frac{\partial h^{(3)}}{\partial W^{hx}} + A B^{(2)}" in latex[1]  # Q1b's path sum
    assert r"\sum_{t=1}^{n}" in latex[2]  # the closed form
    assert len(svg) == 1 and "<svg" in svg[0] and "W" in svg[0]
    assert "W^{hx} -> h^{(1)} -> h^{(2)} -> h^{(3)} -> l -> q -> o" in text
    assert text.count(" pass") == 15 and "FAIL" not in text
    png = [o.data["image/png"] for o in outputs if "data" in o and "image/png" in o.data]
    assert len(png) == 1 and png[0].startswith("iVBORw0KGgo")  # the flow figure, inline (base64 PNG)
    html = [o.data["text/html"] for o in outputs if "data" in o and "text/html" in o.data]
    assert len(html) == 1 and html[0].count("<math") > 50 and "The numeric check" in html[0]  # the sheet's section
