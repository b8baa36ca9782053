"""A stage shows a user error as one line; a bug as one line, its traceback in the job log."""

from __future__ import annotations

import json
import sys

from conftest import ROOT, run

from bloomtune.checks import load_params
from bloomtune.reporting.runs import run_folder

PARAMS = load_params([ROOT / "params.yaml"])
RUNS = [(t, s) for t in PARAMS["tuners"] for s in PARAMS["seeds"]]


def _report(tmp_path, metrics: str | None):
    """Run the report stage on results whose metrics JSONs hold `metrics` (None: missing)."""
    folder = tmp_path / "results"
    for tuner, seed in RUNS:
        tuning, epochs = (
            run_folder(folder / name, tuner, seed) for name in ("tuning", "best_epoch")
        )
        for path in (tuning, epochs, folder / "metrics" / tuner):
            path.mkdir(parents=True, exist_ok=True)
        if metrics is not None:
            run_folder(folder / "metrics", tuner, seed).with_suffix(".json").write_text(metrics)
        (tuning / "best.json").write_text("{}")
        (tuning / "trials.csv").write_text("trial\n0\n")
        (epochs / "history.csv").write_text("epoch\n1\n")
        (epochs / "best_epoch.json").write_text('{"best_epoch": 1}')
    log = folder / "logs" / "report.log"
    command = [
        sys.executable, "scripts/report.py", "--params", "params.yaml",
        "--tuning", str(folder / "tuning"), "--metrics", str(folder / "metrics"),
        "--best-epoch", str(folder / "best_epoch"), "--out", str(folder / "report"),
        "--replay-verdict", str(folder / "metrics" / "replay.json"), "--log", str(log),
    ]  # fmt: skip
    return run(command, ROOT, check=False), log.read_text()


def _errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if " ERROR " in line]


def test_an_unexpected_exception_prints_one_line_and_logs_its_traceback(tmp_path):
    result, log = _report(tmp_path, json.dumps({"tuner": "x"}))  # no "objective": a bug's shape
    assert result.returncode == 1
    (error,) = _errors(result)
    assert "report failed unexpectedly: KeyError: 'objective'" in error
    assert "traceback in" in error and "report.log" in error
    assert "Traceback" not in result.stderr
    assert "Traceback (most recent call last)" in log
    assert "KeyError: 'objective'" in log.splitlines()[-1]


def test_a_user_error_stays_one_line_without_a_traceback(tmp_path):
    result, log = _report(tmp_path, None)  # a missing input file
    assert result.returncode == 1
    (error,) = _errors(result)
    assert "report failed: [Errno 2] No such file or directory" in error
    assert "Traceback" not in result.stderr + log


def test_a_log_that_cannot_be_written_is_one_line_naming_it(tmp_path):
    log = tmp_path / "not_a_folder"
    log.write_text("")  # a file where the log's folder should be
    command = [sys.executable, "scripts/download.py", "--params", "params.yaml",
               "--out", str(tmp_path / "raw"), "--log", str(log / "download.log")]  # fmt: skip
    result = run(command, ROOT, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"download failed: {log / 'download.log'}: cannot write the job's log: File exists"
    )


def test_a_full_disk_names_the_output_it_could_not_write(tmp_path):
    import errno

    import pytest

    from bloomtune.files import atomic_path

    target = tmp_path / "summary.csv"
    with pytest.raises(OSError) as caught, atomic_path(target):
        raise OSError(errno.ENOSPC, "No space left on device")  # as a write() on a full disk
    assert str(caught.value) == f"[Errno 28] No space left on device: '{target}'"
    assert not target.exists() and list(tmp_path.iterdir()) == []  # nothing half-written
