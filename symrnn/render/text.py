"""Plain-text printing: paths one per line, the model's equations."""

from __future__ import annotations

import networkx as nx
from rich.markup import escape

from symrnn.render.latex import latex, model_latex


def terminal_text(text: str, markup: bool = True) -> str:
    """User text (a name, a title, an error message) made safe for the terminal: the one escape of that sink.

    Control characters (escape sequences) are shown as ``\\x1b`` instead of reaching the terminal;
    for text that rich prints (``markup``), brackets are escaped too, so that ``V^{[/x]}`` or
    ``[link=file:...]`` print as written.

    Examples
    --------
    >>> print(terminal_text("V^{[/x]}"), terminal_text("a\\x1b[31m"))
    V^{\\[/x]} a\\x1b[31m
    """
    shown = "".join(c if c.isprintable() or c in " \n" else repr(c)[1:-1] for c in text)
    return escape(shown) if markup else shown


def path_line(G: nx.DiGraph, path) -> str:
    """``W^{hx} -> h^{(3)} -> l -> q -> o``: a path by display names.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> from symrnn.graph import unroll, Node
    >>> G = unroll(elman(), 1)
    >>> path_line(G, (Node("V"), Node("l"), Node("q"), Node("o")))
    'V -> l -> q -> o'
    """
    return " -> ".join(G.nodes[v]["latex"] for v in path)


#: Counts of more digits than this print in scientific notation (Python refuses to print an int of
#: more than 4,300 digits; the LSTM has that many paths at n = 10,400).
MAX_EXACT_DIGITS = 4000


def count_line(count: int) -> str:
    """``3 paths`` / ``1 path``; a count of more than :data:`MAX_EXACT_DIGITS` digits in scientific notation.

    Examples
    --------
    >>> count_line(1), count_line(3), count_line(7 * 10**5000)
    ('1 path', '3 paths', '7.000e+5000 paths')
    """
    shown = str(count) if _digits(count) <= MAX_EXACT_DIGITS else approximate(count)
    return f"{shown} path" if count == 1 else f"{shown} paths"


def _digits(count: int) -> int:
    """The number of decimal digits of ``count`` (without printing it)."""
    if count < 10:
        return 1
    guess = int(count.bit_length() * 0.30102999566398120)  # log10(2)
    return guess + 1 if count >= 10 ** guess else guess


def approximate(count: int) -> str:
    """A count for a sentence: exact up to 12 digits, else ``6.836e+417`` (counts overflow floats).

    Examples
    --------
    >>> approximate(10000), approximate(3 * 10**500 + 1)
    ('10000', '3.000e+500')
    """
    digits = _digits(count)
    if digits <= 12:
        return str(count)
    lead = str(count // 10 ** (digits - 4))  # the first four digits, without printing the rest
    return f"{lead[0]}.{lead[1:4]}e+{digits - 1}"


def model_text(model) -> str:
    """The model's equations in LaTeX, one per line, with its title."""
    body = model_latex(model).removeprefix(r"\begin{aligned}").removesuffix(r"\end{aligned}")
    lines = [line.strip().replace("&", "") for line in body.split(r"\\")]
    return "\n".join([f"{model.name}: {model.title}", *lines])


def sensitivity_record(row) -> dict:
    """The JSON form of a sensitivity row: ``from``, ``to``, ``varies``, ``reason``, ``jacobian``."""
    return {"from": row.source_latex, "to": row.target_latex, "varies": row.varies,
            "reason": row.reason, "jacobian": latex(row.jacobian)}


def sensitivity_line(row) -> str:
    """``varies   D(a -> b) = ...: reason`` / ``constant D(a -> b) = ...: reason``."""
    verdict = "varies  " if row.varies else "constant"
    return f"{verdict} D({row.source_latex} -> {row.target_latex}) = {latex(row.jacobian)}: {row.reason}"


def number_text(value) -> str:
    """A computed value for a terminal: a number, or nested lists of numbers; Fractions as ``1/10``.

    Examples
    --------
    >>> from fractions import Fraction
    >>> import numpy as np
    >>> number_text(np.array([[Fraction(1, 10)], [Fraction(2)]], dtype=object)), number_text(np.array([[0.5]]))
    ('[1/10, 2]', '0.5')
    """
    import numpy as np

    array = np.asarray(value)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.size == 1:
        return _number(array.reshape(-1)[0])
    if array.ndim == 1:
        return "[" + ", ".join(_number(v) for v in array) + "]"
    return "[" + ", ".join(number_text(row) for row in array) + "]"


def _number(v) -> str:
    from fractions import Fraction

    if isinstance(v, Fraction):
        return str(v)
    return f"{float(v):.10g}"
