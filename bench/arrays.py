"""A standardised data folder of random pixels at any size, written straight to the memory-mapped
.npy layout the standardise stage makes (no JPEGs): what the training benchmarks and the memory
test feed the training stages at Oxford 102's real size without decoding 8,000 images."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

CHUNK = 256  # images generated at once


def write_split(out: Path, name: str, n: int, size: int, n_classes: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    images = np.lib.format.open_memmap(
        out / f"{name}_images.npy", mode="w+", dtype=np.uint8, shape=(n, size, size, 3)
    )
    rows = hashlib.sha256()
    for start in range(0, n, CHUNK):
        chunk = rng.integers(0, 256, (min(CHUNK, n - start), size, size, 3), dtype=np.uint8)
        images[start : start + len(chunk)] = chunk
        for image in chunk:
            rows.update(hashlib.sha256(image.tobytes()).digest())
    images.flush()
    del images
    labels = rng.permutation(np.arange(n) % n_classes).astype(np.int64)
    np.save(out / f"{name}_labels.npy", labels)
    return {
        "count": n,
        "images": f"{name}_images.npy",
        "labels": f"{name}_labels.npy",
        "sha256": {"images_rows": rows.hexdigest()},
        "class_counts": np.bincount(labels, minlength=n_classes).tolist(),
    }


def write_arrays(out: Path, counts: dict[str, int], size: int, n_classes: int, seed: int = 0):
    """out/manifest.json and one images/labels pair per split in `counts` (name -> images)."""
    out.mkdir(parents=True, exist_ok=True)
    splits = {
        name: write_split(out, name, n, size, n_classes, seed + k)
        for k, (name, n) in enumerate(counts.items())
    }
    manifest = {
        "source": {"source": "random pixels (bench/arrays.py)"},
        "image_size": size,
        "interpolation": "none",
        "split": "official" if "validation" in counts else "blog",
        "n_classes": n_classes,
        "class_names": [f"class_{i + 1:03d}" for i in range(n_classes)],
        "class_counts": np.sum([s["class_counts"] for s in splits.values()], axis=0).tolist(),
        "splits": splits,
        "skipped": [],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out
