"""The array printers: symbolic expressions as array code, and compiling them with ``lambdify``.

SymPy's NumPyPrinter refuses ``Identity(m)`` with a symbolic ``m`` and knows
none of symrnn's classes; :class:`ArrayPrinter` adds them, writes every array call
through a module named ``xp`` (NumPy, CuPy, ``jax.numpy`` or the torch shim), and
prints variables by safe identifiers, so ``lambdify`` never sees a LaTeX display
name. :class:`ColumnPrinter` is the same for a batch kept in columns (the compiled
gradient); the generated modules' printer subclasses it. Every helper the printed
code calls (softmax, the one-hot basis, the elementwise functions) is the one
implementation in :mod:`symrnn.operations`.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from symrnn.errors import NumericError, SymRNNError
from symrnn.model.declared import MAX_ENTRIES
from symrnn.operations import algebra as al
from symrnn.operations import primitives as P
from symrnn.operations.functions import FUNCTIONS, bind
from symrnn.operations.symbols import (
    Basis,
    Component,
    Concat,
    Elementwise,
    I,
    Label,
    LogSoftmax,
    Selector,
    Softmax,
    T,
    TotalDerivative,
    Var,
)


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

    def _print_Rational(self, expr):
        # an exact 1 of the array module times p / q: a Fraction in exact mode, a float otherwise
        return f"(xp.ones(()) * {expr.p} / {expr.q})"

    def _print_Pow(self, expr, rational=False):
        # a size or n divided by (1/n): through an exact 1 of the array module, as a Rational
        if expr.exp.is_Integer and expr.exp < 0 and expr.base.is_Symbol:
            power = "" if expr.exp == -1 else f" ** {-expr.exp}"
            return f"(xp.ones(()) / {self._print(expr.base)}{power})"
        return super()._print_Pow(expr, rational=rational)

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
        if al.same_dim(expr.arg.shape[0], 1) and not al.same_dim(expr.arg.shape[1], 1):  # a row's entry
            return f"({self._print(expr.arg)})[:, {y} - 1:{y}]"
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


def arguments(expr) -> tuple:
    """The arguments a compiled expression takes: its variables, then labels, then sizes."""
    atoms = expr.atoms(Var, Label, sp.Symbol)
    variables = sorted((a for a in atoms if isinstance(a, Var)), key=identifier)
    labels = sorted((a for a in atoms if isinstance(a, Label)), key=str)
    sizes = sorted((a for a in atoms if type(a) is sp.Symbol and a not in (T, I)), key=str)  # n: 1/n
    return tuple(variables + labels + sizes)


def _is_column(e) -> bool:
    return not al.is_scalar(e) and e.shape[1] == 1


def _is_number(e) -> bool:
    return al.is_scalar(e) or (e.shape[0] == 1 and e.shape[1] == 1)


def _is_atom(expr) -> bool:
    """Whether printed ``expr`` needs no parentheses as an operand."""
    if isinstance(expr, (Var, Elementwise, Softmax, LogSoftmax, Basis, Component, Concat, Selector)):
        return True
    return isinstance(expr, sp.Transpose) and isinstance(expr.arg, Var)


class ColumnPrinter(ArrayPrinter):
    """Array code for a batch in columns: a per-sequence vector of size r is ``(r, B)``.

    A product is ``@`` (a matrix on a batch of columns, or an outer product, which then
    sums over the batch: a parameter's gradient), ``*`` when a factor is one number per
    sequence (``1 x 1``), and a column-wise dot for ``a^T b`` with ``a`` a column. Operands
    are bracketed only where Python's precedence needs it, so generated modules read well.
    """

    #: Set when the printed code holds an outer product with a parameter's row (summed over the batch).
    outer_products = False

    def _atom(self, expr) -> bool:
        """Whether printed ``expr`` needs no parentheses as an operand."""
        return _is_atom(expr)

    def _wrap(self, expr) -> str:
        text = self._print(expr)
        return text if self._atom(expr) or al.is_scalar(expr) and sp.sympify(expr) >= 0 else f"({text})"

    def _print_Transpose(self, expr):
        return f"{self._wrap(expr.arg)}.T"

    def _apply(self, left, out: str, shape: tuple, atom: bool) -> tuple[str, tuple, bool]:
        """``left`` times the printed product ``out`` (of ``shape``): the new text, shape and atomicity."""
        right = out if atom else f"({out})"
        if isinstance(left, sp.Transpose) and isinstance(left.arg, sp.OneMatrix) and shape[1] == 1:
            out = f"xp.sum({out}, axis=-2, keepdims=True)"  # 1^T v: the sum down each column
        elif isinstance(left, sp.Transpose) and _is_column(left.arg) and shape[1] == 1:
            out = f"xp.sum({self._wrap(left.arg)} * {right}, axis=-2, keepdims=True)"
        elif isinstance(left, sp.MatrixExpr) and _is_number(left) and shape[0] == 1 and not al.same_dim(shape[1], 1):
            out = f"{self._wrap(left)}.T * {right}"  # a number per sequence (1, B) times a row per sequence (B, k)
        elif _is_number(left) or (shape[0] == 1 and shape[1] == 1):
            out = f"{self._wrap(left)} * {right}"
        elif shape[0] == 1:  # an outer product a u^T: u may be a parameter, the same for every column
            out = f"outer(xp, {self._print(left)}, {out})"
            self.outer_products = True
        else:
            out = f"{self._wrap(left)} @ {right}"
        return out, (left.shape[0], shape[1]), False

    def _scaled(self, coeff, out: str, atom: bool) -> str:
        if coeff == 1:
            return out
        if coeff == -1:
            return f"-{out}" if atom else f"-({out})"
        return f"{self._print(coeff)} * {out if atom else f'({out})'}"

    def _chain(self, mats) -> tuple[str, bool]:
        """A product of matrices, right to left as a chain of vector-Jacobian products is read
        (``softmax(l) (1^T v)``): its text and whether that is an atom."""
        out, shape, atom = self._print(mats[-1]), mats[-1].shape, self._atom(mats[-1])
        for left in reversed(mats[:-1]):
            out, shape, atom = self._apply(left, out, shape, atom)
        return out, atom

    def _print_MatMul(self, expr):
        coeff, mats = expr.as_coeff_matrices()
        return self._scaled(coeff, *self._chain(mats))

    def _print_MatAdd(self, expr):
        out = ""
        for k, term in enumerate(expr.args):
            coeff, mats = term.as_coeff_matrices() if isinstance(term, sp.MatMul) else (1, None)
            if k and mats and coeff.could_extract_minus_sign():  # a term with a minus sign: a - b
                text, atom = self._chain(mats)
                out += " - " + (self._scaled(-coeff, text, atom) if coeff != -1 or atom else f"({text})")
                continue
            # a matrix of ones added to same-shaped terms is the number 1, broadcast
            text = "1.0" if isinstance(term, sp.OneMatrix) else self._print(term)
            out += f" + {text}" if k else text
        return out

    def _print_HadamardProduct(self, expr):
        return " * ".join(self._wrap(a) for a in expr.args)

    def _print_DiagMatrix(self, expr):
        raise SymRNNError("the compiled gradient runs the denominator layout, which has no diag()")

    def _print_KroneckerProduct(self, expr):
        raise SymRNNError("the compiled gradient runs the denominator layout, which has no Kronecker product")

    def _print_Concat(self, expr):
        return f"concat(xp, [{', '.join(self._print(a) for a in expr.args)}])"

    def _print_Component(self, expr):
        return f"component(xp, {self._print(expr.arg)}, {self._print(expr.label)})"

    def _print_SquaredNorm(self, expr):
        arg = self._wrap(expr.arg)
        return f"xp.sum({arg} * {arg}, axis=-2, keepdims=True)"


def outer(xp, a, u):
    """``a u^T`` summed over the batch's columns; ``u^T`` is ``(1, k)`` for a parameter ``u``."""
    if u.shape[0] != a.shape[1]:
        a = xp.sum(a, axis=1, keepdims=True)
    return a @ u


#: The helpers printed code calls by name, besides the elementwise functions.
HELPERS = {"softmax": P.softmax, "logsoftmax": P.logsoftmax, "basis": P.basis, "component": P.component,
           "selector": P.selector, "concat": P.concat, "outer": outer}


@lru_cache(maxsize=4096)
def compile_expr(expr, bindings: tuple = (), printer: type[ArrayPrinter] = ArrayPrinter):
    """``lambdify`` a matrix expression with ``printer``; returns ``(function, arguments)``.

    The function takes ``xp`` (the array module) then the arguments (:func:`arguments`).
    ``bindings`` is a tuple of ``(abstract, concrete)`` function names.

    Examples
    --------
    >>> import numpy as np
    >>> m = sp.Symbol("m"); h = Var("h", None, m, 1, "h")
    >>> f, args = compile_expr(al.sub(al.ones(m), al.hadamard(h, h)))
    >>> f(np, np.array([[0.5], [2.0]]), 2).ravel().tolist()
    [0.75, -3.0]
    """
    expr = bind(expr, dict(bindings))
    args = arguments(expr)
    namespace = dict(HELPERS)
    for f in expr.atoms(Elementwise):
        namespace[function_identifier(f.fname)] = FUNCTIONS[f.fname].value
    # lambdify checks argument names with its own printer: give it plain MatrixSymbols
    # named by identifier, never a Var whose repr is not a Python name.
    plain = {a: sp.MatrixSymbol(identifier(a), *a.shape) for a in args if isinstance(a, Var)}
    xp = sp.Symbol("xp")
    fn = sp.lambdify((xp, *(plain.get(a, a) for a in args)), expr.xreplace(plain), modules=[namespace],
                     printer=printer({"strict": True}), dummify=False, docstring_limit=0)
    return fn, args


def evaluate(expr, values: dict, xp, bindings: tuple = (), shape=None):
    """Numeric value of ``expr`` with ``values`` for its arguments (Var, Label or size symbol).

    A scalar ``c`` (standing for ``c`` times the identity) needs ``shape``.
    """
    if al.is_scalar(expr):  # a number, or made of sizes (1/n): the sizes are among the values
        number = P.constant_value(expr, {str(a): v for a, v in values.items() if type(a) is sp.Symbol})
        return number * xp.eye(int(shape[0]), int(shape[1]))
    sizes = {a: v for a, v in values.items() if type(a) is sp.Symbol}
    rows, cols = (int(sp.sympify(d).subs(sizes)) if sp.sympify(d).free_symbols <= set(sizes) else 0
                  for d in expr.shape)
    if rows * cols > MAX_ENTRIES:  # a Jacobian in a matrix's vec convention grows as its entries squared
        raise NumericError(f"a Jacobian of {rows} x {cols} = {rows * cols} entries, above the limit of "
                           f"{MAX_ENTRIES}; choose smaller sizes, or check the closed form in denominator layout "
                           "(--form closed --layout denominator), which has no such Jacobians")
    fn, args = compile_expr(expr, bindings)
    return fn(xp, *(values[a] for a in args))
