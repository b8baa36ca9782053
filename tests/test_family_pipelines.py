"""The whole chain, offline, for each model family's configuration: a MobileNetV3Small backbone
with a conditional space under every default tuner, and the README's own builder through both
frameworks (Snakemake and DVC)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import copy_project, dvc, snakemake
from smoke import TUNERS

pytestmark = pytest.mark.pipeline


def test_a_backbone_with_a_conditional_space_runs_under_every_tuner(tmp_path):
    project = copy_project(tmp_path / "project")
    snakemake(["--cores", "2", "--configfile", "config/transfer.yaml"], project)
    results = project / "results"
    summary = pd.read_csv(results / "report" / "summary.csv")
    assert summary["tuner"].tolist() == TUNERS
    report = (results / "report" / "report.md").read_text()
    assert "transfer: MobileNetV3Small, weights none (trained from scratch)" in report
    for tuner in TUNERS:
        trials = pd.read_csv(results / "tuning" / tuner / "seed_1" / "trials.csv")
        assert set(trials.columns) >= {"optimizer", "momentum", "dropout", "unfreeze"}
        assert "filters" not in trials.columns  # removed by the overlay's null
        adam = trials[trials["optimizer"] == "adam"]
        assert adam["momentum"].isna().all()  # inactive unless sgd
        assert (trials[trials["optimizer"] == "sgd"]["momentum"].notna()).all()
        best = json.loads((results / "tuning" / tuner / "seed_1" / "best.json").read_text())
        assert best["model"] == {
            "family": "transfer", "backbone": "MobileNetV3Small", "weights": None,
            "input_size": None,
        }  # fmt: skip
    weights = json.loads((project / "data" / "weights" / "weights.json").read_text())
    assert weights["weights"] is None


def test_the_example_builder_runs_through_both_frameworks_and_both_orchestrators(tmp_path):
    targets = [f"results/metrics/{tuner}/seed_1.json" for tuner in ("optuna_tpe", "kt_random")]
    project = copy_project(tmp_path / "snakemake")
    snakemake(["--cores", "2", *targets, "--configfile", "config/custom.yaml"], project)
    by_snakemake = {t: json.loads((project / t).read_text()) for t in targets}
    project = copy_project(tmp_path / "dvc", overlay="config/custom.yaml")
    dvc(["repro", "evaluate@optuna_tpe-1", "evaluate@kt_random-1"], project)
    by_dvc = {t: json.loads((project / t).read_text()) for t in targets}
    for target in targets:
        assert 0.0 <= by_snakemake[target]["test_accuracy"] <= 1.0
        assert by_dvc[target]["test_accuracy"] == by_snakemake[target]["test_accuracy"]
    trials = pd.read_csv(project / "results/tuning/kt_random/seed_1/trials.csv")
    assert set(trials.columns) >= {"filters", "blocks", "learning_rate"}
    assert (trials["status"] == "complete").all()
