"""One trial runner for both frameworks: every failure kind is recorded the same way and the
search goes on."""

from __future__ import annotations

import logging

import keras
import pandas as pd
import pytest
import tensorflow as tf
from tuning_data import tiny_data, tune_settings

from bloomtune.training.model import ModelTooLargeError, build_model
from bloomtune.tuning import runner
from bloomtune.tuning.ledger import ledger_columns
from bloomtune.tuning.tune import TuningError, run_tuning

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
    monkeypatch.setattr(runner, "build", _faulty_build())
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
    monkeypatch.setattr(runner, "build", lambda spec, *args, **kw: _nan_loss_model(*args, **kw))
    settings = tune_settings("optuna_tpe", max_trials=1, max_epochs=3)
    with pytest.raises(TuningError, match="every one of 1 trials failed"):
        run_tuning(settings, data, tmp_path / "out", tmp_path / "state")
    (journal,) = (tmp_path / "state").rglob("ledger.jsonl")
    trials = pd.read_json(journal, lines=True)
    assert trials[["status", "epochs_run"]].values.tolist() == [["failed", 1]]
    assert trials["failure_reason"].tolist() == ["NaN or infinite loss"]
