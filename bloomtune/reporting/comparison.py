"""The comparison over repetitions: per-tuner means with confidence intervals, ranks, paired tests,
which cells may be bold, and the report's leading sentence. Never claims more than the tests show.

Input is the per-repetition table (runs.repetitions): one row per tuner and seed."""

from __future__ import annotations

import pandas as pd

from bloomtune.objective import higher_is_better
from bloomtune.reporting import statistics

# Measures compared across tuners -> which way is better ("objective": the tuning objective's).
MEASURES = {
    "test_accuracy": "max",
    "test_loss": "min",
    "test_top5_accuracy": "max",
    "best_validation": "objective",
    "anytime_area": "objective",
    "epochs_consumed": "min",
    "tuning_s": "min",
    "total_s": "min",
}
# Described (mean and interval) but not ranked: trials by status, the other phases' seconds.
DESCRIBED = [
    "best_epoch_s",
    "retrain_s",
    "trials",
    "complete",
    "pruned",
    "failed",
    "tuning_epochs",
]


def smallest_useful_n() -> int:
    """The fewest repetitions with which the paired Wilcoxon test can reach p < ALPHA."""
    return next(n for n in range(1, 64) if statistics.smallest_p(n) < statistics.ALPHA)


class Comparison:
    """Paired comparison of tuners over repetition seeds."""

    def __init__(self, repetitions: pd.DataFrame, objective: str):
        self.repetitions = repetitions
        self.objective = objective
        self.tuners = list(dict.fromkeys(repetitions["tuner"]))
        self.seeds = sorted(set(repetitions["seed"]))
        self.n = len(self.seeds)

    def higher_is_better(self, measure: str) -> bool:
        way = MEASURES[measure]
        return higher_is_better(self.objective if way == "objective" else way)

    def table(self, measure: str) -> pd.DataFrame:
        """Repetitions (rows) by tuners (columns) of one measure."""
        wide = self.repetitions.pivot(index="seed", columns="tuner", values=measure)
        return wide[self.tuners].astype(float)

    def mean_ranks(self, measure: str) -> pd.Series:
        return statistics.ranks(self.table(measure), self.higher_is_better(measure)).mean()

    def leaders(self, measure: str) -> list[str]:
        """The tuners of best mean rank (more than one on a tie)."""
        ranks = self.mean_ranks(measure).round(9)
        return list(ranks.index[ranks == ranks.min()])

    def pairwise(self, measure: str) -> pd.DataFrame:
        return statistics.pairwise(self.table(measure), self.higher_is_better(measure))

    def lead(self, measure: str) -> dict[str, float]:
        """The sole leader's Holm-adjusted p against each other tuner (empty on a tie)."""
        leaders = self.leaders(measure)
        if len(leaders) != 1:
            return {}
        leader, lead = leaders[0], {}
        for row in self.pairwise(measure).itertuples():
            if leader in (row.a, row.b):
                favours_leader = row.effect > 0 if row.a == leader else row.effect < 0
                lead[row.b if row.a == leader else row.a] = row.p_holm if favours_leader else 1.0
        return lead

    def significant_leader(self, measure: str) -> str | None:
        """The leader, if its lead over every other tuner is significant after Holm's correction:
        the only cell the table may bold."""
        lead = self.lead(measure)
        if lead and all(p < statistics.ALPHA for p in lead.values()):
            return self.leaders(measure)[0]
        return None

    def summary(self) -> pd.DataFrame:
        """summary.csv: per tuner, each measure's mean (under its own name), standard deviation and
        95 % t interval; mean ranks; the most frequent best hyperparameters."""
        rows = []
        reps = self.repetitions
        for tuner in self.tuners:
            mine = reps[reps["tuner"] == tuner]
            row = {"tuner": tuner, "framework": mine["framework"].iloc[0], "repetitions": self.n}
            for column in [*MEASURES, *DESCRIBED]:
                got = statistics.interval(mine[column])
                row[column] = got["mean"]
                row[f"{column}_std"] = got["std"]
                row[f"{column}_ci_low"] = got["low"]
                row[f"{column}_ci_high"] = got["high"]
            counts = mine["best_hyperparameters"].value_counts()
            row["best_hyperparameters"] = (
                counts.index[0]
                if self.n == 1
                else f"{counts.index[0]} ({counts.iloc[0]} of {self.n})"
            )
            rows.append(row)
        frame = pd.DataFrame(rows)
        frame["mean_rank"] = self.mean_ranks("test_accuracy").reindex(self.tuners).to_numpy()
        frame["anytime_mean_rank"] = (
            self.mean_ranks("anytime_area").reindex(self.tuners).to_numpy()
        )
        return frame

    def tests(self, measures=("test_accuracy", "anytime_area")) -> pd.DataFrame:
        """Every pair's raw and Holm-adjusted Wilcoxon p and effect size, per measure."""
        frames = [self.pairwise(m).assign(measure=m) for m in measures]
        return pd.concat(frames, ignore_index=True)[
            ["measure", "a", "b", "n", "p", "p_holm", "effect"]
        ]


def _first(leaders: list[str], tuners: list[str]) -> str:
    if len(leaders) == 1:
        return f"{leaders[0]} ranks first"
    if len(leaders) == len(tuners):
        return f"all {len(tuners)} tuners tie for first"
    return f"{', '.join(leaders[:-1])} and {leaders[-1]} tie for first"


def _significance(comparison: Comparison, measure: str, label: str) -> str:
    """One sentence on whether the leader's lead on `measure` is significant."""
    lead = comparison.lead(measure)
    over = sorted(t for t, p in lead.items() if p < statistics.ALPHA)
    not_over = sorted(t for t, p in lead.items() if p >= statistics.ALPHA)
    corrected = f"at {statistics.ALPHA} after Holm's correction"
    if lead and not not_over:
        return f"Its lead on {label} is significant {corrected} over every other tuner."
    if over:
        worst = max(lead[t] for t in not_over)
        return (
            f"Its lead on {label} is significant {corrected} over {', '.join(over)}, but not over "
            f"{', '.join(not_over)} (adjusted p up to {worst:.2g})."
        )
    if (comparison.pairwise(measure)["p_holm"] < statistics.ALPHA).any():
        who = "Its lead" if lead else "No single tuner leads, and the first places' lead"
        return f"{who} on {label} is not significant {corrected} over any other tuner."
    friedman = statistics.friedman(comparison.table(measure))
    tested = f"; Friedman p = {friedman['p']:.2g}" if friedman else ""
    return (
        f"No difference in {label} between any two tuners is significant {corrected} "
        f"({comparison.n} repetitions{tested})."
    )


def headline(comparison: Comparison) -> str:
    """The answer in plain words, never more than the data can show: who ranks first on test
    accuracy and on the any-time curve, and whether each lead is significant."""
    n, objective = comparison.n, comparison.objective
    accuracy, anytime = comparison.leaders("test_accuracy"), comparison.leaders("anytime_area")
    means = comparison.table("test_accuracy").mean()
    curve = f"mean best {objective} so far over the epochs every search reached"
    needed = smallest_useful_n()
    if n == 1:
        return (
            f"{_first(accuracy, comparison.tuners)} on test accuracy ({means.max():.4f}), and "
            f"{_first(anytime, comparison.tuners)} on the any-time curve ({curve}). With 1 run "
            "per tuner no difference between tuners can be tested, so none is claimed: a paired "
            f"Wilcoxon signed-rank test over repeated runs needs at least {needed} of them to "
            "reach p < "
            f"{statistics.ALPHA} (its smallest p with N runs is 2 / 2^N)."
        )
    ranks = comparison.mean_ranks("test_accuracy")
    detail = f"mean rank {ranks[accuracy[0]]:.2g} of {len(comparison.tuners)}"
    if len(accuracy) == 1:
        detail += f", mean test accuracy {means[accuracy[0]]:.4f}"
    opening = (
        f"Over {n} repetitions, {_first(accuracy, comparison.tuners)} on test accuracy "
        f"({detail}), and {_first(anytime, comparison.tuners)} on the any-time curve ({curve})."
    )
    if n < needed:
        return (
            f"{opening} With {n} repetitions no difference can be significant: the smallest p a "
            f"paired Wilcoxon signed-rank test can give with {n} pairs is "
            f"{statistics.smallest_p(n):.3g}, above {statistics.ALPHA}; at least {needed} "
            "repetitions are needed, so none is claimed."
        )
    return " ".join(
        [
            opening,
            _significance(comparison, "test_accuracy", "test accuracy"),
            _significance(comparison, "anytime_area", "the any-time curve"),
        ]
    )
