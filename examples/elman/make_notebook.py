"""Write elman.ipynb, the walk through Question 1 in Jupyter (outputs are made by running it).

    python examples/elman/make_notebook.py
"""

from pathlib import Path

import nbformat

CELLS = [
    ("markdown", "# Question 1 of the question sheet, in Jupyter\n\n"
                 "The Elman RNN of Collins' *Flipped Classroom Questions on Recurrent Networks*. "
                 "Every object below displays itself: models and derivations as LaTeX, graphs as SVG."),
    ("code", "from symrnn import check_model, closed_form, draw, iter_paths, load_spec, pathsum, unroll, zoo\n"
             "from symrnn.graph import Node\n"
             "\n"
             "model = zoo.elman()\n"
             "model"),
    ("markdown", "The same model typed from the sheet, as a `.rnn` file:"),
    ("code", "sheet = load_spec('../specs/sheet/q1.rnn')\n"
             "print(open('../specs/sheet/q1.rnn').read())"),
    ("markdown", "**1a.** The directed paths from $W^{hx}$ to $o$ for $n = 3$:"),
    ("code", "G = unroll(model, 3)\n"
             "for path in iter_paths(G, Node('W_hx')):\n"
             "    print(' -> '.join(G.nodes[v]['latex'] for v in path))"),
    ("markdown", "**1b.** The gradient as a sum over those paths, with $A$ and $B^t$ as in the sheet:"),
    ("code", "ps = pathsum(model, 'W^{hx}', 3)\n"
             "ps"),
    ("code", "draw(ps)"),
    ("markdown", "The factored forms: the backward recursion and the closed form (denominator layout):"),
    ("code", "closed_form(model, 'W^{hx}', 3, layout='denominator')"),
    ("markdown", "Every printed formula, evaluated and compared with finite differences ($g = \\tanh$):"),
    ("code", "rows = check_model(model, 3, {'m': 4, 'd': 3, 'K': 5}, bindings={'g': 'tanh'},\n"
             "                   forms=('pathsum', 'recursion', 'closed'))\n"
             "for r in rows:\n"
             "    print(f'{r.form:9s} {r.name:40s} {r.error:.1e} {\"pass\" if r.passed else \"FAIL\"}')"),
    ("markdown", "How far the gradient reaches back (`symrnn flow`): $\\|\\partial o / \\partial h^{(t)}\\|$ and "
                 "$\\|\\partial h^{(n)} / \\partial h^{(t)}\\|_2$ over 50 steps, with $W^{hh}$ at spectral radii "
                 "0.8, 1 and 1.5, and the bound $(\\max|\\tanh'| \\, \\|W^{hh}\\|_2)^{n-t}$ dashed:"),
    ("code", "from symrnn.flow import measure\n"
             "from symrnn.flow.plot import figure\n"
             "\n"
             "figure(measure(model, 50, scales=[0.8, 1.0, 1.5], draws=5, bindings={'g': 'tanh'}))"),
    ("markdown", "The solution sheet's section for the model (`symrnn report` writes it as HTML and PDF):"),
    ("code", "from symrnn.report.sheet import build\n"
             "\n"
             "build(model, 3, forms=('closed',), flow_n=0)"),
]


def main() -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, text in CELLS:
        nb.cells.append(nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text))
    nbformat.write(nb, Path(__file__).with_name("elman.ipynb"))


if __name__ == "__main__":
    main()
