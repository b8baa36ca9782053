"""A tabulate shard's journal (one JSON line per epoch of each finished configuration and
training seed) and the merge of every shard's journal into the table (Parquet)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bloomtune.files import atomic_path


def journal_rows(journal: Path) -> list[dict]:
    if not journal.exists():
        return []
    return [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]


def done_pairs(journal: Path) -> set[tuple[int, int]]:
    """The (configuration, training seed) pairs a journal holds."""
    return {(r["config"], r["seed"]) for r in journal_rows(journal)}


def merge(journals: list[Path], out: Path) -> pd.DataFrame:
    """The shards' journals as one table (Parquet), sorted by configuration, seed and epoch."""
    rows = [row for journal in journals for row in journal_rows(journal)]
    table = pd.DataFrame(rows).sort_values(["config", "seed", "epoch"], kind="stable")
    table = table.reset_index(drop=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        table.to_parquet(tmp, index=False)
    return table
