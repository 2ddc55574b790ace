"""Derivation documents fit the page: no line runs off it (pdflatex's "Overfull \\hbox"), for the
models with the longest equations, every form, both layouts. `python bench/latex_fit.py` runs all
448 documents of the zoo and examples/literature/ (0 lines off the page; 423 before breqn)."""

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from symrnn import zoo
from symrnn.cli import main
from symrnn.model.rnn_reader import load_spec
from tests.conftest import require_program

LITERATURE = Path(__file__).parents[2] / "examples" / "literature"
LONGEST = ["lstm_every", "lstm", "gru_torch", "stacked_bidirectional", str(LITERATURE / "peephole_lstm" / "model.rnn"),
           str(LITERATURE / "layernorm_rnn" / "model.rnn"), str(LITERATURE / "encoder_decoder" / "model.rnn")]


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("name", LONGEST, ids=[Path(n).parent.name or n for n in LONGEST])
def test_no_line_runs_off_the_page(name, layout, tmp_path):
    require_program("pdflatex")
    model = zoo.get(name) if name in zoo.MODELS else load_spec(name)
    extra = ["--i", "2"] if model.positional else []
    for p in model.parameters[:2]:
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
