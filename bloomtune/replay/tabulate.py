"""Tabulating a grid: every configuration (replay/grid.py) trained through bloomtune's one
training path (training/fit.py) for the budget's max_epochs with each tabulation seed, on the
same tuning split a live search uses, recording per epoch the training loss, the validation and
the test metrics (the test ones are never shown to an optimiser) and the seconds. A
configuration that is too large, runs out of memory or raises is recorded failed, as a live
trial would be; one whose loss turns NaN stops there, its NaN epoch recorded (a replay then fails
it as the runner fails a live one).

A shard takes every `shards`-th configuration and appends each finished (configuration, seed) to
its journal at once, so a killed shard resumes without training those again."""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import keras
import pandas as pd

from bloomtune.data import dataset
from bloomtune.errors import ModelTooLargeError
from bloomtune.model_settings import TuneSettings
from bloomtune.replay.grid import configurations
from bloomtune.runtime import derive_seed
from bloomtune.training.fit import Trainer
from bloomtune.training.inputs import batches
from bloomtune.tuning.runner import failure_reason

log = logging.getLogger(__name__)


def _float(value) -> float | None:
    return None if value is None else float(value)


class _Epochs(keras.callbacks.Callback):
    """Each epoch's training loss, validation and test metrics and seconds."""

    def __init__(self, test):
        super().__init__()
        self.test, self.rows = test, []

    def on_epoch_begin(self, epoch, logs=None):
        self.began = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.began  # the training epoch, validation included
        logs = logs or {}
        tested = self.model.evaluate(self.test, verbose=0, return_dict=True)
        self.rows.append(
            {
                "epoch": epoch + 1,
                "loss": _float(logs.get("loss")),
                "val_accuracy": _float(logs.get("val_accuracy")),
                "val_loss": _float(logs.get("val_loss")),
                "test_accuracy": _float(tested.get("accuracy")),
                "test_loss": _float(tested.get("loss")),
                "seconds": round(seconds, 3),
            }
        )
        if not math.isfinite(logs.get("loss", 0.0)):
            self.model.stop_training = True


def _rows(journal: Path) -> list[dict]:
    if not journal.exists():
        return []
    return [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]


def _done(journal: Path) -> set[tuple[int, int]]:
    return {(r["config"], r["seed"]) for r in _rows(journal)}


def tabulate_shard(settings: TuneSettings, grid: dict, seeds: list[int], data_dir: Path,
                   journal: Path, shard: int = 0, shards: int = 1,
                   max_params: int | None = None) -> int:  # fmt: skip
    """Train this shard's configurations not yet in `journal`; return how many were trained."""
    data = dataset.load_training(data_dir, settings.train.validation_fraction, settings.data_seed)
    test = batches(dataset.load_split(data_dir, "test"), 256, shuffle=False)
    trainer = Trainer(settings.model, settings.train, data.image_size, data.n_classes,
                      data.train, data.validation)  # fmt: skip
    done, trained = _done(journal), 0
    journal.parent.mkdir(parents=True, exist_ok=True)
    for config, hp in enumerate(configurations(settings.space, grid)):
        if config % shards != shard:
            continue
        for seed in seeds:
            if (config, seed) in done:
                continue
            base = {"config": config, **hp, "seed": seed}
            epochs = _Epochs(test)
            try:
                model = trainer.model(hp, derive_seed(seed, "tabulate", config),
                                      max_params=max_params, fresh=True)  # fmt: skip
                trainer.fit(model, settings.budget.max_epochs, [epochs])
            except Exception as exc:  # recorded failed, as a live trial would be
                if not isinstance(exc, ModelTooLargeError):
                    log.warning("configuration %d raised", config, exc_info=True)
                rows = [{**base, "epoch": 0, "status": "failed",
                         "failure_reason": failure_reason(exc)}]  # fmt: skip
            else:
                rows = [{**base, **r, "status": "complete", "failure_reason": ""}
                        for r in epochs.rows]  # fmt: skip
            with open(journal, "ab") as fh:  # the configuration's rows in one write
                fh.write("".join(json.dumps(r) + "\n" for r in rows).encode())
            trained += 1
            log.info("tabulated configuration %d, seed %d: %s", config, seed,
                     rows[-1]["status"])  # fmt: skip
    return trained


def merge(journals: list[Path], out: Path) -> pd.DataFrame:
    """The shards' journals as one table (Parquet), sorted by configuration, seed and epoch."""
    rows = [row for journal in journals for row in _rows(journal)]
    table = pd.DataFrame(rows).sort_values(["config", "seed", "epoch"], kind="stable")
    table = table.reset_index(drop=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out, index=False)
    return table
