"""Benchmark: what a replay costs against the optimisers' own decisions (issue 22).

Each default tuner's real search is replayed, in this one process, against a table, S times
(replay seeds 1..S), through bloomtune's replay stage function (bloomtune/replay/search.py).
For each search it reports the measured seconds of the whole replay and, from its ledger, the
optimiser's own share: the seconds between one trial's end and the next one's start, which the
runner measures (`overhead_s`: the framework's suggest and tell and its own bookkeeping, such as
Keras Tuner's trial files). The rest is bloomtune's (its runner, ledger, budget and the table
lookups). The process start-up of a replay job (Python, bloomtune, the framework's import) is
measured apart, in fresh processes, and counted once per tuner, as the replay stage runs.

Without --table the table is synthesised for the params' space and grid (every configuration,
tabulate.seeds seeds, tuning.max_epochs epochs of plausible curves, seeded): the replay's cost
does not depend on what the curves say, only on the budget, the space and the grid.

    .venv/bin/python bench/replay.py --seeds 10                       # params.yaml's full size
    .venv/bin/python bench/replay.py --configfile config/demo.yaml \\
        --table results/table/table.parquet --seeds 20                # the demo's own table
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def synthetic_table(space, grid: dict, seeds: int, epochs: int, seed: int = 0) -> pd.DataFrame:
    from bloomtune.replay.grid import configurations

    rng = np.random.default_rng(seed)
    rows = []
    for config, hp in enumerate(configurations(space, grid)):
        top = rng.uniform(0.1, 0.9)
        for s in range(1, seeds + 1):
            for epoch in range(1, epochs + 1):
                acc = top * (1 - np.exp(-epoch / 3)) + rng.normal(0, 0.01)
                rows.append({"config": config, **hp, "seed": s, "epoch": epoch,
                             "status": "complete", "failure_reason": "", "loss": 2 - acc,
                             "val_accuracy": acc, "val_loss": 2 - acc, "test_accuracy": acc,
                             "test_loss": 2 - acc, "seconds": 10.0})  # fmt: skip
    return pd.DataFrame(rows)


def start_up(framework_module: str, repeats: int) -> float:
    """Median seconds of a fresh process importing what a replay job imports."""
    code = f"import bloomtune.cli, bloomtune.replay.search, {framework_module}"
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", nargs="*", default=[], help="params overlays")
    parser.add_argument("--table", type=Path, help="a table (Parquet); default: synthesised")
    parser.add_argument("--seeds", type=int, default=10, help="replays per tuner")
    parser.add_argument("--repeats", type=int, default=3, help="start-up measurements")
    args = parser.parse_args()

    from bloomtune.checks import load_params
    from bloomtune.model_settings import resolve
    from bloomtune.replay.evaluator import Table
    from bloomtune.replay.search import replay_one
    from bloomtune.tuning.frameworks import framework

    params = load_params([ROOT / "params.yaml", *args.configfile])
    params["replay"]["seeds"] = args.seeds
    rows = []
    for tuner in params["tuners"]:
        replays = resolve(params, "replay", tuner)
        first = replays.searches[0]
        if args.table:
            frame = pd.read_parquet(args.table)
        else:
            frame = synthetic_table(first.space, dict(replays.grid), params["tabulate"]["seeds"],
                                    first.budget.max_epochs)  # fmt: skip
        table = Table(frame, first.space)
        module = framework(first.tuner.framework).adapter_module
        __import__(module)  # imported once, as the job does; its cost is the start-up's
        with tempfile.TemporaryDirectory() as out:
            for search in replays.searches:
                began = time.perf_counter()
                best = replay_one(search, table, dict(replays.grid), Path(out))
                seconds = time.perf_counter() - began
                trials = pd.read_csv(Path(out) / f"seed_{search.seed}" / "trials.csv")
                rows.append({"tuner": tuner, "seed": search.seed, "replay_s": seconds,
                             "optimiser_s": float(trials["overhead_s"].sum()),
                             "trials": len(trials), "epochs": best["totals"]["epochs_consumed"],
                             "start_up_s": None})  # fmt: skip
        rows[-1]["start_up_s"] = start_up(module, args.repeats)
    frame = pd.DataFrame(rows)
    out = []
    for tuner, mine in frame.groupby("tuner", sort=False):
        start = float(mine["start_up_s"].dropna().iloc[0])
        replay, own = mine["replay_s"].sum(), mine["optimiser_s"].sum()
        out.append({
            "tuner": tuner, "searches": len(mine), "trials/search": mine["trials"].mean(),
            "median replay s/search": mine["replay_s"].median(),
            "median optimiser s/search": mine["optimiser_s"].median(),
            "start-up s (once)": start,
            "bloomtune share": (replay - own + start) / (replay + start),
            "ratio to optimiser": (replay + start) / own if own else float("nan"),
            "searches/min": 60 * len(mine) / (replay + start),
        })  # fmt: skip
    table = pd.DataFrame(out)
    replay, own = frame["replay_s"].sum(), frame["optimiser_s"].sum()
    starts = frame["start_up_s"].dropna().sum()
    print(table.to_markdown(index=False, floatfmt=".3g"))
    print(f"\nall tuners: {len(frame)} searches, {replay + starts:.1f} s with start-ups "
          f"({own:.1f} s the optimisers' own): ratio {(replay + starts) / own:.2f}, "
          f"{60 * len(frame) / (replay + starts):.0f} searches/min")  # fmt: skip


if __name__ == "__main__":
    main()
