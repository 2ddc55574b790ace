"""Readable generated code: a standalone Python module computing a model's loss and gradients.

The module walks the factored form with plain loops over ``t``: the forward equations,
then the total derivatives of the recursion (denominator layout) from the loss backwards,
then each parameter's closed form. Every line is commented with the LaTeX equation it
implements, and only the backend's library is imported, so a student can read it next to
their own BPTT. A timed variable is a list indexed by its time (``h[t - 1]``); its initial
state sits just outside the loop (``h[0]``), and the total derivatives of steps outside
the loop are zero, which the generated ``if`` lines make explicit.

Variables are grouped as the compiled engine groups them: the strongly connected groups of
the "reads" graph (the LSTM's ``h`` and ``c`` share one loop) in topological order.
"""

from __future__ import annotations

import inspect
import keyword
import re

import networkx as nx
import sympy as sp

from symrnn.derive.equations import Layout, _reads, adjoint_equation, adjoint_order
from symrnn.errors import NumericError, SymRNNError
from symrnn.graph.jacobians import symbolic
from symrnn.model.declared import Apply, Kind, Model
from symrnn.numeric.backends import TorchArrays
from symrnn.numeric.printers import HELPERS, ColumnPrinter, _is_atom
from symrnn.numeric.printers import _is_column as is_column
from symrnn.numeric.printers import _is_number as is_number
from symrnn.operations import algebra as al
from symrnn.operations.functions import FUNCTIONS
from symrnn.operations.symbols import (
    Elementwise,
    N,
    T,
    TotalDerivative,
    Var,
)
from symrnn.render.latex import latex
from symrnn.version import __version__

#: How each backend's module begins: its one import (and, for torch, NumPy's names for it).
BACKENDS = {
    "numpy": "import numpy as xp",
    "cupy": "import cupy as xp",
    "jax": "import jax\n\njax.config.update(\"jax_enable_x64\", True)\nimport jax.numpy as xp  # noqa: E402",
    # the one torch shim, copied from symrnn.numeric.backends
    "torch": "import torch\n\n\n" + inspect.getsource(TorchArrays).rstrip() + "\n\n\nxp = TorchArrays(torch)",
}

_RESERVED = {"t", "n", "i", "xp", "B", "sum", "range", "params", "inputs", "labels", "grads", "grad", "loss", "len",
             *HELPERS, *(f.value.__name__ for f in FUNCTIONS.values() if f.value is not None)}

def _name(decl_name: str) -> str:
    return decl_name + "_" if decl_name in _RESERVED or keyword.iskeyword(decl_name) else decl_name


class _CodePrinter(ColumnPrinter):
    """The engine's column printer, leaner, with variables as look-ups at their times.

    ``span`` is None inside a loop over ``t`` (``h[t-1]``), or ``(lo, hi)``: the expression for
    every ``t`` from ``lo`` to ``hi`` at once, each timed variable a slice of its timeline
    (``h[lo-1:hi]``), a stack of steps that broadcasts like one step.
    """

    def __init__(self, gen: _Generator, span=None):
        super().__init__({"strict": True})
        self.gen, self.span = gen, span

    def _print_Var(self, expr):
        name = ("d_" + expr.name) if isinstance(expr, TotalDerivative) else _name(expr.name)
        if expr.time is None:
            return name
        if name in self.gen.locals and self.span is None:
            return name  # an interim of this step only
        time = sp.expand(sp.sympify(expr.time))
        first, last = self.gen.valid.get(name, (sp.Integer(0), N + 1))
        if self.span is None or not time.has(T):
            return f"{name}[{_py_time(time - first)}]"
        k = time - T
        start, stop = sp.expand(self.span[0] + k - first), sp.expand(self.span[1] + 1 + k - first)
        length = sp.expand(last - first + 1)
        if start == 0 and sp.expand(stop - length) == 0:
            return name
        return f"{name}[{'' if start == 0 else _py_time(start)}:{'' if stop == length else _py_time(stop)}]"

    @staticmethod
    def stacked(expr) -> bool:
        """Whether ``expr`` is a stack of steps in span mode (it reads a variable at a time in t)."""
        return any(sp.sympify(v.time).has(T) for v in _timed(expr))

    def _print_TotalDerivative(self, expr):
        return self._print_Var(expr)

    def _chain(self, mats) -> tuple[str, bool]:
        if self.span is None:
            return super()._chain(mats)
        # every step at once: a matrix on a stack of steps is one product of the steps side by side
        out, shape, atom = self._print(mats[-1]), mats[-1].shape, _is_atom(mats[-1])
        stacked = self.stacked(mats[-1])
        for left in reversed(mats[:-1]):
            if stacked and not self.stacked(left) and shape[0] != 1 and not is_number(left) and not (
                    isinstance(left, sp.Transpose) and (isinstance(left.arg, sp.OneMatrix) or is_column(left.arg))):
                steps = _py_time(self.span[1] - self.span[0] + 1)
                out = f"unside(xp, {self._wrap(left)} @ {self.gen.flat(out)}, {steps}, B)"
                shape, atom = (left.shape[0], shape[1]), True
                continue
            stacked = stacked or self.stacked(left)
            out, shape, atom = self._apply(left, out, shape, atom)
        return out, atom

    def _print_Elementwise(self, expr):
        fname = expr.fname
        if fname.endswith("'"):  # a derivative: from the function's value where a variable holds it
            base = fname[:-1]
            fn = FUNCTIONS[self.gen.bindings.get(base, base)]
            output = self.gen.output_of(base, expr.arg)
            if output is not None and fn.derivative is not None:
                return self._wrap(fn.derivative(expr.arg, output))  # an Elementwise is an operand
            derivative = fn.derivative_at(expr.arg)
            if derivative != expr:
                return self._wrap(derivative)
        else:
            fn = FUNCTIONS[self.gen.bindings.get(fname, fname)]
        if fn.value is None:
            raise NumericError(f"codegen has no implementation of the function {fname!r}")
        self.gen.functions.add(fn.name)
        return f"{fn.value.__name__}(xp, {self._print(expr.arg)})"

    def _print_HadamardProduct(self, expr):
        return " * ".join(self._wrap(a) for a in expr.args)


def _py_time(time) -> str:
    return str(sp.expand(sp.sympify(time))).replace(" ", "").replace("Max(", "max(").replace("Min(", "min(")


def _range(loop, reverse: bool = False) -> str:
    """``range(...)`` over a loop, in its own direction or (``reverse``) the other way."""
    first, last = (loop.stop, loop.start) if reverse else (loop.start, loop.stop)
    step = -loop.step if reverse else loop.step
    end = _py_time(sp.expand(sp.sympify(last) + step))
    return f"range({_py_time(first)}, {end})" if step == 1 else f"range({_py_time(first)}, {end}, -1)"


def _span(loop) -> tuple:
    """The loop's times as ``(lo, hi)``, whatever its direction."""
    return (sp.sympify(loop.start), sp.sympify(loop.stop)) if loop.step == 1 else (sp.sympify(loop.stop),
                                                                                    sp.sympify(loop.start))


def _exists(model: Model, reader: str, time, within=None) -> str | None:
    """A Python condition that the reader exists at ``time`` (None when it always does), for a
    ``t`` known to lie ``within`` ``(lo, hi)`` if given."""
    loop = model.var(reader).loop
    if loop is None or time is None:
        return None
    low, high = _span(loop)
    earliest = latest = sp.sympify(time)
    if within is not None and earliest.has(T):
        earliest, latest = earliest.subs(T, within[0]), latest.subs(T, within[1])
    checks = []
    if not sp.expand(earliest - low).is_nonnegative:
        checks.append(f"{_py_time(low)} <= {_py_time(time)}")
    if not sp.expand(high - latest).is_nonnegative:
        checks.append(f"{_py_time(time)} <= {_py_time(high)}")
    return " and ".join(checks) or None


class _Writer:
    def __init__(self):
        self.lines: list[str] = []
        self.depth = 1

    def __call__(self, text: str = "") -> None:
        self.lines.append("    " * self.depth + text if text else "")

    def comment(self, tex: str) -> None:
        for k, part in enumerate(tex.splitlines()):
            self(("# " if k == 0 else "#   ") + part)


def codegen(model: Model, backend: str = "numpy", bindings: dict | None = None) -> str:
    """The source of a standalone module ``gradients(params, inputs, labels, n, i=None)`` for ``model``.

    ``params`` maps identifiers to ``(rows, cols)`` arrays, ``inputs`` each input to
    ``(n, size, B)`` (a sequence) or ``(size, B)``, ``labels`` each label to ``(B,)``
    integers; it returns ``(loss, grads)``: the ``(B,)`` losses and each parameter's
    gradient of their sum.

    Examples
    --------
    >>> from symrnn import zoo
    >>> source = codegen(zoo.elman(), bindings={"g": "tanh"})
    >>> "for t in range(1, n+1):" in source and "import numpy as xp" in source
    True
    """
    if backend not in BACKENDS:
        raise NumericError(f"codegen writes {', '.join(BACKENDS)}, not {backend!r}")
    bindings = dict(bindings or {})
    for fname in model.abstract_functions:
        if fname not in bindings:
            raise NumericError(f"{fname} is abstract; bind it (e.g. --g tanh) to generate code")
    return _Generator(model, backend, bindings).source()


# -- time shifts: one expression at every step ------------------------------------------------
def _timed(expr) -> list:
    return [v for v in expr.atoms(Var) if v.time is not None]


def _shift(expr, delta):
    """``expr`` with every variable's time moved by ``delta``."""
    if al.is_scalar(expr) or delta == 0:
        return expr
    return expr.xreplace({v: type(v)(v.args[0], sp.expand(v.time + delta), v.args[2], v.args[3], v.args[4])
                          for v in _timed(expr)})


def _canonical(expr, anchor):
    """``expr`` moved so that time ``anchor`` becomes ``t``, or None when its times are not ``anchor + k``."""
    delta = sp.expand(T - anchor)
    moved = _shift(expr, delta)
    for v in _timed(moved):
        if not sp.expand(v.time - T).is_Integer:
            return None
    return moved


def _invariant_anchor(expr):
    """The earliest time an expression reads (all must differ by whole steps), or None."""
    times = [sp.expand(v.time) for v in _timed(expr) if sp.sympify(v.time).has(T)]
    if not times:
        return None
    offsets = [sp.expand(t - T) for t in times]
    if not all(o.is_Integer for o in offsets):
        return None
    return T + min(offsets)


def _cost(expr) -> int:
    return sum(1 for _ in sp.preorder_traversal(expr))


def _flat(expr):
    """Nested sums and elementwise products flattened into one node (so invariant operands group)."""
    if isinstance(expr, (sp.MatAdd, sp.HadamardProduct)):
        args = []
        for a in expr.args:
            a = _flat(a)
            args += list(a.args) if type(a) is type(expr) else [a]
        return type(expr)(*args)
    return expr


class _Generator:
    def __init__(self, model: Model, backend: str, bindings: dict):
        self.functions: set[str] = set()  # the elementwise functions the module calls
        self.model, self.backend, self.bindings = model, backend, bindings
        self.w = _Writer()
        self.taken = {v.name for v in model.variables} | _RESERVED | {str(s) for s in model.sizes}
        self.hoisted: dict = {}  # canonical expression -> its Var (a timeline, or a constant)
        self.shared: list = []  # (canonical expression, its Var): products of adjoints kept per step
        self.outputs = self._outputs()

    # -- names and printing ---------------------------------------------------------------
    def fresh(self, prefix: str) -> str:
        k = 0
        while f"{prefix}{k}" in self.taken:
            k += 1
        self.taken.add(f"{prefix}{k}")
        return f"{prefix}{k}"

    def code(self, expr, span=None) -> str:
        if al.is_scalar(expr):
            return f"{float(expr)!r}"
        return _CodePrinter(self, span).doprint(expr)

    def _outputs(self) -> dict:
        """``(f, a)`` -> ``(v, shift)`` for each ``v = f(a)``: ``f'(a)`` is then read from ``v``."""
        out = {}
        for d in self.model.definitions:
            if not isinstance(d.expr, Apply):
                continue
            sym = symbolic(self.model, d.expr)
            if isinstance(sym, Elementwise) and type(sym.arg) is Var:
                decl = self.model.var(d.target)
                shift = None if sym.arg.time is None else sp.expand(sym.arg.time - T) if decl.timed else None
                if decl.timed and shift is None:
                    continue
                out[(sym.fname, sym.arg.name)] = (decl, shift)
        return out

    def output_of(self, fname: str, arg):
        """The variable whose value is ``fname(arg)`` at arg's time, or None."""
        if type(arg) is not Var:
            return None
        found = self.outputs.get((fname, arg.name))
        if found is None:
            return None
        decl, shift = found
        if shift is None:
            return decl.symbol(None) if arg.time is None else None
        return decl.symbol(sp.expand(arg.time - shift))

    def tex(self, expr) -> str:
        return latex(expr) if not al.is_scalar(expr) else sp.latex(expr)

    # -- what runs step by step, and what runs for all steps at once -------------------------
    def substitute(self, expr):
        """``expr`` with every shared product of adjoints replaced by its kept value."""
        if al.is_scalar(expr) or not self.shared:
            return expr
        return self._substitute(expr)

    def _substitute(self, expr):
        if isinstance(expr, Var) or not isinstance(expr, sp.MatrixExpr):
            return expr
        anchor = self._adjoint_anchor(expr)
        if anchor is not None:
            canon = _canonical(expr, anchor)
            for c, var in self.shared:
                if c == canon:
                    return _shift(var, sp.expand(anchor - T))
        args = [self._substitute(a) if isinstance(a, sp.MatrixExpr) else a for a in expr.args]
        return expr.func(*args) if args != list(expr.args) else expr

    @staticmethod
    def _adjoint_anchor(expr, names=None):
        """The one time at which ``expr`` reads adjoints (of ``names``, or any), or None."""
        times = {sp.expand(v.time) for v in expr.atoms(TotalDerivative)
                 if v.time is not None and (names is None or v.name in names)}
        return times.pop() if len(times) == 1 else None

    def hoist(self, expr):
        """The value of a loop-invariant ``expr``: a timeline computed for every step before the loop."""
        if al.is_scalar(expr) or isinstance(expr, Var) or isinstance(expr, sp.Transpose) and isinstance(expr.arg, Var):
            return expr
        anchor = _invariant_anchor(expr)
        if anchor is None:
            if _timed(expr) and any(sp.sympify(v.time).has(T) for v in _timed(expr)):
                return expr  # times too irregular to precompute
            key = expr
            if key not in self.hoisted:
                self.hoisted[key] = (Var(self.fresh("c"), None, *expr.shape, "c"), None)
                self.pending.append(key)
            return self.hoisted[key][0]
        canon = _canonical(expr, anchor)
        if canon not in self.hoisted:
            self.hoisted[canon] = (Var(self.fresh("pre"), T, *expr.shape, "P"), canon)
            self.pending.append(canon)
            self.valid[self.hoisted[canon][0].name] = self.times_of(canon)
        return _shift(self.hoisted[canon][0], sp.expand(anchor - T))

    def rewrite(self, expr, carried) -> object:
        """``expr`` in a loop: each part that does not read ``carried`` computed before the loop."""
        if al.is_scalar(expr):
            return expr
        if not self.reads(expr, carried):
            return self.hoist(expr)
        expr = _flat(expr)
        if isinstance(expr, (sp.MatAdd, sp.HadamardProduct)):
            fixed = [a for a in expr.args if not self.reads(a, carried)]
            moving = [self.rewrite(a, carried) for a in expr.args if self.reads(a, carried)]
            if fixed and not all(al.is_scalar(a) for a in fixed):
                fixed = [self.hoist(fixed[0] if len(fixed) == 1 else type(expr)(*fixed))]
            return type(expr)(*(moving + fixed))
        if isinstance(expr, Var):
            return expr
        args = [self.rewrite(a, carried) if isinstance(a, sp.MatrixExpr) else a for a in expr.args]
        return expr.func(*args)

    @staticmethod
    def reads(expr, carried) -> bool:
        if al.is_scalar(expr):
            return False
        return any((("d", v.name) if isinstance(v, TotalDerivative) else v.name) in carried
                   for v in expr.atoms(Var) if v.time is not None and sp.sympify(v.time).has(T))

    def times_of(self, canon) -> tuple:
        """``(lo, hi)``: every t at which each array that ``canon`` reads has a value."""
        lo, hi = None, None
        for v in _timed(canon):
            if not sp.sympify(v.time).has(T):
                continue
            k = sp.expand(v.time - T)
            name = ("d_" + v.name) if isinstance(v, TotalDerivative) else _name(v.name)
            first, last = self.valid.get(name, (sp.Integer(0), N + 1))
            lo = _later(lo, sp.expand(first - k))
            hi = _earlier(hi, sp.expand(last - k))
        return lo, hi

    def emit_hoisted(self) -> None:
        """Define, before a loop, the values its body needs for every step."""
        w = self.w
        for key in self.pending:
            var, canon = self.hoisted[key]
            if canon is None:
                w.comment(f"{var.name} = {self.tex(key)}, the same at every step")
                w(f"{var.name} = {self.code(key)}")
                continue
            lo, hi = self.valid[var.name]
            at = "" if lo == 0 else f" (its first entry is t = {_py_time(lo)})"
            w.comment(f"{var.name}: {self.tex(canon)}, for every t at once{at}")
            w(f"{var.name} = {self.code(canon, span=(lo, hi))}")
        self.pending = []

    # -- the module -----------------------------------------------------------------------
    def groups(self) -> list[tuple[list[str], bool]]:
        """Variables in the order to compute them: strongly connected groups in topological order,
        each with whether it is a recurrence (its steps read each other)."""
        model = self.model
        R = _reads(model)
        simple = nx.DiGraph((u, v) for u, v in R.edges() if u != v)
        simple.add_nodes_from(R)
        C = nx.condensation(simple)
        declared = {v.name: k for k, v in enumerate(model.variables)}
        out = []
        for comp in nx.lexicographical_topological_sort(C, key=lambda c: min(declared[v]
                                                                              for v in C.nodes[c]["members"])):
            scc = C.nodes[comp]["members"]
            members = [v for v in scc if model.var(v).kind in (Kind.STATE, Kind.DEFINED)]
            if not members:
                continue
            same = nx.DiGraph()
            same.add_nodes_from(members)
            same.add_edges_from((u, v) for u, v, d in R.edges(data=True)
                                if u in members and v in members and u != v and d["offset"] == 0)
            recurrent = len(scc) > 1 or any(u == v and d["offset"] not in (0, None)
                                            for u, v, d in R.edges(data=True) if u in scc)
            out.append((list(nx.lexicographical_topological_sort(same, key=declared.get)), recurrent))
        return out

    def source(self) -> str:
        model, w = self.model, self.w
        self.pending: list = []
        self.flats: dict = {}
        groups = self.groups()
        self.locals = self.step_locals(groups)
        self.unallocated: set = set()
        self.valid = {_name(v.name): _span(v.loop) for v in model.inputs if v.timed}
        self.preamble()
        w.comment("-- forward: the model's equations --")
        done: set = set()
        for group, recurrent in groups:
            decl = model.var(group[0])
            if not decl.timed:
                for name in group:
                    self.forward_line(name, done, None)
            elif recurrent:
                self.forward_loop(group, done)
            else:
                for name in group:
                    self.forward_line(name, done, _span(decl.loop))
        w("loss = " + _name(model.loss) + ".reshape(-1)")
        w()
        w.comment("-- backward: the total derivatives, from the loss back (denominator layout) --")
        w(f"d_{model.loss} = xp.ones((1, B))")
        for group, recurrent in self.backward_order(groups):
            decl = model.var(group[0])
            if not decl.timed:
                for name in group:
                    self.adjoint_untimed(name)
            elif recurrent or not self.stackable(group):
                self.backward_loop(group)
            else:
                self.adjoint_stacked(group[0])
        w()
        w.comment("-- the gradients: each parameter's closed form --")
        w("grads = {}")
        for p in model.parameters:
            self.gradient(p.name)
        w("return loss, grads")
        lines = [line for line in self.w.lines
                 if not any(line == f"    {name} = xp.zeros((n + 2, {rows}, B))" for name, rows in self.allocated
                            if name in self.unallocated)]
        if self.backend == "jax":
            lines = _jax_lines(lines)
        source = self.header() + "\n".join(lines) + "\n"
        if self.backend == "jax":  # n and i fix the loops' lengths: one compiled function per length
            source += ("\n\n_eager = gradients\n"
                       "gradients = jax.jit(_eager, static_argnames=(\"n\", \"i\"))\n")
        return source

    def all_terms(self) -> list:
        """``(variable, term)`` for every term of every adjoint equation of the model (labels have none)."""
        out = []
        for v in self.model.variables:
            if v.kind is Kind.LABEL:
                continue
            try:
                out += [(v.name, t) for t in adjoint_equation(self.model, v.name, Layout.DENOMINATOR).terms]
            except SymRNNError:
                continue
        return out

    def step_locals(self, groups) -> set:
        """Interims of a recurrence read only at their own step, inside it: plain names, not timelines."""
        model = self.model
        read_later = set()
        for _, term in self.all_terms():
            if not al.is_scalar(term.expr):
                read_later |= {a.name for a in term.expr.atoms(Var)}
        found = set()
        for group, recurrent in groups:
            if not recurrent:
                continue
            for name in group:
                for ref in model.interim_refs(model.definition(name).expr):
                    if ref.name not in read_later and sp.sympify(ref.time) == T:
                        found.add(ref.name)
        for d in model.definitions:  # read at another step, or by another loop: a timeline
            for ref in model.interim_refs(d.expr):
                if ref.name in found and (sp.sympify(ref.time) != T or not any(
                        d.target in g or d.target in found for g, r in groups if r and ref.name in
                        {x.name for m in g for x in model.interim_refs(model.definition(m).expr)})):
                    found.discard(ref.name)
        return {_name(v) for v in found}

    def preamble(self) -> None:
        model, w = self.model, self.w
        w("B = _batch(inputs, labels)")
        for p in model.parameters:
            w(f"{_name(p.name)} = xp.asarray(params[{p.name!r}])  # {p.latex}")
        for size in model.sizes:
            source = next(((v, k) for v in model.parameters for k in (0, 1) if v.shape[k] == size), None)
            if source is None:
                raise NumericError(f"codegen reads the size {size} from a parameter's shape, and none is {size} wide")
            if str(size) in {v.name for v in model.variables} | _RESERVED:
                raise NumericError(f"the size {size} has the name of a variable; rename one to generate code")
            w(f"{size} = {_name(source[0].name)}.shape[{source[1]}]")
        for v in model.inputs:
            if v.timed:
                first = _span(v.loop)[0]
                w(f"{_name(v.name)} = _steps(xp.asarray(inputs[{v.name!r}]), {_shape(v)[0]}, B)"
                  f"  # {v.display(T)} at {_name(v.name)}[t{'' if first == 0 else f'-{_py_time(first)}'}]")
            else:
                w(f"{_name(v.name)} = xp.asarray(inputs[{v.name!r}])  # {v.latex}")
        for v in model.variables:
            if v.kind is Kind.LABEL:
                w(f"{_name(v.name)} = labels[{v.name!r}]  # {v.latex}")
        for v in model.variables:
            if v.timed and v.kind in (Kind.STATE, Kind.DEFINED, Kind.INTERIM) and v.name not in self.locals:
                w(f"{_name(v.name)} = xp.zeros((n + 2, {_shape(v)[0]}, B))  # {v.display(T)} at "
                  f"{_name(v.name)}[t], t = 0..n+1")
                if v.kind is Kind.STATE:
                    before = sp.expand(sp.sympify(v.loop.first) - v.loop.step)
                    init = model.var(v.init)
                    w(f"{_name(v.name)}[{_py_time(before)}] = {_name(init.name)}  # {v.display(before)} = {init.latex}")
        self.allocated = []
        for v in model.variables:
            if v.timed and v.kind in (Kind.STATE, Kind.DEFINED):
                w(f"d_{v.name} = xp.zeros((n + 2, {_shape(v)[0]}, B))")
                self.allocated.append((f"d_{v.name}", _shape(v)[0]))
        w()

    def forward_line(self, name: str, done: set, span, carried=None) -> None:
        """One equation: at step t (in a loop), for all steps of ``span`` at once, or untimed."""
        model, w = self.model, self.w
        d = model.definition(name)
        for ref in _interims_read(model, d.expr):
            if ref not in done:
                done.add(ref)
                self.forward_line(ref, done, span, carried)
        decl = model.var(name)
        lhs = decl.display(T) if decl.timed else decl.latex
        if isinstance(d.expr, Apply) and d.expr.prim.over is not None:
            arg = model.var(d.expr.args[0].name)
            lo, hi = _span(arg.loop)
            w.comment(f"{lhs} = \\sum_t {arg.display(T)}")
            w(f"{_name(name)} = xp.sum({self.code(arg.symbol(T), span=(lo, hi))}, axis=0)")
            return
        expr = symbolic(model, d.expr)
        w.comment(f"{lhs} = {latex(expr)}")
        if not decl.timed:
            w(f"{_name(name)} = {self.code(expr)}")
        elif span is None:
            target = _name(name) if _name(name) in self.locals else f"{_name(name)}[t]"
            w(f"{target} = {self.code(self.rewrite(expr, carried))}")
        else:
            lo, hi = span
            w(f"{_name(name)}[{_py_time(lo)}:{_py_time(hi + 1)}] = {self.code(expr, span=span)}  "
              f"# t = {_py_time(lo)}..{_py_time(hi)} at once")

    def forward_loop(self, group: list[str], done: set) -> None:
        """A recurrence: one loop over t, with what does not read the recurrence computed before it."""
        model, w = self.model, self.w
        carried = set(group)
        for name in group:
            carried |= set(_interims_all(model, model.definition(name).expr))
        saved, w.lines = w.lines, []
        depth = w.depth
        w.depth = depth + 1
        for name in group:
            self.forward_line(name, done, None, carried)
        body, w.lines, w.depth = w.lines, saved, depth
        self.emit_hoisted()
        w(f"for t in {_range(model.var(group[0]).loop)}:")
        w.lines += body

    def backward_order(self, groups) -> list[tuple[list[str], bool]]:
        needed: set = set()
        for p in self.model.parameters:
            try:
                needed |= set(adjoint_order(self.model, p.name))
            except SymRNNError:
                continue
        out = []
        for group, recurrent in reversed(groups):
            members = [v for v in reversed(group) if v in needed and v != self.model.loss]
            if members:
                out.append((members, recurrent))
        return out

    def stackable(self, group) -> bool:
        """A group whose adjoints can be computed for all steps at once (no term that exists at some steps only)."""
        eq = adjoint_equation(self.model, group[0], Layout.DENOMINATOR)
        within = _span(self.model.var(group[0]).loop)
        return len(group) == 1 and all(
            term.over is None and (term.reader_time is None
                                   or _exists(self.model, term.reader, term.reader_time, within) is None)
            for term in eq.terms)

    def term_lines(self, term, within=None) -> tuple[str | None, str, str]:
        """``(guard, expression, comment)`` of one term of an adjoint at a step t ``within`` (lo, hi)."""
        guards = []
        expr = term.expr
        if term.at is not None:
            guards.append(f"t == {_py_time(term.at)}")
        if term.condition is not None:
            guards.append(f"{_py_time(term.condition.lhs)} == {_py_time(term.condition.rhs)}")
        exists = (_exists(self.model, term.reader, term.reader_time, within)
                   if term.reader_time is not None else None)
        if exists:
            guards.append(exists)
        comment = f"+ {self.tex(expr)}" + (f"   (from {self.model.var(term.reader).display(term.reader_time)})"
                                            if term.reader_time is not None else "")
        return (" and ".join(guards) or None), expr, comment

    def adjoint_stacked(self, name: str) -> None:
        """The adjoint of a variable no step of which reads another: all its steps at once."""
        model, w = self.model, self.w
        lo, hi = _span(model.var(name).loop)
        target = f"d_{name}[{_py_time(lo)}:{_py_time(hi + 1)}]"
        first = True
        for term in _unguarded_first(adjoint_equation(model, name, Layout.DENOMINATOR).terms):
            guard, expr, comment = self.term_lines(term, (lo, hi))
            w.comment(comment)
            expr = self.substitute(expr)
            if guard is None:
                w(f"{target} {'=' if first else '+='} {self.code(expr, span=(lo, hi))}  "
                  f"# t = {_py_time(lo)}..{_py_time(hi)} at once")
                first = False
                continue
            if term.at is not None:  # a term at one step (t == n)
                line = f"d_{name}[{_py_time(term.at)}] += {self.code(expr.subs(T, term.at))}"
            else:
                line = f"{target} += {self.code(expr, span=(lo, hi))}"
            if term.condition is not None:
                w(f"if {_py_time(term.condition.lhs)} == {_py_time(term.condition.rhs)}:")
                w.depth += 1
                w(line)
                w.depth -= 1
            else:
                w(line)

    def adjoint_untimed(self, name: str) -> None:
        decl = self.model.var(name)
        self.accumulate(f"d_{name}", adjoint_equation(self.model, name, Layout.DENOMINATOR).terms,
                        f"({_shape(decl)[0]}, B)")

    def accumulate(self, target: str, terms, column: str | None) -> None:
        """``target`` = the sum of ``terms`` (untimed); a sum over t is computed for all steps at once."""
        w = self.w
        started = False
        numbers_only = True
        for term in terms:
            guards = []
            if term.condition is not None:
                guards.append(f"{_py_time(term.condition.lhs)} == {_py_time(term.condition.rhs)}")
            exists = (_exists(self.model, term.reader, term.reader_time)
                      if term.reader_time is not None and term.over is None else None)
            if exists:
                guards.append(exists)
            tex = self.tex(term.expr)
            w.comment(f"+ \\sum_t {tex}" if term.over is not None else f"+ {tex}")
            numbers_only = numbers_only and al.is_scalar(term.expr)
            value = self.summed(term) if term.over is not None else self.code(self.substitute(term.expr))
            if guards:
                if not started:
                    w(f"{target} = 0.0")
                    started = True
                w(f"if {' and '.join(guards)}:")
                w.depth += 1
                w(f"{target} = {target} + {value}")
                w.depth -= 1
            else:
                w(f"{target} = {target} + {value}" if started else f"{target} = {value}")
                started = True
        if not started:
            w(f"{target} = 0.0")
        if column is not None and (numbers_only or not started):
            w(f"{target} = {target} + xp.zeros({column})  # a number becomes a column per sequence")

    def summed(self, term) -> str:
        """``\\sum_t`` of a term over its loop, for all steps at once (a sum of outer products: one product)."""
        span = _span(term.over)
        expr = self.substitute(term.expr)
        factor, column = _outer_parts(expr)
        if column is not None:  # \sum_t a_t u_t^T: the steps side by side, one matrix product
            return f"{self.flat(self.code(factor, span=span))} @ {self.flat(self.code(column, span=span))}.T"
        text = self.code(expr, span=span)
        if "outer(" in text:  # a product with a parameter's row: step by step
            return f"sum({self.code(expr)} for t in {_range(term.over)})"
        return f"xp.sum({text}, axis=0)"

    def flat(self, code: str) -> str:
        """A stack of steps side by side, ``(size, steps * B)``: a copy, made once (at the top level)."""
        if self.w.depth > 1:
            return f"side_by_side(xp, {code})"
        if code not in self.flats:
            name = self.fresh("side")
            self.flats[code] = name
            self.w(f"{name} = side_by_side(xp, {code})  # the steps of {code} side by side")
        return self.flats[code]

    def shared_products(self, group: list[str]) -> list:
        """Products of this recurrence's adjoints that several terms read: each kept once per step."""
        model = self.model
        names = set(group)
        # (expression, in this loop, read at every step): a term at one step (h^{(1)}'s) counts for nothing
        pool = [(t.expr, True, True) for v in group for t in adjoint_equation(model, v, Layout.DENOMINATOR).terms]
        pool += [(t.expr, False, t.over is not None) for v, t in self.all_terms() if v not in names]
        chosen = []
        while True:
            counts: dict = {}
            in_loop: set = set()
            for expr, looped, every in pool:
                if al.is_scalar(expr) or not every:
                    continue
                for sub in sp.preorder_traversal(expr):
                    if isinstance(sub, Var) or not isinstance(sub, sp.MatrixExpr):
                        continue
                    anchor = self._adjoint_anchor(sub, names)
                    if anchor is None or any(a.name not in names for a in sub.atoms(TotalDerivative)):
                        continue
                    canon = _canonical(sub, anchor)
                    if canon is None or canon in [c for c, _ in self.shared]:
                        continue
                    counts[canon] = counts.get(canon, 0) + 1
                    if looped:
                        in_loop.add(canon)
            best = [c for c in counts if counts[c] >= 2 and c in in_loop]
            if not best:
                return chosen
            canon = max(best, key=lambda c: (counts[c], _cost(c), str(c)))
            var = Var(self.fresh("e"), T, *canon.shape, "e")
            self.shared.append((canon, var))
            chosen.append((canon, var))
            pool = [(self.substitute(e), looped, every) for e, looped, every in pool]

    def backward_loop(self, group: list[str]) -> None:
        """A recurrence of adjoints: one loop over t, against the forward loop's direction."""
        model, w = self.model, self.w
        decl = model.var(group[0])
        shared = self.shared_products(group)
        carried = {("d", v) for v in group} | {var.name for _, var in shared}
        deps: dict = {}
        for canon, var in shared:
            deps[var.name] = {a.name for a in canon.atoms(TotalDerivative)}.union(
                *(deps[v.name] for v in canon.atoms(Var) if v.name in deps))
            w(f"{var.name} = xp.zeros((n + 2, {_py_dim(var.shape[0])}, B))  # kept per step: see the loop")
        saved, w.lines = w.lines, []
        depth = w.depth
        w.depth = depth + 1
        placed: set = set()
        local = self.local_adjoints(group)
        self.locals |= {f"d_{v}" for v in local}
        self.unallocated |= {f"d_{v}" for v in local}
        for name in group:
            target = f"d_{name}" if name in local else f"d_{name}[t]"
            first = True
            terms = [(term, *self.term_lines(term, _span(model.var(name).loop)))
                     for term in adjoint_equation(model, name, Layout.DENOMINATOR).terms]
            for term, guard, expr, comment in sorted(terms, key=lambda x: x[1] is not None):
                w.comment(comment)
                expr = self.substitute(expr)
                if term.at is None:  # a term at (nearly) every step: what it can, before the loop
                    expr = self.rewrite(expr, carried)
                add = f"{target} + {self.code(expr)}" if name in local else None
                if guard is None:
                    w(f"{target} = {self.code(expr)}" if first else
                      f"{target} = {add}" if add else f"{target} += {self.code(expr)}")
                elif first and name in local:  # this step's own value: nothing to add to yet
                    w(f"{target} = {self.code(expr)} if {guard} else 0.0")
                else:
                    w(f"if {guard}:")
                    w.depth += 1
                    w(f"{target} = {add}" if add else f"{target} += {self.code(expr)}")
                    w.depth -= 1
                first = False
            if first and name in local:
                w(f"{target} = 0.0")
            done = set(group[:group.index(name) + 1])
            for canon, var in shared:
                if var.name not in placed and deps[var.name] <= done:
                    placed.add(var.name)
                    w.comment(f"{var.name}[t] = {self.tex(canon)}")
                    w(f"{var.name}[t] = {self.code(self.rewrite(canon, carried))}")
        body, w.lines, w.depth = w.lines, saved, depth
        self.emit_hoisted()
        w(f"for t in {_range(decl.loop, reverse=True)}:")
        w.lines += body

    def local_adjoints(self, group: list[str]) -> set:
        """Adjoints of this loop read only at their own step, inside it: plain names, not timelines."""
        local = set(group)
        for v, term in self.all_terms():
            if al.is_scalar(term.expr):
                continue
            for a in self.substitute(term.expr).atoms(TotalDerivative):
                if a.name in local and (v not in group or sp.sympify(a.time) != T or term.at is not None):
                    local.discard(a.name)
        return local

    def gradient(self, name: str) -> None:
        model, w = self.model, self.w
        decl = model.var(name)
        w.comment(f"d {model.var(model.loss).latex} / d {decl.latex}")
        self.accumulate("grad", adjoint_equation(model, name, Layout.DENOMINATOR).terms, None)
        rows, cols = _shape(decl)
        w(f"grads[{name!r}] = _like(grad, ({rows}, {cols}))")

    def header(self) -> str:
        model = self.model
        lines = [
            f'"""The loss and gradients of {model.title}, generated by symrnn {__version__}.',
            "",
            "The factored form, run over time for a batch kept in columns: an input sequence is",
            "(n, size, B), a label (B,); a timed variable h is an array (n + 2, size, B) with h^{(t)}",
            "at h[t] (initial states at 0 or n + 1). Each line is commented with the equation it",
            "computes; what a loop does not need step by step is computed for all steps at once.",
            "Regenerate with: symrnn codegen " + model.name + ' --backend ' + self.backend,
            '"""',
            "",
            BACKENDS[self.backend],
            "",
            "",
        ]
        body = "\n".join(self.w.lines)
        helpers = {**HELPERS, "side_by_side": side_by_side, "unside": unside}
        needed = {name for name in helpers if f"{name}(xp," in body}
        if "component" in needed:
            needed.add("basis")  # a component is read through a one-hot column
        # the one implementation of each helper and function (functional, so JAX arrays work), copied
        used = [fn for name, fn in helpers.items() if name in needed]
        used += [FUNCTIONS[name].value for name in sorted(self.functions)]
        for fn in used:
            lines += [inspect.getsource(fn).rstrip(), "", ""]
        lines += [
            "def _steps(x, size, B):",
            '    """An input sequence (steps, size, B); one of no steps has that shape too."""',
            "    return x if x.shape[0] else xp.zeros((0, size, B))",
            "",
            "",
            "def _batch(inputs, labels):",
            "    for value in list(inputs.values()) + list(labels.values()):",
            "        return value.shape[-1]",
            "    return 1",
            "",
            "",
            "def _like(g, shape):",
            '    """A gradient with its parameter\'s shape: a vector\'s is summed over the batch\'s columns."""',
            "    if xp.ndim(g) == 0:",
            "        return xp.zeros(shape) + g",
            "    if shape[1] == 1 and g.shape[1] != 1:",
            "        return xp.sum(g, axis=1, keepdims=True)",
            "    return g",
            "",
            "",
            "def gradients(params, inputs, labels, n, i=None):",
            f'    """(loss, grads) of {model.name} for a batch: loss (B,), grads[name] shaped like the parameter."""',
        ]
        return "\n".join(lines) + "\n"


def side_by_side(xp, a):
    """A stack of steps ``(steps, size, B)`` as one ``(size, steps * B)`` array, step after step."""
    return a.swapaxes(0, 1).reshape(a.shape[1], -1)


def unside(xp, wide, steps, batch):
    """Steps side by side ``(size, steps * B)`` back to a stack ``(steps, size, B)`` (a view)."""
    return wide.reshape(wide.shape[0], steps, batch).swapaxes(0, 1)


_WRITE = re.compile(r"^(\s*)(\w+)\[(.+?)\] (=|\+=) (.+)$")
_PICK = re.compile(r"^(\s*)(\w+) = (.+) if (.+) else 0\.0$")
_LOOP = re.compile(r"^(\s*)for t in range\((.+?), (.+?)(, -1)?\):$")


def _split_comment(line: str) -> tuple[str, str]:
    code, sep, comment = line.partition("  # ")
    return code, (sep + comment if sep else "")


def _reads_t(condition: str) -> bool:
    return re.search(r"\bt\b", condition) is not None


def _jax_condition(condition: str) -> str:
    parts = condition.split(" and ")
    return parts[0] if len(parts) == 1 else " & ".join(f"({p})" for p in parts)


def _jax_write(line: str, guard: str | None = None) -> str:
    """``h[t] = v`` -> ``h = h.at[t].set(v)`` (``+=``: ``.add``), under ``where(guard)`` if any."""
    code, comment = _split_comment(line)
    found = _WRITE.match(code)
    if found and not found.group(3).startswith("'"):  # an array, not the dict of gradients
        indent, name, index, op, value = found.groups()
        if guard:
            value = f"xp.where({_jax_condition(guard)}, {value}, 0.0)"
        return f"{indent}{name} = {name}.at[{index}].{'set' if op == '=' else 'add'}({value}){comment}"
    found = _PICK.match(code)
    if found and _reads_t(found.group(4)):
        indent, name, value, condition = found.groups()
        return f"{indent}{name} = xp.where({_jax_condition(condition)}, {value}, 0.0){comment}"
    if guard:  # a local: d_h = d_h + v
        name, _, value = code.strip().partition(" = ")
        head = name + " + "
        if value.startswith(head):
            return f"{code[:len(code) - len(code.lstrip())]}{name} = {name} + xp.where({_jax_condition(guard)}, " \
                   f"{value[len(head):]}, 0.0){comment}"
        raise NumericError(f"codegen cannot write this guarded line for JAX: {line.strip()}")
    return line


def _jax_lines(lines: list[str]) -> list[str]:
    """The NumPy-style body for JAX: arrays updated with ``.at[]``, each loop a ``fori_loop`` (static
    bounds, so JAX runs it as ``lax.scan``), and a test of ``t`` a ``where``."""
    out: list[str] = []
    k = 0
    while k < len(lines):
        line = lines[k]
        loop = _LOOP.match(line)
        if not loop:
            out.append(_jax_write(line))
            k += 1
            continue
        indent, first, end, backwards = loop.groups()
        body = []
        k += 1
        while k < len(lines) and (not lines[k].strip() or lines[k].startswith(indent + "    ")):
            body.append(lines[k])
            k += 1
        while body and not body[-1].strip():  # a blank line after the loop stays after it
            body.pop()
            k -= 1
        converted, written = [], []
        j = 0
        while j < len(body):
            text = body[j]
            code = text.strip()
            if code.startswith("if ") and code.endswith(":") and _reads_t(code[3:-1]):
                guard = code[3:-1]
                j += 1
                while j < len(body) and body[j].startswith(text[:len(text) - len(text.lstrip())] + "    "):
                    converted.append(_jax_write(body[j][4:], guard))
                    j += 1
                continue
            converted.append(_jax_write(text))
            j += 1
        for text in converted:
            found = re.match(r"^\s*(\w+) = \1\.at\[", text)
            if found and found.group(1) not in written:
                written.append(found.group(1))
        state = ", ".join(written) + ("," if len(written) == 1 else "")
        count = _py_time(sp.sympify(first) - sp.sympify(end) if backwards else sp.sympify(end) - sp.sympify(first))
        step = f"{first} - k" if backwards else f"{first} + k"
        out.append(f"{indent}def _step(k, state):")
        out.append(f"{indent}    t = {step}")
        out.append(f"{indent}    {state} = state")
        out += converted
        out.append(f"{indent}    return {state}")
        out.append(f"{indent}{state} = jax.lax.fori_loop(0, {count}, _step, ({state}))")
    return out


def _later(a, b):
    """The later of two times (a Python max() when it depends on the lengths)."""
    if a is None:
        return b
    diff = sp.expand(a - b)
    return a if diff.is_nonnegative else b if diff.is_nonpositive else sp.Max(a, b)


def _earlier(a, b):
    if a is None:
        return b
    diff = sp.expand(a - b)
    return a if diff.is_nonpositive else b if diff.is_nonnegative else sp.Min(a, b)


def _unguarded_first(terms) -> list:
    """Terms that hold at every step first (they assign), then those at one step or on a condition (they add)."""
    return sorted(terms, key=lambda term: term.at is not None or term.condition is not None)


def _shape(decl) -> tuple:
    """The shape of a variable as Python text (sizes are read from the parameters' shapes)."""
    return tuple(_py_dim(d) for d in decl.shape)


def _py_dim(d) -> str:
    return str(sp.sympify(d))


def _outer_parts(expr):
    """``A u^T`` with ``u`` a timed variable -> ``(A, u)``; anything else -> ``(expr, None)``."""
    if isinstance(expr, sp.MatMul):
        coeff, mats = expr.as_coeff_matrices()
        last = mats[-1]
        if (len(mats) >= 2 and isinstance(last, sp.Transpose) and isinstance(last.arg, sp.MatrixExpr)
                and getattr(last.arg, "time", None) is not None and last.arg.time.has(T)):
            rest = mats[:-1]
            factor = rest[0] if len(rest) == 1 else sp.MatMul(*rest, evaluate=False)
            return (factor if coeff == 1 else sp.MatMul(coeff, factor, evaluate=False)), last.arg
    return expr, None


def _interims_read(model: Model, expr) -> list[str]:
    """The interims a definition reads directly, each once, in order."""
    return list(dict.fromkeys(ref.name for ref in model.interim_refs(expr)))


def _interims_all(model: Model, expr) -> list[str]:
    """The interims an expression reads, and those they read, in turn."""
    found: list[str] = []
    for ref in _interims_read(model, expr):
        found += [r for r in [ref] + _interims_all(model, model.definition(ref).expr) if r not in found]
    return found


__all__ = ["codegen"]
