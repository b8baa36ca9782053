"""A tiny standardised data set and tune-stage params for in-process tuning tests."""

from __future__ import annotations

import copy
from pathlib import Path

from conftest import ROOT

from bloomtune.params import load_params, stage_params
from bloomtune.standardise import standardise
from bloomtune.synthetic import write_synthetic


def tiny_data(folder: Path) -> Path:
    write_synthetic(folder / "raw", n_classes=3, images_per_class=12, image_size=48, seed=0)
    settings = {"image_size": 16, "split": "blog", "interpolation": "area"}
    standardise(folder / "raw", folder / "std", settings, threads=2)
    return folder / "std"


def tune_sections(tuner: str, **tuning) -> dict:
    params = load_params([ROOT / "params.yaml", ROOT / "config" / "smoke.yaml"])
    sections = copy.deepcopy(stage_params(params, "tune", tuner))
    sections["tuning"].update(tuning)
    return sections
