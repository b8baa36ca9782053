"""Decode, convert to RGB, resize and split images into uint8 .npy arrays plus manifest.json."""

from __future__ import annotations

import hashlib
import logging
import multiprocessing as mp
import os
import shutil
import time
from pathlib import Path

import cv2
import numpy as np

from bloomtune.data import sources
from bloomtune.errors import BadImageError, DataError
from bloomtune.settings import StandardiseSettings
from bloomtune.files import atomic_path, read_json, write_json

log = logging.getLogger(__name__)

INTERPOLATIONS = {"cubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA}
MAX_PIXELS = StandardiseSettings.max_pixels
_worker: dict = {}


def check_pixels(path: str | Path, max_pixels: int) -> None:
    """Refuse an image whose header declares more than max_pixels, before anything decodes it
    (a small PNG can declare 30000 x 30000 pixels: 2.7 GB once decoded)."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = None  # this check replaces Pillow's own warning
    try:
        with Image.open(path) as image:  # reads the header only
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadImageError(path, f"cannot read image header ({exc.__class__.__name__})") from None
    if width * height > max_pixels:
        raise BadImageError(
            path,
            f"{width}x{height} = {width * height:,} pixels, over standardise.max_pixels "
            f"({max_pixels:,})",
        )


def load_rgb(
    path: str | Path, size: int, interpolation: str, max_pixels: int = MAX_PIXELS
) -> np.ndarray:
    """One image as a size x size x 3 uint8 RGB array (grayscale, palette and alpha become RGB)."""
    check_pixels(path, max_pixels)
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise BadImageError(path, "cannot decode image")
    image = cv2.resize(image, (size, size), interpolation=INTERPOLATIONS[interpolation])
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _init_worker(
    array_path: str, offset: int, size: int, interpolation: str, max_pixels: int
) -> None:
    cv2.setNumThreads(1)  # the pool already uses every granted core
    _worker.update(
        fd=os.open(array_path, os.O_WRONLY),
        offset=offset,
        row_bytes=size * size * 3,
        size=size,
        interpolation=interpolation,
        max_pixels=max_pixels,
    )


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _fill(task: tuple[int, str]) -> tuple[int, bytes | None, str | None]:
    """Decode one image and write it at its row of the .npy file; return the row's digest, or
    the reason an unreadable image was not written."""
    index, path = task
    try:
        image = load_rgb(path, _worker["size"], _worker["interpolation"], _worker["max_pixels"])
    except BadImageError as exc:
        return index, None, exc.reason
    data = image.tobytes()
    # pwrite, not a memory map: written pages stay in the page cache, not in this process.
    os.pwrite(_worker["fd"], data, _worker["offset"] + index * _worker["row_bytes"])
    return index, hashlib.sha256(data).digest(), None


def _compact(images_path: Path, keep: np.ndarray) -> None:
    """Drop the rows of skipped images, copying the kept rows in bounded chunks."""
    source = np.load(images_path, mmap_mode="r")
    tmp = images_path.with_name("compact_" + images_path.name)
    target = np.lib.format.open_memmap(
        tmp, mode="w+", dtype=np.uint8, shape=(int(keep.sum()), *source.shape[1:])
    )
    rows = np.flatnonzero(keep)
    for start in range(0, len(rows), 256):
        chunk = rows[start : start + 256]
        target[start : start + len(chunk)] = source[chunk]
    target.flush()
    del source, target
    os.replace(tmp, images_path)


def image_name(path: str | Path) -> str:
    """An image as the data set names it: its class (or jpg/) folder and file name."""
    return f"{Path(path).parent.name}/{Path(path).name}"


def write_split(
    out: Path, name: str, items: list[tuple[Path, int]], *, size, interpolation, threads, on_bad,
    max_pixels: int = MAX_PIXELS,
) -> tuple[dict, dict[str, str]]:  # fmt: skip
    """Stream the resized images of one split into out/<name>_images.npy (memory-mapped).

    Returns the split's manifest entry and its unusable images (name -> reason), left out."""
    images_path = out / f"{name}_images.npy"
    # A preallocated (sparse) .npy: the header now, each row written in place by a worker.
    array = np.lib.format.open_memmap(
        images_path, mode="w+", dtype=np.uint8, shape=(len(items), size, size, 3)
    )
    offset = array.offset
    del array
    tasks = [(i, str(path)) for i, (path, _) in enumerate(items)]
    start, bad, digests = time.perf_counter(), {}, [b""] * len(items)
    context = mp.get_context("fork")
    init = (str(images_path), offset, size, interpolation, max_pixels)
    with context.Pool(threads, _init_worker, init) as pool:
        results = pool.imap_unordered(_fill, tasks, chunksize=16)
        for done, (index, digest, error) in enumerate(results, start=1):
            digests[index] = digest
            if error:
                shown = image_name(items[index][0])
                log.warning("%s %s: %s", "unusable:" if on_bad == "fail" else "skipping", shown,
                            error)  # fmt: skip
                bad[index] = (shown, error)
            if done % 1000 == 0 or done == len(tasks):
                rate = done / max(time.perf_counter() - start, 1e-9)
                log.info("standardise %s: %d/%d images (%.0f/s)", name, done, len(tasks), rate)
    keep = np.ones(len(items), dtype=bool)
    keep[list(bad)] = False
    if bad:
        _compact(images_path, keep)
    labels = np.array([label for _, label in items], dtype=np.int64)[keep]
    labels_path = out / f"{name}_labels.npy"
    np.save(labels_path, labels)
    rows = hashlib.sha256(b"".join(d for d, k in zip(digests, keep, strict=True) if k))
    entry = {
        "count": int(keep.sum()),
        "images": images_path.name,
        "labels": labels_path.name,
        # images: sha256 over the per-image sha256 digests in row order (hashed in parallel);
        # labels: sha256 of the file.
        "sha256": {"images_rows": rows.hexdigest(), "labels": _sha256(labels_path)},
    }
    return entry, dict(bad.values())


def check_disk_space(out: Path, n_images: int, size: int) -> None:
    needed = n_images * size * size * 3
    free = shutil.disk_usage(out if out.exists() else out.parent).free
    if needed > free:
        raise OSError(
            f"{out}: standardised arrays need {needed / 1e9:.1f} GB but only "
            f"{free / 1e9:.1f} GB is free (lower standardise.image_size or free space)"
        )


def check_classes(splits: dict, class_names: list[str]) -> None:
    """Every class keeps an image to train on and one to test on once unusable images are left
    out (a class of one good and one broken image would train on one and test on none)."""
    test = np.asarray(splits["test"]["class_counts"])
    train = sum(np.asarray(s["class_counts"]) for name, s in splits.items() if name != "test")
    short = [
        f"{class_names[i]} ({train[i]} to train, {test[i]} to test)"
        for i in range(len(class_names))
        if train[i] < 1 or test[i] < 1
    ]
    if short:
        raise DataError(
            f"class(es) without a usable image to train on and one to test on: "
            f"{'; '.join(short)}; add images or remove the class"
        )


def standardise_listing(
    listing: dict[str, list], class_names: list[str], out: Path, settings, threads: int,
    *, source: dict | None = None, split: str,
) -> dict:  # fmt: skip
    """Write every split of `listing` under out (replaced only when complete); return the
    manifest."""
    size = settings.image_size
    out.parent.mkdir(parents=True, exist_ok=True)
    check_disk_space(out.parent, sum(len(v) for v in listing.values()), size)
    n_classes = len(class_names)
    with atomic_path(out, directory=True) as tmp:
        splits, skipped = {}, {}
        for name, items in listing.items():
            splits[name], bad = write_split(
                tmp,
                name,
                items,
                size=size,
                interpolation=settings.interpolation,
                threads=threads,
                on_bad=settings.on_bad_image,
                max_pixels=settings.max_pixels,
            )
            labels = np.load(tmp / splits[name]["labels"])
            splits[name]["class_counts"] = np.bincount(labels, minlength=n_classes).tolist()
            skipped.update(bad)
        if skipped and settings.on_bad_image == "fail":  # every split checked: name them all
            named = "; ".join(f"{k} ({v})" for k, v in sorted(skipped.items()))
            raise DataError(
                f"{len(skipped)} unusable image(s): {named} (data.on_bad_image: skip leaves "
                "them out)"
            )
        check_classes(splits, class_names)
        manifest = {
            "source": source or {},
            "image_size": size,
            "interpolation": settings.interpolation,
            "split": split,
            "n_classes": n_classes,
            "class_names": class_names,
            "class_counts": np.sum([s["class_counts"] for s in splits.values()], axis=0).tolist(),
            "splits": splits,
            "skipped": sorted(skipped),
        }
        write_json(tmp / "manifest.json", manifest)
    return manifest


def standardise(settings: StandardiseSettings, raw: Path, out: Path, threads: int) -> dict:
    """Standardise the raw data set into out as the standardise: params section says."""
    source = read_json(raw / "source.json") if (raw / "source.json").exists() else {}
    listing, classes, split = sources.source(source.get("source", sources.UNRECORDED)).listing(
        raw, settings.split
    )
    manifest = standardise_listing(
        listing, classes, out, settings, threads, source=source, split=split
    )
    counts = ", ".join(f"{k} {v['count']}" for k, v in manifest["splits"].items())
    skipped = f"; skipped {len(manifest['skipped'])} unreadable" if manifest["skipped"] else ""
    log.info(
        "standardised %s at %d px: %s%s",
        source.get("source", "data"),
        settings.image_size,
        counts,
        skipped,
    )
    return manifest
