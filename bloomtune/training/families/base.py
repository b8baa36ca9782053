"""What a model family is: the hyperparameters it understands, its params checks, how it is
built, and what sets its cost (the shapes the plan's calibration times)."""

from __future__ import annotations

from typing import Protocol

from bloomtune.model_spec import ModelSpec


class ModelFamily(Protocol):
    name: str  # model.family's value
    hyperparameters: tuple[str, ...] | None  # the search space's names it takes (None: any)

    def check(self, section: dict, space, params: dict) -> None:
        """ParamsError naming the key for values every trial would fail on (before any job);
        `space` is the SearchSpace, `params` the whole params."""

    def check_limit(self, limit: int, space, image_size: int, classes: int) -> None:
        """ParamsError if tuning.max_model_params (a number) refuses every configuration, at
        the fewest classes the data can have."""

    def prepare(self, spec: ModelSpec) -> None:
        """Fail before a search's first trial if the family cannot build at all."""

    def build(self, spec: ModelSpec, hp: dict, image_size: int, n_classes: int,
              max_params: int | None):  # fmt: skip
        """The compiled Keras model; ModelTooLargeError over `max_params` (may be checked
        after building)."""

    def cost_key(self, hp: dict) -> tuple:
        """What sets a configuration's training cost: configurations with one key are timed
        once."""

    def size(self, hp: dict, image_size: int, n_classes: int) -> int | None:
        """Its parameter count without building it, where the family knows it (the
        calibration times the smallest first), else None."""

    def record(self, spec: ModelSpec) -> dict:
        """The family's settings as best.json records them (with a weights file's sha256)."""
