"""The models of examples/literature/, each typed as its paper or textbook writes it: every form
of every parameter's gradient derives and prints, every printed formula passes the numeric
check, the text prints back as it parses, and the generated NumPy, JAX and PyTorch modules
compute what the compiled gradient computes. The IRNN also agrees with torch's nn.RNN."""

from pathlib import Path

import numpy as np
import pytest

from symrnn.codegen import codegen
from symrnn.derive import closed_form, pathsum
from symrnn.derive.adjoints import recursion
from symrnn.errors import SymRNNError
from symrnn.graph import Node
from symrnn.model.declared import Kind
from symrnn.model.rnn_reader import load_spec, parse_spec
from symrnn.numeric.engine import CompiledGradient
from symrnn.numeric.forward import concrete_shape
from symrnn.numeric.gradcheck import FORMS, check_model, relative_error
from symrnn.render.latex import latex
from symrnn.render.rnn_writer import spec_text
from tests.conftest import load_generated

FOLDER = Path(__file__).parents[1] / "examples" / "literature"
SPECS = sorted(FOLDER.glob("*/model.rnn"))


def test_there_are_at_least_ten_with_their_sources():
    assert len(SPECS) >= 10
    for spec in SPECS:
        readme = (spec.parent / "README.md").read_text()
        assert "## Source" in readme and "symrnn check" in readme, spec.parent.name


@pytest.mark.parametrize("spec", SPECS, ids=[s.parent.name for s in SPECS])
def test_every_form_derives_and_passes_the_check(spec):
    model = load_spec(spec)
    text = spec_text(model)
    assert spec_text(parse_spec(text, "again.rnn")) == text
    n = 3
    for p in model.parameters:
        try:
            shown = [latex(pathsum(model, p.name, n)), latex(recursion(model, p.name)),
                     latex(closed_form(model, Node(p.name), n, None, "denominator"))]
        except SymRNNError as e:  # the loss does not depend on it: said, not hidden
            assert "does not depend" in str(e), (p.name, str(e))
            continue
        assert all(s.strip() for s in shown)
    rows = check_model(model, n, {str(s): 3 for s in model.sizes}, seed=1, forms=FORMS)
    failed = [(r.form, r.label, r.result) for r in rows if not r.passed]
    assert not failed, failed


def _random_call(model, n, B, rng):
    sizes = {str(s): 3 for s in model.sizes}
    params = {p.name: 0.5 * rng.normal(size=concrete_shape(model, p.name, sizes)) for p in model.parameters}
    inputs, labels = {}, {}
    for v in model.variables:
        if v.kind is Kind.INPUT:
            rows = concrete_shape(model, v.name, sizes)[0]
            shape = ((n,) if v.timed else ()) + (rows, B)
            value = rng.normal(size=shape)
            if v.onehot:
                value = np.moveaxis(np.eye(rows)[rng.integers(rows, size=shape[:-2] + (B,))], -1, -2)
            inputs[v.name] = value
        elif v.kind is Kind.LABEL:
            K = int(v.shape[0].subs({s: sizes[str(s)] for s in model.sizes}))
            labels[v.name] = rng.integers(1, K + 1, size=(n, B) if v.timed else (B,))
    return params, inputs, labels


@pytest.mark.parametrize("spec", SPECS, ids=[s.parent.name for s in SPECS])
def test_generated_modules_compute_what_the_compiled_gradient_does(spec):
    model = load_spec(spec)
    n, rng = 4, np.random.default_rng(2)
    params, inputs, labels = _random_call(model, n, 2, rng)
    reference = CompiledGradient(model)(params, inputs, labels, n).gradients
    for backend in ("numpy", "jax", "torch"):
        if backend != "numpy":
            pytest.importorskip(backend)
        module = load_generated(codegen(model, backend), f"{spec.parent.name}_{backend}")
        _, grads = module.gradients(params, inputs, labels, n)
        for name, ref in reference.items():
            assert relative_error(np.asarray(grads[name]), ref) < 1e-10, (backend, name)


def test_irnn_matches_torch_nn_rnn_with_relu():
    torch = pytest.importorskip("torch")
    model = load_spec(FOLDER / "irnn" / "model.rnn")
    names = {p.latex: p.name for p in model.parameters}
    n, B, rng = 5, 3, np.random.default_rng(4)
    params, inputs, labels = _random_call(model, n, B, rng)
    reference = CompiledGradient(model)(params, inputs, labels, n).gradients
    rnn = torch.nn.RNN(3, 3, nonlinearity="relu", dtype=torch.float64)
    W, U, b = (params[names[k]] for k in ("W", "U", "b"))
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(torch.tensor(W))
        rnn.weight_ih_l0.copy_(torch.tensor(U))
        rnn.bias_ih_l0.copy_(torch.tensor(b.reshape(-1)))
        rnn.bias_hh_l0.zero_()
    x = torch.tensor(np.moveaxis(inputs["x"], -1, 1))  # (n, B, d)
    h0 = torch.tensor(params[names["h_{0}"]].reshape(1, 1, -1).repeat(B, axis=1), requires_grad=True)
    out, _ = rnn(x, h0)
    weights = {"W": rnn.weight_hh_l0, "U": rnn.weight_ih_l0, "b": rnn.bias_ih_l0}
    loss = _irnn_loss(torch, params, names, out, inputs)
    grads = torch.autograd.grad(loss, list(weights.values()))
    for key, g in zip(weights, grads, strict=True):
        ref = reference[names[key]]
        assert relative_error(g.numpy().reshape(ref.shape), ref) < 1e-10, key


def _irnn_loss(torch, params, names, out, inputs):
    """The IRNN spec's loss, on torch's hidden states (see examples/literature/irnn/model.rnn)."""
    V, c = torch.tensor(params[names["V"]]), torch.tensor(params[names["c"]].reshape(-1))
    y = torch.tensor(inputs["y"].T)  # (B, K), one one-hot target per sequence
    logits = out[-1] @ V.T + c
    return -(y * torch.log_softmax(logits, dim=-1)).sum()



@pytest.mark.parametrize("spec", SPECS, ids=[s.parent.name for s in SPECS])
def test_the_readme_shows_what_derive_prints(spec):
    """Each README's `symrnn derive ...` block followed by 'begins' is how that command's output begins."""
    import re
    import shlex

    from click.testing import CliRunner

    from symrnn.cli import main

    text = (spec.parent / "README.md").read_text()
    shown = re.findall(r"```sh\nsymrnn (derive [^\n]*)\n```\n\nbegins\n\n```latex\n(.*?)```", text, re.S)
    assert shown, spec.parent.name
    for command, begins in shown:
        result = CliRunner().invoke(main, shlex.split(command))
        assert result.exit_code == 0, result.output
        assert result.output.startswith(begins), (command, begins, result.output[:len(begins) + 200])
