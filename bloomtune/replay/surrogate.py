"""A curve model of the table (`replay.model: surrogate`): per training seed, one scikit-learn
extremely randomised trees regressor fitted on the grid's configurations that trained to the end,
predicting a whole learning curve at once (every epoch column at every epoch), as Syne Tune's
BlackboxSurrogate does with predict_curves. A replayed trial is then evaluated where its
suggestion lies, between grid values, not at its nearest grid point.

Why extremely randomised trees: a tree splits a range between two of its grid values, so one
tree (or a random forest, whose splits fall at the midpoints) predicts a step there, the grid's
snapping again; extra trees draw each split uniformly within the node's range, so their average
moves smoothly from one grid value's curve to the next's. Inputs: a categorical dimension one-hot,
a log range on its log, an inactive conditional dimension as zeros. What the grid decides stays
the grid's: where the table failed a suggestion's nearest grid point (too large, out of memory)
or its curve diverged, the trial gets that grid point's outcome. Leave-one-grid-value-out
validation (`validate`, the JAHS-Bench-201 way) says how far it predicts a value it has not seen:
at an end of a range it cannot extrapolate, so it predicts the nearest seen value's curves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bloomtune.objective import sign
from bloomtune.replay.evaluator import EPOCH_COLUMNS, Table
from bloomtune.replay.grid import configurations, key, values_of
from bloomtune.seeds import derive_seed
from bloomtune.space import SearchSpace

TREES = 200


def features(space: SearchSpace, hp: dict) -> list[float]:
    """A configuration as the model's inputs (the module's docstring says how)."""
    out = []
    for dim in space:
        value = hp.get(dim.name)
        if dim.choices is not None:
            if len(dim.choices) > 1:
                out += [float(value == c) for c in dim.choices]
        elif value is None:
            out.append(0.0)
        else:
            out.append(math.log(float(value)) if dim.log else float(value))
    return out


def _full(curve: list[dict], epochs: int) -> bool:
    return len(curve) == epochs and all(
        r[c] is not None and math.isfinite(r[c]) for r in curve for c in EPOCH_COLUMNS
    )


class CurveModel:
    """One regressor per training seed over the table's full-length curves (see the module)."""

    def __init__(self, table: Table, space: SearchSpace, grid: dict, epochs: int, seed: int,
                 exclude=lambda hp: False):  # fmt: skip
        from sklearn.ensemble import ExtraTreesRegressor

        self.table, self.space, self.grid, self.epochs = table, space, grid, epochs
        configs = {config: hp for hp, config in _configurations(table, space, grid)}
        self.models = {}
        for tab_seed in table.seeds:
            rows = [(configs[c], curve) for (c, s), curve in table.curves.items()
                    if s == tab_seed and c in configs and _full(curve, epochs)
                    and not exclude(configs[c])]  # fmt: skip
            if not rows:  # nothing to fit: the grid's curves stand
                self.models[tab_seed] = None
                continue
            x = np.array([features(space, hp) for hp, _ in rows])
            y = np.array([[r[c] for r in curve for c in EPOCH_COLUMNS] for _, curve in rows])
            state = derive_seed(seed, "surrogate", tab_seed)
            model = ExtraTreesRegressor(n_estimators=TREES, random_state=state)
            self.models[tab_seed] = model.fit(x, y)
        self.cache: dict = {}

    def curve(self, hp: dict, tab_seed: int) -> list[dict] | None:
        """Training seed `tab_seed`'s curve at `hp`: predicted, or the nearest grid point's
        where that one failed or diverged (None where it failed: its reason is the table's)."""
        config = self.table.nearest(self.space, self.grid, hp)
        if config is None or (config, tab_seed) in self.table.failures:
            return None
        tabulated = self.table.curves[(config, tab_seed)]
        if not _full(tabulated, self.epochs) or self.models[tab_seed] is None:
            return tabulated
        cached = (key(hp), tab_seed)
        if cached not in self.cache:
            row = self.models[tab_seed].predict(np.array([features(self.space, hp)]))[0]
            values = row.reshape(self.epochs, len(EPOCH_COLUMNS))
            self.cache[cached] = [
                {"epoch": e, **{c: float(v) for c, v in zip(EPOCH_COLUMNS, vs, strict=True)}}
                for e, vs in enumerate(values, start=1)
            ]
        return self.cache[cached]


def _configurations(table: Table, space: SearchSpace, grid: dict) -> list[tuple[dict, int]]:
    """The grid's configurations the table holds, with their numbers."""
    wanted = ((hp, table.index.get(key(hp))) for hp in configurations(space, grid))
    return [(hp, config) for hp, config in wanted if config is not None]


class SurrogateCurves:
    """A CurveModel as reporting/fidelity.py reads curves: {seed: {epoch: objective}}."""

    def __init__(self, model: CurveModel, objective: str):
        self.model, self.objective, self.seeds = model, objective, model.table.seeds

    def curves(self, hp: dict) -> dict[int, dict[int, float]] | None:
        active = {k: v for k, v in hp.items() if v is not None}
        found = {s: self.model.curve(active, s) for s in self.seeds}
        if any(c is None for c in found.values()):
            return None
        return {s: {r["epoch"]: r[self.objective] for r in c} for s, c in found.items()}


def validate(table: Table, space: SearchSpace, grid: dict, epochs: int, objective: str,
             seed: int) -> pd.DataFrame:  # fmt: skip
    """Leave one grid value out: for each range dimension and each of its grid values, the model
    fitted without the configurations at that value predicts their final (best-epoch) score, per
    training seed. One row per held-out (configuration, seed): dimension, value, config, seed,
    table, predicted."""
    way, rows = sign(objective), []
    configs = _configurations(table, space, grid)
    for dim in space:
        if dim.choices is not None or len(values_of(dim, grid)) < 2:
            continue  # a range at one grid value leaves nothing to predict it from
        for value in values_of(dim, grid):
            held = lambda hp, d=dim.name, v=value: hp.get(d) == v  # noqa: E731
            model = CurveModel(table, space, grid, epochs, seed, exclude=held)
            for hp, config in configs:
                if not held(hp):
                    continue
                for s in table.seeds:
                    curve = table.curves.get((config, s), [])
                    if not _full(curve, epochs):
                        continue
                    predicted = model.curve(hp, s)
                    rows.append({"dimension": dim.name, "value": value, "config": config,
                                 "seed": s, "table": max((r[objective] for r in curve),
                                                         key=lambda v: way * v),
                                 "predicted": max((r[objective] for r in predicted),
                                                  key=lambda v: way * v)})  # fmt: skip
    return pd.DataFrame(rows, columns=["dimension", "value", "config", "seed", "table",
                                       "predicted"])  # fmt: skip


def held_out_scores(frame: pd.DataFrame, grid: dict) -> dict:
    """validate()'s rows summarised: Spearman's rho (SciPy) and R² (scikit-learn) of predicted
    against tabulated final scores, over every held-out value and over the inner ones only (a
    value at an end of its range is an extrapolation, which trees cannot make)."""
    from scipy import stats
    from sklearn.metrics import r2_score

    def scores(rows):
        if len(rows) < 3 or rows["table"].nunique() < 2:
            return {"n": len(rows), "rho": None, "r2": None}
        rho = stats.spearmanr(rows["table"], rows["predicted"]).statistic
        return {"n": len(rows), "rho": float(rho),
                "r2": float(r2_score(rows["table"], rows["predicted"]))}  # fmt: skip

    inner = frame[[v not in (min(grid[d]), max(grid[d]))
                   for d, v in zip(frame["dimension"], frame["value"], strict=True)]]  # fmt: skip
    return {"all": scores(frame), "inner": scores(inner)}
