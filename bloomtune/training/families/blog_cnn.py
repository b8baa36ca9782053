"""The blog's one-layer CNN as a model family (training/model.py builds it): its
hyperparameters' bounds, the smallest model a parameter limit must allow, and its cost, set by
filters, kernel and strides alone."""

from __future__ import annotations

from bloomtune.errors import ParamsError
from bloomtune.model_spec import ModelSpec
from bloomtune.training.model import build_model, count_params

HYPERPARAMETERS = ("filters", "kernel_size", "strides", "activation", "learning_rate")
# Keras' activation functions by name (keras.activations.get; tests/test_params.py checks the
# list against Keras), so a misspelt one is refused before any job, not by every trial.
ACTIVATIONS = ("celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid",
               "hard_silu", "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid",
               "log_softmax", "mish", "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink",
               "softmax", "softplus", "softsign", "sparse_plus", "sparsemax", "squareplus",
               "swish", "tanh", "tanh_shrink")  # fmt: skip


def _ends(dim) -> list:
    """What a dimension can take: its choices, or a range's two ends."""
    return list(dim.choices) if dim.choices is not None else [dim.low, dim.high]


def _values(dim) -> list:
    """A dimension's values (an int range in full, up to a thousand of them)."""
    if dim.choices is not None:
        return list(dim.choices)
    return list(range(dim.low, dim.high + 1))[:1000] if isinstance(dim.low, int) else []


class BlogCNN:
    name = "blog_cnn"
    hyperparameters = HYPERPARAMETERS

    def check(self, section: dict, space, params: dict) -> None:
        """Its bounds on each hyperparameter, for the configured image size: values every trial
        would fail on are refused, naming the key."""
        image_size = params["standardise"]["image_size"]
        dims = {dim.name: dim for dim in space}

        def bad(name: str, ok, need: str) -> None:
            if name in dims:
                wrong = [v for v in _ends(dims[name]) if not ok(v)]
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

    def check_limit(self, limit: int, space, image_size: int, classes: int) -> None:
        """A parameter limit below the smallest model the search space gives (at the fewest
        classes the data can have) refuses every trial: refused."""
        dims = {dim.name: dim for dim in space}
        shape = {}
        for name, pick in (("filters", min), ("strides", max)):  # fewer parameters either way
            if name in dims and (values := _values(dims[name])):
                shape[name] = pick(values)
        size = image_size
        kernels = _values(dims["kernel_size"]) if "kernel_size" in dims else [None]
        smallest = min(
            (count_params({**shape, "kernel_size": k} if k else shape, size, classes), k)
            for k in kernels or [None]
        )
        if 0 < smallest[0] and limit < smallest[0]:
            raise ParamsError(
                f"tuning.max_model_params: {limit:,} is below the smallest model the search "
                f"space gives ({smallest[0]:,} parameters at {size} px and {classes} classes), "
                "so every trial would be refused as too large; raise it or use auto"
            )

    def prepare(self, spec: ModelSpec) -> None:
        """Nothing to prepare: the CNN is bloomtune's own."""

    def build(self, spec: ModelSpec, hp: dict, image_size: int, n_classes: int, max_params):
        return build_model(hp, image_size, n_classes, max_params)  # sized before it is built

    def cost_key(self, hp: dict) -> tuple:
        """Filters, kernel and strides (not activation or rate)."""
        return tuple(hp.get(k) for k in ("filters", "kernel_size", "strides"))

    def size(self, hp: dict, image_size: int, n_classes: int) -> int | None:
        return count_params(hp, image_size, n_classes)

    def record(self, spec: ModelSpec) -> dict:
        return spec.record()
