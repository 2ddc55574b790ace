"""Random models made of the language's primitives (hypothesis): every printed form passes the
numeric check, and the generated NumPy and JAX modules equal the compiled gradient on a batch.

Each model is an RNN whose pre-activation is a random expression of the primitives (sums,
elementwise products, constant factors and offsets, elementwise functions, division by a
positive term, a number broadcast to a vector, the mean of components), with a random loss
(a softmax cross-entropy with integer labels per step, or a half squared error, summed or
averaged). ``SYMRNN_RANDOM_MODELS`` sets how many (30 in CI; 300 were run by hand).
"""

import os
from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symrnn.codegen import codegen
from symrnn.model import LS, ModelBuilder, mean, sqnorm, tanh, transfer
from symrnn.numeric.engine import CompiledGradient
from symrnn.numeric.forward import concrete_shape
from symrnn.numeric.gradcheck import FORMS, check_model, relative_error
from tests.conftest import load_generated

EXAMPLES = int(os.environ.get("SYMRNN_RANDOM_MODELS", "30"))
FUNCTIONS = ["tanh", "sigmoid", "softplus", "identity"]


def _expression(draw, leaves, depth):
    """A random vector expression of the leaves (terms of shape m x 1)."""
    if depth == 0:
        return draw(st.sampled_from(leaves))
    kind = draw(st.sampled_from(["add", "hadamard", "scale", "offset", "function", "divide", "centre", "leaf"]))
    a = _expression(draw, leaves, depth - 1)
    if kind == "leaf":
        return a
    if kind == "add":
        return a + _expression(draw, leaves, depth - 1)
    if kind == "hadamard":
        return a * _expression(draw, leaves, depth - 1)
    if kind == "scale":
        return draw(st.sampled_from([Fraction(1, 2), 2, Fraction(-3, 4), 0.1])) * a
    if kind == "offset":
        return a + draw(st.sampled_from([1, Fraction(1, 10), -2]))
    if kind == "function":
        return transfer(draw(st.sampled_from(FUNCTIONS)))(a)
    if kind == "divide":  # by a positive term: softplus(.) + 1
        return a / (transfer("softplus")(_expression(draw, leaves, depth - 1)) + 1)
    return a - mean(a)  # a number (1 x 1) broadcast to every component


@st.composite
def models(draw):
    mb = ModelBuilder("random", "A random RNN")
    m, d, K = mb.sizes("m", "d", "K")
    W, U = mb.parameter("W", (m, m)), mb.parameter("U", (m, d))
    b, V = mb.parameter("b", m), mb.parameter("V", (K, m))
    h0 = mb.parameter("h0", m, latex="h_{0}")
    x = mb.input("x", d, latex="x_{{t}}")
    h = mb.state("h", m, init=h0, latex="h_{{t}}")
    leaves = [W @ h[mb.t - 1], U @ x[mb.t], b]
    pre = W @ h[mb.t - 1] + _expression(draw, leaves, draw(st.integers(1, 3)))
    mb.recur(h, tanh(pre))
    if draw(st.booleans()):
        y = mb.label("y", K, latex="y_{{t}}", timed=True)
        q = mb.define("q", LS(V @ h[mb.t]), latex="q_{{t}}")
        L_t = mb.define("L", -q[y[mb.t]], latex="L_{{t}}")
    else:
        target = mb.input("z", K, latex="z_{{t}}")
        L_t = mb.define("L", Fraction(1, 2) * sqnorm(V @ h[mb.t] - target[mb.t]), latex="L_{{t}}")
    total = mb.sum(L_t)
    loss = mb.define("L_all", total / mb.n if draw(st.booleans()) else total, latex="L")
    return mb.build(loss=loss)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(models(), st.integers(0, 1000))
def test_random_models_pass_the_check_and_generate_the_same_numbers(model, seed):
    sizes = {"m": 3, "d": 2, "K": 3}
    rows = check_model(model, 3, sizes, seed=seed, forms=FORMS, layout="denominator")
    assert all(r.passed for r in rows), [(r.form, r.name, r.error) for r in rows if not r.passed]
    n, B, rng = 3, 2, np.random.default_rng(seed)
    params = {p.name: 0.5 * rng.normal(size=concrete_shape(model, p.name, sizes)) for p in model.parameters}
    inputs = {"x": rng.normal(size=(n, 2, B))}
    labels = {}
    if any(v.name == "z" for v in model.inputs):
        inputs["z"] = rng.normal(size=(n, 3, B))
    else:
        labels["y"] = rng.integers(1, 4, size=(n, B))
    reference = CompiledGradient(model)(params, inputs, labels, n).gradients
    for backend in ("numpy", "jax"):
        module = load_generated(codegen(model, backend), f"random_{backend}")
        grads = module.gradients(params, inputs, labels, n)[1]
        for name, ref in reference.items():
            assert relative_error(np.asarray(grads[name]), ref) < 1e-9, (backend, name)
