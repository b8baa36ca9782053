"""Stage report: the comparison as Markdown, HTML, CSV, a DVC metrics file and figures with
their captions (gathered in reporting/contents.py, drawn in drawing.py, laid out in
document.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from bloomtune.files import atomic_path, write_json
from bloomtune.reporting import captions, document, render
from bloomtune.reporting.contents import Contents
from bloomtune.reporting.drawing import draw
from bloomtune.reporting.independence import aggregates as independence_aggregates
from bloomtune.reporting.provenance import provenance
from bloomtune.reporting.tables import aggregates, evidence, tuner_metrics
from bloomtune.settings import ReportSettings

log = logging.getLogger(__name__)
REPLAYED = (
    "Every tuner was also replayed against a table of tabulated learning curves, many more "
    "repetitions than these live runs: the replay's own page, replay/replay.html (beside this "
    "report), has its comparison, each search's regret, the grid's landscape and how far the "
    "replay agrees with these live runs."
)


def build_report(
    settings: ReportSettings,
    tuning_dir: Path,
    metrics_dir: Path,
    best_epoch_dir: Path,
    out_dir: Path,
) -> pd.DataFrame:
    """Write summary.csv, repetitions.csv, aggregates.json, report.md, report.html and the
    figures; return the summary table."""
    report = Contents(settings, Path(tuning_dir), Path(metrics_dir), Path(best_epoch_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn = draw(report, out_dir)
    captions.write_rst({name: caption for name, (_, caption) in drawn.items()},
                       out_dir / "captions")  # fmt: skip
    blog = document.blog_rows() if settings.show_blog_reference else None
    title = settings.title or "bloomtune report"
    blocks = document.blocks(report, title, settings.note or "", drawn, blog)
    if settings.replayed:
        blocks += [("heading", "Replayed against a table"), ("text", REPLAYED)]
    blocks += [("heading", "Provenance"), ("items", provenance(report.runs))]
    with atomic_path(out_dir / "summary.csv") as tmp:
        report.summary.to_csv(tmp, index=False)
    with atomic_path(out_dir / "repetitions.csv") as tmp:
        report.repetitions.to_csv(tmp, index=False)
    write_json(
        out_dir / "aggregates.json",
        {
            **aggregates(report.comparison, report.summary),
            "statistics": evidence(report.comparison, report.budgets),
            "independence": independence_aggregates(report.independence),
        },
    )
    with atomic_path(out_dir / "metrics", directory=True) as folder:
        for tuner, entry in tuner_metrics(report.comparison, report.summary).items():
            write_json(folder / f"{tuner}.json", entry)
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
