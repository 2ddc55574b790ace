"""Paths of Q1a, in a stable order, and path counts without enumeration."""

import itertools
import time

import pytest

from symrnn.graph import Node, unroll
from symrnn.paths import count_paths, iter_paths
from symrnn.render.text import path_line
from symrnn.zoo import elman


def test_the_three_paths_of_q1a_in_the_sheets_order():
    G = unroll(elman(), 3)
    assert [path_line(G, p) for p in iter_paths(G, Node("W_hx"))] == [
        "W^{hx} -> h^{(3)} -> l -> q -> o",
        "W^{hx} -> h^{(2)} -> h^{(3)} -> l -> q -> o",
        "W^{hx} -> h^{(1)} -> h^{(2)} -> h^{(3)} -> l -> q -> o",
    ]


@pytest.mark.parametrize("n", [1, 2, 5, 9])
def test_counts_agree_with_enumeration(n):
    G = unroll(elman(), n)
    expected = {"W_hx": n, "W_hh": n, "b_h": n, "h0": 1, "V": 1, "gamma": 1}
    for name, count in expected.items():
        assert count_paths(G, Node(name)) == count == len(list(iter_paths(G, Node(name))))
    for t in range(1, n + 1):
        assert [path_line(G, p) for p in iter_paths(G, Node("x", t))] == [
            " -> ".join([f"x^{{({t})}}"] + [f"h^{{({s})}}" for s in range(t, n + 1)] + ["l", "q", "o"])]


def test_count_at_n_10000_without_enumerating():
    G = unroll(elman(), 10_000)
    assert count_paths(G, Node("W_hx")) == 10_000
    assert count_paths(G, Node("x", 1)) == 1


def test_enumeration_is_lazy():
    G = unroll(elman(), 2_000)
    start = time.perf_counter()
    first = list(itertools.islice(iter_paths(G, Node("W_hx")), 2))
    assert [len(p) for p in first] == [5, 6]
    assert time.perf_counter() - start < 30  # generous: a full listing would take far longer


def test_no_path_from_the_loss_side():
    G = unroll(elman(), 2)
    assert count_paths(G, Node("o"), Node("W_hx")) == 0
    assert list(iter_paths(G, Node("o"), Node("W_hx"))) == []
