"""Every zoo model, every parameter, n = 1..6, random sizes: the printed path sum, closed form
and recursion agree with central finite differences (and so with each other)."""

import numpy as np
import pytest

from symrnn import zoo
from symrnn.graph import unroll
from symrnn.numeric.gradcheck import FORMS, check_model
from symrnn.paths import count_paths

MODELS = list(zoo.MODELS)


def _setting(model, n: int, seed: int):
    rng = np.random.default_rng(seed)
    sizes = {str(s): int(rng.integers(1, 4)) for s in model.sizes}
    i = int(rng.integers(1, n + 1)) if model.positional else None
    bindings = {f: ["tanh", "sigmoid"][seed % 2] for f in model.abstract_functions}
    return sizes, i, bindings


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("n", range(1, 7))
def test_printed_forms_match_finite_differences(name, n):
    model = zoo.get(name)
    sizes, i, bindings = _setting(model, n, seed=10 * n + len(name))
    layout = "numerator" if n % 2 else "denominator"
    forms = FORMS if n in (1, 4) else ("pathsum", "closed")
    rows = check_model(model, n, sizes, seed=n, bindings=bindings, forms=forms, layout=layout, i=i)
    assert {r.name for r in rows if r.form == "closed"} == {p.latex for p in model.parameters}
    failed = [(r.form, r.name, r.error) for r in rows if not r.passed]
    assert not failed, (sizes, i, layout, failed)


@pytest.mark.parametrize("name", MODELS)
def test_inputs_are_checked_too(name):
    model = zoo.get(name)
    sizes, i, bindings = _setting(model, 3, seed=1)
    G = unroll(model, 3, i)
    inputs = [G.nodes[v]["latex"] for v in G if G.nodes[v]["kind"] == "input"
              and count_paths(G, v) > 0 and not model.var(v.name).onehot]
    rows = check_model(model, 3, sizes, seed=2, wrt=inputs, bindings=bindings, forms=("pathsum", "closed"),
                       layout="denominator", i=i)
    assert not [(r.form, r.name, r.error) for r in rows if not r.passed]


def test_every_zoo_model_is_listed_with_a_description():
    assert all(desc for _, desc in zoo.MODELS.values())
    assert all(zoo.get(name).name == name for name in zoo.MODELS)
