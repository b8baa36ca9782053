"""The live report's page (report.md, report.html): what only live runs have, in its order
around the blocks every page has (reporting/document.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bloomtune.files import atomic_path, read_json, write_json
from bloomtune.reporting import captions, figures, render
from bloomtune.reporting.contents import Contents
from bloomtune.reporting.document import (
    answer_blocks,
    budget_blocks,
    identical_text,
    independence_blocks,
    statistics_blocks,
)
from bloomtune.reporting.fairness import fairness_text
from bloomtune.reporting.importances import optuna_importances
from bloomtune.reporting.overhead import overhead_text
from bloomtune.reporting.provenance import provenance
from bloomtune.reporting.tables import (
    HEADERS,
    PER_RUN,
    aggregated_table,
    bold_note,
    rounded,
    single_table,
    text,
    tuner_metrics,
)
from bloomtune.settings import ReportSettings
from bloomtune.tuning.frameworks import framework

BLOG_REFERENCE = Path(__file__).with_name("blog_reference.yaml")  # cited there
BLOG_NOTE = (
    "The blog gave Optuna 100 epochs per trial and Keras Tuner 3, used different batch sizes and "
    "validated Optuna on its test set, so its rows say little about the tools."
)
SECTIONS = {
    "anytime": "Any-time performance",
    "rank_over_budget": "The answer at every budget",
    "best_epoch": "Best-epoch search",
    "hyperparameters": "Hyperparameters tried",
    "importances": "Hyperparameter importances",
}
REPLAYED = (
    "Every tuner was also replayed against a table of tabulated learning curves, many more "
    "repetitions than these live runs: the replay's own page, replay/replay.html (beside this "
    "report), has its comparison, each search's regret, the grid's landscape and how far the "
    "replay agrees with these live runs."
)


def replay_verdict(path: Path) -> tuple[str, str]:
    """The replay page's verdict (results/metrics/replay.json) as a block: flagged unless the
    replay agrees with live training within its noise."""
    found = read_json(path)
    if found["verdict"] is None:
        return ("text", found["reason"])
    return ("verdict" if found["verdict"] == "agrees" else "unfair", found["reason"])


def blog_rows() -> pd.DataFrame:
    """The blog's published rows, for reference only (not comparable: see the file)."""
    import yaml

    return pd.DataFrame(yaml.safe_load(BLOG_REFERENCE.read_text())["rows"])


class LivePage:
    """The live runs' page: the best-epoch search, the hyperparameters tried and their
    importances, every repetition, the optimisers' overhead, fairness and provenance."""

    name = "report"

    def __init__(self, settings: ReportSettings, replay_verdict: Path | None = None):
        self.settings, self.replay_verdict = settings, replay_verdict
        self.title = settings.title or "bloomtune report"

    def figures(self, contents: Contents, out_dir: Path) -> dict[str, tuple[Path, str]]:
        objective, colours = contents.objective, contents.colours
        pooled = contents.pooled_ledgers()
        drawn = {
            "best_epoch": (
                figures.best_epoch_curves(
                    contents.by_tuner(lambda r: (r.history, r.best_epoch)),
                    objective,
                    out_dir / "best_epoch.png",
                    colours,
                ),
                captions.best_epoch(objective),
            ),
            "hyperparameters": (
                figures.hyperparameters_tried(
                    pooled, contents.space, out_dir / "hyperparameters.png", colours
                ),
                captions.HYPERPARAMETERS,
            ),
        }
        values = {}
        frameworks = dict(
            zip(contents.repetitions["tuner"], contents.repetitions["framework"], strict=True)
        )
        for tuner, ledger in pooled.items():
            if framework(frameworks[tuner]).importances:
                if found := optuna_importances(ledger, contents.space, objective):
                    values[tuner] = found
        drawn["importances"] = (
            figures.importances(values, out_dir / "importances.png", colours),
            captions.IMPORTANCES,
        )
        return drawn

    def blocks(self, contents: Contents, drawn) -> list[tuple[str, object]]:
        n, source = contents.comparison.n, contents.source
        blocks = [("title", self.title)]
        if self.settings.note:
            blocks.append(("text", self.settings.note))
        blocks += [*answer_blocks(contents, drawn), ("heading", "Comparison")]
        if n == 1:
            blocks.append(("table", single_table(contents.repetitions, contents.comparison)))
        else:
            blocks.append(("table", aggregated_table(contents.comparison, contents.summary)))
        blocks.append(("text", bold_note(contents.comparison)))
        if same := identical_text(contents.comparison):
            blocks.append(("text", same))
        if self.settings.show_blog_reference:
            blocks += [
                ("subheading", "The blog's table (reference only, not comparable)"),
                ("table", render.Table(rounded(blog_rows()), HEADERS)),
                ("text", BLOG_NOTE),
            ]
        blocks += [("heading", "Statistics"), *statistics_blocks(contents, drawn)]
        for name, heading in SECTIONS.items():
            blocks += [("heading", heading), ("image", drawn[name])]
            if name == "rank_over_budget":
                blocks += budget_blocks(contents)
        if n > 1:
            per_run = rounded(contents.repetitions[PER_RUN])
            blocks += [("heading", "Every repetition"), ("table", render.Table(per_run, HEADERS))]
        said, flagged = overhead_text(source.overheads)
        blocks += [("heading", "Optimiser overhead"), ("unfair" if flagged else "text", said)]
        blocks += [
            ("heading", "Fairness"),
            ("unfair" if source.differences else "verdict", fairness_text(source.differences)),
            # One column per tuner (a row per setting): it stays narrow with many settings.
            ("table", render.Table(source.fairness_table.map(text).T, {}, index=True)),
            ("text", f"Search space: {contents.space.describe()}."),
            *independence_blocks(contents),
        ]
        if self.settings.replayed:
            blocks += [("heading", "Replayed against a table"), ("text", REPLAYED),
                       replay_verdict(self.replay_verdict)]  # fmt: skip
        return blocks + [("heading", "Provenance"), ("items", provenance(contents.runs))]

    def aggregates(self, contents: Contents) -> dict:
        return {}

    def write_own(self, contents: Contents, drawn, out_dir: Path) -> None:
        """The figure captions for `snakemake --report`, and a DVC metrics file per tuner."""
        captions.write_rst({name: caption for name, (_, caption) in drawn.items()},
                           out_dir / "captions")  # fmt: skip
        with atomic_path(out_dir / "metrics", directory=True) as folder:
            for tuner, entry in tuner_metrics(contents.comparison, contents.summary).items():
                write_json(folder / f"{tuner}.json", entry)
