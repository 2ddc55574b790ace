"""Proving printed formulas numerically: central finite differences of the loss.

A formula passes when its own value matches the finite differences to a
relative error below ``1e-6`` in float64, with the relative error
``max|a - b| / max(max|a|, max|b|)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from symrnn.derive.pathsum import pathsum
from symrnn.graph.jacobians import Node
from symrnn.numeric.evaluate import evaluate_pathsum
from symrnn.numeric.forward import Point, loss, random_point

TOLERANCE = 1e-6
#: Largest step of the central differences. Two levels of Richardson extrapolation
#: make the truncation error O(step^6), and the loss is computed in extended
#: precision, so the rounding error is ~1e-19/step: a gradient that has all but
#: vanished (1e-10, sigmoid over 6 steps with m = 1) is still checked to ~1e-7.
STEP = 1e-2


def relative_error(a, b) -> float:
    """``max|a - b| / max(max|a|, max|b|)``, 0 when both are 0."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(a - b).max(initial=0.0) / scale)


def finite_differences(G: nx.DiGraph, point: Point, node: Node, step: float = STEP) -> np.ndarray:
    """Central differences of the loss in each entry of leaf ``node``, shaped like it.

    Extrapolated twice (Richardson) from central differences ``D`` at ``step``,
    ``step/2`` and ``step/4``, so the truncation error is O(step^6). The loss is computed in
    extended precision (``numpy.longdouble``) at the same float64 point, so the
    reference stays good on gradients that have all but vanished (1e-10).
    """
    base = np.asarray(point.leaves[node], dtype=np.longdouble)
    grad = np.zeros(base.shape)

    def central(idx, h):
        plus, minus = base.copy(), base.copy()
        plus[idx] += h
        minus[idx] -= h
        up = loss(G, point.with_leaf(node, plus), dtype=np.longdouble)
        down = loss(G, point.with_leaf(node, minus), dtype=np.longdouble)
        return (up - down) / (2 * h)

    for idx in np.ndindex(base.shape):
        h = np.longdouble(step) * max(1, abs(base[idx]))
        d1, d2, d4 = central(idx, h), central(idx, h / 2), central(idx, h / 4)
        once, twice = (4 * d2 - d1) / 3, (4 * d4 - d2) / 3
        grad[idx] = float((16 * twice - once) / 15)
    return grad


@dataclass(frozen=True)
class CheckRow:
    """The check of one printed gradient."""

    name: str
    shape: tuple
    formula: np.ndarray
    reference: np.ndarray
    error: float

    @property
    def passed(self) -> bool:
        return self.error < TOLERANCE


def check_pathsum(ps, point: Point) -> CheckRow:
    """Compare the printed path sum of ``ps`` with finite differences at ``point``."""
    G = ps.graph
    shape = np.shape(point.leaves[ps.wrt])
    row = evaluate_pathsum(ps, point)
    formula = np.asarray(row).reshape(shape, order="F")  # vec stacks columns
    reference = finite_differences(G, point, ps.wrt)
    return CheckRow(G.nodes[ps.wrt]["latex"], shape, formula, reference, relative_error(formula, reference))


def check_model(model, n: int, sizes: dict, seed: int = 0, wrt: list[str] | None = None,
                bindings: dict | None = None) -> list[CheckRow]:
    """Check the printed path sum of every parameter (or of ``wrt``) of ``model`` for length ``n``.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> rows = check_model(elman("tanh"), 3, {"m": 3, "d": 2, "K": 4})
    >>> [r.name for r in rows], all(r.passed for r in rows)
    (['W^{hx}', 'W^{hh}', 'b^{h}', 'h^{(0)}', 'V', '\\\\gamma'], True)
    """
    from symrnn.graph.unroll import find_node, unroll

    G = unroll(model, n)
    point = random_point(model, G, sizes, seed, bindings)
    names = wrt if wrt is not None else [p.latex for p in model.parameters]
    return [check_pathsum(pathsum(model, find_node(G, name), n, graph=G), point) for name in names]
