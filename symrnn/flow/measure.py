"""How far the gradient reaches back: the norms of the total derivatives at every step.

For a model's state ``h`` (the one its output reads, or the one asked for), at every step t of
its loop, over random draws and at several scales of the recurrent weights:

* ``||dL/dh_t||``, the 2-norm of the total derivative of the loss in ``h_t``: the recursion's
  values, read from the compiled gradient (:class:`~symrnn.numeric.engine.CompiledGradient`);
* ``||dh_n/dh_t||_2``, the spectral norm of the product of the Jacobians ``B^t`` that the path sum
  names (all paths from ``h_t`` to ``h_n``, through the other states too): the compiled gradient
  of a probe loss ``u^T h_n``, for a batch whose columns ``u`` are the unit vectors, gives its rows
  at every step in one pass.

A scale ``S`` sets the recurrent weights (every parameter multiplied with a state read one step
back, :func:`recurrent_weights`) to spectral radius ``S``; the other matrices are drawn
``N(0, 1/columns)``, vectors are zero (biases) or one (:func:`gains`, a normalisation's gain) and
scalars ``N(0, 1)``; inputs ``N(0, 1)``.
Everything is float64. :func:`finite_difference_check` recomputes both norms from the forward pass
alone, by central differences, at a small ``n``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import sympy as sp

from symrnn.errors import NumericError, SpecError
from symrnn.graph.node import Node
from symrnn.model.declared import Apply, Definition, Kind, Model, Ref, VarDecl, refs
from symrnn.numeric.forward import concrete_shape, point_from_arrays
from symrnn.operations.primitives import INNER
from symrnn.operations.symbols import T, canonical

#: The quantiles of the band drawn around the median.
BAND = (0.1, 0.9)


@dataclass(frozen=True)
class Curve:
    """The measured norms of one model at one scale.

    Attributes
    ----------
    model, title : str
        The model's name and title.
    n : int
        The sequence length.
    state : str
        The state measured (its identifier).
    state_latex, last_latex, loss_latex : str
        Display names: the state at ``t`` (``h_{t}``) and at its last step (``h_{n}``), the loss.
    scale : float
        The spectral radius of the recurrent weights.
    steps : numpy.ndarray
        The steps ``t``, in the loop's order; the first is the initial state when it is a
        parameter.
    loss_grad, jacobian : numpy.ndarray
        ``(draws, steps)``: ``||dL/dh_t||`` (``||dL/dx_t||`` for an input sequence asked with
        ``wrt``; NaN at a step it lacks) and ``||dh_n/dh_t||_2`` for each draw.
    bound : numpy.ndarray or None
        ``(draws, steps)``: the theoretical bound on ``||dh_n/dh_t||_2`` for each draw
        (:mod:`symrnn.flow.bound`), or None where theory gives none for the model.
    bound_latex : str or None
        The bound as a formula.
    """

    model: str
    title: str
    n: int
    state: str
    state_latex: str
    last_latex: str
    loss_latex: str
    scale: float
    steps: np.ndarray
    loss_grad: np.ndarray
    jacobian: np.ndarray
    bound: np.ndarray | None = None
    bound_latex: str | None = None
    wrt_latex: str | None = None  # what loss_grad is of, when not the state: x_{t}, or "W^{hx} at t"

    def summary(self, which: str = "jacobian") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The median and the band (quantiles :data:`BAND`) over the draws, at each step."""
        values = getattr(self, which)
        with np.errstate(invalid="ignore"):  # norms beyond float64 (inf) give an inf or NaN quantile
            return (np.median(values, axis=0), np.quantile(values, BAND[0], axis=0),
                    np.quantile(values, BAND[1], axis=0))

    @property
    def bound_respected(self) -> bool | None:
        """Whether every draw's norm is at most its bound (to rounding), or None without a bound.

        Where the bound is beyond float64 (an overflow) it holds; where only the norm is, it does not."""
        if self.bound is None:
            return None
        j, b = self.jacobian, self.bound
        held = np.where(np.isfinite(b), j <= b * (1 + 1e-9) + 1e-300, True)
        return bool(np.all(held & ~np.isnan(j)))

    @property
    def overflowed(self) -> int:
        """How many of the measured norms are beyond float64's range (infinite)."""
        return int(np.sum(np.isinf(self.loss_grad)) + np.sum(np.isinf(self.jacobian)))

    def zero_steps(self) -> list[int]:
        """The steps where ``dL/dh_t`` is exactly 0 in every draw: the loss does not read them."""
        return [int(t) for t, column in zip(self.steps, self.loss_grad.T, strict=True) if np.all(column == 0)]


def flow_state(model: Model, name: str | None = None) -> VarDecl:
    """The state to measure: ``name``, else the one an equation outside the loops reads at its last step
    (the output's ``h_n``), else the first state.

    Examples
    --------
    >>> from symrnn import zoo
    >>> flow_state(zoo.lstm()).name, flow_state(zoo.elman()).name
    ('h', 'h')
    """
    states = [v for v in model.variables if v.kind is Kind.STATE]
    if not states:
        raise SpecError(f"model {model.name!r} has no state over time: there is no gradient flow to measure")
    if name is not None:
        wanted = canonical(name)
        for decl in states:
            index = sp.Symbol(decl.loop.index, integer=True)
            if wanted in (decl.name, canonical(decl.display(T)), canonical(decl.display(index))):
                return decl
        raise SpecError(f"{name} is not a state of {model.name}; its states: "
                        f"{', '.join(s.display(sp.Symbol(s.loop.index)) for s in states)}")
    for d in model.definitions:
        if model.var(d.target).timed:
            continue
        for r in refs(d.expr):
            decl = model.var(r.name)
            if decl.kind is Kind.STATE and r.time is not None and sp.sympify(r.time) == decl.loop.last:
                return decl
    return states[0]


#: Operations through which a recurrent weight still multiplies the previous state itself (not a
#: function of it): ``U (r \odot h_{t-1})``, ``W (h_{t-1} + x_t)``.
_LINEAR = ("hadamard", "add", "neg", "one_minus", "CONCAT")


def _multiplies_previous_state(model: Model, expr) -> bool:
    """Whether ``expr`` is the state one step back, up to the operations of :data:`_LINEAR` and interims."""
    if isinstance(expr, Ref):
        decl = model.var(expr.name)
        if expr.time is None:
            return False
        if decl.kind is Kind.STATE:
            return sp.sympify(expr.time) - T == -decl.loop.step
        if decl.kind is Kind.INTERIM and sp.sympify(expr.time) == T:
            return _multiplies_previous_state(model, model.definition(expr.name).expr)
        return False
    if expr.prim.name in _LINEAR or expr.prim.name.startswith("scale "):
        return any(_multiplies_previous_state(model, a) for a in expr.args)
    return False


def _products(model: Model):
    """Every ``(parameter, other operand)`` of a matrix product or ``\\odot`` in the model's equations."""
    def visit(expr):
        if not isinstance(expr, Apply):
            return
        if expr.prim.name in ("matvec", "hadamard") and len(expr.args) == 2:
            for weight, other in (expr.args, expr.args[::-1]):
                if isinstance(weight, Apply) and weight.prim.name == "divide" and expr.prim.name == "hadamard":
                    weight = weight.args[0]  # (g / sigma_t) \odot (a_t - mu_t): g multiplies elementwise
                if isinstance(weight, Ref) and model.var(weight.name).kind is Kind.PARAMETER:
                    yield expr.prim.name, weight.name, other
        for a in expr.args:
            yield from visit(a)

    for d in model.definitions:
        yield from visit(d.expr)


def recurrent_weights(model: Model) -> list[str]:
    """The parameters that multiply (a matrix product or ``\\odot``) the state one step back.

    Examples
    --------
    >>> from symrnn import zoo
    >>> recurrent_weights(zoo.elman()), recurrent_weights(zoo.lstm())
    (['W_hh'], ['Wh_f', 'Wh_i', 'Wh_c', 'Wh_o'])
    """
    found: list[str] = []
    for _, weight, other in _products(model):
        if weight not in found and _multiplies_previous_state(model, other):
            found.append(weight)
    return found


def gains(model: Model) -> list[str]:
    """The vector parameters that multiply something other than a state elementwise and are not recurrent
    weights (a normalisation's gain): drawn as ones, as they are initialised, where a bias is zero."""
    recurrent = recurrent_weights(model)
    return list(dict.fromkeys(w for prim, w, other in _products(model) if prim == "hadamard" and w not in recurrent
                              and not (isinstance(other, Ref) and model.var(other.name).kind is Kind.STATE)))


def draw_parameters(model: Model, sizes: dict, scale: float, rng: np.random.Generator) -> dict:
    """Random parameters with the recurrent weights at spectral radius ``scale`` (module docstring)."""
    recurrent, gain = set(recurrent_weights(model)), set(gains(model))
    params = {}
    for p in model.parameters:
        rows, cols = concrete_shape(model, p.name, sizes)
        if p.name in recurrent:
            g = rng.standard_normal((rows, cols))
            radius = np.max(np.abs(np.linalg.eigvals(g))) if rows == cols and rows > 1 else np.max(np.abs(g))
            params[p.name] = scale * g / radius
        elif rows == 1 and cols == 1:
            params[p.name] = rng.standard_normal((1, 1))
        elif cols == 1:
            params[p.name] = np.ones((rows, 1)) if p.name in gain else np.zeros((rows, 1))
        else:
            params[p.name] = rng.standard_normal((rows, cols)) / np.sqrt(cols)
    return params


def draw_inputs(model: Model, sizes: dict, n: int, rng: np.random.Generator, i: int | None = None):
    """Random inputs ``N(0, 1)`` (one-hot where declared so) and labels, for one sequence."""
    inputs, labels = {}, {}
    for v in model.variables:
        if v.kind is Kind.INPUT:
            rows = concrete_shape(model, v.name, sizes)[0]
            steps = max(v.loop.range(n, i), default=0) if v.timed else None
            shape = ((steps,) if v.timed else ()) + (rows, 1)
            value = rng.standard_normal(shape)
            if v.onehot:
                value = np.zeros(shape)
                hot = rng.integers(rows, size=shape[:-2])
                np.put_along_axis(value, hot.reshape(shape[:-2] + (1, 1)), 1.0, axis=-2)
            inputs[v.name] = value
        elif v.kind is Kind.LABEL:
            classes = int(v.shape[0].subs({s: sizes[str(s)] for s in model.sizes}))
            labels[v.name] = rng.integers(1, classes + 1, size=(n, 1) if v.timed else (1,))
    return inputs, labels


def probe_model(model: Model, state: VarDecl) -> Model:
    """``model`` with the loss ``u^T h_n``: ``h_n`` the state at its last step, ``u`` a new input."""
    taken = {v.name for v in model.variables}
    u, J = "flow_u", "flow_J"
    while u in taken or J in taken:
        u, J = u + "_", J + "_"
    probe = VarDecl(u, Kind.INPUT, state.shape, "u")
    loss = VarDecl(J, Kind.DEFINED, (sp.S.One, sp.S.One), "J")
    definition = Definition(J, Apply(INNER, (Ref(u), Ref(state.name, state.loop.last))))
    needed, todo = set(), [state.name]
    while todo:  # what h_n is computed from: the output and the losses are left out
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        decl = model.var(name)
        if decl.init is not None:
            todo.append(decl.init)
        if decl.kind in (Kind.STATE, Kind.DEFINED, Kind.INTERIM):
            todo += [r.name for r in refs(model.definition(name).expr)]
    keep = tuple(v for v in model.variables if v.name in needed or v.kind in (Kind.PARAMETER, Kind.INPUT))
    return replace(model, variables=keep + (probe, loss),
                   definitions=tuple(d for d in model.definitions if d.target in needed) + (definition,), loss=J)


def norm2(a) -> float:
    """The 2-norm of a vector (its largest singular value for a matrix), scaled first, so that it
    neither underflows (entries below 1e-154) nor overflows; ``inf`` if an entry is, NaN if one is."""
    a = np.asarray(a, dtype=float)
    if not np.all(np.isfinite(a)):
        return float("nan") if np.any(np.isnan(a)) else float("inf")
    largest = float(np.max(np.abs(a))) if a.size else 0.0
    if largest == 0.0:
        return 0.0
    scaled = a / largest
    value = np.linalg.norm(scaled, 2) if scaled.ndim == 2 and min(scaled.shape) > 1 else np.linalg.norm(scaled)
    return float(largest * value)


def _initial(model: Model, state: VarDecl) -> str | None:
    """The parameter the state starts from, if it starts from one."""
    if state.init is not None and model.var(state.init).kind is Kind.PARAMETER:
        return state.init
    return None


def measure(model: Model, n: int, scales=(1.0,), draws: int = 5, sizes: dict | None = None,
            bindings: dict | None = None, state: str | None = None, seed: int = 0, i: int | None = None,
            progress=None, wrt: str | None = None) -> list[Curve]:
    """The norms of the gradient reaching every step, at each scale, over ``draws`` random draws.

    Parameters
    ----------
    model : Model
        The declared model (abstract functions bound by ``bindings``).
    n : int
        The sequence length.
    scales : sequence of float
        Spectral radii of the recurrent weights.
    draws : int
        Random draws (parameters and inputs) per scale.
    sizes : dict, optional
        An integer per size of the model; 8 for each one not given.
    bindings : dict, optional
        Concrete functions for abstract ones (``{"g": "tanh"}``).
    state : str, optional
        The state to measure (:func:`flow_state` chooses by default).
    seed : int
        The seed of the draws.
    i : int, optional
        The label position, for models that read one.
    progress : callable, optional
        Called with no argument after each draw.
    wrt : str, optional
        An input sequence (``x``, ``x_{t}``, ``x_1``): ``loss_grad`` is then ``||dL/dx_t||``, the
        impact of each step's input on the loss; or a parameter of the recurrence (``W^{hx}``): the
        norm of its gradient's term at each step (``\\delta_t x_t^\\top``), what each step adds to it.

    Returns
    -------
    list of Curve
        One per scale.

    Examples
    --------
    >>> from symrnn import zoo
    >>> curve, = measure(zoo.scalar(), 5, scales=[0.5], draws=2)
    >>> [float(v) for v in curve.jacobian[0]]  # |w_h|^(n-t): w_h = 0.5
    [0.03125, 0.0625, 0.125, 0.25, 0.5, 1.0]
    >>> curve.bound_respected
    True
    """
    from symrnn.flow.bound import recurrence_bound
    from symrnn.numeric.engine import CompiledGradient

    scales = [float(s) for s in scales]
    if not scales or not all(np.isfinite(s) and 0 < s <= 100 for s in scales):
        raise SpecError(f"each scale is a spectral radius in (0, 100], got {scales}")
    unknown = sorted(set(sizes or {}) - {str(s) for s in model.sizes})
    if unknown:
        raise SpecError(f"{model.name} has no size {', '.join(unknown)}; its sizes: "
                        f"{', '.join(str(s) for s in model.sizes) or 'none'}")
    if not isinstance(draws, int) or draws < 1:
        raise SpecError(f"draws must be a positive integer, got {draws!r}")
    if not recurrent_weights(model) and any(s != 1.0 for s in scales):
        raise SpecError(f"model {model.name!r} has no recurrent weight (a parameter multiplied with a state one step "
                        "back), so a scale has nothing to set; leave --scale out")
    decl = flow_state(model, state)
    sizes = {str(s): (sizes or {}).get(str(s), 8) for s in model.sizes}
    compiled = CompiledGradient(model, bindings)
    probe = CompiledGradient(probe_model(model, decl), bindings)
    keys = _keys(model, decl, n, i)
    steps = [k.t for k in keys if k.t is not None]
    shown = ([0 if decl.loop.step == 1 else steps[0] + 1] if keys[0].t is None else []) + steps  # h_0 or eta_{n+1}
    bound = recurrence_bound(model, decl, bindings)
    wrt_decl = flow_input(model, wrt) if wrt is not None else None
    curves = []
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):  # overflow is reported
        for scale in scales:
            rng = np.random.default_rng([seed, int(round(scale * 1e6))])
            norms = []
            for _ in range(draws):
                norms.append(_draw(model, n, scale, sizes, decl, compiled, probe, keys, rng, i, wrt_decl, bound))
                if progress is not None:
                    progress()
            loss_grad, jacobian, limits = (np.array([d[k] for d in norms]) for k in range(3))
            curves.append(Curve(model.name, model.title, n, decl.name, decl.display(T),
                                decl.display(decl.loop.last), model.var(model.loss).latex, float(scale),
                                np.array(shown), loss_grad, jacobian, limits if bound is not None else None,
                                bound.latex if bound is not None else None,
                                None if wrt_decl is None else wrt_decl.display(T) if wrt_decl.timed else
                                f"{wrt_decl.latex}\\text{{ at }}t"))
    return curves


def flow_input(model: Model, name: str) -> VarDecl:
    """What ``--wrt`` names: an input sequence (``x``, ``x_{t}``, ``x_1``, ``x^{(1)}``) or a parameter read in
    a loop (its gradient's term at each step), with a clear error otherwise."""
    wanted = canonical(name)
    sequences = [v for v in model.inputs if v.timed]
    for v in sequences:
        forms = {v.name, canonical(v.display(T)), canonical(v.latex)}
        if wanted in forms or any(wanted == canonical(v.display(t)) for t in (0, 1, 2)):
            return v
    for p in model.parameters:
        if wanted in (p.name, canonical(p.latex)):
            return p
    raise SpecError(f"{name} is not an input sequence or a parameter of {model.name}; its input sequences: "
                    f"{', '.join(v.display(T) for v in sequences) or 'none'}, its parameters: "
                    f"{', '.join(p.latex for p in model.parameters)} (--state chooses the state)")


def _keys(model: Model, decl: VarDecl, n: int, i: int | None) -> list[Node]:
    """The nodes of the state measured, in its loop's order: its initial state first when it is a parameter."""
    start = _initial(model, decl)
    return ([Node(start)] if start else []) + [Node(decl.name, t) for t in decl.loop.range(n, i)]


def _draw(model, n, scale, sizes, decl, compiled, probe, keys, rng, i, wrt=None, bound=None):
    """One draw's norms at every step: ``(dL/dh_t, dh_n/dh_t, bound)``."""
    rows = concrete_shape(model, decl.name, sizes)[0]
    params = draw_parameters(model, sizes, scale, rng)
    inputs, labels = draw_inputs(model, sizes, n, rng, i)
    by_input = wrt is not None and wrt.kind is Kind.INPUT
    out = compiled(params, inputs, labels, n, i, keep_values=True, wrt_inputs=by_input)
    if any(np.any(np.isnan(np.asarray(v))) for v in out.values.values()):
        raise NumericError(f"the forward pass of {model.name} gives NaN at scale {scale:g}: a function is evaluated "
                           "outside its domain (the log or square root of a negative number) or the states overflow; "
                           "choose another function (--g), smaller scales or a shorter n")
    if wrt is None:
        loss_grad = [norm2(out.adjoints[k]) for k in keys]
    elif wrt.kind is Kind.PARAMETER:  # its gradient's term at each step (the closed form's summand)
        terms = out.steps.get(wrt.name, {})
        if not any(t is not None for t in terms):
            raise SpecError(f"{wrt.latex} is read outside the loops: its gradient has no term at a step to show; "
                            "--wrt takes a parameter of the recurrence or an input sequence")
        loss_grad = [norm2(terms[k.t]) if k.t in terms else (float("nan") if k.t is None else 0.0) for k in keys]
    else:  # the input read at each step of the state's loop
        loss_grad = [norm2(out.gradients[Node(wrt.name, k.t)]) if Node(wrt.name, k.t) in out.gradients
                     else float("nan") for k in keys]
    wide = {k: np.repeat(v, rows, axis=-1) for k, v in inputs.items()}
    wide[probe.model.variables[-2].name] = np.eye(rows)
    probe_labels = {v.name for v in probe.model.variables if v.kind is Kind.LABEL}
    wide_labels = {k: np.repeat(v, rows, axis=-1) for k, v in labels.items() if k in probe_labels}
    rows_of = probe(params, wide, wide_labels, n, i if probe.model.positional else None, keep_values=True).adjoints
    jacobian = [norm2(rows_of[k]) for k in keys]
    return loss_grad, jacobian, bound.values(params, len(keys)) if bound is not None else None


def finite_difference_check(model: Model, n: int = 4, scale: float = 1.0, sizes: dict | None = None,
                            bindings: dict | None = None, state: str | None = None, seed: int = 0,
                            i: int | None = None, wrt: str | None = None) -> float:
    """The largest relative difference between :func:`measure`'s norms and the same norms from central
    differences of the forward pass alone (in long double), at one draw of length ``n``.

    A norm below 1e-4 of the largest of its kind is compared relative to that bound instead of
    itself: there the differences are noise (a vanishing gradient's earliest steps).

    Examples
    --------
    >>> from symrnn import zoo
    >>> finite_difference_check(zoo.lstm(), n=3, sizes={"m": 3, "d": 2, "K": 3}) < 1e-6
    True
    """
    from symrnn.graph.unroll import unroll
    from symrnn.numeric.forward import forward

    curve, = measure(model, n, [scale], 1, sizes, bindings, state, seed, i, wrt=wrt)
    decl = flow_state(model, state)
    sizes = {str(s): (sizes or {}).get(str(s), 8) for s in model.sizes}
    rng = np.random.default_rng([seed, int(round(scale * 1e6))])
    params = draw_parameters(model, sizes, scale, rng)
    inputs, labels = draw_inputs(model, sizes, n, rng, i)
    G = unroll(model, n, i)
    point = point_from_arrays(model, params, inputs, labels, sizes, n, i, bindings)
    keys = _keys(model, decl, n, i)
    last = keys[-1]
    base = forward(G, point, dtype=np.longdouble)
    wrt_decl = flow_input(model, wrt) if wrt is not None else None

    def differences(key: Node, outputs: list[Node]) -> list[np.ndarray]:
        """Central differences of each output in ``key`` (a leaf or a computed node), one column per entry."""
        value = np.asarray(point.leaves[key] if key in point.leaves else base[key], dtype=np.longdouble)
        found = [np.zeros((np.asarray(base[o]).size, value.shape[0])) for o in outputs]
        for j in range(value.shape[0]):
            up, down = value.copy(), value.copy()
            up[j] += 1e-6
            down[j] -= 1e-6
            if key in point.leaves:
                hi = forward(G, point.with_leaf(key, up), dtype=np.longdouble)
                lo = forward(G, point.with_leaf(key, down), dtype=np.longdouble)
            else:
                hi = forward(G, point, dtype=np.longdouble, overrides={key: up})
                lo = forward(G, point, dtype=np.longdouble, overrides={key: down})
            for o, out in zip(outputs, found, strict=True):
                out[:, j] = ((hi[o] - lo[o]) / 2e-6).reshape(-1).astype(float)
        return found

    loss_node = G.graph["loss"]
    pairs = {"loss_grad": [], "jacobian": []}
    for k, key in enumerate(keys):
        loss_grad, jac = differences(key, [loss_node, last])
        if wrt_decl is not None:  # an input's; a parameter's terms are tested against torch (tests/flow)
            source = Node(wrt_decl.name, key.t)
            loss_grad = differences(source, [loss_node])[0] if source in point.leaves and key.t is not None else None
        if loss_grad is not None:
            pairs["loss_grad"].append((curve.loss_grad[0, k], norm2(loss_grad)))
        pairs["jacobian"].append((curve.jacobian[0, k], norm2(jac)))
    worst = 0.0
    for found in pairs.values():  # relative to each value, or to 1e-4 of the largest: the differences' noise floor
        if not found:
            continue
        measured, reference = np.array(found).T
        floor = 1e-4 * np.max(np.abs(reference))
        worst = max(worst, float(np.max(np.abs(measured - reference) / np.maximum(np.abs(reference), floor))))
    if not np.isfinite(worst):
        raise NumericError("the finite differences of the flow are not finite")
    return worst
