"""The report as a document: its blocks (title, the answer, tables, statistics, figures,
overhead, fairness), in order, with their prose; rendered by reporting/render.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bloomtune.reporting import render, statistics
from bloomtune.reporting.comparison import smallest_useful_n
from bloomtune.reporting.contents import Contents
from bloomtune.reporting.fairness import fairness_text
from bloomtune.reporting.overhead import overhead_text
from bloomtune.reporting.tables import (
    HEADERS,
    PER_RUN,
    aggregated_table,
    bold_note,
    rounded,
    single_table,
    text,
)

BLOG_REFERENCE = Path(__file__).with_name("blog_reference.yaml")  # cited there


def blog_rows() -> pd.DataFrame:
    """The blog's published rows, for reference only (not comparable: see the file)."""
    import yaml

    return pd.DataFrame(yaml.safe_load(BLOG_REFERENCE.read_text())["rows"])


BLOG_NOTE = (
    "The blog gave Optuna 100 epochs per trial and Keras Tuner 3, used different batch sizes and "
    "validated Optuna on its test set, so its rows say little about the tools."
)
SECTIONS = {
    "anytime": "Any-time performance",
    "best_epoch": "Best-epoch search",
    "hyperparameters": "Hyperparameters tried",
    "importances": "Hyperparameter importances",
}


def statistics_blocks(contents: Contents) -> list[tuple[str, object]]:
    comparison, n = contents.comparison, contents.comparison.n
    if n == 1:
        needed = smallest_useful_n()
        text = (
            "One repetition per tuner: there is nothing to test (list more seeds under "
            f"`seeds`; with {needed} or more a difference can be significant)."
        )
        return [("text", text)]
    blocks = []
    floor = statistics.smallest_p(n)
    limit = (
        f" That is above {statistics.ALPHA}: with {n} repetitions no difference can be "
        "significant."
        if floor >= statistics.ALPHA
        else ""
    )
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
            f"Paired over {n} repetitions (repetition k of every tuner shares seed k). "
            "Pairwise two-sided Wilcoxon signed-rank tests (SciPy), Holm-corrected per "
            "measure (statsmodels); effect: matched-pairs rank-biserial correlation, positive "
            "favours the first tuner. The smallest p this test can give with "
            f"{n} pairs is {floor:.3g}."
            + limit
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
            "p": tests["p"].map(lambda v: f"{v:.3g}"),
            "Holm p": tests["p_holm"].map(lambda v: f"{v:.3g}"),
            "effect": tests["effect"].map(lambda v: f"{v:+.2f}"),
        }
    )
    blocks.append(("table", render.Table(shown, {})))
    return blocks


def blocks(contents: Contents, title: str, note: str, drawn, blog) -> list[tuple[str, object]]:
    n = contents.comparison.n
    blocks = [("title", title)]
    if note:
        blocks.append(("text", note))
    blocks += [("headline", contents.headline), ("heading", "Comparison")]
    if n == 1:
        blocks.append(("table", single_table(contents.repetitions, contents.comparison)))
    else:
        blocks.append(("table", aggregated_table(contents.comparison, contents.summary)))
    blocks.append(("text", bold_note(n)))
    if blog is not None:
        blocks += [
            ("subheading", "The blog's table (reference only, not comparable)"),
            ("table", render.Table(rounded(blog), HEADERS)),
            ("text", BLOG_NOTE),
        ]
    blocks += [("heading", "Statistics"), ("image", drawn["critical_difference"])]
    blocks += statistics_blocks(contents)
    for name, heading in SECTIONS.items():
        blocks += [("heading", heading), ("image", drawn[name])]
    if n > 1:
        per_run = rounded(contents.repetitions[PER_RUN])
        blocks += [("heading", "Every repetition"), ("table", render.Table(per_run, HEADERS))]
    said, flagged = overhead_text(contents.overheads)
    blocks += [("heading", "Optimiser overhead"), ("unfair" if flagged else "text", said)]
    blocks += [
        ("heading", "Fairness"),
        ("unfair" if contents.differences else "verdict", fairness_text(contents.differences)),
        ("table", render.Table(contents.fairness_table.map(text), {}, index=True)),
        ("text", f"Search space: {contents.space.describe()}."),
    ]
    return blocks
