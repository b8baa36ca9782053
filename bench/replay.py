"""Benchmark: what a replay costs against the optimisers' own decisions (issue 22).

Each default tuner's real search is replayed, in this one process, against a table, S times
(replay seeds 1..S), through bloomtune's replay stage function (bloomtune/replay/search.py).
Against it, the optimisers' own time: the same search as a bare loop of the framework alone
(Optuna's ask, report, should_prune and tell; Keras Tuner's oracle create_trial, update_trial once
with the trial's result and end_trial, its trial files included), with the same seeds, the same
snapping and the same table lookups and budget, but none of bloomtune's runner, ledger or
budget. The ratio of the two is what bloomtune adds. The process start-up of a replay job
(Python, bloomtune, the framework's import, which for Keras Tuner is TensorFlow's) is measured
apart, in fresh processes, and counted once per tuner, as the replay stage runs one job per
tuner.

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


def bare_optuna(search, table, grid) -> int:
    """The search as Optuna alone runs it; returns its trials."""
    import optuna

    from bloomtune.objective import optuna_direction
    from bloomtune.replay.evaluator import TableEvaluator
    from bloomtune.tuning.frameworks import framework
    from bloomtune.tuning.optuna_adapter import make_sampler
    from bloomtune.tuning.pruners import tuner_pruner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tuner, budget = search.tuner, search.budget
    options = framework(tuner.framework).options(tuner.options)
    study = optuna.create_study(
        sampler=make_sampler(options.sampler, search.seed, tuner.name),
        pruner=tuner_pruner(tuner.name, tuner.options, budget.max_epochs),
        direction=optuna_direction(budget.objective), study_name=f"bare-{tuner.name}",
    )  # fmt: skip
    lookup, epochs, trials = TableEvaluator(table, search.space, grid, search.seed), 0, 0
    while trials < budget.max_trials and epochs < (budget.max_total_epochs or 10**9):
        trial = study.ask()
        hp = search.space.suggest_optuna(trial)
        curve = lookup.table.curves[
            (lookup.configuration(hp), lookup.tabulated_seed(trial.number))
        ]
        best, state = None, optuna.trial.TrialState.COMPLETE
        for record in curve[: budget.max_epochs]:
            epochs += 1
            value = record[budget.objective]
            best = value if best is None else max(best, value)
            trial.report(value, step=record["epoch"] - 1)
            if trial.should_prune():
                state = optuna.trial.TrialState.PRUNED
                break
            if epochs >= (budget.max_total_epochs or 10**9):
                break
        study.tell(trial, None if state != optuna.trial.TrialState.COMPLETE else best, state=state)
        trials += 1
    return trials


def bare_keras_tuner(search, table, grid, folder: Path) -> int:
    """The search as Keras Tuner's oracle alone runs it; returns its trials."""
    import keras_tuner as kt

    from bloomtune.replay.evaluator import TableEvaluator
    from bloomtune.tuning.frameworks import framework
    from bloomtune.tuning.keras_tuner_adapter import oracle_seed

    tuner, budget = search.tuner, search.budget
    options = framework(tuner.framework).options(tuner.options)
    common = {"objective": kt.Objective(budget.objective, budget.direction),
              "seed": oracle_seed(search.seed)}  # fmt: skip
    if options.algorithm == "random":
        oracle = kt.oracles.RandomSearchOracle(max_trials=budget.max_trials, **common)
    elif options.algorithm == "bayesian":
        own = {k: getattr(options, k) for k in ("num_initial_points", "alpha", "beta")
               if getattr(options, k) is not None}  # fmt: skip
        oracle = kt.oracles.BayesianOptimizationOracle(max_trials=budget.max_trials, **own,
                                                       **common)  # fmt: skip
    else:
        oracle = kt.oracles.HyperbandOracle(max_epochs=budget.max_epochs, factor=options.factor,
                                            hyperband_iterations=options.hyperband_iterations,
                                            **common)  # fmt: skip
        oracle.max_trials = budget.max_trials
    oracle.verbose = 0  # its console table off, as bloomtune's search has it
    hps = kt.HyperParameters()
    search.space.declare_keras_tuner(hps)
    oracle.update_space(hps)
    oracle._set_project_dir(str(folder), f"bare-{tuner.name}-{search.seed}")
    lookup, epochs, trials = TableEvaluator(table, search.space, grid, search.seed), 0, 0
    while trials < budget.max_trials and epochs < (budget.max_total_epochs or 10**9):
        trial = oracle.create_trial("tuner0")
        if trial.status != "RUNNING":
            break
        values = trial.hyperparameters.values
        parent = values.get("tuner/trial_id")
        number = int(trial.trial_id)
        seed = lookup.tabulated_seed(number, int(parent) if parent else None)
        curve = lookup.table.curves[(lookup.configuration(search.space.active(values)), seed)]
        start = values.get("tuner/initial_epoch", 0)
        stop = values.get("tuner/epochs", budget.max_epochs)
        best = None
        for record in curve[start:stop]:
            epochs += 1
            value = record[budget.objective]
            best = value if best is None else max(best, value)
            if epochs >= (budget.max_total_epochs or 10**9):
                break
        # The trial's result, once, as Keras Tuner's own Tuner reports what run_trial returns.
        oracle.update_trial(trial.trial_id, {budget.objective: best})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        trials += 1
    return trials


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
                began = time.perf_counter()
                if first.tuner.framework == "optuna":
                    bare = bare_optuna(search, table, dict(replays.grid))
                else:
                    bare = bare_keras_tuner(search, table, dict(replays.grid), Path(out))
                own = time.perf_counter() - began
                rows.append({"tuner": tuner, "seed": search.seed, "replay_s": seconds,
                             "optimiser_s": own, "trials": best["totals"]["trials"],
                             "bare_trials": bare, "start_up_s": None})  # fmt: skip
        rows[-1]["start_up_s"] = start_up(module, args.repeats)
    frame = pd.DataFrame(rows)
    out = []
    for tuner, mine in frame.groupby("tuner", sort=False):
        start = float(mine["start_up_s"].dropna().iloc[0])
        replay, own = mine["replay_s"].sum(), mine["optimiser_s"].sum()
        out.append({
            "tuner": tuner, "searches": len(mine), "trials/search": mine["trials"].mean(),
            "bare trials/search": mine["bare_trials"].mean(),
            "median replay s/search": mine["replay_s"].median(),
            "median optimiser s/search": mine["optimiser_s"].median(),
            "start-up s (once)": start,
            "in-process ratio": replay / own,
            "ratio with start-up": (replay + start) / own,
            "searches/min": 60 * len(mine) / (replay + start),
        })  # fmt: skip
    table = pd.DataFrame(out)
    replay, own = frame["replay_s"].sum(), frame["optimiser_s"].sum()
    starts = frame["start_up_s"].dropna().sum()
    print(table.to_markdown(index=False, floatfmt=".3g"))
    print(f"\nall tuners: {len(frame)} searches, {replay:.1f} s in process, "
          f"{replay + starts:.1f} s with start-ups; the optimisers alone {own:.1f} s: ratio "
          f"{replay / own:.2f} in process, {(replay + starts) / own:.2f} with start-ups; "
          f"{60 * len(frame) / (replay + starts):.0f} searches/min")  # fmt: skip


if __name__ == "__main__":
    main()
