"""Gates' error terms named as textbooks write them (symrnn.derive.deltas): the printed lines,
and each delta checked against finite differences in its pre-activation."""

import pytest

from symrnn import latex, zoo
from symrnn.derive.adjoints import closed_form, recursion
from symrnn.derive.deltas import gate_label, gates, named_deltas
from symrnn.graph import Node
from symrnn.numeric.gradcheck import FORMS, check_model


def test_the_lstm_reads_as_greff_et_al_write_it():
    text = latex(closed_form(named_deltas(zoo.lstm()), Node("Wx_f"), 3, None, "denominator"))
    for line in [
        r"\frac{\partial L}{\partial W_{x}^{f}} &= \sum_{t=1}^{n} \delta^{f}_{t} x_{t}^{\top}",
        r"\frac{\partial L}{\partial h_{t}} &= W_{h}^{f\top} \delta^{f}_{t+1} + W_{h}^{i\top} \delta^{i}_{t+1} + "
        r"W_{h}^{c\top} \delta^{\tilde{c}}_{t+1} + W_{h}^{o\top} \delta^{o}_{t+1}, \quad t = n-1, \dots, 1",
        r"\delta^{o}_{t} &= \frac{\partial L}{\partial h_{t}} \odot \tanh(c_{t}) \odot o_{t} \odot (\mathbf{1} - o_{t})",
        r"\delta^{f}_{t} &= \frac{\partial L}{\partial c_{t}} \odot c_{t-1} \odot f_{t} \odot (\mathbf{1} - f_{t})",
        r"\bar{f}_{t} &= W_{x}^{f} x_{t} + W_{h}^{f} h_{t-1} + b^{f}",
        r"$\delta^{o}_{t} = \frac{\partial L}{\partial \bar{o}_{t}}$",
    ]:
        assert line in text, line


def test_gates_and_their_labels():
    assert [g.name for g in gates(zoo.lstm())] == ["f", "ig", "cc", "og"]
    assert [gate_label(g.latex) for g in gates(zoo.gru())] == ["z", "r"]
    assert gate_label(r"\tilde{c}_{{t}}") == r"\tilde{c}"
    model = zoo.elman()
    assert named_deltas(model) is model  # no gate: the model as it is
    text = latex(recursion(named_deltas(zoo.gru()), "U_z", "denominator"))  # a model writing its times up
    assert r"\frac{\partial o}{\partial h^{(t)}} &= U^{z\top} \delta_{z}^{(t+1)} + U^{r\top} \delta_{r}^{(t+1)}" in text
    assert r"\bar{z}^{(t)} &= W^{z} x^{(t)} + U^{z} h^{(t-1)} + b^{z}" in text


@pytest.mark.parametrize("name", ["lstm", "lstm_every", "gru", "gru_torch"])
def test_every_named_form_passes_the_check(name):
    rows = check_model(zoo.get(name), 3, {"m": 3, "d": 2, "K": 3}, seed=2, forms=FORMS, bindings={"g": "tanh"},
                       deltas=True)
    named = [r for r in rows if r.name.startswith(r"\delta")]
    assert len(named) == len(gates(zoo.get(name)))  # each delta against finite differences in its pre-activation
    assert all(r.passed for r in rows), [(r.name, r.result) for r in rows if not r.passed]
