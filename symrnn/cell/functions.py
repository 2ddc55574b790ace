"""Elementwise transfer functions: their LaTeX, their NumPy value, their derivative.

A function is *abstract* when it has no numeric value (the handout's ``g``): it
prints as ``g`` and ``g'`` and must be bound to a concrete function (``tanh``,
``sigmoid``, ...) before anything is computed with numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from symrnn.errors import NumericError, UnknownNameError


@dataclass(frozen=True)
class Function:
    """One elementwise scalar function, applied componentwise to vectors.

    Parameters
    ----------
    name : str
        Key of the function (``"tanh"``, ``"g"``, ``"g'"``).
    latex : str
        How it prints (``r"\\tanh"``, ``"g"``, ``"g'"``).
    numeric : callable or None
        ``numeric(xp, a)`` with ``xp`` the array module; None when abstract.
    derivative : str or None
        Name of the derivative function, or None when the derivative is
        written with the output (tanh, sigmoid) or is 1 (identity).
    """

    name: str
    latex: str
    numeric: Callable | None
    derivative: str | None = None

    @property
    def abstract(self) -> bool:
        return self.numeric is None


def _sigmoid(xp, a):
    return 1.0 / (1.0 + xp.exp(-a))


FUNCTIONS: dict[str, Function] = {
    "tanh": Function("tanh", r"\tanh", lambda xp, a: xp.tanh(a)),
    "sigmoid": Function("sigmoid", r"\sigma", _sigmoid),
    "relu": Function("relu", r"\operatorname{relu}", lambda xp, a: xp.maximum(a, 0.0), "relu'"),
    "relu'": Function("relu'", r"\operatorname{relu}'", lambda xp, a: xp.where(a > 0, 1.0, 0.0)),
    "identity": Function("identity", r"\operatorname{id}", lambda xp, a: a),
}

#: Derivative of each concrete function as a function of its input, used when an
#: abstract ``g`` is bound to it for numbers (``g'`` then means this).
DERIVATIVE_VALUES: dict[str, Callable] = {
    "tanh": lambda xp, a: 1.0 - xp.tanh(a) ** 2,
    "sigmoid": lambda xp, a: _sigmoid(xp, a) * (1.0 - _sigmoid(xp, a)),
    "relu": FUNCTIONS["relu'"].numeric,
    "identity": lambda xp, a: xp.ones_like(a),
}

CONCRETE = ("tanh", "sigmoid", "relu", "identity")


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
    return FUNCTIONS.setdefault(name, Function(name, latex, None, name + "'"))


def function(name: str) -> Function:
    """Look a function up by name, with a clear error listing the known ones."""
    try:
        return FUNCTIONS[name]
    except KeyError:
        known = ", ".join(sorted(FUNCTIONS))
        raise UnknownNameError(f"unknown function {name!r}; known: {known}") from None


def numeric_value(name: str, bindings: dict[str, str] | None = None) -> Callable:
    """The NumPy implementation of function ``name``, resolving abstract ones.

    ``bindings`` maps an abstract function to a concrete one (``{"g": "tanh"}``);
    the derivative ``g'`` then follows.
    """
    bindings = bindings or {}
    fn = function(name)
    if not fn.abstract:
        return fn.numeric
    base = name[:-1] if name.endswith("'") else name
    if base in bindings:
        concrete = bindings[base]
        if concrete not in CONCRETE:
            raise NumericError(f"cannot bind {base} to {concrete!r}; choose one of {', '.join(CONCRETE)}")
        return DERIVATIVE_VALUES[concrete] if name.endswith("'") else FUNCTIONS[concrete].numeric
    raise NumericError(
        f"{base} is abstract and has no numeric value; bind it to a concrete function "
        f"(one of {', '.join(CONCRETE)}), e.g. model.bind({base}='tanh') or --g tanh"
    )


abstract_function("g")
