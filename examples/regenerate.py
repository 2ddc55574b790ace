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
    # Question sheet (Collins)
    ("q1_elman", "paths_Whx_n3.txt", ["paths", "elman", "--wrt", "W^{hx}", "--n", "3"]),
    ("q1_elman", "recursion_Whx.tex", ["derive", "elman", "--wrt", "W^{hx}", "--n", "3", "--form", "recursion"]),
    ("q1_elman", "closed_Whx_numerator.tex", ["derive", "elman", "--wrt", "W^{hx}", "--n", "3", "--form", "closed"]),
    ("q1_elman", "closed_Whx_denominator.tex",
     ["derive", "elman", "--wrt", "W^{hx}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("q2_bidirectional", "paths_Whx_n4_i2.txt",
     ["paths", "bidirectional", "--wrt", "W^{hx}", "--n", "4", "--i", "2"]),
    ("q2_bidirectional", "all_Wbhh_n3_i2.tex",
     ["derive", "bidirectional", "--wrt", "W^{bhh}", "--n", "3", "--i", "2", "--form", "all"]),
    ("q2a_stacked", "closed_Whh_denominator.tex",
     ["derive", "stacked_bidirectional", "--wrt", "W^{hh}", "--n", "3", "--i", "2", "--form", "closed",
      "--layout", "denominator"]),
    ("q2b_tagger", "closed_Wbb_denominator.tex",
     ["derive", "tagger", "--wrt", r"W^{\beta\beta}", "--n", "4", "--i", "3", "--form", "closed",
      "--layout", "denominator"]),
    ("q3_gru", "closed_Uh_denominator.tex",
     ["derive", "gru", "--wrt", "U^{h}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("q3_gru", "closed_torch_Whn_denominator.tex",
     ["derive", "gru_torch", "--wrt", "W_{hn}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    # Seed 002
    ("seed002_q1_mlp", "closed_Wu.tex", ["derive", "mlp", "--wrt", "W^{u}", "--n", "1", "--form", "closed",
                                         "--layout", "denominator"]),
    ("seed002_q1_mlp", "closed_We.tex", ["derive", "mlp", "--wrt", "W^{e}", "--n", "1", "--form", "closed",
                                         "--layout", "denominator"]),
    ("seed002_q2_next_word", "closed_Wr.tex",
     ["derive", "next_word", "--wrt", "W^{r}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("seed002_q2_next_word", "closed_We.tex",
     ["derive", "next_word", "--wrt", "W^{e}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("seed002_q3_residual", "recursion_plain.tex",
     ["derive", "plain", "--wrt", "h_{0}", "--n", "3", "--form", "recursion", "--layout", "denominator"]),
    ("seed002_q3_residual", "recursion_residual.tex",
     ["derive", "residual", "--wrt", "h_{0}", "--n", "3", "--form", "recursion", "--layout", "denominator"]),
    # Seed 003
    ("seed003_scalar", "paths_wh_n2.txt", ["paths", "scalar", "--wrt", "w_{h}", "--n", "2"]),
    ("seed003_scalar", "all_wh_n2.tex",
     ["derive", "scalar", "--wrt", "w_{h}", "--n", "2", "--form", "all", "--layout", "denominator"]),
    # Seed 004
    ("seed004_q3_vanilla", "closed_Wx.tex",
     ["derive", "vanilla", "--wrt", "W_{x}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("seed004_q3_vanilla", "closed_xt.tex",
     ["derive", "vanilla", "--wrt", "x_{2}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("seed004_q3_vanilla", "closed_every_Wh.tex",
     ["derive", "vanilla_every", "--wrt", "W_{h}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("seed004_q4_lstm", "closed_Wxf.tex",
     ["derive", "lstm", "--wrt", "W_x^{f}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
    ("seed004_q4_lstm", "closed_every_h0.tex",
     ["derive", "lstm_every", "--wrt", "h_{0}", "--n", "3", "--form", "closed", "--layout", "denominator"]),
]


#: folder -> (title, what symrnn says about the seed's answer); q1_elman has a hand-written README.
NOTES: dict[str, tuple[str, str]] = {
    "q2_bidirectional": (
        "Question 2 of the question sheet: the bidirectional RNN",
        "The label sits at position `i`, so every command takes `--i`. `\\eta^{(t)}` runs backwards from the "
        "parameter `\\eta^{(n+1)}`. In the recursion, `\\frac{\\partial o}{\\partial \\eta^{(t)}}` reads the "
        "total derivative at `t-1` (the step that reads `\\eta^{(t)}`), and the output layer enters at `t = i` "
        "only: the line `t \\neq i` and the line at `i` say so.",
    ),
    "q2a_stacked": (
        "Question 2a: two bidirectional levels",
        "The completion of the sheet's pseudo-code: `h^{(2,t)} = g(W^{2hx} CONCAT(h^{(t)}, \\eta^{(t)}) + "
        "W^{2hh} h^{(2,t-1)} + b^{2h})`, and `\\eta^{(2,t)}` alike backwards. The first level's total derivatives "
        "collect both second-level recursions through the CONCAT selectors.",
    ),
    "q2b_tagger": (
        "Question 2b: a recurrence over the previous tags",
        "`\\beta^{(j)} = g(W^{\\beta y} \\bar y^{(j)} + W^{\\beta\\beta} \\beta^{(j-1)} + b^{\\beta})` for "
        "`j = 1..(i-1)` over one-hot tags. The backward recurrence is typed as the sheet prints it, sharing `b^h` "
        "with the forward one, so `d o / d b^{h}` collects both. At `i = 1` the loop is empty and "
        "`\\beta^{(i-1)}` is the parameter `\\beta^{(0)}`: its closed form has a bracketed term `[i = 1]`.",
    ),
    "q3_gru": (
        "Question 3: the GRU, in Collins' convention and in PyTorch's",
        "The gates `z^{(t)}`, `r^{(t)}` and the pre-activation `a^{(t)}` are named, so the printed derivatives "
        "read `z^{(t)} \\odot (\\mathbf{1} - z^{(t)})` where the sigmoid is differentiated. `gru_torch` is "
        "checked against `torch.nn.GRU` with the same weights (`tests/numeric/test_torch.py`).",
    ),
    "seed002_q1_mlp": (
        "Seed 002, Question 1: the MLP with embed and unembed matrices",
        "The boxed results `dJ/dW^u = (dJ/ds) h^T` and `dJ/dW^e = (dJ/dh) x^T` come out in denominator layout. "
        "symrnn prints `dJ/ds = y - softmax(s) 1^T y`; the seed's `y - p` uses `1^T y = 1`, true for a one-hot "
        "`y`, which symrnn does not assume.",
    ),
    "seed002_q2_next_word": (
        "Seed 002, Question 2: the next-word tanh RNN",
        "The seed's sums `dJ/dW^r = sum_t diag(1 - h_t * h_t) dJ/dh_t h_{t-1}^T` and `dJ/dW^e` alike come out as "
        "`sum_t (dJ/dh_t \\odot (1 - h_t \\odot h_t)) h_{t-1}^T`: the same matrix, with the diag written as an "
        "elementwise product.",
    ),
    "seed002_q3_residual": (
        "Seed 002, Question 3: the plain and the residual RNN",
        "The plain recursion is the seed's `dJ/dh_{t-1} = W_r^T diag(1 - tanh^2 g_t) dJ/dh_t`; the residual one "
        "adds the skip term `dJ/dh_t`, the `+ I` of the seed, which keeps the gradient from vanishing.",
    ),
    "seed003_scalar": (
        "Seed 003: the scalar linear RNN with a squared error at every step",
        "Every variable is a number, so nothing is transposed. The path sum has the seed's three terms for "
        "`dL/dw_h` (one through `L_1`, two through `L_2`). By hand with the seed's numbers, `h_1 = 2`, "
        "`h_2 = 3`, `yhat_2 = 6` as the seed has it, but its `yhat_1 = w_h h_1 = 2` should read "
        "`w_y h_1 = 4` (symrnn's exact rational mode, to come, will print these numbers).",
    ),
    "seed004_q3_vanilla": (
        "Seed 004, Question 3: the tanh RNN, loss at the last step or at every step",
        "The closed forms are the seed's `sum_t (dL/dh_t \\odot (1 - h_t^2))^T x_t^T` up to the layout: in "
        "denominator layout `dL/dh_t` is a column, so no transpose is needed.",
    ),
    "seed004_q4_lstm": (
        "Seed 004, Question 4: the LSTM",
        "The recursion gives `dL/dc_t = dL/dc_{t+1} \\odot f_{t+1} + dL/dh_t \\odot o_t \\odot (1 - "
        "tanh(c_t) \\odot tanh(c_t))`. The seed writes `dL/dh_{t+1} \\odot f_{t+1}` for the first term: the "
        "cell state's own total derivative is the right one (checked against finite differences and "
        "`torch.nn.LSTM`).",
    ),
}


#: In a generated README, what follows this line is written by hand and kept when it is regenerated.
BY_HAND = "<!-- written by hand below; examples/regenerate.py keeps it -->"


def readme(folder: str) -> str:
    title, note = NOTES[folder]
    rows = [f"| `symrnn {' '.join(_quote(a) for a in command)}` | `expected/{name}` |"
            for f, name, command in EXAMPLES if f == folder]
    return (f"# {title}\n\n{note}\n\n| command | expected output |\n|---|---|\n" + "\n".join(rows)
            + "\n\nThe tests compare each file with what the command prints (`python examples/regenerate.py`"
            " rewrites them). Add `--out DIR --pdf` to a `derive` command for the LaTeX document and the graph.\n")


def _quote(arg: str) -> str:
    return f"'{arg}'" if any(c in arg for c in "\\^{} ") else arg


def output(command: list[str]) -> str:
    from click.testing import CliRunner

    from symrnn.cli import main

    result = CliRunner().invoke(main, command)
    if result.exit_code != 0:
        raise SystemExit(f"symrnn {' '.join(command)} failed: {result.output}")
    return result.output


def main(check: bool = False) -> int:
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
    for path in stale:
        print(f"differs: {path}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv))
