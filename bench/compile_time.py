"""Time from a declaration to a compiled gradient, fresh in each process (no caches).

    python bench/compile_time.py

For each zoo model: building the model, deriving and compiling its rules
(``CompiledGradient``), planning the first call for n = 3 and for n = 1000, and writing the
generated module (``codegen``). Compiling does not depend on n; the plan does, linearly.
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import json, sys, time
import numpy as np
t0 = time.perf_counter()
from symrnn import zoo
from symrnn.codegen.module import codegen
from symrnn.numeric.engine import CompiledGradient
name, n = sys.argv[1], int(sys.argv[2])
t1 = time.perf_counter()
model = zoo.get(name)
bindings = {f: "tanh" for f in model.abstract_functions}
f = CompiledGradient(model, bindings)
t2 = time.perf_counter()
f._plan(n, n // 2 if model.positional else None)
t3 = time.perf_counter()
codegen(model, bindings=bindings)
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "compile": t2 - t1, "plan": t3 - t2, "codegen": t4 - t3}))
"""


def main() -> None:
    from symrnn import zoo

    print("| model | compile (s) | plan n = 3 (s) | plan n = 1000 (s) | codegen (s) "
          "| compile + plan, n = 1000 / n = 3 |")
    print("|---|---|---|---|---|---|")
    for name in zoo.MODELS:
        runs = {}
        for n in (3, 1000):
            out = subprocess.run([sys.executable, "-c", CHILD, name, str(n)], capture_output=True, text=True,
                                 check=True)
            runs[n] = json.loads(out.stdout)
        small = runs[3]["compile"] + runs[3]["plan"]
        large = runs[1000]["compile"] + runs[1000]["plan"]
        print(f"| {name} | {runs[3]['compile']:.2f} | {runs[3]['plan']:.3f} | {runs[1000]['plan']:.2f} | "
              f"{runs[3]['codegen']:.2f} | {large / small:.2f} |")


if __name__ == "__main__":
    main()
