"""One side of a claim: read with the answer grammar (``answer.lark``, lark, never ``eval``) into a
small tree, and evaluated with numbers.

The tree's nodes are tuples ``(kind, ...)``: ``("name", text)``, ``("number", value)``, ``("ones",)``,
``("derivative", of, wrt)``, ``("add", a, b)``, ``("sub", a, b)``, ``("neg", a)``, ``("mul", a, b)``,
``("hadamard", a, b)``, ``("divide", a, b)``, ``("square", a)``, ``("transpose", a)``, ``("diag", a)``,
``("call", function, a)``, ``("call_squared", function, a)``, ``("sum_over", index, low, high, a)``.
:func:`evaluate` computes one with NumPy from an environment that knows the names.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np
from lark import Lark, Transformer, v_args
from lark.exceptions import UnexpectedInput, VisitError

from symrnn.errors import SpecError

#: A superscript that transposes a name: W^T, W^{\top}, W^{r,T} (the answer's W^{r} transposed), W_{h}^{f\top}.
_TRANSPOSED = re.compile(r"\^(\{\s*(\\top|T|\\intercal)\s*\}|\\top|T)$"
                         r"|(?<=[A-Za-z0-9}]),\s*(T|\\top)(?=\})|(\\top)(?=\}$)")
_SQUARED = re.compile(r"\^(\{2\}|2)$")
_DERIV = re.compile(r"\\[dt]?frac\s*\{\s*(\\partial|d|\\mathrm\{d\})\s*(.*?)\}"
                    r"\s*\{\s*(?:\\partial|d|\\mathrm\{d\})\s*(.*)\}$", re.S)


@cache
def _parser() -> Lark:
    return Lark(Path(__file__).with_name("answer.lark").read_text(), parser="lalr", propagate_positions=True)


class FormulaError(SpecError):
    """A formula that cannot be read, with the column where reading stopped."""

    def __init__(self, message: str, column: int = 0):
        super().__init__(message)
        self.column = column


class Absent(FormulaError):
    """A name the claim reads that does not exist at this step (``h_{t-1}`` at ``t = 0``)."""


def split_name(text: str) -> tuple[str, bool, bool]:
    """``(name, transposed, squared)``: a name as written, its transposition or square taken off.

    Examples
    --------
    >>> split_name("W_h^T"), split_name("W^{r,T}"), split_name("h_t^2"), split_name(r"W_{h}^{f\\top}")
    (('W_h', True, False), ('W^{r}', True, False), ('h_t', False, True), ('W_{h}^{f}', True, False))
    """
    squared = bool(_SQUARED.search(text))
    if squared:
        text = _SQUARED.sub("", text)
    transposed = bool(_TRANSPOSED.search(text))
    if transposed:
        text = _TRANSPOSED.sub("", text)
    return text, transposed, squared


@v_args(inline=True)
class _Tree(Transformer):
    def name(self, token):
        base, transposed, squared = split_name(str(token))
        node = ("name", base)
        if squared:
            node = ("square", node)
        return ("transpose", node) if transposed else node

    def number(self, token):
        return ("number", float(token), str(token))  # the text too: 0.1 is 1/10 in exact arithmetic

    def ones(self, _):
        return ("ones",)

    def identity(self, token):
        found = re.search(r"_\{?([A-Za-z0-9]+)\}?$", str(token))
        return ("identity", found.group(1)) if found else ("identity",)

    def edge(self, token):
        found = re.fullmatch(r"D\s*\(\s*(.*?)\s*\\(?:rightarrow|to)\s*(.*?)\s*\)", str(token).strip(), re.S)
        return ("derivative", found.group(2).strip(), found.group(1).strip())

    def derivative(self, token):
        found = _DERIV.match(str(token).strip())
        of, wrt = found.group(2).strip(), found.group(3).strip()
        # \frac{dh_2}{dW}: total, through every path; \frac{\partial h_2}{\partial W}: as the context reads it
        return ("derivative", of, wrt, True) if found.group(1) != "\\partial" else ("derivative", of, wrt)

    def group(self, _, a, __):
        return a

    def add(self, a, b):
        return ("add", a, b)

    def sub(self, a, b):
        return ("sub", a, b)

    def neg(self, a):
        return ("neg", a)

    def mul(self, a, *rest):
        return ("mul", a, rest[-1])

    def hadamard(self, a, _, b):
        return ("hadamard", a, b)

    def kron(self, a, _, b):
        return ("kron", a, b)

    def divide(self, _, a, b):
        return ("divide", a, b)

    def square(self, a, _):
        return ("square", a)

    def transpose(self, a, _):
        return ("transpose", a)

    def diag(self, _, a):
        return ("diag", a)

    def call(self, function, a):
        return ("call", _function_name(str(function)), a)

    def call_squared(self, function, a):
        return ("call_squared", _function_name(re.sub(r"\^(2|\{2\})$", "", str(function))), a)

    def sum_over(self, token, a):
        found = re.match(r"\\sum(?:_\{?\s*([A-Za-z])\s*(?:=\s*([^}^]*))?\}?)?(?:\^\{?([^}]*)\}?)?", str(token))
        index, low, high = found.groups() if found else (None, None, None)
        return ("sum_over", index or "t", (low or "1").strip(), (high or "n").strip(), a)

    def prod_over(self, token, a):
        found = re.match(r"\\prod(?:_\{?\s*([A-Za-z])\s*(?:=\s*([^}^]*))?\}?)?(?:\^\{?([^}]*)\}?)?", str(token))
        index, low, high = found.groups() if found else (None, None, None)
        if index is None or low is None:
            raise FormulaError("a product \\prod needs its index and range: \\prod_{k=t+1}^{n}")
        return ("prod_over", index, low.strip(), (high or "n").strip(), a)


def _function_name(text: str) -> str:
    prime = "'" if text.endswith("'") else ""
    text = text.rstrip("'")
    inner = re.search(r"\{([A-Za-z]+)\}", text)
    name = inner.group(1) if inner else text.lstrip("\\")
    return {"sigma": "sigmoid", "sigm": "sigmoid"}.get(name, name) + prime


def _unbrace(text: str) -> str:
    """``\\underbrace{X}_{note}`` and ``\\overbrace{X}^{note}`` as ``X``: the notes are not mathematics."""
    while True:
        found = re.search(r"\\(underbrace|overbrace)\s*\{", text)
        if not found:
            return text
        depth, i = 1, found.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        inner = text[found.end():i - 1]
        rest = text[i:]
        note = re.match(r"\s*[_^]\s*(\{([^{}]|\{[^{}]*\})*\}|\S)", rest)
        text = text[:found.start()] + "{" + inner + "}" + (rest[note.end():] if note else rest)


def parse(text: str):
    """The tree of one formula; FormulaError (with the column) if it cannot be read.

    Examples
    --------
    >>> parse(r"W_h^{\\top} (\\frac{\\partial L}{\\partial h_{t+1}} \\odot (1 - h_{t+1}^2))")[0]
    'mul'
    >>> parse(r"\\frac{\\partial L}{\\partial h_t} h_{t-1}^T")
    ('mul', ('derivative', 'L', 'h_t'), ('transpose', ('name', 'h_{t-1}')))
    """
    text = _unbrace(text)
    text = re.sub(r"\\(hat|tilde|bar|vec|dot)\s+([A-Za-z])(?![A-Za-z])", r"\\\1{\2}", text)  # \hat y is \hat{y}
    text = re.sub(r"\^\{(\([^(){}]*\))\s*(T|\\top)\s*\}", r"^{\1}^{\\top}", text)  # x^{(t)T}: x^{(t)} transposed
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as e:
        column = getattr(e, "column", 0) or 0
        near = text[max(column - 1, 0):column + 15]
        raise FormulaError(f"cannot read the formula at column {column} (near {near!r}): symrnn reads sums, "
                           "products, \\odot, transposes (^T, ^\\top), \\operatorname{diag}, \\tanh, \\sigma, "
                           "\\sum_t and derivatives \\frac{\\partial L}{\\partial v}", column) from None
    try:
        return _Tree().transform(tree)
    except VisitError as e:  # a FormulaError from a rule (\prod without its range): raised as itself
        if isinstance(e.orig_exc, FormulaError):
            raise e.orig_exc from None
        raise


# -- numbers ----------------------------------------------------------------------------------
class Environment:
    """What a formula's names mean at one point: ``value(name)``, ``derivative(of, wrt)`` and the
    shorthands defined earlier in the answer; each raises FormulaError for what it does not know."""

    def value(self, name: str):
        raise NotImplementedError

    def derivative(self, of: str, wrt: str, total: bool = False):
        """``\\partial of / \\partial wrt``; ``total`` when written with ``d`` (through every path)."""
        raise NotImplementedError

    def bind(self, index: str, value: int) -> Environment:
        """The environment with the summation ``index`` set to ``value``."""
        raise NotImplementedError

    def bound(self, text: str) -> int:
        """A summation bound (``1``, ``n``, ``T``) as an integer."""
        raise NotImplementedError

    def size(self, name: str) -> int:
        """A dimension of the model (``m`` of ``I_m``) as an integer."""
        raise NotImplementedError

    def function(self, name: str) -> str:
        """The concrete function an answer's function name means (an abstract ``g`` is the one it is bound to)."""
        return name


def _functions():
    from symrnn.operations.functions import FUNCTIONS

    return FUNCTIONS


def _softmax(xp, v):
    from symrnn.operations.primitives import softmax

    return softmax(xp, v)


def _logsoftmax(xp, v):
    from symrnn.operations.primitives import logsoftmax

    return logsoftmax(xp, v)


#: Functions of a whole vector, by the names answers write them with (the model language's own).
_VECTOR_FUNCTIONS = {"softmax": _softmax, "LS": _logsoftmax, "logsoftmax": _logsoftmax}


class _Identity:
    """The identity matrix before its size is known: from the matrix it is added to, or 1 in a product."""

    shape = (0, 0)


IDENTITY = _Identity()


def _sized(a, b):
    """Both terms of a sum with the identity made the size of the other one."""
    if a is IDENTITY and b is IDENTITY:
        raise FormulaError("a sum of identities has no size")
    if a is IDENTITY:
        a = np.eye(np.asarray(b).shape[0])
    if b is IDENTITY:
        b = np.eye(np.asarray(a).shape[0])
    return a, b


def _num(x):
    """An array of floats, or the exact array (of Fractions) it already is."""
    if isinstance(x, np.ndarray) and x.dtype == object:
        return x
    return np.asarray(x, dtype=float)


def _product(a, b):
    a, b = _num(a), _num(b)
    if a.size == 1 or b.size == 1:
        return a * b if a.size != 1 else a.reshape(())[()] * b
    if a.shape[1] != b.shape[0]:
        raise FormulaError(f"a product of a {a.shape[0]} x {a.shape[1]} and a {b.shape[0]} x {b.shape[1]} matrix "
                           "does not exist")
    return a @ b


def _same(a, b, what: str):
    a, b = _num(a), _num(b)
    if a.size != 1 and b.size != 1 and a.shape != b.shape:
        raise FormulaError(f"{what} of a {a.shape[0]} x {a.shape[1]} and a {b.shape[0]} x {b.shape[1]} matrix")
    return a, b


def evaluate(tree, env: Environment):
    """The number (a 2-d array) ``tree`` stands for in ``env``."""
    kind = tree[0]
    if kind == "number":
        if getattr(env, "exact", False) and len(tree) > 2:
            from fractions import Fraction

            return np.array([[Fraction(tree[2])]], dtype=object)
        return np.array([[tree[1]]])
    if kind == "ones":
        return np.array([[1.0]])  # broadcasts: 1 - h is 1 minus each component
    if kind == "identity":
        return IDENTITY if len(tree) == 1 else np.eye(env.size(tree[1]))
    if kind == "name":
        return _num(env.value(tree[1]))
    if kind == "derivative":
        return _num(env.derivative(tree[1], tree[2], total=len(tree) > 3))
    if kind in ("add", "sub"):
        a, b = _sized(evaluate(tree[1], env), evaluate(tree[2], env))
        a, b = _same(a, b, "a sum")
        return a + b if kind == "add" else a - b
    if kind == "neg":
        a = evaluate(tree[1], env)
        if a is IDENTITY:
            raise FormulaError("-I needs the identity's size: write -I_m")
        return -a
    if kind == "mul":
        a, b = evaluate(tree[1], env), evaluate(tree[2], env)
        return b if a is IDENTITY else a if b is IDENTITY else _product(a, b)
    if kind == "hadamard":
        a, b = evaluate(tree[1], env), evaluate(tree[2], env)
        if 1 in a.shape and 1 in b.shape and a.size == b.size:  # a row times a column, entry by entry
            b = b.reshape(a.shape)
        a, b = _same(a, b, "an elementwise product")
        return a * b
    if kind == "kron":  # the vec convention's u^T \otimes I_m
        a, b = evaluate(tree[1], env), evaluate(tree[2], env)
        if a is IDENTITY or b is IDENTITY:
            raise FormulaError("the identity in a Kronecker product needs its size: write I_m")
        return np.kron(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    if kind == "divide":
        a, b = evaluate(tree[1], env), evaluate(tree[2], env)
        if b.size != 1:
            raise FormulaError("division by a vector or a matrix")
        return a / b.reshape(())[()]
    if kind == "square":
        a = evaluate(tree[1], env)
        return a * a
    if kind == "transpose":
        a = evaluate(tree[1], env)
        return a if a is IDENTITY else a.T  # an empty product (t = n) transposed is still the identity
    if kind == "diag":
        a = evaluate(tree[1], env)
        if 1 not in a.shape:
            raise FormulaError("\\operatorname{diag} of a matrix: symrnn reads diag of a vector")
        return np.diag(a.reshape(-1))
    if kind in ("call", "call_squared") and tree[1] in _VECTOR_FUNCTIONS:
        a = evaluate(tree[2], env)
        column = a.reshape(-1, 1)
        out = _VECTOR_FUNCTIONS[tree[1]](np, column).reshape(a.shape)
        return out * out if kind == "call_squared" else out
    if kind in ("call", "call_squared"):
        functions = _functions()
        name = env.function(tree[1].rstrip("'"))  # an abstract g: the function it is bound to (tanh)
        if tree[1].endswith("'") and name in functions and functions[name].value is not None:
            a = _num(evaluate(tree[2], env)).astype(float)  # f'(a) by central differences: 1e-10 relative
            value = functions[name].value
            out = (value(np, a + 1e-6) - value(np, a - 1e-6)) / 2e-6
            return out * out if kind == "call_squared" else out
        tree = (tree[0], name, *tree[2:])
        if tree[1] not in functions or functions[tree[1]].value is None:
            known = [f for f in functions if not f.endswith("'") and functions[f].value is not None]
            known += list(_VECTOR_FUNCTIONS)
            raise FormulaError(f"the function {tree[1]} is not one symrnn knows: {', '.join(known)}")
        out = functions[tree[1]].value(np, evaluate(tree[2], env))
        return out * out if kind == "call_squared" else out
    if kind == "prod_over":  # a chain of Jacobians: the later steps on the left (numerator layout), or the
        _, index, low, high, body = tree  # earlier ones, each transposed (denominator layout)
        steps = list(range(env.bound(low), env.bound(high) + 1))
        if getattr(env, "layout", "numerator") != "denominator":  # Jacobians with a row per output
            steps.reverse()
        total = IDENTITY
        for k in steps:
            term = evaluate(body, env.bind(index, k))
            total = term if total is IDENTITY else _product(total, term)
        return total
    if kind == "sum_over":
        _, index, low, high, body = tree
        total = None
        for t in range(env.bound(low), env.bound(high) + 1):
            term = evaluate(body, env.bind(index, t))
            total = term if total is None else _same(total, term, "a sum")[0] + term
        if total is None:
            raise FormulaError(f"the sum over {index} = {low}..{high} has no term")
        return total
    raise FormulaError(f"cannot evaluate {kind}")  # pragma: no cover - every kind of the grammar is above
