"""The primitives a model is written with, and their local rules.

Each primitive knows its output shape, its symbolic value (a SymPy matrix
expression, for printing), its numeric value (for the forward pass), and
registers its Jacobian and VJP in :mod:`symrnn.operations.registry` right here,
next to its definition.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache

import sympy as sp
from sympy import Identity

from symrnn.errors import ShapeError
from symrnn.operations import algebra as al
from symrnn.operations.functions import FUNCTIONS, bound, function, reciprocal_of
from symrnn.operations.registry import ANY, defrule
from symrnn.operations.symbols import (
    Basis,
    Component,
    Concat,
    Elementwise,
    IndexSum,
    J,
    LogSoftmax,
    N,
    Selector,
    Softmax,
    SquaredNorm,
    SumOver,
)

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
    inner : tuple or None
        For a sum over the second time index ``j`` (:func:`inner_sum`), the ``(start, stop)`` of the
        steps it sums over; its argument reads ``j``.
    text : callable
        ``text(args) -> str``: how the model language writes it, from its arguments
        already written (and bracketed by :func:`write`).
    spellings : tuple of str
        For a primitive written as a call (``LS(l)``), its names in the text format.
    tight : bool
        Its operands that are sums or elementwise products are bracketed (products, negation).
    loose : bool
        It is bracketed as an operand of a tight primitive (sums, elementwise products).
    constant : sympy expression or None
        For multiplication by a constant (:func:`scale`), the constant.
    """

    name: str
    arity: int | None
    shape: Callable
    symbolic: Callable
    numeric: Callable
    nondiff: frozenset = field(default_factory=frozenset)
    function: str | None = None
    over: tuple | None = None
    inner: tuple | None = None
    text: Callable = None
    spellings: tuple[str, ...] = ()
    tight: bool = False
    loose: bool = False
    constant: sp.Expr | None = None

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
    if not _eq(shapes[0][0], shapes[1][0]):  # the label's range must be the vector's components
        raise ShapeError(f"{names[0]} has {shapes[0][0]} components but the label {names[1]} ranges over "
                         f"1..{shapes[1][0]}; they must match")
    return (sp.S.One, sp.S.One)


# -- numeric helpers: THE implementation of each, through ``xp`` only and functional (JAX arrays
# cannot be assigned into), for a column (r, 1), a batch in columns (r, B) or a stack of steps
# (steps, r, B). The forward pass, the compiled gradient and generated modules all use them.
def softmax(xp, v):
    """Softmax down each column, shifted by the maximum so that it never overflows."""
    e = xp.exp(v - xp.max(v, axis=-2, keepdims=True))
    return e / xp.sum(e, axis=-2, keepdims=True)


def logsoftmax(xp, v):
    """Log-softmax down each column, shifted by the maximum so that it never overflows."""
    top = xp.max(v, axis=-2, keepdims=True)
    return v - top - xp.log(xp.sum(xp.exp(v - top), axis=-2, keepdims=True))


def basis(xp, y, size):
    """The one-hot columns e_y (labels 1..size), one per label in ``y``: a row of labels gives (size, B);
    a stack of steps of them, (steps, 1, B), gives (steps, size, B)."""
    y = xp.asarray(y)
    if y.ndim < 2:
        y = y.reshape(1, -1)
    return (xp.arange(int(size))[:, None] == (y - 1)) * xp.ones(())  # 1s of the array module: exact ones exact


def component(xp, q, y):
    """Component y of each column of q (labels 1..K): a row of one number per sequence."""
    return xp.sum(q * basis(xp, y, q.shape[-2]), axis=-2, keepdims=True)


def selector(xp, sizes, k):
    """The block column [0; I; 0] that picks block k of a CONCAT of vectors of these sizes."""
    sizes = [int(s) for s in sizes]
    parts = [xp.eye(s) if j == k else xp.zeros((s, sizes[k])) for j, s in enumerate(sizes)]
    return xp.concatenate(parts, axis=0)


def concat(xp, parts):
    """Columns stacked into one column, per sequence (and per step, for a stack of steps)."""
    lead = max((tuple(p.shape[:-2]) for p in parts), key=len)
    batch = max(p.shape[-1] for p in parts)
    return xp.concatenate([p if tuple(p.shape) == lead + (p.shape[-2], batch)
                           else xp.broadcast_to(p, lead + (p.shape[-2], batch)) for p in parts], axis=-2)


def _pick_numeric(xp, args, bindings):
    q, y = args
    y = int(y)
    if not 1 <= y <= q.shape[0]:
        raise ShapeError(f"label {y} is outside 1..{q.shape[0]}")
    return q[y - 1 : y, :]


def _call(spelling: str) -> Callable:
    return lambda a: f"{spelling}({', '.join(a)})"


def write(prim: Primitive, args: list[tuple[str, Primitive | None]]) -> str:
    """How the model language writes ``prim`` of its arguments, each given as ``(text, primitive or None)``.

    Examples
    --------
    >>> write(MATVEC, [("W", None), ("a + b", ADD)]), write(ADD, [("a", None), ("-b", NEG)])
    ('W (a + b)', 'a - b')
    """
    # products read left to right (W x \odot U h is (W x) \odot U, then h): a right operand that is a
    # product, a negation or a sum is bracketed, a left one only when it is a sum
    return prim.text([f"({text})" if prim.tight and inner is not None and (inner.loose or k and inner.tight) else text
                      for k, (text, inner) in enumerate(args)])


MATVEC = Primitive("matvec", 2, _matvec_shape, lambda W, x: al.mul(W, x), lambda xp, a, b: a[0] @ a[1],
                   text=" ".join, tight=True)
ADD = Primitive("add", None, _same_shape, lambda *a: al.add(*a), lambda xp, a, b: sum(a[1:], a[0]),
                text=lambda a: " + ".join(a).replace("+ -", "- "), loose=True)
NEG = Primitive("neg", 1, lambda s, n: s[0], al.neg, lambda xp, a, b: -a[0], text=lambda a: "-" + a[0],
                tight=True)
LOGSOFTMAX = Primitive("LS", 1, _column_shape, LogSoftmax, lambda xp, a, b: logsoftmax(xp, a[0]),
                       text=_call(r"\text{LS}"), spellings=("LS",))
def subscripted(base: str, sub: str) -> str:
    """``base`` with the subscript ``sub``, merged into a subscript ``base`` ends with (``q_{t}``, ``y_{t}``:
    ``q_{t, y_{t}}``, as students write a label per step; never a double subscript).

    Examples
    --------
    >>> subscripted("q", "y"), subscripted("q_{t}", "y_{t}"), subscripted("q^{(t)}", "y")
    ('q_{y}', 'q_{t, y_{t}}', 'q^{(t)}_{y}')
    """
    merged = re.fullmatch(r"(?P<base>.*)_\{(?P<sub>(?:[^{}]|\{[^{}]*\})*)\}", base)
    if merged and "^" not in base[merged.end("base"):]:
        return f"{merged.group('base')}_{{{merged.group('sub')}, {sub}}}"
    return f"{base}_{{{sub}}}"


PICK = Primitive("pick", 2, _pick_shape, Component, _pick_numeric, frozenset({1}),
                 text=lambda a: subscripted(a[0], a[1]))
SOFTMAX = Primitive("softmax", 1, _column_shape, Softmax, lambda xp, a, b: softmax(xp, a[0]),
                    text=_call("softmax"), spellings=("softmax",))

#: Most vectors one CONCAT takes (it has one registered rule per argument).
MAX_CONCAT = 8
CONCAT = Primitive("CONCAT", None, _concat_shape, lambda *a: Concat(*a), lambda xp, a, b: xp.concatenate(a, axis=0),
                   text=_call(r"\text{CONCAT}"), spellings=("CONCAT", "concat"))
HADAMARD = Primitive("hadamard", 2, _hadamard_shape, al.hadamard, lambda xp, a, b: a[0] * a[1],
                     text=" \\odot ".join, tight=True, loose=True)
ONE_MINUS = Primitive("one_minus", 1, lambda s, n: s[0], lambda z: al.sub(al.ones(z.shape[0]), z),
                      lambda xp, a, b: 1.0 - a[0], text=lambda a: f"(1 - {a[0]})", tight=True)
INNER = Primitive("inner", 2, _inner_shape, lambda a, c: al.mul(al.transpose(a), c), lambda xp, a, b: a[0].T @ a[1],
                  text=lambda a: f"{a[0]}^{{\\top}} {a[1]}", tight=True)
SQNORM = Primitive("sqnorm", 1, _scalar_out, SquaredNorm, lambda xp, a, b: a[0].T @ a[0],
                   text=lambda a: f"({a[0]})^2")

def _divide_shape(shapes, names):
    (a, b), (c, d) = shapes
    if _eq(c, 1) and _eq(d, 1) or _eq(a, c) and _eq(b, d):
        return shapes[0]
    raise ShapeError(f"cannot divide {names[0]} ({al.fmt_shape(shapes[0])}) by {names[1]} ({al.fmt_shape(shapes[1])}): "
                     "the divisor is a number (1 x 1) or has the shape of the dividend (componentwise)")


def _quotient(a, b):
    """``a / b``: ``a`` times ``1/b`` for a 1 x 1 ``b``, componentwise otherwise."""
    return al.mul(a, reciprocal_of(b)) if al.is_one_by_one(b) and not al.is_one_by_one(a) else \
        al.hadamard(a, reciprocal_of(b))


#: ``a / b``, ``\frac{a}{b}``: by a number (a 1 x 1 expression: ``\frac{a - \mu}{\sigma}``) or componentwise.
DIVIDE = Primitive("divide", 2, _divide_shape, _quotient, lambda xp, a, b: a[0] / a[1],
                   text=lambda a: rf"\frac{{{a[0]}}}{{{a[1]}}}")


def _sum_components_shape(shapes, names):
    _vector(shapes[0], names[0], "the sum of components")
    return (sp.S.One, sp.S.One)


#: The sum of a vector's components, ``\mathbf{1}^{\top} v`` (``\operatorname{sum}(v)``); the mean is it over the size.
SUM_COMPONENTS = Primitive("sum_components", 1, _sum_components_shape,
                           lambda a: al.mul(al.transpose(al.ones(a.shape[0])), a),
                           lambda xp, a, b: xp.sum(a[0], axis=-2, keepdims=True),
                           text=_call(r"\operatorname{sum}"), spellings=("sum",))


@cache  # a registry: one primitive per size, its rules registered once
def broadcast(rows) -> Primitive:
    """A number (1 x 1) as a vector of ``rows`` equal components, ``s \\mathbf{1}``: a sum of a vector and a
    number (``a_t - \\mu_t``) adds the number to every component.

    Examples
    --------
    >>> broadcast(sp.Symbol("m")).shape([(1, 1)], ["s"])
    (m, 1)
    """
    rows = sp.sympify(rows)

    def shape(shapes, names):
        if not (_eq(shapes[0][0], 1) and _eq(shapes[0][1], 1)):
            raise ShapeError(f"only a number (1 x 1) is added to every component, not {names[0]}")
        return (rows, sp.S.One)

    prim = Primitive(f"broadcast {rows}", 1, shape, lambda s: al.mul(al.ones(rows), s),
                     lambda xp, a, b: a[0] * xp.ones((int(constant_value(rows, dict(b or ()).get(SIZES, {}))), 1)),
                     text=lambda a: a[0])
    defrule(prim, 0, jacobian=lambda args, out: al.ones(rows),
            vjp=lambda v, args, out: al.mul(al.transpose(al.ones(rows)), v))
    return prim


@cache  # a registry: one primitive per size
def zeros(rows) -> Primitive:
    """The zero vector of ``rows`` components, a state's start as handouts write it (``h_0 = 0``): no
    arguments, so nothing is differentiated through it.

    Examples
    --------
    >>> zeros(sp.Symbol("m")).shape([], []), zeros(sp.Symbol("m")).text([])
    ((m, 1), '0 \\\\in \\\\mathbb{R}^{m}')
    """
    rows = sp.sympify(rows)

    def numeric(xp, args, bindings):
        return xp.zeros((int(constant_value(rows, dict(bindings or ()).get(SIZES, {}))), 1))

    return Primitive(f"zeros {rows}", 0, lambda s, n: (rows, sp.S.One), lambda: al.zeros(rows, 1), numeric,
                     text=lambda a: rf"0 \in \mathbb{{R}}^{{{rows}}}")


@cache  # a registry: one primitive per constant, its rules registered once
def offset(c) -> Primitive:
    """The constant ``c`` added to every component: ``a + \\epsilon`` (``\\sqrt{v + 0.00001}``).

    Examples
    --------
    >>> offset(sp.Rational(1, 100)).text(["v"]), offset(sp.Integer(-2)).text(["v"])
    ('v + \\\\frac{1}{100}', 'v - 2')
    """
    c = sp.sympify(c)
    negative = c.could_extract_minus_sign()
    written = constant_text(-c if negative else c)

    def numeric(xp, args, bindings):
        return args[0] + constant_value(c, dict(bindings or ()).get(SIZES, {}), args[0])

    prim = Primitive(f"offset {c}", 1, lambda s, n: s[0], lambda a: al.add(a, al.mul(c, al.ones(a.shape[0]))),
                     numeric, text=lambda a: f"{a[0]} {'-' if negative else '+'} {written}", loose=True)
    defrule(prim, 0, jacobian=lambda args, out: sp.S.One, vjp=lambda v, args, out: v)
    return prim


#: The primitives written as calls in the text format, by each of their spellings.
CALLS: dict[str, Primitive] = {name: prim for prim in (LOGSOFTMAX, SOFTMAX, CONCAT, SUM_COMPONENTS)
                               for name in prim.spellings}


def sum_over(start, stop, c=1) -> Primitive:
    """The sum over ``t = start..stop`` of a per-step variable (``L = sum_t L^{(t)}``), times the
    constant ``c`` (``\\frac{1}{n} \\sum_t L_t``, a mean).

    Examples
    --------
    >>> from symrnn.operations.symbols import N
    >>> sum_over(1, N).over, sum_over(1, N, 1 / N).constant
    ((1, n), 1/n)
    """
    return _sum_over(sp.sympify(start), sp.sympify(stop), sp.sympify(c))


@cache  # a registry: one primitive per loop and factor, its rules registered once
def _sum_over(start, stop, c) -> Primitive:
    def numeric(xp, args, bindings):
        raise TypeError("a sum over time is evaluated by the forward pass, step by step")

    written = "" if c == 1 else constant_text(c) + " "
    prim = Primitive("sum" if c == 1 else f"sum {c}", 1, lambda s, n: s[0],
                     lambda a: SumOver(a, start, stop) if c == 1 else al.mul(c, SumOver(a, start, stop)), numeric,
                     over=(start, stop), text=lambda a: rf"{written}\sum_t {a[0]}", constant=None if c == 1 else c)
    defrule(prim, 0, jacobian=lambda args, out: c, vjp=lambda v, args, out: v if c == 1 else al.mul(c, v))
    return prim


# -- attention: a second time index j (symrnn.operations.symbols.J) ----------------------------------
#: The key of ``bindings`` under which the forward pass gives the value of the second index ``j``.
INDEX = "#j"


def inner_sum(start, stop) -> Primitive:
    """The sum over the second time index, ``\\sum_j`` for ``j = start..stop`` (attention's
    ``c_t = \\sum_j \\alpha_{t,j} h_j``): its argument reads ``j``, and the forward pass binds it at each step.

    Examples
    --------
    >>> inner_sum(1, N).inner, inner_sum(1, N).text(["x_{j}"])
    ((1, n), '\\\\sum_{j} x_{j}')
    """
    return _inner_sum(sp.sympify(start), sp.sympify(stop))


@cache  # a registry: one primitive per range, its rules registered once
def _inner_sum(start, stop) -> Primitive:
    def numeric(xp, args, bindings):
        raise TypeError("a sum over j is evaluated by the forward pass, step by step")

    # The chain rule through the sum is in symrnn.graph.jacobians: a read at j is one term of it (its
    # edge is at that j), any other read is differentiated under the sum.
    prim = Primitive("sum_j", 1, lambda s, n: s[0], lambda a: IndexSum(a, J, start, stop), numeric,
                     inner=(start, stop), text=lambda a: rf"\sum_{{j}} {a[0]}", tight=True)
    defrule(prim, 0, jacobian=lambda args, out: sp.S.One, vjp=lambda v, args, out: v)
    return prim


@cache  # a registry: one primitive per size
def basis_at(size) -> Primitive:
    """The basis column ``e_j`` of ``size`` components at the second time index ``j``: a variable with two
    indices, ``e_{t,j} = s``, is the column ``e_t = \\sum_j e_j s`` of its values over ``j``.

    Examples
    --------
    >>> basis_at(N).shape([], [])
    (n, 1)
    """
    size = sp.sympify(size)

    def numeric(xp, args, bindings):
        given = dict(bindings or ())
        rows = int(constant_value(size, given.get(SIZES, {})))
        return basis(xp, given[INDEX], rows)

    return Primitive(f"basis_j {size}", 0, lambda s, n: (size, sp.S.One), lambda: Basis(J, size), numeric,
                     text=lambda a: r"e_{j}")


def _scalar_times_shape(shapes, names):
    (a, b), (c, d) = shapes
    if not (_eq(a, 1) and _eq(b, 1)):
        raise ShapeError(f"{names[0]} ({al.fmt_shape(shapes[0])}) is not a number (1 x 1)")
    _vector(shapes[1], names[1], "a number times a vector")
    return shapes[1]


#: A number times a vector, ``\alpha_{t,j} h_j``: the product ``h_j \alpha_{t,j}`` of a column and a 1 x 1 matrix.
SCALAR_TIMES = Primitive("scalar_times", 2, _scalar_times_shape, lambda s_, v: al.mul(v, s_),
                         lambda xp, a, b: a[0] * a[1], text=" ".join, tight=True)
defrule(SCALAR_TIMES, 0, jacobian=lambda args, out: args[1],
        vjp=lambda v, args, out: al.mul(al.transpose(args[1]), v))
defrule(SCALAR_TIMES, 1, jacobian=lambda args, out: al.kron(args[0], Identity(args[1].shape[0])),
        vjp=lambda v, args, out: al.mul(v, args[0]))


def _pick_at_shape(shapes, names):
    _vector(shapes[0], names[0], "the component at j")
    return (sp.S.One, sp.S.One)


def _pick_at_numeric(xp, args, bindings):
    return _pick_numeric(xp, [args[0], dict(bindings or ())[INDEX]], bindings)


#: Component ``j`` (the second time index) of a column: attention's weight ``\alpha_{t,j}`` of ``\alpha_t``.
PICK_AT = Primitive("pick_j", 1, _pick_at_shape, lambda a: Component(a, J), _pick_at_numeric,
                    text=lambda a: subscripted(a[0], "j"))
defrule(PICK_AT, 0, jacobian=lambda args, out: al.transpose(Basis(J, args[0].shape[0])),
        vjp=lambda v, args, out: al.mul(Basis(J, args[0].shape[0]), v))


#: The key of ``bindings`` (the third argument of a primitive's ``numeric``) under which the forward
#: pass gives the sizes and the length ``n`` by name, for constants such as ``1/n``.
SIZES = "#sizes"

#: The largest numerator or denominator of a written constant (``\\frac{1}{2}``, ``0.001``).
MAX_CONSTANT = 10**12


def constant(value, sizes=()) -> sp.Expr:
    """A constant factor of the model language, checked: a rational number, or one made of sizes
    and the length ``n`` (``1/n``, ``2/m``).

    Parameters
    ----------
    value : int, str, Fraction or sympy expression
        The number (``2``, ``"0.5"``, ``Fraction(1, 2)``) or an expression in sizes (``1 / n``).
        A float is read through its shortest decimal (``0.1`` is exactly 1/10).
    sizes : iterable of sympy symbols
        The sizes the expression may use besides ``n``.

    Examples
    --------
    >>> constant("0.5"), constant(3), constant(1 / N)
    (1/2, 3, 1/n)
    """
    if isinstance(value, bool):
        raise ShapeError(f"{value!r} is not a number")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ShapeError(f"a constant must be a finite number, got {value!r}")
        value = repr(value)
    if isinstance(value, (int, str, Fraction)):
        try:
            frac = Fraction(value)
        except (ValueError, ZeroDivisionError, OverflowError):
            raise ShapeError(f"{value!r} is not a number the model language writes (2, 0.5, 1/2)") from None
        if max(abs(frac.numerator), frac.denominator) > MAX_CONSTANT:
            raise ShapeError(f"the constant {value!s:.40} has more than {len(str(MAX_CONSTANT)) - 1} significant "
                             "digits (or a numerator or denominator above 10^12): round it")
        return sp.Rational(frac.numerator, frac.denominator)
    value = sp.sympify(value)
    allowed = {N, *sizes}
    if not isinstance(value, sp.Expr) or not value.free_symbols <= allowed or value.has(sp.zoo, sp.nan, sp.oo):
        names = ", ".join(sorted(str(s) for s in allowed))
        raise ShapeError(f"a constant is a number or made of the sizes ({names}), got {value}")
    for part in sp.preorder_traversal(value):
        if isinstance(part, sp.Rational) and max(abs(part.p), part.q) > MAX_CONSTANT:
            raise ShapeError(f"the constant {value} has more digits than the limit of {MAX_CONSTANT}")
        if isinstance(part, sp.Pow) and not (part.exp.is_Integer and abs(part.exp) <= 4):
            raise ShapeError(f"a constant raises sizes to whole powers up to 4, got {value}")
    return value


def constant_text(c: sp.Expr) -> str:
    """How the text format (and the LaTeX) writes a constant: ``2``, ``\\frac{1}{2}``, ``\\frac{1}{n}``.

    Examples
    --------
    >>> constant_text(sp.Rational(1, 2)), constant_text(sp.Integer(-3)), constant_text(2 / N)
    ('\\\\frac{1}{2}', '-3', '\\\\frac{2}{n}')
    """
    num, den = sp.fraction(sp.factor_terms(c))
    sign = "-" if num.could_extract_minus_sign() else ""
    num = -num if sign else num
    top, bottom = _product_text(num), _product_text(den)
    return sign + (top if bottom == "1" else rf"\frac{{{top}}}{{{bottom}}}")


def constant_value(c: sp.Expr, sizes: dict, like=None):
    """The number constant ``c`` stands for, given the sizes and ``n`` by name: a float, or a Fraction
    when ``like`` is an exact (object) array, so that exact mode stays exact.

    Examples
    --------
    >>> constant_value(1 / N, {"n": 4}), constant_value(sp.Rational(1, 2), {})
    (0.25, 0.5)
    """
    value = sp.sympify(c)
    if value.free_symbols:
        given = {s: sizes[str(s)] for s in value.free_symbols if str(s) in sizes}
        value = value.subs(given)
        if value.free_symbols:
            raise ShapeError(f"the constant {c} needs the values of {', '.join(sorted(map(str, value.free_symbols)))}")
        if not value.is_finite:
            at = ", ".join(f"{s} = {v}" for s, v in sorted(given.items(), key=str))
            raise ShapeError(f"the constant {constant_text(c)} divides by zero at {at}")
    if str(getattr(like, "dtype", "")) == "object" and value.is_Rational:
        return Fraction(int(value.p), int(value.q))
    return float(value)


def _product_text(e: sp.Expr) -> str:
    if e.is_Mul:
        return " ".join(_product_text(f) for f in sorted(e.args, key=lambda f: (not f.is_Number, str(f))))
    if e.is_Pow:
        return f"{_product_text(e.base)}^{{{e.exp}}}"
    return str(e)


@cache  # a registry: one primitive per constant (identity matters), its rules registered once
def scale(c: sp.Expr) -> Primitive:
    """Multiplication by the constant ``c`` (:func:`constant`): ``\\frac{1}{2} (h - y)^2``, ``2 a``.

    Its numbers read the sizes and the length from ``bindings`` when ``c`` has them.

    Examples
    --------
    >>> scale(sp.Rational(1, 2)).text(["a"])
    '\\\\frac{1}{2} a'
    """
    c = sp.sympify(c)

    def numeric(xp, args, bindings):
        return constant_value(c, dict(bindings or ()).get(SIZES, {}), args[0]) * args[0]

    written = constant_text(c)
    prim = Primitive(f"scale {c}", 1, lambda s, n: s[0], lambda a: al.mul(c, a), numeric,
                     text=lambda a: f"{written} {a[0]}", tight=True, constant=c)
    defrule(prim, 0, jacobian=lambda args, out: c, vjp=lambda v, args, out: al.mul(c, v))
    return prim


@cache  # a registry: one primitive per function (identity matters), its rules registered once
def elementwise(fname: str) -> Primitive:
    """The primitive applying function ``fname`` componentwise (``g``, ``tanh``, ...).

    Examples
    --------
    >>> elementwise("tanh") is elementwise("tanh")
    True
    """
    fn = function(fname)

    def numeric(xp, args, bindings):
        return bound(fname, dict(bindings or ())).value(xp, args[0])

    spelling = fn.spellings[0] if fn.spellings else fname
    text = (lambda a: fn.form.format(a[0])) if fn.form and fn.spellings else _call(spelling)  # \sqrt{a}
    prim = Primitive(fname, 1, _column_shape, lambda a: Elementwise(fname, a), numeric, function=fname,
                     text=text, spellings=fn.spellings)

    def derivative(args, out):
        return Elementwise(fn.name + "'", args[0]) if fn.derivative is None else fn.derivative(args[0], out)

    defrule(
        prim,
        0,
        jacobian=lambda args, out: al.diag(derivative(args, out)),
        vjp=lambda v, args, out: _scale(derivative(args, out), v),
    )
    return prim


def _scale(d, v):
    # the cotangent first, as the seeds write it: dL/dh_t \odot (1 - h_t^2)
    return v if isinstance(d, sp.OneMatrix) else al.hadamard(v, d)


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
defrule(DIVIDE, 0,  # d(a/b)/da: 1/b times the identity, or diag(1/b)
        jacobian=lambda args, out: (al.kron(reciprocal_of(args[1]), Identity(args[0].shape[0]))
                                    if al.is_one_by_one(args[1]) else al.diag(reciprocal_of(args[1]))),
        vjp=lambda v, args, out: _quotient(v, args[1]))
defrule(DIVIDE, 1,  # d(a/b)/db: -a / b^2, as a column for a number b, else diag(-a / b^2)
        jacobian=lambda args, out: (al.neg(al.mul(args[0], al.hadamard(reciprocal_of(args[1]), reciprocal_of(args[1]))))
                                    if al.is_one_by_one(args[1]) else
                                    al.diag(al.neg(al.hadamard(out, reciprocal_of(args[1]))))),
        vjp=lambda v, args, out: (al.neg(al.mul(al.transpose(out), v, reciprocal_of(args[1])))
                                  if al.is_one_by_one(args[1])
                                  else al.neg(al.hadamard(v, al.hadamard(out, reciprocal_of(args[1]))))))
defrule(SUM_COMPONENTS, 0, jacobian=lambda args, out: al.transpose(al.ones(args[0].shape[0])),
        vjp=lambda v, args, out: al.mul(al.ones(args[0].shape[0]), v))
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

for _fn in list(FUNCTIONS.values()):
    if not _fn.name.endswith("'"):
        elementwise(_fn.name)

#: The sum over ``t = 1..n`` (per-step losses), registered at import like the functions above.
SUM_T = sum_over(1, N)
#: The sum over ``j = 1..n`` (attention's context over an encoder of ``n`` steps), registered at import too.
SUM_J = inner_sum(1, N)
