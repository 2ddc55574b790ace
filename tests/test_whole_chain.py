"""The whole chain on generated names, titles and sizes (hypothesis): two outcomes only.

A model is declared with names, display names, a title and sizes drawn at random (hostile
LaTeX, keywords, the generated module's own names, control characters, non-ASCII), then run
through the CLI and the generated module: ``show``, ``derive --form closed`` with ``--out``,
``check``, ``codegen``; the LaTeX is compiled with ``--pdf`` whenever
pdflatex is installed (always in CI). Every step either gives the right numbers (check passes; the module
imports and equals the engine) or ends in one ``error:`` line with exit code 2. Never a
traceback, never a false number. ``SYMRNN_CHAIN_EXAMPLES`` sets how many models (200 in CI, with
twice as many values files: 600 examples; run with 10000 by hand).
"""

import importlib.util
import os
import shutil

import numpy as np
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from symrnn.cli import main
from symrnn.codegen import codegen
from symrnn.errors import SymRNNError
from symrnn.model import LS, ModelBuilder, tanh
from symrnn.numeric.engine import CompiledGradient
from symrnn.numeric.gradcheck import relative_error
from symrnn.render.rnn_writer import spec_text

EXAMPLES = int(os.environ.get("SYMRNN_CHAIN_EXAMPLES", "200"))
PIECES = ["W", "U", "b", "w", "d_", "v_", "_", "k", "xp", "state", "lambda", "None", "softmax", "grads", "t", "n",
          "i", "1", "2", "a", "é", "В"]
SAFE = ["W", "h", "^{hx}", "_{0}", "\\alpha", "\\tilde{c}", "(t)", "\\top", "'", " ", "\\mathbf{u}", "2"]
HOSTILE = ["\\input{secret}", "\\def\\a{\\a}\\a", "%", "#", "&", "$", "\n", "\x1b[31m", "[/x]", "{", "В", "^{"]
LATEX = SAFE * 6 + HOSTILE  # mostly names a person writes, now and then a hostile one


def _identifier(parts) -> str:
    name = "".join(parts)
    return name if name.isidentifier() else "p" + "".join(c for c in name if c.isalnum() or c == "_")


names = st.lists(st.sampled_from(PIECES), min_size=1, max_size=3).map(_identifier)
BASES = ["W", "U", "b", "V", "\\alpha", "\\tilde{c}", "\\mathbf{u}", "\\eta", "w", "\\hat{U}", "\\bar{W}"]
STATES = ["h^{({t})}", "h_{{t}}", "h^{1}_{{t}}", "\\hat{h}^{z}_{{t}}", "\\tilde{c}_{{t}}"]  # superscript first too
SCRIPTS = ["", "^{hx}", "_{0}", "^{(0)}", "_{y}", "^{\\top}", "^{\\beta y}", "_{h}^{z}", "^{1}_{x}", "^{z}_{h}"]
written = st.builds(lambda base, script: base + script, st.sampled_from(BASES), st.sampled_from(SCRIPTS))
displays = st.one_of(written, st.lists(st.sampled_from(LATEX), min_size=1, max_size=4).map("".join))
titles = st.one_of(st.text(st.characters(codec="ascii", categories=["L", "N", "P", "Zs"]), max_size=30),
                   st.text(max_size=30))


PDF = shutil.which("pdflatex") is not None or os.environ.get("SYMRNN_REQUIRE_TOOLS") == "1"


def _run(args):
    result = CliRunner().invoke(main, args)
    assert "Traceback" not in result.output, result.output
    return result


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(names, min_size=3, max_size=3, unique=True), st.lists(displays, min_size=3, max_size=3, unique=True),
       titles, st.integers(1, 4), st.integers(1, 4), st.sampled_from(STATES))
def test_two_outcomes_only(tmp_path_factory, names, shown, title, m, K, state):
    folder = tmp_path_factory.mktemp("chain")
    try:
        mb = ModelBuilder("chain", title)
        size_m, size_K = mb.sizes("m", "K")
        x = mb.input("x", size_m)
        W = mb.parameter(names[0], (size_m, size_m), latex=shown[0])
        h0 = mb.parameter(names[1], size_m, latex=state.replace("{t}", "0"))  # prints as the state at 0
        V = mb.parameter(names[2], (size_K, size_m), latex=shown[2])
        y = mb.label("y", size_K)
        h = mb.state("h", size_m, init=h0, latex=state)
        mb.recur(h, tanh(W @ h[mb.t - 1] + x[mb.t]))
        q = mb.define("q", LS(V @ h[mb.n]))
        model = mb.build(loss=mb.define("o", -q[y]))
    except SymRNNError as e:
        event("refused where it was declared: " + str(e)[:50])
        return  # the error path: a message, no traceback
    spec = folder / "chain.rnn"
    spec.write_text(spec_text(model))
    sizes = ["--size", f"m={m}", "--size", f"K={K}"]
    pdf = ["--pdf"] if PDF else []
    derived = _run(["derive", str(spec), "--wrt", shown[0], "--n", "2", "--form", "closed", "--out",
                    str(folder / "out"), *pdf])
    assert derived.exit_code in (0, 2), derived.output
    if derived.exit_code == 0 and PDF:
        assert (folder / "out" / "derivation.pdf").stat().st_size > 1000  # the LaTeX compiled
    checked = _run(["check", str(spec), "--n", "2", *sizes])
    assert checked.exit_code in (0, 2), checked.output  # 1 would be a false formula
    event(f"derive exit {derived.exit_code}, check exit {checked.exit_code}: " + checked.output.split("error: ")[-1][:90]
          if checked.exit_code else "the right numbers")
    if checked.exit_code == 2:
        assert checked.output.count("error: ") == 1
    # the generated module: it imports and computes what the engine computes
    source = codegen(model)
    path = folder / "module.py"
    path.write_text(source)
    spec_module = importlib.util.spec_from_file_location("chain_module", path)
    module = importlib.util.module_from_spec(spec_module)
    spec_module.loader.exec_module(module)
    rng = np.random.default_rng(0)
    params = {names[0]: rng.normal(size=(m, m)), names[1]: rng.normal(size=(m, 1)),
              names[2]: rng.normal(size=(K, m))}
    inputs, labels = {"x": rng.normal(size=(2, m, 3))}, {"y": rng.integers(1, K + 1, size=3)}
    reference = CompiledGradient(model)(params, inputs, labels, 2).gradients
    _, grads = module.gradients(params, inputs, labels, 2)
    for name in names:
        assert relative_error(grads[name], reference[name]) < 1e-10, name


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**500, 10**500), st.floats(allow_nan=True),
              st.sampled_from(["0.1", "1/10", "3", "1e1000000000", "nan", "abc", "1/0", "-2.5e-1", " 7 "])),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=6)


@settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["w_x", "w_h", "w_y", "h_0", "x", "y", "n", "zz", None]), json_values, st.booleans())
def test_values_files_have_two_outcomes_too(tmp_path_factory, key, value, exact):
    """The worked example's values with one of them (or none) replaced by a drawn JSON value."""
    import json

    values = {"w_x": "0.1", "w_h": 1, "w_y": 2, "h_0": 1, "x": [10, 10], "y": [3, 3]}
    if key is not None:
        values[key] = value
    folder = tmp_path_factory.mktemp("values")
    path = folder / "values.json"
    n = values.pop("n", 2)
    path.write_text(json.dumps({"n": n, "values": values}))
    result = _run(["eval", "scalar", "--values", str(path)] + (["--exact"] if exact else []))
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.output.count("error: ") == 1
    event("numbers" if result.exit_code == 0 else "error line")
