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

import networkx as nx
import sympy as sp

from symrnn import __version__
from symrnn.cell import algebra as al
from symrnn.cell.symbols import T, TotalDerivative
from symrnn.derive.factored import _reads, adjoint_equation, adjoint_order
from symrnn.errors import NumericError, SymRNNError
from symrnn.graph.jacobians import symbolic
from symrnn.numeric import engine as E
from symrnn.numeric import printer as PR
from symrnn.render.latex import latex
from symrnn.spec.model import Apply, Kind, Model

#: How each backend's module begins: its one import (and, for torch, NumPy's names for it).
BACKENDS = {
    "numpy": "import numpy as xp",
    "cupy": "import cupy as xp",
    "jax": "import jax\n\njax.config.update(\"jax_enable_x64\", True)\nimport jax.numpy as xp  # noqa: E402",
    "torch": '''import torch


class _Arrays:
    """NumPy's names for the torch functions this module calls, in float64."""

    exp, log, tanh, where = torch.exp, torch.log, torch.tanh, torch.where
    broadcast_to, ones_like = torch.broadcast_to, torch.ones_like

    def asarray(self, value):
        return torch.as_tensor(value, dtype=torch.float64)

    def sum(self, x, axis=None, keepdims=False):
        return torch.sum(x, dim=axis, keepdim=keepdims)

    def max(self, x, axis=None, keepdims=False):
        return torch.amax(x, dim=axis, keepdim=keepdims)

    def zeros(self, shape):
        return torch.zeros(shape, dtype=torch.float64)

    def ones(self, shape):
        return torch.ones(shape, dtype=torch.float64)

    def eye(self, size):
        return torch.eye(int(size), dtype=torch.float64)

    def arange(self, size):
        return torch.arange(int(size))

    def concatenate(self, parts, axis=0):
        return torch.cat(list(parts), dim=axis)

    def maximum(self, x, value):
        return torch.clamp(x, min=value)

    def ndim(self, x):
        return x.dim() if isinstance(x, torch.Tensor) else 0


xp = _Arrays()''',
}

_RESERVED = {"t", "n", "i", "xp", "B", "sum", "range", "params", "inputs", "labels", "grads", "grad", "loss", "len"}

#: Source of each elementwise function, as the generated module defines it.
_FUNCTIONS = {
    "tanh": "xp.tanh(a)",
    "sigmoid": "1.0 / (1.0 + xp.exp(-a))",
    "relu": "xp.maximum(a, 0.0)",
    "relu'": "xp.where(a > 0, 1.0, 0.0)",
    "identity": "a",
}
_DERIVATIVES = {
    "tanh": "1.0 - xp.tanh(a) ** 2",
    "sigmoid": "(1.0 / (1.0 + xp.exp(-a))) * (1.0 - 1.0 / (1.0 + xp.exp(-a)))",
    "relu": "xp.where(a > 0, 1.0, 0.0)",
    "identity": "xp.ones_like(a)",
}


def _name(decl_name: str) -> str:
    return decl_name + "_" if decl_name in _RESERVED or keyword.iskeyword(decl_name) else decl_name


class _CodePrinter(E.ColumnPrinter):
    """The engine's column printer, with variables as list look-ups at their times."""

    def _print_Var(self, expr):
        name = _name(expr.name)
        if isinstance(expr, TotalDerivative):
            name = "d_" + expr.name
        if expr.time is None:
            return name
        return f"{name}[{_py_time(expr.time)}]"


def _py_time(time) -> str:
    return str(sp.expand(sp.sympify(time))).replace(" ", "")


def _code(expr) -> str:
    if al.is_scalar(expr):
        return f"{float(expr)!r}"
    return _CodePrinter({"strict": True}).doprint(expr)


def _range(loop, reverse: bool = False) -> str:
    """``range(...)`` over a loop, in its own direction or (``reverse``) the other way."""
    first, last = (loop.stop, loop.start) if reverse else (loop.start, loop.stop)
    step = -loop.step if reverse else loop.step
    end = _py_time(sp.expand(sp.sympify(last) + step))
    return f"range({_py_time(first)}, {end})" if step == 1 else f"range({_py_time(first)}, {end}, -1)"


def _exists(model: Model, reader: str, time) -> str | None:
    """A Python condition that the reader exists at ``time`` (None when it always does)."""
    loop = model.var(reader).loop
    if loop is None or time is None:
        return None
    low, high = (loop.start, loop.stop) if loop.step == 1 else (loop.stop, loop.start)
    checks = []
    if not sp.expand(time - low).is_nonnegative:
        checks.append(f"{_py_time(low)} <= {_py_time(time)}")
    if not sp.expand(high - time).is_nonnegative:
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


class _Generator:
    def __init__(self, model: Model, backend: str, bindings: dict):
        self.model, self.backend, self.bindings = model, backend, bindings
        self.w = _Writer()

    # -- pieces ---------------------------------------------------------------------------
    def expr(self, e) -> str:
        return _code(e)

    def groups(self) -> list[list[str]]:
        """Variables in the order to compute them: strongly connected groups, in topological order."""
        model = self.model
        R = _reads(model)
        simple = nx.DiGraph((u, v) for u, v in R.edges() if u != v)
        simple.add_nodes_from(R)
        C = nx.condensation(simple)
        declared = {v.name: k for k, v in enumerate(model.variables)}
        out = []
        for comp in nx.lexicographical_topological_sort(C, key=lambda c: min(declared[v]
                                                                              for v in C.nodes[c]["members"])):
            members = [v for v in C.nodes[comp]["members"]
                       if model.var(v).kind in (Kind.STATE, Kind.DEFINED)]
            if not members:
                continue
            same = nx.DiGraph()
            same.add_nodes_from(members)
            same.add_edges_from((u, v) for u, v, d in R.edges(data=True)
                                if u in members and v in members and u != v and d["offset"] == 0)
            out.append(list(nx.lexicographical_topological_sort(same, key=declared.get)))
        return out

    # -- the module -----------------------------------------------------------------------
    def source(self) -> str:
        model, w = self.model, self.w
        self.preamble()
        groups = self.groups()
        w.comment("-- forward: the model's equations --")
        interims_done: set = set()
        for group in groups:
            decl = model.var(group[0])
            if decl.timed:
                w(f"for t in {_range(decl.loop)}:")
                w.depth += 1
                for name in group:
                    self.forward_line(name, interims_done, timed=True)
                w.depth -= 1
            else:
                for name in group:
                    self.forward_line(name, interims_done, timed=False)
        loss = model.loss
        w("loss = " + _name(loss) + ".reshape(-1)")
        w()
        w.comment("-- backward: the total derivatives, from the loss back (denominator layout) --")
        w(f"d_{loss} = xp.ones((1, B))")
        order = self.backward_order(groups)
        for group in order:
            decl = model.var(group[0])
            if decl.timed:
                w(f"for t in {_range(decl.loop, reverse=True)}:")
                w.depth += 1
                for name in group:
                    self.adjoint_line(name, timed=True)
                w.depth -= 1
            else:
                for name in group:
                    self.adjoint_line(name, timed=False)
        w()
        w.comment("-- the gradients: each parameter's closed form --")
        w("grads = {}")
        self.sums_over_steps()
        for p in model.parameters:
            self.gradient_line(p.name)
        w("return loss, grads")
        return self.header() + "\n".join(self.w.lines) + "\n"

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
                w(f"{_name(v.name)} = _steps(xp.asarray(inputs[{v.name!r}]), {_py_time(v.loop.start)})"
                  f"  # {v.display(T)}, by t")
            else:
                w(f"{_name(v.name)} = xp.asarray(inputs[{v.name!r}])  # {v.latex}")
        for v in model.variables:
            if v.kind is Kind.LABEL:
                w(f"{_name(v.name)} = labels[{v.name!r}]  # {v.latex}")
        for v in model.variables:
            if v.timed and v.kind in (Kind.STATE, Kind.DEFINED, Kind.INTERIM):
                w(f"{_name(v.name)} = _timeline(n)  # {v.display(T)}")
                if v.kind is Kind.STATE:
                    before = sp.expand(sp.sympify(v.loop.first) - v.loop.step)
                    init = model.var(v.init)
                    w(f"{_name(v.name)}[{_py_time(before)}] = {_name(init.name)}  # {v.display(before)} = {init.latex}")
        for v in model.variables:
            if v.timed and v.kind in (Kind.STATE, Kind.DEFINED):
                w(f"d_{v.name} = _timeline(n)")
        w()

    def forward_line(self, name: str, interims_done: set, timed: bool) -> None:
        model, w = self.model, self.w
        d = model.definition(name)
        for ref in _interims_read(model, d.expr):
            if ref not in interims_done:
                interims_done.add(ref)
                self.forward_line(ref, interims_done, timed=model.var(ref).timed)
        decl = model.var(name)
        lhs = decl.display(T) if decl.timed else decl.latex
        target = f"{_name(name)}[t]" if decl.timed else _name(name)
        if isinstance(d.expr, Apply) and d.expr.prim.over is not None:
            arg = model.var(d.expr.args[0].name)
            w.comment(f"{lhs} = \\sum_t {arg.display(T)}")
            w(f"{target} = sum({_name(arg.name)}[t] for t in {_range(arg.loop)})")
            return
        expr = symbolic(model, d.expr)
        w.comment(f"{lhs} = {latex(expr)}")
        w(f"{target} = {self.expr(expr)}")

    def backward_order(self, groups) -> list[list[str]]:
        needed: set = set()
        for p in self.model.parameters:
            try:
                needed |= set(adjoint_order(self.model, p.name))
            except SymRNNError:
                continue
        out = []
        for group in reversed(groups):
            members = [v for v in reversed(group) if v in needed and v != self.model.loss]
            if members:
                out.append(members)
        return out

    def adjoint_line(self, name: str, timed: bool) -> None:
        model, w = self.model, self.w
        decl = model.var(name)
        target = f"d_{name}[t]" if timed else f"d_{name}"
        w(f"{target} = 0.0")
        self.terms(name, target, timed)
        if timed:
            w(f"{target} = {target} + xp.zeros(({_shape(decl)[0]}, B))  # a number 0 becomes a column")

    def terms(self, name: str, target: str, timed: bool, skip_sums: bool = False) -> None:
        model, w = self.model, self.w
        eq = adjoint_equation(model, name, "denominator")
        for term in eq.terms:
            if skip_sums and term.over is not None and term.condition is None:
                continue  # computed in the shared loops (sums_over_steps)
            guards = []
            if term.at is not None:
                guards.append(f"t == {_py_time(term.at)}")
            if term.condition is not None:
                guards.append(f"{_py_time(term.condition.lhs)} == {_py_time(term.condition.rhs)}")
            tex = latex(term.expr) if not al.is_scalar(term.expr) else sp.latex(term.expr)
            if term.over is not None:
                w.comment(f"+ \\sum_t {tex}")
                loop = model.var(term.reader).loop
                w(f"for t in {_range(loop)}:")
                w.depth += 1
                w(f"{target} = {target} + {self.expr(term.expr)}")
                w.depth -= 1
                continue
            exists = _exists(model, term.reader, term.reader_time) if term.reader_time is not None else None
            if exists:
                guards.append(exists)
            w.comment(f"+ {tex}" + (f"   (from {model.var(term.reader).display(term.reader_time)})"
                                    if term.reader_time is not None else ""))
            line = f"{target} = {target} + {self.expr(term.expr)}"
            if guards:
                w(f"if {' and '.join(guards)}:")
                w.depth += 1
                w(line)
                w.depth -= 1
            else:
                w(line)

    def sums_over_steps(self) -> None:
        """The parameters' sums over t, one loop per loop of the model, computed together.

        A factor that several gradients share (``\\delta_t \\odot g'(a_t)`` for ``W^{hx}``,
        ``W^{hh}`` and ``b^h``) is computed once per step, and a sum of outer products
        ``\\sum_t A_t u_t^\\top`` is one matrix product after the loop, of the steps side by side.
        """
        model, w = self.model, self.w
        self.summed: dict = {}  # param -> list of Python expressions to add after the loops
        loops: dict = {}
        for p in model.parameters:
            for k, term in enumerate(adjoint_equation(model, p.name, "denominator").terms):
                if term.over is not None and term.condition is None:
                    loops.setdefault(_range(term.over), []).append((p.name, k, term))
        for span, terms in loops.items():
            shared: dict = {}
            body: list = []
            for name, k, term in terms:
                factor, column = _outer_parts(term.expr)
                code = self.expr(factor)
                if code not in shared:
                    shared[code] = f"s{len(shared)}"
                tex = latex(term.expr)
                if column is None:
                    body.append((f"# d/d {model.var(name).latex}: + \\sum_t {tex}",
                                 f"_sum_{name}_{k} = _sum_{name}_{k} + {shared[code]}"))
                    self.summed.setdefault(name, []).append(f"_sum_{name}_{k}")
                else:
                    line = f"_A_{name}_{k}.append({shared[code]}); _U_{name}_{k}.append({self.expr(column)})"
                    body.append((f"# d/d {model.var(name).latex}: + \\sum_t {tex}", line))
                    self.summed.setdefault(name, []).append(  # an empty loop (the tagger at i = 1) adds 0
                        f"(outer(xp, _side_by_side(_A_{name}_{k}, B), _side_by_side(_U_{name}_{k}, B).T) "
                        f"if _A_{name}_{k} else 0.0)")
            for name, k, term in terms:
                factor, column = _outer_parts(term.expr)
                w(f"_sum_{name}_{k} = 0.0" if column is None else f"_A_{name}_{k}, _U_{name}_{k} = [], []")
            w(f"for t in {span}:")
            w.depth += 1
            for code, temp in shared.items():
                w(f"{temp} = {code}")
            for comment, line in body:
                w(comment)
                w(line)
            w.depth -= 1

    def gradient_line(self, name: str) -> None:
        model, w = self.model, self.w
        decl = model.var(name)
        w.comment(f"d {model.var(model.loss).latex} / d {decl.latex}")
        w("grad = 0.0")
        self.terms(name, "grad", timed=False, skip_sums=True)
        for extra in self.summed.get(name, []):
            w(f"grad = grad + {extra}  # the sum over t, from the loop above")
        rows, cols = _shape(decl)
        w(f"grads[{name!r}] = _like(grad, ({rows}, {cols}))")

    def header(self) -> str:
        model = self.model
        lines = [
            f'"""The loss and gradients of {model.title}, generated by symrnn {__version__}.',
            "",
            "The factored form, run over time for a batch kept in columns: an input sequence is",
            "(n, size, B), a label (B,); every line is commented with the equation it computes.",
            "Regenerate with: symrnn codegen " + model.name + ' --backend ' + self.backend,
            '"""',
            "",
            BACKENDS[self.backend],
            "",
            "",
        ]
        body = "\n".join(self.w.lines)
        for fname in sorted(self.model.functions + [f + "'" for f in self.model.functions]):
            if PR.function_identifier(fname) + "(" in body:
                lines += _function_source(fname, self.bindings) + [""]
        needed = {name for name in ("softmax", "logsoftmax", "concat", "outer", "basis", "component", "selector")
                  if f"{name}(xp," in body}
        if "component" in needed:
            needed.add("basis")  # a component is read through a one-hot column
        # the engine's own helpers (functional, so JAX arrays work), copied under the printed names
        for name, fn in (("softmax", PR.softmax), ("logsoftmax", PR.logsoftmax), ("concat", E._concat),
                         ("outer", E._outer), ("basis", E._basis), ("component", E._component),
                         ("selector", PR._selector)):
            if name in needed:
                src = inspect.getsource(fn).replace("_basis(", "basis(")
                lines += [src.replace(f"def {fn.__name__}(", f"def {name}(", 1).rstrip(), "", ""]
        lines += [
            "def _timeline(n):",
            '    """A list indexed by time 0..n+1 (initial states sit at 0 or n+1)."""',
            "    return [0.0] * (n + 2)",
            "",
            "",
            "def _steps(x, first):",
            '    """An input sequence as a list indexed by its times (x[first] is its first step)."""',
            "    return [None] * first + list(x)",
            "",
            "",
            "def _batch(inputs, labels):",
            "    for value in list(inputs.values()) + list(labels.values()):",
            "        return value.shape[-1]",
            "    return 1",
            "",
            "",
            "def _side_by_side(columns, B):",
            '    """Per-step (r, B) arrays (or an initial state (r, 1)) side by side: one (r, steps * B) array."""',
            "    wide = [c if c.shape[1] == B else xp.broadcast_to(c, (c.shape[0], B)) for c in columns]",
            "    return xp.concatenate(wide, axis=1)",
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
    found: list[str] = []
    if isinstance(expr, Apply):
        for a in expr.args:
            found += [r for r in _interims_read(model, a) if r not in found]
        return found
    if model.var(expr.name).kind is Kind.INTERIM:
        return [expr.name]
    return []


def _function_source(fname: str, bindings: dict) -> list[str]:
    ident = PR.function_identifier(fname)
    base = fname[:-1] if fname.endswith("'") else fname
    concrete = bindings.get(base, base)
    table = _DERIVATIVES if fname.endswith("'") and base in bindings else _FUNCTIONS
    key = concrete if (fname.endswith("'") and base in bindings) or base in bindings else fname
    if key not in table:
        raise NumericError(f"codegen has no source for the function {fname!r}")
    return [f"def {ident}(xp, a):", f"    return {table[key]}", ""]


__all__ = ["codegen"]
