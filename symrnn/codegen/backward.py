"""The backward half of a generated module: the total derivatives from the loss back, then each
parameter's closed form (denominator layout).

A group of variables that is a recurrence is one loop against the forward loop's direction, its
products of adjoints read in several places kept per step; a group no step of which reads
another is computed for all its steps at once; untimed adjoints and the gradients are sums of
their terms, a sum over t computed for all steps at once. A term that exists at some steps only
is guarded. Mixed into :class:`symrnn.codegen.generator.Generator`, whose state it shares.
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from symrnn.codegen.emit import target_text
from symrnn.codegen.printer import Block
from symrnn.codegen.program import (
    Alloc,
    Assign,
    At,
    Comment,
    Condition,
    Guard,
    Item,
    Name,
    Select,
    Steps,
    loop_over,
)
from symrnn.codegen.stacking import shared_key
from symrnn.codegen.timing import exists, py_time, rows, span
from symrnn.derive.adjoints import summed
from symrnn.derive.equations import Layout, adjoint_equation, adjoint_order
from symrnn.errors import SymRNNError
from symrnn.operations import algebra as al
from symrnn.operations.symbols import T, TotalDerivative, Var


def _condition(parts, step: bool) -> Condition | None:
    return Condition(tuple(parts), step) if parts else None


class Backward:
    """The backward recursion and the gradients: see the module docstring."""

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
        if term.reader_time is not None and term.index == T:  # (a sum over a reader's steps s runs over them)
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
            if term.at is not None:  # a term at one step (t == n); summed over a loop that reads it at every step
                value = self.summed(term) if term.over is not None else self.code(expr.subs(T, term.at))
                line = Assign(At(f"d_{name}", py_time(term.at)), value, add=True)
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
                        f"({rows(decl)}, B)")

    def accumulate(self, target: str, terms, column: str | None) -> None:
        """``target`` = the sum of ``terms`` (untimed); a sum over t is computed for all steps at once;
        terms under one guard that a stacked matrix multiplies back are one product (:meth:`fuse`)."""
        groups: list = []  # ([guard parts], [terms]), one per run of terms with equal guards
        for term in terms:
            parts = []
            if term.condition is not None:
                parts.append(f"{py_time(term.condition.lhs)} == {py_time(term.condition.rhs)}")
            if term.reader_time is not None and term.over is None:
                parts += exists(self.model, term.reader, term.reader_time)
            if groups and groups[-1][0] == parts and term.over is None and groups[-1][1][-1].over is None:
                groups[-1][1].append(term)
            else:
                groups.append((parts, [term]))
        started = False
        numbers_only = True
        for parts, members in groups:
            exprs = [self.substitute(term.expr) for term in members]
            fused = self.fuse(exprs)
            for term in members:
                tex = self.tex(term.expr)
                numbers_only = numbers_only and al.is_scalar(term.expr)
                if len(fused) == len(exprs):
                    self.add(Comment(f"+ \\sum_t {tex}" if term.over is not None else f"+ {tex}"))
                    value = self.summed(term) if term.over is not None else self.code(self.substitute(term.expr))
                    started = self._add_to(target, value, parts, started)
                else:
                    self.add(Comment(f"+ {tex}"))
            if len(fused) != len(exprs):
                for expr in fused:
                    started = self._add_to(target, self.code(expr), parts, started)
        if not started:
            self.add(Assign(Name(target), "0.0"))
        if column is not None and (numbers_only or not started):
            self.add(Assign(Name(target), f"xp.zeros({column})", add=True,
                            comment="a number becomes a column per sequence"))

    def _add_to(self, target: str, value: str, parts: list, started: bool) -> bool:
        """``target`` (+)= ``value`` under the tests ``parts``; returns that target now has a value."""
        if parts:
            if not started:
                self.add(Assign(Name(target), "0.0"))
            self.add(Guard(Condition(tuple(parts), False), (Assign(Name(target), value, add=True),)))
        else:
            self.add(Assign(Name(target), value, add=started))
        return True

    def backward_loop(self, group: list[str]) -> None:
        """A recurrence of adjoints: one loop over t, against the forward loop's direction."""
        model = self.model
        decl = model.var(group[0])
        shared = self.shared_products(group)
        known = len(self.timelines)
        self.stack_shared(group, shared)
        for E in self.timelines[known:]:
            self.add(Alloc(E.name, str(sp.sympify(E.shape[0])), "kept per step, stacked: see the loop"))
        carried = {f"d_{v}" for v in group} | {var.name if isinstance(var, Var) else var.arg.name for _, var in shared}
        deps: dict = {}
        keys = {shared_key(var) for _, var in shared}
        for canon, var in shared:
            used = [shared_key(v) for v in canon.atoms(Var, Block) if not isinstance(v, TotalDerivative)
                    and shared_key(v) in keys and shared_key(v) in deps]
            deps[shared_key(var)] = {a.name for a in canon.atoms(TotalDerivative)}.union(*(deps[k] for k in used))
            if isinstance(var, Var):
                self.add(Alloc(var.name, str(sp.sympify(var.shape[0])), "kept per step: see the loop"))
        placed: set = set()
        for name in group:  # a loop that reads the variable at a fixed time, at every step: its sum, before
            for term in adjoint_equation(self.model, name, Layout.DENOMINATOR).terms:
                if term.over is not None and term.at is not None:
                    self.sum_before(term)
        local = self.local_adjoints(group)
        self.locals |= {f"d_{v}" for v in local}
        self.unallocated |= {f"d_{v}" for v in local}
        with self.program.block() as body:
            for name in group:
                self.adjoint_step(name, name in local, carried)
                done = set(group[:group.index(name) + 1])
                for canon, var in shared:
                    if shared_key(var) not in placed and deps[shared_key(var)] <= done:
                        placed.add(shared_key(var))
                        if isinstance(var, Var):
                            target = At(var.name, "t")
                        else:
                            start, stop = var.args[1], var.args[1] + var.args[2]
                            target = At(var.arg.name, f"t, {py_time(start)}:{py_time(stop)}")
                        self.add(Comment(f"{target_text(target)} = {self.tex(canon)}"))
                        self.add(Assign(target, self.code(self.rewrite(canon, carried))))
        self.emit_hoisted()
        self.add(loop_over(decl.loop, body, reverse=True))

    def step_term(self, term, expr):
        """A term's value ``expr`` at step t of its variable's loop: summed over a reader's steps s there (a
        read at the second index: attention), or the name of its sum over t computed before the loop."""
        if term.over is not None and term.index != T:
            return summed(replace(term, expr=expr))
        if term.over is not None:
            return Var(self.sums[term], None, *term.expr.shape, "S")
        return expr

    def sum_before(self, term) -> str:
        """The name of ``\\sum_t`` of a term over its reader's loop, computed once before the loop that needs it."""
        if term not in self.sums:
            self.sums[term] = self.fresh("S")
            self.add(Comment(f"{self.sums[term]} = \\sum_t {self.tex(term.expr)}"))
            self.add(Assign(Name(self.sums[term]), self.summed(term)))
        return self.sums[term]

    def adjoint_step(self, name: str, local: bool, carried: set) -> None:
        """The adjoint of ``name`` at step t of its loop: its terms, those at some steps only guarded;
        terms under one guard that a stacked matrix multiplies back are one product (:meth:`fuse`)."""
        # a timeline's entry is summed in a step local and written once: JAX copies a whole timeline
        # at each step where one entry is updated twice with a read between (the LSTM's d_c at n = 800: 4x)
        target = Name(f"d_{name}" if local else self.fresh("s"))
        first = True
        terms = [(term, *self.term_guard(term, span(self.model.var(name).loop)))
                 for term in adjoint_equation(self.model, name, Layout.DENOMINATOR).terms]
        groups: list = []  # (guard, at a fixed step, [comments], [expressions]), one per run of equal guards
        for term, guard, comment in sorted(terms, key=lambda x: x[1] is not None):
            expr = self.step_term(term, self.substitute(term.expr))
            if groups and groups[-1][0] == guard:
                groups[-1][2].append(comment)
                groups[-1][3].append(expr)
            else:
                groups.append((guard, term.at is not None, [comment], [expr]))
        for guard, fixed, comments, exprs in groups:
            fused = self.fuse(exprs)
            items = list(zip(comments, exprs, strict=True)) if len(fused) == len(exprs) else [
                *((c, None) for c in comments), *((None, e) for e in fused)]
            for comment, expr in items:
                if comment is not None:
                    self.add(Comment(comment))
                if expr is None:
                    continue
                if not fixed:  # a term at (nearly) every step: what it can, before the loop
                    expr = self.rewrite(expr, carried)
                value = self.code(expr)
                if guard is None:
                    self.add(Assign(target, value, add=not first))
                elif first:  # this step's own value: nothing to add to yet
                    self.add(Select(target, value, guard))
                else:
                    self.add(Guard(guard, (Assign(target, value, add=True),)))
                first = False
        if first and local:
            self.add(Assign(target, "0.0"))
        elif not first and not local:
            self.add(Assign(At(f"d_{name}", "t"), target.name, comment="this step's sum, written once"))

    def gradient(self, name: str) -> None:
        decl = self.model.var(name)
        self.add(Comment(f"d {self.model.var(self.model.loss).latex} / d {decl.latex}"))
        self.accumulate("grad", self.gradient_terms(name), None)
        rows, cols = (str(sp.sympify(d)) for d in decl.shape)
        self.add(Assign(Item("grads", name), f"_like(grad, ({rows}, {cols}))"))
