"""Numbers for printed derivations: each edge Jacobian as printed, multiplied as printed.

The path sum is evaluated factor by factor, from the very templates the LaTeX
shows (compiled once, bound per step), so a wrong printed formula gives a wrong
number. It is meant to check the displayed formula on small ``n``.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import sympy as sp

from symrnn.derive.equations import Layout, check_layout
from symrnn.derive.truncated import carries, reader_hop, summed_parts
from symrnn.graph.jacobians import template
from symrnn.graph.node import Node, concrete_time, resolve
from symrnn.model.declared import lengths
from symrnn.numeric.forward import Point, concrete_shape, forward
from symrnn.numeric.printers import evaluate
from symrnn.operations import algebra as al
from symrnn.operations.symbols import J, S, T, TotalDerivative, Var, expand_index_sums, substitute_free


def _size(model, node: Node, sizes) -> int:
    r, c = concrete_shape(model, node.name, sizes)
    return r * c


def written_out(expr, n: int, i: int | None, indices: dict):
    """``expr`` with the given second indices bound (``{J: 2}``, an edge's ``j``; ``{S: 3}``, a reader's
    step) and every sum over an index written out for length ``n``: what numbers evaluate.

    Examples
    --------
    >>> from symrnn.operations.symbols import IndexSum, N
    >>> m = sp.Symbol("m")
    >>> h = Var("h", J, m, 1, "h_{{t}}")
    >>> sorted(str(v.time) for v in written_out(IndexSum(h, J, 1, N), 3, None, {}).atoms(Var))
    ['1', '2', '3']
    >>> written_out(h, 3, None, {J: 2}).time
    2
    """
    if al.is_scalar(expr):
        return expr
    bound = {k: sp.Integer(v) for k, v in indices.items() if v is not None}
    return expand_index_sums(substitute_free(expr, bound), lengths(n, i))


def edge_value(G: nx.DiGraph, u: Node, v: Node, values: dict, point: Point, xp=np):
    """The numeric ``D(u -> v)``: its template evaluated at step ``t`` of ``G``."""
    model, n = G.graph["model"], G.graph["n"]
    data = G.edges[u, v]
    shape = (_size(model, v, point.sizes), _size(model, u, point.sizes))
    env = point.symbol_values(n)
    total = None
    for ref in data["refs"]:
        expr = written_out(template(model, v.name, ref), n, G.graph["i"], {J: data["j"]})
        if not al.is_scalar(expr):
            for atom in expr.atoms(Var):
                decl, time = resolve(model, atom.name, atom.time, n, data["t"], G.graph["i"])
                env[atom] = values[Node(decl.name, time)]
        part = evaluate(expr, env, xp, point.bindings, shape)
        total = part if total is None else total + part
    return total


def evaluate_pathsum(ps, point: Point, xp=np):
    """The value of a printed path sum at ``point``: a row of the gradient (numerator layout).

    Each factor is evaluated from the very template its LaTeX shows and multiplied as printed,
    so a wrong printed formula gives a wrong number. Meant for small ``n``.

    Parameters
    ----------
    ps : PathSum
        A path sum, from :func:`symrnn.derive.pathsum`.
    point : Point
        Where to evaluate it, on ``ps.graph`` (:func:`symrnn.numeric.forward.random_point`).
    xp : module
        The array module (NumPy by default).

    Returns
    -------
    array
        ``d loss / d wrt`` as a ``(1, size)`` row; a matrix parameter in the vec convention
        (its columns stacked, ``order="F"``).

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> from symrnn.derive import pathsum
    >>> from symrnn.numeric.forward import random_point
    >>> ps = pathsum(elman("tanh"), "b^{h}", 3)
    >>> evaluate_pathsum(ps, random_point(ps.model, ps.graph, {"m": 4, "d": 2, "K": 3})).shape
    (1, 4)
    >>> from symrnn.numeric.gradcheck import finite_differences
    >>> point = random_point(ps.model, ps.graph, {"m": 4, "d": 2, "K": 3}, seed=1)
    >>> reference = finite_differences(ps.graph, point, ps.wrt)
    >>> bool(np.allclose(evaluate_pathsum(ps, point), reference.reshape(1, -1), atol=1e-8))
    True
    """
    G = ps.graph
    values = forward(G, point, xp)
    cache: dict = {}

    def edge(e):
        if e not in cache:
            cache[e] = edge_value(G, e[0], e[1], values, point, xp)
        return cache[e]

    def product(factors):
        out = None
        for factor in factors:
            for e in factor.edges:
                out = edge(e) if out is None else out @ edge(e)
        return out

    if not ps.grouped:
        total = None
        for term in ps.terms:
            value = product(term)
            total = value if total is None else total + value
        return total
    total = None
    for factor, members in ps.groups:  # as printed: (sum of the rests) times the shared partial
        rests = [product(ps.terms[k][:-1]) for k in members]
        rest = sum(rests[1:], rests[0]) if rests[0] is not None else None
        value = product([factor]) if rest is None else rest @ product([factor])
        total = value if total is None else total + value
    return total


# -- the factored forms ----------------------------------------------------------------
def term_steps(G: nx.DiGraph, term, tau) -> list:
    """The steps ``t`` (the term's own index) at which an adjoint term applies to its variable at ``tau``.

    None of them when the term holds at another time (``at``) or for other lengths
    (``condition``); every step of the reader's loop for a sum (``over``); and only the
    steps whose reader exists, since the total derivative of a variable outside its loop is zero.
    """
    model, n, i = G.graph["model"], G.graph["n"], G.graph["i"]
    if term.at is not None and concrete_time(term.at, n, None, i) != tau:
        return []
    if term.condition is not None and not bool(term.condition.subs(lengths(n, i))):
        return []
    steps = model.var(term.reader).loop.range(n, i) if term.over is not None else [tau]
    if term.index == S:  # the reader's steps s, the variable read at their second index
        return [s for s in steps if Node(term.reader, s) in G]
    return [t for t in steps
            if Node(term.reader, None if term.reader_time is None else concrete_time(term.reader_time, n, t, i)) in G]


def term_binding(term, t: int, tau) -> tuple[dict, int]:
    """How a term reads at step ``t`` of ``term_steps`` for its variable at ``tau``: the indices it binds, and the
    step its other reads are at. A term over a reader's steps ``s`` (attention) binds ``s`` to ``t`` and the
    variable's own ``t`` to ``tau``; any other reads at ``t``."""
    return ({S: t, T: tau}, tau) if term.index == S else ({}, t)


def _term_value(G, term, tau, values, deltas, point, shape, xp, hop=None):
    """The value of one printed adjoint term at time ``tau`` of its variable (0 when it does not apply);
    with ``hop``, the term reads that part ``[hop]`` of its reader's total derivative (truncated BPTT)."""
    model, n, i = G.graph["model"], G.graph["n"], G.graph["i"]
    total = None
    for t in term_steps(G, term, tau):
        env = point.symbol_values(n)
        indices, t = term_binding(term, t, tau)
        expr = written_out(term.expr, n, i, indices)
        if not al.is_scalar(expr):
            for atom in expr.atoms(Var):
                if isinstance(atom, TotalDerivative):
                    node = Node(atom.name, None if atom.time is None else concrete_time(atom.time, n, t, i))
                    env[atom] = deltas[node if hop is None else (node, hop)]
                else:
                    decl, time = resolve(model, atom.name, atom.time, n, t, i)
                    env[atom] = values[Node(decl.name, time)]
        part = evaluate(expr, env, xp, point.bindings, shape)
        total = part if total is None else total + part
    return total


def _parts(K: int, G: nx.DiGraph) -> int:
    """The parts of truncated BPTT worth computing on ``G``: no path goes back more steps than it has nodes,
    so the parts beyond are zero (``--truncate 1000`` at n = 4 computes five)."""
    return min(K, G.number_of_nodes())


def _adjoint_shape(model, name: str, sizes: dict, layout: str) -> tuple:
    r, c = concrete_shape(model, name, sizes)
    return (1, r * c) if check_layout(layout) is Layout.NUMERATOR else (r, c)


def evaluate_adjoints(rec, G: nx.DiGraph, point: Point, xp=np, values: dict | None = None) -> dict:
    """The printed recursion's adjoints at ``point``: ``{Node: array}`` for every node it covers.

    Each node's value is its variable's printed equation at that node's time, its
    terms summed as printed, in reverse topological order of ``G``.
    """
    model = rec.model
    values = values if values is not None else forward(G, point, xp)
    loss = G.graph["loss"]
    deltas: dict = {loss: xp.ones((1, 1))}
    equations = {eq.name: eq for eq in rec.equations}
    for node in reversed(list(nx.topological_sort(G))):
        eq = equations.get(node.name)
        if eq is None or node == loss:
            continue
        shape = _adjoint_shape(model, node.name, point.sizes, rec.layout)
        if rec.truncate is not None and carries(model, node.name):  # its parts [0] .. [K] (truncated BPTT)
            for k in range(_parts(rec.truncate, G) + 1):
                total = xp.zeros(shape)
                for term in eq.terms:
                    which = reader_hop(model, node.name, term, k)
                    if which is not None:
                        part = _term_value(G, term, node.t, values, deltas, point, shape, xp,
                                           None if which == "whole" else which)
                        total = total if part is None else total + part
                deltas[(node, k)] = total
            continue
        total = xp.zeros(shape)
        for term in eq.terms:
            part = _term_value(G, term, node.t, values, deltas, point, shape, xp)
            if part is not None:
                total = total + part
        deltas[node] = total
    return deltas


def evaluate_closed_form(cf, point: Point, xp=np):
    """The value of a printed closed form at ``point``, shaped like the gradient in its layout."""
    G, model = cf.graph, cf.model
    values = forward(G, point, xp)
    deltas = evaluate_adjoints(cf.recursion, G, point, xp, values)
    shape = _adjoint_shape(model, cf.node.name, point.sizes, cf.layout)
    total = xp.zeros(shape)
    for term in cf.equation.terms:
        hops = [None]
        if cf.truncate is not None and carries(model, term.reader):  # the reader's parts [0] .. [K] (or K-1)
            hops = list(summed_parts(model, cf.node.name, term, _parts(cf.truncate, G)))
        for hop in hops:
            part = _term_value(G, term, cf.node.t, values, deltas, point, shape, xp, hop)
            if part is not None:
                total = total + part
    return total
