"""The Elman RNN of the question sheet, Question 1 (Collins)."""

from __future__ import annotations

from symrnn.model import LS, Model, ModelBuilder, transfer


def elman(g: str = "g") -> Model:
    """Question 1 of the question sheet: ``h^{(t)} = g(W^{hx} x^{(t)} + W^{hh} h^{(t-1)} + b^h)``.

    ``l = V h^{(n)} + \\gamma``, ``q = LS(l)``, ``o = -q_y``. The pre-activation
    is named ``a^{(t)}`` so that Jacobians print ``g'(a^{(t)})`` as in the handout.

    Parameters
    ----------
    g : str
        The transfer function: ``"g"`` (abstract, as the handout), ``"tanh"``,
        ``"sigmoid"``, ``"relu"`` or ``"identity"``.

    Examples
    --------
    >>> [v.latex for v in elman().variables][:4]
    ['x^{({t})}', 'y', 'W^{hx}', 'W^{hh}']
    """
    mb = ModelBuilder("elman", "Elman RNN (Collins, Question 1)")
    m, d, K = mb.sizes("m", "d", "K")
    x = mb.input("x", d)
    y = mb.label("y", K)
    W_hx = mb.parameter("W_hx", (m, d), latex="W^{hx}")
    W_hh = mb.parameter("W_hh", (m, m), latex="W^{hh}")
    b_h = mb.parameter("b_h", m, latex="b^{h}")
    h0 = mb.parameter("h0", m, latex="h^{(0)}")
    V = mb.parameter("V", (K, m))
    gamma = mb.parameter("gamma", K, latex=r"\gamma")
    h = mb.state("h", m, init=h0)
    t = mb.t
    a = mb.interim("a", W_hx @ x[t] + W_hh @ h[t - 1] + b_h)
    mb.recur(h, transfer(g)(a))
    l = mb.define("l", V @ h[mb.n] + gamma)
    q = mb.define("q", LS(l))
    o = mb.define("o", -q[y])
    return mb.build(loss=o)
