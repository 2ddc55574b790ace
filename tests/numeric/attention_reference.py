"""Attention written in a few lines of torch, independently of symrnn: the references of the attention
tests (additive scores, Bahdanau et al. 2015; dot-product scores, Luong et al. 2015)."""

import numpy as np


def _encoder(torch, params: dict, x, y, n: int):
    """The parameters as leaves, the encoder's states ``(n, m, B)`` (``h_j`` at ``[j - 1]``) and the targets."""
    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    x, y = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    h, H = P["h_0"].expand(-1, x.shape[-1]), []
    for t in range(n):
        h = torch.tanh(P["W"] @ h + P["U"] @ x[t])
        H.append(h)
    return P, torch.stack(H), y


def bahdanau(torch, params: dict, x, y, n: int):
    """Loss (summed over the batch) and gradients of ``examples/literature/bahdanau_attention``: an encoder
    h_t, scores v_a^T tanh(W_a z_{t-1} + U_a h_j), their softmax over j, the context and a decoder
    reading y_{t-1}. ``x`` is (n, d, B), ``y`` (n, K, B) one-hot."""
    P, H, y = _encoder(torch, params, x, y, n)
    z, previous, loss = P["z_0"].expand(-1, H.shape[-1]), P["y_0"].expand(-1, H.shape[-1]), 0
    for t in range(n):
        scores = torch.einsum("a,jab->jb", P["v_a"][:, 0],
                              torch.tanh((P["W_a"] @ z)[None] + torch.einsum("am,jmb->jab", P["U_a"], H)))
        alpha = torch.softmax(scores, dim=0)  # over j
        c = torch.einsum("jb,jmb->mb", alpha, H)
        z = torch.tanh(P["A"] @ z + P["B"] @ previous + P["C"] @ c)
        loss = loss - (y[t] * torch.log_softmax(P["O"] @ z, dim=0)).sum()
        previous = y[t]
    loss.backward()
    return float(loss.detach()), {k: v.grad.numpy() for k, v in P.items()}


def luong(torch, params: dict, x, y, n: int):
    """Loss and gradients of ``examples/literature/luong_attention``: dot-product scores h_j^T z_t of the
    decoder's state against the encoder's, and the attentional state tanh(W_c [c_t; z_t])."""
    P, H, y = _encoder(torch, params, x, y, n)
    z, previous, loss = P["z_0"].expand(-1, H.shape[-1]), P["y_0"].expand(-1, H.shape[-1]), 0
    for t in range(n):
        z = torch.tanh(P["A"] @ z + P["B"] @ previous)
        alpha = torch.softmax(torch.einsum("jmb,mb->jb", H, z), dim=0)
        c = torch.einsum("jb,jmb->mb", alpha, H)
        attended = torch.tanh(P["W_c"] @ torch.cat([c, z]))
        loss = loss - (y[t] * torch.log_softmax(P["W_s"] @ attended, dim=0)).sum()
        previous = y[t]
    loss.backward()
    return float(loss.detach()), {k: v.grad.numpy() for k, v in P.items()}


def random_call(shapes: dict, n: int, B: int, d: int, K: int, seed: int = 0):
    """Parameters of the given shapes, inputs x (n, d, B) and one-hot targets y (n, K, B)."""
    rng = np.random.default_rng(seed)
    params = {k: 0.5 * rng.normal(size=s) for k, s in shapes.items()}
    x = rng.normal(size=(n, d, B))
    y = np.moveaxis(np.eye(K)[rng.integers(K, size=(n, B))], -1, -2)
    return params, x, y
