"""Regenerate every expected output under examples/ from the symrnn command line.

    python examples/regenerate.py          # rewrite the files
    python examples/regenerate.py --check  # compare only (what tests/test_examples.py does)

Each row of EXAMPLES is (folder, file, command); the command is what a user types after
``symrnn``, and the file holds exactly what it prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent

EXAMPLES: list[tuple[str, str, list[str]]] = [
    # The course handout's questions
    ("elman", "paths_Whx_n3.txt", ["paths", "elman", "--wrt", "W^{hx}", "--n", "3"]),
    ("elman", "recursion_Whx.tex", ["derive", "elman", "--wrt", "W^{hx}", "--n", "3", "--form", "recursion"]),
    ("elman", "closed_Whx_numerator.tex", ["derive", "elman", "--wrt", "W^{hx}", "--n", "3", "--form", "closed"]),
    ("elman", "closed_Whx_denominator.tex",
     ["derive", "elman", "--wrt", "W^{hx}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("bidirectional", "paths_Whx_n4_i2.txt",
     ["paths", "bidirectional", "--wrt", "W^{hx}", "--n", "4", "--i", "2"]),
    ("bidirectional", "all_Wbhh_n3_i2.tex",
     ["derive", "bidirectional", "--wrt", "W^{bhh}", "--n", "3", "--i", "2", "--form", "all"]),
    ("stacked_bidirectional", "closed_Whh_denominator.tex",
     ["derive", "stacked_bidirectional", "--wrt", "W^{hh}", "--n", "3", "--i", "2", "--form", "closed",
      "--layout", "denominator"]),
    ("tagger", "closed_Wbb_denominator.tex",
     ["derive", "tagger", "--wrt", r"W^{\beta\beta}", "--n", "4", "--i", "3", "--form", "closed",
      "--layout", "denominator"]),
    ("gru", "closed_Uh_denominator.tex",
     ["derive", "gru", "--wrt", "U^{h}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("gru", "closed_torch_Whn_denominator.tex",
     ["derive", "gru_torch", "--wrt", "W_{hn}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    # A worked answer to a problem set
    ("mlp", "closed_Wu.tex", ["derive", "mlp", "--wrt", "W^{u}", "--n", "1", "--form", "closed",
                                         "--layout", "denominator"]),
    ("mlp", "closed_We.tex", ["derive", "mlp", "--wrt", "W^{e}", "--n", "1", "--form", "closed",
                                         "--layout", "denominator"]),
    ("next_word", "closed_Wr.tex",
     ["derive", "next_word", "--wrt", "W^{r}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("next_word", "closed_We.tex",
     ["derive", "next_word", "--wrt", "W^{e}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("residual", "recursion_plain.tex",
     ["derive", "plain", "--wrt", "h_{0}", "--n", "3", "--form", "recursion", "--layout", "denominator"]),
    ("residual", "recursion_residual.tex",
     ["derive", "residual", "--wrt", "h_{0}", "--n", "3", "--form", "recursion", "--layout", "denominator"]),
    ("scalar", "paths_wh_n2.txt", ["paths", "scalar", "--wrt", "w_{h}", "--n", "2"]),
    ("scalar", "all_wh_n2.tex",
     ["derive", "scalar", "--wrt", "w_{h}", "--n", "2", "--form", "all", "--layout", "denominator"]),
    ("scalar", "eval_exact.txt", ["eval", "scalar", "--values", "examples/scalar/values.json", "--exact"]),
    # A hand-written answer, checked
    ("grade", "tanh_rnn.txt", ["grade", "examples/grade/tanh_rnn_answer.md", "--model", "vanilla"]),
    ("grade", "tanh_rnn.json",
     ["grade", "examples/grade/tanh_rnn_answer.md", "--model", "vanilla", "--format", "json"]),
    # students' worked answers, typed as they wrote them
    ("grade", "elman.txt", ["grade", "examples/grade/elman_answer.md", "--model", "elman"]),
    ("grade", "rnn.txt", ["grade", "examples/grade/rnn_answer.md", "--model", "vanilla"]),
    ("grade", "lstm.txt", ["grade", "examples/grade/lstm_answer.md", "--model", "lstm"]),
    ("grade", "softmax.txt", ["grade", "examples/grade/softmax_answer.md", "--model", "mlp"]),
    ("grade", "next_word.txt", ["grade", "examples/grade/next_word_answer.md", "--model", "next_word"]),
    ("grade", "residual_as_plain.txt", ["grade", "examples/grade/residual_answer.md", "--model", "plain"]),
    ("grade", "residual_as_residual.txt", ["grade", "examples/grade/residual_answer.md", "--model", "residual"]),
    ("grade", "scalar.txt", ["grade", "examples/grade/scalar_answer.md", "--model", "scalar", "--values",
                             "examples/scalar/values.json"]),
    ("vanilla", "closed_Wx.tex",
     ["derive", "vanilla", "--wrt", "W_{x}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("vanilla", "closed_xt.tex",
     ["derive", "vanilla", "--wrt", "x_{2}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("vanilla", "closed_every_Wh.tex",
     ["derive", "vanilla_every", "--wrt", "W_{h}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("lstm", "closed_Wxf.tex",
     ["derive", "lstm", "--wrt", "W_x^{f}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("lstm", "closed_every_h0.tex",
     ["derive", "lstm_every", "--wrt", "h_{0}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
]


SHEET = ("Michael Collins, *Flipped Classroom Questions on Recurrent Networks* (a course handout), "
         "and a student's worked answer to it")
WORKED = "a student's worked answer to a course problem set on backpropagation through time"

#: folder -> (title, source, the question in full, what symrnn says about it and about the worked answer).
#: elman has a hand-written README.
NOTES: dict[str, tuple[str, str, str, str]] = {
    "bidirectional": (
        "The bidirectional RNN",
        SHEET + ", Question 2",
        "Inputs: a sequence `x^{(1)} ... x^{(n)}`, each in `R^d`, and a label `y \\in {1..K}` for position `i`. "
        "For `t = 1..n`, `h^{(t)} = g(W^{hx} x^{(t)} + W^{hh} h^{(t-1)} + b^h)`; for `t = n..1`, "
        "`\\eta^{(t)} = g(W^{bhx} x^{(t)} + W^{bhh} \\eta^{(t+1)} + b^{bh})`; then "
        "`l = V CONCAT(h^{(i)}, \\eta^{(i)}) + \\gamma`, `q = LS(l)` (log-softmax), `o = -q_y`. "
        "Asked here, as Question 1 asks it of the one-directional RNN: the paths from a parameter to `o`, "
        "and the gradient of `o` in each parameter (`n = 4` and `n = 3`, `i = 2`).",
        "The label sits at position `i`, so every command takes `--i`. `\\eta^{(t)}` runs backwards from the "
        "parameter `\\eta^{(n+1)}`. In the recursion, `\\frac{\\partial o}{\\partial \\eta^{(t)}}` reads the "
        "total derivative at `t-1` (the step that reads `\\eta^{(t)}`), and the output layer enters at `t = i` "
        "only: the line `t \\neq i` and the line at `i` say so.",
    ),
    "stacked_bidirectional": (
        "Two bidirectional levels",
        SHEET + ", Question 2a",
        "Complete the bidirectional RNN's pseudo-code to give a model with two levels of recurrent units, "
        "where the second level depends on the sequences `h^{(1)} ... h^{(n)}` and `\\eta^{(1)} ... \\eta^{(n)}` "
        "of the first; the output is `l = V CONCAT(h^{(2,i)}, \\eta^{(2,i)}) + \\gamma`, `q = LS(l)`, "
        "`o = -q_y`. Asked here: the gradient of `o` in the first level's recurrent matrix `W^{hh}`, which "
        "reaches `o` through both second-level recurrences (`n = 3`, `i = 2`).",
        "The completion of the pseudo-code, as the worked answer writes it: `h^{(2,t)} = g(W^{2hx} "
        "CONCAT(h^{(t)}, \\eta^{(t)}) + W^{2hh} h^{(2,t-1)} + b^{2h})`, and `\\eta^{(2,t)}` alike backwards. "
        "The first level's total derivatives collect both second-level recursions through the CONCAT "
        "selectors.",
    ),
    "tagger": (
        "A recurrence over the previous tags",
        SHEET + ", Question 2b",
        "Complete the pseudo-code of a model that reads a sequence `x^{(1)} ... x^{(n)}`, a position `i` and the "
        "tags `y^{(1)} ... y^{(i-1)}`, and computes the probability of the label `y_i`: the forward and "
        "backward recurrences of the bidirectional RNN, a third recurrence `\\beta^{(j)}` for `j = 1..(i-1)`, "
        "and `l = V CONCAT(h^{(i)}, \\eta^{(i)}, \\beta^{(i-1)}) + \\gamma`, `q = LS(l)`, `o = -q_y`. "
        "Asked here: the gradient of `o` in the tag recurrence's matrix (`n = 4`, `i = 3`).",
        "`\\beta^{(j)} = g(W^{\\beta y} \\bar y^{(j)} + W^{\\beta\\beta} \\beta^{(j-1)} + b^{\\beta})` over one-hot "
        "tags. The backward recurrence is typed as the handout prints it, sharing `b^h` with the forward one, "
        "so `d o / d b^{h}` collects both. At `i = 1` the loop is empty and `\\beta^{(i-1)}` is the parameter "
        "`\\beta^{(0)}`: its closed form has a bracketed term `[i = 1]`.",
    ),
    "gru": (
        "The GRU, in the handout's convention and in PyTorch's",
        SHEET + ", Question 3",
        "The gated recurrent unit `z^{(t)} = \\sigma(W^z x^{(t)} + U^z h^{(t-1)} + b^z)`, "
        "`r^{(t)} = \\sigma(W^r x^{(t)} + U^r h^{(t-1)} + b^r)`, "
        "`h^{(t)} = (1 - z^{(t)}) \\odot h^{(t-1)} + z^{(t)} \\odot g(W^h x^{(t)} + U^h (r^{(t)} \\odot h^{(t-1)}) "
        "+ b^h)`, with the output layer of Question 1. The handout asks for the role of `z^{(t)}` and "
        "`r^{(t)}`; asked here: the gradient in `U^h` (`n = 3`), and the same for PyTorch's GRU, whose "
        "reset gate multiplies after the recurrent product.",
        "The gates `z^{(t)}`, `r^{(t)}` and the pre-activation `a^{(t)}` are named, so the printed derivatives "
        "read `z^{(t)} \\odot (\\mathbf{1} - z^{(t)})` where the sigmoid is differentiated. `gru_torch` is "
        "checked against `torch.nn.GRU` with the same weights (`tests/numeric/test_torch.py`).",
    ),
    "mlp": (
        "The MLP with embed and unembed matrices",
        WORKED + ", Question 1",
        "`x` and `y` are one-hot vectors of size `N` representing words; `h = W^e x` has `M` entries, "
        "`s = W^u h`, `p = softmax(s)`, and `J = \\log p(y|s) = y^T LS(s)`, to be maximised. "
        "Asked: the sizes of `W^e` and `W^u`, then `dJ/ds`, `dJ/dh`, `dJ/dW^u` and `dJ/dW^e`.",
        "The answer's boxed results `dJ/ds = y - p`, `dJ/dh = W^{uT} dJ/ds`, `dJ/dW^u = (dJ/ds) h^T` and "
        "`dJ/dW^e = (dJ/dh) x^T` are what symrnn prints in denominator layout: `dJ/ds = y - softmax(s)` uses "
        "`1^T y = 1`, true for a one-hot `y`.",
    ),
    "next_word": (
        "The next-word tanh RNN",
        WORKED + ", Question 2",
        "The words `x_1 = \"I\"`, `x_2 = \"love\"`, `x_3 = \"machine\"` are one-hot vectors; `h_0 = 0`, "
        "`h_t = \\tanh(W^e x_t + W^r h_{t-1})` for `t = 1, 2, 3`, `s = W^u h_3`, `p = softmax(s)`, the next word "
        "`x_4 ~ p`, and `J = \\log p(y|s)` for the true next word `y`. Asked: `dJ/ds`, `dJ/dW^u`, `dJ/dh_3`, then "
        "`dJ/dh_2`, `dJ/dh_1`, `dJ/dh_0`, `dJ/dW^r` and `dJ/dW^e`.",
        "The answer's sums `dJ/dW^r = sum_t diag(1 - h_t * h_t) dJ/dh_t h_{t-1}^T` and `dJ/dW^e` alike come "
        "out as `sum_t (dJ/dh_t \\odot (1 - h_t \\odot h_t)) h_{t-1}^T`: the same matrix, with the diag written "
        "as an elementwise product. (symrnn's model learns `h_0`, so that `--wrt h_{0}` can be asked; with "
        "`h_0 = 0 \\in \\mathbb{R}^{M}` in the spec the gradients in the other parameters are the same "
        "formulas.)",
    ),
    "residual": (
        "The plain and the residual RNN",
        WORKED + ", Question 3",
        "With the output of Question 2 (`s = W^u h_n`, `J = \\log p(y|s)`): (1) the plain RNN "
        "`h_t = \\tanh(g_t)`, `g_t = W_r h_{t-1} + W_e x_t`; (2) the residual RNN "
        "`h_t = \\tanh(g_t) + h_{t-1}`. Asked: `dJ/dh_{t-1}` in terms of `dJ/dh_t`, `dJ/dh_1` for `n = 3`, and why "
        "the skip connection helps against vanishing gradients.",
        "The plain recursion is the answer's `dJ/dh_{t-1} = W_r^T diag(1 - tanh^2 g_t) dJ/dh_t`; the residual "
        "one adds the skip term `dJ/dh_t`, the answer's `+ I`, which keeps the gradient from vanishing.",
    ),
    "scalar": (
        "The scalar linear RNN with a squared error at every step",
        WORKED + ", Questions 1 to 4",
        "Every variable is a number: `h_t = w_x x_t + w_h h_{t-1}`, `\\hat y_t = w_y h_t`, "
        "`L = \\sum_t (\\hat y_t - y_t)^2`, with `w_x = 0.1`, `w_h = 1`, `w_y = 2`, `h_0 = 1`, `x_1 = x_2 = 10` "
        "and targets `y_1 = y_2 = 3` (`values.json`). Asked: (1) `h_1`, `h_2` and `\\hat y_2`; (2) `L` for "
        "two outputs; (3) `dL/dh_1`; (4) `dL/dw_h`.",
        "Nothing is transposed. The path sum has the answer's three terms for `dL/dw_h` (one through `L_1`, "
        "two through `L_2`). `symrnn eval --exact` prints the numbers as fractions: `h_1 = 2`, `h_2 = 3`, "
        "`\\hat y_2 = 6` and `L = 10` as the answer has them, but its `\\hat y_1 = w_h h_1 = 2` should read "
        "`w_y h_1 = 4`, and the gradients are `dL/dh_1 = 16` (the answer: `-8`) and `dL/dw_h = 40` (the "
        "answer: `-4`). `dL/dh_1` is `dL/dh_0` here, since `w_h = 1`.",
    ),
    "vanilla": (
        "The tanh RNN, loss at the last step or at every step",
        WORKED + ", Question 3",
        "`h_t = \\tanh(Z_t)`, `Z_t = W_x x_t + W_h h_{t-1} + b`. Asked: (2) `dL/dx_t`, `dL/dW_x`, `dL/dh_{t-1}`, "
        "`dL/dW_h` and `dL/db` for a loss `L` on the last step; (4) the same when a loss is taken at every "
        "step, and `dL/dh_0`. The answer leaves `L` abstract; symrnn's models close it with a softmax "
        "cross-entropy output `s = V h_n + b^y`, `L = -y^T LS(s)` (and `s_t`, `L = \\sum_t L_t` for every step).",
        "The closed forms are the answer's `sum_t (dL/dh_t \\odot (1 - h_t^2))^T x_t^T` up to the layout: in "
        "denominator layout `dL/dh_t` is a column, so no transpose is needed.",
    ),
    "grade": (
        "Hand-written derivations, checked claim by claim",
        "students' worked answers to a course problem set on backpropagation through time, typed as they wrote "
        "them, and an answer written for this example with the slips students make",
        "Each answer is graded against the model its question declares: `elman_answer.md` (the handout's "
        "Question 1b, the sum over paths of `\\frac{\\partial o}{\\partial W^{hx}}` written with the handout's "
        "`A`, `B^2`, `B^1` and `D(a \\rightarrow b)`) against `elman`; `rnn_answer.md` (a tanh RNN, "
        "`h_t = \\tanh(W_x x_t + W_h h_{t-1} + b)`: `dL/dx_t`, `dL/dW_x`, `dL/dh_{t-1}`, `dL/dW_h`, `dL/db` and "
        "`dL/dh_0`) against `vanilla`; `lstm_answer.md` (the same for an LSTM with gates `f, i, o`, candidate "
        "`\\tilde c`) against `lstm`; `softmax_answer.md` (`h = W^e x`, `s = W^u h`, `J = \\log p(y|s)`: `dJ/ds`, "
        "`dJ/dh`, `dJ/dW^u`, `dJ/dW^e`) against `mlp`; `next_word_answer.md` (a next-word tanh RNN over one-hot "
        "words: `dJ/dh_{t-1}`, `dJ/dW^r`, `dJ/dW^e`) against `next_word`; `residual_answer.md` (a plain and a "
        "residual tanh RNN, `h_t = \\tanh(g_t) + h_{t-1}`: `dJ/dh_{t-1}` and `dJ/dh_1`) against `plain` and "
        "`residual`; `scalar_answer.md` (the scalar RNN at the question's numbers) against `scalar` with "
        "`--values`. `tanh_rnn_answer.md` was written for this example (the `vanilla` model).",
        "Each verdict is reviewed below, with the reason for each wrong claim. Every claim about the model "
        "that symrnn reads is graded at random points, at every step and two lengths; what it cannot read "
        "(index notation such as `h_{t,i}`, a derivative in a matrix written `\\partial h_t / \\partial W`, prose "
        "inside the formula) is \"not understood\", with the reason and the place.",
    ),
    "lstm": (
        "The LSTM",
        WORKED + ", Question 4",
        "`f_t = \\sigma(W_x^f x_t + W_h^f h_{t-1} + b^f)`, `i_t`, `o_t` alike, "
        "`\\tilde c_t = \\tanh(W_x^c x_t + W_h^c h_{t-1} + b^c)`, `c_t = f_t \\odot c_{t-1} + i_t \\odot \\tilde c_t`, "
        "`h_t = o_t \\odot \\tanh(c_t)`, with the output layer of Question 3. Asked: `dL/dx_t`, `dL/dh_{t-1}`, "
        "`dL/dc_{t-1}` and each gate's weight gradients, for a loss at the last step and at every step.",
        "The recursion gives `dL/dc_t = dL/dc_{t+1} \\odot f_{t+1} + dL/dh_t \\odot o_t \\odot (1 - "
        "tanh(c_t) \\odot tanh(c_t))`. The answer writes `dL/dh_{t+1} \\odot f_{t+1}` for the first term: the "
        "cell state's own total derivative is the right one (checked against finite differences and "
        "`torch.nn.LSTM`).",
    ),
}


#: Figures (folder, command): made by ``python examples/regenerate.py``, not compared by ``--check``
#: (pixels vary with the matplotlib version); the commands are run by tests/test_docs_commands.py.
FIGURES: list[tuple[str, list[str]]] = [
    ("scalar", ["flow", "scalar", "--n", "30", "--scale", "0.9,1,1.1", "--out", "examples/scalar/flow"]),
    ("residual", ["flow", "plain", "residual", "lstm", "gru_torch", "--n", "100", "--size", "M=16", "--size", "N=8",
                  "--size", "m=16", "--size", "d=8", "--size", "K=8", "--out", "examples/residual/flow"]),
]


#: In a generated README, what follows this line is written by hand and kept when it is regenerated.
BY_HAND = "<!-- written by hand below; examples/regenerate.py keeps it -->"


def readme(folder: str) -> str:
    title, source, question, note = NOTES[folder]
    rows = [f"| `symrnn {' '.join(_quote(a) for a in command)}` | `expected/{name}` |"
            for f, name, command in EXAMPLES if f == folder]
    return (f"# {title}\n\n**Source:** {source}.\n\n**The question.** {question}\n\n"
            f"**What symrnn says.** {note}\n\n| command | expected output |\n|---|---|\n" + "\n".join(rows)
            + "\n\nThe tests compare each file with what the command prints (`python examples/regenerate.py`"
            " rewrites them). Add `--out DIR --pdf` to a `derive` command for the LaTeX document and the graph.\n")


def _quote(arg: str) -> str:
    return f"'{arg}'" if any(c in arg for c in "\\^{} ") else arg


def output(command: list[str]) -> str:
    from click.testing import CliRunner

    from symrnn.cli import main

    result = CliRunner().invoke(main, command)
    if result.exit_code not in (0, 1) or (result.exception and not isinstance(result.exception, SystemExit)):
        # 1 is a verdict (a wrong claim graded, a failed check) and is part of the output
        raise SystemExit(f"symrnn {' '.join(command)} failed: {result.output}")
    return result.output


def main(check: bool = False) -> int:
    import os

    os.chdir(HERE.parent)  # the commands name files from the repository's root (examples/scalar/values.json)
    stale = []
    for folder, name, command in EXAMPLES:
        path = HERE / folder / "expected" / name
        text = output(command)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            if folder in NOTES:
                readme_path = HERE / folder / "README.md"
                kept = readme_path.read_text().partition(BY_HAND)[2] if readme_path.exists() else ""
                readme_path.write_text(readme(folder) + (f"\n{BY_HAND}{kept}" if kept else ""))
    if not check:
        for _, command in FIGURES:
            output(command)
    for path in stale:
        print(f"differs: {path}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv))
