# symrnn: one command to set up and run the main job, one to set up and run all tests.
#   make demo   installs what is missing (Graphviz dot, pdflatex, a .venv with symrnn) and derives Q1
#   make test   installs the same and runs ruff and the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system test-system demo test lint docs clean

# System programs: Graphviz's dot (graph images) and pdflatex with breqn (compiling the LaTeX), from Debian.
system:
	@missing=""; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	{ command -v pdflatex && kpsewhich breqn.sty; } >/dev/null 2>&1 || missing="$$missing texlive-latex-base texlive-latex-recommended"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi; \
	command -v dot >/dev/null && command -v pdflatex >/dev/null && kpsewhich breqn.sty >/dev/null

# The tests also open the HTML solution sheet in a real browser (Debian's chromium) and turn the
# PDF's pages into images (pdftoppm, poppler-utils).
test-system: system
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi; \
	command -v chromium >/dev/null && command -v pdftoppm >/dev/null

# The demo needs symrnn and its runtime dependencies only; the tests add the dev extra (PyTorch,
# JAX, hypothesis, nbclient, build, twine: the references and tools of the test suite).
$(VENV)/.runtime: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed: $(VENV)/.runtime
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

setup: system test-system $(VENV)/.installed

demo: system $(VENV)/.runtime
	$(VENV)/bin/symrnn paths elman --wrt 'W^{hx}' --n 3
	$(VENV)/bin/symrnn derive elman --wrt 'W^{hx}' --n 3 --out out --pdf --edge-labels
	$(VENV)/bin/symrnn derive vanilla --wrt W_x --n 3 --form closed --layout denominator
	$(VENV)/bin/symrnn check elman --n 3

# The documentation site (mkdocs.yml), from docs/ and the docstrings, every warning an error.
docs: setup
	$(VENV)/bin/mkdocs build --strict

lint: setup
	$(VENV)/bin/ruff check .

test: lint
	SYMRNN_REQUIRE_TOOLS=1 $(PY) -m pytest

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
