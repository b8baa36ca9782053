"""Benchmark: does pruning save epochs without losing accuracy? (issue 4; figures in
docs/benchmarks.md)

On synthetic flowers, at equal max_trials, for several seeds: best validation accuracy and epochs
consumed by optuna_tpe (no pruning), Optuna TPE with median and with Hyperband pruning, and Keras
Tuner's Hyperband.

    .venv/bin/python bench/pruning.py --trials 16 --epochs 6 --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import copy
import logging
import statistics
import tempfile
import time
from pathlib import Path

from bloomtune.params import load_params, stage_params
from bloomtune.runtime import configure_tensorflow, setup_logging, thread_budget
from bloomtune.standardise import standardise
from bloomtune.synthetic import write_synthetic

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {  # label -> (tuner entry in params.yaml, overrides of its options)
    "optuna_tpe": ("optuna_tpe", {"pruner": "none"}),
    "optuna_tpe_median": ("optuna_tpe", {"pruner": "median"}),
    "optuna_tpe_hyperband": ("optuna_tpe_hyperband", {}),
    "kt_hyperband": ("kt_hyperband", {}),
}


def make_data(folder: Path, size: int) -> Path:
    write_synthetic(folder / "raw", n_classes=8, images_per_class=60, image_size=160, seed=0)
    settings = {"image_size": size, "split": "blog", "interpolation": "area"}
    standardise(folder / "raw", folder / "std", settings, threads=thread_budget())
    return folder / "std"


def run_one(data: Path, work: Path, label: str, seed: int, trials: int, epochs: int) -> dict:
    from bloomtune.tuning import run_tuning

    tuner, options = CONFIGS[label]
    params = load_params([ROOT / "params.yaml"])
    sections = copy.deepcopy(stage_params(params, "tune", tuner))
    sections["seed"] = seed
    sections["tuning"].update(max_trials=trials, max_epochs=epochs)
    sections[f"tuners.{tuner}"].update(options)
    start = time.perf_counter()
    best = run_tuning(sections, tuner, data, work / "out" / label, work / "state" / label)
    return {
        "label": label,
        "seed": seed,
        "best_val_accuracy": best["score"],
        "epochs": best["totals"]["epochs_consumed"],
        "pruned": best["totals"]["pruned"],
        "seconds": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--image-size", type=int, default=48)
    args = parser.parse_args()
    setup_logging(None)
    logging.getLogger("bloomtune").setLevel(logging.WARNING)
    configure_tensorflow(thread_budget())
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        data = make_data(Path(tmp), args.image_size)
        for seed in args.seeds:
            for label in CONFIGS:
                work = Path(tmp) / f"seed{seed}"
                results.append(run_one(data, work, label, seed, args.trials, args.epochs))
                r = results[-1]
                print(
                    f"seed {seed} {label:22s} best val_accuracy {r['best_val_accuracy']:.4f} "
                    f"epochs {r['epochs']:3d} pruned {r['pruned']:2d} {r['seconds']:.0f} s",
                    flush=True,
                )
    print()
    print(
        "| tuner | best val accuracy (median) | epochs consumed (median) "
        "| per seed (acc / epochs) |"
    )
    print("| --- | --- | --- | --- |")
    base = {r["seed"]: r for r in results if r["label"] == "optuna_tpe"}
    for label in CONFIGS:
        rows = [r for r in results if r["label"] == label]
        acc = statistics.median(r["best_val_accuracy"] for r in rows)
        epochs = statistics.median(r["epochs"] for r in rows)
        per_seed = "; ".join(f"{r['best_val_accuracy']:.3f} / {r['epochs']}" for r in rows)
        print(f"| {label} | {acc:.4f} | {epochs:g} | {per_seed} |")
    print()
    for label in ("optuna_tpe_median", "optuna_tpe_hyperband"):
        rows = [r for r in results if r["label"] == label]
        gaps = [base[r["seed"]]["best_val_accuracy"] - r["best_val_accuracy"] for r in rows]
        ratios = [r["epochs"] / base[r["seed"]]["epochs"] for r in rows]
        print(
            f"{label}: accuracy below unpruned by median {100 * statistics.median(gaps):.1f} "
            f"points (worst {100 * max(gaps):.1f}); epochs ratio median "
            f"{statistics.median(ratios):.2f} (max {max(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
