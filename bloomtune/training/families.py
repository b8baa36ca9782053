"""One `build` for every stage that trains (tune, best_epoch, retrain), whatever the model
family (bloomtune/model_spec.py)."""

from __future__ import annotations

from bloomtune.model_spec import ModelSpec


def build(spec: ModelSpec, hp: dict, image_size: int, n_classes: int, max_params=None):
    """The compiled model for hyperparameters `hp` (inactive conditional ones are empty and left
    out); ModelTooLargeError over `max_params`."""
    from bloomtune.training.model import build_model, check_size

    hp = {k: v for k, v in hp.items() if v is not None and v == v}  # not None, not NaN
    if spec.family == "blog_cnn":
        return build_model(hp, image_size, n_classes, max_params)
    if spec.family == "transfer":
        from bloomtune.training.transfer import build_transfer

        model = build_transfer(spec, hp, image_size, n_classes)
    else:
        from bloomtune.training.custom import build_custom

        model = build_custom(spec.builder, hp, image_size, n_classes)
    check_size(model.count_params(), max_params)
    return model
