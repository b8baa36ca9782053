"""What a data source is: how its params are checked, how it is fetched into data/raw, how
the standardise stage lists its images, and its split sizes before anything is fetched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# (path, label) per split name, and the class names in label order.
Listing = tuple[dict[str, list[tuple[Path, int]]], list[str]]


@dataclass(frozen=True)
class Splits:
    """Images per split (train, test, and validation where the split has one), the classes, and
    the training images' labels where params alone give them (the validation carve is per class)."""

    sizes: dict[str, int]
    classes: int
    train_labels: object | None = None  # a NumPy array of labels, or None


class DataSource(Protocol):
    name: str  # data.source's value, and data.<name> its own section

    def check(self, section: dict) -> None:
        """ParamsError naming the key if its section cannot work (before any job)."""

    def fewest_classes(self, section: dict) -> int:
        """The fewest classes its data can have, known from params alone."""

    def fetch(self, section: dict, seed: int, raw: Path) -> None:
        """Put the data set into `raw`, replacing it only once complete, with source.json."""

    def listing(self, raw: Path, split: str) -> tuple[dict, list[str], str]:
        """(path, label) per split of the fetched data, the class names, and the split's name
        as the manifest records it (standardise.split, or the source's own)."""

    def splits(self, params: dict) -> Splits:
        """Its split sizes from params alone (the plan asks before anything is fetched)."""
