"""Generated modules: standalone, readable, and the same numbers as the compiled gradient."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symrnn import zoo
from symrnn.codegen.module import codegen
from symrnn.errors import NumericError
from symrnn.numeric.engine import CompiledGradient
from symrnn.numeric.gradcheck import relative_error
from tests.numeric.test_engine import _batch


def _load(source: str, path):
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("g", ["tanh", "relu"])  # relu: a derivative with an implementation of its own
@pytest.mark.parametrize("name", list(zoo.MODELS))
def test_generated_module_computes_what_the_engine_does(name, g, tmp_path):
    model = zoo.get(name)
    bindings = {f: g for f in model.abstract_functions}
    module = _load(codegen(model, bindings=bindings), tmp_path / f"{name}_gradients.py")
    for n in (1, 4):
        i = (1 if n == 1 else 3) if model.positional else None
        G, points, params, inputs, labels = _batch(model, n, i, 3, n, bindings)
        reference = CompiledGradient(model, bindings)(params, inputs, labels, n, i)
        loss, grads = module.gradients(params, inputs, labels, n, i)
        assert relative_error(loss, reference.loss) < 1e-12
        for p in model.parameters:
            assert relative_error(grads[p.name], reference.gradients[p.name]) < 1e-12, (n, p.latex)


def test_generated_code_is_commented_with_its_equations():
    source = codegen(zoo.lstm())
    assert source.count("import ") == 1 and "import numpy as xp" in source
    assert "        # c_{t} = f_{t} \\odot c_{t-1} + i_{t} \\odot \\tilde{c}_{t}\n" in source
    lines = source.splitlines()
    # the gates that share an operand are one stacked product: the input projections of all steps
    # (and the stacked biases) before the loop, the recurrent products one per step
    assert "    W1 = xp.concatenate([Wx_f, Wx_i, Wx_c, Wx_o], axis=0)" in lines
    assert "    side0 = side_by_side(xp, x)  # the steps of x side by side" in lines
    assert "    pre0 = unside(xp, W1 @ side0, n, B) + b0" in lines
    assert "        s0 = W0 @ h[t-1] + pre0[t-1]" in lines
    # each function is the one implementation of symrnn.operations.functions, copied
    assert "        f[t] = sigmoid(xp, s0[0:m])" in lines
    k = lines.index("def sigmoid(xp, a):")
    assert lines[k + 1] == "    return 1.0 / (1.0 + xp.exp(-a))"
    # the factor that W_x^f, W_h^f, b^f and the recursion of h share: once per step, its forward part before;
    # the four gates' factors kept in one timeline, in the stacked matrix's order
    assert "    pre3 = c[:n+1] * f[1:] * (1.0 - f[1:])" in lines
    k = lines.index("        E0[t, 0:m] = d_c[t] * pre3[t-1]")
    assert lines[k - 1] == ("        # E0[t, 0:m] = \\frac{\\partial L}{\\partial c_{t}} \\odot c_{t-1} \\odot f_{t} \\odot "
                            "(\\mathbf{1} - f_{t})")
    # so the four products that carry them back to h are one
    assert "        d_h = W0.T @ E0[t+1] if t+1 <= n else 0.0" in lines
    assert "    grad = W0.T @ E0[1]" in lines
    # each sum over t of outer products: the steps side by side, one product for the four gates
    k = lines.index("    grads['Wx_f'] = _like(grad, (m, d))")
    assert lines[k - 4:k] == [
        "    # + \\sum_t (\\frac{\\partial L}{\\partial c_{t}} \\odot c_{t-1} \\odot f_{t} \\odot (\\mathbf{1} - f_{t})) "
        "x_{t}^{\\top}",
        "    side1 = side_by_side(xp, E0[1:n+1])  # the steps of E0[1:n+1] side by side",
        "    G0 = side1 @ side0.T  # the sums of outer products of a stacked timeline, in one",
        "    grad = G0[0:m]"]
    with pytest.raises(NumericError, match="g is abstract; bind it"):
        codegen(zoo.elman())
    with pytest.raises(NumericError, match="codegen writes numpy, cupy, jax, torch, not 'tensorflow'"):
        codegen(zoo.lstm(), backend="tensorflow")


DRIVER = """
import sys

sys.modules["symrnn"] = None  # the generated module must not need symrnn: importing it would fail
sys.path.insert(0, ".")
import numpy as np
import lstm_gradients as gen

rng = np.random.default_rng(3)
m, d, K, n, B = 3, 2, 4, 3, 2
shapes = {"V": (K, m), "b_y": (K, 1), "h0": (m, 1), "c0": (m, 1)}
for gate in "fico":
    shapes.update({f"Wx_{gate}": (m, d), f"Wh_{gate}": (m, m), f"b_{gate}": (m, 1)})
params = {k: 0.5 * rng.normal(size=s) for k, s in shapes.items()}
inputs = {"x": rng.normal(size=(n, d, B)), "y": np.eye(K)[:, rng.integers(0, K, size=B)]}
loss, grads = gen.gradients(params, inputs, {}, n)
worst = 0.0
for name, value in params.items():
    fd = np.zeros_like(value)
    for idx in np.ndindex(value.shape):
        for sign in (1, -1):
            moved = dict(params)
            moved[name] = value.copy()
            moved[name][idx] += sign * 1e-6
            fd[idx] += sign * gen.gradients(moved, inputs, {}, n)[0].sum() / 2e-6
    worst = max(worst, np.abs(fd - grads[name]).max() / np.abs(fd).max())
print(worst)
"""


def test_generated_module_runs_standalone_and_matches_finite_differences(tmp_path):
    (tmp_path / "lstm_gradients.py").write_text(codegen(zoo.lstm()))
    (tmp_path / "driver.py").write_text(DRIVER)
    done = subprocess.run([sys.executable, "-I", "driver.py"], cwd=tmp_path, capture_output=True, text=True,
                          check=True)
    assert float(done.stdout.strip()) < 1e-6
    assert "symrnn" not in (tmp_path / "lstm_gradients.py").read_text().split('"""')[2]


@pytest.mark.parametrize("backend", ["jax", "torch"])
@pytest.mark.parametrize("name", list(zoo.MODELS))
def test_generated_modules_agree_across_backends(name, backend, tmp_path):
    from symrnn.numeric.backends import to_numpy
    from tests.numeric.test_backends import _available

    if not _available(backend):
        pytest.skip(f"{backend} is not installed")
    model = zoo.get(name)
    bindings = {f: "sigmoid" for f in model.abstract_functions}
    numpy_module = _load(codegen(model, bindings=bindings), tmp_path / f"{name}_numpy.py")
    other = _load(codegen(model, backend, bindings), tmp_path / f"{name}_{backend}.py")
    i = 2 if model.positional else None
    G, points, params, inputs, labels = _batch(model, 3, i, 2, 11, bindings)
    loss, grads = numpy_module.gradients(params, inputs, labels, 3, i)
    loss_b, grads_b = other.gradients(params, inputs, labels, 3, i)
    assert relative_error(to_numpy(loss_b), loss) < 1e-10
    for p in model.parameters:
        assert relative_error(to_numpy(grads_b[p.name]), grads[p.name]) < 1e-10, p.latex
    source = (tmp_path / f"{name}_{backend}.py").read_text()
    assert [line for line in source.splitlines() if line.startswith("import ")] == [f"import {backend}"] + (
        ["import jax.numpy as xp  # noqa: E402"] if backend == "jax" else [])


def test_a_size_named_k_is_a_name_like_any_other(tmp_path):
    from symrnn.model.rnn_reader import parse_spec

    spec = Path(__file__).parents[2] / "examples" / "specs" / "elman.rnn"
    source = spec.read_text().replace("sizes m, d, K", "sizes m, d, k").replace("{K}", "{k}") \
        .replace("K \\times", "k \\times").replace("1 \\dots K", "1 \\dots k")
    model = parse_spec(source, "elk.rnn").bind(g="tanh")
    module = _load(codegen(model, "jax"), tmp_path / "elk.py")  # the JAX loop counter is _k
    rng = np.random.default_rng(0)
    from symrnn.numeric.forward import concrete_shape

    sizes = {"m": 3, "d": 2, "k": 4}
    params = {p.name: rng.normal(size=concrete_shape(model, p.name, sizes)) for p in model.parameters}
    inputs, labels = {"x": rng.normal(size=(3, 2, 2))}, {"y": np.array([1, 4])}
    reference = CompiledGradient(model)(params, inputs, labels, 3).gradients
    grads = module.gradients(params, inputs, labels, 3)[1]
    for name, ref in reference.items():
        assert relative_error(np.asarray(grads[name]), ref) < 1e-12, name
