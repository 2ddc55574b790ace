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


@pytest.mark.parametrize("loss", ["last", "every"])
def test_every_implementation_agrees_with_the_handwritten_bptt(loss):
    result = _bench().one((4, 5, 3, 4, 2), loss)
    assert result["worst_relative_difference"] < 1e-10
    assert set(result["times"]) >= {"handwritten numpy", "symrnn numpy"}
    assert all(isinstance(t, float) for name, t in result["times"].items() if name != "symrnn cupy")
