"""Benchmark: training memory per model parameter, by model family (issue 23, part 2).

`tuning.max_model_params: auto` refuses models over 3/4 of the job's memory at 25 bytes a
parameter (bloomtune/training/model.py), measured for the blog CNN. This measures the bytes a
parameter takes for other families too: each model in a fresh process, its peak RSS (the
kernel's) over the process's RSS just before the model was built (TensorFlow loaded, the batch
made), while it trains --steps batches of --batch random images, divided by its parameters. A
backbone's activations, not its parameters, are most of its memory, so its bytes per parameter
are far above the blog CNN's.

    .venv/bin/python bench/param_memory.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = {  # name: (ModelSpec fields, hyperparameters, image size)
    "blog_cnn 64/3/3 at 300 px": ({}, {"filters": 64, "kernel_size": 3, "strides": 3}, 300),
    "blog_cnn 64/3/2 at 300 px": ({}, {"filters": 64, "kernel_size": 3, "strides": 2}, 300),
    "MobileNetV3Small at 224 px": ({"family": "transfer", "backbone": "MobileNetV3Small"},
                                   {"unfreeze": 20}, 224),
    "EfficientNetV2B0 at 224 px": ({"family": "transfer", "backbone": "EfficientNetV2B0"},
                                   {"unfreeze": 20}, 224),
    "ResNet50V2 at 224 px": ({"family": "transfer", "backbone": "ResNet50V2"},
                             {"unfreeze": 20}, 224),
}  # fmt: skip

CHILD = """
import json, resource, sys
import numpy as np
from bloomtune.machine import configure_tensorflow
configure_tensorflow(2)
from bloomtune.model_spec import ModelSpec
from bloomtune.training.families import build
spec, hp, size, batch, steps = json.loads(sys.argv[1])
x = np.random.default_rng(0).integers(0, 256, (batch, size, size, 3), dtype=np.uint8)
y = np.random.default_rng(1).integers(0, 102, batch)
def rss_kb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS:"))
before = rss_kb()
model = build(ModelSpec(**spec), hp, size, 102)
for _ in range(steps):
    model.train_on_batch(x, y)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
print(json.dumps({"params": model.count_params(), "trainable": trainable,
                  "grown_mb": (peak - before) / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    print("| model | parameters | trainable | memory grown (MB) | bytes per parameter |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (spec, hp, size) in MODELS.items():
        done = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps([spec, hp, size, args.batch, args.steps])],
            cwd=ROOT, capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
        if done.returncode:
            sys.exit(f"{name} failed:\n{done.stderr[-2000:]}")
        found = json.loads(done.stdout.strip().splitlines()[-1])
        per = found["grown_mb"] * 2**20 / found["params"]
        print(f"| {name} | {found['params']:,} | {found['trainable']:,} | "
              f"{found['grown_mb']:,.0f} | {per:,.0f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
