"""Stage 7: numbers. Backends, the forward pass, evaluating printed formulas, gradcheck."""

from symrnn.numeric.backends import array_module
from symrnn.numeric.evaluate import evaluate_pathsum
from symrnn.numeric.forward import Point, forward, loss, random_point
from symrnn.numeric.gradcheck import CheckRow, check_model, finite_differences, relative_error

__all__ = [
    "CheckRow", "Point", "array_module", "check_model", "evaluate_pathsum", "finite_differences",
    "forward", "loss", "random_point", "relative_error",
]
