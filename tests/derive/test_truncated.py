"""Truncated BPTT in the factored forms: each total derivative split into its parts [k] (the paths that go
back exactly k steps), the closed form summing the parts [0] to [K]. Checked against the truncated path sum
(path enumeration, independent of the adjoint equations), the finite-difference reference with states held,
and torch with a detached state."""

import numpy as np
import pytest
from click.testing import CliRunner

from symrnn import closed_form, pathsum, recursion, zoo
from symrnn.cli import main
from symrnn.derive.deltas import named_deltas
from symrnn.errors import SymRNNError
from symrnn.graph import Node, unroll
from symrnn.model.declared import Kind
from symrnn.model.rnn_reader import load_spec
from symrnn.numeric.evaluate import evaluate_closed_form, evaluate_pathsum
from symrnn.numeric.forward import random_point
from symrnn.numeric.gradcheck import relative_error
from symrnn.paths import count_paths
from symrnn.render.latex import latex
from tests.paths.test_truncate import detached_case

VANILLA_K2 = r"""\begin{align*}
  \frac{\partial L}{\partial W_{x}} &= \sum_{t=1}^{n} (\left(\frac{\partial L}{\partial h_{t}}\right)^{[\le 2]} \odot (\mathbf{1} - h_{t} \odot h_{t})) x_{t}^{\top}
\end{align*}
with the total derivatives
\begin{align*}
  \frac{\partial L}{\partial s} &= \operatorname{softmax}(s) - y \\
  \left(\frac{\partial L}{\partial h_{n}}\right)^{[0]} &= V^{\top} \frac{\partial L}{\partial s} \\
  \left(\frac{\partial L}{\partial h_{t}}\right)^{[0]} &= 0, \quad t = n-1, \dots, 1 \\
  \left(\frac{\partial L}{\partial h_{t}}\right)^{[k]} &= W_{h}^{\top} (\left(\frac{\partial L}{\partial h_{t+1}}\right)^{[k-1]} \odot (\mathbf{1} - h_{t+1} \odot h_{t+1})), \quad t = n, \dots, 1;\ k = 1, 2
\end{align*}"""  # noqa: E501


def test_the_vanilla_rnns_truncated_closed_form_exactly():
    text = latex(closed_form(zoo.get("vanilla"), "W_x", 4, layout="denominator", truncate=2))
    assert text.startswith(VANILLA_K2)
    assert (r"$\left(\frac{\partial L}{\partial v}\right)^{[\le 2]} = \sum_{k=0}^{2} \left(\frac{\partial L}{\partial v}\right)^{[k]}$"
            in text)
    assert ("only the paths that go back at most 2 steps are kept, so this is the full gradient only where no path "
            "goes back further (an initial state $h_0$ is step 0)") in text


def test_a_recurrence_of_two_states_splits_both():
    text = latex(recursion(zoo.lstm(), "Wx_f", "denominator", truncate=1))
    assert (r"\left(\frac{\partial L}{\partial c_{t}}\right)^{[k]} &= \left(\frac{\partial L}{\partial c_{t+1}}\right)^{[k-1]} \odot f_{t+1} "
            r"+ \left(\frac{\partial L}{\partial h_{t}}\right)^{[k]} \odot o_{t} \odot (\mathbf{1} - \tanh(c_{t}) \odot "
            r"\tanh(c_{t})), \quad t = n, \dots, 1;\ k = 1") in text
    assert r"\frac{\partial L}{\partial s} &= \operatorname{softmax}(s) - y" in text  # after the last step: whole


MODELS = ["vanilla", "elman", "lstm", "lstm_every", "gru", "gru_torch", "bidirectional", "stacked_bidirectional",
          "tagger", "scalar", "next_word", "residual", "encoder_decoder", "language_model", "peephole_lstm", "scrn", "bahdanau_attention",
          "luong_attention"]


def _model(name):
    """A zoo model (an abstract g bound to tanh) or a literature spec, loaded when the test runs: a spec's
    constants (1/n) make primitives, and the registry test lists the primitives made at collection."""
    if name in zoo.MODELS:
        model = zoo.get(name)
        return model.bind(**{f: "tanh" for f in model.abstract_functions})
    return load_spec(f"examples/literature/{name}/model.rnn")


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("K", [0, 1, 2])
def test_the_truncated_closed_form_is_the_truncated_path_sum(name, K):
    """For every parameter: the closed form of the parts [0..K] equals the sum over the enumerated paths that
    go back at most K steps, in both layouts, with the gates' error terms named or not."""
    model = _model(name)
    n, i = 4, (2 if model.positional else None)
    G = unroll(model, n, i)
    sizes = {str(s): 2 + k % 2 for k, s in enumerate(model.sizes)}
    point = random_point(model, G, sizes, seed=K)
    factored = named_deltas(model)
    fG = unroll(factored, n, i)
    fpoint = random_point(factored, fG, sizes, seed=K)
    compared = 0
    for p in model.parameters:
        if count_paths(G, Node(p.name), truncate=K) == 0:
            continue
        expected = np.asarray(evaluate_pathsum(pathsum(model, p.name, n, graph=G, truncate=K), point)).reshape(-1)
        for layout in ("numerator", "denominator"):
            cf = closed_form(model, p.name, n, i, layout, graph=G, truncate=K)
            got = np.asarray(evaluate_closed_form(cf, point))
            got = got.reshape(-1) if layout == "numerator" else got.reshape(-1, order="F")
            assert relative_error(got, expected) < 1e-10, (p.name, layout)
        cf = closed_form(factored, p.name, n, i, "denominator", graph=fG, truncate=K)
        full = np.asarray(evaluate_pathsum(pathsum(factored, p.name, n, graph=fG, truncate=K), fpoint)).reshape(-1)
        assert relative_error(np.asarray(evaluate_closed_form(cf, fpoint)).reshape(-1, order="F"), full) < 1e-10
        compared += 1
    assert compared


@pytest.mark.parametrize("K", [0, 1, 2, 4])
def test_the_truncated_closed_form_equals_torch_with_a_detached_state(K):
    torch = pytest.importorskip("torch")
    n = 4
    model, G, point, expected = detached_case(torch, K, n)
    for name in ("W_hh", "W_hx", "b_h", "h0", "V"):
        cf = closed_form(model, name, n, layout="denominator", graph=G, truncate=K)
        got = np.asarray(evaluate_closed_form(cf, point))
        assert relative_error(got, expected[name]) < 1e-10, name


def test_truncating_at_n_steps_or_more_is_the_full_gradient():
    """n steps back reach h_0, the state at step 0; with n - 1 its gradient is still cut."""
    model = zoo.lstm()
    G = unroll(model, 3)
    point = random_point(model, G, {"m": 2, "d": 3, "K": 2}, seed=5)
    for p in (v.name for v in model.variables if v.kind is Kind.PARAMETER):
        full = evaluate_closed_form(closed_form(model, p, 3, layout="denominator", graph=G), point)
        cut = evaluate_closed_form(closed_form(model, p, 3, layout="denominator", graph=G, truncate=3), point)
        assert relative_error(np.asarray(cut), np.asarray(full)) < 1e-12, p
        short = evaluate_closed_form(closed_form(model, p, 3, layout="denominator", graph=G, truncate=2), point)
        assert (relative_error(np.asarray(short), np.asarray(full)) > 1e-3) == (p in ("h0", "c0")), p


def test_derive_prints_the_truncated_recursion_and_refuses_a_bad_k():
    out = CliRunner().invoke(main, ["derive", "elman", "--wrt", "W^{hh}", "--n", "3", "--truncate", "1",
                                    "--form", "recursion"])
    assert out.exit_code == 0, out.output
    assert (r"\left(\frac{\partial o}{\partial h^{(t)}}\right)^{[k]} &= \left(\frac{\partial o}{\partial h^{(t+1)}}\right)^{[k-1]} "
            r"\operatorname{diag}(g'(a^{(t+1)})) W^{hh}, \quad t = n, \dots, 1;\ k = 1") in out.output
    every = CliRunner().invoke(main, ["derive", "elman", "--wrt", "W^{hh}", "--n", "3", "--truncate", "1",
                                      "--form", "all"])
    assert every.output.count("Truncated backpropagation through time") == 2  # the path sum's and the closed form's
    with pytest.raises(SymRNNError, match="truncate is a number of steps"):
        recursion(zoo.elman(), "W_hh", truncate=-1)
