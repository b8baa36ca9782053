"""The figures every report page has, each with its caption (reporting/captions.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bloomtune.reporting import captions, figures, statistics
from bloomtune.reporting.contents import Contents


def draw(contents: Contents, out_dir: Path) -> dict[str, tuple[Path, str]]:
    """Write the figures every page has (its own are the page's: live_page.py,
    replay_page.py); return name -> (path, caption)."""
    n, objective, colours = contents.comparison.n, contents.objective, contents.colours
    comparison, budgets = contents.comparison, contents.budgets
    return {
        "anytime": (
            figures.anytime_curves(
                contents.bands(), n, objective, out_dir / "anytime.png", colours
            ),
            captions.anytime(objective, n) + contents.source.wall_note,
        ),
        "rank_over_budget": (
            figures.rank_over_budget(budgets.frame(), out_dir / "rank_over_budget.png", colours),
            captions.rank_over_budget(n, budgets.fractions, figures.coinciding(budgets.frame())),
        ),
        "evidence": (
            figures.evidence(
                comparison.evidence(), comparison.design.rope, out_dir / "evidence.png", colours
            ),
            captions.evidence(comparison.design.rope, n),
        ),
        "critical_difference": draw_critical_difference(
            contents, out_dir / "critical_difference.png"
        ),
        "repetitions": draw_repetitions(
            contents, out_dir / "repetitions.png", contents.source.test_label
        ),
    }


def draw_repetitions(contents, path: Path, label: str) -> tuple[Path, str]:
    """The page's first figure: every repetition on the test measure, with what the tests
    separate."""
    comparison, measure = contents.comparison, "test_accuracy"
    order = list(comparison.means(measure).index)
    groups = comparison.groups(measure) if comparison.n > 1 else [order]
    figures.repetition_dots(
        comparison.table(measure), contents.summary, measure, order, groups, label, path,
        contents.colours,
    )  # fmt: skip
    interval = "interval (" + statistics.INTERVAL + ")" if comparison.n > 1 else "no interval"
    return path, captions.repetitions(comparison.n, label, comparison.design, interval)


def draw_critical_difference(contents: Contents, path: Path) -> tuple[Path, str]:
    comparison, n = contents.comparison, contents.comparison.n
    caption = captions.critical_difference(n, len(comparison.tuners), comparison.design)
    if n < 2 or len(comparison.tuners) < 2:
        figures.note("one repetition per tuner: no ranks to compare, nothing to test", path)
        return path, caption
    pairs = comparison.pairwise("test_accuracy")
    matrix = pd.DataFrame(1.0, index=comparison.tuners, columns=comparison.tuners)
    for row in pairs.itertuples():
        matrix.loc[row.a, row.b] = matrix.loc[row.b, row.a] = row.p_holm
    figures.critical_difference(
        comparison.mean_ranks("test_accuracy"), matrix, path, contents.colours,
        comparison.design.alpha,
    )  # fmt: skip
    return path, caption
