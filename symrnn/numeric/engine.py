"""The compiled gradient: the factored form run over time, for a batch of sequences.

Every rule is compiled once per model, never the unrolled expression: the equation of
each variable (forward), each term of each total derivative (the recursion, denominator
layout) and each term of each parameter's closed form. A call then walks the steps:
forward in the order of the graph, backward in reverse, each step binding the compiled
rules to that step's values. So compiling does not grow with ``n``, and what runs is
what ``symrnn derive --form closed --layout denominator`` prints.

Arrays are batch-first: a per-sequence value (an input, a state, a total derivative) is
``(B, rows, cols)``, a parameter ``(rows, cols)``. The printer below writes every
matrix operation so that NumPy's (and torch's, and CuPy's) broadcasting applies it to
each sequence of the batch: ``@`` is a batched product, transposes swap the last two
axes, reductions run over the second-to-last axis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache

import networkx as nx
import numpy as np
import sympy as sp

from symrnn.cell import algebra as al
from symrnn.cell.functions import numeric_value
from symrnn.cell.symbols import Elementwise, Label, SumOver, TotalDerivative, Var
from symrnn.derive.factored import adjoint_equation, adjoint_order
from symrnn.errors import NumericError, SymRNNError
from symrnn.graph.jacobians import Node, concrete_time, resolve, symbolic
from symrnn.graph.unroll import unroll
from symrnn.numeric.printer import ArrayPrinter, arguments, function_identifier, identifier
from symrnn.spec.model import Apply, Kind, Model, lengths


class BatchPrinter(ArrayPrinter):
    """Array code whose matrix operations apply to each sequence of a batch (leading axis)."""

    def _print_Transpose(self, expr):
        return f"xp.swapaxes({self._print(expr.arg)}, -1, -2)"

    def _print_DiagMatrix(self, expr):
        arg = self._print(expr.args[0])
        return f"(({arg}) * xp.eye(({arg}).shape[-2]))"

    def _print_Concat(self, expr):
        return f"concat(xp, [{', '.join(self._print(a) for a in expr.args)}])"

    def _print_Basis(self, expr):
        return f"basis(xp, {self._print(expr.label)}, {self._print(expr.shape[0])})"

    def _print_Component(self, expr):
        return f"component(xp, {self._print(expr.arg)}, {self._print(expr.label)})"

    def _print_SquaredNorm(self, expr):
        arg = self._print(expr.arg)
        return f"(xp.swapaxes({arg}, -1, -2) @ ({arg}))"


def _softmax(xp, v):
    e = xp.exp(v - v.max(axis=-2, keepdims=True))
    return e / e.sum(axis=-2, keepdims=True)


def _logsoftmax(xp, v):
    top = v.max(axis=-2, keepdims=True)
    return v - top - xp.log(xp.exp(v - top).sum(axis=-2, keepdims=True))


def _concat(xp, parts):
    batch = max((p.shape[0] for p in parts if p.ndim == 3), default=None)
    if batch is not None:
        parts = [p if p.ndim == 3 else xp.broadcast_to(p, (batch, *p.shape)) for p in parts]
    return xp.concatenate(parts, axis=-2)


def _basis(xp, y, size):
    y = np.asarray(y).reshape(-1)
    out = np.zeros((y.size, int(size), 1))
    out[np.arange(y.size), y - 1, 0] = 1.0
    return xp.asarray(out)


def _component(xp, q, y):
    y = np.asarray(y).reshape(-1)
    return q[np.arange(y.size), y - 1, :][:, None, :]


def _selector(xp, sizes, k):
    from symrnn.numeric.printer import _selector as single

    return single(xp, sizes, k)


@dataclass(frozen=True)
class _Rule:
    """A compiled expression and how to find each of its arguments at a step."""

    fn: object
    args: tuple  # ("var", name, time) | ("adjoint", name, time) | ("label", name) | ("size", name)
    scalar: object = None  # a number standing for c I, when the expression is one


@cache
def _compile(expr, bindings: tuple, backend: str) -> _Rule:
    if al.is_scalar(expr):
        return _Rule(None, (), sp.sympify(expr))
    args = arguments(expr)
    namespace = {"softmax": _softmax, "logsoftmax": _logsoftmax, "basis": _basis, "selector": _selector,
                 "component": _component, "concat": _concat}
    for f in expr.atoms(Elementwise):
        namespace[function_identifier(f.fname)] = numeric_value(f.fname, dict(bindings))
    plain = {a: sp.MatrixSymbol(identifier(a), *a.shape) for a in args if isinstance(a, Var)}
    xp = sp.Symbol("xp")
    fn = sp.lambdify((xp, *(plain.get(a, a) for a in args)), expr.xreplace(plain), modules=[namespace],
                     printer=BatchPrinter({"strict": True}), dummify=False, docstring_limit=0)
    described = []
    for a in args:
        if isinstance(a, TotalDerivative):
            described.append(("adjoint", a.name, a.time))
        elif isinstance(a, Var):
            described.append(("var", a.name, a.time))
        elif isinstance(a, Label):
            described.append(("label", a.name))
        else:
            described.append(("size", str(a)))
    return _Rule(fn, tuple(described))


@dataclass
class Result:
    """What a compiled gradient returns: per-sequence losses and the gradients.

    ``loss`` is ``(B,)``; ``gradients`` maps each parameter's identifier to the gradient of
    the *summed* loss, shaped like the parameter, and each asked-for input to ``(B, ...)``.
    """

    loss: object
    gradients: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)


class CompiledGradient:
    """``d loss / d parameters`` of ``model`` for a batch, by the compiled factored form.

    Parameters
    ----------
    model : Model
    bindings : dict, optional
        Concrete functions for abstract ones (``{"g": "tanh"}``).
    xp : module
        The array module (``numpy``; see :mod:`symrnn.numeric.backends`).

    Examples
    --------
    >>> import numpy as np
    >>> from symrnn import zoo
    >>> f = CompiledGradient(zoo.elman(), {"g": "tanh"})
    >>> rng = np.random.default_rng(0)
    >>> m, d, K, n, B = 3, 2, 4, 5, 8
    >>> params = {"W_hx": rng.normal(size=(m, d)), "W_hh": rng.normal(size=(m, m)), "b_h": rng.normal(size=(m, 1)),
    ...           "h0": np.zeros((m, 1)), "V": rng.normal(size=(K, m)), "gamma": np.zeros((K, 1))}
    >>> out = f(params, {"x": rng.normal(size=(n, B, d, 1))}, {"y": rng.integers(1, K + 1, size=B)}, n)
    >>> out.loss.shape, out.gradients["W_hx"].shape
    ((8,), (3, 2))
    """

    def __init__(self, model: Model, bindings: dict | None = None, xp=np):
        self.model = model
        self.bindings = tuple(sorted((bindings or {}).items()))
        for fname in model.abstract_functions:
            if fname not in dict(self.bindings):
                raise NumericError(f"{fname} is abstract; bind it to a concrete function, e.g. bindings={{'{fname}': "
                                   "'tanh'}")
        self.xp = xp
        self.forward_rules = {}
        for d in model.definitions:
            expr = symbolic(model, d.expr)
            if isinstance(d.expr, Apply) and d.expr.prim.over is not None:
                self.forward_rules[d.target] = "sum"
                continue
            if expr.atoms(SumOver):
                raise SymRNNError(f"a sum over t must be a whole definition (L = \\sum_t L_t), as in {d.target}")
            self.forward_rules[d.target] = _compile(expr, self.bindings, "")
        self.parameters = [p.name for p in model.parameters]
        names: list[str] = []
        for p in self.parameters:
            try:
                order = adjoint_order(model, p)
            except SymRNNError:
                continue  # the loss does not depend on it: its gradient is 0
            names += [v for v in order if v not in names]
        self.adjoint_names = names
        self.equations = {v: self._terms(v) for v in names + self.parameters}
        self._graphs: dict = {}

    def _terms(self, name: str):
        eq = adjoint_equation(self.model, name, "denominator")
        return [(term, _compile(term.expr, self.bindings, "")) for term in eq.terms]

    # -- running --------------------------------------------------------------------------
    @property
    def last_graph(self) -> nx.DiGraph:
        """The unrolled graph of the last call (its nodes are the keys of ``Result.values``)."""
        return next(iter(self._graphs.values()))[0]

    def graph(self, n: int, i: int | None) -> nx.DiGraph:
        key = (n, i)
        if key not in self._graphs:
            G = unroll(self.model, n, i)
            order = list(nx.topological_sort(G))
            self._graphs = {key: (G, order)}  # keep one: a new length replaces the last
        return self._graphs[key]

    def __call__(self, params: dict, inputs: dict, labels: dict | None = None, n: int | None = None,
                 i: int | None = None, wrt_inputs: bool = False, keep_values: bool = False) -> Result:
        """Run the compiled gradient.

        ``params`` maps identifiers to ``(rows, cols)`` arrays; ``inputs`` maps each input's
        identifier to ``(n, B, size, 1)`` (a sequence) or ``(B, size, 1)``; ``labels`` maps
        each label to ``(B,)`` integers in ``1..K``. ``n`` defaults to the inputs' length.
        """
        xp, model = self.xp, self.model
        labels = {k: np.asarray(v).reshape(-1) for k, v in (labels or {}).items()}
        batch, n = self._shapes(inputs, labels, n)
        G, order = self.graph(n, i)
        sizes = self._sizes(params, inputs)
        values: dict = {}
        for name, value in params.items():
            values[Node(name)] = xp.asarray(value)
        for v in model.inputs:
            if v.name not in inputs:
                raise NumericError(f"no value for the input {v.latex} ({v.name})")
            data = xp.asarray(inputs[v.name])
            if v.timed:
                for t in v.loop.range(n, i):
                    values[Node(v.name, t)] = data[t - 1]
            else:
                values[Node(v.name)] = data
        for p in model.parameters:
            if Node(p.name) not in values:
                raise NumericError(f"no value for the parameter {p.latex} ({p.name})")
        env = (values, labels, sizes, n, i)
        for node in order:
            kind = G.nodes[node]["kind"]
            if kind in ("state", "defined"):
                values[node] = self._forward(node.name, node.t, env, G)
        loss_node = G.graph["loss"]
        loss = values[loss_node].reshape(batch)
        deltas = {loss_node: xp.ones((batch, 1, 1))}
        for node in reversed(order):
            if node.name in self.equations and node != loss_node and G.nodes[node]["kind"] in ("state", "defined"):
                deltas[node] = self._adjoint(node.name, node.t, env, deltas, G, batch)
        grads = {}
        for p in self.parameters:
            total = self._adjoint(p, None, env, deltas, G, batch)
            grads[p] = total.sum(axis=0) if total.ndim == 3 else total
        if wrt_inputs:
            for v in model.inputs:
                for node in G:
                    if node.name == v.name:
                        grads[node] = self._adjoint(v.name, node.t, env, deltas, G, batch,
                                                    equation=self._input_terms(v.name))
        return Result(loss, grads, values if keep_values else {})

    def _input_terms(self, name: str):
        if name not in self.equations:
            self.equations[name] = self._terms(name)
        return self.equations[name]

    def _shapes(self, inputs: dict, labels: dict, n: int | None) -> tuple:
        batch = None
        for v in self.model.inputs:
            if v.name in inputs:
                shape = np.shape(inputs[v.name])
                batch = shape[1] if v.timed else shape[0]
                if v.timed and n is None and v.loop.start == 1 and str(v.loop.stop) == "n":
                    n = shape[0]
                break
        if batch is None:
            batch = next((len(y) for y in labels.values()), 1)
        if n is None:
            raise NumericError("give n: no input sequence says how long the sequences are")
        return batch, n

    def _sizes(self, params: dict, inputs: dict) -> dict:
        sizes: dict = {}
        for decl in self.model.variables:
            value = params.get(decl.name) if decl.kind is Kind.PARAMETER else inputs.get(decl.name)
            if value is None or np.size(value) == 0:  # an empty sequence (the tagger's tags at i = 1)
                continue
            shape = np.shape(value)[-2:] if decl.kind is Kind.INPUT else np.shape(value)
            for sym, actual in zip(decl.shape, shape, strict=False):
                if sym.is_Symbol:
                    if sizes.setdefault(str(sym), actual) != actual:
                        raise NumericError(f"{decl.latex} says {sym} = {actual}, but another value says "
                                           f"{sym} = {sizes[str(sym)]}")
        return sizes

    def _value(self, name: str, time, t, env, G):
        values, labels, sizes, n, i = env
        decl, at = resolve(self.model, name, time, n, t, i)
        key = Node(decl.name, at)
        if key not in values:
            if decl.kind is not Kind.INTERIM:
                raise NumericError(f"no value for {decl.display(at)}")
            values[key] = self._forward(decl.name, at, env, G)
        return values[key]

    def _forward(self, name: str, t, env, G):
        rule = self.forward_rules[name]
        values, labels, sizes, n, i = env
        if rule == "sum":
            arg = self.model.definition(name).expr.args[0]
            steps = self.model.var(arg.name).loop.range(n, i)
            return sum(values[Node(arg.name, s)] for s in steps)
        return rule.fn(self.xp, *(self._arg(a, t, env, None, G) for a in rule.args))

    def _arg(self, described, t, env, deltas, G):
        values, labels, sizes, n, i = env
        kind = described[0]
        if kind == "var":
            return self._value(described[1], described[2], t, env, G)
        if kind == "adjoint":
            time = described[2]
            return deltas[Node(described[1], None if time is None else concrete_time(time, n, t, i))]
        if kind == "label":
            return labels[described[1]]
        return sizes[described[1]]

    def _adjoint(self, name: str, tau, env, deltas, G, batch: int, equation=None):
        xp, model = self.xp, self.model
        values, labels, sizes, n, i = env
        rows, cols = (int(sp.sympify(s).subs({sp.Symbol(k, integer=True, positive=True): v
                                                for k, v in sizes.items()})) for s in model.var(name).shape)
        per_sample = model.var(name).kind is not Kind.PARAMETER
        total = None
        for term, rule in (equation or self.equations[name]):
            if term.at is not None and concrete_time(term.at, n, None, i) != tau:
                continue
            if term.condition is not None and not bool(term.condition.subs(lengths(n, i))):
                continue
            steps = model.var(term.reader).loop.range(n, i) if term.over is not None else [tau]
            for t in steps:
                reader_time = None if term.reader_time is None else concrete_time(term.reader_time, n, t, i)
                if Node(term.reader, reader_time) not in G:
                    continue
                if rule.fn is None:
                    number = Fraction(str(rule.scalar)) if getattr(xp, "exact", False) else float(rule.scalar)
                    part = xp.ones((batch, rows, cols)) * number
                else:
                    part = rule.fn(self.xp, *(self._arg(a, t, env, deltas, G) for a in rule.args))
                if part.ndim == 2 and per_sample:
                    part = xp.broadcast_to(part, (batch, *part.shape))
                total = part if total is None else total + part
        if total is None:
            total = xp.zeros((batch, rows, cols) if per_sample else (rows, cols))
        return total
