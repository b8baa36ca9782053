"""Decode, convert to RGB, resize and split images into uint8 .npy arrays plus manifest.json."""

from __future__ import annotations

import hashlib
import logging
import multiprocessing as mp
import shutil
import time
from pathlib import Path

import cv2
import numpy as np

from bloomtune import oxford
from bloomtune.runtime import atomic_path, read_json, write_json

log = logging.getLogger(__name__)

INTERPOLATIONS = {"cubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA}
_worker: dict = {}


class BadImageError(ValueError):
    """An input image cannot be decoded."""


def load_rgb(path: str | Path, size: int, interpolation: str) -> np.ndarray:
    """One image as a size x size x 3 uint8 RGB array (grayscale, palette and alpha become RGB)."""
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise BadImageError(f"{path}: cannot decode image")
    image = cv2.resize(image, (size, size), interpolation=INTERPOLATIONS[interpolation])
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _init_worker(array_path: str, size: int, interpolation: str) -> None:
    cv2.setNumThreads(1)  # the pool already uses every granted core
    _worker["array"] = np.load(array_path, mmap_mode="r+")
    _worker["size"] = size
    _worker["interpolation"] = interpolation


def _fill(task: tuple[int, str]) -> int:
    index, path = task
    _worker["array"][index] = load_rgb(path, _worker["size"], _worker["interpolation"])
    return index


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_split(
    out: Path, name: str, paths: list[Path], labels: np.ndarray, *, size, interpolation, threads
) -> dict:
    """Stream the resized images of one split into out/<name>_images.npy (memory-mapped)."""
    images_path = out / f"{name}_images.npy"
    array = np.lib.format.open_memmap(
        images_path, mode="w+", dtype=np.uint8, shape=(len(paths), size, size, 3)
    )
    del array  # workers open it themselves; nothing of it stays in this process
    tasks = [(i, str(p)) for i, p in enumerate(paths)]
    start, done = time.perf_counter(), 0
    context = mp.get_context("fork")
    with context.Pool(threads, _init_worker, (str(images_path), size, interpolation)) as pool:
        for done, _ in enumerate(pool.imap_unordered(_fill, tasks, chunksize=16), start=1):
            if done % 1000 == 0 or done == len(tasks):
                rate = done / max(time.perf_counter() - start, 1e-9)
                log.info("standardise %s: %d/%d images (%.0f/s)", name, done, len(tasks), rate)
    labels_path = out / f"{name}_labels.npy"
    np.save(labels_path, labels.astype(np.int64))
    return {
        "count": len(paths),
        "images": images_path.name,
        "labels": labels_path.name,
        "sha256": {images_path.name: _sha256(images_path), labels_path.name: _sha256(labels_path)},
    }


def check_disk_space(out: Path, n_images: int, size: int) -> None:
    needed = n_images * size * size * 3
    free = shutil.disk_usage(out if out.exists() else out.parent).free
    if needed > free:
        raise OSError(
            f"{out}: standardised arrays need {needed / 1e9:.1f} GB but only "
            f"{free / 1e9:.1f} GB is free (lower standardise.image_size or free space)"
        )


def standardise_oxford(
    raw: Path, out: Path, *, image_size, split, interpolation, threads, source=None
) -> dict:
    """Standardise a data set in the Oxford layout under raw into out; return the manifest."""
    labels = oxford.read_labels(raw)
    numbers = oxford.split_numbers(raw, split)
    n_classes = int(labels.max()) + 1
    out.parent.mkdir(parents=True, exist_ok=True)
    check_disk_space(out.parent, sum(len(v) for v in numbers.values()), image_size)
    with atomic_path(out, directory=True) as tmp:
        splits = {}
        for name, ids in numbers.items():
            paths = [oxford.image_path(raw, int(n)) for n in ids]
            splits[name] = write_split(
                tmp,
                name,
                paths,
                labels[ids - 1],
                size=image_size,
                interpolation=interpolation,
                threads=threads,
            )
            splits[name]["class_counts"] = np.bincount(
                labels[ids - 1], minlength=n_classes
            ).tolist()
        manifest = {
            "source": source or {},
            "image_size": image_size,
            "interpolation": interpolation,
            "split": split,
            "n_classes": n_classes,
            "class_names": [f"class_{i + 1:03d}" for i in range(n_classes)],
            "class_counts": np.bincount(labels, minlength=n_classes).tolist(),
            "splits": splits,
            "skipped": [],
        }
        write_json(tmp / "manifest.json", manifest)
    return manifest


def standardise(raw: Path, out: Path, settings: dict, threads: int) -> dict:
    """Standardise the raw data set into out as the standardise: params section says."""
    source = read_json(raw / "source.json") if (raw / "source.json").exists() else {}
    manifest = standardise_oxford(
        raw,
        out,
        image_size=settings["image_size"],
        split=settings["split"],
        interpolation=settings["interpolation"],
        threads=threads,
        source=source,
    )
    counts = ", ".join(f"{k} {v['count']}" for k, v in manifest["splits"].items())
    log.info(
        "standardised %s at %d px: %s",
        source.get("source", "data"),
        settings["image_size"],
        counts,
    )
    return manifest
