"""Tuning: one ledger for every tuner, pruning, failed trials, seeds and fresh searches."""

from __future__ import annotations

import json
import signal
import time
from dataclasses import replace

import pandas as pd
import pytest
from tuning_data import tiny_data, tune_settings

from bloomtune.errors import TuningError
from bloomtune.tuning.ledger import ledger_columns
from bloomtune.tuning.pruners import make_pruner
from bloomtune.tuning.tune import run_tuning


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tiny_data(tmp_path_factory.mktemp("tiny"))


def _tune(data, tmp_path, tuner, settings=None, **tuning):
    settings = settings or tune_settings(tuner, **tuning)
    out = tmp_path / "tuning" / tuner
    best = run_tuning(settings, data, out, tmp_path / "state" / tuner)
    return best, pd.read_csv(out / "trials.csv")


def test_ledger_has_the_same_columns_for_every_tuner_and_totals_add_up(data, tmp_path):
    columns = ledger_columns(["filters", "kernel_size", "strides", "activation", "learning_rate"])
    for tuner in (
        "optuna_tpe",
        "optuna_tpe_hyperband",
        "kt_random",
        "kt_bayesian",
        "kt_hyperband",
    ):
        best, trials = _tune(data, tmp_path, tuner, max_trials=2, max_epochs=2)
        assert trials.columns.tolist() == columns, tuner
        assert len(trials) == 2
        totals = best["totals"]
        assert totals["epochs_consumed"] == trials["epochs_run"].sum() > 0
        assert totals["trials"] == totals["complete"] + totals["pruned"] + totals["failed"]
        assert totals["wall_s"] == pytest.approx(trials["wall_s"].sum(), abs=0.01)
        assert (trials.loc[trials.epochs_run > 0, "wall_s"] > 0).all()  # its epochs' seconds
        # A trial's score is its best epoch's value, whatever the framework.
        complete = trials[trials.status == "complete"]
        assert (complete["score"] == complete["val_accuracy"]).all()
        assert best["score"] == complete["score"].max()


def test_optuna_prunes_and_the_ledger_says_so(data, tmp_path):
    # val_loss: a continuous objective, so trials rarely tie with the median
    median = {"tuners": {"optuna_tpe": {"pruner": "median"}}}
    settings = tune_settings(
        "optuna_tpe", median, max_trials=8, max_epochs=4, objective="val_loss"
    )
    best, trials = _tune(data, tmp_path, "optuna_tpe", settings)
    pruned = trials[trials.status == "pruned"]
    assert len(pruned) >= 1
    assert (pruned["epochs_run"] < 4).all()
    assert best["totals"]["pruned"] == len(pruned)
    assert best["totals"]["epochs_consumed"] == trials["epochs_run"].sum() < 8 * 4


def _pruned_trials(pruner, options, curves):
    """Which of these learning curves (trial by trial) the configured Optuna pruner stops."""
    import optuna

    study = optuna.create_study(direction="maximize", pruner=make_pruner(pruner, 4, options))
    pruned = []
    for number, curve in enumerate(curves):
        trial = study.ask()
        for epoch, value in enumerate(curve):
            trial.report(value, epoch)
            if trial.should_prune():
                pruned.append(number)
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                break
        else:
            study.tell(trial, max(curve))
    return pruned


def test_pruner_options_reach_the_optuna_pruner():
    good, bad = [0.5, 0.6, 0.7, 0.8], [0.1, 0.1, 0.1, 0.1]
    curves = [good, good, bad, bad, good, bad]
    assert _pruned_trials("median", {}, curves) == [2, 3, 5]  # defaults: 2 start-up trials
    assert _pruned_trials("median", {"n_startup_trials": 4}, curves) == [5]
    # keep the top 10 %: a trial a little below the best is stopped too
    low, almost = [0.3, 0.4, 0.5, 0.6], [0.45, 0.55, 0.65, 0.75]
    assert _pruned_trials("percentile", {"percentile": 10.0}, [good, low, almost]) == [2]
    assert _pruned_trials("percentile", {"percentile": 90.0}, [good, low, almost]) == []


@pytest.mark.parametrize("tuner", ["optuna_tpe", "kt_random"])
def test_oversized_trials_are_recorded_failed_and_the_search_goes_on(data, tmp_path, tuner):
    # Seed 42 draws both strides within 4 trials (for either framework).
    strides = {
        "seeds": [42],
        "search_space": {"strides": {"type": "categorical", "choices": [1, 4]}},
    }
    settings = tune_settings(tuner, strides, max_trials=4, max_epochs=1, max_model_params=30_000)
    best, trials = _tune(data, tmp_path, tuner, settings)
    failed = trials[trials.status == "failed"]
    assert len(trials) == 4 and len(failed) >= 1
    assert failed["failure_reason"].str.contains("max_model_params").all()
    assert (failed["strides"] == 1).all() and (failed["epochs_run"] == 0).all()
    assert best["hyperparameters"]["strides"] == 4


def test_a_tuner_whose_every_trial_fails_ends_with_a_clear_error(data, tmp_path):
    # A limit below every model (the params check refuses one in params; `auto` on a job with
    # little memory can still give one).
    settings = tune_settings("kt_random", max_trials=2, max_epochs=1)
    settings = replace(settings, budget=replace(settings.budget, max_model_params=10))
    with pytest.raises(TuningError, match=r"kt_random: every one of 2 trials failed"):
        _tune(data, tmp_path, "kt_random", settings)


@pytest.mark.parametrize("tuner", ["optuna_tpe", "kt_bayesian"])
def test_same_seed_gives_the_same_suggestions(data, tmp_path, tuner):
    hp = ["filters", "kernel_size", "strides", "activation", "learning_rate"]
    _, first = _tune(data, tmp_path / "a", tuner, max_trials=3, max_epochs=1)
    _, again = _tune(data, tmp_path / "b", tuner, max_trials=3, max_epochs=1)
    assert first[hp].equals(again[hp])
    settings = tune_settings(tuner, {"seeds": [7]}, max_trials=3, max_epochs=1)
    _, other = _tune(data, tmp_path / "c", tuner, settings)
    assert not first[hp].equals(other[hp])


def test_total_epoch_budget_stops_every_framework(data, tmp_path):
    for tuner in ("optuna_tpe", "kt_random"):
        best, trials = _tune(data, tmp_path, tuner, max_trials=5, max_epochs=2, max_total_epochs=3)
        assert best["totals"]["epochs_consumed"] == 3, tuner


def test_keras_tuner_hyperband_runs_until_the_shared_budget_is_spent(data, tmp_path):
    # One Hyperband iteration at max_epochs 1 is one trial: with one iteration it stopped at 1
    # of 3 budgeted trials, a smaller search than the other tuners'.
    best, trials = _tune(data, tmp_path, "kt_hyperband", max_trials=3, max_epochs=1)
    assert len(trials) == 3 and best["totals"]["epochs_consumed"] == 3


def test_a_finished_search_is_not_rerun_and_a_changed_one_starts_fresh(data, tmp_path):
    _, first = _tune(data, tmp_path, "optuna_tpe", max_trials=2, max_epochs=1)
    _, same = _tune(data, tmp_path, "optuna_tpe", max_trials=2, max_epochs=1)
    assert same["start_time"].tolist() == first["start_time"].tolist()  # nothing retrained
    _, changed = _tune(data, tmp_path, "optuna_tpe", max_trials=3, max_epochs=1)
    assert len(changed) == 3
    assert not set(changed["start_time"]) & set(first["start_time"])
    states = [p.name for p in (tmp_path / "state" / "optuna_tpe").iterdir()]
    assert sorted(states) == [".lock", best_key(tmp_path)]  # the old search's state was discarded
    best = json.loads((tmp_path / "tuning" / "optuna_tpe" / "best.json").read_text())
    assert best["settings"]["budget"]["max_trials"] == 3


def best_key(tmp_path) -> str:
    """The state folder name best.json records for the search."""
    return json.loads((tmp_path / "tuning" / "optuna_tpe" / "best.json").read_text())[
        "params_fingerprint"
    ]


def test_optuna_accepts_an_rdb_storage(data, tmp_path):
    import optuna

    url = f"sqlite:///{tmp_path / 'studies.db'}"
    storage = {"tuners": {"optuna_tpe": {"storage": url}}}
    settings = tune_settings("optuna_tpe", storage, max_trials=2, max_epochs=1)
    _, trials = _tune(data, tmp_path, "optuna_tpe", settings)
    studies = optuna.get_all_study_summaries(storage=url)
    assert len(studies) == 1 and studies[0].n_trials == len(trials) == 2


def test_a_search_over_its_epoch_budget_fails_its_check():
    from bloomtune.model_settings import Budget
    from bloomtune.tuning.results import check_budget

    budget = Budget("val_accuracy", max_trials=10, max_epochs=4, max_total_epochs=6)
    rows = [{"epochs_run": 4, "end_time": "t1"}, {"epochs_run": 4, "end_time": "t2"}]
    check_budget("kt_random", rows, budget)  # 8 epochs: over by 2, within the last trial's 4
    rows.append({"epochs_run": 1, "end_time": "t3"})
    with pytest.raises(
        TuningError, match=r"consumed 9 epochs, over tuning.max_total_epochs \(6\)"
    ):
        check_budget("kt_random", rows, budget)


def test_a_mute_database_fails_the_search_in_bounded_time_naming_its_key(tmp_path, monkeypatch):
    # A server that accepts connections and never answers used to hang the tune job silently.
    import socket

    from bloomtune.errors import TuningError
    from bloomtune.tuning import optuna_adapter

    mute = socket.create_server(("127.0.0.1", 0))  # the kernel accepts; nothing ever answers
    port = mute.getsockname()[1]
    monkeypatch.setattr(optuna_adapter, "CONNECT_TIMEOUT_S", 2)
    url = f"postgresql+psycopg2://bloom@127.0.0.1:{port}/study"
    monkeypatch.setenv("BT_MUTE_PASSWORD", "secret")  # the password never sits in the params
    storage = {"tuners": {"optuna_tpe": {"storage": url,
                                         "storage_password_env": "BT_MUTE_PASSWORD"}}}  # fmt: skip
    settings = tune_settings("optuna_tpe", storage, max_trials=1, max_epochs=1)
    start = time.monotonic()

    def hung(signum, frame):  # a test may fail, never hang
        raise TimeoutError("the storage never gave up on the mute server")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        with pytest.raises(TuningError) as caught, optuna_adapter.storage_errors(settings):
            optuna_adapter.storage_for(settings, tmp_path)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        mute.close()
    assert time.monotonic() - start < 30
    message = str(caught.value)
    assert message.startswith(
        f"tuners.optuna_tpe.storage: postgresql+psycopg2://bloom@127.0.0.1:{port}/study failed: "
    )
    assert "secret" not in message and "\n" not in message
