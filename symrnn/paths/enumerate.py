"""Directed paths from a node to the loss: lazy enumeration and counting.

Enumeration is a generator over the pruned graph (the cone between the node and
the loss), so the first paths come at once however many there are. The order
is stable: at each node the successor nearest to the loss comes first (ties by
declaration order and time), which lists the Elman RNN's paths as the question
sheet does, shortest first. Counting is dynamic programming over the cone and
never enumerates: it handles ``n = 10000`` and counts that overflow 64 bits.
"""

from __future__ import annotations

from collections.abc import Iterator

import networkx as nx

from symrnn.graph.groups import recurrent_names
from symrnn.graph.node import Node
from symrnn.graph.unroll import cone

Path = tuple[Node, ...]


def _distances(C: nx.DiGraph, target: Node) -> dict[Node, int]:
    return nx.single_source_shortest_path_length(C.reverse(copy=False), target)


def recurrences(G: nx.DiGraph) -> dict[str, int]:
    """Each variable of ``G`` in a recurrence, by the number of its recurrence (the groups of variables whose
    steps read each other: the LSTM's ``h`` and ``c`` are one), and each initial state (``h_0``) by the number of
    the recurrence it starts: it is the state at step 0. The model's own recurrences
    (:func:`symrnn.graph.groups.recurrent_names`), so a loop of one step is a recurrence too."""
    model = G.graph.get("model")
    if model is not None:
        return recurrent_names(model)
    R = nx.DiGraph((u.name, v.name) for u, v in G.edges if u.name != v.name)  # a graph made by hand
    R.add_edges_from((u.name, v.name) for u, v in G.edges if u.name == v.name and u.t != v.t)
    out = {}
    for k, group in enumerate(nx.strongly_connected_components(R)):
        if len(group) > 1 or any(R.has_edge(v, v) for v in group):
            out.update({v: k for v in group})
    return out


def _back(u: Node, v: Node, groups: dict | None) -> bool:
    """Whether an edge goes one step along a recurrence: between two times of one recurrence, or from its
    initial state (step 0) to its first step."""
    if u.t is None and v.t is not None:
        return groups is not None and u.name in groups and groups[u.name] == groups.get(v.name)
    if u.t is None or v.t is None or u.t == v.t:
        return False
    return groups is None or (u.name in groups and groups.get(u.name) == groups.get(v.name))


def steps_back(path: Path, G: nx.DiGraph | None = None) -> int:
    """How many steps a path goes back in time: its edges between two times of one recurrence
    (``h^{(1)} -> h^{(2)}``; with ``G``, an edge from one loop to another, ``h^{(3)} -> z^{(1)}``,
    is not a step).

    Truncated BPTT keeps the paths that go back at most K steps.

    Examples
    --------
    >>> steps_back((Node("W"), Node("h", 1), Node("h", 2), Node("h", 3), Node("o")))
    2
    """
    groups = recurrences(G) if G is not None else None
    return sum(1 for u, v in zip(path, path[1:], strict=False) if _back(u, v, groups))


def iter_paths(G: nx.DiGraph, source: Node, target: Node | None = None, truncate: int | None = None) -> Iterator[Path]:
    """Yield every directed path from ``source`` to ``target`` (the loss), lazily.

    The paths come in a stable order: at each node the successor nearest to the target first,
    so the Elman RNN's paths come shortest first, as the question sheet lists them.

    Parameters
    ----------
    G : networkx.DiGraph
        An unrolled graph, from :func:`symrnn.graph.unroll`.
    source : Node
        Where the paths start (a parameter, an input, any node).
    target : Node, optional
        Where they end; the loss by default.
    truncate : int, optional
        Only the paths that go back at most this many steps (:func:`steps_back`): truncated BPTT.

    Yields
    ------
    tuple of Node
        One path, ``source`` first and ``target`` last. Nothing when no path joins them.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> from symrnn.graph import unroll
    >>> G = unroll(elman(), 3)
    >>> [len(p) for p in iter_paths(G, Node("W_hx"))]
    [5, 6, 7]
    >>> print(" -> ".join(G.nodes[v]["latex"] for v in next(iter_paths(G, Node("W_hx")))))
    W^{hx} -> h^{(3)} -> l -> q -> o
    """
    target = target or G.graph["loss"]
    C = cone(G, source, target)
    if source not in C:
        return
    dist = _distances(C, target)

    def key(v: Node):
        return (dist[v], C.nodes[v]["order"])

    succ = {v: sorted(C.successors(v), key=key) for v in C}
    groups = recurrences(G) if truncate is not None else None
    stack: list[tuple[Node, int]] = [(source, 0)]
    path: list[Node] = [source]
    back = [0]  # steps back so far, per node of the path
    while stack:
        node, i = stack[-1]
        if node == target:
            yield tuple(path)
            stack.pop()
            path.pop()
            back.pop()
            continue
        if i < len(succ[node]):
            stack[-1] = (node, i + 1)
            nxt = succ[node][i]
            steps = back[-1] + (truncate is not None and _back(node, nxt, groups))
            if truncate is not None and steps > truncate:
                continue  # and every path through this edge goes back too far
            stack.append((nxt, 0))
            path.append(nxt)
            back.append(steps)
        else:
            stack.pop()
            path.pop()
            back.pop()


def count_paths(G: nx.DiGraph, source: Node, target: Node | None = None, truncate: int | None = None) -> int:
    """The number of directed paths from ``source`` to ``target``, without listing them.

    Dynamic programming over the cone between them: linear in the size of the graph, exact
    however large the count (a Python ``int``).

    Parameters
    ----------
    G : networkx.DiGraph
        An unrolled graph, from :func:`symrnn.graph.unroll`.
    source : Node
        Where the paths start.
    target : Node, optional
        Where they end; the loss by default.
    truncate : int, optional
        Count only the paths that go back at most this many steps (:func:`steps_back`).

    Returns
    -------
    int
        How many directed paths join them; 0 when none does.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> from symrnn.graph import unroll
    >>> count_paths(unroll(elman(), 10000), Node("W_hx"))
    10000
    """
    target = target or G.graph["loss"]
    C = cone(G, source, target)
    if source not in C:
        return 0
    if truncate is None:
        ways: dict[Node, int] = {}
        for v in reversed(list(nx.topological_sort(C))):
            ways[v] = 1 if v == target else sum(ways[w] for w in C.successors(v))
        return ways[source]
    # ways[v][k]: the paths from v to the target that go back exactly k steps, k <= truncate
    truncate = min(truncate, C.number_of_nodes())  # no path goes back more steps than it has nodes
    groups = recurrences(G)
    within: dict[Node, list[int]] = {}
    for v in reversed(list(nx.topological_sort(C))):
        row = [1] + [0] * truncate if v == target else [0] * (truncate + 1)
        for w in C.successors(v):
            shift = int(_back(v, w, groups))
            for k in range(truncate + 1 - shift):
                row[k + shift] += within[w][k]
        within[v] = row
    return sum(within[source])
