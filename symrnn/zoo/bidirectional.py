"""The bidirectional models of the question sheet (Collins, Questions 2, 2a and 2b).

They read the label position ``i``: unroll them with ``unroll(model, n, i)``
(``--i`` on the command line).
"""

from __future__ import annotations

from symrnn.model import LS, Model, ModelBuilder, transfer
from symrnn.model.builder import concat


def _head(mb: ModelBuilder, K, *parts):
    """``l = V CONCAT(...) + \\gamma``, ``q = LS(l)``, ``o = -q_y``, as in Question 1."""
    y = mb.label("y", K)
    size = sum(p.shape[0] for p in parts)
    V = mb.parameter("V", (K, size))
    gamma = mb.parameter("gamma", K, latex=r"\gamma")
    l = mb.define("l", V @ concat(*parts) + gamma)
    q = mb.define("q", LS(l))
    return mb.define("o", -q[y])


def _both_directions(mb: ModelBuilder, g: str, x, m, shared_bias: bool = False):
    d = x.shape[0]
    t = mb.t
    W_hx = mb.parameter("W_hx", (m, d), latex="W^{hx}")
    W_hh = mb.parameter("W_hh", (m, m), latex="W^{hh}")
    b_h = mb.parameter("b_h", m, latex="b^{h}")
    h0 = mb.parameter("h0", m, latex="h^{(0)}")
    W_bhx = mb.parameter("W_bhx", (m, d), latex="W^{bh}" if shared_bias else "W^{bhx}")
    W_bhh = mb.parameter("W_bhh", (m, m), latex="W^{bhh}")
    b_bh = b_h if shared_bias else mb.parameter("b_bh", m, latex="b^{bh}")
    eta0 = mb.parameter("eta0", m, latex=r"\eta^{(n+1)}")
    h = mb.state("h", m, init=h0)
    eta = mb.state("eta", m, init=eta0, direction="backward", latex=r"\eta^{({t})}")
    a = mb.interim("a", W_hx @ x[t] + W_hh @ h[t - 1] + b_h)
    mb.recur(h, transfer(g)(a))
    ab = mb.interim("ab", W_bhx @ x[t] + W_bhh @ eta[t + 1] + b_bh, latex=r"\bar{a}^{({t})}")
    mb.recur(eta, transfer(g)(ab))
    return h, eta


def bidirectional(g: str = "g") -> Model:
    """Question 2: ``h^{(t)}`` forward, ``\\eta^{(t)}`` backward, ``l = V CONCAT(h^{(i)}, \\eta^{(i)}) + \\gamma``.

    The pre-activations are named ``a^{(t)}`` and ``\\bar a^{(t)}``; the backward
    recursion starts from the parameter ``\\eta^{(n+1)}``.

    Examples
    --------
    >>> from symrnn.graph import unroll
    >>> G = unroll(bidirectional(), 4, 2)
    >>> sorted(G.nodes[v]["latex"] for v in G.predecessors(G.graph["loss"]))
    ['q']
    """
    mb = ModelBuilder("bidirectional", "Bidirectional RNN, label at position i (question sheet, Q2)")
    m, d, K = mb.sizes("m", "d", "K")
    x = mb.input("x", d)
    h, eta = _both_directions(mb, g, x, m)
    return mb.build(loss=_head(mb, K, h[mb.i], eta[mb.i]))


def stacked_bidirectional(g: str = "g") -> Model:
    """Question 2a: a second bidirectional level reading ``CONCAT(h^{(t)}, \\eta^{(t)})``.

    ``h^{(2,t)} = g(W^{2hx} CONCAT(h^{(t)}, \\eta^{(t)}) + W^{2hh} h^{(2,t-1)} + b^{2h})`` and
    ``\\eta^{(2,t)} = g(W^{2bhx} CONCAT(h^{(t)}, \\eta^{(t)}) + W^{2bhh} \\eta^{(2,t+1)} + b^{2bh})``,
    then ``l = V CONCAT(h^{(2,i)}, \\eta^{(2,i)}) + \\gamma``: the completion of the sheet's pseudo-code.
    """
    mb = ModelBuilder("stacked_bidirectional", "Two-level bidirectional RNN (question sheet, Q2a)")
    m, d, K = mb.sizes("m", "d", "K")
    x = mb.input("x", d)
    h, eta = _both_directions(mb, g, x, m)
    t = mb.t
    W2 = mb.parameter("W_2hx", (m, 2 * m), latex="W^{2hx}")
    U2 = mb.parameter("W_2hh", (m, m), latex="W^{2hh}")
    b2 = mb.parameter("b_2h", m, latex="b^{2h}")
    h20 = mb.parameter("h20", m, latex="h^{(2,0)}")
    W2b = mb.parameter("W_2bhx", (m, 2 * m), latex="W^{2bhx}")
    U2b = mb.parameter("W_2bhh", (m, m), latex="W^{2bhh}")
    b2b = mb.parameter("b_2bh", m, latex="b^{2bh}")
    eta20 = mb.parameter("eta20", m, latex=r"\eta^{(2,n+1)}")
    h2 = mb.state("h2", m, init=h20, latex="h^{(2,{t})}")
    eta2 = mb.state("eta2", m, init=eta20, direction="backward", latex=r"\eta^{(2,{t})}")
    both = concat(h[t], eta[t])
    a2 = mb.interim("a2", W2 @ both + U2 @ h2[t - 1] + b2, latex="a^{(2,{t})}")
    mb.recur(h2, transfer(g)(a2))
    ab2 = mb.interim("ab2", W2b @ both + U2b @ eta2[t + 1] + b2b, latex=r"\bar{a}^{(2,{t})}")
    mb.recur(eta2, transfer(g)(ab2))
    return mb.build(loss=_head(mb, K, h2[mb.i], eta2[mb.i]))


def tagger(g: str = "g") -> Model:
    """Question 2b: a recurrence ``\\beta^{(j)}`` over the previous tags ``y_1 .. y_{i-1}`` (one-hot).

    ``\\beta^{(j)} = g(W^{\\beta y} \\bar y^{(j)} + W^{\\beta\\beta} \\beta^{(j-1)} + b^{\\beta})`` for
    ``j = 1..(i-1)`` from ``\\beta^{(0)}``, and ``l = V CONCAT(h^{(i)}, \\eta^{(i)}, \\beta^{(i-1)}) + \\gamma``.
    The backward recurrence is as the sheet prints it: ``W^{bh}`` on ``x^{(t)}`` and the *same*
    bias ``b^h`` as the forward one.
    """
    mb = ModelBuilder("tagger", "Bidirectional tagger with a tag recurrence (question sheet, Q2b)")
    m, d, K = mb.sizes("m", "d", "K")
    x = mb.input("x", d)
    tags = mb.input("ybar", K, latex=r"\bar{y}^{({t})}", onehot=True, over=(1, mb.i - 1), index="j")
    h, eta = _both_directions(mb, g, x, m, shared_bias=True)
    t = mb.t
    W_by = mb.parameter("W_by", (m, K), latex=r"W^{\beta y}")
    W_bb = mb.parameter("W_bb", (m, m), latex=r"W^{\beta\beta}")
    b_b = mb.parameter("b_beta", m, latex=r"b^{\beta}")
    beta0 = mb.parameter("beta0", m, latex=r"\beta^{(0)}")
    beta = mb.state("beta", m, init=beta0, latex=r"\beta^{({t})}", over=(1, mb.i - 1), index="j")
    c = mb.interim("c", W_by @ tags[t] + W_bb @ beta[t - 1] + b_b)
    mb.recur(beta, transfer(g)(c))
    return mb.build(loss=_head(mb, K, h[mb.i], eta[mb.i], beta[mb.i - 1]))
