"""The package as a stranger gets it: an sdist and a wheel that twine accepts, and the wheel
installed into a clean virtual environment runs derive, check and codegen (its grammar
included), with the version of symrnn/version.py."""

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from symrnn.version import __version__

ROOT = Path(__file__).parents[1]


def _run(*args, cwd=None) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    pytest.importorskip("build", reason="the dev extra installs build")
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT)
    return out


def test_the_sdist_and_the_wheel_pass_twine_check(dist):
    pytest.importorskip("twine", reason="the dev extra installs twine")
    names = sorted(p.name for p in dist.iterdir())
    assert names == [f"symrnn-{__version__}-py3-none-any.whl", f"symrnn-{__version__}.tar.gz"]
    report = _run(sys.executable, "-m", "twine", "check", *sorted(dist.iterdir()))
    assert report.count("PASSED") == 2, report


def test_the_wheel_runs_on_its_own(dist, tmp_path):
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    bin_dir = env / ("Scripts" if sys.platform == "win32" else "bin")
    _run(bin_dir / "pip", "install", "-q", next(dist.glob("*.whl")))
    symrnn = bin_dir / "symrnn"
    assert _run(symrnn, "--version").strip().endswith(__version__)
    derived = _run(symrnn, "derive", "elman", "--wrt", "W^{hx}", "--n", "2", cwd=tmp_path)
    assert r"\frac{\partial o}{\partial W^{hx}} &= A \frac{\partial h^{(2)}}{\partial W^{hx}}" in derived
    spec = ROOT / "examples" / "specs" / "sheet" / "q1.rnn"  # read with the grammar the wheel ships
    assert "all 15 printed formulas pass" in _run(symrnn, "check", spec, "--n", "2", cwd=tmp_path)
    answer = tmp_path / "answer.md"  # read with the answer grammar the wheel ships
    answer.write_text("$$\\frac{\\partial L}{\\partial s} = \\operatorname{softmax}(s) - y$$")
    assert "1 correct, 0 wrong" in _run(symrnn, "grade", answer, "--model", "vanilla", cwd=tmp_path)
    _run(symrnn, "codegen", "lstm", "-o", tmp_path / "lstm_gradients.py", cwd=tmp_path)
    probe = "import lstm_gradients as m; print(callable(m.gradients), m.__doc__.splitlines()[0][:40])"
    assert _run(bin_dir / "python", "-c", probe, cwd=tmp_path).startswith("True ")  # it imports with the wheel's numpy
