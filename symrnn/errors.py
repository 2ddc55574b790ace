"""Typed errors of symrnn.

Every error says what was wrong, where, and what was expected. Catch
:class:`SymRNNError` to handle all of them.
"""

from __future__ import annotations


class SymRNNError(Exception):
    """Base class of every error symrnn raises on purpose.

    Every other error of symrnn derives from it, so ``except SymRNNError`` catches them all; it is
    raised itself where no narrower class fits (a derivation asked of the loss in itself, a path sum
    that would be too long to write out, an unknown layout or form). The command line prints it as
    ``error: ...`` without a traceback and exits with code 2.
    """


class SpecError(SymRNNError):
    """A model declaration is invalid (unknown name, bad recurrence, ...).

    Raised while a model is declared or read: by :class:`~symrnn.model.builder.ModelBuilder`
    (a name declared twice, an unknown size, a recurrence reading ``h^{(t+1)}``, a state without
    an initial state), by :func:`~symrnn.model.rnn_reader.parse_spec` and
    :func:`~symrnn.model.rnn_reader.load_spec` for a ``.rnn`` text (its message starts with
    ``file:line:col``), and by :func:`~symrnn.graph.unroll.unroll` for a length or label position
    the model cannot take.
    """


class ShapeError(SpecError):
    """Operand shapes do not fit (e.g. a m x d matrix times a vector of size m).

    Raised as an expression is built, when the shapes of its operands do not fit the operation
    (``W^{hx}`` is ``m x d`` but multiplies a vector of size ``m``), when a recurrence or an initial
    state does not have the state's shape, or when the loss is not a scalar. A :class:`SpecError`.
    """


class UnknownRuleError(SymRNNError):
    """The registry has no local rule for a primitive and argument.

    Raised by :func:`symrnn.operations.registry.get_rule` when the Jacobian or vector-Jacobian
    product of a primitive is asked for an argument that has no rule registered in
    :mod:`symrnn.operations.registry`, as happens to a new primitive added without its ``defrule``
    calls; the primitives of the model language register theirs next to their definitions.
    """


class UnknownNameError(SymRNNError):
    """A name (model, variable, node, function) was not found.

    Raised when a zoo model, a variable of a model, a node of an unrolled graph (``find_node``,
    ``--wrt``) or an elementwise function is looked up by a name that does not exist; the message
    lists the known names or suggests the closest one.
    """


class NumericError(SymRNNError):
    """Numeric evaluation is impossible as asked (abstract function, missing value).

    Raised by the numeric stage (forward pass, checks, compiled gradient, generated code) when a
    model still applies an abstract function (``g``) that was not bound, when a value or a size is
    missing or out of range, when sizes disagree, or when exact mode meets a function that is not
    rational (``tanh``, ``exp``).
    """


class RenderError(SymRNNError):
    """Rendering failed (for instance the Graphviz ``dot`` program is missing).

    Raised when a drawing or document is written: the Graphviz ``dot`` program (SVG, PNG, PDF) or
    ``pdflatex`` is not installed or fails, or a graph format is unknown. The DOT text itself never
    needs a program.
    """
