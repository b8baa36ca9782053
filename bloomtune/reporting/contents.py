"""What a report shows, gathered once from its run source (live runs or replayed ones): the
runs, the per-repetition table, the comparison, the budgets, the independence check, the
headline, and the ledgers pooled and banded for the figures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bloomtune.reporting import figures, statistics
from bloomtune.reporting.budgets import BudgetRanks
from bloomtune.reporting.comparison import Comparison, Design
from bloomtune.reporting.headline import headline
from bloomtune.reporting.independence import flagged_text, independence
from bloomtune.reporting.runs import anytime_areas
from bloomtune.reporting.sources import RunSource
from bloomtune.settings import ReportSettings
from bloomtune.space import SearchSpace
from bloomtune.tuning.ledger import best_so_far


class Contents:
    """Everything a report shows, for the listed tuners and repetition seeds (files of runs no
    longer listed are ignored); what only its source has is on `source`."""

    def __init__(self, settings: ReportSettings, source: RunSource):
        self.settings, self.source = settings, source
        self.runs = source.load(settings.tuners, settings.seeds)
        self.objective = self.runs[0].best["objective"]
        self.space = SearchSpace.from_params(self.runs[0].best["settings"]["search_space"])
        source.prepare(self)
        areas = anytime_areas(self.runs, self.objective)
        self.repetitions = pd.DataFrame(
            [source.row(run, area) for run, area in zip(self.runs, areas, strict=True)]
        )
        design = Design(settings.comparisons, settings.control, settings.rope)
        self.comparison = Comparison(self.repetitions, self.objective, design)
        self.summary = self.comparison.summary()
        source.summarise(self)
        self.budgets = BudgetRanks(self.runs, self.objective, settings.budget_fractions)
        self.size = source.size(self)
        self.independence = independence(self.runs, self.space.names, self.size)
        self.headline = headline(
            self.comparison, self.budgets.change(), flagged_text(self.independence)
        )
        self.colours = figures.palette(self.comparison.tuners)

    def by_tuner(self, get) -> dict[str, list]:
        grouped: dict[str, list] = {}
        for run in self.runs:
            grouped.setdefault(run.tuner, []).append(get(run))
        return grouped

    def pooled_ledgers(self) -> dict[str, pd.DataFrame]:
        """Every trial of every repetition, per tuner."""
        return {
            t: pd.concat(ledgers, ignore_index=True)
            for t, ledgers in self.by_tuner(lambda r: r.ledger).items()
        }

    def bands(self) -> dict[str, dict[str, pd.DataFrame]]:
        """Per tuner and x axis (epochs, wall seconds): the best-so-far median and interquartile
        band over its repetitions, on one grid shared by every tuner."""
        curves = self.by_tuner(lambda r: best_so_far(r.ledger, self.objective))
        ends = {
            x: max(float(c[x].max()) for cs in curves.values() for c in cs)
            for x in ("epochs", "wall_s")
        }
        grids = {
            "epochs": np.arange(1, int(ends["epochs"]) + 1),
            "wall_s": np.linspace(0, ends["wall_s"], 200),
        }
        return {
            t: {x: statistics.anytime_band(cs, x, grid) for x, grid in grids.items()}
            for t, cs in curves.items()
        }
