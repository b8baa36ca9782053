"""The comparison over repetitions: per-tuner means with confidence intervals, ranks, paired tests
(the design's pairs, Holm-corrected), which cells may be bold; what the headline (headline.py)
says is read from it.

Input is the per-repetition table (runs.repetitions): one row per tuner and seed."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
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


@dataclass(frozen=True)
class Design:
    """Which pairs the report tests (params report.comparisons: every pair, or each tuner against
    report.control), at which level, and the Bayesian tests' region of practical equivalence."""

    comparisons: str = "all_pairs"
    control: str | None = None
    rope: float = 0.01
    alpha: float = statistics.ALPHA

    def pairs(self, tuners: list[str]) -> list[tuple[str, str]]:
        if self.comparisons == "control":
            return [(t, self.control) for t in tuners if t != self.control]
        return statistics.all_pairs(tuners)

    def describe_short(self) -> str:
        return "the tests against the control" if self.comparisons == "control" else "every pair"

    def describe(self, tuners: list[str]) -> str:
        m = len(self.pairs(tuners))
        if self.comparisons == "control":
            return f"each tuner against the control {self.control}: {m} tests"
        return f"every pair of the {len(tuners)} tuners: {m} tests"


class Comparison:
    """Paired comparison of tuners over repetition seeds, under one design."""

    def __init__(self, repetitions: pd.DataFrame, objective: str, design: Design | None = None):
        self.repetitions = repetitions
        self.objective = objective
        self.design = design or Design()
        self.tuners = list(dict.fromkeys(repetitions["tuner"]))
        self.seeds = sorted(set(repetitions["seed"]))
        self.n = len(self.seeds)
        self._evidence: dict[str, pd.DataFrame] = {}

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return self.design.pairs(self.tuners)

    @property
    def needed(self) -> int:
        """The fewest repetitions with which any of this design's Holm-corrected tests can
        reach p < alpha."""
        return statistics.repetitions_needed(len(self.pairs), self.design.alpha)

    @property
    def smallest_adjusted_p(self) -> float:
        return statistics.smallest_adjusted_p(self.n, len(self.pairs))

    def bounds(self, column: str) -> tuple[float, float]:
        """The range a column's values can take: an accuracy's [0, 1], anything else's [0, inf)
        (losses, seconds, counts)."""
        accuracy = "accuracy" in column or (
            column in ("best_validation", "anytime_area") and self.objective.endswith("accuracy")
        )
        return (0.0, 1.0) if accuracy else (0.0, math.inf)

    def means(self, measure: str) -> pd.Series:
        """Each tuner's mean, best first (ties in params order)."""
        means = self.table(measure).mean()
        way = 1 if self.higher_is_better(measure) else -1
        return means.iloc[sorted(range(len(means)), key=lambda i: -way * means.iloc[i])]

    def separated(self, measure: str) -> set[frozenset]:
        """The pairs of tuners a test of this design separates (Holm-adjusted p < alpha)."""
        alpha = self.design.alpha
        return {frozenset((r.a, r.b)) for r in self.pairwise(measure).itertuples()
                if r.p_holm < alpha}  # fmt: skip

    def groups(self, measure: str) -> list[list[str]]:
        """Tuners in order of their mean, in the longest runs that no test separates (every pair
        within a run has Holm-adjusted p >= alpha, or was not tested): what a figure joins."""
        order, apart = list(self.means(measure).index), self.separated(measure)
        runs: list[tuple[int, int]] = []
        for i in range(len(order)):
            j = i
            while j + 1 < len(order) and all(
                frozenset((order[k], order[j + 1])) not in apart for k in range(i, j + 1)
            ):
                j += 1
            if j > i and not any(a <= i and j <= b for a, b in runs):
                runs.append((i, j))
        return [order[a : b + 1] for a, b in runs]

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
        """The design's pairs: raw and Holm-adjusted p (over these pairs), effect size."""
        return statistics.pairwise(self.table(measure), self.higher_is_better(measure), self.pairs)

    def against_control(self, measure: str) -> dict[str, tuple[float, float]]:
        """Under the control design: each tuner's (adjusted p, effect) against the control, the
        effect positive where the tuner is better."""
        return {row.a: (row.p_holm, row.effect) for row in self.pairwise(measure).itertuples()}

    def bold(self, measure: str) -> set[str]:
        """The tuners a table may bold: the leader whose lead over every other tuner is
        significant (all pairs), or each tuner significantly better than the control."""
        alpha = self.design.alpha
        if self.design.comparisons == "control":
            return {t for t, (p, effect) in self.against_control(measure).items()
                    if p < alpha and effect > 0}  # fmt: skip
        leader = self.significant_leader(measure)
        return {leader} if leader else set()

    def evidence(self, measure: str = "test_accuracy") -> pd.DataFrame:
        """The Bayesian signed-rank test of each of the design's pairs, oriented as the pair
        (p_a: the first is better by more than the rope; p_rope: practically equal). Computed
        once per measure (its sampling takes a fraction of a second a pair)."""
        if measure not in self._evidence:
            self._evidence[measure] = self._bayes(measure)
        return self._evidence[measure].copy()

    def _bayes(self, measure: str) -> pd.DataFrame:
        table, higher = self.table(measure), self.higher_is_better(measure)
        rows = []
        for a, b in self.pairs:
            found = statistics.bayes_signed_rank(table[a], table[b], self.design.rope, higher)
            if found is not None:
                rows.append({"a": a, "b": b, **found})
        return pd.DataFrame(rows, columns=["a", "b", "p_a", "p_rope", "p_b"])

    def power(self, measure: str = "test_accuracy") -> pd.DataFrame:
        """For the tuner of best mean against each other tuner (all pairs) or each tuner against
        the control: the mean difference, how many pairs differ, and an estimate of the
        repetitions a paired test would need for 80 % power at that effect, at alpha over the
        design's number of tests (none from fewer than statistics.POWER_MIN_DIFFERING differing
        pairs)."""
        table, m = self.table(measure), len(self.pairs)
        if self.design.comparisons == "control":
            pairs = self.pairs
        else:
            leader = self.means(measure).index[0]  # the best mean (mean ranks may tie)
            pairs = [(leader, t) for t in self.tuners if t != leader]
        rows = []
        for a, b in pairs:
            d = (table[a] - table[b]).to_numpy()
            needed = statistics.repetitions_for_power(d, self.design.alpha / m)
            if needed is not None:
                needed = max(needed, self.needed)  # the Wilcoxon test's floor
            rows.append({"a": a, "b": b, "mean_difference": float(d.mean()),
                         "differing": int(np.count_nonzero(d)),
                         "repetitions": needed})  # fmt: skip
        columns = ["a", "b", "mean_difference", "differing", "repetitions"]
        return pd.DataFrame(rows, columns=columns)

    def identical(self) -> list[tuple[str, str]]:
        """Pairs of tuners whose test results were the same in every repetition."""
        columns = [c for c in ("test_accuracy", "test_loss", "test_top5_accuracy")
                   if c in self.repetitions]  # fmt: skip
        tables = [self.table(c).to_numpy() for c in columns]
        index = {t: i for i, t in enumerate(self.tuners)}
        return [
            (a, b)
            for a, b in statistics.all_pairs(self.tuners)
            if all(np.array_equal(t[:, index[a]], t[:, index[b]]) for t in tables)
        ]

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
        if lead and all(p < self.design.alpha for p in lead.values()):
            return self.leaders(measure)[0]
        return None

    def summary(self) -> pd.DataFrame:
        """summary.csv: per tuner, each measure's mean (under its own name), standard deviation and
        95 % Student's t interval of the mean cut to the measure's range (bounds); mean ranks;
        the most frequent best hyperparameters."""
        rows = []
        reps = self.repetitions
        for tuner in self.tuners:
            mine = reps[reps["tuner"] == tuner]
            row = {"tuner": tuner, "framework": mine["framework"].iloc[0], "repetitions": self.n}
            for column in [*MEASURES, *DESCRIBED]:
                got = statistics.interval(mine[column], bounds=self.bounds(column))
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
