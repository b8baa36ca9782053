"""How a stage trains, beyond what: `train.mixed_precision`, `train.jit_compile` (XLA) and
`train.input`, applied the same way by tune, best_epoch and retrain."""

from __future__ import annotations

import logging
import os

from bloomtune.model_settings import Training

log = logging.getLogger(__name__)

POLICIES = {False: "float32", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}


def configure(train: Training) -> None:
    """Set this process up for `train` before any model is built.

    Mixed precision: Keras' global dtype policy (layers compute in 16 bits and keep float32
    weights; bloomtune's models give their softmax float32; Keras scales the loss under
    float16). XLA: deterministic GPU kernels asked of XLA (its flag must be set before it
    starts); see `compiled_for`."""
    import keras

    keras.mixed_precision.set_global_policy(POLICIES[train.mixed_precision])
    flags = os.environ.get("XLA_FLAGS", "")
    if train.jit_compile and "xla_gpu_deterministic_ops" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_gpu_deterministic_ops=true".strip()
    _determinism(True)  # as configure_tensorflow left it; compiled_for lifts it for XLA


def _determinism(on: bool) -> None:
    import tensorflow as tf
    from tensorflow.python.framework.config import disable_op_determinism

    if on:
        tf.config.experimental.enable_op_determinism()
    else:
        disable_op_determinism()


def compiled_for(model, train: Training):
    """The built model with the stage's XLA choice (Keras reads it when `fit` first runs).

    Keras refuses `jit_compile` while TensorFlow's op determinism is on, so for XLA it is
    turned off: the training step then runs as one XLA program, which repeats exactly on CPU
    (two seeded runs, bit-identical weights: tests/test_execution.py). A model XLA cannot
    compile trains without it, with op determinism back on."""
    _determinism(not train.jit_compile)
    model.jit_compile = bool(train.jit_compile)
    if train.jit_compile and not model.jit_compile:
        log.warning("XLA refused for this model (a layer does not support it); training without")
        _determinism(True)
    return model


class FitInputs:
    """A stage's training (and validation) images as Feeds, made once; `datasets()` gives fresh
    pipelines for each `fit`."""

    def __init__(self, train_images, validation_images, train: Training):
        from bloomtune.training.inputs import Feed

        self.batch_size = train.batch_size
        self.train = Feed(train_images, train.input)
        self.validation = Feed(validation_images, train.input) if validation_images else None

    def datasets(self):
        """(training, validation or None): call after seeding and building the model, where
        Keras would make its own, so the batches are the ones Keras' array path draws."""
        fit = self.train.batches(self.batch_size, shuffle=True)
        if self.validation is None:
            return fit, None
        return fit, self.validation.batches(self.batch_size, shuffle=False)
