"""Test-set evaluation of a retrained model, with the time each phase took."""

from __future__ import annotations

import logging
from pathlib import Path

import keras

from bloomtune import dataset
from bloomtune.runtime import Stopwatch, write_json

log = logging.getLogger(__name__)


def evaluate(
    model_path: Path, data_dir: Path, tuning: dict, best_epoch: dict, retrained: dict, out: Path
) -> dict:
    """Score the model on the test split (the only stage that reads it); write the metrics JSON."""
    test = dataset.load_split(data_dir, "test")
    model = keras.models.load_model(model_path)
    with Stopwatch() as clock:
        scores = model.evaluate(test.x, test.y, batch_size=256, verbose=0, return_dict=True)
    totals = tuning["totals"]
    seconds = {
        "tuning": totals["wall_s"],
        "best_epoch": best_epoch["wall_s"],
        "retrain": retrained["wall_s"],
    }
    seconds["total"] = round(sum(seconds.values()), 3)
    metrics = {
        "tuner": tuning["tuner"],
        "framework": tuning["framework"],
        "test_loss": float(scores["loss"]),
        "test_accuracy": float(scores["accuracy"]),
        "test_top5_accuracy": float(scores["top5_accuracy"]),
        "test_images": len(test.y),
        "seconds": seconds,
        "evaluate_s": round(clock.wall_s, 3),
        "trials": {k: totals[k] for k in ("trials", "complete", "pruned", "failed")},
        "epochs_consumed": totals["epochs_consumed"]
        + best_epoch["epochs_run"]
        + retrained["epochs"],
        "tuning_epochs": totals["epochs_consumed"],
        "best_epoch": best_epoch["best_epoch"],
        "validation_score": tuning["score"],
        "objective": tuning["objective"],
        "hyperparameters": tuning["hyperparameters"],
    }
    write_json(out, metrics)
    log.info(
        "%s: test accuracy %.4f, top-5 %.4f, loss %.4f on %d images",
        tuning["tuner"],
        metrics["test_accuracy"],
        metrics["test_top5_accuracy"],
        metrics["test_loss"],
        len(test.y),
    )
    return metrics
