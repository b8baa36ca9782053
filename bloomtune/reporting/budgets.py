"""The answer at every budget: each tuner's mean rank, over the repetitions, by the best
validation score its search had reached at fractions of the epoch budget (its any-time curve
read at, by default, 25 %, 50 % and 100 %), with a Friedman test at each fraction."""

from __future__ import annotations

import pandas as pd

from bloomtune.objective import higher_is_better
from bloomtune.reporting import statistics
from bloomtune.reporting.runs import Run, nothing_yet
from bloomtune.tuning.ledger import best_so_far


def epoch_budget(best: dict) -> int:
    """A search's epoch budget: tuning.max_total_epochs, else its trials times their epochs."""
    budget = best["settings"]["budget"]
    return budget.get("max_total_epochs") or budget["max_trials"] * budget["max_epochs"]


class BudgetRanks:
    """Per budget fraction: a repetitions x tuners table of the best score reached by then."""

    def __init__(self, runs: list[Run], objective: str, fractions):
        self.objective, self.fractions = objective, [float(f) for f in fractions]
        self.tuners = list(dict.fromkeys(r.tuner for r in runs))
        self.before = nothing_yet(runs, objective)  # the any-time score's rule too
        rows = []
        for run in runs:
            curve, budget = best_so_far(run.ledger, objective), epoch_budget(run.best)
            grid = [f * budget for f in self.fractions]
            reached = statistics.on_grid(curve, "epochs", grid, self.before)
            rows += [
                {"tuner": run.tuner, "seed": run.seed, "fraction": f, "best": float(value)}
                for f, value in zip(self.fractions, reached, strict=True)
            ]
        self.scores = pd.DataFrame(rows, columns=["tuner", "seed", "fraction", "best"])

    def table(self, fraction: float) -> pd.DataFrame:
        """Repetitions by tuners at `fraction`; a search with no scored trial by then has the
        measure's worst value (runs.nothing_yet), as in the any-time score."""
        mine = self.scores[self.scores["fraction"] == fraction]
        return mine.pivot(index="seed", columns="tuner", values="best")[self.tuners].astype(float)

    def mean_ranks(self, fraction: float) -> pd.Series:
        return statistics.ranks(self.table(fraction), higher_is_better(self.objective)).mean()

    def leaders(self, fraction: float) -> list[str]:
        ranks = self.mean_ranks(fraction).round(9)
        return list(ranks.index[ranks == ranks.min()])

    def frame(self) -> pd.DataFrame:
        """One row per fraction and tuner: its mean rank; and the Friedman p at that fraction."""
        rows = []
        for f in self.fractions:
            ranks, tested = self.mean_ranks(f), statistics.friedman(self.table(f))
            rows += [
                {"fraction": f, "tuner": t, "mean_rank": float(ranks[t]),
                 "friedman_p": tested["p"] if tested else None}
                for t in self.tuners
            ]  # fmt: skip
        return pd.DataFrame(rows)

    def friedman_holm(self) -> dict[float, float | None]:
        """The Friedman p at each fraction, Holm-corrected over the fractions tested (one family:
        the headline draws on all of them); None where the test does not apply."""
        from statsmodels.stats.multitest import multipletests

        tested = {f: statistics.friedman(self.table(f)) for f in self.fractions}
        raw = {f: t["p"] for f, t in tested.items() if t}
        adjusted = dict(zip(raw, multipletests(list(raw.values()), method="holm")[1], strict=True))
        return {f: (float(adjusted[f]) if f in adjusted else None) for f in self.fractions}

    def change(self, alpha: float = statistics.ALPHA) -> str | None:
        """One sentence naming each fraction of the budget at which the Friedman test finds the
        ranks different (Holm over the fractions), with the lowest mean rank there; None where it
        finds none: no budget leader is named without a significant test."""
        said = []
        for f, p in self.friedman_holm().items():
            if p is not None and p < alpha:
                ranks = self.mean_ranks(f).round(9)
                lowest = list(ranks.index[ranks == ranks.min()])
                said.append(f"at {f:.0%} (adjusted p = {p:.2g}; lowest mean rank: "
                            f"{' and '.join(lowest)}, {ranks.min():.2f})")  # fmt: skip
        if not said:
            return None
        return (
            "By the best validation score reached so far, the tuners' ranks differ (Friedman "
            f"test, Holm-corrected over {len(self.fractions)} budget fractions) "
            + "; ".join(said)
            + "; which pairs differ there is not tested."
        )
