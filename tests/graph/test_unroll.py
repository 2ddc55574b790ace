"""Unrolling Q1 into a networkx graph, and the Jacobian on every edge."""

import pytest

from symrnn.errors import SpecError, UnknownNameError
from symrnn.graph import Node, cone, edge_jacobian, find_node, unroll
from symrnn.render.latex import latex
from symrnn.zoo import elman


def test_nodes_and_edges_for_n_3():
    G = unroll(elman(), 3)
    assert sorted(G.nodes[v]["latex"] for v in G) == sorted(
        ["W^{hx}", "W^{hh}", "b^{h}", "h^{(0)}", "V", r"\gamma", "x^{(1)}", "x^{(2)}", "x^{(3)}",
         "h^{(1)}", "h^{(2)}", "h^{(3)}", "l", "q", "o"])
    assert G.number_of_edges() == 5 * 3 + 5  # 5 per step; V, h^{(3)}, gamma -> l; l -> q; q -> o
    assert [G.nodes[u]["latex"] for u in G.predecessors(Node("h", 1))] == [
        "W^{hx}", "x^{(1)}", "W^{hh}", "h^{(0)}", "b^{h}"]
    assert {G.nodes[v]["kind"] for v in G} == {"parameter", "input", "state", "defined"}


def test_edge_jacobians_of_q1():
    G = unroll(elman(), 3)
    D = {(G.nodes[u]["latex"], G.nodes[v]["latex"]): latex(edge_jacobian(G, u, v)) for u, v in G.edges}
    assert D[("q", "o")] == r"-e_{y}^{\top}"
    assert D[("l", "q")] == r"I - \mathbf{1}\,\operatorname{softmax}(l)^{\top}"
    assert D[("h^{(3)}", "l")] == "V"
    assert D[(r"\gamma", "l")] == "I"
    assert D[("V", "l")] == r"h^{(3)\top} \otimes I_{K}"
    assert D[("h^{(2)}", "h^{(3)}")] == r"\operatorname{diag}(g'(a^{(3)})) W^{hh}"
    assert D[("h^{(0)}", "h^{(1)}")] == r"\operatorname{diag}(g'(a^{(1)})) W^{hh}"
    assert D[("W^{hx}", "h^{(2)}")] == r"\operatorname{diag}(g'(a^{(2)})) (x^{(2)\top} \otimes I_{m})"
    assert D[("W^{hh}", "h^{(1)}")] == r"\operatorname{diag}(g'(a^{(1)})) (h^{(0)\top} \otimes I_{m})"
    assert D[("b^{h}", "h^{(1)}")] == r"\operatorname{diag}(g'(a^{(1)}))"
    assert D[("x^{(1)}", "h^{(1)}")] == r"\operatorname{diag}(g'(a^{(1)})) W^{hx}"


def test_concrete_transfer_functions_print_with_the_output():
    G = unroll(elman("tanh"), 2)
    assert latex(edge_jacobian(G, Node("h", 1), Node("h", 2))) == \
        r"\operatorname{diag}(\mathbf{1} - h^{(2)} \odot h^{(2)}) W^{hh}"
    G = unroll(elman("sigmoid"), 2)
    assert latex(edge_jacobian(G, Node("h", 1), Node("h", 2))) == \
        r"\operatorname{diag}(h^{(2)} \odot (\mathbf{1} - h^{(2)})) W^{hh}"
    G = unroll(elman("identity"), 2)
    assert latex(edge_jacobian(G, Node("h", 1), Node("h", 2))) == "W^{hh}"


def test_cone_keeps_only_nodes_between_wrt_and_loss():
    G = unroll(elman(), 3)
    C = cone(G, Node("x", 2))
    assert sorted(G.nodes[v]["latex"] for v in C) == ["h^{(2)}", "h^{(3)}", "l", "o", "q", "x^{(2)}"]


def test_find_node_by_display_or_identifier_and_errors():
    G = unroll(elman(), 3)
    assert find_node(G, "W^{hx}") == find_node(G, "W_hx") == Node("W_hx")
    assert find_node(G, "x^{(2)}") == Node("x", 2)
    with pytest.raises(UnknownNameError, match=r"no node 'W' in the graph of elman for n = 3; try one of: V, "):
        find_node(G, "W")
    with pytest.raises(SpecError, match="positive integer"):
        unroll(elman(), 0)
