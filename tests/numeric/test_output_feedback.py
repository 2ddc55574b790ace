"""Output feedback (Jordan 1986): h_t reads p_{t-1}, defined after it in the loop body. Both
front ends declare it, show prints what parses back, and the gradients agree with torch."""

import numpy as np
import pytest

from symrnn.graph import Node, unroll
from symrnn.model import ModelBuilder, inner, log, softmax, tanh
from symrnn.model.rnn_reader import parse_spec
from symrnn.numeric.forward import random_point
from symrnn.render.rnn_writer import spec_text
from tests.conftest import assert_every_form_agrees

torch = pytest.importorskip("torch", reason="PyTorch is the independent autodiff reference")

JORDAN = r"""model jordan "Output feedback (Jordan network)"
sizes m, d, K
param W \in \mathbb{R}^{m \times m}
param U \in \mathbb{R}^{m \times d}
param R \in \mathbb{R}^{m \times K}
param V \in \mathbb{R}^{K \times m}
param h_0 \in \mathbb{R}^{m}
param p_0 \in \mathbb{R}^{K}
input x_t \in \mathbb{R}^{d}
input y_t \in \mathbb{R}^{K} onehot

for t = 1..n:
    h_t = \tanh(W h_{t-1} + U x_t + R p_{t-1})
    p_t = \operatorname{softmax}(V h_t)
    L_t = -y_t^\top \log(p_t)

L = \sum_t L_t
loss L
"""


def _api_model():
    mb = ModelBuilder("jordan", "Output feedback (Jordan network)")
    m, d, K = mb.sizes("m", "d", "K")
    W, U, R, V = (mb.parameter(k, s) for k, s in (("W", (m, m)), ("U", (m, d)), ("R", (m, K)), ("V", (K, m))))
    h0, p0 = mb.parameter("h_0", m, latex="h_{0}"), mb.parameter("p_0", K, latex="p_{0}")
    x, y = mb.input("x", d, latex="x_{{t}}"), mb.input("y", K, latex="y_{{t}}", onehot=True)
    h = mb.state("h", m, init=h0, latex="h_{{t}}")
    p = mb.state("p", K, init=p0, latex="p_{{t}}")
    mb.recur(h, tanh(W @ h[mb.t - 1] + U @ x[mb.t] + R @ p[mb.t - 1]))
    mb.recur(p, softmax(V @ h[mb.t]))
    L_t = mb.define("L", -inner(y[mb.t], log(p[mb.t])), latex="L_{{t}}")
    return mb.build(loss=mb.define("L_all", mb.sum(L_t), latex="L"))


def test_both_front_ends_print_the_same_text_that_parses_back():
    text = spec_text(parse_spec(JORDAN, "jordan.rnn"))
    assert spec_text(_api_model()) == text
    assert spec_text(parse_spec(text, "again.rnn")) == text
    assert r"h_{t} = \tanh(W h_{t-1} + U x_{t} + R p_{t-1})" in text


def test_output_feedback_matches_torch():
    model = parse_spec(JORDAN, "jordan.rnn")
    n = 3
    G = unroll(model, n)
    point = random_point(model, G, {"m": 3, "d": 2, "K": 4}, seed=5)
    params = {p.name: point.leaves[Node(p.name)] for p in model.parameters}
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    h, out, loss = p["h_0"], p["p_0"], 0
    for t in range(1, n + 1):
        h = torch.tanh(p["W"] @ h + p["U"] @ torch.tensor(point.leaves[Node("x", t)]) + p["R"] @ out)
        out = torch.softmax(p["V"] @ h, dim=0)
        loss = loss - torch.tensor(point.leaves[Node("y", t)]).T @ torch.log(out)
    expected = dict(zip(p, (g.numpy() for g in torch.autograd.grad(loss.sum(), list(p.values()))), strict=True))
    inputs = {k: np.stack([point.leaves[Node(k, t)] for t in range(1, n + 1)]) for k in ("x", "y")}
    assert_every_form_agrees(model, G, point, inputs, expected, "jordan_module")
