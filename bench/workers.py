"""Benchmark: one search run by 1 and by N parallel workers on the same budget (issue 12; figures
in docs/benchmarks.md).

Each run is the tune stage as a job runs it (scripts/tune.py, a fresh state folder), given
`--threads` threads in all (as Snakemake gives a job its threads); with N workers each gets its
share. Per run: wall time of the whole job, epochs consumed, epochs per second. The worker counts
run in turn within each repeat (order rotated), so each ratio to 1 worker is measured in one
repeat; medians over repeats are reported.

    .venv/bin/python bench/workers.py --tuner optuna_tpe --trials 8 --epochs 3 \
        --image-size 64 --images-per-class 60 --workers 1 2 --repeats 3 --threads 2

On a bigger machine, the same command with e.g. --threads 16 --workers 1 2 4 8.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from pruning import make_data  # the same synthetic flowers as the pruning benchmark

from bloomtune.machine import thread_budget

ROOT = Path(__file__).resolve().parent.parent


def run_one(args, data: Path, work: Path, workers: int, repeat: int) -> dict:
    folder = work / f"w{workers}_r{repeat}"
    overlay = folder / "bench.yaml"
    folder.mkdir(parents=True)
    budget = {"max_trials": args.trials, "max_epochs": args.epochs, "max_total_epochs": None}
    overlay.write_text(
        yaml.safe_dump(
            {
                "tuning": budget,
                "tuners": {args.tuner: {"workers": workers}},
                "train": {"jit_compile": False},  # small images: XLA's compile dominates
            }
        )
    )
    command = [
        sys.executable, "scripts/tune.py", "--params", "params.yaml", str(overlay),
        "--tuner", args.tuner, "--seed", str(repeat + 1), "--data", str(data),
        "--out", str(folder / "out"), "--state", str(folder / "state"),
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), TF_CPP_MIN_LOG_LEVEL="2")
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=3600)
    wall = time.perf_counter() - start
    best = json.loads((folder / "out" / "best.json").read_text())
    epochs = best["totals"]["epochs_consumed"]
    return {
        "workers": workers,
        "repeat": repeat,
        "wall_s": wall,
        "epochs": epochs,
        "epochs_per_s": epochs / wall,
        "trials": best["totals"]["trials"],
        "best": best["score"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tuner", default="optuna_tpe")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--images-per-class", type=int, default=60)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=thread_budget())
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bloomtune-bench-workers-") as tmp:
        work = Path(tmp)
        data = make_data(work, args.image_size, args.images_per_class)
        runs = []
        for repeat in range(args.repeats):
            order = (
                args.workers[repeat % len(args.workers) :]
                + args.workers[: repeat % len(args.workers)]
            )
            for workers in order:
                result = run_one(args, data, work, workers, repeat)
                runs.append(result)
                print(json.dumps(result), flush=True)
    base = args.workers[0]
    print(f"\n{args.tuner}, {args.trials} trials x {args.epochs} epochs, {args.image_size} px, "
          f"{args.threads} threads, {args.repeats} repeats (medians):")  # fmt: skip
    print(f"| workers | wall (s) | epochs | epochs/s | wall ratio to {base} | speed-up |")
    print("| --- | --- | --- | --- | --- | --- |")
    for workers in args.workers:
        mine = [r for r in runs if r["workers"] == workers]
        ratios = [
            r["wall_s"] / next(b["wall_s"] for b in runs if b["workers"] == base
                               and b["repeat"] == r["repeat"])
            for r in mine
        ]  # fmt: skip
        print(
            f"| {workers} | {statistics.median(r['wall_s'] for r in mine):.1f} | "
            f"{statistics.median(r['epochs'] for r in mine):.0f} | "
            f"{statistics.median(r['epochs_per_s'] for r in mine):.2f} | "
            f"{statistics.median(ratios):.2f} | {1 / statistics.median(ratios):.2f} |"
        )


if __name__ == "__main__":
    main()
