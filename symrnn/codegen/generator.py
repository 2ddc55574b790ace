"""The generator: a model's factored form as a :class:`~symrnn.codegen.program.Program`.

The program walks the factored form with loops over ``t``: the forward equations, the total
derivatives of the recursion (denominator layout) from the loss backwards, then each
parameter's closed form. Variables are grouped as the recursion orders them
(:func:`symrnn.derive.equations.variable_groups`): a group that is a recurrence is one loop,
forward in its loop's direction and backward the other way; a group no step of which reads
another is computed for all its steps at once. Every statement is commented with its LaTeX.
A timed variable is an array ``(n + 2, size, B)`` with ``h^{(t)}`` at ``h[t]`` (its initial
state at 0 or n + 1); an input is the user's array, read from its first step.
"""

from __future__ import annotations

import sympy as sp

from symrnn.codegen.passes import Passes
from symrnn.codegen.printer import RESERVED, CodePrinter, var_name
from symrnn.codegen.program import (
    Alloc,
    Assign,
    At,
    Blank,
    Comment,
    Condition,
    Guard,
    Item,
    Loop,
    Name,
    Program,
    Return,
    Select,
    Steps,
)
from symrnn.codegen.timing import exists, loop_bounds, py_time, span
from symrnn.derive.equations import Layout, adjoint_equation, adjoint_order, variable_groups
from symrnn.errors import NumericError, SymRNNError
from symrnn.graph.jacobians import symbolic
from symrnn.model.declared import Apply, Kind, Model
from symrnn.operations import algebra as al
from symrnn.operations.symbols import Elementwise, T, TotalDerivative, Var
from symrnn.render.latex import latex


def _condition(parts, step: bool) -> Condition | None:
    return Condition(tuple(parts), step) if parts else None


def _rows(decl) -> str:
    return str(sp.sympify(decl.shape[0]))


def _loop(loop, body, reverse: bool = False) -> Loop:
    first, end, step = loop_bounds(loop, reverse)
    return Loop(first, end, step, tuple(body))


class Generator(Passes):
    """Builds the program of ``model``'s loss and gradients (see the module docstring)."""

    def __init__(self, model: Model, bindings: dict):
        self.model, self.bindings = model, bindings
        self.program = Program()
        self.functions: set[str] = set()  # the elementwise functions the module calls
        self.taken = {v.name for v in model.variables} | RESERVED | {str(s) for s in model.sizes}
        self.hoisted: dict = {}  # canonical expression -> its Var (a timeline, or a constant)
        self.shared: list = []  # (canonical expression, its Var): products of adjoints kept per step
        self.pending: list = []  # hoisted values the next loop needs, not yet defined
        self.flats: dict = {}  # code of a stack of steps -> the name of it side by side
        self.outputs = self._outputs()
        self.groups = variable_groups(model)
        self.locals = self.step_locals(self.groups)
        self.unallocated: set = set()  # adjoints that became plain names: no timeline
        self.valid = {var_name(v.name): span(v.loop) for v in model.inputs if v.timed}

    # -- names and printing ---------------------------------------------------------------
    def fresh(self, prefix: str) -> str:
        k = 0
        while f"{prefix}{k}" in self.taken:
            k += 1
        self.taken.add(f"{prefix}{k}")
        return f"{prefix}{k}"

    def code(self, expr, span=None, outer: bool = False):
        """``expr`` as code (for every ``t`` of ``span`` at once); with ``outer``, also whether it
        holds an outer product with a parameter's row."""
        if al.is_scalar(expr):
            text, printer = f"{float(expr)!r}", None
        else:
            printer = CodePrinter(self, span)
            text = printer.doprint(expr)
        return (text, bool(printer and printer.outer_products)) if outer else text

    def tex(self, expr) -> str:
        return latex(expr) if not al.is_scalar(expr) else sp.latex(expr)

    def add(self, statement) -> None:
        self.program.add(statement)

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

    # -- the program ------------------------------------------------------------------------
    def build(self) -> Program:
        model = self.model
        self.preamble()
        self.add(Comment("-- forward: the model's equations --"))
        done: set = set()
        for group, recurrent in self.groups:
            decl = model.var(group[0])
            if not decl.timed:
                for name in group:
                    self.forward_line(name, done, None)
            elif recurrent:
                self.forward_loop(group, done)
            else:
                for name in group:
                    self.forward_line(name, done, span(decl.loop))
        self.add(Assign(Name("loss"), var_name(model.loss) + ".reshape(-1)"))
        self.add(Blank())
        self.add(Comment("-- backward: the total derivatives, from the loss back (denominator layout) --"))
        self.add(Assign(Name(f"d_{model.loss}"), "xp.ones((1, B))"))
        for group, recurrent in self.backward_order():
            decl = model.var(group[0])
            if not decl.timed:
                for name in group:
                    self.adjoint_untimed(name)
            elif recurrent or not self.stackable(group):
                self.backward_loop(group)
            else:
                self.adjoint_stacked(group[0])
        self.add(Blank())
        self.add(Comment("-- the gradients: each parameter's closed form --"))
        self.add(Assign(Name("grads"), "{}"))
        for p in model.parameters:
            self.gradient(p.name)
        self.add(Return("loss, grads"))
        kept = [s for s in self.program.statements if not (isinstance(s, Alloc) and s.name in self.unallocated)]
        return Program(kept)

    def preamble(self) -> None:
        model, add = self.model, self.add
        add(Assign(Name("B"), "_batch(inputs, labels)"))
        for p in model.parameters:
            add(Assign(Name(var_name(p.name)), f"xp.asarray(params[{p.name!r}])", comment=p.latex))
        for size in model.sizes:
            source = next(((v, k) for v in model.parameters for k in (0, 1) if v.shape[k] == size), None)
            if source is None:
                raise NumericError(f"codegen reads the size {size} from a parameter's shape, and none is {size} wide")
            if str(size) in {v.name for v in model.variables} | RESERVED:
                raise NumericError(f"the size {size} has the name of a variable; rename one to generate code")
            add(Assign(Name(str(size)), f"{var_name(source[0].name)}.shape[{source[1]}]"))
        for v in model.inputs:
            name = var_name(v.name)
            if v.timed:
                first = span(v.loop)[0]
                at = f"{name}[t{'' if first == 0 else f'-{py_time(first)}'}]"
                add(Assign(Name(name), f"_steps(xp.asarray(inputs[{v.name!r}]), {_rows(v)}, B)",
                           comment=f"{v.display(T)} at {at}"))
            else:
                add(Assign(Name(name), f"xp.asarray(inputs[{v.name!r}])", comment=v.latex))
        for v in model.variables:
            if v.kind is Kind.LABEL:
                add(Assign(Name(var_name(v.name)), f"labels[{v.name!r}]", comment=v.latex))
        for v in model.variables:
            if v.timed and v.kind in (Kind.STATE, Kind.DEFINED, Kind.INTERIM) and v.name not in self.locals:
                name = var_name(v.name)
                add(Alloc(name, _rows(v), f"{v.display(T)} at {name}[t], t = 0..n+1"))
                if v.kind is Kind.STATE:
                    before = sp.expand(sp.sympify(v.loop.first) - v.loop.step)
                    init = model.var(v.init)
                    add(Assign(At(name, py_time(before)), var_name(init.name),
                               comment=f"{v.display(before)} = {init.latex}"))
        for v in model.variables:
            if v.timed and v.kind in (Kind.STATE, Kind.DEFINED):
                add(Alloc(f"d_{v.name}", _rows(v)))
        add(Blank())

    # -- forward ----------------------------------------------------------------------------
    def forward_line(self, name: str, done: set, steps, carried=None) -> None:
        """One equation: at step t (in a loop), for all steps of ``steps`` at once, or untimed."""
        model = self.model
        d = model.definition(name)
        for ref in dict.fromkeys(r.name for r in model.interim_refs(d.expr)):
            if ref not in done:
                done.add(ref)
                self.forward_line(ref, done, steps, carried)
        decl = model.var(name)
        lhs = decl.display(T) if decl.timed else decl.latex
        if isinstance(d.expr, Apply) and d.expr.prim.over is not None:
            arg = model.var(d.expr.args[0].name)
            self.add(Comment(f"{lhs} = \\sum_t {arg.display(T)}"))
            self.add(Assign(Name(var_name(name)), f"xp.sum({self.code(arg.symbol(T), span=span(arg.loop))}, axis=0)"))
            return
        expr = symbolic(model, d.expr)
        self.add(Comment(f"{lhs} = {latex(expr)}"))
        if not decl.timed:
            self.add(Assign(Name(var_name(name)), self.code(expr)))
        elif steps is None:
            local = var_name(name) in self.locals
            target = Name(var_name(name)) if local else At(var_name(name), "t")
            self.add(Assign(target, self.code(self.rewrite(expr, carried))))
        else:
            lo, hi = steps
            self.add(Assign(Steps(var_name(name), py_time(lo), py_time(hi + 1)), self.code(expr, span=steps),
                            comment=f"t = {py_time(lo)}..{py_time(hi)} at once"))

    def _interims_all(self, expr) -> list[str]:
        """The interims an expression reads, and those they read, in turn."""
        found: list[str] = []
        for ref in dict.fromkeys(r.name for r in self.model.interim_refs(expr)):
            found += [r for r in [ref, *self._interims_all(self.model.definition(ref).expr)] if r not in found]
        return found

    def forward_loop(self, group: list[str], done: set) -> None:
        """A recurrence: one loop over t, with what does not read the recurrence computed before it."""
        model = self.model
        carried = set(group)
        for name in group:
            carried |= set(self._interims_all(model.definition(name).expr))
        with self.program.block() as body:
            for name in group:
                self.forward_line(name, done, None, carried)
        self.emit_hoisted()
        self.add(_loop(model.var(group[0]).loop, body))

    # -- backward ---------------------------------------------------------------------------
    def backward_order(self) -> list[tuple[list[str], bool]]:
        needed: set = set()
        for p in self.model.parameters:
            try:
                needed |= set(adjoint_order(self.model, p.name))
            except SymRNNError:
                continue
        out = []
        for group, recurrent in reversed(self.groups):
            members = [v for v in reversed(group) if v in needed and v != self.model.loss]
            if members:
                out.append((members, recurrent))
        return out

    def stackable(self, group) -> bool:
        """A group whose adjoints can be computed for all steps at once (no term that exists at some steps only)."""
        eq = adjoint_equation(self.model, group[0], Layout.DENOMINATOR)
        within = span(self.model.var(group[0]).loop)
        return len(group) == 1 and all(
            term.over is None and (term.reader_time is None or not exists(self.model, term.reader, term.reader_time,
                                                                          within))
            for term in eq.terms)

    def term_guard(self, term, within=None) -> tuple[Condition | None, str]:
        """``(guard, comment)`` of one term of an adjoint at a step t ``within`` (lo, hi)."""
        parts, step = [], False
        if term.at is not None:
            parts.append(f"t == {py_time(term.at)}")
            step = True
        if term.condition is not None:
            parts.append(f"{py_time(term.condition.lhs)} == {py_time(term.condition.rhs)}")
        if term.reader_time is not None:
            found = exists(self.model, term.reader, term.reader_time, within)
            parts += found
            step = step or bool(found) and sp.sympify(term.reader_time).has(T)
        comment = f"+ {self.tex(term.expr)}" + (f"   (from {self.model.var(term.reader).display(term.reader_time)})"
                                                 if term.reader_time is not None else "")
        return _condition(parts, step), comment

    def adjoint_stacked(self, name: str) -> None:
        """The adjoint of a variable no step of which reads another: all its steps at once."""
        model = self.model
        lo, hi = span(model.var(name).loop)
        target = Steps(f"d_{name}", py_time(lo), py_time(hi + 1))
        first = True
        terms = adjoint_equation(model, name, Layout.DENOMINATOR).terms
        for term in sorted(terms, key=lambda term: term.at is not None or term.condition is not None):
            guard, comment = self.term_guard(term, (lo, hi))
            self.add(Comment(comment))
            expr = self.substitute(term.expr)
            if guard is None:
                self.add(Assign(target, self.code(expr, span=(lo, hi)), add=not first,
                                comment=f"t = {py_time(lo)}..{py_time(hi)} at once"))
                first = False
                continue
            if term.at is not None:  # a term at one step (t == n)
                line = Assign(At(f"d_{name}", py_time(term.at)), self.code(expr.subs(T, term.at)), add=True)
            else:
                line = Assign(target, self.code(expr, span=(lo, hi)), add=True)
            if term.condition is not None:
                cond = (f"{py_time(term.condition.lhs)} == {py_time(term.condition.rhs)}",)
                self.add(Guard(Condition(cond, False), (line,)))
            else:
                self.add(line)

    def adjoint_untimed(self, name: str) -> None:
        decl = self.model.var(name)
        self.accumulate(f"d_{name}", adjoint_equation(self.model, name, Layout.DENOMINATOR).terms,
                        f"({_rows(decl)}, B)")

    def accumulate(self, target: str, terms, column: str | None) -> None:
        """``target`` = the sum of ``terms`` (untimed); a sum over t is computed for all steps at once."""
        started = False
        numbers_only = True
        for term in terms:
            parts = []
            if term.condition is not None:
                parts.append(f"{py_time(term.condition.lhs)} == {py_time(term.condition.rhs)}")
            if term.reader_time is not None and term.over is None:
                parts += exists(self.model, term.reader, term.reader_time)
            tex = self.tex(term.expr)
            self.add(Comment(f"+ \\sum_t {tex}" if term.over is not None else f"+ {tex}"))
            numbers_only = numbers_only and al.is_scalar(term.expr)
            value = self.summed(term) if term.over is not None else self.code(self.substitute(term.expr))
            if parts:
                if not started:
                    self.add(Assign(Name(target), "0.0"))
                    started = True
                self.add(Guard(Condition(tuple(parts), False), (Assign(Name(target), value, add=True),)))
            else:
                self.add(Assign(Name(target), value, add=started))
                started = True
        if not started:
            self.add(Assign(Name(target), "0.0"))
        if column is not None and (numbers_only or not started):
            self.add(Assign(Name(target), f"xp.zeros({column})", add=True,
                            comment="a number becomes a column per sequence"))

    def backward_loop(self, group: list[str]) -> None:
        """A recurrence of adjoints: one loop over t, against the forward loop's direction."""
        model = self.model
        decl = model.var(group[0])
        shared = self.shared_products(group)
        carried = {f"d_{v}" for v in group} | {var.name for _, var in shared}
        deps: dict = {}
        for canon, var in shared:
            deps[var.name] = {a.name for a in canon.atoms(TotalDerivative)}.union(
                *(deps[v.name] for v in canon.atoms(Var) if v.name in deps))
            self.add(Alloc(var.name, str(sp.sympify(var.shape[0])), "kept per step: see the loop"))
        placed: set = set()
        local = self.local_adjoints(group)
        self.locals |= {f"d_{v}" for v in local}
        self.unallocated |= {f"d_{v}" for v in local}
        with self.program.block() as body:
            for name in group:
                self.adjoint_step(name, name in local, carried)
                done = set(group[:group.index(name) + 1])
                for canon, var in shared:
                    if var.name not in placed and deps[var.name] <= done:
                        placed.add(var.name)
                        self.add(Comment(f"{var.name}[t] = {self.tex(canon)}"))
                        self.add(Assign(At(var.name, "t"), self.code(self.rewrite(canon, carried))))
        self.emit_hoisted()
        self.add(_loop(decl.loop, body, reverse=True))

    def adjoint_step(self, name: str, local: bool, carried: set) -> None:
        """The adjoint of ``name`` at step t of its loop: its terms, those at some steps only guarded."""
        target = Name(f"d_{name}") if local else At(f"d_{name}", "t")
        first = True
        terms = [(term, *self.term_guard(term, span(self.model.var(name).loop)))
                 for term in adjoint_equation(self.model, name, Layout.DENOMINATOR).terms]
        for term, guard, comment in sorted(terms, key=lambda x: x[1] is not None):
            self.add(Comment(comment))
            expr = self.substitute(term.expr)
            if term.at is None:  # a term at (nearly) every step: what it can, before the loop
                expr = self.rewrite(expr, carried)
            value = self.code(expr)
            if guard is None:
                self.add(Assign(target, value, add=not first))
            elif first and local:  # this step's own value: nothing to add to yet
                self.add(Select(target, value, guard))
            else:
                self.add(Guard(guard, (Assign(target, value, add=True),)))
            first = False
        if first and local:
            self.add(Assign(target, "0.0"))

    def gradient(self, name: str) -> None:
        decl = self.model.var(name)
        self.add(Comment(f"d {self.model.var(self.model.loss).latex} / d {decl.latex}"))
        self.accumulate("grad", adjoint_equation(self.model, name, Layout.DENOMINATOR).terms, None)
        rows, cols = (str(sp.sympify(d)) for d in decl.shape)
        self.add(Assign(Item("grads", name), f"_like(grad, ({rows}, {cols}))"))
