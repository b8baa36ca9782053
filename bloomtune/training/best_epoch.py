"""Stage best_epoch: train a tuner's best hyperparameters with early stopping; pick the epoch."""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import pandas as pd

from bloomtune.data import dataset
from bloomtune.errors import DataError
from bloomtune.files import atomic_path, write_json
from bloomtune.model_settings import BestEpochSettings
from bloomtune.objective import best_epoch_of, direction
from bloomtune.seeds import derive_seed
from bloomtune.stopwatch import Stopwatch
from bloomtune.training.fit import Trainer
from bloomtune.training.progress import EpochLogger

log = logging.getLogger(__name__)


def find_best_epoch(
    settings: BestEpochSettings, best: dict, data_dir: Path, out_dir: Path
) -> dict:
    """Train the best hyperparameters with early stopping; write history.csv, best_epoch.json."""
    tuner, objective = settings.tuner.name, settings.objective
    data = dataset.load_training(data_dir, settings.train.validation_fraction, settings.data_seed)
    trainer = Trainer(settings.model, settings.train, data.image_size, data.n_classes,
                      data.train, data.validation)  # fmt: skip
    model = trainer.model(best["hyperparameters"], derive_seed(settings.seed, "best_epoch"))
    stopper = keras.callbacks.EarlyStopping(
        monitor=objective, mode=direction(objective), patience=settings.patience
    )
    logger = EpochLogger(f"{tuner} best_epoch", settings.max_epochs)
    with Stopwatch() as clock:
        history = trainer.fit(model, settings.max_epochs, [stopper, logger])
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    chosen = best_epoch_of(frame.to_dict("records"), objective)
    if chosen is None:
        raise DataError(f"{tuner}: best_epoch training produced no finite {objective}")
    with atomic_path(out_dir / "history.csv") as tmp:
        frame.to_csv(tmp, index=False)
    result = {
        "tuner": tuner,
        "objective": objective,
        "best_epoch": int(chosen["epoch"]),
        "best_score": float(chosen[objective]),
        "epochs_run": len(frame),
        "stopped_early": len(frame) < settings.max_epochs,
        "hyperparameters": best["hyperparameters"],
        "wall_s": round(clock.wall_s, 3),
        "cpu_s": round(clock.cpu_s, 3),
    }
    write_json(out_dir / "best_epoch.json", result)
    log.info("%s: best epoch %d (%s %.4f)", tuner, chosen["epoch"], objective, chosen[objective])
    return result
