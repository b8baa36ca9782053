"""The comparison report: the answer, tables, tests, curves, fairness and provenance, as
Markdown, HTML, CSV and a DVC metrics file."""

from __future__ import annotations

import logging
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from bloomtune.reporting import figures, render, statistics
from bloomtune.reporting.comparison import Comparison, headline, smallest_useful_n
from bloomtune.reporting.fairness import fairness, fairness_text
from bloomtune.reporting.overhead import overhead_shares, overhead_text
from bloomtune.reporting.runs import Run, load_runs, repetitions
from bloomtune.reporting.tables import (
    HEADERS,
    PER_RUN,
    aggregated_table,
    aggregates,
    bold_note,
    rounded,
    single_table,
    text,
)
from bloomtune.runtime import atomic_path, write_json
from bloomtune.settings import OBJECTIVES, ReportSettings
from bloomtune.tuning.space import SearchSpace

log = logging.getLogger(__name__)

BLOG_REFERENCE = Path(__file__).with_name("blog_reference.yaml")  # cited there


def blog_rows() -> pd.DataFrame:
    """The blog's published rows, for reference only (not comparable: see the file)."""
    import yaml

    return pd.DataFrame(yaml.safe_load(BLOG_REFERENCE.read_text())["rows"])


PACKAGES = ["tensorflow-cpu", "tensorflow", "keras", "keras-tuner", "optuna", "numpy", "scipy",
            "statsmodels", "scikit-posthocs", "dvc", "snakemake"]  # fmt: skip
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


def optuna_importances(ledger: pd.DataFrame, space: SearchSpace, objective: str) -> dict | None:
    """fANOVA importances of the hyperparameters, from a tuner's complete trials."""
    import optuna

    complete = ledger[(ledger["status"] == "complete") & ledger["score"].notna()]
    # fANOVA needs every trial to have a value: a conditional dimension inactive in some is left
    # out, as is any that never varied.
    varying = [n for n in space.names if complete[n].notna().all() and complete[n].nunique() > 1]
    if len(complete) < 3 or not varying:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction = "maximize" if OBJECTIVES[objective] == "max" else "minimize"
    study = optuna.create_study(direction=direction)
    distributions = {n: d for n, d in space.optuna_distributions().items() if n in varying}
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


def describe_model(model: dict) -> str:
    """The model family in a few words: backbone and weights (with their hash), or builder."""
    if model["family"] == "transfer":
        weights = model.get("weights") or "none (trained from scratch)"
        if model.get("weights_sha256"):
            weights += f", sha256 {model['weights_sha256']}"
        size = f", input {model['input_size']} px" if model.get("input_size") else ""
        return f"transfer: {model['backbone']}{size}, weights {weights}"
    if model["family"] == "custom":
        return f"custom: {model['builder']}"
    return "blog_cnn: the blog's Conv2D, Flatten, Dense"


def describe_training(train: dict) -> str:
    """How the models trained: precision, XLA and the input path (params `train`)."""
    precision = train.get("mixed_precision") or False
    precision = f"mixed {precision}" if precision else "float32"
    xla = "XLA (jit_compile)" if train.get("jit_compile") else "no XLA"
    return f"{precision}, {xla}, input {train.get('input', 'auto')}"


def provenance(runs: list[Run]) -> dict[str, str]:
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    metrics = [run.metrics for run in runs]
    data = metrics[0]["data"]
    fingerprints: dict[str, list[str]] = {}
    for run in runs:
        fingerprints.setdefault(run.tuner, []).append(run.best["params_fingerprint"])
    return {
        "model": describe_model(runs[0].best.get("model", {"family": "blog_cnn"})),
        "training": "; ".join(
            sorted({describe_training(r.best["settings"]["train"]) for r in runs})
        ),
        "data": f"{data['source']}, split {data['split']}, {data['image_size']} px",
        "manifest sha256": ", ".join(sorted({m["data"]["manifest_sha256"] for m in metrics})),
        "data seed": ", ".join(sorted({str(r.best["settings"].get("data_seed")) for r in runs})),
        "repetition seeds": ", ".join(map(str, sorted({r.seed for r in runs}))),
        "params fingerprints": "; ".join(f"{t}: {' '.join(f)}" for t, f in fingerprints.items()),
        "packages": ", ".join(versions) + f", Python {platform.python_version()}",
        "device": ", ".join(sorted({m["device"] for m in metrics})),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


class Report:
    """Everything the report shows, gathered from the stages' outputs for the listed tuners and
    repetition seeds (files of runs no longer listed are ignored)."""

    def __init__(self, settings: ReportSettings, tuning_dir, metrics_dir, best_epoch_dir):
        self.runs = load_runs(settings.tuners, settings.seeds, tuning_dir, metrics_dir,
                              best_epoch_dir)  # fmt: skip
        self.objective = self.runs[0].metrics["objective"]
        self.space = SearchSpace.from_params(self.runs[0].best["settings"]["search_space"])
        self.repetitions = repetitions(self.runs, self.objective)
        self.comparison = Comparison(self.repetitions, self.objective)
        self.summary = self.comparison.summary()
        self.fairness_table, self.differences = fairness(
            {(r.tuner, r.seed): r.best for r in self.runs}
        )
        self.headline = headline(self.comparison)
        self.overheads = overhead_shares(self.runs)
        self.summary["overhead_share"] = self.summary["tuner"].map(self.overheads)

    def by_tuner(self, get) -> dict[str, list]:
        grouped: dict[str, list] = {}
        for run in self.runs:
            grouped.setdefault(run.tuner, []).append(get(run))
        return grouped

    def pooled_ledgers(self) -> dict[str, pd.DataFrame]:
        """Every trial of every repetition, per tuner."""
        return {
            t: pd.concat(ledgers, ignore_index=True)
            for t, ledgers in self.by_tuner(lambda r: r.ledger).items()
        }

    def bands(self) -> dict[str, dict[str, pd.DataFrame]]:
        """Per tuner and x axis (epochs, wall seconds): the best-so-far median and interquartile
        band over its repetitions, on one grid shared by every tuner."""
        curves = self.by_tuner(lambda r: figures.best_so_far(r.ledger, self.objective))
        ends = {
            x: max(float(c[x].max()) for cs in curves.values() for c in cs)
            for x in ("epochs", "wall_s")
        }
        grids = {
            "epochs": np.arange(1, int(ends["epochs"]) + 1),
            "wall_s": np.linspace(0, ends["wall_s"], 200),
        }
        return {
            t: {x: statistics.anytime_band(cs, x, grid) for x, grid in grids.items()}
            for t, cs in curves.items()
        }

    def draw(self, out_dir: Path) -> dict[str, tuple[Path, str]]:
        """Write the figures; return name -> (path, caption)."""
        n = self.comparison.n
        pooled = self.pooled_ledgers()
        spread = f" Line: median over {n} repetitions; band: interquartile range." if n > 1 else ""
        drawn = {
            "anytime": (
                figures.anytime_curves(self.bands(), n, self.objective, out_dir / "anytime.png"),
                f"Best {self.objective} found so far against cumulative epochs and wall time."
                + spread,
            ),
            "best_epoch": (
                figures.best_epoch_curves(
                    self.by_tuner(lambda r: (r.history, r.best_epoch)),
                    self.objective,
                    out_dir / "best_epoch.png",
                ),  # fmt: skip
                f"Validation {self.objective} per epoch of each run's best hyperparameters.",
            ),
            "hyperparameters": (
                figures.hyperparameters_tried(pooled, self.space, out_dir / "hyperparameters.png"),
                "Every trial's hyperparameters, by tuner and status (all repetitions).",
            ),
        }
        values = {}
        frameworks = dict(
            zip(self.repetitions["tuner"], self.repetitions["framework"], strict=True)
        )
        for tuner, ledger in pooled.items():
            if frameworks[tuner] == "optuna":
                if found := optuna_importances(ledger, self.space, self.objective):
                    values[tuner] = found
        drawn["importances"] = (
            figures.importances(values, out_dir / "importances.png"),
            "Hyperparameter importances (Optuna's fANOVA) from each Optuna tuner's trials.",
        )
        drawn["critical_difference"] = self.draw_critical_difference(
            out_dir / "critical_difference.png"
        )
        return drawn

    def draw_critical_difference(self, path: Path) -> tuple[Path, str]:
        comparison, n = self.comparison, self.comparison.n
        if n < 2 or len(comparison.tuners) < 2:
            figures.note("one repetition per tuner: no ranks to compare, nothing to test", path)
            return path, "A critical-difference diagram needs two or more repetitions."
        pairs = comparison.pairwise("test_accuracy")
        matrix = pd.DataFrame(1.0, index=comparison.tuners, columns=comparison.tuners)
        for row in pairs.itertuples():
            matrix.loc[row.a, row.b] = matrix.loc[row.b, row.a] = row.p_holm
        figures.critical_difference(comparison.mean_ranks("test_accuracy"), matrix, path)
        return path, (
            f"Mean rank on test accuracy over {n} repetitions (1 is best). A bar joins tuners "
            f"whose difference is not significant (paired Wilcoxon, Holm-corrected, p < "
            f"{statistics.ALPHA})."
        )

    def statistics_blocks(self) -> list[tuple[str, object]]:
        comparison, n = self.comparison, self.comparison.n
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

    def blocks(self, title: str, note: str, drawn, blog) -> list[tuple[str, object]]:
        n = self.comparison.n
        blocks = [("title", title)]
        if note:
            blocks.append(("text", note))
        blocks += [("headline", self.headline), ("heading", "Comparison")]
        if n == 1:
            blocks.append(("table", single_table(self.repetitions, self.comparison)))
        else:
            blocks.append(("table", aggregated_table(self.comparison, self.summary)))
        blocks.append(("text", bold_note(n)))
        if blog is not None:
            blocks += [
                ("subheading", "The blog's table (reference only, not comparable)"),
                ("table", render.Table(rounded(blog), HEADERS)),
                ("text", BLOG_NOTE),
            ]
        blocks += [("heading", "Statistics"), ("image", drawn["critical_difference"])]
        blocks += self.statistics_blocks()
        for name, heading in SECTIONS.items():
            blocks += [("heading", heading), ("image", drawn[name])]
        if n > 1:
            per_run = rounded(self.repetitions[PER_RUN])
            blocks += [("heading", "Every repetition"), ("table", render.Table(per_run, HEADERS))]
        said, flagged = overhead_text(self.overheads)
        blocks += [("heading", "Optimiser overhead"), ("unfair" if flagged else "text", said)]
        blocks += [
            ("heading", "Fairness"),
            ("unfair" if self.differences else "verdict", fairness_text(self.differences)),
            ("table", render.Table(self.fairness_table.map(text), {}, index=True)),
            ("text", f"Search space: {self.space.describe()}."),
        ]
        return blocks


def build_report(
    settings: ReportSettings,
    tuning_dir: Path,
    metrics_dir: Path,
    best_epoch_dir: Path,
    out_dir: Path,
) -> pd.DataFrame:
    """Write summary.csv, repetitions.csv, aggregates.json, report.md, report.html and the
    figures; return the summary table."""
    report = Report(settings, Path(tuning_dir), Path(metrics_dir), Path(best_epoch_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn = report.draw(out_dir)
    blog = blog_rows() if settings.show_blog_reference else None
    title = settings.title or "bloomtune report"
    blocks = report.blocks(title, settings.note or "", drawn, blog)
    blocks += [("heading", "Provenance"), ("items", provenance(report.runs))]
    with atomic_path(out_dir / "summary.csv") as tmp:
        report.summary.to_csv(tmp, index=False)
    with atomic_path(out_dir / "repetitions.csv") as tmp:
        report.repetitions.to_csv(tmp, index=False)
    write_json(out_dir / "aggregates.json", aggregates(report.comparison, report.summary))
    with atomic_path(out_dir / "report.md") as tmp:
        tmp.write_text(render.markdown(blocks))
    with atomic_path(out_dir / "report.html") as tmp:
        tmp.write_text(render.html_page(title, blocks))
    log.info(
        "report: %d tuners x %d repetitions, written to %s",
        len(report.summary),
        report.comparison.n,
        out_dir,
    )
    return report.summary
