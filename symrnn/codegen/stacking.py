"""Gates computed as one, as an expert writes an LSTM by hand.

* In a loop's equations, sums of one form (``W_k v + U_k x + b_k``: an LSTM's four
  pre-activations) become rows of one stacked sum, and products ``W_k v`` of several
  parameters with one operand rows of one stacked product: one matrix product per step for
  all the gates, and one before the loop for all their input projections
  (:meth:`Stacking.stack_products`).
* The kept products of adjoints that a stacked matrix's members multiply back are kept in
  one timeline in the stack's order (:meth:`Stacking.stack_shared`), so that
  ``\\sum_k W_k^\\top e_k`` is one product (:meth:`Stacking.fuse`) and each parameter's sum of
  outer products is rows of one product for the whole stack.

Mixed into :class:`symrnn.codegen.generator.Generator`, whose state it shares.
"""

from __future__ import annotations

import sympy as sp

from symrnn.codegen.passes import carried_key, flatten
from symrnn.codegen.printer import Block, var_name
from symrnn.codegen.program import Assign, Comment, Name
from symrnn.codegen.timing import timed
from symrnn.derive.equations import Layout, adjoint_equation
from symrnn.model.declared import Kind
from symrnn.operations import algebra as al
from symrnn.operations.symbols import T, Var


def _transposed_product(e):
    """``W^\\top x`` with ``W`` a (static) matrix -> ``(W, x)``; else ``(None, None)``."""
    if isinstance(e, sp.MatMul):
        coeff, mats = e.as_coeff_matrices()
        if (coeff == 1 and len(mats) == 2 and isinstance(mats[0], sp.Transpose) and type(mats[0].arg) is Var
                and mats[0].arg.time is None):
            return mats[0].arg, mats[1]
    return None, None


def shared_key(value) -> str:
    """How a kept value is named: its own name, or its timeline's and rows (``E0[0]``)."""
    return value.name if isinstance(value, Var) else f"{value.arg.name}[{value.args[1]}]"



class Stacking:
    """Stacked gates: see the module docstring."""

    def stack_products(self, exprs, carried: set) -> dict:
        """Gates computed as one: in a loop's equations, sums of the same form (``W_k v + U_k x + b_k``,
        an LSTM's four pre-activations) become rows of one stacked sum, and products ``W_k v`` of
        several parameters with one operand rows of one stacked product. A value that reads the
        loop's own earlier values is computed at the start of each step (:attr:`step_products`, what
        does not read them hoisted before the loop); one known before the loop, for every step
        before it. Returns the mapping to substitute."""
        mapping: dict = {}
        groups: dict = {}  # form -> [(sum, {operand: parameter}, [biases])]
        for sub in self._parts(exprs, sp.MatAdd):
            form = self._sum_form(sub)
            if form is not None:
                members = groups.setdefault(form[0], [])
                if sub not in [m[0] for m in members]:
                    members.append((sub, *form[1:]))
        for (operands, nbias), members in groups.items():
            if len(members) < 2:
                continue
            stacked = [al.mul(self.stacked_parameter([m[1][v] for m in members]), v) for v in operands]
            stacked += [self.stacked_parameter([m[2][j] for m in members]) for j in range(nbias)]
            self._stack(al.add(*stacked), [sub for sub, _, _ in members], carried, mapping)
        exprs = [e if al.is_scalar(e) else e.xreplace(mapping) for e in exprs]
        products: dict = {}  # operand -> [products], for those not in a stacked sum
        for sub in self._parts(exprs, sp.MatMul):
            coeff, mats = sub.as_coeff_matrices()
            if coeff == 1 and len(mats) == 2 and self._matrix_parameter(mats[0]):
                found = products.setdefault(mats[1], [])
                if sub not in found:
                    found.append(sub)
        for v, subs in products.items():
            params = list(dict.fromkeys(sub.as_coeff_matrices()[1][0] for sub in subs))
            if len(params) == len(subs) >= 2:
                self._stack(al.mul(self.stacked_parameter(params), v), subs, carried, mapping)
        return mapping

    @staticmethod
    def _parts(exprs, kind) -> list:
        return [sub for e in exprs if not al.is_scalar(e) for sub in sp.preorder_traversal(e) if isinstance(sub, kind)]

    def _sum_form(self, sub):
        """``W v + U x + b`` -> ``((operands, number of biases), {operand: parameter}, [biases])``, or None."""
        params, biases = {}, []
        for a in sub.args:
            coeff, mats = a.as_coeff_matrices() if isinstance(a, sp.MatMul) else (None, ())
            if coeff == 1 and len(mats) == 2 and self._matrix_parameter(mats[0]) and mats[1] not in params:
                params[mats[1]] = mats[0]
            elif type(a) is Var and a.time is None and self.model.var(a.name).kind is Kind.PARAMETER:
                biases.append(a)
            else:
                return None
        if not params:
            return None
        operands = tuple(sorted(params, key=str))
        return (operands, len(biases)), params, biases

    def _stack(self, total, parts: list, carried: set, mapping: dict) -> None:
        """``total`` computed once (per step, or hoisted), each of ``parts`` its rows in order."""
        if any(self._same_step(a, carried) for a in timed(total)):
            return
        if self.reads(total, carried):
            value = Var(self.fresh("s"), T, *total.shape, "s")
            self.locals.add(value.name)
            carried.add(value.name)
            self.step_products.append((value, total))
        else:
            value = self.hoist(total)
        start = sp.S.Zero
        for part in parts:
            mapping[part] = Block(value, start, part.shape[0])
            start += part.shape[0]

    def stack_shared(self, group: list[str], shared: list) -> None:
        """Kept products of adjoints that a stacked matrix's members multiply back (``W_k^\\top e_k``,
        one for each of its members): one timeline in the stack's order, so that their sum is one
        product ``W^\\top E`` (:meth:`fuse`). Each such value becomes a :class:`Block` of it."""
        values = {var.name: var for _, var in shared if isinstance(var, Var)}
        partner: dict = {}  # a parameter's name -> the kept values it multiplies
        for v in group:
            for term in adjoint_equation(self.model, v, Layout.DENOMINATOR).terms:
                expr = self.substitute(term.expr)
                if al.is_scalar(expr):
                    continue
                for sub in sp.preorder_traversal(expr):
                    w, x = _transposed_product(sub)
                    if w is not None and type(x) is Var and x.name in values:
                        partner.setdefault(w.name, set()).add(x.name)
        for key, stacked in self.stacks.items():
            kept = [partner.get(w, set()) for w in key]
            if any(len(k) != 1 for k in kept) or len({next(iter(k)) for k in kept}) != len(key):
                continue
            E = Var(self.fresh("E"), T, stacked.shape[0], values[next(iter(kept[0]))].shape[1], "E")
            self.timelines.append(E)
            start = sp.S.Zero
            blocks = {}
            for k in kept:
                var = values[next(iter(k))]
                blocks[var] = Block(E, start, var.shape[0])
                start += var.shape[0]
            self.shared[:] = [(c, blocks.get(var, var)) for c, var in self.shared]
            shared[:] = [(c, blocks.get(var, var)) for c, var in shared]

    def fuse(self, exprs: list) -> list:
        """``\\sum_k W_k^\\top [E]_k`` over all the members of a stacked matrix, within the sum of
        ``exprs`` (terms that hold at the same steps): one product ``W^\\top E``."""
        terms = [list(e.args) if isinstance(e, sp.MatAdd) else [e] for e in (flatten(x) for x in exprs)]
        fused = False
        for key, stacked in self.stacks.items():
            start, wanted = sp.S.Zero, {}
            for w in key:
                rows = self.model.var(w).shape[0]
                wanted[w] = start
                start += rows
            found, operand = {}, None
            for i, sums in enumerate(terms):
                for j, term in enumerate(sums):
                    w, x = _transposed_product(term)
                    if (w is not None and w.name in wanted and isinstance(x, Block)
                            and sp.expand(x.args[1] - wanted[w.name]) == 0 and operand in (None, x.arg)):
                        operand = x.arg
                        found[w.name] = (i, j)
            if len(found) != len(key):
                continue
            for i, j in sorted(found.values(), reverse=True):
                terms[i].pop(j)
            terms[min(i for i, _ in found.values())].append(al.mul(al.transpose(stacked), operand))
            fused = True
        if not fused:
            return exprs
        return [al.add(*sums) for sums in terms if sums]

    def _matrix_parameter(self, e) -> bool:
        return (type(e) is Var and e.time is None and e.shape[1] != 1
                and self.model.var(e.name).kind is Kind.PARAMETER)

    @staticmethod
    def _same_step(v, carried: set) -> bool:
        """A loop's own value of this very step (the stacked product runs before the step computes it)."""
        return carried_key(v) in carried and sp.expand(v.time - T) == 0

    def stacked_parameter(self, params: list) -> Var:
        """The parameters stacked into one matrix, defined once (before the first loop that reads it)."""
        key = tuple(w.name for w in params)
        if key not in self.stacks:
            rows = sum((w.shape[0] for w in params), sp.S.Zero)
            shown = r"\begin{bmatrix} " + r" \\ ".join(self.tex(w) for w in params) + r" \end{bmatrix}"
            var = Var(self.fresh("W" if params[0].shape[1] != 1 else "b"), None, rows, params[0].shape[1], shown)
            self.stacks[key] = var
            names = ", ".join(var_name(w.name) for w in params)
            self.program.add(Comment(f"{var.name} = {shown}, stacked: one operation for all of them"))
            self.program.add(Assign(Name(var.name), f"xp.concatenate([{names}], axis=0)"))
        return self.stacks[key]

