"""Hand-written references for the question sheet's Elman RNN (tanh, loss at the last step).

``numpy_bptt`` is what a careful person writes: the input projections of all steps in one
matrix product before the loop, the weight gradients as single matrix products after it.
Layout: batch in columns, ``x`` is ``(n, d, B)``, labels ``y`` are 1-based ``(B,)``.
"""

from __future__ import annotations

import numpy as np


def numpy_bptt(W_hx, W_hh, b_h, h0, V, gamma, x, y):
    n, d, B = x.shape
    m = W_hh.shape[0]
    X = x.transpose(1, 0, 2).reshape(d, n * B)            # all inputs side by side
    A = (W_hx @ X).reshape(m, n, B).transpose(1, 0, 2) + b_h  # input projections, hoisted
    H = np.empty((n + 1, m, B))
    H[0] = h0
    for t in range(n):
        H[t + 1] = np.tanh(A[t] + W_hh @ H[t])
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
    dAflat = dA.transpose(1, 0, 2).reshape(m, n * B)
    Hprev = H[:n].transpose(1, 0, 2).reshape(m, n * B)
    grads = {"W_hx": dAflat @ X.T, "W_hh": dAflat @ Hprev.T, "b_h": dAflat.sum(axis=1, keepdims=True),
             "h0": dh.sum(axis=1, keepdims=True), "V": dV, "gamma": dgamma}
    return loss, grads
