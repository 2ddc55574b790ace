"""The textbook bound on how much a gradient can grow going back in time.

For a recurrence ``h_t = f(W h_{t-1} + (terms without a state))``, each step's Jacobian is
``\\operatorname{diag}(f'(\\cdot)) W``, so the product from ``h_t`` to ``h_n`` has
``\\|\\partial h_n / \\partial h_t\\|_2 \\le (\\max|f'| \\, \\|W\\|_2)^{n-t}`` (Pascanu, Mikolov and
Bengio 2013, Section 2.1). With a skip connection ``h_t = f(\\dots) + h_{t-1}`` each factor is
``I + \\operatorname{diag}(f') W``, at most ``1 + \\max|f'| \\, \\|W\\|_2``; an elementwise recurrent
weight ``u \\odot h_{t-1}`` (IndRNN) has ``\\|\\operatorname{diag}(u)\\|_2 = \\max_i |u_i|``. For the
linear scalar RNN ``h_t = w_x x_t + w_h h_{t-1}`` the bound ``|w_h|^{n-t}`` is the value itself.
Other recurrences (gated cells) get no bound here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from symrnn.model.declared import Apply, Kind, Model, Ref, VarDecl, refs
from symrnn.operations.functions import bound as bound_function
from symrnn.operations.functions import function
from symrnn.operations.symbols import T, format_time


@dataclass(frozen=True)
class Bound:
    """``(slope \\|W\\| + [residual])^{n-t}``, and how it prints.

    Attributes
    ----------
    weight : str
        The recurrent weight's identifier.
    elementwise : bool
        Whether it multiplies the state elementwise (its norm is then ``max |u_i|``).
    slope : float
        ``max |f'|`` of the function around the recurrence (1 for a linear one).
    residual : bool
        Whether the state adds its previous value (``+ h_{t-1}``).
    latex : str
        The bound as a formula in the model's names.
    """

    weight: str
    elementwise: bool
    slope: float
    residual: bool
    latex: str

    def values(self, params: dict, count: int) -> np.ndarray:
        """The bound at the last ``count`` steps, earliest first: exponents ``count-1, ..., 0``."""
        w = np.asarray(params[self.weight], dtype=float)
        norm = float(np.max(np.abs(w))) if self.elementwise or w.size == 1 else float(np.linalg.norm(w, 2))
        rate = self.slope * norm + (1.0 if self.residual else 0.0)
        return rate ** np.arange(count - 1, -1, -1, dtype=float)


def _reads_state(model: Model, expr) -> bool:
    for r in refs(expr):
        decl = model.var(r.name)
        if decl.kind is Kind.STATE:
            return True
        if decl.kind is Kind.INTERIM and _reads_state(model, model.definition(r.name).expr):
            return True
    return False


def _terms(expr) -> tuple:
    return expr.args if isinstance(expr, Apply) and expr.prim.name == "add" else (expr,)


def recurrence_bound(model: Model, state: VarDecl, bindings: dict | None = None) -> Bound | None:
    """The bound on ``\\|\\partial h_n / \\partial h_t\\|_2`` for ``state``'s recurrence, or None.

    Examples
    --------
    >>> from symrnn import zoo
    >>> recurrence_bound(zoo.elman(), zoo.elman().var("h"), {"g": "tanh"}).latex
    "(\\\\max|\\\\tanh'| \\\\, \\\\|W^{hh}\\\\|_{2})^{n-t}"
    >>> recurrence_bound(zoo.scalar(), zoo.scalar().var("h")).latex
    '|w_{h}|^{n-t}'
    >>> recurrence_bound(zoo.lstm(), zoo.lstm().var("h")) is None
    True
    """
    expr = model.definition(state.name).expr
    previous = Ref(state.name, T - state.loop.step)
    residual = False
    if isinstance(expr, Apply) and expr.prim.name == "add" and len(expr.args) == 2 and previous in expr.args:
        residual, expr = True, next(a for a in expr.args if a != previous)
    fn = None
    if isinstance(expr, Apply) and expr.prim.function is not None and len(expr.args) == 1:
        fn, expr = expr.prim.function, expr.args[0]
    if isinstance(expr, Ref) and model.var(expr.name).kind is Kind.INTERIM and expr.time is not None \
            and sp.sympify(expr.time) == T:
        expr = model.definition(expr.name).expr
    reading = [term for term in _terms(expr) if _reads_state(model, term)]
    if len(reading) != 1:
        return None
    term = reading[0]
    if not (isinstance(term, Apply) and term.prim.name in ("matvec", "hadamard") and len(term.args) == 2):
        return None
    weight, other = term.args if isinstance(term.args[0], Ref) and term.args[1] == previous else term.args[::-1]
    if other != previous or not isinstance(weight, Ref) or model.var(weight.name).kind is not Kind.PARAMETER:
        return None
    slope, shown = 1.0, None
    if fn is not None:
        concrete = bound_function(fn, bindings or {}) if function(fn).abstract else function(fn)
        if concrete.slope is None:
            return None
        slope, shown = concrete.slope, function(fn).latex if not function(fn).abstract else concrete.latex
    decl = model.var(weight.name)
    elementwise = term.prim.name == "hadamard"
    if decl.shape == (1, 1):
        norm = f"|{decl.latex}|"
    elif elementwise:
        norm = f"\\|{decl.latex}\\|_{{\\infty}}"
    else:
        norm = f"\\|{decl.latex}\\|_{{2}}"
    factor = norm if shown is None else f"\\max|{shown}'| \\, {norm}"
    if residual:
        factor = f"1 + {factor}"
    # the steps from h_t to the state's last step: n-t forward, t-1 for a backward loop ending at 1
    last = sp.sympify(state.loop.last)
    steps = format_time(last - T if state.loop.step == 1 else T - last)
    text = f"{factor}^{{{steps}}}" if shown is None and not residual else f"({factor})^{{{steps}}}"
    return Bound(weight.name, elementwise, slope, residual, text)
