"""Standalone LaTeX documents, and compiling them with ``pdflatex``.

User text reaches a document in two ways only: display names, inside math, which the model
refuses unless they are a safe subset of LaTeX (:func:`symrnn.operations.symbols.check_display_name`),
and titles, in text, through :func:`latex_text`, this sink's one escape. ``pdflatex`` runs with
no shell escape, reading and writing only in its own temporary folder (kpathsea's paranoid
``openin_any``/``openout_any``), and under a time limit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from symrnn.errors import RenderError

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[margin=1.7cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{breqn}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.6em}
"""


#: Each LaTeX special character of text mode and what prints it (OT1, the default encoding, prints <, >, |
#: and " as other glyphs, and ~ and ^ as accents: the typewriter font has them as typed).
_SPECIALS = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
             "^": r"\texttt{\string^}", "_": r"\_", "%": r"\%", "~": r"\texttt{\string~}",
             "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", '"': r'\texttt{\string"}',
             "-": "-{}"}  # no -- or --- ligature: --no-pdf stays two hyphens
#: Seconds pdflatex may run.
PDFLATEX_TIMEOUT = 60


def latex_text(text: str) -> str:
    r"""User text (a title) for LaTeX text mode: every special character printed as itself, control
    characters dropped; nothing in it can be a command. A character pdflatex's fonts lack (beyond
    Latin-1: 数, an emoji) is written as its code point, ``[U+6570]``, so the document still compiles.

    Examples
    --------
    >>> print(latex_text(r"my_q1 & \input{secret.txt} 100%"))
    my\_q1 \& \textbackslash{}input\{secret.txt\} 100\%
    """
    return "".join(_SPECIALS.get(c, c) if ord(c) < 256 else f"[U+{ord(c):04X}]" for c in text if c.isprintable())


#: The heading of each form in a derivation document, by the class of the derived object.
HEADINGS = {"PathSum": "The sum over paths", "Recursion": "The backward recursion",
            "ClosedForm": "The closed form"}


def derivation_document(model, derived: list) -> str:
    """The body of a derivation document: the model's equations, then each derived form under
    its heading, typeset with breqn's line breaking.

    Examples
    --------
    >>> from symrnn import pathsum, zoo
    >>> body = derivation_document(zoo.scalar(), [pathsum(zoo.scalar(), "w_{h}", 2)])
    >>> [line for line in body.splitlines() if line.startswith(r"\\subsection")]
    ['\\\\subsection*{The model}', '\\\\subsection*{The sum over paths}']
    """
    from symrnn.render.latex import latex_forms, model_latex

    parts = [r"\subsection*{The model}", r"\[" + model_latex(model) + r"\]"]
    for d, text in zip(derived, latex_forms(derived, breaking=True), strict=True):
        parts += [rf"\subsection*{{{HEADINGS[type(d).__name__]}}}", text]
    return "\n\n".join(parts)


def standalone(body: str, title: str = "") -> str:
    """A complete LaTeX document around ``body`` (needs only amsmath and amssymb); ``title`` is LaTeX
    already (escape user text with :func:`latex_text`).

    Examples
    --------
    >>> standalone("$x$").splitlines()[0]
    '\\\\documentclass[11pt]{article}'
    """
    heading = rf"\section*{{{title}}}" + "\n" if title else ""
    return PREAMBLE + "\\begin{document}\n" + heading + body + "\n\\end{document}\n"


def compile_pdf(tex: str | Path, out_dir: str | Path | None = None, assets=(), runs: int = 1) -> Path:
    """Compile a ``.tex`` file with ``pdflatex``; raises RenderError with the log's first error.

    ``assets`` (figures the document includes) are copied beside it by their file names; ``runs``
    is how many times pdflatex runs (2 for a table of contents)."""
    tex = Path(tex)
    if shutil.which("pdflatex") is None:
        raise RenderError("pdflatex is not installed (Debian: apt-get install texlive-latex-base "
                          "texlive-latex-recommended)")
    out_dir = Path(out_dir or tex.parent)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(tex, Path(tmp) / "document.tex")
        for asset in assets:
            shutil.copyfile(asset, Path(tmp) / Path(asset).name)
        # paranoid file access: only the folder itself, no absolute paths, no parent folders, no dot files
        env = {**os.environ, "openin_any": "p", "openout_any": "p", "shell_escape": "f"}
        for _ in range(runs):
            try:
                run = subprocess.run(
                    ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", "document.tex"],
                    capture_output=True, text=True, timeout=PDFLATEX_TIMEOUT, cwd=tmp, env=env,
                    stdin=subprocess.DEVNULL,
                )
            except subprocess.TimeoutExpired:
                raise RenderError(f"pdflatex ran more than {PDFLATEX_TIMEOUT} s on {tex} and was stopped") from None
            if run.returncode != 0:
                break
        pdf = Path(tmp) / "document.pdf"
        if run.returncode != 0 or not pdf.exists():
            errors = [line for line in run.stdout.splitlines() if line.startswith("!")]
            raise RenderError(f"pdflatex failed on {tex}: {errors[0] if errors else run.stdout[-500:]}")
        target = out_dir / (tex.stem + ".pdf")
        shutil.copyfile(pdf, target)
    return target
