"""The program that generated modules are emitted from: a few statement kinds, no target's text.

The generator (:mod:`symrnn.codegen.generator`) builds a :class:`Program` of these statements;
an emitter per target (:mod:`symrnn.codegen.emit`) writes it as Python for NumPy, CuPy,
PyTorch or JAX. Expressions are already code (printed from SymPy by the column printer,
through ``xp``, the same for every target); what differs between targets is how a
statement is written: an assignment into an array (``h[t] = v`` or ``h = h.at[t].set(v)``),
a test of the step (``if`` or ``where``), a loop (``for`` or ``fori_loop``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sympy as sp

from symrnn.codegen.timing import loop_bounds


# -- where a value goes -------------------------------------------------------------------------
@dataclass(frozen=True)
class Name:
    """A plain name: ``a``."""

    name: str


@dataclass(frozen=True)
class At:
    """One step of a timeline: ``h[t-1]`` (``index`` is Python)."""

    name: str
    index: str


@dataclass(frozen=True)
class Steps:
    """Several steps of a timeline at once: ``h[lo:hi]``."""

    name: str
    lo: str
    hi: str


@dataclass(frozen=True)
class Item:
    """An entry of a dictionary: ``grads['W']``."""

    name: str
    key: str


Target = Name | At | Steps | Item


# -- statements -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Condition:
    """A test, the conjunction of ``parts`` (Python comparisons); ``step`` when it reads ``t``."""

    parts: tuple[str, ...]
    step: bool


@dataclass(frozen=True)
class Assign:
    """``target = value`` (``add``: ``target += value``), with a trailing ``comment``."""

    target: Target
    value: str
    add: bool = False
    comment: str = ""


@dataclass(frozen=True)
class Select:
    """``target = value`` where ``condition`` holds, else ``0.0``."""

    target: Name
    value: str
    condition: Condition


@dataclass(frozen=True)
class Labels:
    """``target`` = the labels ``key`` of the call, checked to be whole numbers in ``1..size``.

    ``source`` is Python that computes the size from ``params`` alone (a module that compiles its
    body checks the labels before it, where their values are known)."""

    target: str
    key: str
    size: str
    source: str
    shown: str


@dataclass(frozen=True)
class Alloc:
    """A timeline ``(n + 2, rows, B)`` of zeros (``ones``: of ones, for values whose padding may be an
    argument of 1/a, log a or sqrt a in a computation over all steps; no padding entry is used)."""

    name: str
    rows: str
    comment: str = ""
    ones: bool = False


@dataclass(frozen=True)
class Comment:
    """A comment, one line per line of its LaTeX."""

    text: str


@dataclass(frozen=True)
class Blank:
    """An empty line."""


@dataclass(frozen=True)
class Return:
    """``return values``."""

    values: str


@dataclass(frozen=True)
class Guard:
    """Statements that run where ``condition`` holds."""

    condition: Condition
    body: tuple


@dataclass(frozen=True)
class Loop:
    """``for t`` from ``first`` to ``end`` (excluded) by ``step`` (1 or -1); static bounds."""

    first: sp.Expr
    end: sp.Expr
    step: int
    body: tuple


Statement = Assign | Select | Labels | Alloc | Comment | Blank | Return | Guard | Loop


def loop_over(loop, body, reverse: bool = False) -> Loop:
    """A :class:`Loop` over a model's loop, in its direction or (``reverse``) the other way."""
    first, end, step = loop_bounds(loop, reverse)
    return Loop(first, end, step, tuple(body))


@dataclass
class Program:
    """Statements built in order; :meth:`block` collects a loop's or a guard's body.

    Examples
    --------
    >>> p = Program()
    >>> with p.block() as body:
    ...     p.add(Assign(At("h", "t"), "W @ h[t-1]"))
    >>> p.add(Loop(sp.Integer(1), sp.Symbol("n") + 1, 1, tuple(body)))
    >>> p.depth, type(p.statements[0]).__name__
    (0, 'Loop')
    """

    statements: list = field(default_factory=list)
    depth: int = 0

    def add(self, statement: Statement) -> None:
        self.statements.append(statement)

    @contextmanager
    def block(self) -> Iterator[list]:
        """Collect the statements added inside into a new list (a loop's or guard's body)."""
        saved, self.statements = self.statements, []
        self.depth += 1
        body = self.statements
        try:
            yield body
        finally:
            self.statements, self.depth = saved, self.depth - 1
