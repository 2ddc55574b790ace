"""The compiled gradient: the factored form run over time, for a batch of sequences.

Every rule is compiled once per model, never the unrolled expression: the equation of
each variable (forward), each term of each total derivative (the recursion, denominator
layout) and each term of each parameter's closed form. A call then walks the steps:
forward in the order of the graph, backward in reverse, each step binding the compiled
rules to that step's values. So compiling does not grow with ``n``, and what runs is
what ``symrnn derive --form closed --layout denominator`` prints.

A batch is kept in columns, as a hand-written BPTT keeps it: a per-sequence vector of
size ``r`` (an input, a state, a total derivative) is an ``(r, B)`` array, a parameter
``(rows, cols)``. So a step is one matrix product for the whole batch, and an outer
product ``\\delta x^\\top`` of two batches is already the sum over the batch that a
parameter's gradient needs. The printer below decides, from the symbolic shapes, where a
product is ``@`` and where it is per sequence (a broadcast ``*`` or a column-wise dot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import networkx as nx
import numpy as np
import sympy as sp

from symrnn.derive.equations import Layout, adjoint_equation, adjoint_order
from symrnn.errors import NumericError, SymRNNError
from symrnn.graph.jacobians import symbolic
from symrnn.graph.node import Node, concrete_time, resolve
from symrnn.graph.unroll import unroll
from symrnn.model.declared import Apply, Kind, Model
from symrnn.numeric.evaluate import term_binding, term_steps, written_out
from symrnn.numeric.forward import concrete_shape
from symrnn.numeric.printers import ColumnPrinter, compile_expr
from symrnn.operations import algebra as al
from symrnn.operations.primitives import constant_value
from symrnn.operations.symbols import Basis, Component, IndexSum, J, Label, S, SumOver, T, TotalDerivative, Var


@dataclass(frozen=True)
class VarArg:
    """A compiled rule's argument: variable ``name`` read at template ``time``, or (``adjoint``)
    the total derivative of the loss in it there."""

    name: str
    time: object = None
    adjoint: bool = False


@dataclass(frozen=True)
class LabelArg:
    """A compiled rule's argument, and the key of its value: label ``name`` (``(B,)`` integers)."""

    name: str


@dataclass(frozen=True)
class SizeArg:
    """A compiled rule's argument, and the key of its value: the size ``name`` (``m``, ``K``)."""

    name: str


@dataclass(frozen=True)
class Adjoint:
    """The key of the value of the total derivative of the loss in a node of the graph."""

    node: Node


#: The key of the sizes by name (with n) in a call's store.
_SIZES = "#sizes"


@dataclass(frozen=True)
class _Rule:
    """A compiled expression and how to find each of its arguments at a step."""

    fn: object
    args: tuple[VarArg | LabelArg | SizeArg, ...]
    scalar: object = None  # a number standing for c I, when the expression is one


@dataclass(frozen=True)
class _SumRule:
    """The forward rule of a sum over t (``L = \\sum_t L_t``): its steps are added up."""


def _describe(a) -> VarArg | LabelArg | SizeArg:
    if isinstance(a, Var):  # a TotalDerivative is a Var too
        return VarArg(a.name, a.time, isinstance(a, TotalDerivative))
    if isinstance(a, Label):
        return LabelArg(a.name)
    return SizeArg(str(a))


@dataclass(frozen=True)
class _Indexed:
    """A rule with a sum over the second index j, or over a reader's steps s (attention): compiled for
    each length, the sum written out (and for each step s), when the steps are planned."""

    expr: object
    bindings: tuple

    def at(self, n: int, i: int | None, indices: dict) -> _Rule:
        """The rule for length ``n`` (label position ``i``), the indices in ``indices`` bound (``{S: 2, T: 3}``).

        The written-out expressions of the steps differ only in the variables they read and the steps they pick
        (``\\alpha_{s,t}``), so each is compiled in a form with those as arguments: once per length, not once per
        pair of steps (Luong's attention at n = 30: 1,804 compilations, 5 s, before).
        """
        expr = written_out(self.expr, n, i, indices)
        if al.is_scalar(expr):
            return _Rule(None, (), sp.sympify(expr))
        canonical, originals = _canonical(expr)
        rule = _compile(canonical, self.bindings)
        return _Rule(rule.fn, tuple(originals.get(a, a) for a in rule.args), rule.scalar)


@dataclass(frozen=True)
class IntArg:
    """A compiled rule's argument that is a number known when the steps are planned (a step ``j`` picked)."""

    value: int


def _canonical(expr) -> tuple:
    """``expr`` with each variable replaced by a placeholder, in the order it is first read, and each step picked
    (``Component(a, 3)``) by a symbol; and the arguments the placeholders stand for."""
    mapping: dict = {}
    originals: dict = {}
    for node in sp.preorder_traversal(expr):
        if isinstance(node, Var) and node not in mapping:
            mapping[node] = Var(f"p{len(mapping)}", None, *node.shape, "p")
            originals[VarArg(mapping[node].name)] = _describe(node)
    expr = expr.xreplace(mapping)
    steps: dict = {}

    def picked(e) -> bool:
        return isinstance(e, (Component, Basis)) and isinstance(e.label, sp.Integer)

    def placeholder(e):
        if e.label not in steps:
            steps[e.label] = sp.Symbol(f"_l{len(steps)}")
            originals[SizeArg(str(steps[e.label]))] = IntArg(int(e.label))
        return e.func(e.args[0], steps[e.label]) if isinstance(e, Component) else Basis(steps[e.label], e.args[1])

    return expr.replace(picked, placeholder), originals


@lru_cache(maxsize=4096)
def _compile(expr, bindings: tuple) -> _Rule | _Indexed:
    if al.is_scalar(expr):
        return _Rule(None, (), sp.sympify(expr))
    if expr.has(J, S, IndexSum):
        return _Indexed(expr, bindings)
    fn, args = compile_expr(expr, bindings, ColumnPrinter)
    return _Rule(fn, tuple(_describe(a) for a in args))


@dataclass
class Result:
    """What a compiled gradient returns: per-sequence losses and the gradients.

    ``loss`` is ``(B,)``; ``gradients`` maps each parameter's identifier to the gradient of
    the *summed* loss, shaped like the parameter, and each asked-for input node to
    ``(size, B)``, one column per sequence. With ``keep_values``, ``values`` maps each node of
    the graph to its forward value and ``adjoints`` each node on a path to the loss to the total
    derivative of the loss in it, ``(size, B)``: the recursion's values at every step, and a
    vector parameter's gradient for each sequence (an initial state's); ``steps`` maps each
    parameter to its gradient's term at each step (the closed form's summand; ``None`` for a
    term outside the loops).
    """

    loss: object
    gradients: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    adjoints: dict = field(default_factory=dict)
    steps: dict = field(default_factory=dict)  # parameter -> {t: that step's term of its gradient}


class CompiledGradient:
    """``d loss / d parameters`` of ``model`` for a batch, by the compiled factored form.

    Every rule (each equation, each term of each total derivative and of each closed form,
    denominator layout) is compiled once, here; a call walks the steps forward and backward for
    a batch kept in columns. Call it as ``f(params, inputs, labels, n, i=None)``: ``params`` maps
    identifiers to ``(rows, cols)`` arrays, ``inputs`` each input to ``(n, size, B)`` (a
    sequence) or ``(size, B)``, ``labels`` each label to ``(B,)`` integers in ``1..K``. It
    returns a :class:`Result`: ``loss`` ``(B,)`` and ``gradients``, each parameter's gradient
    of the summed loss, shaped like the parameter.

    Parameters
    ----------
    model : Model
        The declared model.
    bindings : dict, optional
        Concrete functions for abstract ones (``{"g": "tanh"}``).
    xp : array namespace, optional
        An array module given directly (:class:`~symrnn.numeric.exact.ExactArrays` for exact mode).
    backend : str
        Else the backend by name: "numpy" (default), "jax", "torch" or "cupy"
        (:mod:`symrnn.numeric.backends`).

    Attributes
    ----------
    model : Model
        The model, as given.
    backend : str
        The backend's name (or the array module's, for ``xp``).
    xp : module
        The array module the rules run on.
    parameters : list of str
        The parameters' identifiers, the keys of ``Result.gradients``.

    Raises
    ------
    NumericError
        When the model applies an abstract function that ``bindings`` does not bind, or a backend
        is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> from symrnn import zoo
    >>> f = CompiledGradient(zoo.elman(), {"g": "tanh"})
    >>> rng = np.random.default_rng(0)
    >>> m, d, K, n, B = 3, 2, 4, 5, 8
    >>> params = {"W_hx": rng.normal(size=(m, d)), "W_hh": rng.normal(size=(m, m)), "b_h": rng.normal(size=(m, 1)),
    ...           "h0": np.zeros((m, 1)), "V": rng.normal(size=(K, m)), "gamma": np.zeros((K, 1))}
    >>> out = f(params, {"x": rng.normal(size=(n, d, B))}, {"y": rng.integers(1, K + 1, size=B)}, n)
    >>> out.loss.shape, out.gradients["W_hx"].shape
    ((8,), (3, 2))
    >>> f.parameters, sorted(out.gradients) == sorted(f.parameters)
    (['W_hx', 'W_hh', 'b_h', 'h0', 'V', 'gamma'], True)
    """

    def __init__(self, model: Model, bindings: dict | None = None, xp=None, backend: str = "numpy"):
        from symrnn.numeric.backends import array_module

        self.model = model
        self.backend = backend if xp is None else getattr(xp, "__name__", type(xp).__name__)
        self.bindings = tuple(sorted((bindings or {}).items()))
        for fname in model.abstract_functions:
            if fname not in dict(self.bindings):
                raise NumericError(f"{fname} is abstract; bind it to a concrete function, e.g. bindings={{'{fname}': "
                                   "'tanh'}")
        self.xp = xp if xp is not None else array_module(backend)
        self.forward_rules = {}
        for d in model.definitions:
            expr = symbolic(model, d.expr)
            if isinstance(d.expr, Apply) and d.expr.prim.over is not None:
                self.forward_rules[d.target] = _SumRule()
                continue
            if expr.atoms(SumOver):
                raise SymRNNError(f"a sum over t must be a whole definition (L = \\sum_t L_t), as in {d.target}")
            self.forward_rules[d.target] = _compile(expr, self.bindings)
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
        eq = adjoint_equation(self.model, name, Layout.DENOMINATOR)
        return [(term, _compile(term.expr, self.bindings)) for term in eq.terms]

    # -- planning: what each step computes, from which values (once per n and i) ----------
    @property
    def last_graph(self) -> nx.DiGraph:
        """The unrolled graph of the last call (its nodes are the keys of ``Result.values``)."""
        return next(iter(self._graphs.values())).graph

    def _plan(self, n: int, i: int | None) -> _Plan:
        key = (n, i)
        if key not in self._graphs:
            self._graphs = {key: _Plan.make(self, n, i)}  # keep one: a new length replaces the last
        return self._graphs[key]

    # -- running --------------------------------------------------------------------------
    def __call__(self, params: dict, inputs: dict, labels: dict | None = None, n: int | None = None,
                 i: int | None = None, wrt_inputs: bool = False, keep_values: bool = False) -> Result:
        """Run the compiled gradient.

        ``params`` maps identifiers to ``(rows, cols)`` arrays; ``inputs`` maps each input's
        identifier to ``(n, size, B)`` (a sequence) or ``(size, B)``; ``labels`` maps each
        label to ``(B,)`` integers in ``1..K``. ``n`` defaults to the inputs' length.
        """
        xp, model = self.xp, self.model
        timed = {v.name for v in model.variables if v.kind is Kind.LABEL and v.timed}
        labels = {k: np.asarray(v) if k in timed else np.asarray(v).reshape(-1) for k, v in (labels or {}).items()}
        batch, n = self._shapes(inputs, labels, n)
        plan = self._plan(n, i)
        sizes = self._sizes(params, inputs)
        labels = {k: self._labels(k, v, sizes) for k, v in labels.items()}
        store: dict = {LabelArg(k): v for k, v in labels.items() if k not in timed}
        for k in timed & set(labels):  # a label per step, (steps, B): read as a variable at its step
            steps = list(model.var(k).loop.range(n, i))
            if labels[k].ndim != 2 or labels[k].shape[0] != len(steps):
                raise NumericError(f"the labels {model.var(k).display(T)} are one row of B labels per step "
                                   f"({len(steps)} steps), got shape {labels[k].shape}")
            store.update({Node(k, t): labels[k][s].reshape(1, -1) for s, t in enumerate(steps)})
        store.update({SizeArg(k): v for k, v in sizes.items()})
        store[SizeArg("n")] = n  # the length, for constants such as 1/n
        store[_SIZES] = {**sizes, "n": n}  # the same by name, for the constant terms (read at every step)
        for name, value in params.items():
            store[Node(name)] = xp.asarray(value)
        for p in model.parameters:
            if Node(p.name) not in store:
                raise NumericError(f"no value for the parameter {p.latex} ({p.name})")
        for v in model.inputs:
            if v.name not in inputs:
                raise NumericError(f"no value for the input {v.latex} ({v.name})")
            data = xp.asarray(inputs[v.name])
            if v.timed:
                steps = list(v.loop.range(n, i))
                if len(steps) and (np.ndim(data) != 3 or data.shape[0] < max(steps)):
                    raise NumericError(f"the input {v.display(T)} is a sequence of (steps, size, B): {max(steps)} "
                                       f"steps at least for n = {n}, got shape {tuple(np.shape(data))}")
                for t in steps:
                    store[Node(v.name, t)] = data[t - 1]
            else:
                store[Node(v.name)] = data
        for target, fn, keys in plan.forward:
            if fn is None:  # a sum over t, times its constant (a mean: 1/n)
                store[target] = sum(store[k] for k in keys)
                factor = model.definition(target.name).expr.prim.constant
                if factor is not None:
                    store[target] = constant_value(factor, {**sizes, "n": n}, store[target]) * store[target]
            else:
                store[target] = fn(xp, *[k.value if isinstance(k, IntArg) else store[k] for k in keys])
        loss_node = plan.graph.graph["loss"]
        store[Adjoint(loss_node)] = xp.ones((1, batch))
        shapes = {name: self._shape(name, store[_SIZES]) for name in plan.shaped}
        for target, name, calls in plan.backward:
            store[target] = self._sum(calls, store, shapes[name], batch, True)
        grads, steps = {}, {}
        for name, calls in plan.parameters:
            by_step: dict = {}
            for call in calls if keep_values else ():  # each step's term, kept: the total is their sum
                by_step.setdefault(call[3], []).append(call)
            parts = {t: self._sum(group, store, shapes[name], batch, False) for t, group in by_step.items()}
            total = sum(parts.values()) if parts else self._sum(calls, store, shapes[name], batch, False)
            if keep_values:
                steps[name] = {t: self._batch_sum(part, shapes[name]) for t, part in parts.items()}
            if shapes[name][1] == 1 and total.shape[1] == batch:
                store[Adjoint(Node(name))] = total  # a vector parameter's, one column per sequence
            grads[name] = self._batch_sum(total, shapes[name])
        if wrt_inputs:
            for node, name, calls in plan.inputs(self):
                grads[node] = self._sum(calls, store, self._shape(name, store[_SIZES]), batch, True)
        loss = store[loss_node].reshape(batch)
        values = {k: v for k, v in store.items() if isinstance(k, Node)} if keep_values else {}
        adjoints = {k.node: v for k, v in store.items() if isinstance(k, Adjoint)} if keep_values else {}
        return Result(loss, grads, values, adjoints, steps)

    def _batch_sum(self, total, shape):
        """A vector parameter's term summed over the batch's columns, as its gradient is."""
        if shape[1] == 1 and total.shape[1] != 1:
            return self.xp.sum(total, axis=1, keepdims=True)
        return total

    def _sum(self, calls, store, shape, batch: int, per_sample: bool):
        xp = self.xp
        full = (shape[0], batch) if per_sample else shape
        total = None
        for fn, keys, scalar, *_ in calls:
            if fn is None:
                exact = np.empty(0, dtype=object) if getattr(xp, "exact", False) else None  # Fractions stay exact
                number = constant_value(scalar, store[_SIZES], exact)
                part = xp.ones(full) * number
            else:
                part = fn(xp, *[k.value if isinstance(k, IntArg) else store[k] for k in keys])
            total = part if total is None else total + part
        if total is None:
            return xp.zeros(full)
        if per_sample and total.shape != full:  # a term made of parameters only: the same for every sequence
            total = xp.broadcast_to(total, full)
        return total

    def _labels(self, name: str, values, sizes: dict):
        """The labels of ``name`` as integers, checked to be whole numbers in ``1..K``."""
        decl = self.model.var(name) if name in {v.name for v in self.model.variables} else None
        if decl is None or decl.kind is not Kind.LABEL:
            raise NumericError(f"{name!r} is not a label of {self.model.name}")
        shown = decl.display(T) if decl.timed else decl.latex
        try:  # the labels as the user wrote them, one list (a label per step is an (n, 1) array here)
            given = np.asarray(values).reshape(-1).tolist()
        except (TypeError, ValueError):
            given = values
        try:
            number = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise NumericError(f"the label {shown} must be whole numbers, got {values!r}") from None
        bad = number.dtype == bool or np.asarray(values).dtype == bool or not np.all(np.isfinite(number)) \
            or not np.all(number == np.round(number))
        if bad:
            raise NumericError(f"the label {shown} must be whole numbers in 1..K, got {given}")
        size = decl.shape[0]
        K = int(size) if size.is_Integer else sizes.get(str(size))
        if K is not None and not np.all((number >= 1) & (number <= K)):
            raise NumericError(f"the label {shown} must be in 1..{K} ({size} = {K}), got {given}")
        return number.astype(np.int64)

    def _shape(self, name: str, sizes: dict) -> tuple:
        return concrete_shape(self.model, name, sizes)

    def _input_terms(self, name: str):
        if name not in self.equations:
            self.equations[name] = self._terms(name)
        return self.equations[name]

    def _shapes(self, inputs: dict, labels: dict, n: int | None) -> tuple:
        batch = None
        for v in self.model.inputs:
            if v.name in inputs:
                shape = np.shape(inputs[v.name])
                batch = shape[-1]
                if v.timed and n is None and v.loop.start == 1 and str(v.loop.stop) == "n":
                    n = shape[0]
                break
        if batch is None:
            batch = next((np.shape(y)[-1] for y in labels.values()), 1)
        if n is None:
            raise NumericError("give n: no input sequence says how long the sequences are")
        return batch, n

    def _sizes(self, params: dict, inputs: dict) -> dict:
        sizes: dict = {}
        for decl in self.model.variables:
            value = params.get(decl.name) if decl.kind is Kind.PARAMETER else inputs.get(decl.name)
            if value is None or np.size(value) == 0:  # an empty sequence (the tagger's tags at i = 1)
                continue
            shape = (np.shape(value)[-2], 1) if decl.kind is Kind.INPUT else np.shape(value)
            for sym, actual in zip(decl.shape, shape, strict=False):
                if sym.is_Symbol:
                    if sizes.setdefault(str(sym), actual) != actual:
                        raise NumericError(f"{decl.latex} says {sym} = {actual}, but another value says "
                                           f"{sym} = {sizes[str(sym)]}")
        return sizes


@dataclass
class _Plan:
    """For one (n, i): every step's compiled rule and the keys of its arguments, in order."""

    graph: nx.DiGraph
    forward: list
    backward: list
    parameters: list
    shaped: set
    n: int
    i: int | None

    @classmethod
    def make(cls, engine: CompiledGradient, n: int, i: int | None) -> _Plan:
        model = engine.model
        G = unroll(model, n, i)
        order = list(nx.topological_sort(G))
        forward: list = []
        done = {v for v in G if G.nodes[v]["kind"] in (Kind.PARAMETER, Kind.INPUT)}

        def key(described, t):
            if isinstance(described, VarArg) and described.adjoint:
                time = described.time
                return Adjoint(Node(described.name, None if time is None else concrete_time(time, n, t, i)))
            if isinstance(described, VarArg):
                decl, at = resolve(model, described.name, described.time, n, t, i)
                return plan_node(decl.name, at) if decl.kind is Kind.INTERIM else Node(decl.name, at)
            return described

        def plan_node(name, t):
            target = Node(name, t)
            if target in done:
                return target
            rule = engine.forward_rules[name]
            if isinstance(rule, _SumRule):
                arg = model.definition(name).expr.args[0]
                forward.append((target, None, [Node(arg.name, s) for s in model.var(arg.name).loop.range(n, i)]))
            else:
                if isinstance(rule, _Indexed):
                    rule = rule.at(n, i, {})
                forward.append((target, rule.fn, [key(a, t) for a in rule.args]))
            done.add(target)
            return target

        for node in order:
            if G.nodes[node]["kind"] in (Kind.STATE, Kind.DEFINED):
                plan_node(node.name, node.t)
        plan = cls(G, forward, [], [], set(), n, i)
        loss = G.graph["loss"]
        for node in reversed(order):
            if node.name in engine.equations and node != loss and G.nodes[node]["kind"] in (Kind.STATE, Kind.DEFINED):
                plan.backward.append((Adjoint(node), node.name, plan.calls(engine.equations[node.name], node.t, key)))
                plan.shaped.add(node.name)
        for name in engine.parameters:
            plan.parameters.append((name, plan.calls(engine.equations[name], None, key)))
            plan.shaped.add(name)
        plan._key = key
        return plan

    def calls(self, equation, tau, key) -> list:
        """The compiled terms of an equation at time ``tau``, with their argument keys."""
        out = []
        for term, rule in equation:
            for t in term_steps(self.graph, term, tau):
                here, at = rule, t
                if isinstance(rule, _Indexed):  # attention: j and a reader's steps s bound, sums written out
                    indices, at = term_binding(term, t, tau)
                    here = rule.at(self.n, self.i, indices)
                out.append((here.fn, [key(a, at) for a in here.args], here.scalar, t))
        return out

    def inputs(self, engine) -> list:
        """The input nodes' compiled gradient terms (planned on first use)."""
        if not hasattr(self, "_inputs"):
            self._inputs = [(node, node.name, self.calls(engine._input_terms(node.name), node.t, self._key))
                            for node in self.graph if self.graph.nodes[node]["kind"] is Kind.INPUT]
        return self._inputs
