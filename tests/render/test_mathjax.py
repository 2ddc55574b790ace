"""What Jupyter shows (``_repr_latex_``) is rendered by MathJax, not pdflatex: every command and
environment the derivations use must be one MathJax's TeX input has preloaded (its base and ams
packages, https://docs.mathjax.org/en/latest/input/tex/macros/index.html), none of breqn's
(``dmath``, ``\\condition``), no math inside ``\\text{}`` (MathJax does not process it there), and
``\\operatorname`` names of letters only (MathJax before 3.2.2 reads no digit there)."""

import re
from pathlib import Path

import pytest

from symrnn import zoo
from symrnn.derive import closed_form, pathsum
from symrnn.derive.adjoints import recursion
from symrnn.errors import SymRNNError
from symrnn.graph import Node
from symrnn.model.rnn_reader import load_spec

#: The commands of MathJax's preloaded base and ams packages that a derivation may print.
MATHJAX = set(r"""
\frac \partial \operatorname \mathbf \mathbb \odot \otimes \top \rightarrow \to \quad \qquad \dots \ldots \cdots
\sum \prod \left \right \Big \Bigl \Bigr \big \bigl \bigr \sqrt \tanh \exp \log \sigma \tilde \hat \bar \vec \times
\cdot \neq \leq \geq \begin \end \alpha \beta \gamma \delta \epsilon \varepsilon \zeta \eta \theta \iota \kappa
\lambda \mu \nu \xi \pi \rho \tau \upsilon \phi \varphi \chi \psi \omega \Gamma \Delta \Theta \Lambda \Xi \Pi \Sigma
\Phi \Psi \Omega \lVert \rVert \text \mathrm \boldsymbol \prime \ell \in \mathcal
""".split())
ENVIRONMENTS = {"align*", "aligned", "bmatrix", "pmatrix"}

SPECS = sorted((Path(__file__).parents[2] / "examples" / "literature").glob("*/model.rnn"))
MODELS = [(name, lambda name=name: zoo.get(name)) for name in zoo.MODELS] + [
    (spec.parent.name, lambda spec=spec: load_spec(spec)) for spec in SPECS]


def _shown(model) -> list[str]:
    out = []
    forms = (lambda name, layout: pathsum(model, name, 3, layout=layout, i=2),
             lambda name, layout: pathsum(model, name, 3, layout=layout),
             lambda name, layout: recursion(model, name, layout),
             lambda name, layout: closed_form(model, Node(name), 3, 2, layout),
             lambda name, layout: closed_form(model, Node(name), 3, None, layout))
    for p in model.parameters[:3]:  # the first parameters: every construct of the model shows in them
        for layout in ("numerator", "denominator"):
            for make in forms:
                try:
                    out.append(make(p.name, layout)._repr_latex_())
                except SymRNNError:  # i not read by this model, or given where it is not
                    continue
    return out


@pytest.mark.parametrize("name, make", MODELS, ids=[m[0] for m in MODELS])
def test_jupyter_shows_only_what_mathjax_renders(name, make):
    shown = _shown(make())
    assert shown, name
    for text in shown:
        commands = set(re.findall(r"\\[A-Za-z]+", text))
        assert commands <= MATHJAX, (name, sorted(commands - MATHJAX))
        assert set(re.findall(r"\\begin\{([^}]*)\}", text)) <= ENVIRONMENTS, name
        assert not re.search(r"\\text\{[^}]*\\", text), name  # MathJax leaves macros in \text{} unprocessed
        assert all(re.fullmatch(r"[-*a-zA-Z]+", op) for op in re.findall(r"\\operatorname\{([^}]*)\}", text)), name
        assert text.count("{") == text.count("}"), name
        assert text.count(r"\begin{") == text.count(r"\end{"), name
        assert text.count("$") % 2 == 0, name  # inline math in the notes is closed


def test_the_check_can_fail():
    assert not {r"\condition", r"\mathsup"} <= MATHJAX  # breqn's and an unknown command are caught
    assert {r"\operatorname", r"\odot"} <= MATHJAX
