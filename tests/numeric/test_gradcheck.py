"""Every printed path sum, evaluated as printed, against finite differences."""

import numpy as np
import pytest

from symrnn.derive import pathsum
from symrnn.graph import unroll
from symrnn.numeric import check_model, evaluate_pathsum, random_point, relative_error
from symrnn.numeric.gradcheck import check_pathsum
from symrnn.operations import primitives as P
from symrnn.operations.registry import _RULES, defrule
from symrnn.zoo import elman


def _sizes(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 7))
    d = int(rng.choice([k for k in range(1, 7) if k != m]))
    return {"m": m, "d": d, "K": int(rng.integers(1, 7))}


@pytest.mark.parametrize("g", ["tanh", "sigmoid", "identity"])
@pytest.mark.parametrize("n", range(1, 7))
def test_every_parameter_agrees_with_finite_differences(g, n):
    sizes = _sizes(100 * n + len(g))
    rows = check_model(elman(g), n, sizes, seed=n)
    assert [r.name for r in rows] == ["W^{hx}", "W^{hh}", "b^{h}", "h^{(0)}", "V", r"\gamma"]
    for r in rows:
        assert r.formula.shape == r.reference.shape == r.shape
        assert r.error < 1e-6, (r.name, r.error, sizes)


def test_abstract_g_is_checked_through_a_binding():
    rows = check_model(elman(), 3, {"m": 3, "d": 2, "K": 4}, bindings={"g": "sigmoid"})
    assert all(r.error < 1e-6 for r in rows)
    same = check_model(elman("sigmoid"), 3, {"m": 3, "d": 2, "K": 4})
    assert [r.formula.tolist() for r in rows] == [r.formula.tolist() for r in same]


@pytest.mark.parametrize("t", [1, 2, 4])
def test_inputs_agree_with_finite_differences(t):
    rows = check_model(elman("tanh"), 4, {"m": 3, "d": 5, "K": 2}, wrt=[f"x^{{({t})}}"])
    assert rows[0].shape == (5, 1) and rows[0].error < 1e-6


def test_a_wrong_rule_is_caught():
    """The check must be able to fail: break tanh's rule and watch it."""
    tanh = P.elementwise("tanh")
    saved = _RULES[tanh][0]
    defrule(tanh, 0, jacobian=lambda args, out: saved.jacobian(args, out) * 2, vjp=saved.vjp)
    try:
        from symrnn.graph.jacobians import template

        template.cache_clear()
        rows = check_model(elman("tanh"), 2, {"m": 3, "d": 2, "K": 3})
        assert not any(r.passed for r in rows if r.name in ("W^{hx}", "b^{h}"))
    finally:
        _RULES[tanh][0] = saved
        template.cache_clear()
    assert all(r.passed for r in check_model(elman("tanh"), 2, {"m": 3, "d": 2, "K": 3}))


def test_path_sum_row_is_vec_of_the_gradient():
    ps = pathsum(elman("tanh"), "W^{hx}", 2)
    point = random_point(ps.model, ps.graph, {"m": 2, "d": 3, "K": 2}, seed=3)
    row = evaluate_pathsum(ps, point)
    assert row.shape == (1, 6)
    grad = check_pathsum(ps, point).reference
    np.testing.assert_allclose(row.ravel(), grad.ravel(order="F"), rtol=1e-7)


def test_relative_error():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error([0.0], [0.0]) == 0.0
    assert relative_error([1.0, 2.0], [1.0, 2.2]) == pytest.approx(0.2 / 2.2)


def test_vanishing_gradient_is_still_checked():
    """h^{(0)} with m = 1, sigmoid, n = 6: the gradient is ~1e-10 and still passes."""
    G = unroll(elman("sigmoid"), 6)
    rows = check_model(elman("sigmoid"), 6, {"m": 1, "d": 5, "K": 5}, seed=2, wrt=["h^{(0)}"])
    assert np.abs(rows[0].reference).max() < 1e-8
    assert rows[0].error < 1e-6
    assert G.number_of_nodes() == 6 * 2 + 6 + 3


def test_large_parameters_are_checked_on_a_random_sample():
    from symrnn.numeric.gradcheck import check_model
    from symrnn.zoo import vanilla

    rows = check_model(vanilla(), 2, {"m": 12, "d": 9, "K": 3}, forms=("closed",), max_coordinates=30,
                       wrt=["W_{x}", "b"])
    assert [(r.name, r.checked, r.total) for r in rows] == [("W_{x}", 30, 108), ("b", 12, 12)]
    assert all(r.passed for r in rows) and rows[0].abs_error < 1e-9
    assert int(np.isnan(rows[0].reference).sum()) == 108 - 30


def test_a_nan_formula_fails_and_is_counted(monkeypatch):
    """A printed formula that evaluates to NaN on a sampled parameter never passes (it did: the NaN
    entries were dropped as if they were the ones not sampled, and an empty comparison scored 0)."""
    import symrnn.numeric.gradcheck as gc

    real = gc.evaluate_closed_form

    def with_nan(cf, point):
        value = np.array(real(cf, point), float)
        value[...] = np.nan  # a formula that overflows: NaN everywhere
        return value

    monkeypatch.setattr(gc, "evaluate_closed_form", with_nan)
    rows = check_model(elman("tanh"), 2, {"m": 3, "d": 2, "K": 4}, wrt=["W^{hh}"], forms=("closed",),
                       max_coordinates=4)
    (row,) = rows
    assert (row.checked, row.total) == (4, 9)
    assert not row.finite and not row.passed and row.result == "FAIL: NaN or Inf"
    assert row.error == float("inf")


def test_sampled_entries_are_the_ones_counted():
    (row,) = check_model(elman("tanh"), 2, {"m": 3, "d": 2, "K": 4}, wrt=["W^{hh}"], forms=("pathsum",),
                         max_coordinates=5)
    assert (row.checked, row.total) == (5, 9) and row.passed and row.result == "pass"
    assert np.isnan(row.reference[~row.compared]).all() and np.isfinite(row.reference[row.compared]).all()
    assert relative_error([1.0, np.inf], [1.0, 1.0]) == float("inf")
    assert relative_error([1.0, np.nan], [1.0, 5.0], mask=[True, False]) == 0.0


def test_at_a_kink_the_check_moves_the_point_and_says_so():
    sizes = {"m": 4, "d": 3, "K": 5}
    # at seed 9 finite differences straddle relu's kink: four formulas failed there, right as they are
    rows = check_model(elman("relu"), 4, sizes, seed=9)
    assert all(r.passed for r in rows)
    assert {r.note for r in rows} == {"relu has a kink, where finite differences are not the derivative: the check "
                                      "failed at the point of seed 9 and passes at the point of seed 7928, shown "
                                      "above"}
    assert all(r.note == "" for r in check_model(elman("tanh"), 4, sizes, seed=9))


def test_at_a_kink_a_wrong_rule_still_fails():
    from symrnn.derive.equations import adjoint_equation
    from symrnn.graph.jacobians import template, vjp_template

    relu = P.elementwise("relu")
    saved = _RULES[relu][0]
    defrule(relu, 0, jacobian=lambda args, out: saved.jacobian(args, out) * 2,
            vjp=lambda v, args, out: saved.vjp(v, args, out) * 2)
    try:
        for cache in (template, vjp_template, adjoint_equation):
            cache.cache_clear()
        rows = check_model(elman("relu"), 3, {"m": 3, "d": 2, "K": 3}, seed=1)
        assert not all(r.passed for r in rows) and all(r.note == "" for r in rows)
    finally:
        _RULES[relu][0] = saved
        for cache in (template, vjp_template, adjoint_equation):
            cache.cache_clear()


def test_a_vanished_gradient_passes_and_says_so():
    """Below RESOLUTION on both sides (the Elman RNN's h^(0) after 50 steps: 1.7e-22 against a difference of
    0) the relative error says nothing: the row passes as vanished. Above it, a mismatch still fails."""
    from symrnn.numeric.gradcheck import RESOLUTION, CheckRow

    vanished = CheckRow("h_0", (2,), np.array([1.7e-22, -3e-23]), np.array([0.0, 0.0]))
    assert vanished.passed and vanished.vanished and vanished.result == "pass (vanished)"
    visible = CheckRow("h_0", (2,), np.array([10 * RESOLUTION, 0.0]), np.array([0.0, 0.0]))
    assert not visible.passed and visible.result == "FAIL"
    right = CheckRow("h_0", (1,), np.array([1e-20]), np.array([1e-20]))
    assert right.passed and right.result == "pass"
