"""Stage 5: derivation objects (the path sum, the recursion, the closed form) and sensitivity."""

from symrnn.derive.adjoints import ClosedForm, Recursion, closed_form, recursion
from symrnn.derive.pathsum import Factor, PathSum, pathsum

__all__ = ["ClosedForm", "Factor", "PathSum", "Recursion", "closed_form", "pathsum", "recursion"]
