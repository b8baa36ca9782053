"""Real images offline: scikit-learn's handwritten digits (1,797 scans of 8 x 8 pixels, 10
classes) written as a folder data set (one subfolder per digit, PNGs scaled up to 32 px), for
bench/digits.yaml's run of the live searches and the replay on images that are not synthetic.

    python bench/digits.py data/digits
    snakemake --cores all --configfile bench/digits.yaml
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

SIZE = 32  # the 8 x 8 scans, each pixel a 4 x 4 block


def write(folder: Path) -> int:
    """Write every digit under folder/<digit>/<n>.png; return how many."""
    digits = load_digits()
    for n, (image, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        grey = np.uint8(np.round(image / 16 * 255))
        big = Image.fromarray(grey).resize((SIZE, SIZE), Image.NEAREST).convert("RGB")
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        big.save(folder / str(label) / f"{n:04d}.png")
    return len(digits.images)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "data/digits")
    print(f"{write(out)} digits written to {out}")
