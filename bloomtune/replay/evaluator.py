"""The replay evaluator: a configuration's results looked up in a table of tabulated learning
curves instead of trained (no TensorFlow). A suggestion is snapped to the nearest grid point
(replay/grid.py); which tabulated training seed a trial gets is drawn from the repetition's seed
and the trial's number, so a replay repeats exactly; a trial Keras Tuner's Hyperband promotes
continues its parent's curve from the parent's epoch, as Syne Tune's simulator does. Each
epoch's seconds are the table's, not measured (a failed configuration: none)."""

from __future__ import annotations

import math

import pandas as pd

from bloomtune.errors import DataError, TabulatedFailure
from bloomtune.replay.grid import configurations, key, snap
from bloomtune.seeds import derive_seed
from bloomtune.space import SearchSpace

EPOCH_COLUMNS = ("loss", "val_accuracy", "val_loss", "test_accuracy", "test_loss", "seconds")


def cell_value(value):
    """A table cell as a plain Python value (None for an inactive dimension's empty cell)."""
    if hasattr(value, "item"):  # a NumPy scalar from the frame
        value = value.item()
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


class Table:
    """The tabulated learning curves, indexed once: one row per configuration, training seed
    and epoch in the frame (epoch 0 with a failure reason for a configuration that failed)."""

    def __init__(self, frame: pd.DataFrame, space: SearchSpace):
        self.seeds = sorted(int(s) for s in frame["seed"].unique())
        self.index, self.curves, self.failures = {}, {}, {}
        names = [n for n in space.names if n in frame.columns]
        columns = ["epoch", *EPOCH_COLUMNS]
        for (config, tab_seed), rows in frame.groupby(["config", "seed"], sort=True):
            first = rows.iloc[0]
            self.index[key(space.active({n: cell_value(first[n]) for n in names}))] = int(config)
            failed = rows[rows["status"] == "failed"]
            if len(failed):
                self.failures[(int(config), int(tab_seed))] = failed.iloc[0]["failure_reason"]
            curve = rows[rows["epoch"] > 0].sort_values("epoch")
            self.curves[(int(config), int(tab_seed))] = [
                {
                    c: int(v) if c == "epoch" else cell_value(float(v))
                    for c, v in zip(columns, r, strict=True)
                }
                for r in curve[columns].itertuples(index=False)
            ]

    def nearest(self, space: SearchSpace, grid: dict, hp: dict) -> int | None:
        """The number of the configuration nearest to `hp` on the grid; None if the table
        lacks it."""
        return self.index.get(key(snap(space, grid, hp)))

    @classmethod
    def read(cls, path, space: SearchSpace) -> Table:
        return cls(pd.read_parquet(path), space)

    def check_covers(self, space: SearchSpace, grid: dict, path) -> None:
        """DataError unless the table holds every grid configuration for each of its training
        seeds: a replay would fail the missing ones as trials and end well."""
        wanted = configurations(space, grid)
        missing = [hp for hp in wanted if key(hp) not in self.index]
        missing += [
            hp for hp in wanted if key(hp) in self.index
            and any((self.index[key(hp)], s) not in self.curves for s in self.seeds)
        ]  # fmt: skip
        if missing:
            raise DataError(
                f"{path}: the table lacks {len(missing)} of the grid's {len(wanted)} "
                f"configurations (first: {missing[0]}); tabulate them (snakemake --forcerun "
                "tabulate, or python -m bloomtune.repro --force tabulate)"
            )


class TableEvaluator:
    """Replays one repetition of a search against a Table: at the suggestion's nearest grid
    point, or with `model` (replay/surrogate.py's CurveModel, `replay.model: surrogate`) where
    the suggestion lies."""

    def __init__(self, table: Table, space: SearchSpace, grid: dict, seed: int, model=None):
        self.table, self.space, self.grid, self.seed = table, space, grid, seed
        self.model = model
        self.assigned: dict[int, int] = {}

    def tabulated_seed(self, trial: int, parent: int | None = None) -> int:
        """The training seed whose curve trial `trial` replays: its parent's for a promoted
        trial, else drawn from the repetition's seed and the trial's number."""
        if parent is not None:
            seed = self.assigned.get(parent, self.tabulated_seed(parent))
        else:
            seeds = self.table.seeds
            seed = seeds[derive_seed(self.seed, "replay", trial) % len(seeds)]
        self.assigned[trial] = seed
        return seed

    def resolve(self, hp: dict) -> dict:
        """Where a suggestion is evaluated (what the ledger records): its nearest grid point,
        or with a curve model the suggestion itself."""
        if self.model is not None:
            given = {k: v for k, v in hp.items() if v is not None}
            return self.space.active({**snap(self.space, self.grid, hp), **given})
        return snap(self.space, self.grid, hp)

    def curve(self, hp: dict, seed: int) -> list[dict]:
        if self.model is not None:
            return self.model.curve(hp, seed)
        return self.table.curves[(self.configuration(hp), seed)]

    def configuration(self, hp: dict) -> int:
        """The table's number of the suggestion's nearest grid point."""
        config = self.table.nearest(self.space, self.grid, hp)
        if config is None:
            snapped = snap(self.space, self.grid, hp)
            raise ValueError(f"configuration {snapped} is not in the table")
        return config

    def evaluate(self, request, on_epoch) -> None:
        config = self.configuration(request.hp)
        seed = self.tabulated_seed(request.trial, request.parent)
        if (config, seed) in self.table.failures:
            raise TabulatedFailure(self.table.failures[(config, seed)])
        for record in self.curve(request.hp, seed)[request.initial_epoch : request.epochs]:
            if on_epoch(dict(record)):
                break

    def epoch(self, trial: int, hp: dict, epoch: int) -> dict:
        """The table's record of trial `trial`'s curve at `epoch` (its test metrics too)."""
        return next(r for r in self.curve(hp, self.assigned[trial]) if r["epoch"] == epoch)

    def keep(self, request) -> None:
        """Nothing to keep: a continued trial reads its parent's curve from the table."""
