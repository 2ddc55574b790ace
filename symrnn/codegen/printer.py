"""The printer of generated code: the column printer with each variable a look-up at its time.

It prints through ``xp`` like the compiled gradient's printer, and adds what a module needs:
a timed variable is a look-up in its timeline (``h[t-1]``) or, for all steps at once, a slice
of it; a product of a matrix with a stack of steps is one product of the steps side by side;
an elementwise function is a call of its one implementation, and a derivative is read from
the function's value where a variable holds it (``1 - h^2`` for ``h = tanh(a)``).
"""

from __future__ import annotations

import keyword
from typing import TYPE_CHECKING

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from symrnn.codegen.timing import py_time, timed
from symrnn.errors import NumericError
from symrnn.numeric.printers import HELPERS, ColumnPrinter
from symrnn.numeric.printers import _is_column as is_column
from symrnn.numeric.printers import _is_number as is_number
from symrnn.operations.functions import FUNCTIONS
from symrnn.operations.symbols import J, N, S, T, TotalDerivative

if TYPE_CHECKING:
    from symrnn.codegen.generator import Generator

#: Names a generated module uses for itself; a variable with one of them is renamed (:func:`var_name`).
RESERVED = {"t", "n", "i", "xp", "B", "sum", "range", "len", "params", "inputs", "labels", "grads", "grad",
            "loss", "state", "jax", "torch", "TorchArrays", "side_by_side", "unside", *HELPERS,
            *(f.value.__name__ for f in FUNCTIONS.values() if f.value is not None)}


#: The loop variables of a sum over the second index j and over a reader's steps s (a module's own names
#: start with an underscore, so no model variable is called so).
INDICES = {J: "_j", S: "_s"}
_INDEX_SYMBOLS = {k: sp.Symbol(v) for k, v in INDICES.items()}


class Block(MatrixExpr):
    """Rows ``start`` to ``start + size`` of ``arg``: one gate's part of a stacked product.

    Examples
    --------
    >>> from symrnn.operations.symbols import Var
    >>> m = sp.Symbol("m"); s = Var("s0", None, 4 * m, 1, "s")
    >>> Block(s, m, m).shape
    (m, 1)
    """

    def __new__(cls, arg, start, size):
        return sp.Basic.__new__(cls, arg, sp.sympify(start), sp.sympify(size))

    @property
    def arg(self):
        return self.args[0]

    @property
    def shape(self):
        return (self.args[2], self.arg.shape[1])

    def _symrnn_latex(self, printer) -> str:
        stop = self.args[1] + self.args[2]
        return rf"\left[{printer._print(self.arg)}\right]_{{{printer._print(self.args[1])}:{printer._print(stop)}}}"


def var_name(decl_name: str) -> str:
    """The Python name of a model variable in a generated module: its own name where that is safe,
    else ``v_`` and its name.

    Safe means not a keyword or a name the module uses (:data:`RESERVED`), and not starting with
    ``_`` (the module's helpers), ``d_`` (the adjoints, ``d_h``) or ``v_``. So no two variables,
    and no variable and adjoint, ever share a name: a parameter ``d_l`` beside a variable ``l``
    is ``v_d_l``, the adjoint of ``l`` is ``d_l``.

    Examples
    --------
    >>> var_name("h"), var_name("lambda"), var_name("grads"), var_name("d_l"), var_name("v_x")
    ('h', 'v_lambda', 'v_grads', 'v_d_l', 'v_v_x')
    """
    safe = not (decl_name in RESERVED or keyword.iskeyword(decl_name) or decl_name.startswith(("_", "d_", "v_")))
    return decl_name if safe else "v_" + decl_name


class CodePrinter(ColumnPrinter):
    """The engine's column printer, leaner, with variables as look-ups at their times.

    ``span`` is None inside a loop over ``t`` (``h[t-1]``), or ``(lo, hi)``: the expression for
    every ``t`` from ``lo`` to ``hi`` at once, each timed variable a slice of its timeline
    (``h[lo-1:hi]``), a stack of steps that broadcasts like one step.
    """

    def _print_Rational(self, expr):
        return f"{expr.p}/{expr.q}"  # a generated module computes in floats

    def __init__(self, gen: Generator, span=None):
        super().__init__({"strict": True})
        self.gen, self.span = gen, span

    def _print_Symbol(self, expr):
        if expr in INDICES:  # the second index j and a reader's step s: loop variables of the module
            return INDICES[expr]
        return super()._print_Symbol(expr)

    def _print_IndexSum(self, expr):
        low, high = (py_time(b) for b in expr.bounds)
        index = INDICES[expr.index]
        return f"sum({self._print(expr.arg)} for {index} in range({low}, {high}+1))"

    def _print_Var(self, expr):
        name = self.gen.adjoint_array(expr) if isinstance(expr, TotalDerivative) else var_name(expr.name)
        if expr.time is None:
            return name
        if name in self.gen.locals and self.span is None:
            return name  # an interim of this step only
        time = sp.expand(sp.sympify(expr.time))
        first, last = self.gen.valid.get(name, (sp.Integer(0), N + 1))
        if time.has(*INDICES):  # at the second index j, or at a reader's step s
            return f"{name}[{py_time(sp.expand(time - first).xreplace(_INDEX_SYMBOLS))}]"
        if self.span is None or not time.has(T):
            return f"{name}[{py_time(time - first)}]"
        k = time - T
        start, stop = sp.expand(self.span[0] + k - first), sp.expand(self.span[1] + 1 + k - first)
        length = sp.expand(last - first + 1)
        if start == 0 and sp.expand(stop - length) == 0:
            return name
        return f"{name}[{'' if start == 0 else py_time(start)}:{'' if stop == length else py_time(stop)}]"

    def _atom(self, expr) -> bool:
        return isinstance(expr, Block) or super()._atom(expr)

    def _print_Block(self, expr):
        start, stop = py_time(expr.args[1]), py_time(expr.args[1] + expr.args[2])
        if self.span is not None and self.stacked(expr.arg):
            return f"{self._wrap(expr.arg)}[:, {start}:{stop}]"
        return f"{self._wrap(expr.arg)}[{start}:{stop}]"

    @staticmethod
    def stacked(expr) -> bool:
        """Whether ``expr`` is a stack of steps in span mode (it reads a variable at a time in t)."""
        return any(sp.sympify(v.time).has(T) for v in timed(expr))

    def _print_TotalDerivative(self, expr):
        return self._print_Var(expr)

    def _chain(self, mats) -> tuple[str, bool]:
        if self.span is None or any(m.has(J, S) for m in mats):  # a step's part of a sum over j or s: as it is
            return super()._chain(mats)
        # every step at once: a matrix on a stack of steps is one product of the steps side by side
        out, shape, atom = self._print(mats[-1]), mats[-1].shape, self._atom(mats[-1])
        stacked = self.stacked(mats[-1])
        for left in reversed(mats[:-1]):
            if stacked and not self.stacked(left) and shape[0] != 1 and not is_number(left) and not (
                    isinstance(left, sp.Transpose) and (isinstance(left.arg, sp.OneMatrix) or is_column(left.arg))):
                steps = py_time(self.span[1] - self.span[0] + 1)
                out = f"unside(xp, {self._wrap(left)} @ {self.gen.flat(out)}, {steps}, B)"
                shape, atom = (left.shape[0], shape[1]), True
                continue
            stacked = stacked or self.stacked(left)
            out, shape, atom = self._apply(left, out, shape, atom)
        return out, atom

    def _print_Elementwise(self, expr):
        fname = expr.fname
        if fname.endswith("'"):  # a derivative: from the function's value where a variable holds it
            base = fname[:-1]
            fn = FUNCTIONS[self.gen.bindings.get(base, base)]
            output = self.gen.output_of(base, expr.arg)
            if output is not None and fn.derivative is not None:
                return self._wrap(fn.derivative(expr.arg, output))  # an Elementwise is an operand
            derivative = fn.derivative_at(expr.arg)
            if derivative != expr.func(fn.name + "'", expr.arg):  # written with the function (tanh: 1 - tanh^2)
                return self._wrap(derivative)
            fn = FUNCTIONS[fn.name + "'"]  # its own implementation (relu': a step)
        else:
            fn = FUNCTIONS[self.gen.bindings.get(fname, fname)]
        if fn.value is None:
            raise NumericError(f"codegen has no implementation of the function {fname!r}")
        self.gen.functions.add(fn.name)
        return f"{fn.value.__name__}(xp, {self._print(expr.arg)})"

    def _print_HadamardProduct(self, expr):
        return " * ".join(self._wrap(a) for a in expr.args)
