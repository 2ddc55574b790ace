"""Stage 4: lazy path enumeration and path counting by dynamic programming."""

from symrnn.paths.enumerate import Path, count_paths, iter_paths, steps_back

__all__ = ["Path", "count_paths", "iter_paths", "steps_back"]
