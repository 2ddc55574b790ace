"""The gradient as a sum over paths of products of edge Jacobians (Question 1b).

``d loss / d wrt = sum over paths of D(last edge) ... D(first edge)``, written
loss side first (numerator layout), with the handout's abbreviations:

* the factors every path shares on the loss side form one product, named ``A``;
* the recurrence edges of a state ``h`` are named ``B^{(t)} = D(h^{(t)} -> h^{(t+1)})``
  (further states take ``C``, ``E``, ...);
* the first edge of each path is written as the local partial
  ``\\partial h^{(t)} / \\partial W^{hx}``, which *is* the edge Jacobian
  ``D(W^{hx} -> h^{(t)})``: the other arguments of ``h^{(t)}`` held fixed.

The object keeps the structure (which edges each printed factor multiplies),
so :mod:`symrnn.numeric` evaluates exactly what is printed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cached_property

import networkx as nx
from sympy import Identity

from symrnn.derive.equations import Layout, check_layout
from symrnn.errors import SymRNNError
from symrnn.graph.jacobians import expand_interims, interims_read, symbolic
from symrnn.graph.node import Node
from symrnn.graph.unroll import edge_jacobian, edge_template, find_node, unroll
from symrnn.model.declared import Kind, Model
from symrnn.operations import algebra as al
from symrnn.operations.symbols import T
from symrnn.paths.enumerate import Path, count_paths, iter_paths

#: Beyond this many paths the path sum is not written out: its LaTeX grows with the
#: square of n (path k has k factors); n = 1000 already prints 4 MB in 2 s.
MAX_TERMS = 1000

#: Names of recurrence families, in declaration order of the states (A and D are taken).
FAMILY_LETTERS = "BCEFGHJKLMNPQRSTUVWXYZ"

Edge = tuple[Node, Node]


class FactorKind(enum.Enum):
    """What a printed factor of a path's product is."""

    SHARED = "shared"  # the product A of the loss-side edges every path shares
    RECURRENCE = "recurrence"  # a recurrence edge of a state, B^{(t)}
    EDGE = "edge"  # any other edge, D(a -> b)
    PARTIAL = "partial"  # the first edge, the local partial of wrt


@dataclass(frozen=True)
class Factor:
    """One printed factor of a path's product: its kind, its edges and its name.

    Its :class:`FactorKind`, the edges it multiplies (loss side first) and its name (``A``,
    ``B^{(2)}``) where it has one. A term of a :class:`PathSum` is a tuple of factors, loss side first: the shared
    product ``A``, recurrence edges ``B^{(t)}``, other edges ``D(a -> b)``, and last the local partial of
    ``wrt``.

    Parameters
    ----------
    kind : FactorKind
        ``SHARED`` (the product ``A`` every path ends with), ``RECURRENCE`` (``B^{(t)}``),
        ``EDGE`` (``D(a -> b)``) or ``PARTIAL`` (the path's first edge).
    edges : tuple of (Node, Node)
        The edges it multiplies, loss side first.
    name : str, optional
        Its printed name (``"A"``, ``"B^{(2)}"``); empty for an edge printed as ``D(a -> b)``
        or a partial.

    Examples
    --------
    >>> from symrnn import pathsum, zoo
    >>> term = pathsum(zoo.elman(), "W^{hx}", 3).terms[2]
    >>> [(f.kind.value, f.name) for f in term]
    [('shared', 'A'), ('recurrence', 'B^{(2)}'), ('recurrence', 'B^{(1)}'), ('partial', '')]
    >>> term[1].edges
    ((Node(name='h', t=2), Node(name='h', t=3)),)
    """

    kind: FactorKind
    edges: tuple[Edge, ...]
    name: str = ""


@dataclass(frozen=True)
class EdgeName:
    """``D(source \\rightarrow target)``, by the display names of its ends."""

    source: str
    target: str


@dataclass(frozen=True)
class PartialName:
    """``\\frac{\\partial num}{\\partial den}``, by display names."""

    num: str
    den: str


@dataclass(frozen=True)
class WhereLine:
    """One definition under a path sum: ``left = [edge =] value[, times]``.

    Attributes
    ----------
    left : str, EdgeName or PartialName
        What is defined: a name (``A``, ``B^{(t)}``, an interim ``a^{(t)}``), an edge's
        Jacobian, or a local partial.
    edge : EdgeName or None
        The edge whose Jacobian the left side is, written before the value.
    value : sympy expression, or tuple of EdgeName
        The symbolic value (a SymPy number ``c`` is ``c I``), or the product of edges ``A`` is.
    times : tuple of int
        The steps a template line holds at (``B^{(t)}``, ``t = 1, 2``); empty for one edge.
    number : bool
        The value is a number between two ``1 x 1`` variables (a plain number, not ``c I``).
    """

    left: str | EdgeName | PartialName
    value: object
    edge: EdgeName | None = None
    times: tuple[int, ...] = ()
    number: bool = False


@dataclass(frozen=True, eq=False)
class PathSum:
    """``d loss / d wrt`` as a sum over paths; print it with :func:`symrnn.render.latex.latex`.

    Made by :func:`pathsum`; ``str()`` is its LaTeX, and in Jupyter it displays as LaTeX.

    Parameters
    ----------
    graph : networkx.DiGraph
        The unrolled graph (frozen).
    wrt : Node
        The variable differentiated in.
    loss : Node
        The loss node.
    paths : tuple of paths
        Every directed path from ``wrt`` to the loss.
    terms : tuple of tuple of Factor
        One product per path, loss side first.
    shared : Factor or None
        The named product ``A`` of the loss-side edges all paths share.
    families : tuple of (str, str)
        Each state's name and the letter of its recurrence edges.
    layout : Layout, optional
        The layout it prints in; numerator by default.
    inline : bool, optional
        Whether interims print expanded instead of by name.
    truncate : int or None, optional
        Truncated BPTT: only the paths that go back at most this many steps are in the sum.
    dropped : int, optional
        With ``truncate``, how many paths it leaves out.
    units : tuple of edges, optional
        The edges whose Jacobian is 1 or the identity, left out of the products (``D(L_t -> L) = 1``).

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
    families : tuple of (str, str)
        Each state's name and the letter of its recurrence edges.
    model : Model
        The model of the graph.
    where : tuple of WhereLine
        The definitions printed under the sum (``A``, ``B^{(t)}``, each edge's Jacobian).

    Examples
    --------
    >>> from symrnn import latex, pathsum, zoo
    >>> ps = pathsum(zoo.elman(), "W^{hx}", 3)
    >>> len(ps.paths), ps.shared.name, ps.families
    (3, 'A', (('h', 'B'),))
    >>> for part in latex(ps).splitlines()[1].split(" + "):
    ...     print(part.strip())
    \\frac{\\partial o}{\\partial W^{hx}} &= A \\frac{\\partial h^{(3)}}{\\partial W^{hx}}
    A B^{(2)} \\frac{\\partial h^{(2)}}{\\partial W^{hx}}
    A B^{(2)} B^{(1)} \\frac{\\partial h^{(1)}}{\\partial W^{hx}}
    """

    graph: nx.DiGraph
    wrt: Node
    loss: Node
    paths: tuple[Path, ...]
    terms: tuple[tuple[Factor, ...], ...]
    shared: Factor | None
    families: tuple[tuple[str, str], ...]
    layout: Layout = Layout.NUMERATOR
    inline: bool = False
    truncate: int | None = None
    dropped: int = 0
    units: tuple[Edge, ...] = ()

    @property
    def model(self) -> Model:
        return self.graph.graph["model"]

    @property
    def partials(self) -> list[Edge]:
        """The distinct first edges of the paths (the local partials), in order."""
        return list(dict.fromkeys(term[-1].edges[0] for term in self.terms))

    def between_numbers(self, factor: Factor) -> bool:
        """Whether a factor joins two ``1 x 1`` variables: its transpose is itself."""
        return _is_number(self.model, factor.edges[0][1]) and _is_number(self.model, factor.edges[-1][0])

    @cached_property
    def where(self) -> tuple[WhereLine, ...]:
        """The definitions that the equation uses, in order (see :func:`where_lines`)."""
        return where_lines(self)

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


def _taken(model: Model) -> set[str]:
    """The capital letters the model's own names start with (``A`` of ``A``, ``C^{t}``, ``W`` of ``W^{hx}``)."""
    return {v.latex[0] for v in model.variables if v.latex[:1].isalpha() and not v.latex[1:2].isalpha()}


def _shared_name(model: Model) -> str:
    """The name of the loss-side product all paths share: ``A``, or another letter no variable has."""
    return next(c for c in "A" + FAMILY_LETTERS + "DIO" if c not in _taken(model))


def _families(model: Model) -> tuple[tuple[str, str], ...]:
    """Each state and the letter of its recurrence edges (``B^{(t)}``), never a letter a variable of the
    model is named with (an encoder-decoder's parameters A, B, C) nor the shared product's."""
    states = [v.name for v in model.variables if v.kind is Kind.STATE]
    free = [c for c in FAMILY_LETTERS if c not in _taken(model) and c != _shared_name(model)] or list(FAMILY_LETTERS)
    return tuple((name, free[i % len(free)]) for i, name in enumerate(states))


def family_name(model: Model, state: str, letter: str, time) -> str:
    """The name of a recurrence edge of ``state`` leaving step ``time``, written with the state's own time
    index so that it never reads as a power: ``B^{(2)}`` beside ``h^{(2)}``, ``B_{2}`` beside ``h_{2}``
    (the question sheet's ``B^{(2)}`` looks like ``B`` squared in a product ``B^{(2)} B^{(1)}``).

    Examples
    --------
    >>> from symrnn.zoo import elman, vanilla
    >>> family_name(elman(), "h", "B", 2), family_name(vanilla(), "h", "B", "t")
    ('B^{(2)}', 'B_{t}')
    """
    if "^{({t})}" in model.var(state).latex:
        return f"{letter}^{{({time})}}"
    return f"{letter}_{{{time}}}"


def _common_suffix(paths: list[Path]) -> int:
    """How many trailing edges all paths share (never a path's first edge)."""
    k = 0
    limit = min(len(p) for p in paths) - 2
    while k < limit and len({p[len(p) - 2 - k : len(p) - k] for p in paths}) == 1:
        k += 1
    return k


def pathsum(model: Model, wrt: str | Node, n: int, graph: nx.DiGraph | None = None,
            layout: Layout = Layout.NUMERATOR, i: int | None = None, inline: bool = False,
            truncate: int | None = None) -> PathSum:
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
    truncate : int, optional
        Truncated BPTT: keep only the paths that go back at most ``truncate`` steps
        (:func:`symrnn.paths.steps_back`), and say how many were left out.

    Returns
    -------
    PathSum
        The sum: one product of edge Jacobians per path, loss side first, with the shared
        product ``A`` and the recurrence factors ``B^{(t)}`` named.

    Raises
    ------
    SymRNNError
        When ``wrt`` is the loss, the loss does not depend on it, or there are more than
        ``MAX_TERMS`` (1000) paths (:func:`symrnn.derive.closed_form` does not grow with ``n``).

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> [len(term) for term in pathsum(elman(), "b^{h}", 3).terms]
    [2, 3, 4]
    >>> from symrnn import latex
    >>> print(latex(pathsum(elman(), "W^{hx}", 2)).splitlines()[1].split(" &= ")[1])
    A \\frac{\\partial h^{(2)}}{\\partial W^{hx}} + A B^{(1)} \\frac{\\partial h^{(1)}}{\\partial W^{hx}}
    """
    layout = check_layout(layout)
    G = graph if graph is not None else unroll(model, n, i)
    source = wrt if isinstance(wrt, Node) else find_node(G, wrt)
    loss = G.graph["loss"]
    if source == loss:
        raise SymRNNError("the loss cannot be differentiated with respect to itself")
    if truncate is not None:
        from symrnn.derive.truncated import check_truncate

        check_truncate(truncate)
    total = count_paths(G, source, loss)
    count = total if truncate is None else count_paths(G, source, loss, truncate)
    if total == 0:
        raise SymRNNError(f"the loss does not depend on {G.nodes[source]['latex']}: there is no path")
    if count == 0:
        steps = "step" if truncate == 1 else "steps"
        raise SymRNNError(f"no path from {G.nodes[source]['latex']} to the loss goes back {truncate} {steps} or "
                          "fewer (the truncated gradient is 0); the shortest goes back more: choose a larger "
                          "truncation")
    if count > MAX_TERMS:
        raise SymRNNError(
            f"there are {count} paths from {G.nodes[source]['latex']} to the loss; the path sum is "
            f"written out up to {MAX_TERMS} terms, as its size grows with the square of the paths' "
            "length: choose a smaller n (symrnn paths --count still counts them)"
        )
    paths = list(iter_paths(G, source, loss, truncate))
    families = dict(_families(model))
    units: dict = {}  # edges whose Jacobian is 1 or I: left out of the products (D(L_t -> L) = 1)

    def unit(edge) -> bool:
        if edge not in units:
            jac = edge_jacobian(G, *edge)
            units[edge] = jac == 1 or isinstance(jac, Identity)
        return units[edge]

    k = _common_suffix(paths) if len(paths) > 1 else 0
    shared = None
    if k:
        last = paths[0]
        edges = tuple(e for e in ((last[j], last[j + 1]) for j in range(len(last) - 2, len(last) - 2 - k, -1))
                      if not unit(e))
        shared = Factor(FactorKind.SHARED, edges, _shared_name(model)) if edges else None
    terms = []
    for p in paths:
        edges = [(p[j], p[j + 1]) for j in range(len(p) - 2, -1, -1)]  # loss side first
        factors = [shared] if shared else []
        for u, v in edges[k:-1]:
            if u.name == v.name and u.name in families:
                shown = family_name(model, u.name, families[u.name], u.t)
                factors.append(Factor(FactorKind.RECURRENCE, ((u, v),), shown))
            elif not unit((u, v)):
                factors.append(Factor(FactorKind.EDGE, ((u, v),)))
        factors.append(Factor(FactorKind.PARTIAL, (edges[-1],)))
        terms.append(tuple(factors))
    left_out = tuple(e for e, is_unit in units.items() if is_unit)
    return PathSum(nx.freeze(G), source, loss, tuple(paths), tuple(terms), shared, _families(model), layout, inline,
                   truncate, total - count, left_out)


def _is_number(model: Model, node: Node) -> bool:
    return model.var(node.name).shape == (1, 1)


def _edge_groups(G: nx.DiGraph, edges: list) -> list[list]:
    """``edges`` in groups that print as one template line: the same two variables, the same step
    apart, read the same way, at several steps of the reader (in the order first met)."""
    groups: dict = {}
    for u, v in edges:
        timed = u.t is not None and v.t is not None
        key = (u.name, v.name, v.t - u.t, G.edges[u, v]["refs"]) if timed else (u, v)
        groups.setdefault(key, []).append((u, v))
    return list(groups.values())


def where_lines(ps: PathSum) -> tuple[WhereLine, ...]:
    """The definitions a path sum's equation uses: ``A``, each recurrence family ``B^{(t)}`` as a
    template with its steps, each other edge's Jacobian, the local partials (one template line
    when they are one variable's at several steps), then the interims those values read.

    With ``ps.inline`` the values have their interims expanded instead.
    """
    G, model = ps.graph, ps.model
    lines: list[WhereLine] = []
    shown: list = []  # the values shown, to find the interims they read

    def value(expr):
        if ps.inline:
            return expand_interims(model, expr)
        shown.append(expr)
        return expr

    def name(u, v) -> EdgeName:
        return EdgeName(G.nodes[u]["latex"], G.nodes[v]["latex"])

    if ps.shared:
        lines.append(WhereLine(ps.shared.name, tuple(name(u, v) for u, v in ps.shared.edges)))
    for state, letter in ps.families:
        used = [f for term in ps.terms for f in term
                if f.kind is FactorKind.RECURRENCE and f.edges[0][0].name == state]
        if not used:
            continue
        u, v = used[0].edges[0]
        decl = model.var(state)
        template = edge_template(G, u, v)
        if not al.is_scalar(template):
            template = template.xreplace({T: T + (v.t - u.t)})  # the source at time t
        edge = EdgeName(decl.display(T), decl.display(T + (v.t - u.t)))
        times = tuple(sorted({f.edges[0][0].t for f in used}))
        lines.append(WhereLine(family_name(model, state, letter, "t"), value(template), edge, times))
    edges: list = list(ps.shared.edges) if ps.shared else []
    for term in ps.terms:
        edges += [f.edges[0] for f in term if f.kind is FactorKind.EDGE and f.edges[0] not in edges]
    for group in _edge_groups(G, edges):
        u, v = group[0]
        jac = edge_jacobian(G, u, v)
        number = al.is_scalar(jac) and _is_number(model, u) and _is_number(model, v)
        if len(group) == 1:
            lines.append(WhereLine(name(u, v), jac if number else value(jac), number=number))
            continue
        # one variable's edge at several steps: one template line, D(s_{t} -> L_{t}), t = 1, 2
        target, source = model.var(v.name), model.var(u.name)
        edge = EdgeName(source.display(T + (u.t - v.t)) if source.timed else source.latex, target.display(T))
        template = edge_template(G, u, v)
        lines.append(WhereLine(edge, template if number else value(template), times=tuple(w.t for _, w in group),
                               number=number))
    partials = ps.partials
    targets = {v.name for _, v in partials}
    refs = {G.edges[e]["refs"] for e in partials}
    if len(partials) > 1 and len(targets) == 1 and len(refs) == 1 and partials[0][1].t is not None:
        u, v = partials[0]
        target = model.var(v.name).display(T)
        lines.append(WhereLine(PartialName(target, G.nodes[u]["latex"]), value(edge_template(G, u, v)),
                               EdgeName(G.nodes[u]["latex"], target), tuple(w.t for _, w in partials)))
    else:
        for u, v in partials:
            lines.append(WhereLine(PartialName(G.nodes[v]["latex"], G.nodes[u]["latex"]),
                                   value(edge_jacobian(G, u, v)), name(u, v)))
    for interim in interims_read(model, shown):
        decl = model.var(interim)
        left = decl.display(T) if decl.timed else decl.latex
        lines.append(WhereLine(left, symbolic(model, model.definition(interim).expr)))
    return tuple(lines)
