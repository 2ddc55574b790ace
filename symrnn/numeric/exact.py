"""Exact evaluation in rationals: the compiled gradient on arrays of ``fractions.Fraction``.

:class:`ExactArrays` is an array module for :class:`~symrnn.numeric.engine.CompiledGradient`:
NumPy object arrays whose entries are Fractions, with ``ones``, ``zeros`` and ``eye``
made of exact 1s and 0s. Sums, products and matrix products stay exact; a function that
is not rational (``exp``, ``tanh``, ``log``) raises a NumericError that says so. Numbers
are read from text (``"0.1"``, ``"1/10"``, ``3``), never from binary floats, so 0.1 is 1/10.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from symrnn.errors import NumericError


def to_fraction(value) -> Fraction:
    """``"0.1"``, ``"1/10"``, ``1`` or ``0.25`` as an exact Fraction (a float by its shortest decimal)."""
    if isinstance(value, bool):
        raise NumericError(f"not a number: {value!r}")
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(repr(value))
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise NumericError(f"not an exact number: {value!r} (write 0.1, 1/10 or 3)") from None
    raise NumericError(f"not a number: {value!r}")


class ExactArrays:
    """An ``xp`` for exact arithmetic (see the module docstring).

    Give it to :class:`~symrnn.numeric.engine.CompiledGradient` as ``xp=ExactArrays()``: the
    compiled rules then run on NumPy object arrays of ``fractions.Fraction``. Numbers are read
    from text (``"0.1"`` is 1/10; a float by its shortest decimal), and a function that is not
    rational (``exp``, ``log``, ``tanh``, ``relu``) raises a NumericError. The constructor takes
    no arguments.

    Attributes
    ----------
    exact : bool
        True: the compiled gradient writes its constants as Fractions.

    Examples
    --------
    >>> xp = ExactArrays()
    >>> a = xp.asarray([["1/10"], ["2"]])
    >>> (xp.swapaxes(a, -1, -2) @ a)[0, 0]
    Fraction(401, 100)

    Seed 003's scalar RNN at its numbers, with targets ``y_t = 3``, exactly:

    >>> from symrnn import CompiledGradient, zoo
    >>> f = CompiledGradient(zoo.scalar(), xp=ExactArrays())
    >>> params = {"w_x": [["0.1"]], "w_h": [[1]], "w_y": [[2]], "h0": [[1]]}
    >>> out = f(params, {"x": [[[10]], [[10]]], "y": [[[3]], [[3]]]}, n=2)
    >>> out.loss[0], [str(out.gradients[w][0, 0]) for w in ("w_x", "w_h", "w_y", "h0")]
    (Fraction(10, 1), ['280', '40', '22', '16'])
    """

    exact = True
    float64 = object

    def asarray(self, value, dtype=None):
        array = np.asarray(value, dtype=object)
        return np.vectorize(to_fraction, otypes=[object])(array) if array.size else array

    def ones(self, shape):
        return np.full(shape, Fraction(1), dtype=object)

    def zeros(self, shape):
        return np.full(shape, Fraction(0), dtype=object)

    def eye(self, size):
        out = self.zeros((int(size), int(size)))
        for k in range(int(size)):
            out[k, k] = Fraction(1)
        return out

    broadcast_to = staticmethod(np.broadcast_to)
    sum = staticmethod(np.sum)
    swapaxes = staticmethod(np.swapaxes)
    concatenate = staticmethod(np.concatenate)

    def _not_rational(name):
        def refuse(*args, **kwargs):
            raise NumericError(f"exact mode evaluates rational functions only, and {name} is not one; "
                               "use a model of sums, products and identity transfer functions (seed 003's)")
        return refuse

    exp = staticmethod(_not_rational("exp"))
    log = staticmethod(_not_rational("log"))
    tanh = staticmethod(_not_rational("tanh"))
    maximum = staticmethod(_not_rational("relu"))
