"""Unrolling a model for a length ``n`` into a ``networkx.DiGraph``.

Nodes are :class:`~symrnn.graph.jacobians.Node` keys with attributes ``kind``
(parameter, input, state, defined), ``latex`` (display name) and ``order``
(a stable sort key). An edge ``a -> b`` carries ``refs``, the reads of ``a`` in
``b``'s equation, and ``t``, the step of ``b``; :func:`edge_jacobian` turns
them into the symbolic ``D(a -> b)``. Unrolling does no symbolic work, so it
scales to ``n = 10000``.
"""

from __future__ import annotations

import networkx as nx
import sympy as sp

from symrnn.errors import SpecError, UnknownNameError
from symrnn.graph.jacobians import parent_refs, template
from symrnn.graph.node import Node, instantiate, resolve
from symrnn.model.declared import Kind, Model
from symrnn.operations import algebra as al
from symrnn.operations.symbols import T, canonical

MAX_N = 1_000_000


def unroll(model: Model, n: int, i: int | None = None) -> nx.DiGraph:
    """The computational graph of ``model`` for sequence length ``n`` (label position ``i``).

    ``i`` is needed, in ``1..n``, by the models that read the label position
    (the bidirectional models and the tagger), and refused by the others.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> G = unroll(elman(), 3)
    >>> [G.nodes[v]["latex"] for v in G.predecessors(Node("h", 2))]
    ['W^{hx}', 'x^{(2)}', 'W^{hh}', 'h^{(1)}', 'b^{h}']
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise SpecError(f"the sequence length n must be a positive integer, got {n!r}")
    if n > MAX_N:
        raise SpecError(f"n = {n} is above the limit {MAX_N}")
    if model.positional:
        if i is None:
            raise SpecError(f"model {model.name!r} reads the label position i: give i in 1..{n}")
        if not isinstance(i, int) or isinstance(i, bool) or not 1 <= i <= n:
            raise SpecError(f"the label position i must be an integer in 1..{n}, got {i!r}")
    elif i is not None:
        raise SpecError(f"model {model.name!r} has no label position; do not give i")
    G = nx.DiGraph(model=model, n=n, i=i, loss=Node(model.loss))
    order = {v.name: i for i, v in enumerate(model.variables)}

    def add_node(decl, t):
        node = Node(decl.name, t)
        if node not in G:
            G.add_node(node, kind=decl.kind, latex=decl.display(t), order=(order[decl.name], t or 0))
        return node

    for decl in model.variables:
        if decl.kind is Kind.PARAMETER:
            add_node(decl, None)
        elif decl.kind is Kind.INPUT:
            for t in decl.loop.range(n, i) if decl.timed else [None]:
                add_node(decl, t)
    for decl in model.variables:
        if decl.kind not in (Kind.STATE, Kind.DEFINED):
            continue
        steps = decl.loop.range(n, i) if decl.timed else [None]
        refs = parent_refs(model, decl.name)
        for t in steps:
            target = add_node(decl, t)
            for ref in refs:
                for rt in _summed_steps(model, ref, t, n, i):
                    pdecl, ptime = resolve(model, ref.name, ref.time, n, rt, i)
                    source = add_node(pdecl, ptime)
                    if G.has_edge(source, target):
                        G.edges[source, target]["refs"] += (ref,)
                    else:
                        G.add_edge(source, target, refs=(ref,), t=rt)
    if not nx.is_directed_acyclic_graph(G):
        cycle = " -> ".join(G.nodes[u]["latex"] for u, _ in nx.find_cycle(G))
        raise SpecError(f"the model's equations form a cycle: {cycle}")
    return G


def _summed_steps(model: Model, ref, t: int | None, n: int, i: int | None) -> list:
    """The steps at which ``ref`` is read: ``[t]``, or every step of the loop for a sum over t."""
    if t is None and ref.time is not None and sp.sympify(ref.time).has(T):
        return list(model.var(ref.name).loop.range(n, i))  # a sum over t, outside the loops
    return [t]


def edge_jacobian(G: nx.DiGraph, source: Node, target: Node):
    """The symbolic Jacobian ``D(source -> target)`` of an edge of the unrolled graph."""
    model, n, i = G.graph["model"], G.graph["n"], G.graph["i"]
    data = G.edges[source, target]
    return al.add(*(instantiate(model, template(model, target.name, ref), n, data["t"], i)
                    for ref in data["refs"]))


def edge_template(G: nx.DiGraph, source: Node, target: Node):
    """The template (``t`` symbolic) that ``D(source -> target)`` instantiates."""
    model = G.graph["model"]
    return al.add(*(template(model, target.name, ref) for ref in G.edges[source, target]["refs"]))


def find_node(G: nx.DiGraph, name: str) -> Node:
    """The node called ``name``: a display name (``W^{hx}``, ``x^{(1)}``) or ``W_hx``, ``x[1]``."""
    wanted = canonical(name)
    for node, data in G.nodes(data=True):
        if canonical(data["latex"]) == wanted or str(node) == name.replace(" ", ""):
            return node
    names = ", ".join(sorted({G.nodes[v]["latex"] for v in G if G.nodes[v]["kind"] is not Kind.INPUT}))
    raise UnknownNameError(
        f"no node {name!r} in the graph of {G.graph['model'].name} for n = {G.graph['n']}; "
        f"try one of: {names} (or an input such as x^{{(1)}})"
    )


def cone(G: nx.DiGraph, source: Node, target: Node | None = None) -> nx.DiGraph:
    """The subgraph of nodes on some directed path from ``source`` to ``target`` (the loss)."""
    target = target or G.graph["loss"]
    keep = (nx.descendants(G, source) | {source}) & (nx.ancestors(G, target) | {target})
    if source not in keep:
        keep = set()
    return G.subgraph(keep)
