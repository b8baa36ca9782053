"""Benchmark: training throughput and peak memory of one trial (issue 14; figures in
docs/benchmarks.md).

On random pixels in the standardised layout (bench/arrays.py: `--images` training images, 102
classes, the blog's CNN with filters 64, kernel 3, strides 3, relu), each path trains `--epochs`
epochs, validation included, batch 32, in a fresh process given `--threads` threads:
  (a) trial:    bloomtune's trial path: the tune stage's TrialRunner on the memory-mapped data
                (load_training's index views, training/inputs.py batches);
  (b) resident: the limit: the same model on the same images already in memory as one tensor,
                tf.data from_tensor_slices -> batch -> prefetch (on a GPU: prefetched to it);
  (c) blog:     the blog's way: float32 arrays divided by 255 in NumPy, given to fit;
and, to take (a) apart, trial_resident (the trial path with train.input: resident) and
trial_xla (with train.jit_compile: true). Per run: images per second of the first epoch (graph
tracing included) and the median of the others, the seconds from the last epoch's end to the
end of training (a stall shows there), the process's peak RSS and a digest of the trained
weights (equal digests: the run repeated exactly). Within each repeat the paths run back to
back (order rotated), so the ratios to (b) are measured in one run; medians over repeats.

    cd bench && ../.venv/bin/python training.py --sizes 96 300 --images 1200 --epochs 4 --repeats 3

The same command runs on a GPU machine with CUDA TensorFlow (`make setup GPU=1`); add --jit or
--mixed-precision float16 to measure those settings (they apply to every path), or compare
within one run with --paths trial trial_resident trial_xla resident.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from arrays import write_arrays

ROOT = Path(__file__).resolve().parent.parent
PATHS = ("trial", "trial_resident", "trial_xla", "resident", "blog")
# The trial path's variants: its own train settings (train.input, train.jit_compile).
VARIANTS = {
    "trial": {},
    "trial_resident": {"input": "resident"},
    "trial_xla": {"jit_compile": True},
}
HP = {"filters": 64, "kernel_size": 3, "strides": 3, "activation": "relu", "learning_rate": 1e-4}
CLASSES = 102


# --- one path, in its own process ----------------------------------------------------------


def settings_for(args):
    from bloomtune.checks import load_params
    from bloomtune.model_settings import resolve
    from bloomtune.params import merge

    overlay = {
        "seeds": [1],
        "train": {"batch_size": 32, "validation_fraction": 0.2, "jit_compile": args.jit,
                  "mixed_precision": args.mixed_precision, **VARIANTS.get(args.child, {})},
        "tuning": {"max_trials": 1, "max_epochs": args.epochs, "max_total_epochs": None},
        "search_space": {k: {"type": "fixed", "value": v} for k, v in HP.items()},
    }  # fmt: skip
    cleared = merge(load_params([ROOT / "params.yaml"]), {"search_space": dict.fromkeys(HP)})
    params = merge(cleared, overlay)
    return resolve(params, "tune", "optuna_tpe", seed=1)


def epoch_clock():
    """A Keras callback keeping each epoch's seconds, when the last one ended, and a digest of
    the trained weights (equal digests: the run repeated exactly)."""
    import hashlib

    import keras

    class EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self.ended = [], None

        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.ended = time.perf_counter()
            self.seconds.append(self.ended - self.began)

        def on_train_end(self, logs=None):
            self.train_end, self.xla = time.perf_counter(), bool(self.model.jit_compile)
            digest = hashlib.sha256(b"".join(w.tobytes() for w in self.model.get_weights()))
            self.weights_sha256 = digest.hexdigest()[:16]

    return EpochClock()


def child(args) -> dict:
    from bloomtune.machine import configure_tensorflow

    configure_tensorflow(args.threads)
    import numpy as np
    import tensorflow as tf

    from bloomtune.data import dataset
    from bloomtune.machine import peak_rss_mb
    from bloomtune.training.execution import compiled_for, configure
    from bloomtune.training.inputs import gpus

    settings = settings_for(args)
    configure(settings.train)
    data = dataset.load_training(args.data, 0.2, seed=42)
    clock = epoch_clock()
    if args.child in VARIANTS:
        from bloomtune.training.model import auto_max_params
        from bloomtune.tuning.keras_evaluator import KerasEvaluator
        from bloomtune.tuning.runner import make_runner

        state = Path(tempfile.mkdtemp(dir=args.data.parent))
        evaluator = KerasEvaluator(settings, data, auto_max_params(), callbacks=[clock])
        runner = make_runner(settings, evaluator, state)
        start = time.perf_counter()
        row = runner.run(0, HP, epochs=args.epochs)
        assert row["status"] == "complete", row
        done = time.perf_counter()
    else:
        from bloomtune.seeds import seed_everything
        from bloomtune.training.model import build_model

        seed_everything(1)
        if args.child == "resident":
            model = build_model(HP, data.image_size, data.n_classes)

            def tensors(view):
                pairs = (tf.constant(view.read_all()), tf.constant(view.y))
                ds = tf.data.Dataset.from_tensor_slices(pairs).batch(32)
                if gpus():
                    return ds.apply(tf.data.experimental.prefetch_to_device("/GPU:0", 2))
                return ds.prefetch(tf.data.AUTOTUNE)

            fit_args = ([tensors(data.train)], {"validation_data": tensors(data.validation)})
        else:
            model = blog_model(data.image_size, data.n_classes)

            def floats(view):
                return np.asarray(view.read_all(), dtype=np.float32) / 255.0

            fit_args = (
                [floats(data.train), data.train.y],
                {"validation_data": (floats(data.validation), data.validation.y),
                 "batch_size": 32},
            )  # fmt: skip
        compiled_for(model, settings.train)  # XLA as the stages set it (--jit)
        start = time.perf_counter()
        model.fit(*fit_args[0], **fit_args[1], epochs=args.epochs, callbacks=[clock], verbose=0)
        done = time.perf_counter()
    n = len(data.train)
    return {
        "path": args.child,
        "train_images": n,
        "first_epoch_ips": n / clock.seconds[0],
        "later_epochs_ips": n / statistics.median(clock.seconds[1:] or clock.seconds),
        "fit_s": done - start,
        "after_last_epoch_s": clock.train_end - clock.ended,
        "peak_rss_mb": peak_rss_mb(),
        "gpu": bool(gpus()),
        "xla": clock.xla,
        "weights_sha256": clock.weights_sha256,
    }


def blog_model(image_size: int, n_classes: int):
    """The blog's CNN on float32 input scaled outside the model (the same layers otherwise)."""
    import keras

    from bloomtune.training.model import compile_classifier

    model = keras.Sequential(
        [
            keras.Input((image_size, image_size, 3)),
            keras.layers.Conv2D(HP["filters"], HP["kernel_size"], strides=HP["strides"],
                                activation=HP["activation"]),
            keras.layers.Flatten(),
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )  # fmt: skip
    optimizer = keras.optimizers.RMSprop(learning_rate=HP["learning_rate"])
    return compile_classifier(model, optimizer, n_classes)


# --- the parent: data, repeats, table ------------------------------------------------------


def run_path(args, data: Path, path: str) -> dict:
    command = [sys.executable, __file__, "--child", path, "--data", str(data),
               "--epochs", str(args.epochs), "--threads", str(args.threads),
               "--mixed-precision", str(args.mixed_precision).lower()]  # fmt: skip
    if args.jit:
        command.append("--jit")
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    if done.returncode:
        sys.exit(f"{path} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[96, 300])
    parser.add_argument(
        "--images", type=int, default=1200, help="training images before the split"
    )
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=["trial", "resident", "blog"])
    parser.add_argument("--jit", action="store_true", help="train.jit_compile: true (XLA)")
    parser.add_argument(
        "--mixed-precision", default="false", choices=["false", "float16", "bfloat16"]
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    parser.add_argument("--json", type=Path, help="also write every run here")
    parser.add_argument("--child", choices=PATHS, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.mixed_precision = False if args.mixed_precision == "false" else args.mixed_precision
    if args.child:
        print(json.dumps(child(args)))
        return
    every = []
    with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
        for size in args.sizes:
            data = write_arrays(Path(tmp) / f"px{size}", {"train": args.images, "test": 8},
                                size, CLASSES)  # fmt: skip
            runs = {p: [] for p in args.paths}
            for repeat in range(args.repeats):
                order = (
                    args.paths[repeat % len(args.paths) :] + args.paths[: repeat % len(args.paths)]
                )
                for path in order:
                    result = run_path(args, data, path) | {"size": size, "repeat": repeat}
                    runs[path].append(result)
                    every.append(result)
                    ips, rss = result["later_epochs_ips"], result["peak_rss_mb"]
                    line = f"{size} px repeat {repeat + 1} {path}: {ips:.0f} img/s, {rss:.0f} MB"
                    print(line, file=sys.stderr, flush=True)
            report(size, runs, args)
    if args.json:
        args.json.write_text(json.dumps(every, indent=1) + "\n")


def report(size: int, runs: dict[str, list[dict]], args) -> None:
    gpu = any(r["gpu"] for rs in runs.values() for r in rs)
    where = "GPU" if gpu else f"CPU, {args.threads} threads"
    n = runs[args.paths[0]][0]["train_images"]
    print(f"\n{size} px, {n} training images, {where}, medians of {args.repeats}")
    print(
        "| path | first epoch img/s | later epochs img/s | after last epoch (s) | peak RSS (MB) |"
    )
    print("|---|---:|---:|---:|---:|")
    for path, rs in runs.items():
        first, later = median_of(rs, "first_epoch_ips"), median_of(rs, "later_epochs_ips")
        tail, rss = median_of(rs, "after_last_epoch_s"), median_of(rs, "peak_rss_mb")
        print(f"| {path} | {first:.0f} | {later:.0f} | {tail:.2f} | {rss:.0f} |")
    if "resident" in runs:
        for path in runs:
            if path != "resident":
                ratios = [a["later_epochs_ips"] / b["later_epochs_ips"]
                          for a, b in zip(runs[path], runs["resident"], strict=True)]  # fmt: skip
                print(f"{path}/resident throughput: median {statistics.median(ratios):.3f} "
                      f"(runs: {', '.join(f'{r:.3f}' for r in ratios)})")  # fmt: skip


if __name__ == "__main__":
    main()
