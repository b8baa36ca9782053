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


def test_interval_is_scipys_seeded_percentile_bootstrap_and_stays_in_range():
    values = TABLE["a"]
    got = st.interval(values)
    again = stats.bootstrap((values.to_numpy(),), np.mean, n_resamples=st.BOOTSTRAP_RESAMPLES,
                            method="percentile", random_state=0).confidence_interval  # fmt: skip
    assert got["mean"] == pytest.approx(values.mean())
    assert got["std"] == pytest.approx(values.std(ddof=1))
    assert (got["low"], got["high"]) == pytest.approx((again.low, again.high))
    assert got["low"] < got["mean"] < got["high"]
    assert st.interval(values) == got  # seeded: the same values, the same interval
    # A top-5 accuracy near 1 over 3 repetitions: Student's t reaches past 1, the bootstrap not.
    top5 = [0.93, 0.998, 1.0]
    t_high = stats.t.interval(0.95, 2, loc=np.mean(top5), scale=stats.sem(top5))[1]
    assert t_high > 1 and st.interval(top5)["high"] <= 1.0
    assert st.interval([0.02, 0.5, 0.9])["low"] >= 0.02  # a loss's interval stays >= 0


def test_interval_with_one_or_two_values_or_no_spread():
    one = st.interval([0.5])
    assert one["mean"] == 0.5 and math.isnan(one["std"]) and math.isnan(one["low"])
    two = st.interval([0.5, 0.7])
    assert 0.5 <= two["low"] < two["high"] <= 0.7  # resampled means of two values
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


def test_pairwise_wilcoxon_with_holm_matches_scipy_and_statsmodels():
    pairs = st.pairwise(TABLE, higher_is_better=True).set_index(["a", "b"])
    raw = [
        stats.wilcoxon(TABLE[x], TABLE[y]).pvalue for x, y in [("a", "b"), ("a", "c"), ("b", "c")]
    ]
    assert pairs["p"].tolist() == pytest.approx(raw)
    assert pairs["p_holm"].tolist() == pytest.approx(multipletests(raw, method="holm")[1])
    # a beats b in every repetition: the largest effect. b - c is -0.01, 0.05, 0 (dropped), 0.02,
    # 0.02: signed ranks -1, 4, 2.5, 2.5 of 10
    assert pairs.loc[("a", "b"), "effect"] == 1.0
    assert pairs.loc[("b", "c"), "effect"] == pytest.approx(0.8)
    flipped = st.pairwise(TABLE, higher_is_better=False).set_index(["a", "b"])
    assert flipped.loc[("a", "b"), "effect"] == -1.0


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
    band = st.anytime_band([first, second], "epochs", grid)
    assert band["median"].tolist()[1:] == pytest.approx([0.2, 0.3, 0.45, 0.45, 0.55])
    assert math.isnan(band["median"][0])
    assert st.anytime_area(first, "epochs", grid) == pytest.approx(
        np.mean([0.2, 0.2, 0.5, 0.5, 0.5])
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
