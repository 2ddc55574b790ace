"""Stage 2: primitives, their SymPy symbols, and THE registry of local rules."""
