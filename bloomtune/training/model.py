"""The one CNN every tuner tunes, built from a plain dict of hyperparameters."""

from __future__ import annotations

from bloomtune.errors import ModelTooLargeError
from bloomtune.machine import job_memory

DEFAULTS = {
    "filters": 64,
    "kernel_size": 3,
    "strides": 1,
    "activation": "relu",
    "learning_rate": 1e-4,
}


def conv_output_size(image_size: int, kernel_size: int, strides: int) -> int:
    """Side of Conv2D's output with 'valid' padding."""
    return (image_size - kernel_size) // strides + 1


def count_params(hp: dict, image_size: int, n_classes: int) -> int:
    """Exact trainable parameter count of build_model(hp), computed without building it."""
    hp = {**DEFAULTS, **hp}
    side = conv_output_size(image_size, hp["kernel_size"], hp["strides"])
    if side < 1:
        return 0
    conv = (hp["kernel_size"] ** 2 * 3 + 1) * hp["filters"]
    dense = (side * side * hp["filters"] + 1) * n_classes
    return conv + dense


# Peak bytes a parameter of the blog's CNN takes in training (weights, gradient, RMSprop's
# accumulator, initialiser temporaries): 1.65 GB for 65 M parameters (bench/stage_memory.py,
# docs/benchmarks.md), so about 25.
BYTES_PER_PARAMETER = 25
MODEL_SHARE = 0.75  # of the job's memory; the rest is TensorFlow, activations and images


def auto_max_params() -> int:
    """tuning.max_model_params: auto, resolved once per search from the memory the job is given
    (machine.job_memory), never from what happens to be free: the same for every tuner on the
    same machine or node, and recorded in best.json (the fairness panel compares it)."""
    return max(1, int(job_memory() * MODEL_SHARE) // BYTES_PER_PARAMETER)


def model_limit(setting: int | str) -> int:
    """tuning.max_model_params as a number of parameters: `auto` resolved (auto_max_params)."""
    return auto_max_params() if setting == "auto" else int(setting)


def check_size(n_params: int, max_params: int | None) -> None:
    if max_params is not None and n_params > max_params:
        raise ModelTooLargeError(
            f"model would have {n_params:,} parameters, over tuning.max_model_params "
            f"({max_params:,})"
        )


def compile_classifier(model, optimizer, n_classes: int):
    """Sparse cross-entropy with accuracy and top-5 accuracy, as every stage reads them."""
    import keras

    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=[
            "accuracy",
            keras.metrics.SparseTopKCategoricalAccuracy(k=min(5, n_classes), name="top5_accuracy"),
        ],
    )
    return model


def build_model(hp: dict, image_size: int, n_classes: int, max_params: int | None = None):
    """Conv2D -> Flatten -> Dense(softmax), RMSprop; uint8 pixels are rescaled inside the model."""
    import keras

    hp = {**DEFAULTS, **hp}
    n_params = count_params(hp, image_size, n_classes)
    if n_params == 0:
        raise ModelTooLargeError(
            f"kernel_size {hp['kernel_size']} does not fit a {image_size}-pixel image"
        )
    check_size(n_params, max_params)
    model = keras.Sequential(
        [
            keras.Input((image_size, image_size, 3), dtype="uint8"),
            keras.layers.Rescaling(1.0 / 255),
            keras.layers.Conv2D(
                int(hp["filters"]),
                int(hp["kernel_size"]),
                strides=int(hp["strides"]),
                activation=hp["activation"],
            ),
            keras.layers.Flatten(),
            keras.layers.Dense(n_classes, activation="softmax", dtype="float32"),
        ]
    )
    optimizer = keras.optimizers.RMSprop(learning_rate=float(hp["learning_rate"]))
    return compile_classifier(model, optimizer, n_classes)
