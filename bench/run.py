"""Benchmark symrnn's compiled gradient against hand-written BPTT, PyTorch and JAX.

    python bench/run.py                 # every configuration, both losses; writes bench/results.md
    python bench/run.py --quick         # the two small configurations only

Each configuration runs in its own process. The model is the question sheet's Elman RNN
with tanh: the loss at the last step (symrnn's zoo model ``elman``, labels) or summed over
every step (``vanilla_every``'s head on the same recurrence). Times are medians, float64,
one process, and every gradient is checked against the hand-written one first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
CONFIGS = [(3, 8, 5, 4, 1), (50, 64, 32, 10, 1), (200, 128, 64, 10, 32), (1000, 256, 128, 10, 64)]
NAMES = ["handwritten numpy", "symrnn codegen numpy", "symrnn numpy", "symrnn torch", "symrnn jax", "torch eager",
         "jax.jit(grad) scan", "symrnn codegen jax"]


def _median(fn, budget: float = 3.0, most: int = 25) -> float:
    times = []
    start = time.perf_counter()
    while len(times) < most and (len(times) < 3 or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _problem(n, m, d, K, B, seed=0):
    rng = np.random.default_rng(seed)
    P = {"W_hx": rng.normal(size=(m, d)) / np.sqrt(d), "W_hh": rng.normal(size=(m, m)) / np.sqrt(m),
         "b_h": 0.1 * rng.normal(size=(m, 1)), "h0": np.zeros((m, 1)), "V": rng.normal(size=(K, m)) / np.sqrt(m),
         "gamma": np.zeros((K, 1))}
    x = rng.normal(size=(n, d, B))
    labels = rng.integers(1, K + 1, size=(n, B))
    Y = np.zeros((n, K, B))
    Y[np.arange(n)[:, None], labels - 1, np.arange(B)[None, :]] = 1.0
    return P, x, labels, Y


def one(config, loss: str) -> dict:
    """Time every implementation on one configuration (run in a child process)."""
    sys.path.insert(0, str(HERE))
    import handwritten as hw

    from symrnn import zoo
    from symrnn.numeric.backends import to_numpy
    from symrnn.numeric.engine import CompiledGradient

    n, m, d, K, B = config
    every = loss == "every"
    P, x, labels, Y = _problem(*config)
    if every:
        model = zoo.vanilla("every")
        names = {"W_hx": "W_x", "W_hh": "W_h", "b_h": "b", "h0": "h0", "V": "V", "gamma": "b_y"}
        sym_params = {names[k]: v for k, v in P.items()}
        sym_inputs, sym_labels = {"x": x, "y": Y}, {}
        ref_loss, ref = hw.numpy_bptt_every(**P, x=x, Y=Y)
        hand = lambda: hw.numpy_bptt_every(**P, x=x, Y=Y)  # noqa: E731
    else:
        model = zoo.elman("tanh")
        names = {k: k for k in P}
        sym_params, sym_inputs, sym_labels = P, {"x": x}, {"y": labels[-1]}
        ref_loss, ref = hw.numpy_bptt(**P, x=x, y=labels[-1])
        hand = lambda: hw.numpy_bptt(**P, x=x, y=labels[-1])  # noqa: E731
    rows = {"handwritten numpy": _median(hand)}
    worst = 0.0

    def agree(grads, rename=True):
        nonlocal worst
        for k in ref:
            g = np.asarray(to_numpy(grads[names[k] if rename else k]))
            worst = max(worst, float(np.abs(g - ref[k]).max() / max(np.abs(ref[k]).max(), 1e-300)))

    import importlib.util
    import tempfile

    from symrnn.codegen.module import codegen

    def load(backend):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"generated_{backend}.py"
            path.write_text(codegen(model, backend))
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        return module

    generated = load("numpy")
    agree(generated.gradients(sym_params, sym_inputs, sym_labels, n)[1])
    rows["symrnn codegen numpy"] = _median(lambda: generated.gradients(sym_params, sym_inputs, sym_labels, n))
    for backend in ("numpy", "torch", "jax"):
        try:
            f = CompiledGradient(model, backend=backend)
        except Exception as e:  # a backend that is not installed is reported, not fatal
            rows[f"symrnn {backend}"] = f"not run ({e})"
            continue
        agree(f(sym_params, sym_inputs, sym_labels, n).gradients)
        rows[f"symrnn {backend}"] = _median(lambda f=f: f(sym_params, sym_inputs, sym_labels, n))
    try:
        import torch

        torch.set_num_threads(1)
        agree(hw.torch_autograd(torch, P, x, Y if every else _last_only(Y), every), rename=False)
        rows["torch eager"] = _median(lambda: hw.torch_autograd(torch, P, x, Y if every else _last_only(Y), every))
    except ImportError as e:
        rows["torch eager"] = f"not run ({e})"
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        grad = hw.jax_scan_grad(jax, every)
        YY = Y if every else _last_only(Y)
        agree({k: v for k, v in grad(P, x, YY).items()}, rename=False)
        rows["jax.jit(grad) scan"] = _median(lambda: jax.block_until_ready(grad(P, x, YY)))
        gen_jax = load("jax")
        agree(gen_jax.gradients(sym_params, sym_inputs, sym_labels, n)[1])
        rows["symrnn codegen jax"] = _median(
            lambda: jax.block_until_ready(gen_jax.gradients(sym_params, sym_inputs, sym_labels, n)))
    except ImportError as e:
        rows["jax.jit(grad) scan"] = rows["symrnn codegen jax"] = f"not run ({e})"
    return {"config": config, "loss": loss, "times": rows, "worst_relative_difference": worst}


def _last_only(Y):
    out = np.zeros_like(Y)
    out[-1] = Y[-1]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only the two small configurations")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(HERE / "results.md"))
    args = parser.parse_args()
    if args.one:
        config, loss = json.loads(args.one)
        print(json.dumps(one(tuple(config), loss)))
        return
    results = []
    for config in CONFIGS[:2] if args.quick else CONFIGS:
        for loss in ("last", "every"):
            print(f"running {config}, loss at {loss} step(s) ...", file=sys.stderr)
            # one BLAS thread for every implementation: steadier times on a shared 2-core machine
            env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            done = subprocess.run([sys.executable, __file__, "--one", json.dumps([config, loss])],
                                  capture_output=True, text=True, check=True, env=env)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    lines = [f"Measured {date.today()} on {platform.machine()}, {platform.processor() or 'CPU'}, Python "
             f"{platform.python_version()}, float64, one process per configuration, one BLAS thread; medians; "
             "ratio = time / hand-written NumPy time; last column: symrnn's generated JAX / the JAX scan.", "",
             "| (n, m, d, K, B) | loss | " + " | ".join(NAMES) + " | agree | codegen jax / jax scan |",
             "|---|---|" + "---|" * len(NAMES) + "---|---|"]
    for r in results:
        base = r["times"]["handwritten numpy"]
        cells = []
        for name in NAMES:
            t = r["times"].get(name)
            cells.append(f"{t * 1e3:.3g} ms ({t / base:.2f}x)" if isinstance(t, float) else str(t))
        jx, scan = r["times"].get("symrnn codegen jax"), r["times"].get("jax.jit(grad) scan")
        versus = f"{jx / scan:.2f}x" if isinstance(jx, float) and isinstance(scan, float) else "-"
        lines.append(f"| {tuple(r['config'])} | {r['loss']} | " + " | ".join(cells)
                     + f" | {r['worst_relative_difference']:.0e} | {versus} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
