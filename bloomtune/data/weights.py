"""Stage weights: a pretrained backbone's ImageNet weights are data. Fetched once from where
Keras publishes them, verified against the md5 Keras publishes for that file (read from the
pinned Keras itself), kept in data/downloads/ and copied into data/weights/ (the stage's output,
which DVC versions); Keras then loads that local file. With no network, one line says where to
place the file. A model without pretrained weights writes only weights.json."""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

from bloomtune.data.fetch import fetch
from bloomtune.model_spec import ModelSpec
from bloomtune.files import atomic_path, write_json

log = logging.getLogger(__name__)
RECORD = "weights.json"


def published(backbone: str) -> tuple[str, str]:
    """Keras' URL and md5 of the backbone's ImageNet weights without the classification top."""
    if backbone == "MobileNetV3Small":
        from keras.src.applications import mobilenet_v3 as module

        name = "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"
        return module.BASE_WEIGHT_PATH + name, module.WEIGHTS_HASHES["small_224_1.0_float"][1]
    if backbone == "EfficientNetV2B0":
        from keras.src.applications import efficientnet_v2 as module

        name = "efficientnetv2-b0_notop.h5"
        return module.BASE_WEIGHTS_PATH + name, module.WEIGHTS_HASHES["b0"][1]
    if backbone == "ResNet50V2":
        from keras.src.applications import resnet as module

        name = "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
        return module.BASE_WEIGHTS_PATH + name, module.WEIGHTS_HASHES["resnet50v2"][1]
    raise ValueError(f"unknown backbone {backbone!r}")


def local_name(backbone: str) -> str:
    """The file's name under data/weights/ (Keras' legacy .h5 format, not .weights.h5)."""
    return f"{backbone}_notop.h5"


def fetch_weights(spec: ModelSpec, out: Path, downloads: Path) -> dict:
    """Write `out` (data/weights): the verified weights file, if the model uses one, and
    weights.json describing it; return that record."""
    record = {"family": spec.family, "backbone": spec.backbone, "weights": spec.weights}
    with atomic_path(out, directory=True) as tmp:
        if spec.pretrained:
            url, md5 = published(spec.backbone)
            if spec.weights_url:  # a mirror: the same file name under another base URL
                url = spec.weights_url.rstrip("/") + "/" + url.rsplit("/", 1)[1]
            downloads.mkdir(parents=True, exist_ok=True)
            cached = downloads / url.rsplit("/", 1)[1]

            def hint(where: str) -> str:
                return (
                    f"cannot download {where}; offline? place that file at {cached} (md5 {md5}) "
                    "and run again, or set model.weights: null"
                )

            fetch(url, cached, md5, md5_key=f"Keras' published md5 of {cached.name}", hint=hint)
            name = local_name(spec.backbone)
            shutil.copyfile(cached, tmp / name)
            with open(tmp / name, "rb") as fh:
                sha256 = hashlib.file_digest(fh, "sha256").hexdigest()
            # fetch verified the md5 before keeping the file
            record |= {"file": name, "url": url, "md5": md5, "sha256": sha256}
            log.info("%s ImageNet weights verified (md5 %s)", spec.backbone, md5)
        else:
            log.info("no pretrained weights to fetch (%s, weights %s)", spec.family, spec.weights)
        write_json(tmp / RECORD, record)
    return record
