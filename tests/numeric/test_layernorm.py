"""Division, square roots, sums of components and numbers added to vectors: a layer-normalised RNN
(Ba, Kiros and Hinton, "Layer Normalization", 2016, Sec. 3.1) against torch's own layer_norm."""

import warnings

import numpy as np
import pytest

from symrnn.codegen import codegen
from symrnn.derive.adjoints import closed_form
from symrnn.graph import Node, unroll
from symrnn.model.rnn_reader import parse_spec
from symrnn.numeric.engine import CompiledGradient
from symrnn.numeric.evaluate import evaluate_closed_form
from symrnn.numeric.forward import random_point
from symrnn.numeric.gradcheck import relative_error
from symrnn.render.rnn_writer import spec_text
from tests.conftest import load_generated

torch = pytest.importorskip("torch", reason="PyTorch is the independent autodiff reference")

LAYERNORM = r"""model layernorm "Layer-normalised RNN"
sizes m, d
param W_{hh} \in \mathbb{R}^{m \times m}
param W_{xh} \in \mathbb{R}^{m \times d}
param g \in \mathbb{R}^{m}
param b \in \mathbb{R}^{m}
param h_0 \in \mathbb{R}^{m}
param v \in \mathbb{R}^{m}
input x_t \in \mathbb{R}^{d}

for t = 1..n:
    let a_t = W_{hh} h_{t-1} + W_{xh} x_t
    let \mu_t = \operatorname{mean}(a_t)
    let \sigma_t = \sqrt{\frac{1}{m} \operatorname{sum}((a_t - \mu_t) \odot (a_t - \mu_t)) + 0.00001}
    h_t = \tanh(g \odot \frac{a_t - \mu_t}{\sigma_t} + b)

L = v^\top h_n
loss L
"""

NAMES = ("W_hh", "W_xh", "g", "b", "h_0", "v")


def _torch_reference(leaf, xs):
    """h_t = tanh(LN(W_hh h_{t-1} + W_xh x_t; g, b)) with torch.nn.functional.layer_norm, L = v^T h_n."""
    p = {k: torch.tensor(leaf[k], dtype=torch.float64, requires_grad=True) for k in NAMES}
    h = p["h_0"].reshape(-1)
    for x in xs:
        a = p["W_hh"] @ h + p["W_xh"] @ torch.tensor(x, dtype=torch.float64).reshape(-1)
        h = torch.tanh(torch.nn.functional.layer_norm(a, a.shape, p["g"].reshape(-1), p["b"].reshape(-1), eps=1e-5))
    loss = p["v"].reshape(-1) @ h
    return dict(zip(NAMES, (g.numpy() for g in torch.autograd.grad(loss, [p[k] for k in NAMES])), strict=True))


def test_layernorm_prints_back_as_written():
    text = spec_text(parse_spec(LAYERNORM, "ln.rnn"))
    assert r"let \mu_{t} = \frac{1}{m} \operatorname{sum}(a_{t})" in text
    assert (r"let \sigma_{t} = \sqrt{\frac{1}{m} \operatorname{sum}((a_{t} - \mu_{t}) \odot (a_{t} - \mu_{t})) "
            r"+ \frac{1}{100000}}") in text
    assert r"h_{t} = \tanh(g \odot \frac{a_{t} - \mu_{t}}{\sigma_{t}} + b)" in text
    assert spec_text(parse_spec(text, "again.rnn")) == text


@pytest.mark.parametrize("n", [1, 3])
def test_layernorm_rnn_matches_torch_layer_norm(n):
    model = parse_spec(LAYERNORM, "ln.rnn")
    G = unroll(model, n)
    point = random_point(model, G, {"m": 4, "d": 3}, seed=n)
    leaf = {k: point.leaves[Node(k)] for k in NAMES}
    xs = [point.leaves[Node("x", t)] for t in range(1, n + 1)]
    reference = _torch_reference(leaf, xs)
    engine = CompiledGradient(model)(leaf, {"x": np.stack(xs)}, {}, n).gradients
    with warnings.catch_warnings():  # 1/sigma over the padding of the timelines: no division by zero there
        warnings.simplefilter("error")
        _, generated = load_generated(codegen(model), "ln_module").gradients(leaf, {"x": np.stack(xs)}, {}, n)
    for k, ref in reference.items():
        cf = closed_form(model, Node(k), n, None, "denominator", graph=G)
        closed = np.asarray(evaluate_closed_form(cf, point)).reshape(leaf[k].shape)
        assert relative_error(closed, ref.reshape(leaf[k].shape)) < 1e-10, (k, "closed form")
        assert relative_error(engine[k], ref.reshape(leaf[k].shape)) < 1e-10, (k, "engine")
        assert relative_error(generated[k], ref.reshape(leaf[k].shape)) < 1e-10, (k, "generated module")


FUNCTIONS_AND_DIVISION = r"""model misc "Exponentials, logarithms, division and offsets"
sizes m
param W \in \mathbb{R}^{m \times m}
param h_0 \in \mathbb{R}^{m}
param s \in \mathbb{R}^{1}
input x_t \in \mathbb{R}^{m}

for t = 1..n:
    h_t = \tanh(\frac{W h_{t-1}}{\exp(s) + 1} + \log(x_t \odot x_t + 1) - 0.5)

L = \operatorname{sum}(\frac{\exp(h_n)}{2 + h_n \odot h_n})
loss L
"""


def test_exp_log_division_and_offsets_match_torch():
    model = parse_spec(FUNCTIONS_AND_DIVISION, "misc.rnn")
    text = spec_text(model)
    assert r"h_{t} = \tanh(\frac{W h_{t-1}}{\exp(s) + 1} + \log(x_{t} \odot x_{t} + 1) - \frac{1}{2})" in text
    assert r"L = \operatorname{sum}(\frac{\exp(h_{n})}{h_{n} \odot h_{n} + 2})" in text
    assert spec_text(parse_spec(text, "again.rnn")) == text
    n = 3
    G = unroll(model, n)
    point = random_point(model, G, {"m": 3}, seed=2)
    leaf = {k: point.leaves[Node(k)] for k in ("W", "h_0", "s")}
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in leaf.items()}
    h = p["h_0"]
    for t in range(1, n + 1):
        x = torch.tensor(point.leaves[Node("x", t)])
        h = torch.tanh(p["W"] @ h / (torch.exp(p["s"]) + 1) + torch.log(x * x + 1) - 0.5)
    loss = (torch.exp(h) / (2 + h * h)).sum()
    grads = dict(zip(p, torch.autograd.grad(loss, list(p.values())), strict=True))
    for k, ref in grads.items():
        cf = closed_form(model, Node(k), n, None, "denominator", graph=G)
        assert relative_error(np.asarray(evaluate_closed_form(cf, point)).reshape(ref.shape), ref.numpy()) < 1e-10, k
