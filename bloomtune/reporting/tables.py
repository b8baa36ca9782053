"""The report's tables: display text per cell, which cells are bold, and the aggregates file."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bloomtune.reporting import render, statistics
from bloomtune.reporting.comparison import DESCRIBED, MEASURES, Comparison

BOLD_NOTE = "Best value per column in bold: the best of one run each, not a tested difference."
HEADERS = {  # column -> table header (units in headers)
    "tuner": "tuner",
    "seed": "seed",
    "framework": "framework",
    "test_loss": "test loss",
    "test_accuracy": "test accuracy",
    "test_top5_accuracy": "test top-5 accuracy",
    "best_validation": "best validation score",
    "anytime_area": "any-time score",
    "tuning_s": "tuning (s)",
    "best_epoch_s": "best epoch (s)",
    "retrain_s": "retrain (s)",
    "total_s": "total (s)",
    "trials": "trials",
    "complete": "complete",
    "pruned": "pruned",
    "failed": "failed",
    "tuning_epochs": "tuning epochs",
    "epochs_consumed": "epochs, all phases",
    "mean_rank": "mean rank (test accuracy)",
    "anytime_mean_rank": "mean rank (any-time)",
    "best_hyperparameters": "best hyperparameters",
}
# One run per tuner: today's table. Several: means with intervals, then one row per run.
SINGLE = ["tuner", "framework", "test_loss", "test_accuracy", "test_top5_accuracy", "tuning_s",
          "best_epoch_s", "retrain_s", "total_s", "trials", "complete", "pruned", "failed",
          "tuning_epochs", "epochs_consumed", "best_hyperparameters"]  # fmt: skip
AGGREGATED = ["tuner", "framework", "test_accuracy", "test_loss", "test_top5_accuracy",
              "best_validation", "anytime_area", "tuning_epochs", "epochs_consumed", "tuning_s",
              "total_s", "mean_rank", "anytime_mean_rank"]  # fmt: skip
PER_RUN = ["tuner", "seed", "test_accuracy", "test_loss", "test_top5_accuracy",
           "best_validation", "anytime_area", "tuning_s", "total_s", "trials", "pruned",
           "failed", "tuning_epochs", "epochs_consumed", "best_hyperparameters"]  # fmt: skip
# The measures of aggregates.json (means and intervals) and of each tuner's DVC metrics file.
METRICS = ["test_accuracy", "test_loss", "test_top5_accuracy", "best_validation", "anytime_area",
           "epochs_consumed", "total_s"]  # fmt: skip


def text(value) -> str:
    return "" if value is None else str(value)


def counted(n: int, noun: str) -> str:
    """ "1 seed", "3 seeds": a count with its noun."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _format(column: str, value) -> str:
    if _missing(value):
        return ""
    if column.endswith("_s"):
        return f"{value:,.1f}"
    if column.startswith("test_") or column in ("best_validation", "anytime_area"):
        return f"{value:.4f}"
    if column.endswith("mean_rank"):
        return f"{value:.2f}"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as display text: seconds to 0.1, scores to 4 decimals, ranks to 2."""
    return pd.DataFrame(
        {c: [_format(c, v) for v in frame[c].tolist()] for c in frame.columns}, dtype=object
    )


def with_interval(summary: pd.DataFrame, column: str) -> list[str]:
    """'mean [low, high]' of the 95 % interval per tuner (cut to the measure's range, so it need
    not be symmetric)."""
    cells = []
    for _, row in summary.iterrows():
        low, high = row[f"{column}_ci_low"], row[f"{column}_ci_high"]
        mean = _format(column, row[column])
        if _missing(low):
            cells.append(mean)
        else:
            cells.append(f"{mean} [{_format(column, low)}, {_format(column, high)}]")
    return cells


def single_table(rows: pd.DataFrame, comparison: Comparison) -> render.Table:
    """One run per tuner: its values, the best per column in bold (not a tested difference)."""
    frame = rows[SINGLE].reset_index(drop=True)
    bold = set()
    for column in SINGLE:
        if column in MEASURES:
            higher = comparison.higher_is_better(column)
            values = frame[column]
            best = values.max() if higher else values.min()
            bold |= {(int(i), column) for i in np.flatnonzero(values == best)}
    return render.Table(rounded(frame), HEADERS, bold)


def aggregated_table(comparison: Comparison, summary: pd.DataFrame) -> render.Table:
    """Several runs per tuner: mean ± interval, mean ranks; bold only a significant lead."""
    cells = rounded(summary[AGGREGATED])
    for column in [*MEASURES, *DESCRIBED]:
        if column in AGGREGATED:
            cells[column] = with_interval(summary, column)
    bold = set()
    for column in MEASURES:
        if column in AGGREGATED:
            bold |= {(comparison.tuners.index(t), column) for t in comparison.bold(column)}
    return render.Table(cells, HEADERS, bold)


def bold_note(comparison: Comparison) -> str:
    n, design = comparison.n, comparison.design
    if n == 1:
        return f"{BOLD_NOTE} Times are wall-clock seconds."
    if design.comparisons == "control":
        bolded = f"a tuner significantly better than the control {design.control}"
    else:
        bolded = (
            "the first-ranked tuner of a column whose lead over every other tuner is significant"
        )
    return (
        f"Mean and, in brackets, the {statistics.INTERVAL}, over {n} repetitions (wide at small "
        "N, as it should be). "
        f"Bold: {bolded} (paired Wilcoxon signed-rank test, Holm-corrected over "
        f"{design.describe(comparison.tuners)}, p < {design.alpha}); no bold, none. Any-time "
        "score: the mean best validation score so far over the epochs every search reached, an "
        "epoch before a search's first scored trial counting as the measure's worst value. "
        "Times are wall-clock seconds."
    )


def aggregates(comparison: Comparison, summary: pd.DataFrame) -> dict:
    """aggregates.json: per tuner, means, intervals and mean ranks (and, beside them, the
    statistics: see `evidence`)."""
    out = {"repetitions": comparison.n}
    for row in summary.to_dict("records"):
        entry = {}
        for column in METRICS:
            for suffix in ("", "_ci_low", "_ci_high"):
                value = row[column + suffix]
                entry[column + suffix] = None if _missing(value) else round(float(value), 6)
        entry["mean_rank"] = round(float(row["mean_rank"]), 4)
        entry["anytime_mean_rank"] = round(float(row["anytime_mean_rank"]), 4)
        out[row["tuner"]] = entry
    return out


def tuner_metrics(comparison: Comparison, summary: pd.DataFrame) -> dict[str, dict]:
    """results/report/metrics/<tuner>.json (DVC metrics): each tuner's means over its
    repetitions and its mean ranks, under the names of each run's own row
    (evaluation/evaluate.py scores_of), so `dvc metrics show` reads as one table."""
    out = {}
    for row in summary.to_dict("records"):
        entry = {"tuner": row["tuner"], "repetitions": comparison.n}
        for column in METRICS:
            entry[column] = None if _missing(row[column]) else round(float(row[column]), 6)
        entry["mean_rank"] = round(float(row["mean_rank"]), 4)
        entry["anytime_mean_rank"] = round(float(row["anytime_mean_rank"]), 4)
        out[row["tuner"]] = entry
    return out


def evidence(comparison: Comparison, budgets=None) -> dict:
    """What the report concludes about its method, for aggregates.json's `statistics`: the
    design, the repetitions it needs, each pair's Bayesian probabilities, the repetitions the
    observed differences would need, and the mean ranks at each budget fraction (keyed by name,
    so that `dvc metrics show` lists them)."""
    design = comparison.design
    out = {
        "comparisons": design.comparisons,
        "control": design.control,
        "tests": len(comparison.pairs),
        "repetitions_needed": comparison.needed,
        "smallest_adjusted_p": round(comparison.smallest_adjusted_p, 6),
        "signed_rank_test": f"exact two-sided; {statistics.ZERO_METHOD}",
        "interval": statistics.INTERVAL,
        "rope": design.rope,
        "bayesian_prior": statistics.BAYES_PRIOR,
        "bayesian": {
            f"{row.a} vs {row.b}": {
                "p_a_better": round(row.p_a, 4),
                "p_practically_equal": round(row.p_rope, 4),
                "p_b_better": round(row.p_b, 4),
            }
            for row in comparison.evidence().itertuples()
        },
    }
    if comparison.n > 1:
        out["power"] = {
            f"{row.a} vs {row.b}": {
                "mean_difference": round(row.mean_difference, 6),
                "differing_pairs": int(row.differing),
                "repetitions_for_80_percent_power": (
                    None if pd.isna(row.repetitions) else int(row.repetitions)
                ),
            }
            for row in comparison.power().itertuples()
        }
    if budgets is not None:
        frame = budgets.frame()
        out["budget_mean_ranks"] = {
            f"{f:g}": {r.tuner: round(r.mean_rank, 4) for r in part.itertuples()}
            for f, part in frame.groupby("fraction", sort=True)
        }
        out["budget_friedman_p_holm"] = {
            f"{f:g}": None if p is None else round(p, 6)
            for f, p in budgets.friedman_holm().items()
        }
    return out
