"""Q1c: which Jacobians vary with x^{(1)}, decided symbolically, confirmed numerically."""

import numpy as np
import pytest

from symrnn.derive.sensitivity import sensitivity
from symrnn.graph import Node, unroll
from symrnn.numeric.evaluate import edge_value
from symrnn.numeric.forward import forward, random_point
from symrnn.render.latex import latex
from symrnn.zoo import elman


def test_q1c_answer_for_abstract_g():
    rows = sensitivity(elman(), "x^{(1)}", 3)
    constant = [(r.source_latex, r.target_latex) for r in rows if not r.varies]
    assert constant == [(r"\gamma", "l"), ("h^{(3)}", "l"), ("q", "o")]
    assert len(rows) == 20
    by_edge = {(r.source_latex, r.target_latex): r for r in rows}
    assert by_edge[("h^{(1)}", "h^{(2)}")].reason == "it contains a^{(2)}, which depends on x^{(1)}"
    assert by_edge[("h^{(3)}", "l")].reason == "it contains only V, none of which depends on x^{(1)}"
    assert by_edge[("q", "o")].reason == "it is a constant: it contains no model variable"
    assert latex(by_edge[("l", "q")].jacobian) == r"I - \mathbf{1}\,\operatorname{softmax}(l)^{\top}"


def test_identity_g_makes_the_recurrence_constant():
    rows = sensitivity(elman("identity"), "x^{(1)}", 3)
    varying = [(r.source_latex, r.target_latex) for r in rows if r.varies]
    assert varying == [("W^{hx}", "h^{(1)}"), ("W^{hh}", "h^{(2)}"), ("W^{hh}", "h^{(3)}"), ("V", "l"),
                       ("l", "q")]


@pytest.mark.parametrize("g", ["tanh", "identity", "sigmoid"])
@pytest.mark.parametrize("t", [1, 2])
def test_classification_matches_numbers(g, t):
    model, n = elman(g), 3
    G = unroll(model, n)
    point = random_point(model, G, {"m": 3, "d": 2, "K": 4}, seed=5)
    x = Node("x", t)
    moved = point.with_leaf(x, point.leaves[x] + np.random.default_rng(1).standard_normal(point.leaves[x].shape))
    before, after = forward(G, point), forward(G, moved)
    for r in sensitivity(model, f"x^{{({t})}}", n, graph=G):
        a = edge_value(G, r.source, r.target, before, point)
        b = edge_value(G, r.source, r.target, after, moved)
        changed = not np.allclose(a, b, rtol=1e-12, atol=1e-14)
        assert changed == r.varies, (r.source_latex, r.target_latex, r.reason)
