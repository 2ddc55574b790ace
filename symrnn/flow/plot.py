"""The flow figure and its data: log-norm against t, one line per model and scale, with bands and bounds.

The figure has two panels, ``||dL/dh_t||`` and ``||dh_n/dh_t||_2`` on a scale of powers of ten
(their ``log10``, labelled ``10^k``, so that norms near float64's limits draw); each line is the median over
the draws, the shaded band the quantiles :data:`~symrnn.flow.measure.BAND`, and a dashed line of
the same colour the textbook bound where there is one. It is drawn with matplotlib's object API
(no global pyplot state), written as PNG and SVG, and the numbers beside it as CSV and JSON.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

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
    states = {(c.state_latex, c.last_latex, c.loss_latex, c.wrt_latex) for c in curves}
    if len(states) == 1:
        state, last, loss, wrt = states.pop()
        return (_mathtext(f"\\|\\partial {loss} / \\partial {wrt or state}\\|", "||dL/dh_t||"),
                _mathtext(f"\\|\\partial {last} / \\partial {state}\\|_2", "||dh_n/dh_t||"))
    grad = "x_t" if any(c.wrt_latex for c in curves) else "h_t"
    return f"$\\|\\partial L / \\partial {grad}\\|$", "$\\|\\partial h_n / \\partial h_t\\|_2$"


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
    >>> len(fig.axes[1].get_lines())  # two scales, each with its bound
    4
    >>> fig.axes[1].get_lines()[0].get_ydata()[-1]  # log10 of ||dh_n/dh_n|| = 1, drawn as 10^0
    np.float64(0.0)
    """
    if not curves:
        raise ValueError("figure needs at least one curve (symrnn.flow.measure returns them)")
    legend_rows = -(-len(curves) // 4)
    fig = FlowFigure(figsize=(11, 4.4 + 0.22 * legend_rows), layout="constrained")
    left, right = fig.subplots(1, 2)
    palette = "tab10" if len(curves) <= 10 else "tab20"
    colours = [matplotlib.colormaps[palette](k % 20) for k in range(len(curves))]
    labels = axis_labels(curves)
    handles = []
    for ax, which, label in ((left, "loss_grad", labels[0]), (right, "jacobian", labels[1])):
        measured = np.concatenate([np.ravel(getattr(c, which)) for c in curves])
        measured = _drawable(measured)
        measured = measured[np.isfinite(measured)]
        for curve, colour in zip(curves, colours, strict=True):
            median, low, high = (_drawable(v) for v in curve.summary(which))
            line, = ax.plot(curve.steps, median, color=colour, label=f"{curve.model}, scale {curve.scale:g}",
                            linewidth=1.6)
            ax.fill_between(curve.steps, low, high, color=colour, alpha=0.18, linewidth=0)
            if which == "jacobian":
                handles.append(line)
                if curve.bound is not None:
                    bound = np.median(curve.bound, axis=0)
                    ax.plot(curve.steps, _drawable(bound), color=colour, linestyle="--", linewidth=1.0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"$10^{{{v:g}}}$"))
        if measured.size:  # the measurements fill the panel; a bound far above them leaves it at the top
            low, high = float(measured.min()), float(measured.max())
            ax.set_ylim(low - 1, high + (1 if high - low < 6 else 3))
        else:
            ax.text(0.5, 0.5, "no value to draw on a log scale:\nevery one is 0 or beyond float64's range",
                    transform=ax.transAxes, ha="center", va="center", fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("$t$")
        ax.set_ylabel(label)
        ax.grid(True, which="major", alpha=0.3)
    if any(c.bound is not None for c in curves):
        handles.append(Line2D([], [], color="grey", linestyle="--", linewidth=1.0, label="bound, same colour"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(4, len(handles)), fontsize=8, frameon=False)
    n, draws = curves[0].n, curves[0].loss_grad.shape[0]
    fig.suptitle(title or f"Gradient flow over n = {n} step{'s' if n != 1 else ''} (median of {draws} "
                 f"draw{'s' if draws != 1 else ''}, band {BAND[0]:g}-{BAND[1]:g} quantiles)", fontsize=11)
    return fig


def _drawable(values):
    """``log10`` of the values, the y of the figure (drawn as powers of ten: matplotlib's log axis
    overflows near float64's limits, and a gradient reaches them); 0, inf and NaN are NaN: not drawn."""
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.isfinite(values) & (values > 0), np.log10(np.where(values > 0, values, 1.0)), np.nan)


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


def _finite(value):
    """``value`` with every infinite or NaN number as None (JSON has no Infinity: ``null``, beyond float64)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


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
    path.write_text(json.dumps(_finite([{
        "model": c.model, "title": c.title, "state": c.state, "scale": c.scale, "steps": c.steps.tolist(),
        "loss_grad": c.loss_grad.tolist(), "jacobian": c.jacobian.tolist(),
        "bound": None if c.bound is None else c.bound.tolist(), "bound_latex": c.bound_latex,
        "bound_respected": c.bound_respected} for c in curves]), indent=1, allow_nan=False))
    written.append(path)
    return written
