"""Named error terms: the ``\\delta`` of each gate, as textbooks write a gated cell's BPTT.

A gate written as an interim, ``f_t = \\sigma(W_x^f x_t + W_h^f h_{t-1} + b^f)``, is a function
of a pre-activation ``\\bar{f}_t``. :func:`named_deltas` gives each such pre-activation a variable
of its own, so the recursion has a line for the total derivative in it, printed as the
textbooks' error term

    ``\\delta^{f}_{t} = \\frac{\\partial L}{\\partial \\bar{f}_{t}}``,

and the other lines read it by name: ``\\frac{\\partial L}{\\partial h_t} = W_h^{f\\top} \\delta^{f}_{t+1}
+ \\dots`` and ``\\frac{\\partial L}{\\partial W_x^f} = \\sum_t \\delta^{f}_{t} x_t^{\\top}``. The model
computes the same function (only the pre-activation is named), so every form of it is checked
numerically as any model's is.
"""

from __future__ import annotations

import dataclasses
import re

import sympy as sp

from symrnn.model.declared import Apply, Definition, Kind, Model, Ref, VarDecl
from symrnn.operations.primitives import MATVEC
from symrnn.operations.symbols import T


def gates(model: Model) -> list[VarDecl]:
    """The interims that are a function applied to a pre-activation (the gates of a gated cell).

    Examples
    --------
    >>> from symrnn import zoo
    >>> [g.latex for g in gates(zoo.lstm())]
    ['f_{{t}}', 'i_{{t}}', '\\\\tilde{c}_{{t}}', 'o_{{t}}']
    """
    found = []
    for d in model.definitions:
        decl = model.var(d.target)
        expr = d.expr
        if decl.kind is Kind.INTERIM and decl.timed and isinstance(expr, Apply) \
                and expr.prim.function not in (None, *NOT_ACTIVATIONS) and _affine(model, expr.args[0]) \
                and _loop_of(model, expr.args[0]) is not None:
            found.append(decl)
    return found


#: Elementwise functions that are not a unit's activation (a layer norm's \sqrt of a variance).
NOT_ACTIVATIONS = ("sqrt", "exp", "log", "reciprocal")


def _affine(model: Model, expr) -> bool:
    r"""Whether ``expr`` multiplies a variable by a parameter matrix (``W_x^f x_t + \dots``)."""
    if not isinstance(expr, Apply):
        return False
    if expr.prim is MATVEC and isinstance(expr.args[0], Ref) and model.var(expr.args[0].name).kind is Kind.PARAMETER:
        return True
    return any(_affine(model, a) for a in expr.args)


def gate_label(template: str) -> str:
    """The gate's name without its time: ``f_{{t}}`` -> ``f``, ``\\tilde{c}^{(t)}`` -> ``\\tilde{c}``."""
    label = re.sub(r"(_\{\{t\}\}|\^\{\(\{t\}\)\}|_\{\(\{t\}\)\}|\^\{\{t\}\})", "", template, count=1)
    return label if "{t}" not in label else template.replace("{t}", "")


def named_deltas(model: Model) -> Model:
    """``model`` with each gate's pre-activation a variable whose total derivative prints as
    ``\\delta^{gate}_{t}``; the same function, so its derivation checks as the model's does.

    Examples
    --------
    >>> from symrnn import latex, zoo
    >>> from symrnn.derive.adjoints import recursion
    >>> text = latex(recursion(named_deltas(zoo.lstm()), "Wx_f", "denominator"))
    >>> line = next(line for line in text.splitlines() if line.startswith(r"  \\delta^{f}"))
    >>> print(line.split(", ")[0])
      \\delta^{f}_{t} &= \\frac{\\partial L}{\\partial c_{t}} \\odot c_{t-1} \\odot f_{t} \\odot (\\mathbf{1} - f_{t})
    """
    found = {g.name for g in gates(model)}
    if not found:
        return model
    taken = {v.latex for v in model.variables} | {v.name for v in model.variables}
    variables, definitions = list(model.variables), []
    for d in model.definitions:
        if d.target not in found:
            definitions.append(d)
            continue
        decl = model.var(d.target)
        label = gate_label(decl.latex)
        upper = "^{({t})}" in decl.latex  # the model's own way of writing the time: r^{(t)} or r_{t}
        name = _free(f"{d.target}_pre", taken)
        latex = _free(rf"\bar{{{label}}}" + ("^{({t})}" if upper else "_{{t}}"), taken)
        delta = rf"\delta_{{{label}}}^{{({{t}})}}" if upper else rf"\delta^{{{label}}}_{{{{t}}}}"
        pre = VarDecl(name, Kind.DEFINED, decl.shape, latex, True, _loop_of(model, d.expr.args[0]), delta=delta)
        variables.insert(variables.index(decl), pre)
        definitions.append(Definition(name, d.expr.args[0]))
        definitions.append(Definition(d.target, Apply(d.expr.prim, (Ref(name, T), *d.expr.args[1:]))))
    return dataclasses.replace(model, variables=tuple(variables), definitions=tuple(definitions))


def _free(name: str, taken: set) -> str:
    while name in taken:
        name += "'"
    taken.add(name)
    return name


def _loop_of(model: Model, expr):
    """The loop of the variables ``expr`` reads at ``t`` (through interims), or None."""
    if isinstance(expr, Apply):
        for a in expr.args:
            loop = _loop_of(model, a)
            if loop is not None:
                return loop
        return None
    decl = model.var(expr.name)
    if decl.kind is Kind.INTERIM:
        return _loop_of(model, model.definition(expr.name).expr)
    if decl.timed and expr.time is not None and sp.sympify(expr.time).has(T):
        return decl.loop
    return None
