"""Standardisation writes uint8 arrays and a manifest; the splits follow the Oxford metadata."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import shared_oxford

from bloomtune.data import oxford
from bloomtune.data.dataset import load_all_training, load_training, stratified_holdout
from bloomtune.data.standardise import standardise
from bloomtune.data.synthetic import write_synthetic
from bloomtune.settings import StandardiseSettings

SETTINGS = StandardiseSettings(image_size=16, split="blog", interpolation="cubic")


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw")
    write_synthetic(folder, n_classes=3, images_per_class=10, image_size=48, seed=0)
    return folder


def test_arrays_and_manifest(raw, tmp_path):
    manifest = standardise(SETTINGS, raw, tmp_path / "std", threads=2)
    on_disk = json.loads((tmp_path / "std" / "manifest.json").read_text())
    assert on_disk == json.loads(json.dumps(manifest))
    train = np.load(tmp_path / "std" / "train_images.npy")
    assert train.dtype == np.uint8 and train.shape == (
        manifest["splits"]["train"]["count"],
        16,
        16,
        3,
    )
    assert manifest["splits"]["train"]["count"] + manifest["splits"]["test"]["count"] == 30
    assert manifest["n_classes"] == 3 and sum(manifest["class_counts"]) == 30
    assert not list(tmp_path.glob(".std.*"))  # no temporary folder left behind


def test_same_inputs_same_bytes(raw, tmp_path):
    a = standardise(SETTINGS, raw, tmp_path / "a", threads=2)
    b = standardise(SETTINGS, raw, tmp_path / "b", threads=1)
    assert a["splits"] == b["splits"]


def test_validation_split_is_stratified_seeded_and_disjoint(raw, tmp_path):
    standardise(SETTINGS, raw, tmp_path / "std", threads=1)
    data = load_training(tmp_path / "std", 0.25, seed=5)
    again = load_training(tmp_path / "std", 0.25, seed=5)
    assert np.array_equal(data.validation.read_all(), again.validation.read_all())
    assert set(np.unique(data.validation.y)) == {0, 1, 2}
    everything = load_all_training(tmp_path / "std")
    assert len(data.train.y) + len(data.validation.y) == len(everything.y)
    mask = stratified_holdout(np.repeat(np.arange(4), 20), 0.2, seed=1)
    assert mask.sum() == 16
    assert not np.array_equal(mask, stratified_holdout(np.repeat(np.arange(4), 20), 0.2, seed=2))


def test_split_sizes_of_the_real_metadata():
    folder = shared_oxford()
    blog = oxford.split_numbers(folder, "blog")
    official = oxford.split_numbers(folder, "official")
    assert (len(blog["train"]), len(blog["test"])) == (7169, 1020)
    sizes = tuple(len(official[k]) for k in ("train", "validation", "test"))
    assert sizes == (1020, 1020, 6149)
    labels = oxford.read_labels(folder)
    counts = np.bincount(labels)
    assert len(counts) == 102 and counts.min() == 40 and counts.max() == 258
