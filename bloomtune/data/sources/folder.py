"""The folder source: a user's folder of class subfolders, copied into data/raw and split into
train and test (stratified, seeded), its listing read back from the index it writes."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from bloomtune.errors import DownloadError, ParamsError
from bloomtune.data.sources.base import Splits
from bloomtune.files import atomic_path, read_json, write_json

log = logging.getLogger(__name__)


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def download_folder(settings: dict, seed: int, raw: Path) -> None:
    """Copy a folder of class subfolders into raw and split it, stratified and seeded."""
    import numpy as np

    from bloomtune.seeds import derive_seed

    root = Path(settings["path"]).expanduser()
    if not root.is_dir():
        raise DownloadError(f"data.folder.path: {root} is not a folder")
    inside = root.resolve()

    def leaves(path: Path) -> bool:  # a symlink whose target is outside the folder
        return not path.resolve().is_relative_to(inside)

    outside = sorted(p for p in root.rglob("*") if p.is_symlink() and leaves(p))
    if outside:  # nothing outside the folder is copied (raw is cached and may be pushed)
        log.warning("data.folder.path: %d link(s) out of %s skipped: %s", len(outside), root,
                    ", ".join(str(p.relative_to(root)) for p in outside))  # fmt: skip
    classes = sorted(
        p.name for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and not (p.is_symlink() and leaves(p))
    )  # fmt: skip
    if len(classes) < 2:
        raise DownloadError(
            f"data.folder.path: {root} needs at least 2 class subfolders, found {len(classes)}"
        )
    fraction = settings.get("test_fraction", 0.2)
    rng = np.random.default_rng(derive_seed(seed, "folder-split"))
    splits: dict[str, list] = {"train": [], "test": []}
    with atomic_path(raw, directory=True) as tmp:
        for label, name in enumerate(classes):
            files = sorted(
                p for p in (root / name).iterdir()
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not leaves(p)
            )  # fmt: skip
            if len(files) < 2:
                raise DownloadError(
                    f"data.folder.path: class folder {name!r} has {len(files)} image(s); "
                    "every class needs at least 2 (one to train, one to test)"
                )
            (tmp / "images" / name).mkdir(parents=True)
            for path in files:
                shutil.copyfile(path, tmp / "images" / name / path.name)
            n_test = min(max(1, round(fraction * len(files))), len(files) - 1)
            order = rng.permutation(len(files))
            for rank, i in enumerate(order):
                entry = [f"images/{name}/{files[i].name}", label]
                splits["test" if rank < n_test else "train"].append(entry)
        for entries in splits.values():
            entries.sort()
        write_json(tmp / "index.json", {"classes": classes, "splits": splits})
        write_json(
            tmp / "source.json",
            {"source": "folder", "path": str(root), "test_fraction": fraction, "seed": seed},
        )
    log.info(
        "folder: %d classes, %d train / %d test images copied from %s",
        len(classes),
        len(splits["train"]),
        len(splits["test"]),
        root,
    )


def folder_listing(raw: Path) -> tuple[dict[str, list], list[str]]:
    """(path, label) per split of a folder data set indexed by the download stage."""
    index = read_json(raw / "index.json")
    listing = {
        name: [(raw / path, int(label)) for path, label in items]
        for name, items in index["splits"].items()
    }
    return listing, index["classes"]


class Folder:
    name = "folder"

    def check(self, section: dict) -> None:
        if not section.get("path"):
            raise ParamsError("data.folder.path: set it to a folder with one subfolder per class")

    def fewest_classes(self, section: dict) -> int:
        return 2  # its classes are counted only when the folder is read

    def fetch(self, section: dict, seed: int, raw: Path) -> None:
        download_folder(section, seed, raw)

    def listing(self, raw: Path, split: str) -> tuple[dict, list[str], str]:
        return (*folder_listing(raw), "folder")

    def splits(self, params: dict) -> Splits:
        """The folder as it is now: its images, the test share held out of them."""
        section = params["data"]["folder"]
        root = Path(section["path"] or ".")
        classes = [d for d in sorted(root.iterdir()) if d.is_dir()] if root.is_dir() else []
        total = sum(1 for c in classes for f in c.iterdir() if f.is_file())
        test = round(total * section["test_fraction"])
        return Splits({"train": total - test, "test": test}, len(classes))
