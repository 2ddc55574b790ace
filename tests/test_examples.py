"""The example outputs in examples/ are what symrnn prints today."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from symrnn.cli import main
from symrnn.graph import Node, unroll
from symrnn.paths import iter_paths
from symrnn.render.dot import graph_dot
from symrnn.zoo import elman

Q1 = Path(__file__).parents[1] / "examples" / "elman"


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
        runpy.run_path(str(Q1 / "elman.py"), run_name="__main__")
    out = buffer.getvalue()
    assert "   W^{hx} -> h^{(1)} -> h^{(2)} -> h^{(3)} -> l -> q -> o" in out
    assert out.count(", pass") == 6 and "FAIL" not in out


def _catalog():
    import importlib.util

    spec = importlib.util.spec_from_file_location("regenerate", Q1.parent / "regenerate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CATALOG = _catalog()


@pytest.mark.parametrize("folder,name,command", CATALOG.EXAMPLES, ids=[f"{f}/{n}" for f, n, _ in CATALOG.EXAMPLES])
def test_seed_examples_are_what_symrnn_prints(folder, name, command):
    """Every expected file under examples/ is exactly the output of its command (examples/regenerate.py)."""
    expected = (Q1.parent / folder / "expected" / name).read_text()
    assert CATALOG.output(command) == expected


def test_every_example_folder_has_a_readme_naming_its_commands():
    for folder in {f for f, _, _ in CATALOG.EXAMPLES}:
        readme = (Q1.parent / folder / "README.md").read_text()
        for f, name, _ in CATALOG.EXAMPLES:
            if f == folder:
                assert name in readme, (folder, name)


def test_every_example_states_its_source_and_question():
    """A stranger can follow each example: its README names its source and states the question in full."""
    folders = sorted(p.parent for p in Q1.parent.glob("*/README.md") if p.parent.name != "literature")
    assert len(folders) == 12
    for folder in folders:
        readme = (folder / "README.md").read_text()
        assert "**Source:**" in readme and "**The question.**" in readme, folder.name
        assert "seed" not in readme.lower(), folder.name
