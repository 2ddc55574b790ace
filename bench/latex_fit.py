"""How many lines of the derivation documents run off the page (pdflatex's "Overfull \\hbox").

For every zoo model and every model of examples/literature/, every parameter, ``--form all``,
both layouts, n = 3: the
document ``symrnn derive --out DIR --pdf`` writes, compiled, and its log read. Prints the count
per model and the total. Run: ``python bench/latex_fit.py`` (a few minutes).
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

from symrnn import zoo
from symrnn.cli import main


def overfull(args) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        result = CliRunner().invoke(main, ["derive", *args, "--out", tmp])
        if result.exit_code:
            raise SystemExit(f"derive {' '.join(args)} failed: {result.output[-300:]}")
        run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", "derivation.tex"],
                             cwd=tmp, capture_output=True, text=True, timeout=120)
        log = (Path(tmp) / "derivation.log").read_text(errors="replace")
        if "Fatal error" in log or run.returncode:
            errors = [line for line in log.splitlines() if line.startswith("!")][:2]
            raise SystemExit(f"pdflatex failed on derive {' '.join(args)}: {errors}")
        return len(re.findall(r"Overfull \\hbox", log))


def main_() -> None:
    from symrnn.model.rnn_reader import load_spec

    total = documents = 0
    literature = sorted((Path(__file__).parents[1] / "examples" / "literature").glob("*/model.rnn"))
    for name in [*zoo.MODELS, *map(str, literature)]:
        model = zoo.get(name) if name in zoo.MODELS else load_spec(name)
        extra = ["--i", "2"] if model.positional else []
        count = 0
        for p in model.parameters:
            for layout in ("numerator", "denominator"):
                count += overfull([name, "--wrt", p.name, "--n", "3", "--form", "all", "--layout", layout, *extra])
                documents += 1
        total += count
        print(f"{Path(name).parent.name or name:24s} {count}", flush=True)
    print(f"{documents} documents, {total} lines run off the page")
    sys.exit(0)


if __name__ == "__main__":
    main_()
