"""Numbers and constants in the model language: 2 a_t, 0.5, \\frac{1}{2}, \\frac{1}{n} \\sum_t L_t, a / 2."""

from fractions import Fraction

import pytest
import sympy as sp

from symrnn.errors import SymRNNError
from symrnn.model import ModelBuilder, sqnorm, tanh
from symrnn.model.rnn_reader import parse_spec
from symrnn.operations.primitives import constant
from symrnn.render.rnn_writer import spec_text

MEAN_SQUARED = r"""model mse "An RNN with a mean squared error"
sizes m
param W \in \mathbb{R}^{m \times m}
param U \in \mathbb{R}^{m \times m}
param h_0 \in \mathbb{R}^{m}
input x_t \in \mathbb{R}^{m}
input y_t \in \mathbb{R}^{m}

for t = 1..n:
    h_t = \tanh(W h_{t-1} + 0.5 U x_t)
    L_t = \frac{1}{2} (h_t - y_t)^2

L = \frac{1}{n} \sum_t L_t
loss L
"""

SHOWN = r"""model mse "An RNN with a mean squared error"

sizes m
input x_{t} \in \mathbb{R}^{m}
input y_{t} \in \mathbb{R}^{m}
param W \in \mathbb{R}^{m \times m}
param U \in \mathbb{R}^{m \times m}
param h_{0} \in \mathbb{R}^{m}

for t = 1..n:
    h_{t} = \tanh(W h_{t-1} + \frac{1}{2} U x_{t})
    L_{t} = \frac{1}{2} (h_{t} - y_{t})^2

L = \frac{1}{n} \sum_{t} L_{t}
loss L
"""


def test_a_mean_squared_error_reads_and_prints_back():
    model = parse_spec(MEAN_SQUARED, "mse.rnn")
    assert spec_text(model) == SHOWN
    assert spec_text(parse_spec(SHOWN, "again.rnn")) == SHOWN


@pytest.mark.parametrize("written, shown", [
    (r"2 W h_{t-1}", r"2 W h_{t-1}"),
    (r"W h_{t-1} \cdot 3", r"3 W h_{t-1}"),
    (r"\frac{W h_{t-1}}{4}", r"\frac{1}{4} W h_{t-1}"),
    (r"W h_{t-1} / 4", r"\frac{1}{4} W h_{t-1}"),
    (r"\frac{3}{m} W h_{t-1}", r"\frac{3}{m} W h_{t-1}"),
    (r"0.25 (W h_{t-1} + x_t)", r"\frac{1}{4} (W h_{t-1} + x_{t})"),
    (r"-0.5 W h_{t-1}", r"-\frac{1}{2} W h_{t-1}"),
    (r"2 (3 W h_{t-1})", r"6 W h_{t-1}"),
    (r"\frac{1}{2} 2 W h_{t-1}", r"W h_{t-1}"),
    (r"\dfrac{1}{2 n} W h_{t-1}", r"\frac{1}{2 n} W h_{t-1}"),
    (r"1 - 0.5 x_t", r"(1 - \frac{1}{2} x_{t})"),
    (r"\frac12 W h_{t-1}", r"\frac{1}{2} W h_{t-1}"),
    (r"1e-3 W h_{t-1} + 2.5E2 x_t", r"\frac{1}{1000} W h_{t-1} + 250 x_{t}"),
    (r"--W h_{t-1}", r"W h_{t-1}"),
    (r"W h_{t-1} + 2", r"W h_{t-1} + 2"),
    (r"3 - W h_{t-1}", r"-W h_{t-1} + 3"),
    (r"W h_{t-1} + \mathbf{1}^\top x_t", r"W h_{t-1} + \operatorname{sum}(x_{t})"),
    (r"W h_{t-1} - \mathbf{1}^{\top} (x_t \odot x_t)", r"W h_{t-1} - \operatorname{sum}(x_{t} \odot x_{t})"),
    (r"W (2 h_{t-1}) \odot (3 x_t)", r"6 (W h_{t-1} \odot x_{t})"),
])
def test_constant_factors_anywhere_a_product_is_allowed(written, shown):
    text = MEAN_SQUARED.replace(r"\tanh(W h_{t-1} + 0.5 U x_t)", rf"\tanh({written})")
    printed = spec_text(parse_spec(text, "mse.rnn"))
    assert rf"h_{{t}} = \tanh({shown})" in printed
    assert spec_text(parse_spec(printed, "again.rnn")) == printed


def _error(text: str) -> str:
    with pytest.raises(SymRNNError) as info:
        parse_spec(text, "mse.rnn")
    return str(info.value)


@pytest.mark.parametrize("written, message", [
    (r"\frac{2}{x_t}", "a number over a variable is not written yet"),
    (r"\frac{W h_{t-1}}{W}", "cannot divide W h_{t-1} (m x 1) by W (m x m)"),
    (r"\frac{W h_{t-1}}{1 - 1}", "division by zero"),
    (r"0 W h_{t-1}", "a factor 0 leaves nothing of W"),
    (r"W h_{t-1} / 0.0", "division by zero"),
    (r"10000000000000 W h_{t-1}", "significant digits (or a numerator or denominator above 10^12): round it"),
    (r"0.1234567890123 W h_{t-1}", "round it"),
    (r"2 2 W h_{t-1}", "two numbers side by side"),
    (r"\sqrt{2} W h_{t-1}", "write its value as a decimal"),
])
def test_constants_that_cannot_be_written_say_what_to_write(written, message):
    text = MEAN_SQUARED.replace(r"\tanh(W h_{t-1} + 0.5 U x_t)", rf"\tanh({written})")
    error = _error(text)
    assert message in error and "mse.rnn:10:" in error, error


def test_a_sum_over_t_inside_a_larger_expression_says_to_define_it_apart():
    error = _error(MEAN_SQUARED.replace(r"L = \frac{1}{n} \sum_t L_t", r"L = 1 - \frac{1}{n} \sum_t L_t"))
    assert r"define S = \frac{1}{n} \sum_{t} L_{t} on a line of its own, then use S" in error
    assert error.startswith("mse.rnn:13:")


def test_a_number_alone_is_not_a_term():
    error = _error(MEAN_SQUARED.replace(r"L_t = \frac{1}{2} (h_t - y_t)^2", "L_t = 0.5"))
    assert "a number alone is not a term of an expression" in error
    assert r"\frac{1}{2} (h_{t} - y_{t})^2" in error  # what to write instead


def test_the_python_api_takes_the_same_constants():
    mb = ModelBuilder("mse", "An RNN with a mean squared error")
    m = mb.sizes("m")
    W, U = mb.parameter("W", (m, m)), mb.parameter("U", (m, m))
    h0 = mb.parameter("h_0", m, latex="h_{0}")
    x, y = mb.input("x", m, latex="x_{{t}}"), mb.input("y", m, latex="y_{{t}}")
    h = mb.state("h", m, init=h0, latex="h_{{t}}")
    mb.recur(h, tanh(W @ h[mb.t - 1] + 0.5 * (U @ x[mb.t])))
    L_t = mb.define("L", Fraction(1, 2) * sqnorm(h[mb.t] - y[mb.t]), latex="L_{{t}}")
    L = mb.define("L_all", mb.sum(L_t) / mb.n, latex="L")
    assert spec_text(mb.build(loss=L)) == SHOWN


@pytest.mark.parametrize("value, expected", [
    ("0.5", sp.Rational(1, 2)), (0.1, sp.Rational(1, 10)), (Fraction(2, 3), sp.Rational(2, 3)), (3, sp.Integer(3)),
    ("1e-3", sp.Rational(1, 1000)),
])
def test_constants_are_exact_rationals(value, expected):
    assert constant(value) == expected


@pytest.mark.parametrize("value", [True, float("nan"), float("inf"), "abc", "1/0", sp.Symbol("q"), 2 ** 60,
                                   sp.sqrt(sp.Symbol("n", integer=True, positive=True))])
def test_constants_that_are_not_numbers_are_refused(value):
    with pytest.raises(SymRNNError):
        constant(value)
