"""Standalone LaTeX documents, and compiling them with ``pdflatex``."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from symrnn.errors import RenderError

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.6em}
"""


def standalone(body: str, title: str = "") -> str:
    """A complete LaTeX document around ``body`` (needs only amsmath and amssymb).

    Examples
    --------
    >>> standalone("$x$").splitlines()[0]
    '\\\\documentclass[11pt]{article}'
    """
    heading = rf"\section*{{{title}}}" + "\n" if title else ""
    return PREAMBLE + "\\begin{document}\n" + heading + body + "\n\\end{document}\n"


def compile_pdf(tex: str | Path, out_dir: str | Path | None = None) -> Path:
    """Compile a ``.tex`` file with ``pdflatex``; raises RenderError with the log's first error."""
    tex = Path(tex)
    if shutil.which("pdflatex") is None:
        raise RenderError("pdflatex is not installed (Debian: apt-get install texlive-latex-base "
                          "texlive-latex-recommended)")
    out_dir = Path(out_dir or tex.parent)
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={tmp}", str(tex)],
            capture_output=True, text=True, timeout=120,
        )
        pdf = Path(tmp) / (tex.stem + ".pdf")
        if run.returncode != 0 or not pdf.exists():
            errors = [line for line in run.stdout.splitlines() if line.startswith("!")]
            raise RenderError(f"pdflatex failed on {tex}: {errors[0] if errors else run.stdout[-500:]}")
        target = out_dir / pdf.name
        shutil.copyfile(pdf, target)
    return target
