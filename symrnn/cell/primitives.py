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
from symrnn.cell.symbols import (
    Basis,
    Component,
    Concat,
    Elementwise,
    LogSoftmax,
    N,
    Selector,
    Softmax,
    SquaredNorm,
    SumOver,
)
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
    function : str or None
        For an elementwise primitive, the name of its function.
    over : tuple or None
        For a sum over time, the ``(start, stop)`` of the loop it sums over; its
        argument is read at every step ``t`` of that loop.
    """

    name: str
    arity: int | None
    shape: Callable
    symbolic: Callable
    numeric: Callable
    nondiff: frozenset = field(default_factory=frozenset)
    function: str | None = None
    over: tuple | None = None

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


def _concat_shape(shapes, names):
    if len(shapes) > MAX_CONCAT:
        raise ShapeError(f"CONCAT takes at most {MAX_CONCAT} vectors, got {len(shapes)}")
    for s, nm in zip(shapes, names, strict=True):
        _vector(s, nm, "CONCAT")
    return (sp.Add(*(s[0] for s in shapes)), sp.S.One)


def _hadamard_shape(shapes, names):
    (a, b), (c, d) = shapes
    if not (_eq(a, c) and _eq(b, d)):
        raise ShapeError(
            f"cannot take the elementwise product of {names[0]} ({al.fmt_shape(shapes[0])}) and "
            f"{names[1]} ({al.fmt_shape(shapes[1])}): they must have the same shape"
        )
    return shapes[0]


def _inner_shape(shapes, names):
    _hadamard_shape(shapes, names)
    _vector(shapes[0], names[0], "an inner product")
    return (sp.S.One, sp.S.One)


def _scalar_out(shapes, names):
    _vector(shapes[0], names[0], "a squared norm")
    return (sp.S.One, sp.S.One)


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


def _softmax_numeric(xp, args, bindings):
    e = xp.exp(args[0] - args[0].max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


SOFTMAX = Primitive("softmax", 1, _column_shape, Softmax, _softmax_numeric)

#: Most vectors one CONCAT takes (it has one registered rule per argument).
MAX_CONCAT = 8
CONCAT = Primitive(
    "CONCAT", None, _concat_shape, lambda *a: Concat(*a), lambda xp, a, b: xp.concatenate(a, axis=0)
)
HADAMARD = Primitive("hadamard", 2, _hadamard_shape, al.hadamard, lambda xp, a, b: a[0] * a[1])
ONE_MINUS = Primitive(
    "one_minus", 1, lambda s, n: s[0], lambda z: al.sub(al.ones(z.shape[0]), z), lambda xp, a, b: 1.0 - a[0]
)
INNER = Primitive(
    "inner", 2, _inner_shape, lambda a, c: al.mul(al.transpose(a), c), lambda xp, a, b: a[0].T @ a[1]
)
SQNORM = Primitive("sqnorm", 1, _scalar_out, SquaredNorm, lambda xp, a, b: a[0].T @ a[0])


@cache
def sum_over(start, stop) -> Primitive:
    """The sum over ``t = start..stop`` of a per-step variable (``L = sum_t L^{(t)}``).

    Examples
    --------
    >>> from symrnn.cell.symbols import N
    >>> sum_over(1, N).over
    (1, n)
    """
    start, stop = sp.sympify(start), sp.sympify(stop)

    def numeric(xp, args, bindings):
        raise TypeError("a sum over time is evaluated by the forward pass, step by step")

    prim = Primitive("sum", 1, lambda s, n: s[0], lambda a: SumOver(a, start, stop), numeric,
                     over=(start, stop))
    defrule(prim, 0, jacobian=lambda args, out: sp.S.One, vjp=lambda v, args, out: v)
    return prim


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
    # the cotangent first, as the seeds write it: dL/dh_t \odot (1 - h_t^2)
    return v if isinstance(d, sp.OneMatrix) else al.hadamard(v, d)


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
# Written with the output p = softmax(a): D = diag(p) - p p^T, and J^T v = p \odot (v - 1 p^T v).
defrule(
    SOFTMAX,
    0,
    jacobian=lambda args, out: al.sub(al.diag(out), al.mul(out, al.transpose(out))),
    vjp=lambda v, args, out: al.hadamard(out, al.sub(v, al.mul(al.ones(out.shape[0]), al.transpose(out), v))),
)
defrule(
    PICK,
    0,
    jacobian=lambda args, out: al.transpose(Basis(args[1], args[0].shape[0])),
    vjp=lambda v, args, out: al.mul(Basis(args[1], args[0].shape[0]), v),
)

def _concat_rule(k: int) -> None:
    def selector(args):
        return Selector([a.shape[0] for a in args], k)

    defrule(CONCAT, k, jacobian=lambda args, out: selector(args),
            vjp=lambda v, args, out: al.mul(al.transpose(selector(args)), v))


for _k in range(MAX_CONCAT):
    _concat_rule(_k)
defrule(HADAMARD, 0, jacobian=lambda args, out: al.diag(args[1]),
        vjp=lambda v, args, out: al.hadamard(v, args[1]))
defrule(HADAMARD, 1, jacobian=lambda args, out: al.diag(args[0]),
        vjp=lambda v, args, out: al.hadamard(v, args[0]))
defrule(ONE_MINUS, 0, jacobian=lambda args, out: sp.S.NegativeOne, vjp=lambda v, args, out: al.neg(v))
defrule(INNER, 0, jacobian=lambda args, out: al.transpose(args[1]),
        vjp=lambda v, args, out: al.mul(args[1], v))
defrule(INNER, 1, jacobian=lambda args, out: al.transpose(args[0]),
        vjp=lambda v, args, out: al.mul(args[0], v))
defrule(SQNORM, 0, jacobian=lambda args, out: al.mul(sp.Integer(2), al.transpose(args[0])),
        vjp=lambda v, args, out: al.mul(sp.Integer(2), args[0], v))

for _name in ("tanh", "sigmoid", "relu", "identity", "g"):
    elementwise(_name)

#: The sum over ``t = 1..n`` (per-step losses), registered at import like the functions above.
SUM_T = sum_over(1, N)
