"""symrnn grade: a hand-written derivation checked claim by claim.

The answers below are typed as students write them, from the textbook formulas of each model (the
references are the formulas, not symrnn's output), with the slips people make: a transposed
product, a lost sign, a factor, one step's term for the whole sum, a recursion without its own
step's term. Each verdict and diagnosis is asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from symrnn import zoo
from symrnn.cli import main
from symrnn.grade.check import grade
from symrnn.grade.claims import claims
from symrnn.grade.formula import FormulaError, parse

TANH_RNN = (Path(__file__).parents[2] / "examples" / "grade" / "tanh_rnn_answer.md").read_text()


def test_the_claims_of_an_answer_with_their_places():
    found = claims(TANH_RNN)
    assert [(c.line, c.column, len(c.sides)) for c in found] == [
        (3, 23, 2), (4, 3, 2), (6, 4, 2), (7, 6, 2), (9, 1, 2), (10, 1, 2), (11, 1, 2), (12, 1, 3), (14, 19, 2),
        (15, 3, 2)]
    assert found[2].sides[1] == r"W_h^T \left(\frac{\partial L}{\partial h_{t+1}} \odot (1 - h_{t+1}^2)\right)"
    continued = claims("$$\\frac{\\partial L}{\\partial b} = a$$\n\n$$= c \\quad t = n-1, \\dots, 1$$")
    assert [(c.sides, c.range, c.positions) for c in continued] == [
        (["\\frac{\\partial L}{\\partial b}", "a", "c"], "t = n-1, \\dots, 1", [(1, 3), (1, 3), (3, 3)])]
    apart = claims("$$\\frac{\\partial L}{\\partial b} = a$$\nthen, for another question,\n$$= c$$")
    assert [c.sides for c in apart] == [["\\frac{\\partial L}{\\partial b}", "a"]]  # prose between: no chain


def test_formulas_as_students_write_them():
    assert parse(r"W^{r,T} \text{diag}(\mathbb{1} - \tanh^2 g_t) \frac{\partial \mathcal{J}}{\partial h_t}") == (
        "mul", ("mul", ("transpose", ("name", "W^{r}")), ("diag", ("sub", ("ones",), ("call_squared", "tanh",
                                                                                     ("name", "g_t"))))),
        ("derivative", r"\mathcal{J}", "h_t"))
    assert parse(r"\underbrace{\frac{\partial J}{\partial h_t}}_{n \times 1} \cdot \underbrace{W_r}_{n \times m}") == (
        "mul", ("derivative", "J", "h_t"), ("name", "W_r"))
    assert parse(r"\left[ W^T + \mathbb{I} \right] \delta_{t+1}")[1] == (
        "add", ("transpose", ("name", "W")), ("identity",))
    with pytest.raises(FormulaError, match=r"column 9 \(near '\\\\\} b'\)"):
        parse(r"a + \big\} b")


def test_verdicts_and_diagnoses():
    verdicts = grade(TANH_RNN, zoo.vanilla())
    assert [(v.line, v.verdict, v.diagnosis) for v in verdicts] == [
        (3, "correct", ""),
        (4, "correct", ""),
        (6, "correct", ""),
        (7, "definition", r"\delta_t is defined here and read below"),
        (9, "correct", ""),
        (10, "wrong", "transposed: the right side is the transpose of the true value (a layout slip)"),
        (11, "wrong", "wrong sign"),
        (12, "correct", ""),
        (12, "wrong", "off by a factor 2"),
        (14, "wrong", "one step's term: the gradient is its sum over the steps (\\sum_t of the right side is correct)"),
        (15, "correct", ""),
    ]
    assert {v.layout for v in verdicts if v.verdict == "correct"} == {"denominator"}


def test_recursions_with_and_without_their_range():
    """A recursion is checked at every step where both sides exist (h_{t+1} does not at t = n)."""
    answer = r"""
$$\frac{\partial L}{\partial h_t} = W_h^T \left(\frac{\partial L}{\partial h_{t+1}} \odot (1 - h_{t+1}^2)\right)$$
$$\frac{\partial L}{\partial h_t} = W_h^T \left(\frac{\partial L}{\partial h_{t+1}} \odot (1 - h_{t+1}^2)\right)
  \quad t = n-1, \dots, 1$$
$$\frac{\partial L}{\partial h_t} = V^T \frac{\partial L}{\partial s}$$
"""
    first, second, third = grade(answer, zoo.vanilla())
    assert first.verdict == second.verdict == "correct"
    assert third.verdict == "wrong" and third.diagnosis.startswith("holds only at the last step t = n")
    every = grade(answer, zoo.get("vanilla_every"))  # a loss at every step: dL/dh_t has its own step's term too
    assert [v.verdict for v in every] == ["wrong", "wrong", "not understood"]  # s is s_t there: no s


def test_numerator_layout_rows_as_students_write_them():
    answer = r"""$$\frac{\partial L}{\partial x_t} = \left( \frac{\partial L}{\partial h_t} \odot (\vec{1} - h_t^2)
    \right) W_x$$
$$\frac{\partial L}{\partial W_x} = \sum_{t=1}^T \left( \frac{\partial L}{\partial h_t} \odot (\vec{1} - h_t^2)
    \right)^T x_t^T$$"""
    assert [(v.verdict, v.layout) for v in grade(answer, zoo.vanilla())] == [
        ("correct", "numerator"), ("correct", "numerator")]
    columns = grade(answer, zoo.vanilla(), layout="denominator")  # the rows do not multiply as columns
    assert [v.verdict for v in columns] == ["not understood"] * 2 and "does not exist" in columns[0].diagnosis


def test_the_plain_and_the_residual_rnn_of_the_worked_answer():
    """The worked answer's recursions: each holds for its own model and not for the other."""
    plain = r"$$\frac{\partial J}{\partial h_{t-1}} = W_r^T \text{diag}(\mathbb{1} - \tanh^2 g_t) \frac{\partial J}{\partial h_t}$$"
    residual = (r"$$\frac{\partial J}{\partial h_{t-1}} = \left[W_r^T \text{diag}(\mathbb{1} - \tanh^2 g_t) + "
                r"\mathbb{I} \right] \frac{\partial J}{\partial h_t}$$")
    assert [v.verdict for v in grade(plain + residual, zoo.get("plain"))] == ["correct", "wrong"]
    assert [v.verdict for v in grade(plain + residual, zoo.get("residual"))] == ["wrong", "correct"]


def test_what_is_not_understood_says_where_and_why():
    answer = "Garbage $$\\frac{\\partial L}{\\partial W_x} = W_x ++ ) $$ and $$\\frac{\\partial L}{\\partial q} = 1$$" \
             "\nand $$\\frac{\\partial h_t}{\\partial W_h} = h_{t-1}$$ and $$h_2 = 3$$"
    verdicts = grade(answer, zoo.vanilla())
    assert [v.verdict for v in verdicts] == ["not understood", "not understood", "wrong", "not understood"]
    assert "cannot read the formula at column" in verdicts[0].diagnosis and verdicts[0].line == 1
    assert "q is not a variable of the model" in verdicts[1].diagnosis
    assert "a number" in verdicts[3].diagnosis


def test_jacobians_in_a_matrix_in_the_vec_convention():
    right = (r"$$\frac{\partial h_t}{\partial W_h} = \operatorname{diag}(\mathbf{1} - h_t \odot h_t) "
             r"(h_{t-1}^T \otimes I_m)$$")
    assert [v.verdict for v in grade(right, zoo.vanilla())] == ["correct"]
    chain = r"$$\frac{\partial L}{\partial W_h} = \sum_{t=1}^{n} \frac{\partial L}{\partial h_t} \frac{\partial h_t}{\partial W_h}$$"
    assert [v.verdict for v in grade(chain, zoo.vanilla())] == ["correct"]
    bare = r"$$\frac{\partial h_t}{\partial W_h} = \operatorname{diag}(\mathbf{1} - h_t \odot h_t) (h_{t-1}^T \otimes I)$$"
    assert "needs its size: write I_m" in grade(bare, zoo.vanilla())[0].diagnosis


def test_local_jacobians_of_one_step():
    """The edge Jacobians D(h_{t-1} -> h_t) and D(b -> h_t) (the other steps held), in either layout, and
    the chain rule written with them."""
    answer = r"""
$$\frac{\partial h_t}{\partial h_{t-1}} = \operatorname{diag}(1 - h_t^2) W_h$$
$$\frac{\partial h_t}{\partial h_{t-1}} = W_h$$
$$\frac{\partial h_t}{\partial b} = \operatorname{diag}(1 - h_t \odot h_t)$$
$$\frac{\partial L}{\partial h_{t-1}} = \frac{\partial L}{\partial h_t} \frac{\partial h_t}{\partial h_{t-1}}$$
$$\frac{\partial L}{\partial b} = \sum_{t=1}^{n} \frac{\partial L}{\partial h_t} \frac{\partial h_t}{\partial b}$$
"""
    verdicts = grade(answer, zoo.vanilla())
    assert [(v.verdict, v.layout) for v in verdicts] == [
        ("correct", "numerator"), ("wrong", "numerator"), ("correct", "denominator"), ("correct", "numerator"),
        ("correct", "numerator")]


def test_the_command(tmp_path):
    answer = tmp_path / "answer.md"
    answer.write_text(TANH_RNN)
    table = CliRunner().invoke(main, ["grade", str(answer), "--model", "vanilla"])
    assert table.exit_code == 1, table.output
    assert "6 correct, 4 wrong, 0 not understood of 10 claims" in table.output
    assert "off by a factor 2" in table.output
    out = CliRunner().invoke(main, ["grade", str(answer), "--model", "vanilla", "--format", "json"])
    data = json.loads(out.output)
    assert [d["verdict"] for d in data][:4] == ["correct", "correct", "correct", "definition"]
    assert set(data[0]) == {"line", "column", "claim", "verdict", "diagnosis", "relative_error", "layout",
                            "correct_formula"}
    assert data[5]["correct_formula"] == (r"\frac{\partial L}{\partial W_{h}} = \sum_{t=1}^{n} (\frac{\partial L}"
                                          r"{\partial h_{t}} \odot (\mathbf{1} - h_{t} \odot h_{t})) h_{t-1}^{\top}")
    assert data[0]["correct_formula"] is None  # a correct claim needs none
    right = tmp_path / "right.md"
    right.write_text("$$\\frac{\\partial L}{\\partial s} = \\operatorname{softmax}(s) - y$$")
    assert CliRunner().invoke(main, ["grade", str(right), "--model", "vanilla"]).exit_code == 0
    binary = tmp_path / "bad.md"
    binary.write_bytes(b"\xff\xfe\x00")
    refused = CliRunner().invoke(main, ["grade", str(binary), "--model", "vanilla"])
    assert refused.exit_code == 2 and "not UTF-8" in refused.output


def test_numbers_at_the_questions_own_values(tmp_path):
    """The scalar RNN's worked question (w_x = 0.1, w_h = 1, w_y = 2, h_0 = 1, x_t = 10, y_t = 3): the numbers
    by hand are h_1 = 2, h_2 = 3, yhat_1 = 4, yhat_2 = 6, dL/dh_1 = 16, dL/dw_h = 40."""
    from symrnn.numeric.values import read_values

    answer = r"""
$$h_1 = w_x x_1 + w_h h_0 = 0.1 \times 10 + 1 \times 1 = 2$$
$$\hat{y}_1 = w_h h_1 = 2$$
$$\therefore \frac{\partial L}{\partial h_1} = -8$$
$$\frac{\partial L}{\partial w_h} = 40$$
"""
    values = read_values(zoo.scalar(), "examples/scalar/values.json")
    verdicts = grade(answer, zoo.scalar(), n=2, values=values)
    assert [(v.verdict, v.diagnosis) for v in verdicts] == [
        ("correct", ""), ("correct", "exactly, in rationals"), ("correct", "exactly, in rationals"),
        ("wrong", "does not match the true value"), ("wrong", "off by a factor 0.5"),
        ("wrong", "off by a factor -0.5"), ("correct", "exactly, in rationals")]
    without = grade(answer, zoo.scalar(), n=2)
    assert without[2].verdict == "not understood" and "--values" in without[2].diagnosis
    path = tmp_path / "answer.md"
    path.write_text(answer)
    result = CliRunner().invoke(main, ["grade", str(path), "--model", "scalar", "--n", "2", "--values",
                                       "examples/scalar/values.json"])
    assert result.exit_code == 1 and "4 correct, 3 wrong, 0 not understood of 7 claims" in result.output
