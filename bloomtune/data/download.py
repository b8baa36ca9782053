"""Fetch the raw data set into data/raw: verified, resumable, atomic downloads, safe extraction."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import socket
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from bloomtune.data import synthetic
from bloomtune.errors import UserError
from bloomtune.runtime import atomic_path, write_json
from bloomtune.settings import DownloadSettings

log = logging.getLogger(__name__)

ARCHIVE = "102flowers.tgz"
METADATA = ("imagelabels.mat", "setid.mat")
CHUNK = 1 << 20


class DownloadError(UserError, RuntimeError):
    """A file could not be fetched or verified; the message is one line naming the URL."""


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _hint(url: str) -> str:
    return (
        f"cannot download {url}; offline? run the synthetic demo (--configfile config/demo.yaml) "
        "or point data.oxford102.base_url at a mirror"
    )


class SlowTransfer(OSError):
    """The server sent less than the minimum rate over a whole window (curl's --speed-limit)."""


def describe(exc: BaseException) -> str:
    """What went wrong with a transfer, in a few words, for retry warnings and errors."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    reason = getattr(exc, "reason", exc) if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, SlowTransfer):
        return str(exc)
    if isinstance(reason, http.client.IncompleteRead | ConnectionResetError):
        return f"cut short ({reason.__class__.__name__})"
    return str(reason)


def fetch(
    url: str,
    dest: Path,
    md5: str | None,
    *,
    retries: int = 4,
    timeout: float = 30,
    min_rate: float = 1024,
    window: float = 60,
    md5_key: str = "data.oxford102.md5",
    hint=_hint,
) -> None:
    """Download url to dest, resuming a partial dest.part with HTTP Range, retrying with backoff,
    and renaming into place only once the md5 matches. A verified dest is not fetched again.

    A transfer that receives less than `min_rate` bytes per second over a whole `window` of
    seconds is aborted (and retried), so a server that trickles bytes cannot hang the stage.
    `md5_key` names where the md5 comes from, `hint(url)` what to do when the url is out of
    reach."""
    if md5 is None:
        log.warning("%s: no md5 in params (%s), the file is not verified", dest.name, md5_key)
    if dest.exists() and (md5 is None or md5sum(dest) == md5):
        log.info("%s: already present%s", dest.name, "" if md5 is None else " and verified")
        return
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        try:
            _fetch_once(url, part, timeout, min_rate, window)
            break
        except urllib.error.HTTPError as exc:
            if exc.code == 416:  # the part is already complete
                break
            if exc.code < 500 or attempt == retries:
                part.unlink(missing_ok=True)
                raise DownloadError(f"{hint(url)} (HTTP {exc.code})") from None
            what = describe(exc)
        except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as exc:
            what = describe(exc)
            if attempt == retries:
                raise DownloadError(f"{hint(url)} ({what})") from None
        wait = min(2**attempt, 30) * 0.5
        log.warning("%s: %s, retrying in %.1f s (%d/%d)", url, what, wait, attempt + 1, retries)
        time.sleep(wait)
    if md5 is not None:
        actual = md5sum(part)
        if actual != md5:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{url}: md5 {actual} does not match {md5_key} {md5}; nothing was kept"
            )
    os.replace(part, dest)


def _fetch_once(url: str, part: Path, timeout: float, min_rate: float, window: float) -> None:
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        resumed = response.status == 206
        total = response.headers.get("Content-Length")
        total = int(total) + (have if resumed else 0) if total else None
        mode = "ab" if resumed else "wb"
        done = have if resumed else 0
        last = window_start = time.monotonic()
        window_bytes = 0
        with open(part, mode) as fh:
            # read1: what has arrived (up to CHUNK), so a slow server is measured as it sends
            for block in iter(lambda: response.read1(CHUNK), b""):
                fh.write(block)
                done += len(block)
                window_bytes += len(block)
                now = time.monotonic()
                if now - window_start >= window:
                    if window_bytes < min_rate * window:
                        raise SlowTransfer(
                            f"too slow: {window_bytes} bytes in {now - window_start:.0f} s, "
                            f"under {min_rate:.0f} bytes/s"
                        )
                    window_start, window_bytes = now, 0
                if now - last > 2:
                    last = now
                    log.info("%s: %s", part.name[:-5], _progress(done, total))
        if total is not None and done < total:
            raise OSError(f"cut short after {done} of {total} bytes")
    log.info("%s: %s", part.name[:-5], _progress(done, total))


def _progress(done: int, total: int | None) -> str:
    if not total:
        return f"{done / 1e6:.1f} MB"
    width = 30
    filled = int(width * done / total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done / 1e6:.1f}/{total / 1e6:.1f} MB"


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
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
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
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
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
