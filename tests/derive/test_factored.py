"""The factored forms: which terms each total derivative has, in which order, printed how."""

import pytest
import sympy as sp

from symrnn import zoo
from symrnn.derive.adjoints import adjoint_equation, adjoint_order, closed_form, in_loop, recursion
from symrnn.errors import SymRNNError
from symrnn.model.declared import FORWARD, Loop
from symrnn.operations.symbols import I, N, T
from symrnn.render.latex import equation_lines, latex


def _lines(model, name, layout="numerator"):
    return equation_lines(model, adjoint_equation(model, name, layout), layout)


def test_elman_recursion_numerator_as_the_sheet_writes_jacobians():
    lines, zeros = _lines(zoo.elman(), "h")
    assert lines == [
        (r"\frac{\partial o}{\partial h^{(n)}}", r"\frac{\partial o}{\partial l} V", ""),
        (r"\frac{\partial o}{\partial h^{(t)}}",
         r"\frac{\partial o}{\partial h^{(t+1)}} \operatorname{diag}(g'(a^{(t+1)})) W^{hh}", r"t = n-1, \dots, 1"),
    ]
    assert zeros == []


def test_seed_002_plain_and_residual_recursions():
    plain, _ = _lines(zoo.plain(), "h", "denominator")
    assert plain[-1][1] == (r"W_{r}^{\top} (\frac{\partial J}{\partial h_{t+1}} \odot "
                            r"(\mathbf{1} - h_{t+1} \odot h_{t+1}))")
    residual, _ = _lines(zoo.residual(), "h", "denominator")
    assert residual[-1][1] == (r"W_{r}^{\top} (\frac{\partial J}{\partial h_{t+1}} \odot (\mathbf{1} - "
                               r"\tanh(g_{t+1}) \odot \tanh(g_{t+1}))) + \frac{\partial J}{\partial h_{t+1}}")
    numerator, _ = _lines(zoo.residual(), "h")
    assert numerator[-1][1] == (r"\frac{\partial J}{\partial h_{t+1}} (\operatorname{diag}(\mathbf{1} - "
                                r"\tanh(g_{t+1}) \odot \tanh(g_{t+1})) W_{r} + I)")


def test_seed_002_boxed_results():
    mlp = zoo.mlp()
    assert _lines(mlp, "W_u", "denominator")[0] == [(r"\frac{\partial J}{\partial W^{u}}",
                                                       r"\frac{\partial J}{\partial s} h^{\top}", "")]
    assert _lines(mlp, "h", "denominator")[0][0][1] == r"W^{u\top} \frac{\partial J}{\partial s}"
    assert _lines(mlp, "W_e", "denominator")[0][0][1] == r"\frac{\partial J}{\partial h} x^{\top}"
    assert _lines(mlp, "s", "denominator")[0][0][1] == r"y - \operatorname{softmax}(s)"  # the boxed y - p, one-hot y
    rnn = zoo.next_word()
    assert _lines(rnn, "W_r", "denominator")[0][0][1] == (
        r"\sum_{t=1}^{n} (\frac{\partial J}{\partial h_{t}} \odot (\mathbf{1} - h_{t} \odot h_{t})) h_{t-1}^{\top}")


def test_seed_004_vanilla_and_lstm_results():
    rnn = zoo.vanilla("every")
    assert _lines(rnn, "b", "denominator")[0][0][1] == (
        r"\sum_{t=1}^{n} (\frac{\partial L}{\partial h_{t}} \odot (\mathbf{1} - h_{t} \odot h_{t}))")
    assert _lines(rnn, "h0", "denominator")[0][0][1] == (
        r"W_{h}^{\top} (\frac{\partial L}{\partial h_{1}} \odot (\mathbf{1} - h_{1} \odot h_{1}))")
    assert _lines(rnn, "x", "denominator")[0][-1][1] == (
        r"W_{x}^{\top} (\frac{\partial L}{\partial h_{t}} \odot (\mathbf{1} - h_{t} \odot h_{t}))")
    lines, zeros = _lines(zoo.lstm("every"), "c", "denominator")
    assert lines == [(r"\frac{\partial L}{\partial c_{t}}",
                      r"\frac{\partial L}{\partial c_{t+1}} \odot f_{t+1} + \frac{\partial L}{\partial h_{t}} \odot "
                      r"o_{t} \odot (\mathbf{1} - \tanh(c_{t}) \odot \tanh(c_{t}))", r"t = n, \dots, 1")]
    assert zeros == [r"\frac{\partial L}{\partial c_{n+1}}"]


def test_bidirectional_reads_the_label_position():
    model = zoo.bidirectional()
    eq = adjoint_equation(model, "eta")
    assert [(t.reader, t.reader_time, t.at) for t in eq.terms] == [("eta", T - 1, None), ("l", None, I)]
    lines, zeros = _lines(model, "eta", "denominator")
    assert [(left, span) for left, _, span in lines] == [
        (r"\frac{\partial o}{\partial \eta^{(i)}}", ""),
        (r"\frac{\partial o}{\partial \eta^{(t)}}", r"t = 1, \dots, n,\ t \neq i"),
    ]
    assert lines[0][1] == (r"\begin{bmatrix} 0 & I \end{bmatrix} V^{\top} \frac{\partial o}{\partial l} + "
                           r"W^{bhh\top} (\frac{\partial o}{\partial \eta^{(i-1)}} \odot g'(\bar{a}^{(i-1)}))")
    assert zeros == [r"\frac{\partial o}{\partial \eta^{(0)}}"]


def test_order_puts_the_reader_first_within_a_step():
    order = adjoint_order(zoo.lstm(), "Wx_f")
    assert order.index("h") < order.index("c") and order[0] == "s"
    assert adjoint_order(zoo.stacked_bidirectional(), "W_hx") == ["q", "l", "eta2", "h2", "h"]


def test_in_loop():
    assert in_loop(N + 1, FORWARD) is False
    assert in_loop(sp.Integer(1), FORWARD) is True  # n >= 1
    assert in_loop(sp.Integer(2), FORWARD) is None  # only when n >= 2
    assert in_loop(I, Loop(sp.Integer(1), I - 1, 1)) is False
    assert in_loop(T + 1, FORWARD) is None


def test_tagger_initial_state_read_at_i_minus_1():
    eq = adjoint_equation(zoo.tagger(), "beta0")
    assert [(t.reader, t.condition) for t in eq.terms] == [("beta", None), ("l", sp.Eq(I, 1))]
    text = latex(closed_form(zoo.tagger(), r"\beta^{(0)}", 3, 1))
    assert r"[i=1]\, \left(\frac{\partial o}{\partial l} V \begin{bmatrix} 0 \\ 0 \\ I \end{bmatrix}\right)" in text
    assert "A bracket $[P]$ is 1 when $P$ holds" in text


def test_errors():
    with pytest.raises(SymRNNError, match="layout must be one of numerator, denominator"):
        recursion(zoo.elman(), "W_hx", "rows")
    with pytest.raises(SymRNNError, match="is computed; the closed form is for parameters"):
        closed_form(zoo.elman(), "h^{(2)}", 3)
    with pytest.raises(SymRNNError, match="reads the label position i: give i"):
        closed_form(zoo.bidirectional(), "V", 3)


def test_a_gate_read_twice_is_differentiated_once():
    eq = adjoint_equation(zoo.gru(), "U_z", "denominator")
    assert latex(eq.terms[0].expr) == (
        r"((\frac{\partial o}{\partial h^{(t)}} \odot g(a^{(t)}) - \frac{\partial o}{\partial h^{(t)}} \odot "
        r"h^{(t-1)}) \odot z^{(t)} \odot (\mathbf{1} - z^{(t)})) h^{(t-1)\top}")


def test_inline_expands_interims_and_drops_their_definitions():
    text = latex(recursion(zoo.elman(), "W_hx", inline=True))
    assert r"\operatorname{diag}(g'(W^{hx} x^{(t+1)} + W^{hh} h^{(t)} + b^{h})) W^{hh}" in text
    assert "where" not in text and "a^{(t" not in text


def test_one_hot_facts_in_both_layouts():
    """1^T y = 1 for a one-hot y: the softmax head's total derivative as textbooks print it."""
    vanilla = zoo.get("vanilla")
    assert _lines(vanilla, "s", "denominator")[0][0][1] == r"\operatorname{softmax}(s) - y"
    assert _lines(vanilla, "s", "numerator")[0][0][1] == r"\operatorname{softmax}(s)^{\top} - y^{\top}"
    elman = zoo.elman()  # an integer label: o = -q_y, the adjoint of q is -e_y, written in place; e_y sums to 1
    assert _lines(elman, "l", "denominator")[0][0][1] == r"\operatorname{softmax}(l) - e_{y}"
    assert _lines(elman, "l", "numerator")[0][0][1] == r"\operatorname{softmax}(l)^{\top} - e_{y}^{\top}"
    assert r"\mathbf{1}" not in latex(recursion(elman, "W_hx"))
    gru = zoo.get("gru")  # a state's adjoint reads the model's values: named, not written out
    assert _lines(gru, "h", "denominator")[0][0][1] == r"V^{\top} \frac{\partial o}{\partial l}"
