"""The confusion matrix of a retrained model on the test split, drawn into a PNG file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bloomtune.plotting import plt, save


def confusion_matrix(matrix: np.ndarray, class_names: list[str], path: Path) -> Path:
    # Class names are data, never markup: matplotlib reads "$...$" as mathematics.
    class_names = [name.replace("$", r"\$") for name in class_names]
    n = len(class_names)
    size = min(4 + n * 0.25, 16)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    if n <= 30:
        ax.set_xticks(range(n), class_names, rotation=90, fontsize=7)
        ax.set_yticks(range(n), class_names, fontsize=7)
        for (i, j), count in np.ndenumerate(matrix):
            if count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=7)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return save(fig, path)
