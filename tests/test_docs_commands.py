"""Every command the README, docs/ and the example READMEs show is run, and what it prints is compared.

* A ``console`` block is a transcript: each ``$ symrnn ...`` line is followed by what the command
  prints. The test runs the command and compares its output line by line; a shown line that starts
  with ``...`` stands for any number of lines (the README shortens long outputs that way).
* An ``sh`` block lists commands to type. The test runs each ``symrnn ...`` line and asserts that it
  succeeds (exit code 0: a ``check`` exits 0 only if every formula passes); the literature READMEs'
  ``derive`` blocks are compared with what they print in tests/test_literature.py.

Commands run in a temporary folder holding a copy of the repository's ``examples/``, so files they
write (``--out out/``, ``-o /tmp/x.py``, ``> my_lstm.rnn``, ``--out examples/scalar/flow``) land there.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from symrnn.cli import main

ROOT = Path(__file__).parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "examples").glob("**/README.md"))]


def _blocks(path: Path) -> list[tuple[str, list[str]]]:
    """The fenced blocks of a Markdown file, as (language, lines)."""
    blocks, language, lines = [], None, []
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            if language is None:
                language, lines = line[3:].strip(), []
            else:
                blocks.append((language, lines))
                language = None
        elif language is not None:
            lines.append(line)
    return blocks


def transcripts(path: Path) -> list[tuple[str, list[str]]]:
    """The ``$ symrnn ...`` commands of a file's console blocks, each with the lines shown after it."""
    found = []
    for language, lines in _blocks(path):
        if language != "console":
            continue
        for line in lines:
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found:
                found[-1][1].append(line)
    return [(command, shown) for command, shown in found if command.startswith("symrnn ")]


def typed_commands(path: Path) -> list[str]:
    """The ``symrnn ...`` lines of a file's sh blocks."""
    return [line for language, lines in _blocks(path) if language == "sh"
            for line in lines if line.startswith("symrnn ")]


def shown_matches(shown: list[str], printed: str) -> bool:
    """Whether the shown lines are the printed text, a shown ``...`` line standing for any lines."""
    while shown and not shown[-1].strip():
        shown = shown[:-1]
    pattern = "".join(r"(?:[^\n]*\n)*?" if line.startswith("...") else re.escape(line) + r"\n" for line in shown)
    return re.fullmatch(pattern, printed.rstrip("\n") + "\n") is not None


def run(command: str, folder: Path) -> tuple[int, str]:
    """Run a shown ``symrnn`` command line in ``folder``; ``/tmp/`` paths and ``> file`` go there too."""
    words = shlex.split(command, comments=True)[1:]
    target = None
    if ">" in words:
        at = words.index(">")
        words, target = words[:at], words[at + 1]
    words = [str(folder / w[len("/tmp/"):]) if w.startswith("/tmp/") else w for w in words]
    result = CliRunner().invoke(main, words)
    if target is not None:
        (folder / target).write_text(result.output)
    return result.exit_code, result.output


@pytest.fixture
def folder(tmp_path, monkeypatch):
    import shutil

    shutil.copytree(ROOT / "examples", tmp_path / "examples")  # a copy: a command's --out never writes into the repository
    monkeypatch.chdir(tmp_path)
    return tmp_path


TRANSCRIPTS = [(path, command, shown) for path in DOCUMENTS for command, shown in transcripts(path)]
TYPED = [(path, command) for path in DOCUMENTS for command in typed_commands(path)]


def test_the_documents_show_commands():
    """The extraction finds what the documents show (so that the tests below cannot pass on nothing)."""
    assert [c for p, c, _ in TRANSCRIPTS if p.name == "README.md" and p.parent == ROOT] == [
        "symrnn paths elman --wrt 'W^{hx}' --n 3",
        "symrnn derive elman --wrt 'W^{hx}' --n 3 --out out/",
        "symrnn derive vanilla --wrt W_x --n 3 --form closed --layout denominator",
        "symrnn check elman --n 5",
    ]
    assert len(TYPED) >= 50


def test_shown_matches():
    assert shown_matches(["a", "... more", "z"], "a\nb\nc\nz\n")
    assert shown_matches(["a", "...", "z", ""], "a\nz\n")
    assert not shown_matches(["a", "z"], "a\nb\nz\n")
    assert not shown_matches(["a", "... more"], "b\n")


@pytest.mark.parametrize("path,command,shown", TRANSCRIPTS,
                         ids=[f"{p.relative_to(ROOT)}: {c}" for p, c, _ in TRANSCRIPTS])
def test_a_transcript_shows_what_the_command_prints(path, command, shown, folder):
    code, printed = run(command, folder)
    assert code == 0 or (code == 1 and command.startswith("symrnn grade ")), printed  # grade: 1 is a verdict
    assert shown_matches(shown, printed), f"{path.relative_to(ROOT)} shows for `{command}`:\n" + "\n".join(
        shown) + "\n\nit prints:\n" + printed


@pytest.mark.parametrize("path,command", TYPED, ids=[f"{p.relative_to(ROOT)}: {c}" for p, c in TYPED])
def test_a_typed_command_succeeds(path, command, folder):
    code, printed = run(command, folder)
    assert code == 0, f"{path.relative_to(ROOT)}: `{command}` exits {code}:\n{printed}"
