"""Seconds per training batch of each model shape a search space can produce, timed on this
machine with the stage's precision and XLA: what `python -m bloomtune.plan` turns into a cost.

The blog CNN's cost varies ninefold with its strides, so every distinct shape is timed: a
configuration per combination of categorical values, ranges at their ends (integers) or middle
(floats); for the blog CNN, configurations that differ only in activation or learning rate are
timed once. Each is timed along a trial's own path (`Calibration._time`). A model over the
parameter limit is not timed, as a search would not train it. The timings are kept in a cache
keyed by everything that sets them (machine, threads, versions, shape, image size, batch size,
precision, XLA), so a second plan of the same experiment times nothing."""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bloomtune.errors import ModelTooLargeError
from bloomtune.files import atomic_path
from bloomtune.machine import cpu_kernels
from bloomtune.model_settings import Training
from bloomtune.model_spec import ModelSpec
from bloomtune.space import SearchSpace

log = logging.getLogger(__name__)

# Per shape, after its short fit: timed steps until this many seconds or steps, whichever comes
# first (at least two).
TIMED_SECONDS, MAX_STEPS = 1.0, 5
FIT_EPOCHS, FIT_BATCHES = 2, 2  # the short fit of each shape: its epochs and training batches


@dataclass(frozen=True)
class Shape:
    """One model shape: an example configuration, how many of the space's configurations have
    it, its parameters and its seconds per training and per evaluation batch (None: refused by
    the parameter limit, or a kernel larger than the image)."""

    hp: dict
    weight: int
    params: int | None
    train_s: float | None
    test_s: float | None
    refused: str = ""
    start_s: float = 0.0  # once per fit: building, compiling and tracing the model's steps
    build_s: float = 0.0  # of which building and compiling (what loading a saved model costs)

    epoch_overhead_s: float = 0.0  # an epoch's cost besides its batches

    def epoch_s(self, train_images: int, validation_images: int, batch: int) -> float:
        """One epoch: the training batches, then a pass over the validation images."""
        if self.train_s is None:
            return 0.0
        steps, checks = math.ceil(train_images / batch), math.ceil(validation_images / batch)
        return steps * self.train_s + checks * self.test_s + self.epoch_overhead_s


def configurations(space: SearchSpace) -> list[dict]:
    """A configuration per combination of categorical values; integer ranges at both ends,
    float ranges at their middle (geometric where log)."""
    from bloomtune.replay.grid import configurations as grid_configurations

    grid = {}
    for dim in space:
        if dim.choices is not None:
            continue
        if isinstance(dim.low, float):
            middle = math.sqrt(dim.low * dim.high) if dim.log else (dim.low + dim.high) / 2
            grid[dim.name] = [middle]
        else:
            grid[dim.name] = sorted({dim.low, dim.high})
    return grid_configurations(space, grid)


class Calibration:
    """Times the shapes of one model family at one image size, batch size and training set-up,
    with a cache file (None: none)."""

    def __init__(self, spec: ModelSpec, train: Training, image_size: int, n_classes: int,
                 threads: int, cache: Path | None = None):  # fmt: skip
        import keras
        import tensorflow as tf

        self.spec, self.train = spec, train
        self.image_size, self.n_classes, self.cache = image_size, n_classes, cache
        self.context = {
            **cpu_kernels(),
            "threads": threads,
            "gpus": len(tf.config.list_physical_devices("GPU")),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "model": spec.record(),
            "image_size": image_size,
            "n_classes": n_classes,
            "batch_size": train.batch_size,
            "mixed_precision": train.mixed_precision,
            "jit_compile": bool(train.jit_compile),
        }
        self.known = self._load()

    def _load(self) -> dict:
        if self.cache is None or not self.cache.exists():
            return {}
        try:
            return json.loads(self.cache.read_text())
        except (OSError, ValueError):
            return {}  # a damaged cache is timed again

    def _save(self) -> None:
        if self.cache is None:
            return
        with atomic_path(self.cache) as tmp:
            tmp.write_text(json.dumps(self.known, indent=1, sort_keys=True) + "\n")

    def shapes(self, space: SearchSpace, max_params: int | None) -> list[Shape]:
        """The space's shapes, each timed once (or taken from the cache), in the space's order."""
        from bloomtune.training.families import family

        model = family(self.spec.family)
        grouped: dict[tuple, list[dict]] = {}
        for hp in configurations(space):
            grouped.setdefault(model.cost_key(hp), []).append(hp)
        groups = list(grouped.values())
        # Smallest first where the family knows its sizes: what a shape leaves behind in the
        # process is then the smaller (sorted is stable: the space's order otherwise).
        sizes = [model.size(g[0], self.image_size, self.n_classes) for g in groups]
        order = sorted(range(len(groups)), key=lambda i: sizes[i] or 0)
        timed = {i: self._shape(groups[i][0], len(groups[i]), max_params) for i in order}
        self._save()
        return [timed[i] for i in range(len(groups))]

    def _shape(self, hp: dict, weight: int, max_params: int | None) -> Shape:
        from bloomtune.training.model import check_size

        key = json.dumps({**self.context, "hp": hp}, sort_keys=True, default=str)
        try:
            if key in self.known:
                check_size(self.known[key]["params"], max_params)
            else:
                self.known[key] = self._time(hp, max_params)
        except ModelTooLargeError as exc:
            return Shape(hp, weight, None, None, None, refused=str(exc))
        found = self.known[key]
        return Shape(hp, weight, found["params"], found["train_s"], found["test_s"],
                     start_s=found["start_s"], build_s=found["build_s"],
                     epoch_overhead_s=found["epoch_overhead_s"])  # fmt: skip

    def _time(self, hp: dict, max_params: int | None) -> dict:
        """One trial's path, through the Trainer every training stage uses (training/fit.py): a
        fresh session, seeded, the model built and compiled, a fit of FIT_EPOCHS short epochs
        through the stages' input pipeline (FIT_BATCHES training batches and one of
        validation), then steady training and evaluation batches timed alone. The first
        epoch's excess over the second is the fit's start (tracing, XLA's compile), the
        second's excess over its batches an epoch's overhead (its pipelines, validation's
        set-up, the callbacks)."""
        import keras

        from bloomtune.data.dataset import Arrays
        from bloomtune.training.fit import Trainer

        batch, side = self.train.batch_size, self.image_size
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, (FIT_BATCHES * batch, side, side, 3), dtype=np.uint8)
        y = rng.integers(0, self.n_classes, FIT_BATCHES * batch)
        trainer = Trainer(self.spec, self.train, side, self.n_classes, Arrays.whole(x, y),
                          Arrays.whole(x[:batch], y[:batch]))  # fmt: skip
        began = time.perf_counter()
        model = trainer.model(hp, 0, max_params=max_params, fresh=True)
        built = time.perf_counter() - began
        log.info("timing %s", ", ".join(f"{k}={v}" for k, v in hp.items()))
        marks = []
        clock = keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda *_: marks.append(time.perf_counter())
        )
        trainer.fit(model, FIT_EPOCHS, [clock])
        marks.append(time.perf_counter())
        first, second = marks[1] - marks[0], marks[2] - marks[1]
        found = {"params": int(model.count_params())}
        for name, step in (("train_s", model.train_on_batch), ("test_s", model.test_on_batch)):
            step(x[:batch], y[:batch])  # its function as the fit left it; not timed
            times, start = [], time.perf_counter()
            while len(times) < 2 or (len(times) < MAX_STEPS
                                     and time.perf_counter() - start < TIMED_SECONDS):  # fmt: skip
                began = time.perf_counter()
                step(x[:batch], y[:batch])
                times.append(time.perf_counter() - began)
            found[name] = float(np.median(times))
        batches = FIT_BATCHES * found["train_s"] + found["test_s"]
        found["start_s"] = built + max(0.0, first - second)
        found["build_s"] = built
        found["epoch_overhead_s"] = max(0.0, second - batches)
        keras.backend.clear_session()
        return found
