"""The fairness panel: quiet when every tuner had the same settings, plain when they did not."""

from __future__ import annotations

import pandas as pd
from conftest import ROOT

from bloomtune.figures import best_so_far
from bloomtune.params import load_params, stage_params, tuner_settings
from bloomtune.report import fairness, fairness_text


def _best_json(params: dict, tuner: str) -> dict:
    """What the tune stage records of its settings, from the params alone."""
    sections = stage_params(params, "tune", tuner)
    return {
        "objective": params["tuning"]["objective"],
        "totals": {"epochs_consumed": 10},
        "settings": {
            "seed": params["seed"],
            "budget": tuner_settings(sections, tuner, "tuning"),
            "train": tuner_settings(sections, tuner, "train"),
            "search_space": params["search_space"],
            "validation_images": 100,
        },
    }


def _panel(*overlays):
    params = load_params([ROOT / "params.yaml", *(ROOT / o for o in overlays)])
    return fairness({t: _best_json(params, t) for t in params["tuners"]})


def test_equal_budgets_keep_the_panel_quiet():
    table, differences = _panel("config/demo.yaml")
    assert differences == []
    assert fairness_text(differences).startswith("Every tuner searched the same space")
    assert list(table.index) == list(load_params([ROOT / "params.yaml"])["tuners"])


def test_the_blog_config_is_flagged_as_not_comparable():
    table, differences = _panel("config/blog.yaml")
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
