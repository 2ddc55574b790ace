"""SymPy matrix-expression classes that the local rules are written with.

Everything symbolic in symrnn is a SymPy ``MatrixExpr``: vectors are ``k x 1``
columns, scalars ``1 x 1``. SymPy's own classes are used where they exist
(``MatMul``, ``MatAdd``, ``Transpose``, ``Identity``, ``OneMatrix``,
``KroneckerProduct``, ``HadamardProduct``, ``DiagMatrix``); the classes here add
what the handouts write and SymPy lacks: variable instances with a display name,
elementwise functions, softmax, log-softmax, a basis vector and a component.
Printing lives in :mod:`symrnn.render`; numbers in :mod:`symrnn.numeric`.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions.matexpr import MatrixExpr

#: The loop index of recurrences, the unroll length and the label position, as SymPy symbols.
T = sp.Symbol("t", integer=True)
N = sp.Symbol("n", integer=True, positive=True)
I = sp.Symbol("i", integer=True, positive=True)
#: The second time index of a variable with two (attention's score ``e_{t,j}`` over the encoder's steps ``j``),
#: and the index of a sum over the steps of a reader that reads a variable at its second index.
J = sp.Symbol("j", integer=True)
S = sp.Symbol("s", integer=True)


_SCRIPT = re.compile(r"([_^])(\\top|[A-Za-z0-9])")
_COMMAND_SPACE = re.compile(r"(\\[A-Za-z]+)\s+(?=[A-Za-z])")


def canonical(name: str) -> str:
    """The one spelling of a LaTeX display name: ``b^h`` -> ``b^{h}``, ``W^{\\beta  y}`` -> ``W^{\\beta y}``.

    Spaces go, except the one that ends a command before a letter; every one-character
    sub- or superscript is braced. Two spellings of a name that print alike are one name.

    Examples
    --------
    >>> canonical("W_x^f"), canonical(r"W^{\\beta y}"), canonical("h^{(t - 1)}")
    ('W_{x}^{f}', 'W^{\\\\beta y}', 'h^{(t-1)}')
    """
    kept = _COMMAND_SPACE.sub(lambda m: m.group(1) + "\x00", name)
    return _SCRIPT.sub(r"\1{\2}", re.sub(r"\s+", "", kept)).replace("\x00", " ")


#: The LaTeX commands a display name may use: letters, accents, fonts and a few symbols. A name is
#: printed inside math in every document symrnn writes, so nothing else (``\\input``, ``\\def``,
#: ``\\write``, ``\\catcode``...) may reach it.
NAME_COMMANDS = frozenset("""
alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi varpi rho
varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi
Psi Omega ell tilde hat bar vec dot ddot breve check widetilde widehat overline underline mathbf mathrm
mathit mathcal mathsf mathtt mathbb boldsymbol text operatorname top prime partial star ast circ dagger
infty nabla
""".split())
#: The longest display name accepted.
MAX_NAME = 200
#: The form of a display name, as the text format reads it (its grammar is built with this one pattern):
#: a letter or a command, then sub- and superscripts (``W^{hx}``, ``\\tilde{c}_{t}``, ``h^{(t-1)}``).
NAME_PATTERN = (r"(\\[A-Za-z]+\{[A-Za-z]\}|\\[A-Za-z]+|[A-Za-z][A-Za-z0-9]*)"
                r"([_^](\{([^{}\n]|\{[^{}\n]*\})*\}|[A-Za-z0-9]|\\top))*")
_COMMAND = re.compile(r"\\([A-Za-z]+|.)")


def check_display_name(name: str) -> str:
    """``name`` if it is a display name symrnn can print safely in LaTeX math, else ValueError saying why.

    Allowed: ASCII letters and digits (so no two names look alike: a Cyrillic ``а`` is refused; Greek
    is written ``\\alpha``), spaces, ``^ _ { } ( ) [ ] ' , . + - * / = | < > :`` and the commands
    of :data:`NAME_COMMANDS`, with balanced braces, at most :data:`MAX_NAME` characters.

    Examples
    --------
    >>> check_display_name(r"\\tilde{c}_{t}")
    '\\\\tilde{c}_{t}'
    >>> check_display_name(r"W^{\\input{secret.txt}}")
    Traceback (most recent call last):
    ...
    ValueError: the display name 'W^{\\\\input{secret.txt}}' uses \\input, which a name may not use (allowed: ...)
    """
    if len(name) > MAX_NAME:
        raise ValueError(f"a display name has at most {MAX_NAME} characters, this one {len(name)}")
    for char in name:
        if not ((char.isascii() and char.isalnum()) or char in " ^_{}()[]',.+-*/=|<>:\\"):
            raise ValueError(f"the display name {name!r} has the character {char!r}, which a name may not use")
    depth = 0
    for char in name:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        raise ValueError(f"the display name {name!r} has unbalanced braces")
    if not re.fullmatch(NAME_PATTERN, name):
        raise ValueError(f"the display name {name!r} is not one the text format can read: a letter or a command "
                         "(W, \\eta, \\tilde{c}), then sub- and superscripts (W^{hx}, h^{(t-1)}, b_{y})")
    for match in _COMMAND.finditer(name):
        if match.group(1) not in NAME_COMMANDS:
            raise ValueError(f"the display name {name!r} uses \\{match.group(1)}, which a name may not use "
                             f"(allowed: Greek letters, accents such as \\tilde and \\hat, fonts such as "
                             f"\\mathbf, and \\top, \\prime, \\partial, \\star)")
    return name


def format_time(time: sp.Expr) -> str:
    """``t - 1`` -> ``"t-1"``, ``3`` -> ``"3"``: time indices as handouts write them."""
    return str(time).replace(" ", "")


class Var(MatrixExpr):
    """A model variable, static or at a time index: the atoms of all expressions.

    Parameters
    ----------
    name : str
        The variable's identifier in the model (``"h"``, ``"W_hx"``).
    time : sympy expression or None
        ``None`` for a static variable; else ``t``, ``t - 1``, ``n`` or an integer.
    rows, cols : sympy expressions
        Symbolic shape.
    latex : str
        Display template; ``{t}`` in it is replaced by the time index.

    Examples
    --------
    >>> m = sp.Symbol("m")
    >>> Var("h", T - 1, m, 1, "h^{({t})}").display
    'h^{(t-1)}'
    """

    is_symbol = True
    is_commutative = False

    def __new__(cls, name, time, rows, cols, latex):
        name = name if isinstance(name, Str) else Str(name)
        latex = latex if isinstance(latex, Str) else Str(latex)
        if not isinstance(time, sp.Tuple):
            time = sp.Tuple() if time is None else sp.Tuple(sp.sympify(time))
        return sp.Basic.__new__(cls, name, time, sp.sympify(rows), sp.sympify(cols), latex)

    @property
    def name(self) -> str:
        return self.args[0].name

    @property
    def time(self) -> sp.Expr | None:
        return self.args[1][0] if self.args[1] else None

    @property
    def shape(self):
        return (self.args[2], self.args[3])

    @property
    def latex_template(self) -> str:
        return self.args[4].name

    @property
    def display(self) -> str:
        """The display name with the time index filled in."""
        if self.time is None:
            return self.latex_template
        return self.latex_template.replace("{t}", format_time(self.time))

    @property
    def free_symbols(self):
        return {self}

    def _eval_transpose(self):
        return None


class Label(sp.Symbol):
    """An integer label such as ``y`` in ``o = -q_y`` (1-based, as the handouts)."""

    def __new__(cls, name: str):
        return super().__new__(cls, name, integer=True, positive=True)


class Elementwise(MatrixExpr):
    """A function applied componentwise: ``g(a)``, ``g'(a)``, ``\\tanh(a)``."""

    def __new__(cls, fname, arg):
        fname = fname if isinstance(fname, Str) else Str(fname)
        return sp.Basic.__new__(cls, fname, arg)

    @property
    def fname(self) -> str:
        return self.args[0].name

    @property
    def arg(self):
        return self.args[1]

    @property
    def shape(self):
        return self.arg.shape


class Softmax(MatrixExpr):
    """``softmax(l)``, a column like ``l``."""

    def __new__(cls, arg):
        return sp.Basic.__new__(cls, arg)

    @property
    def shape(self):
        return self.args[0].shape


class LogSoftmax(MatrixExpr):
    """``LS(l) = l - log(sum(exp(l)))``, a column like ``l``."""

    def __new__(cls, arg):
        return sp.Basic.__new__(cls, arg)

    @property
    def shape(self):
        return self.args[0].shape


class Basis(MatrixExpr):
    """The basis column ``e_y`` of size ``size``: 1 at component ``y``, else 0."""

    def __new__(cls, label, size):
        return sp.Basic.__new__(cls, label, sp.sympify(size))

    @property
    def label(self):
        return self.args[0]

    @property
    def shape(self):
        return (self.args[1], sp.S.One)


class Component(MatrixExpr):
    """Component ``q_y`` of a column ``q``, a ``1 x 1`` matrix."""

    def __new__(cls, arg, label):
        return sp.Basic.__new__(cls, arg, label)

    @property
    def arg(self):
        return self.args[0]

    @property
    def label(self):
        return self.args[1]

    @property
    def shape(self):
        return (sp.S.One, sp.S.One)


class TotalDerivative(Var):
    """The total derivative of the loss in a variable instance, ``\\frac{\\partial o}{\\partial h^{(t)}}``.

    A :class:`Var` whose display template is the whole fraction, so it prints,
    shifts in time and compiles like any variable. Its shape is that of the
    gradient in the chosen layout: a row ``1 x size`` (numerator) or a column
    shaped like the variable (denominator).
    """


#: The number of steps back of truncated BPTT's partial adjoints (``\\frac{\\partial L}{\\partial h_{t}}^{[k]}``).
HOP = sp.Symbol("k", integer=True, nonnegative=True)


class HopDerivative(TotalDerivative):
    """Part of a total derivative, for truncated BPTT: the sum over the paths from the variable to the
    loss that go back between ``low`` and ``high`` steps, ``{\\frac{\\partial L}{\\partial h_{t}}}^{[k]}``
    (``low == high``) or ``{\\frac{\\partial L}{\\partial h_{t}}}^{[\\le K]}`` (``low = 0``, ``high = K``).

    Examples
    --------
    >>> m = sp.Symbol("m")
    >>> print(HopDerivative("h", T + 1, 1, m, r"\\frac{\\partial L}{\\partial h_{{t}}}", HOP - 1, HOP - 1).display)
    \\left(\\frac{\\partial L}{\\partial h_{t+1}}\\right)^{[k-1]}
    >>> print(HopDerivative("h", T, 1, m, r"\\frac{\\partial L}{\\partial h_{{t}}}", 0, 3).display)
    \\left(\\frac{\\partial L}{\\partial h_{t}}\\right)^{[\\le 3]}
    """

    def __new__(cls, name, time, rows, cols, latex, low, high):
        base = Var.__new__(Var, name, time, rows, cols, latex)
        return sp.Basic.__new__(cls, *base.args, sp.sympify(low), sp.sympify(high))

    @property
    def hops(self) -> tuple:
        """``(low, high)``: the numbers of steps back the part sums over."""
        return (self.args[5], self.args[6])

    @property
    def display(self) -> str:
        low, high = self.hops
        bound = format_time(low) if low == high else rf"\le {format_time(high)}"
        return rf"\left({super().display}\right)^{{[{bound}]}}"  # (\delta^f_t)^{[k]}: no superscript run together


class Concat(MatrixExpr):
    """``CONCAT(a, b, ...)``: columns stacked into one column."""

    def __new__(cls, *args):
        return sp.Basic.__new__(cls, *args)

    @property
    def shape(self):
        return (sp.Add(*(a.shape[0] for a in self.args)), sp.S.One)


class Selector(MatrixExpr):
    """The block column ``[0; I; 0]`` that picks block ``k`` of a concatenation of ``sizes``.

    Its transpose reads block ``k`` out of a stacked column.
    """

    def __new__(cls, sizes, k):
        return sp.Basic.__new__(cls, sp.Tuple(*sizes), sp.Integer(k))

    @property
    def sizes(self) -> tuple:
        return tuple(self.args[0])

    @property
    def k(self) -> int:
        return int(self.args[1])

    @property
    def shape(self):
        return (sp.Add(*self.sizes), self.sizes[self.k])


class SumOver(MatrixExpr):
    """``\\sum_{t=start}^{stop} arg``, the sum of a per-step variable over its loop."""

    def __new__(cls, arg, start, stop):
        return sp.Basic.__new__(cls, arg, sp.sympify(start), sp.sympify(stop))

    @property
    def arg(self):
        return self.args[0]

    @property
    def shape(self):
        return self.arg.shape


def at_time_index(label) -> bool:
    """Whether a basis vector's or a component's index is a time (attention's ``\\alpha_{t,j}``: ``j``, ``s``, ``t``
    or a step), not a label (``q_y``, ``q_{t, y_t}``).

    Examples
    --------
    >>> at_time_index(J), at_time_index(T - 1), at_time_index(sp.Integer(2)), at_time_index(Label("y"))
    (True, True, True, False)
    """
    if isinstance(label, sp.Integer):
        return True
    return isinstance(label, sp.Expr) and not isinstance(label, Label) and bool(label.free_symbols) \
        and label.free_symbols <= {J, S, T, N}


class IndexSum(MatrixExpr):
    """``\\sum_{j=start}^{stop} arg``, a sum over an index ``index`` (:data:`J` or :data:`S`) that ``arg`` reads.

    Attention's weighted sum ``c_t = \\sum_j \\alpha_{t,j} h_j`` and the steps of a reader summed in a
    total derivative (``\\sum_{s=1}^{n}``) are written with it.

    Examples
    --------
    >>> m = sp.Symbol("m")
    >>> IndexSum(Var("h", J, m, 1, "h_{{t}}"), J, 1, N).shape
    (m, 1)
    """

    def __new__(cls, arg, index, start, stop):
        return sp.Basic.__new__(cls, arg, index, sp.sympify(start), sp.sympify(stop))

    @property
    def arg(self):
        return self.args[0]

    @property
    def index(self):
        return self.args[1]

    @property
    def bounds(self) -> tuple:
        return (self.args[2], self.args[3])

    @property
    def shape(self):
        return self.arg.shape


def substitute_free(expr, subs: dict):
    """``expr`` with the symbols of ``subs`` replaced where no :class:`IndexSum` over them binds them: THE way
    to give the second index ``j`` (or a reader's step ``s``) a value, a time or another name.

    Examples
    --------
    >>> m = sp.Symbol("m")
    >>> h = Var("h", J, m, 1, "h_{{t}}")
    >>> e = sp.MatAdd(h, IndexSum(h, J, 1, N))
    >>> print(substitute_free(e, {J: T - 1}).args[0].display)
    h_{t-1}
    >>> substitute_free(e, {J: T}).args[1] == IndexSum(h, J, 1, N)
    True
    """
    if not isinstance(expr, sp.Basic) or not subs:
        return expr
    if isinstance(expr, IndexSum):
        inner = {k: v for k, v in subs.items() if k != expr.index}
        return IndexSum(substitute_free(expr.arg, inner), expr.index, *expr.bounds)
    if not expr.has(IndexSum):
        return expr.xreplace(subs)
    return expr.func(*(substitute_free(a, subs) for a in expr.args))


def at_second_index(time) -> bool:
    """Whether a read's time is the second index ``j`` (attention's ``h_j``), not a step of its own loop.

    Examples
    --------
    >>> at_second_index(J), at_second_index(T - 1), at_second_index(None)
    (True, False, False)
    """
    return time is not None and sp.sympify(time).has(J)


def expand_index_sums(expr, subs: dict):
    """``expr`` with each :class:`IndexSum` written out as the sum of its terms, for the values of ``n`` and
    ``i`` in ``subs`` (numbers evaluate it so; the printed form keeps the sum).

    Examples
    --------
    >>> m = sp.Symbol("m")
    >>> e = IndexSum(Var("h", J, m, 1, "h_{{t}}"), J, 1, N)
    >>> sorted(str(v.time) for v in expand_index_sums(e, {N: 3}).atoms(Var))
    ['1', '2', '3']
    """
    if not isinstance(expr, sp.Basic) or not expr.has(IndexSum):
        return expr

    def out(e):
        if isinstance(e, IndexSum):
            start, stop = (int(sp.sympify(b).subs(subs)) for b in e.bounds)
            step = 1 if stop >= start else -1
            terms = [out(e.arg).xreplace({e.index: sp.Integer(u)}) for u in range(start, stop + step, step)]
            if not terms:
                return sp.ZeroMatrix(*e.shape)
            return terms[0] if len(terms) == 1 else sp.MatAdd(*terms)
        if not e.args or not e.has(IndexSum):
            return e
        return e.func(*(out(a) for a in e.args))

    return out(expr)


class SquaredNorm(MatrixExpr):
    """``\\lVert v \\rVert^2 = v^\\top v`` (printed ``(v)^2`` when ``v`` is a scalar)."""

    def __new__(cls, arg):
        return sp.Basic.__new__(cls, arg)

    @property
    def arg(self):
        return self.args[0]

    @property
    def shape(self):
        return (sp.S.One, sp.S.One)
