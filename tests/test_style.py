"""Formatting and lint are clean: ruff for Python, snakefmt for the Snakefile."""

from __future__ import annotations

import pytest
from conftest import BIN, ROOT, run


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["snakefmt", "--check", "Snakefile"],
    ],
    ids=["ruff-check", "ruff-format", "snakefmt"],
)
def test_style(command):
    result = run([str(BIN / command[0]), *command[1:]], ROOT, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
