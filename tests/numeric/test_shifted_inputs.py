"""Inputs read one step back (teacher forcing): h_t reads y_{t-1}, and y_0 is a learned start
(a parameter) or a start symbol (an untimed input); against the same model written in torch."""

import numpy as np
import pytest

from symrnn.derive.adjoints import closed_form
from symrnn.errors import SpecError
from symrnn.graph import Node, unroll
from symrnn.model.rnn_reader import parse_spec
from symrnn.numeric.forward import random_point
from symrnn.render.latex import latex
from symrnn.render.rnn_writer import spec_text
from tests.conftest import assert_every_form_agrees

torch = pytest.importorskip("torch", reason="PyTorch is the independent autodiff reference")

TEACHER_FORCED = r"""model lm "A teacher-forced language model with a mean loss"
sizes m, K
param W \in \mathbb{R}^{m \times m}
param U \in \mathbb{R}^{m \times K}
param V \in \mathbb{R}^{K \times m}
param h_0 \in \mathbb{R}^{m}
param y_0 \in \mathbb{R}^{K}
input y_t \in \mathbb{R}^{K} onehot

for t = 1..n:
    h_t = \tanh(W h_{t-1} + U y_{t-1})
    L_t = -y_t^\top \text{LS}(V h_t)

L = \frac{1}{n} \sum_t L_t
loss L
"""

START_SYMBOL = TEACHER_FORCED.replace(r"param y_0 \in \mathbb{R}^{K}", r"input y_0 \in \mathbb{R}^{K} onehot")


@pytest.mark.parametrize("text", [TEACHER_FORCED, START_SYMBOL], ids=["learned start", "start symbol"])
def test_teacher_forcing_matches_torch(text):
    model = parse_spec(text, "lm.rnn")
    assert spec_text(parse_spec(spec_text(model), "again.rnn")) == spec_text(model)
    n = 4
    G = unroll(model, n)
    point = random_point(model, G, {"m": 3, "K": 4}, seed=3)
    params = {p.name: point.leaves[Node(p.name)] for p in model.parameters}
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    start = p["y_0"] if "y_0" in params else torch.tensor(point.leaves[Node("y_0")])
    ys = [start] + [torch.tensor(point.leaves[Node("y", t)]) for t in range(1, n + 1)]
    h, loss = p["h_0"], 0
    for t in range(1, n + 1):
        h = torch.tanh(p["W"] @ h + p["U"] @ ys[t - 1])
        loss = loss - ys[t].T @ torch.log_softmax(p["V"] @ h, dim=0)
    loss = loss / n
    expected = dict(zip(p, (g.numpy() for g in torch.autograd.grad(loss.sum(), list(p.values()))), strict=True))
    inputs = {"y": np.stack([point.leaves[Node("y", t)] for t in range(1, n + 1)])}
    if "y_0" not in params:
        inputs["y_0"] = point.leaves[Node("y_0")]
    assert_every_form_agrees(model, G, point, inputs, expected, "lm_module")


def test_the_learned_start_gets_the_first_steps_term():
    model = parse_spec(TEACHER_FORCED, "lm.rnn")
    assert latex(closed_form(model, Node("y_0"), 3, None, "denominator")).splitlines()[1] == (
        r"  \frac{\partial L}{\partial y_{0}} &= U^{\top} (\frac{\partial L}{\partial h_{1}} \odot "
        r"(\mathbf{1} - h_{1} \odot h_{1}))")


@pytest.mark.parametrize("edit, message", [
    ((r"param y_0 \in \mathbb{R}^{K}", ""), "y_{t-1} reads y_{0} at the first step, which is not declared; declare "
                                            "it: param y_{0} (a learned start), input y_{0}"),
    ((r"U y_{t-1}", r"U y_{t-2}"), "inputs are read at time t or one step before in their own order (y_{t-1}, teacher forcing"),
])
def test_shifted_reads_that_cannot_be_computed_say_what_to_declare(edit, message):
    with pytest.raises(SpecError) as info:
        parse_spec(TEACHER_FORCED.replace(*edit), "lm.rnn")
    assert message in str(info.value), str(info.value)
