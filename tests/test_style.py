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


def test_no_private_optuna_api_is_used():
    # Trials are asked and told through Optuna's public API, interrupted ones included.
    for path in (ROOT / "bloomtune").rglob("*.py"):
        text = path.read_text()
        for private in ("._storage", "._trial_id", "study._", "trial._"):
            assert private not in text, f"{path.relative_to(ROOT)} uses {private}"
