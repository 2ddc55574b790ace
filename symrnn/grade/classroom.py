"""A class at once: every answer of a folder graded, in parallel, into one table, a CSV and an HTML page.

Each answer is graded by :func:`symrnn.grade.check.grade` in a worker: a process of this machine
(:class:`concurrent.futures.ProcessPoolExecutor`, one per core by default) or a worker of an existing
Dask cluster (``scheduler``, a ``dask.distributed`` address). A worker receives the answer's path and
how to build the model (a zoo name or a spec path, and ``g``), not the model itself, and builds it once.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from symrnn.errors import SymRNNError

#: The files of a folder that are answers.
SUFFIXES = (".md", ".tex", ".txt", ".markdown")
#: The largest answer read, in bytes.
MAX_ANSWER = 1_000_000


@dataclass(frozen=True)
class Task:
    """What a worker needs to grade one answer."""

    path: str
    model: str
    g: str | None = None
    n: int = 3
    i: int | None = None
    layout: str = "auto"
    values: str | None = None  # a values file: the question's numbers


@lru_cache(maxsize=8)
def _model(reference: str, g: str | None):
    """The model a worker grades against, built once per worker."""
    from symrnn import zoo

    return zoo.resolve(reference, g)


def read_answer(path: Path) -> str:
    """An answer's text; SymRNNError if it is larger than :data:`MAX_ANSWER` or not UTF-8."""
    if path.stat().st_size > MAX_ANSWER:
        raise SymRNNError(f"larger than {MAX_ANSWER} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SymRNNError("not UTF-8 text") from None


def grade_file(task: Task) -> tuple[str, list[dict], str | None]:
    """``(path, verdicts as dicts, error)`` for one answer; an answer that cannot be read gives its error."""
    from symrnn.grade.check import grade

    try:
        source = read_answer(Path(task.path))
        model = _model(task.model, task.g)
        given = None
        if task.values is not None:
            from symrnn.numeric.values import read_values

            given = read_values(model, task.values)
        verdicts = grade(source, model, task.n, task.i if model.positional else None, layout=task.layout,
                         values=given)
    except (SymRNNError, OSError) as e:
        return task.path, [], str(e)
    except Exception as e:  # noqa: BLE001 - one answer that breaks the grader is its own row, not the class's end
        return task.path, [], f"internal error ({type(e).__name__}: {e}); please report it"
    return task.path, [v.as_dict() for v in verdicts], None


def answers(folder: Path) -> list[Path]:
    """The answers of a folder, in name order."""
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not found:
        raise SymRNNError(f"{folder} has no answer ({', '.join(SUFFIXES)} files)")
    return found


def grade_class(tasks: list[Task], jobs: int | None = None, scheduler: str | None = None, progress=None) -> list:
    """Every task graded, in the order given: on ``jobs`` processes (default one per core; 1 runs here),
    or on the Dask cluster at ``scheduler``. ``progress()`` is called after each answer.

    Examples
    --------
    >>> from pathlib import Path
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "ada.md").write_text(r"$$\\frac{\\partial L}{\\partial s} = \\operatorname{softmax}(s) - y$$")
    >>> [(Path(p).name, [v["verdict"] for v in vs]) for p, vs, _ in grade_class(
    ...     [Task(str(a), "vanilla") for a in answers(folder)], jobs=1)]
    [('ada.md', ['correct'])]
    """
    tick = progress or (lambda: None)
    if scheduler is not None:
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise SymRNNError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
        try:
            client = Client(scheduler, timeout=30)
        except OSError as e:
            raise SymRNNError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
        with client:
            futures = client.map(grade_file, tasks, pure=False)
            for _ in as_completed(futures):
                tick()
            return client.gather(futures)
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(tasks) == 1:
        out = []
        for task in tasks:
            out.append(grade_file(task))
            tick()
        return out
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks))) as pool:
        futures = {pool.submit(grade_file, task): k for k, task in enumerate(tasks)}
        results: list = [None] * len(tasks)
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            tick()
    return results


FIELDS = ("student", "line", "column", "claim", "verdict", "diagnosis", "relative_error", "layout", "correct_formula")


def rows(results: list) -> list[dict]:
    """One row per student and claim (an answer that could not be read: one row saying why)."""
    out = []
    for path, verdicts, error in results:
        student = Path(path).stem
        if error is not None:
            out.append({"student": student, "line": "", "column": "", "claim": "", "verdict": "not read",
                        "diagnosis": error, "relative_error": "", "layout": "", "correct_formula": ""})
        for v in verdicts:
            out.append({"student": student, **{k: ("" if v.get(k) is None else v[k]) for k in FIELDS[1:]}})
    return out


def write_csv(results: list, path: Path) -> Path:
    """The rows as CSV."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows(results))
    return path


def _rendered(latex: str) -> str:
    """A formula as MathML, or as escaped text where it has none."""
    from symrnn.errors import RenderError
    from symrnn.render.html import html_text, math_html

    if not latex:
        return ""
    try:
        return math_html(latex)
    except RenderError:
        return f"<code>{html_text(latex)}</code>"


def write_html(results: list, path: Path, title: str) -> Path:
    """The rows as one offline HTML page, each claim and each correct formula rendered as MathML (escaped
    text where it cannot be)."""
    from symrnn.render.html import html_text

    colours = {"correct": "#1a7f37", "wrong": "#b00", "not understood": "#9a6700", "not read": "#b00"}
    body = []
    for row in rows(results):
        claim, correct = _rendered(row["claim"]), _rendered(row["correct_formula"])
        colour = colours.get(row["verdict"], "#444")
        where = f"{row['line']}:{row['column']}" if row["line"] != "" else ""
        body.append(f"<tr><td>{html_text(row['student'])}</td><td>{where}</td><td>{claim}</td>"
                    f"<td style=\"color:{colour}\">{html_text(row['verdict'])}</td>"
                    f"<td>{html_text(str(row['diagnosis']))}</td><td>{correct}</td></tr>")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html_text(title)}</title><style>body {{ font-family: sans-serif; margin: 2rem; }} "
            "table { border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; "
            "text-align: left; vertical-align: top; } math { font-size: 1.1em; }</style></head><body>"
            f"<h1>{html_text(title)}</h1><table><tr><th>student</th><th>where</th><th>claim</th><th>verdict</th>"
            "<th>diagnosis</th><th>symrnn's formula</th></tr>" + "".join(body) + "</table></body></html>\n")
    path.write_text(page, encoding="utf-8")
    return path
