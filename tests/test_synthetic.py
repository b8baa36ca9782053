"""The synthetic source writes the Oxford 102 layout, byte for byte the same for the same seed."""

from __future__ import annotations

import hashlib

import numpy as np
import scipy.io
from PIL import Image

from bloomtune.data import oxford
from bloomtune.data.synthetic import write_synthetic


def _digest(folder) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_oxford_layout(tmp_path):
    n = write_synthetic(tmp_path, n_classes=3, images_per_class=10, image_size=96, seed=1)
    assert n == 30
    labels = scipy.io.loadmat(tmp_path / "imagelabels.mat")["labels"]
    assert labels.shape == (1, 30) and labels.dtype == np.uint8
    assert sorted(set(labels[0].tolist())) == [1, 2, 3]
    setid = scipy.io.loadmat(tmp_path / "setid.mat")
    ids = np.concatenate([setid[k][0] for k in ("trnid", "valid", "tstid")])
    assert sorted(ids.tolist()) == list(range(1, 31))  # 1-based, disjoint, complete
    image = Image.open(oxford.image_path(tmp_path, 30))
    assert image.format == "JPEG" and image.mode == "RGB" and image.width == 96


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    kwargs = dict(n_classes=2, images_per_class=5, image_size=64)
    write_synthetic(tmp_path / "a", seed=7, **kwargs)
    write_synthetic(tmp_path / "b", seed=7, **kwargs)
    write_synthetic(tmp_path / "c", seed=8, **kwargs)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_classes_differ_visibly(tmp_path):
    """Mean colour of a class's images separates it from another class (petal colours differ)."""
    write_synthetic(tmp_path, n_classes=2, images_per_class=12, image_size=64, seed=3)
    labels = oxford.read_labels(tmp_path)
    means = np.array(
        [
            np.asarray(Image.open(oxford.image_path(tmp_path, i + 1))).mean((0, 1))
            for i in range(len(labels))
        ]
    )
    centroid = [means[labels == c].mean(0) for c in (0, 1)]
    assert np.linalg.norm(centroid[0] - centroid[1]) > 3
