"""Numbers for printed derivations: each edge Jacobian as printed, multiplied as printed.

The path sum is evaluated factor by factor, from the very templates the LaTeX
shows (compiled once, bound per step), so a wrong printed formula gives a wrong
number. It is meant to check the displayed formula on small ``n``.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from symrnn.cell import algebra as al
from symrnn.cell.symbols import Var
from symrnn.graph.jacobians import Node, resolve, template
from symrnn.numeric.forward import Point, concrete_shape, forward
from symrnn.numeric.printer import evaluate


def _size(model, node: Node, sizes) -> int:
    r, c = concrete_shape(model, node.name, sizes)
    return r * c


def edge_value(G: nx.DiGraph, u: Node, v: Node, values: dict, point: Point, xp=np):
    """The numeric ``D(u -> v)``: its template evaluated at step ``t`` of ``G``."""
    model, n = G.graph["model"], G.graph["n"]
    data = G.edges[u, v]
    shape = (_size(model, v, point.sizes), _size(model, u, point.sizes))
    env = point.symbol_values()
    total = None
    for ref in data["refs"]:
        expr = template(model, v.name, ref)
        if not al.is_scalar(expr):
            for atom in expr.atoms(Var):
                decl, time = resolve(model, atom.name, atom.time, n, data["t"], G.graph["i"])
                env[atom] = values[Node(decl.name, time)]
        part = evaluate(expr, env, xp, point.bindings, shape)
        total = part if total is None else total + part
    return total


def evaluate_pathsum(ps, point: Point, xp=np):
    """The value of a printed path sum at ``point``: a row of the gradient (numerator layout).

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> from symrnn.derive import pathsum
    >>> from symrnn.numeric.forward import random_point
    >>> ps = pathsum(elman("tanh"), "b^{h}", 3)
    >>> evaluate_pathsum(ps, random_point(ps.model, ps.graph, {"m": 4, "d": 2, "K": 3})).shape
    (1, 4)
    """
    G = ps.graph
    values = forward(G, point, xp)
    cache: dict = {}

    def edge(e):
        if e not in cache:
            cache[e] = edge_value(G, e[0], e[1], values, point, xp)
        return cache[e]

    total = None
    for term in ps.terms:
        product = None
        for factor in term:
            for e in factor.edges:
                product = edge(e) if product is None else product @ edge(e)
        total = product if total is None else total + product
    return total
