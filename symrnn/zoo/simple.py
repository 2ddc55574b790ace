"""The plain, residual, scalar and next-word RNNs and the MLP of seeds 002, 003 and 004."""

from __future__ import annotations

from symrnn.model import LS, Model, ModelBuilder, tanh
from symrnn.model.builder import inner, sqnorm
from symrnn.zoo.gated import _SoftmaxHead


def _log_likelihood(mb: ModelBuilder, s_of, N):
    """``J = log p(y | s) = y^T LS(s)`` with a one-hot ``y``: to be maximised."""
    y = mb.input("y", N, timed=False, onehot=True)
    W_u = mb.parameter("W_u", (N, s_of.shape[0]), latex="W^{u}")
    s = mb.define("s", W_u @ s_of)
    return mb.define("J", inner(y, LS(s)))


def mlp() -> Model:
    """The MLP of a worked answer (Question 1).

    ``h = W^e x``, ``s = W^u h``, ``p = softmax(s)``, ``J = \\log p(y|s) = y^T LS(s)``.

    No recurrence: ``x`` and ``y`` are one-hot words of a vocabulary of size ``N``, ``h`` has size ``M``.
    """
    mb = ModelBuilder("mlp", "MLP with embed and unembed matrices")
    N, M = mb.sizes("N", "M")
    x = mb.input("x", N, timed=False, onehot=True)
    W_e = mb.parameter("W_e", (M, N), latex="W^{e}")
    h = mb.define("h", W_e @ x)
    return mb.build(loss=_log_likelihood(mb, h, N))


def next_word() -> Model:
    """The next-word RNN of a worked answer (Question 2).

    ``h_t = \\tanh(W^e x_t + W^r h_{t-1})`` over one-hot words, ``s = W^u h_n``,
    ``J = \\log p(y | s)`` for the next word ``y`` (one-hot). ``h_0`` is a parameter (0 in the worked answer)."""
    mb = ModelBuilder("next_word", "Next-word tanh RNN")
    N, M = mb.sizes("N", "M")
    x = mb.input("x", N, latex="x_{{t}}", onehot=True)
    W_e = mb.parameter("W_e", (M, N), latex="W^{e}")
    W_r = mb.parameter("W_r", (M, M), latex="W^{r}")
    h0 = mb.parameter("h0", M, latex="h_{0}")
    h = mb.state("h", M, init=h0, latex="h_{{t}}")
    t = mb.t
    gt = mb.interim("g", W_e @ x[t] + W_r @ h[t - 1], latex="g_{{t}}")
    mb.recur(h, tanh(gt))
    return mb.build(loss=_log_likelihood(mb, h[mb.n], N))


def _plain_or_residual(name: str, title: str, residual: bool) -> Model:
    mb = ModelBuilder(name, title)
    N, M = mb.sizes("N", "M")
    x = mb.input("x", N, latex="x_{{t}}")
    W_r = mb.parameter("W_r", (M, M), latex="W_{r}")
    W_e = mb.parameter("W_e", (M, N), latex="W_{e}")
    h0 = mb.parameter("h0", M, latex="h_{0}")
    h = mb.state("h", M, init=h0, latex="h_{{t}}")
    t = mb.t
    gt = mb.interim("g", W_r @ h[t - 1] + W_e @ x[t], latex="g_{{t}}")
    mb.recur(h, tanh(gt) + h[t - 1] if residual else tanh(gt))
    return mb.build(loss=_log_likelihood(mb, h[mb.n], N))


def plain() -> Model:
    """The plain RNN of a worked answer (Question 3.1).

    ``h_t = \\tanh(g_t)``, ``g_t = W_r h_{t-1} + W_e x_t``, with Q2's output ``J``."""
    return _plain_or_residual("plain", "Plain tanh RNN", residual=False)


def residual() -> Model:
    """The residual RNN of a worked answer (Question 3.2).

    ``h_t = \\tanh(g_t) + h_{t-1}``: the skip connection keeps ``\\partial J/\\partial h_{t-1}``
    from vanishing."""
    return _plain_or_residual("residual", "Residual tanh RNN", residual=True)


def scalar() -> Model:
    """The scalar linear RNN of a worked answer.

    ``h_t = w_x x_t + w_h h_{t-1}``, ``\\hat y_t = w_y h_t``, ``L = \\sum_t (\\hat y_t - y_t)^2``.

    Every variable is a number (1 x 1), so nothing prints transposed.
    """
    mb = ModelBuilder("scalar", "Scalar linear RNN, squared error at every step")
    x = mb.input("x", 1, latex="x_{{t}}")
    y = mb.input("y", 1, latex="y_{{t}}")
    w_x = mb.parameter("w_x", 1, latex="w_{x}")
    w_h = mb.parameter("w_h", 1, latex="w_{h}")
    w_y = mb.parameter("w_y", 1, latex="w_{y}")
    h0 = mb.parameter("h0", 1, latex="h_{0}")
    h = mb.state("h", 1, init=h0, latex="h_{{t}}")
    t = mb.t
    mb.recur(h, w_x @ x[t] + w_h @ h[t - 1])
    yhat = mb.define("yhat", w_y @ h[t], latex=r"\hat{y}_{{t}}")
    lt = mb.define("Lt", sqnorm(yhat - y[t]), latex="L_{{t}}")
    return mb.build(loss=mb.define("L", mb.sum(lt)))


def vanilla(loss: str = "last") -> Model:
    """The tanh RNN of a worked answer (Question 3).

    ``h_t = \\tanh(W_x x_t + W_h h_{t-1} + b)``, with a softmax cross-entropy
    ``L`` at the last step (``loss="last"``, Q3.2) or summed over every step (``"every"``, Q3.4)."""
    where = "every step" if loss == "every" else "the last step"
    name = "vanilla" if loss == "last" else f"vanilla_{loss}"
    mb = ModelBuilder(name, f"Vanilla tanh RNN, loss at {where}")
    m, d, K = mb.sizes("m", "d", "K")
    x = mb.input("x", d, latex="x_{{t}}")
    head = _SoftmaxHead(mb, m, K, loss)
    W_x = mb.parameter("W_x", (m, d), latex="W_{x}")
    W_h = mb.parameter("W_h", (m, m), latex="W_{h}")
    b = mb.parameter("b", m)
    h0 = mb.parameter("h0", m, latex="h_{0}")
    h = mb.state("h", m, init=h0, latex="h_{{t}}")
    t = mb.t
    z = mb.interim("Z", W_x @ x[t] + W_h @ h[t - 1] + b, latex="Z_{{t}}")
    mb.recur(h, tanh(z))
    return mb.build(loss=head.loss(h))
