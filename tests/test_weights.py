"""Pretrained weights are data: fetched once, verified against Keras' published md5, kept under
data/, loaded by Keras from there; a wrong file leaves nothing, and offline says where to put it.

A loopback server serves a weights file the test generates (no test needs a network)."""

from __future__ import annotations

import hashlib
import re

import h5py
import numpy as np
import pytest
from test_download import Server

from bloomtune.data import fetch as dl
from bloomtune.data import weights as wt
from bloomtune.model_spec import ModelSpec
from bloomtune.training.families import build
from bloomtune.training.families.transfer import WeightsMissing, make_backbone

NAME = "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    """A MobileNetV3Small weights file in Keras' own (legacy h5) format, and its backbone."""
    from keras.src.legacy.saving import legacy_h5_format

    path = tmp_path_factory.mktemp("weights") / NAME
    backbone = make_backbone("MobileNetV3Small", 32, None)
    with h5py.File(path, "w") as fh:
        legacy_h5_format.save_weights_to_hdf5_group(fh, backbone)
    return path, backbone


@pytest.fixture
def served(weights_file, monkeypatch):
    path, _ = weights_file
    data = path.read_bytes()
    server = Server({NAME: data})
    md5 = hashlib.md5(data).hexdigest()
    monkeypatch.setattr(wt, "published", lambda backbone: (f"{server.url}{NAME}", md5))
    monkeypatch.setattr(dl.time, "sleep", lambda seconds: None)
    yield server, md5
    server.close()


def _spec(tmp_path, **kw):
    return ModelSpec("transfer", backbone="MobileNetV3Small", weights="imagenet",
                     weights_dir=tmp_path / "data" / "weights", **kw)  # fmt: skip


def test_weights_are_fetched_verified_kept_under_data_and_loaded_from_there(
    served, weights_file, tmp_path
):
    server, md5 = served
    spec = _spec(tmp_path)
    record = wt.fetch_weights(spec, spec.weights_dir, tmp_path / "data" / "downloads")
    local = spec.weights_dir / "MobileNetV3Small_notop.h5"
    assert record["md5"] == md5 and local.exists()
    assert record["sha256"] == hashlib.sha256(local.read_bytes()).hexdigest()
    model = build(spec, {"learning_rate": 1e-3}, 32, 3)
    backbone = model.get_layer("MobileNetV3Small")
    for ours, served_weights in zip(
        backbone.get_weights(), weights_file[1].get_weights(), strict=True
    ):
        assert np.array_equal(ours, served_weights)
    # A second run finds the verified download and asks the server for nothing.
    requests = len(server.requests)
    wt.fetch_weights(spec, spec.weights_dir, tmp_path / "data" / "downloads")
    assert len(server.requests) == requests


def test_a_wrong_file_is_refused_and_nothing_is_left_as_if_valid(served, tmp_path):
    server, _ = served
    server.files[NAME] = b"not the weights Keras published" * 100
    spec = _spec(tmp_path)
    downloads = tmp_path / "data" / "downloads"
    with pytest.raises(dl.DownloadError, match="does not match Keras' published md5"):
        wt.fetch_weights(spec, spec.weights_dir, downloads)
    assert not spec.weights_dir.exists()
    assert list(downloads.iterdir()) == []  # no file, no .part
    with pytest.raises(WeightsMissing, match=re.escape("run the weights stage first")):
        build(spec, {"learning_rate": 1e-3}, 32, 3)


def test_offline_says_where_to_place_the_file_and_a_placed_file_is_used(
    served, weights_file, tmp_path
):
    server, md5 = served
    server.close()  # nothing listens any more: connection refused
    spec = _spec(tmp_path)
    downloads = tmp_path / "data" / "downloads"
    with pytest.raises(dl.DownloadError) as caught:
        wt.fetch_weights(spec, spec.weights_dir, downloads)
    message = str(caught.value)
    assert f"place that file at {downloads / NAME} (md5 {md5})" in message
    assert "\n" not in message
    (downloads / NAME).write_bytes(weights_file[0].read_bytes())
    record = wt.fetch_weights(spec, spec.weights_dir, downloads)
    assert record["file"] == "MobileNetV3Small_notop.h5"


def test_a_model_without_pretrained_weights_records_only_that(tmp_path):
    spec = ModelSpec("transfer", backbone="MobileNetV3Small", weights=None)
    record = wt.fetch_weights(spec, tmp_path / "weights", tmp_path / "downloads")
    assert record == {"family": "transfer", "backbone": "MobileNetV3Small", "weights": None}
    assert [p.name for p in (tmp_path / "weights").iterdir()] == ["weights.json"]


@pytest.mark.parametrize("backbone", ["MobileNetV3Small", "EfficientNetV2B0", "ResNet50V2"])
def test_every_backbone_has_the_url_and_md5_keras_publishes(backbone):
    url, md5 = wt.published(backbone)
    assert url.startswith("https://storage.googleapis.com/tensorflow/keras-applications/")
    assert url.endswith(".h5") and re.fullmatch("[0-9a-f]{32}", md5)
