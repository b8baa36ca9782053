"""Statistics over repetitions: confidence intervals, ranks, the Friedman test, pairwise Wilcoxon
signed-rank tests with Holm correction and their effect sizes, and the smallest p-value a design
can reach. Test statistics come from SciPy, the Holm correction from statsmodels.

A results table has one row per repetition and one column per tuner (a paired design: repetition k
of every tuner shares its seed); `higher_is_better` says which way the measure points."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05


def interval(values, confidence: float = 0.95) -> dict:
    """Mean, sample standard deviation and Student-t confidence interval of the mean.

    t rather than a bootstrap: with the few repetitions a tuning study affords, a bootstrap's
    resamples repeat the same handful of values. N = 1 has no spread: its interval is NaN."""
    x = np.asarray(values, dtype=float)
    n, mean = len(x), float(np.mean(x)) if len(x) else math.nan
    if n < 2:
        return {"n": n, "mean": mean, "std": math.nan, "low": math.nan, "high": math.nan}
    if np.all(x == x[0]):  # no spread (NumPy's std of equal floats can be 1e-17, not 0)
        return {"n": n, "mean": float(x[0]), "std": 0.0, "low": float(x[0]), "high": float(x[0])}
    std = float(np.std(x, ddof=1))
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=stats.sem(x))
    return {"n": n, "mean": mean, "std": std, "low": float(low), "high": float(high)}


def ranks(table: pd.DataFrame, higher_is_better: bool) -> pd.DataFrame:
    """Each tuner's rank within each repetition (1 is best; ties share their average rank)."""
    signed = -table if higher_is_better else table
    ranked = stats.rankdata(signed.to_numpy(dtype=float), axis=1)
    return pd.DataFrame(ranked, index=table.index, columns=table.columns)


def friedman(table: pd.DataFrame) -> dict | None:
    """SciPy's Friedman test across tuners; None where it does not apply (fewer than three tuners
    or two repetitions)."""
    if table.shape[1] < 3 or table.shape[0] < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-tied blocks: SciPy returns NaN
        result = stats.friedmanchisquare(*(table[c].to_numpy(dtype=float) for c in table))
    p = float(result.pvalue)
    return {"statistic": float(result.statistic), "p": 1.0 if math.isnan(p) else p}


def wilcoxon_p(a, b) -> float:
    """Two-sided p of SciPy's Wilcoxon signed-rank test on paired values; 1.0 when every pair is
    tied (no evidence of a difference) or there is a single pair."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(d) < 2 or not np.any(d):
        return 1.0
    return float(stats.wilcoxon(a, b).pvalue)


def rank_biserial(a, b) -> float:
    """Matched-pairs rank-biserial correlation of a - b, in [-1, 1]: the share of the signed-rank
    sum on a's side minus that on b's (ties drop out, as in the Wilcoxon test)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    d = d[d != 0]
    if not len(d):
        return 0.0
    r = stats.rankdata(np.abs(d))
    return float((r[d > 0].sum() - r[d < 0].sum()) / r.sum())


def pairwise(table: pd.DataFrame, higher_is_better: bool) -> pd.DataFrame:
    """Every pair of tuners: raw and Holm-adjusted Wilcoxon p, and the effect size oriented so
    that a positive value favours the first tuner."""
    from statsmodels.stats.multitest import multipletests

    tuners = list(table.columns)
    rows = []
    for i, a in enumerate(tuners):
        for b in tuners[i + 1 :]:
            effect = rank_biserial(table[a], table[b])
            rows.append(
                {
                    "a": a,
                    "b": b,
                    "n": len(table),
                    "p": wilcoxon_p(table[a], table[b]),
                    "effect": effect if higher_is_better else -effect,
                }
            )
    frame = pd.DataFrame(rows, columns=["a", "b", "n", "p", "effect"])
    if frame.empty:
        return frame.assign(p_holm=[])
    frame["p_holm"] = multipletests(frame["p"], method="holm")[1]
    return frame


def smallest_p(n: int) -> float:
    """The smallest two-sided p-value SciPy's exact Wilcoxon signed-rank test can give with n
    pairs (every difference on one side): with n <= 5 it cannot reach 0.05 at all."""
    if n < 1:
        return 1.0
    return float(stats.wilcoxon(np.arange(1.0, n + 1), method="exact").pvalue)


def on_grid(curve: pd.DataFrame, x: str, grid) -> np.ndarray:
    """A best-so-far step curve (figures.best_so_far) read at each grid point: the best found by
    then, NaN before its first scored trial ends."""
    ends = curve[x].to_numpy(dtype=float)
    index = np.searchsorted(ends, np.asarray(grid, dtype=float), side="right") - 1
    values = curve["best"].to_numpy(dtype=float)
    return np.where(index >= 0, values[np.clip(index, 0, None)], np.nan)


def anytime_band(curves: list[pd.DataFrame], x: str, grid) -> pd.DataFrame:
    """Median and interquartile band over repetitions of best-so-far curves on a common grid."""
    values = np.vstack([on_grid(c, x, grid) for c in curves])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a grid point no repetition reached
        q25, median, q75 = np.nanpercentile(values, [25, 50, 75], axis=0)
    return pd.DataFrame({x: grid, "median": median, "q25": q25, "q75": q75})


def anytime_area(curve: pd.DataFrame, x: str, grid) -> float:
    """The area under a best-so-far curve over the grid, as its mean height (grid points before
    the first scored trial are left out), so searches on the same grid compare directly."""
    values = on_grid(curve, x, grid)
    return float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
