"""Display names (LaTeX) as Graphviz HTML-like labels: ``W^{hx}`` -> ``W<SUP>hx</SUP>``.

Graphviz cannot typeset LaTeX; this covers what display names use:
superscripts, subscripts, braces, Greek letters and a few commands.
"""

from __future__ import annotations

import html

GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η",
    "theta": "θ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ",
    "sigma": "σ", "tau": "τ", "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Sigma": "Σ", "Phi": "Φ",
    "Psi": "Ψ", "Omega": "Ω", "top": "⊤", "odot": "⊙", "otimes": "⊗", "rightarrow": "→",
    "partial": "∂", "ell": "ℓ",
}


#: Commands around one group that a label shows as the group itself (an accent added for the first four).
WRAPPERS = ("tilde", "hat", "bar", "vec", "mathbf", "mathrm", "mathcal", "mathit", "mathsf", "boldsymbol", "bm",
            "operatorname", "text")


def latex_to_html(text: str) -> str:
    """An HTML-like Graphviz label for a LaTeX display name.

    Examples
    --------
    >>> latex_to_html("W^{hx}"), latex_to_html("h^{(2,t)}"), latex_to_html(r"\\gamma")
    ('W<SUP>hx</SUP>', 'h<SUP>(2,t)</SUP>', 'γ')
    >>> latex_to_html(r"\\mathcal{L}_{t}"), latex_to_html(r"\\bm{x}")  # a font command keeps its letter
    ('L<SUB>t</SUB>', 'x')
    """
    out, _ = _parse(text, 0, closing=False)
    return out


def _parse(text: str, i: int, closing: bool) -> tuple[str, int]:
    out = []
    while i < len(text):
        ch = text[i]
        if ch == "}" and closing:
            return "".join(out), i + 1
        if ch in "^_":
            tag = "SUP" if ch == "^" else "SUB"
            inner, i = _group(text, i + 1)
            out.append(f"<{tag}>{inner}</{tag}>")
            continue
        if ch == "{":
            inner, i = _parse(text, i + 1, closing=True)
            out.append(inner)
            continue
        if ch == "\\":
            j = i + 1
            while j < len(text) and text[j].isalpha():
                j += 1
            command = text[i + 1 : j]
            if command in WRAPPERS:
                inner, j = _group(text, j)
                mark = {"tilde": "\u0303", "hat": "\u0302", "bar": "\u0304", "vec": "\u20d7"}.get(command, "")
                out.append(inner + mark)
            elif command in GREEK:
                out.append(GREEK[command])
            elif command == "":
                j = min(j + 1, len(text))
                out.append(html.escape(text[i + 1 : j]) if text[i + 1 : j] not in ",;! " else " ")
            else:
                out.append(html.escape(command))
            i = j
            continue
        out.append(html.escape(ch))
        i += 1
    return "".join(out), i


def _group(text: str, i: int) -> tuple[str, int]:
    if i < len(text) and text[i] == "{":
        return _parse(text, i + 1, closing=True)
    if i < len(text) and text[i] == "\\":
        j = i + 1
        while j < len(text) and text[j].isalpha():
            j += 1
        return _parse(text[i:j], 0, closing=False)[0], j
    return html.escape(text[i : i + 1]), i + 1
