"""A user's own model: a builder named `module:function` (a file in the project or an installed
package) that takes the trial's hyperparameter values, the image size and the class count and
returns a compiled Keras model. Anything else it returns, or any error it raises, fails the trial
with that reason."""

from __future__ import annotations

import importlib
import os
import sys

from bloomtune.errors import ParamsError
from bloomtune.model_spec import ModelSpec
from bloomtune.training.families.built import SizedWhenBuilt


def _project_importable() -> None:
    """A module file in the project (the working directory) can be imported."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def load_builder(reference: str):
    """The builder function; ParamsError naming model.builder if its module does not import or
    has no such function (the tune stage asks before its first trial)."""
    module_name, function = reference.split(":")
    _project_importable()
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module: any error importing it is theirs
        raise ParamsError(
            f"model.builder: cannot import {module_name}: {type(exc).__name__}: {exc}"
        ) from None
    builder = getattr(module, function, None)
    if not callable(builder):
        raise ParamsError(f"model.builder: {module_name} has no function {function!r}")
    return builder


def build_custom(reference: str, hp: dict, image_size: int, n_classes: int):
    import keras

    model = load_builder(reference)(dict(hp), image_size=image_size, n_classes=n_classes)
    if not isinstance(model, keras.Model):
        raise TypeError(f"{reference} returned {type(model).__name__}, not a Keras model")
    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise TypeError(f"{reference} returned a model that is not compiled (call compile)")
    return model


def _check_builder(reference: str) -> None:
    """The builder's module can be found (it is not imported here: that is user code)."""
    import importlib.util

    module = reference.split(":")[0]
    _project_importable()
    try:
        found = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        found = None
    if found is None:
        raise ParamsError(
            f"model.builder: no module {module!r} (a file {module.replace('.', '/')}.py in the "
            "project, or an installed package)"
        )


class Custom(SizedWhenBuilt):
    name = "custom"
    hyperparameters = None  # whatever the builder reads

    def check(self, section: dict, space, params: dict) -> None:
        _check_builder(section["builder"])

    def prepare(self, spec: ModelSpec) -> None:
        """Import the builder: a module that does not import fails before the first trial."""
        load_builder(spec.builder)

    def make(self, spec: ModelSpec, hp: dict, image_size: int, n_classes: int):
        return build_custom(spec.builder, hp, image_size, n_classes)
