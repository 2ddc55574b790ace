"""The CLI contract: output formats, files, exit codes."""

import json

from click.testing import CliRunner

from symrnn.cli import main
from tests.conftest import require_program


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_paths_q1a():
    result = run("paths", "elman", "--wrt", "W^{hx}", "--n", "3")
    assert result.exit_code == 0
    assert result.output == (
        "W^{hx} -> h^{(3)} -> l -> q -> o\n"
        "W^{hx} -> h^{(2)} -> h^{(3)} -> l -> q -> o\n"
        "W^{hx} -> h^{(1)} -> h^{(2)} -> h^{(3)} -> l -> q -> o\n"
        "3 paths\n")


def test_paths_count_and_limit():
    assert run("paths", "elman", "--wrt", "W_hx", "--n", "10000", "--count").output == "10000 paths\n"
    assert run("paths", "elman", "--wrt", "x^{(3)}", "--n", "3").output.endswith("\n1 path\n")
    result = run("paths", "elman", "--wrt", "W^{hx}", "--n", "10001")
    assert result.exit_code == 2
    assert "there are 10001 paths; listing more than 10000 needs --all" in result.output


def test_derive_writes_tex_dot_svg(tmp_path):
    require_program("dot")
    result = run("derive", "elman", "--wrt", "W^{hx}", "--n", "3", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("\\begin{align*}\n  \\frac{\\partial o}{\\partial W^{hx}} &= A ")
    tex = (tmp_path / "derivation.tex").read_text()
    assert tex.startswith("\\documentclass") and "A B^{2} B^{1}" in tex and tex.rstrip().endswith("\\end{document}")
    assert "rankdir=LR" in (tmp_path / "graph.dot").read_text()
    assert "</svg>" in (tmp_path / "graph.svg").read_text()


def test_derive_pdf(tmp_path):
    require_program("dot")
    require_program("pdflatex")
    result = run("derive", "elman", "--wrt", "V", "--n", "2", "--out", str(tmp_path), "--pdf", "--g", "tanh")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "derivation.pdf").read_bytes()[:4] == b"%PDF"


def test_check_passes_for_every_parameter():
    result = run("check", "elman", "--n", "5")
    assert result.exit_code == 0, result.output
    assert "g is abstract: checking with g = tanh" in result.output
    lines = result.output.splitlines()
    for name in ["W^{hx}", "W^{hh}", "b^{h}", "h^{(0)}", "V", r"\gamma"]:
        for form in ("pathsum", "closed"):
            row = next(line for line in lines if f"d o / d {name} " in line and form in line)
            assert "pass" in row
    for name in ["q", "l", "h^{(t)}"]:
        row = next(line for line in lines if "recursion" in line and rf"\partial {name}}}" in line)
        assert "pass" in row
    assert "all 15 printed formulas pass (relative error < 1e-06)" in result.output


def test_check_options():
    result = run("check", "elman", "--n", "2", "--g", "sigmoid", "--size", "m=2", "--size", "d=5",
                 "--seed", "4", "--wrt", "x^{(1)}")
    assert result.exit_code == 0, result.output
    assert "m = 2, d = 5, K = 5, seed 4" in result.output
    assert "5 x 1" in result.output
    assert run("check", "elman", "--n", "2", "--size", "q=3").exit_code == 2


def test_sensitivity_json():
    result = run("sensitivity", "elman", "--input", "x^{(1)}", "--n", "3", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert len(rows) == 20
    assert {k for row in rows for k in row} == {"from", "to", "varies", "reason", "jacobian"}
    constant = [(r["from"], r["to"]) for r in rows if not r["varies"]]
    assert constant == [(r"\gamma", "l"), ("h^{(3)}", "l"), ("q", "o")]


def test_sensitivity_text():
    result = run("sensitivity", "elman", "--input", "x^{(1)}", "--n", "2", "--g", "identity")
    assert "constant D(h^{(1)} -> h^{(2)}) = W^{hh}: it contains only W^{hh}" in result.output
    assert result.output.endswith("4 of 15 edge Jacobians vary with x^{(1)}\n")


def test_errors_exit_2_without_traceback():
    result = run("derive", "elman", "--wrt", "W", "--n", "3")
    assert result.exit_code == 2
    assert result.output.startswith("error: no node 'W' in the graph of elman for n = 3")
    assert "Traceback" not in result.output
    result = run("paths", "elmann", "--wrt", "V", "--n", "3")
    assert result.exit_code == 2 and "did you mean 'elman'?" in result.output
    result = run("derive", "elman", "--wrt", "V", "--n", "3", "--g", "tahn")
    assert result.exit_code == 2 and "unknown function 'tahn'" in result.output


def test_every_command_has_an_example_in_help():
    for command in ["paths", "derive", "check", "sensitivity"]:
        assert "Example" in run(command, "--help").output
