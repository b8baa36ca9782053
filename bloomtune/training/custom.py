"""A user's own model: a builder named `module:function` (a file in the project or an installed
package) that takes the trial's hyperparameter values, the image size and the class count and
returns a compiled Keras model. Anything else it returns, or any error it raises, fails the trial
with that reason."""

from __future__ import annotations

import importlib
import os
import sys


def load_builder(reference: str):
    module_name, function = reference.split(":")
    if os.getcwd() not in sys.path:  # a module file in the project
        sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    try:
        return getattr(module, function)
    except AttributeError:
        raise AttributeError(f"model.builder: {module_name} has no {function!r}") from None


def build_custom(reference: str, hp: dict, image_size: int, n_classes: int):
    import keras

    model = load_builder(reference)(dict(hp), image_size=image_size, n_classes=n_classes)
    if not isinstance(model, keras.Model):
        raise TypeError(f"{reference} returned {type(model).__name__}, not a Keras model")
    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise TypeError(f"{reference} returned a model that is not compiled (call compile)")
    return model
