"""What only a table can give: the grid's landscape (its best configuration and its spread) and
each replayed search's normalised regret against the grid's best (how far to trust it:
reporting/fidelity.py and reporting/trust.py)."""

from __future__ import annotations

import math

import pandas as pd

from bloomtune.objective import higher_is_better, sign
from bloomtune.reporting.tables import counted


def curves_best(table: pd.DataFrame, objective: str, names: list[str]) -> pd.DataFrame:
    """Per tabulated (configuration, training seed) that completed: its best-epoch objective
    and the test accuracy at that epoch."""
    done = table[(table["status"] == "complete") & (table["epoch"] > 0)]
    done = done[done[objective].notna()]
    way = sign(objective)
    at = done.assign(_key=way * done[objective], _early=-done["epoch"])
    best = at.sort_values(["_key", "_early"]).groupby(["config", "seed"]).tail(1)
    kept = ["config", "seed", *[n for n in names if n in table.columns], "epoch", objective,
            "test_accuracy"]  # fmt: skip
    return best[kept].sort_values(["config", "seed"]).reset_index(drop=True)


class Landscape:
    """The grid as the table saw it: each configuration's best objective (mean over its
    training seeds), the best and worst of any tabulated curve (the regret's ends)."""

    def __init__(self, table: pd.DataFrame, objective: str, names: list[str]):
        self.objective, self.names = objective, names
        self.configurations = int(table["config"].nunique())
        self.seeds = int(table["seed"].nunique())
        self.failed = int(table.loc[table["status"] == "failed", "config"].nunique())
        self.epochs = int((table["epoch"] > 0).sum())
        self.seconds = float(table["seconds"].fillna(0).sum())
        self.curves = curves_best(table, objective, names)
        score = self.curves[objective]
        self.best, self.worst = (
            (score.max(), score.min())
            if higher_is_better(objective)
            else (score.min(), score.max())
        )
        self.per_config = (
            self.curves.groupby("config")
            .agg(**{objective: (objective, "mean"), "test_accuracy": ("test_accuracy", "mean")})
            .sort_values(objective, ascending=not higher_is_better(objective))
        )
        first = self.per_config.index[0]
        hp = self.curves[self.curves["config"] == first].iloc[0]
        self.top = {n: hp[n] for n in names if n in hp and not _missing(hp[n])}
        self.top_score = float(self.per_config[objective].iloc[0])
        self.top_test = float(self.per_config["test_accuracy"].iloc[0])

    def regret(self, score: float) -> float:
        """(best - score) / (best - worst), for either direction: 0 at the grid's best curve,
        1 at its worst (YAHPO Gym's and Syne Tune's normalised regret)."""
        span = abs(self.best - self.worst)
        return 0.0 if span == 0 else abs(self.best - score) / span

    def describe(self) -> str:
        q = self.per_config[self.objective].quantile([0.25, 0.5, 0.75])
        top = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in self.top.items())  # fmt: skip
        return (
            f"{self.configurations} configurations x {counted(self.seeds, 'training seed')}, "
            f"{self.epochs} epochs tabulated ({self.seconds:.0f} s of training), "
            f"{self.failed} configurations failed. Best configuration by mean {self.objective} "
            f"over its seeds: {top} ({self.top_score:.4f}; test accuracy {self.top_test:.4f}). "
            f"Spread over configurations: quartiles {q.iloc[0]:.4f}, {q.iloc[1]:.4f}, "
            f"{q.iloc[2]:.4f}; the best and worst single curves {self.best:.4f} and "
            f"{self.worst:.4f} (the regret's 0 and 1)."
        )


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
