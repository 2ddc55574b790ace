"""A model printed back in the ``.rnn`` text format (``symrnn show``).

The output parses back (:func:`symrnn.spec.text.parse_spec`) to a model with the
same derivations: the tests check that for every zoo model.
"""

from __future__ import annotations

import sympy as sp

from symrnn.cell import primitives as P
from symrnn.cell.symbols import N, T, format_time
from symrnn.spec.model import Apply, Kind, Model, Ref

#: How each function prints in the text format.
_NAMES = {"tanh": "\\tanh", "sigmoid": "\\sigma", "relu": "relu", "identity": "identity", "g": "g"}


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

    def expr(self, e, loop=None, parent: str = "") -> str:
        if isinstance(e, Ref):
            return self.name(e, loop)
        prim, args = e.prim, e.args
        if prim.over is not None:
            ref = args[0]
            decl = self.model.var(ref.name)
            return rf"\sum_{{{decl.loop.index}}} {self.name(ref, decl.loop)}"
        shown = [self.expr(a, loop, prim.name) for a in args]
        if prim is P.MATVEC:
            out = f"{self._factor(args[0], shown[0])} {self._factor(args[1], shown[1])}"
        elif prim is P.ADD:
            out = " + ".join(shown).replace("+ -", "- ")
            return f"({out})" if parent in ("matvec", "hadamard", "neg", "one_minus") else out
        elif prim is P.NEG:
            return f"-{self._factor(args[0], shown[0])}"
        elif prim is P.HADAMARD:
            out = f"{self._factor(args[0], shown[0])} \\odot {self._factor(args[1], shown[1])}"
        elif prim is P.ONE_MINUS:
            return f"(1 - {self._factor(args[0], shown[0])})"
        elif prim is P.PICK:
            return f"{shown[0]}_{{{self.model.var(args[1].name).latex}}}"
        elif prim is P.INNER:
            return f"{self._transposed(args[0], shown[0])} {self._factor(args[1], shown[1])}"
        elif prim is P.SQNORM:
            return f"({shown[0]})^2"
        elif prim is P.CONCAT:
            return f"\\text{{CONCAT}}({', '.join(shown)})"
        elif prim is P.LOGSOFTMAX:
            return f"\\text{{LS}}({shown[0]})"
        elif prim is P.SOFTMAX:
            return f"softmax({shown[0]})"
        elif prim.function is not None:
            return f"{_NAMES.get(prim.function, prim.function)}({shown[0]})"
        else:  # pragma: no cover - every primitive is listed above
            raise TypeError(f"no text form for primitive {prim.name}")
        return out

    def _factor(self, arg, shown: str) -> str:
        if isinstance(arg, Apply) and arg.prim in (P.ADD, P.HADAMARD, P.MATVEC) and not shown.startswith("("):
            if arg.prim is P.MATVEC:
                return shown
            return f"({shown})"
        return shown

    def _transposed(self, arg, shown: str) -> str:
        if isinstance(arg, Ref):
            return shown + "^{\\top}"
        raise TypeError("an inner product a^T b prints only with a variable a")


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
            lines.append(f"label {v.latex} \\in \\{{1 \\dots {_dim(v.shape[0])}\\}}")
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
    for d in model.definitions:
        decl = model.var(d.target)
        if decl.kind is Kind.INTERIM and decl.timed:
            pending_interims.append(d.target)
            continue
        if decl.timed:
            loop = decl.loop
            if current is not None and current != loop:
                flush()
            current = loop
            for name in pending_interims:
                idecl = model.var(name)
                left = idecl.latex.replace("{t}", loop.index)
                block.append(f"let {left} = {pr.expr(model.definition(name).expr, loop)}")
            pending_interims = []
            left = decl.latex.replace("{t}", loop.index)
            block.append(f"{left} = {pr.expr(d.expr, loop)}")
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


def _bound(e) -> str:
    text = format_time(e)
    return f"({text})" if any(c in text for c in "+-") else text
