"""Generated code: a model's loss and gradients as a standalone module for NumPy, CuPy, JAX or PyTorch.

It stands beside the printers (its comments carry each line's LaTeX) and reads the
derivation objects and the array printers of :mod:`symrnn.numeric`.
"""

from symrnn.codegen.module import codegen

__all__ = ["codegen"]
