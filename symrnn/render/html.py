"""HTML with the mathematics as MathML, which browsers render with no script and no network.

symrnn's LaTeX output (a derivation: ``align*`` blocks, prose with inline ``$...$``) becomes HTML
here: each math part is converted to MathML by latex2mathml, a pure-Python converter, and every
other piece of text goes through :func:`html_text`, this sink's one escape. A command that
latex2mathml does not know would be left in the MathML as raw LaTeX; :func:`math_html` refuses
that (:class:`~symrnn.errors.RenderError`), so a page never shows raw LaTeX.
"""

from __future__ import annotations

import html
import re

from symrnn.errors import RenderError

_BLOCK = re.compile(r"\\begin\{(align\*)\}(.*?)\\end\{\1\}", re.S)
_INLINE = re.compile(r"\$([^$]+)\$")
_DISPLAY = re.compile(r"\\\[(.*?)\\\]", re.S)


def html_text(text: str) -> str:
    """User text (a title, a spec) for HTML: ``<``, ``>``, ``&`` and quotes escaped.

    Examples
    --------
    >>> html_text('<script>alert("x")</script> & co')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co'
    """
    return html.escape(text, quote=True)


def math_html(latex: str, display: bool = False) -> str:
    """One formula as MathML (``display``: a block); RenderError if any of it would stay LaTeX.

    Examples
    --------
    >>> print(math_html(r"\\frac{\\partial L}{\\partial h_{t}}")[:60])
    <math xmlns="http://www.w3.org/1998/Math/MathML" display="in
    >>> math_html(r"\\unknowncommand x")
    Traceback (most recent call last):
    ...
    symrnn.errors.RenderError: the formula uses \\unknowncommand, which has no MathML form: \\unknowncommand x
    """
    from latex2mathml.converter import convert

    latex = re.sub(r"\\(begin|end)\{aligned\}", r"\\\1{align*}", latex)  # latex2mathml aligns align*, not aligned
    try:
        mathml = convert(latex, display="block" if display else "inline")
    except Exception as e:  # latex2mathml's own errors: a formula it cannot read
        raise RenderError(f"the formula cannot be converted to MathML ({e}): {latex[:200]}") from None
    if re.search(r">\s*&\s*<", mathml):
        raise RenderError(f"the formula has an alignment & outside an alignment: {latex[:200]}")
    left = re.search(r">([^<]*\\[A-Za-z]+)", mathml)
    if left:
        command = re.search(r"\\[A-Za-z]+", left.group(1)).group(0)
        raise RenderError(f"the formula uses {command}, which has no MathML form: {latex[:200]}")
    # \operatorname{LS} comes out as an operator <mo>, spaced as one (q = LS (l)): a name, <mi>, is what it is
    return re.sub(r"<mo>([A-Za-z]{2,})</mo>", r"<mi>\1</mi>", mathml)


#: Characters of a row's right side after which the HTML breaks it at a + or - (MathML does not break lines).
ROW_WIDTH = 200


def _rows(body: str) -> str:
    """An ``align*`` body (rows ``left &= right``) as one formula, a long right side broken at its
    top-level ``+`` and ``-`` into continued rows (``&\\quad + ...``), as the PDF's breqn breaks it."""
    rows = []
    for row in _split(body, "\\\\"):
        left, amp, right = row.partition("&")
        if not amp or len(right) <= ROW_WIDTH:
            rows.append(row)
            continue
        pieces, current = [], ""
        for term in _terms(right):
            if current and len(current) + len(term) > ROW_WIDTH:
                pieces.append(current)
                current = ""
            current += term
        pieces.append(current)
        rows.append(left + "&" + pieces[0] + "".join(" \\\\ &\\quad " + piece for piece in pieces[1:]))
    return r"\begin{align*}" + " \\\\ ".join(rows) + r"\end{align*}"


def _split(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside braces and brackets."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        if text.startswith(separator, i) and depth == 0:
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        if text[i] == "\\":
            i += 2
            continue
        depth += {"{": 1, "(": 1, "[": 1, "}": -1, ")": -1, "]": -1}.get(text[i], 0)
        i += 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _terms(text: str) -> list[str]:
    """``text`` cut where a row may break: before a ``+`` or ``-`` and at a space between factors, outside
    braces and ``\\left ... \\right`` (plain parentheses may open on one row and close on the next)."""
    terms, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if text.startswith("\\left", i):
                depth += 1
            elif text.startswith("\\right", i):
                depth -= 1
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(c, 0)
        before = text[start:i].rstrip()
        if depth == 0 and before and not before.endswith(("=", "(", "[", "\\odot", "+", "-")) and (
                c in "+-" or (c == " " and i + 1 < len(text) and text[i + 1] not in " +-)]^_")):
            terms.append(text[start:i])
            start = i
        i += 1
    terms.append(text[start:])
    return terms


def _prose(text: str) -> str:
    out, at = [], 0
    for found in _INLINE.finditer(text):
        out += [html_text(text[at:found.start()]), math_html(found.group(1))]
        at = found.end()
    return "".join(out) + html_text(text[at:])


def latex_html(text: str) -> str:
    """symrnn's LaTeX output (display blocks and prose with inline math) as HTML paragraphs and MathML.

    Examples
    --------
    >>> from symrnn import latex, pathsum, zoo
    >>> page = latex_html(latex(pathsum(zoo.scalar(), "w_{h}", 2)))
    >>> page.count('display="block"') >= 2, "\\\\frac" in page
    (True, False)
    """
    parts, at = [], 0
    blocks = [(m.start(), m.end(), _rows(m.group(2))) for m in _BLOCK.finditer(text)]
    blocks += [(m.start(), m.end(), m.group(1)) for m in _DISPLAY.finditer(text)]
    for start, end, formula in sorted(blocks):
        if start < at:
            continue
        parts += [_paragraphs(text[at:start]), f'<div class="math">{math_html(formula, display=True)}</div>']
        at = end
    parts.append(_paragraphs(text[at:]))
    return "\n".join(p for p in parts if p)


def _paragraphs(text: str) -> str:
    return "\n".join(f"<p>{_prose(p.strip())}</p>" for p in re.split(r"\n\s*\n", text) if p.strip())
