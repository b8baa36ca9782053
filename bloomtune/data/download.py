"""Fetch the raw data set into data/raw: verified, resumable, atomic downloads, safe extraction."""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
from pathlib import Path

from bloomtune.data import fetch as _fetch
from bloomtune.data import synthetic
from bloomtune.data.fetch import SlowTransfer, describe, md5sum  # noqa: F401
from bloomtune.errors import DownloadError
from bloomtune.runtime import atomic_path, write_json
from bloomtune.settings import DownloadSettings

log = logging.getLogger(__name__)

ARCHIVE = "102flowers.tgz"
METADATA = ("imagelabels.mat", "setid.mat")


def _hint(url: str) -> str:
    return (
        f"cannot download {url}; offline? run the synthetic demo (--configfile config/demo.yaml) "
        "or point data.oxford102.base_url at a mirror"
    )


def fetch(url: str, dest: Path, md5: str | None, **options) -> None:
    """The verified fetch, naming the Oxford source's md5 key and what to do offline."""
    options.setdefault("md5_key", "data.oxford102.md5")
    options.setdefault("hint", _hint)
    _fetch.fetch(url, dest, md5, **options)


def check_member(member: tarfile.TarInfo) -> None:
    """Refuse anything that could write outside the target or is not a plain file or folder."""
    name = member.name
    if name.startswith(("/", "\\")) or os.path.isabs(name) or ".." in Path(name).parts:
        raise DownloadError(f"{ARCHIVE}: refusing unsafe member path {name!r}")
    if not (member.isfile() or member.isdir()):
        raise DownloadError(f"{ARCHIVE}: refusing link or special file {name!r}")


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract into a temporary folder next to dest and move it into place when complete."""
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            check_member(member)
        with atomic_path(dest, directory=True) as tmp:
            tar.extractall(tmp, members=members, filter="data")


def download_oxford(settings: dict, raw: Path) -> None:
    base = settings["base_url"].rstrip("/") + "/"
    md5 = settings["md5"]
    downloads = raw.parent / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    for name in (ARCHIVE, *METADATA):
        fetch(base + name, downloads / name, md5.get(name))
    with atomic_path(raw, directory=True) as tmp:
        safe_extract(downloads / ARCHIVE, tmp / "jpg_tmp")
        extracted = tmp / "jpg_tmp" / "jpg"
        if not extracted.is_dir():
            raise DownloadError(f"{ARCHIVE}: no jpg/ folder inside the archive")
        os.replace(extracted, tmp / "jpg")
        shutil.rmtree(tmp / "jpg_tmp")
        for name in METADATA:
            shutil.copyfile(downloads / name, tmp / name)
        write_json(tmp / "source.json", {"source": "oxford102", "base_url": base, "md5": md5})


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def download_folder(settings: dict, seed: int, raw: Path) -> None:
    """Copy a folder of class subfolders into raw and split it, stratified and seeded."""
    import numpy as np

    from bloomtune.runtime import derive_seed

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


def download(settings: DownloadSettings, raw: Path) -> None:
    """Put the data set named by data.source into raw (replacing it only once complete)."""
    data, seed = settings.data, settings.seed
    source = data["source"]
    if source == "synthetic":
        settings = data["synthetic"]
        with atomic_path(raw, directory=True) as tmp:
            n = synthetic.write_synthetic(tmp, seed=seed, **settings)
            write_json(tmp / "source.json", {"source": "synthetic", **settings, "seed": seed})
        log.info("synthetic: %d images in %d classes written to %s", n, settings["n_classes"], raw)
    elif source == "oxford102":
        download_oxford(data["oxford102"], raw)
    else:
        download_folder(data["folder"], seed, raw)
