"""The Oxford 102 on-disk layout: image paths, labels and the blog's and official splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bloomtune.errors import DataError

LABELS_FILE = "imagelabels.mat"
SETID_FILE = "setid.mat"
IMAGE_DIR = "jpg"

# Which setid.mat lists make each split. The blog trained on trnid + tstid and tested on valid.
SPLITS = {
    "blog": {"train": ("trnid", "tstid"), "test": ("valid",)},
    "official": {"train": ("trnid",), "validation": ("valid",), "test": ("tstid",)},
}


def image_path(raw: Path, number: int) -> Path:
    """Path of the 1-based image `number`."""
    return raw / IMAGE_DIR / f"image_{number:05d}.jpg"


def read_labels(raw: Path) -> np.ndarray:
    """0-based class of each image, indexed by image number - 1."""
    import scipy.io  # imported here: costly, and only the metadata needs it

    labels = scipy.io.loadmat(raw / LABELS_FILE)["labels"]
    if labels.ndim != 2 or labels.shape[0] != 1:
        raise DataError(
            f"{raw / LABELS_FILE}: labels should have shape (1, N), got {labels.shape}"
        )
    return labels[0].astype(np.int64) - 1


def read_setid(raw: Path) -> dict[str, np.ndarray]:
    import scipy.io

    mat = scipy.io.loadmat(raw / SETID_FILE)
    return {key: mat[key][0].astype(np.int64) for key in ("trnid", "valid", "tstid")}


def split_numbers(raw: Path, scheme: str) -> dict[str, np.ndarray]:
    """1-based image numbers of each split of `scheme`, sorted."""
    setid = read_setid(raw)
    return {
        split: np.sort(np.concatenate([setid[key] for key in keys]))
        for split, keys in SPLITS[scheme].items()
    }


def listing(raw: Path, split: str) -> tuple[dict[str, list], list[str]]:
    """(path, label) per split of a data set in the Oxford layout, and its class names."""
    labels = read_labels(raw)
    numbers = split_numbers(raw, split)
    found = {
        name: [(image_path(raw, int(n)), int(labels[n - 1])) for n in ids]
        for name, ids in numbers.items()
    }
    n_classes = int(labels.max()) + 1
    return found, [f"class_{i + 1:03d}" for i in range(n_classes)]
