"""The live evaluator: trains a trial's configuration with Keras (tuning/protocol.py is the
seam it fills; a replay's table lookup is the other evaluator behind it)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import keras
import numpy as np

from bloomtune.data.dataset import TrainingData
from bloomtune.files import atomic_path
from bloomtune.model_settings import TuneSettings
from bloomtune.objective import sign
from bloomtune.seeds import derive_seed
from bloomtune.training.fit import Trainer
from bloomtune.tuning.protocol import OnEpoch, Request


def _float(value) -> float | None:
    return None if value is None else float(value)


class _Report(keras.callbacks.Callback):
    """Hands each epoch's record to the runner; stops the fit where it answers stop. With `test`
    batches the record also holds the epoch's test accuracy and loss, evaluated after its
    seconds are taken and before the next epoch's clock starts (a table's: never shown to an
    optimiser, and not part of what the epoch cost)."""

    def __init__(self, on_epoch: OnEpoch, test=None):
        super().__init__()
        self.on_epoch, self.test, self.mark = on_epoch, test, time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        seconds = time.perf_counter() - self.mark  # the first: from the trial's start, its build
        record = {
            "epoch": epoch + 1,
            "val_accuracy": _float(logs.get("val_accuracy")),
            "val_loss": _float(logs.get("val_loss")),
            "loss": _float(logs.get("loss")),
            "seconds": seconds,
        }
        if self.test is not None:
            tested = self.model.evaluate(self.test, verbose=0, return_dict=True)
            record["test_accuracy"] = _float(tested.get("accuracy"))
            record["test_loss"] = _float(tested.get("loss"))
        self.mark = time.perf_counter()
        if self.on_epoch(record):
            self.model.stop_training = True


class _BestWeights(keras.callbacks.Callback):
    """Keeps, in memory, the weights of the epoch where the objective last strictly improved."""

    def __init__(self, objective: str):
        super().__init__()
        self.objective, self.sign = objective, sign(objective)
        self.best, self.weights = -math.inf, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.objective)
        if value is not None and math.isfinite(value) and self.sign * value > self.best:
            self.best, self.weights = self.sign * value, self.model.get_weights()


def save_weights(weights: list, path: Path) -> None:
    """A trial's best-epoch model weights, for a continued trial to start from (Keras Tuner's
    Hyperband promotes a trial by training its configuration on from them).

    The model's weights only, as Keras Tuner's Hyperband means it: a promoted trial trains on
    with a fresh optimizer (its RMSprop averages start at zero again). Keras' own weight files
    also hold the optimizer's state, which a new model's unbuilt optimizer cannot take (Keras
    then warns that it skipped it); these hold nothing else, so nothing is skipped."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, *weights)


def load_weights(path: Path) -> list:
    with np.load(path) as arrays:
        return [arrays[f"arr_{i}"] for i in range(len(arrays.files))]


class KerasEvaluator:
    """Trains the configuration with Keras on the search's tuning split, with the weights
    seeded by the repetition's seed and the trial's number (`stream` names which seeds: a
    search's trials, or a table's tabulation). `callbacks` are extra Keras callbacks for every
    fit (instrumentation: the training benchmark's clock); `test` batches add each epoch's test
    metrics to its record (a table's)."""

    def __init__(self, settings: TuneSettings, data: TrainingData, max_params: int,
                 callbacks: tuple = (), *, test=None, stream: str = "trial"):  # fmt: skip
        self.settings, self.max_params, self.callbacks = settings, max_params, list(callbacks)
        self.data, self.test, self.stream = data, test, stream
        self.trainer = Trainer(settings.model, settings.train, data.image_size, data.n_classes,
                               data.train, data.validation)  # fmt: skip
        self._model, self._best = None, None

    def evaluate(self, request: Request, on_epoch: OnEpoch) -> None:
        seed = derive_seed(self.settings.seed, self.stream, request.trial)
        keep = request.keep_weights is not None
        report = _Report(on_epoch, self.test)  # its clock starts here
        self._model = None
        self._best = _BestWeights(self.settings.budget.objective) if keep else None
        model = self.trainer.model(request.hp, seed, max_params=self.max_params, fresh=True)
        self._model = model
        if request.warm_start is not None:
            model.set_weights(load_weights(request.warm_start))
        callbacks = [report, *self.callbacks, *([self._best] if keep else [])]
        self.trainer.fit(model, request.epochs, callbacks, request.initial_epoch)

    def keep(self, request: Request) -> None:
        if self._best is None or self._best.weights is None:
            return
        save_weights(self._best.weights, request.keep_weights)
