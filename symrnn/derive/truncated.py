"""Truncated BPTT in the factored forms: the recursion and the closed form of the paths that go back at
most K steps.

A path from a variable to the loss *goes back a step* at each edge between two times of one recurrence
(:func:`symrnn.paths.enumerate.steps_back`). Truncated BPTT keeps the paths that go back at most K steps
(``--truncate K``, as the path sum does). Its factored form splits each total derivative by how far its
paths go back: ``{\\frac{\\partial L}{\\partial h_t}}^{[k]}`` is the sum over the paths from ``h_t`` to the loss
that go back exactly ``k`` steps. A term of an adjoint equation whose reader is a later step of the same
recurrence (``h_{t+1}`` reading ``h_t``) goes back one step, so it reads the reader's part ``[k-1]``; any
other term reads the part ``[k]`` (and a reader with no recurrence between it and the loss has only the
part ``[0]``, its whole total derivative). A parameter's truncated gradient sums the parts ``[0]`` to
``[K]``: ``\\sum_t \\sum_{k=0}^{K}``. This module holds that rule, once (:func:`reader_hop`); the lines are
printed from it, the numbers evaluated from it.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import sympy as sp

from symrnn.derive.equations import AdjointEquation, Layout, adjoint_equation
from symrnn.errors import SymRNNError
from symrnn.graph.groups import recurrent_names
from symrnn.model.declared import Model
from symrnn.operations import algebra as al
from symrnn.operations.symbols import HOP, HopDerivative, T, TotalDerivative


def is_back(model: Model, name: str, term) -> bool:
    """Whether a term of the adjoint of ``name`` goes back a step: its reader is another time of the
    same recurrence (``h_{t+1}`` reads ``h_t``; the LSTM's gates at ``t+1`` read ``h_t``), or ``name`` is
    the recurrence's initial state (step 0) and the reader its first step.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> m = elman()
    >>> [(term.reader, is_back(m, "h", term)) for term in adjoint_equation(m, "h").terms]
    [('h', True), ('l', False)]
    """
    groups = recurrent_names(model)
    if term.reader_time is None or term.at is not None or term.over is not None:
        return False
    if not model.var(name).timed and name in groups:  # h_0 -> h_1: from step 0 to step 1
        return groups.get(term.reader) == groups[name]
    if name not in groups or groups.get(term.reader) != groups[name]:
        return False
    return sp.expand(term.reader_time - T) != 0


@lru_cache(maxsize=4096)  # bounded: keyed by models
def carries(model: Model, name: str) -> bool:
    """Whether some path from ``name`` to the loss goes back a step, so that its total derivative has parts
    ``[k]`` for ``k > 0`` (a state; not the output layer after the last step).

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> carries(elman(), "h"), carries(elman(), "l")
    (True, False)
    """
    if name == model.loss:
        return False
    terms = adjoint_equation(model, name, Layout.DENOMINATOR).terms
    return any(is_back(model, name, term) or carries(model, term.reader) for term in terms)


def reader_hop(model: Model, name: str, term, hop):
    """Which part of the reader's total derivative a term of the adjoint of ``name`` reads in the part
    ``[hop]`` of ``name``'s: ``hop - 1`` for a term that goes back a step, ``hop`` for another term of a
    reader that has parts, the whole total derivative (``"whole"``) for a reader without parts at
    ``hop = 0``; None where the term adds nothing (a step back at ``hop = 0``, a reader without parts at
    ``hop > 0``). ``hop`` is a number, or the symbol ``k`` for every ``k >= 1``.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> from symrnn.operations.symbols import HOP
    >>> m = elman()
    >>> back, out = adjoint_equation(m, "h").terms
    >>> reader_hop(m, "h", back, 0), reader_hop(m, "h", back, HOP), reader_hop(m, "h", out, 0)
    (None, k - 1, 'whole')
    """
    first = hop == 0
    if not carries(model, term.reader):
        return "whole" if first else None
    if is_back(model, name, term):
        return None if first else hop - 1
    return hop


def summed_parts(model: Model, name: str, term, K: int) -> range | None:
    """The parts of the reader's total derivative that a term of a parameter's (or input's) gradient sums in
    truncated BPTT: ``[0]`` to ``[K]``, or ``[0]`` to ``[K-1]`` where the term itself goes back a step (the
    initial state ``h_0``, read by the first step); None where the reader has no parts (its whole).

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> m = elman()
    >>> [summed_parts(m, v, adjoint_equation(m, v).terms[0], 2) for v in ("W_hx", "h0", "V")]
    [range(0, 3), range(0, 2), None]
    """
    if not carries(model, term.reader):
        return None
    return range(0, K + 1 - int(is_back(model, name, term)))


def part(adjoint: TotalDerivative, low, high=None) -> HopDerivative:
    """The part ``[low]`` (or ``[low..high]``) of a total derivative symbol."""
    return HopDerivative(adjoint.name, adjoint.time, *adjoint.shape, adjoint.latex_template, low,
                         low if high is None else high)


def hop_equation(model: Model, eq: AdjointEquation, hop, K: int) -> AdjointEquation:
    """The part ``[hop]`` of an adjoint equation, as printed: its terms with each reader's total derivative
    replaced by the part :func:`reader_hop` says (``hop`` a number or ``k``); for a variable without parts,
    or a parameter (``hop`` None), each part summed over ``[\\le K]``."""
    terms = []
    for term in eq.terms:
        if hop is None:  # a parameter's gradient: the readers' parts it sums
            parts = summed_parts(model, eq.name, term, K)
            which = "whole" if parts is None else (parts.start, parts.stop - 1) if len(parts) else None
        else:
            which = reader_hop(model, eq.name, term, hop)
        if which is None:
            continue
        if which != "whole":
            low, high = which if isinstance(which, tuple) else (which, which)
            if not al.is_scalar(term.expr):  # a number (a per-step loss's 1/n) reads no total derivative
                mapping = {a: part(a, low, high) for a in term.expr.atoms(TotalDerivative) if a.name == term.reader}
                term = replace(term, expr=term.expr.xreplace(mapping))
        terms.append(term)
    return AdjointEquation(eq.name, tuple(terms))


#: The most steps back a truncation may keep: beyond the length of any sequence symrnn unrolls, and small
#: enough that a part per step stays cheap (a generated module has a section per part).
MAX_TRUNCATE = 1000


def check_truncate(truncate) -> int | None:
    """``truncate`` checked: None, or a number of steps from 0 to :data:`MAX_TRUNCATE`."""
    if truncate is None:
        return None
    if isinstance(truncate, bool) or not isinstance(truncate, int) or truncate < 0:
        raise SymRNNError(f"truncate is a number of steps, 0 or more; got {truncate!r}")
    if truncate > MAX_TRUNCATE:
        raise SymRNNError(f"truncate is at most {MAX_TRUNCATE} steps; got {truncate} (a truncation at the sequence's "
                          "length or more is the full gradient: leave --truncate out)")
    return truncate


__all__ = ["HOP", "MAX_TRUNCATE", "carries", "check_truncate", "hop_equation", "is_back", "part", "reader_hop",
           "summed_parts"]
