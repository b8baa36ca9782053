"""One trial runner for both frameworks: every failure kind is recorded the same way and the
search goes on."""

from __future__ import annotations

import logging

import keras
import pandas as pd
import pytest
import tensorflow as tf
from tuning_data import tiny_data, tune_settings

from bloomtune.errors import ModelTooLargeError, TuningError
from bloomtune.training import fit
from bloomtune.training.model import build_model
from bloomtune.tuning import optuna_adapter, runner
from bloomtune.tuning.ledger import ledger_columns
from bloomtune.tuning.tune import run_tuning

HP = ["filters", "kernel_size", "strides", "activation", "learning_rate"]


def _nan_loss_model(*args, **kwargs):
    model = build_model(*args, **kwargs)
    model.compile(
        optimizer="rmsprop",
        loss=lambda y_true, y_pred: keras.ops.mean(y_pred) * float("nan"),
        metrics=["accuracy"],
    )
    return model


def _faulty_build():
    """The runner's build that fails trial k with the k-th failure kind, then builds normally."""
    faults = [
        ModelTooLargeError("model would have 9 parameters, over tuning.max_model_params (1)"),
        MemoryError("simulated"),
        tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor"),
        "nan",
        RuntimeError("boom"),
    ]
    calls = []

    def build(spec, *args, **kwargs):
        calls.append(1)
        fault = faults[len(calls) - 1] if len(calls) <= len(faults) else None
        if fault == "nan":
            return _nan_loss_model(*args, **kwargs)
        if fault is not None:
            raise fault
        return build_model(*args, **kwargs)

    return build


EXPECTED = [
    ("failed", "too large: model would have 9 parameters"),
    ("failed", "out of memory: MemoryError: simulated"),
    ("failed", "out of memory: ResourceExhaustedError: OOM when allocating tensor"),
    ("failed", "NaN or infinite loss"),
    ("failed", "RuntimeError: boom"),
    ("complete", ""),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tiny_data(tmp_path_factory.mktemp("tiny"))


@pytest.mark.parametrize("tuner", ["optuna_tpe", "kt_random"])
def test_every_failure_kind_is_recorded_alike_and_the_search_goes_on(
    data, tmp_path, monkeypatch, caplog, tuner
):
    monkeypatch.setattr(fit, "build", _faulty_build())
    settings = tune_settings(tuner, max_trials=6, max_epochs=1)
    with caplog.at_level(logging.WARNING, logger="bloomtune"):
        best = run_tuning(settings, data, tmp_path / "out", tmp_path / "state")
    trials = pd.read_csv(tmp_path / "out" / "trials.csv", keep_default_na=False)
    assert trials.columns.tolist() == ledger_columns(HP)
    assert len(trials) == 6 and trials["trial"].tolist() == list(range(6))
    for (_, row), (status, reason) in zip(trials.iterrows(), EXPECTED, strict=True):
        assert row["status"] == status
        assert row["failure_reason"].startswith(reason), row["failure_reason"]
    failed = trials[trials["status"] == "failed"]
    assert (failed["score"] == "").all()
    assert best["trial"] == 5 and best["totals"]["failed"] == 5
    # An unexpected exception leaves its traceback in the log; an expected limit does not.
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert {type(r.exc_info[1]).__name__ for r in tracebacks} == {
        "MemoryError",
        "ResourceExhaustedError",
        "RuntimeError",
    }


def test_keras_tuner_writes_no_checkpoint_and_no_console_table(data, tmp_path, capsys):
    run_tuning(tune_settings("kt_random", max_trials=2, max_epochs=2), data, tmp_path, tmp_path)
    assert not list(tmp_path.rglob("*.h5")) and not list(tmp_path.rglob("*.keras"))
    assert "Running Trial" not in capsys.readouterr().out  # the runner logs one line a trial


def test_hyperband_continues_from_its_parents_best_weights(data, tmp_path, monkeypatch):
    loaded = []
    original = runner.TrialRunner.run

    def run(self, number, hp, **kwargs):
        if kwargs.get("warm_start") is not None:
            assert kwargs["warm_start"].exists()  # written after the parent's clock stopped
            loaded.append(kwargs["initial_epoch"])
        return original(self, number, hp, **kwargs)

    monkeypatch.setattr(runner.TrialRunner, "run", run)
    settings = tune_settings("kt_hyperband", max_trials=8, max_epochs=3)
    run_tuning(settings, data, tmp_path / "out", tmp_path / "state")
    trials = pd.read_csv(tmp_path / "out" / "trials.csv")
    assert loaded and all(epoch > 0 for epoch in loaded)
    assert trials["epochs_run"].sum() < 8 * 3


def test_a_diverged_trial_stops_at_the_end_of_its_first_nan_epoch(data, tmp_path, monkeypatch):
    monkeypatch.setattr(fit, "build", lambda spec, *args, **kw: _nan_loss_model(*args, **kw))
    settings = tune_settings("optuna_tpe", max_trials=1, max_epochs=3)
    with pytest.raises(TuningError, match="every one of 1 trials failed"):
        run_tuning(settings, data, tmp_path / "out", tmp_path / "state")
    (journal,) = (tmp_path / "state").rglob("ledger.jsonl")
    trials = pd.read_json(journal, lines=True)
    assert trials[["status", "epochs_run"]].values.tolist() == [["failed", 1]]
    assert trials["failure_reason"].tolist() == ["NaN or infinite loss"]


# The evaluator seam: the runner's decisions with an evaluator that trains nothing.


def _epochs(*accuracies, loss=1.0):
    return [
        {"epoch": e, "val_accuracy": a, "val_loss": 1 - a, "loss": loss}
        for e, a in enumerate(accuracies, start=1)
    ]


class CurveEvaluator:
    """Looks each trial's curve up instead of training: a list of epoch records, or the
    exception the configuration raises."""

    def __init__(self, curves):
        self.curves, self.kept = curves, []

    def evaluate(self, request, on_epoch):
        curve = self.curves(request.trial) if callable(self.curves) else self.curves[request.trial]
        if isinstance(curve, BaseException):
            raise curve
        for record in curve[request.initial_epoch : request.epochs]:
            if on_epoch(record):
                return

    def keep(self, request):
        self.kept.append(request.trial)


def _fake_runner(tmp_path, curves, tuner="optuna_tpe", overlay=None, **tuning):
    from bloomtune.tuning.ledger import Ledger

    settings = tune_settings(tuner, overlay, **tuning)
    ledger = Ledger(tuner, "val_accuracy", settings.space.names, tmp_path / "ledger.jsonl")
    evaluator = CurveEvaluator(curves)
    return settings, runner.TrialRunner(settings, ledger, tmp_path, evaluator)


def test_the_runner_decides_every_failure_kind_from_an_evaluator(tmp_path):
    nan = float("nan")
    curves = [
        ModelTooLargeError("model would have 9 parameters"),
        MemoryError("simulated"),
        tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor"),
        _epochs(0.5, 0.6, 0.7, loss=nan),  # stops after its first NaN epoch
        RuntimeError("boom"),
        [{"epoch": 1, "val_accuracy": None, "val_loss": None, "loss": 1.0}],  # nothing finite
        _epochs(0.5, 0.7, 0.6),
    ]
    settings, run = _fake_runner(tmp_path, curves, max_trials=7, max_epochs=3)
    rows = [run.run(n, {"filters": 64}, keep_weights=tmp_path / f"{n}.h5") for n in range(7)]
    statuses = [(r["status"], r["failure_reason"].split(":")[0], r["epochs_run"]) for r in rows]
    assert statuses == [
        ("failed", "too large", 0),
        ("failed", "out of memory", 0),
        ("failed", "out of memory", 0),
        ("failed", "NaN or infinite loss", 1),
        ("failed", "RuntimeError", 0),
        ("failed", "NaN or infinite loss", 1),
        ("complete", "", 3),
    ]
    # The last trial's row is the curve's: best epoch 2, and only it keeps its weights.
    assert (rows[-1]["score"], rows[-1]["best_epoch"], rows[-1]["val_loss"]) == (0.7, 2, 1 - 0.7)
    assert run.evaluator.kept == [6]
    assert [r["trial"] for r in run.rows()] == list(range(7))


def test_the_budget_stops_a_trial_at_an_epoch_boundary_then_the_search(tmp_path):
    settings, run = _fake_runner(
        tmp_path, lambda trial: _epochs(0.5, 0.6, 0.7), max_trials=5, max_epochs=3,
        max_total_epochs=5,
    )  # fmt: skip
    assert run.reserve() is None
    first = run.run(0, {})
    assert run.reserve() is None
    second = run.run(1, {})
    assert (first["epochs_run"], second["epochs_run"]) == (3, 2)
    assert second["status"] == "complete" and second["score"] == 0.6
    assert run.reserve() == "max_total_epochs (5)"


def test_optunas_pruner_prunes_through_the_evaluator_seam(tmp_path):
    # Trial 0 climbs; every later one stays low, so the median pruner stops each after its
    # first epoch (step 0, as optuna-integration's Keras callback reports it).
    import optuna

    overlay = {"tuners": {"optuna_tpe": {"pruner": "median",
                                         "pruner_options": {"n_startup_trials": 1}}}}  # fmt: skip
    curves = lambda trial: _epochs(0.5, 0.6, 0.7) if trial == 0 else _epochs(0.1, 0.9, 0.9)  # noqa: E731
    settings, run = _fake_runner(tmp_path, curves, overlay=overlay, max_trials=3, max_epochs=3,
                                 max_total_epochs=None)  # fmt: skip
    optuna_adapter.search(settings, run, tmp_path)
    rows = sorted(run.rows(), key=lambda r: r["trial"])
    assert [(r["status"], r["epochs_run"]) for r in rows] == [
        ("complete", 3),
        ("pruned", 1),
        ("pruned", 1),
    ]
    (name,) = optuna.get_all_study_names(optuna_adapter.storage_for(settings, tmp_path))
    study = optuna.load_study(
        study_name=name, storage=optuna_adapter.storage_for(settings, tmp_path)
    )
    assert [t.state.name for t in study.trials] == ["COMPLETE", "PRUNED", "PRUNED"]
    assert study.trials[1].intermediate_values == {0: 0.1}


def test_seed_zero_draws_the_same_trials_in_every_tuner(tmp_path):
    # Keras Tuner reads a seed of 0 as none (`seed or random.randint(...)`): each tuner's
    # search with seed 0, twice, must choose the same hyperparameters (an evaluator stands in
    # for training: only the choices matter here).
    from tuning_data import smoke_params

    from bloomtune.tuning.frameworks import framework

    for tuner in smoke_params()["tuners"]:
        drawn = []
        for attempt in ("first", "second"):
            folder = tmp_path / tuner / attempt
            folder.mkdir(parents=True)
            settings, run = _fake_runner(folder, lambda trial: _epochs(0.5, 0.6), tuner,
                                         {"seeds": [0]}, max_trials=3, max_epochs=2)  # fmt: skip
            assert settings.seed == 0
            framework(settings.tuner.framework).adapter().search(settings, run, folder)
            rows = sorted(run.rows(), key=lambda r: r["trial"])
            drawn.append([[r[k] for k in settings.space.names] for r in rows])
        assert drawn[0] == drawn[1] and len(drawn[0]) >= 2, tuner


def test_repetitions_draw_independent_configurations_in_every_tuner(tmp_path):
    # Repetition seeds 1..12 of every default tuner: no two repetitions share a run of two or
    # more consecutive, different configurations at any shift. Keras Tuner advances its seed by
    # one per sampled hyperparameter, so with the repetition seed handed over as it is, seed
    # s + 5 (5 dimensions) drew seed s's trials shifted by one (an evaluator stands in for
    # training: only the choices matter here).
    import itertools

    from tuning_data import smoke_params

    from bloomtune.tuning.frameworks import framework

    overlay = {"tuners": {"kt_bayesian": {"num_initial_points": 3}}}  # random until trial 3
    for tuner in smoke_params()["tuners"]:
        drawn = []
        for seed in range(1, 13):
            folder = tmp_path / tuner / str(seed)
            folder.mkdir(parents=True)
            settings, run = _fake_runner(
                folder, lambda trial: _epochs(0.3 + 0.05 * (trial % 5), 0.4), tuner,
                {**overlay, "seeds": [seed]}, max_trials=5, max_epochs=3, max_total_epochs=12,
            )  # fmt: skip
            assert settings.seed == seed
            framework(settings.tuner.framework).adapter().search(settings, run, folder)
            rows = sorted(run.rows(), key=lambda r: r["trial"])
            drawn.append([tuple(r[k] for k in settings.space.names) for r in rows])
        runs = [{(a, b) for a, b in itertools.pairwise(r) if a != b} for r in drawn]
        assert all(len(r) >= 3 for r in drawn), tuner
        for i, j in itertools.combinations(range(12), 2):
            assert not runs[i] & runs[j], (tuner, i + 1, j + 1, runs[i] & runs[j])


def test_a_journal_lock_a_killed_process_left_is_released(tmp_path, monkeypatch):
    # A process killed inside a journal write leaves Optuna's lock, a symlink to the journal.
    # Optuna releases it after its grace period, but only if os.stat through the link finds the
    # journal: with the relative path a run's state folder has, the link dangled and the next
    # run waited for ever. The grace period is shortened here (Optuna's default is 30 s).
    import os
    import threading

    import optuna

    monkeypatch.chdir(tmp_path)
    settings = tune_settings("optuna_tpe")
    state = tmp_path.relative_to(tmp_path) / "results" / "state"
    state.mkdir(parents=True)
    storage = optuna_adapter.storage_for(settings, state)
    optuna.create_study(storage=storage, study_name="s")  # the journal exists
    lock = storage._backend._lock
    lock.grace_period = 3
    assert lock.acquire()  # held, and never released: the killed writer
    assert os.path.lexists(lock._lock_file)
    done = threading.Event()
    threading.Thread(
        target=lambda: (optuna.create_study(storage=storage, study_name="t"), done.set()),
        daemon=True,
    ).start()
    assert done.wait(timeout=30), "the stale lock was never released"
