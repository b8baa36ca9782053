"""Stage retrain: train the best hyperparameters on all training data for the best epoch count."""

from __future__ import annotations

import logging
from pathlib import Path

from bloomtune.data import dataset
from bloomtune.runtime import Stopwatch, atomic_path, derive_seed, seed_everything, write_json
from bloomtune.settings import RetrainSettings
from bloomtune.training.execution import FitInputs, compiled_for, configure
from bloomtune.training.families import build
from bloomtune.training.progress import EpochLogger

log = logging.getLogger(__name__)


def retrain(
    settings: RetrainSettings, chosen: dict, data_dir: Path, model_path: Path, record_path: Path
) -> dict:
    """Train on all training data for the best epoch count; save the model and its record."""
    tuner = settings.tuner.name
    data = dataset.load_all_training(data_dir)
    info = dataset.manifest(data_dir)
    configure(settings.train)
    inputs = FitInputs(data, None, settings.train)
    seed_everything(derive_seed(settings.seed, "retrain"))
    model = build(settings.model, chosen["hyperparameters"], info["image_size"], info["n_classes"])
    compiled_for(model, settings.train)
    fit, _ = inputs.datasets()
    epochs = chosen["best_epoch"]
    with Stopwatch() as clock:
        model.fit(
            fit,
            epochs=epochs,
            shuffle=False,  # the input pipeline shuffles, as Keras would
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
    write_json(record_path, result)
    return result
