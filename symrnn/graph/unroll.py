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
from symrnn.model.declared import Kind, Model, zero_vector
from symrnn.operations import algebra as al
from symrnn.operations.symbols import J, T, at_second_index, canonical, substitute_free

MAX_N = 1_000_000


def unroll(model: Model, n: int, i: int | None = None) -> nx.DiGraph:
    """The computational graph of ``model`` for sequence length ``n`` (label position ``i``).

    ``i`` is needed, in ``1..n``, by the models that read the label position
    (the bidirectional models and the tagger), and refused by the others.

    Parameters
    ----------
    model : Model
        The declared model.
    n : int
        The sequence length, ``1 <= n <= MAX_N``.
    i : int, optional
        The label position, in ``1..n``, for the models that read one.

    Returns
    -------
    networkx.DiGraph
        One :class:`Node` per parameter, input, state and defined variable at each of its
        steps, with the attributes ``kind``, ``latex`` (display name) and ``order``; an edge
        ``a -> b`` when ``b``'s equation reads ``a``. ``G.graph`` holds ``model``, ``n``, ``i``
        and ``loss`` (the loss node).

    Raises
    ------
    SpecError
        When ``n`` or ``i`` is not valid for the model, or the equations form a cycle.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> G = unroll(elman(), 3)
    >>> [G.nodes[v]["latex"] for v in G.predecessors(Node("h", 2))]
    ['W^{hx}', 'x^{(2)}', 'W^{hh}', 'h^{(1)}', 'b^{h}']
    >>> G.number_of_nodes(), G.number_of_edges(), G.graph["loss"]
    (15, 20, Node(name='o', t=None))
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
                for rt, rj in _summed_steps(model, ref, t, n, i):
                    pdecl, ptime = resolve(model, ref.name, ref.time, n, rt, i, rj)
                    source = add_node(pdecl, ptime)
                    if G.has_edge(source, target):
                        G.edges[source, target]["refs"] += (ref,)
                    else:
                        G.add_edge(source, target, refs=(ref,), t=rt, j=None)
                    if rj is not None:
                        G.edges[source, target]["j"] = rj
    if not nx.is_directed_acyclic_graph(G):
        found = nx.find_cycle(G)
        cycle = " -> ".join(G.nodes[u]["latex"] for u, _ in found)
        hint = ""
        if any(G.edges[e]["j"] is not None for e in found):  # attention over the loop's own later steps
            hint = ("; a variable read at the second index j is read at every step of its loop, later ones too: "
                    "attend over the states of another loop (an encoder's h_j), not the loop's own")
        raise SpecError(f"the model's equations form a cycle: {cycle}{hint}")
    return G


def _summed_steps(model: Model, ref, t: int | None, n: int, i: int | None) -> list:
    """The ``(t, j)`` at which ``ref`` is read: ``(t, None)``, every step of the loop for a sum over t, or
    every step ``j`` of its loop for a read at the second index (attention's ``h_j``)."""
    if at_second_index(ref.time):
        return [(t, j) for j in model.var(ref.name).loop.range(n, i)]
    if t is None and ref.time is not None and sp.sympify(ref.time).has(T):
        return [(s, None) for s in model.var(ref.name).loop.range(n, i)]  # a sum over t, outside the loops
    return [(t, None)]


def edge_jacobian(G: nx.DiGraph, source: Node, target: Node):
    """The symbolic Jacobian ``D(source -> target)`` of an edge of the unrolled graph.

    Numerator layout: a row for each component of ``target``, a column for each component of
    ``source`` (``vec`` of a matrix parameter, its columns stacked). It is the chain rule through
    ``target``'s equation, interims (``a^{(t)}``) kept by name.

    Parameters
    ----------
    G : networkx.DiGraph
        An unrolled graph, from :func:`unroll`.
    source, target : Node
        The ends of an edge of ``G``.

    Returns
    -------
    sympy matrix expression
        ``D(source -> target)``; print it with :func:`symrnn.render.latex.latex`.

    Examples
    --------
    >>> from symrnn import latex, zoo
    >>> G = unroll(zoo.elman(), 3)
    >>> print(latex(edge_jacobian(G, Node("h", 1), Node("h", 2))))
    \\operatorname{diag}(g'(a^{(2)})) W^{hh}
    >>> print(latex(edge_jacobian(G, Node("h", 3), Node("l"))))
    V
    """
    model, n, i = G.graph["model"], G.graph["n"], G.graph["i"]
    data = G.edges[source, target]
    return al.add(*(instantiate(model, template(model, target.name, ref), n, data["t"], i, data["j"])
                    for ref in data["refs"]))


def edge_template(G: nx.DiGraph, source: Node, target: Node):
    """The template (``t`` symbolic) that ``D(source -> target)`` instantiates."""
    model = G.graph["model"]
    out = al.add(*(template(model, target.name, ref) for ref in G.edges[source, target]["refs"]))
    if G.edges[source, target]["j"] is not None and not al.is_scalar(out):
        out = substitute_free(out, {J: T + (source.t - target.t)})  # a read at j: the source's step, t-1 or t+1
    return out


def find_node(G: nx.DiGraph, name: str) -> Node:
    """The node called ``name``: a display name (``W^{hx}``, ``x^{(1)}``) or ``W_hx``, ``x[1]``.

    Display names are compared in a canonical form, so ``b^h`` and ``b^{h}`` are the same name.

    Parameters
    ----------
    G : networkx.DiGraph
        An unrolled graph, from :func:`unroll`.
    name : str
        A display name or an identifier (``str(node)``).

    Returns
    -------
    Node
        The node of ``G`` so named.

    Raises
    ------
    UnknownNameError
        When ``G`` has no such node; the message lists the names it has.

    Examples
    --------
    >>> from symrnn import zoo
    >>> G = unroll(zoo.elman(), 3)
    >>> find_node(G, "W^{hx}"), find_node(G, "b^h"), find_node(G, "x[2]")
    (Node(name='W_hx', t=None), Node(name='b_h', t=None), Node(name='x', t=2))
    """
    wanted = canonical(name)
    for node, data in G.nodes(data=True):
        if canonical(data["latex"]) == wanted or str(node) == name.replace(" ", ""):
            if is_zero_start(G.graph["model"], node.name):
                raise SpecError(f"{data['latex']} = 0 is a fixed zero start, not learned: nothing is derived in it; "
                                f"declare it as a parameter (param {data['latex']} \\in \\mathbb{{R}}^{{m}}, given "
                                "zeros in a values file) to get the gradient in the initial state")
            return node
    names = ", ".join(sorted({G.nodes[v]["latex"] for v in G if G.nodes[v]["kind"] is not Kind.INPUT}))
    raise UnknownNameError(
        f"no node {name!r} in the graph of {G.graph['model'].name} for n = {G.graph['n']}; "
        f"try one of: {names} (or an input such as x^{{(1)}})"
    )


def is_zero_start(model: Model, name: str) -> bool:
    """Whether ``name`` is a zero start, ``h_0 = 0`` (defined as a zero vector, reading nothing)."""
    d = next((d for d in model.definitions if d.target == name), None)
    return d is not None and zero_vector(d.expr)


def cone(G: nx.DiGraph, source: Node, target: Node | None = None) -> nx.DiGraph:
    """The subgraph of nodes on some directed path from ``source`` to ``target`` (the loss).

    Parameters
    ----------
    G : networkx.DiGraph
        An unrolled graph, from :func:`unroll`.
    source : Node
        Where the paths start.
    target : Node, optional
        Where they end; the loss by default.

    Returns
    -------
    networkx.DiGraph
        A read-only view of ``G`` on those nodes; empty when no path joins them.

    Examples
    --------
    >>> from symrnn import zoo
    >>> G = unroll(zoo.elman(), 3)
    >>> sorted(str(v) for v in cone(G, Node("h", 2)))
    ['h[2]', 'h[3]', 'l', 'o', 'q']
    >>> cone(G, Node("h", 2), Node("h", 1)).number_of_nodes()
    0
    """
    target = target or G.graph["loss"]
    keep = (nx.descendants(G, source) | {source}) & (nx.ancestors(G, target) | {target})
    if source not in keep:
        keep = set()
    return G.subgraph(keep)
