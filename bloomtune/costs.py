"""What the pending jobs cost on this machine: the run's image counts (from the standardised data
or the source), each stage's epochs and seconds from the calibrated model shapes, and the wall
time one job at a time and side by side."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from bloomtune.data import sources
from bloomtune.dry_run import Job
from bloomtune.errors import UserError

CACHE = Path("results/plan/calibration.json")
TRAINING = ("tune", "best_epoch", "retrain", "evaluate", "tabulate")


def image_counts(params: dict) -> dict:
    """Training, validation (carved for tuning) and test images, and classes: from the
    standardised manifest when it is the configured one, else from the source's definition."""
    data = params["data"]
    manifest = Path("data/standardised/manifest.json")
    if manifest.exists():
        info = json.loads(manifest.read_text())
        if info.get("image_size") == params["standardise"]["image_size"] and (
            info.get("source", {}).get("source") == data["source"]
        ):
            return _tuning_split(_split_sizes_from(manifest.parent), info["n_classes"], params)
    found = sources.source(data["source"]).splits(params)
    sizes = dict(found.sizes)
    if "validation" not in sizes and found.train_labels is not None:
        # carved per class, as data/dataset.py carves it
        from bloomtune.data.dataset import stratified_holdout

        held = int(stratified_holdout(found.train_labels, params["train"]["validation_fraction"],
                                      0).sum())  # fmt: skip
        sizes = {"train": sizes["train"] - held, "validation": held, "test": sizes["test"]}
    return _tuning_split(sizes, found.classes, params)


def _split_sizes_from(folder: Path) -> dict:
    import numpy as np

    return {name: len(np.load(folder / f"{name}_labels.npy", mmap_mode="r"))
            for name in ("train", "validation", "test")
            if (folder / f"{name}_labels.npy").exists()}  # fmt: skip


def _tuning_split(sizes: dict, n_classes: int, params: dict) -> dict:
    train = sizes["train"]
    if "validation" in sizes:
        validation = sizes["validation"]
    else:
        validation = round(train * params["train"]["validation_fraction"])
        train -= validation
    return {"train": train, "validation": validation, "test": sizes["test"], "classes": n_classes}


@dataclass
class StageCost:
    stage: str
    jobs: int
    epochs: int  # at most, all jobs together
    epoch_s: float  # mean seconds per epoch
    training_s: float  # all jobs together
    start_s: float  # process start-up, all jobs together

    @property
    def total_s(self) -> float:
        return self.training_s + self.start_s


def estimate(params: dict, jobs: list[Job], threads: int, startup_s: float,
             cache: Path | None = CACHE) -> dict:  # fmt: skip
    """The cost of `jobs` on this machine: per stage, the refused shapes, the shapes' timings."""
    from bloomtune.calibrate import Calibration
    from bloomtune.model_settings import resolve
    from bloomtune.training.model import model_limit

    counts = image_counts(params)
    tuner, seed = next(iter(params["tuners"])), params["seeds"][0]
    settings = resolve(params, "tune", tuner, seed)
    limit = model_limit(settings.budget.max_model_params)
    size = params["standardise"]["image_size"]
    calibration = Calibration(settings.model, settings.train, size, counts["classes"], threads,
                              cache)  # fmt: skip
    shapes = calibration.shapes(settings.space, limit)
    trained = [s for s in shapes if s.train_s is not None]
    if not trained:
        raise UserError("tuning.max_model_params: every model the space can produce is refused")
    batch = settings.train.batch_size

    def mean(values_weights):
        total = sum(w for _, w in values_weights)
        return sum(v * w for v, w in values_weights) / total

    tune_epoch = mean([(s.epoch_s(counts["train"], counts["validation"], batch), s.weight)
                       for s in trained])  # fmt: skip
    retrain_epoch = mean([(s.epoch_s(counts["train"] + counts["validation"], 0, batch), s.weight)
                          for s in trained])  # fmt: skip
    test_pass = mean([(math.ceil(counts["test"] / batch) * s.test_s, s.weight) for s in trained])
    fit_s = mean([(s.start_s, s.weight) for s in trained])  # building and tracing, per fit
    build_s = mean([(s.build_s, s.weight) for s in trained])
    budget = settings.budget
    # The epoch budget, or every trial at its most where the trial cap binds first.
    tune_epochs = min(budget.max_total_epochs or math.inf, budget.max_trials * budget.max_epochs)
    best_epochs = params["best_epoch"]["max_epochs"]
    per_job = {  # epochs at most, seconds an epoch, seconds besides the epochs
        "best_epoch": (best_epochs, tune_epoch, fit_s),
        "retrain": (best_epochs, retrain_epoch, fit_s),
        "evaluate": (0, 0.0, build_s + test_pass),  # a saved model loaded, one pass
    }
    if any(job.rule == "tabulate" for job in jobs):
        epochs, epoch_s, fits = _tabulate_cost(params, settings, shapes, counts, batch, tune_epoch)
        per_job["tabulate"] = (epochs, epoch_s, fits * fit_s)
    rows = []
    for stage in dict.fromkeys(job.rule for job in jobs):
        n = sum(job.rule == stage for job in jobs)
        epochs, epoch_s, fixed = per_job.get(stage, (0, 0.0, 0.0))
        if stage == "tune":  # each search's trials start a fit each
            searches = [job.wildcards.get("tuner") for job in jobs if job.rule == "tune"]
            starts = sum(trials_of(params["tuners"].get(t, {}), budget, tune_epochs)
                         for t in searches)  # fmt: skip
            epochs, epoch_s, fixed = tune_epochs, tune_epoch, starts * fit_s / n
        start = n * (startup_s if stage in TRAINING or stage == "replay" else 1.0)
        rows.append(
            StageCost(stage, n, n * epochs, epoch_s, n * (epochs * epoch_s + fixed), start)
        )
    return {"stages": rows, "shapes": shapes, "counts": counts, "limit": limit}


def trials_of(tuner: dict, budget, epochs: int) -> int:
    """The trials a search of `epochs` epochs runs: every trial whole, unless it prunes or is a
    Hyperband, whose many short trials are bounded by the trial cap alone."""
    short = tuner.get("algorithm") == "hyperband" or tuner.get("pruner", "none") != "none"
    whole = math.ceil(epochs / budget.max_epochs)
    return budget.max_trials if short else min(budget.max_trials, whole)


def _tabulate_cost(params, settings, shapes, counts, batch, fallback):
    """(epochs, mean seconds per epoch, fits) of one tabulate shard: the grid's
    configurations, each at its own shape's cost, for max_epochs and each training seed."""
    from bloomtune.replay.grid import configurations
    from bloomtune.training.families import family

    cost_key = family(settings.model.family).cost_key
    by_key = {cost_key(s.hp): s for s in shapes}
    grid = configurations(settings.space, params["tabulate"]["grid"])
    seconds = []
    for hp in grid:
        shape = by_key.get(cost_key(hp))
        if shape is None:
            seconds.append(fallback)
        else:
            seconds.append(shape.epoch_s(counts["train"], counts["validation"], batch))
    shards, seeds = len(params["tabulate"]["shards"]), params["tabulate"]["seeds"]
    fits = math.ceil(len(grid) / shards) * seeds
    return fits * params["tuning"]["max_epochs"], sum(seconds) / len(seconds), fits


def wall_times(stages: list[StageCost], jobs_side_by_side: int) -> tuple[float, float]:
    """(one job at a time, J side by side): J jobs at once share the training work, never
    finishing before one tuner-and-seed chain (tune, best_epoch, retrain, evaluate) or one
    tabulate shard has run through; the data stages run before, the reports after."""
    serial = sum(s.total_s for s in stages)
    by = {s.stage: s for s in stages}
    chain = sum(by[k].total_s / by[k].jobs for k in ("tune", "best_epoch", "retrain", "evaluate")
                if k in by)  # fmt: skip
    shard = by["tabulate"].total_s / by["tabulate"].jobs if "tabulate" in by else 0.0
    pooled = sum(s.total_s for s in stages if s.stage in TRAINING or s.stage == "replay")
    around = serial - pooled
    return serial, around + max(pooled / max(1, jobs_side_by_side), chain, shard)
