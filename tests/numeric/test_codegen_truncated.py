"""`symrnn codegen --truncate K`: a generated module's gradients are truncated BPTT's, the printed truncated
closed form summed over the batch, on every backend."""

import numpy as np
import pytest
from click.testing import CliRunner

from symrnn import closed_form, zoo
from symrnn.cli import main
from symrnn.codegen.module import codegen
from symrnn.graph import Node
from symrnn.model.rnn_reader import load_spec
from symrnn.numeric.evaluate import evaluate_closed_form
from symrnn.numeric.gradcheck import relative_error
from symrnn.paths import count_paths
from tests.numeric.test_codegen import _load
from tests.numeric.test_engine import _batch

LITERATURE = ("encoder_decoder", "captioning", "peephole_lstm", "layernorm_rnn", "bahdanau_attention", "luong_attention")


@pytest.mark.parametrize("K", [0, 1, 3])
@pytest.mark.parametrize("name", [*zoo.MODELS, *LITERATURE])
def test_the_truncated_module_computes_the_printed_truncated_closed_form(name, K, tmp_path):
    # loaded here, not at collection: a spec's constants make primitives that the registry test would list
    model = zoo.get(name) if name in zoo.MODELS else load_spec(f"examples/literature/{name}/model.rnn")
    bindings = {f: "tanh" for f in model.abstract_functions}
    module = _load(codegen(model, bindings=bindings, truncate=K), tmp_path / f"{name}_truncated.py")
    n = 4
    i = 2 if model.positional else None
    G, points, params, inputs, labels = _batch(model, n, i, 3, 7 + K, bindings)
    loss, grads = module.gradients(params, inputs, labels, n, i)
    for p in model.parameters:
        if count_paths(G, Node(p.name), truncate=K) == 0:
            assert not np.any(grads[p.name]), p.latex  # no path goes back K steps or fewer
            continue
        cf = closed_form(model, p.name, n, i, "denominator", graph=G, truncate=K)
        expected = sum(np.asarray(evaluate_closed_form(cf, point)) for point in points)
        assert relative_error(np.asarray(grads[p.name]), expected) < 1e-10, (p.latex, K)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_truncated_modules_agree_across_backends(backend, tmp_path):
    from symrnn.numeric.backends import to_numpy
    from tests.numeric.test_backends import _available

    if not _available(backend):
        pytest.skip(f"{backend} is not installed")
    for name in ("lstm", "bidirectional", "gru_torch"):
        model = zoo.get(name)
        bindings = {f: "tanh" for f in model.abstract_functions}
        reference = _load(codegen(model, bindings=bindings, truncate=1), tmp_path / f"{name}_np.py")
        other = _load(codegen(model, backend, bindings, truncate=1), tmp_path / f"{name}_{backend}.py")
        i = 2 if model.positional else None
        G, points, params, inputs, labels = _batch(model, 5, i, 2, 3, bindings)
        loss, grads = reference.gradients(params, inputs, labels, 5, i)
        loss_b, grads_b = other.gradients(params, inputs, labels, 5, i)
        assert relative_error(to_numpy(loss_b), loss) < 1e-10
        for p in model.parameters:
            assert relative_error(to_numpy(grads_b[p.name]), grads[p.name]) < 1e-10, (name, p.latex)


def test_codegen_truncate_on_the_command_line(tmp_path):
    out = CliRunner().invoke(main, ["codegen", "elman", "--truncate", "2", "-o", str(tmp_path / "m.py")])
    assert out.exit_code == 0, out.output
    source = (tmp_path / "m.py").read_text()
    assert "Truncated BPTT: the gradients keep only the paths that go back at most 2 steps" in source
    assert "Regenerate with: symrnn codegen elman --backend numpy --truncate 2" in source
    assert "d_h__2" in source
    bad = CliRunner().invoke(main, ["codegen", "elman", "--truncate", "-1"])
    assert bad.exit_code == 2
