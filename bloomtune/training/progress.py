"""Progress lines for the training stages: Keras' own progress bars are off in logs."""

from __future__ import annotations

import logging
import time

import keras

log = logging.getLogger(__name__)


class EpochLogger(keras.callbacks.Callback):
    """One progress line per epoch: the epoch of the most, its metrics, an ETA (at the pace
    so far; early stopping may end sooner)."""

    def __init__(self, label: str, epochs: int):
        super().__init__()
        self.label, self.epochs = label, epochs

    def on_train_begin(self, logs=None):
        self.began = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        values = " ".join(f"{k} {v:.4f}" for k, v in sorted((logs or {}).items()))
        done = epoch + 1
        left = (time.perf_counter() - self.began) / done * (self.epochs - done)
        log.info("%s epoch %d/%d %s ETA %.0f s", self.label, done, self.epochs, values, left)
