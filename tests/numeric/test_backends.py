"""The same spec gives the same numbers on every installed backend (float64, CPU)."""

import numpy as np
import pytest

from symrnn import zoo
from symrnn.errors import NumericError
from symrnn.numeric.backends import array_module, to_numpy
from symrnn.numeric.engine import CompiledGradient
from symrnn.numeric.gradcheck import relative_error
from tests.numeric.test_engine import _batch

OTHERS = ["jax", "torch"]


def _available(name):
    try:
        array_module(name)
        return True
    except NumericError:
        return False


@pytest.mark.parametrize("backend", OTHERS)
@pytest.mark.parametrize("name", list(zoo.MODELS))
def test_backends_agree_with_numpy(backend, name):
    if not _available(backend):
        pytest.skip(f"{backend} is not installed")
    model = zoo.get(name)
    n = 3
    i = 2 if model.positional else None
    bindings = {f: "tanh" for f in model.abstract_functions}
    G, points, params, inputs, labels = _batch(model, n, i, 4, 7, bindings)
    reference = CompiledGradient(model, bindings)(params, inputs, labels, n, i)
    out = CompiledGradient(model, bindings, backend=backend)(params, inputs, labels, n, i)
    assert relative_error(to_numpy(out.loss), reference.loss) < 1e-10
    for p in model.parameters:
        assert relative_error(to_numpy(out.gradients[p.name]), reference.gradients[p.name]) < 1e-10, p.latex


def test_unknown_and_missing_backends_say_so():
    with pytest.raises(NumericError, match="unknown backend 'tensorflow'; choose one of numpy, jax, torch, cupy"):
        array_module("tensorflow")
    if not _available("cupy"):
        with pytest.raises(NumericError, match=r"backend 'cupy' needs cupy, which is not installed"):
            CompiledGradient(zoo.vanilla(), backend="cupy")
    assert np.asarray(to_numpy(np.ones(2))).tolist() == [1.0, 1.0]
