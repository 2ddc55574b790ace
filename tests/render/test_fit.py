"""Derivation documents fit the page: no line runs off it (pdflatex's "Overfull \\hbox"), for every
zoo model, every shipped spec of the question sheet and every model of examples/literature/, every
parameter, ``--form all``, both layouts, n = 3 (the closed forms do not depend on n). 423 lines
ran off the page before breqn (`python bench/latex_fit.py` counts them)."""

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from symrnn import zoo
from symrnn.cli import main
from symrnn.model.rnn_reader import load_spec
from tests.conftest import require_program

EXAMPLES = Path(__file__).parents[2] / "examples"
MODELS = [*zoo.MODELS, *map(str, sorted((EXAMPLES / "specs" / "sheet").glob("*.rnn"))),
          *map(str, sorted((EXAMPLES / "literature").glob("*/model.rnn")))]


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("name", MODELS, ids=[Path(n).stem if n.endswith("rnn") and "sheet" in n
                                              else Path(n).parent.name if n.endswith("rnn") else n for n in MODELS])
def test_no_line_runs_off_the_page(name, layout, tmp_path):
    require_program("pdflatex")
    model = zoo.get(name) if name in zoo.MODELS else load_spec(name)
    extra = ["--i", "2"] if model.positional else []
    for p in model.parameters:
        out = tmp_path / p.name
        result = CliRunner().invoke(main, ["derive", name, "--wrt", p.name, "--n", "3", "--form", "all", "--layout",
                                           layout, *extra, "--out", str(out)])
        assert result.exit_code == 0, result.output
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", "derivation.tex"], cwd=out,
                       capture_output=True, timeout=120, check=True)
        log = (out / "derivation.log").read_text(errors="replace")
        assert not re.findall(r"Overfull \\hbox.*", log), (p.name, re.findall(r"Overfull \\hbox.*", log))


def test_the_terminal_keeps_align_and_the_document_breaks_long_lines(tmp_path):
    result = CliRunner().invoke(main, ["derive", "lstm", "--wrt", "W_{h}^{f}", "--n", "3", "--form", "recursion",
                                       "--out", str(tmp_path)])
    assert result.output.startswith("\\begin{align*}\n")
    document = (tmp_path / "derivation.tex").read_text()
    assert "\\usepackage{breqn}" in document and "\\begin{dgroup*}\n  \\begin{dmath*} " in document
    assert "\\condition*{t = n-1, \\dots, 1}" in document  # a line's range, kept with its line
