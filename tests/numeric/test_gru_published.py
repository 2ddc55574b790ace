"""The GRU's printed error terms against one published derivation (examples/gru/README.md).

The CRAN package rnn's vignette "GRU units" (Quast and Fichou) backpropagates the same cell,
``h_t = (1 - z_t) \\odot h_{t-1} + z_t \\odot g_t``, step by step. Its candidate error ``\\delta 10 =
\\delta 3 \\odot z_t \\odot \\tanh'`` is symrnn's; its update-gate error ``\\delta 11 = (\\delta 7 +
\\delta 8) \\odot \\sigma'(z_t) = \\delta 3 \\odot (g_t + z_t) \\odot \\sigma'`` is not: symrnn prints
``\\delta_z = (\\delta 3 \\odot g_t - \\delta 3 \\odot h_{t-1}) \\odot z_t \\odot (1 - z_t)``. Both are
compared here with torch autograd, independently of symrnn's code, on one step of the cell.
"""

import numpy as np
import pytest
from click.testing import CliRunner

from symrnn.cli import main

torch = pytest.importorskip("torch", reason="PyTorch is the independent autodiff reference")

PRINTED_DELTA_Z = (r"\delta_{z}^{(t)} &= (\frac{\partial o}{\partial h^{(t)}} \odot g(a^{(t)}) - "
                   r"\frac{\partial o}{\partial h^{(t)}} \odot h^{(t-1)}) \odot z^{(t)} \odot (\mathbf{1} - z^{(t)})")
PRINTED_DELTA_A = r"\frac{\partial o}{\partial h^{(t)}} \odot z^{(t)} \odot g'(a^{(t)})"


def _step(seed: int = 0, m: int = 4, d: int = 3):
    """One GRU step as the handout writes it, with the pre-activations as leaves of the graph."""
    rng = np.random.default_rng(seed)
    h = torch.tensor(rng.normal(size=m), dtype=torch.float64)
    zbar = torch.tensor(rng.normal(size=m), dtype=torch.float64, requires_grad=True)
    rbar = torch.tensor(rng.normal(size=m), dtype=torch.float64, requires_grad=True)
    x = torch.tensor(rng.normal(size=d), dtype=torch.float64)
    Wh, Uh = (torch.tensor(rng.normal(size=s), dtype=torch.float64) for s in ((m, d), (m, m)))
    u = torch.tensor(rng.normal(size=m), dtype=torch.float64)  # dL/dh_t: the error from above, delta 3
    z, r = torch.sigmoid(zbar), torch.sigmoid(rbar)
    a = Wh @ x + Uh @ (r * h)
    a.retain_grad()
    g = torch.tanh(a)
    h_new = (1 - z) * h + z * g
    (u @ h_new).backward()
    return {k: v.detach().numpy() for k, v in dict(h=h, z=z, g=g, u=u, dz=zbar.grad, da=a.grad).items()}


@pytest.mark.parametrize("seed", range(5))
def test_symrnns_update_gate_error_is_autograds_and_the_vignettes_is_not(seed):
    s = _step(seed)
    symrnn = (s["u"] * s["g"] - s["u"] * s["h"]) * s["z"] * (1 - s["z"])
    vignette = (s["u"] * s["g"] + s["u"] * s["z"]) * s["z"] * (1 - s["z"])  # delta 11 = (delta 7 + delta 8) sigma'
    assert np.allclose(symrnn, s["dz"], rtol=1e-12, atol=1e-14)
    assert not np.allclose(vignette, s["dz"], rtol=1e-3)
    candidate = s["u"] * s["z"] * (1 - s["g"] ** 2)  # delta 10 = delta 8 tanh'(g_t), and symrnn's
    assert np.allclose(candidate, s["da"], rtol=1e-12, atol=1e-14)


def test_the_compared_lines_are_what_symrnn_prints():
    out = CliRunner().invoke(main, ["derive", "gru", "--wrt", "U^{z}", "--n", "3", "--form", "closed",
                                    "--layout", "denominator"])
    assert out.exit_code == 0, out.output
    assert PRINTED_DELTA_Z in out.output
    assert PRINTED_DELTA_A in out.output
