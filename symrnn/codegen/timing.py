"""Times in generated code: loop ranges, existence tests, and one expression moved along the steps.

A time is a SymPy expression in ``t``, ``n`` and ``i``; :func:`py_time` writes it as Python
(``t-1``, ``n+1``, ``max(...)``). An expression "at every step" is kept in a canonical form,
moved so that its earliest read is at ``t`` (:func:`canonical`), so ``g'(a^{(t+1)})`` and
``g'(a^{(t)})`` are one array.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp
from sympy.printing.str import StrPrinter

from symrnn.model.declared import Loop, Model
from symrnn.operations import algebra as al
from symrnn.operations.symbols import T, Var


class _TimePrinter(StrPrinter):
    """Times as the generated code writes them: no spaces, Python's ``max`` and ``min``."""

    def _print_Add(self, expr, order=None):
        out = ""
        for k, term in enumerate(self._as_ordered_terms(expr, order=order)):
            if term.could_extract_minus_sign():
                out += "-" + self._print(-term)
            else:
                out += ("+" if k else "") + self._print(term)
        return out

    def _print_Max(self, expr):
        return "max(" + ",".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr):
        return "min(" + ",".join(self._print(a) for a in expr.args) + ")"


def py_time(time) -> str:
    """A time as Python: ``t - 1`` -> ``t-1``, ``Max(1, i)`` -> ``max(1,i)``.

    Examples
    --------
    >>> from symrnn.operations.symbols import I, N
    >>> py_time(N + 1), py_time(T - 1), py_time(sp.Max(1, I - 1)), py_time(1 - N)
    ('n+1', 't-1', 'max(1,i-1)', '1-n')
    """
    return _TimePrinter().doprint(sp.expand(sp.sympify(time)))


def loop_bounds(loop: Loop, reverse: bool = False) -> tuple[sp.Expr, sp.Expr, int]:
    """``(first, end, step)`` of a ``range`` over ``loop``, in its direction or (``reverse``) the other way."""
    first, last = (loop.stop, loop.start) if reverse else (loop.start, loop.stop)
    step = -loop.step if reverse else loop.step
    return sp.sympify(first), sp.expand(sp.sympify(last) + step), step


def rows(decl) -> str:
    """A variable's number of rows as Python (sizes are read from the parameters' shapes)."""
    return str(sp.sympify(decl.shape[0]))


def span(loop: Loop) -> tuple:
    """The loop's times as ``(lo, hi)``, whatever its direction."""
    if loop.step == 1:
        return sp.sympify(loop.start), sp.sympify(loop.stop)
    return sp.sympify(loop.stop), sp.sympify(loop.start)


def exists(model: Model, reader: str, time, within=None) -> tuple[str, ...]:
    """The Python tests that the reader exists at ``time`` (none when it always does), for a ``t``
    known to lie ``within`` ``(lo, hi)`` if given."""
    loop = model.var(reader).loop
    if loop is None or time is None:
        return ()
    low, high = span(loop)
    earliest = latest = sp.sympify(time)
    if within is not None and earliest.has(T):
        earliest, latest = earliest.subs(T, within[0]), latest.subs(T, within[1])
    checks = []
    if not sp.expand(earliest - low).is_nonnegative:
        checks.append(f"{py_time(low)} <= {py_time(time)}")
    if not sp.expand(high - latest).is_nonnegative:
        checks.append(f"{py_time(time)} <= {py_time(high)}")
    return tuple(checks)


def later(a, b):
    """The later of two times (a Python max() when it depends on the lengths)."""
    if a is None:
        return b
    diff = sp.expand(a - b)
    return a if diff.is_nonnegative else b if diff.is_nonpositive else sp.Max(a, b)


def earlier(a, b):
    """The earlier of two times (a Python min() when it depends on the lengths)."""
    if a is None:
        return b
    diff = sp.expand(a - b)
    return a if diff.is_nonpositive else b if diff.is_nonnegative else sp.Min(a, b)


# -- one expression at every step -------------------------------------------------------------
def timed(expr) -> list:
    """The variables an expression reads at a time."""
    return [v for v in expr.atoms(Var) if v.time is not None]


def shift(expr, delta, variables=None):
    """``expr`` with every variable's time moved by ``delta`` (``variables``: those it reads, if known)."""
    if al.is_scalar(expr) or delta == 0:
        return expr
    if variables is not None and all(v.time is None for v in variables):
        return expr
    return _moved(expr, sp.expand(delta))


@lru_cache(maxsize=1 << 16)
def _moved(expr, delta):
    """``expr`` moved by ``delta``, remembered per subexpression: the nested parts of a long chain of
    functions are moved once each, not once per enclosing expression (linear, not quadratic)."""
    if isinstance(expr, Var):
        if expr.time is None:
            return expr
        return type(expr)(expr.args[0], sp.expand(expr.time + delta), *expr.args[2:])
    if expr.is_Atom or not expr.args:
        return expr
    args = tuple(_moved(a, delta) for a in expr.args)
    return expr if all(a is b for a, b in zip(args, expr.args, strict=True)) else expr.func(*args)


def canonical(expr, anchor, variables=None):
    """``expr`` moved so that time ``anchor`` becomes ``t``, or None when its times are not ``anchor + k``
    (``variables``: the variables ``expr`` reads, when already known)."""
    delta = sp.expand(T - anchor)
    reads = timed(expr) if variables is None else [v for v in variables if v.time is not None]
    if any(not sp.expand(time + delta - T).is_Integer for time in {v.time for v in reads}):
        return None
    return shift(expr, delta, reads)


def invariant_anchor(expr):
    """The earliest time an expression reads (all must differ by whole steps), or None."""
    times = [sp.expand(v.time) for v in timed(expr) if sp.sympify(v.time).has(T)]
    if not times:
        return None
    offsets = [sp.expand(t - T) for t in times]
    if not all(o.is_Integer for o in offsets):
        return None
    return T + min(offsets)


def reads_t(expr) -> bool:
    """Whether an expression reads a variable at a time in ``t`` (in a loop: it changes with the step)."""
    return any(sp.sympify(v.time).has(T) for v in timed(expr))
