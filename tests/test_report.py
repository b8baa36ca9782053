"""The fairness panel: quiet when every tuner had the same settings, plain when they did not."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
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
