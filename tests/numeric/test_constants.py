"""Constants in numbers: a mean squared error against torch autograd, and exact rationals."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from symrnn.cli import main
from symrnn.codegen import codegen
from symrnn.derive.adjoints import closed_form
from symrnn.graph import Node, unroll
from symrnn.model.rnn_reader import parse_spec
from symrnn.numeric.engine import CompiledGradient
from symrnn.numeric.evaluate import evaluate_closed_form
from symrnn.numeric.forward import random_point
from symrnn.numeric.gradcheck import relative_error
from tests.conftest import load_generated
from tests.model.test_constants import MEAN_SQUARED

torch = pytest.importorskip("torch", reason="PyTorch is the independent autodiff reference")


def _torch_reference(W, U, h0, xs, ys):
    """The model as its source writes it, in torch: h_t = tanh(W h_{t-1} + 0.5 U x_t), L = mean of |h_t - y_t|^2 / 2."""
    W, U, h = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (W, U, h0))
    leaves, total = (W, U, h), 0
    for x, y in zip(xs, ys, strict=True):
        h = torch.tanh(W @ h + 0.5 * U @ torch.tensor(x))
        total = total + 0.5 * ((h - torch.tensor(y)) ** 2).sum()
    loss = total / len(xs)
    return [g.numpy() for g in torch.autograd.grad(loss, leaves)]


@pytest.mark.parametrize("n", [1, 4])
def test_a_mean_squared_error_matches_torch_in_every_form(n):
    model = parse_spec(MEAN_SQUARED, "mse.rnn")
    G = unroll(model, n)
    point = random_point(model, G, {"m": 3}, seed=n)
    leaf = {name: point.leaves[Node(name)] for name in ("W", "U", "h_0")}
    xs = [point.leaves[Node("x", t)] for t in range(1, n + 1)]
    ys = [point.leaves[Node("y", t)] for t in range(1, n + 1)]
    reference = dict(zip(("W", "U", "h_0"), _torch_reference(leaf["W"], leaf["U"], leaf["h_0"], xs, ys), strict=True))
    for name, ref in reference.items():
        cf = closed_form(model, Node(name), n, None, "denominator", graph=G)
        assert relative_error(np.asarray(evaluate_closed_form(cf, point)).reshape(ref.shape), ref) < 1e-12, name
    # the compiled gradient and the generated module, on a batch of one
    params = dict(leaf)
    inputs = {"x": np.stack(xs), "y": np.stack(ys)}
    engine = CompiledGradient(model)(params, inputs, {}, n).gradients
    module = load_generated(codegen(model), "mse_module")
    _, generated = module.gradients(params, inputs, {}, n)
    for name, ref in reference.items():
        assert relative_error(engine[name], ref) < 1e-12, name
        assert relative_error(generated[name], ref) < 1e-12, name


def test_the_factor_shows_in_the_derivation():
    model = parse_spec(MEAN_SQUARED, "mse.rnn")
    from symrnn.derive.adjoints import recursion
    from symrnn.render.latex import latex

    text = latex(recursion(model, "U"))
    assert r"\frac{\partial L}{\partial L_{t}} &= \frac{1}{n}, \quad t = n, \dots, 1" in text
    # 1/2 (h - y)^2 differentiates to (h - y)^T: the 1/2 and the 2 cancel; the mean's 1/n is written as it
    assert r"+ \frac{1}{n} (h_{t} - y_{t})^{\top}, \quad t = n, \dots, 1" in text


HALF_MEAN = r"""model halfmean "Scalar linear RNN, half squared error, mean over the steps"
input x_{t} \in \mathbb{R}^{1}
input y_{t} \in \mathbb{R}^{1}
param w_{x} \in \mathbb{R}^{1}
param w_{h} \in \mathbb{R}^{1}
param w_{y} \in \mathbb{R}^{1}
param h_{0} \in \mathbb{R}^{1}

for t = 1..n:
    h_{t} = w_{x} x_{t} + w_{h} h_{t-1}
    \hat{y}_{t} = w_{y} h_{t}
    L_{t} = \frac{1}{2} (\hat{y}_{t} - y_{t})^2

L = \frac{1}{n} \sum_{t} L_{t}
loss L
"""


def test_exact_mode_keeps_the_constants_rational(tmp_path):
    spec, values = tmp_path / "halfmean.rnn", tmp_path / "values.json"
    spec.write_text(HALF_MEAN)
    values.write_text(json.dumps({"n": 2, "values": {"w_x": "0.1", "w_h": 1, "w_y": 2, "h_0": 1, "x": [10, 10],
                                                     "y": [3, 3]}}))
    result = CliRunner().invoke(main, ["eval", str(spec), "--values", str(values), "--exact"])
    assert result.exit_code == 0, result.output
    # by hand: h = 2, 3; yhat = 4, 6; L_t = 1/2, 9/2; L = (1/2 + 9/2) / 2 = 5/2;
    # dL/dw_y = (1/2) sum_t (yhat_t - y_t) h_t = (1 * 2 + 3 * 3) / 2 = 11/2
    for line in ("L_{1} = 1/2", "L_{2} = 9/2", "L = 5/2", "dL/dw_{y} = 11/2"):
        assert f"  {line}\n" in result.output, result.output


def test_exact_mode_divides_exactly(tmp_path):
    spec, values = tmp_path / "divide.rnn", tmp_path / "values.json"
    spec.write_text(HALF_MEAN.replace(r"h_{t} = w_{x} x_{t} + w_{h} h_{t-1}", r"h_{t} = \frac{w_{x} x_{t}}{w_{h}} + h_{t-1}"))
    values.write_text(json.dumps({"n": 1, "values": {"w_x": 1, "w_h": 3, "w_y": 1, "h_0": 0, "x": [1], "y": [0]}}))
    result = CliRunner().invoke(main, ["eval", str(spec), "--values", str(values), "--exact"])
    assert result.exit_code == 0, result.output
    # h_1 = 1/3, L = (1/3)^2 / 2 = 1/18; dL/dw_h = (h_1 - 0) * (-1/9) = -1/27
    for line in ("h_{1} = 1/3", "L = 1/18", "dL/dw_{h} = -1/27"):
        assert f"  {line}\n" in result.output, result.output


def test_a_constant_that_divides_by_zero_at_the_chosen_length_is_an_error_line(tmp_path):
    spec = tmp_path / "zero.rnn"
    spec.write_text(MEAN_SQUARED.replace(r"L = \frac{1}{n} \sum_t L_t", r"L = \frac{1}{n - 1} \sum_t L_t"))
    result = CliRunner().invoke(main, ["check", str(spec), "--n", "1", "--size", "m=2"])
    assert result.exit_code == 2
    assert result.output.count("error: ") == 1 and r"the constant \frac{1}{n - 1} divides by zero at n = 1" in \
        result.output, result.output
    assert CliRunner().invoke(main, ["check", str(spec), "--n", "2", "--size", "m=2"]).exit_code == 0


def test_a_model_without_sizes_says_so_for_size_and_titles_its_check():
    result = CliRunner().invoke(main, ["check", "scalar", "--n", "2", "--size", "m=3"])
    assert result.exit_code == 2 and "scalar has no sizes to set" in result.output, result.output
    result = CliRunner().invoke(main, ["check", "scalar", "--n", "2"])
    assert "scalar, n = 2, seed 0, numerator layout" in result.output, result.output


def test_exact_mode_picks_a_component_with_a_label(tmp_path):
    spec, values = tmp_path / "pick.rnn", tmp_path / "values.json"
    spec.write_text('model pick "A label picks a component"\nsizes K\nparam V \\in \\mathbb{R}^{K \\times 1}\n'
                    'input x \\in \\mathbb{R}^{1}\nlabel y \\in \\{1 \\dots K\\}\nq = V x\no = -q_{y}\nloss o\n')
    values.write_text(json.dumps({"n": 1, "values": {"V": [[1], [2], [3]], "x": ["1/3"], "y": 2}}))
    result = CliRunner().invoke(main, ["eval", str(spec), "--values", str(values), "--exact"])
    assert result.exit_code == 0, result.output
    assert "  q = [1/3, 2/3, 1]\n  o = -2/3\n  do/dV = [0, -1/3, 0]\n" in result.output


def test_an_input_sequence_shorter_than_n_is_an_error_line(tmp_path):
    values = tmp_path / "values.json"
    values.write_text(json.dumps({"n": 3, "values": {"w_x": "0.1", "w_h": 1, "w_y": 2, "h_0": 1, "x": [10, 10],
                                                     "y": [3, 3, 3]}}))
    result = CliRunner().invoke(main, ["eval", "scalar", "--values", str(values)])
    assert result.exit_code == 2
    assert "error: the input x_{t} is a sequence of (steps, size, B): 3 steps at least for n = 3, got shape " \
           "(2, 1, 1)" in result.output, result.output
