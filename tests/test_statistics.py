"""Statistics over repetitions match SciPy's own functions on fixed inputs, ties and N = 1, 2."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from bloomtune.reporting import statistics as st

# Five repetitions (rows) of three tuners (columns); "b" ties "c" in repetition 3.
TABLE = pd.DataFrame(
    {
        "a": [0.81, 0.78, 0.84, 0.80, 0.83],
        "b": [0.70, 0.74, 0.69, 0.75, 0.72],
        "c": [0.71, 0.69, 0.69, 0.73, 0.70],
    }
)


def test_interval_is_students_t_cut_to_the_measures_range():
    values = TABLE["a"]
    got = st.interval(values)
    t = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert got["mean"] == pytest.approx(values.mean())
    assert got["std"] == pytest.approx(values.std(ddof=1))
    assert (got["low"], got["high"]) == pytest.approx(t)
    # A top-5 accuracy near 1 over 3 repetitions: Student's t reaches past 1 and is cut there.
    top5 = [0.93, 0.998, 1.0]
    t_high = stats.t.interval(0.95, 2, loc=np.mean(top5), scale=stats.sem(top5))[1]
    assert t_high > 1 and st.interval(top5, bounds=(0.0, 1.0))["high"] == 1.0
    assert st.interval([0.02, 0.5, 0.9], bounds=(0.0, math.inf))["low"] == 0.0  # a loss >= 0


@pytest.mark.parametrize("n", [3, 5, 10])
def test_the_95_percent_interval_covers_the_mean_95_percent_of_the_time(n):
    # 1,000 samples of n normal values: the interval holds the true mean in 95 % of them
    # (binomial sd 0.7 %). A percentile bootstrap covers about 75 % at n = 3.
    rng = np.random.default_rng(n)
    covered = 0
    for _ in range(1000):
        found = st.interval(rng.normal(0.5, 0.1, n), bounds=(0.0, 1.0))
        covered += found["low"] <= 0.5 <= found["high"]
    assert 0.93 <= covered / 1000 <= 0.97


def test_interval_with_one_or_two_values_or_no_spread():
    one = st.interval([0.5])
    assert one["mean"] == 0.5 and math.isnan(one["std"]) and math.isnan(one["low"])
    two = st.interval([0.5, 0.7], bounds=(0.0, 1.0))
    assert two["low"] == 0.0 and two["high"] == 1.0  # t with 1 degree of freedom: 12.7 sd
    same = st.interval([0.4, 0.4, 0.4])
    assert same["low"] == same["high"] == pytest.approx(0.4) and same["std"] == 0


def test_ranks_put_the_best_first_and_share_ties():
    ranked = st.ranks(TABLE, higher_is_better=True)
    assert ranked["a"].tolist() == [1, 1, 1, 1, 1]
    assert ranked.loc[2, "b"] == ranked.loc[2, "c"] == 2.5  # the tie shares ranks 2 and 3
    assert ranked.to_numpy().tolist() == (-TABLE).rank(axis=1).to_numpy().tolist()
    losses = st.ranks(TABLE, higher_is_better=False)
    assert losses["a"].tolist() == [3, 3, 3, 3, 3]


def test_friedman_is_scipys_and_needs_three_tuners_and_two_repetitions():
    got = st.friedman(TABLE)
    expected = stats.friedmanchisquare(TABLE["a"], TABLE["b"], TABLE["c"])
    assert got == pytest.approx({"statistic": expected.statistic, "p": expected.pvalue})
    assert st.friedman(TABLE[["a", "b"]]) is None
    assert st.friedman(TABLE.head(1)) is None
    equal = pd.DataFrame({"a": [0.5, 0.6], "b": [0.5, 0.6], "c": [0.5, 0.6]})
    assert st.friedman(equal)["p"] == 1.0  # every block tied: no evidence


def _exact_by_permutation(d) -> float:
    """SciPy's permutation test of the signed-rank statistic, every sign pattern enumerated."""
    method = stats.PermutationMethod(n_resamples=np.inf)
    return float(stats.wilcoxon(d, method=method).pvalue)


def test_pairwise_wilcoxon_with_holm_matches_an_enumeration_and_statsmodels():
    pairs = st.pairwise(TABLE, higher_is_better=True).set_index(["a", "b"])
    raw = [_exact_by_permutation(TABLE[x] - TABLE[y]) for x, y in [("a", "b"), ("a", "c"),
                                                                     ("b", "c")]]  # fmt: skip
    assert pairs["p"].tolist() == pytest.approx(raw)
    assert pairs["p_holm"].tolist() == pytest.approx(multipletests(raw, method="holm")[1])
    # a beats b in every repetition: the largest effect. b - c is -0.01, 0.05, 0 (dropped), 0.02,
    # 0.02: signed ranks -1, 4, 2.5, 2.5 of 10
    assert pairs.loc[("a", "b"), "effect"] == 1.0
    assert pairs.loc[("b", "c"), "effect"] == pytest.approx(0.8)
    flipped = st.pairwise(TABLE, higher_is_better=False).set_index(["a", "b"])
    assert flipped.loc[("a", "b"), "effect"] == -1.0


@pytest.mark.parametrize(
    ("differences", "exact"),
    [
        # By hand. Two opposite pairs of equal size among 20: ranks 1.5 and 1.5, T+ = 1.5 is the
        # centre of {0, 1.5, 1.5, 3}: p = 1 (SciPy's default gave 0.655, a normal approximation).
        ([0.1, -0.1] + [0.0] * 18, 1.0),
        ([0.1] + [0.0] * 19, 1.0),  # one pair differs: nothing to test (SciPy's default: 0.317)
        ([0.1] * 5 + [0.0] * 15, 0.0625),  # 5 on one side: 2 / 2^5 (SciPy's default: 0.025)
        # |d| = 1, 1, 2 rank 1.5, 1.5, 3; T+ = 1.5 + 3 = 4.5, 1.5 from the centre 3. Of the 8
        # sign patterns, T+ in {0, 1.5, 1.5, 4.5, 4.5, 6} is as far: 6 of 8 -> 0.75.
        ([1.0, -1.0, 2.0], 0.75),
    ],
)
def test_the_signed_rank_p_is_exact_with_zeros_and_ties(differences, exact):
    d = np.asarray(differences)
    assert st.wilcoxon_p(d, np.zeros(len(d))) == pytest.approx(exact)
    if np.count_nonzero(d) > 1:  # zeros drop out: enumerate the signs of the others only
        assert st.wilcoxon_p(d, np.zeros(len(d))) == pytest.approx(
            _exact_by_permutation(d[d != 0])
        )


def test_the_exact_p_agrees_with_a_full_enumeration_on_random_tied_differences():
    rng = np.random.default_rng(3)
    for _ in range(20):
        d = rng.choice([-2.0, -1.0, 0.0, 0.0, 1.0, 1.0, 2.0, 3.0], size=int(rng.integers(2, 12)))
        assert st.wilcoxon_p(d, np.zeros(len(d))) == pytest.approx(_exact_by_permutation(d))
    # Past what an enumeration can do (2^40 sign patterns): still exact, and symmetric.
    d = rng.normal(0, 1, 40).round(1)
    assert st.wilcoxon_p(d, np.zeros(40)) == pytest.approx(st.wilcoxon_p(-d, np.zeros(40)))


def test_a_fixed_table_with_zeros_and_ties_matches_independent_implementations(tmp_path):
    """Friedman, the Wilcoxon p's, Holm and the critical-difference bars on one table, each
    against another implementation: the Friedman statistic by its textbook formula with the tie
    correction, the p's by SciPy's permutation enumeration, Holm by hand, the bars against
    scikit-posthocs' own grouping of the p's."""
    from scikit_posthocs import sign_array

    from bloomtune.reporting.figures import critical_difference

    table = pd.DataFrame({
        "a": [0.80, 0.80, 0.75, 0.90, 0.85, 0.70, 0.82, 0.81],
        "b": [0.80, 0.78, 0.75, 0.85, 0.80, 0.72, 0.80, 0.83],  # ties a in rows 0 and 2
        "c": [0.60, 0.65, 0.62, 0.70, 0.61, 0.60, 0.64, 0.66],
    })  # fmt: skip
    ranked = st.ranks(table, True).to_numpy()
    n, k = ranked.shape
    chi2 = 12 / (n * k * (k + 1)) * (ranked.sum(0) ** 2).sum() - 3 * n * (k + 1)
    ties = sum((c**3 - c).sum() for c in (np.unique(r, return_counts=True)[1] for r in ranked))
    chi2 /= 1 - ties / (n * (k**3 - k))
    got = st.friedman(table)
    assert got["statistic"] == pytest.approx(chi2)
    assert got["p"] == pytest.approx(stats.chi2.sf(chi2, k - 1))
    pairs = st.pairwise(table, True).set_index(["a", "b"])
    raw = {(x, y): _exact_by_permutation(table[x] - table[y]) for x, y in pairs.index}
    assert pairs["p"].to_dict() == pytest.approx(raw)
    # Holm by hand: the i-th smallest p times (m - i), running maximum, capped at 1.
    order = sorted(raw, key=raw.get)
    adjusted, running = {}, 0.0
    for i, key in enumerate(order):
        running = max(running, min(1.0, (len(order) - i) * raw[key]))
        adjusted[key] = running
    assert pairs["p_holm"].to_dict() == pytest.approx(adjusted)
    # c loses to a and b in all 8 repetitions: separated from both; a - b has two zeros, tied
    # differences (0.02 four times, 0.05 twice) and both signs: not separated. One bar: a, b.
    p = pd.DataFrame(1.0, index=table.columns, columns=table.columns)
    for (x, y), value in adjusted.items():
        p.loc[x, y] = p.loc[y, x] = value
    signs = sign_array(p, alpha=st.ALPHA)
    assert (signs[0, 1], signs[0, 2], signs[1, 2]) == (0, 1, 1)  # a, b, c
    drawn = critical_difference(st.ranks(table, True).mean(), p, tmp_path / "cd.png")
    assert len(drawn["crossbars"]) == 1


def test_pairwise_with_equal_results_or_one_repetition_finds_nothing():
    equal = pd.DataFrame({"a": [0.5, 0.6, 0.7], "b": [0.5, 0.6, 0.7]})
    (row,) = st.pairwise(equal, higher_is_better=True).itertuples()
    assert (row.p, row.p_holm, row.effect) == (1.0, 1.0, 0.0)
    (row,) = st.pairwise(TABLE.head(1)[["a", "b"]], higher_is_better=True).itertuples()
    assert row.p == 1.0 and row.effect == 1.0


def test_rank_biserial_follows_the_signed_ranks():
    a, b = np.array([3.0, 1.0, 5.0, 2.0]), np.array([1.0, 2.0, 1.0, 2.0])
    # differences 2, -1, 4, 0: ranks of |d| without the zero are 2, 1, 3
    assert st.rank_biserial(a, b) == pytest.approx((2 + 3 - 1) / 6)


@pytest.mark.parametrize("n", [1, 2, 5, 6, 10])
def test_smallest_p_is_the_exact_wilcoxon_with_every_pair_one_way(n):
    assert st.smallest_p(n) == pytest.approx(min(1.0, 2 / 2**n))
    reachable = st.smallest_p(n) < st.ALPHA
    assert reachable == (n >= 6)  # one test: five repetitions can never reach 0.05


@pytest.mark.parametrize(
    ("tests", "needed"),
    # By hand: Holm's first step gives m * 2^(1-N); the first N where that is below 0.05.
    # 10 pairs: 10 * 2^-7 = 0.078, 10 * 2^-8 = 0.039 -> 9. 4 against a control: 4 * 2^-6 =
    # 0.0625, 4 * 2^-7 = 0.031 -> 8. 3 pairs: 3 * 2^-5 = 0.094, 3 * 2^-6 = 0.047 -> 7.
    [(10, 9), (4, 8), (3, 7), (1, 6)],
)
def test_repetitions_needed_after_holms_correction(tests, needed):
    assert st.repetitions_needed(tests) == needed
    assert st.smallest_adjusted_p(needed, tests) == pytest.approx(tests * 2 ** (1 - needed))
    assert (
        st.smallest_adjusted_p(needed - 1, tests)
        >= st.ALPHA
        > st.smallest_adjusted_p(needed, tests)
    )
    assert st.smallest_adjusted_p(6, 10) == pytest.approx(10 * 2 / 2**6)  # 0.3125: N = 6


def test_bayesian_signed_rank_points_the_right_way():
    win = [0.80, 0.82, 0.79, 0.81, 0.83]
    lose = [0.70, 0.71, 0.72, 0.70, 0.73]
    clear = st.bayes_signed_rank(win, lose, 0.01, higher_is_better=True)
    assert clear["p_a"] > 0.95 and clear["p_b"] < 0.01
    assert sum(clear.values()) == pytest.approx(1.0)
    losses = st.bayes_signed_rank(win, lose, 0.01, higher_is_better=False)  # lower is better
    assert losses["p_b"] > 0.95
    tie = st.bayes_signed_rank(win, [v + 0.001 for v in win], 0.01, higher_is_better=True)
    assert tie["p_rope"] > 0.95
    noisy = st.bayes_signed_rank(win, [0.83, 0.79, 0.82, 0.78, 0.80], 0.01, True)
    assert max(noisy.values()) < 0.95
    assert st.bayes_signed_rank(win, lose, 0.01, True) == clear  # seeded
    assert st.bayes_signed_rank([0.8], [0.7], 0.01, True) is None  # one pair: not reported


def test_repetitions_for_power_is_where_a_paired_t_test_reaches_80_percent():
    d = np.array([0.02, 0.03, 0.01, 0.025, 0.015])
    alpha = 0.05 / 10
    n = st.repetitions_for_power(d, alpha)
    effect = d.mean() / d.std(ddof=1)

    def power(k):  # by hand: the noncentral t of a two-sided paired t-test with k pairs
        crit = stats.t.ppf(1 - alpha / 2, k - 1)
        nc = effect * math.sqrt(k)
        return stats.nct.sf(crit, k - 1, nc) + stats.nct.cdf(-crit, k - 1, nc)

    assert power(n) >= 0.8 > power(n - 1)
    assert st.repetitions_for_power([0.01, 0.01, 0.01], alpha) is None  # no spread
    assert st.repetitions_for_power([0.3, 0.31, 0.29], alpha) >= 2  # a huge effect still counts


def test_anytime_band_and_area_on_a_common_grid():
    first = pd.DataFrame({"epochs": [2, 4, 6], "best": [0.2, 0.5, 0.5]})
    second = pd.DataFrame({"epochs": [3, 6], "best": [0.4, 0.6]})
    grid = np.array([1, 2, 3, 4, 5, 6])
    assert st.on_grid(first, "epochs", grid)[:3] == pytest.approx([np.nan, 0.2, 0.2], nan_ok=True)
    assert st.on_grid(first, "epochs", grid, before=0.0)[:2].tolist() == [0.0, 0.2]
    band = st.anytime_band([first, second], "epochs", grid)
    assert band["median"].tolist()[1:] == pytest.approx([0.2, 0.3, 0.45, 0.45, 0.55])
    assert math.isnan(band["median"][0])
    # Epoch 1, before the first scored trial, counts as the measure's worst value (0).
    assert st.anytime_area(first, "epochs", grid, 0.0) == pytest.approx(
        np.mean([0.0, 0.2, 0.2, 0.5, 0.5, 0.5])
    )


def test_critical_difference_diagram_joins_only_what_no_test_separates(tmp_path):
    from bloomtune.reporting.figures import critical_difference

    ranked = st.ranks(TABLE, higher_is_better=True).mean()
    p = pd.DataFrame(1.0, index=TABLE.columns, columns=TABLE.columns)
    p.loc["a", ["b", "c"]] = p.loc[["b", "c"], "a"] = 0.01  # a differs from both; b ~ c
    drawn = critical_difference(ranked, p, tmp_path / "cd.png")
    assert (tmp_path / "cd.png").stat().st_size > 0
    assert len(drawn["crossbars"]) == 1  # one bar, joining b and c
    p.loc["b", "c"] = p.loc["c", "b"] = 0.01
    assert critical_difference(ranked, p, tmp_path / "cd2.png")["crossbars"] == []
