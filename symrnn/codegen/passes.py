"""The optimisations of generated code, as a careful person writes BPTT by hand.

* hoisting: in a loop, every maximal part of an expression that does not read the loop's
  own values is computed before the loop for every step at once (:meth:`Passes.rewrite`),
  keyed by its form moved to ``t`` so that ``g'(a^{(t+1)})`` and ``g'(a^{(t)})`` are one array;
* shared products: a product of adjoints that several terms read at every step is kept per
  step, most-read first (:meth:`Passes.shared_products`);
* step locals: an interim or adjoint read only at its own step is a plain name, not a
  timeline (:meth:`Passes.step_locals`, :meth:`Passes.local_adjoints`);
* sums of outer products: ``\\sum_t a_t u_t^T`` is one matrix product of the steps side by side
  after the loop (:meth:`Passes.summed`).

They are mixed into :class:`symrnn.codegen.generator.Generator`, whose state they share.
"""

from __future__ import annotations

import sympy as sp

from symrnn.codegen.printer import Block, var_name
from symrnn.codegen.program import Assign, Comment, Name
from symrnn.codegen.timing import canonical, earlier, invariant_anchor, later, loop_bounds, py_time, shift, span, timed
from symrnn.derive.equations import Layout, adjoint_equation
from symrnn.errors import SymRNNError
from symrnn.model.declared import Kind
from symrnn.operations import algebra as al
from symrnn.operations.functions import FUNCTIONS
from symrnn.operations.symbols import Elementwise, J, N, S, T, TotalDerivative, Var


def flatten(expr):
    """Nested sums and elementwise products flattened into one node (so invariant operands group)."""
    if isinstance(expr, (sp.MatAdd, sp.HadamardProduct)):
        args = []
        for a in expr.args:
            a = flatten(a)
            args += list(a.args) if type(a) is type(expr) else [a]
        return type(expr)(*args)
    return expr


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


def _read(expr, memo: dict, kind) -> frozenset:
    """The atoms of ``kind`` (variables, total derivatives) ``expr`` reads, each subexpression's found
    once (``memo``): a deep expression's subexpressions share their parts, so asking each for its
    atoms was quadratic (a chain of 150 lets: 22 s of codegen)."""
    found = memo.get(expr)
    if found is None:
        if isinstance(expr, kind):
            found = frozenset((expr,))
        else:
            found = frozenset().union(*(_read(a, memo, kind) for a in expr.args if isinstance(a, sp.Basic)))
        memo[expr] = found
    return found


def _size(expr, memo: dict) -> int:
    """The number of nodes of ``expr``, each subexpression's counted once (``memo``)."""
    found = memo.get(expr)
    if found is None:
        found = 1 + sum(_size(a, memo) for a in expr.args if isinstance(a, sp.Basic))
        memo[expr] = found
    return found


def _preorder(expr):
    """Every subexpression of ``expr``, parents first, with a stack: SymPy's recursive generator
    passes each node up through every enclosing one (quadratic in a deep chain)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed([a for a in node.args if isinstance(a, sp.Basic)]))


def carried_key(v: Var) -> str:
    """How a loop's own values are named in its ``carried`` set: ``h``, or ``d_h`` for an adjoint."""
    return ("d_" + v.name) if isinstance(v, TotalDerivative) else v.name


class Passes:
    """Hoisting, shared products, step locals and fused sums (see the module docstring)."""

    # -- hoisting ---------------------------------------------------------------------------
    def hoist(self, expr):
        """The value of a loop-invariant ``expr``: a timeline computed for every step before the loop."""
        if al.is_scalar(expr) or isinstance(expr, Var) or isinstance(expr, sp.Transpose) and isinstance(expr.arg, Var):
            return expr
        if isinstance(expr, sp.Transpose):  # u^T v is an inner product per sequence: hoist u, keep the transpose
            return sp.Transpose(self.hoist(expr.arg))
        anchor = invariant_anchor(expr)
        if anchor is None:
            if timed(expr) and any(sp.sympify(v.time).has(T) for v in timed(expr)):
                return expr  # times too irregular to precompute
            if expr not in self.hoisted:
                self.hoisted[expr] = (Var(self.fresh("c"), None, *expr.shape, "c"), None)
                self.pending.append(expr)
            return self.hoisted[expr][0]
        canon = canonical(expr, anchor)
        if canon is None:  # parts at every step and at a fixed time (B y_t + W h_n): each its own value
            if isinstance(expr, (sp.MatAdd, sp.HadamardProduct)):
                return type(expr)(*(self.hoist(a) for a in expr.args))
            return expr
        if canon not in self.hoisted:
            self.hoisted[canon] = (Var(self.fresh("pre"), T, *expr.shape, "P"), canon)
            self.pending.append(canon)
            self.valid[self.hoisted[canon][0].name] = self.times_of(canon)
        return shift(self.hoisted[canon][0], sp.expand(anchor - T))

    def rewrite(self, expr, carried) -> object:
        """``expr`` in a loop: each part that does not read ``carried`` computed before the loop."""
        if al.is_scalar(expr) or expr.has(J, S):  # attention's sums over j and s: computed at their step
            return expr
        if not self.reads(expr, carried):
            return self.hoist(expr)
        expr = flatten(expr)
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
        """Whether ``expr`` reads, at a time in ``t``, one of the loop's own values."""
        if al.is_scalar(expr):
            return False
        return any(carried_key(v) in carried for v in expr.atoms(Var)
                   if v.time is not None and sp.sympify(v.time).has(T))

    def times_of(self, canon) -> tuple:
        """``(lo, hi)``: every t at which each array that ``canon`` reads has a value."""
        lo, hi = None, None
        for v in timed(canon):
            if not sp.sympify(v.time).has(T):
                continue
            k = sp.expand(v.time - T)
            name = ("d_" + v.name) if isinstance(v, TotalDerivative) else var_name(v.name)
            first, last = self.valid.get(name, (sp.Integer(0), N + 1))
            lo = later(lo, sp.expand(first - k))
            hi = earlier(hi, sp.expand(last - k))
        return lo, hi

    def emit_hoisted(self) -> None:
        """Define, before a loop, the values its body needs for every step."""
        for key in self.pending:
            var, canon = self.hoisted[key]
            if canon is None:
                self.program.add(Comment(f"{var.name} = {self.tex(key)}, the same at every step"))
                self.program.add(Assign(Name(var.name), self.code(key)))
                continue
            lo, hi = self.valid[var.name]
            at = "" if lo == 0 else f" (its first entry is t = {py_time(lo)})"
            self.program.add(Comment(f"{var.name}: {self.tex(canon)}, for every t at once{at}"))
            self.program.add(Assign(Name(var.name), self.code(canon, span=(lo, hi))))
        self.pending = []

    # -- products of adjoints kept per step ----------------------------------------------------
    def substitute(self, expr):
        """``expr`` with every shared product of adjoints replaced by its kept value."""
        if al.is_scalar(expr) or not self.shared:
            return expr
        return self._substitute(expr)

    def _substitute(self, expr, memo=None):
        memo = ({}, {}) if memo is None else memo  # the adjoints and the variables each part reads
        if isinstance(expr, Var) or not isinstance(expr, sp.MatrixExpr):
            return expr
        times = {sp.expand(a.time) for a in _read(expr, memo[0], TotalDerivative) if a.time is not None}
        if len(times) == 1:
            anchor = times.pop()
            canon = canonical(expr, anchor, _read(expr, memo[1], Var))
            for c, var in self.shared:
                if c == canon:
                    return shift(var, sp.expand(anchor - T))
        args = [self._substitute(a, memo) if isinstance(a, sp.MatrixExpr) else a for a in expr.args]
        return expr.func(*args) if args != list(expr.args) else expr

    def shared_products(self, group: list[str]) -> list:
        """Products of this recurrence's adjoints that several terms read: each kept once per step."""
        model = self.model
        names = set(group)
        # (expression, in this loop, read at every step): a term at one step (h^{(1)}'s) counts for nothing
        pool = [(t.expr, True, True) for v in group for t in adjoint_equation(model, v, Layout.DENOMINATOR).terms]
        pool += [(t.expr, False, t.over is not None) for v, t in self.all_terms() if v not in names]
        chosen = []
        adjoints: dict = {}  # subexpression -> the adjoints it reads, found once for all rounds (bottom up)
        variables: dict = {}  # subexpression -> the variables it reads, likewise
        canonicals: dict = {}
        while True:
            counts: dict = {}
            in_loop: set = set()
            for expr, looped, every in pool:
                if al.is_scalar(expr) or not every:
                    continue
                for sub in _preorder(expr):
                    if isinstance(sub, Var) or not isinstance(sub, sp.MatrixExpr) or sub.has(J, S):
                        continue  # a part of a sum over j or s is computed in that sum
                    read = _read(sub, adjoints, TotalDerivative)
                    times = {sp.expand(a.time) for a in read if a.time is not None}
                    if not read or len(times) != 1 or any(a.name not in names for a in read):
                        continue
                    key = (sub, next(iter(times)))
                    if key not in canonicals:
                        canonicals[key] = canonical(sub, key[1], _read(sub, variables, Var))
                    canon = canonicals[key]
                    if canon is None or canon in [c for c, _ in self.shared]:
                        continue
                    counts[canon] = counts.get(canon, 0) + 1
                    if looped:
                        in_loop.add(canon)
            best = [c for c in counts if counts[c] >= 2 and c in in_loop]
            if not best:
                return chosen
            sizes: dict = {}
            costs = {c: (counts[c], _size(c, sizes)) for c in best}
            top = max(costs.values())
            tied = [c for c in best if costs[c] == top]  # printed only to break a tie: printing is costly
            canon = tied[0] if len(tied) == 1 else max(tied, key=str)
            var = Var(self.fresh("e"), T, *canon.shape, "e")
            self.shared.append((canon, var))
            chosen.append((canon, var))
            pool = [(self.substitute(e), looped, every) for e, looped, every in pool]

    # -- values read only at their own step ----------------------------------------------------
    def all_terms(self) -> list:
        """``(variable, term)`` for every term of every adjoint equation of the model (labels have none)."""
        out = []
        for v in self.model.variables:
            if v.kind in (Kind.LABEL, Kind.INTERIM):  # an interim's adjoint is never computed: not a graph node
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
                read_later |= self.names_read(term.expr)
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
        return {var_name(v) for v in found}

    def names_read(self, expr) -> set[str]:
        """The variables that printed ``expr`` reads: a derivative ``f'(a)`` read from a variable
        ``v = f(a)`` (``1 - h^2``) reads ``v``, not ``a``."""
        if isinstance(expr, Elementwise) and expr.fname.endswith("'"):
            base = expr.fname[:-1]
            output = self.output_of(base, expr.arg)
            if output is not None and FUNCTIONS[self.bindings.get(base, base)].derivative is not None:
                return {output.name}
        if isinstance(expr, Var):
            return {expr.name}
        return set().union(*(self.names_read(a) for a in expr.args if isinstance(a, sp.Basic)))

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

    # -- sums over t -------------------------------------------------------------------------------
    def summed(self, term) -> str:
        """``\\sum_t`` of a term over its loop, for all steps at once (a sum of outer products: one product)."""
        steps = span(term.over)
        expr = self.substitute(term.expr)
        factor, column = _outer_parts(expr)
        if isinstance(factor, Block) and column is not None:  # rows of one product for the whole stack
            key = (self.code(factor.arg, span=steps), self.code(column, span=steps))
            if key not in self.products:
                name = self.fresh("G")
                self.products[key] = name
                self.program.add(Assign(Name(name), f"{self.flat(key[0])} @ {self.flat(key[1])}.T",
                                        comment="the sums of outer products of a stacked timeline, in one"))
            rows = f"{py_time(factor.args[1])}:{py_time(factor.args[1] + factor.args[2])}"
            return f"{self.products[key]}[{rows}]"
        if column is not None:  # \sum_t a_t u_t^T: the steps side by side, one matrix product
            return f"{self.flat(self.code(factor, span=steps))} @ {self.flat(self.code(column, span=steps))}.T"
        text, outer = self.code(expr, span=steps, outer=True)
        if outer:  # a product with a parameter's row: step by step
            first, end, step = loop_bounds(term.over)
            bounds = f"{py_time(first)}, {py_time(end)}" + (", -1" if step == -1 else "")
            return f"sum({self.code(expr)} for t in range({bounds}))"
        return f"xp.sum({text}, axis=0)"

    def flat(self, code: str) -> str:
        """A stack of steps side by side, ``(size, steps * B)``: a copy, made once (outside loops)."""
        if self.program.depth > 0:
            return f"side_by_side(xp, {code})"
        if code not in self.flats:
            name = self.fresh("side")
            self.flats[code] = name
            self.program.add(Assign(Name(name), f"side_by_side(xp, {code})",
                                    comment=f"the steps of {code} side by side"))
        return self.flats[code]
