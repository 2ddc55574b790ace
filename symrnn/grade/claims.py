"""The claims of a hand-written answer: every equation ``LHS = RHS (= RHS2 ...)`` in its mathematics.

An answer is Markdown or LaTeX as people write them: display math (``$$...$$``, ``\\[...\\]``,
``align``/``aligned``/``equation`` environments), inline ``$...$`` with an ``=``, and prose
between. A row that starts with ``=`` continues the row before it (``&= ...`` under an
``\\frac{\\partial L}{\\partial W} &= ...``). What follows ``\\quad`` on a row is a note: a range
(``t = n-1, \\dots, 1``, ``t < n``, ``for t < n``) is kept, a ``where`` definition too, the rest dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Display math and environments, in the order they are looked for; inline math after them.
_DISPLAY = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\begin\{(align|equation|gather|multline)\*?\}(.+?)\\end\{\3\*?\}",
                      re.S)
_INLINE = re.compile(r"(?<![\\$])\$([^$\n]+)\$(?!\$)")
_NOTE = re.compile(r"\\quad|\\qquad|\\text\{\s*(where|for|if|with)\b|,\s*\\text|\\;\\text|\\in\s*\\mathbb")
_RANGE_FORMS = re.compile(r"^(for\s*)?[A-Za-z]\s*([-+]\s*\d+\s*)?(=\s*[^=]*(\\dots|\\ldots|,)|<|\\le|>|\\ge|\\neq)")
_RANGE = re.compile(r"(?:\\text\{\s*for\s*\}|for)?\s*([A-Za-z])\s*(?:[-+]\s*\d+\s*)?(=|<|\\le|\\leq|>|\\ge|\\geq|\\neq)"
                    r"\s*(.+)$", re.S)
#: A side that is words only: ``\text{error}``, ``\text{"I"}``.
_WORDS = re.compile(r"\\(text|mathrm|textrm)\{[^{}]*\}|\\(dots|ldots|cdots)|\.\.\.")
#: A derivative as a claim's side: ``\frac{\partial L}{\partial W}``, ``\frac{dJ}{dW}``.
_DERIVATIVE = re.compile(r"\s*\\[dt]?frac\s*\{\s*(\\partial|d\b|d\\|\\mathrm\{d\}|d[A-Za-z\\])")
#: A condition on the length: ``2 > T``.
_LENGTH = re.compile(r"\d+\s*(<|>|\\leq?|\\geq?)\s*[nTN]\s*\.?")
#: A range in prose after an inline claim: ``$... = 0$ if $t+1 > T$``.
_PROSE_RANGE = re.compile(r"\s*,?\s*(?:if|for|when)\s*\$([^$\n]+)\$")


@dataclass
class Claim:
    """One equation of an answer: ``sides[0] = sides[1] = ...``, where it is, and its notes.

    Attributes
    ----------
    line, column : int
        Where the claim's first side starts in the answer (1-based).
    sides : list of str
        The LaTeX of each side, as written (alignment ``&`` and ``\\boxed`` taken off).
    text : str
        The row as written.
    range : str or None
        A range written after it (``t = n-1, \\dots, 1``, ``t < n``).
    """

    line: int
    column: int
    sides: list[str]
    text: str
    range: str | None = None
    notes: list[str] = field(default_factory=list)
    positions: list[tuple[int, int]] = field(default_factory=list)  # (line, column) of each side


def _position(source: str, offset: int) -> tuple[int, int]:
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def _strip(math: str) -> str:
    # a row's lead-in words and bullets are not mathematics: "\\therefore x = 1", "\\times x = 1" (a bullet)
    math = re.sub(r"^\s*(\\therefore|\\because|\\Rightarrow|\\implies|\\bullet|\\times|\*)\s*", "", math)
    math = re.sub(r"^\s*(\\q?quad\s*)+", "", math)  # the space after a bullet: "* \quad x = 1"
    math = re.sub(r"^\s*\\text\{\s*(let|set|define)\s*\}\s*", "", math)  # "\text{let } s = W^u h_3"
    # a question's number before the claim: "\boxed{1)} \quad h_1 = ...", "3) \quad ...", "(b)"
    math = re.sub(r"^\s*(\\boxed\{\s*\(?[0-9a-z]{1,2}[).]\s*\}|\(?[0-9a-z]{1,2}\)|[0-9]{1,2}\.)\s*(\\q?quad)?\s*", "",
                  math)
    math = re.sub(r"\\begin\{(aligned|split|gathered)\}|\\end\{(aligned|split|gathered)\}", " ", math)
    math = _unwrap(math, "\\boxed")
    math = re.sub(r"\\(boxed|displaystyle)\s*", "", math)
    math = re.sub(r"\\(label|tag|nonumber|notag)(\{[^{}]*\})?", "", math)
    return math


def _unwrap(math: str, command: str) -> str:
    """``math`` with each ``\\boxed{X}`` written ``X``: a boxed result is a claim like any other."""
    out, i = [], 0
    while True:
        j = math.find(command + "{", i)
        if j < 0:
            return "".join(out) + math[i:]
        depth, k = 0, j + len(command)
        for k in range(j + len(command), len(math)):
            depth += {"{": 1, "}": -1}.get(math[k], 0)
            if depth == 0:
                break
        if depth != 0:  # unbalanced: left as it is
            return "".join(out) + math[i:]
        out.append(math[i:j] + math[j + len(command) + 1:k])
        i = k + 1


def _top_level_split(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside braces, brackets and parentheses."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c == "\\" and text.startswith(separator, i) and depth == 0 and separator.startswith("\\"):
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        if c == "\\":
            i += 2
            continue
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth = max(depth - 1, 0)  # an unmatched closer ("1)" numbering a question) opens nothing
        elif text.startswith(separator, i) and depth == 0:
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _rows(math: str) -> list[tuple[int, str]]:
    """The rows of a block (split at ``\\\\``), each with its offset in ``math``."""
    rows, at = [], 0
    for part in _top_level_split(math, "\\\\"):
        rows.append((at, part))
        at += len(part) + 2
    return rows


def claims(source: str) -> list[Claim]:
    """Every claim of an answer, in order.

    Examples
    --------
    >>> text = r'''The error:
    ... $$\\frac{\\partial J}{\\partial s} = y - p \\quad \\text{where } p = \\operatorname{softmax}(s)$$
    ... and $\\delta_t = W^T \\delta_{t+1}$ for $t < n$.'''
    >>> [(c.line, c.sides, c.notes) for c in claims(text)]  # doctest: +NORMALIZE_WHITESPACE
    [(2, ['\\\\frac{\\\\partial J}{\\\\partial s}', 'y - p'], ['p = \\\\operatorname{softmax}(s)']),
     (3, ['\\\\delta_t', 'W^T \\\\delta_{t+1}'], [])]
    """
    found: list[Claim] = []
    blocks = []
    taken = []
    for m in _DISPLAY.finditer(source):
        body_index = next(k for k in (1, 2, 4) if m.group(k) is not None)
        blocks.append((m.start(body_index), m.group(body_index), m.start(), m.end()))
        taken.append((m.start(), m.end()))
    ranges = {}  # inline claim's start -> the range written after it in prose
    for m in _INLINE.finditer(source):
        if any(a <= m.start() < b for a, b in taken) or "=" not in m.group(1):
            continue
        blocks.append((m.start(1), m.group(1), m.start(), m.end()))
        after = _PROSE_RANGE.match(source, m.end())
        written = after.group(1).strip() if after else ""
        if after and (_RANGE.match(written) and _RANGE_FORMS.match(written) or _LENGTH.fullmatch(written)):
            ranges[m.start(1)] = written
    blocks.sort()
    previous: Claim | None = None  # a block that starts with "= ..." continues the last claim
    derivation: Claim | None = None  # the last claim about a derivative, since the last prose
    dangling = ""  # a row that ends with + or - continues on the next one
    last_end = None
    for start, math, outer_start, outer_end in blocks:
        if last_end is not None and source[last_end:outer_start].strip():
            previous, dangling = None, ""  # prose between: a block starting with "=" continues nothing
            derivation = None
        last_end = outer_end
        for offset, row in _rows(math):
            if dangling:
                row, dangling = dangling + " " + row, ""
            if re.search(r"[+-]\s*$", _strip(row).replace("&", " ")):
                dangling = row
                continue
            raw = row
            row = _strip(row).replace("&", " ")
            going_on = re.match(r"\s*(\\q?quad\s*)*(?=[+-])", row)
            if going_on and previous is not None and "=" not in row:  # "&\quad + A B^2 ...": the sum above goes on
                previous.sides[-1] += " " + row[going_on.end():].strip()
                continue
            note_at = _NOTE.search(row)
            claim_text, notes_text = (row[:note_at.start()], row[note_at.start():]) if note_at else (row, "")
            sides = [s.strip().rstrip(",.;") .strip() for s in _top_level_split(claim_text, "=")]
            sides = [s for s in sides if not _WORDS.fullmatch(s)]  # "= \text{error}": a word, not a formula
            if not any(sides) or len(sides) < 2 and not (previous and sides[0]):
                continue
            lead = len(raw) - len(raw.lstrip())
            line, column = _position(source, start + offset + lead)
            notes, range_ = [], None
            for note in re.split(r"\\quad|\\qquad|,\s*(?=\\text)", notes_text):
                note = re.sub(r"\\text\{\s*(where|for|if|with)\s*\}", lambda m: m.group(1), note).strip(" ,.;")
                note = re.sub(r"^(where|with|for|if)\s+", "", note).strip()
                if not note:
                    continue
                if _RANGE.match(note) and _RANGE_FORMS.match(note):
                    range_ = note
                elif "=" in note:
                    notes.append(note)
            if sides[0] == "" and previous is not None and derivation is not None and derivation is not previous \
                    and not _DERIVATIVE.match(previous.sides[0]) and _DERIVATIVE.search(" ".join(sides)):
                previous = derivation  # "= \frac{..}{..} ..." after a side equation (g_t = ...) goes on with the
                # derivation above it, not with the side equation
            if sides[0] == "" and previous is not None:  # "&= ..." continues the row above
                previous.positions += [(line, column)] * len([s for s in sides[1:] if s])
                previous.sides += [s for s in sides[1:] if s]
                previous.notes += notes
                previous.range = previous.range or range_
                continue
            if len(sides) < 2 or not sides[0]:  # "= c" with nothing before it to continue: no claim
                previous = None
                continue
            kept = [s for s in sides if s]
            range_ = range_ or ranges.get(start)
            claim = Claim(line, column, kept, raw.strip(), range_, notes, [(line, column)] * len(kept))
            found.append(claim)
            previous = claim
            if _DERIVATIVE.match(claim.sides[0]):
                derivation = claim
    return found
