"""Integer labels per step, as students write them: label y_t in {1..K}, L_t = -q_{t, y_t};
against torch's cross_entropy with the same integer targets."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from symrnn.cli import main
from symrnn.codegen import codegen
from symrnn.derive.adjoints import closed_form, recursion
from symrnn.errors import NumericError, SpecError
from symrnn.graph import Node, unroll
from symrnn.model import LS, ModelBuilder, tanh
from symrnn.model.rnn_reader import parse_spec
from symrnn.numeric.engine import CompiledGradient
from symrnn.numeric.evaluate import evaluate_closed_form
from symrnn.numeric.forward import random_point
from symrnn.numeric.gradcheck import relative_error
from symrnn.render.latex import latex
from symrnn.render.rnn_writer import spec_text
from tests.conftest import load_generated

torch = pytest.importorskip("torch", reason="PyTorch is the independent autodiff reference")

TAGGER = r"""model steplabels "Per-step classification with integer labels"
sizes m, d, K
param W \in \mathbb{R}^{m \times m}
param U \in \mathbb{R}^{m \times d}
param V \in \mathbb{R}^{K \times m}
param h_0 \in \mathbb{R}^{m}
input x_t \in \mathbb{R}^{d}
label y_t \in \{1 \dots K\}

for t = 1..n:
    h_t = \tanh(W h_{t-1} + U x_t)
    q_t = \text{LS}(V h_t)
    L_t = -q_{t, y_t}

L = \frac{1}{n} \sum_t L_t
loss L
"""


def _torch(params, x, y):
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    n, _, B = x.shape
    h, loss = p["h_0"].expand(-1, B), 0
    for t in range(n):
        h = torch.tanh(p["W"] @ h + p["U"] @ torch.tensor(x[t]))
        loss = loss + torch.nn.functional.cross_entropy((p["V"] @ h).T, torch.tensor(y[t] - 1), reduction="sum")
    return dict(zip(p, (g.numpy() for g in torch.autograd.grad(loss / n, list(p.values()))), strict=True))


def test_labels_per_step_print_as_written_and_derive_as_a_textbook():
    model = parse_spec(TAGGER, "tagger.rnn")
    text = spec_text(model)
    assert r"label y_{t} \in \{1 \dots K\}" in text and r"L_{t} = -q_{t, y_{t}}" in text
    assert spec_text(parse_spec(text, "again.rnn")) == text
    printed = latex(recursion(model, "V", "denominator"))
    # the mean's 1/n is written where the per-step loss's total derivative was
    assert r"\frac{\partial L}{\partial q_{t}} &= -\frac{1}{n} e_{y_{t}}, \quad t = n, \dots, 1" in printed


def test_the_python_api_declares_them_too():
    mb = ModelBuilder("steplabels", "Per-step classification with integer labels")
    m, d, K = mb.sizes("m", "d", "K")
    W, U, V = mb.parameter("W", (m, m)), mb.parameter("U", (m, d)), mb.parameter("V", (K, m))
    h0 = mb.parameter("h_0", m, latex="h_{0}")
    x = mb.input("x", d, latex="x_{{t}}")
    y = mb.label("y", K, latex="y_{{t}}", timed=True)
    h = mb.state("h", m, init=h0, latex="h_{{t}}")
    mb.recur(h, tanh(W @ h[mb.t - 1] + U @ x[mb.t]))
    q = mb.define("q", LS(V @ h[mb.t]), latex="q_{{t}}")
    L_t = mb.define("L", -q[y[mb.t]], latex="L_{{t}}")
    model = mb.build(loss=mb.define("L_all", mb.sum(L_t) / mb.n, latex="L"))
    assert spec_text(model) == spec_text(parse_spec(TAGGER, "tagger.rnn"))


def test_labels_per_step_match_torch_cross_entropy_everywhere():
    model = parse_spec(TAGGER, "tagger.rnn")
    n, B, m, d, K = 4, 3, 3, 2, 5
    rng = np.random.default_rng(0)
    params = {"W": rng.normal(size=(m, m)), "U": rng.normal(size=(m, d)), "V": rng.normal(size=(K, m)),
              "h_0": rng.normal(size=(m, 1))}
    x, y = rng.normal(size=(n, d, B)), rng.integers(1, K + 1, size=(n, B))
    reference = _torch(params, x, y)
    engine = CompiledGradient(model)(params, {"x": x}, {"y": y}, n).gradients
    modules = {b: load_generated(codegen(model, b), f"steplabels_{b}") for b in ("numpy", "jax", "torch")}
    for name, ref in reference.items():
        assert relative_error(engine[name], ref) < 1e-10, (name, "engine")
        for backend, module in modules.items():
            grads = module.gradients(params, {"x": x}, {"y": y}, n)[1]
            assert relative_error(np.asarray(grads[name]), ref) < 1e-10, (name, backend)
    # the printed closed form, on one sequence
    G = unroll(model, n)
    point = random_point(model, G, {"m": m, "d": d, "K": K}, seed=1)
    one = {k: point.leaves[Node(k)] for k in params}
    xs = np.stack([point.leaves[Node("x", t)] for t in range(1, n + 1)])
    ys = np.array([[point.labels["y"][t]] for t in range(1, n + 1)])
    for name, ref in _torch(one, xs, ys).items():
        cf = closed_form(model, Node(name), n, None, "denominator", graph=G)
        assert relative_error(np.asarray(evaluate_closed_form(cf, point)).reshape(ref.shape), ref) < 1e-10, name


def test_eval_reads_one_label_per_step(tmp_path):
    spec, values = tmp_path / "tagger.rnn", tmp_path / "values.json"
    spec.write_text(TAGGER)
    values.write_text(json.dumps({"n": 2, "values": {
        "W": [[0.5, 0], [0, 0.5]], "U": [[1], [0]], "V": [[1, 0], [0, 1], [1, 1]], "h_0": [0, 0],
        "x": [[1], [2]], "y": [3, 1]}}))
    result = CliRunner().invoke(main, ["eval", str(spec), "--values", str(values)])
    assert result.exit_code == 0, result.output
    # L_1 = -q_{1, 3} and L_2 = -q_{2, 1}: q_t = LS(V h_t), h_1 = (tanh 1, 0), h_2 = (tanh(0.5 tanh 1 + 2), 0)
    h1 = np.tanh(1.0)
    h2 = np.tanh(0.5 * h1 + 2.0)
    l1 = -(h1 - np.log(np.exp(h1) + 1 + np.exp(h1)))
    l2 = -(h2 - np.log(np.exp(h2) + 1 + np.exp(h2)))
    assert f"  L = {float(f'{(l1 + l2) / 2:.10g}')}" in result.output, result.output


@pytest.mark.parametrize("edit, message", [
    ((r"label y_t \in \{1 \dots K\}", r"input y_t \in \mathbb{R}^{K}"), "y_{t} is not a label"),
])
def test_picking_with_something_else_says_what_a_label_is(edit, message):
    with pytest.raises(SpecError) as info:
        parse_spec(TAGGER.replace(*edit), "tagger.rnn")
    assert message in str(info.value), str(info.value)


def test_the_labels_must_have_one_row_per_step():
    model = parse_spec(TAGGER, "tagger.rnn")
    params = {"W": np.eye(2), "U": np.ones((2, 1)), "V": np.ones((3, 2)), "h_0": np.zeros((2, 1))}
    with pytest.raises(NumericError, match=r"one row of B labels per step \(3 steps\), got shape \(2, 1\)"):
        CompiledGradient(model)(params, {"x": np.ones((3, 1, 1))}, {"y": np.array([[1], [2]])}, 3)


def test_labels_per_step_out_of_range_are_named_as_written():
    model = parse_spec(TAGGER, "tagger.rnn")
    params = {"W": np.eye(2), "U": np.ones((2, 1)), "V": np.ones((3, 2)), "h_0": np.zeros((2, 1))}
    with pytest.raises(NumericError, match=r"the label y_\{t\} must be in 1\.\.3 \(K = 3\), got \[2, 3, 4\]"):
        CompiledGradient(model)(params, {"x": np.ones((3, 1, 1))}, {"y": np.array([[2], [3], [4]])}, 3)
