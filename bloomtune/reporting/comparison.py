"""The comparison over repetitions: per-tuner means with confidence intervals, ranks, paired tests,
which cells may be bold, and the report's leading sentence. Never claims more than the tests show.

Input is the per-repetition table (runs.repetitions): one row per tuner and seed."""

from __future__ import annotations

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
        """For the leader against each other tuner (all pairs) or each tuner against the
        control: the mean difference and an estimate of the repetitions a paired test would need
        for 80 % power at that effect, at alpha over the design's number of tests."""
        table, m = self.table(measure), len(self.pairs)
        if self.design.comparisons == "control":
            pairs = self.pairs
        else:
            leader = self.leaders(measure)[0]
            pairs = [(leader, t) for t in self.tuners if t != leader]
        rows = []
        for a, b in pairs:
            d = (table[a] - table[b]).to_numpy()
            needed = statistics.repetitions_for_power(d, self.design.alpha / m)
            if needed is not None:
                needed = max(needed, self.needed)  # the Wilcoxon test's floor
            rows.append({"a": a, "b": b, "mean_difference": float(d.mean()),
                         "repetitions": needed})  # fmt: skip
        return pd.DataFrame(rows, columns=["a", "b", "mean_difference", "repetitions"])

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
    """One sentence on whether the leader's lead on `measure` is significant (all pairs)."""
    alpha = comparison.design.alpha
    lead = comparison.lead(measure)
    over = sorted(t for t, p in lead.items() if p < alpha)
    not_over = sorted(t for t, p in lead.items() if p >= alpha)
    corrected = f"at {alpha} after Holm's correction"
    if lead and not not_over:
        return f"Its lead on {label} is significant {corrected} over every other tuner."
    if over:
        worst = max(lead[t] for t in not_over)
        return (
            f"Its lead on {label} is significant {corrected} over {', '.join(over)}, but not over "
            f"{', '.join(not_over)} (adjusted p up to {worst:.2g})."
        )
    if (comparison.pairwise(measure)["p_holm"] < alpha).any():
        who = "Its lead" if lead else "No single tuner leads, and the first places' lead"
        return f"{who} on {label} is not significant {corrected} over any other tuner."
    friedman = statistics.friedman(comparison.table(measure))
    tested = f"; Friedman p = {friedman['p']:.2g}" if friedman else ""
    return (
        f"No difference in {label} between any two tuners is significant {corrected} "
        f"({comparison.n} repetitions{tested})."
    )


def _against_control(comparison: Comparison, measure: str, label: str) -> str:
    """One sentence on each tuner against the control (the control design)."""
    alpha, control = comparison.design.alpha, comparison.design.control
    better, worse, neither = [], [], []
    for tuner, (p, effect) in comparison.against_control(measure).items():
        (better if p < alpha and effect > 0 else worse if p < alpha else neither).append(
            f"{tuner} (adjusted p {p:.2g})"
        )
    said = [f"significantly better than {control}: {', '.join(better)}"] if better else []
    said += [f"significantly worse: {', '.join(worse)}"] if worse else []
    said += [f"not significantly different: {', '.join(neither)}"] if neither else []
    return (
        f"On {label}, against the control at {alpha} after Holm's correction, "
        + "; ".join(said)
        + "."
    )


def _graded(comparison: Comparison) -> str:
    """The Bayesian signed-rank tests in words: never "better" below 0.95."""
    n, rope = comparison.n, comparison.design.rope
    evidence = comparison.evidence("test_accuracy")
    if evidence.empty:
        return (
            f"Graded evidence (a Bayesian signed-rank test) needs at least "
            f"{statistics.BAYES_MIN_N} repetitions."
        )
    if comparison.design.comparisons == "all_pairs":
        leader = comparison.leaders("test_accuracy")[0]
        evidence = evidence[(evidence["a"] == leader) | (evidence["b"] == leader)]
        flipped = evidence["b"] == leader  # say each pair from the leader's side
        evidence = evidence.assign(
            a=evidence["a"].where(~flipped, evidence["b"]),
            b=evidence["b"].where(~flipped, evidence["a"]),
            p_a=evidence["p_a"].where(~flipped, evidence["p_b"]),
            p_b=evidence["p_b"].where(~flipped, evidence["p_a"]),
        )
    said = []
    for row in evidence.itertuples():
        if row.p_a >= CALL:
            said.append(f"{row.a} is better than {row.b} by more than {rope:g} "
                        f"(probability {row.p_a:.2f})")  # fmt: skip
        elif row.p_b >= CALL:
            said.append(f"{row.b} is better than {row.a} by more than {rope:g} "
                        f"(probability {row.p_b:.2f})")  # fmt: skip
        elif row.p_rope >= CALL:
            said.append(f"{row.a} and {row.b} are practically equal "
                        f"(probability {row.p_rope:.2f})")  # fmt: skip
        else:
            said.append(f"{row.a} against {row.b}: ahead by more than {rope:g} with probability "
                        f"{row.p_a:.2f}, practically equal {row.p_rope:.2f}, behind "
                        f"{row.p_b:.2f}")  # fmt: skip
    return (
        f"Graded evidence on test accuracy over {n} repetitions (Bayesian signed-rank test, "
        f"differences within {rope:g} count as practically equal; called only from "
        f"{CALL}): " + "; ".join(said) + "."
    )


CALL = 0.95  # the posterior probability from which the report calls one tuner better


def headline(comparison: Comparison, budget_change: str | None = None) -> str:
    """The answer in plain words, never more than the data can show: who ranks first on test
    accuracy and on the any-time curve, whether each lead is significant under the design's
    correction, graded Bayesian evidence where no test can be significant yet, and whether the
    first place changes with the budget."""
    n, objective, design = comparison.n, comparison.objective, comparison.design
    accuracy, anytime = comparison.leaders("test_accuracy"), comparison.leaders("anytime_area")
    means = comparison.table("test_accuracy").mean()
    curve = f"mean best {objective} so far over the epochs every search reached"
    needed, m = comparison.needed, len(comparison.pairs)
    tail = [budget_change] if budget_change else []
    corrected = (
        f"a paired Wilcoxon signed-rank test, Holm-corrected over this design's {m} "
        f"comparisons ({design.describe(comparison.tuners)})"
    )
    if n == 1:
        return " ".join(
            [
                f"{_first(accuracy, comparison.tuners)} on test accuracy ({means.max():.4f}), "
                f"and {_first(anytime, comparison.tuners)} on the any-time curve ({curve}). "
                "With 1 run per tuner no difference between tuners can be tested, so none is "
                f"claimed: {corrected}, needs at least {needed} repetitions to reach p < "
                f"{design.alpha}.",
                *tail,
            ]
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
        return " ".join(
            [
                opening,
                f"With {n} repetitions no difference can be significant: the smallest p "
                f"{corrected}, can give with {n} pairs is {statistics.smallest_p(n):.3g} x {m} "
                f"= {statistics.smallest_p(n) * m:.3g}, not below {design.alpha}; at least "
                f"{needed} repetitions are needed, so none is claimed.",
                _graded(comparison),
                *tail,
            ]
        )
    if design.comparisons == "control":
        said = [
            _against_control(comparison, "test_accuracy", "test accuracy"),
            _against_control(comparison, "anytime_area", "the any-time curve"),
        ]
    else:
        said = [
            _significance(comparison, "test_accuracy", "test accuracy"),
            _significance(comparison, "anytime_area", "the any-time curve"),
        ]
    return " ".join([opening, *said, *tail])
