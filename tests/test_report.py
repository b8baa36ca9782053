"""The fairness panel: quiet when every tuner had the same settings, plain when they did not."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from bloomtune.data.dataset import Arrays, TrainingData
from bloomtune.params import load_params
from bloomtune.reporting.figures import best_so_far
from bloomtune.reporting.report import fairness, fairness_text
from bloomtune.settings import resolve
from bloomtune.tuning.ledger import TrialRecorder
from bloomtune.tuning.runner import TrialRunner
from bloomtune.tuning.tune import write_results


def _best_json(params: dict, tuner: str, folder) -> dict:
    """best.json as the tune stage writes it, for one recorded trial of `tuner` on 100
    validation images."""
    settings = resolve(params, "tune", tuner)
    journal = folder / tuner / "ledger.jsonl"
    recorder = TrialRecorder(
        tuner, settings.budget.objective, settings.space.names, journal, logging.getLogger()
    )
    recorder.begin(0, {"filters": 64, "kernel_size": 3, "strides": 1, "activation": "relu"})
    for epoch in range(10):
        recorder.on_epoch_end(epoch, {"val_accuracy": 0.5, "val_loss": 1.0, "loss": 1.0})
    recorder.end("complete")
    images = np.zeros((100, 8, 8, 3), np.uint8), np.zeros(100, np.int64)
    data = TrainingData(Arrays(*images), Arrays(*images), n_classes=3, image_size=8)
    return write_results(TrialRunner(settings, data, recorder), "key", folder / tuner)


def _panel(folder, *overlays):
    params = load_params([ROOT / "params.yaml", *(ROOT / o for o in overlays)])
    return fairness({t: _best_json(params, t, folder) for t in params["tuners"]})


def test_equal_budgets_keep_the_panel_quiet(tmp_path):
    table, differences = _panel(tmp_path, "config/demo.yaml")
    assert differences == []
    assert fairness_text(differences).startswith("Every tuner searched the same space")
    assert list(table.index) == list(load_params([ROOT / "params.yaml"])["tuners"])


def test_the_blog_config_is_flagged_as_not_comparable(tmp_path):
    table, differences = _panel(tmp_path, "config/blog.yaml")
    text = fairness_text(differences)
    assert text.startswith("The rows are not comparable")
    for label in ("max trials differs", "max epochs per trial differs", "batch size differs"):
        assert label in text
    assert table.loc["optuna_tpe", "max epochs per trial"] == 100
    assert table.loc["kt_random", "max epochs per trial"] == 3
    assert table.loc["kt_hyperband", "max epochs per trial"] == 10


def test_best_so_far_curve_follows_the_objective():
    trials = pd.DataFrame(
        {
            "trial": [0, 1, 2, 3],
            "score": [0.3, None, 0.5, 0.4],
            "epochs_run": [2, 0, 2, 1],
            "wall_s": [1.0, 0.1, 1.0, 0.5],
        }
    )
    curve = best_so_far(trials, "val_accuracy")
    assert curve["best"].tolist() == [0.3, 0.3, 0.5, 0.5]
    assert curve["epochs"].tolist() == [2, 2, 4, 5]
    loss = best_so_far(trials.assign(score=[0.9, None, 0.7, 0.8]), "val_loss")
    assert loss["best"].tolist() == [0.9, 0.9, 0.7, 0.7]


def _summary(accuracies: dict) -> pd.DataFrame:
    return pd.DataFrame({"tuner": list(accuracies), "test_accuracy": list(accuracies.values())})


def test_the_headline_names_the_leaders_and_claims_no_difference_from_one_run():
    from bloomtune.reporting.report import headline

    areas = pd.Series({"kt_random": 0.61, "optuna_tpe": 0.64})
    text = headline(_summary({"kt_random": 0.83, "optuna_tpe": 0.71}), areas, "val_accuracy")
    assert text.startswith("kt_random ranks first on test accuracy (0.8300), and optuna_tpe ")
    assert "ranks first on the any-time curve" in text
    assert "no difference between tuners can be tested, so none is claimed" in text
    assert "needs at least 6 of them to reach p < 0.05" in text
    tied = headline(_summary({"a": 0.5, "b": 0.5}), pd.Series({"a": 1.2, "b": 0.9}), "val_loss")
    assert tied.startswith("a and b tie for first on test accuracy (0.5000), and b ranks first")


def test_anytime_areas_compare_searches_over_the_epochs_all_reached():
    from bloomtune.reporting.report import anytime_areas

    def ledger(scores, epochs):
        return pd.DataFrame(
            {"trial": range(len(scores)), "score": scores, "epochs_run": epochs,
             "wall_s": [1.0] * len(scores)}
        )  # fmt: skip

    # "slow" finds 0.9 only at epoch 6, past the 4 epochs "fast" reached: it is not counted.
    # Epoch 1, before any trial has a score, is left out of both.
    areas = anytime_areas(
        {"fast": ledger([0.5, 0.6], [2, 2]), "slow": ledger([0.1, 0.9], [2, 4])}, "val_accuracy"
    )
    assert areas["fast"] == pytest.approx((0.5 + 0.5 + 0.6) / 3)  # epochs 2, 3, 4
    assert areas["slow"] == pytest.approx(0.1)
