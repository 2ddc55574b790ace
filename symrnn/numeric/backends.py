"""The table of array backends, imported lazily by name.

Only NumPy is required; CuPy runs the same code on an NVIDIA GPU when
installed. (JAX and PyTorch join this table with the compiled engine.)
"""

from __future__ import annotations

import importlib
from types import ModuleType

from symrnn.errors import NumericError

#: backend name -> (module to import, how to install it)
BACKENDS: dict[str, tuple[str, str]] = {
    "numpy": ("numpy", "pip install numpy"),
    "cupy": ("cupy", "pip install cupy-cuda12x (needs an NVIDIA GPU)"),
}


def array_module(name: str = "numpy") -> ModuleType:
    """The array module of backend ``name``, with a clear error when it is missing.

    Examples
    --------
    >>> array_module("numpy").__name__
    'numpy'
    """
    if name not in BACKENDS:
        raise NumericError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    module, how = BACKENDS[name]
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise NumericError(f"backend {name!r} needs {module}, which is not installed ({how}): {e}") from None


def to_numpy(a):
    """A host NumPy array from any backend's array."""
    return a.get() if hasattr(a, "get") else a
