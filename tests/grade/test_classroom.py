"""symrnn grade FOLDER: a class at once, on this machine's processes or on a Dask cluster; the same verdicts
either way, one row per student in the table, one per student and claim in the CSV and the HTML page."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from symrnn.cli import main
from symrnn.grade.classroom import Task, answers, grade_class

ANSWER = Path(__file__).parents[2] / "examples" / "grade" / "tanh_rnn_answer.md"


@pytest.fixture
def klass(tmp_path):
    folder = tmp_path / "week3"
    folder.mkdir()
    shutil.copy(ANSWER, folder / "ada.md")
    (folder / "bob.tex").write_text(r"\[ \frac{\partial L}{\partial s} = \operatorname{softmax}(s) - y \]")
    (folder / "cy.md").write_text(r"$$\frac{\partial L}{\partial s} = y - \operatorname{softmax}(s)$$")
    (folder / "eve.md").write_bytes(b"\xff\xfe\x00")
    (folder / "notes.pdf").write_bytes(b"%PDF-")  # not an answer
    return folder


def _verdicts(results):
    return [(Path(p).name, [v["verdict"] for v in vs], e) for p, vs, e in results]


def test_the_answers_of_a_folder_in_parallel_as_one_at_a_time(klass):
    tasks = [Task(str(p), "vanilla") for p in answers(klass)]
    assert [Path(t.path).name for t in tasks] == ["ada.md", "bob.tex", "cy.md", "eve.md"]
    one, two = grade_class(tasks, jobs=1), grade_class(tasks, jobs=2)
    assert _verdicts(one) == _verdicts(two)
    assert _verdicts(one)[1:] == [("bob.tex", ["correct"], None), ("cy.md", ["wrong"], None),
                                  ("eve.md", [], "not UTF-8 text")]
    assert [v["diagnosis"] for v in two[2][1]] == ["wrong sign"]


def test_the_command_writes_the_table_the_csv_and_the_page(klass, tmp_path):
    out = tmp_path / "grades"
    result = CliRunner().invoke(main, ["grade", str(klass), "--model", "vanilla", "--out", str(out), "--jobs", "2"])
    assert result.exit_code == 1, result.output  # not every claim is correct
    assert "4 answers against vanilla" in result.output and "not read: not UTF-8 text" in result.output
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert [r["student"] for r in rows].count("ada") == 11 and len(rows) == 11 + 1 + 1 + 1
    assert rows[-1] == {"student": "eve", "line": "", "column": "", "claim": "", "verdict": "not read",
                        "diagnosis": "not UTF-8 text", "relative_error": "", "layout": "", "correct_formula": ""}
    assert rows[9]["correct_formula"] == (r"\frac{\partial L}{\partial W_{x}} = \sum_{t=1}^{n} (\frac{\partial L}"
                                          r"{\partial h_{t}} \odot (\mathbf{1} - h_{t} \odot h_{t})) x_{t}^{\top}")
    page = (out / "grades.html").read_text()
    assert page.count("<tr>") == 1 + len(rows) and page.count("<math") == 13 + 5 and "\\frac" not in page
    data = json.loads(CliRunner().invoke(main, ["grade", str(klass), "--model", "vanilla", "--format", "json",
                                                "--jobs", "1"]).output)
    assert [d["student"] for d in data] == ["ada", "bob", "cy", "eve"] and data[1]["claims"][0]["verdict"] == "correct"


def test_on_a_dask_cluster(klass):
    distributed = pytest.importorskip("distributed", reason="the dev extra installs dask.distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        tasks = [Task(str(p), "vanilla") for p in answers(klass)]
        assert _verdicts(grade_class(tasks, scheduler=cluster.scheduler_address)) == _verdicts(
            grade_class(tasks, jobs=1))
        result = CliRunner().invoke(main, ["grade", str(klass), "--model", "vanilla", "--scheduler",
                                           cluster.scheduler_address])
        assert result.exit_code == 1 and "bob" in result.output


def test_what_a_folder_refuses(klass, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = CliRunner().invoke(main, ["grade", str(empty), "--model", "vanilla"])
    assert refused.exit_code == 2 and "has no answer" in refused.output
    one = CliRunner().invoke(main, ["grade", str(klass / "bob.tex"), "--model", "vanilla", "--jobs", "2"])
    assert one.exit_code == 2 and "grade a folder" in one.output
