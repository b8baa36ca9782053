"""Formatting and lint are clean: ruff for Python, snakefmt for the Snakefile and rules/."""

from __future__ import annotations

import shutil

import pytest
from conftest import BIN, ROOT, run


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["snakefmt", "--check", "Snakefile", "rules"],
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


def test_imports_go_down_the_layers_and_a_back_import_is_caught(tmp_path):
    # The contract in pyproject.toml (import-linter): kept by the package as it is, broken by
    # one import from a lower layer into a higher one.
    lint = [str(BIN / "lint-imports"), "--no-cache"]
    kept = run(lint, ROOT, check=False)
    assert kept.returncode == 0 and "0 broken" in kept.stdout, kept.stdout + kept.stderr
    shutil.copytree(ROOT / "bloomtune", tmp_path / "bloomtune")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with open(tmp_path / "bloomtune" / "data" / "dataset.py", "a") as fh:
        fh.write("\nfrom bloomtune.reporting import report  # noqa: E402, F401\n")
    broken = run(lint, tmp_path, check=False)
    assert broken.returncode != 0
    assert "bloomtune.data.dataset -> bloomtune.reporting.report" in broken.stdout
