"""Robustness of the answer reader on input from strangers (hypothesis).

The example answers are mutated (characters and tokens deleted, duplicated, swapped, inserted). Reading
the claims and parsing every side must give a tree or raise FormulaError (with its column), never any
other exception; grading a mutated answer must give verdicts, never raise. SYMRNN_FUZZ_EXAMPLES sets the
number of examples (CI runs the default; more by hand).
"""

import os
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from symrnn import zoo
from symrnn.grade.check import grade
from symrnn.grade.claims import claims
from symrnn.grade.formula import FormulaError, parse
from tests.mutation import mutated

ANSWERS = sorted((Path(__file__).parents[2] / "examples" / "grade").glob("*_answer.md"))
TEXTS = [p.read_text() for p in ANSWERS]
ALPHABET = list("()[]{}^_\\=+-*,.:;$&|'\" \t\n0123456789tnkxyhWLJ") + [
    "\\frac{", "}{", "\\partial ", "\\odot ", "\\otimes ", "\\prod_{k=t+1}^{n} ", "\\sum_{t=1}^{n} ", "\\sum_t ",
    "D(h_t \\rightarrow h_{t+1})", "^T", "^{\\top}", "\\tanh", "\\sigma(", "\\operatorname{diag}(", "\\mathbf{1}",
    "\\mathbb{I}", "I_m", "\\boxed{", "\\text{where } ", "\\quad", "\\\\", "$$", "$", "&=", "\\left(", "\\right)",
    "\\begin{aligned}", "\\end{aligned}", "\\underbrace{", "}_{n}", "\\x00", "\u00e9", "1e400", "0.1", "B^2",
]
EXAMPLES = int(os.environ.get("SYMRNN_FUZZ_EXAMPLES", "300"))


@settings(max_examples=EXAMPLES, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(mutated(TEXTS, ALPHABET))
def test_mutated_answers_parse_or_raise_a_located_error(text):
    for claim in claims(text):
        for side in claim.sides:
            try:
                parse(side)
            except FormulaError as e:
                assert isinstance(e.column, int) and str(e)


@settings(max_examples=max(EXAMPLES // 10, 10), deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(mutated(TEXTS, ALPHABET))
def test_mutated_answers_are_graded_without_an_exception(text):
    short = text[:1500]  # a few claims: grading evaluates each at several points
    verdicts = grade(short, zoo.get("lstm" if "c_t" in short else "vanilla"), n=2)
    assert all(v.verdict in ("correct", "wrong", "not understood", "definition") for v in verdicts)
