"""symrnn grade on students' worked answers (examples/grade/*_answer.md), typed as they wrote them, and on the
forms those answers use: gates' total derivatives, "= 0" past the last step with its condition in prose,
boxed results, another name for a variable said anywhere, item numbers and bullets, total and local
derivatives in a parameter. Each verdict below was reviewed by hand (examples/grade/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from symrnn import zoo
from symrnn.grade.check import grade
from symrnn.numeric.values import read_values

HERE = Path(__file__).parents[2] / "examples" / "grade"


def _verdicts(name: str, model: str, **kw) -> dict:
    out: dict = {}
    for v in grade((HERE / f"{name}_answer.md").read_text(), zoo.get(model), **kw):
        out.setdefault(v.line, []).append((v.verdict, v.diagnosis))
    return out


def test_the_lstm_answer():
    v = _verdicts("lstm", "lstm")
    assert v[25] == [("wrong", "does not match the true value")]  # dL/dc_{t-1} = dL/dh_t (.) f_t
    for line in (29, 33, 41, 45, 49, 53, 57, 61):  # part 2: one step's term of each gradient
        assert v[line][-1][0] == "wrong" and v[line][-1][1].startswith("one step's term"), line
    for line in (65, 69, 73, 153, 159, 165):  # the output gate's error with the candidate's factors
        assert v[line] == [("wrong", "does not match the true value")], line
    assert v[81][0][0] == "wrong" and v[81][0][1].startswith("holds only at the last step")
    for line in (87, 95, 101, 107, 113, 119, 125, 131, 137, 143, 149, 155, 161, 167):  # "+ dL/dh_{t+1} (.) f_{t+1}"
        assert v[line] == [("wrong", "does not match the true value"), ("correct", "")], line
    for line in (85, 93, 99, 105, 117, 123, 129, 135, 141, 147):  # part 4's formulas
        assert all(verdict == "correct" for verdict, _ in v[line]), line
    assert sum(x[0] == "correct" for x in sum(v.values(), [])) == 29


def test_the_scalar_answer_at_its_numbers():
    values = read_values(zoo.get("scalar"), Path(__file__).parents[2] / "examples" / "scalar" / "values.json")
    v = _verdicts("scalar", "scalar", values=values)
    assert [x[0] for x in v[5]] == ["correct"] * 3  # h_1 = w_x x_1 + w_h h_0 = 0.1 x 10 + 1 x 1 = 2
    assert v[15] == [("wrong", "does not match the true value"), ("wrong", "off by a factor 0.5")]  # w_h h_1 = 2
    assert v[39] == [("correct", "")]  # dL_1/dw_h = 2 (y^_1 - y_1) w_y h_0
    assert v[41] == [("wrong", "off by a factor -3")] * 2  # = -6 x 2 x 1 = -12 (true 4)
    assert v[47] == [("correct", "")]  # dL_2/dw_h = 2 (y^_2 - y_2) w_y [h_1 + w_h h_0], through h_1
    assert v[49] == [("wrong", "off by a factor 0.333333"), ("wrong", "off by a factor 0.222222")]  # 12, 8 (36)
    # -8 is -12 + 4, the answer's own wrong numbers, through its formula of line 19
    assert v[33][0][1] == ("does not match the true value; it follows from the answer's own earlier numbers "
                           "\\frac{\\partial L_1}{\\partial h_1} = -12 (line 25), \\frac{\\partial L_2}{\\partial h_1} = 4 "
                           "(line 31), which are wrong: the first wrong line is 25")


def test_the_residual_answer_is_right_for_each_of_its_models():
    plain, residual = _verdicts("residual", "plain"), _verdicts("residual", "residual")
    assert all(x[0] == "correct" for x in plain[9] + plain[15]) and all(x[0] == "wrong" for x in residual[9])
    assert all(x[0] == "correct" for x in residual[23]) and all(x[0] == "wrong" for x in plain[23])


def test_the_softmax_answer_boxed_results_and_names_given_later():
    v = _verdicts("softmax", "mlp")
    assert v[4][:2] == [("correct", ""), ("correct", "")]  # h = W_{embed} x, named W^e at the end
    for line in (32, 38, 49):
        assert v[line][-1] == ("correct", ""), line


def _one(text: str, model: str = "lstm", **kw):
    return [(v.verdict, v.diagnosis) for v in grade(text, zoo.get(model), **kw)]


def test_a_gates_total_derivative():
    assert _one(r"$$\frac{\partial L}{\partial f_t} = \frac{\partial L}{\partial c_t} \frac{\partial c_t}{\partial f_t}$$") \
        == [("correct", "")]
    assert _one(r"$$\frac{\partial L}{\partial o_t} = \frac{\partial L}{\partial c_t} \odot \tanh(c_t)$$")[0][0] \
        == "wrong"


@pytest.mark.parametrize("text, verdict", [
    (r"$$\frac{\partial L}{\partial h_{t+1}} = 0 \quad \text{if } t + 1 > T$$", "correct"),
    (r"Here $\frac{\partial L}{\partial h_{t+1}} = 0$ if $t+1 > T$.", "correct"),
    (r"$$\frac{\partial L}{\partial h_{t}} = 0 \quad \text{for } t > n$$", "correct"),
    (r"and $\frac{\partial L}{\partial h_2} = 0$ if $2 > T$", "correct"),
    (r"$$\frac{\partial L}{\partial h_{t+1}} = 0$$", "wrong"),
])
def test_zero_past_the_last_step(text, verdict):
    assert _one(text)[0][0] == verdict


def test_what_is_not_a_formula_is_left_out():
    text = "\n\n".join([
        r"$$\boxed{\frac{\partial L}{\partial s} = \operatorname{softmax}(s) - y = \text{error}}$$",
        r"$$3) \quad \frac{\partial L}{\partial V} = \frac{\partial L}{\partial s} h_n^T$$",
        r"$$* \quad \frac{\partial L}{\partial b^y} = \frac{\partial L}{\partial s}$$",
        r"$$\text{let } s = V h_n + b^y$$",
        r"$$x_1 = \text{\"I\"}$$",
    ])
    assert _one(text, "vanilla") == [("correct", "")] * 4


def test_a_derivative_in_a_parameter_read_total_or_local():
    total = _one(r"$$\frac{\partial h_2}{\partial w_h} = h_1 + w_h h_0$$", "scalar")
    assert total[0][0] == "correct" and "read as total" in total[0][1]
    assert _one(r"$$\frac{\partial h_2}{\partial w_h} = h_1$$", "scalar") == [("correct", "")]  # the local edge
    assert _one(r"$$\frac{\partial h_2}{\partial w_h} = 2 h_1$$", "scalar")[0][0] == "wrong"


def test_a_derivative_in_the_answers_own_shorthand_says_so():
    text = r"$$\frac{\partial L}{\partial b} = \frac{\partial L}{\partial h_t} \frac{\partial h_t}{\partial Z}, \quad \text{where } Z = W_x x_t + W_h h_{t-1} + b$$"  # noqa: E501
    verdict, reason = _one(text, "vanilla")[0]
    assert verdict == "not understood" and "a derivative in the answer's own shorthand Z" in reason


def test_the_handouts_notation():
    """The question sheet's D(a -> b), A and B^2 (an index, not a square), with rows that start with "+"."""
    v = _verdicts("elman", "elman")
    assert [x[0] for x in v[6] + v[8] + v[10]] == ["definition"] * 3
    assert v[26][0][0] == "correct" and "reads B^2 as the name defined above" in v[26][0][1]
    wrong = (HERE / "elman_answer.md").read_text().replace(r"A \times B^2 \times B^1", r"A \times B^1 \times B^2")
    assert grade(wrong, zoo.get("elman"))[-1].verdict == "wrong"  # the edges in the wrong order


def test_the_next_word_answers_derivation_over_several_blocks():
    v = _verdicts("next_word", "next_word")
    assert [x[0] for x in v[37]] == ["correct"] * 5  # d for total, \partial for local, as the answer writes them
    assert v[45] == [("correct", "")] and v[47] == [("correct", "")]  # after g_t = ..., the derivation goes on
    assert v[41] == [("correct", "")]  # the side equation itself
    assert not any(x[0] == "wrong" for x in sum(v.values(), []))


def test_total_and_partial_as_written():
    text = (r"$$\frac{d h_2}{d w_h} = h_1 + w_h h_0$$" "\n\n"
            r"$$\frac{d h_2}{d w_h} = h_1$$")
    assert [x[0] for x in _one(text, "scalar")] == ["correct", "wrong"]  # d: total, never the local edge


def test_products_of_jacobians():
    """\\prod_{k=t+1}^{n}: the later steps on the left in numerator layout, the earlier ones (transposed) in
    denominator layout, the identity when empty (t = n)."""
    text = "\n\n".join([
        r"$$\frac{\partial L}{\partial h_t} = \frac{\partial L}{\partial h_n} \prod_{k=t+1}^{n} \frac{\partial h_k}{\partial h_{k-1}}$$",  # noqa: E501
        r"$$\frac{\partial L}{\partial h_t} = \prod_{k=t+1}^{n} \left(W_h^T \operatorname{diag}(\mathbf{1} - h_k \odot h_k)\right) \frac{\partial L}{\partial h_n}$$",  # noqa: E501
        r"$$\frac{\partial L}{\partial h_t} = \prod_{k=t+1}^{n} \left(\operatorname{diag}(\mathbf{1} - h_k \odot h_k) W_h\right) \frac{\partial L}{\partial h_n}$$",  # noqa: E501
        r"$$\frac{\partial L}{\partial h_t} = \prod \frac{\partial h_k}{\partial h_{k-1}}$$",
    ])
    verdicts = _one(text, "vanilla")
    assert [v for v, _ in verdicts] == ["correct", "correct", "wrong", "not understood"]
    assert "needs its index and range" in verdicts[3][1]


def test_numbers_are_checked_in_rationals_where_the_model_allows():
    values = read_values(zoo.get("scalar"), Path(__file__).parents[2] / "examples" / "scalar" / "values.json")
    text = "\n\n".join([r"$$h_1 = 0.1 \times 10 + 1 \times 1 = 2$$", r"$$h_1 = 2.0000001$$",
                        r"$$\frac{\partial L}{\partial w_h} = 40$$"])
    verdicts = [(v.verdict, v.diagnosis) for v in grade(text, zoo.get("scalar"), values=values)]
    assert verdicts == [("correct", "exactly, in rationals"), ("correct", "exactly, in rationals"),
                        ("wrong", "not exactly: the rationals differ, the floats agree to 1e-06"),
                        ("correct", "exactly, in rationals")]


def test_a_wrong_formula_that_follows_from_an_earlier_wrong_claim_names_it():
    text = "\n\n".join([
        r"$$\frac{\partial L}{\partial h_n} = V s$$",
        r"$$\frac{\partial L}{\partial h_{n-1}} = W_h^T \operatorname{diag}(\mathbf{1} - h_n \odot h_n) "
        r"\frac{\partial L}{\partial h_n} = W_h^T \operatorname{diag}(\mathbf{1} - h_n \odot h_n) V s$$",
    ])
    verdicts = [(v.line, v.verdict, v.diagnosis) for v in grade(text, zoo.get("vanilla"))]
    assert verdicts[0] == (1, "wrong", "does not match the true value")
    assert verdicts[1] == (3, "correct", "")  # with the true total derivative in h_n
    assert verdicts[2][1] == "wrong" and verdicts[2][2].endswith(
        "it follows from the answer's own earlier claims \\frac{\\partial L}{\\partial h_n} (line 1), which are "
        "wrong: the first wrong line is 1")


def test_what_a_new_user_wrote():
    """Forms from a new-user trial: an empty product transposed, a sum to a number, a mixed layout (column
    gradients, Jacobians with a row per output), \\hat y without braces, x^{(t)T}, a number read as total."""
    vanilla = _one("\n\n".join([
        r"$$\frac{\partial L}{\partial h_t} = \left[\prod_{k=t+1}^{n} \frac{\partial h_k}{\partial h_{k-1}}\right]^T \frac{\partial L}{\partial h_n}$$",  # noqa: E501
        r"$$\frac{\partial L}{\partial b} = \sum_{t=1}^{3} \frac{\partial L}{\partial h_t} \odot (1 - h_t^2)$$",
    ]), "vanilla")
    assert [v for v, _ in vanilla] == ["correct", "correct"]
    elman = _one(r"$$\frac{\partial o}{\partial W^{hx}} = \sum_{t=1}^{n} (\frac{\partial o}{\partial h^{(t)}} \odot "
                 r"(1 - h^{(t)} \odot h^{(t)}))^{T} x^{(t)T}$$", "elman", layout="numerator")
    assert elman[0][0] == "correct"
    values = read_values(zoo.get("scalar"), Path(__file__).parents[2] / "examples" / "scalar" / "values.json")
    scalar = _one("\n\n".join([r"$$\hat y_2 = 6$$",
                               r"$$\frac{\partial h_2}{\partial w_h} = h_1 + w_h h_0 = 3$$",
                               r"$$\frac{\partial L}{\partial h_2} = 2(\hat{y}_2 - y_2) w_y = 12$$"]),
                  "scalar", values=values)
    assert [v for v, _ in scalar] == ["correct"] * 5


def test_the_python_api_and_its_jupyter_display():
    import symrnn

    grades = symrnn.grade(r"$$\frac{\partial L}{\partial s} = y - \operatorname{softmax}(s)$$", symrnn.zoo.vanilla())
    assert str(grades) == "0 correct, 1 wrong, 0 not understood of 1 claims"
    html = grades._repr_html_()
    assert html.startswith("<table>") and "<math" in html and "wrong sign" in html
    assert "0 correct, 1 wrong" in html


def test_a_missing_or_extra_activation_derivative_is_named():
    text = "\n\n".join([
        r"$$\frac{\partial L}{\partial h_{t-1}} = W_h^T \frac{\partial L}{\partial h_t}$$",
        r"$$\frac{\partial L}{\partial b} = \sum_{t=1}^{n} \frac{\partial L}{\partial h_t}$$",
        r"$$\frac{\partial L}{\partial Z_t} = \frac{\partial L}{\partial h_t} \odot (1 - h_t^2) \odot (1 - h_t^2)$$",
        r"$$\frac{\partial L}{\partial h_{t-1}} = W_x^T \frac{\partial L}{\partial h_t}$$",
    ])
    verdicts = [v.diagnosis for v in grade(text, zoo.get("vanilla"))]
    assert verdicts[0] == verdicts[1] == ("misses a factor: the derivative of h_t's function, 1 - h_t \\odot h_t, "
                                          "next to \\frac{\\partial L}{\\partial h_t}")
    assert verdicts[2].startswith("has one factor too many: \\mathbf{1} - h_{t} \\odot h_{t}")
    assert verdicts[3] == "does not match the true value"  # another matrix: no factor explains it
