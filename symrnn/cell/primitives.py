"""The primitives a model is written with, and their local rules.

Each primitive knows its output shape, its symbolic value (a SymPy matrix
expression, for printing), its numeric value (for the forward pass), and
registers its Jacobian and VJP in :mod:`symrnn.cell.registry` right here,
next to its definition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import sympy as sp
from sympy import Identity

from symrnn.cell import algebra as al
from symrnn.cell.functions import function, numeric_value
from symrnn.cell.registry import ANY, defrule
from symrnn.cell.symbols import Basis, Component, Elementwise, LogSoftmax, Softmax
from symrnn.errors import ShapeError

Shape = tuple[sp.Expr, sp.Expr]


@dataclass(frozen=True, eq=False)
class Primitive:
    """An operation of the model language.

    Parameters
    ----------
    name : str
        Its name in messages and in the text format.
    arity : int or None
        Number of arguments; None for variadic (``add``).
    shape : callable
        ``shape(shapes, names) -> Shape``; raises ShapeError naming the operands.
    symbolic : callable
        ``symbolic(*args) -> MatrixExpr``: the output as a SymPy expression.
    numeric : callable
        ``numeric(xp, args, bindings) -> array``: the output as numbers.
    nondiff : frozenset of int
        Arguments that are not differentiable (integer labels).
    """

    name: str
    arity: int | None
    shape: Callable
    symbolic: Callable
    numeric: Callable
    nondiff: frozenset = field(default_factory=frozenset)
    function: str | None = None

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def _eq(a, b) -> bool:
    return al.same_dim(a, b)


def _vector(shape: Shape, name: str, what: str) -> None:
    if not _eq(shape[1], 1):
        raise ShapeError(f"{what} needs a column vector, but {name} is {al.fmt_shape(shape)}")


def _matvec_shape(shapes, names):
    (r, c), (xr, xc) = shapes
    _vector((xr, xc), names[1], "a matrix-vector product")
    if not _eq(c, xr):
        raise ShapeError(
            f"{names[0]} is {r} x {c} but multiplies {names[1]}, a vector of size {xr}; "
            f"expected a vector of size {c}"
        )
    return (r, sp.S.One)


def _same_shape(shapes, names):
    first = shapes[0]
    for s, nm in zip(shapes[1:], names[1:], strict=True):
        if not (_eq(s[0], first[0]) and _eq(s[1], first[1])):
            raise ShapeError(
                f"cannot add {nm} ({al.fmt_shape(s)}) to {names[0]} ({al.fmt_shape(first)}): "
                "terms of a sum must have the same shape"
            )
    return first


def _column_shape(shapes, names):
    _vector(shapes[0], names[0], "this function")
    return shapes[0]


def _pick_shape(shapes, names):
    _vector(shapes[0], names[0], "picking a component")
    return (sp.S.One, sp.S.One)


def _logsumexp(xp, v):
    top = v.max(axis=0, keepdims=True)
    return top + xp.log(xp.exp(v - top).sum(axis=0, keepdims=True))


def _pick_numeric(xp, args, bindings):
    q, y = args
    y = int(y)
    if not 1 <= y <= q.shape[0]:
        raise ShapeError(f"label {y} is outside 1..{q.shape[0]}")
    return q[y - 1 : y, :]


MATVEC = Primitive(
    "matvec", 2, _matvec_shape, lambda W, x: al.mul(W, x), lambda xp, a, b: a[0] @ a[1]
)
ADD = Primitive("add", None, _same_shape, lambda *a: al.add(*a), lambda xp, a, b: sum(a[1:], a[0]))
NEG = Primitive("neg", 1, lambda s, n: s[0], al.neg, lambda xp, a, b: -a[0])
LOGSOFTMAX = Primitive(
    "LS", 1, _column_shape, LogSoftmax, lambda xp, a, b: a[0] - _logsumexp(xp, a[0])
)
PICK = Primitive("pick", 2, _pick_shape, Component, _pick_numeric, frozenset({1}))


@cache
def elementwise(fname: str) -> Primitive:
    """The primitive applying function ``fname`` componentwise (``g``, ``tanh``, ...).

    Examples
    --------
    >>> elementwise("tanh") is elementwise("tanh")
    True
    """
    fn = function(fname)

    def numeric(xp, args, bindings):
        return numeric_value(fname, bindings)(xp, args[0])

    prim = Primitive(
        fname, 1, _column_shape, lambda a: Elementwise(fname, a), numeric, function=fname
    )
    derivative = _DERIVATIVES.get(fname) or (lambda a, out: Elementwise(fn.derivative, a))
    defrule(
        prim,
        0,
        jacobian=lambda args, out: al.diag(derivative(args[0], out)),
        vjp=lambda v, args, out: _scale(derivative(args[0], out), v),
    )
    return prim


def _scale(d, v):
    return v if isinstance(d, sp.OneMatrix) else al.hadamard(d, v)


# Derivatives written with the output, so printed Jacobians read like the handouts.
_DERIVATIVES: dict[str, Callable] = {
    "tanh": lambda a, out: al.sub(al.ones(out.shape[0]), al.hadamard(out, out)),
    "sigmoid": lambda a, out: al.hadamard(out, al.sub(al.ones(out.shape[0]), out)),
    "identity": lambda a, out: al.ones(out.shape[0]),
}

defrule(
    MATVEC,
    0,
    jacobian=lambda args, out: al.kron(al.transpose(args[1]), Identity(args[0].shape[0])),
    vjp=lambda v, args, out: al.mul(v, al.transpose(args[1])),
)
defrule(
    MATVEC,
    1,
    jacobian=lambda args, out: args[0],
    vjp=lambda v, args, out: al.mul(al.transpose(args[0]), v),
)
defrule(ADD, ANY, jacobian=lambda args, out: sp.S.One, vjp=lambda v, args, out: v)
defrule(NEG, 0, jacobian=lambda args, out: sp.S.NegativeOne, vjp=lambda v, args, out: al.neg(v))
defrule(
    LOGSOFTMAX,
    0,
    jacobian=lambda args, out: al.sub(
        Identity(args[0].shape[0]), al.mul(al.ones(args[0].shape[0]), al.transpose(Softmax(args[0])))
    ),
    vjp=lambda v, args, out: al.sub(
        v, al.mul(Softmax(args[0]), al.transpose(al.ones(args[0].shape[0])), v)
    ),
)
defrule(
    PICK,
    0,
    jacobian=lambda args, out: al.transpose(Basis(args[1], args[0].shape[0])),
    vjp=lambda v, args, out: al.mul(Basis(args[1], args[0].shape[0]), v),
)

for _name in ("tanh", "sigmoid", "relu", "identity", "g"):
    elementwise(_name)
