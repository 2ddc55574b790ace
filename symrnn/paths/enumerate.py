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

from symrnn.graph.node import Node
from symrnn.graph.unroll import cone

Path = tuple[Node, ...]


def _distances(C: nx.DiGraph, target: Node) -> dict[Node, int]:
    return nx.single_source_shortest_path_length(C.reverse(copy=False), target)


def iter_paths(G: nx.DiGraph, source: Node, target: Node | None = None) -> Iterator[Path]:
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
    stack: list[tuple[Node, int]] = [(source, 0)]
    path: list[Node] = [source]
    while stack:
        node, i = stack[-1]
        if node == target:
            yield tuple(path)
            stack.pop()
            path.pop()
            continue
        if i < len(succ[node]):
            stack[-1] = (node, i + 1)
            nxt = succ[node][i]
            stack.append((nxt, 0))
            path.append(nxt)
        else:
            stack.pop()
            path.pop()


def count_paths(G: nx.DiGraph, source: Node, target: Node | None = None) -> int:
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
    ways: dict[Node, int] = {}
    for v in reversed(list(nx.topological_sort(C))):
        ways[v] = 1 if v == target else sum(ways[w] for w in C.successors(v))
    return ways[source]
