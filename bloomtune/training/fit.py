"""The one way a model is trained here: the process set up for the stage's training settings
and images once, then, per model, seed, build, compile and fit. The tuning runner's Keras
evaluator, best_epoch, retrain and the training benchmark all train through it."""

from __future__ import annotations

import gc

from bloomtune.model_settings import Training
from bloomtune.model_spec import ModelSpec
from bloomtune.seeds import seed_everything
from bloomtune.training.execution import FitInputs, compiled_for, configure
from bloomtune.training.families import build


class Trainer:
    """Trains models of one family on one stage's images (`validation` may be None).

    Precision and XLA are set and the input feeds made once, before any model; each `model`
    call seeds, builds and compiles one, and `fit` draws fresh batches after that, where Keras
    would make its own, so the batches are the ones Keras' array path draws."""

    def __init__(self, spec: ModelSpec, train: Training, image_size: int, n_classes: int,
                 train_images, validation_images=None):  # fmt: skip
        self.spec, self.train = spec, train
        self.image_size, self.n_classes = image_size, n_classes
        configure(train)
        self.inputs = FitInputs(train_images, validation_images, train)

    def model(self, hp: dict, seed: int, *, max_params=None, fresh: bool = False):
        """The compiled model for `hp`, its weights drawn from `seed`. `fresh` first frees the
        previous model's graph and memory (a search trains many in one process);
        ModelTooLargeError over `max_params`."""
        import keras

        seed_everything(seed)
        if fresh:
            keras.backend.clear_session()
            gc.collect()
        model = build(self.spec, hp, self.image_size, self.n_classes, max_params)
        return compiled_for(model, self.train)

    def fit(self, model, epochs: int, callbacks: list, initial_epoch: int = 0):
        """Train `model` for epochs initial_epoch+1..epochs; Keras' History."""
        fit, validation = self.inputs.datasets()
        return model.fit(
            fit,
            validation_data=validation,
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            shuffle=False,  # the input pipeline shuffles, as Keras would
            verbose=0,
        )
