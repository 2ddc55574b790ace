"""Edge Jacobians, derived once per definition and instantiated per time step.

The Jacobian ``D(a -> b)`` of an edge is the derivative of ``b``'s own equation
in its argument ``a``, the other arguments held fixed. It is found by the chain
rule through the definition's expression tree, with each primitive's local rule
from the registry. Interims (``a^{(t)}``) are not graph nodes: the chain rule
goes through them, but their value is printed by name.

The derivation happens once per (definition, argument) with the loop index
``t`` and the length ``n`` left symbolic (a *template*); an edge of the
unrolled graph substitutes its own time. So the symbolic work does not grow
with ``n``.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from symrnn.errors import SpecError
from symrnn.model.declared import Apply, Kind, Model, Ref, refs, shift
from symrnn.operations import algebra as al
from symrnn.operations.registry import get_rule
from symrnn.operations.symbols import IndexSum, J, T, Var, at_second_index


def symbolic(model: Model, expr) -> sp.Basic:
    """The SymPy value of a model expression (interims by name)."""
    if isinstance(expr, Ref):
        return model.var(expr.name).symbol(expr.time)
    return expr.prim.symbolic(*(symbolic(model, a) for a in expr.args))


def expand_interims(model: Model, expr):
    """``expr`` with every interim (``a^{(t+1)}``) replaced by its definition at that time.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> from symrnn.render.latex import latex
    >>> m = elman()
    >>> latex(expand_interims(m, template(m, "h", Ref("h", T - 1))))
    "\\\\operatorname{diag}(g'(W^{hx} x^{(t)} + W^{hh} h^{(t-1)} + b^{h})) W^{hh}"
    """
    if al.is_scalar(expr):
        return expr
    mapping = {}
    for var in expr.atoms(Var):
        decl = model.var(var.name)
        if decl.kind is Kind.INTERIM and type(var) is Var:
            inner = model.definition(decl.name).expr
            mapping[var] = expand_interims(model, symbolic(model, shift(inner, var.time) if decl.timed else inner))
    return expr.xreplace(mapping) if mapping else expr


def interims_read(model: Model, exprs) -> list[str]:
    """The interims that the expressions read, each once, in order (by display within one expression),
    then those their definitions read (a ``let`` of a ``let``: each is defined where it is printed)."""
    names: list[str] = []
    todo = list(exprs)
    while todo:
        expr = todo.pop(0)
        atoms = set() if al.is_scalar(expr) else expr.atoms(Var)
        for var in sorted(atoms, key=lambda a: a.display):
            if model.var(var.name).kind is Kind.INTERIM and var.name not in names:
                names.append(var.name)
                todo.append(symbolic(model, model.definition(var.name).expr))
    return names


def _local_jacobian(model: Model, expr, parent: Ref, out):
    """d expr / d parent through the expression tree, an interim being a leaf; None when independent."""
    if isinstance(expr, Ref):
        return sp.S.One if expr == parent else None
    args = [symbolic(model, a) for a in expr.args]
    total = None
    for i, arg in enumerate(expr.args):
        inner = _local_jacobian(model, arg, parent, args[i])
        if inner is None:
            continue
        if i in expr.prim.nondiff:
            raise SpecError(f"{parent.name} is an argument of {expr.prim.name} that cannot be differentiated")
        local = get_rule(expr.prim, i).jacobian(tuple(args), out)
        total = al.add(total, al.mul(local, inner))
    return _under_sum(expr, parent, total)


def _under_sum(expr, parent: Ref, total):
    """The derivative of a sum over the second index ``j`` from that of its summand: a read at ``j``
    (``h_j`` in ``\\sum_j \\alpha_{t,j} h_j``) is one term of the sum, its edge sits at that ``j``; any other
    read is differentiated under the sum."""
    if total is None or expr.prim.inner is None or at_second_index(parent.time):
        return total
    return IndexSum(total, J, *expr.prim.inner)


def _interim_definition(model: Model, ref: Ref):
    decl = model.var(ref.name)
    inner = model.definition(decl.name).expr
    return shift(inner, ref.time) if decl.timed else inner


def _jacobian(model: Model, expr, parent: Ref, out):
    """d expr / d parent by the chain rule; None when expr does not depend on parent.

    An interim is an intermediate variable: ``d expr/d z`` (summed over the places ``expr``
    reads ``z``) times ``d z/d parent``, so a gate read twice is differentiated once.
    """
    parts = [(_position(expr, parent), _local_jacobian(model, expr, parent, out))]
    for ref in model.interim_refs(expr):
        if _depends(model, ref, parent):
            through = _jacobian(model, _interim_definition(model, ref), parent, symbolic(model, ref))
            parts.append((_position(expr, ref), al.mul(_local_jacobian(model, expr, ref, out), through)))
    return al.add(*(part for _, part in sorted(parts, key=lambda kv: kv[0])))


def _depends(model: Model, expr, parent: Ref) -> bool:
    if isinstance(expr, Apply):
        return any(_depends(model, a, parent) for a in expr.args)
    return _ref_depends(model, expr, parent)


@lru_cache(maxsize=1 << 16)  # an interim's dependence found once, not once per reader (a long let chain)
def _ref_depends(model: Model, expr: Ref, parent: Ref) -> bool:
    if expr == parent:
        return True
    decl = model.var(expr.name)
    if decl.kind is Kind.INTERIM:
        inner = model.definition(decl.name).expr
        return _depends(model, shift(inner, expr.time) if decl.timed else inner, parent)
    return False


def _local_vjp(model: Model, expr, parent: Ref, out, v):
    """The cotangent of ``parent`` from cotangent ``v`` of ``expr`` through the tree, interims being leaves."""
    if isinstance(expr, Ref):
        return v if expr == parent else None
    args = [symbolic(model, a) for a in expr.args]
    total = None
    for i, arg in enumerate(expr.args):
        if not _depends_here(arg, parent):
            continue
        if i in expr.prim.nondiff:
            raise SpecError(f"{parent.name} is an argument of {expr.prim.name} that cannot be differentiated")
        local = get_rule(expr.prim, i).vjp(v, tuple(args), out)
        total = al.add(total, _local_vjp(model, arg, parent, args[i], local))
    return _under_sum(expr, parent, total)


def _depends_here(expr, parent: Ref) -> bool:
    if isinstance(expr, Ref):
        return expr == parent
    return any(_depends_here(a, parent) for a in expr.args)


def _vjp(model: Model, expr, parent: Ref, out, v):
    """The cotangent of ``parent`` given cotangent ``v`` of ``expr`` (whose value is ``out``).

    Reverse mode over the interims: the cotangents of an interim from all its readers are
    summed before going through its definition, latest interim first (an interim reads
    only earlier ones), so each gate is differentiated once, as a textbook writes it. The
    terms are then written in the order the equation reads them.
    """
    declared = {v.name: k for k, v in enumerate(model.variables)}
    parts = [((_position(expr, parent),), _local_vjp(model, expr, parent, out, v))]
    pending: dict[Ref, object] = {}
    keys: dict[Ref, tuple] = {}

    def push(e, e_out, cotangent, key):
        for ref in model.interim_refs(e):
            if _depends(model, ref, parent):
                pending[ref] = al.add(pending.get(ref), _local_vjp(model, e, ref, e_out, cotangent))
                keys[ref] = min(keys.get(ref, (float("inf"),)), key + (_position(e, ref),))

    push(expr, out, v, ())
    while pending:
        ref = max(pending, key=lambda r: declared[r.name])
        cotangent = pending.pop(ref)
        inner, value = _interim_definition(model, ref), symbolic(model, ref)
        parts.append((keys[ref] + (_position(inner, parent),), _local_vjp(model, inner, parent, value, cotangent)))
        push(inner, value, cotangent, keys[ref])
    return al.add(*(part for _, part in sorted(parts, key=lambda kv: kv[0])))


def _position(expr, ref: Ref) -> float:
    """Where ``ref`` is first read in ``expr``, reading left to right (inf if not at all)."""
    leaves = list(refs(expr))
    return leaves.index(ref) if ref in leaves else float("inf")


@lru_cache(maxsize=4096)  # bounded: keyed by models and lengths
def vjp_template(model: Model, target: str, parent: Ref, v):
    """The VJP of ``target``'s definition in ``parent`` for cotangent ``v``: shaped like ``parent``.

    The denominator-layout twin of :func:`template` (``J^T v`` without forming ``J``),
    through interims, with every primitive's VJP rule from the registry.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> from symrnn.render.latex import latex
    >>> m = elman(g="tanh"); v = Var("v", None, *m.var("h").shape, "v")
    >>> latex(vjp_template(m, "h", Ref("h", T - 1), v))
    'W^{hh\\\\top} (v \\\\odot (\\\\mathbf{1} - h^{(t)} \\\\odot h^{(t)}))'
    """
    decl = model.var(target)
    out = decl.symbol(T if decl.timed else None)
    expr = model.definition(target).expr
    if not _depends(model, expr, parent):
        raise SpecError(f"{target} does not depend on {parent.name}")
    return _vjp(model, expr, parent, out, v)


@lru_cache(maxsize=4096)  # bounded: keyed by models and lengths
def template(model: Model, target: str, parent: Ref):
    """The Jacobian of ``target``'s definition in ``parent``, with ``t`` and ``n`` symbolic.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> from symrnn.render.latex import latex
    >>> latex(template(elman(), "h", Ref("h", T - 1)))
    "\\\\operatorname{diag}(g'(a^{(t)})) W^{hh}"
    """
    decl = model.var(target)
    out = decl.symbol(T if decl.timed else None)
    jac = _jacobian(model, model.definition(target).expr, parent, out)
    if jac is None:
        raise SpecError(f"{target} does not depend on {parent.name}")
    return jac


def parent_refs(model: Model, target: str) -> list[Ref]:
    """The distinct graph-node reads of ``target``'s definition, through interims, in order."""
    found: list[Ref] = []

    def walk(expr):
        if isinstance(expr, Apply):
            for a in expr.args:
                walk(a)
            return
        decl = model.var(expr.name)
        if decl.kind is Kind.INTERIM:
            inner = model.definition(decl.name).expr
            walk(shift(inner, expr.time) if decl.timed else inner)
        elif decl.kind is not Kind.LABEL and expr not in found:
            found.append(expr)

    walk(model.definition(target).expr)
    return found
