"""Emitters: a :class:`~symrnn.codegen.program.Program` written as Python for one target.

:class:`PythonEmitter` writes NumPy-style code (arrays assigned in place, ``for`` loops,
``if`` tests); NumPy, CuPy and PyTorch (through its shim) run it as it is, each with its
own module header. :class:`JaxEmitter` writes the same program functionally for JAX: an
assignment into an array is ``h = h.at[t].set(v)``, a loop is a ``jax.lax.fori_loop`` (static
bounds: JAX runs it as ``lax.scan``) carrying the arrays its body writes, and a test of the
step inside a loop is a ``where``.
"""

from __future__ import annotations

import inspect

from symrnn.codegen.program import (
    Alloc,
    Assign,
    At,
    Blank,
    Comment,
    Condition,
    Guard,
    Labels,
    Loop,
    Name,
    Return,
    Select,
    Steps,
)
from symrnn.codegen.timing import py_time
from symrnn.errors import NumericError
from symrnn.numeric.backends import TorchArrays


def target_text(target) -> str:
    """How a target is written: ``a``, ``h[t]``, ``h[1:n+1]``, ``grads['W']``."""
    if isinstance(target, Name):
        return target.name
    if isinstance(target, At):
        return f"{target.name}[{target.index}]"
    if isinstance(target, Steps):
        return f"{target.name}[{target.lo}:{target.hi}]"
    return f"{target.name}[{target.key!r}]"


def comment_text(text: str) -> str:
    """Text for a ``#`` comment of generated code: one line, no control characters (the Python-source
    sink's escape for comments; a display name comes from the user).

    Examples
    --------
    >>> comment_text("h^{(t)}\\nimport os")
    'h^{(t)}\\\\nimport os'
    """
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def docstring_text(text: str) -> str:
    r"""Text inside a triple-quoted docstring of generated code: every backslash, quote and control
    character escaped (the Python-source sink's escape for strings; a title comes from the user).

    Examples
    --------
    >>> print(docstring_text('a "title" with \\tanh'))
    a \"title\" with \\tanh
    """
    return repr(text)[1:-1].replace('"', '\\"')


def _trailing(comment: str) -> str:
    return f"  # {comment_text(comment)}" if comment else ""


class PythonEmitter:
    """NumPy-style Python (NumPy, CuPy, PyTorch through its shim).

    Examples
    --------
    >>> import sympy as sp
    >>> e = PythonEmitter()
    >>> e.emit([Loop(sp.Integer(1), sp.Symbol("n") + 1, 1, (Assign(At("h", "t"), "W @ h[t-1]"),))])
    >>> e.lines
    ['    for t in range(1, n+1):', '        h[t] = W @ h[t-1]']
    """

    header = "import numpy as xp"
    footer = ""

    def __init__(self):
        self.lines: list[str] = []

    def emit(self, statements, depth: int = 1) -> None:
        for statement in statements:
            self.statement(statement, depth)

    def line(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text if text else "")

    @staticmethod
    def condition(condition: Condition) -> str:
        return " and ".join(condition.parts)

    def statement(self, s, depth: int) -> None:
        if isinstance(s, Comment):
            for k, part in enumerate(s.text.splitlines()):
                self.line(depth, ("# " if k == 0 else "#   ") + comment_text(part))
        elif isinstance(s, Blank):
            self.line(depth, "")
        elif isinstance(s, Alloc):
            fill = "ones" if s.ones else "zeros"
            self.line(depth, f"{s.name} = xp.{fill}((n + 2, {s.rows}, B)){_trailing(s.comment)}")
        elif isinstance(s, Assign):
            self.assign(s, depth)
        elif isinstance(s, Select):
            self.line(depth, f"{s.target.name} = {s.value} if {self.condition(s.condition)} else 0.0")
        elif isinstance(s, Labels):
            self.labels(s, depth)
        elif isinstance(s, Return):
            self.line(depth, f"return {s.values}")
        elif isinstance(s, Guard):
            self.line(depth, f"if {self.condition(s.condition)}:")
            self.emit(s.body, depth + 1)
        elif isinstance(s, Loop):
            self.loop(s, depth)
        else:  # pragma: no cover - every statement kind is listed above
            raise TypeError(f"no way to emit {s!r}")

    def labels(self, s: Labels, depth: int) -> None:
        self.line(depth, f"{s.target} = xp.asarray(_labels(labels[{s.key!r}], {s.size}, {s.shown!r}))  # {s.shown}")

    def assign(self, s: Assign, depth: int) -> None:
        target = target_text(s.target)
        if not s.add:
            text = f"{target} = {s.value}"
        elif isinstance(s.target, Name):
            text = f"{target} = {target} + {s.value}"
        else:
            text = f"{target} += {s.value}"
        self.line(depth, text + _trailing(s.comment))

    def loop(self, s: Loop, depth: int) -> None:
        reverse = ", -1" if s.step == -1 else ""
        self.line(depth, f"for t in range({py_time(s.first)}, {py_time(s.end)}{reverse}):")
        self.emit(s.body, depth + 1)


class CupyEmitter(PythonEmitter):
    """NumPy's code with CuPy's module: the arrays live on an NVIDIA GPU."""

    header = "import cupy as xp"


class TorchEmitter(PythonEmitter):
    """NumPy's code on torch tensors, through the one torch shim (copied from symrnn.numeric.backends)."""

    header = "import torch\n\n\n" + inspect.getsource(TorchArrays).rstrip() + "\n\n\nxp = TorchArrays(torch)"


class JaxEmitter(PythonEmitter):
    """Functional code for ``jax.jit``: ``.at[].set``, ``fori_loop`` and ``where``."""

    header = "import jax\n\njax.config.update(\"jax_enable_x64\", True)\nimport jax.numpy as xp  # noqa: E402"

    def __init__(self):
        super().__init__()
        self.guard: Condition | None = None  # a test of the step the statements are under, in a loop
        self.written: list[str] | None = None  # the arrays the current loop's body writes
        self.checks: list[str] = []  # the labels' checks, made before the compiled function runs

    @property
    def footer(self) -> str:
        # n and i fix the loops' lengths: one compiled function per length; labels are checked outside it
        lines = ["", "", "_compiled = jax.jit(gradients, static_argnames=(\"n\", \"i\"))", "", "",
                 "def gradients(params, inputs, labels, n, i=None):  # noqa: F811",
                 '    """The compiled function, after the labels are checked (on the host, where they are known)."""',
                 *self.checks, "    return _compiled(params, inputs, labels, n, i)", ""]
        return "\n".join(lines)

    def labels(self, s: Labels, depth: int) -> None:
        self.checks.append(f"    _labels(labels[{s.key!r}], {s.source}, {s.shown!r})")
        self.line(depth, f"{s.target} = labels[{s.key!r}]  # {s.shown}")

    @staticmethod
    def condition(condition: Condition) -> str:
        parts = condition.parts
        return parts[0] if len(parts) == 1 else " & ".join(f"({p})" for p in parts)

    def _masked(self, value: str) -> str:
        return value if self.guard is None else f"xp.where({self.condition(self.guard)}, {value}, 0.0)"

    def assign(self, s: Assign, depth: int) -> None:
        if isinstance(s.target, (At, Steps)):
            index = s.target.index if isinstance(s.target, At) else f"{s.target.lo}:{s.target.hi}"
            name = s.target.name
            if self.written is not None and name not in self.written:
                self.written.append(name)
            update = "add" if s.add else "set"
            self.line(depth, f"{name} = {name}.at[{index}].{update}({self._masked(s.value)}){_trailing(s.comment)}")
        elif self.guard is not None and not (isinstance(s.target, Name) and s.add):
            raise NumericError(f"codegen cannot write a guarded assignment to {target_text(s.target)} for JAX")
        elif self.guard is not None:
            name = s.target.name
            self.line(depth, f"{name} = {name} + {self._masked(s.value)}{_trailing(s.comment)}")
        else:
            super().assign(s, depth)

    def statement(self, s, depth: int) -> None:
        if isinstance(s, Select) and s.condition.step:
            self.line(depth, f"{s.target.name} = xp.where({self.condition(s.condition)}, {s.value}, 0.0)")
        elif isinstance(s, Guard) and s.condition.step and self.written is not None:
            saved, self.guard = self.guard, s.condition  # each statement computed, then masked
            self.emit(s.body, depth)
            self.guard = saved
        else:
            super().statement(s, depth)

    def loop(self, s: Loop, depth: int) -> None:
        head = len(self.lines)
        saved, self.written = self.written, []
        self.emit(s.body, depth + 1)
        written, self.written = self.written, saved
        state = ", ".join(written) + ("," if len(written) == 1 else "")
        first = py_time(s.first)
        count = py_time(s.end - s.first if s.step == 1 else s.first - s.end)
        self.lines[head:head] = [
            "    " * depth + "def _step(_k, state):",
            "    " * (depth + 1) + f"t = {first} {'+' if s.step == 1 else '-'} _k",
            "    " * (depth + 1) + f"{state} = state",
        ]
        self.line(depth + 1, f"return {state}")
        self.line(depth, f"{state} = jax.lax.fori_loop(0, {count}, _step, ({state}))")


#: The emitter of each backend.
EMITTERS: dict[str, type[PythonEmitter]] = {
    "numpy": PythonEmitter, "cupy": CupyEmitter, "jax": JaxEmitter, "torch": TorchEmitter,
}
