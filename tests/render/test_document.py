"""Generated LaTeX is tested by compiling it."""

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
