"""Truncated BPTT in a generated module: each total derivative whose paths go back steps is computed in
parts, ``[0]`` to ``[K]``, one section per part (:mod:`symrnn.derive.truncated` holds the rule).

The total derivatives with no recurrence between them and the loss come first, whole, as in a full
module. Then part ``[k]`` of each other one, a timeline of its own (``d0_h``, ``d1_h``, ...): its terms
read the part ``[k-1]`` of a later step of the same recurrence, the part ``[k]`` of the others, so a
section reads only finished sections and its own earlier lines. Last, each total derivative is the sum
of its parts, and the gradients are the closed form as in a full module: the closed form is linear in
the total derivatives it reads. Mixed into :class:`symrnn.codegen.generator.Generator`.
"""

from __future__ import annotations

from symrnn.codegen.program import Alloc, Assign, At, Comment, Guard, Name, Select, loop_over
from symrnn.codegen.timing import rows, span
from symrnn.derive.equations import Layout, adjoint_equation
from symrnn.derive.truncated import carries, hop_equation
from symrnn.operations.symbols import HopDerivative, TotalDerivative


class Truncation:
    """The parts of truncated BPTT's total derivatives: see the module docstring."""

    def adjoint_array(self, expr: TotalDerivative) -> str:
        """The name of the array that holds a total derivative, or one part ``[k]`` of it."""
        if not isinstance(expr, HopDerivative):
            return "d_" + expr.name
        low, high = (int(x) for x in expr.hops)
        if low != high:  # a gradient's sum of parts: [0..K] is the total, [0..K-1] (from h_0) the total less [K]
            if (low, high) == (0, self.truncate):
                return "d_" + expr.name
            if (low, high) != (0, self.truncate - 1):  # pragma: no cover - summed_parts gives no other range
                raise ValueError(f"no array holds the parts [{low}..{high}] of {expr.name}")
            if expr.name not in self.below:
                self.below[expr.name] = self.fresh(f"d_{expr.name}__below")
                last = self.adjoint_array(self._part(expr.name, high + 1))
                self.add(Assign(Name(self.below[expr.name]), f"d_{expr.name} - {last}",
                                comment=f"the parts [0] to [{high}]: from the initial state, a step is spent"))
            return self.below[expr.name]
        key = (expr.name, low)
        if key not in self.parts:
            wanted = f"d_{expr.name}__{int(low)}"
            self.parts[key] = wanted if wanted not in self.taken else self.fresh(wanted + "_")
            self.taken.add(self.parts[key])
        return self.parts[key]

    def gradient_terms(self, name: str):
        """The terms of a parameter's gradient: with truncation, each reader's parts it sums
        (:func:`symrnn.derive.truncated.summed_parts`)."""
        eq = adjoint_equation(self.model, name, Layout.DENOMINATOR)
        return eq.terms if self.truncate is None else hop_equation(self.model, eq, None, self.truncate).terms

    def carried(self, name: str) -> bool:
        """Whether the total derivative of ``name`` is computed in parts (truncated BPTT)."""
        return self.truncate is not None and carries(self.model, name)

    def truncated_backward(self, order) -> None:
        """The parts ``[0]`` to ``[K]`` of each total derivative that has them, then each one's sum."""
        model, K = self.model, self.truncate
        carried = [members for members in ([v for v in group if self.carried(v)] for group, _ in order) if members]
        for k in range(K + 1):
            self.add(Comment(f"-- truncated BPTT: the part [{k}] of each total derivative (paths going back {k} "
                             f"step{'' if k == 1 else 's'}) --"))
            for members in carried:
                decl = model.var(members[0])
                if not decl.timed:
                    for name in members:
                        eq = hop_equation(model, adjoint_equation(model, name, Layout.DENOMINATOR), k, K)
                        target = self.adjoint_array(self._part(name, k))
                        self.accumulate(target, eq.terms, f"({rows(model.var(name))}, B)")
                    continue
                for name in members:
                    self.add(Alloc(self.adjoint_array(self._part(name, k)), rows(model.var(name))))
                for name in members:  # a loop that reads it at a fixed time, at every step: its sum, before
                    for term in self._terms(name, k):
                        if term.over is not None and term.at is not None:
                            self.sum_before(term)
                with self.program.block() as body:
                    for name in members:
                        self._part_step(name, k)
                self.add(loop_over(decl.loop, body, reverse=True))
        self.add(Comment(f"-- each total derivative: the sum of its parts [0] to [{K}] --"))
        for members in carried:
            for name in members:
                total = " + ".join(self.adjoint_array(self._part(name, k)) for k in range(K + 1))
                self.add(Assign(Name(f"d_{name}"), total))

    def _part(self, name: str, k: int) -> HopDerivative:
        """The part ``[k]`` of the total derivative of ``name``, as a key of its array (no step, no display)."""
        return HopDerivative(name, None, *self.model.var(name).shape, "", k, k)

    def _terms(self, name: str, k: int):
        return hop_equation(self.model, adjoint_equation(self.model, name, Layout.DENOMINATOR), k, self.truncate).terms

    def _part_step(self, name: str, k: int) -> None:
        """Part ``[k]`` of the total derivative of ``name`` at step t: its terms, those at some steps guarded."""
        target = Name(self.fresh("s"))  # this step's sum, written once (JAX: no guarded write to a timeline)
        within = span(self.model.var(name).loop)
        first = True
        terms = [(term, *self.term_guard(term, within)) for term in self._terms(name, k)]
        for term, guard, comment in sorted(terms, key=lambda x: x[1] is not None):
            self.add(Comment(comment))
            value = self.code(self.step_term(term, term.expr))
            if guard is None:
                self.add(Assign(target, value, add=not first))
            elif first:
                self.add(Select(target, value, guard))
            else:
                self.add(Guard(guard, (Assign(target, value, add=True),)))
            first = False
        if not first:
            self.add(Assign(At(self.adjoint_array(self._part(name, k)), "t"), target.name))
