"""Hand-written references for the question sheet's Elman RNN (tanh, loss at the last step).

``numpy_bptt`` is what a careful person writes: the input projections of all steps in one
matrix product before the loop, the weight gradients as single matrix products after it.
Layout: batch in columns, ``x`` is ``(n, d, B)``, labels ``y`` are 1-based ``(B,)``.
"""

from __future__ import annotations

import numpy as np


def _forward(W_hx, W_hh, b_h, h0, x):
    """All inputs side by side ``X`` (d, n B), and the states ``H`` (n + 1, m, B), ``H[0] = h0``."""
    n, d, B = x.shape
    m = W_hh.shape[0]
    X = x.transpose(1, 0, 2).reshape(d, n * B)
    A = (W_hx @ X).reshape(m, n, B).transpose(1, 0, 2) + b_h  # input projections, hoisted
    H = np.empty((n + 1, m, B))
    H[0] = h0
    for t in range(n):
        H[t + 1] = np.tanh(A[t] + W_hh @ H[t])
    return X, H


def _recurrent_grads(dA, X, H, dh):
    """The recurrence's weight gradients, each one product over all steps (``dA`` is (n, m, B))."""
    n, m, B = dA.shape
    dAflat = dA.transpose(1, 0, 2).reshape(m, n * B)
    Hprev = H[:n].transpose(1, 0, 2).reshape(m, n * B)
    return {"W_hx": dAflat @ X.T, "W_hh": dAflat @ Hprev.T, "b_h": dAflat.sum(axis=1, keepdims=True),
            "h0": dh.sum(axis=1, keepdims=True)}


def numpy_bptt(W_hx, W_hh, b_h, h0, V, gamma, x, y):
    n, d, B = x.shape
    m = W_hh.shape[0]
    X, H = _forward(W_hx, W_hh, b_h, h0, x)
    l = V @ H[n] + gamma
    top = l.max(axis=0, keepdims=True)
    logz = top + np.log(np.exp(l - top).sum(axis=0, keepdims=True))
    cols = np.arange(B)
    loss = -(l[y - 1, cols] - logz[0])
    dl = np.exp(l - logz)
    dl[y - 1, cols] -= 1.0
    dV, dgamma = dl @ H[n].T, dl.sum(axis=1, keepdims=True)
    dh = V.T @ dl
    dA = np.empty((n, m, B))
    for t in range(n - 1, -1, -1):
        dA[t] = dh * (1.0 - H[t + 1] ** 2)
        dh = W_hh.T @ dA[t]
    grads = _recurrent_grads(dA, X, H, dh)
    grads.update(V=dV, gamma=dgamma)
    return loss, grads


def numpy_bptt_every(W_hx, W_hh, b_h, h0, V, gamma, x, Y):
    """Losses at every step: ``L = sum_t -y_t^T LS(V h_t + gamma)``, ``Y`` one-hot ``(n, K, B)``."""
    n, d, B = x.shape
    m = W_hh.shape[0]
    X, H = _forward(W_hx, W_hh, b_h, h0, x)
    Hs = H[1:].transpose(1, 0, 2).reshape(m, n * B)
    L = V @ Hs + gamma                                     # all steps' outputs in one product
    top = L.max(axis=0, keepdims=True)
    logz = top + np.log(np.exp(L - top).sum(axis=0, keepdims=True))
    Yf = Y.transpose(1, 0, 2).reshape(-1, n * B)
    loss = -((L - logz) * Yf).sum(axis=0).reshape(n, B).sum(axis=0)
    dL = np.exp(L - logz) * Yf.sum(axis=0, keepdims=True) - Yf
    dV, dgamma = dL @ Hs.T, dL.sum(axis=1, keepdims=True)
    dHout = (V.T @ dL).reshape(m, n, B).transpose(1, 0, 2)
    dA = np.empty((n, m, B))
    dh = np.zeros((m, B))
    for t in range(n - 1, -1, -1):
        dA[t] = (dh + dHout[t]) * (1.0 - H[t + 1] ** 2)
        dh = W_hh.T @ dA[t]
    grads = _recurrent_grads(dA, X, H, dh)
    grads.update(V=dV, gamma=dgamma)
    return loss, grads


def torch_autograd(torch, P, x, Y, every: bool):
    """PyTorch eager: the forward pass written in torch, gradients by ``backward()``."""
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


def jax_scan_grad(jax, every: bool):
    """``jax.jit(jax.grad)`` of the loss written with ``lax.scan``."""
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
