"""How far the table predicts live training, trial by trial: every live trial (all tuners, all
seeds) snapped to its grid point and compared with the table's curves there over the same epochs.

Three numbers carry it. The fidelity: Spearman's rho of the live trials' scores against the
table's (the mean over its training seeds), and their mean absolute difference. The noise
ceiling: the same correlation between one of the table's own training seeds and the mean of the
others, at the same points; it is what a live trial that were only one more training draw would
reach. The live trials are compared with the same others (each seed left out in turn), so the
two are like for like: a live score below the ceiling by more than its interval is a gap the
grid (or anything else live training does differently) makes, not training noise. Intervals are
percentile bootstraps (SciPy) over the live searches, not the trials: the trials of one search
share its optimiser's choices and so are not independent. The same per epoch, since pruners and
Hyperband decide on early epochs."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from bloomtune.objective import sign
from bloomtune.replay.evaluator import Table, cell_value
from bloomtune.replay.surrogate import CurveModel, SurrogateCurves, held_out_scores, validate
from bloomtune.reporting.tables import counted
from bloomtune.space import SearchSpace
from bloomtune.tuning.ledger import curve_values

RESAMPLES = 2000  # bootstrap resamples of the live searches
CONFIDENCE = 0.95


@dataclass
class Fidelity:
    """The trial-level comparison (see the module's docstring); `pairs`: one row per compared
    live trial (tuner, seed, trial, live, table, and the table's seeds); `per_epoch`: epoch, n
    and NAMES' measures but the bias; `skipped`: why the other live trials are not compared."""

    trials: int
    searches: int
    seeds: int
    rho: float
    rho_ci: tuple[float, float]
    matched: float | None  # live against the mean of all seeds but one, averaged
    ceiling: float | None  # one training seed against the mean of the others, averaged
    gap_ci: tuple[float, float] | None  # matched - ceiling
    mad: float
    mad_ceiling: float | None
    mad_matched: float | None
    bias: float  # mean of live - table
    bias_ci: tuple[float, float]
    mad_gap_ci: tuple[float, float] | None  # the matched MAD - the ceiling's MAD
    pairs: pd.DataFrame
    per_epoch: pd.DataFrame
    skipped: dict[str, int]


def _choice(dim, value):
    """A ledger cell as the dimension's own value (a CSV reads 64 back as 64.0 beside an empty
    cell); None for an inactive dimension."""
    value = cell_value(value)
    if value is None:
        return None
    if dim.choices is not None:
        return next((c for c in dim.choices if c == value or str(c) == str(value)), value)
    return float(value)


def _best(values: list[float], way: int) -> float | None:
    finite = [v for v in values if _finite(v)]
    return max(finite, key=lambda v: way * v) if finite else None


class GridCurves:
    """The table's curves at a configuration's nearest grid point, per training seed: what a
    replay with `replay.model: grid` hands a trial."""

    def __init__(self, table: Table, space: SearchSpace, grid: dict, objective: str):
        self.table, self.space, self.grid, self.objective = table, space, grid, objective
        self.seeds = table.seeds

    def curves(self, hp: dict) -> dict[int, dict[int, float]] | None:
        """{seed: {epoch: objective}} at hp's grid point; None where the table failed it."""
        active = {k: v for k, v in hp.items() if v is not None}
        config = self.table.nearest(self.space, self.grid, active)
        found = {s: self.table.curves.get((config, s)) for s in self.seeds}
        if config is None or any(not c for c in found.values()):
            return None
        return {s: {r["epoch"]: r[self.objective] for r in c} for s, c in found.items()}


def points(trials: pd.DataFrame, source, space: SearchSpace, objective: str):
    """Each live trial's final score and its epochs, beside `source`'s curves at its
    configuration per training seed (`source.curves(hp)`, as GridCurves): (final, epochs,
    skipped). `final`: tuner, seed, trial, live, seed_<s>...; `epochs`: tuner, seed, trial,
    epoch, live, seed_<s>... (the source's at the same epoch)."""
    way, seeds = sign(objective), source.seeds
    final, epochs = [], []
    skipped = {"failed live": 0, "no curve recorded": 0, "failed in the table": 0}
    for row in trials.to_dict("records"):
        curve = curve_values(row.get("curve"))
        live = _best(list(curve.values()), way)
        if row["status"] == "failed" or (curve and live is None):
            skipped["failed live"] += 1
            continue
        if not curve:
            skipped["no curve recorded"] += 1
            continue
        found = source.curves({d.name: _choice(d, row.get(d.name)) for d in space})
        at = {s: [(found[s] if found else {}).get(e) for e in curve] for s in seeds}
        scores = {s: _best(at[s], way) for s in seeds}
        if any(v is None for v in scores.values()):
            skipped["failed in the table"] += 1
            continue
        ids = {"tuner": row["tuner"], "seed": row["search_seed"], "trial": row["trial"]}
        final.append({**ids, "live": live, **{f"seed_{s}": scores[s] for s in seeds}})
        for i, (epoch, value) in enumerate(curve.items()):
            if all(_finite(v) for v in [value, *(at[s][i] for s in seeds)]):
                epochs.append({**ids, "epoch": epoch, "live": value,
                               **{f"seed_{s}": at[s][i] for s in seeds}})  # fmt: skip
    columns = ["tuner", "seed", "trial", "live", *[f"seed_{s}" for s in seeds]]
    per_epoch = pd.DataFrame(epochs, columns=[*columns[:3], "epoch", *columns[3:]])
    return pd.DataFrame(final, columns=columns), per_epoch, skipped


def _finite(value) -> bool:
    return value is not None and math.isfinite(value)


def _ranks(x: np.ndarray) -> np.ndarray:
    """Mid-ranks (ties share their average rank, 1-based), as scipy.stats.rankdata gives."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2)[inverse]


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho: Pearson's correlation of the mid-ranks, as scipy.stats.spearmanr has it
    (a test checks one against the other), without its checks: the bootstrap calls it 10^4
    times."""
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    a, b = _ranks(x), _ranks(y)
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / math.sqrt((a @ a) * (b @ b)))


NAMES = ("rho", "mad", "bias", "matched", "ceiling", "mad_matched", "mad_ceiling")


def measures(live: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The numbers of one set of compared points, in NAMES' order (`live`: n scores; `table`:
    n x seeds): rho and MAD of live against the seeds' mean and the bias (live - table); with
    two seeds or more the matched rho (live against the mean of all seeds but one, each left out
    in turn, averaged), the ceiling (the left-out seed against the same mean) and their MADs."""
    mean = table.mean(axis=1)
    out = [_rho(live, mean), np.mean(np.abs(live - mean)), np.mean(live - mean)]
    if table.shape[1] < 2:
        return np.array(out + [math.nan] * 4)
    each = []
    for i in range(table.shape[1]):
        others = np.delete(table, i, axis=1).mean(axis=1)
        left = table[:, i]
        each.append([_rho(live, others), _rho(left, others),
                     np.mean(np.abs(live - others)), np.mean(np.abs(left - others))])  # fmt: skip
    return np.array(out + list(np.mean(each, axis=0)))


def _arrays(frame: pd.DataFrame, seeds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return (frame["live"].to_numpy(float),
            frame[[f"seed_{s}" for s in seeds]].to_numpy(float))  # fmt: skip


def _with_gaps(live: np.ndarray, table: np.ndarray) -> np.ndarray:
    """NAMES' measures, then matched - ceiling for rho and for the MAD (GAPS)."""
    m = measures(live, table)
    return np.concatenate([m, [m[3] - m[4], m[5] - m[6]]])


GAPS = ("gap", "mad_gap")


def cluster_intervals(frame: pd.DataFrame, seeds: list[int], seed: int = 0) -> dict:
    """Percentile bootstrap intervals (SciPy) of every measure and gap, by name, over the
    frame's searches (tuner, seed): each resample draws the searches with replacement and pools
    their trials. NaN with fewer than two searches."""
    groups = [_arrays(g, seeds) for _, g in frame.groupby(["tuner", "seed"], sort=True)]
    names = NAMES + GAPS
    if len(groups) < 2:
        return {n: (math.nan, math.nan) for n in names}

    def pooled(idx):
        return _with_gaps(np.concatenate([groups[int(i)][0] for i in idx]),
                          np.concatenate([groups[int(i)][1] for i in idx]))  # fmt: skip

    found = stats.bootstrap((np.arange(len(groups)),), pooled, vectorized=False,
                            n_resamples=RESAMPLES, confidence_level=CONFIDENCE,
                            method="percentile", rng=np.random.default_rng(seed))  # fmt: skip
    # SciPy's percentile interval, leaving out the resamples where a measure is undefined (one
    # search drawn over and over, its scores all equal: no rank correlation)
    tail = 100 * (1 - CONFIDENCE) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a measure undefined in every resample
        low, high = np.nanpercentile(found.bootstrap_distribution, [tail, 100 - tail], axis=-1)
    return {n: (float(lo), float(hi)) for n, lo, hi in zip(names, low, high, strict=True)}


def fidelity(trials: pd.DataFrame, source, space: SearchSpace, objective: str) -> Fidelity | None:
    """The trial-level fidelity of `source`'s curves (GridCurves: the table at the nearest grid
    point) against the live `trials` (ledger rows with a `search_seed` column); None without
    three comparable trials."""
    final, epochs, skipped = points(trials, source, space, objective)
    if len(final) < 3:
        return None
    seeds = source.seeds
    m = dict(zip(NAMES, measures(*_arrays(final, seeds)), strict=True))
    per_epoch = []
    for epoch, at in epochs.groupby("epoch", sort=True):
        e = dict(zip(NAMES, measures(*_arrays(at, seeds)), strict=True))
        per_epoch.append({"epoch": int(epoch), "n": len(at),
                          **{n: e[n] for n in NAMES if n != "bias"}})  # fmt: skip
    searches = int(final.groupby(["tuner", "seed"]).ngroups)
    ci = cluster_intervals(final, seeds)
    several = len(seeds) >= 2
    return Fidelity(
        trials=len(final), searches=searches, seeds=len(seeds),
        rho=m["rho"], rho_ci=ci["rho"],
        matched=m["matched"] if several else None,
        ceiling=m["ceiling"] if several else None,
        gap_ci=ci["gap"] if several else None,
        mad=m["mad"], mad_ceiling=m["mad_ceiling"] if several else None,
        mad_matched=m["mad_matched"] if several else None,
        bias=m["bias"], bias_ci=ci["bias"],
        mad_gap_ci=ci["mad_gap"] if several else None,
        pairs=final.assign(table=final[[f"seed_{s}" for s in seeds]].mean(axis=1)),
        per_epoch=pd.DataFrame(per_epoch),
        skipped={k: v for k, v in skipped.items() if v},
    )  # fmt: skip


def ci_text(pair) -> str:
    low, high = pair
    return "undefined" if math.isnan(low) else f"[{low:.2f}, {high:.2f}]"


def describe(fid: Fidelity | None, objective: str) -> str:
    """The trial-level comparison in words: what was compared, the fidelity and the ceiling."""
    if fid is None:
        return (
            "Fewer than three live trials could be compared with the table (live trials record "
            "their curve from this version on), so the table is not measured trial by trial."
        )
    skipped = "; ".join(f"{n} {why}" for why, n in fid.skipped.items())
    said = (
        f"Every live trial ({fid.trials} trials of {fid.searches} live searches"
        + (f"; not compared: {skipped}" if skipped else "")
        + f") snapped to its grid point, its best {objective} against the table's there over "
        f"the same epochs (the mean over its {counted(fid.seeds, 'training seed')}): Spearman's "
        f"rho {fid.rho:.2f} ({CONFIDENCE:.0%} bootstrap interval over the live searches "
        f"{ci_text(fid.rho_ci)}), mean absolute difference {fid.mad:.3f}, live minus table "
        f"on average {fid.bias:+.3f} (interval {ci_text(fid.bias_ci)})."
    )
    if fid.ceiling is None:
        return said + (
            " With one training seed the table has no noise ceiling: how much of the gap is "
            "training noise cannot be told (tabulate.seeds 2 or more)."
        )
    return said + (
        f" The noise ceiling, one of the table's training seeds against the mean of the others "
        f"at the same points: rho {fid.ceiling:.2f}, mean absolute difference "
        f"{fid.mad_ceiling:.3f}. The live trials against the same others: rho "
        f"{fid.matched:.2f}, mean absolute difference {fid.mad_matched:.3f}; live minus ceiling "
        f"{fid.matched - fid.ceiling:+.2f} (interval {ci_text(fid.gap_ci)}) in rho and "
        f"{fid.mad_matched - fid.mad_ceiling:+.3f} (interval {ci_text(fid.mad_gap_ci)}) in "
        "distance. A live trial that were only one more training draw would fall at the "
        "ceiling; what falls below it is the grid's (a suggestion snapped to its nearest "
        "point) or another difference between live training and the table's."
    )


def epoch_table(fid: Fidelity) -> pd.DataFrame:
    """Per epoch: how many live epochs, their rho and mean absolute difference against the
    table's mean and against its other seeds (as the ceiling is), and the ceiling's."""
    per = fid.per_epoch

    def shown(values, digits):
        return [("" if math.isnan(v) else f"{v:.{digits}f}") for v in values]

    return pd.DataFrame({
        "epoch": per["epoch"].astype(str), "live epochs": per["n"].astype(str),
        "rho": shown(per["rho"], 2), "rho, other seeds": shown(per["matched"], 2),
        "ceiling rho": shown(per["ceiling"], 2), "abs. difference": shown(per["mad"], 3),
        "to other seeds": shown(per["mad_matched"], 3),
        "ceiling difference": shown(per["mad_ceiling"], 3),
    })  # fmt: skip


def between_grid_values(table: Table, space: SearchSpace, grid: dict, objective: str,
                        trials: pd.DataFrame, settings: dict) -> dict | None:  # fmt: skip
    """The curve model, measured: its leave-one-grid-value-out scores and its trial-level
    fidelity against the live `trials` at their own values (reporting/fidelity.py); `settings`:
    a replay's best.json settings (its epochs and data seed). None for a space with no range."""
    if all(d.choices is not None for d in space):
        return None
    epochs, seed = settings["budget"]["max_epochs"], settings["data_seed"]
    held = validate(table, space, grid, epochs, objective, seed)
    model = CurveModel(table, space, grid, epochs, seed)
    return {
        "held_out": held,
        "scores": held_out_scores(held, grid),
        "fidelity": fidelity(trials, SurrogateCurves(model, objective), space, objective),
    }


def between_text(found: dict | None, model: str, grid: Fidelity | None, objective: str) -> str:
    """The curve model in words: its held-out scores, and its fidelity beside the grid's."""
    if found is None:
        return (
            "Every dimension of the space is categorical: the grid is the space, no curve model."
        )
    scores, fid = found["scores"], found["fidelity"]

    def held(s):
        if s["rho"] is None:
            return f"too few to score ({s['n']})"
        return f"Spearman's rho {s['rho']:.2f} and R² {s['r2']:.2f} over {s['n']}"

    said = (
        "Between grid values: a curve model of the table (scikit-learn's extremely randomised "
        "trees, one per training seed, each predicting whole curves; `replay.model: surrogate` "
        f"replays with it, this replay used `{model}`). With one grid value left out at a "
        f"time it predicts the left-out configurations' best {objective}: "
        f"{held(scores['all'])} (configuration, seed) pairs; over the inner values alone "
        f"{held(scores['inner'])} (an end value is an extrapolation, which trees cannot make)."
    )
    if fid is not None and grid is not None:
        said += (
            f" Against the live trials at their own values: rho {fid.rho:.2f}, mean absolute "
            f"difference {fid.mad:.3f}; the grid's nearest point: rho {grid.rho:.2f}, "
            f"{grid.mad:.3f}."
        )
    return said
