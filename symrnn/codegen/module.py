"""A generated module's text: its header, the helpers it copies, and the emitted program.

:func:`codegen` builds the program of a model (:mod:`symrnn.codegen.generator`), writes it with
the target's emitter (:mod:`symrnn.codegen.emit`) and puts before it what the module needs:
the target's one import, and the source of every helper and function it calls, copied from
their one implementation in symrnn, so the module imports nothing but the backend.
"""

from __future__ import annotations

import inspect

from symrnn.codegen.emit import EMITTERS, docstring_text
from symrnn.codegen.generator import Generator
from symrnn.derive.truncated import check_truncate
from symrnn.errors import NumericError
from symrnn.model.declared import Model
from symrnn.numeric.printers import HELPERS
from symrnn.operations.functions import FUNCTIONS
from symrnn.version import __version__


def side_by_side(xp, a):
    """A stack of steps ``(steps, size, B)`` as one ``(size, steps * B)`` array, step after step."""
    return a.swapaxes(0, 1).reshape(a.shape[1], -1)


def unside(xp, wide, steps, batch):
    """Steps side by side ``(size, steps * B)`` back to a stack ``(steps, size, B)`` (a view)."""
    return wide.reshape(wide.shape[0], steps, batch).swapaxes(0, 1)


#: The module's own helpers, after the title and the import.
_RUNTIME = '''def _steps(x, size, B):
    """An input sequence (steps, size, B); one of no steps has that shape too."""
    return x if x.shape[0] else xp.zeros((0, size, B))


def _batch(inputs, labels):
    for value in list(inputs.values()) + list(labels.values()):
        return value.shape[-1]
    return 1


def _labels(y, size, name):
    """The labels, checked in Python (no array operation: in a JAX module this runs before the compiled
    function, where each would be a dispatch): whole numbers in 1..size; anything else is refused."""
    values = y.tolist() if hasattr(y, "tolist") else y
    values = values if isinstance(values, list) else [values]
    while any(isinstance(v, list) for v in values):  # a label per step: a row of labels per step
        values = [w for v in values for w in (v if isinstance(v, list) else [v])]
    try:
        ok = all(not isinstance(v, bool) and v == int(v) and 1 <= v <= size for v in values)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"the label {name} must be whole numbers in 1..{size}")
    return y


def _like(g, shape):
    """A gradient with its parameter's shape: a vector's is summed over the batch's columns."""
    if xp.ndim(g) == 0:
        return xp.zeros(shape) + g
    if shape[1] == 1 and g.shape[1] != 1:
        return xp.sum(g, axis=1, keepdims=True)
    return g
'''


def codegen(model: Model, backend: str = "numpy", bindings: dict | None = None, source: str | None = None,
            truncate: int | None = None) -> str:
    """The source of a standalone module ``gradients(params, inputs, labels, n, i=None)`` for ``model``.

    Parameters
    ----------
    model : Model
        The model; its abstract functions need ``bindings``.
    backend : str
        "numpy", "cupy", "jax" or "torch": the module imports only that library.
    bindings : dict, optional
        A concrete function for each abstract one (``{"g": "tanh"}``).
    source : str, optional
        What the model was read from (a spec's path, a zoo name), for the module's "Regenerate
        with" line; the model's name by default.
    truncate : int, optional
        Truncated BPTT: the gradients of the paths that go back at most ``truncate`` steps
        (:mod:`symrnn.codegen.truncation`); the loss is the same.

    Returns
    -------
    str
        Python source. In it, ``params`` maps identifiers to ``(rows, cols)`` arrays, ``inputs``
        each input to ``(n, size, B)`` (a sequence) or ``(size, B)``, ``labels`` each label to
        ``(B,)`` integers (a label per step: ``(n, B)``); ``gradients`` returns ``(loss, grads)``:
        the ``(B,)`` losses and each parameter's gradient of their sum.

    Examples
    --------
    >>> from symrnn import zoo
    >>> source = codegen(zoo.elman(), bindings={"g": "tanh"})
    >>> "for t in range(1, n+1):" in source and "import numpy as xp" in source
    True
    """
    if backend not in EMITTERS:
        raise NumericError(f"codegen writes {', '.join(EMITTERS)}, not {backend!r}")
    bindings = dict(bindings or {})
    for fname in model.abstract_functions:
        if fname not in bindings:
            raise NumericError(f"{fname} is abstract; bind it (e.g. --g tanh) to generate code")
    generator = Generator(model, bindings, check_truncate(truncate))
    program = generator.build()
    emitter = EMITTERS[backend]()
    emitter.emit(program.statements)
    body = "\n".join(emitter.lines)
    return (_header(model, backend, emitter.header, body, generator.functions, source, truncate) + body + "\n"
            + emitter.footer)


def _header(model: Model, backend: str, imports: str, body: str, functions: set, source: str | None,
            truncate: int | None = None) -> str:
    again = "Regenerate with: symrnn codegen " + docstring_text(source or model.name) + " --backend " + backend
    lines = [
        f'"""The loss and gradients of {docstring_text(model.title)}, generated by symrnn {__version__}.',
        "",
        "The factored form, run over time for a batch kept in columns: an input sequence is",
        "(n, size, B), a label (B,) (one per step: (n, B)); a timed variable h is an array",
        "(n + 2, size, B) with h^{(t)}",
        "at h[t] (initial states at 0 or n + 1). Each line is commented with the equation it",
        "computes; what a loop does not need step by step is computed for all steps at once.",
        *([] if truncate is None else [
            f"Truncated BPTT: the gradients keep only the paths that go back at most {truncate} step"
            f"{'' if truncate == 1 else 's'}; the loss is the model's.",
        ]),
        again + ("" if truncate is None else f" --truncate {truncate}"),
        '"""',
        "",
        imports,
        "",
        "",
    ]
    helpers = {**HELPERS, "side_by_side": side_by_side, "unside": unside}
    needed = {name for name in helpers if f"{name}(xp," in body}
    if "component" in needed:
        needed.add("basis")  # a component is read through a one-hot column
    # the one implementation of each helper and function (functional, so JAX arrays work), copied
    used = [fn for name, fn in helpers.items() if name in needed]
    used += [FUNCTIONS[name].value for name in sorted(functions)]
    for fn in used:
        lines += [inspect.getsource(fn).rstrip(), "", ""]
    lines += [
        _RUNTIME.rstrip(),
        "",
        "",
        "def gradients(params, inputs, labels, n, i=None):",
        f'    """(loss, grads) of {docstring_text(model.name)} for a batch: loss (B,), grads[name] shaped like the '
        'parameter."""',
    ]
    return "\n".join(lines) + "\n"


__all__ = ["codegen"]
