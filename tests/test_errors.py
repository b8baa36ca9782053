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
