"""The documentation site builds with every warning an error (what `make docs` runs), and its
generated pages hold what they are generated from: the CLI reference every command and option
from click, the API reference the docstrings."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_the_site_builds_strict_with_the_cli_and_api_references(tmp_path):
    pytest.importorskip("mkdocs", reason="the dev extra installs mkdocs")
    pytest.importorskip("mkdocstrings")
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    cli = (site / "cli" / "index.html").read_text()
    from symrnn.cli import main

    for name, command in main.commands.items():  # every command and each of its options, from click
        assert f"symrnn {name}" in cli, name
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert opt in cli, (name, opt)
    api = (site / "api" / "index.html").read_text()
    assert "as a sum over the directed paths of the graph unrolled for" in api  # pathsum's docstring
    assert "named_deltas" in api and "ModelBuilder" in api
    for page in ("guide", "text-format", "benchmarks"):
        assert (site / page / "index.html").exists(), page
    examples = sorted(p.parent.name for p in (ROOT / "examples").glob("*/README.md") if p.parent.name != "literature")
    literature = sorted(p.parent.name for p in (ROOT / "examples" / "literature").glob("*/README.md"))
    index = (site / "examples" / "index.html").read_text()
    for name, page in [(n, site / "examples" / n) for n in examples] + [
            (n, site / "examples" / "literature" / n) for n in literature]:
        html = (page / "index.html").read_text()
        assert f'href="{"literature/" if name in literature else ""}{name}/"' in index, name
        folder = ROOT / "examples" / ("literature" if name in literature else "") / name
        if "symrnn derive" in (folder / "README.md").read_text():  # the graph its first derive command draws
            assert f'src="../{name}.svg"' in html and (page.parent / f"{name}.svg").read_text().startswith("<?xml")
    assert "The question." in (site / "examples" / "scalar" / "index.html").read_text()
    scalar = (site / "examples" / "scalar" / "index.html").read_text()
    assert 'src="flow/flow.png"' in scalar and (site / "examples" / "scalar" / "flow" / "flow.png").read_bytes() == (
        ROOT / "examples" / "scalar" / "flow" / "flow.png").read_bytes()
