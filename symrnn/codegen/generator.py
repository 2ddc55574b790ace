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

from symrnn.codegen.backward import Backward
from symrnn.codegen.passes import Passes
from symrnn.codegen.printer import RESERVED, CodePrinter, var_name
from symrnn.codegen.program import (
    Alloc,
    Assign,
    At,
    Blank,
    Comment,
    Condition,
    Labels,
    Name,
    Program,
    Return,
    Steps,
    loop_over,
)
from symrnn.codegen.stacking import Stacking
from symrnn.codegen.timing import py_time, rows, span
from symrnn.codegen.truncation import Truncation
from symrnn.derive.equations import variable_groups
from symrnn.errors import NumericError
from symrnn.graph.jacobians import symbolic
from symrnn.model.declared import Apply, Kind, Model
from symrnn.operations import algebra as al
from symrnn.operations.symbols import Elementwise, T, Var
from symrnn.render.latex import latex


def _condition(parts, step: bool) -> Condition | None:
    return Condition(tuple(parts), step) if parts else None


class Generator(Backward, Passes, Stacking, Truncation):
    """Builds the program of ``model``'s loss and gradients (see the module docstring); with ``truncate``
    (K), the gradients of truncated BPTT (:mod:`symrnn.codegen.truncation`)."""

    def __init__(self, model: Model, bindings: dict, truncate: int | None = None):
        self.model, self.bindings = model, bindings
        self.truncate = truncate
        self.parts: dict = {}  # (variable, k) -> the name of the part [k] of its total derivative
        self.below: dict = {}  # variable -> the name of its parts [0] to [K-1], for an initial state's gradient
        self.program = Program()
        self.functions: set[str] = set()  # the elementwise functions the module calls
        self.taken = {v.name for v in model.variables} | RESERVED | {str(s) for s in model.sizes}
        self.hoisted: dict = {}  # canonical expression -> its Var (a timeline, or a constant)
        self.shared: list = []  # (canonical expression, its Var): products of adjoints kept per step
        self.pending: list = []  # hoisted values the next loop needs, not yet defined
        self.flats: dict = {}  # code of a stack of steps -> the name of it side by side
        self.stacks: dict = {}  # names of parameters -> their stacked matrix
        self.step_products: list = []  # (local, product): computed at the start of the current loop's step
        self.stacking: dict = {}  # a product of one parameter -> its rows of a stacked product
        self.timelines: list = []  # timelines of kept values stacked in a matrix's order
        self.products: dict = {}  # (stacked timeline, column) -> the name of their sum of outer products
        self.sums: dict = {}  # an adjoint term summed over its reader's loop -> the name of its value
        self.outputs = self._outputs()
        self.groups = variable_groups(model)
        self.locals = self.step_locals(self.groups)
        self.unallocated: set = set()  # adjoints that became plain names: no timeline
        self.valid = {var_name(v.name): span(v.loop) for v in model.variables
                      if v.timed and v.kind in (Kind.INPUT, Kind.LABEL)}

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
            # a number, or made of sizes and the length (1/n): the module knows them by name
            text, printer = f"({py_time(expr)})" if sp.sympify(expr).free_symbols else f"{float(expr)!r}", None
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
        order = self.backward_order()
        for group, recurrent in order:
            group = [v for v in group if not self.carried(v)]  # truncated BPTT: those in parts, below
            if not group:
                continue
            decl = model.var(group[0])
            if not decl.timed:
                for name in group:
                    self.adjoint_untimed(name)
            elif recurrent or not self.stackable(group):
                self.backward_loop(group)
            else:
                self.adjoint_stacked(group[0])
        if self.truncate is not None:
            self.truncated_backward(order)
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
            if str(size) in {v.name for v in model.variables} | {var_name(v.name) for v in model.variables} \
                    or var_name(str(size)) != str(size):
                raise NumericError(f"the size {size} has the name of a variable, of a Python keyword or of a name the "
                                   "generated module uses; rename it to generate code")
            add(Assign(Name(str(size)), f"{var_name(source[0].name)}.shape[{source[1]}]"))
        for v in sorted(model.inputs, key=lambda v: v.timed):  # a start symbol before the sequence it starts
            name = var_name(v.name)
            if v.timed:
                steps = f"_steps(xp.asarray(inputs[{v.name!r}]), {rows(v)}, B)"
                if v.init is not None:  # read one step back: its value before the first step, then the steps
                    start = f"xp.broadcast_to({var_name(v.init)}, ({rows(v)}, B))[None]"
                    parts = [start, steps] if v.loop.step == 1 else [steps, start]
                    steps = f"xp.concatenate([{', '.join(parts)}], axis=0)"
                    lo, hi = self.valid[name]
                    self.valid[name] = (lo - 1, hi) if v.loop.step == 1 else (lo, hi + 1)
                first = self.valid[name][0]
                at = f"{name}[t{'' if first == 0 else f'-{py_time(first)}'}]"
                add(Assign(Name(name), steps, comment=f"{v.display(T)} at {at}"))
            else:
                add(Assign(Name(name), f"xp.asarray(inputs[{v.name!r}])", comment=v.latex))
        for v in model.variables:
            if v.kind is Kind.LABEL:
                size = v.shape[0]
                if size.is_Integer:
                    source = str(size)
                else:
                    param, axis = next((p, k) for p in model.parameters for k in (0, 1) if p.shape[k] == size)
                    source = f"xp.shape(params[{param.name!r}])[{axis}]"
                add(Labels(var_name(v.name), v.name, str(size), source, v.display(T) if v.timed else v.latex))
                if v.timed:  # a label per step: read like an input, y_t at y[t - first]
                    add(Assign(Name(var_name(v.name)), f"{var_name(v.name)}.reshape(-1, 1, B)",
                               comment=f"{v.display(T)}: one row of labels per step"))
        for v in model.variables:
            if v.timed and v.kind in (Kind.STATE, Kind.DEFINED, Kind.INTERIM) and v.name not in self.locals:
                name = var_name(v.name)
                add(Alloc(name, rows(v), f"{v.display(T)} at {name}[t], t = 0..n+1", ones=True))
                if v.kind is Kind.STATE and model.var(v.init).kind is Kind.PARAMETER:
                    self.start_state(v)  # an initial state defined before the loop: where it is computed
        for v in model.variables:
            if v.timed and v.kind in (Kind.STATE, Kind.DEFINED):
                add(Alloc(f"d_{v.name}", rows(v)))
        add(Blank())

    def start_state(self, v) -> None:
        """The entry of state ``v``'s timeline before its loop: its initial state."""
        before = sp.expand(sp.sympify(v.loop.first) - v.loop.step)
        init = self.model.var(v.init)
        self.add(Assign(At(var_name(v.name), py_time(before)), var_name(init.name),
                        comment=f"{v.display(before)} = {init.latex}"))

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
            factor = d.expr.prim.constant
            shown = "" if factor is None else latex(factor) + " "
            self.add(Comment(f"{lhs} = {shown}\\sum_t {arg.display(T)}"))
            total = f"xp.sum({self.code(arg.symbol(T), span=span(arg.loop))}, axis=0)"
            self.add(Assign(Name(var_name(name)), total if factor is None else f"({self.code(factor)}) * {total}"))
            return
        expr = symbolic(model, d.expr)
        self.add(Comment(f"{lhs} = {latex(expr)}"))
        if self.stacking and not al.is_scalar(expr):
            expr = expr.xreplace(self.stacking)
        if not decl.timed:
            self.add(Assign(Name(var_name(name)), self.code(expr)))
            for state in model.variables:
                if state.kind is Kind.STATE and state.init == name:
                    self.start_state(state)
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
        names = [*group, *(r for name in group for r in self._interims_all(model.definition(name).expr))]
        self.stacking = self.stack_products([symbolic(model, model.definition(v).expr) for v in names], carried)
        with self.program.block() as body:
            for local, product in self.step_products:
                self.add(Comment(f"{local.name} = {latex(product)}, this step's gates stacked"))
                self.add(Assign(Name(local.name), self.code(self.rewrite(product, carried))))
            for name in group:
                self.forward_line(name, done, None, carried)
        self.stacking, self.step_products = {}, []
        self.emit_hoisted()
        self.add(loop_over(model.var(group[0]).loop, body))
