"""What a new user tried with the newer constructs, and what they now get (each case was a
defect: a wrong name, an unhelpful message, a refused spelling)."""

import pytest
from click.testing import CliRunner

from symrnn.cli import main
from symrnn.errors import SpecError
from symrnn.model.rnn_reader import parse_spec
from symrnn.render.rnn_writer import spec_text
from tests.numeric.test_initial_states import CONTEXT_AT_EVERY_STEP, ENCODER_DECODER
from tests.numeric.test_step_labels import TAGGER


def _error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "spec.rnn")
    return str(info.value)


def test_a_label_per_step_picks_from_a_variable_with_its_time_in_a_superscript():
    text = TAGGER.replace("q_t = ", "q^{(t)} = ").replace("-q_{t, y_t}", "-q^{(t)}_{y_t}")
    printed = spec_text(parse_spec(text, "spec.rnn"))
    assert r"L_{t} = -q^{(t)}_{y_{t}}" in printed and spec_text(parse_spec(printed, "again.rnn")) == printed


@pytest.mark.parametrize("written, message, hint", [
    ("-q_{y_t}", "q_{y_{t}} picks with the label per step y_{t} from q, which is not read at a step",
     "hint: a label per step picks from the variable at its step: q_{t, y_{t}}"),
    ("-q_{t, y_{t-1}}", "the label per step y_{t-1} is read at its own step: y_{t}", ""),
])
def test_a_label_per_step_read_wrongly_says_how_to_read_it(written, message, hint):
    error = _error(TAGGER.replace("-q_{t, y_t}", written))
    assert message in error and hint in error and error.startswith("spec.rnn:13:"), error


def test_an_initial_state_defined_after_its_loop_says_to_move_it():
    text = ENCODER_DECODER.replace("z_0 = h_n\nfor t = 1..n:\n    z_t", "for t = 1..n:\n    z_t").replace(
        "L = \\sum_t L_t", "z_0 = h_n\nL = \\sum_t L_t")
    error = _error(text)
    assert "z_{t} starts from z_{0}, which is defined after this loop (line 19)" in error
    assert "hint: move z_{0} = ... before the loop" in error


def test_a_sum_inside_an_expression_in_a_j_loop_is_shown_with_its_index():
    text = (r"""sizes m
param w \in \mathbb{R}^{1}
input x_j \in \mathbb{R}^{1} for j = 1..(i-1)
for j = 1..(i-1):
    M^{(j)} = w x_j
o = 1 - \sum_j M^{(j)}
loss o
""")
    assert r"define S = \sum_{j} M^{(j)} on a line of its own" in _error(text)


def test_shorthand_names_never_take_a_parameters_letter():
    # the encoder-decoder's parameters are W, U, A, B, V: the shared product and the recurrence
    # factors take other letters
    from symrnn import latex, pathsum

    model = parse_spec(CONTEXT_AT_EVERY_STEP, "spec.rnn")
    text = latex(pathsum(model, "U", 2))
    where = text.split("where")[1]
    names = {line.split("&=")[0].strip().split("^")[0] for line in where.splitlines() if "&=" in line}
    assert not names & {"A", "B", "W", "U", "V"}, names
    assert r"E_{t} &= D(h_{t} \rightarrow h_{t+1})" in text


def test_the_closed_form_of_a_model_reading_a_fixed_time_is_derived_at_any_n(tmp_path):
    spec = tmp_path / "encdec.rnn"
    spec.write_text(ENCODER_DECODER.replace("z_0 = h_n", "z_0 = h_3"))
    result = CliRunner().invoke(main, ["derive", str(spec), "--wrt", "U", "--n", "4", "--form", "closed"])
    assert result.exit_code == 0, result.output


def test_a_let_of_a_let_is_defined_where_it_is_printed():
    from symrnn import latex, pathsum

    text = r"""sizes m
param U \in \mathbb{R}^{m \times m}
param h_0 \in \mathbb{R}^{m}
input x_t \in \mathbb{R}^{m}
for t = 1..n:
    let v_t = \operatorname{mean}(U x_t)
    let s_t = \sqrt{v_t \odot v_t + 1}
    h_t = \tanh(\frac{U h_{t-1}}{s_t})
L = \operatorname{sum}(h_n)
loss L
"""
    printed = latex(pathsum(parse_spec(text, "spec.rnn"), "U", 2))
    assert r"  s_{t} &= \sqrt{v_{t} v_{t} + \mathbf{1}}" in printed
    assert r"  v_{t} &= \frac{1}{m} \mathbf{1}^{\top} U x_{t}" in printed


def test_a_backward_loop_reads_its_input_one_step_back_in_the_inputs_order():
    text = r"""sizes m, d
param W \in \mathbb{R}^{m \times m}
param U \in \mathbb{R}^{m \times d}
param v \in \mathbb{R}^{m}
param \eta_{n+1} \in \mathbb{R}^{m}
param x_{0} \in \mathbb{R}^{d}
input x_t \in \mathbb{R}^{d}
for t = n..1:
    \eta_t = \tanh(W \eta_{t+1} + U x_{t-1})
L = v^\top \eta_1
loss L
"""
    model = parse_spec(text, "spec.rnn")
    from symrnn.numeric.gradcheck import FORMS, check_model

    assert all(r.passed for r in check_model(model, 3, {"m": 3, "d": 2}, forms=FORMS))
    assert "one step before in their own order (x_{t-1}" in _error(text.replace("x_{t-1})", "x_{t+1})"))
