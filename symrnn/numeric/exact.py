"""Exact evaluation in rationals: the compiled gradient on arrays of ``fractions.Fraction``.

:class:`ExactArrays` is an array module for :class:`~symrnn.numeric.engine.CompiledGradient`:
NumPy object arrays whose entries are Fractions, with ``ones``, ``zeros`` and ``eye``
made of exact 1s and 0s. Sums, products and matrix products stay exact; a function that
is not rational (``exp``, ``tanh``, ``log``) raises a NumericError that says so. Numbers
are read from text (``"0.1"``, ``"1/10"``, ``3``), never from binary floats, so 0.1 is 1/10.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np

from symrnn.errors import NumericError

#: The most digits, and the largest exponent, a given number may have (``"1e1000000000"`` would
#: take the machine's memory as an exact rational).
MAX_DIGITS = 400
MAX_EXPONENT = 400
_DECIMAL = re.compile(r"^[+-]?(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?$")
_RATIO = re.compile(r"^([+-]?\d+)\s*/\s*(\d+)$")


def to_fraction(value) -> Fraction:
    """``"0.1"``, ``"1/10"``, ``1`` or ``0.25`` as an exact Fraction (a float by its shortest decimal).

    Booleans, NaN, infinities, and numbers of more than :data:`MAX_DIGITS` digits or an exponent
    beyond :data:`MAX_EXPONENT` are refused with a NumericError.

    Examples
    --------
    >>> to_fraction("1/10"), to_fraction(0.25), to_fraction("-2.5e-1")
    (Fraction(1, 10), Fraction(1, 4), Fraction(-1, 4))
    """
    if isinstance(value, bool):
        raise NumericError(f"not a number: {value!r}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        if len(str(abs(value))) > MAX_DIGITS:
            raise NumericError(f"a number of more than {MAX_DIGITS} digits: refused")
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NumericError(f"not a finite number: {value!r}")
        return Fraction(repr(value))
    if isinstance(value, str):
        text = value.strip()
        ratio, decimal = _RATIO.match(text), _DECIMAL.match(text)
        if ratio and max(len(ratio.group(1)), len(ratio.group(2))) <= MAX_DIGITS and int(ratio.group(2)) != 0:
            return Fraction(int(ratio.group(1)), int(ratio.group(2)))
        if decimal and (decimal.group(1) or decimal.group(2)):
            digits = len(decimal.group(1)) + len(decimal.group(2))
            exponent = decimal.group(3)
            if digits > MAX_DIGITS or (exponent and (len(exponent) > 6 or abs(int(exponent)) > MAX_EXPONENT)):
                raise NumericError(f"{value[:40]!r}: more than {MAX_DIGITS} digits or an exponent beyond "
                                   f"{MAX_EXPONENT}: refused")
            return Fraction(text)
        raise NumericError(f"not an exact number: {value[:40]!r} (write 0.1, 1/10 or 3)")
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

    The scalar linear RNN at the worked answer's numbers, with targets ``y_t = 3``, exactly:

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
    arange = staticmethod(np.arange)
    sum = staticmethod(np.sum)
    swapaxes = staticmethod(np.swapaxes)
    concatenate = staticmethod(np.concatenate)

    def _not_rational(name):
        def refuse(*args, **kwargs):
            raise NumericError(f"exact mode evaluates rational functions only, and {name} is not one; "
                               "use a model of sums, products and identity transfer functions")
        return refuse

    exp = staticmethod(_not_rational("exp"))
    log = staticmethod(_not_rational("log"))
    sqrt = staticmethod(_not_rational("sqrt"))
    tanh = staticmethod(_not_rational("tanh"))
    maximum = staticmethod(_not_rational("relu"))
