"""A tune job killed with SIGKILL mid-search resumes: finished trials kept, budget completed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml
from conftest import ROOT, tool_env
from tuning_data import tiny_data


def _journal_storage(path):
    """The Optuna journal storage a tune job keeps in its state folder."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(path)))


def _optuna_open_trials(state) -> set[int]:
    """The trials the Optuna study holds RUNNING (asked, not told)."""
    import optuna

    numbers = set()
    for path in state.glob("*/optuna.journal"):
        storage = _journal_storage(path)
        for name in optuna.get_all_study_names(storage):
            study = optuna.load_study(study_name=name, storage=storage)
            running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
            numbers |= {trial.number for trial in running}
    return numbers


def _trial_running(state) -> bool:
    """Whether a trial is in progress: the shared budget holds it in running.json."""
    for path in state.glob("*/running.json"):
        try:
            running = json.loads(path.read_text())
        except ValueError:  # being replaced
            continue
        if any(entry.get("trial") is not None for entry in running.values()):
            return True
    return False


def _journal_rows(state):
    rows = []
    for journal in state.glob("*/ledger.jsonl"):
        rows += [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    return rows


@pytest.mark.parametrize(("tuner", "workers"), [("optuna_tpe", 1), ("optuna_tpe", 2),
                                               ("kt_random", 1)])  # fmt: skip
def test_sigkill_then_rerun_resumes(tmp_path, tuner, workers):
    # With two Optuna workers a kill inside a journal write left a lock no rerun could take
    # (it waited for ever): the rerun must end, within two minutes (two workers each start
    # TensorFlow; beside the other test workers on 2 cores a minute was once too short).
    data = tiny_data(tmp_path)
    budget = tmp_path / "budget.yaml"
    budget.write_text(yaml.safe_dump({"tuning": {"max_trials": 4, "max_epochs": 3},
                                      "tuners": {tuner: {"workers": workers}}}))  # fmt: skip
    out, state = tmp_path / "tuning", tmp_path / "state"
    command = [
        sys.executable, "scripts/tune.py", "--params", "params.yaml", "config/smoke.yaml",
        str(budget), "--tuner", tuner, "--seed", "1", "--data", str(data), "--out", str(out),
        "--state", str(state),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=tool_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # its workers with it
    )  # fmt: skip
    deadline = time.monotonic() + 180

    def ready() -> bool:
        # Kill inside the second trial, so it must be recorded failed on resume.
        return bool(_journal_rows(state)) and _trial_running(state)

    while not ready() and time.monotonic() < deadline:
        assert process.poll() is None, "tune ended before it could be killed"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(0.5)  # the workers' deaths
    (running,) = [json.loads(p.read_text()) for p in state.glob("*/running.json")]
    before = {row["trial"]: row for row in _journal_rows(state)}
    # The trial it was training (rarely, none: killed between journalling a row and freeing its
    # slot, when the trial held is already in the ledger).
    held = sorted((e["trial"], e["epochs"]) for e in running.values()
                  if e.get("trial") is not None and e["trial"] not in before)  # fmt: skip
    if tuner.startswith("optuna"):
        # A kill between Optuna's ask (journalled) and the budget's write of running.json
        # leaves a trial only the study holds: it trained nothing, and is closed interrupted too.
        numbers = {number for number, _ in held} | set(before)
        held += [(n, 0) for n in sorted(_optuna_open_trials(state) - numbers)]
        held.sort()
    assert 1 <= len(before) < 4
    assert not (out / "trials.csv").exists()

    rerun = subprocess.run(command, cwd=ROOT, env=tool_env(), check=True, capture_output=True,
                           timeout=120)  # fmt: skip
    said = (rerun.stdout + rerun.stderr).decode()
    for number, _ in held:  # before, Keras Tuner said "trial 1 finished before the restart"
        assert f"trial {number} finished before the restart" not in said
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 4 and trials["trial"].is_unique
    kept = trials.set_index("trial")
    for number, row in before.items():  # finished trials were kept, not retrained
        assert kept.loc[number, "start_time"] == row["start_time"]
    interrupted = trials[trials["failure_reason"].astype(str).str.startswith("interrupted")]
    # Both frameworks record the trial the kill landed in as failed, with the epochs it had
    # trained (the budget counts them), and neither trains that trial again; Optuna tries its
    # configuration again as a new trial, where the budget has one left.
    assert sorted(zip(interrupted["trial"], interrupted["epochs_run"], strict=True)) == held
    assert (trials["status"] == "complete").sum() == 4 - len(held)
    # (A trial killed before its first epoch may have had no values yet: nothing to compare.)
    trained = [n for n, epochs in held if epochs > 0]
    if tuner.startswith("optuna") and trained and len(before) + len(held) < 4:
        hp = ["filters", "kernel_size", "strides", "activation", "learning_rate"]
        later = trials[trials["trial"] > trained[0]][hp].astype(str)
        assert kept.loc[trained[0], hp].astype(str).tolist() in later.values.tolist()


def test_keras_tuner_does_not_retrain_a_trial_the_journal_holds(tmp_path):
    # The kill can land after a trial is journalled but before Keras Tuner saves its oracle; the
    # oracle then hands the same trial out again. Simulate it: lose the oracle after 2 of 3 trials.
    from tuning_data import tune_settings

    from bloomtune.tuning.tune import run_tuning

    data = tiny_data(tmp_path)
    settings = tune_settings("kt_random", max_trials=3, max_epochs=1)
    out, state = tmp_path / "tuning", tmp_path / "state"
    run_tuning(settings, data, out, state)
    first = pd.read_csv(out / "trials.csv").set_index("trial")
    (journal,) = state.glob("*/ledger.jsonl")
    journal.write_text("".join(journal.read_text().splitlines(keepends=True)[:2]))
    shutil.rmtree(journal.parent / "keras_tuner")

    run_tuning(settings, data, out, state)
    again = pd.read_csv(out / "trials.csv").set_index("trial")
    assert sorted(again.index) == [0, 1, 2]
    for number in (0, 1):  # kept from the journal, not retrained
        assert again.loc[number, "start_time"] == first.loc[number, "start_time"]
    assert again.loc[2, "start_time"] > first.loc[2, "start_time"]


def test_optuna_closes_a_journalled_trial_as_it_finished(tmp_path, monkeypatch):
    # The kill can land after a trial is journalled but before Optuna's tell; the study then
    # holds it RUNNING. On resume it is closed with its journalled score, not failed or retrained.
    import optuna
    from tuning_data import tune_settings

    from bloomtune.tuning.budget import SharedBudget
    from bloomtune.tuning.tune import run_tuning

    data = tiny_data(tmp_path)
    settings = tune_settings("optuna_tpe", max_trials=3, max_epochs=1)
    out, state = tmp_path / "tuning", tmp_path / "state"
    finish = SharedBudget.finish

    def finish_then_die(self, row):
        finish(self, row)  # journalled, its slot freed
        if row["trial"] == 1:
            raise SystemExit("killed")  # not an Exception: Optuna leaves the trial RUNNING

    monkeypatch.setattr(SharedBudget, "finish", finish_then_die)
    with pytest.raises(SystemExit):
        run_tuning(settings, data, out, state)
    monkeypatch.setattr(SharedBudget, "finish", finish)
    (journal,) = state.glob("*/optuna.journal")
    storage = _journal_storage(journal)
    (name,) = optuna.get_all_study_names(storage)
    assert optuna.load_study(study_name=name, storage=storage).trials[1].state.name == "RUNNING"
    journalled = _journal_rows(state)[1]

    run_tuning(settings, data, out, state)
    trials = pd.read_csv(out / "trials.csv").set_index("trial")
    assert sorted(trials.index) == [0, 1, 2]
    assert trials.loc[1, "start_time"] == journalled["start_time"]
    assert trials.loc[1, "status"] == "complete"
    study = optuna.load_study(study_name=name, storage=storage)
    assert study.trials[1].state.name == "COMPLETE"
    assert study.trials[1].value == pytest.approx(journalled["score"])


def test_a_resumed_optuna_search_does_not_repeat_its_start_up_draws(tmp_path, monkeypatch):
    # Killed during TPE's random start-up (its first 10 trials): the resumed search must not draw
    # the configurations it already tried again, as a sampler restarted on the same seed would.
    from tuning_data import tune_settings

    from bloomtune.tuning.budget import SharedBudget
    from bloomtune.tuning.tune import run_tuning

    data = tiny_data(tmp_path)
    settings = tune_settings("optuna_tpe", max_trials=5, max_epochs=1)
    hp = list(settings.space.names)
    run_tuning(settings, data, tmp_path / "whole", tmp_path / "whole_state")
    whole = pd.read_csv(tmp_path / "whole" / "trials.csv")
    finish = SharedBudget.finish

    def finish_then_die(self, row):
        finish(self, row)
        if row["trial"] == 1:
            raise SystemExit("killed")

    monkeypatch.setattr(SharedBudget, "finish", finish_then_die)
    with pytest.raises(SystemExit):
        run_tuning(settings, data, tmp_path / "out", tmp_path / "state")
    monkeypatch.setattr(SharedBudget, "finish", finish)
    run_tuning(settings, data, tmp_path / "out", tmp_path / "state")
    resumed = pd.read_csv(tmp_path / "out" / "trials.csv")
    assert len(resumed) == 5
    configs = resumed[hp].astype(str).apply(tuple, axis=1)
    assert configs.nunique() == whole[hp].astype(str).apply(tuple, axis=1).nunique() == 5


@pytest.mark.parametrize(
    ("tuner", "torn"),
    [("optuna_tpe", "ledger.jsonl"), ("optuna_tpe", "optuna.journal"),
     ("kt_random", "keras_tuner/oracle.json")],
)  # fmt: skip
def test_a_file_a_kill_cut_short_is_named_and_mended(tmp_path, monkeypatch, caplog, tuner, torn):
    # Killed while trial 1's ledger row was being written, or while Optuna or Keras Tuner
    # saved their state after it: the rerun names the file and line, mends it and finishes the
    # budget with every trial once (before, every rerun failed on the broken line).
    import logging

    from tuning_data import tune_settings

    from bloomtune.tuning.ledger import Ledger
    from bloomtune.tuning.tune import run_tuning

    data = tiny_data(tmp_path)
    settings = tune_settings(tuner, max_trials=3, max_epochs=1)
    out, state = tmp_path / "tuning", tmp_path / "state"
    append = Ledger.append

    def append_then_die(self, row):
        if row["trial"] != 1:
            return append(self, row)
        if torn == "ledger.jsonl":  # half the line reaches the disk
            with open(self.journal, "ab") as fh:
                fh.write(json.dumps(row).encode()[:40])
        else:
            append(self, row)
        raise SystemExit("killed")

    monkeypatch.setattr(Ledger, "append", append_then_die)
    with pytest.raises(SystemExit):
        run_tuning(settings, data, out, state)
    monkeypatch.setattr(Ledger, "append", append)
    (path,) = state.glob(f"*/{torn}")
    if torn != "ledger.jsonl":
        text = path.read_bytes().rstrip(b"\n")
        path.write_bytes(text[: len(text) - 30])  # its last record cut short
    with caplog.at_level(logging.WARNING, logger="bloomtune"):
        run_tuning(settings, data, out, state)
    said = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert str(path) in said and "cut short" in said
    trials = pd.read_csv(out / "trials.csv")
    assert trials["trial"].tolist() == [0, 1, 2]
    status = trials.set_index("trial")["status"]
    if torn == "ledger.jsonl":  # its row never made it: closed as interrupted
        assert status[1] == "failed" and (status.drop(1) == "complete").all()
    else:
        assert (status == "complete").all()


@pytest.mark.parametrize("tuner", ["optuna_tpe", "kt_random"])
def test_a_ledger_row_lost_after_the_search_is_restored_from_the_framework(
    tmp_path, caplog, tuner
):
    # Before, the rerun recorded the lost trial failed with 0 epochs, so the epoch budget let a
    # new trial train past it (18 epochs against 12), and best.json lost the best trial.
    import logging

    from tuning_data import tune_settings

    from bloomtune.tuning.tune import run_tuning

    data = tiny_data(tmp_path)
    settings = tune_settings(tuner, max_trials=6, max_epochs=1, max_total_epochs=3)
    out, state = tmp_path / "tuning", tmp_path / "state"
    run_tuning(settings, data, out, state)
    before = pd.read_csv(out / "trials.csv")
    assert len(before) == 3
    (journal,) = state.glob("*/ledger.jsonl")
    whole = journal.read_bytes()
    journal.write_bytes(whole[: len(whole) - 40])  # the last row cut short
    with caplog.at_level(logging.WARNING, logger="bloomtune"):
        run_tuning(settings, data, out, state)
    said = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert f"{journal} line 3 was cut short" in said
    assert "trial 2: its ledger row was lost; restored" in said
    pd.testing.assert_frame_equal(pd.read_csv(out / "trials.csv"), before)  # no new trial

    if tuner == "kt_random":  # the framework's copy gone too: lost, its epochs still counted
        journal.write_bytes(whole[: whole.rstrip(b"\n").rfind(b"\n") + 1])  # line deleted
        (copy,) = state.glob("*/keras_tuner/trial_*2/ledger_row.json")
        copy.unlink()
        run_tuning(settings, data, out, state)
        trials = pd.read_csv(out / "trials.csv", keep_default_na=False).set_index("trial")
        assert sorted(trials.index) == [0, 1, 2]
        assert trials.loc[2, "status"] == "failed"
        assert trials.loc[2, "failure_reason"].startswith("lost: its ledger row was cut short")


def test_a_full_disk_stops_the_search_and_the_rerun_tries_the_trial_again(tmp_path, monkeypatch):
    # A full results/state cut a trial: it was journalled failed with "[Errno 28]", no path, and
    # stayed failed after the space was freed, charged to its configuration.
    import errno

    from tuning_data import tune_settings

    from bloomtune.errors import NoSpaceError
    from bloomtune.tuning.budget import SharedBudget
    from bloomtune.tuning.tune import run_tuning

    data = tiny_data(tmp_path)
    settings = tune_settings("optuna_tpe", max_trials=3, max_epochs=2)
    state, out = tmp_path / "state", tmp_path / "out"
    next_epoch, calls = SharedBudget.next_epoch, []

    def full_in_trial_1(self, finished, cpu_s):
        calls.append(finished)
        if len(calls) == 3:  # trial 1's first epoch
            raise OSError(errno.ENOSPC, "No space left on device", str(state / "running.json"))
        return next_epoch(self, finished, cpu_s)

    monkeypatch.setattr(SharedBudget, "next_epoch", full_in_trial_1)
    with pytest.raises(NoSpaceError) as stopped:
        run_tuning(settings, data, out, state)
    message = str(stopped.value)
    assert message.startswith("optuna_tpe trial 1: no space left on device writing ")
    assert str(state / "running.json") in message and "trying this configuration again" in message
    assert [row["trial"] for row in _journal_rows(state)] == [0]  # not recorded failed
    monkeypatch.setattr(SharedBudget, "next_epoch", next_epoch)
    run_tuning(settings, data, out, state)  # the space is back
    trials = pd.read_csv(out / "trials.csv")
    hp = list(settings.space.names)
    assert trials["status"].tolist() == ["complete", "failed", "complete"]
    assert trials.loc[1, "failure_reason"].startswith("interrupted")  # the process, not the trial
    assert trials.loc[1, hp].tolist() == trials.loc[2, hp].tolist()  # its configuration again
