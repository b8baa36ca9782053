"""The model every tuner tunes (params `model`): its family and the family's own settings, as
plain values (light: every stage's settings hold one).

blog_cnn is the blog's one-layer CNN, transfer a keras.applications backbone with a new head,
custom a user's builder; each family's checks, build and cost are its module under
training/families/, registered there."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Each family's own settings beside `family` (what the model section may hold).
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

    @property
    def pretrained(self) -> bool:
        """Whether it starts from published ImageNet weights (a file the weights stage fetches)."""
        return self.weights == "imagenet"

    def record(self) -> dict:
        """The family and its own settings as plain values (best.json, the search's key)."""
        own = [k for k in OWN_KEYS[self.family] if k != "weights_url"]  # where, not what
        return {"family": self.family, **{k: getattr(self, k) for k in own}}
