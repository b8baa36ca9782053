"""The answer at every budget: each tuner's mean rank, over the repetitions, by the best
validation score its search had reached at fractions of the epoch budget (its any-time curve
read at, by default, 25 %, 50 % and 100 %), with a Friedman test at each fraction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bloomtune.objective import higher_is_better
from bloomtune.reporting import statistics
from bloomtune.reporting.figures import best_so_far
from bloomtune.reporting.runs import Run


def epoch_budget(best: dict) -> int:
    """A search's epoch budget: tuning.max_total_epochs, else its trials times their epochs."""
    budget = best["settings"]["budget"]
    return budget.get("max_total_epochs") or budget["max_trials"] * budget["max_epochs"]


class BudgetRanks:
    """Per budget fraction: a repetitions x tuners table of the best score reached by then."""

    def __init__(self, runs: list[Run], objective: str, fractions):
        self.objective, self.fractions = objective, [float(f) for f in fractions]
        self.tuners = list(dict.fromkeys(r.tuner for r in runs))
        rows = []
        for run in runs:
            curve, budget = best_so_far(run.ledger, objective), epoch_budget(run.best)
            reached = statistics.on_grid(curve, "epochs", [f * budget for f in self.fractions])
            rows += [
                {"tuner": run.tuner, "seed": run.seed, "fraction": f, "best": float(value)}
                for f, value in zip(self.fractions, reached, strict=True)
            ]
        self.scores = pd.DataFrame(rows, columns=["tuner", "seed", "fraction", "best"])

    def table(self, fraction: float) -> pd.DataFrame:
        """Repetitions by tuners at `fraction`; a search with no scored trial by then ranks
        last (it has nothing to show yet)."""
        mine = self.scores[self.scores["fraction"] == fraction]
        wide = mine.pivot(index="seed", columns="tuner", values="best")[self.tuners]
        worst = -np.inf if higher_is_better(self.objective) else np.inf
        return wide.astype(float).fillna(worst)

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

    def change(self, alpha: float = statistics.ALPHA) -> str | None:
        """One sentence when the first place changes with the budget, else None; it says
        whether the Friedman test finds the ranks different anywhere (else: a hint only)."""
        leaders = {f: self.leaders(f) for f in self.fractions}
        if len({tuple(v) for v in leaders.values()}) < 2:
            return None
        said = "; ".join(f"at {f:.0%}: {' and '.join(v)}" for f, v in leaders.items())
        tested = {f: statistics.friedman(self.table(f)) for f in self.fractions}
        ps = ", ".join(f"{f:.0%} {t['p']:.2g}" for f, t in tested.items() if t)
        if any(t and t["p"] < alpha for t in tested.values()):
            verdict = f"the ranks differ significantly somewhere (Friedman p: {ps})"
        else:
            verdict = (
                f"but at no share of the budget do the ranks differ significantly (Friedman p: "
                f"{ps or 'not testable'}): a hint, not a finding"
            )
        return (
            "The first place changes with the budget (mean rank by the best validation score "
            f"reached by then; {said}); {verdict}."
        )
