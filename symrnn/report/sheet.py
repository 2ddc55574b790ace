"""A solution sheet: for each model its declaration, graph, gradients, numeric check and gradient flow.

:func:`build` derives and measures everything once into :class:`Section` s (the one source of
the sheet's content); :func:`html_page` writes it as one HTML page that works offline (the
mathematics as MathML, rendered by the browser with no script; the graph inline as SVG; the flow
figure inline as a PNG data URI) and :func:`latex_document` as a LaTeX document that pdflatex
compiles (breqn breaks the long lines; a table of contents). User text reaches the page through
:func:`~symrnn.render.html.html_text` and the document through
:func:`~symrnn.render.document.latex_text` only.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

from symrnn.model.declared import Kind, Model

#: Characters of a spec line in the PDF (\\small typewriter on the page's width).
SPEC_WIDTH = 88
#: The forms a sheet can show, in order, with their headings.
FORMS = {"pathsum": "The sum over paths", "recursion": "The backward recursion", "closed": "The closed form"}

STYLE = """
body { font-family: "DejaVu Serif", Georgia, serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #222; }
h1 { font-size: 1.8rem; } h2 { border-bottom: 1px solid #ccc; margin-top: 2.5rem; } h4 { margin-bottom: 0.3rem; }
nav { background: #f5f5f5; padding: 0.6rem 1.2rem; border-radius: 6px; }
pre { background: #f8f8f8; padding: 0.6rem; overflow-x: auto; font-size: 0.85rem; }
.math { overflow-x: auto; padding: 0.2rem 0; }
math[display="block"] { font-size: 1.05rem; }
mtd[columnalign="right"] { text-align: right; padding: 0.15rem 0; }
mtd[columnalign="left"] { text-align: left; padding: 0.15rem 0; }
[mathvariant="bold"] { font-weight: bold; }
td math, h4 math { font-size: 1.2em; }
table { border-collapse: collapse; font-size: 0.9rem; }
td, th { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }
.fail { color: #b00; font-weight: bold; }
figure { margin: 0.5rem 0; } figure img, figure svg { max-width: 100%; height: auto; }
"""


@dataclass
class Gradient:
    """One parameter's gradient in one form: its heading and its LaTeX (plain, and broken for pdflatex)."""

    parameter: str
    form: str
    latex: str
    broken: str


@dataclass
class Section:
    """Everything the sheet shows of one model."""

    model: Model
    spec: str
    equations: str
    where: str
    graph_svg: str
    graph_pdf: bytes
    gradients: list[Gradient] = field(default_factory=list)
    checks: list = field(default_factory=list)
    flow_png: bytes | None = None
    flow_bound: str | None = None  # the textbook bound, as a LaTeX inequality
    check_point: str = ""  # where the check evaluated: sizes, seed, bindings
    flow_respected: bool | None = None

    #: What the flow figure shows (plain text).
    FLOW_NOTE = "Median and 10-90% band of 5 draws, recurrent weights at spectral radius 0.8, 1 and 1.2."

    suffix: str = ""  # set by _unique when two models of one sheet share a name

    @property
    def anchor(self) -> str:
        return "model-" + "".join(c if c.isalnum() else "-" for c in self.model.name) + self.suffix

    def _repr_html_(self) -> str:
        """Jupyter shows the section as the sheet's HTML (MathML, the graph, the figure)."""
        page = html_page([self], self.model.title)
        return page[page.index("<body>") + len("<body>"):page.index("</body>")]  # no style: it restyles a notebook


def build(model: Model, n: int, forms=("closed",), layout: str = "denominator", bindings: dict | None = None,
          sizes: dict | None = None, i: int | None = None, flow_n: int = 50, seed: int = 0,
          progress=None) -> Section:
    """Derive, draw, check and measure one model for the sheet.

    Parameters
    ----------
    model : Model
        The model.
    n : int
        The sequence length of the derivations, the graph and the check.
    forms : sequence of str
        Which forms of each gradient to show: ``"pathsum"``, ``"recursion"``, ``"closed"``.
    layout : str
        ``"numerator"`` or ``"denominator"``.
    bindings : dict, optional
        Concrete functions for abstract ones, for the check and the flow.
    sizes : dict, optional
        Sizes for the check and the flow (3 for each not given in the check, 8 in the flow).
    i : int, optional
        The label position, for the models that read one.
    flow_n : int
        The length of the flow measurement; 0 leaves it out.
    seed : int
        The seed of the check's point and the flow's draws.
    progress : callable, optional
        Called with a short description before each stage.

    Returns
    -------
    Section
        The model's part of the sheet.

    Examples
    --------
    >>> from symrnn import zoo
    >>> s = build(zoo.scalar(), 2, flow_n=5)
    >>> [g.parameter for g in s.gradients], all(r.passed for r in s.checks), s.flow_png[:4]
    (['w_{x}', 'w_{h}', 'w_{y}', 'h_{0}'], True, b'\\x89PNG')
    """
    from symrnn.derive import pathsum
    from symrnn.derive.adjoints import closed_form, recursion
    from symrnn.derive.deltas import named_deltas
    from symrnn.errors import SymRNNError
    from symrnn.graph import find_node, unroll
    from symrnn.numeric.gradcheck import check_model
    from symrnn.paths import iter_paths
    from symrnn.render.dot import graph_dot, run_dot
    from symrnn.render.latex import latex, model_latex
    from symrnn.render.rnn_writer import spec_text

    say = progress or (lambda _: None)
    bindings = bindings or {f: "tanh" for f in model.abstract_functions}
    G = unroll(model, n, i)
    factored = named_deltas(model)
    parameters = [p for p in model.parameters if not _constant(model, p.name)]
    say(f"{model.name}: the graph")
    first = find_node(G, parameters[0].latex) if parameters else None
    paths = tuple(iter_paths(G, first)) if first is not None else ()
    dot = graph_dot(G, paths[:8])
    timed = any(v.timed for v in model.variables)
    where = (f"n = {n}" + (f", i = {i}" if i is not None else "")) if timed else ""
    section = Section(model, spec_text(model), model_latex(model), where, _svg(run_dot(dot, "svg").decode()),
                      run_dot(dot, "pdf"))
    for p in parameters:
        say(f"{model.name}: the gradient in {p.name}")
        node = find_node(G, p.latex)
        for form in forms:
            try:
                if form == "pathsum":
                    derived = pathsum(model, node, n, graph=G, layout=layout)
                elif form == "recursion":
                    derived = recursion(factored, node.name, layout)
                else:
                    derived = closed_form(factored, node, n, i, layout)
            except SymRNNError as e:  # the loss does not depend on it, or too many paths: said, not hidden
                section.gradients.append(Gradient(p.latex, form, "", str(e)))
                continue
            section.gradients.append(Gradient(p.latex, form, latex(derived), latex(derived, breaking=True)))
    say(f"{model.name}: the numeric check")
    check_sizes = {str(s): (sizes or {}).get(str(s), 3) for s in model.sizes}
    checked = tuple(dict.fromkeys([*forms, *(["recursion"] if "closed" in forms else [])]))  # what is printed
    section.checks = check_model(model, n, check_sizes, seed, None, bindings, forms=checked, layout=layout,
                                 i=i, deltas=True)
    section.check_point = ", ".join([*(f"{k} = {v}" for k, v in check_sizes.items()), f"seed {seed}",
                                     *(f"{f} = {b}" for f, b in bindings.items())])
    if flow_n and any(v.kind is Kind.STATE for v in model.variables):
        from symrnn.flow import measure
        from symrnn.flow.plot import figure

        say(f"{model.name}: the gradient flow")
        import io

        curves = measure(model, flow_n, [0.8, 1.0, 1.2], 5, sizes, bindings, None, seed,
                         i if model.positional and (i or 0) <= flow_n else None)
        buffer = io.BytesIO()
        figure(curves, f"{model.title}: gradient flow over n = {flow_n} steps").savefig(buffer, format="png", dpi=110)
        section.flow_png = buffer.getvalue()
        c = curves[0]
        if c.bound_latex:
            section.flow_bound = rf"\|\partial {c.last_latex} / \partial {c.state_latex}\|_2 \le {c.bound_latex}"
        section.flow_respected = all(c.bound_respected for c in curves) if section.flow_bound else None
    return section


def _unique(sections: list[Section]) -> list[Section]:
    """The sections with anchors (and file names) that differ, two models of one name numbered."""
    seen: dict[str, int] = {}
    for section in sections:
        section.suffix = ""
        count = seen.get(section.anchor, 0)
        seen[section.anchor] = count + 1
        if count:
            section.suffix = f"-{count + 1}"
    return sections


def _constant(model: Model, name: str) -> bool:
    from symrnn.graph.unroll import is_zero_start

    return is_zero_start(model, name)


def _svg(svg: str) -> str:
    """Graphviz's SVG without its XML prolog, to sit inside an HTML page."""
    return svg[svg.index("<svg"):]


# -- HTML -----------------------------------------------------------------------------------
def html_page(sections: list[Section], title: str) -> str:
    """The sheet as one self-contained HTML page.

    Examples
    --------
    >>> from symrnn import zoo
    >>> page = html_page([build(zoo.scalar(), 2, flow_n=0)], "Week 3")
    >>> page.count("<math") > 20, "\\\\frac" in page.split("</pre>")[1]
    (True, False)
    """
    from symrnn.render.html import html_text, latex_html, math_html

    toc, body = [], []
    for s in _unique(sections):
        t = html_text(s.model.title)
        toc.append(f'<li><a href="#{s.anchor}">{t}</a><ul>'
                   + "".join(f'<li><a href="#{s.anchor}-{k}">{h}</a></li>' for k, h in _parts(s)) + "</ul></li>")
        body.append(f'<section id="{s.anchor}"><h2>{t}</h2>')
        body.append(f'<h3 id="{s.anchor}-model">The model</h3><pre class="spec">{html_text(s.spec)}</pre>'
                    f'<div class="math">{math_html(s.equations, display=True)}</div>')
        heading = f"The graph, {html_text(s.where)}" if s.where else "The graph"
        body.append(f'<h3 id="{s.anchor}-graph">{heading}</h3><figure>{s.graph_svg}</figure>')
        body.append(f'<h3 id="{s.anchor}-gradients">The gradients</h3>')
        for g in s.gradients:
            heading = f"{math_html(_dd(s.model, g.parameter))}: {FORMS[g.form].lower()}"
            content = latex_html(g.latex) if g.latex else f"<p>{html_text(g.broken)}</p>"
            body.append(f"<h4>{heading}</h4>{content}")
        body.append(f'<h3 id="{s.anchor}-check">The numeric check</h3><p>{html_text(_check_note(s))}</p>'
                    f"{_check_html(s)}")
        if s.flow_png is not None:
            data = base64.b64encode(s.flow_png).decode()
            body.append(f'<h3 id="{s.anchor}-flow">The gradient flow</h3><figure><img alt="gradient flow of '
                        f'{t}" src="data:image/png;base64,{data}"></figure>'
                        f"<p>{html_text(s.FLOW_NOTE)} {_bound_html(s)}</p>")
        if s.flow_png is None:
            body.append(f"<p>{html_text(NO_FLOW)}</p>")
        body.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html_text(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{html_text(title)}</h1><nav><strong>Contents</strong><ul>{''.join(toc)}</ul></nav>"
            + "\n".join(body) + "</body></html>\n")


def _parts(s: Section) -> list[tuple[str, str]]:
    parts = [("model", "The model"), ("graph", "The graph"), ("gradients", "The gradients"),
             ("check", "The numeric check")]
    return parts + ([("flow", "The gradient flow")] if s.flow_png is not None else [])


def _dd(model: Model, parameter: str) -> str:
    return rf"\frac{{\partial {model.var(model.loss).latex}}}{{\partial {parameter}}}"


def _bound_html(s: Section) -> str:
    from symrnn.render.html import math_html

    if s.flow_bound is None:
        return "Theory gives no simple bound for this recurrence."
    respected = "yes" if s.flow_respected else "NO"
    return f"The bound (dashed): {math_html(s.flow_bound)}, respected in every draw: {respected}."


#: What a section without a flow figure says in its place.
NO_FLOW = "No gradient-flow figure: the model has no state over time (or --flow-n 0)."


def _check_note(s: Section, latex: bool = False) -> str:
    """What the check compares, and where."""
    from symrnn.render.document import latex_text

    text = (f"Each printed formula evaluated at a random point ({s.check_point}) and compared with central finite "
            "differences of the forward pass; it passes when the relative error is below 1e-6.")
    return latex_text(text) if latex else text


def _check_html(s: Section) -> str:
    from symrnn.render.html import html_text, math_html

    rows = []
    for r in s.checks:
        name = math_html(r.name) if str(r.form) == "recursion" else math_html(_dd(s.model, r.name))
        result = html_text(r.result)
        cell = "<td>" if r.passed else '<td class="fail">'
        rows.append(f"<tr><td>{html_text(str(r.form))}</td><td>{name}</td><td>{r.checked} of {r.total}</td>"
                    f"<td>{r.error:.1e}</td>{cell}{result}</td></tr>")
    return ("<table><tr><th>form</th><th>gradient</th><th>entries</th><th>rel. error</th><th>result</th></tr>"
            + "".join(rows) + "</table>")


# -- LaTeX ----------------------------------------------------------------------------------
def latex_document(sections: list[Section], title: str) -> str:
    """The sheet as a LaTeX document; it reads ``<anchor>-graph.pdf`` and ``<anchor>-flow.png`` beside it.

    Examples
    --------
    >>> from symrnn import zoo
    >>> tex = latex_document([build(zoo.scalar(), 2, flow_n=0)], "Week 3 & 4")
    >>> r"\\tableofcontents" in tex, r"Week 3 \\& 4" in tex
    (True, True)
    """
    from symrnn.render.document import PREAMBLE, latex_text

    parts = [PREAMBLE + "\\usepackage{graphicx}\n\\usepackage{longtable}\n\\usepackage[hidelinks]{hyperref}\n"
             "\\begin{document}\n",
             rf"\title{{{latex_text(title)}}}\date{{}}\maketitle", r"\tableofcontents"]
    for s in _unique(sections):
        parts.append(rf"\clearpage\section{{{latex_text(s.model.title)}}}")
        parts.append(r"\subsection{The model}" + "\n" + _verbatim(s.spec) + "\n\\[" + s.equations + "\\]")
        graph = rf"\subsection{{The graph, ${latex_text(s.where)}$}}" if s.where else r"\subsection{The graph}"
        parts.append(graph + "\n"
                     rf"\begin{{center}}\includegraphics[width=\linewidth,height=0.7\textheight,keepaspectratio]"
                     rf"{{{s.anchor}-graph.pdf}}\end{{center}}")
        parts.append(r"\subsection{The gradients}")
        for g in s.gradients:
            parts.append(rf"\subsubsection*{{${_dd(s.model, g.parameter)}$: {FORMS[g.form].lower()}}}")
            parts.append(g.broken if g.latex else latex_text(g.broken))
        parts.append(r"\subsection{The numeric check}" + "\n" + _check_latex(s))
        if s.flow_png is None:
            parts.append(latex_text(NO_FLOW))
        if s.flow_png is not None:
            parts.append(r"\subsection{The gradient flow}" + "\n"
                         rf"\begin{{center}}\includegraphics[width=\linewidth]{{{s.anchor}-flow.png}}\end{{center}}"
                         + "\n" + latex_text(s.FLOW_NOTE) + " " + _bound_latex(s))
    return "\n\n".join(parts) + "\n\\end{document}\n"


def _bound_latex(s: Section) -> str:
    if s.flow_bound is None:
        return "Theory gives no simple bound for this recurrence."
    return f"The bound (dashed): ${s.flow_bound}$, respected in every draw: {'yes' if s.flow_respected else 'NO'}."


def _verbatim(text: str) -> str:
    """Text in a typewriter block, every character escaped (a spec may come from a stranger)."""
    import textwrap

    from symrnn.render.document import latex_text

    lines = []
    for line in text.splitlines():  # a long line continues, further indented, so none runs off the page
        indent = len(line) - len(line.lstrip(" "))
        pieces = textwrap.wrap(line.strip(), SPEC_WIDTH - indent, break_long_words=True, break_on_hyphens=False,
                               subsequent_indent="    ") or [""]
        for piece in pieces:
            pad = indent + len(piece) - len(piece.lstrip(" "))
            lines.append((f"\\hspace*{{{pad / 2:g}em}}" if pad else "") + (latex_text(piece.strip()) or "~"))
    return "{\\small\\ttfamily\\frenchspacing\n" + "\\\\\n".join(lines) + "\\par}"


def _check_latex(s: Section) -> str:
    from symrnn.render.document import latex_text

    rows = [r"{\renewcommand{\arraystretch}{1.8}\begin{longtable}{llrrl}",
            r"form & gradient & entries & rel.\ error & result \\ \hline \endhead"]
    for r in s.checks:
        name = r.name if str(r.form) == "recursion" else _dd(s.model, r.name)
        rows.append(f"{latex_text(str(r.form))} & ${name}$ & {r.checked} of {r.total} & {r.error:.1e} & "
                    f"{latex_text(r.result)} \\\\")
    return _check_note(s, latex=True) + "\n" + "\n".join(rows + [r"\end{longtable}}"])


def write(sections: list[Section], out: Path, title: str, pdf: bool = True) -> list[Path]:
    """Write ``report.html``, ``report.tex``, its figures and (with ``pdf``) ``report.pdf`` into ``out``."""
    from symrnn.render.document import compile_pdf

    out.mkdir(parents=True, exist_ok=True)
    (out / "report.pdf").unlink(missing_ok=True)  # an earlier sheet's PDF must not pass for this one's
    _unique(sections)
    written = []
    page = out / "report.html"
    page.write_text(html_page(sections, title))
    written.append(page)
    assets = []
    for s in sections:
        graph = out / f"{s.anchor}-graph.pdf"
        graph.write_bytes(s.graph_pdf)
        assets.append(graph)
        if s.flow_png is not None:
            flow = out / f"{s.anchor}-flow.png"
            flow.write_bytes(s.flow_png)
            assets.append(flow)
    tex = out / "report.tex"
    tex.write_text(latex_document(sections, title))
    written += [tex, *assets]
    if pdf:
        written.append(compile_pdf(tex, assets=assets, runs=2))
    return written
