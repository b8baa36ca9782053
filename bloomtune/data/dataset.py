"""Read the standardised arrays and carve the one shared, stratified validation split.

Splits are views: the stored arrays are memory-mapped and a split names its rows, so carving the
validation split or joining train and validation for retraining copies no image. Images are read
a batch at a time (bloomtune.training.inputs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bloomtune.files import read_json
from bloomtune.seeds import derive_seed


@dataclass(frozen=True)
class Arrays:
    """Some rows of one or more stored uint8 image arrays (n, size, size, 3), in order, and their
    labels. `parts` pairs each stored array with the rows of it this view holds."""

    parts: tuple[tuple[np.ndarray, np.ndarray], ...]
    y: np.ndarray  # int64 class indices, one per image of the view

    @classmethod
    def whole(cls, x: np.ndarray, y: np.ndarray) -> Arrays:
        return cls(((x, np.arange(len(x))),), np.asarray(y))

    def subset(self, rows: np.ndarray) -> Arrays:
        """The view's images at positions `rows` (a boolean mask or indices), still a view."""
        rows = np.flatnonzero(rows) if rows.dtype == bool else np.asarray(rows)
        if len(self.parts) != 1:
            raise ValueError("subset of a joined view")
        x, own = self.parts[0]
        return Arrays(((x, own[rows]),), self.y[rows])

    def join(self, other: Arrays) -> Arrays:
        return Arrays(self.parts + other.parts, np.concatenate([self.y, other.y]))

    def __len__(self) -> int:
        return len(self.y)

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.parts[0][0].shape[1:])

    @property
    def nbytes(self) -> int:
        return len(self) * int(np.prod(self.image_shape))

    def take(self, index: np.ndarray) -> np.ndarray:
        """The images at view positions `index`, read into one new array (a batch)."""
        index = np.asarray(index, dtype=np.int64)
        if len(self.parts) == 1:
            x, rows = self.parts[0]
            return np.asarray(x[rows[index]])
        out = np.empty((len(index), *self.image_shape), dtype=np.uint8)
        starts = np.cumsum([0] + [len(rows) for _, rows in self.parts])
        which = np.searchsorted(starts, index, side="right") - 1
        for k, (x, rows) in enumerate(self.parts):
            here = which == k
            if here.any():
                out[here] = x[rows[index[here] - starts[k]]]
        return out

    def read_all(self) -> np.ndarray:
        """Every image of the view in one array: a full copy, for small data and tests."""
        return self.take(np.arange(len(self)))


@dataclass
class TrainingData:
    """What tuning and best-epoch search see: the training part and the validation split."""

    train: Arrays
    validation: Arrays
    n_classes: int
    image_size: int


def manifest(data_dir: Path) -> dict:
    return read_json(Path(data_dir) / "manifest.json")


def load_split(data_dir: Path, name: str) -> Arrays:
    info = manifest(data_dir)["splits"][name]
    data_dir = Path(data_dir)
    return Arrays.whole(
        np.load(data_dir / info["images"], mmap_mode="r"), np.load(data_dir / info["labels"])
    )


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of a seeded, stratified holdout: about `fraction` of every class, at least
    one image of each class that has two or more."""
    rng = np.random.default_rng(derive_seed(seed, "validation-split"))
    mask = np.zeros(len(labels), dtype=bool)
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        n = int(round(fraction * len(members)))
        n = min(max(n, 1), len(members) - 1)
        mask[rng.choice(members, size=n, replace=False)] = True
    return mask


def load_training(data_dir: Path, validation_fraction: float, seed: int) -> TrainingData:
    """The training part and validation split; never reads the test split."""
    info = manifest(data_dir)
    train = load_split(data_dir, "train")
    if "validation" in info["splits"]:
        validation = load_split(data_dir, "validation")
    else:
        holdout = stratified_holdout(train.y, validation_fraction, seed)
        validation, train = train.subset(holdout), train.subset(~holdout)
    return TrainingData(train, validation, info["n_classes"], info["image_size"])


def load_all_training(data_dir: Path) -> Arrays:
    """Every training image, validation included: what retraining uses."""
    info = manifest(data_dir)
    train = load_split(data_dir, "train")
    if "validation" in info["splits"]:
        train = train.join(load_split(data_dir, "validation"))
    return train
