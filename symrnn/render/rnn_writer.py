"""A model printed back in the ``.rnn`` text format (``symrnn show``).

The output parses back (:func:`symrnn.model.rnn_reader.parse_spec`) to a model with the
same derivations: the tests check that for every zoo model.
"""

from __future__ import annotations

import sympy as sp

from symrnn.model.declared import Apply, Kind, Model, Ref, entry, refs
from symrnn.operations import primitives as P
from symrnn.operations.symbols import N, T, at_second_index, format_time


def _dim(e) -> str:
    return str(e).replace("*", "")


def _space(shape) -> str:
    rows, cols = shape
    if cols == 1:
        return rf"\mathbb{{R}}^{{{_dim(rows)}}}"
    return rf"\mathbb{{R}}^{{{_dim(rows)} \times {_dim(cols)}}}"


def _time(loop, time) -> str:
    """A time written with the loop's own index letter."""
    text = format_time(time)
    return text if loop is None or loop.index == "t" else format_time(sp.sympify(time).subs(T, sp.Symbol(loop.index)))


class _Printer:
    def __init__(self, model: Model):
        self.model = model

    def name(self, ref: Ref, loop=None) -> str:
        decl = self.model.var(ref.name)
        if not decl.timed or ref.time is None:
            return decl.latex
        index_loop = loop or decl.loop
        return decl.latex.replace("{t}", _time(index_loop, ref.time))

    def expr(self, e, loop=None) -> str:
        if isinstance(e, Ref):
            return self.name(e, loop)
        prim, args = e.prim, e.args
        if prim.over is not None:
            ref = args[0]
            decl = self.model.var(ref.name)
            factor = "" if prim.constant is None else P.constant_text(prim.constant) + " "
            return rf"{factor}\sum_{{{decl.loop.index}}} {self.name(ref, decl.loop)}"
        if prim is P.PICK:
            return P.write(prim, [(self.expr(args[0], loop), None), (self.expr(args[1], loop), None)])
        if prim is P.INNER and not isinstance(args[0], Ref):
            raise TypeError("an inner product a^T b prints only with a variable a")
        return P.write(prim, [(self.expr(a, loop), a.prim if isinstance(a, Apply) else None) for a in args])


def spec_text(model: Model) -> str:
    """The ``.rnn`` text of ``model``.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> print("\\n".join(spec_text(elman()).splitlines()[12:15]))
    for t = 1..n:
        let a^{(t)} = W^{hx} x^{(t)} + W^{hh} h^{(t-1)} + b^{h}
        h^{(t)} = g(a^{(t)})
    """
    pr = _Printer(model)
    lines = [f'model {model.name} "{model.title}"', "", "sizes " + ", ".join(str(s) for s in model.sizes)]
    if not model.sizes:
        lines.pop()
    for v in model.variables:
        if v.kind is Kind.INPUT:
            onehot = " onehot" if v.onehot else ""
            over = ""
            if v.timed and (v.loop.start, v.loop.stop, v.loop.index) != (1, N, "t"):
                over = f" for {v.loop.index} = {_time(None, v.loop.start)}..({_time(None, v.loop.stop)})"
            name = v.latex.replace("{t}", v.loop.index) if v.timed else v.latex
            lines.append(f"input {name} \\in {_space(v.shape)}{onehot}{over}")
        elif v.kind is Kind.LABEL:
            over = ""
            if v.timed and (v.loop.start, v.loop.stop, v.loop.index) != (1, N, "t"):
                over = f" for {v.loop.index} = {_time(None, v.loop.start)}..({_time(None, v.loop.stop)})"
            name = v.latex.replace("{t}", v.loop.index) if v.timed else v.latex
            lines.append(f"label {name} \\in \\{{1 \\dots {_dim(v.shape[0])}\\}}{over}")
    for v in model.parameters:
        lines.append(f"param {v.latex} \\in {_space(v.shape)}")
    block, current = [], None

    def flush():
        nonlocal block, current
        if block:
            loop = current
            low, high = (loop.start, loop.stop)
            lines.append("")
            lines.append(f"for {loop.index} = {_bound(low)}..{_bound(high)}:")
            lines.extend("    " + b for b in block)
            lines.append("")
        block, current = [], None

    pending_interims: list[str] = []
    names: set = set()  # the variables of the loop being written
    for d in model.definitions:
        decl = model.var(d.target)
        if decl.kind is Kind.INTERIM and decl.timed:
            pending_interims.append(d.target)
            continue
        if decl.timed:
            loop = decl.loop
            if current is not None and (current != loop or _attends(d.expr, names)):
                flush()  # a loop that reads another at its second index j (attention) is written as its own
            if not block:
                names = set()
            names.add(d.target)
            current = loop
            for name in pending_interims:
                idecl = model.var(name)
                left = idecl.latex.replace("{t}", loop.index)
                block.append(f"let {left} = {pr.expr(model.definition(name).expr, loop)}")
            pending_interims = []
            left = decl.latex.replace("{t}", loop.index)
            value = entry(d.expr)  # a variable with two indices: e_{t, j} = its value
            if value is not None:
                left = P.subscripted(left, "j")
            block.append(f"{left} = {pr.expr(d.expr if value is None else value, loop)}")
            continue
        flush()
        keyword = "let " if decl.kind is Kind.INTERIM else ""
        lines.append(f"{keyword}{decl.latex} = {pr.expr(d.expr)}")
    flush()
    lines.append(f"loss {model.var(model.loss).latex}")
    out = "\n".join(lines)
    while "\n\n\n" in out:
        out = out.replace("\n\n\n", "\n\n")
    return out + "\n"


def _attends(expr, names: set) -> bool:
    """Whether ``expr`` reads one of ``names`` at the second index j."""
    return any(r.name in names and at_second_index(r.time) for r in refs(expr))


def _bound(e) -> str:
    text = format_time(e)
    return f"({text})" if any(c in text for c in "+-") else text
