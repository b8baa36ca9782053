"""Test-set evaluation of a retrained model, with the time each phase took."""

from __future__ import annotations

import hashlib
import logging
import platform
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from bloomtune.data import dataset
from bloomtune.files import atomic_path, write_json
from bloomtune.machine import cpu_info
from bloomtune.settings import EvaluateSettings
from bloomtune.stopwatch import Stopwatch
from bloomtune.training.inputs import batches

log = logging.getLogger(__name__)


def scores_of(metrics: dict) -> dict:
    """A run's scores, flat and named as the per-tuner means the report writes: `dvc metrics
    show` lists one row per run (results/evaluation/<run>/metrics.json) beside one per tuner
    (results/report/metrics/<tuner>.json) under the same columns. The run's full record,
    results/metrics/<run>.json, is what the report reads."""
    return {
        "tuner": metrics["tuner"],
        "seed": metrics["seed"],
        "test_accuracy": metrics["test_accuracy"],
        "test_loss": metrics["test_loss"],
        "test_top5_accuracy": metrics["test_top5_accuracy"],
        "best_validation": metrics["validation_score"],
        "epochs_consumed": metrics["epochs_consumed"],
        "total_s": metrics["seconds"]["total"],
    }


def device_description() -> str:
    """The processor the models trained on, for the report's provenance."""
    import tensorflow as tf

    model, _, cores = cpu_info()
    cpu = (
        f"{model} ({cores} logical cores)" if model else platform.processor() or platform.machine()
    )
    gpus = tf.config.list_physical_devices("GPU")
    return cpu + (f"; {len(gpus)} GPU(s)" if gpus else "; no GPU")


def per_class(y_true: np.ndarray, y_pred: np.ndarray, class_names: list[str]):
    n = len(class_names)
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    support = matrix.sum(1)
    accuracy = np.divide(np.diag(matrix), support, out=np.full(n, np.nan), where=support > 0)
    frame = pd.DataFrame({"class": class_names, "images": support, "accuracy": accuracy})
    return frame, matrix


def evaluate(
    settings: EvaluateSettings,
    model_path: Path,
    data_dir: Path,
    tuning: dict,
    best_epoch: dict,
    retrained: dict,
    out: Path,
    details: Path,
) -> dict:
    """Score the model on the test split (the only stage that reads it); write the metrics JSON,
    per-class accuracy (CSV) and the confusion matrix (PNG) under `details`."""
    from bloomtune.evaluation.confusion import confusion_matrix  # matplotlib: when needed

    data_dir = Path(data_dir)
    manifest = dataset.manifest(data_dir)
    test = dataset.load_split(data_dir, "test")
    model = keras.models.load_model(model_path)
    with Stopwatch() as clock:
        # One forward pass: loss, accuracy and top-5 come from the same probabilities.
        probabilities = model.predict(batches(test, 256, shuffle=False), verbose=0)
    predicted = probabilities.argmax(axis=1)
    k = min(5, probabilities.shape[1])
    scores = {
        "loss": keras.ops.mean(
            keras.losses.sparse_categorical_crossentropy(test.y, probabilities)
        ),
        "accuracy": np.mean(predicted == test.y),
        "top5_accuracy": keras.ops.mean(
            keras.metrics.sparse_top_k_categorical_accuracy(test.y, probabilities, k=k)
        ),
    }
    classes, matrix = per_class(test.y, predicted, manifest["class_names"])
    details.mkdir(parents=True, exist_ok=True)
    with atomic_path(details / "per_class.csv") as tmp:
        classes.to_csv(tmp, index=False)
    with atomic_path(details / "confusion.png") as tmp:
        confusion_matrix(matrix, manifest["class_names"], tmp)
    totals = tuning["totals"]
    seconds = {
        "tuning": totals["wall_s"],
        "best_epoch": best_epoch["wall_s"],
        "retrain": retrained["wall_s"],
    }
    seconds["total"] = round(sum(seconds.values()), 3)
    metrics = {
        "tuner": tuning["tuner"],
        "seed": tuning["settings"]["seed"],
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
        "data": {
            "source": manifest.get("source", {}).get("source", "unknown"),
            "split": manifest["split"],
            "image_size": manifest["image_size"],
            "manifest_sha256": hashlib.sha256(
                (data_dir / "manifest.json").read_bytes()
            ).hexdigest(),
        },
        "device": device_description(),
    }
    write_json(out, metrics)
    write_json(details / "metrics.json", scores_of(metrics))
    log.info(
        "%s, seed %d: test accuracy %.4f, top-5 %.4f, loss %.4f on %d images",
        tuning["tuner"],
        metrics["seed"],
        metrics["test_accuracy"],
        metrics["test_top5_accuracy"],
        metrics["test_loss"],
        len(test.y),
    )
    return metrics
