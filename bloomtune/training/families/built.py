"""What the families whose size is known only once built share (a backbone, a user's builder):
each trial checks its own model against the parameter limit, no shape is refused beforehand,
and any value may change a trial's cost."""

from __future__ import annotations

from bloomtune.model_spec import ModelSpec
from bloomtune.training.model import check_size


class SizedWhenBuilt:
    """A model family that `make`s a compiled model, sized once it is built."""

    def make(self, spec: ModelSpec, hp: dict, image_size: int, n_classes: int):
        raise NotImplementedError

    def check_limit(self, limit: int, space, image_size: int, classes: int) -> None:
        """Its size is known only once built: each trial checks its own."""

    def prepare(self, spec: ModelSpec) -> None:
        """Nothing to prepare before the first trial."""

    def build(self, spec: ModelSpec, hp: dict, image_size: int, n_classes: int, max_params):
        model = self.make(spec, hp, image_size, n_classes)
        check_size(model.count_params(), max_params)
        return model

    def cost_key(self, hp: dict) -> tuple:
        """Every value (its cost may hang on any: a backbone's unfreeze, a builder's anything)."""
        return tuple(sorted(hp.items()))

    def size(self, hp: dict, image_size: int, n_classes: int) -> int | None:
        return None

    def record(self, spec: ModelSpec) -> dict:
        return spec.record()
