"""Procedural flower images in the Oxford 102 on-disk layout, for offline runs and tests."""

from __future__ import annotations

import io
import itertools
import logging
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image, ImageDraw, ImageFilter

from bloomtune.errors import DataError
from bloomtune.seeds import derive_seed

log = logging.getLogger(__name__)

PETAL_COUNTS = (3, 4, 5, 6, 8, 10)
PETAL_COLOURS = (
    (220, 30, 40),  # red
    (250, 200, 30),  # yellow
    (245, 245, 245),  # white
    (150, 60, 200),  # violet
    (250, 120, 20),  # orange
    (240, 110, 180),  # pink
    (60, 90, 220),  # blue
    (120, 20, 60),  # wine
)
CENTRES = (  # (colour, radius as a fraction of the flower's radius)
    ((60, 35, 10), 0.18),  # small brown
    ((250, 220, 40), 0.32),  # large yellow
    ((20, 20, 20), 0.25),  # black
)
# Each class is one (petal count, colour, centre) combination; a fixed shuffle spreads the first
# few classes over all three traits.
_COMBOS = list(itertools.product(range(len(PETAL_COUNTS)), range(len(PETAL_COLOURS)), range(3)))
CLASS_TRAITS = [_COMBOS[i] for i in np.random.default_rng(102).permutation(len(_COMBOS))]
MAX_CLASSES = len(CLASS_TRAITS)

# A fixed .mat header: scipy writes the creation time there, which would break "same seed, same
# bytes". The header text is 116 bytes.
_MAT_HEADER = b"MATLAB 5.0 MAT-file, written by bloomtune.data.synthetic".ljust(116, b" ")


def _jitter(rng: np.random.Generator, colour, amount: int) -> tuple[int, ...]:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)


def _ellipse(cx, cy, a, b, angle, n=24):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x, y = a * np.cos(t), b * np.sin(t)
    ca, sa = np.cos(angle), np.sin(angle)
    return list(zip(cx + x * ca - y * sa, cy + x * sa + y * ca, strict=True))


def render_flower(label: int, rng: np.random.Generator, size: int) -> Image.Image:
    """One image of class `label`: its traits fixed, everything else drawn from rng."""
    petals_i, colour_i, centre_i = CLASS_TRAITS[label]
    width = size
    height = int(size * rng.uniform(0.75, 1.33))
    # Background: a muted vertical gradient between two foliage-like colours.
    top = np.array(_jitter(rng, (60, 110, 50), 40), dtype=np.float32)
    bottom = np.array(_jitter(rng, (90, 80, 50), 40), dtype=np.float32)
    ramp = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    canvas = np.broadcast_to(top * (1 - ramp) + bottom * ramp, (height, width, 3))
    image = Image.fromarray(canvas.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    # A few out-of-focus leaves as clutter.
    for _ in range(rng.integers(2, 6)):
        lx, ly = rng.uniform(0, width), rng.uniform(0, height)
        draw.polygon(
            _ellipse(lx, ly, size * 0.12, size * 0.04, rng.uniform(0, np.pi)),
            fill=_jitter(rng, (40, 130, 40), 30),
        )
    radius = min(width, height) * rng.uniform(0.22, 0.4)
    cx = rng.uniform(radius, width - radius)
    cy = rng.uniform(radius, height - radius)
    n_petals = PETAL_COUNTS[petals_i]
    base_colour = PETAL_COLOURS[colour_i]
    rotation = rng.uniform(0, 2 * np.pi)
    petal_width = radius * min(0.45, 2.2 / n_petals)
    for k in range(n_petals):
        angle = rotation + 2 * np.pi * k / n_petals
        px = cx + 0.5 * radius * np.cos(angle)
        py = cy + 0.5 * radius * np.sin(angle)
        draw.polygon(
            _ellipse(px, py, 0.5 * radius, petal_width, angle), fill=_jitter(rng, base_colour, 25)
        )
    centre_colour, centre_frac = CENTRES[centre_i]
    cr = radius * centre_frac * rng.uniform(0.85, 1.15)
    draw.ellipse([cx - cr, cy - cr, cx + cr, cy + cr], fill=_jitter(rng, centre_colour, 20))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.5)))
    pixels = np.asarray(image, dtype=np.float32)
    pixels += rng.normal(0, rng.uniform(4, 18), pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def split_ids(labels: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Oxford-style split of 1-based image numbers: per class 20 % trnid, 20 % valid, the rest
    tstid."""
    parts: dict[str, list[int]] = {"trnid": [], "valid": [], "tstid": []}
    for cls in np.unique(labels):
        ids = rng.permutation(np.flatnonzero(labels == cls) + 1)
        n = max(1, round(0.2 * len(ids)))
        parts["trnid"] += ids[:n].tolist()
        parts["valid"] += ids[n : 2 * n].tolist()
        parts["tstid"] += ids[2 * n :].tolist()
    return {k: np.array(sorted(v), dtype=np.uint16)[None, :] for k, v in parts.items()}


def _savemat(path: Path, arrays: dict) -> None:
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, arrays, format="5", do_compression=False)
    data = bytearray(buffer.getvalue())
    data[:116] = _MAT_HEADER
    path.write_bytes(bytes(data))


def write_synthetic(
    out: Path, *, n_classes: int, images_per_class: int, image_size: int, seed: int
) -> int:
    """Write jpg/image_NNNNN.jpg, imagelabels.mat and setid.mat under out; return the count."""
    if n_classes > MAX_CLASSES:
        raise DataError(f"data.synthetic.n_classes: at most {MAX_CLASSES} classes can be drawn")
    rng = np.random.default_rng(derive_seed(seed, "synthetic-order"))
    labels = rng.permutation(np.repeat(np.arange(n_classes), images_per_class))
    (out / "jpg").mkdir(parents=True, exist_ok=True)
    for i, label in enumerate(labels, start=1):
        image_rng = np.random.default_rng(derive_seed(seed, "synthetic-image", i))
        image = render_flower(int(label), image_rng, image_size)
        image.save(out / "jpg" / f"image_{i:05d}.jpg", format="JPEG", quality=90)
        if i % 500 == 0 or i == len(labels):
            log.info("synthetic: %d/%d images", i, len(labels))
    oxford_labels = (labels + 1).astype(np.uint8)[None, :]
    _savemat(out / "imagelabels.mat", {"labels": oxford_labels})
    _savemat(out / "setid.mat", split_ids(oxford_labels[0], rng))
    return len(labels)
