"""The comparison report: table, curves, fairness and provenance as Markdown, HTML and CSV."""

from __future__ import annotations

import base64
import html
import logging
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd

from bloomtune.reporting import figures, statistics
from bloomtune.runtime import atomic_path, read_json
from bloomtune.settings import OBJECTIVES, ReportSettings
from bloomtune.tuning.space import SearchSpace

log = logging.getLogger(__name__)

BLOG_REFERENCE = Path(__file__).with_name("blog_reference.yaml")  # cited there


def blog_rows() -> pd.DataFrame:
    """The blog's published rows, for reference only (not comparable: see the file)."""
    import yaml

    return pd.DataFrame(yaml.safe_load(BLOG_REFERENCE.read_text())["rows"])


BOLD_NOTE = "Best value per column in bold: the best of one run each, not a tested difference."
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
PACKAGES = ["tensorflow-cpu", "tensorflow", "keras", "keras-tuner", "optuna", "numpy", "dvc",
            "snakemake"]  # fmt: skip
# Settings that must match for the rows to be comparable: label -> getter on best.json.
FAIRNESS = {
    "max trials": lambda b: b["settings"]["budget"]["max_trials"],
    "max epochs per trial": lambda b: b["settings"]["budget"]["max_epochs"],
    "max total epochs": lambda b: b["settings"]["budget"].get("max_total_epochs"),
    "timeout (s)": lambda b: b["settings"]["budget"].get("timeout_s"),
    "objective": lambda b: b["objective"],
    "batch size": lambda b: b["settings"]["train"]["batch_size"],
    "validation fraction": lambda b: b["settings"]["train"]["validation_fraction"],
    "validation images": lambda b: b["settings"]["validation_images"],
    "seed": lambda b: b["settings"]["seed"],
    "search space": lambda b: SearchSpace.from_params(b["settings"]["search_space"]).describe(),
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


def fairness(best: dict[str, dict]) -> tuple[pd.DataFrame, list[str]]:
    """Per-tuner settings and the settings in which tuners differ (empty: comparable)."""
    table = pd.DataFrame(
        {label: [get(b) for b in best.values()] for label, get in FAIRNESS.items()},
        index=list(best),
    )
    differences = []
    for label in FAIRNESS:
        values = table[label]
        if values.map(repr).nunique() > 1:
            listed = ", ".join(f"{t}: {v}" for t, v in values.items())
            differences.append(f"{label} differs ({listed})")
    if "search space" not in " ".join(differences):
        table = table.drop(columns="search space")  # shown once beneath the table
    table["epochs consumed in tuning"] = [b["totals"]["epochs_consumed"] for b in best.values()]
    return table, differences


def fairness_text(differences: list[str]) -> str:
    if not differences:
        return (
            "Every tuner searched the same space with the same budget, batch size, validation "
            "split, objective and seed: the rows are comparable. Epochs consumed differ only by "
            "how each tuner spent that budget (pruning, Hyperband's short trials)."
        )
    return "The rows are not comparable: " + "; ".join(differences) + "."


def optuna_importances(ledger: pd.DataFrame, space: SearchSpace, objective: str) -> dict | None:
    """fANOVA importances of the hyperparameters, from a tuner's complete trials."""
    import optuna

    complete = ledger[(ledger["status"] == "complete") & ledger["score"].notna()]
    varying = [n for n in space.names if complete[n].nunique() > 1]
    if len(complete) < 3 or not varying:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction = "maximize" if OBJECTIVES[objective] == "max" else "minimize"
    study = optuna.create_study(direction=direction)
    distributions = space.optuna_distributions()
    for _, row in complete.iterrows():
        params = {}
        for name, dist in distributions.items():
            value = row[name]
            if isinstance(dist, optuna.distributions.CategoricalDistribution):
                value = next(c for c in dist.choices if str(c) == str(value))
            params[name] = value
        study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions=distributions, value=float(row["score"])
            )
        )
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    return optuna.importance.get_param_importances(study, evaluator=evaluator)


def provenance(metrics: list[dict], best: dict[str, dict]) -> dict[str, str]:
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    data = metrics[0]["data"]
    return {
        "data": f"{data['source']}, split {data['split']}, {data['image_size']} px",
        "manifest sha256": ", ".join(sorted({m["data"]["manifest_sha256"] for m in metrics})),
        "params fingerprints": ", ".join(
            f"{t}: {b['params_fingerprint']}" for t, b in best.items()
        ),
        "packages": ", ".join(versions) + f", Python {platform.python_version()}",
        "device": ", ".join(sorted({m["device"] for m in metrics})),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


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


def _leaders(values: pd.Series, higher_is_better: bool) -> str:
    """'x ranks first' or 'x and y tie for first' for the best of `values` (indexed by tuner)."""
    best = values.max() if higher_is_better else values.min()
    first = list(values.index[values == best])
    return f"{' and '.join(first)} {'tie for' if len(first) > 1 else 'ranks'} first"


def headline(summary: pd.DataFrame, anytime: pd.Series, objective: str, runs: int = 1) -> str:
    """The answer in plain words, never more than the data can show: who ranks first on test
    accuracy and on the any-time curve, and what the number of runs lets a test say."""
    accuracy = summary.set_index("tuner")["test_accuracy"]
    needed = next(n for n in range(1, 64) if statistics.smallest_p(n) < statistics.ALPHA)
    return (
        f"{_leaders(accuracy, True)} on test accuracy ({accuracy.max():.4f}), and "
        f"{_leaders(anytime, OBJECTIVES[objective] == 'max')} on the any-time curve (mean best "
        f"{objective} so far over the epochs every search reached). With {runs} run per tuner no "
        "difference between tuners can be tested, so none is claimed: a paired Wilcoxon "
        f"signed-rank test over repeated runs needs at least {needed} of them to reach p < "
        f"{statistics.ALPHA} (its smallest p with N runs is 2 / 2^N)."
    )


def anytime_areas(ledgers: dict[str, pd.DataFrame], objective: str) -> pd.Series:
    """Each tuner's mean best-so-far score over the epochs every search reached."""
    curves = {t: figures.best_so_far(trials, objective) for t, trials in ledgers.items()}
    reached = min(int(c["epochs"].max()) for c in curves.values())
    grid = range(1, max(reached, 1) + 1)
    return pd.Series({t: statistics.anytime_area(c, "epochs", grid) for t, c in curves.items()})


class Report:
    """Everything the report shows, gathered from the stages' outputs."""

    def __init__(self, tuners, tuning_dir: Path, metrics_dir: Path, best_epoch_dir: Path):
        self.metrics = [read_json(metrics_dir / f"{t}.json") for t in tuners]
        self.best = {t: read_json(tuning_dir / t / "best.json") for t in tuners}
        self.ledgers = {t: pd.read_csv(tuning_dir / t / "trials.csv") for t in tuners}
        self.histories = {
            t: (
                pd.read_csv(best_epoch_dir / t / "history.csv"),
                read_json(best_epoch_dir / t / "best_epoch.json")["best_epoch"],
            )
            for t in tuners
        }
        self.objective = self.metrics[0]["objective"]
        first = next(iter(self.best.values()))
        self.space = SearchSpace.from_params(first["settings"]["search_space"])
        self.summary = pd.DataFrame([summary_row(m) for m in self.metrics], columns=list(COLUMNS))
        self.fairness_table, self.differences = fairness(self.best)
        self.headline = headline(
            self.summary, anytime_areas(self.ledgers, self.objective), self.objective
        )

    def draw(self, out_dir: Path) -> dict[str, tuple[Path, str]]:
        """Write the figures; return name -> (path, caption)."""
        drawn = {
            "anytime": (
                figures.anytime_curves(self.ledgers, self.objective, out_dir / "anytime.png"),
                f"Best {self.objective} found so far against cumulative epochs and wall time.",
            ),
            "best_epoch": (
                figures.best_epoch_curves(
                    self.histories, self.objective, out_dir / "best_epoch.png"
                ),
                f"Validation {self.objective} per epoch of each tuner's best hyperparameters.",
            ),
            "hyperparameters": (
                figures.hyperparameters_tried(
                    self.ledgers, self.space, out_dir / "hyperparameters.png"
                ),
                "Every trial's hyperparameters, by tuner and status.",
            ),
        }
        values = {}
        for tuner, best in self.best.items():
            if best["framework"] == "optuna":
                found = optuna_importances(self.ledgers[tuner], self.space, self.objective)
                if found:
                    values[tuner] = found
        drawn["importances"] = (
            figures.importances(values, out_dir / "importances.png"),
            "Hyperparameter importances (Optuna's fANOVA) from each Optuna tuner's trials.",
        )
        return drawn


def build_report(
    settings: ReportSettings,
    tuning_dir: Path,
    metrics_dir: Path,
    best_epoch_dir: Path,
    out_dir: Path,
) -> pd.DataFrame:
    """Write summary.csv, report.md, report.html and the figures; return the summary table."""
    report = Report(settings.tuners, Path(tuning_dir), Path(metrics_dir), Path(best_epoch_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn = report.draw(out_dir)
    blog = blog_rows() if settings.show_blog_reference else None
    info = provenance(report.metrics, report.best)
    title = settings.title or "bloomtune report"
    note = settings.note or ""
    with atomic_path(out_dir / "summary.csv") as tmp:
        report.summary.to_csv(tmp, index=False)
    with atomic_path(out_dir / "report.md") as tmp:
        tmp.write_text(_markdown(title, note, report, drawn, blog, info))
    with atomic_path(out_dir / "report.html") as tmp:
        tmp.write_text(_html(title, note, report, drawn, blog, info))
    log.info("report: %d tuners, written to %s", len(report.summary), out_dir)
    return report.summary


def _markdown(title, note, report: Report, drawn, blog, info) -> str:
    shown = _mark_best(report.summary, _rounded(report.summary), lambda v: f"**{v}**")
    lines = [f"# {title}", ""]
    if note:
        lines += [note, ""]
    lines += [f"**{report.headline}**", "", "## Comparison", ""]
    lines.append(shown.rename(columns=COLUMNS).to_markdown(index=False))
    lines += ["", f"{BOLD_NOTE} Times are wall-clock seconds.", ""]
    if blog is not None:
        lines += ["### The blog's table (reference only, not comparable)", ""]
        lines.append(_rounded(blog).rename(columns=COLUMNS).to_markdown(index=False))
        lines += ["", BLOG_NOTE, ""]
    for name, heading in SECTIONS.items():
        if name in drawn:
            path, caption = drawn[name]
            lines += [f"## {heading}", "", f"![{caption}]({path.name})", "", caption, ""]
    lines += ["## Fairness", "", fairness_text(report.differences), ""]
    lines.append(report.fairness_table.to_markdown())
    lines += ["", f"Search space: {report.space.describe()}."]
    lines += ["", "## Provenance", ""]
    lines += [f"- **{k}**: {v}" for k, v in info.items()]
    return "\n".join(lines) + "\n"


SECTIONS = {
    "anytime": "Any-time performance",
    "best_epoch": "Best-epoch search",
    "hyperparameters": "Hyperparameters tried",
    "importances": "Hyperparameter importances",
}
BLOG_NOTE = (
    "The blog gave Optuna 100 epochs per trial and Keras Tuner 3, used different batch sizes and "
    "validated Optuna on its test set, so its rows say little about the tools."
)
STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:90em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}th,td{padding:.3em .6em;"
    "border-bottom:1px solid #ccc;text-align:right}th{background:#eee}"
    "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
    ".verdict{padding:.6em;border-left:4px solid #393}.unfair{border-color:#c33}"
    ".headline{font-size:1.15em;font-weight:bold}"
)


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _html(title, note, report: Report, drawn, blog, info) -> str:
    escaped = _rounded(report.summary).map(html.escape)
    shown = _mark_best(report.summary, escaped, lambda v: f"<strong>{v}</strong>")
    table = shown.rename(columns=COLUMNS).to_html(index=False, escape=False, border=0)
    verdict = "verdict unfair" if report.differences else "verdict"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(note)}</p>" if note else "",
        f'<p class="headline">{html.escape(report.headline)}</p>',
        "<h2>Comparison</h2>",
        table,
        f"<p>{BOLD_NOTE} Times are wall-clock seconds.</p>",
    ]
    if blog is not None:
        parts += [
            "<h3>The blog's table (reference only, not comparable)</h3>",
            _rounded(blog).rename(columns=COLUMNS).to_html(index=False, border=0),
            f"<p>{html.escape(BLOG_NOTE)}</p>",
        ]
    for name, heading in SECTIONS.items():
        if name in drawn:
            path, caption = drawn[name]
            parts += [f"<h2>{heading}</h2>", _image(path), f"<p>{html.escape(caption)}</p>"]
    parts += [
        "<h2>Fairness</h2>",
        f'<p class="{verdict}">{html.escape(fairness_text(report.differences))}</p>',
        report.fairness_table.to_html(border=0),
        f"<p>Search space: {html.escape(report.space.describe())}.</p>",
        "<h2>Provenance</h2><ul>",
        *[
            f"<li><strong>{html.escape(k)}</strong>: {html.escape(v)}</li>"
            for k, v in info.items()
        ],
        "</ul></body></html>",
    ]
    return "\n".join(parts) + "\n"
