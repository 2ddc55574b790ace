"""The .rnn text format: the zoo's twins, the sheet's models, and every error a person makes."""

from pathlib import Path

import pytest

from symrnn import zoo
from symrnn.derive import closed_form, pathsum
from symrnn.errors import ShapeError, SpecError
from symrnn.graph import unroll
from symrnn.model.rnn_reader import MAX_BYTES, MAX_DEPTH, load_spec, parse_spec
from symrnn.render.latex import latex
from symrnn.render.rnn_writer import spec_text

SPECS = Path(__file__).parents[2] / "examples" / "specs"
SHEET = SPECS / "sheet"
Q1 = (SHEET / "q1.rnn").read_text()


def _derivations(model, n=3, i=None):
    G = unroll(model, n, i)
    out = []
    for p in model.parameters:
        out.append(latex(closed_form(model, p.latex, n, i, "denominator", graph=G)))
        out.append(latex(pathsum(model, p.latex, n, graph=G)))
    return out


@pytest.mark.parametrize("name", list(zoo.MODELS))
def test_every_zoo_model_ships_as_a_spec_with_identical_derivations(name):
    twin = zoo.get(name)
    path = SPECS / f"{name}.rnn"
    assert path.read_text() == spec_text(twin), "regenerate with: symrnn show NAME > examples/specs/NAME.rnn"
    model = load_spec(path)
    i = 2 if twin.positional else None
    assert _derivations(model, 3, i) == _derivations(twin, 3, i)


def test_sheet_q1_has_the_sheet_path_sum():
    model = load_spec(SHEET / "q1.rnn")
    text = latex(pathsum(model, "W^{hx}", 3))
    assert text.startswith(r"\begin{align*}" "\n" r"  \frac{\partial o}{\partial W^{hx}} &= A \frac{\partial h^{(3)}}"
                           r"{\partial W^{hx}} + A B^{(2)} \frac{\partial h^{(2)}}{\partial W^{hx}} + A B^{(2)} B^{(1)} "
                           r"\frac{\partial h^{(1)}}{\partial W^{hx}}")
    # typed without a named pre-activation, the sheet's g' reads its argument in full
    assert r"B^{(t)} &= D(h^{(t)} \rightarrow h^{(t+1)}) = \operatorname{diag}(g'(W^{hx} x^{(t+1)} + " in text


def test_spellings_of_one_name_are_one_name():
    text = Q1.replace("+ b^h)$", "+ b^{h})$").replace("param W^{hh}", "param W^{ hh }")
    model = parse_spec(text)
    assert [p.latex for p in model.parameters][:3] == ["W^{hh}", "W^{hx}", "b^{h}"]


def _error(text: str, cls=SpecError) -> str:
    with pytest.raises(cls) as info:
        parse_spec(text, "q1.rnn")
    return str(info.value)


def test_unknown_name_with_did_you_mean():
    assert _error(Q1.replace("W^{hh}h^{(t-1)}", "W^{hj}h^{(t-1)}")) == (
        "q1.rnn:16:34: unknown name W^{hj}\n"
        "        $h^{(t)} = g(W^{hx}x^{(t)} + W^{hj}h^{(t-1)} + b^h)$\n"
        "                                     ^\n"
        "hint: did you mean W^{hx}?")


def test_variable_used_before_it_is_defined():
    text = Q1.replace("$q = \\text{LS}(l)$ ,  $o = -q_y$", "$o = -q_y$\nq = \\text{LS}(l)")
    assert _error(text) == ("q1.rnn:17:35: q is used before it is defined (line 18)\n"
                            "    $l = V h^{(n)} + \\gamma$ ,  $o = -q_y$\n"
                            "                                      ^\n"
                            "hint: define a variable before the equations that read it")


def test_recurrence_reading_the_future_in_a_forward_loop():
    assert _error(Q1.replace("h^{(t-1)} + b^h", "h^{(t+1)} + b^h")).startswith(
        "q1.rnn:16:16: the recurrence of h^{(t)} (for t = 1..n) reads h^{(t+1)}; it can read only h^{(t-1)}\n")


def test_missing_initial_state():
    assert _error(Q1.replace("param h^{(0)} \\in \\mathbb{R}^m\n", "")) == (
        "q1.rnn:15:6: h^{(t)} reads itself at an earlier step but has no initial state h^{(0)}\n"
        "        $h^{(t)} = g(W^{hx}x^{(t)} + W^{hh}h^{(t-1)} + b^h)$\n"
        "         ^\n"
        "hint: start it from zero before the loop, h^{(0)} = 0, or declare it: param h^{(0)} in R^m")


def test_shape_mismatch():
    text = Q1.replace("param W^{hx} \\in \\mathbb{R}^{m \\times d}", "param W^{hx} \\in \\mathbb{R}^{m \\times m}")
    assert _error(text, ShapeError).startswith(
        "q1.rnn:16:18: W^{hx} is m x m but multiplies x^{(t)}, a vector of size d; expected a vector of size m\n")


def test_concat_of_the_wrong_sizes():
    q2 = (SHEET / "q2.rnn").read_text()
    assert _error(q2.replace("K \\times 2m", "K \\times m"), ShapeError).startswith(
        r"q1.rnn:21:6: V is K x m but multiplies \text{CONCAT}(h^{(i)}, \eta^{(i)}), a vector of size 2*m; "
        "expected a vector of size m\n")
    assert _error(q2.replace(r"\eta^{(i)})", "W^{hh})"), ShapeError).startswith(
        "q1.rnn:21:15: CONCAT needs a column vector, but W^{hh} is m x m\n")


def test_unknown_function_and_a_missing_space():
    assert _error(Q1.replace("g(W^{hx}", "tahn(W^{hx}")).endswith("^\nhint: did you mean tanh?")
    assert "q1.rnn:16:16: unknown function 'tahn'" in _error(Q1.replace("g(W^{hx}", "tahn(W^{hx}"))
    assert _error(Q1.replace("V h^{(n)}", "V(h^{(n)})")).endswith(
        "hint: V is a variable: to multiply, put a space before the bracket: V (...)")


def test_loss_that_is_not_a_scalar():
    assert _error(Q1.replace("loss o", "loss q")) == (
        "q1.rnn:18:6: the loss q must be a scalar, but it is K x 1\n    loss q\n         ^")


def test_empty_file_and_no_loss():
    assert _error("\n  % nothing here\n# nor here\n") == (
        "q1.rnn: the spec is empty; it declares sizes, parameters, inputs and labels, the equations, "
        "and ends with `loss NAME` (see docs/text-format.md)")
    assert _error(Q1.replace("loss o\n", "")).startswith(
        "q1.rnn:17:1: the spec has no loss; end it with `loss NAME`")


def test_a_file_that_is_not_text(tmp_path):
    binary = tmp_path / "model.rnn"
    binary.write_bytes(b"sizes m\n\x00\x01\x02")
    with pytest.raises(SpecError, match=r"model.rnn: not a text file \(a NUL byte at offset 8\); a spec is UTF-8 text"):
        load_spec(binary)
    latin = tmp_path / "latin.rnn"
    latin.write_bytes("sizes m\nparam \u00e9 in R^m".encode("latin-1"))
    with pytest.raises(SpecError, match=r"not a text file \(byte 0xe9 at offset 14 is not UTF-8\)"):
        load_spec(latin)
    with pytest.raises(SpecError, match="cannot read the spec"):
        load_spec(tmp_path / "missing.rnn")


def test_syntax_errors_say_what_was_expected():
    message = _error(Q1.replace("= g(", "== g("))
    assert message.startswith("q1.rnn:16:15: unexpected '='\n")
    assert "hint: expected one of: (, -, " in message and "a name such as W^{hx} or h^{(t-1)}" in message
    assert _error(Q1.replace("    $h^{(t)}", "  $h^{(t)}").replace("$l =", "   $l =")) == (
        "q1.rnn:17:4: unexpected indentation\n"
        "       $l = V h^{(n)} + \\gamma$ ,  $q = \\text{LS}(l)$ ,  $o = -q_y$\n"
        "       ^\n"
        "hint: only the body of a `for ...:` line is indented")


def test_times_outside_and_inside_loops():
    assert _error(Q1.replace("V h^{(n)}", "V h^{(t)}")).startswith(
        "q1.rnn:17:8: h^{(t)} is read at 't' outside the loops\n")
    assert "is read at 's-1', which is not a time in `for t = ...`" in _error(Q1.replace("h^{(t-1)}", "h^{(s-1)}"))


def test_text_is_never_run_as_code():
    message = _error(Q1.replace("loss o", "__import__('os').system('echo pwned')"))
    assert message.startswith("q1.rnn:18:1: unexpected character '_'")
    assert "unknown function 'eval'" in _error(Q1.replace("g(W^{hx}", "eval(W^{hx}"))


def test_bounds_fail_fast():
    assert "above the limit of" in _error("sizes m\n" + "%" * (MAX_BYTES + 1))
    assert f"brackets nested more than {MAX_DEPTH} deep" in _error(
        Q1.replace("g(W^{hx}x^{(t)}", "g(" + "(" * 70 + "W^{hx}x^{(t)}" + ")" * 70))
    assert "characters long, above the limit" in _error("sizes " + ", ".join(f"s{k}" for k in range(400)))
    long_sum = " +\n        ".join(["b^h"] * 300)  # continued over lines inside the brackets
    assert "nested more than 240 levels deep; split it with `let`" in _error(Q1.replace("+ b^h)$", f"+ {long_sum})$"))


def test_other_spellings_the_format_accepts():
    model = parse_spec(r"""
model seed003 "scalar RNN with squared errors"
input x_t ∈ ℝ^1
input y_t in R^1
param w_x in R^1
param w_h in R^1
param w_y in R^1
param h_0 in R^1
for t = 1…n:
    h_t = w_x x_t + w_h h_{t-1}
    \hat{y}_t = w_y h_t
    L_t = \lVert \hat{y}_t - y_t \rVert^2
L = \sum_t L_t
loss L
""")
    twin = zoo.get("scalar")
    assert _derivations(model, 2) == _derivations(twin, 2)
    sizes = parse_spec("sizes m, d\nparam W in R^{m x m + d}\nparam c in R^{2m}\nx = c\nloss x\n".replace(
        "loss x", "J = c^{\\top} c\nloss J"))
    assert [str(p.shape) for p in sizes.parameters] == ["(m, d + m)", "(2*m, 1)"]


def test_too_many_variables():
    text = "sizes m\n" + "".join(f"param p{k} in R^m\n" for k in range(600))
    assert "declares more than 500 variables" in _error(text)


def test_a_long_sum_costs_time_and_memory_in_proportion():
    import time

    terms = [f"a_{{{k}}}" for k in range(60)]
    lines = ['model long "a sum of sixty terms"', "sizes m", r"input x \in \mathbb{R}^{m}"]
    lines += [rf"param {t} \in \mathbb{{R}}^{{m}}" for t in terms]
    lines += ["l = " + " + ".join(terms), r"J = x^{\top} l", "loss J", ""]
    start = time.perf_counter()
    model = parse_spec("\n".join(lines))
    # every part of a flattened sum once carried the whole sum's text: 12 terms exhausted the memory
    assert time.perf_counter() - start < 5
    assert len(model.definition("l").expr.args) == 60


def test_old_mac_and_windows_line_endings_read_as_line_endings():
    text = (SHEET / "q1.rnn").read_text()
    model = parse_spec(text)
    for ending in ("\r\n", "\r"):
        twin = parse_spec(text.replace("\n", ending))
        assert [v.latex for v in twin.variables] == [v.latex for v in model.variables]


def test_a_label_range_that_does_not_match_its_vector_is_a_shape_error():
    text = (SHEET / "q1.rnn").read_text()
    assert "label y" in text
    bad = text.replace("sizes ", "sizes J, ", 1).replace(r"\{1 \dots K\}", r"\{1 \dots J\}")
    assert bad != text
    message = _error(bad, ShapeError)
    # it passed or failed by the seed: labels drawn in 1..J picked components of a vector of K
    assert "but the label y ranges over 1..J; they must match" in message


_REFUSALS = [  # (spec text, what the error says, what the hint says)
    ("sizes m\nparam b^{o} \\in \\mathbb{R}^{m}\nparam b_{o} \\in \\mathbb{R}^{m}\n",
     "3:7: b_{o} and b^{o} would both be named b_o (in generated code, values files and --wrt b_o); give one of them "
     "another name", None),
    ("sizes m\nsizes m\n", "size m is declared twice", "declare each size once"),
    ("sizes m\nparam W \\in \\mathbb{R}^{m}\nparam W \\in \\mathbb{R}^{m}\n", "W is declared twice",
     "declare each name once, or give one of them another name"),
    ("sizes m\ninput X \\in \\mathbb{R}^{m \\times m}\n", "an input is a vector", "declare a matrix as a param"),
    ("sizes m\nparam w \\in \\mathbb{R}^{1}\nL = w\nloss L\nloss L\n", "the loss is given twice", "keep one `loss NAME`"),
    ("sizes m\nfor n = 1..n:\n    a_n = b_n\n", "n cannot be a loop index", "use another letter"),
    ("sizes m\nparam w \\in \\mathbb{R}^{1}\ninput x_t \\in \\mathbb{R}^{1}\nfor t = 1..n:\n    a_t = w x_t\n"
     "    a_t = w x_t\n",
     "a_{t} is defined twice", "give each variable one equation"),
    ("sizes m\nparam w \\in \\mathbb{R}^{1}\nL = \\tanh(w, w)\nloss L\n", "tanh takes one argument", "apply it to one vector"),
    ("sizes m\nmodel x\n", "`model` comes first", "move this line to the top"),
    ("sizes m\nh_0 = 0\nloss h_0\n", "h_{0} = 0 (line 2) is a zero start, sized by the loop that starts from it; no "
     "loop has yet", "give its size where it is written: h_{0} = 0 \\in \\mathbb{R}^{m}"),
    ("sizes m\nh_0 = 0\nh_0 = 0\n", "h_{0} is declared twice", "declare each name once"),
    ("sizes m\nparam W \\in \\mathbb{R}^{m \\times m}\nh_0 = 0\nfor t = 1..n:\n    h^{(t)} = W h^{(t-1)}\n",
     "h^{(t)} reads itself at an earlier step but has no initial state h^{(0)}",
     "start it from zero before the loop, h^{(0)} = 0, or declare it: param h^{(0)} in R^m; h_{0} = 0 (line 3) is "
     "written, but its name is not h^{(0)}"),
    ("sizes m\nh_0 = 0\n", "h_{0} = 0 starts no state: no loop reads it",
     "give it its size to declare a zero vector anyway: h_{0} = 0 \\in \\mathbb{R}^{m}"),
    ("sizes m\na = 2\n", "a = 2: a variable is set to a number only to start a state from zero",
     "write a = 0 before the loop of the state it starts"),
    ("sizes m\nparam w \\in \\mathbb{R}^{m}\na = w \\in \\mathbb{R}^{m}\n",
     "a size is given (\\in \\mathbb{R}^{m}) only to a zero start before the loops", "write h_0 = 0 \\in"),
    ("sizes m\nh_0 = 0 \\in \\mathbb{R}^{m \\times m}\n", "h_{0} = 0 is a zero vector: R^m, not a matrix", None),
    ("sizes m\ninput x_t \\in \\mathbb{R}^{m}\nh_0 = 0\nfor t = 1..n:\n    h_t = \\tanh(h_{t-1})\n",
     "the size of h_{0} = 0 is not found: no matrix multiplies h_{t-1} in its loop",
     "give it: h_{0} = 0 \\in \\mathbb{R}^{m}"),
]


@pytest.mark.parametrize("text, message, hint", _REFUSALS, ids=[r[1][:30] for r in _REFUSALS])
def test_refusals_say_what_to_write_instead(text, message, hint):
    error = _error(text)
    assert message in error and (hint is None or f"hint: {hint}" in error), error
