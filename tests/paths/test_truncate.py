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


@pytest.mark.parametrize("K", [0, 1, 2, 4])
def test_the_printed_truncated_path_sum_equals_torch_with_a_detached_state(K):
    torch = pytest.importorskip("torch")
    model = zoo.elman("tanh")
    n = 4
    G = unroll(model, n)
    point = random_point(model, G, {"m": 3, "d": 2, "K": 3}, seed=K)
    params = {k: point.leaves[Node(k)] for k in ("W_hx", "W_hh", "b_h", "h0", "V", "gamma")}
    xs = [point.leaves[Node("x", t)] for t in range(1, n + 1)]
    y = np.zeros((3, 1))
    y[point.labels["y"] - 1] = 1.0  # the label, one-hot: the loss is -e_y^T LS(l) at the last step
    expected = _torch_truncated(torch, params, xs, [y] * n, K, every_step=False)
    if K < n - 1:  # h^{(0)} is n - 1 steps back from the loss: cut off
        assert not expected["h0"].any()
        with pytest.raises(SymRNNError, match="no path from h\\^\\{\\(0\\)\\} to the loss goes back"):
            pathsum(model, "h0", n, graph=G, truncate=K)
    for name in ("W_hh", "W_hx") + (("h0",) if K >= n - 1 else ()):
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
