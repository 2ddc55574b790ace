"""The table of array backends, imported lazily by name.

Only NumPy is required. CuPy runs the same code on an NVIDIA GPU, JAX (``jax.numpy``,
float64 enabled) and PyTorch on the CPU; each is imported only when asked for. The
compiled code calls a small part of NumPy's API through ``xp`` (``sum``, ``max``,
``ones``, ``concatenate``, ``broadcast_to``, ``where``, ``exp``, ...); NumPy, CuPy and
``jax.numpy`` have it, and :class:`TorchArrays` maps it onto torch.
"""

from __future__ import annotations

import importlib

import numpy as np

from symrnn.errors import NumericError

#: backend name -> (module to import, how to install it)
BACKENDS: dict[str, tuple[str, str]] = {
    "numpy": ("numpy", "pip install numpy"),
    "jax": ("jax", "pip install jax jaxlib (CPU)"),
    "torch": ("torch", "pip install torch==2.13.0 (the CPU build)"),
    "cupy": ("cupy", "pip install cupy-cuda12x (needs an NVIDIA GPU)"),
}


class TorchArrays:
    """NumPy's names for the torch functions the compiled code calls, in float64.

    The one torch shim: the compiled gradient uses it, and a generated torch module
    carries a copy of its source (so it must import nothing but torch).
    """

    def __init__(self, torch, device: str = "cpu"):
        self.torch, self.device = torch, device
        self.float64 = torch.float64
        for name in ("exp", "log", "sqrt", "tanh", "abs", "broadcast_to", "swapaxes", "ones_like", "zeros_like"):
            setattr(self, name, getattr(torch, name))

    def asarray(self, value, dtype=None):
        if isinstance(value, self.torch.Tensor):
            return value.to(self.device)
        return self.torch.as_tensor(value, dtype=self.float64, device=self.device)

    def sum(self, x, axis=None, keepdims=False):
        return self.torch.sum(x, dim=axis, keepdim=keepdims) if axis is not None else self.torch.sum(x)

    def max(self, x, axis=None, keepdims=False):
        return self.torch.amax(x, dim=axis, keepdim=keepdims)

    def ones(self, shape):
        return self.torch.ones(shape, dtype=self.float64, device=self.device)

    def zeros(self, shape):
        return self.torch.zeros(shape, dtype=self.float64, device=self.device)

    def eye(self, size):
        return self.torch.eye(int(size), dtype=self.float64, device=self.device)

    def arange(self, size):
        return self.torch.arange(int(size), device=self.device)

    def concatenate(self, parts, axis=0):
        return self.torch.cat(list(parts), dim=axis)

    def maximum(self, x, value):
        return self.torch.clamp(x, min=value)

    def where(self, condition, a, b):
        return self.torch.where(condition, self.torch.as_tensor(a, dtype=self.float64, device=self.device),
                                self.torch.as_tensor(b, dtype=self.float64, device=self.device))

    def ndim(self, x):
        return x.dim() if isinstance(x, self.torch.Tensor) else 0


def array_module(name: str = "numpy"):
    """The array namespace (``xp``) of backend ``name``, with a clear error when it is missing.

    Examples
    --------
    >>> array_module("numpy").__name__
    'numpy'
    """
    if name not in BACKENDS:
        raise NumericError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    module, how = BACKENDS[name]
    try:
        imported = importlib.import_module(module)
    except ImportError as e:
        raise NumericError(f"backend {name!r} needs {module}, which is not installed ({how}): {e}") from None
    if name == "jax":
        imported.config.update("jax_enable_x64", True)
        return importlib.import_module("jax.numpy")
    if name == "torch":
        return TorchArrays(imported)
    return imported


def to_numpy(a):
    """A host NumPy array from any backend's array."""
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    if hasattr(a, "get"):
        return a.get()
    return np.asarray(a)
