"""The gradient as a sum over paths of products of edge Jacobians (Question 1b).

``d loss / d wrt = sum over paths of D(last edge) ... D(first edge)``, written
loss side first (numerator layout), with the handout's abbreviations:

* the factors every path shares on the loss side form one product, named ``A``;
* the recurrence edges of a state ``h`` are named ``B^{t} = D(h^{(t)} -> h^{(t+1)})``
  (further states take ``C``, ``E``, ...);
* the first edge of each path is written as the local partial
  ``\\partial h^{(t)} / \\partial W^{hx}``, which *is* the edge Jacobian
  ``D(W^{hx} -> h^{(t)})``: the other arguments of ``h^{(t)}`` held fixed.

The object keeps the structure (which edges each printed factor multiplies),
so :mod:`symrnn.numeric` evaluates exactly what is printed.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from symrnn.derive.adjoints import Layout, check_layout
from symrnn.errors import SymRNNError
from symrnn.graph.node import Node
from symrnn.graph.unroll import find_node, unroll
from symrnn.model.declared import Kind, Model
from symrnn.paths.enumerate import Path, count_paths, iter_paths

#: Beyond this many paths the path sum is not written out: its LaTeX grows with the
#: square of n (path k has k factors); n = 1000 already prints 4 MB in 2 s.
MAX_TERMS = 1000

#: Names of recurrence families, in declaration order of the states (A and D are taken).
FAMILY_LETTERS = "BCEFGHJKLMNPQRSTUVWXYZ"

Edge = tuple[Node, Node]


@dataclass(frozen=True)
class Factor:
    """One printed factor: ``kind`` is "shared" (A), "recurrence" (B^{t}), "edge"
    (D(a -> b)) or "partial" (the wrt's local partial); ``edges`` are what it
    multiplies, loss side first."""

    kind: str
    edges: tuple[Edge, ...]
    name: str = ""


@dataclass(frozen=True, eq=False)
class PathSum:
    """``d loss / d wrt`` as a sum over paths; print it with :func:`symrnn.render.latex.latex`.

    Attributes
    ----------
    graph : networkx.DiGraph
        The unrolled graph.
    wrt, loss : Node
        The variable differentiated in, and the loss.
    paths : tuple of paths
        Every directed path, in the order of :func:`symrnn.paths.iter_paths`.
    terms : tuple of tuple of Factor
        One product per path, loss side first.
    shared : Factor or None
        The named product ``A`` of the loss-side edges all paths share.
    families : dict
        State name -> letter of its recurrence edges.
    """

    graph: nx.DiGraph
    wrt: Node
    loss: Node
    paths: tuple[Path, ...]
    terms: tuple[tuple[Factor, ...], ...]
    shared: Factor | None
    families: dict
    layout: Layout = Layout.NUMERATOR
    inline: bool = False

    @property
    def model(self) -> Model:
        return self.graph.graph["model"]

    @property
    def groups(self) -> list[tuple[Factor, list[int]]]:
        """The terms grouped by their local partial (one group per time step of the variable
        ``wrt`` enters), in order of first appearance: ``[(partial, [term indices])]``."""
        groups: dict[Factor, list[int]] = {}
        for k, term in enumerate(self.terms):
            groups.setdefault(term[-1], []).append(k)
        return list(groups.items())

    @property
    def grouped(self) -> bool:
        """Whether the sum prints grouped: more than 3 terms, some sharing their partial."""
        return len(self.terms) > 3 and len(self.groups) < len(self.terms)

    def __str__(self) -> str:
        from symrnn.render.latex import latex

        return latex(self)

    def _repr_latex_(self) -> str:
        from symrnn.render.latex import latex

        return latex(self)


def _families(model: Model) -> dict[str, str]:
    states = [v.name for v in model.variables if v.kind is Kind.STATE]
    return {name: FAMILY_LETTERS[i % len(FAMILY_LETTERS)] for i, name in enumerate(states)}


def _common_suffix(paths: list[Path]) -> int:
    """How many trailing edges all paths share (never a path's first edge)."""
    k = 0
    limit = min(len(p) for p in paths) - 2
    while k < limit and len({p[len(p) - 2 - k : len(p) - k] for p in paths}) == 1:
        k += 1
    return k


def pathsum(model: Model, wrt: str | Node, n: int, graph: nx.DiGraph | None = None,
            layout: Layout = Layout.NUMERATOR, i: int | None = None, inline: bool = False) -> PathSum:
    """Derive ``d loss / d wrt`` as a sum over the directed paths of the graph unrolled for ``n``.

    Parameters
    ----------
    model : Model
        The declared model.
    wrt : str or Node
        A parameter, input or initial state, by display name (``"W^{hx}"``,
        ``"x^{(1)}"``) or identifier (``"W_hx"``).
    n : int
        The sequence length.
    graph : networkx.DiGraph, optional
        The graph unrolled for ``n`` (and the label position ``i``), if already made.
    layout : str
        "numerator" (each product read loss side first, as Q1b) or "denominator"
        (the transposed products, read from ``wrt`` up, shaped like ``wrt``).
    i : int, optional
        The label position, for the models that read one.
    inline : bool
        Print the interims (pre-activations, gates) expanded instead of by name.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> [len(term) for term in pathsum(elman(), "b^{h}", 3).terms]
    [2, 3, 4]
    """
    layout = check_layout(layout)
    G = graph if graph is not None else unroll(model, n, i)
    source = wrt if isinstance(wrt, Node) else find_node(G, wrt)
    loss = G.graph["loss"]
    if source == loss:
        raise SymRNNError("the loss cannot be differentiated with respect to itself")
    count = count_paths(G, source, loss)
    if count == 0:
        raise SymRNNError(f"the loss does not depend on {G.nodes[source]['latex']}: there is no path")
    if count > MAX_TERMS:
        raise SymRNNError(
            f"there are {count} paths from {G.nodes[source]['latex']} to the loss; the path sum is "
            f"written out up to {MAX_TERMS} terms, as its size grows with the square of the paths' "
            "length: choose a smaller n (symrnn paths --count still counts them)"
        )
    paths = list(iter_paths(G, source, loss))
    families = _families(model)
    k = _common_suffix(paths) if len(paths) > 1 else 0
    shared = None
    if k:
        last = paths[0]
        edges = tuple((last[j], last[j + 1]) for j in range(len(last) - 2, len(last) - 2 - k, -1))
        shared = Factor("shared", edges, "A")
    terms = []
    for p in paths:
        edges = [(p[j], p[j + 1]) for j in range(len(p) - 2, -1, -1)]  # loss side first
        factors = [shared] if shared else []
        for u, v in edges[k:-1]:
            if u.name == v.name and u.name in families:
                factors.append(Factor("recurrence", ((u, v),), f"{families[u.name]}^{{{u.t}}}"))
            else:
                factors.append(Factor("edge", ((u, v),)))
        factors.append(Factor("partial", (edges[-1],)))
        terms.append(tuple(factors))
    return PathSum(G, source, loss, tuple(paths), tuple(terms), shared, families, layout, inline)
