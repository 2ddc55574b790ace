"""The ``symrnn`` command: paths, derive, check, sensitivity, zoo, show.

MODEL is the name of a zoo model (``symrnn zoo`` lists them) or the path of a
``.rnn`` spec. Errors print without a traceback and exit with code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np

from symrnn import zoo
from symrnn.derive.equations import LAYOUTS
from symrnn.derive.truncated import MAX_TRUNCATE
from symrnn.errors import SymRNNError
from symrnn.model.declared import Kind
from symrnn.numeric.gradcheck import FORMS, Form
from symrnn.operations.functions import concrete
from symrnn.render.text import terminal_text

#: Python's recursion limit while a command runs (see main).
RECURSION_LIMIT = 20_000
#: Without --all, ``paths`` refuses to list more paths than this.
LIST_LIMIT = 10_000
DEFAULT_SIZES = {"m": 4, "d": 3, "K": 5}


class _Group(click.Group):
    """Every command's errors end in one ``error:`` line and exit code 2, never a traceback
    (``symrnn --debug COMMAND ...`` adds the traceback, for a bug report)."""

    def invoke(self, ctx):
        # a chain of lets as long as the variable limit allows (500) nests expressions that deep; the
        # symbolic work recurses through them (Python's default limit, 1000 frames, stopped at 300)
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except SymRNNError as e:
            _fail(ctx, str(e))
        except OSError as e:  # a file or folder that cannot be read or written
            where = f": {e.filename}" if e.filename else ""
            _fail(ctx, f"{e.strerror or e}{where}")
        except RecursionError:
            _fail(ctx, "the input is nested too deeply to process (Python's recursion limit)")
        except MemoryError:
            _fail(ctx, "out of memory: the input asks for more than this machine has; choose smaller sizes")
        except Exception as e:  # a bug: say so, and how to report it
            _fail(ctx, f"internal error ({type(e).__name__}: {e}); please report it with the output of the same "
                       "command run as symrnn --debug ...")
        finally:
            sys.setrecursionlimit(limit)


def _fail(ctx, message: str) -> None:
    import traceback

    if (ctx.obj or {}).get("debug"):
        traceback.print_exc()
    click.echo(f"error: {terminal_text(message, markup=False)}", err=True)
    sys.exit(2)


def _sizes(model, pairs: tuple[str, ...], defaults: dict | None = None, default: int = 3,
           strict: bool = True) -> dict:
    """The model's sizes: ``defaults`` (else ``default``) and the ``NAME=INT`` pairs given; a pair naming
    a size the model lacks is an error, unless not ``strict`` (one --size for several models)."""
    defaults = DEFAULT_SIZES if defaults is None else defaults
    sizes = {str(s): defaults.get(str(s), default) for s in model.sizes}
    if not strict:
        pairs = tuple(p for p in pairs if p.partition("=")[0] in sizes)
    for pair in pairs:
        key, _, value = pair.partition("=")
        if not sizes:
            raise click.BadParameter(f"{pair!r}: {model.name} has no sizes to set (its dimensions are numbers)",
                                     param_hint="--size")
        if key not in sizes or not (value.isascii() and value.isdigit()) or int(value) < 1:
            raise click.BadParameter(f"{pair!r}: expected NAME=POSITIVE_INT with NAME one of "
                                     f"{', '.join(sizes)}", param_hint="--size")
        sizes[key] = int(value)
    return sizes


def _check_size_pairs(models: list, pairs: tuple[str, ...]) -> None:
    """Each --size of a command given several models: NAME=POSITIVE_INT, NAME a size of one of them."""
    known = {str(s) for m in models for s in m.sizes}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in known or not (value.isascii() and value.isdigit()) or int(value) < 1:
            raise click.BadParameter(f"{pair!r}: expected NAME=POSITIVE_INT with NAME a size of the models: "
                                     f"{', '.join(sorted(known)) or 'none'}", param_hint="--size")


def _given(ctx, param, value):
    """An option's value, refused when it is given empty (``--g ''``, ``--out ''``)."""
    if value is not None and not str(value).strip():
        raise click.BadParameter("an empty value; leave the option out, or give one")
    return value


g_option = click.option("--g", "g", default=None, metavar="FUNCTION", callback=_given,
                        help=f"Transfer function g: g (abstract), {', '.join(concrete())}.")
n_option = click.option("--n", "n", type=click.IntRange(min=1), required=True, help="Sequence length.")
i_option = click.option("--i", "i", type=click.IntRange(min=1), default=None,
                        help="Label position, for the models that have one (bidirectional, tagger).")
deltas_option = click.option(
    "--deltas/--no-deltas", default=True, show_default=True,
    help="Name each gate's error term in the recursion and closed form (delta^f_t = dL/d f-bar_t, the "
         "total derivative in its pre-activation), as textbooks write a gated cell's BPTT.")
truncate_option = click.option("--truncate", "truncate", type=click.IntRange(min=0, max=MAX_TRUNCATE), default=None,
                               metavar="K",
                               help="Truncated BPTT: only the paths that go back at most K steps; the recursion "
                                    "splits each total derivative into its parts [k], k = 0..K.")
layout_option = click.option("--layout", type=click.Choice(LAYOUTS), default="numerator",
                             show_default=True,
                             help="numerator: Jacobians and row gradients (question sheet); denominator: "
                                  "gradients shaped like the variable.")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="symrnn")
@click.option("--debug", is_flag=True, help="On an error, also print the Python traceback (for bug reports).")
@click.pass_context
def main(ctx, debug: bool) -> None:
    """Derive, draw and verify the gradients of recurrent networks.

    MODEL is a zoo model (symrnn zoo lists them) or a .rnn spec file.

    \b
    Example (question sheet, Question 1):
      symrnn paths elman --wrt 'W^{hx}' --n 3
      symrnn derive elman --wrt 'W^{hx}' --n 3 --out out/
      symrnn derive examples/specs/sheet/q1.rnn --wrt 'W^{hx}' --n 3 --form closed
      symrnn check elman --n 5
    """
    ctx.obj = {"debug": debug}


@main.command()
@click.argument("model")
@click.option("--wrt", required=True, help="Parameter, input or initial state, e.g. 'W^{hx}' or 'x^{(1)}'.")
@n_option
@i_option
@g_option
@click.option("--count", "count_only", is_flag=True, help="Print only the number of paths.")
@click.option("--all", "list_all", is_flag=True, help=f"List even more than {LIST_LIMIT} paths.")
@truncate_option
def paths(model: str, wrt: str, n: int, i: int | None, g: str | None, count_only: bool, list_all: bool,
          truncate: int | None) -> None:
    """List the directed paths from WRT to the loss, one per line, then their number.

    \b
    Example:
      symrnn paths elman --wrt 'W^{hx}' --n 3
    """
    from symrnn.graph import find_node, unroll
    from symrnn.paths import count_paths, iter_paths
    from symrnn.render.text import approximate, count_line, path_line

    G = unroll(zoo.resolve(model, g), n, i)
    source = find_node(G, wrt)
    count = count_paths(G, source, truncate=truncate)
    if not count_only:
        if count > LIST_LIMIT and not list_all:
            raise SymRNNError(f"there are {approximate(count)} paths; listing more than {LIST_LIMIT} needs --all "
                              f"(or use --count; the factored form, symrnn derive {model} --form closed, "
                              "avoids the paths altogether)")
        for path in iter_paths(G, source, truncate=truncate):
            click.echo(path_line(G, path))
    click.echo(count_line(count))
    if truncate is not None:
        steps = "step" if truncate == 1 else "steps"
        more = count_paths(G, source) - count
        click.echo(f"(truncated to the paths that go back at most {truncate} {steps}; "
                   f"{approximate(more)} more {'goes' if more == 1 else 'go'} back further)")


@main.command()
@click.argument("model")
@click.option("--wrt", required=True, help="Parameter, input or initial state, e.g. 'W^{hx}'.")
@n_option
@i_option
@g_option
@click.option("--form", type=click.Choice([*FORMS, "all"]), default="pathsum",
              show_default=True, help="The path sum (Q1b), the backward recursion, the closed form, or all three.")
@layout_option
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write DIR/derivation.tex, DIR/graph.dot and DIR/graph.svg.")
@click.option("--format", "formats", multiple=True, type=click.Choice(["svg", "png", "pdf"]),
              default=("svg",), show_default=True, help="Graph image formats (repeatable).")
@click.option("--edge-labels", is_flag=True, help="Label graph edges with D(a -> b).")
@click.option("--pdf", "make_pdf", is_flag=True, help="Also compile DIR/derivation.pdf with pdflatex.")
@click.option("--inline", is_flag=True, help="Print interims (pre-activations, gates) expanded, not by name.")
@truncate_option
@deltas_option
def derive(model: str, wrt: str, n: int, i: int | None, g: str | None, form: str, layout: str, out: Path | None,
           formats, edge_labels: bool, make_pdf: bool, inline: bool, truncate: int | None, deltas: bool) -> None:
    """Print d(loss)/d(WRT) in LaTeX: as a sum over paths of products of edge Jacobians, as the
    backward recursion of the total derivatives, or in closed form (a sum over t).

    \b
    Examples:
      symrnn derive elman --wrt 'W^{hx}' --n 3 --out out/ --pdf
      symrnn derive vanilla --wrt W_x --n 3 --form closed --layout denominator
      symrnn derive bidirectional --wrt 'W^{hx}' --n 4 --i 2 --form all
    """
    from symrnn.derive import pathsum
    from symrnn.derive.adjoints import closed_form, recursion
    from symrnn.derive.deltas import named_deltas
    from symrnn.render.document import compile_pdf, derivation_document, latex_text, standalone
    from symrnn.render.dot import graph_dot, render_graph
    from symrnn.render.latex import latex_forms, truncated_zero

    m = zoo.resolve(model, g)
    G, node = _graph(m, wrt, n, i, short=form in ("recursion", "closed") and out is None)
    factored = named_deltas(m) if deltas else m  # the gates' error terms named, as textbooks write them
    derived = []
    ps = None
    empty = None  # with --truncate, a path sum with no path: the truncated gradient is 0
    if form in ("pathsum", "all"):
        from symrnn.paths import count_paths

        if truncate is not None and count_paths(G, node, truncate=truncate) == 0 and count_paths(G, node):
            empty = truncated_zero(G, node, truncate)
        else:
            ps = pathsum(m, node, n, graph=G, layout=layout, inline=inline, truncate=truncate)
            derived.append(ps)
    if form == "recursion":
        derived.append(recursion(factored, node.name, layout, inline, truncate))
    if form in ("closed", "all"):
        fG = G if factored is m else _graph(factored, wrt, n, i, short=form == "closed" and out is None)[0]
        derived.append(closed_form(factored, node, n, i, layout, graph=fG, inline=inline, truncate=truncate))
    body = "\n\n".join(([empty] if empty else []) + latex_forms(derived))
    click.echo(body)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name in OUTPUTS:  # what an earlier run wrote must not pass for this run's
            (out / name).unlink(missing_ok=True)
        tex = out / "derivation.tex"
        where = f"$n = {n}$" + (f", $i = {i}$" if i is not None else "")
        document = derivation_document(m, derived) + ("\n\n" + empty if empty else "")
        tex.write_text(standalone(document, f"{latex_text(m.title)}: the gradient with respect to "
                                            f"${G.nodes[node]['latex']}$, {where}"))
        written = [tex]
        highlighted = ps.paths if ps is not None else _paths_to_draw(G, node)
        written += render_graph(graph_dot(G, highlighted, edge_labels), out / "graph", formats)
        if make_pdf:
            written.append(compile_pdf(tex))
        for path in written:
            click.echo(f"wrote {path}", err=True)


def _graph(m, wrt: str, n: int, i: int | None, short: bool):
    """The unrolled graph and the node of ``wrt``. With ``short`` (the recursion and the closed form,
    which do not depend on n) a parameter's are found on a short graph: n = 1000000 took 77 s."""
    from symrnn.graph import find_node, unroll

    length = max(2, i or 0)
    if short and length < n:
        try:
            small = unroll(m, length, i)
            node = find_node(small, wrt)
        except SymRNNError:  # the model reads a fixed time the short graph lacks (z_0 = h_3)
            small, node = None, None
        if node is not None and node.t is None:
            return small, node
    G = unroll(m, n, i)
    return G, find_node(G, wrt)


#: The files `symrnn derive --out DIR` writes; each run removes them first, so none is stale.
OUTPUTS = ("derivation.tex", "derivation.pdf", "graph.dot", "graph.svg", "graph.png", "graph.pdf")


def _paths_to_draw(G, node) -> tuple:
    """The paths to highlight in the graph, unless there are too many to colour."""
    from symrnn.derive.pathsum import MAX_TERMS
    from symrnn.paths import count_paths, iter_paths

    return tuple(iter_paths(G, node)) if count_paths(G, node) <= MAX_TERMS else ()


@main.command()
@click.argument("model")
@n_option
@i_option
@g_option
@click.option("--form", "forms", multiple=True, type=click.Choice(FORMS),
              help="Printed forms to check (repeatable; default all three).")
@layout_option
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the random point.")
@click.option("--size", "size_pairs", multiple=True, metavar="NAME=INT",
              help="A dimension, e.g. --size m=4 (repeatable; default m=4, d=3, K=5).")
@click.option("--wrt", "wrt", multiple=True, help="Check only these (repeatable; default every parameter).")
@truncate_option
@deltas_option
def check(model: str, n: int, i: int | None, g: str | None, forms, layout: str, seed: int, size_pairs,
          wrt, truncate: int | None, deltas: bool) -> None:
    """Evaluate each printed form of each gradient and compare it with finite differences.

    Prints one row per printed formula (the path sum and the closed form of each
    parameter, each total derivative of the recursion against finite differences in
    that variable); exits 0 only if all pass (relative error below 1e-6). An abstract
    g is checked as tanh unless --g says otherwise.

    \b
    Examples:
      symrnn check elman --n 5 --g sigmoid --size m=6 --size d=2
      symrnn check lstm_every --n 4 --form closed --layout denominator
    """
    from rich.console import Console
    from rich.table import Table

    from symrnn.numeric.gradcheck import RESOLUTION, TOLERANCE, check_model

    m = zoo.resolve(model, g)
    bindings = {}
    for f in m.abstract_functions:
        bindings[f] = "tanh"
        click.echo(f"{f} is abstract: checking with {f} = tanh (choose with --g)")
    sizes = _sizes(m, size_pairs)
    forms = forms or (("pathsum", "closed") if truncate is not None else ("pathsum", "closed", "recursion"))
    if truncate is not None and "recursion" in forms:
        raise SymRNNError("--truncate checks the path sum and the closed form against the truncated gradient; the "
                          "closed form's lines hold the truncated recursion: use --form pathsum or --form closed")
    from rich.progress import Progress

    from symrnn.numeric.forward import concrete_shape
    from symrnn.numeric.gradcheck import MAX_COORDINATES

    total = 0  # finite differences to take, for the progress bar
    for p in m.parameters if not wrt else []:
        r, c = concrete_shape(m, p.name, sizes)
        total += min(r * c, MAX_COORDINATES)
    with Progress(transient=True, disable=total < 500 or not sys.stderr.isatty()) as bar:
        task = bar.add_task("finite differences", total=total or None)
        rows = check_model(m, n, sizes, seed, list(wrt) or None, bindings, forms=forms, layout=layout, i=i,
                           progress=lambda: bar.advance(task), truncate=truncate, deltas=deltas)
    where = f"n = {n}" + (f", i = {i}" if i is not None else "")
    if truncate is not None:
        where += f", truncated to {truncate} step{'' if truncate == 1 else 's'} back"
    shown = [where, *(f"{k} = {v}" for k, v in sizes.items()), f"seed {seed}"]
    table = Table(title=terminal_text(f"{m.name}, ") + ", ".join(shown)
                  + f", {layout} layout: printed formulas against finite differences")
    for column in ("form", "gradient", "shape", "entries", "max abs. error", "max rel. error", "result"):
        table.add_column(column)
    loss = m.var(m.loss).latex
    sampled = []
    for r in rows:
        shape = " x ".join(str(s) for s in r.shape)
        name = r.name if r.form is Form.RECURSION else f"d {loss} / d {r.name}"
        entries = f"{r.checked} of {r.total}" if r.checked < r.total else f"{r.checked}"
        if r.checked < r.total and r.name not in sampled:
            sampled.append(r.name)
        table.add_row(str(r.form), terminal_text(name), shape, entries, f"{r.abs_error:.1e}", f"{r.error:.1e}",
                      r.result)
    Console(width=140).print(table)
    for note in dict.fromkeys(r.note for r in rows if r.note):
        click.echo(terminal_text(note, markup=False))
    for name in sampled:
        click.echo(f"{name} has more than {MAX_COORDINATES} entries: {MAX_COORDINATES} of them, drawn at random, "
                   "were compared")
    nonfinite = [r.name for r in rows if not r.finite]
    if nonfinite:
        click.echo("FAILED (NaN or Inf where a number belongs, in the printed formula or in the finite "
                   f"differences): {', '.join(nonfinite)}")
    failed = [r.name for r in rows if r.finite and not r.passed]
    if failed:
        click.echo(f"FAILED (relative error >= {TOLERANCE:g}): {', '.join(failed)}")
    if failed or nonfinite:
        sys.exit(1)
    what = "printed formula passes" if len(rows) == 1 else f"{len(rows)} printed formulas pass"
    vanished = sum(r.error >= TOLERANCE for r in rows)
    note = (f"; {vanished} of them below {RESOLUTION:g} on both sides: the gradient has vanished, finite "
            "differences cannot resolve it" if vanished else "")
    click.echo(f"{'the' if len(rows) == 1 else 'all'} {what} (relative error < {TOLERANCE:g}{note})")


def _scales(ctx, param, value: str) -> list[float]:
    try:
        scales = [float(v) for v in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected numbers separated by commas, e.g. 0.5,1,2") from None
    if not scales or any(not np.isfinite(v) or v <= 0 or v > 100 for v in scales):
        raise click.BadParameter(f"{value!r}: each scale is a spectral radius in (0, 100]")
    return scales


@main.command("flow")
@click.argument("models", nargs=-1, required=True, metavar="MODEL...")
@click.option("--n", "n", type=click.IntRange(min=1, max=100_000), required=True, help="Sequence length.")
@i_option
@g_option
@click.option("--scale", "scales", default="1", show_default=True, callback=_scales, metavar="S1,S2,...",
              help="Spectral radii of the recurrent weights, separated by commas.")
@click.option("--seeds", "draws", type=click.IntRange(min=1, max=1000), default=5, show_default=True,
              help="Random draws (parameters and inputs) per model and scale.")
@click.option("--state", "state", default=None, callback=_given,
              help="The state to measure (default: the one the output reads at the last step).")
@click.option("--wrt", "wrt", default=None, callback=_given, metavar="INPUT|PARAM",
              help="An input sequence (x, x_1): plot ||dL/dx_t||, each input's impact on the loss; or a parameter "
                   "of the recurrence (W^{hx}): its gradient's term at each step; instead of ||dL/dh_t||.")
@click.option("--size", "size_pairs", multiple=True, metavar="NAME=INT",
              help="A dimension, e.g. --size m=16 (repeatable; default 8 for each).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the draws.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None, callback=_given,
              help="Write flow.png, flow.svg, flow.csv and flow.json here.")
def flow_command(models, n: int, i: int | None, g: str | None, scales: list[float], draws: int, state: str | None,
                 wrt: str | None, size_pairs, seed: int, out: Path | None) -> None:
    """Measure how the gradient vanishes or explodes going back in time.

    For each model, at each step t: the norm of the total derivative of the loss in the
    state, ||dL/dh_t|| (in the input, ||dL/dx_t||, with --wrt x), and the spectral norm of
    the product of the recurrence Jacobians, ||dh_n/dh_t||_2, computed with the compiled
    gradient in float64 over random draws with the recurrent weights at each spectral
    radius of --scale. Prints the median at the
    first step and the median factor per step; where theory bounds the product
    ((max|f'| ||W||_2)^(n-t) for h_t = f(W h_{t-1} + ...)), the bound and whether every
    draw respects it. Each model's numbers are checked against finite differences of the
    forward pass at n = 4 (exit code 1 if they differ). An abstract g is tanh unless --g
    says otherwise.

    \b
    Examples:
      symrnn flow plain residual lstm gru_torch --n 200 --out flow/
      symrnn flow scalar --n 50 --scale 0.9,1,1.1 --out flow/
    """
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from symrnn.flow import finite_difference_check, measure

    loaded = []
    for name in models:
        m = zoo.resolve(name, g)
        bindings = {f: "tanh" for f in m.abstract_functions}
        for f in bindings:
            click.echo(f"{m.name}: {f} is abstract: measuring with {f} = tanh (choose with --g)")
        if m.positional and i is None:
            raise SymRNNError(f"model {m.name!r} reads the label position i: give --i")
        loaded.append((m, bindings, i if m.positional else None))
    _check_size_pairs([m for m, *_ in loaded], size_pairs)
    loaded = [(m, bindings, _sizes(m, size_pairs, {}, 8, strict=False), mi) for m, bindings, mi in loaded]
    curves, checks = [], []
    with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("draws", total=len(loaded) * len(scales) * draws)
        for m, bindings, sizes, mi in loaded:
            curves += measure(m, n, scales, draws, sizes, bindings, state, seed, mi,
                              progress=lambda: bar.advance(task), wrt=wrt)
            small = min(n, 4) if mi is None else max(mi, min(n, 4))
            error = finite_difference_check(m, small, scales[0], sizes, bindings, state, seed, mi, wrt)
            checks.append((m.name, small, error))
    table = Table(title=f"gradient flow over n = {n} steps: median of {draws} draw{'s' if draws > 1 else ''}")
    columns = ("model", "scale", "first step", f"||dL/d{terminal_text(wrt)}||" if wrt else "||dL/dh||",
               "||dh_n/dh||_2", "factor per step", "bound at first step", "within bound")
    for column in columns:
        table.add_column(column)
    for c in curves:
        loss_grad, jac = np.median(c.loss_grad, axis=0), np.median(c.jacobian, axis=0)
        span = len(c.steps) - 1
        factor = (jac[0] / jac[-1]) ** (1 / span) if span and 0 < jac[0] < np.inf else float("nan")
        bound = "-" if c.bound is None else f"{np.median(c.bound[:, 0]):.2e}"
        within = "-" if c.bound_respected is None else ("yes" if c.bound_respected else "NO")
        first = next((k for k, v in enumerate(loss_grad) if np.isfinite(v)), 0)  # x_0 and W at t = 0 do not exist
        table.add_row(terminal_text(c.model), f"{c.scale:g}", str(int(c.steps[first])), f"{loss_grad[first]:.2e}",
                      f"{jac[0]:.2e}", f"{factor:.3g}", bound, within)
    Console(width=140).print(table)
    for model_name in dict.fromkeys(c.model for c in curves):
        c = next(c for c in curves if c.model == model_name)
        if c.bound_latex:
            click.echo(terminal_text(f"{model_name}: \\|\\partial {c.last_latex} / \\partial {c.state_latex}\\|_2 "
                                     f"\\le {c.bound_latex}", markup=False))
        zeros = c.zero_steps()
        if zeros:
            click.echo(terminal_text(f"{model_name}: dL/d{c.state_latex} is 0 at {len(zeros)} step"
                                     f"{'s' if len(zeros) > 1 else ''} (t = {zeros[0]}..{zeros[-1]}): the loss does "
                                     "not read them; they are left out of the log-scale figure", markup=False))
        overflowed = sum(k.overflowed for k in curves if k.model == model_name)
        if overflowed:
            click.echo(f"{model_name}: {overflowed} norms are beyond float64's range (about 1.8e308) and show as inf; "
                       "they are left out of the figure (choose a smaller scale or a shorter n)")
    failed = []
    for name, small, error in checks:
        result = "pass" if error < 1e-6 else "FAIL"
        click.echo(f"{name}: the norms at n = {small} against finite differences of the forward pass: max relative "
                   f"error {error:.1e}, {result}")
        if error >= 1e-6:
            failed.append(name)
    if out is not None:
        from symrnn.flow.plot import write

        for path in write(curves, out):
            click.echo(f"wrote {path}")
    if failed or any(c.bound_respected is False for c in curves):
        sys.exit(1)


@main.command("report")
@click.argument("models", nargs=-1, required=True, metavar="MODEL...")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True, callback=_given,
              help="Write report.html, report.tex, report.pdf and the figures here.")
@click.option("--n", "n", type=click.IntRange(min=1, max=50), default=3, show_default=True,
              help="Sequence length of the derivations, graphs and checks.")
@i_option
@g_option
@click.option("--form", "forms", multiple=True, type=click.Choice(FORMS),
              help="Forms of each gradient to show (repeatable; default the closed form, with its recursion).")
@layout_option
@click.option("--title", default="Solution sheet", show_default=True, callback=_given, help="The sheet's title.")
@click.option("--flow-n", "flow_n", type=click.IntRange(min=0, max=10_000), default=50, show_default=True,
              help="Steps of the gradient-flow figure (0 leaves it out).")
@click.option("--size", "size_pairs", multiple=True, metavar="NAME=INT",
              help="A dimension for the check and the flow (repeatable).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the check and flow.")
@click.option("--pdf/--no-pdf", "make_pdf", default=True, show_default=True, help="Compile report.pdf with pdflatex.")
def report_command(models, out: Path, n: int, i: int | None, g: str | None, forms, layout: str, title: str,
                   flow_n: int, size_pairs, seed: int, make_pdf: bool) -> None:
    """Write a solution sheet: for each model its declaration, its graph, every parameter's
    gradient in the forms asked, the numeric check of each printed formula, and the
    gradient-flow figure; as one HTML page that works offline (the mathematics as MathML,
    which browsers render with no script) and as a PDF (pdflatex), each with a table of
    contents. Exits 1 if a printed formula fails its check. An abstract g is tanh unless
    --g says otherwise.

    \b
    Examples:
      symrnn report elman lstm --out sheet/ --title 'Week 3: BPTT'
      symrnn report examples/specs/sheet/q1.rnn --out sheet/ --form pathsum --form closed --layout numerator
    """
    from rich.progress import Progress

    from symrnn.errors import RenderError
    from symrnn.report.sheet import build, write

    loaded = [zoo.resolve(name, g) for name in models]
    _check_size_pairs(loaded, size_pairs)
    sections = []
    with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("report", total=None)
        for m in loaded:
            if m.positional and i is None:
                raise SymRNNError(f"model {m.name!r} reads the label position i: give --i")
            bindings = {f: "tanh" for f in m.abstract_functions}
            sizes = _sizes(m, tuple(p for p in size_pairs if p.partition("=")[0] in {str(s) for s in m.sizes}))
            sections.append(build(m, n, forms or ("closed",), layout, bindings, sizes, i if m.positional else None,
                                  flow_n, seed, progress=lambda what: bar.update(task, description=what)))
    try:
        written = write(sections, out, title, pdf=make_pdf)
    except RenderError as e:
        raise SymRNNError(f"{e} (report.html is written; --no-pdf leaves the PDF out)") from None
    for path in written:
        click.echo(f"wrote {path}")
    failed = [f"{s.model.name}: {r.name}" for s in sections for r in s.checks if not r.passed]
    if failed:
        click.echo(terminal_text(f"FAILED checks: {', '.join(failed)}", markup=False))
        sys.exit(1)
    click.echo(f"every printed formula passes its check ({sum(len(s.checks) for s in sections)} formulas)")


@main.command("grade")
@click.argument("answer", type=click.Path(exists=True, path_type=Path))
@click.option("--model", "model", required=True, help="The model the answer is about (a zoo name or a .rnn file).")
@click.option("--n", "n", type=click.IntRange(min=1, max=50), default=3, show_default=True,
              help="The question's sequence length (claims at a generic t are checked at n and n + 1 too).")
@i_option
@g_option
@click.option("--layout", type=click.Choice(["auto", "numerator", "denominator"]), default="auto", show_default=True,
              help="The answer's layout; auto finds each claim's.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--values", "values_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The question's own numbers (a JSON values file, as symrnn eval reads): claims that are numbers "
                   "(h_2 = 3) are checked at them.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None, callback=_given,
              help="For a folder of answers: write grades.csv and grades.html here.")
@click.option("--jobs", type=click.IntRange(min=1, max=256), default=None,
              help="For a folder: processes to grade on (default one per core).")
@click.option("--scheduler", default=None, callback=_given, metavar="ADDRESS",
              help="For a folder: grade on the Dask cluster at ADDRESS (dask.distributed), e.g. tcp://host:8786.")
def grade_command(answer: Path, model: str, n: int, i: int | None, g: str | None, layout: str, fmt: str,
                  values_path: Path | None, out: Path | None, jobs: int | None, scheduler: str | None) -> None:
    """Check a hand-written derivation claim by claim: which lines are right, which wrong, and why.

    ANSWER is Markdown or LaTeX: every equation in display math ($$...$$, \\[...\\], align,
    equation) or in inline $...$ is a claim, each side checked numerically against the true
    gradients of MODEL at random points and, for a claim at a generic t, at every step and two
    lengths. The answer's own shorthands (\\delta_t = ..., "where Z = ...") are read and used.
    A wrong claim is diagnosed where a simple reason fits (transposed, wrong sign, off by a
    factor, one step's term of a sum over t, right at the last step only). Exit code 0 only if
    every claim is correct.

    ANSWER may be a folder: every .md, .tex and .txt answer in it is graded, in parallel on this
    machine's cores (or on a Dask cluster with --scheduler), into one table, one row per
    student; --out writes grades.csv and grades.html, one row per student and claim.

    \b
    Examples:
      symrnn grade my_answer.md --model vanilla
      symrnn grade answer.tex --model examples/specs/lstm.rnn --format json
      symrnn grade answers/ --model vanilla --out grades/
    """
    from rich.console import Console
    from rich.table import Table

    from symrnn.grade.check import CORRECT, DEFINITION, grade
    from symrnn.grade.classroom import read_answer

    m = zoo.resolve(model, g)
    if m.positional and i is None:
        raise SymRNNError(f"model {m.name!r} reads the label position i: give --i")
    given = None
    if values_path is not None:
        from symrnn.numeric.values import read_values

        given = read_values(m, values_path)  # read here too: a bad file is one error, not one per student
    if answer.is_dir():
        _grade_class(answer, model, m, n, i, g, layout, fmt, out, jobs, scheduler, values_path)
        return
    if out is not None or jobs is not None or scheduler is not None:
        raise SymRNNError("--out, --jobs and --scheduler grade a folder of answers; ANSWER is one file")
    try:
        source = read_answer(answer)
    except SymRNNError as e:
        raise SymRNNError(f"{answer}: {e}") from None
    verdicts = grade(source, m, n, i if m.positional else None, layout=layout, values=given)
    graded = [v for v in verdicts if v.verdict != DEFINITION]
    if fmt == "json":
        click.echo(json.dumps([v.as_dict() for v in verdicts], indent=1))
    else:
        table = Table(title=terminal_text(f"{answer.name} against {m.name}, n = {n}"), show_lines=False)
        for column in ("line", "claim", "verdict", "diagnosis", "rel. error"):
            table.add_column(column, overflow="fold")
        for v in verdicts:
            colour = {"correct": "green", "wrong": "red", "not understood": "yellow"}.get(v.verdict, "")
            verdict = v.verdict + (f" ({v.layout})" if v.layout and v.verdict == CORRECT else "")
            diagnosis = v.diagnosis + (f"; symrnn: {v.correct}" if v.correct else "")
            table.add_row(f"{v.line}:{v.column}", terminal_text(v.claim[:160]),
                          f"[{colour}]{verdict}[/]" if colour else verdict, terminal_text(diagnosis),
                          "" if v.error is None else "< 1e-12" if v.shown_error == 0 else f"{v.error:.1e}")
        Console(width=160).print(table)
        counts = {k: sum(v.verdict == k for v in graded) for k in ("correct", "wrong", "not understood")}
        click.echo(", ".join(f"{c} {k}" for k, c in counts.items()) + f" of {len(graded)} claims")
    if not graded or any(v.verdict != CORRECT for v in graded):
        sys.exit(1)


def _grade_class(folder: Path, reference: str, m, n: int, i: int | None, g: str | None, layout: str, fmt: str,
                 out: Path | None, jobs: int | None, scheduler: str | None, values: Path | None = None) -> None:
    """``symrnn grade FOLDER``: every answer, one row per student; exit 0 only if every claim is correct."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from symrnn.grade.classroom import Task, answers, grade_class, write_csv, write_html

    paths = answers(folder)
    reference = str(Path(reference).resolve()) if zoo.is_spec(reference) else reference
    tasks = [Task(str(p), reference, g, n, i if m.positional else None, layout,
                  str(values.resolve()) if values is not None else None) for p in paths]
    with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task(f"grading {len(tasks)} answers", total=len(tasks))
        results = grade_class(tasks, jobs, scheduler, progress=lambda: bar.advance(task))
    if fmt == "json":
        click.echo(json.dumps([{"student": Path(p).stem, "error": e, "claims": v} for p, v, e in results], indent=1))
    else:
        table = Table(title=terminal_text(f"{folder.name}: {len(results)} answers against {m.name}, n = {n}"))
        for column in ("student", "correct", "wrong", "not understood", "claims", "first wrong line"):
            table.add_column(column)
        for path, verdicts, error in results:
            graded = [v for v in verdicts if v["verdict"] != "definition"]
            counts = [sum(v["verdict"] == k for v in graded) for k in ("correct", "wrong", "not understood")]
            wrong = next((f"{v['line']}: {v['diagnosis']}" for v in graded if v["verdict"] == "wrong"), "")
            table.add_row(terminal_text(Path(path).stem), *(str(c) for c in counts), str(len(graded)) if not error
                          else f"not read: {error}", terminal_text(wrong[:70]))
        Console(width=140).print(table)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for written in (write_csv(results, out / "grades.csv"),
                        write_html(results, out / "grades.html", f"{folder.name}: graded against {m.name}")):
            click.echo(f"wrote {written}", err=fmt == "json")
    if any(e or not v or any(x["verdict"] not in ("correct", "definition") for x in v) for _, v, e in results):
        sys.exit(1)


@main.command("sensitivity")
@click.argument("model")
@click.option("--input", "input_name", required=True, help="An input such as 'x^{(1)}'.")
@n_option
@i_option
@g_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def sensitivity_command(model: str, input_name: str, n: int, i: int | None, g: str | None, fmt: str) -> None:
    """Say which edge Jacobians vary when INPUT varies, and why (question sheet, Q1c).

    \b
    Example:
      symrnn sensitivity elman --input 'x^{(1)}' --n 3 --format json
    """
    from symrnn.derive.sensitivity import sensitivity
    from symrnn.render.text import sensitivity_line, sensitivity_record

    rows = sensitivity(zoo.resolve(model, g), input_name, n, i=i)
    if fmt == "json":
        click.echo(json.dumps([sensitivity_record(r) for r in rows], indent=2))
        return
    for r in rows:
        click.echo(sensitivity_line(r))
    click.echo(f"{sum(r.varies for r in rows)} of {len(rows)} edge Jacobians vary with {input_name}")


@main.command("eval")
@click.argument("model")
@click.option("--values", "values_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="JSON file of the numbers: parameters, inputs, labels (and n, i).")
@click.option("--exact", is_flag=True, help="Compute in exact rationals (models of sums and products only).")
@click.option("--backend", type=click.Choice(["numpy", "jax", "torch", "cupy"]), default="numpy", show_default=True,
              help="Array backend of the compiled gradient (float64).")
@g_option
def eval_command(model: str, values_path: Path, exact: bool, backend: str, g: str | None) -> None:
    """Evaluate MODEL at given numbers: every forward value, the loss and the gradients.

    With --exact the numbers are rationals (0.1 is 1/10) and so is everything computed,
    for models whose functions are rational (the scalar linear RNN).

    \b
    Examples (the scalar linear RNN of examples/scalar):
      symrnn eval scalar --values examples/scalar/values.json --exact
      symrnn eval scalar --values examples/scalar/values.json --backend torch
    """
    from symrnn.numeric.backends import to_numpy
    from symrnn.numeric.engine import CompiledGradient
    from symrnn.numeric.exact import ExactArrays
    from symrnn.numeric.values import read_values
    from symrnn.render.text import number_text

    m = zoo.resolve(model, g)
    data = read_values(m, values_path, exact)
    bindings = {f: "tanh" for f in m.abstract_functions} if not exact else {}
    engine = CompiledGradient(m, bindings, xp=ExactArrays() if exact else None, backend=backend)
    with np.errstate(all="ignore"):  # an overflow is said once, below, not as a Python warning
        out = engine(data["params"], data["inputs"], data["labels"], data["n"], data["i"], keep_values=True)
    G = engine.last_graph
    click.echo(f"{m.name}, {'exact' if exact else 'float64'}:")
    for node in G:
        if G.nodes[node]["kind"] in (Kind.STATE, Kind.DEFINED):
            value = out.values[node] if exact else to_numpy(out.values[node])
            click.echo(f"  {G.nodes[node]['latex']} = {number_text(value[:, 0:1])}")
    loss = m.var(m.loss).latex
    finite = True
    for p in m.parameters:
        value = out.gradients[p.name] if exact else to_numpy(out.gradients[p.name])
        finite = finite and (exact or bool(np.isfinite(np.asarray(value, float)).all()))
        click.echo(f"  d{loss}/d{p.latex} = {number_text(value)}")
    if not finite:
        click.echo("note: some numbers overflowed float64 (inf or nan); give smaller values, or --exact for a model "
                   "of sums and products")


@main.command("codegen")
@click.argument("model")
@click.option("--backend", type=click.Choice(["numpy", "jax", "torch", "cupy"]), default="numpy", show_default=True,
              help="The array library the module imports.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the module to this file (default: print it).")
@g_option
@truncate_option
def codegen_command(model: str, backend: str, output: Path | None, g: str | None, truncate: int | None) -> None:
    """Write a standalone Python module computing MODEL's loss and gradients for a batch.

    The module runs the factored form with plain loops over t, each line commented with
    the LaTeX equation it computes; it imports only the backend library. An abstract g
    is written as tanh unless --g says otherwise.

    \b
    Examples:
      symrnn codegen lstm -o lstm_gradients.py
      symrnn codegen gru_torch --backend torch -o gru_gradients.py
      symrnn codegen elman --truncate 5 -o elman_tbptt.py
    """
    from symrnn.codegen.module import codegen

    m = zoo.resolve(model, g)
    bindings = {f: "tanh" for f in m.abstract_functions}
    source = codegen(m, backend, bindings, source=model, truncate=truncate)
    if output is None:
        click.echo(source, nl=False)
    else:
        output.write_text(source)
        click.echo(f"wrote {output}", err=True)


SPECS = Path(__file__).resolve().parents[1] / "examples" / "specs"


@main.command("zoo")
def zoo_command() -> None:
    """List the ready models, what they are, and their .rnn spec files.

    \b
    Example:
      symrnn zoo
    """
    from rich.console import Console
    from rich.table import Table

    table = Table(title="symrnn zoo: pass a name, or a spec file, as MODEL")
    for column in ("model", "what it is", "spec file"):
        table.add_column(column)
    for name, (_, description) in zoo.MODELS.items():
        spec = SPECS / f"{name}.rnn"
        where = f"examples/specs/{name}.rnn" if spec.exists() else f"(symrnn show {name})"
        table.add_row(name, description, where)
    Console(width=140).print(table)


@main.command()
@click.argument("model")
@g_option
def show(model: str, g: str | None) -> None:
    """Print MODEL's declaration in the .rnn text format (it parses back to the same model).

    \b
    Examples:
      symrnn show elman
      symrnn show lstm > my_lstm.rnn
    """
    from symrnn.render.rnn_writer import spec_text

    click.echo(spec_text(zoo.resolve(model, g)), nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
