"""Cross-checks against PyTorch autograd (torch==2.13.0, CPU), an autodiff independent of symrnn.

The forward pass is re-implemented here with torch's own functions, one per primitive (not
symrnn's numeric code); ``torch.autograd`` differentiates it, and every printed closed form
and path sum of every zoo model must agree. The PyTorch-convention GRU and the LSTM are also
run through ``torch.nn.GRU`` and ``torch.nn.LSTM`` with the same weights.
"""

import networkx as nx
import numpy as np
import pytest

from symrnn import zoo
from symrnn.derive import pathsum
from symrnn.derive.adjoints import closed_form
from symrnn.graph import Node, unroll
from symrnn.graph.node import resolve
from symrnn.model.declared import Apply, Kind
from symrnn.numeric.evaluate import evaluate_closed_form, evaluate_pathsum
from symrnn.numeric.forward import random_point
from symrnn.numeric.gradcheck import relative_error
from symrnn.paths import count_paths

torch = pytest.importorskip("torch", reason="PyTorch is the independent autodiff reference")
torch.set_default_dtype(torch.float64)

TORCH_FUNCTIONS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "identity": lambda a: a}


def _apply(name, args, bindings):
    if name == "matvec":
        return args[0] @ args[1]
    if name == "add":
        return sum(args[1:], args[0])
    if name == "neg":
        return -args[0]
    if name == "LS":
        return torch.log_softmax(args[0], dim=0)
    if name == "pick":
        return args[0][args[1] - 1 : args[1]]
    if name == "CONCAT":
        return torch.cat(args, dim=0)
    if name == "hadamard":
        return args[0] * args[1]
    if name == "one_minus":
        return 1 - args[0]
    if name == "inner":
        return args[0].T @ args[1]
    if name == "sqnorm":
        return args[0].T @ args[0]
    return TORCH_FUNCTIONS[bindings.get(name, name)](args[0])


def torch_gradients(G: nx.DiGraph, point, bindings: dict):
    """The loss and the gradient of every leaf, by torch autograd on a torch forward pass."""
    model, n, i = G.graph["model"], G.graph["n"], G.graph["i"]
    leaves = {v: torch.tensor(a, requires_grad=True) for v, a in point.leaves.items()}
    values = dict(leaves)

    def value(expr, t):
        if isinstance(expr, Apply) and expr.prim.over is not None:
            arg = expr.args[0]
            return sum(value(arg, s) for s in model.var(arg.name).loop.range(n, i))
        if isinstance(expr, Apply):
            return _apply(expr.prim.name, [value(a, t) for a in expr.args], bindings)
        decl = model.var(expr.name)
        if decl.kind is Kind.LABEL:
            return point.labels[decl.name]
        rdecl, time = resolve(model, expr.name, expr.time, n, t, i)
        key = Node(rdecl.name, time)
        if key not in values:
            values[key] = value(model.definition(rdecl.name).expr, time)
        return values[key]

    for node in nx.topological_sort(G):
        if G.nodes[node]["kind"] in ("state", "defined"):
            values[node] = value(model.definition(node.name).expr, node.t)
    loss = values[G.graph["loss"]].reshape(())
    used = [v for v in leaves if leaves[v].requires_grad]
    grads = torch.autograd.grad(loss, [leaves[v] for v in used], allow_unused=True)
    out = {v: (np.zeros(point.leaves[v].shape) if g is None else g.numpy()) for v, g in zip(used, grads, strict=True)}
    return float(loss.detach()), out


@pytest.mark.parametrize("name", list(zoo.MODELS))
@pytest.mark.parametrize("n", [1, 3, 5])
def test_printed_forms_match_torch_autograd(name, n):
    model = zoo.get(name)
    rng = np.random.default_rng(n)
    sizes = {str(s): int(rng.integers(2, 5)) for s in model.sizes}
    i = int(rng.integers(1, n + 1)) if model.positional else None
    bindings = {f: "tanh" for f in model.abstract_functions}
    G = unroll(model, n, i)
    point = random_point(model, G, sizes, seed=n, bindings=bindings)
    _, reference = torch_gradients(G, point, bindings)
    layout = "denominator" if n == 3 else "numerator"
    for p in model.parameters:
        node = Node(p.name)
        if count_paths(G, node) == 0:
            assert not reference[node].any()
            continue
        cf = closed_form(model, node, n, i, layout, graph=G)
        closed = np.asarray(evaluate_closed_form(cf, point)).reshape(reference[node].shape, order="F")
        assert relative_error(closed, reference[node]) < 1e-10, (p.latex, "closed")
        if n <= 3:
            ps = pathsum(model, node, n, graph=G, layout=layout)
            paths = np.asarray(evaluate_pathsum(ps, point)).reshape(reference[node].shape, order="F")
            assert relative_error(paths, reference[node]) < 1e-10, (p.latex, "pathsum")


def _symrnn_grads(model, G, point, names, layout="denominator"):
    return {name: np.asarray(evaluate_closed_form(closed_form(model, Node(name), G.graph["n"], None, layout,
                                                               graph=G), point)) for name in names}


def test_gru_torch_matches_torch_nn_gru():
    model = zoo.get("gru_torch")
    n, sizes = 4, {"m": 3, "d": 2, "K": 4}
    G = unroll(model, n)
    point = random_point(model, G, sizes, seed=5)
    L = {v.name: torch.tensor(a, requires_grad=True) for v, a in point.leaves.items() if v.t is None}
    cell = torch.nn.GRU(input_size=2, hidden_size=3)
    with torch.no_grad():
        cell.weight_ih_l0.copy_(torch.cat([L["W_ir"], L["W_iz"], L["W_in"]]))
        cell.weight_hh_l0.copy_(torch.cat([L["W_hr"], L["W_hz"], L["W_hn"]]))
        cell.bias_ih_l0.copy_(torch.cat([L["b_ir"], L["b_iz"], L["b_in"]]).ravel())
        cell.bias_hh_l0.copy_(torch.cat([L["b_hr"], L["b_hz"], L["b_hn"]]).ravel())
    xs = torch.tensor(np.stack([point.leaves[Node("x", t)].ravel() for t in range(1, n + 1)]))[:, None, :]
    h0 = L["h0"].reshape(1, 1, 3)
    _, hn = cell(xs, h0)
    l = L["V"] @ hn.reshape(3, 1) + L["gamma"]
    y = point.labels["y"]
    loss = -torch.log_softmax(l, dim=0)[y - 1, 0]
    loss.backward()
    ours = _symrnn_grads(model, G, point, ["W_ir", "W_hn", "b_hz", "b_in", "h0", "V"])
    assert relative_error(ours["W_ir"], cell.weight_ih_l0.grad[0:3]) < 1e-10
    assert relative_error(ours["W_hn"], cell.weight_hh_l0.grad[6:9]) < 1e-10
    assert relative_error(ours["b_hz"].ravel(), cell.bias_hh_l0.grad[3:6]) < 1e-10
    assert relative_error(ours["b_in"].ravel(), cell.bias_ih_l0.grad[6:9]) < 1e-10
    assert relative_error(ours["h0"], L["h0"].grad) < 1e-10
    assert relative_error(ours["V"], L["V"].grad) < 1e-10


@pytest.mark.parametrize("loss_at", ["last", "every"])
def test_lstm_matches_torch_nn_lstm(loss_at):
    model = zoo.lstm(loss_at)
    n, m, d = 4, 3, 2
    G = unroll(model, n)
    point = random_point(model, G, {"m": m, "d": d, "K": 4}, seed=6)
    L = {v.name: torch.tensor(a, requires_grad=True) for v, a in point.leaves.items() if v.t is None}
    cell = torch.nn.LSTM(input_size=d, hidden_size=m)
    order = ("i", "f", "c", "o")  # torch's gate order: input, forget, cell (g), output
    with torch.no_grad():
        cell.weight_ih_l0.copy_(torch.cat([L[f"Wx_{g}"] for g in order]))
        cell.weight_hh_l0.copy_(torch.cat([L[f"Wh_{g}"] for g in order]))
        cell.bias_ih_l0.copy_(torch.cat([L[f"b_{g}"] for g in order]).ravel())
        cell.bias_hh_l0.zero_()
    xs = torch.tensor(np.stack([point.leaves[Node("x", t)].ravel() for t in range(1, n + 1)]))[:, None, :]
    out, _ = cell(xs, (L["h0"].reshape(1, 1, m), L["c0"].reshape(1, 1, m)))
    hs = out.reshape(n, m)
    steps = range(n) if loss_at == "every" else [n - 1]
    loss = 0
    for t in steps:
        s = L["V"] @ hs[t].reshape(m, 1) + L["b_y"]
        target = point.leaves[Node("y", t + 1)] if loss_at == "every" else point.leaves[Node("y")]
        loss = loss - (torch.tensor(target).T @ torch.log_softmax(s, dim=0)).reshape(())
    loss.backward()
    ours = _symrnn_grads(model, G, point, ["Wx_f", "Wh_o", "b_c", "h0", "c0", "V"])
    assert relative_error(ours["Wx_f"], cell.weight_ih_l0.grad[m : 2 * m]) < 1e-10
    assert relative_error(ours["Wh_o"], cell.weight_hh_l0.grad[3 * m :]) < 1e-10
    assert relative_error(ours["b_c"].ravel(), cell.bias_ih_l0.grad[2 * m : 3 * m]) < 1e-10
    assert relative_error(ours["h0"], L["h0"].grad) < 1e-10
    assert relative_error(ours["c0"], L["c0"].grad) < 1e-10
    assert relative_error(ours["V"], L["V"].grad) < 1e-10
