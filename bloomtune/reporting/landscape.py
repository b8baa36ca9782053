"""What only a table can give: the grid's landscape (its best configuration and its spread),
each replayed search's normalised regret against the grid's best, and how far the replay can be
trusted: live and replayed searches of the same tuners and seeds compared."""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from bloomtune.objective import higher_is_better, sign
from bloomtune.reporting import statistics


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
            f"{self.configurations} configurations x {_count(self.seeds, 'training seed')}, "
            f"{self.epochs} epochs tabulated ({self.seconds:.0f} s of training), "
            f"{self.failed} configurations failed. Best configuration by mean {self.objective} "
            f"over its seeds: {top} ({self.top_score:.4f}; test accuracy {self.top_test:.4f}). "
            f"Spread over configurations: quartiles {q.iloc[0]:.4f}, {q.iloc[1]:.4f}, "
            f"{q.iloc[2]:.4f}; the best and worst single curves {self.best:.4f} and "
            f"{self.worst:.4f} (the regret's 0 and 1)."
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def agreement(live: pd.DataFrame, replay: pd.DataFrame, objective: str) -> dict | None:
    """Live against replay on the tuners and seeds both have (`tuner`, `seed`, `score` rows):
    per tuner the mean best validation score of each; across tuners Kendall's tau (SciPy) of
    their mean ranks (ranked within each seed). None without two shared tuners and a seed."""
    shared = live.merge(replay, on=["tuner", "seed"], suffixes=("_live", "_replay"))
    tuners = list(dict.fromkeys(shared["tuner"]))
    if len(tuners) < 2 or shared.empty:
        return None
    means = shared.groupby("tuner", sort=False)[["score_live", "score_replay"]].mean()
    higher = higher_is_better(objective)

    def mean_ranks(column):
        wide = shared.pivot(index="seed", columns="tuner", values=column)[tuners].dropna()
        return statistics.ranks(wide, higher).mean()

    live_ranks, replay_ranks = mean_ranks("score_live"), mean_ranks("score_replay")
    tau = stats.kendalltau(live_ranks[tuners], replay_ranks[tuners])
    seeds = sorted(set(shared["seed"]))
    order = lambda r: list(r.sort_values(kind="stable").index)  # noqa: E731
    return {
        "tuners": tuners,
        "seeds": seeds,
        "means": means.reindex(tuners),
        "live_ranks": live_ranks[tuners],
        "replay_ranks": replay_ranks[tuners],
        "tau": None if math.isnan(tau.statistic) else float(tau.statistic),
        "p": None if math.isnan(tau.pvalue) else float(tau.pvalue),
        "same_order": order(live_ranks) == order(replay_ranks),
        "same_first": order(live_ranks)[0] == order(replay_ranks)[0],
    }


def agreement_text(found: dict | None, objective: str) -> str:
    """Says plainly whether the replay ranks the tuners as the live runs do."""
    if found is None:
        return (
            "No tuner has both live and replayed searches of the same seeds, so the replay "
            "cannot be checked against live runs."
        )
    n, k = len(found["seeds"]), len(found["tuners"])
    tau = "undefined (a tie)" if found["tau"] is None else f"{found['tau']:.2f}"
    p = "" if found["p"] is None else f", p = {found['p']:.3g}"
    if found["same_order"]:
        verdict = "The replay ranks the tuners in the same order as the live runs"
    elif found["same_first"]:
        verdict = (
            "The replay puts the same tuner first as the live runs but orders the others "
            "differently"
        )
    else:
        verdict = (
            "The replay does not rank the tuners as the live runs do (another tuner is first)"
        )
    return (
        f"{verdict}: Kendall's tau of the {k} tuners' mean ranks by best {objective}, "
        f"live against replay over the {_count(n, 'seed')} both have, is {tau}{p}. With {k} "
        f"tuners and {_count(n, 'seed')} this is a check, not a proof: the replay searches a "
        "grid (its suggestions snapped to the nearest grid value), draws each trial's curve "
        "from the table's training seeds, and its test measure is the table's, trained on the "
        "tuning split."
    )
