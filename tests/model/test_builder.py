"""Declaring models: the frozen result and the errors a person can act on."""

import pytest

from symrnn.errors import ShapeError, SpecError
from symrnn.model import LS, Kind, ModelBuilder, g, tanh
from symrnn.zoo import elman


def _start():
    mb = ModelBuilder("test")
    m, d, K = mb.sizes("m", "d", "K")
    x = mb.input("x", d)
    y = mb.label("y", K)
    W = mb.parameter("W", (m, d), latex="W^{hx}")
    U = mb.parameter("U", (m, m), latex="W^{hh}")
    h0 = mb.parameter("h0", m, latex="h^{(0)}")
    V = mb.parameter("V", (K, m))
    return mb, (m, d, K), x, y, W, U, h0, V


def test_elman_declaration_is_frozen_and_named_as_the_handout():
    model = elman()
    assert [v.latex for v in model.parameters] == ["W^{hx}", "W^{hh}", "b^{h}", "h^{(0)}", "V", r"\gamma"]
    assert [d.target for d in model.definitions] == ["a", "h", "l", "q", "o"]
    assert model.var("h").kind is Kind.STATE and model.var("h").init == "h0"
    assert model.loss == "o"
    assert hash(model) == hash(elman())
    assert model.functions == ["g"] and model.abstract_functions == ["g"]
    assert elman().bind(g="tanh") == elman("tanh")


def test_shape_mismatch_names_the_operands():
    mb, _, x, y, W, U, h0, V = _start()
    h = mb.state("h", W.shape[0], init=h0)
    with pytest.raises(ShapeError, match=r"W\^\{hx\} is m x d but multiplies h\^\{\(t-1\)\}, a vector of size m; "
                                         r"expected a vector of size d"):
        W @ h[mb.t - 1]


def test_forward_recurrence_cannot_read_the_future():
    mb, _, x, y, W, U, h0, V = _start()
    h = mb.state("h", W.shape[0], init=h0)
    with pytest.raises(SpecError, match=r"reads h\^\{\(t\+1\)\}; it can read only h\^\{\(t-1\)\}"):
        mb.recur(h, g(W @ x[mb.t] + U @ h[mb.t + 1]))


def test_missing_initial_state():
    mb, _, x, y, W, U, h0, V = _start()
    h = mb.state("h", W.shape[0])
    with pytest.raises(SpecError, match=r"has no initial state; declare it with state\(\.\.\., init="):
        mb.recur(h, g(W @ x[mb.t] + U @ h[mb.t - 1]))


def test_loss_must_be_scalar():
    mb, _, x, y, W, U, h0, V = _start()
    h = mb.state("h", W.shape[0], init=h0)
    mb.recur(h, tanh(W @ x[mb.t] + U @ h[mb.t - 1]))
    q = mb.define("q", LS(V @ h[mb.n]))
    with pytest.raises(ShapeError, match=r"the loss q must be a scalar, but it is K x 1"):
        mb.build(loss=q)


def test_time_indexed_variable_needs_its_index():
    mb, _, x, y, W, U, h0, V = _start()
    with pytest.raises(SpecError, match=r"x varies over time: write x\[t\]"):
        W @ x


def test_definition_reading_t_is_computed_per_step():
    mb, _, x, y, W, U, h0, V = _start()
    h = mb.state("h", W.shape[0], init=h0)
    mb.recur(h, tanh(W @ x[mb.t] + U @ h[mb.t - 1]))
    lt = mb.define("l", V @ h[mb.t])
    assert (lt.decl.timed, lt.decl.loop, lt.time, lt.display) == (True, h.decl.loop, mb.t, "l^{(t)}")
    with pytest.raises(SpecError, match=r"h varies over time: write h\[t\]"):
        mb.define("l2", V @ h)
    with pytest.raises(SpecError, match=r"sum\(\) adds up a variable read at t"):
        mb.sum(h[mb.n])


def test_state_without_recurrence_and_duplicates():
    mb, _, x, y, W, U, h0, V = _start()
    with pytest.raises(SpecError, match="declared twice"):
        mb.parameter("W", 3)
    h = mb.state("h", W.shape[0], init=h0)
    o = mb.define("o", -LS(V @ h[mb.n])[y])
    with pytest.raises(SpecError, match="state h has no recurrence"):
        mb.build(loss=o)


def test_unknown_function():
    from symrnn.model import transfer

    with pytest.raises(SpecError, match="unknown function 'tahn'"):
        transfer("tahn")


def test_model_displays_its_equations():
    model = elman()
    assert model._repr_latex_() == (
        r"$$\begin{aligned}a^{(t)} &= W^{hx} x^{(t)} + W^{hh} h^{(t-1)} + b^{h} \\ "
        r"h^{(t)} &= g(a^{(t)}), \quad t = 1, \dots, n, \ h^{(0)}\ \text{given} \\ "
        r"l &= V h^{(n)} + \gamma \\ q &= \operatorname{LS}(l) \\ o &= -q_{y}\end{aligned}$$")
    assert str(model).splitlines()[:3] == [
        "elman: Elman RNN (Collins, Question 1)",
        "a^{(t)} = W^{hx} x^{(t)} + W^{hh} h^{(t-1)} + b^{h}",
        r"h^{(t)} = g(a^{(t)}), \quad t = 1, \dots, n, \ h^{(0)}\ \text{given}",
    ]


def test_pathsum_displays_as_latex_in_a_notebook():
    from symrnn import latex, pathsum

    ps = pathsum(elman(), "V", 2)
    assert ps._repr_latex_() == str(ps) == latex(ps)
    assert ps._repr_latex_().startswith(r"\begin{align*}")


def test_softmax_as_a_variable_derives_and_checks():
    from symrnn.model.builder import inner, softmax
    from symrnn.numeric.gradcheck import FORMS, check_model

    mb = ModelBuilder("probabilities")
    N, M = mb.sizes("N", "M")
    x = mb.input("x", N, timed=False)
    y = mb.input("y", N, timed=False, onehot=True)
    W = mb.parameter("W", (N, N))
    p = mb.define("p", softmax(W @ x))
    model = mb.build(loss=mb.define("J", inner(y, p)))
    rows = check_model(model, 1, {"N": 4, "M": 2}, forms=FORMS, layout="denominator")
    assert all(r.passed for r in rows) and [r.form for r in rows] == ["pathsum", "closed", "recursion"]
