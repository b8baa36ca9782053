"""A keras.applications backbone with a new classification head.

The backbone gets uint8 images cast to float and its own preprocessing (MobileNetV3 and
EfficientNetV2 carry it as layers; ResNet50V2's scaling to [-1, 1] is a Rescaling layer), at its
input size (`model.input_size`, or the standardised image size; a Resizing layer between them).
Its batch normalisation stays in inference mode. Tunable: learning_rate, dropout, dense_units (a
hidden layer in the head, 0 for none), unfreeze (how many of the backbone's top layers train; 0
trains the head alone), optimizer (adam, rmsprop, sgd) and momentum (sgd's)."""

from __future__ import annotations

from pathlib import Path

from bloomtune.errors import ParamsError, WeightsMissing
from bloomtune.model_spec import ModelSpec
from bloomtune.training.families.built import SizedWhenBuilt
from bloomtune.training.model import compile_classifier

MIN_INPUT = 32  # the smallest input every keras.applications backbone here accepts
# name -> (keyword arguments of the keras.applications function, rescaling outside it)
BACKBONES = {
    "MobileNetV3Small": ({"include_preprocessing": True}, None),
    "EfficientNetV2B0": ({"include_preprocessing": True}, None),
    "ResNet50V2": ({}, (1 / 127.5, -1.0)),
}
DEFAULTS = {
    "learning_rate": 1e-3,
    "dropout": 0.2,
    "dense_units": 0,
    "unfreeze": 0,
    "optimizer": "adam",
    "momentum": 0.9,
}


def weights_file(spec) -> Path | None:
    """The verified local ImageNet weights of the backbone (None for `weights: null`)."""
    if spec.weights is None:
        return None
    from bloomtune.data.weights import local_name

    path = Path(spec.weights_dir) / local_name(spec.backbone)
    if not path.exists():
        raise WeightsMissing(
            f"model.weights: the {spec.backbone} ImageNet weights are not at {path}; run the "
            "weights stage first (snakemake or dvc repro run it)"
        )
    return path


def _optimizer(hp: dict):
    import keras

    rate = float(hp["learning_rate"])
    if hp["optimizer"] == "sgd":
        return keras.optimizers.SGD(learning_rate=rate, momentum=float(hp["momentum"]))
    if hp["optimizer"] == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=rate)
    if hp["optimizer"] == "adam":
        return keras.optimizers.Adam(learning_rate=rate)
    raise ValueError(f"unknown optimizer {hp['optimizer']!r} (adam, rmsprop, sgd)")


def make_backbone(name: str, size: int, weights):
    import keras

    kwargs, _ = BACKBONES[name]
    return getattr(keras.applications, name)(
        include_top=False, weights=weights, input_shape=(size, size, 3), pooling="avg", **kwargs
    )


def build_transfer(spec, hp: dict, image_size: int, n_classes: int):
    import keras

    hp = {**DEFAULTS, **hp}
    size = spec.input_size or image_size
    backbone = make_backbone(spec.backbone, size, weights_file(spec))
    trainable_from = len(backbone.layers) - int(hp["unfreeze"])
    for index, layer in enumerate(backbone.layers):
        batch_norm = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = index >= trainable_from and not batch_norm
    inputs = keras.Input((image_size, image_size, 3), dtype="uint8")
    x = keras.layers.Rescaling(1.0)(inputs)  # uint8 -> float32, values kept
    if size != image_size:
        x = keras.layers.Resizing(size, size)(x)
    if scaling := BACKBONES[spec.backbone][1]:
        x = keras.layers.Rescaling(*scaling)(x)
    x = backbone(x, training=False)
    if int(hp["dense_units"]) > 0:
        x = keras.layers.Dense(int(hp["dense_units"]), activation="relu")(x)
    if float(hp["dropout"]) > 0:
        x = keras.layers.Dropout(float(hp["dropout"]))(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name=f"transfer_{spec.backbone}")
    return compile_classifier(model, _optimizer(hp), n_classes)


class Transfer(SizedWhenBuilt):
    name = "transfer"
    hyperparameters = ("learning_rate", "dropout", "unfreeze", "optimizer", "momentum",
                       "dense_units")  # fmt: skip

    def check(self, section: dict, space, params: dict) -> None:
        image_size = params["standardise"]["image_size"]
        if (section.get("input_size") or image_size) < MIN_INPUT:
            raise ParamsError(
                f"model.input_size: {section['backbone']} needs images of at least {MIN_INPUT} "
                f"px and standardise.image_size is {image_size}; set model.input_size"
            )
        if "learning_rate" not in space.names:
            raise ParamsError(
                "search_space.learning_rate: the transfer model needs a learning rate"
            )

    def make(self, spec: ModelSpec, hp: dict, image_size: int, n_classes: int):
        return build_transfer(spec, hp, image_size, n_classes)  # no weights file: the trial fails

    def record(self, spec: ModelSpec) -> dict:
        """Its settings, and for pretrained weights the weights file's sha256."""
        record = spec.record()
        if spec.weights:
            from bloomtune.data.weights import RECORD
            from bloomtune.files import read_json

            record["weights_sha256"] = read_json(spec.weights_dir / RECORD).get("sha256")
        return record
