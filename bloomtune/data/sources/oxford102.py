"""The Oxford 102 Flowers source: its verified, resumable download and safe extraction into
data/raw, its images listed by the blog's or the official split, and those splits' sizes."""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

from bloomtune.data import fetch as _fetch
from bloomtune.errors import DownloadError
from bloomtune.data.sources.base import Splits
from bloomtune.files import atomic_path, write_json

# Images per split of the published data set (setid.mat), and its classes.
SPLIT_SIZES = {
    "blog": {"train": 7169, "test": 1020},
    "official": {"train": 1020, "validation": 1020, "test": 6149},
}
CLASSES = 102


def _hint(url: str) -> str:
    return (
        f"cannot download {url}; offline? run the synthetic demo (--configfile config/demo.yaml) "
        "or point data.oxford102.base_url at a mirror"
    )


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
    """The archive and its metadata, each verified, then extracted into raw."""
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


class Oxford102:
    name = "oxford102"

    def check(self, section: dict) -> None:
        """Its section's values are the schema's to check."""

    def fewest_classes(self, section: dict) -> int:
        return CLASSES

    def fetch(self, section: dict, seed: int, raw: Path) -> None:
        download_oxford(section, raw)

    def listing(self, raw: Path, split: str) -> tuple[dict, list[str], str]:
        from bloomtune.data import oxford  # NumPy and SciPy: only when it runs

        return (*oxford.listing(raw, split), split)

    def splits(self, params: dict) -> Splits:
        return Splits(SPLIT_SIZES[params["standardise"]["split"]], CLASSES)
