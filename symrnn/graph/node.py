"""Nodes of the unrolled graph and the times they sit at.

``Node("h", 3)`` is ``h^{(3)}``; a time index of a model (``t - 1``, ``n``, ``i + 1``)
is turned into a concrete step here, and a read just before a state's loop resolves
to its initial state.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from symrnn.errors import SpecError
from symrnn.model.declared import Kind, Model
from symrnn.operations import algebra as al
from symrnn.operations.symbols import I, J, N, S, T, Var, substitute_free


@dataclass(frozen=True, order=True)
class Node:
    """A variable instance of the unrolled graph: ``Node("h", 3)`` is ``h^{(3)}``.

    Nodes are the keys of the graphs :func:`symrnn.graph.unroll.unroll` makes; their display
    names are the graph's ``latex`` node attribute. Frozen, hashable and ordered.

    Parameters
    ----------
    name : str
        The variable's identifier in the model (``"h"``, ``"W_hx"``, ``"x"``).
    t : int or None
        The step of a variable that varies over time; None for a parameter or a variable
        outside the loops (``l``, ``o``).

    Examples
    --------
    >>> from symrnn import Node, unroll, zoo
    >>> str(Node("h", 3)), str(Node("W_hx"))
    ('h[3]', 'W_hx')
    >>> G = unroll(zoo.elman(), 3)
    >>> G.nodes[Node("h", 3)]["latex"], Node("h", 3) in G, Node("h", 4) in G
    ('h^{(3)}', True, False)
    """

    name: str
    t: int | None = None

    def __str__(self) -> str:
        return self.name if self.t is None else f"{self.name}[{self.t}]"


def node_of(var: Var) -> Node:
    """The graph node of a concrete variable symbol."""
    return Node(var.name, None if var.time is None else int(var.time))


def resolve(model: Model, name: str, time, n: int, t: int | None, i: int | None = None, j: int | None = None):
    """The concrete variable read as ``name`` at template ``time``, at step ``t`` of length ``n``.

    ``i`` is the label position, for models that read one; ``j`` the second time index (attention's
    ``h_j``). Reading a state just outside its loop gives its initial state (``h^{(0)}``).
    """
    decl = model.var(name)
    if not decl.timed or time is None:
        return decl, None
    value = concrete_time(time, n, t, i, decl, j)
    if decl.loop is not None:
        steps = decl.loop.range(n, i)
        if value not in steps:
            if decl.kind in (Kind.STATE, Kind.INPUT) and value == _before(decl, n, i) and decl.init is not None:
                return model.var(decl.init), None
            raise SpecError(f"{decl.display(value)} is outside its loop {decl.loop} for n = {n}"
                            + (f", i = {i}" if i is not None else ""))
    return decl, value


def _before(decl, n: int, i: int | None) -> int:
    """The time of the initial state: one step before the loop's first."""
    return int(sp.sympify(decl.loop.first).subs({N: n, I: i} if i is not None else {N: n})) - decl.loop.step


def concrete_time(time, n: int, t: int | None, i: int | None = None, what=None, j: int | None = None) -> int:
    """The integer value of a time index (``t - 1`` at ``t = 3`` is 2); ``what`` (a declaration)
    names the variable in errors; ``j`` is the value of the second time index."""
    base, offset = time_offset(time)
    if (base is T and t is None) or (base is I and i is None) or (base is J and j is None) or base is S:
        shown = what.display(time) if what is not None else str(time)
        if base is I:
            raise SpecError(f"{shown} is read at the label position i: give i")
        raise SpecError(f"{shown} has no definite time outside a loop")
    return offset + {T: t, N: n, I: i, J: j, None: 0}[base]


@lru_cache(maxsize=4096)  # bounded: keyed by time expressions
def time_offset(time) -> tuple:
    """``t - 1`` -> ``(t, -1)``, ``n`` -> ``(n, 0)``, ``i - 1`` -> ``(i, -1)``, ``3`` -> ``(None, 3)``."""
    time = sp.sympify(time)
    for base in (T, N, I, J, S):
        k = sp.expand(time - base)
        if k.is_Integer:
            return base, int(k)
    if time.is_Integer:
        return None, int(time)
    raise SpecError(f"time index {time} must be t + k, n + k, i + k, j + k or an integer")


def instantiate(model: Model, expr, n: int, t: int | None, i: int | None = None, j: int | None = None):
    """A template with ``t``, ``n`` and ``i`` made concrete and boundary reads resolved; with ``j``, the
    second time index too (a read at ``j`` inside a sum over ``j`` stays symbolic)."""
    if al.is_scalar(expr):
        return expr
    if j is not None:
        expr = substitute_free(expr, {J: sp.Integer(j)})
    mapping = {}
    for v in expr.atoms(Var):
        if v.time is not None and v.time.has(J, S):
            continue  # a read inside a sum over its index
        decl, time = resolve(model, v.name, v.time, n, t, i)
        mapping[v] = decl.symbol(time)
    return expr.xreplace(mapping)
