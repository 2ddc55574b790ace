"""Robustness of the text format on input from strangers (hypothesis).

Valid specs are mutated (characters and tokens deleted, duplicated, swapped, inserted);
parsing must either give a model or raise SpecError, never any other exception, and
each parse must finish within the deadline (one second).
"""

import os
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from symrnn.errors import SpecError
from symrnn.model.rnn_reader import parse_spec
from tests.model.test_constants import MEAN_SQUARED
from tests.mutation import mutated

SPECS = sorted((Path(__file__).parents[2] / "examples" / "specs").rglob("*.rnn")) + sorted(
    (Path(__file__).parents[2] / "examples" / "literature").glob("*/model.rnn"))  # the whole language
TEXTS = [p.read_text() for p in SPECS] + [MEAN_SQUARED]  # constants: 0.5, \frac{1}{2}, \frac{1}{n}
ALPHABET = list("()[]{}^_\\=+-*,.:;$%#&|'\" \t\n0123456789tnijxyhgRm") + [
    "\\eta", "\\in", "\\dots", "for", "let", "loss", "param", "input", "CONCAT(", "LS(", "\\sum_t", "\x00", "\u00e9",
    "\\mathbb{R}^{", "    ", "\n    ", "^{(t-1)}", "_{", "onehot", "1 - ",
    "\\frac{", "}{", "0.5", ".25", "\\cdot", "/", "\\dfrac", "\\frac{1}{n}", "2 ", "0 ", "1e9",
    "\\mathbf{1}^\\top ", "\\sqrt{", "\\operatorname{mean}(", "\\exp(", "\\log(", "label y_t \\in \\{1 \\dots K\\}",
    "q_{t, y_t}", "y_{t-1}", "h_{n}", "_{0} = ",
    "\\sum_j ", "_{t,j}", "h_j", "\\alpha_{t,j}", "e_t", "_{j-1}", "\\operatorname{softmax}(", "h_j^\\top ",
]
EXAMPLES = int(os.environ.get("SYMRNN_FUZZ_EXAMPLES", "1000"))


def test_the_seed_specs_parse():
    for path, text in zip([*SPECS, "mse.rnn"], TEXTS, strict=True):
        assert parse_spec(text, str(path)).loss


@settings(max_examples=EXAMPLES, deadline=timedelta(seconds=1), suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(mutated(TEXTS, ALPHABET))
def test_mutated_specs_parse_or_raise_spec_error(text):
    try:
        parse_spec(text, "fuzz.rnn")
    except SpecError as e:
        assert str(e).startswith("fuzz.rnn")
