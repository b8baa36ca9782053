"""Stage download: the data set data.source names, fetched into data/raw by its source
(bloomtune/data/sources/: verified, resumable, atomic downloads, safe extraction)."""

from __future__ import annotations

from pathlib import Path

from bloomtune.data.sources import source
from bloomtune.settings import DownloadSettings


def download(settings: DownloadSettings, raw: Path) -> None:
    """Put the data set named by data.source into raw (replacing it only once complete)."""
    name = settings.data["source"]
    source(name).fetch(settings.data[name], settings.seed, raw)
