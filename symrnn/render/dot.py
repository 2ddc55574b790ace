"""The unrolled graph drawn with Graphviz, the paths of a derivation highlighted.

Time runs left to right (one column per step: the input and the states of step
``t``), parameters stand in the first column, the loss chain at the right.
Kinds of node are told apart by shape and colour; each highlighted path has its
own colour, listed in a legend. The DOT text needs no Graphviz program; SVG,
PNG and PDF are made by ``dot``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import graphviz
import networkx as nx

from symrnn.errors import RenderError
from symrnn.model.declared import Kind
from symrnn.render.labels import latex_to_html

#: Colour-blind-safe colours of highlighted paths (Okabe-Ito, then Tol).
PATH_COLOURS = ["#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                "#882255", "#117733", "#332288", "#AA4499", "#44AA99", "#999933"]

#: Node style per kind.
STYLES = {
    Kind.PARAMETER: {"shape": "box", "style": "filled,rounded", "fillcolor": "#FDE8C8"},
    Kind.INPUT: {"shape": "box", "style": "filled", "fillcolor": "#DCEBFA"},
    Kind.STATE: {"shape": "ellipse", "style": "filled", "fillcolor": "#DFF2DF"},
    Kind.DEFINED: {"shape": "ellipse", "style": "filled", "fillcolor": "#EEEEEE"},
}
LOSS_STYLE = {"shape": "doublecircle", "style": "filled", "fillcolor": "#F7D4D4"}

FORMATS = ("svg", "png", "pdf")
#: Seconds Graphviz's dot may run on one image, and the largest DOT source it is given.
DOT_TIMEOUT = 60
MAX_DRAWN_BYTES = 1_000_000


def _id(node) -> str:
    return str(node)


def graph_dot(G: nx.DiGraph, paths=(), edge_labels: bool = False, max_paths: int = len(PATH_COLOURS),
              title: str | None = None) -> str:
    """DOT source of the unrolled graph ``G`` with ``paths`` highlighted.

    Parameters
    ----------
    G : networkx.DiGraph
        From :func:`symrnn.graph.unroll`.
    paths : sequence of paths
        Paths to highlight, one colour each (the first ``max_paths``).
    edge_labels : bool
        Label each edge with its Jacobian's name ``D(a -> b)``.
    max_paths : int
        The most paths highlighted; the legend says how many more there are.
    title : str, optional
        The drawing's title; the model's title and ``n`` by default.

    Returns
    -------
    str
        The DOT source: time left to right, parameters in the first column, each highlighted
        path in its own colour with a legend. No Graphviz program is needed to make it.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> from symrnn.graph import unroll
    >>> "rankdir=LR" in graph_dot(unroll(elman(), 2))
    True
    >>> source = graph_dot(unroll(elman(), 2), edge_labels=True, title="Q1")
    >>> source.splitlines()[0], source.count(" -> "), source.count("label=<D(")
    ('digraph unrolled {', 15, 15)
    """
    paths = list(paths)
    shown, hidden = paths[:max_paths], len(paths) - max_paths
    loss = G.graph["loss"]
    dot = graphviz.Digraph(name="unrolled", graph_attr={
        "rankdir": "LR", "newrank": "true", "nodesep": "0.35", "ranksep": "0.6", "fontname": "Helvetica",
        "label": title or f"{G.graph['model'].title}, n = {G.graph['n']}", "labelloc": "t",
    }, node_attr={"fontname": "Helvetica"}, edge_attr={"color": "#9A9A9A", "arrowsize": "0.7"})
    columns: dict = {}
    for node, data in sorted(G.nodes(data=True), key=lambda nd: nd[1]["order"]):
        style = LOSS_STYLE if node == loss else STYLES[data["kind"]]
        dot.node(_id(node), label=f"<{latex_to_html(data['latex'])}>", **style)
        column = "params" if data["kind"] is Kind.PARAMETER else node.t
        if column is not None:
            columns.setdefault(column, []).append(node)
    for column, nodes in columns.items():
        with dot.subgraph() as same:
            same.attr(rank="min" if column == "params" else "same")
            for node in nodes:
                same.node(_id(node))
    on_path: dict = {}
    for k, path in enumerate(shown):
        for e in zip(path, path[1:], strict=False):
            on_path.setdefault(e, []).append(PATH_COLOURS[k % len(PATH_COLOURS)])
    for u, v in G.edges:
        attrs = {}
        if (u, v) in on_path:
            attrs = {"color": ":".join(on_path[(u, v)]), "penwidth": "2.4"}
        if edge_labels:
            d = f"D({G.nodes[u]['latex']} \\rightarrow {G.nodes[v]['latex']})"
            attrs["label"] = f"<{latex_to_html(d)}>"
            attrs["fontsize"] = "9"
        dot.edge(_id(u), _id(v), **attrs)
    if shown:
        rows = []
        for k, path in enumerate(shown):
            text = " → ".join(latex_to_html(G.nodes[v]["latex"]) for v in path)
            colour = PATH_COLOURS[k % len(PATH_COLOURS)]
            rows.append(f'<TR><TD><FONT COLOR="{colour}">━━</FONT></TD>'
                        f'<TD ALIGN="LEFT">path {k + 1}: {text}</TD></TR>')
        if hidden > 0:
            rows.append(f'<TR><TD></TD><TD ALIGN="LEFT">… and {hidden} more paths, not highlighted</TD></TR>')
        with dot.subgraph(name="cluster_legend") as legend:
            legend.attr(label="paths", style="rounded", color="#BBBBBB")
            legend.node("legend", shape="plaintext",
                        label='<<TABLE BORDER="0" CELLSPACING="2">' + "".join(rows) + "</TABLE>>")
    return dot.source


def render_graph(dot_source: str, stem: str | Path, formats=("svg",)) -> list[Path]:
    """Write ``stem.dot`` and, with Graphviz's ``dot`` program, ``stem.<format>`` for each format.

    Parameters
    ----------
    dot_source : str
        DOT source, from :func:`graph_dot`.
    stem : str or pathlib.Path
        The path of the files without their suffix; missing folders are made.
    formats : sequence of str
        Among ``"svg"``, ``"png"`` and ``"pdf"``; none writes only the DOT file.

    Returns
    -------
    list of pathlib.Path
        The files written, the DOT file first.

    Raises
    ------
    RenderError
        When a format is unknown, or ``dot`` is needed but not installed (the DOT file is then
        written all the same).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from symrnn import unroll, zoo
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = render_graph(graph_dot(unroll(zoo.elman(), 2)), Path(folder) / "out" / "graph", formats=())
    ...     print([p.name for p in written], written[0].read_text().startswith("digraph"))
    ['graph.dot'] True
    >>> render_graph("digraph {}", Path(tempfile.gettempdir()) / "symrnn-doctest", formats=("gif",))
    Traceback (most recent call last):
    ...
    symrnn.errors.RenderError: unknown graph format 'gif'; choose from svg, png, pdf
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = [stem.with_suffix(".dot")]
    written[0].write_text(dot_source)
    for fmt in formats:
        if fmt not in FORMATS:
            raise RenderError(f"unknown graph format {fmt!r}; choose from {', '.join(FORMATS)}")
        if shutil.which("dot") is None:
            raise RenderError(
                f"the Graphviz 'dot' program is needed to write {fmt.upper()} but is not installed "
                "(Debian: apt-get install graphviz); the DOT file was written"
            )
        data = run_dot(dot_source, fmt)
        out = stem.with_suffix("." + fmt)
        out.write_bytes(data)
        written.append(out)
    return written


def run_dot(dot_source: str, fmt: str) -> bytes:
    """The image of ``dot_source`` in format ``fmt`` from Graphviz's ``dot``, within :data:`DOT_TIMEOUT`
    seconds and for a source of at most :data:`MAX_DRAWN_BYTES`; RenderError otherwise."""
    if len(dot_source) > MAX_DRAWN_BYTES:
        raise RenderError(f"the graph's DOT source is {len(dot_source)} bytes, above the {MAX_DRAWN_BYTES} that "
                          f"are drawn as {fmt.upper()} (Graphviz's layout grows much faster than the graph); "
                          "choose a smaller n; the DOT file was written")
    try:
        run = subprocess.run(["dot", f"-T{fmt}"], input=dot_source.encode(), capture_output=True, timeout=DOT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RenderError(f"Graphviz's dot ran more than {DOT_TIMEOUT} s laying out the graph and was stopped; "
                          "choose a smaller n; the DOT file was written") from None
    if run.returncode != 0:
        raise RenderError(f"Graphviz's dot failed: {run.stderr.decode(errors='replace').strip()[:300]}")
    return run.stdout


class Drawing:
    """A graph drawing: DOT source that renders itself as SVG in Jupyter (``_repr_svg_``).

    Made by :func:`draw`. :meth:`svg` draws it with Graphviz's ``dot`` program, :meth:`save`
    writes it to files.

    Parameters
    ----------
    source : str
        The DOT source (:func:`graph_dot`).

    Attributes
    ----------
    source : str
        The DOT source, as given.

    Examples
    --------
    >>> from symrnn import zoo, pathsum
    >>> drawing = draw(pathsum(zoo.elman(), "W^{hx}", 3))
    >>> drawing.source.startswith("digraph")
    True
    >>> Drawing("digraph { a -> b }").source
    'digraph { a -> b }'
    """

    def __init__(self, source: str):
        self.source = source

    def svg(self) -> str:
        """The SVG text, drawn by Graphviz's ``dot`` (RenderError when it is not installed)."""
        if shutil.which("dot") is None:
            raise RenderError("the Graphviz 'dot' program is needed to draw the graph (Debian: apt-get install "
                              "graphviz)")
        return run_dot(self.source, "svg").decode("utf-8")

    def _repr_svg_(self) -> str:
        return self.svg()

    def save(self, stem: str | Path, formats=("svg",)) -> list[Path]:
        """Write ``stem.dot`` and ``stem.<format>`` files (see :func:`render_graph`)."""
        return render_graph(self.source, stem, formats)


def draw(obj, edge_labels: bool = False) -> Drawing:
    """Draw a derivation's graph (a PathSum: its paths highlighted) or an unrolled graph.

    In Jupyter the result displays as SVG.

    Parameters
    ----------
    obj : PathSum or networkx.DiGraph
        A path sum (:func:`symrnn.derive.pathsum`), whose paths are highlighted one colour
        each, or an unrolled graph (:func:`symrnn.graph.unroll`), drawn plain.
    edge_labels : bool
        Label each edge with its Jacobian's name ``D(a -> b)``.

    Returns
    -------
    Drawing
        The DOT source, which renders itself as SVG in Jupyter.

    Examples
    --------
    >>> from symrnn import pathsum, unroll, zoo
    >>> drawing = draw(pathsum(zoo.elman(), "W^{hx}", 3))
    >>> drawing.source.count("path "), drawing.source.count(" -> ")
    (3, 20)
    >>> "path 1" in draw(unroll(zoo.elman(), 3)).source
    False
    """
    if isinstance(obj, nx.DiGraph):
        return Drawing(graph_dot(obj, (), edge_labels))
    return Drawing(graph_dot(obj.graph, obj.paths, edge_labels))
