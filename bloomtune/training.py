"""Best-epoch search and retraining of a tuner's best hyperparameters."""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import pandas as pd

from bloomtune import dataset
from bloomtune.ledger import OBJECTIVES, best_epoch_of
from bloomtune.model import build_model
from bloomtune.params import tuner_settings
from bloomtune.runtime import Stopwatch, atomic_path, derive_seed, seed_everything, write_json

log = logging.getLogger(__name__)


class EpochLogger(keras.callbacks.Callback):
    """One progress line per epoch; Keras' own progress bars are off in logs."""

    def __init__(self, label: str, epochs: int):
        super().__init__()
        self.label, self.epochs = label, epochs

    def on_epoch_end(self, epoch, logs=None):
        values = " ".join(f"{k} {v:.4f}" for k, v in sorted((logs or {}).items()))
        log.info("%s epoch %d/%d %s", self.label, epoch + 1, self.epochs, values)


def find_best_epoch(best: dict, sections: dict, data_dir: Path, out_dir: Path, tuner: str) -> dict:
    """Train the best hyperparameters with early stopping; write history.csv, best_epoch.json."""
    seed, train = sections["seed"], tuner_settings(sections, tuner, "train")
    objective = sections["tuning.objective"]
    settings = sections["best_epoch"]
    data = dataset.load_training(data_dir, train["validation_fraction"], seed)
    seed_everything(derive_seed(seed, "best_epoch"))
    model = build_model(best["hyperparameters"], data.image_size, data.n_classes)
    stopper = keras.callbacks.EarlyStopping(
        monitor=objective, mode=OBJECTIVES[objective], patience=settings["patience"]
    )
    with Stopwatch() as clock:
        history = model.fit(
            data.train.x,
            data.train.y,
            validation_data=(data.validation.x, data.validation.y),
            epochs=settings["max_epochs"],
            batch_size=train["batch_size"],
            callbacks=[stopper, EpochLogger(f"{tuner} best_epoch", settings["max_epochs"])],
            verbose=0,
        )
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    chosen = best_epoch_of(frame.to_dict("records"), objective)
    if chosen is None:
        raise RuntimeError(f"{tuner}: best_epoch training produced no finite {objective}")
    with atomic_path(out_dir / "history.csv") as tmp:
        frame.to_csv(tmp, index=False)
    result = {
        "tuner": tuner,
        "objective": objective,
        "best_epoch": int(chosen["epoch"]),
        "best_score": float(chosen[objective]),
        "epochs_run": len(frame),
        "stopped_early": len(frame) < settings["max_epochs"],
        "hyperparameters": best["hyperparameters"],
        "wall_s": round(clock.wall_s, 3),
        "cpu_s": round(clock.cpu_s, 3),
    }
    write_json(out_dir / "best_epoch.json", result)
    log.info("%s: best epoch %d (%s %.4f)", tuner, chosen["epoch"], objective, chosen[objective])
    return result


def retrain(
    chosen: dict, sections: dict, data_dir: Path, model_path: Path, info_path: Path, tuner
):
    """Train on all training data for the best epoch count and save the model."""
    seed, train = sections["seed"], tuner_settings(sections, tuner, "train")
    data = dataset.load_all_training(data_dir)
    info = dataset.manifest(data_dir)
    seed_everything(derive_seed(seed, "retrain"))
    model = build_model(chosen["hyperparameters"], info["image_size"], info["n_classes"])
    epochs = chosen["best_epoch"]
    with Stopwatch() as clock:
        model.fit(
            data.x,
            data.y,
            epochs=epochs,
            batch_size=train["batch_size"],
            callbacks=[EpochLogger(f"{tuner} retrain", epochs)],
            verbose=0,
        )
    with atomic_path(model_path) as tmp:
        model.save(tmp)
    result = {
        "tuner": tuner,
        "epochs": epochs,
        "train_images": len(data.y),
        "hyperparameters": chosen["hyperparameters"],
        "wall_s": round(clock.wall_s, 3),
        "cpu_s": round(clock.cpu_s, 3),
    }
    write_json(info_path, result)
    return result
