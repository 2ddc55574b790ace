"""The forward pass: values of every node (and interim) of an unrolled graph.

A *point* is where a model is evaluated: arrays for its leaves (parameters
``Node("W_hx")`` and inputs ``Node("x", t)``), integer labels (1-based, as the
handouts: ``y`` in ``1..K``) and the sizes (``{"m": 4, ...}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import networkx as nx
import numpy as np
import sympy as sp

from symrnn.errors import NumericError
from symrnn.graph.node import Node, resolve
from symrnn.model.declared import MAX_DIM, MAX_ENTRIES, Apply, Kind, Model, lengths
from symrnn.operations.primitives import INDEX, SIZES, constant_value
from symrnn.operations.symbols import Label, N


@dataclass(frozen=True)
class Point:
    """Values of the leaves, labels and sizes at which a model is evaluated."""

    leaves: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)
    bindings: tuple = ()

    def with_leaf(self, node: Node, value) -> Point:
        return replace(self, leaves={**self.leaves, node: value})

    def symbol_values(self, n: int | None = None) -> dict:
        """Values for compiled expressions: label and size symbols (and the length ``n``) by SymPy symbol."""
        import sympy as sp

        from symrnn.operations.symbols import N

        out = {Label(k): v for k, v in self.labels.items() if not isinstance(v, dict)}  # labels per step: Nodes
        out.update({sp.Symbol(k, integer=True, positive=True): v for k, v in self.sizes.items()})
        if n is not None:
            out[N] = n
        return out


def concrete_shape(model: Model, name: str, sizes: dict) -> tuple[int, int]:
    """The integer shape of variable ``name`` for the given sizes."""
    shape = model.var(name).shape
    subs = {s: sizes[str(s)] for s in model.sizes if str(s) in sizes}
    if "n" in sizes:  # a variable over the steps of another loop (attention's e_t, one score per step)
        subs[N] = sizes["n"]
    try:
        return tuple(int(d.subs(subs)) for d in shape)
    except TypeError:
        missing = sorted(str(s) for s in model.sizes if str(s) not in sizes)
        raise NumericError(f"sizes {', '.join(missing)} are needed to evaluate {name}") from None


def random_point(model: Model, G: nx.DiGraph, sizes: dict, seed: int = 0,
                 bindings: dict | None = None, scale: float = 0.5) -> Point:
    """A random point: parameters ~ N(0, scale^2), inputs ~ N(0, 1), uniform labels.

    A one-hot input gets a random one-hot vector; labels are 1-based, as in the handouts.

    Parameters
    ----------
    model : Model
        The declared model.
    G : networkx.DiGraph
        Its graph unrolled for the length (and label position) of the point, from
        :func:`symrnn.graph.unroll`.
    sizes : dict
        An integer for each size of the model (``{"m": 3, "d": 2, "K": 4}``).
    seed : int
        The seed of the random generator (the same seed gives the same point).
    bindings : dict, optional
        Concrete functions for the model's abstract ones (``{"g": "tanh"}``).
    scale : float
        The standard deviation of the parameters.

    Returns
    -------
    Point
        Float64 arrays for every parameter and input node (``leaves``, shaped ``(rows, cols)``),
        the labels, the sizes and the bindings.

    Raises
    ------
    NumericError
        When a size is missing or not an integer in ``1..MAX_DIM``.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> from symrnn.graph import unroll
    >>> p = random_point(elman(), unroll(elman(), 2), {"m": 3, "d": 2, "K": 4})
    >>> p.leaves[Node("W_hx")].shape, 1 <= p.labels["y"] <= 4
    ((3, 2), True)
    """
    for k, v in sizes.items():
        if not isinstance(v, (int, np.integer)) or not 1 <= v <= MAX_DIM:
            raise NumericError(f"size {k} = {v!r} must be an integer in 1..{MAX_DIM}")
    sizes = {**sizes, "n": G.graph["n"]}  # the length too: a variable over another loop's steps has n entries
    for v in model.variables:
        if v.kind is not Kind.LABEL:
            rows, cols = concrete_shape(model, v.name, sizes)
            if rows * cols > MAX_ENTRIES:
                raise NumericError(f"{v.latex} would have {rows * cols} entries, above the limit of {MAX_ENTRIES}; "
                                   "choose smaller sizes")
    rng = np.random.default_rng(seed)
    leaves = {}
    for node, data in G.nodes(data=True):
        if data["kind"] in (Kind.PARAMETER, Kind.INPUT):
            shape = concrete_shape(model, node.name, sizes)
            if model.var(node.name).onehot:
                leaves[node] = np.zeros(shape)
                leaves[node][rng.integers(shape[0]), 0] = 1.0
                continue
            s = 1.0 if data["kind"] is Kind.INPUT else scale
            leaves[node] = s * rng.standard_normal(shape)
    labels = {}
    for v in model.variables:
        if v.kind is Kind.LABEL:
            classes = int(v.shape[0].subs({s: sizes[str(s)] for s in model.sizes if str(s) in sizes}))
            if v.timed:  # one label per step: {t: label}
                steps = v.loop.range(G.graph["n"], G.graph["i"])
                labels[v.name] = {t: int(rng.integers(1, classes + 1)) for t in steps}
            else:
                labels[v.name] = int(rng.integers(1, classes + 1))
    return Point(leaves, labels, dict(sizes), tuple(sorted((bindings or {}).items())))


def point_from_arrays(model: Model, params: dict, inputs: dict, labels: dict, sizes: dict, n: int,
                      i: int | None = None, bindings: dict | None = None) -> Point:
    """The :class:`Point` of one sequence given as a compiled gradient takes it: ``params`` by identifier,
    each input ``(steps, size, 1)`` (a sequence) or ``(size, 1)``, each label ``(1,)`` or ``(steps, 1)``."""
    leaves = {Node(k): np.asarray(v, dtype=float) for k, v in params.items()}
    for v in model.inputs:
        if v.timed:
            leaves.update({Node(v.name, t): np.asarray(inputs[v.name][t - 1], dtype=float)
                           for t in v.loop.range(n, i)})
        else:
            leaves[Node(v.name)] = np.asarray(inputs[v.name], dtype=float)
    given = {}
    for k, v in labels.items():
        v = np.asarray(v)
        decl = model.var(k)
        given[k] = ({t: int(v[s].reshape(-1)[0]) for s, t in enumerate(decl.loop.range(n, i))} if decl.timed
                    else int(v.reshape(-1)[0]))
    return Point(leaves, given, {**sizes, "n": n}, tuple(sorted((bindings or {}).items())))


def forward(G: nx.DiGraph, point: Point, xp=np, dtype=None, overrides: dict | None = None) -> dict[Node, object]:
    """Values of all nodes of ``G`` at ``point``, interims included (``Node("a", t)``).

    ``dtype`` (default float64) sets the precision of the computation. ``overrides``
    replaces the value of computed nodes (what follows them is computed from it):
    finite differences in an intermediate variable use it.

    Parameters
    ----------
    G : networkx.DiGraph
        An unrolled graph, from :func:`symrnn.graph.unroll`.
    point : Point
        The values of the leaves, the labels and the bindings (:func:`random_point`).
    xp : module
        The array module (NumPy by default).
    dtype : optional
        The dtype of the computation (``numpy.longdouble`` for finite differences).
    overrides : dict, optional
        Values that replace those of computed nodes, by node; an interim's (``Node("a", 2)``) too.

    Returns
    -------
    dict
        The value of every node (and interim), by :class:`~symrnn.graph.node.Node`: a
        ``(rows, cols)`` array; the loss is ``(1, 1)``.

    Raises
    ------
    NumericError
        When a leaf has no value or the model applies an abstract function left unbound.

    Examples
    --------
    >>> from symrnn import zoo
    >>> from symrnn.graph import unroll
    >>> G = unroll(zoo.elman("tanh"), 2)
    >>> values = forward(G, random_point(G.graph["model"], G, {"m": 3, "d": 2, "K": 4}))
    >>> values[Node("h", 2)].shape, values[Node("o")].shape, Node("a", 1) in values
    ((3, 1), (1, 1), True)
    >>> bool(abs(np.exp(values[Node("q")]).sum() - 1) < 1e-12)
    True
    """
    model, n, i = G.graph["model"], G.graph["n"], G.graph["i"]
    values: dict[Node, object] = {}
    for node in point.leaves:
        values[node] = xp.asarray(point.leaves[node], dtype=dtype or xp.float64)
    for name, steps in point.labels.items():  # a label per step is read as a variable at its step
        if isinstance(steps, dict):
            values.update({Node(name, t): label for t, label in steps.items()})
    sizes = {**point.sizes, "n": n}
    bindings = {**dict(point.bindings), SIZES: sizes}  # the sizes, for constants such as 1/n

    def value(expr, t, j=None):
        if isinstance(expr, Apply) and expr.prim.over is not None:
            arg = expr.args[0]
            total = sum(value(arg, s) for s in model.var(arg.name).loop.range(n, i))
            return total if expr.prim.constant is None else constant_value(expr.prim.constant, sizes, total) * total
        if isinstance(expr, Apply) and expr.prim.inner is not None:  # a sum over the second index j
            low, high = (int(sp.sympify(b).subs(lengths(n, i))) for b in expr.prim.inner)
            return sum(value(expr.args[0], t, u) for u in range(low, high + 1))
        if isinstance(expr, Apply):
            return expr.prim.numeric(xp, [value(a, t, j) for a in expr.args],
                                     bindings if j is None else {**bindings, INDEX: j})
        decl = model.var(expr.name)
        if decl.kind is Kind.LABEL and not decl.timed:
            return point.labels[decl.name]
        rdecl, time = resolve(model, expr.name, expr.time, n, t, i, j)
        key = Node(rdecl.name, time)
        if key not in values:
            if rdecl.kind is not Kind.INTERIM:
                raise NumericError(f"no value for {rdecl.display(time)}")
            values[key] = value(model.definition(rdecl.name).expr, time)
        return values[key]

    for node, value_ in (overrides or {}).items():  # an interim (a_t) is not a node: its value is read from here
        if node not in G:
            values[node] = xp.asarray(value_, dtype=dtype or xp.float64)
    for node in nx.topological_sort(G):
        if overrides and node in overrides:
            values[node] = xp.asarray(overrides[node], dtype=dtype or xp.float64)
        elif G.nodes[node]["kind"] in (Kind.STATE, Kind.DEFINED):
            values[node] = value(model.definition(node.name).expr, node.t)
        elif node not in values:
            raise NumericError(f"no value given for {G.nodes[node]['latex']}")
    return values


def loss(G: nx.DiGraph, point: Point, xp=np, dtype=None, overrides: dict | None = None):
    """The loss at ``point``, a scalar of ``dtype`` (default float64)."""
    return forward(G, point, xp, dtype, overrides)[G.graph["loss"]].reshape(())[()]
