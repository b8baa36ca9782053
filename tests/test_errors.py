"""A stage shows a user error as one line; a bug as one line, its traceback in the job log."""

from __future__ import annotations

import json
import sys

from conftest import ROOT, run

from bloomtune.params import load_params

TUNERS = list(load_params([ROOT / "params.yaml"])["tuners"])


def _report(tmp_path, metrics: str | None):
    """Run the report stage on results whose metrics JSONs hold `metrics` (None: missing)."""
    folder = tmp_path / "results"
    (folder / "metrics").mkdir(parents=True)
    for tuner in TUNERS:
        if metrics is not None:
            (folder / "metrics" / f"{tuner}.json").write_text(metrics)
        for name in ("tuning", "best_epoch"):
            (folder / name / tuner).mkdir(parents=True)
        (folder / "tuning" / tuner / "best.json").write_text("{}")
        (folder / "tuning" / tuner / "trials.csv").write_text("trial\n0\n")
        (folder / "best_epoch" / tuner / "history.csv").write_text("epoch\n1\n")
        (folder / "best_epoch" / tuner / "best_epoch.json").write_text('{"best_epoch": 1}')
    log = folder / "logs" / "report.log"
    command = [
        sys.executable, "scripts/report.py", "--params", "params.yaml",
        "--tuning", str(folder / "tuning"), "--metrics", str(folder / "metrics"),
        "--best-epoch", str(folder / "best_epoch"), "--out", str(folder / "report"),
        "--log", str(log),
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
