"""Statistics over repetitions: confidence intervals of the mean, ranks, the Friedman test,
exact paired Wilcoxon signed-rank tests with Holm correction and their effect sizes, the smallest
p-value a design can reach after its correction, Bayesian signed-rank tests with a region of
practical equivalence, and the repetitions a paired test would need for 80 % power. Test
statistics come from SciPy, the Holm correction and power from statsmodels, the Bayesian test
from baycomp; the signed-rank test's exact null distribution with tied ranks is counted here
(SciPy's own "exact" method assumes untied ranks), and tests/test_statistics.py checks it against
SciPy's permutation test.

A results table has one row per repetition and one column per tuner (a paired design: repetition k
of every tuner shares its seed); `higher_is_better` says which way the measure points."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05
CONFIDENCE = 0.95
INTERVAL = "95 % Student's t interval of the mean, cut to the measure's range"


def interval(values, confidence: float = CONFIDENCE, bounds=(-math.inf, math.inf)) -> dict:
    """Mean, sample standard deviation and Student's t confidence interval of the mean, cut to
    `bounds`, the measure's range (an accuracy's [0, 1], a loss's or a time's [0, inf)).

    Student's t rather than a percentile bootstrap: with 3 repetitions the bootstrap interval is
    about the sample's range and covers the mean about 75 % of the time, not 95 %; the t
    interval's coverage holds for normal values at any N >= 2 (tests/test_statistics.py checks
    it by simulation) and cutting it to the measure's range loses none of it, since the mean lies
    in that range. It is wide at small N, as it should be. N = 1 has no spread: no interval."""
    x = np.asarray(values, dtype=float)
    n, mean = len(x), float(np.mean(x)) if len(x) else math.nan
    if n < 2 or not np.all(np.isfinite(x)):
        return {"n": n, "mean": mean, "std": math.nan, "low": math.nan, "high": math.nan}
    if np.all(x == x[0]):  # no spread (NumPy's std of equal floats can be 1e-17, not 0)
        return {"n": n, "mean": float(x[0]), "std": 0.0, "low": float(x[0]), "high": float(x[0])}
    std = float(np.std(x, ddof=1))
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * std / math.sqrt(n)
    low, high = max(mean - half, bounds[0]), min(mean + half, bounds[1])
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


ZERO_METHOD = (
    "zero differences are dropped before ranking (Wilcoxon's own rule, SciPy's zero_method "
    "'wilcox'); tied absolute differences share their average rank"
)


def signed_rank_null(ranks) -> tuple[np.ndarray, np.ndarray]:
    """The exact null distribution of the signed-rank sum T+ over `ranks` (average ranks of the
    non-zero differences; ties give halves): every one of the 2^n sign patterns equally likely,
    counted by convolution on doubled ranks, so ties cost nothing. Returns (T+ values, their
    probabilities)."""
    doubled = np.rint(2 * np.asarray(ranks, dtype=float)).astype(int)
    probability = np.zeros(int(doubled.sum()) + 1)
    probability[0] = 1.0
    for r in doubled:  # each rank's sign: + (adds r) or - (adds nothing), half each
        shifted = np.zeros_like(probability)
        shifted[r:] = probability[: len(probability) - r]
        probability = 0.5 * (probability + shifted)
    return np.arange(len(probability)) / 2, probability


def wilcoxon_p(a, b) -> float:
    """Two-sided exact p of the Wilcoxon signed-rank test on paired values, for any N, with zeros
    and ties (ZERO_METHOD): the probability, under random signs, of a signed-rank sum at least as
    far from its mean as the observed one. 1.0 when no pair differs or one does (nothing to
    test)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    d = d[d != 0]
    if len(d) < 2:
        return 1.0
    ranks = stats.rankdata(np.abs(d))
    values, probability = signed_rank_null(ranks)
    centre, observed = ranks.sum() / 2, ranks[d > 0].sum()
    far = np.abs(values - centre) >= abs(observed - centre) - 1e-9
    return float(min(1.0, probability[far].sum()))


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
    """The smallest two-sided p-value the exact Wilcoxon signed-rank test can give with n pairs
    (every difference on one side): 2 / 2^n, so with n <= 5 it cannot reach 0.05 at all."""
    if n < 2:
        return 1.0
    return wilcoxon_p(np.arange(1.0, n + 1), np.zeros(n))


def on_grid(curve: pd.DataFrame, x: str, grid, before: float = math.nan) -> np.ndarray:
    """A best-so-far step curve (figures.best_so_far) read at each grid point: the best found by
    then; `before` (NaN unless given) where no scored trial has ended yet."""
    ends = curve[x].to_numpy(dtype=float)
    index = np.searchsorted(ends, np.asarray(grid, dtype=float), side="right") - 1
    values = curve["best"].to_numpy(dtype=float)
    found = np.where(index >= 0, values[np.clip(index, 0, None)], np.nan)
    return np.where(np.isnan(found), before, found)


def anytime_band(curves: list[pd.DataFrame], x: str, grid) -> pd.DataFrame:
    """Median and interquartile band over repetitions of best-so-far curves on a common grid."""
    values = np.vstack([on_grid(c, x, grid) for c in curves])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a grid point no repetition reached
        q25, median, q75 = np.nanpercentile(values, [25, 50, 75], axis=0)
    return pd.DataFrame({x: grid, "median": median, "q25": q25, "q75": q75})


def anytime_area(curve: pd.DataFrame, x: str, grid, before: float) -> float:
    """The area under a best-so-far curve over the grid, as its mean height, so searches on the
    same grid compare directly. Grid points before the search's first scored trial count as
    `before` (objective.nothing_yet: the measure's worst value), the rule the ranks at each
    budget fraction follow too: a search is not credited for epochs in which it had nothing."""
    return float(np.mean(on_grid(curve, x, grid, before)))


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


# baycomp's prior: the weight of a pseudo-observation at zero difference. Its default, then a
# prior that is nearly none and one four times as strong: how far an answer moves with the prior
# (baycomp refuses a weight of exactly 0).
BAYES_PRIOR = 0.5
BAYES_OTHER_PRIORS = (0.01, 2.0)


def bayes_signed_rank(
    a, b, rope: float, higher_is_better: bool, seed: int = 0, prior: float = BAYES_PRIOR
) -> dict | None:
    """baycomp's Bayesian signed-rank test (Benavoli et al. 2017) on paired a and b, with a
    region of practical equivalence `rope` in the measure's units: the posterior probabilities
    that a is better by more than the rope, that the two are within it, and that b is better.
    `prior`: the weight of baycomp's pseudo-observation at a zero difference (its default
    BAYES_PRIOR; near 0: the differences alone). None below BAYES_MIN_N pairs."""
    from baycomp import SignedRankTest

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) < BAYES_MIN_N:
        return None
    if not higher_is_better:  # baycomp's left side is the larger x
        x, y = -x, -y
    if not np.any(x - y):  # every pair tied: all the posterior mass inside the rope
        return {"p_a": 0.0, "p_rope": 1.0, "p_b": 0.0} if rope > 0 else None
    found = SignedRankTest.probs(
        x, y, rope, prior=prior, nsamples=BAYES_SAMPLES, random_state=seed
    )
    (left, inside, right) = found if rope > 0 else (found[0], 0.0, found[1])  # no rope: 2 sides
    return {"p_a": float(left), "p_rope": float(inside), "p_b": float(right)}


# The fewest non-zero paired differences a power estimate is made from: from (0, 0, 0.052) the
# standardised effect is one number's, and any estimate from it is noise.
POWER_MIN_DIFFERING = 3


def repetitions_for_power(differences, alpha: float, power: float = 0.8) -> int | None:
    """An estimate of the repetitions a paired test needs for `power` at the observed effect:
    statsmodels' power of a paired t-test at the standardised mean difference of `differences`
    (a Wilcoxon test needs about as many; at least repetitions_needed in any case). None where
    fewer than POWER_MIN_DIFFERING pairs differ, or the differences have no spread or no mean
    (nothing to estimate from)."""
    from statsmodels.stats.power import TTestPower
    from statsmodels.tools.sm_exceptions import ConvergenceWarning  # its import adds a filter

    d = np.asarray(differences, dtype=float)
    if np.count_nonzero(d) < POWER_MIN_DIFFERING or not np.std(d) or not np.mean(d):
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
