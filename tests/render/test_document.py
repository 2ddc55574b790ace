"""Generated LaTeX is tested by compiling it."""

from pathlib import Path

import pytest

from symrnn.derive import pathsum
from symrnn.errors import RenderError
from symrnn.render.document import compile_pdf, standalone
from symrnn.render.latex import latex
from symrnn.zoo import elman
from tests.conftest import require_program


@pytest.mark.parametrize("wrt,n,g", [("W^{hx}", 3, "g"), (r"\gamma", 2, "tanh"), ("x^{(1)}", 5, "sigmoid"),
                                     ("h^{(0)}", 4, "identity"), ("W^{hh}", 6, "relu")])
def test_derivations_compile(tmp_path, wrt, n, g):
    require_program("pdflatex")
    tex = tmp_path / "derivation.tex"
    tex.write_text(standalone(latex(pathsum(elman(g), wrt, n)), f"Gradient in ${wrt}$"))
    pdf = compile_pdf(tex)
    assert pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 1000


def test_broken_latex_reports_the_error(tmp_path):
    require_program("pdflatex")
    tex = tmp_path / "bad.tex"
    tex.write_text(standalone(r"$\frac{1}{$"))
    with pytest.raises(RenderError, match="pdflatex failed"):
        compile_pdf(tex)


SECRET = "the contents of a file a spec must not read"


def _secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def test_a_name_with_a_latex_command_is_refused_where_it_is_written(tmp_path):
    from click.testing import CliRunner

    from symrnn.cli import main

    spec = tmp_path / "hostile.rnn"
    spec.write_text((Path(__file__).parents[2] / "examples" / "specs" / "sheet" / "q1.rnn").read_text()
                    .replace("W^{hx}", r"W^{\input{secret.txt}}", 1))
    result = CliRunner().invoke(main, ["derive", str(spec), "--wrt", "V", "--n", "2"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert r"uses \input, which a name may not use" in result.output and "hostile.rnn:" in result.output


def test_a_title_is_text_and_a_document_reads_no_file(tmp_path, monkeypatch):
    require_program("pdflatex")
    from symrnn.render.document import latex_text

    secret = _secret(tmp_path)
    monkeypatch.chdir(tmp_path)
    title = rf"my_q1 & \input{{{secret}}} \input{{secret.txt}} 100%"
    tex = tmp_path / "derivation.tex"
    tex.write_text(standalone("$x$", latex_text(title)))
    assert r"\textbackslash{}input" in tex.read_text() and r"\input{" not in tex.read_text()
    pdf = compile_pdf(tex)
    assert pdf.read_bytes()[:4] == b"%PDF"
    # a document that asks for a file anyway (written by hand): pdflatex may not open it
    tex.write_text(standalone(rf"\input{{{secret}}}"))
    with pytest.raises(RenderError, match="pdflatex failed"):
        compile_pdf(tex)


def test_a_document_that_loops_is_stopped(tmp_path, monkeypatch):
    require_program("pdflatex")
    import symrnn.render.document as document

    monkeypatch.setattr(document, "PDFLATEX_TIMEOUT", 3)
    tex = tmp_path / "loop.tex"
    tex.write_text(standalone(r"\def\a{\a}\a"))
    with pytest.raises(RenderError, match="pdflatex ran more than 3 s"):
        compile_pdf(tex)


def test_a_path_sum_too_long_for_breqn_is_written_a_term_per_line_and_compiles(tmp_path, monkeypatch):
    """The LSTM's path sum in h_0 at n = 5 (about 10,000 characters) makes breqn fail ("Dimension too
    large"); written a term per line in align*, the document compiles."""
    require_program("pdflatex")
    from symrnn import zoo
    from symrnn.render import latex as printer

    ps = pathsum(zoo.lstm(), "h0", 5)
    text = latex(ps, breaking=True)
    assert len(text) > printer.BREQN_MAX_CHARS and "&\\quad + " in text and "\\begin{dmath*}" in text  # where: breqn
    tex = tmp_path / "long.tex"
    tex.write_text(standalone(text, "LSTM"))
    assert compile_pdf(tex).read_bytes()[:4] == b"%PDF"
    monkeypatch.setattr(printer, "BREQN_MAX_CHARS", 10**9)  # the same sum given to breqn
    tex.write_text(standalone(latex(ps, breaking=True), "LSTM"))
    with pytest.raises(RenderError, match="Dimension too large"):
        compile_pdf(tex)


def test_brackets_around_a_fraction_are_as_tall_as_it_in_a_document():
    from symrnn import zoo
    from symrnn.derive.adjoints import closed_form
    from symrnn.graph import Node

    cf = closed_form(zoo.vanilla(), Node("W_x"), 3, None, "denominator")
    typeset = latex(cf, breaking=True)
    assert (r"\sum_{t=1}^{n} \Bigl(\frac{\partial L}{\partial h_{t}} \odot (\mathbf{1} - h_{t} \odot h_{t})\Bigr) "
            r"x_{t}^{\top}") in typeset  # the bracket without a fraction stays plain
    assert r"\Bigl(" not in latex(cf)  # the terminal's and Jupyter's text keeps plain brackets
