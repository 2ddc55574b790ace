"""Truncated BPTT: the paths that go back at most K steps, their count, the printed path sum,
and the check's reference against torch autograd with the state K + 1 steps back detached."""

import numpy as np
import pytest
from click.testing import CliRunner

from symrnn import pathsum, zoo
from symrnn.cli import main
from symrnn.errors import SymRNNError
from symrnn.graph import Node, unroll
from symrnn.numeric.evaluate import evaluate_pathsum
from symrnn.numeric.forward import random_point
from symrnn.numeric.gradcheck import relative_error, truncated_reference
from symrnn.paths import count_paths, iter_paths, steps_back
from symrnn.render.latex import latex


@pytest.mark.parametrize("name, wrt", [("elman", "W_hh"), ("lstm", "Wh_f"), ("gru_torch", "W_hn")])
@pytest.mark.parametrize("K", [0, 1, 2, 5])
def test_truncated_paths_are_the_paths_that_go_back_at_most_k_steps(name, wrt, K):
    G = unroll(zoo.get(name), 5)
    every = list(iter_paths(G, Node(wrt)))
    kept = list(iter_paths(G, Node(wrt), truncate=K))
    assert kept == [p for p in every if steps_back(p, G) <= K]  # the same order, the others left out
    assert count_paths(G, Node(wrt), truncate=K) == len(kept)


def _torch_truncated(torch, params, xs, ys, K, every_step):
    """The Elman RNN (tanh) in torch, each loss's gradient through its last K + 1 steps only: the
    state K + 1 steps before the loss is detached."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    n = len(xs)

    def states(upto, cut):
        h = p["h0"]
        for t in range(1, upto + 1):
            if t - 1 == cut:
                h = h.detach()
            h = torch.tanh(p["W_hx"] @ torch.tensor(xs[t - 1]) + p["W_hh"] @ h + p["b_h"])
        return h

    total = 0
    for t in range(1, n + 1) if every_step else [n]:
        h = states(t, t - K - 1)
        out = torch.log_softmax(p["V"] @ h + p["gamma"], dim=0)
        total = total - torch.tensor(ys[t - 1]).T @ out
    grads = torch.autograd.grad(total.sum(), list(p.values()), allow_unused=True)
    return {k: np.zeros(params[k].shape) if g is None else g.numpy() for k, g in zip(p, grads, strict=True)}


def detached_case(torch, K: int, n: int = 4):
    """``(model, G, point, expected)``: the Elman RNN (tanh) at a random point, and torch's gradients of its
    loss at the last step with the state K + 1 steps back detached (:func:`_torch_truncated`)."""
    model = zoo.elman("tanh")
    G = unroll(model, n)
    point = random_point(model, G, {"m": 3, "d": 2, "K": 3}, seed=K)
    params = {k: point.leaves[Node(k)] for k in ("W_hx", "W_hh", "b_h", "h0", "V", "gamma")}
    xs = [point.leaves[Node("x", t)] for t in range(1, n + 1)]
    y = np.zeros((3, 1))
    y[point.labels["y"] - 1] = 1.0  # the label, one-hot: the loss is -e_y^T LS(l) at the last step
    return model, G, point, _torch_truncated(torch, params, xs, [y] * n, K, every_step=False)


@pytest.mark.parametrize("K", [0, 1, 2, 3, 4])
def test_the_printed_truncated_path_sum_equals_torch_with_a_detached_state(K):
    torch = pytest.importorskip("torch")
    n = 4
    model, G, point, expected = detached_case(torch, K, n)
    if K < n:  # h^{(0)}, the state at step 0, is n steps back from the loss: cut off
        assert not expected["h0"].any()
        with pytest.raises(SymRNNError, match="no path from h\\^\\{\\(0\\)\\} to the loss goes back"):
            pathsum(model, "h0", n, graph=G, truncate=K)
    for name in ("W_hh", "W_hx") + (("h0",) if K >= n else ()):
        ps = pathsum(model, name, n, graph=G, truncate=K)
        printed = np.asarray(evaluate_pathsum(ps, point)).reshape(expected[name].shape, order="F")
        assert relative_error(printed, expected[name]) < 1e-10, (name, "path sum")
        reference = truncated_reference(G, point, Node(name), K)
        assert relative_error(reference, expected[name]) < 1e-7, (name, "finite differences")


def test_truncation_is_said_where_it_is_printed_and_listed():
    text = latex(pathsum(zoo.elman(), "W^{hx}", 4, truncate=1))
    assert text.splitlines()[1] == (r"  \frac{\partial o}{\partial W^{hx}} &= A \frac{\partial h^{(4)}}{\partial W^{hx}} "
                                    r"+ A B^{(3)} \frac{\partial h^{(3)}}{\partial W^{hx}}")
    assert ("Truncated backpropagation through time: only the 2 paths that go back at most 1 step are summed; the 2 "
            "that go back further are left out, so this is not the full gradient.") in text
    result = CliRunner().invoke(main, ["paths", "elman", "--wrt", "W^{hx}", "--n", "4", "--truncate", "1"])
    assert result.output == ("W^{hx} -> h^{(4)} -> l -> q -> o\nW^{hx} -> h^{(3)} -> h^{(4)} -> l -> q -> o\n2 paths\n"
                             "(truncated to the paths that go back at most 1 step; 2 more go back further)\n")


def test_check_compares_the_truncated_forms_and_refuses_what_it_cannot():
    result = CliRunner().invoke(main, ["check", "lstm", "--n", "4", "--truncate", "1"])
    assert result.exit_code == 0 and "truncated to 1 step back" in result.output, result.output
    assert "all 32 printed formulas pass" in result.output  # the path sum and the closed form of 16 parameters
    refused = CliRunner().invoke(main, ["check", "bidirectional", "--n", "4", "--i", "2", "--truncate", "1"])
    assert refused.exit_code == 2 and "the truncated check covers recurrences one step forward" in refused.output
    refused = CliRunner().invoke(main, ["check", "elman", "--n", "3", "--truncate", "1", "--form", "recursion"])
    assert refused.exit_code == 2 and "use --form pathsum or --form closed" in refused.output


@pytest.mark.parametrize("K", [0, 1, 2, 4, 5])
def test_a_loss_at_every_step_and_the_initial_state_match_torch(K, tmp_path):
    """A loss at every step: each loss's gradient through its last K + 1 steps, the state before them detached
    (torch). h_0 is the state at step 0, so the loss at step t reaches it for t <= K only. The generated module
    (from the printed closed form) and the held-state reference both agree."""
    torch = pytest.importorskip("torch")
    from symrnn.codegen.module import codegen
    from tests.numeric.test_codegen import _load

    m, d, classes, B, n = 3, 2, 4, 2, 5
    rng = np.random.default_rng(K)
    params = {"V": rng.normal(size=(classes, m)), "b_y": rng.normal(size=(classes, 1)),
              "W_x": rng.normal(size=(m, d)), "W_h": 0.8 * rng.normal(size=(m, m)),
              "b": rng.normal(size=(m, 1)), "h0": rng.normal(size=(m, 1))}
    x = rng.normal(size=(n, d, B))
    y = np.eye(classes)[rng.integers(0, classes, size=(n, B))].transpose(0, 2, 1)  # (n, classes, B), one-hot
    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    total = 0
    for t in range(1, n + 1):
        h = P["h0"].expand(m, B)
        for s in range(1, t + 1):
            if s - 1 == t - K - 1:
                h = h.detach()  # the state K + 1 steps before this loss
            h = torch.tanh(P["W_x"] @ torch.tensor(x[s - 1]) + P["W_h"] @ h + P["b"])
        scores = P["V"] @ h + P["b_y"]
        total = total - (torch.tensor(y[t - 1]) * torch.log_softmax(scores, 0)).sum()
    total.backward()
    module = _load(codegen(zoo.get("vanilla_every"), truncate=K), tmp_path / "vanilla_every_truncated.py")
    _, grads = module.gradients(params, {"x": x, "y": y}, {}, n)
    for name, p in P.items():
        expected = np.zeros(params[name].shape) if p.grad is None else p.grad.numpy()
        assert np.allclose(grads[name], expected, rtol=1e-10, atol=1e-12), (name, K)
    assert K >= n or np.any(grads["h0"]) == (K > 0)


def test_the_notes_count_in_the_singular_and_say_when_nothing_is_cut():
    full = latex(pathsum(zoo.get("vanilla"), "W_h", 4, truncate=4))
    assert "all 4 paths go back at most 4 steps, so this is the full gradient" in full
    one = latex(pathsum(zoo.elman(), "W^{hx}", 2, truncate=0))
    assert ("only the 1 path that goes back at most 0 steps is summed; the 1 that goes back further is left out"
            in one)
    out = CliRunner().invoke(main, ["paths", "elman", "--wrt", "W^{hx}", "--n", "2", "--truncate", "0"])
    assert out.output.endswith("(truncated to the paths that go back at most 0 steps; 1 more goes back further)\n")


def test_an_empty_truncated_path_sum_is_zero_and_the_other_forms_still_print():
    out = CliRunner().invoke(main, ["derive", "elman", "--wrt", "h^{(0)}", "--n", "4", "--truncate", "1",
                                    "--form", "all"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("\\begin{align*}\n  \\frac{\\partial o}{\\partial h^{(0)}} &= 0\n\\end{align*}")
    assert "the truncated gradient is 0" in out.output and "with the total derivatives" in out.output


def test_a_truncation_beyond_the_limit_is_refused():
    out = CliRunner().invoke(main, ["paths", "vanilla", "--wrt", "W_h", "--n", "4", "--truncate", str(10 ** 20)])
    assert out.exit_code == 2 and "0<=x<=1000" in out.output
    with pytest.raises(SymRNNError, match="truncate is at most 1000 steps"):
        pathsum(zoo.get("vanilla"), "W_h", 4, truncate=1001)
