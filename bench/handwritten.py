"""Hand-written references: BPTT as a careful expert writes it in NumPy, and the peers in torch and JAX.

The NumPy references keep the batch in rows (a state is ``(B, m)``, a timeline ``(n + 1, B, m)``),
so that every timeline seen as all its steps at once is a free view ``(n B, m)``: the input
projections of all steps are one matrix product before the loop, the weight gradients one
matrix product each after it, and nothing is copied. Inside the loops every operation writes
into preallocated arrays (``out=``), the gates of the LSTM and the GRU are one stacked matrix
(one product per step for all gates), and derivatives are read from the stored outputs.
Inputs are given in this layout (``xr`` is ``(n, B, d)``), prepared once outside the timing.

Models: the question sheet's Elman RNN (tanh; loss at the last step, or summed over every
step), the LSTM (softmax cross-entropy with a one-hot target, last step or every step) and
the GRU in PyTorch's convention (the question sheet's head, label at the last step); the
parameter names are those of symrnn's zoo models ``elman``, ``vanilla_every``, ``lstm``,
``lstm_every`` and ``gru_torch``.
"""

from __future__ import annotations

import numpy as np


def _sigmoid_(a):
    """In place: ``a <- 1 / (1 + exp(-a))``."""
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1.0
    np.reciprocal(a, out=a)
    return a


def _cross_entropy(S, Y):
    """Softmax cross-entropy of logits ``S`` (N, K) against one-hot rows ``Y``: the losses (N,) and dS."""
    S = S - S.max(axis=1, keepdims=True)
    E = np.exp(S)
    Z = E.sum(axis=1, keepdims=True)
    loss = (Y * (np.log(Z) - S)).sum(axis=1)
    E /= Z
    E *= Y.sum(axis=1, keepdims=True)
    E -= Y
    return loss, E


def onehot_rows(labels, K):
    """``(..., B)`` labels 1..K as one-hot rows ``(..., B, K)``."""
    return (np.arange(K) == (np.asarray(labels)[..., None] - 1)) * 1.0


# -- Elman RNN ------------------------------------------------------------------------------------
def elman(W_hx, W_hh, b_h, h0, V, gamma, xr, Y, every: bool):
    """Elman RNN, tanh. ``Y`` is one-hot ``(n, B, K)``; with ``every`` the loss sums every step's."""
    n, B, d = xr.shape
    m = W_hh.shape[0]
    X = xr.reshape(n * B, d)
    A = X @ W_hx.T
    A += b_h.T
    A = A.reshape(n, B, m)
    H = np.empty((n + 1, B, m))
    H[0] = h0.T
    WhhT = W_hh.T
    for t in range(n):
        h = H[t + 1]
        np.matmul(H[t], WhhT, out=h)
        h += A[t]
        np.tanh(h, out=h)
    Hs = H[1:].reshape(n * B, m) if every else H[n]
    loss, dS = _cross_entropy(Hs @ V.T + gamma.T, Y.reshape(n * B, -1) if every else Y[n - 1])
    loss = loss.reshape(n, B).sum(axis=0) if every else loss
    dV, dgamma = dS.T @ Hs, dS.sum(axis=0)[:, None]
    dout = (dS @ V).reshape(n, B, m) if every else None
    dh = np.zeros((B, m)) if every else dS @ V
    dA = np.empty((n, B, m))
    for t in range(n - 1, -1, -1):
        if every:
            dh += dout[t]
        da = dA[t]
        np.multiply(H[t + 1], H[t + 1], out=da)
        np.subtract(1.0, da, out=da)
        da *= dh
        np.matmul(da, W_hh, out=dh)
    dAf = dA.reshape(n * B, m)
    return loss, {"W_hx": dAf.T @ X, "W_hh": dAf.T @ H[:n].reshape(n * B, m), "b_h": dAf.sum(axis=0)[:, None],
                  "h0": dh.sum(axis=0)[:, None], "V": dV, "gamma": dgamma}


# -- LSTM -----------------------------------------------------------------------------------------
LSTM_GATES = ("f", "i", "c", "o")


def lstm(P, xr, Y, every: bool):
    """LSTM with the gates stacked (f, i, c, o): one product per step. ``Y`` is one-hot ``(n, B, K)``."""
    n, B, d = xr.shape
    m = P["Wh_f"].shape[0]
    Wx = np.concatenate([P["Wx_" + g] for g in LSTM_GATES])  # (4m, d)
    Wh = np.concatenate([P["Wh_" + g] for g in LSTM_GATES])  # (4m, m)
    b = np.concatenate([P["b_" + g] for g in LSTM_GATES])  # (4m, 1)
    X = xr.reshape(n * B, d)
    G = X @ Wx.T
    G += b.T
    G = G.reshape(n, B, 4 * m)  # pre-activations, then the gates' values
    H = np.empty((n + 1, B, m))
    C = np.empty((n + 1, B, m))
    TC = np.empty((n, B, m))  # tanh(c_t)
    H[0], C[0] = P["h0"].T, P["c0"].T
    WhT = Wh.T
    pre = np.empty((B, 4 * m))
    for t in range(n):
        g = G[t]
        np.matmul(H[t], WhT, out=pre)
        g += pre
        _sigmoid_(g[:, :2 * m])
        np.tanh(g[:, 2 * m:3 * m], out=g[:, 2 * m:3 * m])
        _sigmoid_(g[:, 3 * m:])
        c = C[t + 1]
        np.multiply(g[:, :m], C[t], out=c)
        np.multiply(g[:, m:2 * m], g[:, 2 * m:3 * m], out=pre[:, :m])
        c += pre[:, :m]
        np.tanh(c, out=TC[t])
        np.multiply(g[:, 3 * m:], TC[t], out=H[t + 1])
    Hs = H[1:].reshape(n * B, m) if every else H[n]
    loss, dS = _cross_entropy(Hs @ P["V"].T + P["b_y"].T, Y.reshape(n * B, -1) if every else Y[n - 1])
    loss = loss.reshape(n, B).sum(axis=0) if every else loss
    grads = {"V": dS.T @ Hs, "b_y": dS.sum(axis=0)[:, None]}
    dout = (dS @ P["V"]).reshape(n, B, m) if every else None
    dh = np.zeros((B, m)) if every else dS @ P["V"]
    dc = np.zeros((B, m))
    dG = np.empty((n, B, 4 * m))
    tmp = np.empty((B, m))
    for t in range(n - 1, -1, -1):
        if every:
            dh += dout[t]
        g, dg = G[t], dG[t]
        f, i, cc, o = g[:, :m], g[:, m:2 * m], g[:, 2 * m:3 * m], g[:, 3 * m:]
        df, di, dcc, do = dg[:, :m], dg[:, m:2 * m], dg[:, 2 * m:3 * m], dg[:, 3 * m:]
        np.multiply(dh, TC[t], out=do)  # dL/do
        np.multiply(TC[t], TC[t], out=tmp)  # dc += dh o (1 - tanh(c)^2)
        np.subtract(1.0, tmp, out=tmp)
        tmp *= o
        tmp *= dh
        dc += tmp
        np.subtract(1.0, o, out=tmp)  # through o's sigmoid
        tmp *= o
        do *= tmp
        np.multiply(dc, C[t], out=df)
        np.subtract(1.0, f, out=tmp)
        tmp *= f
        df *= tmp
        np.multiply(dc, cc, out=di)
        np.subtract(1.0, i, out=tmp)
        tmp *= i
        di *= tmp
        np.multiply(dc, i, out=dcc)
        np.multiply(cc, cc, out=tmp)
        np.subtract(1.0, tmp, out=tmp)
        dcc *= tmp
        dc *= f
        np.matmul(dg, Wh, out=dh)
    dGf = dG.reshape(n * B, 4 * m)
    dWx, dWh, db = dGf.T @ X, dGf.T @ H[:n].reshape(n * B, m), dGf.sum(axis=0)[:, None]
    for k, gate in enumerate(LSTM_GATES):
        rows = slice(k * m, (k + 1) * m)
        grads["Wx_" + gate], grads["Wh_" + gate], grads["b_" + gate] = dWx[rows], dWh[rows], db[rows]
    grads["h0"], grads["c0"] = dh.sum(axis=0)[:, None], dc.sum(axis=0)[:, None]
    return loss, grads


# -- GRU, PyTorch's convention -------------------------------------------------------------------
GRU_GATES = ("r", "z", "n")


def gru(P, xr, Y):
    """GRU (torch.nn.GRU's equations), gates stacked (r, z, n); the loss at the last step, ``Y`` one-hot."""
    n, B, d = xr.shape
    m = P["W_hr"].shape[0]
    Wi = np.concatenate([P["W_i" + g] for g in GRU_GATES])
    Wh = np.concatenate([P["W_h" + g] for g in GRU_GATES])
    bi = np.concatenate([P["b_i" + g] for g in GRU_GATES])
    bh = np.concatenate([P["b_h" + g] for g in GRU_GATES])
    X = xr.reshape(n * B, d)
    Gi = X @ Wi.T
    Gi += bi.T
    Gi = Gi.reshape(n, B, 3 * m)  # input parts, then r, z and n_t
    Hn = np.empty((n, B, m))  # W_hn h_{t-1} + b_hn
    H = np.empty((n + 1, B, m))
    H[0] = P["h0"].T
    WhT, bhT = Wh.T, bh.T
    gh = np.empty((B, 3 * m))
    for t in range(n):
        g = Gi[t]
        np.matmul(H[t], WhT, out=gh)
        gh += bhT
        g[:, :2 * m] += gh[:, :2 * m]
        _sigmoid_(g[:, :2 * m])
        Hn[t] = gh[:, 2 * m:]
        nt = g[:, 2 * m:]
        np.multiply(g[:, :m], Hn[t], out=gh[:, :m])
        nt += gh[:, :m]
        np.tanh(nt, out=nt)
        h = H[t + 1]
        np.subtract(H[t], nt, out=h)  # h_t = n_t + z (h_{t-1} - n_t)
        h *= g[:, m:2 * m]
        h += nt
    loss, dl = _cross_entropy(H[n] @ P["V"].T + P["gamma"].T, Y[n - 1])
    grads = {"V": dl.T @ H[n], "gamma": dl.sum(axis=0)[:, None]}
    dh = dl @ P["V"]
    dGi = np.empty((n, B, 3 * m))
    dGh = np.empty((n, B, 3 * m))
    tmp = np.empty((B, m))
    for t in range(n - 1, -1, -1):
        g, di, dg = Gi[t], dGi[t], dGh[t]
        r, z, nt = g[:, :m], g[:, m:2 * m], g[:, 2 * m:]
        dr, dz, dn = di[:, :m], di[:, m:2 * m], di[:, 2 * m:]
        np.subtract(H[t], nt, out=dz)  # dL/dz
        dz *= dh
        np.subtract(1.0, z, out=dn)  # dL/dn, then through tanh
        dn *= dh
        np.multiply(nt, nt, out=tmp)
        np.subtract(1.0, tmp, out=tmp)
        dn *= tmp
        np.multiply(dn, Hn[t], out=dr)  # dL/dr, then through its sigmoid
        np.subtract(1.0, r, out=tmp)
        tmp *= r
        dr *= tmp
        np.subtract(1.0, z, out=tmp)
        tmp *= z
        dz *= tmp
        dg[:, :2 * m] = di[:, :2 * m]
        np.multiply(dn, r, out=dg[:, 2 * m:])
        dh *= z
        np.matmul(dg, Wh, out=tmp)
        dh += tmp
    dGif, dGhf = dGi.reshape(n * B, 3 * m), dGh.reshape(n * B, 3 * m)
    dWi, dWh = dGif.T @ X, dGhf.T @ H[:n].reshape(n * B, m)
    dbi, dbh = dGif.sum(axis=0)[:, None], dGhf.sum(axis=0)[:, None]
    for k, gate in enumerate(GRU_GATES):
        rows = slice(k * m, (k + 1) * m)
        grads["W_i" + gate], grads["W_h" + gate] = dWi[rows], dWh[rows]
        grads["b_i" + gate], grads["b_h" + gate] = dbi[rows], dbh[rows]
    grads["h0"] = dh.sum(axis=0)[:, None]
    return loss, grads


# -- peers ------------------------------------------------------------------------------------------
def torch_autograd(torch, P, x, Y, every: bool):
    """PyTorch eager, the Elman RNN: the forward pass written in torch, gradients by ``backward()``."""
    T = {k: torch.tensor(v, requires_grad=True) for k, v in P.items()}
    xs, Ys = torch.from_numpy(x), torch.from_numpy(Y)
    h = T["h0"].expand(-1, x.shape[2])
    total = 0.0
    for t in range(x.shape[0]):
        h = torch.tanh(T["W_hx"] @ xs[t] + T["W_hh"] @ h + T["b_h"])
        if every or t == x.shape[0] - 1:
            total = total - (torch.log_softmax(T["V"] @ h + T["gamma"], dim=0) * Ys[t]).sum()
    total.backward()
    return {k: v.grad.numpy() for k, v in T.items()}


def torch_fused(torch, kind: str, P, xr, Y, every: bool):
    """torch's fused ``nn.LSTM`` / ``nn.GRU`` (one call for the sequence), weights set from ``P``; the
    gradients by ``backward()``, returned under symrnn's names."""
    m, d = P["Wh_f" if kind == "lstm" else "W_hr"].shape[0], xr.shape[2]
    net = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(d, m, dtype=torch.float64)
    order = ("i", "f", "c", "o") if kind == "lstm" else ("r", "z", "n")  # torch's own gate order
    with torch.no_grad():
        if kind == "lstm":
            net.weight_ih_l0.copy_(torch.from_numpy(np.concatenate([P["Wx_" + g] for g in order])))
            net.weight_hh_l0.copy_(torch.from_numpy(np.concatenate([P["Wh_" + g] for g in order])))
            net.bias_ih_l0.copy_(torch.from_numpy(np.concatenate([P["b_" + g] for g in order]).ravel()))
            net.bias_hh_l0.zero_()
        else:
            net.weight_ih_l0.copy_(torch.from_numpy(np.concatenate([P["W_i" + g] for g in order])))
            net.weight_hh_l0.copy_(torch.from_numpy(np.concatenate([P["W_h" + g] for g in order])))
            net.bias_ih_l0.copy_(torch.from_numpy(np.concatenate([P["b_i" + g] for g in order]).ravel()))
            net.bias_hh_l0.copy_(torch.from_numpy(np.concatenate([P["b_h" + g] for g in order]).ravel()))
    B = xr.shape[1]
    h0 = torch.tensor(np.broadcast_to(P["h0"].T, (B, m))[None].copy(), requires_grad=True)
    head = {k: torch.tensor(P[k], requires_grad=True) for k in (("V", "b_y") if kind == "lstm" else ("V", "gamma"))}
    if kind == "lstm":
        c0 = torch.tensor(np.broadcast_to(P["c0"].T, (B, m))[None].copy(), requires_grad=True)
        out, _ = net(torch.from_numpy(xr), (h0, c0))
    else:
        out, _ = net(torch.from_numpy(xr), h0)
    Ys = torch.from_numpy(Y)
    hs = out if every else out[-1:]
    logits = hs @ head["V"].T + head["b_y" if kind == "lstm" else "gamma"].T
    loss = -(torch.log_softmax(logits, dim=-1) * (Ys if every else Ys[-1:])).sum()
    loss.backward()
    grads = {k: v.grad.numpy() for k, v in head.items()}
    W_ih, W_hh = net.weight_ih_l0.grad.numpy(), net.weight_hh_l0.grad.numpy()
    b_ih, b_hh = net.bias_ih_l0.grad.numpy()[:, None], net.bias_hh_l0.grad.numpy()[:, None]
    for k, g in enumerate(order):
        rows = slice(k * m, (k + 1) * m)
        if kind == "lstm":
            grads["Wx_" + g], grads["Wh_" + g], grads["b_" + g] = W_ih[rows], W_hh[rows], b_ih[rows]
        else:
            grads["W_i" + g], grads["W_h" + g] = W_ih[rows], W_hh[rows]
            grads["b_i" + g], grads["b_h" + g] = b_ih[rows], b_hh[rows]
    grads["h0"] = h0.grad.numpy()[0].sum(axis=0)[:, None]
    if kind == "lstm":
        grads["c0"] = c0.grad.numpy()[0].sum(axis=0)[:, None]
    return grads


def jax_scan_grad(jax, every: bool):
    """``jax.jit(jax.grad)`` of the Elman RNN's loss written with ``lax.scan`` (batch in columns)."""
    jnp = jax.numpy

    def loss(P, x, Y):
        def step(h, inputs):
            xt, yt = inputs
            h = jnp.tanh(P["W_hx"] @ xt + P["W_hh"] @ h + P["b_h"])
            out = -(jax.nn.log_softmax(P["V"] @ h + P["gamma"], axis=0) * yt).sum()
            return h, out

        h0 = jnp.broadcast_to(P["h0"], (P["h0"].shape[0], x.shape[2]))
        h, outs = jax.lax.scan(step, h0, (x, Y))
        return outs.sum() if every else outs[-1]

    return jax.jit(jax.grad(loss))
