"""Stage 5: derivation objects (the path sum) and sensitivity analysis."""

from symrnn.derive.pathsum import Factor, PathSum, pathsum

__all__ = ["Factor", "PathSum", "pathsum"]
