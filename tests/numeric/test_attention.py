"""Attention: variables with two time indices (``e_{t,j}``), the softmax over ``j`` and the weighted sum
``c_t = \\sum_j \\alpha_{t,j} h_j``, in the text format and the Python API alike.

Every gradient (the printed path sum and closed form, the compiled gradient, the generated NumPy, JAX
and PyTorch modules) agrees with a few lines of torch autograd written independently
(``tests/numeric/attention_reference.py``) to 1e-10; the recursion prints what a textbook writes; the
refusals say what to write instead."""

import numpy as np
import pytest
from click.testing import CliRunner

from symrnn.cli import main
from symrnn.codegen import codegen
from symrnn.derive import closed_form, pathsum
from symrnn.derive.adjoints import recursion
from symrnn.errors import ShapeError, SpecError
from symrnn.graph import Node, unroll
from symrnn.model import LS, ModelBuilder, inner, softmax, tanh
from symrnn.model.rnn_reader import load_spec, parse_spec
from symrnn.numeric.engine import CompiledGradient
from symrnn.numeric.evaluate import evaluate_closed_form, evaluate_pathsum
from symrnn.numeric.forward import concrete_shape, point_from_arrays
from symrnn.numeric.gradcheck import relative_error
from symrnn.render.latex import latex, model_latex
from symrnn.render.rnn_writer import spec_text
from tests.conftest import load_generated
from tests.numeric import attention_reference as reference

torch = pytest.importorskip("torch", reason="PyTorch is the independent autodiff reference")

BAHDANAU = "examples/literature/bahdanau_attention/model.rnn"
LUONG = "examples/literature/luong_attention/model.rnn"
CASES = {"bahdanau": (BAHDANAU, reference.bahdanau, {"m": 4, "d": 3, "a": 2, "K": 5}),
         "luong": (LUONG, reference.luong, {"m": 4, "d": 3, "K": 5})}


def _call(model, sizes, n, B, seed=0):
    shapes = {p.name: concrete_shape(model, p.name, sizes) for p in model.parameters}
    return reference.random_call(shapes, n, B, sizes["d"], sizes["K"], seed)


@pytest.mark.parametrize("case", CASES)
def test_every_computed_gradient_agrees_with_torch(case):
    spec, torch_reference, sizes = CASES[case]
    model = load_spec(spec)
    n, B = 4, 3
    params, x, y = _call(model, sizes, n, B)
    loss, expected = torch_reference(torch, params, x, y, n)
    inputs = {"x": x, "y": y}
    engine = CompiledGradient(model)(params, inputs, {}, n)
    assert abs(float(np.sum(engine.loss)) - loss) < 1e-10 * abs(loss)
    for name, ref in expected.items():
        assert relative_error(engine.gradients[name], ref) < 1e-10, (name, "compiled gradient")
    for backend in ("numpy", "jax", "torch"):
        losses, grads = load_generated(codegen(model, backend=backend), f"{case}_{backend}").gradients(
            params, inputs, {}, n)
        assert abs(float(np.sum(np.asarray(losses))) - loss) < 1e-10 * abs(loss), backend
        for name, ref in expected.items():
            assert relative_error(np.asarray(grads[name]), ref) < 1e-10, (name, backend)


@pytest.mark.parametrize("case", CASES)
def test_the_printed_forms_agree_with_torch(case):
    """The path sum and the closed form as printed, in both layouts, on one sequence."""
    spec, torch_reference, sizes = CASES[case]
    model = load_spec(spec)
    n = 3
    params, x, y = _call(model, sizes, n, 1, seed=1)
    _, expected = torch_reference(torch, params, x, y, n)
    G = unroll(model, n)
    point = point_from_arrays(model, params, {"x": x, "y": y}, {}, sizes, n)
    for name in ("U", "W", "h_0", "z_0"):
        ps = np.asarray(evaluate_pathsum(pathsum(model, name, n, graph=G), point))
        assert relative_error(ps.reshape(-1), expected[name].reshape(-1, order="F")) < 1e-10, (name, "path sum")
        for layout in ("numerator", "denominator"):
            cf = np.asarray(evaluate_closed_form(closed_form(model, Node(name), n, None, layout, graph=G), point))
            got = cf.reshape(-1) if layout == "numerator" else cf.reshape(-1, order="F")
            assert relative_error(got, expected[name].reshape(-1, order="F")) < 1e-10, (name, layout)


def test_the_recursion_says_what_a_textbook_says():
    """An encoder state's total derivative sums over the decoder's steps s that attend to it: through the
    score e_{s,t} and through the context c_s, with the weight alpha_{s,t}; the scores' through the softmax."""
    model = load_spec(LUONG)
    denominator = latex(recursion(model, "U", "denominator"))
    assert (r"\frac{\partial L}{\partial h_{t}} &= W^{\top} (\frac{\partial L}{\partial h_{t+1}} \odot (\mathbf{1} - "
            r"h_{t+1} \odot h_{t+1})) + \sum_{s=1}^{n} \frac{\partial L}{\partial e_{s, t}} z_{s} + \sum_{s=1}^{n} "
            r"\alpha_{s, t} \frac{\partial L}{\partial c_{s}}, \quad t = n, \dots, 1") in denominator
    assert (r"\frac{\partial L}{\partial e_{t}} &= \alpha_{t} \odot (\frac{\partial L}{\partial \alpha_{t}} - "
            r"\mathbf{1}\,\alpha_{t}^{\top} \frac{\partial L}{\partial \alpha_{t}}), \quad t = n, \dots, 1") in denominator
    assert (r"\frac{\partial L}{\partial \alpha_{t}} &= \sum_{j=1}^{n} \mathbf{e}_{j} h_{j}^{\top} "
            r"\frac{\partial L}{\partial c_{t}}, \quad t = n, \dots, 1") in denominator
    numerator = latex(recursion(model, "U", "numerator"))
    assert (r"\sum_{s=1}^{n} \frac{\partial L}{\partial e_{s, t}} z_{s}^{\top} + \sum_{s=1}^{n} "
            r"\frac{\partial L}{\partial c_{s}} \alpha_{s, t}, \quad t = n, \dots, 1") in numerator
    assert (r"\frac{\partial L}{\partial e_{t}} &= \frac{\partial L}{\partial \alpha_{t}} (\operatorname{diag}"
            r"(\alpha_{t}) - \alpha_{t} \alpha_{t}^{\top}), \quad t = n, \dots, 1") in numerator


def test_the_model_and_the_path_sum_print_both_indices():
    model = load_spec(BAHDANAU)
    shown = model_latex(model)
    assert (r"e_{t, j} &= v_{a}^{\top} \tanh(W_{a} z_{t-1} + U_{a} h_{j}), \quad j = 1, \dots, n") in shown
    assert r"c_{t} &= \sum_{j=1}^{n} \alpha_{t, j} h_{j}" in shown
    printed = latex(pathsum(model, "v_a", 2))
    assert r"D(\alpha_{t} \rightarrow c_{t}) &= \sum_{j=1}^{n} h_{j} \mathbf{e}_{j}^{\top}, \quad t = 1, 2" in printed
    assert r"D(e_{t} \rightarrow \alpha_{t}) &= \operatorname{diag}(\alpha_{t}) - \alpha_{t} \alpha_{t}^{\top}" in printed


def test_the_paths_through_the_attention_are_listed():
    result = CliRunner().invoke(main, ["paths", BAHDANAU, "--wrt", "v_a", "--n", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        r"v_{a} -> e_{1} -> \alpha_{1} -> c_{1} -> z_{1} -> L_{1} -> L",
        r"v_{a} -> e_{1} -> \alpha_{1} -> c_{1} -> z_{1} -> z_{2} -> L_{2} -> L",
        r"v_{a} -> e_{1} -> \alpha_{1} -> c_{1} -> z_{1} -> e_{2} -> \alpha_{2} -> c_{2} -> z_{2} -> L_{2} -> L",
        r"v_{a} -> e_{2} -> \alpha_{2} -> c_{2} -> z_{2} -> L_{2} -> L",
        "4 paths",
    ]
    G = unroll(load_spec(BAHDANAU), 2)
    assert sorted(str(u) for u in G.predecessors(Node("e", 2))) == ["U_a", "W_a", "h[1]", "h[2]", "v_a", "z[1]"]
    assert G.edges[Node("h", 1), Node("e", 2)]["j"] == 1


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_check_passes_through_the_cli(layout):
    result = CliRunner().invoke(main, ["check", BAHDANAU, "--n", "3", "--layout", layout, "--size", "m=3",
                                       "--size", "d=2", "--size", "a=2", "--size", "K=3"])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("all 30 printed formulas pass (relative error < 1e-06)")


def test_the_text_prints_back_as_it_parses():
    model = load_spec(BAHDANAU)
    text = spec_text(model)
    assert r"    e_{t, j} = v_{a}^{\top} \tanh(W_{a} z_{t-1} + U_{a} h_{j})" in text
    assert r"    c_{t} = \sum_{j} \alpha_{t, j} h_{j}" in text
    again = parse_spec(text, "again.rnn")
    assert spec_text(again) == text and again.definitions == model.definitions


def _api_bahdanau():
    mb = ModelBuilder("bahdanau_attention", "additive attention (Bahdanau et al. 2015), tanh units")
    m, d, a, K = mb.sizes("m", "d", "a", "K")
    t, j = mb.t, mb.j
    x = mb.input("x", d, latex="x_{{t}}")
    y = mb.input("y", K, latex="y_{{t}}", onehot=True)
    mb.parameter("y_0", K, latex="y_{0}")
    W, U, h0 = mb.parameter("W", (m, m)), mb.parameter("U", (m, d)), mb.parameter("h_0", m, latex="h_{0}")
    Wa, Ua = mb.parameter("W_a", (a, m), latex="W_{a}"), mb.parameter("U_a", (a, m), latex="U_{a}")
    va = mb.parameter("v_a", a, latex="v_{a}")
    A, Bm, C = mb.parameter("A", (m, m)), mb.parameter("B", (m, K)), mb.parameter("C", (m, m))
    O, z0 = mb.parameter("O", (K, m)), mb.parameter("z_0", m, latex="z_{0}")
    h = mb.state("h", m, init=h0, latex="h_{{t}}")
    mb.recur(h, tanh(W @ h[t - 1] + U @ x[t]))
    z = mb.state("z", m, init=z0, latex="z_{{t}}")
    e = mb.define("e", inner(va, tanh(Wa @ z[t - 1] + Ua @ h[j])), latex="e_{{t}}")
    alpha = mb.define("alpha", softmax(e), latex=r"\alpha_{{t}}")
    c = mb.define("c", mb.sum(alpha[j] @ h[j]), latex="c_{{t}}")
    mb.recur(z, tanh(A @ z[t - 1] + Bm @ y[t - 1] + C @ c))
    L_t = mb.define("L_t", -inner(y[t], LS(O @ z[t])), latex="L_{{t}}")
    return mb.build(loss=mb.define("L", mb.sum(L_t)))


def test_the_python_api_declares_the_same_attention():
    api, spec = _api_bahdanau(), load_spec(BAHDANAU)
    assert api.var("e").inner == spec.var("e").inner and api.var("e").shape == spec.var("e").shape
    for name in ("W", "U_a", "v_a"):
        assert latex(closed_form(api, Node(name), 3, None, "denominator")) == \
            latex(closed_form(spec, Node(name), 3, None, "denominator"))


BASE = r"""sizes m, d
input x_t \in \mathbb{R}^d
param W \in \mathbb{R}^{m \times m}
param U \in \mathbb{R}^{m \times d}
param h_0 \in \mathbb{R}^m
param v \in \mathbb{R}^m
param z_0 \in \mathbb{R}^m
for t = 1..n:
    h_t = \tanh(W h_{t-1} + U x_t)
"""
TAIL = "    L_t = v^\\top z_t\nL = \\sum_t L_t\nloss L\n"
REFUSED = {
    "an offset at j": ("    e_{t,j} = v^\\top \\tanh(W z_{t-1} + U h_{j-1})\n    z_t = \\tanh(W z_{t-1})\n",
                       "a variable is read at the second index j itself, h_{j}"),
    "a component of another size": ("    z_t = \\tanh(W z_{t-1})\n    c_t = \\sum_j z_{t,j} h_j\n",
                                    "z_{t} has m components, but j runs over n steps"),
    "a read at j without a second index": ("    z_t = \\tanh(W z_{t-1} + h_j)\n",
                                           "give a variable two indices, e_{t,j} = ..., or sum over j"),
    "a vector per (t, j)": ("    z_t = \\tanh(W z_{t-1})\n    e_{t,j} = h_j\n",
                            "each of its values is a number (1 x 1), but h_{j} is m x 1"),
    "a let with two indices": ("    z_t = \\tanh(W z_{t-1})\n    let e_{t,j} = v^\\top \\tanh(z_t + h_j)\n"
                               "    c_t = \\sum_j e_{t,j} h_j\n", "which a let does not: define it as a variable"),
    "forgot the sum": ("    z_t = \\tanh(W z_{t-1})\n    e_{t,j} = h_j^\\top z_t\n"
                       "    \\alpha_t = \\operatorname{softmax}(e_t)\n    c_t = \\alpha_{t,j} h_j\n",
                       "reads \\alpha_{t, j} h_{j} at the second index j outside a sum over j"),
    "forgot the sum in a state": ("    z_t = \\tanh(W z_{t-1} + c_{t-1})\n    e_{t,j} = h_j^\\top z_t\n"
                                  "    \\alpha_t = \\operatorname{softmax}(e_t)\n    c_t = \\alpha_{t,j} h_j\n",
                                  "reads \\alpha_{t, j} h_{j} at the second index j outside a sum over j"),
    "the indices swapped": ("    z_t = \\tanh(W z_{t-1})\n    e_{j,t} = h_j^\\top z_t\n",
                            "the loop's index comes first: e_{t,j}"),
    "a sum over j of nothing at j": ("    z_t = \\tanh(W z_{t-1})\n    e_{t,j} = h_j^\\top z_t\n"
                                     "    \\alpha_t = \\operatorname{softmax}(e_t)\n    c_t = \\sum_j \\alpha_t\n",
                                     "read the summand at j: \\sum_j \\alpha_{t,j} h_j"),
    "the softmax as a fraction": ("    z_t = \\tanh(W z_{t-1})\n    e_{t,j} = h_j^\\top z_t\n"
                                  "    \\alpha_{t,j} = \\frac{\\exp(e_{t,j})}{\\sum_k \\exp(e_{t,k})}\n",
                                  "a softmax over it is written \\alpha_t = \\operatorname{softmax}(e_t)"),
    "an offset at j, transposed": ("    z_t = \\tanh(W z_{t-1})\n    e_{t,j} = h_{j-1}^\\top z_t\n",
                                   "a variable is read at the second index j itself, h_{j}"),
    "two second indices": ("    z_t = \\tanh(W z_{t-1})\n    e_{t,k} = v^\\top \\tanh(z_t + h_k)\n"
                           "    c_t = \\sum_j e_{t,j} h_j\n", "write one letter for the second index"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_refusal_says_what_to_write(case, tmp_path):
    body, said = REFUSED[case]
    spec = tmp_path / "attention.rnn"
    declared = BASE.replace("param z_0", "param c_0 \\in \\mathbb{R}^m\nparam z_0")  # a state c_t starts there
    spec.write_text(declared + "for t = 1..n:\n" + body + TAIL)
    result = CliRunner().invoke(main, ["show", str(spec)])
    assert result.exit_code == 2, result.output
    assert said in result.output


def test_the_python_api_refuses_alike():
    mb = ModelBuilder("bad")
    m = mb.sizes("m")
    h = mb.state("h", m, init=mb.parameter("h0", m, latex="h_{0}"), latex="h_{{t}}")
    mb.recur(h, tanh(h[mb.t - 1] + mb.input("x", m, latex="x_{{t}}")[mb.t]))
    z = mb.define("z", tanh(h[mb.t]), latex="z_{{t}}")
    with pytest.raises(ShapeError, match="z_{t} has m components, but j runs over n steps"):
        mb.sum(z[mb.j] @ h[mb.j])
    with pytest.raises(SpecError, match="read at the second index j itself"):
        h[mb.j - 1]
    with pytest.raises(SpecError, match="sums over j"):
        mb.define("c", mb.sum(inner(h[mb.j], h[mb.j])))


CONCAT_SCORE = r"""% Luong et al.'s "concat" score over the inputs, integer labels per step, a mean loss
sizes m, d, a, K
input x_t \in \mathbb{R}^d
label y_t \in \{1 \dots K\}
param W_a \in \mathbb{R}^{a \times m + d}
param v_a \in \mathbb{R}^a
param A \in \mathbb{R}^{m \times m}
param C \in \mathbb{R}^{m \times d}
param V \in \mathbb{R}^{K \times m}
param z_0 \in \mathbb{R}^m
for t = 1..n:
    e_{t,j} = v_a^\top \tanh(W_a \text{CONCAT}(z_{t-1}, x_j))
    \alpha_t = \operatorname{softmax}(e_t)
    c_t = \sum_j \alpha_{t,j} x_j
    z_t = \tanh(A z_{t-1} + C c_t)
    q_t = \text{LS}(V z_t)
    L_t = -q_{t, y_t}
L = \frac{1}{n} \sum_t L_t
loss L
"""


def test_a_score_that_concatenates_a_read_at_j_generates_working_modules():
    """A new-user trial found the generated modules computing CONCAT(z_{t-1}, x_j) for every t at once, outside
    the sum over j (NameError: _j); the printed forms passed their check."""
    from tests.test_literature import _random_call

    model = parse_spec(CONCAT_SCORE, "concat.rnn")
    n = 4
    params, inputs, labels = _random_call(model, n, 2, np.random.default_rng(3))
    expected = CompiledGradient(model)(params, inputs, labels, n).gradients
    for backend in ("numpy", "jax", "torch"):
        _, grads = load_generated(codegen(model, backend=backend), f"concat_{backend}").gradients(
            params, inputs, labels, n)
        for name, ref in expected.items():
            assert relative_error(np.asarray(grads[name]), ref) < 1e-10, (name, backend)


def test_the_path_sums_edges_print_the_step_they_read():
    """D(h_{t-1} -> c_t) is the weight of h_{t-1}, alpha_{t,t-1} I: the where-lines print the step read at j."""
    printed = latex(pathsum(load_spec(LUONG), "W", 3))
    assert r"D(h_{t-1} \rightarrow c_{t}) &= \alpha_{t, t-1} I, \quad t = 2, 3" in printed
    assert r"D(h_{t+1} \rightarrow e_{t}) &= \mathbf{e}_{t+1} z_{t}^{\top}, \quad t = 1, 2" in printed
    assert r"\alpha_{t, j}" not in printed


def test_scores_with_a_constant_or_a_matrix_print_back_as_they_parse():
    """Luong's "general" score h_j^T W_a z_t and a scaled one, \\frac{1}{\\sqrt{4}} h_j^T z_t, as papers write them."""
    text = BASE + ("param W_a \\in \\mathbb{R}^{m \\times m}\nfor t = 1..n:\n    z_t = \\tanh(W z_{t-1})\n"
                   "    e_{t,j} = \\frac{1}{\\sqrt{4}} h_j^\\top W_a z_t\n    \\alpha_t = \\operatorname{softmax}(e_t)\n"
                   "    c_t = \\sum_j \\alpha_{t,j} h_j\n    L_t = v^\\top c_t\nL = \\sum_t L_t\nloss L\n")
    model = parse_spec(text, "general.rnn")
    shown = spec_text(model)
    assert r"    e_{t, j} = \frac{1}{2} h_{j}^{\top} (W_{a} z_{t})" in shown
    assert spec_text(parse_spec(shown, "again.rnn")) == shown


def test_a_sum_over_t_of_a_state_outside_the_loops_checks():
    """S = \\sum_t h_t read by the loss: the trial found an internal error (the sum was taken for a step reading
    the initial state)."""
    text = BASE.replace("param z_0 \\in \\mathbb{R}^m\n", "") + "S = \\sum_t h_t\nL = v^\\top S\nloss L\n"
    result = CliRunner().invoke(main, ["check", _write(text), "--n", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("all 10 printed formulas pass (relative error < 1e-06)")


def _write(text: str) -> str:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".rnn", delete=False) as f:
        f.write(text)
    return f.name


def test_attention_over_the_loops_own_states_is_a_cycle_said_with_what_to_do():
    text = BASE + ("param W_a \\in \\mathbb{R}^{m \\times m}\nfor t = 1..n:\n    e_{t,j} = z_j^\\top (W_a z_{t-1})\n"
                   "    \\alpha_t = \\operatorname{softmax}(e_t)\n    c_t = \\sum_j \\alpha_{t,j} z_j\n"
                   "    z_t = \\tanh(W z_{t-1} + c_t)\n" + TAIL)
    result = CliRunner().invoke(main, ["check", _write(text), "--n", "2"])
    assert result.exit_code == 2, result.output
    assert "form a cycle" in result.output and "attend over the states of another loop" in result.output


def test_a_backward_decoders_per_step_loss_has_the_constant_adjoint():
    """A decoder running t = n..1 that attends to a forward encoder: its per-step losses' total derivative is 1,
    written in place, as for a forward loop (the trial found dL/dL_t left in the softmax head)."""
    text = BASE + ("param W_a \\in \\mathbb{R}^{m \\times m}\nparam z_{n+1} \\in \\mathbb{R}^m\nfor t = n..1:\n"
                   "    e_{t,j} = h_j^\\top (W_a z_{t+1})\n    \\alpha_t = \\operatorname{softmax}(e_t)\n"
                   "    c_t = \\sum_j \\alpha_{t,j} h_j\n    z_t = \\tanh(W z_{t+1} + c_t)\n" + TAIL)
    model = parse_spec(text, "backward.rnn")
    printed = latex(recursion(model, "W_a", "denominator"))
    assert r"\frac{\partial L}{\partial L_{t}} &= 1, \quad t = 1, \dots, n" in printed
    assert (r"\frac{\partial L}{\partial z_{t}} &= \sum_{j=1}^{n} \frac{\partial L}{\partial e_{t-1, j}} W_{a}^{\top} "
            r"h_{j} + W^{\top} (\frac{\partial L}{\partial z_{t-1}} \odot (\mathbf{1} - z_{t-1} \odot z_{t-1})) + v, "
            r"\quad t = 1, \dots, n") in printed
    assert r"\frac{\partial L}{\partial L_{t}} v" not in printed
    result = CliRunner().invoke(main, ["check", _write(text), "--n", "3"])
    assert result.exit_code == 0 and "printed formulas pass" in result.output, result.output


def _attention(body: str, read: str = "c") -> str:
    """BASE with a second loop of ``body`` (each line indented there) and a per-step loss of ``read``, summed."""
    return (BASE + "param W_a \\in \\mathbb{R}^{m \\times m}\nfor t = 1..n:\n"
            + "".join(f"    {line}\n" for line in body.strip().splitlines()) + TAIL.replace("z_t", f"{read}_t"))


def test_two_sums_over_j_in_one_term_keep_their_own_index():
    """A review found the bound j of a sum renamed to t in a reader's term over s (\\sum_{t=1}^{n} ... shadowing t)
    and a generated module failing on it; one substitution (symbols.substitute_free) now binds only a free j."""
    text = _attention(r"""
z_t = \tanh(W z_{t-1})
e_{t,j} = h_j^\top W_a z_t
\alpha_t = \operatorname{softmax}(e_t)
c_t = (\sum_j \alpha_{t,j} h_j) \odot (\sum_j \alpha_{t,j} h_j)""")
    model = parse_spec(text, "product.rnn")
    printed = latex(recursion(model, "W", "denominator"))
    assert (r"\sum_{s=1}^{n} 2 \alpha_{s, t} (\frac{\partial L}{\partial c_{s}} \odot \sum_{j=1}^{n} \alpha_{s, j} "
            r"h_{j})") in printed
    from tests.test_literature import _random_call

    n = 3
    params, inputs, labels = _random_call(model, n, 2, np.random.default_rng(4))
    expected = CompiledGradient(model)(params, inputs, labels, n).gradients
    _, grads = load_generated(codegen(model), "product_numpy").gradients(params, inputs, labels, n)
    assert all(relative_error(np.asarray(grads[k]), expected[k]) < 1e-10 for k in expected)
    assert CliRunner().invoke(main, ["check", _write(text), "--n", "3"]).exit_code == 0


def test_a_query_from_the_encoder_itself_prints_its_step():
    """e_{t,j} = h_j^T W_a h_t reads h at j and at t: the edge from h_t has a term at j = t and a sum over j."""
    text = _attention(r"""
e_{t,j} = h_j^\top W_a h_t
\alpha_t = \operatorname{softmax}(e_t)
c_t = \sum_j \alpha_{t,j} h_j""")
    printed = latex(pathsum(parse_spec(text, "self.rnn"), "W", 2))
    assert (r"D(h_{t} \rightarrow e_{t}) &= \mathbf{e}_{t} (W_{a} h_{t})^{\top} + \sum_{j=1}^{n} \mathbf{e}_{j} "
            r"h_{j}^{\top} W_{a}, \quad t = 1, 2") in printed


REFUSED_TOO = {
    "a sum over j in a term read at j": (r"""
z_t = \tanh(W z_{t-1})
e_{t,j} = h_j^\top (W_a z_t + \sum_j h_j)""", "define the inner sum as a variable of its own first"),
    "a sum over part of the steps": (r"""
z_t = \tanh(W z_{t-1})
e_{t,j} = h_j^\top z_t
\alpha_t = \operatorname{softmax}(e_t)
c_t = \sum_{j=2}^{n-1} \alpha_{t,j} h_j""", "a sum runs over the whole loop, j = 1..n, not from 2 to n-1"),
}


@pytest.mark.parametrize("case", REFUSED_TOO)
def test_more_refusals(case):
    body, said = REFUSED_TOO[case]
    result = CliRunner().invoke(main, ["show", _write(_attention(body, read="z"))])
    assert result.exit_code == 2 and said in result.output, result.output


def test_an_encoder_over_the_label_position_is_refused():
    text = BASE.replace("for t = 1..n:\n    h_t", "for t = 1..(i-1):\n    h_t") + (
        "for t = 1..n:\n    z_t = \\tanh(W z_{t-1})\n    e_{t,j} = h_j^\\top z_t\n"
        "    \\alpha_t = \\operatorname{softmax}(e_t)\n    c_t = \\sum_j \\alpha_{t,j} h_j\n    L_t = v^\\top c_t\n"
        "L = \\sum_t L_t\nloss L\n")
    result = CliRunner().invoke(main, ["show", _write(text)])
    assert result.exit_code == 2 and "j runs over the steps of one loop for t = 1..n" in result.output


def test_a_name_with_a_second_subscript_is_still_a_name():
    """h_{t,f} (a forward state beside a backward one) is one variable read at t - 1, not attention's two indices:
    a letter is a second index only where something is read at it (h_j) or summed over it."""
    text = BASE.replace("h_t = \\tanh(W h_{t-1} + U x_t)", "h_{t,f} = \\tanh(W h_{t-1,f} + U x_t)").replace(
        "param h_0 ", "param h_{0,f} ").replace("param z_0 \\in \\mathbb{R}^m\n", "") + "L = v^\\top h_{n,f}\nloss L\n"
    model = parse_spec(text, "tagged.rnn")
    shown = spec_text(model)
    assert r"    h_{t,f} = \tanh(W h_{t-1,f} + U x_{t})" in shown and spec_text(parse_spec(shown, "again.rnn")) == shown


def test_the_loop_index_is_not_the_second_index_letter():
    text = _attention(r"""
z_t = \tanh(W z_{t-1})""", read="z").replace("for t = 1..n:\n    z_t = \\tanh(W z_{t-1})\n    L_t = v^\\top z_t\n", (
        "for j = 1..n:\n    z_j = \\tanh(W z_{j-1})\n    e_{j,k} = h_k^\\top z_j\n    \\alpha_j = "
        "\\operatorname{softmax}(e_j)\n    c_j = \\sum_k \\alpha_{j,k} h_k\n    L_j = v^\\top c_j\n"))
    result = CliRunner().invoke(main, ["show", _write(text)])
    assert result.exit_code == 2 and "runs over another letter than j" in result.output, result.output


def test_a_constant_after_a_sum_over_t_is_its_factor():
    """\\sum_t L_t / n parsed before the grammar let a sum run over a product; it still is the mean."""
    model = parse_spec(BASE.replace("param z_0 \\in \\mathbb{R}^m\n", "") + (
        "for t = 1..n:\n    L_t = v^\\top h_t\nL = \\sum_t L_t / n\nloss L\n"), "mean.rnn")
    assert "L = \\frac{1}{n} \\sum_{t} L_{t}" in spec_text(model)


def test_a_decoder_state_named_s_leaves_the_sum_over_its_steps_another_letter():
    """Bahdanau's own notation names the decoder's state s_i; a sum over the decoder's steps then prints with r."""
    text = open(BAHDANAU).read().replace("z_", "s_")
    printed = latex(recursion(parse_spec(text, "s.rnn"), "W", "denominator"))
    assert r"\sum_{r=1}^{n} \alpha_{r, t} \frac{\partial L}{\partial c_{r}}" in printed
    assert "s_{s-1}" not in printed and r"\sum_{s=1}" not in printed
