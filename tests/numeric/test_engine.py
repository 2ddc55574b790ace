"""The compiled gradient (factored form run over time, batched) and exact mode."""

from fractions import Fraction

import numpy as np
import pytest

from symrnn import zoo
from symrnn.derive import closed_form
from symrnn.errors import NumericError
from symrnn.graph import Node, unroll
from symrnn.numeric.engine import CompiledGradient
from symrnn.numeric.evaluate import evaluate_closed_form
from symrnn.numeric.exact import ExactArrays, to_fraction
from symrnn.numeric.forward import Point, loss, random_point
from symrnn.numeric.gradcheck import relative_error


def _batch(model, n, i, B, seed, bindings):
    """B random points sharing their parameters, and the same numbers as engine arrays."""
    sizes = {str(s): v for s, v in zip(model.sizes, (3, 2, 4, 3), strict=False)}
    G = unroll(model, n, i)
    first = random_point(model, G, sizes, seed=seed, bindings=bindings)
    params = {p.name: first.leaves[Node(p.name)] for p in model.parameters}
    points = []
    for b in range(B):
        p = random_point(model, G, sizes, seed=seed + 100 * b, bindings=bindings)
        points.append(Point({**p.leaves, **{Node(k): v for k, v in params.items()}}, p.labels, p.sizes, p.bindings))
    inputs = {}  # a batch in columns: (n, size, B) for a sequence, (size, B) for one vector
    for v in model.inputs:
        if v.timed:
            steps = list(v.loop.range(n, i))
            inputs[v.name] = (np.stack([np.concatenate([p.leaves[Node(v.name, t)] for p in points], axis=1)
                                        for t in steps]) if steps else np.zeros((0, 1, B)))
        else:
            inputs[v.name] = np.concatenate([p.leaves[Node(v.name)] for p in points], axis=1)
    labels = {k: np.array([p.labels[k] for p in points]) for k in points[0].labels}
    return G, points, params, inputs, labels


@pytest.mark.parametrize("name", list(zoo.MODELS))
@pytest.mark.parametrize("n", [1, 4])
def test_compiled_gradient_is_the_printed_closed_form_summed_over_the_batch(name, n):
    model = zoo.get(name)
    i = min(2, n) if model.positional else None
    bindings = {f: "sigmoid" for f in model.abstract_functions}
    G, points, params, inputs, labels = _batch(model, n, i, 3, n, bindings)
    out = CompiledGradient(model, bindings)(params, inputs, labels, n, i)
    assert np.allclose(out.loss, [loss(G, p) for p in points], rtol=1e-12, atol=0)
    for p in model.parameters:
        cf = closed_form(model, p.latex, n, i, "denominator", graph=G)
        printed = sum(np.asarray(evaluate_closed_form(cf, point)) for point in points)
        assert out.gradients[p.name].shape == params[p.name].shape
        assert relative_error(out.gradients[p.name], printed) < 1e-12, p.latex


def test_against_finite_differences_of_the_batch_loss():
    model = zoo.lstm("every")
    G, points, params, inputs, labels = _batch(model, 3, None, 4, 9, {})
    f = CompiledGradient(model)
    grads = f(params, inputs, labels, 3).gradients
    for name in ("Wh_o", "b_c", "c0"):
        base, fd = params[name], np.zeros_like(params[name])
        for idx in np.ndindex(base.shape):
            for sign in (1, -1):
                moved = dict(params)
                moved[name] = base.copy()
                moved[name][idx] += sign * 1e-6
                fd[idx] += sign * f(moved, inputs, labels, 3).loss.sum() / 2e-6
        assert relative_error(grads[name], fd) < 1e-6, name


def test_input_gradients_per_sequence():
    model = zoo.elman()
    bindings = {"g": "tanh"}
    G, points, params, inputs, labels = _batch(model, 3, None, 2, 4, bindings)
    out = CompiledGradient(model, bindings)(params, inputs, labels, 3, wrt_inputs=True)
    for b, point in enumerate(points):
        cf = closed_form(model, "x^{(2)}", 3, layout="denominator", graph=G)
        assert relative_error(out.gradients[Node("x", 2)][:, b:b + 1], evaluate_closed_form(cf, point)) < 1e-12


def test_compiling_does_not_depend_on_n():
    model = zoo.lstm()
    f = CompiledGradient(model)
    rules = (len(f.forward_rules), sum(len(terms) for terms in f.equations.values()))
    for n in (2, 30):
        G, points, params, inputs, labels = _batch(model, n, None, 2, 1, {})
        assert f(params, inputs, labels, n).loss.shape == (2,)
    assert rules == (len(f.forward_rules), sum(len(terms) for terms in f.equations.values()))


def test_clear_errors():
    with pytest.raises(NumericError, match="g is abstract; bind it"):
        CompiledGradient(zoo.elman())
    model = zoo.vanilla()
    G, points, params, inputs, labels = _batch(model, 2, None, 1, 0, {})
    f = CompiledGradient(model)
    with pytest.raises(NumericError, match=r"no value for the parameter W_\{h\} \(W_h\)"):
        f({k: v for k, v in params.items() if k != "W_h"}, inputs, labels, 2)
    with pytest.raises(NumericError, match=r"no value for the input y \(y\)"):
        f(params, {"x": inputs["x"]}, labels, 2)


def test_exact_mode_reproduces_seed_003():
    xp = ExactArrays()
    f = CompiledGradient(zoo.scalar(), xp=xp)
    params = {k: xp.asarray([[v]]) for k, v in {"w_x": "0.1", "w_h": 1, "w_y": 2, "h0": 1}.items()}
    inputs = {"x": xp.asarray([[[10]], [[10]]]), "y": xp.asarray([[[3]], [[3]]])}  # (n, size, B)
    out = f(params, inputs, None, 2, keep_values=True)
    h = [out.values[Node("h", t)].item() for t in (1, 2)]
    yhat = [out.values[Node("yhat", t)].item() for t in (1, 2)]
    assert h == [Fraction(2), Fraction(3)] and yhat == [Fraction(4), Fraction(6)]  # seed 003: h_1 = 2, h_2 = 3
    assert out.loss.tolist() == [Fraction(10)]
    assert {k: v.item() for k, v in out.gradients.items()} == {
        "w_x": Fraction(280), "w_h": Fraction(40), "w_y": Fraction(22), "h0": Fraction(16)}
    assert all(type(v.item()) is Fraction for v in out.gradients.values())


def test_exact_mode_refuses_what_is_not_rational():
    with pytest.raises(NumericError, match="exact mode evaluates rational functions only, and tanh is not one"):
        model = zoo.vanilla()
        G, points, params, inputs, labels = _batch(model, 2, None, 1, 0, {})
        xp = ExactArrays()
        CompiledGradient(model, xp=xp)({k: xp.asarray(v.round(2).astype(str)) for k, v in params.items()},
                                        {k: xp.asarray(v.round(2).astype(str)) for k, v in inputs.items()},
                                        labels, 2)
    assert to_fraction("0.1") == Fraction(1, 10) and to_fraction(0.1) == Fraction(1, 10)
    with pytest.raises(NumericError, match="not an exact number"):
        to_fraction("ten")
