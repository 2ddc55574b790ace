"""Building matrix expressions the way a derivation is written.

SymPy's constructors either canonicalise (reorder terms, merge ``h \\odot h``
into a Hadamard power) or skip shape checks. These helpers build unevaluated
SymPy objects in the order given, check shapes, and drop zero and identity
factors as they go, so nothing prints as ``... 1 + 0``.

A Jacobian may also be a SymPy number ``c``: it stands for ``c`` times the
identity of whatever size fits (the Jacobian of ``a + b`` is ``1``, of ``-a`` is
``-1``). ``None`` stands for "does not depend", the zero Jacobian.
"""

from __future__ import annotations

import sympy as sp
from sympy import (
    DiagMatrix,
    HadamardProduct,
    Identity,
    KroneckerProduct,
    MatAdd,
    MatMul,
    OneMatrix,
    Transpose,
    ZeroMatrix,
)

from symrnn.errors import ShapeError
from symrnn.operations.symbols import Basis, Component, Var, at_time_index


def same_dim(a: sp.Expr, b: sp.Expr) -> bool:
    """Whether two symbolic dimensions are equal (``m*d`` equals ``d*m``)."""
    return sp.expand(sp.sympify(a) - sp.sympify(b)) == 0


def fmt_shape(shape) -> str:
    return f"{shape[0]} x {shape[1]}"


def is_scalar(e) -> bool:
    """A SymPy number standing for a multiple of the identity."""
    return not isinstance(e, sp.MatrixExpr)


def mul(*factors):
    """Matrix product, left to right; identities and unit scalars dropped.

    Examples
    --------
    >>> m = sp.Symbol("m"); W = sp.MatrixSymbol("W", m, m)
    >>> mul(sp.S.One, Identity(m), W)
    W
    """
    coeff = sp.S.One
    mats: list = []
    for f in factors:
        if f is None:
            return None
        if is_scalar(f):
            coeff *= f
            continue
        if isinstance(f, MatMul):
            c, inner = f.as_coeff_matrices()
            coeff *= c
            parts = inner
        else:
            parts = [f]
        for p in parts:
            if isinstance(p, Identity):
                continue
            if mats and not same_dim(mats[-1].shape[1], p.shape[0]):
                raise ShapeError(
                    f"cannot multiply {fmt_shape(mats[-1].shape)} by {fmt_shape(p.shape)}: "
                    f"{mats[-1]} times {p}"
                )
            mats.append(p)
    if coeff == 0:
        return None
    mats = _components(mats)
    if not mats:
        return coeff
    if any(isinstance(p, ZeroMatrix) for p in mats):
        return None
    if coeff == 1 and len(mats) == 1:
        return mats[0]
    if coeff == 1:
        return MatMul(*mats, evaluate=False)
    return MatMul(coeff, *mats, evaluate=False)


def _components(mats: list) -> list:
    """``e_j^T v`` (a basis row at a time index, then a column) is the component ``v_j``: attention's
    ``\\frac{\\partial L}{\\partial e_{t,j}}`` rather than ``e_j^T \\frac{\\partial L}{\\partial e_t}``."""
    out: list = []
    for p in mats:
        last = out[-1] if out else None
        if isinstance(last, Transpose) and isinstance(last.arg, Basis) and at_time_index(last.arg.label) \
                and same_dim(p.shape[1], 1):
            out[-1] = Component(p, last.arg.label)
            continue
        if isinstance(p, Basis) and at_time_index(p.label) and last is not None and same_dim(last.shape[0], 1):
            out[-1] = Component(last, p.label)  # a row's entry, numerator layout: v e_j is v_j
            continue
        out.append(p)
    return out


def add(*terms):
    """Sum in the order given, ``None`` (zero) terms dropped, nested sums flattened, a term met twice
    written once with its count (``X + X`` is ``2 X``)."""
    kept: list = []
    for term in terms:
        if term is None or isinstance(term, ZeroMatrix):
            continue
        kept.extend(term.args if isinstance(term, MatAdd) else [term])
    if not kept:
        return None
    counts: dict = {}
    for k in kept:  # a term met twice is written once, doubled (the product rule on (a - mu) * (a - mu))
        counts[k] = counts.get(k, 0) + 1
    kept = [k if n == 1 else mul(n, k) for k, n in counts.items()]
    if len(kept) == 1:
        return kept[0]
    mats = [k for k in kept if not is_scalar(k)]
    if not mats:
        return sp.Add(*kept)
    shape = mats[0].shape
    if len(mats) < len(kept):
        if not same_dim(shape[0], shape[1]):
            raise ShapeError(f"cannot add a multiple of the identity to {fmt_shape(shape)} terms")
        # c stands for c I: a skip connection's Jacobian W + I
        eye = Identity(shape[0])
        kept = [k if not is_scalar(k) else eye if k == 1 else MatMul(k, eye, evaluate=False) for k in kept]
    for k in kept:
        if not (same_dim(k.shape[0], shape[0]) and same_dim(k.shape[1], shape[1])):
            raise ShapeError(f"cannot add {fmt_shape(k.shape)} to {fmt_shape(shape)}: {k}")
    return MatAdd(*kept, evaluate=False)


def neg(e):
    return mul(sp.S.NegativeOne, e)


def sub(a, b):
    return add(a, neg(b))


def is_one_by_one(e) -> bool:
    """A ``1 x 1`` matrix: a scalar model's values, where transposes and diag() are no-ops."""
    return not is_scalar(e) and e.shape[0] == 1 and e.shape[1] == 1


def transpose(e):
    if is_scalar(e) or is_one_by_one(e):
        return e
    if isinstance(e, Transpose):
        return e.arg
    return Transpose(e)


def hadamard(a, b):
    """Componentwise product ``a \\odot b`` (kept as written, never a power)."""
    if is_scalar(a) or is_scalar(b):
        return mul(a, b)
    if a.shape != b.shape and not (same_dim(a.shape[0], b.shape[0]) and same_dim(a.shape[1], b.shape[1])):
        raise ShapeError(f"cannot take the Hadamard product of {fmt_shape(a.shape)} and {fmt_shape(b.shape)}")
    if is_one_by_one(a):
        return mul(a, b)
    return HadamardProduct(a, b, evaluate=False)


def kron(a, b):
    if isinstance(b, Identity) and b.shape[0] == 1:
        return a
    return KroneckerProduct(a, b)


def diag(v):
    """``diag(v)`` of a column ``v``; ``None`` when ``v`` is the all-ones column."""
    if isinstance(v, OneMatrix):
        return sp.S.One
    if is_one_by_one(v):
        return v
    return DiagMatrix(v)


def zeros(rows, cols=1) -> ZeroMatrix:
    """The zero matrix of ``rows`` x ``cols`` (a zero column by default)."""
    return ZeroMatrix(rows, cols)


def ones(rows) -> OneMatrix:
    """The all-ones column ``\\mathbf{1}`` of size ``rows``."""
    return OneMatrix(rows, 1)


def onehot_facts(expr, onehots: frozenset):
    """``expr`` with ``\\mathbf{1}^\\top y`` (and ``y^\\top \\mathbf{1}``) written as 1 wherever ``y`` is one
    of the one-hot inputs named in ``onehots`` or a label's basis vector ``e_y`` (its components sum to 1): the
    softmax head's
    ``\\operatorname{softmax}(s) \\mathbf{1}^\\top y - y`` becomes ``\\operatorname{softmax}(s) - y``, and in
    numerator layout ``-y^\\top (I - \\mathbf{1} \\operatorname{softmax}(s)^\\top)`` becomes
    ``\\operatorname{softmax}(s)^\\top - y^\\top`` (the product expanded only where that applies)."""
    if is_scalar(expr) or not (onehots or expr.atoms(Basis)):
        return expr

    def onehot(e, transposed: bool) -> bool:
        inner = e.arg if transposed and isinstance(e, Transpose) else (None if transposed else e)
        return (isinstance(inner, Var) and inner.name in onehots) or isinstance(inner, Basis)

    def ones_t(e) -> bool:
        return isinstance(e, Transpose) and isinstance(e.arg, OneMatrix)

    def pair(a, b) -> bool:  # 1^T y or y^T 1
        return (ones_t(a) and onehot(b, False)) or (onehot(a, True) and isinstance(b, OneMatrix))

    def rewrite(m):
        args, out = list(m.args), []
        while args:
            a = args.pop(0)
            if args and pair(a, args[0]):
                args.pop(0)
                continue
            out.append(a)
        return mul(*out) if out else sp.S.One

    def apply(e):
        return e.replace(lambda x: isinstance(x, MatMul) and any(
            pair(a, b) for a, b in zip(x.args, x.args[1:], strict=False)), rewrite)

    found = apply(expr)
    if found != expr:
        return found
    if any(onehot(t, True) for t in expr.atoms(Transpose)):  # -y^T (I - 1 p^T): expanded, if that helps
        expanded = expr.expand()
        simplified = apply(expanded)
        if simplified != expanded:
            return simplified
    return expr
