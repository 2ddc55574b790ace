"""The CLI contract: output formats, files, exit codes."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from symrnn import zoo
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
    assert tex.startswith("\\documentclass") and "A B^{(2)} B^{(1)}" in tex and tex.rstrip().endswith("\\end{document}")
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


def test_derive_forms_and_layouts():
    closed = run("derive", "vanilla", "--wrt", "W_x", "--n", "3", "--form", "closed", "--layout", "denominator")
    assert closed.exit_code == 0, closed.output
    assert closed.output.startswith(
        "\\begin{align*}\n  \\frac{\\partial L}{\\partial W_{x}} &= \\sum_{t=1}^{n} (\\frac{\\partial L}{\\partial h_{t}} "
        "\\odot (\\mathbf{1} - h_{t} \\odot h_{t})) x_{t}^{\\top}\n\\end{align*}\nwith the total derivatives\n")
    recursion = run("derive", "elman", "--wrt", "W^{hh}", "--n", "3", "--form", "recursion")
    assert "t = n-1, \\dots, 1" in recursion.output and "\\sum" not in recursion.output
    every = run("derive", "elman", "--wrt", "b^{h}", "--n", "2", "--form", "all", "--layout", "denominator")
    assert every.output.count("\\begin{align*}") == 5  # path sum + where, closed form + recursion + where
    assert "\\left(\\frac{\\partial h^{(2)}}{\\partial b^{h}}\\right)^{\\top} A^{\\top}" in every.output


def test_label_position_and_option_errors():
    missing = run("derive", "bidirectional", "--wrt", "V", "--n", "3")
    assert missing.exit_code == 2
    assert "error: model 'bidirectional' reads the label position i: give i in 1..3" in missing.output
    assert "error: the label position i must be an integer in 1..3, got 4" in run(
        "paths", "bidirectional", "--wrt", "V", "--n", "3", "--i", "4").output
    assert "has no label position" in run("paths", "elman", "--wrt", "V", "--n", "3", "--i", "2").output
    bad_g = run("check", "lstm", "--n", "2", "--g", "tanh")
    assert bad_g.exit_code == 2 and "--g applies to the models written with an abstract g" in bad_g.output
    ok = run("paths", "bidirectional", "--wrt", "W^{bhx}", "--n", "3", "--i", "2")
    assert ok.output.splitlines()[-1] == "2 paths"


def test_paths_at_scale_count_and_refusal():
    count = run("paths", "lstm", "--wrt", "W_x^{f}", "--n", "1000", "--count")
    assert count.exit_code == 0
    assert len(count.output.split()[0]) == 418  # digits: the LSTM's paths grow exponentially with n
    refused = run("paths", "lstm", "--wrt", "W_x^{f}", "--n", "1000")
    assert refused.exit_code == 2
    assert "listing more than 10000 needs --all" in refused.output
    assert "symrnn derive lstm --form closed" in refused.output


def test_derive_all_forms_compile_with_pdflatex(tmp_path):
    require_program("dot")
    require_program("pdflatex")
    for model, wrt in (("tagger", r"\beta^{(0)}"), ("stacked_bidirectional", "W^{hx}")):
        result = run("derive", model, "--wrt", wrt, "--n", "3", "--i", "2", "--form", "all",
                     "--layout", "denominator", "--out", str(tmp_path / model), "--pdf")
        assert result.exit_code == 0, result.output
        assert (tmp_path / model / "derivation.pdf").read_bytes()[:4] == b"%PDF"
    result = run("derive", "gru", "--wrt", "W^{z}", "--n", "2", "--form", "all", "--out", str(tmp_path), "--pdf")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "derivation.pdf").read_bytes()[:4] == b"%PDF"
    assert (tmp_path / "graph.svg").exists()


def test_a_spec_file_works_wherever_a_zoo_name_does():
    spec = "examples/specs/sheet/q1.rnn"
    paths = run("paths", spec, "--wrt", "W^{hx}", "--n", "3")
    assert paths.output.splitlines() == [
        "W^{hx} -> h^{(3)} -> l -> q -> o", "W^{hx} -> h^{(2)} -> h^{(3)} -> l -> q -> o",
        "W^{hx} -> h^{(1)} -> h^{(2)} -> h^{(3)} -> l -> q -> o", "3 paths"]
    checked = run("check", "examples/specs/sheet/q2b.rnn", "--n", "3", "--i", "2", "--g", "sigmoid")
    assert checked.exit_code == 0 and "printed formulas pass" in checked.output
    derived = run("derive", "examples/specs/sheet/q3.rnn", "--wrt", "U^z", "--n", "2", "--form", "closed",
                  "--layout", "denominator")
    assert derived.output.startswith("\\begin{align*}\n  \\frac{\\partial o}{\\partial U^{z}} &= \\sum_{t=1}^{n} "
                                     "\\delta_{z}^{(t)} h^{(t-1)\\top}\n")  # the gate's error term, named
    plain = run("derive", "examples/specs/sheet/q3.rnn", "--wrt", "U^z", "--n", "2", "--form", "closed",
                "--layout", "denominator", "--no-deltas")
    assert plain.output.startswith("\\begin{align*}\n  \\frac{\\partial o}{\\partial U^{z}} &= \\sum_{t=1}^{n} ((")


def test_spec_errors_print_located_without_traceback(tmp_path):
    bad = tmp_path / "bad.rnn"
    bad.write_text("sizes m\nparam W in R^{m x m}\nx = tahn(W)\nloss x\n")
    result = run("derive", str(bad), "--wrt", "W", "--n", "1")
    assert result.exit_code == 2
    assert result.output == (f"error: {bad}:3:5: unknown function 'tahn'\n    x = tahn(W)\n        ^\n"
                             "hint: did you mean tanh?\n")


def test_zoo_and_show():
    listing = run("zoo", "--help")
    assert "symrnn zoo" in listing.output
    table = run("zoo").output
    for name in zoo.MODELS:
        assert name in table
    assert "examples/specs/elman.rnn" in table
    shown = run("show", "elman").output
    assert shown == (Path("examples/specs/elman.rnn")).read_text()
    assert run("show", "examples/specs/sheet/q1.rnn").output.startswith('model q1 "q1"\n\nsizes m, d, K\n')


def test_every_command_has_an_example_in_its_help():
    for command in main.commands:
        assert "Example" in run(command, "--help").output, command


def test_the_sheet_questions_typed_from_the_sheet_check_through_the_cli():
    for name, extra in (("q1", []), ("q2", ["--i", "2"]), ("q2a", ["--i", "3"]), ("q2b", ["--i", "3"]), ("q3", [])):
        result = run("check", f"examples/specs/sheet/{name}.rnn", "--n", "3", *extra)
        assert result.exit_code == 0, (name, result.output)
        assert "FAIL" not in result.output and "printed formulas pass" in result.output


def test_eval_exact_prints_seed_003_numbers():
    result = run("eval", "scalar", "--values", "examples/scalar/values.json", "--exact")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "scalar, exact:\n  h_{1} = 2\n  h_{2} = 3\n  \\hat{y}_{1} = 4\n  \\hat{y}_{2} = 6\n  L_{1} = 1\n"
        "  L_{2} = 9\n  L = 10\n  dL/dw_{x} = 280\n  dL/dw_{h} = 40\n  dL/dw_{y} = 22\n  dL/dh_{0} = 16\n")
    refused = run("eval", "vanilla", "--values", "examples/scalar/values.json", "--exact")
    assert refused.exit_code == 2 and "is not a parameter, input or label of vanilla" in refused.output


def test_check_says_when_it_samples_and_reports_both_errors():
    result = run("check", "vanilla", "--n", "2", "--size", "m=16", "--size", "d=14", "--form", "closed",
                 "--wrt", "W_{x}")
    assert result.exit_code == 0, result.output
    assert "200 of 224" in result.output and "max abs. error" in result.output
    assert "W_{x} has more than 200 entries: 200 of them, drawn at random, were compared" in result.output


BAD_VALUES = {
    "word": '"abc"', "null": "null", "object": "{}", "ragged": "[[1, 2], [3]]", "nested": "[[[1]]]",
    "huge": "1e400", "exponent": '"1e1000000000"', "bool": "true", "nan": "NaN",
}


def _scalar_values(tmp_path, value, label="3"):
    text = ('{"n": 2, "values": {"w_x": ' + value + ', "w_h": 1, "w_y": 2, "h_0": 1, "x": [10, 10], '
            '"y": [' + label + ', 3]}}')
    path = tmp_path / "values.json"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("case", list(BAD_VALUES))
@pytest.mark.parametrize("exact", [False, True])
def test_bad_numbers_in_a_values_file_are_an_error_line(case, exact, tmp_path):
    args = ["eval", "scalar", "--values", _scalar_values(tmp_path, BAD_VALUES[case])] + (["--exact"] if exact else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, (case, result.output)
    assert "error: " in result.output and "Traceback" not in result.output, result.output
    assert "w_x" in result.output


@pytest.mark.parametrize("label", ["6", "0", "-1", "2.7", "true", '"x"', "1e30"])
def test_bad_labels_in_a_values_file_are_an_error_line(label, tmp_path):
    path = tmp_path / "values.json"
    path.write_text('{"n": 1, "values": {"W_hx": [[0.5]], "W_hh": [[0.5]], "b_h": [0], "h0": [0], '
                    '"V": [[1], [2]], "gamma": [0, 0], "x": [[1]], "y": ' + label + "}}")
    result = CliRunner().invoke(main, ["eval", "elman", "--values", str(path)])
    # before, labels outside 1..K gave loss -0 and zero gradients, and 2.7 or true were read as 2 and 1
    assert result.exit_code == 2 and "error: " in result.output and "Traceback" not in result.output, result.output
    assert "label" in result.output


def test_the_documented_fraction_reads_in_float_mode_too(tmp_path):
    result = CliRunner().invoke(main, ["eval", "scalar", "--values", _scalar_values(tmp_path, '"1/10"')])
    assert result.exit_code == 0, result.output
    assert "L = 10" in result.output


BAD_ARGUMENTS = [
    ["check", "elman", "--n", "3", "--seed", "-1"],
    ["check", "elman", "--n", "3", "--size", "m=²"],
    ["check", "elman", "--n", "3", "--wrt", "h^{(2)}"],
    ["derive", "elman", "--wrt", "W^{hx}", "--n", "2", "--out", "{file}"],
    ["derive", "elman", "--wrt", "W^{hx}", "--n", "2", "--out", "{file}/below"],
    ["eval", "scalar", "--values", "{missing}"],
    ["codegen", "elman", "--g", "tanh", "-o", "{file}/module.py"],
    ["paths", "elman", "--wrt", "W^{zz}", "--n", "2"],
    ["paths", "{missing}", "--wrt", "V", "--n", "2"],
    ["derive", "elman", "--wrt", "V", "--n", "2", "--i", "5"],
    ["derive", "bidirectional", "--wrt", "V", "--n", "2"],  # needs --i
    ["sensitivity", "elman", "--input", "x^{(9)}", "--n", "2"],
    ["show", "{file}"],  # not a spec
    ["show", "lstm", "--g", "tanh"],
    ["eval", "elman", "--values", "{file}"],  # not JSON
    ["check", "no_such_model", "--n", "2"],
]


@pytest.mark.parametrize("args", BAD_ARGUMENTS, ids=lambda a: " ".join(a[:2] + a[-2:]))
def test_bad_arguments_end_in_an_error_line_never_a_traceback(args, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    args = [a.replace("{file}", str(a_file)).replace("{missing}", str(tmp_path / "missing.json")) for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert ("error: " in result.output or "Error: " in result.output) and "Traceback" not in result.output


def test_debug_shows_the_traceback_of_an_error(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    result = CliRunner().invoke(main, ["--debug", "codegen", "elman", "--g", "tanh", "-o", f"{a_file}/m.py"])
    assert result.exit_code == 2 and "Traceback" in result.output and "error: " in result.output


def test_a_reused_out_folder_keeps_no_stale_file(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("derivation.pdf", "graph.png"):  # written by an earlier run with --pdf --format png
        (out / name).write_text("stale")
    result = CliRunner().invoke(main, ["derive", "elman", "--wrt", "V", "--n", "2", "--out", str(out),
                                       "--format", "svg"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["derivation.tex", "graph.dot", "graph.svg"]


def test_names_that_look_alike_are_refused():
    from symrnn.errors import SpecError
    from symrnn.model import ModelBuilder

    mb = ModelBuilder("alike")
    mb.parameter("V", 2, latex="V")
    with pytest.raises(SpecError, match="has the character 'В', which a name may not use"):
        mb.parameter("V2", 2, latex="В")  # a Cyrillic capital ve: prints like V


def test_a_path_count_of_more_digits_than_python_prints_is_shown_in_scientific_notation():
    result = CliRunner().invoke(main, ["paths", "lstm", "--wrt", "W_{h}^{f}", "--n", "10400", "--count"])
    # Python refuses to print an int of more than 4,300 digits: this was an uncaught ValueError
    assert result.exit_code == 0 and result.output == "6.344e+4346 paths\n", result.output


def test_an_endless_spec_is_not_read_whole(tmp_path):
    from symrnn.model.rnn_reader import MAX_BYTES

    spec = tmp_path / "big.rnn"
    spec.write_bytes(b"% " + b"x" * (MAX_BYTES + 10))
    result = CliRunner().invoke(main, ["show", str(spec)])
    assert result.exit_code == 2 and f"more than {MAX_BYTES} bytes, the limit" in result.output


def test_a_form_that_does_not_depend_on_n_is_not_unrolled_for_it():
    import time

    start = time.perf_counter()
    big = CliRunner().invoke(main, ["derive", "lstm", "--wrt", "W_{x}^{f}", "--n", "1000000", "--form", "closed"])
    assert time.perf_counter() - start < 20  # it unrolled a million steps: 77 s and 3.85 GB for the Elman RNN
    small = CliRunner().invoke(main, ["derive", "lstm", "--wrt", "W_{x}^{f}", "--n", "3", "--form", "closed"])
    assert big.exit_code == small.exit_code == 0 and big.output == small.output


def test_a_chain_of_lets_as_long_as_the_variable_limit_allows(tmp_path):
    lines = ['model chain "lets"', "sizes m, K", r"input x^{(t)} \in \mathbb{R}^{m}", r"label y \in \{1 \dots K\}",
             r"param W \in \mathbb{R}^{m \times m}", r"param h^{(0)} \in \mathbb{R}^{m}",
             r"param V \in \mathbb{R}^{K \times m}", "", "for t = 1..n:", "    let a0^{(t)} = W h^{(t-1)} + x^{(t)}"]
    lines += [f"    let a{k}^{{(t)}} = \\tanh(a{k - 1}^{{(t)}})" for k in range(1, 300)]
    lines += [r"    h^{(t)} = \tanh(a299^{(t)})", "", r"q = \text{LS}(V h^{(n)})", "o = -q_{y}", "loss o", ""]
    spec = tmp_path / "lets.rnn"
    spec.write_text("\n".join(lines))
    result = CliRunner().invoke(main, ["derive", str(spec), "--wrt", "W", "--n", "2", "--form", "closed"])
    # 300 nested lets hit Python's recursion limit (1000 frames): a RecursionError below the 500-variable limit
    assert result.exit_code == 0, result.output
    assert r"a^{(t)}_{299}" in result.output or "a299^{(t)}" in result.output


def test_an_out_folder_named_like_an_option_never_reaches_pdflatex(tmp_path, monkeypatch):
    require_program("pdflatex")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["derive", "elman", "--wrt", "V", "--n", "2", "--out=-shell-escape", "--pdf",
                                       "--format", "svg"])
    # pdflatex runs on a copy named document.tex in a folder of its own: the name is never an argument
    assert result.exit_code == 0, result.output
    assert (tmp_path / "-shell-escape" / "derivation.pdf").read_bytes()[:4] == b"%PDF"


def test_a_generated_module_says_how_to_regenerate_it_from_what_it_was_read_from(tmp_path):
    out = tmp_path / "irnn.py"
    result = CliRunner().invoke(main, ["codegen", "examples/literature/irnn/model.rnn", "--backend", "jax", "-o",
                                       str(out)])
    assert result.exit_code == 0, result.output
    assert "Regenerate with: symrnn codegen examples/literature/irnn/model.rnn --backend jax\n" in out.read_text()


def test_form_all_says_each_note_once(tmp_path):
    """The vec convention of a matrix parameter is one sentence, printed once by --form all (the path sum
    and the closed form each said it, in other words), on the terminal and in the document."""
    out = CliRunner().invoke(main, ["derive", "elman", "--wrt", "W^{hx}", "--n", "3", "--form", "all",
                                    "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert out.output.count("vec convention") == 1
    assert "the denominator layout gives it the shape of $W^{hx}$" in out.output
    assert (tmp_path / "derivation.tex").read_text().count("vec convention") == 1
