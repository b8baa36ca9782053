"""The report's inputs: one Run per tuner and repetition seed, read from the stages' outputs, and
the per-repetition table (repetitions.csv) built from them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bloomtune.files import read_json
from bloomtune.objective import nothing_yet as objective_nothing_yet
from bloomtune.reporting import statistics
from bloomtune.tuning.ledger import best_so_far


@dataclass(frozen=True)
class Run:
    """One tuner's tune -> best_epoch -> retrain -> evaluate chain for one repetition seed."""

    tuner: str
    seed: int
    metrics: dict
    best: dict
    ledger: pd.DataFrame
    history: pd.DataFrame
    best_epoch: int


def run_folder(root: Path, tuner: str, seed: int) -> Path:
    """A run's place in a stage's results folder: {tuner}/seed_{seed}, as both orchestrators
    name it."""
    return Path(root) / tuner / f"seed_{seed}"


def load_runs(tuners, seeds, tuning_dir: Path, metrics_dir: Path, best_epoch_dir: Path):
    """Every run the params list, tuner by tuner, in seed order."""
    runs = []
    for tuner in tuners:
        for seed in seeds:
            tuning = run_folder(tuning_dir, tuner, seed)
            epochs = run_folder(best_epoch_dir, tuner, seed)
            runs.append(
                Run(
                    tuner,
                    seed,
                    read_json(run_folder(metrics_dir, tuner, seed).with_suffix(".json")),
                    read_json(tuning / "best.json"),
                    pd.read_csv(tuning / "trials.csv"),
                    pd.read_csv(epochs / "history.csv"),
                    read_json(epochs / "best_epoch.json")["best_epoch"],
                )
            )
    return runs


def nothing_yet(runs: list[Run], objective: str) -> float:
    """The score of "no scored trial yet" for these runs (objective.nothing_yet)."""
    scores = [v for run in runs for v in run.ledger["score"].tolist()]
    return objective_nothing_yet(objective, scores)


def anytime_areas(runs: list[Run], objective: str) -> list[float]:
    """Each run's mean best-so-far score over the epochs every search reached (one common grid,
    so that a search that trained longer is not credited for epochs the others never had); an
    epoch before its first scored trial counts as the measure's worst value (nothing_yet), as in
    the ranks at each budget fraction."""
    curves = [best_so_far(run.ledger, objective) for run in runs]
    reached = min(int(c["epochs"].max()) for c in curves)
    grid = range(1, max(reached, 1) + 1)
    before = nothing_yet(runs, objective)
    return [statistics.anytime_area(c, "epochs", grid, before) for c in curves]


def _hyperparameters(values: dict) -> str:
    return ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
    )


def repetitions(runs: list[Run], objective: str) -> pd.DataFrame:
    """One row per tuner and repetition: test scores, the search's best validation score and
    any-time area, seconds per phase, trials by status and the epochs each phase consumed."""
    rows = []
    for run, area in zip(runs, anytime_areas(runs, objective), strict=True):
        m = run.metrics
        rows.append(
            {
                "tuner": run.tuner,
                "seed": run.seed,
                "framework": m["framework"],
                "test_loss": m["test_loss"],
                "test_accuracy": m["test_accuracy"],
                "test_top5_accuracy": m["test_top5_accuracy"],
                "best_validation": run.best["score"],
                "anytime_area": area,
                "tuning_s": m["seconds"]["tuning"],
                "best_epoch_s": m["seconds"]["best_epoch"],
                "retrain_s": m["seconds"]["retrain"],
                "total_s": m["seconds"]["total"],
                **m["trials"],
                "tuning_epochs": run.best["totals"]["epochs_consumed"],
                "epochs_consumed": m["epochs_consumed"],
                "best_hyperparameters": _hyperparameters(m["hyperparameters"]),
            }
        )
    return pd.DataFrame(rows)
