"""symrnn flow: the norms of the gradient reaching each step, against independent references.

* the scalar linear RNN, where ``dh_n/dh_t = w_h^{n-t}`` exactly;
* a hand-written PyTorch Elman RNN, whose autograd gives ``dL/dh_t`` and the Jacobians ``dh_n/dh_t``;
* central differences of the forward pass, for the gated cells;
* the textbook bound, in print and against the measurements.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from symrnn import zoo
from symrnn.cli import main
from symrnn.errors import SymRNNError
from symrnn.flow import finite_difference_check, measure, recurrence_bound, recurrent_weights
from symrnn.flow.measure import draw_inputs, draw_parameters


def test_the_scalar_rnn_is_w_h_to_the_power_n_minus_t():
    for scale in (0.5, 0.9, 1.0, 1.3):
        curve, = measure(zoo.scalar(), 30, [scale], draws=3)
        exponents = 30 - curve.steps
        assert curve.steps.tolist() == list(range(31))
        assert np.allclose(curve.jacobian, scale ** exponents, rtol=1e-12, atol=0)  # |w_h| = scale
        assert np.allclose(curve.bound, curve.jacobian, rtol=1e-12) and curve.bound_respected


def test_elman_against_torch_autograd():
    torch = pytest.importorskip("torch")
    model, n = zoo.get("elman", g="tanh"), 6
    sizes = {"m": 4, "d": 3, "K": 5}
    curve, = measure(model, n, [1.3], draws=2, sizes=sizes, seed=7)
    rng = np.random.default_rng([7, int(round(1.3 * 1e6))])  # the draws measure makes, in its order
    for k in range(2):
        p = {name: torch.tensor(v) for name, v in draw_parameters(model, sizes, 1.3, rng).items()}
        inputs, labels = draw_inputs(model, sizes, n, rng)
        assert np.max(np.abs(np.linalg.eigvals(p["W_hh"].numpy()))) == pytest.approx(1.3)
        x = torch.tensor(inputs["x"])
        hs = [p["h0"].clone().requires_grad_(True)]
        for t in range(n):
            h = torch.tanh(p["W_hx"] @ x[t] + p["W_hh"] @ hs[-1] + p["b_h"])
            h.retain_grad()
            hs.append(h)
        loss = -torch.log_softmax((p["V"] @ hs[-1] + p["gamma"]).reshape(-1), 0)[int(labels["y"][0]) - 1]
        loss.backward()
        expected = [float(torch.linalg.norm(h.grad)) for h in hs]
        assert np.allclose(curve.loss_grad[k], expected, rtol=1e-10)

        def last(h_t, t, p=p, x=x):  # h_n as a function of h_t
            for s in range(t, n):
                h_t = torch.tanh(p["W_hx"] @ x[s] + p["W_hh"] @ h_t + p["b_h"])
            return h_t.reshape(-1)

        norms = [float(torch.linalg.matrix_norm(torch.autograd.functional.jacobian(
            lambda h, t=t: last(h, t), hs[t].detach()).reshape(4, 4), 2)) for t in range(n + 1)]
        assert np.allclose(curve.jacobian[k], norms, rtol=1e-10)


@pytest.mark.parametrize("name,bindings", [("lstm", None), ("gru", {"g": "tanh"}), ("gru_torch", None),
                                           ("residual", None), ("vanilla_every", None)])
def test_gated_and_residual_cells_against_finite_differences(name, bindings):
    model = zoo.get(name)
    sizes = {k: v for k, v in {"m": 3, "d": 2, "K": 3, "N": 3, "M": 3}.items() if k in map(str, model.sizes)}
    error = finite_difference_check(model, 4, 1.2, sizes, bindings)
    assert error < 1e-7


def test_a_backward_loop_and_a_loop_to_the_label_position():
    model = zoo.get("tagger", g="tanh")
    curve, = measure(model, 5, [1.0], 2, {"m": 3, "d": 2, "K": 3}, state=r"\beta^{(j)}", i=4)
    assert curve.state == "beta" and curve.steps.tolist() == [0, 1, 2, 3]
    assert finite_difference_check(model, 5, 1.0, {"m": 3, "d": 2, "K": 3}, state="beta", i=4) < 1e-7
    eta, = measure(zoo.get("bidirectional", g="tanh"), 4, [1.0], 1, {"m": 3, "d": 2, "K": 3}, state="eta", i=2)
    assert eta.steps.tolist() == [5, 4, 3, 2, 1]  # eta^{(n+1)} first, then the loop's order


def test_recurrent_weights_and_bounds():
    assert recurrent_weights(zoo.get("gru_torch")) == ["W_hr", "W_hz", "W_hn"]
    assert recurrent_weights(zoo.get("gru")) == ["U_z", "U_r", "U_h"]
    assert recurrent_weights(zoo.scalar()) == ["w_h"] and recurrent_weights(zoo.mlp()) == []
    residual = zoo.get("residual")
    assert recurrence_bound(residual, residual.var("h")).latex == r"(1 + \max|\tanh'| \, \|W_{r}\|_{2})^{n-t}"
    elman = zoo.get("elman")
    assert recurrence_bound(elman, elman.var("h"), {"g": "sigmoid"}).latex == \
        r"(\max|\sigma'| \, \|W^{hh}\|_{2})^{n-t}"
    assert recurrence_bound(elman, elman.var("h"), {"g": "sigmoid"}).slope == 0.25
    for gated in ("lstm", "gru", "gru_torch"):
        m = zoo.get(gated)
        assert recurrence_bound(m, m.var("h"), {"g": "tanh"}) is None
    for name in ("plain", "residual"):
        for curve in measure(zoo.get(name), 40, [0.5, 1.0, 2.0], 3, {"M": 6, "N": 4}):
            assert curve.bound_respected and np.all(curve.jacobian <= curve.bound * (1 + 1e-9))


def test_the_residual_connection_keeps_the_gradient_and_the_plain_rnn_loses_it():
    plain, = measure(zoo.get("plain"), 100, [1.0], 5, {"M": 16, "N": 8})
    residual, = measure(zoo.get("residual"), 100, [1.0], 5, {"M": 16, "N": 8})
    assert np.median(plain.jacobian[:, 0]) < 1e-10 < 1 <= np.median(residual.jacobian[:, 0])


def test_errors_say_what_to_do():
    with pytest.raises(SymRNNError, match="no state over time"):
        measure(zoo.mlp(), 3)
    with pytest.raises(SymRNNError, match="its states"):
        measure(zoo.lstm(), 3, state="V")


def test_the_command_writes_the_figure_and_the_numbers(tmp_path):
    result = CliRunner().invoke(main, ["flow", "scalar", "plain", "--n", "20", "--scale", "0.8,1.2", "--seeds", "3",
                                       "--size", "M=5", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "scalar: \\|\\partial h_{n} / \\partial h_{t}\\|_2 \\le |w_{h}|^{n-t}" in result.output
    assert "plain: \\|\\partial h_{n} / \\partial h_{t}\\|_2 \\le (\\max|\\tanh'| \\, \\|W_{r}\\|_{2})^{n-t}" in result.output
    assert result.output.count("against finite differences of the forward pass") == 2
    assert "FAIL" not in result.output
    rows = (tmp_path / "flow.csv").read_text().splitlines()
    assert rows[0] == "model,scale,quantity,t,median,low,high,bound" and len(rows) == 1 + 2 * 2 * 2 * 21
    scalar_12 = [r.split(",") for r in rows if r.startswith("scalar,1.2,jacobian,")]
    assert [float(r[4]) for r in scalar_12] == pytest.approx([1.2 ** (20 - t) for t in range(21)], rel=1e-12)
    data = json.loads((tmp_path / "flow.json").read_text())
    assert [(d["model"], d["scale"], d["bound_respected"]) for d in data] == [
        ("scalar", 0.8, True), ("scalar", 1.2, True), ("plain", 0.8, True), ("plain", 1.2, True)]
    assert (tmp_path / "flow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "flow.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "scale 1.2" in svg


@pytest.mark.parametrize("args,message", [
    (["scalar", "--n", "5", "--scale", "0,1"], "spectral radius"),
    (["scalar", "--n", "5", "--scale", "one"], "numbers separated by commas"),
    (["scalar", "plain", "--n", "5", "--size", "q=3"], "a size of the models"),
    (["mlp", "--n", "2"], "no state over time"),
    (["bidirectional", "--n", "3"], "give --i"),
    (["lstm", "--n", "3", "--state", "x"], "its states"),
])
def test_the_command_refuses_with_a_reason(args, message):
    result = CliRunner().invoke(main, ["flow", *args])
    assert result.exit_code == 2 and message in result.output, result.output


def test_the_figure_is_labelled_in_the_models_notation():
    from symrnn.flow.plot import axis_labels, figure

    curves = measure(zoo.get("elman", g="tanh"), 8, [1.0], 2, {"m": 3, "d": 2, "K": 3})
    assert axis_labels(curves) == (r"$\|\partial o / \partial h^{(t)}\|$", r"$\|\partial h^{(n)} / \partial h^{(t)}\|_2$")
    fig = figure(curves)
    assert [ax.get_ylabel() for ax in fig.axes] == list(axis_labels(curves))
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["elman, scale 1", "bound, same colour"]
    assert fig._suptitle.get_text().startswith("Gradient flow over n = 8 steps (median of 2 draws")


@pytest.mark.parametrize("folder", ["scalar", "residual"])
def test_the_examples_figures_hold_what_the_command_measures_now(folder, tmp_path):
    """The committed data beside each example's figure is what its command (examples/regenerate.py) measures."""
    import csv
    import importlib.util
    from pathlib import Path

    root = Path(__file__).parents[2]
    spec = importlib.util.spec_from_file_location("regenerate", root / "examples" / "regenerate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    command = next(c for f, c in module.FIGURES if f == folder)
    command = command[:command.index("--out")] + ["--out", str(tmp_path)]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    committed = list(csv.DictReader((root / "examples" / folder / "flow" / "flow.csv").open()))
    now = list(csv.DictReader((tmp_path / "flow.csv").open()))
    assert [(r["model"], r["scale"], r["quantity"], r["t"]) for r in committed] == [
        (r["model"], r["scale"], r["quantity"], r["t"]) for r in now]
    for a, b in zip(committed, now, strict=True):
        assert float(a["median"]) == pytest.approx(float(b["median"]), rel=1e-8), (a, b)


def test_norms_near_float64s_limits_are_measured_and_drawn(tmp_path):
    """Underflow: a norm of 1e-284 is not 0. Overflow: inf is said, JSON stays JSON, the figure draws."""
    curve, = measure(zoo.get("plain"), 1400, [1.0], 1)
    tiny = curve.jacobian[0] < 1e-200
    assert tiny.any() and np.all(curve.loss_grad[0][tiny] > 0)
    result = CliRunner().invoke(main, ["flow", "scalar", "--n", "1100", "--scale", "2", "--seeds", "1",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "beyond float64's range" in result.output and "Warning" not in result.output
    data = json.loads((tmp_path / "flow.json").read_text(), parse_constant=lambda c: pytest.fail(c))
    assert data[0]["jacobian"][0][0] is None and data[0]["jacobian"][0][-1] == 1.0
    assert data[0]["bound_respected"] is True


def test_tiny_and_saturated_gradients_pass_the_finite_difference_check():
    assert finite_difference_check(zoo.get("plain"), 4, 30.0) < 1e-6
    assert finite_difference_check(zoo.get("elman"), 5, 1e-9, {"m": 4, "d": 3, "K": 5}, {"g": "tanh"}) < 1e-6


def test_a_function_outside_its_domain_is_said():
    result = CliRunner().invoke(main, ["flow", "elman", "--n", "10", "--g", "log"])
    assert result.exit_code == 2 and "gives NaN" in result.output and "choose another function" in result.output


def test_the_bound_counts_the_steps_to_the_states_last_one():
    b, t = zoo.get("bidirectional"), zoo.get("tagger")
    assert recurrence_bound(b, b.var("eta"), {"g": "tanh"}).latex.endswith("^{t-1}")
    assert recurrence_bound(t, t.var("beta"), {"g": "tanh"}).latex.endswith("^{i-t-1}")
    eta, = measure(b.bind(g="tanh"), 10, [1.0], 2, {"m": 3, "d": 2, "K": 3}, state="eta", i=5)
    assert eta.n == 10 and eta.bound_respected and np.allclose(eta.bound[:, -1], 1.0)


def test_a_normalisations_gain_is_one_and_a_bias_zero():
    from symrnn.flow.measure import gains
    from symrnn.model.rnn_reader import load_spec

    layernorm = load_spec("examples/literature/layernorm_rnn/model.rnn")
    assert gains(layernorm) == ["g"] and recurrent_weights(layernorm) == ["W_hh"]
    params = draw_parameters(layernorm, {"H": 3, "d": 2, "K": 2}, 1.0, np.random.default_rng(0))
    assert params["g"].tolist() == [[1.0]] * 3 and params["b"].tolist() == [[0.0]] * 3
    curve, = measure(layernorm, 6, [1.0], 2, {"H": 3, "d": 2, "K": 2})
    assert np.all(curve.jacobian > 0)
    rms = load_spec("examples/literature/rmsnorm_rnn/model.rnn")
    assert gains(rms) == ["g"] and recurrent_weights(rms) == ["W"]


def test_the_api_refuses_what_it_cannot_measure():
    from symrnn.flow.plot import figure

    with pytest.raises(SymRNNError, match="no size mm"):
        measure(zoo.get("elman"), 3, sizes={"mm": 4})
    with pytest.raises(SymRNNError, match="spectral radius"):
        measure(zoo.scalar(), 3, [-1.0])
    with pytest.raises(ValueError, match="at least one curve"):
        figure([])


def test_the_impact_of_each_input_on_the_loss():
    """--wrt x: ||dL/dx_t|| from the compiled gradient, against torch autograd for the Elman RNN."""
    torch = pytest.importorskip("torch")
    model, n, sizes = zoo.get("elman", g="tanh"), 5, {"m": 3, "d": 2, "K": 4}
    curve, = measure(model, n, [1.1], 1, sizes, seed=3, wrt="x^{(1)}")
    assert curve.wrt_latex == "x^{(t)}" and np.isnan(curve.loss_grad[0, 0])  # h^{(0)} has no input
    rng = np.random.default_rng([3, int(round(1.1 * 1e6))])
    p = {k: torch.tensor(v) for k, v in draw_parameters(model, sizes, 1.1, rng).items()}
    inputs, labels = draw_inputs(model, sizes, n, rng)
    x = torch.tensor(inputs["x"], requires_grad=True)
    h = p["h0"]
    for t in range(n):
        h = torch.tanh(p["W_hx"] @ x[t] + p["W_hh"] @ h + p["b_h"])
    (-torch.log_softmax((p["V"] @ h + p["gamma"]).reshape(-1), 0)[int(labels["y"][0]) - 1]).backward()
    assert np.allclose(curve.loss_grad[0, 1:], [float(torch.linalg.norm(x.grad[t])) for t in range(n)], rtol=1e-10)
    assert finite_difference_check(model, 4, 1.0, sizes, wrt="x") < 1e-6


def test_each_steps_term_of_a_parameters_gradient():
    """--wrt W^{hx}: the norm of delta_t x_t^T at each step, against torch autograd (delta_t = dL/da_t);
    the terms add up to the gradient."""
    torch = pytest.importorskip("torch")
    model, n, sizes = zoo.get("elman", g="tanh"), 5, {"m": 3, "d": 2, "K": 4}
    curve, = measure(model, n, [1.2], 1, sizes, seed=4, wrt="W^{hx}")
    assert np.isnan(curve.loss_grad[0, 0]) and curve.wrt_latex == r"W^{hx}\text{ at }t"
    rng = np.random.default_rng([4, int(round(1.2 * 1e6))])
    p = {k: torch.tensor(v, requires_grad=True) for k, v in draw_parameters(model, sizes, 1.2, rng).items()}
    inputs, labels = draw_inputs(model, sizes, n, rng)
    x, h, pre = torch.tensor(inputs["x"]), p["h0"], []
    for t in range(n):
        a = p["W_hx"] @ x[t] + p["W_hh"] @ h + p["b_h"]
        a.retain_grad()
        pre.append(a)
        h = torch.tanh(a)
    (-torch.log_softmax((p["V"] @ h + p["gamma"]).reshape(-1), 0)[int(labels["y"][0]) - 1]).backward()
    terms = [float(torch.linalg.matrix_norm(pre[t].grad @ x[t].T, 2)) for t in range(n)]
    assert np.allclose(curve.loss_grad[0, 1:], terms, rtol=1e-10)
    with pytest.raises(SymRNNError, match="read outside the loops"):
        measure(zoo.vanilla(), 3, wrt="V")
