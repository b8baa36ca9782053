"""The data sources data.source names, registered once: each a module (fetch, listing, split
sizes) of the DataSource protocol (sources/base.py)."""

from __future__ import annotations

from bloomtune.data.sources.base import DataSource
from bloomtune.data.sources.folder import Folder
from bloomtune.data.sources.oxford102 import Oxford102
from bloomtune.data.sources.synthetic import Synthetic

SOURCES: dict[str, DataSource] = {s.name: s for s in (Oxford102(), Synthetic(), Folder())}
# A raw folder without source.json (a data set placed by hand) is read in Oxford's layout.
UNRECORDED = "oxford102"


def source(name: str) -> DataSource:
    return SOURCES[name]
