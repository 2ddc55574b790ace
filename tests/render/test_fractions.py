"""Divisions by a number print as fractions a reader expects (layer and RMS normalisation)."""

import sympy as sp

from symrnn.operations import algebra as al
from symrnn.operations.functions import reciprocal_of
from symrnn.operations.symbols import T, Var
from symrnn.render.latex import latex

H = sp.Symbol("H")
g = Var("g", None, H, 1, "g")
u = Var("u", None, H, 1, "u")
v = Var("v", None, H, 1, "v")
sigma = Var("sigma", T, 1, 1, r"\sigma^{{t}}")


def test_a_vector_over_a_number_is_one_fraction():
    assert latex(al.mul(g, reciprocal_of(sigma))) == r"\frac{g}{\sigma^{t}}"
    assert latex(al.hadamard(u, al.mul(g, reciprocal_of(sigma)))) == r"u \odot \frac{g}{\sigma^{t}}"


def test_repeated_divisors_are_a_power_and_the_number_joins_them():
    expr = al.mul(sp.Rational(-1, 2) / H, u, reciprocal_of(sigma), reciprocal_of(sigma))
    assert latex(expr) == r"-\frac{u}{2 H (\sigma^{t})^{2}}"


def test_a_number_times_a_componentwise_product_goes_to_its_first_factor():
    inner = al.hadamard(al.mul(sp.Rational(-1, 2), u), v)
    assert latex(al.mul(2, inner)) == r"(-u) \odot v"
    scaled = al.mul(al.hadamard(u, v), reciprocal_of(sigma))
    assert latex(scaled) == r"\frac{1}{\sigma^{t}} (u \odot v)"
