"""Typed errors of symrnn.

Every error says what was wrong, where, and what was expected. Catch
:class:`SymRNNError` to handle all of them.
"""

from __future__ import annotations


class SymRNNError(Exception):
    """Base class of every error symrnn raises on purpose."""


class SpecError(SymRNNError):
    """A model declaration is invalid (unknown name, bad recurrence, ...)."""


class ShapeError(SpecError):
    """Operand shapes do not fit (e.g. a m x d matrix times a vector of size m)."""


class UnknownRuleError(SymRNNError):
    """The registry has no local rule for a primitive and argument."""


class UnknownNameError(SymRNNError):
    """A name (model, variable, node, function) was not found."""


class NumericError(SymRNNError):
    """Numeric evaluation is impossible as asked (abstract function, missing value)."""


class RenderError(SymRNNError):
    """Rendering failed (for instance the Graphviz ``dot`` program is missing)."""
