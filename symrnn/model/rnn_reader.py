"""The ``.rnn`` text format: a model typed the way the question sheet writes it.

The text is parsed by a real grammar (``rnn.lark``, LALR) and turned into the same
calls of :class:`~symrnn.model.builder.ModelBuilder` that a Python declaration makes,
so both give the same frozen :class:`~symrnn.model.declared.Model`. Nothing of the text
is ever evaluated: names, times and sizes are matched and built by this module.

Every mistake is a :class:`~symrnn.errors.SpecError` whose message starts with
``file:line:col``, shows the line with a caret under the culprit, says what was
expected, and gives a hint where one is obvious. The format is described in
``docs/text-format.md``.

Examples
--------
>>> model = parse_spec('''
... sizes m, K
... input x^{(t)} in R^m
... label y in 1..K
... param W in R^{m x m}
... param h^{(0)} in R^m
... param V in R^{K x m}
... for t = 1..n:
...     h^{(t)} = tanh(W h^{(t-1)} + x^{(t)})
... q = LS(V h^{(n)}), o = -q_y
... loss o
... ''')
>>> [p.latex for p in model.parameters]
['W', 'h^{(0)}', 'V']
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sympy as sp
from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.indenter import DedentError, Indenter

from symrnn.errors import SpecError, SymRNNError
from symrnn.model import builder as B
from symrnn.model.declared import Kind, Loop, Model
from symrnn.operations import algebra as al
from symrnn.operations import primitives as P
from symrnn.operations.functions import FUNCTIONS as FUNCTION_RECORDS
from symrnn.operations.symbols import NAME_PATTERN, I, J, N, T, canonical, format_time

#: Bounds on what a spec may ask for, so a hostile or broken file fails fast.
MAX_BYTES = 200_000
MAX_LINE = 1_000
MAX_DEPTH = 60
MAX_VARIABLES = 500
MAX_DIM_FACTOR = 1_000

#: Every function and call-form primitive by each of its text spellings.
FUNCTIONS: dict[str, P.Primitive] = {
    **{name: P.elementwise(f.name) for f in FUNCTION_RECORDS.values() for name in f.spellings},
    **P.CALLS,
}

_KEYWORDS = {
    "NAME": "a name such as W^{hx} or h^{(t-1)}", "CALL": "a function such as g( or LS(", "INT": "a number",
    "IDENT": "a plain name (letters and digits)", "_NL": "the end of the line", "$END": "the end of the file",
    "IN": "\\in (or in)", "REALS": "\\mathbb{R} (or R)", "DOTS": "\\dots (or ..)", "TIMES": "\\times",
    "DIMTIMES": "\\times (or x)", "ODOT": "\\odot", "LPAR": "(", "RPAR": ")", "EQUAL": "=", "COMMA": ",",
    "PLUS": "+", "MINUS": "-", "COLON": ":", "LBRACE": "{", "RBRACE": "}", "CIRCUMFLEX": "^", "SUM": "\\sum_t",
    "_INDENT": "an indented block", "_DEDENT": "the end of an indented block", "SIGN": "+ or -",
    "STRING": 'a "title"', "SQUARE": "2", "NORM_R": "\\rVert", "NORM_L": "\\lVert", "ONEHOT": "onehot",
    "FOR": "for", "MODEL": "model", "SIZES": "sizes", "PARAM": "param", "INPUT": "input", "LABEL": "label",
    "LOSS": "loss", "LET": "let",
}


class _RnnIndenter(Indenter):
    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR", "CALL"]
    CLOSE_PAREN_types = ["RPAR"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 4


@cache  # the parser, built once
def _parser() -> Lark:
    grammar = (Path(__file__).with_name("rnn.lark")).read_text().replace("@NAME_PATTERN@", NAME_PATTERN)
    return Lark(grammar, parser="lalr", postlex=_RnnIndenter(), propagate_positions=True, maybe_placeholders=False)


# -- public API ----------------------------------------------------------------------------
def load_spec(path: str | Path) -> Model:
    """Read and parse a ``.rnn`` file.

    Raises SpecError for a file that is missing, too large, not text (NUL bytes, not
    UTF-8), empty, or wrong in any way the parser finds.

    Parameters
    ----------
    path : str or pathlib.Path
        The file (``examples/specs/sheet/q1.rnn``); the model is named after its stem.

    Returns
    -------
    Model
        The frozen model, the same one the builder API makes from the same declaration.

    Raises
    ------
    SpecError
        As above; a mistake in the text is reported as ``file:line:col`` with the line and a caret.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from symrnn import load_spec
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "mlp.rnn"
    ...     _ = path.write_text("sizes d, K\\nparam W in R^{K x d}\\ninput x in R^d\\n"
    ...                         "label y in 1..K\\nq = LS(W x), o = -q_y\\nloss o\\n")
    ...     model = load_spec(path)
    >>> model.name, [p.latex for p in model.parameters], model.loss
    ('mlp', ['W'], 'o')
    """
    path = Path(path)
    try:
        with path.open("rb") as file:  # at most one byte past the limit: an endless input is not read whole
            data = file.read(MAX_BYTES + 1)
    except OSError as e:
        raise SpecError(f"{path}: cannot read the spec: {e.strerror or e}") from None
    if len(data) > MAX_BYTES:
        raise SpecError(f"{path}: the spec is more than {MAX_BYTES} bytes, the limit")
    return parse_spec(decode_spec(data, str(path)), str(path), name=path.stem)


def decode_spec(data: bytes, filename: str = "<spec>") -> str:
    """The text of a spec file; SpecError if it is too large or not text."""
    if len(data) > MAX_BYTES:
        raise SpecError(f"{filename}: the spec is {len(data)} bytes, above the limit of {MAX_BYTES}")
    if b"\x00" in data:
        offset = data.index(b"\x00")
        raise SpecError(f"{filename}: not a text file (a NUL byte at offset {offset}); a spec is UTF-8 text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"{filename}: not a text file (byte 0x{data[e.start]:02x} at offset {e.start} is not "
                        "UTF-8); a spec is UTF-8 text") from None


def parse_spec(text: str, filename: str = "<spec>", name: str | None = None) -> Model:
    """Parse the text of a ``.rnn`` spec into a Model (see the module docstring for an example).

    Parameters
    ----------
    text : str
        The spec (``docs/text-format.md``): declarations one per line, then the equations, then
        ``loss NAME``.
    filename : str, optional
        The name its errors give as ``file:line:col``.
    name : str, optional
        The model's name.

    Returns
    -------
    Model
        The frozen model.

    Raises
    ------
    SpecError
        For a text that is too large, empty, or wrong in any way the parser or the builder finds;
        its message starts with ``file:line:col``, shows the line with a caret, and gives a hint.

    Examples
    --------
    >>> from symrnn import parse_spec
    >>> model = parse_spec("sizes d, K\\nparam W in R^{K x d}\\ninput x in R^d\\nlabel y in 1..K\\n"
    ...                    "q = LS(W x), o = -q_y\\nloss o\\n", name="softmax_regression")
    >>> model.name, [v.name for v in model.variables], model.loss
    ('softmax_regression', ['W', 'x', 'y', 'q', 'o'], 'o')
    >>> parse_spec("sizes d\\nloss o\\n", filename="bad.rnn")
    Traceback (most recent call last):
    ...
    symrnn.errors.SpecError: bad.rnn:2:6: unknown name o
        loss o
             ^
    """
    if len(text) > MAX_BYTES:
        raise SpecError(f"{filename}: the spec is {len(text)} characters, above the limit of {MAX_BYTES}")
    if "\x00" in text:
        raise SpecError(f"{filename}: not a text file (a NUL character); a spec is UTF-8 text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # Windows and old Mac line endings are line endings
    source = _Source(text, filename)
    if not any(line.strip() and not line.strip().startswith(("#", "%")) for line in source.lines):
        raise SpecError(f"{filename}: the spec is empty; it declares sizes, parameters, inputs and labels, "
                        "the equations, and ends with `loss NAME` (see docs/text-format.md)")
    for number, line in enumerate(source.lines, 1):
        if len(line) > MAX_LINE:
            raise source.error(f"line is {len(line)} characters long, above the limit of {MAX_LINE}", number, 1)
    source.check_nesting()
    try:
        tree = _parser().parse(text if text.endswith("\n") else text + "\n")
    except UnexpectedInput as e:
        raise source.syntax_error(e) from None
    except DedentError as e:
        raise SpecError(f"{filename}: the indentation does not match any outer block ({e})") from None
    except (LarkError, RecursionError) as e:  # any other refusal of the grammar is still the spec's fault
        raise SpecError(f"{filename}: cannot parse the spec: {e}") from None
    source.check_depth(tree)
    return _Reader(source, name or "spec").read(tree)


# -- sources and errors --------------------------------------------------------------------
class _Source:
    def __init__(self, text: str, filename: str):
        self.text = text
        self.filename = filename
        self.lines = text.splitlines() or [""]

    def error(self, message: str, line: int, column: int, hint: str | None = None, cls=SpecError) -> SpecError:
        src = self.lines[line - 1] if 1 <= line <= len(self.lines) else ""
        prefix = src[: max(column - 1, 0)].expandtabs(4)
        out = f"{self.filename}:{line}:{column}: {message}\n    {src.expandtabs(4)}\n    {' ' * len(prefix)}^"
        if hint:
            out += f"\nhint: {hint}"
        err = cls(out)
        err.line, err.column = line, column
        return err

    def at(self, where, message: str, hint: str | None = None, cls=SpecError) -> SpecError:
        line, column = _position(where)
        return self.error(message, line, column, hint, cls)

    def syntax_error(self, e: UnexpectedInput) -> SpecError:
        line, column = getattr(e, "line", 1) or 1, getattr(e, "column", 1) or 1
        if isinstance(e, UnexpectedCharacters):
            char = self.lines[line - 1][column - 1] if line <= len(self.lines) and column <= len(
                self.lines[line - 1]) else "?"
            return self.error(f"unexpected character {char!r}", line, column, _expected(e.allowed))
        if isinstance(e, UnexpectedEOF):
            return self.error("the spec ends in the middle of a statement", len(self.lines), 1,
                              _expected(e.expected))
        if isinstance(e, UnexpectedToken):
            token = e.token
            if token.type == "$END":
                line = len(self.lines)
                return self.error("the spec ends in the middle of a statement", line,
                                  len(self.lines[-1]) + 1, _expected(e.expected))
            shown = "the end of the line" if token.type == "_NL" else repr(str(token))
            if token.type in ("_INDENT", "_DEDENT"):
                shown = "indentation"
            hint = _expected(e.expected)
            if token.type in ("_INDENT", "_DEDENT"):  # the indenter places them on the newline before
                line = min(line + 1, len(self.lines))
                text = self.lines[line - 1]
                column = len(text) - len(text.lstrip()) + 1
            if token.type == "_INDENT":
                hint = "only the body of a `for ...:` line is indented"
            return self.error(f"unexpected {shown}", line, column, hint)
        return self.error(str(e).splitlines()[0], line, column)

    def check_nesting(self) -> None:
        depth = 0
        for number, line in enumerate(self.lines, 1):
            for column, char in enumerate(line, 1):
                depth += char in "({"
                depth -= char in ")}"
                if depth > MAX_DEPTH:
                    raise self.error(f"brackets nested more than {MAX_DEPTH} deep", number, column)

    def check_depth(self, tree: Tree) -> None:
        stack = [(tree, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > 4 * MAX_DEPTH:
                raise self.at(node, f"expression nested more than {4 * MAX_DEPTH} levels deep; split it with `let`")
            stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _expected(names) -> str | None:
    shown = sorted({_KEYWORDS.get(n, n.lower() if n.isupper() else n) for n in names if not n.startswith("__")})
    if not shown:
        return None
    return "expected " + (shown[0] if len(shown) == 1 else "one of: " + ", ".join(shown))


def _position(where) -> tuple[int, int]:
    if isinstance(where, Token):
        return where.line or 1, where.column or 1
    if isinstance(where, Tree) and not where.meta.empty:
        return where.meta.line, where.meta.column
    if isinstance(where, Tree):
        for child in where.children:
            if isinstance(child, (Token, Tree)):
                return _position(child)
    return 1, 1


# -- names ---------------------------------------------------------------------------------
#: The canonical spelling of a name (``b^h`` -> ``b^{h}``): two spellings of one name are one name.
normalize = canonical


def _index_pattern(index: str) -> re.Pattern:
    return re.compile(rf"(?<![A-Za-z\\]){re.escape(index)}(?![A-Za-z0-9])")


def make_template(name: str, index: str) -> str | None:
    """``h^{(t)}`` -> ``h^{({t})}`` (the builder's placeholder); None if the index is not in the name once."""
    hits = list(_index_pattern(index).finditer(name))
    if len(hits) != 1:
        return None
    hit = hits[0]
    return name[: hit.start()] + "{t}" + name[hit.end():]


def _template_regex(template: str) -> re.Pattern:
    before, _, after = template.partition("{t}")
    return re.compile(re.escape(before) + r"(?P<time>[A-Za-z0-9+\-]+)" + re.escape(after) + r"\Z")


def identifier(display: str, taken: set) -> str:
    """A Python identifier for a display name (``W^{hx}`` -> ``W_hx``, ``\\eta^{({t})}`` -> ``eta``)."""
    s = display.replace("{t}", "")
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_")
    if not s or not s[0].isalpha():
        s = "v_" + s
    out, k = s, 2
    while out in taken:
        out, k = f"{s}_{k}", k + 1
    return out


_TIME_TOKEN = re.compile(r"\s*(\d+|[A-Za-z]+|[+-])")


def parse_time(text: str, index: str | None, inner: str | None = None) -> sp.Expr | None:
    """``t-1`` -> ``t - 1`` (with ``index`` standing for the loop's t), ``n+1``, ``i-1``, ``0``; None if not a time.
    ``inner`` is the letter of the loop's second index (attention's ``j`` in ``h_j``), read as ``j``."""
    tokens, pos = [], 0
    while pos < len(text):
        m = _TIME_TOKEN.match(text, pos)
        if not m:
            return None
        tokens.append(m.group(1))
        pos = m.end()
    value, sign, expect_term = sp.S.Zero, 1, True
    for tok in tokens:
        if expect_term:
            if tok.isdigit():
                term = sp.Integer(int(tok))
            elif tok == "n":
                term = N
            elif tok == "i":
                term = I
            elif index is not None and tok == index:
                term = T
            elif inner is not None and tok == inner:
                term = J
            else:
                return None
            value += sign * term
            expect_term = False
        elif tok in "+-":
            sign, expect_term = (1 if tok == "+" else -1), True
        else:
            return None
    return None if expect_term else value


# -- the reader ----------------------------------------------------------------------------
@dataclass
class _Timed:
    decl: object
    template: str
    regex: re.Pattern
    index: str


class _Transposed:
    """``a^{\\top}``, which is only written as the left factor of an inner product ``a^{\\top} b``, with the
    constant before it and the matrices after it (``\\frac{1}{2} a^{\\top} M b`` is ``\\frac{1}{2} a^{\\top} (M b)``:
    a bilinear score)."""

    def __init__(self, term, where, sign: int = 1, factor=1, mats: tuple = ()):
        self.term, self.where, self.sign, self.factor, self.mats = term, where, sign, factor, mats

    def times(self, **changes) -> _Transposed:
        fields = {"sign": self.sign, "factor": self.factor, "mats": self.mats, **changes}
        return _Transposed(self.term, self.where, **fields)


def _last_subscript(display: str) -> tuple[str, str] | None:
    """``(base, subscript)`` for a name that ends with a braced subscript (``q^{(t)}_{y^{(t)}}``)."""
    if not display.endswith("}"):
        return None
    depth = 0
    for k in range(len(display) - 1, -1, -1):
        depth += {"}": 1, "{": -1}.get(display[k], 0)
        if depth == 0:
            return (display[:k - 1], display[k + 1:-1]) if k > 1 and display[k - 1] == "_" else None
    return None


def _transposed_base(display: str) -> str | None:
    """``a`` for a name written transposed, ``a^{\\top}`` or ``a^{T}`` (normalised); else None."""
    m = re.match(r"(?P<base>.+)\^\{(\\top|T)\}\Z", display)
    return m.group("base") if m else None


def _literal(tree) -> bool:
    """Whether ``tree`` is a number written as digits (``2``, ``0.5``), not a fraction or a size."""
    return isinstance(tree, Tree) and tree.data == "number" and str(tree.children[0])[:1] != "\\"


class _Const:
    """A constant read in an expression (``2``, ``0.5``, ``\\frac{1}{n}``): a factor of a term, not a term."""

    def __init__(self, value: sp.Expr, where):
        self.value, self.where = value, where


class _Reader:
    def __init__(self, source: _Source, name: str):
        self.src = source
        self.name = re.sub(r"[^A-Za-z0-9_]", "_", name) or "spec"
        self.title = ""
        self.mb: B.ModelBuilder | None = None
        self.sizes: dict[str, sp.Symbol] = {}
        self.static: dict[str, object] = {}  # normalized display -> Handle
        self.labels: dict[str, object] = {}
        self.timed: list[_Timed] = []
        self.taken: set[str] = set()
        self.later: dict[str, int] = {}  # every name the spec defines somewhere, with its line
        self.later_timed: list[tuple[re.Pattern, int, str]] = []
        self.loss = None
        self.zero_starts: dict[str, Token] = {}  # h_0 = 0 without a size: sized by the state it starts
        self.idents: dict[str, str] = {}  # identifier -> the display name it was made from

    # -- driver --------------------------------------------------------------------------
    def read(self, tree: Tree) -> Model:
        self._prescan(tree)
        statements = list(tree.children)
        where = None
        if statements and isinstance(statements[0], Tree) and statements[0].data == "model_decl":
            where = statements[0]
            self._model_decl(statements.pop(0))
        build = lambda: B.ModelBuilder(self.name, self.title or self.name)  # noqa: E731
        self.mb = build() if where is None else self._guard(where, build)  # a title refused: where it is written
        for stmt in statements:
            if isinstance(stmt, Tree):
                self._statement(stmt, None)
        for display, tok in list(self.zero_starts.items()):
            shape = self._input_start_shape(display)
            if shape is not None:  # y_0 = 0 before a loop that reads y_{t-1} (teacher forcing)
                del self.zero_starts[display]
                self._zero_start(tok, display, shape)
                continue
            raise self.src.at(tok, f"{display} = 0 starts no state: no loop reads it",
                              f"give it its size to declare a zero vector anyway: "
                              f"{display} = 0 \\in \\mathbb{{R}}^{{m}}")
        if self.loss is None:
            raise self.src.error("the spec has no loss; end it with `loss NAME` (a scalar defined outside the loops)",
                                 len(self.src.lines), 1)
        where, handle = self.loss
        return self._guard(where, lambda: self.mb.build(loss=handle))

    def _guard(self, where, action):
        try:
            return action()
        except SpecError as e:
            if getattr(e, "line", None):
                raise
            raise self.src.at(where, str(e), cls=type(e)) from None
        except SymRNNError as e:
            raise self.src.at(where, str(e)) from None

    def _prescan(self, tree: Tree) -> None:
        def record(name_token: Token, index: str | None):
            text = normalize(str(name_token))
            if index is not None:
                template = make_template(text, index)
                if template is not None:
                    self.later_timed.append((_template_regex(template), name_token.line, index))
                    return
            self.later.setdefault(text, name_token.line)

        def walk(stmt: Tree, index: str | None):
            kind = stmt.data
            if kind in ("param_decl", "input_decl", "label_decl"):
                loop = next((c for c in stmt.children if isinstance(c, Tree) and c.data == "loop_head"), None)
                record(stmt.children[1], str(loop.children[1]) if loop is not None else "t")
            elif kind == "let_def":
                record(stmt.children[1], index)
            elif kind == "defs":
                for d in stmt.children:
                    record(d.children[0], index)
            elif kind in ("for_block", "for_inline"):
                inner = str(stmt.children[0].children[1])
                for child in stmt.children[1:]:
                    if isinstance(child, Tree):
                        walk(child, inner)

        for stmt in tree.children:
            if isinstance(stmt, Tree):
                walk(stmt, None)

    # -- statements ----------------------------------------------------------------------
    def _model_decl(self, stmt: Tree) -> None:
        self.name = str(stmt.children[1])
        if len(stmt.children) > 2:
            self.title = str(stmt.children[2])[1:-1]

    def _statement(self, stmt: Tree, loop) -> None:
        kind = stmt.data
        if kind == "model_decl":
            raise self.src.at(stmt, "`model` comes first in a spec, before any other line",
                              "move this line to the top of the file")
        handler = getattr(self, "_" + kind)
        handler(stmt, loop)

    def _sizes_decl(self, stmt: Tree, loop) -> None:
        names = [t for t in stmt.children[1:] if isinstance(t, Token)]
        for tok in names:
            if str(tok) in self.sizes:
                raise self.src.at(tok, f"size {tok} is declared twice", "declare each size once: sizes m, d, K")
            if str(tok) in ("n", "i", "t"):
                raise self.src.at(tok, f"{tok} is the sequence length, label position or loop index, not a size",
                                  "choose another letter for this dimension")
            self.sizes[str(tok)] = self.mb.sizes(str(tok))

    def _dim(self, tree: Tree) -> sp.Expr:
        total = sp.S.Zero
        terms = tree.children if tree.data == "dim" else [tree]
        for term in terms:
            factor, size = 1, None
            for tok in term.children:
                if tok.type == "INT":
                    factor = int(tok)
                    if not 1 <= factor <= MAX_DIM_FACTOR:
                        raise self.src.at(tok, f"a dimension factor must be in 1..{MAX_DIM_FACTOR}, got {tok}")
                else:
                    size = self._size(tok)
            total += factor * (size if size is not None else 1)
        return total

    def _size(self, tok: Token) -> sp.Symbol:
        if str(tok) not in self.sizes:
            close = difflib.get_close_matches(str(tok), self.sizes, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"declare it first: sizes {tok}"
            raise self.src.at(tok, f"unknown size {str(tok)!r}", hint)
        return self.sizes[str(tok)]

    def _space(self, tree: Tree) -> tuple:
        dims = tree.children[-1]
        parts = [c for c in dims.children if isinstance(c, Tree)]
        if dims.children and isinstance(dims.children[0], Tree) and dims.children[0].data == "dim_atom":
            tok = dims.children[0].children[0]
            return (sp.Integer(int(tok)) if tok.type == "INT" else self._size(tok), sp.S.One)
        shape = [self._dim(p) for p in parts]
        return (shape[0], shape[1]) if len(shape) == 2 else (shape[0], sp.S.One)

    def _declared(self, tok: Token) -> str:
        display = normalize(str(tok))
        if display in self.static or display in self.labels or display in self.zero_starts:
            raise self.src.at(tok, f"{display} is declared twice",
                              "declare each name once, or give one of them another name")
        return display

    def _param_decl(self, stmt: Tree, loop) -> None:
        self._outside(stmt, loop, "param")
        tok = stmt.children[1]
        display = self._declared(tok)
        shape = self._space(stmt.children[3])
        ident = self._guard(tok, lambda: self._ident(display))
        self.static[display] = self._guard(tok, lambda: self.mb.parameter(ident, shape, latex=display))

    def _input_decl(self, stmt: Tree, loop) -> None:
        self._outside(stmt, loop, "input")
        tok = stmt.children[1]
        display = self._declared(tok)
        space = next(c for c in stmt.children if isinstance(c, Tree) and c.data == "space")
        shape = self._space(space)
        if shape[1] != 1:
            raise self.src.at(space, "an input is a vector: R^d, not a matrix",
                              "declare a matrix as a param, or the input's columns as inputs of their own")
        onehot = any(isinstance(c, Token) and c.type == "ONEHOT" for c in stmt.children)
        head = next((c for c in stmt.children if isinstance(c, Tree) and c.data == "loop_head"), None)
        index = str(head.children[1]) if head is not None else "t"
        template = make_template(display, index)
        if template is None:
            ident = self._guard(tok, lambda: self._ident(display))
            if head is not None:
                raise self.src.at(tok, f"{display} is declared over `for {index} = ...` but does not show {index}",
                                  f"write it with its index, e.g. {display}^{{({index})}}")
            self.static[display] = self._guard(
                tok, lambda: self.mb.input(ident, shape[0], latex=display, timed=False, onehot=onehot))
            return
        over, direction = self._bounds(head) if head is not None else (None, "forward")
        if direction != "forward":
            raise self.src.at(head, "an input runs over a forward range (for j = 1..(i-1))")
        handle = self._guard(tok, lambda: self.mb.input(self._ident(template), shape[0], latex=template,
                                                         onehot=onehot, over=over, index=index))
        self._add_timed(handle.decl, template, index)

    def _label_decl(self, stmt: Tree, loop) -> None:
        self._outside(stmt, loop, "label")
        tok = stmt.children[1]
        display = self._declared(tok)
        classes = stmt.children[3]
        ints = [c for c in classes.children if isinstance(c, Token) and c.type == "INT"]
        if not ints or int(ints[0]) != 1:
            raise self.src.at(classes, "a label takes the values 1..K", "write: label y in 1..K")
        dim = next(c for c in classes.children if isinstance(c, Tree))
        count = self._dim(dim)
        head = next((c for c in stmt.children if isinstance(c, Tree) and c.data == "loop_head"), None)
        index = str(head.children[1]) if head is not None else "t"
        template = make_template(display, index)
        if template is not None:  # a label per step, y_t: read as q_{t, y_t}
            over, direction = self._bounds(head) if head is not None else (None, "forward")
            if direction != "forward":
                raise self.src.at(head, "labels run over a forward range (for j = 1..(i-1))")
            handle = self._guard(tok, lambda: self.mb.label(self._ident(template), count, latex=template, timed=True,
                                                            over=over, index=index))
            self._add_timed(handle.decl, template, index)
            return
        if head is not None:
            raise self.src.at(tok, f"{display} is declared over `for {index} = ...` but does not show {index}",
                              f"write it with its index, e.g. {display}_{{{index}}}")
        ident = self._guard(tok, lambda: self._ident(display))
        self.labels[display] = self._guard(tok, lambda: self.mb.label(ident, count, latex=display))

    def _loss_decl(self, stmt: Tree, loop) -> None:
        self._outside(stmt, loop, "loss")
        tok = stmt.children[1]
        display = normalize(str(tok))
        if self.loss is not None:
            raise self.src.at(tok, "the loss is given twice",
                              "keep one `loss NAME` line; add losses in a definition (L = L_a + L_b)")
        if display not in self.static:
            raise self._unknown(tok, display, None)
        self.loss = (tok, self.static[display])

    def _outside(self, stmt: Tree, loop, what: str) -> None:
        if loop is not None:
            raise self.src.at(stmt, f"`{what}` declarations go outside the loops")

    def _static_term(self, tok: Token, expr: Tree, display: str):
        """The right-hand side of a definition outside the loops (not a bare number)."""
        return self._static_value(tok, self._expr(expr, None), display)

    def _static_value(self, tok: Token, value, display: str):
        if isinstance(value, _Const):
            raise self.src.at(tok, f"{display} = {P.constant_text(value.value)}: a variable is set to a number only "
                                   "to start a state from zero",
                              f"write {display} = 0 before the loop of the state it starts, or multiply a variable "
                              "by the number")
        return self._checked(value)

    def _misplaced_size(self, space: Tree) -> SpecError:
        return self.src.at(space, "a size is given (\\in \\mathbb{R}^{m}) only to a zero start before the loops",
                           "write h_0 = 0 \\in \\mathbb{R}^{m}, or declare the variable: "
                           "param h_0 \\in \\mathbb{R}^{m}")

    def _zero_start(self, tok: Token, display: str, shape: tuple | None) -> None:
        """``h_0 = 0``: a zero vector, sized here (``h_0 = 0 \\in \\mathbb{R}^{m}``) or by the state it starts."""
        if shape is None:
            self.zero_starts[display] = tok
            return
        ident = self._guard(tok, lambda: self._ident(display))
        self.static[display] = self._guard(tok, lambda: self.mb.define(ident, self.mb.zeros(shape), latex=display))

    def _input_start_shape(self, display: str) -> tuple | None:
        """The shape of the input whose value before its first step prints as ``display`` (``y_0``)."""
        for timed in self.timed:
            loop = timed.decl.loop
            if timed.decl.kind is Kind.INPUT and loop is not None:
                before = sp.expand(sp.sympify(loop.first) - loop.step)
                if normalize(timed.template.replace("{t}", format_time(before))) == display:
                    return timed.decl.shape
        return None

    def _zero_size(self, template: str, index: str, own: Tree, trees: dict) -> sp.Expr | None:
        """The size of the state ``template`` started by ``h_0 = 0``: the rows of its own equation
        ``own`` (``c_t = f_t \\odot c_{t-1} + ...``, through the loop's other equations ``trees``, by
        template), or the columns of the matrix that multiplies it (``W h_{t-1}``)."""
        rows = self._rows(own, index, trees, {template})
        if rows is not None:
            return rows
        regex = _template_regex(template)
        for tree in trees.values():
            for node in tree.iter_subtrees():
                if node.data != "matvec":
                    continue
                left, right = node.children[0], node.children[-1]
                if isinstance(left, Tree) and left.data == "ref" and isinstance(right, Tree) and right.data == "ref":
                    hit = regex.match(normalize(str(right.children[0])))
                    matrix = self.static.get(normalize(str(left.children[0])))
                    if hit and parse_time(hit.group("time"), index) != T and matrix is not None:
                        return matrix.shape[1]
        return None

    def _rows(self, tree: Tree, index: str, trees: dict, seen: set) -> sp.Expr | None:
        """The rows of an expression of a loop's body, where its names tell them (None where not)."""
        if tree.data == "ref":
            name = normalize(str(tree.children[0]))
            if _transposed_base(name) is not None:
                return None
            if name in self.static:
                return self.static[name].shape[0]
            for timed in self.timed:
                if timed.regex.match(name):
                    return timed.decl.shape[0]
            for template, expr in trees.items():
                if template not in seen and _template_regex(template).match(name):
                    return self._rows(expr, index, trees, seen | {template})
            return None
        if tree.data in ("number", "sum_components", "sum_over"):
            return None
        children = [c for c in tree.children if isinstance(c, Tree)]
        if tree.data == "matvec" and children and children[0].data == "ref":
            written = normalize(str(children[0].children[0]))
            if _transposed_base(written) is not None:  # an inner product a^T b
                return sp.S.One
            left = self.static.get(written)
            if left is not None and left.shape[1] != 1:
                return left.shape[0]
        if tree.data == "divide":
            children = children[:1]
        found = [rows for rows in (self._rows(c, index, trees, seen) for c in children) if rows is not None]
        if tree.data in ("add", "sub", "hadamard"):  # a number (1 x 1) is added to every component
            found = [rows for rows in found if rows != 1] or found
        return found[0] if found else None

    def _let_def(self, stmt: Tree, loop) -> None:
        tok, expr = stmt.children[1], stmt.children[2]
        if loop is None:
            display = self._declared(tok)
            term = self._static_term(tok, expr, display)
            ident = self._guard(tok, lambda: self._ident(display))
            self.static[display] = self._guard(tok, lambda: self.mb.interim(ident, term, latex=display))
            return
        template = self._loop_template(tok, loop)
        term = self._term(expr, loop.index)
        handle = self._guard(tok, lambda: self.mb.interim(self._ident(template), term, latex=template))
        if not handle.decl.timed:
            raise self.src.at(tok, f"let {normalize(str(tok))} inside the loop reads nothing at {loop.index}",
                              "move it outside the loop, without the index")
        self._add_timed(handle.decl, template, loop.index)

    def _defs(self, stmt: Tree, loop) -> None:
        for definition in stmt.children:
            self._definition(definition, loop)

    def _definition(self, definition: Tree, loop) -> None:
        tok, expr = definition.children[:2]
        space = next((c for c in definition.children[2:] if isinstance(c, Tree)), None)
        if space is not None and loop is not None:
            raise self._misplaced_size(space)
        if loop is None:
            display = self._declared(tok)
            value = self._expr(expr, None)
            if isinstance(value, _Const) and value.value == 0:  # h_0 = 0, \mathbf{0}, 0.0
                shape = None if space is None else self._space(space)
                if shape is not None and shape[1] != 1:
                    raise self.src.at(space, f"{display} = 0 is a zero vector: R^m, not a matrix")
                self._zero_start(tok, display, shape)
                return
            if space is not None:
                raise self._misplaced_size(space)
            term = self._static_value(tok, value, display)
            ident = self._guard(tok, lambda: self._ident(display))
            self.static[display] = self._guard(tok, lambda: self.mb.define(ident, term, latex=display))
            return
        column, two = self._column(normalize(str(tok)), loop.index, tok)
        template = make_template(column, loop.index)
        state = self._states.get(template)
        if state is None:
            template = self._loop_template(tok, loop)
        term = self._term(expr, loop.index)
        if not two and B.reads_j(term.expr):
            shown = P.subscripted(column, self._inner)
            raise self.src.at(expr, f"{column} reads {term.display} at the second index {self._inner} outside a "
                                    f"sum over {self._inner}",
                              f"sum over {self._inner} (\\sum_{self._inner} \\alpha_{{t,{self._inner}}} "
                              f"h_{self._inner}) or give it both indices ({shown} = ...)")
        if state is not None:
            self._guard(expr, lambda: self.mb.recur(B.Handle(self.mb, state), term))
            return
        handle = self._guard(tok, lambda: self.mb.define(self._ident(template), term, latex=template, loop=loop))
        if not handle.decl.timed:
            raise self.src.at(tok, f"{normalize(str(tok))} is defined in the loop but reads nothing at {loop.index}",
                              "move it outside the loop, without the index")
        if two and handle.decl.inner is None:
            raise self.src.at(tok, f"{normalize(str(tok))} has two indices but reads nothing at {self._inner}",
                              f"read a variable at {self._inner} (U h_{self._inner}), or write it with one index")
        self._add_timed(handle.decl, template, loop.index)

    # -- loops ---------------------------------------------------------------------------
    def _bounds(self, head: Tree) -> tuple:
        index = str(head.children[1])
        if index in ("n", "i") or index in self.sizes:
            raise self.src.at(head.children[1], f"{index} cannot be a loop index (it is a length or a size)",
                              "use another letter: for t = 1..n, for j = 1..(i-1)")
        bounds = [c for c in head.children if isinstance(c, Tree) and c.data == "bound"]
        start, stop = (self._bound(b) for b in bounds)
        if start == 1 and stop != 1:
            return (None if stop == N else (sp.S.One, stop)), "forward"
        if stop == 1 and start != 1:
            return (None if start == N else (sp.S.One, start)), "backward"
        raise self.src.at(head, f"a loop runs from 1 up or down to 1, e.g. for {index} = 1..n or for {index} = n..1")

    def _bound(self, tree: Tree) -> sp.Expr:
        value, sign = sp.S.Zero, 1
        for child in tree.children:
            if isinstance(child, Tree) and child.data == "bound":
                value += sign * self._bound(child)
            elif isinstance(child, Tree):
                tok = child.children[0]
                if tok.type == "INT":
                    term = sp.Integer(int(tok))
                elif str(tok) == "n":
                    term = N
                elif str(tok) == "i":
                    term = I
                else:
                    raise self.src.at(tok, f"a loop bound may use numbers, n and i, not {tok!s}")
                value += sign * term
            elif child.type == "SIGN":
                sign = 1 if str(child) == "+" else -1
        return value

    def _loop_template(self, tok: Token, loop) -> str:
        display = self._column(normalize(str(tok)), loop.index, tok)[0]
        template = make_template(display, loop.index)
        if template is None:
            raise self.src.at(tok, f"{display} is defined inside `for {loop.index} = ...` but does not show the "
                                   f"index {loop.index} once",
                              f"write it with its index, e.g. {display}^{{({loop.index})}}")
        if any(t.template == template for t in self.timed) or display in self.static:
            raise self.src.at(tok, f"{display} is defined twice",
                              "give each variable one equation; name another value differently (a_t, \\tilde{a}_t)")
        return template

    def _for_block(self, stmt: Tree, loop) -> None:
        self._loop(stmt.children[0], [c for c in stmt.children[1:] if isinstance(c, Tree)])

    def _for_inline(self, stmt: Tree, loop) -> None:
        self._loop(stmt.children[0], [stmt.children[1]])

    def _column(self, display: str, index: str, tok: Token | None = None) -> tuple[str, bool]:
        """``(e_{t}, True)`` for a variable written with two indices, ``e_{t,j}`` (its column over j), else
        ``(display, False)``."""
        split = _last_subscript(display)
        if self._inner is not None and split is not None:
            parts = [p.strip() for p in split[1].split(",")]
            if len(parts) == 2 and parts == [index, self._inner]:
                return normalize(f"{split[0]}_{{{index}}}"), True
            if len(parts) == 2 and parts == [self._inner, index]:
                message = f"{display} writes the second index first"
                hint = f"the loop's index comes first: {split[0]}_{{{index},{self._inner}}}"
                raise self.src.at(tok, message, hint) if tok is not None else SpecError(f"{message}; {hint}")
        return display, False

    def _inner_index(self, index: str, body: list) -> str | None:
        """The letter of the loop's second index: the second subscript of a variable defined with two
        (``e_{t,j}``) or the index of a sum other than the loop's (``\\sum_j``); None if it has none."""
        found: dict[str, Token] = {}
        read: set = set()  # the letters a variable is read at (h_j): a name h_{t,f} is a name, not two indices
        for stmt in body:
            for tok in stmt.scan_values(lambda v: isinstance(v, Token) and v.type in ("SUM", "NAME")):
                if tok.type == "SUM":
                    letter = re.match(r"\\sum_\{?([A-Za-z])", str(tok))
                    if letter and letter.group(1) != index:
                        found.setdefault(letter.group(1), tok)
                        read.add(letter.group(1))
                    continue
                base = _transposed_base(normalize(str(tok))) or normalize(str(tok))
                split = _last_subscript(base)
                time = re.fullmatch(r"([A-Za-z])([+-][0-9]+)?", split[1].replace(" ", "")) if split else None
                if time is not None:  # h_j, h_{j-1}^{\top}: read at a letter
                    read.add(time.group(1))
        for stmt in body:
            if stmt.data != "defs":
                continue
            for d in stmt.children:
                split = _last_subscript(normalize(str(d.children[0])))
                parts = [p.strip() for p in split[1].split(",")] if split else []
                if len(parts) == 2 and parts[0] == index and parts[1] in read:
                    found.setdefault(parts[1], d.children[0])
                elif len(parts) == 2 and parts[1] == index and parts[0] in read:
                    found.setdefault(parts[0], d.children[0])  # e_{j,t}: said where it is read
        if found and index == "j":
            tok = next(iter(found.values()))
            raise self.src.at(tok, "a loop with a second index runs over another letter than j (derivations print "
                                   "the second index j)", "for t = 1..n: e_{t,j} = ...")
        for letter, tok in found.items():
            if letter in ("n", "i") or letter in self.sizes:
                raise self.src.at(tok, f"{letter} cannot be a second index (it is a length or a size)",
                                  f"use another letter: e_{{{index},j}}, \\sum_j")
        if len(found) > 1:
            letters = sorted(found)
            raise self.src.at(found[letters[1]], f"the loop over {index} has two second indices, "
                                                 f"{' and '.join(letters)}",
                              "write one letter for the second index; a softmax over it is written "
                              "\\alpha_t = \\operatorname{softmax}(e_t), not as a fraction")
        return next(iter(found), None)

    _inner: str | None = None

    def _loop(self, head: Tree, body: list) -> None:
        index = str(head.children[1])
        over, direction = self._bounds(head)
        loop = self.mb._loop(over, 1 if direction == "forward" else -1, index)
        self._inner = self._inner_index(index, body)
        lets: dict[str, Tree] = {}
        defs: list[tuple[Token, Tree]] = []
        for stmt in body:
            if stmt.data == "let_def":
                lets[self._loop_template(stmt.children[1], loop)] = stmt.children[2]
            elif stmt.data == "defs":
                defs += [(d.children[0], d.children[1]) for d in stmt.children]
            elif stmt.data in ("for_block", "for_inline"):
                raise self.src.at(stmt, "loops do not nest; write the inner recurrence as its own loop")
            else:
                self._statement(stmt, loop)  # raises: declarations go outside loops
        self._states = {}
        # a state: a variable of the loop that an equation of the loop reads at an earlier step (itself,
        # or another's: output feedback, h_t reading p_{t-1} defined after it)
        states = [(tok, self._loop_template(tok, loop)) for tok, _ in defs
                  if any(self._reads_itself(self._loop_template(tok, loop), expr, lets, index) for _, expr in defs)]
        trees = {**{self._loop_template(t, loop): e for t, e in defs}, **lets} if states else {}
        for tok, template in sorted(states, key=lambda s: self._first_use(s[1], body)):
            self._states[template] = self._declare_state(tok, template, loop, direction, over, trees)
        for stmt in body:
            self._statement(stmt, loop)
        self._states = {}
        self._inner = None

    @staticmethod
    def _first_use(template: str, body: list) -> tuple:
        """Where the loop's body first names a state (its states are declared in that order)."""
        regex = _template_regex(template)
        hits = [(tok.line, tok.column) for stmt in body
                for tok in stmt.scan_values(lambda v: isinstance(v, Token) and v.type == "NAME")
                if regex.match(normalize(str(tok)))]
        return min(hits, default=(0, 0))

    def _reads_itself(self, template: str, expr: Tree, lets: dict, index: str) -> bool:
        regex, seen, todo = _template_regex(template), set(), [expr]
        while todo:
            tree = todo.pop()
            for tok in tree.scan_values(lambda v: isinstance(v, Token) and v.type == "NAME"):
                text = normalize(str(tok))
                m = regex.match(text)
                if m and parse_time(m.group("time"), index, self._inner) not in (T, J):
                    return True
                for let_template, let_expr in lets.items():
                    if _template_regex(let_template).match(text) and let_template not in seen:
                        seen.add(let_template)
                        todo.append(let_expr)
        return False

    def _declare_state(self, tok: Token, template: str, loop: Loop, direction: str, over, trees: dict):
        before = sp.expand(sp.sympify(loop.first) - loop.step)
        init_display = normalize(template.replace("{t}", format_time(before)))
        if init_display in self.zero_starts:
            zero = self.zero_starts.pop(init_display)
            size = self._zero_size(template, loop.index, trees[template], trees)
            if size is None:
                raise self.src.at(zero, f"the size of {init_display} = 0 is not found: no matrix multiplies "
                                        f"{normalize(template.replace('{t}', format_time(T - loop.step)))} in its loop",
                                  f"give it: {init_display} = 0 \\in \\mathbb{{R}}^{{m}}")
            self._zero_start(zero, init_display, (size, sp.S.One))
        init = self.static.get(init_display)
        display = normalize(str(tok))
        if init is None and init_display in self.later:  # z_0 = h_n written after the decoder's loop
            raise self.src.at(tok, f"{display} starts from {init_display}, which is defined after this loop (line "
                                   f"{self.later[init_display]})", f"move {init_display} = ... before the loop")
        if init is None or init.decl.kind not in (Kind.PARAMETER, Kind.DEFINED) or init.decl.timed:
            other = [f"{z} = 0 (line {t.line})" for z, t in self.zero_starts.items()]
            hint = f"start it from zero before the loop, {init_display} = 0, or declare it: param {init_display} in R^m"
            if other:
                hint += f"; {', '.join(other)} is written, but its name is not {init_display}"
            raise self.src.at(tok, f"{display} reads itself at an earlier step but has no initial state "
                                   f"{init_display}", hint)
        handle = self._guard(tok, lambda: self.mb.state(self._ident(template), init.shape, init=init,
                                                         direction=direction, latex=template, over=over,
                                                         index=loop.index))
        self._add_timed(handle.decl, template, loop.index)
        return handle.decl

    _states: dict = {}

    # -- bookkeeping ---------------------------------------------------------------------
    def _ident(self, display: str) -> str:
        """The identifier of ``display`` (``b^{o}`` -> ``b_o``): in generated code, values files and
        ``--wrt``; two names that would share one are refused, naming both."""
        if len(self.taken) >= MAX_VARIABLES:
            raise SpecError(f"{self.src.filename}: the spec declares more than {MAX_VARIABLES} variables")
        base = identifier(display, set())
        other = self.idents.get(base)
        if other is not None and other != display and ("{t}" in other) == ("{t}" in display):  # L and L_t differ
            raise SpecError(f"{display.replace('{t}', 't')} and {other.replace('{t}', 't')} would both be named {base} "
                            f"(in generated code, values files "
                            f"and --wrt {base}); give one of them another name")
        ident = identifier(display, self.taken)
        self.taken.add(ident)
        self.idents.setdefault(base, display)
        return ident

    def _add_timed(self, decl, template: str, index: str) -> None:
        self.timed.append(_Timed(decl, template, _template_regex(template), index))

    # -- expressions ---------------------------------------------------------------------
    def _term(self, tree, index: str | None):
        return self._checked(self._expr(tree, index))

    def _checked(self, value):
        """A value read as a term of an expression (not a bare number, not a transposed vector)."""
        if isinstance(value, _Transposed):
            raise self.src.at(value.where, "a transposed vector is written only as a^{\\top} b (an inner product)")
        if isinstance(value, _Const):
            raise self.src.at(value.where, "a number alone is not a term of an expression",
                              "multiply a variable by it (\\frac{1}{2} (h_{t} - y_{t})^2, 2 a_{t}, "
                              "\\frac{1}{n} \\sum_t L_{t}) or write 1 - v")
        return value

    def _const(self, where, value) -> _Const:
        return _Const(self._guard(where, lambda: P.constant(value, self.mb._sizes)), where)

    def _scaled(self, where, term, c: _Const):
        term = self._checked(term)
        return self._guard(where, lambda: term * c.value)

    def _divide(self, tree, index: str | None):
        written = tree.children[2::3] if len(tree.children) == 7 else tree.children  # \frac{a}{b} or a / b
        top, bottom = self._expr(written[0], index), self._expr(written[1], index)
        if not isinstance(bottom, _Const):  # by a number (1 x 1) or componentwise
            bottom = self._checked(bottom)
            if isinstance(top, _Const):
                raise self.src.at(top.where, "a number over a variable is not written yet",
                                  "write the variable's reciprocal as a factor of a term: \\frac{a}{b}")
            top = self._checked(top)
            return self._guard(tree, lambda: top / bottom)
        if bottom.value == 0:
            raise self.src.at(bottom.where, "division by zero")
        if isinstance(top, _Const):
            return self._const(tree, top.value / bottom.value)
        return self._scaled(tree, top, self._const(tree, 1 / bottom.value))

    def _expr(self, tree, index: str | None):
        if isinstance(tree, Token):
            return self._name(tree, index) if tree.type == "NAME" else tree
        kind = tree.data
        if kind == "ref":
            return self._name(tree.children[0], index)
        if kind == "number":
            tok = tree.children[0]
            if tok.type == "ZERO_VECTOR":  # \mathbf{0}: a zero start
                return self._const(tok, 0)
            digits = re.fullmatch(r"\\[dt]?frac([0-9])([0-9])", str(tok))  # \frac12, as LaTeX reads it
            if digits:
                return self._const(tok, sp.Rational(int(digits.group(1)), int(digits.group(2))))
            return self._const(tok, str(tok))
        if kind == "divide":
            return self._divide(tree, index)
        if kind == "sum_components":  # \mathbf{1}^\top v: the sum of v's components
            inner = self._term(tree.children[1], index)
            return self._guard(tree, lambda: B.sum_components(inner))
        if kind == "sqrt":  # \sqrt{a}
            inner = self._expr(tree.children[2], index)
            if isinstance(inner, _Const):
                root = sp.sqrt(inner.value)
                if root.is_Rational:  # \sqrt{4}, \sqrt{\frac{1}{4}}: exact
                    return _Const(root, tree)
                hint = "write its value as a decimal (1.4142 for \\sqrt{2})"
                if inner.value.free_symbols:  # scaled dot-product attention's \frac{1}{\sqrt{m}}
                    hint = (f"write the number for the size you use (\\frac{{1}}{{2}} for \\sqrt{{{inner.value}}} "
                            f"with {inner.value} = 4)")
                raise self.src.at(tree, "the square root of a number is not a constant the model language keeps "
                                        "exact", hint)
            inner = self._checked(inner)
            return self._guard(tree, lambda: B.apply(P.elementwise("sqrt"), inner))
        if kind == "neg":
            inner = self._expr(tree.children[0], index)
            if isinstance(inner, _Const):
                return _Const(-inner.value, inner.where)
            if isinstance(inner, _Transposed):  # -y^{\top} LS(s): the sign of the inner product
                return inner.times(sign=-inner.sign)
            inner = self._checked(inner)  # once: reading a subtree twice made nested sums exponential
            return self._guard(tree, lambda: -inner)
        if kind in ("add", "sub"):
            left = self._expr(tree.children[0], index)
            right = self._expr(tree.children[1], index)
            if isinstance(left, _Const) and isinstance(right, _Const):
                return self._const(tree, left.value + right.value if kind == "add" else left.value - right.value)
            if isinstance(left, _Const):  # 1 - v, 2 + v: the number added to every component
                right = self._checked(right)
                if kind == "sub" and left.value == 1:
                    return self._guard(tree, lambda: 1 - right)
                return self._guard(tree, lambda: left.value - right if kind == "sub" else right + left.value)
            if isinstance(right, _Const):
                left = self._checked(left)
                return self._guard(tree, lambda: left + right.value if kind == "add" else left - right.value)
            left, right = self._checked(left), self._checked(right)
            return self._guard(tree, lambda: left + right if kind == "add" else left - right)
        if kind in ("matvec", "hadamard"):
            left, right = self._expr(tree.children[0], index), self._expr(tree.children[-1], index)
            if isinstance(left, _Const) and isinstance(right, _Const):
                if kind == "matvec" and _literal(tree.children[0]) and _literal(tree.children[-1]):
                    raise self.src.at(right.where, "two numbers side by side",
                                      "write their product as one number, or put \\cdot between them")
                return self._const(tree, left.value * right.value)
            if isinstance(left, _Const) and isinstance(right, _Transposed) and kind == "matvec":
                return right.times(factor=left.value * right.factor)  # \frac{1}{2} h_j^{\top} z_t
            if isinstance(left, _Const):
                return self._scaled(tree, right, left)
            if isinstance(right, _Const):
                return self._scaled(tree, left, right)
            right = self._checked(right)
            if kind == "matvec" and isinstance(left, _Transposed):
                if not al.same_dim(right.shape[1], 1):  # a^{\top} M b: M b is read first
                    return left.times(mats=(*left.mats, right))
                column = right
                for M in reversed(left.mats):
                    column = self._guard(tree, lambda M=M, column=column: M @ column)
                product = self._guard(tree, lambda: B.inner(left.term, column))
                if left.factor != 1:
                    product = self._guard(tree, lambda: product * left.factor)
                return product if left.sign == 1 else self._guard(tree, lambda: -product)
            left = self._checked(left)
            return self._guard(tree, lambda: left @ right if kind == "matvec" else left * right)
        if kind == "square":
            inner = self._term(next(c for c in tree.children if isinstance(c, Tree) or c.type == "NAME"), index)
            return self._guard(tree, lambda: B.sqnorm(inner))
        if kind == "sum_over":
            return self._sum(tree, index)
        if kind == "call":
            return self._call(tree, index)
        raise self.src.at(tree, f"cannot read this expression ({kind})")  # pragma: no cover - grammar-bound

    def _call(self, tree: Tree, index: str | None):
        tok = tree.children[0]
        raw = str(tok)[:-1]
        name = re.sub(r"^\\(text|operatorname|mathrm)\{([A-Za-z]+)\}$", r"\2", raw)
        name = re.sub(r"\^(\{[A-Za-z]\}|[A-Za-z])$", "", name) if name in ("\\sigma^m", "\\sigma^{m}") or \
            name.startswith("\\sigma^") else name
        args = [self._term(a, index) for a in tree.children[1].children]
        if name == "mean" and len(args) == 1:  # \operatorname{mean}(v): the sum of its components over their count
            return self._guard(tree, lambda: B.mean(args[0]))
        if name not in FUNCTIONS:
            close = difflib.get_close_matches(name, FUNCTIONS, n=1)
            known = ", ".join(sorted({p.name for p in FUNCTIONS.values()}))
            hint = f"did you mean {close[0]}?" if close else f"known: {known}"
            if self._known(normalize(name), index):
                hint = f"{name} is a variable: to multiply, put a space before the bracket: {name} (...)"
            raise self.src.at(tok, f"unknown function {name!r}", hint)
        prim = FUNCTIONS[name]
        if prim is P.CONCAT:
            return self._guard(tree, lambda: B.concat(*args))
        if len(args) != 1:
            raise self.src.at(tok, f"{name} takes one argument, got {len(args)}",
                                  f"apply it to one vector, e.g. {name}(W h + b); CONCAT(a, b) stacks vectors first")
        return self._guard(tree, lambda: B.apply(prim, args[0]))

    def _sum(self, tree: Tree, index: str | None):
        sum_tok, body = tree.children
        written = re.match(r"\\sum_\{?([A-Za-z])", str(sum_tok))
        sum_index = written.group(1) if written else None
        if index is not None and sum_index is not None and sum_index == self._inner:  # \sum_j \alpha_{t,j} h_j
            self._whole_range(sum_tok, sum_index, (sp.S.One, N))
            term = self._term(body, index)
            if not B.reads_j(term.expr):
                raise self.src.at(sum_tok, f"\\sum_{sum_index} adds up what is read at {sum_index}, and "
                                           f"{term.display} reads nothing at {sum_index}",
                                  f"read the summand at {sum_index}: \\sum_{sum_index} \\alpha_{{{index},{sum_index}}} "
                                  f"h_{sum_index}")
            return self._guard(tree, lambda: self.mb.sum(term))
        factor = None
        if isinstance(body, Tree) and body.data in ("divide", "matvec") and index is None:  # \sum_t L_t / n
            parts = [c for c in body.children if isinstance(c, Tree)]
            if len(parts) == 2 and parts[0].data == "ref":
                value = self._expr(parts[1], index)
                if isinstance(value, _Const):
                    body, factor = parts[0], (1 / value.value if body.data == "divide" else value.value)
        if not (isinstance(body, Tree) and body.data == "ref"):
            raise self.src.at(sum_tok, "\\sum_t adds up one variable over its loop (\\sum_t L_{t}); inside a loop, "
                                       "\\sum_j adds up a product over the second index j",
                              "define the summand as a variable of the loop first, then sum it; a constant goes "
                              "before the sum: \\frac{1}{n} \\sum_t L_{t}")
        name_tok = body.children[0]
        display = normalize(str(name_tok))
        for timed in reversed(self.timed):
            m = timed.regex.match(display)
            if m and parse_time(m.group("time"), sum_index or timed.index) == T:
                loop = timed.decl.loop
                self._whole_range(sum_tok, sum_index or timed.index,
                                  (loop.start, loop.stop) if loop.step == 1 else (loop.stop, loop.start))
                handle = B.Handle(self.mb, timed.decl, T)
                total = self._guard(tree, lambda handle=handle: self.mb.sum(handle))
                return total if factor is None else self._guard(tree, lambda total=total: total * factor)
        raise self.src.at(name_tok, f"\\sum adds up a variable over its loop; {display} is not one read at its "
                                    "index", "write \\sum_t L_{t} for a variable L_{t} defined in a loop")

    def _whole_range(self, sum_tok: Token, letter: str, bounds: tuple) -> None:
        """A sum's written bounds (``\\sum_{j=1}^{n}``) are its loop's: a sum runs over the whole loop."""
        found = re.fullmatch(r"\\sum(?:_\{?[A-Za-z](?:=(?P<low>[^{}]*))?\}?)?(?:\^(?P<high>\{[^{}]*\}|[A-Za-z0-9]))?",
                             str(sum_tok).replace(" ", ""))
        if found is None:
            return
        low, high = found.group("low"), (found.group("high") or "").strip("{}") or None
        for written, expected in ((low, bounds[0]), (high, bounds[1])):
            if written is not None and parse_time(written, None) != sp.sympify(expected):
                raise self.src.at(sum_tok, f"a sum runs over the whole loop, {letter} = {format_time(bounds[0])}.."
                                           f"{format_time(bounds[1])}, not from {low or format_time(bounds[0])} to "
                                           f"{high or format_time(bounds[1])}",
                                  f"write \\sum_{letter} (or \\sum_{{{letter}=1}}^{{n}})")

    def _known(self, display: str, index: str | None) -> bool:
        try:
            self._resolve(display, index)
            return True
        except LookupError:
            return False

    def _resolve(self, display: str, index: str | None):
        """The term a name reads, or LookupError."""
        if display in self.static:
            return self.static[display]
        for timed in reversed(self.timed):
            m = timed.regex.match(display)
            if m:
                time = parse_time(m.group("time"), index, self._inner if index is not None else None)
                if time is not None and time.has(J) and time != J:
                    raise LookupError(("time", m.group("time"), timed))
                if time is None:
                    raise LookupError(("time", m.group("time"), timed))
                return B.Handle(self.mb, timed.decl, time)
        raise LookupError(None)

    def _bad_time(self, tok: Token, display: str, found: tuple, index: str | None) -> SpecError:
        """The error of a name read at a time that is not one (``h_{j-1}``, ``h_{k}`` in ``for t``)."""
        _, time, timed = found
        if index is None:
            return self.src.at(tok, f"{display} is read at {time!r} outside the loops",
                               "outside a loop, read it at a fixed time: n, i, i-1 or a number")
        hint = f"write a time with {index}, n, i and numbers: {index}-1, n, 0"
        if self._inner is not None and self._inner in re.findall(r"[A-Za-z]+", time):
            hint = f"a variable is read at the second index {self._inner} itself, {timed.decl.display(J)}"
        elif re.fullmatch(r"[a-z]", time):
            hint += (f"; to read it at every step {time} (attention), give a variable two indices, "
                     f"e_{{{index},{time}}} = ..., or sum over {time}: \\sum_{time} ...")
        return self.src.at(tok, f"{display} is read at {time!r}, which is not a time in `for {index} = ...`", hint)

    def _name(self, tok: Token, index: str | None):
        display = normalize(str(tok))
        try:
            return self._resolve(display, index)
        except LookupError as e:
            size = next((s for s in (*self.mb._sizes, N) if str(s) == display), None)
            if size is not None and e.args[0] is None:  # a size or the length as a number: \frac{1}{n}
                return _Const(size, tok)
            if e.args[0] is not None:
                raise self._bad_time(tok, display, e.args[0], index) from None
        transposed = _transposed_base(display)
        if transposed is not None:
            try:
                return _Transposed(self._resolve(transposed, index), tok)
            except LookupError as e:
                if e.args[0] is not None:
                    raise self._bad_time(tok, transposed, e.args[0], index) from None
        m = re.match(r"(?P<base>.+)_\{(?P<index>[^{},]+),(?P<label>.+)\}\Z", display)
        if m and self._inner is not None and m.group("label").strip() == self._inner:  # \alpha_{t,j}: entry j
            try:
                base = self._resolve(normalize(f"{m.group('base')}_{{{m.group('index')}}}"), index)
            except LookupError:
                raise self._unknown(tok, display, index) from None
            return self._guard(tok, lambda: base[J])
        if m:  # q_{t, y_t}: component y_t of q_t, a label per step
            try:
                base = self._resolve(normalize(f"{m.group('base')}_{{{m.group('index')}}}"), index)
                label = self._resolve(normalize(m.group("label")), index)
            except LookupError:
                label = None
            if label is not None:
                if label.decl.kind is not Kind.LABEL:
                    raise self.src.at(tok, f"{normalize(m.group('label'))} is not a label",
                                      "q_{t, y_t} picks component y_t of q_t for a label y_t declared with "
                                      "label y_t \\in \\{1 \\dots K\\}")
                return self._guard(tok, lambda: base[label])
        split = _last_subscript(display)
        if split is not None and split[1] in self.labels:  # q_y: component y of q
            base_text, label_text = split
            try:
                base = self._resolve(base_text, index)
            except LookupError:
                raise self._unknown(tok, base_text, index) from None
            label = self.labels[label_text]
            return self._guard(tok, lambda: base[label])
        if split is not None:  # q^{(t)}_{y^{(t)}}, or q_{y_t} with the step left out
            base_text, label_text = split
            try:
                label = self._resolve(label_text, index)
            except LookupError:
                label = None
            if label is not None and label.decl.kind is Kind.LABEL and label.decl.timed:
                try:
                    base = self._resolve(base_text, index)
                except LookupError:
                    hint = f"a label per step picks from the variable at its step: {base_text}_{{t, {label_text}}}"
                    timed = next((t for t in self.timed if t.template.startswith(base_text)), None)
                    if timed is not None:
                        hint = (f"a label per step picks from the variable at its step: "
                                f"{P.subscripted(timed.decl.display(label.time), label_text)}")
                    raise self.src.at(tok, f"{display} picks with the label per step {label_text} from "
                                           f"{base_text}, which is not read at a step", hint) from None
                return self._guard(tok, lambda: base[label])
        raise self._unknown(tok, display, index)

    def _unknown(self, tok: Token, display: str, index: str | None) -> SpecError:
        if display in self.zero_starts:
            return self.src.at(tok, f"{display} = 0 (line {self.zero_starts[display].line}) is a zero start, sized "
                                    "by the loop that starts from it; no loop has yet",
                               f"give its size where it is written: {display} = 0 \\in \\mathbb{{R}}^{{m}}")
        line = self.later.get(display)
        if line is None:
            for regex, line_, _ in self.later_timed:
                if regex.match(display):
                    line = line_
                    break
        if line is not None and line >= tok.line:
            return self.src.at(tok, f"{display} is used before it is defined (line {line})",
                               "define a variable before the equations that read it")
        if index is None and any(t.regex.match(display) for t in self.timed):
            return self.src.at(tok, f"{display} reads a loop variable at the loop's index outside the loop",
                               "outside a loop, read it at a fixed time such as n")
        known = list(self.static) + list(self.labels) + [t.template.replace("{t}", t.index) for t in self.timed]
        close = difflib.get_close_matches(display, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else None
        return self.src.at(tok, f"unknown name {display}", hint, cls=SpecError)
