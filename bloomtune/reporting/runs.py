"""A report's runs: one Run per tuner and repetition seed (loaded by reporting/sources.py, live or
replayed), their folders, and the any-time score each repetition row carries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

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


def hyperparameters_text(values: dict) -> str:
    """A configuration as one line of repetitions.csv: name=value, floats to 3 figures."""
    return ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
    )
