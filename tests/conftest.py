"""Shared test helpers.

With SYMRNN_REQUIRE_TOOLS=1 (set by `make test`, hence CI) a missing external
program (dot, pdflatex) fails the test instead of skipping it.
"""

import importlib.util
import os
import shutil
import tempfile

import pytest


def require_program(name: str) -> None:
    if shutil.which(name) is None:
        if os.environ.get("SYMRNN_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{name} is required (SYMRNN_REQUIRE_TOOLS=1) but not installed")
        pytest.skip(f"{name} is not installed")


def load_generated(source: str, name: str):
    """A generated module's source written to a temporary file and imported as ``name``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{name}.py")
        with open(path, "w") as f:
            f.write(source)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def assert_every_form_agrees(model, G, point, inputs: dict, expected: dict, module_name: str, labels=None) -> None:
    """The printed closed form (at ``point``, one sequence), the compiled gradient and the generated
    NumPy module each equal ``expected`` (gradients from an independent reference) to 1e-10."""
    import numpy as np

    from symrnn.codegen import codegen
    from symrnn.derive.adjoints import closed_form
    from symrnn.graph import Node
    from symrnn.numeric.engine import CompiledGradient
    from symrnn.numeric.evaluate import evaluate_closed_form
    from symrnn.numeric.gradcheck import relative_error

    n = G.graph["n"]
    params = {p.name: point.leaves[Node(p.name)] for p in model.parameters}
    engine = CompiledGradient(model)(params, inputs, labels or {}, n).gradients
    _, generated = load_generated(codegen(model), module_name).gradients(params, inputs, labels or {}, n)
    for name, ref in expected.items():
        cf = closed_form(model, Node(name), n, None, "denominator", graph=G)
        assert relative_error(np.asarray(evaluate_closed_form(cf, point)).reshape(ref.shape), ref) < 1e-10, name
        assert relative_error(engine[name], ref) < 1e-10, (name, "engine")
        assert relative_error(generated[name], ref) < 1e-10, (name, "generated module")
