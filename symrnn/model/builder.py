"""The Python API for declaring a model, in the handout's own words.

Examples
--------
The question sheet's Question 1 (see :func:`symrnn.zoo.elman` for the whole):

>>> from symrnn.model import ModelBuilder, LS, g
>>> mb = ModelBuilder("tiny")
>>> m, d, K = mb.sizes("m", "d", "K")
>>> x = mb.input("x", d)
>>> y = mb.label("y", K)
>>> W = mb.parameter("W", (m, d))
>>> U = mb.parameter("U", (m, m))
>>> h0 = mb.parameter("h0", m, latex="h^{(0)}")
>>> V = mb.parameter("V", (K, m))
>>> h = mb.state("h", m, init=h0)
>>> t = mb.t
>>> mb.recur(h, g(W @ x[t] + U @ h[t - 1]))
>>> q = mb.define("q", LS(V @ h[mb.n]))
>>> o = mb.define("o", -q[y])
>>> mb.build(loss=o).loss
'o'
"""

from __future__ import annotations

import dataclasses

import sympy as sp

from symrnn.errors import ShapeError, SpecError, UnknownNameError
from symrnn.model.declared import (
    MAX_DIM,
    Apply,
    Definition,
    Kind,
    Loop,
    Model,
    Ref,
    VarDecl,
    zero_vector,
)
from symrnn.operations import algebra as al
from symrnn.operations import primitives as P
from symrnn.operations.symbols import I, J, N, T, at_second_index, canonical, check_display_name


class Term:
    """An expression under construction, with its shape checked as it grows."""

    def __init__(self, builder: ModelBuilder, expr, shape):
        self._b = builder
        self.expr = expr
        self.shape = shape

    @property
    def display(self) -> str:
        """How the term is written (for messages), as the text format writes it."""
        return _display(self._b, self.expr)

    def _apply(self, prim, *terms: Term) -> Term:
        shape = prim.shape([t.shape for t in terms], [t.display for t in terms])
        return Term(self._b, Apply(prim, tuple(t.expr for t in terms)), shape)

    def _term(self, other) -> Term:
        if not isinstance(other, Term):
            raise SpecError(f"cannot combine {self.display} with {other!r}: only model variables can be")
        other._check_usable()
        self._check_usable()
        return other

    def _check_usable(self) -> None:
        pass

    def __matmul__(self, other):
        other = self._term(other)
        pulled = _pull_constants(self, other)  # (c A) B and A (c B) are c (A B): one factor, written first
        if pulled is not None:
            c, left, right = pulled
            return (left @ right)._scaled(c)
        if al.same_dim(self.shape[0], 1) and al.same_dim(self.shape[1], 1) and not al.same_dim(other.shape[0], 1):
            return self._apply(P.SCALAR_TIMES, self, other)  # a number times a vector: \alpha_{t,j} h_j
        return self._apply(P.MATVEC, self, other)

    def __add__(self, other):
        if not isinstance(other, Term):  # a + 2, v + \epsilon: the constant added to every component
            self._check_usable()
            c = P.constant(other, self._b._sizes)
            return self if c == 0 else self._apply(P.offset(c), self)
        other = self._term(other)
        a, b = _broadcast(self, other)
        if a is not self or b is not other:
            return a + b
        parts = []
        for t in (self, other):
            if isinstance(t.expr, Apply) and t.expr.prim is P.ADD:
                parts.extend(Term(self._b, a, t.shape) for a in t.expr.args)
            else:
                parts.append(t)
        return self._apply(P.ADD, *parts)

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        if not isinstance(other, Term):
            return self + (-P.constant(other, self._b._sizes))
        return self + (-self._term(other))

    def __rsub__(self, other):
        self._check_usable()
        if isinstance(other, int) and other == 1:
            return self._apply(P.ONE_MINUS, self)
        return (-self) + other

    def __mul__(self, other):
        """``a * b`` is the elementwise (Hadamard) product ``a \\odot b``; ``a * 2`` scales by a constant."""
        if not isinstance(other, Term):
            return self._scaled(other)
        other = self._term(other)
        pulled = _pull_constants(self, other)
        if pulled is not None:
            c, left, right = pulled
            return (left * right)._scaled(c)
        return self._apply(P.HADAMARD, self, other)

    def __rmul__(self, other):
        """``2 * a``, ``Fraction(1, 2) * a``, ``(1 / mb.n) * a``: a constant factor
        (:func:`~symrnn.operations.primitives.constant`)."""
        return self._scaled(other)

    def __truediv__(self, other):
        """``a / 2``, ``a / mb.n``: division by a constant; ``a / s`` by a 1 x 1 term, or componentwise."""
        if isinstance(other, Term):
            return self._apply(P.DIVIDE, self, self._term(other))
        c = P.constant(other, self._b._sizes)
        if c == 0:
            raise SpecError(f"cannot divide {self.display} by zero")
        return self._scaled(1 / c)

    def _scaled(self, value) -> Term:
        self._check_usable()
        c = P.constant(value, self._b._sizes)
        if c == 0:
            raise SpecError(f"a factor 0 leaves nothing of {self.display}: leave the term out")
        if c == 1:
            return self
        if c == -1:
            return -self
        prim = self.expr.prim if isinstance(self.expr, Apply) else None
        if prim is not None and prim.over is not None:  # \frac{1}{n} \sum_t L_t: the sum carries its factor
            factor = c * (prim.constant if prim.constant is not None else 1)
            return Term(self._b, Apply(P.sum_over(*prim.over, factor), self.expr.args), self.shape)
        if prim is not None and prim.constant is not None:  # 2 (3 a) is 6 a
            return Term(self._b, self.expr.args[0], self.shape)._scaled(c * prim.constant)
        return self._apply(P.scale(c), self)

    def __neg__(self):
        self._check_usable()
        if isinstance(self.expr, Apply) and self.expr.prim is P.NEG:  # --a is a
            return Term(self._b, self.expr.args[0], self.shape)
        return self._apply(P.NEG, self)

    def __getitem__(self, label):
        if label is J:  # attention's weight \alpha_{t,j}: component j of \alpha_t
            self._check_usable()
            return self._apply(P.PICK_AT, self)
        if not (isinstance(label, Handle) and label.decl.kind is Kind.LABEL):
            raise SpecError(f"{self.display}[...] picks a component and needs a label, got {label!r}")
        self._check_usable()
        label._check_usable()
        if label.decl.timed and sp.expand(label.time - T) != 0:
            raise SpecError(f"the label per step {label.decl.display(label.time)} is read at its own step: "
                            f"{label.decl.display(T)}, picking from a variable at t (q_{{t, y_t}})")
        return self._apply(P.PICK, self, label)

    def __repr__(self) -> str:
        return f"<term {self.display} : {self.shape[0]} x {self.shape[1]}>"


def _whole_sums(term: Term):
    """``term``'s expression, checked: a sum over t is a whole definition (``L = \\sum_t L_t``, or a mean)."""
    def inner_sums(expr, top):
        if isinstance(expr, Apply):
            if expr.prim.over is not None and not top:
                yield expr
            for a in expr.args:
                yield from inner_sums(a, False)

    for found in inner_sums(term.expr, True):
        shown = _display(term._b, found)
        raise SpecError(f"{shown} is part of a larger expression, but a sum over t is a definition of its own: "
                        f"define S = {shown} on a line of its own, then use S")
    return term.expr


def reads_j(expr) -> list:
    """The reads at the second index ``j`` (a :class:`Ref`, or a pick at ``j``: an :class:`Apply`) that no
    sum over ``j`` in ``expr`` binds.

    Examples
    --------
    >>> mb = ModelBuilder("reads_j")
    >>> h = mb.input("h", 2, latex="h_{{t}}")
    >>> reads_j((h[mb.j] + h[mb.t]).expr), reads_j(mb.sum(h[mb.j]).expr)
    ([Ref(name='h', time=j)], [])
    """
    if isinstance(expr, Ref):
        return [expr] if at_second_index(expr.time) else []
    if expr.prim.inner is not None:
        return []
    found = [expr] if expr.prim is P.PICK_AT else []
    for a in expr.args:
        found += reads_j(a)
    return found


def _has_inner_sum(expr) -> bool:
    """Whether ``expr`` holds a sum over the second index j."""
    return any(a.prim.inner is not None for a in [expr, *_subexpressions(expr)] if isinstance(a, Apply))


def _subexpressions(expr):
    """Every :class:`Apply` below ``expr``."""
    for a in getattr(expr, "args", ()):
        if isinstance(a, Apply):
            yield a
            yield from _subexpressions(a)


def _broadcast(a: Term, b: Term) -> tuple[Term, Term]:
    """A vector and a number (1 x 1) in a sum: the number added to every component (``a_t - \\mu_t``)."""
    def one(t):
        return al.same_dim(t.shape[0], 1) and al.same_dim(t.shape[1], 1)

    if one(b) and not one(a) and al.same_dim(a.shape[1], 1):
        return a, b._apply(P.broadcast(a.shape[0]), b)
    if one(a) and not one(b) and al.same_dim(b.shape[1], 1):
        return a._apply(P.broadcast(b.shape[0]), a), b
    return a, b


def _unscaled(term: Term) -> tuple:
    """``(c, a)`` for a term ``c a`` (``(1, term)`` for any other)."""
    prim = term.expr.prim if isinstance(term.expr, Apply) else None
    if prim is not None and prim.constant is not None and prim.over is None:
        return prim.constant, Term(term._b, term.expr.args[0], term.shape)
    return sp.S.One, term


def _pull_constants(a: Term, b: Term):
    """``(c, a', b')`` with ``a = c_a a'`` and ``b = c_b b'``, ``c = c_a c_b``; None when neither is scaled."""
    (ca, a2), (cb, b2) = _unscaled(a), _unscaled(b)
    return None if ca == 1 and cb == 1 else (ca * cb, a2, b2)


class Handle(Term):
    """A declared variable; index a variable over time with ``h[t - 1]``."""

    def __init__(self, builder, decl: VarDecl, time=None):
        self.decl = decl
        self.time = time
        super().__init__(builder, Ref(decl.name, time), decl.shape)

    def _check_usable(self) -> None:
        if self.decl.timed and self.time is None:
            raise SpecError(f"{self.decl.name} varies over time: write {self.decl.name}[t] (or t - 1, n)")

    def __getitem__(self, key):
        if self.decl.timed and self.time is None:
            time = sp.sympify(key)
            if not time.free_symbols <= {T, N, I, J}:
                raise SpecError(f"time index {key} of {self.decl.name} may use only t, n, i and j")
            if time.has(J) and time != J:
                raise SpecError(f"{self.decl.name} is read at the second index j itself, not {key}")
            return Handle(self._b, self.decl, time)
        return super().__getitem__(key)


def _display(builder: ModelBuilder, expr) -> str:
    """How a model expression is written, each part written once (a long sum's parts do not carry
    the whole sum's text: that grew exponentially with the number of terms)."""
    if isinstance(expr, Ref):
        return builder._vars[expr.name].display(expr.time)
    shown = builder._shown.get(expr)
    if shown is None and expr.prim.over is not None:  # a sum over its variable's loop, by its index
        ref = expr.args[0]
        factor = "" if expr.prim.constant is None else P.constant_text(expr.prim.constant) + " "
        decl = builder._vars[ref.name]
        shown = rf"{factor}\sum_{{{decl.loop.index}}} {decl.latex.replace('{t}', decl.loop.index)}"
        builder._shown[expr] = shown
    if shown is None:
        shown = P.write(expr.prim, [(_display(builder, a), a.prim if isinstance(a, Apply) else None)
                                    for a in expr.args])
        builder._shown[expr] = shown
    return shown


#: The longest title accepted.
MAX_TITLE = 200


def _timed_latex(name: str) -> str:
    return name + "^{({t})}"


class ModelBuilder:
    """Declare a model step by step; :meth:`build` returns the frozen :class:`Model`.

    Declare the sizes (:meth:`sizes`), then the variables (:meth:`parameter`, :meth:`input`,
    :meth:`label`, :meth:`state`), then the equations (:meth:`recur`, :meth:`interim`,
    :meth:`define`, :meth:`sum`), and freeze it with :meth:`build`. Each declaration returns a
    handle to write expressions with: ``@`` (matrix-vector product), ``+``, ``-``, ``*``
    (elementwise product), ``1 - z``, ``q[y]`` and the builder functions (``g``, ``tanh``,
    ``LS``, ``concat``, ...). Shapes are checked as the expressions grow.

    Parameters
    ----------
    name : str
        The model's identifier (``"elman"``).
    title : str, optional
        A human title for drawings and documents; the name by default.

    Attributes
    ----------
    t : sympy.Symbol
        The loop index ``t``: ``h[t - 1]``, ``x[t]``.
    n : sympy.Symbol
        The sequence length ``n``: ``h[mb.n]``.
    i : sympy.Symbol
        The label position ``i`` of the models that read one: ``eta[mb.i]``.
    name, title : str
        As given.

    Examples
    --------
    >>> from symrnn import ModelBuilder, tanh
    >>> mb = ModelBuilder("scalar_rnn", "a scalar RNN")
    >>> w = mb.parameter("w", 1); h0 = mb.parameter("h0", 1, latex="h_0")
    >>> x = mb.input("x", 1, latex="x_{t}")
    >>> h = mb.state("h", 1, init=h0, latex="h_{t}")
    >>> mb.recur(h, tanh(w * h[mb.t - 1] + x[mb.t]))
    >>> model = mb.build(loss=mb.define("L", h[mb.n] * h[mb.n]))
    >>> model.loss, [p.latex for p in model.parameters], model.functions
    ('L', ['w', 'h_0'], ['tanh'])
    """

    t = T
    n = N
    i = I
    j = J

    def __init__(self, name: str, title: str = ""):
        if len(title) > MAX_TITLE or '"' in title or not all(c.isprintable() for c in title):
            raise SpecError(f"a title is one line of at most {MAX_TITLE} printable characters without a double "
                            f"quote (it is written in the text format as \"title\"), got {title[:40]!r}")
        self.name = name
        self.title = title or name
        self._sizes: list[sp.Symbol] = []
        self._vars: dict[str, VarDecl] = {}
        self._defs: dict[str, Definition] = {}
        self._shown: dict = {}  # expression -> how it is written, for messages

    # -- declarations -------------------------------------------------------
    def sizes(self, *names: str) -> tuple[sp.Symbol, ...]:
        """Declare dimension names (``m``, ``d``, ``K``); returns their symbols."""
        symbols = tuple(sp.Symbol(nm, integer=True, positive=True) for nm in names)
        self._sizes.extend(symbols)
        return symbols if len(symbols) > 1 else symbols[0]

    def _declare(self, decl: VarDecl) -> Handle:
        if not decl.name.isidentifier():
            raise SpecError(f"variable name {decl.name!r} is not an identifier; put the LaTeX in latex=")
        try:  # every document prints the name in LaTeX math: only a safe subset of LaTeX
            check_display_name(decl.latex.replace("{t}", "t"))
        except ValueError as e:
            raise SpecError(str(e)) from None
        if decl.name in self._vars:
            raise SpecError(f"variable {decl.name!r} is declared twice")
        shown = canonical(decl.latex)
        twin = next((v for v in self._vars.values() if canonical(v.latex) == shown), None)
        if twin is not None:  # two variables that print alike could not be told apart in any output
            raise SpecError(f"{decl.name} and {twin.name} would both print as {decl.latex}; give them different "
                            "display names")
        self._vars[decl.name] = decl
        return Handle(self, decl)

    def _shape(self, size) -> tuple:
        shape = tuple(size) if isinstance(size, (tuple, list)) else (size, 1)
        if len(shape) != 2:
            raise ShapeError(f"a shape is a size or (rows, cols), got {size!r}")
        for s in shape:
            s = sp.sympify(s)
            if s.is_Integer and not 1 <= s <= MAX_DIM:
                raise SpecError(f"a size of {s} is outside 1..{MAX_DIM}")
            if not (s.is_Integer and s > 0) and not s.free_symbols <= set(self._sizes):
                raise SpecError(f"unknown size {s}; declare it with sizes() first")
        return tuple(sp.sympify(s) for s in shape)

    def parameter(self, name: str, size, latex: str | None = None) -> Handle:
        """A learned parameter: a vector of ``size`` or a matrix of shape ``(rows, cols)``."""
        return self._declare(VarDecl(name, Kind.PARAMETER, self._shape(size), latex or name))

    def _loop(self, over, step: int, index: str) -> Loop:
        start, stop = (1, N) if over is None else over
        start, stop = sp.sympify(start), sp.sympify(stop)
        for bound in (start, stop):
            if not bound.free_symbols <= {N, I}:
                raise SpecError(f"a loop bound may use only n and i, got {bound}")
        return Loop(start, stop, 1, index) if step == 1 else Loop(stop, start, -1, index)

    def input(self, name: str, size, latex: str | None = None, timed: bool = True,
              onehot: bool = False, over=None, index: str = "t", init: Handle | None = None) -> Handle:
        """An input: a sequence ``x^{(1)} .. x^{(n)}`` of vectors of ``size`` (``timed=False``: one vector).

        ``over=(1, mb.i - 1)`` declares a sequence over another range (the tagger's tags);
        ``onehot=True`` says its values are one-hot vectors (numeric checks draw them so).
        ``init`` is its value at the step before its first (``y^{(0)}``, a parameter or an untimed
        input), for an input read one step back (``W y[t - 1]``: teacher forcing); by default the
        variable that prints as it (``y^{(0)}``) is found when the model is built.
        """
        if not timed:
            return self._declare(VarDecl(name, Kind.INPUT, self._shape(size), latex or name, onehot=onehot))
        loop = self._loop(over, 1, index)
        if init is not None and (init.decl.timed or init.decl.kind not in (Kind.PARAMETER, Kind.INPUT)):
            raise SpecError(f"the value of {name} before its first step is a parameter or an untimed input, "
                            f"got {init.display}")
        return self._declare(VarDecl(name, Kind.INPUT, self._shape(size), latex or _timed_latex(name),
                                     timed=True, loop=loop, onehot=onehot,
                                     init=None if init is None else init.decl.name))

    def label(self, name: str, classes, latex: str | None = None, timed: bool = False, over=None,
              index: str = "t") -> Handle:
        """An integer label in ``1..classes`` (the handout's ``y``); ``timed=True``: one per step, ``y^{(t)}``
        (``q[t][y[t]]`` picks component ``y^{(t)}`` of ``q^{(t)}``, the text format's ``q_{t, y_t}``)."""
        shape = (self._shape(classes)[0], 1)
        if not timed:
            return self._declare(VarDecl(name, Kind.LABEL, shape, latex or name))
        return self._declare(VarDecl(name, Kind.LABEL, shape, latex or _timed_latex(name), timed=True,
                                     loop=self._loop(over, 1, index)))

    def state(
        self, name: str, size, init: Handle | None = None, direction: str = "forward",
        latex: str | None = None, over=None, index: str = "t",
    ) -> Handle:
        """A state sequence computed by a recurrence (give it with :meth:`recur`).

        ``direction="forward"`` runs ``t = 1..n`` from ``init`` at time 0,
        ``"backward"`` runs ``t = n..1`` from ``init`` at time ``n + 1``.
        ``over=(1, mb.i - 1)`` runs over another range (the tagger's
        ``for j = 1..(i-1)``, with ``index="j"``).
        """
        if direction not in ("forward", "backward"):
            raise SpecError(f"direction must be 'forward' or 'backward', got {direction!r}")
        loop = self._loop(over, 1 if direction == "forward" else -1, index)
        shape = self._shape(size)
        if init is not None and not isinstance(init, Handle):
            if not (isinstance(init, Term) and zero_vector(init.expr)):
                raise SpecError(f"the initial state of {name} is a parameter, a variable defined before its loop, "
                                "or mb.zeros(size); got another expression")
            template = VarDecl(name, Kind.STATE, shape, latex or _timed_latex(name), True, loop)
            before = template.display(sp.expand(sp.sympify(loop.first) - loop.step))
            init = self.define(f"{name}_0" if f"{name}_0" not in self._vars else f"{name}_start", init, latex=before)
        if init is not None:
            if init.decl.kind not in (Kind.PARAMETER, Kind.DEFINED) or init.decl.timed:
                raise SpecError(f"the initial state of {name} is a parameter or a variable defined before its "
                                f"loop (h_0 = W f, z_0 = h_n), got {init.display}")
            if init.shape != shape:
                raise ShapeError(f"initial state {init.display} is {init.shape} but {name} is {shape}")
        decl = VarDecl(name, Kind.STATE, shape, latex or _timed_latex(name), True, loop,
                       init.decl.name if init is not None else None)
        if init is not None:  # the text format finds an initial state by this name: show must write it so
            before = decl.display(sp.expand(sp.sympify(loop.first) - loop.step))
            if canonical(init.decl.latex) != canonical(before):
                raise SpecError(f"the initial state of {decl.display(T)} prints as {init.decl.latex}; it must print "
                                f"as the state at the step before its loop, {before} (give it latex={before!r})")
        return self._declare(decl)

    def interim(self, name: str, term: Term, latex: str | None = None) -> Handle:
        """Name a subexpression (a pre-activation ``a^{(t)}``): printed by name, not a graph node."""
        if reads_j(term.expr):
            raise SpecError(f"{name} reads {term.display} at the second index j, which a let does not: define it "
                            "as a variable with two indices, e_{t,j} = ..., without let")
        timed = any(r.time is not None and sp.sympify(r.time).has(T) for r in self._refs(term.expr))
        default = _timed_latex(name) if timed else name
        handle = self._declare(VarDecl(name, Kind.INTERIM, term.shape, latex or default, timed))
        self._defs[name] = Definition(name, self._expression(term))
        # An interim is a name for a subexpression of the current step: it is read at t.
        return Handle(self, handle.decl, T) if timed else handle

    def define(self, name: str, term: Term, latex: str | None = None, loop: Loop | None = None) -> Handle:
        """A computed variable (a graph node): outside the loops (``l``, ``q``, ``o``), or per step.

        A definition that reads variables at ``t`` (``\\hat y^{(t)} = w_y h^{(t)}``) is
        computed at every step of the loop of what it reads; the handle returned is then
        read at ``t``, and :meth:`sum` adds its steps up (``L = \\sum_t L^{(t)}``). ``loop``
        says which loop when the definition sits inside one (the text format's ``for`` blocks).

        A definition that also reads a variable at the second index ``j`` (``h[mb.j]``) has two time
        indices: attention's score ``e_{t,j} = v^\\top \\tanh(W s_{t-1} + U h_j)``, one number for each
        step ``j`` of ``h``'s loop. The handle returned is the column ``e_t`` of those numbers (read at
        ``t``: ``softmax(e)`` is the softmax over ``j``), ``e[mb.j]`` is one of them, ``e_{t,j}``, and
        ``latex`` names the column (``e_{{t}}``).

        Examples
        --------
        >>> from symrnn.model import ModelBuilder, inner, tanh, softmax
        >>> mb = ModelBuilder("attention")
        >>> m = mb.sizes("m")
        >>> x = mb.input("x", m, latex="x_{{t}}")
        >>> h = mb.state("h", m, init=mb.parameter("h0", m, latex="h_{0}"), latex="h_{{t}}")
        >>> mb.recur(h, tanh(h[mb.t - 1] + x[mb.t]))
        >>> v = mb.parameter("v", m)
        >>> e = mb.define("e", inner(v, tanh(x[mb.t] + h[mb.j])), latex="e_{{t}}")
        >>> e.shape, e.decl.inner
        ((n, 1), Loop(start=1, stop=n, step=1, index='t'))
        >>> a = mb.define("a", softmax(e), latex=r"\\alpha_{{t}}")
        >>> mb.sum(a[mb.j] @ h[mb.j]).display
        '\\\\sum_{j} \\\\alpha_{t, j} h_{j}'
        """
        if reads_j(term.expr):
            return self._two_indices(name, term, latex, loop)
        reads_t = self._step_loop(term.expr)
        loop = None if reads_t is None else (loop or reads_t)
        if loop is None:
            self._check_static(name, term.expr)
            handle = self._declare(VarDecl(name, Kind.DEFINED, term.shape, latex or name))
        else:
            decl = VarDecl(name, Kind.DEFINED, term.shape, latex or _timed_latex(name), True, loop)
            handle = Handle(self, self._declare(decl).decl, T)
        self._defs[name] = Definition(name, self._expression(term))
        return handle

    def _j_loop(self, term: Term) -> Loop:
        """The loop of the variables ``term`` reads at the second index ``j`` (one loop for all of them)."""
        loops, picks = [], []
        for r in reads_j(term.expr):
            v = self._vars.get(r.name) if isinstance(r, Ref) else None
            if v is not None and v.loop not in loops:
                loops.append(v.loop)
            if isinstance(r, Apply) and isinstance(r.args[0], Ref):
                picks.append(self._vars[r.args[0].name])
        if not loops:
            raise SpecError(f"{term.display} picks a component at j but reads no variable at j; read one (h_j) "
                            "to say which steps j runs over (the softmax over j is written \\alpha_t = "
                            "\\operatorname{softmax}(e_t), of the column e_t of the scores e_{t,j})")
        if len(loops) > 1 or (loops[0].start, loops[0].stop, loops[0].step) != (1, N, 1):
            raise SpecError(f"{term.display} reads variables at j over {', '.join(map(str, loops))}: j runs over "
                            "the steps of one loop for t = 1..n (for a backward encoder, copy its states into "
                            "one: for t = 1..n: k_t = b_t, then read k_j)")
        if _has_inner_sum(term.expr):
            raise SpecError(f"{term.display} sums over j inside a term read at j; define the inner sum as a variable "
                            "of its own first (m_t = \\sum_j h_j), then read it")
        size = N  # the steps 1..n
        for v in picks:
            if not al.same_dim(v.shape[0], size):
                raise ShapeError(f"{v.display(T)} has {v.shape[0]} components, but j runs over {size} steps "
                                 f"({loops[0]}): its component at j is one weight per step, as in \\alpha_{{t,j}} "
                                 "of \\alpha_t = softmax(e_t)")
        return loops[0]

    def _two_indices(self, name: str, term: Term, latex: str | None, loop: Loop | None) -> Handle:
        """A variable with two time indices, ``e_{t,j} = term`` (:meth:`define`)."""
        inner = self._j_loop(term)
        outer = self._step_loop(term.expr) or loop
        if outer is None:
            raise SpecError(f"{name} reads {term.display}, at j but at no step t: a variable with two time indices "
                            "(e_{t,j}) sits in a loop and reads a variable at t (s_{t-1})")
        if not (al.same_dim(term.shape[0], 1) and al.same_dim(term.shape[1], 1)):
            raise ShapeError(f"{name} has two time indices (t, j), so each of its values is a number (1 x 1), but "
                             f"{term.display} is {al.fmt_shape(term.shape)}")
        for r in self._refs(term.expr):
            if self._vars[r.name].kind is Kind.INTERIM and at_second_index(r.time):
                raise SpecError(f"{self._vars[r.name].display(r.time)} is a let read at j; write it out in {name}")
        column = Apply(P.MATVEC, (Apply(P.basis_at(N), ()), term.expr))
        expr = Apply(P.inner_sum(inner.start, inner.stop), (column,))
        decl = VarDecl(name, Kind.DEFINED, (N, sp.S.One), latex or _timed_latex(name), True, outer, inner=inner)
        handle = Handle(self, self._declare(decl).decl, T)
        self._defs[name] = Definition(name, expr)
        return handle

    def zeros(self, size) -> Term:
        """The zero vector of ``size`` components, to start a state from zero as handouts do (``h_0 = 0``).

        Examples
        --------
        >>> from symrnn.model.builder import ModelBuilder
        >>> mb = ModelBuilder("zero_start")
        >>> m = mb.sizes("m")
        >>> h0 = mb.define("h_0", mb.zeros(m), latex="h_0")
        >>> h0.decl.kind, h0.shape
        (<Kind.DEFINED: 'defined'>, (m, 1))
        """
        shape = self._shape(size)
        if shape[1] != 1:
            raise ShapeError(f"zeros() makes a zero vector (a state's start); got the shape {size!r}")
        return Term(self, Apply(P.zeros(shape[0]), ()), shape)

    def sum(self, term: Term) -> Term:
        """``\\sum_t v^{(t)}`` over the loop of a per-step variable or a state read at ``t``.

        Examples
        --------
        >>> mb = ModelBuilder("sum")
        >>> x = mb.input("x", 1)
        >>> s = mb.define("s", x[mb.t] - x[mb.t])
        >>> mb.sum(s).display
        '\\\\sum_{t} s^{(t)}'
        """
        if isinstance(term, Term) and reads_j(term.expr):  # \sum_j \alpha_{t,j} h_j: over the second index
            loop = self._j_loop(term)
            return Term(self, Apply(P.inner_sum(loop.start, loop.stop), (term.expr,)), term.shape)
        if not (isinstance(term, Handle) and term.decl.timed and term.time == T):
            shown = getattr(term, "display", term)
            raise SpecError(f"sum() adds up a variable read at t over its loop, or a term read at j over j "
                            f"(\\sum_j \\alpha_{{t,j}} h_j), got {shown!r}")
        loop = term.decl.loop
        low, high = (loop.start, loop.stop) if loop.step == 1 else (loop.stop, loop.start)
        prim = P.sum_over(low, high)
        return Term(self, Apply(prim, (term.expr,)), term.shape)

    def _step_loop(self, expr) -> Loop | None:
        """The loop of the first variable ``expr`` reads at ``t`` (outside sums), or None."""
        for r in self._refs(expr, into_sums=False):
            v = self._vars[r.name]
            if v.timed and r.time is not None and sp.sympify(r.time).has(T) and v.loop is not None:
                return v.loop
        return None

    def recur(self, state: Handle, term: Term) -> None:
        """Give the recurrence of ``state``: ``h^{(t)} = term`` inside its loop."""
        decl = state.decl
        if decl.kind is not Kind.STATE:
            raise SpecError(f"{decl.name} is not a state; only states have recurrences")
        if decl.name in self._defs:
            raise SpecError(f"{decl.name} already has a recurrence")
        if reads_j(term.expr):
            raise SpecError(f"{decl.display(T)} reads {term.display} at the second index j outside a sum over j; "
                            "sum over j (c_t = \\sum_j \\alpha_{t,j} h_j) or give a variable both indices "
                            "(e_{t,j} = ...)")
        if term.shape != decl.shape:
            raise ShapeError(f"{decl.display(T)} is {decl.shape} but its recurrence gives {term.shape}")
        previous = T - decl.loop.step
        for r in self._refs(term.expr):
            v = self._vars[r.name]
            if v.timed and r.time is not None and not sp.sympify(r.time).has(T):
                continue
            if v.name == decl.name and sp.expand(r.time - previous) != 0:
                raise SpecError(
                    f"the recurrence of {decl.display(T)} ({'for ' + str(decl.loop)}) reads "
                    f"{v.display(r.time)}; it can read only {v.display(previous)}"
                )
            if v.name == decl.name and decl.init is None:
                raise SpecError(
                    f"{decl.display(T)} reads {v.display(previous)} but has no initial state; "
                    f"declare it with state(..., init=<parameter>)"
                )
        self._defs[decl.name] = Definition(decl.name, self._expression(term))

    def _expression(self, term: Term):
        """``term``'s expression as a definition, checked: a sum over t is a whole definition, a zero
        start (:meth:`zeros`) too, and an input is read at t or one step before in its own loop's direction."""
        expr = _whole_sums(term)
        if _nested_nullary(expr):
            raise SpecError("mb.zeros() is a whole definition, a state's zero start (h_0 = 0), not part of an "
                            "expression: leave the zero term out")
        for r in self._refs(expr):
            v = self._vars[r.name]
            if v.kind is Kind.INPUT and v.timed and r.time is not None and sp.sympify(r.time).has(T) \
                    and sp.expand(r.time - T) not in (0, -v.loop.step):
                raise SpecError(f"{v.display(r.time)} cannot be read: inputs are read at time t or one step before "
                                f"in their own order ({v.display(T - v.loop.step)}, teacher forcing, with "
                                f"{v.display(v.loop.first - v.loop.step)} declared)")
        return expr

    def _boundaries(self) -> None:
        """Each input read one step back (``y^{(t-1)}``) gets its value before its first step: the
        ``init`` given, or the parameter or untimed input that prints as it (``y^{(0)}``)."""
        for d in self._defs.values():
            for r in self._refs(d.expr):
                v = self._vars[r.name]
                if v.kind is not Kind.INPUT or not v.timed or r.time is None or not sp.sympify(r.time).has(T):
                    continue
                if sp.expand(r.time - T) == 0 or v.init is not None:
                    continue
                before = sp.expand(sp.sympify(v.loop.first) - v.loop.step)
                shown = canonical(v.display(before))
                found = [w for w in self._vars.values() if not w.timed and canonical(w.latex) == shown
                         and (w.kind in (Kind.PARAMETER, Kind.INPUT) or self._zero_start(w.name))]
                if not found:
                    raise SpecError(f"{v.display(r.time)} reads {v.display(before)} at the first step, which is not "
                                    f"declared; declare it: param {v.display(before)} (a learned start), input "
                                    f"{v.display(before)} (a start symbol given with the data), or "
                                    f"{v.display(before)} = 0 (zeros)")
                self._vars[v.name] = dataclasses.replace(v, init=found[0].name)

    def _zero_start(self, name: str) -> bool:
        """Whether ``name`` is defined as a zero vector (:meth:`zeros`), a start of a state or an input."""
        d = self._defs.get(name)
        return d is not None and zero_vector(d.expr)

    # -- checks -------------------------------------------------------------
    def _refs(self, expr, into_sums: bool = True):
        """Refs of ``expr``, looking through interims (which are not graph nodes)."""
        if isinstance(expr, Apply):
            if expr.prim.over is not None and not into_sums:
                return
            for a in expr.args:
                yield from self._refs(a, into_sums)
            return
        yield expr
        if self._vars[expr.name].kind is Kind.INTERIM:
            yield from self._refs(self._defs[expr.name].expr, into_sums)

    def _check_static(self, name: str, expr) -> None:
        if _has_inner_sum(expr):
            raise SpecError(f"{name} is defined outside the loops but sums over j; a sum over j sits in a loop "
                            "(c_t = \\sum_j \\alpha_{t,j} h_j), and outside the loops \\sum_t adds up a variable "
                            "over its loop")
        for r in self._refs(expr, into_sums=False):
            v = self._vars[r.name]
            if v.timed and (r.time is None or sp.sympify(r.time).has(T)):
                raise SpecError(
                    f"{name} is defined outside the loops but reads {v.display(r.time)}; "
                    f"read a fixed time such as {v.display(N)}"
                )

    def build(self, loss: Handle) -> Model:
        """Check the declaration and freeze it into a :class:`Model` with ``loss``."""
        if not isinstance(loss, Handle) or loss.decl.name not in self._vars:
            raise SpecError("the loss must be a variable of this model")
        if tuple(sp.sympify(s) for s in loss.shape) != (1, 1):
            raise ShapeError(
                f"the loss {loss.display} must be a scalar, but it is {loss.shape[0]} x {loss.shape[1]}"
            )
        if loss.decl.kind is not Kind.DEFINED:
            raise SpecError(f"the loss {loss.display} must be a defined variable")
        for v in self._vars.values():
            if v.kind is Kind.STATE and v.name not in self._defs:
                raise SpecError(f"state {v.name} has no recurrence; give it with recur()")
        self._boundaries()
        return Model(self.name, self.title, tuple(self._sizes), tuple(self._vars.values()),
                     tuple(self._defs.values()), loss.decl.name)


def apply(prim: P.Primitive, term: Term) -> Term:
    """The one-argument primitive ``prim`` applied to ``term``.

    Examples
    --------
    >>> mb = ModelBuilder("a")
    >>> apply(P.elementwise("tanh"), mb.parameter("a", 2)).display
    '\\\\tanh(a)'
    """
    if not isinstance(term, Term):
        raise SpecError(f"{prim.name}() takes a model expression, got {term!r}")
    term._check_usable()
    return term._apply(prim, term)


def _fn(prim):
    def applied(term: Term) -> Term:
        return apply(prim, term)

    # A numpydoc docstring built from the primitive: the builder's functions (g, tanh, LS, ...) and
    # every transfer(name) have one, with an example that runs as a doctest for the module's own.
    name = prim.name
    fn = P.function(prim.function) if prim.function else None
    call = name if name in ("g", "tanh", "sigmoid", "relu", "identity", "LS", "softmax", "sqnorm") else None
    if prim is P.SQNORM:
        summary = "The squared norm ``v^T v`` (``(v)^2`` for a scalar): the squared error of ``v = yhat - y``."
        argument = "A vector expression of the model (``yhat - y``), or a ``1 x 1`` one."
        returns = "A ``1 x 1`` term (a scalar), written ``(v)^2``."
    elif prim is P.LOGSOFTMAX:
        summary = "The log-softmax ``LS(v) = v - log sum_k exp(v_k)`` of a vector (the handout's ``LS``)."
        argument = "A vector expression of the model (the scores ``l = V h^{(n)} + gamma``)."
        returns = "A vector term of the same size: the log-probabilities, written ``\\text{LS}(v)``."
    elif prim is P.SOFTMAX:
        summary = "The softmax ``exp(v) / sum_k exp(v_k)`` of a vector: probabilities that sum to 1."
        argument = "A vector expression of the model (the scores)."
        returns = "A vector term of the same size, written ``softmax(v)``."
    elif fn is not None and fn.abstract:
        summary = f"Apply the abstract elementwise function ``{name}`` (the handout's transfer function)."
        argument = "A vector expression of the model (a pre-activation ``W @ x[t] + U @ h[t - 1] + b``)."
        returns = (f"A vector term of the same size, ``{name}`` of each component. ``{name}`` has no numbers\n"
                   f"    until it is bound: ``model.bind({name}=\"tanh\")`` or ``bindings={{\"{name}\": \"tanh\"}}``.")
    else:
        summary = f"Apply the elementwise function ``{name}`` (LaTeX ``{fn.latex if fn else name}``) to each component."
        argument = "A vector expression of the model (a pre-activation ``W @ x[t] + U @ h[t - 1] + b``)."
        returns = f"A vector term of the same size, ``{name}`` of each component."
    shape = "(1, 1)" if prim is P.SQNORM else "(3, 1)"
    written = P.write(prim, [("v", None)])
    imported, called = (call, call) if call else ("transfer", f'transfer("{name}")')
    applied.__name__ = name
    applied.__doc__ = f"""{summary}

A function of the builder API: it applies the primitive ``{name}`` of the model language to a term
(a declared variable of a :class:`ModelBuilder`, or an expression of them), checking its shape.

Parameters
----------
term : Term
    {argument}

Returns
-------
Term
    {returns}

Raises
------
SpecError
    When ``term`` is not a model expression, or is a timed variable read without its time.

Examples
--------
>>> from symrnn import ModelBuilder, {imported}
>>> mb = ModelBuilder("example")
>>> v = mb.parameter("v", 3)
>>> out = {called}(v)
>>> out.shape
{shape}
>>> print(out.display)
{written}
"""
    return applied


def transfer(name: str):
    """The elementwise function ``name`` as a builder function (``transfer("g")(a)``).

    Every function of :data:`symrnn.operations.functions.FUNCTIONS` is reached this way, those
    without a name of their own in the builder too (``transfer("softplus")``).

    Parameters
    ----------
    name : str
        The function's name: ``"g"`` (abstract), ``"tanh"``, ``"sigmoid"``, ``"relu"``,
        ``"identity"``, ``"softplus"``.

    Returns
    -------
    callable
        A function of one :class:`Term` that returns the function applied to each component,
        like :func:`tanh`.

    Raises
    ------
    SpecError
        When no function is called ``name``; the message lists the known ones.

    Examples
    --------
    >>> from symrnn import ModelBuilder, transfer
    >>> mb = ModelBuilder("example")
    >>> softplus = transfer("softplus")
    >>> out = softplus(mb.parameter("a", 2))
    >>> out.shape, out.display
    ((2, 1), 'softplus(a)')
    """
    try:
        return _fn(P.elementwise(name))
    except UnknownNameError as e:
        raise SpecError(str(e)) from None


g = transfer("g")
tanh = transfer("tanh")
sigmoid = transfer("sigmoid")
relu = transfer("relu")
identity = transfer("identity")
exp = transfer("exp")
log = transfer("log")
sqrt = transfer("sqrt")
LS = _fn(P.LOGSOFTMAX)
softmax = _fn(P.SOFTMAX)
sqnorm = _fn(P.SQNORM)


def sum_components(term: Term) -> Term:
    """The sum of a vector's components, ``\\mathbf{1}^{\\top} v``: a 1 x 1 term, written ``\\operatorname{sum}(v)``.

    Parameters
    ----------
    term : Term
        A vector expression of the model.

    Returns
    -------
    Term
        A ``1 x 1`` term.

    Examples
    --------
    >>> from symrnn.model import ModelBuilder, sum_components
    >>> mb = ModelBuilder("example")
    >>> print(sum_components(mb.parameter("v", 3)).display)
    \\operatorname{sum}(v)
    """
    return apply(P.SUM_COMPONENTS, term)


def mean(term: Term) -> Term:
    """The mean of a vector's components, ``\\frac{1}{m} \\mathbf{1}^{\\top} v`` for ``v`` of size ``m``
    (LayerNorm's ``\\mu``); the text format's ``\\operatorname{mean}(v)``, written back as
    ``\\frac{1}{m} \\operatorname{sum}(v)``.

    Parameters
    ----------
    term : Term
        A vector expression of the model.

    Returns
    -------
    Term
        A ``1 x 1`` term.

    Examples
    --------
    >>> from symrnn.model import ModelBuilder, mean
    >>> mb = ModelBuilder("example")
    >>> m = mb.sizes("m")
    >>> print(mean(mb.parameter("v", m)).display)
    \\frac{1}{m} \\operatorname{sum}(v)
    """
    total = sum_components(term)
    return total / term.shape[0]


def concat(*terms: Term) -> Term:
    """``CONCAT(a, b, ...)``: the vectors stacked into one.

    Parameters
    ----------
    *terms : Term
        One or more vector expressions of the model (the forward and backward states,
        ``h[mb.i]`` and ``eta[mb.i]``), at most :data:`symrnn.operations.primitives.MAX_CONCAT`.

    Returns
    -------
    Term
        A vector whose size is the sum of theirs, written ``\\text{CONCAT}(a, b)``.

    Raises
    ------
    SpecError
        When no term is given or one is not a model expression.

    Examples
    --------
    >>> mb = ModelBuilder("c")
    >>> a = mb.parameter("a", 2); b = mb.parameter("b", 3)
    >>> concat(a, b).shape
    (5, 1)
    >>> print(concat(a, b).display)
    \\text{CONCAT}(a, b)
    """
    if not terms or not all(isinstance(t, Term) for t in terms):
        raise SpecError("CONCAT() takes one or more model expressions")
    for t in terms:
        t._check_usable()
    return terms[0]._apply(P.CONCAT, *terms)


def _nested_nullary(expr) -> bool:
    """Whether a zero vector (:meth:`ModelBuilder.zeros`) sits inside ``expr`` rather than being it."""
    return isinstance(expr, Apply) and any(zero_vector(a) or _nested_nullary(a) for a in expr.args)


def inner(a: Term, b: Term) -> Term:
    """The inner product ``a^T b`` of two vectors (``y^T LS(s)``: a log-likelihood with one-hot ``y``).

    Parameters
    ----------
    a, b : Term
        Two vector expressions of the model of the same size.

    Returns
    -------
    Term
        A ``1 x 1`` term, written ``a^{\\top} b``.

    Raises
    ------
    SpecError
        When ``a`` or ``b`` is not a model expression (ShapeError when their sizes differ).

    Examples
    --------
    >>> from symrnn import ModelBuilder, LS, inner
    >>> mb = ModelBuilder("mlp_head")
    >>> K = mb.sizes("K")
    >>> y = mb.input("y", K, timed=False, onehot=True)
    >>> s = mb.parameter("s", K)
    >>> J = inner(y, LS(s))
    >>> J.shape
    (1, 1)
    >>> print(J.display)
    y^{\\top} \\text{LS}(s)
    """
    if not (isinstance(a, Term) and isinstance(b, Term)):
        raise SpecError("inner() takes two model expressions")
    a._check_usable()
    b._check_usable()
    return a._apply(P.INNER, a, b)
