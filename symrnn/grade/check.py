"""Checking an answer's claims against the true gradients, numerically, with a verdict for each.

Each claim ``LHS = RHS (= RHS2 ...)`` is evaluated at random points (parameters, inputs and labels
drawn as :mod:`symrnn.flow.measure` draws them) and, when it is written at a generic time ``t``, at
every step of the loop and at two sequence lengths: the total derivatives ``\\frac{\\partial L}{\\partial v}``
it reads are the true ones, from the compiled gradient. A side is compared with the claim's left side
(a total derivative of the loss is the true value; anything else is the left side evaluated). The
answer's layout is found per claim (``auto``): a gradient may be a column (denominator layout) or a row
(numerator layout), and is compared in both. A claim that holds is ``correct``; one that does not is
``wrong`` with a diagnosis (transposed, wrong sign, off by a factor, right for the last step only, ...);
one that cannot be read or evaluated is ``not understood``, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np
import sympy as sp

from symrnn.errors import SymRNNError
from symrnn.grade.claims import Claim, claims
from symrnn.grade.formula import Absent, Environment, FormulaError, evaluate, parse
from symrnn.graph.node import Node
from symrnn.model.declared import Apply, Kind, Model
from symrnn.operations.symbols import N, canonical

#: Relative error below which two sides agree.
TOLERANCE = 1e-6
#: Random points per length.
POINTS = 2

CORRECT, WRONG, NOT_UNDERSTOOD, DEFINITION = "correct", "wrong", "not understood", "definition"
#: The "seed" of the point made of the question's own numbers (--values).
GIVEN = "given"


@dataclass
class Verdict:
    """The verdict on one side of a claim (the claim ``sides[0] = sides[k]``)."""

    line: int
    column: int
    claim: str
    verdict: str
    diagnosis: str = ""
    error: float | None = None
    layout: str | None = None
    correct: str | None = None  # the true formula, symrnn's, in the claim's layout (LaTeX), for a wrong claim

    @property
    def shown_error(self) -> float | None:
        """The relative error to three digits, 0 below 1e-12 (rounding noise, which varies between machines)."""
        if self.error is None:
            return None
        return 0.0 if self.error < 1e-12 else float(f"{self.error:.3g}")

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "claim": self.claim, "verdict": self.verdict,
                "diagnosis": self.diagnosis, "relative_error": self.shown_error, "layout": self.layout,
                "correct_formula": self.correct}


def _plain(name: str) -> str:
    """A written name without font commands: ``\\mathcal{J}`` and ``\\mathbf{x}`` are ``J`` and ``x``."""
    return canonical(re.sub(r"\\(mathcal|mathbf|boldsymbol|bm|mathrm|vec)\{([^{}]*)\}", r"\2", name))


def _indexed(name: str) -> tuple[str, str] | None:
    """``(base, index)`` of a name written with one subscript at its end, ``\\delta_{t+1}``, ``e_t``, or one
    superscript, the question sheet's ``B^{t}``, ``B^{(2)}``, ``B^1``."""
    found = re.fullmatch(r"(.+?)[_^](\{([^{}]*)\}|([A-Za-z0-9]))", name.strip())
    if not found:
        return None
    index = (found.group(3) if found.group(3) is not None else found.group(4)).strip()
    return found.group(1), re.sub(r"^\((.*)\)$", r"\1", index).strip()


def _shorthand(name: str, shorthands: dict) -> tuple | None:
    """``(tree, index, subscript)`` of the shorthand the answer defined that ``name`` reads: itself (``index``
    None), or ``\\delta_t`` defined and ``\\delta_{t+1}`` or ``\\delta_1`` read (``index`` t, ``subscript`` 1)."""
    if name in shorthands:
        return shorthands[name], None, None
    bare, written = _plain(name), _indexed(name)
    for key, tree in shorthands.items():
        if _plain(key) == bare:
            return tree, None, None
    for key, tree in shorthands.items():
        defined = _indexed(key)
        if written and defined and written[0] == defined[0] and len(defined[1]) == 1 and defined[1].isalpha():
            return tree, defined[1], written[1]
    return None


class _Names:
    """The model's variables by their written names, at generic or concrete times."""

    OFFSETS = range(-2, 3)

    def __init__(self, model: Model):
        self.model = model
        self.loss = _plain(model.var(model.loss).latex)
        self.table: dict[str, tuple] = {}
        for v in model.variables:
            if v.kind is Kind.LABEL:
                continue
            if not v.timed:
                self.table.setdefault(_plain(v.latex), (v, None))
                continue
            # t, the loop's own index, and the letters sums and products over the steps are written with
            for index in {"t", "k", "j", "s", v.loop.index if v.loop is not None else "t"}:
                symbol = sp.Symbol(index, integer=True)
                for k in self.OFFSETS:
                    self.table.setdefault(_plain(v.display(symbol + k)), (v, ("index", index, k)))
            for k in range(-1, 2):
                self.table.setdefault(_plain(v.display(N + k)), (v, ("n", k)))
            for k in range(0, 12):
                self.table.setdefault(_plain(v.display(k)), (v, ("at", k)))

    def find(self, written: str):
        """``(declaration, time)`` of a written name, or None."""
        return self.table.get(_plain(written))


class _Point(Environment):
    """A claim's names at one point, one length ``n`` and one binding of the indices."""

    def __init__(self, grader: Grader, n: int, seed: int, layout: str, shorthands: dict):
        from symrnn.flow.measure import draw_inputs, draw_parameters
        from symrnn.graph import unroll
        from symrnn.numeric.engine import CompiledGradient
        from symrnn.numeric.forward import forward, point_from_arrays

        self.grader, self.n, self.layout, self.shorthands = grader, n, layout, shorthands
        model = grader.model
        if seed == GIVEN:  # the question's own numbers (--values)
            given = grader.values
            self.params, inputs, labels = given["params"], given["inputs"], given["labels"]
        else:
            rng = np.random.default_rng([seed, n])
            self.params = draw_parameters(model, grader.sizes, 0.9, rng)
            for name, value in self.params.items():  # biases and initial states are not zero here: a slip shows
                if value.shape[1] == 1 and not np.any(value):
                    self.params[name] = 0.5 * rng.standard_normal(value.shape)
            inputs, labels = draw_inputs(model, grader.sizes, n, rng, grader.i)
        out = CompiledGradient(model, grader.bindings)(self.params, inputs, labels, n, grader.i, keep_values=True,
                                                      wrt_inputs=True)
        self.adjoints, self.gradients = out.adjoints, out.gradients
        self.graph = unroll(model, n, grader.i)
        point = point_from_arrays(model, self.params, inputs, labels, grader.sizes, n, grader.i, grader.bindings)
        self.point = point
        self.values = forward(self.graph, point)  # every node's value, the interims' (a_t, g_t) too
        self.jacobians: dict = {}  # local Jacobians, by (of, wrt) node
        self.labels = labels
        self.indices: dict[str, int] = {}
        self.reading = "local"  # a state's derivative in a parameter: its edge alone ("local") or "total"
        self.exact = False  # the question's numbers as rationals, every value exact (Grader.exact_point)
        self.concrete = False  # whether a name read a concrete time (then only this length applies)

    def jacobian(self, of: str, wrt: str):
        """``\\partial of / \\partial wrt`` of two variables of the model: central differences of the forward pass
        in extended precision, ``wrt`` moved and what follows it recomputed (a row per entry of ``of`` in
        numerator layout, its transpose in denominator layout; a column per entry of a matrix ``wrt`` in the vec
        convention, its columns stacked)."""
        from symrnn.numeric.forward import forward

        if self.exact:  # central differences are not exact: the claim is checked in floating point
            raise FormulaError("a local Jacobian is found numerically, not in rationals")
        for name in (of, wrt):
            if self.grader.names.find(name) is None and name in self.shorthands:
                raise FormulaError(f"\\partial {of} / \\partial {wrt} is a derivative in the answer's own shorthand "
                                   f"{name}: symrnn takes local derivatives in the model's variables (write the "
                                   "model's name, with its step)")
            if self.grader.names.find(name) is None:
                raise FormulaError(self.grader.not_a_variable(name))
        target, source = self.node(of), self.node(wrt)
        if target is None or source is None or target in self.point.leaves:  # h_0 given: no equation to derive
            raise Absent(f"\\partial {of} / \\partial {wrt} does not exist at this step")
        key = (target, source, self.reading)
        if key not in self.jacobians:
            base = np.asarray(self.point.leaves[source] if source in self.point.leaves else self.values[source],
                              dtype=np.longdouble)
            # a parameter is read at every step: a state's local Jacobian in it (the handout's \partial h^{(t)} /
            # \partial W) holds the other steps' values; a per-step output's (\partial L_2 / \partial w_h) does not
            local = self.reading == "local" and self.grader.model.var(target.name).kind in (Kind.STATE, Kind.INTERIM)
            held = {} if source.t is not None or target.t is None or not local else {
                node: self.values[node] for node in self.graph
                if self.graph.nodes[node]["kind"] in (Kind.STATE, Kind.DEFINED) and node.t != target.t}
            columns = []
            for j in range(base.size):  # a matrix in the vec convention: its columns stacked
                moved = []
                for sign in (1, -1):
                    value = base.copy()
                    value[np.unravel_index(j, base.shape, order="F")] += sign * 1e-6
                    if source in self.point.leaves:
                        out = forward(self.graph, self.point.with_leaf(source, value), dtype=np.longdouble,
                                      overrides=held)
                    else:
                        out = forward(self.graph, self.point, dtype=np.longdouble, overrides={source: value})
                    moved.append(np.asarray(out[target], dtype=np.longdouble).reshape(-1))
                columns.append((moved[0] - moved[1]) / 2e-6)
            self.jacobians[key] = np.asarray(np.stack(columns, axis=1), dtype=float)
        value = self.jacobians[key]
        return value.T if self.layout == "denominator" else value

    def interim_adjoint(self, node: Node):
        """The total derivative of the loss in an interim's value at one step (a column): central differences
        of the forward pass in extended precision, that value moved and what reads it recomputed."""
        from symrnn.numeric.forward import forward

        if self.exact:
            raise FormulaError("a gate's total derivative is found numerically, not in rationals")
        key = ("loss", node)
        if key not in self.jacobians:
            loss = self.graph.graph["loss"]
            base = np.asarray(self.values[node], dtype=np.longdouble)
            column = []
            for j in range(base.shape[0]):
                moved = []
                for sign in (1, -1):
                    value = base.copy()
                    value[j] += sign * 1e-6
                    out = forward(self.graph, self.point, dtype=np.longdouble, overrides={node: value})
                    moved.append(np.asarray(out[loss], dtype=np.longdouble).reshape(()))
                column.append((moved[0] - moved[1]) / 2e-6)
            self.jacobians[key] = np.asarray(column, dtype=float).reshape(-1, 1)
        return self.jacobians[key]

    def changed(self, **fields) -> _Point:
        """This point (its values, computed once) with some fields changed: layout, shorthands, indices."""
        other = object.__new__(_Point)
        other.__dict__.update(self.__dict__)
        other.__dict__.update(fields)
        return other

    def bind(self, index: str, value: int) -> _Point:
        return self.changed(indices={**self.indices, index: value})

    def _index_value(self, text: str) -> int:
        """A subscript's value: ``1``, ``t+1``, ``n`` at the bound indices."""
        found = re.fullmatch(r"\s*([A-Za-z]|\d+)\s*(?:([-+])\s*(\d+))?\s*", text)
        if not found:
            raise FormulaError(f"the subscript {text!r} is not a step (1, t, t+1, n-1)")
        base, sign, k = found.groups()
        if base.isdigit():
            value = int(base)
        elif base in self.indices:
            value = self.indices[base]
        elif base in ("n", "T"):
            value = self.n
        else:
            raise FormulaError(f"the index {base} has no value here")
        return value + (int(k) if sign == "+" else -int(k) if sign == "-" else 0)

    def function(self, name: str) -> str:
        return self.grader.bindings.get(name, name)

    def size(self, name: str) -> int:
        if name.isdigit():
            return int(name)
        if name not in self.grader.sizes:
            raise FormulaError(f"{name} is not a size of the model: {', '.join(self.grader.sizes) or 'none'}")
        return int(self.grader.sizes[name])

    def bound(self, text: str) -> int:
        text = text.strip()
        if text == "i" and self.grader.i is not None and "i" not in self.indices:  # the label position
            return self.grader.i
        if re.fullmatch(r"[A-Za-z]\s*([-+]\s*\d+)?", text) and text[0] in self.indices:  # t+1 at the bound t
            return self._index_value(text)
        if text in ("n", "T", "N"):
            return self.n
        if text.isdigit():
            return int(text)
        found = re.fullmatch(r"([nT])\s*([-+])\s*(\d+)", text)
        if found:
            return self.n + (1 if found.group(2) == "+" else -1) * int(found.group(3))
        raise FormulaError(f"the bound {text!r} of a sum is not a number, n or T")

    def time(self, written: str) -> int | None:
        """The concrete time of a written name at the bound indices."""
        decl, time = self.grader.names.find(written)
        if time is None:
            return None
        if time[0] == "index":
            if time[1] not in self.indices:
                raise FormulaError(f"{written} reads the index {time[1]}, which has no value here")
            return self.indices[time[1]] + time[2]
        if time[0] == "n":
            return self.n + time[1]
        self.concrete = True
        return time[1]

    def node(self, written: str) -> Node | None:
        """The graph node of a written name at the bound indices; None where it has none."""
        found = self.grader.names.find(written)
        if found is None:
            raise FormulaError(self.grader.not_a_variable(written))
        decl, time = found
        if time is None:
            return Node(decl.name)
        t = self.time(written)
        if decl.kind is Kind.INTERIM:
            return Node(decl.name, t) if Node(decl.name, t) in self.values else None
        wanted = _plain(decl.display(t))
        for node, data in self.graph.nodes(data=True):
            if _plain(data["latex"]) == wanted:
                return node
        return None

    def value(self, name: str):
        basis = self.grader.basis(name)
        if basis is not None:  # e_y: the label's one-hot column
            label, size = basis
            column = np.zeros((size, 1))
            column[int(np.asarray(self.labels[label]).reshape(-1)[0]) - 1] = 1.0
            return column
        found = _shorthand(name, self.shorthands) if name in self.shorthands or \
            self.grader.names.find(name) is None else None
        if found is not None:
            tree, index, subscript = found
            return evaluate(tree, self.bind(index, self._index_value(subscript)) if index else self)
        node = self.node(name)
        if node is None:
            raise Absent(f"{name} does not exist at this step")
        if node in self.values:
            return self.values[node]
        if node.name in self.params:
            return self.params[node.name]
        raise FormulaError(f"{name} has no value")

    def derivative(self, of: str, wrt: str, total: bool = False):
        if _plain(of) != self.grader.names.loss:
            return (self.changed(reading="total") if total else self).jacobian(of, wrt)
        node = self.node(wrt)
        decl = self.grader.names.find(wrt)[0]
        if node is None:
            steps = list(decl.loop.range(self.n, self.grader.i)) if decl.loop is not None else []
            if not steps or self.time(wrt) != steps[-1] + decl.loop.step:
                raise Absent(f"{wrt} does not exist at this step")
            value = np.zeros(self.grader.shape(decl.name))  # just past its loop (h_{n+1}): the total derivative is 0
        elif node.t is None and node.name in self.params:
            value = self.gradients[node.name]
        elif decl.kind is Kind.INTERIM:  # a gate (f_t = \sigma(...)): not a node of the compiled gradient
            value = self.interim_adjoint(node)
        elif node in self.adjoints:
            value = self.adjoints[node]
        elif node in self.gradients:
            value = self.gradients[node]
        else:  # not on a path to the loss
            value = np.zeros(self.grader.shape(node.name))
        value = np.asarray(value, dtype=object if self.exact else float)
        return value.T if self.layout == "numerator" and value.shape[1] == 1 else value


@dataclass
class Grader:
    """Grades an answer's claims for ``model``."""

    model: Model
    n: int = 3
    i: int | None = None
    sizes: dict = field(default_factory=dict)
    bindings: dict = field(default_factory=dict)
    layout: str = "auto"
    values: dict | None = None  # the question's numbers (symrnn.numeric.values.read_values), for numeric claims

    def __post_init__(self):
        self.names = _Names(self.model)
        self.sizes = {str(s): self.sizes.get(str(s), 3) for s in self.model.sizes}
        if self.values is not None:  # the sizes are those of the numbers given
            for v in self.model.variables:
                given = self.values["params"].get(v.name, self.values["inputs"].get(v.name))
                if given is not None:
                    shape = np.shape(given)[-2:] if v.timed else np.shape(given)
                    for dim, size in zip(v.shape, shape, strict=False):
                        if str(dim) in self.sizes:
                            self.sizes[str(dim)] = int(size)
        self.bindings = self.bindings or {f: "tanh" for f in self.model.abstract_functions}
        if self.values is not None and self.values.get("n"):
            self.n = int(self.values["n"])  # the question's length: formulas are checked there too
        self._points: dict = {}
        self._formulas: dict = {}

    def correct_formula(self, wrt: str, layout: str) -> str | None:
        """symrnn's formula for ``dL/d(wrt)`` in ``layout``: a parameter's closed form, a variable's recursion
        lines (its general line, at the answer's index); None where there is none to show."""
        key = (wrt, layout)
        if key in self._formulas:
            return self._formulas[key]
        from symrnn.derive.adjoints import closed_form, recursion
        from symrnn.graph import Node
        from symrnn.render.latex import latex

        found, formula = self.names.find(wrt), None
        try:
            if found is not None and found[0].kind is Kind.PARAMETER:
                text = latex(closed_form(self.model, Node(found[0].name), self.n, self.i, layout))
                formula = _rows_of(text, lambda left: True)[:1]
            elif found is not None:
                wanted = _plain(rf"\frac{{\partial {self.model.var(self.model.loss).latex}}}{{\partial "
                                rf"{found[0].display(sp.Symbol(found[0].loop.index if found[0].loop else 't'))}}}")
                for p in self.model.parameters:
                    rows = _rows_of(latex(recursion(self.model, p.name, layout)), lambda left: _plain(left) == wanted)
                    if rows:
                        formula = rows
                        break
        except SymRNNError:
            formula = None
        self._formulas[key] = " \\quad ".join(formula) if formula else None
        return self._formulas[key]

    def basis(self, name: str) -> tuple[str, int] | None:
        """``(label, size)`` when ``name`` is a label's one-hot column, ``e_y`` or ``e_{y}``; else None."""
        found = re.fullmatch(r"e_\{?\s*([A-Za-z])\s*\}?", name.strip())
        if not found or self.names.find(name) is not None:
            return None
        label = next((v for v in self.model.variables if v.kind is Kind.LABEL and not v.timed
                      and _plain(v.latex) == found.group(1)), None)
        if label is None:
            return None
        size = sp.sympify(label.shape[0])
        return label.name, int(size) if size.is_Integer else int(self.sizes[str(size)])

    def not_a_variable(self, name: str) -> str:
        """The message for a written name the model does not have, listing those it has."""
        known = ", ".join(sorted({v.display(sp.Symbol(v.loop.index if v.loop else "t")) if v.timed else v.latex
                                  for v in self.model.variables if v.kind is not Kind.LABEL}))
        return f"{name} is not a variable of the model (nor a shorthand defined above); its variables: {known}"

    def shape(self, name: str) -> tuple[int, int]:
        from symrnn.numeric.forward import concrete_shape

        return concrete_shape(self.model, name, self.sizes)

    def point(self, n: int, seed: int, layout: str, shorthands: dict) -> _Point:
        key = (n, seed)
        if key not in self._points:
            self._points[key] = _Point(self, n, seed, layout, shorthands)
        return self._points[key].changed(layout=layout, shorthands=shorthands, indices={}, concrete=False)

    def grade(self, source: str) -> list[Verdict]:
        """The verdict on every side of every claim of ``source`` (Markdown or LaTeX)."""
        verdicts: list[Verdict] = []
        shorthands: dict = {}
        found = claims(source)
        for claim in found:  # "let W^u = W_{\text{unembed}}": another name, wherever it is said, holds throughout
            alias = self._alias(claim, shorthands)
            if alias is not None:
                shorthands[alias[1]] = alias[0]
        said: dict = {}  # what the answer said of each left side so far: its formulas and its numbers
        for claim in found:
            verdicts += self._claim(claim, shorthands, said)
        return verdicts

    def _alias(self, claim: Claim, shorthands: dict) -> tuple | None:
        """``(tree of the model's name, the other name)`` when a claim says that two names are one."""
        if len(claim.sides) != 2:
            return None
        try:
            lhs, rhs = parse(claim.sides[0]), parse(claim.sides[1])
        except FormulaError:
            return None
        if lhs[0] == "name" and rhs[0] == "name" and self.names.find(lhs[1]) is not None \
                and self.names.find(rhs[1]) is None and _shorthand(rhs[1], shorthands) is None:
            return lhs, rhs[1]
        return None

    def _claim(self, claim: Claim, shorthands: dict, said: dict | None = None) -> list[Verdict]:
        line, column = claim.line, claim.column
        lhs_text = claim.sides[0]
        for note in claim.notes:  # "where Z = ...": a shorthand for what follows
            name, _, body = note.partition("=")
            try:
                shorthands[name.strip()] = parse(body.strip())
            except FormulaError:
                pass
        try:
            lhs = parse(lhs_text)
        except FormulaError as e:
            return [Verdict(line, column + e.column, claim.text, NOT_UNDERSTOOD, str(e))]
        if len(claim.sides) == 2 and lhs[0] == "name" and self.names.find(lhs[1]) is not None:
            other = claim.sides[1].strip()
            if shorthands.get(other) == lhs:  # "W^u = W_{\text{unembed}}": another name (Grader.grade)
                return [Verdict(line, column, claim.text, DEFINITION, f"{other} is another name of {lhs[1]}")]
        if lhs[0] == "square" and lhs[1][0] == "name" and self.names.find(lhs[1][1]) is None \
                and _shorthand(lhs[1][1], shorthands) is None:
            lhs = ("name", lhs[1][1] + "^{2}")  # the question sheet's B^2 = D(h^{(2)} -> h^{(3)}): an index
        if lhs[0] == "name" and self.names.find(lhs[1]) is None and lhs[1] not in shorthands:
            try:  # a shorthand the answer defines: \delta_t = ...
                shorthands[lhs[1]] = parse(claim.sides[1])
            except FormulaError as e:
                return [Verdict(line, column, claim.text, NOT_UNDERSTOOD, str(e))]
            return [Verdict(line, column, claim.text, DEFINITION, f"{lhs[1]} is defined here and read below")]
        out = []
        lhs_numbers_only = _numbers_only(lhs)
        for k, side in enumerate(claim.sides[1:], start=1):
            side_line, side_column = claim.positions[k] if k < len(claim.positions) else (line, column)
            shown = f"{lhs_text} = {side}"
            try:
                rhs = parse(side)
            except FormulaError as e:
                out.append(Verdict(side_line, side_column, shown, NOT_UNDERSTOOD, str(e)))
                continue
            rhs, indexed = self._indices(rhs, shorthands)  # B^2 with B^{t} defined: the sheet's B at t = 2
            rhs = self._calls(rhs)  # g(a^{(t)}) with g the model's abstract function: a call, not a product
            unknown = self._unknown(lhs, shorthands) or self._unknown(rhs, shorthands)
            if unknown:
                out.append(Verdict(side_line, side_column, shown, NOT_UNDERSTOOD, unknown))
                continue
            # "dL/dh_{n+1} = 0" is checked like a formula; "h_0 = 0" is one of the question's numbers
            numeric = (_numbers_only(rhs) or lhs_numbers_only) and not (_zero(rhs) and lhs[0] == "derivative")
            if numeric and self.values is None:
                constant = None
                if lhs[0] == "derivative":  # dL/dL_t = 1 holds at every point; dL/dw_h = 40 at the question's own
                    constant = self._compare(side_line, side_column, shown, lhs, rhs, claim, dict(shorthands))
                if constant is not None and constant.verdict == CORRECT:
                    out.append(constant)
                else:
                    out.append(Verdict(side_line, side_column, shown, NOT_UNDERSTOOD,
                                       "a number: give the question's own numbers with --values FILE to check it"))
                continue
            verdict = self._compare(side_line, side_column, shown, lhs, rhs, claim, dict(shorthands), numeric)
            if indexed:
                read = ", ".join(f"{name}^{k}" for name, k in dict.fromkeys(indexed))
                verdict.diagnosis = "; ".join(x for x in (f"reads {read} as the name defined above (an index, as "
                                                          "the question sheet writes it), not a square",
                                                          verdict.diagnosis) if x)
            if verdict.verdict == WRONG and lhs[0] == "derivative" and _plain(lhs[1]) == self.names.loss \
                    and not numeric:
                verdict.correct = self.correct_formula(lhs[2], verdict.layout or "denominator")
            if said is not None:
                if verdict.verdict == WRONG:
                    reason = self._follows(lhs, rhs, said, shorthands, verdict.layout)
                    if reason:
                        verdict.diagnosis = f"{verdict.diagnosis}; {reason}" if verdict.diagnosis else reason
                said.setdefault(_said_key(lhs), []).append((rhs, side_line, _numbers_only(rhs), verdict.verdict))
            out.append(verdict)
        return out

    def _follows(self, lhs, rhs, said: dict, shorthands: dict, layout: str | None = None) -> str | None:
        """Why a wrong claim is what the answer's own earlier wrong claims give: an earlier formula for the same
        left side (an earlier side of the same claim, or an earlier claim), evaluated with the answer's earlier
        wrong values in place of the true ones, gives it: a number at the question's numbers, a formula at a
        point and every step. The claims used are named with their lines, the first wrong line first."""
        beliefs = {}
        for key, entries in said.items():
            for tree, line, _, verdict in entries:
                if verdict == WRONG and key[0] != "other":
                    beliefs[key] = (tree, line)  # the last wrong value said of it
        if not beliefs:
            return None
        numeric = self.values is not None and _numbers_only(rhs)
        n = (self.values.get("n") or self.n) if numeric else self.n
        point = self.point(n, GIVEN if numeric else 0, layout or "denominator", shorthands)
        steps = [None] if numeric else list(range(0, n + 1))
        for formula, _, number, _ in said.get(_said_key(lhs), []):
            if number or _said_key(formula) == _said_key(rhs) and formula == rhs:
                continue
            used: list = []
            matched = False
            for t in steps:
                here = point if t is None else point.bind("t", t)
                try:
                    with np.errstate(all="ignore"):
                        value = evaluate(formula, _Believed(here, beliefs, used))
                        claimed = evaluate(rhs, here)
                except (FormulaError, ValueError, TypeError):
                    continue
                if _error(*_vec_aligned(value, claimed)) >= TOLERANCE:
                    matched = False
                    break
                matched = True
            if used and matched:
                first = min(line for _, line in used)
                shown = ", ".join(f"{text} (line {line})" for text, line in dict.fromkeys(used))
                what = "numbers" if numeric else "claims"
                return (f"it follows from the answer's own earlier {what} {shown}, which are wrong: the first wrong "
                        f"line is {first}")
        return None

    def _calls(self, tree):
        """``tree`` with ``g (x)``, the model's abstract function ``g`` next to what follows it (parsed as a
        product, ``h \\odot g (a)`` as ``(h \\odot g) (a)``), read as ``g`` applied to it."""
        functions = set(self.model.abstract_functions) - {_plain(v.latex) for v in self.model.variables}
        if not functions or not isinstance(tree, tuple):
            return tree

        def last(node):
            """``(rebuild, leaf)``: the rightmost factor of a product or elementwise product, and how to put
            another in its place."""
            if node[0] in ("mul", "hadamard"):
                rebuild, leaf = last(node[2])
                return (lambda x: (node[0], node[1], rebuild(x))), leaf
            return (lambda x: x), node

        def walk(node):
            if not isinstance(node, tuple):
                return node
            node = (node[0], *(walk(part) for part in node[1:]))
            if node[0] == "mul":
                rebuild, leaf = last(node[1])
                if isinstance(leaf, tuple) and leaf[0] == "name" and leaf[1] in functions:
                    return rebuild(("call", leaf[1], node[2]))
            return node
        return walk(tree)

    def _indices(self, tree, shorthands: dict) -> tuple:
        """``tree`` with each square of a name the answer defined only with an index (``B^{t} = ...``, then
        ``B^2``) read as that index, and the names so read."""
        read: list = []

        def walk(node):
            if not isinstance(node, tuple):
                return node
            if node[0] == "square" and node[1][0] == "name" and self.names.find(node[1][1]) is None \
                    and _shorthand(node[1][1], shorthands) is None \
                    and _shorthand(node[1][1] + "^{2}", shorthands) is not None:
                read.append((node[1][1], 2))
                return ("name", node[1][1] + "^{2}")
            return (node[0], *(walk(part) for part in node[1:]))
        return walk(tree), read

    def _unknown(self, tree, shorthands: dict) -> str | None:
        """Why a formula cannot be about this model: a name it does not have, or None."""
        if not isinstance(tree, tuple):
            return None
        names = [tree[1]] if tree[0] == "name" else [tree[2]] if tree[0] == "derivative" else []
        for name in names:
            if self.names.find(name) is None and _shorthand(name, shorthands) is None and self.basis(name) is None:
                return self.not_a_variable(name)
        for part in tree[1:]:
            found = self._unknown(part, shorthands)
            if found:
                return found
        return None

    def _steps(self, point: _Point, claim: Claim, uses_index: bool) -> list[int | None]:
        if not uses_index:
            return [None]
        steps = list(range(0, point.n + 1))
        if claim.range:  # a range may name the step just past the loop (t > n: a total derivative there is 0)
            steps.append(point.n + 1)
            written, *excluded = re.split(r",\s*(?:\\[ ,;]\s*)?(?=[A-Za-z]\s*\\neq)", claim.range.strip())
            for x in excluded:  # "t \neq i": that step left out
                found = re.match(r"[A-Za-z]\s*\\neq\s*(.+)$", x.strip())
                if found:
                    step = point.bound(found.group(1).strip().rstrip("."))
                    steps = [t for t in steps if t != step]
            claim = replace(claim, range=written)
            found = re.match(r"(?:for\s*)?([A-Za-z])\s*(?:([-+])\s*(\d+)\s*)?(<|\\le|\\leq|>|\\ge|\\geq|=)\s*(.+)$",
                             claim.range.strip())
            shift = 0 if not found or not found.group(2) else int(found.group(3)) * (1 if found.group(2) == "+" else -1)
            compare = {"<": lambda a, b: a < b, "\\le": lambda a, b: a <= b, "\\leq": lambda a, b: a <= b,
                       ">": lambda a, b: a > b, "\\ge": lambda a, b: a >= b, "\\geq": lambda a, b: a >= b}
            if found and found.group(4) in compare:  # t < n, t + 1 > T
                limit = point.bound(found.group(5).strip().rstrip("."))
                steps = [t for t in steps if compare[found.group(4)](t + shift, limit)]
            elif found:
                ends = [e.strip() for e in re.split(r",\s*(?:\\dots|\\ldots|\.\.\.)\s*,", found.group(5))]
                if len(ends) == 2:
                    low, high = sorted(point.bound(e.rstrip(".")) for e in ends)
                    steps = [t for t in steps if low <= t <= high]
        return steps

    def exact_point(self, shorthands: dict) -> _Point | None:
        """The question's own numbers as rationals (0.1 is 1/10) with every value, total derivative and gradient
        computed exactly; None where the model is not made of sums and products (a tanh) or a number is not
        rational."""
        if "exact" not in self._points:
            self._points["exact"] = None
            from symrnn.errors import NumericError
            from symrnn.numeric.engine import CompiledGradient
            from symrnn.numeric.exact import ExactArrays, to_fraction

            rational = np.vectorize(to_fraction, otypes=[object])
            try:
                params = {k: rational(np.asarray(v, dtype=float)) for k, v in self.values["params"].items()}
                inputs = {k: rational(np.asarray(v, dtype=float)) for k, v in self.values["inputs"].items()}
                n = self.values.get("n") or self.n
                out = CompiledGradient(self.model, {}, xp=ExactArrays())(params, inputs, self.values["labels"], n,
                                                                          self.i, keep_values=True)
            except (NumericError, SymRNNError, TypeError, ValueError, ZeroDivisionError):
                return None
            base = self.point(n, GIVEN, "denominator", {})
            self._points["exact"] = base.changed(values={**out.values, **{Node(k): v for k, v in params.items()}},
                                                 adjoints=out.adjoints, gradients=out.gradients, params=params,
                                                 exact=True)
        found = self._points["exact"]
        return None if found is None else found.changed(shorthands=shorthands)

    def _exactly(self, lhs, rhs, shorthands: dict) -> bool | None:
        """Whether a claim about numbers holds exactly, in rationals; None where it cannot be computed so."""
        point = self.exact_point(shorthands)
        if point is None:
            return None
        from fractions import Fraction

        from symrnn.errors import NumericError

        try:
            left, right = evaluate(lhs, point), evaluate(rhs, point)
        except (FormulaError, NumericError, TypeError, ValueError, ZeroDivisionError, AttributeError):
            return None
        left, right = np.asarray(left, dtype=object), np.asarray(right, dtype=object)
        if left.size != right.size or not all(isinstance(v, (Fraction, int)) for v in [*left.flat, *right.flat]):
            return None  # a value found in floating point: not an exact comparison
        return bool(all(a == b for a, b in zip(left.reshape(-1), right.reshape(-1), strict=True)))

    def _compare(self, line, column, shown, lhs, rhs, claim, shorthands, numeric: bool = False) -> Verdict:
        if numeric:  # the question's numbers: exactly, in rationals, where they and the model allow it
            exact = self._exactly(lhs, rhs, shorthands)
            verdict = self._compare_read(line, column, shown, lhs, rhs, claim, shorthands, numeric, "local")
            if verdict.verdict == WRONG and _local_in_parameter(lhs, rhs, self):  # dh_2/dw_h through h_1 = 3
                total = self._compare_read(line, column, shown, lhs, rhs, claim, shorthands, numeric, "total")
                if total.verdict == CORRECT:
                    total.diagnosis = "correct with each derivative of a state in a parameter read as total"
                    return total
            if exact is True:
                return Verdict(line, column, shown, CORRECT, "exactly, in rationals", 0.0)
            if exact is False and verdict.verdict == CORRECT:
                return Verdict(line, column, shown, WRONG, "not exactly: the rationals differ, the floats agree to "
                               f"{TOLERANCE:g}", verdict.error)
            return verdict
        verdict = self._compare_read(line, column, shown, lhs, rhs, claim, shorthands, numeric, "local")
        if verdict.verdict == WRONG and _local_in_parameter(lhs, rhs, self):
            total = self._compare_read(line, column, shown, lhs, rhs, claim, shorthands, numeric, "total")
            if total.verdict == CORRECT:  # the student's \partial h_2 / \partial w_h goes through h_1 too
                total.diagnosis = ("correct with each derivative of a state in a parameter read as total (through "
                                   "the earlier steps); as the local partial of one step, the others held, it is not")
                return total
        return verdict

    def _compare_read(self, line, column, shown, lhs, rhs, claim, shorthands, numeric: bool, reading: str) -> Verdict:
        uses_index = bool(re.search(r"(?<![A-Za-z\\])t(?![A-Za-z])", " ".join([claim.sides[0], shown])))
        layouts = ["denominator", "numerator"] if self.layout == "auto" else [self.layout]
        if self.layout == "auto" and (_has_jacobian(lhs, self) or _has_jacobian(rhs, self)):
            layouts.append("mixed")  # column gradients with Jacobians of a row per output: [\prod J_k]^T g
        results = {}
        reason = None
        for layout in layouts:
            pairs, bad = [], None
            lengths = [self.values.get("n") or self.n] if numeric else _lengths(claim, self.n)
            for n in lengths:
                for seed in [GIVEN] if numeric else range(POINTS):
                    point = self.point(n, seed, layout, shorthands)
                    if reading != point.reading:
                        point = point.changed(reading=reading)
                    try:
                        steps = self._steps(point, claim, uses_index)
                    except FormulaError as e:
                        bad = f"the range {claim.range}: {e}"
                        break
                    for t in steps:
                        here = point.bind("t", t) if t is not None else point
                        try:
                            with np.errstate(all="ignore"):
                                left, right = evaluate(lhs, here), evaluate(rhs, here)
                        except Absent:
                            continue  # the claim is not about this step (h_{t-1} at t = 0)
                        except FormulaError as e:
                            bad = str(e)
                            break
                        pairs.append((*_vec_aligned(left, right), t, n, seed))
                    if bad:
                        break
                if bad or point.concrete:
                    break
            if bad:
                reason = reason or bad
                continue
            results[layout] = pairs
        if not results:
            return Verdict(line, column, shown, NOT_UNDERSTOOD, reason or "nothing to compare")
        best = None
        for layout, pairs in results.items():
            if not pairs:
                continue
            errors = [_error(a, b) for a, b, *_ in pairs]
            worst = max(errors)
            if worst < TOLERANCE:  # a number (1 x 1) has no layout to report
                shaped = any(np.size(a) > 1 for a, *_ in pairs)
                return Verdict(line, column, shown, CORRECT, "", worst,
                               layout if self.layout == "auto" and shaped else None)
            if best is None or worst < best[1]:
                best = (layout, worst, pairs, errors)
        if best is None:
            return Verdict(line, column, shown, NOT_UNDERSTOOD, "no step where both sides exist")
        layout, worst, pairs, errors = best
        stepped = next((name for name, found in results.items() if _one_step(found)), None)
        if stepped is not None:
            layout = stepped
            return Verdict(line, column, shown, WRONG, "one step's term: the gradient is its sum over the steps "
                           "(\\sum_t of the right side is correct)", worst, layout)
        reason = _diagnose(pairs, errors, results)
        if reason == "does not match the true value":
            reason = self._factor(pairs, layout, shorthands) or reason
        if reason == "does not match the true value" and reading == "local" and not getattr(self, "_inserting", False):
            self._inserting = True  # one factor at a time: the fixed claims are not fixed again
            try:
                reason = self._missing_factor(line, column, shown, lhs, rhs, claim, shorthands, numeric) or reason
            finally:
                self._inserting = False
        return Verdict(line, column, shown, WRONG, reason, worst, layout)

    def activated(self, *more: Kind) -> list:
        """``(declaration, function)`` of each timed state or defined variable (and of the kinds ``more``) that
        is a function of :data:`ACTIVATIONS` of its argument (``h_t = \\tanh(\\dots)``, an abstract ``g``
        bound to one)."""
        out = []
        for d in self.model.definitions:
            decl = self.model.var(d.target)
            fname = d.expr.prim.function if isinstance(d.expr, Apply) and d.expr.prim.function else None
            fname = self.bindings.get(fname, fname)
            if decl.timed and decl.kind in (Kind.STATE, Kind.DEFINED, *more) and fname in ACTIVATIONS:
                out.append((decl, fname))
        return out

    def _missing_factor(self, line, column, shown, lhs, rhs, claim, shorthands, numeric) -> str | None:
        """Whether the claim holds once the derivative of a variable's function is put next to one of its total
        derivatives: ``W_h^T \\frac{\\partial L}{\\partial h_t}`` for ``W_h^T (\\frac{\\partial L}{\\partial h_t}
        \\odot (1 - h_t^2))``, the activation's derivative forgotten."""
        functions = {decl.name: fname for decl, fname in self.activated()}
        leaves = []

        def find(node):
            if not isinstance(node, tuple):
                return
            if node[0] == "derivative" and _plain(node[1]) == self.names.loss:
                found = self.names.find(node[2])
                if found is not None and found[0].name in functions and node not in leaves:
                    leaves.append(node)
            for part in node[1:]:
                find(part)
        find(rhs)
        for leaf in leaves:
            variable = ("name", leaf[2])
            factor = ACTIVATIONS[functions[self.names.find(leaf[2])[0].name]][2](variable)

            def put(node, leaf=leaf, factor=factor):
                if node == leaf:
                    return ("hadamard", node, factor)
                return (node[0], *(put(p) if isinstance(p, tuple) else p for p in node[1:]))
            fixed = self._compare_read(line, column, shown, lhs, put(rhs), claim, shorthands, numeric, "local")
            if fixed.verdict == CORRECT:
                written = leaf[2]
                shown_factor = ACTIVATIONS[functions[self.names.find(written)[0].name]][3].format(v=written)
                return (f"misses a factor: the derivative of {written}'s function, {shown_factor}, next to "
                        f"\\frac{{\\partial {self.names.loss}}}{{\\partial {written}}}")
        return None

    def _factor(self, pairs, layout: str, shorthands: dict) -> str | None:
        """Whether the claim misses (or has one too many) the derivative of a variable's function at its step:
        ``1 - h_t \\odot h_t`` for ``h_t = \\tanh(\\dots)``, the commonest slip of a hand derivation."""
        candidates = [(decl, *ACTIVATIONS[fname][:2]) for decl, fname in self.activated(Kind.INTERIM)]
        for decl, derivative, shown in candidates:
            for extra in (False, True):
                ok = bool(pairs)
                for a, b, t, n, seed in pairs:
                    if t is None:
                        ok = False
                        break
                    point = self.point(n, seed, layout, shorthands)
                    value = point.values.get(Node(decl.name, t))
                    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
                    if value is None or a.shape != b.shape:
                        ok = False
                        break
                    factor = np.asarray(derivative(np.asarray(value, dtype=float)), dtype=float).reshape(-1)
                    scaled = _scaled(b if not extra else a, factor)
                    if scaled is None or _error(scaled, a if not extra else b) >= TOLERANCE:
                        ok = False
                        break
                if ok:
                    what = shown.format(v=decl.display(sp.Symbol("t")))
                    return (f"{'has one factor too many' if extra else 'misses a factor'}: {what}, the derivative of "
                            f"{decl.display(sp.Symbol('t'))}'s function at its step")
        return None


#: The derivatives of the functions a slip most often leaves out, written with the function's output ``v``:
#: ``(numbers, LaTeX as symrnn prints it, tree as an answer writes it, text as the diagnosis says it)``.
ACTIVATIONS = {
    "tanh": (lambda v: 1 - v * v, "\\mathbf{{1}} - {v} \\odot {v}",
             lambda v: ("sub", ("ones",), ("hadamard", v, v)), "1 - {v} \\odot {v}"),
    "sigmoid": (lambda v: v * (1 - v), "{v} \\odot (\\mathbf{{1}} - {v})",
                lambda v: ("hadamard", v, ("sub", ("ones",), v)), "{v} \\odot (1 - {v})"),
}


def _scaled(x, factor):
    """``x`` with each row (a column, a matrix) or each entry of a row scaled by ``factor``; None if they do not fit."""
    if x.shape[0] == factor.size:
        return x * factor.reshape(-1, 1)
    if x.shape[0] == 1 and x.shape[1] == factor.size:
        return x * factor.reshape(1, -1)
    return None


_OPS = {"<": lambda a, b: a < b, ">": lambda a, b: a > b, "\\le": lambda a, b: a <= b, "\\leq": lambda a, b: a <= b,
        "\\ge": lambda a, b: a >= b, "\\geq": lambda a, b: a >= b}


def _lengths(claim: Claim, n: int) -> list[int]:
    """The sequence lengths a claim is checked at: ``n`` and ``n + 1``, or those that a condition on the length
    allows (``\\frac{\\partial L}{\\partial h_2} = 0`` if ``2 > T``: ``T = 1``), or the length a sum's number
    bound says (``\\sum_{t=1}^{3}``: the claim is about ``n = 3``)."""
    bounds = [int(b) for b in re.findall(r"\\(?:sum|prod)_\{?[^{}^]*\}?\^\{?\s*(\d{1,3})\s*\}?",
                                          " ".join(claim.sides))]
    if bounds and 1 <= max(bounds) <= 50:  # a length the grader can unroll; 0 or 1000 says nothing of n
        return [max(bounds)]
    found = re.fullmatch(r"\s*(\d+)\s*(<|>|\\leq?|\\geq?)\s*([nTN])\s*\.?\s*", claim.range or "")
    if not found:
        return [n, n + 1]
    k, op = int(found.group(1)), _OPS[found.group(2)]
    return [length for length in range(1, n + 2) if op(k, length)][-2:] or [n, n + 1]


def _has_jacobian(tree, grader: Grader) -> bool:
    """Whether a formula has a local Jacobian (a derivative of something other than the loss)."""
    if not isinstance(tree, tuple):
        return False
    if tree[0] == "derivative" and _plain(tree[1]) != grader.names.loss:
        return True
    return any(_has_jacobian(part, grader) for part in tree[1:])


def _local_in_parameter(lhs, rhs, grader: Grader) -> bool:
    """Whether a claim has a derivative of a state at a step in a parameter (``\\partial h_2 / \\partial w_h``),
    which a student may mean as the total derivative through the earlier steps."""
    def found(tree) -> bool:
        if not isinstance(tree, tuple):
            return False
        if tree[0] == "derivative" and _plain(tree[1]) != grader.names.loss:
            of, wrt = grader.names.find(tree[1]), grader.names.find(tree[2])
            if of is not None and wrt is not None and of[1] is not None and wrt[0].kind is Kind.PARAMETER \
                    and of[0].kind in (Kind.STATE, Kind.INTERIM) and len(tree) == 3:
                return True
        return any(found(part) for part in tree[1:])
    return found(lhs) or found(rhs)


def _said_key(tree) -> tuple:
    """The key of a left side, to find what the answer said of it before: a derivative by its names, a name."""
    if isinstance(tree, tuple) and tree[0] == "derivative":
        return ("derivative", _plain(tree[1]), _plain(tree[2]))
    if isinstance(tree, tuple) and tree[0] == "name":
        return ("name", _plain(tree[1]))
    return ("other", repr(tree))


class _Believed(Environment):
    """A point where the names and derivatives the answer gave wrong numbers for have those numbers."""

    def __init__(self, point: _Point, beliefs: dict, used: list):
        self.point, self.beliefs, self.used = point, beliefs, used

    def _believed(self, key, text):
        tree, line = self.beliefs[key]
        self.used.append((f"{text} = {_number_text(tree)}" if _numbers_only(tree) else text, line))
        return evaluate(tree, self.point)

    def value(self, name: str):
        key = ("name", _plain(name))
        return self._believed(key, name) if key in self.beliefs else self.point.value(name)

    def derivative(self, of: str, wrt: str, total: bool = False):
        key = ("derivative", _plain(of), _plain(wrt))
        if key in self.beliefs:
            return self._believed(key, f"\\frac{{\\partial {of}}}{{\\partial {wrt}}}")
        return self.point.derivative(of, wrt, total)

    def bind(self, index: str, value: int) -> Environment:
        return _Believed(self.point.bind(index, value), self.beliefs, self.used)

    @property
    def layout(self) -> str:
        return self.point.layout

    def bound(self, text: str) -> int:
        return self.point.bound(text)

    def size(self, name: str) -> int:
        return self.point.size(name)


def _number_text(tree) -> str:
    """A number's tree as the answer wrote it, near enough: ``-12``, ``0.5``."""
    if tree[0] == "number":
        return f"{tree[1]:g}"
    if tree[0] == "neg":
        return "-" + _number_text(tree[1])
    return "a number"


def _vec_aligned(a, b) -> tuple:
    """A matrix's gradient and a row in the vec convention (numerator layout), both as that row; else as they are."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape and a.size == b.size and 1 in (a.shape[0], b.shape[0]) and min(a.shape[1], b.shape[1]) > 1:
        return a.reshape(1, -1, order="F"), b.reshape(1, -1, order="F")
    return a, b


def _zero(tree) -> bool:
    """Whether a formula is the number 0 (``\\frac{\\partial L}{\\partial h_{n+1}} = 0``)."""
    return isinstance(tree, tuple) and tree[0] == "number" and float(tree[1]) == 0


def _numbers_only(tree) -> bool:
    """Whether a formula has no name and no derivative: a number the question's values give."""
    if not isinstance(tree, tuple):
        return True
    if tree[0] in ("name", "derivative"):
        return False
    return all(_numbers_only(part) for part in tree[1:] if isinstance(part, tuple))


def _rows_of(text: str, keep) -> list[str]:
    """The rows ``left = right`` of the first ``align*`` block of symrnn's LaTeX whose left side ``keep`` accepts."""
    found = re.search(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", text, re.S)
    rows = []
    for row in (found.group(1).split("\\\\\n") if found else []):
        left, _, right = row.strip().rstrip("\\").strip().partition("&=")
        if right and keep(left.strip()):
            rows.append(f"{left.strip()} = {right.strip()}")
    return rows


def _error(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        if a.size == b.size == 1:
            a, b = a.reshape(1, 1), b.reshape(1, 1)
        elif a.size == b.size and 1 in (a.shape[0], b.shape[0]) and min(a.shape[1], b.shape[1]) > 1:
            a, b = _vec_aligned(a, b)  # a matrix's gradient and its vec-convention row
        elif b.size == 1 and not b.any():  # "= 0": the zero of the left side's shape
            b = np.zeros_like(a)
        elif a.size == 1 and not a.any():
            a = np.zeros_like(b)
        else:
            return float("inf")
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), 1e-12)
    return float(np.max(np.abs(a - b))) / scale


def _one_step(pairs) -> bool:
    """Whether the left side is the same at every step and the right side, summed over the steps, is it:
    the claim wrote one step's term of a sum over t."""
    groups: dict = {}
    for a, b, t, n, seed in pairs:
        if t is None or t >= 1:  # the loop's steps (t = 0 is the initial state's, no step of the sum)
            groups.setdefault((n, seed), []).append((a, b, t))
    if not groups or any(t is None for group in groups.values() for _, _, t in group):
        return False
    for group in groups.values():
        left = group[0][0]
        if any(_error(a, left) >= TOLERANCE for a, _, _ in group) or any(np.shape(b) != np.shape(left)
                                                                           for _, b, _ in group):
            return False
        if _error(left, sum(np.asarray(b) for _, b, _ in group)) >= TOLERANCE:
            return False
    return True


def _diagnose(pairs, errors, results) -> str:
    """Why a claim fails, where a simple reason fits."""
    pairs = [(a, b, t, n) for a, b, t, n, _ in pairs] if pairs and len(pairs[0]) == 5 else pairs
    shapes = {(np.shape(a), np.shape(b)) for a, b, _, _ in pairs}
    if all(np.shape(a) == np.shape(b)[::-1] for a, b, _, _ in pairs) and all(
            _error(a, np.asarray(b).T) < TOLERANCE for a, b, _, _ in pairs):
        return "transposed: the right side is the transpose of the true value (a layout slip)"
    same = [(a, b) for a, b, _, _ in pairs if np.shape(a) == np.shape(b) and np.any(a)]
    if same and len(same) == len(pairs) and all(_error(a, -np.asarray(b)) < TOLERANCE for a, b in same):
        return "wrong sign"
    ratios = [float(np.sum(np.asarray(b) * np.asarray(a)) / np.sum(np.asarray(a) ** 2)) for a, b in same]
    if same and len(same) == len(pairs) and max(ratios) - min(ratios) < 1e-6 * max(1, abs(ratios[0])) and all(
            _error(np.asarray(a) * ratios[0], b) < TOLERANCE for a, b in same) and abs(ratios[0]) > 1e-9:
        return f"off by a factor {ratios[0]:.6g}"
    failing = sorted({(t, n) for (a, b, t, n), e in zip(pairs, errors, strict=True) if e >= TOLERANCE})
    holding = sorted({(t, n) for (a, b, t, n), e in zip(pairs, errors, strict=True) if e < TOLERANCE})
    if failing and all(t is not None for t, _ in failing):
        if all(t == n for t, n in failing):
            return "holds for t < n but not at the last step t = n (its boundary term differs)"
        if holding and all(t == n for t, n in holding):
            return "holds only at the last step t = n, where the recursion starts; at t < n the terms through later "\
                   "steps are missing"
    if any(a != b for a, b in shapes):
        a, b = next(iter(shapes))
        return f"the sides have different shapes: {a[0]} x {a[1]} against {b[0]} x {b[1]}"
    return "does not match the true value"


def grade(source: str, model: Model, n: int = 3, i: int | None = None, sizes: dict | None = None,
          bindings: dict | None = None, layout: str = "auto", values: dict | None = None) -> list[Verdict]:
    """The verdict on every claim of an answer.

    Parameters
    ----------
    source : str
        The answer, Markdown or LaTeX.
    model : Model
        The model the answer is about, in whose notation it is written.
    n : int
        The sequence length of the question (claims at a generic ``t`` are checked at ``n`` and
        ``n + 1`` too).
    i : int, optional
        The label position, for the models that read one.
    sizes : dict, optional
        Sizes of the random points (3 for each one not given).
    bindings : dict, optional
        Concrete functions for abstract ones (``g`` is ``tanh`` by default).
    layout : str
        ``"auto"`` (each claim in the layout it matches), ``"numerator"`` or ``"denominator"``.
    values : dict, optional
        The question's own numbers (:func:`symrnn.numeric.values.read_values`): a claim that is a number
        (``h_2 = 3``) is checked at them; without them it is not understood.

    Returns
    -------
    list of Verdict
        One per side of each claim, in order.

    Examples
    --------
    >>> from symrnn import zoo
    >>> answer = r'''
    ... $$\\frac{\\partial L}{\\partial W_x} = \\sum_{t=1}^{n} (\\frac{\\partial L}{\\partial h_t}
    ...     \\odot (1 - h_t^2)) x_t^T$$
    ... $$\\frac{\\partial L}{\\partial h_{t-1}} = W_h (\\frac{\\partial L}{\\partial h_t} \\odot (1 - h_t^2))$$
    ... '''
    >>> [(v.verdict, v.diagnosis) for v in grade(answer, zoo.vanilla())]  # doctest: +NORMALIZE_WHITESPACE
    [('correct', ''), ('wrong', 'does not match the true value')]
    """
    if layout not in ("auto", "numerator", "denominator"):
        raise SymRNNError(f"layout {layout!r}: choose auto, numerator or denominator")
    return Grades(Grader(model, n, i, dict(sizes or {}), dict(bindings or {}), layout, values).grade(source))


class Grades(list):
    """The verdicts on an answer (a list of :class:`Verdict`), shown in Jupyter as a table with the claims
    rendered (MathML, no script) and a line of counts; ``str()`` is that line.

    Examples
    --------
    >>> from symrnn import zoo
    >>> grades = grade(r"$$\\frac{\\partial L}{\\partial s} = \\operatorname{softmax}(s) - y$$", zoo.vanilla())
    >>> str(grades), "<math" in grades._repr_html_()
    ('1 correct, 0 wrong, 0 not understood of 1 claims', True)
    """

    def __str__(self) -> str:
        counts = {kind: sum(v.verdict == kind for v in self) for kind in (CORRECT, WRONG, NOT_UNDERSTOOD)}
        graded = sum(counts.values())
        return (f"{counts[CORRECT]} correct, {counts[WRONG]} wrong, {counts[NOT_UNDERSTOOD]} not understood of "
                f"{graded} claims")

    def _repr_html_(self) -> str:
        from symrnn.render.html import html_text, math_html

        def shown(tex: str) -> str:
            try:
                return math_html(tex)
            except Exception:  # noqa: BLE001 - a claim MathML cannot render is shown as its text
                return f"<code>{html_text(tex)}</code>"

        colour = {CORRECT: "#1a7f37", WRONG: "#b42318", NOT_UNDERSTOOD: "#6e6e6e"}
        rows = [f"<tr><td>{v.line}:{v.column}</td><td>{shown(v.claim)}</td>"
                f"<td style=\"color:{colour.get(v.verdict, 'inherit')}\">{html_text(v.verdict)}</td>"
                f"<td>{html_text(v.diagnosis)}</td><td>{shown(v.correct) if v.correct else ''}</td></tr>"
                for v in self]
        return ("<table><tr><th>line</th><th>claim</th><th>verdict</th><th>diagnosis</th><th>symrnn's formula</th>"
                "</tr>" + "".join(rows) + f"</table><p>{html_text(str(self))}</p>")
