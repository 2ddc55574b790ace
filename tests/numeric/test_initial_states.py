"""Initial states defined before their loop: a captioning RNN started from image features
(h_0 = tanh(W_p f)) and an encoder-decoder whose decoder starts from the encoder's last state
(z_0 = h_n), against the same models written in torch."""

import numpy as np
import pytest

from symrnn.graph import Node, unroll
from symrnn.model.rnn_reader import parse_spec
from symrnn.numeric.forward import random_point
from symrnn.render.rnn_writer import spec_text
from tests.conftest import assert_every_form_agrees

torch = pytest.importorskip("torch", reason="PyTorch is the independent autodiff reference")

CAPTIONING = r"""model captioning "Captioning RNN started from image features"
sizes m, d, p, K
param W \in \mathbb{R}^{m \times m}
param U \in \mathbb{R}^{m \times d}
param W_p \in \mathbb{R}^{m \times p}
param V \in \mathbb{R}^{K \times m}
input f \in \mathbb{R}^{p}
input x_t \in \mathbb{R}^{d}
input y_t \in \mathbb{R}^{K} onehot

h_0 = \tanh(W_p f)
for t = 1..n:
    h_t = \tanh(W h_{t-1} + U x_t)
    L_t = -y_t^\top \text{LS}(V h_t)

L = \sum_t L_t
loss L
"""

ENCODER_DECODER = r"""model encdec "Encoder-decoder"
sizes m, d, K
param W \in \mathbb{R}^{m \times m}
param U \in \mathbb{R}^{m \times d}
param A \in \mathbb{R}^{m \times m}
param B \in \mathbb{R}^{m \times K}
param V \in \mathbb{R}^{K \times m}
param h_0 \in \mathbb{R}^{m}
input x_t \in \mathbb{R}^{d}
input y_t \in \mathbb{R}^{K} onehot

for t = 1..n:
    h_t = \tanh(W h_{t-1} + U x_t)

z_0 = h_n
for t = 1..n:
    z_t = \tanh(A z_{t-1} + B y_t)
    L_t = -y_t^\top \text{LS}(V z_t)

L = \sum_t L_t
loss L
"""


# the decoder also reads the encoder's last state at every step (Cho et al. 2014, eq. 2: c in every step)
CONTEXT_AT_EVERY_STEP = ENCODER_DECODER.replace(r"z_t = \tanh(A z_{t-1} + B y_t)",
                                                r"z_t = \tanh(A z_{t-1} + B y_t + W h_n)")


def _captioning_torch(p, f, xs, ys):
    h = torch.tanh(p["W_p"] @ f)
    loss = 0
    for x, y in zip(xs, ys, strict=True):
        h = torch.tanh(p["W"] @ h + p["U"] @ x)
        loss = loss - y.T @ torch.log_softmax(p["V"] @ h, dim=0)
    return loss


def _encdec_torch(p, xs, ys, context=False):
    h = p["h_0"]
    for x in xs:
        h = torch.tanh(p["W"] @ h + p["U"] @ x)
    z, loss = h, 0
    for y in ys:
        z = torch.tanh(p["A"] @ z + p["B"] @ y + (p["W"] @ h if context else 0))
        loss = loss - y.T @ torch.log_softmax(p["V"] @ z, dim=0)
    return loss


@pytest.mark.parametrize("text, sizes, reference", [
    (CAPTIONING, {"m": 3, "d": 2, "p": 4, "K": 3}, "captioning"),
    (ENCODER_DECODER, {"m": 3, "d": 2, "K": 3}, "encdec"),
    (CONTEXT_AT_EVERY_STEP, {"m": 3, "d": 2, "K": 3}, "context"),
])
def test_initial_states_defined_before_the_loop(text, sizes, reference):
    model = parse_spec(text, "model.rnn")
    assert spec_text(parse_spec(spec_text(model), "again.rnn")) == spec_text(model)
    n = 3
    G = unroll(model, n)
    point = random_point(model, G, sizes, seed=4)
    params = {p.name: point.leaves[Node(p.name)] for p in model.parameters}
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xs = [torch.tensor(point.leaves[Node("x", t)]) for t in range(1, n + 1)]
    ys = [torch.tensor(point.leaves[Node("y", t)]) for t in range(1, n + 1)]
    if reference == "captioning":
        loss = _captioning_torch(p, torch.tensor(point.leaves[Node("f")]), xs, ys)
    else:
        loss = _encdec_torch(p, xs, ys, context=reference == "context")
    expected = dict(zip(p, (g.numpy() for g in torch.autograd.grad(loss.sum(), list(p.values()))), strict=True))
    inputs = {v.name: (np.stack([point.leaves[Node(v.name, t)] for t in range(1, n + 1)]) if v.timed
                       else point.leaves[Node(v.name)]) for v in model.inputs}
    if reference == "context":  # the sum over the decoder's steps, in the line of the encoder's last state
        from symrnn.derive.adjoints import recursion
        from symrnn.render.latex import latex

        assert (r"\frac{\partial L}{\partial h_{n}} &= \frac{\partial L}{\partial z_{0}} + \sum_{t=1}^{n} "
                r"W^{\top} (\frac{\partial L}{\partial z_{t}} \odot (\mathbf{1} - z_{t} \odot z_{t}))") in \
            latex(recursion(model, "U", "denominator"))
    assert_every_form_agrees(model, G, point, inputs, expected, f"{reference}_module")
