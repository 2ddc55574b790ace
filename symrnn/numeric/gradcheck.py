"""Proving printed formulas numerically: central finite differences of the loss.

A formula passes when its own value matches the finite differences to a
relative error below ``1e-6`` in float64, with the relative error
``max|a - b| / max(max|a|, max|b|)``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

import networkx as nx
import numpy as np

from symrnn.derive.pathsum import pathsum
from symrnn.errors import NumericError, SymRNNError
from symrnn.graph.node import Node
from symrnn.numeric.evaluate import evaluate_adjoints, evaluate_closed_form, evaluate_pathsum
from symrnn.numeric.forward import Point, concrete_shape, forward, loss, random_point
from symrnn.operations.functions import FUNCTIONS
from symrnn.operations.symbols import T

TOLERANCE = 1e-6
#: Largest step of the central differences. Two levels of Richardson extrapolation
#: make the truncation error O(step^6), and the loss is computed in extended
#: precision, so the rounding error is ~1e-19/step: a gradient that has all but
#: vanished (1e-10, sigmoid over 6 steps with m = 1) is still checked to ~1e-7.
STEP = 1e-2
#: Below this, in every entry on both sides, a gradient has vanished beyond what the differences resolve
#: (their rounding, ~1e-19/STEP times the loss): the check passes it and says so.
RESOLUTION = 1e-15


def relative_error(a, b, mask=None) -> float:
    """``max|a - b| / max(max|a|, max|b|)`` over the entries in ``mask`` (all by default).

    0 when both are 0; infinite when a compared entry is NaN or infinite on either side, so that
    a formula that evaluates to NaN can never pass.

    Examples
    --------
    >>> relative_error([1.0, 2.0], [1.0, 2.2]), relative_error([np.nan, 1.0], [1.0, 1.0])
    (0.09090909090909098, inf)
    >>> relative_error([np.nan, 1.0], [5.0, 1.0], mask=[False, True])
    0.0
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if mask is not None:
        mask = np.asarray(mask, bool)
        a, b = a[mask], b[mask]
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("inf")
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(a - b).max(initial=0.0) / scale)


def finite_differences(G: nx.DiGraph, point: Point, node: Node, step: float = STEP,
                       coordinates: list | None = None, progress=None, holds: dict | None = None) -> np.ndarray:
    """Central differences of the loss in each entry of ``node``, shaped like it.

    ``node`` is a leaf (a parameter, an input) or a computed variable, whose value
    is then replaced while what follows it is recomputed. Extrapolated twice
    (Richardson) from central differences ``D`` at ``step``, ``step/2`` and
    ``step/4``, so the truncation error is O(step^6). The loss is computed in
    extended precision (``numpy.longdouble``) at the same float64 point, so the
    reference stays good on gradients that have all but vanished (1e-10).

    ``coordinates`` (index tuples) limits the work to those entries (the others are
    NaN); ``progress`` is called once per entry done.

    Parameters
    ----------
    G : networkx.DiGraph
        An unrolled graph, from :func:`symrnn.graph.unroll`.
    point : Point
        Where to differentiate (:func:`symrnn.numeric.forward.random_point`, or a ``Point``
        built by hand).
    node : Node
        A node of ``G``: a leaf, or a computed variable (differences in its value).
    step : float
        The largest step, scaled by ``max(1, |entry|)``; :data:`STEP` by default.
    coordinates : list of tuple, optional
        The entries to differentiate in; all by default.
    progress : callable, optional
        Called with no argument after each entry.
    holds : dict, optional
        Computed nodes held at these values while ``node`` moves (what they feed is recomputed
        from the held value): the paths through them are cut (:func:`truncated_reference`).

    Returns
    -------
    numpy.ndarray
        The derivative of the loss in each entry, shaped like ``node``'s value (NaN where not
        asked for), in float64.

    Examples
    --------
    The scalar linear RNN at the worked answer's numbers (``w_x = 0.1``, ``x_t = 10``, ``w_h = 1``, ``h_0 = 1``,
    ``w_y = 2``) with targets ``y_t = 3``, where ``L = 10``:

    >>> from symrnn import unroll, zoo
    >>> G = unroll(zoo.scalar(), 2)
    >>> one = lambda v: np.array([[v]])
    >>> leaves = {Node("w_x"): one(0.1), Node("w_h"): one(1.0), Node("w_y"): one(2.0), Node("h0"): one(1.0)}
    >>> leaves.update({Node(v, t): one(10.0 if v == "x" else 3.0) for v in "xy" for t in (1, 2)})
    >>> point = Point(leaves)
    >>> [round(float(finite_differences(G, point, Node(w))[0, 0]), 6) for w in ("w_x", "w_h", "w_y", "h0")]
    [280.0, 40.0, 22.0, 16.0]
    >>> round(float(finite_differences(G, point, Node("h", 1))[0, 0]), 6)
    16.0
    """
    leaf = node in point.leaves
    if leaf:
        base = np.asarray(point.leaves[node], dtype=np.longdouble)
    else:
        base = np.asarray(forward(G, point, dtype=np.longdouble)[node], dtype=np.longdouble)
    grad = np.zeros(base.shape)

    def at(value):
        if leaf:
            return loss(G, point.with_leaf(node, value), dtype=np.longdouble, overrides=holds)
        return loss(G, point, dtype=np.longdouble, overrides={**(holds or {}), node: value})

    def central(idx, h):
        plus, minus = base.copy(), base.copy()
        plus[idx] += h
        minus[idx] -= h
        return (at(plus) - at(minus)) / (2 * h)

    if coordinates is not None:
        grad[...] = np.nan
    for idx in np.ndindex(base.shape) if coordinates is None else coordinates:
        if progress is not None:
            progress()
        h = np.longdouble(step) * max(1, abs(base[idx]))
        d1, d2, d4 = central(idx, h), central(idx, h / 2), central(idx, h / 4)
        once, twice = (4 * d2 - d1) / 3, (4 * d4 - d2) / 3
        grad[idx] = float((16 * twice - once) / 15)
    return grad


#: The printed forms ``check`` evaluates.
class Form(str, enum.Enum):
    """A printed form of the gradient: the path sum, the recursion or the closed form.

    The sum over paths, the recursion of the total derivatives, or the closed form. A ``str``
    enum: ``Form("closed")``.

    :func:`check_model` takes the forms to check (``forms=``) by member or name, and each
    :class:`CheckRow` says which form it checked; ``symrnn derive --form`` and ``symrnn check
    --form`` take the names.

    Parameters
    ----------
    value : str
        ``"pathsum"``, ``"recursion"`` or ``"closed"``.

    Attributes
    ----------
    PATHSUM : Form
        The sum over paths of products of edge Jacobians (:func:`symrnn.derive.pathsum`).
    RECURSION : Form
        The backward recursion of the total derivatives (:func:`symrnn.derive.recursion`).
    CLOSED : Form
        The closed form, a sum over the steps (:func:`symrnn.derive.closed_form`).

    Examples
    --------
    >>> from symrnn import Form
    >>> Form("closed") is Form.CLOSED, str(Form.PATHSUM)
    (True, 'pathsum')
    >>> [str(form) for form in Form]
    ['pathsum', 'recursion', 'closed']
    """

    PATHSUM = "pathsum"
    RECURSION = "recursion"
    CLOSED = "closed"

    def __str__(self) -> str:
        return self.value


#: The forms' names, for option lists.
FORMS = tuple(form.value for form in Form)


@dataclass(frozen=True)
class CheckRow:
    """The check of one printed gradient in one :class:`Form`: ``formula`` against ``reference``
    on the entries of ``mask`` (all of them when None; a sample of a large parameter otherwise).

    Examples
    --------
    >>> row = CheckRow("w", (2,), np.array([1.0, np.nan]), np.array([1.0, 2.0]))
    >>> row.passed, row.finite, row.checked, row.result
    (False, False, 2, 'FAIL: NaN or Inf')
    """

    name: str
    shape: tuple
    formula: np.ndarray
    reference: np.ndarray
    form: Form = Form.PATHSUM
    mask: np.ndarray | None = None
    note: str = ""  # why the point differs from the one asked for (a kink), if it does

    @property
    def compared(self) -> np.ndarray:
        """The entries compared, as a boolean array shaped like the gradient."""
        return np.ones(self.shape, bool) if self.mask is None else np.asarray(self.mask, bool)

    @property
    def error(self) -> float:
        """The relative error over the compared entries (infinite if one is NaN or Inf)."""
        return relative_error(self.formula, self.reference, self.compared)

    @property
    def finite(self) -> bool:
        """Whether every compared entry is a finite number on both sides."""
        keep = self.compared
        return bool(np.isfinite(np.asarray(self.formula, float)[keep]).all()
                    and np.isfinite(np.asarray(self.reference, float)[keep]).all())

    @property
    def passed(self) -> bool:
        return self.finite and (self.error < TOLERANCE or self.vanished)

    @property
    def vanished(self) -> bool:
        """Whether both sides are below :data:`RESOLUTION`: a gradient that has vanished, which finite
        differences cannot tell from 0 (a relative error says nothing there)."""
        keep = self.compared
        sides = [np.asarray(self.formula, float)[keep], np.asarray(self.reference, float)[keep]]
        values = np.abs(np.concatenate(sides))
        return bool(np.isfinite(values).all() and values.max(initial=0.0) < RESOLUTION)

    @property
    def result(self) -> str:
        """``pass``, ``pass (vanished)``, ``FAIL``, or ``FAIL: NaN or Inf``."""
        if self.passed:
            return "pass (vanished)" if self.error >= TOLERANCE else "pass"
        return "FAIL" if self.finite else "FAIL: NaN or Inf"

    @property
    def checked(self) -> int:
        """How many entries were compared."""
        return int(self.compared.sum())

    @property
    def total(self) -> int:
        return int(np.prod(self.shape))

    @property
    def abs_error(self) -> float:
        """``max|formula - reference|`` over the compared entries (NaN when one of them is not finite)."""
        keep = self.compared
        diff = np.abs(np.asarray(self.formula, float)[keep] - np.asarray(self.reference, float)[keep])
        return float(diff.max(initial=0.0)) if np.isfinite(diff).all() else float("nan")


def truncated_reference(G: nx.DiGraph, point: Point, node: Node, truncate: int,
                        coordinates: list | None = None, progress=None) -> np.ndarray:
    """The truncated-BPTT gradient in ``node`` (the paths that go back at most ``truncate`` steps),
    from finite differences of the forward pass alone, with nodes held: independent of the edge
    Jacobians and of path enumeration.

    For the paths that leave the steps at time ``t`` (a node at ``t`` read by one outside the loops,
    ``L_t`` or ``h_n``) and go back at most K steps: differences with the nodes after ``t`` and
    before ``t - K`` held at their values, minus the same with the nodes after ``t - 1`` held;
    plus the paths that meet no step (``V -> l -> o``): differences with every step held.
    A model whose steps read only their own and the previous step (every recurrence one step
    forward, nothing computed outside the loops read inside them) has such paths only.

    Raises
    ------
    NumericError
        For a model with other reads (a backward loop, ``z_0 = h_n``, ``h_n`` read by a loop).

    Examples
    --------
    >>> from symrnn import unroll, zoo
    >>> from symrnn.numeric.forward import random_point
    >>> G = unroll(zoo.elman("tanh"), 4)
    >>> point = random_point(G.graph["model"], G, {"m": 2, "d": 2, "K": 3})
    >>> full = finite_differences(G, point, Node("W_hx"))
    >>> bool(np.allclose(truncated_reference(G, point, Node("W_hx"), 3), full))  # K >= n - 1: all paths
    True
    """
    from symrnn.model.declared import Kind

    for u, v in G.edges:
        if u.t is not None and v.t is not None and v.t - u.t not in (0, 1):
            raise NumericError(f"the truncated check covers recurrences one step forward; {G.nodes[v]['latex']} "
                               f"reads {G.nodes[u]['latex']}: derive --truncate still prints the truncated path "
                               "sum and closed form, and check without --truncate checks the full gradient")
        if u.t is None and v.t is not None and G.nodes[u]["kind"] not in (Kind.PARAMETER, Kind.INPUT) \
                and G.in_degree(u) > 0:  # a zero start (h_0 = 0) reads nothing: a constant, as an input is
            raise NumericError(f"the truncated check covers models whose steps read no value computed outside the "
                               f"loops; {G.nodes[v]['latex']} reads {G.nodes[u]['latex']}: derive --truncate still "
                               "prints the truncated forms, and check without --truncate checks the full gradient")
    base = forward(G, point, dtype=np.longdouble)
    timed = [v for v in G if v.t is not None and v != node and G.nodes[v]["kind"] not in (Kind.PARAMETER, Kind.INPUT)]
    exits = sorted({u.t for u, v in G.edges if u.t is not None and v.t is None})

    def held(low, high):
        holds = {v: base[v] for v in timed if v.t > high or v.t < low}
        return finite_differences(G, point, node, coordinates=coordinates, progress=progress, holds=holds)

    first = min((v.t for v in timed), default=0)
    total = held(first + 1, first - 1)  # every step held: the paths that meet no step (V -> l -> o)
    from symrnn.paths.enumerate import recurrences

    start = node.t is None and node.name in recurrences(G)  # h_0: the state at step 0, a step before step 1
    for t in exits:
        if start and t - truncate > first - 1:
            continue  # the path from step 0 to the exit at t goes back t steps: more than K
        total = total + held(t - truncate, t) - held(t - truncate, t - 1)
    return total


def check_pathsum(ps, point: Point, reference: np.ndarray | None = None, mask=None) -> CheckRow:
    """Compare the printed path sum of ``ps`` with finite differences at ``point`` (or ``reference``)."""
    G = ps.graph
    shape = np.shape(point.leaves[ps.wrt])
    row = evaluate_pathsum(ps, point)
    formula = _as_gradient(row, shape)
    reference = finite_differences(G, point, ps.wrt) if reference is None else reference
    return CheckRow(G.nodes[ps.wrt]["latex"], shape, formula, reference, Form.PATHSUM, mask)


def _as_gradient(value, shape) -> np.ndarray:
    """A printed gradient (a row in numerator layout, vec for a matrix) shaped like its variable."""
    return np.asarray(value).reshape(shape, order="F")  # vec stacks columns


def check_closed_form(cf, point: Point, reference: np.ndarray | None = None, mask=None) -> CheckRow:
    """Compare the printed closed form of ``cf`` (with its recursion) with finite differences."""
    shape = np.shape(point.leaves[cf.node])
    formula = _as_gradient(evaluate_closed_form(cf, point), shape)
    reference = finite_differences(cf.graph, point, cf.node) if reference is None else reference
    return CheckRow(cf.graph.nodes[cf.node]["latex"], shape, formula, reference, Form.CLOSED, mask)


def check_recursion(rec, G: nx.DiGraph, point: Point, skip: set = frozenset()) -> list[CheckRow]:
    """Compare each printed total derivative (every variable, every step) with finite differences
    in that variable's value; one row per variable (but those in ``skip``), over all its steps."""
    from symrnn.derive.equations import adjoint_symbol

    deltas = evaluate_adjoints(rec, G, point)
    rows = []
    for eq in rec.equations:
        nodes = [v for v in G if v.name == eq.name and v in deltas]
        if not nodes or eq.name in skip:
            continue
        shape = (len(nodes), *concrete_shape(rec.model, eq.name, point.sizes))
        formula = np.stack([_as_gradient(deltas[v], shape[1:]) for v in nodes])
        reference = np.stack([finite_differences(G, point, v) for v in nodes])
        decl = rec.model.var(eq.name)
        name = adjoint_symbol(rec.model, eq.name, T if decl.timed else None, rec.layout).display
        rows.append(CheckRow(name, shape, formula, reference, Form.RECURSION))
    return rows


#: How many other points a check of a model with a kink (relu) tries before it reports a failure.
KINK_RETRIES = 5

#: Above this many entries, a parameter's gradient is checked on a random sample of them.
MAX_COORDINATES = 200


def sample_coordinates(shape: tuple, limit: int, rng) -> list | None:
    """All entries (None) when there are at most ``limit``, else ``limit`` distinct random ones."""
    total = int(np.prod(shape))
    if total <= limit:
        return None
    flat = rng.choice(total, size=limit, replace=False)
    return [np.unravel_index(k, shape) for k in sorted(flat)]


def check_model(model, n: int, sizes: dict, seed: int = 0, wrt: list[str] | None = None,
                bindings: dict | None = None, forms=("pathsum",), layout: str = "numerator",
                i: int | None = None, max_coordinates: int = MAX_COORDINATES, progress=None,
                truncate: int | None = None, deltas: bool = False) -> list[CheckRow]:
    """Check the printed forms of the gradient in every parameter (or in ``wrt``) for length ``n``.

    ``forms`` chooses among "pathsum" (the sum over paths), "closed" (the closed form
    with the recursion's total derivatives) and "recursion" (each total derivative of
    the recursion, against finite differences in that variable). ``i`` is the label
    position of the models that have one. A parameter with more than ``max_coordinates``
    entries is compared on that many random entries (``CheckRow.checked`` says how many);
    ``progress()`` is called once per finite difference taken. With ``truncate`` the path sum of
    truncated BPTT is compared with :func:`truncated_reference` (the path sum only).

    Parameters
    ----------
    model : Model
        The declared model.
    n : int
        The sequence length.
    sizes : dict
        An integer for each size of the model (``{"m": 4, "d": 3, "K": 5}``).
    seed : int
        The seed of the random point (and of the sampled entries).
    wrt : list of str, optional
        The variables to check, by display name or identifier; every parameter by default.
    bindings : dict, optional
        Concrete functions for the model's abstract ones (``{"g": "tanh"}``).
    forms : sequence of str or Form
        Which printed forms to check; ``("pathsum",)`` by default, :data:`FORMS` for all.
    layout : str or Layout
        ``"numerator"`` (the default) or ``"denominator"``.
    i : int, optional
        The label position, for the models that read one.
    max_coordinates : int
        The most entries of a parameter compared with finite differences.
    progress : callable, optional
        Called with no argument once per entry differentiated (a progress bar).
    truncate : int, optional
        Check the truncated path sum against the truncated gradient (:func:`truncated_reference`).
    deltas : bool
        Check the closed form and the recursion as ``symrnn derive`` prints them by default, with
        the gates' error terms named (:func:`symrnn.derive.deltas.named_deltas`): each
        ``\\delta`` line against finite differences in its pre-activation.

    Returns
    -------
    list of CheckRow
        One row per variable and form (the recursion: one row per total derivative), with the
        formula's value, the finite differences, the relative error and ``passed``
        (relative error below ``TOLERANCE``, 1e-6).

    Raises
    ------
    SymRNNError
        When a form or the layout is unknown (NumericError when sizes or bindings are missing).

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> rows = check_model(elman("tanh"), 3, {"m": 3, "d": 2, "K": 4})
    >>> [r.name for r in rows], all(r.passed for r in rows)
    (['W^{hx}', 'W^{hh}', 'b^{h}', 'h^{(0)}', 'V', '\\\\gamma'], True)
    >>> rows = check_model(elman("tanh"), 3, {"m": 3, "d": 2, "K": 4}, wrt=["W^{hh}"],
    ...                    forms=FORMS, layout="denominator")
    >>> [(str(r.form), r.name) for r in rows if r.form is not Form.RECURSION], all(r.passed for r in rows)
    ([('pathsum', 'W^{hh}'), ('closed', 'W^{hh}')], True)
    """
    from symrnn.derive.adjoints import check_layout
    from symrnn.graph.unroll import unroll

    unknown = [f for f in forms if f not in FORMS]
    if unknown:
        raise SymRNNError(f"unknown form {unknown[0]!r}; choose from {', '.join(FORMS)}")
    forms = [Form(f) for f in forms]
    check_layout(layout)
    G = unroll(model, n, i)
    point = random_point(model, G, sizes, seed, bindings)
    names = wrt if wrt is not None else [p.latex for p in model.parameters]
    factored = _factored(model, n, i, sizes, bindings) if deltas else None
    with np.errstate(all="ignore"):  # an overflow shows in the table as NaN or Inf, and fails there
        rows = _check(model, n, G, point, names, forms, layout, i, seed, max_coordinates, progress, truncate,
                      factored and factored(seed))
        kinked = [f for f in model.functions if not FUNCTIONS[dict(bindings or {}).get(f, f)].smooth]
        if all(r.passed for r in rows) or not kinked:
            return rows
        # Finite differences across a kink (relu at 0) are not the derivative on either side: move the
        # point. A formula that is wrong fails at every point; one point that passes is a point where
        # the formula and the finite differences agree on a smooth piece.
        for attempt in range(1, KINK_RETRIES + 1):
            moved = seed + 7919 * attempt
            other = random_point(model, G, sizes, moved, bindings)
            retry = _check(model, n, G, other, names, forms, layout, i, moved, max_coordinates, None, truncate,
                           factored and factored(moved))
            if all(r.passed for r in retry):
                note = (f"{', '.join(kinked)} has a kink, where finite differences are not the derivative: the "
                        f"check failed at the point of seed {seed} and passes at the point of seed {moved}, "
                        "shown above")
                return [replace(r, note=note) for r in retry]
        return rows


def _factored(model, n: int, i, sizes: dict, bindings):
    """For a seed, the model with its gates' error terms named, its graph and its point there (the
    same parameters and inputs as the model's point of that seed: the named pre-activations are
    computed)."""
    from symrnn.derive.deltas import named_deltas
    from symrnn.graph.unroll import unroll

    named = named_deltas(model)
    G = unroll(named, n, i)
    return lambda seed: (named, G, random_point(named, G, sizes, seed, bindings))


def _check(model, n, G, point, names, forms, layout, i, seed, max_coordinates, progress,
           truncate=None, factored=None) -> list[CheckRow]:
    from symrnn.derive.adjoints import closed_form, recursion
    from symrnn.graph.unroll import find_node
    from symrnn.paths import count_paths

    rows: list[CheckRow] = []
    checked: set = set()
    for name in names:
        node = find_node(G, name)
        if node not in point.leaves:
            raise SymRNNError(f"{G.nodes[node]['latex']} is computed by the model: a check compares the gradients "
                              "of parameters, initial states and inputs (its total derivative is checked with "
                              "--form recursion)")
        shape = np.shape(point.leaves[node])
        coords = sample_coordinates(shape, max_coordinates, np.random.default_rng(seed))
        mask = None
        if coords is not None:  # the sampled entries, not the NaNs of the others: a NaN formula still fails
            mask = np.zeros(shape, bool)
            mask[tuple(np.array(coords).T)] = True
        reference = None
        if truncate is not None:
            if Form.RECURSION in forms:
                raise SymRNNError("a truncated check compares the path sum and the closed form (whose lines hold "
                                  "the truncated recursion) with the truncated gradient; choose --form pathsum or "
                                  "closed")
            reference = truncated_reference(G, point, node, truncate, coordinates=coords, progress=progress)
        elif {Form.PATHSUM, Form.CLOSED} & set(forms):
            reference = finite_differences(G, point, node, coordinates=coords, progress=progress)
        if count_paths(G, node, truncate=truncate) == 0:  # the loss does not depend on it here: its gradient is 0
            zero = np.zeros_like(reference)
            rows += [CheckRow(G.nodes[node]["latex"], zero.shape, zero, reference, form, mask) for form in forms
                     if form is not Form.RECURSION]
            continue
        if Form.PATHSUM in forms:
            rows.append(check_pathsum(pathsum(model, node, n, graph=G, layout=layout, truncate=truncate), point,
                                      reference, mask))
        fmodel, fG, fpoint = factored or (model, G, point)  # the closed form and recursion as printed
        if Form.CLOSED in forms:
            rows.append(check_closed_form(closed_form(fmodel, node, n, i, layout, graph=fG, truncate=truncate), fpoint,
                                          reference, mask))
        if Form.RECURSION in forms:
            rec = recursion(fmodel, node.name, layout)
            rows += check_recursion(rec, fG, fpoint, skip=checked)
            checked |= {eq.name for eq in rec.equations}
    return rows
