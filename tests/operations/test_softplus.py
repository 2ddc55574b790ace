"""softplus, added as one record in operations/functions.py, works everywhere a function does."""

import numpy as np
import torch

from symrnn import closed_form, latex, parse_spec
from symrnn.codegen.module import codegen
from symrnn.graph import Node, unroll
from symrnn.numeric import check_model, random_point, relative_error
from symrnn.numeric.engine import CompiledGradient
from symrnn.operations.functions import FUNCTIONS
from symrnn.render.rnn_writer import spec_text
from tests.numeric.test_codegen import _load
from tests.numeric.test_torch import TORCH_FUNCTIONS, torch_gradients

SPEC = r"""model softplus_rnn "softplus RNN"
sizes m, d, K
input x^{(t)} \in \mathbb{R}^{d}
label y \in \{1 \dots K\}
param W \in \mathbb{R}^{m \times d}
param U \in \mathbb{R}^{m \times m}
param h^{(0)} \in \mathbb{R}^{m}
param V \in \mathbb{R}^{K \times m}
for t = 1..n:
    let a^{(t)} = W x^{(t)} + U h^{(t-1)}
    h^{(t)} = \operatorname{softplus}(a^{(t)})
l = V h^{(n)}
q = \text{LS}(l)
o = -q_y
loss o
"""


def test_value_is_stable_and_exact():
    value = FUNCTIONS["softplus"].value
    a = np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])
    expected = [0.0, np.log1p(np.exp(-1.0)), np.log(2.0), 1.0 + np.log1p(np.exp(-1.0)), 1000.0]
    assert np.allclose(value(np, a), expected, rtol=1e-15, atol=0)


def test_derivation_prints_sigma_and_the_spec_round_trips():
    model = parse_spec(SPEC)
    cf = closed_form(model, "W", 3, layout="denominator")
    assert latex(cf.equation.terms[0].expr) == (
        r"(\frac{\partial o}{\partial h^{(t)}} \odot \sigma(a^{(t)})) x^{(t)\top}")
    assert r"h^{(t)} = softplus(a^{(t)})" in spec_text(model)
    assert spec_text(parse_spec(spec_text(model))) == spec_text(model)


def test_gradients_match_finite_differences_torch_and_the_generated_module(tmp_path):
    model = parse_spec(SPEC)
    sizes = {"m": 3, "d": 2, "K": 4}
    rows = check_model(model, 4, sizes, seed=1)
    assert [r.name for r in rows] == ["W", "U", "h^{(0)}", "V"]
    assert all(r.error < 1e-6 for r in rows), [(r.name, r.error) for r in rows]
    G = unroll(model, 4)
    point = random_point(model, G, sizes, seed=2)
    TORCH_FUNCTIONS["softplus"] = torch.nn.functional.softplus
    _, reference = torch_gradients(G, point, {})
    engine = CompiledGradient(model)
    params = {p.name: point.leaves[Node(p.name)] for p in model.parameters}
    inputs = {"x": np.stack([point.leaves[Node("x", t)] for t in range(1, 5)])}
    labels = {"y": np.array([point.labels["y"]])}
    ours = engine(params, inputs, labels, 4).gradients
    module = _load(codegen(model), tmp_path / "softplus_gradients.py")
    _, generated = module.gradients(params, inputs, labels, 4)
    assert "def softplus(xp, a):" in codegen(model)
    for p in model.parameters:
        assert relative_error(ours[p.name], reference[Node(p.name)]) < 1e-10, p.name
        assert relative_error(generated[p.name], ours[p.name]) < 1e-12, p.name
