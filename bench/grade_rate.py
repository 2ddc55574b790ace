"""How many answers per second ``symrnn grade FOLDER`` grades, on one process and on two.

    python bench/grade_rate.py [COPIES]      # default 16 copies of examples/grade/tanh_rnn_answer.md

Each answer is the example answer (10 claims, one shorthand), graded against the tanh RNN at its
random points, every step and two lengths. The rate on two processes is compared with the rate on
one: the ratio is what the second core adds (the answers are independent, so at most 2x; a
process's start is the fixed cost; the model is built and compiled once, before the timing, and the
forked workers inherit it). Reported as a ratio;
the absolute rates depend on the machine.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from symrnn.grade.classroom import Task, answers, grade_class

ANSWER = Path(__file__).parents[1] / "examples" / "grade" / "tanh_rnn_answer.md"


def rate(tasks: list[Task], jobs: int) -> float:
    start = time.perf_counter()
    grade_class(tasks, jobs=jobs)
    return len(tasks) / (time.perf_counter() - start)


def main(copies: int = 16) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(copies):
            shutil.copy(ANSWER, Path(tmp) / f"student{k:03d}.md")
        tasks = [Task(str(p), "vanilla") for p in answers(Path(tmp))]
        grade_class(tasks[:1], jobs=1)  # warm: the model built, its rules compiled; forked workers inherit it
        one, two = rate(tasks, 1), rate(tasks, 2)
    print(f"{copies} answers of 10 claims each, against the tanh RNN")
    print(f"one process:   {one:.2f} answers/s")
    print(f"two processes: {two:.2f} answers/s, {two / one:.2f}x one")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 16)
