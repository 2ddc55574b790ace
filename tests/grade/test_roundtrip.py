"""symrnn's own printed formulas, graded: a correct claim is never marked wrong.

Each model's closed form with its recursion (every line, with its range), in both layouts, is typed into an
answer and graded against the model. Every line of the models without a label position is correct; for the
models with one (the bidirectional models, the tagger) no line is wrong (what the grader does not read yet,
a name at the position ``i`` or a block matrix, is "not understood", with its reason).
"""

import re

import pytest
from click.testing import CliRunner

from symrnn import zoo
from symrnn.cli import main
from symrnn.grade.check import grade


def _answer(text: str) -> str:
    rows = []
    for block in re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", text, re.S):
        for row in block.strip().split("\\\\\n"):
            left, _, right = row.strip().rstrip("\\").strip().partition("&=")
            rows.append(f"$${left.strip()} = {right.strip()}$$")
    return "\n\n".join(rows)


@pytest.mark.parametrize("name", ["vanilla", "vanilla_every", "elman", "lstm", "lstm_every", "gru", "gru_torch",
                                  "scalar", "next_word", "residual", "plain", "mlp", "bidirectional", "tagger"])
@pytest.mark.parametrize("layout", ["denominator", "numerator"])
def test_symrnns_own_closed_forms_grade_as_correct(name, layout):
    model = zoo.get(name)
    i = ["--i", "2"] if model.positional else []
    printed = CliRunner().invoke(main, ["derive", name, "--wrt", model.parameters[0].name, "--n", "3", "--form",
                                        "closed", "--layout", layout, "--no-deltas", *i]).output
    verdicts = grade(_answer(printed), model, i=2 if model.positional else None)
    assert verdicts and not [(v.claim, v.diagnosis) for v in verdicts if v.verdict == "wrong"]
    if not model.positional:
        assert [(v.claim, v.diagnosis) for v in verdicts if v.verdict != "correct"] == []
