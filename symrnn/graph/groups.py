"""Which variables read which, and in which order to compute them: the model's recurrences.

A recurrence is a group of variables whose steps read each other (the Elman RNN's ``h``, the LSTM's
``c`` and ``h`` together); the recursion runs the groups backwards, generated code loops over them, and
truncated BPTT counts a step back along one of them. This is a fact of the declared model alone, so it
lives below the path enumeration that uses it.
"""

from __future__ import annotations

from functools import lru_cache

import networkx as nx
import sympy as sp

from symrnn.graph.jacobians import parent_refs
from symrnn.graph.node import time_offset
from symrnn.model.declared import Kind, Model
from symrnn.operations.symbols import T


@lru_cache(maxsize=1024)  # bounded: keyed by models; read by every path enumeration and truncated term
def recurrent_names(model: Model) -> dict[str, int]:
    """Each variable in a recurrence by the number of its group, and each initial state (``h_0``, a parameter
    or a value defined before the loop) by the number of the recurrence it starts: it is that recurrence's
    state at step 0.

    Examples
    --------
    >>> from symrnn.zoo import lstm
    >>> recurrent_names(lstm())
    {'c': 0, 'h': 0, 'c0': 0, 'h0': 0}
    """
    out: dict[str, int] = {}
    for k, (members, recurrent) in enumerate(variable_groups(model)):
        if recurrent:
            out.update({name: k for name in members})
    for name, k in list(out.items()):
        init = model.var(name).init
        if init is not None:
            out.setdefault(init, k)
    return out


def reads_graph(model: Model) -> nx.MultiDiGraph:
    """Variable-level graph: an edge ``x -> v`` with the offset of every read of ``x`` by ``v``."""
    R = nx.MultiDiGraph()
    for v in model.variables:
        if v.kind not in (Kind.INTERIM, Kind.LABEL):
            R.add_node(v.name)
    for d in model.definitions:
        if model.var(d.target).kind is Kind.INTERIM:
            continue
        for ref in parent_refs(model, d.target):
            offset = None
            if ref.time is not None and sp.sympify(ref.time).has(T):
                offset = time_offset(ref.time)[1]
            R.add_edge(ref.name, d.target, offset=offset)
            init = model.var(ref.name).init
            if init is not None:
                R.add_edge(init, d.target, offset=None)
    return R


def variable_groups(model: Model) -> list[tuple[list[str], bool]]:
    """The computed variables in the order to compute them: the strongly connected groups of the
    "reads" graph (the LSTM's ``h`` and ``c`` together) in topological order, each group's members
    in the order one step computes them, with whether the group is a recurrence (its steps read
    each other). The recursion runs them backwards; generated code loops over them.

    Examples
    --------
    >>> from symrnn.zoo import lstm
    >>> variable_groups(lstm())
    [(['c', 'h'], True), (['s'], False), (['L'], False)]
    """
    R = reads_graph(model)
    simple = nx.DiGraph((u, v) for u, v in R.edges() if u != v)
    simple.add_nodes_from(R)
    C = nx.condensation(simple)
    declared = {v.name: k for k, v in enumerate(model.variables)}
    out = []
    for comp in nx.lexicographical_topological_sort(C, key=lambda c: min(declared[v] for v in C.nodes[c]["members"])):
        scc = C.nodes[comp]["members"]
        members = [v for v in scc if model.var(v).kind in (Kind.STATE, Kind.DEFINED)]
        if not members:
            continue
        same = nx.DiGraph()
        same.add_nodes_from(members)
        same.add_edges_from((u, v) for u, v, d in R.edges(data=True)
                            if u in members and v in members and u != v and d["offset"] == 0)
        recurrent = len(scc) > 1 or any(u == v and d["offset"] not in (0, None) for u, v, d in R.edges(data=True)
                                        if u in scc)
        out.append((list(nx.lexicographical_topological_sort(same, key=declared.get)), recurrent))
    return out


__all__ = ["reads_graph", "recurrent_names", "variable_groups"]
