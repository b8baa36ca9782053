"""The report's provenance: the model, how it trained, the data, seeds, params fingerprints,
package versions, the device and the date."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata

from bloomtune.machine import describe_kernels
from bloomtune.reporting.runs import Run

PACKAGES = ["tensorflow-cpu", "tensorflow", "keras", "keras-tuner", "optuna", "numpy", "scipy",
            "statsmodels", "scikit-posthocs", "dvc", "snakemake"]  # fmt: skip


def describe_model(model: dict) -> str:
    """The model family in a few words: backbone and weights (with their hash), or builder."""
    if model["family"] == "transfer":
        weights = model.get("weights") or "none (trained from scratch)"
        if model.get("weights_sha256"):
            weights += f", sha256 {model['weights_sha256']}"
        size = f", input {model['input_size']} px" if model.get("input_size") else ""
        return f"transfer: {model['backbone']}{size}, weights {weights}"
    if model["family"] == "custom":
        return f"custom: {model['builder']}"
    return "blog_cnn: the blog's Conv2D, Flatten, Dense"


def describe_training(train: dict) -> str:
    """How the models trained: precision, XLA and the input path (params `train`)."""
    precision = train.get("mixed_precision") or False
    precision = f"mixed {precision}" if precision else "float32"
    xla = "XLA (jit_compile)" if train.get("jit_compile") else "no XLA"
    return f"{precision}, {xla}, input {train.get('input', 'auto')}"


def provenance(runs: list[Run]) -> dict[str, str]:
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    metrics = [run.metrics for run in runs]
    data = metrics[0]["data"]
    fingerprints: dict[str, list[str]] = {}
    for run in runs:
        fingerprints.setdefault(run.tuner, []).append(run.best["params_fingerprint"])
    return {
        "model": describe_model(runs[0].best.get("model", {"family": "blog_cnn"})),
        "training": "; ".join(
            sorted({describe_training(r.best["settings"]["train"]) for r in runs})
        ),
        "data": f"{data['source']}, split {data['split']}, {data['image_size']} px",
        "manifest sha256": ", ".join(sorted({m["data"]["manifest_sha256"] for m in metrics})),
        "data seed": ", ".join(sorted({str(r.best["settings"].get("data_seed")) for r in runs})),
        "repetition seeds": ", ".join(map(str, sorted({r.seed for r in runs}))),
        "params fingerprints": "; ".join(f"{t}: {' '.join(f)}" for t, f in fingerprints.items()),
        "packages": ", ".join(versions) + f", Python {platform.python_version()}",
        "device": ", ".join(sorted({m["device"] for m in metrics})),
        "training kernels": "; ".join(sorted({_kernels(r.best) for r in runs})),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _kernels(best: dict) -> str:
    machine = best.get("machine")
    if not machine:
        return "not recorded"
    threads = machine["threads"]
    return f"{machine['cpu']}, {describe_kernels(machine)}, {threads} thread" + (
        "s" if threads != 1 else ""
    )
