"""Progress lines for the training stages: Keras' own progress bars are off in logs."""

from __future__ import annotations

import logging

import keras

log = logging.getLogger(__name__)


class EpochLogger(keras.callbacks.Callback):
    """One progress line per epoch."""

    def __init__(self, label: str, epochs: int):
        super().__init__()
        self.label, self.epochs = label, epochs

    def on_epoch_end(self, epoch, logs=None):
        values = " ".join(f"{k} {v:.4f}" for k, v in sorted((logs or {}).items()))
        log.info("%s epoch %d/%d %s", self.label, epoch + 1, self.epochs, values)
