"""Build the site's Examples pages from examples/ (run by mkdocs-gen-files at `make docs`).

Each example folder's README.md is the one text of its page; the page adds the graph that the
README's first ``symrnn derive`` command draws, made now by that command with ``--out``, so the
figure is always the current one. Nothing here is written into the repository.
"""

from __future__ import annotations

import re
import shlex
import tempfile
from pathlib import Path

import mkdocs_gen_files
from click.testing import CliRunner

from symrnn.cli import main

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples"
DERIVE = re.compile(r"symrnn (derive [^`\n#|]*)")


def _figure(readme: str) -> str | None:
    """The SVG of the graph of the README's first derive command, or None if it has none."""
    found = DERIVE.search(readme)
    if found is None:
        return None
    words = [w for w in shlex.split(found.group(1)) if w != "--pdf"]
    if "--out" in words:
        at = words.index("--out")
        del words[at:at + 2]
    with tempfile.TemporaryDirectory() as out:
        result = CliRunner().invoke(main, [*words, "--out", out], catch_exceptions=False)
        if result.exit_code != 0:
            raise SystemExit(f"docs/gen_examples.py: symrnn {' '.join(words)} failed: {result.output}")
        return (Path(out) / "graph.svg").read_text()


IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


def _images(readme: str, folder: Path, name: str) -> str:
    """The README with each figure it shows from its folder copied into the site beside its page."""
    def copy(found: re.Match) -> str:
        alt, target = found.groups()
        source = folder / target
        if "://" in target or not source.is_file():
            return found.group(0)
        with mkdocs_gen_files.open(f"examples/{name}/{target}", "wb") as f:
            f.write(source.read_bytes())
        return f"![{alt}]({Path(name).name}/{target})"

    return IMAGE.sub(copy, readme)


def _page(folder: Path, name: str) -> str:
    readme = _images((folder / "README.md").read_text(), folder, name)
    svg = _figure(readme)
    if svg is not None:
        with mkdocs_gen_files.open(f"examples/{name}.svg", "w") as f:
            f.write(svg)
        title, _, rest = readme.partition("\n")
        figure = f"![The unrolled graph, the paths of the first command highlighted]({Path(name).name}.svg)"
        readme = f"{title}\n\n{figure}\n{rest}"
    return readme


folders = sorted(p.parent for p in EXAMPLES.glob("*/README.md") if p.parent.name != "literature")
literature = sorted(p.parent for p in (EXAMPLES / "literature").glob("*/README.md"))
index = ["# Examples", "",
         "Each example states its question in full, names its source, and lists the commands with",
         "their exact expected output (in the repository's `examples/` folder). The graphs are drawn",
         "by each page's first `derive` command.", "", "## Questions of a course and worked answers", ""]
for folder in folders:
    with mkdocs_gen_files.open(f"examples/{folder.name}.md", "w") as f:
        f.write(_page(folder, folder.name))
    title = (folder / "README.md").read_text().partition("\n")[0].lstrip("# ")
    index.append(f"* [{title}]({folder.name}.md)")
index += ["", "## Models from the literature", ""]
for folder in literature:
    with mkdocs_gen_files.open(f"examples/literature/{folder.name}.md", "w") as f:
        f.write(_page(folder, f"literature/{folder.name}"))
    title = (folder / "README.md").read_text().partition("\n")[0].lstrip("# ")
    index.append(f"* [{title}](literature/{folder.name}.md)")
with mkdocs_gen_files.open("examples/index.md", "w") as f:
    f.write("\n".join(index) + "\n")
