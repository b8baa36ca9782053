"""A tiny standardised data set and tune-stage settings for in-process tuning tests."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT

from bloomtune.checks import check_params, load_params
from bloomtune.data.standardise import standardise
from bloomtune.data.synthetic import write_synthetic
from bloomtune.model_settings import TuneSettings, resolve
from bloomtune.params import merge, merge_params
from bloomtune.settings import StandardiseSettings

TINY = StandardiseSettings(image_size=16, split="blog", interpolation="area")


def tiny_data(folder: Path) -> Path:
    write_synthetic(folder / "raw", n_classes=3, images_per_class=12, image_size=48, seed=0)
    standardise(TINY, folder / "raw", folder / "std", threads=2)
    return folder / "std"


def smoke_params(overlay: dict | None = None) -> dict:
    """params.yaml with config/smoke.yaml and `overlay` merged over it, checked."""
    params = merge_params(
        load_params([ROOT / "params.yaml", ROOT / "config" / "smoke.yaml"]), overlay or {}
    )
    check_params(params)
    return params


def tune_settings(tuner: str, overlay: dict | None = None, **tuning) -> TuneSettings:
    """The tune stage's settings for `tuner` on the smoke config, with `tuning` budget values."""
    params = smoke_params(merge(overlay or {}, {"tuning": tuning}))
    return resolve(params, "tune", tuner, seed=params["seeds"][0])
