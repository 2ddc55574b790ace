"""The benchmark's implementations compute the same gradients (times are not tested)."""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "bench" / "run.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_run", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("model", "loss"), [("elman", "last"), ("elman", "every"), ("lstm", "last"),
                                             ("lstm", "every"), ("gru", "last")])
def test_every_implementation_agrees_with_the_handwritten_bptt(model, loss):
    result = _bench().one(model, (4, 5, 3, 4, 2), loss, budget=0.0)
    assert result["worst_relative_difference"] < 1e-10
    expected = {"handwritten numpy", "symrnn codegen numpy", "symrnn codegen jax"}
    expected |= {"symrnn engine numpy", "torch eager", "jax.jit(grad) scan"} if model == "elman" else {
        f"torch nn.{model.upper()}"}
    assert set(result["times"]) == expected
    assert all(isinstance(t, float) and t > 0 for t in result["times"].values())


def test_the_flop_count_is_that_of_the_products():
    # Elman at (n, m, d, K, B): per step and sequence 2 m d + 2 m m forward, 2 m m back, 2 m d + 2 m m gradients
    assert _bench().flops("elman", (10, 4, 3, 2, 5)) == 10 * 5 * (2 * 4 * 3 + 2 * 16 + 2 * 16 + 2 * 4 * 3 + 2 * 16)
    assert _bench().flops("lstm", (1, 1, 1, 1, 1)) == 4 * _bench().flops("elman", (1, 1, 1, 1, 1))
