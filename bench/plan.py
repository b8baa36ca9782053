"""Benchmark: `python -m bloomtune.plan`'s estimate against a finished run (issue 24).

In a project whose run has finished (its results/ in place), on the machine that ran it: the
plan of the same run as if nothing had run yet (its dry run with --forceall, the same
calibration, cached in the project's results/plan/), against what the run measured:

- per stage, the seconds inside the jobs (each stage's "done in" line, start-up excluded) against
  the plan's training seconds, which are the expected cost (a trial's shape drawn uniformly
  from the space, every epoch budgeted);
- per trial, the plan's model of a trial (its shape's start, its epochs at that shape's cost)
  against the trial's wall time in trials.csv: the calibration itself, without the uniform draw.

    cd <project> && python <bloomtune>/bench/plan.py --configfile config/demo.yaml
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DONE = re.compile(r"INFO bloomtune: (\w+) done in ([0-9.]+) s")


def measured_by_stage() -> dict[str, float]:
    seconds: dict[str, float] = {}
    for path in glob.glob("results/logs/**/*.log", recursive=True):
        for line in Path(path).read_text(errors="replace").splitlines():
            if found := DONE.search(line):
                seconds[found[1]] = seconds.get(found[1], 0.0) + float(found[2])
    return seconds


def trials_against_shapes(shapes, counts: dict, batch: int, family: str) -> pd.DataFrame:
    from bloomtune.training.families import family as families

    cost_key = families(family).cost_key
    by_key = {cost_key(s.hp): s for s in shapes if s.train_s is not None}
    rows = []
    for path in glob.glob("results/tuning/*/seed_*/trials.csv"):
        for trial in pd.read_csv(path).to_dict("records"):
            shape = by_key.get(cost_key(trial))
            if shape is None or trial["status"] == "failed":
                continue
            epochs = trial["epochs_run"]
            predicted = shape.start_s + epochs * shape.epoch_s(
                counts["train"], counts["validation"], batch
            )
            rows.append({"tuner": trial["tuner"], "measured": trial["wall_s"],
                         "predicted": predicted})  # fmt: skip
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", nargs="*", default=[])
    parser.add_argument("targets", nargs="*", help="snakemake targets the run was given")
    args = parser.parse_args()
    from bloomtune.checks import load_params
    from bloomtune.costs import estimate
    from bloomtune.dry_run import pending_jobs
    from bloomtune.machine import configure_tensorflow

    params = load_params(["params.yaml", *args.configfile])
    jobs = pending_jobs(args.configfile, targets=args.targets, everything=True)
    threads = params["resources"]["training_threads"] or os.cpu_count()
    configure_tensorflow(threads)
    found = estimate(params, jobs, threads, startup_s=0.0)
    measured = measured_by_stage()
    print(f"{'stage':<12}{'jobs':>6}{'predicted s':>13}{'measured s':>12}{'ratio':>8}")
    total_p = total_m = 0.0
    for stage in found["stages"]:
        if not stage.training_s or stage.stage not in measured:
            continue
        m = measured[stage.stage]
        total_p, total_m = total_p + stage.training_s, total_m + m
        print(f"{stage.stage:<12}{stage.jobs:>6}{stage.training_s:>13.1f}{m:>12.1f}"
              f"{stage.training_s / m:>8.2f}")  # fmt: skip
    print(f"{'training':<12}{'':>6}{total_p:>13.1f}{total_m:>12.1f}{total_p / total_m:>8.2f}")
    trials = trials_against_shapes(found["shapes"], found["counts"], params["train"]["batch_size"],
                                   params["model"]["family"])  # fmt: skip
    if len(trials):
        ratio = trials["predicted"] / trials["measured"]
        predicted, measured = trials["predicted"].sum(), trials["measured"].sum()
        print(
            f"trials: {len(trials)}, predicted {predicted:.1f} s against measured "
            f"{measured:.1f} s (ratio {predicted / measured:.2f}); per trial median ratio "
            f"{ratio.median():.2f}, quartiles {ratio.quantile(0.25):.2f}-"
            f"{ratio.quantile(0.75):.2f}"
        )


if __name__ == "__main__":
    main()
