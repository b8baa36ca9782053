"""Read the standardised arrays and carve the one shared, stratified validation split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bloomtune.runtime import derive_seed, read_json


@dataclass
class Arrays:
    x: np.ndarray  # uint8, (n, size, size, 3); rescaled inside the model
    y: np.ndarray  # int64 class indices


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
    return Arrays(
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
        validation = Arrays(train.x[holdout], train.y[holdout])
        train = Arrays(train.x[~holdout], train.y[~holdout])
    return TrainingData(train, validation, info["n_classes"], info["image_size"])


def load_all_training(data_dir: Path) -> Arrays:
    """Every training image, validation included: what retraining uses."""
    info = manifest(data_dir)
    parts = [
        load_split(data_dir, name) for name in ("train", "validation") if name in info["splits"]
    ]
    if len(parts) == 1:
        return parts[0]
    return Arrays(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]))
