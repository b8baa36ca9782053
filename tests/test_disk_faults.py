"""Full and read-only disks, for real (a small tmpfs mounted for the test): each stops the
stage in one line that names where, and none ends well with an empty log."""

from __future__ import annotations

import contextlib
import subprocess
import sys

import pytest
from conftest import ROOT, copy_project, run, snakemake


@contextlib.contextmanager
def _mounted(folder, *options: str):
    """A 256 KB tmpfs at `folder` (skips where mounting is not allowed)."""
    folder.mkdir(parents=True, exist_ok=True)
    options = ",".join(["size=256k", *options])
    command = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]
    mount = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if mount.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


def _fill(folder) -> None:
    with contextlib.suppress(OSError), open(folder / "filler", "wb") as fh:
        while True:
            fh.write(b"\0" * 65536)
            fh.flush()


def _download(out, log, check=False):
    command = [sys.executable, "scripts/download.py", "--params", "params.yaml",
               "config/smoke.yaml", "--out", str(out), "--log", str(log)]  # fmt: skip
    return run(command, ROOT, check=check)


def test_a_full_log_disk_fails_the_stage_saying_so(tmp_path):
    # It exited 0 with an empty log.
    with _mounted(tmp_path / "logs") as logs:
        _fill(logs)
        done = _download(tmp_path / "raw", logs / "download.log")
    assert done.returncode == 1, done
    assert f"its log {logs / 'download.log'} lost lines: No space left on device" in done.stderr


def test_a_full_output_disk_names_where_it_is_full(tmp_path):
    # "[Errno 28] No space left on device", no path.
    with _mounted(tmp_path / "data") as data:
        _fill(data)
        done = _download(data / "raw", tmp_path / "download.log")
    assert done.returncode == 1, (done.stdout, done.stderr)
    (line,) = [x for x in done.stderr.splitlines() if "failed" in x]
    assert "no space left on device writing " in line and str(data) in line, line
    assert not (data / "raw").exists()  # nothing half-written left behind


def test_a_read_only_log_folder_under_snakemake_is_one_line(tmp_path):
    # Snakemake printed its own 19-line traceback.
    project = copy_project(tmp_path / "project", overlay="config/smoke.yaml")
    with _mounted(project / "results" / "logs", "ro"):
        refused = snakemake(["--cores", "1", "data/raw"], project, check=False)
    assert refused.returncode == 1, refused
    assert "results/logs: cannot write there (Read-only file system)" in refused.stderr
    assert "Traceback" not in refused.stderr and not (project / "data" / "raw").exists()
