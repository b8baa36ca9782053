"""Stage retrain: train the best hyperparameters on all training data for the best epoch count."""

from __future__ import annotations

import logging
from pathlib import Path

from bloomtune.data import dataset
from bloomtune.files import atomic_path, write_json
from bloomtune.model_settings import RetrainSettings
from bloomtune.seeds import derive_seed
from bloomtune.stopwatch import Stopwatch
from bloomtune.training.fit import Trainer
from bloomtune.training.progress import EpochLogger

log = logging.getLogger(__name__)


def retrain(
    settings: RetrainSettings, chosen: dict, data_dir: Path, model_path: Path, record_path: Path
) -> dict:
    """Train on all training data for the best epoch count; save the model and its record."""
    tuner = settings.tuner.name
    data = dataset.load_all_training(data_dir)
    info = dataset.manifest(data_dir)
    trainer = Trainer(settings.model, settings.train, info["image_size"], info["n_classes"], data)
    model = trainer.model(chosen["hyperparameters"], derive_seed(settings.seed, "retrain"))
    epochs = chosen["best_epoch"]
    with Stopwatch() as clock:
        trainer.fit(model, epochs, [EpochLogger(f"{tuner} retrain", epochs)])
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
