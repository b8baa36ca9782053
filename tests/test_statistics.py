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


def test_interval_is_scipys_t_interval():
    values = TABLE["a"]
    got = st.interval(values)
    low, high = stats.t.interval(0.95, 4, loc=values.mean(), scale=stats.sem(values))
    assert got["mean"] == pytest.approx(values.mean())
    assert got["std"] == pytest.approx(values.std(ddof=1))
    assert (got["low"], got["high"]) == pytest.approx((low, high))
    assert got["low"] < got["mean"] < got["high"]


def test_interval_with_one_or_two_values_or_no_spread():
    one = st.interval([0.5])
    assert one["mean"] == 0.5 and math.isnan(one["std"]) and math.isnan(one["low"])
    two = st.interval([0.5, 0.7])
    assert (two["low"], two["high"]) == pytest.approx(
        stats.t.interval(0.95, 1, loc=0.6, scale=stats.sem([0.5, 0.7]))
    )
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
    assert reachable == (n >= 6)  # five repetitions can never show a difference at 0.05


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
