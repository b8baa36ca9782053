"""The project's run lock: one orchestrator at a time, its own stages let through, stages run
by hand side by side, and a killed holder leaves no lock."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import BIN, ROOT, tool_env

from bloomtune.files import Busy
from bloomtune.run_lock import ENV, LOCK, stage_run

# A holder in its own process (flock locks belong to the open file, so a holder in the test's own
# process would also conflict, but would leave its token in the test's environment).
ORCHESTRATOR = "from bloomtune.run_lock import hold; print(hold('snakemake'), flush=True); input()"
STAGE = (
    "from bloomtune.run_lock import stage_run\n"
    "with stage_run('tune'):\n    print('held', flush=True); input()"
)


def _holder(code: str, root):
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=root, env=tool_env(), text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    line = process.stdout.readline().strip()
    assert line, "the holder did not start"
    return process, line


def _repro(root) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "python"), "-m", "bloomtune.repro", "--dry"], cwd=root, env=tool_env(),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_an_orchestrator_holds_the_project_against_stages_it_did_not_start(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.syspath_prepend(str(ROOT))
    process, token = _holder(ORCHESTRATOR, tmp_path)
    try:
        assert token.startswith("snakemake (pid ")
        with pytest.raises(
            Busy, match=r"stages are held by snakemake \(pid \d+ .*\), so the tune stage would"
        ):
            with stage_run("tune", tmp_path):
                pass
        refused = _repro(tmp_path)  # DVC's wrapper is refused before DVC can delete anything
        assert refused.returncode == 1, refused
        assert refused.stderr.startswith("dvc repro refused: ") and token in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        monkeypatch.setenv(ENV, token)  # a stage the orchestrator started carries its token
        with stage_run("tune", tmp_path):
            pass
    finally:
        process.kill()
        process.wait(timeout=30)
    monkeypatch.delenv(ENV)
    with stage_run("tune", tmp_path):  # the kernel let the killed holder's lock go
        pass
    assert (tmp_path / LOCK).exists()


def test_stages_run_by_hand_run_side_by_side_and_keep_orchestrators_out(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    process, _ = _holder(STAGE, tmp_path)
    try:
        with stage_run("evaluate", tmp_path):  # another stage by hand: both run
            pass
        refused = _repro(tmp_path)
        assert (
            refused.returncode == 1 and "outside an orchestrator (the latest: " in refused.stderr
        ), refused
    finally:
        process.kill()
        process.wait(timeout=30)
