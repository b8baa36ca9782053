"""The report's blocks, written as Markdown and as self-contained HTML (figures inlined)."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass
class Table:
    """Display text per cell (already rounded), headers, and the cells to bold."""

    cells: pd.DataFrame
    headers: dict[str, str]
    bold: set[tuple[int, str]] = field(default_factory=set)  # (row position, column)
    index: bool = False


# A block: (kind, content). Kinds: title, heading, subheading, headline, text, verdict, unfair,
# table (a Table), image ((path, caption)), items (dict of label -> text).
# Read at 1,300 px (a laptop): tables in a slightly smaller type, an estimate's interval on a
# line of its own under it (`interval_cells`), so no table needs a horizontal scroll bar there
# (tests/test_pipeline.py renders the demo's page in headless Chromium and checks).
STYLE = (
    "body{font-family:sans-serif;margin:1.5em;max-width:90em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0;font-size:.85em}th,td{padding:.3em .45em;"
    "border-bottom:1px solid #ccc;text-align:right}th{background:#eee}"
    "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
    ".ci{display:block;white-space:nowrap;font-size:.85em;color:#555}"
    ".verdict{padding:.6em;border-left:4px solid #393}.unfair{border-color:#c33}"
    ".headline{font-size:1.15em;font-weight:bold}"
)


def _marked(table: Table, mark) -> pd.DataFrame:
    cells = table.cells.copy()
    for row, column in table.bold:
        cells.iloc[row, cells.columns.get_loc(column)] = mark(cells.iloc[row][column])
    return cells.rename(columns=table.headers)


def markdown(blocks: list[tuple[str, object]]) -> str:
    lines = []
    for kind, content in blocks:
        if kind == "title":
            lines += [f"# {content}", ""]
        elif kind == "heading":
            lines += [f"## {content}", ""]
        elif kind == "subheading":
            lines += [f"### {content}", ""]
        elif kind == "headline":
            lines += [f"**{content}**", ""]
        elif kind == "table":
            shown = _marked(content, lambda v: f"**{v}**" if v else v)
            lines += [shown.to_markdown(index=content.index), ""]
        elif kind == "image":
            path, caption = content
            lines += [f"![{caption}]({path.name})", "", caption, ""]
        elif kind == "items":
            lines += [*(f"- **{k}**: {v}" for k, v in content.items()), ""]
        else:  # text, verdict, unfair
            lines += [content, ""]
    return "\n".join(lines).rstrip() + "\n"


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


INTERVAL = re.compile(r"^(\S+) (\[[^\]]+\])$")  # "0.5347 [0.2396, 0.6979]"


def _html_cell(text: str) -> str:
    """A cell's HTML: an estimate with its interval shows the interval on its own line."""
    escaped = html.escape(text)
    found = INTERVAL.match(escaped)
    return f'{found[1]}<span class="ci">{found[2]}</span>' if found else escaped


def _html_table(table: Table) -> str:
    escaped = Table(table.cells.map(_html_cell), table.headers, table.bold, table.index)
    shown = _marked(escaped, lambda v: f"<strong>{v}</strong>" if v else v)
    return shown.to_html(index=table.index, escape=False, border=0)


def html_page(title: str, blocks: list[tuple[str, object]]) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
    ]
    for kind, content in blocks:
        if kind == "title":
            parts.append(f"<h1>{html.escape(content)}</h1>")
        elif kind == "heading":
            parts.append(f"<h2>{html.escape(content)}</h2>")
        elif kind == "subheading":
            parts.append(f"<h3>{html.escape(content)}</h3>")
        elif kind in ("headline", "verdict", "unfair"):
            css = {"unfair": "verdict unfair"}.get(kind, kind)
            parts.append(f'<p class="{css}">{html.escape(content)}</p>')
        elif kind == "table":
            parts.append(_html_table(content))
        elif kind == "image":
            path, caption = content
            parts += [_image(path), f"<p>{html.escape(caption)}</p>"]
        elif kind == "items":
            items = (
                f"<li><strong>{html.escape(k)}</strong>: {html.escape(v)}</li>"
                for k, v in content.items()
            )
            parts += ["<ul>", *items, "</ul>"]
        else:
            parts.append(f"<p>{html.escape(content)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
