"""Benchmark symrnn's generated code and compiled gradient against hand-written BPTT, PyTorch and JAX.

    python bench/run.py                 # every model and configuration; writes bench/results.md
    python bench/run.py --quick         # the two small configurations only
    python bench/run.py --models lstm   # some models only (elman, lstm, gru)

Each (model, configuration, loss) runs in its own process with one BLAS thread. Inside it the
implementations are timed interleaved, one call each per round, until the time budget is spent,
so that the machine's drift falls on all of them alike; the table gives medians. Every
gradient is checked against the hand-written one first. The hand-written NumPy BPTT
(``bench/handwritten.py``) is the reference: batch in rows, products into preallocated arrays,
input and weight-gradient products hoisted, an LSTM's and a GRU's gates stacked into one matrix.
The machine's single-GEMM rate (a 1024 x 1024 product, one thread) is measured too, and the
largest configuration's rate of useful work is reported against it.
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
#: model -> (zoo model of the last-step loss, of the every-step loss or None)
MODELS = {"elman": ("elman", "vanilla_every"), "lstm": ("lstm", "lstm_every"), "gru": ("gru_torch", None)}
ELMAN_EVERY = {"W_hx": "W_x", "W_hh": "W_h", "b_h": "b", "h0": "h0", "V": "V", "gamma": "b_y"}


def _medians(fns: dict, budget: float, most: int = 25) -> dict:
    """Each callable timed once per round, rounds interleaved, until ``budget`` seconds (3 rounds at least)."""
    times = {k: [] for k in fns}
    start = time.perf_counter()
    while min(len(v) for v in times.values()) < most and (
            min(len(v) for v in times.values()) < 3 or time.perf_counter() - start < budget):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def gemm_rate(size: int = 1024) -> float:
    """FLOP/s of one ``size x size`` float64 matrix product (median of 5), on the threads BLAS is given."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(size, size)), rng.normal(size=(size, size))
    a @ b
    return 2.0 * size ** 3 / _medians({"gemm": lambda: a @ b}, 0.0, most=5)["gemm"]


def flops(model: str, config) -> float:
    """The matrix products' FLOPs of one gradient (forward, backward and weight gradients)."""
    n, m, d, K, B = config
    gates = {"elman": 1, "lstm": 4, "gru": 3}[model]
    # forward: input and recurrent products; backward: recurrent products; gradients: both weights
    return 2.0 * n * B * gates * m * (2 * d + 3 * m)


def _load(model, backend: str):
    import importlib.util
    import tempfile

    from symrnn.codegen import codegen

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"generated_{backend}.py"
        path.write_text(codegen(model, backend))
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def _params(model, sizes: dict, rng) -> dict:
    out = {}
    for p in model.parameters:
        shape = tuple(int(d.subs({s: sizes[str(s)] for s in model.sizes})) for d in p.shape)
        fan_in = shape[1] if shape[1] > 1 else 1
        out[p.name] = rng.normal(size=shape) / np.sqrt(fan_in) if shape[1] > 1 else 0.1 * rng.normal(size=shape)
    return out


def one(name: str, config, loss: str, budget: float) -> dict:
    """Time every implementation of one model, configuration and loss (run in a child process)."""
    sys.path.insert(0, str(HERE))
    import handwritten as hw

    from symrnn import zoo
    from symrnn.numeric.backends import to_numpy

    n, m, d, K, B = config
    every = loss == "every"
    model = zoo.get(MODELS[name][1] if every else MODELS[name][0])
    if name == "elman" and not every:
        model = zoo.elman("tanh")
    rng = np.random.default_rng(0)
    base = zoo.elman("tanh") if name == "elman" else model
    P = _params(base, {"m": m, "d": d, "K": K}, rng)
    x = rng.normal(size=(n, d, B))
    labels = rng.integers(1, K + 1, size=(n, B))
    xr = np.ascontiguousarray(x.transpose(0, 2, 1))  # the hand-written layout, prepared once
    Yr = hw.onehot_rows(labels, K)  # (n, B, K)
    Ycols = np.ascontiguousarray(Yr.transpose(0, 2, 1))  # (n, K, B), symrnn's layout
    names = ELMAN_EVERY if name == "elman" and every else {k: k for k in P}
    sym_params = {names[k]: v for k, v in P.items()}
    if name == "elman" and not every or name == "gru":
        sym_inputs, sym_labels = {"x": x}, {"y": labels[-1]}
    else:
        sym_inputs, sym_labels = {"x": x, "y": Ycols if every else Ycols[-1]}, {}
    if name == "elman":
        hand = lambda: hw.elman(**P, xr=xr, Y=Yr, every=every)  # noqa: E731
    elif name == "lstm":
        hand = lambda: hw.lstm(P, xr, Yr, every)  # noqa: E731
    else:
        hand = lambda: hw.gru(P, xr, Yr)  # noqa: E731
    _, ref = hand()
    fns = {"handwritten numpy": hand}
    worst = 0.0

    def agree(grads):
        nonlocal worst
        for k in ref:
            g = np.asarray(to_numpy(grads[names[k]]))
            worst = max(worst, float(np.abs(g - ref[k]).max() / max(np.abs(ref[k]).max(), 1e-300)))

    generated = _load(model, "numpy")
    agree(generated.gradients(sym_params, sym_inputs, sym_labels, n)[1])
    fns["symrnn codegen numpy"] = lambda: generated.gradients(sym_params, sym_inputs, sym_labels, n)
    notes = {}
    if name == "elman":
        from symrnn.numeric.engine import CompiledGradient

        f = CompiledGradient(model)
        agree(f(sym_params, sym_inputs, sym_labels, n).gradients)
        fns["symrnn engine numpy"] = lambda: f(sym_params, sym_inputs, sym_labels, n)
    try:
        import torch

        torch.set_num_threads(1)
        if name == "elman":
            Yt = Ycols if every else np.where(np.arange(n)[:, None, None] == n - 1, Ycols, 0.0)
            agree({names[k]: v for k, v in hw.torch_autograd(torch, P, x, Yt, every).items()})
            fns["torch eager"] = lambda: hw.torch_autograd(torch, P, x, Yt, every)
        else:
            agree(hw.torch_fused(torch, name, P, xr, Yr, every))
            fns[f"torch nn.{name.upper()}"] = lambda: hw.torch_fused(torch, name, P, xr, Yr, every)
    except ImportError as e:
        notes["torch"] = f"not run ({e})"
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        gen_jax = _load(model, "jax")
        agree(gen_jax.gradients(sym_params, sym_inputs, sym_labels, n)[1])
        fns["symrnn codegen jax"] = lambda: jax.block_until_ready(
            gen_jax.gradients(sym_params, sym_inputs, sym_labels, n))
        if name == "elman":
            grad = hw.jax_scan_grad(jax, every)
            Yj = Ycols if every else np.where(np.arange(n)[:, None, None] == n - 1, Ycols, 0.0)
            agree({names[k]: v for k, v in grad(P, x, Yj).items()})
            fns["jax.jit(grad) scan"] = lambda: jax.block_until_ready(grad(P, x, Yj))
    except ImportError as e:
        notes["jax"] = f"not run ({e})"
    times = _medians(fns, budget)
    return {"model": name, "config": config, "loss": loss, "times": times, "notes": notes,
            "worst_relative_difference": worst, "flops": flops(name, config)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only the two small configurations")
    parser.add_argument("--models", default=",".join(MODELS), help="models to run: elman, lstm, gru")
    parser.add_argument("--budget", type=float, default=8.0, help="seconds of timing per configuration")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(HERE / "results.md"))
    args = parser.parse_args()
    if args.one:
        name, config, loss = json.loads(args.one)
        print(json.dumps(one(name, tuple(config), loss, args.budget)))
        return
    # one BLAS thread for every implementation: steadier times on a shared 2-core machine
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    rate = json.loads(subprocess.run([sys.executable, "-c", "import json, sys; sys.path.insert(0, sys.argv[1]); "
                                      "import run; print(json.dumps(run.gemm_rate()))", str(HERE)],
                                     capture_output=True, text=True, check=True, env=env).stdout)
    results = []
    for name in args.models.split(","):
        for config in CONFIGS[:2] if args.quick else CONFIGS:
            for loss in ("last", "every") if MODELS[name][1] else ("last",):
                print(f"running {name} {config}, loss at {loss} step(s) ...", file=sys.stderr)
                done = subprocess.run([sys.executable, __file__, "--budget", str(args.budget), "--one",
                                       json.dumps([name, config, loss])],
                                      capture_output=True, text=True, check=True, env=env)
                results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    lines = [f"Measured {date.today()} on {platform.machine()}, {platform.processor() or 'CPU'}, Python "
             f"{platform.python_version()}, float64, one process per row, one BLAS thread, implementations "
             f"interleaved; medians; ratio = time / hand-written NumPy time. Single-GEMM rate (1024^3, one "
             f"thread): {rate / 1e9:.1f} GFLOP/s.", ""]
    for name in args.models.split(","):
        rows = [r for r in results if r["model"] == name]
        columns = list(dict.fromkeys(k for r in rows for k in r["times"]))
        lines += [f"### {name}", "", "| (n, m, d, K, B) | loss | " + " | ".join(columns)
                  + " | agree | codegen numpy GFLOP/s (of GEMM) |", "|---|---|" + "---|" * len(columns) + "---|---|"]
        for r in rows:
            base = r["times"]["handwritten numpy"]
            cells = [f"{r['times'][k] * 1e3:.3g} ms ({r['times'][k] / base:.2f}x)" if k in r["times"] else "-"
                     for k in columns]
            achieved = r["flops"] / r["times"]["symrnn codegen numpy"]
            lines.append(f"| {tuple(r['config'])} | {r['loss']} | " + " | ".join(cells)
                         + f" | {r['worst_relative_difference']:.0e} | {achieved / 1e9:.1f} ({achieved / rate:.0%}) |")
        lines.append("")
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
