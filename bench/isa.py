"""Benchmark: do the trained numbers depend on the CPU's instruction set, and does turning
TensorFlow's oneDNN kernels off (TF_ENABLE_ONEDNN_OPTS=0) make them the same? (issue 23)

One CPU stands in for several: oneDNN dispatches its kernels at run time to the widest
instruction set the CPU has, and ONEDNN_MAX_CPU_ISA caps that choice (AVX2, AVX-512, AMX...),
as an older CPU would. Each run trains the blog's CNN (filters 64, kernel 3, strides 3, relu) on
random pixels through bloomtune's training path (training/fit.py), seeded, in a fresh process,
and prints a digest of the trained weights and the seconds of its later epochs. Equal digests:
bit-identical training.

    cd bench && ../.venv/bin/python isa.py --size 48 --images 800 --epochs 3 --repeats 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HP = {"filters": 64, "kernel_size": 3, "strides": 3, "activation": "relu", "learning_rate": 1e-4}
# Run-time caps to try (ONEDNN_MAX_CPU_ISA): none (the CPU's widest), then narrower ones.
CAPS = ["", "AVX512_CORE", "AVX2", "SSE41"]


def child(args) -> dict:
    from bloomtune.machine import configure_tensorflow

    configure_tensorflow(args.threads)
    import keras

    from bloomtune.data import dataset
    from bloomtune.model_settings import Training
    from bloomtune.model_spec import ModelSpec
    from bloomtune.training.fit import Trainer

    data = dataset.load_training(args.data, 0.2, seed=42)
    trainer = Trainer(ModelSpec(), Training(32, 0.2, input="mapped"), data.image_size,
                      data.n_classes, data.train, data.validation)  # fmt: skip
    model = trainer.model(HP, seed=1)
    seconds = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.began)

    trainer.fit(model, args.epochs, [Clock()])
    digest = hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()
    return {"weights_sha256": digest[:16], "epoch_s": statistics.median(seconds[1:] or seconds)}


def run(data: Path, args, onednn: bool, cap: str) -> dict:
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1" if onednn else "0",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    env.pop("ONEDNN_MAX_CPU_ISA", None)
    if cap:
        env["ONEDNN_MAX_CPU_ISA"] = cap
    command = [sys.executable, __file__, "--child", "--data", str(data),
               "--epochs", str(args.epochs), "--threads", str(args.threads)]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=48)
    parser.add_argument("--images", type=int, default=800)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--data", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    sys.path.insert(0, str(Path(__file__).parent))
    from arrays import write_arrays

    with tempfile.TemporaryDirectory() as tmp:
        data = write_arrays(Path(tmp) / "std", {"train": args.images, "test": 64}, args.size, 10)
        results: dict[tuple, list] = {}
        for _ in range(args.repeats):  # back to back within a repeat: ratios in one run
            for onednn in (True, False):
                for cap in CAPS:
                    results.setdefault((onednn, cap), []).append(run(data, args, onednn, cap))
    base = statistics.median(r["epoch_s"] for r in results[(True, "")])
    print(
        "| oneDNN | ISA cap | weights sha256 (per repeat) | later epoch s (median) | vs default |"
    )
    print("| --- | --- | --- | --- | --- |")
    for (onednn, cap), runs in results.items():
        digests = sorted({r["weights_sha256"] for r in runs})
        seconds = statistics.median(r["epoch_s"] for r in runs)
        print(f"| {'on' if onednn else 'off'} | {cap or 'none (widest)'} | {', '.join(digests)} "
              f"| {seconds:.3f} | {seconds / base:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
