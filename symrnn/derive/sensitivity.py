"""Which edge Jacobians vary when an input varies (Question 1c).

Decided from the symbolic Jacobians: ``D(a -> b)`` varies with the input ``x``
exactly when one of the variables it contains depends on ``x``, i.e. is ``x``
or lies downstream of it in the unrolled graph (an interim such as ``a^{(t)}``
depends on ``x`` when its own arguments do). A Jacobian made only of
parameters, labels and constants (``V``, ``-e_y^T``, ``I``) is constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import sympy as sp

from symrnn.graph.node import Node, node_of, resolve
from symrnn.graph.unroll import edge_jacobian, find_node, unroll
from symrnn.model.declared import Kind, Model
from symrnn.operations import algebra as al
from symrnn.operations.symbols import J, Var, at_second_index, substitute_free


@dataclass(frozen=True)
class EdgeSensitivity:
    """Whether ``D(source -> target)`` varies with the input, and why.

    One row of :func:`sensitivity` (the JSON of ``symrnn sensitivity --format json``).

    Parameters
    ----------
    source, target : Node
        The ends of the edge.
    source_latex, target_latex : str
        Their display names (``"h^{(1)}"``).
    jacobian : sympy matrix expression
        The symbolic ``D(source -> target)``.
    varies : bool
        Whether it changes when the input changes.
    reason : str
        Why, naming the variables it contains.

    Examples
    --------
    >>> from symrnn import sensitivity, zoo
    >>> row = sensitivity(zoo.elman(), "x^{(1)}", 2)[0]
    >>> row.source_latex, row.target_latex, row.varies
    ('x^{(1)}', 'h^{(1)}', True)
    >>> row.reason
    'it contains a^{(1)}, which depends on x^{(1)}'
    """

    source: Node
    target: Node
    source_latex: str
    target_latex: str
    jacobian: object  # the symbolic D(source -> target)
    varies: bool
    reason: str


def _dependence(model: Model, G: nx.DiGraph, downstream: set[Node]):
    n = G.graph["n"]
    memo: dict = {}

    def depends(var: Var) -> bool:
        if var in memo:
            return memo[var]
        decl = model.var(var.name)
        if at_second_index(var.time):  # h_j in a sum over j: any of its steps
            steps = decl.loop.range(n, G.graph["i"])
            result = any(depends(substitute_free(var, {J: sp.Integer(u)})) for u in steps)
        elif decl.kind is Kind.INTERIM:
            t = None if var.time is None else int(var.time)
            result = False
            for ref in _non_label_refs(model, decl.name):
                rdecl, time = resolve(model, ref.name, ref.time, n, t, G.graph["i"])
                result = result or depends(rdecl.symbol(time))
        else:
            result = node_of(var) in downstream
        memo[var] = result
        return result

    return depends


def _non_label_refs(model: Model, name: str):
    from symrnn.model.declared import refs

    for r in refs(model.definition(name).expr):
        if model.var(r.name).kind is not Kind.LABEL:
            yield r


def sensitivity(model: Model, input: str, n: int, graph: nx.DiGraph | None = None,
                i: int | None = None) -> list[EdgeSensitivity]:
    """Classify every edge Jacobian of the graph as varying or constant when ``input`` varies.

    A Jacobian varies when it contains a variable that is the input, lies downstream of it in
    the graph, or (an interim such as ``a^{(t)}``) is computed from such a variable (Question 1c).

    Parameters
    ----------
    model : Model
        The declared model.
    input : str
        The input, by display name (``"x^{(1)}"``) or identifier (``"x[1]"``); any node works.
    n : int
        The sequence length.
    graph : networkx.DiGraph, optional
        The graph unrolled for ``n`` (and ``i``), if already made.
    i : int, optional
        The label position, for the models that read one.

    Returns
    -------
    list of EdgeSensitivity
        One row per edge of the graph, in the graph's order of targets.

    Raises
    ------
    UnknownNameError
        When the graph has no node called ``input``.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> rows = sensitivity(elman(), "x^{(1)}", 3)
    >>> sorted((r.source_latex, r.target_latex) for r in rows if not r.varies)
    [('\\\\gamma', 'l'), ('h^{(3)}', 'l'), ('q', 'o')]
    """
    G = graph if graph is not None else unroll(model, n, i)
    source = find_node(G, input)
    name = G.nodes[source]["latex"]
    downstream = nx.descendants(G, source) | {source}
    depends = _dependence(model, G, downstream)
    rows = []
    for target in sorted(G, key=lambda v: G.nodes[v]["order"]):
        for u in sorted(G.predecessors(target), key=lambda v: G.nodes[v]["order"]):
            jac = edge_jacobian(G, u, target)
            atoms = [] if al.is_scalar(jac) else sorted(jac.atoms(Var), key=lambda a: a.display)
            moving = [a.display for a in atoms if depends(a)]
            if moving:
                verb = "depends" if len(moving) == 1 else "depend"
                reason = f"it contains {', '.join(moving)}, which {verb} on {name}"
            elif atoms:
                fixed = ", ".join(a.display for a in atoms)
                reason = f"it contains only {fixed}, none of which depends on {name}"
            else:
                reason = "it is a constant: it contains no model variable"
            rows.append(EdgeSensitivity(u, target, G.nodes[u]["latex"], G.nodes[target]["latex"],
                                        jac, bool(moving), reason))
    return rows
