"""Shared test helpers.

With SYMRNN_REQUIRE_TOOLS=1 (set by `make test`, hence CI) a missing external
program (dot, pdflatex) fails the test instead of skipping it.
"""

import importlib.util
import os
import shutil
import tempfile

import pytest


def require_program(name: str) -> None:
    if shutil.which(name) is None:
        if os.environ.get("SYMRNN_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{name} is required (SYMRNN_REQUIRE_TOOLS=1) but not installed")
        pytest.skip(f"{name} is not installed")


def load_generated(source: str, name: str):
    """A generated module's source written to a temporary file and imported as ``name``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{name}.py")
        with open(path, "w") as f:
            f.write(source)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module
