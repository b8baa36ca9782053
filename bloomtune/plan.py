"""`python -m bloomtune.plan [--configfile F ...] [--jobs J] [--workflow-profile P]`: what the
run that `snakemake` would start now costs, before it starts.

It asks Snakemake which jobs would run (a dry run: what is up to date costs nothing), times a
few training batches of every model shape the search space can produce on this machine
(bloomtune/calibrate.py; cached in results/plan/), and prints, per stage, the jobs, the epochs
at most, the seconds per epoch, the total, and the wall time with one job at a time and with J
side by side. It names the models the parameter limit refuses and the repetitions the
configured comparison needs; with a Slurm profile, every job whose request no node of the
partition can grant (bloomtune/slurm_fit.py)."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bloomtune.checks import load_params
from bloomtune.data import sources
from bloomtune.errors import ParamsError, UserError
from bloomtune.stopwatch import hms

log = logging.getLogger("bloomtune.plan")

CACHE = Path("results/plan/calibration.json")
PLAN_LOG = Path("results/logs/plan.log")
TRAINING = ("tune", "best_epoch", "retrain", "evaluate", "tabulate")
DRY_RUN_S = 300  # a dry run that takes longer than this is stuck


@dataclass
class Job:
    rule: str
    wildcards: dict
    threads: int
    resources: dict


def pending_jobs(configfiles: list[str], profile: str | None = None, targets: list[str] = (),
                 everything: bool = False, cwd: Path | None = None) -> list[Job]:  # fmt: skip
    """The jobs `snakemake` would run now with these overlays (and profile) in the project at
    `cwd` (here by default), from its dry run (`everything`: as if nothing had run yet)."""
    command = [sys.executable, "-m", "snakemake", "-n", "--cores", "all", *targets]
    if everything:
        command.append("--forceall")
    if profile:
        command += ["--workflow-profile", profile]
    if configfiles:
        command += ["--configfile", *configfiles]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=DRY_RUN_S,
                                cwd=cwd)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise UserError(f"snakemake -n did not finish in {DRY_RUN_S} s") from None
    text = result.stdout + result.stderr
    if result.returncode != 0:
        last = [line for line in text.splitlines() if line.strip()][-3:]
        raise UserError("snakemake -n failed: " + " / ".join(last))
    return parse_dry_run(text)


def parse_dry_run(text: str) -> list[Job]:
    """Jobs of a `snakemake -n` listing (rule blocks with threads and resources)."""
    jobs, current = [], None
    for line in text.splitlines():
        if match := re.match(r"^(?:local)?rule (\w+):$", line):
            current = Job(match[1], {}, 1, {})
            jobs.append(current)
        elif current is not None and (match := re.match(r"^\s+(\w+): (.*)$", line)):
            key, value = match[1], match[2]
            if key == "wildcards":
                current.wildcards = dict(p.split("=", 1) for p in value.split(", "))
            elif key == "threads":
                current.threads = int(value)
            elif key == "resources":
                current.resources = dict(
                    p.split("=", 1) for p in re.split(r", (?=\w+=)", value) if "=" in p
                )
        elif line and not line.startswith(" "):
            current = None
    return [job for job in jobs if job.rule != "all"]


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


def span(seconds: float) -> str:
    """A duration in the plan's columns (days from a day up, no seconds from an hour up)."""
    return hms(seconds, coarse=True)


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


def repetitions_line(params: dict) -> str:
    from bloomtune.reporting.comparison import Design

    tuners = list(params["tuners"])
    report = params["report"]
    design = Design(report["comparisons"], report.get("control"))
    pairs = design.pairs(tuners)
    from bloomtune.reporting.statistics import repetitions_needed

    needed = repetitions_needed(len(pairs))
    have = len(params["seeds"])
    verdict = "enough" if have >= needed else "too few: no difference can be significant"
    return (
        f"repetitions: {have} configured; {needed} needed for a difference to be significant "
        f"({len(pairs)} Holm-corrected comparisons, {report['comparisons']}): {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bloomtune.plan", description=__doc__)
    parser.add_argument("--configfile", nargs="*", default=[], help="overlays, as snakemake's")
    parser.add_argument("--jobs", type=int, help="jobs side by side on a cluster")
    parser.add_argument("--workflow-profile", help="e.g. profiles/slurm: check requests too")
    args = parser.parse_args(argv)
    try:
        from bloomtune.console import setup_logging

        setup_logging(PLAN_LOG)  # TensorFlow's start-up lines go there, not to the console
        params = load_params(["params.yaml", *args.configfile])
        started = time.perf_counter()
        jobs = pending_jobs(args.configfile, args.workflow_profile)
        dry_s = time.perf_counter() - started
        print(f"{len(jobs)} jobs to run (snakemake -n, {dry_s:.1f} s)")
        if not jobs:
            return 0
        _print_estimate(params, jobs, args)
        if args.workflow_profile:
            from bloomtune.slurm_fit import check_requests

            print(check_requests(jobs, args.workflow_profile))
    except ParamsError as exc:  # on the console: stderr itself now goes to the plan's log
        log.error("params: %s", exc)
        return 2
    except (UserError, OSError) as exc:
        log.error("plan failed: %s", " ".join(str(exc).split()))
        return 1
    return 0


def _print_estimate(params: dict, jobs: list[Job], args) -> None:
    threads = params["resources"]["training_threads"] or os.cpu_count()
    started = time.perf_counter()
    from bloomtune.machine import configure_tensorflow

    configure_tensorflow(threads)
    startup_s = time.perf_counter() - started  # what each training job spends before its work
    found = estimate(params, jobs, threads, startup_s)
    counts = found["counts"]
    print(
        f"images: {counts['train']} train / {counts['validation']} validation / "
        f"{counts['test']} test, {counts['classes']} classes, "
        f"{params['standardise']['image_size']} px; {threads} threads per training job"
    )
    print(f"{'stage':<14}{'jobs':>6}{'epochs at most':>16}{'s/epoch':>10}{'training':>11}"
          f"{'start-up':>10}{'total':>10}")  # fmt: skip
    for s in found["stages"]:
        per = f"{s.epoch_s:.2f}" if s.epoch_s else "-"
        epochs = str(s.epochs) if s.epochs else "-"
        print(f"{s.stage:<14}{s.jobs:>6}{epochs:>16}{per:>10}{span(s.training_s):>11}"
              f"{span(s.start_s):>10}{span(s.total_s):>10}")  # fmt: skip
    here = max(1, (os.cpu_count() or 1) // threads)  # what --cores all runs at once here
    serial, local = wall_times(found["stages"], here)
    said = f"wall time: {span(serial)} one job at a time; {span(local)} with {here} side by side"
    if args.jobs:
        said += f" (this machine); {span(wall_times(found['stages'], args.jobs)[1])} with "
        said += f"{args.jobs} (a cluster of machines like this one)"
    print(said)
    shapes = found["shapes"]
    costs = [s.epoch_s(counts["train"], counts["validation"], params["train"]["batch_size"])
             for s in shapes if s.train_s is not None]  # fmt: skip
    print(f"model shapes: {len(shapes)}, an epoch {min(costs):.2f}-{max(costs):.2f} s "
          f"(timed here, cache {CACHE})")  # fmt: skip
    for s in shapes:
        if s.refused:
            described = ", ".join(f"{k}={v}" for k, v in s.hp.items() if k != "learning_rate")
            print(f"refused: {described}: {s.refused}")
    print(repetitions_line(params))


if __name__ == "__main__":
    sys.exit(main())
