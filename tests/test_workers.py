"""Parallel workers within one search: the budget holds for the search as a whole, every trial is
in the ledger once, and a worker killed mid-trial has its trial failed while the others finish.

The PostgreSQL tests start a throwaway server on 127.0.0.1 (tests/postgres_server.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT, tool_env
from postgres_server import postgres_server
from tuning_data import tiny_data

from bloomtune.data.standardise import standardise
from bloomtune.data.synthetic import write_synthetic
from bloomtune.settings import StandardiseSettings

MAX_TRIALS = 6


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tiny_data(tmp_path_factory.mktemp("workers"))


@pytest.fixture(scope="module")
def slower_data(tmp_path_factory):
    """Enough images that an epoch lasts a few tenths of a second: a worker seen one epoch into a
    trial is still in it when the kill lands."""
    folder = tmp_path_factory.mktemp("slower")
    write_synthetic(folder / "raw", n_classes=3, images_per_class=80, image_size=48, seed=0)
    settings = StandardiseSettings(image_size=32, split="blog", interpolation="area")
    standardise(settings, folder / "raw", folder / "std", threads=2)
    return folder / "std"


def _start(tmp_path, data, tuner: str, entry: dict, tuning: dict | None = None, env=None):
    overlay = tmp_path / "workers.yaml"
    budget = {"max_trials": MAX_TRIALS, "max_epochs": 3, **(tuning or {})}
    overlay.write_text(yaml.safe_dump({"tuning": budget, "tuners": {tuner: entry}}))
    command = [
        sys.executable, "scripts/tune.py", "--params", "params.yaml", "config/smoke.yaml",
        str(overlay), "--tuner", tuner, "--seed", "1", "--data", str(data),
        "--out", str(tmp_path / "tuning"), "--state", str(tmp_path / "state"),
        "--log", str(tmp_path / "tune.log"),
    ]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, env={**tool_env(), **(env or {})}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _finish(process, tmp_path, timeout=300) -> pd.DataFrame:
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    log = (tmp_path / "tune.log").read_text()
    assert code == 0, log[-3000:]
    return pd.read_csv(tmp_path / "tuning" / "trials.csv")


def _kill_a_worker_mid_trial(process, tmp_path, timeout=240) -> int:
    """SIGKILL the first worker seen one epoch into a trial of three (another trial having
    finished); the killed trial's number."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        for running in (tmp_path / "state").glob("*/running.json"):
            ledger = running.parent / "ledger.jsonl"
            try:
                entries = json.loads(running.read_text())
            except (OSError, ValueError):
                continue
            busy = [e for e in entries.values() if e.get("trial") is not None and e["epochs"] == 1]
            if busy and ledger.exists() and ledger.read_text().strip():
                os.kill(busy[0]["pid"], signal.SIGKILL)
                return busy[0]["trial"]
        time.sleep(0.02)
    raise AssertionError("no worker was seen mid-trial")


def _check_ledger(trials: pd.DataFrame) -> None:
    assert len(trials) == MAX_TRIALS  # the budget of the search, not of each worker
    assert sorted(trials["trial"]) == list(range(MAX_TRIALS))  # each trial once, none lost


def _killed_row(trials: pd.DataFrame, killed: int) -> pd.Series:
    failed = trials[trials["status"] == "failed"]
    assert failed["trial"].tolist() == [killed], trials[["trial", "status", "failure_reason"]]
    assert "killed by SIGKILL" in failed.iloc[0]["failure_reason"]
    assert failed.iloc[0]["epochs_run"] in (1, 2)  # what it spent, counted by the budget
    assert (trials["status"] != "failed").sum() == MAX_TRIALS - 1  # the others finished it
    return failed.iloc[0]


def _study_trials(url: str) -> list:
    import optuna

    (name,) = optuna.get_all_study_names(url)
    return optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)


def test_two_optuna_workers_share_a_journal_study_within_the_budget(tmp_path, data):
    trials = _finish(_start(tmp_path, data, "optuna_tpe", {"workers": 2}), tmp_path)
    _check_ledger(trials)
    assert (trials["status"] == "complete").all()
    log = (tmp_path / "tune.log").read_text()
    assert "[worker 1]" in log and "[worker 2]" in log  # both ran trials, into one job log
    best = json.loads((tmp_path / "tuning" / "best.json").read_text())
    assert best["options"]["workers"] == 2


def test_an_epoch_budget_holds_across_workers(tmp_path, data):
    process = _start(tmp_path, data, "optuna_tpe", {"workers": 2}, {"max_total_epochs": 7})
    trials = _finish(process, tmp_path)
    assert trials["epochs_run"].sum() <= 7  # never over, though two trials ran at once
    assert trials["epochs_run"].sum() >= 7 - 2


PASSWORD = "s3cret-not-in-any-file"


@pytest.mark.database
def test_optuna_workers_on_postgresql_survive_a_killed_worker(tmp_path, slower_data):
    # The password reaches the job in an environment variable the params name, and no file the
    # run writes holds it (results, logs, state, the overlay).
    from sqlalchemy.engine import make_url

    with postgres_server(password=PASSWORD) as url:
        entry = {"workers": 2, "storage": url, "storage_password_env": "BT_TEST_DB_PASSWORD"}
        env = {"BT_TEST_DB_PASSWORD": PASSWORD}
        process = _start(tmp_path, slower_data, "optuna_tpe", entry, env=env)
        number = _kill_a_worker_mid_trial(process, tmp_path)
        trials = _finish(process, tmp_path)
        study = _study_trials(make_url(url).set(password=PASSWORD).render_as_string(False))
    holding = [p for p in tmp_path.rglob("*") if p.is_file() and PASSWORD.encode() in
               p.read_bytes()]  # fmt: skip
    assert holding == []
    _check_ledger(trials)
    killed = _killed_row(trials, number)
    states = {t.number: t.state.name for t in study}
    assert len(study) == MAX_TRIALS  # exactly the budget's trials in the shared study
    assert states[int(killed["trial"])] == "FAIL"
    expected = {int(r.trial): "FAIL" if r.status == "failed" else "COMPLETE"
                for r in trials.itertuples()}  # fmt: skip
    assert states == expected


def test_keras_tuner_chief_and_workers_survive_a_killed_worker(tmp_path, slower_data):
    # Keras Tuner keeps its oracle in the tune job (the chief), its workers ask it over gRPC.
    process = _start(tmp_path, slower_data, "kt_random", {"workers": 2})
    number = _kill_a_worker_mid_trial(process, tmp_path)
    trials = _finish(process, tmp_path)
    _check_ledger(trials)
    killed = _killed_row(trials, number)
    oracle_trials = {
        int(json.loads(p.read_text())["trial_id"]): json.loads(p.read_text())["status"]
        for p in Path(tmp_path / "state").glob("*/keras_tuner/trial_*/trial.json")
    }
    assert len(oracle_trials) == MAX_TRIALS
    assert oracle_trials[int(killed["trial"])] == "FAILED"
