"""Shared test helpers.

With SYMRNN_REQUIRE_TOOLS=1 (set by `make test`, hence CI) a missing external
program (dot, pdflatex) fails the test instead of skipping it.
"""

import os
import shutil

import pytest


def require_program(name: str) -> None:
    if shutil.which(name) is None:
        if os.environ.get("SYMRNN_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{name} is required (SYMRNN_REQUIRE_TOOLS=1) but not installed")
        pytest.skip(f"{name} is not installed")
