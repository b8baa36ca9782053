"""The blocks every report page has, with their prose: the answer, the statistics, the answer at
every budget, the independence check (each page puts them in its order: live_page.py,
replay_page.py; rendered by reporting/render.py)."""

from __future__ import annotations

import pandas as pd

from bloomtune.reporting import independence, render, statistics
from bloomtune.reporting.contents import Contents
from bloomtune.reporting.tables import (
    HEADERS,
)


def _p(value: float) -> str:
    return f"{value:.3g}"


def reachability(comparison) -> str:
    """What this design can show with its N, after the correction it applies."""
    n, design, m = comparison.n, comparison.design, len(comparison.pairs)
    floor, adjusted = statistics.smallest_p(n), comparison.smallest_adjusted_p
    product = f"{_p(floor * m)}" + (" (an adjusted p is at most 1)" if floor * m > 1 else "")
    can = (
        f"below {design.alpha}: a difference can be significant"
        if adjusted < design.alpha
        else f"not below {design.alpha}: with {n} repetitions no difference can be significant"
    )
    return (
        f"Design: {design.describe(comparison.tuners)}, Holm-corrected. The smallest p a paired "
        f"Wilcoxon signed-rank test can give with {n} pairs is {_p(floor)}; Holm's first step "
        f"multiplies it by the {m} tests, {product}, {can}. This design needs at least "
        f"{comparison.needed} repetitions."
    )


def statistics_blocks(contents: Contents, drawn) -> list[tuple[str, object]]:
    comparison, n = contents.comparison, contents.comparison.n
    if n == 1:
        text = (
            "One repetition per tuner: there is nothing to test (list more seeds under "
            f"`seeds`). {reachability(comparison)}"
        )
        return [("text", text)]
    blocks = [("image", drawn["critical_difference"])]
    friedman = {
        m: statistics.friedman(comparison.table(m)) for m in ("test_accuracy", "anytime_area")
    }
    said = "; ".join(
        f"{HEADERS[m]}: chi² = {f['statistic']:.3g}, p = {f['p']:.3g}"
        for m, f in friedman.items()
        if f
    )
    blocks.append(
        (
            "text",
            f"Paired over {n} repetitions: repetition k of every tuner shares the data and seed "
            "k, from which each optimiser's seed is derived by hash (the same for every tuner of "
            "one framework: common random numbers, so their random first trials may coincide; "
            "independent across repetitions, which the check under Fairness tests). "
            "Two-sided Wilcoxon signed-rank tests, exact for every N ("
            f"{statistics.ZERO_METHOD}), Holm-corrected within each measure (statsmodels): the "
            "headline's verdict rests on test accuracy's family, the any-time score is a second; "
            "effect: matched-pairs rank-biserial correlation, positive favours "
            f"the first tuner. {reachability(comparison)}"
            + (f" Friedman test across tuners: {said}." if said else ""),
        )
    )
    tests = comparison.tests()
    tests["measure"] = tests["measure"].map(HEADERS)
    shown = pd.DataFrame(
        {
            "measure": tests["measure"],
            "a": tests["a"],
            "b": tests["b"],
            "p": tests["p"].map(_p),
            "Holm p": tests["p_holm"].map(_p),
            "effect": tests["effect"].map(lambda v: f"{v:+.2f}"),
        }
    )
    blocks.append(("table", render.Table(shown, {})))
    blocks += [("subheading", "Graded evidence"), ("image", drawn["evidence"])]
    evidence = comparison.evidence()
    if not evidence.empty:
        blocks.append(
            (
                "table",
                render.Table(
                    pd.DataFrame(
                        {
                            "a": evidence["a"],
                            "b": evidence["b"],
                            "P(a better)": evidence["p_a"].map(lambda v: f"{v:.3f}"),
                            "P(practically equal)": evidence["p_rope"].map(lambda v: f"{v:.3f}"),
                            "P(b better)": evidence["p_b"].map(lambda v: f"{v:.3f}"),
                        }
                    ),
                    {},
                ),
            )  # fmt: skip
        )
    power = comparison.power()
    m = len(comparison.pairs)
    blocks += [
        ("subheading", "Repetitions the observed differences would need"),
        (
            "text",
            "An estimate, not a promise: for each pair, the repetitions a paired t-test "
            "(statsmodels) needs for 80 % power at the observed standardised mean difference of "
            f"test accuracy, at {comparison.design.alpha} / {m} tests, and never fewer than the "
            f"{comparison.needed} the Wilcoxon test needs; the tuner of best mean against each "
            f"other; empty where fewer than {statistics.POWER_MIN_DIFFERING} pairs differ or the "
            "differences have no spread or no mean.",
        ),
        ("table", render.Table(pd.DataFrame({
            "a": power["a"], "b": power["b"],
            "mean difference": power["mean_difference"].map(lambda v: f"{v:+.4f}"),
            "pairs that differ": power["differing"].map(str),
            "repetitions (estimate)": power["repetitions"].map(
                lambda v: "" if pd.isna(v) else str(int(v))),
        }), {})),
    ]  # fmt: skip
    return blocks


def budget_blocks(contents: Contents) -> list[tuple[str, object]]:
    """Mean ranks at each budget fraction, and the Friedman p there."""
    frame = contents.budgets.frame()
    wide = frame.pivot(index="tuner", columns="fraction", values="mean_rank")
    wide = wide.reindex(contents.comparison.tuners)
    shown = pd.DataFrame({"tuner": wide.index})
    for f in wide.columns:
        shown[f"mean rank at {f:.0%}"] = [f"{v:.2f}" for v in wide[f]]
    friedman = frame.drop_duplicates("fraction").set_index("fraction")["friedman_p"]
    adjusted = contents.budgets.friedman_holm()
    said = ", ".join(
        f"{f:.0%}: {'-' if pd.isna(p) else _p(p)}"
        + ("" if adjusted[f] is None else f" (Holm {_p(adjusted[f])})")
        for f, p in friedman.items()
    )
    return [
        ("table", render.Table(shown, {})),
        ("text", f"Friedman test across tuners at each share of the budget: p {said}, Holm over "
                 "the fractions; a budget's lowest mean rank is named in the headline only where "
                 "its adjusted p is below the design's alpha."),
    ]  # fmt: skip


def identical_text(comparison) -> str | None:
    """Tuners whose test results were the same in every repetition, with what their ledgers
    show: how often they ended on the same best hyperparameters, and how many trials each
    pruned."""
    pairs = comparison.identical()
    if not pairs or comparison.n < 1:
        return None
    reps = comparison.repetitions
    mine = reps.set_index(["tuner", "seed"])
    said = []
    for a, b in pairs:
        same = sum(
            mine.loc[(a, s), "best_hyperparameters"] == mine.loc[(b, s), "best_hyperparameters"]
            for s in comparison.seeds
        )
        pruned = {t: int(reps.loc[reps["tuner"] == t, "pruned"].sum()) for t in (a, b)}
        said.append(
            f"{a} and {b} (the same best hyperparameters in {same} of {comparison.n} "
            f"repetitions; trials pruned: {a} {pruned[a]}, {b} {pruned[b]})"
        )
    return (
        f"Identical test results in every repetition: {'; '.join(said)}. No test can tell them "
        "apart; the figures draw their coinciding lines with distinct markers."
    )


def answer_blocks(contents, drawn) -> list[tuple[str, object]]:
    """The page's opening: the verdict (bold), a warning where the repetitions are not
    independent, the figure of every repetition, then the graded evidence."""
    found = contents.headline
    blocks = [("headline", found.verdict)]
    if found.warning:
        blocks.append(("unfair", found.warning))
    blocks.append(("image", drawn["repetitions"]))
    return blocks + [("text", line) for line in found.evidence]


def independence_blocks(contents) -> list[tuple[str, object]]:
    """The check of the independence every test assumes (reporting/independence.py)."""
    found = contents.independence
    flagged = any(f["flagged"] for f in found.values())
    return [
        ("subheading", "Independent repetitions"),
        ("unfair" if flagged else "text", independence.describe(found, contents.size)),
        ("table", render.Table(independence.table(found), {})),
    ]
