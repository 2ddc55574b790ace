"""Stage 6: pure printers. LaTeX (a SymPy LatexPrinter subclass), DOT/SVG, text."""
