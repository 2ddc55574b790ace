"""How long symrnn takes to unroll every zoo model and count its paths for a long sequence.

    python bench/paths_at_scale.py [N]      # default N = 1000

The path counts grow polynomially (Elman: n) or exponentially (LSTM: two paths per step
between h and c), so they are counted by dynamic programming over the graph and never
listed. Times are medians of 3 runs on this machine; the issue's target is under a second
for N = 1000.
"""

from __future__ import annotations

import statistics
import sys
import time

from symrnn import zoo
from symrnn.graph import Node, unroll
from symrnn.paths import count_paths
from symrnn.render.text import approximate


def main(n: int = 1000) -> None:
    print(f"| model | parameter | unroll (s) | count (s) | paths, n = {n} |")
    print("|---|---|---|---|---|")
    for name in zoo.MODELS:
        model = zoo.get(name)
        wrt = model.parameters[0]
        unrolls, counts = [], []
        for _ in range(3):
            start = time.perf_counter()
            G = unroll(model, n, n // 2 if model.positional else None)
            middle = time.perf_counter()
            count = count_paths(G, Node(wrt.name))
            unrolls.append(middle - start)
            counts.append(time.perf_counter() - middle)
        print(f"| {name} | `{wrt.latex}` | {statistics.median(unrolls):.2f} | {statistics.median(counts):.2f} "
              f"| {approximate(count)} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
