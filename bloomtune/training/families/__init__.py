"""The model families model.family names, registered once: each a module (its checks, build
and cost) of the ModelFamily protocol (families/base.py); one `build` and one params check for
all of them."""

from __future__ import annotations

from bloomtune.errors import ParamsError
from bloomtune.model_spec import OWN_KEYS, ModelSpec
from bloomtune.training.families.base import ModelFamily
from bloomtune.training.families.blog_cnn import BlogCNN
from bloomtune.training.families.custom import Custom
from bloomtune.training.families.transfer import Transfer

FAMILIES: dict[str, ModelFamily] = {f.name: f for f in (BlogCNN(), Transfer(), Custom())}


def family(name: str) -> ModelFamily:
    return FAMILIES[name]


def check(section: dict, space, params: dict) -> None:
    """The model section, the search space's dimension names and the family's own bounds agree
    (one line naming the key if not)."""
    name = section["family"]
    for key in section:
        if key != "family" and key not in OWN_KEYS[name]:
            raise ParamsError(f"model.{key}: the {name} family takes no {key}")
    names = FAMILIES[name].hyperparameters
    for dim in space.names if names is not None else ():
        if dim not in names:
            raise ParamsError(
                f"search_space.{dim}: the {name} model has no hyperparameter {dim!r} "
                f"(it takes {', '.join(names)})"
            )
    FAMILIES[name].check(section, space, params)


def build(spec: ModelSpec, hp: dict, image_size: int, n_classes: int, max_params=None):
    """The compiled model for hyperparameters `hp` (inactive conditional ones are empty and left
    out); ModelTooLargeError over `max_params`."""
    hp = {k: v for k, v in hp.items() if v is not None and v == v}  # not None, not NaN
    return FAMILIES[spec.family].build(spec, hp, image_size, n_classes, max_params)
