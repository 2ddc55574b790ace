"""Printing symbolic Jacobians as array code, and compiling them with ``lambdify``.

SymPy's NumPyPrinter refuses ``Identity(m)`` with a symbolic ``m`` and knows
none of symrnn's classes; this subclass adds them, writes every array call
through a module named ``xp`` (NumPy or CuPy), and prints variables by safe
identifiers, so ``lambdify`` never sees a LaTeX display name.
"""

from __future__ import annotations

from functools import cache

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from symrnn.cell import algebra as al
from symrnn.cell.functions import numeric_value
from symrnn.cell.symbols import Elementwise, I, Label, N, T, TotalDerivative, Var


def identifier(var: Var) -> str:
    """A Python identifier for a variable instance (``h[t-1]`` -> ``v_h_tm1``; its adjoint ``d_h_tm1``)."""
    prefix = "d" if isinstance(var, TotalDerivative) else "v"
    if var.time is None:
        return f"{prefix}_{var.name}"
    time = str(var.time).replace(" ", "").replace("-", "m").replace("+", "p")
    return f"{prefix}_{var.name}_{time}"


def function_identifier(fname: str) -> str:
    return "f_" + fname.replace("'", "_prime")


class ArrayPrinter(NumPyPrinter):
    """Array code for symrnn's matrix expressions, every call through ``xp``."""

    def _print_Var(self, expr):
        return identifier(expr)

    def _print_Label(self, expr):
        return expr.name

    def _print_Identity(self, expr):
        return f"xp.eye({self._print(expr.rows)})"

    def _print_OneMatrix(self, expr):
        return f"xp.ones(({self._print(expr.rows)}, {self._print(expr.cols)}))"

    def _print_ZeroMatrix(self, expr):
        return f"xp.zeros(({self._print(expr.rows)}, {self._print(expr.cols)}))"

    def _print_DiagMatrix(self, expr):
        return f"xp.diagflat({self._print(expr.args[0])})"

    def _print_Elementwise(self, expr):
        return f"{function_identifier(expr.fname)}(xp, {self._print(expr.arg)})"

    def _print_Softmax(self, expr):
        return f"softmax(xp, {self._print(expr.args[0])})"

    def _print_LogSoftmax(self, expr):
        return f"logsoftmax(xp, {self._print(expr.args[0])})"

    def _print_Basis(self, expr):
        return f"basis(xp, {self._print(expr.label)}, {self._print(expr.shape[0])})"

    def _print_Component(self, expr):
        y = self._print(expr.label)
        return f"({self._print(expr.arg)})[{y} - 1:{y}, :]"

    def _print_Concat(self, expr):
        return f"xp.concatenate([{', '.join(self._print(a) for a in expr.args)}], axis=0)"

    def _print_Selector(self, expr):
        sizes = ", ".join(self._print(s) for s in expr.sizes)
        return f"selector(xp, ({sizes},), {expr.k})"

    def _print_SquaredNorm(self, expr):
        arg = self._print(expr.arg)
        return f"(({arg}).T @ ({arg}))"

    def _print_Transpose(self, expr):
        return f"({self._print(expr.arg)}).T"

    def _print_MatMul(self, expr):
        coeff, mats = expr.as_coeff_matrices()
        body = " @ ".join(f"({self._print(m)})" for m in mats)
        return body if coeff == 1 else f"({self._print(coeff)}) * ({body})"

    def _print_MatAdd(self, expr):
        return "(" + " + ".join(f"({self._print(a)})" for a in expr.args) + ")"

    def _print_HadamardProduct(self, expr):
        return "(" + " * ".join(f"({self._print(a)})" for a in expr.args) + ")"

    def _print_KroneckerProduct(self, expr):
        return f"xp.kron({', '.join(self._print(a) for a in expr.args)})"


def softmax(xp, v):
    """Softmax down each column (a batch of columns, or a stack of them), through ``xp`` only."""
    e = xp.exp(v - xp.max(v, axis=-2, keepdims=True))
    return e / xp.sum(e, axis=-2, keepdims=True)


def logsoftmax(xp, v):
    """Log-softmax down each column, shifted by the maximum so that it never overflows."""
    top = xp.max(v, axis=-2, keepdims=True)
    return v - top - xp.log(xp.sum(xp.exp(v - top), axis=-2, keepdims=True))


def _selector(xp, sizes, k):
    """The block column [0; I; 0] that picks block k of a CONCAT of vectors of these sizes."""
    sizes = [int(s) for s in sizes]
    parts = [xp.eye(s) if j == k else xp.zeros((s, sizes[k])) for j, s in enumerate(sizes)]
    return xp.concatenate(parts, axis=0)


def _basis(xp, y, size):
    e = xp.zeros((int(size), 1))
    e[int(y) - 1, 0] = 1.0
    return e


def arguments(expr) -> tuple:
    """The arguments a compiled expression takes: its variables, then labels, then sizes."""
    atoms = expr.atoms(Var, Label, sp.Symbol)
    variables = sorted((a for a in atoms if isinstance(a, Var)), key=identifier)
    labels = sorted((a for a in atoms if isinstance(a, Label)), key=str)
    sizes = sorted((a for a in atoms if type(a) is sp.Symbol and a not in (T, N, I)), key=str)
    return tuple(variables + labels + sizes)


@cache
def compile_expr(expr, bindings: tuple = ()):
    """``lambdify`` a matrix expression; returns ``(function, arguments)``.

    The function takes ``xp`` (the array module) then the arguments. ``bindings``
    is a tuple of ``(abstract, concrete)`` function names.

    Examples
    --------
    >>> import numpy as np
    >>> m = sp.Symbol("m"); h = Var("h", None, m, 1, "h")
    >>> f, args = compile_expr(al.sub(al.ones(m), al.hadamard(h, h)))
    >>> f(np, np.array([[0.5], [2.0]]), 2).ravel().tolist()
    [0.75, -3.0]
    """
    args = arguments(expr)
    namespace = {"softmax": softmax, "logsoftmax": logsoftmax, "basis": _basis, "selector": _selector}
    for f in expr.atoms(Elementwise):
        namespace[function_identifier(f.fname)] = numeric_value(f.fname, dict(bindings))
    # lambdify checks argument names with its own printer: give it plain MatrixSymbols
    # named by identifier, never a Var whose repr is not a Python name.
    plain = {a: sp.MatrixSymbol(identifier(a), *a.shape) for a in args if isinstance(a, Var)}
    xp = sp.Symbol("xp")
    fn = sp.lambdify((xp, *(plain.get(a, a) for a in args)), expr.xreplace(plain), modules=[namespace],
                     printer=ArrayPrinter({"strict": True}), dummify=False, docstring_limit=0)
    return fn, args


def evaluate(expr, values: dict, xp, bindings: tuple = (), shape=None):
    """Numeric value of ``expr`` with ``values`` for its arguments (Var, Label or size symbol).

    A scalar ``c`` (standing for ``c`` times the identity) needs ``shape``.
    """
    if al.is_scalar(expr):
        return float(expr) * xp.eye(int(shape[0]), int(shape[1]))
    fn, args = compile_expr(expr, bindings)
    return fn(xp, *(values[a] for a in args))
