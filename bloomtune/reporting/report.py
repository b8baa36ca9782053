"""One report builder for every page: a page (live_page.py or replay_page.py) over the contents
of a run source (sources.py), written as Markdown, HTML, CSV, aggregates.json and figures."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from bloomtune.files import atomic_path, write_json
from bloomtune.reporting import render
from bloomtune.reporting.contents import Contents
from bloomtune.reporting.drawing import draw
from bloomtune.reporting.independence import aggregates as independence_aggregates
from bloomtune.reporting.sources import RunSource
from bloomtune.reporting.tables import aggregates, evidence
from bloomtune.settings import ReportSettings

log = logging.getLogger(__name__)


class Page(Protocol):
    name: str  # its files: <name>.md and <name>.html
    title: str

    def figures(self, contents: Contents, out_dir: Path) -> dict[str, tuple[Path, str]]:
        """The page's own figures, beside those every page has (drawing.py)."""

    def blocks(self, contents: Contents, drawn) -> list[tuple[str, object]]: ...

    def aggregates(self, contents: Contents) -> dict:
        """The page's own entries in aggregates.json."""

    def write_own(self, contents: Contents, drawn, out_dir: Path) -> None: ...


def build_report(
    page: Page, settings: ReportSettings, source: RunSource, out_dir: Path
) -> Contents:
    """Write summary.csv, repetitions.csv, aggregates.json, the page and its figures."""
    contents = Contents(settings, source)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn = draw(contents, out_dir) | page.figures(contents, out_dir)
    blocks = page.blocks(contents, drawn)
    with atomic_path(out_dir / "summary.csv") as tmp:
        contents.summary.to_csv(tmp, index=False)
    with atomic_path(out_dir / "repetitions.csv") as tmp:
        contents.repetitions.to_csv(tmp, index=False)
    write_json(
        out_dir / "aggregates.json",
        {
            **aggregates(contents.comparison, contents.summary),
            "statistics": evidence(contents.comparison, contents.budgets),
            "independence": independence_aggregates(contents.independence),
            **page.aggregates(contents),
        },
    )
    page.write_own(contents, drawn, out_dir)
    with atomic_path(out_dir / f"{page.name}.md") as tmp:
        tmp.write_text(render.markdown(blocks))
    with atomic_path(out_dir / f"{page.name}.html") as tmp:
        tmp.write_text(render.html_page(page.title, blocks))
    log.info(
        "%s: %d tuners x %d repetitions, written to %s",
        page.name,
        len(contents.comparison.tuners),
        contents.comparison.n,
        out_dir,
    )
    return contents
