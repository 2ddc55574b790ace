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


# -- states started from zero, as handouts write it: h_0 = 0 ------------------------------------------
ZERO_ELMAN = r"""model zero_elman "Elman RNN from a zero state"
sizes m, d
param W \in \mathbb{R}^{m \times m}
param U \in \mathbb{R}^{m \times d}
param V \in \mathbb{R}^{d \times m}
input x_t \in \mathbb{R}^{d}
input y_t \in \mathbb{R}^{d}
h_0 = 0
for t = 1..n:
    h_t = \tanh(W h_{t-1} + U x_t)
    L_t = \frac{1}{2} \| V h_t - y_t \|^2
L = \sum_t L_t
loss L
"""

ZERO_LSTM = r"""model zero_lstm "LSTM from zero states"
sizes m, d, K
param W_f \in \mathbb{R}^{m \times d}
param U_f \in \mathbb{R}^{m \times m}
param W_i \in \mathbb{R}^{m \times d}
param U_i \in \mathbb{R}^{m \times m}
param W_c \in \mathbb{R}^{m \times d}
param U_c \in \mathbb{R}^{m \times m}
param W_o \in \mathbb{R}^{m \times d}
param U_o \in \mathbb{R}^{m \times m}
param V \in \mathbb{R}^{K \times m}
input x_t \in \mathbb{R}^{d}
input y_t \in \mathbb{R}^{K} onehot
h_0 = 0
c_0 = 0
for t = 1..n:
    f_t = \sigma(W_f x_t + U_f h_{t-1})
    i_t = \sigma(W_i x_t + U_i h_{t-1})
    o_t = \sigma(W_o x_t + U_o h_{t-1})
    \tilde{c}_t = \tanh(W_c x_t + U_c h_{t-1})
    c_t = f_t \odot c_{t-1} + i_t \odot \tilde{c}_t
    h_t = o_t \odot \tanh(c_t)
    L_t = -y_t^\top \text{LS}(V h_t)
L = \sum_t L_t
loss L
"""

# IndRNN's recurrence multiplies the state componentwise: its size is read from u (u \odot h_{t-1})
ZERO_INDRNN = r"""model zero_indrnn "IndRNN from a zero state, its size given"
sizes m, d
param u \in \mathbb{R}^{m}
param U \in \mathbb{R}^{m \times d}
param v \in \mathbb{R}^{m}
input x_t \in \mathbb{R}^{d}
h_0 = 0 \in \mathbb{R}^{m}
for t = 1..n:
    h_t = \text{relu}(u \odot h_{t-1} + U x_t)
L = v^\top h_n
loss L
"""


def _zero_torch(kind, p, xs, ys, m):
    h = torch.zeros(m, 1, dtype=torch.float64)
    c, loss = torch.zeros(m, 1, dtype=torch.float64), 0
    for x, y in zip(xs, ys, strict=True):
        if kind == "elman":
            h = torch.tanh(p["W"] @ h + p["U"] @ x)
            loss = loss + 0.5 * ((p["V"] @ h - y) ** 2).sum()
        elif kind == "lstm":
            gate = {k: p[f"W_{k}"] @ x + p[f"U_{k}"] @ h for k in "fioc"}
            c = torch.sigmoid(gate["f"]) * c + torch.sigmoid(gate["i"]) * torch.tanh(gate["c"])
            h = torch.sigmoid(gate["o"]) * torch.tanh(c)
            loss = loss - y.T @ torch.log_softmax(p["V"] @ h, dim=0)
        else:
            h = torch.relu(p["u"] * h + p["U"] @ x)
            loss = p["v"].T @ h
    return loss


@pytest.mark.parametrize("text, kind, sizes", [
    (ZERO_ELMAN, "elman", {"m": 3, "d": 2}),
    (ZERO_LSTM, "lstm", {"m": 3, "d": 2, "K": 3}),
    (ZERO_INDRNN, "indrnn", {"m": 4, "d": 2}),
])
def test_states_started_from_zero(text, kind, sizes):
    model = parse_spec(text, "model.rnn")
    shown = spec_text(model)
    assert r"h_{0} = 0 \in \mathbb{R}^{m}" in shown
    assert spec_text(parse_spec(shown, "again.rnn")) == shown
    assert {p.name for p in model.parameters}.isdisjoint({"h_0", "c_0"})  # a zero start is not learned
    n = 3
    G = unroll(model, n)
    point = random_point(model, G, sizes, seed=5)
    assert not point.leaves.get(Node("h_0"), np.zeros(1)).any()
    params = {p.name: point.leaves[Node(p.name)] for p in model.parameters}
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xs = [torch.tensor(point.leaves[Node("x", t)]) for t in range(1, n + 1)]
    ys = [torch.tensor(point.leaves[Node("y", t)]) if kind != "indrnn" else None for t in range(1, n + 1)]
    loss = _zero_torch(kind, p, xs, ys, sizes["m"])
    expected = dict(zip(p, (g.numpy() for g in torch.autograd.grad(loss.sum(), list(p.values()))), strict=True))
    inputs = {v.name: np.stack([point.leaves[Node(v.name, t)] for t in range(1, n + 1)]) for v in model.inputs}
    assert_every_form_agrees(model, G, point, inputs, expected, f"zero_{kind}_module")


def test_zero_start_in_the_python_api():
    from symrnn.model import ModelBuilder, inner, tanh
    from symrnn.numeric.engine import CompiledGradient

    mb = ModelBuilder("zero_api")
    m, d = mb.sizes("m", "d")
    W, U, v = mb.parameter("W", (m, m)), mb.parameter("U", (m, d)), mb.parameter("v", m)
    x = mb.input("x", d)
    h = mb.state("h", m, init=mb.define("h_0", mb.zeros(m), latex="h_{0}"), latex="h_{t}")
    mb.recur(h, tanh(W @ h[mb.t - 1] + U @ x[mb.t]))
    model = mb.build(loss=mb.define("L", inner(v, h[mb.n])))
    rng = np.random.default_rng(0)
    params = {"W": rng.normal(size=(2, 2)), "U": rng.normal(size=(2, 3)), "v": rng.normal(size=(2, 1))}
    xs = rng.normal(size=(2, 3, 1))
    p = {k: torch.tensor(a, requires_grad=True) for k, a in params.items()}
    hh = torch.zeros(2, 1, dtype=torch.float64)
    for t in range(2):
        hh = torch.tanh(p["W"] @ hh + p["U"] @ torch.tensor(xs[t]))
    expected = torch.autograd.grad((p["v"].T @ hh).sum(), list(p.values()))
    got = CompiledGradient(model)(params, {"x": xs}, {}, 2).gradients
    for name, ref in zip(p, expected, strict=True):
        np.testing.assert_allclose(got[name], ref.numpy(), rtol=1e-12, atol=1e-14)
    with pytest.raises(Exception, match="zeros\\(\\) makes a zero vector"):
        mb.zeros((m, m))


@pytest.mark.parametrize("zero", ["0", "0.0", "-0", r"\mathbf{0}", r"\vec{0}", r"\frac{0}{1}"])
def test_a_zero_start_is_written_as_handouts_write_it(zero):
    model = parse_spec(ZERO_ELMAN.replace("h_0 = 0", f"h_0 = {zero}"), "model.rnn")
    assert r"h_{0} = 0 \in \mathbb{R}^{m}" in spec_text(model)


def test_a_zero_start_sized_past_an_inner_product_and_for_an_input_read_one_step_back():
    from symrnn.numeric.gradcheck import check_model

    inner = ZERO_INDRNN.replace(r"h_t = \text{relu}(u \odot h_{t-1} + U x_t)", r"h_t = u^\top h_{t-1} + U x_t")
    inner = inner.replace(r"h_0 = 0 \in \mathbb{R}^{m}", "h_0 = 0")
    assert r"h_{0} = 0 \in \mathbb{R}^{m}" in spec_text(parse_spec(inner, "inner.rnn"))  # m, not the 1 of u^T h
    forcing = r"""model forced "Teacher forcing from a zero start symbol"
sizes m, K
param W \in \mathbb{R}^{m \times m}
param B \in \mathbb{R}^{m \times K}
param V \in \mathbb{R}^{K \times m}
param h_0 \in \mathbb{R}^{m}
input y_t \in \mathbb{R}^{K} onehot
y_0 = 0
for t = 1..n:
    h_t = \tanh(W h_{t-1} + B y_{t-1})
    L_t = -y_t^\top \text{LS}(V h_t)
L = \sum_t L_t
loss L
"""
    model = parse_spec(forcing, "forced.rnn")
    assert r"y_{0} = 0 \in \mathbb{R}^{K}" in spec_text(model)
    rows = check_model(model, 3, {"m": 3, "K": 4}, seed=2)
    assert rows and all(r.passed for r in rows), [(r.label, r.result) for r in rows if not r.passed]


def test_zero_starts_in_the_api_and_their_refusals(tmp_path):
    from click.testing import CliRunner

    from symrnn.cli import main
    from symrnn.errors import SpecError
    from symrnn.model import ModelBuilder, inner, tanh

    mb = ModelBuilder("zero_init")
    m, d = mb.sizes("m", "d")
    W, U, v = mb.parameter("W", (m, m)), mb.parameter("U", (m, d)), mb.parameter("v", m)
    h = mb.state("h", m, init=mb.zeros(m))  # the start is defined and named h^{(0)} for it
    mb.recur(h, tanh(W @ h[mb.t - 1] + U @ mb.input("x", d)[mb.t]))
    model = mb.build(loss=mb.define("L", inner(v, h[mb.n])))
    assert r"h^{(0)} = 0 \in \mathbb{R}^{m}" in spec_text(model)
    with pytest.raises(SpecError, match=r"mb.zeros\(\) is a whole definition"):
        mb.define("a", mb.zeros(m) * 2)
    with pytest.raises(SpecError, match="a parameter, a variable defined before its loop, or mb.zeros"):
        mb.state("g", m, init=W @ mb.zeros(m))
    spec = tmp_path / "zero.rnn"
    spec.write_text(ZERO_ELMAN)
    for command in (["paths"], ["derive", "--form", "closed"], ["check"]):
        result = CliRunner().invoke(main, [command[0], str(spec), "--wrt", "h_0", "--n", "2", *command[1:]])
        assert result.exit_code != 0 and "h_{0} = 0 is a fixed zero start, not learned" in result.output, command
    result = CliRunner().invoke(main, ["check", str(spec), "--n", "4", "--truncate", "1"])
    assert result.exit_code == 0 and "all 6 printed formulas pass" in result.output, result.output
