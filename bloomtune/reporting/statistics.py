"""Statistics over repetitions: bootstrap confidence intervals, ranks, the Friedman test, paired
Wilcoxon signed-rank tests with Holm correction and their effect sizes, the smallest p-value a
design can reach after its correction, Bayesian signed-rank tests with a region of practical
equivalence, and the repetitions a paired test would need for 80 % power. Test statistics come
from SciPy, the Holm correction and power from statsmodels, the Bayesian test from baycomp.

A results table has one row per repetition and one column per tuner (a paired design: repetition k
of every tuner shares its seed); `higher_is_better` says which way the measure points."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 9_999


def interval(values, confidence: float = 0.95, seed: int = 0) -> dict:
    """Mean, sample standard deviation and a percentile bootstrap confidence interval of the mean
    (SciPy, seeded: the same values give the same interval).

    A percentile bootstrap rather than Student's t: its limits are means of resampled values,
    so they stay inside the values' range and thus inside the measure's (an accuracy in [0, 1],
    a loss or a time at least 0), where a t interval over 3 repetitions reaches past them (a
    top-5 accuracy of 0.9757 +- 0.0598). With few repetitions it is narrow: it shows the spread
    the repetitions had, not more. N = 1 has no spread: its interval is NaN."""
    x = np.asarray(values, dtype=float)
    n, mean = len(x), float(np.mean(x)) if len(x) else math.nan
    if n < 2 or not np.all(np.isfinite(x)):
        return {"n": n, "mean": mean, "std": math.nan, "low": math.nan, "high": math.nan}
    if np.all(x == x[0]):  # no spread (NumPy's std of equal floats can be 1e-17, not 0)
        return {"n": n, "mean": float(x[0]), "std": 0.0, "low": float(x[0]), "high": float(x[0])}
    std = float(np.std(x, ddof=1))
    found = stats.bootstrap(
        (x,), np.mean, confidence_level=confidence, n_resamples=BOOTSTRAP_RESAMPLES,
        method="percentile", random_state=seed,
    )  # fmt: skip
    low, high = found.confidence_interval
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


def all_pairs(tuners: list[str]) -> list[tuple[str, str]]:
    return [(a, b) for i, a in enumerate(tuners) for b in tuners[i + 1 :]]


def pairwise(table: pd.DataFrame, higher_is_better: bool, pairs=None) -> pd.DataFrame:
    """The given pairs of tuners (default: every pair): raw and Holm-adjusted Wilcoxon p (Holm
    over these pairs), and the effect size oriented so that a positive value favours the first
    tuner."""
    from statsmodels.stats.multitest import multipletests

    rows = []
    for a, b in all_pairs(list(table.columns)) if pairs is None else pairs:
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


def smallest_adjusted_p(n: int, comparisons: int) -> float:
    """The smallest Holm-adjusted p any of `comparisons` Wilcoxon tests can reach with n pairs:
    Holm's first step multiplies the smallest raw p by the number of comparisons."""
    return min(1.0, max(1, comparisons) * smallest_p(n))


def repetitions_needed(comparisons: int, alpha: float = ALPHA) -> int:
    """The fewest repetitions with which one of `comparisons` Holm-corrected paired Wilcoxon
    tests can reach p < alpha (5 tuners, all 10 pairs: 9; each of 4 against a control: 8)."""
    return next(n for n in range(1, 1000) if smallest_adjusted_p(n, comparisons) < alpha)


BAYES_SAMPLES = 20_000  # posterior samples of each Bayesian test (seeded: same data, same numbers)
BAYES_MIN_N = 2  # with one pair the posterior is mostly its prior: not reported


def bayes_signed_rank(a, b, rope: float, higher_is_better: bool, seed: int = 0) -> dict | None:
    """baycomp's Bayesian signed-rank test (Benavoli et al. 2017) on paired a and b, with a
    region of practical equivalence `rope` in the measure's units: the posterior probabilities
    that a is better by more than the rope, that the two are within it, and that b is better.
    None below BAYES_MIN_N pairs."""
    from baycomp import SignedRankTest

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) < BAYES_MIN_N:
        return None
    if not higher_is_better:  # baycomp's left side is the larger x
        x, y = -x, -y
    if not np.any(x - y):  # every pair tied: all the posterior mass inside the rope
        return {"p_a": 0.0, "p_rope": 1.0, "p_b": 0.0} if rope > 0 else None
    found = SignedRankTest.probs(x, y, rope, nsamples=BAYES_SAMPLES, random_state=seed)
    (left, inside, right) = found if rope > 0 else (found[0], 0.0, found[1])  # no rope: 2 sides
    return {"p_a": float(left), "p_rope": float(inside), "p_b": float(right)}


def repetitions_for_power(differences, alpha: float, power: float = 0.8) -> int | None:
    """An estimate of the repetitions a paired test needs for `power` at the observed effect:
    statsmodels' power of a paired t-test at the standardised mean difference of `differences`
    (a Wilcoxon test needs about as many; at least repetitions_needed in any case). None where
    the differences have no spread or no mean (nothing to estimate from)."""
    from statsmodels.stats.power import TTestPower
    from statsmodels.tools.sm_exceptions import ConvergenceWarning  # its import adds a filter

    d = np.asarray(differences, dtype=float)
    if len(d) < 2 or not np.std(d) or not np.mean(d):
        return None
    effect = abs(float(np.mean(d)) / float(np.std(d, ddof=1)))
    test = TTestPower()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # where its root finder gives up
        n = test.solve_power(effect_size=effect, alpha=alpha, power=power)
    if math.isfinite(n):
        return max(2, int(math.ceil(n)))
    # Very large effects: the solver starts above the answer; count up instead.
    return next((k for k in range(2, 1001) if test.power(effect, nobs=k, alpha=alpha) >= power),
                None)  # fmt: skip
