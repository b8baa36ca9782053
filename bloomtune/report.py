"""The comparison report: one row per tuner, as Markdown, self-contained HTML and CSV."""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from bloomtune.runtime import atomic_path, read_json

log = logging.getLogger(__name__)

# The blog's Table 1.7, for reference only: its budgets differed per tool and its Optuna run
# validated on the test set, so these rows are not comparable with bloomtune's.
BLOG_ROWS = [
    {"tuner": "blog: Optuna", "test_loss": 34.2629, "test_accuracy": 0.0892, "total_s": 23287},
    {
        "tuner": "blog: Keras Tuner Random",
        "test_loss": 3.6749,
        "test_accuracy": 0.2608,
        "total_s": 29 * 60 + 16,
    },
    {
        "tuner": "blog: Keras Tuner Bayesian",
        "test_loss": 3.1541,
        "test_accuracy": 0.3147,
        "total_s": 24 * 60 + 24,
    },
    {
        "tuner": "blog: Keras Tuner Hyperband",
        "test_loss": 3.5460,
        "test_accuracy": 0.2392,
        "total_s": 3600 + 30 * 60 + 48,
    },
]

COLUMNS = {  # summary.csv column -> table header (units in headers)
    "tuner": "tuner",
    "framework": "framework",
    "test_loss": "test loss",
    "test_accuracy": "test accuracy",
    "test_top5_accuracy": "test top-5 accuracy",
    "tuning_s": "tuning (s)",
    "best_epoch_s": "best epoch (s)",
    "retrain_s": "retrain (s)",
    "total_s": "total (s)",
    "trials": "trials",
    "complete": "complete",
    "pruned": "pruned",
    "failed": "failed",
    "epochs_consumed": "epochs consumed",
    "best_hyperparameters": "best hyperparameters",
}
BETTER = {
    "test_loss": "min",
    "test_accuracy": "max",
    "test_top5_accuracy": "max",
    "total_s": "min",
    "epochs_consumed": "min",
}


def summary_row(metrics: dict) -> dict:
    hp = ", ".join(f"{k}={_fmt_value(v)}" for k, v in metrics["hyperparameters"].items())
    return {
        "tuner": metrics["tuner"],
        "framework": metrics["framework"],
        "test_loss": metrics["test_loss"],
        "test_accuracy": metrics["test_accuracy"],
        "test_top5_accuracy": metrics["test_top5_accuracy"],
        "tuning_s": metrics["seconds"]["tuning"],
        "best_epoch_s": metrics["seconds"]["best_epoch"],
        "retrain_s": metrics["seconds"]["retrain"],
        "total_s": metrics["seconds"]["total"],
        **metrics["trials"],
        "epochs_consumed": metrics["epochs_consumed"],
        "best_hyperparameters": hp,
    }


def _fmt_value(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def fairness_differences(settings: dict[str, dict]) -> list[str]:
    """Every setting in which the tuners' searches differed, as sentences; empty when fair."""
    found = []
    checks = {
        "max trials": lambda s: s["budget"]["max_trials"],
        "max epochs per trial": lambda s: s["budget"]["max_epochs"],
        "objective": lambda s: s["budget"]["objective"],
        "batch size": lambda s: s["train"]["batch_size"],
        "validation fraction": lambda s: s["train"]["validation_fraction"],
        "validation images": lambda s: s["validation_images"],
        "seed": lambda s: s["seed"],
        "search space": lambda s: repr(s["search_space"]),
    }
    for label, get in checks.items():
        values = {tuner: get(s) for tuner, s in settings.items()}
        if len(set(map(repr, values.values()))) > 1:
            listed = ", ".join(f"{t}: {v}" for t, v in values.items())
            found.append(f"{label} differs ({listed})")
    return found


def _format(column: str, value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if column.endswith("_s"):
        return f"{value:,.1f}"
    if column.startswith("test_"):
        return f"{value:.4f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as display text: seconds to 0.1, scores to 4 decimals."""
    return pd.DataFrame(
        {c: [_format(c, v) for v in frame[c].tolist()] for c in frame.columns}, dtype=object
    )


def _mark_best(frame: pd.DataFrame, shown: pd.DataFrame, marker) -> pd.DataFrame:
    for column, direction in BETTER.items():
        values = frame[column]
        best = values.max() if direction == "max" else values.min()
        for i in frame.index[values == best]:
            shown.loc[i, column] = marker(shown.loc[i, column])
    return shown


def build_report(
    tuners: list[str], tuning_dir: Path, metrics_dir: Path, settings: dict, out_dir: Path
) -> pd.DataFrame:
    """Write summary.csv, report.md and report.html under out_dir; return the summary table."""
    metrics = [read_json(metrics_dir / f"{t}.json") for t in tuners]
    tuning = {t: read_json(tuning_dir / t / "best.json")["settings"] for t in tuners}
    summary = pd.DataFrame([summary_row(m) for m in metrics], columns=list(COLUMNS))
    differences = fairness_differences(tuning)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "summary.csv") as tmp:
        summary.to_csv(tmp, index=False)
    blog = pd.DataFrame(BLOG_ROWS) if settings.get("show_blog_reference") else None
    title = settings.get("title", "bloomtune report")
    with atomic_path(out_dir / "report.md") as tmp:
        tmp.write_text(_markdown(title, summary, differences, blog))
    with atomic_path(out_dir / "report.html") as tmp:
        tmp.write_text(_html(title, summary, differences, blog))
    log.info("report: %d tuners, written to %s", len(summary), out_dir)
    return summary


def _fairness_text(differences: list[str]) -> str:
    if not differences:
        return (
            "Every tuner searched with the same budget, batch size, validation split, search "
            "space and seed: the rows are comparable."
        )
    return "The rows are not comparable: " + "; ".join(differences) + "."


def _markdown(title, summary, differences, blog) -> str:
    shown = _mark_best(summary, _rounded(summary), lambda v: f"**{v}**")
    lines = [f"# {title}", "", f"Generated {_now()}.", "", "## Comparison", ""]
    lines.append(shown.rename(columns=COLUMNS).to_markdown(index=False))
    lines += ["", "Best value per column in bold. Times are wall-clock seconds.", ""]
    lines += ["## Fairness", "", _fairness_text(differences), ""]
    if blog is not None:
        lines += ["## The blog's table (reference, not comparable)", ""]
        lines.append(_rounded(blog).rename(columns=COLUMNS).to_markdown(index=False))
        lines.append("")
    return "\n".join(lines)


def _html(title, summary, differences, blog) -> str:
    escaped = _rounded(summary).map(html.escape)
    shown = _mark_best(summary, escaped, lambda v: f"<strong>{v}</strong>")
    table = shown.rename(columns=COLUMNS).to_html(index=False, escape=False, border=0)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:80em}"
        "table{border-collapse:collapse}th,td{padding:.3em .6em;border-bottom:1px solid #ccc;"
        "text-align:right}th{background:#eee}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Generated {_now()}.</p>",
        "<h2>Comparison</h2>",
        table,
        "<p>Best value per column in bold. Times are wall-clock seconds.</p>",
        "<h2>Fairness</h2>",
        f"<p>{html.escape(_fairness_text(differences))}</p>",
    ]
    if blog is not None:
        parts += [
            "<h2>The blog's table (reference, not comparable)</h2>",
            _rounded(blog).rename(columns=COLUMNS).to_html(index=False, border=0),
        ]
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
