"""The model every tuner tunes (params `model`): its family and the hyperparameters the family
understands, checked against the search space (light: every stage's params check imports it).

blog_cnn is the blog's one-layer CNN (training/model.py), transfer a keras.applications backbone
with a new head (training/transfer.py), custom a user's builder (training/custom.py); one
`build` (training/families.py) makes any of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bloomtune.errors import ParamsError

BLOG_CNN = ("filters", "kernel_size", "strides", "activation", "learning_rate")
TRANSFER = ("learning_rate", "dropout", "unfreeze", "optimizer", "momentum", "dense_units")
UNDERSTOOD = {"blog_cnn": BLOG_CNN, "transfer": TRANSFER, "custom": None}  # None: any name
OWN_KEYS = {"blog_cnn": (), "transfer": ("backbone", "weights", "input_size", "weights_url"),
            "custom": ("builder",)}  # fmt: skip
WEIGHTS_DIR = Path("data/weights")


@dataclass(frozen=True)
class ModelSpec:
    family: str = "blog_cnn"
    backbone: str | None = None
    weights: str | None = None
    input_size: int | None = None
    builder: str | None = None
    weights_url: str | None = None  # a mirror of Keras' weights files (the same names)
    # Where the verified weights are (the weights stage's output): not what the model is.
    weights_dir: Path = field(default=WEIGHTS_DIR, compare=False)

    @classmethod
    def from_params(cls, section: dict) -> ModelSpec:
        return cls(**section)

    def record(self) -> dict:
        """The family and its own settings as plain values (best.json, the search's key)."""
        own = [k for k in OWN_KEYS[self.family] if k != "weights_url"]  # where, not what
        return {"family": self.family, **{k: getattr(self, k) for k in own}}


MIN_INPUT = 32  # the smallest input every keras.applications backbone here accepts


def _check_builder(reference: str) -> None:
    """The builder's module can be found (it is not imported here: that is user code)."""
    import importlib.util
    import os
    import sys

    module = reference.split(":")[0]
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        found = None
    if found is None:
        raise ParamsError(
            f"model.builder: no module {module!r} (a file {module.replace('.', '/')}.py in the "
            "project, or an installed package)"
        )


# Keras' activation functions by name (keras.activations.get; tests/test_params.py checks the
# list against Keras), so a misspelt one is refused before any job, not by every trial.
ACTIVATIONS = ("celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid",
               "hard_silu", "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid",
               "log_softmax", "mish", "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink",
               "softmax", "softplus", "softsign", "sparse_plus", "sparsemax", "squareplus",
               "swish", "tanh", "tanh_shrink")  # fmt: skip


def _values(dim) -> list:
    """What a dimension can take: its choices, or a range's two ends."""
    return list(dim.choices) if dim.choices is not None else [dim.low, dim.high]


def check_blog_cnn(space, image_size: int) -> None:
    """The blog CNN's own bounds on its hyperparameters (`space`: a SearchSpace), for the
    configured image size: values every trial would fail on are refused here, naming the key."""
    dims = {dim.name: dim for dim in space}

    def bad(name: str, ok, need: str) -> None:
        if name in dims:
            wrong = [v for v in _values(dims[name]) if not ok(v)]
            if wrong:
                raise ParamsError(f"search_space.{name}: {wrong[0]!r} is not {need}")

    def whole(low: int, high: float = float("inf")):
        return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high

    bad("filters", whole(1), "a whole number of filters, at least 1")
    bad("strides", whole(1), "a stride of at least 1")
    size = f"a kernel size from 1 to the image size (standardise.image_size {image_size})"
    bad("kernel_size", whole(1, image_size), size)
    bad("activation", lambda v: v in ACTIVATIONS,
        f"one of Keras' activations ({', '.join(ACTIVATIONS)})")  # fmt: skip
    bad("learning_rate", lambda v: isinstance(v, int | float) and v > 0, "above 0")


def check_model(section: dict, space: list[str], image_size: int) -> None:
    """The model section, the search space's dimension names and the image size agree (one
    line naming the key if not)."""
    family = section["family"]
    for key in section:
        if key != "family" and key not in OWN_KEYS[family]:
            raise ParamsError(f"model.{key}: the {family} family takes no {key}")
    if family == "transfer" and (section.get("input_size") or image_size) < MIN_INPUT:
        raise ParamsError(
            f"model.input_size: {section['backbone']} needs images of at least {MIN_INPUT} px "
            f"and standardise.image_size is {image_size}; set model.input_size"
        )
    if family == "custom":
        _check_builder(section["builder"])
    names = UNDERSTOOD[family]
    if names is None:
        return
    for name in space:
        if name not in names:
            raise ParamsError(
                f"search_space.{name}: the {family} model has no hyperparameter {name!r} "
                f"(it takes {', '.join(names)})"
            )
    if family == "transfer" and "learning_rate" not in space:
        raise ParamsError("search_space.learning_rate: the transfer model needs a learning rate")
