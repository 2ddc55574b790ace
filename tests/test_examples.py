"""The example outputs in examples/ are what symrnn prints today."""

from pathlib import Path

from click.testing import CliRunner

from symrnn.cli import main
from symrnn.graph import Node, unroll
from symrnn.paths import iter_paths
from symrnn.render.dot import graph_dot
from symrnn.zoo import elman

Q1 = Path(__file__).parents[1] / "examples" / "q1_elman"


def test_paths_example():
    out = CliRunner().invoke(main, ["paths", "elman", "--wrt", "W^{hx}", "--n", "3"]).output
    assert out == (Q1 / "expected" / "paths_Whx_n3.txt").read_text()


def test_sensitivity_example():
    out = CliRunner().invoke(main, ["sensitivity", "elman", "--input", "x^{(1)}", "--n", "3"]).output
    assert out == (Q1 / "expected" / "sensitivity_x1_n3.txt").read_text()


def test_graph_example():
    G = unroll(elman(), 3)
    dot = graph_dot(G, list(iter_paths(G, Node("W_hx"))), edge_labels=True)
    assert dot == (Q1 / "expected" / "graph_Whx_n3.dot").read_text()


def test_python_example_runs_and_passes():
    import contextlib
    import io
    import runpy

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        runpy.run_path(str(Q1 / "q1.py"), run_name="__main__")
    out = buffer.getvalue()
    assert "   W^{hx} -> h^{(1)} -> h^{(2)} -> h^{(3)} -> l -> q -> o" in out
    assert out.count(", pass") == 6 and "FAIL" not in out
