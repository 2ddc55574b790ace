"""Question sheet, Question 1, from the Python API: paths (1a), path sum (1b), sensitivity (1c).

Run:  .venv/bin/python examples/elman/elman.py
"""

from symrnn import check_model, iter_paths, latex, pathsum, sensitivity, unroll, zoo
from symrnn.graph import find_node
from symrnn.render.text import path_line

model = zoo.elman()  # g abstract, as the handout
G = unroll(model, 3)

print("Q1a: the directed paths from W^{hx} to o")
for path in iter_paths(G, find_node(G, "W^{hx}")):
    print("  ", path_line(G, path))

print("\nQ1b: the gradient as a sum over paths")
print(latex(pathsum(model, "W^{hx}", 3)))

print("\nQ1c: which Jacobians vary with x^{(1)}")
for row in sensitivity(model, "x^{(1)}", 3):
    print(f"   {'varies  ' if row.varies else 'constant'} D({row.source_latex} -> {row.target_latex})")

print("\nEvery printed formula, checked against finite differences (g = tanh):")
for row in check_model(model, 3, {"m": 4, "d": 3, "K": 5}, bindings={"g": "tanh"}):
    print(f"   d o / d {row.name}: relative error {row.error:.1e}, {'pass' if row.passed else 'FAIL'}")
