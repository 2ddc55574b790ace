"""symrnn report: the solution sheet as an HTML page a real browser renders offline, and as a PDF.

The HTML is opened in headless Chromium (Debian's ``chromium``): a script added to a copy of the
page measures, after layout, every ``<math>`` element and every fraction, so the test knows that
each formula was laid out as mathematics (a fraction's numerator above its denominator), that no
raw LaTeX is left in the visible text, and that no MathML error element is there. The PDF is
compiled by pdflatex and its pages are turned into images with pdftoppm.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import unicodedata

import pytest
from click.testing import CliRunner

from symrnn import zoo
from symrnn.cli import main
from symrnn.report.sheet import build, html_page, latex_document, write
from tests.conftest import require_program

PROBE = """<script>
window.addEventListener("load", () => {
  const boxes = [...document.querySelectorAll("math")].map(m => m.getBoundingClientRect());
  const fractions = [...document.querySelectorAll("mfrac")].map(f => {
    const [top, bottom] = [...f.children].map(c => c.getBoundingClientRect());
    return top.bottom <= bottom.top + 0.5;
  });
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll("pre, svg, math, script, h1").forEach(e => e.remove());  // h1: the user's title, as typed
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({
    math: boxes.length, empty: boxes.filter(b => b.width <= 0 || b.height <= 0).length,
    fractions: fractions.length, stacked: fractions.filter(x => x).length,
    errors: document.querySelectorAll("merror").length,
    raw: (clone.textContent.match(/\\\\[A-Za-z]+|\\$[^$]*\\$/g) || []).slice(0, 5),
    images: [...document.images].filter(i => i.complete && i.naturalWidth > 0).length,
  });
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def sheet(tmp_path_factory):
    out = tmp_path_factory.mktemp("sheet")
    sections = [build(zoo.get("elman"), 2, ("pathsum", "closed"), flow_n=10),
                build(zoo.lstm(), 2, ("closed",), flow_n=10, sizes={"m": 3, "d": 2, "K": 3})]
    written = write(sections, out, "Week 3: <BPTT> & $x$ \\input{secret}", pdf=True)
    return out, sections, written


def _browser(html_path, tmp_path) -> dict:
    require_program("chromium")
    probed = tmp_path / "probed.html"
    probed.write_text(html_path.read_text().replace("</body>", PROBE + "</body>"))
    run = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                          "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    assert found, run.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def test_every_formula_renders_in_a_real_browser(sheet, tmp_path):
    out, sections, _ = sheet
    page = (out / "report.html").read_text()
    result = _browser(out / "report.html", tmp_path)
    assert result["math"] == page.count("<math") > 100
    assert result["empty"] == 0 and result["errors"] == 0 and result["raw"] == []
    assert result["fractions"] == page.count("<mfrac") and result["stacked"] == result["fractions"] > 50
    assert result["images"] == 2  # the two flow figures, inline PNGs
    shot = tmp_path / "sheet.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,2000",
                    f"--screenshot={shot}", (out / "report.html").as_uri()], capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000


def test_the_page_is_one_offline_file_with_contents_and_escaped_titles(sheet):
    out, sections, _ = sheet
    page = (out / "report.html").read_text()
    assert not re.search(r"(src|href)=\"(https?:|//)", page) and "<script" not in page
    assert "<h1>Week 3: &lt;BPTT&gt; &amp; $x$ \\input{secret}</h1>" in page
    assert page.count("<svg") == 2 and page.count('src="data:image/png;base64,') == 2
    toc = re.search(r"<nav>(.*?)</nav>", page, re.S).group(1)
    for s in sections:
        assert f'href="#{s.anchor}"' in toc and f'id="{s.anchor}"' in page
        for part in ("model", "graph", "gradients", "check", "flow"):
            assert f'href="#{s.anchor}-{part}"' in toc and f'id="{s.anchor}-{part}"' in page
    # every parameter's gradient in every form asked, each check row
    elman = sections[0]
    assert [(g.parameter, g.form) for g in elman.gradients] == [
        (p.latex, f) for p in zoo.get("elman").parameters for f in ("pathsum", "closed")]
    assert page.count("<tr>") == 1 + len(sections[0].checks) + 1 + len(sections[1].checks)
    assert all(r.passed for s in sections for r in s.checks)


def test_the_pdf_compiles_with_contents_and_its_pages_are_images(sheet, tmp_path):
    require_program("pdftoppm")
    out, sections, written = sheet
    pdf = out / "report.pdf"
    assert pdf in written and pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 6 and all(p.stat().st_size > 2000 for p in pages)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Contents" in text and "Week 3: <BPTT> & $x$ \\input{secret}" in text
    for s in sections:
        assert text.count(s.model.title) >= 2  # in the contents and as a heading
    assert "??" not in text  # every reference of the contents resolved


def test_the_latex_escapes_every_user_text():
    section = build(zoo.scalar(), 2, flow_n=0)
    tex = latex_document([section], "a_b & 100% {x} \\end{document}")
    assert r"\title{a\_b \& 100\% \{x\} \textbackslash{}end\{document\}}" in tex
    assert r"\hspace*{2em}h\_\{t\} = w\_\{x\}" in tex  # the spec, indented, escaped
    page = re.sub(r"<pre.*?</pre>", "", html_page([section], "t"), flags=re.S)
    assert page.count("<math") > 20 and "\\" not in page


def test_the_command(tmp_path):
    result = CliRunner().invoke(main, ["report", "scalar", "plain", "--out", str(tmp_path), "--n", "2",
                                       "--form", "pathsum", "--form", "closed", "--flow-n", "8", "--no-pdf",
                                       "--title", "Week 3"])
    assert result.exit_code == 0, result.output
    assert "every printed formula passes its check (21 formulas)" in result.output  # the recursion's rows too
    assert (tmp_path / "report.html").exists() and not (tmp_path / "report.pdf").exists()
    refused = CliRunner().invoke(main, ["report", "bidirectional", "--out", str(tmp_path)])
    assert refused.exit_code == 2 and "give --i" in refused.output


def test_a_model_without_a_state_has_no_flow_section(tmp_path):
    section = build(zoo.mlp(), 1, flow_n=10)
    assert section.flow_png is None
    page = html_page([section], "MLP")
    assert "The gradient flow" not in page and page.count("<h3") == 4
    assert shutil.which("pdflatex") is None or write([section], tmp_path, "MLP")[-1].name == "report.pdf"


def test_no_line_of_the_pdf_runs_off_the_page(tmp_path):
    """pdflatex's log has no overfull line for a model with long spec lines and long formulas."""
    require_program("pdflatex")
    from symrnn.model.rnn_reader import load_spec

    model = load_spec("examples/literature/peephole_lstm/model.rnn")  # spec lines of 150 characters
    section = build(model, 3, ("pathsum", "closed"), flow_n=0)
    (tmp_path / "sheet.tex").write_text(latex_document([section], "Peephole LSTM"))
    (tmp_path / f"{section.anchor}-graph.pdf").write_bytes(section.graph_pdf)
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", "sheet.tex"], cwd=tmp_path,
                   capture_output=True, timeout=120)
    log = (tmp_path / "sheet.log").read_text(errors="replace")
    assert "Output written" in log and "Overfull \\hbox" not in log


def test_two_models_of_one_name_keep_their_own_anchors_and_figures(tmp_path):
    sections = [build(zoo.scalar(), 2, flow_n=0), build(zoo.scalar(), 2, flow_n=0)]
    written = write(sections, tmp_path, "Twice", pdf=False)
    names = sorted(p.name for p in written if p.suffix == ".pdf")
    assert names == ["model-scalar-2-graph.pdf", "model-scalar-graph.pdf"]
    page = (tmp_path / "report.html").read_text()
    assert 'id="model-scalar"' in page and 'id="model-scalar-2"' in page


def test_a_title_beyond_latin1_compiles_and_an_old_pdf_does_not_stay(tmp_path):
    require_program("pdflatex")
    require_program("pdftotext")
    (tmp_path / "report.pdf").write_text("an older sheet")
    write([build(zoo.scalar(), 2, flow_n=0)], tmp_path, 'Week 3: 数学 "BPTT" ~ ^ é', pdf=True)
    text = subprocess.run(["pdftotext", str(tmp_path / "report.pdf"), "-"], capture_output=True, text=True).stdout
    assert 'Week 3: [U+6570][U+5B66] "BPTT" ~ ^ é' in unicodedata.normalize("NFC", text)
    assert "(or --flow-n 0)" in text
    assert CliRunner().invoke(main, ["report", "scalar", "--out", str(tmp_path), "--no-pdf"]).exit_code == 0
    assert not (tmp_path / "report.pdf").exists()


def test_long_rows_break_in_the_page_and_the_sheet_says_what_it_checked():
    from symrnn.model.rnn_reader import load_spec

    section = build(load_spec("examples/literature/layernorm_rnn/model.rnn"), 3, ("closed",), flow_n=0)
    page = html_page([section], "LN")
    assert page.count("<mspace width=\"1em\" />") > 3  # the \\quad of each continued row
    assert "compared with central finite differences" in page and "seed 0" in page
    assert "No gradient-flow figure" in page
    sizes = CliRunner().invoke(main, ["report", "scalar", "--out", "/tmp/unused", "--size", "z=4"])
    assert sizes.exit_code == 2 and "a size of the models" in sizes.output
