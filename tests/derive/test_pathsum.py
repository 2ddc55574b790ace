"""The path-sum LaTeX of Q1b, exactly in the handout's form."""

from pathlib import Path

import pytest

from symrnn.derive import pathsum
from symrnn.errors import SymRNNError
from symrnn.render.latex import latex, pathsum_equation, pathsum_where
from symrnn.zoo import elman

EXAMPLES = Path(__file__).parents[2] / "examples" / "elman" / "expected"

Q1B = r"""\begin{align*}
  \frac{\partial o}{\partial W^{hx}} &= A \frac{\partial h^{(3)}}{\partial W^{hx}} + A B^{(2)} \frac{\partial h^{(2)}}{\partial W^{hx}} + A B^{(2)} B^{(1)} \frac{\partial h^{(1)}}{\partial W^{hx}}
\end{align*}
where
\begin{align*}
  A &= D(q \rightarrow o) D(l \rightarrow q) D(h^{(3)} \rightarrow l) \\
  B^{(t)} &= D(h^{(t)} \rightarrow h^{(t+1)}) = \operatorname{diag}(g'(a^{(t+1)})) W^{hh}, \quad t = 1, 2 \\
  D(q \rightarrow o) &= -e_{y}^{\top} \\
  D(l \rightarrow q) &= I - \mathbf{1}\,\operatorname{softmax}(l)^{\top} \\
  D(h^{(3)} \rightarrow l) &= V \\
  \frac{\partial h^{(t)}}{\partial W^{hx}} &= D(W^{hx} \rightarrow h^{(t)}) = \operatorname{diag}(g'(a^{(t)})) (x^{(t)\top} \otimes I_{m}), \quad t = 1, 2, 3 \\
  a^{(t)} &= W^{hx} x^{(t)} + W^{hh} h^{(t-1)} + b^{h}
\end{align*}

Each $\frac{\partial h^{(t)}}{\partial W^{hx}}$ is the local Jacobian of its edge, $D(W^{hx} \rightarrow h^{(t)})$: the derivative of the equation of $h^{(t)}$ in $W^{hx}$ with the other arguments of $h^{(t)}$ held fixed, not a total derivative.

Jacobians are in numerator layout: $D(a \rightarrow b)$ has a row for each component of $b$ and a column for each component of $a$.

$W^{hx}$ is $m \times d$; Jacobians with respect to it use the vec convention: $\operatorname{vec}(W^{hx})$ stacks its columns, so that $W^{hx} u = (u^{\top} \otimes I_{m}) \operatorname{vec}(W^{hx})$, and in numerator layout $\frac{\partial o}{\partial W^{hx}}$ is a row of $d m$ entries; the denominator layout gives it the shape of $W^{hx}$."""  # noqa: E501


def test_q1b_exactly():
    assert latex(pathsum(elman(), "W^{hx}", 3)) == Q1B


def test_q1b_equation_is_the_sheets_answer():
    assert pathsum_equation(pathsum(elman(), "W^{hx}", 3)) == (
        r"\frac{\partial o}{\partial W^{hx}} = A \frac{\partial h^{(3)}}{\partial W^{hx}}"
        r" + A B^{(2)} \frac{\partial h^{(2)}}{\partial W^{hx}}"
        r" + A B^{(2)} B^{(1)} \frac{\partial h^{(1)}}{\partial W^{hx}}")


@pytest.mark.parametrize("wrt,equation", [
    ("V", r"\frac{\partial o}{\partial V} = D(q \rightarrow o) D(l \rightarrow q) \frac{\partial l}{\partial V}"),
    (r"\gamma", r"\frac{\partial o}{\partial \gamma} = D(q \rightarrow o) D(l \rightarrow q) "
                r"\frac{\partial l}{\partial \gamma}"),
    ("h^{(0)}", r"\frac{\partial o}{\partial h^{(0)}} = D(q \rightarrow o) D(l \rightarrow q) "
                r"D(h^{(2)} \rightarrow l) B^{(1)} \frac{\partial h^{(1)}}{\partial h^{(0)}}"),
    ("x^{(2)}", r"\frac{\partial o}{\partial x^{(2)}} = D(q \rightarrow o) D(l \rightarrow q) "
                r"D(h^{(2)} \rightarrow l) \frac{\partial h^{(2)}}{\partial x^{(2)}}"),
    ("b^{h}", r"\frac{\partial o}{\partial b^{h}} = A \frac{\partial h^{(2)}}{\partial b^{h}} "
              r"+ A B^{(1)} \frac{\partial h^{(1)}}{\partial b^{h}}"),
])
def test_every_parameter_and_input_for_n_2(wrt, equation):
    assert pathsum_equation(pathsum(elman(), wrt, 2)) == equation


def test_named_factor_values_for_other_parameters():
    where = dict(pathsum_where(pathsum(elman(), "V", 4)))
    assert where[r"\frac{\partial l}{\partial V}"] == r"D(V \rightarrow l) = h^{(4)\top} \otimes I_{K}"
    where = dict(pathsum_where(pathsum(elman(), r"\gamma", 1)))
    assert where[r"\frac{\partial l}{\partial \gamma}"] == r"D(\gamma \rightarrow l) = I"
    where = dict(pathsum_where(pathsum(elman("tanh"), "b^{h}", 7)))
    assert where["B^{(t)}"] == (r"D(h^{(t)} \rightarrow h^{(t+1)}) = \operatorname{diag}(\mathbf{1} - h^{(t+1)} "
                              r"\odot h^{(t+1)}) W^{hh}, \quad t = 1, \dots, 6")


def test_n_1_has_one_path_and_no_shared_name():
    ps = pathsum(elman(), "W^{hx}", 1)
    assert ps.shared is None
    assert pathsum_equation(ps) == (r"\frac{\partial o}{\partial W^{hx}} = D(q \rightarrow o) D(l \rightarrow q) "
                                    r"D(h^{(1)} \rightarrow l) \frac{\partial h^{(1)}}{\partial W^{hx}}")


def test_long_sums_break_lines():
    text = latex(pathsum(elman(), "W^{hx}", 5))
    assert text.count(r"&\quad + ") == 4


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("d_o_d_*.tex")), ids=lambda p: p.name)
def test_examples_are_current(path):
    wrt = {"Whx": "W^{hx}", "Whh": "W^{hh}", "bh": "b^{h}", "h0": "h^{(0)}", "V": "V", "gamma": r"\gamma",
           "x1": "x^{(1)}"}[path.stem.split("_")[3]]
    assert latex(pathsum(elman(), wrt, 3)) + "\n" == path.read_text()


def test_errors():
    with pytest.raises(SymRNNError, match="cannot be differentiated with respect to itself"):
        pathsum(elman(), "o", 2)
    with pytest.raises(SymRNNError, match=r"there are 1001 paths from W\^\{hx\} to the loss"):
        pathsum(elman(), "W^{hx}", 1001)


def test_many_paths_are_grouped_by_the_step_they_leave_wrt():
    from symrnn.zoo import stacked_bidirectional

    ps = pathsum(stacked_bidirectional(), "W^{hx}", 3, i=2)
    assert ps.grouped and [(f.edges[0][1].t, len(members)) for f, members in ps.groups] == [(2, 3), (1, 4), (3, 1)]
    text = latex(ps)
    assert text.count(r"\Big(") == 2 and r"\Big) \frac{\partial h^{(1)}}{\partial W^{hx}} \\" in text
    assert "The 8 paths are grouped by the step at which they leave $W^{hx}$" in text
    assert not pathsum(elman(), "W^{hx}", 5).grouped  # one path per partial: nothing to group


def test_unit_edges_are_left_out_and_an_edge_at_every_step_is_one_line():
    from symrnn import zoo
    from symrnn.numeric.gradcheck import check_model

    model = zoo.get("vanilla_every")
    ps = pathsum(model, "W_x", 3)
    assert [(str(u), str(v)) for u, v in ps.units] == [("Lt[1]", "L"), ("Lt[2]", "L"), ("Lt[3]", "L")]
    assert all(e not in f.edges for term in ps.terms for f in term for e in ps.units)
    text = latex(ps)
    assert r"D(s_{t} \rightarrow L_{t}) &= -y_{t}^{\top} (I - \mathbf{1}\,\operatorname{softmax}(s_{t})^{\top}), " \
           r"\quad t = 1, 2, 3 \\" in text
    assert r"D(h_{t} \rightarrow s_{t}) &= V, \quad t = 1, 2, 3 \\" in text
    assert r"D(L_{1} \rightarrow L)" not in text.split("where")[0]
    assert (r"Edges whose Jacobian is $1$ or $I$ are left out of the products: $D(L_{1} \rightarrow L)$, "
            r"$D(L_{2} \rightarrow L)$, $D(L_{3} \rightarrow L)$.") in text
    rows = check_model(model, 3, {"m": 3, "d": 2, "K": 3}, seed=3, forms=("pathsum",))
    assert rows and all(r.passed for r in rows)  # what is printed still sums to the gradient


def test_the_denominator_note_of_a_matrix_says_one_thing():
    text = latex(pathsum(elman(), "W^{hx}", 2, layout="denominator"))
    assert (r"gives $\operatorname{vec}(\frac{\partial o}{\partial W^{hx}})$: the $d m$ entries of "
            r"$\frac{\partial o}{\partial W^{hx}}$ (shaped like $W^{hx}$) with its columns stacked.") in text
    assert "is a row of" not in text and "is a column," not in text
