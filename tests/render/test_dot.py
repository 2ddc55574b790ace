"""The Graphviz drawing: layout, node kinds, highlighted paths with a legend."""

import re

import pytest

from symrnn.errors import RenderError
from symrnn.graph import Node, unroll
from symrnn.paths import iter_paths
from symrnn.render.dot import PATH_COLOURS, STYLES, graph_dot, render_graph
from symrnn.render.labels import latex_to_html
from symrnn.zoo import elman
from tests.conftest import require_program


def _q1():
    G = unroll(elman(), 3)
    return G, list(iter_paths(G, Node("W_hx")))


def test_labels():
    assert latex_to_html("W^{hx}") == "W<SUP>hx</SUP>"
    assert latex_to_html("h^{(3)}") == "h<SUP>(3)</SUP>"
    assert latex_to_html(r"\gamma") == "γ"
    assert latex_to_html(r"\eta^{(2,t)}") == "η<SUP>(2,t)</SUP>"
    assert latex_to_html(r"\tilde{c}_{t}") == "c\u0303<SUB>t</SUB>"
    assert latex_to_html("a<b&c") == "a&lt;b&amp;c"


def test_layout_and_node_kinds():
    G, paths = _q1()
    dot = graph_dot(G, paths)
    assert "rankdir=LR" in dot
    assert re.search(r'"x\[2\]" \[label=<x<SUP>\(2\)</SUP>> fillcolor="#DCEBFA" shape=box', dot)
    assert re.search(r'W_hx \[label=<W<SUP>hx</SUP>> fillcolor="#FDE8C8" shape=box style="filled,rounded"', dot)
    assert re.search(r'o \[label=<o> fillcolor="#F7D4D4" shape=doublecircle', dot)
    assert STYLES["state"]["fillcolor"] in dot
    # one column per time step: x^{(t)} and h^{(t)} share a rank
    assert re.search(r'rank=same\s+"x\[1\]"\s+"h\[1\]"', dot)
    assert re.search(r"rank=min\s+W_hx\s+W_hh\s+b_h\s+h0\s+V\s+gamma", dot)


def test_each_path_has_its_colour_and_a_legend_line():
    G, paths = _q1()
    dot = graph_dot(G, paths)
    c1, c2, c3 = PATH_COLOURS[:3]
    assert f'W_hx -> "h[3]" [color="{c1}" penwidth=2.4]' in dot
    assert f'W_hx -> "h[2]" [color="{c2}" penwidth=2.4]' in dot
    assert f'W_hx -> "h[1]" [color="{c3}" penwidth=2.4]' in dot
    assert f'"h[2]" -> "h[3]" [color="{c2}:{c3}" penwidth=2.4]' in dot
    assert f'l -> q [color="{c1}:{c2}:{c3}" penwidth=2.4]' in dot
    assert 'W_hh -> "h[1]"\n' in dot.replace('W_hh -> "h[1]" ', 'W_hh -> "h[1]"\n')
    assert dot.count("penwidth=2.4") == 3 + 1 + 1 + 3  # W->h (3), h1->h2, h2->h3, h3->l, l->q, q->o
    for k, colour in enumerate((c1, c2, c3), start=1):
        assert f'<FONT COLOR="{colour}">' in dot and f"path {k}: W<SUP>hx</SUP> → " in dot


def test_edge_labels_and_overflow():
    G, paths = _q1()
    dot = graph_dot(G, paths, edge_labels=True, max_paths=2)
    assert "label=<D(W<SUP>hx</SUP> → h<SUP>(1)</SUP>)>" in dot
    assert "… and 1 more paths, not highlighted" in dot


def test_svg_shows_the_highlighted_paths(tmp_path):
    require_program("dot")
    G, paths = _q1()
    written = render_graph(graph_dot(G, paths), tmp_path / "graph", ("svg", "png", "pdf"))
    assert [p.name for p in written] == ["graph.dot", "graph.svg", "graph.png", "graph.pdf"]
    svg = (tmp_path / "graph.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    for colour in PATH_COLOURS[:3]:
        assert f'stroke="{colour.lower()}"' in svg.lower()
    assert "path 1: W" in svg
    assert (tmp_path / "graph.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "graph.pdf").read_bytes()[:4] == b"%PDF"


def test_unknown_format(tmp_path):
    from symrnn.errors import RenderError

    G, paths = _q1()
    with pytest.raises(RenderError, match="unknown graph format 'gif'"):
        render_graph(graph_dot(G), tmp_path / "g", ("gif",))


def test_a_graph_too_large_to_lay_out_is_refused_with_the_reason(tmp_path, monkeypatch):
    require_program("dot")
    import symrnn.render.dot as dot
    from symrnn import zoo

    monkeypatch.setattr(dot, "MAX_DRAWN_BYTES", 500)
    source = graph_dot(unroll(zoo.elman(), 3))
    with pytest.raises(RenderError, match=r"above the 500 that are drawn as SVG .* the DOT file was written"):
        render_graph(source, tmp_path / "graph", ("svg",))
    assert (tmp_path / "graph.dot").read_text() == source
