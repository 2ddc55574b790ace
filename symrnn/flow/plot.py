"""The flow figure and its data: log-norm against t, one line per model and scale, with bands and bounds.

The figure has two panels, ``||dL/dh_t||`` and ``||dh_n/dh_t||_2``; each line is the median over
the draws, the shaded band the quantiles :data:`~symrnn.flow.measure.BAND`, and a dashed line of
the same colour the textbook bound where there is one. It is drawn with matplotlib's object API
(no global pyplot state), written as PNG and SVG, and the numbers beside it as CSV and JSON.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from symrnn.flow.measure import BAND, Curve


def _mathtext(text: str, fallback: str) -> str:
    """``$text$`` when matplotlib's mathtext can typeset it, else the plain ``fallback``."""
    from matplotlib.mathtext import MathTextParser

    try:
        MathTextParser("path").parse(f"${text}$")
    except Exception:  # any name mathtext lacks a command for: the plain identifier instead
        return fallback
    return f"${text}$"


def axis_labels(curves: list[Curve]) -> tuple[str, str]:
    """The two panels' y labels, in the models' notation when they share it."""
    states = {(c.state_latex, c.last_latex, c.loss_latex) for c in curves}
    if len(states) == 1:
        state, last, loss = states.pop()
        return (_mathtext(f"\\|\\partial {loss} / \\partial {state}\\|", "||dL/dh_t||"),
                _mathtext(f"\\|\\partial {last} / \\partial {state}\\|_2", "||dh_n/dh_t||"))
    return "$\\|\\partial L / \\partial h_t\\|$", "$\\|\\partial h_n / \\partial h_t\\|_2$"


class FlowFigure(Figure):
    """A matplotlib figure that Jupyter displays inline as PNG, without pyplot's inline backend."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def figure(curves: list[Curve], title: str | None = None):
    """The figure (a :class:`matplotlib.figure.Figure`, shown inline in Jupyter) of the measured curves.

    Examples
    --------
    >>> from symrnn import zoo
    >>> from symrnn.flow import measure
    >>> fig = figure(measure(zoo.scalar(), 10, scales=[0.9, 1.1], draws=3))
    >>> [ax.get_yscale() for ax in fig.axes], len(fig.axes[1].get_lines())
    (['log', 'log'], 4)
    """
    fig = FlowFigure(figsize=(11, 4.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    colours = [f"C{k % 10}" for k in range(len(curves))]
    labels = axis_labels(curves)
    for ax, which, label in ((left, "loss_grad", labels[0]), (right, "jacobian", labels[1])):
        measured = np.concatenate([np.ravel(getattr(c, which)) for c in curves])
        measured = measured[np.isfinite(measured) & (measured > 0)]
        for curve, colour in zip(curves, colours, strict=True):
            median, low, high = (np.where(v > 0, v, np.nan) for v in curve.summary(which))
            name = f"{curve.model}, scale {curve.scale:g}"
            ax.plot(curve.steps, median, color=colour, label=name, linewidth=1.6)
            ax.fill_between(curve.steps, low, high, color=colour, alpha=0.18, linewidth=0)
            if which == "jacobian" and curve.bound is not None:
                bound = np.median(curve.bound, axis=0)
                ax.plot(curve.steps, np.where(bound > 0, bound, np.nan), color=colour, linestyle="--",
                        linewidth=1.0, label=f"bound, {curve.model} {curve.scale:g}")
        ax.set_yscale("log")
        if measured.size:  # the measurements fill the panel; a bound far above them leaves it at the top
            low, high = float(measured.min()), float(measured.max())
            ax.set_ylim(low / 10, high * (10 if high / low < 1e6 else 1e3))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("$t$")
        ax.set_ylabel(label)
        ax.grid(True, which="major", alpha=0.3)
    right.legend(fontsize=8, loc="best")
    n = max(int(c.steps.max()) for c in curves)
    fig.suptitle(title or f"Gradient flow over n = {n} steps (median of {curves[0].loss_grad.shape[0]} draws, "
                 f"band {BAND[0]:g}-{BAND[1]:g} quantiles)", fontsize=11)
    return fig


def rows(curves: list[Curve]) -> list[dict]:
    """The figure's numbers, one row per model, scale, quantity and step."""
    out = []
    for c in curves:
        for which in ("loss_grad", "jacobian"):
            median, low, high = c.summary(which)
            bound = np.median(c.bound, axis=0) if which == "jacobian" and c.bound is not None else None
            for k, t in enumerate(c.steps):
                out.append({"model": c.model, "scale": c.scale, "quantity": which, "t": int(t),
                            "median": float(median[k]), "low": float(low[k]), "high": float(high[k]),
                            "bound": None if bound is None else float(bound[k])})
    return out


def write(curves: list[Curve], out: Path, title: str | None = None) -> list[Path]:
    """Write ``flow.png``, ``flow.svg``, ``flow.csv`` and ``flow.json`` into ``out``; their paths."""
    out.mkdir(parents=True, exist_ok=True)
    fig = figure(curves, title)
    written = []
    for suffix, options in (("png", {"dpi": 150}), ("svg", {"metadata": {"Date": None}})):
        path = out / f"flow.{suffix}"
        fig.savefig(path, **options)
        written.append(path)
    table = rows(curves)
    path = out / "flow.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    written.append(path)
    path = out / "flow.json"
    path.write_text(json.dumps([{
        "model": c.model, "title": c.title, "state": c.state, "scale": c.scale, "steps": c.steps.tolist(),
        "loss_grad": c.loss_grad.tolist(), "jacobian": c.jacobian.tolist(),
        "bound": None if c.bound is None else c.bound.tolist(), "bound_latex": c.bound_latex,
        "bound_respected": c.bound_respected} for c in curves], indent=1))
    written.append(path)
    return written
