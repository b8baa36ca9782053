"""Tabulating a grid: every configuration (replay/grid.py) trained through bloomtune's one
training path (training/fit.py) for the budget's max_epochs with each tabulation seed, on the
same tuning split a live search uses, recording per epoch the training loss, the validation and
the test metrics (the test ones are never shown to an optimiser) and the seconds. A
configuration that is too large, runs out of memory or raises is recorded failed, as a live
trial would be; one whose loss turns NaN stops there, its NaN epoch recorded (a replay then fails
it as the runner fails a live one).

A shard takes every `shards`-th configuration and appends each finished (configuration, seed) to
its journal (in the state folder, which no orchestrator deletes) at once, so a killed shard
resumes without training those again; a change of what defines the table starts afresh."""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import keras

from bloomtune.data import dataset
from bloomtune.errors import ModelTooLargeError, failure_reason
from bloomtune.files import atomic_path, exclusive, keyed_state, repair_journal
from bloomtune.model_settings import TabulateSettings
from bloomtune.params import fingerprint
from bloomtune.replay.grid import configurations
from bloomtune.replay.shards import done_pairs
from bloomtune.seeds import derive_seed
from bloomtune.stopwatch import hms
from bloomtune.training.fit import Trainer
from bloomtune.training.inputs import batches
from bloomtune.training.model import model_limit

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


def tabulate_shard(settings: TabulateSettings, data_dir: Path, state_root: Path, out: Path,
                   shard: int = 1) -> int:  # fmt: skip
    """Train shard `shard` (1..settings.shards) of the grid, skipping the (configuration, seed)
    pairs its journal in `state_root` already holds; copy the finished journal to `out`.
    Return how many it trained now."""
    with exclusive(state_root, f"tabulate shard {shard}"):
        key = fingerprint({"settings": settings.record(), "shard": shard,
                           "data": dataset.manifest(data_dir)["splits"]})  # fmt: skip
        journal = keyed_state(state_root, key, "tabulate shard") / "journal.jsonl"
        if repaired := repair_journal(journal):
            log.warning("tabulate shard %d: %s", shard, repaired)
        trained = _train_shard(settings, data_dir, journal, shard)
        with atomic_path(out) as tmp:
            tmp.write_bytes(journal.read_bytes() if journal.exists() else b"")
    return trained


def _train_shard(settings: TabulateSettings, data_dir: Path, journal: Path, shard: int) -> int:
    data = dataset.load_training(data_dir, settings.train.validation_fraction, settings.data_seed)
    test = batches(dataset.load_split(data_dir, "test"), 256, shuffle=False)
    trainer = Trainer(settings.model, settings.train, data.image_size, data.n_classes,
                      data.train, data.validation)  # fmt: skip
    max_params = model_limit(settings.max_model_params)
    mine = [(c, hp) for c, hp in enumerate(configurations(settings.space, settings.grid))
            if c % settings.shards == shard - 1]  # fmt: skip
    todo = [(c, hp, s) for c, hp in mine for s in range(1, settings.seeds + 1)
            if (c, s) not in done_pairs(journal)]  # fmt: skip
    journal.parent.mkdir(parents=True, exist_ok=True)
    log.info("tabulate shard %d of %d: %d configurations x %d seeds, %d to train", shard,
             settings.shards, len(mine), settings.seeds, len(todo))  # fmt: skip
    started = time.perf_counter()
    for done, (config, hp, seed) in enumerate(todo, start=1):
        base = {"config": config, **hp, "seed": seed}
        epochs = _Epochs(test)
        try:
            model = trainer.model(hp, derive_seed(seed, "tabulate", config),
                                  max_params=max_params, fresh=True)  # fmt: skip
            trainer.fit(model, settings.max_epochs, [epochs])
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
        elapsed = time.perf_counter() - started
        log.info("tabulate shard %d: configuration %d, seed %d %s (%d of %d, ETA %s)", shard,
                 config, seed, rows[-1]["status"], done, len(todo),
                 hms(elapsed / done * (len(todo) - done)))  # fmt: skip
    return len(todo)
