"""The synthetic source: drawn flowers in Oxford's layout (data/synthetic.py), so the demo and
the tests need no network; listed and split as Oxford's are. Its drawing (PIL, SciPy's .mat
writer) is imported only when it runs: every params check imports the registry."""

from __future__ import annotations

import logging
from pathlib import Path

from bloomtune.data.sources.base import Splits
from bloomtune.files import atomic_path, write_json

log = logging.getLogger(__name__)


class Synthetic:
    name = "synthetic"

    def check(self, section: dict) -> None:
        """Its section's values are the schema's to check."""

    def fewest_classes(self, section: dict) -> int:
        return section["n_classes"]

    def fetch(self, section: dict, seed: int, raw: Path) -> None:
        from bloomtune.data import synthetic as drawn

        with atomic_path(raw, directory=True) as tmp:
            n = drawn.write_synthetic(tmp, seed=seed, **section)
            write_json(tmp / "source.json", {"source": "synthetic", **section, "seed": seed})
        log.info("synthetic: %d images in %d classes written to %s", n, section["n_classes"], raw)

    def listing(self, raw: Path, split: str) -> tuple[dict, list[str], str]:
        from bloomtune.data import oxford

        return (*oxford.listing(raw, split), split)

    def splits(self, params: dict) -> Splits:
        """Its own split rule (data/synthetic.py split_ids) on its labels: the sizes do not hang
        on the draw."""
        import numpy as np

        from bloomtune.data import oxford
        from bloomtune.data import synthetic as drawn

        section, split = params["data"]["synthetic"], params["standardise"]["split"]
        labels = np.repeat(np.arange(section["n_classes"]), section["images_per_class"])
        ids = drawn.split_ids(labels, np.random.default_rng(0))
        parts = {name: np.concatenate([ids[key][0] for key in keys]) - 1
                 for name, keys in oxford.SPLITS[split].items()}  # fmt: skip
        sizes = {name: len(rows) for name, rows in parts.items()}
        return Splits(sizes, section["n_classes"], labels[parts["train"]])
