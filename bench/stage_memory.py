"""Benchmark: peak RSS of every training stage at Oxford 102's real size (issue 14; figures in
docs/benchmarks.md).

Random pixels in the standardised layout (bench/arrays.py), the blog split's sizes: 7,169
training images (20 % carved off for validation) and 1,020 test images of 300 x 300, 102
classes (a 1.93 GB training array, 0.28 GB test). The stage scripts run as a job runs them
(tune: one trial of one epoch of the blog's CNN with filters 64, kernel 3, strides 3; best_epoch
one epoch; retrain one epoch; evaluate), each in its own process, and the kernel's peak RSS of
each is reported with the target: the uint8 arrays the stage reads + 1.5 GB.

    .venv/bin/python bench/stage_memory.py                     # this checkout
    .venv/bin/python bench/stage_memory.py --code /tmp/before  # e.g. an older `git archive`
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import yaml
from arrays import write_arrays
from measure import run_measured

ROOT = Path(__file__).resolve().parent.parent
HP = {"filters": 64, "kernel_size": 3, "strides": 3, "activation": "relu", "learning_rate": 1e-4}
MB = 2**20


def stages(work: Path, data: Path) -> dict[str, list[str]]:
    tuning, chosen = work / "tuning", work / "best_epoch"
    model, record = work / "model.keras", work / "retrain.json"
    return {
        "tune": ["--out", tuning, "--state", work / "state"],
        "best_epoch": ["--best", tuning / "best.json", "--out", chosen],
        "retrain": ["--best-epoch", chosen / "best_epoch.json", "--model", model, "--out", record],
        "evaluate": ["--model", model, "--best", tuning / "best.json", "--best-epoch",
                     chosen / "best_epoch.json", "--retrained", record, "--out",
                     work / "metrics.json", "--details", work / "evaluation"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose stages run")
    parser.add_argument("--train", type=int, default=7169)
    parser.add_argument("--test", type=int, default=1020)
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, help="keep the data and outputs here (reused)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-stage-memory-"))
    data = work / "data"
    if not (data / "manifest.json").exists():
        write_arrays(data, {"train": args.train, "test": args.test}, args.size, 102)
    overlay = {
        "seeds": [1],
        "train": {"batch_size": 32},
        "tuning": {"max_trials": 1, "max_epochs": 1, "max_total_epochs": None},
        "best_epoch": {"max_epochs": 1, "patience": 1},
        "search_space": {k: {"type": "fixed", "value": v} for k, v in HP.items()},
    }
    # An overlay changes keys; null removes one: drop the default space's dimensions first.
    (work / "clear.yaml").write_text(yaml.safe_dump({"search_space": dict.fromkeys(HP)}))
    (work / "bench.yaml").write_text(yaml.safe_dump(overlay))
    params = [args.code / "params.yaml", work / "clear.yaml", work / "bench.yaml"]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONPATH=str(args.code),
               TF_CPP_MIN_LOG_LEVEL="2")  # fmt: skip
    image = args.size * args.size * 3
    reads = {"tune": args.train, "best_epoch": args.train, "retrain": args.train,
             "evaluate": args.test}  # fmt: skip
    results = {}
    print("| stage | reads (GB) | peak RSS (GB) | target (GB) | within | wall (s) |")
    print("|---|---:|---:|---:|---|---:|")
    shutil.rmtree(work / "out", ignore_errors=True)  # a fresh search, not a resumed one
    for stage, extra in stages(work / "out", data).items():
        repeated = ["--seed", "1"] if stage != "evaluate" else []
        command = [sys.executable, str(args.code / "scripts" / f"{stage}.py"), "--params",
                   *map(str, params), "--tuner", "optuna_tpe", *repeated, "--data", str(data),
                   *map(str, extra)]  # fmt: skip
        done = run_measured(command, env=env, timeout=3600, cwd=args.code)
        if done["returncode"]:
            sys.exit(f"{stage} failed:\n{done['stderr'][-3000:]}")
        read_gb = reads[stage] * image / 1e9
        peak_gb, target = done["peak_mb"] * MB / 1e9, reads[stage] * image / 1e9 + 1.5
        results[stage] = {"reads_gb": read_gb, "peak_gb": peak_gb, "wall_s": done["wall_s"]}
        within = "yes" if peak_gb <= target else "NO"
        row = f"{read_gb:.2f} | {peak_gb:.2f} | {target:.2f} | {within} | {done['wall_s']:.0f}"
        print(f"| {stage} | {row} |", flush=True)
    (work / "stage_memory.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
