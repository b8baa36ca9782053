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
import logging
import os
import sys
import time
from pathlib import Path

from bloomtune.checks import load_params
from bloomtune.costs import CACHE, estimate, wall_times
from bloomtune.dry_run import Job, pending_jobs
from bloomtune.errors import ParamsError, UserError
from bloomtune.stopwatch import hms

log = logging.getLogger("bloomtune.plan")

PLAN_LOG = Path("results/logs/plan.log")


def span(seconds: float) -> str:
    """A duration in the plan's columns (days from a day up, no seconds from an hour up)."""
    return hms(seconds, coarse=True)


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
