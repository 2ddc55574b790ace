"""Gated cells: the GRU of the course handout (Question 3), PyTorch's GRU, and the LSTM of a worked answer."""

from __future__ import annotations

from symrnn.model import LS, Model, ModelBuilder, sigmoid, tanh, transfer
from symrnn.model.builder import inner


def _collins_head(mb: ModelBuilder, h, K):
    y = mb.label("y", K)
    m = h.shape[0]
    V = mb.parameter("V", (K, m))
    gamma = mb.parameter("gamma", K, latex=r"\gamma")
    l = mb.define("l", V @ h[mb.n] + gamma)
    q = mb.define("q", LS(l))
    return mb.define("o", -q[y])


def gru(g: str = "g") -> Model:
    """Question 3: the GRU in Collins' convention, with Question 1's output layer.

    ``z^{(t)} = \\sigma(W^z x^{(t)} + U^z h^{(t-1)} + b^z)``,
    ``r^{(t)} = \\sigma(W^r x^{(t)} + U^r h^{(t-1)} + b^r)``,
    ``h^{(t)} = (1 - z^{(t)}) \\odot h^{(t-1)} + z^{(t)} \\odot g(W^h x^{(t)} + U^h (r^{(t)} \\odot h^{(t-1)}) + b^h)``.
    The gates and the candidate's pre-activation ``a^{(t)}`` are named interims.
    """
    mb = ModelBuilder("gru", "GRU, Collins' convention (question sheet, Q3)")
    m, d, K = mb.sizes("m", "d", "K")
    x = mb.input("x", d)
    t = mb.t
    p = {}
    for gate in ("z", "r", "h"):
        p["W" + gate] = mb.parameter(f"W_{gate}", (m, d), latex=f"W^{{{gate}}}")
        p["U" + gate] = mb.parameter(f"U_{gate}", (m, m), latex=f"U^{{{gate}}}")
        p["b" + gate] = mb.parameter(f"b_{gate}", m, latex=f"b^{{{gate}}}")
    h0 = mb.parameter("h0", m, latex="h^{(0)}")
    h = mb.state("h", m, init=h0)
    z = mb.interim("z", sigmoid(p["Wz"] @ x[t] + p["Uz"] @ h[t - 1] + p["bz"]))
    r = mb.interim("r", sigmoid(p["Wr"] @ x[t] + p["Ur"] @ h[t - 1] + p["br"]))
    a = mb.interim("a", p["Wh"] @ x[t] + p["Uh"] @ (r * h[t - 1]) + p["bh"])
    mb.recur(h, (1 - z) * h[t - 1] + z * transfer(g)(a))
    return mb.build(loss=_collins_head(mb, h, K))


def gru_torch() -> Model:
    """PyTorch's ``torch.nn.GRU`` convention, with Question 1's output layer.

    ``r_t = \\sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})``, ``z_t`` alike,
    ``n_t = \\tanh(W_{in} x_t + b_{in} + r_t \\odot (W_{hn} h_{t-1} + b_{hn}))``,
    ``h_t = (1 - z_t) \\odot n_t + z_t \\odot h_{t-1}``: the old state is kept where ``z_t`` is 1,
    the opposite of Collins' convention.
    """
    mb = ModelBuilder("gru_torch", "GRU, PyTorch's convention (torch.nn.GRU)")
    m, d, K = mb.sizes("m", "d", "K")
    x = mb.input("x", d, latex="x_{{t}}")
    t = mb.t
    p = {}
    for gate in ("r", "z", "n"):
        p["Wi" + gate] = mb.parameter(f"W_i{gate}", (m, d), latex=f"W_{{i{gate}}}")
        p["bi" + gate] = mb.parameter(f"b_i{gate}", m, latex=f"b_{{i{gate}}}")
        p["Wh" + gate] = mb.parameter(f"W_h{gate}", (m, m), latex=f"W_{{h{gate}}}")
        p["bh" + gate] = mb.parameter(f"b_h{gate}", m, latex=f"b_{{h{gate}}}")
    h0 = mb.parameter("h0", m, latex="h_{0}")
    h = mb.state("h", m, init=h0, latex="h_{{t}}")
    r = mb.interim("r", sigmoid(p["Wir"] @ x[t] + p["bir"] + p["Whr"] @ h[t - 1] + p["bhr"]), latex="r_{{t}}")
    z = mb.interim("z", sigmoid(p["Wiz"] @ x[t] + p["biz"] + p["Whz"] @ h[t - 1] + p["bhz"]), latex="z_{{t}}")
    cand = mb.interim("cand", tanh(p["Win"] @ x[t] + p["bin"] + r * (p["Whn"] @ h[t - 1] + p["bhn"])),
                      latex="n_{{t}}")
    mb.recur(h, (1 - z) * cand + z * h[t - 1])
    return mb.build(loss=_collins_head(mb, h, K))


def lstm(loss: str = "last") -> Model:
    """The LSTM of a worked answer (Question 4), with two state sequences ``c_t`` and ``h_t``.

    ``f_t = \\sigma(W_x^f x_t + W_h^f h_{t-1} + b^f)``, and ``i_t``, ``o_t`` alike;
    ``\\tilde c_t = \\tanh(W_x^c x_t + W_h^c h_{t-1} + b^c)``;
    ``c_t = f_t \\odot c_{t-1} + i_t \\odot \\tilde c_t``, ``h_t = o_t \\odot \\tanh(c_t)``.
    The output is ``s_t = V h_t + b^y`` with a softmax cross-entropy against a one-hot
    target: ``loss="last"`` at the last step only (Q4.2), ``"every"`` summed over all
    steps (Q4.4).
    """
    mb = ModelBuilder(f"lstm_{loss}" if loss != "last" else "lstm",
                      f"LSTM, loss at {'every step' if loss == 'every' else 'the last step'}")
    m, d, K = mb.sizes("m", "d", "K")
    x = mb.input("x", d, latex="x_{{t}}")
    head = _SoftmaxHead(mb, m, K, loss)
    t = mb.t
    p = {}
    for gate, shown in (("f", "f"), ("i", "i"), ("c", "c"), ("o", "o")):
        p["Wx" + gate] = mb.parameter(f"Wx_{gate}", (m, d), latex=f"W_{{x}}^{{{shown}}}")
        p["Wh" + gate] = mb.parameter(f"Wh_{gate}", (m, m), latex=f"W_{{h}}^{{{shown}}}")
        p["b" + gate] = mb.parameter(f"b_{gate}", m, latex=f"b^{{{shown}}}")
    h0 = mb.parameter("h0", m, latex="h_{0}")
    c0 = mb.parameter("c0", m, latex="c_{0}")
    h = mb.state("h", m, init=h0, latex="h_{{t}}")
    c = mb.state("c", m, init=c0, latex="c_{{t}}")

    def pre(gate):
        return p["Wx" + gate] @ x[t] + p["Wh" + gate] @ h[t - 1] + p["b" + gate]

    f = mb.interim("f", sigmoid(pre("f")), latex="f_{{t}}")
    ig = mb.interim("ig", sigmoid(pre("i")), latex="i_{{t}}")
    cc = mb.interim("cc", tanh(pre("c")), latex=r"\tilde{c}_{{t}}")
    og = mb.interim("og", sigmoid(pre("o")), latex="o_{{t}}")
    mb.recur(c, f * c[t - 1] + ig * cc)
    mb.recur(h, og * tanh(c[t]))
    return mb.build(loss=head.loss(h))


class _SoftmaxHead:
    """``L = -y^T LS(V h_n + b^y)`` (one-hot ``y``), or ``L = \\sum_t -y_t^T LS(V h_t + b^y)``.

    Its input and parameters are declared before the recurrence (:meth:`declare`), its
    equations after (:meth:`loss`), so the declaration reads top-down like its text form.
    """

    def __init__(self, mb: ModelBuilder, m, K, loss: str):
        if loss not in ("last", "every"):
            from symrnn.errors import SpecError

            raise SpecError(f"loss must be 'last' or 'every', got {loss!r}")
        self.mb, self.every = mb, loss == "every"
        if self.every:
            self.y = mb.input("y", K, latex="y_{{t}}", onehot=True)
        else:
            self.y = mb.input("y", K, timed=False, onehot=True)
        self.V = mb.parameter("V", (K, m))
        self.by = mb.parameter("b_y", K, latex="b^{y}")

    def loss(self, h):
        mb, V, by, y = self.mb, self.V, self.by, self.y
        if not self.every:
            s = mb.define("s", V @ h[mb.n] + by)
            return mb.define("L", -inner(y, LS(s)))
        s = mb.define("s", V @ h[mb.t] + by, latex="s_{{t}}")
        lt = mb.define("Lt", -inner(y[mb.t], LS(s)), latex="L_{{t}}")
        return mb.define("L", mb.sum(lt))
