"""Elementwise functions: one record each, with everything symrnn knows of it.

A :class:`Function` holds a function's LaTeX, its spellings in the text format, its ONE
numeric implementation (``value(xp, a)``, through the array module ``xp``: the forward
pass, the compiled gradient and the generated modules all call it, the last by copying
its source) and its derivative as a symbolic expression, written with the function's
output where that is the textbook form (``tanh``: ``1 - out \\odot out``). Adding a
function is adding one record to :data:`FUNCTIONS` below.

A function is *abstract* when it has no numeric value (the handout's ``g``): it prints
as ``g`` and ``g'`` and must be bound to a concrete function (``tanh``, ``sigmoid``, ...)
before anything is computed with numbers; :func:`bind` does that to an expression.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from symrnn.errors import NumericError, UnknownNameError
from symrnn.operations import algebra as al
from symrnn.operations.symbols import Elementwise


@dataclass(frozen=True)
class Function:
    """One elementwise scalar function, applied componentwise to vectors.

    Parameters
    ----------
    name : str
        Key of the function (``"tanh"``, ``"g"``, ``"g'"``).
    latex : str
        How it prints (``r"\\tanh"``, ``"g"``, ``"g'"``).
    value : callable or None
        ``value(xp, a)``, the numeric implementation through the array module ``xp``;
        None when abstract.
    derivative : callable or None
        ``derivative(a, out)``: the symbolic derivative at argument ``a`` whose value is
        ``out``, as a column; None for ``name'`` applied to ``a``.
    spellings : tuple of str
        Its names in the text format; the first is the one ``symrnn show`` writes.
    smooth : bool
        False for a function with a kink (relu at 0), where finite differences may straddle it.
    form : str or None
        How it prints around its argument when not as ``latex(a)``: ``"\\sqrt{{{}}}"``.
    slope : float or None
        The largest ``|f'|`` over the reals (tanh: 1, sigmoid: 1/4), None where unbounded: the
        factor of the textbook bound on a product of recurrence Jacobians (:mod:`symrnn.flow.bound`).

    Examples
    --------
    >>> import numpy as np
    >>> FUNCTIONS["sigmoid"].value(np, np.zeros(2)).tolist(), FUNCTIONS["sigmoid"].latex
    ([0.5, 0.5], '\\\\sigma')
    """

    name: str
    latex: str
    value: Callable | None
    derivative: Callable | None = None
    spellings: tuple[str, ...] = ()
    smooth: bool = True
    form: str | None = None
    slope: float | None = None

    @property
    def abstract(self) -> bool:
        """Whether it has no numeric value until bound (``g``)."""
        return self.value is None

    def derivative_at(self, a):
        """The symbolic derivative at ``a``, its output written as the function of ``a``.

        Examples
        --------
        >>> import sympy as sp
        >>> from symrnn.operations.symbols import Var
        >>> a = Var("a", None, sp.Symbol("m"), 1, "a")
        >>> from symrnn.render.latex import latex
        >>> print(latex(FUNCTIONS["relu"].derivative_at(a)), latex(FUNCTIONS["tanh"].derivative_at(a)), sep="; ")
        \\operatorname{relu}'(a); \\mathbf{1} - \\tanh(a) \\odot \\tanh(a)
        """
        if self.derivative is None:
            return Elementwise(self.name + "'", a)
        return self.derivative(a, Elementwise(self.name, a))


# The numeric implementations: plain functions of (xp, a), so that generated modules copy their source.
def tanh(xp, a):
    return xp.tanh(a)


def sigmoid(xp, a):
    return 1.0 / (1.0 + xp.exp(-a))


def relu(xp, a):
    return xp.maximum(a, 0.0)


def relu_prime(xp, a):
    return xp.where(a > 0, 1.0, 0.0)


def identity(xp, a):
    return a


def softplus(xp, a):
    return xp.maximum(a, 0.0) + xp.log(1.0 + xp.exp(-xp.abs(a)))  # log(1 + e^a), never overflowing


def exp(xp, a):
    return xp.exp(a)


def log(xp, a):
    return xp.log(a)


def sqrt(xp, a):
    return xp.sqrt(a)


def reciprocal(xp, a):
    return 1 / a  # an int 1: exact rationals stay exact


def reciprocal_of(e):
    """``1/e`` componentwise, as a symbolic expression: division is a product with it."""
    return Elementwise("reciprocal", e)


def _one_minus_square(a, out):
    return al.sub(al.ones(out.shape[0]), al.hadamard(out, out))


def _out_times_one_minus(a, out):
    return al.hadamard(out, al.sub(al.ones(out.shape[0]), out))


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("tanh", r"\tanh", tanh, _one_minus_square, ("\\tanh", "tanh"), slope=1.0),
        Function("sigmoid", r"\sigma", sigmoid, _out_times_one_minus, ("\\sigma", "sigmoid", "sigma"),
                 slope=0.25),
        Function("relu", r"\operatorname{relu}", relu, None, ("relu", "ReLU"), smooth=False, slope=1.0),
        Function("relu'", r"\operatorname{relu}'", relu_prime, smooth=False),
        Function("identity", r"\operatorname{id}", identity, lambda a, out: al.ones(out.shape[0]),
                 ("identity", "id"), slope=1.0),
        Function("softplus", r"\operatorname{softplus}", softplus, lambda a, out: Elementwise("sigmoid", a),
                 ("softplus",), slope=1.0),
        Function("exp", r"\exp", exp, lambda a, out: out, (r"\exp", "exp")),
        Function("log", r"\log", log, lambda a, out: reciprocal_of(a), (r"\log", "log", r"\ln", "ln")),
        Function("sqrt", r"\sqrt", sqrt, lambda a, out: al.mul(sp.Rational(1, 2), reciprocal_of(out)),
                 (r"\sqrt", "sqrt"), form="\\sqrt{{{}}}"),
        # componentwise 1 / a: the division a / b is a times it (operations.primitives.DIVIDE)
        Function("reciprocal", "reciprocal", reciprocal, lambda a, out: al.neg(al.hadamard(out, out)),
                 form="\\frac{{1}}{{{}}}"),
    )
}


def abstract_function(name: str, latex: str | None = None) -> Function:
    """Return (and remember) the abstract function ``name`` and its derivative ``name'``.

    Examples
    --------
    >>> abstract_function("g").latex, FUNCTIONS["g'"].latex
    ('g', "g'")
    """
    if name in FUNCTIONS and not FUNCTIONS[name].abstract:
        raise UnknownNameError(f"{name!r} is a concrete function, not an abstract one")
    latex = latex or name
    FUNCTIONS.setdefault(name + "'", Function(name + "'", latex + "'", None))
    return FUNCTIONS.setdefault(name, Function(name, latex, None, None, (name,)))


def function(name: str) -> Function:
    """Look a function up by name, with a clear error listing the known ones.

    Examples
    --------
    >>> function("tanh").spellings[0]
    '\\\\tanh'
    """
    try:
        return FUNCTIONS[name]
    except KeyError:
        known = ", ".join(sorted(FUNCTIONS))
        raise UnknownNameError(f"unknown function {name!r}; known: {known}") from None


def concrete() -> list[str]:
    """The functions an abstract one may be bound to: those with a value and a derivative."""
    return [f.name for f in FUNCTIONS.values() if not f.abstract and not f.name.endswith("'")]


def bound(name: str, bindings: dict[str, str]) -> Function:
    """The concrete function that ``name`` (not a derivative) stands for under ``bindings``."""
    fn = function(name)
    if not fn.abstract:
        return fn
    if name not in bindings:
        raise NumericError(
            f"{name} is abstract and has no numeric value; bind it to a concrete function "
            f"(one of {', '.join(concrete())}), e.g. model.bind({name}='tanh') or --g tanh"
        )
    target = bindings[name]
    if target not in concrete():
        raise NumericError(f"cannot bind {name} to {target!r}; choose one of {', '.join(concrete())}")
    return FUNCTIONS[target]


def bind(expr, bindings: dict[str, str]):
    """``expr`` with every abstract function replaced by its binding (``g'(a)`` by tanh's ``1 - \\tanh(a)^2``).

    Examples
    --------
    >>> import sympy as sp
    >>> from symrnn.operations.symbols import Var
    >>> a = Var("a", None, sp.Symbol("m"), 1, "a")
    >>> from symrnn.render.latex import latex
    >>> print(latex(bind(Elementwise("g'", a), {"g": "sigmoid"})))
    \\sigma(a) \\odot (\\mathbf{1} - \\sigma(a))
    """
    if al.is_scalar(expr):
        return expr
    mapping = {}
    for f in expr.atoms(Elementwise):
        derivative = f.fname.endswith("'")
        base = f.fname[:-1] if derivative else f.fname
        if base not in FUNCTIONS or not FUNCTIONS[base].abstract:
            continue
        target, arg = bound(base, bindings), bind(f.arg, bindings)
        mapping[f] = target.derivative_at(arg) if derivative else Elementwise(target.name, arg)
    return expr.xreplace(mapping) if mapping else expr


abstract_function("g")
